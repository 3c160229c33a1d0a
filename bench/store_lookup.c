/*
 * store-lookup - lookup latency of the credential store, as authd sees it.
 *
 * usage: store-lookup STORE KEYFILE N
 *        store-lookup --follow STORE
 *
 * Reads KEYFILE (one stored key per line, "user@realm") into memory, opens
 * one reader with userdb_new() and does N lookups of keys drawn with a
 * fixed-seed PRNG; about 10% of them are keys that are not in the store.
 * Each userdb_lookup() is timed on its own with CLOCK_MONOTONIC; what is
 * timed is exactly what authd pays per login before the hash: the stat()
 * that follows commits, the GDBM fetch and the decoding of the record.
 * The one-time open of the file (first lookup) is reported apart.
 *
 * Prints one human line and one JSON line (prefixed "JSON ") on stdout.
 * Exit 0 on success, 1 if any lookup failed or gave the wrong answer,
 * 2 on usage errors.
 *
 * --follow: one long-lived reader held the way authd holds its own (pinned,
 * and told to recheck the store before each request, as authd does once
 * per wake-up of its loop).  Reads one key per line on stdin and answers
 * each, flushed, with "KEY found FINGERPRINT FLAGS US" or "KEY absent - -
 * US" (FINGERPRINT: the first 8 bytes of the record's in hex, which any
 * change of the record changes; US: that lookup's time), or "KEY error
 * REASON".  A script changes the store between two lines and so checks
 * that the next lookup sees the change, and what that lookup costs.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stats.h"
#include "userdb.h"

#define MISS_PERCENT	10
#define SEED		0x5eed2024cafef00dULL

struct query {
	const char *key;
	size_t len;
	bool present;
};

/* splitmix64 - small, fast, and the same sequence on every machine. */
static uint64_t
rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* read_keys - every non-empty line of path, without the newline. */
static char **
read_keys(const char *path, size_t *n_r)
{
	FILE *f = fopen(path, "re");
	char **keys = NULL, *line = NULL;
	size_t n = 0, cap = 0, lcap = 0;
	ssize_t len;

	if (f == NULL) {
		fprintf(stderr, "store-lookup: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	while ((len = getline(&line, &lcap, f)) >= 0) {
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			keys = realloc(keys, cap * sizeof(char *));
			if (keys == NULL) {
				perror("store-lookup");
				exit(2);
			}
		}
		if ((keys[n++] = strdup(line)) == NULL) {
			perror("store-lookup");
			exit(2);
		}
	}
	free(line);
	fclose(f);
	*n_r = n;
	return keys;
}

/* follow - the --follow mode (see the top of the file). */
static int
follow(const char *path)
{
	struct userdb_record rec;
	struct userdb *db = userdb_new(path);
	char *line = NULL;
	size_t lcap = 0;
	ssize_t len;
	const char *why;
	uint64_t t0, t1;
	int r;

	/* Not pinned, as authd's: every lookup follows the log. */
	while ((len = getline(&line, &lcap, stdin)) >= 0) {
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0)
			continue;
		t0 = now_ns();
		r = userdb_lookup(db, line, (size_t)len, &rec, &why);
		t1 = now_ns();
		if (r < 0) {
			printf("%s error %s\n", line, why);
		} else if (r == 0) {
			printf("%s absent - - %.1f\n", line,
			       (double)(t1 - t0) / 1000.0);
		} else {
			printf("%s found ", line);
			for (size_t i = 0; i < 8; i++)
				printf("%02x", rec.fingerprint[i]);
			printf(" %u %.1f\n", rec.flags,
			       (double)(t1 - t0) / 1000.0);
		}
		userdb_record_clear(&rec);
		fflush(stdout);
	}
	free(line);
	userdb_free(db);
	return 0;
}

int
main(int argc, char **argv)
{
	struct userdb_record rec;
	struct userdb *db;
	struct query *q;
	uint64_t *lat, seed = SEED, t0, t1, total = 0, open_ns;
	char **keys, **missing;
	const char *why;
	size_t nkeys, n, i, found = 0, absent = 0, wrong = 0;
	char *end;
	int r;

	if (argc == 3 && strcmp(argv[1], "--follow") == 0)
		return follow(argv[2]);
	if (argc != 4) {
		fputs("usage: store-lookup STORE KEYFILE N\n"
		      "       store-lookup --follow STORE\n", stderr);
		return 2;
	}
	errno = 0;
	n = (size_t)strtoull(argv[3], &end, 10);
	if (errno != 0 || *end != '\0' || n == 0) {
		fputs("store-lookup: N must be a positive number\n", stderr);
		return 2;
	}
	if ((keys = read_keys(argv[2], &nkeys)) == NULL)
		return 2;
	if (nkeys == 0) {
		fprintf(stderr, "store-lookup: %s: no keys\n", argv[2]);
		return 2;
	}

	/* Draw every query before timing anything.  A missing key is a real
	 * key with "nx" in front of the user: same realm, same length class,
	 * never in the store. */
	q = calloc(n, sizeof(*q));
	lat = calloc(n, sizeof(*lat));
	missing = calloc(n, sizeof(char *));
	if (q == NULL || lat == NULL || missing == NULL) {
		perror("store-lookup");
		return 2;
	}
	for (i = 0; i < n; i++) {
		const char *k = keys[rng_next(&seed) % nkeys];

		if (rng_next(&seed) % 100 < MISS_PERCENT) {
			size_t l = strlen(k) + 3;

			if ((missing[i] = malloc(l)) == NULL) {
				perror("store-lookup");
				return 2;
			}
			snprintf(missing[i], l, "nx%s", k);
			q[i].key = missing[i];
			q[i].present = false;
		} else {
			q[i].key = k;
			q[i].present = true;
		}
		q[i].len = strlen(q[i].key);
	}

	db = userdb_new(argv[1]);
	/* The first lookup opens the file: timed, reported apart. */
	t0 = now_ns();
	r = userdb_lookup(db, keys[0], strlen(keys[0]), &rec, &why);
	t1 = now_ns();
	open_ns = t1 - t0;
	userdb_record_clear(&rec);
	if (r != 1) {
		fprintf(stderr, "store-lookup: %s: %s\n", keys[0],
			r < 0 ? why : "first key not in the store");
		return 1;
	}

	for (i = 0; i < n; i++) {
		t0 = now_ns();
		r = userdb_lookup(db, q[i].key, q[i].len, &rec, &why);
		t1 = now_ns();
		lat[i] = t1 - t0;
		total += lat[i];
		if (r < 0) {
			fprintf(stderr, "store-lookup: %s: %s\n", q[i].key, why);
			return 1;
		}
		if (r == 1) {
			found++;
			/* Touch the decoded record, so nothing is skipped. */
			if (rec.have == 0)
				wrong++;
		} else {
			absent++;
		}
		if ((r == 1) != q[i].present)
			wrong++;
		userdb_record_clear(&rec);
	}
	userdb_free(db);

	qsort(lat, n, sizeof(*lat), cmp_u64);
	{
		double mean = (double)total / (double)n / 1000.0;
		double secs = (double)total / 1e9;
		double rate = secs > 0 ? (double)n / secs : 0;

		printf("lookups=%zu found=%zu missing=%zu wrong=%zu  "
		       "mean=%.2fus p50=%.2fus p90=%.2fus p99=%.2fus "
		       "p99.9=%.2fus max=%.2fus  %.0f lookups/s  "
		       "(first lookup incl. open: %.1fus)\n",
		       n, found, absent, wrong, mean, pct(lat, n, 50),
		       pct(lat, n, 90), pct(lat, n, 99), pct(lat, n, 99.9),
		       (double)lat[n - 1] / 1000.0, rate,
		       (double)open_ns / 1000.0);
		printf("JSON {\"bench\":\"store-lookup\",\"keys\":%zu,"
		       "\"lookups\":%zu,\"found\":%zu,\"missing\":%zu,"
		       "\"wrong\":%zu,\"mean_us\":%.3f,\"p50_us\":%.3f,"
		       "\"p90_us\":%.3f,\"p99_us\":%.3f,\"p999_us\":%.3f,"
		       "\"max_us\":%.3f,\"lookups_per_s\":%.0f,"
		       "\"open_us\":%.3f}\n",
		       nkeys, n, found, absent, wrong, mean, pct(lat, n, 50),
		       pct(lat, n, 90), pct(lat, n, 99), pct(lat, n, 99.9),
		       (double)lat[n - 1] / 1000.0, rate,
		       (double)open_ns / 1000.0);
	}

	for (i = 0; i < n; i++)
		free(missing[i]);
	for (i = 0; i < nkeys; i++)
		free(keys[i]);
	free(missing);
	free(keys);
	free(q);
	free(lat);
	return wrong == 0 ? 0 : 1;
}
