/*
 * session - struct authd_session: one SASL exchange (AUTH, CONT...,
 * then OK or FAIL) on a connection.  The library picks the request ids:
 * increasing, skipping ids still in use, so that a late answer to a
 * cancelled request cannot be taken for a new one's.
 *
 * Untrusted input: the CONT/OK/FAIL lines the connection routes here,
 * already split into fields (base64 payloads and escaped values).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authd.h"
#include "authp.h"
#include "codec.h"
#include "conn.h"
#include "secret.h"
#include "util.h"

/* valid_mech - RFC 4422 §3.1: 1 to 20 of A-Z 0-9 - _ (any case here). */
static bool
valid_mech(const char *m)
{
	size_t n = strlen(m);

	return n >= 1 && n <= 20 &&
	       strspn(m, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		      "0123456789-_") == n;
}

struct authd_session *
authd_session_new(struct authd_conn *c, const char *mech, const char *service)
{
	struct authd_session *s;

	if (mech == NULL || !valid_mech(mech)) {
		util_errf(c->err, AUTHD_ERR_INVALID, "invalid mechanism name");
		return NULL;
	}
	if (service == NULL || service[0] == '\0') {
		util_errf(c->err, AUTHD_ERR_INVALID, "a service is required");
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->mech = util_strdup(mech)) == NULL ||
	    (s->service = util_strdup(service)) == NULL) {
		if (s != NULL)
			free(s->mech);
		free(s);
		util_errf(c->err, AUTHD_ERR_NOMEM, "out of memory");
		return NULL;
	}
	s->conn = c;
	s->state = SESSION_NEW;
	s->status = AUTHD_PENDING;
	s->next = c->sessions;
	c->sessions = s;
	return s;
}

static void
clear_result(struct authd_session *s)
{
	buf_free(&s->challenge);
	buf_free(&s->final);
	s->has_final = false;
	free(s->params);
	s->params = NULL;
	s->nparams = 0;
}

void
authd_session_free(struct authd_session *s)
{
	struct authd_conn *c;
	struct authd_session **pp;

	if (s == NULL)
		return;
	if ((c = s->conn) != NULL) {
		if (s->state == SESSION_WAIT || s->state == SESSION_CONT)
			(void)authd_session_cancel(s);
		conn_unqueue(c, s);
		for (pp = &c->sessions; *pp != NULL; pp = &(*pp)->next)
			if (*pp == s) {
				*pp = s->next;
				break;
			}
	}
	clear_result(s);
	free(s->mech);
	free(s->service);
	free(s->lip);
	free(s->rip);
	free(s);
}

void
session_detach(struct authd_session *s)
{
	if (s->state != SESSION_DONE) {
		s->state = SESSION_DONE;
		s->status = AUTHD_ERR_CLOSED;
		snprintf(s->err, sizeof(s->err), "the connection was freed");
	}
	s->conn = NULL;
	s->queued = false;
	s->ready_next = NULL;
}

void
session_end(struct authd_session *s, int status, const char *fmt, ...)
{
	va_list ap;

	s->state = SESSION_DONE;
	s->status = status;
	s->err[0] = '\0';
	if (status < 0 && fmt != NULL) {
		va_start(ap, fmt);
		if (vsnprintf(s->err, sizeof(s->err), fmt, ap) < 0)
			snprintf(s->err, sizeof(s->err), "%s",
				 authd_strerror(status));
		va_end(ap);
		if (s->conn != NULL && status != AUTHD_ERR_CANCELLED)
			memcpy(s->conn->err, s->err, sizeof(s->err));
	}
	if (s->conn != NULL && status != AUTHD_ERR_CANCELLED)
		conn_queue_ready(s->conn, s);
}

/* queue_cancel - tell the server to forget s's request. */
static void
queue_cancel(struct authd_session *s)
{
	struct authd_conn *c = s->conn;

	/* Without memory for the line the server request simply expires
	 * there; the library has forgotten the id either way. */
	if (c->state != CONN_BROKEN &&
	    buf_printf(&c->out, "CANCEL\t%u\n", s->id))
		(void)conn_flush(c);
}

void
session_expire(struct authd_session *s)
{
	queue_cancel(s);
	session_end(s, AUTHD_ERR_TIMEOUT, "no answer from the server to "
		    "request %u in time", s->id);
}

int
authd_session_set_addr(struct authd_session *s, const char *local_ip,
		       unsigned int local_port, const char *remote_ip,
		       unsigned int remote_port)
{
	char *l = NULL, *r = NULL;

	if (s->state != SESSION_NEW || local_port > 65535 ||
	    remote_port > 65535)
		return AUTHD_ERR_INVALID;
	if ((local_ip != NULL && (l = util_strdup(local_ip)) == NULL) ||
	    (remote_ip != NULL && (r = util_strdup(remote_ip)) == NULL)) {
		free(l);
		return AUTHD_ERR_NOMEM;
	}
	free(s->lip);
	free(s->rip);
	s->lip = l;
	s->rip = r;
	s->lport = local_port;
	s->rport = remote_port;
	return AUTHD_OK;
}

int
authd_session_set_flags(struct authd_session *s, unsigned int flags)
{
	if (s->state != SESSION_NEW)
		return AUTHD_ERR_INVALID;
	s->flags = flags;
	return AUTHD_OK;
}

void
authd_session_set_data(struct authd_session *s, void *data)
{
	s->data = data;
}

void *
authd_session_data(const struct authd_session *s)
{
	return s->data;
}

/* next_id - non-zero, not used by a request in progress. */
static uint32_t
next_id(struct authd_conn *c)
{
	for (;;) {
		const struct authd_session *o;

		c->last_id = c->last_id == UINT32_MAX ? 1 : c->last_id + 1;
		for (o = c->sessions; o != NULL; o = o->next)
			if (o->id == c->last_id &&
			    (o->state == SESSION_WAIT || o->state == SESSION_CONT))
				break;
		if (o == NULL)
			return c->last_id;
	}
}

/* put_b64 - base64 of (p, n) appended to line. */
static bool
put_b64(struct buf *line, const void *p, size_t n)
{
	size_t len = codec_b64_encoded_len(n);
	char *b64 = malloc(len + 1);
	bool ok;

	if (b64 == NULL) {
		line->failed = true;
		return false;
	}
	codec_b64_encode(p, n, b64);
	ok = buf_append(line, b64, len);
	secret_free(b64, len + 1);
	return ok;
}

/* usable - the checks common to every send. */
static int
usable(struct authd_session *s, enum session_state want)
{
	if (s->conn == NULL)
		return util_errf(s->err, AUTHD_ERR_INVALID, "the connection "
				 "of this session was freed");
	if (s->conn->state == CONN_NEW)
		return util_errf(s->conn->err, AUTHD_ERR_INVALID,
				 "not connected");
	if (s->state != want)
		return util_errf(s->conn->err, AUTHD_ERR_INVALID,
				 want == SESSION_NEW ? "the session was started "
				 "already" : "the session has no challenge "
				 "to answer");
	if (s->conn->state == CONN_BROKEN) {
		session_end(s, s->conn->status, "%s", s->conn->err);
		return s->conn->status;
	}
	return AUTHD_OK;
}

/* send_line - queue a complete line (or nothing) and try to write it. */
static int
send_line(struct authd_session *s, struct buf *line, int64_t deadline)
{
	struct authd_conn *c = s->conn;
	int rc;

	if (!buf_ok(line) || !buf_append(&c->out, line->data, line->len)) {
		buf_free(line);
		session_end(s, AUTHD_ERR_NOMEM, "out of memory");
		return AUTHD_ERR_NOMEM;
	}
	buf_free(line);
	clear_result(s);
	s->state = SESSION_WAIT;
	s->status = AUTHD_PENDING;
	s->deadline = deadline;
	conn_unqueue(c, s);
	if ((rc = conn_flush(c)) != AUTHD_OK)
		return rc;
	return AUTHD_PENDING;
}

static int
send_auth(struct authd_session *s, const void *initial, size_t initial_len,
	  int64_t deadline)
{
	struct buf line = BUF_INIT;
	int rc;

	if ((rc = usable(s, SESSION_NEW)) != AUTHD_OK)
		return rc;
	s->id = next_id(s->conn);
	buf_printf(&line, "AUTH\t%u\t", s->id);
	authp_escape(&line, s->mech, strlen(s->mech));
	buf_append_str(&line, "\tservice=");
	authp_escape(&line, s->service, strlen(s->service));
	if (s->lip != NULL) {
		buf_append_str(&line, "\tlip=");
		authp_escape(&line, s->lip, strlen(s->lip));
	}
	if (s->rip != NULL) {
		buf_append_str(&line, "\trip=");
		authp_escape(&line, s->rip, strlen(s->rip));
	}
	if (s->lport != 0)
		buf_printf(&line, "\tlport=%u", s->lport);
	if (s->rport != 0)
		buf_printf(&line, "\trport=%u", s->rport);
	if (s->flags & AUTHD_SESSION_SECURED)
		buf_append_str(&line, "\tsecured");
	if (s->flags & AUTHD_SESSION_VALID_CLIENT_CERT)
		buf_append_str(&line, "\tvalid-client-cert");
	if (s->flags & AUTHD_SESSION_NO_PENALTY)
		buf_append_str(&line, "\tno-penalty");
	if (s->flags & AUTHD_SESSION_FINAL_RESP_OK)
		buf_append_str(&line, "\tfinal-resp-ok");
	/* resp= must be the last parameter; its absence is no initial
	 * response.  An empty one is "resp==": to a protocol 1.0 server
	 * (libauthd says VERSION 1 0, as Postfix and Exim do) a bare "resp="
	 * means none, Exim's habit. */
	if (initial != NULL && initial_len == 0) {
		buf_append_str(&line, "\tresp==");
	} else if (initial != NULL) {
		buf_append_str(&line, "\tresp=");
		put_b64(&line, initial, initial_len);
	}
	buf_append_c(&line, '\n');
	if (buf_ok(&line) && line.len > AUTHP_LINE_MAX + 1) {
		buf_free(&line);
		session_end(s, AUTHD_ERR_INVALID, "the request is longer than "
			    "the protocol's %d bytes", AUTHP_LINE_MAX);
		return AUTHD_ERR_INVALID;
	}
	return send_line(s, &line, deadline);
}

static int
send_cont(struct authd_session *s, const void *resp, size_t len,
	  int64_t deadline)
{
	struct buf line = BUF_INIT;
	int rc;

	if ((rc = usable(s, SESSION_CONT)) != AUTHD_OK)
		return rc;
	buf_printf(&line, "CONT\t%u\t", s->id);
	put_b64(&line, resp, len);
	buf_append_c(&line, '\n');
	if (buf_ok(&line) && line.len > AUTHP_LINE_MAX + 1) {
		buf_free(&line);
		queue_cancel(s);
		session_end(s, AUTHD_ERR_INVALID, "the response is longer "
			    "than the protocol's %d bytes", AUTHP_LINE_MAX);
		return AUTHD_ERR_INVALID;
	}
	return send_line(s, &line, deadline);
}

/* wait_for - the blocking half of start and step. */
static int
wait_for(struct authd_session *s, int rc)
{
	if (rc != AUTHD_PENDING)
		return rc;
	s->blocking = true;
	(void)conn_wait(s->conn, s);
	s->blocking = false;
	if (s->conn != NULL)
		conn_unqueue(s->conn, s);
	return s->status;
}

int
authd_session_start(struct authd_session *s, const void *initial,
		    size_t initial_len, int timeout_ms)
{
	return wait_for(s, send_auth(s, initial, initial_len,
				     util_deadline(timeout_ms)));
}

int
authd_session_step(struct authd_session *s, const void *resp, size_t len,
		   int timeout_ms)
{
	return wait_for(s, send_cont(s, resp, len, util_deadline(timeout_ms)));
}

int
authd_session_send_start(struct authd_session *s, const void *initial,
			 size_t initial_len)
{
	return send_auth(s, initial, initial_len,
			 util_deadline(s->conn != NULL ? s->conn->timeout_ms : 0));
}

int
authd_session_send_step(struct authd_session *s, const void *resp, size_t len)
{
	return send_cont(s, resp, len,
			 util_deadline(s->conn != NULL ? s->conn->timeout_ms : 0));
}

int
authd_session_cancel(struct authd_session *s)
{
	if (s->state == SESSION_DONE)
		return AUTHD_ERR_INVALID;
	if (s->conn != NULL && (s->state == SESSION_WAIT ||
				s->state == SESSION_CONT))
		queue_cancel(s);
	if (s->conn != NULL)
		conn_unqueue(s->conn, s);
	clear_result(s);
	session_end(s, AUTHD_ERR_CANCELLED, "cancelled");
	return AUTHD_OK;
}

/* decode_into - base64 (b64, n) into out; false if it is not base64 or
 * memory runs out (then *nomem_r). */
static bool
decode_into(struct buf *out, const char *b64, size_t n, bool *nomem_r)
{
	long dn;

	*nomem_r = false;
	buf_reset(out);
	if (!buf_reserve(out, n / 4 * 3)) {
		*nomem_r = true;
		return false;
	}
	dn = codec_b64_decode(b64, n, (unsigned char *)out->data);
	if (dn < 0) {
		buf_reset(out);
		return false;
	}
	out->len = (size_t)dn;
	out->data[out->len] = '\0';
	return true;
}

/* store_params - keep the OK/FAIL fields (from the third), unescaped. */
static bool
store_params(struct authd_session *s, char **f, size_t *lens, int n,
	     const char **why_r)
{
	size_t total = 0, off = 0;
	int i;

	for (i = 2; i < n; i++) {
		long len = authp_unescape(f[i], lens[i]);

		if (len < 0 || memchr(f[i], '\0', (size_t)len) != NULL) {
			*why_r = "a bad escape or a NUL in a parameter";
			return false;
		}
		lens[i] = (size_t)len;
		total += lens[i] + 1;
	}
	if ((s->params = malloc(total + 1)) == NULL) {
		*why_r = NULL;
		return false;
	}
	for (i = 2; i < n; i++) {
		memcpy(s->params + off, f[i], lens[i] + 1);
		s->param[s->nparams++] = s->params + off;
		off += lens[i] + 1;
	}
	return true;
}

void
session_line(struct authd_session *s, char **f, size_t *lens, int n)
{
	const char *why = NULL, *v;
	bool nomem;

	if (s->state == SESSION_CONT && strcmp(f[0], "FAIL") != 0) {
		/* A second challenge, or success, before the client's
		 * response.  (A FAIL is fine: the server's own timeout.) */
		queue_cancel(s);
		session_end(s, AUTHD_ERR_PROTOCOL, "the server answered request "
			    "%u twice", s->id);
		return;
	}
	if (strcmp(f[0], "CONT") == 0) {
		if (!decode_into(&s->challenge, n > 2 ? f[2] : "",
				 n > 2 ? lens[2] : 0, &nomem)) {
			queue_cancel(s);
			if (nomem)
				session_end(s, AUTHD_ERR_NOMEM, "out of memory");
			else
				session_end(s, AUTHD_ERR_PROTOCOL, "the server's "
					    "challenge is not base64");
			return;
		}
		s->state = SESSION_CONT;
		s->status = AUTHD_CONTINUE;
		conn_queue_ready(s->conn, s);
		return;
	}
	/* OK or FAIL: the server has forgotten the request. */
	buf_free(&s->challenge);
	if (!store_params(s, f, lens, n, &why)) {
		if (why == NULL)
			session_end(s, AUTHD_ERR_NOMEM, "out of memory");
		else
			session_end(s, AUTHD_ERR_PROTOCOL, "the server's %s "
				    "line has %s", f[0], why);
		return;
	}
	if (strcmp(f[0], "FAIL") == 0) {
		v = authd_session_param(s, "code");
		session_end(s, v != NULL && strcmp(v, "temp_fail") == 0 ?
			    AUTHD_TEMPFAIL : AUTHD_FAIL, NULL);
		return;
	}
	/* Postfix treats an OK without user= as a failure; so do we. */
	if ((v = authd_session_param(s, "user")) == NULL || v[0] == '\0') {
		session_end(s, AUTHD_ERR_PROTOCOL, "the server's OK for request "
			    "%u has no user=", s->id);
		return;
	}
	if ((v = authd_session_param(s, "resp")) != NULL) {
		if (!decode_into(&s->final, v, strlen(v), &nomem)) {
			session_end(s, nomem ? AUTHD_ERR_NOMEM :
				    AUTHD_ERR_PROTOCOL, "%s", nomem ?
				    "out of memory" : "the final data of the "
				    "server's OK is not base64");
			return;
		}
		s->has_final = true;
	}
	session_end(s, AUTHD_OK, NULL);
}

int
authd_session_status(const struct authd_session *s)
{
	return s->status;
}

unsigned long
authd_session_id(const struct authd_session *s)
{
	return s->id;
}

const unsigned char *
authd_session_challenge(const struct authd_session *s, size_t *len_r)
{
	if (s->state != SESSION_CONT)
		return NULL;
	*len_r = s->challenge.len;
	return (const unsigned char *)(s->challenge.data != NULL ?
				       s->challenge.data : "");
}

const char *
authd_session_param(const struct authd_session *s, const char *name)
{
	size_t n = strlen(name);
	int i;

	for (i = 0; i < s->nparams; i++) {
		const char *p = s->param[i];

		if (strncmp(p, name, n) == 0 && (p[n] == '=' || p[n] == '\0'))
			return p[n] == '=' ? p + n + 1 : p + n;
	}
	return NULL;
}

const char *
authd_session_user(const struct authd_session *s)
{
	return authd_session_param(s, "user");
}

const unsigned char *
authd_session_final_data(const struct authd_session *s, size_t *len_r)
{
	if (s->status != AUTHD_OK || !s->has_final)
		return NULL;
	*len_r = s->final.len;
	return (const unsigned char *)(s->final.data != NULL ? s->final.data :
				       "");
}

const char *
authd_session_fail_code(const struct authd_session *s)
{
	if (s->status != AUTHD_FAIL && s->status != AUTHD_TEMPFAIL)
		return NULL;
	return authd_session_param(s, "code");
}

const char *
authd_session_fail_reason(const struct authd_session *s)
{
	if (s->status != AUTHD_FAIL && s->status != AUTHD_TEMPFAIL)
		return NULL;
	return authd_session_param(s, "reason");
}

const char *
authd_session_error(const struct authd_session *s)
{
	return s->status < 0 ? s->err : "";
}
