/*
 * fuzz_smtp_addr - the mailbox parser on its own (addresses reach it from
 * MAIL, RCPT and, later, access maps).  Properties: never reads past the
 * input; an accepted address has bounded, NUL-terminated parts, a lower-
 * case domain, and is flagged routed whenever its local part holds '@',
 * '%' or '!'.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_addr a;
	size_t i;

	if (smtp_addr_parse((const char *)data, size, &a) != NULL)
		return 0;
	if (a.local_len > SMTP_LOCAL_MAX || a.domain_len > SMTP_DOMAIN_MAX ||
	    strlen(a.local) != a.local_len || strlen(a.domain) != a.domain_len ||
	    a.domain_len == 0)
		abort();
	for (i = 0; i < a.domain_len; i++)
		if (a.domain[i] >= 'A' && a.domain[i] <= 'Z')
			abort();
	if (strpbrk(a.local, "@%!") != NULL && !smtp_addr_routed(&a))
		abort();
	return 0;
}
