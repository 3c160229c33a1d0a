#!/bin/bash
# The real libsasl2 (pwcheck_method: saslauthd) against authd: what every
# Cyrus-SASL application (Postfix, Cyrus IMAP, OpenLDAP...) does.
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"

: "${SASL_CHECKPASS:=}"
if [ -z "$SASL_CHECKPASS" ] || [ ! -x "$SASL_CHECKPASS" ]; then
	echo "Bail out! sasl_checkpass not built (install libsasl2-dev and reconfigure)"
	exit 1
fi

write_dconf
add_user alice@example.org 'Alice-Sasl1'
add_user bob@other.org 'Bob-Sasl2'
start_authd

SASLCONF=$TMP/sasl
mkdir -p "$SASLCONF"
cat >"$SASLCONF/authdtest.conf" <<CONF
pwcheck_method: saslauthd
saslauthd_path: $SOCK
mech_list: PLAIN LOGIN
CONF

# sc WANT_RC USER PASS [USER_REALM]
sc() {
	local want=$1 rc=0 out

	shift
	_take_desc "libsasl2 sasl_checkpass($1, ${3:+user_realm $3, }'$2') -> $([ "$want" = 0 ] && echo SASL_OK || echo failure)"
	local d=$_D
	out=$("$SASL_CHECKPASS" "$SASLCONF" authdtest smtp "$@" 2>&1) || rc=$?
	if [ "$rc" = "$want" ]; then
		pass "$d"
	else
		fail "$d"
		echo "#   exit $rc, output: $out"
	fi
}

sc 0 alice 'Alice-Sasl1'
expect_log 'user=alice@example\.org service=smtp client=- result=ok'
sc 1 alice 'Alice-Sasl1-wrong'
expect_log 'user=alice@example\.org service=smtp client=- result=fail reason="wrong password"'
sc 1 nosuchuser 'Alice-Sasl1'
sc 0 alice@example.org 'Alice-Sasl1'
sc 1 alice@other.org 'Alice-Sasl1'
expect_log 'user=alice@other\.org service=smtp .*reason="unknown user"'
sc 0 bob@other.org 'Bob-Sasl2'
sc 1 bob 'Bob-Sasl2'
# The application's user realm (Postfix: smtpd_sasl_local_domain).
sc 0 alice 'Alice-Sasl1' example.org
sc 0 bob 'Bob-Sasl2' other.org
sc 1 alice 'Alice-Sasl1' other.org
# A login with its own @realm keeps it, whatever the user realm.
sc 0 alice@example.org 'Alice-Sasl1' other.org
# libsasl2 splits at the last @: "x@y@example.org" is user "x@y" in
# example.org, which does not exist.  The application then believes
# "alice@example.org@other.org" authenticated: authd must not answer OK
# for it with alice@example.org's password (saslauthd does not).
sc 1 alice@foo@example.org 'Alice-Sasl1'
sc 1 alice@example.org@other.org 'Alice-Sasl1'
expect_log 'result=fail reason="[^"]*" delay'
desc "a password with spaces and UTF-8 through libsasl2"
add_user uni@example.org 'pässwörd with spaces'
sc 0 uni 'pässwörd with spaces'
sc 1 uni 'passwort with spaces'

# authd's temporary failure (here: the store unreadable) is an empty
# reply on the mux socket: libsasl2 must take it for an error of the
# server (SASL_FAIL, a 454 in Postfix), not a wrong password (SASL_BADAUTH,
# a 535), and a wrong password must stay SASL_BADAUTH.
desc "a wrong password is SASL_BADAUTH"
out=$("$SASL_CHECKPASS" "$SASLCONF" authdtest smtp alice wrong 2>&1) || true
expect_eq "code=SASL_BADAUTH" "$(grep -o 'code=.*' <<<"$out")"
mv "$DB" "$DB.away"
desc "the store unreadable: the empty reply is SASL_FAIL (temporary)"
out=$("$SASL_CHECKPASS" "$SASLCONF" authdtest smtp alice 'Alice-Sasl1' 2>&1) || true
expect_eq "code=SASL_FAIL" "$(grep -o 'code=.*' <<<"$out")"
expect_log 'user=alice@example\.org .*result=tempfail'
mv "$DB.away" "$DB"

# The socket gone: libsasl2 reports a failure (no hang).
stop_authd
desc "with authd stopped, libsasl2 fails promptly (no hang)"
_now_us
t0=$_NOW
sc 1 alice 'Alice-Sasl1'
_now_us
check_ms 0 3000 $(((_NOW - t0) / 1000)) "libsasl2 without a socket fails fast"
finish
