# Sourced by run.sh and migrate.sh: compiles tests/jdbc/$1.java (with Connect.java and
# ServerError.java) against the PostgreSQL JDBC driver into a temporary directory and runs it with
# the remaining arguments, exiting with its status. When java/javac or the driver is missing it
# prints one line starting with "SKIP:" and exits 0 (install: apt-get install -y
# default-jdk-headless libpostgresql-jdbc-java).
# PGJDBC_JAR overrides the driver jar (default /usr/share/java/postgresql.jar).

run_java() {
    class=$1
    shift
    JAR="${PGJDBC_JAR:-/usr/share/java/postgresql.jar}"
    if ! command -v java >/dev/null 2>&1 || ! command -v javac >/dev/null 2>&1; then
        echo "SKIP: java/javac not installed (apt-get install -y default-jdk-headless libpostgresql-jdbc-java)"
        exit 0
    fi
    if [ ! -r "$JAR" ]; then
        echo "SKIP: PostgreSQL JDBC driver not found at $JAR (apt-get install -y libpostgresql-jdbc-java, or set PGJDBC_JAR)"
        exit 0
    fi
    CLASSES=$(mktemp -d "${TMPDIR:-/tmp}/$class.XXXXXX")
    trap 'rm -rf "$CLASSES"' EXIT INT TERM
    javac -nowarn -cp "$JAR" -d "$CLASSES" "$HERE/$class.java" "$HERE/Connect.java" "$HERE/ServerError.java"
    status=0
    java -cp "$JAR:$CLASSES" "$class" "$@" || status=$?
    exit "$status"
}
