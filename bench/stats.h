/*
 * stats.h - the timing helpers every bench program shares: a monotonic
 * clock in nanoseconds, and nearest-rank percentiles of sorted samples.
 * Header-only (static functions), so each program stays one file to build.
 */
#ifndef AUTHD_BENCH_STATS_H
#define AUTHD_BENCH_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* now_ns - CLOCK_MONOTONIC in nanoseconds. */
static inline uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* cmp_u64 - qsort order of uint64_t samples. */
static inline int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* pct - nearest-rank percentile p (0-100) of sorted nanosecond samples
 * v[n], in microseconds; 0 when there are none. */
static inline double
pct(const uint64_t *v, size_t n, double p)
{
	size_t rank = (size_t)((p / 100.0) * (double)n + 0.999999);

	if (n == 0)
		return 0;
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return (double)v[rank - 1] / 1000.0;
}

#endif
