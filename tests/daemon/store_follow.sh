#!/bin/bash
# store_follow.sh - a reader checks every authd answer against the state
# the store must be in while `pwtool batch` makes 10,000 changes and
# several compactions happen (issue 11, "Proof"): never a wrong answer,
# never an error, and each change visible to the next request after pwtool
# answered it.  The reader and the model are in storemodel.py (follow).
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"

CHANGES=${FOLLOW_CHANGES:-10000}
# A small store_log_max: pwtool compacts on its own every few hundred
# changes; storemodel.py adds an explicit `pwtool compact` every 2,500.
write_dconf "auth_failure_delay = 0" "auth_failure_delay_max = 0" \
	"store_log_max = 65536"
awk 'BEGIN { for (i = 0; i < 1000; i++)
	printf "base%04d@example.org::{PLAIN}base-%d\n", i, i }' >"$TMP/base.txt"
desc "a base of 1000 users is imported"
expect_rc 0 pw import "$TMP/base.txt"
add_user seed@example.org seed-pass -m cleartext
start_authd
auth 0 seed seed-pass

desc "$CHANGES changes through pwtool batch with a reader checking every answer"
rc=0
PWTOOL=$PWTOOL CONF=$CONF DB=$DB SOCK=$SOCK SEED_USER=seed@example.org \
	SEED_PASS=seed-pass SEED=${FOLLOW_SEED:-0} \
	python3 "$SRCDIR/tests/integration/storemodel.py" follow "$CHANGES" \
	>"$TMP/follow.out" 2>&1 || rc=$?
check test "$rc" = 0
grep -E '^(#|FAIL|RESULT)' "$TMP/follow.out" | head -n 30 | sed 's/^\([^#]\)/# \1/' || true
[ "$rc" = 0 ] || grep -vE '^(#|FAIL|RESULT)' "$TMP/follow.out" | head -n 20 | sed 's/^/#   /' || true
result=$(sed -n 's/^RESULT //p' "$TMP/follow.out")
val() { sed -n "s/.*\\b$1=\\([0-9]*\\).*/\\1/p" <<<"$result"; }
desc "all $CHANGES changes were made"
check test "${result:+$(val changes)}" -ge "$CHANGES"
desc "the reader got no wrong answer and no error"
check test "${result:+$(val wrong)}" = 0 -a "${result:+$(val errors)}" = 0
desc "every change was visible to the next request"
check test "${result:+$(val not_visible)}" = 0
desc "at least 3 compactions happened meanwhile"
check test "${result:+$(val compactions)}" -ge 3
desc "authd logged no store error"
expect_no_log 'tempfail|store.*(error|fail)'
finish
