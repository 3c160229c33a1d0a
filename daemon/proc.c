/*
 * proc - shared start-up steps.  See proc.h.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"

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

int
proc_daemonize(void)
{
	int p[2], null;
	pid_t pid;
	char status = 1;

	if (pipe2(p, O_CLOEXEC) < 0)
		fatal(1, "pipe");
	if ((pid = fork()) < 0)
		fatal(1, "fork");
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &status, 1) != 1)
			status = 1;
		_exit(status);
	}
	close(p[0]);
	if (setsid() < 0)
		fatal(1, "setsid");
	if ((null = open("/dev/null", O_RDWR)) >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		close(null);
	}
	return p[1];
}

void
proc_ready(int fd)
{
	char ok = 0;

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
