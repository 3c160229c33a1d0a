/*
 * digest - SHA-256 and keyed HMAC-SHA-256.  See digest.h.
 */
#include <pthread.h>
#include <stdlib.h>

#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "digest.h"
#include "secret.h"

struct digest_hmac {
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
	return sha256;
}

bool
digest_sha256_buf(const void *p, size_t n, unsigned char out[32])
{
	const EVP_MD *md = digest_sha256();

	return md != NULL && EVP_Digest(p, n, out, NULL, md, NULL) == 1;
}

struct digest_hmac *
digest_hmac_new_key(const unsigned char *key, size_t len)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						 (char *)"SHA256", 0),
		OSSL_PARAM_construct_end()
	};
	struct digest_hmac *k;

	pthread_once(&fetch_once, fetch);
	if (hmac == NULL || (k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	if ((k->ctx = EVP_MAC_CTX_new(hmac)) == NULL ||
	    EVP_MAC_init(k->ctx, key, len, params) != 1) {
		digest_hmac_free(k);
		return NULL;
	}
	return k;
}

struct digest_hmac *
digest_hmac_new(void)
{
	unsigned char key[32];
	struct digest_hmac *k = NULL;

	if (RAND_bytes(key, sizeof(key)) == 1)
		k = digest_hmac_new_key(key, sizeof(key));
	secret_wipe(key, sizeof(key));
	return k;
}

void
digest_hmac_free(struct digest_hmac *k)
{
	if (k == NULL)
		return;
	EVP_MAC_CTX_free(k->ctx);	/* cleanses the key schedule */
	free(k);
}

bool
digest_hmac(struct digest_hmac *k, unsigned char tag, const void *a,
	    size_t alen, const void *b, size_t blen, unsigned char out[32])
{
	size_t len;

	/* A NULL key re-initialises with the key given at creation. */
	if (EVP_MAC_init(k->ctx, NULL, 0, NULL) != 1 ||
	    EVP_MAC_update(k->ctx, &tag, 1) != 1 ||
	    EVP_MAC_update(k->ctx, a, alen) != 1 ||
	    (b != NULL && EVP_MAC_update(k->ctx, b, blen) != 1) ||
	    EVP_MAC_final(k->ctx, out, &len, 32) != 1 || len != 32) {
		secret_wipe(out, 32);
		return false;
	}
	return true;
}
