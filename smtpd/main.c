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

static const char *config_path = SMTPD_CONFIG_PATH;
static char **sets;			/* -o key=value, re-applied on reload */
static size_t n_sets;
static struct privs privs;
static const char *chroot_dir = "";
static bool draining;			/* a worker told to finish (SIGHUP) */

/* load_settings - the file, then -o; NULL and *errmsg_r on an error. */
static struct smtpd_settings *
load_settings(char **errmsg_r)
{
	struct config *cfg = config_new(smtpd_keys);
	size_t i;

	if (!config_load(cfg, config_path, false, errmsg_r))
		goto fail;
	for (i = 0; i < n_sets; i++) {
		char *kv = xstrdup(sets[i]), *eq = strchr(kv, '=');
		bool ok;

		if (eq == NULL) {
			*errmsg_r = xasprintf("-o %s: expected key=value",
					      sets[i]);
			free(kv);
			goto fail;
		}
		*eq = '\0';
		ok = config_set(cfg, kv, eq + 1, errmsg_r);
		free(kv);
		if (!ok)
			goto fail;
	}
	return smtpd_settings_load(cfg, config_path, errmsg_r);
fail:
	config_free(cfg);
	return NULL;
}

/* same_process - whether a reload can apply s: the ports are bound and
 * the user is set once, at start. */
static bool
same_process(const struct smtpd_settings *a, const struct smtpd_settings *b)
{
	static const char *const keys[] = { "user", "group", "chroot",
		"pid_file", "syslog_name", "log_facility", "worker_processes",
		NULL };
	size_t i;

	if (a->n_listen != b->n_listen ||
	    memcmp(a->listen, b->listen, a->n_listen * sizeof(*a->listen)) != 0)
		return false;
	for (i = 0; keys[i] != NULL; i++)
		if (strcmp(config_str(a->cfg, keys[i]),
			   config_str(b->cfg, keys[i])) != 0)
			return false;
	return true;
}

/* start_worker - fork one; in the worker (0 returned) drop privileges:
 * the supervisor stays root, to read the password map again on SIGHUP. */
static pid_t
start_worker(void)
{
	pid_t pid = fork();

	if (pid < 0)
		log_warn("fork of a worker");
	if (pid == 0) {
		privs_drop(&privs, chroot_dir);
		/* No core files: AUTH lines carry passwords. */
		(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	}
	return pid;
}

/* supervise - start n workers and look after them; returns only in a
 * worker.  SIGTERM and SIGINT go on to the workers, then the supervisor
 * waits for them and exits.  SIGCHLD restarts a worker that crashed.
 * SIGHUP reads the configuration (and the password map) again: new
 * workers start with it, the old ones finish their sessions and exit. */
static void
supervise(unsigned int n, int *ready_fd, int pid_fd, const char *pid_path)
{
	pid_t *w = xcalloc(n, sizeof(pid_t));
	pid_t *old = NULL;		/* draining after a reload */
	size_t n_old = 0;
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
			log_relay(-1);
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
		if (si.si_signo == SIGHUP && !stopping) {
			char *why = NULL;
			struct smtpd_settings *ns = load_settings(&why);

			if (ns == NULL) {
				log_warnx("SIGHUP: %s; keeping the running "
					  "configuration", why);
				free(why);
				continue;
			}
			if (!same_process(smtpd.set, ns)) {
				log_warnx("SIGHUP: listeners, user, chroot or "
					  "worker_processes changed: restart "
					  "authd-smtpd to apply; keeping the "
					  "running configuration");
				smtpd_settings_free(ns);
				continue;
			}
			smtpd_settings_free(smtpd.set);
			smtpd.set = ns;
			for (i = 0; i < n_listeners; i++)
				listeners[i]->arg = &ns->listen[i];
			old = xreallocarray(old, n_old + n, sizeof(pid_t));
			for (i = 0; i < n; i++) {
				if (w[i] > 0) {
					kill(w[i], SIGHUP);	/* finish */
					old[n_old++] = w[i];
				}
				if ((w[i] = start_worker()) == 0) {
					free(w);
					free(old);
					return;
				}
				if (w[i] < 0)
					w[i] = 0;
			}
			log_info("SIGHUP: configuration reloaded from %s; new "
				 "workers serve, the old ones finish their "
				 "sessions", config_path);
			continue;
		}
		if (si.si_signo != SIGCHLD && !stopping) {
			log_info("signal %d: shutting down", si.si_signo);
			stopping = true;
			for (i = 0; i < n; i++)
				if (w[i] > 0)
					kill(w[i], SIGTERM);
			for (i = 0; i < n_old; i++)
				kill(old[i], SIGTERM);
		}
		while ((pid = waitpid(-1, &st, stopping ? 0 : WNOHANG)) > 0) {
			size_t k;

			for (k = 0; k < n_old && old[k] != pid; k++)
				;
			if (k < n_old) {	/* a drained worker is done */
				old[k] = old[--n_old];
				continue;
			}
			for (i = 0; i < n && w[i] != pid; i++)
				;
			if (i == n)
				continue;
			w[i] = 0;
			if (stopping)
				continue;
			if (WIFEXITED(st) && WEXITSTATUS(st) != 0) {
				/* Not a crash: a failure it reported. */
				log_warnx("worker %ld exited with status %d; "
					  "stopping", (long)pid, WEXITSTATUS(st));
				status = WEXITSTATUS(st);
				stopping = true;
				for (i = 0; i < n; i++)
					if (w[i] > 0)
						kill(w[i], SIGTERM);
				for (k = 0; k < n_old; k++)
					kill(old[k], SIGTERM);
				continue;
			}
			if (WIFSIGNALED(st))
				log_warnx("warning: worker %ld died of signal %d "
					  "(%s); its sessions are lost, starting "
					  "a new one", (long)pid, WTERMSIG(st),
					  strsignal(WTERMSIG(st)));
			else
				log_info("worker %ld finished; starting a new "
					 "one", (long)pid);
			if (time(NULL) - window > CRASH_WINDOW_S) {
				window = time(NULL);
				crashes = 0;
			}
			if (++crashes > CRASH_BURST)
				sleep(1);
			if ((w[i] = start_worker()) == 0) {
				free(w);
				free(old);
				return;
			}
			if (w[i] < 0)
				w[i] = 0;
		}
		if (stopping) {
			for (i = 0; i < n && w[i] == 0; i++)
				;
			if (i == n && n_old == 0)
				break;
		}
	}
	free(w);
	free(old);
	/* The supervisor is still root: the pid file goes. */
	if (unlink(pid_path) < 0)
		(void)!ftruncate(pid_fd, 0);
	smtpd_settings_free(smtpd.set);
	log_info("stopped");
	exit(status);
}

static void
on_accept(int fd, void *arg)
{
	session_accept(fd, arg);
}

static struct loop_timer drain_timer;

static void
drain_poll(struct loop_timer *t)
{
	if (smtpd.n_sessions == 0)
		loop_stop(smtpd.loop);
	else
		loop_timer_set(smtpd.loop, t, 200);
}

/* drain_start - stop accepting; exit (0) once the last session ends. */
static void
drain_start(void)
{
	size_t i;

	if (draining)
		return;
	draining = true;
	for (i = 0; i < n_listeners; i++)
		listener_close(listeners[i], smtpd.loop, false);
	n_listeners = 0;
	loop_timer_init(&drain_timer, drain_poll);
	loop_timer_set(smtpd.loop, &drain_timer, 0);
}

static void
signal_event(struct loop_io *io, uint32_t events)
{
	struct signalfd_siginfo si;

	(void)events;
	while (read(io->fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			/* From the supervisor: a new worker took over. */
			drain_start();
			continue;
		}
		loop_stop(smtpd.loop);
	}
}

int
main(int argc, char **argv)
{
	struct config *cfg;
	struct smtpd_settings *s;
	bool debug = false, foreground = false, check_only = false;
	char *error = NULL;
	int c, rc = -1, pid_fd, ready_fd = -1;
	size_t i;

	/* Before anything opens a descriptor: what a parent leaked to us
	 * (a shell's redirection, a panel's socket) must not reach the
	 * workers that talk to strangers. */
	proc_close_inherited();
	log_init("authd-smtpd", false, 0, true);
	while (rc < 0 && (c = getopt(argc, argv, "c:o:dFtVh")) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'o':
			if (strchr(optarg, '=') == NULL) {
				fprintf(stderr, "authd-smtpd: -o %s: expected "
					"key=value\n", optarg);
				rc = 2;
				break;
			}
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
		return rc;
	}
	if ((s = load_settings(&error)) == NULL)
		fatalx(1, "%s", error);
	smtpd.set = s;
	cfg = s->cfg;
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

	/* Where the lines go: log.h, log_daemon (no log_target key here:
	 * syslog, or the journal's stream under -F). */
	log_daemon(config_str(cfg, "syslog_name"), LOG_TARGET_AUTO,
		   proc_facility(config_str(cfg, "log_facility")),
		   debug ? LOG_MODE_DEBUG : foreground ? LOG_MODE_FOREGROUND :
		   LOG_MODE_BACKGROUND);
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
		ready_fd = proc_daemonize("authd-smtpd");
	proc_write_pid(pid_fd);
	supervise((unsigned int)config_uint(cfg, "worker_processes"), &ready_fd,
		  pid_fd, config_str(cfg, "pid_file"));
	s = smtpd.set;		/* a reload may have made new settings */
	cfg = s->cfg;
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
	proc_ready(ready_fd);
	log_ready();

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
