#!/usr/bin/env bash
# setup.sh - from a fresh Debian 12 to a working demo: installs packages,
# builds, creates a credential store with a demo user under ./run/, and
# shows pwtool managing it.  Safe to run again.
set -euo pipefail
cd "$(dirname "$0")"
top=$PWD

bash scripts/deps.sh
[ -f build/build.ninja ] || meson setup build --buildtype=release >/dev/null
ninja -C build >/dev/null

run=$top/run
mkdir -p "$run"
cat >"$run/authd.conf" <<CONF
# Demo configuration written by setup.sh.
store_path = $run/users.db
default_realm = example.org
CONF
pwtool="$top/build/pwtool/pwtool -c $run/authd.conf"
demo_user=demo@example.org
demo_pass=authd-demo

# A fresh demo store each run, so the demo is the same every time.
rm -f "$run/users.db"
printf '%s\n' "$demo_pass" | $pwtool -p -m all add "$demo_user"

cat <<TXT

authd is built; the demo store is $run/users.db
  user $demo_user, password $demo_pass (all verifiers, so every mechanism works)

What pwtool shows about it:
TXT
$pwtool show "$demo_user" | sed 's/^/  /'
printf '%s\n' "$demo_pass" | $pwtool -p check "$demo_user" &&
	echo "  check with the right password: OK (exit 0)"
rc=0
printf 'wrong\n' | $pwtool -p check "$demo_user" 2>/dev/null || rc=$?
echo "  check with a wrong password: refused (exit $rc)"
cat <<TXT

Try it yourself:
  $pwtool list
  $pwtool add alice                 # prompts twice; realm from default_realm
  echo 's3cret' | $pwtool -p add bob@example.net
  $pwtool --json show $demo_user
  $pwtool export | head
  man ./man/pwtool.8                # every command, option and exit code
TXT
