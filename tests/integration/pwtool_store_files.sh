#!/bin/bash
# pwtool_store_files.sh - the store file on disk: modes, the writer lock,
# leftovers of a crashed writer, and damaged stores.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

umask 022

# store_files - the store's files: the manifest (or a format-1 GDBM file)
# at $DB and each generation's base and log (userdb.h).
store_files() {
	local f
	for f in "$DB" "$DB".*.gdbm "$DB".*.log; do
		[ -e "$f" ] && echo "$f"
	done
	return 0
}
# store_modes - the distinct modes of the store's files (one, if they agree)
store_modes() {
	local f
	store_files | while read -r f; do mode_of "$f"; done | sort -u | tr '\n' ' ' |
		sed 's/ $//'
}
# store_sha - one hash over every file of the store
store_sha() {
	store_files | while read -r f; do sha "$f"; done | sha256sum | cut -d' ' -f1
}

# --- modes --------------------------------------------------------------------
desc "the first add creates the store"
expect_rc 0 pw add -p alice <<<"secret"
check test -f "$DB"
desc "a new store is mode 0640 by default (umask 022)"
check test "$(mode_of "$DB")" = 640
desc "the writer lock file exists next to the store, mode 0660 (the store's group may lock)"
check test -f "$DB.lock"
check test "$(mode_of "$DB.lock")" = 660
desc "no $DB.new is left after a commit"
check test ! -e "$DB.new"
desc "a commit appends to the change log (userdb.h); every file of the store is 0640"
log_size=$(stat -c %s "$DB".1.log)
expect_rc 0 pw add -p bob <<<"secret"
check test "$(stat -c %s "$DB".1.log)" -gt "$log_size"
check test "$(mode_of "$DB")" = 640
check test "$(mode_of "$DB.1.gdbm")" = 640
check test "$(mode_of "$DB.1.log")" = 640

umask 077
DB=$TMP/umask.db
desc "a new store is 0640 even under umask 077 (every file)"
expect_rc 0 pw add -p alice <<<"secret"
check test "$(store_modes)" = 640
umask 022

DB=$TMP/mode600.db
cp "$CONF" "$TMP/mode600.conf"
printf 'store_mode = 0600\n' >>"$TMP/mode600.conf"
desc "store_mode = 0600 applies to a new store"
expect_rc 0 "$PWTOOL" -c "$TMP/mode600.conf" -f "$DB" add -p alice <<<"secret"
check test "$(store_modes)" = 600
desc "store_mode = 0600 applies to an existing 0640 store on its next write"
DB=$TMP/users.db
check test "$(store_modes)" = 640
expect_rc 0 "$PWTOOL" -c "$TMP/mode600.conf" -f "$DB" add -p carol <<<"secret"
check test "$(store_modes)" = 600
desc "store_mode = 0660 is applied too (group write is the admin's choice)"
cp "$CONF" "$TMP/mode660.conf"
printf 'store_mode = 660\n' >>"$TMP/mode660.conf"
expect_rc 0 "$PWTOOL" -c "$TMP/mode660.conf" -f "$DB" lock carol
check test "$(store_modes)" = 660

# A store_mode that gives others access is refused before any write.
cp "$CONF" "$TMP/mode644.conf"
printf 'store_mode = 0644\n' >>"$TMP/mode644.conf"
desc "store_mode = 0644: a new store is refused (exit 8, bad configuration)"
expect_rc 8 "$PWTOOL" -c "$TMP/mode644.conf" -f "$TMP/m644.db" add -p alice <<<"secret"
expect_err '^pwtool: store_mode 0644 gives other users access .*0640 or 0600'
check test ! -e "$TMP/m644.db"
desc "store_mode = 0644: a write to an existing 0660 store is refused, mode kept"
expect_rc 8 "$PWTOOL" -c "$TMP/mode644.conf" -f "$DB" unlock carol
check test "$(store_modes)" = 660
desc "store_mode = 0644 does not stop a reader"
expect_rc 0 "$PWTOOL" -c "$TMP/mode644.conf" -f "$DB" list
desc "store_mode = 0644 with --force: applied, with a warning"
expect_rc 0 "$PWTOOL" -c "$TMP/mode644.conf" -f "$TMP/m644.db" --force add -p alice <<<"secret"
check test "$(mode_of "$TMP/m644.db")" = 644
expect_err 'warning: store_mode 0644'

umask 000
DB=$TMP/umask0.db
desc "under umask 000 a new store is still 0640 (every file) and its lock 0660"
expect_rc 0 pw add -p alice <<<"secret"
check test "$(store_modes)" = 640
check test "$(mode_of "$DB.lock")" = 660
umask 022
DB=$TMP/users.db

DB=$TMP/kept.db
expect_rc 0 pw add -p alice <<<"secret"
chmod 0600 "$DB"
desc "an existing store's mode (0600 by hand) is kept when store_mode is not set: add"
expect_rc 0 pw add -p bob <<<"secret"
check test "$(mode_of "$DB")" = 600
desc "... passwd"
expect_rc 0 pw passwd -p bob <<<"secret2"
check test "$(mode_of "$DB")" = 600
desc "... lock"
expect_rc 0 pw lock bob
check test "$(mode_of "$DB")" = 600
desc "... delete"
expect_rc 0 pw delete bob
check test "$(mode_of "$DB")" = 600
desc "... import"
expect_rc 0 pw import < <(printf 'dan@example.org::{PLAIN}x\n')
check test "$(mode_of "$DB")" = 600
chmod 0604 "$DB"
desc "a hand-set mode that lets others read (0604) is refused for a write (exit 5)"
before_sha=$(store_sha)
expect_rc 5 pw add -p erin <<<"secret"
desc "... the message names the store, its mode and the fix"
expect_err "^pwtool: $DB: mode 0604 gives other users access .*chmod o-rwx $DB"
desc "... and the store is untouched (every file)"
check test "$(store_sha)" = "$before_sha"
desc "every writing command is refused the same way: passwd, lock, unlock, delete, import"
for args in "-p passwd alice" "lock alice" "unlock alice" "delete alice" "import"; do
	# shellcheck disable=SC2086
	expect_rc 5 pw $args < <(printf 'secret\n')
	expect_err 'chmod o-rwx'
done
check test "$(store_sha)" = "$before_sha"
desc "readers work on it but say so on stderr: list"
expect_rc 0 pw list
expect_out '^alice@example.org$'
expect_err "^pwtool: warning: $DB: mode 0604 .*chmod o-rwx $DB"
desc "... check, and a dry-run import (it writes nothing)"
expect_rc 0 pw check -p alice <<<"secret"
expect_err 'warning: .*mode 0604'
expect_rc 0 pw import -n < <(printf 'gus@example.org::{PLAIN}x\n')
expect_err 'warning: .*mode 0604'
desc "--force writes anyway, keeps the mode, and warns"
expect_rc 0 pw --force add -p erin <<<"secret"
check test "$(mode_of "$DB")" = 604
expect_err 'warning: .*mode 0604'
for m in 0601 0602 0607 0644 0666; do
	chmod "$m" "$DB"
	desc "mode $m (some 'other' bit): a write is refused"
	expect_rc 5 pw lock erin
done
chmod 0644 "$DB"
desc "store_mode = 0640 set: a write is allowed and fixes an existing 0644 store"
cp "$CONF" "$TMP/mode640.conf"
printf 'store_mode = 0640\n' >>"$TMP/mode640.conf"
expect_rc 0 "$PWTOOL" -c "$TMP/mode640.conf" -f "$DB" lock erin
check test "$(mode_of "$DB")" = 640
desc "a store that gives others nothing reads without a warning"
expect_rc 0 pw list
check test ! -s "$ERR"
desc "a dry-run import and a failed import leave the mode alone"
chmod 0600 "$DB"
expect_rc 0 pw import -n < <(printf 'fay@example.org::{PLAIN}x\n')
expect_rc 6 pw import < <(printf 'broken\n')
check test "$(mode_of "$DB")" = 600

# --- the writer lock ----------------------------------------------------------------
DB=$TMP/users.db
cp "$CONF" "$TMP/lock1.conf"
printf 'store_lock_timeout = 1\n' >>"$TMP/lock1.conf"
# hold_lock SECONDS - hold the writer lock in a background process (one
# process: the shell execs sleep, so killing $holder frees the lock).
hold_lock() {
	( exec 9>>"$DB.lock"; flock 9; exec sleep "$1" ) &
	holder=$!
	# Wait until the holder really has the lock.
	local _
	for _ in $(seq 1 200); do
		flock -n "$DB.lock" true 2>/dev/null || return 0
		sleep 0.02
	done
	echo "# could not see the lock held" >&2
}
hold_lock 30
before_sha=$(store_sha)
# Start just before a wall-clock second boundary: a deadline kept in whole
# seconds (time(2)) would then expire almost at once.
while :; do
	frac=$(date +%N)
	frac=$((10#$frac / 1000000))
	[ "$frac" -ge 880 ] && [ "$frac" -le 950 ] && break
	sleep 0.01
done
desc "a writer waits for the lock and gives up after store_lock_timeout (5)"
start=$(date +%s%N)
expect_rc 5 "$PWTOOL" -c "$TMP/lock1.conf" -f "$DB" add -p zoe <<<"secret"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
expect_err 'locked by another writer'
desc "the writer waited store_lock_timeout = 1 s (>= 950 ms, < 5 s): it waited ${elapsed_ms} ms"
check test "$elapsed_ms" -ge 950 -a "$elapsed_ms" -lt 5000
desc "import is refused the same way while the lock is held"
expect_rc 5 "$PWTOOL" -c "$TMP/lock1.conf" -f "$DB" import < <(printf 'zoe@example.org::{PLAIN}x\n')
desc "the store was not touched while locked (every file)"
check test "$(store_sha)" = "$before_sha"
desc "readers do not need the lock: list works while a writer holds it"
expect_rc 0 pw list
expect_out '^alice@example.org$'
desc "readers do not need the lock: check works while a writer holds it"
expect_rc 0 pw check -p alice <<<"secret"
desc "readers do not need the lock: show and export work"
expect_rc 0 pw show alice
expect_rc 0 pw export
kill "$holder" 2>/dev/null || true
wait "$holder" 2>/dev/null || true
desc "once the lock is free the writer succeeds"
expect_rc 0 "$PWTOOL" -c "$TMP/lock1.conf" -f "$DB" add -p zoe <<<"secret"
expect_rc 0 pw check -p zoe <<<"secret"

desc "a writer queued behind a lock held for 1 s succeeds (store_lock_timeout 30)"
hold_lock 1
expect_rc 0 pw add -p yan <<<"secret"
wait "$holder" || true
expect_rc 0 pw check -p yan <<<"secret"

# --- a stale PATH.new ---------------------------------------------------------------
head -c 5000 /dev/urandom >"$DB.new"
desc "readers ignore a stale users.db.new"
expect_rc 0 pw list
expect_out '^zoe@example.org$'
desc "the next write succeeds despite a stale users.db.new"
expect_rc 0 pw add -p xia <<<"secret"
desc "the stale users.db.new is gone"
check test ! -e "$DB.new"
desc "the store still works: old and new users check"
expect_rc 0 pw check -p xia <<<"secret"
expect_rc 0 pw check -p alice <<<"secret"
desc "a stale users.db.new that is a copy of the store is replaced, not reused"
cp "$DB" "$DB.new"
expect_rc 0 pw delete xia
check test ! -e "$DB.new"
expect_rc 3 pw check -p xia <<<"secret"
desc "a failed write (bad import) leaves no users.db.new either"
expect_rc 6 pw import < <(printf 'good@example.org::{PLAIN}x\nbroken\n')
check test ! -e "$DB.new"
desc "a stale users.db.new (read-only mode) is removed too"
printf 'junk' >"$DB.new"
chmod 0400 "$DB.new"
expect_rc 0 pw add -p wu <<<"secret"
check test ! -e "$DB.new"

# --- the change log and generations (issue 11, userdb.h) ---------------------------
DB=$TMP/log.db
for u in a b c d; do
	printf 'pw-%s\n' "$u" | pw -p -m cleartext add "$u" >/dev/null
done
pw export >"$TMP/log.export"
log=$DB.1.log
cp "$log" "$TMP/log.bak"
# frame_starts LOG - the offset of each frame (storelog.h: a 16-byte
# header, then frames of a 4-byte little-endian length, a 4-byte CRC and
# the payload), and the end of the last one.
frame_starts() {
	python3 -c '
import struct, sys
d = open(sys.argv[1], "rb").read()
o = 16
while o + 8 <= len(d):
    print(o)
    o += 8 + struct.unpack("<I", d[o:o + 4])[0]
print(o)' "$1"
}
mapfile -t starts < <(frame_starts "$log")
echo "# frames at ${starts[*]}"
n=${#starts[@]}
end=${starts[n - 1]}
frame=$((end - starts[n - 2]))
# A torn last frame, as a kill -9 in the middle of an append leaves it: the
# first 60 bytes of a copy of the last frame.
tail -c "$frame" "$log" | head -c 60 >>"$log"
desc "a torn last frame: readers ignore it (export unchanged)"
expect_rc 0 pw export
check cmp "$TMP/log.export" "$OUT"
desc "a torn last frame: the next writer cuts it off and appends after the last whole frame"
expect_rc 0 pw -p -m cleartext add e <<<"pw-e"
check test "$(stat -c %s "$log")" -lt $((end + frame + 60))
mapfile -t after < <(frame_starts "$log")
desc "... the new frame starts where the torn one did, and is whole"
check test "${after[n - 1]}" = "$end" -a "${after[n]}" = "$(stat -c %s "$log")"
desc "... so readers see the new change (list shows e)"
expect_rc 0 pw list
expect_out '^e@example.org$'
expect_rc 0 pw check -p d <<<"pw-d"
# A damaged frame in the middle (a bad disk block, a bad copy): the frames
# after it hold acknowledged changes, so it is no torn tail; readers must
# say so rather than answer from the prefix before it.
cp "$TMP/log.bak" "$log"
printf 'X' | dd of="$log" bs=1 seek=$((starts[1] + 30)) conv=notrunc 2>/dev/null
desc "a damaged frame in the middle: a writer refuses (exit 5, damaged)"
expect_rc 5 pw -p -m cleartext add f <<<"pw-f"
expect_err 'log\.db\.1\.log.*damaged'
desc "a damaged frame in the middle: list fails (exit 5), not a shorter list"
expect_rc 5 pw list
desc "a damaged frame in the middle: check of a user changed after it fails (exit 5), not 3"
expect_rc 5 pw check -p d <<<"pw-d"
cp "$TMP/log.bak" "$log"
# Files of a compaction that crashed (generation 2, not named by the
# manifest): ignored, and replaced by the next compaction.
head -c 5000 /dev/urandom >"$DB.2.gdbm"
head -c 300 /dev/urandom >"$DB.2.log"
desc "leftovers of a crashed compaction (garbage generation 2 files): readers ignore them"
expect_rc 0 pw export
check cmp "$TMP/log.export" "$OUT"
desc "... and the next compaction replaces them"
expect_rc 0 pw compact
check grep -qx 'generation 2' "$DB"
expect_rc 0 pw export
check cmp "$TMP/log.export" "$OUT"
check test ! -e "$DB.1.gdbm" -a ! -e "$DB.1.log"
# A compaction killed after its switch and before it retired the older
# generation, with no change since: the next compaction has nothing to
# fold, and still removes them.
cp "$DB.2.gdbm" "$DB.1.gdbm"
cp "$DB.2.log" "$DB.1.log"
desc "older generation files and nothing to fold: the compaction still removes them"
expect_rc 0 pw compact
check test ! -e "$DB.1.gdbm" -a ! -e "$DB.1.log"
check grep -qx 'generation 2' "$DB"
expect_rc 0 pw export
check cmp "$TMP/log.export" "$OUT"
desc "a manifest naming a generation whose files are missing: exit 5 naming the file"
printf 'authd-store 2\ngeneration 9\n' >"$DB"
for args in "list" "-p check a" "-p add g" "compact"; do
	# shellcheck disable=SC2086
	expect_rc 5 pw $args <<<"pw-a"
	expect_err 'log\.db\.9\.(gdbm|log)'
done
desc "a manifest with a bad generation line: exit 5"
printf 'authd-store 2\ngeneration x\n' >"$DB"
expect_rc 5 pw list
expect_err 'log\.db'
DB=$TMP/users.db

# --- damaged stores ----------------------------------------------------------------
# garbage_case NAME - every command on a garbage store exits 5 with a message
garbage_case() {
	local what=$1
	for args in "list" "realms" "export" "show alice" "-p check alice" \
		"-p add newuser" "-p passwd alice" "delete alice" "lock alice" \
		"import"; do
		desc "$what: pwtool $args exits 5"
		# shellcheck disable=SC2086
		expect_rc 5 pw $args < <(printf 'secret\n')
		desc "$what: pwtool $args says why on stderr"
		expect_err "^pwtool: .*$(basename "$DB")"
	done
	desc "$what: the damaged file was not replaced"
	check test "$(sha "$DB")" = "$garbage_sha"
	desc "$what: no users.db.new left"
	check test ! -e "$DB.new"
}
DB=$TMP/garbage.db
head -c 65536 /dev/urandom >"$DB"
garbage_sha=$(sha "$DB")
garbage_case "random bytes"
desc "random bytes: import of a valid file exits 5 (store error)"
expect_rc 5 pw import < <(printf 'x@example.org::{PLAIN}x\n')

DB=$TMP/text.db
printf 'alice@example.org::{PLAIN}secret\n' >"$DB"
garbage_sha=$(sha "$DB")
garbage_case "a text file"

DB=$TMP/truncated.db
"$PWTOOL" -c "$CONF" -f "$TMP/full.db" import < <(
	awk 'BEGIN { for (i = 0; i < 2000; i++) printf "u%d@example.org::{PLAIN}x\n", i }') 2>/dev/null
head -c 6000 "$TMP/full.db" >"$DB"
garbage_sha=$(sha "$DB")
desc "a truncated store: list exits 5, not a crash"
expect_rc 5 pw list
expect_err "^pwtool: "
desc "a truncated store: check exits 5 (never 1 or 3), not a crash"
expect_rc 5 pw check -p u1 <<<"x"

DB=$TMP/empty.db
: >"$DB"
desc "an empty (0-byte) store: list exits 5 with a message"
expect_rc 5 pw list
expect_err 'empty.db'
desc "an empty (0-byte) store: check exits 5"
expect_rc 5 pw check -p alice <<<"x"

DB=$TMP/dir.db
mkdir "$DB"
desc "a store path that is a directory: list exits 5"
expect_rc 5 pw list
desc "a store path that is a directory: add exits 5"
expect_rc 5 pw add -p alice <<<"secret"

DB=$TMP/never.db
for args in "delete alice" "lock alice" "unlock alice" "-p passwd alice" "-n import"; do
	desc "a store that does not exist: pwtool $args exits 3 or 0 and creates no store"
	# shellcheck disable=SC2086
	expect_rc "$([ "$args" = "-n import" ] && echo 0 || echo 3)" pw $args < <(printf 'alice@example.org::{PLAIN}x\n')
	check test ! -e "$DB"
	check test ! -e "$DB.new"
done

DB=$TMP/missing/users.db
desc "a store in a missing directory: add exits 5 and names the directory"
expect_rc 5 pw add -p alice <<<"secret"
expect_err "$TMP/missing: the store's directory does not exist"
# show and check of a store not created yet say "no such user" (a fresh
# install answers like an empty store); list, realms and export exit 5.
desc "a store that does not exist: show exits 3 (no such user)"
expect_rc 3 pw show alice
expect_err 'no such user'
desc "a store that does not exist: check exits 3 (no such user)"
expect_rc 3 pw check -p alice <<<"secret"
desc "a store that does not exist: passwd exits 3 before asking"
expect_rc 3 pw passwd alice </dev/null
check test ! -e "$DB"

# A panel user in the store's group writes after root did (store_mode
# 0660): the lock files root created must let it in (issue 12).
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && getent group nogroup >/dev/null; then
	SHARED=$TMP/shared
	mkdir -p "$SHARED"
	chmod 711 "$TMP"	# nobody passes through to the shared directory
	chgrp nogroup "$SHARED"
	chmod 2770 "$SHARED"
	cp "$CONF" "$SHARED/shared.conf"
	chmod 644 "$SHARED/shared.conf"
	printf 'store_mode = 0660\nstore_group = nogroup\n' >>"$SHARED/shared.conf"
	DB=$SHARED/users.db
	desc "root creates a shared store (store_mode 0660, store_group nogroup)"
	expect_rc 0 "$PWTOOL" -c "$SHARED/shared.conf" -f "$DB" add -p alice <<<"secret"
	check test "$(stat -c '%a %G' "$DB.lock")" = "660 nogroup"
	desc "a user of that group (nobody) adds a user after root did"
	expect_rc 0 setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
		"$PWTOOL" -c "$SHARED/shared.conf" -f "$DB" add -p bob <<<"secret"
	desc "... and a compaction started by that user folds the log"
	expect_rc 0 setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
		"$PWTOOL" -c "$SHARED/shared.conf" -f "$DB" compact
	check test "$(stat -c '%a %G' "$DB.compact")" = "660 nogroup"
	desc "root sees both users"
	expect_rc 0 "$PWTOOL" -c "$SHARED/shared.conf" -f "$DB" list
	expect_out '^bob@'
fi

finish
