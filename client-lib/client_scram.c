/*
 * client_scram - SCRAM-SHA-1 (RFC 5802) and SCRAM-SHA-256 (RFC 7677),
 * without channel binding (GS2 header "n,,", or "n,a=authzid,").
 *
 *   start: client-first  n,[a=authzid],n=user,r=cnonce
 *   step 1: server-first r=cnonce+snonce,s=salt,i=count -> client-final
 *   step 2: server-final v=signature (or e=error) -> checked; empty answer
 *   finish: v= carried by the server's success, if not seen in step 2
 *
 * SASLprep, the key derivation and the attribute syntax are
 * proto/sasl/scram.c's, the code authd's server side and its verifiers
 * run, so the password is normalised as a stored string (RFC 5802 §2.2)
 * exactly as authd's verifiers were made.  Every key derived from it is
 * wiped once used; only the expected ServerSignature is kept.
 *
 * Untrusted input: server-first and server-final, parsed from (pointer,
 * length) with bounds; the iteration count is capped (SCRAM_ITER_MAX) so
 * that a hostile server cannot make the client spin for minutes.
 */
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "codec.h"
#include "scram.h"
#include "secret.h"

/* A server's salt may be longer than the 16 bytes authd makes or the 64
 * its store imports; RFC 5802 sets no bound, this one is ours. */
#define CLIENT_SCRAM_SALT_MAX	512

struct scram_state {
	enum scram_hash h;
	char *prepped;			/* SASLprep(password) */
	char *cnonce;
	struct buf gs2;		/* "n,," or "n,a=...," */
	struct buf first_bare;		/* client-first-message-bare */
	unsigned char server_sig[SCRAM_KEY_MAX];
	int stage;			/* 0 sent first, 1 sent final, 2 done */
	bool verified;
};

static int
scram_start(struct authd_client *cl, bool use_initial, bool *has_resp_r)
{
	struct scram_state *st;
	int code;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return client_nomem(cl);
	cl->state = st;
	st->h = cl->mech == &client_scram_sha1 ? SCRAM_SHA1 : SCRAM_SHA256;
	switch (scram_saslprep(cl->password, strlen(cl->password),
			       &st->prepped)) {
	case SCRAM_OK:
		break;
	case SCRAM_NOMEM:
		return client_nomem(cl);
	default:
		return client_err(cl, AUTHD_ERR_PASSWORD, "SASLprep refuses the "
				  "password (not UTF-8, or prohibited or "
				  "unassigned characters)");
	}
	if ((code = client_nonce(cl, &st->cnonce)) != AUTHD_OK)
		return code;
	buf_append_str(&st->gs2, "n,");
	if (cl->authzid != NULL) {
		buf_append_str(&st->gs2, "a=");
		scram_escape_name(&st->gs2, cl->authzid, strlen(cl->authzid));
	}
	buf_append_c(&st->gs2, ',');
	buf_append_str(&st->first_bare, "n=");
	scram_escape_name(&st->first_bare, cl->authcid, strlen(cl->authcid));
	buf_append_str(&st->first_bare, ",r=");
	buf_append_str(&st->first_bare, st->cnonce);
	if (!buf_ok(&st->gs2) || !buf_ok(&st->first_bare))
		return client_nomem(cl);
	if (use_initial) {
		buf_append(&cl->resp, st->gs2.data, st->gs2.len);
		buf_append(&cl->resp, st->first_bare.data, st->first_bare.len);
		cl->sent = 1;
		*has_resp_r = true;
	}
	return AUTHD_OK;
}

/* server_error - RFC 5802 §7 server-error = "e=" value. */
static int
server_error(struct authd_client *cl, const char *v, size_t n)
{
	return client_err(cl, AUTHD_FAIL, "the server refused: %.*s",
			  (int)(n > 100 ? 100 : n), v);
}

/* client_final - from server-first (in, len), which has been checked to
 * hold no NUL. */
static int
client_final(struct authd_client *cl, const char *in, size_t len)
{
	struct scram_state *st = cl->state;
	unsigned char salt[CLIENT_SCRAM_SALT_MAX], salted[SCRAM_KEY_MAX],
		      proof[SCRAM_KEY_MAX];
	const char *nonce = NULL, *salt_b64 = NULL, *iter = NULL, *v;
	size_t pos = 0, nonce_len = 0, salt_b64_len = 0, iter_len = 0, vlen,
	       cnonce_len = strlen(st->cnonce), key_len = scram_key_len(st->h);
	struct buf without_proof = BUF_INIT, auth_msg = BUF_INIT;
	unsigned int iterations = 0;
	long salt_len = -1;
	int code = AUTHD_OK;
	char name;
	char *cbind = NULL, *proof_b64 = NULL;

	/* server-first-message = [reserved-mext ","] nonce "," salt ","
	 * iteration-count ["," extensions]  (RFC 5802 §7) */
	while (scram_attr(in, len, &pos, &name, &v, &vlen)) {
		if (name == 'e' && nonce == NULL)
			return server_error(cl, v, vlen);
		if (name == 'm' && nonce == NULL)
			return client_err(cl, AUTHD_ERR_CHALLENGE, "the server "
					  "requires an unsupported SCRAM "
					  "extension (m=)");
		if (nonce == NULL && name == 'r') {
			nonce = v;
			nonce_len = vlen;
		} else if (nonce != NULL && salt_b64 == NULL && name == 's') {
			salt_b64 = v;
			salt_b64_len = vlen;
		} else if (salt_b64 != NULL && iter == NULL && name == 'i') {
			iter = v;
			iter_len = vlen;
		} else if (iter == NULL) {
			break;		/* out of order: refused below */
		}
	}
	if (iter == NULL)
		return client_err(cl, AUTHD_ERR_CHALLENGE, "malformed SCRAM "
				  "server-first message");
	/* RFC 5802 §5.1: the server's nonce extends ours. */
	if (nonce_len <= cnonce_len || memcmp(nonce, st->cnonce, cnonce_len) ||
	    !scram_nonce_ok(nonce, nonce_len))
		return client_err(cl, AUTHD_ERR_CHALLENGE, "the server's nonce "
				  "does not extend the client's");
	if (salt_b64_len == 0 || salt_b64_len / 4 * 3 > sizeof(salt) ||
	    (salt_len = codec_b64_decode(salt_b64, salt_b64_len, salt)) <= 0)
		return client_err(cl, AUTHD_ERR_CHALLENGE, "bad SCRAM salt");
	if (!scram_parse_iterations(iter, iter_len, &iterations))
		return client_err(cl, AUTHD_ERR_CHALLENGE, "SCRAM iteration "
				  "count not in 1..%d", SCRAM_ITER_MAX);

	/* c= is base64 of the GS2 header (no channel binding data). */
	if ((cbind = malloc(codec_b64_encoded_len(st->gs2.len) + 1)) == NULL) {
		code = client_nomem(cl);
		goto out;
	}
	codec_b64_encode((const unsigned char *)st->gs2.data, st->gs2.len,
			 cbind);
	buf_printf(&without_proof, "c=%s,r=", cbind);
	buf_append(&without_proof, nonce, nonce_len);
	if (!buf_ok(&without_proof) ||
	    !scram_auth_message(&auth_msg, st->first_bare.data,
				st->first_bare.len, in, len,
				without_proof.data, without_proof.len)) {
		code = client_nomem(cl);
		goto out;
	}
	/* RFC 5802 §3. */
	if (!scram_salted_password(st->h, st->prepped, strlen(st->prepped),
				   salt, (size_t)salt_len, iterations,
				   salted) ||
	    !scram_client_proof(st->h, salted, auth_msg.data, auth_msg.len,
				proof, st->server_sig)) {
		code = client_err(cl, AUTHD_ERROR, "OpenSSL failed to compute "
				  "the SCRAM keys");
		goto out;
	}
	if ((proof_b64 = malloc(codec_b64_encoded_len(key_len) + 1)) == NULL) {
		code = client_nomem(cl);
		goto out;
	}
	codec_b64_encode(proof, key_len, proof_b64);
	buf_append(&cl->resp, without_proof.data, without_proof.len);
	buf_append_str(&cl->resp, ",p=");
	buf_append_str(&cl->resp, proof_b64);
	st->stage = 1;
	/* Nothing needs the password any more. */
	scram_saslprep_free(st->prepped);
	st->prepped = NULL;
out:
	secret_wipe(salted, sizeof(salted));
	secret_wipe(proof, sizeof(proof));
	if (proof_b64 != NULL)
		util_free_str(proof_b64);
	free(cbind);
	buf_free(&without_proof);
	buf_free(&auth_msg);
	return code == AUTHD_OK ? AUTHD_CONTINUE : code;
}

/* verify_final - server-final-message = (server-error / verifier)
 * ["," extensions]  (RFC 5802 §7). */
static int
verify_final(struct authd_client *cl, const char *in, size_t len)
{
	struct scram_state *st = cl->state;
	unsigned char sig[(SCRAM_MSG_MAX + 3) / 4 * 3];
	const char *v;
	size_t pos = 0, vlen;
	long n;
	char name;

	if (!scram_attr(in, len, &pos, &name, &v, &vlen) ||
	    (name != 'v' && name != 'e'))
		return client_err(cl, AUTHD_ERR_CHALLENGE, "malformed SCRAM "
				  "server-final message");
	if (name == 'e')
		return server_error(cl, v, vlen);
	n = codec_b64_decode(v, vlen, sig);
	if (n != (long)scram_key_len(st->h))
		return client_err(cl, AUTHD_ERR_CHALLENGE, "malformed SCRAM "
				  "server signature");
	if (!secret_equal(sig, st->server_sig, scram_key_len(st->h)))
		return client_err(cl, AUTHD_ERR_VERIFY, "the server's SCRAM "
				  "signature is wrong: it does not know the "
				  "password");
	st->verified = true;
	st->stage = 2;
	return AUTHD_OK;
}

static int
scram_step(struct authd_client *cl, const unsigned char *in, size_t len)
{
	struct scram_state *st = cl->state;
	int code;

	if (len > SCRAM_MSG_MAX || memchr(in, '\0', len) != NULL)
		return client_err(cl, AUTHD_ERR_CHALLENGE, "SCRAM message too "
				  "long or with a NUL");
	if (cl->sent == 0) {
		/* No initial response was sent: the server's first challenge
		 * is empty, and client-first answers it. */
		if (len != 0)
			return client_err(cl, AUTHD_ERR_CHALLENGE, "expected an "
					  "empty first challenge");
		buf_append(&cl->resp, st->gs2.data, st->gs2.len);
		buf_append(&cl->resp, st->first_bare.data, st->first_bare.len);
		cl->sent = 1;
		return AUTHD_CONTINUE;
	}
	switch (st->stage) {
	case 0:
		return client_final(cl, (const char *)in, len);
	case 1:
		if ((code = verify_final(cl, (const char *)in, len)) != AUTHD_OK)
			return code;
		return AUTHD_CONTINUE;	/* an empty response */
	default:
		return client_err(cl, AUTHD_ERR_CHALLENGE, "unexpected challenge "
				  "after the server's signature");
	}
}

static int
scram_finish(struct authd_client *cl, const unsigned char *in, size_t len)
{
	struct scram_state *st = cl->state;
	int code;

	if (len > 0) {
		if (st->stage != 1)
			return client_err(cl, AUTHD_ERR_CHALLENGE, "unexpected "
					  "final data");
		if (len > SCRAM_MSG_MAX || memchr(in, '\0', len) != NULL)
			return client_err(cl, AUTHD_ERR_CHALLENGE, "malformed "
					  "SCRAM server-final message");
		if ((code = verify_final(cl, (const char *)in, len)) != AUTHD_OK)
			return code == AUTHD_FAIL ? AUTHD_ERR_VERIFY : code;
	}
	if (!st->verified)
		return client_err(cl, AUTHD_ERR_VERIFY, "the server reported "
				  "success without proving that it knows the "
				  "password (no v=)");
	return AUTHD_OK;
}

static void
scram_free(struct authd_client *cl)
{
	struct scram_state *st = cl->state;

	if (st == NULL)
		return;
	scram_saslprep_free(st->prepped);
	util_free_str(st->cnonce);
	buf_free(&st->gs2);
	buf_free(&st->first_bare);
	secret_free(st, sizeof(*st));
	cl->state = NULL;
}

const struct client_mech client_scram_sha1 = {
	"SCRAM-SHA-1", scram_start, scram_step, scram_finish, scram_free,
};

const struct client_mech client_scram_sha256 = {
	"SCRAM-SHA-256", scram_start, scram_step, scram_finish, scram_free,
};
