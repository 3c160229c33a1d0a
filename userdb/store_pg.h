/*
 * store_pg - the credential store in PostgreSQL (store = postgresql):
 * the userdb API of userdb.h over libpq, on the tables of sql/schema.sql.
 * userdb.c dispatches to it when a reader or writer is given a connection
 * string (userdb_file_params.pg_conninfo); nothing else calls it.
 *
 * Same records, same answers: a row of authd_users holds the bytes
 * record.c encodes for the key name.c makes, so lookups, listings,
 * exports and verifiers are byte for byte those of the GDBM store.
 * A writer's transaction is one SQL transaction that first locks the one
 * row of authd_store (FOR UPDATE, waiting at most store_lock_timeout), so
 * writers take turns as on the GDBM store's flock: "exists" checks, the
 * SCRAM histogram and the secret stay right with concurrent writers.
 * Every statement is prepared, with the key and the record as parameters;
 * nothing is ever interpolated into SQL.
 *
 * Blocking: every call waits for the server.  pwtool may; authd calls
 * it only from its store pool's threads (authd/storepool.h), one handle
 * each.
 *
 * Untrusted input: what the server sends back (records are decoded by
 * record.c, which checks every byte; the secret and histogram are
 * checked for length and decoded by scram_iters.c).
 */
#ifndef AUTHD_USERDB_STORE_PG_H
#define AUTHD_USERDB_STORE_PG_H

#include <stdbool.h>
#include <stddef.h>

#include "record.h"
#include "userdb.h"

/* The schema version this program reads and writes (sql/schema.sql). */
#define STORE_PG_SCHEMA_VERSION	1

struct store_pg;
struct scram_iters;

/* store_pg_new - a handle on the database conninfo names (a libpq
 * connection string or URI, copied); it connects at first use, and again
 * after the connection broke. */
struct store_pg *store_pg_new(const char *conninfo);
void store_pg_free(struct store_pg *pg);

/* Readers: as userdb_lookup, userdb_pin, userdb_secret,
 * userdb_scram_iters and userdb_keys.  userdb_keys starts a snapshot
 * (REPEATABLE READ) that a pin keeps for the lookups that follow, so a
 * listing or an export is one state of the store. */
int store_pg_lookup(struct store_pg *pg, const char *key, size_t key_len,
		    struct userdb_record *rec, const char **error_r);
void store_pg_pin(struct store_pg *pg, bool on);
bool store_pg_secret(struct store_pg *pg, unsigned char out[USERDB_SECRET_LEN]);
bool store_pg_scram_iters(struct store_pg *pg, struct scram_iters *out);
bool store_pg_keys(struct store_pg *pg, char ***keys_r, size_t *n_r,
		   const char **error_r);

/* store_pg_daemon - the handle serves a daemon (authd): connecting
 * gives up after 2 s unless the connection string says otherwise, and
 * after a failure the next try waits 25 ms, doubling up to 400 ms (the
 * calls meanwhile fail at once with the last reason). */
void store_pg_daemon(struct store_pg *pg);
/* store_pg_lookup_counted - authd's lookup: as store_pg_lookup, with the
 * store's change counter in *changes_r, in one round trip.  A
 * connection the server dropped is made again and the lookup tried once
 * more before it fails. */
int store_pg_lookup_counted(struct store_pg *pg, const char *key,
			    size_t key_len, const char *service,
			    struct userdb_record *rec, long long *changes_r,
			    const char **error_r);
/* store_pg_listen - LISTEN authd_store on the handle's connection, then
 * the change counter into *changes_r.  store_pg_wait_notify - wait up to
 * timeout_ms for notifications: 1 (*changes_r the highest counter they
 * carried, -1 if none did: a change by hand in SQL), 0 none, -1 the
 * connection is gone (listen again). */
bool store_pg_listen(struct store_pg *pg, long long *changes_r,
		     const char **error_r);
int store_pg_wait_notify(struct store_pg *pg, int timeout_ms,
			 long long *changes_r);
/* store_pg_socket - the connection's socket, -1 without one (to poll
 * for notifications without holding the handle). */
int store_pg_socket(struct store_pg *pg);

/* store_pg_set_query - read a site's own tables instead of the authd
 * schema (store_pg_password_query): lookups run sql, prepared once per
 * connection with four text parameters - $1 the whole name as the store
 * names users (user@realm), $2 its local part, $3 its realm, $4 the
 * service - never interpolated.  One row per user, with a column named
 * password (a {SCHEME} verifier as pwtool import reads them, or a bare
 * crypt string) and optionally one named disabled (boolean or integer);
 * no row is an unknown user, more than one an error.  There is no
 * secret, histogram or change counter: store_pg_secret says none. */
void store_pg_set_query(struct store_pg *pg, const char *sql,
			const struct userdb_name_rules *rules);
/* store_pg_server - "host:port" of the current connection, with
 * " (standby)" on a hot standby, or "-" without one, into buf; returns the
 * number of connections made so far (a change means a new server may
 * answer). */
unsigned long store_pg_server(struct store_pg *pg, char *buf, size_t size);

/* Writers: one transaction open per handle at a time.  begin waits up
 * to lock_timeout seconds for another writer (0: one try). */
bool store_pg_begin(struct store_pg *pg, unsigned int lock_timeout,
		    const char **error_r);
int store_pg_txn_get(struct store_pg *pg, const char *key,
		     struct userdb_record *rec, const char **error_r);
int store_pg_txn_exists(struct store_pg *pg, const char *key);
bool store_pg_txn_put_raw(struct store_pg *pg, const char *key,
			  const char *value, size_t len, const char **error_r);
int store_pg_txn_delete(struct store_pg *pg, const char *key,
			const char **error_r);
/* store_pg_commit - the secret when the store has none, the histogram,
 * the change counter (whose update NOTIFYs authd_store), then COMMIT. */
bool store_pg_commit(struct store_pg *pg, const char **error_r);
void store_pg_abort(struct store_pg *pg);

/* store_pg_missing - 1 when the store has had no commit yet (the secret
 * is unset, as a GDBM store that does not exist), 0 when it has, -1 when
 * it cannot tell (no server, no schema: the next call says why). */
int store_pg_missing(struct store_pg *pg);

/* store_pg_vacuum - pwtool compact: VACUUM (ANALYZE) the store's tables
 * (there is no log to fold; this gives back the space of old rows). */
bool store_pg_vacuum(struct store_pg *pg, const char **error_r);

/* store_pg_init - create the schema from the text of sql/schema.sql
 * (sql, NUL-terminated) in one transaction when the database has none,
 * or upgrade one of an older version; a database of a later version is
 * refused.  *from_r: the version found (0: none). */
bool store_pg_init(struct store_pg *pg, const char *sql, int *from_r,
		   const char **error_r);

#endif
