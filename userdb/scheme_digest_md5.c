/*
 * scheme_digest_md5 - the RFC 2831 per-realm secret H(user:realm:password).
 * The inner hash is kept as 16 raw bytes: RFC 2831 §2.1.2.1 uses it raw in
 * A1, unlike HTTP Digest, which hexes it.
 */
#include <string.h>

#include <openssl/evp.h>

#include "scheme.h"
#include "secret.h"

void
scheme_digest_md5_hash(const char *user, const char *realm, const char *pw,
		       size_t pw_len, unsigned char out[16])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned int len;

	EVP_DigestInit_ex(c, EVP_md5(), NULL);
	EVP_DigestUpdate(c, user, strlen(user));
	EVP_DigestUpdate(c, ":", 1);
	EVP_DigestUpdate(c, realm, strlen(realm));
	EVP_DigestUpdate(c, ":", 1);
	EVP_DigestUpdate(c, pw, pw_len);
	EVP_DigestFinal_ex(c, out, &len);
	EVP_MD_CTX_free(c);
}
