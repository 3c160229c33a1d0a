/*
 * fuzz_digest_md5 - the DIGEST-MD5 digest-response parser and the directive
 * tokenizer under it (proto/sasl/digest_md5.c; untrusted: any SASL
 * client).  Property: no crash, no leak; a success has every required
 * directive.  The client's side of the same tokenizer is fuzzed through
 * libauthd by fuzz_client.c.
 */
#include <stdint.h>
#include <stdlib.h>

#include "digest_md5.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct digest_md5_response r;

	if (digest_md5_response_parse((const char *)data, size, &r) == NULL) {
		if (r.username == NULL || r.nonce == NULL || r.response == NULL)
			abort();
		digest_md5_response_free(&r);
	}
	return 0;
}
