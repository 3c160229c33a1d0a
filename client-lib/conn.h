/*
 * conn - the internals shared by conn.c (struct authd_conn: socket,
 * handshake, line I/O, dispatch of the server's lines) and session.c
 * (struct authd_session: one AUTH exchange).  Not installed.
 *
 * Untrusted input: every line from the server.  Lines are bounded by
 * AUTHP_LINE_MAX and split and unescaped by proto/authp.c's pure
 * functions; base64 is decoded by common/codec.c.
 */
#ifndef LIBAUTHD_CONN_H
#define LIBAUTHD_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "authd.h"
#include "authp.h"
#include "util.h"

#define CONN_MAX_MECHS	32

enum conn_state { CONN_NEW, CONN_HANDSHAKE, CONN_READY, CONN_BROKEN };

enum session_state {
	SESSION_NEW,		/* not started */
	SESSION_WAIT,		/* request sent, waiting for the server */
	SESSION_CONT,		/* challenge received, waiting for a step */
	SESSION_DONE,		/* final: status says which */
};

struct conn_mech {
	char *name;
	unsigned int flags;
};

struct authd_session {
	struct authd_conn *conn;	/* NULL once detached */
	struct authd_session *next;	/* the connection's list */
	struct authd_session *ready_next;
	bool queued;			/* on the connection's ready queue */
	bool blocking;			/* a blocking call waits for it */
	enum session_state state;
	int status;
	uint32_t id;
	int64_t deadline;		/* SESSION_WAIT only */
	char *mech, *service;
	char *lip, *rip;
	unsigned int lport, rport, flags;
	void *data;
	struct buf challenge;		/* decoded CONT payload */
	struct buf final;		/* decoded resp= of the OK */
	bool has_final;
	char *params;			/* the OK/FAIL fields, NUL-separated */
	char *param[AUTHP_MAX_FIELDS];
	int nparams;
	char err[UTIL_ERR_MAX];
};

struct authd_conn {
	enum conn_state state;
	int fd;
	int status;			/* the error that broke it */
	int timeout_ms;
	int64_t handshake_deadline;
	bool got_version;
	uint32_t last_id;
	char *in;			/* AUTHP_LINE_MAX + 1 bytes */
	size_t in_len;
	struct buf out;
	struct conn_mech mechs[CONN_MAX_MECHS];
	size_t nmechs;
	struct authd_session *sessions;
	struct authd_session *ready_head, *ready_tail;
	char err[UTIL_ERR_MAX];
};

/* conn_flush - write queued output without blocking; AUTHD_OK or the
 * error that broke the connection. */
int conn_flush(struct authd_conn *c);
/* conn_wait - block until s has left SESSION_WAIT (or, s NULL, until the
 * handshake is done), driving all of c meanwhile; the deadlines are the
 * handshake's and the sessions' own.  Returns AUTHD_OK or the error that
 * broke the connection (s passing its deadline is not an error of c: s
 * ends with AUTHD_ERR_TIMEOUT). */
int conn_wait(struct authd_conn *c, struct authd_session *s);
/* conn_queue_ready - put s on the ready queue (once). */
void conn_queue_ready(struct authd_conn *c, struct authd_session *s);
/* conn_unqueue - take s off the ready queue. */
void conn_unqueue(struct authd_conn *c, struct authd_session *s);

/* session_end - final status and an error message for errors; queues s
 * unless a blocking call waits for it. */
void session_end(struct authd_session *s, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* session_line - a CONT, OK or FAIL line (fields split, at least 2) for
 * s. */
void session_line(struct authd_session *s, char **f, size_t *lens, int n);
/* session_expire - a deadline passed: cancel at the server, end s. */
void session_expire(struct authd_session *s);
/* session_detach - the connection goes away. */
void session_detach(struct authd_session *s);

#endif
