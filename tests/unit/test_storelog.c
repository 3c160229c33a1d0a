/*
 * test_storelog - the store's log format and the engine around it
 * (storelog.h, userdb.h): checksums, manifests, frames, the overlay, and
 * what readers and writers do with torn, damaged, newer and older stores.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storelog.h"
#include "test.h"
#include "userdb.h"

static char dir[] = "/tmp/test-storelog.XXXXXX";
static char path[256];

static struct userdb_file_params
params(void)
{
	struct userdb_file_params p = { path, 0600, true, (uid_t)-1,
					(gid_t)-1, 5, 0, NULL };
	return p;
}

/* put - one transaction: key = value (NULL: delete). */
static bool
put(const char *key, const char *value)
{
	struct userdb_file_params p = params();
	struct userdb_txn *txn;
	const char *why;

	if ((txn = userdb_txn_begin(&p, &why)) == NULL) {
		printf("# begin: %s\n", why);
		return false;
	}
	if (value != NULL ? !userdb_txn_put_raw(txn, key, value, strlen(value), &why)
			  : userdb_txn_delete(txn, key, &why) < 0) {
		userdb_txn_abort(txn);
		return false;
	}
	if (!userdb_txn_commit(txn, &why)) {
		printf("# commit: %s\n", why);
		return false;
	}
	return true;
}

/* raw_key - whether key is listed (userdb_keys lists users only). */
static bool
listed(struct userdb *db, const char *key)
{
	char **keys;
	size_t n, i;
	const char *why;
	bool found = false;

	if (!userdb_keys(db, &keys, &n, &why))
		return false;
	for (i = 0; i < n; i++)
		found |= strcmp(keys[i], key) == 0;
	userdb_keys_free(keys, n);
	return found;
}

static off_t
size_of(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 ? st.st_size : -1;
}

static void
append(const char *p, const void *bytes, size_t n)
{
	int fd = open(p, O_WRONLY | O_APPEND);

	if (fd < 0 || write(fd, bytes, n) != (ssize_t)n)
		printf("# append to %s failed\n", p);
	if (fd >= 0)
		close(fd);
}

static const char *
manifest(const char *s, uint64_t *gen, unsigned int *format)
{
	return storelog_manifest_parse(s, strlen(s), gen, format);
}

static void
test_format(void)
{
	struct buf b;
	uint64_t gen;
	unsigned int format;
	size_t fl;
	const char *why;
	struct ovmap m;
	const struct ovmap_entry *e;
	char key[32];
	int i, bad = 0;

	CHECK(storelog_crc32c(0, "123456789", 9) == 0xE3069283u,
	      "CRC-32C check value of RFC 3720");
	CHECK(manifest("authd-store 2\ngeneration 12\n", &gen, &format) == NULL && gen == 12,
	      "a manifest parses");
	CHECK(manifest("authd-store 3\ngeneration 12\n", &gen, &format) != NULL && format == 3,
	      "a later format is refused, and named");
	CHECK(manifest("authd-store 2\ngeneration 012\n", &gen, &format) != NULL,
	      "no leading zeros");
	CHECK(manifest("authd-store 2\ngeneration 0\n", &gen, &format) != NULL,
	      "generation 0 does not exist");
	CHECK(manifest("authd-store 2\ngeneration 1\nx", &gen, &format) != NULL,
	      "no trailing bytes");

	buf_init(&b);
	storelog_frame_begin(&b);
	storelog_frame_add(&b, STORELOG_PUT, "a@x", 3, "one", 3);
	storelog_frame_add(&b, STORELOG_DELETE, "b@x", 3, NULL, 0);
	CHECK(storelog_frame_finish(&b), "a frame builds");
	CHECK(storelog_frame_check((unsigned char *)b.data, b.len, &fl, &why) == 1 &&
	      fl == b.len, "and checks");
	CHECK(storelog_frame_check((unsigned char *)b.data, b.len - 1, &fl,
				   &why) == 0, "one byte short: not whole yet");
	b.data[b.len - 1] ^= 1;
	CHECK(storelog_frame_check((unsigned char *)b.data, b.len, &fl, &why) < 0,
	      "a flipped bit fails the checksum");
	buf_free(&b);

	ovmap_init(&m);
	for (i = 0; i < 100000; i++) {
		snprintf(key, sizeof(key), "u%d@x", i);
		ovmap_set(&m, key, strlen(key), i % 3 ? key : NULL, strlen(key));
	}
	for (i = 0; i < 100000; i++) {
		snprintf(key, sizeof(key), "u%d@x", i);
		e = ovmap_get(&m, key, strlen(key));
		if (e == NULL || (i % 3 ? e->value == NULL ||
				  e->value_len != strlen(key) ||
				  memcmp(e->value, key, strlen(key)) != 0 :
				  e->value != NULL))
			bad++;
	}
	CHECK(bad == 0 && ovmap_get(&m, "nobody", 6) == NULL,
	      "overlay: 100,000 keys, values and tombstones (%d wrong)", bad);
	ovmap_free(&m);
}

static void
test_engine(void)
{
	struct userdb_file_params p = params();
	struct userdb *db;
	char logp[300], basep[300], man[64];
	const unsigned char junk[] = { 0x40, 0, 0, 0, 1, 2, 3, 4, 5 };
	struct stat st1, st2;
	const char *why;
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "%s/users.db", dir);
	snprintf(logp, sizeof(logp), "%s.1.log", path);
	CHECK(put("a@x", "A1") && put("b@x", "B1"), "two commits");
	db = userdb_new(path);
	CHECK(listed(db, "a@x") && listed(db, "b@x"), "a reader sees both");
	stat(path, &st1);
	CHECK(put("c@x", "C1") && put("a@x", NULL), "two more");
	stat(path, &st2);
	CHECK(st1.st_ino == st2.st_ino, "appends keep the manifest");
	CHECK(listed(db, "c@x") && !listed(db, "a@x"),
	      "the same reader follows the log: c added, a deleted");

	/* A writer killed mid-append. */
	append(logp, junk, sizeof(junk));
	CHECK(listed(db, "c@x") && listed(db, "b@x"),
	      "a torn frame at the end is not applied");
	CHECK(put("d@x", "D1"), "the next writer cuts it off and commits");
	CHECK(listed(db, "d@x"), "the reader sees that commit");

	/* Damage in the middle: a frame that fails its checksum, then more. */
	{
		off_t end = size_of(logp);
		unsigned char bad[] = { 4, 0, 0, 0, 9, 9, 9, 9, 0, 0, 0, 0 };

		append(logp, bad, sizeof(bad));
		append(logp, bad, sizeof(bad));
		CHECK(!put("e@x", "E1"), "a writer refuses a damaged log");
		CHECK(size_of(logp) == end + 2 * (off_t)sizeof(bad),
		      "and leaves it for the admin to look at");
		if (truncate(logp, end) != 0)
			printf("# truncate failed\n");
	}

	/* Compaction: a new generation with everything, the old one gone. */
	CHECK(userdb_compact(&p, true, &why), "compaction");
	snprintf(basep, sizeof(basep), "%s.2.gdbm", path);
	CHECK(size_of(basep) > 0 && size_of(logp) < 0,
	      "generation 2 replaced generation 1");
	CHECK(listed(db, "b@x") && listed(db, "c@x") && listed(db, "d@x") &&
	      !listed(db, "a@x"), "the reader reopens and sees the same users");

	/* A later format. */
	f = fopen(path, "w");
	fputs("authd-store 3\ngeneration 2\n", f);
	fclose(f);
	{
		struct userdb *db2 = userdb_new(path);
		struct userdb_record rec;
		int r = userdb_lookup(db2, "b@x", 3, &rec, &why);

		CHECK(r < 0 && strstr(why, "newer") != NULL,
		      "a reader refuses format 3: %s", r < 0 ? why : "-");
		userdb_free(db2);
	}
	CHECK(!put("z@x", "Z"), "so does a writer");

	/* Format 1: a plain GDBM file at PATH (as authd 0.x wrote). */
	if (rename(basep, path) != 0)
		printf("# rename failed\n");
	CHECK(listed(db, "b@x"), "a format-1 store is read as it is");
	stat(path, &st1);
	CHECK(put("f@x", "F1"), "the first write upgrades it");
	snprintf(basep, sizeof(basep), "%s.1.gdbm", path);
	stat(basep, &st2);
	CHECK(st1.st_ino == st2.st_ino,
	      "in place: the base is the old file under a second name");
	fd = open(path, O_RDONLY);
	memset(man, 0, sizeof(man));
	CHECK(fd >= 0 && read(fd, man, sizeof(man) - 1) > 0 &&
	      strncmp(man, "authd-store 2\n", 14) == 0, "PATH is a manifest");
	if (fd >= 0)
		close(fd);
	CHECK(listed(db, "f@x") && listed(db, "b@x"), "readers follow");
	userdb_free(db);
}

int
main(void)
{
	if (mkdtemp(dir) == NULL)
		return 1;
	test_format();
	test_engine();
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			printf("# cleanup failed\n");
	}
	return test_done();
}
