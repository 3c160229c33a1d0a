/*
 * backend_store - the credential store (userdb/) as a back-end: names
 * normalised by the store's rule, records read through the loop's reader,
 * and the strongest stored verifier checked on a hash worker (or, for an
 * unknown user, a dummy of the same cost, so timing tells nothing).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "password.h"
#include "server.h"
#include "userdb.h"

static const char *
store_resolve(const struct auth_request *r, const char *service,
	      struct userdb_name *name_r)
{
	(void)service;
	return userdb_name_parse(r->login, r->login_len, r->realm,
				 r->realm_len, &authd.set->rules, name_r);
}

/*
 * The loop's share of a check must not tell either: a found record is
 * fetched and decoded (its size depends on what it holds, a few
 * microseconds), a missing one is not.  The challenge-response mechanisms
 * answer right after the lookup, on the loop, so that difference would
 * show.  Every lookup therefore ends no sooner than LOOKUP_FLOOR after it
 * began, by spinning on the monotonic clock (microseconds: sleeping would
 * cost more than it saves): the floor is the second longest of the last
 * LOOKUP_SAMPLES lookups, found or not, capped at LOOKUP_CAP_US so that a
 * stall (the loop descheduled) costs the following lookups little.
 */
#define LOOKUP_SAMPLES	64
#define LOOKUP_CAP_US	100

static uint64_t lookup_us[LOOKUP_SAMPLES];	/* loop thread only */
static size_t lookup_next;

/* lookup_floor - the second longest recent lookup, at most the cap. */
static uint64_t
lookup_floor(void)
{
	uint64_t a = 0, b = 0;
	size_t i;

	for (i = 0; i < LOOKUP_SAMPLES; i++) {
		if (lookup_us[i] > a) {
			b = a;
			a = lookup_us[i];
		} else if (lookup_us[i] > b) {
			b = lookup_us[i];
		}
	}
	return b < LOOKUP_CAP_US ? b : LOOKUP_CAP_US;
}

static int
store_lookup(const struct userdb_name *name, struct userdb_record *rec,
	     const char **why_r)
{
	uint64_t t0 = userdb_verify_clock_us(), until = t0 + lookup_floor();
	int r;

	userdb_record_init(rec);
	r = userdb_lookup(authd.db, name->key, name->key_len, rec, why_r);
	lookup_us[lookup_next] = userdb_verify_clock_us() - t0;
	lookup_next = (lookup_next + 1) % LOOKUP_SAMPLES;
	while (userdb_verify_clock_us() < until)
		;
	return r;
}

/* store_verify - worker thread.  Every failure (unknown user, wrong
 * password, locked account) is padded to the floor of userdb_verify_pad,
 * so it costs the same whatever the record holds: a cleartext or CRAM-MD5
 * record checks in microseconds and a SCRAM or weak imported crypt one in
 * about a millisecond, where an unknown user pays the dummy (password.h). */
static enum auth_result
store_verify(const struct backend_request *r, char *reason, size_t len)
{
	uint64_t t0 = userdb_verify_clock_us();
	enum auth_result res = AUTH_FAIL;

	if (r->found != 1) {
		(void)userdb_verify_dummy(r->hash, r->pw, r->pw_len);
		snprintf(reason, len, "unknown user");
	} else if (!userdb_verify(r->rec, r->name, r->pw, r->pw_len)) {
		userdb_verify_failed(t0);
		snprintf(reason, len, "wrong password");
	} else if (r->rec->flags & USERDB_FLAG_DISABLED) {
		/* Checked after the hash, so a locked account costs the same
		 * time as any other. */
		snprintf(reason, len, "account locked");
	} else {
		res = AUTH_OK;
	}
	if (res != AUTH_OK)
		userdb_verify_pad(t0);
	return res;
}

const struct backend backend_store = {
	"store", store_resolve, store_lookup, store_verify, false, false,
};

const struct backend *
backend_find(const char *name)
{
	static const struct backend *const all[] = {
		&backend_store, &backend_pam,
	};
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(all[i]->name, name) == 0)
			return all[i];
	return NULL;
}
