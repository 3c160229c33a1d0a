#!/bin/bash
# store_diskfull.sh - the store on a small tmpfs that fills up (issue 11,
# "Proof"): (a) a change and (b) a compaction that hit ENOSPC fail with a
# clear error (exit 5, the file and "No space left on device"), the store
# stays intact, a running authd keeps answering, and once space is freed
# the next change and compaction succeed.  Needs root (mount); exit 77
# (skipped) otherwise.
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"

skip() {
	echo "1..0 # SKIP $*"
	FINISHED=1
	exit 77
}
[ "$(id -u)" = 0 ] || skip "not root (mount -t tmpfs needs it)"
FS=$TMP/fs
mkdir -m 0755 "$FS"
mount -t tmpfs -o size=4m,mode=0755 authd-test "$FS" 2>"$TMP/mount.err" ||
	skip "mount -t tmpfs failed: $(cat "$TMP/mount.err")"
at_exit "umount -l '$FS'"
DB=$FS/users.db

write_dconf "auth_failure_delay = 0" "auth_failure_delay_max = 0"
awk 'BEGIN { for (i = 0; i < 4000; i++)
	printf "base%04d@example.org::{PLAIN}base-%d\n", i, i }' >"$TMP/base.txt"
desc "a base of 4000 users is imported on the tmpfs"
expect_rc 0 pw import "$TMP/base.txt"
add_user seed@example.org seed-pass -m cleartext
desc "a compaction before the disk fills"
expect_rc 0 pw compact
start_authd
auth 0 seed seed-pass
echo "# store files: $(cd "$FS" && du -k -- * | tr '\t\n' '= ')"

# export_ok NAME - the export equals the one saved as NAME
snapshot() { pw export >"$TMP/$1.export"; }
export_same() {
	desc "$2: the store is intact (export unchanged), list exits 0"
	expect_rc 0 pw export
	check cmp "$TMP/$1.export" "$OUT"
	expect_rc 0 pw list
	desc "$2: a base user checks, the seed user checks"
	expect_rc 0 pw check -p base1234 <<<"base-1234"
	expect_rc 0 pw check -p seed <<<"seed-pass"
	desc "$2: authd keeps answering"
	auth 0 seed seed-pass
	auth 0 base0777 base-777
}

# fill - fill the tmpfs to the last block.
fill() {
	dd if=/dev/zero of="$FS/filler$1" bs=4k 2>/dev/null || true
	sync
}

# (a) a change hits ENOSPC: fill, then change until one fails (a change
# that still fits in the log's last page succeeds, acknowledged, and must
# stay).
fill 1
acked=()
failed_rc=
failed_user=none
for i in $(seq 1 200); do
	rc=0
	printf 'pw-%d\n' "$i" | pw -p -m cleartext add "full$i" >"$OUT" 2>"$ERR" || rc=$?
	if [ "$rc" = 0 ]; then
		acked+=("full$i")
		continue
	fi
	failed_rc=$rc
	failed_user=full$i
	break
done
echo "# ${#acked[@]} changes fitted before ENOSPC"
desc "(a) a change on a full disk exits 5"
check test "$failed_rc" = 5
desc "(a) the message names the file and says No space left on device"
expect_err "^pwtool: .*users\.db[^ :]*: .*No space left on device"
cp "$ERR" "$TMP/a.err"
desc "(a) the failed user is not there"
expect_rc 3 pw show "$failed_user"
desc "(a) every acknowledged change (${#acked[@]}) is there with its password"
expect_rc 0 pw export
missing=0
for u in "${acked[@]}"; do
	pwb64=$(printf 'pw-%s' "${u#full}" | base64)
	grep -q "^$u@example.org:.*{PLAIN.B64}$pwb64\$" "$OUT" || missing=$((missing + 1))
done
check test "$missing" = 0
[ "$missing" = 0 ] || echo "# $missing acknowledged changes are missing"
snapshot a
desc "(a) the same change again fails the same way, and the store does not change"
expect_rc 5 pw -p -m cleartext add "$failed_user" <<<"pw-${failed_user#full}"
expect_err "No space left on device"
export_same a "(a)"
desc "(a) authd answers a user that was acknowledged just before the disk filled"
[ "${#acked[@]}" = 0 ] || auth 0 "${acked[-1]}" "pw-${acked[-1]#full}"

# (b) a compaction hits ENOSPC: free half of the base's size; a change
# fits, a compaction (a copy of the base) does not.
rm -f "$FS/filler1"
base_kb=$(du -k "$FS"/users.db* | sort -n | tail -n 1 | cut -f1)
free_kb=$(df -k --output=avail "$FS" | tail -n 1 | tr -d ' ')
head -c $(((free_kb - base_kb / 2) * 1024)) /dev/zero >"$FS/filler2" 2>/dev/null || true
echo "# base ${base_kb} KiB; free before filler2 ${free_kb} KiB, after $(df -k --output=avail "$FS" | tail -n 1 | tr -d ' ') KiB"
desc "(b) a change still fits"
expect_rc 0 pw -p -m cleartext add fits <<<"fits-pass"
snapshot b
gen=$(sed -n 's/^generation //p' "$DB")
desc "(b) a compaction on the full disk exits 5"
expect_rc 5 pw compact
desc "(b) the message names the file and says No space left on device"
expect_err "^pwtool: .*users\.db[^ :]*: .*No space left on device"
cp "$ERR" "$TMP/b.err"
desc "(b) the manifest still names generation $gen"
check test "$(sed -n 's/^generation //p' "$DB")" = "$gen"
desc "(b) the failed compaction left no files of generation $((gen + 1))"
check test -z "$(ls "$FS" | grep -F "users.db.$((gen + 1))." || true)"
export_same b "(b)"
auth 0 fits fits-pass

# Free the space: the next change and compaction succeed.
rm -f "$FS"/filler*
desc "after freeing space a change succeeds"
expect_rc 0 pw -p -m cleartext add after <<<"after-pass"
desc "after freeing space a compaction succeeds and moves to a new generation"
expect_rc 0 pw compact
check test "$(sed -n 's/^generation //p' "$DB")" -gt "$gen"
desc "everything is there after the compaction"
expect_rc 0 pw export
grep -v '^after@' "$OUT" >"$TMP/after.export"
check cmp "$TMP/b.export" "$TMP/after.export"
auth 0 after after-pass
auth 0 fits fits-pass
auth 0 seed seed-pass
echo "# (a): $(head -n 1 "$TMP/a.err")"
echo "# (b): $(head -n 1 "$TMP/b.err")"
finish
