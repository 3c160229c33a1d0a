#!/bin/bash
# smtpd_config.sh - authd-smtpd's configuration checks (-t): every error
# names the file, the line and the key, and the open-relay guard refuses
# lists that would relay for anyone.  No ports are bound (-t stops before).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
: "${AUTHD_SMTPD:?AUTHD_SMTPD must name the authd-smtpd binary}"

C=$TMP/smtpd.conf
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 2 \
	-keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null
base() {	# a good configuration, then LINE...
	{
		echo "user = nobody"
		echo "smtp_listen = 127.0.0.1:2525"
		echo "next_hop = 127.0.0.1:2526"
		printf '%s\n' "$@"
	} >"$C"
}
st() { "$AUTHD_SMTPD" -c "$C" -t "$@"; }

desc "a minimal configuration checks out"
base
expect_rc 0 st
expect_out "configuration OK"

desc "no listener at all is refused"
printf 'user = nobody\nnext_hop = 127.0.0.1:2526\n' >"$C"
expect_rc 1 st
expect_err "no listener: set smtp_listen, submission_listen or smtps_listen"

desc "no next hop is refused"
printf 'user = nobody\nsmtp_listen = 127.0.0.1:25\n' >"$C"
expect_rc 1 st
expect_err "next_hop \\(default\\): no next hop"

desc "an unknown key names its line"
base "frobnicate = 1"
expect_rc 1 st
expect_err "smtpd.conf:4: unknown key \"frobnicate\""

# The open-relay guard (Postfix's): it names the line and the key.
desc "permit before reject_unauth_destination is refused, naming line and key"
base "smtpd_relay_restrictions = permit_mynetworks, permit, reject_unauth_destination"
expect_rc 1 st
expect_err "smtpd.conf:4: smtpd_relay_restrictions: \"permit\" \\(word 2\\) comes before reject_unauth_destination"
desc "lists without any guard are refused"
base "smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated"
expect_rc 1 st
expect_err "would relay mail for anyone"
desc "the guard may sit in smtpd_recipient_restrictions"
base "smtpd_relay_restrictions = permit_mynetworks" \
	"smtpd_recipient_restrictions = permit_sasl_authenticated, reject_unauth_destination"
expect_rc 0 st
desc "an unconditional reject is a guard too"
base "smtpd_relay_restrictions = permit_sasl_authenticated, reject"
expect_rc 0 st
desc "-o overrides are checked the same way"
base
expect_rc 1 st -o "smtpd_relay_restrictions=permit"
expect_err "would relay mail for anyone|comes before"
desc "an unknown restriction is refused"
base "smtpd_recipient_restrictions = permit_everybody"
expect_rc 1 st
expect_err "smtpd.conf:4: smtpd_recipient_restrictions: .*permit_everybody"

desc "a map that cannot be read is refused"
base "smtpd_sender_restrictions = check_sender_access $TMP/nosuch.map"
expect_rc 1 st
expect_err "smtpd.conf:4: smtpd_sender_restrictions: .*nosuch.map"
desc "a bad map line names the map's file and line"
printf 'example.org OK\nbad\n' >"$TMP/bad.map"
base "smtpd_sender_restrictions = check_sender_access $TMP/bad.map"
expect_rc 1 st
expect_err "bad.map:2"

desc "a listener that is not address:port is refused"
base "submission_listen = mail.example.org:587"
expect_rc 1 st
expect_err "smtpd.conf:4: submission_listen: \"mail.example.org:587\" is not a numeric address:port"
desc "IPv6 listeners need brackets"
base "submission_listen = ::1:587"
expect_rc 1 st
base "submission_listen = [::1]:587"
expect_rc 0 st

desc "smtps without a certificate is refused"
base "smtps_listen = 127.0.0.1:465"
expect_rc 1 st
expect_err "implicit TLS needs smtpd_tls_cert_file"
desc "a certificate without its key is refused"
base "smtpd_tls_cert_file = $TMP/cert.pem"
expect_rc 1 st
expect_err "set both smtpd_tls_cert_file and smtpd_tls_key_file"
desc "a key that does not match is refused"
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=other -days 2 \
	-keyout "$TMP/key2.pem" -out "$TMP/cert2.pem" 2>/dev/null
base "smtpd_tls_cert_file = $TMP/cert.pem" "smtpd_tls_key_file = $TMP/key2.pem"
expect_rc 1 st
expect_err "mismatch|does not match"
desc "a matching certificate and key check out"
base "smtpd_tls_cert_file = $TMP/cert.pem" "smtpd_tls_key_file = $TMP/key.pem" \
	"smtps_listen = 127.0.0.1:465"
expect_rc 0 st

desc "a bad mynetworks word is named"
base "mynetworks = 10.0.0.0/8, 300.1.2.3"
expect_rc 1 st
expect_err "smtpd.conf:4: mynetworks: \"300.1.2.3\""
desc "an unknown SASL security option is refused"
base "smtpd_sasl_security_options = noanonymous, nofun"
expect_rc 1 st
expect_err "unknown option \"nofun\""
desc "an AUTH line limit under RFC 4954's 12288 is refused"
base "smtpd_sasl_response_limit = 1000"
expect_rc 1 st
desc "text_line_limit under RFC 5321's 998 (but not 0) is refused"
base "text_line_limit = 500"
expect_rc 1 st
expect_err "smtpd.conf:4: text_line_limit: 0 \\(no limit\\) or at least 998"
base "text_line_limit = 998"
expect_rc 0 st
desc "a next hop that does not resolve is refused"
base
sed -i 's/^next_hop = .*/next_hop = no-such-host.invalid:25/' "$C"
expect_rc 1 st
expect_err "next_hop"
desc "a relative relay domain with a bad character is refused"
base "relay_domains = exa_mple..org"
expect_rc 1 st
expect_err "is not a domain"

desc "the shipped example (contrib/smtpd.conf.example) checks out, given a certificate"
expect_rc 0 "$AUTHD_SMTPD" -t -c "$SRCDIR/contrib/smtpd.conf.example" -o user=nobody \
	-o smtpd_tls_cert_file="$TMP/cert.pem" -o smtpd_tls_key_file="$TMP/key.pem"
expect_out "configuration OK"

desc "a bad command line exits 2"
expect_rc 2 "$AUTHD_SMTPD" -x
expect_rc 2 "$AUTHD_SMTPD" -c "$C" -o novalue

# A background start that fails in the worker (after the fork: the chroot
# is entered there) says why on the terminal and leaves no pid file
# (daemon/proc.c, shared with authd).  Binds a port: root only.
if [ "$(id -u)" = 0 ]; then
	port=$((20000 + RANDOM % 20000))
	base "pid_file = $TMP/smtpd.pid" "chroot = $TMP/no-such-root" \
		"auth_socket = $TMP/auth"
	sed -i "s/^smtp_listen = .*/smtp_listen = 127.0.0.1:$port/" "$C"
	desc "background start, the worker cannot chroot: the parent exits 1"
	expect_rc 1 timeout 10 "$AUTHD_SMTPD" -c "$C"
	desc "... and prints the worker's reason on its standard error"
	expect_err "^authd-smtpd: chroot $TMP/no-such-root: No such file or directory\$"
	desc "... and leaves no pid file"
	check test ! -e "$TMP/smtpd.pid"
fi
finish
