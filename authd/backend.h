/*
 * backend - where a plaintext password (mux requests, PLAIN, LOGIN) is
 * checked, behind one interface, as Dovecot's passdb modules are: the
 * credential store (backend_store.c) and PAM (backend_pam.c).  A new
 * back-end is one file and one entry in backend_find().
 *
 * The check pipeline (check.c) owns the policy around it (names in the
 * log, cache, throttle, failure delays, auth_reply_max); a back-end only
 * names users, fetches what it keeps about them and says yes, no or
 * "cannot tell now" (AUTH_TEMPFAIL, never a wrong password).
 *
 * The challenge-response mechanisms (CRAM-MD5, DIGEST-MD5, SCRAM) need
 * stored verifiers: they read the store through backend_store's
 * lookup_credentials whatever auth_backend says.
 */
#ifndef AUTHD_BACKEND_H
#define AUTHD_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include "check.h"
#include "name.h"
#include "record.h"

/* What a back-end sees of one password check. */
struct backend_request {
	const struct userdb_name *name;	/* as resolve() made it */
	const char *service;		/* PAM service ("" : "other") */
	const char *rhost;		/* client address, or NULL */
	const char *pw;			/* secret, NUL-terminated */
	size_t pw_len;
	const struct userdb_record *rec;	/* lookup_credentials' record */
	int found;			/* its result (1 found, 0 unknown) */
	const struct userdb_hash_params *hash;	/* for the dummy verifier */
};

struct backend {
	const char *name;		/* auth_backend's value */
	/* resolve - loop thread: the request's login (and mux realm) as
	 * this back-end names users, into *name_r (the identity of the log,
	 * the cache, the throttle and OK user=); service is the one
	 * verify_plain will get.  NULL, or a static reason when no user can
	 * have that name (or the service is unusable). */
	const char *(*resolve)(const struct auth_request *r,
			       const char *service, struct userdb_name *name_r);
	/* lookup_credentials - loop thread, cheap: the user's record (1),
	 * none (0), or a temporary failure (-1, *why_r); NULL when the
	 * back-end keeps no records (the cache then relies on its TTL). */
	int (*lookup_credentials)(const struct userdb_name *name,
				  struct userdb_record *rec, const char **why_r);
	/* verify_plain - worker thread: the verdict, with a reason for the
	 * log in reason (reason_len bytes). */
	enum auth_result (*verify_plain)(const struct backend_request *r,
					 char *reason, size_t reason_len);
	/* may_block - verify_plain can sleep (network, PAM modules): it gets
	 * its own worker pool, so it never holds the hash workers. */
	bool may_block;
	/* cache_per_service - a success for one service must not open
	 * another from the cache (PAM decides per service). */
	bool cache_per_service;
};

extern const struct backend backend_store, backend_pam;

/* backend_find - the back-end named by auth_backend, or NULL. */
const struct backend *backend_find(const char *name);

#endif
