#!/usr/bin/env bash
# deps.sh - install the Debian 12 packages authd builds and tests with.
# Idempotent and quick when everything is there; the one list of packages
# for setup.sh, test.sh and .ci/run.
set -euo pipefail

BUILD_PKGS="meson ninja-build gcc clang pkg-config libssl-dev libgdbm-dev
  libcrypt-dev libidn-dev libpam0g-dev"
# Tests: sanitizer and libFuzzer runtime for clang, a symbolizer for
# readable reports, python3 for pty-driven tests and JSON checks, mandoc
# for the man page lint.
TEST_PKGS="libclang-rt-14-dev llvm-14 python3 mandoc"
# Real peers (suite interop): Cyrus saslauthd and testsaslauthd, libsasl2
# for a sasl_checkpass client, Postfix, and the SMTP clients that drive it:
# swaks (with Authen::SASL and Digest::HMAC for CRAM-MD5), curl (its own
# CRAM-MD5/DIGEST-MD5), msmtp (GNU SASL: SCRAM, DIGEST-MD5).
PEER_PKGS="sasl2-bin libsasl2-dev libsasl2-modules postfix swaks
  libauthen-sasl-perl libdigest-hmac-perl curl msmtp"
# The anchors of bench/ (dovecot-core for the auth benchmark) are not part
# of the test suite; bench/README says how to install them.

missing=()
for p in $BUILD_PKGS $TEST_PKGS $PEER_PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
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
