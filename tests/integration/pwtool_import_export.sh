#!/bin/bash
# pwtool_import_export.sh - export/import round trips, foreign verifier
# formats, all-or-nothing import, list and realms.
# shellcheck disable=SC2016	# '$6$'... are literal crypt strings
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# Known-answer vectors.
CRAM='{CRAM-MD5}cd3ba7deaad6e5ca23448ba42e379747a9e0f7f1fbc00c8a81bbaac395731b56'	# "secret"
DIGEST='{DIGEST-MD5}543e1aec5d3614f03141652d6ada51b2'	# alice@example.org "secret"
SCRAM1_RFC5803='SCRAM-SHA-1$4096:QSXCR+Q6sek8bf92$6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE='	# "pencil"
SCRAM1='{SCRAM-SHA-1}4096,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE='	# "pencil"
SCRAM256='{SCRAM-SHA-256}4096,W22ZaJ0SNY7soEsUEjb6gQ==,WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU='	# "pencil"

mkcrypt() {	# mkcrypt METHOD PASSWORD - a crypt(3) string from Python
	python3 -W ignore -c '
import crypt, sys
m = {"sha512": crypt.METHOD_SHA512, "bcrypt": crypt.METHOD_BLOWFISH,
     "sha256": crypt.METHOD_SHA256, "md5": crypt.METHOD_MD5}
if sys.argv[1] == "yescrypt":
    print(crypt.crypt(sys.argv[2], "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$"))
elif sys.argv[1] == "bcrypt":
    print(crypt.crypt(sys.argv[2], crypt.mksalt(m["bcrypt"], rounds=16)))
else:
    print(crypt.crypt(sys.argv[2], crypt.mksalt(m[sys.argv[1]])))' "$@"
}
SHA512=$(mkcrypt sha512 secret)
YESCRYPT=$(mkcrypt yescrypt secret)
BCRYPT=$(mkcrypt bcrypt secret)
SHA256=$(mkcrypt sha256 secret)
MD5CRYPT=$(mkcrypt md5 secret)
check test "${SHA512:0:3}" = '$6$'
check test "${YESCRYPT:0:3}" = '$y$'
check test "${BCRYPT:0:4}" = '$2b$'

# --- foreign formats -----------------------------------------------------------
# import_one NAME LINE-REST PASSWORD VERIFIER - import "NAME:LINE-REST" into
# a fresh store, then check the right and a wrong password and the kind of
# verifier stored.
import_one() {
	local name=$1 rest=$2 password=$3 want=$4 what=$5
	store_reset
	printf '%s:%s\n' "$name" "$rest" >"$TMP/one.txt"
	desc "import $what"
	expect_rc 0 pw import "$TMP/one.txt"
	expect_err '1 added, 0 replaced'
	desc "$what: the right password checks (0)"
	expect_rc 0 pw check -p "$name" <<<"$password"
	desc "$what: a wrong password fails (1)"
	expect_rc 1 pw check -p "$name" <<<"${password}x"
	desc "$what: stored as $want"
	expect_rc 0 pw show --json "$name"
	json_check "d['verifiers'] == ['$want']"
}
import_one alice@example.org ':{PLAIN}secret' secret cleartext "{PLAIN}"
import_one alice@example.org ':{plain}secret' secret cleartext "{plain} (scheme names in any case)"
import_one alice@example.org ':{CLEARTEXT}secret' secret cleartext "{CLEARTEXT}"
import_one alice@example.org ':{PLAIN.B64}c2VjcmV0' secret cleartext "{PLAIN.B64}"
import_one alice@example.org ":$CRAM" secret cram-md5 "{CRAM-MD5} (Dovecot vector)"
import_one alice@example.org ":$DIGEST" secret digest-md5 "{DIGEST-MD5} (alice@example.org)"
import_one alice@example.org ":{SHA512-CRYPT}$SHA512" secret sha512-crypt "{SHA512-CRYPT}\$6\$"
import_one alice@example.org ":{CRYPT}$SHA512" secret sha512-crypt "{CRYPT}\$6\$"
import_one alice@example.org ":$SHA512" secret sha512-crypt "a bare \$6\$ string"
import_one alice@example.org ":$YESCRYPT" secret yescrypt "a bare \$y\$ string"
import_one alice@example.org ":$BCRYPT" secret bcrypt "a bare \$2b\$ string"
import_one alice@example.org ":{BLF-CRYPT}$BCRYPT" secret bcrypt "{BLF-CRYPT}\$2b\$"
import_one alice@example.org ":{SHA256-CRYPT}$SHA256" secret sha256-crypt "{SHA256-CRYPT}\$5\$"
import_one alice@example.org ":{MD5-CRYPT}$MD5CRYPT" secret md5-crypt "{MD5-CRYPT}\$1\$ (legacy)"
desc "show advises a new password for a legacy md5-crypt hash"
expect_rc 0 pw show alice@example.org
expect_out '^note: +weak legacy crypt method'
desc "passwd re-hashes a legacy user with password_scheme"
expect_rc 0 pw passwd -p alice@example.org <<<"secret2"
expect_rc 0 pw show alice@example.org
expect_out '^verifiers: +sha512-crypt$'
expect_no_out 'legacy'
expect_rc 0 pw check -p alice@example.org <<<"secret2"
import_one user@example.org ":$SCRAM1_RFC5803" pencil scram-sha-1:4096 "RFC 5803 SCRAM-SHA-1"
import_one user@example.org ":$SCRAM1" pencil scram-sha-1:4096 "{SCRAM-SHA-1} (Dovecot layout)"
import_one user@example.org ":$SCRAM256" pencil scram-sha-256:4096 "{SCRAM-SHA-256} (RFC 7677 vector)"
import_one user@example.org ":SCRAM-SHA-256\$4096:W22ZaJ0SNY7soEsUEjb6gQ==\$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=" \
	pencil scram-sha-256:4096 "RFC 5803 SCRAM-SHA-256"
desc "the DIGEST-MD5 hash is bound to its user: another user with it fails"
store_reset
printf 'bob@example.org::%s\n' "$DIGEST" | pw import >/dev/null 2>&1
expect_rc 1 pw check -p bob@example.org <<<"secret"

# Several verifiers in one line, tab-separated too.
store_reset
printf 'multi@example.org:disabled,created=1000000000,changed=1000000001:%s\t%s %s\n' \
	"$SHA512" "$SCRAM256" "$CRAM" >"$TMP/multi.txt"
desc "a line with flags and three verifiers imports"
expect_rc 0 pw import "$TMP/multi.txt"
expect_rc 0 pw show --json multi@example.org
json_check 'd["disabled"] is True and d["created"] == 1000000000 and d["changed"] == 1000000001'
json_check 'd["verifiers"] == ["sha512-crypt", "scram-sha-256:4096", "cram-md5"]'
desc "the imported disabled flag locks the user"
expect_rc 7 pw check -p multi@example.org <<<"secret"
desc "the export of the line is canonical"
expect_rc 0 pw export
expect_out "^multi@example.org:disabled,created=1000000000,changed=1000000001:\{CRYPT\}\\\$6\\\$[^ ]+ \{SCRAM-SHA-256\}4096,W22ZaJ0SNY7soEsUEjb6gQ==,[^ ]+ \{CRAM-MD5\}cd3ba7"

# --- export / import round trip --------------------------------------------------
store_reset
expect_rc 0 pw add -p -m all rt-all <<<"secret"
expect_rc 0 pw add -p -m cleartext,scram-sha-1 --disabled rt-clear <<<$'p\xc3\xa4ss:w@rd with spaces'
expect_rc 0 pw add -p -u other.test rt-other <<<"secret"
printf 'rt-old@example.org:created=123,changed=456:%s\n' "$CRAM" | pw import 2>/dev/null
expect_rc 0 pw lock rt-all
desc "export of the source store"
expect_rc 0 pw export
cp "$OUT" "$TMP/export1.txt"
check test "$(grep -vc '^#' "$TMP/export1.txt")" -eq 4
desc "export has a header comment"
check grep -q '^# authd user export, format 1' "$TMP/export1.txt"
store_use copy
desc "import of the export into a fresh store"
expect_rc 0 pw import "$TMP/export1.txt"
expect_err '4 added, 0 replaced'
desc "export of the copy"
expect_rc 0 pw export
desc "the copy exports byte-identically (flags, times and verifiers kept)"
check cmp "$TMP/export1.txt" "$OUT"
desc "the copy's cleartext user checks with its odd password"
expect_rc 7 pw check -p rt-clear <<<$'p\xc3\xa4ss:w@rd with spaces'
expect_rc 0 pw unlock rt-clear
expect_rc 0 pw check -p rt-clear <<<$'p\xc3\xa4ss:w@rd with spaces'
expect_rc 0 pw check -p rt-other@other.test <<<"secret"
store_use users

# --- export to a file ----------------------------------------------------------
desc "export to a FILE"
umask 022
expect_rc 0 pw export "$TMP/exported.txt"
desc "the export file is mode 0600 (umask 022)"
check test "$(mode_of "$TMP/exported.txt")" = 600
desc "the export file holds what stdout export prints"
check cmp "$TMP/export1.txt" "$TMP/exported.txt"
printf 'old\n' >"$TMP/exported2.txt"
chmod 0644 "$TMP/exported2.txt"
desc "export over an existing 0644 file makes it 0600"
expect_rc 0 pw export "$TMP/exported2.txt"
check test "$(mode_of "$TMP/exported2.txt")" = 600
check cmp "$TMP/export1.txt" "$TMP/exported2.txt"
desc "no temporary export files are left behind"
check test -z "$(find "$TMP" -name 'exported*.tmp*')"
desc "export - is stdout"
expect_rc 0 pw export -
check cmp "$TMP/export1.txt" "$OUT"
desc "export -u realm exports one realm"
expect_rc 0 pw export -u other.test
check test "$(grep -vc '^#' "$OUT")" -eq 1
expect_out '^rt-other@other.test:'
desc "export of a store that does not exist: exit 5, no such store, no file written"
expect_rc 5 "$PWTOOL" -c "$CONF" -f "$TMP/nothere.db" export "$TMP/never.txt"
expect_err 'nothere\.db: no such store'
check test ! -e "$TMP/never.txt"
check test ! -e "$TMP/nothere.db"
desc "export into a missing directory exits 6"
expect_rc 6 pw export "$TMP/no/such/dir/x.txt"

# --- bad import lines: all or nothing ----------------------------------------------
expect_rc 0 pw export
cp "$OUT" "$TMP/before.txt"
store_save ref
before_sha=$(store_sha)
GOOD1="new1@example.org::$CRAM"
GOOD2="new2@example.org::{PLAIN}secret"
LONG="long@example.org::{PLAIN.B64}$(head -c 9000 /dev/zero | tr '\0' Q)"
# bad_import WHAT LINE-NO ERROR-RE [--replace] - the file $TMP/bad.txt must
# fail with 6, name the line, and leave the store untouched.
bad_import() {
	local what=$1 lineno=$2 re=$3
	shift 3
	# Every case starts from the same store, so one failure cannot
	# cascade into the next cases.
	store_restore ref
	desc "bad import ($what): exit 6"
	expect_rc 6 pw import "$@" "$TMP/bad.txt"
	desc "bad import ($what): the message names line $lineno"
	expect_err "^pwtool: $TMP/bad.txt:$lineno: .*$re"
	expect_err 'nothing imported'
	desc "bad import ($what): the store file is byte-identical"
	check test "$(store_sha)" = "$before_sha"
	desc "bad import ($what): the export is unchanged"
	expect_rc 0 pw export
	check cmp "$TMP/before.txt" "$OUT"
	desc "bad import ($what): no $DB.new is left"
	check test ! -e "$DB.new"
}
bad_lines() {	# the good lines around one bad line (at line 3)
	printf '%s\n# a comment\n%s\n%s\n' "$GOOD1" "$1" "$GOOD2" >"$TMP/bad.txt"
}
bad_lines 'nocolon@example.org'
bad_import "no colon" 3 'expected USER@REALM:FLAGS:VERIFIERS'
bad_lines 'x:y@example.org::{PLAIN}secret'
bad_import "a ':' in the name" 3 "':' in the user name"
bad_lines 'x@example.org:@:{PLAIN}secret'
bad_import "'@' in the flags of a name with a realm" 3 'unknown flag'
bad_lines 'x@example.org:'
bad_import "no flags/verifier separator" 3 "missing ':' between flags and verifiers"
bad_lines 'x@example.org::'
bad_import "no verifier" 3 'no verifier'
bad_lines 'x@example.org::{ROT13}frperg'
bad_import "unknown scheme" 3 'unknown password scheme'
bad_lines 'x@example.org::secret'
bad_import "no {SCHEME}" 3 'verifier must look like'
bad_lines 'x@example.org::{CRAM-MD5}zd3ba7deaad6e5ca23448ba42e379747a9e0f7f1fbc00c8a81bbaac395731b56'
bad_import "bad hex" 3 'CRAM-MD5 context must be 64 hex digits'
bad_lines 'x@example.org::{DIGEST-MD5}543e1aec5d3614f03141652d6ada51b'
bad_import "short hex" 3 'DIGEST-MD5 hash must be 32 hex digits'
bad_lines 'x@example.org::{PLAIN.B64}c2Vj*mV0'
bad_import "bad base64" 3 'not base64'
bad_lines 'x@example.org::{SCRAM-SHA-256}4096,W22ZaJ0SNY7soEsUEjb6gQ==,WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4q!=,wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU='
bad_import "bad base64 SCRAM key" 3 'not base64'
bad_lines 'x@example.org::{SCRAM-SHA-256}100,W22ZaJ0SNY7soEsUEjb6gQ==,WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU='
bad_import "iteration count 100" 3 'iteration count must be 4096'
bad_lines "x@example.org::${SCRAM1/,D+CSWL*/}"
bad_import "SCRAM with three fields" 3 'needs iterations, salt, StoredKey, ServerKey'
bad_lines "x@example.org::$SCRAM256 $SCRAM256"
bad_import "the same verifier twice" 3 'more than one verifier of the same kind'
bad_lines "x@example.org:frozen:$CRAM"
bad_import "unknown flag" 3 'unknown flag'
bad_lines "x@example.org:created=yesterday:$CRAM"
bad_import "bad created= time" 3 'bad created= time'
bad_lines "x@example.org::{SHA512-CRYPT}$YESCRYPT"
bad_import "crypt string of the wrong scheme" 3 'does not match its scheme'
bad_lines 'x@example.org::$6$sa:lt$abc'
bad_import "':' in a crypt string" 3 'invalid character in crypt string'
bad_lines 'x@example.org::{CRYPT}$99$abc$def'
bad_import "unknown crypt method" 3 'crypt'
bad_lines 'x@example.org::{CRYPT}abJnggxhB/yWI'
bad_import "a traditional DES crypt string" 3 'crypt'
# A crypt(3) *setting* (method and salt, no hash) or a truncated hash can
# never verify a password: importing it silently creates a user who cannot
# log in.
bad_lines "x@example.org::$(echo "$SHA512" | cut -d'$' -f1-3)\$"
bad_import "a sha512-crypt setting without its hash" 3 'crypt hash has the wrong length'
bad_lines "x@example.org::${SHA512:0:40}"
bad_import "a truncated sha512-crypt hash" 3 'crypt hash has the wrong length'
bad_lines "bad user @example.org::$CRAM"
bad_import "trailing space in the user" 3 'leading or trailing space'
bad_lines "x@bad_realm!::$CRAM"
bad_import "bad realm" 3 'invalid character in realm'
bad_lines "$LONG"
bad_import "over-long line (9000+ bytes)" 3 'line too long'
printf '%s\n%s\n%s\n%s\n' "$GOOD1" "$GOOD2" "other@example.org::$CRAM" "NEW1@Example.org::{PLAIN}x" >"$TMP/bad.txt"
bad_import "duplicate user (case-folded) names both lines" 4 'new1@example.org: duplicate of line 1'
printf '%s\n%s\n' "$GOOD1" "rt-all@example.org::$CRAM" >"$TMP/bad.txt"
bad_import "a user that exists, without --replace" 2 'rt-all@example.org: user exists \(use --replace\)'
printf '%s\nbroken1\n%s\nbroken2\n' "$GOOD1" "$GOOD2" >"$TMP/bad.txt"
bad_import "two bad lines" 2 'expected USER'
desc "two bad lines: both are reported"
expect_rc 6 pw import "$TMP/bad.txt"
expect_err "bad.txt:4: expected USER"
expect_err ': 2 errors, nothing imported'
awk 'BEGIN { for (i = 1; i <= 30; i++) print "junk" i }' >"$TMP/bad.txt"
bad_import "30 bad lines" 1 'expected USER'
desc "30 bad lines: the report is capped with a count of the rest"
expect_rc 6 pw import "$TMP/bad.txt"
expect_err '\.\.\. 10 more errors'
check test "$(grep -c 'expected USER' "$ERR")" -eq 20
printf '%s\nbroken\n' "$GOOD1" >"$TMP/bad.txt"
bad_import "bad line, --dry-run" 2 'expected USER' --dry-run
desc "a bad line from stdin names stdin:LINE"
expect_rc 6 pw import <"$TMP/bad.txt"
expect_err '^pwtool: stdin:2: expected USER'
check test "$(store_sha)" = "$before_sha"
desc "an import FILE that is a directory exits 6"
expect_rc 6 pw import "$TMP"
check test "$(store_sha)" = "$before_sha"
desc "an import FILE that does not exist exits 6"
expect_rc 6 pw import "$TMP/no-such-import.txt"
check test "$(store_sha)" = "$before_sha"

# Line endings and blank lines are fine.
# A line of exactly IMPORT_LINE_MAX (509 + 1 + 8192) bytes is not "too
# long" (it fails for its content); one byte more is.
prefix="x@example.org::{PLAIN.B64}"
fill=$(head -c $((8702 - ${#prefix})) /dev/zero | tr '\0' Q)
bad_lines "$prefix$fill"
bad_import "an 8702-byte line is parsed" 3 'cleartext is not base64'
check test "$(sed -n 3p "$TMP/bad.txt" | tr -d '\n' | wc -c)" -eq 8702
desc "an 8702-byte line is not reported as too long"
check test "$(grep -c 'too long' "$ERR")" -eq 0
bad_lines "${prefix}Q$fill"
bad_import "an 8703-byte line" 3 'line too long'

store_restore ref
desc "CRLF lines, blank lines and comments import"
expect_rc 0 pw import < <(printf '# comment\r\n\r\n%s\r\n\n%s\r\n' "$GOOD1" "$GOOD2")
expect_err '2 added, 0 replaced'
desc "the CRs did not end up in the verifiers"
expect_rc 0 pw check -p new1 <<<"secret"
expect_rc 0 pw check -p new2 <<<"secret"

# --- --replace, --dry-run, --json -----------------------------------------------------
expect_rc 0 pw export
cp "$OUT" "$TMP/before.txt"
before_sha=$(store_sha)
printf 'new1@example.org::{PLAIN}replaced\nfresh@example.org::{PLAIN}fresh\n' >"$TMP/rep.txt"
desc "--dry-run reports the counts"
expect_rc 0 pw import --dry-run --replace "$TMP/rep.txt"
expect_err 'dry run, nothing written: 1 added, 1 replaced'
desc "--dry-run writes nothing"
check test "$(store_sha)" = "$before_sha"
expect_rc 3 pw check -p fresh <<<"fresh"
expect_rc 0 pw check -p new1 <<<"secret"
desc "-n is --dry-run, with --json"
expect_rc 0 pw import -n --json --replace "$TMP/rep.txt"
json_check 'd == {"added": 1, "replaced": 1, "dry_run": True}'
check test "$(store_sha)" = "$before_sha"
desc "without --replace the existing user is an error"
expect_rc 6 pw import "$TMP/rep.txt"
expect_err 'rep.txt:1: new1@example.org: user exists'
check test "$(store_sha)" = "$before_sha"
desc "--replace updates the existing user and adds the new one"
expect_rc 0 pw import --replace "$TMP/rep.txt"
expect_err '1 added, 1 replaced'
expect_rc 0 pw check -p new1 <<<"replaced"
expect_rc 1 pw check -p new1 <<<"secret"
expect_rc 0 pw check -p fresh <<<"fresh"
desc "--replace replaces the whole record (verifiers not merged)"
expect_rc 0 pw show --json new1
json_check 'd["verifiers"] == ["cleartext"]'
desc "import --json prints the counts as JSON"
printf 'json1@example.org::{PLAIN}x\njson2@example.org::{PLAIN}x\njson3@example.org::{PLAIN}x\n' >"$TMP/j.txt"
expect_rc 0 pw import --json "$TMP/j.txt"
json_check 'd == {"added": 3, "replaced": 0, "dry_run": False}'
desc "an empty import file adds nothing and succeeds"
: >"$TMP/empty.txt"
expect_rc 0 pw import --json "$TMP/empty.txt"
json_check 'd == {"added": 0, "replaced": 0, "dry_run": False}'

# --- list and realms --------------------------------------------------------------------
store_reset
cat >"$TMP/lr.txt" <<EOF
zed@example.org::{PLAIN}x
amy@example.org:disabled:{PLAIN}x
bob@beta.test::{PLAIN}x
carl@alpha.test::$CRAM
dan@alpha.test::{PLAIN}x
erin@alpha.test::{PLAIN}x
EOF
expect_rc 0 pw import "$TMP/lr.txt"
desc "list prints every key, sorted"
expect_rc 0 pw list
expect_eq "amy@example.org bob@beta.test carl@alpha.test dan@alpha.test erin@alpha.test zed@example.org" "$(tr '\n' ' ' <"$OUT" | sed 's/ $//')"
desc "list -u alpha.test prints that realm only"
expect_rc 0 pw list -u alpha.test
expect_eq "carl@alpha.test dan@alpha.test erin@alpha.test" "$(tr '\n' ' ' <"$OUT" | sed 's/ $//')"
desc "list -u of a realm without users prints nothing"
expect_rc 0 pw list -u nobody.test
check test ! -s "$OUT"
desc "list --json is an array of show objects"
expect_rc 0 pw list --json
json_check 'isinstance(d, list) and [u["key"] for u in d] == ["amy@example.org", "bob@beta.test", "carl@alpha.test", "dan@alpha.test", "erin@alpha.test", "zed@example.org"]'
json_check '[u["disabled"] for u in d] == [True, False, False, False, False, False]'
json_check 'd[2]["user"] == "carl" and d[2]["realm"] == "alpha.test" and d[2]["verifiers"] == ["cram-md5"]'
desc "list --json -u beta.test"
expect_rc 0 pw list --json -u beta.test
json_check '[u["key"] for u in d] == ["bob@beta.test"]'
desc "list --json of an empty selection is []"
expect_rc 0 pw list --json -u nobody.test
json_check 'd == []'
desc "realms prints each realm and its number of users"
expect_rc 0 pw realms
expect_eq $'alpha.test\t3\nbeta.test\t1\nexample.org\t2' "$(cat "$OUT")"
desc "realms --json"
expect_rc 0 pw realms --json
json_check 'd == [{"realm": "alpha.test", "users": 3}, {"realm": "beta.test", "users": 1}, {"realm": "example.org", "users": 2}]'
# A wrong path (a typo, another -c) must not look like an empty store.
desc "list on a store that does not exist: exit 5, no such store"
expect_rc 5 "$PWTOOL" -c "$CONF" -f "$TMP/nothere.db" list
expect_err 'nothere\.db: no such store'
check test ! -s "$OUT"
desc "realms --json on a store that does not exist: exit 5"
expect_rc 5 "$PWTOOL" -c "$CONF" -f "$TMP/nothere.db" --json realms
check test ! -e "$TMP/nothere.db"
expect_rc 0 pw delete carl@alpha.test
expect_rc 0 pw delete dan@alpha.test
expect_rc 0 pw delete erin@alpha.test
desc "realms after deleting a realm's last user"
expect_rc 0 pw realms --json
json_check 'd == [{"realm": "beta.test", "users": 1}, {"realm": "example.org", "users": 2}]'
expect_rc 0 pw delete bob@beta.test
expect_rc 0 pw delete amy
expect_rc 0 pw delete zed
desc "list --json and realms --json of an empty store"
expect_rc 0 pw list --json
json_check 'd == []'
expect_rc 0 pw realms --json
json_check 'd == []'

finish
