/*
 * listener - UNIX and TCP listeners.  See listener.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "listener.h"
#include "log.h"
#include "privs.h"
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

static struct listener *
listener_new(int fd, char *name, bool is_unix,
	     void (*on_accept)(int, void *), void *arg)
{
	struct listener *li = xcalloc(1, sizeof(*li));

	li->io.fd = fd;
	li->name = name;
	li->is_unix = is_unix;
	li->on_accept = on_accept;
	li->arg = arg;
	return li;
}

struct listener *
listener_open_unix(const char *dir, const char *name, mode_t mode, uid_t uid,
		   gid_t gid, void (*on_accept)(int, void *), void *arg,
		   char **errmsg_r)
{
	struct sockaddr_un sun;
	struct listener *li;
	struct stat st;
	int fd, n;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(sun.sun_path)) {
		*errmsg_r = xasprintf("%s/%s: socket path longer than %zu bytes",
				      dir, name, sizeof(sun.sun_path) - 1);
		return NULL;
	}
	if (lstat(sun.sun_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			*errmsg_r = xasprintf("%s exists and is not a socket",
					      sun.sun_path);
			return NULL;
		}
		if (probe_live(&sun)) {
			*errmsg_r = xasprintf("%s: another server is listening "
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
		*errmsg_r = xasprintf("%s: %s", sun.sun_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	li = listener_new(fd, xstrdup(sun.sun_path), true, on_accept, arg);
	li->unlink_path = xstrdup(sun.sun_path);
	return li;
}

struct listener *
listener_open_tcp(const char *addr, unsigned int port,
		  void (*on_accept)(int, void *), void *arg, char **errmsg_r)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (port > 65535) {
		*errmsg_r = xasprintf("%s: port %u out of range", addr, port);
		return NULL;
	}
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		len = sizeof(*sin);
	} else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		len = sizeof(*sin6);
	} else {
		*errmsg_r = xasprintf("%s: not a numeric IPv4 or IPv6 address",
				      addr);
		return NULL;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (ss.ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 1024) < 0) {
		*errmsg_r = xasprintf("[%s]:%u: %s", addr, port, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	return listener_new(fd, xasprintf("[%s]:%u", addr, port), false,
			    on_accept, arg);
}

unsigned int
listener_port(const struct listener *li)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (li->is_unix ||
	    getsockname(li->io.fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

#define LISTENER_PAUSE_MS	100
#define LISTENER_WARN_MS	10000

static void
listener_resume(struct loop_timer *t)
{
	struct listener *li = (struct listener *)((char *)t -
						  offsetof(struct listener, pause));

	(void)loop_mod(li->loop, &li->io, EPOLLIN);
}

/* listener_pause - out of descriptors (or kernel memory): stop watching
 * the socket for a moment instead of failing accept(2) in a loop. */
static void
listener_pause(struct listener *li, int err)
{
	uint64_t now = loop_now(li->loop);

	li->failed++;
	if (li->last_warn == 0 || now - li->last_warn >= LISTENER_WARN_MS) {
		log_warnx("warning: %s: cannot accept: %s (%lu time%s); pausing "
			  "%d ms at a time: raise the open-file limit or lower "
			  "max_connections", li->name, strerror(err), li->failed,
			  li->failed == 1 ? "" : "s", LISTENER_PAUSE_MS);
		li->last_warn = now;
		li->failed = 0;
	}
	(void)loop_mod(li->loop, &li->io, 0);
	loop_timer_set(li->loop, &li->pause, LISTENER_PAUSE_MS);
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
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				listener_pause(li, errno);
			else if (errno != EAGAIN && errno != EINTR &&
				 errno != ECONNABORTED)
				log_warn("accept on %s", li->name);
			return;
		}
		if (!li->is_unix) {
			int one = 1;

			/* Replies are whole batches already: send them at
			 * once, not after the client's delayed ACK. */
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
					 sizeof(one));
		}
		li->on_accept(fd, li->arg);
	}
}

bool
listener_start(struct listener *li, struct loop *l)
{
	li->io.cb = listener_ready;
	li->loop = l;
	loop_timer_init(&li->pause, listener_resume);
	return loop_add(l, &li->io, EPOLLIN);
}

void
listener_close(struct listener *li, struct loop *l, bool unlink_path)
{
	if (li == NULL)
		return;
	if (li->loop != NULL)
		loop_timer_cancel(li->loop, &li->pause);
	if (l != NULL)
		loop_del(l, &li->io);
	close(li->io.fd);
	if (li->is_unix && unlink_path && li->unlink_path != NULL &&
	    unlink(li->unlink_path) < 0 && errno != ENOENT)
		log_warn("unlink %s", li->name);
	free(li->unlink_path);
	free(li->name);
	free(li);
}

bool
listener_chroot(struct listener *li, const char *root)
{
	const char *inside;

	if (!li->is_unix)
		return true;
	inside = privs_chroot_path(root, li->name);
	free(li->unlink_path);
	li->unlink_path = inside != NULL ? xstrdup(inside) : NULL;
	return inside != NULL;
}
