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
 *
 * The queue is fair and bounded.  One FIFO let three connections that kept
 * 128 wrong passwords each in flight push every other login past
 * auth_reply_max (issue 9).  Now each job is queued under a source, a
 * string the submitter chooses (authd: the client's address, or the
 * connection or process that asked), and the workers take one job from
 * each source with jobs in turn (round robin).  A source that was idle
 * joins the end of the current round, so a lone login waits for at most
 * one job of each busy source, however many those have queued: flooding
 * buys a source nothing but its own queue.  Two bounds keep the queue
 * short enough to be served within the reply budget:
 *   - per_source: a source's queued jobs (not counting the ones running);
 *     beyond it its new jobs are refused;
 *   - max: all queued jobs; when full, a job from a source lighter than
 *     the heaviest one still gets in, by pushing out the heaviest source's
 *     oldest job (the one closest to its deadline anyway); otherwise the
 *     new job is refused.
 * A refused or pushed-out job is not run: it is completed with
 * job->refused set, from the loop like any other, soon after (the
 * submitter answers a temporary failure).  A job still queued can be taken
 * back (worker_cancel) when its requester goes away, so no worker spends a
 * hash on it.
 *
 * worker_submit() keeps the old behaviour for callers that need no
 * fairness (authd-smtpd's Maildir work): every job in one default source,
 * and no bounds unless worker_pool_limit() sets some.
 */
#ifndef AUTHD_WORKER_H
#define AUTHD_WORKER_H

#include <stdbool.h>
#include <stddef.h>

#include "loop.h"

struct worker_source;

struct job {
	void (*run)(struct job *job);		/* on a worker thread */
	void (*complete)(struct job *job);	/* back on the loop thread */
	struct job *next;			/* the pool's */
	struct worker_source *src;		/* the pool's: set while queued */
	bool refused;		/* set by the pool: the queue had no room,
				 * run() was not called */
};

struct worker_pool;

/* worker_pool_new - start n threads; completions are dispatched by l.
 * No bounds until worker_pool_limit(). */
struct worker_pool *worker_pool_new(struct loop *l, unsigned int n,
				    const char *name);
/* worker_pool_limit - the queue's bounds (see above); 0 means none.  May
 * be called at any time (a reload); jobs already queued stay. */
void worker_pool_limit(struct worker_pool *p, unsigned int max,
		       unsigned int per_source);
/* worker_pool_free - let the threads finish the job in hand, then join.
 * Jobs still queued are completed without being run. */
void worker_pool_free(struct worker_pool *p);
/* worker_submit - queue job in the pool's default source. */
void worker_submit(struct worker_pool *p, struct job *job);
/* worker_submit_from - queue job under source (a key of at most 255
 * bytes, copied; NULL: the default source).  The job is always completed
 * exactly once, with job->refused set if the bounds left no room for it
 * (or pushed it out later). */
void worker_submit_from(struct worker_pool *p, struct job *job,
			const char *source);
/* worker_has_room - whether a job submitted now under source would be
 * queued (not refused).  Only the submitting thread adds jobs and the
 * workers only take them, so the answer holds until that thread submits:
 * a caller can refuse a request before preparing its job. */
bool worker_has_room(struct worker_pool *p, const char *source);
/* worker_cancel - take job out of the queue if no worker has started it:
 * true, and job will not be run or completed (its owner frees it);
 * false if it is running or done (it will be completed as usual). */
bool worker_cancel(struct worker_pool *p, struct job *job);
/* worker_queue_stats - jobs queued (not running) and sources with queued
 * jobs, for the log and the tests. */
void worker_queue_stats(struct worker_pool *p, unsigned int *jobs_r,
			unsigned int *sources_r);

#endif
