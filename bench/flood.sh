#!/bin/bash
# flood.sh - a normal user's logins while the hash queue is flooded
# (issue 9): 3 auth connections keep 128 wrong-password PLAIN requests
# each in flight, each answer replaced at once by a new request, and a
# normal user logs in again and again on the mux and the auth socket.
# Measured: the normal user's success rate, p50 and p99 on each socket,
# against one hash time measured in the same run; with a second build
# directory (the FIFO queue before the fix, e.g. a worktree of a7a6ac5),
# the same on it, and the ratios.  See bench/README, "Hash-queue flood".
#
# usage: bash bench/flood.sh [BUILD_DIR [OLD_BUILD_DIR]]  (default: build-mb)
#
# Must run as root (authd binds its sockets as root and drops to nobody).
# Knobs (environment):
#   BENCH_LOGINS=30        normal logins per socket and run
#   BENCH_SECONDS=60       at most this long per run (the old queue takes
#                          up to auth_reply_max, 8 s, per login)
#   BENCH_ROUNDS=2         runs per build, interleaved new/old
#   BENCH_SCHEME=yescrypt  password_scheme of the users (default cost:
#                          what a default installation verifies)
#   BENCH_RESULTS=FILE     summary file (default: bench/results-flood.txt)
# Needs python3 and the built authd and pwtool; the flood and the
# measurement are tests/daemon/flood.py.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck disable=SC2034  # both used by lib.sh
srcdir=$(dirname "$here") me=flood.sh
# shellcheck source=lib.sh
source "$here/lib.sh"

BENCH_LOGINS=${BENCH_LOGINS:-30}
BENCH_SECONDS=${BENCH_SECONDS:-60}
BENCH_ROUNDS=${BENCH_ROUNDS:-2}
BENCH_SCHEME=${BENCH_SCHEME:-yescrypt}
results=${BENCH_RESULTS:-$here/results-flood.txt}
FLOOD=$srcdir/tests/daemon/flood.py
for v in BENCH_LOGINS BENCH_SECONDS BENCH_ROUNDS; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"
done
[[ $(id -u) -eq 0 ]] || die "must run as root (authd starts as root)"
command -v python3 >/dev/null || die "python3 missing"

new=$(bench_build "${1:-}" build-mb)
builds=(new)
declare -A BUILD=([new]=$new)
if [[ -n ${2:-} ]]; then
	BUILD[old]=$(bench_build "$2" "$2")
	builds+=(old)
fi
for b in "${builds[@]}"; do
	for x in authd/authd pwtool/pwtool; do
		[[ -x ${BUILD[$b]}/$x ]] || die "${BUILD[$b]}/$x not built"
	done
done

work=$(mktemp -d "${TMPDIR:-/tmp}/authd-bench-flood.XXXXXX")
chmod 0755 "$work"
authd_pid=""
cleanup() {
	stop_pid "$authd_pid"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log "flood.sh: working in $work"

conf=$work/authd.conf
{
	echo "# written by bench/flood.sh: defaults but for the paths"
	echo "user = nobody"
	echo "group = nogroup"
	echo "socket_dir = $work/sock"
	echo "store_path = $work/users.db"
	echo "store_group = nogroup"
	echo "default_realm = example.org"
	echo "password_scheme = $BENCH_SCHEME"
} > "$conf"
for u in alice flood; do
	printf 'pw-%s\n' "$u" | "${BUILD[new]}/pwtool/pwtool" -c "$conf" -p \
		add "$u@example.org" > /dev/null
done

start_authd() {
	local i
	rm -rf "$work/sock"
	"${BUILD[$1]}/authd/authd" -c "$conf" -d 2>> "$work/authd-$1.log" &
	authd_pid=$!
	for ((i = 0; i < 100; i++)); do
		[[ -S $work/sock/auth ]] && grep -q 'ready:' "$work/authd-$1.log" &&
			return 0
		sleep 0.05
	done
	die "$1: authd did not start (see $work/authd-$1.log)"
}

# kv FILE KEY - the value of KEY= in FILE
kv() { sed -n "s/^$2=//p" "$1" | head -n 1; }

# run B R - one run of build B (round R): hash time, flood, hash time
run() {
	local b=$1 r=$2 out=$work/$1-$2
	start_authd "$b"
	python3 "$FLOOD" "$work/sock" hash alice@example.org pw-alice -n 9 \
		> "$out.hash1"
	python3 "$FLOOD" "$work/sock" flood alice@example.org pw-alice \
		--logins "$BENCH_LOGINS" --seconds "$BENCH_SECONDS" --warmup 2 \
		--rip 192.0.2.10 > "$out.flood"
	python3 "$FLOOD" "$work/sock" hash alice@example.org pw-alice -n 9 \
		> "$out.hash2"
	stop_pid "$authd_pid"
	authd_pid=""
	log "flood.sh: $b round $r: hash $(kv "$out.hash1" hash_ms)/$(kv "$out.hash2" hash_ms) ms," \
		"mux ok $(kv "$out.flood" mux_ok)/$(kv "$out.flood" mux_n)" \
		"p99 $(kv "$out.flood" mux_p99_ms) ms," \
		"auth ok $(kv "$out.flood" auth_ok)/$(kv "$out.flood" auth_n)" \
		"p99 $(kv "$out.flood" auth_p99_ms) ms"
}

for ((r = 1; r <= BENCH_ROUNDS; r++)); do
	for b in "${builds[@]}"; do
		run "$b" "$r"
	done
done

# agg B KEY how - over the rounds: sum, max or median of KEY in B's files
agg() {
	local b=$1 key=$2 how=$3 f
	for ((r = 1; r <= BENCH_ROUNDS; r++)); do
		case $key in
		hash_ms) kv "$work/$b-$r.hash1" hash_ms; kv "$work/$b-$r.hash2" hash_ms ;;
		loaded_hash_ms) kv "$work/$b-$r.flood" loaded_hash_ms ;;
		*) kv "$work/$b-$r.flood" "$key" ;;
		esac
	done | sort -n | awk -v how="$how" '
		{ v[NR] = $1; s += $1 }
		END {
			if (how == "sum") print s + 0
			else if (how == "max") print v[NR] + 0
			else print v[int((NR + 1) / 2)] + 0
		}'
}

summary() {
	local b s n ok h p50 p99
	echo "authd hash-queue flood (bench/flood.sh), $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "machine: $(machine_line)"
	echo "users: $BENCH_SCHEME at the default cost; authd defaults (auth_workers"
	echo "= one per CPU, auth_reply_max 8s, failure delay 1s..5s)"
	echo "flood: 3 auth connections x 128 wrong-password PLAIN in flight, topped up"
	echo "at once; normal user: $BENCH_LOGINS logins per socket and run (at most"
	echo "${BENCH_SECONDS} s), $BENCH_ROUNDS runs per build"
	echo
	printf '%-5s %-5s %8s %8s %9s %5s %7s %7s %9s\n' build sock hash_ms \
		loaded ok/n ok% p50_ms p99_ms p99/load
	for b in "${builds[@]}"; do
		h=$(agg "$b" hash_ms median)
		hl=$(agg "$b" loaded_hash_ms median)
		for s in mux auth; do
			n=$(agg "$b" "${s}_n" sum)
			ok=$(agg "$b" "${s}_ok" sum)
			p50=$(agg "$b" "${s}_p50_ms" median)
			p99=$(agg "$b" "${s}_p99_ms" max)
			printf '%-5s %-5s %8s %8s %9s %5s %7s %7s %9s\n' "$b" "$s" "$h" \
				"$hl" "$ok/$n" "$(fmt %.0f "$(calc "($n > 0) ? 100 * $ok / $n : 0")")" \
				"$p50" "$p99" "$(fmt %.1f "$(calc "$p99 / (($hl > 0) ? $hl : 1)")")"
			eval "R_${b}_${s}_p50=$p50 R_${b}_${s}_p99=$p99"
		done
		echo "      flood: $(agg "$b" flood_fail sum) wrong-password FAILs," \
			"$(agg "$b" flood_temp sum) temp_fail, $(agg "$b" flood_ok sum) OK"
	done
	echo
	h=$(agg new hash_ms median)
	hl=$(agg new loaded_hash_ms median)
	echo "hash_ms: one login alone, before and after each flood (median);"
	echo "loaded: one hash as the workers managed during the flood (run time"
	echo "x workers / hashes done; they are never idle then)."
	echo "target (issue 9): every login OK, p99 < 2 hashes + the fair share"
	echo "(3 flood sources / $(nproc) workers = $(fmt %.1f "$(calc "3 / $(nproc)")") hashes):" \
		"$(fmt %.0f "$(calc "(2 + 3 / $(nproc)) * $h")") ms at the unloaded hash," \
		"$(fmt %.0f "$(calc "(2 + 3 / $(nproc)) * $hl")") ms at the loaded one"
	if [[ -n ${BUILD[old]:-} ]]; then
		for s in mux auth; do
			echo "$s: old/new p50 $(fmt %.1f "$(calc "$(eval echo "\$R_old_${s}_p50") / $(eval echo "\$R_new_${s}_p50")")")x," \
				"p99 $(fmt %.1f "$(calc "$(eval echo "\$R_old_${s}_p99") / $(eval echo "\$R_new_${s}_p99")")")x"
		done
	fi
}

summary | tee "$results"
log "== written $results"
