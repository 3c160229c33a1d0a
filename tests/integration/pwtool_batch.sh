#!/bin/bash
# pwtool_batch.sh - pwtool batch: every verb, text and JSON answers, exit
# codes, going on after a failure, durability (another process sees each
# change once it is answered), groups (whole or nothing, also on EOF and
# kill -9), bad input (base64, long lines, NUL bytes), passwords kept off
# argv, and the man page's Python and shell examples, run for real.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

printf 'store_lock_timeout = 60\n' >>"$CONF"

b64() {	# b64 PASSWORD - the --password-base64 form
	printf '%s' "$1" | base64 -w0
}
S=$(b64 secret)
N=$(b64 n3w-pass)

# codes - the first word of every answer in $OUT, space-separated.
codes() {
	awk '{ printf "%s%s", sep, $1; sep = " " }' "$OUT"
}

# --- every verb, text answers ------------------------------------------------
cat >"$TMP/in1" <<EOF
add --password-base64 $S alice
add --password-base64 $S alice@example.org
check --password-base64 $S alice
check --password-base64 $N alice
passwd --password-base64 $N alice
check --password-base64 $N alice
change -m plain --password-base64 $S alice
show alice
lock alice
check --password-base64 $S alice
unlock alice
check --password-base64 $S alice
add -u other.test --disabled -m plain,cram-md5 --password-base64=$S bob
show bob@other.test
delete bob@other.test
del bob@other.test
show nobody
lock nobody
frobnicate alice
add alice
add --password-base64 $S bad:name
EOF
desc "a batch with failures exits 1"
expect_rc 1 pw batch <"$TMP/in1"
desc "one answer per line, with the exit-code numbers of pwtool(8)"
expect_eq "0 4 0 1 0 0 0 0 0 7 0 0 0 0 0 3 3 3 2 2 6" "$(codes)"
desc "answers name what was done"
expect_out '^0 added alice@example.org$'
expect_out '^4 alice@example.org: user exists'
expect_out '^1 alice@example.org: wrong password$'
expect_out '^7 alice@example.org: account is locked$'
expect_out '^0 deleted bob@other.test$'
expect_out '^2 unknown command$'
expect_out '^2 missing --password-base64$'
desc "show answers one line: status, verifiers, mechanisms"
expect_out '^0 alice@example.org status=active created=[0-9T:Z-]+ changed=[0-9T:Z-]+ verifiers=sha512-crypt mechanisms=PLAIN,LOGIN$'
expect_out '^0 bob@other.test status=locked .*verifiers=sha512-crypt,cram-md5 mechanisms=PLAIN,LOGIN,CRAM-MD5$'
desc "nothing on standard error when every command ran"
check test ! -s "$ERR"
desc "after the batch, alice has the last password and only the plain verifier"
expect_rc 0 pw check -p alice <<<"secret"
expect_rc 0 pw show --json alice
json_check 'd["verifiers"] == ["sha512-crypt"] and not d["disabled"]'
desc "bob was deleted"
expect_rc 3 pw show bob@other.test

desc "a batch whose answers are all 0 exits 0"
expect_rc 0 pw batch <<<"show alice"
desc "an empty input is a successful batch"
expect_rc 0 pw batch </dev/null
check test ! -s "$OUT"

# --- JSON ----------------------------------------------------------------------
desc "--json (on a new store): a batch with failures exits 1"
expect_rc 1 "$PWTOOL" -c "$CONF" -f "$TMP/json.db" --json batch <"$TMP/in1"
cp "$OUT" "$TMP/json1"
desc "--json: every answer is one JSON object with code, status, message, line"
check python3 - "$TMP/json1" <<'PY'
import json, sys
want = [0, 4, 0, 1, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 3, 3, 3, 2, 2, 6]
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == len(want), lines
for n, (line, code) in enumerate(zip(lines, want), 1):
    d = json.loads(line)
    assert d["code"] == code, (n, d)
    assert d["status"] == ("ok" if code == 0 else "error"), d
    assert isinstance(d["message"], str) and d["message"], d
    assert d["line"] == n, d
d = json.loads(lines[7])
assert d["user"]["key"] == "alice@example.org", d
assert d["user"]["verifiers"] == ["sha512-crypt"], d
assert json.loads(lines[0])["key"] == "alice@example.org"
PY

# --- groups --------------------------------------------------------------------
printf 'begin\nadd --password-base64 %s g1\nadd --password-base64 %s g2\nlock g1\ncommit\n' \
	"$S" "$S" >"$TMP/in2"
desc "a group answers begin, queued per command, then commit"
expect_rc 0 pw batch <"$TMP/in2"
expect_eq "0 0 0 0 0" "$(codes)"
expect_out '^0 committed 3 commands$'
desc "the whole group landed"
expect_rc 7 pw check -p g1 <<<"secret"
expect_rc 0 pw check -p g2 <<<"secret"

printf 'begin\nadd --password-base64 %s g3\ndelete g2\nunlock g1\ndelete nobody\nadd --password-base64 %s g4\ncommit\nshow g3\n' \
	"$S" "$S" >"$TMP/in3"
desc "a group with a failing command: commit answers its code and line"
expect_rc 1 pw batch <"$TMP/in3"
expect_eq "0 0 0 0 0 0 3 3" "$(codes)"
expect_out '^3 line 5: nobody@example.org: no such user; nothing of the group was written$'
desc "nothing of the failed group landed (no g3, g4; g2 kept; g1 still locked)"
expect_rc 3 pw show g3
expect_rc 3 pw show g4
expect_rc 0 pw check -p g2 <<<"secret"
expect_rc 7 pw check -p g1 <<<"secret"
desc "--json: a failed commit names failed_line"
expect_rc 1 pw --json batch <"$TMP/in3"
check python3 -c '
import json, sys
d = [json.loads(l) for l in open(sys.argv[1])][6]
assert d["code"] == 3 and d["failed_line"] == 5 and d["status"] == "error", d
' "$OUT"

printf 'begin\nadd --password-base64 %s g5\nfrobnicate\nadd --password-base64 %s g6\ncommit\n' \
	"$S" "$S" >"$TMP/in4"
desc "a line refused inside a group is answered at once and fails the commit"
expect_rc 1 pw batch <"$TMP/in4"
expect_eq "0 0 2 0 2" "$(codes)"
expect_out '^2 line 3: unknown command; nothing of the group was written$'
expect_rc 3 pw show g5
expect_rc 3 pw show g6

desc "add, passwd, delete and add again of one user in one group"
printf 'begin\nadd -m plain --password-base64 %s g7\npasswd --password-base64 %s g7\ndelete g7\nadd -m cram-md5 --password-base64 %s g7\ncommit\n' \
	"$S" "$N" "$N" >"$TMP/in5"
expect_rc 0 pw batch <"$TMP/in5"
expect_rc 0 pw show --json g7
json_check 'd["verifiers"] == ["cram-md5"]'
expect_rc 0 pw check -p g7 <<<"n3w-pass"

desc "abort drops the group; commit/abort outside a group and a nested begin are usage errors"
printf 'begin\nadd --password-base64 %s g8\nabort\ncommit\nabort\nbegin\nbegin\ncommit\nshow g8\n' "$S" >"$TMP/in"
expect_rc 1 pw batch <"$TMP/in"
expect_eq "0 0 0 2 2 0 2 2 3" "$(codes)"
expect_out '^0 aborted 1 commands$'
desc "show and check are refused inside a group"
printf 'begin\nshow g1\ncheck --password-base64 %s g1\ncommit\n' "$S" >"$TMP/in"
expect_rc 1 pw batch <"$TMP/in"
expect_eq "0 2 2 2" "$(codes)"

desc "EOF inside a group: nothing of it lands, no answer for it, exit 1"
printf 'begin\nadd --password-base64 %s e1\nadd --password-base64 %s e2\n' "$S" "$S" >"$TMP/in"
expect_rc 1 pw batch <"$TMP/in"
expect_eq "0 0 0" "$(codes)"
expect_err 'input ended inside the group begun on line 1: nothing of it was written'
expect_rc 3 pw show e1
expect_rc 3 pw show e2

# --- going on after failures, bad input ----------------------------------------
long=$(head -c 70000 /dev/zero | tr '\0' a)
{
	echo "add --password-base64 !!!! k1"
	echo "add --password-base64 c2VjcmV0MQ k1"	# "secret1", padding left out
	echo "show $long"
	printf 'show k\0one\n'
	echo "add --password-base64 $(b64 "$(head -c 600 /dev/zero | tr '\0' x)") k1"
	echo "add --password-base64 $(printf 'a\0b' | base64 -w0) k1"
	printf 'add --password-base64 %s k1\r\n' "$S"
	echo "add --password-base64 $S  john smith  "
	echo "show $long$long"
	echo "show k1"
} >"$TMP/in6"
desc "bad base64, a 70000-byte line, a NUL byte, a long or NUL password: answered, and the batch goes on"
expect_rc 1 pw batch <"$TMP/in6"
expect_eq "6 6 6 6 6 6 0 0 6 0" "$(codes)"
expect_out '^6 --password-base64: not valid base64'
expect_out '^6 line longer than 65536 bytes$'
expect_out '^6 NUL byte in line$'
expect_out '^6 password longer than 511 bytes$'
desc "a CRLF line works, and a user name may hold a space"
expect_rc 0 pw check -p "john smith" <<<"secret"
expect_rc 0 pw check -p k1 <<<"secret"
desc "a long last line without a newline is answered too"
{ echo "show k1"; printf 'show %s' "$long"; } >"$TMP/in"
expect_rc 1 pw batch <"$TMP/in"
expect_eq "0 6" "$(codes)"
desc "control characters of a name are not echoed"
printf 'show a\033[2Jb\n' >"$TMP/in"
expect_rc 1 pw batch <"$TMP/in"
check grep -q '^6 a?\[2Jb: ' "$OUT"

desc "--json: a name that is not UTF-8 still gives a UTF-8 JSON answer"
printf 'show a\377\376b\n' >"$TMP/in"
expect_rc 1 pw --json batch <"$TMP/in"
check python3 -c '
import json, sys
d = json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))
assert d["code"] == 6 and d["message"].startswith("a??b: "), d
' "$OUT"

desc "batch takes no operands, and no -p"
expect_rc 2 pw batch extra
expect_rc 2 pw -p batch </dev/null

desc "-u on pwtool's command line is the default realm of each line"
printf 'add --password-base64 %s u1\nshow u1@example.org\nshow -u example.org alice\n' "$S" >"$TMP/in"
expect_rc 1 "$PWTOOL" -c "$CONF" -f "$DB" -u other.test batch <"$TMP/in"
expect_eq "0 3 0" "$(codes)"
expect_rc 0 pw show u1@other.test

desc "a group larger than 100000 commands is refused"
{ echo begin; seq -f 'delete x%g' 1 100001; echo commit; } >"$TMP/in"
expect_rc 1 pw batch <"$TMP/in"
check test "$(wc -l <"$OUT")" -eq 100003
check test "$(sed -n 100002p "$OUT")" = "6 group larger than 100000 commands"
check test "$(tail -n 1 "$OUT")" = "6 line 100002: group larger than 100000 commands; nothing of the group was written"

# --- durability, password off argv --------------------------------------------
coproc BATCH { exec "$PWTOOL" -c "$CONF" -f "$DB" batch 2>"$TMP/coproc.err"; }
bpid=$BATCH_PID
# ask LINE - send one command and read its answer into $ANSWER.
ask() {
	echo "$1" >&"${BATCH[1]}"
	ANSWER=
	IFS= read -r -t 60 ANSWER <&"${BATCH[0]}" || true
}
ask "add --password-base64 $(b64 'Tr0ub4dor&3') d1"
desc "answered: add"
expect_eq "0 added d1@example.org" "$ANSWER"
desc "the password is not in the batch's argv or environment"
check test -r "/proc/$bpid/cmdline"
check bash -c '! tr "\0" "\n" <"/proc/$1/cmdline" | grep -Fq -e "Tr0ub4dor" -e "$2"' _ "$bpid" "$(b64 'Tr0ub4dor&3')"
check bash -c '! tr "\0" "\n" <"/proc/$1/environ" | grep -Fq -e "Tr0ub4dor" -e "$2"' _ "$bpid" "$(b64 'Tr0ub4dor&3')"
desc "once add is answered, another process checks the password"
expect_rc 0 pw check -p d1 <<<"Tr0ub4dor&3"
ask "passwd --password-base64 $N d1"
desc "once passwd is answered, another process sees the new password"
expect_rc 0 pw check -p d1 <<<"n3w-pass"
ask "lock d1"
desc "once lock is answered, another process sees the lock"
expect_rc 7 pw check -p d1 <<<"n3w-pass"
ask "unlock d1"
expect_rc 0 pw check -p d1 <<<"n3w-pass"
ask "begin"
ask "delete d1"
desc "a queued command is not applied before commit"
expect_rc 0 pw show d1
ask "commit"
expect_eq "0 committed 1 commands" "$ANSWER"
desc "once the commit is answered, another process sees the group"
expect_rc 3 pw show d1
ask "show d1"
expect_eq "3 d1@example.org: no such user" "$ANSWER"
exec {BATCH[1]}>&-
rc=0
wait "$bpid" || rc=$?
desc "the coprocess batch exits 1 after one failed answer"
expect_eq 1 "$rc"
desc "nothing on the coprocess batch's standard error"
check test ! -s "$TMP/coproc.err"

# --- kill -9 ---------------------------------------------------------------------
# A base so that a commit takes measurable time (the old store engine copies
# it), then groups of GROUP pre-hashed-cheap adds killed at random instants
# between "commit" and its answer: each group is there whole or not at all.
GROUP=2000
ROUNDS=10
CRAM='{CRAM-MD5}cd3ba7deaad6e5ca23448ba42e379747a9e0f7f1fbc00c8a81bbaac395731b56'
awk -v v="$CRAM" 'BEGIN { for (i = 0; i < 20000; i++) printf "base%05d@base.test::%s\n", i, v }' >"$TMP/base.txt"
expect_rc 0 pw import "$TMP/base.txt"
group_file() {	# group_file REALM - begin + GROUP adds, without commit
	{
		echo begin
		for i in $(seq 1 "$GROUP"); do
			echo "add -m cram-md5 --password-base64 $S u$i@$1"
		done
	} >"$TMP/group.in"
}
count() {	# count REALM - users of REALM
	pw list -u "$1" | wc -l | tr -d ' '
}
now_ms() {
	echo $(($(date +%s%N) / 1000000))
}
# run_group REALM DELAY_MS - queue a group, send commit, kill -9 after
# DELAY_MS (none if empty); sets $took (ms from commit to answer or kill).
run_group() {
	group_file "$1"
	coproc G { exec "$PWTOOL" -c "$CONF" -f "$DB" batch 2>/dev/null; }
	local gpid=$G_PID gin=${G[1]} gout=${G[0]} n=0 line t0
	cat "$TMP/group.in" >&"$gin"
	while [ "$n" -le "$GROUP" ] && IFS= read -r -t 60 line <&"$gout"; do
		n=$((n + 1))
	done
	t0=$(now_ms)
	echo commit >&"$gin"
	if [ -n "$2" ]; then
		sleep "$(printf '%d.%03d' $(($2 / 1000)) $(($2 % 1000)))"
		kill -9 "$gpid" 2>/dev/null || true
	else
		IFS= read -r -t 60 line <&"$gout" || true
		GROUP_ANSWER=$line
	fi
	took=$(($(now_ms) - t0))
	{ exec {gin}>&- {gout}<&-; } 2>/dev/null || true
	wait "$gpid" 2>/dev/null || true
}
run_group whole.test ""
duration=$took
desc "an uninterrupted group of $GROUP adds commits ($duration ms)"
expect_eq "0 committed $GROUP commands" "$GROUP_ANSWER"
check test "$(count whole.test)" = "$GROUP"
[ "$duration" -ge 10 ] || duration=10
interrupted=0
complete=0
for round in $(seq 1 "$ROUNDS"); do
	delay=$((RANDOM % (duration + 1)))
	run_group "kill$round.test" "$delay"
	n=$(count "kill$round.test")
	desc "kill -9 $delay ms after commit (round $round): 0 or $GROUP users (has $n)"
	check test "$n" = 0 -o "$n" = "$GROUP"
	[ "$n" = 0 ] && interrupted=$((interrupted + 1))
	[ "$n" = "$GROUP" ] && complete=$((complete + 1))
done
echo "# $ROUNDS rounds: $interrupted left nothing, $complete landed whole"
desc "at least one round was really interrupted"
check test "$interrupted" -ge 1
desc "the store opens and the base is intact after the kills"
check test "$(count base.test)" = 20000

desc "kill -9 of a batch inside a group before commit lands nothing"
group_file early.test
coproc E { exec "$PWTOOL" -c "$CONF" -f "$DB" batch 2>/dev/null; }
epid=$E_PID
cat "$TMP/group.in" >&"${E[1]}"
IFS= read -r -t 60 line <&"${E[0]}" || true
kill -9 "$epid"
wait "$epid" 2>/dev/null || true
check test "$(count early.test)" = 0

# --- concurrency ------------------------------------------------------------------
desc "5 batches and 5 single commands at once: every answer 0, no user lost"
for w in 1 2 3 4 5; do
	for i in $(seq 1 20); do
		echo "add -m cram-md5 --password-base64 $S c$w-$i@conc.test"
	done >"$TMP/conc$w.in"
	( pw batch <"$TMP/conc$w.in" >"$TMP/conc$w.out" 2>&1; echo $? >"$TMP/conc$w.rc" ) &
	( pw add -p -m cram-md5 "single$w@conc.test" <<<"secret" >/dev/null 2>&1; echo $? >"$TMP/single$w.rc" ) &
done
wait
check test "$(cat "$TMP"/conc*.rc "$TMP"/single*.rc | sort -u)" = 0
check test "$(cat "$TMP"/conc?.out | grep -c '^0 added')" = 100
check test "$(count conc.test)" = 105

# --- the man page's examples --------------------------------------------------
MAN=$SRCDIR/man/pwtool.8
EXAMPLE=$SRCDIR/tests/integration/pwtool_batch_example.py
# man_block TEXT - the literal block that follows the line TEXT in pwtool.8.
man_block() {
	awk -v t="$1" '
		$0 == t { found = 1; next }
		found && /^\.Bd -literal/ { inblock = 1; next }
		inblock && /^\.Ed/ { exit }
		inblock { print }' "$MAN"
}
man_block "Python, one answer read for every command written:" >"$TMP/man_example.py"
desc "the Python example of pwtool(8) is tests/integration/pwtool_batch_example.py"
check cmp "$TMP/man_example.py" "$EXAMPLE"
mkdir "$TMP/bin"
printf '#!/bin/sh\nexec "%s" -c "%s" -f "%s" "$@"\n' "$PWTOOL" "$CONF" "$TMP/ex.db" >"$TMP/bin/pwtool"
chmod +x "$TMP/bin/pwtool"
desc "the Python example runs and reads one answer per command"
expect_rc 0 env PATH="$TMP/bin:$PATH" python3 "$TMP/man_example.py"
expect_eq "(0, 'added alice@example.org')
(0, 'alice@example.org: password ok')
(4, 'alice@example.org: user exists (use passwd to change it)')
(0, 'begin')
(0, 'queued')
(0, 'queued')
(0, 'committed 2 commands')
exit 1" "$(cat "$OUT")"
expect_rc 7 "$TMP/bin/pwtool" check -p alice@example.org <<<"s3cret"
expect_rc 0 "$TMP/bin/pwtool" check -p bob@example.org <<<"pw 2"

man_block "through a pipe, never on a command line:" >"$TMP/man_example.sh"
mkdir "$TMP/bin2"
printf '#!/bin/sh\nexec "%s" -c "%s" -f "%s" "$@"\n' "$PWTOOL" "$CONF" "$TMP/ex2.db" >"$TMP/bin2/pwtool"
chmod +x "$TMP/bin2/pwtool"
desc "the shell coprocess example runs"
check grep -q '^coproc' "$TMP/man_example.sh"
expect_rc 0 env PATH="$TMP/bin2:$PATH" password='it is "quoted"' bash "$TMP/man_example.sh"
check test ! -s "$ERR"
expect_rc 0 "$TMP/bin2/pwtool" check -p bob@example.org <<<'it is "quoted"'

finish
