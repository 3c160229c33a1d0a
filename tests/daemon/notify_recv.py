#!/usr/bin/env python3
"""notify_recv.py - a stand-in for systemd's notification socket.

    notify_recv.py ADDRESS MUX_SOCKET AUTH_SOCKET

Binds an AF_UNIX datagram socket at ADDRESS (a path, or @name for the
abstract namespace, as $NOTIFY_SOCKET spells them), prints "listening",
then one line per datagram received:

    msg <the datagram, newlines as '|'> pid=<sender pid>

and right after a datagram that holds READY=1, before reading the next
one, tries both sockets and prints

    ready-check mux=<ok|error> auth=<ok|error>

so the test sees whether the daemon said "ready" only once both sockets
took connections.  The sender's pid comes from SO_PASSCRED, as systemd
reads it.  Runs until killed.
"""
import os
import socket
import struct
import sys


def try_connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.connect(path)
        return "ok"
    except OSError as e:
        return "error(%s)" % e.strerror
    finally:
        s.close()


def main():
    addr, mux, auth = sys.argv[1:4]
    bind_addr = "\0" + addr[1:] if addr.startswith("@") else addr
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    if not addr.startswith("@") and os.path.exists(addr):
        os.unlink(addr)
    s.bind(bind_addr)
    print("listening", flush=True)
    creds_len = struct.calcsize("3i")
    while True:
        data, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(creds_len))
        pid = "?"
        for level, kind, value in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = str(struct.unpack("3i", value[:creds_len])[0])
        text = data.decode("utf-8", "replace")
        print("msg %s pid=%s" % (text.replace("\n", "|"), pid), flush=True)
        if "READY=1" in text.split("\n"):
            print("ready-check mux=%s auth=%s" % (try_connect(mux),
                                                  try_connect(auth)),
                  flush=True)


if __name__ == "__main__":
    main()
