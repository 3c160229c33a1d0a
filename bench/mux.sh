#!/bin/bash
# mux.sh - benchmark of authd's mux (saslauthd protocol) socket, with Cyrus
# saslauthd (sasldb back-end) as the anchor and a do-nothing echo server as
# the ceiling, all driven by the same load generator in the same run.
# See bench/README, "Daemon (mux socket)".
#
# usage: bash bench/mux.sh [BUILD_DIR]          (default: build-mb)
#
# Must run as root: authd binds its sockets as root and drops to nobody,
# and saslauthd's sasldb back-end only reads /etc/sasldb2 (the path is
# compiled in: saslauthd gives the sasldb code no configuration, so
# sasldb_path / SASL_CONF_PATH do not apply).  The script therefore puts
# its own sasldb at /etc/sasldb2 while saslauthd runs, and puts the
# original back afterwards (also on error or Ctrl-C; the copy is kept in
# the temporary directory, which is printed at start).
#
# Sizes and knobs (environment):
#   BENCH_USERS=1000      users in realm example.org, the same for every server
#   BENCH_ROTATE=4        requests rotate over this many of them
#   BENCH_SECONDS=5       measured seconds per run (after a 1 s warm-up)
#   BENCH_CLIENTS="1 4"   concurrent clients (one request in flight each)
#   BENCH_ROUNDS=3        rounds; each round runs every server once
#   BENCH_IDLE=1000       idle connections held for the memory figure
#   BENCH_HASHES=20       timed yescrypt checks for the hash-time figure
#   BENCH_RESULTS=FILE    summary file (default: bench/results-mux.txt)
#
# Needs the built authd, pwtool, bench/mux-load, bench/mux-echo and
# bench/crypt-time, python3, and saslauthd + saslpasswd2 (package
# sasl2-bin; installed with apt-get when missing).
set -euo pipefail
export LC_ALL=C

[[ -n ${EPOCHREALTIME:-} ]] || { echo "mux.sh: needs bash >= 5" >&2; exit 1; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck disable=SC2034  # both used by lib.sh
srcdir=$(dirname "$here") me=mux.sh
# shellcheck source=lib.sh
source "$here/lib.sh"

BENCH_USERS=${BENCH_USERS:-1000}
BENCH_ROTATE=${BENCH_ROTATE:-4}
BENCH_SECONDS=${BENCH_SECONDS:-5}
BENCH_CLIENTS=${BENCH_CLIENTS:-1 4}
BENCH_ROUNDS=${BENCH_ROUNDS:-3}
BENCH_IDLE=${BENCH_IDLE:-1000}
BENCH_HASHES=${BENCH_HASHES:-20}
results=${BENCH_RESULTS:-$here/results-mux.txt}

REALM=example.org
PW=Bench-pw-q7Z
SASLDB=/etc/sasldb2
# Targets, at the highest client count.
T_SASL=3	# authd >= 3x saslauthd without its cache
T_SASL_C=1.5	# authd with cache >= 1.5x saslauthd with its cache
T_ECHO=0.70	# authd with cache or cheap hash >= 70% of the echo ceiling
T_RSS_KB=16384	# authd RSS with BENCH_IDLE idle connections < 16 MiB


for v in BENCH_USERS BENCH_ROTATE BENCH_SECONDS BENCH_ROUNDS BENCH_IDLE BENCH_HASHES; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"
done
for c in $BENCH_CLIENTS; do
	[[ $c =~ ^[1-9][0-9]*$ ]] || die "BENCH_CLIENTS: $c is not a positive integer"
done
(( BENCH_ROTATE <= BENCH_USERS )) || die "BENCH_ROTATE must not exceed BENCH_USERS"
[[ $(id -u) -eq 0 ]] || die "must run as root (authd and saslauthd start as root)"

build=$(bench_build "${1:-}" build-mb)
AUTHD=$build/authd/authd
PWTOOL=$build/pwtool/pwtool
LOAD=$build/bench/mux-load
ECHO=$build/bench/mux-echo
CRYPT_TIME=$build/bench/crypt-time
for x in "$AUTHD" "$PWTOOL" "$LOAD" "$ECHO" "$CRYPT_TIME"; do
	[[ -x $x ]] || die "$x not built (ninja -C $build)"
done
command -v python3 >/dev/null || die "python3 missing"
if ! command -v saslauthd >/dev/null || ! command -v saslpasswd2 >/dev/null; then
	command -v apt-get >/dev/null || die "saslauthd missing: install sasl2-bin"
	log "mux.sh: installing sasl2-bin (the anchor)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y sasl2-bin >/dev/null ||
	{ apt-get update >/dev/null &&
	  DEBIAN_FRONTEND=noninteractive apt-get install -y sasl2-bin >/dev/null; } ||
	die "cannot install sasl2-bin"
fi
SASLAUTHD=$(command -v saslauthd)
SASLPASSWD2=$(command -v saslpasswd2)
CLK_TCK=$(getconf CLK_TCK)
max_clients=0
for c in $BENCH_CLIENTS; do (( c > max_clients )) && max_clients=$c; done

work=$(mktemp -d "${TMPDIR:-/tmp}/authd-bench-mux.XXXXXX")
# authd drops to nobody: it must reach its store and socket directory.
chmod 0755 "$work"

# --- what is running, and how to stop it (the trap uses these) ---
authd_pid=""		# authd (foreground child, -d)
echo_pid=""		# mux-echo
sasl_pgid=""		# saslauthd's process group (it daemonises, setsid)
idle_pid=""		# the idle-connection holder
sasldb_state=""		# "" (untouched), saved (copy in $work), absent

# sasldb_install - our users at /etc/sasldb2, the original saved first.
sasldb_install() {
	if [[ -z $sasldb_state ]]; then
		if [[ -e $SASLDB ]]; then
			cp -p "$SASLDB" "$work/etc-sasldb2.orig"
			sasldb_state=saved
		else
			sasldb_state=absent
		fi
	fi
	cp "$work/sasl.db" "$SASLDB.authd-bench.tmp"
	mv -f "$SASLDB.authd-bench.tmp" "$SASLDB"
}

# sasldb_restore - /etc/sasldb2 as it was before sasldb_install.
sasldb_restore() {
	case $sasldb_state in
	saved)
		cp -p "$work/etc-sasldb2.orig" "$SASLDB.authd-bench.tmp" &&
		mv -f "$SASLDB.authd-bench.tmp" "$SASLDB" &&
		sasldb_state="" ;;
	absent)
		rm -f "$SASLDB" && sasldb_state="" ;;
	esac
}

# group_pids PGID - live (non-zombie) processes of a process group.
group_pids() {
	# shellcheck disable=SC2046
	live_of $(pgrep -g "$1" 2>/dev/null || true)
}

stop_saslauthd() {
	local i
	[[ -n $sasl_pgid ]] || return 0
	kill -TERM -- "-$sasl_pgid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		[[ -z $(group_pids "$sasl_pgid") ]] && break
		sleep 0.1
	done
	[[ -z $(group_pids "$sasl_pgid") ]] || kill -KILL -- "-$sasl_pgid" 2>/dev/null || true
	sasl_pgid=""
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	stop_pid "$idle_pid"
	stop_pid "$authd_pid"
	stop_pid "$echo_pid"
	stop_saslauthd
	if [[ -n $sasldb_state ]] && ! sasldb_restore; then
		log "mux.sh: could not restore $SASLDB: the original is in $work/etc-sasldb2.orig"
		exit 1
	fi
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cd "$work"

# --- helpers ---
w=${#BENCH_USERS}; (( w < 4 )) && w=4
user_of() { printf "u%0${w}d" "$1"; }
# The rotated users: spread over the store (N/R, 2N/R, ..., N).
rot=()
for ((k = 1; k <= BENCH_ROTATE; k++)); do
	rot+=("$(user_of $(( k * BENCH_USERS / BENCH_ROTATE )))")
done
users_arg=$(IFS=,; echo "${rot[*]}")
probe_user=${rot[0]}

# cpu_ticks PID... - user + system clock ticks of the processes (all
# threads: /proc/PID/stat of a thread-group leader sums them).
cpu_ticks() {
	local t=0 p f
	for p in "$@"; do
		[[ -r /proc/$p/stat ]] || continue
		read -r -a f < <(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null) || continue
		(( t += f[11] + f[12] )) || true
	done
	echo "$t"
}
# rss_kb PID... - summed VmRSS (kB)
rss_kb() {
	local t=0 p v
	for p in "$@"; do
		v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null || true)
		(( t += ${v:-0} )) || true
	done
	echo "$t"
}
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

# wait_ready SOCK - until one real request gets "OK" (10 s at most).
wait_ready() {
	local i
	for ((i = 0; i < 100; i++)); do
		if [[ -S $1 ]] && "$LOAD" "$1" 1 0.05 "$probe_user" "$PW" "$REALM" \
			--warmup 0 > /dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# --- the machine ---
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
machine=$(machine_line)
sasl_version=$(dpkg-query -W -f '${Version}' sasl2-bin 2>/dev/null || echo '?')
log "== machine: $machine; load $load_before"
log "== temp dir: $work"
log "== authd: $AUTHD"
log "== anchor: $SASLAUTHD ($sasl_version)"
log "== users: $BENCH_USERS in $REALM; requests rotate over ${users_arg}"

# ------------------------------------------------------------ users
# Configurations.  cheap: one sha512-crypt verifier at 1000 rounds (the
# least libxcrypt allows), so a check costs ~0.4 ms; strong: pwtool's
# defaults (yescrypt at libxcrypt's default cost + SCRAM verifiers).
# write_conf NAME STORE CACHE [EXTRA_LINE...]
write_conf() {
	local name=$1 store=$2 cache=$3
	shift 3
	{
		echo "socket_dir = $work/sock-$name"
		echo "user = nobody"
		echo "group = nogroup"
		echo "store_path = $work/$store"
		echo "store_group = nogroup"
		echo "default_realm = $REALM"
		echo "auth_cache = $cache"
		echo "auth_workers = 0"
		[[ $store == cheap.db ]] && printf '%s\n' \
			"password_scheme = sha512-crypt" "password_cost = 1000"
		for l in "$@"; do echo "$l"; done
	} > "$name.conf"
}
write_conf cheap cheap.db no
write_conf strong strong.db no
write_conf clear clear.db no

# make_store CONF [PWTOOL_ADD_OPTIONS...] - the rotated users by a real
# `pwtool add` each (own salt); every other user by `pwtool import` of a
# copy of the first one's exported verifiers (the same cost per check).
make_store() {
	local conf=$1 u rest n
	shift
	for u in "${rot[@]}"; do
		printf '%s\n' "$PW" | "$PWTOOL" -c "$conf" -p "$@" add "$u@$REALM"
	done
	rest=$("$PWTOOL" -c "$conf" export | grep -v '^#' | head -n 1)
	rest=${rest#*:}
	awk -v n="$BENCH_USERS" -v w="$w" -v realm="$REALM" -v rest="$rest" \
	    -v skip="$users_arg" 'BEGIN {
		k = split(skip, s, ","); for (i = 1; i <= k; i++) no[s[i]] = 1
		for (i = 1; i <= n; i++) {
			u = sprintf("u%0" w "d", i)
			if (!(u in no)) printf "%s@%s:%s\n", u, realm, rest
		} }' > import.txt
	[[ -s import.txt ]] && "$PWTOOL" -c "$conf" import import.txt 2> /dev/null
	rm -f import.txt
	n=$("$PWTOOL" -c "$conf" realms | awk -F'\t' '{ s += $2 } END { print s + 0 }')
	[[ $n -eq $BENCH_USERS ]] || die "$conf: store holds $n users, expected $BENCH_USERS"
	printf '%s\n' "$PW" | "$PWTOOL" -c "$conf" -p check "$probe_user@$REALM" > /dev/null ||
		die "$conf: pwtool check of $probe_user failed"
}
log "== users: authd stores (pwtool), sasldb (saslpasswd2, one process per user)"
make_store cheap.conf -m plain
make_store strong.conf
# Cleartext, as sasldb keeps it: the same check as saslauthd's.
make_store clear.conf -m cleartext
strong_hash=$("$PWTOOL" -c strong.conf export | grep "^$probe_user@" | grep -o '{CRYPT}[^: ]*' | head -n 1)
cheap_hash=$("$PWTOOL" -c cheap.conf export | grep "^$probe_user@" | grep -o '{CRYPT}[^: ]*' | head -n 1)
case $strong_hash in '{CRYPT}$y$'*) ;; *) die "strong store: not yescrypt: $strong_hash" ;; esac
case $cheap_hash in '{CRYPT}$6$'*) ;; *) die "cheap store: not sha512-crypt: $cheap_hash" ;; esac
for ((i = 1; i <= BENCH_USERS; i++)); do
	printf '%s' "$PW" | "$SASLPASSWD2" -p -c -u "$REALM" -f sasl.db "$(user_of "$i")"
done
n=$(sasldblistusers2 -f sasl.db | grep -c "@$REALM:" || true)
[[ $n -eq $BENCH_USERS ]] || die "sasl.db holds $n users, expected $BENCH_USERS"

# ------------------------------------------------------------ hash time
# One check of each verifier, in-process on one thread (crypt-time), timed
# in every round right before the authd rows that hash, so the prediction
# for (g) sees the same machine load as (g) itself.  Appends to hash.txt:
#   round yescrypt_ms sha512crypt_ms
jnum() { sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" "$1"; }
time_hashes() {
	"$CRYPT_TIME" "$strong_hash" "$PW" "$BENCH_HASHES" > ct-strong.out
	"$CRYPT_TIME" "$cheap_hash" "$PW" $(( BENCH_HASHES * 20 )) > ct-cheap.out
	log "   $(head -n 1 ct-strong.out)"
	log "   $(head -n 1 ct-cheap.out)"
	echo "$1 $(jnum ct-strong.out mean_ms) $(jnum ct-cheap.out mean_ms)" >> hash.txt
}
strong_setting=$(printf '%s' "$strong_hash" | cut -d'$' -f2-3)

# ------------------------------------------------------------ servers
# Server labels (the rows of the summary), in the order of the first
# round; each later round starts three further down the list, so no
# server always runs at the same moment of a round.  Every authd row logs to a file (one line per result, as it
# would to syslog); the -null rows send the log to /dev/null instead.
servers=(sasl echo auth-cheap auth-cheap-cache sasl-cache auth-strong-cache
	 auth-strong auth-clear auth-cheap-cache-null)
declare -A desc=(
	[sasl]="(a) saslauthd -a sasldb -n 5"
	[sasl-cache]="(b) saslauthd -a sasldb -n 5 -c"
	[echo]="(c) echo ceiling (mux-echo)"
	[auth-cheap]="(d) authd sha512-crypt/1000, no cache"
	[auth-cheap-cache]="(e) authd sha512-crypt/1000, cache"
	[auth-strong-cache]="(f) authd yescrypt, cache"
	[auth-strong]="(g) authd yescrypt, no cache"
	[auth-clear]="(i) authd cleartext, no cache"
	[auth-cheap-cache-null]="(e') as (e), log to /dev/null"
)
write_conf auth-cheap cheap.db no
write_conf auth-cheap-cache cheap.db yes
write_conf auth-strong strong.db no
write_conf auth-strong-cache strong.db yes
write_conf auth-clear clear.db no
write_conf auth-cheap-cache-null cheap.db yes

sock=""		# the running server's socket
srv_pids=()	# the running server's processes (for CPU and RSS)
srv_log=""	# authd's log file

start_server() {
	local s=$1 conf
	case $s in
	sasl|sasl-cache)
		sasldb_install
		rm -rf "$work/sock-sasl"
		mkdir -m 0755 "$work/sock-sasl"
		if [[ $s == sasl-cache ]]; then
			"$SASLAUTHD" -a sasldb -m "$work/sock-sasl" -n 5 -c
		else
			"$SASLAUTHD" -a sasldb -m "$work/sock-sasl" -n 5
		fi
		for ((i = 0; i < 50; i++)); do
			[[ -s $work/sock-sasl/saslauthd.pid ]] && break
			sleep 0.1
		done
		sasl_pgid=$(cat "$work/sock-sasl/saslauthd.pid")
		sock=$work/sock-sasl/mux ;;
	echo)
		rm -f "$work/echo.sock"
		"$ECHO" "$work/echo.sock" 2> echo.log &
		echo_pid=$!
		sock=$work/echo.sock ;;
	auth-*)
		conf=$s.conf
		rm -rf "$work/sock-$s"
		if [[ $s == *-null ]]; then srv_log=/dev/null; else srv_log=$work/$s.log; fi
		"$AUTHD" -c "$conf" -d 2> "$srv_log" &
		authd_pid=$!
		sock=$work/sock-$s/mux ;;
	esac
	wait_ready "$sock" || die "$s: no OK on $sock within 10 s"
	case $s in
	sasl*) mapfile -t srv_pids < <(group_pids "$sasl_pgid") ;;
	echo) srv_pids=("$echo_pid") ;;
	auth-*) srv_pids=("$authd_pid") ;;
	esac
}

stop_server() {
	case $1 in
	sasl*) stop_saslauthd; sasldb_restore ;;
	echo) stop_pid "$echo_pid"; echo_pid="" ;;
	auth-*) stop_pid "$authd_pid"; authd_pid="" ;;
	esac
}

# run_cell SERVER CLIENTS ROUND - one load run; appends a line to cells.txt:
#   server clients round rps p50 p99 errors srv_us_per_req client_cpu_s rss_kb
#   log_bytes_per_req client_cpu_us_per_req
run_cell() {
	local s=$1 c=$2 r=$3 c0 c1 out j rps p50 p99 err all ccpu srv_us rss
	local l0=0 l1=0 lbpr=0 b0 b1 t0 t1 bg
	[[ $srv_log == "$work"/* ]] && l0=$(stat -c %s "$srv_log")
	c0=$(cpu_ticks "${srv_pids[@]}")
	b0=$(busy_ticks); t0=$EPOCHREALTIME
	out=$("$LOAD" "$sock" "$c" "$BENCH_SECONDS" "$users_arg" "$PW" "$REALM") ||
		{ printf '%s\n' "$out" >&2; die "$s, $c clients: errors"; }
	b1=$(busy_ticks); t1=$EPOCHREALTIME
	c1=$(cpu_ticks "${srv_pids[@]}")
	rss=$(rss_kb "${srv_pids[@]}")
	[[ $srv_log == "$work"/* ]] && l1=$(stat -c %s "$srv_log")
	j=$(printf '%s\n' "$out" | sed -n 's/^JSON //p')
	g() { printf '%s\n' "$j" | sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p"; }
	rps=$(g rps); p50=$(g p50_us); p99=$(g p99_us); err=$(g errors)
	all=$(g requests_all); ccpu=$(g client_cpu_s)
	srv_us=$(calc "($c1 - $c0) * 1000000 / $CLK_TCK / $all")
	(( all > 0 && l1 > l0 )) && lbpr=$(calc "($l1 - $l0) / $all")
	# Everything else the machine ran meanwhile (other users' work), in
	# cores: busy time minus this server and this load generator.
	bg=$(calc "(($b1 - $b0) - ($c1 - $c0)) / $CLK_TCK - $ccpu")
	bg=$(calc "($bg < 0 ? 0 : $bg) / ($t1 - $t0)")
	log "   $(printf '%-22s' "$s") ${c}c round $r: $(fmt %.0f "$rps") req/s, p50 ${p50} us, p99 ${p99} us, server cpu $(fmt %.1f "$srv_us") us/req, rss ${rss} kB, other load $(fmt %.2f "$bg") cores"
	echo "$s $c $r $rps $p50 $p99 $err $srv_us $ccpu $rss $lbpr $(calc "$ccpu * 1000000 / $all") $bg" >> cells.txt
}

: > cells.txt
: > hash.txt
nserv=${#servers[@]}
for ((round = 1; round <= BENCH_ROUNDS; round++)); do
	log "== round $round of $BENCH_ROUNDS (load $(cut -d' ' -f1-3 /proc/loadavg))"
	for ((k = 0; k < nserv; k++)); do
		s=${servers[$(( (k + 3 * (round - 1)) % nserv ))]}
		[[ $s == auth-strong ]] && time_hashes "$round"
		srv_log=""
		start_server "$s"
		for c in $BENCH_CLIENTS; do
			run_cell "$s" "$c" "$round"
		done
		stop_server "$s"
	done
done

# ------------------------------------------------------------ memory
log "== (h) authd memory: idle, then with $BENCH_IDLE idle connections"
write_conf mem strong.db yes "mux_timeout = 60s"
cat > hold.py <<'EOF'
# hold.py SOCKET N READYFILE - open N connections, send nothing, wait.
import signal, socket, sys
path, n, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3]
held = []
for _ in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    held.append(s)
with open(ready, "w") as f:
    f.write("%d\n" % len(held))
signal.pause()
EOF
"$AUTHD" -c mem.conf -d 2> mem.log &
authd_pid=$!
for ((i = 0; i < 100; i++)); do
	grep -q ': ready: ' mem.log 2>/dev/null && break
	sleep 0.1
done
grep -q ': ready: ' mem.log || die "authd (memory run) did not start"
sleep 0.5
fds_base=$(ls "/proc/$authd_pid/fd" | wc -l)
rss_start=$(status_kb "$authd_pid" VmRSS)
wait_ready "$work/sock-mem/mux" || die "authd (memory run): no OK"
"$LOAD" "$work/sock-mem/mux" "$max_clients" 2 "$users_arg" "$PW" "$REALM" > mem-load0.out ||
	{ cat mem-load0.out >&2; die "memory run: load before idle connections failed"; }
rss_served=$(status_kb "$authd_pid" VmRSS)
( ulimit -n $(( BENCH_IDLE + 64 )) && exec python3 hold.py "$work/sock-mem/mux" "$BENCH_IDLE" idle.ready ) &
idle_pid=$!
for ((i = 0; i < 200; i++)); do
	[[ -s idle.ready ]] && (( $(ls "/proc/$authd_pid/fd" | wc -l) >= fds_base + BENCH_IDLE )) && break
	kill -0 "$idle_pid" 2>/dev/null || die "idle client died"
	sleep 0.1
done
[[ -s idle.ready ]] || die "idle client did not connect $BENCH_IDLE sockets"
fds_idle=$(( $(ls "/proc/$authd_pid/fd" | wc -l) - fds_base ))
(( fds_idle >= BENCH_IDLE )) || die "authd holds only $fds_idle of $BENCH_IDLE idle connections"
sleep 0.5
rss_idle=$(status_kb "$authd_pid" VmRSS)
# Still serving, with the idle connections held (saslauthd -n 5 would
# not: five idle clients block all its workers).
"$LOAD" "$work/sock-mem/mux" "$max_clients" 2 "$users_arg" "$PW" "$REALM" > mem-load.out ||
	{ cat mem-load.out >&2; die "memory run: load with idle connections failed"; }
rps_idle=$(sed -n 's/^JSON .*"rps":\([0-9.]*\).*/\1/p' mem-load.out)
rss_idle_load=$(status_kb "$authd_pid" VmRSS)
hwm=$(status_kb "$authd_pid" VmHWM)
stop_pid "$idle_pid"; idle_pid=""
stop_pid "$authd_pid"; authd_pid=""
rss_ok=$(awk -v a="$rss_idle" -v t="$T_RSS_KB" 'BEGIN { print (a < t) ? "PASS" : "FAIL" }')
log "   RSS: start $rss_start kB, after load $rss_served kB, $fds_idle idle connections $rss_idle kB ($rss_ok), + load $rss_idle_load kB (VmHWM $hwm kB); $(fmt %.0f "$rps_idle") req/s meanwhile"

# ------------------------------------------------------------ summary
# med, range, ratio, verdict: bench/lib.sh (POINT = the client count).
cmax=$max_clients
medcol() {	# medcol FILE FIELD - median of a column
	awk -v f="$2" '{ print $f }' "$1" | median
}
yes_ms=$(medcol hash.txt 2)
cheap_ms=$(medcol hash.txt 3)
yes_range=$(awk '{ print $2 }' hash.txt | sort -g | awk '{ v[NR] = $1 } END { printf "%.1f-%.1f", v[1], v[NR] }')
yes_pred1=$(calc "1000 / $yes_ms")
workers=$(nproc)
yes_predn=$(calc "1000 * ($cmax < $workers ? $cmax : $workers) / $yes_ms")
cheap_predn=$(calc "1000 * ($cmax < $workers ? $cmax : $workers) / $cheap_ms")

row() { printf '%-40s %s\n' "$1" "$2" | sed 's/ *$//'; }
summary() {
	local s c
	echo "authd mux-socket benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "machine: $machine"
	echo "load:    $load_before (before), $(cut -d' ' -f1-3 /proc/loadavg) (after)"
	echo "anchor:  saslauthd $sasl_version, -a sasldb (cleartext compare)"
	echo "method:  $BENCH_USERS users in $REALM, requests rotate over $BENCH_ROTATE ($users_arg);"
	echo "         one request per connection, $BENCH_SECONDS s measured after 1 s warm-up,"
	echo "         $BENCH_ROUNDS rounds; figures are medians over the rounds (req/s range in brackets)"
	echo
	printf '%-40s' "server"
	for c in $BENCH_CLIENTS; do printf ' | %-38s' "${c} client(s): req/s [range], p50/p99 us"; done
	printf ' | %s\n' "at ${max_clients}c: server cpu us/req, client cpu us/req, server rss kB, other load (cores)"
	for s in "${servers[@]}"; do
		printf '%-40s' "${desc[$s]}"
		for c in $BENCH_CLIENTS; do
			printf ' | %-38s' "$(fmt %.0f "$(med "$s" "$c" 4)") [$(range "$s" "$c")], $(fmt %.0f "$(med "$s" "$c" 5)")/$(fmt %.0f "$(med "$s" "$c" 6)")"
		done
		printf ' | %s, %s, %s, %s\n' "$(fmt %.1f "$(med "$s" "$cmax" 8)")" "$(fmt %.1f "$(med "$s" "$cmax" 12)")" "$(fmt %.0f "$(med "$s" "$cmax" 10)")" "$(fmt %.2f "$(med "$s" "$cmax" 13)")"
	done
	echo "(server cpu: user + system time of all its processes and threads over the run, warm-up"
	echo " included, per request; server rss: VmRSS summed over its processes after the run,"
	echo " so saslauthd's shared pages count once per process; other load: CPU the rest of the"
	echo " machine used during the run, in cores of $(nproc): other users' work competing with it)"
	echo
	echo "ratios at $cmax clients (median of the per-round ratios):"
	local r
	r=$(ratio auth-cheap-cache sasl "$cmax"); row "  (e) authd cache / (a) saslauthd" "$(fmt %.2f "$r")x  (target >= ${T_SASL}x: $(verdict "$r" "$T_SASL"))"
	r=$(ratio auth-clear sasl "$cmax"); row "  (i) authd cleartext, no cache / (a)" "$(fmt %.2f "$r")x  (target >= ${T_SASL}x: $(verdict "$r" "$T_SASL"))"
	r=$(ratio auth-cheap sasl "$cmax"); row "  (d) authd sha512-crypt, no cache / (a)" "$(fmt %.2f "$r")x  (bounded by the hash, see below)"
	r=$(ratio echo sasl "$cmax"); row "  (c) echo ceiling / (a) saslauthd" "$(fmt %.2f "$r")x  (no server can beat this ratio here)"
	r=$(ratio auth-cheap-cache sasl-cache "$cmax"); row "  (e) authd cache / (b) saslauthd -c" "$(fmt %.2f "$r")x  (target >= ${T_SASL_C}x: $(verdict "$r" "$T_SASL_C"))"
	r=$(ratio auth-strong-cache sasl-cache "$cmax"); row "  (f) authd yescrypt cache / (b)" "$(fmt %.2f "$r")x  (target >= ${T_SASL_C}x: $(verdict "$r" "$T_SASL_C"))"
	r=$(ratio auth-cheap-cache echo "$cmax"); row "  (e) authd cache / (c) echo" "$(fmt %.0f "$(calc "$r * 100")")%  (target >= $(calc "$T_ECHO * 100")%: $(verdict "$r" "$T_ECHO"))"
	r=$(ratio auth-strong-cache echo "$cmax"); row "  (f) authd yescrypt cache / (c) echo" "$(fmt %.0f "$(calc "$r * 100")")%  (target >= $(calc "$T_ECHO * 100")%: $(verdict "$r" "$T_ECHO"))"
	r=$(ratio auth-clear echo "$cmax"); row "  (i) authd cleartext, no cache / (c) echo" "$(fmt %.0f "$(calc "$r * 100")")%  (target >= $(calc "$T_ECHO * 100")%: $(verdict "$r" "$T_ECHO"))"
	r=$(ratio auth-cheap-cache-null auth-cheap-cache "$cmax"); row "  logging cost: (e') /dev/null / (e) file" "$(fmt %.2f "$r")x"
	row "  authd log volume" "$(fmt %.0f "$(med auth-cheap-cache "$cmax" 11)") bytes/request"
	if [[ " $BENCH_CLIENTS " == *" 1 "* ]] && (( cmax > 1 )); then
		echo "ratios at 1 client, for reference:"
		r=$(ratio auth-cheap-cache sasl 1); row "  (e) / (a)" "$(fmt %.2f "$r")x"
		r=$(ratio auth-cheap-cache sasl-cache 1); row "  (e) / (b)" "$(fmt %.2f "$r")x"
		r=$(ratio auth-cheap-cache echo 1); row "  (e) / (c)" "$(fmt %.0f "$(calc "$r * 100")")%"
	fi
	echo
	echo "hash time, one check in-process on one thread (crypt-time):"
	row "  yescrypt ($strong_setting, pwtool default)" "$(fmt %.2f "$yes_ms") ms (mean of $BENCH_HASHES checks, median over rounds; rounds $yes_range ms)"
	row "  sha512-crypt rounds=1000 (cheap)" "$(fmt %.3f "$cheap_ms") ms (mean of $(( BENCH_HASHES * 20 )) checks, median over rounds)"
	row "  (g) predicted, 1 client: 1/hash" "$(fmt %.0f "$yes_pred1") req/s; measured $(fmt %.0f "$(med auth-strong 1 4)") ($(fmt %.0f "$(calc "100 * $(med auth-strong 1 4) / $yes_pred1")")%)"
	row "  (g) predicted, $cmax clients: min(clients, $workers cores)/hash" "$(fmt %.0f "$yes_predn") req/s; measured $(fmt %.0f "$(med auth-strong "$cmax" 4)") ($(fmt %.0f "$(calc "100 * $(med auth-strong "$cmax" 4) / $yes_predn")")%)"
	row "  (d) bound, $cmax clients: min(clients, $workers cores)/hash" "$(fmt %.0f "$cheap_predn") req/s; measured $(fmt %.0f "$(med auth-cheap "$cmax" 4)") ($(fmt %.0f "$(calc "100 * $(med auth-cheap "$cmax" 4) / $cheap_predn")")%)"
	echo
	echo "(h) authd memory (yescrypt store, cache on, mux_timeout 60s):"
	row "  VmRSS at start, 0 connections" "$rss_start kB"
	row "  VmRSS after a $cmax-client load, 0 connections" "$rss_served kB"
	row "  VmRSS with $fds_idle idle connections" "$rss_idle kB (target < $T_RSS_KB kB: $rss_ok)"
	row "  VmRSS with them, after a load run" "$rss_idle_load kB (VmHWM $hwm kB)"
	row "  serving meanwhile ($cmax clients)" "$(fmt %.0f "$rps_idle") req/s, no errors"
	echo
	echo "every run: server clients round req/s p50_us p99_us errors server_cpu_us/req client_cpu_s rss_kB log_B/req client_cpu_us/req other_load_cores"
	sed 's/^/  /' cells.txt
	echo "hash times per round: round yescrypt_ms sha512crypt_ms"
	sed 's/^/  /' hash.txt
}
summary | tee "$results"
log "== written $results"
