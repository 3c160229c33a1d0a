#!/bin/bash
# A private Postfix smtpd with smtpd_sasl_type = dovecot talking to authd's
# auth socket.  Real SMTP clients, success and failure each:
#   swaks          AUTH PLAIN, LOGIN, CRAM-MD5, DIGEST-MD5 (Authen::SASL)
#   curl           AUTH=CRAM-MD5, AUTH=DIGEST-MD5 (its own code)
#   Python smtplib AUTH PLAIN, LOGIN, CRAM-MD5
#   msmtp          SCRAM-SHA-256, SCRAM-SHA-1, DIGEST-MD5 (GNU SASL).  msmtp,
#                  not the gsasl program: msmtp takes every setting from a
#                  file, runs a whole mail transaction without a terminal
#                  and says what happened in its exit status (0; 77 =
#                  EX_NOPERM for a refused AUTH), whereas gsasl --smtp
#                  stops after AUTH and talks STARTTLS/prompts otherwise.
# A second smtpd on another port has smtpd_sasl_security_options =
# noanonymous, noplaintext: its EHLO must hide PLAIN and LOGIN (flagged
# "plaintext" by authd) and keep the others -- purely from authd's MECH
# flags.  Everything lives under the test's temporary directory; Postfix
# is stopped at exit.
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"
source "$SRCDIR/tests/interop/pflib.sh"

for p in swaks curl msmtp python3; do
	command -v "$p" >/dev/null || {
		echo "Bail out! $p not found (install swaks curl msmtp)"
		exit 1
	}
done
perl -MAuthen::SASL -e1 2>/dev/null ||
	{ echo "Bail out! Authen::SASL missing (install libauthen-sasl-perl)"; exit 1; }
pf_init
PORT=$(free_port)
PORT2=$(free_port)
while [ "$PORT2" = "$PORT" ]; do PORT2=$(free_port); done

# authd: every mechanism; the socket reachable by smtpd (user postfix).
write_dconf "socket_group = postfix" \
	"auth_mechanisms = plain login cram-md5 digest-md5 scram-sha-1 scram-sha-256" \
	"digest_md5_realms = example.org"
add_user alice@example.org 'Alice-Smtp1' -m all
add_user bob@example.org 'Bob-Smtp2' -m all
add_user carol@example.org 'Carol-Smtp3' -m 'plain scram'
start_authd

pf_main_cf "smtpd_sasl_type = dovecot" "smtpd_sasl_path = $ASOCK"
pf_master_cf "127.0.0.1:$PORT inet n - n - - smtpd" \
	"127.0.0.1:$PORT2 inet n - n - - smtpd -o smtpd_sasl_security_options=noanonymous,noplaintext"
pf_start "$PORT" "$PORT2"

MAIL=$TMP/mail.txt
printf 'From: sender@example.org\r\nTo: rcpt@example.net\r\nSubject: t\r\n\r\nhello\r\n' >"$MAIL"

# --- EHLO: the mechanism list comes from authd's handshake ---

desc "EHLO advertises all six mechanisms (smtpd got them from authd's MECH lines)"
expect_rc 0 sw --quit-after EHLO
auth_line=$(grep -E '^<-  250-AUTH ' "$OUT" | head -n 1 || true)
is_set() {	# the AUTH line's mechanisms, sorted, space-separated
	sed 's/^<-  250-AUTH //' <<<"$1" | tr ' ' '\n' | LC_ALL=C sort | paste -sd' '
}
expect_eq "CRAM-MD5 DIGEST-MD5 LOGIN PLAIN SCRAM-SHA-1 SCRAM-SHA-256" \
	"$(is_set "$auth_line")"

desc "noplaintext smtpd: EHLO runs"
expect_rc 0 sw --port "$PORT2" --quit-after EHLO
auth_line2=$(grep -E '^<-  250-AUTH ' "$OUT" | head -n 1 || true)
desc "noplaintext smtpd (no TLS): AUTH lists CRAM-MD5, DIGEST-MD5 and SCRAM, not PLAIN or LOGIN"
expect_eq "CRAM-MD5 DIGEST-MD5 SCRAM-SHA-1 SCRAM-SHA-256" "$(is_set "$auth_line2")"
# swaks will not send a mechanism the server did not offer: talk raw.
desc "noplaintext smtpd: AUTH PLAIN sent anyway is refused by Postfix"
expect_rc 0 python3 -c 'import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=20)
s.ehlo("client.example.net")
print(*s.docmd("AUTH", "PLAIN " + sys.argv[2]))' "$PORT2" "$(printf '\0alice\0Alice-Smtp1' | base64)"
expect_out '^535 b?.?5\.7\.8 Error: authentication failed: Invalid authentication mechanism'
desc "noplaintext smtpd: AUTH CRAM-MD5 works"
expect_rc 0 sw --port "$PORT2" --auth CRAM-MD5 --auth-user alice --auth-password 'Alice-Smtp1' --quit-after AUTH
expect_out '235 2\.7\.0 Authentication successful'

# --- swaks ---

for m in PLAIN LOGIN CRAM-MD5 DIGEST-MD5; do
	desc "swaks AUTH $m with alice's password: 235 and the mail is queued"
	expect_rc 0 sw --auth "$m" --auth-user alice --auth-password 'Alice-Smtp1'
	expect_out '235 2\.7\.0 Authentication successful'
	expect_out '250 2\.0\.0 Ok: queued'
	desc "swaks AUTH $m with a wrong password: 535 5.7.8"
	expect_rc 28 sw --auth "$m" --auth-user alice --auth-password 'Alice-Smtp1-x' --quit-after AUTH
	expect_out '535 5\.7\.8 Error: authentication failed'
done
expect_log 'auth: user=alice@example\.org service=smtp client=127\.0\.0\.1 result=ok'
expect_log 'auth: user=alice@example\.org service=smtp client=127\.0\.0\.1 result=fail reason="wrong password"'
desc "swaks AUTH CRAM-MD5 as an unknown user: 535"
expect_rc 28 sw --auth CRAM-MD5 --auth-user nobody-here --auth-password 'x' --quit-after AUTH
expect_out '535 5\.7\.8'
desc "swaks AUTH CRAM-MD5 for a user without a CRAM-MD5 verifier: 535"
expect_rc 28 sw --auth CRAM-MD5 --auth-user carol --auth-password 'Carol-Smtp3' --quit-after AUTH
expect_out '535 5\.7\.8'
expect_log 'user=carol@example\.org .*reason="no CRAM-MD5 verifier stored for this user"'
desc "swaks AUTH PLAIN for the same user: 235"
expect_rc 0 sw --auth PLAIN --auth-user carol --auth-password 'Carol-Smtp3' --quit-after AUTH
expect_out '235 '
desc "swaks AUTH DIGEST-MD5 (rspauth as one more 334, then 235)"
expect_rc 0 sw --auth DIGEST-MD5 --auth-user bob --auth-password 'Bob-Smtp2' --quit-after AUTH
expect_out '^<- +334 cnNwYXV0aD[0-9a-zA-Z]'   # base64 of "rspauth="
expect_out '235 2\.7\.0'

desc "swaks AUTH DIGEST-MD5 as bob@example.org (the whole address): 235"
expect_rc 0 sw --auth DIGEST-MD5 --auth-user bob@example.org --auth-password 'Bob-Smtp2' --quit-after AUTH
expect_out '235 2\.7\.0'

desc "without AUTH, relaying is refused"
expect_rc 24 sw
expect_out '554 5\.7\.1'

# --- curl ---

# cu MECH USER PASS - curl's SMTP client; verbose protocol trace in $OUT
cu() {
	timeout 30 curl -sS -v "smtp://127.0.0.1:$PORT" --login-options "AUTH=$1" \
		-u "$2:$3" --mail-from sender@example.org \
		--mail-rcpt rcpt@example.net -T "$MAIL"
}
for m in CRAM-MD5 DIGEST-MD5; do
	desc "curl AUTH=$m with alice's password: exit 0"
	expect_rc 0 cu "$m" alice 'Alice-Smtp1'
	desc "curl AUTH=$m: 235 in the trace, then the mail"
	check grep -Eq '^< 235 ' "$ERR"
	check grep -Eq '^< 250 2\.0\.0 Ok: queued' "$ERR"
	desc "curl AUTH=$m as alice@example.org (the whole address): exit 0, 235"
	expect_rc 0 cu "$m" alice@example.org 'Alice-Smtp1'
	check grep -Eq '^< 235 ' "$ERR"
	desc "curl AUTH=$m with a wrong password: exit 67 (login denied)"
	expect_rc 67 cu "$m" alice 'Alice-Smtp1-x'
	desc "curl AUTH=$m with a wrong password: 535 5.7.8 in the trace"
	check grep -Eq '^< 535 5\.7\.8' "$ERR"
done

# --- Python smtplib ---

cat >"$TMP/smtplib_auth.py" <<'EOF'
import smtplib, sys
port, mech, user, pw = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
s = smtplib.SMTP("127.0.0.1", port, timeout=20)
s.ehlo("client.example.net")
s.user, s.password = user, pw
obj = {"PLAIN": s.auth_plain, "LOGIN": s.auth_login,
       "CRAM-MD5": s.auth_cram_md5}[mech]
try:
    code, msg = s.auth(mech, obj, initial_response_ok=True)
    print(code, msg.decode())
    s.sendmail("sender@example.org", ["rcpt@example.net"], "Subject: t\r\n\r\nhi\r\n")
    print("sent")
    s.quit()
except smtplib.SMTPAuthenticationError as e:
    print(e.smtp_code, e.smtp_error.decode())
    sys.exit(3)
EOF
for m in PLAIN LOGIN CRAM-MD5; do
	desc "smtplib AUTH $m with bob's password: 235 and the mail sent"
	expect_rc 0 python3 "$TMP/smtplib_auth.py" "$PORT" "$m" bob 'Bob-Smtp2'
	expect_out '^235 2\.7\.0'
	expect_out '^sent$'
	desc "smtplib AUTH $m with a wrong password: 535 5.7.8"
	expect_rc 3 python3 "$TMP/smtplib_auth.py" "$PORT" "$m" bob 'Bob-Smtp2-x'
	expect_out '^535 5\.7\.8'
done

# --- msmtp (GNU SASL): SCRAM and DIGEST-MD5 ---

# ms METHOD USER PASS [PORT] - msmtp with a private configuration file
ms() {
	local rc=$TMP/msmtprc
	cat >"$rc" <<-EOF
	account test
	host 127.0.0.1
	port ${4:-$PORT}
	domain client.example.net
	tls off
	auth $1
	user $2
	password $3
	from sender@example.org
	logfile $TMP/msmtp.log
	EOF
	chmod 600 "$rc"
	timeout 30 msmtp -C "$rc" -a test -v rcpt@example.net <"$MAIL"
}
for m in scram-sha-256 scram-sha-1 digest-md5; do
	desc "msmtp auth $m with alice's password: exit 0"
	expect_rc 0 ms "$m" alice 'Alice-Smtp1'
	desc "msmtp auth $m: the AUTH exchange ends in 235, the mail in 250 queued"
	expect_out '^<-- 235 2\.7\.0'
	expect_out '^<-- 250 2\.0\.0 Ok: queued'
	# The server's final data went to the client as one more 334 (base64
	# of "v=" or "rspauth="); GNU SASL checks it before the empty answer.
	case $m in
	scram*) desc "msmtp auth $m: v= came as a 334 challenge"; expect_out '^<-- 334 dj[0-3]' ;;
	*) desc "msmtp auth $m: rspauth= came as a 334 challenge"; expect_out '^<-- 334 cnNwYXV0aD' ;;
	esac
	desc "msmtp auth $m with a wrong password: exit 77 (EX_NOPERM)"
	expect_rc 77 ms "$m" alice 'Alice-Smtp1-x'
	expect_err 'server message: 535 5\.7\.8'
done
desc "msmtp auth scram-sha-256 on the noplaintext smtpd: exit 0"
expect_rc 0 ms scram-sha-256 bob 'Bob-Smtp2' "$PORT2"
desc "msmtp auth plain on the noplaintext smtpd: refused before AUTH (not offered)"
expect_rc 69 ms plain bob 'Bob-Smtp2' "$PORT2"
expect_err 'does not support authentication method PLAIN'
expect_log 'auth: user=alice@example\.org service=smtp client=127\.0\.0\.1 result=fail reason="wrong password"'

desc "no password of the session in authd's log"
check bash -c '! grep -Eq "Alice-Smtp|Bob-Smtp|Carol-Smtp" "$1"' _ "$LOG"
desc "Postfix logged no fatal error, panic or SASL connection trouble"
check bash -c '! grep -Eq "fatal:|panic:|Connection lost to authentication server|no SASL authentication mechanisms" "$1"' _ "$PF/maillog"
desc "Postfix logged the SASL logins"
check grep -Eq 'sasl_method=SCRAM-SHA-256, sasl_username=alice@example\.org' "$PF/maillog"

# A failure carries the name as typed (FAIL user=, as from Dovecot), the
# same for a wrong password and an unknown user: Postfix logs it on the
# failure line, where admins and fail2ban read it.
desc "Postfix's failure lines name the user (sasl_username=), known or not"
check grep -Eq 'SASL PLAIN authentication failed: .*sasl_username=alice$' "$PF/maillog"
check grep -Eq 'SASL CRAM-MD5 authentication failed: .*sasl_username=nobody-here$' "$PF/maillog"
if command -v fail2ban-regex >/dev/null; then
	# The stock filter's auth mode: wrong passwords of the mechanisms it
	# knows, not a client's bad mechanism name.
	nfail=$(grep -E 'SASL (LOGIN|PLAIN|CRAM-MD5|DIGEST-MD5) authentication failed:' "$PF/maillog" |
		grep -vc 'Invalid authentication mechanism' || true)
	desc "fail2ban's stock postfix filter (mode=auth) matches all $nfail password failures, user named"
	expect_rc 0 fail2ban-regex "$PF/maillog" 'postfix[mode=auth]'
	expect_out "Lines: [0-9]* lines, [0-9]* ignored, $nfail matched"
	check test "$nfail" -ge 8
fi
finish
