/*
 * conn_mux - the saslauthd protocol on one connection.  See conn_mux.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "server.h"
#include "conn_mux.h"
#include "log.h"
#include "loop.h"
#include "mux.h"
#include "secret.h"
#include "xalloc.h"

enum mux_state { MUX_READING, MUX_CHECKING, MUX_WRITING, MUX_CLOSED };

struct mux_conn {
	struct loop_io io;		/* first: the loop hands us &io */
	struct mux_conn *prev, *next;	/* all open connections */
	struct loop_timer timer;
	enum mux_state state;
	unsigned char *buf;
	size_t len, cap;
	struct check *check;
	unsigned char reply[MUX_REPLY_MAX + 2];
	size_t reply_len, reply_off;
	size_t late;			/* bytes after the request */
};

static struct mux_conn *all_conns;

static void
conn_free(void *p)
{
	struct mux_conn *c = p;

	secret_free(c->buf, c->cap);
	free(c);
}

static void
conn_close(struct mux_conn *c)
{
	if (c->state == MUX_CLOSED)
		return;
	if (c->check != NULL)
		check_cancel(c->check);
	c->check = NULL;
	c->state = MUX_CLOSED;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		all_conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	loop_timer_cancel(authd.loop, &c->timer);
	loop_del(authd.loop, &c->io);
	close(c->io.fd);
	/* max_connections counts descriptors: this one is gone now. */
	authd.connections--;
	/* Freed after this batch of events: one may still name us. */
	loop_defer(authd.loop, conn_free, c);
}

/* conn_write - send what is left of the reply; close when it is out.
 * The reply is a few bytes on a fresh socket, so one write almost always
 * does; EPOLLOUT covers the rest. */
static void
conn_write(struct mux_conn *c)
{
	while (c->reply_off < c->reply_len) {
		ssize_t n = write(c->io.fd, c->reply + c->reply_off,
				  c->reply_len - c->reply_off);

		if (n < 0) {
			if (errno == EAGAIN) {
				(void)loop_mod(authd.loop, &c->io, EPOLLOUT);
				return;
			}
			if (errno == EINTR)
				continue;
			conn_close(c);
			return;
		}
		c->reply_off += (size_t)n;
	}
	/* No shutdown(SHUT_WR) first: on a UNIX stream socket close() alone
	 * gives the peer its EOF, and data already queued to the peer stays
	 * readable after the close (even when unread bytes of the client's
	 * make the kernel flag ECONNRESET, the reply is read before the
	 * error), so the reply cannot be lost. */
	conn_close(c);
}

static void
conn_reply(struct mux_conn *c, const char *text)
{
	c->reply_len = mux_reply_encode(text, c->reply);
	c->reply_off = 0;
	c->state = MUX_WRITING;
	loop_timer_cancel(authd.loop, &c->timer);
	conn_write(c);
}

static void
check_done(void *ctx, enum auth_result result, const struct userdb_name *name)
{
	struct mux_conn *c = ctx;

	(void)name;
	c->check = NULL;
	/* Every failure is the same "NO": the reply never tells an unknown
	 * user from a wrong password or a back-end problem. */
	conn_reply(c, result == AUTH_OK ? "OK" : "NO");
}

static void
conn_request(struct mux_conn *c, const struct mux_request *req)
{
	struct auth_request ar;

	/* saslauthd 2.1.28's exact replies for empty fields. */
	if (req->len[MUX_LOGIN] == 0) {
		conn_reply(c, "NO NULL login received");
		return;
	}
	if (req->len[MUX_PASSWORD] == 0) {
		conn_reply(c, "NO NULL password received");
		return;
	}
	memset(&ar, 0, sizeof(ar));
	ar.via = "mux";
	ar.login = (const char *)req->field[MUX_LOGIN];
	ar.login_len = req->len[MUX_LOGIN];
	ar.password = (const char *)req->field[MUX_PASSWORD];
	ar.password_len = req->len[MUX_PASSWORD];
	ar.service = (const char *)req->field[MUX_SERVICE];
	ar.service_len = req->len[MUX_SERVICE];
	ar.realm = (const char *)req->field[MUX_REALM];
	ar.realm_len = req->len[MUX_REALM];
	if (req->nfields == 5) {
		ar.client = (const char *)req->field[MUX_CLIENT_ADDR];
		ar.client_len = req->len[MUX_CLIENT_ADDR];
	}
	ar.done = check_done;
	ar.ctx = c;
	c->state = MUX_CHECKING;
	loop_timer_cancel(authd.loop, &c->timer);
	/* NULL when the answer was given at once (conn_reply ran already). */
	c->check = check_start(&ar);
	/* The request bytes held the password: wipe them now. */
	if (c->buf != NULL)
		secret_wipe(c->buf, c->len);
	c->len = 0;
}

static void
conn_read(struct mux_conn *c)
{
	for (;;) {
		struct mux_request req;
		ssize_t n;

		if (c->state == MUX_CLOSED)
			return;
		if (c->state != MUX_READING) {
			/* Late bytes (a fifth field a 4-field reading did not
			 * wait for, or junk): drop them, but notice a client
			 * that went away.  One read per readiness report, and
			 * no more than one whole request's worth: a client
			 * streaming bytes during its failure delay must not
			 * keep the loop reading for it. */
			unsigned char sink[512];

			n = read(c->io.fd, sink, sizeof(sink));
			if (n > 0 && (c->late += (size_t)n) > MUX_REQUEST_MAX) {
				log_debug("mux: more than %d bytes after the "
					  "request: closing", MUX_REQUEST_MAX);
				conn_close(c);
				return;
			}
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
				conn_close(c);
			return;
		}
		if (c->len == c->cap) {
			size_t cap = c->cap * 2 > MUX_REQUEST_MAX ?
				     MUX_REQUEST_MAX : c->cap * 2;
			unsigned char *p = xmalloc(cap);

			memcpy(p, c->buf, c->len);
			secret_free(c->buf, c->cap);
			c->buf = p;
			c->cap = cap;
		}
		n = read(c->io.fd, c->buf + c->len, c->cap - c->len);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				conn_close(c);
			return;
		}
		if (n == 0) {	/* EOF before a whole request: no reply */
			conn_close(c);
			return;
		}
		c->len += (size_t)n;
		switch (mux_request_parse(c->buf, c->len, &req)) {
		case MUX_PARSE_MORE:
			break;
		case MUX_PARSE_TOO_LONG:
			log_notice("mux: field longer than %d bytes, refused",
				   MUX_FIELD_MAX);
			conn_reply(c, "NO ");
			return;
		case MUX_PARSE_DONE:
			conn_request(c, &req);
			break;
		}
	}
}

static void
conn_event(struct loop_io *io, uint32_t events)
{
	struct mux_conn *c = (struct mux_conn *)io;

	if (c->state == MUX_CLOSED)
		return;
	if (c->state == MUX_WRITING && (events & EPOLLOUT)) {
		conn_write(c);
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		conn_read(c);
}

static void
conn_timeout(struct loop_timer *t)
{
	struct mux_conn *c = (struct mux_conn *)((char *)t -
		offsetof(struct mux_conn, timer));

	log_debug("mux: client sent no complete request within the timeout");
	conn_close(c);
}

void
conn_mux_accept(int fd)
{
	struct mux_conn *c = xcalloc(1, sizeof(*c));

	authd.connections++;
	c->io.fd = fd;
	c->io.cb = conn_event;
	c->state = MUX_READING;
	/* Small first: most requests are well under 256 bytes, and idle
	 * connections should cost little. */
	c->cap = 256;
	c->buf = xmalloc(c->cap);
	loop_timer_init(&c->timer, conn_timeout);
	loop_timer_set(authd.loop, &c->timer, authd.set->mux_timeout);
	c->next = all_conns;
	if (all_conns != NULL)
		all_conns->prev = c;
	all_conns = c;
	/* libsasl2 writes its request right after connect(), so it is
	 * usually here already: serving it now, before the socket joins the
	 * epoll set, saves two epoll_ctl calls and a loop iteration per
	 * login (a cached or cheap check is answered and closed right here).
	 * When it is not, the read costs one EAGAIN. */
	conn_read(c);
	if (c->state == MUX_CLOSED || c->io.added)
		return;
	if (!loop_add(authd.loop, &c->io, EPOLLIN | EPOLLRDHUP)) {
		log_warn("epoll add");
		conn_close(c);
	}
}

void
conn_mux_close_all(void)
{
	while (all_conns != NULL)
		conn_close(all_conns);
	/* The frees are deferred: run them now, the loop has stopped. */
	loop_run_deferred(authd.loop);
}
