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
/* throttle_delay - base * 2^(n-1), at most max (0 when n is 0). */
uint64_t throttle_delay(unsigned int n, uint64_t base, uint64_t max);

#endif
