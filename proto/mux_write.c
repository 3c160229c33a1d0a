/*
 * mux_write - the mux request encoder, on struct buf; kept apart from
 * mux.c so that libauthd (which must never exit) links only the parsers.
 */
#include <string.h>

#include "mux.h"

void
mux_request_encode(struct buf *out, const char *const fields[],
		   const size_t lens[], int nfields)
{
	int i;

	for (i = 0; i < nfields; i++) {
		unsigned char hdr[2] = { (unsigned char)(lens[i] >> 8),
					 (unsigned char)lens[i] };

		buf_append(out, hdr, 2);
		buf_append(out, fields[i], lens[i]);
	}
}
