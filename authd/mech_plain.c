/*
 * mech_plain - PLAIN (RFC 4616): [authzid] NUL authcid NUL passwd.
 */
#include <stdlib.h>
#include <string.h>

#include "mech.h"
#include "scheme.h"
#include "xalloc.h"

static void *
plain_new(const struct mech_ctx *ctx)
{
	(void)ctx;
	return xcalloc(1, 1);
}

static void
plain_free(void *state)
{
	free(state);
}

static enum mech_status
plain_step(void *state, const struct mech_ctx *ctx, const unsigned char *in,
	   size_t len, bool first, struct mech_out *out)
{
	const unsigned char *nul1, *nul2;
	size_t zlen, clen, plen;

	(void)state;
	(void)ctx;
	if (first && in == NULL)	/* no initial response: ask for it */
		return MECH_CONTINUE;
	nul1 = memchr(in, '\0', len);
	if (nul1 == NULL)
		return MECH_MALFORMED;
	nul2 = memchr(nul1 + 1, '\0', len - (size_t)(nul1 + 1 - in));
	if (nul2 == NULL)
		return MECH_MALFORMED;
	zlen = (size_t)(nul1 - in);
	clen = (size_t)(nul2 - nul1 - 1);
	plen = len - (size_t)(nul2 + 1 - in);
	/* RFC 4616 §2: no further NUL; lengths checked by the pipeline. */
	if (memchr(nul2 + 1, '\0', plen) != NULL || clen == 0 || plen == 0)
		return MECH_MALFORMED;
	out->login = xstrndup((const char *)nul1 + 1, clen);
	out->login_len = clen;
	out->password = xstrndup((const char *)nul2 + 1, plen);
	out->password_len = plen;
	if (zlen > 0) {
		out->authzid = xstrndup((const char *)in, zlen);
		out->authzid_len = zlen;
	}
	return MECH_PASSWORD;
}

const struct mech mech_plain = {
	"PLAIN", "plaintext", USERDB_V_CRYPT | USERDB_V_SCRAM_SHA256 |
	USERDB_V_SCRAM_SHA1 | USERDB_V_CRAM_MD5 | USERDB_V_DIGEST_MD5 |
	USERDB_V_CLEARTEXT, plain_new, plain_free, plain_step,
};
