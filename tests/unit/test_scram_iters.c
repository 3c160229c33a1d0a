/*
 * test_scram_iters - the store's histogram of SCRAM iteration counts:
 * codec round trip, damaged values refused, and the pick for made-up
 * names (deterministic, with the store's frequencies, stable when a count
 * gains users).
 */
#include <gdbm.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scram_iters.h"
#include "test.h"
#include "userdb.h"

/* batch - one batch: SCRAM-SHA-256 users at iterations (0: delete them). */
static bool
batch(const char *path, const char *const *keys, unsigned int iterations)
{
	struct userdb_file_params p = { path, 0600, true, (uid_t)-1,
					(gid_t)-1, 5, 0, NULL };
	struct userdb_txn *txn;
	struct userdb_record rec;
	const char *why;
	bool ok = true;

	if ((txn = userdb_txn_begin(&p, &why)) == NULL)
		return false;
	userdb_record_init(&rec);
	rec.have = USERDB_V_SCRAM_SHA256;
	rec.scram256.iterations = iterations;
	rec.scram256.salt_len = 16;
	for (; *keys != NULL && ok; keys++)
		ok = iterations == 0 ? userdb_txn_delete(txn, *keys, &why) == 1 :
		     userdb_txn_put(txn, *keys, &rec, &why);
	if (!ok) {
		userdb_txn_abort(txn);
		return false;
	}
	return userdb_txn_commit(txn, &why);
}

/* histogram - the store's SCRAM-SHA-256 bins as "I=N ..." (sorted by
 * first appearance). */
static const char *
histogram(const char *path)
{
	static char out[256];
	struct userdb *db = userdb_new(path);
	struct scram_iters it;
	size_t i, n = 0;

	out[0] = '\0';
	if (userdb_scram_iters(db, &it))
		for (i = 0; i < it.n[0]; i++)
			n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%u=%llu",
					      i ? " " : "", it.bin[0][i].iterations,
					      (unsigned long long)it.bin[0][i].users);
	userdb_free(db);
	return out;
}

/* store - the histogram kept by puts and deletes, and counted in full
 * for a store that has none (made before it existed). */
static void
store(void)
{
	char dir[] = "/tmp/authd-test-iters.XXXXXX", path[64];
	static const char *const ab[] = { "a@x.org", "b@x.org", NULL };
	static const char *const c[] = { "c@x.org", NULL };
	static const char *const a[] = { "a@x.org", NULL };
	datum k = { (char *)USERDB_ITERS_KEY, sizeof(USERDB_ITERS_KEY) - 1 };
	GDBM_FILE f;

	if (mkdtemp(dir) == NULL)
		return;
	snprintf(path, sizeof(path), "%s/store.db", dir);
	CHECK(batch(path, ab, 4096) && strcmp(histogram(path), "4096=2") == 0,
	      "a new store counts its first users: %s", histogram(path));
	CHECK(batch(path, c, 8192) &&
	      strcmp(histogram(path), "4096=2 8192=1") == 0,
	      "an add counts: %s", histogram(path));
	CHECK(batch(path, a, 8192) &&
	      strcmp(histogram(path), "4096=1 8192=2") == 0,
	      "a replace moves a user: %s", histogram(path));
	CHECK(batch(path, c, 0) && strcmp(histogram(path), "4096=1 8192=1") == 0,
	      "a delete uncounts: %s", histogram(path));
	/* A store from before the histogram: the record is missing. */
	/* Fold everything into the base, then take it out of the base by
	 * hand (the one place that writes a base in place). */
	{
		struct userdb_file_params p = { path, 0600, true, (uid_t)-1,
						(gid_t)-1, 5, 0, NULL };
		char gen_path[4200], man[64] = "";
		const char *why;
		FILE *mf;

		CHECK(userdb_compact(&p, true, &why), "compacted");
		mf = fopen(path, "r");
		CHECK(mf != NULL && fgets(man, sizeof(man), mf) != NULL &&
		      fgets(man, sizeof(man), mf) != NULL, "manifest read");
		if (mf != NULL)
			fclose(mf);
		man[strcspn(man, "\n")] = '\0';
		snprintf(gen_path, sizeof(gen_path), "%s.%s.gdbm", path,
			 man + strlen("generation "));
		f = gdbm_open(gen_path, 0, GDBM_WRITER | GDBM_NOLOCK, 0600, NULL);
	}
	CHECK(f != NULL && gdbm_delete(f, k) == 0, "histogram removed");
	if (f != NULL)
		gdbm_close(f);
	CHECK(strcmp(histogram(path), "") == 0, "none: empty");
	/* The order of a full count is GDBM's: compare as a set. */
	CHECK(batch(path, c, 16384) &&
	      strlen(histogram(path)) == strlen("4096=1 8192=1 16384=1") &&
	      strstr(histogram(path), "4096=1") != NULL &&
	      strstr(histogram(path), "8192=1") != NULL &&
	      strstr(histogram(path), "16384=1") != NULL,
	      "the next commit counts the whole store: %s", histogram(path));
	unlink(path);
	rmdir(dir);
}

static unsigned int
pick(const struct scram_iters *it, unsigned int name, enum scram_hash h)
{
	unsigned char seed[8];
	size_t i;

	/* Any 8 bytes that differ per name: a plain counter spread out. */
	for (i = 0; i < 8; i++)
		seed[i] = (unsigned char)((name * 2654435761u) >> (i * 3));
	return scram_iters_pick(it, h, seed, 99);
}

int
main(void)
{
	struct scram_iters it, back;
	struct userdb_record rec;
	struct buf b = BUF_INIT;
	static const char *const bad[] = {
		"", "sha256\n", "sha1\nsha256\n", "sha256 0=1\nsha1\n",
		"sha256 4096=0\nsha1\n", "sha256 4096\nsha1\n",
		"sha256 99999999999=1\nsha1\n", "sha256 4096=1 \nsha1\n",
		"sha256\nsha1\nx", "sha256 4096=1\nsha1",
	};
	unsigned int n4 = 0, n8 = 0, moved = 0, i;

	scram_iters_init(&it);
	userdb_record_init(&rec);
	rec.have = USERDB_V_SCRAM_SHA256 | USERDB_V_SCRAM_SHA1;
	rec.scram256.iterations = rec.scram1.iterations = 4096;
	for (i = 0; i < 6; i++)
		scram_iters_count(&it, &rec);
	rec.have = USERDB_V_SCRAM_SHA256;
	rec.scram256.iterations = 8192;
	for (i = 0; i < 3; i++)
		scram_iters_count(&it, &rec);
	scram_iters_encode(&it, &b);
	CHECK(b.len == strlen("sha256 4096=6 8192=3\nsha1 4096=6\n") &&
	      memcmp(b.data, "sha256 4096=6 8192=3\nsha1 4096=6\n", b.len) == 0,
	      "encoded as text");
	CHECK(scram_iters_decode(b.data, b.len, &back) == NULL &&
	      back.n[0] == 2 && back.n[1] == 1 && back.bin[0][1].users == 3,
	      "decodes back");
	buf_free(&b);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(scram_iters_decode(bad[i], strlen(bad[i]), &back) != NULL &&
		      back.n[0] == 0, "damaged value %u refused", i);
	CHECK(scram_iters_decode("sha256\nsha1\n", 12, &back) == NULL,
	      "an empty store's histogram decodes");
	CHECK(pick(&back, 1, SCRAM_SHA256) == 99,
	      "no verifier of the hash: the fallback (scram_iterations)");

	for (i = 0; i < 3000; i++) {
		unsigned int c = pick(&it, i, SCRAM_SHA256);

		CHECK(c == pick(&it, i, SCRAM_SHA256), "name %u: deterministic", i);
		n4 += c == 4096;
		n8 += c == 8192;
	}
	CHECK(n4 + n8 == 3000 && n4 > 1800 && n4 < 2200,
	      "counts drawn with the store's frequencies (6:3): %u, %u", n4, n8);
	CHECK(pick(&it, 7, SCRAM_SHA1) == 4096, "SHA-1 has its own histogram");

	/* 9 users at 16384: names move only to it. */
	rec.scram256.iterations = 16384;
	for (i = 0; i < 9; i++)
		scram_iters_count(&it, &rec);
	n4 = 0;
	for (i = 0; i < 3000; i++) {
		scram_iters_init(&back);
		back.n[0] = 2;
		back.bin[0][0] = it.bin[0][0];
		back.bin[0][1] = it.bin[0][1];
		if (pick(&it, i, SCRAM_SHA256) != 16384 &&
		    pick(&it, i, SCRAM_SHA256) != pick(&back, i, SCRAM_SHA256))
			moved++;
		n4 += pick(&it, i, SCRAM_SHA256) == 16384;
	}
	CHECK(moved == 0, "a new count takes names only to itself (%u moved)",
	      moved);
	CHECK(n4 > 1300 && n4 < 1700, "and about its share (%u of 3000)", n4);
	store();
	return test_done();
}
