/*
 * cmd_bulk - the many-user commands: list, realms, export, import.
 *
 * import is all-or-nothing: every line is parsed and checked inside one
 * store transaction (userdb.h), and the transaction commits only if no
 * line had an error.  Untrusted input: the import file, line by line.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "build_config.h"
#include "pwtool.h"
#include "secret.h"
#include "store_pg.h"
#include "xalloc.h"

#define IMPORT_LINE_MAX		(USERDB_KEY_MAX + 1 + USERDB_RECORD_MAX)
#define IMPORT_MAX_ERRORS	20

void pwtool_show_record(FILE *f, const struct userdb_name *name,
			const struct userdb_record *rec, bool json);

/* realm_of - the realm part of a stored key. */
static const char *
realm_of(const char *key)
{
	const char *at = strrchr(key, '@');

	return at != NULL ? at + 1 : "";
}

/* realm_filter - the -u realm, normalised, or NULL for all realms.  A bad
 * realm is bad input (6), as it is in a name given to add or show. */
static int
realm_filter(struct pwtool *pw, char out[USERDB_REALM_MAX + 1], bool *on)
{
	const char *why;

	*on = false;
	if (pw->realm == NULL)
		return PWTOOL_OK;
	if ((why = userdb_name_check_realm(pw->realm, strlen(pw->realm),
					   out)) != NULL)
		return pwtool_error(PWTOOL_INPUT, "-u %s: %s", pw->realm, why);
	*on = true;
	return PWTOOL_OK;
}

/* open_snapshot - a reader pinned to one file and its sorted keys. */
static int
open_snapshot(struct pwtool *pw, struct userdb **db_r, char ***keys,
	      size_t *n)
{
	const char *why;

	if (pwtool_store_missing(pw))
		/* Not "no users": a script listing the wrong path (a typo,
		 * another -c) must not mistake it for an empty store. */
		return pwtool_error(PWTOOL_STORE, "%s: no such store (pwtool "
				    "add or import creates it)", pw->file.path);
	*db_r = userdb_reader_new(&pw->file);
	if (!userdb_keys(*db_r, keys, n, &why)) {
		/* why points into the reader: report before freeing it */
		int code = pwtool_error(PWTOOL_STORE, "%s", why);

		userdb_free(*db_r);
		return code;
	}
	userdb_pin(*db_r, true);
	return PWTOOL_OK;
}

int
cmd_list(struct pwtool *pw)
{
	char realm[USERDB_REALM_MAX + 1], **keys;
	struct userdb *db;
	size_t n, i, shown = 0;
	bool filter;
	int code;

	if (pw->nargs > 0)
		return pwtool_error(PWTOOL_USAGE, "list takes no operands (use -u REALM)");
	if ((code = realm_filter(pw, realm, &filter)) != PWTOOL_OK ||
	    (code = open_snapshot(pw, &db, &keys, &n)) != PWTOOL_OK)
		return code;
	if (pw->json)
		fputc('[', pw->out);
	for (i = 0; i < n && code == PWTOOL_OK; i++) {
		struct userdb_record rec;
		struct userdb_name name;
		const char *why;

		if (filter && strcmp(realm_of(keys[i]), realm) != 0)
			continue;
		if (!pw->json) {
			fprintf(pw->out, "%s\n", keys[i]);
			continue;
		}
		if (userdb_lookup(db, keys[i], strlen(keys[i]), &rec, &why) != 1) {
			code = pwtool_error(PWTOOL_STORE, "%s: %s", keys[i], why);
			break;
		}
		/* Stored keys are already normalised: split, do not re-fold. */
		memset(&name, 0, sizeof(name));
		snprintf(name.key, sizeof(name.key), "%s", keys[i]);
		snprintf(name.realm, sizeof(name.realm), "%s", realm_of(keys[i]));
		snprintf(name.user, sizeof(name.user), "%.*s",
			 (int)(strlen(keys[i]) - strlen(name.realm) - 1), keys[i]);
		fputs(shown++ ? ",\n" : "\n", pw->out);
		pwtool_show_record(pw->out, &name, &rec, true);
		userdb_record_clear(&rec);
	}
	if (pw->json)
		fputs(shown ? "\n]\n" : "]\n", pw->out);
	userdb_keys_free(keys, n);
	userdb_free(db);
	return code;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
cmd_realms(struct pwtool *pw)
{
	struct userdb *db;
	char **keys;
	size_t n, i, j, groups = 0;
	int code;

	if (pw->nargs > 0)
		return pwtool_error(PWTOOL_USAGE, "realms takes no operands");
	if ((code = open_snapshot(pw, &db, &keys, &n)) != PWTOOL_OK)
		return code;
	/* Sort by realm so each realm's keys are adjacent. */
	for (i = 0; i < n; i++) {
		char *r = xstrdup(realm_of(keys[i]));

		free(keys[i]);
		keys[i] = r;
	}
	if (n > 1)
		qsort(keys, n, sizeof(char *), str_cmp);
	if (pw->json)
		fputc('[', pw->out);
	for (i = 0; i < n; i = j) {
		for (j = i; j < n && strcmp(keys[j], keys[i]) == 0; j++)
			;
		if (pw->json) {
			fputs(groups++ ? ",{\"realm\":" : "{\"realm\":",
			      pw->out);
			json_string(pw->out, keys[i]);
			fprintf(pw->out, ",\"users\":%zu}", j - i);
		} else {
			fprintf(pw->out, "%s\t%zu\n", keys[i], j - i);
		}
	}
	if (pw->json)
		fputs("]\n", pw->out);
	userdb_keys_free(keys, n);
	userdb_free(db);
	return PWTOOL_OK;
}

/* With --json, an export to the standard output is one JSON document
 * that carries the lines (a script gets exactly one document on stdout
 * whatever the command); an export to a FILE writes the same lines there
 * and answers a success object. */
int
cmd_export(struct pwtool *pw)
{
	char realm[USERDB_REALM_MAX + 1], **keys, *tmp = NULL;
	const char *path = pw->nargs > 0 ? pw->args[0] : "-";
	struct userdb *db;
	size_t n, i, users = 0;
	bool filter, as_json;
	FILE *f = pw->out;
	int code, fd;

	if (pw->nargs > 1)
		return pwtool_error(PWTOOL_USAGE, "export takes at most one FILE");
	if ((code = realm_filter(pw, realm, &filter)) != PWTOOL_OK)
		return code;
	if (strcmp(path, "-") != 0) {
		/* Verifiers are secrets: the file is private from its first
		 * byte, and appears under its name only when complete. */
		tmp = xasprintf("%s.tmp%ld", path, (long)getpid());
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
			code = pwtool_error(PWTOOL_INPUT, "%s: %s", tmp,
					    strerror(errno));
			free(tmp);
			return code;
		}
	}
	if ((code = open_snapshot(pw, &db, &keys, &n)) != PWTOOL_OK)
		goto out;
	as_json = pw->json && tmp == NULL;
	if (as_json)
		fputs("{\"ok\":true,\"command\":\"export\",\"format\":1,"
		      "\"lines\":[", f);
	else
		fprintf(f, "# authd user export, format 1: "
			"USER@REALM:FLAGS:VERIFIERS\n");
	for (i = 0; i < n; i++) {
		struct userdb_record rec;
		const char *why;
		struct buf b;

		if (filter && strcmp(realm_of(keys[i]), realm) != 0)
			continue;
		if (userdb_lookup(db, keys[i], strlen(keys[i]), &rec, &why) != 1) {
			code = pwtool_error(PWTOOL_STORE, "%s: %s", keys[i], why);
			break;
		}
		buf_init(&b);
		userdb_line_encode(keys[i], &rec, &b);
		if (as_json) {
			fputs(users ? ",\n" : "\n", f);
			json_string(f, b.data);
		} else {
			buf_append_c(&b, '\n');
			fwrite(b.data, 1, b.len, f);
		}
		buf_free(&b);
		userdb_record_clear(&rec);
		users++;
	}
	if (as_json)
		fprintf(f, "%s],\"users\":%zu}\n", users ? "\n" : "", users);
	userdb_keys_free(keys, n);
	userdb_free(db);
out:
	if (fflush(f) != 0 || (tmp != NULL && fsync(fileno(f)) != 0))
		code = pwtool_error(PWTOOL_STORE, "writing export: %s",
				    strerror(errno));
	if (tmp != NULL) {
		fclose(f);
		if (code == PWTOOL_OK && rename(tmp, path) < 0)
			code = pwtool_error(PWTOOL_INPUT, "%s: %s", path,
					    strerror(errno));
		if (code != PWTOOL_OK)
			unlink(tmp);
		free(tmp);
		if (code == PWTOOL_OK && pw->json) {
			fputs("{\"ok\":true,\"command\":\"export\",\"file\":",
			      pw->out);
			json_string(pw->out, path);
			fprintf(pw->out, ",\"users\":%zu}\n", users);
		}
	}
	return code;
}

/* --- import --- */

/* A set of the keys seen so far, to name duplicate lines (pwtool.h). */

static uint64_t
fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

static void
seen_grow(struct pwtool_seen *s)
{
	struct pwtool_seen bigger = { NULL, NULL, s->cap ? s->cap * 2 : 1024, 0 };
	size_t i;

	bigger.keys = xcalloc(bigger.cap, sizeof(char *));
	bigger.lines = xcalloc(bigger.cap, sizeof(unsigned long));
	for (i = 0; i < s->cap; i++) {
		size_t j;

		if (s->keys[i] == NULL)
			continue;
		j = fnv1a(s->keys[i]) & (bigger.cap - 1);
		while (bigger.keys[j] != NULL)
			j = (j + 1) & (bigger.cap - 1);
		bigger.keys[j] = s->keys[i];
		bigger.lines[j] = s->lines[i];
		bigger.n++;
	}
	free(s->keys);
	free(s->lines);
	*s = bigger;
}

/* pwtool_seen_add - 0 if new, else the line where key was first seen. */
unsigned long
pwtool_seen_add(struct pwtool_seen *s, const char *key, unsigned long line)
{
	size_t j;

	if ((s->n + 1) * 2 > s->cap)
		seen_grow(s);
	for (j = fnv1a(key) & (s->cap - 1); s->keys[j] != NULL;
	     j = (j + 1) & (s->cap - 1))
		if (strcmp(s->keys[j], key) == 0)
			return s->lines[j];
	s->keys[j] = xstrdup(key);
	s->lines[j] = line;
	s->n++;
	return 0;
}

void
pwtool_seen_free(struct pwtool_seen *s)
{
	size_t i;

	for (i = 0; i < s->cap; i++)
		free(s->keys[i]);
	free(s->keys);
	free(s->lines);
}

struct import_state {
	struct pwtool *pw;
	struct userdb_txn *txn;
	struct pwtool_seen seen;
	const char *src;
	unsigned long lineno, added, replaced, errors;
	bool store_error;
};

static void
import_error(struct import_state *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
import_error(struct import_state *st, const char *fmt, ...)
{
	char msg[PWTOOL_MSG_MAX], line[PWTOOL_MSG_MAX + 600];
	va_list ap;

	if (++st->errors > IMPORT_MAX_ERRORS)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(void)snprintf(line, sizeof(line), "%s:%lu: %s", st->src, st->lineno,
		       msg);
	pwtool_term_print(stderr, line);
	json_note_detail(st->lineno, msg);
}

static void
import_line(struct import_state *st, char *line, size_t len)
{
	struct userdb_record rec;
	struct userdb_name name;
	const char *why;
	unsigned long first;
	uint64_t now = (uint64_t)time(NULL);
	struct buf b;
	int exists;

	if (len > 0 && line[len - 1] == '\r')
		line[--len] = '\0';
	if (len == 0 || line[0] == '#')
		return;
	if (len > IMPORT_LINE_MAX) {
		import_error(st, "line too long");
		return;
	}
	if ((why = userdb_line_parse(line, len, &st->pw->rules, &name,
				     &rec)) != NULL) {
		import_error(st, "%s", why);
		return;
	}
	if ((why = userdb_name_check_new_realm(name.realm,
					       name.realm_len)) != NULL) {
		import_error(st, "%s: %s", name.key, why);
		goto out;
	}
	if ((first = pwtool_seen_add(&st->seen, name.key, st->lineno)) != 0) {
		import_error(st, "%s: duplicate of line %lu", name.key, first);
		goto out;
	}
	exists = userdb_txn_exists(st->txn, name.key);
	if (exists && !st->pw->replace) {
		import_error(st, "%s: user exists (use --replace)", name.key);
		goto out;
	}
	if (rec.created == 0)
		rec.created = now;
	if (rec.changed == 0)
		rec.changed = now;
	if (st->errors == 0) {
		buf_init(&b);
		userdb_record_encode(&rec, &b);
		if (!userdb_txn_put_raw(st->txn, name.key, b.data, b.len, &why)) {
			import_error(st, "%s", why);
			st->store_error = true;
		}
		buf_free(&b);
	}
	if (exists)
		st->replaced++;
	else
		st->added++;
out:
	userdb_record_clear(&rec);
}

int
cmd_import(struct pwtool *pw)
{
	struct import_state st;
	const char *path = pw->nargs > 0 ? pw->args[0] : "-", *why;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f = stdin;
	int code = PWTOOL_OK;

	if (pw->nargs > 1)
		return pwtool_error(PWTOOL_USAGE, "import takes at most one FILE");
	if (strcmp(path, "-") != 0 && (f = fopen(path, "re")) == NULL)
		return pwtool_error(PWTOOL_INPUT, "%s: %s", path, strerror(errno));
	memset(&st, 0, sizeof(st));
	st.pw = pw;
	/* -u REALM is the realm of lines without @REALM. */
	if (pw->realm != NULL)
		pw->rules.default_realm = pw->realm;
	st.src = strcmp(path, "-") == 0 ? "stdin" : path;
	if ((st.txn = userdb_txn_begin(&pw->file, &why)) == NULL) {
		if (f != stdin)
			fclose(f);
		return pwtool_error(PWTOOL_STORE, "%s", why);
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		st.lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		import_line(&st, line, (size_t)len);
		secret_wipe(line, (size_t)len);
	}
	if (ferror(f)) {
		st.lineno++;
		import_error(&st, "read error: %s", strerror(errno));
	}
	free(line);
	if (f != stdin)
		fclose(f);
	pwtool_seen_free(&st.seen);
	if (st.errors > 0) {
		userdb_txn_abort(st.txn);
		if (st.errors > IMPORT_MAX_ERRORS)
			fprintf(stderr, "pwtool: ... %lu more errors\n",
				st.errors - IMPORT_MAX_ERRORS);
		return pwtool_error(st.store_error ? PWTOOL_STORE : PWTOOL_INPUT,
				    "%s: %lu error%s, nothing imported", st.src,
				    st.errors, st.errors == 1 ? "" : "s");
	}
	if (pw->dry_run) {
		userdb_txn_abort(st.txn);
	} else if (!userdb_txn_commit(st.txn, &why)) {
		return pwtool_error(PWTOOL_STORE, "%s", why);
	}
	if (pw->json)
		fprintf(pw->out, "{\"added\":%lu,\"replaced\":%lu,"
			"\"dry_run\":%s}\n", st.added, st.replaced,
			pw->dry_run ? "true" : "false");
	else
		fprintf(stderr, "pwtool: %s%lu added, %lu replaced\n",
			pw->dry_run ? "dry run, nothing written: " : "",
			st.added, st.replaced);
	return code;
}

/* cmd_compact - fold the change log into a new base now, waiting for a
 * compaction already running (userdb.h).  pwtool starts one by itself
 * when the log passes store_log_max; this is for cron, backups (a store
 * just compacted is one GDBM file plus an empty log) and tests. */
int
cmd_compact(struct pwtool *pw)
{
	const char *why;

	if (pw->nargs > 0)
		return pwtool_error(PWTOOL_USAGE, "compact takes no operands");
	if (!userdb_compact(&pw->file, true, &why))
		return pwtool_error(PWTOOL_STORE, "%s", why);
	if (pw->json)
		fputs("{\"ok\":true,\"command\":\"compact\",\"status\":\"ok\"}\n",
		      pw->out);
	return PWTOOL_OK;
}

/* cmd_init - create or upgrade a PostgreSQL store's tables from
 * sql/schema.sql (FILE, by default the installed copy).  Only on request:
 * no other command creates or changes a schema (a wrong connection
 * string must not leave tables in some other database). */
int
cmd_init(struct pwtool *pw)
{
	const char *path = pw->nargs > 0 ? pw->args[0] : AUTHD_SCHEMA_PATH;
	const char *why;
	char *sql;
	size_t len = 0;
	FILE *f;
	int from, code = PWTOOL_OK;

	if (pw->nargs > 1)
		return pwtool_error(PWTOOL_USAGE, "init takes at most one FILE");
	if (pw->file.pg_conninfo == NULL)
		return pwtool_error(PWTOOL_USAGE, "init: only a store = "
				    "postgresql has a schema (a GDBM store is "
				    "made by its first add or import)");
	if ((f = fopen(path, "re")) == NULL)
		return pwtool_error(PWTOOL_CONFIG, "%s: %s", path,
				    strerror(errno));
	/* A schema is a few KiB; 1 MiB is room for many upgrades. */
	sql = xmalloc((1u << 20) + 1);
	len = fread(sql, 1, 1u << 20, f);
	if (ferror(f) || !feof(f)) {
		code = pwtool_error(PWTOOL_CONFIG, "%s: %s", path, ferror(f) ?
				    "read error" : "longer than 1 MiB");
		goto out;
	}
	sql[len] = '\0';
	if (!userdb_schema_init(&pw->file, sql, &from, &why)) {
		code = pwtool_error(PWTOOL_STORE, "%s", why);
		goto out;
	}
	if (pw->json)
		fprintf(pw->out, "{\"ok\":true,\"command\":\"init\","
			"\"from\":%d,\"version\":%d}\n", from,
			STORE_PG_SCHEMA_VERSION);
	else if (from == STORE_PG_SCHEMA_VERSION)
		fprintf(pw->out, "schema version %d is current\n", from);
	else if (from == 0)
		fprintf(pw->out, "schema version %d created\n",
			STORE_PG_SCHEMA_VERSION);
	else
		fprintf(pw->out, "schema upgraded from version %d to %d\n",
			from, STORE_PG_SCHEMA_VERSION);
out:
	fclose(f);
	free(sql);
	return code;
}
