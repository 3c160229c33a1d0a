/*
 * pwtool - administer authd's credential store; the only writer of it.
 *
 * Untrusted input: the command line, the configuration file, passwords
 * and import files.  Passwords never come from argv (it is visible in
 * ps(1)); see password_input.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "build_config.h"
#include "log.h"
#include "privs.h"
#include "pwtool.h"
#include "conf_keys.h"
#include "store_conf.h"

static const struct {
	const char *name, *alias;
	int (*run)(struct pwtool *);
	int operands;		/* -1: optional FILE */
	bool writes;		/* changes the store (import: unless -n) */
} commands[] = {
	{ "add", NULL, cmd_add, 1, true },
	{ "passwd", "change", cmd_passwd, 1, true },
	{ "delete", "del", cmd_delete, 1, true },
	{ "lock", NULL, cmd_lock, 1, true },
	{ "unlock", NULL, cmd_unlock, 1, true },
	{ "show", NULL, cmd_show, 1, false },
	{ "check", NULL, cmd_check, 1, false },
	{ "list", NULL, cmd_list, 0, false },
	{ "realms", NULL, cmd_realms, 0, false },
	{ "import", NULL, cmd_import, -1, true },
	{ "export", NULL, cmd_export, -1, false },
	{ "compact", NULL, cmd_compact, 0, true },
	{ "batch", NULL, cmd_batch, 0, true },
	{ "import-sasldb", NULL, cmd_import_sasldb, -1, true },
};

static void
usage(FILE *f)
{
	fputs("usage: pwtool [options] COMMAND [USER | FILE]\n"
	      "commands:\n"
	      "  add USER        create a user (fails if it exists)\n"
	      "  passwd USER     set a new password (alias: change)\n"
	      "  delete USER     remove a user (alias: del)\n"
	      "  lock USER       refuse every login of the user\n"
	      "  unlock USER     allow logins again\n"
	      "  show USER       print a user's status and verifiers\n"
	      "  check USER      verify a password (exit 0 ok, 1 wrong)\n"
	      "  list            print every user@realm (-u: one realm)\n"
	      "  realms          print each realm and its number of users\n"
	      "  import [FILE]   add users from lines USER@REALM:FLAGS:VERIFIERS\n"
	      "  export [FILE]   write users in the import format\n"
	      "  compact         fold the store's change log into its base now\n"
	      "  batch           run commands from standard input, one per line\n"
	      "                  (see pwtool(8), BATCH MODE)\n"
	      "  import-sasldb [FILE]\n"
	      "                  add the users of a Cyrus sasldb2 (default\n"
	      "                  /etc/sasldb2), hashing their passwords\n"
	      "options:\n"
	      "  -c, --config FILE     configuration (default " AUTHD_CONFIG_PATH ")\n"
	      "  -f, --file STORE      store file (default: store_path)\n"
	      "  -u, --realm REALM     realm for a USER without @REALM\n"
	      "  -p, --pipe            read the password from standard input\n"
	      "      --password-fd N   read the password from descriptor N\n"
	      "  -m, --mechs LIST      verifiers: plain scram scram-sha-256 scram-sha-1\n"
	      "                        cram-md5 digest-md5 cleartext all\n"
	      "      --disabled        add the user locked\n"
	      "      --replace         import: replace users that exist\n"
	      "  -n, --dry-run         import: check everything, write nothing\n"
	      "      --realm-map FROM=TO\n"
	      "                        import-sasldb: put realm FROM's users into\n"
	      "                        TO (FROM= leaves them out)\n"
	      "      --force           write even where others may access the store\n"
	      "  -j, --json            machine-readable output\n"
	      "  -V, --version         print the version\n"
	      "exit: 0 ok, 1 wrong password, 2 usage, 3 no such user, 4 exists,\n"
	      "      5 store error, 6 bad input, 7 account locked, 8 bad config\n",
	      f);
}

int
pwtool_error(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("pwtool: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

int
pwtool_name_parse(struct pwtool *pw, const char *arg, size_t len,
		  struct userdb_name *name, struct pwtool_status *st)
{
	const char *why;

	if (pw->realm != NULL && memchr(arg, '@', len) != NULL)
		return pwtool_status_set(st, PWTOOL_USAGE, "%.*s: realm given "
					 "twice (both @REALM and -u)",
					 (int)len, arg);
	why = userdb_name_parse(arg, len, pw->realm,
				pw->realm != NULL ? strlen(pw->realm) : 0,
				&pw->rules, name);
	if (why != NULL)
		return pwtool_status_set(st, PWTOOL_INPUT, "%.*s: %s",
					 (int)len, arg, why);
	return PWTOOL_OK;
}

bool
pwtool_store_missing(struct pwtool *pw)
{
	struct stat st;

	return stat(pw->file.path, &st) < 0 && errno == ENOENT;
}

int
pwtool_lookup(struct pwtool *pw, const struct userdb_name *name,
	      struct userdb_record *rec, const char **why_r)
{
	struct userdb *db;
	int r;

	if (pwtool_store_missing(pw)) {
		userdb_record_init(rec);
		return 0;
	}
	/* A batch keeps one reader, which follows the store's commits. */
	if (pw->reader != NULL)
		return userdb_lookup(pw->reader, name->key, name->key_len, rec,
				     why_r);
	db = userdb_new(pw->file.path);
	r = userdb_lookup(db, name->key, name->key_len, rec, why_r);
	if (r < 0) {
		/* Keep the message: it points into the reader. */
		static char msg[512];

		snprintf(msg, sizeof(msg), "%s", *why_r);
		*why_r = msg;
	}
	userdb_free(db);
	return r;
}

/* settings_apply - fill the tool's parameters from the configuration. */
static int
settings_apply(struct pwtool *pw, const char *store_arg)
{
	const char *owner = config_str(pw->cfg, "store_owner");
	const char *group = config_str(pw->cfg, "store_group");

	struct userdb_conf us;
	const char *why, *key;
	unsigned int m;

	if ((why = userdb_conf_load(pw->cfg, &us, &key)) != NULL)
		return pwtool_error(PWTOOL_CONFIG, "%s: %s", key, why);
	pw->rules = us.rules;
	pw->hash = us.hash;
	why = userdb_mechs_parse(config_str(pw->cfg, "pwtool_default_mechs"), &m);
	if (why != NULL)
		return pwtool_error(PWTOOL_CONFIG, "pwtool_default_mechs: %s", why);
	pw->file.path = store_arg != NULL ? store_arg : us.path;
	pw->file.mode = (mode_t)config_uint(pw->cfg, "store_mode");
	pw->file.mode_set = config_is_set(pw->cfg, "store_mode");
	pw->file.lock_timeout = (unsigned int)config_uint(pw->cfg,
							  "store_lock_timeout");
	pw->file.log_max = config_uint(pw->cfg, "store_log_max");
	pw->file.uid = (uid_t)-1;
	pw->file.gid = (gid_t)-1;
	if (owner[0] != '\0' && !privs_uid(owner, &pw->file.uid, NULL))
		return pwtool_error(PWTOOL_CONFIG, "store_owner: no user %s",
				    owner);
	if (group[0] != '\0' && !privs_gid(group, &pw->file.gid))
		return pwtool_error(PWTOOL_CONFIG, "store_group: no group %s",
				    group);
	return PWTOOL_OK;
}

/* store_mode_check - refuse to write a store that others may access.
 * Its verifiers are secrets, and the CRAM-MD5 and DIGEST-MD5 ones are
 * password equivalents: any 'other' permission bit (o+rwx) lets every
 * local user read or change them.  The group is the admin's choice
 * (authd reads the store through it; 0660 lets an admin group write), so
 * group bits pass.  What counts is the mode the file will have after the
 * write: store_mode when set, else the existing file's (a new store gets
 * 0640 whatever the umask, see userdb_txn_commit).  Readers are only
 * warned: refusing to show what is already exposed protects nothing.
 * --force writes anyway (and still warns). */
static int
store_mode_check(struct pwtool *pw, bool writes)
{
	const char *path = pw->file.path;
	struct stat st;

	if (writes && pw->file.mode_set && (pw->file.mode & 0007) != 0) {
		if (!pw->force)
			return pwtool_error(PWTOOL_CONFIG, "store_mode %04o gives "
					    "other users access to the store's "
					    "verifiers: use 0640 or 0600 (or "
					    "--force)", (unsigned)pw->file.mode);
		(void)pwtool_error(0, "warning: store_mode %04o gives other "
				   "users access to the store (--force)",
				   (unsigned)pw->file.mode);
	}
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & 0007) == 0)
		return PWTOOL_OK;
	if (writes && pw->file.mode_set)
		return PWTOOL_OK;	/* this write gives it store_mode */
	if (writes && !pw->force)
		return pwtool_error(PWTOOL_STORE, "%s: mode %04o gives other "
				    "users access to the store's verifiers; "
				    "fix it with: chmod o-rwx %s (or write "
				    "anyway with --force)", path,
				    (unsigned)(st.st_mode & 07777), path);
	(void)pwtool_error(0, "warning: %s: mode %04o gives other users "
			   "access to the store's verifiers; fix it with: "
			   "chmod o-rwx %s", path,
			   (unsigned)(st.st_mode & 07777), path);
	return PWTOOL_OK;
}

/* no_core - a core file of a process that held passwords is a leak. */
static void
no_core(void)
{
	struct rlimit rl = { 0, 0 };

	(void)setrlimit(RLIMIT_CORE, &rl);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

int
main(int argc, char **argv)
{
	enum { OPT_PWFD = 256, OPT_DISABLED, OPT_REPLACE, OPT_FORCE,
	       OPT_REALM_MAP };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "file", required_argument, NULL, 'f' },
		{ "realm", required_argument, NULL, 'u' },
		{ "pipe", no_argument, NULL, 'p' },
		{ "password-fd", required_argument, NULL, OPT_PWFD },
		{ "mechs", required_argument, NULL, 'm' },
		{ "disabled", no_argument, NULL, OPT_DISABLED },
		{ "replace", no_argument, NULL, OPT_REPLACE },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "realm-map", required_argument, NULL, OPT_REALM_MAP },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct pwtool pw;
	const char *config_path = AUTHD_CONFIG_PATH, *store_arg = NULL;
	bool config_given = false;
	char *error = NULL, *end;
	size_t i;
	int c, code;

	no_core();
	log_init("pwtool", false, 0, true);
	memset(&pw, 0, sizeof(pw));
	pw.password_fd = -1;
	while ((c = getopt_long(argc, argv, "c:f:u:pm:njhV", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			config_given = true;
			break;
		case 'f':
			store_arg = optarg;
			break;
		case 'u':
			pw.realm = optarg;
			break;
		case 'p':
			pw.pipe = true;
			break;
		case OPT_PWFD:
			errno = 0;
			pw.password_fd = (int)strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || pw.password_fd < 0 ||
			    optarg[0] == '\0')
				return pwtool_error(PWTOOL_USAGE,
						    "--password-fd: not a descriptor");
			break;
		case 'm':
			pw.mechs_arg = optarg;
			break;
		case OPT_DISABLED:
			pw.disabled = true;
			break;
		case OPT_REPLACE:
			pw.replace = true;
			break;
		case 'n':
			pw.dry_run = true;
			break;
		case OPT_FORCE:
			pw.force = true;
			break;
		case OPT_REALM_MAP:
			if (pw.n_realm_maps == PWTOOL_REALM_MAPS_MAX)
				return pwtool_error(PWTOOL_USAGE, "more than %d "
						    "--realm-map", PWTOOL_REALM_MAPS_MAX);
			pw.realm_maps[pw.n_realm_maps++] = optarg;
			break;
		case 'j':
			pw.json = true;
			break;
		case 'h':
			usage(stdout);
			return PWTOOL_OK;
		case 'V':
			puts("pwtool " AUTHD_VERSION);
			return PWTOOL_OK;
		default:
			usage(stderr);
			return PWTOOL_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return PWTOOL_USAGE;
	}
	if (pw.pipe && pw.password_fd >= 0)
		return pwtool_error(PWTOOL_USAGE, "-p and --password-fd exclude each other");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[optind], commands[i].name) == 0 ||
		    (commands[i].alias != NULL &&
		     strcmp(argv[optind], commands[i].alias) == 0))
			break;
	if (i == sizeof(commands) / sizeof(commands[0]))
		return pwtool_error(PWTOOL_USAGE, "unknown command \"%s\" "
				    "(see pwtool --help)", argv[optind]);
	pw.args = argv + optind + 1;
	pw.nargs = argc - optind - 1;
	if (pw.n_realm_maps > 0 && commands[i].run != cmd_import_sasldb)
		return pwtool_error(PWTOOL_USAGE, "--realm-map is for "
				    "import-sasldb only");
	if (commands[i].operands == 1 && pw.nargs != 1)
		return pwtool_error(PWTOOL_USAGE, "%s takes exactly one USER",
				    commands[i].name);
	pw.cfg = conf_keys_new();
	if (!config_load(pw.cfg, config_path, !config_given, &error)) {
		code = pwtool_error(PWTOOL_CONFIG, "%s", error);
		free(error);
		config_free(pw.cfg);
		return code;
	}
	if ((code = settings_apply(&pw, store_arg)) == PWTOOL_OK &&
	    (code = store_mode_check(&pw, commands[i].writes &&
				     !pw.dry_run)) == PWTOOL_OK) {
		code = commands[i].run(&pw);
		/* After the command, with its password wiped: the compaction
		 * child is a copy of this process (userdb_compact_if_due). */
		if (commands[i].writes && !pw.dry_run)
			userdb_compact_if_due(&pw.file);
	}
	config_free(pw.cfg);
	return code;
}
