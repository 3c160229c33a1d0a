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
privs_resolve(const char *user, const char *group, const char *extra,
	      struct privs *p, char **error_r)
{
	struct passwd *pw = getpwnam(user);
	char *list, *tok, *save = NULL;

	memset(p, 0, sizeof(*p));
	if (pw == NULL) {
		*error_r = xasprintf("user: no such user \"%s\"", user);
		return false;
	}
	p->uid = pw->pw_uid;
	p->gid = pw->pw_gid;
	if (group != NULL && group[0] != '\0') {
		struct group *gr = getgrnam(group);

		if (gr == NULL) {
			*error_r = xasprintf("group: no such group \"%s\"", group);
			return false;
		}
		p->gid = gr->gr_gid;
	}
	list = xstrdup(extra != NULL ? extra : "");
	for (tok = strtok_r(list, " ,\t", &save); tok != NULL;
	     tok = strtok_r(NULL, " ,\t", &save)) {
		struct group *gr = getgrnam(tok);

		if (gr == NULL || p->ngroups == sizeof(p->groups) / sizeof(gid_t)) {
			*error_r = xasprintf("pam_groups: no such group \"%s\" "
					     "(or more than 32)", tok);
			free(list);
			return false;
		}
		p->groups[p->ngroups++] = gr->gr_gid;
	}
	free(list);
	return true;
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
