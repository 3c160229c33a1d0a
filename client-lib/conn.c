/*
 * conn - struct authd_conn: the client end of the auth-client protocol
 * (Dovecot auth protocol 1.x) on one socket.  The socket is always
 * non-blocking; the blocking API is conn_wait() polling it.
 *
 * Untrusted input: every byte the server sends.  A line longer than
 * AUTHP_LINE_MAX, a wrong protocol version or EOF breaks the connection;
 * anything wrong about one request (bad base64, an OK without user=)
 * ends that session only, and lines for unknown ids are ignored (they
 * answer requests cancelled or expired here).
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "authd.h"
#include "authp.h"
#include "conn.h"
#include "secret.h"
#include "util.h"

static const struct {
	const char *name;
	unsigned int flag;
} mech_flags[] = {
	{ "anonymous", AUTHD_MECH_ANONYMOUS },
	{ "plaintext", AUTHD_MECH_PLAINTEXT },
	{ "dictionary", AUTHD_MECH_DICTIONARY },
	{ "active", AUTHD_MECH_ACTIVE },
	{ "forward-secrecy", AUTHD_MECH_FORWARD_SECRECY },
	{ "mutual-auth", AUTHD_MECH_MUTUAL_AUTH },
	{ "private", AUTHD_MECH_PRIVATE },
	{ "channel-binding", AUTHD_MECH_CHANNEL_BINDING },
};

struct authd_conn *
authd_conn_new(void)
{
	struct authd_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	if ((c->in = malloc(AUTHP_LINE_MAX + 1)) == NULL) {
		free(c);
		return NULL;
	}
	c->fd = -1;
	c->state = CONN_NEW;
	c->timeout_ms = AUTHD_DEFAULT_TIMEOUT_MS;
	return c;
}

void
authd_conn_free(struct authd_conn *c)
{
	size_t i;

	if (c == NULL)
		return;
	while (c->sessions != NULL) {
		struct authd_session *s = c->sessions;

		c->sessions = s->next;
		session_detach(s);
	}
	if (c->fd >= 0)
		close(c->fd);
	for (i = 0; i < c->nmechs; i++)
		free(c->mechs[i].name);
	/* Input and output carry base64 of passwords (PLAIN, LOGIN). */
	secret_free(c->in, AUTHP_LINE_MAX + 1);
	buf_free(&c->out);
	free(c);
}

const char *
authd_conn_error(const struct authd_conn *c)
{
	return c->err;
}

void
authd_conn_set_timeout(struct authd_conn *c, int timeout_ms)
{
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : AUTHD_DEFAULT_TIMEOUT_MS;
}

/* conn_break - the connection failed with code: close it, end every
 * session in progress with the same error.  Returns code. */
static int
conn_break(struct authd_conn *c, int code)
{
	struct authd_session *s;

	if (c->state == CONN_BROKEN)
		return c->status;
	c->state = CONN_BROKEN;
	c->status = code;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	buf_reset(&c->out);
	secret_wipe(c->in, c->in_len);
	c->in_len = 0;
	for (s = c->sessions; s != NULL; s = s->next)
		if (s->state != SESSION_DONE)
			session_end(s, code, "%s", c->err);
	return code;
}

int
conn_flush(struct authd_conn *c)
{
	if (c->state == CONN_BROKEN)
		return c->status;
	while (c->out.len > 0) {
		ssize_t n = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0) {
			if (errno == EPIPE || errno == ECONNRESET) {
				util_errf(c->err, AUTHD_ERR_CLOSED, "the server "
					  "closed the connection");
				return conn_break(c, AUTHD_ERR_CLOSED);
			}
			util_errf(c->err, AUTHD_ERR_SYSTEM, "write: %s",
				  util_strerror(errno));
			return conn_break(c, AUTHD_ERR_SYSTEM);
		}
		buf_consume(&c->out, (size_t)n);
	}
	return AUTHD_OK;
}

void
conn_queue_ready(struct authd_conn *c, struct authd_session *s)
{
	if (s->queued || s->blocking)
		return;
	s->queued = true;
	s->ready_next = NULL;
	if (c->ready_tail != NULL)
		c->ready_tail->ready_next = s;
	else
		c->ready_head = s;
	c->ready_tail = s;
}

void
conn_unqueue(struct authd_conn *c, struct authd_session *s)
{
	struct authd_session **pp, *prev = NULL;

	if (!s->queued)
		return;
	for (pp = &c->ready_head; *pp != NULL; prev = *pp,
	     pp = &(*pp)->ready_next) {
		if (*pp != s)
			continue;
		*pp = s->ready_next;
		if (c->ready_tail == s)
			c->ready_tail = prev;
		break;
	}
	s->queued = false;
	s->ready_next = NULL;
}

struct authd_session *
authd_conn_next_result(struct authd_conn *c)
{
	struct authd_session *s = c->ready_head;

	if (s != NULL)
		conn_unqueue(c, s);
	return s;
}

static struct authd_session *
find_session(struct authd_conn *c, uint32_t id)
{
	struct authd_session *s;

	for (s = c->sessions; s != NULL; s = s->next)
		if (s->id == id && (s->state == SESSION_WAIT ||
				    s->state == SESSION_CONT))
			return s;
	return NULL;
}

static void
add_mech(struct authd_conn *c, char **f, int n)
{
	struct conn_mech *m;
	int i;
	size_t k;

	/* More than we keep: the rest is not reachable by name; the server
	 * still accepts them. */
	if (n < 2 || f[1][0] == '\0' || c->nmechs == CONN_MAX_MECHS)
		return;
	m = &c->mechs[c->nmechs];
	if ((m->name = util_strdup(f[1])) == NULL)
		return;
	m->flags = 0;
	for (i = 2; i < n; i++)
		for (k = 0; k < sizeof(mech_flags) / sizeof(mech_flags[0]); k++)
			if (strcmp(f[i], mech_flags[k].name) == 0)
				m->flags |= mech_flags[k].flag;
	c->nmechs++;
}

/* handle_line - one line from the server, without its LF. */
static void
handle_line(struct authd_conn *c, char *line, size_t len)
{
	char *f[AUTHP_MAX_FIELDS];
	size_t lens[AUTHP_MAX_FIELDS];
	struct authd_session *s;
	uint32_t id;
	int n = authp_split(line, len, f, lens, AUTHP_MAX_FIELDS);

	if (n < 0) {
		/* Too many fields: the first ones are split already; if they
		 * name a request, end it rather than leave it to time out. */
		if ((strcmp(f[0], "OK") == 0 || strcmp(f[0], "FAIL") == 0 ||
		     strcmp(f[0], "CONT") == 0) && authp_parse_id(f[1], &id) &&
		    (s = find_session(c, id)) != NULL)
			session_end(s, AUTHD_ERR_PROTOCOL, "the server's %s line "
				    "has more than %d fields", f[0],
				    AUTHP_MAX_FIELDS);
		return;
	}
	if (strcmp(f[0], "CONT") == 0 || strcmp(f[0], "OK") == 0 ||
	    strcmp(f[0], "FAIL") == 0) {
		if (n >= 2 && authp_parse_id(f[1], &id) &&
		    (s = find_session(c, id)) != NULL)
			session_line(s, f, lens, n);
		return;
	}
	if (strcmp(f[0], "VERSION") == 0) {
		/* The major version must be 1; the minor may differ. */
		if (n < 2 || strcmp(f[1], "1") != 0) {
			util_errf(c->err, AUTHD_ERR_PROTOCOL, "the server speaks "
				  "protocol version %.32s, not 1",
				  n >= 2 ? f[1] : "?");
			conn_break(c, AUTHD_ERR_PROTOCOL);
			return;
		}
		c->got_version = true;
	} else if (strcmp(f[0], "MECH") == 0) {
		if (c->state == CONN_HANDSHAKE)
			add_mech(c, f, n);
	} else if (strcmp(f[0], "DONE") == 0) {
		if (!c->got_version) {
			util_errf(c->err, AUTHD_ERR_PROTOCOL, "the server's "
				  "handshake has no VERSION line: is this an "
				  "auth socket?");
			conn_break(c, AUTHD_ERR_PROTOCOL);
			return;
		}
		if (c->state == CONN_HANDSHAKE)
			c->state = CONN_READY;
	}
	/* SPID, CUID, COOKIE and unknown lines are of no use here. */
}

/* conn_read - read what is there and handle every complete line. */
static int
conn_read(struct authd_conn *c)
{
	while (c->state != CONN_BROKEN) {
		size_t start = 0;
		char *nl;
		ssize_t n;

		if (c->in_len == AUTHP_LINE_MAX + 1) {
			util_errf(c->err, AUTHD_ERR_PROTOCOL, "the server sent a "
				  "line longer than %d bytes", AUTHP_LINE_MAX);
			return conn_break(c, AUTHD_ERR_PROTOCOL);
		}
		n = read(c->fd, c->in + c->in_len,
			 AUTHP_LINE_MAX + 1 - c->in_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0 && errno != ECONNRESET) {
			util_errf(c->err, AUTHD_ERR_SYSTEM, "read: %s",
				  util_strerror(errno));
			return conn_break(c, AUTHD_ERR_SYSTEM);
		}
		if (n <= 0) {
			util_errf(c->err, AUTHD_ERR_CLOSED, "the server closed "
				  "the connection%s", c->state == CONN_HANDSHAKE ?
				  " before the end of its handshake (is this "
				  "the auth socket?)" : "");
			return conn_break(c, AUTHD_ERR_CLOSED);
		}
		c->in_len += (size_t)n;
		while (c->state != CONN_BROKEN &&
		       (nl = memchr(c->in + start, '\n',
				    c->in_len - start)) != NULL) {
			size_t len = (size_t)(nl - (c->in + start));

			handle_line(c, c->in + start, len);
			secret_wipe(c->in + start, len + 1);
			start += len + 1;
		}
		if (c->state == CONN_BROKEN)
			break;
		memmove(c->in, c->in + start, c->in_len - start);
		secret_wipe(c->in + c->in_len - start, start);
		c->in_len -= start;
	}
	return c->state == CONN_BROKEN ? c->status : AUTHD_OK;
}

/* expire - end what passed its deadline. */
static void
expire(struct authd_conn *c)
{
	int64_t now = util_now_ms();
	struct authd_session *s;

	if (c->state == CONN_HANDSHAKE && now >= c->handshake_deadline) {
		util_errf(c->err, AUTHD_ERR_TIMEOUT, "no complete handshake "
			  "from the server in time");
		conn_break(c, AUTHD_ERR_TIMEOUT);
		return;
	}
	for (s = c->sessions; s != NULL && c->state != CONN_BROKEN;
	     s = s->next)
		if (s->state == SESSION_WAIT && now >= s->deadline)
			session_expire(s);
}

int
authd_conn_process(struct authd_conn *c)
{
	if (c->state == CONN_NEW)
		return util_errf(c->err, AUTHD_ERR_INVALID, "not connected");
	if (c->state == CONN_BROKEN)
		return c->status;
	if (conn_flush(c) != AUTHD_OK || conn_read(c) != AUTHD_OK)
		return c->status;
	expire(c);
	/* Expired requests queued CANCEL lines. */
	if (conn_flush(c) != AUTHD_OK)
		return c->status;
	return AUTHD_OK;
}

int
authd_conn_next_timeout(const struct authd_conn *c)
{
	const struct authd_session *s;
	int64_t first = -1, now;

	if (c->state == CONN_HANDSHAKE)
		first = c->handshake_deadline;
	if (c->state == CONN_HANDSHAKE || c->state == CONN_READY)
		for (s = c->sessions; s != NULL; s = s->next)
			if (s->state == SESSION_WAIT &&
			    (first < 0 || s->deadline < first))
				first = s->deadline;
	if (first < 0)
		return -1;
	now = util_now_ms();
	if (first <= now)
		return 0;
	return first - now > 0x7fffffff ? 0x7fffffff : (int)(first - now);
}

int
conn_wait(struct authd_conn *c, struct authd_session *s)
{
	for (;;) {
		struct pollfd pfd;
		int r;

		if (c->state == CONN_BROKEN)
			return c->status;
		if (s == NULL ? c->state == CONN_READY : s->state != SESSION_WAIT)
			return AUTHD_OK;
		pfd.fd = c->fd;
		pfd.events = POLLIN | (c->out.len > 0 ? POLLOUT : 0);
		pfd.revents = 0;
		r = poll(&pfd, 1, authd_conn_next_timeout(c));
		if (r < 0 && errno != EINTR) {
			util_errf(c->err, AUTHD_ERR_SYSTEM, "poll: %s",
				  util_strerror(errno));
			return conn_break(c, AUTHD_ERR_SYSTEM);
		}
		(void)authd_conn_process(c);
	}
}

/* connect_common - the socket and the client's half of the handshake. */
static int
connect_common(struct authd_conn *c, const char *path, int64_t connect_by)
{
	int code;

	if (c->state != CONN_NEW)
		return util_errf(c->err, AUTHD_ERR_INVALID, "the handle is "
				 "connected already (one connection per handle)");
	if (path == NULL)
		return util_errf(c->err, AUTHD_ERR_INVALID, "no socket path");
	if ((c->fd = util_connect_unix(path, connect_by, c->err, &code)) < 0)
		return code;
	c->state = CONN_HANDSHAKE;
	/* The client's VERSION and CPID go first, without waiting for the
	 * server's handshake (which Dovecot 2.4.0 would wait for). */
	if (!buf_printf(&c->out, "VERSION\t%d\t%d\nCPID\t%ld\n",
			 AUTHP_VERSION_MAJOR, 0, (long)getpid())) {
		util_errf(c->err, AUTHD_ERR_NOMEM, "out of memory");
		return conn_break(c, AUTHD_ERR_NOMEM);
	}
	return conn_flush(c);
}

int
authd_conn_connect(struct authd_conn *c, const char *socket_path,
		   int timeout_ms)
{
	int64_t deadline = util_deadline(timeout_ms);
	int rc;

	if ((rc = connect_common(c, socket_path, deadline)) != AUTHD_OK)
		return rc;
	c->handshake_deadline = deadline;
	if ((rc = conn_wait(c, NULL)) != AUTHD_OK)
		return rc;
	return AUTHD_OK;
}

int
authd_conn_connect_start(struct authd_conn *c, const char *socket_path)
{
	int rc;

	/* No waiting: a server with a full listen queue is an error now. */
	if ((rc = connect_common(c, socket_path, util_now_ms())) != AUTHD_OK)
		return rc;
	c->handshake_deadline = util_deadline(c->timeout_ms);
	return AUTHD_PENDING;
}

bool
authd_conn_ready(const struct authd_conn *c)
{
	return c->state == CONN_READY;
}

int
authd_conn_fd(const struct authd_conn *c)
{
	return c->fd;
}

bool
authd_conn_want_write(const struct authd_conn *c)
{
	return c->state != CONN_BROKEN && c->out.len > 0;
}

size_t
authd_conn_mech_count(const struct authd_conn *c)
{
	return c->state == CONN_READY ? c->nmechs : 0;
}

const char *
authd_conn_mech(const struct authd_conn *c, size_t i, unsigned int *flags_r)
{
	if (i >= authd_conn_mech_count(c))
		return NULL;
	if (flags_r != NULL)
		*flags_r = c->mechs[i].flags;
	return c->mechs[i].name;
}

bool
authd_conn_has_mech(const struct authd_conn *c, const char *name,
		    unsigned int *flags_r)
{
	size_t i;

	for (i = 0; i < authd_conn_mech_count(c); i++)
		if (strcasecmp(c->mechs[i].name, name) == 0) {
			if (flags_r != NULL)
				*flags_r = c->mechs[i].flags;
			return true;
		}
	return false;
}
