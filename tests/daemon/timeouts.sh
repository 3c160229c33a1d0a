#!/bin/bash
# mux_timeout: idle and slow clients are disconnected, and they never
# hold up a normal client (saslauthd's five-idle-clients lock-up).
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"

write_dconf "mux_timeout = 1s"
add_user alice@example.org secret1
start_authd

mux_value() {
	sed -n "s/^$1=//p" <<<"$MUX_OUT" | head -n 1
}

desc "a client that connects and sends nothing gets no reply"
mux eof:6
if grep -q '^eof_ms=' <<<"$MUX_OUT" && ! grep -q '^extra=' <<<"$MUX_OUT"; then pass; else
	fail; echo "#   ${MUX_OUT//$'\n'/ | }"; fi
check_ms 800 3000 "$(mux_value eof_ms || true)" \
	"... and is disconnected after mux_timeout = 1s"

mux f:alice f:secret1 f:imap read:6
desc "a client that stops after three fields gets no reply"
expect_eq "<eof>" "$(mux_value reply)"
check_ms 800 3000 "$(mux_value eof_ms || true)" \
	"... and is disconnected after mux_timeout"
expect_log 'no complete request within the timeout'

desc "a client that sends its request after 600 ms (within the timeout) gets OK"
mux sleep:0.6 f:alice f:secret1 f:imap f:example.org read:3
if grep -qxF 'reply=[OK]' <<<"$MUX_OUT"; then pass; else fail; echo "#   ${MUX_OUT//$'\n'/ | }"; fi

# 50 idle clients and a slow one that drips a byte every 200 ms; in the
# middle of it all, a normal client must get OK promptly.
cat >"$TMP/crowd.py" <<'PY'
import socket, sys, threading, time
path = sys.argv[1]
def field(b):
    return bytes([len(b) >> 8, len(b) & 255]) + b
req = field(b"alice") + field(b"secret1") + field(b"imap") + field(b"example.org")
idle = []
for i in range(50):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    idle.append(s)
t_idle = time.monotonic()
slow_result = {}
def slow():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    t0 = time.monotonic()
    sent = 0
    try:
        for i in range(len(req)):
            s.sendall(req[i:i + 1])
            sent += 1
            time.sleep(0.2)
    except OSError:
        pass
    s.settimeout(3)
    try:
        data = s.recv(100)
    except (OSError, socket.timeout) as e:
        data = repr(e).encode()
    slow_result["sent"] = sent
    slow_result["end_ms"] = int((time.monotonic() - t0) * 1000)
    slow_result["data"] = data
th = threading.Thread(target=slow)
th.start()
time.sleep(0.3)
# the normal client
t0 = time.monotonic()
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(path)
s.sendall(req)
got = b""
while len(got) < 4:
    c = s.recv(100)
    if not c:
        break
    got += c
print("normal_reply=%r" % got)
print("normal_ms=%d" % ((time.monotonic() - t0) * 1000))
# the idle ones are closed by the server after the timeout
closed = 0
deadline = t_idle + 3.0
for c in idle:
    c.settimeout(max(0.01, deadline - time.monotonic()))
    try:
        if c.recv(10) == b"":
            closed += 1
    except (OSError, socket.timeout):
        pass
print("idle_closed=%d" % closed)
print("idle_ms=%d" % ((time.monotonic() - t_idle) * 1000))
th.join()
print("slow_sent=%d" % slow_result["sent"])
print("slow_data=%r" % slow_result["data"])
print("slow_end_ms=%d" % slow_result["end_ms"])
print("reqlen=%d" % len(req))
PY
CROWD=$(timeout 20 python3 "$TMP/crowd.py" "$SOCK" 2>&1) || true
crowd() { sed -n "s/^$1=//p" <<<"$CROWD" | head -n 1; }
desc "with 50 idle clients and a slow client connected, a normal client gets OK"
expect_eq "b'\\x00\\x02OK'" "$(crowd normal_reply)"
check_ms 0 500 "$(crowd normal_ms || true)" "... promptly"
desc "all 50 idle clients were disconnected by the timeout (within 3 s)"
expect_eq 50 "$(crowd idle_closed)"
desc "the slow client (one byte per 200 ms) got no reply: it was cut off"
expect_eq "b''" "$(crowd slow_data)"
sent=$(crowd slow_sent)
desc "... before it could send its whole request ($sent of $(crowd reqlen) bytes)"
if [ -n "$sent" ] && [ "$sent" -lt "$(crowd reqlen)" ] && [ "$sent" -le 16 ]; then pass; else
	fail; echo "#   ${CROWD//$'\n'/ | }"; fi
desc "authd is still running after the crowd"
auth 0 alice secret1

# max_connections: the floor of 16, filled by idle clients; one more is
# closed at once, and it works again after the idle ones time out.  (The
# mux socket may take all 16 here; by default it keeps a quarter for the
# auth socket: limits.sh.)
stop_authd
write_dconf "mux_timeout = 1s" "max_connections = 16" "mux_max_connections = 16"
start_authd
cat >"$TMP/full.py" <<'PY'
import socket, sys, time
path = sys.argv[1]
def field(b):
    return bytes([len(b) >> 8, len(b) & 255]) + b
req = field(b"alice") + field(b"secret1") + field(b"imap") + field(b"example.org")
idle = []
for i in range(16):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    idle.append(s)
time.sleep(0.2)
def one():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(3)
    s.connect(path)
    try:
        s.sendall(req)
        got = s.recv(100)
    except OSError as e:
        got = repr(e).encode()
    s.close()
    return got
print("full=%r" % one())
time.sleep(1.5)
print("later=%r" % one())
PY
FULL=$(timeout 20 python3 "$TMP/full.py" "$SOCK" 2>&1) || true
desc "with max_connections (16) idle clients, one more is refused without a reply"
if grep -Eq "^full=b''|^full=b?.*(Reset|Broken)" <<<"$FULL"; then pass; else fail; echo "#   ${FULL//$'\n'/ | }"; fi
expect_log 'max_connections \(16\) reached, refusing'
desc "after the idle clients time out, a client gets OK again"
if grep -qxF "later=b'\\x00\\x02OK'" <<<"$FULL"; then pass; else fail; echo "#   ${FULL//$'\n'/ | }"; fi
finish
