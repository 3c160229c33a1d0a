/*
 * settings - authd.conf and the command line as the typed values the
 * daemon runs with: read once at start and at each SIGHUP, so no request
 * looks a key up by its name.
 */
#ifndef AUTHD_SETTINGS_H
#define AUTHD_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "log.h"
#include "name.h"
#include "password.h"
#include "store_conf.h"

struct backend;

/* The settings as the daemon uses them, derived from authd.conf and the
 * command line; rebuilt on SIGHUP. */
struct authd_settings {
	struct config *cfg;		/* owns every string below */
	const char *socket_dir;
	const char *pid_file;
	const char *store_path;
	struct userdb_conf store;	/* store =, store_pg_* (store_conf.h) */
	unsigned int store_pg_connections;
	struct userdb_name_rules rules;
	struct userdb_hash_params hash;
	const struct backend *backend;	/* auth_backend */
	const char *pam_service;	/* "" : the request's service */
	bool pam_append_realm;
	unsigned int workers, pam_workers, max_connections;
	unsigned int queue_max, queue_per_source;	/* auth_queue_* */
	unsigned int mux_max_connections;	/* 0 in the file: 3/4 of */
	unsigned int auth_max_connections;	/* max_connections */
	unsigned int max_connections_per_uid;	/* 0: no cap */
	size_t memory_max;		/* connection_memory_max, bytes */
	bool sandbox;			/* seccomp once serving */
	enum log_target log_target;	/* where the lines go (log.h) */
	uint64_t mux_timeout, reply_max, fail_delay, fail_delay_max;
	bool cache;
	uint64_t cache_ttl;
	size_t cache_size;
	/* peer check: empty lists mean anyone who can reach the socket */
	uid_t *peer_uids;
	size_t n_peer_uids;
	gid_t *peer_gids;
	size_t n_peer_gids;
	/* auth_no_penalty_users/_groups: the peers whose no-penalty is
	 * honoured (empty lists: nobody's) */
	uid_t *np_uids;
	size_t n_np_uids;
	gid_t *np_gids;
	size_t n_np_gids;
	/* the auth socket */
	uint64_t request_timeout;	/* auth_request_timeout */
	uint64_t auth_idle_timeout;	/* 0: never */
	bool disable_plaintext;		/* auth_disable_plaintext */
	char **proxy_users;		/* auth_proxy_users, store keys */
	size_t n_proxy_users;
	char **digest_realms;		/* digest_md5_realms, or the default */
	size_t n_digest_realms;		/* realm (0: none at all) */
	/* the control socket */
	const char *control_socket;	/* its name in socket_dir; NULL: none */
};

/* authd_settings_load - build settings from cfg (taking ownership);
 * NULL and *errmsg_r (allocated) if a value is unusable. */
struct authd_settings *authd_settings_load(struct config *cfg,
					   char **errmsg_r);
void authd_settings_free(struct authd_settings *s);

#endif
