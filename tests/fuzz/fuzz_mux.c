/*
 * fuzz_mux - the mux request decoder (untrusted: any local client).
 * Properties: never reads past the input; a DONE request's fields lie
 * inside the input and re-encode to a prefix of it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mux.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mux_request req;
	const unsigned char *text;
	size_t text_len;
	int i;

	if (mux_request_parse(data, size, &req) == MUX_PARSE_DONE) {
		const char *f[MUX_NFIELDS];
		struct buf b;

		if (req.nfields < 4 || req.nfields > 5)
			abort();
		for (i = 0; i < req.nfields; i++) {
			if (req.field[i] < data ||
			    req.field[i] + req.len[i] > data + size ||
			    req.len[i] > MUX_FIELD_MAX)
				abort();
			f[i] = (const char *)req.field[i];
		}
		buf_init(&b);
		mux_request_encode(&b, f, req.len, req.nfields);
		if (b.len > size || memcmp(b.data, data, b.len) != 0)
			abort();
		buf_free(&b);
	}
	/* The client side parses replies from the server. */
	if (mux_reply_parse(data, size, &text, &text_len) == 1 &&
	    (text + text_len > data + size || text_len < 2))
		abort();
	return 0;
}
