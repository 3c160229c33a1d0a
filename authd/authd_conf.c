/*
 * authd_conf - from authd.conf to the settings the daemon runs with, and
 * small helpers about the peer and log lines.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "authd.h"
#include "log.h"
#include "xalloc.h"

struct authd authd;

/* scheme_literal - a static copy of the scheme name: in-flight checks keep
 * a pointer to it across a reload that frees the old configuration. */
static const char *
scheme_literal(const char *s)
{
	if (strcmp(s, "sha512-crypt") == 0)
		return "sha512-crypt";
	if (strcmp(s, "bcrypt") == 0)
		return "bcrypt";
	return "yescrypt";
}

/* resolve_list - names in a space/comma list to ids, through lookup. */
static bool
resolve_users(const char *list, uid_t **out, size_t *n, char **error_r)
{
	char *copy = xstrdup(list), *tok, *save = NULL;

	*out = NULL;
	*n = 0;
	for (tok = strtok_r(copy, " ,\t", &save); tok != NULL;
	     tok = strtok_r(NULL, " ,\t", &save)) {
		struct passwd *pw = getpwnam(tok);

		if (pw == NULL) {
			*error_r = xasprintf("socket_peer_users: no such user "
					     "\"%s\"", tok);
			free(copy);
			return false;
		}
		*out = xrealloc(*out, (*n + 1) * sizeof(uid_t));
		(*out)[(*n)++] = pw->pw_uid;
	}
	free(copy);
	return true;
}

static bool
resolve_groups(const char *list, gid_t **out, size_t *n, char **error_r)
{
	char *copy = xstrdup(list), *tok, *save = NULL;

	*out = NULL;
	*n = 0;
	for (tok = strtok_r(copy, " ,\t", &save); tok != NULL;
	     tok = strtok_r(NULL, " ,\t", &save)) {
		struct group *gr = getgrnam(tok);

		if (gr == NULL) {
			*error_r = xasprintf("socket_peer_groups: no such group "
					     "\"%s\"", tok);
			free(copy);
			return false;
		}
		*out = xrealloc(*out, (*n + 1) * sizeof(gid_t));
		(*out)[(*n)++] = gr->gr_gid;
	}
	free(copy);
	return true;
}

struct authd_settings *
authd_settings_load(struct config *cfg, char **error_r)
{
	struct authd_settings *s = xcalloc(1, sizeof(*s));
	const char *realm = config_str(cfg, "default_realm");
	char tmp[USERDB_REALM_MAX + 1];
	const char *why;
	long cores;

	s->cfg = cfg;
	s->socket_dir = config_str(cfg, "socket_dir");
	s->pid_file = config_str(cfg, "pid_file");
	s->store_path = config_str(cfg, "store_path");
	s->rules.default_realm = realm;
	s->rules.fold_case = config_bool(cfg, "username_fold_case");
	if (realm[0] != '\0' &&
	    (why = userdb_name_check_realm(realm, strlen(realm), tmp)) != NULL) {
		*error_r = xasprintf("default_realm: %s", why);
		goto fail;
	}
	s->hash.scheme = scheme_literal(config_str(cfg, "password_scheme"));
	s->hash.cost = config_uint(cfg, "password_cost");
	s->hash.scram_iterations = (unsigned int)config_uint(cfg, "scram_iterations");
	if ((why = userdb_hash_params_check(&s->hash)) != NULL) {
		*error_r = xasprintf("password_cost: %s", why);
		goto fail;
	}
	s->backend = strcmp(config_str(cfg, "auth_backend"), "pam") == 0 ?
		     BACKEND_PAM : BACKEND_STORE;
	s->pam_service = config_str(cfg, "pam_service");
	s->pam_append_realm = config_bool(cfg, "pam_append_realm");
	cores = sysconf(_SC_NPROCESSORS_ONLN);
	s->workers = (unsigned int)config_uint(cfg, "auth_workers");
	if (s->workers == 0)
		s->workers = cores > 0 ? (unsigned int)cores : 1;
	s->pam_workers = (unsigned int)config_uint(cfg, "pam_workers");
	s->max_connections = (unsigned int)config_uint(cfg, "max_connections");
	s->mux_timeout = config_time(cfg, "mux_timeout");
	s->reply_max = config_time(cfg, "auth_reply_max");
	s->fail_delay = config_time(cfg, "auth_failure_delay");
	s->fail_delay_max = config_time(cfg, "auth_failure_delay_max");
	if (s->fail_delay_max >= s->reply_max) {
		*error_r = xasprintf("auth_failure_delay_max (%llums) must be "
				     "below auth_reply_max (%llums)",
				     (unsigned long long)s->fail_delay_max,
				     (unsigned long long)s->reply_max);
		goto fail;
	}
	s->cache = config_bool(cfg, "auth_cache");
	s->cache_ttl = config_time(cfg, "auth_cache_ttl");
	s->cache_size = config_uint(cfg, "auth_cache_size");
	if (!resolve_users(config_str(cfg, "socket_peer_users"), &s->peer_uids,
			   &s->n_peer_uids, error_r) ||
	    !resolve_groups(config_str(cfg, "socket_peer_groups"), &s->peer_gids,
			    &s->n_peer_gids, error_r))
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
	free(s);
}

/* peer_in_groups - whether one of the peer's supplementary groups (as
 * they were when it connected: SO_PEERGROUPS, Linux 4.13) is listed.  A
 * program that runs as its own user with the group in its group list
 * (usermod -aG) is allowed as its primary group would be. */
static bool
peer_in_groups(int fd, const struct authd_settings *s)
{
	gid_t small[64], *groups = small;
	socklen_t len = sizeof(small);
	size_t i, k, n;
	bool found = false;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0) {
		if (errno != ERANGE || len == 0 || len > 65536 * sizeof(gid_t))
			return false;
		groups = xmalloc(len);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0) {
			free(groups);
			return false;
		}
	}
	n = len / sizeof(gid_t);
	for (i = 0; i < n && !found; i++)
		for (k = 0; k < s->n_peer_gids && !found; k++)
			found = groups[i] == s->peer_gids[k];
	if (groups != small)
		free(groups);
	return found;
}

bool
authd_peer_allowed(int fd)
{
	const struct authd_settings *s = authd.set;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	size_t i;

	if (s->n_peer_uids == 0 && s->n_peer_gids == 0)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		log_warn("SO_PEERCRED");
		return false;
	}
	if (cred.uid == 0)
		return true;
	for (i = 0; i < s->n_peer_uids; i++)
		if (s->peer_uids[i] == cred.uid)
			return true;
	for (i = 0; i < s->n_peer_gids; i++)
		if (s->peer_gids[i] == cred.gid)
			return true;
	if (s->n_peer_gids > 0 && peer_in_groups(fd, s))
		return true;
	log_notice("refused a client: pid %ld uid %u gid %u is not in "
		   "socket_peer_users or socket_peer_groups", (long)cred.pid,
		   (unsigned)cred.uid, (unsigned)cred.gid);
	return false;
}
