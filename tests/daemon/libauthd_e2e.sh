#!/bin/bash
# libauthd against the real authd: runs tests/unit/test_libauthd_e2e.c
# (every mechanism, blocking and non-blocking, right and wrong password,
# final data as CONT and with final-resp-ok, the mux check) on a private
# authd that offers all six mechanisms.  The program's own checks are TAP;
# they are counted as one assertion here, their output shown on failure.
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"
: "${LIBAUTHD_E2E:?LIBAUTHD_E2E must name the unit-libauthd_e2e binary}"

write_dconf "auth_mechanisms = plain login cram-md5 digest-md5 scram-sha-1 scram-sha-256" \
	"digest_md5_realms = example.org"
add_user alice@example.org 'Alice-Pw1' -m all
start_authd

desc "libauthd end to end: every mechanism and the mux check against authd"
if AUTHD_AUTH_SOCKET=$SOCKDIR/auth AUTHD_MUX_SOCKET=$SOCK \
	AUTHD_TEST_USER=alice@example.org AUTHD_TEST_PASSWORD=Alice-Pw1 \
	"$LIBAUTHD_E2E" >"$TMP/e2e.out" 2>&1; then
	pass
else
	fail
	sed 's/^/#   /' "$TMP/e2e.out"
fi
desc "... and it ran its checks (none skipped, none failed)"
if grep -q '^ok ' "$TMP/e2e.out" && ! grep -q '^not ok\|SKIP' "$TMP/e2e.out"; then
	pass
else
	fail
fi
# Each mechanism succeeds at least twice (final data as CONT, and with
# final-resp-ok) in the blocking part, and again in the non-blocking part.
desc "authd logged at least 18 successful logins of alice"
n=$(log_count 'user=alice@example\.org .*result=ok')
check test "$n" -ge 18
finish
