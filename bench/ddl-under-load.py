#!/usr/bin/env python3
"""DDL under a concurrent workload: the same migration sent DIRECT to PostgreSQL vs THROUGH DDLGATE.

What one run does
-----------------
1. Starts a throwaway PostgreSQL cluster (as the `postgres` OS user when run as root), builds
   (`cargo build --release -p ddlgate`, skip with --no-build) and starts a ddlgate in front of it
   with its default `[policy.execution]` (--lock-timeout-ms, --backfill-batch-ms,
   --backfill-pause-ms override them). --long-reader-secs N adds a report transaction holding
   ACCESS SHARE on t for N seconds as the migration starts (directly on the server).
2. For each mode, DIRECT then THROUGH DDLGATE, on a freshly regenerated table (same
   deterministic contents each time, VACUUM ANALYZE + CHECKPOINT before the run):

       parent(id int PRIMARY KEY)                       -- 1,000 rows
       t(id bigserial PRIMARY KEY, ref_id int, some_nullable_col int (filled, nullable),
         some_col int, some_unique_col bigint (distinct values), hits int, payload text)
                                                         -- --rows rows (default 1,000,000)

   * starts two pgbench processes (per-transaction logs, `-l`):
       writers (--writers clients, --writer-rate tx/s in total):
           insert.sql  INSERT one row                      (weight 1)
           update.sql  UPDATE a random existing row by pk  (weight 1)
       readers (--readers clients, --reader-rate tx/s):
           reader.sql  SELECT a random row by pk
     Every pgbench transaction is exactly one statement. With -R (rate > 0) pgbench measures
     latency from the *scheduled* start, so time spent queued behind a lock is counted even when
     the client was stuck on an earlier statement (no coordinated omission). Rate 0 = flat out.
   * waits --warmup seconds (3), runs the migration with `psql -v ON_ERROR_STOP=1` (timed, with
     psql's \\timing per statement), DIRECT to PostgreSQL or THROUGH DDLGATE:

       ALTER TABLE t ADD COLUMN c uuid NOT NULL DEFAULT gen_random_uuid();
       ALTER TABLE t ALTER COLUMN some_nullable_col SET NOT NULL;
       CREATE INDEX ON t (some_col);
       ALTER TABLE t ADD FOREIGN KEY (ref_id) REFERENCES parent(id);
       ALTER TABLE t ADD UNIQUE (some_unique_col);

   * waits --cooldown seconds (3), then ends the workload (pg_terminate_backend on the pgbench
     sessions, found by application_name; pgbench then reports its clients as aborted, which is
     expected and not counted as a failure).
   * snapshots the resulting schema.
3. Prints one markdown table, DIRECT and THROUGH DDLGATE side by side: migration time (total and
   per statement), writers' and readers' p50/p99/worst latency over the whole run (successful
   statements), statements over 100 ms / 1 s, failed statements and why.
4. Checks the schema left by the ddlgate run: c is uuid NOT NULL DEFAULT gen_random_uuid() with
   no NULL and one distinct value per row, some_nullable_col NOT NULL with no NULL, the index on
   some_col valid, the foreign key and the UNIQUE constraint present and validated, no helper
   constraint or INVALID index left behind, and the whole schema identical to the DIRECT run's.
   Exit status 1 if a check fails or a migration fails.

Failed statements are countable: pgbench 15 only survives serialization/deadlock errors (any
other error aborts the client), so the workload statements run inside tiny PL/pgSQL wrappers
(bench_insert, bench_update, bench_read) that turn any error - including query_canceled from a
statement_timeout - into SQLSTATE 40001 with the original SQLSTATE and message in the text.
pgbench (--max-tries=1 --failures-detailed --verbose-errors) then counts them as failed
transactions and carries on; the summary groups them by original SQLSTATE. The application side
has no timeout by default, so a blocked statement just waits (its latency shows the block);
--app-statement-timeout-ms N gives the workload sessions a statement_timeout, as most
production applications have, and blocked statements then fail instead.

By default only the migration goes through the gateway and the workload connects to PostgreSQL
directly in both modes, so that the only difference between the columns is the DDL path;
--workload-through-gateway sends the workload of the ddlgate run through the gateway too.

Usage
-----
    bench/ddl-under-load.py                          # 1,000,000 rows, defaults below
    bench/ddl-under-load.py --rows 50000             # quick run
    bench/ddl-under-load.py --app-statement-timeout-ms 1000 --workload-through-gateway

    --rows N (1000000) --writers N (4) --readers N (4) --writer-rate TPS (200)
    --reader-rate TPS (400) --warmup S (3) --cooldown S (3) --app-statement-timeout-ms MS (0)
    --lock-timeout-ms MS (100) --backfill-batch-ms MS (50) --backfill-pause-ms MS (20)
    --small-table-rows N (10000) --only direct|ddlgate --keep (keep the work dir and print it)
    --no-build (use target/release/ddlgate as it is)

Needs: PostgreSQL 15+ server binaries with pgbench and psql (pg_config --bindir, PG_BIN or
/usr/lib/postgresql/*/bin), and cargo unless --no-build. The cluster runs with fsync=off and
synchronous_commit=off (a benchmark cluster on a shared machine; both modes alike).
"""

import argparse
import collections
import glob
import json
import math
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DB = "bench"
SUPERUSER = "postgres"

MIGRATION = [
    "ALTER TABLE t ADD COLUMN c uuid NOT NULL DEFAULT gen_random_uuid()",
    "ALTER TABLE t ALTER COLUMN some_nullable_col SET NOT NULL",
    "CREATE INDEX ON t (some_col)",
    "ALTER TABLE t ADD FOREIGN KEY (ref_id) REFERENCES parent(id)",
    "ALTER TABLE t ADD UNIQUE (some_unique_col)",
]

# Any error inside a workload statement becomes 40001 so pgbench counts it and carries on.
CATCH = ("EXCEPTION WHEN query_canceled OR others THEN "
         "RAISE EXCEPTION USING ERRCODE = '40001', MESSAGE = format('bench: %s %s', SQLSTATE, SQLERRM);")

SETUP_SQL = f"""
CREATE EXTENSION IF NOT EXISTS pgcrypto;  -- not needed on PG 13+ (gen_random_uuid is core); harmless
CREATE TABLE parent (id int PRIMARY KEY);
INSERT INTO parent SELECT generate_series(1, 1000);
CREATE FUNCTION bench_insert(p_ref int, p_val int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO t (id, ref_id, some_nullable_col, some_col, some_unique_col, payload)
    SELECT i, p_ref, p_val, p_val, i, md5(p_val::text) FROM nextval('t_id_seq') AS i;
{CATCH}
END $$;
CREATE FUNCTION bench_update(p_id bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  UPDATE t SET hits = hits + 1 WHERE id = p_id;
{CATCH}
END $$;
CREATE FUNCTION bench_read(p_id bigint) RETURNS int LANGUAGE plpgsql AS $$
DECLARE r int;
BEGIN
  SELECT some_col INTO r FROM t WHERE id = p_id;
  RETURN r;
{CATCH}
END $$;
"""


def table_sql(rows):
    return f"""
DROP TABLE IF EXISTS t;
CREATE TABLE t (id bigserial, ref_id int, some_nullable_col int, some_col int, some_unique_col bigint,
                hits int NOT NULL DEFAULT 0, payload text);
INSERT INTO t (id, ref_id, some_nullable_col, some_col, some_unique_col, payload)
  SELECT g, 1 + g % 1000, g % 1009, (g::bigint * 7919 % 1000003)::int, g, md5(g::text) FROM generate_series(1, {rows}) g;
ALTER TABLE t ADD PRIMARY KEY (id);
SELECT setval('t_id_seq', {rows});
VACUUM (ANALYZE) t;
VACUUM (ANALYZE) parent;
CHECKPOINT;
"""


SCHEMA_SQL = """
SELECT 'column ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
       || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
       || coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '')
  FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attrelid = 't'::regclass AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'constraint ' || conname || ' ' || pg_get_constraintdef(oid)
       || CASE WHEN convalidated THEN '' ELSE ' (NOT VALIDATED)' END
  FROM pg_constraint WHERE conrelid = 't'::regclass
UNION ALL
SELECT 'index ' || pg_get_indexdef(indexrelid)
       || CASE WHEN indisvalid AND indisready AND indislive THEN '' ELSE ' (INVALID)' END
  FROM pg_index WHERE indrelid = 't'::regclass
ORDER BY 1
"""


def bin_dir():
    if os.environ.get("PG_BIN"):
        return os.environ["PG_BIN"]
    try:
        d = subprocess.check_output(["pg_config", "--bindir"], text=True).strip()
        if os.path.exists(os.path.join(d, "initdb")):
            return d
    except (OSError, subprocess.CalledProcessError):
        pass
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if not dirs:
        sys.exit("no PostgreSQL server binaries: apt-get install -y postgresql (or set PG_BIN)")
    return dirs[-1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, what, proc=None, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            sys.exit(f"{what} exited with status {proc.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"{what} did not start listening on {port}")


def as_postgres():
    """preexec_fn dropping to the postgres OS user when running as root."""
    if os.geteuid() != 0:
        return None
    pw = pwd.getpwnam("postgres")

    def drop():
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)

    return drop


def clean_env():
    """Environment for our own psql/pgbench runs: no inherited libpq settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PG") or k == "PG_BIN"}


class Bench:
    def __init__(self, args):
        self.args = args
        self.bindir = bin_dir()
        self.psql_bin = os.path.join(self.bindir, "psql")
        self.pgbench_bin = os.path.join(self.bindir, "pgbench")
        self.work = tempfile.mkdtemp(prefix="ddlgate-ddl-load-")
        os.chmod(self.work, 0o777)
        self.pg_port = free_port()
        self.gw_port = free_port()
        self.gw = None

    # --- processes -----------------------------------------------------------------------

    def start_pg(self):
        data = os.path.join(self.work, "data")
        drop = as_postgres()
        subprocess.run([os.path.join(self.bindir, "initdb"), "-D", data, "-U", SUPERUSER, "--auth=trust", "-N"],
                       check=True, stdout=subprocess.DEVNULL, preexec_fn=drop)
        with open(os.path.join(data, "postgresql.conf"), "a") as f:
            f.write(f"port = {self.pg_port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.work}'\n"
                    "max_connections = 100\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                    "shared_buffers = 512MB\nmaintenance_work_mem = 256MB\nmax_wal_size = 8GB\n"
                    "checkpoint_timeout = 1h\nlog_lock_waits = on\nlog_line_prefix = '%m [%p] %a '\n")
        subprocess.run([os.path.join(self.bindir, "pg_ctl"), "-D", data, "-l", os.path.join(self.work, "pg.log"),
                        "-w", "start"], check=True, stdout=subprocess.DEVNULL, preexec_fn=drop)
        self.psql(self.pg_port, f"CREATE DATABASE {DB}", db="postgres")
        self.psql(self.pg_port, SETUP_SQL)
        self.pg_version = self.psql(self.pg_port, "SHOW server_version").strip()

    def stop_pg(self):
        subprocess.run([os.path.join(self.bindir, "pg_ctl"), "-D", os.path.join(self.work, "data"), "-m", "immediate",
                        "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=as_postgres())

    def start_gateway(self):
        a = self.args
        ddlgate = os.path.join(ROOT, "target", "release", "ddlgate")
        if not a.no_build:
            subprocess.run(["cargo", "build", "--release", "-q", "-p", "ddlgate"], cwd=ROOT, check=True)
        self.audit_file = os.path.join(self.work, "audit.jsonl")
        self.gw_config = os.path.join(self.work, "ddlgate.toml")
        with open(self.gw_config, "w") as f:
            f.write(f'[listen]\naddr = "127.0.0.1:{self.gw_port}"\n'
                    f'[databases."*"]\nhost = "127.0.0.1"\nport = {self.pg_port}\ntls = "disable"\n'
                    f'[log]\nlevel = "info"\naudit_file = "{self.audit_file}"\n'
                    f'[policy]\nsmall_table_rows = {a.small_table_rows}\n'
                    '[policy.execution]\n'
                    + (f'lock_timeout_ms = {a.lock_timeout_ms}\n' if a.lock_timeout_ms is not None else '')
                    + (f'backfill_batch_ms = {a.backfill_batch_ms}\n' if a.backfill_batch_ms is not None else '')
                    + (f'backfill_pause_ms = {a.backfill_pause_ms}\n' if a.backfill_pause_ms is not None else ''))
        self.gw_log = open(os.path.join(self.work, "ddlgate.log"), "w")
        self.gw = subprocess.Popen([ddlgate, "--listen", f"127.0.0.1:{self.gw_port}",
                                    "--upstream", f"127.0.0.1:{self.pg_port}", "--upstream-tls", "disable",
                                    "--config", self.gw_config],
                                   stdout=self.gw_log, stderr=subprocess.STDOUT, env=clean_env())
        wait_port(self.gw_port, "ddlgate", self.gw)

    def stop_gateway(self):
        if self.gw is None:
            return
        self.gw.send_signal(signal.SIGTERM)
        try:
            self.gw.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.gw.kill()
            self.gw.wait()

    # --- helpers -------------------------------------------------------------------------

    def psql(self, port, sql, db=DB, check=True):
        out = subprocess.run([self.psql_bin, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                              "-p", str(port), "-U", SUPERUSER, "-d", db, "-f", "-"],
                             input=sql, capture_output=True, text=True, env=clean_env())
        if check and out.returncode != 0:
            sys.exit(f"psql failed ({sql[:80]}...):\n{out.stderr}")
        return out.stdout

    def write(self, name, text):
        path = os.path.join(self.work, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    # --- one run -------------------------------------------------------------------------

    def start_workload(self, mode):
        a = self.args
        port = self.gw_port if (mode == "ddlgate" and a.workload_through_gateway) else self.pg_port
        self.write("insert.sql", "\\set v random(1, 1000000)\n\\set r random(1, 1000)\nSELECT bench_insert(:r, :v);\n")
        self.write("update.sql", f"\\set id random(1, {a.rows})\nSELECT bench_update(:id);\n")
        self.write("reader.sql", f"\\set id random(1, {a.rows})\nSELECT bench_read(:id);\n")
        procs = {}
        for role, clients, rate, scripts in (("writers", a.writers, a.writer_rate, ["insert.sql@1", "update.sql@1"]),
                                             ("readers", a.readers, a.reader_rate, ["reader.sql"])):
            if clients <= 0:
                continue
            prefix = os.path.join(self.work, f"{mode}-{role}")
            for old in glob.glob(prefix + ".*"):
                os.unlink(old)
            cmd = [self.pgbench_bin, "-h", "127.0.0.1", "-p", str(port), "-U", SUPERUSER, "-n",
                   "-c", str(clients), "-j", str(min(clients, 2)), "-T", "36000", "-l", f"--log-prefix={prefix}",
                   "--max-tries=1", "--failures-detailed", "--verbose-errors"]
            if rate > 0:
                cmd += ["-R", str(rate)]
            for s in scripts:
                cmd += ["-f", s]
            cmd.append(DB)
            env = clean_env()
            env["PGAPPNAME"] = f"bench-{role}"
            if a.app_statement_timeout_ms > 0:
                env["PGOPTIONS"] = f"-c statement_timeout={a.app_statement_timeout_ms}"
            out = open(prefix + ".out", "w")
            err = open(prefix + ".err", "w")
            procs[role] = (subprocess.Popen(cmd, cwd=self.work, env=env, stdout=out, stderr=err), prefix)
        return procs

    def stop_workload(self, procs):
        self.psql(self.pg_port, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                "WHERE application_name IN ('bench-writers', 'bench-readers')")
        for role, (p, _) in procs.items():
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def run_migration(self, mode):
        port = self.gw_port if mode == "ddlgate" else self.pg_port
        path = self.write(f"migration-{mode}.sql", "\\timing on\n" + "".join(s + ";\n" for s in MIGRATION))
        log = os.path.join(self.work, f"migration-{mode}.log")
        report = self.start_long_reader()
        started = time.monotonic()
        out = subprocess.run([self.psql_bin, "-X", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(port),
                              "-U", SUPERUSER, "-d", DB, "-f", path], capture_output=True, text=True, env=clean_env())
        total = time.monotonic() - started
        if report is not None:
            report.wait()
        with open(log, "w") as f:
            f.write(out.stdout + "\n--- stderr ---\n" + out.stderr)
        times = [float(x) / 1000 for x in re.findall(r"^Time: ([\d.]+) ms", out.stdout, re.M)]
        return {"ok": out.returncode == 0, "total": total, "times": times, "stdout": out.stdout,
                "stderr": out.stderr, "log": log}

    def start_long_reader(self):
        """--long-reader-secs: a report holding ACCESS SHARE on t (one read, then an open
        transaction) when the migration starts, directly on the server."""
        secs = self.args.long_reader_secs
        if secs <= 0:
            return None
        sql = f"BEGIN; SELECT count(*) FROM t; SELECT pg_sleep({secs}); COMMIT;\n"
        p = subprocess.Popen([self.psql_bin, "-X", "-q", "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", SUPERUSER,
                              "-d", DB, "-c", sql], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=clean_env())
        # The report has its lock once its count(*) runs; it takes well under this on 1M rows.
        time.sleep(1.0)
        return p

    def run_mode(self, mode):
        a = self.args
        print(f"[{mode}] regenerating t with {a.rows} rows", file=sys.stderr, flush=True)
        t0 = time.monotonic()
        self.psql(self.pg_port, table_sql(a.rows))
        print(f"[{mode}] table ready in {time.monotonic() - t0:.1f}s; starting the workload", file=sys.stderr, flush=True)
        procs = self.start_workload(mode)
        time.sleep(a.warmup)
        for role, (p, prefix) in procs.items():
            if p.poll() is not None:
                sys.exit(f"pgbench ({role}) exited early:\n" + open(prefix + ".err").read()[-3000:])
        print(f"[{mode}] running the migration", file=sys.stderr, flush=True)
        mig = self.run_migration(mode)
        print(f"[{mode}] migration {'done' if mig['ok'] else 'FAILED'} in {mig['total']:.1f}s; cooling down",
              file=sys.stderr, flush=True)
        if not mig["ok"]:
            print(mig["stdout"][-3000:] + mig["stderr"][-3000:], file=sys.stderr)
        time.sleep(a.cooldown)
        self.stop_workload(procs)
        stats = {role: self.parse_pgbench(prefix) for role, (_, prefix) in procs.items()}
        schema = self.psql(self.pg_port, SCHEMA_SQL).strip().splitlines()
        return {"migration": mig, "stats": stats, "schema": schema}

    @staticmethod
    def parse_pgbench(prefix):
        lat = []
        failed = 0
        first = last = None
        for path in glob.glob(prefix + ".[0-9]*"):
            with open(path) as f:
                for line in f:
                    parts = line.split()
                    if len(parts) < 6:
                        continue
                    ts = int(parts[4]) + int(parts[5]) / 1e6
                    first = ts if first is None else min(first, ts)
                    last = ts if last is None else max(last, ts)
                    if parts[2].isdigit():
                        lat.append(int(parts[2]) / 1000.0)
                    else:
                        failed += 1
        reasons = collections.Counter()
        with open(prefix + ".err") as f:
            for line in f:
                m = re.search(r"bench: (\w{5}) (.*)$", line)
                if m:
                    reasons[f"{m.group(1)} {m.group(2)[:70]}"] += 1
        aborted_other = 0
        with open(prefix + ".err") as f:
            for line in f:
                # Clients aborted by the stop (pg_terminate_backend) are expected.
                if "aborted in command" in line and "administrator command" not in line:
                    aborted_other += 1
        lat.sort()

        def pct(p):
            if not lat:
                return float("nan")
            return lat[min(len(lat) - 1, max(0, math.ceil(p / 100.0 * len(lat)) - 1))]  # nearest rank

        return {"n": len(lat), "failed": failed, "p50": pct(50), "p99": pct(99), "worst": lat[-1] if lat else float("nan"),
                "over100": sum(1 for x in lat if x > 100), "over1s": sum(1 for x in lat if x > 1000),
                "reasons": reasons, "span": (last - first) if first is not None else 0.0, "aborted_other": aborted_other}

    # --- checks --------------------------------------------------------------------------

    def verify(self, schema, direct_schema):
        """Checks on the schema the ddlgate run left. Returns [(ok, text)]."""
        q = lambda sql: self.psql(self.pg_port, sql).strip()
        checks = []
        col = q("SELECT format_type(atttypid, atttypmod) || '|' || attnotnull || '|' || coalesce(pg_get_expr(d.adbin, d.adrelid), '') "
                "FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
                "WHERE a.attrelid = 't'::regclass AND a.attname = 'c' AND NOT a.attisdropped")
        checks.append((col == "uuid|true|gen_random_uuid()",
                       f"t.c is uuid NOT NULL DEFAULT gen_random_uuid() (got {col or 'no column'})"))
        counts = q("SELECT count(*) FILTER (WHERE c IS NULL) || '|' || count(*) FILTER (WHERE some_nullable_col IS NULL) "
                   "|| '|' || count(DISTINCT c) || '|' || count(*) FROM t") if col else "?|?|?|?"
        c_nulls, n_nulls, distinct, total = counts.split("|")
        checks.append((c_nulls == "0", f"no NULL in t.c ({c_nulls} NULLs of {total} rows)"))
        checks.append((distinct == total, f"t.c has one distinct value per row, i.e. the volatile default was evaluated per row "
                                          f"({distinct} distinct of {total})"))
        nn = q("SELECT attnotnull FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'some_nullable_col'")
        checks.append((nn == "t" and n_nulls == "0", f"t.some_nullable_col NOT NULL (attnotnull={nn}, {n_nulls} NULLs)"))
        idx = q("SELECT string_agg(c.relname || ' valid=' || i.indisvalid || ' ready=' || i.indisready || ' unique=' || i.indisunique, ', ') "
                "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE i.indrelid = 't'::regclass AND i.indkey::text = (SELECT attnum::text FROM pg_attribute "
                "WHERE attrelid = 't'::regclass AND attname = 'some_col')")
        checks.append((idx == "t_some_col_idx valid=true ready=true unique=false",
                       f"one valid non-unique index on t(some_col) ({idx or 'none'})"))
        fk = q("SELECT string_agg(conname || ' ' || pg_get_constraintdef(oid) || ' validated=' || convalidated, ', ') "
               "FROM pg_constraint WHERE conrelid = 't'::regclass AND contype = 'f'")
        checks.append((fk == "t_ref_id_fkey FOREIGN KEY (ref_id) REFERENCES parent(id) validated=true",
                       f"foreign key validated ({fk or 'none'})"))
        uq = q("SELECT string_agg(co.conname || ' ' || pg_get_constraintdef(co.oid) || ' validated=' || co.convalidated "
               "|| ' index_valid=' || i.indisvalid, ', ') FROM pg_constraint co JOIN pg_index i ON i.indexrelid = co.conindid "
               "WHERE co.conrelid = 't'::regclass AND co.contype = 'u'")
        checks.append((uq == "t_some_unique_col_key UNIQUE (some_unique_col) validated=true index_valid=true",
                       f"UNIQUE constraint validated, backed by a valid index ({uq or 'none'})"))
        extra = q("SELECT string_agg(conname, ', ') FROM pg_constraint WHERE conrelid = 't'::regclass "
                  "AND conname NOT IN ('t_pkey', 't_ref_id_fkey', 't_some_unique_col_key')")
        checks.append((extra == "", f"no helper constraint left behind ({extra or 'none'})"))
        invalid = q("SELECT string_agg(indexrelid::regclass::text, ', ') FROM pg_index "
                    "WHERE indrelid = 't'::regclass AND NOT (indisvalid AND indisready AND indislive)")
        checks.append((invalid == "", f"no INVALID index ({invalid or 'none'})"))
        if direct_schema is not None:
            diff = sorted(set(schema) ^ set(direct_schema))
            checks.append((not diff, "schema identical to the DIRECT run's (columns, defaults, constraints, index definitions)"
                           + ("" if not diff else ": differs in " + "; ".join(
                               ("ddlgate has " if d in schema else "direct has ") + d for d in diff))))
        return checks


def audit_summary(path):
    """Per-statement plan steps from the gateway's audit file."""
    lines = []
    if not os.path.exists(path):
        return lines
    with open(path) as f:
        for raw in f:
            raw = raw.strip()
            j = raw.find("{")
            if j < 0:
                continue
            try:
                ev = json.loads(raw[j:])
            except ValueError:
                continue
            if ev.get("application_name", "").startswith("bench-"):
                continue
            lines.append(f"* `{ev.get('sql')}` → {ev.get('action')}, {ev.get('outcome')}")
            for s in ev.get("steps", []):
                retry = f", {s['attempts']} attempts" if s.get("attempts", 1) > 1 else ""
                err = f", error: {s['error']}" if s.get("error") else ""
                lines.append(f"  * {s['description']}: {s['outcome']} in {s['duration_ms']} ms{retry}{err}")
    return lines


def fmt_ms(x):
    return "n/a" if x != x else (f"{x:.1f}" if x < 100 else f"{x:.0f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--writers", type=int, default=4)
    ap.add_argument("--readers", type=int, default=4)
    ap.add_argument("--writer-rate", type=float, default=200, help="writer statements/s in total (0 = unthrottled)")
    ap.add_argument("--reader-rate", type=float, default=400, help="reader statements/s in total (0 = unthrottled)")
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--cooldown", type=float, default=3)
    ap.add_argument("--app-statement-timeout-ms", type=int, default=0)
    ap.add_argument("--workload-through-gateway", action="store_true")
    ap.add_argument("--lock-timeout-ms", type=int, default=None, help="default: ddlgate's own default")
    ap.add_argument("--backfill-batch-ms", type=int, default=None, help="default: ddlgate's own default")
    ap.add_argument("--backfill-pause-ms", type=int, default=None, help="default: ddlgate's own default")
    ap.add_argument("--long-reader-secs", type=float, default=0,
                    help="a report transaction holding ACCESS SHARE on t for this long as the migration starts")
    ap.add_argument("--small-table-rows", type=int, default=10000)
    ap.add_argument("--only", choices=["direct", "ddlgate"])
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs, pgbench logs, audit file)")
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    if args.rows < args.small_table_rows:
        print(f"warning: {args.rows} rows is under small_table_rows={args.small_table_rows}: ddlgate will treat t as small",
              file=sys.stderr)

    b = Bench(args)
    results = {}
    failed = False
    try:
        b.start_pg()
        b.start_gateway()
        modes = [args.only] if args.only else ["direct", "ddlgate"]
        for mode in modes:
            results[mode] = b.run_mode(mode)
        checks = b.verify(results["ddlgate"]["schema"], results.get("direct", {}).get("schema")) if "ddlgate" in results else []
        audit = audit_summary(b.audit_file)
    finally:
        b.stop_gateway()
        b.stop_pg()
        if args.keep:
            print(f"work directory kept: {b.work}", file=sys.stderr)
        else:
            shutil.rmtree(b.work, ignore_errors=True)

    names = {"direct": "DIRECT", "ddlgate": "THROUGH DDLGATE"}
    modes = list(results)
    print(f"\n## DDL under load: {args.rows:,} rows, PostgreSQL {b.pg_version}, {os.cpu_count()} cores\n")
    rate = lambda r: "unthrottled" if r <= 0 else f"{r:g} stmt/s"
    print(f"Workload: {args.writers} writer clients ({rate(args.writer_rate)}: INSERT one row / UPDATE one row by pk, 50/50), "
          f"{args.readers} reader clients ({rate(args.reader_rate)}: SELECT by pk), pgbench -R, "
          f"{'workload via ddlgate in the ddlgate run' if args.workload_through_gateway else 'workload connected directly in both runs'}, "
          f"app statement_timeout {str(args.app_statement_timeout_ms) + ' ms' if args.app_statement_timeout_ms else 'none'}; "
          f"migration starts {args.warmup:g}s after the workload, workload stops {args.cooldown:g}s after it. "
          f"ddlgate: lock_timeout_ms={args.lock_timeout_ms or 'default'}, backfill_batch_ms={args.backfill_batch_ms or 'default'}, "
          f"backfill_pause_ms={args.backfill_pause_ms or 'default'}; "
          f"{'a report holding ACCESS SHARE on t for %gs as the migration starts' % args.long_reader_secs if args.long_reader_secs else 'no long reader'}. "
          f"Latencies in ms over the whole run, successful statements.\n")
    print("| | " + " | ".join(names[m] for m in modes) + " |")
    print("|---|" + "---:|" * len(modes))

    def row(label, f):
        print(f"| {label} | " + " | ".join(f(results[m]) for m in modes) + " |")

    row("**migration total (s)**", lambda r: f"**{r['migration']['total']:.1f}**" + ("" if r["migration"]["ok"] else " (FAILED)"))
    for i, s in enumerate(MIGRATION):
        row(f"&nbsp;&nbsp;`{s}` (s)", lambda r, i=i: f"{r['migration']['times'][i]:.2f}" if i < len(r["migration"]["times"]) else "not run")
    for role in ("writers", "readers"):
        if not all(role in results[m]["stats"] for m in modes):
            continue
        st = lambda r: r["stats"][role]
        row(f"**{role} worst (ms)**", lambda r: f"**{fmt_ms(st(r)['worst'])}**")
        row(f"**{role} p99 (ms)**", lambda r: f"**{fmt_ms(st(r)['p99'])}**")
        row(f"{role} p50 (ms)", lambda r: fmt_ms(st(r)["p50"]))
        row(f"{role} statements > 100 ms / > 1 s", lambda r: f"{st(r)['over100']} / {st(r)['over1s']}")
        row(f"**{role} failed statements**", lambda r: f"**{st(r)['failed']}**")
        row(f"{role} successful statements (run length s)", lambda r: f"{st(r)['n']} ({st(r)['span']:.0f})")
    print()
    for m in modes:
        for role, s in results[m]["stats"].items():
            for reason, n in s["reasons"].most_common(5):
                print(f"* {names[m]} {role} failures: {n} × {reason}")
            if s["aborted_other"]:
                print(f"* {names[m]} {role}: {s['aborted_other']} pgbench clients aborted for other reasons (see pgbench stderr)")
    if audit:
        print("\nddlgate audit (the plans it ran):\n")
        print("\n".join(audit))
    if "ddlgate" in results:
        mig = results["ddlgate"]["migration"]
        retries = len(re.findall(r"lock not available \(attempt", mig["stderr"]))
        print(f"\nddlgate lock-timeout retries reported to the client: {retries}")
    if checks:
        print("\nSchema after the THROUGH DDLGATE run:\n")
        for ok, text in checks:
            print(f"* {'PASS' if ok else 'FAIL'}: {text}")
        failed |= not all(ok for ok, _ in checks)
    failed |= not all(r["migration"]["ok"] for r in results.values())
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
