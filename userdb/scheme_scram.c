/*
 * scheme_scram - SCRAM verifiers (RFC 5802, RFC 7677).
 *
 * Normalize() is SASLprep (RFC 4013), done by libidn; a printable-ASCII
 * password is its own SASLprep form, so the common case skips the library.
 */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stringprep.h>

#include "scheme.h"
#include "secret.h"
#include "xalloc.h"

size_t
scheme_scram_key_len(enum scram_hash h)
{
	return h == SCRAM_SHA1 ? 20 : 32;
}

const char *
scheme_scram_name(enum scram_hash h)
{
	return h == SCRAM_SHA1 ? "SCRAM-SHA-1" : "SCRAM-SHA-256";
}

char *
scheme_saslprep(const char *pw, size_t pw_len)
{
	char *in, *out = NULL;
	bool ascii = true;
	size_t i;

	for (i = 0; i < pw_len; i++)
		if ((unsigned char)pw[i] < 0x20 || (unsigned char)pw[i] > 0x7e)
			ascii = false;
	if (ascii)
		return pw_len > 0 ? xstrndup(pw, pw_len) : NULL;
	if (memchr(pw, '\0', pw_len) != NULL)
		return NULL;
	in = xstrndup(pw, pw_len);
	/* Stored strings must not hold unassigned code points (RFC 4013 §2.5
	 * with RFC 3454 §7). */
	if (stringprep_profile(in, &out, "SASLprep",
			       STRINGPREP_NO_UNASSIGNED) != STRINGPREP_OK)
		out = NULL;
	secret_free_str(in);
	if (out != NULL && out[0] == '\0') {
		free(out);
		out = NULL;
	}
	return out;
}

bool
scheme_scram_salted(enum scram_hash h, const char *pw, size_t pw_len,
		    const unsigned char *salt, size_t salt_len,
		    unsigned int iterations, unsigned char *out)
{
	char *norm = scheme_saslprep(pw, pw_len);
	int ok;

	if (norm == NULL)
		return false;
	ok = PKCS5_PBKDF2_HMAC(norm, (int)strlen(norm), salt, (int)salt_len,
			       (int)iterations, scram_md(h),
			       (int)scheme_scram_key_len(h), out);
	secret_free_str(norm);
	return ok == 1;
}

void
scheme_scram_keys(enum scram_hash h, const unsigned char *salted,
		  unsigned char *stored_key, unsigned char *server_key)
{
	unsigned char client_key[SCRAM_KEY_MAX];
	size_t n = scheme_scram_key_len(h);
	unsigned int len;

	HMAC(scram_md(h), salted, (int)n, (const unsigned char *)"Client Key",
	     10, client_key, &len);
	EVP_Digest(client_key, n, stored_key, &len, scram_md(h), NULL);
	HMAC(scram_md(h), salted, (int)n, (const unsigned char *)"Server Key",
	     10, server_key, &len);
	secret_wipe(client_key, sizeof(client_key));
}

bool
scheme_scram_make(enum scram_hash h, const char *pw, size_t pw_len,
		  unsigned int iterations, struct scram_verifier *v,
		  const char **error_r)
{
	unsigned char salted[SCRAM_KEY_MAX];

	memset(v, 0, sizeof(*v));
	v->iterations = iterations;
	v->salt_len = 16;
	if (RAND_bytes(v->salt, (int)v->salt_len) != 1) {
		*error_r = "no random bytes for the SCRAM salt";
		return false;
	}
	if (!scheme_scram_salted(h, pw, pw_len, v->salt, v->salt_len,
				 iterations, salted)) {
		*error_r = "password is not valid for SCRAM (SASLprep refused it)";
		return false;
	}
	scheme_scram_keys(h, salted, v->stored_key, v->server_key);
	secret_wipe(salted, sizeof(salted));
	return true;
}

bool
scheme_scram_verify(enum scram_hash h, const struct scram_verifier *v,
		    const char *pw, size_t pw_len)
{
	unsigned char salted[SCRAM_KEY_MAX], stored[SCRAM_KEY_MAX],
		server[SCRAM_KEY_MAX];
	bool ok = false;

	if (scheme_scram_salted(h, pw, pw_len, v->salt, v->salt_len,
				v->iterations, salted)) {
		scheme_scram_keys(h, salted, stored, server);
		ok = secret_equal(stored, v->stored_key,
				  scheme_scram_key_len(h));
	}
	secret_wipe(salted, sizeof(salted));
	secret_wipe(stored, sizeof(stored));
	secret_wipe(server, sizeof(server));
	return ok;
}
