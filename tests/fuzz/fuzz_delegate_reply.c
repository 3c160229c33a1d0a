/*
 * fuzz_delegate_reply - a policy server's replies as authd-smtpd's
 * delegation client reads them (untrusted: the server may be anyone's,
 * or broken): the framing, then each action.
 * Properties: never crashes or leaks; a reply consumes at least its
 * empty line and no more than it was given; an action that parses has
 * a NUL-terminated text and header without control bytes, and a
 * refusal has a 4xx or 5xx code whose class its status shares.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "delegate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
no_controls(const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	if (n == max)
		abort();
	for (; *s != '\0'; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			abort();
}

static void
check_action(const char *s, size_t n)
{
	struct delegate_action a;
	const char *why;
	char out[400];

	switch (delegate_action_parse(s, n, &a, &why)) {
	case DELEGATE_ACTION_BAD:
		if (why == NULL)
			abort();
		return;
	case DELEGATE_ACTION_WARN:
		if (why == NULL)
			abort();
		break;
	case DELEGATE_ACTION_OK:
		if (why != NULL)
			abort();
		break;
	}
	no_controls(a.text, sizeof(a.text));
	no_controls(a.prepend, sizeof(a.prepend));
	no_controls(a.dsn, sizeof(a.dsn));
	if (a.verdict == DELEGATE_REJECT ||
	    a.verdict == DELEGATE_DEFER_IF_PERMIT ||
	    a.verdict == DELEGATE_DEFER_IF_REJECT) {
		if (a.code < 400 || a.code > 599 ||
		    a.dsn[0] != (char)('0' + a.code / 100) || a.text[0] == '\0')
			abort();
		delegate_reply_text(&a, "x@y", "Recipient address", out,
				    sizeof(out));
		no_controls(out, sizeof(out));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *act;
	size_t used, alen;

	/* The whole input as one action value, too. */
	check_action(p, size);
	for (;;) {
		switch (delegate_reply_parse(p, size, &used, &act, &alen)) {
		case DELEGATE_REPLY_MORE:
		case DELEGATE_REPLY_BAD:
			return 0;
		case DELEGATE_REPLY_DONE:
			if (used == 0 || used > size)
				abort();
			if (act != NULL) {
				if (act < p || act + alen > p + used)
					abort();
				check_action(act, alen);
			}
			p += used;
			size -= used;
			break;
		}
	}
}
