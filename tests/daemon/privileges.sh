#!/bin/bash
# The privilege drop (/proc/PID/status), socket and directory ownership
# and modes, and the SO_PEERCRED checks of socket_peer_users/groups.
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"

[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root"; FINISHED=1; exit 77; }

write_dconf
add_user alice@example.org secret1
start_authd
P=$AUTHD_PID

desc "Uid: real, effective, saved and fs uid are all nobody (65534)"
expect_eq "65534 65534 65534 65534" "$(pid_status "$P" Uid)"
desc "Gid: all four are nogroup (65534)"
expect_eq "65534 65534 65534 65534" "$(pid_status "$P" Gid)"
desc "Groups: empty (no supplementary groups kept from root)"
expect_eq "" "$(pid_status "$P" Groups)"
desc "no effective or permitted capabilities"
expect_eq "0000000000000000 0000000000000000" "$(pid_status "$P" CapEff) $(pid_status "$P" CapPrm)"
desc "every thread (hash workers included) runs as nobody"
bad_threads=0
for st in /proc/"$P"/task/*/status; do
	u=$(sed -n 's/^Uid:[[:space:]]*//p' "$st" | tr -s ' \t' ' ')
	[ "$u" = "65534 65534 65534 65534" ] || bad_threads=$((bad_threads + 1))
done
expect_eq 0 "$bad_threads"
desc "the process is not dumpable (passwords pass through it)"
# /proc/PID/environ of a non-dumpable process belongs to root.
expect_eq "root" "$(stat -c %U "/proc/$P/environ")"

desc "the socket is nobody:nogroup, mode 0660 by default"
expect_eq "socket nobody nogroup 660" "$(stat -c '%F %U %G %a' "$SOCK" | sed 's/^socket/socket/')"
desc "the socket directory was created nobody:nogroup, mode 0750"
expect_eq "nobody nogroup 750" "$(stat -c '%U %G %a' "$SOCKDIR")"
desc "the pid file is owned by the daemon's user"
expect_eq "nobody" "$(stat -c %U "$SOCKDIR/authd.pid")"
auth 0 alice secret1
stop_authd

# socket_mode, socket_group, socket_dir_mode.
rm -rf "$SOCKDIR"
write_dconf "socket_mode = 0600" "socket_dir_mode = 0710" "socket_group = mail"
start_authd
desc "socket_mode = 0600 is applied"
expect_eq "600" "$(stat -c %a "$SOCK")"
desc "socket_group = mail is applied to the socket"
expect_eq "nobody mail" "$(stat -c '%U %G' "$SOCK")"
desc "socket_dir_mode = 0710 and socket_group apply to a new socket directory"
expect_eq "710 mail" "$(stat -c '%a %G' "$SOCKDIR")"
desc "root still gets answers through the 0600 socket"
auth 0 alice secret1
stop_authd

# An existing socket directory is left as the admin made it.
rm -rf "$SOCKDIR"
mkdir -m 0755 "$SOCKDIR"
write_dconf
start_authd
desc "an existing socket_dir keeps its owner and mode"
expect_eq "root 755" "$(stat -c '%U %a' "$SOCKDIR")"
stop_authd

# socket_peer_users: SO_PEERCRED of the client.  The socket (0660
# nobody:nogroup, in a 0750 nobody:nogroup directory) is reachable by
# nobody and by members of nogroup: the peer check is the only barrier.
as_user() {	# as_user USER GROUP CMD...
	local u=$1 g=$2

	shift 2
	setpriv --reuid="$u" --regid="$g" --clear-groups -- "$@"
}
# refused DESC USER GROUP - the client gets no reply at all: authd-test exits
# 2, or dies of SIGPIPE (141) when the server closed before its write
# (that authd-test bug has its own check below).
refused() {
	local d=$1 rc=0 out

	shift
	out=$("$@" -u alice -p secret1 2>&1) || rc=$?
	if { [ "$rc" = 2 ] || [ "$rc" = 141 ]; } && ! grep -q '^OK' <<<"$out"; then
		pass "$d (exit $rc)"
	else
		fail "$d"
		echo "#   exit $rc, output: $out"
	fi
}
write_dconf "socket_peer_users = daemon"
start_authd
desc "socket_peer_users = daemon: root is always allowed"
auth 0 alice secret1
desc "socket_peer_users = daemon: the user daemon (gid nogroup) is allowed"
expect_rc 0 as_user daemon nogroup "$AUTHTEST" mux -f "$SOCK" -u alice -p secret1
refused "socket_peer_users = daemon: nobody is refused (closed, no reply)" \
	as_user nobody nogroup "$AUTHTEST" mux -f "$SOCK"
expect_log 'refused a client: pid [0-9]+ uid 65534 gid 65534 is not in socket_peer_users'
desc "the refusal did not run a check (no log line for it)"
expect_eq 2 "$(log_count 'user=alice@example\.org .*result=ok')"
stop_authd

write_dconf "socket_peer_users = root"
start_authd
desc "socket_peer_users = root: root is allowed"
auth 0 alice secret1
refused "socket_peer_users = root: nobody is refused" \
	as_user nobody nogroup "$AUTHTEST" mux -f "$SOCK"
refused "socket_peer_users = root: nobody via runuser is refused too" \
	runuser -u nobody -- "$AUTHTEST" mux -f "$SOCK"
# authd-test promises exit 2 for connection errors: a server that closes
# before the request is written must not kill it with SIGPIPE.
rcs=
for i in $(seq 20); do
	rc=0
	as_user nobody nogroup "$AUTHTEST" mux -f "$SOCK" -u alice -p secret1 >/dev/null 2>&1 || rc=$?
	rcs+="$rc "
done
desc "authd-test exits 2 (never 141, SIGPIPE) on 20 refused connections"
expect_eq "$(printf '2 %.0s' $(seq 20))" "$rcs"
stop_authd

write_dconf "socket_peer_groups = mail"
start_authd
desc "socket_peer_groups = mail: a client whose gid is mail is allowed"
expect_rc 0 as_user nobody mail "$AUTHTEST" mux -f "$SOCK" -u alice -p secret1
refused "socket_peer_groups = mail: the same user with gid nogroup is refused" \
	as_user nobody nogroup "$AUTHTEST" mux -f "$SOCK"
desc "socket_peer_groups = mail: gid nogroup with mail among the supplementary groups is allowed"
expect_rc 0 setpriv --reuid=nobody --regid=nogroup --groups=mail -- \
	"$AUTHTEST" mux -f "$SOCK" -u alice -p secret1
refused "socket_peer_groups = mail: supplementary groups without mail are refused" \
	setpriv --reuid=nobody --regid=nogroup --groups=daemon,nogroup -- \
	"$AUTHTEST" mux -f "$SOCK"
stop_authd

write_dconf
start_authd
desc "without socket_peer_*, any client that reaches the socket is served (nobody)"
expect_rc 0 as_user nobody nogroup "$AUTHTEST" mux -f "$SOCK" -u alice -p secret1
desc "a client that cannot reach the socket (uid daemon, gid daemon) gets exit 2"
expect_rc 2 as_user daemon daemon "$AUTHTEST" mux -f "$SOCK" -u alice -p secret1
expect_err 'Permission denied'
stop_authd

# A descriptor the parent left open (no close-on-exec) must not stay with
# the daemon: it would keep the file or peer alive and cross the chroot
# and the privilege drop.
exec 7>"$TMP/inherited.txt"
start_authd
exec 7>&-
desc "a descriptor inherited from the parent (fd 7 on a file) is closed in the daemon"
check bash -c '! find "/proc/$1/fd" -mindepth 1 -lname "*inherited.txt*" | grep -q .' _ "$AUTHD_PID"
desc "... and stdin, stdout and stderr are kept"
check test -e "/proc/$AUTHD_PID/fd/0" -a -e "/proc/$AUTHD_PID/fd/1" -a -e "/proc/$AUTHD_PID/fd/2"
auth 0 alice secret1
stop_authd

# start_chrooted ROOT - start_authd for a configuration with chroot =
# ROOT.  In a sanitizer build the absolute log_path lies outside ROOT and
# LeakSanitizer needs /proc, which ROOT lacks (it spins at exit, unable to
# report): reports go to ROOT/sanitizer through a relative path (the
# daemon starts in ROOT, which chroot makes its "/"), collected into
# $SANDIR by stop_chrooted, and leaks are not checked for these runs.
start_chrooted() {
	local a=$ASAN_OPTIONS u=$UBSAN_OPTIONS

	CHROOT_DIR=$1
	mkdir -p "$CHROOT_DIR/sanitizer"
	chmod 1777 "$CHROOT_DIR/sanitizer"
	export ASAN_OPTIONS="$a:detect_leaks=0:log_path=sanitizer/asan"
	export UBSAN_OPTIONS="$u:log_path=sanitizer/ubsan"
	cd "$CHROOT_DIR"
	start_authd
	cd - >/dev/null
	export ASAN_OPTIONS="$a" UBSAN_OPTIONS="$u"
}
stop_chrooted() {
	stop_authd
	if [ "$CHROOT_DIR/sanitizer" != "$SANDIR" ] &&
	    compgen -G "$CHROOT_DIR/sanitizer/*" >/dev/null; then
		cp -p "$CHROOT_DIR"/sanitizer/* "$SANDIR"/
	fi
}

# chroot: the sockets and the pid file are made before the chroot, under
# paths that do not exist inside it; shutdown removes them through their
# paths inside.
rm -rf "$SOCKDIR"
write_dconf "chroot = $TMP"
start_chrooted "$TMP"
desc "chroot = \$TMP: the daemon's root is the chroot"
expect_eq "$TMP" "$(readlink "/proc/$AUTHD_PID/root")"
auth 0 alice secret1
stop_chrooted
desc "chroot: authd stops cleanly (exit 0)"
expect_eq 0 "$STOP_RC"
desc "chroot: after SIGTERM both socket files are gone"
check test ! -e "$SOCKDIR/mux" -a ! -e "$SOCKDIR/auth"
desc "chroot: and so is the pid file"
check test ! -e "$SOCKDIR/authd.pid"
expect_no_log 'unlink|outside'

# A socket_dir outside the chroot cannot be reached from inside: said at
# start, and the next start replaces the stale sockets.
mkdir -m 0755 "$TMP/jail"
write_dconf "chroot = $TMP/jail"
start_chrooted "$TMP/jail"
expect_log "socket_dir $SOCKDIR or pid_file $SOCKDIR/authd\.pid lies outside chroot $TMP/jail"
stop_chrooted
desc "socket_dir outside the chroot: the sockets stay behind"
check test -S "$SOCKDIR/mux"
write_dconf
start_authd
desc "... and the next start replaces them"
auth 0 alice secret1
stop_authd
finish
