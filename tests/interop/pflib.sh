# pflib.sh - a private Postfix for the interop tests.  Sourced after
# tests/daemon/dlib.sh, not run.  Everything lives under $TMP/pf; Postfix
# is stopped at exit.  See reference/anchors.md, "Running a private
# Postfix for tests", for why each piece is there.
#
#   pf_init                  check postfix, make $PF's directories
#   free_port                an unused loopback TCP port
#   pf_main_cf [LINE...]     main.cf: the common base (discard transports,
#                            log file, no TLS, SASL on) plus LINE...
#   pf_master_cf LINE...     master.cf: the smtpd LINE(s), then the
#                            services every Postfix needs
#   pf_start PORT...         start it and wait (10 s) until every PORT
#                            listens; bails out with the maillog if not
#   sw [--port P] ARGS...    swaks against the server on $PORT (or P),
#                            as client.example.net, sender@example.org to
#                            rcpt@example.net (also used for Exim)

pf_init() {
	command -v postfix >/dev/null && command -v postconf >/dev/null ||
		{ echo "Bail out! postfix not found (install postfix)"; exit 1; }
	getent passwd postfix >/dev/null || { echo "Bail out! no postfix user"; exit 1; }
	PF=$TMP/pf
	mkdir -p "$PF/conf/sasl" "$PF/queue" "$PF/data"
	chown postfix "$PF/data"
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pf_main_cf() {
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
smtpd_sasl_security_options = noanonymous
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_recipient_restrictions = permit_sasl_authenticated, reject
EOF
	printf '%s\n' "$@" >>"$PF/conf/main.cf"
}

pf_master_cf() {
	{
		printf '%s\n' "$@"
		cat <<EOF
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
	} >"$PF/conf/master.cf"
}

pf_stop() {
	local pid kids i

	pid=$(tr -d ' ' <"$PF/queue/pid/master.pid" 2>/dev/null || true)
	postfix -c "$PF/conf" stop >/dev/null 2>&1
	[ -n "$pid" ] || return 0
	for ((i = 0; i < 40; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	# The master did not stop: it and its children (by pid, nothing else).
	kids=$(ps -o pid= --ppid "$pid" 2>/dev/null || true)
	# shellcheck disable=SC2086
	kill -KILL "$pid" $kids 2>/dev/null
	return 0
}

pf_start() {
	local listening=no i

	at_exit pf_stop
	desc "the private Postfix starts"
	expect_rc 0 postfix -c "$PF/conf" start
	for ((i = 0; i < 100; i++)); do
		if python3 -c 'import socket,sys
for p in sys.argv[1:]: socket.create_connection(("127.0.0.1", int(p)), 1).close()' \
			"$@" 2>/dev/null; then
			listening=yes
			break
		fi
		sleep 0.1
	done
	desc "the private smtpd listens on 127.0.0.1 port(s) $*"
	expect_eq yes "$listening"
	if [ "$listening" != yes ]; then
		diag "$PF/maillog" maillog
		echo "Bail out! the private Postfix did not start"
		exit 1
	fi
}

sw() {
	local port=$PORT

	if [ "${1:-}" = --port ]; then
		port=$2
		shift 2
	fi
	timeout 30 swaks --server "127.0.0.1:$port" --helo client.example.net \
		--from sender@example.org --to rcpt@example.net "$@"
}
