/*
 * policy - realm mechanisms and authorization identities.  See policy.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy.h"
#include "server.h"
#include "xalloc.h"

size_t
policy_realm_index(const char *const *names, size_t n, const char *name,
		   size_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strlen(names[i]) == len &&
		    strncasecmp(name, names[i], len) == 0)
			break;
	return i;
}

const char *
policy_realm_parse(const char *list, const char *const *names,
		   size_t n_names, unsigned int allowed,
		   struct realm_policy **out, size_t *n_out)
{
	char *copy = xstrdup(list), *tok, *save = NULL;
	struct realm_policy *v = NULL;
	size_t n = 0;
	const char *why = NULL;

	for (tok = strtok_r(copy, " \t", &save); tok != NULL && why == NULL;
	     tok = strtok_r(NULL, " \t", &save)) {
		char realm[USERDB_REALM_MAX + 1], *colon = strchr(tok, ':');
		const char *p;
		unsigned int mask = 0;
		size_t k;

		if (colon == NULL || colon[1] == '\0') {
			why = "auth_realm_mechanisms: each word is "
			      "realm:mechanism[,mechanism...]";
			break;
		}
		if (userdb_name_check_realm(tok, (size_t)(colon - tok),
					    realm) != NULL) {
			why = "auth_realm_mechanisms: invalid realm name";
			break;
		}
		for (p = colon + 1; *p != '\0' && why == NULL;) {
			size_t len = strcspn(p, ","),
			       i = policy_realm_index(names, n_names, p, len);

			if (len == 0 || i == n_names)
				why = "auth_realm_mechanisms: unknown mechanism";
			else if (!(allowed & (1u << i)))
				why = "auth_realm_mechanisms: a mechanism that "
				      "auth_mechanisms does not enable";
			mask |= i < n_names ? 1u << i : 0;
			p += len;
			if (*p == ',')
				p++;
		}
		for (k = 0; k < n && strcmp(v[k].realm, realm) != 0; k++)
			;
		if (k == n) {
			v = xrealloc(v, (n + 1) * sizeof(*v));
			memcpy(v[n].realm, realm, sizeof(realm));
			v[n++].mask = 0;
		}
		v[k].mask |= mask;
	}
	free(copy);
	if (why != NULL) {
		free(v);
		return why;
	}
	*out = v;
	*n_out = n;
	return NULL;
}

/* The policy in force: per realm, a mask of names' indexes. */
static struct realm_policy *realms;
static size_t n_realms;
static const char *const *realm_names;
static size_t n_realm_names;

void
policy_realm_set(const char *const *names, size_t n_names,
		 struct realm_policy *p, size_t n)
{
	free(realms);
	realms = p;
	n_realms = n;
	realm_names = names;
	n_realm_names = n_names;
}

bool
policy_mech_allowed(const char *mech, const char *realm)
{
	size_t i, k;

	if (n_realms == 0)
		return true;
	k = policy_realm_index(realm_names, n_realm_names, mech, strlen(mech));
	for (i = 0; i < n_realms; i++)
		if (strcmp(realms[i].realm, realm) == 0)
			return k < n_realm_names && (realms[i].mask & (1u << k));
	return true;
}

bool
policy_authz(const struct userdb_name *authn, const char *authzid,
	     char out[USERDB_KEY_MAX + 1])
{
	struct userdb_name z;
	bool allowed = false;
	size_t i;

	snprintf(out, USERDB_KEY_MAX + 1, "%s", authn->key);
	if (authzid == NULL || authzid[0] == '\0')
		return true;
	if (userdb_name_parse(authzid, strlen(authzid), NULL, 0,
			      &authd.set->rules, &z) != NULL)
		return false;
	/* RFC 4616 §2: an authzid equal to the authcid (after realm
	 * normalisation) is no proxying at all; NeoMutt sends one. */
	if (strcmp(z.key, authn->key) == 0)
		return true;
	for (i = 0; i < authd.set->n_proxy_users && !allowed; i++)
		allowed = strcmp(authd.set->proxy_users[i], authn->key) == 0;
	if (allowed)
		snprintf(out, USERDB_KEY_MAX + 1, "%s", z.key);
	return allowed;
}
