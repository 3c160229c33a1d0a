/*
 * fuzz_site_column - a password column of a site's own table, as authd
 * reads it through store_pg_password_query (untrusted: the site's data).
 * The first byte chooses the disabled flag, the rest is the column.
 * Property: an accepted column gives a record whose export line is
 * accepted again, for the same key, with the same flag.
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
	struct userdb_name name;
	struct buf out;
	bool disabled;

	if (size == 0)
		return 0;
	disabled = data[0] & 1;
	if (userdb_column_parse("fuzz@example.org", (const char *)data + 1,
				size - 1, disabled, &rules, &rec) != NULL)
		return 0;
	if (((rec.flags & USERDB_FLAG_DISABLED) != 0) != disabled)
		abort();
	buf_init(&out);
	userdb_line_encode("fuzz@example.org", &rec, &out);
	if (userdb_line_parse(out.data, out.len, &rules, &name, &again) != NULL ||
	    strcmp(name.key, "fuzz@example.org") != 0 ||
	    again.flags != rec.flags)
		abort();
	buf_free(&out);
	userdb_record_clear(&rec);
	userdb_record_clear(&again);
	return 0;
}
