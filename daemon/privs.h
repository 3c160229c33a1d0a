/*
 * privs - dropping root for good.
 *
 * Names are resolved while still root (and before any chroot, where
 * /etc/passwd may be missing).  The drop sets the supplementary groups
 * first, then the gid, then the uid (each of real, effective and saved),
 * and then verifies that root cannot be regained; any failure is fatal,
 * because a daemon that believes it dropped privileges and did not is
 * worse than one that does not start.
 */
#ifndef AUTHD_PRIVS_H
#define AUTHD_PRIVS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct privs {
	uid_t uid;
	gid_t gid;
	gid_t groups[32];	/* supplementary groups kept */
	size_t ngroups;
};

/* privs_uid - the uid of a user name (and its primary group into gid_r,
 * may be NULL); false if there is no such user.  The one place where a
 * user name becomes an id. */
bool privs_uid(const char *name, uid_t *uid_r, gid_t *gid_r);
/* privs_gid - the gid of a group name; false if there is no such group. */
bool privs_gid(const char *name, gid_t *gid_r);
/* privs_uid_list / privs_gid_list - a space/comma separated list of
 * names as allocated ids (*ids_r NULL and *n_r 0 for an empty list);
 * false with *errmsg_r (allocated, naming key) for an unknown name. */
bool privs_uid_list(const char *key, const char *list, uid_t **ids_r,
		    size_t *n_r, char **errmsg_r);
bool privs_gid_list(const char *key, const char *list, gid_t **ids_r,
		    size_t *n_r, char **errmsg_r);

/* privs_resolve - user (required), group ("" = the user's primary group)
 * and extra, a space/comma separated list of supplementary groups.
 * false with *errmsg_r (allocated) if a name is unknown. */
bool privs_resolve(const char *user, const char *group, const char *extra,
		   struct privs *p, char **errmsg_r);
/* privs_chroot_path - path as the process sees it after chroot(root):
 * the part under root ("/" for root itself), path unchanged when root is
 * empty or "/", or NULL when path does not lie under root (then nothing
 * inside the chroot reaches it).  Components are compared whole: under
 * "/srv/a", "/srv/ab/x" is outside.  Points into path (or is "/"). */
const char *privs_chroot_path(const char *root, const char *path);
/* privs_drop - chroot (if dir non-empty) and switch to p; fatal on any
 * failure, including a successful attempt to regain root afterwards. */
void privs_drop(const struct privs *p, const char *chroot_dir);

#endif
