/*
 * worker - a pool of threads for the work that must not stall the loop:
 * password hashing (CPU, tens of milliseconds) and PAM (may sleep).
 *
 * Why threads and not more processes or a fork per request: a verify is a
 * pure function of (record, password) handed over in memory, so threads
 * need no IPC and share nothing mutable; the loop keeps connections, the
 * cache and the throttle to itself.  Hash workers default to one per core
 * so expensive schemes use every core; PAM gets its own pool so a slow PAM
 * stack never occupies the hash workers, and neither ever delays what the
 * loop answers by itself (cache hits, malformed requests).
 */
#ifndef AUTHD_WORKER_H
#define AUTHD_WORKER_H

#include <stddef.h>

#include "loop.h"

struct job {
	void (*run)(struct job *job);		/* on a worker thread */
	void (*complete)(struct job *job);	/* back on the loop thread */
	struct job *next;
};

struct worker_pool;

/* worker_pool_new - start n threads; completions are dispatched by l. */
struct worker_pool *worker_pool_new(struct loop *l, unsigned int n,
				    const char *name);
/* worker_pool_free - let the threads finish the job in hand, then join.
 * Jobs still queued are completed without being run. */
void worker_pool_free(struct worker_pool *p);
void worker_submit(struct worker_pool *p, struct job *job);

#endif
