#!/bin/bash
# install_layout.sh - what "meson install" lays down, into a DESTDIR: the
# programs, the unit (ExecStart at this build's sbindir), the sysusers.d
# and tmpfiles.d files, examples, the header under authd/, a man link per
# libauthd function, and authd.conf from the example - kept, not replaced,
# on a second install.  The paths come from this build's options, so the
# test holds for any --prefix / --sysconfdir / --localstatedir.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
: "${BUILDDIR:?}"

opt() {	# opt NAME - a build option's value
	meson introspect --buildoptions "$BUILDDIR" | python3 -c '
import json, sys
for o in json.load(sys.stdin):
    if o["name"] == sys.argv[1]:
        print(o["value"])' "$1"
}
abspath() {	# abspath PREFIX DIR - meson's join: an absolute DIR wins
	case $2 in /*) echo "$2" ;; *) echo "$1/$2" ;; esac
}
prefix=$(opt prefix)
sysconfdir=$(abspath "$prefix" "$(opt sysconfdir)")
localstatedir=$(abspath "$prefix" "$(opt localstatedir)")
sbindir=$(abspath "$prefix" "$(opt sbindir)")
includedir=$(abspath "$prefix" "$(opt includedir)")
mandir=$(abspath "$prefix" "$(opt mandir)")
confdir=$(opt confdir); [ -n "$confdir" ] || confdir=$sysconfdir/authd
statedir=$(opt statedir); [ -n "$statedir" ] || statedir=$localstatedir/lib/authd
D=$TMP/dest

desc "meson install into a DESTDIR succeeds"
expect_rc 0 env DESTDIR="$D" meson install -C "$BUILDDIR" --no-rebuild --quiet
for f in "$sbindir/authd" "$sbindir/pwtool" "$sbindir/authd-smtpd" \
	"$sbindir/authdctl" "$mandir/man8/authdctl.8" \
	"$includedir/authd/authd.h" "$confdir/authd.conf"; do
	desc "installed: $f"
	check test -e "$D$f"
done
unit=$(find "$D" -name authd-sasl.service)
desc "the unit is authd-sasl.service, never authd.service"
check test -n "$unit" -a -z "$(find "$D" -name authd.service)"
desc "its ExecStart is this build's sbindir"
check grep -qx "ExecStart=$sbindir/authd -F" "$unit"
desc "sysusers.d creates user authd with home $statedir"
check grep -q "^u authd - .* $statedir " "$(find "$D" -path '*sysusers.d/authd-sasl.conf')"
desc "tmpfiles.d creates $statedir 0770 root:authd"
check grep -qx "d $statedir 0770 root authd -" "$(find "$D" -path '*tmpfiles.d/authd-sasl.conf')"
desc "the examples are under doc"
check test -n "$(find "$D" -path '*/doc/authd-sasl/examples/authd.conf.example')"
desc "a man link per libauthd function (authd_session_new.3 -> libauthd.3)"
check test "$(readlink "$D$mandir/man3/authd_session_new.3")" = libauthd.3
desc "authd's compiled-in defaults are the configured paths"
expect_rc 0 "$BUILDDIR/authd/authd" --help
expect_out "default $confdir/authd.conf"
desc "the installed authd.conf is the example"
check cmp -s "$D$confdir/authd.conf" "$SRCDIR/contrib/authd.conf.example"

desc "a second install keeps an admin's authd.conf"
echo "# the admin's own" >"$D$confdir/authd.conf"
expect_rc 0 env DESTDIR="$D" meson install -C "$BUILDDIR" --no-rebuild --quiet
check grep -qx "# the admin's own" "$D$confdir/authd.conf"
finish
