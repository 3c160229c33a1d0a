/*
 * digest_md5 - DIGEST-MD5's directives and digests (RFC 2831) for the
 * server mechanism, the store and the client mechanism.  See
 * digest_md5.h.
 *
 * Untrusted input: the directive lists read by digest_md5_next() and
 * digest_md5_response_parse(), from (pointer, length) with explicit
 * bounds; historically a rich source of parser bugs, so both are small
 * and fuzzed (tests/fuzz/fuzz_digest_md5.c, and through libauthd
 * tests/fuzz/fuzz_client.c).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "buf.h"
#include "codec.h"
#include "digest_md5.h"
#include "secret.h"
#include "utf8.h"

static bool
is_lws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool
is_token_char(unsigned char c)
{
	/* RFC 2616 §2.2 token: CHAR except CTLs and separators. */
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?={}", c) == NULL;
}

/* next_value - the token or quoted-string value at in[*pos], unescaped
 * into d; NULL or a static reason. */
static const char *
next_value(const char *in, size_t len, size_t *pos,
	   struct digest_md5_directive *d)
{
	size_t i = *pos;

	d->value_len = 0;
	if (i < len && in[i] == '"') {
		/* RFC 2616 §2.2: quoted-pair = "\" CHAR, inside quotes. */
		for (i++;; i++) {
			if (i == len)
				return "unterminated quoted string";
			if (in[i] == '"')
				break;
			if (in[i] == '\\' && ++i == len)
				return "backslash at the end";
			if (d->value_len == DIGEST_MD5_VALUE_MAX)
				return "value too long";
			d->value[d->value_len++] = in[i];
		}
		i++;
	} else {
		while (i < len && is_token_char((unsigned char)in[i])) {
			if (d->value_len == DIGEST_MD5_VALUE_MAX)
				return "value too long";
			d->value[d->value_len++] = in[i++];
		}
	}
	*pos = i;
	return NULL;
}

/* refuse - -1 with *error_r = why, so that "return refuse(...)" reads. */
static int
refuse(const char **error_r, const char *why)
{
	*error_r = why;
	return -1;
}

int
digest_md5_next(const char *in, size_t len, size_t *pos,
		struct digest_md5_directive *d, const char **error_r)
{
	size_t i = *pos, start;
	const char *why;

	*error_r = NULL;
	if (len > DIGEST_MD5_IN_MAX)
		return refuse(error_r, "input too long");
	/* RFC 2831 §7.1: #rule lists allow empty elements and LWS. */
	while (i < len && (is_lws(in[i]) || in[i] == ','))
		i++;
	if (i == len) {
		*pos = i;
		return 0;
	}
	start = i;
	while (i < len && is_token_char((unsigned char)in[i]))
		i++;
	d->name = in + start;
	d->name_len = i - start;
	while (i < len && is_lws(in[i]))
		i++;
	if (d->name_len == 0 || i == len || in[i] != '=')
		return refuse(error_r, "expected name=value");
	for (i++; i < len && is_lws(in[i]); i++)
		;
	if ((why = next_value(in, len, &i, d)) != NULL)
		return refuse(error_r, why);
	while (i < len && is_lws(in[i]))
		i++;
	if (i < len && in[i] != ',')
		return refuse(error_r, "expected ',' after a value");
	if (memchr(d->value, '\0', d->value_len) != NULL)
		return refuse(error_r, "NUL in a value");
	d->value[d->value_len] = '\0';
	*pos = i;
	return 1;
}

bool
digest_md5_directive_is(const struct digest_md5_directive *d,
			const char *name)
{
	return d->name_len == strlen(name) &&
	       strncasecmp(d->name, name, d->name_len) == 0;
}

/* response_slot - where a digest-response directive goes, or NULL for one
 * this server does not read. */
static char **
response_slot(struct digest_md5_response *r,
	      const struct digest_md5_directive *d)
{
	static const struct { const char *name; size_t off; } map[] = {
		{ "username", offsetof(struct digest_md5_response, username) },
		{ "realm", offsetof(struct digest_md5_response, realm) },
		{ "nonce", offsetof(struct digest_md5_response, nonce) },
		{ "cnonce", offsetof(struct digest_md5_response, cnonce) },
		{ "nc", offsetof(struct digest_md5_response, nc) },
		{ "qop", offsetof(struct digest_md5_response, qop) },
		{ "digest-uri", offsetof(struct digest_md5_response, digest_uri) },
		{ "response", offsetof(struct digest_md5_response, response) },
		{ "authzid", offsetof(struct digest_md5_response, authzid) },
		{ "charset", offsetof(struct digest_md5_response, charset) },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (digest_md5_directive_is(d, map[i].name))
			return (char **)((char *)r + map[i].off);
	return NULL;
}

/* from_latin1 - replace the ISO-8859-1 string *s by its UTF-8 form;
 * false when out of memory (*s is then unchanged). */
static bool
from_latin1(char **s)
{
	char *u = utf8_from_latin1(*s, strlen(*s));

	if (u == NULL)
		return false;
	free(*s);
	*s = u;
	return true;
}

static bool
is_utf8(const char *s)
{
	return utf8_valid((const unsigned char *)s, strlen(s));
}

/* response_check - RFC 2831 §2.1.2 of a complete digest-response, and the
 * UTF-8 forms of the names; NULL or a static reason. */
static const char *
response_check(struct digest_md5_response *r)
{
	if (r->username == NULL || r->nonce == NULL || r->cnonce == NULL ||
	    r->nc == NULL || r->digest_uri == NULL || r->response == NULL)
		return "a required directive is missing";
	/* §2.1.2: response-value = 32 LHEX. */
	if (strlen(r->response) != 32 ||
	    strspn(r->response, "0123456789abcdef") != 32)
		return "response is not 32 lowercase hex digits";
	if (r->charset != NULL && strcasecmp(r->charset, "utf-8") != 0)
		return "charset other than utf-8";
	/* A1 takes authzid as sent: §2.1.2.1 converts only H()'s strings. */
	if (r->authzid != NULL && (r->authzid_a1 = strdup(r->authzid)) == NULL)
		return "out of memory";
	if (r->charset == NULL) {
		/* §2.1.2: without charset=utf-8 the strings are ISO-8859-1. */
		if (!from_latin1(&r->username) ||
		    (r->authzid != NULL && !from_latin1(&r->authzid)))
			return "out of memory";
	} else if (!is_utf8(r->username) ||
		   (r->authzid != NULL && !is_utf8(r->authzid))) {
		return "user name is not UTF-8";
	}
	return NULL;
}

const char *
digest_md5_response_parse(const char *in, size_t len,
			  struct digest_md5_response *r)
{
	struct digest_md5_directive d;
	const char *why = NULL;
	size_t pos = 0;

	memset(r, 0, sizeof(*r));
	if (len > DIGEST_MD5_IN_MAX)
		return "response too long";
	while (why == NULL && digest_md5_next(in, len, &pos, &d, &why) == 1) {
		char **dst = response_slot(r, &d);

		if (dst == NULL)
			continue;	/* unknown directives are ignored */
		if (*dst != NULL)
			why = "directive repeated";
		else if ((*dst = strdup(d.value)) == NULL)
			why = "out of memory";
	}
	secret_wipe(&d, sizeof(d));
	if (why == NULL)
		why = response_check(r);
	if (why != NULL)
		digest_md5_response_free(r);
	return why;
}

void
digest_md5_response_free(struct digest_md5_response *r)
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

char *
digest_md5_latin1(const char *s, size_t n, enum digest_md5_status *status_r)
{
	char *out = malloc(n + 1);

	if (out == NULL) {
		*status_r = DIGEST_MD5_NOMEM;
		return NULL;
	}
	if (utf8_to_latin1(s, n, out) == (size_t)-1) {
		secret_free(out, n + 1);
		*status_r = DIGEST_MD5_NOT_LATIN1;
		return NULL;
	}
	*status_r = DIGEST_MD5_OK;
	return out;
}

/* append_hash_form - (s, n) to b as RFC 2831 §2.1.2.1 hashes it: see
 * digest_md5_urp. */
static enum digest_md5_status
append_hash_form(struct buf *b, const char *s, size_t n, bool latin1_only)
{
	size_t m;

	if (!buf_reserve(b, n))
		return DIGEST_MD5_NOMEM;
	/* buf_reserve leaves room for n bytes and the NUL: the conversion
	 * writes in place and never grows. */
	if ((m = utf8_to_latin1(s, n, b->data + b->len)) != (size_t)-1) {
		b->len += m;
		return DIGEST_MD5_OK;
	}
	b->data[b->len] = '\0';
	if (latin1_only)
		return DIGEST_MD5_NOT_LATIN1;
	return buf_append(b, s, n) ? DIGEST_MD5_OK : DIGEST_MD5_NOMEM;
}

enum digest_md5_status
digest_md5_urp(const char *user, size_t user_len, const char *realm,
	       size_t realm_len, const char *pw, size_t pw_len,
	       bool latin1_only, unsigned char out[16])
{
	struct buf b = BUF_INIT;	/* wiped by buf_free */
	enum digest_md5_status st;

	st = append_hash_form(&b, user, user_len, latin1_only);
	if (st == DIGEST_MD5_OK) {
		buf_append_c(&b, ':');
		buf_append(&b, realm, realm_len);
		buf_append_c(&b, ':');
		st = append_hash_form(&b, pw, pw_len, latin1_only);
	}
	if (st == DIGEST_MD5_OK && !buf_ok(&b))
		st = DIGEST_MD5_NOMEM;
	if (st == DIGEST_MD5_OK &&
	    !EVP_Digest(b.data, b.len, out, NULL, EVP_md5(), NULL))
		st = DIGEST_MD5_NO_MD5;
	buf_free(&b);
	if (st != DIGEST_MD5_OK)
		secret_wipe(out, 16);
	return st;
}

/* md5_hex - HEX(H(p, n)) into out (33 bytes); false without MD5. */
static bool
md5_hex(const void *p, size_t n, char out[33])
{
	unsigned char d[16];
	bool ok = EVP_Digest(p, n, d, NULL, EVP_md5(), NULL) == 1;

	if (ok)
		codec_hex_encode(d, 16, out);
	secret_wipe(d, sizeof(d));
	return ok;
}

bool
digest_md5_response_value(const unsigned char urp[16], const char *nonce,
			  const char *cnonce, const char *authzid,
			  const char *digest_uri, const char *nc,
			  const char *qop, bool rspauth, char out[33])
{
	struct buf b = BUF_INIT;	/* holds urp: wiped by buf_free */
	char ha1[33], ha2[33];
	bool ok;

	buf_append(&b, urp, 16);
	buf_printf(&b, ":%s:%s", nonce, cnonce);
	if (authzid != NULL)
		buf_printf(&b, ":%s", authzid);
	ok = buf_ok(&b) && md5_hex(b.data, b.len, ha1);
	if (ok) {
		/* §2.1.2.1 for qop=auth; §2.1.3: rspauth's A2 has no method. */
		buf_reset(&b);
		buf_printf(&b, "%s:%s", rspauth ? "" : "AUTHENTICATE",
			   digest_uri);
		ok = buf_ok(&b) && md5_hex(b.data, b.len, ha2);
	}
	if (ok) {
		buf_reset(&b);
		buf_printf(&b, "%s:%s:%s:%s:%s:%s", ha1, nonce, nc, cnonce, qop,
			   ha2);
		ok = buf_ok(&b) && md5_hex(b.data, b.len, out);
	}
	buf_free(&b);
	secret_wipe(ha1, sizeof(ha1));
	secret_wipe(ha2, sizeof(ha2));
	if (!ok)
		secret_wipe(out, 33);
	return ok;
}
