/*
 * listener - listening sockets on the event loop: UNIX sockets (authd's
 * mux and auth, in socket_dir) and TCP (authd-smtpd's ports).
 *
 * A UNIX socket path that exists is probed before it is replaced: if
 * something answers, another server is live there and opening fails; if
 * nothing answers, the file is a leftover of a crash and is removed.
 * Owner, group and mode are set on the socket file.  TCP listeners bind
 * one numeric address (IPv4 or IPv6, v6-only so both families can be
 * bound side by side) with SO_REUSEADDR.
 *
 * Accepted descriptors are non-blocking and close-on-exec; what to do
 * with them (connection limits, peer checks) is the on_accept callback's
 * decision, not the listener's.
 */
#ifndef AUTHD_LISTENER_H
#define AUTHD_LISTENER_H

#include <stdbool.h>
#include <sys/types.h>

#include <stdint.h>

#include "loop.h"

struct listener {
	struct loop_io io;
	char *name;			/* the path, or "[addr]:port" */
	bool is_unix;
	char *unlink_path;		/* UNIX: what listener_close removes
					 * (NULL: nothing reachable) */
	void (*on_accept)(int fd, void *arg);
	void *arg;
	/* Out of descriptors, accept(2) fails at once and the socket stays
	 * readable: without a pause the loop would spin on it (and log each
	 * time).  Accepting pauses LISTENER_PAUSE_MS and the warning comes
	 * once per LISTENER_WARN_MS. */
	struct loop *loop;
	struct loop_timer pause;
	uint64_t last_warn;
	unsigned long failed;		/* accepts refused since that warning */
};

/* listener_open_unix - bind and listen on dir/name.  NULL and *errmsg_r
 * (allocated) on failure. */
struct listener *listener_open_unix(const char *dir, const char *name,
				    mode_t mode, uid_t uid, gid_t gid,
				    void (*on_accept)(int fd, void *arg),
				    void *arg, char **errmsg_r);
/* listener_open_tcp - bind and listen on a numeric address and port
 * (port 0: the kernel picks one; listener_port tells which). */
struct listener *listener_open_tcp(const char *addr, unsigned int port,
				   void (*on_accept)(int fd, void *arg),
				   void *arg, char **errmsg_r);
/* listener_port - the bound TCP port (0 for a UNIX listener). */
unsigned int listener_port(const struct listener *li);
/* listener_start - begin accepting on the loop; false if epoll refused. */
bool listener_start(struct listener *li, struct loop *l);
/* listener_chroot - the process is about to chroot(root): the socket
 * file is removed at close through its path inside root.  False when it
 * lies outside root: nothing inside can reach it, so it stays behind at
 * shutdown (the next start finds it stale and replaces it). */
bool listener_chroot(struct listener *li, const char *root);
/* listener_close - stop accepting; unlink a UNIX socket if unlink_path. */
void listener_close(struct listener *li, struct loop *l, bool unlink_path);

#endif
