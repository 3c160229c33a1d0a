#!/bin/bash
# A private Postfix smtpd (smtpd_sasl_type = cyrus, pwcheck_method:
# saslauthd) authenticating against authd; swaks as the SMTP client, AUTH
# PLAIN and LOGIN.  Everything under the test's temporary directory; the
# private Postfix is stopped at exit.
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"

for p in postfix swaks postconf; do
	command -v "$p" >/dev/null ||
		{ echo "Bail out! $p not found (install postfix and swaks)"; exit 1; }
done
getent passwd postfix >/dev/null || { echo "Bail out! no postfix user"; exit 1; }

PF=$TMP/pf
mkdir -p "$PF/conf/sasl" "$PF/queue" "$PF/data"
chown postfix "$PF/data"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

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

cat >"$PF/conf/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $PF/queue
data_directory = $PF/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.example.org
mydomain = example.org
myorigin = example.org
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
maillog_file = $PF/maillog
maillog_file_prefixes = $TMP
default_transport = discard
relay_transport = discard
local_transport = discard
alias_maps =
alias_database =
local_recipient_maps =
biff = no
smtpd_tls_security_level = none
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = $PF/conf/sasl
smtpd_sasl_local_domain = example.org
smtpd_sasl_security_options = noanonymous
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_recipient_restrictions = permit_sasl_authenticated, reject
EOF

cat >"$PF/conf/master.cf" <<EOF
127.0.0.1:$PORT inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
discard   unix  - - n - - discard
error     unix  - - n - - error
retry     unix  - - n - - error
showq     unix  n - n - - showq
postlog   unix-dgram n - n - 1 postlogd
EOF

pf_stop() {
	postfix -c "$PF/conf" stop >/dev/null 2>&1
	local pid i
	pid=$(tr -d ' ' <"$PF/queue/pid/master.pid" 2>/dev/null || true)
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		for ((i = 0; i < 40; i++)); do
			kill -0 "$pid" 2>/dev/null || return 0
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
	fi
	return 0
}
at_exit pf_stop

desc "the private Postfix starts"
expect_rc 0 postfix -c "$PF/conf" start
# Wait (10 s at most) for smtpd's port.
listening=no
for ((i = 0; i < 100; i++)); do
	if python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$PORT" 2>/dev/null; then
		listening=yes
		break
	fi
	sleep 0.1
done
desc "the private smtpd listens on 127.0.0.1:$PORT"
expect_eq yes "$listening"
if [ "$listening" != yes ]; then
	diag "$PF/maillog" maillog
	echo "Bail out! the private Postfix did not start"
	exit 1
fi

# sw ARGS... - swaks against the private smtpd, output to $OUT.
sw() {
	timeout 30 swaks --server "127.0.0.1:$PORT" --helo client.example.net \
		--from sender@example.org --to rcpt@example.net "$@"
}

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
