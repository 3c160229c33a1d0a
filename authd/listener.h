/*
 * listener - the daemon's UNIX sockets, all in socket_dir.
 *
 * A socket path that exists is probed before it is replaced: if something
 * answers, another authd is live there and start-up fails; if nothing
 * answers, the file is a leftover of a crash and is removed.  Owner,
 * group and mode are set on the socket file (default 0660, never
 * saslauthd's 0777), and the optional SO_PEERCRED check runs on accept.
 */
#ifndef AUTHD_LISTENER_H
#define AUTHD_LISTENER_H

#include <stdbool.h>
#include <sys/types.h>

#include "loop.h"

struct listener {
	struct loop_io io;
	char *path;
	void (*on_accept)(int fd);
};

/* listener_open - bind and listen on dir/name.  NULL and *error_r
 * (allocated) on failure. */
struct listener *listener_open(const char *dir, const char *name,
			       mode_t mode, uid_t uid, gid_t gid,
			       void (*on_accept)(int fd), char **error_r);
/* listener_start - begin accepting on the loop. */
void listener_start(struct listener *li, struct loop *l);
/* listener_close - stop accepting; unlink the socket if unlink_path. */
void listener_close(struct listener *li, struct loop *l, bool unlink_path);

#endif
