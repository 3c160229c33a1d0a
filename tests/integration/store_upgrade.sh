#!/bin/bash
# store_upgrade.sh - a store in the format before issue 11 (one GDBM file,
# tests/integration/data/store-v1.gdbm, made by the old pwtool) is read by
# the new pwtool and authd, and upgraded in place on the first write or by
# `pwtool compact` (the files of the new format appear, the users remain,
# authd keeps answering across the upgrade); a manifest of a newer format
# ("authd-store 3") is refused with a clear message by pwtool (exit 5) and
# authd (temporary failure, logged).
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"

# first_line FILE - its first line, printable (PATH may be a GDBM file)
first_line() {
	head -n 1 "$1" | head -c 40 | tr -d '\n' | tr -c '[:print:]' '?'
}

FIXTURE=$SRCDIR/tests/integration/data/store-v1.gdbm
FIXTURE_EXPORT=$SRCDIR/tests/integration/data/store-v1.export
write_dconf "auth_failure_delay = 0" "auth_failure_delay_max = 0"
install -m 0640 -g nogroup "$FIXTURE" "$DB"
fixture_sha=$(sha "$DB")

desc "the new pwtool reads an old store: export is the old pwtool's"
expect_rc 0 pw export
check cmp "$FIXTURE_EXPORT" "$OUT"
desc "check, show and list read it"
expect_rc 0 pw check -p alice <<<"alice-pass"
expect_rc 0 pw check -p bob <<<"bob-pass"
expect_rc 1 pw check -p bob <<<"alice-pass"
expect_rc 0 pw check -p carol@other.org <<<"carol-pass"
expect_rc 7 pw check -p dan <<<"dan-pass"
expect_rc 0 pw show bob
expect_rc 0 pw list
desc "reading does not convert the store (the file is unchanged, no new files)"
check test "$(sha "$DB")" = "$fixture_sha"
check test ! -e "$DB.1.gdbm" -a ! -e "$DB.1.log"

start_authd
desc "authd reads the old store"
auth 0 alice alice-pass
auth 0 bob bob-pass
auth 0 carol carol-pass -r other.org
auth 1 dan dan-pass

# authd asks about alice in a loop across the upgrade.
( while [ ! -e "$TMP/stop" ]; do
	r=0
	"$AUTHTEST" mux -f "$SOCK" -u alice -p alice-pass >/dev/null 2>&1 || r=$?
	echo "$r" >>"$TMP/poll.rc"
	sleep 0.01
done ) &
poller=$!
sleep 0.3
desc "the first write (add) upgrades the store in place"
expect_rc 0 pw -p -m cleartext add erin <<<"erin-pass"
sleep 0.3
touch "$TMP/stop"
wait "$poller"
desc "PATH is now the manifest: authd-store 2, generation 1"
check test "$(first_line "$DB")" = "authd-store 2"
check grep -qx 'generation 1' "$DB"
desc "the base and the log of generation 1 exist, with the store's mode and group"
check test -f "$DB.1.gdbm" -a -f "$DB.1.log"
for f in "$DB" "$DB.1.gdbm" "$DB.1.log"; do
	check test "$(stat -c '%a %G' "$f")" = "640 nogroup"
done
desc "the old file became the base (the same bytes)"
check test "$(sha "$DB.1.gdbm")" = "$fixture_sha"
desc "every old user remains, and erin is there"
expect_rc 0 pw export
grep -v '^erin@' "$OUT" >"$TMP/after.export"
check cmp "$FIXTURE_EXPORT" "$TMP/after.export"
expect_rc 0 pw check -p erin <<<"erin-pass"
expect_rc 0 pw check -p bob <<<"bob-pass"
desc "authd answered alice OK throughout the upgrade ($(wc -l <"$TMP/poll.rc") requests)"
check test -z "$(grep -vx 0 "$TMP/poll.rc")"
check test "$(wc -l <"$TMP/poll.rc")" -ge 5
desc "authd sees the upgraded store: old users and the new one"
auth 0 erin erin-pass
auth 0 bob bob-pass
auth 0 carol carol-pass -r other.org
auth 1 dan dan-pass
desc "later changes and a compaction work on the upgraded store"
expect_rc 0 pw lock bob
auth 1 bob bob-pass
expect_rc 0 pw compact
check grep -qx 'generation 2' "$DB"
auth 0 erin erin-pass
auth 1 bob bob-pass

# `pwtool compact` upgrades an old store too.
DB2=$TMP/compact.db
install -m 0640 "$FIXTURE" "$DB2"
desc "pwtool compact upgrades an old store"
expect_rc 0 "$PWTOOL" -c "$CONF" -f "$DB2" compact
check test "$(first_line "$DB2")" = "authd-store 2"
expect_rc 0 "$PWTOOL" -c "$CONF" -f "$DB2" export
check cmp "$FIXTURE_EXPORT" "$OUT"

# A newer format: refused, never misread.
printf 'authd-store 3\ngeneration 2\n' >"$DB.new3"
chmod 0640 "$DB.new3"
chgrp nogroup "$DB.new3"
mv "$DB.new3" "$DB"
for args in "list" "export" "show alice" "-p check alice" "-p add zed" "lock alice" "compact"; do
	desc "a store of format 3: pwtool $args exits 5 with a clear message"
	# shellcheck disable=SC2086
	expect_rc 5 pw $args <<<"alice-pass"
	expect_err "^pwtool: .*users\.db.*(authd-store 3|format)"
done
desc "a store of format 3: the manifest is left alone"
check test "$(first_line "$DB")" = "authd-store 3"
desc "a store of format 3: authd fails temporarily (not NO) and logs why"
auth 2 alice alice-pass
expect_log 'users\.db.*(authd-store 3|format)'
expect_log 'user=alice@example\.org .*result=tempfail'
echo "# pwtool: $(head -n 1 "$ERR")"
echo "# authd:  $(cur_log | grep -E 'authd-store 3|format' | head -n 1)"
finish
