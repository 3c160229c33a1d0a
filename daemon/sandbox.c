/*
 * sandbox - no_new_privs and the seccomp allow-list.  See sandbox.h.
 *
 * The list is by name, each with why the daemon needs it after start-up;
 * a name this architecture lacks (poll, readlink on arm64) is skipped.
 * How to find a missing call: authd(8), SECURITY, Sandbox.
 */
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <seccomp.h>

#include "sandbox.h"
#include "xalloc.h"

/* Sanitizer runtimes make calls of their own (see sanitizer_calls);
 * meson says so with SANDBOX_SANITIZER (b_sanitize), the compilers with
 * their feature macros. */
#if defined(SANDBOX_SANITIZER) || defined(__SANITIZE_ADDRESS__)
#define SANDBOX_FOR_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer) || \
	__has_feature(thread_sanitizer)
#define SANDBOX_FOR_SANITIZER 1
#endif
#endif
#ifndef SANDBOX_FOR_SANITIZER
#define SANDBOX_FOR_SANITIZER 0
#endif

enum sandbox_rule {
	SANDBOX_ALLOW,		/* any arguments */
	SANDBOX_THREAD,		/* clone: only with CLONE_THREAD */
	SANDBOX_NO_CLONE3,	/* clone3: ENOSYS, so libc falls back to clone */
	SANDBOX_UNIX,		/* socket: AF_UNIX only */
	SANDBOX_NOT_WX,		/* mmap: never writable and executable */
	SANDBOX_NOT_X,		/* mprotect: never made executable */
	SANDBOX_CAPBSET_READ,	/* prctl: PR_CAPBSET_READ only */
};

struct sandbox_call {
	const char *name;
	enum sandbox_rule rule;
};

/* What the daemon kit does once it serves.  Not here, so fatal: execve,
 * fork (a clone without CLONE_THREAD), ptrace, socket other than AF_UNIX,
 * bind/listen (the sockets exist), chmod/chown/rename/mkdir, setuid and
 * friends, mount, chroot, kernel keyrings, bpf, module and reboot calls. */
static const struct sandbox_call base_calls[] = {
	/* malloc (brk, arenas in mmap'd heaps grown by mprotect), yescrypt's
	 * large scratch memory, and dlopen of an NSS module that a reload's
	 * user lookup may load for the first time (file-backed executable
	 * mappings).  Never new writable+executable memory, and never memory
	 * turned executable afterwards (systemd's MemoryDenyWriteExecute). */
	{ "brk", SANDBOX_ALLOW },
	{ "mmap", SANDBOX_NOT_WX },
	{ "munmap", SANDBOX_ALLOW },
	{ "mprotect", SANDBOX_NOT_X },
	{ "madvise", SANDBOX_ALLOW },
	/* Threads: mutexes and condition variables, glibc's per-thread
	 * set-up, and thread creation only (the pools start before the
	 * sandbox; this keeps a later pool possible and fork impossible). */
	{ "futex", SANDBOX_ALLOW },
	{ "set_robust_list", SANDBOX_ALLOW },
	{ "rseq", SANDBOX_ALLOW },
	{ "clone", SANDBOX_THREAD },
	{ "clone3", SANDBOX_NO_CLONE3 },
	{ "sched_getaffinity", SANDBOX_ALLOW },	/* sysconf(cores) on reload */
	{ "exit", SANDBOX_ALLOW },
	{ "exit_group", SANDBOX_ALLOW },
	{ "gettid", SANDBOX_ALLOW },
	{ "getpid", SANDBOX_ALLOW },		/* syslog's LOG_PID */
	/* Signals: the signalfd's mask, SIGPIPE ignored, abort() on a broken
	 * invariant (raise is tgkill on itself). */
	{ "rt_sigprocmask", SANDBOX_ALLOW },
	{ "rt_sigaction", SANDBOX_ALLOW },
	{ "rt_sigreturn", SANDBOX_ALLOW },
	{ "restart_syscall", SANDBOX_ALLOW },
	{ "tgkill", SANDBOX_ALLOW },
	/* Files: authd.conf on SIGHUP, the store opened again when pwtool
	 * renamed a new one in (stat, open, fstat, pread, mmap), NSS files,
	 * and the pid file and sockets removed at shutdown. */
	{ "openat", SANDBOX_ALLOW },
	{ "close", SANDBOX_ALLOW },
	{ "read", SANDBOX_ALLOW },
	{ "pread64", SANDBOX_ALLOW },
	{ "write", SANDBOX_ALLOW },
	{ "lseek", SANDBOX_ALLOW },
	{ "fstat", SANDBOX_ALLOW },
	{ "newfstatat", SANDBOX_ALLOW },
	{ "statx", SANDBOX_ALLOW },
	{ "fcntl", SANDBOX_ALLOW },
	{ "flock", SANDBOX_ALLOW },
	{ "unlink", SANDBOX_ALLOW },
	{ "unlinkat", SANDBOX_ALLOW },
	/* NSS at a reload's user or group lookup: a name that /etc/passwd
	 * lacks makes glibc load the next module of nsswitch.conf now
	 * (libnss_systemd: its libcap probes the capability bounding set,
	 * then it looks for userdb drop-in directories and asks
	 * systemd-userdbd over a UNIX socket). */
	{ "prctl", SANDBOX_CAPBSET_READ },
	{ "readlink", SANDBOX_ALLOW },
	{ "readlinkat", SANDBOX_ALLOW },
	{ "getdents64", SANDBOX_ALLOW },
	{ "poll", SANDBOX_ALLOW },
	/* Clients: accept, peer credentials, the protocols; syslog, which
	 * reconnects to /dev/log after a syslogd restart, and NSS daemons
	 * (nscd, systemd-userdbd) on a reload's user lookup: UNIX only.
	 * systemd's notification socket (daemon/notify.c) was connected
	 * before the drop: RELOADING=1, READY=1 and STOPPING=1 are a send
	 * (sendto) on it. */
	{ "accept4", SANDBOX_ALLOW },
	{ "socket", SANDBOX_UNIX },
	{ "connect", SANDBOX_ALLOW },
	{ "getsockopt", SANDBOX_ALLOW },
	{ "sendto", SANDBOX_ALLOW },
	{ "sendmsg", SANDBOX_ALLOW },
	{ "recvfrom", SANDBOX_ALLOW },
	{ "recvmsg", SANDBOX_ALLOW },
	/* The loop: epoll, its timers, the workers' eventfds; ppoll for
	 * NSS clients. */
	{ "epoll_ctl", SANDBOX_ALLOW },
	{ "epoll_wait", SANDBOX_ALLOW },
	{ "epoll_pwait", SANDBOX_ALLOW },
	{ "eventfd2", SANDBOX_ALLOW },
	{ "timerfd_create", SANDBOX_ALLOW },
	{ "timerfd_settime", SANDBOX_ALLOW },
	{ "ppoll", SANDBOX_ALLOW },
	/* Time (when the vDSO falls back to the kernel), delays. */
	{ "clock_gettime", SANDBOX_ALLOW },
	{ "clock_nanosleep", SANDBOX_ALLOW },
	/* OpenSSL's RAND (nonces, salts). */
	{ "getrandom", SANDBOX_ALLOW },
	/* Reading (never changing) who we are and our limits: the reload
	 * raises the soft descriptor limit up to the hard one. */
	{ "getuid", SANDBOX_ALLOW },
	{ "geteuid", SANDBOX_ALLOW },
	{ "getgid", SANDBOX_ALLOW },
	{ "getegid", SANDBOX_ALLOW },
	{ "prlimit64", SANDBOX_ALLOW },
	{ NULL, SANDBOX_ALLOW },
};

/* The sanitizer runtimes, in the sanitizer build only (the production
 * list stays as above).  Found by running the suite and tests/unit/
 * test_sandbox.c's reports under the filter in that build. */
static const struct sandbox_call sanitizer_calls[] = {
	/* Every thread: ASan's alternate signal stack; its raw syscalls
	 * use the old x86-64 names. */
	{ "sigaltstack", SANDBOX_ALLOW },
	{ "open", SANDBOX_ALLOW },
	{ "stat", SANDBOX_ALLOW },
	{ "sched_yield", SANDBOX_ALLOW },
	{ "nanosleep", SANDBOX_ALLOW },
	/* LeakSanitizer at exit stops the threads from a tracer task:
	 * clone without CLONE_THREAD, PR_SET_PTRACER, ptrace, waitpid, the
	 * thread list from /proc/self/task. */
	{ "clone", SANDBOX_ALLOW },
	{ "prctl", SANDBOX_ALLOW },
	{ "ptrace", SANDBOX_ALLOW },
	{ "wait4", SANDBOX_ALLOW },
	{ "getppid", SANDBOX_ALLOW },
	{ "getdents", SANDBOX_ALLOW },
	{ "kill", SANDBOX_ALLOW },
	/* Reports are symbolized by llvm-symbolizer in a child on pipes,
	 * which inherits the filter: its start-up (ld.so) too. */
	{ "fork", SANDBOX_ALLOW },
	{ "execve", SANDBOX_ALLOW },
	{ "pipe", SANDBOX_ALLOW },
	{ "pipe2", SANDBOX_ALLOW },
	{ "dup2", SANDBOX_ALLOW },
	{ "arch_prctl", SANDBOX_ALLOW },
	{ "set_tid_address", SANDBOX_ALLOW },
	{ "access", SANDBOX_ALLOW },
	{ "ioctl", SANDBOX_ALLOW },
	{ "mmap", SANDBOX_ALLOW },
	{ "mprotect", SANDBOX_ALLOW },
	{ NULL, SANDBOX_ALLOW },
};

bool
sandbox_sanitizer_build(void)
{
	return SANDBOX_FOR_SANITIZER;
}

/* allow_if - allow call nr when argument arg, masked, equals want. */
static int
allow_if(scmp_filter_ctx ctx, int nr, unsigned int arg, scmp_datum_t mask,
	 scmp_datum_t want)
{
	struct scmp_arg_cmp cmp = {
		.arg = arg, .op = SCMP_CMP_MASKED_EQ,
		.datum_a = mask, .datum_b = want,
	};

	return seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, 1, &cmp);
}

/* add_rule - one call of the list: 1 (added), 0 (not a call of this
 * architecture, or one that is refused without killing), or -1. */
static int
add_rule(scmp_filter_ctx ctx, const char *name, enum sandbox_rule rule)
{
	int nr = seccomp_syscall_resolve_name(name), rc = -1;

	if (nr == __NR_SCMP_ERROR)
		return 0;
	switch (rule) {
	case SANDBOX_ALLOW:
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		break;
	case SANDBOX_THREAD:
		rc = allow_if(ctx, nr, 0, CLONE_THREAD, CLONE_THREAD);
		break;
	case SANDBOX_NO_CLONE3:
		/* Its flags sit in a struct the filter cannot read. */
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
		return rc < 0 ? -1 : 0;
	case SANDBOX_UNIX:
		/* All 64 bits: AF_UNIX and nothing in the upper half. */
		rc = allow_if(ctx, nr, 0, ~(scmp_datum_t)0, AF_UNIX);
		break;
	case SANDBOX_NOT_WX:
		/* Two rules: not writable, or not executable. */
		if ((rc = allow_if(ctx, nr, 2, PROT_WRITE, 0)) == 0)
			rc = allow_if(ctx, nr, 2, PROT_EXEC, 0);
		break;
	case SANDBOX_NOT_X:
		rc = allow_if(ctx, nr, 2, PROT_EXEC, 0);
		break;
	case SANDBOX_CAPBSET_READ:
		rc = allow_if(ctx, nr, 0, ~(scmp_datum_t)0, PR_CAPBSET_READ);
		break;
	}
	return rc < 0 ? -1 : 1;
}

/* add_list - every call of list, counted in *count; -1 with *errmsg_r. */
static int
add_list(scmp_filter_ctx ctx, const struct sandbox_call *list, int *count,
	 char **errmsg_r)
{
	int rc;

	for (; list->name != NULL; list++) {
		if ((rc = add_rule(ctx, list->name, list->rule)) < 0) {
			*errmsg_r = xasprintf("sandbox: cannot allow %s",
					      list->name);
			return -1;
		}
		*count += rc;
	}
	return 0;
}

int
sandbox_enter(const char *const *extra, char **errmsg_r)
{
	scmp_filter_ctx ctx = NULL;
	int count = 0, uncounted = 0, rc;

	/* Kill the process, not the thread: a worker thread killed alone
	 * would leave its job and the loop waiting forever.  Needs
	 * SECCOMP_RET_KILL_PROCESS (Linux 4.14, libseccomp API level 3). */
	if (seccomp_api_get() < 3) {
		*errmsg_r = xasprintf("sandbox: the kernel or libseccomp (API "
				      "level %u) cannot kill a whole process",
				      seccomp_api_get());
		return -1;
	}
	/* The filter needs it unless we held CAP_SYS_ADMIN; set it even
	 * then, so no later execve could ever gain privileges. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		*errmsg_r = xasprintf("sandbox: PR_SET_NO_NEW_PRIVS: %s",
				      strerror(errno));
		return -1;
	}
	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL) {
		*errmsg_r = xstrdup("sandbox: seccomp_init failed");
		return -1;
	}
	/* A call through another ABI (i386's int 0x80, x32) is just as
	 * fatal; every thread, including the running workers, gets the
	 * filter in one step or none does. */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
			     SCMP_ACT_KILL_PROCESS) < 0 ||
	    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1) < 0) {
		*errmsg_r = xstrdup("sandbox: seccomp_attr_set failed");
		goto fail;
	}
	if (add_list(ctx, base_calls, &count, errmsg_r) < 0)
		goto fail;
	if (SANDBOX_FOR_SANITIZER &&
	    add_list(ctx, sanitizer_calls, &uncounted, errmsg_r) < 0)
		goto fail;
	/* The caller's own names: a typo must not pass unnoticed until the
	 * call it meant kills the daemon. */
	for (; extra != NULL && *extra != NULL; extra++) {
		if (seccomp_syscall_resolve_name(*extra) == __NR_SCMP_ERROR) {
			*errmsg_r = xasprintf("sandbox: no system call \"%s\"",
					      *extra);
			goto fail;
		}
		if (add_rule(ctx, *extra, SANDBOX_ALLOW) < 0) {
			*errmsg_r = xasprintf("sandbox: cannot allow %s", *extra);
			goto fail;
		}
		count++;
	}
	if ((rc = seccomp_load(ctx)) < 0) {
		*errmsg_r = xasprintf("sandbox: loading the seccomp filter: %s",
				      strerror(-rc));
		goto fail;
	}
	seccomp_release(ctx);
	return count;
fail:
	seccomp_release(ctx);
	return -1;
}
