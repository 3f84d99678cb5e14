#!/bin/sh
# Compiles tests/jdbc/JdbcDdl.java into a temporary directory and runs it:
#
#   tests/jdbc/run.sh JDBC_URL SQL
#   tests/jdbc/run.sh 'jdbc:postgresql://127.0.0.1:6432/postgres?user=postgres&password=pw' 'CREATE INDEX ON t (a)'
#
# Output and exit status are JdbcDdl's: "OK <count>" + "USABLE" (0); "ERROR <SQLSTATE> <message>",
# "HINT <hint>", "USABLE" (3); "CONNECT-ERROR ..." (2); "UNUSABLE ..." (4); usage (64).
# When java/javac or the PostgreSQL JDBC driver is missing it prints one line starting with
# "SKIP:" and exits 0 (install: apt-get install -y default-jdk-headless libpostgresql-jdbc-java).
# PGJDBC_JAR overrides the driver jar (default /usr/share/java/postgresql.jar).
set -eu

if [ "$#" -ne 2 ]; then
    echo "usage: $0 JDBC_URL SQL" >&2
    exit 64
fi

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/java.sh"
run_java JdbcDdl "$1" "$2"
