/*
 * worker - thread pool with an eventfd back to the loop, and a fair,
 * bounded queue in front of it.  See worker.h.
 *
 * The queue: sources with queued jobs form a ring; rr is the next one to
 * serve.  A worker takes the head job of rr and moves rr on; a source
 * whose last job leaves the queue is freed, so the ring and the hash table
 * hold only sources with jobs (at most max of them when bounded).
 * Everything here runs under the pool's mutex.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "worker.h"
#include "xalloc.h"

#define SOURCE_BUCKETS	256
#define SOURCE_KEY_MAX	255

struct worker_source {
	struct worker_source *prev, *next;	/* the ring */
	struct worker_source *hnext;		/* the hash chain */
	struct job *head, **tail;
	unsigned int queued;
	uint32_t hash;
	char key[];
};

struct worker_pool {
	struct loop *loop;
	struct loop_io io;		/* the eventfd */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct worker_source *rr;	/* next source to serve; NULL: empty */
	struct worker_source *buckets[SOURCE_BUCKETS];
	unsigned int queued, nsources;
	unsigned int max, per_source;	/* 0: unbounded */
	uint32_t seed;
	struct job *done, **done_tail;
	bool stopping;
	unsigned int n;
	pthread_t *threads;
};

/* key_hash - FNV-1a, seeded per pool: the keys hold client addresses,
 * which a client chooses to some degree. */
static uint32_t
key_hash(const struct worker_pool *p, const char *key, size_t len)
{
	uint32_t h = 2166136261u ^ p->seed;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)key[i];
		h *= 16777619u;
	}
	return h;
}

static struct worker_source *
source_find(struct worker_pool *p, const char *key, size_t len, uint32_t h)
{
	struct worker_source *s;

	for (s = p->buckets[h % SOURCE_BUCKETS]; s != NULL; s = s->hnext)
		if (s->hash == h && strncmp(s->key, key, len) == 0 &&
		    s->key[len] == '\0')
			return s;
	return NULL;
}

/* source_new - a source with no jobs yet, at the end of the current round
 * (just before rr): it is served after every busy source had one turn. */
static struct worker_source *
source_new(struct worker_pool *p, const char *key, size_t len, uint32_t h)
{
	struct worker_source *s = xcalloc(1, sizeof(*s) + len + 1);

	memcpy(s->key, key, len);
	s->hash = h;
	s->tail = &s->head;
	s->hnext = p->buckets[h % SOURCE_BUCKETS];
	p->buckets[h % SOURCE_BUCKETS] = s;
	if (p->rr == NULL) {
		s->prev = s->next = s;
		p->rr = s;
	} else {
		s->next = p->rr;
		s->prev = p->rr->prev;
		s->prev->next = s;
		p->rr->prev = s;
	}
	p->nsources++;
	return s;
}

/* source_drop - s has no job left: out of the ring and the table. */
static void
source_drop(struct worker_pool *p, struct worker_source *s)
{
	struct worker_source **pp;

	if (s->next == s) {
		p->rr = NULL;
	} else {
		s->prev->next = s->next;
		s->next->prev = s->prev;
		if (p->rr == s)
			p->rr = s->next;
	}
	for (pp = &p->buckets[s->hash % SOURCE_BUCKETS]; *pp != s;
	     pp = &(*pp)->hnext)
		;
	*pp = s->hnext;
	p->nsources--;
	free(s);
}

/* unqueue - take job (queued) out of its source. */
static void
unqueue(struct worker_pool *p, struct job *job)
{
	struct worker_source *s = job->src;
	struct job **pp;

	for (pp = &s->head; *pp != job; pp = &(*pp)->next)
		;
	*pp = job->next;
	if (s->tail == &job->next)
		s->tail = pp;
	job->next = NULL;
	job->src = NULL;
	s->queued--;
	p->queued--;
	if (s->queued == 0)
		source_drop(p, s);
}

/* take - the next job in round-robin order (the queue is not empty). */
static struct job *
take(struct worker_pool *p)
{
	struct worker_source *s = p->rr;
	struct job *job = s->head;

	p->rr = s->next;	/* before unqueue, which may free s */
	unqueue(p, job);
	return job;
}

/* heaviest - the source with the most queued jobs (NULL if none). */
static struct worker_source *
heaviest(struct worker_pool *p)
{
	struct worker_source *s = p->rr, *best = p->rr;

	if (s == NULL)
		return NULL;
	do {
		if (s->queued > best->queued)
			best = s;
		s = s->next;
	} while (s != p->rr);
	return best;
}

static void
push_done(struct worker_pool *p, struct job *job)
{
	job->next = NULL;
	*p->done_tail = job;
	p->done_tail = &job->next;
}

static void
wake_loop(struct worker_pool *p)
{
	uint64_t one = 1;

	(void)!write(p->io.fd, &one, sizeof(one));
}

static void *
worker_main(void *arg)
{
	struct worker_pool *p = arg;

	for (;;) {
		struct job *job;

		pthread_mutex_lock(&p->mu);
		while (p->rr == NULL && !p->stopping)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->rr == NULL) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		job = take(p);
		pthread_mutex_unlock(&p->mu);

		job->run(job);

		pthread_mutex_lock(&p->mu);
		push_done(p, job);
		pthread_mutex_unlock(&p->mu);
		wake_loop(p);
	}
}

/* drain_done - on the loop thread: complete every finished job. */
static void
drain_done(struct loop_io *io, uint32_t events)
{
	struct worker_pool *p = (struct worker_pool *)((char *)io -
		offsetof(struct worker_pool, io));
	struct job *list;
	uint64_t n;

	(void)events;
	(void)!read(io->fd, &n, sizeof(n));
	pthread_mutex_lock(&p->mu);
	list = p->done;
	p->done = NULL;
	p->done_tail = &p->done;
	pthread_mutex_unlock(&p->mu);
	while (list != NULL) {
		struct job *next = list->next;

		list->complete(list);
		list = next;
	}
}

struct worker_pool *
worker_pool_new(struct loop *l, unsigned int n, const char *name)
{
	struct worker_pool *p = xcalloc(1, sizeof(*p));
	sigset_t all, old;
	unsigned int i;

	p->loop = l;
	p->n = n;
	p->done_tail = &p->done;
	if (getrandom(&p->seed, sizeof(p->seed), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(p->seed))
		p->seed = (uint32_t)time(NULL) ^ (uint32_t)getpid();
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->io.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	p->io.cb = drain_done;
	if (p->io.fd < 0 || !loop_add(l, &p->io, EPOLLIN))
		fatal(1, "%s workers: eventfd", name);
	p->threads = xcalloc(n, sizeof(pthread_t));
	/* Signals belong to the loop (signalfd): workers block them all. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < n; i++) {
		int e = pthread_create(&p->threads[i], NULL, worker_main, p);

		if (e != 0) {
			errno = e;
			fatal(1, "%s workers: pthread_create", name);
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return p;
}

void
worker_pool_limit(struct worker_pool *p, unsigned int max,
		  unsigned int per_source)
{
	pthread_mutex_lock(&p->mu);
	p->max = max;
	p->per_source = per_source;
	pthread_mutex_unlock(&p->mu);
}

/* room_for - whether a job of source s (NULL: none queued) fits; if the
 * queue is full, *victim_r is the job to push out (or NULL: refuse). */
static bool
room_for(struct worker_pool *p, struct worker_source *s,
	 struct job **victim_r)
{
	unsigned int mine = s != NULL ? s->queued : 0;
	struct worker_source *heavy;

	*victim_r = NULL;
	if (p->per_source != 0 && mine >= p->per_source)
		return false;
	if (p->max == 0 || p->queued < p->max)
		return true;
	/* Full: room for a lighter source is made at the expense of the
	 * heaviest; among equals the newcomer waits its turn. */
	heavy = heaviest(p);
	if (heavy == NULL || heavy->queued <= mine + 1)
		return false;
	*victim_r = heavy->head;	/* heavy != s: it is heavier */
	return true;
}

bool
worker_has_room(struct worker_pool *p, const char *source)
{
	const char *key = source != NULL ? source : "";
	size_t len = strnlen(key, SOURCE_KEY_MAX);
	struct job *victim;
	bool room;

	pthread_mutex_lock(&p->mu);
	room = room_for(p, source_find(p, key, len, key_hash(p, key, len)),
			&victim);
	pthread_mutex_unlock(&p->mu);
	return room;
}

void
worker_submit_from(struct worker_pool *p, struct job *job, const char *source)
{
	const char *key = source != NULL ? source : "";
	size_t len = strnlen(key, SOURCE_KEY_MAX);
	uint32_t h = key_hash(p, key, len);
	struct worker_source *s;
	struct job *out = NULL;		/* refused or pushed out */

	job->next = NULL;
	job->src = NULL;
	job->refused = false;
	pthread_mutex_lock(&p->mu);
	s = source_find(p, key, len, h);
	if (!room_for(p, s, &out))
		out = job;
	else if (out != NULL)
		unqueue(p, out);
	if (out != job) {
		if (s == NULL)
			s = source_new(p, key, len, h);
		job->src = s;
		*s->tail = job;
		s->tail = &job->next;
		s->queued++;
		p->queued++;
		pthread_cond_signal(&p->cv);
	}
	if (out != NULL) {
		out->refused = true;
		push_done(p, out);
	}
	pthread_mutex_unlock(&p->mu);
	/* The refusal is answered from the loop like any completion: the
	 * submitter is still in its own call now. */
	if (out != NULL)
		wake_loop(p);
}

void
worker_submit(struct worker_pool *p, struct job *job)
{
	worker_submit_from(p, job, NULL);
}

bool
worker_cancel(struct worker_pool *p, struct job *job)
{
	bool queued;

	pthread_mutex_lock(&p->mu);
	queued = job->src != NULL;
	if (queued)
		unqueue(p, job);
	pthread_mutex_unlock(&p->mu);
	return queued;
}

void
worker_queue_stats(struct worker_pool *p, unsigned int *jobs_r,
		   unsigned int *sources_r)
{
	pthread_mutex_lock(&p->mu);
	*jobs_r = p->queued;
	*sources_r = p->nsources;
	pthread_mutex_unlock(&p->mu);
}

void
worker_pool_free(struct worker_pool *p)
{
	struct job *left = NULL, **left_tail = &left;
	unsigned int i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stopping = true;
	while (p->rr != NULL) {
		struct job *job = take(p);

		job->refused = true;
		*left_tail = job;
		left_tail = &job->next;
	}
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < p->n; i++)
		pthread_join(p->threads[i], NULL);
	drain_done(&p->io, 0);
	/* Unrun jobs complete as refused: their callers fail them. */
	while (left != NULL) {
		struct job *next = left->next;

		left->complete(left);
		left = next;
	}
	loop_del(p->loop, &p->io);
	close(p->io.fd);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p->threads);
	free(p);
}
