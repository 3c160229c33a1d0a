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

#include "buf.h"
#include "build_config.h"
#include "log.h"
#include "privs.h"
#include "pwtool.h"
#include "conf_keys.h"
#include "secret.h"
#include "store_conf.h"
#include "utf8.h"
#include "xalloc.h"

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
	{ "init", NULL, cmd_init, -1, true },
};

static const char usage_text[] =
	"usage: pwtool [options] COMMAND [USER | FILE]\n"
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
	      "  init [FILE]     create or upgrade a PostgreSQL store's schema\n"
	      "                  (default " AUTHD_SCHEMA_PATH ")\n"
	      "options:\n"
	      "  -c, --config FILE     configuration (default " AUTHD_CONFIG_PATH ")\n"
	      "  -f, --file STORE      GDBM store file or postgresql:// URI\n"
	      "                        (default: store, store_path)\n"
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
	      "      5 store error, 6 bad input, 7 account locked, 8 bad config\n";

/* usage - the summary on f; with --json (on stdout, for --help) as the
 * "usage" member of a success object. */
static void
usage(FILE *f, bool json)
{
	if (!json) {
		fputs(usage_text, f);
		return;
	}
	fputs("{\"ok\":true,\"command\":\"help\",\"usage\":", f);
	json_string(f, usage_text);
	fputs("}\n", f);
}

void
pwtool_term_print(FILE *f, const char *msg)
{
	const unsigned char *s = (const unsigned char *)msg;
	size_t i = 0, n = strlen(msg), len;

	fputs("pwtool: ", f);
	while (i < n) {
		if (s[i] >= 0x20 && s[i] < 0x7f) {
			putc(s[i++], f);
			continue;
		}
		/* A whole UTF-8 sequence passes, unless it is a C1 control
		 * (U+0080..U+009F, encoded C2 80..C2 9F), which some
		 * terminals obey like ESC. */
		len = s[i] >= 0xf0 ? 4 : s[i] >= 0xe0 ? 3 : s[i] >= 0xc2 ? 2 : 0;
		if (len != 0 && i + len <= n && utf8_valid(s + i, len) &&
		    !(s[i] == 0xc2 && s[i + 1] < 0xa0)) {
			fwrite(s + i, 1, len, f);
			i += len;
			continue;
		}
		fprintf(f, "\\x%02x", s[i++]);
	}
	putc('\n', f);
}

/* pwtool_error - the one place a message is printed: on stderr always
 * (a person reads it, with or without --json), and, when it is a failure,
 * noted for the --json error object (json.c). */
int
pwtool_error(int code, const char *fmt, ...)
{
	char msg[PWTOOL_ERROR_MAX];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pwtool_term_print(stderr, msg);
	if (code != PWTOOL_OK)
		json_note_error(code, msg);
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
	json_note_key(name->key);
	return PWTOOL_OK;
}

bool
pwtool_store_missing(struct pwtool *pw)
{
	/* -1 (cannot tell) is not missing: the command then meets and
	 * reports the reason (no server, no schema).  A batch asks through
	 * its reader: on PostgreSQL a new connection per change cost more
	 * than the change. */
	if (pw->reader != NULL)
		return userdb_reader_missing(pw->reader, &pw->file) == 1;
	return userdb_store_missing(&pw->file) == 1;
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
	db = userdb_reader_new(&pw->file);
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

/* is_pg_uri - -f names a PostgreSQL store by a libpq URI. */
static bool
is_pg_uri(const char *s)
{
	return strncmp(s, "postgresql://", 13) == 0 ||
	       strncmp(s, "postgres://", 11) == 0;
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
	if (store_arg != NULL && is_pg_uri(store_arg)) {
		pw->pg_conninfo = xstrdup(store_arg);
	} else if (store_arg == NULL && us.pg &&
		   us.pg_password_query[0] != '\0') {
		return pwtool_error(PWTOOL_CONFIG, "store_pg_password_query is "
				    "set: the users are the site's own tables, "
				    "which authd only reads and pwtool does not "
				    "manage");
	} else if (store_arg == NULL && us.pg) {
		if ((pw->pg_conninfo = userdb_conf_conninfo(&us, &why)) == NULL)
			return pwtool_error(PWTOOL_CONFIG, "%s: %s",
					    us.pg_conninfo[0] != '\0' ?
					    "store_pg_conninfo" :
					    "store_pg_conninfo_file", why);
		/* Messages name the store, never the connection string,
		 * which may hold a password. */
		pw->file.path = "postgresql store";
	}
	pw->file.pg_conninfo = pw->pg_conninfo;
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

	/* A database's rights are its GRANTs, not a file mode. */
	if (pw->file.pg_conninfo != NULL)
		return PWTOOL_OK;
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

enum { OPT_PWFD = 256, OPT_DISABLED, OPT_REPLACE, OPT_FORCE, OPT_REALM_MAP };
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
#define SHORTOPTS	"c:f:u:pm:njhV"

/* long_matches - how many long options begin with (name, n), and the
 * first of them in *opt_r: getopt_long takes any unique prefix. */
static int
long_matches(const char *name, size_t n, const struct option **opt_r)
{
	const struct option *o;
	int count = 0;

	*opt_r = NULL;
	for (o = longopts; o->name != NULL; o++) {
		if (strncmp(o->name, name, n) != 0)
			continue;
		if (strlen(o->name) == n) {	/* exact: no ambiguity */
			*opt_r = o;
			return 1;
		}
		if (count++ == 0)
			*opt_r = o;
	}
	return count;
}

/* json_wanted - whether --json (or -j, or a unique prefix such as
 * --js) is anywhere among the options, so that even an error met while
 * parsing the options before it is answered in JSON.  getopt_long
 * permutes, so options may follow operands; "--" ends them. */
static bool
json_wanted(int argc, char **argv)
{
	const struct option *o;
	const char *a, *p;
	int i;

	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (strcmp(a, "--") == 0)
			break;
		if (a[0] != '-' || a[1] == '\0')
			continue;
		if (a[1] == '-') {
			size_t n = strcspn(a + 2, "=");

			if (long_matches(a + 2, n, &o) == 1) {
				if (o->val == 'j')
					return true;
				if (o->has_arg == required_argument &&
				    a[2 + n] == '\0')
					i++;	/* its value is the next word */
			}
			continue;
		}
		for (p = a + 1; *p != '\0'; p++) {
			if (*p == 'j')
				return true;
			if (strchr("cfum", *p) != NULL) {
				if (p[1] == '\0')
					i++;
				break;
			}
		}
	}
	return false;
}

/* option_error - the message for the option getopt_long refused (c is
 * '?' or ':'), in glibc's words, for the JSON error object (getopt
 * prints its own only on stderr). */
static int
option_error(int c, char **argv)
{
	const char *a = argv[optind - 1];
	const struct option *o;
	size_t n;

	if (a[0] != '-' || a[1] != '-') {
		if (c == ':')
			return pwtool_error(PWTOOL_USAGE, "option requires an "
					    "argument -- '%c'", optopt);
		return pwtool_error(PWTOOL_USAGE, "invalid option -- '%c'",
				    optopt);
	}
	n = strcspn(a, "=");
	if (c == ':')
		return pwtool_error(PWTOOL_USAGE, "option '%.*s' requires an "
				    "argument", (int)n, a);
	if (optopt != 0)
		return pwtool_error(PWTOOL_USAGE, "option '%.*s' doesn't allow "
				    "an argument", (int)n, a);
	if (long_matches(a + 2, n - 2, &o) > 1)
		return pwtool_error(PWTOOL_USAGE, "option '%.*s' is ambiguous",
				    (int)n, a);
	return pwtool_error(PWTOOL_USAGE, "unrecognized option '%s'", a);
}

/* json_outcome - with --json, the one document of the run on stdout:
 * the command's own (collected in doc) if it succeeded, else the error
 * object.  A batch that ran has answered every line itself (it exits 0
 * or 1); if it could not start, it gets the error object too. */
static void
json_outcome(struct pwtool *pw, struct buf *doc, const char *command,
	     bool batch_ran, int code)
{
	if (pw->out != NULL && pw->out != stdout)
		(void)json_doc_close(pw->out, doc, code == PWTOOL_OK ? stdout :
				     NULL);
	if (code != PWTOOL_OK && !(batch_ran && code == 1))
		json_error_print(stdout, command, code);
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
	struct pwtool pw;
	struct buf doc = BUF_INIT;
	const char *config_path = AUTHD_CONFIG_PATH, *store_arg = NULL;
	bool config_given = false, batch_ran = false;
	char *error = NULL, *end;
	size_t i;
	int c, code;

	no_core();
	log_init("pwtool", false, 0, true);
	memset(&pw, 0, sizeof(pw));
	pw.password_fd = -1;
	pw.json = json_wanted(argc, argv);
	/* With --json, getopt stays quiet ("+" is not wanted: options may
	 * follow the command) and option_error() says the same. */
	opterr = !pw.json;
	while ((c = getopt_long(argc, argv, pw.json ? ":" SHORTOPTS : SHORTOPTS,
				longopts, NULL)) != -1) {
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
			    optarg[0] == '\0') {
				code = pwtool_error(PWTOOL_USAGE,
						    "--password-fd: not a descriptor");
				goto early;
			}
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
			if (pw.n_realm_maps == PWTOOL_REALM_MAPS_MAX) {
				code = pwtool_error(PWTOOL_USAGE, "more than %d "
						    "--realm-map",
						    PWTOOL_REALM_MAPS_MAX);
				goto early;
			}
			pw.realm_maps[pw.n_realm_maps++] = optarg;
			break;
		case 'j':
			pw.json = true;
			break;
		case 'h':
			usage(stdout, pw.json);
			return PWTOOL_OK;
		case 'V':
			if (pw.json)
				puts("{\"ok\":true,\"command\":\"version\","
				     "\"version\":\"" AUTHD_VERSION "\"}");
			else
				puts("pwtool " AUTHD_VERSION);
			return PWTOOL_OK;
		default:
			if (!pw.json) {
				usage(stderr, false);
				return PWTOOL_USAGE;
			}
			code = option_error(c, argv);
			goto early;
		}
	}
	if (optind >= argc) {
		if (!pw.json) {
			usage(stderr, false);
			return PWTOOL_USAGE;
		}
		code = pwtool_error(PWTOOL_USAGE, "no command given (see "
				    "pwtool --help)");
		goto early;
	}
	if (pw.pipe && pw.password_fd >= 0) {
		code = pwtool_error(PWTOOL_USAGE, "-p and --password-fd exclude each other");
		goto early;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[optind], commands[i].name) == 0 ||
		    (commands[i].alias != NULL &&
		     strcmp(argv[optind], commands[i].alias) == 0))
			break;
	if (i == sizeof(commands) / sizeof(commands[0])) {
		code = pwtool_error(PWTOOL_USAGE, "unknown command \"%s\" "
				    "(see pwtool --help)", argv[optind]);
		goto early;
	}
	pw.args = argv + optind + 1;
	pw.nargs = argc - optind - 1;
	if (pw.n_realm_maps > 0 && commands[i].run != cmd_import_sasldb) {
		code = pwtool_error(PWTOOL_USAGE, "--realm-map is for "
				    "import-sasldb only");
		goto done;
	}
	if (commands[i].operands == 1 && pw.nargs != 1) {
		code = pwtool_error(PWTOOL_USAGE, "%s takes exactly one USER",
				    commands[i].name);
		goto done;
	}
	/* A batch answers line by line on stdout itself; every other
	 * command's document waits in doc for the outcome. */
	pw.out = stdout;
	if (pw.json && commands[i].run != cmd_batch &&
	    (pw.out = json_doc_open(&doc)) == NULL)
		pw.out = stdout;
	pw.cfg = conf_keys_new();
	if (!config_load(pw.cfg, config_path, !config_given, &error)) {
		code = pwtool_error(PWTOOL_CONFIG, "%s", error);
		free(error);
		config_free(pw.cfg);
		goto done;
	}
	if ((code = settings_apply(&pw, store_arg)) == PWTOOL_OK &&
	    (code = store_mode_check(&pw, commands[i].writes &&
				     !pw.dry_run)) == PWTOOL_OK) {
		code = commands[i].run(&pw);
		batch_ran = commands[i].run == cmd_batch;
		/* After the command, with its password wiped: the compaction
		 * child is a copy of this process (userdb_compact_if_due). */
		if (commands[i].writes && !pw.dry_run)
			userdb_compact_if_due(&pw.file);
	}
	config_free(pw.cfg);
	if (pw.pg_conninfo != NULL)
		secret_free_str(pw.pg_conninfo);
done:
	if (pw.json)
		json_outcome(&pw, &doc, commands[i].name, batch_ran, code);
	return code;
early:
	/* Before a command is known: the error object has no "command". */
	if (pw.json)
		json_error_print(stdout, NULL, code);
	return code;
}
