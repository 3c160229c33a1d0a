#!/usr/bin/env python3
"""policy_fake - a scripted Postfix policy server for test_delegate.c.

Usage: policy_fake.py script ADDR
       policy_fake.py exec ADDR COMMAND [ARG...]

ADDR is "tcp" (127.0.0.1, an ephemeral port printed on stdout as the
first line) or a UNIX socket path ("ready" is printed once it listens).
Connections are served at the same time, each request after the last.

script: the reply is chosen by the recipient's local part:
  conn          PREPEND X-Conn: <connection number> <request number on it>
  count         PREPEND X-Count: <requests received by the server so far>
  attrs         PREPEND X-Attrs: <the attribute names, in order>
  echo-NAME     PREPEND X-Echo: <the value of attribute NAME>
  slowMS        DUNNO after MS milliseconds
  close         closes the connection without a reply
  closeafter    DUNNO, then closes the connection
  longline      an action line of 5000 bytes
  reply-HEX     the bytes HEX, as they are (garbage, CRs, many lines...)
  anything else DUNNO
Every request is checked first: a line that is not name=value with a
known name, a name given twice, or a request that arrived while the last
reply was not yet written (pipelining) gets "REJECT bad request: why".

exec: each connection runs COMMAND with the socket as its stdin and
stdout (a policy server written for Postfix's spawn(8), such as
policyd-spf).
"""
import os
import socket
import sys
import threading
import time

KNOWN = [
    "request", "protocol_state", "protocol_name", "client_address",
    "client_name", "client_port", "reverse_client_name", "server_address",
    "server_port", "helo_name", "sender", "recipient", "recipient_count",
    "queue_id", "instance", "size", "etrn_domain", "stress", "sasl_method",
    "sasl_username", "sasl_sender", "ccert_subject", "ccert_issuer",
    "ccert_fingerprint", "ccert_pubkey_fingerprint", "encryption_protocol",
    "encryption_cipher", "encryption_keysize", "policy_context",
]

lock = threading.Lock()
total = 0
nconns = 0


def check(lines):
    seen = []
    for line in lines:
        if b"=" not in line:
            return "no '=' in %r" % line[:40]
        name = line.split(b"=", 1)[0].decode("latin-1")
        if name not in KNOWN:
            return "unknown attribute %r" % name[:40]
        if name in seen:
            return "attribute %s twice" % name
        seen.append(name)
    return None


def serve_script(sock, conn_no):
    global total
    buf = b""
    nreq = 0
    while True:
        while b"\n\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                return
            buf += chunk
        raw, buf = buf.split(b"\n\n", 1)
        # Our reply is not written yet: bytes after the request mean the
        # client did not wait for it.
        pipelined = len(buf) > 0
        lines = raw.split(b"\n")
        nreq += 1
        with lock:
            total += 1
            count = total
        attrs = {}
        for line in lines:
            if b"=" in line:
                k, v = line.split(b"=", 1)
                attrs.setdefault(k.decode("latin-1"), v)
        why = check(lines)
        if why is None and pipelined:
            why = "pipelined"
        rcpt = attrs.get("recipient", b"").decode("latin-1")
        local = rcpt.split("@", 1)[0]
        if why is not None:
            out = ("action=REJECT bad request: %s\n\n" % why).encode()
        elif local == "conn":
            out = b"action=PREPEND X-Conn: %d %d\n\n" % (conn_no, nreq)
        elif local == "count":
            out = b"action=PREPEND X-Count: %d\n\n" % count
        elif local == "attrs":
            names = [l.split(b"=", 1)[0] for l in lines]
            out = b"action=PREPEND X-Attrs: " + b",".join(names) + b"\n\n"
        elif local.startswith("echo-"):
            out = (b"action=PREPEND X-Echo: " +
                   attrs.get(local[5:], b"(none)") + b"\n\n")
        elif local.startswith("slow"):
            time.sleep(int(local[4:]) / 1000.0)
            out = b"action=DUNNO\n\n"
        elif local == "close":
            return
        elif local == "closeafter":
            sock.sendall(b"action=DUNNO\n\n")
            return
        elif local == "longline":
            out = b"action=DUNNO" + b"a" * 5000 + b"\n\n"
        elif local.startswith("reply-"):
            out = bytes.fromhex(local[6:])
        else:
            out = b"action=DUNNO\n\n"
        try:
            sock.sendall(out)
        except OSError:
            return


def serve_exec(sock, argv):
    pid = os.fork()
    if pid == 0:
        fd = sock.fileno()
        os.dup2(fd, 0)
        os.dup2(fd, 1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    os.waitpid(pid, 0)


def handle(sock, conn_no, mode, argv):
    try:
        if mode == "script":
            serve_script(sock, conn_no)
        else:
            serve_exec(sock, argv)
    except OSError:
        pass
    finally:
        sock.close()


def main():
    global nconns
    mode, addr = sys.argv[1], sys.argv[2]
    argv = sys.argv[3:]
    if addr == "tcp":
        lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(64)
        print(lsock.getsockname()[1], flush=True)
    else:
        lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        lsock.bind(addr)
        lsock.listen(64)
        print("ready", flush=True)
    while True:
        sock, _ = lsock.accept()
        nconns += 1
        threading.Thread(target=handle, args=(sock, nconns, mode, argv),
                         daemon=True).start()


if __name__ == "__main__":
    main()
