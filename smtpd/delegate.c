/*
 * delegate - a policy server's connection on the event loop.  See
 * delegate.h; the request and reply codecs are delegate_codec.c.
 *
 * Untrusted input: the server's replies (every byte read; framed by
 * delegate_reply_parse, whose BAD or an over-long reply ends the
 * connection, and judged by delegate_action_parse), and the query values
 * of the client (refused by delegate_request_format before they are
 * sent).
 *
 * Shape: requests queue in the order asked (d->head); the head is sent
 * when the connection is ready and idle, and the next one only after its
 * reply: the protocol has no way to say which request a reply answers.
 * One timer serves the oldest request's deadline while any waits, and
 * the idle limit otherwise.  Answers go to a second list and reach the
 * callers from a deferred call, never from inside delegate_ask.
 *
 * As in relay.c, the connection is a struct link of its own: conn frees
 * it after the batch of events in which it closed, and a delegate that
 * reconnects at once must not have that deferred free hit its new
 * connection.
 */
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "conn.h"
#include "delegate.h"
#include "log.h"
#include "xalloc.h"

/* conn pauses reading above its output backlog; a request is a few
 * hundred bytes, so this is never reached. */
#define DELEGATE_CONN_BACKLOG	(1024 * 1024)
/* One complaint about a failing server per this many milliseconds. */
#define DELEGATE_LOG_QUIET_MS	10000

struct delegate_req {
	struct delegate_req *next;
	struct delegate *d;
	delegate_cb *cb;
	void *arg;
	struct buf text;		/* the request as sent */
	uint64_t deadline;		/* loop_now() milliseconds */
	bool queued;			/* on d->head's list */
	bool sent;			/* written on the current link */
	bool retried;			/* sent once more after a close */
	bool cancelled;
	struct delegate_action action;	/* once answered */
};

struct link {
	struct conn c;			/* first: conn hands us &c */
	struct loop_io cio;		/* the connect, before conn_init */
	struct delegate *d;		/* NULL once the delegate let go */
	bool conn_ready;		/* conn_init done: conn owns the fd */
	struct delegate_req *inflight;	/* sent, its reply not read */
	bool partial;			/* part of inflight's reply came */
	unsigned int answered;		/* replies read on this link */
	uint64_t born;			/* connected at, loop_now() */
};

struct delegate {
	struct loop *loop;
	char *name;			/* the spec */
	char *unix_path;		/* or NULL: addr */
	struct sockaddr_storage addr;
	socklen_t addr_len;
	unsigned int timeout_ms, max_idle_ms, max_ttl_ms;
	char *policy_context;
	struct delegate_action fallback;	/* the default action */
	struct link *link;		/* NULL: not connected */
	struct loop_timer timer;
	struct delegate_req *head, **tail;	/* waiting, in order */
	size_t nqueued;
	/* answered, their callbacks not run yet */
	struct delegate_req *done, **done_tail;
	bool deliver_queued;		/* deliver_cb is deferred */
	bool delivering;		/* inside a callback */
	bool freed;			/* delegate_free ran */
	uint64_t quiet_until;		/* complain: no log before this */
	unsigned int suppressed;	/* complaints not logged since */
};

static void pump(struct delegate *d);

/* --- logging --- */

/* complain - a failure of the server (down, slow, broken): logged once
 * per DELEGATE_LOG_QUIET_MS with a count of the ones held back, so a
 * dead server under load cannot flood the log. */
static void __attribute__((format(printf, 2, 3)))
complain(struct delegate *d, const char *fmt, ...)
{
	uint64_t now = loop_now(d->loop);
	char why[256];
	va_list ap;

	if (now < d->quiet_until) {
		d->suppressed++;
		return;
	}
	va_start(ap, fmt);
	(void)vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (d->suppressed > 0)
		log_warnx("policy server %s: %s (and %u failures not logged "
			  "before)", d->name, why, d->suppressed);
	else
		log_warnx("policy server %s: %s", d->name, why);
	d->suppressed = 0;
	d->quiet_until = now + DELEGATE_LOG_QUIET_MS;
}

/* --- answers and their delivery --- */

static void
req_free(struct delegate_req *r)
{
	buf_free(&r->text);
	free(r);
}

static void
queue_remove(struct delegate *d, struct delegate_req *r)
{
	struct delegate_req **pp;

	for (pp = &d->head; *pp != NULL; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			if (*pp == NULL)
				d->tail = pp;
			r->next = NULL;
			r->queued = false;
			d->nqueued--;
			return;
		}
}

static void
free_all(struct delegate *d)
{
	struct delegate_req *r;

	while ((r = d->head) != NULL) {
		d->head = r->next;
		req_free(r);
	}
	while ((r = d->done) != NULL) {
		d->done = r->next;
		req_free(r);
	}
	free(d->name);
	free(d->unix_path);
	free(d->policy_context);
	free(d);
}

static void
deliver_cb(void *p)
{
	struct delegate *d = p;
	struct delegate_req *r;

	d->deliver_queued = false;
	while (!d->freed && (r = d->done) != NULL) {
		d->done = r->next;
		if (d->done == NULL)
			d->done_tail = &d->done;
		if (!r->cancelled) {
			d->delivering = true;
			r->cb(r->arg, &r->action);
			d->delivering = false;
		}
		req_free(r);
	}
	if (d->freed && !d->deliver_queued)
		free_all(d);
}

/* answer - r is answered with a (copied); its callback runs from a
 * deferred call. */
static void
answer(struct delegate *d, struct delegate_req *r,
       const struct delegate_action *a)
{
	if (r->queued)
		queue_remove(d, r);
	r->action = *a;
	*d->done_tail = r;
	d->done_tail = &r->next;
	if (!d->deliver_queued && !d->freed) {
		d->deliver_queued = true;
		loop_defer(d->loop, deliver_cb, d);
	}
}

static void
answer_default(struct delegate *d, struct delegate_req *r)
{
	answer(d, r, &d->fallback);
}

/* --- the connection --- */

static void
link_free_cb(void *p)
{
	free(p);
}

/* link_let_go - close the connection (its memory goes after this batch
 * of events); what was in flight is the caller's to answer or resend. */
static void
link_let_go(struct delegate *d)
{
	struct link *k = d->link;

	d->link = NULL;
	k->d = NULL;
	if (k->inflight != NULL)
		k->inflight->sent = false;
	k->inflight = NULL;
	if (k->conn_ready) {
		conn_close(&k->c);	/* ops->free frees k */
		return;
	}
	if (k->cio.fd >= 0) {
		loop_del(d->loop, &k->cio);
		close(k->cio.fd);
	}
	loop_defer(d->loop, link_free_cb, k);
}

/* fail_connect - the connection could not be made: every waiting
 * request was waiting for it, and gets the default action. */
static void
fail_connect(struct delegate *d, const char *why)
{
	complain(d, "cannot connect: %s; default action for %zu request%s",
		 why, d->nqueued, d->nqueued == 1 ? "" : "s");
	link_let_go(d);
	while (d->head != NULL)
		answer_default(d, d->head);
	pump(d);
}

/* fail_lost - the connection broke with a request in flight (or was
 * found unusable): that one gets the default action, and the others a
 * new connection. */
static void
fail_lost(struct delegate *d, const char *why)
{
	struct delegate_req *r = d->link->inflight;

	complain(d, "%s", why);
	link_let_go(d);
	if (r != NULL)
		answer_default(d, r);
	pump(d);
}

static void
reply_read(struct delegate *d, struct link *k, const char *action,
	   size_t action_len)
{
	struct delegate_req *r = k->inflight;
	struct delegate_action a;
	const char *why;
	char safe[300];

	k->inflight = NULL;
	k->partial = false;
	k->answered++;
	if (action == NULL) {
		complain(d, "reply without an action; default action");
		answer_default(d, r);
		return;
	}
	switch (delegate_action_parse(action, action_len, &a, &why)) {
	case DELEGATE_ACTION_OK:
		answer(d, r, &a);
		break;
	case DELEGATE_ACTION_WARN:
		log_safe(action, action_len, safe, sizeof(safe));
		log_warnx("policy server %s: action \"%s\": %s", d->name, safe,
			  why);
		answer(d, r, &a);
		break;
	case DELEGATE_ACTION_BAD:
		log_safe(action, action_len, safe, sizeof(safe));
		log_warnx("policy server %s: action \"%s\": %s; default action",
			  d->name, safe, why);
		answer_default(d, r);
		break;
	}
}

static void
link_input(struct conn *c)
{
	struct link *k = (struct link *)c;
	struct delegate *d;
	const char *action;
	size_t used, action_len;

	while ((d = k->d) != NULL && !c->closed && c->in.len > 0) {
		switch (delegate_reply_parse(c->in.data, c->in.len, &used,
					     &action, &action_len)) {
		case DELEGATE_REPLY_MORE:
			if (c->in.len >= c->in_max) {
				fail_lost(d, "protocol error: reply too long");
				return;
			}
			k->partial = true;
			return;
		case DELEGATE_REPLY_BAD:
			fail_lost(d, "protocol error: malformed reply");
			return;
		case DELEGATE_REPLY_DONE:
			if (k->inflight == NULL) {
				fail_lost(d, "protocol error: a reply to no "
					  "request");
				return;
			}
			/* action points into c->in: judged before the
			 * bytes go. */
			reply_read(d, k, action, action_len);
			buf_consume(&c->in, used);
			/* Nothing may follow a reply before the next
			 * request: taken as that one's answer it would put
			 * every later answer on the wrong request. */
			if (c->in.len > 0) {
				fail_lost(d, "protocol error: data after the "
					  "reply");
				return;
			}
			pump(d);
			break;
		}
	}
}

static void
link_closed(struct conn *c)
{
	struct link *k = (struct link *)c;
	struct delegate *d = k->d;
	struct delegate_req *r;

	if (d == NULL)
		return;
	r = k->inflight;
	if (r == NULL) {
		/* The server's own idle timeout: nothing lost. */
		log_debug("policy server %s closed an idle connection",
			  d->name);
		link_let_go(d);
		pump(d);
		return;
	}
	/* A reused connection the server closed while our request was on
	 * its way: not an answer.  Once more on a new connection, as
	 * Postfix's attr_clnt does; a fresh connection that closes is. */
	if (k->answered > 0 && !k->partial && !r->retried && !r->cancelled) {
		log_debug("policy server %s closed a reused connection; "
			  "sending again", d->name);
		r->retried = true;
		link_let_go(d);
		pump(d);
		return;
	}
	fail_lost(d, "connection closed before the reply");
}

static void
link_free(struct conn *c)
{
	free(c);
}

static const struct conn_ops link_ops = {
	.input = link_input,
	.closed = link_closed,
	.free = link_free,
};

static void
link_connected(struct delegate *d, struct link *k)
{
	conn_init(&k->c, d->loop, k->cio.fd, &link_ops, DELEGATE_REPLY_MAX,
		  DELEGATE_CONN_BACKLOG);
	k->conn_ready = true;
	k->born = loop_now(d->loop);
	if (!conn_watch(&k->c)) {
		fail_connect(d, strerror(errno));
		return;
	}
	pump(d);
}

static void
connect_event(struct loop_io *io, uint32_t events)
{
	struct link *k = (struct link *)(void *)((char *)io -
						 offsetof(struct link, cio));
	struct delegate *d = k->d;
	socklen_t len = sizeof(int);
	int err = 0;

	(void)events;
	if (d == NULL)
		return;
	if (getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err != 0) {
		fail_connect(d, strerror(err));
		return;
	}
	loop_del(d->loop, io);
	link_connected(d, k);
}

/* link_connect - start a connection without blocking; the rest happens
 * in the loop.  Failures answer the waiting requests (deferred). */
static void
link_connect(struct delegate *d)
{
	struct link *k = xcalloc(1, sizeof(*k));
	int rc;

	k->d = d;
	k->cio.fd = -1;
	k->cio.cb = connect_event;
	d->link = k;
	/* The path's length was checked by delegate_new. */
	rc = conn_connect(d->unix_path, (const struct sockaddr *)&d->addr,
			  d->addr_len, &k->cio.fd);
	if (rc < 0) {
		fail_connect(d, strerror(errno));
		return;
	}
	if (rc == 1) {
		link_connected(d, k);
		return;
	}
	if (!loop_add(d->loop, &k->cio, EPOLLOUT))
		fail_connect(d, strerror(errno));
}

/* --- the queue --- */

/* arm_timer - the oldest request's deadline; with none waiting, the
 * idle limit of a connected link. */
static void
arm_timer(struct delegate *d)
{
	uint64_t now = loop_now(d->loop);

	if (d->head != NULL)
		loop_timer_set(d->loop, &d->timer, d->head->deadline > now ?
			       d->head->deadline - now : 0);
	else if (d->link != NULL && d->link->conn_ready)
		loop_timer_set(d->loop, &d->timer, d->max_idle_ms);
	else
		loop_timer_cancel(d->loop, &d->timer);
}

static void
timer_cb(struct loop_timer *t)
{
	struct delegate *d = (struct delegate *)(void *)((char *)t -
		offsetof(struct delegate, timer));
	uint64_t now = loop_now(d->loop);
	struct delegate_req *r;

	if (d->head == NULL) {
		if (d->link != NULL) {
			log_debug("policy server %s: closing an idle "
				  "connection", d->name);
			link_let_go(d);
		}
		return;
	}
	/* Deadlines grow along the queue: only the front can be due. */
	while ((r = d->head) != NULL && r->deadline <= now) {
		if (d->link != NULL && d->link->inflight == r) {
			/* Its reply, if it ever comes, would be read as
			 * the next request's: this connection is done. */
			complain(d, "timed out; default action");
			link_let_go(d);
		} else {
			complain(d, "no answer in time (connecting or "
				 "waiting in the queue); default action");
		}
		answer_default(d, r);
	}
	/* A connection still being made with nobody waiting for it. */
	if (d->head == NULL && d->link != NULL && !d->link->conn_ready)
		link_let_go(d);
	pump(d);
}

/* pump - send the oldest request when the connection is ready and idle;
 * connect when there is none. */
static void
pump(struct delegate *d)
{
	struct delegate_req *r = d->head;
	struct link *k = d->link;

	if (d->freed)
		return;
	if (r != NULL && k == NULL) {
		link_connect(d);	/* calls pump again when done */
		return;
	}
	if (r != NULL && k->conn_ready && k->inflight == NULL) {
		/* Postfix's max_ttl: an old connection is replaced between
		 * requests, never under one (nor before its first). */
		if (k->answered > 0 &&
		    loop_now(d->loop) - k->born >= d->max_ttl_ms) {
			log_debug("policy server %s: connection reached its "
				  "time to live", d->name);
			link_let_go(d);
			link_connect(d);
			return;
		}
		k->inflight = r;
		k->partial = false;
		r->sent = true;
		(void)buf_append(&k->c.out, r->text.data, r->text.len);
		if (!buf_ok(&k->c.out)) {
			fail_lost(d, "out of memory");
			return;
		}
		conn_flush(&k->c);
	}
	arm_timer(d);
}

/* --- the API --- */

void
delegate_conf_defaults(struct delegate_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->timeout_ms = 100 * 1000;
	conf->max_idle_ms = 300 * 1000;
	conf->max_ttl_ms = 1000 * 1000;
	conf->default_action = DELEGATE_DEFAULT_ACTION;
}

/* parse_spec - "unix:/path" or "inet:host:port" into d; NULL or an
 * allocated reason. */
static char *
parse_spec(struct delegate *d, const char *spec)
{
	struct addrinfo hints, *res;
	const char *hp, *colon;
	char host[256];
	size_t hn;
	int rc;

	if (strncmp(spec, "unix:", 5) == 0) {
		struct sockaddr_un sun;

		if (spec[5] != '/')
			return xasprintf("%s: the socket path must be "
					 "absolute", spec);
		if (strlen(spec + 5) >= sizeof(sun.sun_path))
			return xasprintf("%s: socket path too long", spec);
		d->unix_path = xstrdup(spec + 5);
		return NULL;
	}
	if (strncmp(spec, "inet:", 5) != 0)
		return xasprintf("%s: expected unix:/path or inet:host:port",
				 spec);
	hp = spec + 5;
	if ((colon = strrchr(hp, ':')) == NULL || colon[1] == '\0' ||
	    colon == hp)
		return xasprintf("%s: expected inet:host:port", spec);
	hn = (size_t)(colon - hp);
	if (hn >= 2 && hp[0] == '[' && hp[hn - 1] == ']') {
		hp++;
		hn -= 2;
	}
	if (hn == 0 || hn >= sizeof(host))
		return xasprintf("%s: bad host", spec);
	memcpy(host, hp, hn);
	host[hn] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, colon + 1, &hints, &res)) != 0)
		return xasprintf("%s: %s", spec, gai_strerror(rc));
	memcpy(&d->addr, res->ai_addr, res->ai_addrlen);
	d->addr_len = res->ai_addrlen;
	freeaddrinfo(res);
	return NULL;
}

struct delegate *
delegate_new(struct loop *l, const char *spec, const struct delegate_conf *conf,
	     char **errmsg_r)
{
	struct delegate_conf defaults;
	struct delegate *d = xcalloc(1, sizeof(*d));
	const char *why;

	if (conf == NULL) {
		delegate_conf_defaults(&defaults);
		conf = &defaults;
	}
	d->loop = l;
	d->name = xstrdup(spec);
	d->tail = &d->head;
	d->done_tail = &d->done;
	d->timeout_ms = conf->timeout_ms;
	d->max_idle_ms = conf->max_idle_ms;
	d->max_ttl_ms = conf->max_ttl_ms;
	if (conf->policy_context != NULL)
		d->policy_context = xstrdup(conf->policy_context);
	loop_timer_init(&d->timer, timer_cb);
	if ((*errmsg_r = parse_spec(d, spec)) != NULL)
		goto fail;
	if (delegate_action_parse(conf->default_action,
				  strlen(conf->default_action), &d->fallback,
				  &why) != DELEGATE_ACTION_OK) {
		*errmsg_r = xasprintf("%s: default action \"%s\": %s", spec,
				      conf->default_action, why);
		goto fail;
	}
	d->fallback.defaulted = true;
	return d;
fail:
	free_all(d);
	return NULL;
}

void
delegate_free(struct delegate *d)
{
	if (d == NULL)
		return;
	d->freed = true;
	loop_timer_cancel(d->loop, &d->timer);
	if (d->link != NULL)
		link_let_go(d);
	if (!d->deliver_queued && !d->delivering)
		free_all(d);
}

const char *
delegate_name(const struct delegate *d)
{
	return d->name;
}

struct delegate_req *
delegate_ask(struct delegate *d, const struct delegate_query *q,
	     delegate_cb *cb, void *arg)
{
	struct delegate_req *r = xcalloc(1, sizeof(*r));
	const char *why;

	r->d = d;
	r->cb = cb;
	r->arg = arg;
	r->deadline = loop_now(d->loop) + d->timeout_ms;
	if ((why = delegate_request_format(q, d->policy_context,
					   &r->text)) != NULL) {
		/* The value itself is the client's: not logged. */
		log_warnx("policy server %s: not asked: %s refused (a line "
			  "break or control character, or too long); default "
			  "action", d->name, why);
		answer_default(d, r);
		return r;
	}
	if (d->nqueued >= DELEGATE_QUEUE_MAX) {
		complain(d, "%zu requests waiting; default action",
			 d->nqueued);
		answer_default(d, r);
		return r;
	}
	*d->tail = r;
	d->tail = &r->next;
	r->queued = true;
	d->nqueued++;
	pump(d);
	return r;
}

void
delegate_cancel(struct delegate_req *r)
{
	struct delegate *d = r->d;

	r->cancelled = true;
	/* In flight: its reply still comes, and is dropped (answer keeps
	 * the protocol in step).  Answered: deliver_cb frees it. */
	if (r->queued && !r->sent) {
		queue_remove(d, r);
		req_free(r);
		arm_timer(d);
	}
}
