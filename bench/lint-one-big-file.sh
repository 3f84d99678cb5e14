#!/usr/bin/env bash
# ddlgate lint vs squawk on ONE big file, side by side (the many-files case is
# bench/lint-vs-squawk.sh). Two files:
#   - indexes.sql: N `CREATE INDEX` statements (default 20 000), one per line;
#   - dump.sql: a pg_dump --schema-only style schema of T tables (default 3 000: ~2.3 MB), each
#     with columns, a primary key, indexes, a foreign key and comments, as pg_dump prints them.
#
#   bench/lint-one-big-file.sh
#   N=40000 T=6000 RUNS=5 bench/lint-one-big-file.sh
#
# squawk is found or installed by bench/squawk.sh (PATH, $SQUAWK_VENV, PyPI squawk-cli).
# Timing: hyperfine (apt-get installed when running as root), interleaved, warm-up 1; both
# tools write their default text output to /dev/null; exit codes are ignored (both files hold
# findings on purpose).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${N:-20000}"
T="${T:-3000}"
RUNS="${RUNS:-5}"
WORK="${WORK:-/tmp/ddlgate-lint-one-big-file}"
log() { printf '%s\n' "$*" >&2; }

# shellcheck source=bench/squawk.sh
. "$ROOT/bench/squawk.sh"
if ! command -v hyperfine >/dev/null 2>&1; then
    [ "$(id -u)" = 0 ] && apt-get install -y -qq hyperfine >/dev/null 2>&1 || true
fi
command -v hyperfine >/dev/null 2>&1 || { log "hyperfine is needed"; exit 1; }

mkdir -p "$WORK"
cd "$WORK"  # no .squawk.toml from the repository is picked up
python3 - "$N" "$T" <<'PY'
import sys
n, t = int(sys.argv[1]), int(sys.argv[2])
with open("indexes.sql", "w") as f:
    for i in range(n):
        f.write(f"CREATE INDEX idx_{i} ON table_{i % 500} (col_{i % 7});\n")
types = ["bigint", "integer", "text", "character varying(255)", "timestamp with time zone",
         "boolean", "numeric(12,2)", "jsonb", "uuid", "timestamp(6) without time zone"]
with open("dump.sql", "w") as f:
    f.write("--\n-- PostgreSQL database dump\n--\n\nSET statement_timeout = 0;\nSET lock_timeout = 0;\n"
            "SET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\n"
            "SELECT pg_catalog.set_config('search_path', '', false);\n\n")
    for i in range(t):
        cols = [f"    id bigint NOT NULL"] + [
            f"    c{j} {types[(i + j) % len(types)]}" + (" NOT NULL" if j % 3 == 0 else "")
            for j in range(1, 12)]
        f.write(f"--\n-- Name: t{i}; Type: TABLE; Schema: public; Owner: app\n--\n\n")
        f.write(f"CREATE TABLE public.t{i} (\n" + ",\n".join(cols) + "\n);\n\n")
        f.write(f"ALTER TABLE public.t{i} OWNER TO app;\n\n")
        f.write(f"COMMENT ON TABLE public.t{i} IS 'table number {i}';\n\n")
    for i in range(t):
        f.write(f"ALTER TABLE ONLY public.t{i}\n    ADD CONSTRAINT t{i}_pkey PRIMARY KEY (id);\n\n")
    for i in range(t):
        f.write(f"CREATE INDEX t{i}_c1_idx ON public.t{i} USING btree (c1);\n\n")
        f.write(f"CREATE INDEX t{i}_c2_c3_idx ON public.t{i} USING btree (c2, c3);\n\n")
    for i in range(1, t):
        f.write(f"ALTER TABLE ONLY public.t{i}\n    ADD CONSTRAINT t{i}_c1_fkey FOREIGN KEY (c1) "
                f"REFERENCES public.t{i - 1}(id);\n\n")
    f.write("--\n-- PostgreSQL database dump complete\n--\n")
PY
log "indexes.sql: $(wc -l < indexes.sql) lines; dump.sql: $(du -h dump.sql | cut -f1)"

(cd "$ROOT" && cargo build --release -p ddlgate >&2)
DDLGATE="${CARGO_TARGET_DIR:-$ROOT/target}/release/ddlgate"

for file in indexes.sql dump.sql; do
    log "== $file"
    hyperfine --style basic --warmup 1 --runs "$RUNS" --ignore-failure \
        --export-json "$WORK/$file.json" \
        -n "ddlgate lint" "$DDLGATE lint --pg-version 15 $WORK/$file > /dev/null" \
        -n "ddlgate lint --format json" "$DDLGATE lint --pg-version 15 --format json $WORK/$file > /dev/null" \
        -n squawk "$SQUAWK --pg-version=15.0 $WORK/$file > /dev/null" >&2
done

python3 - "$WORK" "$("$DDLGATE" --version)" "$("$SQUAWK" --version)" "$(nproc)" <<'PY'
import json, statistics, sys
work, vd, vs, cpus = sys.argv[1:]
print(f"\nOne big file, hyperfine, {cpus} CPUs; {vd}, {vs}.\n")
print("| file | ddlgate lint (text) | ddlgate lint (json) | squawk | squawk / ddlgate (text) |")
print("|---|---:|---:|---:|---:|")
for name in ("indexes.sql", "dump.sql"):
    r = {x["command"]: x for x in json.load(open(f"{work}/{name}.json"))["results"]}
    m = lambda k: statistics.mean(r[k]["times"])
    print(f"| {name} | {m('ddlgate lint'):.3f} s | {m('ddlgate lint --format json'):.3f} s | "
          f"{m('squawk'):.3f} s | {m('squawk') / m('ddlgate lint'):.2f}× |")
PY
