/*
 * fuzz_digest_md5 - the DIGEST-MD5 digest-response parser (untrusted: any
 * SASL client).  Property: no crash, no leak; a success has every
 * required directive.
 */
#include <stdint.h>
#include <stdlib.h>

#include "digest_md5.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct digest_resp r;

	if (digest_resp_parse((const char *)data, size, &r) == NULL) {
		if (r.username == NULL || r.nonce == NULL || r.response == NULL)
			abort();
		digest_resp_free(&r);
	}
	return 0;
}
