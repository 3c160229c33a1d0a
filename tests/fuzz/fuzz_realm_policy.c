/*
 * fuzz_realm_policy - the auth_realm_mechanisms value (configuration text:
 * untrusted).  Property: never crashes or leaks; a success yields masks
 * within the allowed names and lower-case realms, a failure a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "SCRAM-SHA-256", "SCRAM-SHA-1",
		"DIGEST-MD5", "CRAM-MD5", "PLAIN", "LOGIN" };
	struct realm_policy *v = NULL;
	char *text = malloc(size + 1);
	const char *why;
	size_t n = 0, i, k;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	/* allowed: every name but LOGIN, so that refusal is reached too */
	why = policy_realm_parse(text, names, 6, 0x1f, &v, &n);
	if (why == NULL) {
		for (i = 0; i < n; i++) {
			if ((v[i].mask & ~0x1fu) != 0)
				abort();
			for (k = 0; v[i].realm[k] != '\0'; k++)
				if (v[i].realm[k] >= 'A' && v[i].realm[k] <= 'Z')
					abort();
		}
	} else if (why[0] == '\0') {
		abort();
	}
	free(v);
	free(text);
	return 0;
}
