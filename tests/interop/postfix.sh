#!/bin/bash
# A private Postfix smtpd (smtpd_sasl_type = cyrus, pwcheck_method:
# saslauthd) authenticating against authd; swaks as the SMTP client, AUTH
# PLAIN and LOGIN.  Everything under the test's temporary directory; the
# private Postfix is stopped at exit.
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"
source "$SRCDIR/tests/interop/pflib.sh"

command -v swaks >/dev/null || { echo "Bail out! swaks not found (install swaks)"; exit 1; }
pf_init
PORT=$(free_port)

# authd: the socket must be reachable by smtpd (user postfix).
write_dconf "socket_group = postfix"
add_user alice@example.org 'Alice-Smtp1'
add_user bob@other.org 'Bob-Smtp2'
start_authd

# Debian's Postfix looks in $config_directory/sasl (and ignores
# cyrus_sasl_config_path); upstream uses cyrus_sasl_config_path: both are
# this directory.
cat >"$PF/conf/sasl/smtpd.conf" <<EOF
pwcheck_method: saslauthd
saslauthd_path: $SOCK
mech_list: PLAIN LOGIN
EOF

pf_main_cf "smtpd_sasl_type = cyrus" \
	"smtpd_sasl_path = smtpd" \
	"cyrus_sasl_config_path = $PF/conf/sasl" \
	"smtpd_sasl_local_domain = example.org"
pf_master_cf "127.0.0.1:$PORT inet n - n - - smtpd"
pf_start "$PORT"


desc "EHLO advertises AUTH PLAIN and LOGIN (libsasl2 got its mechanisms)"
expect_rc 0 sw --quit-after EHLO
expect_out '250-AUTH( (PLAIN|LOGIN)){2}'

desc "AUTH PLAIN with alice's password: accepted, and the mail is relayed"
expect_rc 0 sw --auth PLAIN --auth-user alice --auth-password 'Alice-Smtp1'
expect_out '235 2\.7\.0 Authentication successful'
expect_out '250 2\.0\.0 Ok: queued'
expect_log 'user=alice@example\.org service=smtp client=- result=ok'

desc "AUTH PLAIN with a wrong password: 535, swaks exit 28"
expect_rc 28 sw --auth PLAIN --auth-user alice --auth-password 'Alice-Smtp1-x'
expect_out '535 5\.7\.8 Error: authentication failed'
expect_log 'user=alice@example\.org service=smtp client=- result=fail reason="wrong password"'

desc "AUTH LOGIN with alice's password: accepted"
expect_rc 0 sw --auth LOGIN --auth-user alice --auth-password 'Alice-Smtp1'
expect_out '235 2\.7\.0 Authentication successful'

desc "AUTH LOGIN with a wrong password: 535"
expect_rc 28 sw --auth LOGIN --auth-user alice --auth-password 'nope'
expect_out '535 5\.7\.8'

desc "AUTH PLAIN as alice@example.org: accepted"
expect_rc 0 sw --auth PLAIN --auth-user alice@example.org --auth-password 'Alice-Smtp1' --quit-after AUTH
expect_out '235 '

desc "AUTH PLAIN as bob@other.org (not smtpd_sasl_local_domain): accepted"
expect_rc 0 sw --auth PLAIN --auth-user bob@other.org --auth-password 'Bob-Smtp2' --quit-after AUTH
expect_out '235 '

desc "AUTH PLAIN as bob (the local domain example.org is appended): refused"
expect_rc 28 sw --auth PLAIN --auth-user bob --auth-password 'Bob-Smtp2' --quit-after AUTH
expect_log 'user=bob@example\.org service=smtp .*reason="unknown user"'

desc "AUTH PLAIN as an unknown user: refused with the same 535"
expect_rc 28 sw --auth PLAIN --auth-user nobody-here --auth-password 'Alice-Smtp1' --quit-after AUTH
expect_out '535 5\.7\.8 Error: authentication failed'

desc "without AUTH, relaying is refused (the SASL result is what matters)"
expect_rc 24 sw
expect_out '554 5\.7\.1'

desc "a password with spaces and UTF-8 over AUTH PLAIN"
add_user uni@example.org 'späce ünd ütf-8'
expect_rc 0 sw --auth PLAIN --auth-user uni --auth-password 'späce ünd ütf-8' --quit-after AUTH

# authd stopped: smtpd must answer a temporary failure, not hang.
stop_authd
_now_us
t0=$_NOW
desc "with authd stopped, AUTH fails (4xx or 535) without hanging"
expect_rc 28 sw --auth PLAIN --auth-user alice --auth-password 'Alice-Smtp1' --quit-after AUTH
_now_us
check_ms 0 10000 $(((_NOW - t0) / 1000)) "the AUTH failure came promptly"
expect_out '(454 4\.7\.0|535 5\.7\.8)'

# And back: a new authd on the same socket serves the running smtpd.
start_authd
desc "after authd restarts, the running smtpd authenticates again"
expect_rc 0 sw --auth PLAIN --auth-user alice --auth-password 'Alice-Smtp1' --quit-after AUTH

desc "no password of the session in authd's log"
check bash -c '! grep -Eq "Alice-Smtp|Bob-Smtp|ütf-8" "$1"' _ "$LOG"
desc "Postfix logged no SASL or fatal errors for the successful logins"
check bash -c '! grep -Eq "fatal:|panic:" "$1"' _ "$PF/maillog"
finish
