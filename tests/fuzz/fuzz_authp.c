/*
 * fuzz_authp - the auth-client protocol line codec (untrusted: any client
 * of the auth socket, and the server's lines for libauthd).  Properties:
 * splitting and parsing never read past the line; an id that parses is
 * the canonical decimal of its value (so the answer carries it exactly as
 * the client wrote it); escaping round-trips.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line, *f[AUTHP_MAX_FIELDS];
	size_t lens[AUTHP_MAX_FIELDS];
	struct authp_auth a;
	struct buf b;
	uint32_t id;
	bool id_ok;
	int n;

	if (size > AUTHP_LINE_MAX)
		return 0;
	line = malloc(size + 1);
	memcpy(line, data, size);
	n = authp_split(line, size, f, lens, AUTHP_MAX_FIELDS);
	if (n >= 2 && authp_parse_id(f[1], &id)) {
		char canon[16];

		(void)snprintf(canon, sizeof(canon), "%u", id);
		if (id == 0 || strcmp(canon, f[1]) != 0)
			abort();
	}
	if (n > 0 && strcmp(f[0], "AUTH") == 0)
		(void)authp_parse_auth(f, lens, n, &a, &id_ok);
	free(line);

	/* escape then unescape gives the input back */
	buf_init(&b);
	authp_escape(&b, (const char *)data, size);
	if (memchr(b.data, '\t', b.len) || memchr(b.data, '\n', b.len) ||
	    authp_unescape(b.data, b.len) != (long)size ||
	    memcmp(b.data, data, size) != 0)
		abort();
	buf_free(&b);
	return 0;
}
