# shellcheck shell=bash
# lib.sh - helpers shared by the daemon benchmarks (mux.sh, auth.sh, pg.sh).
# Sourced, not run.  The sourcing script sets $me (its name, for messages)
# and $srcdir (the source tree) before sourcing.
# shellcheck disable=SC2154  # me, srcdir: set by the sourcing script

die() { echo "$me: $*" >&2; exit 1; }
log() { printf '%s\n' "$*" >&2; }

# calc EXPR - awk arithmetic; fmt FORMAT X - printf of a number
calc() { awk "BEGIN { printf \"%s\", $1 }"; }
fmt() { awk -v x="$2" "BEGIN { printf \"$1\", x }"; }

# bench_build DIR DEFAULT - the absolute build directory (as given, or
# under the source tree), or die with how to make one.
bench_build() {
	local b=${1:-$2}
	if [[ -d $b ]]; then
		(cd "$b" && pwd)
	elif [[ -d $srcdir/$b ]]; then
		(cd "$srcdir/$b" && pwd)
	else
		die "no build directory $b (meson setup $2 --buildtype=release && ninja -C $2)"
	fi
}

# live_of PID... - those that still run (not zombies)
live_of() {
	local p st
	for p in "$@"; do
		st=$(awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$p/stat" 2>/dev/null || true)
		[[ -n $st && $st != Z ]] && echo "$p"
	done
	return 0
}

# stop_pid PID - TERM, wait up to 5 s, then KILL
stop_pid() {
	local p=$1 i
	[[ -n $p ]] || return 0
	kill -TERM "$p" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
}

# busy_ticks - CPU ticks the whole machine spent busy (user, nice, system,
# irq, softirq), from /proc/stat.
busy_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat; }

# machine_line - "N CPUs, model, RAM", for the summaries
machine_line() {
	local cpu mem
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	mem=$(free -h | awk '/^Mem:/ { print $2 }')
	echo "$(nproc) CPUs, ${cpu:-unknown CPU}, ${mem} RAM"
}

# median - the median of the numbers on stdin, one a line (0 for none)
median() {
	sort -g | awk '{ v[NR] = $1 }
		END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; else print 0 }'
}

# Summaries over cells.txt, one line a run: "SERVER POINT ROUND RATE ..."
# (POINT: the client count of mux.sh, the load point of auth.sh).
#
# med SERVER POINT FIELD - median over the rounds of a field
med() {
	awk -v s="$1" -v p="$2" -v f="$3" '$1 == s && $2 == p { print $f }' cells.txt | median
}
# range SERVER POINT - "min-max" of the rate over the rounds
range() {
	awk -v s="$1" -v p="$2" '$1 == s && $2 == p { print $4 }' cells.txt | sort -g |
		awk '{ v[NR] = $1 } END { printf "%.0f-%.0f", v[1], v[NR] }'
}
# ratio A B POINT - median over the rounds of rate(A) / rate(B) in the
# same round (both ran under the same conditions)
ratio() {
	awk -v a="$1" -v b="$2" -v p="$3" '$2 == p && $1 == a { x[$3] = $4 }
		$2 == p && $1 == b { y[$3] = $4 }
		END { for (r in x) if (y[r] > 0) print x[r] / y[r] }' cells.txt | median
}
# verdict X TARGET - PASS when X >= TARGET
verdict() { awk -v x="$1" -v t="$2" 'BEGIN { print (x >= t) ? "PASS" : "FAIL" }'; }

# cpu_snap PID... - "pid ticks" per process, user + system clock ticks
# (all threads: /proc/PID/stat of a thread-group leader sums them).
cpu_snap() {
	local p f
	for p in "$@"; do
		[[ -r /proc/$p/stat ]] || continue
		read -r -a f < <(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null) || continue
		echo "$p $(( f[11] + f[12] ))"
	done
	return 0
}
# cpu_delta BEFORE AFTER - ticks the processes spent in between (one that
# appeared meanwhile counts whole)
cpu_delta() {
	awk 'NR == FNR { b[$1] = $2; next } { d += $2 - (($1 in b) ? b[$1] : 0) } END { print d + 0 }' "$1" "$2"
}
# jget FILE KEY - a number of a load generator's JSON line (auth-load)
jget() { sed -n "s/^JSON .*\"$2\":\([0-9.]*\).*/\1/p" "$1"; }
