/*
 * stats - the daemon's counters, for the control socket (control.h):
 * checks by socket, mechanism and result, cache hits and misses, the
 * throttle's and the queue's work, connections accepted.
 *
 * Cheap on the hot path: every counter is a plain increment on the loop
 * thread (checks finish, the cache is asked and connections are accepted
 * there; workers never count), so no atomics and no locks.  Read on the
 * loop thread too, by the control connection.
 */
#ifndef AUTHD_STATS_H
#define AUTHD_STATS_H

#include <stdint.h>

#include "check.h"

enum stats_socket { STATS_MUX, STATS_AUTH, STATS_CONTROL, STATS_SOCKETS };

/* SASL mechanisms as counted; STATS_MECH_NONE is the mux socket, whose
 * protocol names no mechanism (libsasl2 sends it PLAIN and LOGIN alike). */
enum stats_mech {
	STATS_MECH_NONE, STATS_MECH_PLAIN, STATS_MECH_LOGIN,
	STATS_MECH_CRAM_MD5, STATS_MECH_DIGEST_MD5, STATS_MECH_SCRAM_SHA_1,
	STATS_MECH_SCRAM_SHA_256, STATS_MECHS
};

/* Results as counted: the three of check.h, and "gone" for a check whose
 * client went away before the answer. */
enum stats_result { STATS_OK, STATS_FAIL, STATS_TEMPFAIL, STATS_GONE,
		    STATS_RESULTS };

struct authd_stats {
	uint64_t requests[2][STATS_MECHS][STATS_RESULTS];  /* mux, auth */
	uint64_t cache_hits, cache_misses;
	uint64_t delayed;		/* failures answered after a delay */
	uint64_t refused;		/* no room in the queue */
	uint64_t reply_max;		/* answered at auth_reply_max */
	uint64_t store_lookups;		/* PostgreSQL look-ups answered */
	uint64_t store_errors;		/* ... of which temporary failures */
	uint64_t accepted[STATS_SOCKETS];	/* connections admitted */
	uint64_t start_ms;		/* loop_now() at start */
	int64_t start_time;		/* time(NULL) at start */
};

extern struct authd_stats stats;

extern const char *const stats_mech_names[STATS_MECHS];
extern const char *const stats_result_names[STATS_RESULTS];
extern const char *const stats_socket_names[STATS_SOCKETS];

/* stats_mech - the counter index of a mechanism name (NULL: the mux
 * socket's none). */
enum stats_mech stats_mech(const char *name);

#endif
