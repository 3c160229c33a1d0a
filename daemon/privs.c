/*
 * privs - resolve and drop privileges.  See privs.h.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "privs.h"
#include "xalloc.h"

bool
privs_uid(const char *name, uid_t *uid_r, gid_t *gid_r)
{
	struct passwd *pw = getpwnam(name);

	if (pw == NULL)
		return false;
	*uid_r = pw->pw_uid;
	if (gid_r != NULL)
		*gid_r = pw->pw_gid;
	return true;
}

bool
privs_gid(const char *name, gid_t *gid_r)
{
	struct group *gr = getgrnam(name);

	if (gr == NULL)
		return false;
	*gid_r = gr->gr_gid;
	return true;
}

/* id_list - names to ids through one of the two look-ups above (uid_t
 * and gid_t are both id_t on Linux). */
static bool
id_list(const char *key, const char *list, bool groups, id_t **ids_r,
	size_t *n_r, char **errmsg_r)
{
	char *copy = xstrdup(list), *tok, *save = NULL;

	*ids_r = NULL;
	*n_r = 0;
	for (tok = strtok_r(copy, " ,\t", &save); tok != NULL;
	     tok = strtok_r(NULL, " ,\t", &save)) {
		id_t id;
		bool ok = groups ? privs_gid(tok, &id) :
				   privs_uid(tok, &id, NULL);

		if (!ok) {
			*errmsg_r = xasprintf("%s: no such %s \"%s\"", key,
					      groups ? "group" : "user", tok);
			free(copy);
			free(*ids_r);
			*ids_r = NULL;
			*n_r = 0;
			return false;
		}
		*ids_r = xrealloc(*ids_r, (*n_r + 1) * sizeof(id_t));
		(*ids_r)[(*n_r)++] = id;
	}
	free(copy);
	return true;
}

bool
privs_uid_list(const char *key, const char *list, uid_t **ids_r,
	       size_t *n_r, char **errmsg_r)
{
	return id_list(key, list, false, ids_r, n_r, errmsg_r);
}

bool
privs_gid_list(const char *key, const char *list, gid_t **ids_r,
	       size_t *n_r, char **errmsg_r)
{
	return id_list(key, list, true, ids_r, n_r, errmsg_r);
}

bool
privs_resolve(const char *user, const char *group, const char *extra,
	      struct privs *p, char **errmsg_r)
{
	char *list, *tok, *save = NULL;

	memset(p, 0, sizeof(*p));
	if (!privs_uid(user, &p->uid, &p->gid)) {
		*errmsg_r = xasprintf("user: no such user \"%s\"", user);
		return false;
	}
	if (group != NULL && group[0] != '\0' && !privs_gid(group, &p->gid)) {
		*errmsg_r = xasprintf("group: no such group \"%s\"", group);
		return false;
	}
	list = xstrdup(extra != NULL ? extra : "");
	for (tok = strtok_r(list, " ,\t", &save); tok != NULL;
	     tok = strtok_r(NULL, " ,\t", &save)) {
		if (p->ngroups == sizeof(p->groups) / sizeof(gid_t) ||
		    !privs_gid(tok, &p->groups[p->ngroups])) {
			*errmsg_r = xasprintf("pam_groups: no such group \"%s\" "
					      "(or more than 32)", tok);
			free(list);
			return false;
		}
		p->ngroups++;
	}
	free(list);
	return true;
}

const char *
privs_chroot_path(const char *root, const char *path)
{
	size_t n = strlen(root);

	while (n > 1 && root[n - 1] == '/')
		n--;
	if (n == 0 || (n == 1 && root[0] == '/'))
		return path;
	if (strncmp(path, root, n) != 0)
		return NULL;
	if (path[n] == '\0')
		return "/";
	return path[n] == '/' ? path + n : NULL;
}

void
privs_drop(const struct privs *p, const char *chroot_dir)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;

	if (chroot_dir != NULL && chroot_dir[0] != '\0') {
		if (chroot(chroot_dir) < 0 || chdir("/") < 0)
			fatal(1, "chroot %s", chroot_dir);
	}
	if (setgroups(p->ngroups, p->groups) < 0)
		fatal(1, "setgroups");
	if (setresgid(p->gid, p->gid, p->gid) < 0)
		fatal(1, "setresgid %u", (unsigned)p->gid);
	if (setresuid(p->uid, p->uid, p->uid) < 0)
		fatal(1, "setresuid %u", (unsigned)p->uid);
	if (getresuid(&r, &e, &s) < 0 || r != p->uid || e != p->uid ||
	    s != p->uid || getresgid(&rg, &eg, &sg) < 0 || rg != p->gid ||
	    eg != p->gid || sg != p->gid)
		fatalx(1, "privilege drop did not take effect");
	if (p->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
		fatalx(1, "root could be regained after the privilege drop");
}
