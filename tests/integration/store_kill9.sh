#!/bin/bash
# store_kill9.sh - kill -9 at random instants during single pwtool changes,
# `pwtool batch` runs with groups, and `pwtool compact` (issue 11, "Proof").
# After every round: the store opens, every acknowledged change is there,
# nothing that was never attempted is there, no group is half-applied; and
# a running authd answers a known user correctly throughout.  The rounds and
# the model of the store are in storemodel.py (kill9).
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"

ROUNDS=${KILL9_ROUNDS:-200}
BASE_USERS=2000

# A small store_log_max: the log passes it every few dozen changes, so
# pwtool's automatic compactions run (and are killed) often too.
write_dconf "auth_failure_delay = 0" "auth_failure_delay_max = 0" \
	"store_log_max = 4096"

awk -v n="$BASE_USERS" 'BEGIN { for (i = 0; i < n; i++)
	printf "base%05d@example.org::{PLAIN}base-%d\n", i, i }' >"$TMP/base.txt"
desc "a base of $BASE_USERS users is imported"
expect_rc 0 pw import "$TMP/base.txt"
add_user seed@example.org seed-pass -m cleartext
start_authd
desc "authd answers the seed user"
auth 0 seed seed-pass

desc "kill -9 rounds (single changes, batches with groups, compactions) until $ROUNDS processes were really killed"
rc=0
PWTOOL=$PWTOOL CONF=$CONF DB=$DB SOCK=$SOCK SEED_USER=seed@example.org \
	SEED_PASS=seed-pass SEED=${KILL9_SEED:-0} PROTECT=base00042@example.org \
	python3 "$SRCDIR/tests/integration/storemodel.py" kill9 "$ROUNDS" \
	>"$TMP/kill9.out" 2>&1 || rc=$?
check test "$rc" = 0
grep -E '^(#|FAIL|RESULT)' "$TMP/kill9.out" | head -n 40 | sed 's/^\([^#]\)/# \1/' || true
[ "$rc" = 0 ] || grep -vE '^(#|FAIL|RESULT)' "$TMP/kill9.out" | head -n 20 | sed 's/^/#   /' || true
result=$(sed -n 's/^RESULT //p' "$TMP/kill9.out")
val() { sed -n "s/.*\\b$1=\\([0-9]*\\).*/\\1/p" <<<"$result"; }
desc "the driver ran to the end"
check test -n "$result"
desc "at least $ROUNDS processes were really killed ($(val killed) in $(val rounds) rounds)"
check test "${result:+$(val killed)}" -ge "$ROUNDS"
desc "some killed change had landed before its answer ($(val landed_unacked)): the kills span the commit"
check test "${result:+$(val landed_unacked)}" -ge 1

# The automatic compactions run detached: let them end before the final
# checks (they hold PATH.compact).
[ ! -e "$DB.compact" ] || flock "$DB.compact" true
desc "afterwards an explicit compaction succeeds"
expect_rc 0 pw compact
gen=$(sed -n 's/^generation //p' "$DB")
desc "the manifest names the generation ($gen)"
check test -n "$gen"
desc "after it only the current generation's files are left (crashed compactions cleaned up)"
extra=$(cd "$TMP" && ls -d users.db* | grep -vxE "users\.db|users\.db\.lock|users\.db\.compact|users\.db\.$gen\.(gdbm|log)" || true)
check test -z "$extra"
[ -z "$extra" ] || echo "# left: $(echo $extra)"
desc "authd still answers the seed user and a base user"
auth 0 seed seed-pass
auth 0 base00042 base-42
auth 1 base00042 base-43
finish
