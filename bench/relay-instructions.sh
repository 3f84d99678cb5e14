#!/usr/bin/env bash
# User-space instructions per relayed transaction, counted by callgrind (repeatable on a
# shared machine, unlike timings): ddlgate and PgBouncer each run under valgrind in front of a
# throwaway PostgreSQL, pgbench sends 8 x 1000 and then 8 x 3000 select-only transactions on a
# fresh proxy, and the difference of the two totals divided by 16 000 is the cost of one
# transaction (start-up and connection set-up cancel out).
#
# Usage: bench/relay-instructions.sh [--floor] [simple|extended|prepared ...]   (default: all three)
# --floor also counts bench/relay-floor, relays that parse nothing: two on tokio
# (copy_bidirectional, and one hand-written future: the runtime's share of the cost) and one
# bare mio/epoll loop (what a relay costs with no async runtime), once more with ddlgate's
# per-frame work on a plain select added (mio-frames).
# Needs: valgrind, PostgreSQL server binaries (pg_config --bindir or PG_BIN), pgbench;
# pgbouncer optional. Builds ddlgate --release.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FLOOR=
if [ "${1:-}" = --floor ]; then FLOOR=1; shift; fi
MODES=("${@:-simple extended prepared}")
MODES=(${MODES[*]})
BIN=${PG_BIN:-$(pg_config --bindir)}
command -v valgrind >/dev/null || { echo "valgrind not found (apt-get install -y valgrind)" >&2; exit 1; }
cargo build --release -q -p ddlgate --manifest-path "$ROOT/Cargo.toml"
DDLGATE=$ROOT/target/release/ddlgate
NAMES="ddlgate pgbouncer"
if [ -n "$FLOOR" ]; then
  cargo build --release -q --manifest-path "$ROOT/bench/relay-floor/Cargo.toml"
  NAMES="floor-copy floor-hand floor-mio floor-mio-frames $NAMES"
fi
PGBOUNCER=$(command -v pgbouncer || true)

WORK=$(mktemp -d /tmp/ddlgate-instr.XXXXXX)
chmod 777 "$WORK"
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PG_PORT=$(free_port)
cleanup() {
  pkill -INT -f "callgrind-out-file=$WORK" 2>/dev/null || true
  as_pg "$BIN/pg_ctl -D $WORK/data -m immediate stop" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
as_pg "$BIN/initdb -D $WORK/data -U postgres --auth=trust -N" >/dev/null
cat >>"$WORK/data/postgresql.conf" <<EOF
port = $PG_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$WORK'
fsync = off
EOF
as_pg "$BIN/pg_ctl -D $WORK/data -l $WORK/pg.log -w start" >/dev/null
"$BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "CREATE ROLE bench LOGIN SUPERUSER" -c "CREATE DATABASE bench OWNER bench"
"$BIN/pgbench" -h 127.0.0.1 -p "$PG_PORT" -U bench -i -q -s 10 bench >/dev/null 2>&1

wait_port() { for _ in $(seq 200); do (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return; sleep 0.1; done; echo "port $1 not open" >&2; exit 1; }

# total NAME PORT MODE TXNS: runs the proxy (already configured by start_NAME) under callgrind
# for one pgbench run and prints its total instruction count.
total() {
  local name=$1 mode=$2 txns=$3 port out
  port=$(free_port)
  out=$WORK/$name-$mode-$txns.out
  case $name in
    ddlgate)
      valgrind --tool=callgrind --callgrind-out-file="$out" "$DDLGATE" --listen "127.0.0.1:$port" \
        --upstream "127.0.0.1:$PG_PORT" --upstream-tls disable --log-level warn >"$WORK/vg.log" 2>&1 &
      ;;
    floor-copy | floor-hand | floor-mio | floor-mio-frames)
      valgrind --tool=callgrind --callgrind-out-file="$out" "$ROOT/bench/relay-floor/target/release/relay-floor" \
        "${name#floor-}" "127.0.0.1:$port" "127.0.0.1:$PG_PORT" >"$WORK/vg.log" 2>&1 &
      ;;
    pgbouncer)
      printf '"bench" ""\n' >"$WORK/users.txt"
      cat >"$WORK/pgbouncer.ini" <<EOF
[databases]
bench = host=127.0.0.1 port=$PG_PORT dbname=bench
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $WORK/users.txt
pool_mode = session
logfile = /dev/null
EOF
      chmod 644 "$WORK/pgbouncer.ini" "$WORK/users.txt"
      as_pg "valgrind --tool=callgrind --callgrind-out-file=$out $PGBOUNCER $WORK/pgbouncer.ini" >"$WORK/vg.log" 2>&1 &
      ;;
  esac
  wait_port "$port"
  "$BIN/pgbench" -h 127.0.0.1 -p "$port" -U bench -n -S -M "$mode" -c 8 -t "$txns" bench >/dev/null 2>&1
  pkill -INT -f "callgrind-out-file=$out"
  for _ in $(seq 100); do grep -q "^totals:\|^summary:" "$out" 2>/dev/null && break; sleep 0.1; done
  awk '/^(summary|totals):/ {print $2; exit}' "$out"
}

printf '%-10s %-9s %s\n' proxy mode "instructions per transaction"
for mode in "${MODES[@]}"; do
  for name in $NAMES; do
    [ "$name" = pgbouncer ] && [ -z "$PGBOUNCER" ] && continue
    a=$(total "$name" "$mode" 1000)
    b=$(total "$name" "$mode" 3000)
    printf '%-10s %-9s %d\n' "$name" "$mode" $(((b - a) / 16000))
  done
done
