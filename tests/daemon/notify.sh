#!/bin/bash
# systemd's readiness protocol (Type=notify, sd_notify(3)) against a
# stand-in for systemd's socket (notify_recv.py): READY=1 only once both
# sockets take connections, with MAINPID and STATUS, sent by the daemon
# itself; RELOADING=1 and READY=1 around a SIGHUP and STOPPING=1 at
# SIGTERM, both under the seccomp sandbox; an abstract socket name; the
# background mode (MAINPID is the daemon, not the parent); a chroot whose
# inside cannot see the socket's path; a socket that cannot be used is
# said in the log and does not stop the start.
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"

RECV=$SRCDIR/tests/daemon/notify_recv.py
NOUT=$TMP/notify.out
RECV_PID=

# start_recv ADDRESS - a new receiver (the old one stopped), its lines in
# $NOUT.
start_recv() {
	local i

	stop_recv
	: >"$NOUT"
	python3 "$RECV" "$1" "$SOCKDIR/mux" "$SOCKDIR/auth" >"$NOUT" 2>&1 &
	RECV_PID=$!
	for ((i = 0; i < 100; i++)); do
		grep -q '^listening' "$NOUT" && return 0
		sleep 0.05
	done
	echo "Bail out! notify_recv.py did not start"
	diag "$NOUT" notify_recv
	exit 1
}
stop_recv() {
	if [ -n "$RECV_PID" ]; then
		kill "$RECV_PID" 2>/dev/null || true
		wait "$RECV_PID" 2>/dev/null || true
	fi
	RECV_PID=
}
at_exit stop_recv

# wait_count RE N - until N lines of $NOUT match RE (5 s at most).
wait_count() {
	local i

	for ((i = 0; i < 100; i++)); do
		[ "$(grep -Ec -- "$1" "$NOUT" || true)" -ge "$2" ] && return 0
		sleep 0.05
	done
	echo "#   notify_recv output:"
	sed 's/^/#     /' "$NOUT"
	return 1
}

write_dconf
add_user alice@example.org secret1

# -d (foreground) with a socket path.
start_recv "$TMP/notify"
NOTIFY_SOCKET=$TMP/notify start_authd
desc "READY=1 arrives"
check wait_count 'READY=1' 1
desc "it is the first message (nothing before it)"
expect_eq 1 "$(grep '^msg ' "$NOUT" | head -n 1 | grep -c 'READY=1')"
desc "when READY=1 arrives, both sockets take connections"
check grep -q '^ready-check mux=ok auth=ok$' "$NOUT"
desc "MAINPID is the daemon's pid"
check grep -q "MAINPID=$AUTHD_PID|" "$NOUT"
desc "the daemon itself sent it (the kernel's credentials), as NotifyAccess=main wants"
check grep -q "READY=1.* pid=$AUTHD_PID\$" "$NOUT"
desc "STATUS names both sockets"
check grep -q "STATUS=serving $SOCKDIR/mux and $SOCKDIR/auth" "$NOUT"
auth 0 alice secret1

kill -HUP "$AUTHD_PID"
desc "SIGHUP: RELOADING=1, under the seccomp sandbox"
check wait_count 'RELOADING=1' 1
desc "RELOADING=1 carries MONOTONIC_USEC"
check grep -Eq 'RELOADING=1\|MONOTONIC_USEC=[0-9]+ ' "$NOUT"
desc "then READY=1 again"
check wait_count 'READY=1' 2
expect_log 'configuration reloaded'
desc "RELOADING=1 came before the second READY=1"
expect_eq "RELOADING READY" "$(grep -Eo 'RELOADING=1|READY=1' "$NOUT" | tail -n 2 | sed 's/=1//' | paste -sd' ')"
auth 0 alice secret1
stop_authd
desc "SIGTERM: STOPPING=1"
check wait_count 'STOPPING=1' 1
desc "SIGTERM: authd exits 0 (no SIGSYS from the sandbox)"
expect_eq 0 "$STOP_RC"

# An abstract name.
ABSTRACT=@authd-notify-test-$$-$RANDOM
start_recv "$ABSTRACT"
NOTIFY_SOCKET=$ABSTRACT start_authd
desc "an abstract socket (@name): READY=1 arrives"
check wait_count 'READY=1' 1
desc "an abstract socket: both sockets took connections when it arrived"
check grep -q '^ready-check mux=ok auth=ok$' "$NOUT"
stop_authd

# The background mode: systemd learns the daemon's pid from MAINPID.
start_recv "$TMP/notify"
desc "background start with NOTIFY_SOCKET: the parent exits 0"
NOTIFY_SOCKET=$TMP/notify expect_rc 0 timeout 10 "$AUTHD" -c "$CONF"
DPID=$(cat "$SOCKDIR/authd.pid")
AUTHD_PIDS+=("$DPID")
desc "background: READY=1 with MAINPID of the daemon, sent by the daemon"
check wait_count "MAINPID=$DPID\\|.* pid=$DPID\$" 1
_kill_pid "$DPID"

# A chroot: the socket's path lies outside it; authd connects before.
mkdir -p "$TMP/jail/sanitizer"
chmod 1777 "$TMP/jail/sanitizer"
write_dconf "chroot = $TMP/jail"
start_recv "$TMP/notify"
a=$ASAN_OPTIONS u=$UBSAN_OPTIONS
export ASAN_OPTIONS="$a:detect_leaks=0:log_path=sanitizer/asan"
export UBSAN_OPTIONS="$u:log_path=sanitizer/ubsan"
cd "$TMP/jail"
NOTIFY_SOCKET=$TMP/notify start_authd
cd - >/dev/null
export ASAN_OPTIONS="$a" UBSAN_OPTIONS="$u"
desc "chroot, the notification socket outside it: READY=1 arrives"
check wait_count 'READY=1' 1
kill -HUP "$AUTHD_PID"
desc "chroot: RELOADING=1 and READY=1 at SIGHUP too"
check wait_count 'READY=1' 2
stop_authd
desc "chroot: STOPPING=1"
check wait_count 'STOPPING=1' 1
if compgen -G "$TMP/jail/sanitizer/*" >/dev/null; then
	cp -p "$TMP"/jail/sanitizer/* "$SANDIR"/
fi
rm -f "$SOCK" "$SOCKDIR/auth" "$SOCKDIR/authd.pid"

# A socket that cannot be used: said, and the start goes on.
write_dconf
stop_recv
NOTIFY_SOCKET=$TMP/no-such-socket start_authd
expect_log "warning: NOTIFY_SOCKET=$TMP/no-such-socket: No such file or directory; not telling systemd"
auth 0 alice secret1
stop_authd
NOTIFY_SOCKET=relative/path start_authd
expect_log 'warning: NOTIFY_SOCKET=relative/path: not a UNIX socket path or @name'
stop_authd
finish
