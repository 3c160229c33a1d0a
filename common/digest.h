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
 */
#ifndef AUTHD_DIGEST_H
#define AUTHD_DIGEST_H

#include <stddef.h>

#include <openssl/evp.h>

/* digest_sha256 - the fetched SHA-256 (thread-safe, never freed). */
const EVP_MD *digest_sha256(void);
/* digest_sha256_buf - SHA-256 of p[0..n). */
void digest_sha256_buf(const void *p, size_t n, unsigned char out[32]);

/* A keyed hash: HMAC-SHA-256 under a random per-process key.  One thread
 * at a time per object (authd uses its objects on the loop thread). */
struct keyed;

/* keyed_new - a fresh random key; exits (fatalx) if the system has no
 * random bytes or OpenSSL no HMAC, as nothing can work without them. */
struct keyed *keyed_new(void);
/* keyed_new_key - the same with a given key (len bytes). */
struct keyed *keyed_new_key(const unsigned char *key, size_t len);
void keyed_free(struct keyed *k);
/* keyed_mac - HMAC(key, tag || a || b); b may be NULL. */
void keyed_mac(struct keyed *k, unsigned char tag, const void *a, size_t alen,
	       const void *b, size_t blen, unsigned char out[32]);

#endif
