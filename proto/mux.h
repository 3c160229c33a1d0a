/*
 * mux - the saslauthd socket protocol, as authd implements it; the codec
 * both the daemon and the client side (authd-test, libauthd) use.
 *
 * Request: 4 or 5 fields, each a 2-byte big-endian length and that many
 * bytes: login, password, service, realm[, client_addr].  Reply: a 2-byte
 * big-endian length and "OK" or "NO", optionally a space and a reason.
 * One request per connection.  See proto/mux-protocol.txt for the
 * normative description and the limits.
 *
 * Untrusted input on the server side: every request byte.  The parser
 * works on (pointer, length), never reads past a length, and decides from
 * the bytes already received, so a client that stops sending never makes
 * it wait for more than the four required fields.
 */
#ifndef AUTHD_PROTO_MUX_H
#define AUTHD_PROTO_MUX_H

#include <stddef.h>

#include "buf.h"

/* The largest field authd accepts (saslauthd: 256).  Larger user@realm
 * logins and passwords up to 1024 bytes fit. */
#define MUX_FIELD_MAX		1024
#define MUX_REQUEST_MAX		(5 * (2 + MUX_FIELD_MAX))
#define MUX_REPLY_MAX		1023	/* what libsasl2 reads at most */

enum mux_field { MUX_LOGIN, MUX_PASSWORD, MUX_SERVICE, MUX_REALM,
		 MUX_CLIENT_ADDR, MUX_NFIELDS };

struct mux_request {
	const unsigned char *field[MUX_NFIELDS];	/* into the input */
	size_t len[MUX_NFIELDS];
	int nfields;			/* 4, or 5 with client_addr */
};

enum mux_parse_result {
	MUX_PARSE_MORE,		/* not all of the four fields yet */
	MUX_PARSE_DONE,		/* request complete; fields set */
	MUX_PARSE_TOO_LONG,	/* a length above MUX_FIELD_MAX */
};

/* mux_request_parse - parse the bytes received so far.  DONE as soon as
 * four fields are complete; a fifth is used only if it is complete in
 * (data, len) already. */
enum mux_parse_result mux_request_parse(const unsigned char *data, size_t len,
					struct mux_request *req);

/* mux_request_encode - append a request (nfields 4 or 5) to out; fields
 * longer than 65535 bytes are truncated by the caller's check. */
void mux_request_encode(struct buf *out, const char *const fields[],
			const size_t lens[], int nfields);

/* mux_reply_encode - write the reply for text ("OK", "NO", "NO reason")
 * into out (room for MUX_REPLY_MAX + 2).  Returns the byte count. */
size_t mux_reply_encode(const char *text, unsigned char *out);

/* mux_reply_parse - 1 and *text_r and *text_len_r when (data, len) holds a
 * whole reply, 0 if more bytes are needed, -1 if it is malformed. */
int mux_reply_parse(const unsigned char *data, size_t len,
		    const unsigned char **text_r, size_t *text_len_r);

#endif
