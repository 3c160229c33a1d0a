#!/usr/bin/env python3
"""backlog.py MODE SOCKET PID - the auth socket's reply backlog (see
authd/conn_auth.c OUT_BACKLOG_MAX, daemon/conn.c) against a client that sends bad lines
(CONT for an unknown id: one FAIL each) and reads badly.  Exit 0 when
authd's memory (VmRSS of PID) stays bounded and no reply is lost.

  noread    send for up to 20 s without reading: authd must stop reading
            (the sends block) with its RSS up by at most 16 MB; then every
            reply arrives
  slowread  keep ~100 kB of replies unread, then read each round as many
            as asked for, for 6 s: every round completes, RSS up by at
            most 4 MB
"""
import select, socket, sys, time


def noread(s, rss_kb):
    before = rss_kb()
    line = b"CONT\t4294967295\tx\n"
    chunk = line * 1000
    s.settimeout(1.0)
    sent, t0 = 0, time.time()
    while time.time() - t0 < 20 and sent < 64 * 1024 * 1024:
        try:
            sent += s.send(chunk)
        except socket.timeout:
            break
    grown = rss_kb() - before
    if sent % len(line):                      # finish the partial line
        s.settimeout(None)
        s.sendall(line[sent % len(line):])
        sent += len(line) - sent % len(line)
    want = sent // len(line)
    s.settimeout(10)
    got, data = 0, b""
    want_reply = b"FAIL\t4294967295\treason=unknown request id\n"
    while got < want:
        d = s.recv(1 << 16)
        if not d:
            break
        data += d
        n = data.count(b"\n")
        got += n
        bad = [l for l in data.split(b"\n")[:n] if l + b"\n" != want_reply]
        if bad:
            print(f"# unexpected reply {bad[0]!r}"); return 1
        data = data[data.rfind(b"\n") + 1:]
    print(f"# sent {sent} bytes ({want} lines) before authd stopped reading; "
          f"RSS grew {grown} kB; {got} replies")
    if sent >= 64 * 1024 * 1024:
        print("# authd never stopped reading"); return 1
    if grown > 16 * 1024:
        print("# RSS grew too much"); return 1
    if got != want:
        print("# replies lost"); return 1
    return 0


def slowread(s, rss_kb):
    line = b"CONT\t4294967295\tx\n"
    reply = len(b"FAIL\t4294967295\treason=unknown request id\n")
    s.setblocking(False)
    def exchange(nsend, nread, deadline):
        """send nsend lines and read nread replies, both as the socket allows"""
        out, want = line * nsend, nread * reply
        while (out or want) and time.time() < deadline:
            r, w, _ = select.select([s] if want else [], [s] if out else [], [], 0.5)
            if w:
                try:
                    out = out[s.send(out):]
                except BlockingIOError:
                    pass
            if r:
                d = s.recv(min(want, 1 << 16))
                if not d:
                    print("# authd closed the connection"); sys.exit(1)
                want -= len(d)
        return not out and not want
    # ~100 kB of replies left unread: what the socket holds and authd's
    # backlog (48 KiB) must take it, since this client sends a whole round
    # before it reads (with ~420 kB it waited for authd, which waited for
    # it, once the backlog stopped being 256 KiB).
    if not exchange(2200, 0, time.time() + 5):
        print("# could not send the first lines"); return 1
    time.sleep(0.3)
    before = rss_kb()
    t0, rounds = time.time(), 0
    while time.time() - t0 < 6:
        if not exchange(3300, 3300, time.time() + 5):   # ~150 kB a round
            print("# a round did not complete"); return 1
        time.sleep(0.02)
        rounds += 1
    grown = rss_kb() - before
    print(f"# {rounds} rounds of 3300 replies; RSS grew {grown} kB")
    return 1 if grown > 4096 else 0


def main(argv):
    mode, path, pid = argv[1], argv[2], argv[3]
    # Under AddressSanitizer the RSS is mostly its quarantine of freed
    # memory (a 48 KiB backlog that drains is freed and allocated again):
    # the bounds hold in the normal build; here every reply must still come.
    asan = b"__asan_init" in open(f"/proc/{pid}/exe", "rb").read()

    def rss_kb():
        if asan:
            return 0
        for l in open(f"/proc/{pid}/status"):
            if l.startswith("VmRSS:"):
                return int(l.split()[1])
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    buf = b""
    while b"DONE\n" not in buf:
        buf += s.recv(4096)
    return {"noread": noread, "slowread": slowread}[mode](s, rss_kb)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
