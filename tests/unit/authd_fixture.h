/*
 * authd_fixture - what the unit tests of authd_core share: settings built
 * from authd.conf keys (conf_keys_new, config_set, authd_settings_load),
 * and a temporary credential store whose users are written as pwtool
 * writes them (userdb_record_set_password or an import line, then one
 * committed transaction).
 */
#ifndef AUTHD_TEST_FIXTURE_H
#define AUTHD_TEST_FIXTURE_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf_keys.h"
#include "config.h"
#include "password.h"
#include "record.h"
#include "settings.h"
#include "userdb.h"

/* fixture_settings - settings from conf_keys' defaults overridden by kv,
 * pairs of key and value ending in NULL; NULL (reason printed as a TAP
 * comment) when a value is refused. */
static inline struct authd_settings *
fixture_settings(const char *const *kv)
{
	struct config *cfg = conf_keys_new();
	struct authd_settings *s;
	char *err = NULL;
	size_t i;

	for (i = 0; kv[i] != NULL; i += 2) {
		if (!config_set(cfg, kv[i], kv[i + 1], &err)) {
			printf("# %s = %s: %s\n", kv[i], kv[i + 1], err);
			free(err);
			config_free(cfg);
			return NULL;
		}
	}
	if ((s = authd_settings_load(cfg, &err)) == NULL) {
		printf("# settings refused: %s\n", err);
		free(err);
		config_free(cfg);
	}
	return s;
}

struct fixture_store {
	char dir[64];
	char path[96];
};

/* fixture_store_init - a fresh directory for a store at st->path (the
 * file appears with the first commit). */
static inline bool
fixture_store_init(struct fixture_store *st)
{
	snprintf(st->dir, sizeof(st->dir), "/tmp/authd-unit.XXXXXX");
	if (mkdtemp(st->dir) == NULL)
		return false;
	snprintf(st->path, sizeof(st->path), "%s/users.db", st->dir);
	return true;
}

/* fixture_store_remove - the store, its lock file and the directory. */
static inline void
fixture_store_remove(const struct fixture_store *st)
{
	char p[128];

	(void)unlink(st->path);
	snprintf(p, sizeof(p), "%s.lock", st->path);
	(void)unlink(p);
	snprintf(p, sizeof(p), "%s.new", st->path);
	(void)unlink(p);
	(void)rmdir(st->dir);
}

/* fixture_store_commit - insert or replace key with rec, in one
 * transaction, as pwtool does. */
static inline bool
fixture_store_commit(const struct fixture_store *st, const char *key,
		     const struct userdb_record *rec)
{
	struct userdb_file_params p = { st->path, 0600, true, (uid_t)-1,
					(gid_t)-1, 5, 0, NULL };
	struct userdb_txn *txn;
	const char *why;

	if ((txn = userdb_txn_begin(&p, &why)) == NULL) {
		printf("# store: %s\n", why);
		return false;
	}
	if (!userdb_txn_put(txn, key, rec, &why)) {
		printf("# store: %s\n", why);
		userdb_txn_abort(txn);
		return false;
	}
	if (!userdb_txn_commit(txn, &why)) {
		printf("# store: %s\n", why);
		return false;
	}
	return true;
}

/* fixture_store_user - login (normalised by s's rules) with verifiers for
 * mechs (USERDB_V_* bits) made from pw with s's hash parameters, locked
 * when disabled; replaces an existing record of the same user. */
static inline bool
fixture_store_user(const struct fixture_store *st,
		   const struct authd_settings *s, const char *login,
		   const char *pw, unsigned int mechs, bool disabled)
{
	struct userdb_name name;
	struct userdb_record rec;
	const char *why;
	bool ok;

	userdb_record_init(&rec);
	if ((why = userdb_name_parse(login, strlen(login), NULL, 0, &s->rules,
				     &name)) != NULL ||
	    (why = userdb_record_set_password(&rec, &name, pw, strlen(pw),
					      mechs, &s->hash)) != NULL) {
		printf("# user %s: %s\n", login, why);
		userdb_record_clear(&rec);
		return false;
	}
	if (disabled)
		rec.flags |= USERDB_FLAG_DISABLED;
	ok = fixture_store_commit(st, name.key, &rec);
	userdb_record_clear(&rec);
	return ok;
}

/* fixture_store_line - a user from an import line
 * ("USER@REALM:FLAGS:VERIFIERS"), for verifiers given as published
 * vectors rather than made from a password. */
static inline bool
fixture_store_line(const struct fixture_store *st,
		   const struct authd_settings *s, const char *line)
{
	struct userdb_name name;
	struct userdb_record rec;
	const char *why;
	bool ok;

	if ((why = userdb_line_parse(line, strlen(line), &s->rules, &name,
				     &rec)) != NULL) {
		printf("# import line %s: %s\n", line, why);
		return false;
	}
	ok = fixture_store_commit(st, name.key, &rec);
	userdb_record_clear(&rec);
	return ok;
}

#endif
