#!/usr/bin/env bash
# setup.sh - from a fresh Debian 12 to a working demo: installs packages,
# builds, creates a credential store with a demo user, starts authd on it
# (sockets in /run/authd-demo) and the SMTP gate authd-smtpd on loopback
# port 2525 in front of a sink next hop (Postfix's smtp-sink on port 2526,
# which writes each message it gets to a file), and shows how to try both.
# Safe to run again: it stops the demo daemons it started before.  Needs
# root (apt-get; the daemons bind as root, then drop to users "authd" and
# "authd-smtpd").
set -euo pipefail
cd "$(dirname "$0")"
top=$PWD

# Root is needed; ask for it here rather than fail half-way.  A container
# or a fresh VM is often root-only and has no sudo, so "sudo ./setup.sh"
# would not even start there: run as root, or through sudo when there is
# one.
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		echo "setup.sh: needs root; running it through sudo" >&2
		exec sudo -- "$top/setup.sh" "$@"
	fi
	echo "setup.sh: needs root, and there is no sudo here: run it as root" \
		"(su -c $top/setup.sh)" >&2
	exit 1
fi

bash scripts/deps.sh
[ -f build/build.ninja ] || meson setup build --buildtype=release >/dev/null
ninja -C build >/dev/null

# The demo lives outside the source tree: the unprivileged daemon must be
# able to reach it even when the tree is under a private home directory.
run=/var/lib/authd-demo
sock=/run/authd-demo
id authd >/dev/null 2>&1 ||
	useradd --system --no-create-home --shell /usr/sbin/nologin authd
id authd-smtpd >/dev/null 2>&1 ||
	useradd --system --no-create-home --shell /usr/sbin/nologin authd-smtpd
mkdir -p "$run"
chmod 0755 "$run"
cat >"$run/authd.conf" <<CONF
# Demo configuration written by setup.sh.
store_path = $run/users.db
store_group = authd
default_realm = example.org
socket_dir = $sock
user = authd
# authd-smtpd (user authd-smtpd) reaches the auth socket through its group.
socket_group = authd-smtpd
# The auth socket (Postfix smtpd_sasl_type = dovecot) offers everything the
# demo user's verifiers can serve.
auth_mechanisms = plain login cram-md5 digest-md5 scram-sha-1 scram-sha-256
digest_md5_realms = example.org
CONF
for pidf in "$run/smtpd.pid" "$run/sink.pid"; do
	[ -f "$pidf" ] && kill "$(cat "$pidf")" 2>/dev/null || true
done
if [ -f "$sock/authd.pid" ] && kill "$(cat "$sock/authd.pid")" 2>/dev/null; then
	for _ in $(seq 50); do [ -e "$sock/mux" ] || break; sleep 0.1; done
fi
# The socket directory is created with the group of the socket.
rm -rf "$sock"
pwtool="$top/build/pwtool/pwtool -c $run/authd.conf"
demo_user=demo@example.org
demo_pass=authd-demo

# A fresh demo store each run, so the demo is the same every time.
rm -f "$run/users.db" "$run"/users.db.*
printf '%s\n' "$demo_pass" | $pwtool -p -m all add "$demo_user"

# Daemonised: authd returns only once it serves (or with an error).
"$top/build/authd/authd" -c "$run/authd.conf"

# The SMTP gate: a sink as its next hop, a self-signed certificate for
# STARTTLS, loopback only.  127.0.0.1 is deliberately not in mynetworks,
# so the demo shows a refusal without AUTH.
mkdir -p "$run/mail"
chown nobody "$run/mail"
[ -f "$run/cert.pem" ] ||
	openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 3650 \
		-keyout "$run/key.pem" -out "$run/cert.pem" 2>/dev/null
chmod 0600 "$run/key.pem"
setsid smtp-sink -u nobody -c -d "$run/mail/%M." 127.0.0.1:2526 100 \
	</dev/null >/dev/null 2>&1 &
echo $! >"$run/sink.pid"
cat >"$run/smtpd.conf" <<CONF
# Demo configuration of authd-smtpd written by setup.sh.
myhostname = gate.example.org
smtp_listen = 127.0.0.1:2525
submission_listen = 127.0.0.1:2587
smtpd_tls_cert_file = $run/cert.pem
smtpd_tls_key_file = $run/key.pem
auth_socket = $sock/auth
next_hop = 127.0.0.1:2526
mynetworks = [::1]/128
relay_domains = example.org
pid_file = $run/smtpd.pid
CONF
"$top/build/smtpd/authd-smtpd" -c "$run/smtpd.conf"

# Where the daemons' lines went: syslog when a syslog daemon (or journald)
# listens on /dev/log, else the daemons fell back to this terminal.
if [ -S /dev/log ]; then
	auth_log="logging to syslog (facility auth; journalctl -t authd)"
	smtp_log="logging to syslog (facility mail)"
else
	auth_log="logging to this terminal (no syslog daemon on /dev/log)"
	smtp_log="logging to this terminal"
fi
cat <<TXT

authd is running (pid $(cat "$sock/authd.pid")), socket $sock/mux, $auth_log
the demo store is $run/users.db, config $run/authd.conf
  user $demo_user, password $demo_pass (all verifiers, so every mechanism works)

What pwtool shows about it:
TXT
$pwtool show "$demo_user" | sed 's/^/  /'
printf '%s\n' "$demo_pass" | $pwtool -p check "$demo_user" &&
	echo "  check with the right password: OK (exit 0)"
rc=0
printf 'wrong\n' | $pwtool -p check "$demo_user" 2>/dev/null || rc=$?
echo "  check with a wrong password: refused (exit $rc)"
printf '  authd-test through the mux socket: '
"$top/build/client-lib/authd-test" mux -f "$sock/mux" -u "$demo_user" -p "$demo_pass"
for m in CRAM-MD5 DIGEST-MD5 SCRAM-SHA-256; do
	printf '  authd-test through the auth socket, %s: ' "$m"
	"$top/build/client-lib/authd-test" auth -f "$sock/auth" -m "$m" \
		-u "$demo_user" -p "$demo_pass"
done
cat <<TXT

authd-smtpd is running (pid $(cat "$run/smtpd.pid")) on 127.0.0.1:2525 (relay) and :2587
(submission), $smtp_log; its next hop, smtp-sink on
127.0.0.1:2526, writes every message it gets to $run/mail/.
TXT
printf '  relay after STARTTLS + AUTH PLAIN: '
swaks -s 127.0.0.1:2525 -tls -a PLAIN -au "$demo_user" -ap "$demo_pass" \
	-f "$demo_user" -t friend@example.net -h gate-demo 2>&1 |
	grep -E '^<~ +(250 2.0.0|[45])' | tail -n 1 | sed 's/^<~ *//' || true
printf '  relay without AUTH: '
swaks -s 127.0.0.1:2525 -f someone@example.net -t friend@example.net -h gate-demo 2>&1 |
	grep -E '^<\*\*' | head -n 1 | sed 's/^<\*\* *//' || true
cat <<TXT

Try it yourself:
  swaks -s 127.0.0.1:2525 -tls -a PLAIN -au $demo_user -ap $demo_pass -t friend@example.net   # relayed
  swaks -s 127.0.0.1:2525 -t friend@example.net                                                # 554 5.7.1 Relay access denied
  swaks -s 127.0.0.1:2587 -a CRAM-MD5 -au $demo_user -ap $demo_pass -t friend@example.net   # submission; CRAM-MD5 needs no TLS
  ls $run/mail/                     # what the next hop got
  $top/build/client-lib/authd-test mux -f $sock/mux -u $demo_user -p $demo_pass
  testsaslauthd -f $sock/mux -u demo -r example.org -p $demo_pass   # Cyrus' own tester (sasl2-bin)
  $top/build/client-lib/authd-test auth -f $sock/auth -m SCRAM-SHA-256 -u $demo_user -p $demo_pass
  $pwtool list
  $pwtool add alice                 # prompts twice; realm from default_realm
  echo 's3cret' | $pwtool -p add bob@example.net
  $pwtool --json show $demo_user
  $pwtool export | head
  man ./man/pwtool.8 ./man/authd.8 ./man/authd.conf.5 ./man/authd-smtpd.8   # every command, option, key and exit code
  kill \$(cat $sock/authd.pid) \$(cat $run/smtpd.pid) \$(cat $run/sink.pid)   # stop the demo daemons
TXT
