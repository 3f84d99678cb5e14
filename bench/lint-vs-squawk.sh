#!/usr/bin/env bash
# ddlgate lint vs squawk on the same large migration directory, side by side.
#
#   bench/lint-vs-squawk.sh            # 5000 files, 5 interleaved rounds
#   FILES=20000 ROUNDS=3 RUNS=3 bench/lint-vs-squawk.sh
#
# What it does:
#   1. finds squawk (PATH, then a virtualenv under /tmp), else installs it: PyPI package
#      `squawk-cli` into /tmp/squawk-venv, or failing that `cargo install squawk` into
#      /tmp/squawk-cargo;
#   2. generates a deterministic migration directory ($WORK/migrations, FILES files): every
#      rule fixture (tests/fixtures/ddl/*/{bad,good}.sql) plus realistic multi-statement
#      migrations (CREATE TABLE with indexes and foreign keys, ADD COLUMN with defaults,
#      backfills, constraints added NOT VALID then validated, renames, drops, BEGIN/COMMIT
#      blocks, lock_timeout settings, comments, DO blocks, enum changes);
#   3. builds `ddlgate` in release (CARGO_TARGET_DIR and CARGO_BUILD_JOBS are honoured);
#   4. times `ddlgate lint DIR` against `squawk 'DIR/*.sql'` (squawk expands the pattern
#      itself, as ddlgate walks the directory itself), both with their default text output to
#      /dev/null and for PostgreSQL 15, with hyperfine when available (installed with apt-get
#      when running as root) or a plain timing loop otherwise. The two tools are interleaved:
#      ROUNDS rounds, the order alternating between rounds, RUNS runs each per round;
#   5. prints a markdown table: files, statements, wall time of each tool (mean ± standard
#      deviation over all runs, and the fastest run), CPU time, and the ratio.
#
# Both tools exit non-zero when they find problems (the fixtures contain dangerous DDL on
# purpose), so exit codes are ignored while timing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FILES="${FILES:-5000}"
ROUNDS="${ROUNDS:-5}"
RUNS="${RUNS:-3}"
WORK="${WORK:-/tmp/ddlgate-lint-vs-squawk}"
PG_MAJOR="${PG_MAJOR:-15}"

log() { printf '%s\n' "$*" >&2; }

# --- 1. squawk -------------------------------------------------------------------------------
# shellcheck source=bench/squawk.sh
. "$ROOT/bench/squawk.sh"

# --- 2. the migration directory --------------------------------------------------------------
MIGRATIONS="$WORK/migrations"
rm -rf "$MIGRATIONS"
mkdir -p "$MIGRATIONS"
STATEMENTS="$(python3 - "$ROOT/tests/fixtures/ddl" "$MIGRATIONS" "$FILES" <<'PY'
import os, random, sys

fixtures_dir, out_dir, n_files = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = random.Random(20260101)  # deterministic


def count_statements(src):
    """Statements in src: ';'-separated, outside quotes, dollar quotes, comments, parens."""
    n, i, depth, has_stmt, L = 0, 0, 0, False, len(src)
    while i < L:
        c = src[i]
        if c in " \t\r\n":
            i += 1
            continue
        if src.startswith("--", i):
            j = src.find("\n", i)
            i = L if j < 0 else j + 1
            continue
        if src.startswith("/*", i):
            lvl, i = 1, i + 2
            while i < L and lvl:
                if src.startswith("/*", i):
                    lvl, i = lvl + 1, i + 2
                elif src.startswith("*/", i):
                    lvl, i = lvl - 1, i + 2
                else:
                    i += 1
            continue
        if c == ";" and depth == 0:
            n += has_stmt
            has_stmt = False
            i += 1
            continue
        has_stmt = True
        if c in "'\"":
            i += 1
            while i < L:
                if src[i] == c:
                    if src.startswith(c * 2, i):
                        i += 2
                        continue
                    break
                i += 1
            i += 1
        elif c == "$":
            j = i + 1
            while j < L and (src[j].isalnum() or src[j] == "_"):
                j += 1
            if j < L and src[j] == "$" and not src[i + 1:j].isdigit():
                tag = src[i:j + 1]
                k = src.find(tag, j + 1)
                i = L if k < 0 else k + len(tag)
            else:
                i = j
        elif c == "(":
            depth, i = depth + 1, i + 1
        elif c == ")":
            depth, i = max(0, depth - 1), i + 1
        else:
            i += 1
    return n + has_stmt


fixtures = []
for rule in sorted(os.listdir(fixtures_dir)):
    for kind in ("bad.sql", "good.sql"):
        p = os.path.join(fixtures_dir, rule, kind)
        if os.path.isfile(p):
            with open(p) as f:
                fixtures.append(f.read())

NOUNS = ["user", "order", "invoice", "payment", "product", "account", "event", "session",
         "shipment", "review", "tenant", "project", "task", "comment", "subscription", "device"]
COLS = [("status", "text", "'pending'"), ("note", "text", None), ("amount", "numeric(12,2)", "0"),
        ("created_at", "timestamptz", "now()"), ("updated_at", "timestamptz", None),
        ("is_active", "boolean", "true"), ("priority", "integer", "0"), ("metadata", "jsonb", "'{}'"),
        ("external_id", "uuid", "gen_random_uuid()"), ("email", "varchar(255)", None),
        ("retries", "smallint", "0"), ("tags", "text[]", "'{}'"), ("score", "double precision", None),
        ("deleted_at", "timestamp", None), ("country", "char(2)", "'US'")]


def table():
    return rng.choice(NOUNS) + "s" + rng.choice(["", "", "_archive", "_v2", "_log"])


def col():
    return rng.choice(COLS)


def create_table(t):
    cols = ["    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY"]
    for name, ty, default in rng.sample(COLS, rng.randint(3, 8)):
        line = f"    {name} {ty}"
        if rng.random() < 0.3:
            line += " NOT NULL"
        if default and rng.random() < 0.5:
            line += f" DEFAULT {default}"
        cols.append(line)
    if rng.random() < 0.5:
        cols.append(f"    {rng.choice(NOUNS)}_id bigint REFERENCES {rng.choice(NOUNS)}s (id)")
    out = [f"CREATE TABLE {t} (\n" + ",\n".join(cols) + "\n);"]
    for _ in range(rng.randint(0, 2)):
        c = col()[0]
        out.append(f"CREATE INDEX {t}_{c}_idx ON {t} ({c});")
    return out


def alter(t):
    name, ty, default = col()
    k = rng.randint(0, 15)
    if k == 0:
        return [f"ALTER TABLE {t} ADD COLUMN {name} {ty};"]
    if k == 1 and default:
        return [f"ALTER TABLE {t} ADD COLUMN {name} {ty} DEFAULT {default};"]
    if k == 2:
        return [f"ALTER TABLE {t} ADD COLUMN {name} {ty} NOT NULL DEFAULT {default or 'NULL'};"]
    if k == 3:
        return [f"ALTER TABLE {t} ALTER COLUMN {name} SET NOT NULL;"]
    if k == 4:
        return [f"ALTER TABLE {t} ADD CONSTRAINT {t}_{name}_check CHECK ({name} IS NOT NULL) NOT VALID;",
                f"ALTER TABLE {t} VALIDATE CONSTRAINT {t}_{name}_check;"]
    if k == 5:
        o = rng.choice(NOUNS)
        return [f"ALTER TABLE {t} ADD CONSTRAINT {t}_{o}_fk FOREIGN KEY ({o}_id) REFERENCES {o}s (id);"]
    if k == 6:
        return [f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {t}_{name}_idx ON {t} ({name});"]
    if k == 7:
        return [f"CREATE UNIQUE INDEX {t}_{name}_key ON {t} ({name}) WHERE deleted_at IS NULL;"]
    if k == 8:
        return [f"ALTER TABLE {t} RENAME COLUMN {name} TO {name}_old;"]
    if k == 9:
        return [f"ALTER TABLE {t} DROP COLUMN IF EXISTS {name};"]
    if k == 10:
        return [f"ALTER TABLE {t} ALTER COLUMN {name} TYPE text;"]
    if k == 11:
        return [f"UPDATE {t} SET {name} = {default or 'NULL'} WHERE {name} IS NULL AND id < {rng.randint(1000, 99999)};"]
    if k == 12:
        return [f"COMMENT ON COLUMN {t}.{name} IS 'the {name} of the {t[:-1]}, it''s documented';"]
    if k == 13:
        return [f"DROP INDEX IF EXISTS {t}_{name}_idx;"]
    if k == 14:
        return [f"ALTER TYPE {t[:-1]}_state ADD VALUE IF NOT EXISTS '{name}';"]
    return [f"DO $$\nBEGIN\n  IF NOT EXISTS (SELECT 1 FROM pg_class WHERE relname = '{t}') THEN\n"
            f"    RAISE NOTICE 'missing {t}';\n  END IF;\nEND\n$$;"]


def migration(i):
    out = [f"-- migration {i:05d}: {rng.choice(['add', 'change', 'clean up', 'index'])} {table()}"]
    if rng.random() < 0.4:
        out.append(f"SET lock_timeout = '{rng.choice([1, 2, 5])}s';")
    tx = rng.random() < 0.3
    if tx:
        out.append("BEGIN;")
    for _ in range(rng.randint(1, 4)):
        t = table()
        out.extend(create_table(t) if rng.random() < 0.2 else alter(t))
    if tx:
        out.append("COMMIT;")
    return "\n".join(out) + "\n"


total = 0
for i in range(n_files):
    src = fixtures[i // 5 % len(fixtures)] if i % 5 == 0 else migration(i)
    total += count_statements(src)
    with open(os.path.join(out_dir, f"{i:05d}_migration.sql"), "w") as f:
        f.write(src)
print(total)
PY
)"
log "generated $FILES files, $STATEMENTS statements in $MIGRATIONS"

# --- 3. ddlgate -------------------------------------------------------------------------------
log "building ddlgate (release)"
(cd "$ROOT" && cargo build --release -p ddlgate >&2)
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
DDLGATE="$TARGET_DIR/release/ddlgate"
log "ddlgate: $DDLGATE ($("$DDLGATE" --version))"

# --- 4. timing --------------------------------------------------------------------------------
cd "$WORK"  # no .squawk.toml from the repository is picked up
CMD_DDLGATE="$DDLGATE lint --pg-version $PG_MAJOR $MIGRATIONS"
CMD_SQUAWK="$SQUAWK --pg-version=$PG_MAJOR.0 '$MIGRATIONS/*.sql'"
RESULTS="$WORK/results"
rm -rf "$RESULTS"
mkdir -p "$RESULTS"

# Sanity: both tools really read the files (and report what the fixtures contain).
log "ddlgate: $(eval "$CMD_DDLGATE" 2>/dev/null | tail -n 1)"
log "squawk: $(eval "$CMD_SQUAWK" 2>/dev/null | grep -c '' || true) output lines"

if ! command -v hyperfine >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing hyperfine (apt-get)"
    apt-get install -y -qq hyperfine >/dev/null 2>&1 || true
fi

if command -v hyperfine >/dev/null 2>&1; then
    TIMER="hyperfine $(hyperfine --version | cut -d' ' -f2)"
    for round in $(seq 1 "$ROUNDS"); do
        if [ $((round % 2)) -eq 1 ]; then order=(ddlgate squawk); else order=(squawk ddlgate); fi
        args=()
        for tool in "${order[@]}"; do
            if [ "$tool" = ddlgate ]; then args+=(-n ddlgate "$CMD_DDLGATE > /dev/null");
            else args+=(-n squawk "$CMD_SQUAWK > /dev/null"); fi
        done
        log "round $round/$ROUNDS: ${order[*]}"
        hyperfine --style basic --warmup 1 --runs "$RUNS" --ignore-failure \
            --export-json "$RESULTS/round-$round.json" "${args[@]}" >&2
    done
else
    TIMER="timing loop (python3, monotonic clock, CPU from getrusage)"
    for round in $(seq 1 "$ROUNDS"); do
        if [ $((round % 2)) -eq 1 ]; then order=(ddlgate squawk); else order=(squawk ddlgate); fi
        log "round $round/$ROUNDS: ${order[*]}"
        python3 - "$RESULTS/round-$round.json" "$RUNS" "${order[@]}" \
            "$CMD_DDLGATE > /dev/null" "$CMD_SQUAWK > /dev/null" <<'PY'
import json, os, resource, subprocess, sys, time
out, runs, first, second, cmd_d, cmd_s = sys.argv[1], int(sys.argv[2]), *sys.argv[3:]
cmds = {"ddlgate": cmd_d, "squawk": cmd_s}
results = []
for name in (first, second):
    subprocess.run(cmds[name], shell=True)  # warm-up
    times, users, systems = [], [], []
    for _ in range(runs):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        subprocess.run(cmds[name], shell=True)
        times.append(time.monotonic() - t0)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        users.append(r1.ru_utime - r0.ru_utime)
        systems.append(r1.ru_stime - r0.ru_stime)
    results.append({"command": name, "times": times,
                    "user": sum(users) / runs, "system": sum(systems) / runs})
json.dump({"results": results}, open(out, "w"))
PY
    done
fi

# --- 5. the table -----------------------------------------------------------------------------
python3 - "$RESULTS" "$FILES" "$STATEMENTS" "$ROUNDS" "$RUNS" "$TIMER" \
    "$("$DDLGATE" --version)" "$("$SQUAWK" --version)" "$(nproc)" "$PG_MAJOR" <<'PY'
import glob, json, statistics, sys
res_dir, files, stmts, rounds, runs, timer, v_d, v_s, cpus, pg = sys.argv[1:]
times, cpu = {"ddlgate": [], "squawk": []}, {"ddlgate": [], "squawk": []}
for p in sorted(glob.glob(f"{res_dir}/round-*.json")):
    for r in json.load(open(p))["results"]:
        times[r["command"]] += r["times"]
        cpu[r["command"]].append(r["user"] + r["system"])
def cell(name):
    t = times[name]
    sd = statistics.stdev(t) if len(t) > 1 else 0.0
    return f"{statistics.mean(t):.3f} s ± {sd:.3f} (min {min(t):.3f})"
mean_d, mean_s = statistics.mean(times["ddlgate"]), statistics.mean(times["squawk"])
print()
print(f"`ddlgate lint` vs `squawk` — {timer}, {rounds} interleaved rounds × {runs} runs per tool "
      f"({len(times['ddlgate'])} runs each), --pg-version {pg}, text output to /dev/null, "
      f"{cpus} CPUs; {v_d}, {v_s}.")
print()
print("| files | statements | ddlgate lint (wall) | squawk (wall) | ddlgate CPU | squawk CPU | squawk / ddlgate (wall) |")
print("|---:|---:|---:|---:|---:|---:|---:|")
print(f"| {int(files):,} | {int(stmts):,} | {cell('ddlgate')} | {cell('squawk')} | "
      f"{statistics.mean(cpu['ddlgate']):.3f} s | {statistics.mean(cpu['squawk']):.3f} s | "
      f"{mean_s / mean_d:.2f}× |")
print()
print(f"Throughput: ddlgate {int(stmts) / mean_d:,.0f} statements/s, squawk {int(stmts) / mean_s:,.0f} statements/s.")
PY
