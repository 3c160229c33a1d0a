/*
 * fuzz_sasldb_record - the Cyrus sasldb2 record splitter and the name
 * display of pwtool import-sasldb (untrusted: a sasldb file from another
 * system).  Input: a 2-byte little-endian key length, the key, then the
 * value.  Properties: no crash and no read outside the key and value
 * (each in a buffer of its own size); an accepted key is exactly
 * user NUL realm NUL property, with no other NUL and a non-empty user and
 * property, and userPassword is recognised exactly; sasldb_display always
 * writes a NUL-terminated, valid UTF-8 string without control characters
 * that fits its buffer, and, when the buffer is large enough, one that
 * unescapes to the input bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sasldb_record.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
hex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ?
	       c - 'a' + 10 : -1;
}

/* check_display - the display properties for (s, n) at out_size. */
static void
check_display(const char *s, size_t n, size_t out_size)
{
	char *out = malloc(out_size), *back;
	size_t len, i, o = 0;

	if (out == NULL)
		abort();
	if (sasldb_display(s, n, out, out_size) != out)
		abort();
	len = strnlen(out, out_size);
	if (len >= out_size ||
	    !utf8_valid((const unsigned char *)out, len))
		abort();
	for (i = 0; i < len; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			abort();
	if (out_size > 4 * n) {
		/* Nothing cut: the escapes read back to the input. */
		back = malloc(n + 1);
		if (back == NULL)
			abort();
		for (i = 0; i < len; o++) {
			if (out[i] == '\\' && out[i + 1] == '\\') {
				back[o] = '\\';
				i += 2;
			} else if (out[i] == '\\' && out[i + 1] == 'x') {
				if (hex(out[i + 2]) < 0 || hex(out[i + 3]) < 0)
					abort();
				back[o] = (char)(hex(out[i + 2]) << 4 |
						 hex(out[i + 3]));
				i += 4;
			} else if (out[i] == '\\') {
				abort();
			} else {
				back[o] = out[i++];
			}
			if (o >= n)
				abort();
		}
		if (o != n || memcmp(back, s, n) != 0)
			abort();
		free(back);
	}
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t sizes[] = { 1, 2, 4, 5, 16, 64 };
	struct sasldb_record rec;
	size_t key_len, value_len, i;
	char *key, *value;
	const char *why;

	if (size < 2)
		return 0;
	key_len = (size_t)data[0] | (size_t)data[1] << 8;
	if (key_len > size - 2)
		key_len = size - 2;
	value_len = size - 2 - key_len;
	key = malloc(key_len + 1);
	value = malloc(value_len + 1);
	if (key == NULL || value == NULL)
		abort();
	memcpy(key, data + 2, key_len);
	memcpy(value, data + 2 + key_len, value_len);
	why = sasldb_record_parse(key, key_len, value, value_len, &rec);
	if (why != NULL) {
		if (why[0] == '\0')
			abort();
	} else {
		if (rec.user != key || rec.user_len == 0 || rec.prop_len == 0 ||
		    rec.user_len + rec.realm_len + rec.prop_len + 2 != key_len ||
		    rec.realm != key + rec.user_len + 1 ||
		    rec.prop != rec.realm + rec.realm_len + 1 ||
		    rec.user[rec.user_len] != '\0' ||
		    rec.realm[rec.realm_len] != '\0' ||
		    memchr(rec.user, '\0', rec.user_len) != NULL ||
		    memchr(rec.realm, '\0', rec.realm_len) != NULL ||
		    memchr(rec.prop, '\0', rec.prop_len) != NULL ||
		    rec.value_len != value_len ||
		    (value_len > 0 && rec.value != value))
			abort();
		if (rec.is_password != (rec.prop_len == 12 &&
					memcmp(rec.prop, "userPassword", 12) == 0))
			abort();
		check_display(rec.user, rec.user_len, 4 * rec.user_len + 1);
		check_display(rec.realm, rec.realm_len, 4 * rec.realm_len + 1);
	}
	check_display(key, key_len, 4 * key_len + 1);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		check_display(key, key_len, sizes[i]);
	free(key);
	free(value);
	return 0;
}
