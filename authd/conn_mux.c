/*
 * conn_mux - the saslauthd protocol on one connection.  See conn_mux.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "check.h"
#include "server.h"
#include "conn.h"
#include "conn_limit.h"
#include "conn_mux.h"
#include "log.h"
#include "loop.h"
#include "mux.h"
#include "secret.h"
#include "xalloc.h"

enum mux_state { MUX_READING, MUX_CHECKING, MUX_WRITING };

struct mux_conn {
	struct conn conn;		/* first: the buffered connection */
	struct mux_conn *prev, *next;	/* all open connections */
	struct loop_timer timer;
	enum mux_state state;
	struct check *check;
	size_t late;			/* bytes after the request */
	char peer[32];			/* the queue's source without an
					 * address: the client's process */
	struct conn_slot slot;		/* conn_limit's count of us */
};

static struct mux_conn *all_conns;

/* mux_closed - the connection is gone: so is its check's requester. */
static void
mux_closed(struct conn *cn)
{
	struct mux_conn *c = (struct mux_conn *)cn;

	if (c->check != NULL)
		check_cancel(c->check);
	c->check = NULL;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		all_conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	loop_timer_cancel(authd.loop, &c->timer);
	/* max_connections counts descriptors: this one is gone now. */
	conn_limit_release(&c->slot);
}

static void
mux_free(struct conn *cn)
{
	free(cn);
}

/* conn_reply - send the reply now and close once it is out.  The reply
 * is a few bytes on a fresh socket, so one write almost always does;
 * EPOLLOUT covers the rest.  No shutdown(SHUT_WR) first: on a UNIX stream
 * socket close() alone gives the peer its EOF, and data already queued to
 * the peer stays readable after the close (even when unread bytes of the
 * client's make the kernel flag ECONNRESET, the reply is read before the
 * error), so the reply cannot be lost. */
static void
conn_reply(struct mux_conn *c, const char *text)
{
	unsigned char reply[MUX_REPLY_MAX + 2];
	size_t n = mux_reply_encode(text, reply);

	c->state = MUX_WRITING;
	c->conn.owes_answer = true;
	loop_timer_cancel(authd.loop, &c->timer);
	buf_reset(&c->conn.out);
	if (!buf_append(&c->conn.out, reply, n)) {
		conn_close(&c->conn);
		return;
	}
	c->conn.close_when_sent = true;
	conn_write(&c->conn);
}

static void
check_done(void *ctx, enum auth_result result, const struct userdb_name *name)
{
	struct mux_conn *c = ctx;

	(void)name;
	c->check = NULL;
	/* Every failure is the same "NO": the reply never tells an unknown
	 * user from a wrong password.  A temporary failure (overload, the
	 * store unreadable, auth_reply_max) is an empty reply: the protocol
	 * has no word for it, and saslauthd never sends one, but every
	 * client reads a reply shorter than 2 bytes as an error of the
	 * server, not as a refusal: libsasl2 returns SASL_FAIL ("bad
	 * response from saslauthd"), which Postfix answers with 454 4.7.0
	 * (a NO is SASL_BADAUTH, 535); Exim's saslauthd client defers;
	 * testsaslauthd reports an error.  So a right password is never
	 * refused as wrong because authd had no time for it. */
	if (result == AUTH_TEMPFAIL)
		conn_reply(c, "");
	else
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
	ar.peer = c->peer;
	ar.done = check_done;
	ar.ctx = c;
	c->state = MUX_CHECKING;
	/* A client may write its request and shut down its sending side
	 * (as `printf ... | nc -U` does): it still waits for the answer,
	 * and saslauthd gives it.  Its EOF before a whole request means it
	 * went away. */
	c->conn.owes_answer = true;
	loop_timer_cancel(authd.loop, &c->timer);
	/* NULL when the answer was given at once (conn_reply ran already). */
	c->check = check_start(&ar);
}

/* mux_input - the request, decided from the bytes received so far
 * (proto/mux.h).  Bytes after it (a fifth field a 4-field reading did not
 * wait for, or junk) are dropped, but no more than one whole request's
 * worth: a client streaming bytes during its failure delay must not keep
 * the loop reading for it. */
static void
mux_input(struct conn *cn)
{
	struct mux_conn *c = (struct mux_conn *)cn;
	struct mux_request req;

	if (c->state != MUX_READING) {
		c->late += cn->in.len;
		buf_consume(&cn->in, cn->in.len);
		if (c->late > MUX_REQUEST_MAX) {
			log_debug("mux: more than %d bytes after the request: "
				  "closing", MUX_REQUEST_MAX);
			conn_close(cn);
		}
		return;
	}
	switch (mux_request_parse((const unsigned char *)cn->in.data,
				  cn->in.len, &req)) {
	case MUX_PARSE_MORE:
		break;
	case MUX_PARSE_TOO_LONG:
		log_notice("mux: field longer than %d bytes, refused",
			   MUX_FIELD_MAX);
		conn_reply(c, "NO ");
		break;
	case MUX_PARSE_DONE:
		conn_request(c, &req);
		/* The request bytes held the password: wipe them now. */
		if (!cn->closed)
			buf_consume(&cn->in, cn->in.len);
		break;
	}
}

static const struct conn_ops mux_ops = { mux_input, mux_closed, mux_free, NULL };

static void
conn_timeout(struct loop_timer *t)
{
	struct mux_conn *c = (struct mux_conn *)((char *)t -
		offsetof(struct mux_conn, timer));

	log_debug("mux: client sent no complete request within the timeout");
	conn_close(&c->conn);
}

void
conn_mux_accept(int fd, const struct conn_slot *slot)
{
	struct mux_conn *c = xcalloc(1, sizeof(*c));
	struct ucred cred;
	socklen_t len = sizeof(cred);

	c->slot = *slot;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
		snprintf(c->peer, sizeof(c->peer), "mux pid %ld",
			 (long)cred.pid);
	else
		snprintf(c->peer, sizeof(c->peer), "mux");
	conn_init(&c->conn, authd.loop, fd, &mux_ops, MUX_REQUEST_MAX,
		  MUX_REPLY_MAX + 2);
	c->state = MUX_READING;
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
	conn_read(&c->conn);
	if (c->conn.closed || c->conn.io.added)
		return;
	if (!conn_watch(&c->conn)) {
		log_warn("epoll add");
		conn_close(&c->conn);
	}
}

void
conn_mux_close_all(void)
{
	while (all_conns != NULL)
		conn_close(&all_conns->conn);
	/* The frees are deferred: run them now, the loop has stopped. */
	loop_run_deferred(authd.loop);
}
