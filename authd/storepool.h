/*
 * storepool - the store read off the event loop (store = postgresql).
 *
 * A GDBM store is read on the loop: a lookup is a few microseconds of
 * memory and disk cache.  A PostgreSQL lookup is a round trip to a server
 * that may be slow, restarting or gone, so it runs on a small pool of
 * threads (store_pg_connections), each with its own connection and its
 * prepared statements; the loop hands a name over and is called back
 * with the record, as it is for a hash.  The queue is the worker pool's:
 * fair per source and bounded (auth_queue_max, auth_queue_per_source).
 *
 * Failures: a lookup that cannot reach the server is a temporary failure
 * (-1), never "unknown user".  Each connection retries by itself, after
 * 25 ms doubling to 400 ms (userdb/store_pg.h), so full service is back
 * within half a second of the server's; a connection the server dropped
 * is made again at once.
 *
 * Across nodes: a check that the cache cannot answer reads the record
 * (one indexed SELECT), and the cache only saves the hash of a record
 * whose fingerprint it has seen.  The same round trip returns the store's
 * change counter; a thread that sees it move reads the store's secret and
 * SCRAM histogram again (at most once a second), which the loop keeps for
 * the made-up SCRAM salts and iteration counts of unknown users.
 *
 * Cache hits (store_pg_notify = yes, the default): one more connection
 * LISTENs to authd_store, which every commit NOTIFYs (sql/schema.sql).
 * While it listens, a cache hit is answered without reading the record;
 * every notification (and every loss or return of that connection)
 * empties the cache, and an entry is only added for a record at least as
 * new as the last notification, so a change through any node counts on
 * every node once its notification arrives (the time of a packet after
 * the COMMIT).  While it cannot listen, every check reads the record.
 * With store_pg_notify = no, every check reads it always.
 *
 * Everything here except the pool's threads runs on the loop thread.
 */
#ifndef AUTHD_STOREPOOL_H
#define AUTHD_STOREPOOL_H

#include <stdbool.h>
#include <stdint.h>

#include "name.h"
#include "record.h"
#include "scram_iters.h"
#include "userdb.h"

/* The longest "host:port (standby)" a lookup reports. */
#define STOREPOOL_SERVER_MAX	128

struct storepool_fetch;

/* The answer of a fetch, on the loop: found 1 (*rec filled: the callee
 * takes it over and clears it), 0 unknown, -1 temporary failure (why);
 * server is the one that answered ("-" when none did); changes the
 * store's change counter the record was read at (-1 unknown). */
typedef void storepool_cb(void *ctx, int found, struct userdb_record *rec,
			  const char *why, const char *server,
			  long long changes);

/* storepool_active - whether the store is read through the pool. */
bool storepool_active(void);

/* storepool_start - n threads on the database conninfo names (copied;
 * read once, before the privilege drop).  Reads the store's secret and
 * SCRAM histogram once, blocking (start-up may), and says in the log
 * whether the server answered. */
void storepool_start(const char *conninfo, unsigned int n);
/* storepool_set_query - before storepool_start: read the site's own
 * tables with sql (store_pg_password_query; userdb/store_pg.h). */
void storepool_set_query(const char *sql,
			 const struct userdb_name_rules *rules);
/* storepool_listen - before storepool_start: start the listener
 * (store_pg_notify = yes; not with a store_pg_password_query). */
void storepool_listen(void);
/* storepool_cache_trusted - loop: whether a cache hit may be answered
 * without reading the record (the listener is up).  Empties the cache
 * when a notification came since the last call. */
bool storepool_cache_trusted(void);
/* storepool_may_cache - loop: whether a record read at change counter
 * changes may enter the cache (no notification of a later change has
 * come yet). */
bool storepool_may_cache(long long changes);
/* storepool_limit - the queue's bounds, as worker_pool_limit. */
void storepool_limit(unsigned int max, unsigned int per_source);
/* storepool_stop - finish the lookups in hand; each pending callback is
 * called with a temporary failure. */
void storepool_stop(void);

/* storepool_has_room - whether a fetch from source would be queued. */
bool storepool_has_room(const char *source);
/* storepool_fetch - look up name's record (for service, which only a
 * store_pg_password_query sees) for source; cb is called
 * exactly once, later, from the loop, unless storepool_cancel comes
 * first.  A fetch still queued budget_ms from now is answered -1 without
 * asking the server. */
struct storepool_fetch *storepool_fetch(const struct userdb_name *name,
					const char *service,
					const char *source,
					unsigned int budget_ms,
					storepool_cb *cb, void *ctx);
/* storepool_cancel - cb will not be called (NULL: nothing). */
void storepool_cancel(struct storepool_fetch *f);

/* storepool_queued - look-ups waiting for a connection; storepool_server
 * - the server of the last look-up answered ("-" before any). */
unsigned int storepool_queued(void);
const char *storepool_server(void);

/* storepool_secret / storepool_scram_iters - the store's, as last read
 * (userdb_secret, userdb_scram_iters); false when not known yet. */
bool storepool_secret(unsigned char out[USERDB_SECRET_LEN]);
bool storepool_scram_iters(struct scram_iters *out);

#endif
