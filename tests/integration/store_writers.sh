#!/bin/bash
# store_writers.sh - 20 writers at once (10 running one pwtool per change,
# 10 long-lived `pwtool batch` runs with a group each) while `pwtool
# compact` runs in a loop and pwtool compacts on its own (issue 11,
# "Proof"): all succeed, none is lost, none waits longer than its lock
# timeout.  The writers and the model are in storemodel.py (writers).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

LOCK_TIMEOUT=5
# A short store_lock_timeout, and storemodel.py fails any pwtool run (or
# batch transaction) that takes longer than it: no writer may wait out its
# lock timeout, even with compactions of the 50,000-user base running.
printf 'store_lock_timeout = %d\nstore_log_max = 16384\n' "$LOCK_TIMEOUT" >>"$CONF"
awk 'BEGIN { for (i = 0; i < 50000; i++)
	printf "base%05d@example.org::{PLAIN}base-%d\n", i, i }' >"$TMP/base.txt"
desc "a base of 50,000 users is imported"
expect_rc 0 pw import "$TMP/base.txt"

desc "20 concurrent writers, 50 changes each, with compactions"
rc=0
PWTOOL=$PWTOOL CONF=$CONF DB=$DB LOCK_TIMEOUT=$LOCK_TIMEOUT \
	python3 "$(dirname "$0")/storemodel.py" writers 20 50 \
	>"$TMP/writers.out" 2>&1 || rc=$?
check test "$rc" = 0
grep -E '^(#|FAIL|RESULT)' "$TMP/writers.out" | head -n 30 | sed 's/^\([^#]\)/# \1/' || true
[ "$rc" = 0 ] || grep -vE '^(#|FAIL|RESULT)' "$TMP/writers.out" | head -n 20 | sed 's/^/#   /' || true
result=$(sed -n 's/^RESULT //p' "$TMP/writers.out")
val() { sed -n "s/.*\\b$1=\\([0-9]*\\).*/\\1/p" <<<"$result"; }
desc "no writer failed"
check test "${result:+$(val failures)}" = 0
desc "compactions ran meanwhile ($(val compactions))"
check test "${result:+$(val compactions)}" -ge 2
[ ! -e "$DB.compact" ] || flock "$DB.compact" true
desc "the store checks out afterwards"
expect_rc 0 pw check -p base00042 <<<"base-42"
finish
