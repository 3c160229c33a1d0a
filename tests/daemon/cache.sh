#!/bin/bash
# auth_cache = yes: hits are logged cached=yes; a password change, a lock
# or a delete takes effect at once; failures are never cached.
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"

write_dconf "auth_cache = yes"
add_user alice@example.org old-pass
add_user bob@example.org bob-pass
start_authd

# login_logged WANT_RC USER PASS CACHED - the reply, and the log line of
# this very check: cached=yes or not.
n_ok() { log_count 'result=ok'; }
n_cached() { log_count 'result=ok cached=yes'; }
login_logged() {
	local want=$1 user=$2 secret=$3 cached=$4 c0

	c0=$(n_cached)
	auth "$want" "$user" "$secret"
	sleep 0.05
	desc "... logged ${cached/no/not} as a cache hit"
	if [ "$cached" = yes ]; then
		expect_eq $((c0 + 1)) "$(n_cached)"
	else
		expect_eq "$c0" "$(n_cached)"
	fi
}

login_logged 0 alice old-pass no
login_logged 0 alice old-pass yes
login_logged 0 alice@example.org old-pass yes
desc "the cache hit is logged as such"
check grep -q 'user=alice@example\.org service=imap client=- result=ok cached=yes' "$LOG"

# Failures are never cached as success, and never hit the cache.
login_logged 1 alice wrong-pass no
login_logged 1 alice wrong-pass no
login_logged 1 alice old-pas no
login_logged 1 alice old-pass-x no
desc "the wrong password was checked, not answered from the cache"
expect_eq 4 "$(log_count 'user=alice@example\.org .*reason="wrong password"')"
# Another user with alice's password: no cross-user hit.
login_logged 1 bob old-pass no
# A wrong password leaves the user's entry alone: someone guessing must
# not be able to make alice's next login pay for the hash again.
login_logged 0 alice old-pass yes

# Password change: the old one fails at once, the new one works.
desc "pwtool passwd alice@example.org"
expect_rc 0 bash -c 'printf "new-pass\n" | "$PWTOOL" -c "$1" -f "$2" -p passwd alice@example.org' _ "$CONF" "$DB"
login_logged 1 alice old-pass no
login_logged 0 alice new-pass no
login_logged 0 alice new-pass yes
login_logged 1 alice old-pass no

# Lock: a cached user fails at once; unlock brings it back.
desc "pwtool lock alice@example.org"
expect_rc 0 pw lock alice@example.org
login_logged 1 alice new-pass no
expect_log 'user=alice@example\.org .*reason="account locked"'
desc "pwtool unlock alice@example.org"
expect_rc 0 pw unlock alice@example.org
# (Whether this one is a cache hit depends on the clock: unlock within the
# second of the passwd restores the very record the entry was made for.)
auth 0 alice new-pass
login_logged 0 alice new-pass yes

# Delete: a cached user fails at once.
desc "pwtool delete alice@example.org"
expect_rc 0 pw delete alice@example.org
login_logged 1 alice new-pass no
expect_log 'user=alice@example\.org .*reason="unknown user"'
# Re-created with the same password: a new record, checked afresh.
add_user alice@example.org new-pass
login_logged 0 alice new-pass no
login_logged 0 alice new-pass yes

# A reload that keeps the cache settings keeps working.
login_logged 0 bob bob-pass no
kill -HUP "$AUTHD_PID"
expect_log 'configuration reloaded'
login_logged 0 bob bob-pass yes

# auth_cache_ttl = 1s: an entry expires.
stop_authd
write_dconf "auth_cache = yes" "auth_cache_ttl = 1s"
start_authd
login_logged 0 bob bob-pass no
login_logged 0 bob bob-pass yes
sleep 1.2
login_logged 0 bob bob-pass no
login_logged 0 bob bob-pass yes
finish
