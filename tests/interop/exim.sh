#!/bin/bash
# A private Exim 4 daemon whose authenticators are `driver = dovecot` on
# authd's auth socket.  The Exim is Debian 12's exim4-daemon-heavy (the
# light daemon has no dovecot driver), extracted, not installed, by
# scripts/deps.sh into /opt/authd-test/exim4 ($AUTHD_TEST_EXIM_DIR
# overrides): Debian's exim4 packages conflict with postfix, which the
# other interop tests need.  Without it, or not as root, the test is
# skipped (exit 77); an Exim there that cannot run is a failure.
#
# Exim starts as root with a private configuration (-C) in the foreground
# (-bdf) on a loopback port, and runs as Debian-exim from then on: the
# auth socket's group is Debian-exim.  Each AUTH opens authd's socket
# (Exim's driver: VERSION 1 0, AUTH ... nologin resp=..., CONT until OK or
# FAIL).  Real SMTP clients, with the right password, a wrong one and an
# unknown user (which must get the wrong password's reply) each:
#   swaks          AUTH PLAIN, LOGIN, CRAM-MD5, DIGEST-MD5 (Authen::SASL)
#   Python smtplib AUTH PLAIN (with and without initial response), LOGIN,
#                  CRAM-MD5
#   curl           AUTH=PLAIN, LOGIN, CRAM-MD5, DIGEST-MD5 (its own code)
#   msmtp          SCRAM-SHA-256, SCRAM-SHA-1 (GNU SASL)
# Exim's driver passes any mechanism through (it only checks that authd
# announced the authenticator's public_name in a MECH line), so all six
# are configured.  Without an initial response from the SMTP client Exim
# sends a bare "resp=", which protocol 1.0 clients mean as "none" (Dovecot
# reads it so): every exchange that starts with a 334 depends on that.
# The identity Exim received (user= of authd's OK; server_set_id = $auth1
# makes it $authenticated_id) comes back in the RCPT reply and is checked
# in Exim's main log (A=<authenticator>:<id> on the <= line).  The DATA
# ACL discards the messages: nothing is queued or delivered.
# EXIM_DEBUG=1: Exim's -d+auth output (the DOVECOT lines) on failure.
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"
source "$SRCDIR/tests/interop/pflib.sh"	# free_port

EXIM_DIR=${AUTHD_TEST_EXIM_DIR:-/opt/authd-test/exim4}
EXIM=$EXIM_DIR/usr/sbin/exim4
skip() {
	echo "1..0 # SKIP $*"
	# shellcheck disable=SC2034	# read by lib.sh's exit trap
	FINISHED=1
	exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root (Exim -C with privileges, socket group)"
[ -x "$EXIM" ] || skip "no Exim at $EXIM (scripts/deps.sh extracts exim4-daemon-heavy there)"
# An Exim that is there but cannot run is a broken set-up, not a skip.
# The binary's exim user is Debian-exim, looked up at every start.
getent passwd Debian-exim >/dev/null ||
	{ echo "Bail out! no Debian-exim user (scripts/deps.sh creates it)"; exit 1; }
# -bV without -C: the version and driver lists, then a complaint about the
# missing /etc/exim4 configuration (status 1).
"$EXIM" -bV >"$TMP/.bV" 2>&1 || true
grep -q '^Authenticators:.* dovecot' "$TMP/.bV" || {
	echo "Bail out! $EXIM -bV lists no dovecot authenticator (a library missing? exim4-daemon-light?)"
	diag "$TMP/.bV" "exim -bV"
	exit 1
}

for p in swaks curl msmtp python3; do
	command -v "$p" >/dev/null || {
		echo "Bail out! $p not found (install swaks curl msmtp)"
		exit 1
	}
done
perl -MAuthen::SASL -e1 2>/dev/null ||
	{ echo "Bail out! Authen::SASL missing (install libauthen-sasl-perl)"; exit 1; }

PORT=$(free_port)

# authd: every mechanism; the socket reachable by Exim's receiving
# processes (user Debian-exim).
write_dconf "socket_group = Debian-exim" \
	"auth_mechanisms = plain login cram-md5 digest-md5 scram-sha-1 scram-sha-256" \
	"digest_md5_realms = example.org"
add_user alice@example.org 'Alice-Exim1' -m all
add_user bob@example.org 'Bob-Exim2' -m all
add_user carol@example.org 'Carol-Exim3' -m 'plain scram'
start_authd

# --- the private Exim ---

EX=$TMP/exim
mkdir -p "$EX/spool" "$EX/log"
chown Debian-exim:Debian-exim "$EX/spool" "$EX/log"
EXLOG=$EX/log/mainlog
# authenticator NAME MECH - one dovecot-driver authenticator
authenticator() {
	cat <<-EOF
	$1:
	  driver = dovecot
	  public_name = $2
	  server_socket = $ASOCK
	  server_set_id = \$auth1
	EOF
}
{
	cat <<-EOF
	# written by tests/interop/exim.sh
	primary_hostname = mx.example.org
	qualify_domain = example.org
	exim_path = $EXIM
	spool_directory = $EX/spool
	log_file_path = $EX/log/%slog
	local_interfaces = 127.0.0.1
	keep_environment =
	host_lookup =
	rfc1413_hosts =
	tls_advertise_hosts =
	message_logs = false
	acl_smtp_rcpt = acl_rcpt
	acl_smtp_data = acl_data

	begin acl
	acl_rcpt:
	  accept authenticated = *
	         message = accepted for \$authenticated_id
	  deny   message = relay not permitted

	acl_data:
	  discard log_message = discarded by the test

	begin routers
	begin transports
	begin authenticators
	EOF
	authenticator plain PLAIN
	authenticator login LOGIN
	authenticator cram CRAM-MD5
	authenticator digest DIGEST-MD5
	authenticator scram1 SCRAM-SHA-1
	authenticator scram256 SCRAM-SHA-256
} >"$EX/exim.conf"

desc "Exim accepts the private configuration (-bV)"
expect_rc 0 "$EXIM" -C "$EX/exim.conf" -bV
"$EXIM" -C "$EX/exim.conf" -bdf -oX "$PORT" -oP "$EX/exim.pid" ${EXIM_DEBUG:+-d+auth} \
	>"$EX/daemon.out" 2>&1 &
EXIM_PID=$!
at_exit "_kill_pid $EXIM_PID"
listening=no
for ((i = 0; i < 100; i++)); do
	if python3 -c 'import socket,sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$PORT" 2>/dev/null; then
		listening=yes
		break
	fi
	kill -0 "$EXIM_PID" 2>/dev/null || break
	sleep 0.1
done
desc "the private Exim listens on 127.0.0.1:$PORT"
expect_eq yes "$listening"
if [ "$listening" != yes ]; then
	diag "$EX/daemon.out" "exim output"
	diag "$EX/log/paniclog" paniclog
	diag "$EXLOG" mainlog
	echo "Bail out! the private Exim did not start"
	exit 1
fi

MAIL=$TMP/mail.txt
printf 'From: sender@example.org\r\nTo: rcpt@example.net\r\nSubject: t\r\n\r\nhello\r\n' >"$MAIL"

# reply535 - the 535 line of the last client run ($OUT and $ERR), without
# the client's own prefix: a wrong password and an unknown user must get
# the same one.
reply535() {
	grep -hoE '535 .*' "$OUT" "$ERR" | head -n 1 | tr -d '\r'
}

# --- EHLO ---

desc "EHLO advertises the six dovecot-driver authenticators"
expect_rc 0 sw --quit-after EHLO
expect_out '^<-  250-AUTH PLAIN LOGIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-1 SCRAM-SHA-256$'

# --- swaks: PLAIN with an initial response, LOGIN, CRAM-MD5 and
# DIGEST-MD5 without one (Exim then sends authd a bare "resp=") ---

for m in PLAIN LOGIN CRAM-MD5 DIGEST-MD5; do
	desc "swaks AUTH $m with alice's password: exit 0"
	expect_rc 0 sw --auth "$m" --auth-user alice --auth-password 'Alice-Exim1'
	desc "swaks AUTH $m: 235, then RCPT accepted for the id authd returned"
	expect_out '^<-  235 Authentication succeeded'
	expect_out '^<-  250 accepted for alice@example\.org$'
	expect_out '^<-  250 OK id='
	desc "swaks AUTH $m with a wrong password: 535 (exit 28)"
	expect_rc 28 sw --auth "$m" --auth-user alice --auth-password 'Alice-Exim1-x' --quit-after AUTH
	expect_out '^<\*\* +535 Incorrect authentication data'
	wrong=$(reply535)
	desc "swaks AUTH $m as an unknown user: 535 (exit 28)"
	expect_rc 28 sw --auth "$m" --auth-user nobody-here --auth-password 'Alice-Exim1' --quit-after AUTH
	desc "swaks AUTH $m: an unknown user gets the wrong password's reply"
	expect_eq "$wrong" "$(reply535)"
done
desc "swaks AUTH DIGEST-MD5: rspauth= came as one more 334 (authd's CONT)"
expect_rc 0 sw --auth DIGEST-MD5 --auth-user bob@example.org --auth-password 'Bob-Exim2' --quit-after AUTH
expect_out '^<-  334 cnNwYXV0aD[0-9a-zA-Z]'   # base64 of "rspauth="
expect_out '^<-  235 '
desc "swaks AUTH CRAM-MD5 for a user without a CRAM-MD5 verifier: 535"
expect_rc 28 sw --auth CRAM-MD5 --auth-user carol --auth-password 'Carol-Exim3' --quit-after AUTH
expect_out '^<\*\* +535 '
desc "swaks AUTH PLAIN for the same user: 235"
expect_rc 0 sw --auth PLAIN --auth-user carol --auth-password 'Carol-Exim3' --quit-after AUTH
expect_out '^<-  235 '
desc "without AUTH, RCPT is refused by the ACL"
expect_rc 24 sw
expect_out '^<\*\* +550 relay not permitted'

# --- Python smtplib ---

cat >"$TMP/smtplib_auth.py" <<'EOF'
import smtplib, sys
port, mech, user, pw = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ir = not mech.endswith("-noir")       # PLAIN-noir: no initial response
mech = mech.removesuffix("-noir")
s = smtplib.SMTP("127.0.0.1", port, timeout=20)
s.ehlo("client.example.net")
s.user, s.password = user, pw
obj = {"PLAIN": s.auth_plain, "LOGIN": s.auth_login,
       "CRAM-MD5": s.auth_cram_md5}[mech]
try:
    code, msg = s.auth(mech, obj, initial_response_ok=ir)
except smtplib.SMTPAuthenticationError as e:
    print(e.smtp_code, e.smtp_error.decode())
    sys.exit(3)
print(code, msg.decode())
print(*s.docmd("MAIL", "FROM:<sender@example.org>"))
print(*s.docmd("RCPT", "TO:<rcpt@example.net>"))
s.quit()
EOF
for m in PLAIN PLAIN-noir LOGIN CRAM-MD5; do
	desc "smtplib AUTH $m with bob's password: 235"
	expect_rc 0 python3 "$TMP/smtplib_auth.py" "$PORT" "$m" bob 'Bob-Exim2'
	expect_out '^235 Authentication succeeded'
	desc "smtplib AUTH $m: RCPT accepted for bob@example.org"
	expect_out '^250 b.accepted for bob@example\.org'
	desc "smtplib AUTH $m with a wrong password: 535"
	expect_rc 3 python3 "$TMP/smtplib_auth.py" "$PORT" "$m" bob 'Bob-Exim2-x'
	expect_out '^535 Incorrect authentication data'
	wrong=$(reply535)
	desc "smtplib AUTH $m as an unknown user: the wrong password's reply"
	expect_rc 3 python3 "$TMP/smtplib_auth.py" "$PORT" "$m" nobody-here 'Bob-Exim2'
	expect_eq "$wrong" "$(reply535)"
done

# --- curl (its own SASL code) ---

# cu MECH USER PASS - curl's SMTP client; verbose protocol trace in $ERR
cu() {
	timeout 30 curl -sS -v "smtp://127.0.0.1:$PORT" --login-options "AUTH=$1" \
		-u "$2:$3" --mail-from sender@example.org \
		--mail-rcpt rcpt@example.net -T "$MAIL"
}
for m in PLAIN LOGIN CRAM-MD5 DIGEST-MD5; do
	desc "curl AUTH=$m as alice@example.org: exit 0"
	expect_rc 0 cu "$m" alice@example.org 'Alice-Exim1'
	desc "curl AUTH=$m: 235, RCPT accepted for alice@example.org, the mail taken"
	check grep -Eq '^< 235 ' "$ERR"
	check grep -Eq '^< 250 accepted for alice@example\.org' "$ERR"
	check grep -Eq '^< 250 OK id=' "$ERR"
	desc "curl AUTH=$m with a wrong password: exit 67 (login denied)"
	expect_rc 67 cu "$m" alice 'Alice-Exim1-x'
	check grep -Eq '^< 535 Incorrect authentication data' "$ERR"
	wrong=$(reply535)
	desc "curl AUTH=$m as an unknown user: exit 67, the wrong password's reply"
	expect_rc 67 cu "$m" nobody-here 'Alice-Exim1'
	expect_eq "$wrong" "$(reply535)"
done

# --- msmtp (GNU SASL): SCRAM ---

# ms METHOD USER PASS - msmtp with a private configuration file
ms() {
	local rc=$TMP/msmtprc
	cat >"$rc" <<-EOF
	account test
	host 127.0.0.1
	port $PORT
	domain client.example.net
	tls off
	auth $1
	user $2
	password $3
	from sender@example.org
	EOF
	chmod 600 "$rc"
	timeout 30 msmtp -C "$rc" -a test -v rcpt@example.net <"$MAIL"
}
for m in scram-sha-256 scram-sha-1; do
	desc "msmtp auth $m with bob's password: exit 0"
	expect_rc 0 ms "$m" bob 'Bob-Exim2'
	desc "msmtp auth $m: v= as a 334, 235, RCPT accepted for bob@example.org"
	expect_out '^<-- 334 dj[0-3]'
	expect_out '^<-- 235 Authentication succeeded'
	expect_out '^<-- 250 accepted for bob@example\.org'
	desc "msmtp auth $m with a wrong password: exit 77 (EX_NOPERM)"
	expect_rc 77 ms "$m" bob 'Bob-Exim2-x'
	expect_err 'server message: 535 Incorrect authentication data'
	wrong=$(reply535)
	desc "msmtp auth $m as an unknown user: exit 77, the wrong password's reply"
	expect_rc 77 ms "$m" nobody-here 'Bob-Exim2'
	expect_eq "$wrong" "$(reply535)"
done

# --- what authd and Exim logged ---

# authd saw each attempt on its auth socket, from Exim, with the client's
# address that Exim passed as rip=.
expect_log 'auth: user=alice@example\.org service=smtp client=127\.0\.0\.1 result=ok'
expect_log 'auth: user=alice@example\.org service=smtp client=127\.0\.0\.1 result=fail reason="wrong password"'
expect_log 'auth: user=bob@example\.org service=smtp client=127\.0\.0\.1 result=ok'
expect_log 'user=nobody-here@example\.org .*result=fail reason="unknown user"'
desc "authd logged no malformed mechanism data (every exchange was well-formed)"
expect_no_log 'malformed'
desc "no password of the session in authd's log"
check bash -c '! grep -Eq "Alice-Exim|Bob-Exim|Carol-Exim" "$1"' _ "$LOG"
# Exim's <= line: A=<authenticator>:<server_set_id>, i.e. $auth1 = user=
# of authd's OK, the normalised user@realm.
for a in plain login cram digest; do
	desc "Exim logged a message received with A=$a:alice@example.org"
	check grep -Eq "<= sender@example\.org .* P=esmtpa A=$a:alice@example\.org " "$EXLOG"
done
desc "Exim logged the SCRAM-SHA-256 login as A=scram256:bob@example.org"
check grep -Eq "<= sender@example\.org .* A=scram256:bob@example\.org " "$EXLOG"
desc "Exim logged the failures as authenticator failures (535), not deferrals"
check grep -Eq 'cram authenticator failed for \(client\.example\.net\) \[127\.0\.0\.1\]: 535 Incorrect authentication data' "$EXLOG"
desc "Exim had no trouble with the auth socket (no 435/454 deferral, no panic)"
check bash -c '! grep -Eiq "authentication socket|did not advertise|temporarily|defer" "$1" && ! [ -s "$2" ]' \
	_ "$EXLOG" "$EX/log/paniclog"

if [ "$TESTS_FAILED" -gt 0 ]; then
	echo "# Exim main log (tail):"
	tail -n 30 "$EXLOG" | sed 's/^/#   /'
	if [ -n "${EXIM_DEBUG:-}" ]; then
		echo "# Exim -d+auth, the SMTP and auth socket lines (tail):"
		grep -E "SMTP(<<|>>)|(sent|received): '|^ *[0-9]+ (CPID|AUTH)[[:space:]]" \
			"$EX/daemon.out" | tail -n 80 | sed 's/^/#   /'
	fi
fi
finish
