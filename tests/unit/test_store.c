/*
 * test_store - the store's secret record (userdb.h): added by the first
 * commit, kept by later ones, never listed as a user.
 *
 * The same expectations on a PostgreSQL store when AUTHD_TEST_PG_STORE
 * and AUTHD_TEST_PG_OTHER name two databases with the authd schema and no
 * commit yet (tests/pg/unit_store.sh sets them): "path" is then only the
 * store's name, and every call goes to the database.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "userdb.h"

/* pg_of - the database standing for path, or NULL on GDBM. */
static const char *
pg_of(const char *path)
{
	const char *env = getenv(strstr(path, "other") != NULL ?
				 "AUTHD_TEST_PG_OTHER" : "AUTHD_TEST_PG_STORE");

	return env != NULL && env[0] != '\0' ? env : NULL;
}

static struct userdb *
reader(const char *path)
{
	struct userdb_file_params p = { path, 0600, true, (uid_t)-1,
					(gid_t)-1, 5, 0, pg_of(path) };

	return userdb_reader_new(&p);
}

static bool
commit_raw(const char *path, const char *key)
{
	struct userdb_file_params p = { path, 0600, true, (uid_t)-1,
					(gid_t)-1, 5, 0, pg_of(path) };
	struct userdb_txn *txn;
	const char *why;

	if ((txn = userdb_txn_begin(&p, &why)) == NULL)
		return false;
	if (key != NULL && !userdb_txn_put_raw(txn, key, "x", 1, &why)) {
		userdb_txn_abort(txn);
		return false;
	}
	return userdb_txn_commit(txn, &why);
}

int
main(void)
{
	char dir[] = "/tmp/authd-test-store.XXXXXX", path[64];
	unsigned char s1[USERDB_SECRET_LEN], s2[USERDB_SECRET_LEN],
		      zero[USERDB_SECRET_LEN] = { 0 };
	struct userdb *db;
	char **keys;
	size_t n;
	const char *why;

	if (mkdtemp(dir) == NULL)
		return 1;
	if (pg_of("store") != NULL)
		printf("# on PostgreSQL\n");
	snprintf(path, sizeof(path), "%s/store.db", dir);
	db = reader(path);
	CHECK(!userdb_secret(db, s1), "no store: no secret");

	CHECK(commit_raw(path, "alice@example.org"), "first commit");
	CHECK(userdb_secret(db, s1), "the first commit added the secret");
	CHECK(memcmp(s1, zero, sizeof(s1)) != 0, "... which is not all zero");
	CHECK(userdb_keys(db, &keys, &n, &why) && n == 1 &&
	      strcmp(keys[0], "alice@example.org") == 0,
	      "userdb_keys lists the user and not the secret");
	userdb_keys_free(keys, n);

	CHECK(commit_raw(path, "bob@example.org"), "second commit");
	CHECK(userdb_secret(db, s2) && memcmp(s1, s2, sizeof(s1)) == 0,
	      "the secret survives later commits");
	CHECK(userdb_keys(db, &keys, &n, &why) && n == 2,
	      "two users listed");
	userdb_keys_free(keys, n);
	userdb_free(db);

	snprintf(path, sizeof(path), "%s/other.db", dir);
	CHECK(commit_raw(path, NULL), "an empty commit of a new store");
	db = reader(path);
	CHECK(userdb_secret(db, s2) && memcmp(s1, s2, sizeof(s1)) != 0,
	      "another store has its own secret");
	CHECK(userdb_keys(db, &keys, &n, &why) && n == 0,
	      "... and no users");
	userdb_keys_free(keys, n);
	userdb_free(db);

	(void)unlink(path);
	snprintf(path, sizeof(path), "%s/store.db", dir);
	(void)unlink(path);
	snprintf(path, sizeof(path), "%s/store.db.lock", dir);
	(void)unlink(path);
	snprintf(path, sizeof(path), "%s/other.db.lock", dir);
	(void)unlink(path);
	(void)rmdir(dir);
	return test_done();
}
