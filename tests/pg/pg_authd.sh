#!/bin/bash
# pg_authd.sh - authd on a PostgreSQL store (store = postgresql), against
# a private server (pglib.sh): both sockets and every mechanism answer as
# on GDBM; hostile names and services reach the server only as
# parameters; two authd nodes on one database both honour a pwtool change
# at their next request (the cache included); the server stopped under
# load gives temporary failures and never a NO for a right password, and
# full service within a second of its return; a server down at start-up;
# reads from a hot standby while the primary is down; the log names the
# server that answered.
set -euo pipefail
export AUTHD_TEST_STORE=postgresql
. "$(dirname "$0")/../daemon/dlib.sh"

# The daemon runs as nobody and reaches the server's socket directory.
chmod 0755 "$PG_DIR"
CONNINFO=$(pg_conninfo users)
pg_conf() {
	write_dconf "store = postgresql" "store_pg_conninfo = $1" \
		"scram_iterations = 4096" "auth_cache = yes" \
		"auth_mechanisms = PLAIN LOGIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-1 SCRAM-SHA-256" \
		"${@:2}"
}
pg_conf "$CONNINFO"

# authd -t checks the connection string's file as pwtool does.
printf '%s\n' "$CONNINFO" >"$TMP/conninfo"
chmod 0644 "$TMP/conninfo"
write_dconf "store = postgresql" "store_pg_conninfo_file = $TMP/conninfo"
desc "authd -t refuses a connection string file others may read"
expect_rc 1 "$AUTHD" -t -c "$CONF"
expect_err 'store_pg_conninfo_file|0600'
chmod 0600 "$TMP/conninfo"
desc "and accepts it at mode 0600 (the server is not asked)"
expect_rc 0 "$AUTHD" -t -c "$CONF"
pg_conf "$CONNINFO"

add_user alice 'Secret-1' -m all
add_user bob 'bob-pw'
add_user carol 'carol-pw' -m scram
users_before=$(pg_psql users -At -c "SELECT count(*) FROM authd_users")

start_authd
desc "authd starts on store = postgresql and says so"
expect_log 'ready: .*store postgresql'
desc "the start-up lookup names the server that answered"
expect_log "postgresql store: $PG_DIR:$PG_PORT answers"

# --- the same answers as on GDBM ------------------------------------------
auth 0 alice 'Secret-1'
auth 1 alice 'wrong'
auth 1 nobody-here 'Secret-1'
auth 0 bob 'bob-pw' -r example.org
desc "each check's log line names the store server"
expect_log "user=alice@example.org .*result=ok store=$PG_DIR:$PG_PORT"
desc "a pool connection's first answer is logged"
expect_log "postgresql store: connected to $PG_DIR:$PG_PORT"

A=$SOCKDIR/auth
authm() {
	local want=$1 mech=$2 user=$3 pass=$4 rc=0
	shift 4
	_take_desc "auth socket: $mech $user with '$pass' gets rc $want"
	local d=$_D
	"$AUTHTEST" auth -f "$A" -m "$mech" -u "$user" -p "$pass" "$@" >"$OUT" 2>&1 || rc=$?
	if [ "$rc" = "$want" ]; then pass "$d"; else fail "$d"; diag "$OUT" output; fi
}
for m in PLAIN LOGIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-1 SCRAM-SHA-256; do
	authm 0 "$m" alice 'Secret-1'
	authm 1 "$m" alice 'nope'
	authm 1 "$m" nobody-here 'Secret-1'
done
authm 0 SCRAM-SHA-256 carol 'carol-pw'
desc "a mechanism's log line names the store server too"
expect_log "auth: user=alice@example.org .*result=ok store=$PG_DIR:$PG_PORT"

# --- hostile names, realms and services ------------------------------------
# Each reaches a prepared statement as a parameter, or is refused by the
# name rules first: a NO (never an error, never a row touched).
for u in "x' OR '1'='1" "alice@example.org' --" "a'; DROP TABLE authd_users; --" \
	'alice"@example.org' "\\'; SELECT pg_sleep(5); --"; do
	auth 1 "$u" 'Secret-1'
	authm 1 PLAIN "$u" 'Secret-1'
	authm 1 SCRAM-SHA-256 "$u" 'Secret-1'
done
auth 1 alice 'Secret-1' -r "example.org' OR '1'='1"
auth 1 alice 'Secret-1' -r "x'; DELETE FROM authd_users; --"
auth 0 alice 'Secret-1' -s "smtp'; DELETE FROM authd_users; --"
authm 0 PLAIN alice 'Secret-1' -s "imap' OR 1=1 --"
desc "after the injection attempts every row is still there"
check test "$(pg_psql users -At -c "SELECT count(*) FROM authd_users")" = "$users_before"
desc "and the schema is intact"
check test "$(pg_psql users -At -c "SELECT count(*) FROM authd_store")" = 1

# --- two nodes on one database ---------------------------------------------
CONF1=$CONF
SOCK1=$SOCK
CONF2=$TMP/node2.conf
SOCK2DIR=$TMP/sock2
sed -e "s|^socket_dir = .*|socket_dir = $SOCK2DIR|" "$CONF1" >"$CONF2"
# Node 1 trusts its cache while it hears every change (store_pg_notify,
# the default); node 2 reads the record for every check.
printf 'pid_file = %s\nstore_pg_notify = no\n' "$TMP/node2.pid" >>"$CONF2"
"$AUTHD" -c "$CONF2" -d 2>>"$TMP/node2.log" &
NODE2=$!
AUTHD_PIDS+=("$NODE2")
wait_socket "$NODE2" "$SOCK2DIR/mux" || { echo "Bail out! node 2 did not start"; diag "$TMP/node2.log" log; exit 1; }
# on NODE WANT USER PASS - a mux check on node 1 or 2.  Node 2 reads
# the record for every check: its answer must be right at once.  Node 1
# trusts its cache until a change's notification arrives (the time of a
# packet, but a starved PostgreSQL backend on a loaded machine may send it
# late): its answer must be right within a second, and an answer that
# needed a second try is counted in LATE (reported, not a failure).
LATE=0
on() {
	local sock=$SOCK1 rc=0 i
	[ "$1" = 2 ] && sock=$SOCK2DIR/mux
	for ((i = 0; i < 20; i++)); do
		rc=0
		"$AUTHTEST" mux -f "$sock" -u "$3" -p "$4" >/dev/null 2>&1 || rc=$?
		[ "$rc" = "$2" ] || [ "$1" = 2 ] && break
		sleep 0.05
	done
	[ "$i" -gt 0 ] && [ "$1" = 1 ] && LATE=$((LATE + 1))
	desc "node $1: $3 with '$4' gets rc $2"
	check test "$rc" = "$2"
}
# Both nodes have the old password cached now.
on 1 0 alice 'Secret-1'
on 2 0 alice 'Secret-1'
on 1 0 alice 'Secret-1'
on 2 0 alice 'Secret-1'
desc "node 2 (store_pg_notify = no): its cache hits read the record"
check grep -q 'user=alice@example.org .*result=ok cached=yes store=' "$TMP/node2.log"
desc "node 1 (listening): a cache hit without a read"
expect_log 'user=alice@example.org .*result=ok cached=yes$'

printf 'Secret-2\n' | pw -p passwd -m all alice >/dev/null
on 1 1 alice 'Secret-1'
on 2 1 alice 'Secret-1'
on 1 0 alice 'Secret-2'
on 2 0 alice 'Secret-2'
pw lock alice >/dev/null
on 1 1 alice 'Secret-2'
on 2 1 alice 'Secret-2'
pw unlock alice >/dev/null
on 2 0 alice 'Secret-2'
pw delete bob >/dev/null
on 1 1 bob 'bob-pw'
on 2 1 bob 'bob-pw'
# Twenty rounds on the listening node: the old password is cached right
# before each change, and must be refused once the change's notification
# has arrived (within a second; on an idle machine, at the next request).
bad=0
prev='Secret-2'
for ((i = 1; i <= 20; i++)); do
	"$AUTHTEST" mux -f "$SOCK1" -u alice -p "$prev" >/dev/null 2>&1 || bad=$((bad + 1))
	printf 'Rot-%s\n' "$i" | pw -p passwd -m all alice >/dev/null
	for ((k = 0; k < 20; k++)); do
		"$AUTHTEST" mux -f "$SOCK1" -u alice -p "$prev" >/dev/null 2>&1 || break
		sleep 0.05
	done
	[ "$k" -gt 0 ] && LATE=$((LATE + 1))
	[ "$k" -lt 20 ] || bad=$((bad + 1))
	"$AUTHTEST" mux -f "$SOCK1" -u alice -p "Rot-$i" >/dev/null 2>&1 || bad=$((bad + 1))
	prev=Rot-$i
done
desc "20 changes right after a cached login: the old password refused within a second, the new one taken ($bad wrong)"
check test "$bad" = 0
echo "# node 1: answers that needed a second try after a change: $LATE (0 on an idle machine)"
printf 'Secret-2\n' | pw -p passwd -m all alice >/dev/null
desc "node 2's SCRAM sees the new password too"
authm_on2() { "$AUTHTEST" auth -f "$SOCK2DIR/auth" -m SCRAM-SHA-256 -u alice -p "$1" >/dev/null 2>&1; }
check authm_on2 'Secret-2'
desc "and refuses the old one"
check_not() { ! "$@"; }
check check_not authm_on2 'Secret-1'
_kill_pid "$NODE2"

# --- the server stopped under load -----------------------------------------
# Two clients check a right password in a loop while the server is
# stopped for about 1.5 s and started again.  Every answer is OK or a
# temporary failure (authd-test: 2, an empty mux reply); none is NO.
LOADDIR=$TMP/load
mkdir "$LOADDIR"
load() {
	local n=0 rc
	while [ ! -e "$LOADDIR/stop" ]; do
		rc=0
		"$AUTHTEST" mux -f "$SOCK1" -u alice -p 'Secret-2' >/dev/null 2>&1 || rc=$?
		echo "$rc" >>"$LOADDIR/rc.$1"
		n=$((n + 1))
	done
}
load a & LA=$!
load b & LB=$!
sleep 1
pg_stop_primary
sleep 1.5
pg_start_primary
_now_us
t_back=$_NOW
# full service: poll until the first OK
back_ms=-1
for ((i = 0; i < 60; i++)); do
	if "$AUTHTEST" mux -f "$SOCK1" -u alice -p 'Secret-2' >/dev/null 2>&1; then
		_now_us
		back_ms=$(((_NOW - t_back) / 1000))
		break
	fi
	sleep 0.05
done
sleep 1
touch "$LOADDIR/stop"
wait "$LA" "$LB" || true
cat "$LOADDIR"/rc.* >"$LOADDIR/all"
n_ok=$(grep -cx 0 "$LOADDIR/all" || true)
n_no=$(grep -cx 1 "$LOADDIR/all" || true)
n_temp=$(grep -cx 2 "$LOADDIR/all" || true)
echo "# under load: $n_ok OK, $n_temp temporary failures, $n_no NO; OK again $back_ms ms after the server's return"
desc "no NO for a right password while the server was down ($n_no)"
check test "$n_no" = 0
desc "the outage was seen as temporary failures ($n_temp)"
check test "$n_temp" -gt 0
desc "each client's last checks, after the return, were answered OK"
check test "$(tail -n 1 "$LOADDIR/rc.a")$(tail -n 1 "$LOADDIR/rc.b")" = 00
desc "full service within a second of the server's return ($back_ms ms)"
check test "$back_ms" -ge 0 -a "$back_ms" -le 1000
auth 0 alice 'Secret-2'
desc "the temporary failures are logged as such, with the reason"
expect_log 'result=tempfail reason="postgresql store: '
CTL=$BUILDDIR/ctl/authdctl
stat_of() { "$CTL" -c "$CONF" stats | sed -n "s/^$1 //p"; }
desc "authdctl stats: the store and its server"
check test "$(stat_of store)" = postgresql
check test "$(stat_of store.server)" = "$PG_DIR:$PG_PORT"
desc "authdctl stats: the look-ups, and the outage's errors among them"
check test "$(stat_of store.lookups)" -gt 0
check test "$(stat_of store.errors)" -ge "$n_temp"
desc "the metrics carry them too"
check grep -q '^authd_store_lookups_total{result="error"} [1-9]' <("$CTL" -c "$CONF" metrics)

# --- a server that hangs ---------------------------------------------------
# Stopped with SIGSTOP, the server keeps its connections open and never
# answers: a check is answered at auth_reply_max with a temporary failure
# (the pool's lookup is abandoned, not waited for), and once the server
# runs again so are the checks.
stop_authd
pg_conf "$CONNINFO" "auth_reply_max = 1s" "auth_failure_delay_max = 500ms"
start_authd
auth 0 alice 'Secret-2'
kill -STOP $(pgrep -u postgres -f "postgres.*$PG_DIR/data" || true) $(pgrep -u postgres -P "$(head -1 "$PG_DIR/data/postmaster.pid")" || true)
# (The right password would be a cache hit, answered without the server;
# a wrong one needs the record.)
desc "a hung server: a temporary failure at auth_reply_max, not NO"
timed_auth alice 'not-cached'
check test "$AUTH_RC" = 2
check_ms 900 2500 "$AUTH_MS" "answered at auth_reply_max"
expect_log 'result=tempfail reason="store did not answer within auth_reply_max"'
kill -CONT $(pgrep -u postgres -f "postgres.*$PG_DIR/data" || true) $(pgrep -u postgres -P "$(head -1 "$PG_DIR/data/postmaster.pid")" || true)
sleep 0.3
auth 0 alice 'Secret-2'
desc "reload (SIGHUP) keeps the store and its pool"
kill -HUP "$AUTHD_PID"
sleep 0.3
auth 0 alice 'Secret-2'
auth 1 alice 'Secret-1'
stop_authd

# --- the server down at start-up --------------------------------------------
pg_stop_primary
start_authd
desc "authd starts without its server and says what it does meanwhile"
expect_log 'every check fails temporarily until the server answers'
desc "a check meanwhile is a temporary failure, not NO"
timed_auth alice 'Secret-2'
check test "$AUTH_RC" = 2
desc "SCRAM meanwhile: a temporary failure too (FAIL code=temp_fail)"
"$AUTHTEST" auth -f "$A" -m SCRAM-SHA-256 -u alice -p 'Secret-2' >"$OUT" 2>&1 || true
check grep -q 'code=temp_fail' "$OUT"
pg_start_primary
sleep 0.6
auth 0 alice 'Secret-2'
authm 0 SCRAM-SHA-256 alice 'Secret-2'
stop_authd

# --- a hot standby ----------------------------------------------------------
pg_add_standby
pg_conf "host=$PG_DIR,$PG_DIR port=$PG_PORT,$PG_STANDBY_PORT dbname=users user=$PG_SUPER target_session_attrs=any"
start_authd
auth 0 alice 'Secret-2'
pg_stop_primary
# The pool's connections to the primary break; each reconnects to the
# next host, the standby.
for ((i = 0; i < 20; i++)); do
	"$AUTHTEST" mux -f "$SOCK" -u alice -p 'Secret-2' >/dev/null 2>&1 && break
	sleep 0.1
done
auth 0 alice 'Secret-2'
auth 1 alice 'Secret-1'
authm 0 SCRAM-SHA-256 alice 'Secret-2'
authm 0 CRAM-MD5 alice 'Secret-2'
desc "the log says the standby answered"
expect_log "result=ok store=$PG_DIR:$PG_STANDBY_PORT \\(standby\\)"
pg_start_primary
stop_authd

# --- a site's own tables: store_pg_password_query --------------------------
# A Postfix Admin-like table that authd only reads.  The user's parts and
# the service reach the query as parameters $1..$4, never as SQL text.
pg_createdb site
crypt_erin=$(openssl passwd -6 -salt saltsalt 'erin-pw')
# hank's verifiers are carol's as pwtool exports them ({CRYPT} and SCRAM).
carol_v=$(pw export - | grep '^carol@' | cut -d: -f3-)
pg_psql site -v crypt="$crypt_erin" -v verifiers="$carol_v" <<'SQL'
CREATE TABLE mailbox (username text, domain text, password text,
	active boolean, services text[]);
INSERT INTO mailbox VALUES
	('dave', 'example.org', '{PLAIN}dave pw', true, '{imap,smtp}'),
	('erin', 'example.org', :'crypt', true, '{imap,smtp}'),
	('frank', 'example.org', '{PLAIN}frank-pw', false, '{imap,smtp}'),
	('gina', 'other.test', '{PLAIN}gina-pw', true, '{imap}'),
	('twice', 'example.org', '{PLAIN}a', true, '{imap}'),
	('twice', 'example.org', '{PLAIN}b', true, '{imap}'),
	('hank', 'example.org', :'verifiers', true, '{imap}');
SQL
pg_stop_primary 2>/dev/null || true
pg_start_primary
QUERY='SELECT password, NOT active AS disabled FROM mailbox WHERE username = $2 AND domain = $3 AND $4 = ANY (services)'
pg_conf "$(pg_conninfo site)" "store_pg_password_query = $QUERY"
desc "pwtool refuses to manage a site's own tables"
expect_rc 8 "$PWTOOL" -c "$CONF" list
expect_err 'store_pg_password_query is set'
start_authd
desc "authd says it reads the site's query"
expect_log 'answers store_pg_password_query \(read-only\)'
auth 0 dave 'dave pw'
auth 1 dave 'dave-pw'
auth 0 erin 'erin-pw'
auth 1 erin 'wrong'
auth 1 frank 'frank-pw'
auth 0 gina 'gina-pw' -r other.test
auth 1 gina 'gina-pw' -r other.test -s smtp
auth 1 nobody-here 'dave pw'
authm 0 PLAIN dave 'dave pw'
authm 0 CRAM-MD5 dave 'dave pw'
# SCRAM needs a stored SCRAM verifier (deriving one from cleartext would
# cost a PBKDF2 per login); a column may hold several verifiers.
authm 1 SCRAM-SHA-256 dave 'dave pw'
authm 0 SCRAM-SHA-256 hank 'carol-pw'
authm 1 SCRAM-SHA-256 hank 'nope'
authm 0 PLAIN hank 'carol-pw'
authm 0 PLAIN erin 'erin-pw'
desc "two rows for one user: a temporary failure, never a guess"
timed_auth twice a
check test "$AUTH_RC" = 2
expect_log 'more than one row for one user'
for u in "dave' OR '1'='1" "x' OR 1=1 --" "dave'; DROP TABLE mailbox; --"; do
	auth 1 "$u" 'dave pw'
done
auth 1 dave 'dave pw' -r "example.org' OR '1'='1"
auth 1 dave 'dave pw' -s "imap' OR '1'='1"
auth 1 dave 'dave pw' -s "x'); DELETE FROM mailbox; --"
desc "the site's table is untouched"
check test "$(pg_psql site -At -c 'SELECT count(*) FROM mailbox')" = 7
stop_authd
pg_conf "$(pg_conninfo site)" "store_pg_password_query = SELECT password AS pw FROM mailbox WHERE username = \$2"
start_authd
desc "a query without a password column: temporary failures, and the log says why"
timed_auth dave 'dave pw'
check test "$AUTH_RC" = 2
expect_log 'no column named password'
stop_authd

# --- TLS to the server over TCP ---------------------------------------------
# libpq's own options: a server certificate checked against the site's CA
# and the address (sslmode=verify-full); the wrong CA is a temporary
# failure that the log explains, never a refusal.
pg_enable_tls
cp "$PG_CA" "$TMP/ca.crt"
chmod 0644 "$TMP/ca.crt"
pg_conf "host=127.0.0.1 port=$PG_PORT dbname=users user=$PG_SUPER sslmode=verify-full sslrootcert=$TMP/ca.crt"
start_authd
auth 0 alice 'Secret-2'
auth 1 alice 'Secret-1'
authm 0 SCRAM-SHA-256 alice 'Secret-2'
desc "over TCP with TLS, the log names the address"
expect_log "result=ok store=127.0.0.1:$PG_PORT"
desc "the session is TLS (pg_stat_ssl of authd's connections)"
check test "$(pg_psql users -At -c "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'authd' AND s.ssl")" -ge 1
stop_authd
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=other CA" \
	-keyout "$TMP/other.key" -out "$TMP/other.crt" 2>/dev/null
chmod 0644 "$TMP/other.crt"
pg_conf "host=127.0.0.1 port=$PG_PORT dbname=users user=$PG_SUPER sslmode=verify-full sslrootcert=$TMP/other.crt"
start_authd
desc "a server certificate of another CA: a temporary failure, not NO"
timed_auth alice 'Secret-2'
check test "$AUTH_RC" = 2
expect_log 'certificate verify failed'
stop_authd

finish
