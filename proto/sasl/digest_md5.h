/*
 * digest_md5 - the RFC part of DIGEST-MD5 (RFC 2831; historic since RFC
 * 6331), once for authd's server mechanism, the store's verifier and
 * libauthd's client mechanism: the directive syntax of challenges and
 * responses (§2.1, §7.1), the server's reading of a digest-response
 * (§2.1.2), H(user:realm:password) with the ISO-8859-1 rule, and the
 * response-value and rspauth (§2.1.2.1, §2.1.3).
 *
 * Untrusted input: every directive list handed to digest_md5_next() or
 * digest_md5_response_parse() (a digest-challenge or rspauth for the
 * client, a digest-response for the server), as (pointer, length),
 * bounded by DIGEST_MD5_IN_MAX and DIGEST_MD5_VALUE_MAX.  The strings
 * hashed by digest_md5_urp() come from the store, a client's parsed
 * response or the library's caller.
 *
 * Nothing here exits, aborts or logs (libauthd links it): failures are
 * returned.
 */
#ifndef AUTHD_PROTO_SASL_DIGEST_MD5_H
#define AUTHD_PROTO_SASL_DIGEST_MD5_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 2831 §2.1.1 and §2.1.2 keep a challenge under 2048 and a response
 * under 4096 bytes; we take up to 4096 either way. */
#define DIGEST_MD5_IN_MAX	4096
#define DIGEST_MD5_VALUE_MAX	1024

/* --- the directive syntax (RFC 2831 §7.1, RFC 2616 §2.2) --- */

/* One name=value directive, its value unescaped.  DIGEST_MD5_VALUE_MAX
 * bytes of room: callers that keep one off the stack allocate it. */
struct digest_md5_directive {
	const char *name;	/* into the input; not NUL-terminated */
	size_t name_len;
	char value[DIGEST_MD5_VALUE_MAX + 1];	/* NUL-terminated */
	size_t value_len;
};

/* digest_md5_next - the next directive of (in, len) from *pos (0 at the
 * start) into *d: 1, then *pos is past it; 0 at the end of the list; -1
 * on a syntax error, with *error_r a static reason.  Directives are
 * comma-separated, with linear white space around the separators and
 * empty list elements skipped; a value is a token or a quoted string
 * whose backslash escapes any byte.  Refused: input longer than
 * DIGEST_MD5_IN_MAX, a value longer than DIGEST_MD5_VALUE_MAX, a NUL in a
 * value.  The caller decides what a repeated or unknown directive is. */
int digest_md5_next(const char *in, size_t len, size_t *pos,
		    struct digest_md5_directive *d, const char **error_r);

/* digest_md5_directive_is - whether d's name is name, in any case. */
bool digest_md5_directive_is(const struct digest_md5_directive *d,
			     const char *name);

/* --- the server's reading of a digest-response (RFC 2831 §2.1.2) --- */

struct digest_md5_response {
	char *username, *realm, *nonce, *cnonce, *nc, *qop, *digest_uri,
	     *response, *authzid, *charset;
	char *authzid_a1;	/* authzid as received, for A1 (RFC 2831
				 * converts only H()'s strings to 8859-1) */
};

/* digest_md5_response_parse - NULL, or a static reason with *r all NULL:
 * "out of memory", or what is wrong with the client's response.  On success the strings are allocated and
 * NUL-terminated (free with digest_md5_response_free); username and
 * authzid are UTF-8: converted from ISO-8859-1 when charset is absent,
 * checked otherwise.  Required: username, nonce, cnonce, nc, digest-uri
 * and response (32 lowercase hex digits); charset, when present, is
 * utf-8; a directive may appear only once; unknown ones are ignored. */
const char *digest_md5_response_parse(const char *in, size_t len,
				      struct digest_md5_response *r);
/* digest_md5_response_free - free the strings and zero *r. */
void digest_md5_response_free(struct digest_md5_response *r);

/* --- the digests (RFC 2831 §2.1.2.1) --- */

/* What digest_md5_urp reports. */
enum digest_md5_status {
	DIGEST_MD5_OK,
	DIGEST_MD5_NOT_LATIN1,	/* latin1_only, and a string does not fit */
	DIGEST_MD5_NOMEM,
	DIGEST_MD5_NO_MD5,	/* OpenSSL has no MD5 (FIPS mode) */
};

/* digest_md5_urp - H(user ":" realm ":" password) into out, 16 raw bytes
 * (A1 uses them raw, unlike HTTP Digest, which hexes them); also the
 * store's per-realm verifier ({DIGEST-MD5}).  The user name and the
 * password are UTF-8: RFC 2831 §2.1.2.1 hashes one whose characters all
 * fit ISO-8859-1 in ISO-8859-1 (so do libsasl2 and every client).  One
 * that does not fit (or is not UTF-8) is hashed as it is, or, with
 * latin1_only (a client without charset=utf-8, which has to send
 * ISO-8859-1), refused.  The realm is hashed as given.  out is wiped on
 * failure. */
enum digest_md5_status digest_md5_urp(const char *user, size_t user_len,
				      const char *realm, size_t realm_len,
				      const char *pw, size_t pw_len,
				      bool latin1_only, unsigned char out[16]);

/* digest_md5_latin1 - the ISO-8859-1 form of UTF-8 (s, n) that a client
 * without charset=utf-8 sends (RFC 2831 §2.1.2.1), allocated and
 * NUL-terminated (free with secret_free_str); NULL with *status_r
 * DIGEST_MD5_NOT_LATIN1 or DIGEST_MD5_NOMEM. */
char *digest_md5_latin1(const char *s, size_t n,
			enum digest_md5_status *status_r);

/* digest_md5_response_value - RFC 2831 §2.1.2.1 response-value into out,
 * 32 lowercase hex digits and a NUL:
 *   HEX(H(HEX(H(A1)) ":" nonce ":" nc ":" cnonce ":" qop ":" HEX(H(A2))))
 *   A1 = urp ":" nonce ":" cnonce [":" authzid]   (authzid NULL: none)
 *   A2 = "AUTHENTICATE:" digest_uri, or with rspauth ":" digest_uri, the
 *        server's proof (§2.1.3).
 * authzid is the string as sent.  False when out of memory or without
 * MD5 (out is then wiped). */
bool digest_md5_response_value(const unsigned char urp[16],
			       const char *nonce, const char *cnonce,
			       const char *authzid, const char *digest_uri,
			       const char *nc, const char *qop, bool rspauth,
			       char out[33]);

#endif
