#!/bin/bash
# contrib/systemd/authd-sasl.service: systemd-analyze verify finds nothing
# wrong with it, and systemd-analyze security rates its exposure at most
# EXPOSURE_MAX (1.6 with systemd 252 when written; the unit runs as root
# until authd drops privileges itself, which costs the most).  @SBINDIR@
# becomes the build's directory of authd, since verify checks that the
# binaries exist.  Skipped without systemd-analyze (package systemd).
set -euo pipefail
source "$SRCDIR/tests/integration/lib.sh"

EXPOSURE_MAX=2.0
skip() {
	echo "1..0 # SKIP $*"
	FINISHED=1
	exit 77
}
command -v systemd-analyze >/dev/null ||
	skip "no systemd-analyze (package systemd)"
: "${AUTHD:?AUTHD must name the authd binary}"

UNIT=$SRCDIR/contrib/systemd/authd-sasl.service
sed "s#@SBINDIR@/authd#$AUTHD#g" "$UNIT" >"$TMP/authd-sasl.service"

desc "the unit is Type=notify (authd sends READY=1 once both sockets listen)"
check grep -qx 'Type=notify' "$UNIT"
desc "the configuration is checked before the start (ExecStartPre=authd -t)"
check grep -qx 'ExecStartPre=@SBINDIR@/authd -t' "$UNIT"
desc "the daemon runs in the foreground (-F)"
check grep -qx 'ExecStart=@SBINDIR@/authd -F' "$UNIT"
desc "ordered before Debian 12's Postfix instance and postfix.service"
check grep -qx 'Before=postfix@-.service postfix.service' "$UNIT"
desc "a UMask is set"
check grep -qx 'UMask=0077' "$UNIT"
desc "NoNewPrivileges and the PAM back-end: the unit says what breaks and how to fix it"
check grep -q 'unix_chkpwd' "$UNIT"

desc "systemd-analyze verify: exit 0"
expect_rc 0 systemd-analyze verify --man=no "$TMP/authd-sasl.service"
desc "systemd-analyze verify: not a word of complaint"
check test ! -s "$ERR"

desc "systemd-analyze security --offline=true: exit 0"
expect_rc 0 systemd-analyze security --offline=true "$TMP/authd-sasl.service"
score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$OUT")
echo "# exposure score: ${score:-none} (at most $EXPOSURE_MAX)"
desc "exposure score $score is at most $EXPOSURE_MAX"
check awk -v s="$score" -v m="$EXPOSURE_MAX" 'BEGIN { exit !(s != "" && s + 0 <= m + 0) }'
finish
