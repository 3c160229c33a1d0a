# lib.sh - shared helpers of the pwtool integration tests.  Sourced, not
# run.  Provides a private temporary directory, a private configuration and
# store, and TAP-like assertions:
#
#   expect_rc CODE CMD...   run CMD (stdout to $OUT, stderr to $ERR) and
#                           check its exit status
#   expect_out RE           the last command's stdout matches the ERE
#   expect_no_out RE        ... does not match
#   expect_err RE           the last command's stderr matches the ERE
#   expect_eq WANT GOT      two strings are equal
#   check CMD...            CMD succeeds (any assertion written as a command)
#   desc TEXT               description of the next assertion
#   finish                  print the plan and exit 1 if anything failed
#
# Every assertion prints "ok N - desc" or "not ok N - desc" plus "# ..."
# diagnostics.  A script that stops before finish (set -e) counts as failed.
set -euo pipefail

: "${PWTOOL:?PWTOOL must name the pwtool binary}"
[ -x "$PWTOOL" ] || { echo "Bail out! $PWTOOL is not executable"; exit 1; }

# AUTHD_TEST_STORE=postgresql runs the same script against a private
# PostgreSQL (tests/pg/pglib.sh, suite pg): $DB is then a postgresql://
# URI that pwtool -f takes, on a database with the schema made by pwtool
# init, and STORE says which store the checks run on.
STORE=${AUTHD_TEST_STORE:-gdbm}
case $STORE in
gdbm|postgresql) ;;
*) echo "Bail out! AUTHD_TEST_STORE=$STORE: gdbm or postgresql"; exit 1 ;;
esac
if [ "$STORE" = postgresql ]; then
	. "$(dirname "${BASH_SOURCE[0]}")/../pg/pglib.sh"
	pg_require
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pwtool-it.XXXXXX")
OUT=$TMP/.out
ERR=$TMP/.err
CONF=$TMP/authd.conf
DB=$TMP/users.db
TESTS_RUN=0
TESTS_FAILED=0
FINISHED=0
_DESC=

_lib_exit() {
	local rc=$?

	if [ "$FINISHED" != 1 ]; then
		echo "not ok $((TESTS_RUN + 1)) - script stopped early (status $rc${_LAST_ERR:+, at $_LAST_ERR})"
		rc=1
	fi
	# Leave nothing running behind: background jobs of this script.
	local j
	for j in $(jobs -p); do
		kill -9 "$j" 2>/dev/null || true
	done
	[ "$STORE" = postgresql ] && pg_cleanup
	rm -rf "$TMP"
	exit "$rc"
}
trap _lib_exit EXIT
trap '_LAST_ERR="line $LINENO: $BASH_COMMAND"' ERR

# The fast configuration: hashing cost is not what these tests are about.
write_conf() {
	cat >"$CONF" <<-EOF
	# written by lib.sh
	default_realm = example.org
	password_scheme = sha512-crypt
	password_cost = 1000
	scram_iterations = 4096
	EOF
}
write_conf

# Stores by name, the same calls on both stores: NAME is $TMP/NAME.db on
# GDBM, database NAME on PostgreSQL (schema made by pwtool init, as an
# admin would).  The script's store is "users".
#   store_use NAME       point $DB at store NAME (made empty if new)
#   store_reset          make $DB's store empty, as if never written
#   store_save COPY / store_restore COPY   keep and put back its state
#   store_is_new         $DB's store has had no commit yet
#   store_sha            a digest of $DB's whole state (every record, the
#                        secret, the histogram; and on PostgreSQL the
#                        change counter, as a GDBM file's bytes would)
STORE_NAME=users
store_use() {
	STORE_NAME=$1
	if [ "$STORE" = gdbm ]; then
		DB=$TMP/$1.db
		return 0
	fi
	DB=$(pg_uri "$1")
	if [ -z "$(pg_psql postgres -At -c "SELECT 1 FROM pg_database WHERE datname = '$1'")" ]; then
		pg_createdb "$1"
		"$PWTOOL" -c "$CONF" -f "$DB" init \
			"$(dirname "${BASH_SOURCE[0]}")/../../sql/schema.sql" >/dev/null
	fi
}
store_reset() {
	if [ "$STORE" = gdbm ]; then
		rm -f "$DB" "$DB.lock"
	else
		pg_psql "$STORE_NAME" -c "TRUNCATE authd_users; UPDATE authd_store SET secret = NULL, scram_iters = NULL"
	fi
}
store_save() {
	if [ "$STORE" = gdbm ]; then
		cp -p "$DB" "$TMP/$1.db"
	else
		pg_psql postgres -c "DROP DATABASE IF EXISTS \"$1\"" \
			-c "CREATE DATABASE \"$1\" TEMPLATE \"$STORE_NAME\""
	fi
}
store_restore() {
	if [ "$STORE" = gdbm ]; then
		cp -p "$TMP/$1.db" "$DB"
	else
		pg_psql postgres -c "DROP DATABASE \"$STORE_NAME\"" \
			-c "CREATE DATABASE \"$STORE_NAME\" TEMPLATE \"$1\""
	fi
}
store_sha() {
	if [ "$STORE" = gdbm ]; then
		sha "$DB"
	else
		pg_psql "$STORE_NAME" -At -c "SELECT md5(coalesce((SELECT string_agg(key || ':' || encode(record, 'hex'), ',' ORDER BY key) FROM authd_users), '') || '/' || (SELECT coalesce(encode(secret, 'hex'), '') || coalesce(encode(scram_iters, 'hex'), '') || changes FROM authd_store))"
	fi
}
# store_is_new - $DB's store has had no commit (GDBM: no file; the
# PostgreSQL store: no secret yet, see store_pg_missing).
store_is_new() {
	if [ "$STORE" = gdbm ]; then
		test ! -e "$DB"
	else
		test "$(pg_psql "$STORE_NAME" -At -c "SELECT secret IS NULL FROM authd_store")" = t
	fi
}
[ "$STORE" = postgresql ] && pg_start
store_use users

# gdbm_only - true on the GDBM store: checks of files (modes, copies,
# leftovers) that a database does not have.
gdbm_only() {
	[ "$STORE" = gdbm ]
}

# pw ARGS... - pwtool on the private configuration and store.
pw() {
	"$PWTOOL" -c "$CONF" -f "$DB" "$@"
}

desc() {
	_DESC=$*
}

# _take_desc DEFAULT - set _D to the pending description (or DEFAULT)
# and consume it.
_take_desc() {
	_D=${_DESC:-$1}
	_DESC=
}

pass() {
	_take_desc "$*"
	TESTS_RUN=$((TESTS_RUN + 1))
	echo "ok $TESTS_RUN - $_D"
}

fail() {
	_take_desc "$*"
	TESTS_RUN=$((TESTS_RUN + 1))
	TESTS_FAILED=$((TESTS_FAILED + 1))
	echo "not ok $TESTS_RUN - $_D"
}

# diag FILE LABEL - show a captured file as "# " lines (bounded).
diag() {
	[ -s "$1" ] || { echo "#   $2: (empty)"; return 0; }
	echo "#   $2:"
	head -c 2000 "$1" | sed 's/^/#     /'
	echo
}

# _cmdline CMD... - a readable, shell-quoted form of a command.
_cmdline() {
	local s
	s=$(printf '%q ' "$@")
	s=${s% }
	# Keep long arguments (passwords, lines) readable.
	[ ${#s} -gt 300 ] && s="${s:0:300}..."
	printf '%s' "$s"
}

expect_rc() {
	local want=$1 rc=0
	shift
	local d
	_take_desc "$(_cmdline "$@") exits $want"
	d=$_D
	"$@" >"$OUT" 2>"$ERR" || rc=$?
	if [ "$rc" = "$want" ]; then
		pass "$d"
	else
		fail "$d"
		echo "#   command:  $(_cmdline "$@")"
		echo "#   expected: exit $want"
		echo "#   actual:   exit $rc"
		diag "$ERR" stderr
		diag "$OUT" stdout
	fi
	return 0
}

expect_out() {
	if grep -Eq -- "$1" "$OUT"; then
		pass "stdout matches /$1/"
	else
		fail "stdout matches /$1/"
		diag "$OUT" stdout
	fi
}

expect_no_out() {
	if ! grep -Eq -- "$1" "$OUT"; then
		pass "stdout does not match /$1/"
	else
		fail "stdout does not match /$1/"
		diag "$OUT" stdout
	fi
}

expect_err() {
	if grep -Eq -- "$1" "$ERR"; then
		pass "stderr matches /$1/"
	else
		fail "stderr matches /$1/"
		diag "$ERR" stderr
	fi
}

expect_eq() {
	if [ "$1" = "$2" ]; then
		local g=${2//$'\n'/\\n}
		pass "got \"${g:0:80}\""
	else
		fail "expected \"${1:0:200}\""
		echo "#   expected: ${1:0:500}"
		echo "#   actual:   ${2:0:500}"
	fi
}

# check CMD... - an assertion that is a command (test, cmp, grep...).
check() {
	local rc=0
	"$@" >"$TMP/.check" 2>&1 || rc=$?
	if [ $rc = 0 ]; then
		pass "$(_cmdline "$@")"
	else
		fail "$(_cmdline "$@")"
		echo "#   command failed with exit $rc: $(_cmdline "$@")"
		diag "$TMP/.check" output
	fi
	return 0
}

# json_check PYEXPR - evaluate a Python boolean over the last stdout parsed
# as JSON (bound to d); a parse error or a false result fails.
json_check() {
	local rc=0
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
ok = eval(sys.argv[2])
sys.exit(0 if ok else 1)' "$OUT" "$1" >"$TMP/.check" 2>&1 || rc=$?
	if [ $rc = 0 ]; then
		pass "JSON: $1"
	else
		fail "JSON: $1"
		diag "$OUT" stdout
		diag "$TMP/.check" python
	fi
}

mode_of() {
	stat -c %a "$1"
}

sha() {
	sha256sum <"$1" | cut -d' ' -f1
}

finish() {
	echo "1..$TESTS_RUN"
	FINISHED=1
	if [ "$TESTS_FAILED" -gt 0 ]; then
		echo "# $TESTS_FAILED of $TESTS_RUN checks failed"
		exit 1
	fi
	echo "# all $TESTS_RUN checks passed"
	exit 0
}
