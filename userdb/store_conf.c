/*
 * store_conf - authd.conf's store keys.  See store_conf.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secret.h"
#include "store_conf.h"
#include "xalloc.h"

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

const char *
userdb_conf_load(const struct config *cfg, struct userdb_conf *s,
		     const char **key_r)
{
	const char *realm = config_str(cfg, "default_realm"), *why;
	char tmp[USERDB_REALM_MAX + 1];

	memset(s, 0, sizeof(*s));
	s->path = config_str(cfg, "store_path");
	s->rules.default_realm = realm;
	s->rules.fold_case = config_bool(cfg, "username_fold_case");
	if (realm[0] != '\0' &&
	    (why = userdb_name_check_realm(realm, strlen(realm), tmp)) != NULL) {
		*key_r = "default_realm";
		return why;
	}
	s->pg = strcmp(config_str(cfg, "store"), "postgresql") == 0;
	s->pg_conninfo = config_str(cfg, "store_pg_conninfo");
	s->pg_conninfo_file = config_str(cfg, "store_pg_conninfo_file");
	/* Like the conninfo keys, ignored unless store = postgresql. */
	s->pg_password_query = config_str(cfg, "store_pg_password_query");
	if (s->pg && (s->pg_conninfo[0] == '\0') ==
	    (s->pg_conninfo_file[0] == '\0')) {
		*key_r = "store";
		return "store = postgresql needs exactly one of "
		       "store_pg_conninfo and store_pg_conninfo_file";
	}
	s->hash.scheme = scheme_literal(config_str(cfg, "password_scheme"));
	s->hash.cost = config_uint(cfg, "password_cost");
	s->hash.scram_iterations = (unsigned int)config_uint(cfg,
							     "scram_iterations");
	/* Check what the scheme accepts now, not at the first use. */
	if ((why = userdb_hash_params_check(&s->hash)) != NULL) {
		*key_r = "password_cost";
		return why;
	}
	return NULL;
}

/* The longest connection string read from a file: libpq's own are far
 * shorter; a bigger file is a mistake (the wrong file named). */
#define CONNINFO_MAX	4096

static _Thread_local char conninfo_msg[512];

char *
userdb_conf_conninfo(const struct userdb_conf *s, const char **why_r)
{
	char buf[CONNINFO_MAX + 1], *out;
	struct stat st;
	ssize_t n;
	size_t len;
	int fd;

	if (s->pg_conninfo[0] != '\0')
		return xstrdup(s->pg_conninfo);
	fd = open(s->pg_conninfo_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) < 0) {
		(void)snprintf(conninfo_msg, sizeof(conninfo_msg), "%s: %s",
			       s->pg_conninfo_file, strerror(errno));
		if (fd >= 0)
			close(fd);
		*why_r = conninfo_msg;
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 0077) != 0 ||
	    (st.st_uid != 0 && st.st_uid != geteuid())) {
		close(fd);
		(void)snprintf(conninfo_msg, sizeof(conninfo_msg), "%s: must "
			       "be a file of root's that only root may read "
			       "(chown root %s; chmod 0600 %s): it may hold a "
			       "password", s->pg_conninfo_file,
			       s->pg_conninfo_file, s->pg_conninfo_file);
		*why_r = conninfo_msg;
		return NULL;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0 || n > CONNINFO_MAX) {
		secret_wipe(buf, sizeof(buf));
		(void)snprintf(conninfo_msg, sizeof(conninfo_msg), "%s: %s",
			       s->pg_conninfo_file, n < 0 ? strerror(errno) :
			       "longer than 4096 bytes");
		*why_r = conninfo_msg;
		return NULL;
	}
	/* The first line, without its end: an editor's final newline. */
	len = (size_t)n;
	for (size_t i = 0; i < len; i++)
		if (buf[i] == '\n' || buf[i] == '\r' || buf[i] == '\0')
			len = i;
	while (len > 0 && (buf[len - 1] == ' ' || buf[len - 1] == '\t'))
		len--;
	if (len == 0) {
		secret_wipe(buf, sizeof(buf));
		(void)snprintf(conninfo_msg, sizeof(conninfo_msg), "%s: empty",
			       s->pg_conninfo_file);
		*why_r = conninfo_msg;
		return NULL;
	}
	out = xstrndup(buf, len);
	secret_wipe(buf, sizeof(buf));
	return out;
}
