# pglib.sh - a private PostgreSQL for tests.  Sourced, not run.
#
#   pg_require          exit 77 (meson: skipped) with the reason when the
#                       server binaries are not installed
#   pg_start            initdb a cluster into a new temporary directory and
#                       start it: UNIX socket in that directory only (no TCP:
#                       listen_addresses = ''), fsync off (a test cluster
#                       need not survive power loss), trust for local users.
#                       Sets PG_DIR, PG_PORT, PG_SUPER (the superuser) and
#                       PG_CONNINFO / pg_uri DB for a database.
#   pg_createdb DB      a new UTF-8 database
#   pg_psql DB ARGS...  psql on it, quiet, stopping at the first error
#   pg_add_standby      a hot standby of the cluster (pg_basebackup -R),
#                       started on its own port: PG_STANDBY_PORT
#   pg_stop_primary / pg_start_primary   for failover tests
#   pg_enable_tls       restart the primary with TLS on 127.0.0.1 too
#                       (a new CA and a server certificate for that
#                       address; hostssl only): PG_CA names the CA file
#   pg_cleanup          stop every server started here, remove the
#                       directory (lib.sh's exit trap calls it; a script
#                       that does not source lib.sh sets its own trap)
#
# PostgreSQL refuses to run as root: as root, the cluster belongs to the
# 'postgres' user the package creates, and the servers run as it; the
# tests (root) reach the socket directory anyway.  As any other user the
# cluster is that user's.
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_DIR=
PG_PORT=
PG_STANDBY_PORT=
PG_SUPER=

pg_require() {
	local b
	for b in initdb pg_ctl postgres pg_basebackup psql; do
		if [ ! -x "$PG_BIN/$b" ] && ! { [ "$b" = psql ] && command -v psql >/dev/null; }; then
			echo "1..0 # SKIP PostgreSQL is not installed ($PG_BIN/$b; Debian: postgresql)"
			FINISHED=1
			exit 77
		fi
	done
	if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
		echo "1..0 # SKIP running as root and there is no 'postgres' user to run the server"
		FINISHED=1
		exit 77
	fi
}

# _pg_as CMD... - run CMD as the cluster's owner.
_pg_as() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# _pg_free_port - a port nobody listens on.  The servers listen on no TCP
# port at all; the number only names their socket (.s.PGSQL.PORT), but a
# free one keeps psql's defaults from ever meeting a system cluster.
_pg_free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# _pg_start_cluster DATADIR PORT - start a server, wait until it answers.
_pg_start_cluster() {
	_pg_as "$PG_BIN/pg_ctl" -D "$1" -l "$1.log" -w -t 30 \
		-o "-p $2 -k $PG_DIR -c listen_addresses=${PG_LISTEN:-} -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
		start >/dev/null || { cat "$1.log" >&2; return 1; }
}

pg_start() {
	pg_require
	PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/authd-pg.XXXXXX")
	chmod 0755 "$PG_DIR"
	[ "$(id -u)" = 0 ] && chown postgres: "$PG_DIR"
	PG_SUPER=$(_pg_as id -un)
	PG_PORT=$(_pg_free_port)
	_pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U "$PG_SUPER" -E UTF8 \
		--locale=C --auth=trust --no-sync >"$PG_DIR/initdb.log" 2>&1 ||
		{ cat "$PG_DIR/initdb.log" >&2; return 1; }
	# A standby needs replication connections over the socket.
	echo "local replication all trust" >>"$PG_DIR/data/pg_hba.conf"
	_pg_start_cluster "$PG_DIR/data" "$PG_PORT"
}

# pg_conninfo DB [PORT] - libpq keywords for DB on the private server.
pg_conninfo() {
	printf 'host=%s port=%s dbname=%s user=%s' "$PG_DIR" "${2:-$PG_PORT}" "$1" "$PG_SUPER"
}

# pg_uri DB [PORT] - the same as a postgresql:// URI (pwtool -f).
pg_uri() {
	printf 'postgresql:///%s?host=%s&port=%s&user=%s' "$1" "$PG_DIR" "${2:-$PG_PORT}" "$PG_SUPER"
}

pg_psql() {
	local db=$1
	shift
	psql -X -q -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$PG_PORT" -U "$PG_SUPER" -d "$db" "$@"
}

pg_createdb() {
	pg_psql postgres -c "CREATE DATABASE \"$1\" ENCODING 'UTF8' TEMPLATE template0"
}

# -c fast: the base backup starts with a checkpoint, by default a spread one
# that takes minutes.
pg_add_standby() {
	PG_STANDBY_PORT=$(_pg_free_port)
	_pg_as "$PG_BIN/pg_basebackup" -h "$PG_DIR" -p "$PG_PORT" -U "$PG_SUPER" \
		-D "$PG_DIR/standby" -R -X stream -c fast --no-sync >/dev/null
	_pg_start_cluster "$PG_DIR/standby" "$PG_STANDBY_PORT"
}

pg_stop_primary() {
	_pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null
}

pg_start_primary() {
	_pg_start_cluster "$PG_DIR/data" "$PG_PORT"
}

pg_enable_tls() {
	local d=$PG_DIR/data
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=authd test CA" \
		-keyout "$PG_DIR/ca.key" -out "$PG_DIR/ca.crt" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
		-keyout "$d/server.key" -out "$PG_DIR/server.csr" 2>/dev/null
	printf 'subjectAltName = IP:127.0.0.1\n' >"$PG_DIR/san.ext"
	openssl x509 -req -in "$PG_DIR/server.csr" -CA "$PG_DIR/ca.crt" \
		-CAkey "$PG_DIR/ca.key" -CAcreateserial -days 2 \
		-extfile "$PG_DIR/san.ext" -out "$d/server.crt" 2>/dev/null
	chmod 0600 "$d/server.key"
	[ "$(id -u)" = 0 ] && chown postgres: "$d/server.key" "$d/server.crt"
	chmod 0644 "$PG_DIR/ca.crt"
	printf 'ssl = on\n' >>"$d/postgresql.conf"
	# TCP only with TLS; the socket stays as it was.
	printf 'hostssl all all 127.0.0.1/32 trust\n' >>"$d/pg_hba.conf"
	pg_stop_primary
	PG_LISTEN=127.0.0.1
	pg_start_primary
	PG_CA=$PG_DIR/ca.crt
}

pg_cleanup() {
	[ -n "$PG_DIR" ] && [ -d "$PG_DIR" ] || return 0
	local d
	for d in "$PG_DIR/standby" "$PG_DIR/data"; do
		[ -f "$d/postmaster.pid" ] &&
			_pg_as "$PG_BIN/pg_ctl" -D "$d" -m immediate -w stop >/dev/null 2>&1
	done
	rm -rf "$PG_DIR"
	PG_DIR=
}
