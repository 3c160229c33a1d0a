/*
 * batch_parse - one line of `pwtool batch` input into a command (see
 * batch_parse.h for the syntax).  Untrusted input: every byte of the line.
 */
#include <string.h>

#include "batch_parse.h"
#include "codec.h"
#include "secret.h"

static const struct {
	const char *name, *alias;
	enum batch_verb verb;
	unsigned int allowed;	/* BATCH_OPT_* */
	bool user;		/* takes USER */
} verbs[] = {
	{ "add", NULL, BATCH_ADD, BATCH_OPT_REALM | BATCH_OPT_MECHS |
	  BATCH_OPT_DISABLED | BATCH_OPT_PASSWORD, true },
	{ "passwd", "change", BATCH_PASSWD, BATCH_OPT_REALM | BATCH_OPT_MECHS |
	  BATCH_OPT_PASSWORD, true },
	{ "delete", "del", BATCH_DELETE, BATCH_OPT_REALM, true },
	{ "lock", NULL, BATCH_LOCK, BATCH_OPT_REALM, true },
	{ "unlock", NULL, BATCH_UNLOCK, BATCH_OPT_REALM, true },
	{ "show", NULL, BATCH_SHOW, BATCH_OPT_REALM, true },
	{ "check", NULL, BATCH_CHECK, BATCH_OPT_REALM | BATCH_OPT_PASSWORD, true },
	{ "begin", NULL, BATCH_BEGIN, 0, false },
	{ "commit", NULL, BATCH_COMMIT, 0, false },
	{ "abort", NULL, BATCH_ABORT, 0, false },
};

static const struct {
	const char *name;	/* "-u", "--realm" */
	unsigned int opt;
	bool value;
} options[] = {
	{ "-u", BATCH_OPT_REALM, true },
	{ "--realm", BATCH_OPT_REALM, true },
	{ "-m", BATCH_OPT_MECHS, true },
	{ "--mechs", BATCH_OPT_MECHS, true },
	{ "--disabled", BATCH_OPT_DISABLED, false },
	{ "--password-base64", BATCH_OPT_PASSWORD, true },
};

static bool
is_space(char c)
{
	/* "\r" too: a line from a CRLF file or socket ends in it. */
	return c == ' ' || c == '\t' || c == '\r';
}

/* word_eq - whether (w, n) is the NUL-terminated s. */
static bool
word_eq(const char *w, size_t n, const char *s)
{
	return strlen(s) == n && memcmp(w, s, n) == 0;
}

/* next_word - skip separators from *pos; the word is [*w, *w + *n). */
static bool
next_word(const char *line, size_t len, size_t *pos, const char **w,
	  size_t *n)
{
	size_t i = *pos, start;

	while (i < len && is_space(line[i]))
		i++;
	if (i == len)
		return false;
	start = i;
	while (i < len && !is_space(line[i]))
		i++;
	*w = line + start;
	*n = i - start;
	*pos = i;
	return true;
}

/* copy_value - an option's value into a NUL-terminated field. */
static bool
copy_value(char *dst, size_t room, const char *v, size_t n)
{
	if (n >= room)
		return false;
	memcpy(dst, v, n);
	dst[n] = '\0';
	return true;
}

/* set_option - one option and its value (v may be NULL: none given). */
static int
set_option(struct batch_cmd *cmd, unsigned int opt, const char *v, size_t n,
	   const char **error_r)
{
	long got;

	if (cmd->opts & opt) {
		*error_r = "option given twice";
		return 2;
	}
	cmd->opts |= opt;
	switch (opt) {
	case BATCH_OPT_REALM:
		if (!copy_value(cmd->realm, sizeof(cmd->realm), v, n)) {
			*error_r = "realm longer than 253 bytes";
			return 6;
		}
		return 0;
	case BATCH_OPT_MECHS:
		if (!copy_value(cmd->mechs, sizeof(cmd->mechs), v, n)) {
			*error_r = "mechanism list too long";
			return 2;
		}
		return 0;
	case BATCH_OPT_PASSWORD:
		if (n > BATCH_PASSWORD_B64_MAX) {
			*error_r = "password longer than 511 bytes";
			return 6;
		}
		got = codec_b64_decode(v, n, cmd->password);
		if (got < 0) {
			*error_r = "--password-base64: not valid base64 "
				   "(RFC 4648, with padding)";
			return 6;
		}
		if (got > USERDB_PASSWORD_MAX) {
			*error_r = "password longer than 511 bytes";
			return 6;
		}
		cmd->password_len = (size_t)got;
		cmd->password[got] = '\0';
		return 0;
	}
	return 0;
}

/* parse_option - the option word (w, n), taking its value from "=" or
 * from the next word.  Returns 0 or an exit code. */
static int
parse_option(struct batch_cmd *cmd, unsigned int allowed, const char *line,
	     size_t len, size_t *pos, const char *w, size_t n,
	     const char **error_r)
{
	const char *eq = memchr(w, '=', n), *v = NULL;
	size_t name_len = eq != NULL ? (size_t)(eq - w) : n, vn = 0, i;

	for (i = 0; i < sizeof(options) / sizeof(options[0]); i++)
		if (word_eq(w, name_len, options[i].name) &&
		    (eq == NULL || options[i].name[1] == '-'))
			break;
	if (i == sizeof(options) / sizeof(options[0])) {
		*error_r = "unknown option";
		return 2;
	}
	if (!(allowed & options[i].opt)) {
		*error_r = "option not accepted by this command";
		return 2;
	}
	if (!options[i].value) {
		if (eq != NULL) {
			*error_r = "option takes no value";
			return 2;
		}
		return set_option(cmd, options[i].opt, NULL, 0, error_r);
	}
	if (eq != NULL) {
		v = eq + 1;
		vn = n - name_len - 1;
	} else if (!next_word(line, len, pos, &v, &vn)) {
		*error_r = "option needs a value";
		return 2;
	}
	return set_option(cmd, options[i].opt, v, vn, error_r);
}

/* parse - the body of batch_parse_line, cmd already zeroed. */
static int
parse(const char *line, size_t len, struct batch_cmd *cmd,
      const char **error_r)
{
	size_t pos = 0, i, end;
	const char *w;
	size_t n;
	int code;

	if (memchr(line, '\0', len) != NULL) {
		*error_r = "NUL byte in line";
		return 6;
	}
	if (len > BATCH_LINE_MAX) {
		*error_r = "line longer than 65536 bytes";
		return 6;
	}
	if (!next_word(line, len, &pos, &w, &n)) {
		*error_r = "empty line";
		return 2;
	}
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (word_eq(w, n, verbs[i].name) ||
		    (verbs[i].alias != NULL && word_eq(w, n, verbs[i].alias)))
			break;
	if (i == sizeof(verbs) / sizeof(verbs[0])) {
		*error_r = "unknown command";
		return 2;
	}
	cmd->verb = verbs[i].verb;
	cmd->verb_name = verbs[i].name;
	for (;;) {
		size_t before = pos;

		if (!next_word(line, len, &pos, &w, &n))
			break;
		if (!verbs[i].user) {
			*error_r = "this command takes no operands";
			return 2;
		}
		if (word_eq(w, n, "--"))
			break;
		if (w[0] != '-') {
			pos = before;
			break;
		}
		code = parse_option(cmd, verbs[i].allowed, line, len, &pos, w, n,
				    error_r);
		if (code != 0)
			return code;
	}
	if (!verbs[i].user)
		return 0;
	/* USER: the rest of the line, trimmed at both ends. */
	while (pos < len && is_space(line[pos]))
		pos++;
	end = len;
	while (end > pos && is_space(line[end - 1]))
		end--;
	if (end == pos) {
		*error_r = "missing USER";
		return 2;
	}
	if (!copy_value(cmd->user, sizeof(cmd->user), line + pos, end - pos)) {
		*error_r = "user name too long";
		return 6;
	}
	cmd->user_len = end - pos;
	if ((verbs[i].allowed & BATCH_OPT_PASSWORD) &&
	    !(cmd->opts & BATCH_OPT_PASSWORD)) {
		*error_r = "missing --password-base64";
		return 2;
	}
	return 0;
}

int
batch_parse_line(const char *line, size_t len, struct batch_cmd *cmd,
		 const char **error_r)
{
	int code;

	memset(cmd, 0, sizeof(*cmd));
	code = parse(line, len, cmd, error_r);
	if (code != 0)
		batch_cmd_clear(cmd);
	return code;
}

void
batch_cmd_clear(struct batch_cmd *cmd)
{
	secret_wipe(cmd, sizeof(*cmd));
}
