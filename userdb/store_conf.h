/*
 * store_conf - the store's keys of authd.conf as typed values, read in one
 * place for authd (the reader) and pwtool (the writer), so both derive
 * the names, realms and hash parameters alike.
 */
#ifndef AUTHD_USERDB_STORE_CONF_H
#define AUTHD_USERDB_STORE_CONF_H

#include "config.h"
#include "name.h"
#include "password.h"

struct userdb_conf {
	const char *path;			/* store_path */
	struct userdb_name_rules rules;		/* default_realm, fold case */
	struct userdb_hash_params hash;		/* scheme, cost, iterations */
};

/* userdb_conf_load - from cfg, whose strings the result points into
 * (the scheme name excepted: a static copy, so a check in flight keeps it
 * across a reload).  NULL, or a static reason with *key_r naming the key
 * at fault. */
const char *userdb_conf_load(const struct config *cfg,
				 struct userdb_conf *s, const char **key_r);

#endif
