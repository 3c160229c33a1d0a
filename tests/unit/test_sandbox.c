/*
 * test_sandbox - daemon/sandbox.c's filter, entered in a child process:
 * what a serving daemon does still works; a forbidden call kills that
 * child, with SIGSYS, from any of its threads (including one that was
 * running before the filter was loaded), and nothing else: the parent,
 * which never entered the sandbox, goes on to the next case.
 *
 * A sanitizer build allows its runtime's calls (fork, execve, ptrace...):
 * those cases are skipped there, and the others still prove the rule.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox.h"
#include "test.h"

#define EXIT_NO_SANDBOX	99	/* sandbox_enter failed in the child */
#define EXIT_SURVIVED	98	/* the forbidden call returned */

/* status_field - the value of "name:" in /proc/self/task/tid/status
 * (tid 0: the process), or -1. */
static long
status_field(pid_t tid, const char *name)
{
	char path[64], buf[4096], *p;
	size_t len = strlen(name);
	ssize_t n;
	int fd;

	if (tid == 0)
		snprintf(path, sizeof(path), "/proc/self/status");
	else
		snprintf(path, sizeof(path), "/proc/self/task/%ld/status",
			 (long)tid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	for (p = buf; p != NULL; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (strncmp(p, name, len) == 0 && p[len] == ':')
			return strtol(p + len + 1, NULL, 10);
	}
	return -1;
}

/* in_sandbox - fork; the child enters the sandbox (with extra names) and
 * exits with fn's result; returns the child's wait status. */
static int
in_sandbox(int (*fn)(void), const char *const *extra)
{
	pid_t pid;
	int st = 0;

	fflush(stdout);
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		char *error = NULL;

		if (sandbox_enter(extra, &error) < 0) {
			printf("# child: %s\n", error);
			fflush(stdout);
			_exit(EXIT_NO_SANDBOX);
		}
		_exit(fn());
	}
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return st;
}

static bool
exited_ok(int st)
{
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return true;
	if (WIFEXITED(st))
		printf("# child exited %d\n", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		printf("# child killed by signal %d\n", WTERMSIG(st));
	return false;
}

static bool
killed_by_sigsys(int st)
{
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS)
		return true;
	if (WIFEXITED(st))
		printf("# child exited %d\n", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		printf("# child killed by signal %d\n", WTERMSIG(st));
	return false;
}

static void *
thread_main(void *arg)
{
	return arg;
}

static int loop_epoll = -1;
/* Filters inherited from whoever runs the test (a container's profile). */
static long base_filters;

/* serve_like_a_daemon - the calls of a serving daemon, each checked; 0
 * when all worked, else the number of the first that failed. */
static int
serve_like_a_daemon(void)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct itimerspec its = { .it_value = { 0, 1000000 } };
	struct timespec ts;
	pthread_t t;
	uint64_t v = 1;
	void *big, *res;
	char *small;
	int ep, efd, tfd, us;
	unsigned char rnd[16];

	if (status_field(0, "Seccomp") != 2 ||
	    status_field(0, "Seccomp_filters") != base_filters + 1 ||
	    status_field(0, "NoNewPrivs") != 1)
		return 1;
	/* malloc, small and large (mmap), and a new thread. */
	if ((small = malloc(100)) == NULL)
		return 2;
	free(small);
	if ((big = malloc(64 << 20)) == NULL)
		return 3;
	memset(big, 1, 64 << 20);
	free(big);
	if (pthread_create(&t, NULL, thread_main, &v) != 0 ||
	    pthread_join(t, &res) != 0 || res != &v)
		return 4;
	/* The loop's kinds of descriptors (its epoll exists before). */
	ep = loop_epoll;
	if ((efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0 ||
	    write(efd, &v, sizeof(v)) != sizeof(v))
		return 6;
	ev.data.fd = efd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) < 0 ||
	    epoll_wait(ep, &ev, 1, 1000) != 1)
		return 7;
	if ((tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC)) < 0 ||
	    timerfd_settime(tfd, 0, &its, NULL) < 0 ||
	    read(tfd, &v, sizeof(v)) != sizeof(v))
		return 8;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0 ||
	    getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		return 9;
	/* syslog's socket (the connect may fail: no /dev/log here). */
	if ((us = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return 10;
	close(us);
	close(tfd);
	close(efd);
	/* clone3 is refused without killing, so that libc falls back to
	 * clone, whose flags the filter can check. */
	errno = 0;
	if (syscall(SYS_clone3, NULL, 0) != -1 || errno != ENOSYS)
		return 11;
	return 0;
}

static int
call_socket_inet(void)
{
	(void)socket(AF_INET, SOCK_STREAM, 0);
	return EXIT_SURVIVED;
}

static int
call_socketpair(void)
{
	int sv[2];

	return socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0 ? 0 : 1;
}

static int
call_chmod(void)
{
	(void)chmod("/nonexistent", 0777);
	return EXIT_SURVIVED;
}

static int
call_setuid(void)
{
	if (setuid(0) == 0)
		return EXIT_SURVIVED + 1;
	return EXIT_SURVIVED;
}

static int
call_execve(void)
{
	char *const argv[] = { "true", NULL };

	execve("/bin/true", argv, NULL);
	return EXIT_SURVIVED;
}

static int
call_ptrace(void)
{
	(void)ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	return EXIT_SURVIVED;
}

static int
call_fork(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	return EXIT_SURVIVED;
}

static int
call_mmap_wx(void)
{
	(void)mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return EXIT_SURVIVED;
}

static int
call_mprotect_x(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return 1;
	(void)mprotect(p, 4096, PROT_READ | PROT_EXEC);
	return EXIT_SURVIVED;
}

/* A thread started before the filter: TSYNC gave it the filter too. */
static int worker_go[2];
static pid_t worker_tid;

static void *
old_worker(void *arg)
{
	char c;

	(void)arg;
	worker_tid = (pid_t)syscall(SYS_gettid);
	if (read(worker_go[0], &c, 1) != 1)
		return NULL;
	(void)socket(AF_INET, SOCK_DGRAM, 0);
	return NULL;
}

/* forbidden_in_old_thread - in a child of its own: start a thread, enter
 * the sandbox, check the thread's status, then let it call socket(AF_INET)
 * while the main thread waits; exits only if the call did not kill. */
static int
forbidden_in_old_thread(void)
{
	pthread_t t;
	pid_t pid;
	int st = 0;

	fflush(stdout);
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		char *error = NULL;
		void *res;

		if (pipe(worker_go) < 0 ||
		    pthread_create(&t, NULL, old_worker, NULL) != 0)
			_exit(1);
		while (__atomic_load_n(&worker_tid, __ATOMIC_SEQ_CST) == 0)
			usleep(1000);
		if (sandbox_enter(NULL, &error) < 0)
			_exit(EXIT_NO_SANDBOX);
		if (status_field(worker_tid, "Seccomp") != 2)
			_exit(2);
		if (write(worker_go[1], "x", 1) != 1)
			_exit(3);
		(void)pthread_join(t, &res);
		_exit(EXIT_SURVIVED);
	}
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return st;
}

/* The sanitizer build: a report made under the filter.  The child's
 * stderr goes to a pipe; returns the wait status, the report in out. */
static volatile size_t overflow_at = 16;
static void *volatile leaked;

static int
asan_overflow(void)
{
	volatile char *p = malloc(16);

	p[overflow_at] = 'x';		/* heap-buffer-overflow */
	free((void *)p);
	return EXIT_SURVIVED;
}

static int
lsan_leak(void)
{
	leaked = malloc(64);
	leaked = NULL;
	exit(0);			/* LeakSanitizer runs at exit */
}

static int
report_in_sandbox(int (*fn)(void), char *out, size_t outlen)
{
	pid_t pid;
	int p[2], st = 0;
	size_t len = 0;
	ssize_t n;

	if (pipe(p) < 0)
		return -1;
	fflush(stdout);
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		char *error = NULL;

		close(p[0]);
		/* As authd: a symbolizer that died is a failed write. */
		signal(SIGPIPE, SIG_IGN);
		if (sandbox_enter(NULL, &error) < 0)
			_exit(EXIT_NO_SANDBOX);
		dup2(p[1], STDERR_FILENO);
		_exit(fn());
	}
	close(p[1]);
	while (len + 1 < outlen &&
	       (n = read(p[0], out + len, outlen - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(p[0]);
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return st;
}

/* sanitizer_reports - a sanitizer runtime still reports under the
 * filter: its calls (the LeakSanitizer's tracer: clone, ptrace; the
 * symbolizer: fork, execve) are in the sanitizer build's list. */
static void
sanitizer_reports(void)
{
	const char *opts = getenv("ASAN_OPTIONS");
	static char out[65536];
	int st;

	if (!sandbox_sanitizer_build() ||
	    (opts != NULL && strstr(opts, "log_path") != NULL)) {
		CHECK(true, "ASan report under the filter # SKIP not an ASan "
		      "build, or its reports go to log_path");
		CHECK(true, "LeakSanitizer under the filter # SKIP likewise");
		return;
	}
	st = report_in_sandbox(asan_overflow, out, sizeof(out));
	CHECK(!(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS) &&
	      !(WIFEXITED(st) && WEXITSTATUS(st) == EXIT_SURVIVED) &&
	      strstr(out, "AddressSanitizer: heap-buffer-overflow") != NULL,
	      "ASan reports a heap overflow under the filter (not SIGSYS)");
	if (strstr(out, "heap-buffer-overflow") == NULL)
		printf("# status %#x, output: %.300s\n", (unsigned)st, out);
	st = report_in_sandbox(lsan_leak, out, sizeof(out));
	CHECK(!(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS) &&
	      (strstr(out, "LeakSanitizer: detected memory leaks") != NULL ||
	       (opts != NULL && strstr(opts, "detect_leaks=0") != NULL)),
	      "LeakSanitizer checks at exit under the filter (not SIGSYS)");
	if (strstr(out, "LeakSanitizer") == NULL)
		printf("# status %#x, output: %.300s\n", (unsigned)st, out);
	printf("# the leak report is %ssymbolized\n",
	       strstr(out, "test_sandbox.c") != NULL ? "" : "not ");
}

int
main(void)
{
	static const char *const extra_socketpair[] = { "socketpair", NULL };
	static const char *const extra_typo[] = { "no_such_call", NULL };
	static const struct {
		const char *what;
		int (*fn)(void);
		bool sanitizer_allows;
	} forbidden[] = {
		{ "socket(AF_INET)", call_socket_inet, false },
		{ "socketpair (not in the list)", call_socketpair, false },
		{ "chmod", call_chmod, false },
		{ "setuid", call_setuid, false },
		{ "execve", call_execve, true },
		{ "ptrace", call_ptrace, true },
		{ "fork (clone without CLONE_THREAD)", call_fork, true },
		{ "mmap writable and executable", call_mmap_wx, true },
		{ "mprotect to executable", call_mprotect_x, true },
	};
	char *error = NULL;
	size_t i;
	int st;

	base_filters = status_field(0, "Seccomp_filters");
	loop_epoll = epoll_create1(EPOLL_CLOEXEC);
	st = in_sandbox(serve_like_a_daemon, NULL);
	CHECK(exited_ok(st), "allowed: memory, threads, epoll, eventfd, "
	      "timerfd, clock, getrandom, AF_UNIX socket; clone3 is ENOSYS");
	for (i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
		if (forbidden[i].sanitizer_allows && sandbox_sanitizer_build()) {
			CHECK(true, "forbidden: %s # SKIP the sanitizer runtime "
			      "needs it", forbidden[i].what);
			continue;
		}
		st = in_sandbox(forbidden[i].fn, NULL);
		CHECK(killed_by_sigsys(st), "forbidden: %s kills the child "
		      "with SIGSYS", forbidden[i].what);
	}
	st = forbidden_in_old_thread();
	CHECK(killed_by_sigsys(st), "a thread started before the filter has "
	      "it too, and its forbidden call kills the whole child");
	st = in_sandbox(call_socketpair, extra_socketpair);
	CHECK(exited_ok(st), "an extra name is allowed (socketpair)");
	st = in_sandbox(call_socketpair, extra_typo);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == EXIT_NO_SANDBOX,
	      "an unknown extra name is an error, not a silent gap");
	sanitizer_reports();
	CHECK(status_field(0, "Seccomp_filters") == base_filters,
	      "the parent, which never entered, has no filter and is alive");
	CHECK(sandbox_enter(extra_typo, &error) < 0 && error != NULL &&
	      strstr(error, "no_such_call") != NULL &&
	      status_field(0, "Seccomp_filters") == base_filters,
	      "the error names the call, and no filter was loaded");
	free(error);
	return test_done();
}
