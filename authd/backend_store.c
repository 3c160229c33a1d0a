/*
 * backend_store - the credential store (userdb/) as a back-end: names
 * normalised by the store's rule, records read through the loop's reader,
 * and the strongest stored verifier checked on a hash worker (or, for an
 * unknown user, a dummy of the same cost, so timing tells nothing).
 */
#include <stdio.h>
#include <string.h>

#include "backend.h"
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

static enum auth_result
store_verify(const struct backend_request *r, char *reason, size_t len)
{
	if (r->found != 1) {
		(void)userdb_verify_dummy(r->hash, r->pw, r->pw_len);
		snprintf(reason, len, "unknown user");
		return AUTH_FAIL;
	}
	if (!userdb_verify(r->rec, r->name, r->pw, r->pw_len)) {
		snprintf(reason, len, "wrong password");
		return AUTH_FAIL;
	}
	/* Checked after the hash, so a locked account costs the same time
	 * as any other. */
	if (r->rec->flags & USERDB_FLAG_DISABLED) {
		snprintf(reason, len, "account locked");
		return AUTH_FAIL;
	}
	return AUTH_OK;
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
