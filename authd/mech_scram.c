/*
 * mech_scram - SCRAM-SHA-256 (RFC 7677) and SCRAM-SHA-1 (RFC 5802) from
 * the stored StoredKey/ServerKey.  No channel binding yet:
 * "p=" is refused, "n" and "y" are accepted (RFC 5802 §6; we advertise no
 * -PLUS variant, so "y" is honest).
 *
 * An unknown user, or one without this verifier, gets a server-first
 * message like any other (a salt derived from a secret, the hash and the
 * normalised name, an iteration count drawn from the store's counts) and
 * fails at the proof, so the exchange does not reveal whether the user
 * exists (RFC 5802 §9).
 *
 * A cleartext record does not serve SCRAM: deriving the keys when asked
 * costs scram_iterations of PBKDF2 before the server-first message, which
 * would both stall the event loop and, by its timing, single out users
 * held in cleartext.
 *
 * The RFC part (parsers, AuthMessage, proof check, signature) is
 * proto/sasl/scram.c's, shared with libauthd and the store.
 *
 * Untrusted input: client-first and client-final messages (fuzzed in
 * tests/fuzz/fuzz_scram.c through scram_parse_*).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "server.h"
#include "codec.h"
#include "log.h"
#include "mech.h"
#include "scheme.h"
#include "scram.h"
#include "scram_iters.h"
#include "secret.h"
#include "userdb.h"
#include "xalloc.h"
#include "storepool.h"

/* The client nonce's longest accepted length.  RFC 5802 sets none, but
 * real clients send 24 to 32 characters, and the nonce is kept twice
 * (and sent back) for each open exchange: 128 exchanges with 3.9 KB
 * nonces held 1.9 MB per connection. */
#define SCRAM_CLIENT_NONCE_MAX	256
/* The client-first message's longest accepted length: room for the
 * longest names escaped (=2C, =3D) and the longest nonce. */
#define SCRAM_CLIENT_FIRST_MAX	4096

struct scram_state {
	enum scram_hash h;
	int step;
	bool fake;		/* unknown user or no verifier: fail at the end */
	const char *fake_reason;
	struct scram_verifier v;
	struct userdb_name name;
	bool name_ok, disabled;
	char *authzid;
	char *typed;		/* the user name as the client sent it */
	char *gs2_header;	/* "n,," or "y,,a=x," ... */
	char *client_first_bare;
	char *server_first;
	char *nonce;		/* client nonce + server nonce */
};

static void *
scram_new_h(enum scram_hash h)
{
	struct scram_state *s = xcalloc(1, sizeof(*s));

	s->h = h;
	return s;
}

static void *
scram_new256(const struct mech_ctx *ctx)
{
	(void)ctx;
	return scram_new_h(SCRAM_SHA256);
}

static void *
scram_new1(const struct mech_ctx *ctx)
{
	(void)ctx;
	return scram_new_h(SCRAM_SHA1);
}

static void
scram_free(void *state)
{
	struct scram_state *s = state;

	free(s->authzid);
	free(s->typed);
	free(s->gs2_header);
	free(s->client_first_bare);
	free(s->server_first);
	free(s->nonce);
	secret_wipe(s, sizeof(*s));
	free(s);
}

/* fake_verifier - a stable salt and iteration count for a name that has
 * no verifier, so that asking twice gives the same answer, as for a real
 * user: the same for every spelling of the name (who is the normalised
 * key whenever the name parses), different for SHA-1 and SHA-256 (real
 * users have a salt per verifier), and the same after a restart when the
 * store holds its secret (mech_salt_secret).  The count is drawn from the
 * store's own counts with their frequencies (userdb/scram_iters.h), not
 * scram_iterations: real users keep the count they were made with (an
 * import, an older default), and a made-up message must look like theirs.
 * Run for every client-first, real users too, so that both cost the same
 * on the loop. */
static void
fake_verifier(struct scram_state *s, const char *who, struct scram_verifier *v)
{
	unsigned char mac[32];
	struct scram_iters it;
	unsigned int fallback = authd.set->hash.scram_iterations;

	/* The tag keeps the two hashes' salts apart. */
	if (!digest_hmac(mech_salt_key(), s->h == SCRAM_SHA1 ? '1' : '2', who,
		  strlen(who), NULL, 0, mac))
		panic("SCRAM salt: HMAC-SHA-256 failed");
	if (storepool_active() ? !storepool_scram_iters(&it) :
	    authd.db == NULL || !userdb_scram_iters(authd.db, &it))
		scram_iters_init(&it);
	memset(v, 0, sizeof(*v));
	v->iterations = scram_iters_pick(&it, s->h, mac + 16, fallback);
	v->salt_len = 16;
	memcpy(v->salt, mac, 16);
	RAND_bytes(v->stored_key, sizeof(v->stored_key));
	secret_wipe(mac, sizeof(mac));
}

static enum mech_status
client_first(struct scram_state *s, const struct mech_ctx *ctx,
	     const char *in, size_t len, struct mech_out *out)
{
	struct scram_client_first cf;
	struct userdb_record rec;
	char snonce[33], salt_b64[SCHEME_SCRAM_SALT_MAX * 2];
	const char *why;
	int found;

	if (len > SCRAM_CLIENT_FIRST_MAX)
		return mech_fail(out, "SCRAM client-first message too long");
	switch (scram_parse_client_first(in, len, &cf, &why)) {
	case SCRAM_OK:
		break;
	case SCRAM_NOMEM:
		return mech_tempfail(out, why);
	default:
		return MECH_MALFORMED;
	}
	if (strlen(cf.nonce) > SCRAM_CLIENT_NONCE_MAX) {
		scram_client_first_free(&cf);
		return mech_fail(out, "SCRAM client nonce longer than 256 "
				 "characters");
	}
	if (cf.cbind == 'p') {
		scram_client_first_free(&cf);
		return mech_fail(out, "SCRAM channel binding requested but not "
				 "offered");
	}
	/* Asked before the state changes: a step run again (MECH_LOOKUP)
	 * starts from the same state. */
	found = mech_lookup(ctx, cf.user, strlen(cf.user), &s->name, &rec, &why);
	if (found == MECH_LOOKUP_PENDING) {
		scram_client_first_free(&cf);
		return MECH_LOOKUP;
	}
	s->typed = xstrdup(cf.user);
	s->gs2_header = cf.gs2_header;
	s->client_first_bare = cf.bare;
	s->authzid = cf.authzid;
	if (found == -1) {
		free(cf.user);
		free(cf.nonce);
		return mech_tempfail(out, "store error");
	}
	s->name_ok = found >= 0;
	/* Every spelling of a name that parses gets one salt. */
	fake_verifier(s, found >= 0 ? s->name.key : cf.user, &s->v);
	if (found == 1 && (rec.have & (s->h == SCRAM_SHA1 ? USERDB_V_SCRAM_SHA1 :
						     USERDB_V_SCRAM_SHA256))) {
		s->v = s->h == SCRAM_SHA1 ? rec.scram1 : rec.scram256;
	} else {
		s->fake = true;
		s->fake_reason = found == 1 ? (s->h == SCRAM_SHA1 ?
			"no SCRAM-SHA-1 verifier stored for this user "
			"(pwtool passwd -m scram adds one)" :
			"no SCRAM-SHA-256 verifier stored for this user "
			"(pwtool passwd -m scram adds one)") :
			found == 0 ? "unknown user" : "invalid user name";
	}
	s->disabled = found == 1 && (rec.flags & USERDB_FLAG_DISABLED);
	userdb_record_clear(&rec);
	free(cf.user);
	mech_random_hex(snonce, 16);
	s->nonce = xasprintf("%s%s", cf.nonce, snonce);
	free(cf.nonce);
	codec_b64_encode(s->v.salt, s->v.salt_len, salt_b64);
	s->server_first = xasprintf("r=%s,s=%s,i=%u", s->nonce, salt_b64,
				    s->v.iterations);
	buf_append_str(&out->challenge, s->server_first);
	s->step = 1;
	return MECH_CONTINUE;
}

static enum mech_status
client_final(struct scram_state *s, const char *in, size_t len,
	     struct mech_out *out)
{
	struct scram_client_final cf;
	size_t kl = scram_key_len(s->h);
	unsigned char sig[SCRAM_KEY_MAX];
	char vb64[64];
	const char *why;
	struct buf am = BUF_INIT;
	int proof_ok;

	switch (scram_parse_client_final(in, len, kl, &cf, &why)) {
	case SCRAM_OK:
		break;
	case SCRAM_NOMEM:
		return mech_tempfail(out, why);
	default:
		return MECH_MALFORMED;
	}
	/* c= must carry our gs2 header (no binding data); r= our nonce. */
	if (cf.cbind_len != strlen(s->gs2_header) ||
	    memcmp(cf.cbind, s->gs2_header, cf.cbind_len) != 0 ||
	    strcmp(cf.nonce, s->nonce) != 0) {
		scram_client_final_free(&cf);
		return mech_fail(out, "SCRAM client-final does not match "
				 "(channel binding or nonce)");
	}
	/* Checked for made-up users too, so that they take as long. */
	proof_ok = -1;
	if (scram_auth_message(&am, s->client_first_bare,
			       strlen(s->client_first_bare), s->server_first,
			       strlen(s->server_first), in,
			       cf.without_proof_len))
		proof_ok = scram_proof_check(s->h, s->v.stored_key, am.data,
					     am.len, cf.proof);
	out->name = s->name;
	out->name_ok = s->name_ok;
	if (s->typed != NULL) {
		out->login = xstrdup(s->typed);
		out->login_len = strlen(s->typed);
	}
	if (s->fake)
		mech_fail(out, s->fake_reason);
	else if (proof_ok < 0)
		mech_tempfail(out, "SCRAM proof not checked (out of memory "
			      "or OpenSSL failed)");
	else if (proof_ok == 0)
		mech_fail(out, "wrong password");
	else if (s->disabled)
		mech_fail(out, "account locked");
	else if (!scram_signature(s->h, s->v.server_key, am.data, am.len,
				  sig))
		mech_tempfail(out, "SCRAM ServerSignature: OpenSSL failed");
	else {
		out->result = AUTH_OK;
		codec_b64_encode(sig, kl, vb64);
		buf_printf(&out->final, "v=%s", vb64);
		out->has_final = true;
		if (s->authzid != NULL) {
			out->authzid = xstrdup(s->authzid);
			out->authzid_len = strlen(s->authzid);
		}
	}
	buf_free(&am);
	secret_wipe(sig, sizeof(sig));
	scram_client_final_free(&cf);
	return MECH_DONE;
}

static enum mech_status
scram_step(void *state, const struct mech_ctx *ctx, const unsigned char *in,
	   size_t len, bool first, struct mech_out *out)
{
	struct scram_state *s = state;

	(void)ctx;
	if (first && in == NULL)
		return MECH_CONTINUE;	/* empty challenge: send client-first */
	if (s->step == 0)
		return client_first(s, ctx, (const char *)in, len, out);
	return client_final(s, (const char *)in, len, out);
}

const struct mech mech_scram_sha256 = {
	"SCRAM-SHA-256", "mutual-auth", USERDB_V_SCRAM_SHA256 | USERDB_V_CLEARTEXT,
	scram_new256, scram_free, scram_step,
};

const struct mech mech_scram_sha1 = {
	"SCRAM-SHA-1", "mutual-auth", USERDB_V_SCRAM_SHA1 | USERDB_V_CLEARTEXT,
	scram_new1, scram_free, scram_step,
};
