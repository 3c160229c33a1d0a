/*
 * mech_cram_md5 - CRAM-MD5 (RFC 2195) from the stored HMAC-MD5 context
 * (or cleartext).  The challenge is unique per request:
 * <random hex.unix time@authd>.  The reply is "user SP 32 hex digits",
 * split at the LAST space because user names may contain spaces.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "mech.h"
#include "scheme.h"
#include "secret.h"
#include "xalloc.h"

struct cram_state {
	char challenge[80];
};

static void *
cram_new(const struct mech_ctx *ctx)
{
	struct cram_state *s = xcalloc(1, sizeof(*s));
	char rnd[33];

	(void)ctx;
	mech_random_hex(rnd, 16);
	snprintf(s->challenge, sizeof(s->challenge), "<%s.%lld@authd>", rnd,
		 (long long)time(NULL));
	return s;
}

static void
cram_free(void *state)
{
	free(state);
}

static enum mech_status
cram_step(void *state, const struct mech_ctx *ctx, const unsigned char *in,
	  size_t len, bool first, struct mech_out *out)
{
	struct cram_state *s = state;
	unsigned char ctxbuf[CRAM_MD5_CONTEXT_LEN], made[CRAM_MD5_CONTEXT_LEN];
	unsigned char want[16], got[16];
	struct userdb_record rec;
	const unsigned char *sp;
	const char *why;
	size_t ulen;
	int r;
	bool ok;

	if (first) {
		/* RFC 2195: the server speaks first; an initial response is a
		 * protocol error (an empty one is taken as none, as Dovecot
		 * does). */
		if (in != NULL && len > 0)
			return MECH_MALFORMED;
		buf_append_str(&out->challenge, s->challenge);
		return MECH_CONTINUE;
	}
	for (sp = in + len; sp > in && sp[-1] != ' '; sp--)
		;
	if (sp == in || (size_t)(in + len - sp) != 32)
		return MECH_MALFORMED;
	ulen = (size_t)(sp - 1 - in);
	if (!codec_hex_decode((const char *)sp, 32, got, 16))
		return MECH_MALFORMED;
	out->login = xstrndup((const char *)in, ulen);
	out->login_len = ulen;
	r = mech_lookup(ctx, (const char *)in, ulen, &out->name, &rec, &why);
	if (r == MECH_LOOKUP_PENDING)
		return MECH_LOOKUP;
	if (r == -1) {
		out->result = AUTH_TEMPFAIL;
		out->reason = "store error";
		return MECH_DONE;
	}
	out->name_ok = r >= 0;
	/* The same work whatever the record holds: a context is made (from
	 * the cleartext, or a dummy for an unknown user, a missing verifier
	 * and a stored context alike), then one is chosen. */
	if (r == 1 && (rec.have & USERDB_V_CLEARTEXT) &&
	    !(rec.have & USERDB_V_CRAM_MD5))
		scheme_cram_md5_context(rec.plain, rec.plain_len, made);
	else
		scheme_cram_md5_context("authd-dummy", 11, made);
	memcpy(ctxbuf, r == 1 && (rec.have & USERDB_V_CRAM_MD5) ?
	       rec.cram_md5 : made, sizeof(ctxbuf));
	secret_wipe(made, sizeof(made));
	scheme_cram_md5_hmac(ctxbuf, (const unsigned char *)s->challenge,
			     strlen(s->challenge), want);
	ok = secret_equal(want, got, 16);
	secret_wipe(ctxbuf, sizeof(ctxbuf));
	secret_wipe(want, sizeof(want));
	if (r != 1)
		mech_fail(out, r == 0 ? "unknown user" : "invalid user name");
	else if (!(rec.have & (USERDB_V_CRAM_MD5 | USERDB_V_CLEARTEXT)))
		mech_fail(out, "no CRAM-MD5 verifier stored for this user");
	else if (!ok)
		mech_fail(out, "wrong password");
	else if (rec.flags & USERDB_FLAG_DISABLED)
		mech_fail(out, "account locked");
	else
		out->result = AUTH_OK;
	userdb_record_clear(&rec);
	return MECH_DONE;
}

const struct mech mech_cram_md5 = {
	"CRAM-MD5", "dictionary\tactive", USERDB_V_CRAM_MD5 | USERDB_V_CLEARTEXT,
	cram_new, cram_free, cram_step,
};
