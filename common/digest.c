/*
 * digest - SHA-256 and keyed HMAC-SHA-256.  See digest.h.
 */
#include <pthread.h>
#include <stdlib.h>

#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "digest.h"
#include "log.h"
#include "secret.h"
#include "xalloc.h"

struct keyed {
	EVP_MAC_CTX *ctx;	/* holds the key; re-initialised per MAC */
};

static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256;
static EVP_MAC *hmac;

static void
fetch(void)
{
	sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

const EVP_MD *
digest_sha256(void)
{
	pthread_once(&fetch_once, fetch);
	if (sha256 == NULL)
		fatalx(1, "OpenSSL has no SHA-256");
	return sha256;
}

void
digest_sha256_buf(const void *p, size_t n, unsigned char out[32])
{
	if (EVP_Digest(p, n, out, NULL, digest_sha256(), NULL) != 1)
		fatalx(1, "SHA-256 failed");
}

struct keyed *
keyed_new_key(const unsigned char *key, size_t len)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						 (char *)"SHA256", 0),
		OSSL_PARAM_construct_end()
	};
	struct keyed *k = xcalloc(1, sizeof(*k));

	pthread_once(&fetch_once, fetch);
	if (hmac == NULL || (k->ctx = EVP_MAC_CTX_new(hmac)) == NULL)
		fatalx(1, "OpenSSL has no HMAC");
	if (EVP_MAC_init(k->ctx, key, len, params) != 1)
		fatalx(1, "HMAC-SHA-256 set-up failed");
	return k;
}

struct keyed *
keyed_new(void)
{
	unsigned char key[32];
	struct keyed *k;

	if (RAND_bytes(key, sizeof(key)) != 1)
		fatalx(1, "no random bytes for a hashing key");
	k = keyed_new_key(key, sizeof(key));
	secret_wipe(key, sizeof(key));
	return k;
}

void
keyed_free(struct keyed *k)
{
	if (k == NULL)
		return;
	EVP_MAC_CTX_free(k->ctx);	/* cleanses the key schedule */
	free(k);
}

void
keyed_mac(struct keyed *k, unsigned char tag, const void *a, size_t alen,
	  const void *b, size_t blen, unsigned char out[32])
{
	size_t len;

	/* A NULL key re-initialises with the key given to keyed_new. */
	if (EVP_MAC_init(k->ctx, NULL, 0, NULL) != 1 ||
	    EVP_MAC_update(k->ctx, &tag, 1) != 1 ||
	    EVP_MAC_update(k->ctx, a, alen) != 1 ||
	    (b != NULL && EVP_MAC_update(k->ctx, b, blen) != 1) ||
	    EVP_MAC_final(k->ctx, out, &len, 32) != 1 || len != 32)
		fatalx(1, "HMAC-SHA-256 failed");
}
