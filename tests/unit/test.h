/*
 * test - a minimal TAP producer for the unit tests.
 *
 * CHECK(cond, desc...) records one test point; the program exits non-zero
 * if any failed.  Table-driven tests loop over CHECK.
 */
#ifndef AUTHD_TEST_H
#define AUTHD_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_n, test_failed;

#define CHECK(cond, ...) do {						\
	int ok_ = (cond) ? 1 : 0;					\
	test_n++;							\
	if (!ok_)							\
		test_failed++;						\
	printf("%s %d - ", ok_ ? "ok" : "not ok", test_n);		\
	printf(__VA_ARGS__);						\
	printf("\n");							\
	if (!ok_)							\
		printf("# failed: %s at %s:%d\n", #cond, __FILE__, __LINE__); \
} while (0)

#define CHECK_STR(got, want, ...) do {					\
	const char *g_ = (got), *w_ = (want);				\
	CHECK(g_ != NULL && strcmp(g_, w_) == 0, __VA_ARGS__);		\
	if (g_ == NULL || strcmp(g_, w_) != 0)				\
		printf("#   got:  %s\n#   want: %s\n", g_ ? g_ : "(null)", w_); \
} while (0)

static inline int
test_done(void)
{
	printf("1..%d\n", test_n);
	return test_failed == 0 ? 0 : 1;
}

#endif
