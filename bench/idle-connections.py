#!/usr/bin/env python3
"""Memory per idle client connection, side by side: opens N connections through each target
(completing the start-up with trust authentication, then idling), and reads the target
process's RSS (VmRSS in /proc/PID/status) before and after.

    bench/idle-connections.py --n 1000 --target ddlgate=127.0.0.1:6432:PID[:tls] \
                              --target pgbouncer=127.0.0.1:6433:PID --user postgres --db postgres

Prints, per target: baseline RSS (after 20 sessions opened and closed), RSS with N/2 and N idle
sessions, and KiB per connection from the baseline and from N/2 to N (the second leaves out
what grows once). The server behind must accept N more connections (max_connections).
"""

import argparse
import socket
import ssl
import struct
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def startup(host, port, user, db, tls=False):
    s = socket.create_connection((host, port))
    if tls:  # SSLRequest, then TLS (the bench checks memory, not certificates)
        s.sendall(struct.pack("!II", 8, 80877103))
        if s.recv(1) != b"S":
            raise RuntimeError("the target refused TLS")
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s = ctx.wrap_socket(s)
    params = b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in
                      [("user", user), ("database", db), ("application_name", "idle-bench")]) + b"\0"
    body = struct.pack("!I", 196608) + params
    s.sendall(struct.pack("!I", len(body) + 4) + body)
    buf = b""
    while True:  # read until ReadyForQuery ('Z')
        chunk = s.recv(65536)
        if not chunk:
            raise RuntimeError("closed during start-up")
        buf += chunk
        while len(buf) >= 5:
            tag, length = buf[0:1], struct.unpack("!I", buf[1:5])[0]
            if len(buf) < 1 + length:
                break
            if tag == b"E":
                raise RuntimeError(buf[5:1 + length].decode(errors="replace"))
            if tag == b"R" and struct.unpack("!I", buf[5:9])[0] != 0:
                raise RuntimeError("the bench needs trust authentication")
            if tag == b"Z":
                return s
            buf = buf[1 + length:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--target", action="append", required=True,
                    help="NAME=HOST:PORT:PID, or NAME=HOST:PORT:PID:tls to connect with TLS")
    ap.add_argument("--user", default="postgres")
    ap.add_argument("--db", default="postgres")
    a = ap.parse_args()
    print(f"| target | baseline RSS | RSS with {a.n // 2} idle | RSS with {a.n} idle "
          f"| KiB per connection (0 to {a.n}) | KiB per connection ({a.n // 2} to {a.n}) |")
    print("|---|---|---|---|---|---|")
    for t in a.target:
        name, rest = t.split("=", 1)
        host, port, pid, *mode = rest.split(":")
        tls = mode == ["tls"]
        name = f"{name} (TLS)" if tls else name
        # Warm-up: a few sessions opened and closed, so that what the process allocates once
        # (pools, lazily built state) is in the baseline.
        for s in [startup(host, int(port), a.user, a.db, tls) for _ in range(20)]:
            s.close()
        time.sleep(2)
        before = rss_kib(int(pid))
        half = a.n // 2
        socks = [startup(host, int(port), a.user, a.db, tls) for _ in range(half)]
        time.sleep(2)
        middle = rss_kib(int(pid))
        socks += [startup(host, int(port), a.user, a.db, tls) for _ in range(a.n - half)]
        time.sleep(2)
        after = rss_kib(int(pid))
        print(f"| {name} | {before} KiB | {middle} KiB | {after} KiB "
              f"| {(after - before) / a.n:.1f} | {(after - middle) / (a.n - half):.1f} |")
        for s in socks:
            s.close()
        time.sleep(2)


if __name__ == "__main__":
    main()
