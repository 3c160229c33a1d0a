/*
 * fuzz_config - the authd.conf reader (untrusted: admin-written files).
 * Property: never crashes; a failure always carries a message.
 */
#include <stdint.h>
#include <stdlib.h>

#include "config.h"
#include "conf_keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg = conf_keys_new();
	char *error = NULL;

	if (!config_parse(cfg, (const char *)data, size, "fuzz.conf", &error) &&
	    error == NULL)
		abort();
	free(error);
	config_free(cfg);
	return 0;
}
