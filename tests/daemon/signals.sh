#!/bin/bash
# SIGHUP reloads the configuration (a broken file keeps the running one);
# SIGTERM/SIGINT stop cleanly: socket and pid file removed, exit 0, a
# check in flight still answered.
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"

write_dconf
add_user alice@example.org alice-pass
add_user bob@other.org bob-pass
start_authd
PIDFILE=$SOCKDIR/authd.pid

desc "before the reload, a login without realm is in example.org"
auth 0 alice alice-pass
auth 1 bob bob-pass

# hup_and_wait RE - SIGHUP, then wait for a new log line matching RE.
hup_and_wait() {
	local n0 i

	n0=$(log_count "$1")
	kill -HUP "$AUTHD_PID"
	for ((i = 0; i < 100; i++)); do
		[ "$(log_count "$1")" -gt "$n0" ] && return 0
		sleep 0.02
	done
	return 1
}

sed -i 's/^default_realm = .*/default_realm = other.org/' "$CONF"
desc "SIGHUP: the reload is logged"
check hup_and_wait 'configuration reloaded from'
desc "after the reload, a login without realm is in other.org"
auth 0 bob bob-pass
auth 1 alice alice-pass
expect_log 'user=alice@other\.org .*reason="unknown user"'
desc "a login with an explicit realm is unaffected"
auth 0 alice@example.org alice-pass
desc "the daemon is the same process"
expect_eq "$AUTHD_PID" "$(cat "$PIDFILE")"

# A broken file: keep the running configuration, and say why.
echo "default_realm = third.org" >>"$CONF"
BROKEN_LINE=$(wc -l <"$CONF")
desc "SIGHUP with a broken file: the failure is logged"
check hup_and_wait 'reload failed: keeping the running configuration'
expect_log "$CONF:$BROKEN_LINE: default_realm is already set"
desc "the old configuration is still in force (other.org)"
auth 0 bob bob-pass
auth 1 alice alice-pass
desc "still running"
check kill -0 "$AUTHD_PID"

# A fixed file is picked up by the next SIGHUP.
sed -i '$d' "$CONF"
sed -i 's/^default_realm = .*/default_realm = example.org/' "$CONF"
desc "SIGHUP after fixing the file: reloaded"
check hup_and_wait 'configuration reloaded from'
auth 0 alice alice-pass

# Failure delays change at run time.
sed -i 's/^auth_failure_delay = .*/auth_failure_delay = 400ms/; s/^auth_failure_delay_max = .*/auth_failure_delay_max = 400ms/' "$CONF"
check hup_and_wait 'configuration reloaded from'
timed_auth carol wrong
check_ms 390 900 "$AUTH_MS" "after a reload to auth_failure_delay = 400ms, a failure waits 400 ms"

# Switching the back-end in the file: the daemon must survive it (refuse
# the change, or apply it), never crash.
echo "auth_backend = pam" >>"$CONF"
desc "SIGHUP after switching the file to auth_backend = pam"
check hup_and_wait 'configuration reloaded from|reload'
expect_log 'reload: auth_backend changes only on restart; keeping store'
timed_auth alice alice-pass
desc "the daemon survives a login after the back-end switch (answered: exit 0 or 1)"
if [ "$AUTH_RC" = 0 ] || [ "$AUTH_RC" = 1 ]; then pass; else fail; echo "#   authd-test exit $AUTH_RC: $AUTH_OUT"; fi
desc "... and is still running"
check kill -0 "$AUTHD_PID"
if ! kill -0 "$AUTHD_PID" 2>/dev/null; then
	# It died: restart for the rest of the script.
	rm -f "$SOCK"
	sed -i '/^auth_backend = pam$/d' "$CONF"
	start_authd
else
	sed -i '/^auth_backend = pam$/d' "$CONF"
	hup_and_wait 'configuration reloaded from' || true
fi

# Command-line overrides must survive a reload: started with -m DIR (the
# file names another socket_dir), a SIGHUP must not act as if socket_dir
# changed.
stop_authd
OVR=$TMP/ovr
START_SOCK=$OVR/mux start_authd -m "$OVR"
desc "-m: the socket is in the command line's directory"
check test -S "$OVR/mux"
desc "-m: SIGHUP reloads"
check hup_and_wait 'configuration reloaded from'
desc "-m: the reload keeps the command line's socket_dir (no 'changes only on restart' warning)"
expect_no_log 'changes only on restart'
desc "-m: still answering on $OVR/mux after the reload"
expect_rc 0 "$AUTHTEST" mux -f "$OVR/mux" -u alice -p alice-pass
stop_authd
desc "-m: SIGTERM removes the socket in the command line's directory"
check test ! -e "$OVR/mux"

# SIGTERM: a clean stop.
start_authd
desc "pid file present while running"
check test -s "$PIDFILE"
stop_authd
desc "SIGTERM: exit status 0"
expect_eq 0 "$STOP_RC"
desc "SIGTERM: the socket is removed"
check test ! -e "$SOCK"
desc "SIGTERM: the pid file is removed"
check test ! -e "$PIDFILE"
expect_log 'signal 15: shutting down'
expect_log 'stopped'

# SIGINT: the same.
start_authd
stop_rc=0
kill -INT "$AUTHD_PID"
wait "$AUTHD_PID" || stop_rc=$?
desc "SIGINT: exit status 0, socket and pid file removed"
expect_eq "0 gone gone" "$stop_rc $([ -e "$SOCK" ] && echo here || echo gone) $([ -e "$PIDFILE" ] && echo here || echo gone)"

# SIGTERM while a check is delayed: the client still gets its answer, and
# the daemon stops as soon as nothing is in flight (at most a 3 s grace).
sed -i 's/^auth_failure_delay = .*/auth_failure_delay = 500ms/; s/^auth_failure_delay_max = .*/auth_failure_delay_max = 500ms/' "$CONF"
start_authd
"$AUTHTEST" mux -f "$SOCK" -u alice -p wrong >"$TMP/inflight.out" 2>&1 &
CLIENT=$!
sleep 0.2
_now_us
t0=$_NOW
kill -TERM "$AUTHD_PID"
crc=0
wait "$CLIENT" || crc=$?
desc "SIGTERM during a delayed failure: the client still gets NO"
expect_eq "1 NO" "$crc $(cat "$TMP/inflight.out")"
stop_rc=0
wait "$AUTHD_PID" || stop_rc=$?
_now_us
desc "... and authd exits 0"
expect_eq 0 "$stop_rc"
check_ms 250 1500 $(((_NOW - t0) / 1000)) "... once the delayed answer is out (~300 ms), not after the whole grace"
desc "a new client is refused while shutting down (socket gone)"
check test ! -e "$SOCK"

# SIGTERM with clients still connected (idle ones, one half-way through a
# request): a clean exit 0, every connection released (a sanitizer build
# reports what was not).
start_authd
cat >"$TMP/hold.py" <<'PY'
import socket, sys, time
def f(b):
    return bytes([len(b) >> 8, len(b) & 255]) + b
held = []
for i in range(3):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    held.append(s)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(f(b"alice") + f(b"alice-pass"))
held.append(s)
print("held", flush=True)
time.sleep(5)
PY
python3 "$TMP/hold.py" "$SOCK" >"$TMP/hold.out" &
HOLD=$!
for ((i = 0; i < 100; i++)); do grep -q held "$TMP/hold.out" 2>/dev/null && break; sleep 0.05; done
sleep 0.2
stop_authd
desc "SIGTERM with 4 clients still connected: exit 0"
expect_eq 0 "$STOP_RC"
kill "$HOLD" 2>/dev/null || true
wait "$HOLD" 2>/dev/null || true
finish
