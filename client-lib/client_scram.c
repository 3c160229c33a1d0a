/*
 * client_scram - SCRAM-SHA-1 (RFC 5802) and SCRAM-SHA-256 (RFC 7677),
 * without channel binding (GS2 header "n,,", or "n,a=authzid,").
 *
 *   start: client-first  n,[a=authzid],n=user,r=cnonce
 *   step 1: server-first r=cnonce+snonce,s=salt,i=count -> client-final
 *   step 2: server-final v=signature (or e=error) -> checked; empty answer
 *   finish: v= carried by the server's success, if not seen in step 2
 *
 * The password is normalised with SASLprep (RFC 4013, libidn) as a stored
 * string (RFC 5802 §2.2), as authd's verifiers are.  Every key derived
 * from it is wiped once used; only the expected ServerSignature is kept.
 *
 * Untrusted input: server-first and server-final, parsed from (pointer,
 * length) with bounds; the iteration count is capped (SCRAM_MAX_ITER) so
 * that a hostile server cannot make the client spin for minutes.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stringprep.h>

#include "client.h"
#include "codec.h"
#include "secret.h"

#define SCRAM_MSG_MAX		4096
#define SCRAM_SALT_MAX		512
#define SCRAM_KEY_MAX		32
#define SCRAM_MAX_ITER		10000000	/* authd's own maximum */

struct scram_state {
	const EVP_MD *md;
	size_t key_len;
	char *prepped;			/* SASLprep(password) */
	char *cnonce;
	struct buf gs2;		/* "n,," or "n,a=...," */
	struct buf first_bare;		/* client-first-message-bare */
	unsigned char server_sig[SCRAM_KEY_MAX];
	int stage;			/* 0 sent first, 1 sent final, 2 done */
	bool verified;
};

/* saslprep - RFC 4013 of pw, allocated; NULL with *code_r.  Printable
 * ASCII is its own SASLprep form, so it skips the library. */
static char *
saslprep(const char *pw, int *code_r)
{
	char *out = NULL;
	size_t i;
	int rc;

	for (i = 0; pw[i] != '\0'; i++)
		if ((unsigned char)pw[i] < 0x20 || (unsigned char)pw[i] > 0x7e)
			break;
	if (pw[i] == '\0') {
		if ((out = util_strdup(pw)) == NULL)
			*code_r = AUTHD_ERR_NOMEM;
		return out;
	}
	/* RFC 5802 §2.2: a "stored string", so unassigned code points are
	 * refused, as authd refuses them when it stores a verifier. */
	rc = stringprep_profile(pw, &out, "SASLprep", STRINGPREP_NO_UNASSIGNED);
	if (rc == STRINGPREP_MALLOC_ERROR) {
		*code_r = AUTHD_ERR_NOMEM;
		return NULL;
	}
	if (rc != STRINGPREP_OK || out == NULL || out[0] == '\0') {
		if (out != NULL)
			util_free_str(out);
		*code_r = AUTHD_ERR_PASSWORD;
		return NULL;
	}
	return out;
}

/* put_saslname - RFC 5802 §5.1: ',' as =2C, '=' as =3D. */
static void
put_saslname(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == ',')
			buf_append_str(b, "=2C");
		else if (*s == '=')
			buf_append_str(b, "=3D");
		else
			buf_append_c(b, *s);
	}
}

static int
scram_start(struct authd_client *cl, bool use_initial, bool *has_resp_r)
{
	struct scram_state *st;
	int code = AUTHD_OK;
	bool sha1 = cl->mech == &client_scram_sha1;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return client_nomem(cl);
	cl->state = st;
	st->md = sha1 ? EVP_sha1() : EVP_sha256();
	st->key_len = sha1 ? 20 : 32;
	if ((st->prepped = saslprep(cl->password, &code)) == NULL)
		return code == AUTHD_ERR_NOMEM ? client_nomem(cl) :
		       client_err(cl, code, "SASLprep refuses the password "
				  "(not UTF-8, or prohibited or unassigned "
				  "characters)");
	if ((code = client_nonce(cl, &st->cnonce)) != AUTHD_OK)
		return code;
	buf_append_str(&st->gs2, "n,");
	if (cl->authzid != NULL) {
		buf_append_str(&st->gs2, "a=");
		put_saslname(&st->gs2, cl->authzid);
	}
	buf_append_c(&st->gs2, ',');
	buf_append_str(&st->first_bare, "n=");
	put_saslname(&st->first_bare, cl->authcid);
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

/* attr - the next attribute "x=value" of (in, len) from *pos: its letter
 * in *name_r, the value and its length; false at the end or for a
 * malformed attribute. */
static bool
attr(const char *in, size_t len, size_t *pos, char *name_r,
     const char **value_r, size_t *value_len_r)
{
	const char *start = in + *pos, *comma;
	size_t n;

	if (*pos >= len)
		return false;
	comma = memchr(start, ',', len - *pos);
	n = comma != NULL ? (size_t)(comma - start) : len - *pos;
	*pos += n + 1;
	if (n < 2 || start[1] != '=' ||
	    !((start[0] >= 'a' && start[0] <= 'z') ||
	      (start[0] >= 'A' && start[0] <= 'Z')))
		return false;
	*name_r = start[0];
	*value_r = start + 2;
	*value_len_r = n - 2;
	return true;
}

/* server_error - RFC 5802 §7 server-error = "e=" value. */
static int
server_error(struct authd_client *cl, const char *v, size_t n)
{
	return client_err(cl, AUTHD_FAIL, "the server refused: %.*s",
			  (int)(n > 100 ? 100 : n), v);
}

/* parse_uint - a decimal count in 1..SCRAM_MAX_ITER. */
static bool
parse_count(const char *v, size_t n, unsigned int *out)
{
	unsigned long x = 0;
	size_t i;

	if (n == 0 || n > 9 || v[0] == '0')
		return false;
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		x = x * 10 + (unsigned long)(v[i] - '0');
	}
	if (x > SCRAM_MAX_ITER)
		return false;
	*out = (unsigned int)x;
	return true;
}

static bool
printable_nonce(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == ',')
			return false;
	return n > 0;
}

/* client_final - from server-first (in, len), which has been checked to
 * hold no NUL. */
static int
client_final(struct authd_client *cl, const char *in, size_t len)
{
	struct scram_state *st = cl->state;
	unsigned char salt[SCRAM_SALT_MAX], salted[SCRAM_KEY_MAX],
		      client_key[SCRAM_KEY_MAX], stored_key[SCRAM_KEY_MAX],
		      client_sig[SCRAM_KEY_MAX], server_key[SCRAM_KEY_MAX],
		      proof[SCRAM_KEY_MAX];
	const char *nonce = NULL, *salt_b64 = NULL, *iter = NULL, *v;
	size_t pos = 0, nonce_len = 0, salt_b64_len = 0, iter_len = 0, vlen,
	       cnonce_len = strlen(st->cnonce), i;
	struct buf without_proof = BUF_INIT, auth_msg = BUF_INIT;
	unsigned int iterations = 0, n;
	long salt_len = -1;
	int code = AUTHD_OK;
	char name;
	char *cbind = NULL, *proof_b64 = NULL;

	/* server-first-message = [reserved-mext ","] nonce "," salt ","
	 * iteration-count ["," extensions]  (RFC 5802 §7) */
	while (attr(in, len, &pos, &name, &v, &vlen)) {
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
	    !printable_nonce(nonce, nonce_len))
		return client_err(cl, AUTHD_ERR_CHALLENGE, "the server's nonce "
				  "does not extend the client's");
	if (salt_b64_len == 0 || salt_b64_len / 4 * 3 > sizeof(salt) ||
	    (salt_len = codec_b64_decode(salt_b64, salt_b64_len, salt)) <= 0)
		return client_err(cl, AUTHD_ERR_CHALLENGE, "bad SCRAM salt");
	if (!parse_count(iter, iter_len, &iterations))
		return client_err(cl, AUTHD_ERR_CHALLENGE, "SCRAM iteration "
				  "count not in 1..%d", SCRAM_MAX_ITER);

	/* c= is base64 of the GS2 header (no channel binding data). */
	if ((cbind = malloc(codec_b64_encoded_len(st->gs2.len) + 1)) == NULL) {
		code = client_nomem(cl);
		goto out;
	}
	codec_b64_encode((const unsigned char *)st->gs2.data, st->gs2.len,
			 cbind);
	buf_printf(&without_proof, "c=%s,r=", cbind);
	buf_append(&without_proof, nonce, nonce_len);
	buf_append(&auth_msg, st->first_bare.data, st->first_bare.len);
	buf_append_c(&auth_msg, ',');
	buf_append(&auth_msg, in, len);
	buf_append_c(&auth_msg, ',');
	buf_append(&auth_msg, without_proof.data, without_proof.len);
	if (!buf_ok(&without_proof) || !buf_ok(&auth_msg)) {
		code = client_nomem(cl);
		goto out;
	}
	/* RFC 5802 §3. */
	if (PKCS5_PBKDF2_HMAC(st->prepped, (int)strlen(st->prepped), salt,
			      (int)salt_len, (int)iterations, st->md,
			      (int)st->key_len, salted) != 1 ||
	    HMAC(st->md, salted, (int)st->key_len,
		 (const unsigned char *)"Client Key", 10, client_key, &n) == NULL ||
	    EVP_Digest(client_key, st->key_len, stored_key, NULL, st->md,
		       NULL) != 1 ||
	    HMAC(st->md, stored_key, (int)st->key_len,
		 (const unsigned char *)auth_msg.data, auth_msg.len,
		 client_sig, &n) == NULL ||
	    HMAC(st->md, salted, (int)st->key_len,
		 (const unsigned char *)"Server Key", 10, server_key, &n) == NULL ||
	    HMAC(st->md, server_key, (int)st->key_len,
		 (const unsigned char *)auth_msg.data, auth_msg.len,
		 st->server_sig, &n) == NULL) {
		code = client_err(cl, AUTHD_ERROR, "OpenSSL failed to compute "
				  "the SCRAM keys");
		goto out;
	}
	for (i = 0; i < st->key_len; i++)
		proof[i] = client_key[i] ^ client_sig[i];
	if ((proof_b64 = malloc(codec_b64_encoded_len(st->key_len) + 1)) == NULL) {
		code = client_nomem(cl);
		goto out;
	}
	codec_b64_encode(proof, st->key_len, proof_b64);
	buf_append(&cl->resp, without_proof.data, without_proof.len);
	buf_append_str(&cl->resp, ",p=");
	buf_append_str(&cl->resp, proof_b64);
	st->stage = 1;
	/* Nothing needs the password any more. */
	util_free_str(st->prepped);
	st->prepped = NULL;
out:
	secret_wipe(salted, sizeof(salted));
	secret_wipe(client_key, sizeof(client_key));
	secret_wipe(stored_key, sizeof(stored_key));
	secret_wipe(client_sig, sizeof(client_sig));
	secret_wipe(server_key, sizeof(server_key));
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

	if (!attr(in, len, &pos, &name, &v, &vlen) ||
	    (name != 'v' && name != 'e'))
		return client_err(cl, AUTHD_ERR_CHALLENGE, "malformed SCRAM "
				  "server-final message");
	if (name == 'e')
		return server_error(cl, v, vlen);
	n = codec_b64_decode(v, vlen, sig);
	if (n != (long)st->key_len)
		return client_err(cl, AUTHD_ERR_CHALLENGE, "malformed SCRAM "
				  "server signature");
	if (CRYPTO_memcmp(sig, st->server_sig, st->key_len) != 0)
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
	if (st->prepped != NULL)
		util_free_str(st->prepped);
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
