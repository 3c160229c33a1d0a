/*
 * realm_policy - see realm_policy.h.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "realm_policy.h"
#include "xalloc.h"

size_t
realm_policy_index(const char *const *names, size_t n, const char *name,
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
realm_policy_parse(const char *list, const char *const *names,
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
			       i = realm_policy_index(names, n_names, p, len);

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
