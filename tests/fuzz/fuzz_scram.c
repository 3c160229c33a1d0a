/*
 * fuzz_scram - the SCRAM client-first and client-final parsers of
 * proto/sasl/scram.c (untrusted: any SASL client).  Property: no crash,
 * no leak; the bare message of a client-first lies inside the input; a
 * refusal always has a reason.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scram.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scram_client_first cf;
	struct scram_client_final fin;
	const char *why = NULL;

	if (scram_parse_client_first((const char *)data, size, &cf, &why) ==
	    SCRAM_OK) {
		if (strlen(cf.gs2_header) + strlen(cf.bare) != size)
			abort();
		scram_client_first_free(&cf);
	} else if (why == NULL) {
		abort();
	}
	if (scram_parse_client_final((const char *)data, size, 32, &fin,
				     &why) == SCRAM_OK) {
		if (fin.without_proof_len >= size)
			abort();
		scram_client_final_free(&fin);
	}
	if (scram_parse_client_final((const char *)data, size, 20, &fin,
				     &why) == SCRAM_OK)
		scram_client_final_free(&fin);
	return 0;
}
