#!/usr/bin/env python3
"""memtest.py MODE SOCKET PID - authd's memory against many clients that
misbehave on the auth socket (authd/conn_auth.c, daemon/conn.c: the reply
backlog, the memory budget, the SCRAM nonce cap).  Prints "key=value"
lines; the calling script decides what is too much.

  noread N      N connections that each send bad lines (CONT for an unknown
                id: one FAIL each) and never read, until authd stops
                reading all of them; then they all close.
                rss0= before, rss_full= with the N connected, sent_kb= the
                bytes authd took, rss_after= 3 s after they left.
  scram N       one connection, N SCRAM-SHA-256 exchanges left open after
                client-first messages with 3,900-byte nonces.
                cont= exchanges that got a challenge, fail= refused ones,
                rss0= / rss_full= / grown_kb=.
  busy C N      C connections that each leave N SCRAM-SHA-256 exchanges
                open (250-character nonces), all at once; then a new
                connection logs in with PLAIN.  cont= challenges,
                busy= FAILs with code=temp_fail, fresh= OK or the line.
"""
import base64, os, select, socket, sys, time


def rss_kb(pid):
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmRSS:"):
            return int(l.split()[1])
    return -1


def connect(path):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    buf = b""
    s.settimeout(5)
    while b"DONE\n" not in buf:
        d = s.recv(4096)
        if not d:
            raise SystemExit("authd closed during the handshake")
        buf += d
    return s


def noread(path, pid, n):
    rss0 = rss_kb(pid)
    conns = [connect(path) for _ in range(n)]
    for s in conns:
        s.setblocking(False)
    chunk = b"CONT\t4294967295\tx\n" * 1000
    sent = [0] * n
    last_progress, t0 = time.time(), time.time()
    # Send on every socket until none took a byte for a second (authd
    # stopped reading them all), or 60 s.
    while time.time() - last_progress < 1.0 and time.time() - t0 < 60:
        _, w, _ = select.select([], conns, [], 0.2)
        for s in w:
            i = conns.index(s)
            try:
                k = s.send(chunk)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                continue
            if k > 0:
                sent[i] += k
                last_progress = time.time()
    time.sleep(0.3)
    rss_full = rss_kb(pid)
    for s in conns:
        s.close()
    time.sleep(3)
    print(f"rss0={rss0}")
    print(f"rss_full={rss_full}")
    print(f"sent_kb={sum(sent) // 1024}")
    print(f"rss_after={rss_kb(pid)}")
    return 0


def scram(path, pid, n):
    s = connect(path)
    s.sendall(b"VERSION\t1\t2\nCPID\t1\n")
    rss0 = rss_kb(pid)
    nonce = b"N" * 3900
    lines = []
    for i in range(1, n + 1):
        cf = b"n,,n=user" + str(i).encode() + b",r=" + nonce
        lines.append(b"AUTH\t%d\tSCRAM-SHA-256\tservice=smtp\tresp=%s\n" %
                     (i, base64.b64encode(cf)))
    out = b"".join(lines)
    cont = fail = 0
    buf = b""
    s.setblocking(False)
    deadline = time.time() + 10
    # Send while reading the answers: they would fill the socket first.
    while cont + fail < n and time.time() < deadline:
        r, w, _ = select.select([s], [s] if out else [], [], 0.5)
        if w:
            try:
                out = out[s.send(out):]
            except BlockingIOError:
                pass
        if not r:
            continue
        d = s.recv(1 << 16)
        if not d:
            break
        buf += d
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if line.startswith(b"CONT\t"):
                cont += 1
            elif line.startswith(b"FAIL\t"):
                fail += 1
    time.sleep(0.3)
    rss_full = rss_kb(pid)
    print(f"cont={cont}")
    print(f"fail={fail}")
    print(f"rss0={rss0}")
    print(f"rss_full={rss_full}")
    print(f"grown_kb={rss_full - rss0}")
    s.close()
    return 0


def busy(path, pid, nconn, n):
    conns = [connect(path) for _ in range(nconn)]
    nonce = b"N" * 250
    for k, s in enumerate(conns):
        lines = [b"VERSION\t1\t2\nCPID\t%d\n" % (k + 1)]
        for i in range(1, n + 1):
            cf = b"n,,n=user%d,r=%s" % (i, nonce)
            lines.append(b"AUTH\t%d\tSCRAM-SHA-256\tservice=smtp\tresp=%s\n" %
                         (i, base64.b64encode(cf)))
        s.sendall(b"".join(lines))
    cont = busy_n = 0
    for s in conns:
        s.settimeout(5)
        buf, got = b"", 0
        while got < n:
            try:
                d = s.recv(1 << 16)
            except socket.timeout:
                break
            if not d:
                break
            buf += d
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                got += 1
                if line.startswith(b"CONT\t"):
                    cont += 1
                elif b"code=temp_fail" in line:
                    busy_n += 1
    s = connect(path)
    s.sendall(b"VERSION\t1\t2\nCPID\t99\nAUTH\t1\tPLAIN\tservice=smtp\tresp=%s\n"
              % base64.b64encode(b"\0alice\0secret1"))
    s.settimeout(5)
    line = s.recv(4096).split(b"\n")[0].decode()
    print(f"cont={cont}")
    print(f"busy={busy_n}")
    print("fresh=%s" % ("OK" if line.startswith("OK\t1\t") else line))
    return 0


def main(argv):
    mode, path, pid, n = argv[1], argv[2], argv[3], int(argv[4])
    if mode == "busy":
        return busy(path, pid, n, int(argv[5]))
    return {"noread": noread, "scram": scram}[mode](path, pid, n)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
