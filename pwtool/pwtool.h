/*
 * pwtool - shared declarations of the store administration tool.
 *
 * Exit codes are part of the interface (pwtool(8), EXIT STATUS); scripts
 * depend on them, so they never change meaning.
 */
#ifndef AUTHD_PWTOOL_H
#define AUTHD_PWTOOL_H

#include <stdbool.h>
#include <stdio.h>

#include "config.h"
#include "name.h"
#include "password.h"
#include "userdb.h"

enum pwtool_exit {
	PWTOOL_OK = 0,
	PWTOOL_VERIFY_FAILED = 1,	/* check: wrong password */
	PWTOOL_USAGE = 2,		/* bad command line */
	PWTOOL_NOT_FOUND = 3,		/* no such user */
	PWTOOL_EXISTS = 4,		/* add: user already exists */
	PWTOOL_STORE = 5,		/* store cannot be opened/locked/written */
	PWTOOL_INPUT = 6,		/* bad name, password or import data */
	PWTOOL_DISABLED = 7,		/* check: account is locked */
	PWTOOL_CONFIG = 8,		/* authd.conf is wrong */
};

struct pwtool {
	struct config *cfg;
	struct userdb_name_rules rules;
	struct userdb_hash_params hash;
	struct userdb_file_params file;
	const char *realm;		/* -u */
	const char *mechs_arg;		/* -m */
	bool pipe;			/* -p */
	int password_fd;		/* --password-fd, -1 if unset */
	bool json, dry_run, replace, disabled;
	bool force;			/* --force: write a store others may
					 * access (store_mode_check) */
	char **args;			/* operands after the command */
	int nargs;
	struct userdb *reader;		/* batch: one reader for every
					 * look-up; NULL: one per look-up */
	FILE *out;			/* the command's output: stdout, or
					 * with --json the document buffer
					 * (json.c) that main() prints only
					 * on success */
	/* import-sasldb: --realm-map FROM=TO, as given */
#define PWTOOL_REALM_MAPS_MAX	64
	const char *realm_maps[PWTOOL_REALM_MAPS_MAX];
	int n_realm_maps;
	char *pg_conninfo;		/* store = postgresql (or -f URI):
					 * file.pg_conninfo, owned, wiped */
};

/* Commands: each returns an exit code and prints its own errors. */
int cmd_add(struct pwtool *pw);
int cmd_passwd(struct pwtool *pw);
int cmd_delete(struct pwtool *pw);
int cmd_lock(struct pwtool *pw);
int cmd_unlock(struct pwtool *pw);
int cmd_show(struct pwtool *pw);
int cmd_check(struct pwtool *pw);
int cmd_list(struct pwtool *pw);
int cmd_realms(struct pwtool *pw);
int cmd_import(struct pwtool *pw);
int cmd_export(struct pwtool *pw);
int cmd_compact(struct pwtool *pw);
int cmd_init(struct pwtool *pw);
int cmd_batch(struct pwtool *pw);
int cmd_import_sasldb(struct pwtool *pw);

/* pwtool_term_print - write "pwtool: " + msg + "\n" to f with every byte a
 * terminal could act on (controls, C1 controls, bytes that are not UTF-8)
 * as \xNN: a name from an import file or argv is never echoed raw. */
void pwtool_term_print(FILE *f, const char *msg);

/* pwtool_error - print "pwtool: message" on stderr and return code. */
int pwtool_error(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A command's outcome: its exit code and, unless 0, the message that the
 * command line prints on stderr ("pwtool: MSG") and a batch answers. */
#define PWTOOL_MSG_MAX	1024
struct pwtool_status {
	int code;
	char msg[PWTOOL_MSG_MAX];
};

/* pwtool_status_set - fill st (message truncated to fit); returns code. */
int pwtool_status_set(struct pwtool_status *st, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* pwtool_status_print - print st's message if it failed; returns code. */
int pwtool_status_print(const struct pwtool_status *st);

/* pwtool_name_parse - parse a USER operand (arg, len) with -u and the
 * rules into name.  0, or 2 / 6 with st set. */
int pwtool_name_parse(struct pwtool *pw, const char *arg, size_t len,
		      struct userdb_name *name, struct pwtool_status *st);

/*
 * One change to one user, shared by the command line and the batch
 * (batch.c), in the order they run it:
 *   pwtool_change_init      the op
 *   pwtool_change_name      user (pw->args[0], pw->realm) and mechanisms
 *   pwtool_change_precheck  look at the live store (add: exists? passwd:
 *                           which verifiers?) - no lock
 *   pwtool_change_hash      add, passwd: hash the password - no lock
 *   pwtool_change_apply     inside a transaction (the store locked)
 *   pwtool_change_clear     wipe and free
 * Each returns an exit code, with st set when it is not 0.  Hashing
 * before the lock keeps the lock held for O(change), not for a hash.
 */
#define PWTOOL_SUMMARY_MAX	512

enum pwtool_change_op {
	PWTOOL_CHANGE_ADD,
	PWTOOL_CHANGE_PASSWD,
	PWTOOL_CHANGE_DELETE,
	PWTOOL_CHANGE_LOCK,
	PWTOOL_CHANGE_UNLOCK,
};

struct pwtool_change {
	enum pwtool_change_op op;
	struct userdb_name name;
	unsigned int mechs;		/* add, passwd: the set to hash */
	bool mechs_given;		/* passwd: -m, else the user's set */
	bool hashed;			/* rec holds the fresh verifiers */
	struct userdb_record rec;	/* add: the new record; passwd: the
					 * fresh verifiers */
	char *pass;			/* passwd: kept to hash again under
					 * the lock if the set changed */
	size_t len;
	char summary[PWTOOL_SUMMARY_MAX];	/* after apply: the stored
					 * record, pwtool_record_summary();
					 * "" for delete */
};

void pwtool_change_init(struct pwtool_change *c, enum pwtool_change_op op);
int pwtool_change_name(struct pwtool *pw, struct pwtool_change *c,
		       struct pwtool_status *st);
int pwtool_change_precheck(struct pwtool *pw, struct pwtool_change *c,
			   bool strict, struct pwtool_status *st);
/* pass: allocated, len + 1 bytes, owned by c from now on (wiped). */
int pwtool_change_hash(struct pwtool *pw, struct pwtool_change *c, char *pass,
		       size_t len, struct pwtool_status *st);
int pwtool_change_apply(struct pwtool *pw, struct userdb_txn *txn,
			struct pwtool_change *c, struct pwtool_status *st);
void pwtool_change_clear(struct pwtool_change *c);

/* pwtool_user_get - the live record of name (0), or 3 / 5 with st set. */
int pwtool_user_get(struct pwtool *pw, const struct userdb_name *name,
		    struct userdb_record *rec, struct pwtool_status *st);
/* pwtool_check_password - 0 if (pass, len) is name's password, else 1
 * (wrong), 3, 5 or 7 (locked) with st set. */
int pwtool_check_password(struct pwtool *pw, const struct userdb_name *name,
			  const char *pass, size_t len,
			  struct pwtool_status *st);

/* pwtool_show_record - one user, as text (several lines) or as a JSON
 * object (no newline). */
void pwtool_show_record(FILE *f, const struct userdb_name *name,
			const struct userdb_record *rec, bool json);
/* pwtool_show_line - one user on one line, no newline (batch). */
void pwtool_show_line(FILE *f, const struct userdb_record *rec);

/* pwtool_lookup - userdb_lookup on the store file, where a store that
 * does not exist yet is an empty one (not found), so a fresh install
 * answers "no such user" instead of a file error. */
int pwtool_lookup(struct pwtool *pw, const struct userdb_name *name,
		  struct userdb_record *rec, const char **why_r);
/* pwtool_store_missing - whether the store file does not exist. */
bool pwtool_store_missing(struct pwtool *pw);

/* password_read - get a password: prompt twice on the terminal (confirm),
 * or once (check); or one line from stdin (-p) or --password-fd.  Returns
 * an allocated string (free with secret_free_str) or NULL after printing
 * the reason; *code_r is the exit code then. */
char *password_read(struct pwtool *pw, const char *key, bool confirm,
		    size_t *len_r, int *code_r);

/* pwtool_seen - a set of store keys, each with a number saying where it
 * was first seen (an import line, a sasldb entry), to name duplicates. */
struct pwtool_seen {
	char **keys;
	unsigned long *lines;
	size_t cap, n;
};
/* pwtool_seen_add - 0 if key is new (then added with line), else the
 * line where it was first seen.  Start from a zeroed set. */
unsigned long pwtool_seen_add(struct pwtool_seen *s, const char *key,
			      unsigned long line);
void pwtool_seen_free(struct pwtool_seen *s);

/* json_string - print s as a JSON string literal: control characters
 * escaped, bytes that are not UTF-8 as U+FFFD. */
void json_string(FILE *f, const char *s);
/* json_string_array - print the n strings of v as a JSON array. */
void json_string_array(FILE *f, const char *const *v, size_t n);

/*
 * The --json outcome (json.c).  pwtool_error() notes each failure's
 * message (the last one wins: it is the summary); a parsed USER is noted
 * for the error object's "key"; import notes its line errors.  main()
 * then prints json_error_print() when the exit status is not 0.
 */
#define PWTOOL_ERROR_MAX	8192
void json_note_error(int code, const char *msg);
void json_note_key(const char *key);
void json_note_detail(unsigned long line, const char *msg);
/* json_error_print - {"error":MSG,"code":code[,"command":..][,"key":..]
 * [,"errors":[{"line":N,"error":MSG},...]]} and a newline. */
void json_error_print(FILE *f, const char *command, int code);

/* json_doc_open - a stream that collects a document in b (wiped on
 * growth, as is the stream's buffer); NULL if it cannot be made.  json_doc_close - close
 * it, write what it holds to `to` (NULL: discard), wipe b; false if
 * anything failed. */
struct buf;
FILE *json_doc_open(struct buf *b);
bool json_doc_close(FILE *f, struct buf *b, FILE *to);

/* pwtool_record_summary - what a change left, for the JSON answers of
 * add, passwd, lock and unlock: "disabled":B,"verifiers":[..],
 * "mechanisms":[..] (members only, no braces; never a secret). */
void pwtool_record_summary(const struct userdb_record *rec, char *out,
			   size_t size);

#endif
