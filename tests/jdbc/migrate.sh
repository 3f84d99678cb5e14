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

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/java.sh"
run_java JdbcMigrate "$@"
