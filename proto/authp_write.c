/*
 * authp_write - the auth-client protocol's encoders.  Kept apart from the
 * parsers in authp.c because they build on struct buf, whose allocation
 * failure exits: the daemon uses them, libauthd (which must never exit)
 * links only authp.c.
 */
#include <string.h>

#include "authp.h"

void
authp_escape(struct buf *out, const char *s, size_t n)
{
	size_t i, start = 0;

	for (i = 0; i < n; i++) {
		char e;

		switch (s[i]) {
		case '\001': e = '1'; break;
		case '\t': e = 't'; break;
		case '\r': e = 'r'; break;
		case '\n': e = 'n'; break;
		case '\0': e = '0'; break;
		default: continue;
		}
		buf_append(out, s + start, i - start);
		buf_append_c(out, '\001');
		buf_append_c(out, e);
		start = i + 1;
	}
	buf_append(out, s + start, n - start);
}

void
authp_put_cont(struct buf *out, uint32_t id, const char *b64)
{
	buf_printf(out, "CONT\t%u\t%s\n", id, b64);
}

void
authp_put_ok(struct buf *out, uint32_t id, const char *user,
	     const char *original_user)
{
	buf_printf(out, "OK\t%u\tuser=", id);
	authp_escape(out, user, strlen(user));
	if (original_user != NULL && strcmp(original_user, user) != 0) {
		buf_append_str(out, "\toriginal_user=");
		authp_escape(out, original_user, strlen(original_user));
	}
	buf_append_c(out, '\n');
}

void
authp_put_fail(struct buf *out, uint32_t id, const char *user,
	       const char *code, const char *reason)
{
	buf_printf(out, "FAIL\t%u", id);
	if (user != NULL) {
		buf_append_str(out, "\tuser=");
		authp_escape(out, user, strlen(user));
	}
	if (code != NULL)
		buf_printf(out, "\tcode=%s", code);
	if (reason != NULL) {
		buf_append_str(out, "\treason=");
		authp_escape(out, reason, strlen(reason));
	}
	buf_append_c(out, '\n');
}
