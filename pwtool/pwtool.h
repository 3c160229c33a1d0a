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

/* pwtool_error - print "pwtool: message" on stderr and return code. */
int pwtool_error(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* pwtool_name - parse the single USER operand with -u and the rules. */
int pwtool_name(struct pwtool *pw, struct userdb_name *name);

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

/* json_string - print s as a JSON string literal. */
void json_string(FILE *f, const char *s);

#endif
