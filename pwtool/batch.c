/*
 * batch - `pwtool batch`: a long-lived writer for control panels and
 * scripts.  One command per line on standard input (batch_parse.h), one
 * answer per line on standard output, written and flushed only after the
 * change is durable (userdb_txn_commit returned).
 *
 * Every change goes through the same code as the command line
 * (pwtool_change_*, cmd_user.c): name, precheck and hash without the
 * lock, then one transaction on the batch's one userdb_writer.  A
 * "begin" ... "commit" group is kept in memory (checked, not applied)
 * until commit, then hashed and applied in one transaction, so the writer
 * lock is never held while this process waits for input, and a group
 * lands whole or not at all.
 *
 * Untrusted input: every line of standard input (length, NUL bytes and
 * base64 included).  Passwords are decoded into wiped buffers and never
 * printed; an answer never echoes a line's password.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch_parse.h"
#include "pwtool.h"
#include "secret.h"
#include "utf8.h"
#include "xalloc.h"

/* A group bigger than this is refused: the group lives in memory
 * (about 2 KiB per command) until commit. */
#define BATCH_GROUP_MAX		100000

/* Standard input, read with read(2) into a buffer that this file wipes,
 * since lines hold passwords (stdio's buffer would keep them). */
struct batch_input {
	char buf[2 * BATCH_LINE_MAX + 2];
	size_t start, end;
	bool eof;
};

struct batch_item {
	struct pwtool_change c;
	unsigned long line;
	bool disabled;
	char *pass;		/* add, passwd: until hashed at commit */
	size_t len;
};

struct batch {
	struct pwtool *pw;
	struct userdb_writer *writer;
	unsigned long line;
	const char *verb;	/* the line's command, NULL if it did not parse */
	const char *summary;	/* a change's pwtool_record_summary, or NULL */
	bool failed;		/* some answer was not 0 */
	bool in_group;
	unsigned long group_line;	/* line of "begin" */
	struct batch_item *items;
	size_t n_items, cap_items;
	/* The first command of the group that could not be queued. */
	struct pwtool_status group_error;
	unsigned long group_error_line;
};

/* batch_read_line - the next line (without "\n") at *line_r, valid until
 * the next call; *too_long_r when it was longer than BATCH_LINE_MAX (then
 * its bytes are dropped).  false at the end of input. */
static bool
batch_read_line(struct batch_input *in, const char **line_r, size_t *len_r,
		bool *too_long_r)
{
	bool dropping = false;
	char *nl;
	ssize_t r;

	*too_long_r = false;
	for (;;) {
		nl = memchr(in->buf + in->start, '\n', in->end - in->start);
		if (nl != NULL || (in->eof && in->end > in->start)) {
			size_t len = nl != NULL ? (size_t)(nl - in->buf) -
				     in->start : in->end - in->start;

			*line_r = in->buf + in->start;
			*len_r = len;
			in->start += len + (nl != NULL);
			if (len > BATCH_LINE_MAX || dropping) {
				*too_long_r = true;
				*len_r = 0;
			}
			return true;
		}
		if (in->eof && dropping) {
			/* A too long last line without "\n". */
			*line_r = in->buf;
			*len_r = 0;
			*too_long_r = true;
			return true;
		}
		if (in->eof)
			return false;
		/* Drop the consumed part; keep at most BATCH_LINE_MAX + 1
		 * bytes of a line that has no end yet. */
		if (in->start > 0) {
			memmove(in->buf, in->buf + in->start,
				in->end - in->start);
			in->end -= in->start;
			secret_wipe(in->buf + in->end, in->start);
			in->start = 0;
		}
		if (in->end > BATCH_LINE_MAX) {
			dropping = true;
			secret_wipe(in->buf, in->end);
			in->end = 0;
		}
		r = read(STDIN_FILENO, in->buf + in->end,
			 sizeof(in->buf) - in->end);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			in->eof = true;
		else
			in->end += (size_t)r;
	}
}

/* clean_message - msg with control bytes as '?', so that a name as
 * typed cannot break the one-line answer or drive a terminal, and, unless
 * it is valid UTF-8 (a name as typed may not be, or truncation may have
 * cut a character), every non-ASCII byte too: JSON is UTF-8. */
static void
clean_message(const char *msg, char out[PWTOOL_MSG_MAX])
{
	size_t n = strlen(msg), i;
	bool valid = utf8_valid((const unsigned char *)msg, n);

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)msg[i];

		out[i] = c < 0x20 || c == 0x7f || (c >= 0x80 && !valid) ?
			 '?' : (char)c;
	}
	out[n] = '\0';
}

/* answer - one line for one input line, flushed.  rec: show's record. */
static void
answer(struct batch *b, const struct pwtool_status *st,
       const struct userdb_name *name, const struct userdb_record *rec,
       unsigned long failed_line)
{
	FILE *f = stdout;
	char msg[PWTOOL_MSG_MAX];

	clean_message(st->msg, msg);
	if (st->code != PWTOOL_OK)
		b->failed = true;
	if (b->pw->json) {
		/* The members of the command line's --json objects too
		 * (ok, command, error, key and a change's summary), beside
		 * the batch's own (line, status, message). */
		fprintf(f, "{\"line\":%lu,\"code\":%d,\"status\":\"%s\","
			"\"ok\":%s,\"message\":", b->line, st->code,
			st->code == PWTOOL_OK ? "ok" : "error",
			st->code == PWTOOL_OK ? "true" : "false");
		json_string(f, msg);
		if (st->code != PWTOOL_OK) {
			fputs(",\"error\":", f);
			json_string(f, msg);
		}
		if (b->verb != NULL) {
			fputs(",\"command\":", f);
			json_string(f, b->verb);
		}
		if (b->summary != NULL && b->summary[0] != '\0')
			fprintf(f, ",%s", b->summary);
		if (failed_line != 0)
			fprintf(f, ",\"failed_line\":%lu", failed_line);
		if (name != NULL) {
			fputs(",\"key\":", f);
			json_string(f, name->key);
		}
		if (rec != NULL) {
			fputs(",\"user\":", f);
			pwtool_show_record(f, name, rec, true);
		}
		fputs("}\n", f);
	} else {
		fprintf(f, "%d ", st->code);
		fputs(msg, f);
		if (rec != NULL) {
			fputc(' ', f);
			pwtool_show_line(f, rec);
		}
		fputc('\n', f);
	}
	(void)fflush(f);
}

/* cmd_pwtool - the per-command view of the tool's settings: the line's
 * -u, -m, --disabled, else the batch command line's.  A default realm
 * does not apply to a user written with @REALM. */
static void
cmd_pwtool(const struct batch *b, const struct batch_cmd *cmd,
	   struct pwtool *p, char **args)
{
	*p = *b->pw;
	args[0] = (char *)cmd->user;
	args[1] = NULL;
	p->args = args;
	p->nargs = 1;
	if (cmd->opts & BATCH_OPT_REALM)
		p->realm = cmd->realm;
	else if (memchr(cmd->user, '@', cmd->user_len) != NULL)
		p->realm = NULL;
	if (cmd->opts & BATCH_OPT_MECHS)
		p->mechs_arg = cmd->mechs;
	if (cmd->opts & BATCH_OPT_DISABLED)
		p->disabled = true;
}

static enum pwtool_change_op
change_op(enum batch_verb v)
{
	switch (v) {
	case BATCH_ADD: return PWTOOL_CHANGE_ADD;
	case BATCH_PASSWD: return PWTOOL_CHANGE_PASSWD;
	case BATCH_DELETE: return PWTOOL_CHANGE_DELETE;
	case BATCH_LOCK: return PWTOOL_CHANGE_LOCK;
	default: return PWTOOL_CHANGE_UNLOCK;
	}
}

static const char *
done_word(enum pwtool_change_op op)
{
	static const char *const w[] = {
		[PWTOOL_CHANGE_ADD] = "added",
		[PWTOOL_CHANGE_PASSWD] = "changed",
		[PWTOOL_CHANGE_DELETE] = "deleted",
		[PWTOOL_CHANGE_LOCK] = "locked",
		[PWTOOL_CHANGE_UNLOCK] = "unlocked",
	};

	return w[op];
}

/* take_password - the line's password as an allocated string (the form
 * pwtool_change_hash takes), len + 1 bytes. */
static char *
take_password(const struct batch_cmd *cmd, size_t *len_r)
{
	char *pass = xmalloc(cmd->password_len + 1);

	memcpy(pass, cmd->password, cmd->password_len);
	pass[cmd->password_len] = '\0';
	*len_r = cmd->password_len;
	return pass;
}

/* run_change - one change, in its own transaction on the batch's writer:
 * name, precheck, hash (no lock), then begin, apply, commit. */
static void
run_change(struct batch *b, const struct batch_cmd *cmd)
{
	struct pwtool_status st = { 0, "" };
	struct pwtool_change c;
	struct userdb_txn *txn;
	struct pwtool p;
	char *args[2];
	const char *why;
	size_t len;

	cmd_pwtool(b, cmd, &p, args);
	pwtool_change_init(&c, change_op(cmd->verb));
	if (pwtool_change_name(&p, &c, &st) != PWTOOL_OK ||
	    pwtool_change_precheck(&p, &c, true, &st) != PWTOOL_OK)
		goto done;
	if (c.op == PWTOOL_CHANGE_ADD || c.op == PWTOOL_CHANGE_PASSWD) {
		char *pass = take_password(cmd, &len);

		if (pwtool_change_hash(&p, &c, pass, len, &st) != PWTOOL_OK)
			goto done;
	}
	if ((txn = userdb_writer_begin(b->writer, &why)) == NULL) {
		pwtool_status_set(&st, PWTOOL_STORE, "%s", why);
		goto done;
	}
	if (pwtool_change_apply(&p, txn, &c, &st) != PWTOOL_OK) {
		userdb_txn_abort(txn);
		goto done;
	}
	if (!userdb_txn_commit(txn, &why)) {
		pwtool_status_set(&st, PWTOOL_STORE, "%s", why);
		goto done;
	}
	pwtool_status_set(&st, PWTOOL_OK, "%s %s", done_word(c.op), c.name.key);
	b->summary = c.summary;
done:
	answer(b, &st, c.name.key[0] != '\0' ? &c.name : NULL, NULL, 0);
	b->summary = NULL;
	pwtool_change_clear(&c);
}

/* run_read - show and check: the live store, no lock. */
static void
run_read(struct batch *b, const struct batch_cmd *cmd)
{
	struct pwtool_status st = { 0, "" };
	struct userdb_record rec;
	struct userdb_name name;
	struct pwtool p;
	char *args[2];
	bool have_name = false;

	cmd_pwtool(b, cmd, &p, args);
	if (pwtool_name_parse(&p, cmd->user, cmd->user_len, &name,
			      &st) != PWTOOL_OK)
		goto done;
	have_name = true;
	if (cmd->verb == BATCH_CHECK) {
		if (pwtool_check_password(&p, &name, (const char *)cmd->password,
					  cmd->password_len, &st) == PWTOOL_OK)
			pwtool_status_set(&st, PWTOOL_OK, "%s: password ok",
					  name.key);
		goto done;
	}
	if (pwtool_user_get(&p, &name, &rec, &st) != PWTOOL_OK)
		goto done;
	pwtool_status_set(&st, PWTOOL_OK, "%s", name.key);
	answer(b, &st, &name, &rec, 0);
	userdb_record_clear(&rec);
	return;
done:
	answer(b, &st, have_name ? &name : NULL, NULL, 0);
}

static void
group_clear(struct batch *b)
{
	size_t i;

	for (i = 0; i < b->n_items; i++) {
		pwtool_change_clear(&b->items[i].c);
		if (b->items[i].pass != NULL)
			secret_free(b->items[i].pass, b->items[i].len + 1);
	}
	b->n_items = 0;
	b->in_group = false;
	b->group_error.code = PWTOOL_OK;
	b->group_error.msg[0] = '\0';
	b->group_error_line = 0;
}

/* group_refuse - answer a command of the group that cannot be queued;
 * the group will then not commit. */
static void
group_refuse(struct batch *b, const struct pwtool_status *st)
{
	if (b->group_error.code == PWTOOL_OK) {
		b->group_error = *st;
		b->group_error_line = b->line;
	}
	answer(b, st, NULL, NULL, 0);
}

/* group_queue - check a command of a group (syntax, name, mechanisms)
 * and keep it for commit. */
static void
group_queue(struct batch *b, const struct batch_cmd *cmd)
{
	struct pwtool_status st = { 0, "" };
	struct batch_item *it;
	struct pwtool p;
	char *args[2];

	if (cmd->verb == BATCH_SHOW || cmd->verb == BATCH_CHECK) {
		pwtool_status_set(&st, PWTOOL_USAGE, "%s is not allowed inside "
				  "a group", cmd->verb_name);
		group_refuse(b, &st);
		return;
	}
	if (b->n_items == BATCH_GROUP_MAX) {
		pwtool_status_set(&st, PWTOOL_INPUT, "group larger than %d "
				  "commands", BATCH_GROUP_MAX);
		group_refuse(b, &st);
		return;
	}
	if (b->n_items == b->cap_items) {
		b->cap_items = b->cap_items ? b->cap_items * 2 : 64;
		b->items = xreallocarray(b->items, b->cap_items,
					 sizeof(*b->items));
	}
	it = &b->items[b->n_items];
	memset(it, 0, sizeof(*it));
	cmd_pwtool(b, cmd, &p, args);
	pwtool_change_init(&it->c, change_op(cmd->verb));
	if (pwtool_change_name(&p, &it->c, &st) != PWTOOL_OK) {
		pwtool_change_clear(&it->c);
		group_refuse(b, &st);
		return;
	}
	it->line = b->line;
	it->disabled = p.disabled;
	if (cmd->opts & BATCH_OPT_PASSWORD)
		it->pass = take_password(cmd, &it->len);
	b->n_items++;
	pwtool_status_set(&st, PWTOOL_OK, "queued");
	answer(b, &st, &it->c.name, NULL, 0);
}

/* group_commit - hash every password (no lock), then apply the whole
 * group in one transaction. */
static void
group_commit(struct batch *b)
{
	struct pwtool_status st = { 0, "" };
	struct userdb_txn *txn = NULL;
	unsigned long at = 0;
	const char *why;
	struct pwtool p;
	size_t i;

	if (b->group_error.code != PWTOOL_OK) {
		st = b->group_error;
		at = b->group_error_line;
		goto fail;
	}
	for (i = 0; i < b->n_items; i++) {
		struct batch_item *it = &b->items[i];
		char *pass = it->pass;

		if (pass == NULL)
			continue;
		p = *b->pw;
		p.disabled = it->disabled;
		at = it->line;
		if (pwtool_change_precheck(&p, &it->c, false, &st) != PWTOOL_OK)
			goto fail;
		/* The change owns the password from here on. */
		it->pass = NULL;
		if (pwtool_change_hash(&p, &it->c, pass, it->len,
				       &st) != PWTOOL_OK)
			goto fail;
	}
	at = 0;
	if ((txn = userdb_writer_begin(b->writer, &why)) == NULL) {
		pwtool_status_set(&st, PWTOOL_STORE, "%s", why);
		goto fail;
	}
	for (i = 0; i < b->n_items; i++) {
		at = b->items[i].line;
		if (pwtool_change_apply(b->pw, txn, &b->items[i].c,
					&st) != PWTOOL_OK)
			goto fail;
	}
	at = 0;
	if (!userdb_txn_commit(txn, &why)) {
		txn = NULL;	/* commit frees it either way */
		pwtool_status_set(&st, PWTOOL_STORE, "%s", why);
		goto fail;
	}
	pwtool_status_set(&st, PWTOOL_OK, "committed %zu commands", b->n_items);
	answer(b, &st, NULL, NULL, 0);
	group_clear(b);
	return;
fail:
	if (txn != NULL)
		userdb_txn_abort(txn);
	{
		struct pwtool_status out;

		if (at != 0)
			pwtool_status_set(&out, st.code, "line %lu: %s; nothing "
					  "of the group was written", at, st.msg);
		else
			pwtool_status_set(&out, st.code, "%s; nothing of the "
					  "group was written", st.msg);
		answer(b, &out, NULL, NULL, at);
	}
	group_clear(b);
}

/* batch_line - parse and run (or queue) one line. */
static void
batch_line(struct batch *b, const char *line, size_t len, bool too_long)
{
	struct pwtool_status st = { 0, "" };
	struct batch_cmd cmd;
	const char *why;
	int code;

	if (too_long) {
		pwtool_status_set(&st, PWTOOL_INPUT, "line longer than %d bytes",
				  BATCH_LINE_MAX);
		goto refuse;
	}
	if ((code = batch_parse_line(line, len, &cmd, &why)) != 0) {
		pwtool_status_set(&st, code, "%s", why);
		goto refuse;
	}
	b->verb = cmd.verb_name;
	switch (cmd.verb) {
	case BATCH_BEGIN:
		if (b->in_group) {
			pwtool_status_set(&st, PWTOOL_USAGE, "already in a group "
					  "(begun on line %lu)", b->group_line);
			group_refuse(b, &st);
			break;
		}
		b->in_group = true;
		b->group_line = b->line;
		pwtool_status_set(&st, PWTOOL_OK, "begin");
		answer(b, &st, NULL, NULL, 0);
		break;
	case BATCH_COMMIT:
	case BATCH_ABORT:
		if (!b->in_group) {
			pwtool_status_set(&st, PWTOOL_USAGE, "%s outside a group",
					  cmd.verb_name);
			answer(b, &st, NULL, NULL, 0);
		} else if (cmd.verb == BATCH_COMMIT) {
			group_commit(b);
		} else {
			pwtool_status_set(&st, PWTOOL_OK, "aborted %zu commands",
					  b->n_items);
			group_clear(b);
			answer(b, &st, NULL, NULL, 0);
		}
		break;
	default:
		if (b->in_group)
			group_queue(b, &cmd);
		else if (cmd.verb == BATCH_SHOW || cmd.verb == BATCH_CHECK)
			run_read(b, &cmd);
		else
			run_change(b, &cmd);
		break;
	}
	batch_cmd_clear(&cmd);
	return;
refuse:
	if (b->in_group)
		group_refuse(b, &st);
	else
		answer(b, &st, NULL, NULL, 0);
}

int
cmd_batch(struct pwtool *pw)
{
	struct batch_input *in;
	struct batch b;
	const char *line;
	size_t len;
	bool too_long;
	int code;

	if (pw->nargs != 0)
		return pwtool_error(PWTOOL_USAGE, "batch takes no operands "
				    "(commands come on standard input)");
	if (pw->pipe || pw->password_fd >= 0)
		return pwtool_error(PWTOOL_USAGE, "batch: passwords come with "
				    "--password-base64 on each line, not -p "
				    "or --password-fd");
	memset(&b, 0, sizeof(b));
	b.pw = pw;
	b.writer = userdb_writer_new(&pw->file);
	pw->reader = userdb_reader_new(&pw->file);
	in = xcalloc(1, sizeof(*in));
	while (batch_read_line(in, &line, &len, &too_long)) {
		b.line++;
		b.verb = NULL;
		batch_line(&b, line, len, too_long);
		secret_wipe((char *)line, len);
		/* A compaction child is a copy of this process for seconds:
		 * start one only while no password is held, neither in a
		 * group nor in input read ahead (a here-doc defers it to the
		 * end; a panel that waits for each answer never does). */
		if (!b.in_group && in->start == in->end)
			userdb_compact_if_due(&pw->file);
	}
	/* 0: every answer was 0; 1: some answer was not (the answers say
	 * which), or the input ended inside a group. */
	code = b.failed ? 1 : 0;
	if (b.in_group) {
		/* Nothing was applied: the group only ever lived here. */
		(void)pwtool_error(0, "input ended inside the group begun on "
				   "line %lu: nothing of it was written",
				   b.group_line);
		code = 1;
	}
	group_clear(&b);
	free(b.items);
	secret_free(in, sizeof(*in));
	userdb_compact_if_due(&pw->file);
	userdb_free(pw->reader);
	pw->reader = NULL;
	userdb_writer_free(b.writer);
	return code;
}
