#!/bin/bash
# Where authd's lines go (authd.8, LOGGING; log_target in authd.conf.5):
# each line once, never silently dropped.  A private mount namespace gives
# authd a /dev that has a log socket of the test's (a stand-in syslog
# daemon) or none at all, whatever this machine has:
#   - no syslog daemon: stderr instead, said once, also after "ready";
#   - -F by hand: syslog, and stderr until ready;
#   - -F under systemd ($INVOCATION_ID): syslog only, no copy on stderr;
#   - -F with stderr the journal ($JOURNAL_STREAM): stderr only, with
#     "<N>" priorities, nothing to syslog;
#   - log_target = syslog or stderr: that one only;
#   - the background mode: warnings after the fork reach the terminal.
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"

skip() {
	echo "1..0 # SKIP $*"
	FINISHED=1
	exit 77
}
[ "$(id -u)" = 0 ] || skip "not root (unshare -m needs it)"
unshare -m true 2>/dev/null || skip "unshare -m is not allowed here"

NSDEV=$TMP/nsdev
mkdir "$NSDEV"
for f in null zero random urandom; do
	touch "$NSDEV/$f"
done
# ns_devlog DEVLOG - the next "${NS[@]}" CMD... runs CMD (exec'd: same
# pid) with /dev/log a link to the socket DEVLOG, or with no /dev/log when
# DEVLOG is empty.
ns_devlog() {
	rm -f "$NSDEV/log"
	[ -z "$1" ] || ln -s "$1" "$NSDEV/log"
}
NS=(unshare -m -- sh -c 'd=$1; shift
	for f in null zero random urandom; do
		mount --bind "/dev/$f" "$d/$f" || exit 99
	done
	mount --rbind "$d" /dev || exit 99
	exec "$@"' sh "$NSDEV")

# The stand-in syslog daemon: every datagram, one a line, in $SYSLOG_OUT.
SYSLOG=$TMP/syslog.sock
SYSLOG_OUT=$TMP/syslog.out
: >"$SYSLOG_OUT"
python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
with open(sys.argv[2], "a") as out:
    while True:
        out.write(s.recv(8192).decode("utf-8", "replace") + "\n")
        out.flush()
' "$SYSLOG" "$SYSLOG_OUT" &
SYSLOG_PID=$!
at_exit "kill $SYSLOG_PID 2>/dev/null"
for ((i = 0; i < 100; i++)); do [ -S "$SYSLOG" ] && break; sleep 0.05; done

write_dconf
add_user alice@example.org secret1
FERR=$TMP/fg.err

# fg_start DEVLOG [ENV=VALUE...] -- [AUTHD ARGS...] - authd -F in the
# namespace, stderr to $FERR (which it may also be told is the journal),
# until the socket is there; then one good and one bad login.
fg_start() {
	local devlog=$1 i

	shift
	local envs=()
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	rm -f "$FERR"
	: >"$FERR"
	: >"$SYSLOG_OUT"
	exec {FD}>>"$FERR"
	if [ "${envs[0]:-}" = JOURNAL ]; then
		envs=("JOURNAL_STREAM=$(stat -c '%d:%i' "$FERR")" "${envs[@]:1}")
	fi
	ns_devlog "$devlog"
	"${NS[@]}" env "${envs[@]}" "$AUTHD" -F -c "$CONF" "$@" 2>&"$FD" &
	FPID=$!
	exec {FD}>&-
	AUTHD_PIDS+=("$FPID")
	if ! wait_socket "$FPID"; then
		echo "Bail out! authd -F did not start"
		diag "$FERR" stderr
		exit 1
	fi
	sleep 0.2
	auth 0 alice secret1
	auth 1 alice wrong
	sleep 0.2
}
fg_stop() {
	kill -TERM "$FPID"
	wait "$FPID" || true
	rm -f "$SOCK" "$SOCKDIR/auth"
}
# count FILE RE - lines of FILE that match RE.
count() {
	grep -Ec -- "$2" "$1" || true
}

fg_start "" --
desc "no syslog daemon: one warning on stderr that says so"
expect_eq 1 "$(count "$FERR" 'warning: no syslog daemon on /dev/log \(No such file or directory\): logging to standard error instead')"
desc "no syslog daemon: the lines after ready go to stderr too (none dropped)"
expect_eq "1 1" "$(count "$FERR" 'result=ok') $(count "$FERR" 'result=fail')"
fg_stop
desc "no syslog daemon: and so does the shutdown"
check grep -q 'authd: stopped' "$FERR"

fg_start "$SYSLOG" --
desc "-F by hand: syslog gets every line"
expect_eq "1 1 1" "$(count "$SYSLOG_OUT" 'authd\[[0-9]+\]: ready:') $(count "$SYSLOG_OUT" 'result=ok') $(count "$SYSLOG_OUT" 'result=fail')"
desc "-F by hand: stderr has the start-up lines, up to ready, and no more"
expect_eq "1 0" "$(count "$FERR" '^authd: ready:') $(count "$FERR" 'result=')"
desc "-F by hand: no warning about syslog"
expect_eq 0 "$(count "$FERR" 'no syslog')"
fg_stop

fg_start "$SYSLOG" INVOCATION_ID=0123456789abcdef0123456789abcdef --
desc "-F under systemd, stderr not the journal: every line to syslog"
expect_eq "1 1 1" "$(count "$SYSLOG_OUT" 'ready:') $(count "$SYSLOG_OUT" 'result=ok') $(count "$SYSLOG_OUT" 'result=fail')"
desc "-F under systemd: nothing on stderr (the journal has syslog's lines: no second copy)"
check test ! -s "$FERR"
fg_stop

fg_start "$SYSLOG" JOURNAL INVOCATION_ID=0123456789abcdef0123456789abcdef --
desc "-F, stderr the journal: every line once on stderr, with its priority"
expect_eq "1 1 1" "$(count "$FERR" '^<6>ready: ') $(count "$FERR" '^<6>mux: .*result=ok') $(count "$FERR" '^<5>mux: .*result=fail')"
desc "-F, stderr the journal: no line without a priority, no name prefix"
expect_eq 0 "$(count "$FERR" '^[^<]|^<[0-7]>authd: ')"
desc "-F, stderr the journal: nothing to syslog"
check test ! -s "$SYSLOG_OUT"
fg_stop
desc "-F, stderr the journal: the shutdown too"
check grep -q '^<6>stopped$' "$FERR"

# JOURNAL_STREAM naming another file: stderr is not the journal.
fg_start "$SYSLOG" JOURNAL_STREAM=1:1 --
desc "JOURNAL_STREAM that is not stderr: syslog, no copy on stderr, no prefixes"
expect_eq "1 0" "$(count "$SYSLOG_OUT" 'result=ok') $(count "$FERR" '^<')"
fg_stop

write_dconf "log_target = syslog"
fg_start "$SYSLOG" JOURNAL --
desc "log_target = syslog with stderr the journal: syslog only"
expect_eq "1 0" "$(count "$SYSLOG_OUT" 'result=ok') $(wc -l <"$FERR")"
fg_stop

write_dconf "log_target = stderr"
fg_start "$SYSLOG" --
desc "log_target = stderr: every line on stderr, also after ready"
expect_eq "1 1 1" "$(count "$FERR" '^authd: ready:') $(count "$FERR" '^authd: mux: .*result=ok') $(count "$FERR" 'result=fail')"
desc "log_target = stderr: nothing to syslog"
check test ! -s "$SYSLOG_OUT"
fg_stop

# The background mode: what goes wrong after the fork is still said where
# authd was started (the store missing: a warning, the daemon serves).
write_dconf_base "user = nobody" "group = nogroup" "socket_dir = $SOCKDIR" \
	"store_path = $TMP/missing.db" "default_realm = example.org"
desc "background, a warning after the fork: the parent exits 0"
ns_devlog "$SYSLOG"
expect_rc 0 timeout 10 "${NS[@]}" "$AUTHD" -c "$CONF"
DPID=$(cat "$SOCKDIR/authd.pid")
AUTHD_PIDS+=("$DPID")
desc "... and prints the daemon's warning on its standard error"
expect_err '^authd: store not readable yet \(.*missing\.db: No such file or directory\)'
desc "... which syslog has as well"
check grep -q 'store not readable yet' "$SYSLOG_OUT"
desc "... but not the routine lines (syslog has those)"
check bash -c '! grep -q "ready:" "$1"' _ "$ERR"
_kill_pid "$DPID"
rm -f "$SOCK" "$SOCKDIR/auth"

desc "background without a syslog daemon: the parent exits 0"
ns_devlog ""
expect_rc 0 timeout 10 "${NS[@]}" "$AUTHD" -c "$CONF"
DPID=$(cat "$SOCKDIR/authd.pid")
AUTHD_PIDS+=("$DPID")
desc "... and says where the lines go instead"
expect_err 'warning: no syslog daemon on /dev/log .*logging to standard error instead'
desc "... the daemon keeps the standard error it was given (not /dev/null)"
check test "$(readlink "/proc/$DPID/fd/2")" != /dev/null
_kill_pid "$DPID"
finish
