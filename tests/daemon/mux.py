#!/usr/bin/env python3
"""mux.py - a raw saslauthd ("mux") protocol client for the daemon tests.

usage: mux.py SOCKET ACTION...

Actions run in order on one connection.  Bytes are buffered and written in
one write() before any action that waits (so "f:a f:b f:c f:d read" is one
request in one write, as libsasl2 sends it):

  probe          connect, close, exit 0 (used to wait for the daemon)
  f:TEXT         a field: 2-byte big-endian length, then TEXT (UTF-8)
  F:N[:C]        a field of N bytes, all C (default "x")
  h:N            only a 2-byte length header N
  b:N[:C]        N raw bytes, all C (default "x")
  drip:SEC       from now on, write byte by byte, SEC seconds apart
  sleep:SEC      flush, then sleep
  shutwr         flush, then shutdown(SHUT_WR)
  read[:SEC]     flush, read one reply (default timeout 5 s); prints
                 reply=[TEXT] and reply_ms=N (since the last write), or
                 reply=<eof> / reply=<timeout> / reply=<malformed>
  eof[:SEC]      wait until the server closes (default 5 s); prints
                 eof_ms=N (since the last write or reply) or eof=<timeout>,
                 and extra=N if bytes came before the close
  send           flush now

Write errors (the server closed) print send_error=NAME and are not fatal.

mux.py SOCKET --serve: read exchanges from standard input, each a list of
NUL-terminated actions ended by an empty one; run each on a new
connection and print its output followed by a line "." (one Python start
for a whole test script).
"""
import errno
import os
import select
import socket
import sys
import time


def now():
    return time.monotonic()


class Conn:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.buf = b""
        self.drip = 0.0
        self.mark = now()
        self.send_failed = False

    def flush(self):
        if not self.buf:
            return
        data, self.buf = self.buf, b""
        try:
            if self.drip > 0:
                for i in range(len(data)):
                    self.s.sendall(data[i:i + 1])
                    if i + 1 < len(data):
                        time.sleep(self.drip)
            else:
                self.s.sendall(data)
        except OSError as e:
            if not self.send_failed:
                print("send_error=%s" % errno.errorcode.get(e.errno, e.errno))
            self.send_failed = True
        self.mark = now()

    def recv_some(self, deadline):
        """bytes (b"" at EOF), or None on timeout"""
        left = deadline - now()
        if left <= 0:
            return None
        r, _, _ = select.select([self.s], [], [], left)
        if not r:
            return None
        try:
            return self.s.recv(65536)
        except ConnectionResetError:
            return b""

    def read_reply(self, timeout):
        self.flush()
        deadline = now() + timeout
        got = b""
        while True:
            if len(got) >= 2:
                n = got[0] << 8 | got[1]
                if len(got) >= 2 + n:
                    break
            chunk = self.recv_some(deadline)
            if chunk is None:
                print("reply=<timeout>")
                return
            if chunk == b"":
                print("reply=<eof>" if not got else "reply=<short:%r>" % got)
                print("eof_ms=%d" % ((now() - self.mark) * 1000))
                return
            got += chunk
        n = got[0] << 8 | got[1]
        text = got[2:2 + n].decode("latin-1")
        print("reply=[%s]" % text.encode("unicode_escape").decode("ascii"))
        print("reply_ms=%d" % ((now() - self.mark) * 1000))
        self.leftover = got[2 + n:]
        self.mark = now()

    def wait_eof(self, timeout):
        self.flush()
        deadline = now() + timeout
        extra = len(getattr(self, "leftover", b""))
        while True:
            chunk = self.recv_some(deadline)
            if chunk is None:
                print("eof=<timeout>")
                break
            if chunk == b"":
                print("eof_ms=%d" % ((now() - self.mark) * 1000))
                break
            extra += len(chunk)
        if extra:
            print("extra=%d" % extra)


def field(data):
    if len(data) > 0xFFFF:
        raise SystemExit("field too long for the wire")
    return bytes([len(data) >> 8, len(data) & 0xFF]) + data


def serve(path):
    data = b""
    stdin = sys.stdin.buffer
    while True:
        acts = []
        while True:
            while b"\0" not in data:
                more = os.read(stdin.fileno(), 65536)
                if not more:
                    return 0
                data += more
            a, _, data = data.partition(b"\0")
            if a == b"":
                break
            acts.append(a.decode("utf-8", "surrogateescape"))
        try:
            rc = exchange(path, acts)
            if rc != 0:
                print("error=usage")
        except OSError as e:
            print("error=%s" % e)
        print(".", flush=True)


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    path = argv[1]
    if argv[2] == "probe":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(1)
        s.connect(path)
        s.close()
        return 0
    if argv[2] == "--serve":
        return serve(path)
    return exchange(path, argv[2:])


def exchange(path, acts):
    c = Conn(path)
    for act in acts:
        kind, _, arg = act.partition(":")
        if kind == "f":
            c.buf += field(arg.encode("utf-8"))
        elif kind == "F":
            n, _, ch = arg.partition(":")
            c.buf += field((ch or "x").encode() * int(n))
        elif kind == "h":
            n = int(arg)
            c.buf += bytes([n >> 8, n & 0xFF])
        elif kind == "b":
            n, _, ch = arg.partition(":")
            c.buf += (ch or "x").encode() * int(n)
        elif kind == "drip":
            c.drip = float(arg)
        elif kind == "sleep":
            c.flush()
            time.sleep(float(arg))
        elif kind == "shutwr":
            c.flush()
            c.s.shutdown(socket.SHUT_WR)
        elif kind == "read":
            c.read_reply(float(arg or 5))
        elif kind == "eof":
            c.wait_eof(float(arg or 5))
        elif kind == "send":
            c.flush()
        else:
            sys.stderr.write("mux.py: unknown action %r\n" % act)
            c.s.close()
            return 2
    c.flush()
    c.s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
