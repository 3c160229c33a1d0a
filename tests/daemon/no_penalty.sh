#!/bin/bash
# no-penalty (the auth socket's request to skip the failure delay) is
# honoured only from the peers in auth_no_penalty_users or
# auth_no_penalty_groups (issue 9): any other client that could switch the
# delay off would guess without a brake and time every check.  The test
# client runs as root, which is not implied: empty lists trust nobody.
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"

D=400	# auth_failure_delay: far above a check's cost (1000 rounds)
write_dconf
for u in a1 a2 a3 a4 a5 a6 a7 a8; do
	add_user "$u@example.org" "pw-$u"
done

# fail_ms CONN USER [param=...] - a wrong PLAIN password; sets MS.
fail_ms() {
	local c=$1 user=$2

	shift 2
	authp run "$c" 1 PLAIN "$user" wrong "$@"
	if [[ $(ap_val result) != FAIL* ]]; then
		desc "wrong password for $user gets FAIL"
		fail
		echo "#   $AP_OUT"
	fi
	MS=$(ap_val ms)
}

# phase NAME CONFLINE... - restart authd with these extra keys.
phase() {
	local c=$1

	shift
	[ -n "$AUTHD_PID" ] && stop_authd
	write_dconf "auth_failure_delay = ${D}ms" "auth_failure_delay_max = 800ms" \
		"$@"
	start_authd
	authp open "$c"
}

phase c1
fail_ms c1 a1 param=no-penalty
check_ms $((D - 10)) $((D + 300)) "$MS" "default (nobody trusted): no-penalty from root is ignored, the failure is delayed"
expect_log 'no-penalty from a peer not in auth_no_penalty_users/groups ignored'

phase c2 "auth_no_penalty_users = nobody"
fail_ms c2 a2 param=no-penalty
check_ms $((D - 10)) $((D + 300)) "$MS" "auth_no_penalty_users = nobody: root's no-penalty is ignored"

phase c3 "auth_no_penalty_users = root"
fail_ms c3 a3 param=no-penalty
check_ms 0 $((D / 2)) "$MS" "auth_no_penalty_users = root: root's no-penalty is honoured"
fail_ms c3 a4
check_ms $((D - 10)) $((D + 300)) "$MS" "a trusted peer that does not ask for no-penalty is still delayed"

phase c4 "auth_no_penalty_groups = root"
fail_ms c4 a5 param=no-penalty
check_ms 0 $((D / 2)) "$MS" "auth_no_penalty_groups = root: a peer of that group is trusted"

desc "an unknown user in auth_no_penalty_users is a configuration error"
write_dconf "auth_no_penalty_users = no-such-user-enum"
if "$AUTHD" -c "$CONF" -t >"$TMP/t.out" 2>&1; then
	fail
else
	grep -q auth_no_penalty_users "$TMP/t.out" && pass || fail
fi

finish
