/*
 * conn_auth - the auth-client protocol on one connection.  See
 * conn_auth.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "server.h"
#include "codec.h"
#include "conn.h"
#include "conn_auth.h"
#include "conn_limit.h"
#include "log.h"
#include "loop.h"
#include "mech.h"
#include "peer.h"
#include "policy.h"
#include "secret.h"
#include "storepool.h"
#include "xalloc.h"

#include "authp.h"

#define MAX_REQUESTS	128
/* Replies not yet taken by the client beyond which its connection is not
 * read (daemon/conn.h): a client that sends and never reads (every bad
 * line costs it 19 bytes and authd a 45-byte FAIL) must not grow authd's
 * memory without bound.  48 KiB holds the answers to MAX_REQUESTS
 * exchanges several times over, and with the replies of the line that
 * crossed it the buffer (which doubles) stays at 64 KiB; 256 KiB (a
 * 512 KiB buffer) cost 390 KB per such client. */
#define OUT_BACKLOG_MAX	(48 * 1024)
/* What an open exchange is counted for in the memory budget (conn.h),
 * besides its struct: a mechanism keeps at most about three copies of
 * what the client sent it (SCRAM: the client-first message, the name and
 * the nonce; server data of its own is under the fixed part). */
#define EXCHANGE_FIXED	256
#define EXCHANGE_PER_BYTE 3
/* When the idle timeout is off, how often a connection looks whether a
 * reload turned it on. */
#define IDLE_RECHECK_MS	60000

enum req_state { RQ_WAIT, RQ_BUSY, RQ_FINAL_WAIT };

struct auth_conn;

struct sasl_req {
	struct sasl_req *next;
	struct auth_conn *conn;
	uint32_t id;
	const struct mech *mech;
	void *state;
	enum req_state st;
	struct loop_timer timer;
	struct check *check;
	char service[65];
	char rip[66];
	bool secured, final_resp_ok, no_penalty;
	char *authzid;			/* requested, from the mechanism */
	char login[USERDB_KEY_MAX + 1];	/* as typed, for original_user */
	char *final_b64;		/* server data awaiting an empty CONT */
	struct userdb_name name;
	bool name_ok;
	size_t charged;			/* counted in the memory budget */
	/* MECH_LOOKUP: the store lookup in flight and the step's input,
	 * kept to run the step again with the record (mech.h).  pre is
	 * allocated only while a step of a PostgreSQL store runs or waits
	 * (about 1 KiB): an open exchange on GDBM stays as small as it was,
	 * which the memory budget counts. */
	struct mech_prefetch *pre;
	struct storepool_fetch *fetch;
	unsigned char *pend_in;
	size_t pend_len;
	bool pend_first;
};

struct auth_conn {
	struct conn conn;		/* first: the buffered connection */
	struct auth_conn *prev, *next;	/* all open connections */
	struct sasl_req *reqs;
	unsigned int nreqs;
	unsigned long cuid;
	unsigned long client_minor;	/* of the client's VERSION; 0 before */
	char peer[32];			/* the queue's source without rip= */
	unsigned int nchecks;		/* requests with a check in progress */
	bool choked;			/* not read until nchecks drops */
	struct conn_slot slot;		/* conn_limit's count of us */
	struct loop_timer idle;		/* auth_idle_timeout */
};

static unsigned long next_cuid = 1;
static struct auth_conn *all_conns;
static char cookie[33];

static void req_step(struct sasl_req *r, const unsigned char *in, size_t len,
		     bool first);

/* Back-pressure.  A connection with auth_queue_per_source checks in
 * progress is not read until one ends: its next request would only be
 * refused (its source is full) and asked again at once, and a client that
 * keeps 128 wrong passwords in flight then costs the loop tens of
 * thousands of refusals a second, time the other sources' logins wait
 * for.  Its requests wait in the socket instead, and are read as its
 * earlier ones are answered.  It also bounds what one connection can
 * queue under many sources (rip= is what the peer says). */
static void
check_begun(struct sasl_req *r, struct check *chk)
{
	r->check = chk;
	r->conn->nchecks++;
}

static void
check_ended(struct sasl_req *r)
{
	struct auth_conn *c = r->conn;

	r->check = NULL;
	r->fetch = NULL;
	c->nchecks--;
	if (c->choked && c->nchecks < authd.set->queue_per_source) {
		c->choked = false;
		conn_hold(&c->conn, false);
	}
}

/* --- connection --- */

/* pre_free - the prefetch slot goes, with its record wiped.  Not in the
 * memory budget: it lives only while a look-up is in flight, and those
 * are bounded per connection by the back-pressure above. */
static void
pre_free(struct sasl_req *r)
{
	if (r->pre == NULL)
		return;
	userdb_record_clear(&r->pre->rec);
	secret_wipe(r->pre, sizeof(*r->pre));
	free(r->pre);
	r->pre = NULL;
}

static void
req_free(struct sasl_req *r)
{
	struct sasl_req **pp;

	for (pp = &r->conn->reqs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	r->conn->nreqs--;
	conn_charge(&r->conn->conn, -(long)r->charged);
	loop_timer_cancel(authd.loop, &r->timer);
	if (r->check != NULL) {
		check_cancel(r->check);
		check_ended(r);
	}
	if (r->fetch != NULL) {
		storepool_cancel(r->fetch);
		check_ended(r);
	}
	if (r->pend_in != NULL)
		secret_free(r->pend_in, r->pend_len + 1);
	pre_free(r);
	if (r->state != NULL)
		r->mech->state_free(r->state);
	free(r->authzid);
	free(r->final_b64);
	secret_wipe(r, sizeof(*r));
	free(r);
}

/* auth_closed - the connection is gone: its requests go with it. */
static void
auth_closed(struct conn *cn)
{
	struct auth_conn *c = (struct auth_conn *)cn;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		all_conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	while (c->reqs != NULL)
		req_free(c->reqs);
	loop_timer_cancel(authd.loop, &c->idle);
}

static void
auth_free(struct conn *cn)
{
	struct auth_conn *c = (struct auth_conn *)cn;

	conn_limit_release(&c->slot);
	free(c);
}

/* charge - count n more bytes of r's exchange in the memory budget. */
static void
charge(struct sasl_req *r, size_t n)
{
	conn_charge(&r->conn->conn, (long)n);
	r->charged += n;
}

/* idle_timeout - auth_idle_timeout: a connection on which nothing moved
 * (no byte read or written) for that long, with no request open, is
 * closed.  Dovecot's auth clients and Postfix's xsasl_dovecot_server
 * reconnect on their next request when they find the connection closed,
 * so this only ends connections that nobody uses; a request in flight is
 * never cut off.  A client whose replies wait unread (its connection is
 * paused) has moved nothing either, and is closed the same way. */
static void
idle_timeout(struct loop_timer *t)
{
	struct auth_conn *c = (struct auth_conn *)((char *)t -
		offsetof(struct auth_conn, idle));
	uint64_t idle = authd.set->auth_idle_timeout;
	uint64_t quiet = loop_now(authd.loop) - c->conn.last_io;
	char b;

	if (idle == 0) {
		loop_timer_set(authd.loop, t, IDLE_RECHECK_MS);
		return;
	}
	if (c->nreqs > 0 || quiet < idle) {
		loop_timer_set(authd.loop, t, c->nreqs > 0 ? idle : idle - quiet);
		return;
	}
	/* A request that arrived just now is served, not cut off: it is
	 * read in this same loop iteration. */
	if (!c->conn.paused &&
	    recv(c->conn.io.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 1) {
		loop_timer_set(authd.loop, t, idle);
		return;
	}
	log_debug("auth: connection idle for %llu ms: closing",
		  (unsigned long long)quiet);
	conn_close(&c->conn);
}

/* --- replies --- */

static void
reply_fail(struct auth_conn *c, uint32_t id, const char *code,
	   const char *reason)
{
	authp_put_fail(&c->conn.out, id, NULL, code, reason);
	conn_flush(&c->conn);
}

static void
reply_ok(struct sasl_req *r, const char *user, const char *b64_final)
{
	authp_put_ok(&r->conn->conn.out, r->id, user, r->login, b64_final);
	conn_flush(&r->conn->conn);
}

/* finish_req - the check or report is done: answer the client. */
static void
finish_req(void *ctx, enum auth_result result, const struct userdb_name *name)
{
	struct sasl_req *r = ctx;
	struct auth_conn *c = r->conn;
	char who[USERDB_KEY_MAX + 1];

	if (r->check != NULL)
		check_ended(r);
	if (result == AUTH_TEMPFAIL) {
		reply_fail(c, r->id, "temp_fail", NULL);
		req_free(r);
		return;
	}
	if (result != AUTH_OK || name == NULL) {
		/* No code, no reason: a wrong password, an unknown user and a
		 * locked account look alike.  The name as the client typed it
		 * goes back, as from Dovecot, for every one of them alike:
		 * Postfix logs it as sasl_username= on the failure line, which
		 * fail2ban and admins read. */
		authp_put_fail(&c->conn.out, r->id,
			       r->login[0] != '\0' ? r->login : NULL, NULL,
			       NULL);
		conn_flush(&c->conn);
		req_free(r);
		return;
	}
	r->name = *name;
	r->name_ok = true;
	if (!policy_authz(&r->name, r->authzid, who)) {
		log_notice("auth: user=%s may not act as the requested "
			   "authorization identity", r->name.key);
		reply_fail(c, r->id, "authz_fail", NULL);
		req_free(r);
		return;
	}
	if (r->final_b64 != NULL && !r->final_resp_ok) {
		/* Final server data as one more challenge; OK follows the
		 * client's empty answer. */
		authp_put_cont(&c->conn.out, r->id, r->final_b64);
		r->st = RQ_FINAL_WAIT;
		loop_timer_set(authd.loop, &r->timer,
			       authd.set->request_timeout);
		conn_flush(&c->conn);
		return;
	}
	reply_ok(r, who, r->final_b64);
	req_free(r);
}

static void
req_timeout(struct loop_timer *t)
{
	struct sasl_req *r = (struct sasl_req *)((char *)t -
		offsetof(struct sasl_req, timer));
	struct auth_conn *c = r->conn;

	log_debug("auth: request %u expired waiting for the client", r->id);
	reply_fail(c, r->id, NULL, NULL);
	if (!c->conn.closed)
		req_free(r);
}

static struct auth_request
request_of(struct sasl_req *r, const char *login, size_t login_len)
{
	struct auth_request ar;

	memset(&ar, 0, sizeof(ar));
	ar.via = "auth";
	ar.login = login;
	ar.login_len = login_len;
	ar.service = r->service;
	ar.service_len = strlen(r->service);
	ar.client = r->rip[0] != '\0' ? r->rip : NULL;
	ar.client_len = strlen(r->rip);
	ar.peer = r->conn->peer;
	ar.no_delay = r->no_penalty;
	ar.mech = r->mech->name;
	ar.done = finish_req;
	ar.ctx = r;
	return ar;
}

/* mech_fetched - the record a step asked for (MECH_LOOKUP) is here: run
 * the step again with the same input. */
static void
mech_fetched(void *ctx, int found, struct userdb_record *rec,
	     const char *why, const char *server, long long changes)
{
	struct sasl_req *r = ctx;
	unsigned char *in = r->pend_in;
	size_t len = r->pend_len;

	(void)why;		/* the mechanism says "store error" */
	(void)changes;		/* no cache for these mechanisms */
	check_ended(r);
	r->pend_in = NULL;
	r->pre->ready = true;
	r->pre->found = found;
	r->pre->rec = *rec;
	userdb_record_init(rec);
	snprintf(r->pre->server, sizeof(r->pre->server), "%s", server);
	req_step(r, in, len, r->pend_first);	/* r may be gone after */
	secret_free(in, len + 1);
}

/* lookup_start - MECH_LOOKUP: fetch the record off the loop, in the
 * request's turn among its source's (check.h, "Queue"). */
static void
lookup_start(struct sasl_req *r, const unsigned char *in, size_t len,
	     bool first)
{
	struct auth_request ar = request_of(r, "", 0);
	char source[384];

	check_source(&ar, source, sizeof(source));
	r->pend_in = xmalloc(len + 1);
	if (len > 0)
		memcpy(r->pend_in, in, len);
	r->pend_in[len] = '\0';
	r->pend_len = len;
	r->pend_first = first;
	r->st = RQ_BUSY;
	r->fetch = storepool_fetch(&r->pre->name, r->service, source,
				   authd.set->reply_max, mech_fetched, r);
	r->conn->nchecks++;
}

static void
req_step(struct sasl_req *r, const unsigned char *in, size_t len, bool first)
{
	struct mech_ctx mctx = { r->service, NULL };
	struct mech_out out;
	struct auth_request ar;
	struct check *chk;
	enum mech_status st;
	bool rerun;
	char server[STOREPOOL_SERVER_MAX];

	if (storepool_active() && r->pre == NULL)
		r->pre = xcalloc(1, sizeof(*r->pre));
	mctx.pre = r->pre;
	rerun = r->pre != NULL && r->pre->ready;
	mech_out_init(&out);
	st = r->mech->step(r->state, &mctx, in, len, first, &out);
	/* The fetched record served this one run only; a step that asks
	 * leaves the name it wants in r->pre, which stays until the answer. */
	snprintf(server, sizeof(server), "%s", rerun ? r->pre->server : "");
	if (st != MECH_LOOKUP || rerun)
		pre_free(r);
	if (st == MECH_LOOKUP && rerun) {
		/* Cannot happen (the same input asks for the same name); never
		 * loop on it. */
		st = mech_tempfail(&out, "mechanism asked the store twice");
	}
	switch (st) {
	case MECH_LOOKUP:
		lookup_start(r, in, len, first);
		break;
	case MECH_CONTINUE: {
		size_t n = codec_b64_encoded_len(out.challenge.len);
		char *b64 = xmalloc(n + 1);

		codec_b64_encode((unsigned char *)out.challenge.data,
				 out.challenge.len, b64);
		authp_put_cont(&r->conn->conn.out, r->id, b64);
		free(b64);
		r->st = RQ_WAIT;
		loop_timer_set(authd.loop, &r->timer,
			       authd.set->request_timeout);
		conn_flush(&r->conn->conn);
		break;
	}
	case MECH_PASSWORD:
		snprintf(r->login, sizeof(r->login), "%.*s", (int)out.login_len,
			 out.login);
		r->authzid = out.authzid;
		out.authzid = NULL;
		r->st = RQ_BUSY;
		ar = request_of(r, out.login, out.login_len);
		ar.password = out.password;
		ar.password_len = out.password_len;
		/* NULL: answered already, and r may be gone. */
		if ((chk = check_start(&ar)) != NULL)
			check_begun(r, chk);
		break;
	case MECH_DONE:
	case MECH_MALFORMED:
		if (st == MECH_MALFORMED) {
			out.result = AUTH_FAIL;
			out.reason = "malformed mechanism data";
		}
		/* The name as typed, for original_user= and the log. */
		snprintf(r->login, sizeof(r->login), "%s",
			 out.login != NULL ? out.login :
			 out.name_ok ? out.name.key : "");
		r->authzid = out.authzid;
		out.authzid = NULL;
		if (out.has_final) {
			size_t n = codec_b64_encoded_len(out.final.len);

			r->final_b64 = xmalloc(n + 1);
			codec_b64_encode((unsigned char *)out.final.data,
					 out.final.len, r->final_b64);
		}
		r->st = RQ_BUSY;
		ar = request_of(r, r->login, strlen(r->login));
		if (server[0] != '\0')
			ar.store_server = server;
		if (!out.name_ok) {
			ar.login = "(unknown)";
			ar.login_len = 9;
		}
		if ((chk = check_report(&ar, out.name_ok ? &out.name : NULL,
					     out.result, out.reason)) != NULL)
			check_begun(r, chk);
		break;
	}
	mech_out_clear(&out);
}

static struct sasl_req *
req_find(struct auth_conn *c, uint32_t id)
{
	struct sasl_req *r;

	for (r = c->reqs; r != NULL; r = r->next)
		if (r->id == id)
			return r;
	return NULL;
}

/* decode_b64 - the client's base64, or NULL (invalid_base64). */
static unsigned char *
decode_b64(const char *s, size_t n, size_t *len_r)
{
	unsigned char *p = xmalloc(n / 4 * 3 + 1);
	long dn = codec_b64_decode(s, n, p);

	if (dn < 0) {
		free(p);
		return NULL;
	}
	*len_r = (size_t)dn;
	return p;
}

/* broken_id - an AUTH, CONT or CANCEL whose id is missing, 0, over
 * 4294967295 or not canonical decimal (authp_parse_id).  A FAIL would have
 * to carry an id the client did not write, so the client could not match
 * it and would wait for an answer until its own timeout: close the
 * connection instead, as Dovecot does ("sent broken AUTH request").  The
 * id is the client program's (Postfix, Exim), never a user's, so no user
 * can cut off the others sharing the connection this way. */
static void
broken_id(struct auth_conn *c, const char *cmd, const char *idstr)
{
	char v[4 * 64 + 1];

	log_safe(idstr, strnlen(idstr, 64), v, sizeof(v));
	log_notice("auth: %s with an invalid request id \"%s\": closing",
		   cmd, v);
	conn_close(&c->conn);
}

static void
cmd_auth(struct auth_conn *c, char **f, size_t *lens, int n)
{
	struct authp_auth a;
	const struct mech *m;
	struct sasl_req *r;
	unsigned char *ir = NULL;
	size_t irlen = 0;
	const char *why;
	bool id_ok;

	if ((why = authp_parse_auth(f, lens, n, &a, &id_ok)) != NULL) {
		if (id_ok)
			reply_fail(c, a.id, NULL, why);
		else
			broken_id(c, "AUTH", n > 1 ? f[1] : "");
		return;
	}
	if (req_find(c, a.id) != NULL) {
		/* A FAIL for this id could not be told from the answer to the
		 * request already in flight, and closing the connection would
		 * hurt the other requests on it: ignore the line. */
		log_notice("auth: duplicate request id %u ignored", a.id);
		return;
	}
	if (c->nreqs >= MAX_REQUESTS) {
		reply_fail(c, a.id, "temp_fail", "too many requests in flight");
		return;
	}
	/* The memory budget is spent and this connection holds its share
	 * of it in open exchanges already. */
	if (conn_budget_spent() && c->conn.charged >= conn_budget_share()) {
		reply_fail(c, a.id, "temp_fail", "server busy");
		return;
	}
	if ((m = mech_find(a.mech)) == NULL) {
		reply_fail(c, a.id, NULL, "Unsupported authentication mechanism");
		return;
	}
	if (!a.secured && strstr(m->flags, "plaintext") != NULL &&
	    authd.set->disable_plaintext) {
		reply_fail(c, a.id, NULL, "Plaintext authentication disallowed "
			   "on non-secure (SSL/TLS) connections");
		return;
	}
	if (strlen(a.service) > 64) {
		reply_fail(c, a.id, NULL, "service name too long");
		return;
	}
	/* Protocol 1.0 and 1.1 clients send a bare "resp=" for no initial
	 * response at all: Exim's dovecot authenticator (VERSION 1 0) does
	 * whenever the SMTP client gave none, so LOGIN, CRAM-MD5, DIGEST-MD5
	 * and SCRAM would all fail.  Dovecot reads it so; an empty initial
	 * response is "resp==" then. */
	if (a.has_resp && a.resp[0] == '\0' && c->client_minor < 2)
		a.has_resp = false;
	if (a.has_resp && (ir = decode_b64(a.resp, a.resp_len, &irlen)) == NULL) {
		reply_fail(c, a.id, "invalid_base64", NULL);
		return;
	}
	r = xcalloc(1, sizeof(*r));
	r->conn = c;
	r->id = a.id;
	r->mech = m;
	snprintf(r->service, sizeof(r->service), "%s", a.service);
	snprintf(r->rip, sizeof(r->rip), "%.64s", a.rip != NULL ? a.rip : "");
	r->secured = a.secured;
	r->final_resp_ok = a.final_resp_ok;
	/* no-penalty switches the failure delay off, and with it the only
	 * thing that slows down guessing and hides a check's timing: only
	 * the peers the configuration trusts (Dovecot's login processes,
	 * which throttle on their own) may ask for it. */
	r->no_penalty = a.no_penalty && peer_no_penalty_ok(c->conn.io.fd);
	if (a.no_penalty && !r->no_penalty)
		log_debug("auth: no-penalty from a peer not in "
			  "auth_no_penalty_users/groups ignored");
	loop_timer_init(&r->timer, req_timeout);
	{
		struct mech_ctx mctx = { r->service, NULL };

		r->state = m->state_new(&mctx);
	}
	r->next = c->reqs;
	c->reqs = r;
	c->nreqs++;
	charge(r, sizeof(*r) + EXCHANGE_FIXED + EXCHANGE_PER_BYTE * irlen);
	req_step(r, ir, irlen, true);
	if (ir != NULL)
		secret_free(ir, irlen + 1);
}

static void
cmd_cont(struct auth_conn *c, char **f, size_t *lens, int n)
{
	struct sasl_req *r;
	unsigned char *data;
	uint32_t id;
	size_t len = 0;

	if (n < 2 || !authp_parse_id(f[1], &id)) {
		broken_id(c, "CONT", n > 1 ? f[1] : "");
		return;
	}
	r = req_find(c, id);
	if (r == NULL) {
		reply_fail(c, id, NULL, "unknown request id");
		return;
	}
	if (r->st == RQ_BUSY) {
		/* Its answer is on the way; a FAIL now would be a second one. */
		log_notice("auth: CONT for request %u while it is being "
			   "checked ignored", id);
		return;
	}
	data = decode_b64(n > 2 ? f[2] : "", n > 2 ? lens[2] : 0, &len);
	if (data == NULL) {
		reply_fail(c, id, "invalid_base64", NULL);
		req_free(r);
		return;
	}
	loop_timer_cancel(authd.loop, &r->timer);
	if (r->st == RQ_FINAL_WAIT) {
		char who[USERDB_KEY_MAX + 1];

		free(data);
		if (len != 0) {
			reply_fail(c, id, NULL, "expected an empty response");
		} else {
			(void)policy_authz(&r->name, r->authzid, who);
			reply_ok(r, who, NULL);
		}
		req_free(r);
		return;
	}
	charge(r, EXCHANGE_PER_BYTE * len);
	req_step(r, data, len, false);
	secret_free(data, len + 1);
}

/* too_many_fields - a line with more than AUTHP_MAX_FIELDS fields (cmd
 * and idstr are its first two, as authp_split left them).  Its framing is
 * fine, so like any other bad request it fails alone: an AUTH or CONT
 * whose id can be read gets its FAIL (the client would otherwise wait for
 * an answer that never comes), one whose id cannot closes the connection
 * (broken_id); anything else is ignored. */
static void
too_many_fields(struct auth_conn *c, const char *cmd, const char *idstr)
{
	struct sasl_req *r;
	uint32_t id;

	if (!authp_parse_id(idstr, &id)) {
		if (strcmp(cmd, "AUTH") == 0 || strcmp(cmd, "CONT") == 0 ||
		    strcmp(cmd, "CANCEL") == 0)
			broken_id(c, cmd, idstr);
		return;
	}
	r = req_find(c, id);
	if (strcmp(cmd, "AUTH") == 0) {
		if (r == NULL)	/* a duplicate id is ignored, as ever */
			reply_fail(c, id, NULL, "too many parameters");
	} else if (strcmp(cmd, "CONT") == 0) {
		if (r == NULL) {
			reply_fail(c, id, NULL, "unknown request id");
		} else if (r->st != RQ_BUSY) {
			reply_fail(c, id, NULL, "too many parameters");
			req_free(r);
		}
	}
}

static void
handle_line(struct auth_conn *c, char *line, size_t len)
{
	char *f[AUTHP_MAX_FIELDS];
	size_t lens[AUTHP_MAX_FIELDS];
	int n = authp_split(line, len, f, lens, AUTHP_MAX_FIELDS);

	if (n < 0) {	/* f[0] and f[1] are set all the same */
		too_many_fields(c, f[0], f[1]);
		return;
	}
	if (n == 0)
		return;
	if (strcmp(f[0], "AUTH") == 0) {
		cmd_auth(c, f, lens, n);
	} else if (strcmp(f[0], "CONT") == 0) {
		cmd_cont(c, f, lens, n);
	} else if (strcmp(f[0], "CANCEL") == 0) {
		uint32_t id;
		struct sasl_req *r;

		if (n < 2 || !authp_parse_id(f[1], &id))
			broken_id(c, "CANCEL", n > 1 ? f[1] : "");
		else if ((r = req_find(c, id)) != NULL)
			req_free(r);
	} else if (strcmp(f[0], "VERSION") == 0) {
		if (n < 2 || strcmp(f[1], "1") != 0) {
			char v[4 * 64 + 1];

			log_safe(n >= 2 ? f[1] : "?", n >= 2 ? lens[1] : 1,
				       v, sizeof(v));
			log_notice("auth: client speaks protocol version %s, "
				   "not 1: closing", v);
			conn_close(&c->conn);
		} else if (n >= 3) {
			c->client_minor = strtoul(f[2], NULL, 10);
		}
	}
	/* CPID and unknown commands are ignored. */
}

/* auth_input - every whole line received, then what is left waits for
 * the rest of its line (daemon/conn reads once per readiness report). */
static void
auth_input(struct conn *cn)
{
	struct auth_conn *c = (struct auth_conn *)cn;
	size_t start = 0;
	char *nl;

	/* A client over its backlog (conn_backlogged) has the rest of its
	 * lines handled once it has read its replies. */
	while (!cn->closed && !conn_backlogged(cn) &&
	       (nl = memchr(cn->in.data + start, '\n', cn->in.len - start)) != NULL) {
		size_t len = (size_t)(nl - (cn->in.data + start));

		if (c->nchecks >= authd.set->queue_per_source) {
			c->choked = true;
			conn_hold(cn, true);
			break;
		}
		handle_line(c, cn->in.data + start, len);
		secret_wipe(cn->in.data + start, len);
		start += len + 1;
	}
	if (cn->closed)
		return;
	buf_consume(&cn->in, start);
	if (cn->in.len >= cn->in_max &&
	    memchr(cn->in.data, '\n', cn->in.len) == NULL) {
		log_notice("auth: line longer than %d bytes: closing",
			   AUTHP_LINE_MAX);
		conn_close(cn);
	}
}

static const struct conn_ops auth_ops = { auth_input, auth_closed, auth_free, NULL };

void
conn_auth_close_all(void)
{
	while (all_conns != NULL)
		conn_close(&all_conns->conn);
	loop_run_deferred(authd.loop);
}

void
conn_auth_accept(int fd, const struct conn_slot *slot)
{
	struct auth_conn *c = xcalloc(1, sizeof(*c));
	const struct mech *const *mechs;
	size_t n, i;

	c->slot = *slot;
	if (cookie[0] == '\0')
		mech_random_hex(cookie, 16);
	conn_init(&c->conn, authd.loop, fd, &auth_ops, AUTHP_LINE_MAX + 1,
		  OUT_BACKLOG_MAX);
	c->cuid = next_cuid++;
	snprintf(c->peer, sizeof(c->peer), "auth conn %lu", c->cuid);
	loop_timer_init(&c->idle, idle_timeout);
	c->next = all_conns;
	if (all_conns != NULL)
		all_conns->prev = c;
	all_conns = c;
	if (!conn_watch(&c->conn)) {
		log_warn("epoll add");
		conn_close(&c->conn);
		return;
	}
	loop_timer_set(authd.loop, &c->idle, authd.set->auth_idle_timeout != 0 ?
		       authd.set->auth_idle_timeout : IDLE_RECHECK_MS);
	/* The whole handshake at once, MECH lines before SPID (Postfix
	 * takes SPID without MECH before it for a wrong socket). */
	buf_printf(&c->conn.out, "VERSION\t%d\t%d\n", AUTHP_VERSION_MAJOR,
		   AUTHP_VERSION_MINOR);
	mechs = mech_list(&n);
	for (i = 0; i < n; i++)
		buf_printf(&c->conn.out, "MECH\t%s\t%s\n", mechs[i]->name,
			   mechs[i]->flags);
	buf_printf(&c->conn.out, "SPID\t%ld\nCUID\t%lu\nCOOKIE\t%s\nDONE\n",
		   (long)getpid(), c->cuid, cookie);
	conn_flush(&c->conn);
}
