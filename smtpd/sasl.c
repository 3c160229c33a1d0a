/*
 * sasl - the auth-socket connection.  See sasl.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>

#include "log.h"
#include "sasl.h"
#include "xalloc.h"

#define MECHS_MAX	16
/* After a failed connect, wait this long before the next try: a burst of
 * AUTH commands while authd is down must not become a burst of connects. */
#define RETRY_MS	1000

static struct {
	struct loop *loop;
	const char *path;
	unsigned int timeout_ms;
	void (*result)(void *owner, struct authd_session *as);
	struct authd_conn *conn;
	struct loop_io io;
	struct loop_timer timer;
	uint64_t retry_at;
	bool down_logged;
	/* The last list authd sent. */
	char names[MECHS_MAX][32];
	unsigned int flags[MECHS_MAX];
	size_t n;
} sasl;

static void sasl_step(void);

static void
sasl_io(struct loop_io *io, uint32_t events)
{
	(void)io;
	(void)events;
	sasl_step();
}

static void
sasl_timer(struct loop_timer *t)
{
	(void)t;
	sasl_step();
}

static void
drop_conn(const char *why)
{
	if (sasl.conn == NULL)
		return;
	if (!sasl.down_logged)
		log_warnx("warning: authd at %s: %s; AUTH answers 454 until "
			  "it is back", sasl.path, why);
	sasl.down_logged = true;
	if (sasl.io.added)
		loop_del(sasl.loop, &sasl.io);
	loop_timer_cancel(sasl.loop, &sasl.timer);
	authd_conn_free(sasl.conn);
	sasl.conn = NULL;
	sasl.retry_at = loop_now(sasl.loop) + RETRY_MS;
}

/* watch - the events and the deadline libauthd wants now. */
static void
watch(void)
{
	uint32_t ev = EPOLLIN | (authd_conn_want_write(sasl.conn) ? EPOLLOUT : 0);
	int ms = authd_conn_next_timeout(sasl.conn);

	sasl.io.fd = authd_conn_fd(sasl.conn);
	if (sasl.io.added)
		(void)loop_mod(sasl.loop, &sasl.io, ev);
	else
		(void)loop_add(sasl.loop, &sasl.io, ev);
	if (ms >= 0)
		loop_timer_set(sasl.loop, &sasl.timer, (uint64_t)ms);
	else
		loop_timer_cancel(sasl.loop, &sasl.timer);
}

static void
learn_mechs(void)
{
	size_t i, n = authd_conn_mech_count(sasl.conn);

	sasl.n = 0;
	for (i = 0; i < n && sasl.n < MECHS_MAX; i++) {
		unsigned int f;
		const char *m = authd_conn_mech(sasl.conn, i, &f);

		if (m == NULL || strlen(m) >= sizeof(sasl.names[0]))
			continue;
		snprintf(sasl.names[sasl.n], sizeof(sasl.names[0]), "%s", m);
		sasl.flags[sasl.n++] = f;
	}
}

static void
sasl_step(void)
{
	struct authd_session *as;
	bool was_ready;
	int rc;

	if (sasl.conn == NULL)
		return;
	was_ready = authd_conn_ready(sasl.conn);
	rc = authd_conn_process(sasl.conn);
	if (!was_ready && authd_conn_ready(sasl.conn)) {
		learn_mechs();
		if (sasl.down_logged)
			log_info("authd at %s is back", sasl.path);
		sasl.down_logged = false;
	}
	while ((as = authd_conn_next_result(sasl.conn)) != NULL)
		sasl.result(authd_session_data(as), as);
	if (rc < 0) {
		drop_conn(authd_conn_error(sasl.conn));
		return;
	}
	watch();
}

/* connect_now - start a connection unless one exists or the last
 * attempt failed less than RETRY_MS ago. */
static bool
connect_now(void)
{
	int rc;

	if (sasl.conn != NULL)
		return true;
	if (loop_now(sasl.loop) < sasl.retry_at)
		return false;
	if ((sasl.conn = authd_conn_new()) == NULL)
		return false;
	authd_conn_set_timeout(sasl.conn, (int)sasl.timeout_ms);
	rc = authd_conn_connect_start(sasl.conn, sasl.path);
	if (rc < 0) {
		drop_conn(authd_conn_error(sasl.conn));
		return false;
	}
	watch();
	return true;
}

void
sasl_init(struct loop *l, const char *socket_path, unsigned int timeout_ms,
	  void (*result)(void *owner, struct authd_session *as))
{
	sasl.loop = l;
	sasl.path = socket_path;
	sasl.timeout_ms = timeout_ms;
	sasl.result = result;
	sasl.io.cb = sasl_io;
	sasl.io.fd = -1;
	loop_timer_init(&sasl.timer, sasl_timer);
	/* Until authd says otherwise: what every authd offers. */
	snprintf(sasl.names[0], sizeof(sasl.names[0]), "PLAIN");
	snprintf(sasl.names[1], sizeof(sasl.names[1]), "LOGIN");
	sasl.flags[0] = sasl.flags[1] = AUTHD_MECH_PLAINTEXT;
	sasl.n = 2;
	(void)connect_now();
}

void
sasl_shutdown(void)
{
	if (sasl.conn == NULL)
		return;
	if (sasl.io.added)
		loop_del(sasl.loop, &sasl.io);
	loop_timer_cancel(sasl.loop, &sasl.timer);
	authd_conn_free(sasl.conn);
	sasl.conn = NULL;
}

void
sasl_poke(void)
{
	(void)connect_now();
}

bool
sasl_mechs(unsigned int refuse_flags, char *buf, size_t len)
{
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < sasl.n; i++) {
		int w;

		if (sasl.flags[i] & refuse_flags)
			continue;
		w = snprintf(buf + off, len - off, "%s%s", off ? " " : "",
			     sasl.names[i]);
		if (w < 0 || (size_t)w >= len - off)
			break;
		off += (size_t)w;
	}
	return off > 0;
}

bool
sasl_mech_ok(const char *mech, size_t len, unsigned int refuse_flags,
	     const char **name_r)
{
	size_t i;

	for (i = 0; i < sasl.n; i++)
		if (strlen(sasl.names[i]) == len &&
		    strncasecmp(sasl.names[i], mech, len) == 0 &&
		    (sasl.flags[i] & refuse_flags) == 0) {
			*name_r = sasl.names[i];
			return true;
		}
	return false;
}

struct authd_session *
sasl_begin(const char *mech, void *owner)
{
	struct authd_session *as;

	if (!connect_now())
		return NULL;
	if ((as = authd_session_new(sasl.conn, mech, "smtp")) == NULL)
		return NULL;
	authd_session_set_data(as, owner);
	return as;
}

void
sasl_kick(void)
{
	if (sasl.conn != NULL)
		watch();
}
