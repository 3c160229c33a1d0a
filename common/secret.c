/*
 * secret - wiping and constant-time comparison, on top of OpenSSL.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "secret.h"

void
secret_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}

void
secret_free(void *p, size_t n)
{
	secret_wipe(p, n);
	free(p);
}

void
secret_free_str(char *s)
{
	if (s != NULL)
		secret_free(s, strlen(s));
}

bool
secret_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}
