/*
 * loop - epoll and timers.  See loop.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "xalloc.h"

struct deferred {
	void (*fn)(void *);
	void *p;
	struct deferred *next;
};

struct loop {
	int epfd;
	/* First in, first out: a "close later" queued before a "free" must
	 * run before it (the free may be queued by a direct close). */
	struct deferred *deferred, **deferred_tail;
	bool running;
	uint64_t now;
	struct loop_timer **heap;
	size_t nheap, capheap;
};

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct loop *
loop_new(void)
{
	struct loop *l = xcalloc(1, sizeof(*l));

	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		fatal(1, "epoll_create1");
	l->now = mono_ms();
	return l;
}

void
loop_free(struct loop *l)
{
	if (l == NULL)
		return;
	close(l->epfd);
	free(l->heap);
	free(l);
}

bool
loop_add(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = io };

	io->added = epoll_ctl(l->epfd, EPOLL_CTL_ADD, io->fd, &ev) == 0;
	return io->added;
}

bool
loop_mod(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = io };

	/* A connection served before it was ever added (conn_mux_accept
	 * tries to read at once) joins the set here. */
	if (!io->added)
		return loop_add(l, io, events);
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, io->fd, &ev) == 0;
}

void
loop_del(struct loop *l, struct loop_io *io)
{
	/* Not left to close(): a forked PAM helper may still hold the
	 * descriptor, and the registration lives as long as the file. */
	if (io->added)
		(void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	io->added = false;
}

uint64_t
loop_now(struct loop *l)
{
	return l->now;
}

void
loop_timer_init(struct loop_timer *t, void (*cb)(struct loop_timer *))
{
	t->idx = -1;
	t->when = 0;
	t->cb = cb;
}

static void
heap_swap(struct loop *l, size_t a, size_t b)
{
	struct loop_timer *t = l->heap[a];

	l->heap[a] = l->heap[b];
	l->heap[b] = t;
	l->heap[a]->idx = (long)a;
	l->heap[b]->idx = (long)b;
}

static void
heap_up(struct loop *l, size_t i)
{
	while (i > 0 && l->heap[(i - 1) / 2]->when > l->heap[i]->when) {
		heap_swap(l, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
heap_down(struct loop *l, size_t i)
{
	for (;;) {
		size_t c = 2 * i + 1, m = i;

		if (c < l->nheap && l->heap[c]->when < l->heap[m]->when)
			m = c;
		if (c + 1 < l->nheap && l->heap[c + 1]->when < l->heap[m]->when)
			m = c + 1;
		if (m == i)
			return;
		heap_swap(l, i, m);
		i = m;
	}
}

void
loop_timer_cancel(struct loop *l, struct loop_timer *t)
{
	size_t i;

	if (t->idx < 0)
		return;
	i = (size_t)t->idx;
	t->idx = -1;
	l->nheap--;
	if (i == l->nheap)
		return;
	l->heap[i] = l->heap[l->nheap];
	l->heap[i]->idx = (long)i;
	heap_down(l, i);
	heap_up(l, i);
}

void
loop_timer_set(struct loop *l, struct loop_timer *t, uint64_t ms)
{
	loop_timer_cancel(l, t);
	if (l->nheap == l->capheap) {
		l->capheap = l->capheap ? l->capheap * 2 : 64;
		l->heap = xrealloc(l->heap, l->capheap * sizeof(*l->heap));
	}
	t->when = l->now + ms;
	t->idx = (long)l->nheap;
	l->heap[l->nheap++] = t;
	heap_up(l, (size_t)t->idx);
}

void
loop_defer(struct loop *l, void (*fn)(void *), void *p)
{
	struct deferred *d = xmalloc(sizeof(*d));

	d->fn = fn;
	d->p = p;
	d->next = NULL;
	if (l->deferred == NULL)
		l->deferred_tail = &l->deferred;
	*l->deferred_tail = d;
	l->deferred_tail = &d->next;
}

void
loop_run_deferred(struct loop *l)
{
	while (l->deferred != NULL) {
		struct deferred *d = l->deferred;

		l->deferred = d->next;
		if (l->deferred == NULL)
			l->deferred_tail = &l->deferred;
		d->fn(d->p);
		free(d);
	}
}

void
loop_stop(struct loop *l)
{
	l->running = false;
}

void
loop_run(struct loop *l)
{
	struct epoll_event evs[64];

	l->running = true;
	while (l->running) {
		int timeout = -1, n, i;

		l->now = mono_ms();
		while (l->nheap > 0 && l->heap[0]->when <= l->now) {
			struct loop_timer *t = l->heap[0];

			loop_timer_cancel(l, t);
			t->cb(t);
		}
		loop_run_deferred(l);
		if (!l->running)
			break;
		if (l->nheap > 0)
			timeout = (int)(l->heap[0]->when - l->now);
		n = epoll_wait(l->epfd, evs, 64, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fatal(1, "epoll_wait");
		}
		l->now = mono_ms();
		for (i = 0; i < n; i++) {
			struct loop_io *io = evs[i].data.ptr;

			io->cb(io, evs[i].events);
		}
		loop_run_deferred(l);
	}
	loop_run_deferred(l);
}
