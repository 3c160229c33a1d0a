#!/usr/bin/env python3
"""smtpd_raw - a raw-socket SMTP client for the protocol-abuse tests.

Sends exactly the bytes it is given, each `send` in ONE write (so a
server sees pipelined or injected commands in one segment), and prints
every reply line it reads so that the calling shell can compare them
exactly.

usage: smtpd_raw.py [--tls] [--timeout SECONDS] HOST PORT ACTION...

  --tls          implicit TLS (port 465 style) before anything else
  --timeout S    how long a read waits for a reply (default 10 s)

Actions, run in order:
  send:TEXT      TEXT with backslash escapes (\\r \\n \\t \\xHH \\\\),
                 in a single sendall
  sendfile:PATH  the bytes of PATH, in a single sendall
  read           one complete reply (a multi-line reply is one)
  read:N         N replies
  starttls       TLS handshake on the connection (no certificate check:
                 the test's self-signed certificate)
  idle:S         read for S seconds: print whatever comes ("EOF" if the
                 server closes); nothing printed if nothing came
  eof            wait (up to the timeout) for the server to close:
                 prints every line still coming, then "EOF", or
                 "TIMEOUT" if the connection stays open
  sleep:S        wait S seconds
  shutwr         half-close (the server reads EOF)
  close          close without QUIT (the server sees the client vanish)

Output: each reply line without its CRLF; a reply line that did not end
in CRLF is printed with "[no CRLF]"; "EOF" when the server closed while
a reply was awaited, "TIMEOUT" when none came in time.  A line that is
not a well-formed reply ends the reply it is in.  Exit status 0 unless
the arguments were wrong or the connection could not be made (2).
"""
import socket
import ssl
import sys
import time


def unescape(s):
    out = bytearray()
    i = 0
    b = s.encode("utf-8", "surrogateescape")
    while i < len(b):
        c = b[i]
        if c == 0x5C and i + 1 < len(b):  # backslash
            n = chr(b[i + 1])
            if n == "r":
                out.append(13)
            elif n == "n":
                out.append(10)
            elif n == "t":
                out.append(9)
            elif n == "0":
                out.append(0)
            elif n == "\\":
                out.append(0x5C)
            elif n == "x":
                out.append(int(b[i + 2:i + 4], 16))
                i += 2
            else:
                raise SystemExit("bad escape \\" + n)
            i += 2
            continue
        out.append(c)
        i += 1
    return bytes(out)


class Client:
    def __init__(self, host, port, timeout, tls):
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout)
        self.buf = b""
        self.eof = False
        if tls:
            self.starttls(host)

    def starttls(self, host="localhost"):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        # What the server sent before the handshake and we did not read
        # would be lost: the tests read every reply first.
        if self.buf:
            out("UNREAD-BEFORE-TLS " + self.buf.decode("latin-1"))
            self.buf = b""
        self.sock.settimeout(self.timeout)
        self.sock = ctx.wrap_socket(self.sock, server_hostname=host)

    def fill(self, deadline):
        """Read more bytes; False on EOF or when the deadline passed."""
        left = deadline - time.monotonic()
        if left <= 0 or self.eof:
            return False
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except (socket.timeout, TimeoutError):
            return False
        except (ConnectionResetError, ssl.SSLError, OSError) as e:
            out("RESET " + type(e).__name__)
            self.eof = True
            return False
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def line(self, deadline):
        """One line (bytes without CRLF, flag "had CRLF"), or None."""
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                ln, self.buf = self.buf[:i + 1], self.buf[i + 1:]
                if ln.endswith(b"\r\n"):
                    return ln[:-2], True
                return ln[:-1], False
            if not self.fill(deadline):
                if self.buf:
                    ln, self.buf = self.buf, b""
                    return ln, False
                return None

    def reply(self):
        deadline = time.monotonic() + self.timeout
        while True:
            r = self.line(deadline)
            if r is None:
                out("EOF" if self.eof else "TIMEOUT")
                return
            ln, crlf = r
            text = ln.decode("latin-1")
            out(text if crlf else text + " [no CRLF]")
            # "250-..." continues; anything else ends the reply.
            if not (len(ln) > 3 and ln[3:4] == b"-" and ln[:3].isdigit()):
                return

    def drain(self, seconds, want_eof):
        deadline = time.monotonic() + seconds
        while True:
            r = self.line(deadline)
            if r is None:
                if self.eof:
                    out("EOF")
                elif want_eof:
                    out("TIMEOUT")
                return
            ln, crlf = r
            text = ln.decode("latin-1")
            out(text if crlf else text + " [no CRLF]")


def out(s):
    sys.stdout.write(s + "\n")
    sys.stdout.flush()


def main(argv):
    tls = False
    timeout = 10.0
    while argv and argv[0].startswith("--"):
        if argv[0] == "--tls":
            tls = True
            argv = argv[1:]
        elif argv[0] == "--timeout":
            timeout = float(argv[1])
            argv = argv[2:]
        else:
            raise SystemExit(__doc__)
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    host, port = argv[0], int(argv[1])
    try:
        c = Client(host, port, timeout, tls)
    except OSError as e:
        out("CONNECT-FAILED " + str(e))
        return 2
    for a in argv[2:]:
        verb, _, arg = a.partition(":")
        try:
            if verb == "send":
                c.sock.sendall(unescape(arg))
            elif verb == "sendfile":
                with open(arg, "rb") as f:
                    c.sock.sendall(f.read())
            elif verb == "read":
                for _ in range(int(arg or 1)):
                    c.reply()
            elif verb == "starttls":
                try:
                    c.starttls()
                except (ssl.SSLError, OSError) as e:
                    out("TLS-FAILED " + type(e).__name__)
                    return 0
            elif verb == "idle":
                c.drain(float(arg), False)
            elif verb == "eof":
                c.drain(c.timeout, True)
            elif verb == "sleep":
                time.sleep(float(arg))
            elif verb == "shutwr":
                c.sock.shutdown(socket.SHUT_WR)
            elif verb == "close":
                c.sock.close()
                return 0
            else:
                raise SystemExit("unknown action " + a)
        except (BrokenPipeError, ConnectionResetError) as e:
            out("SEND-FAILED " + type(e).__name__)
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
