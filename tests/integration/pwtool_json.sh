#!/bin/bash
# pwtool_json.sh - --json on every outcome (issue 12): each command prints
# exactly one JSON document on stdout, a success object or
# {"error": MSG, "code": N, ...} with N the exit status, which is the
# same as without --json; the message is the text mode's; strings are
# valid UTF-8 JSON whatever the input; no password is ever printed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# A password that must never appear in any output.
SECRET='Zq7-never-printed-9xW'
ALL_OUT=$TMP/all.out

# jrun RC PYEXPR CMD... - run CMD (stdin inherited), expect exit RC, and
# check its stdout: one JSON document (UTF-8, nothing before or after),
# an error object whose code is RC and whose message is the stderr line
# without "pwtool: " when RC is not 0, no "error" member when it is 0;
# then PYEXPR over the document (d).
jrun() {
	local want=$1 expr=$2 rc=0
	shift 2
	expect_rc "$want" "$@"
	cat "$OUT" "$ERR" >>"$ALL_OUT"
	python3 - "$OUT" "$ERR" "$want" "$expr" >"$TMP/.py" 2>&1 <<'PY' || rc=$?
import json, sys
out, err, want, expr = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
text = open(out, "rb").read().decode("utf-8")    # strict: UTF-8 only
d = json.loads(text)                             # exactly one document
assert text.endswith("\n") and text.strip() == text[:-1].strip(), repr(text)
if want != 0:
    assert isinstance(d, dict), d
    assert d["code"] == want, d
    assert isinstance(d["error"], str) and d["error"], d
    assert not d["error"].startswith("pwtool:"), d
    lines = open(err, "rb").read().decode("utf-8", "replace").splitlines()
    assert "pwtool: " + d["error"] in lines or \
        any(l.startswith("pwtool: ") and "\ufffd" in d["error"] for l in lines), (d, lines)
else:
    assert not (isinstance(d, dict) and "error" in d), d
assert eval("(" + expr + ")"), d
PY
	if [ $rc = 0 ]; then
		pass "JSON ($want): $expr"
	else
		fail "JSON ($want): $expr"
		diag "$OUT" stdout
		diag "$ERR" stderr
		diag "$TMP/.py" python
	fi
}

# --- before any store exists ---------------------------------------------------
desc "list of a missing store: 5"
jrun 5 'd["command"] == "list" and "no such store" in d["error"]' pw --json list
desc "realms of a missing store: 5"
jrun 5 'd["command"] == "realms"' pw --json realms
desc "export of a missing store: 5"
jrun 5 'd["command"] == "export"' pw --json export
desc "show of a missing store: 3 (no such user)"
jrun 3 'd["command"] == "show" and d["key"] == "alice@example.org"' pw --json show alice
desc "passwd on a missing store: 3"
jrun 3 'd["command"] == "passwd"' pw --json passwd -p alice <<<"$SECRET"
desc "the store's directory is missing: 5"
jrun 5 'd["command"] == "add"' "$PWTOOL" -c "$CONF" -f "$TMP/no/dir/u.db" \
	--json add -p alice <<<"$SECRET"

# --- add -----------------------------------------------------------------------
desc "add: a success object"
jrun 0 'd == {"ok": True, "command": "add", "key": "alice@example.org",
	"disabled": False, "verifiers": ["sha512-crypt"],
	"mechanisms": ["PLAIN", "LOGIN"]}' pw --json add -p -m plain alice <<<"$SECRET"
desc "add -m, --disabled: the verifiers and the flag stored"
jrun 0 'd["ok"] and d["key"] == "bob@other.test" and d["disabled"] is True and
	d["verifiers"] == ["scram-sha-256:4096", "cram-md5"] and
	"CRAM-MD5" in d["mechanisms"]' \
	pw -j -u other.test add -p -m scram-sha-256,cram-md5 --disabled bob <<<"$SECRET"
desc "add of an existing user: 4"
jrun 4 'd["command"] == "add" and d["key"] == "alice@example.org" and
	"user exists" in d["error"]' pw --json add -p alice <<<"$SECRET"
desc "add in a bad realm: 6"
jrun 6 'd["command"] == "add" and "realm" in d["error"]' \
	pw --json add -p carol@bad_realm.test <<<"$SECRET"
desc "add with a bad -m: 2"
jrun 2 'd["command"] == "add" and d["error"].startswith("--mechs")' \
	pw --json add -p -m nonsense carol <<<"$SECRET"
desc "add without USER: 2"
jrun 2 'd["command"] == "add"' pw --json add
desc "add without a terminal and without -p: 2"
jrun 2 '"no terminal" in d["error"]' pw --json add carol </dev/null
desc "add with an empty password: 6"
jrun 6 'd["command"] == "add"' pw --json add -p carol </dev/null
desc "add: the message is the text mode's"
expect_rc 4 pw add -p alice <<<"$SECRET"
text_err=$(cat "$ERR")
expect_rc 4 pw --json add -p alice <<<"$SECRET"
expect_eq "$text_err" "pwtool: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["error"])' "$OUT")"

# --- passwd --------------------------------------------------------------------
desc "passwd: a success object (alias change is reported as passwd)"
jrun 0 'd["ok"] and d["command"] == "passwd" and d["key"] == "alice@example.org" and
	d["verifiers"] == ["sha512-crypt"]' pw --json change -p alice <<<"$SECRET"
desc "passwd -m: the new set"
jrun 0 'd["verifiers"] == ["scram-sha-256:4096", "scram-sha-1:4096"]' \
	pw --json passwd -p -m scram alice <<<"$SECRET"
desc "passwd of an unknown user: 3"
jrun 3 'd["command"] == "passwd" and d["key"] == "nobody@example.org"' \
	pw --json passwd -p nobody <<<"$SECRET"

# --- lock, unlock --------------------------------------------------------------
desc "lock: disabled true"
jrun 0 'd["ok"] and d["command"] == "lock" and d["disabled"] is True' pw --json lock alice
desc "check of the locked user: 7"
jrun 7 'd["command"] == "check" and "locked" in d["error"]' pw --json check -p alice <<<"$SECRET"
desc "unlock: disabled false"
jrun 0 'd["ok"] and d["command"] == "unlock" and d["disabled"] is False' pw --json unlock alice
desc "lock of an unknown user: 3"
jrun 3 'd["command"] == "lock"' pw --json lock nobody
desc "unlock of an unknown user: 3"
jrun 3 'd["command"] == "unlock"' pw --json unlock nobody
desc "unlock with both @REALM and -u: 2"
jrun 2 '"realm given twice" in d["error"]' pw --json unlock -u x.test alice@example.org

# --- show, check (their shapes as before) --------------------------------------
desc "show: the record object"
jrun 0 'd["key"] == "alice@example.org" and d["user"] == "alice" and
	set(d) == {"user", "realm", "key", "disabled", "created", "changed",
		   "verifiers", "mechanisms", "password_equivalent"}' pw --json show alice
desc "show of an unknown user: 3"
jrun 3 'd["command"] == "show"' pw --json show nobody
desc "check: {key, result}"
jrun 0 'd == {"key": "alice@example.org", "result": "ok"}' pw --json check -p alice <<<"$SECRET"
desc "check with a wrong password: 1"
jrun 1 'd["command"] == "check" and "wrong password" in d["error"]' \
	pw --json check -p alice <<<"wrong"
desc "check of an unknown user: 3"
jrun 3 'd["command"] == "check"' pw --json check -p nobody <<<"$SECRET"

# --- list, realms --------------------------------------------------------------
desc "list: an array of show objects"
jrun 0 '[u["key"] for u in d] == ["alice@example.org", "bob@other.test"]' pw --json list
desc "list -u: one realm"
jrun 0 '[u["key"] for u in d] == ["bob@other.test"]' pw --json list -u other.test
desc "list -u with a bad realm: 6, as in a name"
jrun 6 'd["command"] == "list"' pw --json list -u 'bad realm'
desc "list with an operand: 2"
jrun 2 'd["command"] == "list"' pw --json list extra
desc "realms: an array of {realm, users}"
jrun 0 'd == [{"realm": "example.org", "users": 1}, {"realm": "other.test", "users": 1}]' \
	pw --json realms
desc "realms with an operand: 2"
jrun 2 'd["command"] == "realms"' pw --json realms extra

# --- export, import ------------------------------------------------------------
desc "export to stdout: the lines inside one document"
jrun 0 'd["ok"] and d["command"] == "export" and d["format"] == 1 and
	d["users"] == 2 and d["lines"][0].startswith("alice@example.org:")' pw --json export
lines_json=$(python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))["lines"]))' "$OUT")
expect_rc 0 pw export
desc "the JSON lines are the text export's, without its header"
expect_eq "$(grep -v '^#' "$OUT")" "$lines_json"
desc "export to a FILE: a success object naming it"
jrun 0 "d == {'ok': True, 'command': 'export', 'file': '$TMP/exp.txt', 'users': 2}" \
	pw --json export "$TMP/exp.txt"
check grep -q '^bob@other.test:' "$TMP/exp.txt"
desc "export to a directory that does not exist: 6"
jrun 6 'd["command"] == "export"' pw --json export "$TMP/no/such/exp.txt"
desc "export with two FILEs: 2"
jrun 2 'd["command"] == "export"' pw --json export a b
printf 'new1@example.org::{PLAIN}x\nnew2@example.org::{PLAIN}x\n' >"$TMP/imp.txt"
desc "import: its counts object, as before"
jrun 0 'd == {"added": 2, "replaced": 0, "dry_run": False}' pw --json import "$TMP/imp.txt"
printf 'new3@example.org::{PLAIN}x\nbroken\nnew1@example.org::{PLAIN}x\n' >"$TMP/bad.txt"
desc "import with bad lines: 6, the summary and each line's error"
jrun 6 'd["command"] == "import" and d["error"].endswith("2 errors, nothing imported") and
	[e["line"] for e in d["errors"]] == [2, 3] and
	"user exists" in d["errors"][1]["error"]' pw --json import "$TMP/bad.txt"
desc "import of a file that does not exist: 6"
jrun 6 'd["command"] == "import"' pw --json import "$TMP/none.txt"

# --- delete --------------------------------------------------------------------
desc "delete: a success object"
jrun 0 'd == {"ok": True, "command": "delete", "key": "new2@example.org"}' pw --json del new2
desc "delete of an unknown user: 3"
jrun 3 'd["command"] == "delete" and d["key"] == "new2@example.org"' pw --json delete new2

# --- compact -------------------------------------------------------------------
desc "compact: ok, and the former status member"
jrun 0 'd == {"ok": True, "command": "compact", "status": "ok"}' pw --json compact
desc "compact with an operand: 2"
jrun 2 'd["command"] == "compact"' pw --json compact extra

# --- usage errors, wherever --json is ------------------------------------------
desc "an unknown option before --json: 2"
jrun 2 'd["error"] == "unrecognized option '"'--bogus'"'" and "command" not in d' \
	pw --bogus --json list
desc "an unknown short option in a cluster with -j: 2"
jrun 2 'd["error"] == "invalid option -- '"'x'"'"' pw -jx list
desc "a missing option argument after the command: 2"
jrun 2 '"requires an argument" in d["error"]' pw --json list --realm
desc "--json=VALUE: 2"
jrun 2 '"doesn'"'"'t allow an argument" in d["error"]' pw --json=yes list
desc "an ambiguous abbreviation, with --js for --json: 2"
jrun 2 '"ambiguous" in d["error"]' pw --js --p list
desc "no command: 2"
jrun 2 'd["error"].startswith("no command")' pw --json
desc "an unknown command: 2"
jrun 2 '"unknown command" in d["error"]' pw --json frobnicate
desc "-p and --password-fd together: 2"
jrun 2 '"exclude" in d["error"]' pw --json -p --password-fd 0 add carol
desc "--password-fd that is not a number: 2"
jrun 2 '"descriptor" in d["error"]' pw --json --password-fd x add carol
desc "a USER operand that looks like -j after -- is not --json"
expect_rc 2 pw list -- -j
check test ! -s "$OUT"
desc "--version and --help with --json"
jrun 0 'd["ok"] and d["command"] == "version" and d["version"]' pw --json -V
jrun 0 'd["ok"] and d["usage"].startswith("usage: pwtool")' pw --json --help

# --- configuration -------------------------------------------------------------
desc "a configuration file that does not exist: 8"
jrun 8 'd["command"] == "list"' "$PWTOOL" -c "$TMP/none.conf" -f "$DB" --json list
printf 'no_such_key = 1\n' >"$TMP/bad.conf"
desc "an unknown key: 8, with the file and line"
jrun 8 '"bad.conf:1" in d["error"]' "$PWTOOL" -c "$TMP/bad.conf" -f "$DB" --json list
cp "$CONF" "$TMP/open.conf"
printf 'store_mode = 0644\n' >>"$TMP/open.conf"
desc "a store_mode open to others for a write: 8"
jrun 8 '"store_mode" in d["error"]' "$PWTOOL" -c "$TMP/open.conf" -f "$DB" \
	--json add -p carol <<<"$SECRET"

# --- the store locked by another writer ------------------------------------------
cp "$CONF" "$TMP/lock1.conf"
printf 'store_lock_timeout = 1\n' >>"$TMP/lock1.conf"
( exec 9>>"$DB.lock"; flock 9; exec sleep 30 ) &
holder=$!
for _ in $(seq 1 200); do
	flock -n "$DB.lock" true 2>/dev/null || break
	sleep 0.02
done
desc "add while the writer lock is held: 5"
jrun 5 'd["command"] == "add" and "locked" in d["error"]' \
	"$PWTOOL" -c "$TMP/lock1.conf" -f "$DB" --json add -p carol <<<"$SECRET"
desc "delete while the writer lock is held: 5"
jrun 5 'd["command"] == "delete"' "$PWTOOL" -c "$TMP/lock1.conf" -f "$DB" --json delete alice
kill "$holder" 2>/dev/null || true
wait "$holder" 2>/dev/null || true

# --- a store another user cannot read ------------------------------------------
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	chmod 755 "$TMP"
	cp "$CONF" "$TMP/world.conf"
	chmod 644 "$TMP/world.conf"
	desc "list as a user who may not read the store: 5"
	jrun 5 'd["command"] == "list"' setpriv --reuid=nobody --regid=nogroup \
		--clear-groups -- "$PWTOOL" -c "$TMP/world.conf" -f "$DB" --json list
	desc "add as that user: 5"
	jrun 5 'd["command"] == "add"' setpriv --reuid=nobody --regid=nogroup \
		--clear-groups -- "$PWTOOL" -c "$TMP/world.conf" -f "$DB" --json \
		add -p carol <<<"$SECRET"
	chmod 700 "$TMP"
fi

# --- strings: control characters and bytes that are not UTF-8 ------------------
desc "a name with a control character and bytes that are not UTF-8: valid JSON"
jrun 6 'd["error"].startswith("a\ufffd\ufffd\u0001b") and d["command"] == "show"' \
	pw --json show $'a\xff\xfe\x01b'
desc "a UTF-8 name is kept as it is"
jrun 0 'd["key"] == "j\u00fcrgen@example.org"' pw --json add -p $'j\xc3\xbcrgen' <<<"$SECRET"
desc "a truncated UTF-8 sequence is replaced, not copied"
jrun 6 'd["error"].startswith("x\ufffdy")' pw --json show $'x\xc3y@'

# --- batch: startup errors get the error object; answers share the members ------
desc "batch with an operand: 2, one error object"
jrun 2 'd["command"] == "batch"' pw --json batch extra </dev/null
desc "batch with -p: 2"
jrun 2 'd["command"] == "batch"' pw --json -p batch </dev/null
S=$(printf '%s' "$SECRET" | base64 -w0)
printf 'add -m plain --password-base64 %s dora\nlock dora\ndelete nobody\nfrob\ndelete dora\n' "$S" >"$TMP/in"
desc "batch answers: ok, command, error and a change's summary, as the commands"
expect_rc 1 pw --json batch <"$TMP/in"
cat "$OUT" "$ERR" >>"$ALL_OUT"
check python3 - "$OUT" <<'PY'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
assert len(a) == 5, a
assert a[0]["ok"] is True and a[0]["command"] == "add" and a[0]["key"] == "dora@example.org", a[0]
assert a[0]["verifiers"] == ["sha512-crypt"] and a[0]["disabled"] is False, a[0]
assert a[1]["command"] == "lock" and a[1]["disabled"] is True, a[1]
assert a[2]["ok"] is False and a[2]["code"] == 3 and a[2]["command"] == "delete", a[2]
assert a[2]["error"] == a[2]["message"] == "nobody@example.org: no such user", a[2]
assert a[3]["code"] == 2 and "command" not in a[3] and a[3]["error"], a[3]
assert a[4] == {"line": 5, "code": 0, "status": "ok", "ok": True,
                "message": "deleted dora@example.org", "command": "delete",
                "key": "dora@example.org"}, a[4]
PY

# --- never a password ----------------------------------------------------------
desc "no output of this script held the password"
check test "$(grep -c -- "$SECRET" "$ALL_OUT")" = 0

finish
