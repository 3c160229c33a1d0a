/*
 * policy - the one place for login policy, decided once a user is known
 * (the MECH list goes out before anyone is named, so it cannot depend on
 * the user):
 *   - auth_realm_mechanisms: "realm:name[,name...]" words, a realm's words
 *     adding up, holding a realm to fewer mechanisms than auth_mechanisms
 *     offers;
 *   - authorization identities: who an authenticated user may act as
 *     (itself, or anyone when listed in auth_proxy_users).
 * Untrusted input: the configuration text (fuzzed by
 * tests/fuzz/fuzz_realm_policy.c) and the client's authzid.
 */
#ifndef AUTHD_POLICY_H
#define AUTHD_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "name.h"

struct realm_policy {
	char realm[USERDB_REALM_MAX + 1];	/* lower-cased */
	unsigned int mask;			/* bits: indexes into names */
};

/* policy_realm_index - the index of (name, len) in names (any case), or
 * n when it is none of them. */
size_t policy_realm_index(const char *const *names, size_t n,
			  const char *name, size_t len);
/* policy_realm_parse - parse list against names (at most 32); each name
 * a word uses must have its bit in allowed.  NULL with *out (allocated,
 * possibly NULL when empty) and *n_out, or a static reason naming the
 * key. */
const char *policy_realm_parse(const char *list, const char *const *names,
			       size_t n_names, unsigned int allowed,
			       struct realm_policy **out, size_t *n_out);

/* policy_realm_set - make (p, n) the policy in force (taking ownership
 * and freeing the previous one); names are the ones p's masks index. */
void policy_realm_set(const char *const *names, size_t n_names,
		      struct realm_policy *p, size_t n);
/* policy_mech_allowed - whether users of realm (normalised) may log in
 * with the mechanism named mech (any case).  Realms not listed may use
 * every enabled mechanism. */
bool policy_mech_allowed(const char *mech, const char *realm);

/* policy_authz - the identity a user authenticated as authn acts as,
 * into out: authn itself when authzid is NULL or empty or names the same
 * user (RFC 4616 §2, after normalisation), the authzid's normalised name
 * when authn is in auth_proxy_users.  False when the authzid is refused. */
bool policy_authz(const struct userdb_name *authn, const char *authzid,
		  char out[USERDB_KEY_MAX + 1]);

#endif
