/*
 * authd - the daemon's shared state: the settings in force and the
 * objects every module uses.  Loop thread only, except where noted.
 */
#ifndef AUTHD_AUTHD_H
#define AUTHD_AUTHD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "name.h"
#include "password.h"

enum authd_backend { BACKEND_STORE, BACKEND_PAM };

/* The settings as the daemon uses them, derived from authd.conf and the
 * command line; rebuilt on SIGHUP. */
struct authd_settings {
	struct config *cfg;		/* owns every string below */
	const char *socket_dir;
	const char *pid_file;
	const char *store_path;
	struct userdb_name_rules rules;
	struct userdb_hash_params hash;
	enum authd_backend backend;
	const char *pam_service;	/* "" : the request's service */
	bool pam_append_realm;
	unsigned int workers, pam_workers, max_connections;
	uint64_t mux_timeout, reply_max, fail_delay, fail_delay_max;
	bool cache;
	uint64_t cache_ttl;
	size_t cache_size;
	/* peer check: empty lists mean anyone who can reach the socket */
	uid_t *peer_uids;
	size_t n_peer_uids;
	gid_t *peer_gids;
	size_t n_peer_gids;
};

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

/* authd_settings_load - build settings from cfg (taking ownership);
 * NULL and *error_r (allocated) if a value is unusable. */
struct authd_settings *authd_settings_load(struct config *cfg, char **error_r);
void authd_settings_free(struct authd_settings *s);

/* authd_peer_allowed - SO_PEERCRED check against socket_peer_*. */
bool authd_peer_allowed(int fd);

#endif
