/*
 * server - the daemon's shared state: the settings in force and the
 * objects every module uses.  Loop thread only, except where noted.
 */
#ifndef AUTHD_SERVER_H
#define AUTHD_SERVER_H

#include <stdbool.h>

#include "settings.h"

struct loop;
struct userdb;
struct worker_pool;
struct cache;
struct throttle;

struct authd {
	struct authd_settings *set;
	struct loop *loop;
	struct userdb *db;		/* the loop's reader */
	struct worker_pool *hash_pool, *pam_pool;
	struct cache *cache;		/* NULL when auth_cache = no */
	struct throttle *throttle;
	unsigned int connections;
	bool stopping;
};

extern struct authd authd;

#endif
