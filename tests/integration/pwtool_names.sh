#!/bin/bash
# pwtool_names.sh - the name normalisation rule (userdb/name.h) as seen
# through pwtool: lengths, UTF-8, forbidden characters, realm syntax.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

rep() {		# rep N CHAR - CHAR repeated N times
	local s
	printf -v s '%*s' "$1" ''
	printf '%s' "${s// /$2}"
}

# The store must exist for "no such user" answers.
expect_rc 0 pw add -p seed <<<"secret"

# refuse WHY-RE DESC NAME [ARGS...] - add NAME must exit 6 naming WHY, and
# nothing may be added.
refuse() {
	local why=$1 what=$2 name=$3
	shift 3
	desc "$what: add is refused with 6"
	expect_rc 6 pw add -p "$@" "$name" <<<"secret"
	desc "$what: the message says why"
	expect_err "$why"
	desc "$what: check is refused with 6 too (not 3)"
	expect_rc 6 pw check -p "$@" "$name" <<<"secret"
}

# refuse_new WHY WHAT NAME - a name pwtool will not create (add: 6), that
# lookups still take (check: 3, no such user), so that users stored
# before the rule stay reachable.
refuse_new() {
	local why=$1 what=$2 name=$3
	desc "$what: add is refused with 6"
	expect_rc 6 pw add -p "$name" <<<"secret"
	desc "$what: the message says why"
	expect_err "$why"
	desc "$what: check looks it up (3: no such user)"
	expect_rc 3 pw check -p "$name" <<<"secret"
}

# --- user length ------------------------------------------------------------
u255=$(rep 255 a)
desc "a 255-byte user name is accepted"
expect_rc 0 pw add -p "$u255" <<<"secret"
expect_rc 0 pw check -p "$u255@example.org" <<<"secret"
expect_rc 0 pw show --json "$u255"
json_check "d['user'] == 'a' * 255 and d['key'] == 'a' * 255 + '@example.org'"
refuse 'user name too long' "a 256-byte user name" "$(rep 256 a)"
# 255 bytes of UTF-8, counted in bytes not characters: 85 x U+00E9 (2 bytes)
# = 170 bytes + 85 'x' = 255.
u255utf=$(rep 85 $'\xc3\xa9')$(rep 85 x)
desc "a 255-byte user name made of 2-byte characters is accepted"
expect_rc 0 pw add -p "$u255utf" <<<"secret"
refuse 'user name too long' "a 256-byte user name of 2-byte characters" "${u255utf}y"

# --- realm length -----------------------------------------------------------
# 253 bytes in labels of at most 63: 3 x 63 + 3 dots + 61.
r253=$(rep 63 a).$(rep 63 b).$(rep 63 c).$(rep 61 d)
desc "a 253-byte realm is accepted"
expect_rc 0 pw add -p "longrealm@$r253" <<<"secret"
expect_rc 0 pw check -p "longrealm@$r253" <<<"secret"
refuse 'realm too long' "a 254-byte realm" "longrealm@${r253}d"
refuse 'realm too long' "a 254-byte realm given with -u" "longrealm" -u "${r253}d"
desc "the longest key (255 + 1 + 253 bytes) is accepted"
expect_rc 0 pw add -p "$u255@$r253" <<<"secret"
expect_rc 0 pw check -p "$u255@$r253" <<<"secret"
desc "list shows the longest key intact"
expect_rc 0 pw list -u "$r253"
expect_out "^$u255@$r253\$"

# --- UTF-8 ------------------------------------------------------------------
refuse 'not valid UTF-8' "a lone 0xff byte" $'bad\xffuser'
refuse 'not valid UTF-8' "a truncated 2-byte sequence" $'bad\xc3'
refuse 'not valid UTF-8' "an overlong encoding of '/'" $'bad\xc0\xafuser'
refuse 'not valid UTF-8' "a UTF-16 surrogate" $'bad\xed\xa0\x80user'
refuse 'not valid UTF-8' "a code point above U+10FFFF" $'bad\xf4\x90\x80\x80user'
desc "valid non-ASCII UTF-8 in a user name is accepted and kept"
expect_rc 0 pw add -p $'J\xc3\xb6rg' <<<"secret"
expect_rc 0 pw show --json $'j\xc3\xb6rg'
json_check "d['user'] == 'j\u00f6rg'"
desc "only ASCII letters are folded: JÖRG is another user than jörg"
expect_rc 3 pw check -p $'J\xc3\x96RG' <<<"secret"

# --- control characters and separators ---------------------------------------
refuse 'control character' "a TAB in the user name" $'tab\tuser'
refuse 'control character' "an ESC in the user name" $'esc\x1buser'
refuse 'control character' "a DEL in the user name" $'del\x7fuser'
refuse 'control character' "a newline in the user name" $'new\nline'
refuse "'@' or ':'" "a ':' in the user name" "co:lon"
refuse "'@' or ':'" "a ':' in the user name with -u" "co:lon" -u example.org
refuse 'empty user name' "an empty user before @" "@example.org"
refuse 'empty realm' "an empty realm after @" "empty@"
desc "the user part keeps earlier '@'s: split at the last one, '@' refused"
expect_rc 6 pw add -p "a@b@example.org" <<<"secret"
expect_err "'@' or ':'"

# --- spaces -----------------------------------------------------------------
refuse 'leading or trailing space' "a leading space" " lead"
refuse 'leading or trailing space' "a trailing space" "trail "
refuse 'leading or trailing space' "a trailing space before @" "trail @example.org"
desc "an inner space is allowed"
expect_rc 0 pw add -p "in ner" <<<"secret"
expect_rc 0 pw check -p "in ner@example.org" <<<"secret"

# --- realm characters -------------------------------------------------------
refuse 'invalid character in realm' "a realm with a space" "r@exa mple.org"
refuse 'invalid character in realm' "a realm with '/'" "r@exa/mple.org"
refuse 'invalid character in realm' "a realm with ':'" "r" -u "exa:mple.org"
refuse 'non-ASCII realm: give its IDN \(xn--\) form' "a realm with non-ASCII" $'r@b\xc3\xbccher.de'
refuse 'empty label' "a realm with an empty label" "r@example..org"
refuse 'empty label' "a realm with a leading dot" "r@.example.org"
refuse 'empty label' "a realm with a trailing dot" "r@example.org."
refuse 'invalid character in realm' "a realm with a control character" $'r@exam\x01ple.org'
desc "a realm with '-' and digits is accepted, lower-cased"
expect_rc 0 pw add -p "r@My-Realm2.EXAMPLE.org" <<<"secret"
expect_rc 0 pw show --json "R@my-realm2.example.ORG"
json_check 'd["realm"] == "my-realm2.example.org" and d["user"] == "r"'
desc "its IDN form is accepted"
expect_rc 0 pw add -p "r@xn--bcher-kva.de" <<<"secret"
# New realms are host names (LDH), pwtool(8); lookups keep the older rule
# (test_name: a stored '_' realm stays reachable).
refuse_new "'_' in realm" "a new realm with '_'" "r@my_realm.example.org"
refuse_new "starts or ends with '-'" "a new realm label starting with '-'" "r@-x.example.org"
refuse_new "starts or ends with '-'" "a new realm label ending with '-'" "r@x-.example.org"
refuse_new "longer than 63" "a new realm label of 64 characters" "r@$(printf 'a%.0s' {1..64}).org"
desc "a 63-character label is fine"
expect_rc 0 pw add -p "r@$(printf 'b%.0s' {1..63}).org" <<<"secret"
desc "import refuses a new '_' realm too (exit 6, named)"
expect_rc 6 pw import <<<"u@bad_realm.org::{PLAIN}x"
expect_err "u@bad_realm.org: '_' in realm"

# --- JSON escaping of odd but valid names ------------------------------------
desc "a user name with '\"' and '\\' is valid"
expect_rc 0 pw add -p -m cram-md5 'quo"te\back' <<<"secret"
desc "show --json escapes '\"' and '\\'"
expect_rc 0 pw show --json 'quo"te\back'
json_check 'd["user"] == "quo\"te\\back" and d["key"] == "quo\"te\\back@example.org"'
desc "list --json escapes them too"
expect_rc 0 pw list --json
json_check '"quo\"te\\back@example.org" in [u["key"] for u in d]'
expect_rc 0 pw delete 'quo"te\back'

# --- what was stored ----------------------------------------------------------
desc "no refused name reached the store"
expect_rc 0 pw list
check test "$(wc -l <"$OUT")" -eq 10
expect_out '^seed@example.org$'
expect_out '^in ner@example.org$'
expect_out '^r@my-realm2.example.org$'
# One bad realm, one exit code wherever it appears: 6 (bad input), as in
# a name given to add or show, not 2 (usage) for list -u.  (A realm that
# only breaks the host-name rule for new realms, such as "bad_realm.org",
# is refused by add alone: a store may hold it from before the rule, so
# lookups still find it.)
for r in "bad realm" "bücher.example" "a..b.org"; do
	desc "the realm '$r' is bad input (6) in add, show, list -u and export -u"
	expect_rc 6 pw add -p "x@$r" <<<"secret"
	expect_rc 6 pw show "x@$r"
	expect_rc 6 pw list -u "$r"
	expect_rc 6 pw export -u "$r"
done

# A name is never echoed raw to the terminal: control characters, C1
# controls and bytes that are not UTF-8 come out as \xNN; valid UTF-8
# stays readable.
desc "a non-UTF-8 realm is escaped in the message"
expect_rc 6 pw add -p "x@b$(printf '\xff')d.org" <<<"secret"
expect_err 'x@b\\xffd\.org'
check sh -c "! LC_ALL=C grep -q \"$(printf '\xff')\" '$ERR'"
desc "an escape sequence in a name is escaped in the message"
expect_rc 6 pw add -p "x$(printf '\033')[31m@example.org" <<<"secret"
expect_err 'x\\x1b\[31m@example\.org'
check sh -c "! grep -q \"$(printf '\033')\" '$ERR'"
desc "a C1 control (U+009B, CSI) is escaped, valid UTF-8 is kept"
expect_rc 3 pw show "$(printf '\302\233')é@example.org"
expect_err '\\xc2\\x9bé@example\.org'
desc "-u on list is case-insensitive"
expect_rc 0 pw list -u EXAMPLE.ORG
expect_out '^seed@example.org$'
expect_no_out 'my-realm'

finish
