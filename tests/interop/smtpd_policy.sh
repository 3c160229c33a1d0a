#!/bin/bash
# smtpd_policy.sh - authd-smtpd's check_policy_service (Postfix's policy
# delegation) against a scripted policy server (tests/unit/policy_fake.py)
# and the real policyd-spf (Debian's postfix-policyd-spf-python), and its
# reject_rbl_client / reject_rhsbl_sender against a DNS stub
# (tests/unit/dns_stub.py): every verdict as the client sees it, the
# server down (the default action), a look-up that times out (neither a
# reject nor a hang).
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"
source "$SRCDIR/tests/interop/smtpd_lib.sh"

sm_init
write_dconf
start_authd
sm_sink hop 127.0.0.1:"$SM_HOP"
FAKE=$SRCDIR/tests/unit/policy_fake.py
PSOCK=$TMP/policy.sock
python3 "$FAKE" script "$PSOCK" >"$TMP/fake.out" 2>&1 &
FAKE_PID=$!
at_exit "kill $FAKE_PID 2>/dev/null"
for ((i = 0; i < 100; i++)); do [ -S "$PSOCK" ] && break; sleep 0.05; done
chmod 666 "$PSOCK"
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
rcpt_for() {	# the recipient whose local part makes the fake answer $1
	printf 'reply-%s@example.net' "$(hex "$1")"
}
chat_rcpt() {	# one RCPT from a stranger; prints the RCPT's reply
	sm_chat "$SM_SMTP" "EHLO client.example" "MAIL FROM:<s@remote.example>" \
		"RCPT TO:<$1>" "QUIT" | sed -n '/^250 2\.1\.0/{n;p;q}'
}

sm_conf "smtpd_recipient_restrictions = check_policy_service unix:$PSOCK" \
	"smtpd_policy_service_timeout = 2s"
sm_start
r=$(rcpt_for $'action=REJECT not today\n\n')
desc "REJECT text: 554 5.7.1 <rcpt>: Recipient address rejected: text"
expect_eq "554 5.7.1 <$r>: Recipient address rejected: not today" "$(chat_rcpt "$r")"
# (a local part holds 64 bytes: 29 bytes of reply at most)
r=$(rcpt_for $'action=450 4.2.0 greylisted\n\n')
desc "a 4NN code with text: the client gets it (greylisting)"
expect_eq "450 4.2.0 <$r>: Recipient address rejected: greylisted" "$(chat_rcpt "$r")"
r=$(rcpt_for $'action=DEFER_IF_PERMIT x\n\n')
desc "DEFER_IF_PERMIT: the lists end in a permit, so the defer holds"
expect_eq "450 4.7.1 <$r>: Recipient address rejected: x" "$(chat_rcpt "$r")"
desc "DUNNO: the next hop's answer"
expect_eq "250 2.1.5 Ok" "$(chat_rcpt dunno@example.net)"
desc "PREPEND: the header is in the message the next hop gets"
sm_chat "$SM_SMTP" "EHLO client.example" "MAIL FROM:<s@remote.example>" \
	"RCPT TO:<echo-helo_name@example.net>" "DATA" "@$SRCDIR/tests/interop/smtpd_policy.msg" \
	"QUIT" >"$OUT" 2>&1
expect_out '^250 2\.0\.0 Ok'
sm_wait_msgs hop 1 || true
check grep -q '^X-Echo: client.example' "$(sm_msgs hop | tail -n 1)"
desc "the policy server down: the default action, 451 4.3.5"
kill "$FAKE_PID"
wait "$FAKE_PID" 2>/dev/null || true
rm -f "$PSOCK"
expect_eq "451 4.3.5 <dunno@example.net>: Recipient address rejected: Server configuration problem" "$(chat_rcpt dunno@example.net)"
sm_stop

# --- the real policyd-spf, through the fake's exec mode ---
if command -v policyd-spf >/dev/null; then
	printf 'debugLevel = 0\nTestOnly = 1\nHELO_reject = Fail\nMail_From_reject = Fail\nskip_addresses = 127.0.0.0/8,::ffff:127.0.0.0/104,::1\n' >"$TMP/spf.conf"
	SSOCK=$TMP/spf.sock
	python3 "$FAKE" exec "$SSOCK" policyd-spf "$TMP/spf.conf" >"$TMP/spf.out" 2>&1 &
	SPF_PID=$!
	at_exit "kill $SPF_PID 2>/dev/null"
	for ((i = 0; i < 100; i++)); do [ -S "$SSOCK" ] && break; sleep 0.05; done
	chmod 666 "$SSOCK"
	sm_conf "smtpd_recipient_restrictions = check_policy_service unix:$SSOCK" \
		"mynetworks = 127.0.0.0/8"
	sm_start
	desc "policyd-spf: a local client is not checked, and says so in a header it PREPENDs"
	before=$(sm_msgs hop | wc -l)
	sm_chat "$SM_SMTP" "EHLO client.example" "MAIL FROM:<s@remote.example>" \
		"RCPT TO:<x@remote.example>" "DATA" "@$SRCDIR/tests/interop/smtpd_policy.msg" \
		"QUIT" >"$OUT" 2>&1
	expect_out '^250 2\.0\.0 Ok'
	sm_wait_msgs hop $((before + 1)) || true
	check grep -q '^X-Comment: SPF check N/A for local connections' "$(sm_msgs hop | tail -n 1)"
	gate_says=$(grep -m 1 '^X-Comment: ' "$(sm_msgs hop | tail -n 1)" | tr -d '\r')
	sm_stop

	# The same server behind Postfix, in the same run: the same verdict.
	source "$SRCDIR/tests/interop/pflib.sh"
	pf_init
	PFPORT=$(free_port)
	printf '/^(X-Comment: .*)/ WARN $1\n' >"$PF/conf/hc"
	pf_main_cf "mynetworks = 127.0.0.0/8" \
		"smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination" \
		"smtpd_recipient_restrictions = check_policy_service unix:$SSOCK" \
		"header_checks = regexp:$PF/conf/hc"
	pf_master_cf "127.0.0.1:$PFPORT inet n - n - - smtpd"
	pf_start "$PFPORT"
	sm_chat "$PFPORT" "EHLO client.example" "MAIL FROM:<s@remote.example>" \
		"RCPT TO:<x@remote.example>" "DATA" "@$SRCDIR/tests/interop/smtpd_policy.msg" \
		"QUIT" >"$OUT" 2>&1
	desc "Postfix with the same policyd-spf accepts the same message"
	expect_out '^250 2\.0\.0 Ok: queued as'
	for ((i = 0; i < 50; i++)); do
		grep -q 'warning: header X-Comment: ' "$PF/maillog" 2>/dev/null && break
		sleep 0.1
	done
	postfix_says=$(sed -n 's/.*warning: header \(X-Comment: .*\) from localhost.*/\1/p' \
		"$PF/maillog" | head -n 1)
	desc "and policyd-spf gave Postfix the same PREPEND as the gate"
	check test -n "$gate_says"
	# (policyd-spf ends the value with a blank, which Postfix keeps and
	# the gate trims.)
	expect_eq "$gate_says" "${postfix_says% }"
else
	echo "ok # SKIP policyd-spf not installed (postfix-policyd-spf-python)"
fi
# --- DNS lists against a stub resolver ---
python3 "$SRCDIR/tests/unit/dns_stub.py" \
	"1.0.0.127.bl.test=A:127.0.0.2,TXT:listed here" \
	"evil.example.rhs.test=A:127.0.0.2,TXT:bad domain" \
	"1.0.0.127.slow.test=silent" >"$TMP/dns.out" 2>&1 &
DNS_PID=$!
at_exit "kill $DNS_PID 2>/dev/null"
for ((i = 0; i < 100; i++)); do [ -s "$TMP/dns.out" ] && break; sleep 0.05; done
DNSPORT=$(head -n 1 "$TMP/dns.out")
rbl_conf() {	# the restriction list, then more LINEs
	local list=$1

	shift
	sm_conf "smtpd_client_restrictions = $list" \
		"dns_resolver = 127.0.0.1:$DNSPORT" "rbl_lookup_timeout = 1s" "$@"
}
rbl_conf "reject_rbl_client bl.test"
sm_start
desc "reject_rbl_client: a listed client gets 554 5.7.1 with the list's TXT"
expect_eq "554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using bl.test; listed here" \
	"$(chat_rcpt rcpt@example.net)"
sm_expect_log 'NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.1\]: 554 5\.7\.1 Service unavailable; Client host \[127\.0\.0\.1\] blocked using bl\.test'
sm_stop
rbl_conf "reject_rbl_client bl.test=127.0.0.3"
sm_start
desc "reject_rbl_client zone=127.0.0.3: another A record is no hit"
expect_eq "250 2.1.5 Ok" "$(chat_rcpt rcpt@example.net)"
sm_stop
rbl_conf "reject_rhsbl_sender rhs.test"
sm_start
desc "reject_rhsbl_sender: a listed sender domain gets 554 5.7.1; another does not"
got=$(sm_chat "$SM_SMTP" "EHLO client.example" "MAIL FROM:<x@evil.example>" \
	"RCPT TO:<rcpt@example.net>" "RSET" "MAIL FROM:<x@good.example>" \
	"RCPT TO:<rcpt@example.net>" "QUIT" | grep -E '^(554|250 2\.1\.5)')
expect_eq "554 5.7.1 Service unavailable; Sender address [evil.example] blocked using rhs.test; bad domain
250 2.1.5 Ok" "$got"
sm_stop
rbl_conf "reject_rbl_client slow.test"
sm_start
desc "a list that does not answer: skipped after rbl_lookup_timeout, never a hang"
t0=${EPOCHREALTIME/./}
expect_eq "250 2.1.5 Ok" "$(chat_rcpt rcpt@example.net)"
ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
check test "$ms" -ge 900 -a "$ms" -le 5000
sm_stop
rbl_conf "reject_rbl_client slow.test" "rbl_lookup_failure = defer"
sm_start
desc "rbl_lookup_failure = defer: a 4xx instead"
expect_eq "451 4.7.1 Service unavailable; slow.test look-up failed, try again later" \
	"$(chat_rcpt rcpt@example.net)"
sm_stop
desc "a zone that is no domain is refused at start"
rbl_conf "reject_rbl_client bl..test"
expect_rc 1 "$AUTHD_SMTPD" -c "$SM_CONF" -t
expect_err 'reject_rbl_client "bl\.\.test" is not a DNS zone'
finish
