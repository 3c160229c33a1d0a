#!/bin/bash
# pg.sh - benchmark of authd on a PostgreSQL store (store = postgresql,
# issue 13): two authd nodes on one database, against the same two nodes
# on GDBM and against Dovecot 2.3's auth server with passdb sql (driver
# pgsql) on the same PostgreSQL, driven by the same load generator
# (bench/auth-load) in the same run, with the same users; and `pwtool
# batch` on the PostgreSQL store.  See bench/README and
# reference/anchors.md.
#
# usage: bash bench/pg.sh [BUILD_DIR]           (default: build-bench)
#
# Must run as root: authd binds its sockets as root and drops to nobody,
# Dovecot's master starts its auth process as the dovecot user, and the
# PostgreSQL server runs as the postgres user.  Every server is a private
# instance: PostgreSQL is tests/pg/pglib.sh's (initdb into its own
# temporary directory, UNIX socket only, fsync off), the others keep their
# configuration, sockets, stores and logs in a temporary directory
# (printed at start); all of it is removed at exit, also on error or
# Ctrl-C.  The system's PostgreSQL, Dovecot and authd are not touched.
#
# What it measures (the auth points: CONNS connections x INFLIGHT requests
# in flight in all, a closed loop, every request with the right password;
# on the authd configurations two nodes, each driven by its own auth-load
# with half the connections, at the same time; Dovecot, one auth server,
# by the same two auth-loads on its one socket):
#   a. PLAIN on cleartext, no cache: authd on PostgreSQL (pwtool's
#      cleartext verifiers), authd on GDBM (the same), Dovecot passdb sql
#      ({PLAIN} in a table of the same database)
#                                   target: authd-PG >= 1x Dovecot-sql
#      and, for reference, authd on PostgreSQL with store_pg_connections
#      = 1 per node (instead of BENCH_PG_CONNS)
#   b. PLAIN with the cache, warmed: authd (auth_cache = yes) on pwtool's
#      default hash (yescrypt), PostgreSQL and GDBM; Dovecot with
#      auth_cache_size set, {PLAIN} (its cache keeps the password field
#      and verifies it again on every hit: a hash would be paid each time,
#      so {PLAIN} is its best case)
#                                   target: authd-PG >= 1x Dovecot-sql
#   c. `pwtool batch` on the PostgreSQL store: BENCH_BATCH changes (add,
#      passwd, lock, delete in turn; the cheap hash), each its own commit,
#      on the server as pglib.sh runs it (fsync off) and restarted with
#      PostgreSQL's durable defaults (fsync, synchronous_commit on); the
#      GDBM store for reference      target: >= 1,000 changes/s
#
# Sizes and knobs (environment):
#   BENCH_USERS=1000       users uNNNN@example.org
#   BENCH_SECONDS=5        measured seconds per point (after the warm-up)
#   BENCH_WARMUP=1         warm-up seconds per point
#   BENCH_ROUNDS=3         rounds; each round runs every configuration once
#   BENCH_CONNS=8          connections in all (half on each generator)
#   BENCH_INFLIGHT=8       requests in flight per connection
#   BENCH_PG_CONNS=4       store_pg_connections of each authd node
#   BENCH_BATCH=2000       changes of the pwtool batch runs
#   BENCH_RESULTS=FILE     summary file (default: bench/results-pg.txt)
#
# Needs the built authd, pwtool and bench/auth-load, PostgreSQL 15
# (package postgresql; scripts/deps.sh installs it), and dovecot-core with
# dovecot-pgsql (installed with apt-get when missing, with a policy-rc.d
# that keeps the system service from starting).
set -euo pipefail
export LC_ALL=C

[[ -n ${EPOCHREALTIME:-} ]] || { echo "pg.sh: needs bash >= 5" >&2; exit 1; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck disable=SC2034  # both used by lib.sh
srcdir=$(dirname "$here") me=pg.sh
# shellcheck source=lib.sh
source "$here/lib.sh"
# shellcheck source=../tests/pg/pglib.sh
source "$srcdir/tests/pg/pglib.sh"

BENCH_USERS=${BENCH_USERS:-1000}
BENCH_SECONDS=${BENCH_SECONDS:-5}
BENCH_WARMUP=${BENCH_WARMUP:-1}
BENCH_ROUNDS=${BENCH_ROUNDS:-3}
BENCH_CONNS=${BENCH_CONNS:-8}
BENCH_INFLIGHT=${BENCH_INFLIGHT:-8}
BENCH_PG_CONNS=${BENCH_PG_CONNS:-4}
BENCH_BATCH=${BENCH_BATCH:-2000}
results=${BENCH_RESULTS:-$here/results-pg.txt}

REALM=example.org
PW_STRONG=Bench-pw-q7Z		# the hashed users' password (one hash, cloned)
# Targets.
T_DOVECOT=1		# authd-PG >= 1x Dovecot-sql, both points
T_BATCH=1000		# pwtool batch on PostgreSQL: changes/s

for v in BENCH_USERS BENCH_SECONDS BENCH_WARMUP BENCH_ROUNDS BENCH_CONNS BENCH_INFLIGHT \
	 BENCH_PG_CONNS BENCH_BATCH; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"
done
(( BENCH_CONNS >= 2 && BENCH_CONNS % 2 == 0 )) || die "BENCH_CONNS must be even (half on each generator)"
(( BENCH_CONNS <= 2048 && BENCH_INFLIGHT <= 128 )) ||
	die "auth-load allows at most 1024 connections and 128 requests in flight"
(( BENCH_PG_CONNS <= 64 )) || die "BENCH_PG_CONNS must be at most 64 (store_pg_connections)"
(( BENCH_USERS >= 2 )) || die "BENCH_USERS must be at least 2"
[[ $(id -u) -eq 0 ]] || die "must run as root (authd, Dovecot and PostgreSQL start as root)"

build=$(bench_build "${1:-}" build-bench)
AUTHD=$build/authd/authd
PWTOOL=$build/pwtool/pwtool
LOAD=$build/bench/auth-load
SCHEMA=$srcdir/sql/schema.sql
for x in "$AUTHD" "$PWTOOL" "$LOAD"; do
	[[ -x $x ]] || die "$x not built (ninja -C $build)"
done

# install_anchor PKG... - apt-get install with the services kept stopped.
# policy-rc.d exiting 101 forbids the package's service start.  One that
# already forbids every start (scripts/deps.sh writes one, container
# images ship one) is used as it is and left in place.
install_anchor() {
	local prc=/usr/sbin/policy-rc.d ours=0 rc=0
	command -v apt-get >/dev/null || die "missing: install $*"
	log "pg.sh: installing $* (the anchor), its service kept stopped"
	if [[ -e $prc ]]; then
		grep -qx 'exit 101' "$prc" ||
			die "$prc exists and does not simply exit 101: install $* by hand"
	else
		printf '#!/bin/sh\nexit 101\n' > "$prc"
		chmod 0755 "$prc"
		ours=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" >/dev/null ||
	{ apt-get update >/dev/null &&
	  DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" >/dev/null; } || rc=1
	(( ours == 0 )) || rm -f "$prc"
	(( rc == 0 )) || die "cannot install $*"
}
if ! command -v dovecot >/dev/null || ! command -v doveadm >/dev/null ||
   ! dpkg-query -W -f '${Status}' dovecot-pgsql 2>/dev/null | grep -q 'ok installed'; then
	install_anchor dovecot-core dovecot-pgsql
fi
DOVECOT=$(command -v dovecot)
DOVEADM=$(command -v doveadm)
DOVECONF=$(command -v doveconf)
dovecot_version=$("$DOVECOT" --version 2>/dev/null | awk '{ print $1 }')
dovecot_pkg=$(dpkg-query -W -f '${Version}' dovecot-pgsql 2>/dev/null || echo '?')
id dovecot >/dev/null 2>&1 || die "no user dovecot (dovecot-core creates it)"
CLK_TCK=$(getconf CLK_TCK)
NCPU=$(nproc)

# pglib.sh's pg_require exits 77 (a skipped benchmark) with the reason.
pg_require
pg_version=$("$PG_BIN/postgres" --version | awk '{ print $3 }')

work=$(mktemp -d "${TMPDIR:-/tmp}/authd-bench-pg.XXXXXX")
# authd runs as nobody and Dovecot's auth as dovecot: both must reach
# their files in here.
chmod 0755 "$work"

# --- what is running, and how to stop it (the trap uses these) ---
declare -A au_pid=()	# authd node -> pid (foreground child, -d)
declare -A dv_pid=()	# Dovecot instance -> its master's pid (-F)
load_pids=()		# the auth-loads of a point

# stop_dovecot NAME - the master (SIGTERM stops its children), then
# whatever child is left.  -F keeps the master in our process group, so
# the children are found by parent, before it goes.
stop_dovecot() {
	local i pid=${dv_pid[$1]:-}
	local -a kids left
	[[ -n $pid ]] || return 0
	mapfile -t kids < <(pgrep -P "$pid" 2>/dev/null || true)
	stop_pid "$pid"
	unset "dv_pid[$1]"
	for ((i = 0; i < 50; i++)); do
		mapfile -t left < <(live_of "${kids[@]}")
		(( ${#left[@]} == 0 )) && return 0
		sleep 0.1
	done
	kill -KILL "${left[@]}" 2>/dev/null || true
	return 0
}

stop_all() {
	local n p
	for p in "${load_pids[@]}"; do stop_pid "$p"; done
	load_pids=()
	for n in "${!au_pid[@]}"; do stop_pid "${au_pid[$n]}"; unset "au_pid[$n]"; done
	for n in "${!dv_pid[@]}"; do stop_dovecot "$n"; done
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	stop_all
	pg_cleanup
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cd "$work"

# --- the machine ---
w=${#BENCH_USERS}; (( w < 4 )) && w=4
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
machine=$(machine_line)
log "== machine: $machine; load $load_before"
log "== temp dir: $work"
log "== authd: $AUTHD"
log "== anchor: $DOVECOT $dovecot_version (dovecot-pgsql $dovecot_pkg)"

# ------------------------------------------------------------ PostgreSQL
pg_start
log "== PostgreSQL $pg_version: $PG_DIR, port $PG_PORT (socket only, fsync off)"
# pg_postmaster - the server's pid (its children are the backends)
pg_postmaster() { head -n 1 "$PG_DIR/data/postmaster.pid"; }
# pg_pids - the server's processes, for the CPU figures
pg_pids() {
	local pm
	pm=$(pg_postmaster)
	echo "$pm"
	pgrep -P "$pm" 2>/dev/null || true
	return 0
}

# ------------------------------------------------------------ users
# users.txt         uNNNN@REALM, each with its own password: point a, and
#                   Dovecot's point b
# strong-users.txt  the same names, all with PW_STRONG: authd's point b
#                   (one hash cloned to every user: the same cost per check)
log "== users: $BENCH_USERS in $REALM"
awk -v n="$BENCH_USERS" -v w="$w" -v realm="$REALM" -v pw="$PW_STRONG" 'BEGIN {
	f = "%s%0" w "d@%s\t%s\n"
	for (i = 1; i <= n; i++) {
		printf f, "u", i, realm, "Bench-pw-" i "-q7Z" > "users.txt"
		printf f, "u", i, realm, pw > "strong-users.txt"
	} }'

# --- the stores: two PostgreSQL databases and two GDBM stores ---
# clear   cleartext verifiers ({PLAIN} imported: what pwtool -m cleartext
#         writes), plus Dovecot's table of the same users
# strong  pwtool's default verifiers (yescrypt + SCRAM), one real `pwtool
#         add` cloned to every user
# write_pconf NAME DB - pwtool's configuration for database DB
write_pconf() {
	{
		echo "# written by bench/pg.sh"
		echo "store = postgresql"
		echo "store_pg_conninfo = $(pg_conninfo "$2")"
		echo "default_realm = $REALM"
	} > "$1.conf"
}
# write_gconf NAME STORE - the same for a GDBM store
write_gconf() {
	{
		echo "# written by bench/pg.sh"
		echo "store_path = $work/$2"
		echo "store_group = nogroup"
		echo "default_realm = $REALM"
	} > "$1.conf"
}
write_pconf pw-clear clear
write_pconf pw-strong strong
write_gconf gw-clear clear.db
write_gconf gw-strong strong.db
write_gconf seed seed.db

do_import() {
	"$PWTOOL" -c "$1" import "$2" 2> import.err || { cat import.err >&2; die "$1: import of $2 failed"; }
}
count_users() { "$PWTOOL" -c "$1" realms | awk -F'\t' '{ s += $2 } END { print s + 0 }'; }

printf '%s\n' "$PW_STRONG" | "$PWTOOL" -c seed.conf -p add "seed@$REALM"
seed=$("$PWTOOL" -c seed.conf export | grep -v '^#' | head -n 1)
seed=${seed#*:}
# shellcheck disable=SC2016  # literal "$y$", not an expansion
case $seed in *'{CRYPT}$y$'*) ;; *) die "pwtool's default hash is not yescrypt: $seed" ;; esac
# shellcheck disable=SC2016
yes_setting=$(printf '%s' "$seed" | grep -o '{CRYPT}\$y\$[^$]*' | sed 's/{CRYPT}//')
awk -F'\t' '{ print $1 "::{PLAIN}" $2 }' users.txt > imp-clear.txt
awk -F'\t' -v rest="$seed" '{ print $1 ":" rest }' strong-users.txt > imp-strong.txt
for db in clear strong; do
	pg_createdb "$db"
	"$PWTOOL" -c "pw-$db.conf" init "$SCHEMA" > /dev/null || die "pwtool init of database $db failed"
	do_import "pw-$db.conf" "imp-$db.txt"
	do_import "gw-$db.conf" "imp-$db.txt"
done
for c in pw-clear pw-strong gw-clear gw-strong; do
	n=$(count_users "$c.conf")
	[[ $n -eq $BENCH_USERS ]] || die "$c: store holds $n users, expected $BENCH_USERS"
done
u1=$(head -n 1 users.txt | cut -f1)
for c in pw-clear gw-clear; do
	head -n 1 users.txt | cut -f2 | "$PWTOOL" -c "$c.conf" -p check "$u1" > /dev/null ||
		die "pwtool check of $u1 in $c failed"
done
"$PWTOOL" -c pw-clear.conf show "$u1" | grep -q '^verifiers: *cleartext$' ||
	die "the cleartext store has no cleartext verifier for $u1"
for c in pw-strong gw-strong; do
	printf '%s\n' "$PW_STRONG" | "$PWTOOL" -c "$c.conf" -p check "$u1" > /dev/null ||
		die "pwtool check of $u1 in $c failed"
done

# Dovecot's table, in the cleartext database: the same users, {PLAIN}.
awk -F'\t' '{ print $1 "\t{PLAIN}" $2 }' users.txt > dovecot-users.tsv
pg_psql clear -c "CREATE TABLE dovecot_users (username text PRIMARY KEY, password text NOT NULL)" \
	-c "\\copy dovecot_users FROM '$work/dovecot-users.tsv'" -c "ANALYZE"
n=$(pg_psql clear -At -c "SELECT count(*) FROM dovecot_users")
[[ $n -eq $BENCH_USERS ]] || die "dovecot_users holds $n rows, expected $BENCH_USERS"
rm -f imp-*.txt seed.db* import.err dovecot-users.tsv

# ------------------------------------------------------------ servers
# write_aconf NAME KIND STORE CACHE [CONNS] - authd node NAME: KIND
# postgresql (STORE a database, CONNS connections, default
# BENCH_PG_CONNS) or gdbm (STORE a file), auth_cache CACHE
write_aconf() {
	{
		echo "# written by bench/pg.sh"
		echo "socket_dir = $work/sock-$1"
		echo "user = nobody"
		echo "group = nogroup"
		if [[ $2 == postgresql ]]; then
			echo "store = postgresql"
			echo "store_pg_conninfo = $(pg_conninfo "$3")"
			echo "store_pg_connections = ${5:-$BENCH_PG_CONNS}"
		else
			echo "store_path = $work/$3"
			echo "store_group = nogroup"
		fi
		echo "default_realm = $REALM"
		echo "auth_mechanisms = plain login"
		echo "auth_cache = $4"
		# The caches are warmed once and must last the whole run.
		echo "auth_cache_ttl = 60m"
		# One load generator at one address stands for many clients:
		# 4 x 8 in flight is the fair queue's whole per-source share
		# (32), which would refuse the rest with temp_fail (issue 9).
		echo "auth_queue_per_source = 1000"
	} > "$1.conf"
}
# write_dconf NAME CACHE_SIZE - a private Dovecot with passdb sql on the
# cleartext database: everything under $work/NAME, no protocols, only the
# auth service; stock settings otherwise (the pgsql driver's default of
# at most 5 connections included).
write_dconf() {
	cat > "$1-sql.conf" <<EOF
# written by bench/pg.sh
driver = pgsql
connect = $(pg_conninfo clear)
default_pass_scheme = PLAIN
password_query = SELECT username AS user, password FROM dovecot_users WHERE username = '%u'
EOF
	cat > "$1.conf" <<EOF
# written by bench/pg.sh
base_dir = $work/$1
state_dir = $work/$1.state
instance_name = authd-bench-$1
protocols = none
ssl = no
log_path = $work/$1.log
info_log_path = $work/$1.log
auth_mechanisms = plain login
disable_plaintext_auth = no
auth_verbose = no
auth_cache_size = $2
auth_cache_ttl = 1 hour
passdb {
  driver = sql
  args = $work/$1-sql.conf
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}
EOF
	mkdir -p "$work/$1.state"
}
# p1-clear: pg-clear with one store connection per node, for reference
# (on 2 cores, 2 x 4 busy backends queue behind each other; see README).
for cfg in pg-clear:postgresql:clear:no: p1-clear:postgresql:clear:no:1 \
	   pg-cache:postgresql:strong:yes: gd-clear:gdbm:clear.db:no: \
	   gd-cache:gdbm:strong.db:yes:; do
	IFS=: read -r name kind store cache conns <<< "$cfg"
	write_aconf "$name-1" "$kind" "$store" "$cache" "$conns"
	write_aconf "$name-2" "$kind" "$store" "$cache" "$conns"
done
write_dconf dv-sql 0
write_dconf dv-cache 10M
for d in dv-sql dv-cache; do
	"$DOVECONF" -c "$d.conf" -n > "$d.doveconf" 2> doveconf.err ||
		{ cat doveconf.err >&2; die "doveconf -c $d.conf -n failed"; }
	grep -q 'driver = sql' "$d.doveconf" || die "$d: doveconf -n shows no sql passdb"
done
grep -q 'auth_cache_size = 10 M' dv-cache.doveconf || die "dv-cache: doveconf -n shows no auth_cache_size"

servers=(pg-clear gd-clear dv-sql p1-clear pg-cache gd-cache dv-cache)
declare -A desc=(
	[pg-clear]="authd x2, PostgreSQL, cleartext"
	[p1-clear]="authd x2, PostgreSQL, cleartext, 1 conn"
	[gd-clear]="authd x2, GDBM, cleartext"
	[dv-sql]="Dovecot, sql (pgsql), {PLAIN}"
	[pg-cache]="authd x2, PostgreSQL, yescrypt, cache"
	[gd-cache]="authd x2, GDBM, yescrypt, cache"
	[dv-cache]="Dovecot, sql (pgsql), {PLAIN}, cache"
)
# The point of each server: a (plain) or b (cached), and its users.
declare -A point=([pg-clear]=plain [p1-clear]=plain [gd-clear]=plain [dv-sql]=plain
		  [pg-cache]=cached [gd-cache]=cached [dv-cache]=cached)
declare -A ufile=([pg-clear]=users.txt [p1-clear]=users.txt [gd-clear]=users.txt [dv-sql]=users.txt
		  [pg-cache]=strong-users.txt [gd-cache]=strong-users.txt [dv-cache]=users.txt)
HALF=$(( BENCH_CONNS / 2 ))
CI="${HALF}x${BENCH_INFLIGHT} + ${HALF}x${BENCH_INFLIGHT}"
declare -A pdesc=([plain]="a. PLAIN $CI" [cached]="b. PLAIN $CI, cache")

# socks SERVER - its auth socket(s): one per node, or Dovecot's one
socks() {
	case $1 in
	dv-*) echo "$work/$1/auth-client" ;;
	*) echo "$work/sock-$1-1/auth $work/sock-$1-2/auth" ;;
	esac
}
# srv_pids SERVER - its processes
srv_pids() {
	case $1 in
	dv-*) echo "${dv_pid[$1]}"; pgrep -P "${dv_pid[$1]}" 2>/dev/null || true ;;
	*) echo "${au_pid[$1-1]} ${au_pid[$1-2]}" ;;
	esac
	return 0
}
srv_logs() {
	case $1 in
	dv-*) echo "$work/$1.log" ;;
	*) echo "$work/$1-1.log $work/$1-2.log" ;;
	esac
}

# probe SOCK USERFILE - one short run, every request OK
probe() {
	"$LOAD" --warmup 0 "$1" 1 1 0.05 PLAIN "$2" > probe.out 2>&1
}
# wait_ok SOCK USERFILE PID LOG WHAT - until the server at SOCK answers OK
wait_ok() {
	local i
	for ((i = 0; i < 100; i++)); do
		[[ -S $1 ]] && probe "$1" "$2" && return 0
		kill -0 "$3" 2>/dev/null || break
		sleep 0.1
	done
	cat probe.out >&2 2>/dev/null || true
	tail -n 5 "$4" >&2 || true
	die "$5: no OK on $1 within 10 s"
}

start_server() {
	local s=$1 n
	case $s in
	dv-*)
		rm -rf "${work:?}/$s"
		"$DOVECOT" -F -c "$work/$s.conf" 2>> "$work/$s.log" &
		dv_pid[$s]=$!
		wait_ok "$work/$s/auth-client" "${ufile[$s]}" "${dv_pid[$s]}" "$work/$s.log" "$s"
		# One check by Dovecot's own client too.
		if ! "$DOVEADM" -c "$work/$s.conf" auth test -a "$work/$s/auth-client" "$u1" \
			"$(head -n 1 users.txt | cut -f2)" > doveadm.out 2>&1 ||
		   ! grep -q 'auth succeeded' doveadm.out; then
			cat doveadm.out >&2
			die "$s: doveadm auth test $u1 failed"
		fi ;;
	*)
		for n in 1 2; do
			rm -rf "${work:?}/sock-$s-$n"
			"$AUTHD" -c "$s-$n.conf" -d 2>> "$work/$s-$n.log" &
			au_pid[$s-$n]=$!
		done
		for n in 1 2; do
			wait_ok "$work/sock-$s-$n/auth" "${ufile[$s]}" "${au_pid[$s-$n]}" \
				"$work/$s-$n.log" "$s node $n"
		done ;;
	esac
}

# check_load OUT RC WHAT LOGS - every request answered OK, none left open
check_load() {
	local out=$1 rc=$2 what=$3
	if (( rc != 0 )) || [[ $(jget "$out" fail_all) != 0 || $(jget "$out" errors) != 0 ||
	      $(jget "$out" abandoned) != 0 ]]; then
		cat "$out" >&2
		# shellcheck disable=SC2086
		tail -n 5 $4 >&2 || true
		die "$what: not every request got OK (auth-load exit $rc)"
	fi
}

# warm SERVER - every user's right password once through each node (each
# socket), so that the cache holds them all
warm() {
	local s=$1 k=0 sk rc=0 t0
	local -a pids=() outs=()
	t0=$EPOCHREALTIME
	for sk in $(socks "$s"); do
		k=$(( k + 1 ))
		"$LOAD" --count "$BENCH_USERS" "$sk" 1 "$BENCH_INFLIGHT" 600 PLAIN "${ufile[$s]}" \
			> "warm$k.out" 2>&1 &
		pids+=("$!"); outs+=("warm$k.out")
	done
	load_pids=("${pids[@]}")
	for ((k = 0; k < ${#pids[@]}; k++)); do
		rc=0; wait "${pids[$k]}" || rc=$?
		check_load "${outs[$k]}" "$rc" "$s, warming the cache" "$(srv_logs "$s")"
		[[ $(jget "${outs[$k]}" ok_all) -ge $BENCH_USERS ]] || die "$s: the warm-up missed users"
	done
	load_pids=()
	log "   $s: cache warmed ($BENCH_USERS users per socket) in $(fmt %.1f "$(calc "$EPOCHREALTIME - $t0")") s"
}

# worst_ms KEY - the larger of the two generators' latency KEY, in ms
worst_ms() {
	local x y
	x=$(jget load1.out "$1"); y=$(jget load2.out "$1")
	calc "($x > $y ? $x : $y) / 1000"
}
# record SERVER POINT ROUND SRV_TICKS PG_TICKS WALL BUSY_TICKS - one line
# of cells.txt from load1.out and load2.out:
#   server point round rps p50_ms p99_ms p99.9_ms max_ms srv_us/req
#   srv_cores pg_us/req pg_cores client_us/req other_cores
# rps is the sum of the two generators, the latencies the worse of the two.
record() {
	local s=$1 p=$2 r=$3 st=$4 pt=$5 wall=$6 busy=$7
	local rps p50 p99 p999 pmax all ccpu srv_us cores pg_us pg_cores cl_us bg
	rps=$(calc "$(jget load1.out rps) + $(jget load2.out rps)")
	p50=$(worst_ms p50_us); p99=$(worst_ms p99_us); p999=$(worst_ms p999_us); pmax=$(worst_ms max_us)
	all=$(( $(jget load1.out requests_all) + $(jget load2.out requests_all) ))
	ccpu=$(calc "$(jget load1.out client_cpu_s) + $(jget load2.out client_cpu_s)")
	srv_us=$(calc "$st * 1000000 / $CLK_TCK / $all")
	cores=$(calc "$st / $CLK_TCK / $wall")
	pg_us=$(calc "$pt * 1000000 / $CLK_TCK / $all")
	pg_cores=$(calc "$pt / $CLK_TCK / $wall")
	cl_us=$(calc "$ccpu * 1000000 / $all")
	# Everything else the machine ran meanwhile (other users' work), in
	# cores: busy time minus the server, PostgreSQL and the generators.
	bg=$(calc "($busy - $st - $pt) / $CLK_TCK - $ccpu")
	bg=$(calc "($bg < 0 ? 0 : $bg) / $wall")
	log "   $(printf '%-9s %-7s' "$s" "$p") round $r: $(fmt %.0f "$rps") auth/s, p50 $(fmt %.3f "$p50") ms, p99 $(fmt %.3f "$p99") ms, max $(fmt %.1f "$pmax") ms, server $(fmt %.1f "$srv_us") us/req ($(fmt %.2f "$cores") cores), PostgreSQL $(fmt %.1f "$pg_us") us/req ($(fmt %.2f "$pg_cores") cores), other load $(fmt %.2f "$bg") cores"
	echo "$s $p $r $rps $p50 $p99 $p999 $pmax $srv_us $cores $pg_us $pg_cores $cl_us $bg" >> cells.txt
}

# run_point SERVER ROUND - one load run: two auth-loads at once, half the
# connections each, on the two nodes (Dovecot: both on its one socket),
# the second starting halfway through the users
run_point() {
	local s=$1 r=$2 k=0 sk off t0 t1 b0 b1 st pt wall
	local -a socklist pids=() rcs=(0 0)
	read -r -a socklist <<< "$(socks "$s")"
	(( ${#socklist[@]} == 2 )) || socklist=("${socklist[0]}" "${socklist[0]}")
	srv_pids "$s" | tr ' ' '\n' | sed '/^$/d' > spids.txt
	pg_pids > ppids.txt
	# shellcheck disable=SC2046
	cpu_snap $(cat spids.txt) > scpu0.txt
	# shellcheck disable=SC2046
	cpu_snap $(cat ppids.txt) > pcpu0.txt
	b0=$(busy_ticks); t0=$EPOCHREALTIME
	for sk in "${socklist[@]}"; do
		off=$(( k * BENCH_USERS / 2 )); k=$(( k + 1 ))
		"$LOAD" --warmup "$BENCH_WARMUP" --offset "$off" "$sk" "$HALF" "$BENCH_INFLIGHT" \
			"$BENCH_SECONDS" PLAIN "${ufile[$s]}" > "load$k.out" 2>&1 &
		pids+=("$!")
	done
	load_pids=("${pids[@]}")
	for ((k = 0; k < 2; k++)); do
		wait "${pids[$k]}" || rcs[k]=$?
	done
	load_pids=()
	b1=$(busy_ticks); t1=$EPOCHREALTIME
	{ cat spids.txt; srv_pids "$s" | tr ' ' '\n'; } | sed '/^$/d' | sort -u > spids2.txt
	{ cat ppids.txt; pg_pids; } | sort -u > ppids2.txt
	# shellcheck disable=SC2046
	cpu_snap $(cat spids2.txt) > scpu1.txt
	# shellcheck disable=SC2046
	cpu_snap $(cat ppids2.txt) > pcpu1.txt
	st=$(cpu_delta scpu0.txt scpu1.txt)
	pt=$(cpu_delta pcpu0.txt pcpu1.txt)
	wall=$(calc "$t1 - $t0")
	check_load load1.out "${rcs[0]}" "$s, generator 1" "$(srv_logs "$s")"
	check_load load2.out "${rcs[1]}" "$s, generator 2" "$(srv_logs "$s")"
	record "$s" "${point[$s]}" "$r" "$st" "$pt" "$wall" "$(( b1 - b0 ))"
}

# Every server starts once and stays up for the whole run: the caches of
# point b are warmed once (2 nodes x BENCH_USERS yescrypt hashes per
# store), and the idle servers cost nothing while the others are measured
# (their CPU would show as "other load").
log "== starting the servers (authd: 2 nodes each; Dovecot: one auth server each)"
for s in "${servers[@]}"; do
	start_server "$s"
done
log "== every server answered OK (authd: each node; Dovecot: auth-load and doveadm auth test)"
log "== warming the caches"
for s in pg-cache gd-cache dv-cache; do
	warm "$s"
done

: > cells.txt
nserv=${#servers[@]}
for ((round = 1; round <= BENCH_ROUNDS; round++)); do
	log "== round $round of $BENCH_ROUNDS (load $(cut -d' ' -f1-3 /proc/loadavg))"
	for ((k = 0; k < nserv; k++)); do
		s=${servers[$(( (k + 2 * (round - 1)) % nserv ))]}
		run_point "$s" "$round"
	done
done
# Dovecot's cache statistics: its auth process logs them on SIGUSR2.
for p in $(pgrep -P "${dv_pid[dv-cache]}" 2>/dev/null || true); do
	[[ $(cat "/proc/$p/comm" 2>/dev/null) == auth ]] && kill -USR2 "$p"
done
sleep 0.5
dv_cache_stats=$(grep -o 'Authentication cache hits.*' dv-cache.log | tail -n 1 || true)
stop_all

# What the servers logged besides the expected: Dovecot's errors and
# warnings, authd's lines other than a successful check.
DV_BAD=': (Error|Warning|Fatal|Panic):'
DV_STOP='master: Warning: Killed with signal 15 '
AU_OK='^authd: (auth: user=[^ ]* service=smtp client=127\.0\.0\.1 result=ok( cached=yes)?( store=[^ ]*)?$|ready: |signal 15: shutting down$|stopped$|postgresql store: ([^ ]* answers \(change [0-9]*\)|connected to [^ ]*)$|sandbox: )'
dv_errors=$(cat dv-*.log | grep -E "$DV_BAD" | grep -c -v "$DV_STOP" || true)
dv_error_sample=$(cat dv-*.log | grep -E "$DV_BAD" | grep -v "$DV_STOP" |
	sed 's/^[A-Z][a-z]* [ 0-9]* [0-9:]* //' | sort | uniq -c | sort -rn | head -n 5 || true)
au_logs=(pg-*-[12].log p1-*-[12].log gd-*-[12].log)
au_lines=$(cat "${au_logs[@]}" | wc -l)
au_other=$(cat "${au_logs[@]}" | grep -v -c -E "$AU_OK" || true)
au_other_sample=$(cat "${au_logs[@]}" | grep -v -E "$AU_OK" | sed 's/[0-9][0-9]*/N/g' |
	sort | uniq -c | sort -rn | head -n 5 || true)
au_cached=$(cat pg-cache-*.log gd-cache-*.log | grep -c 'result=ok cached=yes' || true)
rm -f "${au_logs[@]}"

# ------------------------------------------------------------ pwtool batch
# The mix of bench/store.sh (f): add a new user, set its password, lock
# it, delete it, in turn; -m plain with sha512-crypt at 1000 rounds (the
# cheap hash: what is left is the store's own price per change).  Each
# line is its own transaction, durable (as far as the server's settings
# make it) when its answer is written.
B64_ADD=$(printf 'Batch-add-pw-1' | base64)
B64_PW=$(printf 'Batch-new-pw-2' | base64)
awk -v n="$BENCH_BATCH" -v realm="$REALM" -v a="$B64_ADD" -v p="$B64_PW" 'BEGIN {
	ops[0] = "add -m plain --password-base64 " a " "
	ops[1] = "passwd -m plain --password-base64 " p " "
	ops[2] = "lock "; ops[3] = "delete "
	for (i = 0; i < n; i++) printf "%sb%d@%s\n", ops[i % 4], int(i / 4), realm }' > batch.cmds
for c in pw-clear gw-clear; do
	{ cat "$c.conf"; echo "password_scheme = sha512-crypt"; echo "password_cost = 1000"; } > "$c-cheap.conf"
done
# run_batch CONF - seconds of one `pwtool batch` over batch.cmds, from
# its start to its exit; every answer must be 0
run_batch() {
	local t0 t1 n a
	n=$(wc -l < batch.cmds)
	t0=$EPOCHREALTIME
	"$PWTOOL" -c "$1" batch < batch.cmds > batch.ans 2> batch.err ||
		{ head -n 5 batch.err >&2; die "$1: pwtool batch failed"; }
	t1=$EPOCHREALTIME
	a=$(awk '$1 == 0' batch.ans | wc -l)
	[[ $a -eq $n ]] || { head -n 5 batch.err >&2; grep -v '^0 ' batch.ans | head -n 5 >&2
			     die "$1: batch: $a of $n commands answered 0"; }
	calc "$t1 - $t0"
}
# pg_changes - the PostgreSQL store's change counter
pg_changes() { pg_psql clear -At -c "SELECT changes FROM authd_store"; }

log "== pwtool batch: $BENCH_BATCH changes, one commit each"
c0=$(pg_changes)
batch_pg_s=$(run_batch pw-clear-cheap.conf)
c1=$(pg_changes)
[[ $(( c1 - c0 )) -eq $BENCH_BATCH ]] || die "batch on PostgreSQL: $(( c1 - c0 )) commits, expected $BENCH_BATCH"
log "   PostgreSQL (fsync off): $batch_pg_s s, $(fmt %.0f "$(calc "$BENCH_BATCH / $batch_pg_s")") changes/s"
# The same server restarted with PostgreSQL's defaults: fsync and
# synchronous_commit on, so each commit waits for its WAL on disk.
pg_stop_primary
_pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/data.log" -w -t 30 \
	-o "-p $PG_PORT -k $PG_DIR -c listen_addresses=" start > /dev/null ||
	{ cat "$PG_DIR/data.log" >&2; die "cannot restart PostgreSQL with fsync on"; }
[[ $(pg_psql clear -At -c "SHOW fsync") == on && $(pg_psql clear -At -c "SHOW synchronous_commit") == on ]] ||
	die "PostgreSQL did not restart with fsync and synchronous_commit on"
c0=$(pg_changes)
batch_pgd_s=$(run_batch pw-clear-cheap.conf)
c1=$(pg_changes)
[[ $(( c1 - c0 )) -eq $BENCH_BATCH ]] || die "batch on PostgreSQL (fsync on): $(( c1 - c0 )) commits, expected $BENCH_BATCH"
log "   PostgreSQL (fsync on):  $batch_pgd_s s, $(fmt %.0f "$(calc "$BENCH_BATCH / $batch_pgd_s")") changes/s"
batch_gd_s=$(run_batch gw-clear-cheap.conf)
log "   GDBM:                   $batch_gd_s s, $(fmt %.0f "$(calc "$BENCH_BATCH / $batch_gd_s")") changes/s"
blkdev_note=$(df -P "$PG_DIR" | awk 'NR == 2 { print $1 }')

# ------------------------------------------------------------ summary
# med, range, ratio, verdict: bench/lib.sh (POINT = a/b's name).
max_of() {
	awk -v s="$1" -v p="$2" -v f="$3" '$1 == s && $2 == p { print $f }' cells.txt |
		sort -g | tail -n 1
}
row() { printf '%-52s %s\n' "$1" "$2" | sed 's/ *$//'; }
summary() {
	local s p r x
	echo "authd on PostgreSQL benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "machine: $machine; the load generators, PostgreSQL and the servers share it"
	echo "load:    $load_before (before), $(cut -d' ' -f1-3 /proc/loadavg) (after)"
	echo "store:   PostgreSQL $pg_version, private (tests/pg/pglib.sh: UNIX socket, fsync off), one"
	echo "         database per verifier kind, shared by both authd nodes"
	echo "         (store_pg_connections = $BENCH_PG_CONNS each); GDBM: one file per kind, shared the same way"
	echo "anchor:  Dovecot $dovecot_version (dovecot-pgsql $dovecot_pkg): one auth server, passdb sql"
	echo "         (driver pgsql, default 5 connections) on a table of the same users, {PLAIN};"
	echo "         auth cache off (a), auth_cache_size = 10M (b); auth-client socket"
	echo "method:  $BENCH_USERS users u0001..@$REALM; bench/auth-load (one thread, epoll),"
	echo "         Postfix-shaped PLAIN requests taking the users in turn; two generators at once,"
	echo "         ${HALF} connections x $BENCH_INFLIGHT in flight each (closed loop), one per authd node,"
	echo "         both on Dovecot's one socket; auth/s summed, latencies the worse generator's;"
	echo "         $BENCH_SECONDS s measured after $BENCH_WARMUP s warm-up, $BENCH_ROUNDS rounds; servers started once,"
	echo "         caches warmed once (every user through every node); medians over the rounds"
	echo "         (auth/s range in brackets); every request must get OK"
	echo "hashes:  b. authd yescrypt $yes_setting (pwtool default, + SCRAM verifiers), one hash cloned"
	echo "         to every user; Dovecot {PLAIN} (its cache verifies the cached password on every"
	echo "         hit, so a hash would cost it the hash each time: {PLAIN} is its best case)"
	echo
	printf '%-38s | %-26s | %-21s | %-32s | %s\n' "server" "load" "auth/s [range]" "p50 / p99 / p99.9 / max ms" \
		"server cpu us/req (cores), PostgreSQL us/req (cores), client us/req, other load (cores)"
	for s in "${servers[@]}"; do
		p=${point[$s]}
		printf '%-38s | %-26s | %-21s | %-32s | %s\n' "${desc[$s]}" "${pdesc[$p]}" \
			"$(fmt %.0f "$(med "$s" "$p" 4)") [$(range "$s" "$p")]" \
			"$(fmt %.3f "$(med "$s" "$p" 5)") / $(fmt %.3f "$(med "$s" "$p" 6)") / $(fmt %.2f "$(med "$s" "$p" 7)") / $(fmt %.1f "$(med "$s" "$p" 8)")" \
			"$(fmt %.1f "$(med "$s" "$p" 9)") ($(fmt %.2f "$(med "$s" "$p" 10)")), $(fmt %.1f "$(med "$s" "$p" 11)") ($(fmt %.2f "$(med "$s" "$p" 12)")), $(fmt %.1f "$(med "$s" "$p" 13)"), $(fmt %.2f "$(med "$s" "$p" 14)")"
	done
	echo "(server cpu: user + system time of both authd nodes, or of all of Dovecot's processes,"
	echo " during the run, warm-up included, per request answered; PostgreSQL: the same for the"
	echo " postmaster and all its backends; cores: that time over the run's wall time.  other load:"
	echo " CPU the rest of the machine used meanwhile, in cores of $NCPU: other users' work)"
	echo
	echo "ratios (median of the per-round ratios):"
	r=$(ratio pg-clear dv-sql plain); row "  a. PLAIN, no cache, authd-PG / Dovecot-sql" "$(fmt %.2f "$r")x  (target >= ${T_DOVECOT}x: $(verdict "$r" "$T_DOVECOT"))"
	r=$(ratio pg-cache dv-cache cached); row "  b. PLAIN, cache, authd-PG / Dovecot-sql" "$(fmt %.2f "$r")x  (target >= ${T_DOVECOT}x: $(verdict "$r" "$T_DOVECOT"))"
	r=$(ratio p1-clear dv-sql plain); row "     the same, authd-PG with 1 connection per node" "$(fmt %.2f "$r")x  (reference)"
	r=$(ratio pg-clear gd-clear plain); row "  a. authd-PG / authd-GDBM" "$(fmt %.2f "$r")x"
	r=$(ratio pg-cache gd-cache cached); row "  b. authd-PG / authd-GDBM" "$(fmt %.2f "$r")x"
	row "     p99 (worst round), a" "authd-PG $(fmt %.3f "$(max_of pg-clear plain 6)") ms (1 conn: $(fmt %.3f "$(max_of p1-clear plain 6)") ms), authd-GDBM $(fmt %.3f "$(max_of gd-clear plain 6)") ms, Dovecot $(fmt %.3f "$(max_of dv-sql plain 6)") ms"
	row "     p99 (worst round), b" "authd-PG $(fmt %.3f "$(max_of pg-cache cached 6)") ms, authd-GDBM $(fmt %.3f "$(max_of gd-cache cached 6)") ms, Dovecot $(fmt %.3f "$(max_of dv-cache cached 6)") ms"
	echo
	x=$(calc "$BENCH_BATCH / $batch_pg_s")
	row "  c. pwtool batch, $BENCH_BATCH changes, PostgreSQL" "$(fmt %.0f "$x") changes/s ($batch_pg_s s; fsync off, as pglib.sh runs it)  (target >= $T_BATCH/s: $(verdict "$x" "$T_BATCH"))"
	x=$(calc "$BENCH_BATCH / $batch_pgd_s")
	row "     the same, PostgreSQL restarted durable" "$(fmt %.0f "$x") changes/s ($batch_pgd_s s; fsync, synchronous_commit on; $blkdev_note)  (target >= $T_BATCH/s: $(verdict "$x" "$T_BATCH"))"
	x=$(calc "$BENCH_BATCH / $batch_gd_s")
	row "     the same on GDBM, for reference" "$(fmt %.0f "$x") changes/s ($batch_gd_s s; fsync per commit)"
	echo "     (mix: add, passwd, lock, delete in turn, -m plain, sha512-crypt at 1000 rounds,"
	echo "      into a store of $BENCH_USERS users; one pwtool process, start to exit)"
	echo
	echo "server logs: authd $au_lines lines, $au_other other than a successful check ($au_cached answered"
	echo "             from the cache); Dovecot $dv_errors errors/warnings"
	echo "Dovecot's cache at the end: ${dv_cache_stats:-no statistics logged}"
	[[ -n $au_other_sample ]] && printf '  authd: %s\n' "$au_other_sample"
	[[ -n $dv_error_sample ]] && printf '  Dovecot: %s\n' "$dv_error_sample"
	echo
	echo "every run: server point round auth/s p50_ms p99_ms p99.9_ms max_ms server_cpu_us/req server_cores pg_us/req pg_cores client_cpu_us/req other_load_cores"
	sed 's/^/  /' cells.txt
}
summary | tee "$results"
log "== written $results"
