# Sourced by the lint benchmarks: sets SQUAWK to a squawk binary. Looks on PATH, in
# $SQUAWK_VENV (default /tmp/squawk-venv), in $SQUAWK_CARGO_ROOT (default /tmp/squawk-cargo);
# else installs the PyPI package squawk-cli into the virtualenv, or failing that
# `cargo install squawk` into the cargo root. Messages go to standard error.
SQUAWK_VENV="${SQUAWK_VENV:-/tmp/squawk-venv}"
SQUAWK_CARGO_ROOT="${SQUAWK_CARGO_ROOT:-/tmp/squawk-cargo}"

if command -v squawk >/dev/null 2>&1; then
    SQUAWK="$(command -v squawk)"
elif [ -x "$SQUAWK_VENV/bin/squawk" ]; then
    SQUAWK="$SQUAWK_VENV/bin/squawk"
elif [ -x "$SQUAWK_CARGO_ROOT/bin/squawk" ]; then
    SQUAWK="$SQUAWK_CARGO_ROOT/bin/squawk"
else
    printf '%s\n' "squawk not found: installing the PyPI package squawk-cli into $SQUAWK_VENV" >&2
    if python3 -m venv "$SQUAWK_VENV" >&2 && "$SQUAWK_VENV/bin/pip" install -q squawk-cli >&2; then
        SQUAWK="$SQUAWK_VENV/bin/squawk"
    else
        printf '%s\n' "pip install failed: cargo install squawk into $SQUAWK_CARGO_ROOT" >&2
        cargo install --locked --root "$SQUAWK_CARGO_ROOT" squawk >&2
        SQUAWK="$SQUAWK_CARGO_ROOT/bin/squawk"
    fi
fi
printf '%s\n' "squawk: $SQUAWK ($("$SQUAWK" --version))" >&2
