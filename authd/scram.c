/*
 * scram - SCRAM client message parsers.  See scram.h.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "scram.h"
#include "xalloc.h"

#define SCRAM_MSG_MAX	4096

char *
scram_unescape_name(const char *s, size_t n)
{
	char *out = xmalloc(n + 1);
	size_t i, o = 0;

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
	if (o == 0)
		goto bad;
	return out;
bad:
	free(out);
	return NULL;
}

/* field - the next comma-separated attribute starting at *pos: returns
 * its start and length and moves *pos past the comma. */
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

static bool
printable_nonce(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == ',')
			return false;
	return true;
}

const char *
scram_parse_client_first(const char *in, size_t len,
			 struct scram_client_first *cf)
{
	size_t pos = 0, n, bare_start;
	const char *f;

	memset(cf, 0, sizeof(*cf));
	if (len == 0 || len > SCRAM_MSG_MAX || memchr(in, '\0', len) != NULL)
		return "bad length or NUL";
	/* gs2-cbind-flag */
	f = field(in, len, &pos, &n);
	if (f == NULL || pos > len)
		return "missing GS2 header";
	if (n == 1 && (f[0] == 'n' || f[0] == 'y'))
		cf->cbind = f[0];
	else if (n > 2 && f[0] == 'p' && f[1] == '=')
		cf->cbind = 'p';
	else
		return "bad channel binding flag";
	/* [ "a=" saslname ] */
	f = field(in, len, &pos, &n);
	if (f == NULL || pos > len)
		return "missing second ',' of the GS2 header";
	if (n > 0) {
		if (n < 3 || f[0] != 'a' || f[1] != '=' ||
		    (cf->authzid = scram_unescape_name(f + 2, n - 2)) == NULL)
			return "bad authzid";
	}
	bare_start = pos;
	cf->gs2_header = xstrndup(in, bare_start);
	/* client-first-message-bare: [reserved-mext ","] username "," nonce */
	f = field(in, len, &pos, &n);
	if (f == NULL || n < 3 || f[0] != 'n' || f[1] != '=')
		goto bad;	/* also refuses "m=": mandatory extension */
	if ((cf->user = scram_unescape_name(f + 2, n - 2)) == NULL)
		goto bad;
	f = field(in, len, &pos, &n);
	if (f == NULL || n < 3 || f[0] != 'r' || f[1] != '=' ||
	    !printable_nonce(f + 2, n - 2))
		goto bad;
	cf->nonce = xstrndup(f + 2, n - 2);
	cf->bare = xstrndup(in + bare_start, len - bare_start);
	return NULL;	/* extensions after the nonce are ignored */
bad:
	scram_client_first_free(cf);
	return "bad client-first-message-bare";
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

const char *
scram_parse_client_final(const char *in, size_t len, size_t key_len,
			 struct scram_client_final *cf)
{
	unsigned char proof[((SCRAM_MSG_MAX + 3) / 4) * 3];
	size_t pos = 0, n, i;
	const char *f;
	long dn;

	memset(cf, 0, sizeof(*cf));
	if (len == 0 || len > SCRAM_MSG_MAX || memchr(in, '\0', len) != NULL)
		return "bad length or NUL";
	/* The proof is the last attribute. */
	for (i = len; i > 0 && in[i - 1] != ','; i--)
		;
	if (i == 0 || len - i < 3 || in[i] != 'p' || in[i + 1] != '=')
		return "proof missing or not last";
	cf->without_proof_len = i - 1;
	dn = codec_b64_decode(in + i + 2, len - i - 2, proof);
	if (dn < 0 || (size_t)dn != key_len)
		return "bad proof";
	memcpy(cf->proof, proof, key_len);
	/* c= */
	f = field(in, cf->without_proof_len, &pos, &n);
	if (f == NULL || n < 2 || f[0] != 'c' || f[1] != '=' ||
	    (n - 2) / 4 * 3 > sizeof(cf->cbind) ||
	    (dn = codec_b64_decode(f + 2, n - 2, cf->cbind)) < 0)
		return "bad channel binding attribute";
	cf->cbind_len = (size_t)dn;
	/* r= */
	f = field(in, cf->without_proof_len, &pos, &n);
	if (f == NULL || n < 3 || f[0] != 'r' || f[1] != '=' ||
	    !printable_nonce(f + 2, n - 2))
		return "bad nonce";
	cf->nonce = xstrndup(f + 2, n - 2);
	return NULL;
}

void
scram_client_final_free(struct scram_client_final *cf)
{
	free(cf->nonce);
	memset(cf, 0, sizeof(*cf));
}
