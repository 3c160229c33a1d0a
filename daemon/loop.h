/*
 * loop - the event loop: epoll for descriptors, a min-heap of timers.
 *
 * Everything that touches connections, the cache and the throttle runs on
 * this one thread, so none of it needs locks; only hashing and PAM run on
 * worker threads (worker.h), and they hand results back through an
 * eventfd that this loop watches.
 */
#ifndef AUTHD_LOOP_H
#define AUTHD_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct loop;

struct loop_io {
	int fd;
	void (*cb)(struct loop_io *io, uint32_t events);
	bool added;		/* in the epoll set (loop_add/loop_mod did it) */
};

struct loop_timer {
	uint64_t when;		/* loop_now() milliseconds */
	long idx;		/* position in the heap, -1 when not armed */
	void (*cb)(struct loop_timer *t);
};

struct loop *loop_new(void);
void loop_free(struct loop *l);
/* loop_add / loop_mod / loop_del - watch io->fd for EPOLL* events. */
bool loop_add(struct loop *l, struct loop_io *io, uint32_t events);
bool loop_mod(struct loop *l, struct loop_io *io, uint32_t events);
void loop_del(struct loop *l, struct loop_io *io);
/* loop_timer_init - an unarmed timer calling cb. */
void loop_timer_init(struct loop_timer *t, void (*cb)(struct loop_timer *));
/* loop_timer_set - (re)arm t to fire after ms milliseconds. */
void loop_timer_set(struct loop *l, struct loop_timer *t, uint64_t ms);
void loop_timer_cancel(struct loop *l, struct loop_timer *t);
/* loop_now - monotonic milliseconds, cached per iteration. */
uint64_t loop_now(struct loop *l);
/* loop_defer - call fn(p) after the current batch of events, so that an
 * object closed by one callback is not freed while a later event of the
 * same batch still points at it. */
void loop_defer(struct loop *l, void (*fn)(void *), void *p);
/* loop_run_deferred - run pending deferred calls now (after loop_run). */
void loop_run_deferred(struct loop *l);
/* loop_run - dispatch until loop_stop(). */
void loop_run(struct loop *l);
void loop_stop(struct loop *l);

#endif
