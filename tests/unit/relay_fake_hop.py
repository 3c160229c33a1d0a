#!/usr/bin/env python3
"""relay_fake_hop - a misbehaving next hop for test_relay.c.

Usage: relay_fake_hop.py MODE [CERT KEY]

Listens on 127.0.0.1 (an ephemeral port, printed on stdout as the first
line) and serves connections one after the other until killed.  Modes:

  starttls        offers STARTTLS; answers it with "220 go" and, in the
                  same write, "250 injected" (CVE-2011-0411: a relay that
                  keeps that plaintext takes it for a reply inside TLS)
  starttls-broken offers STARTTLS; after the 220 sends plaintext and closes
  size            offers SIZE, 8BITMIME and PIPELINING; MAIL's reply echoes
                  the MAIL arguments
  lmtp            LMTP: after the dot one reply per accepted recipient,
                  chosen by the local part: ok* 250, temp* 452, perm* 552;
                  RCPT refuse* gets 550
  silent-mail     greets and answers EHLO, never answers MAIL
  silent          accepts and says nothing
  silent-ehlo     greets, never answers EHLO
  bare-lf         answers MAIL with "250 ok" and a bare LF
"""
import socket
import ssl
import sys
import time

mode = sys.argv[1]
cert = sys.argv[2] if len(sys.argv) > 2 else None
key = sys.argv[3] if len(sys.argv) > 3 else None


class Peer:
    """Line reader on a socket; nothing is read ahead of what is asked,
    so the socket can be wrapped in TLS between two lines."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def send(self, data):
        self.sock.sendall(data)


def ehlo_reply(tls):
    if mode == "size":
        return b"250-fake\r\n250-SIZE 1000000\r\n250-8BITMIME\r\n250 PIPELINING\r\n"
    if mode.startswith("starttls") and not tls:
        return b"250-fake\r\n250-8BITMIME\r\n250 STARTTLS\r\n"
    if mode == "lmtp":
        return b"250-fake\r\n250 PIPELINING\r\n"
    return b"250-fake.tls\r\n250 8BITMIME\r\n"


def serve(sock):
    p = Peer(sock)
    tls = False
    first_after_tls = False
    rcpts = []
    if mode == "silent":
        while p.line() is not None:
            pass
        return
    p.send(b"220 fake ESMTP\r\n")
    while True:
        line = p.line()
        if line is None:
            return
        verb = line[:4].upper()
        if first_after_tls:
            first_after_tls = False
            if verb not in (b"EHLO", b"LHLO"):
                p.send(b"500 5.5.1 expected EHLO first after STARTTLS\r\n")
                continue
        if verb in (b"EHLO", b"LHLO"):
            if mode == "silent-ehlo":
                while p.line() is not None:
                    pass
                return
            p.send(ehlo_reply(tls))
        elif line.upper() == b"STARTTLS":
            if mode == "starttls-broken":
                p.send(b"220 go\r\n")
                time.sleep(0.05)
                p.send(b"this is not TLS\r\n")
                return
            # One write: the injected reply arrives with the 220.
            p.send(b"220 go\r\n250 injected\r\n")
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            try:
                sock = ctx.wrap_socket(sock, server_side=True)
            except (ssl.SSLError, OSError):
                return
            p = Peer(sock)
            tls = True
            first_after_tls = True
        elif verb == b"MAIL":
            rcpts = []
            if mode == "silent-mail":
                while p.line() is not None:
                    pass
                return
            if mode == "bare-lf":
                p.send(b"250 ok\n")
                continue
            if mode == "size":
                p.send(b"250 2.1.0 args:" + line[10:] + b"\r\n")
            elif tls:
                p.send(b"250 2.1.0 sender ok over TLS\r\n")
            else:
                p.send(b"250 2.1.0 ok\r\n")
        elif verb == b"RCPT":
            addr = line[9:].strip(b"<>").decode()
            if addr.startswith("refuse"):
                p.send(b"550 5.1.1 no such user\r\n")
            else:
                rcpts.append(addr)
                p.send(b"250 2.1.5 ok\r\n")
        elif verb == b"DATA":
            p.send(b"354 go ahead\r\n")
            while True:
                body = p.line()
                if body is None:
                    return
                if body == b".":
                    break
            if mode != "lmtp":
                p.send(b"250 2.0.0 queued\r\n")
                continue
            for a in rcpts:
                if a.startswith("ok"):
                    p.send(b"250 2.0.0 <%s> delivered\r\n" % a.encode())
                elif a.startswith("temp"):
                    p.send(b"452 4.2.2 <%s> mailbox full\r\n" % a.encode())
                else:
                    p.send(b"552 5.2.2 <%s> over quota\r\n" % a.encode())
        elif verb == b"RSET":
            rcpts = []
            p.send(b"250 2.0.0 ok\r\n")
        elif verb == b"QUIT":
            p.send(b"221 2.0.0 bye\r\n")
            return
        else:
            p.send(b"502 5.5.2 unknown command\r\n")


def main():
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    print(ls.getsockname()[1], flush=True)
    while True:
        sock, _ = ls.accept()
        try:
            serve(sock)
        except (OSError, ssl.SSLError):
            pass
        finally:
            sock.close()


main()
