/*
 * scheme - password verifiers: how each is made from a password and how
 * a candidate password is checked against it.
 *
 *   crypt       crypt(3) strings: yescrypt ($y$), sha512-crypt ($6$),
 *               bcrypt ($2b$), and whatever else libxcrypt accepts
 *   SCRAM       RFC 5802 / RFC 7677: salt, iterations, StoredKey, ServerKey
 *   CRAM-MD5    RFC 2195 HMAC-MD5 precomputed context (password-equivalent)
 *
 * The DIGEST-MD5 verifier, RFC 2831 H(user:realm:password)
 * (password-equivalent), is digest_md5_urp() in proto/sasl/digest_md5.h:
 * the server mechanism and libauthd's client hash it by the same rule.
 *
 * Every check compares fixed-length digests with secret_equal().
 * Passwords are (pointer, length); they never contain NUL (callers refuse
 * such passwords before they get here).
 */
#ifndef AUTHD_USERDB_SCHEME_H
#define AUTHD_USERDB_SCHEME_H

#include <stdbool.h>
#include <stddef.h>

#include "scram.h"

#define USERDB_PASSWORD_MAX	511	/* libxcrypt refuses 512 and more */

/* --- crypt(3) --- */

/* scheme_crypt_make - hash pw with the named scheme ("yescrypt",
 * "sha512-crypt", "bcrypt") at cost (0: libxcrypt's default for it).
 * Returns an allocated crypt string, or NULL with *error_r set. */
char *scheme_crypt_make(const char *scheme, unsigned long cost,
			const char *pw, size_t pw_len, const char **error_r);
/* scheme_crypt_cost_ok - whether libxcrypt accepts cost for scheme. */
bool scheme_crypt_cost_ok(const char *scheme, unsigned long cost);
/* scheme_crypt_verify - whether pw matches the crypt string. */
bool scheme_crypt_verify(const char *hash, const char *pw, size_t pw_len);
/* scheme_crypt_check - NULL if (s, len) is a crypt string this libcrypt
 * can verify, else a static reason.  *legacy_r tells a weak method. */
const char *scheme_crypt_check(const char *s, size_t len, bool *legacy_r);

/* --- SCRAM --- */

/* A stored SCRAM verifier (RFC 5803's fields).  The hash, key sizes and
 * iteration bounds are the RFC's (proto/sasl/scram.h); the verifier stays
 * here because it is the store's record, with the store's own cap on the
 * salt: pwtool makes 16 bytes and imports take up to 64, where libauthd's
 * client accepts a server's salt of up to 512.  libauthd never sees one. */
#define SCHEME_SCRAM_SALT_MAX	64

struct scram_verifier {
	unsigned int iterations;
	size_t salt_len;
	unsigned char salt[SCHEME_SCRAM_SALT_MAX];
	unsigned char stored_key[SCRAM_KEY_MAX];
	unsigned char server_key[SCRAM_KEY_MAX];
};

/* scheme_scram_make - a verifier with a fresh random 16-byte salt; false
 * with a static reason in *error_r (SASLprep refused the password, out of
 * memory, no randomness, OpenSSL failed). */
bool scheme_scram_make(enum scram_hash h, const char *pw, size_t pw_len,
		       unsigned int iterations, struct scram_verifier *v,
		       const char **error_r);
/* scheme_scram_verify - recompute StoredKey from pw and compare; false
 * as well when the keys could not be computed. */
bool scheme_scram_verify(enum scram_hash h, const struct scram_verifier *v,
			 const char *pw, size_t pw_len);

/* --- CRAM-MD5 --- */

#define CRAM_MD5_CONTEXT_LEN	32

/* scheme_cram_md5_context - the HMAC-MD5 precomputed context in Dovecot's
 * {CRAM-MD5} layout: outer then inner MD5 state, each four 32-bit words,
 * little-endian. */
void scheme_cram_md5_context(const char *pw, size_t pw_len,
			     unsigned char ctx[CRAM_MD5_CONTEXT_LEN]);
/* scheme_cram_md5_hmac - HMAC-MD5(password, msg) from the stored context. */
void scheme_cram_md5_hmac(const unsigned char ctx[CRAM_MD5_CONTEXT_LEN],
			  const unsigned char *msg, size_t len,
			  unsigned char digest[16]);

#endif
