#!/bin/bash
# pg_store.sh - the PostgreSQL store beyond what the shared pwtool scripts
# check on it: GDBM -> PostgreSQL -> GDBM with identical exports, the
# store = postgresql keys (inline and from a root-only file), pwtool init
# (idempotent, never implicit, a newer schema refused), hostile names as
# data, one winner among concurrent adds, the writer lock's timeout, the
# change counter and its NOTIFY, a server that is down, and reads from a
# hot standby (pg_add_standby).
set -euo pipefail
export AUTHD_TEST_STORE=postgresql
. "$(dirname "$0")/../integration/lib.sh"
SCHEMA=$(dirname "$0")/../../sql/schema.sql

# --- GDBM -> PostgreSQL -> GDBM --------------------------------------------
GDBM1=$TMP/one.db
GDBM2=$TMP/two.db
g1() { "$PWTOOL" -c "$CONF" -f "$GDBM1" "$@"; }
expect_rc 0 g1 add -p -m all rt-all <<<"secret"
expect_rc 0 g1 add -p -m cleartext,scram-sha-1 --disabled rt-clear <<<$'p\xc3\xa4ss:w@rd'
expect_rc 0 g1 add -p -u other.test rt-other <<<"secret"
expect_rc 0 g1 add -p 'Zoë' <<<"secret"
printf 'rt-old@example.org:created=123,changed=456:{PLAIN}x\n' >"$TMP/old.txt"
expect_rc 0 g1 import "$TMP/old.txt"
expect_rc 0 g1 export "$TMP/gdbm1.txt"
desc "the GDBM export imports into PostgreSQL"
expect_rc 0 pw import "$TMP/gdbm1.txt"
expect_err '5 added, 0 replaced'
expect_rc 0 pw export "$TMP/pg.txt"
desc "PostgreSQL exports it byte for byte"
check cmp "$TMP/gdbm1.txt" "$TMP/pg.txt"
desc "the PostgreSQL export imports into a new GDBM store"
expect_rc 0 "$PWTOOL" -c "$CONF" -f "$GDBM2" import "$TMP/pg.txt"
expect_rc 0 "$PWTOOL" -c "$CONF" -f "$GDBM2" export "$TMP/gdbm2.txt"
desc "GDBM -> PostgreSQL -> GDBM: the same export"
check cmp "$TMP/gdbm1.txt" "$TMP/gdbm2.txt"
desc "show is the same on both stores"
expect_rc 0 g1 show --json rt-all
cp "$OUT" "$TMP/show-gdbm.json"
expect_rc 0 pw show --json rt-all
check cmp "$TMP/show-gdbm.json" "$OUT"
desc "verifiers work from PostgreSQL (cleartext user, after unlock)"
expect_rc 0 pw unlock rt-clear
expect_rc 0 pw check -p rt-clear <<<$'p\xc3\xa4ss:w@rd'
expect_rc 0 pw check -p zoë <<<"secret"
desc "realms are counted the same"
expect_rc 0 g1 realms
cp "$OUT" "$TMP/realms-gdbm.txt"
expect_rc 0 pw realms
check cmp "$TMP/realms-gdbm.txt" "$OUT"

# --- the change counter and NOTIFY -------------------------------------------
changes() { pg_psql users -At -c "SELECT changes FROM authd_store"; }
before=$(changes)
desc "one pwtool change adds one to the counter"
expect_rc 0 pw passwd -p rt-all <<<"new"
expect_eq "$((before + 1))" "$(changes)"
desc "a batch group is one commit: one more"
expect_rc 0 pw batch <<<$'begin\nlock rt-all\nunlock rt-all\nlock rt-other@other.test\ncommit'
expect_eq "$((before + 2))" "$(changes)"
desc "a commit NOTIFYs authd_store with the new counter"
pg_psql users -c "LISTEN authd_store" -c "SELECT pg_sleep(3)" -c "SELECT 1" \
	>"$TMP/listen.out" 2>&1 &
listener=$!
sleep 1
expect_rc 0 pw unlock rt-other@other.test
wait "$listener"
check grep -q "notification \"authd_store\" with payload \"$((before + 3))\"" "$TMP/listen.out"

# --- hostile names are data ---------------------------------------------------
evil="o'brien\"); DROP TABLE authd_users; --"
desc "a name full of SQL is just a name"
expect_rc 0 pw add -p "$evil" <<<"secret"
expect_rc 0 pw check -p "$evil" <<<"secret"
expect_rc 0 pw list
expect_out "^o'brien\"\\); drop table authd_users; --@example.org\$"
desc "authd_users is still there, with that row"
check test "$(pg_psql users -At -c "SELECT count(*) FROM authd_users WHERE key LIKE 'o''brien%'")" = 1
expect_rc 0 pw delete "$evil"
desc "a realm with SQL in it is refused by the name rules (6)"
expect_rc 6 pw add -p "x@a';drop table authd_users;--" <<<"secret"

# --- concurrent writers: "exists" holds --------------------------------------
desc "8 concurrent adds of one user: exactly one wins, the rest exit 4"
for i in 1 2 3 4 5 6 7 8; do
	(rc=0; pw add -p racer <<<"pw$i" >/dev/null 2>&1 || rc=$?; echo "$rc" >"$TMP/race.$i") &
done
wait
check test "$(cat "$TMP"/race.* | sort | tr '\n' ' ')" = "0 4 4 4 4 4 4 4 "

# --- the writer lock times out ----------------------------------------------
cat >"$TMP/lock.conf" <<EOF
default_realm = example.org
password_scheme = sha512-crypt
password_cost = 1000
store_lock_timeout = 1
EOF
pg_psql users -c "BEGIN" -c "SELECT 1 FROM authd_store FOR UPDATE" \
	-c "SELECT pg_sleep(4)" -c "COMMIT" >/dev/null 2>&1 &
holder=$!
sleep 1
desc "a writer waits store_lock_timeout for another, then exits 5"
expect_rc 5 "$PWTOOL" -c "$TMP/lock.conf" -f "$DB" add -p waiter <<<"secret"
expect_err 'locked by another writer \(timed out\)'
wait "$holder"
desc "and succeeds once the other is done"
expect_rc 0 "$PWTOOL" -c "$TMP/lock.conf" -f "$DB" add -p waiter <<<"secret"

# --- store = postgresql in authd.conf ---------------------------------------
cp "$CONF" "$TMP/pg.conf"
printf 'store = postgresql\nstore_pg_conninfo = %s\n' "$(pg_conninfo users)" >>"$TMP/pg.conf"
desc "store = postgresql with store_pg_conninfo: no -f needed"
expect_rc 0 "$PWTOOL" -c "$TMP/pg.conf" check -p rt-all <<<"new"
printf '%s\n' "$(pg_conninfo users)" >"$TMP/conninfo"
chmod 0600 "$TMP/conninfo"
cp "$CONF" "$TMP/pgfile.conf"
printf 'store = postgresql\nstore_pg_conninfo_file = %s\n' "$TMP/conninfo" >>"$TMP/pgfile.conf"
desc "store_pg_conninfo_file (mode 0600, ours)"
expect_rc 0 "$PWTOOL" -c "$TMP/pgfile.conf" list
expect_out '^rt-all@example.org$'
chmod 0640 "$TMP/conninfo"
desc "a conninfo file others may read is refused (8)"
expect_rc 8 "$PWTOOL" -c "$TMP/pgfile.conf" list
expect_err 'store_pg_conninfo_file: .*only root may read'
printf 'store_pg_conninfo = %s\n' "$(pg_conninfo users)" >>"$TMP/pgfile.conf"
desc "both store_pg_conninfo and the file: refused (8)"
expect_rc 8 "$PWTOOL" -c "$TMP/pgfile.conf" list
expect_err 'exactly one of store_pg_conninfo and store_pg_conninfo_file'
desc "authd -t takes the same store = postgresql configuration"
expect_rc 0 "$AUTHD" -t -c "$TMP/pg.conf"
desc "authd -t refuses both keys as pwtool does"
expect_rc 1 "$AUTHD" -t -c "$TMP/pgfile.conf"
expect_err 'exactly one of store_pg_conninfo and store_pg_conninfo_file'

# --- pwtool init ---------------------------------------------------------------
desc "init again: the schema is current, nothing changes"
expect_rc 0 pw init "$SCHEMA"
expect_out 'schema version 1 is current'
desc "init of a GDBM store is a usage error (2)"
expect_rc 2 "$PWTOOL" -c "$CONF" -f "$GDBM1" init "$SCHEMA"
pg_createdb bare
desc "a database without the schema: commands say to run pwtool init (5)"
expect_rc 5 "$PWTOOL" -c "$CONF" -f "$(pg_uri bare)" list
expect_err 'no authd schema \(create it with: pwtool init\)'
expect_rc 5 "$PWTOOL" -c "$CONF" -f "$(pg_uri bare)" add -p nobody <<<"secret"
desc "and made nothing: init is never implicit"
check test "$(pg_psql bare -At -c "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'authd%'")" = 0
desc "init makes it, with --json"
expect_rc 0 "$PWTOOL" -c "$CONF" -f "$(pg_uri bare)" --json init "$SCHEMA"
json_check 'd == {"ok": True, "command": "init", "from": 0, "version": 1}'
pg_psql bare -c "UPDATE authd_schema SET version = 99"
desc "a schema newer than pwtool's is refused (5)"
expect_rc 5 "$PWTOOL" -c "$CONF" -f "$(pg_uri bare)" init "$SCHEMA"
expect_err 'schema version 99 is newer than this program'
desc "compact is VACUUM (ANALYZE): exit 0"
expect_rc 0 pw compact

# --- a hot standby, and a server that is down --------------------------------
pg_add_standby
STANDBY=$(pg_uri users "$PG_STANDBY_PORT")
expect_rc 0 pw add -p late <<<"secret"
for _ in $(seq 50); do
	"$PWTOOL" -c "$CONF" -f "$STANDBY" check -p late <<<"secret" >/dev/null 2>&1 && break
	sleep 0.1
done
desc "the standby answers reads (a user added on the primary)"
expect_rc 0 "$PWTOOL" -c "$CONF" -f "$STANDBY" check -p late <<<"secret"
desc "a write on the standby is a store error (5), said plainly"
expect_rc 5 "$PWTOOL" -c "$CONF" -f "$STANDBY" add -p nope <<<"secret"
expect_err 'read-only transaction'
pg_stop_primary
desc "the primary down: reads still work from the standby"
expect_rc 0 "$PWTOOL" -c "$CONF" -f "$STANDBY" list
expect_out '^late@example.org$'
desc "the primary down: a check is a store error (5), never a wrong password"
expect_rc 5 pw check -p late <<<"secret"
expect_err 'postgresql store: .*(No such file|Connection refused|connection to server)'
pg_start_primary
desc "the primary back: answers again"
expect_rc 0 pw check -p late <<<"secret"

finish
