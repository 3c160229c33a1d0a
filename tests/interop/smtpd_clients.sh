#!/bin/bash
# authd-smtpd between real SMTP clients and real next hops.
#
# Clients, every mechanism each one has, with STARTTLS and implicit TLS,
# right and wrong passwords; each right one relays to a domain that is
# not a relay domain and the message must be at the next hop, each wrong
# one gets 535 5.7.8 and nothing reaches the next hop:
#   swaks    PLAIN, LOGIN, CRAM-MD5, DIGEST-MD5 (Authen::SASL)
#   curl     the same four (its own code), smtp:// --ssl-reqd and smtps://
#   smtplib  login() and auth() with PLAIN, LOGIN, CRAM-MD5
#   msmtp    SCRAM-SHA-256, SCRAM-SHA-1, DIGEST-MD5, PLAIN (GNU SASL)
# PLAIN and LOGIN are offered only after STARTTLS by default.
#
# Next hops: smtp-sink (envelope and body byte for byte, 8BITMIME, a
# 9.5 MB message, one over message_size_limit; its failure modes: the
# client gets the next hop's code, or 451 for a local failure, never
# 250), a next hop that is down and comes back, a private Postfix, and a
# Python LMTP server (per-recipient results).
#
# The Received header: ESMTPSA, ESMTPA, ESMTPS, ESMTP, SMTP and the
# optional (Authenticated sender: ...).
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"
source "$SRCDIR/tests/interop/pflib.sh"
source "$SRCDIR/tests/interop/smtpd_lib.sh"

for p in swaks curl msmtp python3; do
	command -v "$p" >/dev/null || {
		echo "Bail out! $p not found (install swaks curl msmtp)"
		exit 1
	}
done
perl -MAuthen::SASL -e1 2>/dev/null ||
	{ echo "Bail out! Authen::SASL missing (install libauthen-sasl-perl)"; exit 1; }
perl -MNet::SSLeay -e1 2>/dev/null ||
	{ echo "Bail out! Net::SSLeay missing (install libnet-ssleay-perl)"; exit 1; }

write_dconf "auth_mechanisms = plain login cram-md5 digest-md5 scram-sha-1 scram-sha-256" \
	"digest_md5_realms = example.org"
add_user alice@example.org 'Alice-Gate1' -m all
start_authd
sm_init
sm_sink main "127.0.0.1:$SM_HOP"
MAIN_SINK=$SINK_PID
sm_conf
sm_start

PW='Alice-Gate1'
BAD='Alice-Gate1-x'
MAIL=$TMP/mail.txt
printf 'From: sender@example.org\r\nTo: rcpt@remote.example\r\nSubject: t\r\n\r\nhello\r\n' >"$MAIL"

# --- helpers ---

sink_reset() {
	rm -f "$TMP/sink-main"/*
}

# delivered CTX WITH - exactly one message reached the sink, with the
# standard envelope, and our Received line says "with WITH".
delivered() {
	local f

	desc "$1: exactly one message reached the next hop"
	sm_wait_msgs main 1 || true
	expect_eq 1 "$(sm_msgs main | wc -l)"
	f=$(sm_msgs main | tail -n 1)
	[ -n "$f" ] || f=/dev/null
	desc "$1: the next hop got MAIL FROM:<sender@example.org>, RCPT TO:<rcpt@remote.example>"
	expect_eq "<sender@example.org> / <rcpt@remote.example>" \
		"$(sm_dump_hdr "$f" X-Mail-Args) / $(sm_dump_hdr "$f" X-Rcpt-Args | paste -sd,)"
	desc "$1: our Received line says with $2"
	check grep -Eq "^	by gate\.test \(authd-smtpd\) with $2 id [0-9A-F]{12}$" "$f"
	LAST_DUMP=$f
}

nothing_delivered() {
	desc "$1: nothing reached the next hop"
	expect_eq 0 "$(sm_msgs main | wc -l)"
}

# mechs TEXT - the mechanisms of an EHLO reply's AUTH line, sorted
mechs() {
	sed -n 's/^\(<[-~]  \)\{0,1\}250[- ]AUTH //p' <<<"$1" | tr ' ' '\n' |
		LC_ALL=C sort | paste -sd' '
}

# ehlo_lines TEXT - the EHLO reply of an sm_chat transcript (lines after
# the greeting up to the first "250 " line)
ehlo_lines() {
	sed -n '2,/^250 /p' <<<"$1"
}

# --- 1. What EHLO offers ---

desc "EHLO without TLS: exit 0"
expect_rc 0 sm_chat "$SM_SUB" "EHLO client.example.net" QUIT
desc "EHLO without TLS: the whole reply (STARTTLS, and no PLAIN or LOGIN)"
expect_eq "250-gate.test
250-PIPELINING
250-SIZE 10240000
250-STARTTLS
250-AUTH SCRAM-SHA-256 SCRAM-SHA-1 DIGEST-MD5 CRAM-MD5
250-ENHANCEDSTATUSCODES
250 8BITMIME" "$(ehlo_lines "$(cat "$OUT")")"
desc "EHLO after STARTTLS: exit 0"
expect_rc 0 sm_chat --starttls "$SM_SUB" "EHLO client.example.net" QUIT
desc "EHLO after STARTTLS: AUTH has PLAIN and LOGIN too, no STARTTLS line"
expect_eq "CRAM-MD5 DIGEST-MD5 LOGIN PLAIN SCRAM-SHA-1 SCRAM-SHA-256 / 0" \
	"$(mechs "$(sed -n '/^220 2.0.0/,$p' "$OUT")") / $(sed -n '/^220 2.0.0/,$p' "$OUT" | grep -c STARTTLS || true)"
desc "EHLO on the implicit TLS port: exit 0"
expect_rc 0 sm_chat --tls "$SM_SMTPS" "EHLO client.example.net" QUIT
desc "EHLO on the implicit TLS port: all six mechanisms, no STARTTLS"
expect_eq "CRAM-MD5 DIGEST-MD5 LOGIN PLAIN SCRAM-SHA-1 SCRAM-SHA-256 / 0" \
	"$(mechs "$(cat "$OUT")") / $(grep -c STARTTLS "$OUT" || true)"
desc "AUTH PLAIN without TLS (right password): 504 5.5.4, the session goes on"
expect_rc 0 sm_chat "$SM_SUB" "EHLO client.example.net" \
	"AUTH PLAIN $(plain_b64 alice "$PW")" "MAIL FROM:<sender@example.org>" QUIT
expect_eq "504 5.5.4 Unsupported authentication mechanism
530 5.7.0 Authentication required
221 2.0.0 Bye" "$(tail -n 3 "$OUT")"
desc "AUTH LOGIN without TLS: 504 5.5.4"
expect_rc 0 sm_chat "$SM_SUB" "EHLO client.example.net" "AUTH LOGIN" QUIT
expect_eq "504 5.5.4 Unsupported authentication mechanism" "$(tail -n 2 "$OUT" | head -n 1)"
desc "relay port, no AUTH: a remote recipient is refused, a relay_domains one is not"
expect_rc 0 sm_chat "$SM_SMTP" "EHLO client.example.net" "MAIL FROM:<sender@example.org>" \
	"RCPT TO:<rcpt@remote.example>" "RCPT TO:<rcpt@example.net>" RSET QUIT
expect_eq "250 2.1.0 Ok
554 5.7.1 <rcpt@remote.example>: Relay access denied
250 2.1.5 Ok
250 2.0.0 Ok
221 2.0.0 Bye" "$(tail -n 5 "$OUT")"

# --- 2. swaks ---

sink_reset
desc "swaks AUTH PLAIN without TLS: not advertised, swaks gives up (exit 28)"
expect_rc 28 sm_sw "$SM_SUB" --auth PLAIN --auth-user alice --auth-password "$PW"
expect_no_out '^ ?-> +AUTH'
nothing_delivered "swaks PLAIN without TLS"
for m in CRAM-MD5 DIGEST-MD5; do
	sink_reset
	desc "swaks AUTH $m without TLS: exit 0"
	expect_rc 0 sm_sw "$SM_SUB" --auth "$m" --auth-user alice --auth-password "$PW"
	expect_out '^<-  235 2\.7\.0 Authentication successful$'
	expect_out '^<-  250 2\.0\.0 Ok$'
	delivered "swaks $m without TLS" ESMTPA
done
for m in PLAIN LOGIN CRAM-MD5 DIGEST-MD5; do
	for mode in -tls --tlsc; do
		port=$SM_SUB
		[ "$mode" = --tlsc ] && port=$SM_SMTPS
		sink_reset
		desc "swaks $mode AUTH $m, right password: exit 0"
		expect_rc 0 sm_sw "$port" "$mode" --auth "$m" --auth-user alice --auth-password "$PW"
		expect_out '^<~  235 2\.7\.0 Authentication successful$'
		expect_out '^<~  250 2\.0\.0 Ok$'
		delivered "swaks $mode $m" ESMTPSA
		sink_reset
		desc "swaks $mode AUTH $m, wrong password: exit 28, 535 5.7.8"
		expect_rc 28 sm_sw "$port" "$mode" --auth "$m" --auth-user alice --auth-password "$BAD"
		expect_out '^<~\* 535 5\.7\.8 Error: authentication failed: authentication failure$'
		nothing_delivered "swaks $mode $m, wrong password"
	done
done
sm_expect_log 'warning: unknown\[127\.0\.0\.1\]: SASL DIGEST-MD5 authentication failed: authentication failure'
sm_expect_log 'client=unknown\[127\.0\.0\.1\], sasl_method=CRAM-MD5, sasl_username=alice@example\.org'

# --- 3. curl ---

# cu URL MECH USER PASS [curl options]
cu() {
	local url=$1 m=$2 u=$3 p=$4

	shift 4
	timeout 30 curl -sS -v -k "$url" --login-options "AUTH=$m" -u "$u:$p" \
		--mail-from sender@example.org --mail-rcpt rcpt@remote.example \
		--upload-file "$MAIL" "$@"
}
for m in PLAIN LOGIN CRAM-MD5 DIGEST-MD5; do
	for url in "smtp://127.0.0.1:$SM_SUB" "smtps://127.0.0.1:$SM_SMTPS"; do
		extra=()
		[[ $url == smtp:* ]] && extra=(--ssl-reqd)
		sink_reset
		desc "curl $url AUTH=$m, right password: exit 0"
		expect_rc 0 cu "$url" "$m" alice "$PW" "${extra[@]}"
		expect_err '^< 235 2\.7\.0 Authentication successful'
		expect_err '^< 250 2\.0\.0 Ok'
		delivered "curl $url $m" ESMTPSA
		desc "curl: the message arrived byte for byte (LF line ends in the dump)"
		expect_eq "$(tr -d '\r' <"$MAIL")" \
			"$(sm_dump_body "$LAST_DUMP" | sed '1,/^	for <rcpt@remote\.example>; /d')"
		sink_reset
		desc "curl $url AUTH=$m, wrong password: exit 67 (login denied), 535 5.7.8"
		expect_rc 67 cu "$url" "$m" alice "$BAD" "${extra[@]}"
		expect_err '^< 535 5\.7\.8 Error: authentication failed: authentication failure'
		nothing_delivered "curl $url $m, wrong password"
	done
done
sink_reset
desc "curl smtp:// without TLS, AUTH=PLAIN: not offered, curl sends no AUTH (exit 67)"
expect_rc 67 cu "smtp://127.0.0.1:$SM_SUB" PLAIN alice "$PW"
expect_no_out '^> AUTH'
check bash -c '! grep -q "^> AUTH" "$1"' _ "$ERR"
nothing_delivered "curl PLAIN without TLS"

# --- 4. Python smtplib ---
# One Python process runs every case (a Python start costs ~0.3 s here);
# a case is MODE:METHOD:PASSWORD, MODE plain|starttls|ssl, METHOD login
# (smtplib picks) or a mechanism for auth().  Per case one line:
#   CASE <case> AUTH <code> <text> [MECH <what login() sent>] [SENT <refused>]

cat >"$TMP/smtplib_auth.py" <<'EOF'
import io, smtplib, ssl, sys, contextlib
sub, smtps, user = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
for case in sys.argv[4:]:
    mode, mech, pw = case.split(":", 2)
    out = ["CASE", case]
    if mode == "ssl":
        s = smtplib.SMTP_SSL("127.0.0.1", smtps, timeout=20, context=ctx)
    else:
        s = smtplib.SMTP("127.0.0.1", sub, timeout=20)
    s.ehlo("client.example.net")
    if mode == "starttls":
        s.starttls(context=ctx)
        s.ehlo("client.example.net")
    dbg = io.StringIO()
    s.set_debuglevel(1)
    ok = False
    try:
        with contextlib.redirect_stderr(dbg):
            if mech == "login":
                code, msg = s.login(user, pw)
            else:
                s.user, s.password = user, pw
                obj = {"PLAIN": s.auth_plain, "LOGIN": s.auth_login,
                       "CRAM-MD5": s.auth_cram_md5}[mech]
                code, msg = s.auth(mech, obj, initial_response_ok=True)
        out += ["AUTH", str(code), msg.decode()]
        ok = True
    except smtplib.SMTPAuthenticationError as e:
        out += ["AUTH", str(e.smtp_code), e.smtp_error.decode()]
    s.set_debuglevel(0)
    if mech == "login":
        sent = [l.split("'")[1].split(" ")[1].split("\\")[0]
                for l in dbg.getvalue().splitlines()
                if l.startswith("send: 'AUTH ")]
        out += ["MECH", ",".join(sent)]
    if ok:
        r = s.sendmail("sender@example.org", ["rcpt@remote.example"],
                       "Subject: t\r\n\r\nhi\r\n")
        out += ["SENT", repr(r)]
    s.quit()
    print(" ".join(out))
EOF
sl_cases=()
sl_want=()
OK235="AUTH 235 2.7.0 Authentication successful"
NO535="AUTH 535 5.7.8 Error: authentication failed: authentication failure"
for mode in starttls ssl; do
	for m in login PLAIN LOGIN CRAM-MD5; do
		mech="" mech_bad=""
		# login() tries each offered mechanism it knows until one
		# succeeds: a wrong password costs three 535s.
		[ $m = login ] && mech=" MECH CRAM-MD5" mech_bad=" MECH CRAM-MD5,PLAIN,LOGIN"
		sl_cases+=("$mode:$m:$PW" "$mode:$m:$BAD")
		sl_want+=("CASE $mode:$m:$PW $OK235$mech SENT {}"
			"CASE $mode:$m:$BAD $NO535$mech_bad")
	done
done
# Without TLS: login() picks CRAM-MD5 (PLAIN is not offered); auth()
# sends PLAIN even so, and gets 504.
sl_cases+=("plain:login:$PW" "plain:PLAIN:$PW")
sl_want+=("CASE plain:login:$PW $OK235 MECH CRAM-MD5 SENT {}"
	"CASE plain:PLAIN:$PW AUTH 504 5.5.4 Unsupported authentication mechanism")
sink_reset
desc "smtplib: ${#sl_cases[@]} sessions, exit 0"
expect_rc 0 python3 "$TMP/smtplib_auth.py" "$SM_SUB" "$SM_SMTPS" alice "${sl_cases[@]}"
mapfile -t got <"$OUT"
for ((i = 0; i < ${#sl_want[@]}; i++)); do
	c=${sl_cases[i]/%:$BAD/:wrong password}
	desc "smtplib ${c/%:$PW/:right password}"
	expect_eq "${sl_want[i]}" "${got[i]:-}"
done
desc "smtplib: one message at the next hop per right password (9), none for a wrong one"
sm_wait_msgs main 9 || true
expect_eq 9 "$(sm_msgs main | wc -l)"
desc "smtplib: every message says with ESMTPSA, but the one sent without TLS: ESMTPA"
# shellcheck disable=SC2046
expect_eq "ESMTPA 1 / ESMTPSA 8" "$(cat /dev/null $(sm_msgs main) |
	sed -n 's/^	by gate\.test (authd-smtpd) with \([A-Z]*\) id [0-9A-F]\{12\}$/\1/p' |
	sort | uniq -c | awk '{print $2, $1}' | paste -sd/ | sed 's|/| / |g')"

# --- 5. msmtp (GNU SASL) ---

# ms METHOD USER PASS TLS-MODE (starttls|tls)
ms() {
	local rc=$TMP/msmtprc port=$SM_SUB starttls=on

	if [ "$4" = tls ]; then
		port=$SM_SMTPS
		starttls=off
	fi
	cat >"$rc" <<-EOF
	account test
	host 127.0.0.1
	port $port
	domain client.example.net
	tls on
	tls_starttls $starttls
	tls_certcheck off
	auth $1
	user $2
	password $3
	from sender@example.org
	EOF
	chmod 600 "$rc"
	timeout 30 msmtp -C "$rc" -a test -v rcpt@remote.example <"$MAIL"
}
for m in scram-sha-256 scram-sha-1 digest-md5 plain; do
	for mode in starttls tls; do
		sink_reset
		desc "msmtp $mode auth $m, right password: exit 0"
		expect_rc 0 ms "$m" alice "$PW" $mode
		# msmtp prints the server's lines with their CR
		expect_out "^<-- 235 2\\.7\\.0 Authentication successful"$'\r'"?\$"
		expect_out "^<-- 250 2\\.0\\.0 Ok"$'\r'"?\$"
		delivered "msmtp $mode $m" ESMTPSA
		sink_reset
		desc "msmtp $mode auth $m, wrong password: exit 77 (EX_NOPERM), 535 5.7.8"
		expect_rc 77 ms "$m" alice "$BAD" $mode
		expect_err 'server message: 535 5\.7\.8 Error: authentication failed: authentication failure'
		nothing_delivered "msmtp $mode $m, wrong password"
	done
done
desc "msmtp scram-sha-256: the server's v= came as a 334 (GNU SASL checked it)"
expect_rc 0 ms scram-sha-256 alice "$PW" starttls
expect_out '^<-- 334 dj[0-9A-Za-z+/]'

# --- 6. The Received header ---

sink_reset
desc "swaks -tls AUTH PLAIN: exit 0"
expect_rc 0 sm_sw "$SM_SUB" -tls --auth PLAIN --auth-user alice --auth-password "$PW"
delivered "Received after STARTTLS + AUTH" ESMTPSA
desc "our Received header, whole (STARTTLS + AUTH, no Authenticated sender by default)"
check python3 -c '
import re, sys
d = sys.stdin.read()
want = (r"Received: from client\.example\.net \(unknown \[127\.0\.0\.1\]\)\n"
        r"\t\(using TLSv1\.[23] with cipher [A-Z0-9_-]+ \(\d+/\d+ bits\)\)\n"
        r"\tby gate\.test \(authd-smtpd\) with ESMTPSA id [0-9A-F]{12}\n"
        r"\tfor <rcpt@remote\.example>; \w{3}, [ \d]\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4} \(\w+\)\n"
        r"Date: ")
sys.exit(0 if re.match(want, d) else 1)' < <(sm_dump_body "$LAST_DUMP")

sm_stop
sm_start -o smtpd_sasl_security_options=noanonymous
desc "noanonymous only: EHLO without TLS offers PLAIN and LOGIN"
expect_rc 0 sm_chat "$SM_SUB" "EHLO client.example.net" QUIT
expect_eq "CRAM-MD5 DIGEST-MD5 LOGIN PLAIN SCRAM-SHA-1 SCRAM-SHA-256" "$(mechs "$(cat "$OUT")")"
sink_reset
desc "swaks AUTH PLAIN without TLS on the relay port: exit 0"
expect_rc 0 sm_sw "$SM_SMTP" --auth PLAIN --auth-user alice --auth-password "$PW"
delivered "Received after AUTH without TLS" ESMTPA
desc "Received after AUTH without TLS: no (using ...) line"
check bash -c '! grep -q "^	(using" "$1"' _ "$LAST_DUMP"
sink_reset
desc "swaks AUTH LOGIN without TLS, wrong password: 535 5.7.8, nothing relayed"
expect_rc 28 sm_sw "$SM_SMTP" --auth LOGIN --auth-user alice --auth-password "$BAD"
expect_out '^<\*\* 535 5\.7\.8 Error: authentication failed: authentication failure$'
nothing_delivered "AUTH LOGIN without TLS, wrong password"

sm_stop
# A descriptor the parent left open (no close-on-exec) must reach neither
# the supervisor nor the workers that talk to strangers.
exec 7>"$TMP/inherited.txt"
sm_start -o smtpd_sasl_authenticated_header=yes
exec 7>&-
desc "a descriptor inherited from the parent (fd 7) is closed in the supervisor and every worker"
check bash -c 'for p in $1 $(pgrep -P "$1"); do
	find "/proc/$p/fd" -mindepth 1 -lname "*inherited.txt*" | grep -q . && exit 1
done; exit 0' _ "$SM_PID"
sink_reset
desc "authenticated header on: swaks -tls AUTH LOGIN: exit 0"
expect_rc 0 sm_sw "$SM_SUB" -tls --auth LOGIN --auth-user alice --auth-password "$PW"
delivered "authenticated header on" ESMTPSA
desc "Received says (Authenticated sender: alice@example.org) before the by line"
expect_eq "	(Authenticated sender: alice@example.org)" \
	"$(grep -B1 '^	by gate\.test' "$LAST_DUMP" | head -n 1)"

sm_stop
sm_start -o mynetworks=127.0.0.0/8
sink_reset
desc "a mynetworks client relays without AUTH: exit 0"
expect_rc 0 sm_sw "$SM_SMTP"
delivered "mynetworks client, EHLO" ESMTP
desc "mynetworks client: no Authenticated sender line even with TLS off/AUTH off"
check bash -c '! grep -q "Authenticated sender" "$1"' _ "$LAST_DUMP"
sink_reset
desc "a mynetworks client with STARTTLS, no AUTH: exit 0"
expect_rc 0 sm_sw "$SM_SMTP" -tls
delivered "mynetworks client, STARTTLS" ESMTPS
sink_reset
desc "a mynetworks client with HELO: exit 0"
expect_rc 0 sm_sw "$SM_SMTP" --protocol SMTP
delivered "mynetworks client, HELO" SMTP

# --- 7. smtp-sink as the next hop: what arrives ---
# (the gate still trusts 127.0.0.0/8: no AUTH needed from here on)

# stuff FILE OUT - OUT: FILE's lines dot-stuffed, then the end of data
stuff() {
	python3 -c '
import sys
d = open(sys.argv[1], "rb").read()
lines = d.split(b"\r\n")
assert lines[-1] == b""
out = b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n" for l in lines[:-1])
open(sys.argv[2], "wb").write(out + b".\r\n")' "$1" "$2"
}
# gate_body FILE - a sink dump's message without smtp-sink's headers and
# without our Received header (its first field)
gate_body() {
	sm_dump_body "$1" | python3 -c '
import sys
d = sys.stdin.buffer.read()
assert d.startswith(b"Received: from "), d[:80]
i = 0
while True:
    i = d.index(b"\n", i) + 1
    if d[i:i + 1] != b"\t":
        break
sys.stdout.buffer.write(d[i:])'
}

ODD=$TMP/odd.eml
python3 -c '
import sys
lines = [b"From: sender@example.org", b"To: rcpt@remote.example",
         b"Subject: dots and 8 bits", b"MIME-Version: 1.0",
         b"Content-Type: text/plain; charset=ISO-8859-1",
         b"Content-Transfer-Encoding: 8bit", b"",
         b".", b"..", b"...", b". space", b".leading dot", b"..two dots",
         b"not . a dot line", b"8-bit: \xe9\xe8\xff\x80 \xc3\xa9",
         b"trailing spaces   ", b"\ttab first", b"", b"",
         b"x" * 998, b"." * 998, b"last line"]
open(sys.argv[1], "wb").write(b"\r\n".join(lines) + b"\r\n")' "$ODD"
stuff "$ODD" "$TMP/odd.wire"
sink_reset
desc "dots and 8-bit bytes with BODY=8BITMIME: the transaction"
expect_rc 0 sm_chat "$SM_SMTP" "EHLO client.example.net" \
	"MAIL FROM:<sender@example.org> BODY=8BITMIME" "RCPT TO:<rcpt@remote.example>" \
	"RCPT TO:<second@remote.example>" DATA "@$TMP/odd.wire" QUIT
expect_eq "250 2.1.0 Ok
250 2.1.5 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok
221 2.0.0 Bye" "$(tail -n 6 "$OUT")"
sm_wait_msgs main 1 || true
f=$(sm_msgs main | tail -n 1)
desc "the next hop got BODY=8BITMIME and both recipients in order"
expect_eq "<sender@example.org> BODY=8BITMIME / <rcpt@remote.example>,<second@remote.example>" \
	"$(sm_dump_hdr "$f" X-Mail-Args) / $(sm_dump_hdr "$f" X-Rcpt-Args | paste -sd,)"
desc "the next hop got the message byte for byte (dots unstuffed, 8-bit intact)"
check cmp <(tr -d '\r' <"$ODD") <(gate_body "$f")
desc "two recipients: the Received line has no 'for' clause"
check bash -c '! grep -q "^	for <" "$1"' _ "$f"

cat >"$TMP/big.py" <<'EOF'
# big.py PORT FILE SIZE-PARAM(yes|no) - one transaction with FILE as the
# message (smtplib dot-stuffs), then a small one on the same connection.
import smtplib, sys
port, path, size = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "yes"
msg = open(path, "rb").read()
s = smtplib.SMTP("127.0.0.1", port, timeout=60)
s.ehlo("client.example.net")
opts = ["SIZE=%d" % len(msg)] if size else []
code, text = s.mail("sender@example.org", opts)
print("MAIL", code, text.decode())
if code == 250:
    print("RCPT", *s.rcpt("rcpt@remote.example"))
    code, text = s.data(msg)
    print("DATA", code, text.decode())
else:
    s.rset()
s.mail("sender@example.org")
s.rcpt("rcpt@remote.example")
code, text = s.data(b"Subject: after\r\n\r\nsmall\r\n")
print("NEXT", code, text.decode())
s.quit()
EOF
# mkbig FILE BYTES - a message of about BYTES octets, every 50th line
# starting with a dot, ending with a marker line
mkbig() {
	python3 -c '
import sys
n = int(sys.argv[2])
out = [b"From: sender@example.org\r\nSubject: big\r\n\r\n"]
size, i = len(out[0]), 0
while size < n:
    line = (b"." if i % 50 == 0 else b"") + b"%08d " % i + b"abcdefghij" * 6 + b"\r\n"
    out.append(line)
    size += len(line)
    i += 1
out.append(b"END-OF-BIG-MESSAGE\r\n")
open(sys.argv[1], "wb").write(b"".join(out))' "$1" "$2"
}
mkbig "$TMP/big.eml" 9500000
sink_reset
desc "a 9.5 MB message: 250 from the next hop"
expect_rc 0 python3 "$TMP/big.py" "$SM_SMTP" "$TMP/big.eml" yes
expect_eq "MAIL 250 2.1.0 Ok
RCPT 250 b'2.1.5 Ok'
DATA 250 2.0.0 Ok
NEXT 250 2.0.0 Ok" "$(cat "$OUT")"
sm_wait_msgs main 2 || true
# By content, not by time: the big dump's last write may come after the
# small one's.
f=$(grep -l '^Subject: big' $(sm_msgs main) | head -n 1)
desc "the 9.5 MB message arrived byte for byte"
check cmp <(tr -d '\r' <"$TMP/big.eml") <(gate_body "$f")

mkbig "$TMP/huge.eml" 10300000
sink_reset
desc "over message_size_limit with SIZE=: 552 5.3.4 at MAIL, the next message goes through"
expect_rc 0 python3 "$TMP/big.py" "$SM_SMTP" "$TMP/huge.eml" yes
expect_eq "MAIL 552 5.3.4 Message size exceeds fixed limit
NEXT 250 2.0.0 Ok" "$(cat "$OUT")"
desc "over message_size_limit without SIZE=: 552 5.3.4 after the data, the next message goes through"
expect_rc 0 python3 "$TMP/big.py" "$SM_SMTP" "$TMP/huge.eml" no
expect_eq "MAIL 250 2.1.0 Ok
RCPT 250 b'2.1.5 Ok'
DATA 552 5.3.4 Error: message file too big
NEXT 250 2.0.0 Ok" "$(cat "$OUT")"
sm_wait_msgs main 2 || true
desc "over the limit: only the two small messages reached the next hop"
# shellcheck disable=SC2046
expect_eq "2 / 0" "$(sm_msgs main | wc -l) / $(cat /dev/null $(sm_msgs main) | grep -c 'END-OF-BIG-MESSAGE' || true)"
sm_expect_log 'reject: message of [0-9]+ bytes from unknown\[127\.0\.0\.1\] is over message_size_limit'

# --- 8. smtp-sink failing ---

SMALL=$TMP/small.wire
printf 'Subject: fail\r\n\r\nbody\r\n.\r\n' >"$SMALL"
HOP="127.0.0.1:$SM_HOP"
# failing NAME WANT SINK-OPTION... - the main sink replaced by one with
# the failure options; one transaction; WANT: the replies from MAIL on
failing() {
	local name=$1 want=$2

	shift 2
	sm_sink_stop "$MAIN_SINK"
	sm_sink "$name" "$HOP" "$@"
	desc "next hop smtp-sink $*: the client gets the next hop's reply or a 451, never 250 for the message"
	expect_rc 0 sm_chat "$SM_SMTP" "EHLO client.example.net" \
		"MAIL FROM:<sender@example.org>" "RCPT TO:<rcpt@remote.example>" \
		DATA "@$SMALL" QUIT
	expect_eq "$want" "$(sed -n '/^250 8BITMIME$/,$p' "$OUT" | tail -n +2)"
	sm_sink_stop "$SINK_PID"
	sm_sink main "$HOP"
	MAIN_SINK=$SINK_PID
}
# After a refused MAIL or RCPT the client's DATA is ours to answer
# (sm_chat then does not send the message).  smtp-sink's 421 reaches the
# client as 451 with its text: the next hop closes, not the gate.
failing rcpt4 "250 2.1.0 Ok
450 4.3.0 Error: command failed
554 5.5.1 Error: no valid recipients
221 2.0.0 Bye" -r RCPT
failing rcpt5 "250 2.1.0 Ok
500 5.3.0 Error: command failed
554 5.5.1 Error: no valid recipients
221 2.0.0 Bye" -f RCPT
failing mail5 "500 5.3.0 Error: command failed
503 5.5.1 Error: need MAIL command
503 5.5.1 Error: need MAIL command
221 2.0.0 Bye" -f MAIL
failing dot4 "250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
450 4.3.0 Error: command failed
221 2.0.0 Bye" -r .
failing dot5 "250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
500 5.3.0 Error: command failed
221 2.0.0 Bye" -f .
failing dotdrop "250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
451 4.4.2 lost connection with next hop $HOP: connection closed
221 2.0.0 Bye" -q .
failing datadrop "250 2.1.0 Ok
250 2.1.5 Ok
451 4.4.2 lost connection with next hop $HOP: connection closed
221 2.0.0 Bye" -q DATA
failing dot421 "250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
451 4.0.0 Server closing connection
221 2.0.0 Bye" -Q .
failing rcpt421 "250 2.1.0 Ok
451 4.0.0 Server closing connection
554 5.5.1 Error: no valid recipients
221 2.0.0 Bye" -Q RCPT

failing mail4 "450 4.3.0 Error: command failed
503 5.5.1 Error: need MAIL command
503 5.5.1 Error: need MAIL command
221 2.0.0 Bye" -r MAIL
# -A 0: 354, then at once "550 This violates SMTP" and no more reading.
# When the 550 comes before our dot it answers nothing we sent (the
# connection is unusable: 451 4.4.2); after it, it is the dot's reply.
# Either is right; 250 is not.
sm_sink_stop "$MAIN_SINK"
sm_sink abort "$HOP" -A 0
desc "next hop smtp-sink -A 0 (550 right after 354): 550 or 451 4.4.2 for the message"
expect_rc 0 sm_chat "$SM_SMTP" "EHLO client.example.net" \
	"MAIL FROM:<sender@example.org>" "RCPT TO:<rcpt@remote.example>" \
	DATA "@$SMALL" QUIT
expect_eq "250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
550 or 451
221 2.0.0 Bye" "$(sed -n '/^250 8BITMIME$/,$p' "$OUT" | tail -n +2 |
	sed -E "s/^(550 This violates SMTP|451 4\.4\.2 lost connection with next hop ${HOP//./\\.})$/550 or 451/")"
sm_sink_stop "$SINK_PID"
sm_sink main "$HOP"
MAIN_SINK=$SINK_PID

# BODY=8BITMIME to a next hop that does not announce 8BITMIME (smtp-sink
# -8): RFC 6152 §3 / RFC 1652 §3 leave a relay two ways, convert the
# body to 7 bit or fail the message (5.6.3); relaying the 8-bit bytes
# undeclared is neither.  Either right way passes here.
sm_sink_stop "$MAIN_SINK"
sm_sink seven "$HOP" -8
desc "BODY=8BITMIME to a 7-bit next hop: the session runs"
expect_rc 0 sm_chat "$SM_SMTP" "EHLO client.example.net" \
	"MAIL FROM:<sender@example.org> BODY=8BITMIME" "RCPT TO:<rcpt@remote.example>" \
	DATA "@$TMP/odd.wire" QUIT
seven_out=$(sed -n '/^250 8BITMIME$/,$p' "$OUT" | tail -n +2)
sm_wait_msgs seven 1 || true
seven_msg=$(sm_msgs seven | tail -n 1)
desc "BODY=8BITMIME to a 7-bit next hop: refused with 5.6.3, or delivered converted to 7 bit"
if grep -Eq '^5[0-9][0-9] 5\.6\.3 ' <<<"$seven_out"; then
	expect_eq "" "$seven_msg"
elif [ -n "$seven_msg" ]; then
	check bash -c '! LC_ALL=C grep -q "[^ -~	]" "$1"' _ "$seven_msg"
else
	expect_eq "a 5.6.3 refusal or a converted message" "$seven_out"
fi
sm_sink_stop "$SINK_PID"
sm_sink main "$HOP"
MAIN_SINK=$SINK_PID

# A next hop that closes after 1 MB of a 9.5 MB body: the gate is
# mid-forward (holding its client for the backlog to drain) when the
# connection goes; the client gets 451 4.4.2 after its dot, and the next
# transaction of the same session reconnects.
cat >"$TMP/dropper.py" <<'EOF2'
import socket, sys, threading
port, limit = int(sys.argv[1]), int(sys.argv[2])
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(10)
def serve(c):
    f = c.makefile("rb")
    c.sendall(b"220 dropper ESMTP\r\n")
    while True:
        line = f.readline()
        if not line:
            break
        u = line.upper()
        if u.startswith(b"EHLO"):
            c.sendall(b"250-dropper\r\n250 8BITMIME\r\n")
        elif u.startswith(b"DATA"):
            c.sendall(b"354 go\r\n")
            got = 0
            while got < limit:
                d = f.read1(65536)
                if not d:
                    break
                got += len(d)
            break
        elif u.startswith(b"QUIT"):
            c.sendall(b"221 bye\r\n")
            break
        else:
            c.sendall(b"250 2.0.0 dropper ok\r\n")
    c.close()
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF2
sm_sink_stop "$MAIN_SINK"
python3 "$TMP/dropper.py" "$SM_HOP" 1000000 2>/dev/null &
DROP_PID=$!
at_exit "kill $DROP_PID 2>/dev/null"
sm_wait_port "$SM_HOP" || true
stuff "$TMP/big.eml" "$TMP/big.wire"
desc "next hop closes mid-body: 451 4.4.2 after the dot, then the session goes on"
expect_rc 0 sm_chat "$SM_SMTP" "EHLO client.example.net" \
	"MAIL FROM:<sender@example.org>" "RCPT TO:<rcpt@remote.example>" \
	DATA "@$TMP/big.wire" "MAIL FROM:<sender@example.org>" QUIT
expect_eq "250 2.0.0 dropper ok
250 2.0.0 dropper ok
354 End data with <CR><LF>.<CR><LF>
451 4.4.2 lost connection with next hop $HOP
250 2.0.0 dropper ok
221 2.0.0 Bye" "$(sed -n '/^250 8BITMIME$/,$p' "$OUT" | tail -n +2)"
kill "$DROP_PID"
wait "$DROP_PID" 2>/dev/null || true

# A next hop that does not answer RCPT within next_hop_timeout.
sm_sink slow "$HOP" -W RCPT:4
sm_stop
sm_start -o mynetworks=127.0.0.0/8 -o next_hop_timeout=1s
desc "next hop silent after RCPT beyond next_hop_timeout: 451 4.4.2, no hang"
expect_rc 0 sm_chat "$SM_SMTP" "EHLO client.example.net" \
	"MAIL FROM:<sender@example.org>" "RCPT TO:<rcpt@remote.example>" DATA QUIT
expect_eq "250 2.1.0 Ok
451 4.4.2 lost connection with next hop $HOP: timed out
554 5.5.1 Error: no valid recipients
221 2.0.0 Bye" "$(sed -n '/^250 8BITMIME$/,$p' "$OUT" | tail -n +2)"
sm_sink_stop "$SINK_PID"
sm_stop
sm_start -o mynetworks=127.0.0.0/8
sm_sink main "$HOP"
MAIN_SINK=$SINK_PID

# The next hop goes away between two transactions of one session and
# comes back before the third: 451 4.4.x for the second, 250 for the
# third, without a restart (the gate notices the dead connection).
RESTART_SINK="smtp-sink -u nobody -d $TMP/sink-main/%M. 127.0.0.1:$SM_HOP 100 >/dev/null 2>&1 & echo \$! >$TMP/sink2.pid; for i in \$(seq 100); do python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", $SM_HOP), 1).close()' 2>/dev/null && break; sleep 0.05; done"
sink_reset
desc "one session: delivered, next hop stopped, refused, next hop back, delivered"
expect_rc 0 sm_chat "$SM_SMTP" "EHLO client.example.net" \
	"MAIL FROM:<sender@example.org>" "RCPT TO:<rcpt@remote.example>" DATA "@$SMALL" \
	"!kill $MAIN_SINK; while kill -0 $MAIN_SINK 2>/dev/null; do sleep 0.05; done" \
	"MAIL FROM:<sender@example.org>" RSET "!$RESTART_SINK" \
	"MAIL FROM:<sender@example.org>" "RCPT TO:<rcpt@remote.example>" DATA "@$SMALL" QUIT
at_exit "kill \$(cat $TMP/sink2.pid 2>/dev/null) 2>/dev/null"
expect_eq "250 2.0.0 Ok
451 4.4.x
250 2.0.0 Ok
250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok
221 2.0.0 Bye" "$(sed -n '/^354 /,$p' "$OUT" | tail -n +2 |
	sed -E 's/^451 4\.4\.[12] (next hop|lost connection with next hop) .*/451 4.4.x/')"
desc "one session: the two messages at the next hop"
sm_wait_msgs main 2 || true
expect_eq 2 "$(sm_msgs main | wc -l)"
MAIN_SINK=$(cat "$TMP/sink2.pid")

# --- 9. The next hop down, then back ---

sm_sink_stop "$MAIN_SINK"
desc "next hop down: MAIL gets 451 4.4.1"
expect_rc 0 sm_chat "$SM_SMTP" "EHLO client.example.net" \
	"MAIL FROM:<sender@example.org>" "RCPT TO:<rcpt@remote.example>" QUIT
expect_eq "451 4.4.1 next hop $HOP unavailable: Connection refused
503 5.5.1 Error: need MAIL command
221 2.0.0 Bye" "$(tail -n 3 "$OUT")"
sm_expect_log "next hop $HOP unavailable: Connection refused"
sm_sink main "$HOP"
MAIN_SINK=$SINK_PID
desc "next hop back: the same authd-smtpd relays again"
expect_rc 0 sm_sw "$SM_SMTP"
expect_out '^<-  250 2\.0\.0 Ok$'
delivered "next hop back" ESMTP
desc "the same authd-smtpd process all along"
check kill -0 "$SM_PID"

# --- 10. A private Postfix as the next hop ---

pf_init
PFPORT=$(_sm_port)
printf '%s\n' '/^Received: from client\.example\.net \(unknown \[127\.0\.0\.1\]\)/ WARN gate-received' \
	>"$PF/conf/header_checks"
pf_main_cf "mynetworks = 127.0.0.0/8" "smtpd_sasl_auth_enable = no" \
	"smtpd_relay_restrictions = permit_mynetworks, reject" \
	"smtpd_recipient_restrictions = permit_mynetworks, reject" \
	"header_checks = regexp:$PF/conf/header_checks"
pf_master_cf "127.0.0.1:$PFPORT inet n - n - - smtpd"
pf_start "$PFPORT"
sm_stop
sm_start -o "next_hop=127.0.0.1:$PFPORT"
desc "Postfix next hop: swaks -tls AUTH PLAIN to rcpt@example.net: exit 0"
expect_rc 0 sm_sw "$SM_SUB" -tls --auth PLAIN --auth-user alice --auth-password "$PW" \
	--to rcpt@example.net
desc "Postfix next hop: its 'queued as' reply came back to the client"
expect_out '^<~  250 2\.0\.0 Ok: queued as [0-9A-Za-z]+$'
qid=$(sed -n 's/^<~  250 2\.0\.0 Ok: queued as \([0-9A-Za-z]*\)$/\1/p' "$OUT")
pf_logged() {
	local i

	for ((i = 0; i < 100; i++)); do
		grep -Eq -- "$1" "$PF/maillog" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
desc "Postfix logged our Received header, with ESMTPSA"
check pf_logged "${qid:-NOQID}: warning: header Received: from client\.example\.net \(unknown \[127\.0\.0\.1\]\).*by gate\.test \(authd-smtpd\) with ESMTPSA id [0-9A-F]{12}.* from localhost\[127\.0\.0\.1\]; from=<sender@example\.org> to=<rcpt@example\.net> proto=ESMTP helo=<gate\.test>: gate-received"
desc "Postfix delivered it (discard transport)"
check pf_logged "${qid:-NOQID}: to=<rcpt@example\.net>, relay=none, .*status=sent"
sm_expect_log ": from=<sender@example\.org>, nrcpt=1, size=[0-9]+, unknown\[127\.0\.0\.1\] \(authenticated\): accepted by 127\.0\.0\.1:$PFPORT: 250"

# --- 11. An LMTP next hop (Python), per-recipient results ---

LDIR=$TMP/lmtp
mkdir -m 0777 "$LDIR"
cat >"$LDIR/lmtpd.py" <<'EOF'
# A minimal LMTP server on a UNIX socket: recipients "temp*" get 452,
# "perm*" 550 after the dot, others 250.  Each message's wire bytes
# (after 354, up to and including the final dot) go to DIR/msg.N.
import os, socket, sys, threading
path, d = sys.argv[1], sys.argv[2]
srv = socket.socket(socket.AF_UNIX)
srv.bind(path)
os.chmod(path, 0o666)
srv.listen(10)
n = [0]
def serve(c):
    f = c.makefile("rb")
    def send(t):
        c.sendall(t.encode() + b"\r\n")
    send("220 lmtp.test LMTP ready")
    rcpts = []
    while True:
        line = f.readline()
        if not line:
            return
        cmd = line.rstrip(b"\r\n").decode("latin-1")
        u = cmd.upper()
        if u.startswith("LHLO"):
            open(os.path.join(d, "lhlo"), "w").write(cmd + "\n")
            send("250-lmtp.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES")
        elif u.startswith("MAIL"):
            rcpts = []
            send("250 2.1.0 Sender ok")
        elif u.startswith("RCPT"):
            rcpts.append(cmd[cmd.index("<") + 1:cmd.index("@")])
            send("250 2.1.5 Recipient ok")
        elif u == "DATA":
            send("354 go ahead")
            data = b""
            while True:
                l = f.readline()
                if not l:
                    return
                data += l
                if l == b".\r\n":
                    break
            n[0] += 1
            open(os.path.join(d, "msg.%d" % n[0]), "wb").write(data)
            for r in rcpts:
                if r.startswith("temp"):
                    send("452 4.2.2 <%s@remote.example> Mailbox full" % r)
                elif r.startswith("perm"):
                    send("550 5.1.1 <%s@remote.example> No such user" % r)
                else:
                    send("250 2.0.0 <%s@remote.example> Delivered" % r)
        elif u == "RSET" or u == "NOOP":
            send("250 2.0.0 Ok")
        elif u == "QUIT":
            send("221 2.0.0 Bye")
            return
        else:
            send("500 5.5.2 What?")
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
python3 "$LDIR/lmtpd.py" "$LDIR/lmtp.sock" "$LDIR" 2>"$LDIR/err" &
LMTP_PID=$!
at_exit "kill $LMTP_PID 2>/dev/null"
for ((i = 0; i < 100; i++)); do [ -S "$LDIR/lmtp.sock" ] && break; sleep 0.05; done
sm_stop
sm_start -o "next_hop=$LDIR/lmtp.sock" -o next_hop_protocol=lmtp -o mynetworks=127.0.0.0/8
# lmtp_case RCPT... WANT - one transaction to those recipients; WANT:
# the reply to the message
lmtp_case() {
	local want=${*: -1} rcpts=("${@:1:$#-1}") items=() r

	for r in "${rcpts[@]}"; do
		items+=("RCPT TO:<$r@remote.example>")
	done
	desc "LMTP next hop, recipients ${rcpts[*]}: the reply to the message"
	expect_rc 0 sm_chat "$SM_SMTP" "EHLO client.example.net" \
		"MAIL FROM:<sender@example.org>" "${items[@]}" DATA "@$TMP/odd.wire" QUIT
	expect_eq "$want" "$(tail -n 2 "$OUT" | head -n 1)"
}
lmtp_case ok1 "250 2.0.0 Ok: delivered to 1 recipient"
desc "LMTP: LHLO with our name"
expect_eq "LHLO gate.test" "$(cat "$LDIR/lhlo")"
desc "LMTP: the wire bytes after our Received header are the client's, stuffed, CRLF"
check python3 -c '
import sys
d = open(sys.argv[1], "rb").read()
assert d.startswith(b"Received: from client.example.net (unknown [127.0.0.1])\r\n"), d[:100]
i = 0
while True:
    i = d.index(b"\r\n", i) + 2
    if d[i:i + 1] != b"\t":
        break
sys.exit(0 if d[i:] == open(sys.argv[2], "rb").read() else 1)' "$LDIR/msg.1" "$TMP/odd.wire"
lmtp_case ok1 ok2 "250 2.0.0 Ok: delivered to 2 recipients"
PARTIAL="451 4.3.0 partial delivery by next hop $LDIR/lmtp.sock: not every recipient took the message, send it again"
lmtp_case ok1 temp1 "$PARTIAL"
lmtp_case perm1 ok1 "$PARTIAL"
lmtp_case temp1 perm1 "$PARTIAL"
lmtp_case perm1 perm2 "550 5.1.1 <perm1@remote.example> No such user"
lmtp_case temp1 "452 4.2.2 <temp1@remote.example> Mailbox full"
sm_expect_log "next hop $LDIR/lmtp\.sock: LMTP delivery to <temp1@remote\.example>: 452 4\.2\.2"

desc "authd-smtpd stops cleanly"
sm_stop
expect_eq 0 "$SM_STOP_RC"
desc "no password in authd-smtpd's or authd's log"
check bash -c '! grep -q "Alice-Gate1" "$1" "$2"' _ "$SM_LOG" "$LOG"
finish
