/*
 * conn - one buffered stream connection on the event loop, the type that
 * authd's mux and auth sockets (and authd-smtpd's sessions) build on:
 *
 *   - input: one read per readiness report, never until EAGAIN (a client
 *     that keeps its socket full must not hold the loop while the others
 *     wait: epoll is level-triggered, what is left is reported again);
 *     at most in_max bytes held (the protocol's longest line or request);
 *   - output: replies queue in one buffer and go out in one write per
 *     batch of events (conn_flush) or at once (conn_write); a client that
 *     does not read has its input paused while more than backlog_max
 *     bytes wait, and resumed at half, so its replies cannot grow the
 *     daemon without bound; the unsent tail moves to the front after a
 *     partial write, and a buffer a burst made large is given back;
 *   - secrets: both buffers are struct buf, wiped whenever bytes leave
 *     them and when the connection is freed (request lines carry
 *     passwords);
 *   - closing: at once (conn_close), or after this batch of events
 *     (conn_close_later, for a caller deep in a callback); the memory is
 *     released after the batch, so a later event of the same batch that
 *     still names the connection finds it marked closed.
 *
 * Untrusted input: every byte read; conn only counts them, the protocol
 * (ops->input) parses them.
 */
#ifndef AUTHD_CONN_H
#define AUTHD_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "loop.h"

struct conn;

struct conn_ops {
	/* input - bytes arrived in c->in; consume what was used
	 * (buf_consume).  May close the connection. */
	void (*input)(struct conn *c);
	/* closed - the connection was just closed: drop the protocol's
	 * work in progress (its memory is still valid until free). */
	void (*closed)(struct conn *c);
	/* free - after the batch of events: release the object around c
	 * (the buffers are wiped and freed already). */
	void (*free)(struct conn *c);
};

struct conn {
	struct loop_io io;		/* first: the loop hands us &io */
	struct loop *loop;
	const struct conn_ops *ops;
	struct buf in;			/* received, not yet consumed */
	size_t in_max;			/* in holds at most this much */
	struct buf out;			/* queued output */
	size_t out_off;			/* written part of out */
	size_t backlog_max;		/* pause input above this */
	bool closed;			/* closed: no more I/O */
	bool dying;			/* conn_close_later is pending */
	bool flush_queued;		/* a deferred write is pending */
	bool close_when_sent;		/* close once out is written */
	bool want_out, paused;		/* EPOLLOUT / no EPOLLIN in the mask */
};

/* conn_init - take over fd (non-blocking) on loop l; not yet watched. */
void conn_init(struct conn *c, struct loop *l, int fd,
	       const struct conn_ops *ops, size_t in_max, size_t backlog_max);
/* conn_watch - join the epoll set for input; false if epoll refused. */
bool conn_watch(struct conn *c);
/* conn_read - one read into c->in, then ops->input.  Used by the event
 * handler; callable at once after accept (a request often arrives with
 * the connection).  A full c->in is not read into: the protocol decides
 * what an over-long line means. */
void conn_read(struct conn *c);
/* conn_flush - write c->out after this batch of events, in one write for
 * everything the batch queued. */
void conn_flush(struct conn *c);
/* conn_write - write c->out now; what the socket does not take waits for
 * EPOLLOUT. */
void conn_write(struct conn *c);
/* conn_close - close now (ops->closed runs, ops->free after the batch). */
void conn_close(struct conn *c);
/* conn_close_later - drop queued output and close after the batch. */
void conn_close_later(struct conn *c);

#endif
