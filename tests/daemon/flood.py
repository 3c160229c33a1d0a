#!/usr/bin/env python3
"""flood.py - the hash-queue flood of issue 9 and a normal user's logins
under it, for tests/daemon/queue_fairness.sh and bench/flood.sh.

usage: flood.py SOCKDIR COMMAND [options]

Commands (output: key=value lines):

  hash   USER PASS [-n N]
         N sequential logins (auth socket, PLAIN) of a user: the time of one
         hash as the client sees it.  hash_ms=MEDIAN, hash_min_ms=, ok=
  flood  USER PASS [--conns C] [--inflight K] [--seconds S] [--warmup W]
               [--logins N] [--rip ADDR] [--mux-only | --auth-only]
         C auth connections (default 3) keep K wrong-password PLAIN
         requests each in flight (default 128), each answer replaced by a
         new request at once, in a child process; after W seconds
         (default 1) the normal user logs in N times (default 20) on the
         mux socket and N times on the auth socket (one at a time,
         alternating, rip=ADDR on the auth socket if given), for at most S
         seconds (default 20).  Prints per socket: SOCK_n, SOCK_ok,
         SOCK_no, SOCK_temp, SOCK_err, SOCK_p50_ms, SOCK_p99_ms, SOCK_max_ms;
         and of the flood: flood_sent, flood_fail (a plain FAIL: the wrong
         password), flood_temp (temp_fail), flood_ok (must be 0), flood_ms
         (how long it ran); loaded_hash_ms: one hash as the --workers
         (default 2) managed under the flood (they are never idle then).
  burst  USER PASS [-k K] [--rip ADDR]
         one auth connection sends K PLAIN requests at once and reads all
         answers: burst_ok, burst_fail, burst_temp, burst_temp_max_ms (the
         latest temp_fail after the write), burst_last_ms (the last answer).
  muxburst USER PASS [-k K]
         K mux connections from this process, the requests written at
         once: mux_ok, mux_no, mux_empty (the temporary failure),
         mux_other, mux_empty_max_ms.
"""
import argparse
import base64
import os
import selectors
import signal
import socket
import statistics
import struct
import sys
import time


def now_ms():
    return time.monotonic() * 1000.0


def plain(user, password):
    return base64.b64encode(b"\0" + user.encode() + b"\0" +
                            password.encode()).decode()


class Auth:
    """One auth-socket connection (Dovecot auth-client protocol)."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.s.sendall(b"VERSION\t1\t2\nCPID\t%d\n" % os.getpid())
        self.buf = b""
        while True:
            line = self.line()
            if line is None:
                raise SystemExit("handshake: EOF")
            if line == b"DONE":
                break

    def line(self, timeout=30.0):
        while b"\n" not in self.buf:
            self.s.settimeout(timeout)
            data = self.s.recv(65536)
            if not data:
                return None
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def lines_nonblock(self):
        """every whole line now readable (None at EOF)"""
        try:
            self.s.setblocking(False)
            data = self.s.recv(262144)
        except BlockingIOError:
            data = b""
        finally:
            self.s.setblocking(True)
        if data == b"" and not self.buf:
            pass
        self.buf += data
        out = []
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            out.append(line)
        return out

    @staticmethod
    def auth_line(rid, user, password, rip=None):
        params = "service=smtp\tnologin"
        if rip:
            params += "\trip=" + rip
        return ("AUTH\t%d\tPLAIN\t%s\tresp=%s\n" %
                (rid, params, plain(user, password))).encode()


def classify(line):
    """('ok'|'fail'|'temp'|'other', id)"""
    f = line.split(b"\t")
    rid = int(f[1]) if len(f) > 1 and f[1].isdigit() else -1
    if f[0] == b"OK":
        return "ok", rid
    if f[0] == b"FAIL":
        return ("temp" if b"code=temp_fail" in f[2:] else "fail"), rid
    return "other", rid


def auth_login(path, conn, rid, user, password, rip):
    """one login on an open auth connection: (result, ms)"""
    t0 = now_ms()
    conn.s.sendall(Auth.auth_line(rid, user, password, rip))
    while True:
        line = conn.line(timeout=30.0)
        if line is None:
            return "err", now_ms() - t0
        kind, got = classify(line)
        if got == rid:
            return kind, now_ms() - t0


def mux_field(s):
    b = s.encode()
    return struct.pack(">H", len(b)) + b


def mux_request(user, password, realm=""):
    return (mux_field(user) + mux_field(password) + mux_field("smtp") +
            mux_field(realm))


def mux_read_reply(s, timeout=30.0):
    s.settimeout(timeout)
    data = b""
    try:
        while len(data) < 2:
            chunk = s.recv(2 - len(data))
            if not chunk:
                return None
            data += chunk
        n = struct.unpack(">H", data)[0]
        text = b""
        while len(text) < n:
            chunk = s.recv(n - len(text))
            if not chunk:
                return None
            text += chunk
        return text
    except OSError:
        return None


def mux_login(path, user, password):
    t0 = now_ms()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        s.sendall(mux_request(user, password))
        text = mux_read_reply(s)
    except OSError:
        text = None
    finally:
        s.close()
    ms = now_ms() - t0
    if text is None:
        return "err", ms
    if text == b"":
        return "temp", ms
    if text.startswith(b"OK"):
        return "ok", ms
    if text.startswith(b"NO"):
        return "no", ms
    return "err", ms


def pct(values, p):
    if not values:
        return -1
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def flood_child(path, conns, inflight, user, password, rip, wfd):
    """keep conns x inflight wrong-password requests in flight until
    SIGTERM; then write the counts to wfd"""
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    t0 = time.monotonic()
    sel = selectors.DefaultSelector()
    counts = {"sent": 0, "fail": 0, "temp": 0, "ok": 0, "other": 0}
    cs = []
    for i in range(conns):
        c = Auth(path)
        c.next_id = 1
        c.s.setblocking(False)
        cs.append(c)
        sel.register(c.s, selectors.EVENT_READ, c)

    def send(c, n):
        out = b"".join(Auth.auth_line(c.next_id + k, user, password, rip)
                       for k in range(n))
        c.next_id += n
        counts["sent"] += n
        c.s.setblocking(True)
        c.s.sendall(out)
        c.s.setblocking(False)

    for c in cs:
        send(c, inflight)
    while not stop:
        for key, _ in sel.select(timeout=0.2):
            c = key.data
            try:
                data = c.s.recv(262144)
            except BlockingIOError:
                continue
            if not data:
                stop.append(1)
                break
            c.buf += data
            n = 0
            while b"\n" in c.buf:
                line, c.buf = c.buf.split(b"\n", 1)
                kind, _ = classify(line)
                counts[kind if kind in counts else "other"] += 1
                n += 1
            if n:
                send(c, n)
    counts["ms"] = int((time.monotonic() - t0) * 1000)
    os.write(wfd, (" ".join("%s=%d" % kv for kv in counts.items()) +
                   "\n").encode())
    os._exit(0)


def cmd_hash(a):
    conn = Auth(os.path.join(a.sockdir, "auth"))
    times, ok = [], 0
    for i in range(a.n):
        kind, ms = auth_login(None, conn, i + 1, a.user, a.password, None)
        ok += kind == "ok"
        times.append(ms)
    print("hash_ms=%d" % round(statistics.median(times)))
    print("hash_min_ms=%d" % round(min(times)))
    print("ok=%d" % ok)


def cmd_flood(a):
    auth_path = os.path.join(a.sockdir, "auth")
    mux_path = os.path.join(a.sockdir, "mux")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        flood_child(auth_path, a.conns, a.inflight, a.flood_user,
                    a.flood_password, a.flood_rip, w)
    os.close(w)
    time.sleep(a.warmup)
    res = {"mux": [], "auth": []}
    conn = Auth(auth_path)
    deadline = time.monotonic() + a.seconds
    rid = 0
    for i in range(a.logins):
        if time.monotonic() > deadline:
            break
        if not a.auth_only:
            res["mux"].append(mux_login(mux_path, a.user, a.password))
        if not a.mux_only:
            rid += 1
            res["auth"].append(auth_login(auth_path, conn, rid, a.user,
                                          a.password, a.rip))
    os.kill(pid, signal.SIGTERM)
    flood = os.read(r, 4096).decode().split()
    os.waitpid(pid, 0)
    for sock, rs in res.items():
        if (sock == "mux" and a.auth_only) or (sock == "auth" and a.mux_only):
            continue
        ms = [m for _, m in rs]
        print("%s_n=%d" % (sock, len(rs)))
        for kind in ("ok", "no", "temp", "err", "fail"):
            print("%s_%s=%d" % (sock, kind, sum(1 for k, _ in rs if k == kind)))
        print("%s_p50_ms=%d" % (sock, round(pct(ms, 50))))
        print("%s_p99_ms=%d" % (sock, round(pct(ms, 99))))
        print("%s_max_ms=%d" % (sock, round(max(ms) if ms else -1)))
    for kv in flood:
        print("flood_" + kv)
    # The hash time as the workers managed it during the flood: they were
    # never idle (the flood keeps a queue), so each did ms / hashes.
    fl = dict(kv.split("=") for kv in flood)
    hashes = int(fl["fail"]) + sum(1 for rs in res.values()
                                   for k, _ in rs if k in ("ok", "no", "fail"))
    if hashes > 0:
        print("loaded_hash_ms=%d" % round(a.workers * int(fl["ms"]) / hashes))


def cmd_burst(a):
    conn = Auth(os.path.join(a.sockdir, "auth"))
    out = b"".join(Auth.auth_line(i + 1, a.user, a.password, a.rip)
                   for i in range(a.k))
    t0 = now_ms()
    conn.s.sendall(out)
    counts = {"ok": 0, "fail": 0, "temp": 0, "other": 0}
    temp_max = last = 0
    for _ in range(a.k):
        line = conn.line(timeout=30.0)
        if line is None:
            break
        kind, _ = classify(line)
        counts[kind] += 1
        last = now_ms() - t0
        if kind == "temp":
            temp_max = last
    for k, v in counts.items():
        print("burst_%s=%d" % (k, v))
    print("burst_temp_max_ms=%d" % round(temp_max))
    print("burst_last_ms=%d" % round(last))


def cmd_muxburst(a):
    path = os.path.join(a.sockdir, "mux")
    socks = []
    for _ in range(a.k):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        socks.append(s)
    req = mux_request(a.user, a.password)
    t0 = now_ms()
    for s in socks:
        s.sendall(req)
    counts = {"ok": 0, "no": 0, "empty": 0, "other": 0}
    empty_max = 0
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    left = len(socks)
    while left:
        ev = sel.select(timeout=30)
        if not ev:
            break
        for key, _ in ev:
            s = key.fileobj
            text = mux_read_reply(s)
            sel.unregister(s)
            s.close()
            left -= 1
            if text is None:
                counts["other"] += 1
            elif text == b"":
                counts["empty"] += 1
                empty_max = now_ms() - t0
            elif text.startswith(b"OK"):
                counts["ok"] += 1
            elif text.startswith(b"NO"):
                counts["no"] += 1
            else:
                counts["other"] += 1
    for k, v in counts.items():
        print("mux_%s=%d" % (k, v))
    print("mux_empty_max_ms=%d" % round(empty_max))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("sockdir")
    sub = p.add_subparsers(dest="cmd", required=True)
    h = sub.add_parser("hash")
    h.add_argument("user")
    h.add_argument("password")
    h.add_argument("-n", type=int, default=5)
    f = sub.add_parser("flood")
    f.add_argument("user")
    f.add_argument("password")
    f.add_argument("--flood-user", default="flood@example.org")
    f.add_argument("--flood-password", default="wrong-password")
    f.add_argument("--flood-rip", default=None)
    f.add_argument("--conns", type=int, default=3)
    f.add_argument("--inflight", type=int, default=128)
    f.add_argument("--seconds", type=float, default=20)
    f.add_argument("--warmup", type=float, default=1)
    f.add_argument("--logins", type=int, default=20)
    f.add_argument("--rip", default=None)
    f.add_argument("--workers", type=int, default=2)
    f.add_argument("--mux-only", action="store_true")
    f.add_argument("--auth-only", action="store_true")
    b = sub.add_parser("burst")
    b.add_argument("user")
    b.add_argument("password")
    b.add_argument("-k", type=int, default=128)
    b.add_argument("--rip", default=None)
    m = sub.add_parser("muxburst")
    m.add_argument("user")
    m.add_argument("password")
    m.add_argument("-k", type=int, default=40)
    a = p.parse_args()
    {"hash": cmd_hash, "flood": cmd_flood, "burst": cmd_burst,
     "muxburst": cmd_muxburst}[a.cmd](a)


if __name__ == "__main__":
    main()
