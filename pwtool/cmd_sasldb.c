/*
 * cmd_sasldb - `pwtool import-sasldb`: the users of a Cyrus SASL sasldb2
 * into the store, with verifiers hashed from their cleartext passwords.
 *
 * The sasldb is read through libdb (Berkeley DB 5.3, what Debian's
 * saslpasswd2 writes) without an environment and with DB_RDONLY: libdb
 * then neither writes the file nor locks it, so a live Postfix or
 * saslauthd that uses it carries on, and the file stays byte for byte the
 * same.  A file that is not a Berkeley DB hash is refused from its
 * header, before libdb parses it, and libdb's own verifier (DB->verify,
 * made to read damaged files) checks the whole file before it is read.
 *
 * Each user is built by the code of `pwtool add` (pwtool_change_name and
 * pwtool_change_hash, cmd_user.c): the same name rules, the same new-realm
 * rule, the same -m and default mechanisms, cleartext only when -m asks.
 * Like import, all or nothing: every user is checked, hashed and put into
 * one store transaction (which spills into a new base when it outgrows
 * the change log, userdb.h), committed only if no user had an error.  The
 * writer lock is held while the users are hashed: a sasldb is read once,
 * as it streams, rather than kept in memory.
 *
 * Untrusted input: the sasldb file (libdb parses its pages; every record
 * then goes through sasldb_record_parse and the name and password rules),
 * and --realm-map.  Names are printed through sasldb_display, never raw.
 * Each record comes in buffers of its own (DB_DBT_MALLOC) that are wiped
 * as soon as the user is hashed, and every block libdb frees, its page
 * cache included, is wiped first (db_wipe_free): a compaction child
 * forked after the command (userdb_compact_if_due) inherits no password.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <malloc.h>
#include <unistd.h>

#include <db.h>

#include "pwtool.h"
#include "sasldb_record.h"
#include "secret.h"
#include "xalloc.h"

#define SASLDB_DEFAULT_PATH	"/etc/sasldb2"
/* Room for a displayed name: a user or realm with every byte escaped. */
#define SASLDB_SHOW_MAX		(4 * USERDB_USER_MAX + 4)

struct realm_map {
	const char *arg;		/* FROM=TO as given */
	const char *from;		/* FROM, compared without case */
	size_t from_len;
	char to[USERDB_REALM_MAX + 1];	/* "": leave FROM's users out */
	bool used;
};

enum outcome_status {
	OUTCOME_ADD,
	OUTCOME_REPLACE,
	OUTCOME_SKIP,
	OUTCOME_ERROR,
};

/* One line of the report: one user of the sasldb. */
struct outcome {
	enum outcome_status status;
	char *from;		/* user@realm as in the sasldb, displayable */
	char *key;		/* the store key, or NULL */
	char *reason;		/* skip, error */
};

struct sasldb_import {
	struct pwtool *pw;
	const char *path;
	struct userdb_txn *txn;
	struct realm_map maps[PWTOOL_REALM_MAPS_MAX];
	size_t n_maps;
	/* The host name and its first label, or "": the realms saslpasswd2
	 * gives users when -u is not used. */
	char host[USERDB_REALM_MAX + 1], host_short[USERDB_REALM_MAX + 1];
	struct pwtool_seen seen;
	struct outcome *out;
	size_t n_out, cap_out;
	unsigned long added, replaced, skipped, errors, ignored;
	bool store_error;
};

/* The last message libdb reported (it calls back instead of printing). */
static char db_msg[256];

static const char *db_path;	/* libdb's messages start with it */

static void
db_errcall(const DB_ENV *env, const char *pfx, const char *msg)
{
	size_t n = db_path != NULL ? strlen(db_path) : 0;

	(void)env;
	(void)pfx;
	if (n > 0 && strncmp(msg, db_path, n) == 0 && msg[n] == ':')
		msg += n + (msg[n + 1] == ' ' ? 2 : 1);
	snprintf(db_msg, sizeof(db_msg), "%s", msg);
}

/* db_wipe_free, db_wipe_realloc - libdb's allocator hooks: its cache
 * holds the file's pages, cleartext passwords, and free() would leave
 * them in the heap. */
static void
db_wipe_free(void *p)
{
	if (p != NULL)
		secret_wipe(p, malloc_usable_size(p));
	free(p);
}

static void *
db_wipe_realloc(void *p, size_t n)
{
	size_t old = p != NULL ? malloc_usable_size(p) : 0;
	void *q = malloc(n > 0 ? n : 1);

	if (q == NULL)
		return NULL;
	if (p != NULL)
		memcpy(q, p, old < n ? old : n);
	db_wipe_free(p);
	return q;
}

/* fail - a whole-command error: stderr, and with -j main() prints the
 * JSON error object. */
static int
fail(struct sasldb_import *im, int code, const char *msg)
{
	(void)im;
	return pwtool_error(code, "%s", msg);
}

/* maps_parse - --realm-map FROM=TO, each TO a realm that add accepts
 * (TO empty: FROM's users are left out on purpose). */
static int
maps_parse(struct sasldb_import *im, struct pwtool_status *st)
{
	char show[SASLDB_SHOW_MAX];
	int i;
	size_t j;

	for (i = 0; i < im->pw->n_realm_maps; i++) {
		const char *arg = im->pw->realm_maps[i], *eq = strchr(arg, '=');
		struct realm_map *m = &im->maps[im->n_maps];
		const char *why;

		sasldb_display(arg, strlen(arg), show, sizeof(show));
		if (eq == NULL)
			return pwtool_status_set(st, PWTOOL_USAGE, "--realm-map "
						 "%s: not FROM=TO", show);
		m->arg = arg;
		m->from = arg;
		m->from_len = (size_t)(eq - arg);
		m->used = false;
		m->to[0] = '\0';
		for (j = 0; j < im->n_maps; j++)
			if (im->maps[j].from_len == m->from_len &&
			    strncasecmp(im->maps[j].from, m->from,
					m->from_len) == 0)
				return pwtool_status_set(st, PWTOOL_USAGE,
							 "--realm-map %s: realm "
							 "mapped twice", show);
		if (eq[1] != '\0' &&
		    ((why = userdb_name_check_realm(eq + 1, strlen(eq + 1),
						    m->to)) != NULL ||
		     (why = userdb_name_check_new_realm(m->to,
							strlen(m->to))) != NULL))
			return pwtool_status_set(st, PWTOOL_INPUT, "--realm-map "
						 "%s: %s", show, why);
		im->n_maps++;
	}
	return PWTOOL_OK;
}

static struct realm_map *
map_find(struct sasldb_import *im, const char *realm, size_t len)
{
	size_t i;

	for (i = 0; i < im->n_maps; i++)
		if (im->maps[i].from_len == len &&
		    strncasecmp(im->maps[i].from, realm, len) == 0)
			return &im->maps[i];
	return NULL;
}

/* host_names - the host name and its first label: where saslpasswd2 is
 * run without -u, Cyrus takes the user's realm from gethostname(), which
 * is often the short name (mx1), hardly the mail domain. */
static void
host_names(struct sasldb_import *im)
{
	char h[256];
	size_t n;

	if (gethostname(h, sizeof(h)) < 0)
		return;
	h[sizeof(h) - 1] = '\0';
	n = strlen(h);
	if (n <= USERDB_REALM_MAX)
		memcpy(im->host, h, n + 1);
	n = strcspn(h, ".");
	if (n <= USERDB_REALM_MAX)
		snprintf(im->host_short, sizeof(im->host_short), "%.*s",
			 (int)n, h);
}

/* sasldb_open - libdb's handle on path, read-only, after checking that
 * the file is a Berkeley DB hash (a sasldb2) and that libdb's verifier
 * finds it sound.  0, or 6 with st set. */
static int
sasldb_open(struct sasldb_import *im, DB **db_r, struct pwtool_status *st)
{
	const char *path = im->path;
	unsigned char meta[512] = { 0 };
	struct stat sb;
	uint32_t magic;
	ssize_t n;
	DB *db;
	int fd, r;

	/* O_NONBLOCK: a FIFO named as the file must not hang the import. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0)
		return pwtool_status_set(st, PWTOOL_INPUT, "%s: %s", path,
					 strerror(errno));
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return pwtool_status_set(st, PWTOOL_INPUT, "%s: not a regular "
					 "file", path);
	}
	n = read(fd, meta, sizeof(meta));
	close(fd);
	/* The meta page: LSN (8 bytes), page number (4), magic (4), in the
	 * byte order of the machine that wrote it. */
	memcpy(&magic, meta + 12, sizeof(magic));
	if (n < (ssize_t)sizeof(meta) ||
	    (magic != DB_HASHMAGIC && __builtin_bswap32(magic) != DB_HASHMAGIC))
		return pwtool_status_set(st, PWTOOL_INPUT, "%s: not a Cyrus "
					 "sasldb2 (a Berkeley DB hash file)%s",
					 path, n >= 16 &&
					 (magic == DB_BTREEMAGIC ||
					  __builtin_bswap32(magic) == DB_BTREEMAGIC) ?
					 ": this is a Berkeley DB btree" : "");
	db_msg[0] = '\0';
	db_path = path;
	(void)db_env_set_func_free(db_wipe_free);
	(void)db_env_set_func_realloc(db_wipe_realloc);
	if ((r = db_create(&db, NULL, 0)) != 0)
		return pwtool_status_set(st, PWTOOL_INPUT, "%s: %s", path,
					 db_strerror(r));
	db->set_errcall(db, db_errcall);
	/* verify frees the handle whatever it returns. */
	if ((r = db->verify(db, path, NULL, NULL, DB_NOORDERCHK)) != 0)
		return pwtool_status_set(st, PWTOOL_INPUT, "%s: not a sound "
					 "sasldb2: %s", path, db_msg[0] != '\0' ?
					 db_msg : db_strerror(r));
	if ((r = db_create(&db, NULL, 0)) != 0)
		return pwtool_status_set(st, PWTOOL_INPUT, "%s: %s", path,
					 db_strerror(r));
	db->set_errcall(db, db_errcall);
	if ((r = db->open(db, NULL, path, NULL, DB_HASH, DB_RDONLY, 0)) != 0) {
		pwtool_status_set(st, PWTOOL_INPUT, "%s: %s", path,
				  db_msg[0] != '\0' ? db_msg : db_strerror(r));
		db->close(db, 0);
		return PWTOOL_INPUT;
	}
	*db_r = db;
	return PWTOOL_OK;
}

/* outcome_add - a report line for user@realm of the sasldb. */
static struct outcome *
outcome_add(struct sasldb_import *im, const struct sasldb_record *r)
{
	char user[SASLDB_SHOW_MAX], realm[SASLDB_SHOW_MAX];
	struct outcome *o;

	if (im->n_out == im->cap_out) {
		im->cap_out = im->cap_out ? im->cap_out * 2 : 64;
		im->out = xreallocarray(im->out, im->cap_out, sizeof(*o));
	}
	o = &im->out[im->n_out++];
	memset(o, 0, sizeof(*o));
	sasldb_display(r->user, r->user_len, user, sizeof(user));
	if (r->realm == NULL)	/* a record that is not user\0realm\0prop */
		o->from = xstrdup(user);
	else
		o->from = xasprintf("%s@%s", user,
				    sasldb_display(r->realm, r->realm_len, realm,
						   sizeof(realm)));
	return o;
}

static void
outcome_error(struct sasldb_import *im, struct outcome *o, char *reason)
{
	o->status = OUTCOME_ERROR;
	o->reason = reason;
	im->errors++;
}

/* user_realm - the realm the user goes to: the map's, or the sasldb's if
 * it is one add would accept and not the host's name (host_names).  NULL with the
 * outcome set when the user is left out or refused. */
static const char *
user_realm(struct sasldb_import *im, const struct sasldb_record *r,
	   struct outcome *o, char out[USERDB_REALM_MAX + 1])
{
	struct realm_map *m = map_find(im, r->realm, r->realm_len);
	char show[SASLDB_SHOW_MAX];
	const char *why;

	sasldb_display(r->realm, r->realm_len, show, sizeof(show));
	if (m != NULL) {
		m->used = true;
		if (m->to[0] != '\0')
			return m->to;
		o->status = OUTCOME_SKIP;
		o->reason = xasprintf("realm \"%s\" left out (--realm-map %s)",
				      show, m->arg);
		im->skipped++;
		return NULL;
	}
	if (r->realm_len == 0)
		why = "empty realm";
	else if ((why = userdb_name_check_realm(r->realm, r->realm_len,
						out)) == NULL)
		why = userdb_name_check_new_realm(out, strlen(out));
	if (why != NULL) {
		outcome_error(im, o, xasprintf("realm \"%s\": %s (map it with "
					       "--realm-map '%s=DOMAIN')", show,
					       why, show));
		return NULL;
	}
	if ((im->host[0] != '\0' && strcasecmp(out, im->host) == 0) ||
	    (im->host_short[0] != '\0' && strcasecmp(out, im->host_short) == 0)) {
		outcome_error(im, o, xasprintf("realm \"%s\" is this host's "
					       "name, Cyrus's default realm: "
					       "map it with --realm-map "
					       "%s=DOMAIN (or %s=%s to keep it)",
					       show, show, show, show));
		return NULL;
	}
	return out;
}

/* user_put - the new record, made by add's code, into the transaction. */
static void
user_put(struct sasldb_import *im, const struct userdb_name *name,
	 const struct sasldb_record *r, struct outcome *o)
{
	struct pwtool_status st = { 0, "" };
	struct pwtool p = *im->pw;
	struct pwtool_change c;
	char *args[2] = { (char *)name->key, NULL }, *pass;
	const char *why;

	p.args = args;
	p.nargs = 1;
	p.realm = NULL;
	pass = xmalloc(r->value_len + 1);
	memcpy(pass, r->value, r->value_len);
	pass[r->value_len] = '\0';
	pwtool_change_init(&c, PWTOOL_CHANGE_ADD);
	if (pwtool_change_name(&p, &c, &st) != PWTOOL_OK) {
		secret_free(pass, r->value_len + 1);
	} else if (pwtool_change_hash(&p, &c, pass, r->value_len,
				      &st) == PWTOOL_OK &&
		   !userdb_txn_put(im->txn, name->key, &c.rec, &why)) {
		pwtool_status_set(&st, PWTOOL_STORE, "%s", why);
		im->store_error = true;
	}
	pwtool_change_clear(&c);
	if (st.code != PWTOOL_OK)
		outcome_error(im, o, xstrdup(st.msg));
}

/* import_user - one userPassword record of the sasldb. */
static void
import_user(struct sasldb_import *im, const struct sasldb_record *r)
{
	struct outcome *o = outcome_add(im, r);
	char realm_buf[USERDB_REALM_MAX + 1];
	struct userdb_name name;
	unsigned long first;
	const char *realm, *why;
	int exists;

	if ((realm = user_realm(im, r, o, realm_buf)) == NULL)
		return;
	/* '@' in a sasldb user name would make the key name another user
	 * (name.h splits at the last '@'). */
	if (memchr(r->user, '@', r->user_len) != NULL) {
		outcome_error(im, o, xstrdup("user name holds '@'"));
		return;
	}
	if ((why = userdb_name_parse(r->user, r->user_len, realm, strlen(realm),
				     &im->pw->rules, &name)) != NULL) {
		outcome_error(im, o, xstrdup(why));
		return;
	}
	o->key = xstrdup(name.key);
	if ((first = pwtool_seen_add(&im->seen, name.key, im->n_out)) != 0) {
		outcome_error(im, o, xasprintf("%s is also sasldb user %s",
					       name.key, im->out[first - 1].from));
		return;
	}
	if ((why = userdb_password_check(r->value, r->value_len)) != NULL) {
		outcome_error(im, o, xasprintf("password: %s", why));
		return;
	}
	exists = userdb_txn_exists(im->txn, name.key);
	if (exists && !im->pw->replace) {
		outcome_error(im, o, xstrdup("user exists (use --replace)"));
		return;
	}
	/* Nothing will be written after an error or in a dry run: spare
	 * the hashing, the costly part. */
	if (im->errors == 0 && !im->pw->dry_run) {
		user_put(im, &name, r, o);
		if (o->status == OUTCOME_ERROR)
			return;
	}
	o->status = exists ? OUTCOME_REPLACE : OUTCOME_ADD;
	if (exists)
		im->replaced++;
	else
		im->added++;
}

/* read_all - every record of the sasldb, each wiped once used. */
static int
read_all(struct sasldb_import *im, DB *db, struct pwtool_status *st)
{
	DBC *cur;
	int r;

	if ((r = db->cursor(db, NULL, &cur, 0)) != 0)
		return pwtool_status_set(st, PWTOOL_INPUT, "%s: %s", im->path,
					 db_strerror(r));
	for (;;) {
		DBT k, v;
		struct sasldb_record rec;
		const char *why;

		memset(&k, 0, sizeof(k));
		memset(&v, 0, sizeof(v));
		k.flags = DB_DBT_MALLOC;
		v.flags = DB_DBT_MALLOC;
		if ((r = cur->get(cur, &k, &v, DB_NEXT)) != 0)
			break;
		why = sasldb_record_parse(k.data, k.size, v.data, v.size, &rec);
		if (why != NULL) {
			struct sasldb_record raw = { .user = k.data,
						     .user_len = k.size };
			struct outcome *o = outcome_add(im, &raw);

			outcome_error(im, o, xstrdup(why));
		} else if (rec.is_password) {
			import_user(im, &rec);
		} else {
			im->ignored++;
		}
		if (k.data != NULL)
			secret_free(k.data, k.size);
		if (v.data != NULL)
			secret_free(v.data, v.size);
	}
	cur->close(cur);
	if (r != DB_NOTFOUND)
		return pwtool_status_set(st, PWTOOL_INPUT, "%s: %s", im->path,
					 db_msg[0] != '\0' ? db_msg :
					 db_strerror(r));
	return PWTOOL_OK;
}

static const char *
status_word(const struct sasldb_import *im, const struct outcome *o,
	    bool written)
{
	switch (o->status) {
	case OUTCOME_ADD:
		return written || im->pw->dry_run ? "imported" : "unchanged";
	case OUTCOME_REPLACE:
		return written || im->pw->dry_run ? "replaced" : "unchanged";
	case OUTCOME_SKIP:
		return "skipped";
	default:
		return "error";
	}
}

/* report - one line per user on the command's output, or (JSON) the
 * counts and the users.  error: the command's failure, or NULL; with
 * --json main() then prints the error object instead of this document,
 * so each user's error is noted for its "errors" list. */
static void
report(struct sasldb_import *im, bool written, const char *error, int code)
{
	FILE *f = im->pw->out;
	char detail[PWTOOL_MSG_MAX];
	size_t i;

	(void)code;
	if (!im->pw->json) {
		for (i = 0; i < im->n_out; i++) {
			const struct outcome *o = &im->out[i];

			fprintf(f, "%s%s %s", im->pw->dry_run &&
				o->status <= OUTCOME_REPLACE ? "would be " : "",
				status_word(im, o, written), o->from);
			if (o->key != NULL)
				fprintf(f, " -> %s", o->key);
			if (o->reason != NULL)
				fprintf(f, ": %s", o->reason);
			fputc('\n', f);
		}
		return;
	}
	if (error != NULL) {
		json_note_key("");	/* no one USER is the command's */
		for (i = 0; i < im->n_out; i++)
			if (im->out[i].status == OUTCOME_ERROR) {
				snprintf(detail, sizeof(detail), "%s: %s",
					 im->out[i].from, im->out[i].reason != NULL ?
					 im->out[i].reason : "error");
				json_note_detail(0, detail);
			}
		return;
	}
	fputs("{\"ok\":true,\"command\":\"import-sasldb\",\"file\":", f);
	json_string(f, im->path);
	fprintf(f, ",\"dry_run\":%s,\"written\":%s,\"imported\":%lu,"
		"\"replaced\":%lu,\"skipped\":%lu,\"errors\":%lu,"
		"\"other_properties\":%lu,\"users\":[",
		im->pw->dry_run ? "true" : "false", written ? "true" : "false",
		im->added, im->replaced, im->skipped, im->errors, im->ignored);
	for (i = 0; i < im->n_out; i++) {
		const struct outcome *o = &im->out[i];

		fputs(i ? ",{\"sasldb\":" : "{\"sasldb\":", f);
		json_string(f, o->from);
		if (o->key != NULL) {
			fputs(",\"key\":", f);
			json_string(f, o->key);
		}
		fputs(",\"status\":", f);
		json_string(f, status_word(im, o, written));
		if (o->reason != NULL) {
			fputs(",\"reason\":", f);
			json_string(f, o->reason);
		}
		fputc('}', f);
	}
	fputs("]}\n", f);
}

static void
import_free(struct sasldb_import *im)
{
	size_t i;

	for (i = 0; i < im->n_out; i++) {
		free(im->out[i].from);
		free(im->out[i].key);
		free(im->out[i].reason);
	}
	free(im->out);
	pwtool_seen_free(&im->seen);
}

/* finish - commit, or abort after errors and in a dry run; the report
 * and the summary. */
static int
finish(struct sasldb_import *im)
{
	char msg[PWTOOL_MSG_MAX], show[SASLDB_SHOW_MAX];
	const char *why;
	size_t i;
	int code;

	for (i = 0; i < im->n_maps; i++)
		if (!im->maps[i].used)
			(void)pwtool_error(0, "warning: --realm-map %s: no user "
					   "of the sasldb is in that realm",
					   sasldb_display(im->maps[i].arg,
							  strlen(im->maps[i].arg),
							  show, sizeof(show)));
	if (im->errors > 0) {
		userdb_txn_abort(im->txn);
		code = im->store_error ? PWTOOL_STORE : PWTOOL_INPUT;
		snprintf(msg, sizeof(msg), "%s: %lu error%s, nothing imported",
			 im->path, im->errors, im->errors == 1 ? "" : "s");
		report(im, false, msg, code);
		return pwtool_error(code, "%s", msg);
	}
	if (im->pw->dry_run) {
		userdb_txn_abort(im->txn);
	} else if (!userdb_txn_commit(im->txn, &why)) {
		snprintf(msg, sizeof(msg), "%s", why);
		report(im, false, msg, PWTOOL_STORE);
		return pwtool_error(PWTOOL_STORE, "%s", msg);
	}
	report(im, !im->pw->dry_run, NULL, PWTOOL_OK);
	fprintf(stderr, "pwtool: %s: %s%lu imported, %lu replaced, %lu "
		"skipped", im->path, im->pw->dry_run ?
		"dry run, nothing written: would be " : "", im->added,
		im->replaced, im->skipped);
	if (im->ignored > 0)
		fprintf(stderr, " (%lu record%s other than userPassword not "
			"used)", im->ignored, im->ignored == 1 ? "" : "s");
	fputc('\n', stderr);
	return PWTOOL_OK;
}

int
cmd_import_sasldb(struct pwtool *pw)
{
	struct pwtool_status st = { 0, "" };
	struct sasldb_import im;
	unsigned int mechs;
	const char *why;
	DB *db = NULL;
	int code;

	memset(&im, 0, sizeof(im));
	im.pw = pw;
	im.path = pw->nargs > 0 ? pw->args[0] : SASLDB_DEFAULT_PATH;
	if (pw->nargs > 1)
		return fail(&im, PWTOOL_USAGE, "import-sasldb takes at most "
			    "one FILE");
	if (pw->realm != NULL)
		return fail(&im, PWTOOL_USAGE, "import-sasldb does not use -u "
			    "(the sasldb names each user's realm; see "
			    "--realm-map)");
	/* -m is checked before anything is read: a typo costs nothing. */
	why = userdb_mechs_parse(pw->mechs_arg != NULL ? pw->mechs_arg :
				 config_str(pw->cfg, "pwtool_default_mechs"),
				 &mechs);
	if (why != NULL) {
		pwtool_status_set(&st, PWTOOL_USAGE, "--mechs: %s", why);
		return fail(&im, st.code, st.msg);
	}
	if (maps_parse(&im, &st) != PWTOOL_OK ||
	    sasldb_open(&im, &db, &st) != PWTOOL_OK)
		return fail(&im, st.code, st.msg);
	host_names(&im);
	if ((im.txn = userdb_txn_begin(&pw->file, &why)) == NULL) {
		db->close(db, 0);
		pwtool_status_set(&st, PWTOOL_STORE, "%s", why);
		return fail(&im, st.code, st.msg);
	}
	code = read_all(&im, db, &st);
	db->close(db, 0);
	if (code != PWTOOL_OK) {
		userdb_txn_abort(im.txn);
		import_free(&im);
		return fail(&im, st.code, st.msg);
	}
	code = finish(&im);
	import_free(&im);
	return code;
}
