#!/bin/bash
# store.sh - benchmark of the credential store (userdb + pwtool), with
# Cyrus saslpasswd2/sasldb as the anchor in the same run.  See bench/README.
#
# usage: bash bench/store.sh [BUILD_DIR]        (default: build-bench)
#
# Sizes (environment):
#   BENCH_IMPORT=100000    lines of the pre-hashed import (target: < 20 s)
#   BENCH_ADD=1000         users added one process each (pwtool and anchor)
#   BENCH_USERS=1000000    records of the store used for lookups
#   BENCH_LOOKUPS=200000   timed lookups on that store (target: p99 < 100 us)
#   BENCH_CHANGES=3        single-user commits timed on that store
#   BENCH_RESULTS=FILE     summary file (default: bench/results-store.txt)
#
# Needs the built pwtool and bench/store-lookup, and saslpasswd2 (package
# sasl2-bin; installed with apt-get when missing and running as root).
# Everything is written under a private temporary directory, removed on
# exit; the anchor only ever uses a private sasldb (-f), never /etc/sasldb2.
set -euo pipefail
export LC_ALL=C		# "." in $EPOCHREALTIME and in every number printed

[[ -n ${EPOCHREALTIME:-} ]] || { echo "store.sh: needs bash >= 5" >&2; exit 1; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
srcdir=$(dirname "$here")

BENCH_IMPORT=${BENCH_IMPORT:-100000}
BENCH_ADD=${BENCH_ADD:-1000}
BENCH_USERS=${BENCH_USERS:-1000000}
BENCH_LOOKUPS=${BENCH_LOOKUPS:-200000}
BENCH_CHANGES=${BENCH_CHANGES:-3}
results=${BENCH_RESULTS:-$here/results-store.txt}

IMPORT_TARGET_S=20
P99_TARGET_US=100
REALM=bench.example

die() { echo "store.sh: $*" >&2; exit 1; }

for v in BENCH_IMPORT BENCH_ADD BENCH_USERS BENCH_LOOKUPS BENCH_CHANGES; do
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

if ! command -v saslpasswd2 >/dev/null; then
	if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
		echo "store.sh: installing sasl2-bin (the anchor)" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y sasl2-bin >/dev/null ||
		{ apt-get update >/dev/null &&
		  DEBIAN_FRONTEND=noninteractive apt-get install -y sasl2-bin >/dev/null; } ||
		die "cannot install sasl2-bin"
	else
		die "saslpasswd2 missing: apt-get install sasl2-bin"
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
import_size=$(stat -c %s import.db)
import_rss=$(rss_of rss-import)
import_rate=$(calc "$BENCH_IMPORT / $import_s")
import_ok=$(awk -v s="$import_s" -v t="$IMPORT_TARGET_S" 'BEGIN { print (s < t) ? "PASS" : "FAIL" }')
log "   ${import_s} s, $(fmt %.0f "$import_rate") lines/s, line ${import_line_bytes} B, store $(human_size "$import_size") (target < ${IMPORT_TARGET_S} s: $import_ok)"
rm -f import.txt import.db import.db.lock

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
add_default_size=$(stat -c %s add-default.db)
add_cheap_size=$(stat -c %s add-cheap.db)
add_sasl_size=$(stat -c %s sasl.db)

ratio_default=$(calc "$add_default_s / $add_sasl_s")
ratio_cheap=$(calc "$add_cheap_s / $add_sasl_s")
# One user's hashes, in-process cost, = default minus cheap per user.
hash_ms=$(calc "($add_default_s - $add_cheap_s) * 1000 / $BENCH_ADD")
rm -f add-default.db* add-cheap.db* sasl.db* t-floor t-default t-cheap t-sasl

# ---------------------------------------------------------------- (c)
log "== (c) store of $BENCH_USERS records: build by import, then lookups"
gen_import "$BENCH_USERS" big.txt
cut -d: -f1 big.txt > keys.txt
t0=$(now)
"${RSS[@]}" rss-big "$PWTOOL" -c default.conf -f big.db import big.txt 2> big.err ||
	{ cat big.err >&2; die "import of $BENCH_USERS failed"; }
t1=$(now)
rm -f big.txt
big_s=$(secs "$t0" "$t1")
big_rate=$(calc "$BENCH_USERS / $big_s")
big_size=$(stat -c %s big.db)
big_rss=$(rss_of rss-big)
log "   import: ${big_s} s, $(fmt %.0f "$big_rate") lines/s, store $(human_size "$big_size")"

"$LOOKUP" big.db keys.txt "$BENCH_LOOKUPS" > lookup.out ||
	{ cat lookup.out >&2; die "store-lookup failed"; }
head -n 1 lookup.out >&2
lj=$(sed -n 's/^JSON //p' lookup.out)
jget() { printf '%s\n' "$lj" | sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p"; }
lk_mean=$(jget mean_us); lk_p50=$(jget p50_us); lk_p90=$(jget p90_us)
lk_p99=$(jget p99_us); lk_p999=$(jget p999_us); lk_max=$(jget max_us)
lk_rate=$(jget lookups_per_s); lk_open=$(jget open_us)
lookup_ok=$(awk -v p="$lk_p99" -v t="$P99_TARGET_US" 'BEGIN { print (p < t) ? "PASS" : "FAIL" }')

# One change = one commit = one full copy of the file (userdb.h).
changes=()
for ((i = 1; i <= BENCH_CHANGES; i++)); do
	t0=$(now)
	pw_of "new$i" | "$PWTOOL" -c cheap.conf -f big.db -p -m plain add "new$i@$REALM"
	t1=$(now)
	changes+=("$(secs "$t0" "$t1")")
done
change_list="${changes[*]}"
change_med=$(printf '%s\n' "${changes[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
log "   single add on the big store: ${change_list}s (median ${change_med} s)"
n=$(count_users big.db)
[[ $n -eq $((BENCH_USERS + BENCH_CHANGES)) ]] ||
	die "big.db holds $n users, expected $((BENCH_USERS + BENCH_CHANGES))"
rm -f big.db* keys.txt

# ---------------------------------------------------------------- (d)
# row LABEL MEASURED [TARGET VERDICT]
row() { printf '%-52s %-30s %-9s %s\n' "$1" "$2" "${3:-}" "${4:-}" | sed 's/ *$//'; }
summary() {
	echo "authd credential-store benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "machine: $machine"
	echo "load:    $load_before (before), $(cut -d' ' -f1-3 /proc/loadavg) (after)"
	echo "anchor:  saslpasswd2 $(dpkg-query -W -f '${Version}' sasl2-bin 2>/dev/null || echo '?') (Cyrus SASL sasldb; stores cleartext)"
	echo
	row "figure" "measured" "target" "verdict"
	row "(a) import $BENCH_IMPORT pre-hashed lines (${import_line_bytes} B/line)" \
	    "$import_s s, $(fmt %.0f "$import_rate") lines/s" "< ${IMPORT_TARGET_S} s" "$import_ok"
	row "    store file / pwtool peak RSS" "$(human_size "$import_size") / $import_rss"
	row "(b) add $BENCH_ADD users, one process each, per user:" "mean / p50 / p90 / max ms (total)"
	row "    pwtool, default (yescrypt + SCRAM-SHA-256/1)" "$add_default_ms / $add_default_p50 / $add_default_p90 / $add_default_max ($add_default_s s)"
	row "    pwtool, cheap (sha512-crypt 1000, -m plain)" "$add_cheap_ms / $add_cheap_p50 / $add_cheap_p90 / $add_cheap_max ($add_cheap_s s)"
	row "    saslpasswd2 -p -c (anchor, cleartext)" "$add_sasl_ms / $add_sasl_p50 / $add_sasl_p90 / $add_sasl_max ($add_sasl_s s)"
	row "    process floor (pipe + exec /bin/cat)" "$floor_ms / $floor_p50 / $floor_p90 / $floor_max ($floor_s s)"
	row "    ratio pwtool default / saslpasswd2" "$(fmt %.2f "$ratio_default")x"
	row "    ratio pwtool cheap / saslpasswd2" "$(fmt %.2f "$ratio_cheap")x"
	row "    default hashes alone (default - cheap)" "$(fmt %.2f "$hash_ms") ms/user"
	row "    store files after the adds" "$(human_size "$add_default_size") / $(human_size "$add_cheap_size") / sasldb $(human_size "$add_sasl_size")"
	row "(c) import $BENCH_USERS lines into an empty store" "$big_s s, $(fmt %.0f "$big_rate") lines/s"
	row "    store file / pwtool peak RSS" "$(human_size "$big_size") ($big_size B) / $big_rss"
	row "    lookup, $BENCH_LOOKUPS lookups (10% absent), 1 reader" "$(fmt %.0f "$lk_rate") lookups/s"
	row "      mean / p50 / p90" "$lk_mean / $lk_p50 / $lk_p90 us"
	row "      p99" "$lk_p99 us" "< ${P99_TARGET_US} us" "$lookup_ok"
	row "      p99.9 / max" "$lk_p999 / $lk_max us"
	row "      first lookup (opens the file)" "$lk_open us"
	row "    one change (pwtool -p add, cheap) on that store" "median $change_med s"
	row "      each run" "$change_list s"
}
summary | tee "$results"
log "== written $results"
