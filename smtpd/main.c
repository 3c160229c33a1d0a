/*
 * main - authd-smtpd start-up, signals and shutdown.
 *
 * Start-up as root: read smtpd.conf and everything it names (maps, the
 * TLS key: files the unprivileged user must not be able to read), resolve
 * the next hop, bind the ports; then go to the background (unless -d/-F),
 * chroot if asked, drop to the configured user, connect to authd's auth
 * socket and serve.  `authd-smtpd` exits non-zero if anything failed
 * before it could serve.
 *
 * The process that starts stays as a supervisor: it forks the workers
 * (worker_processes, default 1) that run the event loop and serve, and
 * starts a new one when one dies of a signal - a crash ends the sessions
 * of that worker only, and the ports keep answering.  A worker that
 * exits with a status (a start-up failure) ends the daemon.
 *
 * Untrusted input: the configuration file and the command line.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "build_config.h"
#include "dnsbl.h"
#include "listener.h"
#include "log.h"
#include "loop.h"
#include "privs.h"
#include "proc.h"
#include "sasl.h"
#include "session.h"
#include "settings.h"
#include "xalloc.h"

static struct loop_io signal_io;
static struct listener **listeners;
static size_t n_listeners;

static void
usage(FILE *f)
{
	fputs("usage: authd-smtpd [-dFtV] [-c config] [-o key=value]...\n"
	      "  -c FILE        configuration (default " SMTPD_CONFIG_PATH ")\n"
	      "  -o KEY=VALUE   set a key (after the file; for tests and trials)\n"
	      "  -d             debug: stay in the foreground, log to stderr\n"
	      "  -F             stay in the foreground (for systemd), log to syslog\n"
	      "  -t             check the configuration and exit\n"
	      "  -V             print the version\n", f);
}

/* A burst of crashes is not a reason to fork as fast as the kernel
 * allows: after this many in CRASH_WINDOW_S seconds, pause a second. */
#define CRASH_BURST	5
#define CRASH_WINDOW_S	10

/* start_worker - fork one; returns 0 in the worker. */
static pid_t
start_worker(void)
{
	pid_t pid = fork();

	if (pid < 0)
		log_warn("fork of a worker");
	return pid;
}

/* supervise - start n workers and look after them; returns only in a
 * worker.  Signals: SIGTERM and SIGINT go on to the workers, then the
 * supervisor waits for them and exits; SIGCHLD restarts a crashed one. */
static void
supervise(unsigned int n, int *ready_fd, int pid_fd, const char *pid_path)
{
	pid_t *w = xcalloc(n, sizeof(pid_t));
	sigset_t set;
	unsigned int i, crashes = 0;
	time_t window = 0;
	bool stopping = false;
	int status = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < n; i++) {
		if ((w[i] = start_worker()) == 0) {
			free(w);
			return;
		}
		if (w[i] < 0)
			fatal(1, "fork");
		/* Later workers do not report readiness. */
		if (i == 0 && *ready_fd >= 0) {
			close(*ready_fd);
			*ready_fd = -1;
		}
	}
	for (;;) {
		siginfo_t si;
		pid_t pid;
		int st;

		if (sigwaitinfo(&set, &si) < 0)
			continue;
		if (si.si_signo == SIGHUP) {
			log_info("SIGHUP: authd-smtpd reads its configuration "
				 "only at start; restart it to apply changes");
			continue;
		}
		if (si.si_signo != SIGCHLD && !stopping) {
			log_info("signal %d: shutting down", si.si_signo);
			stopping = true;
			for (i = 0; i < n; i++)
				if (w[i] > 0)
					kill(w[i], SIGTERM);
		}
		while ((pid = waitpid(-1, &st, stopping ? 0 : WNOHANG)) > 0) {
			for (i = 0; i < n && w[i] != pid; i++)
				;
			if (i == n)
				continue;
			w[i] = 0;
			if (stopping)
				continue;
			if (WIFEXITED(st)) {
				/* Not a crash: a failure it reported. */
				log_warnx("worker %ld exited with status %d; "
					  "stopping", (long)pid, WEXITSTATUS(st));
				status = WEXITSTATUS(st) ? WEXITSTATUS(st) : 1;
				stopping = true;
				for (i = 0; i < n; i++)
					if (w[i] > 0)
						kill(w[i], SIGTERM);
				continue;
			}
			log_warnx("warning: worker %ld died of signal %d (%s); "
				  "its sessions are lost, starting a new one",
				  (long)pid, WTERMSIG(st), strsignal(WTERMSIG(st)));
			if (time(NULL) - window > CRASH_WINDOW_S) {
				window = time(NULL);
				crashes = 0;
			}
			if (++crashes > CRASH_BURST)
				sleep(1);
			if ((w[i] = start_worker()) == 0) {
				free(w);
				return;
			}
			if (w[i] < 0)
				w[i] = 0;
		}
		if (stopping) {
			for (i = 0; i < n && w[i] == 0; i++)
				;
			if (i == n)
				break;
		}
	}
	/* The unprivileged user may not remove the file from a root-owned
	 * /run: then empty it (we hold it open), so no stale pid stays. */
	if (unlink(pid_path) < 0)
		(void)!ftruncate(pid_fd, 0);
	log_info("stopped");
	exit(status);
}

static void
on_accept(int fd, void *arg)
{
	session_accept(fd, arg);
}

static void
signal_event(struct loop_io *io, uint32_t events)
{
	struct signalfd_siginfo si;

	(void)events;
	while (read(io->fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			log_info("SIGHUP: authd-smtpd reads its configuration "
				 "only at start; restart it to apply changes");
			continue;
		}
		loop_stop(smtpd.loop);
	}
}

int
main(int argc, char **argv)
{
	const char *config_path = SMTPD_CONFIG_PATH;
	struct config *cfg = config_new(smtpd_keys);
	struct smtpd_settings *s;
	struct privs privs;
	bool debug = false, foreground = false, check_only = false;
	char *error = NULL, *eq;
	const char *chroot_dir;
	int c, rc = -1, pid_fd, ready_fd = -1;
	size_t i;
	char **sets = NULL;
	size_t n_sets = 0;

	log_init("authd-smtpd", false, 0, true);
	while (rc < 0 && (c = getopt(argc, argv, "c:o:dFtVh")) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'o':
			sets = xreallocarray(sets, n_sets + 1, sizeof(char *));
			sets[n_sets++] = optarg;
			break;
		case 'd': debug = foreground = true; break;
		case 'F': foreground = true; break;
		case 't': check_only = true; break;
		case 'V':
			puts("authd-smtpd " AUTHD_VERSION);
			rc = 0;
			break;
		case 'h':
			usage(stdout);
			rc = 0;
			break;
		default:
			usage(stderr);
			rc = 2;
			break;
		}
	}
	if (rc < 0 && optind != argc) {
		usage(stderr);
		rc = 2;
	}
	if (rc >= 0) {
		/* Freed, so that a leak checker has nothing to report. */
		free(sets);
		config_free(cfg);
		return rc;
	}
	if (!config_load(cfg, config_path, false, &error))
		fatalx(1, "%s", error);
	for (i = 0; i < n_sets; i++) {
		char *kv = xstrdup(sets[i]);

		if ((eq = strchr(kv, '=')) == NULL)
			fatalx(2, "-o %s: expected key=value", sets[i]);
		*eq = '\0';
		if (!config_set(cfg, kv, eq + 1, &error))
			fatalx(2, "-o %s: %s", sets[i], error);
		free(kv);
	}
	free(sets);
	if ((s = smtpd_settings_load(cfg, config_path, &error)) == NULL)
		fatalx(1, "%s", error);
	smtpd.set = s;
	chroot_dir = config_str(cfg, "chroot");
	if (!privs_resolve(config_str(cfg, "user"), config_str(cfg, "group"), "",
			   &privs, &error))
		fatalx(1, "%s: %s", config_path, error);
	if (check_only) {
		printf("authd-smtpd: %s: configuration OK\n", config_path);
		smtpd_settings_free(s);
		return 0;
	}
	if (geteuid() != 0)
		fatalx(1, "must be started as root (it binds its ports, then "
		       "drops to user %s)", config_str(cfg, "user"));

	log_init(config_str(cfg, "syslog_name"), !debug,
		 proc_facility(config_str(cfg, "log_facility")), foreground);
	if (privs.uid == 0)
		log_warnx("user = root: authd-smtpd will not drop privileges");
	log_set_debug(debug);
	pid_fd = proc_lock_pid_file(config_str(cfg, "pid_file"), "authd-smtpd");
	for (i = 0; i < s->n_listen; i++) {
		struct listener *li = listener_open_tcp(s->listen[i].addr,
							s->listen[i].port,
							on_accept,
							&s->listen[i], &error);

		if (li == NULL)
			fatalx(1, "%s", error);
		listeners = xreallocarray(listeners, n_listeners + 1,
					  sizeof(*listeners));
		listeners[n_listeners++] = li;
	}
	proc_raise_nofile(s->max_connections * 2 + 16);
	if (!foreground)
		ready_fd = proc_daemonize();
	proc_write_pid(pid_fd);
	privs_drop(&privs, chroot_dir);
	/* No core files: AUTH lines carry passwords. */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	supervise((unsigned int)config_uint(cfg, "worker_processes"), &ready_fd,
		  pid_fd, config_str(cfg, "pid_file"));
	/* A worker from here on. */
	{
		sigset_t set;

		sigemptyset(&set);
		sigaddset(&set, SIGCHLD);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
	}

	smtpd.loop = loop_new();
	proc_signals(smtpd.loop, &signal_io, signal_event);
	/* Threads after the fork: they would not survive it. */
	if (s->maildirs != NULL)
		smtpd.pool = worker_pool_new(smtpd.loop, s->maildir_workers,
					     "maildir");
	sasl_init(smtpd.loop, s->auth_socket, s->auth_timeout_ms,
		  session_sasl_result);
	session_worker_init();
	for (i = 0; i < n_listeners; i++)
		if (!listener_start(listeners[i], smtpd.loop))
			fatal(1, "epoll add of a listening socket");
	{
		struct buf b = BUF_INIT;

		for (i = 0; i < n_listeners; i++)
			buf_printf(&b, "%s%s (%s)", i ? ", " : "",
				   listeners[i]->name,
				   s->listen[i].kind == PORT_SMTP ? "smtp" :
				   s->listen[i].kind == PORT_SUBMISSION ?
				   "submission" : "smtps");
		log_info("ready: %s; next hop %s (%s), authd at %s",
			 b.data != NULL ? b.data : "", s->relay.name,
			 s->relay.lmtp ? "LMTP" : "SMTP", s->auth_socket);
		buf_free(&b);
	}
	if (!debug)
		log_set_stderr(false);
	proc_ready(ready_fd);

	loop_run(smtpd.loop);

	for (i = 0; i < n_listeners; i++)
		listener_close(listeners[i], smtpd.loop, false);
	free(listeners);
	session_close_all();
	loop_run_deferred(smtpd.loop);
	sasl_shutdown();
	loop_run_deferred(smtpd.loop);
	worker_pool_free(smtpd.pool);
	dnsbl_free(smtpd.dnsbl);
	loop_run_deferred(smtpd.loop);
	loop_free(smtpd.loop);
	smtpd_settings_free(s);
	return 0;
}
