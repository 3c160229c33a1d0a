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
 * fatal, naming prog and the running pid, if another holds it.  Until
 * proc_ready, an exit of this process (or of the daemon it forks into)
 * removes the file: a failed start leaves none. */
int proc_lock_pid_file(const char *path, const char *prog);
/* proc_pid_file_moved - the pid file's path as this process now reaches
 * it (inside a chroot), or NULL when it cannot: a start-up that fails
 * removes the file through it (proc_lock_pid_file arranges that, until
 * proc_ready). */
void proc_pid_file_moved(const char *path);
/* proc_write_pid - our pid into the locked file. */
void proc_write_pid(int fd);
/* proc_daemonize - fork; the parent prints what the child relays on a
 * pipe (its warnings and errors, log_relay) and exits 0 once the child is
 * ready, or with the child's status when it failed, saying why if the
 * child could not (a signal) and removing the pid file.  prog names the
 * daemon in the parent's own messages.  Returns the write end in the
 * child (proc_ready() ends start-up on it). */
int proc_daemonize(const char *prog);
/* proc_ready - start-up succeeded: tell the waiting parent (fd may be
 * -1: in the foreground), stop relaying, and keep the pid file from now
 * on (the daemon removes it at shutdown). */
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
