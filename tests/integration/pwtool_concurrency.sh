#!/bin/bash
# pwtool_concurrency.sh - parallel writers queue on the lock and lose no
# update; parallel readers never see a broken store.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

WRITERS=8
PER_WRITER=25
printf 'store_lock_timeout = 60\n' >>"$CONF"

# The store exists before the readers start (a missing store is a store
# error, 5, by design).
expect_rc 0 pw add -p seed <<<"seed-pw"

writer() {	# writer N - add PER_WRITER users, record each exit status
	local n=$1 i
	for i in $(seq 1 "$PER_WRITER"); do
		rc=0
		pw add -p "w$n-u$i" <<<"pw-$n-$i" >/dev/null 2>>"$TMP/writer$n.err" || rc=$?
		echo "$rc" >>"$TMP/writer$n.rc"
	done
}

reader() {	# reader N - list and check in a loop until told to stop
	local n=$1 k=0 rc u
	while [ ! -e "$TMP/stop" ]; do
		k=$((k + 1))
		rc=0
		pw list >"$TMP/reader$n.list" 2>>"$TMP/reader$n.err" || rc=$?
		echo "list $rc" >>"$TMP/reader$n.rc"
		if [ "$rc" = 0 ] && ! grep -qx 'seed@example.org' "$TMP/reader$n.list"; then
			echo "list-without-seed" >>"$TMP/reader$n.rc"
		fi
		# A user that may or may not exist yet: 0 or 3, never 1 or 5.
		u="w$((k % WRITERS + 1))-u$((k % PER_WRITER + 1))"
		rc=0
		pw check -p "$u" <<<"pw-$((k % WRITERS + 1))-$((k % PER_WRITER + 1))" \
			>/dev/null 2>>"$TMP/reader$n.err" || rc=$?
		echo "check $rc" >>"$TMP/reader$n.rc"
		rc=0
		pw check -p seed <<<"seed-pw" >/dev/null 2>>"$TMP/reader$n.err" || rc=$?
		echo "seed $rc" >>"$TMP/reader$n.rc"
	done
}

for r in 1 2 3; do
	reader "$r" &
	readers="${readers:-} $!"
done
for w in $(seq 1 "$WRITERS"); do
	writer "$w" &
	writers="${writers:-} $!"
done
# shellcheck disable=SC2086
wait $writers
touch "$TMP/stop"
# shellcheck disable=SC2086
wait $readers

desc "every writer invocation exited 0"
bad=$(cat "$TMP"/writer*.rc | grep -vcx 0 || true)
check test "$bad" -eq 0
[ "$bad" -eq 0 ] || { echo "# writer errors:"; cat "$TMP"/writer*.err | sort | uniq -c | head | sed 's/^/#   /'; }
desc "every writer ran $PER_WRITER adds"
check test "$(cat "$TMP"/writer*.rc | wc -l)" -eq $((WRITERS * PER_WRITER))

total=$(cat "$TMP"/reader*.rc | wc -l)
desc "the readers ran (at least 30 invocations): $total"
check test "$total" -ge 30
desc "every reader list exited 0"
check test -z "$(grep -h '^list ' "$TMP"/reader*.rc | grep -vx 'list 0')"
desc "every list showed the seed user (no torn or empty snapshot)"
check test -z "$(grep -h 'list-without-seed' "$TMP"/reader*.rc)"
desc "every check of a writer's user exited 0 or 3 (never 1, 5 or a crash)"
check test -z "$(grep -hE '^check ' "$TMP"/reader*.rc | grep -vE '^check (0|3)$')"
desc "every check of the seed user exited 0"
check test -z "$(grep -hE '^seed ' "$TMP"/reader*.rc | grep -vx 'seed 0')"
desc "no reader saw a store error"
check test -z "$(grep -hE ' 5$' "$TMP"/reader*.rc)"
if grep -qhE ' [^03]$' "$TMP"/reader*.rc; then
	echo "# reader exit statuses:"
	cat "$TMP"/reader*.rc | sort | uniq -c | sed 's/^/#   /'
	cat "$TMP"/reader*.err | sort | uniq -c | head | sed 's/^/#   /'
fi

desc "afterwards list succeeds"
expect_rc 0 pw list
sort "$OUT" >"$TMP/final.list"
{
	echo seed@example.org
	for w in $(seq 1 "$WRITERS"); do
		for i in $(seq 1 "$PER_WRITER"); do
			echo "w$w-u$i@example.org"
		done
	done
} | sort >"$TMP/expected.list"
desc "all $((WRITERS * PER_WRITER)) users and the seed are present, none twice, nothing else"
check cmp "$TMP/expected.list" "$TMP/final.list"
desc "no key is listed twice"
check test -z "$(uniq -d "$TMP/final.list")"
desc "realms counts $((WRITERS * PER_WRITER + 1)) users"
expect_rc 0 pw realms
expect_eq "$(printf 'example.org\t%d' $((WRITERS * PER_WRITER + 1)))" "$(cat "$OUT")"
desc "a sample of users has the password its writer set"
for wi in 1:1 3:17 8:25 5:13; do
	expect_rc 0 pw check -p "w${wi%:*}-u${wi#*:}" <<<"pw-${wi%:*}-${wi#*:}"
	expect_rc 1 pw check -p "w${wi%:*}-u${wi#*:}" <<<"pw-${wi%:*}-${wi#*:}x"
done
desc "no users.db.new is left behind"
check test ! -e "$DB.new"

# Concurrent imports of disjoint batches: each lands whole.
for b in 1 2 3 4; do
	awk -v b="$b" 'BEGIN { for (i = 0; i < 500; i++)
		printf "i%d-%d@batch%d.test::{PLAIN}x\n", b, i, b }' >"$TMP/batch$b.txt"
done
for b in 1 2 3 4; do
	( rc=0; pw import "$TMP/batch$b.txt" 2>/dev/null || rc=$?; echo "$rc" >"$TMP/import$b.rc" ) &
	importers="${importers:-} $!"
done
# shellcheck disable=SC2086
wait $importers
desc "4 concurrent imports all exit 0"
check test "$(cat "$TMP"/import*.rc | tr -d '\n')" = 0000
desc "each concurrent import landed whole"
expect_rc 0 pw realms --json
json_check '[r for r in d if r["realm"].startswith("batch")] == [{"realm": "batch%d.test" % b, "users": 500} for b in (1, 2, 3, 4)]'
json_check '{"realm": "example.org", "users": 201} in d'

finish
