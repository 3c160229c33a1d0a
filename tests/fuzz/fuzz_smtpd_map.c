/*
 * fuzz_smtpd_map - authd-smtpd's access-map files and network words
 * (configuration text: untrusted, an admin's typo must be a message).
 * Properties: never crashes or leaks; a map that parses answers look-ups
 * of its own keys; a network that parses matches its own address.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "map.h"
#include "net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	char *err = NULL;
	struct map *m = map_parse(in, size, "fuzz", &err);
	struct net net;
	size_t first = 0;

	if (m == NULL) {
		if (err == NULL)
			abort();
		free(err);
	} else {
		struct net_addr a;

		(void)map_find(m, in, size < 64 ? size : 64);
		if (net_addr_parse(in, size < 64 ? size : 64, &a))
			(void)map_lookup_client(m, "x", &a);
		map_free(m);
	}
	while (first < size && first < 80 && in[first] != '\n')
		first++;
	if (net_parse(in, first, &net) == NULL && !net_match(&net, &net.addr))
		abort();
	return 0;
}
