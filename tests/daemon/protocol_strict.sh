#!/bin/bash
# The auth socket's strictness at its edges (issue 9), against a real
# authd -d: a line ending in CRLF is read as Dovecot reads it (the CR is
# not part of the line), and a request whose id cannot be answered -- 0,
# over 4294967295, not canonical decimal, missing -- closes the connection
# (Dovecot: "sent broken AUTH request") instead of leaving the client to
# wait for an answer that never comes; SCRAM junk after r= fails, and a
# CRAM-MD5 digest in upper-case hex is accepted (authd(8) says why).
# Every wait is bounded.
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"

T=$'\t'
PB64=UGFzc3dvcmQ6	# "Password:"

like() {
	if [[ $3 =~ $2 ]]; then
		pass "$1"
	else
		fail "$1"
		echo "#   got:  ${3//$'\t'/<T>}"
	fi
}

is() {
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1"
		echo "#   want: ${2//$'\t'/<T>}"
		echo "#   got:  ${3//$'\t'/<T>}"
	fi
}

write_dconf "auth_mechanisms = plain login cram-md5 scram-sha-256"
add_user alice@example.org 'Alice-Pw1' -m all
start_authd

# --- CRLF -----------------------------------------------------------------
authp open c
authp send c "AUTH${T}1${T}PLAIN${T}service=smtp${T}resp=$(plain_b64 alice Alice-Pw1)\\r"
authp read c 3
is "AUTH ending in CRLF: the CR is not part of resp= (OK)" \
	"OK${T}1${T}user=alice@example.org${T}original_user=alice" "$(ap_val line)"
authp send c "AUTH${T}2${T}LOGIN${T}service=smtp\\r"
authp read c 3
authp send c "CONT${T}2${T}$(printf alice | base64)\\r"
authp read c 3
is "CONT ending in CRLF: its base64 is read without the CR (Password:)" \
	"CONT${T}2${T}$PB64" "$(ap_val line)"
authp send c "CONT${T}2${T}$(printf Alice-Pw1 | base64)\\r"
authp read c 3
is "... and the exchange ends in OK" \
	"OK${T}2${T}user=alice@example.org${T}original_user=alice" "$(ap_val line)"
authp send c "AUTH${T}3${T}LOGIN${T}service=smtp\\r"
authp read c 3
authp send c "CANCEL${T}3\\r"
authp send c "AUTH${T}3${T}PLAIN${T}service=smtp${T}resp=$(plain_b64 alice Alice-Pw1)"
authp read c 3
is "CANCEL ending in CRLF cancels (the id can be used again)" \
	"OK${T}3${T}user=alice@example.org${T}original_user=alice" "$(ap_val line)"
authp send c "AUTH${T}4${T}PLAIN${T}service=smtp${T}resp=$(plain_b64 alice Alice-Pw1)\\r\\r"
authp read c 3
is "only one CR is taken off: a second one leaves resp= bad base64 (FAIL)" \
	"FAIL${T}4${T}code=invalid_base64" "$(ap_val line)"
authp close c

authp open v none
authp send v "VERSION${T}1${T}2\\r"
authp send v "CPID${T}4242\\r"
authp send v "AUTH${T}1${T}PLAIN${T}service=smtp${T}resp=$(plain_b64 alice Alice-Pw1)\\r"
authp read v 3
is "a client that ends every line (VERSION, CPID, AUTH) in CRLF is served" \
	"OK${T}1${T}user=alice@example.org${T}original_user=alice" "$(ap_val line)"
authp close v

# --- ids that cannot be answered ----------------------------------------------
# bad_id DESC LINE - LINE on a fresh connection: the server closes it at
# once, without a reply (a FAIL would name an id the client did not send).
bad_id() {
	local d=$1 line=$2

	authp open b
	authp send b "$line"
	authp eof b 3
	is "$d: the connection is closed, no reply, no wait" "yes 0" \
		"$(ap_val eof) $(ap_val extra)"
	authp close b
}
R=$(plain_b64 alice Alice-Pw1)
bad_id "AUTH id 0" "AUTH${T}0${T}PLAIN${T}service=smtp${T}resp=$R"
expect_log 'auth: AUTH with an invalid request id "0": closing'
bad_id "AUTH id 4294967296 (2^32)" "AUTH${T}4294967296${T}PLAIN${T}service=smtp${T}resp=$R"
bad_id "AUTH id 99999999999999999999999 (over any integer)" \
	"AUTH${T}99999999999999999999999${T}PLAIN${T}service=smtp${T}resp=$R"
bad_id "AUTH id 007 (leading zeros)" "AUTH${T}007${T}PLAIN${T}service=smtp${T}resp=$R"
expect_log 'auth: AUTH with an invalid request id "007": closing'
bad_id "AUTH id +1" "AUTH${T}+1${T}PLAIN${T}service=smtp${T}resp=$R"
bad_id "AUTH id -1" "AUTH${T}-1${T}PLAIN${T}service=smtp${T}resp=$R"
bad_id "AUTH id empty" "AUTH${T}${T}PLAIN${T}service=smtp${T}resp=$R"
bad_id "AUTH id ' 1' (a space)" "AUTH${T} 1${T}PLAIN${T}service=smtp${T}resp=$R"
bad_id "AUTH id 1x" "AUTH${T}1x${T}PLAIN${T}service=smtp${T}resp=$R"
bad_id "AUTH id 0x10 (hex)" "AUTH${T}0x10${T}PLAIN${T}service=smtp${T}resp=$R"
bad_id "AUTH without an id" "AUTH"
bad_id "AUTH id 0 with too many parameters" \
	"AUTH${T}0${T}PLAIN${T}service=smtp$(printf "${T}x=%s" $(seq 70))"
bad_id "CONT id 0" "CONT${T}0${T}$(printf alice | base64)"
bad_id "CONT id 4294967296" "CONT${T}4294967296${T}$(printf alice | base64)"
bad_id "CONT without an id" "CONT"
bad_id "CANCEL id -1" "CANCEL${T}-1"
bad_id "CANCEL id 01" "CANCEL${T}01"
expect_log 'auth: CANCEL with an invalid request id "01": closing'

# The largest id is fine, and ids are answered as the client wrote them.
authp open m
authp send m "AUTH${T}4294967295${T}PLAIN${T}service=smtp${T}resp=$R"
authp read m 3
is "AUTH id 4294967295 (2^32-1) is served" \
	"OK${T}4294967295${T}user=alice@example.org${T}original_user=alice" \
	"$(ap_val line)"

# Two requests in flight, then a broken id: the connection goes (the
# client program is broken), the daemon and other connections do not.
authp open o
authp send o "AUTH${T}1${T}LOGIN${T}service=smtp"
authp read o 3
authp send m "AUTH${T}7${T}LOGIN${T}service=smtp"
authp read m 3
authp send m "AUTH${T}0${T}LOGIN${T}service=smtp"
authp eof m 3
is "a broken id after a request in flight: the connection is closed" yes "$(ap_val eof)"
authp send o "CONT${T}1${T}$(printf alice | base64)"
authp read o 3
authp send o "CONT${T}1${T}$(printf Alice-Pw1 | base64)"
authp read o 3
is "... another connection's request in flight completes" \
	"OK${T}1${T}user=alice@example.org${T}original_user=alice" "$(ap_val line)"
authp close o
authp close m

# --- mechanism data at its edges ----------------------------------------------
# CRAM-MD5: RFC 2195 says lower-case hex; authd compares the decoded bytes,
# so upper case works too (documented in authd(8); Dovecot refuses it).
authp open k
authp run k 1 CRAM-MD5 alice@example.org Alice-Pw1
is "CRAM-MD5 with the digest in lower-case hex: OK" \
	"OK${T}1${T}user=alice@example.org" "$(ap_val result)"
authp run k 2 CRAM-MD5 alice@example.org Alice-Pw1 hexupper=1
is "CRAM-MD5 with the digest in upper-case hex: OK (the same 16 bytes)" \
	"OK${T}2${T}user=alice@example.org" "$(ap_val result)"
# SCRAM: after r= only "," extensions (RFC 5802 §7).
authp send k "AUTH${T}3${T}SCRAM-SHA-256${T}service=smtp${T}resp=$(printf 'n,,n=alice,r=abcdefgh,junk' | base64 -w0)"
authp read k 3
like_fail() {
	if [[ $2 =~ ^FAIL${T}$1(${T}|$) ]]; then pass "$3"; else
		fail "$3"; echo "#   got: ${2//$'\t'/<T>}"; fi
}
like_fail 3 "$(ap_val line)" "SCRAM client-first with junk after r=nonce: FAIL"
authp send k "AUTH${T}4${T}SCRAM-SHA-256${T}service=smtp${T}resp=$(printf 'n,,n=alice,r=abcdefgh,' | base64 -w0)"
authp read k 3
like_fail 4 "$(ap_val line)" "SCRAM client-first with a trailing ',' after r=nonce: FAIL"
authp send k "AUTH${T}5${T}SCRAM-SHA-256${T}service=smtp${T}resp=$(printf 'n,,n=alice,r=abcdefgh,x=ext' | base64 -w0)"
authp read k 3
like "SCRAM client-first with a well-formed extension after the nonce: server-first" \
	"^CONT${T}5${T}" "$(ap_val line)"
authp close k

desc "authd is still running after every broken id"
check kill -0 "$AUTHD_PID"
finish
