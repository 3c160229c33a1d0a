/*
 * scheme_cram_md5 - the HMAC-MD5 precomputed context (RFC 2195, RFC 2104).
 *
 * HMAC-MD5(K, m) = MD5(K^opad || MD5(K^ipad || m)).  Storing the MD5
 * chaining state after the single key block of each half lets the server
 * answer CRAM-MD5 without the cleartext.  The midstate is only reachable
 * through OpenSSL's low-level MD5 API, deprecated in 3.0 but present; it
 * is used here and nowhere else.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <string.h>

#include <openssl/md5.h>

#include "scheme.h"
#include "secret.h"

static void
put_le32(unsigned char *p, MD5_LONG v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static MD5_LONG
get_le32(const unsigned char *p)
{
	return (MD5_LONG)p[0] | (MD5_LONG)p[1] << 8 | (MD5_LONG)p[2] << 16 |
	       (MD5_LONG)p[3] << 24;
}

static void
state_put(const MD5_CTX *c, unsigned char *p)
{
	put_le32(p, c->A);
	put_le32(p + 4, c->B);
	put_le32(p + 8, c->C);
	put_le32(p + 12, c->D);
}

/* state_resume - an MD5_CTX positioned right after one 64-byte block. */
static void
state_resume(MD5_CTX *c, const unsigned char *p)
{
	memset(c, 0, sizeof(*c));
	c->A = get_le32(p);
	c->B = get_le32(p + 4);
	c->C = get_le32(p + 8);
	c->D = get_le32(p + 12);
	c->Nl = 512;	/* bits hashed so far */
}

void
scheme_cram_md5_context(const char *pw, size_t pw_len,
			unsigned char ctx[CRAM_MD5_CONTEXT_LEN])
{
	unsigned char key[64], ipad[64], opad[64];
	MD5_CTX c;
	size_t i;

	memset(key, 0, sizeof(key));
	if (pw_len > 64)	/* RFC 2104: longer keys are hashed first */
		MD5((const unsigned char *)pw, pw_len, key);
	else
		memcpy(key, pw, pw_len);
	for (i = 0; i < 64; i++) {
		ipad[i] = key[i] ^ 0x36;
		opad[i] = key[i] ^ 0x5c;
	}
	MD5_Init(&c);
	MD5_Update(&c, opad, 64);
	state_put(&c, ctx);
	MD5_Init(&c);
	MD5_Update(&c, ipad, 64);
	state_put(&c, ctx + 16);
	secret_wipe(&c, sizeof(c));
	secret_wipe(key, sizeof(key));
	secret_wipe(ipad, sizeof(ipad));
	secret_wipe(opad, sizeof(opad));
}

void
scheme_cram_md5_hmac(const unsigned char ctx[CRAM_MD5_CONTEXT_LEN],
		     const unsigned char *msg, size_t len,
		     unsigned char digest[16])
{
	unsigned char inner[16];
	MD5_CTX c;

	state_resume(&c, ctx + 16);
	MD5_Update(&c, msg, len);
	MD5_Final(inner, &c);
	state_resume(&c, ctx);
	MD5_Update(&c, inner, sizeof(inner));
	MD5_Final(digest, &c);
	secret_wipe(&c, sizeof(c));
	secret_wipe(inner, sizeof(inner));
}
