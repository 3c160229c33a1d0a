#!/bin/bash
# completion.sh - the bash completion of pwtool and authd
# (contrib/bash-completion/), driven as bash does it: COMP_WORDS and
# COMP_CWORD set, the function called, COMPREPLY read.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# complete WORD... - the candidates for the last word, sorted, on one line.
complete_words() {
	local fn=$1; shift
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMPREPLY=()
	"$fn"
	printf '%s\n' "${COMPREPLY[@]}" | sort | paste -sd' '
}

# pwtool, as installed, is what the completion runs for `list`.
mkdir -p "$TMP/bin"
ln -s "$PWTOOL" "$TMP/bin/pwtool"
PATH=$TMP/bin:$PATH
# shellcheck source=/dev/null
. "$SRCDIR/contrib/bash-completion/pwtool"
# shellcheck source=/dev/null
. "$SRCDIR/contrib/bash-completion/authd"

desc "pwtool: the commands"
expect_eq "add" "$(complete_words _pwtool pwtool ad)"
expect_eq "batch" "$(complete_words _pwtool pwtool ba)"
expect_eq "compact" "$(complete_words _pwtool pwtool comp)"
expect_eq "init" "$(complete_words _pwtool pwtool in)"
expect_eq "check" "$(complete_words _pwtool pwtool -j che)"
expect_eq "import import-sasldb" "$(complete_words _pwtool pwtool imp)"
expect_eq "--realm-map" "$(complete_words _pwtool pwtool --realm-)"
desc "pwtool: import-sasldb completes a file; --realm-map completes nothing"
expect_eq "$TMP/authd.conf" "$(complete_words _pwtool pwtool import-sasldb "$TMP/authd.c")"
expect_eq "" "$(complete_words _pwtool pwtool --realm-map "")"
desc "pwtool: the options"
expect_eq "--dry-run --disabled" "$(complete_words _pwtool pwtool --d | tr ' ' '\n' | sort -r | paste -sd' ')"
desc "pwtool: -m lists the mechanisms"
expect_eq "scram scram-sha-1 scram-sha-256" "$(complete_words _pwtool pwtool -m scr)"
desc "pwtool: users of the store named by -c/-f, for commands that take one"
expect_rc 0 pw add -p alice@example.org <<<"secret"
expect_rc 0 pw add -p albert@example.org <<<"secret"
expect_rc 0 pw add -p bob@example.org <<<"secret"
expect_eq "albert@example.org alice@example.org" \
	"$(complete_words _pwtool pwtool -c "$CONF" -f "$DB" passwd al)"
expect_eq "bob@example.org" \
	"$(complete_words _pwtool pwtool -c "$CONF" -f "$DB" lock b)"
desc "pwtool: no user list for list itself, nor from a store that does not exist"
expect_eq "" "$(complete_words _pwtool pwtool -c "$CONF" -f "$DB" list a)"
expect_eq "" "$(complete_words _pwtool pwtool -c "$CONF" -f "$TMP/none.db" show a)"
desc "authd: the options and -a's back-ends"
expect_eq "--config" "$(complete_words _authd authd --c)"
expect_eq "pam store" "$(complete_words _authd authd -a "")"
desc "bash itself loads both files without error"
expect_rc 0 bash -c '. "$1"; . "$2"; complete -p pwtool authd' _ \
	"$SRCDIR/contrib/bash-completion/pwtool" "$SRCDIR/contrib/bash-completion/authd"
expect_out '_pwtool pwtool'
expect_out '_authd authd'

finish
