#!/usr/bin/env python3
"""Side-by-side pgbench: ddlgate vs direct PostgreSQL vs PgBouncer (session mode).

Starts a throwaway PostgreSQL, a release ddlgate and a PgBouncer in front of it, then runs
pgbench select-only workloads interleaved (gateway, direct, pgbouncer, gateway, ...) for
several rounds, so that the noise of a shared machine hits all three alike. Reports median TPS,
the ratio to direct, and each proxy's own CPU time per transaction (utime+stime from
/proc/PID/stat, all threads; also split into user and system time), and in how many rounds
ddlgate beat PgBouncer in the same round. Also PostgreSQL's own CPU and minor page faults per
transaction behind each target: PgBouncer keeps its server connections between runs, so its
backends are warm while the others start fresh ones each run (--cold-pgbouncer levels that).

Usage: bench/pgbench-compare.py [--rounds 3] [--seconds 5] [--scale 10]
                                [--only simple:32,prepared:1] [--candidate PATH] [--cold-pgbouncer]
--only runs some of the workloads; --candidate runs a second ddlgate binary (another build)
as a fourth target in the same interleaved rounds, to compare two builds on equal terms.
Needs: PostgreSQL server binaries (pg_config --bindir or PG_BIN), pgbench, pgbouncer
(apt-get install -y postgresql pgbouncer), and cargo (it builds ddlgate --release).
"""

import argparse
import glob
import os
import pwd
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLK_TCK = os.sysconf("SC_CLK_TCK")


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


def wait_port(port, what, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
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


def cpu_split(pid):
    """(user, system) CPU seconds of PID so far, all threads."""
    fields = stat_fields(pid)
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def cpu_seconds(pid):
    return sum(cpu_split(pid))


def stat_fields(pid):
    """The fields of /proc/PID/stat after the command name (fields[0] is the state)."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def backends_stat_fields(postmaster):
    """stat_fields of each live child of the postmaster (its backends and helpers)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = stat_fields(entry)
        except OSError:
            continue
        if int(fields[1]) == postmaster:
            yield fields


def server_usage(postmaster):
    """(CPU seconds, minor page faults) of the whole PostgreSQL server, read in one pass over
    /proc: the postmaster, its live children (backends), and the children it has reaped
    (cutime/cstime, cminflt). A fresh backend faults in each page of shared memory it touches
    for the first time, so the faults show how warm the backends a target ran on were."""
    fields = stat_fields(postmaster)
    ticks = sum(int(x) for x in fields[11:15])
    faults = int(fields[7]) + int(fields[8])
    for f in backends_stat_fields(postmaster):
        ticks += int(f[11]) + int(f[12])
        faults += int(f[7])
    return ticks / CLK_TCK, faults


def context_switches(pid):
    """(voluntary, involuntary) context switches of every thread of PID so far."""
    vol = invol = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches"):
                        vol += int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches"):
                        invol += int(line.split()[1])
        except OSError:
            pass
    return vol, invol


def children_cpu_seconds():
    """CPU of the waited-for children of this script (the pgbench runs)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_pgbench(pgbench, port, db, mode, clients, seconds):
    cmd = [pgbench, "-h", "127.0.0.1", "-p", str(port), "-U", "bench", "-n", "-S", "-M", mode,
           "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(seconds), db]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"pgbench failed: {' '.join(cmd)}\n{out.stderr}")
    tps = float(re.search(r"tps = ([\d.]+)", out.stdout).group(1))
    txns = int(re.search(r"number of transactions actually processed: (\d+)", out.stdout).group(1))
    lat = float(re.search(r"latency average = ([\d.]+) ms", out.stdout).group(1))
    return tps, txns, lat


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--scale", type=int, default=10)
    ap.add_argument("--worker-threads", type=int, default=None, help="ddlgate --worker-threads (default: its config default)")
    ap.add_argument("--only", default=None, help="comma-separated mode:clients workloads (default: all)")
    ap.add_argument("--candidate", default=None, help="a second ddlgate binary, run as target 'candidate'")
    ap.add_argument("--cold-pgbouncer", action="store_true",
                    help="server_lifetime = 1: PgBouncer closes its server connections after each run, so every "
                         "run starts with fresh backends, as direct and ddlgate do")
    args = ap.parse_args()

    bindir = bin_dir()
    pgbench = os.path.join(bindir, "pgbench")
    pgbouncer = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not os.path.exists(pgbouncer):
        sys.exit("pgbouncer not found: apt-get install -y pgbouncer")
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "ddlgate"], cwd=ROOT, check=True)
    ddlgate = os.path.join(ROOT, "target", "release", "ddlgate")

    work = tempfile.mkdtemp(prefix="ddlgate-bench-")
    os.chmod(work, 0o777)
    procs = []
    try:
        pg_port, gw_port, bouncer_port, cand_port = free_port(), free_port(), free_port(), free_port()
        data = os.path.join(work, "data")
        drop = as_postgres()
        subprocess.run([os.path.join(bindir, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-N"],
                       check=True, stdout=subprocess.DEVNULL, preexec_fn=drop)
        with open(os.path.join(data, "postgresql.conf"), "a") as f:
            f.write(f"port = {pg_port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{work}'\n"
                    "max_connections = 200\nfsync = off\nsynchronous_commit = off\nshared_buffers = 256MB\n")
        subprocess.run([os.path.join(bindir, "pg_ctl"), "-D", data, "-l", os.path.join(work, "pg.log"), "-w", "start"],
                       check=True, stdout=subprocess.DEVNULL, preexec_fn=drop)
        psql = os.path.join(bindir, "psql")
        for sql in ("CREATE ROLE bench LOGIN SUPERUSER", "CREATE DATABASE bench OWNER bench"):
            subprocess.run([psql, "-h", "127.0.0.1", "-p", str(pg_port), "-U", "postgres", "-qc", sql], check=True)
        subprocess.run([pgbench, "-h", "127.0.0.1", "-p", str(pg_port), "-U", "bench", "-i", "-q", "-s", str(args.scale), "bench"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def start_gateway(binary, port):
            p = subprocess.Popen([binary, "--listen", f"127.0.0.1:{port}", "--upstream", f"127.0.0.1:{pg_port}",
                                  "--upstream-tls", "disable", "--log-level", "warn"]
                                 + (["--worker-threads", str(args.worker_threads)] if args.worker_threads is not None else []),
                                 stdout=subprocess.DEVNULL)
            procs.append(p)
            return p

        gw = start_gateway(ddlgate, gw_port)
        cand = start_gateway(args.candidate, cand_port) if args.candidate else None
        ini = os.path.join(work, "pgbouncer.ini")
        with open(os.path.join(work, "users.txt"), "w") as f:
            f.write('"bench" ""\n')
        with open(ini, "w") as f:
            f.write(f"[databases]\nbench = host=127.0.0.1 port={pg_port} dbname=bench\n"
                    f"[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {bouncer_port}\nunix_socket_dir =\n"
                    f"auth_type = trust\nauth_file = {work}/users.txt\npool_mode = session\n"
                    "max_client_conn = 200\ndefault_pool_size = 100\nlogfile = /dev/null\n"
                    + ("server_lifetime = 1\n" if args.cold_pgbouncer else ""))
        os.chmod(ini, 0o644)
        bouncer = subprocess.Popen([pgbouncer, ini], preexec_fn=drop, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(bouncer)
        wait_port(gw_port, "ddlgate")
        wait_port(bouncer_port, "pgbouncer")
        version = subprocess.check_output([pgbouncer, "--version"], text=True).splitlines()[0]

        with open(os.path.join(data, "postmaster.pid")) as f:
            postmaster = int(f.readline())
        targets = [("ddlgate", gw_port, gw.pid), ("direct", pg_port, None), ("pgbouncer", bouncer_port, bouncer.pid)]
        if cand:
            wait_port(cand_port, "candidate ddlgate")
            targets.append(("candidate", cand_port, cand.pid))
        workloads = [(m, c) for m in ("simple", "extended", "prepared") for c in (8, 32)] + [("prepared", 1)]
        if args.only:
            wanted = [(m, int(c)) for m, c in (w.split(":") for w in args.only.split(","))]
            workloads = [w for w in wanted if w in workloads] or sys.exit(f"--only: no known workload in {args.only}")
        results = {}  # (workload, target) -> list of (tps, cpu_us_per_txn, latency_ms)
        for r in range(args.rounds):
            for (mode, clients) in workloads:
                for name, port, pid in targets:
                    before = cpu_seconds(pid) if pid else 0.0
                    split_before = cpu_split(pid) if pid else (0.0, 0.0)
                    switches_before = context_switches(pid) if pid else (0, 0)
                    (server_before, faults_before), bench_before = server_usage(postmaster), children_cpu_seconds()
                    tps, txns, lat = run_pgbench(pgbench, port, "bench", mode, clients, args.seconds)
                    cpu = (cpu_seconds(pid) - before) * 1e6 / txns if pid else None
                    split = tuple((a - b) * 1e6 / txns for a, b in zip(cpu_split(pid), split_before)) if pid else None
                    switches = tuple((a - b) / txns for a, b in zip(context_switches(pid), switches_before)) if pid else None
                    # Backends of closed sessions exit (and are reaped) shortly after pgbench.
                    time.sleep(0.3)
                    server_after, faults_after = server_usage(postmaster)
                    server = (server_after - server_before) * 1e6 / txns
                    client = (children_cpu_seconds() - bench_before) * 1e6 / txns
                    faults = (faults_after - faults_before) / txns
                    results.setdefault((mode, clients), {}).setdefault(name, []).append(
                        (tps, cpu, lat, server, client, switches, split, faults))
                    print(f"round {r + 1} {mode:8} c={clients:<2} {name:9} tps={tps:9.0f} lat={lat:.3f}ms"
                          + (f" cpu/txn={cpu:.1f}us" if cpu is not None else ""), file=sys.stderr, flush=True)

        print(f"\nselect-only (pgbench -S), {args.rounds} interleaved rounds x {args.seconds}s, scale {args.scale}, "
              f"{os.cpu_count()} cores; {version}; medians\n")
        print("| workload | direct TPS | ddlgate TPS | ddlgate / direct | PgBouncer TPS | PgBouncer / direct "
              "| ddlgate CPU µs/txn | PgBouncer CPU µs/txn |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for (mode, clients), by in results.items():
            med = {n: statistics.median(x[0] for x in v) for n, v in by.items()}
            cpu = {n: statistics.median(x[1] for x in v) for n, v in by.items() if v[0][1] is not None}
            lat = {n: statistics.median(x[2] for x in v) for n, v in by.items()}
            label = f"{mode}, {clients} clients" if clients > 1 else f"{mode}, 1 client (latency ms: direct {lat['direct']:.3f}, ddlgate {lat['ddlgate']:.3f}, PgBouncer {lat['pgbouncer']:.3f})"
            print(f"| {label} | {med['direct']:.0f} | {med['ddlgate']:.0f} | {med['ddlgate'] / med['direct']:.2f} | "
                  f"{med['pgbouncer']:.0f} | {med['pgbouncer'] / med['direct']:.2f} | {cpu['ddlgate']:.1f} | {cpu['pgbouncer']:.1f} |")
        print("\nCPU per transaction of the whole pipeline (µs, medians): pgbench + PostgreSQL "
              "(postmaster, backends, reaped backends) + the proxy\n")
        names = ["direct", "ddlgate", "pgbouncer"] + (["candidate"] if cand else [])
        titles = {"direct": "direct", "ddlgate": "ddlgate", "pgbouncer": "PgBouncer", "candidate": "candidate"}
        print(f"| workload | {' | '.join(titles[n] for n in names)} | PostgreSQL alone: "
              f"{' / '.join(titles[n] for n in names)} | PostgreSQL minor page faults per txn: "
              f"{' / '.join(titles[n] for n in names)} |")
        print("|---|" + "---:|" * (len(names) + 2))
        for (mode, clients), by in results.items():
            total = {n: statistics.median(x[3] + x[4] + (x[1] or 0.0) for x in v) for n, v in by.items()}
            server = {n: statistics.median(x[3] for x in v) for n, v in by.items()}
            faults = {n: statistics.median(x[7] for x in v) for n, v in by.items()}
            print(f"| {mode}, {clients} client{'s' if clients > 1 else ''} | "
                  f"{' | '.join(f'{total[n]:.1f}' for n in names)} | {' / '.join(f'{server[n]:.1f}' for n in names)} | "
                  f"{' / '.join(f'{faults[n]:.2f}' for n in names)} |")
        print("\nThe proxy's CPU per transaction split into user / system time (µs, medians), and in how many "
              "rounds ddlgate did better than PgBouncer in the same round (higher TPS ratio to direct; less CPU)\n")
        print("| workload | ddlgate user / system | PgBouncer user / system | rounds ddlgate ahead on TPS | "
              "rounds ddlgate lower on CPU |")
        print("|---|---:|---:|---:|---:|")
        for (mode, clients), by in results.items():
            us = {n: tuple(statistics.median(x[6][i] for x in v) for i in (0, 1)) for n, v in by.items() if v[0][6]}
            rounds = list(zip(by["ddlgate"], by["direct"], by["pgbouncer"]))
            ahead = sum(g[0] / d[0] > b[0] / d[0] for g, d, b in rounds)
            lower = sum(g[1] < b[1] for g, d, b in rounds)
            print(f"| {mode}, {clients} client{'s' if clients > 1 else ''} | {us['ddlgate'][0]:.2f} / {us['ddlgate'][1]:.2f} | "
                  f"{us['pgbouncer'][0]:.2f} / {us['pgbouncer'][1]:.2f} | {ahead} of {len(rounds)} | {lower} of {len(rounds)} |")
        print("\nThe proxy's context switches per transaction (medians): voluntary (it had nothing to do and "
              "slept) / involuntary (preempted)\n")
        print("| workload | ddlgate | PgBouncer |")
        print("|---|---:|---:|")
        for (mode, clients), by in results.items():
            sw = {n: tuple(statistics.median(x[5][i] for x in v) for i in (0, 1)) for n, v in by.items() if v[0][5]}
            print(f"| {mode}, {clients} client{'s' if clients > 1 else ''} | {sw['ddlgate'][0]:.3f} / {sw['ddlgate'][1]:.3f} | "
                  f"{sw['pgbouncer'][0]:.3f} / {sw['pgbouncer'][1]:.3f} |")
        if cand:
            print("\ncandidate build vs ddlgate (same rounds): TPS ratio to direct and proxy CPU µs/txn, medians\n")
            print("| workload | ddlgate / direct | candidate / direct | ddlgate CPU | candidate CPU |")
            print("|---|---:|---:|---:|---:|")
            for (mode, clients), by in results.items():
                med = {n: statistics.median(x[0] for x in v) for n, v in by.items()}
                cpu = {n: statistics.median(x[1] for x in v) for n, v in by.items() if v[0][1] is not None}
                print(f"| {mode}, {clients} | {med['ddlgate'] / med['direct']:.2f} | {med['candidate'] / med['direct']:.2f} | "
                      f"{cpu['ddlgate']:.1f} | {cpu['candidate']:.1f} |")
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        subprocess.run([os.path.join(bin_dir(), "pg_ctl"), "-D", os.path.join(work, "data"), "-m", "immediate", "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=as_postgres())
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
