/*
 * scram - SCRAM's hashes, SASLprep, key derivation, attributes and the
 * server's parsers.  See scram.h.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stringprep.h>

#include "codec.h"
#include "scram.h"
#include "secret.h"
#include "utf8.h"

/* bytes_dup - (p, n) as a NUL-terminated copy, or NULL when out of
 * memory.  Not strndup(): the input is a (pointer, length) slice of a
 * message that need not be NUL-terminated, and strndup may look for a
 * NUL past n. */
static char *
bytes_dup(const char *p, size_t n)
{
	char *out = malloc(n + 1);

	if (out != NULL) {
		memcpy(out, p, n);
		out[n] = '\0';
	}
	return out;
}

const EVP_MD *
scram_md(enum scram_hash h)
{
	return h == SCRAM_SHA1 ? EVP_sha1() : EVP_sha256();
}

size_t
scram_key_len(enum scram_hash h)
{
	return h == SCRAM_SHA1 ? 20 : 32;
}

const char *
scram_name(enum scram_hash h)
{
	return h == SCRAM_SHA1 ? "SCRAM-SHA-1" : "SCRAM-SHA-256";
}

enum scram_result
scram_saslprep(const char *pw, size_t len, char **out_r)
{
	char *in, *out = NULL;
	size_t i;
	int rc;

	*out_r = NULL;
	if (len == 0)
		return SCRAM_REFUSED;
	for (i = 0; i < len; i++)
		if ((unsigned char)pw[i] < 0x20 || (unsigned char)pw[i] > 0x7e)
			break;
	if ((in = malloc(len + 1)) == NULL)
		return SCRAM_NOMEM;
	memcpy(in, pw, len);
	in[len] = '\0';
	if (i == len) {
		/* Printable ASCII maps to itself (RFC 4013 §2). */
		*out_r = in;
		return SCRAM_OK;
	}
	if (memchr(pw, '\0', len) != NULL) {
		secret_free(in, len);
		return SCRAM_REFUSED;
	}
	/* RFC 5802 §2.2: a "stored string", so unassigned code points are
	 * refused (RFC 4013 §2.5 with RFC 3454 §7). */
	rc = stringprep_profile(in, &out, "SASLprep", STRINGPREP_NO_UNASSIGNED);
	secret_free(in, len);
	if (rc == STRINGPREP_MALLOC_ERROR)
		return SCRAM_NOMEM;
	if (rc != STRINGPREP_OK || out == NULL || out[0] == '\0') {
		scram_saslprep_free(out);
		return SCRAM_REFUSED;
	}
	*out_r = out;
	return SCRAM_OK;
}

void
scram_saslprep_free(char *prepped)
{
	secret_free_str(prepped);
}

/* hmac - HMAC(key, data) with the hash's key length. */
static bool
hmac(enum scram_hash h, const unsigned char *key, const void *data,
     size_t len, unsigned char *out)
{
	const EVP_MD *md = scram_md(h);
	size_t kl = scram_key_len(h);
	unsigned int n = 0;

	if (md == NULL ||
	    HMAC(md, key, (int)kl, data, len, out, &n) == NULL || n != kl) {
		secret_wipe(out, kl);
		return false;
	}
	return true;
}

/* hash - H(key), as StoredKey := H(ClientKey). */
static bool
hash(enum scram_hash h, const unsigned char *in, unsigned char *out)
{
	const EVP_MD *md = scram_md(h);
	size_t kl = scram_key_len(h);
	unsigned int n = 0;

	if (md == NULL || EVP_Digest(in, kl, out, &n, md, NULL) != 1 ||
	    n != kl) {
		secret_wipe(out, kl);
		return false;
	}
	return true;
}

/* xor_signature - out := in XOR HMAC(stored_key, AuthMessage): the
 * ClientProof from the ClientKey, or the ClientKey from the proof. */
static bool
xor_signature(enum scram_hash h, const unsigned char *stored_key,
	      const char *auth_msg, size_t auth_msg_len,
	      const unsigned char *in, unsigned char *out)
{
	unsigned char sig[SCRAM_KEY_MAX];
	size_t i, kl = scram_key_len(h);
	bool ok = scram_signature(h, stored_key, auth_msg, auth_msg_len, sig);

	for (i = 0; ok && i < kl; i++)
		out[i] = in[i] ^ sig[i];
	secret_wipe(sig, sizeof(sig));
	return ok;
}

bool
scram_salted_password(enum scram_hash h, const char *prepped,
		      size_t prepped_len, const unsigned char *salt,
		      size_t salt_len, unsigned int iterations,
		      unsigned char *out)
{
	const EVP_MD *md = scram_md(h);
	size_t kl = scram_key_len(h);

	if (md == NULL || prepped_len > INT_MAX || salt_len > INT_MAX ||
	    iterations == 0 || iterations > INT_MAX ||
	    PKCS5_PBKDF2_HMAC(prepped, (int)prepped_len, salt, (int)salt_len,
			      (int)iterations, md, (int)kl, out) != 1) {
		secret_wipe(out, kl);
		return false;
	}
	return true;
}

/* derive - ClientKey, StoredKey and ServerKey from SaltedPassword. */
static bool
derive(enum scram_hash h, const unsigned char *salted,
       unsigned char *client_key, unsigned char *stored_key,
       unsigned char *server_key)
{
	return hmac(h, salted, "Client Key", 10, client_key) &&
	       hash(h, client_key, stored_key) &&
	       hmac(h, salted, "Server Key", 10, server_key);
}

bool
scram_keys(enum scram_hash h, const unsigned char *salted,
	   unsigned char *stored_key, unsigned char *server_key)
{
	unsigned char client_key[SCRAM_KEY_MAX];
	size_t kl = scram_key_len(h);
	bool ok = derive(h, salted, client_key, stored_key, server_key);

	secret_wipe(client_key, sizeof(client_key));
	if (!ok) {
		secret_wipe(stored_key, kl);
		secret_wipe(server_key, kl);
	}
	return ok;
}

bool
scram_auth_message(struct buf *out, const char *client_first_bare,
		   size_t client_first_bare_len, const char *server_first,
		   size_t server_first_len, const char *final_no_proof,
		   size_t final_no_proof_len)
{
	buf_append(out, client_first_bare, client_first_bare_len);
	buf_append_c(out, ',');
	buf_append(out, server_first, server_first_len);
	buf_append_c(out, ',');
	buf_append(out, final_no_proof, final_no_proof_len);
	return buf_ok(out);
}

bool
scram_signature(enum scram_hash h, const unsigned char *key,
		const char *auth_msg, size_t auth_msg_len, unsigned char *out)
{
	return hmac(h, key, auth_msg, auth_msg_len, out);
}

bool
scram_client_proof(enum scram_hash h, const unsigned char *salted,
		   const char *auth_msg, size_t auth_msg_len,
		   unsigned char *proof, unsigned char *server_sig)
{
	unsigned char client_key[SCRAM_KEY_MAX], stored_key[SCRAM_KEY_MAX],
		      server_key[SCRAM_KEY_MAX];
	size_t kl = scram_key_len(h);
	bool ok;

	ok = derive(h, salted, client_key, stored_key, server_key) &&
	     xor_signature(h, stored_key, auth_msg, auth_msg_len, client_key,
			   proof) &&
	     scram_signature(h, server_key, auth_msg, auth_msg_len,
			     server_sig);
	secret_wipe(client_key, sizeof(client_key));
	secret_wipe(stored_key, sizeof(stored_key));
	secret_wipe(server_key, sizeof(server_key));
	if (!ok) {
		secret_wipe(proof, kl);
		secret_wipe(server_sig, kl);
	}
	return ok;
}

int
scram_proof_check(enum scram_hash h, const unsigned char *stored_key,
		  const char *auth_msg, size_t auth_msg_len,
		  const unsigned char *proof)
{
	unsigned char client_key[SCRAM_KEY_MAX], computed[SCRAM_KEY_MAX];
	int result = -1;

	if (xor_signature(h, stored_key, auth_msg, auth_msg_len, proof,
			  client_key) &&
	    hash(h, client_key, computed))
		result = secret_equal(computed, stored_key, scram_key_len(h));
	secret_wipe(client_key, sizeof(client_key));
	secret_wipe(computed, sizeof(computed));
	return result;
}

bool
scram_escape_name(struct buf *out, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (name[i] == ',')
			buf_append_str(out, "=2C");
		else if (name[i] == '=')
			buf_append_str(out, "=3D");
		else
			buf_append_c(out, name[i]);
	}
	return buf_ok(out);
}

enum scram_result
scram_unescape_name(const char *s, size_t n, char **out_r)
{
	char *out;
	size_t i, o = 0;

	if ((*out_r = out = malloc(n + 1)) == NULL)
		return SCRAM_NOMEM;
	for (i = 0; i < n; i++) {
		if (s[i] == ',' || s[i] == '\0')
			goto bad;
		if (s[i] != '=') {
			out[o++] = s[i];
			continue;
		}
		if (n - i < 3)
			goto bad;
		if (s[i + 1] == '2' && s[i + 2] == 'C')
			out[o++] = ',';
		else if (s[i + 1] == '3' && s[i + 2] == 'D')
			out[o++] = '=';
		else
			goto bad;
		i += 2;
	}
	out[o] = '\0';
	if (o > 0)
		return SCRAM_OK;
bad:
	free(out);
	*out_r = NULL;
	return SCRAM_REFUSED;
}

/* field - the next comma-separated field of (in, len) from *pos: its
 * start and its length in *n, and *pos moves past the comma.  NULL once
 * *pos is past the end; at the end itself, an empty field. */
static const char *
field(const char *in, size_t len, size_t *pos, size_t *n)
{
	const char *start = in + *pos, *comma;

	if (*pos > len)
		return NULL;
	comma = memchr(start, ',', len - *pos);
	*n = comma != NULL ? (size_t)(comma - start) : len - *pos;
	*pos += *n + 1;
	return start;
}

bool
scram_attr(const char *in, size_t len, size_t *pos, char *name_r,
	   const char **value_r, size_t *value_len_r)
{
	const char *f;
	size_t n;

	if (*pos >= len || (f = field(in, len, pos, &n)) == NULL)
		return false;
	/* RFC 5802 §7: attr-val = ALPHA "=" value */
	if (n < 2 || f[1] != '=' ||
	    !((f[0] >= 'a' && f[0] <= 'z') || (f[0] >= 'A' && f[0] <= 'Z')))
		return false;
	*name_r = f[0];
	*value_r = f + 2;
	*value_len_r = n - 2;
	return true;
}

bool
scram_nonce_ok(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == ',')
			return false;
	return n > 0;
}

bool
scram_parse_iterations(const char *v, size_t n, unsigned int *out)
{
	unsigned long x = 0;
	size_t i;

	/* Nine digits cannot overflow; SCRAM_ITER_MAX has eight. */
	if (n == 0 || n > 9 || v[0] == '0')
		return false;
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		x = x * 10 + (unsigned long)(v[i] - '0');
	}
	if (x > SCRAM_ITER_MAX)
		return false;
	*out = (unsigned int)x;
	return true;
}

/* extensions_ok - whether what follows the nonce, from pos on (past its
 * ','; len + 1 when the nonce ended the input), is empty or extensions.
 * RFC 5802 §7: nonce ["," extensions], extensions = attr-val *(","
 * attr-val), attr-val = ALPHA "=" value, value = 1*value-char (UTF-8, no
 * NUL, no ',').  Junk there ("r=abc,junk", a trailing ',', "r=abc,,")
 * is a client that does not speak SCRAM as the server reads it: refused,
 * not skipped. */
static bool
extensions_ok(const char *in, size_t len, size_t pos)
{
	const char *v;
	size_t vlen;
	char name;

	while (pos <= len)
		if (!scram_attr(in, len, &pos, &name, &v, &vlen) || vlen == 0 ||
		    !utf8_valid((const unsigned char *)v, vlen))
			return false;
	return true;
}

/* failed - r, with why (or "out of memory") in *error_r. */
static enum scram_result
failed(enum scram_result r, const char *why, const char **error_r)
{
	*error_r = r == SCRAM_NOMEM ? "out of memory" : why;
	return r;
}

/* parse_client_first - scram_parse_client_first but for the release of
 * what cf holds on failure. */
static enum scram_result
parse_client_first(const char *in, size_t len, struct scram_client_first *cf,
		   const char **error_r)
{
	static const char bad_bare[] = "bad client-first-message-bare";
	size_t pos = 0, n, vlen, bare_start;
	const char *f, *v;
	enum scram_result r;
	char name;

	if (len == 0 || len > SCRAM_MSG_MAX || memchr(in, '\0', len) != NULL)
		return failed(SCRAM_REFUSED, "bad length or NUL", error_r);
	/* gs2-cbind-flag = ("p=" cb-name) / "n" / "y" */
	f = field(in, len, &pos, &n);
	if (f == NULL || pos > len)
		return failed(SCRAM_REFUSED, "missing GS2 header", error_r);
	if (n == 1 && (f[0] == 'n' || f[0] == 'y'))
		cf->cbind = f[0];
	else if (n > 2 && f[0] == 'p' && f[1] == '=')
		cf->cbind = 'p';
	else
		return failed(SCRAM_REFUSED, "bad channel binding flag",
			      error_r);
	/* [ "a=" saslname ] */
	f = field(in, len, &pos, &n);
	if (f == NULL || pos > len)
		return failed(SCRAM_REFUSED, "missing second ',' of the GS2 "
			      "header", error_r);
	if (n > 0) {
		if (n < 3 || f[0] != 'a' || f[1] != '=')
			return failed(SCRAM_REFUSED, "bad authzid", error_r);
		if ((r = scram_unescape_name(f + 2, n - 2, &cf->authzid)) !=
		    SCRAM_OK)
			return failed(r, "bad authzid", error_r);
	}
	bare_start = pos;
	if ((cf->gs2_header = bytes_dup(in, bare_start)) == NULL)
		return failed(SCRAM_NOMEM, NULL, error_r);
	/* client-first-message-bare = [reserved-mext ","] username ","
	 * nonce ["," extensions]: "m=", a mandatory extension, is refused
	 * as not being the username. */
	if (!scram_attr(in, len, &pos, &name, &v, &vlen) || name != 'n')
		return failed(SCRAM_REFUSED, bad_bare, error_r);
	if ((r = scram_unescape_name(v, vlen, &cf->user)) != SCRAM_OK)
		return failed(r, bad_bare, error_r);
	if (!scram_attr(in, len, &pos, &name, &v, &vlen) || name != 'r' ||
	    !scram_nonce_ok(v, vlen))
		return failed(SCRAM_REFUSED, bad_bare, error_r);
	/* Well-formed extensions after the nonce are ignored. */
	if (!extensions_ok(in, len, pos))
		return failed(SCRAM_REFUSED, "bad extension after the nonce",
			      error_r);
	if ((cf->nonce = bytes_dup(v, vlen)) == NULL ||
	    (cf->bare = bytes_dup(in + bare_start, len - bare_start)) == NULL)
		return failed(SCRAM_NOMEM, NULL, error_r);
	return SCRAM_OK;
}

enum scram_result
scram_parse_client_first(const char *in, size_t len,
			 struct scram_client_first *cf, const char **error_r)
{
	enum scram_result r;

	memset(cf, 0, sizeof(*cf));
	if ((r = parse_client_first(in, len, cf, error_r)) != SCRAM_OK)
		scram_client_first_free(cf);
	return r;
}

void
scram_client_first_free(struct scram_client_first *cf)
{
	free(cf->gs2_header);
	free(cf->authzid);
	free(cf->user);
	free(cf->nonce);
	free(cf->bare);
	memset(cf, 0, sizeof(*cf));
}

enum scram_result
scram_parse_client_final(const char *in, size_t len, size_t key_len,
			 struct scram_client_final *cf, const char **error_r)
{
	unsigned char proof[((SCRAM_MSG_MAX + 3) / 4) * 3];
	size_t pos = 0, vlen, i;
	const char *v;
	long dn;
	char name;

	memset(cf, 0, sizeof(*cf));
	if (len == 0 || len > SCRAM_MSG_MAX || memchr(in, '\0', len) != NULL)
		return failed(SCRAM_REFUSED, "bad length or NUL", error_r);
	/* client-final-message = client-final-message-without-proof ","
	 * proof: the proof is the last attribute. */
	for (i = len; i > 0 && in[i - 1] != ','; i--)
		;
	if (i == 0 || len - i < 3 || in[i] != 'p' || in[i + 1] != '=')
		return failed(SCRAM_REFUSED, "proof missing or not last",
			      error_r);
	cf->without_proof_len = i - 1;
	dn = codec_b64_decode(in + i + 2, len - i - 2, proof);
	if (dn < 0 || (size_t)dn != key_len || key_len > sizeof(cf->proof))
		return failed(SCRAM_REFUSED, "bad proof", error_r);
	memcpy(cf->proof, proof, key_len);
	/* channel-binding = "c=" base64 */
	if (!scram_attr(in, cf->without_proof_len, &pos, &name, &v, &vlen) ||
	    name != 'c' || vlen / 4 * 3 > sizeof(cf->cbind) ||
	    (dn = codec_b64_decode(v, vlen, cf->cbind)) < 0)
		return failed(SCRAM_REFUSED, "bad channel binding attribute",
			      error_r);
	cf->cbind_len = (size_t)dn;
	/* nonce = "r=" c-nonce [s-nonce]; extensions may follow. */
	if (!scram_attr(in, cf->without_proof_len, &pos, &name, &v, &vlen) ||
	    name != 'r' || !scram_nonce_ok(v, vlen))
		return failed(SCRAM_REFUSED, "bad nonce", error_r);
	if (!extensions_ok(in, cf->without_proof_len, pos))
		return failed(SCRAM_REFUSED, "bad extension after the nonce",
			      error_r);
	if ((cf->nonce = bytes_dup(v, vlen)) == NULL)
		return failed(SCRAM_NOMEM, NULL, error_r);
	return SCRAM_OK;
}

void
scram_client_final_free(struct scram_client_final *cf)
{
	free(cf->nonce);
	memset(cf, 0, sizeof(*cf));
}
