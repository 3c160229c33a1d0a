#!/bin/bash
# auth.sh - benchmark of authd's auth socket (the Dovecot auth-client
# protocol), with Dovecot 2.3's own auth server (passdb passwd-file) as the
# anchor, both driven by the same load generator (bench/auth-load) in the
# same run, with the same users.  See bench/README and
# reference/anchors.md.
#
# usage: bash bench/auth.sh [BUILD_DIR]         (default: build-bench)
#
# Must run as root: authd binds its sockets as root and drops to nobody,
# and Dovecot's master starts its auth process as the dovecot user.  Both
# servers are private instances: their configuration, sockets, stores and
# logs live in a temporary directory (printed at start, removed at exit,
# also on error or Ctrl-C); the system's Dovecot and authd are not touched.
#
# What it measures (every point: CONNS connections x INFLIGHT requests in
# flight, a closed loop, every request with the right password):
#   1. PLAIN, CONNSxINFLIGHT: Dovecot, {PLAIN} cleartext in passwd-file,
#      against authd, cleartext verifiers          target: authd >= 1.5x
#   2. CRAM-MD5, CONNSxINFLIGHT: Dovecot with {CRAM-MD5} contexts against
#      authd with the same contexts                target: authd >= 1.5x
#   3. PLAIN, 1x1, the cleartext users of 1., for reference
#   4. PLAIN, CONNSxINFLIGHT on a strong hash: authd with pwtool's default
#      (yescrypt) at auth_workers = 1 and at auth_workers = BENCH_WORKERS
#                                                  target: >= 1.8x
#      Dovecot with {SHA512-CRYPT} for reference (one process, one core)
#   5. cheap requests while hashing is saturated: the load of 4. on the
#      BENCH_WORKERS authd (and on Dovecot, for reference) and, at the same
#      time, a second auth-load doing CRAM-MD5 for other users at a fixed
#      rate (1 connection)                         target: their p99 < 10 ms
#
# Sizes and knobs (environment):
#   BENCH_USERS=1000       users uNNNN@example.org (and cNNNN for 5.)
#   BENCH_SECONDS=5        measured seconds per point (after the warm-up)
#   BENCH_WARMUP=1         warm-up seconds per point
#   BENCH_ROUNDS=3         rounds; each round runs every point once
#   BENCH_CONNS=8          connections of the loaded points
#   BENCH_INFLIGHT=8       requests in flight per connection
#   BENCH_WORKERS=nproc    auth_workers of the second yescrypt authd
#   BENCH_CHEAP_RATE=200   requests/s of the cheap load of 5.
#   BENCH_CHEAP_INFLIGHT=8 its requests in flight (1 connection)
#   BENCH_RESULTS=FILE     summary file (default: bench/results-auth.txt)
#
# Needs the built authd, pwtool and bench/auth-load, and dovecot-core
# (installed with apt-get when missing, with a policy-rc.d that keeps the
# system service from starting).
set -euo pipefail
export LC_ALL=C

[[ -n ${EPOCHREALTIME:-} ]] || { echo "auth.sh: needs bash >= 5" >&2; exit 1; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck disable=SC2034  # both used by lib.sh
srcdir=$(dirname "$here") me=auth.sh
# shellcheck source=lib.sh
source "$here/lib.sh"

BENCH_USERS=${BENCH_USERS:-1000}
BENCH_SECONDS=${BENCH_SECONDS:-5}
BENCH_WARMUP=${BENCH_WARMUP:-1}
BENCH_ROUNDS=${BENCH_ROUNDS:-3}
BENCH_CONNS=${BENCH_CONNS:-8}
BENCH_INFLIGHT=${BENCH_INFLIGHT:-8}
BENCH_WORKERS=${BENCH_WORKERS:-$(nproc)}
BENCH_CHEAP_RATE=${BENCH_CHEAP_RATE:-200}
BENCH_CHEAP_INFLIGHT=${BENCH_CHEAP_INFLIGHT:-8}
results=${BENCH_RESULTS:-$here/results-auth.txt}

REALM=example.org
PW_STRONG=Bench-pw-q7Z		# the hashed users' password (one hash, cloned)
# Targets.
T_PLAIN=1.5		# authd >= 1.5x Dovecot, PLAIN on cleartext, CONNSxINFLIGHT
T_CRAM=1.5		# authd >= 1.5x Dovecot, CRAM-MD5, CONNSxINFLIGHT
T_SCALE=1.8		# yescrypt: BENCH_WORKERS workers >= 1.8x one worker
T_CHEAP_P99_MS=10	# cheap requests' p99 while hashing is saturated


for v in BENCH_USERS BENCH_SECONDS BENCH_WARMUP BENCH_ROUNDS BENCH_CONNS BENCH_INFLIGHT \
	 BENCH_WORKERS BENCH_CHEAP_RATE BENCH_CHEAP_INFLIGHT; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"
done
(( BENCH_WORKERS <= 256 )) || die "BENCH_WORKERS must be at most 256"
(( BENCH_CONNS <= 1024 && BENCH_INFLIGHT <= 128 && BENCH_CHEAP_INFLIGHT <= 128 )) ||
	die "auth-load allows at most 1024 connections and 128 requests in flight"
[[ $(id -u) -eq 0 ]] || die "must run as root (authd and Dovecot start as root)"

build=$(bench_build "${1:-}" build-bench)
AUTHD=$build/authd/authd
PWTOOL=$build/pwtool/pwtool
LOAD=$build/bench/auth-load
for x in "$AUTHD" "$PWTOOL" "$LOAD"; do
	[[ -x $x ]] || die "$x not built (ninja -C $build)"
done
if ! command -v dovecot >/dev/null || ! command -v doveadm >/dev/null; then
	command -v apt-get >/dev/null || die "dovecot missing: install dovecot-core"
	log "auth.sh: installing dovecot-core (the anchor), its service kept stopped"
	# policy-rc.d exiting 101 forbids the package's service start.
	# One that already forbids every start (scripts/deps.sh writes one,
	# container images ship one) is used as it is and left in place.
	prc=/usr/sbin/policy-rc.d ours=0
	if [[ -e $prc ]]; then
		grep -qx 'exit 101' "$prc" ||
			die "$prc exists and does not simply exit 101: install dovecot-core by hand"
	else
		printf '#!/bin/sh\nexit 101\n' > "$prc"
		chmod 0755 "$prc"
		ours=1
	fi
	rc=0
	DEBIAN_FRONTEND=noninteractive apt-get install -y dovecot-core >/dev/null ||
	{ apt-get update >/dev/null &&
	  DEBIAN_FRONTEND=noninteractive apt-get install -y dovecot-core >/dev/null; } || rc=1
	(( ours == 0 )) || rm -f "$prc"
	(( rc == 0 )) || die "cannot install dovecot-core"
fi
DOVECOT=$(command -v dovecot)
DOVEADM=$(command -v doveadm)
dovecot_version=$("$DOVECOT" --version 2>/dev/null | awk '{ print $1 }')
dovecot_pkg=$(dpkg-query -W -f '${Version}' dovecot-core 2>/dev/null || echo '?')
id dovecot >/dev/null 2>&1 || die "no user dovecot (dovecot-core creates it)"
CLK_TCK=$(getconf CLK_TCK)
NCPU=$(nproc)

work=$(mktemp -d "${TMPDIR:-/tmp}/authd-bench-auth.XXXXXX")
# authd runs as nobody and Dovecot's auth as dovecot: both must reach
# their files in here.
chmod 0755 "$work"

# --- what is running, and how to stop it (the trap uses these) ---
authd_pid=""		# authd (foreground child, -d)
dv_pid=""		# Dovecot's master (foreground child, -F)
bg_load_pid=""		# the background auth-load of a mixed point

# stop_dovecot - the master (SIGTERM stops its children), then whatever
# child is left.  -F keeps the master in our process group, so the
# children are found by parent, before it goes.
stop_dovecot() {
	local i
	local -a kids left
	[[ -n $dv_pid ]] || return 0
	mapfile -t kids < <(pgrep -P "$dv_pid" 2>/dev/null || true)
	stop_pid "$dv_pid"
	dv_pid=""
	for ((i = 0; i < 50; i++)); do
		mapfile -t left < <(live_of "${kids[@]}")
		(( ${#left[@]} == 0 )) && return 0
		sleep 0.1
	done
	kill -KILL "${left[@]}" 2>/dev/null || true
	return 0
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	stop_pid "$bg_load_pid"
	stop_pid "$authd_pid"
	stop_dovecot
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cd "$work"

# --- helpers ---
w=${#BENCH_USERS}; (( w < 4 )) && w=4

# cpu_snap, cpu_delta, jget: bench/lib.sh

# --- the machine ---
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
machine=$(machine_line)
log "== machine: $machine; load $load_before"
log "== temp dir: $work"
log "== authd: $AUTHD"
log "== anchor: $DOVECOT $dovecot_version (dovecot-core $dovecot_pkg)"

# ------------------------------------------------------------ users
# users.txt         uNNNN@REALM, each with its own password: the cleartext
#                   and CRAM-MD5 points
# strong-users.txt  the same names, all with PW_STRONG: the hashed points
#                   (one hash cloned to every user: the same cost per check)
# cheap-users.txt   cNNNN@REALM, own passwords: the cheap load of 5.
log "== users: $BENCH_USERS in $REALM (and as many cNNNN for the cheap load)"
awk -v n="$BENCH_USERS" -v w="$w" -v realm="$REALM" -v pw="$PW_STRONG" 'BEGIN {
	f = "%s%0" w "d@%s\t%s\n"
	for (i = 1; i <= n; i++) {
		printf f, "u", i, realm, "Bench-pw-" i "-q7Z" > "users.txt"
		printf f, "u", i, realm, pw > "strong-users.txt"
		printf f, "c", i, realm, "Bench-cpw-" i "-q7Z" > "cheap-users.txt"
	} }'
"$LOAD" --cram-md5-contexts users.txt > users.cram
"$LOAD" --cram-md5-contexts cheap-users.txt > cheap.cram
[[ $(wc -l < users.cram) -eq $BENCH_USERS && $(wc -l < cheap.cram) -eq $BENCH_USERS ]] ||
	die "auth-load --cram-md5-contexts: wrong number of lines"

# --- authd: three stores, made by pwtool import ---
# write_aconf NAME STORE WORKERS - authd configuration NAME.conf
write_aconf() {
	{
		echo "# written by bench/auth.sh"
		echo "socket_dir = $work/sock-$1"
		echo "user = nobody"
		echo "group = nogroup"
		echo "store_path = $work/$2"
		echo "store_group = nogroup"
		echo "default_realm = $REALM"
		echo "auth_mechanisms = plain login cram-md5"
		echo "auth_workers = $3"
		echo "auth_cache = no"
		# One load generator at one address stands for many clients:
		# 8 x 8 in flight is beyond the fair queue's per-source share
		# (32), which would refuse the rest with temp_fail (issue 9).
		echo "auth_queue_per_source = 1000"
	} > "$1.conf"
}
write_aconf seed seed.db 0
write_aconf au-clear clear.db 0
write_aconf au-cram cram.db 0
write_aconf au-y1 strong.db 1
write_aconf au-yN strong.db "$BENCH_WORKERS"

# import CONF FILE - pwtool import, checked
do_import() {
	"$PWTOOL" -c "$1" import "$2" 2> import.err || { cat import.err >&2; die "$1: import of $2 failed"; }
}
count_users() { "$PWTOOL" -c "$1" realms | awk -F'\t' '{ s += $2 } END { print s + 0 }'; }
# cleartext: {PLAIN} (the passwords have no space)
awk -F'\t' '{ print $1 "::{PLAIN}" $2 }' users.txt > imp-clear.txt
do_import au-clear.conf imp-clear.txt
# CRAM-MD5 contexts only
awk -F'\t' '{ print $1 "::" $2 }' users.cram > imp-cram.txt
do_import au-cram.conf imp-cram.txt
# strong: one real `pwtool add` with the defaults (yescrypt at libxcrypt's
# default cost + SCRAM), its verifiers cloned to every uNNNN; plus the
# cNNNN users with CRAM-MD5 contexts only (the cheap load of 5.)
printf '%s\n' "$PW_STRONG" | "$PWTOOL" -c seed.conf -p add "seed@$REALM"
seed=$("$PWTOOL" -c seed.conf export | grep -v '^#' | head -n 1)
seed=${seed#*:}
# shellcheck disable=SC2016  # literal "$y$", not an expansion
case $seed in *'{CRYPT}$y$'*) ;; *) die "pwtool's default hash is not yescrypt: $seed" ;; esac
# shellcheck disable=SC2016
yes_setting=$(printf '%s' "$seed" | grep -o '{CRYPT}\$y\$[^$]*' | sed 's/{CRYPT}//')
{
	awk -F'\t' -v rest="$seed" '{ print $1 ":" rest }' strong-users.txt
	awk -F'\t' '{ print $1 "::" $2 }' cheap.cram
} > imp-strong.txt
do_import au-y1.conf imp-strong.txt
for c in au-clear au-cram; do
	n=$(count_users "$c.conf")
	[[ $n -eq $BENCH_USERS ]] || die "$c: store holds $n users, expected $BENCH_USERS"
done
n=$(count_users au-y1.conf)
[[ $n -eq $(( 2 * BENCH_USERS )) ]] || die "strong store holds $n users, expected $(( 2 * BENCH_USERS ))"
u1=$(head -n 1 users.txt | cut -f1)
head -n 1 users.txt | cut -f2 | "$PWTOOL" -c au-clear.conf -p check "$u1" > /dev/null ||
	die "pwtool check of $u1 in the cleartext store failed"
printf '%s\n' "$PW_STRONG" | "$PWTOOL" -c au-y1.conf -p check "$u1" > /dev/null ||
	die "pwtool check of $u1 in the strong store failed"
rm -f imp-*.txt seed.db* import.err

# --- Dovecot: three passwd-files, the same users ---
# write_dconf NAME PASSWD - a private Dovecot: everything under $work/NAME
# (base_dir: the auth-client socket, the master's pid file), no protocols,
# only the auth service; stock settings otherwise (the auth penalty of
# anvil included: every request is right, so it never delays one).
write_dconf() {
	cat > "$1.conf" <<EOF
# written by bench/auth.sh
base_dir = $work/$1
state_dir = $work/$1.state
instance_name = authd-bench
protocols = none
ssl = no
log_path = $work/$1.log
info_log_path = $work/$1.log
auth_mechanisms = plain login cram-md5
disable_plaintext_auth = no
auth_verbose = no
auth_cache_size = 0
passdb {
  driver = passwd-file
  args = $work/$2
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}
EOF
	mkdir -p "$work/$1.state"
}
write_dconf dv-plain plain.passwd
write_dconf dv-cram cram.passwd
write_dconf dv-sha sha.passwd
sha_hash=$("$DOVEADM" -c dv-sha.conf pw -s SHA512-CRYPT -p "$PW_STRONG")
# shellcheck disable=SC2016
case $sha_hash in '{SHA512-CRYPT}$6$'*) ;; *) die "doveadm pw -s SHA512-CRYPT: $sha_hash" ;; esac
awk -F'\t' '{ print $1 ":{PLAIN}" $2 }' users.txt > plain.passwd
awk -F'\t' '{ print $1 ":" $2 }' users.cram > cram.passwd
{
	awk -F'\t' -v h="$sha_hash" '{ print $1 ":" h }' strong-users.txt
	awk -F'\t' '{ print $1 ":" $2 }' cheap.cram
} > sha.passwd
chgrp dovecot plain.passwd cram.passwd sha.passwd
chmod 0640 plain.passwd cram.passwd sha.passwd

# ------------------------------------------------------------ servers
servers=(dv-plain au-clear dv-cram au-cram dv-sha au-y1 au-yN)
declare -A desc=(
	[dv-plain]="Dovecot, passwd-file {PLAIN}"
	[au-clear]="authd, cleartext verifiers"
	[dv-cram]="Dovecot, passwd-file {CRAM-MD5}"
	[au-cram]="authd, CRAM-MD5 verifiers"
	[dv-sha]="Dovecot, passwd-file {SHA512-CRYPT}"
	[au-y1]="authd, yescrypt, auth_workers = 1"
	[au-yN]="authd, yescrypt, auth_workers = $BENCH_WORKERS"
)
# The points of each server (see run_point).
declare -A points=(
	[dv-plain]="plain plain1"
	[au-clear]="plain plain1"
	[dv-cram]="cram"
	[au-cram]="cram"
	[dv-sha]="strong mixed"
	[au-y1]="strong"
	[au-yN]="strong mixed"
)
CI="${BENCH_CONNS}x${BENCH_INFLIGHT}"
declare -A pdesc=(
	[plain]="PLAIN $CI"
	[plain1]="PLAIN 1x1"
	[cram]="CRAM-MD5 $CI"
	[strong]="PLAIN $CI, hashed"
	[mixed-strong]="PLAIN $CI, hashed, + cheap"
	[mixed-cheap]="cheap CRAM-MD5 1x$BENCH_CHEAP_INFLIGHT @ $BENCH_CHEAP_RATE/s"
)

sock=""		# the running server's auth socket
srv_log=""	# its log

# srv_pids - the running server's processes
srv_pids() {
	if [[ -n $authd_pid ]]; then
		echo "$authd_pid"
	elif [[ -n $dv_pid ]]; then
		echo "$dv_pid"
		pgrep -P "$dv_pid" 2>/dev/null || true
	fi
	return 0
}

# probe MECH USERFILE - one short run with every request OK
probe() {
	"$LOAD" --warmup 0 "$sock" 1 1 0.05 "$1" "$2" > probe.out 2>&1
}

start_server() {
	local s=$1 i mech=PLAIN users=users.txt
	case $s in
	dv-*)
		rm -rf "${work:?}/$s"
		srv_log=$work/$s.log
		"$DOVECOT" -F -c "$work/$s.conf" 2>> "$srv_log" &
		dv_pid=$!
		sock=$work/$s/auth-client ;;
	au-*)
		rm -rf "${work:?}/sock-$s"
		srv_log=$work/$s.log
		"$AUTHD" -c "$s.conf" -d 2>> "$srv_log" &
		authd_pid=$!
		sock=$work/sock-$s/auth ;;
	esac
	case $s in
	*-cram) mech=CRAM-MD5 ;;
	dv-sha|au-y*) users=strong-users.txt ;;
	esac
	for ((i = 0; i < 100; i++)); do
		[[ -S $sock ]] && probe "$mech" "$users" && return 0
		[[ -n $authd_pid ]] && ! kill -0 "$authd_pid" 2>/dev/null && break
		[[ -n $dv_pid ]] && ! kill -0 "$dv_pid" 2>/dev/null && break
		sleep 0.1
	done
	cat probe.out >&2 2>/dev/null || true
	tail -n 5 "$srv_log" >&2 || true
	die "$s: no OK on $sock within 10 s"
}

stop_server() {
	case $1 in
	dv-*) stop_dovecot ;;
	au-*) stop_pid "$authd_pid"; authd_pid="" ;;
	esac
}

# check_load OUT RC WHAT - every request answered OK, none left open
check_load() {
	local out=$1 rc=$2 what=$3
	if (( rc != 0 )) || [[ $(jget "$out" fail_all) != 0 || $(jget "$out" errors) != 0 ||
	      $(jget "$out" abandoned) != 0 ]]; then
		cat "$out" >&2
		tail -n 5 "$srv_log" >&2 || true
		die "$what: not every request got OK (auth-load exit $rc)"
	fi
}

# record SERVER POINT ROUND OUT SRV_TICKS REQUESTS WALL BUSY_TICKS CLIENT_CPU
# - one line of cells.txt:
#   server point round rps p50_ms p99_ms p99.9_ms max_ms srv_us/req srv_cores
#   client_us/req other_cores
record() {
	local s=$1 p=$2 r=$3 out=$4 st=$5 all=$6 wall=$7 busy=$8 ccpu=$9
	local rps p50 p99 p999 pmax srv_us cores cl_us bg
	rps=$(jget "$out" rps)
	p50=$(calc "$(jget "$out" p50_us) / 1000")
	p99=$(calc "$(jget "$out" p99_us) / 1000")
	p999=$(calc "$(jget "$out" p999_us) / 1000")
	pmax=$(calc "$(jget "$out" max_us) / 1000")
	srv_us=$(calc "$st * 1000000 / $CLK_TCK / $all")
	cores=$(calc "$st / $CLK_TCK / $wall")
	cl_us=$(calc "$ccpu * 1000000 / $all")
	# Everything else the machine ran meanwhile (other users' work), in
	# cores: busy time minus this server and the load generators.
	bg=$(calc "($busy - $st) / $CLK_TCK - $ccpu")
	bg=$(calc "($bg < 0 ? 0 : $bg) / $wall")
	log "   $(printf '%-9s %-14s' "$s" "$p") round $r: $(fmt %.0f "$rps") auth/s, p50 $(fmt %.3f "$p50") ms, p99 $(fmt %.3f "$p99") ms, max $(fmt %.1f "$pmax") ms, server cpu $(fmt %.1f "$srv_us") us/req ($(fmt %.2f "$cores") cores), other load $(fmt %.2f "$bg") cores"
	echo "$s $p $r $rps $p50 $p99 $p999 $pmax $srv_us $cores $cl_us $bg" >> cells.txt
}

# run_point SERVER POINT ROUND - one load run on the running server
run_point() {
	local s=$1 p=$2 r=$3 rc=0 rc2=0 t0 t1 b0 b1 st all ccpu wall
	local -a args
	case $p in
	plain)  args=("$sock" "$BENCH_CONNS" "$BENCH_INFLIGHT" "$BENCH_SECONDS" PLAIN users.txt) ;;
	plain1) args=("$sock" 1 1 "$BENCH_SECONDS" PLAIN users.txt) ;;
	cram)   args=("$sock" "$BENCH_CONNS" "$BENCH_INFLIGHT" "$BENCH_SECONDS" CRAM-MD5 users.txt) ;;
	strong) args=("$sock" "$BENCH_CONNS" "$BENCH_INFLIGHT" "$BENCH_SECONDS" PLAIN strong-users.txt) ;;
	esac
	srv_pids > pids.txt
	# shellcheck disable=SC2046
	cpu_snap $(cat pids.txt) > cpu0.txt
	b0=$(busy_ticks); t0=$EPOCHREALTIME
	if [[ $p != mixed ]]; then
		"$LOAD" --warmup "$BENCH_WARMUP" "${args[@]}" > load.out 2>&1 || rc=$?
	else
		# The hashed load runs 1 s longer than the cheap one and starts
		# 0.5 s earlier, so it covers the cheap load's whole window.
		"$LOAD" --warmup "$BENCH_WARMUP" "$sock" "$BENCH_CONNS" "$BENCH_INFLIGHT" \
			$(( BENCH_SECONDS + 1 )) PLAIN strong-users.txt > load.out 2>&1 &
		bg_load_pid=$!
		sleep 0.5
		"$LOAD" --warmup "$BENCH_WARMUP" --rate "$BENCH_CHEAP_RATE" "$sock" 1 \
			"$BENCH_CHEAP_INFLIGHT" "$BENCH_SECONDS" CRAM-MD5 cheap-users.txt \
			> cheap.out 2>&1 || rc2=$?
		wait "$bg_load_pid" || rc=$?
		bg_load_pid=""
	fi
	b1=$(busy_ticks); t1=$EPOCHREALTIME
	{ cat pids.txt; srv_pids; } | sort -u > pids2.txt
	# shellcheck disable=SC2046
	cpu_snap $(cat pids2.txt) > cpu1.txt
	st=$(cpu_delta cpu0.txt cpu1.txt)
	wall=$(calc "$t1 - $t0")
	check_load load.out "$rc" "$s, $p"
	all=$(jget load.out requests_all)
	ccpu=$(jget load.out client_cpu_s)
	if [[ $p != mixed ]]; then
		record "$s" "$p" "$r" load.out "$st" "$all" "$wall" "$(( b1 - b0 ))" "$ccpu"
	else
		check_load cheap.out "$rc2" "$s, cheap load"
		all=$(( all + $(jget cheap.out requests_all) ))
		ccpu=$(calc "$ccpu + $(jget cheap.out client_cpu_s)")
		# server cpu per request of both loads together, on both lines
		record "$s" mixed-strong "$r" load.out "$st" "$all" "$wall" "$(( b1 - b0 ))" "$ccpu"
		record "$s" mixed-cheap "$r" cheap.out "$st" "$all" "$wall" "$(( b1 - b0 ))" "$ccpu"
	fi
}

: > cells.txt
nserv=${#servers[@]}
for ((round = 1; round <= BENCH_ROUNDS; round++)); do
	log "== round $round of $BENCH_ROUNDS (load $(cut -d' ' -f1-3 /proc/loadavg))"
	for ((k = 0; k < nserv; k++)); do
		s=${servers[$(( (k + 3 * (round - 1)) % nserv ))]}
		start_server "$s"
		for p in ${points[$s]}; do
			run_point "$s" "$p" "$round"
		done
		stop_server "$s"
	done
done

# What the servers logged besides the expected: Dovecot's errors and
# warnings, authd's lines other than a successful check.
# (the stop itself, SIGTERM, is expected: not counted)
DV_BAD=': (Error|Warning|Fatal|Panic):'
DV_STOP='master: Warning: Killed with signal 15 '
AU_OK='^authd: (auth: user=[^ ]* service=smtp client=127\.0\.0\.1 result=ok$|ready: |signal 15: shutting down$|stopped$)'
dv_errors=$(cat dv-*.log | grep -E "$DV_BAD" | grep -c -v "$DV_STOP" || true)
dv_error_sample=$(cat dv-*.log | grep -E "$DV_BAD" | grep -v "$DV_STOP" |
	sed 's/^[A-Z][a-z]* [ 0-9]* [0-9:]* //' | sort | uniq -c | sort -rn | head -n 5 || true)
au_lines=$(cat au-*.log | wc -l)
au_other=$(cat au-*.log | grep -v -c -E "$AU_OK" || true)
au_other_sample=$(cat au-*.log | grep -v -E "$AU_OK" | sort | uniq -c | sort -rn | head -n 5 || true)

# ------------------------------------------------------------ summary
# med, range, ratio, verdict: bench/lib.sh (POINT = the load point).
# max_of SERVER POINT FIELD - the largest value over the rounds
max_of() {
	awk -v s="$1" -v p="$2" -v f="$3" '$1 == s && $2 == p { print $f }' cells.txt |
		sort -g | tail -n 1
}
ge() { verdict "$1" "$2"; }
lt() { awk -v x="$1" -v t="$2" 'BEGIN { print (x < t) ? "PASS" : "FAIL" }'; }

row() { printf '%-50s %s\n' "$1" "$2" | sed 's/ *$//'; }
summary() {
	local s p q r x
	echo "authd auth-socket benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "machine: $machine"
	echo "load:    $load_before (before), $(cut -d' ' -f1-3 /proc/loadavg) (after)"
	echo "anchor:  Dovecot $dovecot_version (dovecot-core $dovecot_pkg), auth process with passdb passwd-file,"
	echo "         stock settings (auth cache off, as authd's); auth-client socket"
	echo "method:  $BENCH_USERS users u0001..@$REALM, the same for both servers; bench/auth-load"
	echo "         (one thread, epoll), Postfix-shaped requests taking the users in turn,"
	echo "         CONNSxINFLIGHT = persistent connections x requests in flight (closed loop);"
	echo "         $BENCH_SECONDS s measured after $BENCH_WARMUP s warm-up, $BENCH_ROUNDS rounds, a fresh server per"
	echo "         round; figures are medians over the rounds (auth/s range in brackets)"
	echo "         every request must get OK; requests open at the end are waited for, not counted"
	echo "hashes:  authd yescrypt $yes_setting (pwtool default, + SCRAM verifiers), Dovecot"
	echo "         SHA512-CRYPT (doveadm pw default, rounds=5000): one hash cloned to every user"
	echo
	printf '%-36s | %-31s | %-20s | %-38s | %s\n' "server" "load" "auth/s [range]" "p50 / p99 / p99.9 / max ms" \
		"server cpu us/req (cores), client cpu us/req, other load (cores)"
	for s in "${servers[@]}"; do
		for p in ${points[$s]}; do
			if [[ $p == mixed ]]; then set -- mixed-strong mixed-cheap; else set -- "$p"; fi
			for q in "$@"; do
				printf '%-36s | %-31s | %-20s | %-38s | %s\n' "${desc[$s]}" "${pdesc[$q]}" \
					"$(fmt %.0f "$(med "$s" "$q" 4)") [$(range "$s" "$q")]" \
					"$(fmt %.3f "$(med "$s" "$q" 5)") / $(fmt %.3f "$(med "$s" "$q" 6)") / $(fmt %.2f "$(med "$s" "$q" 7)") / $(fmt %.1f "$(med "$s" "$q" 8)")" \
					"$(fmt %.1f "$(med "$s" "$q" 9)") ($(fmt %.2f "$(med "$s" "$q" 10)")), $(fmt %.1f "$(med "$s" "$q" 11)"), $(fmt %.2f "$(med "$s" "$q" 12)")"
			done
		done
	done
	echo "(server cpu: user + system time of all its processes and threads during the run, warm-up"
	echo " included, per request answered; cores: that time over the run's wall time; for the"
	echo " '+ cheap' rows both loads together.  other load: CPU the rest of the machine used"
	echo " meanwhile, in cores of $NCPU: other users' work competing with the run)"
	echo
	echo "ratios (median of the per-round ratios):"
	r=$(ratio au-clear dv-plain plain); row "  1. PLAIN $CI, authd / Dovecot" "$(fmt %.2f "$r")x  (target >= ${T_PLAIN}x: $(ge "$r" "$T_PLAIN"))"
	r=$(ratio au-cram dv-cram cram); row "  2. CRAM-MD5 $CI, authd / Dovecot" "$(fmt %.2f "$r")x  (target >= ${T_CRAM}x: $(ge "$r" "$T_CRAM"))"
	r=$(ratio au-clear dv-plain plain1); row "  3. PLAIN 1x1, authd / Dovecot" "$(fmt %.2f "$r")x  (reference)"
	row "     worst latency at $CI (max over rounds)" "PLAIN: authd $(fmt %.1f "$(max_of au-clear plain 8)") ms, Dovecot $(fmt %.1f "$(max_of dv-plain plain 8)") ms; CRAM-MD5: authd $(fmt %.1f "$(max_of au-cram cram 8)") ms, Dovecot $(fmt %.1f "$(max_of dv-cram cram 8)") ms"
	r=$(ratio au-yN au-y1 strong); row "  4. yescrypt $CI, $BENCH_WORKERS workers / 1 worker" "$(fmt %.2f "$r")x  (target >= ${T_SCALE}x: $(ge "$r" "$T_SCALE"))"
	(( NCPU >= 2 )) || echo "     (one CPU: no second worker can run, the target cannot be met here)"
	row "     authd yescrypt, server cores used" "$(fmt %.2f "$(med au-y1 strong 10)") (1 worker), $(fmt %.2f "$(med au-yN strong 10)") ($BENCH_WORKERS workers)"
	row "     Dovecot SHA512-CRYPT, for reference" "$(fmt %.0f "$(med dv-sha strong 4)") auth/s, $(fmt %.2f "$(med dv-sha strong 10)") server cores, $(fmt %.0f "$(med dv-sha strong 9)") us cpu/req"
	x=$(med au-yN mixed-cheap 6)
	row "  5. cheap CRAM-MD5 p99 while yescrypt $CI runs" "$(fmt %.3f "$x") ms, worst round $(fmt %.3f "$(max_of au-yN mixed-cheap 6)") ms, max $(fmt %.1f "$(max_of au-yN mixed-cheap 8)") ms  (target < ${T_CHEAP_P99_MS} ms: $(lt "$x" "$T_CHEAP_P99_MS"))"
	row "     meanwhile, authd's hashed load" "$(fmt %.0f "$(med au-yN mixed-strong 4)") auth/s (alone: $(fmt %.0f "$(med au-yN strong 4)"))"
	row "     Dovecot, same (SHA512-CRYPT), for reference" "cheap p99 $(fmt %.3f "$(med dv-sha mixed-cheap 6)") ms; hashed load $(fmt %.0f "$(med dv-sha mixed-strong 4)") auth/s"
	echo
	echo "server logs: authd $au_lines lines, $au_other other than a successful check; Dovecot $dv_errors errors/warnings"
	[[ -n $au_other_sample ]] && printf '  authd: %s\n' "$au_other_sample"
	[[ -n $dv_error_sample ]] && printf '  Dovecot: %s\n' "$dv_error_sample"
	echo
	echo "every run: server point round auth/s p50_ms p99_ms p99.9_ms max_ms server_cpu_us/req server_cores client_cpu_us/req other_load_cores"
	sed 's/^/  /' cells.txt
}
summary | tee "$results"
log "== written $results"
