#!/bin/bash
# Start-up modes: without -d/-F authd forks, and the parent exits 0 only
# once the daemon serves (non-zero when it cannot start, before or after
# the fork, printing why on its standard error and leaving no pid file);
# -F stays in the foreground.
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"

write_dconf
add_user alice@example.org secret1
PIDFILE=$SOCKDIR/authd.pid

desc "authd without -d/-F: the parent exits 0"
expect_rc 0 timeout 10 "$AUTHD" -c "$CONF"
DPID=$(cat "$PIDFILE" 2>/dev/null || echo 0)
AUTHD_PIDS+=("$DPID")
desc "when the parent has exited, the socket exists already"
check test -S "$SOCK"
desc "... and answers at once"
auth 0 alice secret1
desc "the pid file names a running daemon"
check kill -0 "$DPID"
desc "the daemon is a session leader, detached from the test's session"
expect_eq "$DPID" "$(ps -o sid= -p "$DPID" | tr -d ' ')"
desc "the daemon has dropped privileges"
expect_eq "65534 65534 65534 65534" "$(pid_status "$DPID" Uid)"
desc "the daemon's stdin and stdout are /dev/null"
expect_eq "/dev/null /dev/null" "$(readlink "/proc/$DPID/fd/0") $(readlink "/proc/$DPID/fd/1")"
kill -TERM "$DPID"
for ((i = 0; i < 100; i++)); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.05; done
desc "SIGTERM stops the daemonized authd, removing socket and pid file"
expect_eq "gone gone gone" "$(kill -0 "$DPID" 2>/dev/null && echo here || echo gone) $([ -e "$SOCK" ] && echo here || echo gone) $([ -e "$PIDFILE" ] && echo here || echo gone)"

# Failures before the fork: the exit status and a message.
cp "$CONF" "$TMP/nouser.conf"
sed -i "s/^user = .*/user = no-such-user-$$/" "$TMP/nouser.conf"
desc "a user that does not exist: the parent exits non-zero"
expect_rc 1 timeout 10 "$AUTHD" -c "$TMP/nouser.conf"
expect_err "no such user \"no-such-user-$$\""
desc "... and no socket was created"
check test ! -e "$SOCK"

# A failure after the fork (chroot to a missing directory happens in the
# child, at the privilege drop): the parent must still exit non-zero.
cp "$CONF" "$TMP/chroot.conf"
echo "chroot = $TMP/no-such-root" >>"$TMP/chroot.conf"
desc "a start-up failure in the child (bad chroot): the parent exits non-zero"
expect_rc 1 timeout 10 "$AUTHD" -c "$TMP/chroot.conf"
desc "... and prints the child's reason on its standard error"
expect_err "^authd: chroot $TMP/no-such-root: No such file or directory\$"
desc "... and leaves no pid file (not even an empty one)"
check test ! -e "$PIDFILE"
rm -f "$SOCK" "$SOCKDIR/auth"

# A failure in the foreground after the pid file is locked (a directory
# where the socket goes): no pid file either.
mkdir -p "$SOCKDIR/mux"
desc "-F: the socket path is a directory: exit 1"
expect_rc 1 timeout 10 "$AUTHD" -F -c "$CONF"
desc "... and no pid file is left"
check test ! -e "$PIDFILE"
desc "the same in the background: exit 1, the reason on the terminal"
expect_rc 1 timeout 10 "$AUTHD" -c "$CONF"
expect_err "$SOCKDIR/mux"
desc "... and no pid file is left"
check test ! -e "$PIDFILE"
rmdir "$SOCKDIR/mux"

# Another instance running: daemonized start fails with the message.
start_authd
desc "with authd already running, a daemonized start exits non-zero"
expect_rc 1 timeout 10 "$AUTHD" -c "$CONF"
desc "... and says why on its standard error"
expect_err 'another authd is running'
desc "... and leaves the running daemon's pid file alone"
expect_eq "$AUTHD_PID" "$(cat "$PIDFILE" 2>/dev/null)"
desc "with authd already running, a -F start exits non-zero"
expect_rc 1 timeout 10 "$AUTHD" -F -c "$CONF"
desc "... and, -F logging start-up errors to standard error (authd.8), says why there"
expect_err 'another authd is running'
desc "... and leaves the running daemon's pid file alone"
expect_eq "$AUTHD_PID" "$(cat "$PIDFILE" 2>/dev/null)"
stop_authd

# -F: foreground, no fork; authd.8: start-up errors on standard error,
# then syslog only.
"$AUTHD" -F -c "$CONF" 2>"$TMP/fg.log" &
FPID=$!
AUTHD_PIDS+=("$FPID")
desc "-F: the socket appears and the process stays in the foreground"
check wait_socket "$FPID"
desc "-F: the pid file names the very process started (no fork)"
for ((i = 0; i < 40; i++)); do [ -s "$PIDFILE" ] && break; sleep 0.05; done
expect_eq "$FPID" "$(cat "$PIDFILE")"
auth 0 alice secret1
desc "-F: the process dropped privileges like the others"
expect_eq "65534 65534 65534 65534" "$(pid_status "$FPID" Uid)"
sleep 0.3
check grep -q 'ready:' "$TMP/fg.log"
# (logging.sh holds both cases on any machine.)
if python3 -c 'import socket; socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).connect("/dev/log")' 2>/dev/null; then
	desc "-F: once ready, routine lines go to syslog only, not to standard error (authd.8)"
	check test -z "$(grep 'result=' "$TMP/fg.log")"
else
	desc "-F without a syslog daemon here: every line on standard error, said once"
	check grep -q 'result=' "$TMP/fg.log"
	expect_eq 1 "$(grep -c 'no syslog daemon' "$TMP/fg.log")"
fi
rc=0
kill -TERM "$FPID"
wait "$FPID" || rc=$?
desc "-F: SIGTERM, exit 0"
expect_eq 0 "$rc"

# -d with -m and -n on the command line.
START_SOCK=$TMP/cli/mux start_authd -m "$TMP/cli" -n 1
desc "-m DIR puts the socket in DIR"
check test -S "$TMP/cli/mux"
expect_log 'ready: .*/cli/mux.*, back-end store, 1 hash workers'
desc "-m DIR answers"
expect_rc 0 "$AUTHTEST" mux -f "$TMP/cli/mux" -u alice -p secret1
stop_authd
desc "not being root: refused with a message"
expect_rc 1 setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$AUTHD" -d -c "$CONF"
expect_err 'must be started as root'
finish
