/*
 * storepool - the store read off the event loop.  See storepool.h.
 * Untrusted input: the server's answers, decoded by userdb/store_pg.c.
 */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "log.h"
#include "loop.h"
#include "password.h"
#include "secret.h"
#include "server.h"
#include "stats.h"
#include "store_pg.h"
#include "storepool.h"
#include "worker.h"
#include "xalloc.h"

#define ROW_EVERY_MS	1000	/* secret and histogram: read at most this often */

struct storepool_fetch {
	struct job job;			/* first: the pool's */
	char key[USERDB_KEY_MAX + 1];
	size_t key_len;
	char service[65];
	uint64_t deadline_ms;
	storepool_cb *cb;		/* NULL once cancelled */
	void *ctx;
	/* the answer, filled on the worker */
	int found;
	struct userdb_record rec;
	char why[320];
	char server[STOREPOOL_SERVER_MAX];
	bool new_connection;		/* this lookup made the connection */
	long long read_at;		/* the change counter of the read */
	/* the store's row as of read_at, when this lookup read it again */
	bool row, has_secret, has_iters;
	unsigned char secret[USERDB_SECRET_LEN];
	struct scram_iters iters;
};

/* One per pool thread, made at its first lookup, freed when it ends. */
struct thread_state {
	struct store_pg *pg;
	long long seen_changes;		/* -1: no row read yet */
	uint64_t row_at;
	unsigned long connects;
};

static struct worker_pool *pool;
static char *conninfo;			/* read by the threads, never changed */
static char *query;			/* store_pg_password_query, or NULL */
static struct userdb_name_rules query_rules;
static pthread_key_t thread_key;
static char last_server[STOREPOOL_SERVER_MAX] = "-";	/* loop's */

/* The listener and what it tells the loop: listen_ok while it listens,
 * listen_epoch moves with every notification and every loss or return of
 * its connection, listen_changes is the last counter known.  Its handle
 * is shared under listen_lock: the thread waits for the socket without
 * it, then reads the notifications holding it; the loop reads them too,
 * at each cache hit, so that a notification the kernel has received is
 * seen then, however late the thread would be scheduled. */
static pthread_t listener;
static bool listening;			/* the thread runs (loop's) */
static atomic_bool listen_stop, listen_ok;
static atomic_ullong listen_epoch;
static atomic_llong listen_changes = -1;
static pthread_mutex_t listen_lock = PTHREAD_MUTEX_INITIALIZER;
static struct store_pg *listen_pg;	/* under listen_lock */
static unsigned long long seen_epoch;	/* loop's */

/* The loop's copy of the store's row (changes -1: none read yet). */
static struct {
	long long changes;
	bool has_secret, has_iters;
	unsigned char secret[USERDB_SECRET_LEN];
	struct scram_iters iters;
} row = { .changes = -1 };

/* mono_ms - CLOCK_MONOTONIC in milliseconds (password.h's clock). */
static uint64_t
mono_ms(void)
{
	return userdb_verify_clock_us() / 1000;
}

bool
storepool_active(void)
{
	return pool != NULL;
}

static void
thread_state_free(void *p)
{
	struct thread_state *t = p;

	store_pg_free(t->pg);
	free(t);
}

static struct thread_state *
thread_state(void)
{
	struct thread_state *t = pthread_getspecific(thread_key);

	if (t == NULL) {
		t = xcalloc(1, sizeof(*t));
		t->pg = store_pg_new(conninfo);
		store_pg_daemon(t->pg);
		if (query != NULL)
			store_pg_set_query(t->pg, query, &query_rules);
		t->seen_changes = -1;
		if (pthread_setspecific(thread_key, t) != 0)
			panic("pthread_setspecific");
	}
	return t;
}

/* read_row - the secret and histogram into f, when the counter moved
 * since this thread last read them (and a second has passed: a batch of
 * thousands of changes must not cost thousands of extra reads; both
 * serve only the made-up answers for unknown users). */
static void
read_row(struct thread_state *t, struct storepool_fetch *f,
	 long long changes)
{
	uint64_t now = mono_ms();

	if (changes == t->seen_changes ||
	    (t->seen_changes >= 0 && now - t->row_at < ROW_EVERY_MS))
		return;
	f->has_secret = store_pg_secret(t->pg, f->secret);
	f->has_iters = store_pg_scram_iters(t->pg, &f->iters);
	if (!f->has_iters)
		return;		/* the server went away meanwhile: next time */
	f->row = true;
	t->seen_changes = changes;
	t->row_at = now;
}

/* run - on a pool thread: one lookup. */
static void
run(struct job *job)
{
	struct storepool_fetch *f = (struct storepool_fetch *)job;
	struct thread_state *t = thread_state();
	const char *why = NULL;
	long long changes;
	unsigned long n;

	if (mono_ms() > f->deadline_ms) {
		f->found = -1;
		snprintf(f->why, sizeof(f->why),
			 "overloaded: store lookup waited too long");
		snprintf(f->server, sizeof(f->server), "-");
		return;
	}
	f->found = store_pg_lookup_counted(t->pg, f->key, f->key_len,
					   f->service, &f->rec, &changes,
					   &why);
	if (f->found < 0)
		snprintf(f->why, sizeof(f->why), "%s", why);
	n = store_pg_server(t->pg, f->server, sizeof(f->server));
	if (n != t->connects) {
		t->connects = n;
		f->new_connection = true;
	}
	f->read_at = f->found >= 0 ? changes : -1;
	if (f->found >= 0)
		read_row(t, f, changes);
}

static void
fetch_free(struct storepool_fetch *f)
{
	userdb_record_clear(&f->rec);
	secret_wipe(f, sizeof(*f));
	free(f);
}

/* complete - on the loop: keep the row, say which server answers, hand
 * the answer over. */
static void
complete(struct job *job)
{
	struct storepool_fetch *f = (struct storepool_fetch *)job;

	if (job->refused) {
		f->found = -1;
		snprintf(f->why, sizeof(f->why), "overloaded: no room in the "
			 "store queue (auth_queue_max, auth_queue_per_source)");
		snprintf(f->server, sizeof(f->server), "-");
	}
	if (f->row && f->read_at >= row.changes) {
		row.changes = f->read_at;
		row.has_secret = f->has_secret;
		if (f->has_secret)
			memcpy(row.secret, f->secret, sizeof(row.secret));
		row.has_iters = f->has_iters;
		row.iters = f->iters;
	}
	if (f->new_connection && f->found >= 0)
		log_info("postgresql store: connected to %s", f->server);
	if (!job->refused) {
		stats.store_lookups++;
		if (f->found < 0)
			stats.store_errors++;
		if (f->found >= 0)
			memcpy(last_server, f->server, sizeof(last_server));
	}
	if (f->cb != NULL)
		f->cb(f->ctx, f->found, &f->rec, f->why, f->server,
		      f->read_at);
	fetch_free(f);
}

/* listen_consume - with listen_lock held and the listener up: take the
 * notifications that have arrived, without waiting.  False when the
 * connection is gone (trust is withdrawn before anyone can see it). */
static bool
listen_consume(void)
{
	long long ch;

	switch (store_pg_wait_notify(listen_pg, 0, &ch)) {
	case 1:
		if (ch > atomic_load(&listen_changes))
			atomic_store(&listen_changes, ch);
		atomic_fetch_add(&listen_epoch, 1);
		return true;
	case -1:
		atomic_store(&listen_ok, false);
		atomic_fetch_add(&listen_epoch, 1);
		return false;
	default:
		return true;
	}
}

/* listen_main - the listener thread: LISTEN, then wait for
 * notifications; after a loss, listen again (the connection's own back-off
 * paces the tries). */
static void *
listen_main(void *arg)
{
	const char *why;
	long long ch;
	int fd;

	(void)arg;
	while (!atomic_load(&listen_stop)) {
		pthread_mutex_lock(&listen_lock);
		if (!atomic_load(&listen_ok)) {
			if (store_pg_listen(listen_pg, &ch, &why)) {
				atomic_store(&listen_changes, ch);
				atomic_store(&listen_ok, true);
				atomic_fetch_add(&listen_epoch, 1);
			}
		}
		fd = atomic_load(&listen_ok) ? store_pg_socket(listen_pg) : -1;
		pthread_mutex_unlock(&listen_lock);
		if (fd < 0) {
			struct timespec ts = { 0, 50 * 1000000L };

			nanosleep(&ts, NULL);
			continue;
		}
		{
			struct pollfd pfd = { fd, POLLIN, 0 };

			(void)poll(&pfd, 1, 200);
		}
		pthread_mutex_lock(&listen_lock);
		if (atomic_load(&listen_ok))
			(void)listen_consume();
		pthread_mutex_unlock(&listen_lock);
	}
	return NULL;
}

void
storepool_listen(void)
{
	listening = true;
}

bool
storepool_cache_trusted(void)
{
	unsigned long long e;
	bool ok;

	if (!listening)
		return false;
	/* The thread holds the lock only while it reads notifications
	 * (microseconds): if it has it now, ask the store this time. */
	if (pthread_mutex_trylock(&listen_lock) != 0)
		return false;
	ok = atomic_load(&listen_ok) && listen_consume();
	pthread_mutex_unlock(&listen_lock);
	e = atomic_load(&listen_epoch);
	if (e != seen_epoch) {
		seen_epoch = e;
		if (authd.cache != NULL)
			(void)cache_flush(authd.cache, NULL, loop_now(authd.loop));
	}
	return ok;
}

bool
storepool_may_cache(long long changes)
{
	return !listening ||
	       (changes >= 0 && changes >= atomic_load(&listen_changes));
}

void
storepool_set_query(const char *sql, const struct userdb_name_rules *rules)
{
	free(query);
	query = xstrdup(sql);
	query_rules = *rules;
}

void
storepool_start(const char *info, unsigned int n)
{
	struct store_pg *pg;
	char server[STOREPOOL_SERVER_MAX];
	struct userdb_record rec;
	const char *why = NULL;
	long long changes;

	if (pthread_key_create(&thread_key, thread_state_free) != 0)
		panic("pthread_key_create");
	conninfo = xstrdup(info);
	/* Start-up may block: one lookup says whether the server is there
	 * and fills the row before the first client asks. */
	pg = store_pg_new(conninfo);
	store_pg_daemon(pg);
	if (query != NULL)
		store_pg_set_query(pg, query, &query_rules);
	/* With a site's query this also prepares it: a query that the
	 * server refuses is in the log at once. */
	if (store_pg_lookup_counted(pg, "", 0, "", &rec, &changes, &why) < 0) {
		log_warnx("%s; every check fails temporarily until the server "
			  "answers", why);
	} else {
		(void)store_pg_server(pg, server, sizeof(server));
		row.has_secret = store_pg_secret(pg, row.secret);
		row.has_iters = store_pg_scram_iters(pg, &row.iters);
		if (row.has_iters)
			row.changes = changes;
		if (query != NULL)
			log_info("postgresql store: %s answers "
				 "store_pg_password_query (read-only)", server);
		else
			log_info("postgresql store: %s answers (change %lld)",
				 server, changes);
	}
	userdb_record_clear(&rec);
	store_pg_free(pg);
	pool = worker_pool_new(authd.loop, n, "store");
	if (listening && query == NULL) {
		listen_pg = store_pg_new(conninfo);
		store_pg_daemon(listen_pg);
		if (pthread_create(&listener, NULL, listen_main, NULL) != 0)
			panic("pthread_create (store listener)");
	} else {
		listening = false;
	}
}

void
storepool_limit(unsigned int max, unsigned int per_source)
{
	if (pool != NULL)
		worker_pool_limit(pool, max, per_source);
}

void
storepool_stop(void)
{
	if (pool == NULL)
		return;
	worker_pool_free(pool);
	pool = NULL;
	if (listening) {
		atomic_store(&listen_stop, true);
		(void)pthread_join(listener, NULL);
		store_pg_free(listen_pg);
		listen_pg = NULL;
		listening = false;
	}
	secret_free_str(conninfo);
	conninfo = NULL;
	free(query);
	query = NULL;
	secret_wipe(&row, sizeof(row));
	row.changes = -1;
	/* The threads are gone and their states freed; the key goes too. */
	(void)pthread_key_delete(thread_key);
}

bool
storepool_has_room(const char *source)
{
	return worker_has_room(pool, source);
}

struct storepool_fetch *
storepool_fetch(const struct userdb_name *name, const char *service,
		const char *source, unsigned int budget_ms, storepool_cb *cb,
		void *ctx)
{
	struct storepool_fetch *f = xcalloc(1, sizeof(*f));

	snprintf(f->service, sizeof(f->service), "%s",
		 service != NULL ? service : "");
	memcpy(f->key, name->key, name->key_len);
	f->key[name->key_len] = '\0';
	f->key_len = name->key_len;
	f->deadline_ms = mono_ms() + budget_ms;
	f->cb = cb;
	f->ctx = ctx;
	f->job.run = run;
	f->job.complete = complete;
	userdb_record_init(&f->rec);
	worker_submit_from(pool, &f->job, source);
	return f;
}

void
storepool_cancel(struct storepool_fetch *f)
{
	if (f == NULL)
		return;
	if (worker_cancel(pool, &f->job))
		fetch_free(f);		/* never ran: nobody else has it */
	else
		f->cb = NULL;		/* complete() frees it */
}

unsigned int
storepool_queued(void)
{
	unsigned int jobs = 0, sources = 0;

	if (pool != NULL)
		worker_queue_stats(pool, &jobs, &sources);
	return jobs;
}

const char *
storepool_server(void)
{
	return last_server;
}

bool
storepool_secret(unsigned char out[USERDB_SECRET_LEN])
{
	if (!row.has_secret)
		return false;
	memcpy(out, row.secret, USERDB_SECRET_LEN);
	return true;
}

bool
storepool_scram_iters(struct scram_iters *out)
{
	if (!row.has_iters)
		return false;
	*out = row.iters;
	return true;
}
