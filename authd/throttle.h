/*
 * throttle - slows down repeated failures without ever slowing a correct
 * password.
 *
 * Each failure is counted per user and per client address (when known);
 * the FAIL reply is then held back by base * 2^(n-1), capped at max, where
 * n is the larger of the two counts.  Successes are never delayed, and a
 * request is never delayed before it is checked (Dovecot's pre-check
 * penalty turned other users' failures behind one NAT into "Connection
 * lost" for correct passwords).  A success clears the user's count.
 * Counts are forgotten after a quiet window.  Memory is bounded: a fixed
 * open-addressed table of keyed hashes.  Loop thread only.
 */
#ifndef AUTHD_THROTTLE_H
#define AUTHD_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

struct throttle;

struct throttle *throttle_new(size_t size, uint64_t window_ms);
void throttle_free(struct throttle *t);
/* throttle_failure - count a failure of user (and addr, may be NULL or
 * ""); returns the larger count after the increment. */
unsigned int throttle_failure(struct throttle *t, const char *user,
			      const char *addr, uint64_t now);
/* throttle_success - forget the user's failures. */
void throttle_success(struct throttle *t, const char *user, uint64_t now);
/* A counted name as `penalty list` shows it (longer ones are cut). */
#define THROTTLE_NAME_MAX	63

struct throttle_penalty {
	char kind;			/* 'u' user, 'a' client address */
	const char *name;
	unsigned int count;		/* failures counted */
	uint64_t remaining_ms;		/* until the count is forgotten */
};

/* throttle_list - call fn (if not NULL) for every live count; returns
 * how many there are.  For the control socket: a scan of the table. */
size_t throttle_list(const struct throttle *t, uint64_t now,
		     void (*fn)(void *arg, const struct throttle_penalty *p),
		     void *arg);
/* throttle_counts - live counts of users and of addresses, and how many
 * counts were ever started. */
void throttle_counts(const struct throttle *t, uint64_t now, size_t *users_r,
		     size_t *addrs_r, uint64_t *created_r);
/* throttle_flush - forget the counts of name (as an address and as a
 * user), or every count (name NULL); returns how many live ones went. */
size_t throttle_flush(struct throttle *t, const char *name, uint64_t now);
/* throttle_delay - base * 2^(n-1), at most max (0 when n is 0). */
uint64_t throttle_delay(unsigned int n, uint64_t base, uint64_t max);

#endif
