#!/usr/bin/env bash
# setup.sh - from a fresh Debian 12 to a working demo: installs packages,
# builds, creates a credential store with a demo user, starts authd on it
# (sockets in /run/authd-demo), and shows how to try it.  Safe to run
# again: it stops the demo daemon it started before.  Needs root (apt-get,
# and authd binds its sockets as root before dropping to user "authd").
set -euo pipefail
cd "$(dirname "$0")"
top=$PWD

bash scripts/deps.sh
[ -f build/build.ninja ] || meson setup build --buildtype=release >/dev/null
ninja -C build >/dev/null

# The demo lives outside the source tree: the unprivileged daemon must be
# able to reach it even when the tree is under a private home directory.
run=/var/lib/authd-demo
sock=/run/authd-demo
id authd >/dev/null 2>&1 ||
	useradd --system --no-create-home --shell /usr/sbin/nologin authd
mkdir -p "$run"
chmod 0755 "$run"
cat >"$run/authd.conf" <<CONF
# Demo configuration written by setup.sh.
store_path = $run/users.db
store_group = authd
default_realm = example.org
socket_dir = $sock
user = authd
# The auth socket (Postfix smtpd_sasl_type = dovecot) offers everything the
# demo user's verifiers can serve.
auth_mechanisms = plain login cram-md5 digest-md5 scram-sha-1 scram-sha-256
digest_md5_realms = example.org
CONF
if [ -f "$sock/authd.pid" ] && kill "$(cat "$sock/authd.pid")" 2>/dev/null; then
	for _ in $(seq 50); do [ -e "$sock/mux" ] || break; sleep 0.1; done
fi
pwtool="$top/build/pwtool/pwtool -c $run/authd.conf"
demo_user=demo@example.org
demo_pass=authd-demo

# A fresh demo store each run, so the demo is the same every time.
rm -f "$run/users.db"
printf '%s\n' "$demo_pass" | $pwtool -p -m all add "$demo_user"

# Daemonised: authd returns only once it serves (or with an error).
"$top/build/authd/authd" -c "$run/authd.conf"

cat <<TXT

authd is running (pid $(cat "$sock/authd.pid")), socket $sock/mux, logging to syslog (facility auth)
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
printf '  authtest through the mux socket: '
"$top/build/client-lib/authtest" mux -f "$sock/mux" -u "$demo_user" -p "$demo_pass"
for m in CRAM-MD5 DIGEST-MD5 SCRAM-SHA-256; do
	printf '  authtest through the auth socket, %s: ' "$m"
	"$top/build/client-lib/authtest" auth -f "$sock/auth" -m "$m" \
		-u "$demo_user" -p "$demo_pass"
done
cat <<TXT

Try it yourself:
  $top/build/client-lib/authtest mux -f $sock/mux -u $demo_user -p $demo_pass
  testsaslauthd -f $sock/mux -u demo -r example.org -p $demo_pass   # Cyrus' own tester (sasl2-bin)
  $top/build/client-lib/authtest auth -f $sock/auth -m SCRAM-SHA-256 -u $demo_user -p $demo_pass
  $pwtool list
  $pwtool add alice                 # prompts twice; realm from default_realm
  echo 's3cret' | $pwtool -p add bob@example.net
  $pwtool --json show $demo_user
  $pwtool export | head
  man ./man/pwtool.8 ./man/authd.8 ./man/authd.conf.5   # every command, option, key and exit code
  kill \$(cat $sock/authd.pid)          # stop the demo daemon
TXT
