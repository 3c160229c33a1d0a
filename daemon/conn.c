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
	mask = (paused || c->held ? 0 : EPOLLIN | EPOLLRDHUP) |
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
			set_events(c, n == CONN_IO_WANT_OUT, c->paused &&
				   c->out.len > c->backlog_max / 2);
			return;
		}
		if (n < 0) {
			/* Close after this batch: callers up the stack (a
			 * finished check) may still hold the connection. */
			conn_close_later(c);
			return;
		}
		c->out_off += (size_t)n;
	}
	if (c->closed)
		return;
	if (c->out.cap > CONN_OUT_KEEP)
		buf_free(&c->out);
	else
		buf_reset(&c->out);
	c->out_off = 0;
	if (c->close_when_sent) {
		conn_close(c);
		return;
	}
	if (c->want_out || c->paused)
		set_events(c, false, false);
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

	if (c->closed || c->held || c->dying)
		return;
	if (c->out.len > c->backlog_max) {
		set_events(c, true, true);
		return;
	}
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
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->read_full = (size_t)n == room;
	c->in.len += (size_t)n;
	c->in.data[c->in.len] = '\0';
	c->ops->input(c);
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
	if (!c->closed && c->paused && (events & (EPOLLHUP | EPOLLERR))) {
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
