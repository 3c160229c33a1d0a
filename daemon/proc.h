/*
 * proc - the start-up steps both daemons (authd, authd-smtpd) share: the
 * pid file and its lock, going to the background with the parent waiting
 * for the child's "ready", the descriptor limit, and syslog facility
 * names.  Start-up only: every failure here is fatal().
 */
#ifndef AUTHD_PROC_H
#define AUTHD_PROC_H

#include "loop.h"

/* proc_close_inherited - close every descriptor above stderr the process
 * was started with: a parent's file, socket or terminal left open without
 * close-on-exec would otherwise stay open for the daemon's lifetime,
 * keeping its peer alive and crossing the chroot and the privilege drop
 * with it.  Call it first in main, before anything of ours is open.
 * stdin, stdout and stderr stay (proc_daemonize points them at
 * /dev/null).  No descriptor is passed on purpose: neither daemon takes
 * systemd's socket activation (LISTEN_FDS). */
void proc_close_inherited(void);
/* proc_lock_pid_file - open and flock path (one instance per pid file;
 * the kernel drops the lock with the process, so a crash leaves none);
 * fatal, naming prog and the running pid, if another holds it. */
int proc_lock_pid_file(const char *path, const char *prog);
/* proc_write_pid - our pid into the locked file. */
void proc_write_pid(int fd);
/* proc_daemonize - fork; the parent waits for the child's one status
 * byte on a pipe and exits with it.  Returns the write end in the child
 * (proc_ready() writes 0 to it). */
int proc_daemonize(void);
/* proc_ready - tell the waiting parent that start-up succeeded. */
void proc_ready(int fd);
/* proc_raise_nofile - make room for want descriptors (+ 64 spare), and
 * warn when the hard limit does not allow it. */
void proc_raise_nofile(unsigned int want);
/* proc_signals - SIGHUP, SIGTERM and SIGINT come through a signalfd
 * watched by io on l (cb reads struct signalfd_siginfo from io->fd);
 * SIGPIPE is ignored (a peer that goes away is a failed write, not a
 * death). */
void proc_signals(struct loop *l, struct loop_io *io,
		  void (*cb)(struct loop_io *io, uint32_t events));
/* The syslog facilities proc_facility knows, as a CONFIG_ENUM list. */
#define PROC_FACILITIES "auth|authpriv|mail|daemon|user|local0|local1|" \
			"local2|local3|local4|local5|local6|local7"
/* proc_facility - a syslog facility name ("mail") as LOG_*; LOG_AUTH
 * for an unknown one (the config reader checked the name). */
int proc_facility(const char *name);

#endif
