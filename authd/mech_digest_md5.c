/*
 * mech_digest_md5 - DIGEST-MD5 (RFC 2831; historic since RFC 6331, still
 * asked for by old clients), from the stored H(user:realm:password) or
 * cleartext.  qop=auth only (no integrity or confidentiality layers).
 *
 * Untrusted input: the digest-response, a comma-separated list of
 * name=value with quoted strings and backslash escapes; historically a
 * rich source of parser bugs, so the parser is small, bounded, fuzzed
 * (tests/fuzz/fuzz_digest_md5.c) and shared with the store and libauthd:
 * proto/sasl/digest_md5.c, which also computes the digests.
 *
 * Checks: the nonce is ours (CSPRNG, one per exchange, so it cannot be
 * replayed into another exchange) and nc is 00000001 (no subsequent
 * authentication); qop is auth; digest-uri's service is the request's
 * service; the realm is one we offered; every directive appears once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server.h"
#include "digest_md5.h"
#include "mech.h"
#include "secret.h"
#include "xalloc.h"

struct digest_state {
	char nonce[33];
	bool sent;
};

static void *
digest_new(const struct mech_ctx *ctx)
{
	struct digest_state *s = xcalloc(1, sizeof(*s));

	(void)ctx;
	mech_random_hex(s->nonce, 16);
	return s;
}

static void
digest_free(void *state)
{
	free(state);
}

/* realm_offered - whether realm is one of the challenge's realms:
 * digest_md5_realms, or the default realm. */
static bool
realm_offered(const char *realm)
{
	size_t i;

	for (i = 0; i < authd.set->n_digest_realms; i++)
		if (strcasecmp(authd.set->digest_realms[i], realm) == 0)
			return true;
	return false;
}

static void
put_challenge(struct digest_state *s, struct buf *out)
{
	size_t i;

	for (i = 0; i < authd.set->n_digest_realms; i++)
		buf_printf(out, "realm=\"%s\",", authd.set->digest_realms[i]);
	/* curl accepts algorithm=md5-sess only as a bare token. */
	buf_printf(out, "nonce=\"%s\",qop=\"auth\",charset=utf-8,"
		   "algorithm=md5-sess", s->nonce);
}

/* hash_urp - H(user:realm:pw) as the store makes it. */
static bool
hash_urp(const char *user, const char *realm, const char *pw, size_t pw_len,
	 unsigned char urp[16])
{
	return digest_md5_urp(user, strlen(user), realm, strlen(realm), pw,
			      pw_len, false, urp) == DIGEST_MD5_OK;
}

/* response_value - the response-value r carries (or, with rspauth, the
 * server's proof) from H(user:realm:pw); false on failure. */
static bool
response_value(const unsigned char urp[16],
	       const struct digest_md5_response *r, bool rspauth,
	       char out[33])
{
	return digest_md5_response_value(urp, r->nonce, r->cnonce,
					 r->authzid_a1, r->digest_uri, r->nc,
					 r->qop != NULL ? r->qop : "auth",
					 rspauth, out);
}

/* service_matches - digest-uri is "service/host[/serv-name]". */
static bool
service_matches(const char *uri, const char *service)
{
	size_t n = strlen(service);

	return strncasecmp(uri, service, n) == 0 && uri[n] == '/' &&
	       uri[n + 1] != '\0';
}

static enum mech_status
digest_step(void *state, const struct mech_ctx *ctx, const unsigned char *in,
	    size_t len, bool first, struct mech_out *out)
{
	struct digest_state *s = state;
	struct digest_md5_response r;
	struct userdb_record rec;
	unsigned char urp[16], made[16];
	char want[33], rspauth[33], login[USERDB_KEY_MAX + 2];
	const char *why;
	unsigned int need;
	int found;
	bool computed, ok;

	if (first) {
		/* RFC 2831: no initial response (an empty one is taken as
		 * none, as Dovecot does) */
		if (in != NULL && len > 0)
			return MECH_MALFORMED;
		put_challenge(s, &out->challenge);
		s->sent = true;
		return MECH_CONTINUE;
	}
	why = digest_md5_response_parse((const char *)in, len, &r);
	if (why != NULL) {
		if (strcmp(why, "out of memory") != 0)
			return MECH_MALFORMED;
		out->result = AUTH_TEMPFAIL;
		out->reason = why;
		return MECH_DONE;
	}
	if (strcmp(r.nonce, s->nonce) != 0 || strcmp(r.nc, "00000001") != 0 ||
	    (r.qop != NULL && strcmp(r.qop, "auth") != 0) ||
	    !service_matches(r.digest_uri, ctx->service) ||
	    (r.realm != NULL && r.realm[0] != '\0' && !realm_offered(r.realm))) {
		digest_md5_response_free(&r);
		return mech_fail(out, "DIGEST-MD5 response does not match the "
				 "challenge (nonce, nc, qop, digest-uri or realm)");
	}
	/* The realm directive selects the store realm for a bare user name. */
	snprintf(login, sizeof(login), "%s%s%s", r.username,
		 r.realm != NULL && r.realm[0] != '\0' &&
		 strchr(r.username, '@') == NULL ? "@" : "",
		 r.realm != NULL && strchr(r.username, '@') == NULL ? r.realm : "");
	out->login = xstrdup(r.username);
	out->login_len = strlen(r.username);
	found = mech_lookup(ctx, login, strlen(login), &out->name, &rec, &why);
	if (found == MECH_LOOKUP_PENDING) {
		digest_md5_response_free(&r);
		return MECH_LOOKUP;
	}
	if (found == -1) {
		digest_md5_response_free(&r);
		out->result = AUTH_TEMPFAIL;
		out->reason = "store error";
		return MECH_DONE;
	}
	out->name_ok = found >= 0;
	/* The stored hashes bind the user name as the client spells it:
	 * "alice" (with the realm directive) or the whole "alice@example.org"
	 * (curl, swaks and gsasl send what they were given). */
	need = strchr(r.username, '@') != NULL ? USERDB_V_DIGEST_MD5_ADDR :
						 USERDB_V_DIGEST_MD5;
	/* The same work whatever the record holds: one H(user:realm:pw) is
	 * made (from the cleartext, or a dummy for an unknown user, a missing
	 * verifier and a stored hash alike), then one is chosen. */
	if (found == 1 && (rec.have & USERDB_V_CLEARTEXT))
		computed = hash_urp(r.username, r.realm != NULL ? r.realm : "",
				    rec.plain, rec.plain_len, made);
	else
		computed = hash_urp(r.username, r.realm != NULL ? r.realm : "",
				    "authd-dummy", 11, made);
	memcpy(urp, found == 1 && !(rec.have & USERDB_V_CLEARTEXT) &&
	       (rec.have & need) ? (need == USERDB_V_DIGEST_MD5 ?
				    rec.digest_md5 : rec.digest_md5_addr) :
	       made, 16);
	secret_wipe(made, sizeof(made));
	computed = computed && response_value(urp, &r, false, want);
	ok = computed && secret_equal(want, r.response, 32);
	if (!computed) {
		out->result = AUTH_TEMPFAIL;
		out->reason = "DIGEST-MD5 digest failed (out of memory, or no MD5)";
	} else if (found != 1)
		mech_fail(out, found == 0 ? "unknown user" : "invalid user name");
	else if (!(rec.have & (need | USERDB_V_CLEARTEXT)))
		mech_fail(out, need == USERDB_V_DIGEST_MD5 ?
			  "no DIGEST-MD5 verifier stored for this user" :
			  "no DIGEST-MD5 verifier stored for this user logging "
			  "in with the whole address (pwtool passwd -m digest-md5 "
			  "makes one)");
	else if (!ok)
		mech_fail(out, "wrong password (or user/realm spelt unlike the "
			  "stored DIGEST-MD5 hash)");
	else if (rec.flags & USERDB_FLAG_DISABLED)
		mech_fail(out, "account locked");
	else if (!response_value(urp, &r, true, rspauth)) {
		out->result = AUTH_TEMPFAIL;
		out->reason = "DIGEST-MD5 digest failed (out of memory, or no MD5)";
	} else {
		out->result = AUTH_OK;
		buf_printf(&out->final, "rspauth=%s", rspauth);
		out->has_final = true;
		if (r.authzid != NULL) {
			out->authzid = xstrdup(r.authzid);
			out->authzid_len = strlen(r.authzid);
		}
	}
	secret_wipe(urp, sizeof(urp));
	secret_wipe(want, sizeof(want));
	userdb_record_clear(&rec);
	digest_md5_response_free(&r);
	return MECH_DONE;
}

const struct mech mech_digest_md5 = {
	"DIGEST-MD5", "dictionary\tactive\tmutual-auth",
	USERDB_V_DIGEST_MD5 | USERDB_V_DIGEST_MD5_ADDR | USERDB_V_CLEARTEXT,
	digest_new, digest_free, digest_step,
};
