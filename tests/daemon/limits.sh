#!/bin/bash
# Connection limits and lifetimes (issue 9): the auth socket's idle
# timeout, each socket's own share of max_connections, the per-uid cap,
# the rate-limited "reached" line, and a mux client that half-closes
# after its request.
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"

write_dconf "auth_idle_timeout = 1s" "auth_request_timeout = 4s" \
	"max_connections = 16" "max_connections_per_uid = 2"
add_user alice@example.org secret1
start_authd

# conns.py - small clients of both sockets; prints key=value lines.
cat >"$TMP/conns.py" <<'PY'
import base64, os, select, socket, sys, time
sockdir, what = sys.argv[1], sys.argv[2]
MUX, AUTH = sockdir + "/mux", sockdir + "/auth"

def field(b):
    return bytes([len(b) >> 8, len(b) & 255]) + b
REQ = field(b"alice") + field(b"secret1") + field(b"smtp") + field(b"example.org")

def mux_once(timeout=3):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    try:
        s.connect(MUX)
        s.sendall(REQ)
        got = s.recv(100)
    except OSError as e:
        got = repr(e).encode()
    s.close()
    return got

def auth_open(handshake=True):
    s = socket.socket(socket.AF_UNIX)
    s.connect(AUTH)
    s.settimeout(3)
    buf = b""
    while handshake and b"DONE\n" not in buf:
        d = s.recv(4096)
        if not d:
            return None
        buf += d
    if handshake:
        s.sendall(b"VERSION\t1\t2\nCPID\t%d\n" % os.getpid())
    return s

def closed_within(s, sec):
    """ms until the server closed s, or -1"""
    t0 = time.monotonic()
    s.settimeout(sec)
    try:
        while True:
            d = s.recv(4096)
            if not d:
                return int((time.monotonic() - t0) * 1000)
    except socket.timeout:
        return -1
    except OSError:
        return int((time.monotonic() - t0) * 1000)

def line(s, sec=3):
    s.settimeout(sec)
    buf = b""
    while not buf.endswith(b"\n"):
        d = s.recv(1)
        if not d:
            return "<eof>"
        buf += d
    return buf.decode().rstrip("\n")

def b64(t):
    return base64.b64encode(t).decode()

if what == "idle":
    s = auth_open()
    print("idle_closed_ms=%d" % closed_within(s, 4))
elif what == "busy":
    # A connection in use (a request every 0.5 s for 2.5 s) stays open.
    s = auth_open()
    ok = 0
    for i in range(5):
        time.sleep(0.5)
        s.sendall(b"AUTH\t%d\tPLAIN\tservice=smtp\tresp=%s\n" %
                  (i + 1, b64(b"\0alice\0secret1").encode()))
        if line(s).startswith("OK\t%d\t" % (i + 1)):
            ok += 1
    print("busy_ok=%d" % ok)
elif what == "inflight":
    # An open exchange (LOGIN waits for the user name) is not cut off by
    # the idle timeout: after 2.5 s quiet it still completes.
    s = auth_open()
    s.sendall(b"AUTH\t1\tLOGIN\tservice=smtp\n")
    first = line(s)
    time.sleep(2.5)
    try:
        s.sendall(b"CONT\t1\t%s\n" % b64(b"alice").encode())
        second = line(s)
        s.sendall(b"CONT\t1\t%s\n" % b64(b"secret1").encode())
        third = line(s)
    except OSError as e:
        second = third = repr(e)
    print("inflight_first=%s" % first.split("\t")[0])
    print("inflight_second=%s" % second.split("\t")[0])
    print("inflight_result=%s" % third.split("\t")[0])
elif what == "silent_auth":
    # 16 silent auth connections with max_connections = 16: the mux
    # socket keeps its quarter.
    conns = []
    for i in range(16):
        s = socket.socket(socket.AF_UNIX)
        s.connect(AUTH)
        conns.append(s)
    time.sleep(0.3)
    served = sum(1 for s in conns if select.select([s], [], [], 0.5)[0]
                 and s.recv(4096, socket.MSG_PEEK).startswith(b"VERSION"))
    print("auth_served=%d" % served)
    print("mux_reply=%r" % mux_once())
elif what == "per_uid":
    # Run as a user that is not root: two connections, the third refused.
    conns = []
    for i in range(3):
        s = socket.socket(socket.AF_UNIX)
        s.connect(AUTH)
        conns.append(s)
    time.sleep(0.3)
    res = []
    for s in conns:
        s.settimeout(1)
        try:
            d = s.recv(4096)
        except OSError as e:
            d = b""
        res.append("served" if d.startswith(b"VERSION") else "refused")
    print("per_uid=%s" % ",".join(res))
    for s in conns:
        s.close()
    time.sleep(0.3)
    s = auth_open()
    print("per_uid_after=%s" % ("served" if s is not None else "refused"))
elif what == "flood":
    # 12 auth connections fill auth_max_connections; then 40 more are
    # refused in quick succession.
    conns = [socket.socket(socket.AF_UNIX) for i in range(12)]
    for s in conns:
        s.connect(AUTH)
    time.sleep(0.3)
    refused = 0
    for i in range(40):
        s = socket.socket(socket.AF_UNIX)
        s.connect(AUTH)
        s.settimeout(2)
        try:
            if s.recv(4096) == b"":
                refused += 1
        except OSError:
            refused += 1
        s.close()
    print("flood_refused=%d" % refused)
PY
cx() {
	CX=$(timeout 30 python3 "$TMP/conns.py" "$SOCKDIR" "$@" 2>&1) || true
}
cxv() { sed -n "s/^$1=//p" <<<"$CX" | head -n 1; }

# --- auth_idle_timeout ---
cx idle
check_ms 800 2500 "$(cxv idle_closed_ms)" \
	"an auth connection that sends nothing is closed after auth_idle_timeout = 1s"
expect_log 'auth: connection idle for [0-9]+ ms: closing'
cx busy
desc "an auth connection in use (a request every 0.5 s) stays open"
expect_eq 5 "$(cxv busy_ok)"
cx inflight
desc "an open exchange is not cut off by the idle timeout (LOGIN, 2.5 s between steps)"
expect_eq "CONT CONT OK" "$(cxv inflight_first) $(cxv inflight_second) $(cxv inflight_result)"

# --- each socket's share of max_connections ---
cx silent_auth
desc "16 silent auth clients with max_connections = 16: 12 (auth_max_connections' default, 3/4) are served"
expect_eq 12 "$(cxv auth_served)"
desc "... and a mux client still gets OK"
expect_eq "b'\\x00\\x02OK'" "$(cxv mux_reply)"
expect_log 'auth_max_connections \(12\) reached, refusing a client'

# --- max_connections_per_uid (root is exempt; run as nobody) ---
sleep 1.2	# the idle ones of the last test are gone
cx_as_nobody() {
	# /usr/bin/python3: a python3 found in root's PATH may live where
	# nobody cannot reach it.
	CX=$(timeout 30 setpriv --reuid=65534 --regid=65534 --clear-groups \
		/usr/bin/python3 "$TMP/conns.py" "$SOCKDIR" "$@" 2>&1) || true
}
chmod 0644 "$TMP/conns.py"
cx_as_nobody per_uid
desc "max_connections_per_uid = 2: a third connection of the same uid is refused"
expect_eq "served,served,refused" "$(cxv per_uid)"
desc "... and it may connect again once the others closed"
expect_eq served "$(cxv per_uid_after)"
expect_log 'max_connections_per_uid \(2\) reached by uid 65534, refusing a client'

# --- the "reached" line is rate-limited ---
sleep 1.2
cx flood
desc "40 clients over auth_max_connections are refused"
expect_eq 40 "$(cxv flood_refused)"
desc "... with at most one 'reached' line for them at once"
n=$(log_count 'auth_max_connections \(12\) reached')
# one from the silent_auth test above (more than 10 s ago or not: both
# lines may exist), one at most for the flood
if [ "$n" -le 2 ]; then pass; else fail; echo "#   $n lines"; fi
EXPECT_LOG_TRIES=260 expect_log 'auth_max_connections \(12\) reached: [0-9]+ more clients? refused in the last 10 s'

# --- mux: a client that half-closes after its request ---
stop_authd
write_dconf "mux_timeout = 2s"
start_authd
mux f:alice f:secret1 f:smtp f:example.org shutwr read:5
desc "a mux client that shuts down its sending side after its request gets OK (worker-side check)"
if grep -qxF 'reply=[OK]' <<<"$MUX_OUT"; then pass; else fail; echo "#   ${MUX_OUT//$'\n'/ | }"; fi
mux f:alice f:wrong f:smtp f:example.org shutwr read:5
desc "... and a wrong password after a half-close gets NO"
if grep -qxF 'reply=[NO]' <<<"$MUX_OUT"; then pass; else fail; echo "#   ${MUX_OUT//$'\n'/ | }"; fi
mux f:alice f:secret1 shutwr read:5
desc "a client that half-closes before a whole request gets no reply: it went away"
if grep -qxF 'reply=<eof>' <<<"$MUX_OUT"; then pass; else fail; echo "#   ${MUX_OUT//$'\n'/ | }"; fi
check_ms 0 1000 "$(sed -n 's/^eof_ms=//p' <<<"$MUX_OUT")" "... and is closed at once, not at mux_timeout"
auth 0 alice secret1
finish
