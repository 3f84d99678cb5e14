#!/usr/bin/env bash
# relay-floor as a `bench/pgbench-compare.py --candidate`: that script starts a candidate as
# `PATH --listen ADDR --upstream ADDR ...`; this passes the two addresses to `relay-floor hand`
# (or to the mode named by RELAY_FLOOR_MODE: copy, hand, mio, mio-frames).
#   cargo build --release --manifest-path bench/relay-floor/Cargo.toml
#   python3 bench/pgbench-compare.py --rounds 3 --seconds 5 --only simple:32,prepared:32 \
#     --candidate bench/relay-floor/candidate.sh
set -euo pipefail
[ "$1" = --listen ] && [ "$3" = --upstream ] || { echo "usage: $0 --listen ADDR --upstream ADDR ..." >&2; exit 2; }
exec "$(dirname "$0")/target/release/relay-floor" "${RELAY_FLOOR_MODE:-hand}" "$2" "$4"
