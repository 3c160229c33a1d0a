/*
 * conn - buffered connections.  See conn.h.
 */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "conn.h"
#include "secret.h"

/* A read asks for this much at most: a few typical requests. */
#define CONN_READ_CHUNK	4096
/* The first read of a connection asks for this much: most requests are
 * well under it, and an idle connection should cost little (an input
 * buffer of CONN_READ_CHUNK for each of 1,000 idle mux clients cost
 * 3 MB).  The buffer doubles from there while a client sends more. */
#define CONN_READ_FIRST	256
/* An output buffer that a burst made larger than this is given back once
 * it is empty. */
#define CONN_OUT_KEEP	(16 * 1024)
/* An input buffer a long line made larger than this (reads of
 * CONN_READ_CHUNK alone never do) is given back once it is empty: an idle
 * connection should cost little. */
#define CONN_IN_KEEP	(2 * CONN_READ_CHUNK)
/* While the budget is spent, a connection may still keep this much
 * output waiting, however many share the budget: a few replies. */
#define CONN_SHARE_MIN	(4 * 1024)

/* The memory budget (conn_budget_set): loop thread only. */
static size_t budget_max, budget_used;
static unsigned long n_conns;

static void conn_event(struct loop_io *io, uint32_t events);

void
conn_init(struct conn *c, struct loop *l, int fd, const struct conn_ops *ops,
	  size_t in_max, size_t backlog_max)
{
	struct buf empty = BUF_INIT;

	c->io.fd = fd;
	c->io.cb = conn_event;
	c->loop = l;
	c->ops = ops;
	c->in = empty;
	c->out = empty;
	c->in_max = in_max;
	c->backlog_max = backlog_max;
	c->last_io = loop_now(l);
	n_conns++;
}

/* count - bring c's buffers' part of the budget up to date. */
static void
count(struct conn *c)
{
	size_t now = c->in.cap + c->out.cap;

	budget_used = budget_used - c->counted + now;
	c->counted = now;
}

void
conn_budget_set(size_t max)
{
	budget_max = max;
}

size_t
conn_budget_used(void)
{
	return budget_used;
}

bool
conn_budget_spent(void)
{
	return budget_max != 0 && budget_used >= budget_max;
}

unsigned long
conn_count(void)
{
	return n_conns;
}

void
conn_charge(struct conn *c, long delta)
{
	if (delta < 0 && (size_t)-delta > c->charged)
		delta = -(long)c->charged;
	c->charged += (size_t)delta;
	budget_used += (size_t)delta;
}

size_t
conn_budget_share(void)
{
	size_t s = budget_max / (n_conns > 0 ? n_conns : 1);

	return s > CONN_SHARE_MIN ? s : CONN_SHARE_MIN;
}

/* over - whether c's waiting output is over what it may keep (at
 * resume_at: half of it, so that it does not stop and go for every
 * reply). */
static bool
over(struct conn *c, bool resume_at)
{
	size_t pending = c->out.len - c->out_off;
	size_t lim = c->backlog_max;

	count(c);
	if (conn_budget_spent() && conn_budget_share() < lim)
		lim = conn_budget_share();
	return pending > (resume_at ? lim / 2 : lim);
}

bool
conn_watch(struct conn *c)
{
	if (c->closed || c->io.added)
		return true;
	c->mask = EPOLLIN | EPOLLRDHUP;
	return loop_add(c->loop, &c->io, c->mask);
}

static void
conn_free_cb(void *p)
{
	struct conn *c = p;

	buf_free(&c->in);
	buf_free(&c->out);
	count(c);
	conn_charge(c, -(long)c->charged);
	n_conns--;
	c->ops->free(c);
}

void
conn_close(struct conn *c)
{
	if (c->closed)
		return;
	c->closed = true;
	loop_del(c->loop, &c->io);
	if (c->xio != NULL)
		c->xio->end(c);
	{
		/* Bytes the client sent that we never read make the close
		 * a reset (ECONNRESET on its next read, instead of an
		 * orderly end): take what is already here, a little. */
		char junk[512];
		int i;

		for (i = 0; i < 4 && recv(c->io.fd, junk, sizeof(junk),
					  MSG_DONTWAIT) > 0; i++)
			;
		secret_wipe(junk, sizeof(junk));
	}
	close(c->io.fd);
	c->ops->closed(c);
	/* Freed after this batch of events: one may still name us.
	 * Deferred calls run first in, first out, so a flush queued before
	 * the close runs before the free and finds the connection closed. */
	loop_defer(c->loop, conn_free_cb, c);
}

static void
conn_close_cb(void *p)
{
	conn_close(p);
}

void
conn_close_later(struct conn *c)
{
	if (c->dying || c->closed)
		return;
	c->dying = true;
	buf_reset(&c->out);
	c->out_off = 0;
	loop_defer(c->loop, conn_close_cb, c);
}

/* set_events - EPOLLOUT while output waits (or the transport's read
 * waits for writability), EPOLLIN unless paused or held; one epoll_ctl
 * only on change.  (EPOLLHUP and EPOLLERR come regardless, so a paused
 * connection still notices the client going away.) */
static void
set_events(struct conn *c, bool want_out, bool paused)
{
	unsigned int mask;

	c->want_out = want_out;
	c->paused = paused;
	mask = (paused || c->held || c->read_eof ? 0 : EPOLLIN | EPOLLRDHUP) |
	       (want_out || c->read_wants_out ? EPOLLOUT : 0);
	if (mask == c->mask && c->io.added)
		return;
	c->mask = mask;
	(void)loop_mod(c->loop, &c->io, mask);
}

void
conn_set_xio(struct conn *c, const struct conn_xio *xio, void *ctx)
{
	c->xio = xio;
	c->xio_ctx = ctx;
}

/* xwrite / xread - through the transport, or the descriptor (whose
 * EAGAIN means "wait for the event we are already waiting for"). */
static long
xwrite(struct conn *c, const void *p, size_t n)
{
	ssize_t r;

	if (c->xio != NULL)
		return c->xio->write(c, p, n);
	do
		r = write(c->io.fd, p, n);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EAGAIN ? CONN_IO_WANT_OUT : CONN_IO_ERROR;
	return r;
}

static long
xread(struct conn *c, void *p, size_t n)
{
	ssize_t r;

	if (c->xio != NULL)
		return c->xio->read(c, p, n);
	do
		r = read(c->io.fd, p, n);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EAGAIN ? CONN_IO_WANT_IN : CONN_IO_ERROR;
	return r;
}

static void conn_read_cb(void *p);

/* resume - set_events after a write; a connection that stops being paused
 * has its waiting input handled (it will not be reported again: it was
 * read already, and the protocol left it for when its client reads). */
static void
resume(struct conn *c, bool want_out, bool paused)
{
	bool was = c->paused;

	set_events(c, want_out, paused);
	if (was && !paused && !c->held && c->in.len > 0 && !c->read_queued) {
		c->read_queued = true;
		loop_defer(c->loop, conn_read_cb, c);
	}
}

bool
conn_backlogged(struct conn *c)
{
	if (!over(c, false))
		return false;
	if (!c->closed)
		set_events(c, true, true);
	return true;
}

void
conn_write(struct conn *c)
{
	if (c->dying) {
		buf_reset(&c->out);
		c->out_off = 0;
		return;
	}
	while (!c->closed && c->out_off < c->out.len) {
		long n = xwrite(c, c->out.data + c->out_off,
				c->out.len - c->out_off);

		if (n == CONN_IO_WANT_OUT || n == CONN_IO_WANT_IN) {
			buf_consume(&c->out, c->out_off);
			c->out_off = 0;
			/* A transport's write that waits for input (a TLS
			 * handshake) is retried on EPOLLIN, not EPOLLOUT,
			 * which would fire at once and spin. */
			c->write_wants_in = n == CONN_IO_WANT_IN;
			resume(c, n == CONN_IO_WANT_OUT,
			       c->paused && over(c, true));
			return;
		}
		if (n < 0) {
			/* Close after this batch: callers up the stack (a
			 * finished check) may still hold the connection. */
			conn_close_later(c);
			return;
		}
		c->out_off += (size_t)n;
		c->last_io = loop_now(c->loop);
	}
	if (c->closed)
		return;
	if (c->out.cap > CONN_OUT_KEEP)
		buf_free(&c->out);
	else
		buf_reset(&c->out);
	c->out_off = 0;
	count(c);
	if (c->close_when_sent) {
		conn_close(c);
		return;
	}
	if (c->want_out || c->paused)
		resume(c, false, false);
	if (c->ops->drained != NULL)
		c->ops->drained(c);
}

static void
conn_flush_cb(void *p)
{
	struct conn *c = p;

	c->flush_queued = false;
	if (!c->closed)
		conn_write(c);
}

void
conn_flush(struct conn *c)
{
	if (c->closed || c->flush_queued)
		return;
	c->flush_queued = true;
	count(c);
	loop_defer(c->loop, conn_flush_cb, c);
}

static void
conn_read_cb(void *p)
{
	struct conn *c = p;

	c->read_queued = false;
	conn_read(c);
}

void
conn_hold(struct conn *c, bool hold)
{
	if (c->closed || c->held == hold)
		return;
	c->held = hold;
	set_events(c, c->want_out, c->paused);
	if (!hold && (c->in.len > 0 ||
		      (c->xio != NULL && c->xio->pending(c))) &&
	    !c->read_queued) {
		/* What arrived while held will not be reported again. */
		c->read_queued = true;
		loop_defer(c->loop, conn_read_cb, c);
	}
}

void
conn_read(struct conn *c)
{
	size_t room, want;
	long n;

	if (c->closed || c->held || c->dying || c->read_eof)
		return;
	if (conn_backlogged(c))
		return;
	room = c->in_max - c->in.len;
	if (room == 0) {
		c->ops->input(c);	/* the protocol refuses the line */
		return;
	}
	want = c->in.cap > c->in.len + 1 ? c->in.cap - c->in.len - 1 : 0;
	if (want < CONN_READ_FIRST)
		want = c->in.cap > CONN_READ_FIRST ? c->in.cap : CONN_READ_FIRST - 1;
	/* The last read filled what it asked for: more is coming (a
	 * message body), so ask for twice as much, up to a chunk. */
	if (c->read_full && want < c->in.cap * 2)
		want = c->in.cap * 2;
	if (want > CONN_READ_CHUNK)
		want = CONN_READ_CHUNK;
	if (room > want)
		room = want;
	if (!buf_reserve(&c->in, room)) {
		conn_close(c);
		return;
	}
	count(c);
	n = xread(c, c->in.data + c->in.len, room);
	if (c->closed)
		return;		/* the transport's callback closed us */
	if (n == CONN_IO_WANT_IN) {
		if (c->in.len > 0)
			c->ops->input(c);	/* conn_hold's leftovers */
		return;
	}
	if (n == CONN_IO_WANT_OUT) {
		c->read_wants_out = true;
		set_events(c, c->want_out, c->paused);
		return;
	}
	if (n == 0 && c->owes_answer) {
		c->read_eof = true;
		set_events(c, c->want_out, c->paused);
		return;
	}
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->read_full = (size_t)n == room;
	c->in.len += (size_t)n;
	c->in.data[c->in.len] = '\0';
	c->last_io = loop_now(c->loop);
	c->ops->input(c);
	if (!c->closed && c->in.len == 0 && c->in.cap > CONN_IN_KEEP) {
		buf_free(&c->in);
		count(c);
	}
	/* A transport may hold decoded bytes the socket no longer shows. */
	if (!c->closed && !c->held && c->xio != NULL && c->xio->pending(c) &&
	    !c->read_queued) {
		c->read_queued = true;
		loop_defer(c->loop, conn_read_cb, c);
	}
}

static void
conn_event(struct loop_io *io, uint32_t events)
{
	struct conn *c = (struct conn *)io;

	if (c->closed)
		return;
	if (events & EPOLLOUT)
		conn_write(c);
	if (!c->closed && (events & EPOLLOUT) && c->read_wants_out) {
		c->read_wants_out = false;
		set_events(c, c->want_out, c->paused);
		conn_read(c);
	}
	if (!c->closed && (events & EPOLLIN) && c->write_wants_in) {
		c->write_wants_in = false;
		conn_write(c);
	}
	if (!c->closed && (c->paused || c->read_eof) &&
	    (events & (EPOLLHUP | EPOLLERR))) {
		conn_close(c);	/* gone without reading what it asked for */
		return;
	}
	if (!c->closed && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		conn_read(c);
}

int
conn_connect(const char *unix_path, const struct sockaddr *sa,
	     unsigned int salen, int *fd_r)
{
	struct sockaddr_un sun;
	int fd, e;

	*fd_r = -1;
	if (unix_path != NULL) {
		size_t n = strlen(unix_path);

		if (n >= sizeof(sun.sun_path)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		memcpy(sun.sun_path, unix_path, n + 1);
		sa = (const struct sockaddr *)&sun;
		salen = sizeof(sun);
	}
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return -1;
	if (sa->sa_family != AF_UNIX) {
		int one = 1;

		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				 sizeof(one));
	}
	*fd_r = fd;
	if (connect(fd, sa, (socklen_t)salen) == 0)
		return 1;
	if (errno == EINPROGRESS)
		return 0;
	e = errno;
	close(fd);
	*fd_r = -1;
	errno = e;
	return -1;
}
