/*
 * notify - the sd_notify(3) datagram protocol.  See notify.h.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "notify.h"
#include "xalloc.h"

static int notify_fd = -1;

bool
notify_open(char **errmsg_r)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	socklen_t len;
	size_t n;

	if (path == NULL || notify_fd >= 0)
		return true;
	n = strlen(path);
	/* A path or an abstract name ('@' for the leading NUL); systemd 254's
	 * "vsock:" addresses are for virtual machines, not services. */
	if ((path[0] != '/' && path[0] != '@') || n < 2 ||
	    n >= sizeof(sun.sun_path)) {
		*errmsg_r = xasprintf("NOTIFY_SOCKET=%.100s: not a UNIX socket "
				      "path or @name; not telling systemd",
				      path);
		goto fail;
	}
	memcpy(sun.sun_path, path, n);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	/* An abstract name is not NUL-terminated: the length says where it
	 * ends. */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
			  (path[0] == '/'));
	if ((notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(notify_fd, (struct sockaddr *)&sun, len) < 0) {
		*errmsg_r = xasprintf("NOTIFY_SOCKET=%.100s: %s; not telling "
				      "systemd", path, strerror(errno));
		if (notify_fd >= 0)
			close(notify_fd);
		notify_fd = -1;
		goto fail;
	}
	unsetenv("NOTIFY_SOCKET");
	return true;
fail:
	unsetenv("NOTIFY_SOCKET");
	return false;
}

void
notify_send(const char *state)
{
	if (notify_fd >= 0)
		(void)!send(notify_fd, state, strlen(state), MSG_NOSIGNAL);
}

void
notify_ready(const char *status)
{
	char msg[512];

	/* MAINPID: in the background the daemon is not the process systemd
	 * started. */
	snprintf(msg, sizeof(msg), "READY=1\nMAINPID=%ld\nSTATUS=%s",
		 (long)getpid(), status);
	notify_send(msg);
}

void
notify_reloading(void)
{
	struct timespec ts;
	char msg[128];

	/* systemd 253's Type=notify-reload wants the time of the request
	 * with it; older ones ignore the field. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ULL +
		 (unsigned long long)ts.tv_nsec / 1000ULL);
	notify_send(msg);
}

void
notify_stopping(void)
{
	notify_send("STOPPING=1");
}
