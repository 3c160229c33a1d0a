/*
 * peer - who may talk to authd: the SO_PEERCRED check of a new client
 * against socket_peer_users and socket_peer_groups, and of a client that
 * asks for no-penalty against auth_no_penalty_users and _groups.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "peer.h"
#include "server.h"
#include "xalloc.h"

/* peer_in_groups - whether one of the peer's supplementary groups (as
 * they were when it connected: SO_PEERGROUPS, Linux 4.13) is listed.  A
 * program that runs as its own user with the group in its group list
 * (usermod -aG) is allowed as its primary group would be. */
static bool
peer_in_groups(int fd, const gid_t *gids, size_t n_gids)
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
		for (k = 0; k < n_gids && !found; k++)
			found = groups[i] == gids[k];
	if (groups != small)
		free(groups);
	return found;
}

/* peer_listed - whether the peer's uid, primary group or one of its
 * supplementary groups is in the lists. */
static bool
peer_listed(int fd, const struct ucred *cred, const uid_t *uids,
	    size_t n_uids, const gid_t *gids, size_t n_gids)
{
	size_t i;

	for (i = 0; i < n_uids; i++)
		if (uids[i] == cred->uid)
			return true;
	for (i = 0; i < n_gids; i++)
		if (gids[i] == cred->gid)
			return true;
	return n_gids > 0 && peer_in_groups(fd, gids, n_gids);
}

bool
peer_allowed(int fd)
{
	const struct authd_settings *s = authd.set;
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (s->n_peer_uids == 0 && s->n_peer_gids == 0)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		log_warn("SO_PEERCRED");
		return false;
	}
	if (cred.uid == 0 ||
	    peer_listed(fd, &cred, s->peer_uids, s->n_peer_uids, s->peer_gids,
			s->n_peer_gids))
		return true;
	log_notice("refused a client: pid %ld uid %u gid %u is not in "
		   "socket_peer_users or socket_peer_groups", (long)cred.pid,
		   (unsigned)cred.uid, (unsigned)cred.gid);
	return false;
}

bool
peer_no_penalty_ok(int fd)
{
	const struct authd_settings *s = authd.set;
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (s->n_np_uids == 0 && s->n_np_gids == 0)
		return false;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	return peer_listed(fd, &cred, s->np_uids, s->n_np_uids, s->np_gids,
			   s->n_np_gids);
}

bool
peer_control_allowed(int fd, bool have_group, gid_t group,
		     struct ucred *cred_r)
{
	socklen_t len = sizeof(*cred_r);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred_r, &len) < 0) {
		log_warn("control: SO_PEERCRED");
		return false;
	}
	if (cred_r->uid == 0 || cred_r->uid == getuid() ||
	    (have_group && peer_listed(fd, cred_r, NULL, 0, &group, 1)))
		return true;
	log_notice("control: refused pid %ld uid %u gid %u: not root, not "
		   "authd's user, not in control_group", (long)cred_r->pid,
		   (unsigned)cred_r->uid, (unsigned)cred_r->gid);
	return false;
}
