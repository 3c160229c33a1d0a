/*
 * test_cache - the credential cache (authd/cache.h): a hit needs the same
 * id, the same password and the same record fingerprint within the TTL;
 * a changed record (another fingerprint) misses and drops the entry; a
 * wrong password misses without dropping it, so guesses cannot push the
 * user's next login back onto the strong hash; a NULL fingerprint (PAM,
 * no record) relies on the TTL alone; re-inserting a user replaces its
 * entry; and the table is bounded: many more users than its size neither
 * allocate nor fill it beyond its room, while the newest still hit.
 */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cache.h"
#include "log.h"
#include "test.h"

#define TTL	1000		/* ms */
#define T0	5000000

static unsigned char fp1[CACHE_FP_LEN], fp2[CACHE_FP_LEN];

static bool
lookup(struct cache *c, const char *id, const char *pw,
       const unsigned char *fp, uint64_t now)
{
	return cache_lookup(c, id, pw, strlen(pw), fp, now);
}

static void
insert(struct cache *c, const char *id, const char *pw,
       const unsigned char *fp, uint64_t now)
{
	cache_insert(c, id, pw, strlen(pw), fp, now);
}

/* test_match - one entry, then lookups that differ in one thing each.
 * None of the misses changes the record, so the entry stays for the
 * next row. */
static void
test_match(void)
{
	static const struct {
		const char *id, *pw;
		int fp;			/* 1: fp1, 0: NULL */
		uint64_t at;
		bool hit;
		const char *desc;
	} v[] = {
		{ "alice@example.org", "secret", 1, 0, true, "same id, password, "
		  "fingerprint: hit" },
		{ "alice@example.org", "secret", 1, TTL - 1, true,
		  "last millisecond of the TTL: hit" },
		{ "bob@example.org", "secret", 1, 0, false,
		  "another id with the same password: miss" },
		{ "Alice@example.org", "secret", 1, 0, false,
		  "ids are compared as given (normalised before): miss" },
		{ "alice@example.org", "Secret", 1, 0, false,
		  "another password: miss" },
		{ "alice@example.org", "secre", 1, 0, false,
		  "a prefix of the password: miss" },
		{ "alice@example.org", "secret2", 1, 0, false,
		  "the password and more: miss" },
		{ "alice@example.org", "", 1, 0, false, "empty password: miss" },
		{ "alice@example.org", "secret", 1, 0, true,
		  "the right password still hits after all those misses" },
	};
	struct cache *c = cache_new(64, TTL);
	size_t i;

	insert(c, "alice@example.org", "secret", fp1, T0);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		bool got = lookup(c, v[i].id, v[i].pw, v[i].fp ? fp1 : NULL,
				  T0 + v[i].at);

		CHECK(got == v[i].hit, "%s", v[i].desc);
	}
	CHECK(cache_entries(c, T0) == 1, "wrong passwords did not drop the "
	      "entry (%zu live)", cache_entries(c, T0));
	cache_free(c);
}

static void
test_record_change(void)
{
	struct cache *c = cache_new(64, TTL);

	insert(c, "alice@example.org", "secret", fp1, T0);
	CHECK(!lookup(c, "alice@example.org", "secret", fp2, T0 + 1),
	      "changed record (another fingerprint): miss");
	CHECK(!lookup(c, "alice@example.org", "secret", fp1, T0 + 2),
	      "... and the stale entry is gone, even for the old fingerprint");
	CHECK(cache_entries(c, T0 + 2) == 0, "no live entry left");

	insert(c, "alice@example.org", "new", fp2, T0 + 10);
	CHECK(lookup(c, "alice@example.org", "new", fp2, T0 + 11),
	      "the new password with the new record: hit");
	insert(c, "alice@example.org", "newer", fp1, T0 + 12);
	CHECK(lookup(c, "alice@example.org", "newer", fp1, T0 + 13) &&
	      !lookup(c, "alice@example.org", "new", fp1, T0 + 13),
	      "re-inserting a user replaces its entry");
	CHECK(cache_entries(c, T0 + 13) == 1, "one entry per user (%zu)",
	      cache_entries(c, T0 + 13));
	cache_free(c);
}

static void
test_ttl(void)
{
	struct cache *c = cache_new(64, TTL);

	insert(c, "alice@example.org", "secret", fp1, T0);
	CHECK(cache_entries(c, T0 + TTL - 1) == 1, "live until the TTL");
	CHECK(!lookup(c, "alice@example.org", "secret", fp1, T0 + TTL),
	      "at the TTL: miss");
	CHECK(!lookup(c, "alice@example.org", "secret", fp1, T0 + 10 * TTL),
	      "long after: miss");
	CHECK(cache_entries(c, T0 + TTL) == 0, "no live entry after the TTL");
	insert(c, "alice@example.org", "secret", fp1, T0 + 10 * TTL);
	CHECK(lookup(c, "alice@example.org", "secret", fp1, T0 + 11 * TTL - 1),
	      "inserted again: a new TTL from then");
	cache_free(c);
}

/* test_no_fingerprint - PAM keeps no record: an entry made without a
 * fingerprint lives by its TTL; a store record showing up (a lookup with
 * a fingerprint) does not match it. */
static void
test_no_fingerprint(void)
{
	struct cache *c = cache_new(64, TTL);

	insert(c, "smtp/alice", "secret", NULL, T0);
	CHECK(lookup(c, "smtp/alice", "secret", NULL, T0 + TTL - 1),
	      "no fingerprint: hit within the TTL");
	CHECK(!lookup(c, "smtp/alice", "wrong", NULL, T0 + 1),
	      "no fingerprint, wrong password: miss");
	CHECK(lookup(c, "smtp/alice", "secret", NULL, T0 + 2),
	      "... and the entry stays");
	CHECK(!lookup(c, "imap/alice", "secret", NULL, T0 + 3),
	      "another service's id: miss");
	CHECK(!lookup(c, "smtp/alice", "secret", NULL, T0 + TTL),
	      "no fingerprint: the TTL ends it");
	insert(c, "smtp/bob", "secret", NULL, T0);
	CHECK(!lookup(c, "smtp/bob", "secret", fp1, T0 + 1),
	      "an entry without fingerprint does not match a record's");
	cache_free(c);
}

/* test_bounded - 64 entries of room, 6400 users in turn. */
static void
test_bounded(void)
{
	struct cache *c = cache_new(64, 3600000);
	struct mallinfo2 before, after;
	char id[64];
	size_t i, live;
	bool newest = true;

	insert(c, "warm-up", "x", fp1, T0);
	before = mallinfo2();
	for (i = 0; i < 6400; i++) {
		snprintf(id, sizeof(id), "user%zu@example.org", i);
		insert(c, id, "secret", fp1, T0 + 1 + i);
	}
	after = mallinfo2();
	live = cache_entries(c, T0 + 6401);
	CHECK(after.uordblks <= before.uordblks, "6400 inserts allocate nothing "
	      "(%zu -> %zu bytes in use)", before.uordblks, after.uordblks);
	CHECK(live >= 64 && live <= 128, "the table holds its size, not every "
	      "user: %zu live of 6400 (room for 64..128)", live);
	snprintf(id, sizeof(id), "user%d@example.org", 0);
	CHECK(!lookup(c, id, "secret", fp1, T0 + 6401),
	      "the oldest user was replaced");
	/* 4-way sets, oldest replaced: the last four inserted are there
	 * whatever sets they fell into. */
	for (i = 6396; i < 6400; i++) {
		snprintf(id, sizeof(id), "user%zu@example.org", i);
		newest = newest && lookup(c, id, "secret", fp1, T0 + 6401);
	}
	CHECK(newest, "the four newest users still hit");
	cache_free(c);
}

/* test_flush - the control socket's cache flush: one id's entry goes
 * (its next lookup misses), the others stay; all empties the cache; an
 * expired entry is not counted as flushed. */
static void
test_flush(void)
{
	struct cache *c = cache_new(64, TTL);

	cache_insert(c, "alice@example.org", "a", 1, fp1, T0);
	cache_insert(c, "bob@example.org", "b", 1, fp1, T0);
	cache_insert(c, "carol@example.org", "c", 1, fp1, T0);
	CHECK(cache_flush(c, "alice@example.org", T0) == 1,
	      "flush alice: one entry");
	CHECK(!cache_lookup(c, "alice@example.org", "a", 1, fp1, T0),
	      "alice's next lookup misses");
	CHECK(cache_lookup(c, "bob@example.org", "b", 1, fp1, T0),
	      "bob still hits");
	CHECK(cache_flush(c, "alice@example.org", T0) == 0,
	      "flush alice again: nothing");
	CHECK(cache_flush(c, NULL, T0) == 2, "flush all: bob and carol");
	CHECK(cache_entries(c, T0) == 0 &&
	      !cache_lookup(c, "bob@example.org", "b", 1, fp1, T0),
	      "empty: bob misses");
	cache_insert(c, "dave@example.org", "d", 1, fp1, T0);
	CHECK(cache_flush(c, "dave@example.org", T0 + TTL) == 0,
	      "an expired entry is not counted");
	cache_free(c);
}

int
main(void)
{
	log_init("test_cache", false, 0, true);
	memset(fp1, 0x11, sizeof(fp1));
	memset(fp2, 0x22, sizeof(fp2));
	test_match();
	test_record_change();
	test_ttl();
	test_no_fingerprint();
	test_bounded();
	test_flush();
	return test_done();
}
