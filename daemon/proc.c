/*
 * proc - shared start-up steps.  See proc.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"

/* The pid file this process locked, removed if it exits before it serves
 * (proc_ready): a file left by a start that failed would name no daemon,
 * or a dead one.  Only by the process that owns it: after the fork that
 * is the daemon, never a worker process of authd-smtpd. */
static char proc_pid_path[4096];
static pid_t proc_pid_owner;
static char proc_prog[64] = "authd";
static int proc_pid_fd = -1;

static void
proc_pid_cleanup(void)
{
	if (proc_pid_owner == getpid() && proc_pid_path[0] != '\0')
		(void)unlink(proc_pid_path);
}

void
proc_pid_file_moved(const char *path)
{
	if (path == NULL || (size_t)snprintf(proc_pid_path,
			sizeof(proc_pid_path), "%s", path) >= sizeof(proc_pid_path))
		proc_pid_path[0] = '\0';
}

void
proc_close_inherited(void)
{
	struct rlimit rl;
	unsigned long fd, max = 1024;

	if (close_range(3, ~0U, 0) == 0)
		return;
	/* A kernel before 5.9 (ENOSYS): one by one, up to the limit. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		max = (unsigned long)rl.rlim_cur;
	for (fd = 3; fd < max; fd++)
		(void)close((int)fd);
}

int
proc_lock_pid_file(const char *path, const char *prog)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	char buf[32] = "";
	ssize_t n;

	if (fd < 0)
		fatal(1, "pid file %s", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		fatalx(1, "another %s is running (pid file %s, pid %s)", prog,
		       path, buf[0] ? buf : "?");
	}
	proc_pid_file_moved(path);
	proc_pid_fd = fd;
	if (proc_pid_owner == 0)
		atexit(proc_pid_cleanup);
	proc_pid_owner = getpid();
	return fd;
}

void
proc_write_pid(int fd)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n)
		fatal(1, "writing the pid file");
}

/* parent_wait - in the parent: print what the child relays until it says
 * "ready" (one NUL byte) and exit 0, or until the pipe closes: then the
 * child failed; exit with its status, saying why when it could not (a
 * signal), and remove the pid file it left (the parent still shares the
 * lock on it, so no other instance can hold it meanwhile). */
static noreturn void
parent_wait(int rfd, pid_t child)
{
	char buf[1024], *nul;
	ssize_t n;
	int st, i;

	while ((n = read(rfd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		nul = memchr(buf, '\0', (size_t)n);
		(void)!write(STDERR_FILENO, buf, nul != NULL ?
			     (size_t)(nul - buf) : (size_t)n);
		if (nul != NULL)
			_exit(0);
	}
	/* authd-smtpd's supervisor outlives a worker that crashed: wait a
	 * second at most. */
	for (i = 0; i < 100; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		if (waitpid(child, &st, WNOHANG) == child) {
			struct stat a, b;

			/* Only the file we locked, not a newer instance's. */
			if (proc_pid_path[0] != '\0' && proc_pid_fd >= 0 &&
			    fstat(proc_pid_fd, &a) == 0 &&
			    stat(proc_pid_path, &b) == 0 && a.st_dev == b.st_dev &&
			    a.st_ino == b.st_ino)
				(void)unlink(proc_pid_path);
			if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
				_exit(WEXITSTATUS(st));
			if (WIFSIGNALED(st))
				dprintf(STDERR_FILENO, "%s: the daemon (pid %ld) "
					"died of signal %d (%s) during start-up\n",
					proc_prog, (long)child, WTERMSIG(st),
					strsignal(WTERMSIG(st)));
			else
				dprintf(STDERR_FILENO, "%s: the daemon (pid %ld) "
					"exited during start-up\n", proc_prog,
					(long)child);
			_exit(1);
		}
		nanosleep(&ts, NULL);
	}
	dprintf(STDERR_FILENO, "%s: the daemon (pid %ld) did not finish its "
		"start-up; see the log\n", proc_prog, (long)child);
	_exit(1);
}

int
proc_daemonize(const char *prog)
{
	int p[2], null;
	pid_t pid;

	snprintf(proc_prog, sizeof(proc_prog), "%s", prog);
	if (pipe2(p, O_CLOEXEC) < 0)
		fatal(1, "pipe");
	if ((pid = fork()) < 0)
		fatal(1, "fork");
	if (pid > 0) {
		close(p[1]);
		parent_wait(p[0], pid);
	}
	close(p[0]);
	proc_pid_owner = getpid();
	/* A parent killed meanwhile (^C at the terminal) must not take the
	 * daemon with it through a relayed line: a failed write, not a
	 * SIGPIPE (the daemons ignore it from proc_signals on anyway). */
	signal(SIGPIPE, SIG_IGN);
	if (setsid() < 0)
		fatal(1, "setsid");
	if ((null = open("/dev/null", O_RDWR)) >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		/* Unless stderr is where the lines go (log_target, or no
		 * syslog daemon): then it stays. */
		if (!log_to_stderr())
			dup2(null, STDERR_FILENO);
		close(null);
	}
	if (!log_under_systemd())
		log_relay(p[1]);
	return p[1];
}

void
proc_ready(int fd)
{
	char ok = 0;

	proc_pid_owner = 0;
	log_relay(-1);
	if (fd < 0)
		return;
	(void)!write(fd, &ok, 1);
	close(fd);
}

void
proc_raise_nofile(unsigned int want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want + 64) {
		rl.rlim_cur = rl.rlim_max < want + 64 ? rl.rlim_max : want + 64;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* Said now, not first at the busiest moment as a failing accept. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want + 64)
		log_warnx("warning: the open-file limit (%lu) is below the %u "
			  "descriptors max_connections needs: raise it (ulimit "
			  "-n, LimitNOFILE=) or lower max_connections",
			  (unsigned long)rl.rlim_cur, want + 64);
}

void
proc_signals(struct loop *l, struct loop_io *io,
	     void (*cb)(struct loop_io *io, uint32_t events))
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	io->fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	io->cb = cb;
	if (io->fd < 0 || !loop_add(l, io, EPOLLIN))
		fatal(1, "signalfd");
}

int
proc_facility(const char *name)
{
	static const struct { const char *n; int f; } m[] = {
		{ "auth", LOG_AUTH }, { "authpriv", LOG_AUTHPRIV },
		{ "mail", LOG_MAIL }, { "daemon", LOG_DAEMON },
		{ "user", LOG_USER }, { "local0", LOG_LOCAL0 },
		{ "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
		{ "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 },
		{ "local5", LOG_LOCAL5 }, { "local6", LOG_LOCAL6 },
		{ "local7", LOG_LOCAL7 },
	};
	size_t i;

	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (strcmp(m[i].n, name) == 0)
			return m[i].f;
	return LOG_AUTH;
}
