/*
 * backend_store - the credential store (userdb/) as a back-end: names
 * normalised by the store's rule, records read through the loop's reader,
 * and the strongest stored verifier checked on a hash worker (or, for an
 * unknown user, a dummy of the same cost, so timing tells nothing).
 */
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "password.h"
#include "server.h"
#include "userdb.h"

static const char *
store_resolve(const struct auth_request *r, const char *service,
	      struct userdb_name *name_r)
{
	(void)service;
	return userdb_name_parse(r->login, r->login_len, r->realm,
				 r->realm_len, &authd.set->rules, name_r);
}

static int
store_lookup(const struct userdb_name *name, struct userdb_record *rec,
	     const char **why_r)
{
	userdb_record_init(rec);
	return userdb_lookup(authd.db, name->key, name->key_len, rec, why_r);
}

/* store_verify - worker thread.  Every failure (unknown user, wrong
 * password, locked account) is padded to the floor of userdb_verify_pad,
 * so it costs the same whatever the record holds: a cleartext or CRAM-MD5
 * record checks in microseconds and a SCRAM or weak imported crypt one in
 * about a millisecond, where an unknown user pays the dummy (password.h). */
static enum auth_result
store_verify(const struct backend_request *r, char *reason, size_t len)
{
	uint64_t t0 = userdb_verify_clock_us();
	enum auth_result res = AUTH_FAIL;

	if (r->found != 1) {
		(void)userdb_verify_dummy(r->hash, r->pw, r->pw_len);
		snprintf(reason, len, "unknown user");
	} else if (!userdb_verify(r->rec, r->name, r->pw, r->pw_len)) {
		snprintf(reason, len, "wrong password");
	} else if (r->rec->flags & USERDB_FLAG_DISABLED) {
		/* Checked after the hash, so a locked account costs the same
		 * time as any other. */
		snprintf(reason, len, "account locked");
	} else {
		res = AUTH_OK;
	}
	if (res != AUTH_OK)
		userdb_verify_pad(t0);
	return res;
}

const struct backend backend_store = {
	"store", store_resolve, store_lookup, store_verify, false, false,
};

const struct backend *
backend_find(const char *name)
{
	static const struct backend *const all[] = {
		&backend_store, &backend_pam,
	};
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(all[i]->name, name) == 0)
			return all[i];
	return NULL;
}
