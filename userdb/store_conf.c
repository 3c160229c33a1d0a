/*
 * store_conf - authd.conf's store keys.  See store_conf.h.
 */
#include <string.h>

#include "store_conf.h"

/* scheme_literal - a static copy of the scheme name: in-flight checks keep
 * a pointer to it across a reload that frees the old configuration. */
static const char *
scheme_literal(const char *s)
{
	if (strcmp(s, "sha512-crypt") == 0)
		return "sha512-crypt";
	if (strcmp(s, "bcrypt") == 0)
		return "bcrypt";
	return "yescrypt";
}

const char *
userdb_conf_load(const struct config *cfg, struct userdb_conf *s,
		     const char **key_r)
{
	const char *realm = config_str(cfg, "default_realm"), *why;
	char tmp[USERDB_REALM_MAX + 1];

	memset(s, 0, sizeof(*s));
	s->path = config_str(cfg, "store_path");
	s->rules.default_realm = realm;
	s->rules.fold_case = config_bool(cfg, "username_fold_case");
	if (realm[0] != '\0' &&
	    (why = userdb_name_check_realm(realm, strlen(realm), tmp)) != NULL) {
		*key_r = "default_realm";
		return why;
	}
	s->hash.scheme = scheme_literal(config_str(cfg, "password_scheme"));
	s->hash.cost = config_uint(cfg, "password_cost");
	s->hash.scram_iterations = (unsigned int)config_uint(cfg,
							     "scram_iterations");
	/* Check what the scheme accepts now, not at the first use. */
	if ((why = userdb_hash_params_check(&s->hash)) != NULL) {
		*key_r = "password_cost";
		return why;
	}
	return NULL;
}
