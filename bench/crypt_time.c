/*
 * crypt-time - the time of one password check with a crypt(3) verifier,
 * as authd's hash workers pay it (libxcrypt crypt_rn, the call behind
 * userdb_verify for {CRYPT} verifiers).
 *
 * usage: crypt-time HASH PASSWORD N
 *
 * HASH is a crypt string ("$y$...", "$6$rounds=...$...", with or without
 * a "{CRYPT}" prefix).  One untimed call first (it must match PASSWORD),
 * then N timed calls on one thread with CLOCK_MONOTONIC.  Prints mean,
 * min, p50 and max in milliseconds, as a human line and a JSON line
 * (prefixed "JSON ").  Exit 0, 1 if the password does not match, 2 on
 * usage errors.
 */
#include <crypt.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stats.h"

static int
check(struct crypt_data *cd, const char *pw, const char *hash)
{
	const char *h = crypt_rn(pw, hash, cd, sizeof(*cd));

	return h != NULL && h[0] != '*' && strcmp(h, hash) == 0;
}

int
main(int argc, char **argv)
{
	struct crypt_data *cd;
	const char *hash, *pw;
	uint64_t *t, total = 0;
	unsigned long n, i;
	char *end;

	if (argc != 4) {
		fputs("usage: crypt-time HASH PASSWORD N\n", stderr);
		return 2;
	}
	hash = argv[1];
	if (strncmp(hash, "{CRYPT}", 7) == 0)
		hash += 7;
	pw = argv[2];
	errno = 0;
	n = strtoul(argv[3], &end, 10);
	if (errno != 0 || *end != '\0' || n == 0 || n > 1000000) {
		fputs("crypt-time: N must be 1..1000000\n", stderr);
		return 2;
	}
	cd = calloc(1, sizeof(*cd));
	t = calloc(n, sizeof(*t));
	if (cd == NULL || t == NULL) {
		perror("crypt-time");
		return 2;
	}
	if (!check(cd, pw, hash)) {
		fputs("crypt-time: the password does not match the hash\n", stderr);
		return 1;
	}
	for (i = 0; i < n; i++) {
		uint64_t t0 = now_ns();

		if (!check(cd, pw, hash)) {
			fputs("crypt-time: check failed\n", stderr);
			return 1;
		}
		t[i] = now_ns() - t0;
		total += t[i];
	}
	qsort(t, n, sizeof(*t), cmp_u64);
	printf("crypt-time: %.*s...: %lu checks, mean %.3f ms, min %.3f ms, "
	       "p50 %.3f ms, max %.3f ms\n", 12, hash, n,
	       (double)total / (double)n / 1e6, (double)t[0] / 1e6,
	       (double)t[(n - 1) / 2] / 1e6, (double)t[n - 1] / 1e6);
	printf("JSON {\"bench\":\"crypt-time\",\"n\":%lu,\"mean_ms\":%.4f,"
	       "\"min_ms\":%.4f,\"p50_ms\":%.4f,\"max_ms\":%.4f}\n", n,
	       (double)total / (double)n / 1e6, (double)t[0] / 1e6,
	       (double)t[(n - 1) / 2] / 1e6, (double)t[n - 1] / 1e6);
	free(t);
	free(cd);
	return 0;
}
