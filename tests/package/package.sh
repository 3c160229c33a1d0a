#!/usr/bin/env bash
# package.sh - the Debian packages, as an admin gets them: build them from
# this tree with dpkg-buildpackage, check them with lintian, install them
# on this machine, start the packaged daemon by hand and authenticate
# through it (authd-test, testsaslauthd, a program built against
# libauthd-dev), then purge and check that nothing is left.
#
# It changes the machine, so it needs root and skips (77) without it, and
# without debhelper.  The user and group "authd" stay after the purge, as
# Debian leaves system users.
set -uo pipefail

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() {	# check DESC CMD...
	local d=$1; shift
	if "$@" >"$W/out" 2>&1; then ok "$d"; else not_ok "$d"; sed 's/^/#   /' "$W/out" | head -20; fi
}

[ "${SANITIZED:-none}" = none ] || { echo "1..0 # SKIP plain build only"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root: installs packages"; exit 77; }
for p in dpkg-buildpackage dh lintian; do
	command -v "$p" >/dev/null ||
		{ echo "1..0 # SKIP $p missing (apt-get install debhelper lintian)"; exit 77; }
done
: "${SRCDIR:?}"

PKGS="authd-sasl authd-smtpd libauthd1 libauthd-dev"
W=$(mktemp -d /tmp/authd-package.XXXXXX)
apid=
cleanup() {
	[ -z "$apid" ] || kill "$apid" 2>/dev/null
	dpkg --purge $PKGS >/dev/null 2>&1
	rm -rf "$W"
}
trap cleanup EXIT
# Leftovers of an interrupted earlier run would hide what this one does.
dpkg --purge $PKGS >/dev/null 2>&1

# The tree as committed (plus what is not yet), without build directories.
mkdir "$W/src"
if git -C "$SRCDIR" rev-parse >/dev/null 2>&1; then
	git -C "$SRCDIR" ls-files -co --exclude-standard |
		grep -Ev '^(build[^/]*|obj-[^/]*)/' |
		(cd "$SRCDIR" && tar -cf - -T -) | tar -xf - -C "$W/src"
else
	tar -C "$SRCDIR" --exclude='./build*' -cf - . | tar -xf - -C "$W/src"
fi

# meson test's own variables must not reach the package's build.
unset MALLOC_PERTURB_ MESON_TEST_ITERATION ASAN_OPTIONS UBSAN_OPTIONS
if (cd "$W/src" && DEB_BUILD_OPTIONS="nocheck parallel=2" \
	dpkg-buildpackage -us -uc -b >"$W/build.log" 2>&1); then
	ok "dpkg-buildpackage -us -uc -b"
else
	not_ok "dpkg-buildpackage -us -uc -b"; tail -30 "$W/build.log" | sed 's/^/#   /'
	echo "1..$n"; exit 1
fi
for p in $PKGS; do
	check "package $p built" test -f "$W/${p}_"*_amd64.deb
done

# lintian at its default level: no error and no warning (no override).
lintian "$W"/authd-sasl_*.changes >"$W/lintian" 2>&1
if grep -E '^[EW]: ' "$W/lintian" >/dev/null; then
	not_ok "lintian: no errors or warnings"; sed 's/^/#   /' "$W/lintian"
else
	ok "lintian: no errors or warnings"
fi

# Names: no file of ours clashes with Ubuntu's authd (authd.service,
# authd.socket) or courier-authlib (/usr/bin/authtest).
if dpkg-deb -c "$W"/authd-sasl_*_amd64.deb | grep -E '/(authd\.service|authd\.socket|authtest)$'; then
	not_ok "no authd.service, authd.socket or authtest in the package"
else
	ok "no authd.service, authd.socket or authtest in the package"
fi
# authd-smtpd listens on SMTP ports: installed, never enabled or started.
mkdir "$W/ctl"
dpkg-deb -e "$W"/authd-smtpd_*_amd64.deb "$W/ctl"
# Its only "enable" is dh_installsystemd's --no-enable one: restore the
# admin's choice on upgrades (was-enabled), never a first enable.
if grep -q deb-systemd-invoke "$W/ctl/postinst" ||
	[ "$(grep -c 'deb-systemd-helper enable' "$W/ctl/postinst")" != \
	  "$(grep -B2 'deb-systemd-helper enable' "$W/ctl/postinst" | grep -c 'was-enabled')" ]; then
	not_ok "authd-smtpd's postinst neither enables nor starts it"; sed 's/^/#   /' "$W/ctl/postinst"
else
	ok "authd-smtpd's postinst neither enables nor starts it"
fi

debs=()
for p in $PKGS; do debs+=("$W/${p}_"*_amd64.deb); done
check "the four packages install" env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y -q --no-install-recommends "${debs[@]}"

check "user authd exists" getent passwd authd
check "group authd exists" getent group authd
check "user authd-smtpd exists" getent passwd authd-smtpd
check "/var/lib/authd is 0770 root:authd" \
	test "$(stat -c '%a %U %G' /var/lib/authd)" = "770 root authd"
check "/etc/authd/authd.conf is a conffile" \
	sh -c "dpkg-query -W -f='\${Conffiles}' authd-sasl | grep -q ' /etc/authd/authd.conf '"
# (Other test suites' daemons run from the build tree, not from /usr/sbin.)
check "nothing was started by the installation" \
	sh -c '! pgrep -f "^/usr/sbin/authd(-smtpd)?( |\$)"'
check "authd -t accepts the packaged configuration" /usr/sbin/authd -t
check "man pages installed (authd, pwtool, authd-test, libauthd, a function link)" \
	test -e /usr/share/man/man8/authd.8.gz -a -e /usr/share/man/man8/pwtool.8.gz \
	-a -e /usr/share/man/man1/authd-test.1.gz -a -e /usr/share/man/man3/libauthd.3.gz \
	-a -e /usr/share/man/man3/authd_session_new.3.gz
check "the PostgreSQL schema is where pwtool init looks by default" \
	test -s /usr/share/authd-sasl/schema.sql

# A first user, as the README says, then the packaged daemon by hand.
check "pwtool add a first user" sh -c \
	"printf 'pkg secret\n' | pwtool add --pipe first@example.org"
check "the store is root:authd 0640" \
	test "$(stat -c '%a %U %G' /var/lib/authd/users.db)" = "640 root authd"
/usr/sbin/authd -F >"$W/authd.log" 2>&1 &
apid=$!
for _ in $(seq 100); do [ -S /run/authd/auth ] && break; sleep 0.1; done
check "the packaged authd listens on /run/authd/mux and /run/authd/auth" \
	test -S /run/authd/mux -a -S /run/authd/auth
check "authd runs as user authd" test "$(ps -o user= -p $apid)" = authd
check "authd-test mux: right password" \
	authd-test mux -f /run/authd/mux -u first@example.org -p 'pkg secret'
check "authd-test mux: wrong password refused" sh -c \
	"authd-test mux -f /run/authd/mux -u first@example.org -p wrong; [ \$? = 1 ]"
check "authd-test auth SCRAM-SHA-256" authd-test auth -f /run/authd/auth \
	-m SCRAM-SHA-256 -u first@example.org -p 'pkg secret'
if command -v testsaslauthd >/dev/null; then
	check "testsaslauthd through the packaged socket" testsaslauthd \
		-f /run/authd/mux -u first -r example.org -p 'pkg secret'
fi
cat >"$W/prog.c" <<'C'
#include <authd/authd.h>
#include <stdio.h>
int main(void)
{
	int rc = authd_mux_check("/run/authd/mux", "first@example.org",
				 "pkg secret", "smtp", "", 3000, NULL, 0);
	printf("%d\n", rc);
	return rc == AUTHD_OK ? 0 : 1;
}
C
check "a program built with pkg-config authd and <authd/authd.h> authenticates" sh -c \
	"cc -o '$W/prog' '$W/prog.c' \$(pkg-config --cflags --libs authd) && '$W/prog'"
kill "$apid"; wait "$apid" 2>/dev/null
check "authd removed its sockets on stop" test ! -e /run/authd/mux

# Purge: every packaged file, the configuration, the store, the run-time
# directory go.
dpkg-query -L $PKGS 2>/dev/null | sort -u >"$W/files"
check "the four packages purge" env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q $PKGS
left=$(while read -r f; do
	if [ ! -d "$f" ] && { [ -e "$f" ] || [ -L "$f" ]; }; then echo "$f"; fi
done <"$W/files")
if [ -z "$left" ]; then ok "no packaged file left"; else not_ok "no packaged file left"; echo "$left" | sed 's/^/#   /'; fi
check "/etc/authd, /var/lib/authd and /run/authd are gone" \
	test ! -e /etc/authd -a ! -e /var/lib/authd -a ! -e /run/authd

echo "1..$n"
[ "$failed" = 0 ]
