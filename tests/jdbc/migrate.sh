#!/bin/sh
# Compiles tests/jdbc/JdbcMigrate.java into a temporary directory and applies migration files
# the way Flyway does (one transaction per file, PreparedStatement, a flyway_schema_history row):
#
#   tests/jdbc/migrate.sh JDBC_URL FILE...
#
# Output and exit status are JdbcMigrate's: "APPLIED <file>" lines (0); "ERROR <SQLSTATE> <message>",
# "DETAIL <detail>", "HINT <hint>" (3); "CONNECT-ERROR ..." (2); usage (64).
# Same SKIP convention and PGJDBC_JAR override as run.sh.
set -eu

if [ "$#" -lt 2 ]; then
    echo "usage: $0 JDBC_URL FILE..." >&2
    exit 64
fi

JAR="${PGJDBC_JAR:-/usr/share/java/postgresql.jar}"
if ! command -v java >/dev/null 2>&1 || ! command -v javac >/dev/null 2>&1; then
    echo "SKIP: java/javac not installed (apt-get install -y default-jdk-headless libpostgresql-jdbc-java)"
    exit 0
fi
if [ ! -r "$JAR" ]; then
    echo "SKIP: PostgreSQL JDBC driver not found at $JAR (apt-get install -y libpostgresql-jdbc-java, or set PGJDBC_JAR)"
    exit 0
fi

HERE=$(cd "$(dirname "$0")" && pwd)
CLASSES=$(mktemp -d "${TMPDIR:-/tmp}/jdbcmigrate.XXXXXX")
trap 'rm -rf "$CLASSES"' EXIT INT TERM

javac -nowarn -cp "$JAR" -d "$CLASSES" "$HERE/JdbcMigrate.java"
status=0
java -cp "$JAR:$CLASSES" JdbcMigrate "$@" || status=$?
exit "$status"
