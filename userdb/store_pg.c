/*
 * store_pg - the credential store in PostgreSQL.  See store_pg.h for the
 * model and sql/schema.sql for the tables.  Untrusted input: the server's
 * answers (records go through record.c; lengths are checked here).
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <openssl/rand.h>

#include "buf.h"
#include "digest.h"
#include "name.h"
#include "password.h"
#include "scram_iters.h"
#include "secret.h"
#include "store_pg.h"
#include "utf8.h"
#include "xalloc.h"

/* Every statement, prepared once per connection (at its first use).  $1 is always the key
 * where there is one; keys and records travel as parameters, never as
 * SQL text. */
static const struct {
	const char *name, *sql;
	int nparams;
} statements[] = {
#define ST_GET		0
	{ "authd_get", "SELECT record FROM authd_users WHERE key = $1", 1 },
	/* The old record comes back for the SCRAM histogram (the CTE reads
	 * the state before the statement). */
#define ST_PUT		1
	{ "authd_put", "WITH old AS (SELECT record FROM authd_users "
	  "WHERE key = $1) INSERT INTO authd_users (key, record) "
	  "VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET record = "
	  "EXCLUDED.record RETURNING (SELECT record FROM old)", 2 },
#define ST_DELETE	2
	{ "authd_delete", "DELETE FROM authd_users WHERE key = $1 "
	  "RETURNING record", 1 },
#define ST_KEYS		3
	{ "authd_keys", "SELECT key FROM authd_users ORDER BY key", 0 },
#define ST_STORE	4
	{ "authd_store", "SELECT secret, scram_iters FROM authd_store "
	  "WHERE id = 1", 0 },
	/* The writers' turn (the GDBM store's flock). */
#define ST_LOCK		5
	{ "authd_lock", "SELECT secret, scram_iters FROM authd_store "
	  "WHERE id = 1 FOR UPDATE", 0 },
#define ST_SET_STORE	6
	{ "authd_set_store", "UPDATE authd_store SET secret = "
	  "COALESCE(secret, $1), scram_iters = $2, changes = changes + 1 "
	  "WHERE id = 1", 2 },
#define ST_RECORDS	7
	{ "authd_records", "SELECT record FROM authd_users", 0 },
#define ST_LOCK_TIMEOUT	8
	{ "authd_lock_timeout", "SELECT set_config('lock_timeout', $1, false)",
	  1 },
	/* authd's lookup: the record and the change counter in one round
	 * trip, so that a reader learns of a change (a new secret, a new
	 * SCRAM histogram) without asking for it on every check. */
#define ST_GET_COUNTED	9
	{ "authd_get_counted", "SELECT s.changes, u.record FROM authd_store s "
	  "LEFT JOIN authd_users u ON u.key = $1 WHERE s.id = 1", 1 },
#define ST_STORE_CHANGES	10
	{ "authd_store_changes", "SELECT changes FROM authd_store WHERE id = 1",
	  0 },
};

struct store_pg {
	char *conninfo;
	PGconn *conn;
	/* statements prepared on conn, by bit: each is prepared at its first
	 * use, so that a one-shot pwtool pays for the one or two it runs */
	unsigned int prepared;
	long long lock_timeout_ms;	/* set on conn; -1 not yet */
	bool snapshot;		/* a REPEATABLE READ transaction is open */
	bool pinned;
	bool in_txn;		/* a writer's transaction is open */
	/* the writer's SCRAM histogram, kept up to date by put and delete;
	 * when the store had none, commit counts every record instead */
	struct scram_iters iters;
	bool iters_known;
	bool has_secret;
	/* store_pg_daemon: a failed connection is not tried again before
	 * retry_at (milliseconds, CLOCK_MONOTONIC), the wait doubling from
	 * BACKOFF_MIN_MS to BACKOFF_MAX_MS; the last failure is kept for
	 * the answers given meanwhile. */
	bool daemon;
	unsigned int backoff_ms;
	uint64_t retry_at;
	char last_err[256];
	unsigned long connects;	/* connections made, for store_pg_server */
	/* store_pg_set_query: the site's own statement instead of the
	 * authd schema (read-only) */
	char *query;
	struct userdb_name_rules rules;
	bool query_prepared;
};

/* A server that is back is used again within BACKOFF_MAX_MS: the issue's
 * "correct within a second of the server's return", with room for the
 * check that then runs. */
#define BACKOFF_MIN_MS	25
#define BACKOFF_MAX_MS	400

/* As in userdb.c: one thread-local message, valid until the next error
 * on the thread, so that a caller may free the handle and still print
 * it. */
static _Thread_local char pg_msg[512];

static const char *
set_err(const char *what, const char *detail)
{
	char tmp[sizeof(pg_msg)];
	size_t n;

	(void)snprintf(tmp, sizeof(tmp), "%s: %s", what, detail);
	/* libpq's messages end in a newline, sometimes several lines */
	n = strlen(tmp);
	while (n > 0 && (tmp[n - 1] == '\n' || tmp[n - 1] == ' '))
		tmp[--n] = '\0';
	for (char *p = tmp; *p != '\0'; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	memcpy(pg_msg, tmp, sizeof(tmp));
	return pg_msg;
}

/* res_err - the message of a failed result, in words an admin can act
 * on for the cases pwtool meets (no schema, another writer). */
static const char *
res_err(const PGresult *res, PGconn *conn)
{
	const char *state = res != NULL ?
		PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (state != NULL && strcmp(state, "42P01") == 0)
		return set_err("postgresql store", "the database has no authd "
			       "schema (create it with: pwtool init)");
	if (state != NULL && strcmp(state, "55P03") == 0)
		return set_err("postgresql store", "locked by another writer "
			       "(timed out)");
	return set_err("postgresql store", res != NULL &&
		       PQresultErrorMessage(res)[0] != '\0' ?
		       PQresultErrorMessage(res) : PQerrorMessage(conn));
}

struct store_pg *
store_pg_new(const char *conninfo)
{
	struct store_pg *pg = xcalloc(1, sizeof(*pg));

	pg->conninfo = xstrdup(conninfo);
	pg->lock_timeout_ms = -1;
	return pg;
}

static void
disconnect(struct store_pg *pg)
{
	if (pg->conn != NULL)
		PQfinish(pg->conn);
	pg->conn = NULL;
	pg->prepared = 0;
	pg->query_prepared = false;
	pg->lock_timeout_ms = -1;
	pg->snapshot = pg->in_txn = false;
}

void
store_pg_free(struct store_pg *pg)
{
	if (pg == NULL)
		return;
	disconnect(pg);		/* an open transaction is rolled back */
	secret_free_str(pg->conninfo);	/* may hold a password */
	free(pg->query);
	free(pg);
}

/* notice_drop - the server's NOTICEs (IF EXISTS skipped...) are not
 * for pwtool's user; errors come back with their results. */
static void
notice_drop(void *ctx, const char *msg)
{
	(void)ctx;
	(void)msg;
}

static uint64_t
now_ms(void)
{
	return userdb_verify_clock_us() / 1000;
}

/* connect_pg - a connection; a broken one is dropped and made again
 * (outside a transaction: inside one, the transaction is lost and the
 * caller fails).  A daemon's handle waits out its back-off first. */
static bool
connect_pg(struct store_pg *pg, const char **error_r)
{
	/* The connection string's own settings win over these fallbacks
	 * (they come before it).  A daemon gives up on a host that does not
	 * answer after 2 s (libpq's default is to wait for ever): the check
	 * in hand is answered with a temporary failure anyway.  Over TCP, a
	 * server that vanished without a word (a partition, a dead host) is
	 * noticed within seconds, not the kernel's two hours, so a pool
	 * thread does not stay stuck on it. */
	const char *keys[] = { "fallback_application_name", "connect_timeout",
			       "keepalives_idle", "keepalives_interval",
			       "keepalives_count", "tcp_user_timeout",
			       "dbname", NULL };
	const char *values[] = { "authd", "2", "10", "3", "3", "10000",
				 pg->conninfo, NULL };
	if (pg->conn != NULL && PQstatus(pg->conn) == CONNECTION_OK)
		return true;
	disconnect(pg);
	if (pg->daemon && pg->backoff_ms > 0 && now_ms() < pg->retry_at) {
		*error_r = set_err("postgresql store", pg->last_err);
		return false;
	}
	if (!pg->daemon) {
		keys[1] = "dbname";
		values[1] = pg->conninfo;
		keys[2] = NULL;
	}
	pg->conn = PQconnectdbParams(keys, values, 1);
	if (pg->conn == NULL) {
		*error_r = set_err("postgresql store", "out of memory");
		return false;
	}
	if (PQstatus(pg->conn) != CONNECTION_OK) {
		*error_r = set_err("postgresql store", PQerrorMessage(pg->conn));
		(void)snprintf(pg->last_err, sizeof(pg->last_err), "%s",
			       *error_r + strlen("postgresql store: "));
		pg->backoff_ms = pg->backoff_ms == 0 ? BACKOFF_MIN_MS :
				 pg->backoff_ms * 2 > BACKOFF_MAX_MS ?
				 BACKOFF_MAX_MS : pg->backoff_ms * 2;
		pg->retry_at = now_ms() + pg->backoff_ms;
		disconnect(pg);
		return false;
	}
	pg->backoff_ms = 0;
	pg->connects++;
	PQsetNoticeProcessor(pg->conn, notice_drop, NULL);
	return true;
}

/* prepare - statement st on the connection, once. */
static bool
prepare(struct store_pg *pg, int st, const char **error_r)
{
	PGresult *res;
	bool ok;

	if (pg->prepared & (1u << st))
		return true;
	res = PQprepare(pg->conn, statements[st].name, statements[st].sql,
			statements[st].nparams, NULL);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		*error_r = res_err(res, pg->conn);
	PQclear(res);
	if (ok)
		pg->prepared |= 1u << st;
	return ok;
}

/* simple - a statement without parameters (BEGIN, COMMIT...). */
static bool
simple(struct store_pg *pg, const char *sql, const char **error_r)
{
	PGresult *res = PQexec(pg->conn, sql);
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;

	if (!ok)
		*error_r = res_err(res, pg->conn);
	PQclear(res);
	return ok;
}

/* run - execute prepared statement st with text parameters (the key) and
 * at most one binary one (a record, the secret, the histogram), results
 * in binary.  NULL with *error_r on failure. */
static PGresult *
run(struct store_pg *pg, int st, const char *const *params,
    const int *lengths, const int *formats, const char **error_r)
{
	PGresult *res;
	ExecStatusType s;

	if (!prepare(pg, st, error_r))
		return NULL;
	res = PQexecPrepared(pg->conn, statements[st].name,
			     statements[st].nparams, params, lengths, formats, 1);
	s = PQresultStatus(res);

	if (s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK)
		return res;
	*error_r = res_err(res, pg->conn);
	PQclear(res);
	return NULL;
}

/* key_ok - whether key can be a stored key at all.  The server refuses
 * bytes that are not UTF-8 with an error; a lookup of such a name is "no
 * such user", not a temporary failure. */
static bool
key_ok(const char *key, size_t key_len)
{
	return key_len > 0 && key_len <= USERDB_KEY_MAX &&
	       memchr(key, '\0', key_len) == NULL &&
	       utf8_valid((const unsigned char *)key, key_len);
}

/* decode - a record's bytes into rec with its fingerprint (userdb.c's
 * decode, which the GDBM store applies to the same bytes). */
static int
decode(const char *val, size_t len, struct userdb_record *rec,
       const char **error_r)
{
	const char *why = userdb_record_decode_fp(val, len, rec);

	if (why != NULL) {
		*error_r = set_err("damaged record", why);
		return -1;
	}
	return 1;
}

/* end_snapshot - a reader that is not pinned reads the store as it is
 * now, not as a listing saw it. */
static void
end_snapshot(struct store_pg *pg)
{
	const char *why;

	if (pg->snapshot && !pg->pinned) {
		pg->snapshot = false;
		if (!simple(pg, "COMMIT", &why))
			disconnect(pg);
	}
}

/* fetch - key's record in the connection's current state: 1 with rec
 * filled, 0 absent, -1 error. */
static int
fetch(struct store_pg *pg, const char *key, size_t key_len,
      struct userdb_record *rec, const char **error_r)
{
	char k[USERDB_KEY_MAX + 1];
	const char *params[1] = { k };
	PGresult *res;
	int r;

	if (!key_ok(key, key_len))
		return 0;
	memcpy(k, key, key_len);
	k[key_len] = '\0';
	if ((res = run(pg, ST_GET, params, NULL, NULL, error_r)) == NULL)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return 0;
	}
	r = decode(PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0), rec,
		   error_r);
	secret_wipe(PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
	PQclear(res);
	return r;
}

int
store_pg_lookup(struct store_pg *pg, const char *key, size_t key_len,
		struct userdb_record *rec, const char **error_r)
{
	userdb_record_init(rec);
	if (!connect_pg(pg, error_r))
		return -1;
	end_snapshot(pg);
	return fetch(pg, key, key_len, rec, error_r);
}

void
store_pg_daemon(struct store_pg *pg)
{
	pg->daemon = true;
}

void
store_pg_set_query(struct store_pg *pg, const char *sql,
		   const struct userdb_name_rules *rules)
{
	free(pg->query);
	pg->query = xstrdup(sql);
	pg->rules = *rules;
}

/* site_record - a row of the site's query as a record: its password
 * column (record.c, userdb_column_parse) and its disabled column, if it
 * has one. */
static int
site_record(struct store_pg *pg, const char *key, const PGresult *res,
	    struct userdb_record *rec, const char **error_r)
{
	int pcol = PQfnumber(res, "password"), dcol = PQfnumber(res, "disabled");
	bool disabled = false;
	const char *why;

	if (pcol < 0) {
		*error_r = set_err("store_pg_password_query", "the query "
				   "returns no column named password");
		return -1;
	}
	if (PQgetisnull(res, 0, pcol)) {
		*error_r = set_err("store_pg_password_query", "the password "
				   "column is NULL");
		return -1;
	}
	if (dcol >= 0 && !PQgetisnull(res, 0, dcol)) {
		const char *d = PQgetvalue(res, 0, dcol);

		/* boolean (t/f), or any integer (0 is no) */
		disabled = strcmp(d, "t") == 0 || strcmp(d, "true") == 0 ||
			   (d[0] >= '1' && d[0] <= '9');
	}
	why = userdb_column_parse(key, PQgetvalue(res, 0, pcol),
				  (size_t)PQgetlength(res, 0, pcol), disabled,
				  &pg->rules, rec);
	if (why != NULL) {
		*error_r = set_err("store_pg_password_query: the password "
				   "column", why);
		return -1;
	}
	return 1;
}

/* site_lookup - one try of the site's query: $1 the whole name, $2 its
 * local part, $3 its realm, $4 the service, all text parameters. */
static int
site_lookup(struct store_pg *pg, const char *k, const char *service,
	    struct userdb_record *rec, const char **error_r)
{
	/* Typed, so that a query may leave any of them out. */
	static const Oid types[4] = { 25, 25, 25, 25 };
	char local[USERDB_KEY_MAX + 1];
	const char *at = strrchr(k, '@');
	const char *params[4] = { k, local, at != NULL ? at + 1 : "",
				  service != NULL ? service : "" };
	PGresult *res;
	int r;

	(void)snprintf(local, sizeof(local), "%.*s",
		       (int)(at != NULL ? (size_t)(at - k) : strlen(k)), k);
	if (!pg->query_prepared) {
		res = PQprepare(pg->conn, "authd_password_query", pg->query, 4,
				types);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			*error_r = res_err(res, pg->conn);
			PQclear(res);
			return -1;
		}
		PQclear(res);
		pg->query_prepared = true;
	}
	res = PQexecPrepared(pg->conn, "authd_password_query", 4, params, NULL,
			     NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		*error_r = res_err(res, pg->conn);
		PQclear(res);
		return -1;
	}
	if (PQntuples(res) == 0) {
		r = 0;
	} else if (PQntuples(res) > 1) {
		/* Which row would be the user's?  Not a guess: an error the
		 * admin sees. */
		*error_r = set_err("store_pg_password_query", "more than one "
				   "row for one user");
		r = -1;
	} else {
		r = site_record(pg, k, res, rec, error_r);
	}
	for (int i = 0; i < PQntuples(res); i++)
		for (int j = 0; j < PQnfields(res); j++)
			secret_wipe(PQgetvalue(res, i, j),
				    (size_t)PQgetlength(res, i, j));
	PQclear(res);
	return r;
}

/* changes_of - the change counter in the first column of res's one row
 * (a binary bigint).  False with *error_r (res cleared) when there is no
 * such row. */
static bool
changes_of(PGresult *res, long long *changes_r, const char **error_r)
{
	const unsigned char *c;
	uint64_t v = 0;
	int i;

	if (PQntuples(res) != 1 || PQgetlength(res, 0, 0) != 8) {
		PQclear(res);
		*error_r = set_err("postgresql store", "authd_store has no row "
				   "(recreate the schema with: pwtool init)");
		return false;
	}
	c = (const unsigned char *)PQgetvalue(res, 0, 0);
	for (i = 0; i < 8; i++)
		v = v << 8 | c[i];
	*changes_r = (long long)v;
	return true;
}

/* counted - one try of authd's lookup on the connection there is. */
static int
counted(struct store_pg *pg, const char *k, struct userdb_record *rec,
	long long *changes_r, const char **error_r)
{
	const char *params[1] = { k };
	PGresult *res;
	int r = 0;

	if ((res = run(pg, ST_GET_COUNTED, params, NULL, NULL,
		       error_r)) == NULL || !changes_of(res, changes_r, error_r))
		return -1;
	if (!PQgetisnull(res, 0, 1)) {
		r = decode(PQgetvalue(res, 0, 1),
			   (size_t)PQgetlength(res, 0, 1), rec, error_r);
		secret_wipe(PQgetvalue(res, 0, 1),
			    (size_t)PQgetlength(res, 0, 1));
	}
	PQclear(res);
	return r;
}

int
store_pg_lookup_counted(struct store_pg *pg, const char *key,
			size_t key_len, const char *service,
			struct userdb_record *rec, long long *changes_r,
			const char **error_r)
{
	char k[USERDB_KEY_MAX + 1];
	bool was_up;
	int r;

	userdb_record_init(rec);
	*changes_r = -1;
	/* A name no row can have is still asked for (with an empty key), so
	 * that it costs the round trip a real one does. */
	if (key_ok(key, key_len)) {
		memcpy(k, key, key_len);
		k[key_len] = '\0';
	} else {
		k[0] = '\0';
	}
	was_up = pg->conn != NULL && PQstatus(pg->conn) == CONNECTION_OK;
	if (!connect_pg(pg, error_r))
		return -1;
	end_snapshot(pg);
	if (pg->query != NULL) {
		/* No change counter in a site's tables: the row is read for
		 * every check anyway. */
		*changes_r = 0;
		r = site_lookup(pg, k, service, rec, error_r);
	} else {
		r = counted(pg, k, rec, changes_r, error_r);
	}
	/* A connection the server dropped (a restart, a fail-over, an idle
	 * timeout) is made again at once, once: the first check after the
	 * server's return must not fail for a connection of before. */
	if (r < 0 && was_up && PQstatus(pg->conn) != CONNECTION_OK) {
		disconnect(pg);
		if (!connect_pg(pg, error_r))
			return -1;
		r = pg->query != NULL ?
		    site_lookup(pg, k, service, rec, error_r) :
		    counted(pg, k, rec, changes_r, error_r);
	}
	return r;
}

bool
store_pg_listen(struct store_pg *pg, long long *changes_r,
		const char **error_r)
{
	PGresult *res;

	if (!connect_pg(pg, error_r) || !simple(pg, "LISTEN authd_store", error_r))
		return false;
	/* After the LISTEN: a commit between the two is both notified and
	 * counted, never missed. */
	if ((res = run(pg, ST_STORE_CHANGES, NULL, NULL, NULL, error_r)) == NULL ||
	    !changes_of(res, changes_r, error_r))
		return false;
	PQclear(res);
	return true;
}

int
store_pg_wait_notify(struct store_pg *pg, int timeout_ms, long long *changes_r)
{
	struct pollfd pfd;
	PGnotify *n;
	int got = 0;

	if (pg->conn == NULL || PQstatus(pg->conn) != CONNECTION_OK)
		return -1;
	pfd.fd = PQsocket(pg->conn);
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (pfd.fd < 0 || (poll(&pfd, 1, timeout_ms) < 0 && errno != EINTR))
		return -1;
	if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) &&
	    (!PQconsumeInput(pg->conn) ||
	     PQstatus(pg->conn) != CONNECTION_OK))
		return -1;
	*changes_r = -1;
	while ((n = PQnotifies(pg->conn)) != NULL) {
		char *end;
		long long v;

		errno = 0;
		v = strtoll(n->extra, &end, 10);
		/* The counter, or "users" for a change by hand in SQL. */
		if (errno == 0 && end != n->extra && *end == '\0' && v >= 0 &&
		    v > *changes_r)
			*changes_r = v;
		got = 1;
		PQfreemem(n);
	}
	return got;
}

int
store_pg_socket(struct store_pg *pg)
{
	return pg->conn != NULL && PQstatus(pg->conn) == CONNECTION_OK ?
	       PQsocket(pg->conn) : -1;
}

unsigned long
store_pg_server(struct store_pg *pg, char *buf, size_t size)
{
	const char *host, *port, *standby;

	if (pg->conn == NULL || PQstatus(pg->conn) != CONNECTION_OK) {
		(void)snprintf(buf, size, "-");
		return pg->connects;
	}
	host = PQhost(pg->conn);
	port = PQport(pg->conn);
	standby = PQparameterStatus(pg->conn, "in_hot_standby");
	(void)snprintf(buf, size, "%s:%s%s", host != NULL ? host : "?",
		       port != NULL ? port : "?",
		       standby != NULL && strcmp(standby, "on") == 0 ?
		       " (standby)" : "");
	return pg->connects;
}

void
store_pg_pin(struct store_pg *pg, bool on)
{
	pg->pinned = on;
	if (!on && pg->conn != NULL)
		end_snapshot(pg);
}

/* store_row - authd_store's secret and histogram (binary; NULL columns
 * have length 0 and PQgetisnull).  NULL with *error_r on failure. */
static PGresult *
store_row(struct store_pg *pg, int st, const char **error_r)
{
	PGresult *res = run(pg, st, NULL, NULL, NULL, error_r);

	if (res != NULL && PQntuples(res) != 1) {
		PQclear(res);
		*error_r = set_err("postgresql store", "authd_store has no row "
				   "(recreate the schema with: pwtool init)");
		return NULL;
	}
	return res;
}

bool
store_pg_secret(struct store_pg *pg, unsigned char out[USERDB_SECRET_LEN])
{
	const char *why;
	PGresult *res;
	bool ok;

	if (pg->query != NULL)
		return false;	/* a site's tables keep no secret */
	if (!connect_pg(pg, &why))
		return false;
	end_snapshot(pg);
	if ((res = store_row(pg, ST_STORE, &why)) == NULL)
		return false;
	ok = !PQgetisnull(res, 0, 0) &&
	     PQgetlength(res, 0, 0) == USERDB_SECRET_LEN;
	if (ok)
		memcpy(out, PQgetvalue(res, 0, 0), USERDB_SECRET_LEN);
	secret_wipe(PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
	PQclear(res);
	return ok;
}

bool
store_pg_scram_iters(struct store_pg *pg, struct scram_iters *out)
{
	const char *why;
	PGresult *res;

	if (pg->query != NULL) {
		scram_iters_init(out);	/* nor a histogram */
		return true;
	}
	if (!connect_pg(pg, &why))
		return false;
	end_snapshot(pg);
	if ((res = store_row(pg, ST_STORE, &why)) == NULL)
		return false;
	/* None yet decodes as empty, as on the GDBM store. */
	scram_iters_init(out);
	if (!PQgetisnull(res, 0, 1))
		(void)scram_iters_decode(PQgetvalue(res, 0, 1),
					 (size_t)PQgetlength(res, 0, 1), out);
	PQclear(res);
	return true;
}

bool
store_pg_keys(struct store_pg *pg, char ***keys_r, size_t *n_r,
	      const char **error_r)
{
	PGresult *res;
	size_t i, n;
	char **keys;

	if (!connect_pg(pg, error_r))
		return false;
	/* The listing and the lookups a pin keeps after it: one state. */
	end_snapshot(pg);
	if (!pg->in_txn && !pg->snapshot) {
		if (!simple(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
			    error_r))
			return false;
		pg->snapshot = true;
	}
	if ((res = run(pg, ST_KEYS, NULL, NULL, NULL, error_r)) == NULL)
		return false;
	n = (size_t)PQntuples(res);
	keys = xreallocarray(NULL, n + 1, sizeof(char *));
	for (i = 0; i < n; i++)
		keys[i] = xstrndup(PQgetvalue(res, (int)i, 0),
				   (size_t)PQgetlength(res, (int)i, 0));
	PQclear(res);
	*keys_r = keys;
	*n_r = n;
	return true;
}

/* --- writers ------------------------------------------------------------- */

bool
store_pg_begin(struct store_pg *pg, unsigned int lock_timeout,
	       const char **error_r)
{
	long long want = lock_timeout == 0 ? 1 : (long long)lock_timeout * 1000;
	char ms[32];
	const char *params[1] = { ms };
	PGresult *res;

	if (pg->in_txn) {
		*error_r = set_err("postgresql store", "a transaction is "
				   "already open");
		return false;
	}
	if (!connect_pg(pg, error_r))
		return false;
	pg->pinned = false;
	end_snapshot(pg);
	/* For the connection's life, not per transaction: one round trip
	 * less per commit.  lock_timeout 0 waits for ever in PostgreSQL;
	 * here 0 is one try. */
	if (pg->lock_timeout_ms != want) {
		(void)snprintf(ms, sizeof(ms), "%lldms", want);
		if ((res = run(pg, ST_LOCK_TIMEOUT, params, NULL, NULL,
			       error_r)) == NULL)
			return false;
		PQclear(res);
		pg->lock_timeout_ms = want;
	}
	if (!simple(pg, "BEGIN", error_r))
		return false;
	pg->in_txn = true;
	if ((res = store_row(pg, ST_LOCK, error_r)) == NULL)
		goto fail;
	pg->has_secret = !PQgetisnull(res, 0, 0);
	/* The histogram the batch starts from: a store with no commit yet
	 * has an empty one; one without (written by hand) or with a damaged
	 * one is counted in full at commit. */
	scram_iters_init(&pg->iters);
	pg->iters_known = !pg->has_secret;
	if (!PQgetisnull(res, 0, 1))
		pg->iters_known = scram_iters_decode(PQgetvalue(res, 0, 1),
						     (size_t)PQgetlength(res, 0, 1),
						     &pg->iters) == NULL;
	secret_wipe(PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
	PQclear(res);
	return true;
fail:
	store_pg_abort(pg);
	return false;
}

int
store_pg_txn_get(struct store_pg *pg, const char *key,
		 struct userdb_record *rec, const char **error_r)
{
	userdb_record_init(rec);
	return fetch(pg, key, strlen(key), rec, error_r);
}

int
store_pg_txn_exists(struct store_pg *pg, const char *key)
{
	struct userdb_record rec;
	const char *why;
	int r = store_pg_txn_get(pg, key, &rec, &why);

	userdb_record_clear(&rec);
	return r > 0;
}

/* iters_adjust - the old record (if any) leaves the histogram and the new
 * one (if any) enters it; records that do not decode count nowhere. */
static void
iters_adjust(struct store_pg *pg, const char *old, size_t old_len,
	     const char *value, size_t len)
{
	struct userdb_record rec;

	if (!pg->iters_known)
		return;
	if (old != NULL) {
		userdb_record_init(&rec);
		if (userdb_record_decode(old, old_len, &rec) == NULL &&
		    !scram_iters_uncount(&pg->iters, &rec))
			pg->iters_known = false;
		userdb_record_clear(&rec);
	}
	if (value != NULL) {
		userdb_record_init(&rec);
		if (userdb_record_decode(value, len, &rec) == NULL)
			scram_iters_count(&pg->iters, &rec);
		userdb_record_clear(&rec);
	}
}

bool
store_pg_txn_put_raw(struct store_pg *pg, const char *key, const char *value,
		     size_t len, const char **error_r)
{
	const char *params[2] = { key, value };
	int lengths[2] = { 0, (int)len }, formats[2] = { 0, 1 };
	PGresult *res;
	bool had;

	/* Users only: the secret and the histogram are authd_store's. */
	if (!key_ok(key, strlen(key)) || strchr(key, '@') == NULL ||
	    len > 1u << 20) {
		*error_r = set_err("store write", "not a user key, or record "
				   "too long");
		return false;
	}
	if ((res = run(pg, ST_PUT, params, lengths, formats, error_r)) == NULL)
		return false;
	had = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0);
	iters_adjust(pg, had ? PQgetvalue(res, 0, 0) : NULL,
		     had ? (size_t)PQgetlength(res, 0, 0) : 0, value, len);
	if (had)
		secret_wipe(PQgetvalue(res, 0, 0),
			    (size_t)PQgetlength(res, 0, 0));
	PQclear(res);
	return true;
}

int
store_pg_txn_delete(struct store_pg *pg, const char *key,
		    const char **error_r)
{
	const char *params[1] = { key };
	PGresult *res;
	int r;

	if (!key_ok(key, strlen(key)))
		return 0;
	if ((res = run(pg, ST_DELETE, params, NULL, NULL, error_r)) == NULL)
		return -1;
	r = PQntuples(res) > 0;
	if (r) {
		iters_adjust(pg, PQgetvalue(res, 0, 0),
			     (size_t)PQgetlength(res, 0, 0), NULL, 0);
		secret_wipe(PQgetvalue(res, 0, 0),
			    (size_t)PQgetlength(res, 0, 0));
	}
	PQclear(res);
	return r;
}

/* count_all - the histogram of every record, when the store had none. */
static bool
count_all(struct store_pg *pg, const char **error_r)
{
	PGresult *res = run(pg, ST_RECORDS, NULL, NULL, NULL, error_r);
	int i;

	if (res == NULL)
		return false;
	scram_iters_init(&pg->iters);
	pg->iters_known = true;
	for (i = 0; i < PQntuples(res); i++) {
		iters_adjust(pg, NULL, 0, PQgetvalue(res, i, 0),
			     (size_t)PQgetlength(res, i, 0));
		secret_wipe(PQgetvalue(res, i, 0),
			    (size_t)PQgetlength(res, i, 0));
	}
	PQclear(res);
	return true;
}

bool
store_pg_commit(struct store_pg *pg, const char **error_r)
{
	unsigned char secret[USERDB_SECRET_LEN];
	const char *params[2];
	int lengths[2], formats[2] = { 1, 1 };
	struct buf b;
	PGresult *res;
	bool ok = false;

	if (!pg->in_txn) {
		*error_r = set_err("postgresql store", "no transaction");
		return false;
	}
	buf_init(&b);
	if (!pg->iters_known && !count_all(pg, error_r))
		goto out;
	/* Every committed store has its secret (userdb.h); COALESCE keeps
	 * the one it has. */
	if (!pg->has_secret && RAND_bytes(secret, sizeof(secret)) != 1) {
		*error_r = set_err("store secret", "no random bytes");
		goto out;
	}
	scram_iters_encode(&pg->iters, &b);
	if (!buf_ok(&b)) {
		*error_r = set_err("store write", "out of memory");
		goto out;
	}
	params[0] = pg->has_secret ? NULL : (const char *)secret;
	lengths[0] = pg->has_secret ? 0 : (int)sizeof(secret);
	params[1] = b.data;
	lengths[1] = (int)b.len;
	if ((res = run(pg, ST_SET_STORE, params, lengths, formats, error_r)) ==
	    NULL)
		goto out;
	PQclear(res);
	ok = simple(pg, "COMMIT", error_r);
	pg->in_txn = false;
out:
	secret_wipe(secret, sizeof(secret));
	buf_free(&b);
	if (!ok)
		store_pg_abort(pg);
	return ok;
}

void
store_pg_abort(struct store_pg *pg)
{
	const char *why;

	if (pg->in_txn && pg->conn != NULL && !simple(pg, "ROLLBACK", &why))
		disconnect(pg);
	pg->in_txn = false;
}

int
store_pg_missing(struct store_pg *pg)
{
	const char *why;
	PGresult *res;
	int r;

	if (!connect_pg(pg, &why))
		return -1;
	end_snapshot(pg);
	if ((res = store_row(pg, ST_STORE, &why)) == NULL)
		return -1;
	r = PQgetisnull(res, 0, 0) ? 1 : 0;
	secret_wipe(PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
	PQclear(res);
	return r;
}

bool
store_pg_vacuum(struct store_pg *pg, const char **error_r)
{
	if (!connect_pg(pg, error_r))
		return false;
	end_snapshot(pg);
	return simple(pg, "VACUUM (ANALYZE) authd_users, authd_store", error_r);
}

/* schema_version - the version the database has: 0 none, -1 error.
 * Inside the init transaction: asking a table that does not exist would
 * abort it, so ask the catalogue first. */
static int
schema_version(struct store_pg *pg, const char **error_r)
{
	PGresult *res = PQexec(pg->conn, "SELECT CASE WHEN "
			       "to_regclass('authd_schema') IS NULL THEN 0 "
			       "ELSE 1 END");
	int v = -1;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
	    strcmp(PQgetvalue(res, 0, 0), "0") == 0)
		v = 0;
	else if (PQresultStatus(res) == PGRES_TUPLES_OK) {
		PQclear(res);
		res = PQexec(pg->conn, "SELECT coalesce(max(version), 0) "
			     "FROM authd_schema");
		if (PQresultStatus(res) == PGRES_TUPLES_OK &&
		    PQntuples(res) == 1)
			v = atoi(PQgetvalue(res, 0, 0));
	}
	if (v < 0)
		*error_r = res_err(res, pg->conn);
	PQclear(res);
	return v;
}

bool
store_pg_init(struct store_pg *pg, const char *sql, int *from_r,
	      const char **error_r)
{
	PGresult *res;
	int v;
	bool ok;

	*from_r = 0;
	if (!connect_pg(pg, error_r))
		return false;
	if (!simple(pg, "BEGIN", error_r))
		goto fail;
	/* Two pwtool init at once: the second waits, then finds it made. */
	res = PQexec(pg->conn, "SELECT pg_advisory_xact_lock(1635021924)");
	ok = PQresultStatus(res) == PGRES_TUPLES_OK;
	if (!ok)
		*error_r = res_err(res, pg->conn);
	PQclear(res);
	if (!ok || (v = schema_version(pg, error_r)) < 0)
		goto fail;
	*from_r = v;
	if (v > STORE_PG_SCHEMA_VERSION) {
		char detail[160];

		(void)snprintf(detail, sizeof(detail), "the database's schema "
			       "version %d is newer than this program's (%d)",
			       v, STORE_PG_SCHEMA_VERSION);
		*error_r = set_err("postgresql store", detail);
		goto fail;
	}
	if (v < STORE_PG_SCHEMA_VERSION) {
		res = PQexec(pg->conn, sql);
		ok = PQresultStatus(res) == PGRES_COMMAND_OK ||
		     PQresultStatus(res) == PGRES_TUPLES_OK;
		if (!ok)
			*error_r = res_err(res, pg->conn);
		PQclear(res);
		if (!ok)
			goto fail;
		if ((v = schema_version(pg, error_r)) < 0)
			goto fail;
		if (v != STORE_PG_SCHEMA_VERSION) {
			*error_r = set_err("schema file", "it does not make the "
					   "schema version this program "
					   "reads (a schema.sql of another "
					   "release?)");
			goto fail;
		}
	}
	if (!simple(pg, "COMMIT", error_r))
		goto fail;
	disconnect(pg);		/* prepare afresh on the new tables */
	return true;
fail:
	disconnect(pg);
	return false;
}
