/*
 * fuzz_record - the store record decoder (untrusted: a damaged or
 * hand-made store file).  Property: whatever decodes re-encodes to a value
 * that decodes again to the same canonical form.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct userdb_record rec, again;
	struct buf a, b;

	if (userdb_record_decode((const char *)data, size, &rec) != NULL)
		return 0;
	buf_init(&a);
	userdb_record_encode(&rec, &a);
	if (userdb_record_decode(a.data, a.len, &again) != NULL)
		abort();
	buf_init(&b);
	userdb_record_encode(&again, &b);
	if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
		abort();
	buf_free(&a);
	buf_free(&b);
	userdb_record_clear(&rec);
	userdb_record_clear(&again);
	return 0;
}
