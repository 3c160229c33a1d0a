/*
 * dnsbl - blocklist look-ups over UDP on the loop.  See dnsbl.h.
 *
 * Untrusted input: the resolver's datagrams (matched on address, id and
 * question before dns_msg_parse believes any of it), the sender domain
 * and the configuration strings.
 *
 * Shape: a look-up (struct dnsbl_query) is WAITING for a slot, then asks
 * for A records (Q_A) and, on a hit, for the TXT record of the same name
 * (Q_TXT), on its own connected socket.  Its result is handed over from
 * a deferred call (Q_DONE), so cb never runs inside the call that
 * started the look-up, and a query is freed only from such a call: a
 * cb may cancel another query whose socket still has an event in the
 * loop's current batch, and that event must find the query's memory
 * (closed, so it does nothing) rather than freed memory.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns_msg.h"
#include "dnsbl.h"
#include "dnsbl_conf.h"
#include "log.h"
#include "xalloc.h"

#define RECV_MAX	8	/* datagrams read per wake-up */
#define WARN_EVERY_MS	(60 * 1000)

enum qstate { Q_NEW, Q_WAITING, Q_A, Q_TXT, Q_DONE, Q_DELIVERING,
	      Q_CANCELLED };

struct qlist {
	struct dnsbl_query *head, *tail;
	size_t n;
};

struct dnsbl_query {
	struct dnsbl *d;		/* NULL once dnsbl_free let go */
	struct dnsbl_query *prev, *next;
	struct qlist *list;		/* waiting, running, done or NULL */
	enum qstate state;
	struct loop_io io;		/* fd -1 when closed */
	struct loop_timer deadline, retry;
	uint64_t deadline_at;
	uint16_t id, qtype;
	bool retried;			/* this phase's query was resent */
	unsigned char qname[DNS_NAME_MAX];
	size_t qname_len;
	unsigned char pkt[DNS_QUERY_MAX];
	size_t pkt_len;
	struct dnsbl_want want;
	char zone[DNSBL_ZONE_MAX + 1];	/* for the log */
	dnsbl_cb *cb;
	void *arg;
	struct dnsbl_answer ans;
};

struct dnsbl {
	struct loop *loop;
	struct sockaddr_storage server;
	socklen_t server_len;
	unsigned int timeout_ms;
	struct qlist waiting, running, done;
	uint64_t warned_at;		/* the last "list refuses us" */
};

static void finish(struct dnsbl_query *q, enum dnsbl_result res,
		   const char *why);

/* --- lists --- */

static void
list_add(struct qlist *l, struct dnsbl_query *q)
{
	q->prev = l->tail;
	q->next = NULL;
	if (l->tail != NULL)
		l->tail->next = q;
	else
		l->head = q;
	l->tail = q;
	l->n++;
	q->list = l;
}

static void
list_remove(struct dnsbl_query *q)
{
	struct qlist *l = q->list;

	if (l == NULL)
		return;
	if (q->prev != NULL)
		q->prev->next = q->next;
	else
		l->head = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	else
		l->tail = q->prev;
	l->n--;
	q->list = NULL;
	q->prev = q->next = NULL;
}

const char *
dnsbl_want_check(const char *want)
{
	struct dnsbl_want w;

	return dnsbl_conf_want(want, &w);
}

const char *
dnsbl_zone_check(const char *zone)
{
	return dnsbl_conf_zone(zone);
}

struct dnsbl *
dnsbl_new(struct loop *l, const char *resolver, unsigned int timeout_ms,
	  char **errmsg_r)
{
	struct dnsbl *d = xcalloc(1, sizeof(*d));

	if (!dnsbl_conf_resolver(resolver, &d->server, &d->server_len,
				 errmsg_r)) {
		free(d);
		return NULL;
	}
	if (timeout_ms == 0) {
		*errmsg_r = xstrdup("DNS blocklist timeout must be > 0");
		free(d);
		return NULL;
	}
	d->loop = l;
	d->timeout_ms = timeout_ms;
	return d;
}

/* --- one look-up --- */

#define Q_OF(p, member) \
	((struct dnsbl_query *)(void *)((char *)(p) - \
		offsetof(struct dnsbl_query, member)))

/* query_stop - close the socket, stop the timers, leave the list. */
static void
query_stop(struct dnsbl_query *q, struct dnsbl *d)
{
	if (q->io.fd >= 0) {
		loop_del(d->loop, &q->io);
		close(q->io.fd);
		q->io.fd = -1;
	}
	loop_timer_cancel(d->loop, &q->deadline);
	loop_timer_cancel(d->loop, &q->retry);
	list_remove(q);
}

static void
deliver(void *p)
{
	struct dnsbl_query *q = p;

	if (q->state == Q_DONE) {
		list_remove(q);
		q->state = Q_DELIVERING;
		q->cb(q->arg, &q->ans);
	}
	free(q);
}

static void start(struct dnsbl_query *q);

/* pump - give free slots to waiting look-ups, oldest first. */
static void
pump(struct dnsbl *d)
{
	while (d->running.n < DNSBL_INFLIGHT_MAX && d->waiting.head != NULL) {
		struct dnsbl_query *q = d->waiting.head;

		list_remove(q);
		start(q);
	}
}

static void
finish(struct dnsbl_query *q, enum dnsbl_result res, const char *why)
{
	struct dnsbl *d = q->d;
	bool had_slot = q->list == &d->running;

	query_stop(q, d);
	q->ans.result = res;
	q->ans.why = why != NULL ? why : "";
	q->state = Q_DONE;
	list_add(&d->done, q);
	loop_defer(d->loop, deliver, q);
	if (had_slot)
		pump(d);
}

/* transmit - (re)send the current query; false when it finished. */
static bool
transmit(struct dnsbl_query *q)
{
	if (send(q->io.fd, q->pkt, q->pkt_len, 0) >= 0)
		return true;
	/* A full socket buffer is what the retry is for. */
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS ||
	    errno == EINTR)
		return true;
	if (errno == ECONNREFUSED) {
		finish(q, DNSBL_ERROR, "resolver port unreachable");
		return false;
	}
	log_warn("dnsbl: send to the resolver");
	finish(q, DNSBL_ERROR, "cannot send to the resolver");
	return false;
}

/* ask - a new query (fresh id) for qtype; retry at half the time left. */
static void
ask(struct dnsbl_query *q, uint16_t qtype)
{
	struct dnsbl *d = q->d;
	uint64_t now = loop_now(d->loop), left;

	if (getrandom(&q->id, sizeof(q->id), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(q->id)) {
		log_warn("dnsbl: getrandom");
		finish(q, DNSBL_ERROR, "no random bytes for a query id");
		return;
	}
	q->qtype = qtype;
	q->retried = false;
	q->pkt_len = dns_msg_query(q->pkt, q->id, q->qname, q->qname_len,
				   qtype);
	if (!transmit(q))
		return;
	left = q->deadline_at > now ? q->deadline_at - now : 0;
	if (left >= 2)
		loop_timer_set(d->loop, &q->retry, left / 2);
}

static void
retry_cb(struct loop_timer *t)
{
	struct dnsbl_query *q = Q_OF(t, retry);

	if ((q->state == Q_A || q->state == Q_TXT) && !q->retried) {
		q->retried = true;
		(void)transmit(q);
	}
}

static void
deadline_cb(struct loop_timer *t)
{
	struct dnsbl_query *q = Q_OF(t, deadline);

	if (q->state == Q_WAITING)
		finish(q, DNSBL_TIMEOUT, "no free slot in time");
	else if (q->state == Q_A)
		finish(q, DNSBL_TIMEOUT, "no reply");
	else if (q->state == Q_TXT)
		finish(q, DNSBL_HIT, NULL);	/* listed, without text */
}

static const char *
rcode_name(unsigned int rcode)
{
	static const char *const names[] = { "NOERROR", "FORMERR",
		"SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED" };

	return rcode < sizeof(names) / sizeof(names[0]) ? names[rcode] :
	       "unexpected reply code";
}

/* warn_refused - a list answered 127.255.255.x: it will not answer us
 * (Spamhaus: queries through a public resolver, or too many). */
static void
warn_refused(struct dnsbl_query *q, const unsigned char a[4])
{
	struct dnsbl *d = q->d;
	uint64_t now = loop_now(d->loop);

	if (d->warned_at != 0 && now - d->warned_at < WARN_EVERY_MS)
		return;
	d->warned_at = now;
	log_warnx("dnsbl: %s answered %u.%u.%u.%u: the list refuses our "
		  "queries (not a listing)", q->zone, a[0], a[1], a[2], a[3]);
}

static void
a_reply(struct dnsbl_query *q, const struct dns_reply *r)
{
	size_t i;

	if (r->rcode == DNS_RCODE_NXDOMAIN) {
		finish(q, DNSBL_MISS, NULL);
		return;
	}
	if (r->rcode != DNS_RCODE_NOERROR) {
		finish(q, DNSBL_ERROR, rcode_name(r->rcode));
		return;
	}
	for (i = 0; i < r->naddrs; i++) {
		const unsigned char *a = r->addrs[i];

		if (!dnsbl_conf_want_match(&q->want, a)) {
			if (q->want.any && a[0] == 127)
				warn_refused(q, a);
			continue;
		}
		(void)snprintf(q->ans.addr, sizeof(q->ans.addr),
			       "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
		q->state = Q_TXT;
		ask(q, DNS_TYPE_TXT);
		return;
	}
	if (r->truncated)
		finish(q, DNSBL_ERROR, "truncated reply");
	else
		finish(q, DNSBL_MISS, NULL);
}

/* datagram - one datagram from the resolver's address; true when the
 * look-up moved on (answered, or on to TXT). */
static bool
datagram(struct dnsbl_query *q, const unsigned char *p, size_t n)
{
	struct dns_reply r;

	/* The id first: the cheapest test, and a forger's first hurdle. */
	if (dns_msg_id(p, n) != q->id ||
	    dns_msg_parse(p, n, q->qname, q->qname_len, q->qtype, &r) != NULL)
		return false;
	if (q->state == Q_A) {
		a_reply(q, &r);
		return true;
	}
	/* Q_TXT: the A record decided; a missing or failed TXT only
	 * leaves the reply without its text. */
	if (r.rcode == DNS_RCODE_NOERROR && r.has_txt)
		memcpy(q->ans.txt, r.txt, sizeof(r.txt));
	finish(q, DNSBL_HIT, NULL);
	return true;
}

static bool
same_addr(const struct sockaddr_storage *a, socklen_t alen,
	  const struct sockaddr_storage *b, socklen_t blen)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a;
		const struct sockaddr_in *y = (const void *)b;

		return alen >= sizeof(*x) && blen >= sizeof(*y) &&
		       x->sin_port == y->sin_port &&
		       x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a;
		const struct sockaddr_in6 *y = (const void *)b;

		return alen >= sizeof(*x) && blen >= sizeof(*y) &&
		       x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
	}
	return false;
}

static void
io_cb(struct loop_io *io, uint32_t events)
{
	struct dnsbl_query *q = Q_OF(io, io);
	unsigned char buf[4096];
	int i;

	(void)events;
	for (i = 0; i < RECV_MAX; i++) {
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		ssize_t n;

		/* Closed by a callback earlier in this batch. */
		if (q->state != Q_A && q->state != Q_TXT)
			return;
		n = recvfrom(io->fd, buf, sizeof(buf), 0,
			     (struct sockaddr *)&from, &flen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0 && errno == ECONNREFUSED) {
			finish(q, DNSBL_ERROR, "resolver port unreachable");
			return;
		}
		if (n < 0) {
			log_warn("dnsbl: receive from the resolver");
			finish(q, DNSBL_ERROR, "cannot receive");
			return;
		}
		/* connect() already filters; the check costs nothing. */
		if (same_addr(&from, flen, &q->d->server, q->d->server_len) &&
		    datagram(q, buf, (size_t)n))
			return;
	}
}

/* start - a socket of its own (random port, connected), then ask. */
static void
start(struct dnsbl_query *q)
{
	struct dnsbl *d = q->d;
	struct sockaddr_storage any;
	socklen_t any_len;
	int fd;

	memset(&any, 0, sizeof(any));
	any.ss_family = d->server.ss_family;
	any_len = any.ss_family == AF_INET ? sizeof(struct sockaddr_in) :
		  sizeof(struct sockaddr_in6);
	fd = socket(d->server.ss_family,
		    SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&any, any_len) < 0 ||
	    connect(fd, (struct sockaddr *)&d->server, d->server_len) < 0) {
		log_warn("dnsbl: socket to the resolver");
		if (fd >= 0)
			close(fd);
		finish(q, DNSBL_ERROR, "cannot open a socket");
		return;
	}
	q->io.fd = fd;
	q->io.cb = io_cb;
	if (!loop_add(d->loop, &q->io, EPOLLIN)) {
		log_warn("dnsbl: epoll");
		finish(q, DNSBL_ERROR, "cannot watch a socket");
		return;
	}
	q->state = Q_A;
	list_add(&d->running, q);
	ask(q, DNS_TYPE_A);
}

static struct dnsbl_query *
query_new(struct dnsbl *d, const char *zone, dnsbl_cb *cb, void *arg)
{
	struct dnsbl_query *q = xcalloc(1, sizeof(*q));

	q->d = d;
	q->state = Q_NEW;
	q->io.fd = -1;
	loop_timer_init(&q->deadline, deadline_cb);
	loop_timer_init(&q->retry, retry_cb);
	if (zone != NULL)
		(void)snprintf(q->zone, sizeof(q->zone), "%s", zone);
	q->cb = cb;
	q->arg = arg;
	q->deadline_at = loop_now(d->loop) + d->timeout_ms;
	loop_timer_set(d->loop, &q->deadline, d->timeout_ms);
	return q;
}

/* query_begin - the name is set: start, wait in line, or refuse. */
static void
query_begin(struct dnsbl_query *q, const char *want)
{
	struct dnsbl *d = q->d;
	const char *err;

	if ((err = dnsbl_conf_want(want, &q->want)) != NULL)
		finish(q, DNSBL_ERROR, err);
	else if (d->running.n < DNSBL_INFLIGHT_MAX)
		start(q);
	else if (d->waiting.n < DNSBL_WAITING_MAX) {
		q->state = Q_WAITING;
		list_add(&d->waiting, q);
	} else
		finish(q, DNSBL_ERROR, "too many look-ups");
}

struct dnsbl_query *
dnsbl_client(struct dnsbl *d, const struct net_addr *client, const char *zone,
	     const char *want, dnsbl_cb *cb, void *arg)
{
	struct dnsbl_query *q = query_new(d, zone, cb, arg);
	static const unsigned char v4mapped[12] = { [10] = 0xff, [11] = 0xff };
	const unsigned char *a = client->a;
	char name[256];
	const char *err;
	size_t off = 0;
	int i, n;

	if ((err = dnsbl_zone_check(zone)) != NULL) {
		finish(q, DNSBL_ERROR, err);
		return q;
	}
	if (client->family == AF_INET6 && memcmp(a, v4mapped, 12) != 0) {
		/* 32 nibbles, low one first: 64 bytes, room is left. */
		for (i = 15; i >= 0; i--, off += 4)
			(void)snprintf(name + off, sizeof(name) - off,
				       "%x.%x.", a[i] & 0xf, a[i] >> 4);
		n = snprintf(name + off, sizeof(name) - off, "%s", zone);
	} else if (client->family == AF_INET || client->family == AF_INET6) {
		if (client->family == AF_INET6)
			a += 12;
		n = snprintf(name, sizeof(name), "%u.%u.%u.%u.%s",
			     a[3], a[2], a[1], a[0], zone);
	} else {
		finish(q, DNSBL_ERROR, "not an IP address");
		return q;
	}
	/* dnsbl_zone_check left room for the longest prefix. */
	if (n < 0 || !dns_msg_name(name, strlen(name), q->qname,
				   &q->qname_len))
		finish(q, DNSBL_ERROR, "zone is not a host name");
	else
		query_begin(q, want);
	return q;
}

struct dnsbl_query *
dnsbl_domain(struct dnsbl *d, const char *domain, const char *zone,
	     const char *want, dnsbl_cb *cb, void *arg)
{
	struct dnsbl_query *q = query_new(d, zone, cb, arg);
	size_t dlen = strlen(domain);
	char name[512];
	const char *err;
	int n;

	if ((err = dnsbl_zone_check(zone)) != NULL) {
		finish(q, DNSBL_ERROR, err);
		return q;
	}
	if (dlen > 0 && domain[dlen - 1] == '.')
		dlen--;
	n = snprintf(name, sizeof(name), "%.*s.%s",
		     (int)(dlen < 256 ? dlen : 256), domain, zone);
	/* An address literal, a stray byte, a name too long: nothing by
	 * that name can be listed, and the client chose it. */
	if (dlen == 0 || dlen > 253 || n < 0 || (size_t)n >= sizeof(name) ||
	    !dns_msg_name(name, (size_t)n, q->qname, &q->qname_len))
		finish(q, DNSBL_MISS, NULL);
	else
		query_begin(q, want);
	return q;
}

void
dnsbl_cancel(struct dnsbl_query *q)
{
	struct dnsbl *d;
	bool had_slot;

	if (q == NULL || q->state == Q_DELIVERING || q->state == Q_CANCELLED)
		return;
	d = q->d;
	if (q->state == Q_DONE) {
		/* deliver is already on its way: it frees. */
		list_remove(q);
		q->state = Q_CANCELLED;
		return;
	}
	had_slot = q->list == &d->running;
	query_stop(q, d);
	q->state = Q_CANCELLED;
	loop_defer(d->loop, deliver, q);
	if (had_slot)
		pump(d);
}

/* release - every query of list l: closed, forgotten, freed later. */
static void
release(struct dnsbl *d, struct qlist *l)
{
	while (l->head != NULL) {
		struct dnsbl_query *q = l->head;

		query_stop(q, d);
		if (q->state != Q_DONE)
			loop_defer(d->loop, deliver, q);
		q->state = Q_CANCELLED;
		q->d = NULL;
	}
}

void
dnsbl_free(struct dnsbl *d)
{
	if (d == NULL)
		return;
	release(d, &d->waiting);
	release(d, &d->running);
	release(d, &d->done);
	free(d);
}
