#!/bin/bash
# The mux socket's handling of malformed and borderline requests, row by
# row against the saslauthd 2.1.28 table (docs: mux-protocol.md), with
# authd's own limit of 1024 bytes per field (proto/mux.h).
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"

write_dconf
P256=$(printf 'p%.0s' {1..256})
# crypt(3) takes at most 511 bytes (see long_password.sh for 1024).
P511=$(printf 'q%.0s' {1..511})
add_user alice@example.org secret1
add_user long256@example.org "$P256"
add_user long511@example.org "$P511"
start_authd

# expect_mux WANT-LINE ACTION... - one raw exchange; its output has WANT.
expect_mux() {
	local want=$1

	shift
	_take_desc "mux $* -> $want"
	local d=$_D
	mux "$@"
	if grep -qxF -- "$want" <<<"$MUX_OUT"; then
		pass "$d"
	else
		fail "$d"
		echo "#   output: ${MUX_OUT//$'\n'/ | }"
	fi
}

# mux_value KEY - a key=value of the last exchange ("" if absent).
mux_value() {
	sed -n "s/^$1=//p" <<<"$MUX_OUT" | head -n 1
}

alive() {
	desc "authd is still running and answering after: $1"
	timed_auth alice secret1
	if kill -0 "$AUTHD_PID" 2>/dev/null && [ "$AUTH_RC" = 0 ]; then
		pass
	else
		fail
		echo "#   authd-test: exit $AUTH_RC: $AUTH_OUT"
	fi
}

# --- the well-formed baseline, byte-exact -------------------------------
desc "a valid request with the right password gets exactly OK"
expect_mux "reply=[OK]" f:alice f:secret1 f:imap f:example.org read
desc "a valid request with a wrong password gets exactly NO"
expect_mux "reply=[NO]" f:alice f:wrong f:imap f:example.org read

# --- empty login / password ----------------------------------------------
desc "login of length 0: the reply text is exactly 'NO NULL login received'"
expect_mux "reply=[NO NULL login received]" f: f:secret1 f:imap f:example.org read
desc "password of length 0: the reply text is exactly 'NO NULL password received'"
expect_mux "reply=[NO NULL password received]" f:alice f: f:imap f:example.org read
desc "login and password both empty: the login is reported"
expect_mux "reply=[NO NULL login received]" f: f: f: f: read
desc "empty service and realm are fine (realm from default_realm)"
expect_mux "reply=[OK]" f:alice f:secret1 f: f: read

# --- over-long fields: "NO " at once, connection closed --------------------
for pos in login password service realm; do
	case $pos in
	login) pre=() ;;
	password) pre=(f:alice) ;;
	service) pre=(f:alice f:secret1) ;;
	realm) pre=(f:alice f:secret1 f:imap) ;;
	esac
	desc "a $pos field of 1025 bytes: reply exactly 'NO ' (trailing space)"
	expect_mux "reply=[NO ]" "${pre[@]}" F:1025 read eof:3
	desc "... and the server closes the connection at once"
	ms=$(mux_value eof_ms)
	if [ -n "$ms" ] && [ "$ms" -lt 1000 ]; then pass; else
		fail; echo "#   output: ${MUX_OUT//$'\n'/ | }"; fi
done

# Only the length announces the problem: the server must answer without
# waiting for (or reading) the 4000 bytes it announced.
desc "a length header of 4000 with only 10 of its bytes sent: 'NO ' without waiting for the rest"
expect_mux "reply=[NO ]" f:alice h:4000 b:10 read:3 eof:3
desc "... the reply came at once (< 500 ms), not after a timeout"
ms=$(mux_value reply_ms)
if [ -n "$ms" ] && [ "$ms" -lt 500 ]; then pass; else fail; echo "#   ${MUX_OUT//$'\n'/ | }"; fi
desc "... and the connection is closed (EOF < 1 s)"
ms=$(mux_value eof_ms)
if [ -n "$ms" ] && [ "$ms" -lt 1000 ]; then pass; else fail; echo "#   ${MUX_OUT//$'\n'/ | }"; fi
desc "a login length of 65535 (the wire maximum): 'NO '"
expect_mux "reply=[NO ]" h:65535 read:3
desc "a huge announced field followed by a flood: the server closes instead of reading it all"
# 200 kB after a refused header: the server's close must end the exchange
# (a send error or an EOF), never a hang.
MUX_OUT=$(timeout 10 python3 "$MUXPY" "$SOCK" h:65535 b:200000 read:3 eof:3 2>&1) && rc=0 || rc=$?
if [ "$rc" = 0 ] && grep -Eq '^(send_error=|reply=\[NO \])' <<<"$MUX_OUT"; then pass; else
	fail; echo "#   rc=$rc output: ${MUX_OUT//$'\n'/ | }"; fi
alive "over-long fields"

# --- the limit itself: 1024 and 256 bytes are accepted ----------------------
desc "a password of 511 bytes is accepted (OK for the user who has it)"
expect_mux "reply=[OK]" f:long511 "f:$P511" f:imap f:example.org read
desc "a password of 512 bytes (over crypt(3)'s limit) gets a plain NO without a check"
expect_mux "reply=[NO]" f:long511 "f:${P511}q" f:imap f:example.org read
expect_log 'user=long511@example\.org .*reason="password longer than 511 bytes"'
desc "a wrong password of exactly 1024 bytes gets a plain NO (not 'NO ')"
expect_mux "reply=[NO]" f:alice F:1024:z f:imap f:example.org read
desc "a login of exactly 1024 bytes gets an answer: NO (no such user)"
expect_mux "reply=[NO]" F:1024:u f:secret1 f:imap f:example.org read
desc "a service of exactly 1024 bytes is accepted (OK)"
expect_mux "reply=[OK]" f:alice f:secret1 F:1024:s f:example.org read
desc "a realm of exactly 1024 bytes gets an answer: NO (no such realm)"
expect_mux "reply=[NO]" f:alice f:secret1 f:imap F:1024:r read
desc "all four fields of 1024 bytes in one request get an answer"
expect_mux "reply=[NO]" F:1024:a F:1024:b F:1024:c F:1024:d read
desc "a password of 256 bytes (saslauthd's limit) is accepted (OK)"
expect_mux "reply=[OK]" f:long256 "f:$P256" f:imap f:example.org read
desc "a login of 256 bytes gets an answer (NO: longer than a user name may be)"
expect_mux "reply=[NO]" F:256:u f:secret1 f:imap f:example.org read
alive "1024-byte fields"

# --- EOF in the middle ---------------------------------------------------------
desc "EOF inside the login's length header: no reply, connection closed"
expect_mux "reply=<eof>" b:1 shutwr read:3
desc "EOF in the middle of the login: no reply, connection closed"
expect_mux "reply=<eof>" h:10 b:3 shutwr read:3
desc "EOF in the middle of the realm: no reply, connection closed"
expect_mux "reply=<eof>" f:alice f:secret1 f:imap h:11 b:5 shutwr read:3
desc "EOF after three complete fields: no reply, connection closed"
expect_mux "reply=<eof>" f:alice f:secret1 f:imap shutwr read:3
desc "a client that closes after half a field leaves the server healthy"
expect_mux "reply=<eof>" h:10 b:3 shutwr read:3
alive "EOF in the middle"

# --- five fields (client_addr) -------------------------------------------------
desc "5 fields in one write (client_addr 192.0.2.7;4242): OK"
expect_mux "reply=[OK]" f:alice f:secret1 f:imap f:example.org "f:192.0.2.7;4242" read
expect_log 'user=alice@example\.org service=imap client=192\.0\.2\.7;4242 result=ok'
desc "5 fields, wrong password: NO, the address is logged"
expect_mux "reply=[NO]" f:alice f:bad5 f:pop f:example.org "f:192.0.2.7;4242" read
expect_log 'user=alice@example\.org service=pop client=192\.0\.2\.7;4242 result=fail'
desc "a client_addr with a space, quotes and a newline is logged escaped"
expect_mux "reply=[OK]" f:alice f:secret1 f:smtp f:example.org $'f:10.0.0.1 "x"\nforged=1' read
expect_log 'service=smtp client=10\.0\.0\.1\\x20\\x22x\\x22\\x0aforged=1 result=ok'
expect_no_log '^forged=1'
desc "an empty 5th field is the same as none (client=-)"
expect_mux "reply=[OK]" f:alice f:secret1 f:sieve f:example.org f: read
expect_log 'service=sieve client=- result=ok'
desc "a 5th field whose length is over the limit is ignored: the 4 fields are answered"
expect_mux "reply=[OK]" f:alice f:secret1 f:imap f:example.org h:5000 b:10 read
desc "the 5th field arriving only after the reply: the client still has its OK"
expect_mux "reply=[OK]" f:alice f:secret1 f:imap f:example.org read "f:192.0.2.8;1" send eof:3
desc "... and the server closed that connection (no hang)"
if grep -q '^eof_ms=' <<<"$MUX_OUT"; then pass; else fail; echo "#   ${MUX_OUT//$'\n'/ | }"; fi
desc "the 5th field arriving while the check runs (after the 4 fields): NO still delivered"
expect_mux "reply=[NO]" f:alice f:late5 f:imap f:example.org send "f:192.0.2.9;2" read eof:3
alive "5-field clients"

# --- a 4-field client that neither half-closes nor sends more -----------------
desc "a 4-field client that keeps the connection open gets OK"
expect_mux "reply=[OK]" f:alice f:secret1 f:imap f:example.org read:5 sleep:0.2
desc "... immediately (well under 1 s: the server does not wait for a 5th field)"
ms=$(mux_value reply_ms)
if [ -n "$ms" ] && [ "$ms" -lt 300 ]; then pass "reply in ${ms} ms"; else fail; echo "#   ${MUX_OUT//$'\n'/ | }"; fi
desc "a 4-field client with a wrong password gets NO within the failure delay"
expect_mux "reply=[NO]" f:alice f:nope f:imap f:example.org read:5
ms=$(mux_value reply_ms)
desc "... in well under 1 s (${ms:-?} ms)"
if [ -n "$ms" ] && [ "$ms" -lt 700 ]; then pass; else fail; fi

# --- a client that streams bytes after its request ---------------------------
desc "bytes after the request up to one request's worth are dropped: NO still delivered"
expect_mux "reply=[NO]" f:alice f:nope2 f:imap f:example.org send b:4000 read
desc "more than one request's worth: the connection is closed, no reply (the loop does not keep reading it)"
expect_mux "reply=<eof>" f:alice f:nope3 f:imap f:example.org send b:200000 read
expect_log 'mux: more than 5130 bytes after the request: closing'

desc "the daemon logged the refused over-long fields"
check grep -q 'field longer than 1024 bytes, refused' "$LOG"
desc "no password of the session appears in the log"
check bash -c '! grep -Eq "secret1|bad5|late5|nope|nope2|nope3|qqqqqqqq|pppppppp" "$1"' _ "$LOG"
alive "the whole session"
finish
