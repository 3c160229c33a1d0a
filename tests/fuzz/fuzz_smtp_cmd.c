/*
 * fuzz_smtp_cmd - SMTP command lines from any client on the Internet:
 * the line framing, the command splitter and the MAIL/RCPT path parser.
 * Properties: never reads past the input; a line is inside the input and
 * a bare CR or LF is always reported; an accepted path's strings are
 * NUL-terminated within their bounds and its domain is lower case.  The
 * same bytes are also read as a next hop's replies: a reply that parses
 * lies inside the input and has a code in 200..599.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_addr(const struct smtp_addr *a)
{
	size_t i;

	if (a->local_len > SMTP_LOCAL_MAX || a->domain_len > SMTP_DOMAIN_MAX ||
	    strlen(a->local) != a->local_len ||
	    strlen(a->domain) != a->domain_len)
		abort();
	for (i = 0; i < a->domain_len; i++)
		if (a->domain[i] >= 'A' && a->domain[i] <= 'Z')
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	size_t off = 0, len, used;
	bool bare;

	while (smtp_line_next(in + off, size - off, &len, &used, &bare)) {
		struct smtp_cmd c;
		struct smtp_path p;
		bool param;

		if (used == 0 || off + used > size || len > used ||
		    (!bare && memchr(in + off, '\r', len) != NULL) ||
		    (!bare && (len + 2 != used || in[off + len] != '\r')))
			abort();
		if (smtp_cmd_parse(in + off, len, &c) == NULL) {
			if (c.arg < in + off || c.arg + c.arg_len > in + off + len)
				abort();
			if ((c.verb == SMTP_MAIL || c.verb == SMTP_RCPT) &&
			    smtp_path_parse(c.arg, c.arg_len, c.verb == SMTP_RCPT,
					    &p, &param) == NULL) {
				check_addr(&p.addr);
				if (strlen(p.auth) > SMTP_AUTH_PARAM_MAX)
					abort();
			}
			if (c.verb == SMTP_EHLO)
				(void)smtp_domain_ok(c.arg, c.arg_len);
		}
		off += used;
	}
	{
		struct smtp_reply r;
		size_t rused = 0;

		off = 0;
		while (off < size &&
		       smtp_reply_parse(in + off, size - off, &r, &rused) ==
		       SMTP_REPLY_DONE) {
			if (rused == 0 || rused > size - off || r.code < 200 ||
			    r.code > 599 || r.text_len >= SMTP_REPLY_TEXT_MAX ||
			    strlen(r.text) > r.text_len)
				abort();
			(void)smtp_reply_ext(&r, "AUTH", NULL, NULL);
			off += rused;
		}
	}
	return 0;
}
