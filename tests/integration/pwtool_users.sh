#!/bin/bash
# pwtool_users.sh - the one-user commands: add, passwd, delete, lock,
# unlock, show, check; realms, mechanisms and password input.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# --- add, duplicates, case folding -----------------------------------------
desc "add alice@example.org"
expect_rc 0 pw add -p alice@example.org <<<"secret"
desc "add the same user again is refused with 4"
expect_rc 4 pw add -p alice@example.org <<<"secret"
expect_err 'alice@example.org: user exists'
desc "add Alice@Example.ORG folds to the existing alice@example.org (4)"
expect_rc 4 pw add -p Alice@Example.ORG <<<"other"
desc "check Alice@Example.ORG finds alice@example.org"
expect_rc 0 pw check -p Alice@Example.ORG <<<"secret"
desc "list holds exactly one alice after the case-folded attempts"
expect_rc 0 pw list
expect_eq "alice@example.org" "$(cat "$OUT")"

# --- realms -----------------------------------------------------------------
desc "-u realm gives the realm of a bare user"
expect_rc 0 pw add -p -u other.test bob <<<"secret"
desc "bob exists in other.test, spelled user@realm"
expect_rc 0 pw check -p bob@other.test <<<"secret"
desc "bob does not exist in the default realm"
expect_rc 3 pw check -p bob <<<"secret"
desc "both user@realm and -u is a usage error (2)"
expect_rc 2 pw add -p -u other.test carol@example.org <<<"secret"
expect_err 'realm given twice'
desc "nothing was added by the refused command"
expect_rc 3 pw check -p carol@example.org <<<"secret"
desc "a bare user gets default_realm"
expect_rc 0 pw add -p dave <<<"secret"
desc "dave is dave@example.org"
expect_rc 0 pw show --json dave@example.org
json_check 'd["key"] == "dave@example.org" and d["realm"] == "example.org"'

cat >"$TMP/norealm.conf" <<EOF
password_scheme = sha512-crypt
password_cost = 1000
EOF
desc "no realm and no default_realm is refused with 6"
expect_rc 6 "$PWTOOL" -c "$TMP/norealm.conf" -f "$DB" add -p erin <<<"secret"
expect_err 'no realm given and no default_realm set'
desc "erin was not added under any realm"
expect_rc 0 pw list
expect_no_out '^erin@'
desc "with an explicit realm the same config works"
expect_rc 0 "$PWTOOL" -c "$TMP/norealm.conf" -f "$DB" add -p erin@example.org <<<"secret"

# --- check ------------------------------------------------------------------
desc "check with the right password exits 0"
expect_rc 0 pw check -p alice <<<"secret"
desc "check with a wrong password exits 1"
expect_rc 1 pw check -p alice <<<"Secret"
expect_err 'wrong password'
desc "check of an unknown user exits 3"
expect_rc 3 pw check -p nobody <<<"secret"
expect_err 'nobody@example.org: no such user'
desc "check --json prints the result"
expect_rc 0 pw check --json -p alice <<<"secret"
json_check 'd == {"key": "alice@example.org", "result": "ok"}'

# --- passwd -----------------------------------------------------------------
pw show --json alice >"$TMP/before.json"
created_before=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["created"])' "$TMP/before.json")
sleep 1   # so that "changed" can move
desc "passwd alice"
expect_rc 0 pw passwd -p alice <<<"n3w-pass"
desc "the old password no longer passes (1)"
expect_rc 1 pw check -p alice <<<"secret"
desc "the new password passes"
expect_rc 0 pw check -p alice <<<"n3w-pass"
desc "passwd keeps the verifier kinds and created, moves changed"
expect_rc 0 pw show --json alice
json_check "d['verifiers'][0] == 'sha512-crypt' and d['verifiers'][1:] == ['scram-sha-256:4096', 'scram-sha-1:4096'] and d['created'] == $created_before and d['changed'] > $created_before"
desc "the alias change works too"
expect_rc 0 pw change -p alice <<<"n3w-pass2"
expect_rc 0 pw check -p alice <<<"n3w-pass2"
desc "passwd -m cram-md5 replaces the verifier set"
expect_rc 0 pw passwd -p -m cram-md5 alice <<<"cram-pass"
expect_rc 0 pw show --json alice
json_check 'd["verifiers"] == ["cram-md5"] and d["password_equivalent"] is True'
desc "the cram-md5-only password checks"
expect_rc 0 pw check -p alice <<<"cram-pass"
expect_rc 1 pw check -p alice <<<"n3w-pass2"
desc "a later passwd without -m keeps cram-md5 only"
expect_rc 0 pw passwd -p alice <<<"cram-pass2"
expect_rc 0 pw show --json alice
json_check 'd["verifiers"] == ["cram-md5"]'
desc "passwd of an unknown user exits 3"
expect_rc 3 pw passwd -p nobody <<<"x"
desc "passwd with an unknown mechanism exits 2"
expect_rc 2 pw passwd -p -m rot13 alice <<<"x"
expect_rc 0 pw check -p alice <<<"cram-pass2"

# --- lock / unlock ----------------------------------------------------------
desc "lock alice"
expect_rc 0 pw lock alice
desc "check of a locked user exits 7 even with the right password"
expect_rc 7 pw check -p alice <<<"cram-pass2"
expect_err 'account is locked'
desc "show reports the lock"
expect_rc 0 pw show alice
expect_out '^status: +locked$'
desc "passwd keeps the lock"
expect_rc 0 pw passwd -p alice <<<"cram-pass3"
expect_rc 7 pw check -p alice <<<"cram-pass3"
desc "unlock alice"
expect_rc 0 pw unlock alice
desc "check after unlock exits 0"
expect_rc 0 pw check -p alice <<<"cram-pass3"
expect_rc 0 pw show alice
expect_out '^status: +active$'
desc "lock of an unknown user exits 3"
expect_rc 3 pw lock nobody
desc "unlock of an unknown user exits 3"
expect_rc 3 pw unlock nobody

# --- delete -----------------------------------------------------------------
desc "delete dave"
expect_rc 0 pw delete dave
desc "dave is gone (check 3)"
expect_rc 3 pw check -p dave <<<"secret"
desc "delete dave again exits 3"
expect_rc 3 pw delete dave
desc "the alias del works"
expect_rc 0 pw del erin@example.org
expect_rc 3 pw show erin@example.org
desc "other users survive the deletes"
expect_rc 0 pw list
expect_eq "alice@example.org
bob@other.test" "$(cat "$OUT")"

# --- show -------------------------------------------------------------------
desc "add frank with the default mechanisms"
expect_rc 0 pw add -p frank <<<"secret"
desc "show frank (text)"
expect_rc 0 pw show frank
expect_out '^user: +frank$'
expect_out '^realm: +example.org$'
expect_out '^key: +frank@example.org$'
expect_out '^status: +active$'
expect_out '^created: +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$'
expect_out '^verifiers: +sha512-crypt scram-sha-256:4096 scram-sha-1:4096$'
expect_out '^serves: +PLAIN LOGIN SCRAM-SHA-256 SCRAM-SHA-1$'
expect_no_out '^note:'
desc "show --json frank"
expect_rc 0 pw show --json frank
json_check 'd["user"] == "frank" and d["realm"] == "example.org" and d["key"] == "frank@example.org"'
json_check 'd["disabled"] is False and d["verifiers"] == ["sha512-crypt", "scram-sha-256:4096", "scram-sha-1:4096"]'
json_check 'd["mechanisms"] == ["PLAIN", "LOGIN", "SCRAM-SHA-256", "SCRAM-SHA-1"] and d["password_equivalent"] is False'
json_check 'isinstance(d["created"], int) and d["created"] > 1600000000 and d["changed"] >= d["created"]'
desc "show of an unknown user exits 3"
expect_rc 3 pw show nobody
desc "show -j is --json"
expect_rc 0 pw show -j Frank@EXAMPLE.org
json_check 'd["key"] == "frank@example.org"'

# --- mechanisms -------------------------------------------------------------
# mech word | expected verifiers | expected served mechanisms
mech_case() {
	local word=$1 user=m-${1//[^a-z0-9-]/_} verifiers=$2 mechs=$3
	desc "add -m '$word'"
	expect_rc 0 pw add -p -m "$word" "$user" <<<"pässword-$word"
	expect_rc 0 pw show --json "$user"
	desc "-m '$word' makes verifiers $verifiers"
	json_check "d['verifiers'] == $verifiers"
	desc "-m '$word' serves $mechs"
	json_check "d['mechanisms'] == $mechs"
	desc "-m '$word': the right password checks"
	expect_rc 0 pw check -p "$user" <<<"pässword-$word"
	desc "-m '$word': a wrong password fails"
	expect_rc 1 pw check -p "$user" <<<"pässword-${word}X"
}
mech_case plain "['sha512-crypt']" "['PLAIN', 'LOGIN']"
mech_case scram "['scram-sha-256:4096', 'scram-sha-1:4096']" "['PLAIN', 'LOGIN', 'SCRAM-SHA-256', 'SCRAM-SHA-1']"
mech_case scram-sha-256 "['scram-sha-256:4096']" "['PLAIN', 'LOGIN', 'SCRAM-SHA-256']"
mech_case scram-sha-1 "['scram-sha-1:4096']" "['PLAIN', 'LOGIN', 'SCRAM-SHA-1']"
mech_case cram-md5 "['cram-md5']" "['PLAIN', 'LOGIN', 'CRAM-MD5']"
mech_case digest-md5 "['digest-md5', 'digest-md5-addr']" "['PLAIN', 'LOGIN', 'DIGEST-MD5']"
mech_case cleartext "['cleartext']" "['PLAIN', 'LOGIN', 'CRAM-MD5', 'DIGEST-MD5']"
mech_case all "['sha512-crypt', 'scram-sha-256:4096', 'scram-sha-1:4096', 'cram-md5', 'digest-md5', 'digest-md5-addr']" "['PLAIN', 'LOGIN', 'CRAM-MD5', 'DIGEST-MD5', 'SCRAM-SHA-256', 'SCRAM-SHA-1']"
mech_case "plain,cram-md5" "['sha512-crypt', 'cram-md5']" "['PLAIN', 'LOGIN', 'CRAM-MD5']"
desc "an unknown mechanism word exits 2"
expect_rc 2 pw add -p -m "plain rot13" m-unknown <<<"secret"
expect_err 'unknown mechanism'
desc "an empty mechanism list exits 2"
expect_rc 2 pw add -p -m "" m-empty <<<"secret"
desc "nothing was added by the refused -m"
expect_rc 3 pw show m-unknown
desc "password-equivalent verifiers are flagged in show"
expect_rc 0 pw show m-digest-md5
expect_out '^note: +holds password-equivalent'

# --- --disabled -------------------------------------------------------------
desc "add --disabled"
expect_rc 0 pw add -p --disabled gina <<<"secret"
desc "a user added --disabled is locked (check 7)"
expect_rc 7 pw check -p gina <<<"secret"
expect_rc 0 pw show --json gina
json_check 'd["disabled"] is True'
expect_rc 0 pw unlock gina
desc "after unlock the password given at add works"
expect_rc 0 pw check -p gina <<<"secret"

# --- password input ---------------------------------------------------------
printf 'from-fd\n' >"$TMP/pwfile"
desc "--password-fd 3 reads the password from descriptor 3"
expect_rc 0 pw add --password-fd 3 hank 3<"$TMP/pwfile"
expect_rc 0 pw check --password-fd 3 hank 3<"$TMP/pwfile"
desc "the fd password is the file's line without the newline"
expect_rc 0 pw check -p hank <<<"from-fd"
desc "--password-fd does not read standard input"
expect_rc 1 pw check --password-fd 3 hank 3<<<"wrong" <<<"from-fd"
desc "--password-fd with a closed descriptor fails with 6"
expect_rc 6 pw check --password-fd 9 hank 9<&-
desc "--password-fd with a non-number is a usage error"
expect_rc 2 pw check --password-fd x3 hank

desc "-p with a CRLF-terminated line"
expect_rc 0 pw add -p ivan < <(printf 'crlf-pass\r\n')
desc "the CR was stripped: the password checks with a bare LF"
expect_rc 0 pw check -p ivan <<<"crlf-pass"
desc "... and with CRLF"
expect_rc 0 pw check -p ivan < <(printf 'crlf-pass\r\n')
desc "-p without any newline at EOF"
expect_rc 0 pw check -p ivan < <(printf 'crlf-pass')
desc "-p reads only the first line"
expect_rc 0 pw check -p ivan < <(printf 'crlf-pass\nsecond line\n')

desc "an empty password is refused (6)"
expect_rc 6 pw add -p judy <<<""
expect_err 'empty password'
desc "empty stdin is an empty password (6)"
expect_rc 6 pw add -p judy </dev/null
desc "judy was not added"
expect_rc 3 pw show judy

# The limit is 511 bytes for every mechanism: libxcrypt refuses longer
# passphrases (CRYPT_MAX_PASSPHRASE_SIZE 512 with the NUL), and one limit
# for all verifiers keeps a password usable with every mechanism.
p511=$(head -c 511 /dev/zero | tr '\0' 'k')
p512=${p511}k
desc "a 512-byte password is refused (6)"
expect_rc 6 pw add -p kate <<<"$p512"
expect_err 'longer than 511'
expect_rc 3 pw show kate
desc "a 1025-byte password is refused (6)"
expect_rc 6 pw add -p kate <<<"${p512}$(head -c 513 /dev/zero | tr '\0' 'k')"
desc "a 511-byte password is accepted with the default mechanisms"
expect_rc 0 pw add -p kate <<<"$p511"
expect_rc 0 pw check -p kate <<<"$p511"
desc "a 511-byte password is accepted with every mechanism"
expect_rc 0 pw add -p -m all kate-all <<<"$p511"
expect_rc 0 pw check -p kate-all <<<"$p511"
desc "its 510-byte prefix does not check"
expect_rc 1 pw check -p kate <<<"${p511:1}"
desc "a 511-byte password plus CRLF is accepted by check"
expect_rc 0 pw check -p kate < <(printf '%s\r\n' "$p511")
desc "check with a 512-byte password exits 6, not 1"
expect_rc 6 pw check -p kate <<<"$p512"

utf=$'p\xc3\xa4ss \xe2\x82\xac \xe6\x97\xa5\xe6\x9c\xac \xd0\x96'
# U+1F511 is unassigned in Unicode 3.2: SASLprep (stored strings) refuses it.
emoji=$'key \xf0\x9f\x94\x91'
desc "a password SASLprep prohibits is refused for SCRAM (6)"
expect_rc 6 pw add -p -m scram lara <<<"$emoji"
expect_err 'SASLprep'
desc "the same password is fine for crypt only"
expect_rc 0 pw add -p -m plain lara <<<"$emoji"
expect_rc 0 pw check -p lara <<<"$emoji"
desc "add with a non-ASCII UTF-8 password, -m scram"
expect_rc 0 pw add -p -m scram leo <<<"$utf"
desc "the UTF-8 password checks against SCRAM"
expect_rc 0 pw check -p leo <<<"$utf"
desc "a password differing in one non-ASCII character fails"
expect_rc 1 pw check -p leo <<<"${utf/€/e}"
# SASLprep (RFC 4013) maps U+00A0 NO-BREAK SPACE to SPACE.
nbsp=$'x\xc2\xa0y'
desc "add -m scram with a NO-BREAK SPACE password"
expect_rc 0 pw add -p -m scram-sha-256 mia <<<"$nbsp"
desc "SASLprep: the same password with a plain space checks"
expect_rc 0 pw check -p mia <<<"x y"
desc "the UTF-8 password also works with crypt"
expect_rc 0 pw add -p -m plain nina <<<"$utf"
expect_rc 0 pw check -p nina <<<"$utf"
expect_rc 1 pw check -p nina <<<"${utf/€/e}"

# --- the default scheme (yescrypt), once -------------------------------------
printf 'default_realm = example.org\n' >"$TMP/default.conf"
desc "the default configuration hashes with yescrypt"
expect_rc 0 "$PWTOOL" -c "$TMP/default.conf" -f "$DB" add -p -m plain oscar <<<"secret"
expect_rc 0 pw show --json oscar
json_check 'd["verifiers"] == ["yescrypt"]'
expect_rc 0 "$PWTOOL" -c "$TMP/default.conf" -f "$DB" check -p oscar <<<"secret"

finish
