/*
 * digest_md5 - the parser of a DIGEST-MD5 digest-response (RFC 2831
 * §2.1.2): comma-separated directives, values as tokens or quoted strings
 * with backslash escapes, linear white space around separators, empty
 * list elements allowed.  Bounded: at most 4096 bytes in, 1024 per value.
 * Untrusted input; kept apart from the mechanism so it can be fuzzed.
 */
#ifndef AUTHD_DIGEST_MD5_H
#define AUTHD_DIGEST_MD5_H

#include <stddef.h>

#define DIGEST_RESP_MAX		4096
#define DIGEST_VALUE_MAX	1024

struct digest_resp {
	char *username, *realm, *nonce, *cnonce, *nc, *qop, *digest_uri,
	     *response, *authzid, *charset;
	char *authzid_a1;	/* authzid as received, for A1 (RFC 2831
				 * converts only H()'s strings to 8859-1) */
};

/* digest_resp_parse - NULL or a static reason.  On success the strings
 * are allocated and NUL-terminated; username/authzid converted to UTF-8
 * when charset=utf-8 is absent (they are ISO-8859-1 then).  username,
 * nonce, cnonce, nc, digest-uri and response are required; response is 32
 * lowercase hex digits. */
const char *digest_resp_parse(const char *in, size_t len,
			      struct digest_resp *r);
void digest_resp_free(struct digest_resp *r);

#endif
