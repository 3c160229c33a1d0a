/*
 * relay - the next-hop connection of one client session.  See relay.h.
 *
 * Untrusted input: the next hop's replies (every byte read; parsed only
 * by smtp_reply_parse, whose BAD - a bare CR or LF, a malformed or
 * over-long line - ends the connection), and the sender and recipient
 * strings of the client (checked here before they become a command).
 *
 * Shape: requests queue in order (struct req); the head ones are sent
 * when the connection is ready (several at once when the next hop
 * announced PIPELINING, DATA ending a group, RFC 2920 §3.1), and each
 * reply answers the oldest request sent.  Answers are handed to the
 * caller from a deferred call, so done never runs inside the call that
 * made the request, and in order even when a later request was answered
 * at once (a refused address) while an earlier one waited.
 *
 * The connection is a struct link of its own, not part of struct relay:
 * conn frees its memory after the batch of events in which it closed,
 * and a session that reconnects at once must not see that deferred
 * free wipe the buffers of its new connection.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "authd.h"
#include "codec.h"
#include "conn.h"
#include "log.h"
#include "relay.h"
#include "secret.h"
#include "smtp_data.h"
#include "tls.h"
#include "xalloc.h"

/* A reply is at most SMTP_REPLY_LINES_MAX lines of 2 * SMTP_CMD_LINE_MAX
 * (smtp_reply_parse's limits): what is buffered never needs more. */
#define RELAY_IN_MAX	(96 * 1024)
/* conn pauses reading above its backlog; a relay must keep reading the
 * next hop's replies whatever the body's backlog (relay_body says when
 * to stop instead). */
#define RELAY_CONN_BACKLOG	(64 * 1024 * 1024)

enum req_type { REQ_MAIL, REQ_RCPT, REQ_DATA, REQ_BODY_END, REQ_RSET };
enum req_state { REQ_QUEUED, REQ_SENT, REQ_ANSWERED };

struct req {
	struct req *next;
	enum req_type type;
	enum req_state state;
	char *addr;			/* MAIL: the sender; RCPT: the rcpt */
	unsigned long long size;	/* MAIL */
	bool body_8bit;			/* MAIL */
	struct smtp_reply reply;	/* once ANSWERED */
};

enum link_state {
	LINK_CONNECTING, LINK_GREETING, LINK_EHLO, LINK_STARTTLS,
	LINK_HANDSHAKE, LINK_AUTH, LINK_READY,
};

struct link {
	struct conn c;			/* first: conn hands us &c */
	struct loop_io cio;		/* the connect, before conn_init */
	struct relay *r;		/* NULL once the relay let go */
	enum link_state state;
	bool conn_ready;		/* conn_init done: conn owns the fd */
	bool ext_size, ext_8bit, ext_pipelining, ext_starttls;
	char auth_mechs[256];		/* the EHLO AUTH line's words */
	struct authd_client *cl;	/* the AUTH exchange in progress */
	const char *mech;		/* its mechanism, static */
	bool authenticated;
};

struct relay {
	struct loop *loop;
	struct relay_conf conf;
	relay_done_fn *done;
	relay_drained_fn *drained;
	void *arg;
	struct link *link;		/* NULL: not connected */
	struct loop_timer timer;	/* the current deadline */
	struct req *head, **tail;
	bool deliver_queued;		/* deliver_cb is deferred */
	bool delivering;		/* inside done */
	bool freed;			/* relay_free ran */
	bool told_full;			/* relay_body returned false */
	bool drain_notify;		/* call drained from deliver_cb */
	/* the transaction */
	bool in_data;			/* 354 came, the dot is not sent */
	bool bol, cr;			/* smtp_data_encode's state */
	char **rcpts;			/* accepted by RCPT (LMTP) */
	size_t nrcpts;
	/* LMTP replies after the dot */
	size_t lmtp_got;
	struct smtp_reply lmtp_first;
	bool lmtp_ok, lmtp_4xx, lmtp_5xx;
};

static void pump(struct relay *r);
static void link_drop(struct relay *r, const struct smtp_reply *rep);

/* --- replies and their delivery --- */

static void __attribute__((format(printf, 3, 4)))
reply_make(struct smtp_reply *rep, unsigned int code, const char *fmt, ...)
{
	va_list ap;
	int n;

	memset(rep, 0, sizeof(*rep));
	rep->code = code;
	rep->lines = 1;
	va_start(ap, fmt);
	n = vsnprintf(rep->text, sizeof(rep->text), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	rep->text_len = (size_t)n < sizeof(rep->text) ? (size_t)n :
			sizeof(rep->text) - 1;
}

/* text_for_log - the first line of a next hop's reply text, printable
 * ASCII only (it is the next hop's, and could hold anything). */
static const char *
text_for_log(const struct smtp_reply *rep, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; i < rep->text_len && i + 1 < outlen &&
		    rep->text[i] != '\n'; i++) {
		unsigned char c = (unsigned char)rep->text[i];

		out[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[i] = '\0';
	return out;
}

static void
deliver_cb(void *p)
{
	struct relay *r = p;

	r->deliver_queued = false;
	while (!r->freed && r->head != NULL &&
	       r->head->state == REQ_ANSWERED) {
		struct req *q = r->head;

		r->head = q->next;
		if (r->head == NULL)
			r->tail = &r->head;
		r->delivering = true;
		r->done(r->arg, &q->reply);
		r->delivering = false;
		free(q->addr);
		free(q);
	}
	if (!r->freed && r->drain_notify) {
		r->drain_notify = false;
		if (r->drained != NULL) {
			r->delivering = true;
			r->drained(r->arg);
			r->delivering = false;
		}
	}
	if (r->freed && !r->deliver_queued)
		free(r);
}

static void
schedule_deliver(struct relay *r)
{
	if (r->deliver_queued || r->freed)
		return;
	r->deliver_queued = true;
	loop_defer(r->loop, deliver_cb, r);
}

static void
answer(struct relay *r, struct req *q, const struct smtp_reply *rep)
{
	q->reply = *rep;
	q->state = REQ_ANSWERED;
	schedule_deliver(r);
}

static struct req *
first_sent(const struct relay *r)
{
	struct req *q;

	for (q = r->head; q != NULL; q = q->next)
		if (q->state == REQ_SENT)
			return q;
	return NULL;
}

static bool
anything_pending(const struct relay *r)
{
	struct req *q;

	for (q = r->head; q != NULL; q = q->next)
		if (q->state != REQ_ANSWERED)
			return true;
	return false;
}

static void
txn_clear(struct relay *r)
{
	size_t i;

	for (i = 0; i < r->nrcpts; i++)
		free(r->rcpts[i]);
	free(r->rcpts);
	r->rcpts = NULL;
	r->nrcpts = 0;
	r->in_data = false;
	r->lmtp_got = 0;
	r->lmtp_ok = r->lmtp_4xx = r->lmtp_5xx = false;
}

/* --- failures --- */

/* fail_connect / fail_lost / fail_tls - the connection is unusable:
 * log once, and answer every pending request with a synthesized 451
 * (RFC 3463: 4.4.1 no answer from host, 4.4.2 bad connection, 4.7.5
 * cryptographic failure). */
enum fail_kind { FAIL_CONNECT, FAIL_LOST, FAIL_TLS, FAIL_AUTH };

static void __attribute__((format(printf, 3, 0)))
vfail(struct relay *r, enum fail_kind kind, const char *fmt, va_list ap)
{
	static const char *const status[] = { "4.4.1", "4.4.2", "4.7.5",
					      "4.7.0" };
	struct smtp_reply rep;
	char why[256], text[400];

	(void)vsnprintf(why, sizeof(why), fmt, ap);
	if (kind == FAIL_CONNECT)
		snprintf(text, sizeof(text), "next hop %s unavailable: %s",
			 r->conf.name, why);
	else if (kind == FAIL_LOST)
		snprintf(text, sizeof(text), "lost connection with next hop "
			 "%s: %s", r->conf.name, why);
	else
		snprintf(text, sizeof(text), "next hop %s: %s", r->conf.name,
			 why);
	log_info("%s", text);
	reply_make(&rep, 451, "%s %s", status[kind], text);
	link_drop(r, &rep);
}

static void __attribute__((format(printf, 2, 3)))
fail_connect(struct relay *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(r, FAIL_CONNECT, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 2, 3)))
fail_lost(struct relay *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(r, FAIL_LOST, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 2, 3)))
fail_tls(struct relay *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(r, FAIL_TLS, fmt, ap);
	va_end(ap);
}

/* fail_auth - our credentials or the next hop's proof failed: a 4xx for
 * the client (an admin's wrong password must not bounce users' mail). */
static void __attribute__((format(printf, 2, 3)))
fail_auth(struct relay *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(r, FAIL_AUTH, fmt, ap);
	va_end(ap);
}

/* fail_passed - the next hop's own 421 (RFC 5321 §3.8: it closes) goes
 * to every pending request as it is: the session maps it. */
static void
fail_passed(struct relay *r, const struct smtp_reply *rep)
{
	char t[128];

	log_info("next hop %s: %u %s, closing", r->conf.name, rep->code,
		 text_for_log(rep, t, sizeof(t)));
	link_drop(r, rep);
}

static void
link_free_cb(void *p)
{
	struct link *k = p;

	authd_client_free(k->cl);
	free(k);
}

/* link_close - close the link's descriptor, through conn once it owns
 * it; the link is freed after this batch of events either way. */
static void
link_close(struct link *k, struct loop *l)
{
	if (k->conn_ready) {
		conn_close(&k->c);	/* ops->free frees k */
		return;
	}
	if (k->cio.fd >= 0) {
		loop_del(l, &k->cio);
		close(k->cio.fd);
	}
	loop_defer(l, link_free_cb, k);
}

/* link_drop - let go of the connection; answer what is pending with rep
 * (NULL: nothing may be pending, the connection was idle). */
static void
link_drop(struct relay *r, const struct smtp_reply *rep)
{
	struct link *k = r->link;
	struct req *q;

	r->link = NULL;
	k->r = NULL;
	loop_timer_cancel(r->loop, &r->timer);
	txn_clear(r);
	if (rep != NULL)
		for (q = r->head; q != NULL; q = q->next)
			if (q->state != REQ_ANSWERED)
				answer(r, q, rep);
	/* A caller holding its client for "drained" would wait forever:
	 * it learns of the failure from relay_body_end. */
	if (r->told_full) {
		r->told_full = false;
		r->drain_notify = true;
		schedule_deliver(r);
	}
	link_close(k, r->loop);
}

/* --- the timer --- */

static void
timer_cb(struct loop_timer *t)
{
	struct relay *r = (struct relay *)(void *)((char *)t -
						   offsetof(struct relay, timer));

	if (r->link == NULL)
		return;
	if (r->link->state != LINK_READY)
		fail_connect(r, "timed out");
	else
		fail_lost(r, "timed out");
}

/* arm_timer - after a command or a reply: the deadline of the oldest
 * request in flight. */
static void
arm_timer(struct relay *r)
{
	struct req *q = first_sent(r);

	if (q == NULL)
		loop_timer_cancel(r->loop, &r->timer);
	else
		loop_timer_set(r->loop, &r->timer, q->type == REQ_BODY_END ?
			       r->conf.data_timeout_ms : r->conf.cmd_timeout_ms);
}

/* --- the connection's phases --- */

static void
send_hello(struct link *k, struct relay *r)
{
	/* RFC 2033 §4.1: LMTP greets with LHLO, never EHLO. */
	buf_printf(&k->c.out, "%s %s\r\n", r->conf.lmtp ? "LHLO" : "EHLO",
		   r->conf.helo_name);
	k->state = LINK_EHLO;
	conn_flush(&k->c);
}

static void
link_ready(struct relay *r, struct link *k)
{
	k->state = LINK_READY;
	loop_timer_cancel(r->loop, &r->timer);
	pump(r);
}

static void
tls_ready(struct conn *c)
{
	struct link *k = (struct link *)c;
	struct relay *r = k->r;

	if (r == NULL)
		return;
	log_info("next hop %s: TLS established: %s", r->conf.name, tls_info(c));
	/* RFC 3207 §4.2: what the server said before TLS counts no more. */
	k->ext_size = k->ext_8bit = k->ext_pipelining = k->ext_starttls = false;
	send_hello(k, r);
}

/* --- AUTH to the next hop (RFC 4954, client side) --- */

/* has_word - whether list (space separated) holds word, any case. */
static bool
has_word(const char *list, const char *word, size_t n)
{
	const char *p = list;

	while (*p != '\0') {
		size_t w;

		while (*p == ' ')
			p++;
		for (w = 0; p[w] != '\0' && p[w] != ' '; w++)
			;
		if (w == n && w > 0 && strncasecmp(p, word, n) == 0)
			return true;
		p += w;
	}
	return false;
}

/* auth_send - "AUTH MECH [initial]" or a response line, in base64 ("="
 * for an empty initial response, an empty line for an empty response). */
static void
auth_send(struct link *k, const char *mech, const unsigned char *resp,
	  size_t len, bool has_resp)
{
	struct buf *o = &k->c.out;

	if (mech != NULL) {
		buf_printf(o, "AUTH %s", mech);
		if (has_resp)
			buf_append_c(o, ' ');
		if (has_resp && len == 0)
			buf_append_c(o, '=');
	}
	if (len > 0 && buf_reserve(o, codec_b64_encoded_len(len) + 3))
		o->len += codec_b64_encode(resp, len, o->data + o->len);
	buf_append(o, "\r\n", 2);
	conn_flush(&k->c);
}

/* auth_or_ready - EHLO (and STARTTLS) done: authenticate if configured,
 * else the link is ready. */
static void
auth_or_ready(struct relay *r, struct link *k)
{
	const char *pref = r->conf.sasl_mechs, *p;
	bool tls = tls_active(&k->c);
	const unsigned char *resp;
	size_t len;
	int rc;

	if (r->conf.sasl_user == NULL) {
		link_ready(r, k);
		return;
	}
	k->mech = NULL;
	for (p = pref; *p != '\0' && k->mech == NULL;) {
		size_t w;
		char name[32];

		while (*p == ' ')
			p++;
		for (w = 0; p[w] != '\0' && p[w] != ' '; w++)
			;
		if (w > 0 && w < sizeof(name)) {
			memcpy(name, p, w);
			name[w] = '\0';
			if (has_word(k->auth_mechs, name, w) &&
			    ((strcasecmp(name, "PLAIN") != 0 &&
			      strcasecmp(name, "LOGIN") != 0) ||
			     (tls ? r->conf.sasl_plaintext_tls :
				    r->conf.sasl_plaintext_clear)) &&
			    authd_client_new(name, &k->cl) == AUTHD_OK)
				k->mech = authd_client_mech(k->cl);
		}
		p += w;
	}
	if (k->mech == NULL) {
		fail_auth(r, "no AUTH mechanism we may use%s (it offers: %s)",
			  tls ? "" : " without TLS",
			  k->auth_mechs[0] ? k->auth_mechs : "none");
		return;
	}
	if (authd_client_set_credentials(k->cl, r->conf.sasl_user,
					 r->conf.sasl_pass, NULL) != AUTHD_OK ||
	    authd_client_set_service(k->cl, "smtp", r->conf.tls_peer) !=
	    AUTHD_OK ||
	    (rc = authd_client_start(k->cl, true, &resp, &len)) != AUTHD_OK) {
		fail_auth(r, "%s: %s", k->mech, authd_client_error(k->cl));
		return;
	}
	k->state = LINK_AUTH;
	auth_send(k, k->mech, resp, len, resp != NULL);
}

static void
auth_reply(struct relay *r, struct link *k, const struct smtp_reply *rep)
{
	char t[128];
	const unsigned char *resp;
	size_t len;
	int rc;

	if (rep->code == 334) {
		unsigned char ch[SMTP_REPLY_TEXT_MAX];
		long n = rep->text_len == 0 ? 0 :
			 codec_b64_decode(rep->text, rep->text_len, ch);

		if (n < 0 || rep->lines != 1) {
			fail_auth(r, "%s: a challenge that is not base64",
				  k->mech);
			return;
		}
		rc = authd_client_step(k->cl, ch, (size_t)n, &resp, &len);
		secret_wipe(ch, sizeof(ch));
		if (rc == AUTHD_ERR_VERIFY) {
			/* Whoever answers does not know our password: a
			 * man in the middle, or the wrong server. */
			fail_auth(r, "%s: the server failed to prove that it "
				  "knows the password; no mail goes to it",
				  k->mech);
			return;
		}
		if (rc != AUTHD_CONTINUE) {
			fail_auth(r, "%s: %s", k->mech,
				  authd_client_error(k->cl));
			return;
		}
		auth_send(k, NULL, resp, len, true);
		return;
	}
	if (rep->code == 235) {
		if (authd_client_finish(k->cl, NULL, 0) != AUTHD_OK) {
			fail_auth(r, "%s: the server said 235 without proving "
				  "that it knows the password; no mail goes to "
				  "it", k->mech);
			return;
		}
		authd_client_free(k->cl);
		k->cl = NULL;
		k->authenticated = true;
		log_info("next hop %s: authenticated with %s as %s",
			 r->conf.name, k->mech, r->conf.sasl_user);
		link_ready(r, k);
		return;
	}
	if (rep->code == 421) {
		fail_passed(r, rep);
		return;
	}
	/* 535 and the rest: a temporary failure for our client. */
	fail_auth(r, "%s authentication as %s refused: %u %s", k->mech,
		  r->conf.sasl_user, rep->code,
		  text_for_log(rep, t, sizeof(t)));
}

static void
ehlo_reply(struct relay *r, struct link *k, const struct smtp_reply *rep)
{
	char t[128];

	if (rep->code == 421) {
		fail_passed(r, rep);
		return;
	}
	if (rep->code / 100 != 2) {
		fail_connect(r, "%s refused: %u %s", r->conf.lmtp ? "LHLO" :
			     "EHLO", rep->code, text_for_log(rep, t, sizeof(t)));
		return;
	}
	k->ext_size = smtp_reply_ext(rep, "SIZE", NULL, NULL);
	k->ext_8bit = smtp_reply_ext(rep, "8BITMIME", NULL, NULL);
	k->ext_pipelining = smtp_reply_ext(rep, "PIPELINING", NULL, NULL);
	k->ext_starttls = smtp_reply_ext(rep, "STARTTLS", NULL, NULL);
	{
		const char *p;
		size_t n;

		k->auth_mechs[0] = '\0';
		if (smtp_reply_ext(rep, "AUTH", &p, &n)) {
			if (n >= sizeof(k->auth_mechs))
				n = sizeof(k->auth_mechs) - 1;
			memcpy(k->auth_mechs, p, n);
			k->auth_mechs[n] = '\0';
		}
	}
	if (r->conf.tls != RELAY_TLS_NONE && !tls_active(&k->c)) {
		if (k->ext_starttls) {
			buf_append_str(&k->c.out, "STARTTLS\r\n");
			k->state = LINK_STARTTLS;
			conn_flush(&k->c);
			return;
		}
		if (r->conf.tls >= RELAY_TLS_ENCRYPT) {
			fail_tls(r, "TLS is required, but STARTTLS was not "
				 "offered");
			return;
		}
	}
	auth_or_ready(r, k);
}

static void
starttls_reply(struct relay *r, struct link *k, const struct smtp_reply *rep)
{
	char t[128];

	if (rep->code == 220) {
		/* RFC 3207 §5, CVE-2011-0411: bytes that came with the 220
		 * were sent in plaintext by whoever sits on the wire; read
		 * inside TLS they would pass for the server's replies. */
		buf_reset(&k->c.in);
		k->state = LINK_HANDSHAKE;
		if (!tls_start(&k->c, r->conf.tls_ctx, false,
			       r->conf.tls_peer != NULL ? r->conf.tls_peer :
			       r->conf.name, tls_ready))
			fail_tls(r, "cannot start TLS (out of memory)");
		return;
	}
	if (rep->code == 421) {
		fail_passed(r, rep);
		return;
	}
	if (r->conf.tls >= RELAY_TLS_ENCRYPT) {
		fail_tls(r, "TLS is required, but STARTTLS was refused: %u %s",
			 rep->code, text_for_log(rep, t, sizeof(t)));
		return;
	}
	/* "may": opportunistic, so plaintext it is (the session is still
	 * in the greeted state, RFC 3207 §4). */
	log_info("next hop %s refused STARTTLS (%u %s); continuing without TLS",
		 r->conf.name, rep->code, text_for_log(rep, t, sizeof(t)));
	auth_or_ready(r, k);
}

/* lmtp_reply - RFC 2033 §4.2: one reply per accepted recipient after the
 * dot.  The client gets one: without a queue, a message some recipients
 * took and others did not can only be sent again in full (duplicates are
 * preferred to loss). */
static void
lmtp_reply(struct relay *r, struct req *q, const struct smtp_reply *rep)
{
	size_t want = r->nrcpts > 0 ? r->nrcpts : 1;
	char t[128], a[300];
	struct smtp_reply out;

	do {
		const char *rcpt = r->lmtp_got < r->nrcpts ?
				   r->rcpts[r->lmtp_got] : "";

		log_safe(rcpt, strlen(rcpt), a, sizeof(a));
		log_info("next hop %s: LMTP delivery to <%s>: %u %s",
			 r->conf.name, a, rep->code,
			 text_for_log(rep, t, sizeof(t)));
		if (r->lmtp_got++ == 0)
			r->lmtp_first = *rep;
		r->lmtp_ok |= rep->code / 100 == 2;
		r->lmtp_4xx |= rep->code / 100 == 4;
		r->lmtp_5xx |= rep->code / 100 == 5;
		/* A 421 closes the connection: the rest will not come. */
	} while (rep->code == 421 && r->lmtp_got < want);
	if (r->lmtp_got < want) {
		arm_timer(r);
		return;
	}
	if (!r->lmtp_4xx && !r->lmtp_5xx) {
		reply_make(&out, 250, "2.0.0 Ok: delivered to %zu recipient%s",
			   want, want == 1 ? "" : "s");
		answer(r, q, &out);
	} else if (!r->lmtp_ok && !(r->lmtp_4xx && r->lmtp_5xx)) {
		answer(r, q, &r->lmtp_first);
	} else {
		log_info("next hop %s: partial delivery, the client is asked "
			 "to send the message again", r->conf.name);
		reply_make(&out, 451, "4.3.0 partial delivery by next hop %s: "
			   "not every recipient took the message, send it again",
			   r->conf.name);
		answer(r, q, &out);
	}
	txn_clear(r);
}

static void
txn_reply(struct relay *r, struct link *k, const struct smtp_reply *rep)
{
	struct req *q = first_sent(r);
	char t[128];

	if (q == NULL) {
		if (rep->code == 421) {
			/* RFC 5321 §4.1.1.10's idle-timeout goodbye */
			log_info("next hop %s closed an idle connection: %s",
				 r->conf.name, text_for_log(rep, t, sizeof(t)));
			link_drop(r, NULL);
		} else {
			fail_lost(r, "protocol error: a reply to no command "
				  "(%u %s)", rep->code,
				  text_for_log(rep, t, sizeof(t)));
		}
		return;
	}
	switch (q->type) {
	case REQ_RCPT:
		if (rep->code / 100 == 2) {
			r->rcpts = xrealloc(r->rcpts, (r->nrcpts + 1) *
					    sizeof(*r->rcpts));
			r->rcpts[r->nrcpts++] = q->addr;
			q->addr = NULL;
		}
		answer(r, q, rep);
		break;
	case REQ_DATA:
		if (rep->code == 354) {
			r->in_data = true;
			r->bol = true;
			r->cr = false;
		}
		answer(r, q, rep);
		break;
	case REQ_BODY_END:
		if (r->conf.lmtp) {
			lmtp_reply(r, q, rep);
			if (q->state != REQ_ANSWERED)
				return;	/* more replies to come */
		} else {
			answer(r, q, rep);
			txn_clear(r);
		}
		break;
	case REQ_RSET:
		txn_clear(r);
		answer(r, q, rep);
		break;
	case REQ_MAIL:
		answer(r, q, rep);
		break;
	}
	if (rep->code == 421) {
		fail_passed(r, rep);
		return;
	}
	arm_timer(r);
	pump(r);
}

static void
link_reply(struct relay *r, struct link *k, const struct smtp_reply *rep)
{
	char t[128];

	switch (k->state) {
	case LINK_GREETING:
		if (rep->code == 220)
			send_hello(k, r);
		else if (rep->code == 421)
			fail_passed(r, rep);
		else
			fail_connect(r, "greeting %u %s", rep->code,
				     text_for_log(rep, t, sizeof(t)));
		break;
	case LINK_EHLO:
		ehlo_reply(r, k, rep);
		break;
	case LINK_STARTTLS:
		starttls_reply(r, k, rep);
		break;
	case LINK_AUTH:
		auth_reply(r, k, rep);
		break;
	case LINK_READY:
		txn_reply(r, k, rep);
		break;
	case LINK_CONNECTING:
	case LINK_HANDSHAKE:
		fail_connect(r, "protocol error: a reply during the handshake");
		break;
	}
}

static void
link_input(struct conn *c)
{
	struct link *k = (struct link *)c;
	struct relay *r;
	struct smtp_reply rep;
	size_t used;

	while ((r = k->r) != NULL && !c->closed && c->in.len > 0) {
		switch (smtp_reply_parse(c->in.data, c->in.len, &rep, &used)) {
		case SMTP_REPLY_MORE:
			if (c->in.len >= c->in_max) {
				if (k->state == LINK_READY)
					fail_lost(r, "protocol error: reply "
						  "too long");
				else
					fail_connect(r, "protocol error: reply "
						     "too long");
			}
			return;
		case SMTP_REPLY_BAD:
			/* A bare CR or LF too: a lax peer's line end is a
			 * smuggling vector both ways. */
			if (k->state == LINK_READY)
				fail_lost(r, "protocol error: malformed reply");
			else
				fail_connect(r, "protocol error: malformed "
					     "reply");
			return;
		case SMTP_REPLY_DONE:
			buf_consume(&c->in, used);
			link_reply(r, k, &rep);
			break;
		}
	}
}

static void
link_closed(struct conn *c)
{
	struct link *k = (struct link *)c;
	struct relay *r = k->r;

	if (r == NULL)
		return;
	switch (k->state) {
	case LINK_HANDSHAKE:
		/* tls.c logged OpenSSL's reason.  "may" too: a failed
		 * handshake is not silently retried in plaintext, which an
		 * attacker could provoke. */
		fail_tls(r, "TLS handshake failed");
		break;
	case LINK_READY:
		if (anything_pending(r) || r->in_data)
			fail_lost(r, "connection closed");
		else
			link_drop(r, NULL);
		break;
	default:
		fail_connect(r, "connection closed");
		break;
	}
}

static void
link_free(struct conn *c)
{
	struct link *k = (struct link *)c;

	authd_client_free(k->cl);	/* wipes the password's traces */
	free(k);
}

static void
link_drained(struct conn *c)
{
	struct link *k = (struct link *)c;
	struct relay *r = k->r;

	if (r == NULL)
		return;
	/* The body's stall timer; not the connect phase's deadline, which
	 * runs on while EHLO and STARTTLS wait for their replies. */
	if (k->state == LINK_READY && first_sent(r) == NULL)
		loop_timer_cancel(r->loop, &r->timer);
	if (r->told_full) {
		r->told_full = false;
		if (r->drained != NULL)
			r->drained(r->arg);
	}
}

static const struct conn_ops link_ops = {
	.input = link_input,
	.closed = link_closed,
	.free = link_free,
	.drained = link_drained,
};

static void
link_connected(struct relay *r, struct link *k)
{
	conn_init(&k->c, r->loop, k->cio.fd, &link_ops, RELAY_IN_MAX,
		  RELAY_CONN_BACKLOG);
	k->conn_ready = true;
	k->state = LINK_GREETING;
	if (!conn_watch(&k->c))
		fail_connect(r, "cannot watch the socket: %s", strerror(errno));
}

static void
connect_event(struct loop_io *io, uint32_t events)
{
	struct link *k = (struct link *)(void *)((char *)io -
						 offsetof(struct link, cio));
	struct relay *r = k->r;
	socklen_t len = sizeof(int);
	int err = 0;

	if (r == NULL)
		return;
	if (getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err != 0) {
		fail_connect(r, "%s", strerror(err));
		return;
	}
	loop_del(r->loop, io);
	link_connected(r, k);
}

/* link_connect - start a connection: non-blocking, the rest happens in
 * the loop; failures answer the pending requests (deferred). */
static void
link_connect(struct relay *r)
{
	struct link *k = xcalloc(1, sizeof(*k));
	int rc;

	k->r = r;
	k->cio.fd = -1;
	k->cio.cb = connect_event;
	r->link = k;
	txn_clear(r);
	loop_timer_set(r->loop, &r->timer, r->conf.connect_timeout_ms);
	rc = conn_connect(r->conf.unix_path,
			  (const struct sockaddr *)&r->conf.addr,
			  r->conf.addr_len, &k->cio.fd);
	if (rc < 0) {
		fail_connect(r, "%s", strerror(errno));
		return;
	}
	if (rc == 1) {
		link_connected(r, k);
		return;
	}
	if (!loop_add(r->loop, &k->cio, EPOLLOUT))
		fail_connect(r, "cannot watch the socket: %s", strerror(errno));
}

/* --- sending requests --- */

/* send_req - q's command into the output; false if the connection
 * failed (out of memory). */
static bool
send_req(struct relay *r, struct link *k, struct req *q)
{
	struct buf *out = &k->c.out;

	switch (q->type) {
	case REQ_MAIL:
		txn_clear(r);
		buf_printf(out, "MAIL FROM:<%s>", q->addr);
		/* RFC 1870 §6, RFC 6152 §2: only what was announced. */
		if (k->ext_size && q->size > 0)
			buf_printf(out, " SIZE=%llu", q->size);
		if (k->ext_8bit && q->body_8bit)
			buf_append_str(out, " BODY=8BITMIME");
		buf_append(out, "\r\n", 2);
		break;
	case REQ_RCPT:
		buf_printf(out, "RCPT TO:<%s>\r\n", q->addr);
		break;
	case REQ_DATA:
		buf_append_str(out, "DATA\r\n");
		break;
	case REQ_RSET:
		buf_append_str(out, "RSET\r\n");
		break;
	case REQ_BODY_END:
		smtp_data_encode_end(r->bol, r->cr, out);
		r->in_data = false;
		r->lmtp_got = 0;
		r->lmtp_ok = r->lmtp_4xx = r->lmtp_5xx = false;
		break;
	}
	q->state = REQ_SENT;
	if (!buf_ok(out)) {
		fail_lost(r, "out of memory");
		return false;
	}
	return true;
}

/* pipelines - whether a command may follow q before q's reply: RFC 2920
 * §3.1, DATA ends a group; so does the dot (its reply decides what
 * comes next). */
static bool
pipelines(const struct req *q)
{
	return q->type == REQ_MAIL || q->type == REQ_RCPT || q->type == REQ_RSET;
}

static void
pump(struct relay *r)
{
	struct link *k = r->link;
	struct req *q, *last = NULL;
	bool sent = false;

	if (k == NULL || k->state != LINK_READY)
		return;
	for (q = r->head; q != NULL; q = q->next) {
		if (q->state == REQ_ANSWERED)
			continue;
		if (q->state == REQ_QUEUED) {
			if (last != NULL && !(k->ext_pipelining &&
					      pipelines(last) &&
					      q->type != REQ_BODY_END))
				break;
			if (q->type == REQ_BODY_END && !r->in_data) {
				struct smtp_reply rep;

				reply_make(&rep, 503, "5.5.1 no DATA in "
					   "progress");
				answer(r, q, &rep);
				continue;
			}
			if (!send_req(r, k, q))
				return;
			sent = true;
		}
		last = q;
	}
	if (sent) {
		conn_flush(&k->c);
		arm_timer(r);
	}
}

/* --- the API --- */

struct relay *
relay_new(struct loop *l, const struct relay_conf *conf, relay_done_fn *done,
	  relay_drained_fn *drained, void *arg)
{
	struct relay *r = xcalloc(1, sizeof(*r));

	r->loop = l;
	r->conf = *conf;
	r->done = done;
	r->drained = drained;
	r->arg = arg;
	r->tail = &r->head;
	loop_timer_init(&r->timer, timer_cb);
	return r;
}

void
relay_free(struct relay *r)
{
	struct link *k;
	struct req *q;

	if (r == NULL)
		return;
	r->freed = true;
	loop_timer_cancel(r->loop, &r->timer);
	if ((k = r->link) != NULL) {
		r->link = NULL;
		k->r = NULL;
		/* Inside DATA a QUIT would be body text; closing without
		 * the dot delivers nothing (RFC 5321 §4.1.1.4). */
		if (k->conn_ready && !k->c.closed && k->state == LINK_READY &&
		    !r->in_data) {
			buf_append_str(&k->c.out, "QUIT\r\n");
			conn_write(&k->c);
		}
		link_close(k, r->loop);
	}
	while ((q = r->head) != NULL) {
		r->head = q->next;
		free(q->addr);
		free(q);
	}
	r->tail = &r->head;
	txn_clear(r);
	if (!r->deliver_queued && !r->delivering)
		free(r);
}

static struct req *
req_add(struct relay *r, enum req_type type)
{
	struct req *q = xcalloc(1, sizeof(*q));

	q->type = type;
	*r->tail = q;
	r->tail = &q->next;
	return q;
}

/* addr_ok - an address we may put between <>: no byte that could end
 * the command line or hide in it (CR, LF, NUL and the other controls),
 * and no more than RFC 5321 §4.5.3.1.3 allows.  (Brackets may be in a
 * quoted local part: the session's parser judged the syntax.) */
static bool
addr_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n > SMTP_PATH_MAX)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

/* no_link - a request that needs a transaction when there is no
 * connection: the one it belonged to was lost. */
static void
no_link(struct relay *r, struct req *q)
{
	struct smtp_reply rep;

	reply_make(&rep, 451, "4.4.2 lost connection with next hop %s",
		   r->conf.name);
	answer(r, q, &rep);
}

void
relay_mail(struct relay *r, const char *sender, unsigned long long size,
	   bool body_8bit)
{
	struct req *q = req_add(r, REQ_MAIL);

	if (!addr_ok(sender)) {
		struct smtp_reply rep;

		reply_make(&rep, 501, "5.1.7 Bad sender address syntax");
		answer(r, q, &rep);
		return;
	}
	q->addr = xstrdup(sender);
	q->size = size;
	q->body_8bit = body_8bit;
	if (r->link == NULL)
		link_connect(r);
	else
		pump(r);
}

void
relay_rcpt(struct relay *r, const char *rcpt)
{
	struct req *q = req_add(r, REQ_RCPT);

	if (!addr_ok(rcpt) || rcpt[0] == '\0') {
		struct smtp_reply rep;

		reply_make(&rep, 501, "5.1.3 Bad recipient address syntax");
		answer(r, q, &rep);
		return;
	}
	q->addr = xstrdup(rcpt);
	if (r->link == NULL)
		no_link(r, q);
	else
		pump(r);
}

void
relay_data(struct relay *r)
{
	struct req *q = req_add(r, REQ_DATA);

	if (r->link == NULL)
		no_link(r, q);
	else
		pump(r);
}

bool
relay_body(struct relay *r, const char *p, size_t n)
{
	struct link *k = r->link;
	size_t queued;

	if (k == NULL || !r->in_data || k->c.closed)
		return true;	/* relay_body_end reports the failure */
	smtp_data_encode(p, n, &r->bol, &r->cr, &k->c.out);
	if (!buf_ok(&k->c.out)) {
		fail_lost(r, "out of memory");
		return true;
	}
	conn_flush(&k->c);
	/* A next hop that stops reading must not hold the session for
	 * ever: each stall gets the data timeout. */
	loop_timer_set(r->loop, &r->timer, r->conf.data_timeout_ms);
	queued = k->c.out.len - k->c.out_off;
	if (queued > RELAY_BODY_BACKLOG) {
		r->told_full = true;
		return false;
	}
	return true;
}

void
relay_body_end(struct relay *r)
{
	struct req *q = req_add(r, REQ_BODY_END);

	if (r->link == NULL)
		no_link(r, q);
	else
		pump(r);
}

void
relay_rset(struct relay *r)
{
	struct req *q = req_add(r, REQ_RSET);

	if (r->link == NULL) {
		struct smtp_reply rep;

		/* Nothing to reset: the next MAIL opens a new connection. */
		reply_make(&rep, 250, "2.0.0 Ok");
		answer(r, q, &rep);
		return;
	}
	pump(r);
}

bool
relay_connected(const struct relay *r)
{
	return r->link != NULL && r->link->state == LINK_READY &&
	       !r->link->c.closed;
}

bool
relay_ext_8bitmime(const struct relay *r)
{
	return relay_connected(r) && r->link->ext_8bit;
}
