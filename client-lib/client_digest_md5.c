/*
 * client_digest_md5 - DIGEST-MD5 (RFC 2831; historic since RFC 6331),
 * qop=auth only.  Two challenges: the digest-challenge, answered with the
 * digest-response; then "rspauth=...", the server's proof, checked here
 * and answered with an empty response (or carried by the server's
 * success, checked by finish()).
 *
 * Untrusted input: both challenges, comma-separated directives with
 * tokens or quoted strings (backslash escapes).  The parser is bounded
 * (DM5_CHALLENGE_MAX in, DM5_VALUE_MAX per value) and works on
 * (pointer, length).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "client.h"
#include "codec.h"
#include "secret.h"

/* RFC 2831 §2.1.1: a digest-challenge is less than 2048 bytes; we are
 * lenient up to twice that. */
#define DM5_CHALLENGE_MAX	4096
#define DM5_VALUE_MAX		1024

struct dm5_state {
	char rspauth[33];		/* the server's expected proof, hex */
	bool answered, verified;
};

struct dm5_dir {
	const char *name;
	size_t name_len;
	char value[DM5_VALUE_MAX + 1];
	size_t value_len;
};

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

/* dm5_next - the next directive of (in, len) from *pos: 1 and *d, 0 at
 * the end, -1 on a syntax error.  Empty list elements are skipped. */
static int
dm5_next(const char *in, size_t len, size_t *pos, struct dm5_dir *d)
{
	size_t i = *pos, start;

	while (i < len && (is_lws(in[i]) || in[i] == ','))
		i++;
	if (i == len)
		return 0;
	start = i;
	while (i < len && is_token_char((unsigned char)in[i]))
		i++;
	d->name = in + start;
	d->name_len = i - start;
	while (i < len && is_lws(in[i]))
		i++;
	if (d->name_len == 0 || i == len || in[i] != '=')
		return -1;
	i++;
	while (i < len && is_lws(in[i]))
		i++;
	d->value_len = 0;
	if (i < len && in[i] == '"') {
		for (i++;; i++) {
			if (i == len)
				return -1;
			if (in[i] == '"')
				break;
			if (in[i] == '\\' && ++i == len)
				return -1;
			if (d->value_len == DM5_VALUE_MAX)
				return -1;
			d->value[d->value_len++] = in[i];
		}
		i++;
	} else {
		while (i < len && is_token_char((unsigned char)in[i])) {
			if (d->value_len == DM5_VALUE_MAX)
				return -1;
			d->value[d->value_len++] = in[i++];
		}
	}
	while (i < len && is_lws(in[i]))
		i++;
	if (i < len && in[i] != ',')
		return -1;
	if (memchr(d->value, '\0', d->value_len) != NULL)
		return -1;
	d->value[d->value_len] = '\0';
	*pos = i;
	return 1;
}

static bool
dir_is(const struct dm5_dir *d, const char *name)
{
	return d->name_len == strlen(name) &&
	       strncasecmp(d->name, name, d->name_len) == 0;
}

/* has_token - whether the comma-separated list contains tok. */
static bool
has_token(const char *list, const char *tok)
{
	size_t n = strlen(tok);
	const char *p = list;

	while (*p != '\0') {
		size_t k;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		k = strcspn(p, " \t,");
		if (k == n && strncasecmp(p, tok, n) == 0)
			return true;
		p += k;
	}
	return false;
}

/* to_latin1 - the ISO-8859-1 form of UTF-8 s into out (room for
 * strlen(s) + 1); false if a character is above U+00FF or s is not
 * UTF-8 in the range that matters. */
static bool
to_latin1(const char *s, char *out)
{
	size_t i = 0, o = 0;

	while (s[i] != '\0') {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x80) {
			out[o++] = (char)c;
			i++;
		} else if ((c == 0xc2 || c == 0xc3) &&
			   ((unsigned char)s[i + 1] & 0xc0) == 0x80) {
			out[o++] = (char)(((c & 0x03) << 6) |
					  ((unsigned char)s[i + 1] & 0x3f));
			i += 2;
		} else {
			out[o] = '\0';
			return false;
		}
	}
	out[o] = '\0';
	return true;
}

/* hash_form - RFC 2831 §2.1.2.1: with charset=utf-8, a user name or
 * password whose characters all fit ISO-8859-1 is hashed in ISO-8859-1
 * (what libsasl2 and authd's stored hash do); without charset=utf-8 the
 * strings are ISO-8859-1 anyway.  Returns an allocated copy in the form
 * to hash or send, or NULL (*code_r: no memory, or a string that
 * ISO-8859-1 cannot carry when !utf8). */
static char *
hash_form(const char *s, bool utf8, int *code_r)
{
	size_t n = strlen(s);
	char *out = malloc(n + 1);

	if (out == NULL) {
		*code_r = AUTHD_ERR_NOMEM;
		return NULL;
	}
	if (to_latin1(s, out))
		return out;
	if (!utf8) {
		secret_free(out, n + 1);
		*code_r = AUTHD_ERR_PASSWORD;
		return NULL;
	}
	memcpy(out, s, n + 1);
	return out;
}

/* put_quoted - name="value" with '"' and '\' escaped. */
static void
put_quoted(struct buf *b, const char *name, const char *v)
{
	buf_printf(b, "%s=\"", name);
	for (; *v != '\0'; v++) {
		if (*v == '"' || *v == '\\')
			buf_append_c(b, '\\');
		buf_append_c(b, *v);
	}
	buf_append_c(b, '"');
}

static void
md5_hex(const void *p, size_t n, char out[33])
{
	unsigned char d[16];

	EVP_Digest(p, n, d, NULL, EVP_md5(), NULL);
	codec_hex_encode(d, 16, out);
	secret_wipe(d, sizeof(d));
}

/* digest_value - RFC 2831 §2.1.2.1: HEX(H(HEX(H(A1)) ":" nonce ":" nc
 * ":" cnonce ":" qop ":" HEX(H(A2)))), A1 = H(user:realm:pw) (raw 16
 * bytes) ":" nonce ":" cnonce [":" authzid], A2 = a2_prefix ":" uri. */
static bool
digest_value(const unsigned char urp[16], const char *nonce,
	     const char *cnonce, const char *authzid, const char *a2_prefix,
	     const char *uri, char out[33])
{
	struct buf b = BUF_INIT;
	char ha1[33], ha2[33];
	bool ok;

	buf_append(&b, urp, 16);
	buf_printf(&b, ":%s:%s", nonce, cnonce);
	if (authzid != NULL)
		buf_printf(&b, ":%s", authzid);
	if (!buf_ok(&b)) {
		buf_free(&b);
		return false;
	}
	md5_hex(b.data, b.len, ha1);
	buf_reset(&b);
	buf_printf(&b, "%s:%s", a2_prefix, uri);
	if (buf_ok(&b))
		md5_hex(b.data, b.len, ha2);
	buf_reset(&b);
	buf_printf(&b, "%s:%s:00000001:%s:auth:%s", ha1, nonce, cnonce, ha2);
	if ((ok = buf_ok(&b)))
		md5_hex(b.data, b.len, out);
	buf_free(&b);
	secret_wipe(ha1, sizeof(ha1));
	return ok;
}

static int
dm5_start(struct authd_client *cl, bool use_initial, bool *has_resp_r)
{
	(void)use_initial;
	*has_resp_r = false;	/* RFC 2831 §2.1: the server starts */
	if (cl->service == NULL)
		return client_err(cl, AUTHD_ERR_INVALID, "DIGEST-MD5 needs the "
				  "service for its digest-uri "
				  "(authd_client_set_service)");
	if ((cl->state = calloc(1, sizeof(struct dm5_state))) == NULL)
		return client_nomem(cl);
	return AUTHD_OK;
}

/* The parts of a digest-challenge that matter. */
struct dm5_challenge {
	char *realm;		/* the first offered, or NULL */
	char *nonce;
	bool utf8, has_qop, qop_auth, md5_sess, has_algorithm;
};

static void
challenge_free(struct dm5_challenge *ch)
{
	free(ch->realm);
	free(ch->nonce);
}

static int
parse_challenge(struct authd_client *cl, const char *in, size_t len,
		struct dm5_challenge *ch)
{
	struct dm5_dir *d;
	size_t pos = 0;
	int r, code = AUTHD_OK;
	bool has_charset = false;

	memset(ch, 0, sizeof(*ch));
	if (len > DM5_CHALLENGE_MAX || memchr(in, '\0', len) != NULL)
		return client_err(cl, AUTHD_ERR_CHALLENGE, "DIGEST-MD5 challenge "
				  "too long or with a NUL");
	if ((d = malloc(sizeof(*d))) == NULL)
		return client_nomem(cl);
	while ((r = dm5_next(in, len, &pos, d)) == 1 && code == AUTHD_OK) {
		char **dst = NULL;

		if (dir_is(d, "realm")) {
			if (ch->realm != NULL)
				continue;	/* one per realm: keep the first */
			dst = &ch->realm;
		} else if (dir_is(d, "nonce")) {
			if (ch->nonce != NULL)
				code = client_err(cl, AUTHD_ERR_CHALLENGE,
						  "DIGEST-MD5 challenge with two "
						  "nonces");
			dst = &ch->nonce;
		} else if (dir_is(d, "qop")) {
			if (ch->has_qop)
				code = client_err(cl, AUTHD_ERR_CHALLENGE,
						  "qop repeated");
			ch->has_qop = true;
			ch->qop_auth = has_token(d->value, "auth");
		} else if (dir_is(d, "charset")) {
			if (has_charset || strcasecmp(d->value, "utf-8") != 0)
				code = client_err(cl, AUTHD_ERR_CHALLENGE,
						  "charset repeated or not "
						  "utf-8");
			has_charset = ch->utf8 = true;
		} else if (dir_is(d, "algorithm")) {
			if (ch->has_algorithm)
				code = client_err(cl, AUTHD_ERR_CHALLENGE,
						  "algorithm repeated");
			ch->has_algorithm = true;
			ch->md5_sess = strcasecmp(d->value, "md5-sess") == 0;
		}
		/* stale, maxbuf, cipher and unknown directives: ignored. */
		if (code == AUTHD_OK && dst != NULL &&
		    (*dst = malloc(d->value_len + 1)) != NULL)
			memcpy(*dst, d->value, d->value_len + 1);
		else if (code == AUTHD_OK && dst != NULL)
			code = client_nomem(cl);
	}
	secret_wipe(d, sizeof(*d));
	free(d);
	if (code == AUTHD_OK && r < 0)
		code = client_err(cl, AUTHD_ERR_CHALLENGE, "malformed DIGEST-MD5 "
				  "challenge");
	if (code == AUTHD_OK && (ch->nonce == NULL || ch->nonce[0] == '\0'))
		code = client_err(cl, AUTHD_ERR_CHALLENGE, "DIGEST-MD5 challenge "
				  "without a nonce");
	if (code == AUTHD_OK && (!ch->has_algorithm || !ch->md5_sess))
		code = client_err(cl, AUTHD_ERR_CHALLENGE, "DIGEST-MD5 challenge "
				  "without algorithm=md5-sess");
	/* RFC 2831 §2.1.1: qop absent means "auth". */
	if (code == AUTHD_OK && ch->has_qop && !ch->qop_auth)
		code = client_err(cl, AUTHD_ERR_CHALLENGE, "the server does not "
				  "offer qop=auth");
	if (code != AUTHD_OK)
		challenge_free(ch);
	return code;
}

/* answer - the digest-response to a parsed challenge. */
static int
answer(struct authd_client *cl, const struct dm5_challenge *ch)
{
	struct dm5_state *st = cl->state;
	const char *realm = cl->realm != NULL ? cl->realm : ch->realm;
	char *user = NULL, *pw = NULL, *zid = NULL, *rlm = NULL, *cnonce = NULL;
	char *uri = NULL, response[33];
	unsigned char urp[16];
	size_t uri_len;
	EVP_MD_CTX *md = NULL;
	int code = AUTHD_OK;

	if ((code = client_nonce(cl, &cnonce)) != AUTHD_OK)
		goto out;
	/* The realm is hashed as it is sent: RFC 2831 §2.1.2.1 converts only
	 * the user name and the password (and so does authd). */
	if (realm != NULL && (rlm = util_strdup(realm)) == NULL) {
		code = client_nomem(cl);
		goto out;
	}
	if ((user = hash_form(cl->authcid, ch->utf8, &code)) == NULL ||
	    (pw = hash_form(cl->password, ch->utf8, &code)) == NULL ||
	    (cl->authzid != NULL &&
	     (zid = hash_form(cl->authzid, ch->utf8, &code)) == NULL)) {
		if (code == AUTHD_ERR_NOMEM)
			code = client_nomem(cl);
		else
			code = client_err(cl, code, "the server does not offer "
					  "charset=utf-8 and a name or the "
					  "password does not fit ISO-8859-1");
		goto out;
	}
	if ((md = EVP_MD_CTX_new()) == NULL) {
		code = client_nomem(cl);
		goto out;
	}
	if (!EVP_DigestInit_ex(md, EVP_md5(), NULL) ||
	    !EVP_DigestUpdate(md, user, strlen(user)) ||
	    !EVP_DigestUpdate(md, ":", 1) ||
	    !EVP_DigestUpdate(md, rlm != NULL ? rlm : "",
			      rlm != NULL ? strlen(rlm) : 0) ||
	    !EVP_DigestUpdate(md, ":", 1) ||
	    !EVP_DigestUpdate(md, pw, strlen(pw)) ||
	    !EVP_DigestFinal_ex(md, urp, NULL)) {
		code = client_err(cl, AUTHD_ERROR, "MD5 is not available (FIPS "
				  "mode?)");
		goto out;
	}
	/* What is sent: UTF-8 names with charset=utf-8, else ISO-8859-1. */
	if (ch->utf8) {
		util_free_str(user);
		util_free_str(zid);
		user = zid = NULL;
		if ((user = util_strdup(cl->authcid)) == NULL ||
		    (cl->authzid != NULL &&
		     (zid = util_strdup(cl->authzid)) == NULL)) {
			code = client_nomem(cl);
			goto out;
		}
	}
	uri_len = strlen(cl->service) + strlen(cl->host) + 2;
	if ((uri = malloc(uri_len)) == NULL) {
		code = client_nomem(cl);
		goto out;
	}
	snprintf(uri, uri_len, "%s/%s", cl->service, cl->host);
	if (!digest_value(urp, ch->nonce, cnonce, zid, "AUTHENTICATE", uri,
			  response) ||
	    !digest_value(urp, ch->nonce, cnonce, zid, "", uri, st->rspauth)) {
		code = client_nomem(cl);
		goto out;
	}
	/* The order of RFC 2831 §4's example. */
	if (ch->utf8)
		buf_append_str(&cl->resp, "charset=utf-8,");
	put_quoted(&cl->resp, "username", user);
	if (rlm != NULL) {
		buf_append_c(&cl->resp, ',');
		put_quoted(&cl->resp, "realm", rlm);
	}
	buf_append_c(&cl->resp, ',');
	put_quoted(&cl->resp, "nonce", ch->nonce);
	buf_append_str(&cl->resp, ",nc=00000001,");
	put_quoted(&cl->resp, "cnonce", cnonce);
	buf_append_c(&cl->resp, ',');
	put_quoted(&cl->resp, "digest-uri", uri);
	buf_printf(&cl->resp, ",response=%s,qop=auth", response);
	if (zid != NULL) {
		buf_append_c(&cl->resp, ',');
		put_quoted(&cl->resp, "authzid", zid);
	}
	st->answered = true;
out:
	EVP_MD_CTX_free(md);
	secret_wipe(urp, sizeof(urp));
	secret_wipe(response, sizeof(response));
	util_free_str(user);
	util_free_str(pw);
	util_free_str(zid);
	util_free_str(rlm);
	util_free_str(cnonce);
	free(uri);
	return code == AUTHD_OK ? AUTHD_CONTINUE : code;
}

/* check_rspauth - RFC 2831 §2.1.3: response-auth = "rspauth=" hex. */
static int
check_rspauth(struct authd_client *cl, const unsigned char *in, size_t len)
{
	struct dm5_state *st = cl->state;
	struct dm5_dir *d;
	size_t pos = 0, i;
	char got[33] = "";
	int r, found = 0;
	bool bad = false;

	if (len > DM5_CHALLENGE_MAX || memchr(in, '\0', len) != NULL)
		return client_err(cl, AUTHD_ERR_CHALLENGE, "malformed rspauth");
	if ((d = malloc(sizeof(*d))) == NULL)
		return client_nomem(cl);
	while ((r = dm5_next((const char *)in, len, &pos, d)) == 1) {
		if (!dir_is(d, "rspauth"))
			continue;
		if (++found > 1 || d->value_len != 32) {
			bad = true;
			break;
		}
		for (i = 0; i < 32; i++)
			got[i] = d->value[i] >= 'A' && d->value[i] <= 'F' ?
				 (char)(d->value[i] - 'A' + 'a') : d->value[i];
		got[32] = '\0';
	}
	free(d);
	if (r < 0 || bad || found != 1)
		return client_err(cl, AUTHD_ERR_CHALLENGE, "expected one "
				  "rspauth=<32 hex digits> from the server");
	if (CRYPTO_memcmp(got, st->rspauth, 32) != 0)
		return client_err(cl, AUTHD_ERR_VERIFY, "the server's rspauth is "
				  "wrong: it does not know the password");
	st->verified = true;
	return AUTHD_OK;
}

static int
dm5_step(struct authd_client *cl, const unsigned char *in, size_t len)
{
	struct dm5_state *st = cl->state;
	struct dm5_challenge ch;
	int code;

	if (!st->answered) {
		code = parse_challenge(cl, (const char *)in, len, &ch);
		if (code != AUTHD_OK)
			return code;
		code = answer(cl, &ch);
		challenge_free(&ch);
		return code;
	}
	if (st->verified)
		return client_err(cl, AUTHD_ERR_CHALLENGE, "unexpected challenge "
				  "after rspauth");
	if ((code = check_rspauth(cl, in, len)) != AUTHD_OK)
		return code;
	return AUTHD_CONTINUE;	/* an empty response: "I agree" */
}

static int
dm5_finish(struct authd_client *cl, const unsigned char *in, size_t len)
{
	struct dm5_state *st = cl->state;
	int code;

	if (len > 0) {
		if (st->verified || !st->answered)
			return client_err(cl, AUTHD_ERR_CHALLENGE, "unexpected "
					  "final data");
		if ((code = check_rspauth(cl, in, len)) != AUTHD_OK)
			return code;
	}
	if (!st->verified)
		return client_err(cl, AUTHD_ERR_VERIFY, "the server reported "
				  "success without proving that it knows the "
				  "password (no rspauth)");
	return AUTHD_OK;
}

static void
dm5_free(struct authd_client *cl)
{
	if (cl->state != NULL)
		secret_free(cl->state, sizeof(struct dm5_state));
	cl->state = NULL;
}

const struct client_mech client_digest_md5 = {
	"DIGEST-MD5", dm5_start, dm5_step, dm5_finish, dm5_free,
};
