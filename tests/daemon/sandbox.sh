#!/bin/bash
# The sandbox (sandbox = yes, the default): no_new_privs and the seccomp
# filter on every thread, and a daemon that still does all it does once
# it serves — both sockets, a store replaced by pwtool, SIGHUP reloads
# that reopen the store and raise the descriptor limit, the background
# start with syslog, and a clean SIGTERM exit.  sandbox = no and the PAM
# back-end run without it, and say so.  That a forbidden call kills the
# process that made it, and only that, is tests/unit/test_sandbox.c.
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"

[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root"; FINISHED=1; exit 77; }

# not_sigsys WHAT RC - a daemon's exit status is not "killed by SIGSYS"
# (128 + 31 from wait), and is 0.
exit_clean() {
	desc "$1: exit status 0 (not 159, killed by SIGSYS)"
	expect_eq 0 "$2"
}

# Filters and no_new_privs this script may have inherited (a container's
# seccomp profile): authd adds one filter to those, or none.
BASE_FILTERS=$(pid_status $$ Seccomp_filters)
BASE_NNP=$(pid_status $$ NoNewPrivs)

# filtered PID WHAT - Seccomp 2 (filter), one filter more than this
# script has, NoNewPrivs 1, on the process and on every one of its threads.
filtered() {
	local p=$1 bad=0 st

	desc "$2: Seccomp 2 (filter), NoNewPrivs 1, its own filter"
	expect_eq "2 1 $((BASE_FILTERS + 1))" "$(pid_status "$p" Seccomp) $(pid_status "$p" NoNewPrivs) $(pid_status "$p" Seccomp_filters)"
	desc "$2: every thread ($(ls /proc/"$p"/task | wc -l)) has the filter"
	for st in /proc/"$p"/task/*/status; do
		grep -q '^Seccomp:[[:space:]]*2$' "$st" || bad=$((bad + 1))
	done
	expect_eq 0 "$bad"
}

write_dconf "auth_mechanisms = plain login cram-md5 scram-sha-256" \
	"auth_workers = 3"
add_user alice@example.org secret1 -m "plain cram-md5 scram"
start_authd
P=$AUTHD_PID
filtered "$P" "sandbox on by default"
expect_log 'sandbox: on, no_new_privs and [0-9]+ system calls'
# The ready line comes after the sandbox: start-up was complete.
desc "the sandbox is entered before the daemon says it is ready"
expect_eq "sandbox ready" "$(cur_log | grep -oE '^authd: (sandbox|ready)' | sed 's/^authd: //' | head -n 2 | tr '\n' ' ' | sed 's/ $//')"

# Both sockets, every kind of exchange.
auth 0 alice secret1
auth 1 alice wrong
auth 1 nobody-here secret1
authp open c wait
desc "auth socket: the handshake offers SCRAM-SHA-256"
check grep -q 'SCRAM-SHA-256' <<<"$AP_OUT"
for m in PLAIN CRAM-MD5 SCRAM-SHA-256; do
	authp run c 1 "$m" alice@example.org secret1
	desc "auth socket: $m OK (nonces from getrandom, hashes in the workers)"
	expect_eq "OK" "$(ap_val result | cut -f1)"
done
authp close c

# pwtool renames a new store in: authd opens it again (open, fstat,
# mmap or pread) under the filter.
printf 'secret2\n' | pw -p passwd alice@example.org >/dev/null
auth 0 alice secret2
add_user bob@example.org bobpass
auth 0 bob bobpass

# SIGHUP: re-read the file, a new store path, a larger max_connections
# (setrlimit), the cache on; then log in again.
pw export | "$PWTOOL" -c "$CONF" -f "$TMP/users2.db" import >/dev/null
printf 'carolpass\n' | "$PWTOOL" -c "$CONF" -f "$TMP/users2.db" -p add \
	carol@example.org >/dev/null
chmod --reference="$DB" "$TMP/users2.db" "$TMP"/users2.db.*.*
chgrp --reference="$DB" "$TMP/users2.db" "$TMP"/users2.db.*.*
write_dconf "auth_mechanisms = plain login cram-md5 scram-sha-256" \
	"auth_workers = 3" "max_connections = 8000" "auth_cache = yes" \
	"sandbox = no"
sed -i "s|^store_path = .*|store_path = $TMP/users2.db|" "$CONF"
kill -HUP "$P"
expect_log 'configuration reloaded'
expect_log 'reload: sandbox changes only on restart; keeping yes'
auth 0 alice secret2
auth 0 alice secret2
auth 1 bob wrong
# A user that /etc/passwd lacks: NSS goes on to its next module (say
# libnss_systemd), which glibc loads now, under the filter.  The reload
# fails (no such user) and the daemon lives on.
echo "socket_peer_users = nosuchuser-$$" >>"$CONF"
kill -HUP "$P"
expect_log "reload failed"
sed -i '/^socket_peer_users = /d' "$CONF"
echo "socket_peer_users = nobody root" >>"$CONF"
n=$(log_count 'configuration reloaded')
kill -HUP "$P"
for ((i = 0; i < 40; i++)); do
	[ "$(log_count 'configuration reloaded')" -gt "$n" ] && break
	sleep 0.05
done
desc "the next reload, with users that exist, works"
expect_eq $((n + 1)) "$(log_count 'configuration reloaded')"
desc "the new store_path is the store now"
auth 0 carol carolpass
desc "after the reloads: the same process, still filtered"
expect_eq "$P 2" "$(pid_status "$P" Pid) $(pid_status "$P" Seccomp)"
desc "no forbidden call: the daemon is alive"
check kill -0 "$P"
stop_authd
exit_clean "SIGTERM under the sandbox" "$STOP_RC"
expect_log 'stopped'
desc "SIGTERM removed the socket and the pid file"
check test ! -e "$SOCK" -a ! -e "$SOCKDIR/authd.pid"

# In the background: syslog instead of stderr, the fork before the drop.
write_dconf
"$AUTHD" -c "$CONF" 2>>"$LOG"
BG=$(cat "$SOCKDIR/authd.pid")
AUTHD_PIDS+=("$BG")
filtered "$BG" "daemonized"
auth 0 alice secret2
kill -HUP "$BG"
sleep 0.3
auth 0 alice secret2
desc "daemonized: SIGTERM ends it, and it removes its pid file"
kill -TERM "$BG"
for ((i = 0; i < 100; i++)); do
	kill -0 "$BG" 2>/dev/null || break
	sleep 0.05
done
check test ! -e "$SOCKDIR/authd.pid"

# sandbox = no: neither no_new_privs nor a filter.
write_dconf "sandbox = no"
start_authd
desc "sandbox = no: no filter of its own, no_new_privs not set"
expect_eq "$BASE_FILTERS $BASE_NNP" "$(pid_status "$AUTHD_PID" Seccomp_filters) $(pid_status "$AUTHD_PID" NoNewPrivs)"
expect_log 'sandbox: off \(sandbox = no\)'
auth 0 alice secret2
stop_authd

# The PAM back-end: its modules may run anything (unix_chkpwd).
write_dconf "auth_backend = pam"
start_authd
desc "auth_backend = pam: no filter of its own, no_new_privs not set"
expect_eq "$BASE_FILTERS $BASE_NNP" "$(pid_status "$AUTHD_PID" Seccomp_filters) $(pid_status "$AUTHD_PID" NoNewPrivs)"
expect_log 'sandbox: off with auth_backend = pam'
stop_authd

desc "sandbox takes yes or no"
write_dconf "sandbox = maybe"
expect_rc 1 "$AUTHD" -t -c "$CONF"
expect_err 'sandbox: expected yes or no'

finish
