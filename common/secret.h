/*
 * secret - the one place where secrets are wiped and compared.
 *
 * Every buffer that held a password, a verifier or a session key goes
 * through secret_wipe() (or secret_free()) on every path, errors included.
 * Comparisons of digests run in constant time.
 */
#ifndef AUTHD_SECRET_H
#define AUTHD_SECRET_H

#include <stdbool.h>
#include <stddef.h>

/* secret_wipe - overwrite n bytes in a way the compiler cannot elide. */
void secret_wipe(void *p, size_t n);
/* secret_free - wipe n bytes, then free; NULL is fine. */
void secret_free(void *p, size_t n);
/* secret_free_str - wipe a NUL-terminated string, then free it. */
void secret_free_str(char *s);
/* secret_equal - constant-time comparison of two n-byte buffers. */
bool secret_equal(const void *a, const void *b, size_t n);

#endif
