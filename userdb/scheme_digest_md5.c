/*
 * scheme_digest_md5 - the RFC 2831 per-realm secret H(user:realm:password).
 * The inner hash is kept as 16 raw bytes: RFC 2831 §2.1.2.1 uses it raw in
 * A1, unlike HTTP Digest, which hexes it.
 *
 * RFC 2831 §2.1.2.1 also says that with charset=utf-8 a user name or
 * password whose characters all fit ISO-8859-1 is converted to ISO-8859-1
 * before hashing; clients do so, so the stored hash must too.  Strings are
 * UTF-8 here; one that does not fit (or is not UTF-8) is hashed as is.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "scheme.h"
#include "secret.h"
#include "xalloc.h"

/* to_latin1 - the ISO-8859-1 form of UTF-8 (s, n) into out (room for n),
 * or 0 when some character is above U+00FF.  Returns the length. */
static size_t
to_latin1(const char *s, size_t n, char *out)
{
	size_t i = 0, o = 0;

	while (i < n) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x80) {
			out[o++] = (char)c;
			i++;
		} else if ((c == 0xc2 || c == 0xc3) && i + 1 < n &&
			   ((unsigned char)s[i + 1] & 0xc0) == 0x80) {
			out[o++] = (char)(((c & 0x03) << 6) |
					  ((unsigned char)s[i + 1] & 0x3f));
			i += 2;
		} else {
			return 0;
		}
	}
	return o;
}

static void
update_latin1(EVP_MD_CTX *c, const char *s, size_t n)
{
	char *tmp = xmalloc(n + 1);
	size_t m = to_latin1(s, n, tmp);

	if (m > 0 || n == 0)
		EVP_DigestUpdate(c, tmp, m);
	else
		EVP_DigestUpdate(c, s, n);
	secret_free(tmp, n + 1);
}

void
scheme_digest_md5_hash(const char *user, const char *realm, const char *pw,
		       size_t pw_len, unsigned char out[16])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned int len;

	if (c == NULL)
		abort();
	EVP_DigestInit_ex(c, EVP_md5(), NULL);
	update_latin1(c, user, strlen(user));
	EVP_DigestUpdate(c, ":", 1);
	EVP_DigestUpdate(c, realm, strlen(realm));
	EVP_DigestUpdate(c, ":", 1);
	update_latin1(c, pw, pw_len);
	EVP_DigestFinal_ex(c, out, &len);
	EVP_MD_CTX_free(c);
}
