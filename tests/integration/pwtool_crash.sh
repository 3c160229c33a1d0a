#!/bin/bash
# pwtool_crash.sh - kill -9 an import at random moments: the store must
# always open and hold either none or all of the interrupted batch.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

USERS=20000
ROUNDS=15
CRAM='{CRAM-MD5}cd3ba7deaad6e5ca23448ba42e379747a9e0f7f1fbc00c8a81bbaac395731b56'	# "secret"

batch() {	# batch REALM - a pre-hashed import file of USERS users
	awk -v realm="$1" -v n="$USERS" -v v="$CRAM" \
		'BEGIN { for (i = 0; i < n; i++) printf "user%05d@%s::%s\n", i, realm, v }' \
		>"$TMP/batch.txt"
}

count() {	# count REALM - users of REALM, or "ERR rc" if list fails
	local rc=0
	pw list -u "$1" >"$TMP/count.out" 2>"$TMP/count.err" || rc=$?
	if [ "$rc" = 0 ]; then
		wc -l <"$TMP/count.out" | tr -d ' '
	else
		echo "ERR $rc"
	fi
}

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# A first, uninterrupted import: a baseline that every round must keep,
# and the normal duration of one import.
batch base.test
t0=$(now_ms)
desc "an uninterrupted import of $USERS users succeeds"
expect_rc 0 pw import "$TMP/batch.txt"
duration=$(($(now_ms) - t0))
expect_err "$USERS added, 0 replaced"
echo "# one import of $USERS users takes $duration ms"
check test "$(count base.test)" = "$USERS"
[ "$duration" -ge 20 ] || duration=20

complete=0
interrupted=0
finished_first=0
for round in $(seq 1 "$ROUNDS"); do
	realm=crash$round.test
	batch "$realm"
	delay=$((RANDOM % (duration + 1)))
	"$PWTOOL" -c "$CONF" -f "$DB" import "$TMP/batch.txt" >/dev/null 2>&1 &
	pid=$!
	sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
	if kill -9 "$pid" 2>/dev/null; then
		:
	else
		finished_first=$((finished_first + 1))
	fi
	wait "$pid" 2>/dev/null || true

	desc "round $round (kill after $delay ms): the store opens (list exits 0)"
	expect_rc 0 pw list -u base.test
	n=$(count "$realm")
	desc "round $round: $realm holds 0 or $USERS users (has $n)"
	check test "$n" = 0 -o "$n" = "$USERS"
	case $n in
	0) interrupted=$((interrupted + 1)) ;;
	"$USERS") complete=$((complete + 1)) ;;
	esac
	desc "round $round: the baseline batch is intact"
	check test "$(count base.test)" = "$USERS"
done
echo "# $ROUNDS rounds: $interrupted left nothing, $complete landed whole" \
	"($finished_first finished before the kill)"
desc "at least one round was really interrupted"
check test "$interrupted" -ge 1

desc "after the crashes a verifier reads back correctly"
expect_rc 0 pw check -p user00042@base.test <<<"secret"
expect_rc 1 pw check -p user00042@base.test <<<"wrong"
desc "after the crashes the export is well-formed"
expect_rc 0 pw export -u base.test
check test "$(grep -c "^user[0-9]\{5\}@base.test:created=[0-9]*,changed=[0-9]*:{CRAM-MD5}cd3ba7" "$OUT")" -eq "$USERS"

batch final.test
desc "a final uninterrupted import succeeds"
expect_rc 0 pw import "$TMP/batch.txt"
expect_err "$USERS added, 0 replaced"
desc "the final batch is complete"
check test "$(count final.test)" = "$USERS"
desc "the store holds exactly the complete batches"
expect_rc 0 pw list
check test "$(wc -l <"$OUT")" -eq $(((complete + 2) * USERS))
desc "no users.db.new is left after the final import"
check test ! -e "$DB.new"
desc "a user of the final batch checks"
expect_rc 0 pw check -p user19999@final.test <<<"secret"

finish
