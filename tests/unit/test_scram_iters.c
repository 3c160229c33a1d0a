/*
 * test_scram_iters - the store's histogram of SCRAM iteration counts:
 * codec round trip, damaged values refused, and the pick for made-up
 * names (deterministic, with the store's frequencies, stable when a count
 * gains users).
 */
#include <string.h>

#include "scram_iters.h"
#include "test.h"

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
	return test_done();
}
