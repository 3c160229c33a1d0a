#!/bin/bash
# authd-smtpd against a hostile or broken client.  A raw-socket client
# (smtpd_raw.py) sends exact bytes -- several commands in one write where
# the attack needs it -- and every reply is compared exactly:
#
#   1. the open-relay battery: classic address tricks from a stranger are
#      refused (554 5.7.1 ... Relay access denied); the same recipients
#      pass after AUTH, and from mynetworks
#   2. STARTTLS command injection (CVE-2011-0411), STARTTLS twice, the
#      EHLO state forgotten after the handshake
#   3. SMTP smuggling (CVE-2023-51764): bare CR/LF dot sequences inside
#      DATA, under smtpd_forbid_bare_newline = normalize and = reject
#   4. over-long command lines and AUTH responses
#   5. pipelining abuse (Postfix's "SMTP protocol synchronization"),
#      pre-greeting input, and legal pipelining
#   6. AUTH errors of RFC 4954
#   7. authd going away and coming back under a running gate
#   8. the limits: recipients, errors, connections per client, idle
#      timeout, message size
#   9. fail2ban's stock postfix filter (fail2ban-regex) on the gate's real
#      failure log lines, and no secret in any log
#  10. a client vanishing in the middle of DATA
#
# smtp-sink (Postfix) is the next hop; each phase runs the gate with the
# configuration it needs (smtpd_lib.sh).
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"
source "$SRCDIR/tests/interop/smtpd_lib.sh"

for p in python3 smtp-sink openssl fail2ban-regex; do
	command -v "$p" >/dev/null || {
		echo "Bail out! $p not found (install python3 postfix openssl fail2ban)"
		exit 1
	}
done

RAWPY=$SRCDIR/tests/interop/smtpd_raw.py
ALICE=alice@example.org
ALICE_PW='Alice-Hostile1'
BOB=bob@example.org
BOB_PW='Bob-Hostile2'
WRONG_PW='Wrong-Pass-9'

write_dconf "auth_mechanisms = plain login"
add_user "$ALICE" "$ALICE_PW"
add_user "$BOB" "$BOB_PW"
start_authd
sm_init
sm_sink hop "127.0.0.1:$SM_HOP"

# --- helpers -------------------------------------------------------------

# raw [--tls] [--timeout S] PORT ACTION... - smtpd_raw.py against
# 127.0.0.1:PORT; its output (one reply line a line) in $RAW.
RAW=
raw() {
	local opts=()

	while [ "${1:-}" = --tls ] || [ "${1:-}" = --timeout ]; do
		if [ "$1" = --tls ]; then
			opts+=(--tls)
			shift
		else
			opts+=(--timeout "$2")
			shift 2
		fi
	done
	local port=$1
	shift
	RAW=$(timeout 60 python3 "$RAWPY" "${opts[@]}" 127.0.0.1 "$port" "$@" 2>&1) ||
		RAW+=$'\n'"(smtpd_raw.py exit $?)"
}

indent() {
	sed 's/^/#     /'
}

# L LINE... - the lines, for an expected transcript.
L() {
	printf '%s\n' "$@"
}

# expect_raw WANT - assertion: $RAW is exactly WANT (one line a line).
expect_raw() {
	local want=${1%$'\n'}

	if [ "$want" = "$RAW" ]; then
		pass
	else
		fail
		echo "#   expected:"
		indent <<<"$want"
		echo "#   actual:"
		indent <<<"$RAW"
	fi
}

b64() {
	printf '%s' "$1" | base64 -w0
}
plain() {	# base64 of a PLAIN message: authcid password
	printf '\0%s\0%s' "$1" "$2" | base64 -w0
}

# msgs NAME - how many messages sink NAME holds.
msgs() {
	sm_msgs "$1" | wc -l
}

# grep_msgs NAME FIXED - how many of sink NAME's dumps contain FIXED.
grep_msgs() {
	local f n=0

	while IFS= read -r f; do
		[ -n "$f" ] || continue
		grep -qF -- "$2" "$f" && n=$((n + 1))
	done < <(sm_msgs "$1")
	echo "$n"
}

# wait_log RE - until the gate's log has a line matching RE (5 s).
wait_log() {
	local i

	for ((i = 0; i < 100; i++)); do
		grep -Eq -- "$1" < <(sm_log) && return 0
		sleep 0.05
	done
	return 1
}

GREET='220 gate.test ESMTP authd-smtpd'
# EHLO before TLS (PLAIN and LOGIN are plaintext: not offered), after TLS.
EHLO_CLEAR=$(L '250-gate.test' '250-PIPELINING' '250-SIZE 10240000' \
	'250-STARTTLS' '250-ENHANCEDSTATUSCODES' '250 8BITMIME')
EHLO_TLS=$(L '250-gate.test' '250-PIPELINING' '250-SIZE 10240000' \
	'250-AUTH PLAIN LOGIN' '250-ENHANCEDSTATUSCODES' '250 8BITMIME')
EHLO_AUTHED=$(L '250-gate.test' '250-PIPELINING' '250-SIZE 10240000' \
	'250-ENHANCEDSTATUSCODES' '250 8BITMIME')
OK='250 2.0.0 Ok'
MAIL_OK='250 2.1.0 Ok'
RCPT_OK='250 2.1.5 Ok'
GO='354 End data with <CR><LF>.<CR><LF>'
BYE='221 2.0.0 Bye'
SYNC='554 5.5.0 Error: SMTP protocol synchronization'
BARE='521 5.5.2 gate.test Error: bare <LF> received'
SENDER='MAIL FROM:<sender@example.org>\r\n'

# ---------------------------------------------------------------------------
# Phase A: the default gate (127.0.0.1 is not in mynetworks).
sm_conf
sm_start

# --- 1. the open-relay battery -------------------------------------------
# RCPT argument, then the exact refusal.  A domain that is not LDH, or a
# non-ASCII byte (no SMTPUTF8), is refused earlier, as a syntax error:
# those are listed separately below.
RELAY_TRICKS=(
	'<user@evil.example>'                       '<user@evil.example>'
	'<user%evil.example@example.net>'           '<user%evil.example@example.net>'
	'<user%EVIL.EXAMPLE@EXAMPLE.NET>'           '<user%EVIL.EXAMPLE@example.net>'
	'<evil.example!user@example.net>'           '<evil.example!user@example.net>'
	'<user@evil.example@example.net>'           '<user@evil.example@example.net>'
	'<user@example.net@evil.example>'           '<user@example.net@evil.example>'
	'<@example.net:user@evil.example>'          '<user@evil.example>'
	'<@example.net:user@example.net>'           '<user@example.net>'
	'<@evil.example,@example.net:user@example.net>' '<user@example.net>'
	'<"user@evil.example"@example.net>'         '<"user@evil.example"@example.net>'
	'<"user%evil.example"@example.net>'         '<"user%evil.example"@example.net>'
	'<"evil.example!user"@example.net>'         '<"evil.example!user"@example.net>'
	'<user@example.net.>'                       '<user@example.net>'
	'<user@[192.0.2.1]>'                        '<user@[192.0.2.1]>'
	'<user@[IPv6:2001:db8::1]>'                 '<user@[ipv6:2001:db8::1]>'
	'<user@127.0.0.1>'                          '<user@127.0.0.1>'
	'<user@example.net.evil.example>'           '<user@example.net.evil.example>'
	'<user@evilexample.net>'                    '<user@evilexample.net>'
	'<user@example.network>'                    '<user@example.network>'
	'<user@sub.example.net>'                    '<user@sub.example.net>'
	'<user@xn--exmple-cua.net>'                 '<user@xn--exmple-cua.net>'
	'<user@localhost>'                          '<user@localhost>'
	'<postmaster@evil.example>'                 '<postmaster@evil.example>'
	'<user@EXAMPLE.NET.EVIL.EXAMPLE>'           '<user@example.net.evil.example>'
)
# Refused as syntax errors (never relayed either).
SYNTAX_TRICKS=(
	'<user@exämple.net>'          '500 5.5.2 Error: bad syntax'
	'<user@example．net>'         '500 5.5.2 Error: bad syntax'
	'<user@еxample.net>'          '500 5.5.2 Error: bad syntax'
	'<user@evil.example%example.net>' '501 5.5.4 Syntax: RCPT TO:<address>: malformed domain'
	'<user@[example.net]>'        '501 5.5.4 Syntax: RCPT TO:<address>: malformed address literal'
	'<user\@evil.example@example.net>' '501 5.5.4 Syntax: RCPT TO:<address>: malformed local part'
	'<evil.example!user>'         '501 5.5.4 Syntax: RCPT TO:<address>: no domain'
	'<"user@evil.example">'       '501 5.5.4 Syntax: RCPT TO:<address>: no domain'
	'<user@example.net..>'        '501 5.5.4 Syntax: RCPT TO:<address>: malformed domain'
)

# relay_battery HOW [--tls] PORT [ACTION...] - every trick as RCPT in its
# own session (so that no error limit interferes); ACTIONs run after the
# greeting (STARTTLS and AUTH), and the RCPT reply is compared with the
# refusal ("deny") or "250 2.1.5 Ok" ("accept").
relay_battery() {
	local how=$1 tls=() i rcpt want pre=()

	shift
	if [ "$1" = --tls ]; then
		tls=(--tls)
		shift
	fi
	local port=$1
	shift
	pre=("$@")
	for ((i = 0; i < ${#RELAY_TRICKS[@]}; i += 2)); do
		rcpt=${RELAY_TRICKS[i]}
		if [ "$how" = deny ]; then
			want="554 5.7.1 ${RELAY_TRICKS[i + 1]}: Relay access denied"
		else
			want=$RCPT_OK
		fi
		desc "relay ($how): RCPT TO:$rcpt gets \"$want\""
		raw "${tls[@]}" "$port" read "${pre[@]}" "send:$SENDER" read \
			"send:RCPT TO:$rcpt\r\n" read 'send:QUIT\r\n' read eof
		# Only the RCPT reply (3rd line from the end) is compared here;
		# the rest of the transcript is checked as a whole below.
		local got
		got=$(tail -n 3 <<<"$RAW" | head -n 1)
		if [ "$got" = "$want" ] &&
		   [ "$(tail -n 2 <<<"$RAW")" = "$(L "$BYE" EOF)" ] &&
		   [ "$(tail -n 4 <<<"$RAW" | head -n 1)" = "$MAIL_OK" ]; then
			pass
		else
			fail
			echo "#   want RCPT reply: $want"
			indent <<<"$RAW"
		fi
	done
}

relay_battery deny "$SM_SMTP" 'send:EHLO client.example.net\r\n' read
desc "relay (deny): a whole session is exactly greeting, EHLO, MAIL, the refusal, QUIT"
raw "$SM_SMTP" read 'send:EHLO client.example.net\r\n' read "send:$SENDER" read \
	'send:RCPT TO:<user%evil.example@example.net>\r\n' read 'send:QUIT\r\n' read eof
expect_raw "$(L "$GREET" "$EHLO_CLEAR" "$MAIL_OK" \
	'554 5.7.1 <user%evil.example@example.net>: Relay access denied' "$BYE" EOF)"
sm_expect_log 'NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.1\]: 554 5\.7\.1 <user%evil\.example@example\.net>: Relay access denied; from=<sender@example\.org> to=<user%evil\.example@example\.net> proto=ESMTP helo=<client\.example\.net>'

for ((i = 0; i < ${#SYNTAX_TRICKS[@]}; i += 2)); do
	desc "relay: RCPT TO:${SYNTAX_TRICKS[i]} is refused: ${SYNTAX_TRICKS[i + 1]}"
	rcpt=${SYNTAX_TRICKS[i]}
	raw "$SM_SMTP" read 'send:EHLO client.example.net\r\n' read "send:$SENDER" \
		read "send:RCPT TO:${rcpt//\\/\\\\}\r\n" read 'send:QUIT\r\n' read eof
	expect_raw "$(L "$GREET" "$EHLO_CLEAR" "$MAIL_OK" "${SYNTAX_TRICKS[i + 1]}" \
		"$BYE" EOF)"
done

desc "relay: our own domain in any case is accepted from a stranger"
raw "$SM_SMTP" read 'send:EHLO client.example.net\r\n' read "send:$SENDER" read \
	'send:RCPT TO:<user@example.net>\r\n' read 'send:RCPT TO:<User@EXAMPLE.NET>\r\n' read \
	'send:RCPT TO:<postmaster>\r\n' read 'send:RCPT TO:<user@[127.0.0.1]>\r\n' read \
	'send:QUIT\r\n' read eof
expect_raw "$(L "$GREET" "$EHLO_CLEAR" "$MAIL_OK" "$RCPT_OK" "$RCPT_OK" "$RCPT_OK" \
	"$RCPT_OK" "$BYE" EOF)"

# After AUTH (STARTTLS first: PLAIN is plaintext): every trick relays.
relay_battery accept "$SM_SMTP" 'send:EHLO client.example.net\r\n' read \
	'send:STARTTLS\r\n' read starttls 'send:EHLO client.example.net\r\n' read \
	"send:AUTH PLAIN $(plain "$ALICE" "$ALICE_PW")\r\n" read
desc "relay after AUTH: the whole transcript (STARTTLS, AUTH, the remote RCPT)"
raw "$SM_SMTP" read 'send:EHLO client.example.net\r\n' read 'send:STARTTLS\r\n' read \
	starttls 'send:EHLO client.example.net\r\n' read \
	"send:AUTH PLAIN $(plain "$ALICE" "$ALICE_PW")\r\n" read "send:$SENDER" read \
	'send:RCPT TO:<user@evil.example>\r\n' read 'send:QUIT\r\n' read eof
expect_raw "$(L "$GREET" "$EHLO_CLEAR" '220 2.0.0 Ready to start TLS' "$EHLO_TLS" \
	'235 2.7.0 Authentication successful' "$MAIL_OK" "$RCPT_OK" "$BYE" EOF)"

# --- 2. STARTTLS ----------------------------------------------------------

desc "STARTTLS injection: \"STARTTLS\\r\\nRSET\\r\\n\" in one write; inside TLS the first command gets only its own reply"
raw "$SM_SMTP" read 'send:EHLO client.example.net\r\n' read 'send:STARTTLS\r\nRSET\r\n' \
	read starttls 'send:NOOP\r\n' read 'send:QUIT\r\n' read eof
expect_raw "$(L "$GREET" "$EHLO_CLEAR" '220 2.0.0 Ready to start TLS' "$OK" "$BYE" EOF)"
sm_expect_log 'discarding 6 bytes of plaintext pipelined after STARTTLS from unknown\[127\.0\.0\.1\]'

desc "STARTTLS injection of EHLO: discarded, so MAIL right after the handshake gets 503 5.5.1"
raw "$SM_SMTP" read 'send:EHLO client.example.net\r\n' read \
	'send:STARTTLS\r\nEHLO evil.example\r\n' read starttls "send:$SENDER" read \
	'send:QUIT\r\n' read eof
expect_raw "$(L "$GREET" "$EHLO_CLEAR" '220 2.0.0 Ready to start TLS' \
	'503 5.5.1 Error: send HELO/EHLO first' "$BYE" EOF)"

desc "after STARTTLS: EHLO forgotten (503), STARTTLS no longer offered, a second STARTTLS gets 502 5.5.1"
raw "$SM_SMTP" read 'send:EHLO client.example.net\r\n' read 'send:STARTTLS\r\n' read \
	starttls "send:$SENDER" read 'send:EHLO client.example.net\r\n' read \
	'send:STARTTLS\r\n' read 'send:NOOP\r\n' read 'send:QUIT\r\n' read eof
expect_raw "$(L "$GREET" "$EHLO_CLEAR" '220 2.0.0 Ready to start TLS' \
	'503 5.5.1 Error: send HELO/EHLO first' "$EHLO_TLS" \
	'502 5.5.1 Error: command not implemented' "$OK" "$BYE" EOF)"

desc "STARTTLS on the implicit-TLS port: 502 5.5.1"
raw --tls "$SM_SMTPS" read 'send:EHLO client.example.net\r\n' read 'send:STARTTLS\r\n' \
	read 'send:QUIT\r\n' read eof
expect_raw "$(L "$GREET" "$EHLO_TLS" '502 5.5.1 Error: command not implemented' "$BYE" EOF)"

desc "STARTTLS inside a transaction: 503 5.5.1, the transaction goes on"
raw "$SM_SMTP" read 'send:EHLO client.example.net\r\n' read "send:$SENDER" read \
	'send:STARTTLS\r\n' read 'send:RCPT TO:<user@example.net>\r\n' read \
	'send:QUIT\r\n' read eof
expect_raw "$(L "$GREET" "$EHLO_CLEAR" "$MAIL_OK" \
	'503 5.5.1 Error: MAIL transaction in progress' "$RCPT_OK" "$BYE" EOF)"

# --- 3. SMTP smuggling ------------------------------------------------------
# Each sequence sits between the first line of a message and a complete
# smuggled transaction; the real end (CRLF.CRLF) follows the smuggled
# message.  A gate that took the sequence for the end of data would answer
# five replies (250 for each part) and the sink would get two messages.
SMUGGLE_SEQS=('\n.\n' '\n.\r\n' '\r.\r' '\r\n.\n' '\r\n.\r' '\r.\r\n' '\r.\n'
	'\n.\r' '\r\n.\r\r\n' '\n..\n')
# smuggle_body N SEQ - the DATA bytes of case N.
smuggle_body() {
	printf '%s' "Subject: smuggle-$1\r\n\r\nfirst line$2MAIL FROM:<smuggler@evil.example>\r\nRCPT TO:<victim-$1@example.net>\r\nDATA\r\nSubject: smuggled-$1\r\n\r\nsmuggled text $1\r\n.\r\n"
}
smuggle_session() {	# PORT N SEQ
	raw "$1" read 'send:EHLO client.example.net\r\n' read \
		"send:${SENDER}RCPT TO:<rcpt-$2@example.net>\r\nDATA\r\n" read:3 \
		"send:$(smuggle_body "$2" "$3")" read 'send:QUIT\r\n' read eof
}

for ((n = 0; n < ${#SMUGGLE_SEQS[@]}; n++)); do
	seq=${SMUGGLE_SEQS[n]}
	before=$(msgs hop)
	desc "smuggling (normalize) ${seq}: one 250 for the whole message, the smuggled MAIL never runs"
	smuggle_session "$SM_SMTP" "$n" "$seq"
	expect_raw "$(L "$GREET" "$EHLO_CLEAR" "$MAIL_OK" "$RCPT_OK" "$GO" "$OK" "$BYE" EOF)"
	desc "smuggling (normalize) ${seq}: the sink got exactly one more message"
	sm_wait_msgs hop $((before + 1)) || true
	expect_eq $((before + 1)) "$(msgs hop)"
	f=$(sm_msgs hop | tail -n 1)
	desc "smuggling (normalize) ${seq}: its envelope is the real one (sender, one recipient)"
	expect_eq "<sender@example.org>|<rcpt-$n@example.net>" \
		"$(sm_dump_hdr "$f" X-Mail-Args | paste -sd'|')|$(sm_dump_hdr "$f" X-Rcpt-Args | paste -sd'|')"
	desc "smuggling (normalize) ${seq}: the smuggled commands are text of that message"
	body=$(sm_dump_body "$f")
	if grep -qx 'MAIL FROM:<smuggler@evil.example>' <<<"$body" &&
	   grep -qx "RCPT TO:<victim-$n@example.net>" <<<"$body" &&
	   grep -qx "smuggled text $n" <<<"$body" && grep -q '^first line' <<<"$body"; then
		pass
	else
		fail
		indent <<<"$body"
	fi
done
desc "smuggling (normalize): no message ever went to a smuggled recipient"
expect_eq 0 "$(grep_msgs hop 'X-Rcpt-Args: <victim-')"

# normalize (Postfix's word): a bare LF is processed as if the client had
# sent CRLF -- except that only CRLF.CRLF ends the message.  A client with
# LF line ends dot-stuffs too: its "..dotted" line means ".dotted".
desc "normalize: a dot-stuffed line after a bare LF is unstuffed like one after CRLF"
before=$(msgs hop)
raw "$SM_SMTP" read 'send:EHLO client.example.net\r\n' read \
	"send:${SENDER}RCPT TO:<lf-client@example.net>\r\nDATA\r\n" read:3 \
	'send:Subject: lf-client\n\nline1\n..dotted\r\n..crlf-dotted\nline3\r\n.\r\n' read \
	'send:QUIT\r\n' read eof
sm_wait_msgs hop $((before + 1)) || true
expect_eq "$(L 'Subject: lf-client' '' line1 .dotted .crlf-dotted line3)" \
	"$(sm_dump_body "$(sm_msgs hop | tail -n 1)" | sed -n '/^Subject: lf-client/,$p')"

desc "a command ending in a bare LF is a command under normalize: NOOP<LF> gets 250"
raw "$SM_SMTP" read 'send:NOOP\n' read 'send:QUIT\r\n' read eof
expect_raw "$(L "$GREET" "$OK" "$BYE" EOF)"

# --- 4. over-long lines -----------------------------------------------------
X2043=$(head -c 2043 /dev/zero | tr '\0' x)
desc "a command of 2048 bytes (line_length_limit) is read: 250; 2049 bytes: 500 5.5.6, and the session goes on"
raw "$SM_SMTP" read "send:NOOP $X2043\r\n" read "send:NOOP ${X2043}x\r\n" read \
	'send:NOOP\r\n' read 'send:QUIT\r\n' read eof
expect_raw "$(L "$GREET" "$OK" '500 5.5.6 Error: line too long' "$OK" "$BYE" EOF)"

desc "a 100000-byte command in one write: one 500 5.5.6, the rest of it skipped"
head -c 100000 /dev/zero | tr '\0' y >"$TMP/long"
printf 'NOOP ' | cat - "$TMP/long" >"$TMP/long.cmd"
printf '\r\n' >>"$TMP/long.cmd"
raw "$SM_SMTP" read "sendfile:$TMP/long.cmd" read 'send:NOOP\r\n' read \
	'send:QUIT\r\n' read eof
expect_raw "$(L "$GREET" '500 5.5.6 Error: line too long' "$OK" "$BYE" EOF)"

# AUTH responses: at least 12288 octets (RFC 4954 §4), the limit
# smtpd_sasl_response_limit = 12288.
R12000=$(head -c 9000 /dev/zero | tr '\0' A | base64 -w0)
R12288=$(head -c 9216 /dev/zero | tr '\0' A | base64 -w0)
R12292=$(head -c 9219 /dev/zero | tr '\0' A | base64 -w0)
desc "AUTH responses of 12000 and 12288 base64 bytes get authd's answer (535); 12292 gets 500 5.5.6"
raw --tls "$SM_SMTPS" read 'send:EHLO client.example.net\r\n' read \
	'send:AUTH PLAIN\r\n' read "send:$R12000\r\n" read \
	'send:AUTH PLAIN\r\n' read "send:$R12288\r\n" read \
	'send:AUTH PLAIN\r\n' read "send:$R12292\r\n" read \
	'send:NOOP\r\n' read 'send:QUIT\r\n' read eof
FAIL535='535 5.7.8 Error: authentication failed: authentication failure'
expect_raw "$(L "$GREET" "$EHLO_TLS" '334 ' "$FAIL535" '334 ' "$FAIL535" '334 ' \
	'500 5.5.6 Error: line too long' "$OK" "$BYE" EOF)"

desc "an over-long AUTH response then a real AUTH: the exchange was cancelled, the next one works"
raw --tls "$SM_SMTPS" read 'send:EHLO client.example.net\r\n' read \
	'send:AUTH PLAIN\r\n' read "send:$R12292\r\n" read \
	"send:AUTH PLAIN $(plain "$ALICE" "$ALICE_PW")\r\n" read 'send:QUIT\r\n' read eof
expect_raw "$(L "$GREET" "$EHLO_TLS" '334 ' '500 5.5.6 Error: line too long' \
	'235 2.7.0 Authentication successful' "$BYE" EOF)"

# --- 5. pipelining ------------------------------------------------------------

desc "pipelining: a command in the same write as EHLO gets 554 5.5.0 and the connection closes"
raw "$SM_SMTP" read 'send:EHLO client.example.net\r\nNOOP\r\n' read:2 eof
expect_raw "$(L "$GREET" "$EHLO_CLEAR" "$SYNC" EOF)"
sm_expect_log 'improper command pipelining after EHLO from unknown\[127\.0\.0\.1\]'

desc "pipelining: message data in the same write as DATA (before 354): 554 5.5.0, close, nothing delivered"
before=$(msgs hop)
raw "$SM_SMTP" read 'send:EHLO client.example.net\r\n' read \
	"send:${SENDER}RCPT TO:<early@example.net>\r\nDATA\r\nSubject: early-data\r\n\r\nx\r\n.\r\n" \
	read:3 eof
expect_raw "$(L "$GREET" "$EHLO_CLEAR" "$MAIL_OK" "$RCPT_OK" "$SYNC" EOF)"

desc "pipelining: a command in the same write as HELO (no PIPELINING without EHLO): 554 5.5.0"
raw "$SM_SMTP" read 'send:HELO client.example.net\r\nMAIL FROM:<a@example.org>\r\n' \
	read:2 eof
expect_raw "$(L "$GREET" '250 gate.test' "$SYNC" EOF)"

desc "legal pipelining: MAIL, RCPT, RCPT, DATA in one write; replies in order; the message arrives"
raw "$SM_SMTP" read 'send:EHLO client.example.net\r\n' read \
	"send:${SENDER}RCPT TO:<pipe1@example.net>\r\nRCPT TO:<pipe2@example.net>\r\nDATA\r\n" \
	read:4 'send:Subject: pipelined\r\n\r\nhello\r\n.\r\n' read \
	"send:RSET\r\n${SENDER}RCPT TO:<pipe3@evil.example>\r\nRCPT TO:<pipe3@example.net>\r\nNOOP\r\n" \
	read:5 'send:QUIT\r\n' read eof
expect_raw "$(L "$GREET" "$EHLO_CLEAR" "$MAIL_OK" "$RCPT_OK" "$RCPT_OK" "$GO" "$OK" \
	"$OK" "$MAIL_OK" '554 5.7.1 <pipe3@evil.example>: Relay access denied' \
	"$RCPT_OK" "$OK" "$BYE" EOF)"
desc "legal pipelining: the sink got the message for both recipients"
sm_wait_msgs hop $((before + 1)) || true
expect_eq "<pipe1@example.net>|<pipe2@example.net>" \
	"$(sm_dump_hdr "$(sm_msgs hop | tail -n 1)" X-Rcpt-Args | paste -sd'|')"
desc "pipelining: the early-data message never reached the sink"
expect_eq 0 "$(grep_msgs hop 'early-data')"

desc "AUTH with an initial response may be followed by pipelined commands (RFC 4954 §4)"
raw --tls "$SM_SMTPS" read 'send:EHLO client.example.net\r\n' read \
	"send:AUTH PLAIN $(plain "$ALICE" "$ALICE_PW")\r\n${SENDER}RCPT TO:<user@evil.example>\r\n" \
	read:3 'send:QUIT\r\n' read eof
expect_raw "$(L "$GREET" "$EHLO_TLS" '235 2.7.0 Authentication successful' "$MAIL_OK" \
	"$RCPT_OK" "$BYE" EOF)"

# RFC 4954 §4 (and smtp.md): AUTH ends a pipelined group, except with an
# initial response for a mechanism that completes in one round (PLAIN).
# LOGIN with an initial response still needs a 334: a line sent behind it
# is pipelining the client may not do, not the answer to a 334 not yet sent.
desc "AUTH LOGIN with an initial response, the password pipelined behind it: 554 5.5.0 (not read as the 334 answer)"
raw --tls --timeout 3 "$SM_SMTPS" read 'send:EHLO client.example.net\r\n' read \
	"send:AUTH LOGIN $(b64 "$ALICE")\r\n$(b64 "$ALICE_PW")\r\n" read eof
expect_raw "$(L "$GREET" "$EHLO_TLS" "$SYNC" EOF)"

desc "a response to 334 with a command behind it in the same write: 554 5.5.0"
raw --tls "$SM_SMTPS" read 'send:EHLO client.example.net\r\n' read \
	'send:AUTH PLAIN\r\n' read "send:$(plain "$ALICE" "$ALICE_PW")\r\nNOOP\r\n" read eof
expect_raw "$(L "$GREET" "$EHLO_TLS" '334 ' "$SYNC" EOF)"

# --- 6. AUTH errors (RFC 4954) ------------------------------------------------

desc "AUTH before EHLO: 503 5.5.1"
raw --tls "$SM_SMTPS" read "send:AUTH PLAIN $(plain "$ALICE" "$ALICE_PW")\r\n" read \
	'send:HELO client.example.net\r\n' read "send:AUTH PLAIN $(plain "$ALICE" "$ALICE_PW")\r\n" \
	read 'send:QUIT\r\n' read eof
expect_raw "$(L "$GREET" '503 5.5.1 Error: send EHLO first' '250 gate.test' \
	'503 5.5.1 Error: send EHLO first' "$BYE" EOF)"

desc "AUTH twice: 503 5.5.1; EHLO after AUTH no longer offers AUTH"
raw --tls "$SM_SMTPS" read 'send:EHLO client.example.net\r\n' read \
	"send:AUTH PLAIN $(plain "$ALICE" "$ALICE_PW")\r\n" read \
	"send:AUTH PLAIN $(plain "$BOB" "$BOB_PW")\r\n" read \
	'send:EHLO client.example.net\r\n' read 'send:QUIT\r\n' read eof
expect_raw "$(L "$GREET" "$EHLO_TLS" '235 2.7.0 Authentication successful' \
	'503 5.5.1 Error: already authenticated' "$EHLO_AUTHED" "$BYE" EOF)"

desc "AUTH inside a transaction: 503 5.5.1"
raw "$SM_SMTP" read 'send:EHLO client.example.net\r\n' read 'send:STARTTLS\r\n' read \
	starttls 'send:EHLO client.example.net\r\n' read "send:$SENDER" read \
	"send:AUTH PLAIN $(plain "$ALICE" "$ALICE_PW")\r\n" read 'send:QUIT\r\n' read eof
expect_raw "$(L "$GREET" "$EHLO_CLEAR" '220 2.0.0 Ready to start TLS' "$EHLO_TLS" \
	"$MAIL_OK" '503 5.5.1 Error: MAIL transaction in progress' "$BYE" EOF)"

desc "AUTH cancelled with \"*\" (as the response and as the initial response): 501 5.7.0"
raw --tls "$SM_SMTPS" read 'send:EHLO client.example.net\r\n' read \
	'send:AUTH LOGIN\r\n' read 'send:*\r\n' read 'send:AUTH PLAIN *\r\n' read \
	'send:QUIT\r\n' read eof
expect_raw "$(L "$GREET" "$EHLO_TLS" '334 VXNlcm5hbWU6' '501 5.7.0 Authentication aborted' \
	'501 5.7.0 Authentication aborted' "$BYE" EOF)"

desc "bad base64 (a response, an initial response, '=' inside): 501 5.5.2"
raw --tls "$SM_SMTPS" read 'send:EHLO client.example.net\r\n' read \
	'send:AUTH PLAIN\r\n' read 'send:!!!!\r\n' read 'send:AUTH PLAIN a=b=\r\n' read \
	'send:AUTH LOGIN\r\n' read 'send:YWxpY2U=x\r\n' read 'send:QUIT\r\n' read eof
expect_raw "$(L "$GREET" "$EHLO_TLS" '334 ' '501 5.5.2 Cannot decode response' \
	'501 5.5.2 Cannot decode response' '334 VXNlcm5hbWU6' \
	'501 5.5.2 Cannot decode response' "$BYE" EOF)"

desc "unknown mechanism, no mechanism, and PLAIN/LOGIN before TLS (default noplaintext): 504 5.5.4 / 501 5.5.4"
raw "$SM_SMTP" read 'send:EHLO client.example.net\r\n' read 'send:AUTH FOO-BAR\r\n' read \
	"send:AUTH PLAIN $(plain "$ALICE" "$ALICE_PW")\r\n" read 'send:AUTH LOGIN\r\n' read \
	'send:AUTH ANONYMOUS\r\n' read 'send:AUTH\r\n' read 'send:QUIT\r\n' read eof
expect_raw "$(L "$GREET" "$EHLO_CLEAR" '504 5.5.4 Unsupported authentication mechanism' \
	'504 5.5.4 Unsupported authentication mechanism' \
	'504 5.5.4 Unsupported authentication mechanism' \
	'504 5.5.4 Unsupported authentication mechanism' '501 5.5.4 Syntax: AUTH mechanism' \
	"$BYE" EOF)"

desc "submission port: MAIL without AUTH gets 530 5.7.0"
raw "$SM_SUB" read 'send:EHLO client.example.net\r\n' read "send:$SENDER" read \
	'send:QUIT\r\n' read eof
expect_raw "$(L "$GREET" "$EHLO_CLEAR" '530 5.7.0 Authentication required' "$BYE" EOF)"

desc "submission port: after STARTTLS and AUTH, MAIL and a remote RCPT work"
raw "$SM_SUB" read 'send:EHLO client.example.net\r\n' read 'send:STARTTLS\r\n' read \
	starttls 'send:EHLO client.example.net\r\n' read \
	"send:AUTH PLAIN $(plain "$BOB" "$BOB_PW")\r\n" read "send:$SENDER" read \
	'send:RCPT TO:<user@evil.example>\r\n' read 'send:QUIT\r\n' read eof
expect_raw "$(L "$GREET" "$EHLO_CLEAR" '220 2.0.0 Ready to start TLS' "$EHLO_TLS" \
	'235 2.7.0 Authentication successful' "$MAIL_OK" "$RCPT_OK" "$BYE" EOF)"

desc "MAIL with SIZE over message_size_limit (10240000): 552 5.3.4 at MAIL"
raw "$SM_SMTP" read 'send:EHLO client.example.net\r\n' read \
	'send:MAIL FROM:<sender@example.org> SIZE=10240001\r\n' read \
	'send:MAIL FROM:<sender@example.org> SIZE=10240000\r\n' read 'send:QUIT\r\n' read eof
expect_raw "$(L "$GREET" "$EHLO_CLEAR" '552 5.3.4 Message size exceeds fixed limit' \
	"$MAIL_OK" "$BYE" EOF)"

# --- 10. a client vanishing mid-DATA ------------------------------------------

desc "a client that vanishes in the middle of DATA: 354, then it is gone"
raw "$SM_SMTP" read 'send:EHLO client.example.net\r\n' read \
	"send:${SENDER}RCPT TO:<vanish@example.net>\r\nDATA\r\n" read:3 \
	'send:Subject: vanished-token\r\n\r\nhalf a message\r\n' close
expect_raw "$(L "$GREET" "$EHLO_CLEAR" "$MAIL_OK" "$RCPT_OK" "$GO")"
desc "the gate logged the client's disconnect after DATA"
check wait_log 'disconnect from unknown\[127\.0\.0\.1\] after DATA'
before=$(msgs hop)
desc "the gate keeps serving: the next client's message is delivered"
raw "$SM_SMTP" read 'send:EHLO client.example.net\r\n' read \
	"send:${SENDER}RCPT TO:<after@example.net>\r\nDATA\r\n" read:3 \
	'send:Subject: after-vanish\r\n\r\nwhole\r\n.\r\n' read 'send:QUIT\r\n' read eof
expect_raw "$(L "$GREET" "$EHLO_CLEAR" "$MAIL_OK" "$RCPT_OK" "$GO" "$OK" "$BYE" EOF)"
sm_wait_msgs hop $((before + 1)) || true
desc "the next client's message is at the sink"
expect_eq 1 "$(grep_msgs hop 'Subject: after-vanish')"
desc "nothing of the vanished client's message is at the sink"
expect_eq 0 "$(grep_msgs hop 'vanished-token')"

# --- 9. fail2ban (default syslog_name: the daemon name must be passed) --------

# Failures: PLAIN and LOGIN, wrong password and unknown user; successes
# of both.  Each in its own session on the implicit-TLS port.
auth_failures() {	# PORT: 4 failed, 2 good AUTHs; F2B_FROM marks the log
	F2B_FROM=$(($(sm_log | wc -l) + 1))
	raw --tls "$1" read 'send:EHLO client.example.net\r\n' read \
		"send:AUTH PLAIN $(plain "$ALICE" "$WRONG_PW")\r\n" read \
		"send:AUTH PLAIN $(plain nobody@example.org "$WRONG_PW")\r\n" read \
		'send:AUTH LOGIN\r\n' read "send:$(b64 "$BOB")\r\n" read \
		"send:$(b64 "$WRONG_PW")\r\n" read \
		'send:AUTH LOGIN\r\n' read "send:$(b64 "$ALICE")\r\n" read \
		"send:$(b64 "$BOB_PW")\r\n" read \
		"send:AUTH PLAIN $(plain "$ALICE" "$ALICE_PW")\r\n" read 'send:QUIT\r\n' read eof
	desc "fail2ban: four failed AUTHs (PLAIN, LOGIN) then a good one"
	expect_raw "$(L "$GREET" "$EHLO_TLS" "$FAIL535" "$FAIL535" '334 VXNlcm5hbWU6' \
		'334 UGFzc3dvcmQ6' "$FAIL535" '334 VXNlcm5hbWU6' '334 UGFzc3dvcmQ6' \
		"$FAIL535" '235 2.7.0 Authentication successful' "$BYE" EOF)"
	raw --tls "$1" read 'send:EHLO client.example.net\r\n' read \
		'send:AUTH LOGIN\r\n' read "send:$(b64 "$BOB")\r\n" read \
		"send:$(b64 "$BOB_PW")\r\n" read 'send:QUIT\r\n' read eof
	desc "fail2ban: a good AUTH LOGIN"
	expect_raw "$(L "$GREET" "$EHLO_TLS" '334 VXNlcm5hbWU6' '334 UGFzc3dvcmQ6' \
		'235 2.7.0 Authentication successful' "$BYE" EOF)"
	# The last line is written after the reply: wait for it.
	wait_log 'sasl_method=LOGIN, sasl_username=bob@example.org' || true
}

# syslog_lines NAME - the gate's -d output ("NAME: message") as syslog
# writes it ("Mon dd hh:mm:ss host NAME[pid]: message").  No syslog
# daemon runs in the test environment (no /dev/log), so the lines come
# from -d and are given syslog's prefix here; the message part is the
# daemon's own.
syslog_lines() {
	local name=$1 stamp

	stamp=$(LC_ALL=C date '+%b %e %H:%M:%S')
	sm_log | tail -n +"$F2B_FROM" | while IFS= read -r line; do
		[[ $line == "$name: "* ]] || continue
		printf '%s mailhost %s[%s]: %s\n' "$stamp" "$name" "$SM_PID" \
			"${line#"$name: "}"
	done
}

# f2b_check LOGFILE FILTER - fail2ban-regex: every failure line matches,
# nothing else does.
f2b_check() {
	local file=$1 filter=$2 fails matched

	fails=$(grep -Ec 'SASL (PLAIN|LOGIN) authentication failed' "$file" || true)
	desc "fail2ban: the log holds 4 failure lines (2 PLAIN, 2 LOGIN)"
	expect_eq "4 2 2" "$fails $(grep -c 'SASL PLAIN authentication failed' "$file") $(grep -c 'SASL LOGIN authentication failed' "$file")"
	desc "fail2ban-regex $filter runs"
	expect_rc 0 fail2ban-regex --print-all-matched "$file" "$filter"
	matched=$(sed -n 's/^Lines: [0-9]* lines, [0-9]* ignored, \([0-9]*\) matched.*/\1/p' "$OUT")
	desc "fail2ban-regex $filter matches exactly the 4 failure lines"
	expect_eq 4 "$matched"
	desc "fail2ban-regex $filter: the matched lines are the 4 failures from unknown[127.0.0.1]"
	sed -n '/^|- Matched line(s):$/,/^`-$/p' "$OUT" | grep '^|  ' >"$TMP/.matched" || true
	if [ "$(grep -c '^|  .* warning: unknown\[127\.0\.0\.1\]: SASL \(PLAIN\|LOGIN\) authentication failed: authentication failure$' "$TMP/.matched")" = 4 ] &&
	   [ "$(wc -l <"$TMP/.matched")" = 4 ]; then
		pass
	else
		fail
		diag "$OUT" fail2ban-regex
	fi
	desc "fail2ban-regex $filter: the successful AUTH lines are in the file and missed"
	expect_eq 2 "$(grep -c 'sasl_username=' "$file")"
}

auth_failures "$SM_SMTPS"
syslog_lines authd-smtpd >"$TMP/f2b-default.log"
f2b_check "$TMP/f2b-default.log" 'postfix[mode=auth, _daemon=authd-smtpd]'
desc "fail2ban: the stock filter without _daemon does not match authd-smtpd's default name"
expect_rc 0 fail2ban-regex "$TMP/f2b-default.log" 'postfix[mode=auth]'
expect_out '^Lines: [0-9]+ lines, [0-9]+ ignored, 0 matched'

# --- 7. authd down and back -------------------------------------------------

desc "authd stops (the gate keeps running)"
DOWN_FROM=$(($(sm_log | wc -l) + 1))
stop_authd
expect_eq 0 "$STOP_RC"
desc "authd down: AUTH gets 454 4.7.0"
raw --tls "$SM_SMTPS" read 'send:EHLO client.example.net\r\n' read \
	"send:AUTH PLAIN $(plain "$ALICE" "$ALICE_PW")\r\n" read \
	'send:AUTH LOGIN\r\n' read 'send:QUIT\r\n' read eof
expect_raw "$(L "$GREET" "$EHLO_TLS" '454 4.7.0 Temporary authentication failure' \
	'454 4.7.0 Temporary authentication failure' "$BYE" EOF)"
sm_expect_log 'warning: authd at .*AUTH answers 454 until it is back'
desc "authd down: the 454 is logged, but not as a failure line for fail2ban"
check wait_log 'warning: unknown\[127\.0\.0\.1\]: SASL PLAIN(:| authentication aborted)'
desc "authd down: no \"authentication failed\" line since authd stopped"
expect_eq 0 "$(sm_log | tail -n +"$DOWN_FROM" | grep -Ec 'SASL (PLAIN|LOGIN) authentication failed' || true)"
start_authd
# The gate retries authd at most once a second: within 3 s an AUTH works.
t0=${EPOCHREALTIME/./}
tries=0
while :; do
	tries=$((tries + 1))
	raw --tls "$SM_SMTPS" read 'send:EHLO client.example.net\r\n' read \
		"send:AUTH PLAIN $(plain "$ALICE" "$ALICE_PW")\r\n" read 'send:QUIT\r\n' read eof
	[[ $RAW == *'235 2.7.0'* ]] && break
	[ $(((${EPOCHREALTIME/./} - t0) / 1000)) -gt 5000 ] && break
	sleep 0.1
done
ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
desc "authd back: AUTH works again without restarting the gate ($tries tries, $ms ms)"
expect_raw "$(L "$GREET" "$EHLO_TLS" '235 2.7.0 Authentication successful' "$BYE" EOF)"
desc "authd back within the ~1 s retry (<= 3000 ms after authd was ready)"
check test "$ms" -le 3000
desc "the gate process is the one started before authd went away"
check kill -0 "$SM_PID"
sm_expect_log 'authd at .* is back'

# --- no secret in any log ---------------------------------------------------

for secret in "$ALICE_PW" "$BOB_PW" "$WRONG_PW" "$(plain "$ALICE" "$ALICE_PW")" \
	"$(plain "$ALICE" "$WRONG_PW")" "$(b64 "$BOB_PW")" "$(b64 "$WRONG_PW")" \
	"$(printf '%s' "$(plain "$ALICE" "$ALICE_PW")" | head -c 16)"; do
	desc "no log line of the gate or authd contains \"${secret:0:6}...\""
	if grep -qF -- "$secret" "$SM_LOG" "$LOG"; then
		fail
		grep -F -- "$secret" "$SM_LOG" "$LOG" | head -n 3 | sed 's/^/#     /'
	else
		pass
	fi
done
sm_stop

# ---------------------------------------------------------------------------
# Phase B: 127.0.0.0/8 in mynetworks: the same recipients relay without AUTH.
sm_start -o mynetworks=127.0.0.0/8
relay_battery accept "$SM_SMTP" 'send:EHLO client.example.net\r\n' read
sm_stop

# ---------------------------------------------------------------------------
# Phase C: smtpd_forbid_bare_newline = reject.
sm_start -o smtpd_forbid_bare_newline=reject
before=$(msgs hop)
for ((n = 0; n < ${#SMUGGLE_SEQS[@]}; n++)); do
	seq=${SMUGGLE_SEQS[n]}
	desc "smuggling (reject) ${seq}: 521 5.5.2 after the end of data, and the connection closes"
	raw "$SM_SMTP" read 'send:EHLO client.example.net\r\n' read \
		"send:${SENDER}RCPT TO:<rcpt-r$n@example.net>\r\nDATA\r\n" read:3 \
		"send:$(smuggle_body "r$n" "$seq")" read eof
	expect_raw "$(L "$GREET" "$EHLO_CLEAR" "$MAIL_OK" "$RCPT_OK" "$GO" "$BARE" EOF)"
done
sm_expect_log 'reject: bare <CR> or <LF> in message from unknown\[127\.0\.0\.1\]'
desc "reject: a clean message still goes through"
raw "$SM_SMTP" read 'send:EHLO client.example.net\r\n' read \
	"send:${SENDER}RCPT TO:<clean@example.net>\r\nDATA\r\n" read:3 \
	'send:Subject: clean-after-reject\r\n\r\nfine\r\n..dot\r\n.\r\n' read 'send:QUIT\r\n' read eof
expect_raw "$(L "$GREET" "$EHLO_CLEAR" "$MAIL_OK" "$RCPT_OK" "$GO" "$OK" "$BYE" EOF)"
sm_wait_msgs hop $((before + 1)) || true
desc "reject: the sink got only the clean message (none of the bare-newline ones)"
expect_eq "$((before + 1)) 1 0" \
	"$(msgs hop) $(grep_msgs hop 'clean-after-reject') $(grep_msgs hop 'smuggle-r')"
desc "reject: a command ending in a bare LF gets 521 5.5.2 and the connection closes"
raw "$SM_SMTP" read 'send:EHLO client.example.net\n' read eof
expect_raw "$(L "$GREET" "$BARE" EOF)"
desc "reject: a command with a bare CR inside gets 521 5.5.2"
raw "$SM_SMTP" read 'send:NOOP\rRSET\r\n' read eof
expect_raw "$(L "$GREET" "$BARE" EOF)"
sm_expect_log 'reject: bare <CR> or <LF> in a command from unknown\[127\.0\.0\.1\]'
sm_stop

# ---------------------------------------------------------------------------
# Phase D: smtpd_greet_pause = 1s: a client that talks first is refused.
sm_start -o smtpd_greet_pause=1s
desc "greet pause: input before the greeting gets 554 5.5.0 (no 220) and the connection closes"
raw "$SM_SMTP" 'send:EHLO client.example.net\r\n' read eof
expect_raw "$(L "$SYNC" EOF)"
sm_expect_log 'PREGREET [0-9]+ after the connection from unknown\[127\.0\.0\.1\]'
desc "greet pause: a client that waits gets the greeting and is served"
raw "$SM_SMTP" read 'send:EHLO client.example.net\r\n' read 'send:QUIT\r\n' read eof
expect_raw "$(L "$GREET" "$EHLO_CLEAR" "$BYE" EOF)"
sm_stop

# ---------------------------------------------------------------------------
# Phase E: the limits.
sm_start -o smtpd_recipient_limit=3 -o smtpd_hard_error_limit=3 \
	-o smtpd_client_connection_count_limit=2 -o message_size_limit=65536 \
	-o text_line_limit=1000
EHLO_SMALL=${EHLO_CLEAR/SIZE 10240000/SIZE 65536}
desc "smtpd_recipient_limit = 3: the 4th RCPT gets 452 4.5.3"
raw "$SM_SMTP" read 'send:EHLO client.example.net\r\n' read "send:$SENDER" read \
	'send:RCPT TO:<r1@example.net>\r\n' read 'send:RCPT TO:<r2@example.net>\r\n' read \
	'send:RCPT TO:<r3@example.net>\r\n' read 'send:RCPT TO:<r4@example.net>\r\n' read \
	'send:QUIT\r\n' read eof
expect_raw "$(L "$GREET" "$EHLO_SMALL" "$MAIL_OK" "$RCPT_OK" "$RCPT_OK" "$RCPT_OK" \
	'452 4.5.3 Error: too many recipients' "$BYE" EOF)"

desc "smtpd_hard_error_limit = 3: the third error is followed by 421 4.7.0 and the close"
raw "$SM_SMTP" read 'send:EHLO client.example.net\r\n' read 'send:FOO\r\n' read \
	'send:RCPT TO:<x@example.net>\r\n' read 'send:BAR\r\n' read:2 eof
expect_raw "$(L "$GREET" "$EHLO_SMALL" '502 5.5.2 Error: command not recognized' \
	'503 5.5.1 Error: need MAIL command' '502 5.5.2 Error: command not recognized' \
	'421 4.7.0 gate.test Error: too many errors' EOF)"
sm_expect_log 'too many errors after [^ ]+ from unknown\[127\.0\.0\.1\]'

desc "message_size_limit = 65536: MAIL SIZE=65537 gets 552 5.3.4, SIZE=65536 is accepted"
raw "$SM_SMTP" read 'send:EHLO client.example.net\r\n' read \
	'send:MAIL FROM:<sender@example.org> SIZE=65537\r\n' read \
	'send:MAIL FROM:<sender@example.org> SIZE=65536\r\n' read 'send:QUIT\r\n' read eof
expect_raw "$(L "$GREET" "$EHLO_SMALL" '552 5.3.4 Message size exceeds fixed limit' \
	"$MAIL_OK" "$BYE" EOF)"

desc "message_size_limit = 65536: a 70000-byte message without SIZE gets 552 5.3.4 after the dot"
before=$(msgs hop)
{
	printf 'Subject: too-big-token\r\n\r\n'
	for ((i = 0; i < 700; i++)); do printf '%098d\r\n' "$i"; done
	printf '.\r\n'
} >"$TMP/big.msg"
raw "$SM_SMTP" read 'send:EHLO client.example.net\r\n' read \
	"send:${SENDER}RCPT TO:<big@example.net>\r\nDATA\r\n" read:3 "sendfile:$TMP/big.msg" \
	read 'send:NOOP\r\n' read 'send:QUIT\r\n' read eof
expect_raw "$(L "$GREET" "$EHLO_SMALL" "$MAIL_OK" "$RCPT_OK" "$GO" \
	'552 5.3.4 Error: message file too big' "$OK" "$BYE" EOF)"

desc "text_line_limit = 1000: a 1000-byte line passes, a 1001-byte one gets 554 5.6.0 after the dot"
{
	printf 'Subject: line-ok-token\r\n\r\n%01000d\r\n.\r\n' 0
} >"$TMP/line-ok.msg"
{
	printf 'Subject: line-long-token\r\n\r\n%01001d\r\n.\r\n' 0
} >"$TMP/line-long.msg"
raw "$SM_SMTP" read 'send:EHLO client.example.net\r\n' read \
	"send:${SENDER}RCPT TO:<lines@example.net>\r\nDATA\r\n" read:3 "sendfile:$TMP/line-ok.msg" \
	read "send:${SENDER}RCPT TO:<lines@example.net>\r\nDATA\r\n" read:3 \
	"sendfile:$TMP/line-long.msg" read 'send:QUIT\r\n' read eof
expect_raw "$(L "$GREET" "$EHLO_SMALL" "$MAIL_OK" "$RCPT_OK" "$GO" "$OK" \
	"$MAIL_OK" "$RCPT_OK" "$GO" '554 5.6.0 Error: message line longer than 1000 bytes' \
	"$BYE" EOF)"
desc "the 1000-byte line reached the sink, the 1001-byte one did not"
for ((i = 0; i < 40; i++)); do
	[ "$(grep_msgs hop 'line-ok-token')" = 1 ] && break
	sleep 0.05
done
expect_eq "1 0" "$(grep_msgs hop 'line-ok-token') $(grep_msgs hop 'line-long-token')"

# Two connections held open (each waits 4 s before QUIT); the third is
# refused at once.
for k in 1 2; do
	timeout 30 python3 "$RAWPY" 127.0.0.1 "$SM_SMTP" read sleep:4 'send:QUIT\r\n' read eof \
		>"$TMP/held$k" 2>&1 &
	eval "HELD$k=\$!"
done
for ((i = 0; i < 100; i++)); do
	[ -s "$TMP/held1" ] && [ -s "$TMP/held2" ] && break
	sleep 0.05
done
desc "smtpd_client_connection_count_limit = 2: the third concurrent connection gets 421 4.7.0"
raw "$SM_SMTP" read eof
expect_raw "$(L '421 4.7.0 Error: too many connections from your address' EOF)"
sm_expect_log 'warning: Connection concurrency limit exceeded: 3 from unknown\[127\.0\.0\.1\]'
wait "$HELD1" "$HELD2" || true
desc "the two held connections were served normally"
expect_eq "$(L "$GREET" "$BYE" EOF "$GREET" "$BYE" EOF)" "$(cat "$TMP/held1" "$TMP/held2")"
desc "once they are gone, a new connection is served"
raw "$SM_SMTP" read 'send:QUIT\r\n' read eof
expect_raw "$(L "$GREET" "$BYE" EOF)"
desc "the oversized message never reached the sink"
expect_eq 0 "$(grep_msgs hop 'too-big-token')"
sm_stop

# ---------------------------------------------------------------------------
# Phase F: smtpd_timeout = 1s.
sm_start -o smtpd_timeout=1s
desc "smtpd_timeout = 1s: an idle client gets 421 4.4.2 and the close"
t0=${EPOCHREALTIME/./}
raw --timeout 6 "$SM_SMTP" read 'send:EHLO client.example.net\r\n' read eof
ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
expect_raw "$(L "$GREET" "$EHLO_CLEAR" '421 4.4.2 gate.test Error: timeout exceeded' EOF)"
desc "smtpd_timeout = 1s: the close came after about a second ($ms ms)"
check test "$ms" -ge 900 -a "$ms" -le 4000
sm_expect_log 'timeout after EHLO from unknown\[127\.0\.0\.1\]'
sm_stop

# ---------------------------------------------------------------------------
# Phase G: smtpd_tls_auth_only = yes.
sm_start -o smtpd_tls_auth_only=yes
desc "smtpd_tls_auth_only: no AUTH in EHLO before STARTTLS, AUTH gets 530 5.7.0; after STARTTLS AUTH is offered and works"
raw "$SM_SMTP" read 'send:EHLO client.example.net\r\n' read \
	"send:AUTH PLAIN $(plain "$ALICE" "$ALICE_PW")\r\n" read 'send:STARTTLS\r\n' read \
	starttls 'send:EHLO client.example.net\r\n' read \
	"send:AUTH PLAIN $(plain "$ALICE" "$ALICE_PW")\r\n" read 'send:QUIT\r\n' read eof
expect_raw "$(L "$GREET" "$EHLO_CLEAR" '530 5.7.0 Must issue a STARTTLS command first' \
	'220 2.0.0 Ready to start TLS' "$EHLO_TLS" '235 2.7.0 Authentication successful' \
	"$BYE" EOF)"
sm_stop

# ---------------------------------------------------------------------------
# Phase H: syslog_name = postfix-authd/smtpd: the stock filter, unchanged.
sm_start -o syslog_name=postfix-authd/smtpd
auth_failures "$SM_SMTPS"
syslog_lines postfix-authd/smtpd >"$TMP/f2b-postfix.log"
f2b_check "$TMP/f2b-postfix.log" 'postfix[mode=auth]'
sm_stop

# ---------------------------------------------------------------------------
# Phase I: a crash takes one worker's sessions, never the service.  The
# supervisor (the pid sm_start knows) restarts a worker that dies of a
# signal; SIGABRT stands in for a bug (panic() aborts; SIGSEGV would make
# the sanitizer build write a report of its own), SIGKILL for the OOM
# killer.
workers() {	# the supervisor's children, one per line
	pgrep -P "$SM_PID" | sort
}
sm_start -o worker_processes=2
desc "worker_processes = 2: the supervisor runs two workers"
for ((i = 0; i < 100; i++)); do
	[ "$(workers | wc -l)" = 2 ] && break
	sleep 0.05
done
expect_eq 2 "$(workers | wc -l)"
for sig in ABRT KILL; do
	before=$(workers)
	victim=$(head -n 1 <<<"$before")
	kill -"$sig" "$victim"
	for ((i = 0; i < 100; i++)); do
		now=$(workers)
		[ "$(wc -l <<<"$now")" = 2 ] && ! grep -qx "$victim" <<<"$now" && break
		sleep 0.05
	done
	desc "SIG$sig to worker $victim: a new worker replaces it"
	check test "$(wc -l <<<"$now")" = 2 -a -z "$(grep -x "$victim" <<<"$now" || true)"
	sm_expect_log "warning: worker $victim died of signal [0-9]+ \\(.*\\); its sessions are lost, starting a new one"
	desc "after SIG$sig, sessions are served (several, so both workers take some)"
	for k in 1 2 3 4; do
		raw --tls "$SM_SMTPS" read 'send:EHLO client.example.net\r\n' read \
			"send:AUTH PLAIN $(plain "$ALICE" "$ALICE_PW")\r\n" read \
			'send:QUIT\r\n' read eof
		expect_raw "$(L "$GREET" "$EHLO_TLS" '235 2.7.0 Authentication successful' \
			"$BYE" EOF)"
	done
done
desc "SIGTERM to the supervisor stops it (status 0) and both workers"
last=$(workers)
sm_stop
expect_eq 0 "$SM_STOP_RC"
alive=
for p in $last; do
	kill -0 "$p" 2>/dev/null && alive="$alive $p"
done
expect_eq "" "$alive"

finish
