#!/bin/bash
# pwtool_usage.sh - the command line, the configuration file, and
# interactive password prompting on a terminal.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)

# --- the command line -------------------------------------------------------
desc "no command exits 2 and prints the usage on stderr"
expect_rc 2 pw
expect_err '^usage: pwtool'
check test ! -s "$OUT"
desc "an unknown command exits 2"
expect_rc 2 pw frobnicate alice
expect_err 'unknown command "frobnicate"'
desc "an unknown option exits 2"
expect_rc 2 pw --frobnicate list
expect_err '^usage: pwtool'
for cmd in add passwd delete lock unlock show check; do
	desc "$cmd without its USER exits 2"
	expect_rc 2 pw $cmd
	expect_err "$cmd takes exactly one USER"
	desc "$cmd with two USERs exits 2"
	expect_rc 2 pw -p $cmd alice bob </dev/null
done
desc "list with an operand exits 2"
expect_rc 2 pw list alice
desc "realms with an operand exits 2"
expect_rc 2 pw realms example.org
desc "import with two files exits 2"
expect_rc 2 pw import a b
desc "export with two files exits 2"
expect_rc 2 pw export a b
desc "-p together with --password-fd exits 2"
expect_rc 2 pw add -p --password-fd 0 alice <<<"secret"
expect_err 'exclude each other'
desc "--password-fd with a negative number exits 2"
expect_rc 2 pw add --password-fd -1 alice <<<"secret"
desc "--password-fd with an empty value exits 2"
expect_rc 2 pw add --password-fd '' alice <<<"secret"
desc "nothing was created by the usage errors"
check store_is_new

desc "options may follow the command"
expect_rc 0 pw add carl0 -p -m cram-md5 <<<"secret"
expect_rc 0 pw check carl0 -p <<<"secret"
desc "a user name beginning with '-' follows --"
expect_rc 0 pw -p add -- -dash <<<"secret"
expect_rc 0 pw -p check -- -dash@example.org <<<"secret"
expect_rc 0 pw list
expect_out '^-dash@example.org$'
store_reset

desc "--help exits 0 and prints the usage on stdout"
expect_rc 0 "$PWTOOL" --help
expect_out '^usage: pwtool'
expect_out 'exit: 0 ok, 1 wrong password, 2 usage'
check test ! -s "$ERR"
desc "-h is --help"
expect_rc 0 "$PWTOOL" -h
expect_out '^usage: pwtool'
desc "--version exits 0 and prints the version"
expect_rc 0 "$PWTOOL" --version
expect_out '^pwtool [0-9]+\.[0-9]+\.[0-9]+$'
desc "-V is --version"
expect_rc 0 "$PWTOOL" -V
expect_out '^pwtool [0-9]+\.[0-9]+\.[0-9]+$'
desc "--help does not need a readable configuration"
expect_rc 0 "$PWTOOL" -c "$TMP/missing.conf" --help

# --- the configuration file -------------------------------------------------
# bad_conf NAME CONTENT ERROR-RE - pwtool with this configuration exits 8
# and the message names the file and the line.
bad_conf() {
	local name=$1 content=$2 re=$3 f=$TMP/$1.conf
	printf '%s\n' "$content" >"$f"
	desc "config $name: exit 8"
	expect_rc 8 "$PWTOOL" -c "$f" -f "$DB" add -p alice <<<"secret"
	desc "config $name: the message names file:line"
	expect_err "^pwtool: $f:$re"
	desc "config $name: list fails the same way"
	expect_rc 8 "$PWTOOL" -c "$f" -f "$DB" list
}
bad_conf unknown-key $'default_realm = example.org\n# comment\nno_such_key = 1' \
	'3: unknown key "no_such_key"'
bad_conf bad-uint $'store_lock_timeout = ten' \
	'1: store_lock_timeout: expected a whole number'
bad_conf uint-range $'\n\nscram_iterations = 100' \
	'3: scram_iterations: number out of range'
bad_conf bad-enum $'password_scheme = md5-crypt' \
	'1: password_scheme: not one of the allowed values'
bad_conf bad-bool $'username_fold_case = maybe' \
	'1: username_fold_case: expected yes or no'
bad_conf bad-mode $'store_mode = 0999' \
	'1: store_mode: expected an octal mode'
bad_conf negative $'password_cost = -1' \
	'1: password_cost: expected a whole number'
bad_conf duplicate $'default_realm = example.org\npassword_cost = 1000\n  default_realm = other.org' \
	'3: default_realm is already set at line 1'
bad_conf no-equals $'default_realm example.org' \
	'1: expected "key = value"'
bad_conf no-key $' = example.org' \
	'1: missing key before "="'
desc "nothing was created by the bad configurations"
check store_is_new

printf 'default_realm = bad realm\n' >"$TMP/badrealm.conf"
desc "an invalid default_realm exits 8"
expect_rc 8 "$PWTOOL" -c "$TMP/badrealm.conf" -f "$DB" add -p alice <<<"secret"
expect_err 'default_realm: invalid character in realm'
printf 'default_realm = example.org\nstore_owner = no-such-user-pwtool-it\n' >"$TMP/owner.conf"
desc "an unknown store_owner exits 8"
expect_rc 8 "$PWTOOL" -c "$TMP/owner.conf" -f "$DB" add -p alice <<<"secret"
expect_err 'store_owner: no user no-such-user-pwtool-it'
printf 'default_realm = example.org\nstore_group = no-such-group-pwtool-it\n' >"$TMP/group.conf"
desc "an unknown store_group exits 8"
expect_rc 8 "$PWTOOL" -c "$TMP/group.conf" -f "$DB" list
expect_err 'store_group: no group'
printf 'default_realm = example.org\npwtool_default_mechs = plain rot13\n' >"$TMP/mechs.conf"
desc "an unknown word in pwtool_default_mechs exits 8 (not 2) for add"
expect_rc 8 "$PWTOOL" -c "$TMP/mechs.conf" -f "$DB" add -p alice <<<"secret"
expect_err 'pwtool_default_mechs: unknown mechanism'
desc "a bad pwtool_default_mechs is a configuration error even with -m"
expect_rc 8 "$PWTOOL" -c "$TMP/mechs.conf" -f "$DB" add -p -m cram-md5 alice <<<"secret"
printf 'default_realm = example.org\npassword_scheme = yescrypt\npassword_cost = 99\n' >"$TMP/cost.conf"
desc "a password_cost out of range for the scheme exits 8"
expect_rc 8 "$PWTOOL" -c "$TMP/cost.conf" -f "$DB" add -p alice <<<"secret"
expect_err 'password_cost'
printf 'default_realm = example.org\npassword_scheme = bcrypt\npassword_cost = 3\n' >"$TMP/cost.conf"
desc "bcrypt with cost 3 exits 8"
expect_rc 8 "$PWTOOL" -c "$TMP/cost.conf" -f "$DB" add -p alice <<<"secret"
desc "nothing was created by the refused configurations"
check store_is_new
printf 'default_realm = example.org\npassword_scheme = bcrypt\npassword_cost = 4\n' >"$TMP/bcrypt.conf"
desc "password_scheme = bcrypt makes bcrypt hashes"
expect_rc 0 "$PWTOOL" -c "$TMP/bcrypt.conf" -f "$DB" add -p -m plain alice0 <<<"secret"
expect_rc 0 pw show --json alice0
json_check 'd["verifiers"] == ["bcrypt"]'
expect_rc 0 pw check -p alice0 <<<"secret"
expect_rc 0 pw export
expect_out '^alice0@example.org:[^:]*:\{CRYPT\}\$2b\$04\$'

desc "-c naming a missing file exits 8"
expect_rc 8 "$PWTOOL" -c "$TMP/missing.conf" -f "$DB" list
expect_err "$TMP/missing.conf: No such file"
desc "-c naming a directory exits 8"
expect_rc 8 "$PWTOOL" -c "$TMP" -f "$DB" list

cat >"$TMP/good.conf" <<'EOF'
# comments and blank lines are fine

	default_realm	=   Example.Org   
password_scheme = sha512-crypt
password_cost = 1000
pwtool_default_mechs = cram-md5, digest-md5
EOF
desc "a configuration with spaces, tabs and comments is read"
expect_rc 0 "$PWTOOL" -c "$TMP/good.conf" -f "$DB" add -p carl <<<"secret"
desc "default_realm is lower-cased; pwtool_default_mechs is used"
expect_rc 0 pw show --json carl@example.org
json_check 'd["verifiers"] == ["cram-md5", "digest-md5", "digest-md5-addr"]'

printf 'default_realm = example.org\nusername_fold_case = no\n' >"$TMP/nofold.conf"
desc "username_fold_case = no keeps upper-case users apart"
expect_rc 0 "$PWTOOL" -c "$TMP/nofold.conf" -f "$DB" add -p -m cram-md5 Carl <<<"other"
expect_rc 0 pw list
expect_out '^Carl@example.org$'
expect_out '^carl@example.org$'
desc "... the realm is still lower-cased"
expect_rc 0 "$PWTOOL" -c "$TMP/nofold.conf" -f "$DB" check -p Carl@EXAMPLE.ORG <<<"other"

# --- interactive passwords --------------------------------------------------
desc "no terminal and no -p: add exits 2 with a message"
expect_rc 2 setsid -w "$PWTOOL" -c "$CONF" -f "$DB" add dora </dev/null
expect_err 'no terminal to ask for the password'
desc "no terminal and no -p: check exits 2"
expect_rc 2 setsid -w "$PWTOOL" -c "$CONF" -f "$DB" check carl </dev/null
desc "no terminal: nothing was added"
expect_rc 3 pw show dora

drive() {
	python3 "$HERE/pty_drive.py" "$@"
}
typed='Typed-Secret-42'
desc "interactive add with matching passwords exits 0"
expect_rc 0 drive --expect "Password for dora@example.org: " --send "$typed" \
	--expect "Again: " --send "$typed" -- \
	"$PWTOOL" -c "$CONF" -f "$DB" add dora
desc "the first prompt names the user"
expect_out '^Password for dora@example.org: '
desc "the second prompt is Again:"
expect_out '^Again: '
desc "echo was off when the first password was typed"
expect_out "^\[echo-off-before-typing: yes for 'Password for dora@example.org: '\]"
desc "echo was off when the second password was typed"
expect_out "^\[echo-off-before-typing: yes for 'Again: '\]"
desc "the typed password does not appear on the terminal"
expect_no_out "$typed"
desc "echo is back on after the command"
expect_out '^\[echo-after-exit: on\]$'
desc "the typed password is the one stored"
expect_rc 0 pw check -p dora <<<"$typed"

desc "interactive add with different passwords exits 6"
expect_rc 6 drive --expect "Password for eve@example.org: " --send "$typed" \
	--expect "Again: " --send "${typed}x" -- \
	"$PWTOOL" -c "$CONF" -f "$DB" add eve
expect_out 'the two passwords differ'
expect_no_out "$typed"
desc "eve was not added"
expect_rc 3 pw show eve

desc "interactive empty password exits 6"
expect_rc 6 drive --expect "Password for eve@example.org: " --send "" \
	--expect "Again: " --send "" -- \
	"$PWTOOL" -c "$CONF" -f "$DB" add eve
expect_out 'empty password'

desc "interactive check asks once and accepts the right password"
expect_rc 0 drive --expect "Password for dora@example.org: " --send "$typed" -- \
	"$PWTOOL" -c "$CONF" -f "$DB" check dora
expect_no_out 'Again'
expect_no_out "$typed"
desc "interactive check with a wrong password exits 1"
expect_rc 1 drive --expect "Password for dora@example.org: " --send "wrong" -- \
	"$PWTOOL" -c "$CONF" -f "$DB" check dora
expect_no_out 'wrong[^ ]'

desc "interactive passwd with matching passwords changes the password"
expect_rc 0 drive --expect "Password for dora@example.org: " --send "n3w-$typed" \
	--expect "Again: " --send "n3w-$typed" -- \
	"$PWTOOL" -c "$CONF" -f "$DB" passwd dora
expect_rc 1 pw check -p dora <<<"$typed"
expect_rc 0 pw check -p dora <<<"n3w-$typed"

desc "interactive passwd with different passwords exits 6 and changes nothing"
expect_rc 6 drive --expect "Password for dora@example.org: " --send "a-$typed" \
	--expect "Again: " --send "b-$typed" -- \
	"$PWTOOL" -c "$CONF" -f "$DB" passwd dora
expect_rc 0 pw check -p dora <<<"n3w-$typed"

desc "^C at the first prompt ends pwtool (SIGINT)"
expect_rc 130 drive --expect "Password for fred@example.org: " --intr -- \
	"$PWTOOL" -c "$CONF" -f "$DB" add fred
desc "^C at the first prompt leaves the terminal with echo on"
expect_out '^\[echo-after-exit: on\]$'
desc "^C at the second prompt leaves the terminal with echo on"
expect_rc 130 drive --expect "Password for fred@example.org: " --send "$typed" \
	--expect "Again: " --intr -- \
	"$PWTOOL" -c "$CONF" -f "$DB" add fred
expect_out '^\[echo-after-exit: on\]$'
desc "^C added nothing"
expect_rc 3 pw show fred

desc "a typo in the name costs no prompt: add of an existing user exits 4 at once"
expect_rc 4 drive -- "$PWTOOL" -c "$CONF" -f "$DB" add dora
expect_no_out 'Password for'

finish
