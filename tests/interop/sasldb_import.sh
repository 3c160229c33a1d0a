#!/bin/bash
# pwtool import-sasldb against a real Cyrus sasldb2: saslpasswd2 (Debian's
# sasl2-bin) makes it, with users in the realm Cyrus gives when -u is not
# used (the host's name) and in two domains, one password with spaces and
# UTF-8.  After the import every user logs in with the same password
# through testsaslauthd on authd's mux socket and through swaks against
# authd-smtpd; wrong passwords fail; a dry run and a refused import write
# nothing; the sasldb file is byte for byte the same at the end.
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"
source "$SRCDIR/tests/interop/pflib.sh"	# free_port

skip() {
	echo "1..0 # SKIP $*"
	# shellcheck disable=SC2034	# read by lib.sh's exit trap
	FINISHED=1
	exit 77
}
SASLPASSWD2=$(command -v saslpasswd2 || true)
[ -n "$SASLPASSWD2" ] || skip "saslpasswd2 not found (install sasl2-bin)"
TSA=$(command -v testsaslauthd || true)
[ -n "$TSA" ] || { echo "Bail out! testsaslauthd not found (install sasl2-bin)"; exit 1; }
command -v swaks >/dev/null || { echo "Bail out! swaks not found"; exit 1; }
source "$SRCDIR/tests/interop/smtpd_lib.sh"

SASLDB=$TMP/sasldb2
# mk USER PASSWORD [saslpasswd2 options] - one user, as an admin makes it.
mk() {
	local user=$1 secret=$2

	shift 2
	printf '%s' "$secret" | "$SASLPASSWD2" -p -f "$SASLDB" "$@" -c "$user"
}
mk alice 'Alice-Sasl1'				# realm: Cyrus's default
mk bob 'pass with spaces ünïcødé' -u other.org
mk carl 'Carl-Sasl3' -u example.org
mk dave 'Dave: Sasl4 #' -u other.org
# The realm Cyrus chose for alice, as sasldblistusers2 shows it.
HOSTREALM=$(sasldblistusers2 -f "$SASLDB" | sed -n 's/^alice@\(.*\): userPassword$/\1/p')
desc "saslpasswd2 put alice into the host's realm ($HOSTREALM)"
check test -n "$HOSTREALM"
SUM=$(sha256sum <"$SASLDB")

write_dconf "auth_mechanisms = plain login"

desc "import-sasldb without --realm-map: the host's realm is refused, exit 6"
expect_rc 6 pw import-sasldb "$SASLDB"
expect_out "^error alice@$HOSTREALM: realm \"$HOSTREALM\" is this host's name.*--realm-map $HOSTREALM=DOMAIN"
expect_out '^unchanged carl@example\.org -> carl@example\.org$'
expect_err 'sasldb2: 1 error, nothing imported'
desc "a refused import writes nothing"
check test ! -e "$DB"

desc "dry run: exit 0, says what it would do"
expect_rc 0 pw -n import-sasldb --realm-map "$HOSTREALM=example.org" "$SASLDB"
expect_out "^would be imported alice@$HOSTREALM -> alice@example\.org$"
expect_out '^would be imported bob@other\.org -> bob@other\.org$'
expect_err 'dry run, nothing written: would be 4 imported, 0 replaced, 0 skipped'
desc "the dry run wrote nothing (no store)"
expect_rc 5 pw list

desc "import-sasldb --realm-map HOST=example.org --json"
expect_rc 0 pw -j import-sasldb --realm-map "$HOSTREALM=example.org" "$SASLDB"
json_check 'd["written"] and d["imported"] == 4 and d["errors"] == 0'
json_check 'sorted(u["key"] for u in d["users"] if u["status"] == "imported") == ["alice@example.org", "bob@other.org", "carl@example.org", "dave@other.org"]'
desc "the store holds the four users"
expect_rc 0 pw list
expect_eq $'alice@example.org\nbob@other.org\ncarl@example.org\ndave@other.org' "$(cat "$OUT")"
desc "no cleartext kept: the default mechanisms, hashed"
expect_rc 0 pw -j show bob@other.org
json_check '"cleartext" not in d["verifiers"] and not d["password_equivalent"] and d["verifiers"][0] == "sha512-crypt"'

desc "again, without --replace: every user exists, exit 6, nothing changed"
expect_rc 6 pw import-sasldb --realm-map "$HOSTREALM=example.org" "$SASLDB"
expect_out '^error bob@other\.org -> bob@other\.org: user exists \(use --replace\)$'

start_authd

# tsa WANT_OUTPUT ARGS... - one testsaslauthd run on authd's mux socket.
tsa() {
	local want=$1 out

	shift
	_take_desc "testsaslauthd $* -> $want"
	local d=$_D
	out=$("$TSA" -f "$SOCK" "$@" 2>&1) || true
	if [ "$out" = "$want" ]; then
		pass "$d"
	else
		fail "$d"
		echo "#   expected: $want"
		echo "#   actual:   $out"
	fi
}
OK='0: OK "Success."'
NO='0: NO "authentication failed"'

tsa "$OK" -u alice -p 'Alice-Sasl1' -r example.org
tsa "$OK" -u bob -p 'pass with spaces ünïcødé' -r other.org
tsa "$OK" -u carl -p 'Carl-Sasl3' -r example.org
tsa "$OK" -u dave@other.org -p 'Dave: Sasl4 #'
tsa "$NO" -u alice -p 'Alice-Sasl1x' -r example.org
tsa "$NO" -u bob -p 'pass with spaces unicode' -r other.org
desc "alice is no longer in the host's realm"
tsa "$NO" -u alice -p 'Alice-Sasl1' -r "$HOSTREALM"

# swaks against authd-smtpd on authd's auth socket; AUTH after STARTTLS
# (authd-smtpd offers PLAIN and LOGIN only there), no mail sent.
sm_init
sm_conf
sm_start
# sw USER PASS MECH - swaks AUTH on the submission port, then QUIT.
sw() {
	sm_sw "$SM_SUB" -tls --quit-after AUTH --auth "$3" --auth-user "$1" \
		--auth-password "$2"
}
for u in 'alice@example.org:Alice-Sasl1' 'bob@other.org:pass with spaces ünïcødé' \
	'carl@example.org:Carl-Sasl3' 'dave@other.org:Dave: Sasl4 #'; do
	for m in PLAIN LOGIN; do
		desc "swaks AUTH $m as ${u%%:*} with the sasldb password: exit 0"
		expect_rc 0 sw "${u%%:*}" "${u#*:}" "$m"
		expect_out '^<~  235 2\.7\.0 Authentication successful$'
	done
done
desc "swaks AUTH PLAIN with a wrong password: exit 28, 535"
expect_rc 28 sw carl@example.org 'Carl-Sasl3x' PLAIN
expect_out '^<~\* 535 5\.7\.8 '

# With store_log_max = 1 the replacing import is bigger than the log may
# grow: it spills into a new generation (import's path for a big file).
GEN=$(sed -n 's/^generation //p' "$DB")
CONF_SPILL=$TMP/spill.conf
{ cat "$CONF"; echo "store_log_max = 1"; } >"$CONF_SPILL"
desc "--replace -m 'plain cleartext', spilled: cleartext kept only when asked"
expect_rc 0 "$PWTOOL" -c "$CONF_SPILL" -f "$DB" --replace -m 'plain cleartext' \
	import-sasldb --realm-map "$HOSTREALM=example.org" "$SASLDB"
expect_out "^replaced alice@$HOSTREALM -> alice@example\.org$"
desc "the import spilled into a new generation"
check test "$(sed -n 's/^generation //p' "$DB")" -gt "$GEN"
expect_rc 0 pw -j show carl@example.org
json_check '"cleartext" in d["verifiers"]'
tsa "$OK" -u carl -p 'Carl-Sasl3' -r example.org
tsa "$OK" -u bob -p 'pass with spaces ünïcødé' -r other.org
tsa "$NO" -u bob -p 'pass with spaces ünïcødé ' -r other.org

desc "--realm-map REALM= leaves a realm out (reported as skipped)"
expect_rc 0 pw --replace -n import-sasldb --realm-map "$HOSTREALM=example.org" \
	--realm-map other.org= "$SASLDB"
expect_out '^skipped bob@other\.org: realm "other\.org" left out \(--realm-map other\.org=\)$'
expect_err 'would be 0 imported, 2 replaced, 2 skipped'

# Records saslpasswd2 would not write, added with db5.3_load to a copy:
# names that must not reach the terminal raw, two users that fold to one
# key, '@' in a user name, a realm add refuses, another property.
if command -v db5.3_load >/dev/null; then
	HOSTILE=$TMP/hostile
	cp "$SASLDB" "$HOSTILE"
	printf '%s\n' \
		'ev\1bil\ff\00example.org\00userPassword' 'Evil-Pw1' \
		'Carl\00example.org\00userPassword' 'Carl-Other' \
		'a@b\00example.org\00userPassword' 'At-Pw1' \
		'u\00ex_ample.org\00userPassword' 'Us-Pw1' \
		'zed\00example.org\00cmusaslsecretOTP' 'otp-secret' |
		db5.3_load -T -t hash "$HOSTILE"
	desc "a sasldb with bad records: exit 6, each one reported"
	expect_rc 6 pw --replace import-sasldb --realm-map "$HOSTREALM=example.org" "$HOSTILE"
	expect_out '^error ev\\x1bil\\xff@example\.org: '
	expect_out '^error (carl|Carl)@example\.org -> carl@example\.org: carl@example\.org is also sasldb user (carl|Carl)@example\.org$'
	expect_out "^error a@b@example\\.org: user name holds '@'$"
	expect_out "^error u@ex_ample\\.org: realm \"ex_ample\\.org\": .*--realm-map 'ex_ample\\.org=DOMAIN'"
	expect_out '^unchanged dave@other\.org -> dave@other\.org$'
	desc "no raw ESC or non-UTF-8 byte of a name on the terminal"
	check bash -c '! LC_ALL=C grep -q $'"'"'[\x1b\xff]'"'"' "$1"' _ "$OUT"
	desc "the same as JSON: one error object (code 6) listing the four users' errors"
	expect_rc 6 pw -j --replace import-sasldb --realm-map "$HOSTREALM=example.org" "$HOSTILE"
	json_check 'len(d["errors"]) == 4 and d["code"] == 6 and d["command"] == "import-sasldb" and "key" not in d'
	json_check 'any(e["error"].startswith("ev\\x1bil\\xff@example.org: ") for e in d["errors"])'
	desc "the refused import changed nothing: carl keeps the sasldb password"
	tsa "$OK" -u carl -p 'Carl-Sasl3' -r example.org
fi

desc "--realm-map without '=': usage, exit 2"
expect_rc 2 pw import-sasldb --realm-map "$HOSTREALM" "$SASLDB"
desc "--realm-map to a realm add refuses: exit 6"
expect_rc 6 pw import-sasldb --realm-map "$HOSTREALM=ex_ample.org" "$SASLDB"
expect_err "'_' in realm"
desc "--realm-map is for import-sasldb only: exit 2"
expect_rc 2 pw --realm-map a=b.org list
desc "-u is not used by import-sasldb: exit 2"
expect_rc 2 pw -u example.org import-sasldb "$SASLDB"
desc "a bad -m is refused before the file is read: exit 2"
expect_rc 2 pw -m nosuchmech import-sasldb "$TMP/nosuch"

desc "a file that is not a sasldb: exit 6, a clear error"
expect_rc 6 pw import-sasldb "$CONF"
expect_err 'not a Cyrus sasldb2 \(a Berkeley DB hash file\)'
desc "a FIFO named as the sasldb: exit 6 at once, not a hang"
mkfifo "$TMP/fifo"
expect_rc 6 timeout 10 "$PWTOOL" -c "$CONF" -f "$DB" import-sasldb "$TMP/fifo"
expect_err 'fifo: not a regular file'
desc "a missing sasldb: exit 6"
expect_rc 6 pw import-sasldb "$TMP/nosuch"
expect_err 'nosuch: No such file or directory'

desc "the sasldb is byte for byte the same (sha256)"
expect_eq "$SUM" "$(sha256sum <"$SASLDB")"
desc "no sasldb password in authd's or authd-smtpd's log"
check bash -c '! grep -Eq "Sasl[134]|spaces" "$1" "$2"' _ "$LOG" "$SM_LOG"
finish
