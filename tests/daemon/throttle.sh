#!/bin/bash
# The failure throttle (check.c finish(), throttle.c): the n-th failure is
# delayed auth_failure_delay << (n-1), capped at auth_failure_delay_max,
# where n = max(failures of the user, failures from the client address);
# the address counts only when the client sent one (5th field).  A
# success resets the user's count (not the address's) and is never
# delayed.  The delay never pushes a reply past auth_reply_max.
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"

write_dconf "auth_failure_delay = 300ms" "auth_failure_delay_max = 1200ms"
for u in bob carol dave erin frank gina harry kate lena mike; do
	add_user "$u@example.org" "pw-$u"
done
start_authd

# fail_in LO HI USER [authd-test options] - a wrong password, answered NO
# within LO..HI ms.
fail_in() {
	local lo=$1 hi=$2 user=$3

	shift 3
	timed_auth "$user" wrong "$@"
	if [ "$AUTH_RC" != 1 ]; then
		desc "wrong password for $user${*:+ ($*)} gets NO"
		fail
		echo "#   authd-test exit $AUTH_RC: $AUTH_OUT"
		return 0
	fi
	check_ms "$lo" "$hi" "$AUTH_MS" "wrong password for $user${*:+ ($*)}: NO, delayed"
}

ok_in() {
	local hi=$1 user=$2

	shift 2
	timed_auth "$user" "pw-$user" "$@"
	if [ "$AUTH_RC" != 0 ]; then
		desc "right password for $user${*:+ ($*)} gets OK"
		fail
		echo "#   authd-test exit $AUTH_RC: $AUTH_OUT"
		return 0
	fi
	check_ms 0 "$hi" "$AUTH_MS" "right password for $user${*:+ ($*)}: OK, not delayed"
}

# Slack: the delay is a lower bound; hashing (1000 rounds) and starting
# authd-test come on top.
S=250

# --- one user, no client address ------------------------------------------
fail_in 290 $((300 + S)) bob
fail_in 590 $((600 + S)) bob
fail_in 1190 $((1200 + S)) bob
fail_in 1190 $((1200 + S)) bob
expect_log 'user=bob@example\.org .*reason="wrong password" delay=300ms'
expect_log 'user=bob@example\.org .*reason="wrong password" delay=600ms'
expect_log 'user=bob@example\.org .*reason="wrong password" delay=1200ms'
desc "the 4th failure is capped at auth_failure_delay_max (two 1200 ms lines)"
expect_eq 2 "$(log_count 'user=bob@example\.org .*delay=1200ms')"
# Failures of bob do not touch carol.
ok_in 150 carol
fail_in 290 $((300 + S)) carol
# A right password right after the failures is answered at once ...
ok_in 150 bob
# ... and resets bob's count: the next failure starts over at 300 ms.
fail_in 290 $((300 + S)) bob
ok_in 150 bob
# Unknown users are throttled like known ones (the reply must not tell).
fail_in 290 $((300 + S)) nosuchuser
fail_in 590 $((600 + S)) nosuchuser

# --- with the client address (the 5th field) --------------------------------
X=198.51.100.1
Y=198.51.100.2
Z=198.51.100.3
fail_in 290 $((300 + S)) dave -a "$X"
fail_in 590 $((600 + S)) dave -a "$X"
fail_in 1190 $((1200 + S)) dave -a "$X"
# Another user from the same address: n = max(erin 1, X 4) -> capped.
fail_in 1190 $((1200 + S)) erin -a "$X"
# A right password from the busy address is not delayed.
ok_in 150 erin -a "$X"
# The address's count survives a success (only the user's is reset).
fail_in 1190 $((1200 + S)) gina -a "$X"
# The same user from another address: its own count (4 for dave) rules.
fail_in 1190 $((1200 + S)) dave -a "$Y"
# A fresh user from a fresh address: the first step.
fail_in 290 $((300 + S)) frank -a "$Z"
# Without an address nothing is counted per address: harry starts at 300
# although every earlier address-less client failed too.
fail_in 290 $((300 + S)) harry
expect_log 'user=gina@example\.org service=imap client=198\.51\.100\.1 result=fail reason="wrong password" delay=1200ms'
# libsasl2 sends "ip;port" and the port changes with every connection:
# the address alone is counted.
fail_in 290 $((300 + S)) kate -a "192.0.2.50;1111"
fail_in 590 $((600 + S)) lena -a "192.0.2.50;2222"
expect_log 'user=lena@example\.org service=imap client=192\.0\.2\.50;2222 result=fail .*delay=600ms'

# A client that hangs up before the answer is still logged and counted
# once its password was checked: hanging up must not dodge the throttle.
# (Whether authd notices the hang-up during the hash or during the delay
# that follows is a race with a cheap hash: the first logs "client went
# away", the second the failure itself; either way the next failure is
# the second step.)  If it notices while the check still waits for a
# worker, the check leaves the queue unchecked (no hash for nobody) and
# counts nothing: the client learnt nothing either.
mux f:mike f:wrong f:imap f:example.org send
expect_log 'user=mike@example\.org service=imap client=-(: client went away before the answer \((wrong password|tempfail)\)| result=fail reason="wrong password")'
if [ "$(log_count 'user=mike@example\.org .*went away before the answer \(tempfail\)')" = 1 ]; then
	fail_in 290 $((300 + S)) mike
else
	fail_in 590 $((600 + S)) mike
fi

# --- the delay counts from the request, and never passes auth_reply_max -
# A user whose hash takes ~1 s (sha512-crypt rounds measured for this
# machine) and a 1500 ms failure delay: the failure is answered 1500 ms
# after the request (hash included, not hash plus delay), so a slow
# verifier and a fast one fail in the same time; all within
# auth_reply_max = 2s.
stop_authd
write_dconf "auth_failure_delay = 1500ms" "auth_failure_delay_max = 1500ms" \
	"auth_reply_max = 2s"
ROUNDS=$(python3 -W ignore -c '
import crypt, time
t = time.monotonic()
crypt.crypt("x", "$6$rounds=200000$abcdefgh")
d = time.monotonic() - t
print(min(50000000, max(200000, int(200000 * 1.15 / d))))')
sed "s/^password_cost = .*/password_cost = $ROUNDS/" "$CONF" >"$TMP/slow.conf"
printf 'pw-slow\n' | "$PWTOOL" -c "$TMP/slow.conf" -f "$DB" -p add slow@example.org >/dev/null
start_authd
timed_auth slow pw-slow
HASH_MS=$AUTH_MS
desc "the slow user logs in (hash time ${HASH_MS} ms, $ROUNDS rounds)"
expect_eq 0 "$AUTH_RC"
for i in 1 2; do
	timed_auth slow wrong
	desc "slow user, failure $i: NO"
	expect_eq 1 "$AUTH_RC"
	check_ms 0 2200 "$AUTH_MS" "slow user, failure $i: the reply stays within auth_reply_max = 2s"
	if [ "$HASH_MS" -gt 650 ] && [ "$HASH_MS" -lt 1400 ]; then
		check_ms 1450 1800 "$AUTH_MS" \
			"slow user, failure $i: answered 1500 ms after the request, hash (${HASH_MS} ms) included"
	fi
	timed_auth nosuchuser wrong
	check_ms 1450 1800 "$AUTH_MS" \
		"unknown user right after: answered in the same 1500 ms"
done
desc "the log shows the chosen delay, 1500 ms"
check grep -Eq 'user=slow@example\.org .*result=fail .*delay=1500ms' <(cur_log)

# --- auth_reply_max holds even when the check itself is slower ---
# A user whose hash takes ~2.3 s and auth_reply_max = 1s: the client gets
# its temporary failure (an empty reply: authd-test exits 2, not 1 for NO)
# at 1 s, not when the hash ends; the check finishes in the background and
# the log says what it found.
stop_authd
sed "s/^password_cost = .*/password_cost = $((ROUNDS * 2))/" "$CONF" >"$TMP/slower.conf"
printf 'pw-slower\n' | "$PWTOOL" -c "$TMP/slower.conf" -f "$DB" -p add slower@example.org >/dev/null
write_dconf "auth_failure_delay = 100ms" "auth_failure_delay_max = 200ms" \
	"auth_reply_max = 1s"
start_authd
timed_auth slower pw-slower
desc "a check slower than auth_reply_max = 1s: a temporary failure, not NO"
expect_eq 2 "$AUTH_RC"
check_ms 950 1600 "$AUTH_MS" \
	"... answered at auth_reply_max, not after the ~$((HASH_MS * 2)) ms hash"
desc "the log says the answer came at auth_reply_max, and what the check found"
# (logged when the hash ends: allow for a loaded machine, up to 10 s)
EXPECT_LOG_TRIES=200 expect_log 'user=slower@example\.org .*answered tempfail at auth_reply_max, before the check ended \(ok\)'
desc "authd still answers at once afterwards"
auth 0 kate pw-kate
finish
