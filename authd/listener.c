/*
 * listener - UNIX socket listeners.  See listener.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "authd.h"
#include "listener.h"
#include "log.h"
#include "xalloc.h"

/* Connections taken per readiness report of a listening socket. */
#define ACCEPT_BATCH	32

/* probe_live - whether a server answers on path. */
static bool
probe_live(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live;

	if (fd < 0)
		return false;
	live = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	return live;
}

struct listener *
listener_open(const char *dir, const char *name, mode_t mode, uid_t uid,
	      gid_t gid, void (*on_accept)(int), char **error_r)
{
	struct sockaddr_un sun;
	struct listener *li;
	struct stat st;
	int fd, n;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(sun.sun_path)) {
		*error_r = xasprintf("%s/%s: socket path longer than %zu bytes",
				     dir, name, sizeof(sun.sun_path) - 1);
		return NULL;
	}
	if (lstat(sun.sun_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			*error_r = xasprintf("%s exists and is not a socket",
					     sun.sun_path);
			return NULL;
		}
		if (probe_live(&sun)) {
			*error_r = xasprintf("%s: another server is listening "
					     "there", sun.sun_path);
			return NULL;
		}
		log_info("removing stale socket %s", sun.sun_path);
		(void)unlink(sun.sun_path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    chmod(sun.sun_path, mode) < 0 ||
	    ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	     chown(sun.sun_path, uid, gid) < 0) ||
	    listen(fd, 1024) < 0) {
		*error_r = xasprintf("%s: %s", sun.sun_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	li = xcalloc(1, sizeof(*li));
	li->io.fd = fd;
	li->path = xstrdup(sun.sun_path);
	li->on_accept = on_accept;
	return li;
}

static void
listener_ready(struct loop_io *io, uint32_t events)
{
	struct listener *li = (struct listener *)io;

	(void)events;
	/* A bounded batch: a mux connection is often served and closed
	 * inside on_accept, so clients that reconnect at once could keep
	 * this loop going for ever, starving the other sockets and timers
	 * and holding back the deferred frees.  The socket is level-
	 * triggered: what is left is reported again on the next wait. */
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int fd = accept4(io->fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("accept on %s", li->path);
			return;
		}
		if (authd.connections >= authd.set->max_connections) {
			log_warnx("%s: max_connections (%u) reached, refusing",
				  li->path, authd.set->max_connections);
			close(fd);
			continue;
		}
		if (!authd_peer_allowed(fd)) {
			close(fd);
			continue;
		}
		li->on_accept(fd);
	}
}

void
listener_start(struct listener *li, struct loop *l)
{
	li->io.cb = listener_ready;
	if (!loop_add(l, &li->io, EPOLLIN))
		fatal(1, "epoll add %s", li->path);
}

void
listener_close(struct listener *li, struct loop *l, bool unlink_path)
{
	if (li == NULL)
		return;
	if (l != NULL)
		loop_del(l, &li->io);
	close(li->io.fd);
	if (unlink_path && unlink(li->path) < 0 && errno != ENOENT)
		log_warn("unlink %s", li->path);
	free(li->path);
	free(li);
}
