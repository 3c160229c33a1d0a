/*
 * mech_login - LOGIN (draft-murchison-sasl-login): the server prompts
 * "Username:" then "Password:", exactly (some clients match the text).
 * An initial response is the user name and skips the first prompt.
 */
#include <stdlib.h>
#include <string.h>

#include "mech.h"
#include "secret.h"
#include "xalloc.h"

struct login_state {
	char *user;
	size_t user_len;
};

static void *
login_new(const struct mech_ctx *ctx)
{
	(void)ctx;
	return xcalloc(1, sizeof(struct login_state));
}

static void
login_free(void *state)
{
	struct login_state *s = state;

	free(s->user);
	free(s);
}

static enum mech_status
login_step(void *state, const struct mech_ctx *ctx, const unsigned char *in,
	   size_t len, bool first, struct mech_out *out)
{
	struct login_state *s = state;

	(void)ctx;
	/* An empty initial response ("resp==") prompts too, as Dovecot
	 * does: there is no user name in it. */
	if (first && (in == NULL || len == 0)) {
		buf_append_str(&out->challenge, "Username:");
		return MECH_CONTINUE;
	}
	if (s->user == NULL) {
		if (len == 0 || memchr(in, '\0', len) != NULL)
			return MECH_MALFORMED;
		s->user = xstrndup((const char *)in, len);
		s->user_len = len;
		buf_append_str(&out->challenge, "Password:");
		return MECH_CONTINUE;
	}
	if (len == 0 || memchr(in, '\0', len) != NULL)
		return MECH_MALFORMED;
	out->login = s->user;
	out->login_len = s->user_len;
	s->user = NULL;
	out->password = xstrndup((const char *)in, len);
	out->password_len = len;
	return MECH_PASSWORD;
}

const struct mech mech_login = {
	"LOGIN", "plaintext", USERDB_V_CRYPT | USERDB_V_SCRAM_SHA256 |
	USERDB_V_SCRAM_SHA1 | USERDB_V_CRAM_MD5 | USERDB_V_DIGEST_MD5 |
	USERDB_V_CLEARTEXT, login_new, login_free, login_step,
};
