/*
 * fuzz_import_line - the pwtool import line parser, which includes the
 * user@realm normalisation (untrusted: import files).  Property: an
 * accepted line exports to a line that is accepted again with the same key.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct userdb_name_rules rules = { "example.org", true };
	struct userdb_record rec, again;
	struct userdb_name name, name2;
	struct buf out;

	if (userdb_line_parse((const char *)data, size, &rules, &name, &rec) != NULL)
		return 0;
	buf_init(&out);
	userdb_line_encode(name.key, &rec, &out);
	if (userdb_line_parse(out.data, out.len, &rules, &name2, &again) != NULL ||
	    strcmp(name.key, name2.key) != 0)
		abort();
	buf_free(&out);
	userdb_record_clear(&rec);
	userdb_record_clear(&again);
	return 0;
}
