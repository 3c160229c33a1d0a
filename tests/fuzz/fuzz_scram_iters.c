/*
 * fuzz_scram_iters - the store's SCRAM iteration histogram
 * (USERDB_ITERS_KEY), untrusted like every store record: a damaged or
 * hand-made store file.  Properties: whatever decodes re-encodes to a
 * value that decodes again to the same text, and a pick from it is one of
 * its counts (or the fallback when it has none for that hash).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scram_iters.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
holds(const struct scram_iters *it, int h, unsigned int count)
{
	size_t i;

	for (i = 0; i < it->n[h]; i++)
		if (it->bin[h][i].iterations == count)
			return true;
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char seed[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct scram_iters it, again;
	struct buf a, b;
	unsigned int c;
	int h;

	if (scram_iters_decode((const char *)data, size, &it) != NULL)
		return 0;
	buf_init(&a);
	scram_iters_encode(&it, &a);
	if (scram_iters_decode(a.data, a.len, &again) != NULL)
		abort();
	buf_init(&b);
	scram_iters_encode(&again, &b);
	if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
		abort();
	for (h = 0; h < 2; h++) {
		c = scram_iters_pick(&it, h == 0 ? SCRAM_SHA256 : SCRAM_SHA1,
				     seed, 7);
		if (c != 7 && !holds(&it, h, c))
			abort();
	}
	buf_free(&a);
	buf_free(&b);
	return 0;
}
