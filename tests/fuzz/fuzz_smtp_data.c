/*
 * fuzz_smtp_data - the DATA state machine.  Properties, for any input fed
 * whole and fed one byte at a time: both give the same message, size,
 * flags and end position; the message ends only where the input has
 * CRLF "." CRLF after a CRLF (or at its very start); in reject mode the
 * kept message never holds a bare CR or LF; the size never exceeds the
 * input; and what smtp_data_encode makes of any input, the client side's
 * wire form, decodes to its exact end with no bare line end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t
feed(const char *in, size_t size, size_t step, bool normalise,
     struct smtp_data *d, struct buf *out)
{
	size_t off = 0;

	smtp_data_init(d, 1 << 16, normalise);
	while (off < size && !d->done) {
		size_t n = size - off < step ? size - off : step;

		off += smtp_data_feed(d, in + off, n, out);
	}
	return off;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct buf a = BUF_INIT, b = BUF_INIT;
	struct smtp_data da, db;
	size_t ua, ub, i;
	int mode;

	for (mode = 0; mode < 2; mode++) {
		buf_reset(&a);
		buf_reset(&b);
		ua = feed(in, size, size > 0 ? size : 1, mode, &da, &a);
		ub = feed(in, size, 1, mode, &db, &b);
		if (ua != ub || da.done != db.done || da.size != db.size ||
		    da.bare != db.bare || a.len != b.len ||
		    (a.len > 0 && memcmp(a.data, b.data, a.len) != 0))
			abort();
		if (da.done && !(ua >= 3 && memcmp(in + ua - 3, ".\r\n", 3) == 0 &&
				 (ua == 3 || (ua >= 5 &&
					      memcmp(in + ua - 5, "\r\n", 2) == 0))))
			abort();
		if (!da.normalise && !da.too_big)
			for (i = 0; i < a.len; i++)
				if ((a.data[i] == '\r' &&
				     (i + 1 == a.len || a.data[i + 1] != '\n')) ||
				    (a.data[i] == '\n' &&
				     (i == 0 || a.data[i - 1] != '\r')))
					abort();
		if (da.size > 2 * (unsigned long long)size)
			abort();
	}
	{
		bool bol = true, cr = false;
		size_t used;

		buf_reset(&a);
		buf_reset(&b);
		smtp_data_encode(in, size, &bol, &cr, &a);
		smtp_data_encode_end(bol, cr, &a);
		smtp_data_init(&da, 1 << 20, false);
		used = smtp_data_feed(&da, a.data, a.len, &b);
		if (!da.done || da.bare || used != a.len)
			abort();
	}
	buf_free(&a);
	buf_free(&b);
	return 0;
}
