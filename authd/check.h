/*
 * check - the check pipeline: one login, from request to logged result;
 * the path both sockets share (mux requests; PLAIN and LOGIN on the auth
 * socket), so there is one policy: names, cache, back-end, throttle, log.
 *
 * Sequence (loop thread unless noted):
 *   1. normalise the name (userdb/name.h) and check the password's shape;
 *   2. store back-end: look the user up (cheap on GDBM; with store =
 *      postgresql a round trip on the store pool, storepool.h, in its
 *      turn in the same kind of fair queue); a cache hit answers now;
 *   3. otherwise a worker verifies (store: the strongest verifier, or a
 *      dummy of the same cost for an unknown user; PAM: the PAM stack),
 *      in its turn in the pool's fair queue (see "Queue" below);
 *   4. a success may enter the cache; a failure is counted and its reply
 *      held back by the throttle, never beyond auth_reply_max;
 *   5. one log line; done() is called; the check is freed.
 * Unknown user, wrong password and locked account give the same result
 * (AUTH_FAIL) after the same work; only the log tells them apart.
 *
 * Queue (step 3, daemon/worker.h): each check waits under a source, and
 * the workers serve the sources in turn.  The source is
 *   - the client's address when the requester sent one (rip= on the auth
 *     socket, the 5th field on the mux socket), without the port, and an
 *     IPv6 address as its /64 (one site, one attacker's subnet); not
 *     joined with the connection, because Postfix multiplexes all its SMTP
 *     clients over one connection per smtpd process, and one SMTP client
 *     talks to many such processes;
 *   - otherwise the requester itself (auth_request.peer): the auth
 *     connection, or the mux client's process (libsasl2 opens a connection
 *     per login, so the connection would be no source at all; a Postfix
 *     smtpd process serves one SMTP client at a time).
 * auth_queue_per_source bounds what one source may have queued and
 * auth_queue_max the whole queue; a check with no room is answered
 * AUTH_TEMPFAIL at once, never AUTH_FAIL: a right password must never be
 * refused as wrong because of someone else's load.  The same holds at
 * auth_reply_max: a check still queued then is taken out of the queue
 * (no hash is spent on it) and answered AUTH_TEMPFAIL; one that a worker
 * has is answered AUTH_TEMPFAIL and ends in the background.  A cancelled
 * check still queued leaves the queue at once.
 */
#ifndef AUTHD_CHECK_H
#define AUTHD_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "name.h"

enum auth_result { AUTH_OK, AUTH_FAIL, AUTH_TEMPFAIL };

struct check;

struct auth_request {
	const char *via;		/* "mux" or "auth": for the log */
	const char *login;		/* untrusted, (login, login_len) */
	size_t login_len;
	const char *realm;		/* may be NULL */
	size_t realm_len;
	const char *service;		/* may be NULL */
	size_t service_len;
	const char *client;		/* client address if known, may be NULL */
	size_t client_len;
	const char *peer;		/* the requester, for the queue when no
					 * client address is known ("auth conn
					 * 12", "mux pid 345"); may be NULL */
	const char *password;		/* secret; copied and wiped */
	size_t password_len;
	bool no_delay;			/* trusted client asked: no failure delay */
	const char *mech;		/* SASL mechanism, NULL on the mux socket:
					 * checked against auth_realm_mechanisms */
	const char *store_server;	/* check_report: the PostgreSQL server
					 * the mechanism's record came from, for
					 * the log; NULL otherwise */
	/* called once with the result (unless cancelled); the check and
	 * everything it points to is freed right after it returns */
	void (*done)(void *ctx, enum auth_result result,
		     const struct userdb_name *name);
	void *ctx;
};

/* check_source - the queue's source of r (see "Queue") into buf. */
void check_source(const struct auth_request *r, char *buf, size_t size);

/* auth_check_start - copy the request and start it.  Returns a handle for
 * check_cancel() (valid until done() is called). */
struct check *check_start(const struct auth_request *req);
/* auth_report_start - a result a challenge-response mechanism decided
 * itself (CRAM-MD5, DIGEST-MD5, SCRAM): goes through the same log and
 * throttle as a password check, so policy is one.  name may be NULL.
 * Returns like auth_check_start. */
struct check *check_report(const struct auth_request *req,
				     const struct userdb_name *name,
				     enum auth_result result,
				     const char *reason);
/* auth_check_cancel - the requester went away: done() will not be called;
 * the check finishes its work (if a worker has it) and is freed. */
void check_cancel(struct check *c);
/* auth_pending - checks in progress (for shutdown). */
unsigned int check_pending(void);

#endif
