/*
 * main - authd start-up, signals, reload and shutdown.
 *
 * Start-up order matters: as root, read the configuration, lock the pid
 * file (one instance), create the socket directory and sockets, and open
 * syslog; then fork into the background (unless -d/-F), drop privileges,
 * start the worker threads (after the fork: threads do not survive it),
 * and report readiness to the waiting parent, so `authd` exits non-zero
 * if anything failed before the daemon could serve.
 *
 * Untrusted input: the configuration file and the command line.
 */
#include <errno.h>
#include <pwd.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "server.h"
#include "build_config.h"
#include "backend.h"
#include "cache.h"
#include "conn.h"
#include "conn_auth.h"
#include "conn_control.h"
#include "conn_limit.h"
#include "conn_mux.h"
#include "listener.h"
#include "log.h"
#include "peer.h"
#include "loop.h"
#include "mech.h"
#include "notify.h"
#include "privs.h"
#include "proc.h"
#include "sandbox.h"
#include "stats.h"
#include "conf_keys.h"
#include "secret.h"
#include "storepool.h"
#include "throttle.h"
#include "userdb.h"
#include "worker.h"
#include "xalloc.h"

#define SHUTDOWN_GRACE_MS	3000

static const char *config_path = AUTHD_CONFIG_PATH;
static bool config_given;
static struct config *overrides;	/* -m -a -n -r: re-applied on reload */
static struct listener *mux_listener, *auth_listener;
static struct listener *control_listener;	/* NULL: control_socket = none */
static bool control_have_group;			/* control_group is set */
static gid_t control_gid;
static struct loop_io signal_io;
static struct loop_timer shutdown_timer;
static char *pid_path;
static const char *chroot_dir = "";

/* The two sockets: what takes over an admitted client. */
struct socket_kind {
	enum conn_kind kind;
	void (*accept)(int fd, const struct conn_slot *slot);
};
static const struct socket_kind mux_socket = { CONN_KIND_MUX, conn_mux_accept };
static const struct socket_kind auth_socket = { CONN_KIND_AUTH,
						conn_auth_accept };

/* admit - the checks every new client of either socket passes first:
 * the peer check, then the connection limits (conn_limit.h). */
static void
admit(int fd, void *arg)
{
	const struct socket_kind *kind = arg;
	struct conn_slot slot;

	if (!peer_allowed(fd) || !conn_limit_admit(fd, kind->kind, &slot)) {
		close(fd);
		return;
	}
	stats.accepted[kind->kind == CONN_KIND_MUX ? STATS_MUX : STATS_AUTH]++;
	kind->accept(fd, &slot);
}

/* admit_control - the control socket has its own peer rule and limit
 * (conn_control.h), not socket_peer_* or max_connections: an admin must
 * get in when the other sockets are full. */
static void
admit_control(int fd, void *arg)
{
	(void)arg;
	conn_control_accept(fd, control_have_group, control_gid);
}

/* open_control - the control socket, root's, 0600, or 0660 with
 * control_group (resolved by main; conn_control.h says who gets in). */
static void
open_control(const struct authd_settings *s)
{
	char *error = NULL;

	if (s->control_socket == NULL)
		return;
	control_listener = listener_open_unix(s->socket_dir, s->control_socket,
					      control_have_group ? 0660 : 0600,
					      0, control_have_group ?
					      control_gid : 0, admit_control,
					      NULL, &error);
	if (control_listener == NULL)
		fatalx(1, "%s", error);
}

static void
usage(FILE *f)
{
	fputs("usage: authd [-dFtVh] [-c config] [-m socket_dir] [-a store|pam] "
	      "[-n workers] [-r]\n"
	      "  -c, --config FILE  configuration (default " AUTHD_CONFIG_PATH ")\n"
	      "  -m DIR             socket directory: DIR/mux and DIR/auth\n"
	      "  -a NAME            back-end: store (default) or pam\n"
	      "  -n N               hash worker threads (0: one per core)\n"
	      "  -r                 PAM: pass user@realm, not just the user "
	      "(saslauthd -r)\n"
	      "  -d                 debug: stay in the foreground, log to stderr\n"
	      "  -F                 stay in the foreground (for systemd); log to "
	      "syslog,\n"
	      "                     or to the journal under systemd\n"
	      "  -t                 check the configuration and exit\n"
	      "  -V, --version      print the version\n"
	      "  -h, --help         print this help\n", f);
}

/* inside_chroot - a path as the daemon sees it after chroot(2); one not
 * under the chroot is taken as it is (authd.conf(5), chroot). */
static const char *
inside_chroot(const char *path)
{
	const char *p = privs_chroot_path(chroot_dir, path);

	return p != NULL ? p : path;
}

/* load_config - the file, then command-line overrides; NULL on error
 * after printing it. */
static struct authd_settings *
load_config(bool missing_ok)
{
	struct config *cfg = conf_keys_new();
	struct authd_settings *s;
	char *error = NULL;
	const struct config_key *k;

	if (!config_load(cfg, config_path, missing_ok, &error))
		goto fail;
	for (k = conf_keys; overrides != NULL && k->name != NULL; k++)
		if (config_is_set(overrides, k->name)) {
			/* Clear the file's value first: the command line wins. */
			struct config *tmp = cfg;

			if (!config_set(tmp, k->name,
					config_str(overrides, k->name), &error))
				goto fail;
		}
	if ((s = authd_settings_load(cfg, &error)) == NULL)
		goto fail;
	{
		const char *mechs = config_str(cfg, "auth_mechanisms"), *why;

		if (strcasestr(mechs, "digest-md5") != NULL &&
		    s->rules.default_realm[0] == '\0' &&
		    config_str(cfg, "digest_md5_realms")[0] == '\0') {
			error = xstrdup("auth_mechanisms: DIGEST-MD5 needs "
					"default_realm or digest_md5_realms");
			goto fail_settings;
		}
		if ((why = mech_enable(mechs, config_str(cfg,
				"auth_realm_mechanisms"))) != NULL) {
			error = xstrdup(why);
			goto fail_settings;
		}
	}
	return s;
fail_settings:
	log_warnx("%s", error);
	free(error);
	authd_settings_free(s);
	return NULL;
fail:
	log_warnx("%s", error);
	free(error);
	config_free(cfg);
	return NULL;
}

/* make_socket_dir - create socket_dir if missing, owned by the daemon's
 * user and socket_group.  An existing directory is left as the admin made
 * it (it may be the MTA's own, e.g. /var/spool/postfix/private). */
static void
make_socket_dir(const struct authd_settings *s, const struct privs *p,
		gid_t sock_gid)
{
	const char *dir = s->socket_dir;
	mode_t mode = (mode_t)config_uint(s->cfg, "socket_dir_mode");
	struct stat st;

	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			fatalx(1, "socket_dir %s is not a directory", dir);
		return;
	}
	if (mkdir(dir, mode) < 0)
		fatal(1, "mkdir %s", dir);
	if (chown(dir, p->uid, sock_gid) < 0 || chmod(dir, mode) < 0)
		fatal(1, "socket_dir %s", dir);
}

/* check_access - authd -t as root: what the daemon will open after its
 * privilege drop, opened by a child that dropped the same way (chroot,
 * groups, user): access(2) as root, or mode bits read by hand, would miss
 * an ACL, a directory on the way or a group list.  Warnings only. */
static void
check_access(const struct authd_settings *s, const struct privs *p,
	     bool config_exists)
{
	const char *user = config_str(s->cfg, "user");
	struct stat st;
	pid_t pid;
	int fd, status;

	if (geteuid() != 0 || p->uid == 0)
		return;
	if (chroot_dir[0] != '\0' && stat(chroot_dir, &st) < 0) {
		fprintf(stderr, "authd: warning: chroot %s: %s\n", chroot_dir,
			strerror(errno));
		return;
	}
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) < 0)
		return;
	if (pid > 0) {
		(void)waitpid(pid, &status, 0);
		return;
	}
	privs_drop(p, chroot_dir);
	/* SIGHUP reads the file again, as user, inside the chroot. */
	if (config_exists) {
		if ((fd = open(config_path, O_RDONLY | O_CLOEXEC)) >= 0)
			close(fd);
		else
			fprintf(stderr, "authd: warning: %s%s is not readable "
				"by user %s (%s): a SIGHUP would fail to reload "
				"it\n", config_path, chroot_dir[0] != '\0' ?
				" (inside the chroot)" : "", user,
				strerror(errno));
	}
	/* A store that is not there yet is pwtool's to create. */
	if (s->backend->lookup_credentials != NULL &&
	    stat(inside_chroot(s->store_path), &st) == 0) {
		struct userdb *db = userdb_new(inside_chroot(s->store_path));
		struct userdb_record rec;
		const char *why;

		userdb_record_init(&rec);
		if (userdb_lookup(db, "", 0, &rec, &why) < 0)
			fprintf(stderr, "authd: warning: the store is not "
				"readable by user %s (%s): every check would "
				"fail\n", user, why);
		userdb_record_clear(&rec);
		userdb_free(db);
	}
	fflush(stderr);
	_exit(0);
}

static void
make_cache(void)
{
	cache_free(authd.cache);
	authd.cache = authd.set->cache ?
		      cache_new(authd.set->cache_size, authd.set->cache_ttl) : NULL;
}

/* limit_queues - auth_queue_max and auth_queue_per_source on both pools
 * (at start and on every reload). */
static void
limit_queues(const struct authd_settings *s)
{
	worker_pool_limit(authd.hash_pool, s->queue_max, s->queue_per_source);
	if (authd.pam_pool != NULL)
		worker_pool_limit(authd.pam_pool, s->queue_max,
				  s->queue_per_source);
}

/* Keys whose new value a reload cannot apply: they shape what start-up
 * built (sockets, privileges, threads, the dummy verifier). */
static const char *const restart_keys[] = {
	"socket_dir", "socket_owner", "socket_group", "socket_mode",
	"socket_dir_mode", "pid_file", "user", "group", "chroot",
	"log_facility", "log_target", "auth_backend", "auth_workers",
	"pam_workers", "pam_groups", "password_scheme", "password_cost",
	"sandbox", "control_socket", "control_group", "store",
	"store_pg_conninfo", "store_pg_conninfo_file", "store_pg_connections",
	"store_pg_password_query", "store_pg_notify",
	NULL,
};

/* reload - SIGHUP: re-read the file; apply what can change at run time
 * (names, delays, cache, store path, PAM service, peer lists); keep the
 * old settings entirely if the new file has an error.  A file that was
 * there at start-up must still be there: reverting every key to its
 * default because the file vanished would be a silent disaster. */
static void
reload(void)
{
	struct authd_settings *s, *old = authd.set;
	bool cache_changed;
	size_t i;

	notify_reloading();
	if ((s = load_config(false)) == NULL) {
		log_warnx("reload failed: keeping the running configuration");
		notify_ready("serving; the last reload failed");
		return;
	}
	for (i = 0; restart_keys[i] != NULL; i++) {
		if (strcmp(config_str(s->cfg, restart_keys[i]),
			   config_str(old->cfg, restart_keys[i])) == 0)
			continue;
		log_warnx("reload: %s changes only on restart; keeping %s",
			  restart_keys[i], config_str(old->cfg, restart_keys[i]));
		{
			char *e = NULL;

			(void)config_set(s->cfg, restart_keys[i],
					 config_str(old->cfg, restart_keys[i]), &e);
			free(e);
		}
	}
	/* Derived values of restart-only keys stay as start-up made them. */
	s->backend = old->backend;
	s->workers = old->workers;
	s->pam_workers = old->pam_workers;
	s->socket_dir = config_str(s->cfg, "socket_dir");
	s->pid_file = config_str(s->cfg, "pid_file");
	s->hash = old->hash;
	s->control_socket = old->control_socket == NULL ? NULL :
			    config_str(s->cfg, "control_socket");
	cache_changed = s->cache != old->cache || s->cache_ttl != old->cache_ttl ||
			s->cache_size != old->cache_size;
	authd.set = s;
	s->store = old->store;
	s->store_pg_connections = old->store_pg_connections;
	if (!s->store.pg && strcmp(s->store_path, old->store_path) != 0) {
		userdb_free(authd.db);
		authd.db = userdb_new(inside_chroot(s->store_path));
	}
	if (cache_changed)
		make_cache();
	limit_queues(s);
	storepool_limit(s->queue_max, s->queue_per_source);
	conn_budget_set(s->memory_max);
	/* The unprivileged daemon may still raise its soft limit up to the
	 * hard one, and says so if that is not enough. */
	if (s->max_connections > old->max_connections)
		proc_raise_nofile(s->max_connections);
	authd_settings_free(old);
	log_info("configuration reloaded from %s", config_path);
	notify_ready("serving");
}

static uint64_t shutdown_deadline;

/* shutdown_poll - stop once no check is in flight, or at the deadline. */
static void
shutdown_poll(struct loop_timer *t)
{
	if (check_pending() == 0 || loop_now(authd.loop) >= shutdown_deadline) {
		loop_stop(authd.loop);
		return;
	}
	loop_timer_set(authd.loop, t, 20);
}

/* begin_shutdown - stop taking connections; let checks in flight answer
 * for a short grace period, then stop. */
static void
begin_shutdown(int sig)
{
	if (authd.stopping)
		return;
	authd.stopping = true;
	notify_stopping();
	log_info("signal %d: shutting down", sig);
	listener_close(mux_listener, authd.loop, true);
	listener_close(auth_listener, authd.loop, true);
	listener_close(control_listener, authd.loop, true);
	mux_listener = auth_listener = control_listener = NULL;
	shutdown_deadline = loop_now(authd.loop) + SHUTDOWN_GRACE_MS;
	loop_timer_init(&shutdown_timer, shutdown_poll);
	loop_timer_set(authd.loop, &shutdown_timer, 0);
}

static void
signal_event(struct loop_io *io, uint32_t events)
{
	struct signalfd_siginfo si;

	(void)events;
	while (read(io->fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			reload();
		else
			begin_shutdown((int)si.ssi_signo);
	}
}

/* enter_sandbox - the last step of start-up (threads, sockets and store
 * are there): see daemon/sandbox.h.  Not with PAM, whose modules may run
 * any program (pam_unix runs the setgid unix_chkpwd, which no_new_privs
 * would strip of its group, and the filter would kill). */
static void
enter_sandbox(const struct authd_settings *s)
{
	char *error = NULL;
	int n;

	if (!s->sandbox) {
		log_info("sandbox: off (sandbox = no)");
		return;
	}
	if (s->backend == &backend_pam) {
		log_info("sandbox: off with auth_backend = pam (PAM modules "
			 "may run any program)");
		return;
	}
	if (s->store.pg) {
		/* libpq opens TCP sockets, resolves names, reads its TLS files
		 * and service file when it reconnects: more than the kit's
		 * allow-list, and a missed call would kill authd at the first
		 * fail-over. */
		log_info("sandbox: off with store = postgresql (libpq "
			 "reconnects with calls the allow-list does not have)");
		return;
	}
	if ((n = sandbox_enter(NULL, &error)) < 0)
		fatalx(1, "%s (sandbox = no starts without it)", error);
	log_info("sandbox: on, no_new_privs and %d system calls%s; any "
		 "other kills authd", n, sandbox_sanitizer_build() ?
		 " (and the sanitizer runtime's)" : "");
}

int
main(int argc, char **argv)
{
	struct config *over = conf_keys_new();
	struct authd_settings *s;
	struct privs privs;
	bool debug = false, foreground = false, check_only = false;
	char *error = NULL, *pg_conninfo = NULL;
	const char *why;
	int c, pid_fd, ready_fd = -1;
	gid_t sock_gid;
	uid_t sock_uid;

	/* Nothing a parent left open stays with the daemon. */
	proc_close_inherited();
	/* Passwords pass through this process: no core files. */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	log_init("authd", false, LOG_AUTH, true);
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};

	while ((c = getopt_long(argc, argv, "c:m:a:n:rdFtVh", longopts,
				NULL)) != -1) {
		const char *key = NULL, *val = optarg;

		switch (c) {
		case 'c':
			config_path = optarg;
			config_given = true;
			break;
		case 'm': key = "socket_dir"; break;
		case 'a': key = "auth_backend"; break;
		case 'n': key = "auth_workers"; break;
		case 'r': key = "pam_append_realm"; val = "yes"; break;
		case 'd': debug = foreground = true; break;
		case 'F': foreground = true; break;
		case 't': check_only = true; break;
		case 'V':
			puts("authd " AUTHD_VERSION);
			config_free(over);
			return 0;
		case 'h':
			usage(stdout);
			config_free(over);
			return 0;
		default:
			usage(stderr);
			config_free(over);
			return 2;
		}
		if (key != NULL && !config_set(over, key, val, &error)) {
			fprintf(stderr, "authd: -%c %s: %s\n", c, val, error);
			free(error);
			config_free(over);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		config_free(over);
		return 2;
	}
	overrides = over;
	if ((s = load_config(!config_given)) == NULL) {
		config_free(overrides);
		return 1;
	}
	authd.set = s;
	chroot_dir = config_str(s->cfg, "chroot");
	if (!privs_resolve(config_str(s->cfg, "user"), config_str(s->cfg, "group"),
			   s->backend == &backend_pam ?
			   config_str(s->cfg, "pam_groups") : "", &privs, &error)) {
		log_warnx("%s: %s", config_path, error);
		free(error);
		goto early_exit;
	}
	sock_uid = privs.uid;
	sock_gid = privs.gid;
	if (config_str(s->cfg, "socket_group")[0] != '\0' &&
	    !privs_gid(config_str(s->cfg, "socket_group"), &sock_gid)) {
		log_warnx("socket_group: no such group \"%s\"",
			  config_str(s->cfg, "socket_group"));
		goto early_exit;
	}
	if (config_str(s->cfg, "socket_owner")[0] != '\0' &&
	    !privs_uid(config_str(s->cfg, "socket_owner"), &sock_uid, NULL)) {
		log_warnx("socket_owner: no such user \"%s\"",
			  config_str(s->cfg, "socket_owner"));
		goto early_exit;
	}
	control_have_group = config_str(s->cfg, "control_group")[0] != '\0';
	if (control_have_group &&
	    !privs_gid(config_str(s->cfg, "control_group"), &control_gid)) {
		log_warnx("control_group: no such group \"%s\"",
			  config_str(s->cfg, "control_group"));
		goto early_exit;
	}
	if (check_only) {
		/* Warnings (stderr, exit 0): what the configuration itself
		 * cannot say will go wrong later. */
		struct stat cst;
		char *parent = xstrdup(s->socket_dir);

		bool config_exists = stat(config_path, &cst) == 0;

		if (!config_exists && errno == ENOENT)
			fprintf(stderr, "authd: warning: %s does not exist: "
				"the built-in defaults are used\n", config_path);
		if (stat(dirname(parent), &cst) < 0 && errno == ENOENT)
			fprintf(stderr, "authd: warning: socket_dir %s: its "
				"parent %s does not exist (authd creates only "
				"the last component)\n", s->socket_dir, parent);
		free(parent);
		check_access(s, &privs, config_exists);
		if (s->store.pg) {
			/* The connection string must be readable as root (and
			 * its file safe); the server is not asked: it may be
			 * down while the file is checked. */
			char *ci = userdb_conf_conninfo(&s->store, &why);

			if (ci == NULL) {
				fprintf(stderr, "authd: %s\n", why);
				authd_settings_free(s);
				config_free(overrides);
				return 1;
			}
			secret_free_str(ci);
		}
		printf("authd: %s: configuration OK\n", config_path);
		authd_settings_free(s);
		config_free(overrides);
		return 0;
	}
	if (geteuid() != 0)
		fatalx(1, "must be started as root (it binds its sockets, then "
		       "drops to user %s)", config_str(s->cfg, "user"));

	/* Where the lines go: log.h, log_daemon. */
	log_daemon("authd", s->log_target,
		   proc_facility(config_str(s->cfg, "log_facility")),
		   debug ? LOG_MODE_DEBUG : foreground ? LOG_MODE_FOREGROUND :
		   LOG_MODE_BACKGROUND);
	/* Now, as root and outside the chroot: the socket's path lies
	 * outside it. */
	if (!notify_open(&error)) {
		log_warnx("warning: %s", error);
		free(error);
		error = NULL;
	}
	if (privs.uid == 0)
		log_warnx("user = root: authd will not drop privileges");
	log_set_debug(debug);
	make_socket_dir(s, &privs, sock_gid);
	pid_path = s->pid_file[0] != '\0' ? xstrdup(s->pid_file) :
		   xasprintf("%s/authd.pid", s->socket_dir);
	pid_fd = proc_lock_pid_file(pid_path, "authd");
	if (fchown(pid_fd, privs.uid, privs.gid) < 0)
		fatal(1, "pid file %s", pid_path);
	mux_listener = listener_open_unix(s->socket_dir, "mux",
					  (mode_t)config_uint(s->cfg,
							      "socket_mode"),
					  sock_uid, sock_gid, admit,
					  (void *)&mux_socket, &error);
	if (mux_listener == NULL)
		fatalx(1, "%s", error);
	auth_listener = listener_open_unix(s->socket_dir, "auth",
					   (mode_t)config_uint(s->cfg,
							       "socket_mode"),
					   sock_uid, sock_gid, admit,
					   (void *)&auth_socket, &error);
	if (auth_listener == NULL)
		fatalx(1, "%s", error);
	open_control(s);
	proc_raise_nofile(s->max_connections);
	if (!foreground)
		ready_fd = proc_daemonize("authd");
	proc_write_pid(pid_fd);
	/* After chroot the sockets and the pid file are removed at shutdown
	 * through their paths inside it; what lies outside cannot be. */
	{
		bool mux_in = listener_chroot(mux_listener, chroot_dir);
		bool auth_in = listener_chroot(auth_listener, chroot_dir);

		if (control_listener != NULL &&
		    !listener_chroot(control_listener, chroot_dir))
			mux_in = false;
		if (!mux_in || !auth_in ||
		    privs_chroot_path(chroot_dir, pid_path) == NULL)
			log_warnx("socket_dir %s or pid_file %s lies outside "
				  "chroot %s: authd cannot remove them when it "
				  "stops", s->socket_dir, pid_path, chroot_dir);
	}
	/* Read as root, before the drop: the file may be root's alone. */
	if (s->store.pg &&
	    (pg_conninfo = userdb_conf_conninfo(&s->store, &why)) == NULL)
		fatalx(1, "%s", why);
	{
		/* HOME becomes the user's: libpq looks there for its client
		 * certificate and password file, and root's home, which the
		 * dropped user may not even stat, would fail every TLS
		 * connection ("could not open certificate file"). */
		struct passwd *pw = getpwuid(privs.uid);
		char *home = pw != NULL ? xstrdup(pw->pw_dir) : NULL;

		privs_drop(&privs, chroot_dir);
		if (home == NULL || setenv("HOME", home, 1) != 0)
			(void)unsetenv("HOME");
		free(home);
	}
	proc_pid_file_moved(privs_chroot_path(chroot_dir, pid_path));
	/* The drop resets the dumpable flag to fs.suid_dumpable: set it
	 * again, passwords are in this process's memory. */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

	/* From here on: the unprivileged daemon. */
	userdb_verify_dummy_init(&s->hash);
	authd.loop = loop_new();
	stats.start_ms = loop_now(authd.loop);
	stats.start_time = (int64_t)time(NULL);
	/* Every lookup stat()s the manifest and fstat()s the log (about a
	 * microsecond): one check per loop wake-up missed commits that ended
	 * between two requests handled in the same wake-up (the proof tests
	 * saw 42-344 of 10,000 changes answered from the older state). */
	if (!s->store.pg) {
		struct userdb_record rec;

		authd.db = userdb_new(inside_chroot(s->store_path));
		userdb_record_init(&rec);
		if (s->backend->lookup_credentials != NULL &&
		    userdb_lookup(authd.db, "", 0, &rec, &why) < 0)
			log_warnx("store not readable yet (%s); every check "
				  "fails temporarily until it is", why);
		userdb_record_clear(&rec);
	}
	authd.throttle = throttle_new(65536, 15 * 60 * 1000);
	conn_budget_set(s->memory_max);
	make_cache();
	proc_signals(authd.loop, &signal_io, signal_event);
	/* Threads start after proc_signals: they inherit its blocked mask,
	 * so SIGHUP and SIGTERM reach the signalfd and never a thread whose
	 * default action would end the process. */
	if (s->store.pg) {
		if (s->store.pg_password_query[0] != '\0')
			storepool_set_query(s->store.pg_password_query,
					    &s->rules);
		if (config_bool(s->cfg, "store_pg_notify"))
			storepool_listen();
		storepool_start(pg_conninfo, s->store_pg_connections);
		secret_free_str(pg_conninfo);
		pg_conninfo = NULL;
	}
	authd.hash_pool = worker_pool_new(authd.loop, s->workers, "hash");
	if (s->backend->may_block)
		authd.pam_pool = worker_pool_new(authd.loop, s->pam_workers, "pam");
	limit_queues(s);
	storepool_limit(s->queue_max, s->queue_per_source);
	if (!listener_start(mux_listener, authd.loop) ||
	    !listener_start(auth_listener, authd.loop) ||
	    (control_listener != NULL &&
	     !listener_start(control_listener, authd.loop)))
		fatal(1, "epoll add of a listening socket");
	enter_sandbox(s);
	log_info("ready: %s/mux and %s/auth, back-end %s, %u hash workers, "
		 "cache %s, mechanisms %s, store %s", s->socket_dir,
		 s->socket_dir, s->backend->name, s->workers,
		 s->cache ? "on" : "off", config_str(s->cfg, "auth_mechanisms"),
		 s->store.pg ? "postgresql" : "gdbm");
	proc_ready(ready_fd);
	log_ready();
	{
		char *status = xasprintf("serving %s/mux and %s/auth",
					 s->socket_dir, s->socket_dir);

		notify_ready(status);
		free(status);
	}

	loop_run(authd.loop);

	conn_mux_close_all();
	conn_auth_close_all();
	conn_control_close_all();

	listener_close(mux_listener, authd.loop, true);
	listener_close(auth_listener, authd.loop, true);
	listener_close(control_listener, authd.loop, true);
	/* First: a lookup that completes now may hand its check on to the
	 * hash pool. */
	storepool_stop();
	worker_pool_free(authd.hash_pool);
	worker_pool_free(authd.pam_pool);
	if (privs_chroot_path(chroot_dir, pid_path) != NULL &&
	    unlink(inside_chroot(pid_path)) < 0 && errno != ENOENT)
		log_warn("unlink %s", pid_path);
	log_info("stopped");
	cache_free(authd.cache);
	throttle_free(authd.throttle);
	userdb_free(authd.db);
	loop_free(authd.loop);
	authd_settings_free(authd.set);
	config_free(overrides);
	free(pid_path);
	close(pid_fd);
	return 0;
early_exit:
	authd_settings_free(s);
	config_free(overrides);
	return 1;
}
