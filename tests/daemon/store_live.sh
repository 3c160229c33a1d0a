#!/bin/bash
# Store changes are visible to a running authd without a restart or a
# signal (no cache): add, passwd, lock, delete; and a store that appears
# only after the start.
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"

write_dconf
rm -f "$DB"
start_authd
expect_log 'store not readable yet'
desc "with no store file yet, a login fails temporarily (not NO)"
auth 2 alice first-pass
expect_log 'user=alice@example\.org .*result=tempfail'

add_user alice@example.org first-pass
desc "a user added while authd runs logs in at once"
auth 0 alice first-pass
add_user carol@other.org carol-pass
desc "a user in a second realm, added while authd runs, logs in at once"
auth 0 carol@other.org carol-pass
desc "... and with the realm field"
auth 0 carol carol-pass -r other.org
desc "... but not in the default realm"
auth 1 carol carol-pass

desc "pwtool passwd while authd runs"
expect_rc 0 bash -c 'printf "second-pass\n" | "$PWTOOL" -c "$1" -f "$2" -p passwd alice@example.org' _ "$CONF" "$DB"
auth 1 alice first-pass
auth 0 alice second-pass
desc "pwtool lock while authd runs"
expect_rc 0 pw lock alice@example.org
auth 1 alice second-pass
desc "pwtool unlock while authd runs"
expect_rc 0 pw unlock alice@example.org
auth 0 alice second-pass
desc "pwtool delete while authd runs"
expect_rc 0 pw delete alice@example.org
auth 1 alice second-pass
expect_log 'user=alice@example\.org .*reason="unknown user"'

# Many quick changes in a row: each is seen by the next login.
for i in 1 2 3 4 5; do
	add_user "u$i@example.org" "pass-$i"
	desc "user u$i, added just now, logs in"
	auth 0 "u$i" "pass-$i"
done
desc "authd did not restart (one ready line)"
expect_eq 1 "$(log_count 'ready:')"
finish
