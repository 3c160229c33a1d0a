#!/bin/bash
# fd_limit.sh - authd out of file descriptors (issue 9): accept(2) fails
# with EMFILE while the listening socket stays readable.  Before the fix
# authd retried at once, spinning at 100% CPU and writing millions of log
# lines; now it says at start that the limit is too low, pauses
# accepting (100 ms at a time), warns once per 10 s, and serves again as
# soon as descriptors free.
set -euo pipefail
source "$(dirname "$0")/dlib.sh"

write_dconf "max_connections = 1000" "mux_timeout = 30s"
add_user alice@example.org secret1
# A limit far below max_connections: authd raises its own limit at
# start, but only up to the hard one.  (Not prlimit on the running
# daemon: it is not dumpable, so even root may not.)
(ulimit -Sn 32 && ulimit -Hn 32 && start_authd)
AUTHD_PID=$(pgrep -f -- "-c $CONF" | head -n 1)
at_exit "kill $AUTHD_PID 2>/dev/null"
check test -n "$AUTHD_PID"
expect_eq 32 "$(awk '/Max open files/ { print $4 }' "/proc/$AUTHD_PID/limits")"
desc "the start-up warns that the limit is below what max_connections needs"
expect_log 'warning: the open-file limit \(32\) is below the 1064 descriptors max_connections needs'
cpu_ticks() {	# utime + stime of authd
	awk '{ print $14 + $15 }' "/proc/$AUTHD_PID/stat"
}
cat >"$TMP/hold.py" <<'PY'
import socket, sys, time
path, n, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
held = []
for i in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    held.append(s)
print("connected", len(held), flush=True)
time.sleep(secs)
PY
t0=$(cpu_ticks)
python3 "$TMP/hold.py" "$SOCK" 60 2.5 >"$TMP/hold.out" 2>&1 &
HOLD=$!
sleep 2
t1=$(cpu_ticks)
desc "60 clients against 32 descriptors: authd does not spin (CPU in 2 s: $((t1 - t0)) ticks of 100/s)"
check test "$((t1 - t0))" -lt 40
desc "the warning is written once, not once per failed accept"
expect_eq 1 "$(log_count 'cannot accept: Too many open files')"
expect_log 'raise the open-file limit or lower max_connections'
wait "$HOLD" || true
desc "once the clients are gone, a check works again"
for ((i = 0; i < 40; i++)); do
	auth 0 alice@example.org secret1 >/dev/null 2>&1 && break
	sleep 0.1
done
auth 0 alice@example.org secret1
desc "authd is still running"
check kill -0 "$AUTHD_PID"
desc "a SIGHUP that raises max_connections warns again"
sed -i 's/^max_connections = 1000$/max_connections = 2000/' "$CONF"
kill -HUP "$AUTHD_PID"
expect_log 'warning: the open-file limit \(32\) is below the 2064 descriptors'
finish
