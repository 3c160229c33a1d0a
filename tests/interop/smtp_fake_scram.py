#!/usr/bin/env python3
"""smtp_fake_scram.py - a next hop that pretends: it announces AUTH
SCRAM-SHA-256 (and CRAM-MD5), takes any client proof, and answers with a
server signature it cannot compute (it does not know the password), or
with 235 and no signature at all.  authd-smtpd must refuse to send mail
through it.  Every line it receives goes to LOG.

usage: smtp_fake_scram.py PORT LOG MODE      MODE: badsig | nosig
"""
import base64
import socket
import sys

port, log, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(8)


def serve(c, lf):
    f = c.makefile("rb")
    c.sendall(b"220 fake.example ESMTP\r\n")
    state = "cmd"
    for raw in f:
        line = raw.rstrip(b"\r\n").decode("latin-1")
        lf.write(line + "\n")
        lf.flush()
        up = line.upper()
        if state == "first":
            state = "cmd"
            if mode == "nosig":
                c.sendall(b"235 2.7.0 ok\r\n")
            else:
                c.sendall(b"334 " + base64.b64encode(b"v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=") + b"\r\n")
                state = "final"
            continue
        if state == "final":
            state = "cmd"
            c.sendall(b"235 2.7.0 ok\r\n")
            continue
        if up.startswith("EHLO"):
            c.sendall(b"250-fake.example\r\n250-AUTH SCRAM-SHA-256\r\n250 8BITMIME\r\n")
        elif up.startswith("AUTH SCRAM-SHA-256 "):
            cf = base64.b64decode(line.split(" ", 2)[2]).decode()
            bare = cf.split(",", 2)[2]
            nonce = dict(kv.split("=", 1) for kv in bare.split(","))["r"]
            sf = "r=%sFAKE,s=c2FsdHNhbHQ=,i=4096" % nonce
            c.sendall(b"334 " + base64.b64encode(sf.encode()) + b"\r\n")
            state = "first"
        elif up.startswith("QUIT"):
            c.sendall(b"221 bye\r\n")
            break
        else:
            c.sendall(b"250 ok\r\n")


with open(log, "a") as lf:
    while True:
        c, _ = srv.accept()
        # A probe that connects and goes (the test's wait for the port)
        # must not end the server.
        try:
            serve(c, lf)
        except OSError:
            pass
        c.close()
