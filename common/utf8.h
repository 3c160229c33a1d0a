/*
 * utf8 - UTF-8 validation and the ISO-8859-1 conversions that RFC 2831
 * (DIGEST-MD5) asks of both sides and of the stored hash.
 *
 * Untrusted input: every string, as (pointer, length).  Nothing here
 * allocates except utf8_from_latin1, which returns NULL when out of
 * memory; nothing exits.
 */
#ifndef AUTHD_UTF8_H
#define AUTHD_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* utf8_valid - whether (s, n) is well-formed UTF-8 (RFC 3629): no
 * overlong forms, no UTF-16 surrogates, nothing above U+10FFFF. */
bool utf8_valid(const unsigned char *s, size_t n);

/* utf8_to_latin1 - the ISO-8859-1 form of UTF-8 (s, n) into out (room
 * for n + 1; NUL-terminated).  Returns the length, or (size_t)-1 when a
 * character lies above U+00FF or (s, n) is not UTF-8 there. */
size_t utf8_to_latin1(const char *s, size_t n, char *out);

/* utf8_from_latin1 - ISO-8859-1 (s, n) as UTF-8, allocated and
 * NUL-terminated (each byte one code point); NULL when out of memory. */
char *utf8_from_latin1(const char *s, size_t n);

#endif
