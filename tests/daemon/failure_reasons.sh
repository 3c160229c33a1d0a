#!/bin/bash
# Unknown user, wrong password and locked account: the client sees the
# same bytes (and, through the dummy hash, about the same time); only the
# log tells them apart; no password ever reaches the log.
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"

# A hash that takes measurable time (~0.1-0.2 s), so that a skipped dummy
# hash for unknown users would show; no failure delay, so that only the
# hashing is timed.
write_dconf_base \
	"user = nobody" "group = nogroup" "socket_dir = $SOCKDIR" \
	"store_path = $DB" "store_group = nogroup" \
	"default_realm = example.org" "password_scheme = sha512-crypt" \
	"password_cost = 250000" "auth_failure_delay = 0" \
	"auth_failure_delay_max = 0"
add_user alice@example.org 'Al1ce-S3cret!'
add_user lockedadd@example.org 'L0cked-At-Birth' --disabled
add_user lockedlater@example.org 'L0cked-L4ter'
desc "pwtool lock lockedlater@example.org"
expect_rc 0 pw lock lockedlater@example.org
start_authd

mux_reply() {
	mux f:"$1" f:"$2" f:imap f:example.org read
	sed -n 's/^reply=//p' <<<"$MUX_OUT"
}

R_OK=$(mux_reply alice 'Al1ce-S3cret!')
R_WRONG=$(mux_reply alice 'Wr0ng-Passw0rd')
R_UNKNOWN=$(mux_reply nosuchuser 'Unkn0wn-Passw0rd')
R_LOCKED1=$(mux_reply lockedadd 'L0cked-At-Birth')
R_LOCKED2=$(mux_reply lockedlater 'L0cked-L4ter')
R_LOCKEDW=$(mux_reply lockedlater 'L0cked-Wr0ng')
desc "the right password gets [OK]"
expect_eq "[OK]" "$R_OK"
desc "a wrong password gets exactly [NO]"
expect_eq "[NO]" "$R_WRONG"
desc "an unknown user gets the same bytes as a wrong password"
expect_eq "$R_WRONG" "$R_UNKNOWN"
desc "a user added --disabled, right password: the same bytes"
expect_eq "$R_WRONG" "$R_LOCKED1"
desc "a user locked with pwtool lock, right password: the same bytes"
expect_eq "$R_WRONG" "$R_LOCKED2"
desc "a locked user with a wrong password: the same bytes"
expect_eq "$R_WRONG" "$R_LOCKEDW"

expect_log 'user=alice@example\.org service=imap client=- result=fail reason="wrong password"'
expect_log 'user=nosuchuser@example\.org service=imap client=- result=fail reason="unknown user"'
expect_log 'user=lockedadd@example\.org service=imap client=- result=fail reason="account locked"'
expect_log 'user=lockedlater@example\.org service=imap client=- result=fail reason="account locked"'
desc "a locked user's wrong password is logged as a wrong password"
check grep -q 'user=lockedlater@example\.org .*reason="wrong password"' "$LOG"

# Timing: an unknown user costs a (dummy) hash like a known one.
tw=0 tu=0
for i in 1 2 3; do
	timed_auth alice "Wr0ng-$i"
	tw=$((tw + AUTH_MS))
	timed_auth "ghost$i" "Wr0ng-$i"
	tu=$((tu + AUTH_MS))
done
desc "an unknown user takes about as long as a wrong password (dummy hash: ${tu} vs ${tw} ms for 3)"
if [ "$tw" -ge 60 ] && [ $((tu * 10)) -ge $((tw * 5)) ] && [ $((tu * 10)) -le $((tw * 20)) ]; then pass; else fail; fi

desc "pwtool unlock lockedlater@example.org"
expect_rc 0 pw unlock lockedlater@example.org
auth 0 lockedlater 'L0cked-L4ter'

desc "no password of the session appears in the log"
check bash -c '! grep -Eq "S3cret|Wr0ng|Unkn0wn|L0cked-" "$1"' _ "$LOG"
desc "the log has one line per check (11 failures, 2 successes)"
expect_eq "11 2" "$(log_count 'result=fail') $(log_count 'result=ok')"
finish
