#!/bin/bash
# smtpd_outbound.sh - authd-smtpd relaying through a provider's smarthost
# that requires SMTP AUTH (issue 10, outbound half): a private Postfix
# with smtpd_sasl_type = dovecot on authd's auth socket plays the
# provider; the gate takes its credentials from a password map
# (smtp_sasl_password_maps) and authenticates with each mechanism the
# filter allows, over TLS where PLAIN and LOGIN need it.  Also: a wrong
# map password is a 4xx for the client and nothing is lost; a fake next
# hop that cannot prove it knows the password (SCRAM) gets no mail; TLS
# level "verify" checks the chain and the name; the map must be 0600.
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"
source "$SRCDIR/tests/interop/pflib.sh"
source "$SRCDIR/tests/interop/smtpd_lib.sh"

pf_init
sm_init
PFPORT=$(free_port)
FAKEPORT=$(free_port)

write_dconf "socket_group = postfix" \
	"auth_mechanisms = plain login cram-md5 digest-md5 scram-sha-1 scram-sha-256" \
	"digest_md5_realms = example.org"
RELAY_PW='Relay pw:with spaces'
add_user relay@example.org "$RELAY_PW" -m all
start_authd

# The provider: a certificate naming 127.0.0.1 (for "verify").
PCERT=$TMP/provider.pem
PKEY=$TMP/provider.key
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=mx.example.org -days 2 \
	-addext "subjectAltName=DNS:mx.example.org,IP:127.0.0.1" \
	-keyout "$PKEY" -out "$PCERT" 2>/dev/null
chmod 644 "$PKEY"
pf_main_cf "smtpd_sasl_type = dovecot" "smtpd_sasl_path = $ASOCK" \
	"smtpd_tls_cert_file = $PCERT" "smtpd_tls_key_file = $PKEY" \
	"smtpd_tls_security_level = may" \
	"smtpd_sasl_tls_security_options = noanonymous"
pf_master_cf "127.0.0.1:$PFPORT inet n - n - - smtpd" \
	"tlsmgr unix - - n 1000? 1 tlsmgr"
pf_start "$PFPORT"

MAP=$TMP/sasl_passwd
HOP="[127.0.0.1]:$PFPORT"
HOP_RE="\\[127\\.0\\.0\\.1\\]:$PFPORT"
printf '# the provider\n%s  relay@example.org:%s\n' "$HOP" "$RELAY_PW" >"$MAP"
chmod 600 "$MAP"

MSG=$TMP/msg.txt
printf 'Subject: outbound-%s\r\n\r\nvia the provider\r\n.\r\n' token >"$MSG"
# A client in mynetworks sends one message; the gate relays it through
# the provider.  Prints the replies.
send_one() {
	sm_chat "$SM_SMTP" "EHLO client.example" "MAIL FROM:<alice@example.org>" \
		"RCPT TO:<friend@remote.example>" "DATA" "@$MSG" "QUIT"
}
pf_log_count() {	# lines of Postfix's log matching the ERE
	grep -Ec -- "$1" "$PF/maillog" 2>/dev/null || true
}

# --- every mechanism the filter allows, against the real Postfix ---
for m in SCRAM-SHA-256 SCRAM-SHA-1 DIGEST-MD5 CRAM-MD5 PLAIN LOGIN; do
	before=$(pf_log_count "sasl_method=$m, sasl_username=relay@example.org")
	sm_conf "next_hop = $HOP" "mynetworks = 127.0.0.0/8" \
		"next_hop_tls_security_level = encrypt" \
		"smtp_sasl_auth_enable = yes" "smtp_sasl_password_maps = $MAP" \
		"smtp_sasl_mechanism_filter = $m"
	sm_start
	desc "$m over TLS: the message is relayed through the provider"
	send_one >"$OUT" 2>&1
	expect_out '^250 2\.0\.0 Ok: queued as'
	sm_expect_log "next hop $HOP_RE: authenticated with $m as relay@example\\.org"
	desc "$m: the provider's smtpd logged the login"
	for ((i = 0; i < 40; i++)); do
		[ "$(pf_log_count "sasl_method=$m, sasl_username=relay@example.org")" -gt "$before" ] && break
		sleep 0.1
	done
	check test "$(pf_log_count "sasl_method=$m, sasl_username=relay@example.org")" -gt "$before"
	sm_stop
done

desc "PLAIN without TLS is refused by default: 451 4.7.0, nothing sent to the provider"
before=$(pf_log_count "sasl_method=PLAIN")
sm_conf "next_hop = $HOP" "mynetworks = 127.0.0.0/8" \
	"next_hop_tls_security_level = none" \
	"smtp_sasl_auth_enable = yes" "smtp_sasl_password_maps = $MAP" \
	"smtp_sasl_mechanism_filter = plain"
sm_start
send_one >"$OUT" 2>&1
expect_out '^451 4\.7\.0 next hop \[127\.0\.0\.1\]:[0-9]+: no AUTH mechanism we may use without TLS'
expect_eq "$before" "$(pf_log_count "sasl_method=PLAIN")"
sm_stop

desc "the preference order: SCRAM-SHA-256 first when the filter allows all"
sm_conf "next_hop = $HOP" "mynetworks = 127.0.0.0/8" \
	"next_hop_tls_security_level = encrypt" \
	"smtp_sasl_auth_enable = yes" "smtp_sasl_password_maps = $MAP"
sm_start
send_one >"$OUT" 2>&1
expect_out '^250 2\.0\.0 Ok: queued as'
sm_expect_log "authenticated with SCRAM-SHA-256 as relay@example.org"
sm_stop

# --- a wrong password in the map: a 4xx, never a bounce ---
WRONG=$TMP/sasl_wrong
printf '%s  relay@example.org:not-the-password\n' "$HOP" >"$WRONG"
chmod 600 "$WRONG"
sm_conf "next_hop = $HOP" "mynetworks = 127.0.0.0/8" \
	"next_hop_tls_security_level = encrypt" \
	"smtp_sasl_auth_enable = yes" "smtp_sasl_password_maps = $WRONG" \
	"smtp_sasl_mechanism_filter = cram-md5"
sm_start
desc "a wrong map password: the client gets 451 4.7.0 (it keeps the message)"
send_one >"$OUT" 2>&1
expect_out '^451 4\.7\.0 next hop \[127\.0\.0\.1\]:[0-9]+: CRAM-MD5 authentication as relay@example\.org refused: 535'
desc "the refusal is logged with the next hop and mechanism, never the password"
sm_expect_log "CRAM-MD5 authentication as relay@example.org refused"
sm_expect_no_log 'not-the-password'
# The admin fixes the map and sends SIGHUP: the supervisor (still root)
# reads it again, new workers use it, the old ones finish.
printf '%s  relay@example.org:%s\n' "$HOP" "$RELAY_PW" >"$WRONG"
old_workers=$(pgrep -P "$SM_PID" | sort)
kill -HUP "$SM_PID"
sm_expect_log 'SIGHUP: configuration reloaded from'
desc "after the map is fixed and SIGHUP, the same daemon relays"
for ((i = 0; i < 50; i++)); do
	send_one >"$OUT" 2>&1
	grep -q '^250 2\.0\.0 Ok: queued as' "$OUT" && break
	sleep 0.1
done
expect_out '^250 2\.0\.0 Ok: queued as'
desc "the old workers finished and new ones serve"
for ((i = 0; i < 50; i++)); do
	[ -z "$(comm -12 <(pgrep -P "$SM_PID" | sort) <(echo "$old_workers"))" ] && break
	sleep 0.1
done
expect_eq "" "$(comm -12 <(pgrep -P "$SM_PID" | sort) <(echo "$old_workers"))"
check test -n "$(pgrep -P "$SM_PID")"
desc "a reload with a broken map keeps the running configuration"
chmod 644 "$WRONG"
kill -HUP "$SM_PID"
sm_expect_log 'SIGHUP: .*readable by its owner only.*keeping the running configuration'
send_one >"$OUT" 2>&1
expect_out '^250 2\.0\.0 Ok: queued as'
chmod 600 "$WRONG"
sm_stop

# --- a next hop that cannot prove it knows the password ---
FLOG=$TMP/fake.log
: >"$FLOG"
for mode in badsig nosig; do
	python3 "$SRCDIR/tests/interop/smtp_fake_scram.py" "$FAKEPORT" "$FLOG" "$mode" &
	FAKE_PID=$!
	at_exit "kill $FAKE_PID 2>/dev/null"
	sm_wait_port "$FAKEPORT"
	printf '[127.0.0.1]:%s  relay@example.org:%s\n' "$FAKEPORT" "$RELAY_PW" >"$TMP/fakemap"
	chmod 600 "$TMP/fakemap"
	sm_conf "next_hop = [127.0.0.1]:$FAKEPORT" "mynetworks = 127.0.0.0/8" \
		"next_hop_tls_security_level = none" \
		"smtp_sasl_auth_enable = yes" "smtp_sasl_password_maps = $TMP/fakemap" \
		"smtp_sasl_mechanism_filter = scram-sha-256"
	sm_start
	desc "SCRAM against a next hop that cannot prove itself ($mode): 451 4.7.0, no MAIL sent"
	send_one >"$OUT" 2>&1
	expect_out '^451 4\.7\.0 next hop \[127\.0\.0\.1\]:[0-9]+: SCRAM-SHA-256: the server (failed to prove|said 235 without proving)'
	expect_eq 0 "$(grep -c '^MAIL' "$FLOG" || true)"
	sm_stop
	kill "$FAKE_PID" 2>/dev/null || true
	wait "$FAKE_PID" 2>/dev/null || true
done

# --- TLS "verify" ---
desc "verify: the provider's certificate chains to smtp_tls_CAfile and names 127.0.0.1"
sm_conf "next_hop = $HOP" "mynetworks = 127.0.0.0/8" \
	"next_hop_tls_security_level = verify" "smtp_tls_CAfile = $PCERT" \
	"smtp_sasl_auth_enable = yes" "smtp_sasl_password_maps = $MAP"
sm_start
send_one >"$OUT" 2>&1
expect_out '^250 2\.0\.0 Ok: queued as'
sm_stop
desc "verify against another CA: 451 4.7.5, nothing sent"
sm_conf "next_hop = $HOP" "mynetworks = 127.0.0.0/8" \
	"next_hop_tls_security_level = verify" "smtp_tls_CAfile = $SM_CERT" \
	"smtp_sasl_auth_enable = yes" "smtp_sasl_password_maps = $MAP"
sm_start
send_one >"$OUT" 2>&1
expect_out '^451 4\.7\.5 next hop \[127\.0\.0\.1\]:[0-9]+: TLS handshake failed'
sm_expect_log 'certificate verify failed|unable to get local issuer|self.signed'
sm_stop

# --- the password map's own checks ---
desc "a password map others may read is refused at start"
chmod 640 "$MAP"
sm_conf "next_hop = $HOP" "smtp_sasl_auth_enable = yes" "smtp_sasl_password_maps = $MAP"
expect_rc 1 "$AUTHD_SMTPD" -c "$SM_CONF" -t
expect_err "smtp_sasl_password_maps: .*readable by its owner only"
chmod 600 "$MAP"
desc "a map without an entry for the next hop is refused at start, naming it"
printf '[other.example]:587  u:p\n' >"$TMP/othermap"
chmod 600 "$TMP/othermap"
sm_conf "next_hop = $HOP" "smtp_sasl_auth_enable = yes" \
	"smtp_sasl_password_maps = $TMP/othermap"
expect_rc 1 "$AUTHD_SMTPD" -c "$SM_CONF" -t
expect_err "no \"user:password\" for \[127\.0\.0\.1\]:$PFPORT"
desc "the host alone, with brackets, is found too (as Postfix looks it up)"
printf '[127.0.0.1]  relay@example.org:%s\n' "$RELAY_PW" >"$TMP/hostmap"
chmod 600 "$TMP/hostmap"
sm_conf "next_hop = $HOP" "mynetworks = 127.0.0.0/8" \
	"next_hop_tls_security_level = encrypt" \
	"smtp_sasl_auth_enable = yes" "smtp_sasl_password_maps = $TMP/hostmap"
sm_start
send_one >"$OUT" 2>&1
expect_out '^250 2\.0\.0 Ok: queued as'
sm_stop
desc "no log line of either daemon holds the password"
check test -z "$(grep -F "$RELAY_PW" "$SM_LOG" "$LOG" || true)"
finish
