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
	/* store = postgresql: the connection string is pg_conninfo, or the
	 * contents of pg_conninfo_file (exactly one is set; "" otherwise),
	 * read with userdb_conf_conninfo(). */
	bool pg;
	const char *pg_conninfo;		/* store_pg_conninfo */
	const char *pg_conninfo_file;		/* store_pg_conninfo_file */
	const char *pg_password_query;		/* store_pg_password_query */
};

/* userdb_conf_load - from cfg, whose strings the result points into
 * (the scheme name excepted: a static copy, so a check in flight keeps it
 * across a reload).  NULL, or a static reason with *key_r naming the key
 * at fault. */
const char *userdb_conf_load(const struct config *cfg,
				 struct userdb_conf *s, const char **key_r);

/* userdb_conf_conninfo - the connection string of a PostgreSQL store:
 * s->pg_conninfo, or the first line of s->pg_conninfo_file, which must
 * be a regular file owned by root (or by the caller) that nobody else
 * may read or write (mode 0600 or 0400): it may hold a password.
 * Allocated (free it with secret_free_str); NULL with a reason in
 * *why_r (static or in a thread-local buffer). */
char *userdb_conf_conninfo(const struct userdb_conf *s, const char **why_r);

#endif
