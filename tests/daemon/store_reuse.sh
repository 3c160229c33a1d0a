#!/bin/bash
# store_reuse.sh - readers (authd) and a long-lived writer (pwtool batch)
# notice a new generation even when the new manifest gets the inode number
# of the one they last saw.  After two compactions with no request in
# between, the manifest they remember is gone and the filesystem may hand
# its inode number to the next PATH.new (ext4 does, often at once); a
# reader that compares only (st_dev, st_ino) then keeps following the
# retired generation's log: authd answers from an old state (a user added
# since is unknown, a deleted one still logs in), and a batch appends its
# acknowledged changes to an unlinked log.
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"

TRIES=${REUSE_TRIES:-40}
write_dconf "auth_failure_delay = 0" "auth_failure_delay_max = 0"
add_user seed@example.org seed-pass -m cleartext
add_user gone@example.org gone-pass -m cleartext
start_authd
auth 0 seed seed-pass

# A pwtool batch that lives through the whole test.
coproc BATCH { exec "$PWTOOL" -c "$CONF" -f "$DB" batch 2>&1; }
BATCH_PROC=$BATCH_PID
# (the coproc's variables vanish when it ends: keep copies of its fds)
exec {BATCH_IN}>&"${BATCH[1]}" {BATCH_OUT}<&"${BATCH[0]}"
[ -z "${BATCH[1]:-}" ] || eval "exec ${BATCH[1]}>&- ${BATCH[0]}<&-"
batch() {	# batch LINE - one command; its answer in $BATCH_ANS
	BATCH_ANS=
	# (a write to a batch that has ended would kill this shell: SIGPIPE)
	kill -0 "$BATCH_PROC" 2>/dev/null &&
		printf '%s\n' "$1" >&"$BATCH_IN" &&
		IFS= read -r -t 10 BATCH_ANS <&"$BATCH_OUT" || BATCH_ANS="(no answer)"
}
b64() { printf '%s' "$1" | base64; }

hits=0
for i in $(seq 1 "$TRIES"); do
	# Both views are current: authd and the batch have just used the store.
	auth 0 seed seed-pass >/dev/null
	batch "add -m cleartext --password-base64 $(b64 "b-$i") b$i"
	if [ "${BATCH_ANS%% *}" != 0 ]; then
		desc "pwtool batch answers an add with 0"
		expect_eq "0 added b$i@example.org" "$BATCH_ANS"
		break
	fi
	ino0=$(stat -c %i "$DB")
	for k in 1 2 3 4 5 6 7 8; do
		add_user "v$i-$k@example.org" "pw-$i-$k" -m cleartext
		pw compact >/dev/null
		[ "$(stat -c %i "$DB")" = "$ino0" ] && break
	done
	[ "$(stat -c %i "$DB")" = "$ino0" ] || continue
	hits=$((hits + 1))
	gen=$(sed -n 's/^generation //p' "$DB")
	echo "# the manifest's inode $ino0 came back after $k compactions (generation $gen)"
	desc "authd: v$i-$k, added since its last request, logs in"
	auth 0 "v$i-$k" "pw-$i-$k"
	if [ "$hits" = 1 ]; then
		expect_rc 0 pw delete gone
		desc "authd: a user deleted since then no longer logs in"
		auth 1 gone gone-pass
	fi
	desc "pwtool batch: v$i-$k, added since its last command, can be locked"
	batch "lock v$i-$k"
	expect_eq "0" "${BATCH_ANS%% *}"
	[ "${BATCH_ANS%% *}" = 0 ] || echo "#   answer: $BATCH_ANS"
	batch "add -m cleartext --password-base64 $(b64 "c-$i") c$i"
	desc "pwtool batch: a change it acknowledged after that is in the store"
	expect_rc 0 pw check -p "c$i" <<<"c-$i"
	[ "$hits" -ge 3 ] && break
done
exec {BATCH_IN}>&-
wait "$BATCH_PROC" 2>/dev/null || true
if [ "$hits" = 0 ]; then
	echo "# the filesystem of $TMP never reused the manifest's inode in $TRIES tries: nothing shown"
fi
desc "authd still answers"
auth 0 seed seed-pass
finish
