#!/bin/bash
# Debian's testsaslauthd (sasl2-bin), the reference saslauthd client,
# against authd's mux socket.
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"

TSA=$(command -v testsaslauthd || true)
[ -n "$TSA" ] || { echo "Bail out! testsaslauthd not found (install sasl2-bin)"; exit 1; }

write_dconf
add_user alice@example.org 'Alice-Pw1'
add_user bob@other.org 'Bob-Pw2'
add_user carl@example.org 'Carl-Pw3' --disabled
add_user dora@example.org 'Dora-Pw4'
start_authd

# tsa WANT_RC WANT_OUTPUT ARGS... - one testsaslauthd run.
tsa() {
	local want_rc=$1 want_out=$2 rc=0 out

	shift 2
	_take_desc "testsaslauthd $* -> $want_out"
	local d=$_D
	out=$("$TSA" -f "$SOCK" "$@" 2>&1) || rc=$?
	if [ "$out" = "$want_out" ] && { [ "$want_rc" = any ] && [ "$rc" != 0 ] || [ "$rc" = "$want_rc" ]; }; then
		pass "$d (exit $rc)"
	else
		fail "$d"
		echo "#   expected: exit $want_rc, output: $want_out"
		echo "#   actual:   exit $rc, output: $out"
	fi
}
OK='0: OK "Success."'
NO='0: NO "authentication failed"'

tsa 0 "$OK" -u alice -p 'Alice-Pw1'
expect_log 'user=alice@example\.org service=imap client=- result=ok'
tsa any "$NO" -u alice -p 'Alice-Pw1x'
tsa any "$NO" -u nosuchuser -p 'Alice-Pw1'
desc "a user added --disabled is refused"
tsa any "$NO" -u carl -p 'Carl-Pw3'
desc "pwtool lock dora@example.org"
expect_rc 0 pw lock dora@example.org
tsa any "$NO" -u dora -p 'Dora-Pw4'
expect_log 'user=dora@example\.org .*reason="account locked"'
desc "wrong realm: alice is in example.org, not other.org"
tsa any "$NO" -u alice -p 'Alice-Pw1' -r other.org
expect_log 'user=alice@other\.org .*reason="unknown user"'
tsa 0 "$OK" -u alice -p 'Alice-Pw1' -r example.org
tsa 0 "$OK" -u alice@example.org -p 'Alice-Pw1'
tsa 0 "$OK" -u bob -p 'Bob-Pw2' -r other.org
tsa 0 "$OK" -u bob@other.org -p 'Bob-Pw2'
tsa any "$NO" -u bob -p 'Bob-Pw2'
# A login that still contains @ while a realm is sent names the user
# "alice@example.org" in other.org (saslauthd's sasldb looks up exactly
# that, and libsasl2 sends this for "alice@example.org@other.org"): it
# must not authenticate alice@example.org under another name.
desc "login alice@example.org with realm other.org is not alice@example.org"
tsa any "$NO" -u alice@example.org -p 'Alice-Pw1' -r other.org
tsa 0 "$OK" -u alice -p 'Alice-Pw1' -s smtp
expect_log 'user=alice@example\.org service=smtp client=- result=ok'
tsa any "$NO" -u alice -p 'wrong' -s smtp
desc "user names are case-folded (username_fold_case = yes)"
tsa 0 "$OK" -u ALICE -p 'Alice-Pw1'
desc "the password is case-sensitive"
tsa any "$NO" -u alice -p 'alice-pw1'
desc "a password with spaces and UTF-8"
add_user eve@example.org 'pass with spaces ünïcødé'
tsa 0 "$OK" -u eve -p 'pass with spaces ünïcødé'
tsa any "$NO" -u eve -p 'pass with spaces unicode'
desc "no password of the session in the log"
check bash -c '! grep -Eq "Alice-Pw|Bob-Pw|Carl-Pw|Dora-Pw|spaces" "$1"' _ "$LOG"
finish
