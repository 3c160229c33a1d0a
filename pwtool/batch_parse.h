/*
 * batch_parse - one line of `pwtool batch` input into a command.
 *
 * A line is "VERB [OPTIONS] USER", "begin", "commit" or "abort".  Words
 * are separated by blanks (space, tab, "\r"); USER is the rest of the
 * line after the options (a user name may hold inner spaces), without
 * blanks at either end.  Options: -u/--realm REALM, -m/--mechs LIST,
 * --disabled, --password-base64 B64 (also as --opt=VALUE); "--" ends them.
 * The password is RFC 4648 base64 with padding, so that any byte string
 * is one word and nothing in a password can be read as syntax.
 *
 * Untrusted input: the whole line (pointer, length, any bytes).  The
 * parser is pure: no allocation, no output, no exit; it returns the exit
 * code of pwtool(8) for the error (2 syntax, 6 bad input) with a static
 * reason.  The decoded password lives in the command and is wiped by
 * batch_cmd_clear().
 */
#ifndef AUTHD_PWTOOL_BATCH_PARSE_H
#define AUTHD_PWTOOL_BATCH_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "name.h"
#include "scheme.h"

#define BATCH_LINE_MAX		65536	/* bytes of one line, without "\n" */
#define BATCH_MECHS_MAX		255
/* base64 of USERDB_PASSWORD_MAX bytes, rounded up to a whole quantum */
#define BATCH_PASSWORD_B64_MAX	((USERDB_PASSWORD_MAX + 2) / 3 * 4)

enum batch_verb {
	BATCH_ADD,
	BATCH_PASSWD,
	BATCH_DELETE,
	BATCH_LOCK,
	BATCH_UNLOCK,
	BATCH_SHOW,
	BATCH_CHECK,
	BATCH_BEGIN,
	BATCH_COMMIT,
	BATCH_ABORT,
};

/* What the verbs accept. */
#define BATCH_OPT_REALM		(1u << 0)
#define BATCH_OPT_MECHS		(1u << 1)
#define BATCH_OPT_DISABLED	(1u << 2)
#define BATCH_OPT_PASSWORD	(1u << 3)

struct batch_cmd {
	enum batch_verb verb;
	const char *verb_name;		/* canonical: "add", "passwd"... */
	unsigned int opts;		/* BATCH_OPT_* given */
	char user[USERDB_KEY_MAX + 1];	/* as written (user or user@realm) */
	size_t user_len;
	char realm[USERDB_REALM_MAX + 1];
	char mechs[BATCH_MECHS_MAX + 1];
	unsigned char password[USERDB_PASSWORD_MAX + 4];	/* + NUL */
	size_t password_len;
};

/* batch_parse_line - parse (line, len), without its "\n", into cmd.
 * Returns 0, or 2 (syntax: unknown verb or option, missing USER or
 * password, an option the verb does not take) or 6 (bad input: a NUL
 * byte, bad base64, a name or password too long) with *error_r set to a
 * static reason.  cmd is cleared first and wiped on error. */
int batch_parse_line(const char *line, size_t len, struct batch_cmd *cmd,
		     const char **error_r);

/* batch_cmd_clear - wipe everything cmd holds (the password). */
void batch_cmd_clear(struct batch_cmd *cmd);

#endif
