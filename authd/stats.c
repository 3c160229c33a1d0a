/*
 * stats - the daemon's counters.  See stats.h.
 */
#include <strings.h>

#include "stats.h"

struct authd_stats stats;

const char *const stats_mech_names[STATS_MECHS] = {
	"none", "PLAIN", "LOGIN", "CRAM-MD5", "DIGEST-MD5", "SCRAM-SHA-1",
	"SCRAM-SHA-256",
};
const char *const stats_result_names[STATS_RESULTS] = {
	"ok", "fail", "tempfail", "gone",
};
const char *const stats_socket_names[STATS_SOCKETS] = {
	"mux", "auth", "control",
};

enum stats_mech
stats_mech(const char *name)
{
	int i;

	if (name == NULL)
		return STATS_MECH_NONE;
	for (i = 1; i < STATS_MECHS; i++)
		if (strcasecmp(name, stats_mech_names[i]) == 0)
			return (enum stats_mech)i;
	return STATS_MECH_NONE;
}
