/*
 * digest - SHA-256 and keyed HMAC-SHA-256 with the algorithms fetched once.
 *
 * OpenSSL 3's convenience calls (EVP_sha256() handed to EVP_Digest, the
 * one-shot HMAC()) look the algorithm up in the provider on every call.
 * On the mux socket's hot path (cache, throttle, record fingerprint, three
 * to four hashes per login) the look-ups cost more than the hashing: a
 * quarter of authd's time per cached login.  These keep one fetched
 * algorithm for the process and, for keyed hashing, one prepared context
 * per key.
 *
 * Nothing here exits: a failure (no provider, no random bytes) is
 * returned, and the caller decides whether it is fatal.
 */
#ifndef AUTHD_DIGEST_H
#define AUTHD_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

/* digest_sha256 - the fetched SHA-256 (thread-safe, never freed), or
 * NULL when the provider has none. */
const EVP_MD *digest_sha256(void);
/* digest_sha256_buf - SHA-256 of p[0..n); false if OpenSSL failed. */
bool digest_sha256_buf(const void *p, size_t n, unsigned char out[32]);

/* An HMAC-SHA-256 key with its prepared context.  One thread at a time
 * per object (authd uses its objects on the loop thread). */
struct digest_hmac;

/* digest_hmac_new - a fresh random key; NULL if the system has no random
 * bytes or OpenSSL no HMAC. */
struct digest_hmac *digest_hmac_new(void);
/* digest_hmac_new_key - the same with a given key (len bytes). */
struct digest_hmac *digest_hmac_new_key(const unsigned char *key, size_t len);
void digest_hmac_free(struct digest_hmac *k);
/* digest_hmac - HMAC(key, tag || a || b) into out; b may be NULL.  False
 * if OpenSSL failed (out is then wiped). */
bool digest_hmac(struct digest_hmac *k, unsigned char tag, const void *a,
		 size_t alen, const void *b, size_t blen,
		 unsigned char out[32]);

#endif
