#!/bin/bash
# The memory budget (issue 9): clients that never read their replies, and
# SCRAM exchanges with huge nonces, cannot grow authd past
# connection_memory_max; the memory goes back once they leave.
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"

MEMTEST=$SRCDIR/tests/daemon/memtest.py
mt() {
	MT=$(timeout 90 python3 "$MEMTEST" "$@" 2>&1) || true
}
mtv() { sed -n "s/^$1=//p" <<<"$MT" | head -n 1; }
# Under AddressSanitizer the RSS is mostly its quarantine of freed memory
# and its own allocator's caches: the bounds are checked in the normal
# build only (the rest of the script runs in both).
ASAN_BUILD=no
grep -q __asan_init "$AUTHD" && ASAN_BUILD=yes
# at_most WHAT MAX_KB KB
at_most() {
	if [ "$ASAN_BUILD" = yes ]; then
		pass "$1 (not measured under AddressSanitizer: $3 kB)"
	elif [ -n "$3" ] && [ "$3" -le "$2" ]; then
		pass "$1 ($3 kB, at most $2)"
	else
		fail "$1 (${3:-?} kB, at most $2)"
		echo "#   ${MT//$'\n'/ | }"
	fi
}

write_dconf
add_user alice@example.org secret1
start_authd

# SCRAM: 128 open exchanges on one connection with 3,900-byte client
# nonces held 1.9 MB; the nonce is capped at 256 characters.
mt scram "$ASOCK" "$AUTHD_PID" 128
desc "128 SCRAM exchanges with 3,900-byte client nonces are all refused"
expect_eq "0 128" "$(mtv cont) $(mtv fail)"
expect_log 'SCRAM client nonce longer than 256'
# An ordinary SCRAM login still works.
authp open a
authp run a 1 SCRAM-SHA-256 alice@example.org secret1
desc "an ordinary SCRAM-SHA-256 login still succeeds"
expect_eq yes "$(ap_val verified)"
authp close a

# 200 clients that send bad lines and never read: with the default
# budget (32 MiB) each is stopped at its 48 KiB backlog (a 64 KiB
# buffer).  Before the budget: 60 MiB, a 256 KiB backlog each.
mt noread "$ASOCK" "$AUTHD_PID" 200
grown=$(( $(mtv rss_full) - $(mtv rss0) ))
at_most "200 never-reading clients grow authd by less than the default budget (32 MiB)" \
	$((32 * 1024)) "$grown"
echo "# RSS before ${MT//$'\n'/, }"
back=$(( $(mtv rss_after) - $(mtv rss0) ))
at_most "... and RSS falls back once they left" $((3 * 1024)) "$back"

# The same with a 4 MiB budget: each client's share is far below its
# backlog; reading stops at the share.
stop_authd
write_dconf "connection_memory_max = 4"
start_authd
mt noread "$ASOCK" "$AUTHD_PID" 200
grown=$(( $(mtv rss_full) - $(mtv rss0) ))
echo "# RSS ${MT//$'\n'/, }"
# 4 MiB, plus per client its minimum share (4 KiB: an 8 KiB buffer) and
# one read of input it has not handled yet (4 KiB), as authd.conf(5) says
# (16 KiB), and the allocator's own: 10 MiB in all.
at_most "200 never-reading clients with connection_memory_max = 4 grow authd by at most 10 MiB" \
	$((10 * 1024)) "$grown"
back=$(( $(mtv rss_after) - $(mtv rss0) ))
at_most "... and RSS falls back once they left" $((3 * 1024)) "$back"
desc "authd still answers after them"
auth 0 alice secret1

# Open exchanges count too: 6 connections with 128 SCRAM exchanges each
# (about 1.5 KiB apiece) spend a 1 MiB budget; the connections over
# their share get temp_fail for the rest, and a new client is served.
stop_authd
write_dconf "connection_memory_max = 1"
start_authd
mt busy "$ASOCK" "$AUTHD_PID" 6 128
echo "# ${MT//$'\n'/, }"
desc "with connection_memory_max = 1, 768 open SCRAM exchanges: the first ones get their challenge"
if [ "$(mtv cont)" -ge 300 ]; then pass; else fail; echo "#   ${MT//$'\n'/ | }"; fi
desc "... and the rest fail with code=temp_fail (server busy)"
expect_eq 768 "$(( $(mtv cont) + $(mtv busy) ))"
if [ "$(mtv busy)" -gt 0 ]; then pass "... some of them ($(mtv busy))"; else fail "... some of them (none)"; fi
desc "... while a new client logs in"
expect_eq OK "$(mtv fresh)"
finish
