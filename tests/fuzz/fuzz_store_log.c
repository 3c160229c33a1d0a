/*
 * fuzz_store_log - the store's manifest and change-log frames
 * (storelog.h), untrusted like every store file: a crash, a full disk or
 * a careless admin may leave any bytes there.  The first byte picks the
 * parser.  Properties: a manifest that parses formats back to the same
 * bytes; every frame that checks rebuilds, op by op, to the same bytes,
 * and applies to an overlay without touching memory it does not own.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "storelog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
rebuild(void *ctx, enum storelog_op op, const char *key, size_t key_len,
	const char *value, size_t value_len)
{
	storelog_frame_add(ctx, op, key, key_len, value, value_len);
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ovmap m;
	struct buf b;
	size_t pos = 0, fl;
	const char *why;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		uint64_t gen;
		unsigned int format;

		if (storelog_manifest_parse((const char *)data + 1, size - 1,
					    &gen, &format) == NULL) {
			buf_init(&b);
			storelog_manifest_format(gen, &b);
			if (b.len != size - 1 || memcmp(b.data, data + 1, b.len) != 0)
				abort();
			buf_free(&b);
		}
		return 0;
	}
	data++;
	size--;
	ovmap_init(&m);
	buf_init(&b);
	while (pos < size &&
	       storelog_frame_check(data + pos, size - pos, &fl, &why) == 1) {
		storelog_frame_begin(&b);
		if (!storelog_ops_each(data + pos, fl, rebuild, &b) ||
		    !storelog_frame_finish(&b) || b.len != fl ||
		    memcmp(b.data, data + pos, fl) != 0)
			abort();
		ovmap_apply_frame(&m, data + pos, fl);
		pos += fl;
	}
	buf_free(&b);
	ovmap_free(&m);
	return 0;
}
