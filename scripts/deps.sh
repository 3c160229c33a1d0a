#!/usr/bin/env bash
# deps.sh - install the Debian 12 packages authd builds and tests with.
# Idempotent and quick when everything is there; the one list of packages
# for setup.sh, test.sh and .ci/run.
set -euo pipefail

BUILD_PKGS="meson ninja-build gcc clang pkg-config libssl-dev libgdbm-dev
  libcrypt-dev libidn-dev libpam0g-dev libseccomp-dev"
# Berkeley DB 5.3: pwtool import-sasldb reads Cyrus sasldb2 files with it.
BUILD_PKGS="$BUILD_PKGS libdb-dev"
# Tests: sanitizer and libFuzzer runtime for clang, a symbolizer for
# readable reports, python3 for pty-driven tests and JSON checks, mandoc
# for the man page lint, systemd for systemd-analyze (verify and security
# of contrib/systemd/authd-sasl.service).
TEST_PKGS="libclang-rt-14-dev llvm-14 python3 mandoc systemd"
# Real peers (suite interop): Cyrus saslauthd and testsaslauthd, libsasl2
# for a sasl_checkpass client, Postfix, and the SMTP clients that drive it:
# swaks (with Authen::SASL and Digest::HMAC for CRAM-MD5, Net::SSLeay for
# STARTTLS), curl (its own CRAM-MD5/DIGEST-MD5), msmtp (GNU SASL: SCRAM,
# DIGEST-MD5); fail2ban for fail2ban-regex against authd-smtpd's log;
# openssl for test certificates; policyd-spf, a real policy server for
# check_policy_service.
PEER_PKGS="sasl2-bin libsasl2-dev libsasl2-modules postfix swaks
  libauthen-sasl-perl libdigest-hmac-perl libnet-ssleay-perl curl msmtp
  fail2ban openssl postfix-policyd-spf-python"
# Exim (suite interop, tests/interop/exim.sh): Debian's exim4 packages
# conflict with postfix, so the Exim binary is extracted, not installed.
# exim4-daemon-heavy, because the light daemon has no dovecot
# authenticator; EXIM_LIB_PKGS are the libraries of its Depends (exim4-base
# and debconf are not needed with a private -C configuration).
EXIM_DIR=/opt/authd-test/exim4
EXIM_PKG=exim4-daemon-heavy
EXIM_LIB_PKGS="libc6 libcrypt1 libdb5.3 libgnutls-dane0 libgnutls30 libidn12
  libidn2-0 libldap-2.5-0 libmariadb3 libnsl2 libpam0g libpcre2-8-0
  libperl5.36 libpq5 libsasl2-2 libspf2-2 libsqlite3-0"
# The anchors of bench/ (dovecot-core for the auth benchmark) are not part
# of the test suite; bench/README says how to install them.  db5.3-util
# (db5.3_load) is small: bench/store.sh builds its 1,000,000-user sasldb
# with it, so it is installed here too.
BENCH_PKGS="db5.3-util"
# The PostgreSQL store (issue 13): libpq-dev to build userdb/store_pg.c;
# postgresql (Debian 12: postgresql-15) for suite pg, whose private
# servers tests/pg/pglib.sh starts with /usr/lib/postgresql/15/bin/initdb
# (the package's own cluster is not used: policy-rc.d keeps it stopped).
PG_PKGS="libpq-dev postgresql"
# Suite package (tests/package/package.sh): dpkg-buildpackage with
# debhelper, lintian; systemd for systemd-sysusers in the packages'
# postinst and for systemd-analyze.
PACKAGE_PKGS="debhelper dpkg-dev lintian systemd"

SUDO=
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 || {
		echo "deps.sh: installing packages needs root, and there is no" \
			"sudo here: run it as root" >&2
		exit 1
	}
	SUDO=sudo
fi

missing=()
for p in $BUILD_PKGS $TEST_PKGS $PEER_PKGS $EXIM_LIB_PKGS $BENCH_PKGS $PG_PKGS $PACKAGE_PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps.sh: installing ${missing[*]}" >&2
	# Package scripts must not start services on this machine: tests run
	# private instances.  policy-rc.d exit 101 = "not allowed".
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
		$SUDO chmod 755 /usr/sbin/policy-rc.d
	fi
	# Postfix asks which configuration to write; tests run private instances.
	echo "postfix postfix/main_mailer_type select No configuration" |
		$SUDO debconf-set-selections
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
fi

# The binary's exim user is Debian-exim, looked up at every start (as
# exim4-base's postinst would create it).
if ! getent passwd Debian-exim >/dev/null; then
	getent group Debian-exim >/dev/null || $SUDO groupadd --system Debian-exim
	$SUDO useradd --system --gid Debian-exim --no-create-home \
		--home-dir /var/spool/exim4 --shell /usr/sbin/nologin Debian-exim
fi

# $EXIM_DIR/usr/sbin/exim4 (setuid root, as packaged): downloaded and
# extracted once; a new Debian version is picked up by removing $EXIM_DIR.
if [ ! -x "$EXIM_DIR/usr/sbin/exim4" ]; then
	echo "deps.sh: extracting $EXIM_PKG into $EXIM_DIR" >&2
	dl=$(mktemp -d)
	trap 'rm -rf "$dl"' EXIT
	# As root, apt downloads as _apt: let it write there.
	[ "$(id -u)" -ne 0 ] || chown _apt "$dl" 2>/dev/null || true
	(cd "$dl" && apt-get download -qq "$EXIM_PKG" 2>/dev/null) || {
		$SUDO apt-get update -qq
		(cd "$dl" && apt-get download -qq "$EXIM_PKG")
	}
	$SUDO rm -rf "$EXIM_DIR.new"
	$SUDO mkdir -p "$EXIM_DIR.new"
	$SUDO dpkg-deb -x "$dl"/"$EXIM_PKG"_*.deb "$EXIM_DIR.new"
	dpkg-deb -f "$dl"/"$EXIM_PKG"_*.deb Package Version |
		$SUDO tee "$EXIM_DIR.new/PACKAGE" >/dev/null
	$SUDO rm -rf "$EXIM_DIR"
	$SUDO mv "$EXIM_DIR.new" "$EXIM_DIR"
fi
