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

enum scram_hash { SCRAM_SHA1, SCRAM_SHA256 };

#define SCRAM_KEY_MAX		32
#define SCRAM_SALT_MAX		64
#define SCRAM_ITER_MIN		4096
#define SCRAM_ITER_MAX		10000000

struct scram_verifier {
	unsigned int iterations;
	size_t salt_len;
	unsigned char salt[SCRAM_SALT_MAX];
	unsigned char stored_key[SCRAM_KEY_MAX];
	unsigned char server_key[SCRAM_KEY_MAX];
};

/* scheme_scram_key_len - 20 for SHA-1, 32 for SHA-256. */
size_t scheme_scram_key_len(enum scram_hash h);
/* scheme_scram_name - "SCRAM-SHA-1" or "SCRAM-SHA-256". */
const char *scheme_scram_name(enum scram_hash h);
/* scheme_saslprep - RFC 4013 SASLprep of a password (RFC 5802 §2.2
 * Normalize).  Returns an allocated string (free with secret_free_str) or
 * NULL if the password is not valid UTF-8 or prohibited by the profile. */
char *scheme_saslprep(const char *pw, size_t pw_len);
/* scheme_scram_salted - SaltedPassword = Hi(Normalize(pw), salt, i) into
 * out (scheme_scram_key_len bytes).  False if SASLprep refuses pw. */
bool scheme_scram_salted(enum scram_hash h, const char *pw, size_t pw_len,
			 const unsigned char *salt, size_t salt_len,
			 unsigned int iterations, unsigned char *out);
/* scheme_scram_keys - StoredKey and ServerKey from a SaltedPassword. */
void scheme_scram_keys(enum scram_hash h, const unsigned char *salted,
		       unsigned char *stored_key, unsigned char *server_key);
/* scheme_scram_make - a verifier with a fresh random 16-byte salt. */
bool scheme_scram_make(enum scram_hash h, const char *pw, size_t pw_len,
		       unsigned int iterations, struct scram_verifier *v,
		       const char **error_r);
/* scheme_scram_verify - recompute StoredKey from pw and compare. */
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
