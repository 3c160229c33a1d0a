/*
 * worker - thread pool with an eventfd back to the loop.  See worker.h.
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
#include <unistd.h>

#include "log.h"
#include "worker.h"
#include "xalloc.h"

struct worker_pool {
	struct loop *loop;
	struct loop_io io;		/* the eventfd */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *queue, **queue_tail;
	struct job *done, **done_tail;
	size_t queued;
	bool stopping;
	unsigned int n;
	pthread_t *threads;
};

static void *
worker_main(void *arg)
{
	struct worker_pool *p = arg;
	uint64_t one = 1;

	for (;;) {
		struct job *job;

		pthread_mutex_lock(&p->mu);
		while (p->queue == NULL && !p->stopping)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->queue == NULL) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		job = p->queue;
		p->queue = job->next;
		if (p->queue == NULL)
			p->queue_tail = &p->queue;
		p->queued--;
		pthread_mutex_unlock(&p->mu);

		job->run(job);

		pthread_mutex_lock(&p->mu);
		job->next = NULL;
		*p->done_tail = job;
		p->done_tail = &job->next;
		pthread_mutex_unlock(&p->mu);
		(void)!write(p->io.fd, &one, sizeof(one));
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
	p->queue_tail = &p->queue;
	p->done_tail = &p->done;
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
worker_submit(struct worker_pool *p, struct job *job)
{
	job->next = NULL;
	pthread_mutex_lock(&p->mu);
	*p->queue_tail = job;
	p->queue_tail = &job->next;
	p->queued++;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

void
worker_pool_free(struct worker_pool *p)
{
	struct job *left;
	unsigned int i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stopping = true;
	left = p->queue;
	p->queue = NULL;
	p->queue_tail = &p->queue;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < p->n; i++)
		pthread_join(p->threads[i], NULL);
	drain_done(&p->io, 0);
	/* Unrun jobs complete as they are: their callers fail them. */
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
