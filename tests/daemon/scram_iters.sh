#!/bin/bash
# The SCRAM server-first message of a user without a verifier (unknown, or
# no SCRAM verifier) must look like a real user's (issue 9): its salt is
# the same at every attempt, and its iteration count is one that real
# users of the store have, with their frequencies -- not scram_iterations,
# which after a raise no stored user has (userdb/scram_iters.h).
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"

write_dconf "scram_iterations = 4096"
OLD=$TMP/old.conf
sed 's/^scram_iterations = 4096$/scram_iterations = 8192/' "$CONF" >"$OLD"
for i in 1 2 3 4 5 6; do
	add_user "a$i@example.org" "pw-a$i" -m scram
done
for i in 1 2 3; do
	printf 'pw-b%s\n' "$i" | "$PWTOOL" -c "$OLD" -f "$DB" -p add -m scram \
		"b$i@example.org" >/dev/null
done
add_user c1@example.org pw-c1 -m plain	# no SCRAM verifier
# The admin raises the count: no stored user has 16384.
write_dconf_base "$(sed 's/^scram_iterations = 4096$/scram_iterations = 16384/' "$CONF")"
start_authd

# first NAME... - for each name and hash, "MECH NAME i=N s=SALT" from the
# server-first message (the exchange is cancelled there).
first() {
	python3 - "$ASOCK" "$@" <<'PY'
import os, sys
sys.path.insert(0, os.path.join(os.environ["SRCDIR"], "tests/daemon"))
import authproto as ap
c = ap.Conn(sys.argv[1])
rid = 0
for name in sys.argv[2:]:
    for mech in ("SCRAM-SHA-256", "SCRAM-SHA-1"):
        rid += 1
        m = ap.Scram(mech, name, "x")
        c.auth(rid, mech, resp=m.initial())
        f = c.read_line()
        attrs = dict(a.split("=", 1) for a in ap.unb64(f[2]).decode().split(","))
        print(mech, name, "i=" + attrs["i"], "s=" + attrs["s"])
        c.cancel(rid)
PY
}

names=()
for i in $(seq 1 150); do names+=("nobody$i@example.org"); done
first "${names[@]}" >"$TMP/unknown1"
first "${names[@]}" >"$TMP/unknown2"

desc "made-up counts are counts that stored users have (4096 or 8192), never the raised scram_iterations"
expect_eq 0 "$(grep -cvE ' i=(4096|8192) ' "$TMP/unknown1" || true)"
n4=$(grep -c 'SCRAM-SHA-256 .* i=4096 ' "$TMP/unknown1" || true)
n8=$(grep -c 'SCRAM-SHA-256 .* i=8192 ' "$TMP/unknown1" || true)
desc "both counts appear, with about the store's frequencies (6:3): $n4 at 4096, $n8 at 8192 of 150"
[ "$n4" -ge 70 ] && [ "$n4" -le 130 ] && [ "$n8" -ge 20 ] && pass || fail
desc "an unknown name shows the same count and salt at every attempt"
expect_eq "" "$(diff "$TMP/unknown1" "$TMP/unknown2")"

desc "real users show their stored counts"
expect_eq "i=4096 i=4096 i=8192 i=8192" \
	"$(first a1@example.org b1@example.org | awk '{printf "%s%s", sep, $3; sep=" "}')"
desc "a user without a SCRAM verifier gets a made-up count from the store too"
[[ $(first c1@example.org) =~ ^SCRAM-SHA-256\ c1@example.org\ i=(4096|8192)\ .*SCRAM-SHA-1\ c1@example.org\ i=(4096|8192)\  ]] && pass || fail

# Users made at the raised count: names move only to 16384 (stable).
for i in 1 2 3 4 5 6 7 8 9; do
	add_user "d$i@example.org" "pw-d$i" -m scram
done
write_dconf_base "$(sed 's/^scram_iterations = 16384$/scram_iterations = 4096/' "$CONF")"
first "${names[@]}" >"$TMP/unknown3"
moved=$(paste -d' ' "$TMP/unknown1" "$TMP/unknown3" |
	awk '$3 != $7 && $7 != "i=16384"' | wc -l)
desc "after a commit adds users at 16384, no made-up name moves between the old counts"
expect_eq 0 "$moved"
n16=$(grep -c ' i=16384 ' "$TMP/unknown3" || true)
desc "and some now show 16384 ($n16 of 300)"
[ "$n16" -ge 30 ] && pass || fail

stop_authd
start_authd
first "${names[@]}" >"$TMP/unknown4"
desc "the same counts and salts after a restart (the store's secret)"
expect_eq "" "$(diff "$TMP/unknown3" "$TMP/unknown4")"

finish
