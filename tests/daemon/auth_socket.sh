#!/bin/bash
# The auth socket (Dovecot auth-client protocol) against a real authd -d
# with every mechanism enabled: handshake, PLAIN, LOGIN, CRAM-MD5,
# DIGEST-MD5, SCRAM-SHA-1 and SCRAM-SHA-256 (the server's final data
# verified), failures that look alike, missing verifiers, authorisation
# identities, auth_disable_plaintext, auth_proxy_users, and the protocol's
# edge cases (pipelining, interleaving, CANCEL, bad ids, bad base64 -- the
# CVE-2025-59028 regression --, escapes, line length, expiry, 128 requests
# in flight).  The client is tests/daemon/authproto.py (its RFC vectors run
# first, so a wrong client cannot pass for a right server).
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"

# nouser LINE - LINE without the user= of a FAIL: every FAIL names the user
# as typed (tested where failures are compared); other checks look at the
# rest of the line.
nouser() { printf '%s' "$1" | sed "s/$(printf '\t')user=[^$(printf '\t')]*//"; }

T=$'\t'
UB64=VXNlcm5hbWU6	# "Username:"
PB64=UGFzc3dvcmQ6	# "Password:"
ALL_MECHS="plain login cram-md5 digest-md5 scram-sha-1 scram-sha-256"

# show TEXT - TABs as <T> for the diagnostics
show() {
	local s=${1//$'\t'/<T>}
	printf '%s' "${s//$'\n'/\\n}"
}

# is DESC WANT GOT - exact comparison
is() {
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1"
		echo "#   want: $(show "$2")"
		echo "#   got:  $(show "$3")"
	fi
}

# like DESC ERE GOT
like() {
	if [[ $3 =~ $2 ]]; then
		pass "$1"
	else
		fail "$1"
		echo "#   want: /$(show "$2")/"
		echo "#   got:  $(show "$3")"
	fi
}

# x C ID MECH USER PASS [opt...] - one whole exchange (authproto "run"):
# RES (the last line), VER (server data verified: yes/no/none), FIN (how
# the final data came: cont/ok/none), NCONT (challenges seen).
x() {
	authp run "$@"
	RES=$(ap_val result)
	VER=$(ap_val verified)
	FIN=$(ap_val final)
	NCONT=$(grep -c '^cont=' <<<"$AP_OUT" || true)
	if [ -n "$(ap_val error)" ]; then
		echo "# authproto: $(ap_val error)"
	fi
}

# lname MECH USER - the name as the mechanism sends it (DIGEST-MD5: the
# realm directive carries the realm)
lname() {
	if [ "$1" = DIGEST-MD5 ]; then
		printf '%s' "${2%@*}"
	else
		printf '%s' "$2"
	fi
}

# okname MECH USER@REALM - what OK carries after a login with lname:
# DIGEST-MD5 sends the bare name, which differs from the normalised one,
# so OK adds original_user= (as it does for every mechanism).
okname() {
	if [ "$1" = DIGEST-MD5 ]; then
		printf 'user=%s\toriginal_user=%s' "$2" "${2%@*}"
	else
		printf 'user=%s' "$2"
	fi
}

# alive_or_restart DESC - assertion: authd is still running.  If it died,
# show its sanitizer reports and start a new one so that the remaining
# checks still run.
alive_or_restart() {
	local f

	desc "$1"
	if kill -0 "$AUTHD_PID" 2>/dev/null; then
		pass
		return 0
	fi
	fail
	echo "#   authd (pid $AUTHD_PID) died"
	for f in "$SANDIR"/*; do
		[ -e "$f" ] || continue
		echo "#   $f:"
		grep -E 'ERROR|SUMMARY|^ +#[0-9] ' "$f" | head -n 12 | sed 's/^/#     /'
	done
	wait "$AUTHD_PID" 2>/dev/null || true
	start_authd
}

desc "the Python client reproduces the RFC vectors (CRAM-MD5, DIGEST-MD5, SCRAM)"
expect_rc 0 python3 "$AUTHPROTO" --selftest

write_dconf "auth_mechanisms = $ALL_MECHS" \
	"digest_md5_realms = example.org" \
	"auth_request_timeout = 2s"
add_user alice@example.org 'Alice-Pw1' -m all
add_user bob@example.org 'Bob-Pw2' -m all
add_user tim@example.org 'tanstaaftanstaaf' -m all
add_user 'john doe@example.org' 'John-Pw3' -m all
add_user carol@example.org 'Carol-Pw4' -m 'plain scram'
add_user dave@example.org 'Dave-Pw5' -m all --disabled
add_user frank@example.org 'Frank-Pw7' -m cleartext
add_user 'jörg@example.org' 'Pässword-8' -m all
start_authd

# --- handshake ---

authp open h1 none
HS=$(ap_vals hs)
mapfile -t hs <<<"$HS"
is "handshake: VERSION 1 2 first, sent without the client's VERSION" \
	"VERSION${T}1${T}2" "${hs[0]}"
is "handshake: eleven lines (VERSION, six MECH, SPID, CUID, COOKIE, DONE)" \
	11 "${#hs[@]}"
is "handshake: the MECH lines and their flags" \
	"MECH${T}CRAM-MD5${T}dictionary${T}active
MECH${T}DIGEST-MD5${T}dictionary${T}active${T}mutual-auth
MECH${T}LOGIN${T}plaintext
MECH${T}PLAIN${T}plaintext
MECH${T}SCRAM-SHA-1${T}mutual-auth
MECH${T}SCRAM-SHA-256${T}mutual-auth" "$(grep '^MECH' <<<"$HS" | LC_ALL=C sort)"
last_mech=$(grep -n '^MECH' <<<"$HS" | tail -n 1 | cut -d: -f1)
spid_at=$(grep -n '^SPID' <<<"$HS" | cut -d: -f1)
desc "handshake: every MECH line comes before SPID (Postfix needs it)"
check test "${last_mech:-99}" -lt "${spid_at:-0}"
is "handshake: SPID is authd's pid" "SPID${T}$AUTHD_PID" "$(grep '^SPID' <<<"$HS")"
like "handshake: CUID is a number" "^CUID${T}[0-9]+\$" "$(grep '^CUID' <<<"$HS")"
like "handshake: COOKIE is 32 hex digits" "^COOKIE${T}[0-9a-f]{32}\$" \
	"$(grep '^COOKIE' <<<"$HS")"
is "handshake: the order is VERSION MECH... SPID CUID COOKIE DONE" \
	"VERSION MECH MECH MECH MECH MECH MECH SPID CUID COOKIE DONE" \
	"$(cut -f1 <<<"$HS" | paste -sd' ')"
desc "handshake: it arrives at once (no wait for the client)"
check test "$(ap_val hs_ms)" -lt 1000
cuid1=$(grep '^CUID' <<<"$HS")

authp open h2 vfirst
HS2=$(ap_vals hs)
is "a client sending VERSION and CPID first gets the same handshake (CUID aside)" \
	"$(grep -v '^CUID' <<<"$HS")" "$(grep -v '^CUID' <<<"$HS2")"
desc "each connection has its own CUID"
check test "$cuid1" != "$(grep '^CUID' <<<"$HS2")"
x h2 1 PLAIN alice@example.org Alice-Pw1
is "after VERSION first, PLAIN works on that connection" \
	"OK${T}1${T}user=alice@example.org" "$RES"

authp open h3 wait
x h3 1 SCRAM-SHA-256 alice@example.org Alice-Pw1
is "a client that waits for DONE, then sends VERSION (Exim's way): SCRAM works" \
	"OK${T}1${T}user=alice@example.org" "$RES"

authp open h4 none
authp send h4 "VERSION${T}1${T}9"
x h4 1 PLAIN alice@example.org Alice-Pw1
is "VERSION 1 9 (another minor) is accepted" "OK${T}1${T}user=alice@example.org" "$RES"

authp open h5 none
authp send h5 "VERSION${T}2${T}0"
authp eof h5 2
is "VERSION 2 closes the connection" yes "$(ap_val eof)"
expect_log 'auth: client speaks protocol version 2, not 1: closing'
for c in h1 h2 h3 h4 h5; do authp close $c; done

# --- "resp=" and "resp==" ---
# Protocol 1.0/1.1 clients mean no initial response by a bare "resp=" (Exim
# sends it whenever the SMTP client gave none); "resp==" is an empty one.

authp open r0 none
authp send r0 "VERSION${T}1${T}0"
authp send r0 "AUTH${T}1${T}LOGIN${T}service=smtp${T}resp="
authp read r0
is "VERSION 1 0, LOGIN with a bare resp=: no initial response, the Username: prompt" \
	"CONT${T}1${T}$UB64" "$(ap_val line)"
authp send r0 "AUTH${T}2${T}PLAIN${T}service=smtp${T}resp="
authp read r0
is "... PLAIN with a bare resp=: an empty challenge" "CONT${T}2${T}" "$(ap_val line)"
authp send r0 "CONT${T}2${T}$(printf '\0alice@example.org\0Alice-Pw1' | base64)"
authp read r0
is "... and the credentials in the CONT that follows work" \
	"OK${T}2${T}user=alice@example.org" "$(ap_val line)"
authp send r0 "AUTH${T}3${T}CRAM-MD5${T}service=smtp${T}resp="
authp read r0
like "... CRAM-MD5 with a bare resp=: the challenge" \
	"^CONT${T}3${T}[A-Za-z0-9+/]+=*\$" "$(ap_val line)"
authp send r0 "AUTH${T}4${T}LOGIN${T}service=smtp${T}resp=="
authp read r0
is "resp== (an empty initial response) to LOGIN: the Username: prompt, as in Dovecot" \
	"CONT${T}4${T}$UB64" "$(ap_val line)"
authp send r0 "AUTH${T}5${T}DIGEST-MD5${T}service=smtp${T}resp=="
authp read r0
like "resp== to DIGEST-MD5: the challenge" "^CONT${T}5${T}[A-Za-z0-9+/]+=*\$" "$(ap_val line)"
authp send r0 "AUTH${T}6${T}PLAIN${T}service=smtp${T}resp=="
authp read r0
like "resp== to PLAIN: an empty message, FAIL" "^FAIL${T}6(${T}|\$)" "$(ap_val line)"
authp close r0
authp open r1 none
authp send r1 "VERSION${T}1${T}2"
authp send r1 "AUTH${T}1${T}PLAIN${T}service=smtp${T}resp="
authp read r1
like "VERSION 1 2: a bare resp= is an empty initial response (PLAIN: FAIL)" \
	"^FAIL${T}1(${T}|\$)" "$(ap_val line)"
authp close r1

# --- every mechanism with the right password ---

authp open c
for m in PLAIN LOGIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-1 SCRAM-SHA-256; do
	x c 1 "$m" "$(lname "$m" alice@example.org)" Alice-Pw1
	is "$m with alice's password: OK $(okname "$m" alice@example.org | tr '\t' ' ')" \
		"OK${T}1${T}$(okname "$m" alice@example.org)" "$RES"
done

x c 1 DIGEST-MD5 alice@example.org Alice-Pw1
is "DIGEST-MD5 with the whole address as username (curl, swaks, gsasl): OK, rspauth verified" \
	"OK${T}1${T}user=alice@example.org yes" "$RES $VER"
x c 1 DIGEST-MD5 alice@example.org Alice-Pw1-x
is "DIGEST-MD5 with the whole address and a wrong password: FAIL" \
	"FAIL${T}1${T}user=alice@example.org" "$RES"

for m in DIGEST-MD5 SCRAM-SHA-1 SCRAM-SHA-256; do
	x c 2 "$m" "$(lname "$m" bob@example.org)" Bob-Pw2 noempty=1
	is "$m: the server's final data comes as a CONT" "<final>" "$RES"
	is "$m: the final data verifies (rspauth / ServerSignature)" yes "$VER"
	authp quiet c 0.3
	is "$m: no OK before the client's empty CONT" "<none>" "$(ap_val line)"
	authp send c "CONT${T}2${T}"
	authp read c
	is "$m: after the empty CONT: OK $(okname "$m" bob@example.org | tr '\t' ' ')" \
		"OK${T}2${T}$(okname "$m" bob@example.org)" "$(ap_val line)"

	x c 3 "$m" "$(lname "$m" bob@example.org)" Bob-Pw2 fro=1
	like "$m with final-resp-ok: the final data rides on OK as resp=" \
		"^OK${T}3${T}$(okname "$m" bob@example.org)${T}resp=[A-Za-z0-9+/=]+\$" "$RES"
	is "$m with final-resp-ok: resp= verifies, one CONT fewer" \
		"yes ok 1" "$VER $FIN $NCONT"
done
x c 4 DIGEST-MD5 bob Bob-Pw2 noempty=1
authp send c "CONT${T}4${T}eA=="
authp read c
like "DIGEST-MD5: a non-empty answer to rspauth fails" "^FAIL${T}4(${T}|\$)" \
	"$(ap_val line)"

for m in PLAIN LOGIN CRAM-MD5; do
	x c 5 "$m" alice@example.org Alice-Pw1 fro=1
	is "$m with final-resp-ok: a plain OK (no final data to carry)" \
		"OK${T}5${T}user=alice@example.org" "$RES"
done

x c 6 LOGIN alice@example.org Alice-Pw1
is "LOGIN without an initial response: the prompts are exactly Username: and Password:" \
	"Username:,Password:" "$(ap_vals cont | paste -sd,)"
x c 6 LOGIN alice@example.org Alice-Pw1 ir=1
is "LOGIN with the user as initial response: only Password: is asked" \
	"Password:" "$(ap_vals cont | paste -sd,)"
is "LOGIN with an initial response: OK" "OK${T}6${T}user=alice@example.org" "$RES"
x c 6 PLAIN alice@example.org Alice-Pw1 ir=0
is "PLAIN without an initial response: an empty challenge, then OK" \
	"1 OK${T}6${T}user=alice@example.org" "$NCONT $RES"
x c 6 SCRAM-SHA-1 alice@example.org Alice-Pw1 ir=0
is "SCRAM-SHA-1 without an initial response: OK" \
	"OK${T}6${T}user=alice@example.org" "$RES"
x c 7 CRAM-MD5 alice Alice-Pw1
like "CRAM-MD5: the challenge is <random.time@host>" '^<[0-9a-f]+\.[0-9]+@[^>]+>$' \
	"$(ap_val cont)"
ch1=$(ap_val cont)
x c 7 CRAM-MD5 alice Alice-Pw1
desc "CRAM-MD5: each request gets a new challenge"
check test "$ch1" != "$(ap_val cont)"

# original_user: the name as the client typed it, when it differs.
x c 8 PLAIN Alice Alice-Pw1
is "PLAIN as 'Alice': OK user=alice@example.org original_user=Alice" \
	"OK${T}8${T}user=alice@example.org${T}original_user=Alice" "$RES"
x c 8 LOGIN alice Alice-Pw1
is "LOGIN as 'alice': OK user=alice@example.org original_user=alice" \
	"OK${T}8${T}user=alice@example.org${T}original_user=alice" "$RES"
# The verifiers of CRAM-MD5 and SCRAM do not depend on the name's spelling,
# so these log in; the OK must say how the name was typed, as for PLAIN
# (authd(8): "with original_user= when the client typed the name
# differently").  DIGEST-MD5 is left out: its stored hash binds the
# normalised spelling.
for m in CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256; do
	x c 8 "$m" Alice Alice-Pw1
	is "$m as 'Alice': OK user=alice@example.org original_user=Alice" \
		"OK${T}8${T}user=alice@example.org${T}original_user=Alice" "$RES"
done

# --- failures: wrong password, unknown user, locked account look alike ---

for m in PLAIN LOGIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-1 SCRAM-SHA-256; do
	x c 9 "$m" "$(lname "$m" alice@example.org)" Alice-Pw1-x
	wrong=$RES
	x c 9 "$m" "$(lname "$m" nobody-here@example.org)" Alice-Pw1
	unknown=$RES
	x c 9 "$m" "$(lname "$m" dave@example.org)" Dave-Pw5
	locked=$RES
	# Only the name as typed comes back (user=, as from Dovecot, for
	# Postfix's sasl_username= on the failure line), nothing that tells
	# the three apart.
	is "$m: a wrong password is FAIL with the name as typed, no code, no reason" \
		"FAIL${T}9${T}user=$(lname "$m" alice@example.org)" "$wrong"
	is "$m: an unknown user and a locked account get the very same line" \
		"FAIL${T}9${T}user=$(lname "$m" nobody-here@example.org)|FAIL${T}9${T}user=$(lname "$m" dave@example.org)" \
		"$unknown|$locked"
done
expect_log 'auth: user=alice@example\.org service=smtp client=- result=fail reason="wrong password"'
expect_log 'auth: user=nobody-here@example\.org service=smtp client=- result=fail reason="unknown user"'
expect_log 'auth: user=dave@example\.org service=smtp client=- result=fail reason="account locked"'
x c 9 SCRAM-SHA-256 nobody-here@example.org x
s1=$(ap_val cont)
x c 9 SCRAM-SHA-256 nobody-here@example.org x
s2=$(ap_val cont)
is "SCRAM for an unknown user: a server-first with a stable salt and the usual i=" \
	"s=${s1#*,s=}" "s=${s2#*,s=}"

# --- a user without CRAM-MD5 and DIGEST-MD5 verifiers (-m 'plain scram') ---

x c 10 CRAM-MD5 carol Carol-Pw4
is "CRAM-MD5 for a user without the verifier: FAIL" "FAIL${T}10" "$(nouser "$RES")"
expect_log 'user=carol@example\.org .*result=fail reason="no CRAM-MD5 verifier stored for this user"'
x c 10 DIGEST-MD5 carol Carol-Pw4
is "DIGEST-MD5 for a user without the verifier: FAIL" "FAIL${T}10" "$(nouser "$RES")"
expect_log 'user=carol@example\.org .*result=fail reason="no DIGEST-MD5 verifier stored for this user"'
x c 10 PLAIN carol@example.org Carol-Pw4
is "the same user over PLAIN: OK" "OK${T}10${T}user=carol@example.org" "$RES"
x c 10 SCRAM-SHA-256 carol@example.org Carol-Pw4
is "the same user over SCRAM-SHA-256: OK" "OK${T}10${T}user=carol@example.org" "$RES"

# --- CRAM-MD5 user names with spaces: split at the last space ---

x c 11 CRAM-MD5 'john doe' John-Pw3
is "CRAM-MD5 as 'john doe': OK user=john doe@example.org original_user=john doe" \
	"OK${T}11${T}user=john doe@example.org${T}original_user=john doe" "$RES"
x c 11 CRAM-MD5 'john doe' John-Pw3-x
is "CRAM-MD5 as 'john doe' with a wrong password: FAIL" "FAIL${T}11" "$(nouser "$RES")"
x c 11 CRAM-MD5 alice x digest=abababababababababababababababab
is "CRAM-MD5 with a digest of the wrong value: FAIL" "FAIL${T}11" "$(nouser "$RES")"
x c 11 CRAM-MD5 alice x digest=abababababababababababababababa
is "CRAM-MD5 with a 31-digit digest: FAIL" "FAIL${T}11" "$(nouser "$RES")"

# --- authorisation identities (auth_proxy_users empty) ---

x c 12 PLAIN alice Alice-Pw1 authzid=alice@example.org
like "PLAIN with authzid = authcid: OK user=alice@example.org" \
	"^OK${T}12${T}user=alice@example\.org(${T}|\$)" "$RES"
x c 12 PLAIN tim@example.org tanstaaftanstaaf authzid=tim
is "PLAIN authcid tim@example.org, authzid tim (normalised alike): OK" \
	"OK${T}12${T}user=tim@example.org" "$RES"
x c 12 PLAIN tim tanstaaftanstaaf authzid=TIM@Example.ORG
like "PLAIN authcid tim, authzid TIM@Example.ORG: OK user=tim@example.org" \
	"^OK${T}12${T}user=tim@example\.org(${T}|\$)" "$RES"
x c 12 PLAIN alice Alice-Pw1 authzid=bob
is "PLAIN as alice for bob: FAIL code=authz_fail" "FAIL${T}12${T}code=authz_fail" "$RES"
expect_log 'auth: user=alice@example\.org may not act as the requested authorization identity'
x c 12 PLAIN alice Alice-Pw1-x authzid=bob
is "PLAIN as alice for bob with a wrong password: a plain FAIL (no authz hint)" \
	"FAIL${T}12" "$(nouser "$RES")"
x c 12 SCRAM-SHA-256 alice Alice-Pw1 authzid=bob
is "SCRAM-SHA-256 with a=bob: FAIL code=authz_fail" "FAIL${T}12${T}code=authz_fail" "$RES"
x c 12 SCRAM-SHA-1 alice Alice-Pw1 authzid=alice@example.org
is "SCRAM-SHA-1 with a=alice@example.org (herself): OK, verified" \
	"OK${T}12${T}user=alice@example.org${T}original_user=alice yes" "$RES $VER"
x c 12 DIGEST-MD5 alice Alice-Pw1 authzid=bob@example.org
is "DIGEST-MD5 with authzid=bob@example.org: FAIL code=authz_fail" \
	"FAIL${T}12${T}code=authz_fail" "$RES"
x c 12 DIGEST-MD5 alice Alice-Pw1 authzid=alice@example.org
is "DIGEST-MD5 with authzid=alice@example.org (herself): OK, rspauth verified" \
	"OK${T}12${T}user=alice@example.org${T}original_user=alice yes" "$RES $VER"

# --- DIGEST-MD5 negative cases (each would pass without its defect) ---

for neg in "nonce=0123456789abcdef0123456789abcdef:a nonce that is not ours" \
	"nc=00000002:nc=00000002" \
	"uri=imap/localhost:digest-uri of another service (imap for smtp)" \
	"realm=other.org:a realm that was not offered" \
	"repeat=username:a repeated directive (username)" \
	"repeat=nonce:a repeated directive (nonce)" \
	"hexinner=1:the hex inner hash (the HTTP Digest habit)" \
	"qop=auth-int:qop=auth-int (not offered)"; do
	x c 13 DIGEST-MD5 alice Alice-Pw1 "${neg%%:*}"
	is "DIGEST-MD5 with ${neg#*:}: FAIL" "FAIL${T}13" "$(nouser "$RES")"
done
expect_log 'DIGEST-MD5 response does not match the challenge'
x c 13 DIGEST-MD5 alice Alice-Pw1 extra=foo=bar uri=SMTP/mx.example.org
is "DIGEST-MD5 with an unknown directive and digest-uri SMTP/host: OK" \
	"OK${T}13${T}user=alice@example.org${T}original_user=alice yes" "$RES $VER"

# --- DIGEST-MD5 from an old client: ISO-8859-1, no charset=utf-8 ---

x c 15 DIGEST-MD5 jörg Pässword-8 realm=example.org latin1=1
is "DIGEST-MD5 without charset, user and password in ISO-8859-1: OK user=jörg@example.org" \
	"OK${T}15${T}user=jörg@example.org${T}original_user=jörg yes" "$RES $VER"
x c 15 DIGEST-MD5 jörg Pässword-8 realm=example.org latin1=1 authzid=jörg@example.org
is "... with an ISO-8859-1 authzid too (A1 takes it as sent)" \
	"OK${T}15${T}user=jörg@example.org${T}original_user=jörg yes" "$RES $VER"
x c 15 DIGEST-MD5 jörg Pässword-8 realm=example.org authzid=jörg@example.org
is "... and the same in UTF-8 with charset=utf-8" \
	"OK${T}15${T}user=jörg@example.org${T}original_user=jörg yes" "$RES $VER"
x c 15 DIGEST-MD5 jörg Pässword-9 realm=example.org latin1=1
is "... a wrong password: FAIL" "FAIL${T}15" "$(nouser "$RES")"

# --- SCRAM negative cases ---

x c 14 SCRAM-SHA-256 alice Alice-Pw1 'gs2=p=tls-unique,,'
is "SCRAM with p= (channel binding not offered): FAIL at once, no server-first" \
	"FAIL${T}14 0" "$RES $NCONT"
expect_log 'SCRAM channel binding requested but not offered'
x c 14 SCRAM-SHA-256 alice Alice-Pw1 'gs2=y,,'
is "SCRAM with y,, (client could bind, server did not offer): OK" \
	"OK${T}14${T}user=alice@example.org${T}original_user=alice yes" "$RES $VER"
x c 14 SCRAM-SHA-256 alice Alice-Pw1 rnonce=Zm9vYmFyYmF6cXV4
is "SCRAM with a nonce in client-final that is not the server's: FAIL" \
	"FAIL${T}14" "$(nouser "$RES")"
x c 14 SCRAM-SHA-1 alice Alice-Pw1 'cheader=y,,'
is "SCRAM with c= not matching the gs2 header (y,, for n,,): FAIL" "FAIL${T}14" "$(nouser "$RES")"
x c 14 SCRAM-SHA-256 alice Alice-Pw1 'gs2=n,a=bob,' 'cheader=n,,'
is "SCRAM with c= dropping the authzid of the gs2 header: FAIL" "FAIL${T}14" "$(nouser "$RES")"
expect_log 'SCRAM client-final does not match'
x c 14 SCRAM-SHA-256 alice Alice-Pw1 rawuser=al=3Xice
is "SCRAM with an invalid saslname escape (=3X): FAIL, no server-first" \
	"FAIL${T}14 0" "$RES $NCONT"
x c 14 SCRAM-SHA-256 alice Alice-Pw1 rawuser=al,ice
is "SCRAM with a bare ',' in the name (client-first breaks apart): FAIL" \
	"FAIL${T}14" "$(nouser "$RES")"
authp close c

# --- SCRAM salts: an unknown user's cannot be told from a real one's ---

# salt MECH NAME - the s= of the server-first message for NAME (the
# exchange is cancelled: nothing is logged or counted)
authp open sl
salt() {
	local b64

	authp send sl "AUTH${T}1${T}$1${T}service=smtp${T}resp=$(printf 'n,,n=%s,r=0123456789abcdef' "$2" | base64 -w0)"
	authp read sl
	b64=$(ap_val line | cut -f3)
	authp send sl "CANCEL${T}1"
	printf '%s' "$b64" | base64 -d | sed -n 's/.*,s=\([^,]*\),.*/\1/p'
}
S_ZZ=$(salt SCRAM-SHA-256 zz)
desc "an unknown user gets a salt"
check test -n "$S_ZZ"
is "... the same for every spelling of the name (zz, ZZ@Example.ORG, zz@example.org)" \
	"$S_ZZ $S_ZZ $S_ZZ" \
	"$(salt SCRAM-SHA-256 zz) $(salt SCRAM-SHA-256 ZZ@Example.ORG) $(salt SCRAM-SHA-256 zz@example.org)"
S_ZZ1=$(salt SCRAM-SHA-1 zz)
desc "... and another one for SCRAM-SHA-1, as real users have a salt per verifier"
check test -n "$S_ZZ1" -a "$S_ZZ1" != "$S_ZZ"
S_AL=$(salt SCRAM-SHA-256 alice)
is "a real user's salt is the same for every spelling too" "$S_AL $S_AL" \
	"$(salt SCRAM-SHA-256 ALICE@EXAMPLE.ORG) $(salt SCRAM-SHA-256 alice@example.org)"
desc "... and differs between SHA-1 and SHA-256"
check test "$(salt SCRAM-SHA-1 alice)" != "$S_AL"
authp close sl

# A cleartext record does not serve SCRAM (the PBKDF2 at login would show
# in the timing of the server-first message); PLAIN and CRAM-MD5 work.
authp open cl
x cl 1 SCRAM-SHA-256 frank Frank-Pw7
is "SCRAM-SHA-256 for a cleartext-only user: FAIL" "FAIL${T}1" "$(nouser "$RES")"
expect_log 'user=frank@example.org .*reason="no SCRAM-SHA-256 verifier stored for this user'
x cl 2 CRAM-MD5 frank Frank-Pw7
is "... CRAM-MD5 from the cleartext: OK" "OK${T}2${T}user=frank@example.org${T}original_user=frank" "$RES"
authp close cl

# --- protocol edge cases ---

authp open p
# Pipelined: four requests in one write, answered in any order.
authp raw p "AUTH${T}1${T}PLAIN${T}service=smtp${T}resp=$(plain_b64 alice Alice-Pw1)
AUTH${T}2${T}PLAIN${T}service=smtp${T}resp=$(plain_b64 bob@example.org Bob-Pw2)
AUTH${T}3${T}PLAIN${T}service=smtp${T}resp=$(plain_b64 alice nope)
AUTH${T}4${T}LOGIN${T}service=smtp
"
authp reads p 4
is "four pipelined AUTH lines in one write: four answers" \
	"CONT${T}4${T}$UB64
FAIL${T}3${T}user=alice
OK${T}1${T}user=alice@example.org${T}original_user=alice
OK${T}2${T}user=bob@example.org" "$(ap_vals line | LC_ALL=C sort)"
authp send p "CANCEL${T}4"

# A failure (delayed by the throttle) does not hold back a later success.
authp raw p "AUTH${T}21${T}PLAIN${T}service=smtp${T}resp=$(plain_b64 alice nope)
AUTH${T}22${T}PLAIN${T}service=smtp${T}resp=$(plain_b64 bob@example.org Bob-Pw2)
"
authp reads p 2
is "a later request is answered first when an earlier one is still delayed" \
	"OK${T}22${T}user=bob@example.org|FAIL${T}21${T}user=alice" "$(ap_vals line | paste -sd'|')"

# Interleaved exchanges of four mechanisms on one connection.
authp start p 31 SCRAM-SHA-256 alice@example.org Alice-Pw1
authp start p 32 CRAM-MD5 bob Bob-Pw2
authp start p 33 DIGEST-MD5 alice Alice-Pw1
authp start p 34 LOGIN bob Bob-Pw2
authp flush p
done_lines=
verified=
for ((i = 0; i < 20; i++)); do
	authp pump p 3
	l=$(ap_val line)
	case $l in
	OK*|FAIL*) done_lines+=$l$'\n'; verified+="$(ap_val verified) " ;;
	"<"*) break ;;
	esac
	[ "$(grep -c . <<<"$done_lines")" -ge 4 ] && break
done
is "four interleaved exchanges (SCRAM, CRAM-MD5, DIGEST-MD5, LOGIN) all succeed" \
	"OK${T}31${T}user=alice@example.org
OK${T}32${T}user=bob@example.org${T}original_user=bob
OK${T}33${T}user=alice@example.org${T}original_user=alice
OK${T}34${T}user=bob@example.org${T}original_user=bob" \
	"$(LC_ALL=C sort <<<"${done_lines%$'\n'}")"
is "... with the SCRAM and DIGEST-MD5 final data verified" 2 \
	"$(tr ' ' '\n' <<<"$verified" | grep -c '^yes$')"

# Two LOGIN exchanges answered in the reverse order.
authp raw p "AUTH${T}41${T}LOGIN${T}service=smtp
AUTH${T}42${T}LOGIN${T}service=smtp
"
authp reads p 2
authp raw p "CONT${T}42${T}$(printf bob | base64)
CONT${T}41${T}$(printf alice | base64)
"
authp reads p 2
is "answers in reverse order: each id gets its own next prompt" \
	"CONT${T}42${T}$PB64|CONT${T}41${T}$PB64" "$(ap_vals line | paste -sd'|')"
authp raw p "CONT${T}41${T}$(printf Alice-Pw1 | base64)
CONT${T}42${T}$(printf Bob-Pw2 | base64)
"
authp reads p 2
is "... and each completes as its own user" \
	"OK${T}41${T}user=alice@example.org${T}original_user=alice
OK${T}42${T}user=bob@example.org${T}original_user=bob" \
	"$(ap_vals line | LC_ALL=C sort)"

# CANCEL: no reply, the id is forgotten and can be used again.
authp send p "AUTH${T}51${T}LOGIN${T}service=smtp"
authp read p
authp send p "CANCEL${T}51"
authp quiet p 0.3
is "CANCEL gets no reply" "<none>" "$(ap_val line)"
authp send p "CONT${T}51${T}$(printf alice | base64)"
authp read p
like "a CONT for the cancelled id: FAIL for that id (it is forgotten)" \
	"^FAIL${T}51(${T}|\$)" "$(ap_val line)"
x p 51 PLAIN alice@example.org Alice-Pw1
is "the cancelled id can be used again" "OK${T}51${T}user=alice@example.org" "$RES"
authp raw p "AUTH${T}52${T}PLAIN${T}service=smtp${T}resp=$(plain_b64 alice nope)
CANCEL${T}52
"
authp quiet p 0.5
is "CANCEL of a request being checked: no reply at all" "<none>" "$(ap_val line)"

# CONT for an unknown id fails that id only.
authp send p "AUTH${T}61${T}LOGIN${T}service=smtp"
authp read p
authp send p "CONT${T}77${T}$(printf alice | base64)"
authp read p
like "CONT for an unknown id: FAIL for that id" "^FAIL${T}77(${T}|\$)" "$(ap_val line)"
authp send p "CONT${T}61${T}$(printf alice | base64)"
authp read p
is "... and the open request on the connection goes on" "CONT${T}61${T}$PB64" \
	"$(ap_val line)"
authp send p "CONT${T}61${T}$(printf Alice-Pw1 | base64)"
authp read p
is "... to OK" "OK${T}61${T}user=alice@example.org${T}original_user=alice" \
	"$(ap_val line)"

# A duplicate id: the new AUTH is ignored (a FAIL for that id could not be
# told from the answer to the request in flight: commit a68b72c), the old
# request still completes, and the id gets exactly one final answer.
authp send p "AUTH${T}62${T}LOGIN${T}service=smtp"
authp read p
authp send p "AUTH${T}62${T}PLAIN${T}service=smtp${T}resp=$(plain_b64 bob Bob-Pw2)"
authp quiet p 0.3
is "AUTH with an id already in use: no answer that could pass for the first one's" \
	"<none>" "$(ap_val line)"
expect_log 'auth: duplicate request id 62 ignored'
authp send p "CONT${T}62${T}$(printf alice | base64)"
authp read p
is "... the first request with that id goes on (Password:)" "CONT${T}62${T}$PB64" \
	"$(ap_val line)"
authp send p "CONT${T}62${T}$(printf Alice-Pw1 | base64)"
authp reads p 2 0.5
is "... and completes as alice, with no second answer" \
	"OK${T}62${T}user=alice@example.org${T}original_user=alice|<timeout>" \
	"$(ap_vals line | paste -sd'|')"

# A CONT for a request that is being checked: one final answer per id
# (it used to get a FAIL and then the real answer).
authp raw p "AUTH${T}63${T}PLAIN${T}service=smtp${T}resp=$(plain_b64 alice Alice-Pw1)
CONT${T}63${T}AAAA
"
authp reads p 3 0.5
is "a CONT while the request is checked: exactly one final answer for the id" \
	1 "$(ap_vals line | grep -c "^\(OK\|FAIL\)${T}63")"

# Bad base64 (CVE-2025-59028: Dovecot dropped the whole connection).
authp send p "AUTH${T}71${T}LOGIN${T}service=smtp"
authp read p
authp send p "AUTH${T}72${T}PLAIN${T}service=smtp${T}resp=!!not*base64"
authp read p
is "bad base64 in resp=: FAIL code=invalid_base64" \
	"FAIL${T}72${T}code=invalid_base64" "$(ap_val line)"
authp send p "AUTH${T}73${T}PLAIN${T}service=smtp${T}resp=YWxpY2U"
authp read p
is "unpadded base64 in resp=: FAIL code=invalid_base64" \
	"FAIL${T}73${T}code=invalid_base64" "$(ap_val line)"
authp send p "CONT${T}71${T}$(printf alice | base64)"
authp read p
authp send p "CONT${T}71${T}$(printf Alice-Pw1 | base64)"
authp read p
is "... a request open before it on the connection still succeeds" \
	"OK${T}71${T}user=alice@example.org${T}original_user=alice" "$(ap_val line)"
authp raw p "AUTH${T}74${T}LOGIN${T}service=smtp
AUTH${T}75${T}LOGIN${T}service=smtp
"
authp reads p 2
authp send p "CONT${T}74${T}%%%%"
authp read p
is "bad base64 in CONT: FAIL code=invalid_base64 for that id" \
	"FAIL${T}74${T}code=invalid_base64" "$(ap_val line)"
authp send p "CONT${T}75${T}$(printf bob | base64)"
authp read p
authp send p "CONT${T}75${T}$(printf Bob-Pw2 | base64)"
authp read p
is "... the other request open on the connection still succeeds" \
	"OK${T}75${T}user=bob@example.org${T}original_user=bob" "$(ap_val line)"
x p 76 SCRAM-SHA-256 alice@example.org Alice-Pw1
is "... and a new request on the same connection too" \
	"OK${T}76${T}user=alice@example.org yes" "$RES $VER"

# Parameters.
authp send p "AUTH${T}81${T}PLAIN${T}service=smtp${T}resp=$(plain_b64 alice Alice-Pw1)${T}secured"
authp read p
like "a parameter after resp=: FAIL" "^FAIL${T}81(${T}|\$)" "$(ap_val line)"
authp send p "AUTH${T}82${T}PLAIN${T}lip=127.0.0.1${T}resp=$(plain_b64 alice Alice-Pw1)"
authp read p
like "no service=: FAIL" "^FAIL${T}82(${T}|\$)" "$(ap_val line)"
authp send p "AUTH${T}83${T}PLAIN${T}service=${T}resp=$(plain_b64 alice Alice-Pw1)"
authp read p
like "an empty service=: FAIL" "^FAIL${T}83(${T}|\$)" "$(ap_val line)"
authp send p "AUTH${T}84${T}PLAIN${T}protocol=imap${T}resp=$(plain_b64 alice@example.org Alice-Pw1)"
authp read p
is "protocol= is accepted as service=" "OK${T}84${T}user=alice@example.org" "$(ap_val line)"
expect_log 'auth: user=alice@example\.org service=imap client=- result=ok'
authp send p "AUTH${T}85${T}PLAIN${T}service=smtp${T}nologin${T}x-future=1${T}bare-word${T}lip=127.0.0.1${T}rip=192.0.2.7${T}lport=25${T}rport=40000${T}session=abc${T}valid-client-cert${T}resp=$(plain_b64 alice@example.org Alice-Pw1)"
authp read p
is "unknown parameters are ignored (and the known ones accepted)" \
	"OK${T}85${T}user=alice@example.org" "$(ap_val line)"
expect_log 'auth: user=alice@example\.org service=smtp client=192\.0\.2\.7 result=ok'
authp send p "AUTH${T}86${T}PLAIN${T}service=smtp${T}session=a\\x01xb${T}resp=$(plain_b64 alice Alice-Pw1)"
authp read p
like "a bad escape (0x01 x) in a parameter: FAIL" "^FAIL${T}86(${T}|\$)" "$(ap_val line)"
authp send p "AUTH${T}87${T}PLAIN${T}service=smtp${T}session=ab\\x01${T}resp=$(plain_b64 alice Alice-Pw1)"
authp read p
like "a 0x01 at the end of a parameter: FAIL" "^FAIL${T}87(${T}|\$)" "$(ap_val line)"
authp send p "AUTH${T}88${T}PLAIN${T}service=sm\\x01ttp${T}resp=$(plain_b64 alice@example.org Alice-Pw1)"
authp read p
is "a valid escape (0x01 t) in a parameter is decoded, not refused" \
	"OK${T}88${T}user=alice@example.org" "$(ap_val line)"
expect_log 'service=sm\\x09tp client=- result=ok'
authp send p "AUTH${T}89${T}NOT-A-MECH${T}service=smtp"
authp read p
like "an unknown mechanism: FAIL" "^FAIL${T}89${T}reason=" "$(ap_val line)"
authp send p "AUTH${T}90${T}scram-sha-256${T}service=smtp"
authp read p
is "mechanism names are case-insensitive (scram-sha-256: empty challenge)" \
	"CONT${T}90${T}" "$(ap_val line)"
authp send p "CANCEL${T}90"
x p 91 PLAIN alice@example.org Alice-Pw1
is "after all that, the connection still serves" "OK${T}91${T}user=alice@example.org" "$RES"
authp close p

# Line length: 16384 bytes is the limit (LF not counted).
b64a=$(plain_b64 alice@example.org Alice-Pw1)
head="AUTH${T}1${T}PLAIN${T}service=smtp${T}x="
tail="${T}resp=$b64a"
authp open l1
authp raw l1 "$head"
authp fill l1 $((16384 - ${#head} - ${#tail})) a
authp send l1 "$tail"
authp read l1
is "a line of exactly 16384 bytes is served" "OK${T}1${T}user=alice@example.org" \
	"$(ap_val line)"
authp open l2
authp raw l2 "$head"
authp fill l2 $((16385 - ${#head} - ${#tail})) a
authp send l2 "$tail"
authp eof l2 3
is "a line of 16385 bytes closes the connection, unanswered" "yes 0" \
	"$(ap_val eof) $(ap_val extra)"
expect_log 'auth: line longer than 16384 bytes: closing'
authp open l3
authp fill l3 70000 a
authp eof l3 3
is "70000 bytes without a newline close the connection" yes "$(ap_val eof)"
x l1 2 PLAIN alice@example.org Alice-Pw1
is "the other connection is unharmed" "OK${T}2${T}user=alice@example.org" "$RES"
authp close l1; authp close l2; authp close l3

# A client that sends a request and hangs up at once (one write, then
# close): authd's answer fails to write (EPIPE) and its read sees EOF in
# the same pass.  Five times, as the timing is the client's.
for ((k = 0; k < 5; k++)); do
	authp open v0
	authp send v0 "AUTH${T}1${T}LOGIN${T}service=smtp"
	authp close v0
done
sleep 0.3
alive_or_restart "authd survives a client that sends AUTH LOGIN and hangs up at once"

# A client that vanishes in the middle of its exchanges.
for ((k = 0; k < 3; k++)); do
	authp open v
	authp start v 1 SCRAM-SHA-256 alice@example.org Alice-Pw1
	authp flush v
	authp read v
	authp raw v "AUTH${T}2${T}PLAIN${T}service=smtp${T}resp=$(plain_b64 alice wrong)
AUTH${T}3${T}PLAIN${T}service=smtp${T}resp=$(plain_b64 alice Alice-Pw1)
AUTH${T}4${T}LOGIN${T}service=smtp
AUTH${T}5${T}DIGEST-MD5${T}service=smtp
"
	authp flush v
	authp close v
done
sleep 0.4
expect_log 'client went away before the answer'
alive_or_restart "authd survives clients that vanish mid-exchange"
authp open v2
x v2 1 SCRAM-SHA-1 alice@example.org Alice-Pw1
is "... and serves the next client" "OK${T}1${T}user=alice@example.org yes" "$RES $VER"
authp close v2

# 128 requests in flight per connection; the 129th gets temp_fail.
many=
for ((i = 1; i <= 130; i++)); do
	many+="AUTH${T}$i${T}LOGIN${T}service=smtp"$'\n'
done
authp open m
authp raw m "$many"
authp reads m 130 3
is "130 requests at once: 128 challenges" 128 \
	"$(ap_vals line | grep -c "^CONT${T}[0-9]*${T}$UB64\$")"
is "... and the 129th and 130th fail with temp_fail" \
	"FAIL${T}129${T}code=temp_fail|FAIL${T}130${T}code=temp_fail" \
	"$(ap_vals line | grep '^FAIL' | cut -f1-3 | paste -sd'|')"
authp send m "CANCEL${T}1"
authp send m "AUTH${T}131${T}LOGIN${T}service=smtp"
authp read m
is "after a CANCEL, there is room for one more" "CONT${T}131${T}$UB64" "$(ap_val line)"
authp send m "AUTH${T}132${T}LOGIN${T}service=smtp"
authp read m
like "... and only one" "^FAIL${T}132${T}code=temp_fail" "$(ap_val line)"
authp send m "CONT${T}2${T}$(printf bob | base64)"
authp read m
is "the 128 requests are still served" "CONT${T}2${T}$PB64" "$(ap_val line)"
authp close m

# Expiry: auth_request_timeout = 2s, waiting for a response and for the
# empty CONT after the final data.
authp open e
authp send e "AUTH${T}1${T}LOGIN${T}service=smtp"
authp read e
x e 2 SCRAM-SHA-256 alice@example.org Alice-Pw1 noempty=1
authp read e 5
is "a request left waiting fails on its own" "FAIL${T}1" "$(nouser "$(ap_val line)")"
check_ms 1700 3000 "$(ap_val ms)" "... after auth_request_timeout (2 s)"
authp read e 2
is "a request left waiting for the empty CONT after v= fails too" "FAIL${T}2" \
	"$(nouser "$(ap_val line)")"
expect_log 'auth: request 1 expired waiting for the client'
authp send e "CONT${T}1${T}$(printf alice | base64)"
authp read e
like "the expired request is forgotten (CONT: FAIL, unknown id)" \
	"^FAIL${T}1${T}reason=unknown" "$(ap_val line)"
authp close e

# More than 64 fields: the framing is fine, so only that request fails.
many_f="AUTH${T}7${T}PLAIN${T}service=smtp"
for ((i = 0; i < 62; i++)); do many_f+="${T}x=$i"; done
authp open f
authp send f "$many_f${T}resp=$(printf '\0alice@example.org\0Alice-Pw1' | base64)"
authp read f
is "an AUTH with 66 fields gets its own FAIL (not silence)" \
	"FAIL${T}7${T}reason=too many parameters" "$(ap_val line)"
authp send f "CONT${T}9${T}x${T}y$(printf "${T}z%.0s" $(seq 70))"
authp read f
is "a CONT with 73 fields and an unknown id: FAIL unknown request id" \
	"FAIL${T}9${T}reason=unknown request id" "$(ap_val line)"
x f 8 PLAIN alice@example.org Alice-Pw1
is "... and the connection still works" "OK${T}8${T}user=alice@example.org" "$RES"
authp close f

# A VERSION the log must not take as text: control bytes are escaped.
authp open g none
authp send g "VERSION${T}2"$'\x1b[31mFAKE\rauthd: ready'
authp eof g 2
expect_log 'client speaks protocol version 2\\x1b\[31mFAKE\\x0dauthd:\\x20ready, not 1'
authp close g

# A client that sends and never reads: authd stops reading it once 48 KiB
# of replies wait (its memory stays bounded), and loses none of them.
desc "a client that never reads its replies cannot grow authd's memory; every reply arrives"
check python3 "$SRCDIR/tests/daemon/backlog.py" noread "$ASOCK" "$AUTHD_PID"
# The same with a client that keeps ~100 kB of replies unread and then
# reads each round as much as it asks for: what waits never drains, and
# the buffer must stay bounded all the same.
desc "a client that reads its replies too slowly cannot grow authd's memory either"
check python3 "$SRCDIR/tests/daemon/backlog.py" slowread "$ASOCK" "$AUTHD_PID"
alive_or_restart "authd is still running after the flood"

# --- auth_disable_plaintext, auth_proxy_users, the default mechanisms ---

alive_or_restart "authd is still running after the protocol edge cases"
stop_authd
is "authd stopped cleanly (exit 0)" 0 "$STOP_RC"
write_dconf "auth_disable_plaintext = yes" \
	"auth_proxy_users = alice@example.org"
start_authd
authp open sl
is "after a restart, the unknown user's salts are the ones of before (the store keeps the secret)" \
	"$S_ZZ $S_ZZ1" "$(salt SCRAM-SHA-256 zz) $(salt SCRAM-SHA-1 zz)"
authp close sl
authp open d none
is "default auth_mechanisms: SCRAM-SHA-256, SCRAM-SHA-1, PLAIN, LOGIN" \
	"MECH${T}LOGIN${T}plaintext
MECH${T}PLAIN${T}plaintext
MECH${T}SCRAM-SHA-1${T}mutual-auth
MECH${T}SCRAM-SHA-256${T}mutual-auth" "$(ap_vals hs | grep '^MECH' | LC_ALL=C sort)"
x d 1 CRAM-MD5 alice Alice-Pw1
like "CRAM-MD5 when not enabled: FAIL (unsupported)" \
	"^FAIL${T}1${T}reason=Unsupported" "$RES"
x d 2 PLAIN alice@example.org Alice-Pw1
like "auth_disable_plaintext: PLAIN without 'secured' fails" \
	"^FAIL${T}2${T}reason=Plaintext authentication disallowed" "$RES"
x d 2 LOGIN alice@example.org Alice-Pw1
like "auth_disable_plaintext: LOGIN without 'secured' fails" "^FAIL${T}2(${T}|\$)" "$RES"
x d 3 PLAIN alice@example.org Alice-Pw1 param=secured
is "auth_disable_plaintext: PLAIN with 'secured' works" \
	"OK${T}3${T}user=alice@example.org" "$RES"
x d 3 LOGIN alice@example.org Alice-Pw1 param=secured=tls
is "auth_disable_plaintext: LOGIN with 'secured=tls' works" \
	"OK${T}3${T}user=alice@example.org" "$RES"
x d 4 SCRAM-SHA-256 alice@example.org Alice-Pw1
is "auth_disable_plaintext: SCRAM without 'secured' works" \
	"OK${T}4${T}user=alice@example.org yes" "$RES $VER"
x d 5 PLAIN alice@example.org Alice-Pw1 param=secured authzid=bob
like "auth_proxy_users lists alice: PLAIN as alice for bob is OK user=bob@example.org" \
	"^OK${T}5${T}user=bob@example\.org(${T}|\$)" "$RES"
x d 5 PLAIN bob@example.org Bob-Pw2 param=secured authzid=alice
is "bob is not listed: PLAIN as bob for alice is FAIL code=authz_fail" \
	"FAIL${T}5${T}code=authz_fail" "$RES"
x d 5 PLAIN alice@example.org Alice-Pw1-x param=secured authzid=bob
is "a listed proxy user with a wrong password: plain FAIL" "FAIL${T}5" "$(nouser "$RES")"
x d 6 SCRAM-SHA-256 alice@example.org Alice-Pw1 authzid=bob
like "SCRAM-SHA-256 as alice with a=bob: OK user=bob@example.org" \
	"^OK${T}6${T}user=bob@example\.org(${T}|\$)" "$RES"
is "... and the server signature verifies" yes "$VER"
x d 6 SCRAM-SHA-1 alice@example.org Alice-Pw1 authzid=bob fro=1
like "SCRAM-SHA-1 as alice for bob with final-resp-ok: OK user=bob@example.org resp=" \
	"^OK${T}6${T}user=bob@example\.org(${T}.*)?${T}resp=" "$RES"
authp close d

# --- auth_realm_mechanisms: per-realm restrictions ---

stop_authd
write_dconf "auth_mechanisms = $ALL_MECHS" \
	"digest_md5_realms = example.org legacy.example" \
	"auth_realm_mechanisms = example.org:scram-sha-256,scram-sha-1 EXAMPLE.org:plain"
add_user eve@legacy.example 'Eve-Pw6' -m all
start_authd
authp open r none
is "auth_realm_mechanisms leaves the MECH list alone (it is sent before any user is named)" \
	6 "$(ap_vals hs | grep -c '^MECH')"
x r 1 SCRAM-SHA-256 alice@example.org Alice-Pw1
is "example.org allows SCRAM-SHA-256: OK" "OK${T}1${T}user=alice@example.org yes" "$RES $VER"
x r 1 PLAIN alice@example.org Alice-Pw1
is "a second word for the same realm (any case) adds PLAIN: OK" \
	"OK${T}1${T}user=alice@example.org" "$RES"
x r 2 CRAM-MD5 alice@example.org Alice-Pw1
is "CRAM-MD5 with the right password in example.org: FAIL, nothing more" "FAIL${T}2" "$(nouser "$RES")"
expect_log 'user=alice@example.org service=smtp client=- result=fail reason="mechanism CRAM-MD5 is not allowed in realm example.org \(auth_realm_mechanisms\)"'
x r 2 CRAM-MD5 alice@example.org Alice-Pw1-x
is "... the same reply as a wrong password" "FAIL${T}2" "$(nouser "$RES")"
x r 2 CRAM-MD5 nosuch@example.org Alice-Pw1
is "... and as an unknown user" "FAIL${T}2" "$(nouser "$RES")"
x r 3 LOGIN alice@example.org Alice-Pw1
is "LOGIN (not listed) with the right password: FAIL" "FAIL${T}3" "$(nouser "$RES")"
expect_log 'mechanism LOGIN is not allowed in realm example.org'
x r 3 DIGEST-MD5 alice Alice-Pw1 realm=example.org
is "DIGEST-MD5 (not listed) with the right password: FAIL, no rspauth" \
	"FAIL${T}3${T}user=alice none" "$RES $FIN"
x r 4 PLAIN Alice Alice-Pw1
is "PLAIN with a bare name in the default realm: OK" \
	"OK${T}4${T}user=alice@example.org${T}original_user=Alice" "$RES"
for m in CRAM-MD5 LOGIN SCRAM-SHA-256; do
	x r 5 "$m" eve@legacy.example Eve-Pw6
	like "a realm not listed keeps every enabled mechanism: $m OK" \
		"^OK${T}5${T}user=eve@legacy\.example" "$RES"
done
x r 5 DIGEST-MD5 eve Eve-Pw6 realm=legacy.example
like "... DIGEST-MD5 too" "^OK${T}5${T}user=eve@legacy\.example" "$RES"
authp close r
desc "the mux socket is not restricted by auth_realm_mechanisms"
expect_rc 0 "$AUTHTEST" mux -f "$SOCK" -u alice -r example.org -p Alice-Pw1

cp "$CONF" "$TMP/good.conf"
sed -i 's/^auth_realm_mechanisms = .*/auth_realm_mechanisms = example.org:plain,cram-md5/' "$CONF"
kill -HUP "$AUTHD_PID"
expect_log 'configuration reloaded from'
authp open r2 none
x r2 1 CRAM-MD5 alice@example.org Alice-Pw1
is "after SIGHUP with example.org:plain,cram-md5: CRAM-MD5 OK" \
	"OK${T}1${T}user=alice@example.org" "$RES"
x r2 1 SCRAM-SHA-256 alice@example.org Alice-Pw1
is "... and SCRAM-SHA-256 FAILs" "FAIL${T}1" "$(nouser "$RES")"
sed -i 's/^auth_realm_mechanisms = .*/auth_realm_mechanisms = example.org:gssapi/' "$CONF"
kill -HUP "$AUTHD_PID"
expect_log 'auth_realm_mechanisms: unknown mechanism'
x r2 2 CRAM-MD5 alice@example.org Alice-Pw1
is "a reload with a bad auth_realm_mechanisms keeps the running policy" \
	"OK${T}2${T}user=alice@example.org" "$RES"
x r2 2 SCRAM-SHA-256 alice@example.org Alice-Pw1
is "... all of it" "FAIL${T}2" "$(nouser "$RES")"
authp close r2
cp "$TMP/good.conf" "$CONF"
alive_or_restart "authd is still running at the end"

desc "no password of this test in authd's log"
check bash -c '! grep -Eq "Alice-Pw1|Bob-Pw2|Carol-Pw4|Dave-Pw5|John-Pw3|Eve-Pw6|Frank-Pw7|Pässword|tanstaaf" "$1"' _ "$LOG"
desc "authd logged no crash or internal error"
check bash -c '! grep -Eiq "assert|panic|fatal|BUG" "$1"' _ "$LOG"
finish
