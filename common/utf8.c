/*
 * utf8 - UTF-8 checks and ISO-8859-1 conversions.  See utf8.h.
 */
#include <stdlib.h>

#include "utf8.h"

bool
utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t len;
		unsigned int cp, min;

		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			len = 2; cp = c & 0x1f; min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3; cp = c & 0x0f; min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4; cp = c & 0x07; min = 0x10000;
		} else {
			return false;
		}
		if (n - i < len)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		/* Overlong forms, UTF-16 surrogates and > U+10FFFF. */
		if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		i += len;
	}
	return true;
}

size_t
utf8_to_latin1(const char *s, size_t n, char *out)
{
	size_t i = 0, o = 0;

	while (i < n) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x80) {
			out[o++] = (char)c;
			i++;
		} else if ((c == 0xc2 || c == 0xc3) && i + 1 < n &&
			   ((unsigned char)s[i + 1] & 0xc0) == 0x80) {
			out[o++] = (char)(((c & 0x03) << 6) |
					  ((unsigned char)s[i + 1] & 0x3f));
			i += 2;
		} else {
			out[o] = '\0';
			return (size_t)-1;
		}
	}
	out[o] = '\0';
	return o;
}

char *
utf8_from_latin1(const char *s, size_t n)
{
	char *out = malloc(2 * n + 1);
	size_t i, o = 0;

	if (out == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x80) {
			out[o++] = (char)c;
		} else {
			out[o++] = (char)(0xc0 | c >> 6);
			out[o++] = (char)(0x80 | (c & 0x3f));
		}
	}
	out[o] = '\0';
	return out;
}
