/*
 * test_throttle - the failure throttle (authd/throttle.h): the delay
 * doubles per failure from the base and stops at the cap; failures are
 * counted per user and per client address and the larger count wins; a
 * success clears the user's count but not the address's (one good login
 * behind a NAT must not wipe an attacker's record); a quiet window
 * forgets; a NULL or empty address counts nothing (lumping unknown
 * clients together would let one slow down all); users and addresses of
 * the same spelling are different counters; the table stays bounded
 * however many names fail.
 */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "test.h"
#include "throttle.h"

#define WINDOW	60000		/* ms */
#define T0	1000000		/* a "now" far from the empty marker 0 */

static void
test_delay(void)
{
	static const struct {
		unsigned int n;
		uint64_t base, max, want;
		const char *desc;
	} v[] = {
		{ 0, 1000, 5000, 0, "no failure: no delay" },
		{ 1, 1000, 5000, 1000, "first failure: the base" },
		{ 2, 1000, 5000, 2000, "second: doubled" },
		{ 3, 1000, 5000, 4000, "third: doubled again" },
		{ 4, 1000, 5000, 5000, "fourth: 8000 capped at 5000" },
		{ 16, 1000, 60000, 60000, "n=16: capped" },
		{ 17, 1000, 60000, 60000, "n=17: capped, no shift overflow" },
		{ 64, 1, 60000, 60000, "n=64: capped, no shift overflow" },
		{ 4294967295u, 200, 5000, 5000, "n=UINT_MAX: capped" },
		{ 16, 1, 1u << 20, 32768, "n=16 below the cap: 2^15" },
		{ 1, 1000, 500, 500, "a cap below the base wins" },
		{ 3, 0, 5000, 0, "base 0 (auth_failure_delay = 0): never" },
		{ 5, 200, 5000, 3200, "200ms base, fifth failure" },
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint64_t got = throttle_delay(v[i].n, v[i].base, v[i].max);

		CHECK(got == v[i].want, "throttle_delay(%u, %llu, %llu) = %llu: "
		      "%s (got %llu)", v[i].n, (unsigned long long)v[i].base,
		      (unsigned long long)v[i].max,
		      (unsigned long long)v[i].want, v[i].desc,
		      (unsigned long long)got);
	}
}

/* One call of a scenario: a failure (user, addr) expecting want, or a
 * success of user (want unused). */
struct step {
	char op;		/* 'f' failure, 's' success */
	const char *user, *addr;
	uint64_t at;		/* ms after T0 */
	unsigned int want;
	const char *desc;
};

static void
run_steps(const char *title, const struct step *v, size_t n)
{
	struct throttle *t = throttle_new(1024, WINDOW);
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t now = T0 + v[i].at;

		if (v[i].op == 's') {
			throttle_success(t, v[i].user, now);
			continue;
		}
		{
			unsigned int got = throttle_failure(t, v[i].user,
							    v[i].addr, now);

			CHECK(got == v[i].want, "%s: %s (got %u, want %u)", title,
			      v[i].desc, got, v[i].want);
		}
	}
	throttle_free(t);
}

#define RUN(title, v) run_steps(title, v, sizeof(v) / sizeof(v[0]))

static void
test_counts(void)
{
	static const struct step per_user[] = {
		{ 'f', "alice@example.org", NULL, 0, 1, "first failure counts 1" },
		{ 'f', "alice@example.org", NULL, 1, 2, "second counts 2" },
		{ 'f', "alice@example.org", NULL, 2, 3, "third counts 3" },
		{ 'f', "bob@example.org", NULL, 3, 1, "another user starts at 1" },
		{ 'f', "alice@example.org", NULL, 4, 4, "alice's count is hers" },
	};
	static const struct step per_addr[] = {
		{ 'f', "u1@example.org", "192.0.2.7", 0, 1, "u1 from .7: 1" },
		{ 'f', "u2@example.org", "192.0.2.7", 1, 2,
		  "u2 from .7: the address count (2) wins over u2's (1)" },
		{ 'f', "u3@example.org", "192.0.2.7", 2, 3,
		  "u3 from .7: address 3" },
		{ 'f', "u4@example.org", "192.0.2.8", 3, 1,
		  "another address starts at 1" },
		{ 'f', "u1@example.org", "192.0.2.9", 4, 2,
		  "u1 from a new address: the user count (2) wins" },
		{ 'f', "u1@example.org", "192.0.2.8", 5, 3,
		  "u1 from .8: user 3 beats address 2" },
	};
	static const struct step success[] = {
		{ 'f', "alice@example.org", "192.0.2.7", 0, 1, "alice fails: 1" },
		{ 'f', "alice@example.org", "192.0.2.7", 1, 2, "alice fails: 2" },
		{ 'f', "alice@example.org", "192.0.2.7", 2, 3, "alice fails: 3" },
		{ 's', "alice@example.org", NULL, 3, 0, NULL },
		{ 'f', "alice@example.org", NULL, 4, 1,
		  "after a success alice's own count restarts at 1" },
		{ 'f', "bob@example.org", "192.0.2.7", 5, 4,
		  "the success did not clear the address: bob from .7 gets 4" },
		{ 's', "carol@example.org", NULL, 6, 0, NULL },
		{ 'f', "alice@example.org", NULL, 7, 2,
		  "another user's success leaves alice's count" },
	};
	static const struct step window[] = {
		{ 'f', "alice@example.org", "192.0.2.7", 0, 1, "1 at t" },
		{ 'f', "alice@example.org", "192.0.2.7", WINDOW - 1, 2,
		  "2 just inside the window" },
		{ 'f', "alice@example.org", "192.0.2.7", 2 * WINDOW - 2, 3,
		  "the window runs from the last failure, not the first" },
		{ 'f', "alice@example.org", NULL, 3 * WINDOW - 2, 1,
		  "a whole quiet window later alice is forgotten" },
		{ 'f', "bob@example.org", "192.0.2.7", 3 * WINDOW - 1, 1,
		  "... and so is the address" },
	};
	static const struct step no_addr[] = {
		{ 'f', "a@example.org", NULL, 0, 1, "a, no address: 1" },
		{ 'f', "b@example.org", NULL, 1, 1,
		  "b, no address: 1 (NULL is not one shared address)" },
		{ 'f', "c@example.org", "", 2, 1, "c, empty address: 1" },
		{ 'f', "d@example.org", "", 3, 1,
		  "d, empty address: 1 (\"\" is not one shared address)" },
	};
	static const struct step kinds[] = {
		{ 'f', "192.0.2.7", NULL, 0, 1, "a user spelt like an address: 1" },
		{ 'f', "192.0.2.7", NULL, 1, 2, "... 2" },
		{ 'f', "192.0.2.7", NULL, 2, 3, "... 3" },
		{ 'f', "x@example.org", "192.0.2.7", 3, 1,
		  "the address 192.0.2.7 is another counter: 1" },
		{ 'f', "192.0.2.7", "198.51.100.1", 4, 4,
		  "and the user's count went on: 4" },
	};

	RUN("per user", per_user);
	RUN("per address", per_addr);
	RUN("success", success);
	RUN("quiet window", window);
	RUN("no address", no_addr);
	RUN("users and addresses", kinds);
}

/* test_bounded - a flood of distinct names (a dictionary attack on made-up
 * users) neither allocates nor keeps every name: the table is fixed. */
static void
test_bounded(void)
{
	struct throttle *t = throttle_new(64, WINDOW);
	struct mallinfo2 before, after;
	char name[64];
	unsigned int i, first, again;

	/* Warm up whatever OpenSSL allocates once for HMAC. */
	(void)throttle_failure(t, "warm-up", "192.0.2.1", T0);
	first = throttle_failure(t, "victim@example.org", NULL, T0 + 1);
	before = mallinfo2();
	for (i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "user%u@example.org", i);
		(void)throttle_failure(t, name, NULL, T0 + 2 + i);
	}
	after = mallinfo2();
	CHECK(after.uordblks <= before.uordblks,
	      "20000 distinct failing users allocate nothing (%zu -> %zu "
	      "bytes in use)", before.uordblks, after.uordblks);
	again = throttle_failure(t, "victim@example.org", NULL, T0 + 30000);
	CHECK(first == 1 && again == 1, "the table did not keep every name: "
	      "the first user was pushed out by the flood (counts %u, %u)",
	      first, again);
	snprintf(name, sizeof(name), "user%u@example.org", 19999u);
	CHECK(throttle_failure(t, name, NULL, T0 + 30001) == 2,
	      "the most recent name is still counted");
	throttle_free(t);
}

struct seen {
	char names[8][THROTTLE_NAME_MAX + 3];
	unsigned int counts[8];
	uint64_t left[8];
	size_t n;
};

static void
collect(void *arg, const struct throttle_penalty *p)
{
	struct seen *s = arg;

	if (s->n < 8) {
		snprintf(s->names[s->n], sizeof(s->names[0]), "%c %s", p->kind,
			 p->name);
		s->counts[s->n] = p->count;
		s->left[s->n] = p->remaining_ms;
	}
	s->n++;
}

static int
find(const struct seen *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->n && i < 8; i++)
		if (strcmp(s->names[i], name) == 0)
			return (int)i;
	return -1;
}

/* test_list_flush - what the control socket shows and forgets: each live
 * count with its name, kind, count and time left; a flush by name takes
 * the address and the user of that spelling, and nothing else; a flush
 * of all empties the table; a flushed name starts again from 1; a count
 * past its window is neither listed nor flushed. */
static void
test_list_flush(void)
{
	struct throttle *t = throttle_new(1024, WINDOW);
	struct seen s;
	size_t users, addrs;
	uint64_t started;
	int i;

	(void)throttle_failure(t, "bob@example.org", "192.0.2.7", T0);
	(void)throttle_failure(t, "carol@example.org", "192.0.2.7", T0 + 1000);
	(void)throttle_failure(t, "192.0.2.7", NULL, T0 + 1000);
	memset(&s, 0, sizeof(s));
	CHECK(throttle_list(t, T0 + 2000, collect, &s) == 4,
	      "four live counts listed (two users, an address, a user named "
	      "like the address)");
	i = find(&s, "a 192.0.2.7");
	CHECK(i >= 0 && s.counts[i] == 2 && s.left[i] == WINDOW - 1000,
	      "the address: 2 failures, forgotten 1 s after the window");
	i = find(&s, "u bob@example.org");
	CHECK(i >= 0 && s.counts[i] == 1 && s.left[i] == WINDOW - 2000,
	      "bob: 1 failure, %d ms left", WINDOW - 2000);
	throttle_counts(t, T0 + 2000, &users, &addrs, &started);
	CHECK(users == 3 && addrs == 1 && started == 4,
	      "counts: 3 users, 1 address, 4 started");
	CHECK(throttle_flush(t, "192.0.2.7", T0 + 2000) == 2,
	      "flush by name: the address and the user of that spelling");
	CHECK(throttle_list(t, T0 + 2000, NULL, NULL) == 2,
	      "bob and carol stay");
	CHECK(throttle_flush(t, "nobody@example.org", T0 + 2000) == 0,
	      "flush of a name without a count: 0");
	CHECK(throttle_failure(t, "dave@example.org", "192.0.2.7", T0 + 3000)
	      == 1, "the flushed address starts again from 1");
	CHECK(throttle_flush(t, NULL, T0 + 3000) == 4,
	      "flush all: bob, carol, dave, the address");
	CHECK(throttle_list(t, T0 + 3000, NULL, NULL) == 0, "nothing listed");
	(void)throttle_failure(t, "erin@example.org", NULL, T0);
	CHECK(throttle_list(t, T0 + WINDOW, NULL, NULL) == 0 &&
	      throttle_flush(t, "erin@example.org", T0 + WINDOW) == 0,
	      "past the window: neither listed nor flushed");
	throttle_free(t);
}

int
main(void)
{
	log_init("test_throttle", false, 0, true);
	test_delay();
	test_counts();
	test_bounded();
	test_list_flush();
	return test_done();
}
