/*
 * sasldb_record - split a Cyrus sasldb2 record (sasldb_record.h).
 *
 * Untrusted input: the record's key and value, any bytes.
 */
#include <string.h>

#include "sasldb_record.h"
#include "utf8.h"

const char *
sasldb_record_parse(const void *key, size_t key_len, const void *value,
		    size_t value_len, struct sasldb_record *rec)
{
	const char *k = key, *nul1, *nul2;

	memset(rec, 0, sizeof(*rec));
	if (k == NULL || (nul1 = memchr(k, '\0', key_len)) == NULL)
		return "not a sasldb key (no NUL after the user name)";
	nul2 = memchr(nul1 + 1, '\0', key_len - (size_t)(nul1 + 1 - k));
	if (nul2 == NULL)
		return "not a sasldb key (no NUL after the realm)";
	rec->user = k;
	rec->user_len = (size_t)(nul1 - k);
	rec->realm = nul1 + 1;
	rec->realm_len = (size_t)(nul2 - rec->realm);
	rec->prop = nul2 + 1;
	rec->prop_len = key_len - (size_t)(rec->prop - k);
	if (rec->user_len == 0)
		return "not a sasldb key (empty user name)";
	if (rec->prop_len == 0)
		return "not a sasldb key (empty property name)";
	if (memchr(rec->prop, '\0', rec->prop_len) != NULL)
		return "not a sasldb key (NUL in the property name)";
	rec->value = value_len > 0 ? value : "";
	rec->value_len = value_len;
	rec->is_password = rec->prop_len == strlen(SASLDB_PASSWORD_PROP) &&
			   memcmp(rec->prop, SASLDB_PASSWORD_PROP,
				  rec->prop_len) == 0;
	return NULL;
}

/* utf8_char_len - the length of the valid UTF-8 character at s (at most
 * n bytes), or 0 if none starts there. */
static size_t
utf8_char_len(const unsigned char *s, size_t n)
{
	size_t len;

	if (s[0] < 0x80)
		return 1;
	len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;
	return len <= n && utf8_valid(s, len) ? len : 0;
}

char *
sasldb_display(const char *s, size_t n, char *out, size_t out_size)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t limit = out_size - 1, i = 0, o = 0, keep = 0;

	while (i < n) {
		size_t len = utf8_char_len(u + i, n - i), plen;
		char esc[4];
		const char *piece;

		if (len == 1 && (u[i] < 0x20 || u[i] == 0x7f))
			len = 0;
		if (len == 0) {
			esc[0] = '\\';
			esc[1] = 'x';
			esc[2] = hex[u[i] >> 4];
			esc[3] = hex[u[i] & 0xf];
			piece = esc;
			plen = 4;
			len = 1;
		} else if (u[i] == '\\') {
			piece = "\\\\";
			plen = 2;
		} else {
			piece = s + i;
			plen = len;
		}
		if (o + plen > limit) {
			/* Cut after the last piece that leaves room for "...". */
			o = keep;
			if (o + 3 <= limit) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		memcpy(out + o, piece, plen);
		o += plen;
		if (o + 3 <= limit)
			keep = o;
		i += len;
	}
	out[o] = '\0';
	return out;
}
