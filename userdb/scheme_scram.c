/*
 * scheme_scram - SCRAM verifiers (RFC 5802, RFC 7677): a fresh verifier
 * for a password, and a plaintext password (PLAIN, LOGIN, pwtool check)
 * checked against a stored one by recomputing its StoredKey.
 *
 * Normalize() (SASLprep) and the key derivation are proto/sasl/scram.c's,
 * the code that authd's SCRAM mechanism and libauthd's client run too.
 * Untrusted input: the passwords, (pointer, length).
 */
#include <string.h>

#include <openssl/rand.h>

#include "scheme.h"
#include "secret.h"

/* keys - StoredKey and ServerKey of (pw, pw_len) with v's salt and
 * iteration count; NULL or a static reason (then both are wiped). */
static const char *
keys(enum scram_hash h, const char *pw, size_t pw_len,
     const struct scram_verifier *v, unsigned char *stored_key,
     unsigned char *server_key)
{
	unsigned char salted[SCRAM_KEY_MAX];
	const char *why = NULL;
	char *prepped;

	switch (scram_saslprep(pw, pw_len, &prepped)) {
	case SCRAM_OK:
		break;
	case SCRAM_NOMEM:
		return "out of memory";
	default:
		return "password is not valid for SCRAM (SASLprep refused it)";
	}
	if (!scram_salted_password(h, prepped, strlen(prepped), v->salt,
				   v->salt_len, v->iterations, salted) ||
	    !scram_keys(h, salted, stored_key, server_key))
		why = "OpenSSL failed to compute the SCRAM keys";
	scram_saslprep_free(prepped);
	secret_wipe(salted, sizeof(salted));
	return why;
}

bool
scheme_scram_make(enum scram_hash h, const char *pw, size_t pw_len,
		  unsigned int iterations, struct scram_verifier *v,
		  const char **error_r)
{
	const char *why;

	memset(v, 0, sizeof(*v));
	v->iterations = iterations;
	v->salt_len = 16;
	if (RAND_bytes(v->salt, (int)v->salt_len) != 1) {
		*error_r = "no random bytes for the SCRAM salt";
		return false;
	}
	if ((why = keys(h, pw, pw_len, v, v->stored_key, v->server_key)) !=
	    NULL) {
		*error_r = why;
		return false;
	}
	return true;
}

bool
scheme_scram_verify(enum scram_hash h, const struct scram_verifier *v,
		    const char *pw, size_t pw_len)
{
	unsigned char stored[SCRAM_KEY_MAX], server[SCRAM_KEY_MAX];
	bool ok;

	ok = keys(h, pw, pw_len, v, stored, server) == NULL &&
	     secret_equal(stored, v->stored_key, scram_key_len(h));
	secret_wipe(stored, sizeof(stored));
	secret_wipe(server, sizeof(server));
	return ok;
}
