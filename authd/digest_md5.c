/*
 * digest_md5 - DIGEST-MD5 response parser.  See digest_md5.h.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "digest_md5.h"
#include "name.h"
#include "utf8.h"
#include "xalloc.h"

static bool
is_lws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool
is_token_char(unsigned char c)
{
	/* RFC 2616 token: CHAR except CTLs and separators. */
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?={}", c) == NULL;
}

/* latin1_to_utf8 - ISO-8859-1 bytes to UTF-8 (each byte one code point). */
static char *
latin1_to_utf8(const char *s)
{
	size_t n = strlen(s), i, o = 0;
	char *out = xmalloc(2 * n + 1);

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

static char **
slot(struct digest_resp *r, const char *name, size_t n)
{
	static const struct { const char *name; size_t off; } map[] = {
		{ "username", offsetof(struct digest_resp, username) },
		{ "realm", offsetof(struct digest_resp, realm) },
		{ "nonce", offsetof(struct digest_resp, nonce) },
		{ "cnonce", offsetof(struct digest_resp, cnonce) },
		{ "nc", offsetof(struct digest_resp, nc) },
		{ "qop", offsetof(struct digest_resp, qop) },
		{ "digest-uri", offsetof(struct digest_resp, digest_uri) },
		{ "response", offsetof(struct digest_resp, response) },
		{ "authzid", offsetof(struct digest_resp, authzid) },
		{ "charset", offsetof(struct digest_resp, charset) },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strlen(map[i].name) == n && strncasecmp(map[i].name, name, n) == 0)
			return (char **)((char *)r + map[i].off);
	return NULL;
}

const char *
digest_resp_parse(const char *in, size_t len, struct digest_resp *r)
{
	char value[DIGEST_VALUE_MAX + 1];
	const char *why = NULL;
	size_t i = 0;

	memset(r, 0, sizeof(*r));
	if (len > DIGEST_RESP_MAX)
		return "response too long";
	while (i < len && why == NULL) {
		size_t name_start, name_len, vlen = 0;
		char **dst;

		while (i < len && (is_lws(in[i]) || in[i] == ','))
			i++;
		if (i == len)
			break;
		name_start = i;
		while (i < len && is_token_char((unsigned char)in[i]))
			i++;
		name_len = i - name_start;
		while (i < len && is_lws(in[i]))
			i++;
		if (name_len == 0 || i == len || in[i] != '=') {
			why = "expected name=value";
			break;
		}
		i++;
		while (i < len && is_lws(in[i]))
			i++;
		if (i < len && in[i] == '"') {
			i++;
			for (;;) {
				if (i == len) {
					why = "unterminated quoted string";
					break;
				}
				if (in[i] == '"') {
					i++;
					break;
				}
				if (in[i] == '\\' && ++i == len) {
					why = "backslash at the end";
					break;
				}
				if (vlen == DIGEST_VALUE_MAX) {
					why = "value too long";
					break;
				}
				value[vlen++] = in[i++];
			}
		} else {
			while (i < len && is_token_char((unsigned char)in[i])) {
				if (vlen == DIGEST_VALUE_MAX) {
					why = "value too long";
					break;
				}
				value[vlen++] = in[i++];
			}
		}
		if (why != NULL)
			break;
		while (i < len && is_lws(in[i]))
			i++;
		if (i < len && in[i] != ',') {
			why = "expected ',' after a value";
			break;
		}
		if (memchr(value, '\0', vlen) != NULL) {
			why = "NUL in a value";
			break;
		}
		value[vlen] = '\0';
		dst = slot(r, in + name_start, name_len);
		if (dst == NULL)
			continue;	/* unknown directives are ignored */
		if (*dst != NULL) {
			why = "directive repeated";
			break;
		}
		*dst = xstrdup(value);
	}
	if (why == NULL && (r->username == NULL || r->nonce == NULL ||
			    r->cnonce == NULL || r->nc == NULL ||
			    r->digest_uri == NULL || r->response == NULL))
		why = "a required directive is missing";
	if (why == NULL && (strlen(r->response) != 32 ||
			    strspn(r->response, "0123456789abcdef") != 32))
		why = "response is not 32 lowercase hex digits";
	if (why == NULL && r->charset != NULL &&
	    strcasecmp(r->charset, "utf-8") != 0)
		why = "charset other than utf-8";
	if (why == NULL && r->authzid != NULL)
		r->authzid_a1 = xstrdup(r->authzid);
	if (why == NULL && r->charset == NULL) {
		/* Without charset=utf-8 the strings are ISO-8859-1. */
		char *u = latin1_to_utf8(r->username);

		free(r->username);
		r->username = u;
		if (r->authzid != NULL) {
			u = latin1_to_utf8(r->authzid);
			free(r->authzid);
			r->authzid = u;
		}
	} else if (why == NULL &&
		   (!utf8_valid((const unsigned char *)r->username,
				       strlen(r->username)) ||
		    (r->authzid != NULL &&
		     !utf8_valid((const unsigned char *)r->authzid,
					strlen(r->authzid)))))
		why = "user name is not UTF-8";
	if (why != NULL)
		digest_resp_free(r);
	return why;
}

void
digest_resp_free(struct digest_resp *r)
{
	free(r->username);
	free(r->realm);
	free(r->nonce);
	free(r->cnonce);
	free(r->nc);
	free(r->qop);
	free(r->digest_uri);
	free(r->response);
	free(r->authzid);
	free(r->authzid_a1);
	free(r->charset);
	memset(r, 0, sizeof(*r));
}
