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
 *   - memory: every connection's buffers, plus what its protocol charges
 *     for the state it keeps (conn_charge), count against one budget per
 *     process (conn_budget_set); while the budget is spent, a connection
 *     whose backlog is over its share of it is not read, so the clients
 *     that do not read cannot take the memory of those that do; an input
 *     buffer a long line made large is given back once it is empty;
 *   - the client's EOF: closes the connection, unless the protocol still
 *     owes it an answer (owes_answer): a client may shut down its sending
 *     side after its request and wait for the reply;
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
#include <stdint.h>

#include "buf.h"
#include "loop.h"

struct conn;

/* A transport between the socket and the buffers (TLS, tls.h): without
 * one, conn reads and writes the descriptor.  read and write return the
 * bytes moved, 0 for the end of the stream (read), or one of: */
#define CONN_IO_ERROR		(-1)	/* broken: close */
#define CONN_IO_WANT_IN		(-2)	/* retry when the socket is readable */
#define CONN_IO_WANT_OUT	(-3)	/* retry when the socket is writable */

struct conn_xio {
	long (*read)(struct conn *c, void *p, size_t n);
	long (*write)(struct conn *c, const void *p, size_t n);
	/* pending - bytes the transport decoded that no read took yet (they
	 * are not on the socket, so epoll will not report them) */
	bool (*pending)(struct conn *c);
	/* end - the connection closes (before its descriptor): say goodbye
	 * if that cannot block, and release the transport */
	void (*end)(struct conn *c);
};

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
	/* drained - optional: everything queued has been written (a relay
	 * resumes the peer whose bytes it was forwarding). */
	void (*drained)(struct conn *c);
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
	bool held;			/* conn_hold: the protocol is busy */
	unsigned int mask;		/* the events epoll watches */
	bool read_queued;		/* a deferred read is pending */
	bool read_full;			/* the last read filled its request */
	bool read_wants_out;		/* the transport's read waits for
					 * EPOLLOUT */
	bool write_wants_in;		/* its write waits for EPOLLIN */
	const struct conn_xio *xio;	/* NULL: the plain descriptor */
	void *xio_ctx;			/* the transport's state */
	bool owes_answer;		/* set by the protocol: the client's
					 * EOF (a half-close) stops reading
					 * instead of closing; the protocol
					 * closes once it has answered */
	bool read_eof;			/* the client's EOF was read */
	size_t counted;			/* its buffers' bytes in the budget */
	size_t charged;			/* conn_charge's bytes in the budget */
	uint64_t last_io;		/* loop_now() of the last byte read
					 * or written, or of conn_init */
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
/* conn_hold - stop (true) or resume (false) reading: the protocol waits
 * for something else (a next hop, authd) and must not be handed more
 * input meanwhile.  Resuming handles input already buffered at once. */
void conn_hold(struct conn *c, bool hold);
/* conn_set_xio - put a transport between the socket and the buffers
 * (ctx is its state; xio->end releases it). */
void conn_set_xio(struct conn *c, const struct conn_xio *xio, void *ctx);
/* conn_connect - start a stream connection without blocking: to
 * unix_path when it is not NULL, else to sa (TCP, with TCP_NODELAY: the
 * protocols on it write a request and wait for its answer, which Nagle
 * and a delayed ACK would hold 40 ms).  Returns 1 connected, 0 in
 * progress (wait for writability, then read SO_ERROR), or -1 with errno
 * (an AF_UNIX EAGAIN, a full backlog, fails too: it does not go on in
 * the background as EINPROGRESS does).  *fd_r is the socket, non-
 * blocking and close-on-exec, or -1. */
struct sockaddr;
int conn_connect(const char *unix_path, const struct sockaddr *sa,
		 unsigned int salen, int *fd_r);
/* conn_budget_set - the memory budget of all connections together, in
 * bytes (0: none, only each connection's backlog_max). */
void conn_budget_set(size_t max);
/* conn_budget_used - the bytes counted now: every connection's buffers
 * and the charges. */
size_t conn_budget_used(void);
/* conn_budget_spent - whether the budget is set and used up. */
bool conn_budget_spent(void);
/* conn_budget_share - what one connection may hold while the budget is
 * spent: the budget divided among the connections, at least a few KiB. */
size_t conn_budget_share(void);
/* conn_charge - count (delta > 0) or stop counting (delta < 0) bytes of
 * state a protocol keeps for c; what is still charged when c is freed is
 * given back then. */
void conn_charge(struct conn *c, long delta);
/* conn_backlogged - whether c has more output waiting than it may keep:
 * more than backlog_max, or, while the budget is spent, more than its
 * share of it (the budget divided among the connections).  If so, c is
 * not read until its client has taken enough of its replies; the
 * protocol should stop handling its requests (what is left in c->in is
 * handed to ops->input again when reading resumes). */
bool conn_backlogged(struct conn *c);
/* conn_count - connections initialised and not yet freed. */
unsigned long conn_count(void);
/* conn_close - close now (ops->closed runs, ops->free after the batch). */
void conn_close(struct conn *c);
/* conn_close_later - drop queued output and close after the batch. */
void conn_close_later(struct conn *c);

#endif
