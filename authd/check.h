/*
 * check - the check pipeline: one login, from request to logged result;
 * the path both sockets share (mux requests; PLAIN and LOGIN on the auth
 * socket), so there is one policy: names, cache, back-end, throttle, log.
 *
 * Sequence (loop thread unless noted):
 *   1. normalise the name (userdb/name.h) and check the password's shape;
 *   2. store back-end: look the user up (cheap); a cache hit answers now;
 *   3. otherwise a worker verifies (store: the strongest verifier, or a
 *      dummy of the same cost for an unknown user; PAM: the PAM stack);
 *   4. a success may enter the cache; a failure is counted and its reply
 *      held back by the throttle, never beyond auth_reply_max;
 *   5. one log line; done() is called; the check is freed.
 * Unknown user, wrong password and locked account give the same result
 * (AUTH_FAIL) after the same work; only the log tells them apart.
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
	const char *password;		/* secret; copied and wiped */
	size_t password_len;
	bool no_delay;			/* trusted client asked: no failure delay */
	const char *mech;		/* SASL mechanism, NULL on the mux socket:
					 * checked against auth_realm_mechanisms */
	/* called once with the result (unless cancelled); the check and
	 * everything it points to is freed right after it returns */
	void (*done)(void *ctx, enum auth_result result,
		     const struct userdb_name *name);
	void *ctx;
};

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
