/*
 * mux - the saslauthd protocol codec.  See mux.h.
 */
#include <string.h>

#include "mux.h"

enum mux_parse_result
mux_request_parse(const unsigned char *data, size_t len,
		  struct mux_request *req)
{
	size_t pos = 0;
	int i;

	memset(req, 0, sizeof(*req));
	for (i = 0; i < MUX_NFIELDS; i++) {
		size_t n;

		if (len - pos < 2)
			break;
		n = (size_t)data[pos] << 8 | data[pos + 1];
		/* Refuse as soon as the length is known, like saslauthd,
		 * without reading (or waiting for) the field itself. */
		if (n > MUX_FIELD_MAX)
			return i < MUX_CLIENT_ADDR ? MUX_PARSE_TOO_LONG :
			       MUX_PARSE_DONE;
		if (len - pos - 2 < n)
			break;
		req->field[i] = data + pos + 2;
		req->len[i] = n;
		pos += 2 + n;
		req->nfields = i + 1;
	}
	if (req->nfields < 4)
		return MUX_PARSE_MORE;
	return MUX_PARSE_DONE;
}


size_t
mux_reply_encode(const char *text, unsigned char *out)
{
	size_t n = strlen(text);

	if (n > MUX_REPLY_MAX)
		n = MUX_REPLY_MAX;
	out[0] = (unsigned char)(n >> 8);
	out[1] = (unsigned char)n;
	memcpy(out + 2, text, n);
	return n + 2;
}

int
mux_reply_parse(const unsigned char *data, size_t len,
		const unsigned char **text_r, size_t *text_len_r)
{
	size_t n;

	if (len < 2)
		return 0;
	n = (size_t)data[0] << 8 | data[1];
	if (n < 2 || n > MUX_REPLY_MAX)
		return -1;
	if (len - 2 < n)
		return 0;
	*text_r = data + 2;
	*text_len_r = n;
	return 1;
}

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
