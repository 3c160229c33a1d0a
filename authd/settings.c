/*
 * settings - from authd.conf to the settings the daemon runs with.  See
 * settings.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "privs.h"
#include "settings.h"
#include "store_conf.h"
#include "xalloc.h"

/* proxy_keys - auth_proxy_users as store keys, through the one name rule
 * (userdb/name.h) like every other name authd receives: a capital letter
 * or a name relying on default_realm then names the user it says, where a
 * plain string compare with the key would match nobody, silently.  A word
 * that names nobody at all is an error, not an entry that never matches. */
static bool
proxy_keys(struct authd_settings *s, char **errmsg_r)
{
	struct userdb_name n;
	const char *why;
	size_t i;

	for (i = 0; i < s->n_proxy_users; i++) {
		char *w = s->proxy_users[i];

		if ((why = userdb_name_parse(w, strlen(w), NULL, 0, &s->rules,
					     &n)) != NULL) {
			*errmsg_r = xasprintf("auth_proxy_users: %s: %s", w, why);
			return false;
		}
		s->proxy_users[i] = xstrdup(n.key);
		free(w);
	}
	return true;
}

/* digest_realms - the realms of the DIGEST-MD5 challenge: the list, or
 * the default realm alone, spelt as the name rule spells realms (lower
 * case).  The stored hashes bind that spelling (userdb_record_set_password
 * hashes the normalised realm) and a client hashes the realm the challenge
 * offers, so offering "Example.ORG" failed every stored hash.  A word that
 * is not a realm could name no user; it is an error. */
static bool
digest_realms(struct authd_settings *s, char **errmsg_r)
{
	char realm[USERDB_REALM_MAX + 1];
	const char *why;
	size_t i;

	s->digest_realms = config_split(config_str(s->cfg, "digest_md5_realms"),
					&s->n_digest_realms);
	if (s->n_digest_realms == 0 && s->rules.default_realm[0] != '\0') {
		config_split_free(s->digest_realms, 0);
		s->digest_realms = config_split(s->rules.default_realm,
						&s->n_digest_realms);
	}
	for (i = 0; i < s->n_digest_realms; i++) {
		char *w = s->digest_realms[i];

		if ((why = userdb_name_check_realm(w, strlen(w), realm)) != NULL) {
			*errmsg_r = xasprintf("digest_md5_realms: %s: %s", w, why);
			return false;
		}
		s->digest_realms[i] = xstrdup(realm);
		free(w);
	}
	return true;
}

/* control_name - control_socket: a file name in socket_dir, not one of
 * the other two sockets' (that would replace them), or "none". */
static bool
control_name(struct authd_settings *s, char **errmsg_r)
{
	const char *v = config_str(s->cfg, "control_socket");

	if (strcmp(v, "none") == 0) {
		s->control_socket = NULL;
		return true;
	}
	if (v[0] == '\0' || v[0] == '.' || strchr(v, '/') != NULL ||
	    strcmp(v, "mux") == 0 || strcmp(v, "auth") == 0 ||
	    strcmp(v, "authd.pid") == 0) {
		*errmsg_r = xasprintf("control_socket: \"%s\" is not a file "
				      "name for socket_dir (nor mux, auth, or "
				      "authd.pid); \"none\" disables it", v);
		return false;
	}
	s->control_socket = v;
	return true;
}

/* socket_share - one socket's connection limit: as set, or three
 * quarters of max_connections, so that a quarter stays for the other
 * socket whatever this one's clients do (16 silent auth connections held
 * every slot of max_connections = 16, and mux clients were refused). */
static unsigned int
socket_share(const struct config *cfg, const char *key, unsigned int total)
{
	unsigned long v = config_uint(cfg, key);

	if (v == 0)
		return total - total / 4;
	return v < total ? (unsigned int)v : total;
}

struct authd_settings *
authd_settings_load(struct config *cfg, char **errmsg_r)
{
	struct authd_settings *s = xcalloc(1, sizeof(*s));
	struct userdb_conf store;
	const char *why, *key;
	long cores;

	s->cfg = cfg;
	s->socket_dir = config_str(cfg, "socket_dir");
	s->pid_file = config_str(cfg, "pid_file");
	if ((why = userdb_conf_load(cfg, &store, &key)) != NULL) {
		*errmsg_r = xasprintf("%s: %s", key, why);
		goto fail;
	}
	/* The connection string itself is read once, at start-up, by
	 * main.c: a store_pg_conninfo_file only root may read is out of
	 * reach of the reload, which runs unprivileged. */
	s->store = store;
	s->store_pg_connections = (unsigned int)config_uint(cfg,
		"store_pg_connections");
	s->store_path = store.path;
	s->rules = store.rules;
	s->hash = store.hash;
	/* conf_keys allows only the names backend_find() knows. */
	s->backend = backend_find(config_str(cfg, "auth_backend"));
	s->pam_service = config_str(cfg, "pam_service");
	s->pam_append_realm = config_bool(cfg, "pam_append_realm");
	cores = sysconf(_SC_NPROCESSORS_ONLN);
	s->workers = (unsigned int)config_uint(cfg, "auth_workers");
	if (s->workers == 0)
		s->workers = cores > 0 ? (unsigned int)cores : 1;
	s->pam_workers = (unsigned int)config_uint(cfg, "pam_workers");
	s->max_connections = (unsigned int)config_uint(cfg, "max_connections");
	s->queue_max = (unsigned int)config_uint(cfg, "auth_queue_max");
	s->queue_per_source = (unsigned int)config_uint(cfg,
							"auth_queue_per_source");
	s->mux_max_connections = socket_share(cfg, "mux_max_connections",
					      s->max_connections);
	s->auth_max_connections = socket_share(cfg, "auth_max_connections",
					       s->max_connections);
	s->max_connections_per_uid =
		(unsigned int)config_uint(cfg, "max_connections_per_uid");
	s->memory_max = (size_t)config_uint(cfg, "connection_memory_max") << 20;
	s->sandbox = config_bool(cfg, "sandbox");
	s->log_target = log_target_parse(config_str(cfg, "log_target"));
	s->mux_timeout = config_time(cfg, "mux_timeout");
	s->reply_max = config_time(cfg, "auth_reply_max");
	s->fail_delay = config_time(cfg, "auth_failure_delay");
	s->fail_delay_max = config_time(cfg, "auth_failure_delay_max");
	if (s->fail_delay_max >= s->reply_max) {
		*errmsg_r = xasprintf("auth_failure_delay_max (%llums) must be "
				     "below auth_reply_max (%llums)",
				     (unsigned long long)s->fail_delay_max,
				     (unsigned long long)s->reply_max);
		goto fail;
	}
	s->cache = config_bool(cfg, "auth_cache");
	s->cache_ttl = config_time(cfg, "auth_cache_ttl");
	s->cache_size = config_uint(cfg, "auth_cache_size");
	if (!privs_uid_list("socket_peer_users",
			    config_str(cfg, "socket_peer_users"), &s->peer_uids,
			    &s->n_peer_uids, errmsg_r) ||
	    !privs_gid_list("socket_peer_groups",
			    config_str(cfg, "socket_peer_groups"), &s->peer_gids,
			    &s->n_peer_gids, errmsg_r))
		goto fail;
	if (!privs_uid_list("auth_no_penalty_users",
			    config_str(cfg, "auth_no_penalty_users"), &s->np_uids,
			    &s->n_np_uids, errmsg_r) ||
	    !privs_gid_list("auth_no_penalty_groups",
			    config_str(cfg, "auth_no_penalty_groups"),
			    &s->np_gids, &s->n_np_gids, errmsg_r))
		goto fail;
	s->request_timeout = config_time(cfg, "auth_request_timeout");
	s->auth_idle_timeout = config_time(cfg, "auth_idle_timeout");
	s->disable_plaintext = config_bool(cfg, "auth_disable_plaintext");
	s->proxy_users = config_split(config_str(cfg, "auth_proxy_users"),
				      &s->n_proxy_users);
	if (!proxy_keys(s, errmsg_r))
		goto fail;
	if (!digest_realms(s, errmsg_r))
		goto fail;
	if (!control_name(s, errmsg_r))
		goto fail;
	return s;
fail:
	s->cfg = NULL;		/* the caller still owns cfg on failure */
	authd_settings_free(s);
	return NULL;
}

void
authd_settings_free(struct authd_settings *s)
{
	if (s == NULL)
		return;
	config_free(s->cfg);
	free(s->peer_uids);
	free(s->peer_gids);
	free(s->np_uids);
	free(s->np_gids);
	config_split_free(s->proxy_users, s->n_proxy_users);
	config_split_free(s->digest_realms, s->n_digest_realms);
	free(s);
}
