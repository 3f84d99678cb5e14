#!/bin/sh
# Creates target/tools-venv with the Python migration tools of tests/tools/requirements.txt,
# unless it already has them. The migration-tool tests look for it there (or at
# $DDLGATE_TOOLS_VENV).
set -eu
cd "$(dirname "$0")/../.."
VENV="${DDLGATE_TOOLS_VENV:-target/tools-venv}"
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import django, alembic, psycopg2, sqlalchemy' 2>/dev/null; then
    exit 0
fi
echo "setup-venv: installing tests/tools/requirements.txt into $VENV"
python3 -m venv "$VENV"
"$VENV/bin/pip" install -q -r tests/tools/requirements.txt
