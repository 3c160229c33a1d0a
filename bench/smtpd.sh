#!/bin/bash
# smtpd.sh - benchmark of authd-smtpd, the SMTP gate, with a private
# Postfix smtpd as the anchor: both check AUTH with the same authd (over
# its auth socket: Postfix through smtpd_sasl_type = dovecot) and relay to
# the same smtp-sink, driven by the same load generators in the same run.
# See bench/README and reference/anchors.md.
#
# usage: bash bench/smtpd.sh [BUILD_DIR]        (default: build-bench)
#
# Must run as root: authd and authd-smtpd bind as root and drop to nobody,
# and Postfix's master starts as root.  Everything (configurations, store,
# sockets, Postfix's queue, logs) lives in a temporary directory, printed
# at start and removed at exit, also on error or Ctrl-C; the system's
# Postfix and authd are not touched.
#
# The path, for both servers:
#
#   load generator -> SERVER -> smtp-sink (127.0.0.1, discards)
#                       |
#                     authd (auth socket; cleartext verifiers, no cache)
#
#   gate     authd-smtpd: hands each message to the sink in real time and
#            answers 250 after the dot only when the sink said 250.
#   pf       Postfix 3.7 smtpd, stock settings otherwise: queues the
#            message (cleanup, queue file, fsync), answers 250, and its
#            qmgr and smtp client relay it to the sink (relayhost) meanwhile.
#            Its rate is the rate its smtpd accepts messages; after each
#            point the script waits for the queue to empty and checks that
#            the sink got every message.
#   sink     reference, the ceiling: smtp-load straight to smtp-sink (which
#            takes AUTH without checking it): what the load generator and
#            the sink alone reach on this machine.
#
# What it measures (messages/s, each message one session: connect, EHLO,
# AUTH PLAIN with an initial response, MAIL, RCPT, DATA, BENCH_SIZE bytes,
# QUIT):
#   1. AUTH sessions, 1 at a time (bench/smtp-load), gate / pf  target >= 1x
#   2. AUTH sessions, 20 concurrent                        gate / pf  target >= 1x
#   3. no AUTH, relay for mynetworks, Postfix's smtp-source, 1 and 20
#      sessions (reference: the same without authd's part)
#   4. BENCH_IDLE idle sessions (greeted, EHLO answered, then silent) held
#      by a fresh authd-smtpd: its VmRSS             target < 64 MiB
#      while one AUTH session runs the load of 1.: its rate
#
# Sizes and knobs (environment):
#   BENCH_USERS=1000       users uNNNN@example.org, cleartext verifiers
#   BENCH_SECONDS=5        measured seconds per point (after the warm-up)
#   BENCH_WARMUP=1         warm-up seconds per point
#   BENCH_ROUNDS=3         rounds; each round starts every server afresh
#   BENCH_SESSIONS="1 20"  the session counts of 1. and 2.
#   BENCH_SIZE=2048        message bytes (smtp-load: headers included;
#                          smtp-source: its -l, the body)
#   BENCH_SOURCE=1         0 skips the smtp-source points (3.)
#   BENCH_IDLE=1000        idle sessions of 4. (0 skips 4.)
#   BENCH_RESULTS=FILE     summary file (default: bench/results-smtpd.txt)
#
# Needs the built authd, pwtool, authd-smtpd and bench/smtp-load, and
# Postfix (postfix, smtp-source, smtp-sink: the postfix package).
set -euo pipefail
export LC_ALL=C

[[ -n ${EPOCHREALTIME:-} ]] || { echo "smtpd.sh: needs bash >= 5" >&2; exit 1; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck disable=SC2034  # both used by lib.sh
srcdir=$(dirname "$here") me=smtpd.sh
# shellcheck source=lib.sh
source "$here/lib.sh"

BENCH_USERS=${BENCH_USERS:-1000}
BENCH_SECONDS=${BENCH_SECONDS:-5}
BENCH_WARMUP=${BENCH_WARMUP:-1}
BENCH_ROUNDS=${BENCH_ROUNDS:-3}
BENCH_SESSIONS=${BENCH_SESSIONS:-"1 20"}
BENCH_SIZE=${BENCH_SIZE:-2048}
BENCH_SOURCE=${BENCH_SOURCE:-1}
BENCH_IDLE=${BENCH_IDLE:-1000}
results=${BENCH_RESULTS:-$here/results-smtpd.txt}

REALM=example.org
# Targets.
T_RATIO=1		# authd-smtpd >= 1x Postfix, AUTH sessions, each count
T_RSS_KB=65536		# VmRSS with BENCH_IDLE idle sessions

for v in BENCH_USERS BENCH_SECONDS BENCH_WARMUP BENCH_ROUNDS BENCH_SIZE; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"
done
[[ $BENCH_IDLE =~ ^[0-9]+$ && $BENCH_SOURCE =~ ^[01]$ ]] ||
	die "BENCH_IDLE must be a number, BENCH_SOURCE 0 or 1"
for n in $BENCH_SESSIONS; do
	if ! [[ $n =~ ^[1-9][0-9]*$ ]] || (( n > 1000 )); then die "BENCH_SESSIONS: 1..1000 each"; fi
done
(( BENCH_SIZE >= 256 )) || die "BENCH_SIZE must be at least 256"
[[ $(id -u) -eq 0 ]] || die "must run as root (authd, authd-smtpd and Postfix start as root)"

build=$(bench_build "${1:-}" build-bench)
AUTHD=$build/authd/authd
PWTOOL=$build/pwtool/pwtool
GATE=$build/smtpd/authd-smtpd
LOAD=$build/bench/smtp-load
for x in "$AUTHD" "$PWTOOL" "$GATE" "$LOAD"; do
	[[ -x $x ]] || die "$x not built (ninja -C $build)"
done
for x in postfix postconf smtp-source smtp-sink; do
	command -v "$x" >/dev/null || die "$x missing: install postfix (see reference/anchors.md)"
done
{ getent passwd postfix && getent group postdrop; } >/dev/null ||
	die "no postfix user or postdrop group (the postfix package makes them)"
pf_version=$(postconf -d -h mail_version 2>/dev/null || echo '?')
pf_pkg=$(dpkg-query -W -f '${Version}' postfix 2>/dev/null || echo '?')
CLK_TCK=$(getconf CLK_TCK)
# The idle sessions and the gate's own sockets need file descriptors.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
(( $(ulimit -n) >= BENCH_IDLE + 256 )) ||
	die "ulimit -n is $(ulimit -n): $((BENCH_IDLE + 256)) file descriptors needed"

work=$(mktemp -d "${TMPDIR:-/tmp}/authd-bench-smtpd.XXXXXX")
# authd and authd-smtpd run as nobody, Postfix as postfix: all must reach
# their files in here.
chmod 0755 "$work"
PF=$work/pf

# --- what is running, and how to stop it (the trap uses these) ---
authd_pid=""		# authd (foreground child, -d)
gate_pid=""		# authd-smtpd (foreground child, -d)
sink_pid=""		# smtp-sink
idle_pid=""		# smtp-load --idle
pf_running=0		# the private Postfix

# stop_postfix - `postfix stop`, then, if its master is still there after
# 4 s, it and its children by pid.
stop_postfix() {
	local pid i kids
	(( pf_running )) || return 0
	pf_running=0
	pid=$(tr -d ' ' < "$PF/queue/pid/master.pid" 2>/dev/null || true)
	postfix -c "$PF/conf" stop > /dev/null 2>&1 || true
	[[ -n $pid ]] || return 0
	for ((i = 0; i < 40; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kids=$(ps -o pid= --ppid "$pid" 2>/dev/null || true)
	# shellcheck disable=SC2086
	kill -KILL "$pid" $kids 2>/dev/null || true
	return 0
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	stop_pid "$idle_pid"
	stop_pid "$gate_pid"
	stop_postfix
	stop_pid "$sink_pid"
	stop_pid "$authd_pid"
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cd "$work"

# --- helpers ---
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# jget FILE KEY - a number of smtp-load's JSON line
jget() { sed -n "s/^JSON .*\"$2\":\([0-9.]*\).*/\1/p" "$1"; }
# cpu_ticks PID [all] - user + system clock ticks of a process (all its
# threads); with "all", those of its reaped children too
cpu_ticks() {
	local -a f
	read -r -a f < <(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || { echo 0; return 0; }
	if [[ ${2:-} == all ]]; then
		echo $(( f[11] + f[12] + f[13] + f[14] ))
	else
		echo $(( f[11] + f[12] ))
	fi
}
# child_cpu - user + system seconds of this shell's waited-for children
# (bash's `times`, second line: "XmY.YYYs XmY.YYYs")
child_cpu() {
	times | awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, "m"); sub(/s$/, "", a[2]); t += a[1] * 60 + a[2] } print t }'
}
# vm_kb PID FIELD - VmRSS, VmHWM... of a process, in kB
vm_kb() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
# gate_vm_kb FIELD - the same, summed over authd-smtpd's supervisor and
# its workers (the workers serve; the supervisor only forks them)
gate_vm_kb() {
	local t=0 p v

	for p in "$gate_pid" $(pgrep -P "$gate_pid" || true); do
		v=$(vm_kb "$p" "$1" 2>/dev/null || true)
		t=$(( t + ${v:-0} ))
	done
	echo "$t"
}

# --- the machine ---
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
machine=$(machine_line)
log "== machine: $machine; load $load_before"
log "== temp dir: $work"
log "== authd-smtpd: $GATE"
log "== anchor: Postfix $pf_version (postfix $pf_pkg)"

# ------------------------------------------------------------ authd
# users.txt: uNNNN@REALM with their own passwords; the store holds them
# as cleartext verifiers, so authd's check costs the same for every
# session of both servers and no hash is the bottleneck.
w=${#BENCH_USERS}; (( w < 4 )) && w=4
awk -v n="$BENCH_USERS" -v w="$w" -v realm="$REALM" 'BEGIN {
	for (i = 1; i <= n; i++)
		printf "u%0" w "d@%s\tBench-pw-%d-q7Z\n", i, realm, i > "users.txt" }'
cat > authd.conf <<EOF
# written by bench/smtpd.sh
socket_dir = $work/sock
socket_group = postfix
user = nobody
group = nogroup
store_path = $work/users.db
store_group = nogroup
default_realm = $REALM
auth_mechanisms = plain login
auth_workers = 0
auth_cache = no
EOF
awk -F'\t' '{ print $1 "::{PLAIN}" $2 }' users.txt > imp.txt
"$PWTOOL" -c authd.conf import imp.txt 2> import.err || { cat import.err >&2; die "pwtool import failed"; }
rm -f imp.txt import.err
n=$("$PWTOOL" -c authd.conf realms | awk -F'\t' '{ s += $2 } END { print s + 0 }')
[[ $n -eq $BENCH_USERS ]] || die "store holds $n users, expected $BENCH_USERS"
ASOCK=$work/sock/auth
"$AUTHD" -c authd.conf -d 2>> authd.log &
authd_pid=$!
for ((i = 0; i < 100; i++)); do
	[[ -S $ASOCK ]] && grep -q 'ready:' authd.log && break
	kill -0 "$authd_pid" 2>/dev/null || break
	sleep 0.1
done
[[ -S $ASOCK ]] || { tail -n 5 authd.log >&2; die "authd did not start"; }

# ------------------------------------------------------------ the sink
SINK=$(free_port)
smtp-sink -u nobody "127.0.0.1:$SINK" 1024 2>> sink.log &
sink_pid=$!

# ------------------------------------------------------------ the servers
G_SUB=$(free_port); G_SMTP=$(free_port); P_SUB=$(free_port); P_SMTP=$(free_port)
[[ $(printf '%s\n' "$SINK" "$G_SUB" "$G_SMTP" "$P_SUB" "$P_SMTP" | sort -u | wc -l) -eq 5 ]] ||
	die "free_port gave the same port twice; run again"
LIMIT=$(( BENCH_IDLE + 100 ))

# authd-smtpd: the submission port requires AUTH before MAIL; the smtp
# port relays for mynetworks (smtp-source).  PLAIN without TLS, as the
# Postfix below; no TLS to the sink (smtp-sink has none).
# its pid file in a directory it may write to as nobody (it removes the
# file at exit)
mkdir -p run
chown nobody run
cat > gate.conf <<EOF
# written by bench/smtpd.sh
myhostname = gate.example.org
user = nobody
group = postfix
pid_file = $work/run/gate.pid
submission_listen = 127.0.0.1:$G_SUB
smtp_listen = 127.0.0.1:$G_SMTP
auth_socket = $ASOCK
smtpd_sasl_security_options = noanonymous
next_hop = 127.0.0.1:$SINK
next_hop_tls_security_level = none
mynetworks = 127.0.0.0/8
max_connections = $LIMIT
smtpd_client_connection_count_limit = $LIMIT
EOF
"$GATE" -c gate.conf -t > /dev/null || die "authd-smtpd -t refused gate.conf"

# Postfix: the same two ports (submission: smtpd_client_restrictions =
# permit_sasl_authenticated, reject, as in Debian's master.cf), relayhost
# = the sink, stock settings otherwise.
mkdir -p "$PF/conf" "$PF/queue" "$PF/data"
chown postfix "$PF/data"
cat > "$PF/conf/main.cf" <<EOF
# written by bench/smtpd.sh
compatibility_level = 3.6
queue_directory = $PF/queue
data_directory = $PF/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.example.org
mydomain = example.org
myorigin = example.org
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
maillog_file = $PF/maillog
maillog_file_prefixes = $work
relayhost = [127.0.0.1]:$SINK
default_transport = smtp
relay_transport = smtp
alias_maps =
alias_database =
local_recipient_maps =
biff = no
mynetworks = 127.0.0.0/8
smtpd_tls_security_level = none
smtp_tls_security_level = none
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = $ASOCK
smtpd_sasl_security_options = noanonymous
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
smtpd_client_connection_count_limit = $LIMIT
EOF
cat > "$PF/conf/master.cf" <<EOF
127.0.0.1:$P_SMTP inet n - n - - smtpd
127.0.0.1:$P_SUB inet n - n - - smtpd
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
discard   unix  - - n - - discard
error     unix  - - n - - error
retry     unix  - - n - - error
showq     unix  n - n - - showq
postlog   unix-dgram n - n - 1 postlogd
EOF
postfix -c "$PF/conf" check 2> pfcheck.err || { cat pfcheck.err >&2; die "postfix check failed"; }

servers=(pf gate)
declare -A desc=(
	[pf]="Postfix $pf_version smtpd (queues)"
	[gate]="authd-smtpd"
	[sink]="ceiling: straight to smtp-sink"
)
declare -A sub_port=([pf]=$P_SUB [gate]=$G_SUB)
declare -A smtp_port=([pf]=$P_SMTP [gate]=$G_SMTP)

srv_log=""		# the running server's log
log_from=1		# its first line of this start
expect_msgs=0		# messages accepted since it started (all loads)

# probe PORT - one short AUTH load, every session right
probe() {
	"$LOAD" --warmup 0 "127.0.0.1:$1" 1 0.2 users.txt > probe.out 2>&1
}

start_server() {
	local s=$1 i rc m
	expect_msgs=0
	case $s in
	gate)
		srv_log=$work/gate.log
		touch "$srv_log"
		log_from=$(( $(wc -l < "$srv_log") + 1 ))
		"$GATE" -c gate.conf -d 2>> "$srv_log" &
		gate_pid=$! ;;
	pf)
		srv_log=$PF/maillog
		log_from=1
		[[ -e $srv_log ]] && log_from=$(( $(wc -l < "$srv_log") + 1 ))
		postfix -c "$PF/conf" start 2>> pfstart.err ||
			{ cat pfstart.err >&2; tail -n 5 "$srv_log" >&2 || true; die "postfix start failed"; }
		pf_running=1 ;;
	esac
	for ((i = 0; i < 100; i++)); do
		# every message the probe got a 250 for counts, also when the
		# probe failed otherwise (a session cut short by the start)
		rc=0; probe "${sub_port[$s]}" || rc=$?
		m=$(jget probe.out msgs_all)
		expect_msgs=$(( expect_msgs + ${m:-0} ))
		if (( rc == 0 )) || [[ ${m:-0} -gt 0 && $(jget probe.out fail_all) == 0 &&
		                       $(jget probe.out errors_all) == 0 ]]; then
			return 0
		fi
		[[ -n $gate_pid ]] && ! kill -0 "$gate_pid" 2>/dev/null && break
		sleep 0.1
	done
	cat probe.out >&2 || true
	tail -n 5 "$srv_log" >&2 || true
	die "$s: no message through port ${sub_port[$s]} within 10 s"
}

# cur_log - the running server's log since its start
cur_log() { tail -n +"$log_from" "$srv_log"; }

# queue_files - messages in Postfix's queue
queue_files() {
	find "$PF/queue/incoming" "$PF/queue/active" "$PF/queue/deferred" \
		"$PF/queue/hold" "$PF/queue/maildrop" -type f 2>/dev/null | wc -l
}

# delivered - what the server has passed on to the sink since it started
# (the gate: "accepted by" lines, one per message; Postfix: status=sent,
# one per recipient, one recipient per message).  Postfix: waits (up to
# 120 s) for its queue to empty first.
delivered() {
	local i
	case $1 in
	gate) cur_log | grep -c ": accepted by 127\.0\.0\.1:$SINK: 250$" || true ;;
	pf)
		for ((i = 0; i < 1200; i++)); do
			(( $(queue_files) == 0 )) && break
			sleep 0.1
		done
		cur_log | grep -c " relay=127\.0\.0\.1\[127\.0\.0\.1\]:$SINK, .* status=sent " || true ;;
	esac
}

# check_delivered SERVER WHAT - the sink got every accepted message
check_delivered() {
	local got
	got=$(delivered "$1")
	if [[ $got != "$expect_msgs" ]]; then
		cur_log | grep -v -E ' (connect|disconnect) from |: client=|: (from|to)=<|: message-id=|: removed$' |
			tail -n 10 >&2 || true
		die "$1, $2: the sink got $got messages, $expect_msgs were accepted"
	fi
}

stop_server() {
	case $1 in
	gate) stop_pid "$gate_pid"; gate_pid="" ;;
	pf) stop_postfix ;;
	esac
}

# record SERVER POINT ROUND MPS P50 P99 P999 MAX SRV_US AUTHD_US SINK_US
# OTHER - one line of cells.txt (latencies in ms, CPU in us per message,
# OTHER in cores)
record() {
	log "   $(printf '%-5s %-7s' "$1" "$2") round $3: $(fmt %.0f "$4") msg/s, p50 $(fmt %.2f "$5") ms, p99 $(fmt %.2f "$6") ms, max $(fmt %.1f "$8") ms; cpu us/msg: server $(fmt %.0f "$9"), authd $(fmt %.0f "${10}"), sink $(fmt %.0f "${11}"); other load $(fmt %.2f "${12}") cores"
	echo "$*" >> cells.txt
}

# srv_ticks SERVER - CPU clock ticks the server has used so far: the
# gate's one process; Postfix's master with its reaped children
# (cutime, cstime) and the children alive now (its smtpd, cleanup, qmgr,
# smtp... come and go: smtpd exits after 100 sessions)
srv_ticks() {
	local pid c t
	case $1 in
	gate)	# the supervisor (and workers it reaped), and its workers
		t=$(cpu_ticks "$gate_pid" all)
		for c in $(pgrep -P "$gate_pid" || true); do
			t=$(( t + $(cpu_ticks "$c") ))
		done
		echo "$t" ;;
	pf)
		pid=$(tr -d ' ' < "$PF/queue/pid/master.pid")
		t=$(cpu_ticks "$pid" all)
		for c in $(pgrep -P "$pid" || true); do
			t=$(( t + $(cpu_ticks "$c") ))
		done
		echo "$t" ;;
	*) echo 0 ;;
	esac
}

# run_point SERVER POINT ROUND - one load run on the running server.
# POINT: aN = N AUTH sessions (smtp-load, submission port), sN = N
# smtp-source sessions (smtp port, mynetworks).
#
# CPU per message accepted, from the load's start to the end of the
# check at the sink (for Postfix: its queue drained, so its delivery to
# the sink is counted): the server's processes, authd, the sink; and
# "other load", what the rest of the machine used meanwhile (busy time
# minus those and the load generator), in cores: other users' work.
run_point() {
	local s=$1 p=$2 r=$3 n=${2#?} rc=0 t0 t1 b0 b1 g0 g1 a0 a1 k0 k1 ccpu msgs mps
	local port c0 wall o
	g0=$(srv_ticks "$s"); a0=$(cpu_ticks "$authd_pid"); k0=$(cpu_ticks "$sink_pid")
	b0=$(busy_ticks); t0=$EPOCHREALTIME
	case $p in
	a*)
		if [[ $s == sink ]]; then port=$SINK; else port=${sub_port[$s]}; fi
		"$LOAD" --warmup "$BENCH_WARMUP" ${SINK_AUTH:+--auth-code 250} \
			"127.0.0.1:$port" "$n" "$BENCH_SECONDS" users.txt > load.out 2>&1 || rc=$?
		if (( rc != 0 )) || [[ $(jget load.out fail_all) != 0 || $(jget load.out errors_all) != 0 ]]; then
			cat load.out >&2
			[[ $s != sink ]] && { cur_log | tail -n 5 >&2 || true; }
			die "$s, $p: not every session went right (smtp-load exit $rc)"
		fi
		msgs=$(jget load.out msgs_all)
		ccpu=$(jget load.out client_cpu_s) ;;
	s*)
		# As many messages as the AUTH point of the same server and
		# session count did in BENCH_SECONDS this round (at least 200).
		msgs=$(awk -v s="$s" -v p="a$n" -v r="$r" -v t="$BENCH_SECONDS" \
			'$1 == s && $2 == p && $3 == r { m = int($4 * t) } END { print (m > 200) ? m : 200 }' cells.txt)
		port=${smtp_port[$s]}
		c0=$(child_cpu)
		smtp-source -s "$n" -m "$msgs" -l "$BENCH_SIZE" \
			-M client.example.net -f sender@example.org -t rcpt@example.net \
			"127.0.0.1:$port" > source.out 2>&1 || rc=$?
		t1=$EPOCHREALTIME
		if (( rc != 0 )) || [[ -s source.out ]]; then
			cat source.out >&2
			cur_log | tail -n 5 >&2 || true
			die "$s, $p: smtp-source failed (exit $rc)"
		fi
		mps=$(calc "$msgs / ($t1 - $t0)")
		ccpu=$(calc "$(child_cpu) - $c0") ;;
	esac
	if [[ $s != sink ]]; then
		expect_msgs=$(( expect_msgs + msgs ))
		check_delivered "$s" "$p"
	fi
	b1=$(busy_ticks); t1=$EPOCHREALTIME
	g1=$(srv_ticks "$s"); a1=$(cpu_ticks "$authd_pid"); k1=$(cpu_ticks "$sink_pid")
	wall=$(calc "$t1 - $t0")
	o=$(calc "(($b1 - $b0) - ($g1 - $g0) - ($a1 - $a0) - ($k1 - $k0)) / $CLK_TCK - $ccpu")
	set -- "$s" "$p" "$r" \
		"$(calc "($g1 - $g0) * 1000000 / $CLK_TCK / $msgs")" \
		"$(calc "($a1 - $a0) * 1000000 / $CLK_TCK / $msgs")" \
		"$(calc "($k1 - $k0) * 1000000 / $CLK_TCK / $msgs")" \
		"$(calc "($o < 0 ? 0 : $o) / $wall")"
	case $p in
	a*) record "$1" "$2" "$3" "$(jget load.out mps)" \
		"$(calc "$(jget load.out p50_us) / 1000")" "$(calc "$(jget load.out p99_us) / 1000")" \
		"$(calc "$(jget load.out p999_us) / 1000")" "$(calc "$(jget load.out max_us) / 1000")" \
		"$4" "$5" "$6" "$7" ;;
	s*) record "$1" "$2" "$3" "$mps" 0 0 0 0 "$4" "$5" "$6" "$7" ;;
	esac
}

apoints=() spoints=()
for n in $BENCH_SESSIONS; do
	apoints+=("a$n")
	(( BENCH_SOURCE )) && spoints+=("s$n")
done

: > cells.txt
for ((round = 1; round <= BENCH_ROUNDS; round++)); do
	log "== round $round of $BENCH_ROUNDS (load $(cut -d' ' -f1-3 /proc/loadavg))"
	# the ceiling first, then the two servers, in turn first
	SINK_AUTH=1
	for p in "${apoints[@]}"; do
		run_point sink "$p" "$round"
	done
	SINK_AUTH=
	order=(pf gate)
	(( round % 2 == 0 )) && order=(gate pf)
	for s in "${order[@]}"; do
		start_server "$s"
		for p in "${apoints[@]}" "${spoints[@]}"; do
			run_point "$s" "$p" "$round"
		done
		stop_server "$s"
	done
done

# ------------------------------------------------------------ idle
# A fresh authd-smtpd; BENCH_IDLE sessions greeted, EHLO answered, then
# silent; meanwhile one AUTH session runs the load of 1.  VmRSS sampled
# every 0.1 s from before the idle sessions to the end of the load.
idle_rss0="" idle_rss1="" idle_rss_max="" idle_hwm="" idle_mps="" idle_p99="" idle_held=""
if (( BENCH_IDLE > 0 )); then
	log "== $BENCH_IDLE idle sessions on a fresh authd-smtpd"
	start_server gate
	idle_rss0=$(gate_vm_kb VmRSS)
	"$LOAD" --idle "$BENCH_IDLE" --hold 600 "127.0.0.1:$G_SUB" > idle.out 2> idle.err &
	idle_pid=$!
	for ((i = 0; i < 600; i++)); do
		grep -q -E '^(READY|FAILED)' idle.out && break
		kill -0 "$idle_pid" 2>/dev/null || break
		sleep 0.1
	done
	grep -q "^READY $BENCH_IDLE\$" idle.out ||
		{ cat idle.out idle.err >&2; cur_log | tail -n 5 >&2; die "the idle sessions did not all get their EHLO reply"; }
	sleep 0.5
	idle_rss1=$(gate_vm_kb VmRSS)
	"$LOAD" --warmup "$BENCH_WARMUP" "127.0.0.1:$G_SUB" 1 "$BENCH_SECONDS" users.txt > load.out 2>&1 &
	lpid=$!
	idle_rss_max=$idle_rss1
	while kill -0 "$lpid" 2>/dev/null; do
		x=$(gate_vm_kb VmRSS)
		(( x > idle_rss_max )) && idle_rss_max=$x
		sleep 0.1
	done
	rc=0; wait "$lpid" || rc=$?
	(( rc == 0 )) || { cat load.out >&2; die "the load during the idle sessions failed"; }
	idle_hwm=$(gate_vm_kb VmHWM)
	idle_mps=$(jget load.out mps)
	idle_p99=$(calc "$(jget load.out p99_us) / 1000")
	expect_msgs=$(( expect_msgs + $(jget load.out msgs_all) ))
	check_delivered gate idle
	kill -TERM "$idle_pid"
	rc=0; wait "$idle_pid" || rc=$?
	idle_pid=""
	idle_held=$(jget idle.out held)
	if (( rc != 0 )) || [[ $idle_held != "$BENCH_IDLE" ]]; then
		cat idle.out >&2
		die "not every idle session was still open at the end"
	fi
	log "   RSS $idle_rss0 kB at start, $idle_rss1 kB with $BENCH_IDLE idle, max $idle_rss_max kB under load (VmHWM $idle_hwm kB); 1 session meanwhile: $(fmt %.0f "$idle_mps") msg/s, p99 $(fmt %.2f "$idle_p99") ms"
	stop_server gate
fi

# What the servers logged besides the expected.
GATE_OK=': (connect from|disconnect from|client=.*sasl_method=PLAIN|from=<sender@example\.org>, nrcpt=1, .* accepted by |ready: |signal 15|stopped$)'
gate_other=$(grep -v -c -E "$GATE_OK" gate.log || true)
gate_other_sample=$(grep -v -E "$GATE_OK" gate.log | sed 's/^[^:]*: //' | sort | uniq -c | sort -rn | head -n 5 || true)
pf_bad=$(grep -c -E ' (warning|error|fatal|panic): ' "$PF/maillog" || true)
pf_bad_sample=$(grep -E ' (warning|error|fatal|panic): ' "$PF/maillog" | sed 's/^.*\]: //' | sort | uniq -c | sort -rn | head -n 5 || true)
AU_OK='^authd: (auth: user=[^ ]* service=smtp client=127\.0\.0\.1 result=ok$|ready: |signal 15: shutting down$|stopped$)'
au_other=$(grep -v -c -E "$AU_OK" authd.log || true)

# ------------------------------------------------------------ summary
# med, ratio, verdict: bench/lib.sh
lt() { awk -v x="$1" -v t="$2" 'BEGIN { print (x < t) ? "PASS" : "FAIL" }'; }
rng() {
	awk -v s="$1" -v p="$2" '$1 == s && $2 == p { print $4 }' cells.txt | sort -g |
		awk '{ v[NR] = $1 } END { printf "%.0f-%.0f", v[1], v[NR] }'
}
# cpus SERVER POINT - the CPU columns of a row
cpus() {
	echo "$(fmt %.0f "$(med "$1" "$2" 9)"), $(fmt %.0f "$(med "$1" "$2" 10)"), $(fmt %.0f "$(med "$1" "$2" 11)"); $(fmt %.2f "$(med "$1" "$2" 12)")"
}
summary() {
	local s p n r
	echo "authd-smtpd benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "machine: $machine"
	echo "load:    $load_before (before), $(cut -d' ' -f1-3 /proc/loadavg) (after)"
	echo "anchor:  Postfix $pf_version (postfix $pf_pkg), private instance, stock settings but"
	echo "         relayhost = the sink, smtpd_sasl_type = dovecot on authd's auth socket"
	echo "path:    load -> server -> smtp-sink; AUTH PLAIN checked by one authd (cleartext"
	echo "         verifiers, no cache) for both servers; $BENCH_USERS users taken in turn"
	echo "method:  aN: bench/smtp-load, N sessions, one message of $BENCH_SIZE bytes per session"
	echo "         (connect, EHLO, AUTH PLAIN, MAIL, RCPT, DATA, QUIT), lock-step; latency"
	echo "         from connect to the 250 after the dot; $BENCH_SECONDS s after $BENCH_WARMUP s warm-up"
	echo "         sN: smtp-source -s N -l $BENCH_SIZE, no AUTH (relay for mynetworks), as many"
	echo "         messages as aN did in $BENCH_SECONDS s; rate = messages / wall time"
	echo "         $BENCH_ROUNDS rounds, fresh servers each round; medians over rounds [range]"
	echo "         Postfix's rate is its smtpd's acceptance (into its queue); after each"
	echo "         point the queue is drained and every message is checked at the sink"
	echo
	printf '%-40s | %-6s | %-18s | %-30s | %s\n' server point "msg/s [range]" "p50 / p99 / p99.9 / max ms" \
		"cpu us/msg: server, authd, sink; other load (cores)"
	for s in sink "${servers[@]}"; do
		for p in "${apoints[@]}" "${spoints[@]}"; do
			[[ $s == sink && $p == s* ]] && continue
			if [[ $p == a* ]]; then
				printf '%-40s | %-6s | %-18s | %-30s | %s\n' "${desc[$s]}" "$p" \
					"$(fmt %.0f "$(med "$s" "$p" 4)") [$(rng "$s" "$p")]" \
					"$(fmt %.2f "$(med "$s" "$p" 5)") / $(fmt %.2f "$(med "$s" "$p" 6)") / $(fmt %.2f "$(med "$s" "$p" 7)") / $(fmt %.1f "$(med "$s" "$p" 8)")" \
					"$(cpus "$s" "$p")"
			else
				printf '%-40s | %-6s | %-18s | %-30s | %s\n' "${desc[$s]}" "$p" \
					"$(fmt %.0f "$(med "$s" "$p" 4)") [$(rng "$s" "$p")]" "-" \
					"$(cpus "$s" "$p")"
			fi
		done
	done
	echo "(cpu: user + system time per message accepted, from the start of the load to the"
	echo " check at the sink: authd-smtpd's process; Postfix's master and all its children,"
	echo " the queue's drain to the sink included.  other load: what the rest of the machine"
	echo " used meanwhile, in cores of $(nproc): other users' work competing with the run)"
	echo
	echo "ratios (median of the per-round ratios):"
	for p in "${apoints[@]}"; do
		n=${p#a}
		r=$(ratio gate pf "$p")
		printf '  %-52s %s\n' "AUTH, $n session(s), authd-smtpd / Postfix" \
			"$(fmt %.2f "$r")x  (target >= ${T_RATIO}x: $(verdict "$r" "$T_RATIO"))"
		r=$(ratio gate sink "$p")
		printf '  %-52s %s\n' "AUTH, $n session(s), authd-smtpd / ceiling" "$(fmt %.0f "$(calc "$r * 100")")%"
	done
	for p in "${spoints[@]}"; do
		printf '  %-52s %s\n' "no AUTH (smtp-source), ${p#s} session(s), authd-smtpd / Postfix" \
			"$(fmt %.2f "$(ratio gate pf "$p")")x  (reference)"
	done
	if (( BENCH_IDLE > 0 )); then
		echo
		echo "idle: $BENCH_IDLE sessions held by a fresh authd-smtpd"
		printf '  %-52s %s\n' "VmRSS at start / with the idle sessions" "$idle_rss0 kB / $idle_rss1 kB"
		printf '  %-52s %s\n' "VmRSS, max while 1 session runs the load" \
			"$idle_rss_max kB  (target < $T_RSS_KB kB: $(lt "$idle_rss_max" "$T_RSS_KB"))"
		printf '  %-52s %s\n' "VmHWM at the end" "$idle_hwm kB"
		printf '  %-52s %s\n' "per idle session" "$(fmt %.1f "$(calc "($idle_rss1 - $idle_rss0) / $BENCH_IDLE")") kB"
		printf '  %-52s %s\n' "1 AUTH session meanwhile" \
			"$(fmt %.0f "$idle_mps") msg/s, p99 $(fmt %.2f "$idle_p99") ms (without idle sessions: $(fmt %.0f "$(med gate a1 4)") msg/s)"
		printf '  %-52s %s\n' "idle sessions still open at the end" "$idle_held of $BENCH_IDLE"
	fi
	echo
	echo "server logs: authd-smtpd $gate_other lines other than connect/AUTH/accepted/disconnect;"
	echo "             Postfix $pf_bad warnings or errors; authd $au_other lines other than a good check"
	[[ -n $gate_other_sample ]] && printf '  authd-smtpd: %s\n' "$gate_other_sample"
	[[ -n $pf_bad_sample ]] && printf '  Postfix: %s\n' "$pf_bad_sample"
	echo
	echo "every run: server point round msg/s p50_ms p99_ms p99.9_ms max_ms cpu_us/msg:server authd sink other_load_cores"
	sed 's/^/  /' cells.txt
}
summary | tee "$results"
log "== written $results"
