/*
 * client_digest_md5 - DIGEST-MD5 (RFC 2831; historic since RFC 6331),
 * qop=auth only.  Two challenges: the digest-challenge, answered with the
 * digest-response; then "rspauth=...", the server's proof, checked here
 * and answered with an empty response (or carried by the server's
 * success, checked by finish()).
 *
 * Untrusted input: both challenges, comma-separated directives with
 * tokens or quoted strings (backslash escapes), read by the tokenizer the
 * server uses too (proto/sasl/digest_md5.h: bounded, on (pointer,
 * length)), which also computes H(user:realm:password) and the digests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "client.h"
#include "digest_md5.h"
#include "secret.h"

struct dm5_state {
	char rspauth[33];		/* the server's expected proof, hex */
	bool answered, verified;
};

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

/* status_code - the library's code (and message) for a digest_md5
 * status. */
static int
status_code(struct authd_client *cl, enum digest_md5_status st)
{
	switch (st) {
	case DIGEST_MD5_OK:
		return AUTHD_OK;
	case DIGEST_MD5_NOMEM:
		return client_nomem(cl);
	case DIGEST_MD5_NOT_LATIN1:
		return client_err(cl, AUTHD_ERR_PASSWORD, "the server does not "
				  "offer charset=utf-8 and a name or the "
				  "password does not fit ISO-8859-1");
	case DIGEST_MD5_NO_MD5:
		break;
	}
	return client_err(cl, AUTHD_ERROR, "MD5 is not available (FIPS mode?)");
}

/* sent_form - s as the digest-response carries it (RFC 2831 §2.1.2):
 * UTF-8 with charset=utf-8, else ISO-8859-1.  Allocated into *out_r. */
static int
sent_form(struct authd_client *cl, const char *s, bool utf8, char **out_r)
{
	enum digest_md5_status st = DIGEST_MD5_NOMEM;

	*out_r = utf8 ? util_strdup(s) : digest_md5_latin1(s, strlen(s), &st);
	return *out_r != NULL ? AUTHD_OK : status_code(cl, st);
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
	struct digest_md5_directive *d;
	const char *why;
	size_t pos = 0;
	int r, code = AUTHD_OK;
	bool has_charset = false;

	memset(ch, 0, sizeof(*ch));
	if (len > DIGEST_MD5_IN_MAX || memchr(in, '\0', len) != NULL)
		return client_err(cl, AUTHD_ERR_CHALLENGE, "DIGEST-MD5 challenge "
				  "too long or with a NUL");
	if ((d = malloc(sizeof(*d))) == NULL)
		return client_nomem(cl);
	while ((r = digest_md5_next(in, len, &pos, d, &why)) == 1 &&
	       code == AUTHD_OK) {
		char **dst = NULL;

		if (digest_md5_directive_is(d, "realm")) {
			if (ch->realm != NULL)
				continue;	/* one per realm: keep the first */
			dst = &ch->realm;
		} else if (digest_md5_directive_is(d, "nonce")) {
			if (ch->nonce != NULL)
				code = client_err(cl, AUTHD_ERR_CHALLENGE,
						  "DIGEST-MD5 challenge with two "
						  "nonces");
			dst = &ch->nonce;
		} else if (digest_md5_directive_is(d, "qop")) {
			if (ch->has_qop)
				code = client_err(cl, AUTHD_ERR_CHALLENGE,
						  "qop repeated");
			ch->has_qop = true;
			ch->qop_auth = has_token(d->value, "auth");
		} else if (digest_md5_directive_is(d, "charset")) {
			if (has_charset || strcasecmp(d->value, "utf-8") != 0)
				code = client_err(cl, AUTHD_ERR_CHALLENGE,
						  "charset repeated or not "
						  "utf-8");
			has_charset = ch->utf8 = true;
		} else if (digest_md5_directive_is(d, "algorithm")) {
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
	char *user = NULL, *zid = NULL, *cnonce = NULL, *uri = NULL;
	char response[33];
	unsigned char urp[16];
	size_t uri_len;
	int code = AUTHD_OK;

	if ((code = client_nonce(cl, &cnonce)) != AUTHD_OK)
		goto out;
	/* RFC 2831 §2.1.2.1: the user name and the password are hashed in
	 * ISO-8859-1 when they fit, and must fit without charset=utf-8; the
	 * realm is hashed as it is sent (and so does authd). */
	code = status_code(cl, digest_md5_urp(cl->authcid, strlen(cl->authcid),
					      realm != NULL ? realm : "",
					      realm != NULL ? strlen(realm) : 0,
					      cl->password, strlen(cl->password),
					      !ch->utf8, urp));
	if (code != AUTHD_OK)
		goto out;
	if ((code = sent_form(cl, cl->authcid, ch->utf8, &user)) != AUTHD_OK ||
	    (cl->authzid != NULL &&
	     (code = sent_form(cl, cl->authzid, ch->utf8, &zid)) != AUTHD_OK))
		goto out;
	uri_len = strlen(cl->service) + strlen(cl->host) + 2;
	if ((uri = malloc(uri_len)) == NULL) {
		code = client_nomem(cl);
		goto out;
	}
	snprintf(uri, uri_len, "%s/%s", cl->service, cl->host);
	if (!digest_md5_response_value(urp, ch->nonce, cnonce, zid, uri,
				       "00000001", "auth", false, response) ||
	    !digest_md5_response_value(urp, ch->nonce, cnonce, zid, uri,
				       "00000001", "auth", true, st->rspauth)) {
		code = client_nomem(cl);
		goto out;
	}
	/* The order of RFC 2831 §4's example. */
	if (ch->utf8)
		buf_append_str(&cl->resp, "charset=utf-8,");
	put_quoted(&cl->resp, "username", user);
	if (realm != NULL) {
		buf_append_c(&cl->resp, ',');
		put_quoted(&cl->resp, "realm", realm);
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
	secret_wipe(urp, sizeof(urp));
	secret_wipe(response, sizeof(response));
	util_free_str(user);
	util_free_str(zid);
	util_free_str(cnonce);
	free(uri);
	return code == AUTHD_OK ? AUTHD_CONTINUE : code;
}

/* check_rspauth - RFC 2831 §2.1.3: response-auth = "rspauth=" hex. */
static int
check_rspauth(struct authd_client *cl, const unsigned char *in, size_t len)
{
	struct dm5_state *st = cl->state;
	struct digest_md5_directive *d;
	const char *why;
	size_t pos = 0, i;
	char got[33] = "";
	int r, found = 0;
	bool bad = false;

	if (len > DIGEST_MD5_IN_MAX || memchr(in, '\0', len) != NULL)
		return client_err(cl, AUTHD_ERR_CHALLENGE, "malformed rspauth");
	if ((d = malloc(sizeof(*d))) == NULL)
		return client_nomem(cl);
	while ((r = digest_md5_next((const char *)in, len, &pos, d, &why)) ==
	       1) {
		if (!digest_md5_directive_is(d, "rspauth"))
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
