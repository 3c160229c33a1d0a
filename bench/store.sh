#!/bin/bash
# store.sh - benchmark of the credential store (userdb + pwtool), with
# Cyrus saslpasswd2/sasldb as the anchor in the same run.  See bench/README.
#
# usage: bash bench/store.sh [BUILD_DIR]        (default: build-bench)
#
# Sizes (environment):
#   BENCH_IMPORT=100000    lines of the pre-hashed import (target: < 20 s)
#   BENCH_ADD=1000         users added one process each (pwtool and anchor)
#   BENCH_USERS=1000000    records of the big stores (lookups, changes)
#   BENCH_SMALL=1000       records of the small stores (changes)
#   BENCH_LOOKUPS=200000   timed lookups on a big store (target: p99 < 100 us)
#   BENCH_CHANGES=100      rounds of add/passwd/lock/delete, one process
#                          each, on the small and the big store, interleaved
#                          (target: median big <= 2x small)
#   BENCH_BATCH=10000      commands of the `pwtool batch` run on the big
#                          store (targets: >= 500 changes/s, <= 64 KiB
#                          written to disk per change with compactions)
#   BENCH_PENDING=10000    changes left in the log (not compacted) before
#                          the lookups of (d)
#   BENCH_CHUNK=200000     lines per import if the big store cannot be
#                          imported in one go (reported as a failure)
#   OLD_BUILD=DIR          a release build of the pre-engine tree (today's
#                          file-copy store): its pwtool is timed on the
#                          small store in the same interleaving ("no slower
#                          on a small store than today"); unset: no row
#   BENCH_RESULTS=FILE     summary file (default: bench/results-store.txt)
#
# Needs the built pwtool and bench/store-lookup, saslpasswd2 (package
# sasl2-bin) and db5.3_load (db5.3-util), both installed with apt-get when
# missing and running as root.  Bytes written to disk are read from the
# block device's counters (/sys/class/block/DEV/stat) of the temporary
# directory's file system, so run it on a quiet machine.
# Everything is written under a private temporary directory, removed on
# exit; the anchor only ever uses a private sasldb (-f), never /etc/sasldb2.
# shellcheck disable=SC2154  # lk_*, pk_*, ck_*: set by printf -v in lookups()
set -euo pipefail
export LC_ALL=C		# "." in $EPOCHREALTIME and in every number printed

[[ -n ${EPOCHREALTIME:-} ]] || { echo "store.sh: needs bash >= 5" >&2; exit 1; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
srcdir=$(dirname "$here")

BENCH_IMPORT=${BENCH_IMPORT:-100000}
BENCH_ADD=${BENCH_ADD:-1000}
BENCH_USERS=${BENCH_USERS:-1000000}
BENCH_SMALL=${BENCH_SMALL:-1000}
BENCH_LOOKUPS=${BENCH_LOOKUPS:-200000}
BENCH_CHANGES=${BENCH_CHANGES:-100}
BENCH_BATCH=${BENCH_BATCH:-10000}
BENCH_PENDING=${BENCH_PENDING:-10000}
BENCH_CHUNK=${BENCH_CHUNK:-200000}
OLD_BUILD=${OLD_BUILD:-}
results=${BENCH_RESULTS:-$here/results-store.txt}

IMPORT_TARGET_S=20
P99_TARGET_US=100
RATIO_TARGET=2		# one change: median on the big store / the small one
BATCH_TARGET=500	# durable changes/s of pwtool batch on the big store
BYTES_TARGET=65536	# bytes written to disk per change, compactions included
AUTO_LOG_DIVISOR=64	# store_log_max = 0: the log is folded at 1/64 of the
			# base, at least 1 MiB (userdb.c, log_limit)
REALM=bench.example

die() { echo "store.sh: $*" >&2; exit 1; }

for v in BENCH_IMPORT BENCH_ADD BENCH_USERS BENCH_SMALL BENCH_LOOKUPS \
	 BENCH_CHANGES BENCH_BATCH BENCH_PENDING BENCH_CHUNK; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"
done

# The build dir: as given if it exists from here, else under the source root.
build=${1:-build-bench}
if [[ -d $build ]]; then
	build=$(cd "$build" && pwd)
elif [[ -d $srcdir/$build ]]; then
	build=$(cd "$srcdir/$build" && pwd)
else
	die "no build directory $build (meson setup build-bench --buildtype=release && ninja -C build-bench)"
fi
PWTOOL=$build/pwtool/pwtool
LOOKUP=$build/bench/store-lookup
[[ -x $PWTOOL ]] || die "$PWTOOL not built (ninja -C $build)"
[[ -x $LOOKUP ]] || die "$LOOKUP not built (ninja -C $build)"
OLD_PWTOOL=
if [[ -n $OLD_BUILD ]]; then
	OLD_PWTOOL=$(cd "$OLD_BUILD" && pwd)/pwtool/pwtool
	[[ -x $OLD_PWTOOL ]] || die "$OLD_PWTOOL not built (ninja -C $OLD_BUILD)"
fi

# The anchor: saslpasswd2 (sasl2-bin), and db5.3_load (db5.3-util) to
# build the big sasldb from a dump in one go.
if ! command -v saslpasswd2 >/dev/null || ! command -v db5.3_load >/dev/null; then
	if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
		echo "store.sh: installing sasl2-bin db5.3-util (the anchor)" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y sasl2-bin db5.3-util >/dev/null ||
		{ apt-get update >/dev/null &&
		  DEBIAN_FRONTEND=noninteractive apt-get install -y sasl2-bin db5.3-util >/dev/null; } ||
		die "cannot install sasl2-bin db5.3-util"
	else
		die "saslpasswd2 or db5.3_load missing: apt-get install sasl2-bin db5.3-util"
	fi
fi
SASLPASSWD2=$(command -v saslpasswd2)

work=$(mktemp -d "${TMPDIR:-/tmp}/authd-bench-store.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT; trap 'exit 143' TERM
cd "$work"

# --- helpers ---
now() { echo "$EPOCHREALTIME"; }	# seconds.microseconds, no fork
# secs T0 T1 - elapsed seconds between two now() values
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
# calc EXPR - floating point with awk (EXPR uses awk syntax)
calc() { awk "BEGIN { printf \"%s\", $1 }" | sed 's/^-0$/0/'; }
fmt() { awk -v x="$2" "BEGIN { printf \"$1\", x }"; }
human_size() { numfmt --to=iec-i --suffix=B --format=%.1f "$1" 2>/dev/null || echo "$1 B"; }
# width N - digits of the user numbers (u000001...), at least 6
width() { local w=${#1}; (( w < 6 )) && w=6; echo "$w"; }
log() { printf '%s\n' "$*" >&2; }
# store_bytes STORE - bytes of every file of the store: the old format is
# one GDBM file, the new one a manifest, STORE.G.gdbm and STORE.G.log.
store_bytes() {
	local f t=0
	for f in "$1" "$1".*; do
		[[ -f $f ]] && t=$(( t + $(stat -c %s "$f") ))
	done
	echo "$t"
}
# Peak memory of the imports, when GNU time is there: "${RSS[@]}" FILE CMD...
if [[ -x /usr/bin/time ]]; then
	RSS=(/usr/bin/time -f %M -o)
else
	no_rss() { shift; "$@"; }
	RSS=(no_rss)
fi
rss_of() { [[ -s $1 ]] && echo "$(( $(tail -n 1 "$1") / 1024 )) MiB" || echo "n/a"; }

# Configurations: the defaults (an empty file, so a system authd.conf is
# never read), and a cheap hash to show what the store itself costs.
: > default.conf
cat > cheap.conf <<'EOF'
password_scheme = sha512-crypt
password_cost = 1000
EOF

# --- the machine ---
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem=$(free -h | awk '/^Mem:/ { print $2 }')
fs=$(df -T "$work" | awk 'NR == 2 { print $2 }')
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
machine="$(nproc) CPUs, ${cpu:-unknown CPU}, ${mem} RAM, temp dir on ${fs}"
log "== machine: $machine"
log "== pwtool: $PWTOOL"
log "== anchor: $SASLPASSWD2 ($(dpkg-query -W -f '${Version}' sasl2-bin 2>/dev/null || echo '?'))"

# --- a realistic verifier set, made once by pwtool itself ---
# One user with the default mechanisms (yescrypt + SCRAM-SHA-256 +
# SCRAM-SHA-1, 4096 iterations), exported; every import line reuses its
# flags and verifiers, so lines have the size of a real export.
printf 'Seed-password-1\n' | "$PWTOOL" -c default.conf -f seed.db -p add "seed@$REALM"
seed_line=$("$PWTOOL" -c default.conf -f seed.db export | grep -v '^#' | head -n 1)
seed_rest=${seed_line#*:}		# FLAGS:VERIFIERS
# shellcheck disable=SC2016  # literal "$y$", not an expansion
case $seed_rest in
*'{CRYPT}$y$'*'{SCRAM-SHA-256}'*'{SCRAM-SHA-1}'*) ;;
*) die "unexpected seed export: $seed_line" ;;
esac

# gen_import N FILE - N lines uNNNNNN@REALM:FLAGS:VERIFIERS
gen_import() {
	awk -v n="$1" -v w="$(width "$1")" -v realm="$REALM" -v rest="$seed_rest" \
		'BEGIN { fmt = "u%0" w "d@%s:%s\n"
			 for (i = 1; i <= n; i++) printf fmt, i, realm, rest }' > "$2"
}

# count_users STORE - users in the store (pwtool realms)
count_users() {
	"$PWTOOL" -c default.conf -f "$1" realms | awk -F'\t' '{ s += $2 } END { print s + 0 }'
}

# ---------------------------------------------------------------- (a)
log "== (a) import of $BENCH_IMPORT pre-hashed lines into an empty store"
gen_import "$BENCH_IMPORT" import.txt
import_line_bytes=$(( $(stat -c %s import.txt) / BENCH_IMPORT ))
t0=$(now)
"${RSS[@]}" rss-import "$PWTOOL" -c default.conf -f import.db import import.txt 2> import.err ||
	{ cat import.err >&2; die "import failed"; }
t1=$(now)
import_s=$(secs "$t0" "$t1")
n=$(count_users import.db)
[[ $n -eq $BENCH_IMPORT ]] || die "import: store holds $n users, expected $BENCH_IMPORT"
import_size=$(store_bytes import.db)
import_rss=$(rss_of rss-import)
import_rate=$(calc "$BENCH_IMPORT / $import_s")
import_ok=$(awk -v s="$import_s" -v t="$IMPORT_TARGET_S" 'BEGIN { print (s < t) ? "PASS" : "FAIL" }')
log "   ${import_s} s, $(fmt %.0f "$import_rate") lines/s, line ${import_line_bytes} B, store $(human_size "$import_size") (target < ${IMPORT_TARGET_S} s: $import_ok)"
rm -f import.txt import.db import.db.*

# ---------------------------------------------------------------- (b)
log "== (b) add $BENCH_ADD users, one process per user"
wa=$(width "$BENCH_ADD")
pw_of() { printf 'Bench-pw-%s-q7Z\n' "$1"; }
# The four commands run interleaved, user by user, and every call is timed
# on its own: load from elsewhere on the machine then hits all of them
# alike, so the ratios hold even when the absolute figures wobble.
#   floor    the price of one pipe + fork + exec, doing nothing
#   default  pwtool with the default configuration (what an admin gets)
#   cheap    pwtool with a cheap hash and one verifier: the store's own cost
#   sasl     the anchor
: > t-floor; : > t-default; : > t-cheap; : > t-sasl
for ((i = 1; i <= BENCH_ADD; i++)); do
	printf -v u "u%0${wa}d" "$i"
	t0=$EPOCHREALTIME
	pw_of "$i" | /bin/cat > /dev/null
	t1=$EPOCHREALTIME
	pw_of "$i" | "$PWTOOL" -c default.conf -f add-default.db -p add "$u@$REALM"
	t2=$EPOCHREALTIME
	pw_of "$i" | "$PWTOOL" -c cheap.conf -f add-cheap.db -p -m plain add "$u@$REALM"
	t3=$EPOCHREALTIME
	pw_of "$i" | "$SASLPASSWD2" -p -c -u "$REALM" -f sasl.db "$u"
	t4=$EPOCHREALTIME
	echo "$t0 $t1" >> t-floor
	echo "$t1 $t2" >> t-default
	echo "$t2 $t3" >> t-cheap
	echo "$t3 $t4" >> t-sasl
done
# stats FILE - "TOTAL_S MEAN_MS P50_MS P90_MS MAX_MS" of the timed calls
stats() {
	awk '{ print ($2 - $1) * 1000 }' "$1" | sort -g | awk '
		{ v[NR] = $1; s += $1 }
		END { p50 = v[int((NR + 1) / 2)]; p90 = v[int(NR * 0.9 + 0.999999)]
		      printf "%.3f %.2f %.2f %.2f %.2f\n", s / 1000, s / NR, p50, p90, v[NR] }'
}
read -r floor_s floor_ms floor_p50 floor_p90 floor_max < <(stats t-floor)
read -r add_default_s add_default_ms add_default_p50 add_default_p90 add_default_max < <(stats t-default)
read -r add_cheap_s add_cheap_ms add_cheap_p50 add_cheap_p90 add_cheap_max < <(stats t-cheap)
read -r add_sasl_s add_sasl_ms add_sasl_p50 add_sasl_p90 add_sasl_max < <(stats t-sasl)
log "   pwtool, default (yescrypt + SCRAM): ${add_default_s} s"
log "   pwtool, cheap (sha512-crypt rounds=1000, -m plain): ${add_cheap_s} s"
log "   saslpasswd2 (cleartext sasldb): ${add_sasl_s} s"
log "   floor (pipe + exec of /bin/cat): ${floor_s} s"

# Check that the adds really happened (and the passwords are right).
for db in add-default.db add-cheap.db; do
	n=$(count_users "$db")
	[[ $n -eq $BENCH_ADD ]] || die "$db holds $n users, expected $BENCH_ADD"
done
u=$(printf "u%0${wa}d" "$BENCH_ADD")
pw_of "$BENCH_ADD" | "$PWTOOL" -c default.conf -f add-default.db -p check "$u@$REALM" ||
	die "check of $u in add-default.db failed"
pw_of "$BENCH_ADD" | "$PWTOOL" -c cheap.conf -f add-cheap.db -p check "$u@$REALM" ||
	die "check of $u in add-cheap.db failed"
n=$(sasldblistusers2 -f sasl.db | grep -c "@$REALM:" || true)
[[ $n -eq $BENCH_ADD ]] || die "sasl.db holds $n users, expected $BENCH_ADD"
add_default_size=$(store_bytes add-default.db)
add_cheap_size=$(store_bytes add-cheap.db)
add_sasl_size=$(stat -c %s sasl.db)

ratio_default=$(calc "$add_default_s / $add_sasl_s")
ratio_cheap=$(calc "$add_cheap_s / $add_sasl_s")
# One user's hashes, in-process cost, = default minus cheap per user.
hash_ms=$(calc "($add_default_s - $add_cheap_s) * 1000 / $BENCH_ADD")
rm -f add-default.db* add-cheap.db* sasl.db* t-floor t-default t-cheap t-sasl

# --- helpers of the sections below ---

# The new store (issue 11) is a small text manifest ("authd-store 2",
# "generation G") beside STORE.G.gdbm and STORE.G.log; the old one is a
# single GDBM file.  gen_of STORE prints G, or "-" for the old format.
gen_of() {
	local first g=-
	{ read -r first && [[ $first == "authd-store "* ]] &&
	  while read -r k v; do [[ $k == generation ]] && g=$v; done; } < "$1" 2>/dev/null || true
	echo "$g"
}
# log_bytes STORE - size of the current generation's change log (0 if none)
log_bytes() {
	local g; g=$(gen_of "$1")
	[[ $g != - && -f $1.$g.log ]] && stat -c %s "$1.$g.log" || echo 0
}
# has_batch - whether this pwtool has `pwtool batch` (issue 11)
has_batch() {
	"$PWTOOL" -c cheap.conf -f probe.db batch < /dev/null > /dev/null 2>&1
	local rc=$?
	rm -f probe.db probe.db.*
	return $rc
}
# med_p90 FILE - "MEDIAN P90" of a file of numbers (ms), nearest rank
med_p90() {
	sort -g "$1" | awk '{ v[NR] = $1 }
		END { printf "%.2f %.2f\n", v[int((NR + 1) / 2)], v[int(NR * 0.9 + 0.999999)] }'
}
# The cheap record: one user added with cheap.conf -m plain, exported.
printf 'Seed-password-1\n' | "$PWTOOL" -c cheap.conf -f seedc.db -p -m plain add "seed@$REALM"
cheap_line=$("$PWTOOL" -c cheap.conf -f seedc.db export | grep -v '^#' | head -n 1)
cheap_rest=${cheap_line#*:}
# gen_cheap N FILE - N lines uNNNNNN@REALM:FLAGS:{CRYPT}$6$rounds=1000$...
gen_cheap() {
	awk -v n="$1" -v w="$(width "$1")" -v realm="$REALM" -v rest="$cheap_rest" \
		'BEGIN { fmt = "u%0" w "d@%s:%s\n"
			 for (i = 1; i <= n; i++) printf fmt, i, realm, rest }' > "$2"
}
# gen_sasl N FILE - a db_load dump ("print" format) of a sasldb with the
# same N users: key "USER\0REALM\0userPassword", value the password, the
# layout `db5.3_dump -p` shows of a sasldb that saslpasswd2 made.  h_nelem
# sizes the hash table up front, so the load never splits buckets.
gen_sasl() {
	awk -v n="$1" -v w="$(width "$1")" -v realm="$REALM" 'BEGIN {
		print "VERSION=3"; print "format=print"; print "type=hash"
		printf "h_nelem=%d\n", n; print "db_pagesize=4096"; print "HEADER=END"
		fmt = " u%0" w "d\\00%s\\00userPassword\n Bench-pw-%d-q7Z\n"
		for (i = 1; i <= n; i++) printf fmt, i, realm, i
		print "DATA=END" }' > "$2"
}
B64_ADD=$(printf 'Batch-add-pw-1' | base64)
B64_PW=$(printf 'Batch-new-pw-2' | base64)

# The device under the temporary directory, for bytes written to disk.
blkdev=$(basename "$(readlink -f "$(findmnt -no SOURCE -T "$work" 2>/dev/null || echo none)")")
[[ -r /sys/class/block/$blkdev/stat ]] || blkdev=
# sectors - 512-byte sectors written to $blkdev so far (field 7)
sectors() { awk '{ print $7 }' "/sys/class/block/$blkdev/stat"; }
# idle_bytes SECS - bytes written to the device by everything else on the
# machine while this script does nothing for SECS seconds
idle_bytes() {
	local s0 s1
	sync; s0=$(sectors); sleep "$1"; sync; s1=$(sectors)
	echo $(( (s1 - s0) * 512 ))
}

# run_batch CONF STORE CMDS ANSWERS - pwtool batch with CMDS on stdin.
# Sets batch_s (start until the last answer: every change is durable when
# it is answered), batch_wb (write_bytes of the batch process itself, from
# /proc/PID/io, read while it still runs: without any compaction child)
# and batch_rc.  Standard input is held open after the commands until the
# figures are read, so the process is still there to read them from.
run_batch() {
	local n a pid t0
	n=$(wc -l < "$3")
	rm -f hold.fifo; mkfifo hold.fifo
	t0=$EPOCHREALTIME
	{ cat "$3"; read -r _ < hold.fifo; } |
		"$PWTOOL" -c "$1" -f "$2" batch > "$4" 2> batch.err &
	pid=$!
	while :; do
		a=$(wc -l < "$4")
		(( a >= n )) && break
		[[ -d /proc/$pid ]] || break
		sleep 0.02
	done
	batch_s=$(secs "$t0" "$EPOCHREALTIME")
	batch_wb=$(awk '/^write_bytes:/ { print $2 }' "/proc/$pid/io" 2>/dev/null || echo 0)
	echo > hold.fifo
	batch_rc=0; wait "$pid" || batch_rc=$?
	rm -f hold.fifo
	a=$(awk '$1 == 0' "$4" | wc -l)
	[[ $a -eq $n ]] || { head -n 5 batch.err >&2; grep -v '^0 ' "$4" | head -n 5 >&2
			     die "batch: $a of $n commands answered 0 (exit $batch_rc)"; }
}

# watch_store STORE OUT - runs in the background: logs "T start" when a
# compaction starts building the next base (STORE.compact.tmp appears)
# and "T end G" when the manifest names a new generation.
watch_store() {
	local g ng busy=0
	g=$(gen_of "$1")
	while :; do
		ng=$(gen_of "$1")
		if [[ $ng != "$g" ]]; then
			echo "$EPOCHREALTIME end $ng"; g=$ng; busy=0
		elif (( ! busy )) && [[ -e $1.compact.tmp ]]; then
			echo "$EPOCHREALTIME start"; busy=1
		fi
		sleep 0.05
	done > "$2"
}
# compaction_busy STORE - a compaction is at work: it builds the next
# base in STORE.compact.tmp (userdb.c, userdb_compact).
compaction_busy() { [[ -e $1.compact.tmp ]]; }
# wait_compactions STORE - until no compaction has been at work for 2 s
# (an automatic one starts in pwtool's detached child, maybe a moment
# after pwtool has exited); at most 600 s.
wait_compactions() {
	local quiet=0 i
	for ((i = 0; i < 6000 && quiet < 20; i++)); do
		if compaction_busy "$1"; then quiet=0; else quiet=$((quiet + 1)); fi
		sleep 0.1
	done
}

# ---------------------------------------------------------------- (c)
log "== (c) store of $BENCH_USERS records: build by import, then lookups"
gen_import "$BENCH_USERS" big.txt
cut -d: -f1 big.txt > keys.txt
t0=$(now)
big_fail=
if ! "${RSS[@]}" rss-big "$PWTOOL" -c default.conf -f big.db import big.txt 2> big.err; then
	# Reported as it is; the store the next figures need is then built
	# by imports of BENCH_CHUNK lines each.
	big_fail=$(grep -v '^Command exited' big.err | tail -n 1)
	log "   import of $BENCH_USERS lines in one go FAILED: $big_fail"
	rm -f big.db big.db.*
	split -l "$BENCH_CHUNK" big.txt chunk.
	big_chunks=0
	t0=$(now)
	for f in chunk.*; do
		"${RSS[@]}" rss-big "$PWTOOL" -c default.conf -f big.db import "$f" 2> big.err ||
			{ cat big.err >&2; die "import of $f failed"; }
		big_chunks=$((big_chunks + 1))
	done
	rm -f chunk.*
fi
t1=$(now)
rm -f big.txt
big_s=$(secs "$t0" "$t1")
big_rate=$(calc "$BENCH_USERS / $big_s")
big_size=$(store_bytes big.db)
big_rss=$(rss_of rss-big)
log "   import: ${big_s} s, $(fmt %.0f "$big_rate") lines/s, store $(human_size "$big_size")"

# lookups STORE KEYS N PREFIX - run store-lookup, set PREFIX_{mean,p50,...}
# (PREFIX_* are set by printf -v: shellcheck cannot see them)
lookups() {
	local out lj k
	out=$("$LOOKUP" "$1" "$2" "$3") || { printf '%s\n' "$out" >&2; die "store-lookup $1 $2 failed"; }
	printf '%s\n' "$out" | head -n 1 >&2
	lj=$(printf '%s\n' "$out" | sed -n 's/^JSON //p')
	for k in mean p50 p90 p99 p999 max open; do
		printf -v "${4}_$k" '%s' "$(printf '%s\n' "$lj" | sed -n "s/.*\"${k}_us\":\([0-9.]*\).*/\1/p")"
	done
	printf -v "${4}_rate" '%s' "$(printf '%s\n' "$lj" | sed -n 's/.*"lookups_per_s":\([0-9.]*\).*/\1/p')"
}
lookups big.db keys.txt "$BENCH_LOOKUPS" lk
lookup_ok=$(awk -v p="$lk_p99" -v t="$P99_TARGET_US" 'BEGIN { print (p < t) ? "PASS" : "FAIL" }')

# ---------------------------------------------------------------- (d)
# The same store with BENCH_PENDING changes in its log, none compacted
# (store_log_max far above what they write): what a reader pays for the
# overlay, on every key and on the changed keys alone; then a reader held
# like authd's, which must see each change on its next lookup.
pend_ok=n/a; follow_ok=n/a; pend_note="pwtool has no batch"
if has_batch; then
	log "== (d) $BENCH_PENDING changes left in the log of that store, then lookups"
	{ cat cheap.conf; echo "store_log_max = 17179869184"; } > pending.conf
	# Distinct users (fixed seed), in turn: passwd, lock, delete, and a new
	# user added.  The keys of the lookups lose the deleted users and gain
	# the added ones; changed.txt is every key that is in the log.
	shuf -i "1-$BENCH_USERS" -n "$BENCH_PENDING" --random-source=<(yes) |
	awk -v w="$(width "$BENCH_USERS")" -v realm="$REALM" -v a="$B64_ADD" -v p="$B64_PW" '
		{ u = sprintf("u%0" w "d@%s", $1, realm); op = NR % 4
		  if (op == 1) { print "passwd -m plain --password-base64 " p " " u > "pend.cmds"; print u > "changed.txt" }
		  else if (op == 2) { print "lock " u > "pend.cmds"; print u > "changed.txt" }
		  else if (op == 3) { print "delete " u > "pend.cmds"; print u > "deleted.txt" }
		  else { n = "p" NR "@" realm
			 print "add -m plain --password-base64 " a " " n > "pend.cmds"; print n > "changed.txt"; print n > "added.txt" } }'
	g0=$(gen_of big.db)
	run_batch pending.conf big.db pend.cmds pend.ans
	pend_batch_s=$batch_s
	g1=$(gen_of big.db)
	pend_log=$(log_bytes big.db)
	[[ $g0 == "$g1" ]] || log "   warning: a compaction ran (generation $g0 -> $g1)"
	log "   $BENCH_PENDING changes by pwtool batch in ${pend_batch_s} s; log $(human_size "$pend_log"), generation $g0 -> $g1"
	{ grep -vxFf deleted.txt keys.txt; cat added.txt; } > keys2.txt
	lookups big.db keys2.txt "$BENCH_LOOKUPS" pk
	lookups big.db changed.txt "$BENCH_LOOKUPS" ck
	pend_ok=$(awk -v p="$pk_p99" -v q="$ck_p99" -v t="$P99_TARGET_US" 'BEGIN { print (p < t && q < t) ? "PASS" : "FAIL" }')

	# The follower: each change by its own pwtool process, then the next
	# lookup of the reader, which must show it.
	coproc FOL { exec "$LOOKUP" --follow big.db; }
	ask() {
		local line
		echo "$1" >&"${FOL[1]}"
		IFS= read -r -t 30 line <&"${FOL[0]}" || die "store-lookup --follow did not answer"
		echo "$line"
	}
	# Each change is one pwtool process, timed too: one change on a big
	# store whose log holds BENCH_PENDING changes, which every writer (and
	# every reader that opens the store) reads first.
	follow_n=0; follow_seen=0; : > t-follow; : > t-pchange
	# timed CMD... - run it, append its milliseconds to t-pchange
	timed() {
		local a=$EPOCHREALTIME
		"$@"
		awk -v a="$a" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f\n", (b - a) * 1000 }' >> t-pchange
	}
	# pw_set add|passwd PWSEED USER - with the password on stdin
	pw_set() { pw_of "$2" | "$PWTOOL" -c pending.conf -f big.db -p -m plain "$1" "$3"; }
	ask "$(sed -n 1p keys2.txt)" > /dev/null		# opens the store
	# seen WHAT OK - count a check, and say which one failed
	seen() {
		if [[ $2 == yes ]]; then follow_seen=$((follow_seen + 1))
		else log "   follower missed: $1"; fi
	}
	# Users the pending changes did not touch (a second lock of a locked
	# user would change nothing to see).
	grep -vxFf changed.txt keys2.txt | shuf -n 5 --random-source=<(yes) > follow.txt
	for ((r = 1; r <= 5; r++)); do
		u=$(sed -n "${r}p" follow.txt)
		read -r _ st0 fp0 fl0 _ < <(ask "$u")
		[[ $st0 == found ]] || die "follow: $u not found before the change"
		timed pw_set passwd "f$r" "$u"
		read -r _ st fp fl us < <(ask "$u")
		follow_n=$((follow_n + 1)); echo "$us" >> t-follow
		seen "passwd $u: $st $fp (was $fp0)" "$([[ $st == found && $fp != "$fp0" ]] && echo yes)"
		timed "$PWTOOL" -c pending.conf -f big.db lock "$u"
		read -r _ st fp1 fl us < <(ask "$u")
		follow_n=$((follow_n + 1)); echo "$us" >> t-follow
		seen "lock $u: $st $fp1 $fl (was $fp $fl0)" "$([[ $st == found && $fp1 != "$fp" && $fl != "$fl0" ]] && echo yes)"
		timed "$PWTOOL" -c pending.conf -f big.db delete "$u"
		read -r _ st _ _ us < <(ask "$u")
		follow_n=$((follow_n + 1)); echo "$us" >> t-follow
		seen "delete $u: $st" "$([[ $st == absent ]] && echo yes)"
		timed pw_set add "f$r" "$u"
		read -r _ st _ _ us < <(ask "$u")
		follow_n=$((follow_n + 1)); echo "$us" >> t-follow
		seen "add $u: $st" "$([[ $st == found ]] && echo yes)"
	done
	eval "exec ${FOL[1]}>&-"
	wait "$FOL_PID" 2>/dev/null || true
	read -r follow_med follow_p90 < <(med_p90 t-follow)
	follow_max=$(sort -g t-follow | tail -n 1)
	read -r pchange_med pchange_p90 < <(med_p90 t-pchange)
	follow_ok=$([[ $follow_seen -eq $follow_n ]] && echo PASS || echo FAIL)
	log "   follower saw $follow_seen of $follow_n changes on its next lookup (median ${follow_med} us)"
	pend_note=
fi
rm -f big.db big.db.* keys.txt keys2.txt changed.txt deleted.txt added.txt pend.cmds pend.ans t-follow t-pchange follow.txt

# ---------------------------------------------------------------- (e)
# One change as a whole process, on a small and a big store, interleaved
# call by call, with the old pwtool and the anchor in the same rounds.
log "== (e) one change per process: $BENCH_SMALL and $BENCH_USERS users, $BENCH_CHANGES rounds"
gen_cheap "$BENCH_SMALL" small.txt
gen_cheap "$BENCH_USERS" large.txt
"$PWTOOL" -c cheap.conf -f small.db import small.txt 2> import.err || { cat import.err >&2; die "import of small.txt failed"; }
t0=$(now)
"$PWTOOL" -c cheap.conf -f large.db import large.txt 2> import.err ||
	{ cat import.err >&2; die "import of large.txt failed"; }
large_import_s=$(secs "$t0" "$(now)")
large_size=$(store_bytes large.db)
rm -f large.txt
log "   big store: import of $BENCH_USERS cheap lines ${large_import_s} s, $(human_size "$large_size")"
if [[ -n $OLD_PWTOOL ]]; then
	"$OLD_PWTOOL" -c cheap.conf -f old-small.db import small.txt 2> import.err ||
		{ cat import.err >&2; die "old pwtool: import of small.txt failed"; }
fi
rm -f small.txt
gen_sasl "$BENCH_SMALL" sasl-small.dump
gen_sasl "$BENCH_USERS" sasl-large.dump
db5.3_load -f sasl-small.dump sasl-small.db
t0=$(now)
db5.3_load -f sasl-large.dump sasl-large.db
sasl_load_s=$(secs "$t0" "$(now)")
rm -f sasl-small.dump sasl-large.dump
chmod 600 sasl-small.db sasl-large.db
sasl_large_size=$(stat -c %s sasl-large.db)
for db in sasl-small.db sasl-large.db; do
	n=$(sasldblistusers2 -f "$db" | grep -c "@$REALM: userPassword" || true)
	want=$BENCH_SMALL; [[ $db == sasl-large.db ]] && want=$BENCH_USERS
	[[ $n -eq $want ]] || die "$db: sasldblistusers2 lists $n users, expected $want"
done
log "   big sasldb: db5.3_load of a $BENCH_USERS-key dump ${sasl_load_s} s, $(human_size "$sasl_large_size")"

tgts=(new-small new-large)
[[ -n $OLD_PWTOOL ]] && tgts+=(old-small)
tgts+=(sasl-small sasl-large)
ops=(add passwd lock delete)
# change TGT OP USER - one change, one process
change() {
	local tool=$PWTOOL db
	case $1 in
	new-small) db=small.db ;;
	new-large) db=large.db ;;
	old-small) db=old-small.db; tool=$OLD_PWTOOL ;;
	sasl-*)
		db=$1.db
		case $2 in
		add) pw_of "$3" | "$SASLPASSWD2" -p -c -u "$REALM" -f "$db" "$3" ;;
		passwd) pw_of "x$3" | "$SASLPASSWD2" -p -u "$REALM" -f "$db" "$3" ;;
		delete) "$SASLPASSWD2" -d -u "$REALM" -f "$db" "$3" ;;
		esac
		return ;;
	esac
	case $2 in
	add) pw_of "$3" | "$tool" -c cheap.conf -f "$db" -p -m plain add "$3@$REALM" ;;
	passwd) pw_of "x$3" | "$tool" -c cheap.conf -f "$db" -p -m plain passwd "$3@$REALM" ;;
	*) "$tool" -c cheap.conf -f "$db" "$2" "$3@$REALM" ;;
	esac
}
for t in "${tgts[@]}"; do for o in "${ops[@]}"; do : > "t-$o-$t"; done; done
g0=$(gen_of large.db)
for ((r = 1; r <= BENCH_CHANGES; r++)); do
	for o in "${ops[@]}"; do
		for t in "${tgts[@]}"; do
			[[ $t == sasl-* && $o == lock ]] && continue	# sasldb has no lock
			t0=$EPOCHREALTIME
			change "$t" "$o" "c$r"
			t1=$EPOCHREALTIME
			awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) * 1000 }' >> "t-$o-$t"
		done
	done
done
g1=$(gen_of large.db)
e_gens=$(( ${g1/-/0} - ${g0/-/0} ))
# Every change happened: the users came and went.
for db in small.db large.db ${OLD_PWTOOL:+old-small.db}; do
	tool=$PWTOOL; [[ $db == old-small.db ]] && tool=$OLD_PWTOOL
	rc=0; "$tool" -c cheap.conf -f "$db" show "c$BENCH_CHANGES@$REALM" > /dev/null 2>&1 || rc=$?
	[[ $rc -eq 3 ]] || die "$db: c$BENCH_CHANGES@$REALM still there (show: exit $rc)"
done
[[ $(count_users small.db) -eq $BENCH_SMALL ]] || die "small.db lost users"
declare -A med p90
for t in "${tgts[@]}"; do
	for o in "${ops[@]}"; do
		[[ -s t-$o-$t ]] || continue
		read -r "med[$o-$t]" "p90[$o-$t]" < <(med_p90 "t-$o-$t")
	done
	# All of a store's changes together: four times the samples, so the
	# steadiest figure for the comparisons.
	cat t-*-"$t" > "t-all-$t"
	read -r "med[all-$t]" "p90[all-$t]" < <(med_p90 "t-all-$t")
done
ratio_of() { calc "${med[$1]} / ${med[$2]}"; }
for o in "${ops[@]}"; do
	log "   $o median ms: $(for t in "${tgts[@]}"; do [[ -n ${med[$o-$t]:-} ]] && printf '%s %s  ' "$t" "${med[$o-$t]}"; done)"
done
rm -f small.db small.db.* old-small.db old-small.db.* sasl-small.db sasl-large.db t-*-*

# ---------------------------------------------------------------- (f)
# pwtool batch on the big store, and the bytes it writes to disk per
# change, compactions included (they run in a detached child of pwtool, so
# the device's counters, not the process's, see them).
batch_ok=n/a; bytes_ok=n/a; batch_note="pwtool has no batch"
if has_batch; then
	log "== (f) pwtool batch: $BENCH_BATCH changes on the big store"
	# In turn: add a new user, set its password, lock it, delete it.
	awk -v n="$BENCH_BATCH" -v realm="$REALM" -v a="$B64_ADD" -v p="$B64_PW" 'BEGIN {
		ops[0] = "add -m plain --password-base64 " a " "
		ops[1] = "passwd -m plain --password-base64 " p " "
		ops[2] = "lock "; ops[3] = "delete "
		for (i = 0; i < n; i++) printf "%sb%d@%s\n", ops[i % 4], int(i / 4), realm }' > batch.cmds
	if [[ -n $blkdev ]]; then
		idle_pre=$(idle_bytes 10)
	fi
	g0=$(gen_of large.db); log0=$(log_bytes large.db)
	base0=$(stat -c %s "large.db.$g0.gdbm" 2>/dev/null || echo 0)
	watch_store large.db watch.log &
	watch_pid=$!
	sync; s0=$([[ -n $blkdev ]] && sectors || echo 0); w0=$(now)
	run_batch cheap.conf large.db batch.cmds batch.ans
	wait_compactions large.db
	sync; s1=$([[ -n $blkdev ]] && sectors || echo 0); w1=$(now)
	kill "$watch_pid"; wait "$watch_pid" 2>/dev/null || true
	g1=$(gen_of large.db); log1=$(log_bytes large.db)
	window_s=$(secs "$w0" "$w1")
	batch_rate=$(calc "$BENCH_BATCH / $batch_s")
	batch_ok=$(awk -v r="$batch_rate" -v t="$BATCH_TARGET" 'BEGIN { print (r >= t) ? "PASS" : "FAIL" }')
	compactions=$(( ${g1/-/0} - ${g0/-/0} ))
	# Durations of the compactions seen: from the next base appearing to
	# the manifest naming it.
	comp_list=$(awk '$2 == "start" { s = $1 } $2 == "end" && s { printf "%.1f ", $1 - s; s = 0 }' watch.log)
	log "   ${batch_s} s, $(fmt %.0f "$batch_rate") changes/s; generation $g0 -> $g1 ($compactions compactions: ${comp_list:-none timed} s)"
	fg_per=$(calc "$batch_wb / $BENCH_BATCH")
	if [[ -n $blkdev ]]; then
		d=$(awk -v s="$window_s" 'BEGIN { s = int(s + 0.999); if (s > 120) s = 120; print s }')
		idle_post=$(idle_bytes "$d")
		# The lower of the two idle rates: what is subtracted is then
		# never more than the others wrote (the figure errs high), and
		# never below what the batch process itself wrote.
		idle_rate=$(awk -v a="$idle_pre" -v b="$idle_post" -v d="$d" 'BEGIN { a /= 10; b /= d; print (a < b) ? a : b }')
		window_bytes=$(( (s1 - s0) * 512 ))
		net=$(calc "$window_bytes - $idle_rate * $window_s")
		net=$(awk -v x="$net" -v f="$batch_wb" 'BEGIN { printf "%.0f", (x < f) ? f : x }')
		per_change=$(calc "$net / $BENCH_BATCH")
		# No automatic compaction within the window: then they come less
		# often than once per BENCH_BATCH changes, and one explicit
		# compaction of the store as it now is, charged to this window,
		# bounds their share from above.
		forced_bytes=0; forced_s=
		if (( compactions == 0 )); then
			sync; c0=$(sectors); t0=$(now)
			"$PWTOOL" -c cheap.conf -f large.db compact ||
				die "pwtool compact failed"
			t1=$(now); sync; c1=$(sectors)
			forced_s=$(secs "$t0" "$t1")
			forced_bytes=$(awk -v b="$(( (c1 - c0) * 512 ))" -v r="$idle_rate" -v s="$forced_s" 'BEGIN { x = b - r * s; printf "%.0f", (x < 0) ? 0 : x }')
			per_change=$(calc "($net + $forced_bytes) / $BENCH_BATCH")
			# And the steady state: the automatic bound over the
			# log's growth per change is the changes per compaction.
			auto_limit=$(awk -v b="$base0" -v d="$AUTO_LOG_DIVISOR" 'BEGIN { l = int(b / d); if (l < 1048576) l = 1048576; print l }')
			log_per=$(calc "($log1 - $log0) / $BENCH_BATCH")
			per_compaction=$(calc "$auto_limit / $log_per")
			steady=$(calc "$net / $BENCH_BATCH + $forced_bytes / $per_compaction")
		fi
		bytes_ok=$(awk -v b="$per_change" -v t="$BYTES_TARGET" 'BEGIN { print (b <= t) ? "PASS" : "FAIL" }')
		log "   device $blkdev: window ${window_s} s wrote $(human_size "$window_bytes"), idle $(human_size "$idle_post") in ${d} s; $(fmt %.0f "$per_change") B/change"
	else
		per_change=n/a
	fi
	batch_note=
fi
rm -f large.db large.db.* batch.cmds batch.ans watch.log

# ---------------------------------------------------------------- (g)
# row LABEL MEASURED [TARGET VERDICT]
row() { printf '%-56s %-34s %-15s %s\n' "$1" "$2" "${3:-}" "${4:-}" | sed 's/ *$//'; }
kib() { awk -v b="$1" 'BEGIN { printf "%.1f KiB", b / 1024 }'; }
summary() {
	echo "authd credential-store benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "machine: $machine"
	echo "load:    $load_before (before), $(cut -d' ' -f1-3 /proc/loadavg) (after)"
	echo "anchor:  saslpasswd2 $(dpkg-query -W -f '${Version}' sasl2-bin 2>/dev/null || echo '?') (Cyrus SASL sasldb; stores cleartext)"
	echo "pwtool:  $PWTOOL${OLD_PWTOOL:+; old (pre-engine): $OLD_PWTOOL}"
	echo
	row "figure" "measured" "target/anchor" "verdict"
	row "(a) import $BENCH_IMPORT pre-hashed lines (${import_line_bytes} B/line)" \
	    "$import_s s, $(fmt %.0f "$import_rate") lines/s" "< ${IMPORT_TARGET_S} s" "$import_ok"
	row "    store files / pwtool peak RSS" "$(human_size "$import_size") / $import_rss"
	row "(b) add $BENCH_ADD users, one process each, per user:" "mean / p50 / p90 / max ms (total)"
	row "    pwtool, default (yescrypt + SCRAM-SHA-256/1)" "$add_default_ms / $add_default_p50 / $add_default_p90 / $add_default_max ($add_default_s s)"
	row "    pwtool, cheap (sha512-crypt 1000, -m plain)" "$add_cheap_ms / $add_cheap_p50 / $add_cheap_p90 / $add_cheap_max ($add_cheap_s s)"
	row "    saslpasswd2 -p -c (anchor, cleartext)" "$add_sasl_ms / $add_sasl_p50 / $add_sasl_p90 / $add_sasl_max ($add_sasl_s s)"
	row "    process floor (pipe + exec /bin/cat)" "$floor_ms / $floor_p50 / $floor_p90 / $floor_max ($floor_s s)"
	row "    ratio pwtool default / saslpasswd2" "$(fmt %.2f "$ratio_default")x"
	row "    ratio pwtool cheap / saslpasswd2" "$(fmt %.2f "$ratio_cheap")x"
	row "    default hashes alone (default - cheap)" "$(fmt %.2f "$hash_ms") ms/user"
	row "    store files after the adds" "$(human_size "$add_default_size") / $(human_size "$add_cheap_size") / sasldb $(human_size "$add_sasl_size")"
	if [[ -n $big_fail ]]; then
		row "(c) import $BENCH_USERS lines into an empty store" "FAILED: $big_fail" "" "FAIL"
		row "    instead $big_chunks imports of $BENCH_CHUNK lines" "$big_s s, $(fmt %.0f "$big_rate") lines/s"
	else
		row "(c) import $BENCH_USERS lines into an empty store" "$big_s s, $(fmt %.0f "$big_rate") lines/s"
	fi
	row "    store files / pwtool peak RSS" "$(human_size "$big_size") ($big_size B) / $big_rss"
	row "    lookup, $BENCH_LOOKUPS lookups (10% absent), 1 reader" "$(fmt %.0f "$lk_rate") lookups/s"
	row "      mean / p50 / p90" "$lk_mean / $lk_p50 / $lk_p90 us"
	row "      p99" "$lk_p99 us" "< ${P99_TARGET_US} us" "$lookup_ok"
	row "      p99.9 / max" "$lk_p999 / $lk_max us"
	row "      first lookup (opens the store)" "$lk_open us"
	if [[ -n $pend_note ]]; then
		row "(d) lookups with $BENCH_PENDING changes not compacted" "n/a ($pend_note)"
	else
		row "(d) that store + $BENCH_PENDING changes in its log (batch)" "$pend_batch_s s; log $(human_size "$pend_log"), not compacted"
		row "    lookup, all keys: p50 / p99 / p99.9 us" "$pk_p50 / $pk_p99 / $pk_p999" "p99 < ${P99_TARGET_US} us" "$pend_ok"
		row "    lookup, changed keys only: p50 / p99 / p99.9 us" "$ck_p50 / $ck_p99 / $ck_p999"
		row "    first lookup (opens base + reads the log)" "$pk_open us"
		row "    reader held like authd's sees the change next lookup" "$follow_seen of $follow_n" "all" "$follow_ok"
		row "      that lookup: median / p90 / max us" "$follow_med / $follow_p90 / $follow_max"
		row "    one change, one process, on it: median / p90 ms" "$pchange_med / $pchange_p90 ($follow_n changes)"
	fi
	row "(e) one change, one process (cheap), median ms:" "$BENCH_SMALL / $BENCH_USERS users" "big/small <= ${RATIO_TARGET}x"
	for o in "${ops[@]}" all; do
		local r v
		r=$(ratio_of "$o-new-large" "$o-new-small")
		v=$(awk -v r="$r" -v t="$RATIO_TARGET" 'BEGIN { print (r <= t) ? "PASS" : "FAIL" }')
		row "    pwtool ${o/#all/(all four together)}" "${med[$o-new-small]} / ${med[$o-new-large]} ($(fmt %.2f "$r")x)" "<= ${RATIO_TARGET}x" "$v"
	done
	if [[ -n $OLD_PWTOOL ]]; then
		row "    $BENCH_SMALL users: new / old (pre-engine) pwtool, median ms" "" "new/old <= 1.00x"
		for o in "${ops[@]}" all; do
			local r v
			r=$(ratio_of "$o-new-small" "$o-old-small")
			v=$(awk -v r="$r" 'BEGIN { if (r <= 1) print "PASS"; else printf "FAIL (+%.0f%%)", (r - 1) * 100 }')
			row "    pwtool ${o/#all/(all four together)}" "${med[$o-new-small]} / ${med[$o-old-small]} ($(fmt %.2f "$r")x)" "<= 1.00x" "$v"
		done
	else
		row "    old (pre-engine) pwtool on $BENCH_SMALL users" "n/a (OLD_BUILD not set)"
	fi
	for o in add passwd delete all; do
		row "    anchor saslpasswd2 ${o/#all/(all three together)}" "${med[$o-sasl-small]} / ${med[$o-sasl-large]} ($(fmt %.2f "$(ratio_of "$o-sasl-large" "$o-sasl-small")")x)" "anchor"
	done
	row "    p90 ms, pwtool add / passwd / lock / delete, small" "${p90[add-new-small]} / ${p90[passwd-new-small]} / ${p90[lock-new-small]} / ${p90[delete-new-small]}"
	row "    p90 ms, the same, big" "${p90[add-new-large]} / ${p90[passwd-new-large]} / ${p90[lock-new-large]} / ${p90[delete-new-large]}"
	row "    big store: import of cheap lines / files" "$large_import_s s / $(human_size "$large_size")"
	row "    big sasldb: db5.3_load of a dump / file" "$sasl_load_s s / $(human_size "$sasl_large_size")"
	row "    compactions during the rounds (big store)" "$e_gens"
	if [[ -n $batch_note ]]; then
		row "(f) pwtool batch on the big store" "n/a ($batch_note)"
	else
		row "(f) pwtool batch, $BENCH_BATCH changes, big store" "$(fmt %.0f "$batch_rate") durable changes/s ($batch_s s)" ">= $BATCH_TARGET/s" "$batch_ok"
		row "    compactions in the window (generations)" "$compactions ($g0 -> $g1)${comp_list:+, ${comp_list% } s each}"
		row "    log: before / after the window" "$(human_size "$log0") / $(human_size "$log1") ($(fmt %.0f "$(calc "($log1 - $log0) / $BENCH_BATCH")") B/change if no compaction)"
		if [[ -n $blkdev ]]; then
			row "    written to $blkdev in the window / idle, same time" "$(human_size "$window_bytes") in $window_s s / $(human_size "$idle_post")"
			row "    idle before the window, 10 s" "$(human_size "$idle_pre") (the lower rate is subtracted)"
			row "    ours: window - lower idle rate x window" "$(human_size "$net")"
			if (( compactions == 0 )); then
				row "    + explicit pwtool compact (none came by itself)" "$(human_size "$forced_bytes") in $forced_s s"
				row "    bytes written per change, + that compaction" "$(kib "$per_change")" "<= 64 KiB" "$bytes_ok"
				row "      steady state: 1 compaction per $(fmt %.0f "$per_compaction") changes" "$(kib "$steady") per change"
			else
				row "    bytes written per change, compactions included" "$(kib "$per_change")" "<= 64 KiB" "$bytes_ok"
			fi
		else
			row "    bytes written per change" "n/a (no block device under $work)"
		fi
		row "    batch process alone (/proc/PID/io write_bytes)" "$(kib "$fg_per") per change"
	fi
}
summary | tee "$results"
log "== written $results"
