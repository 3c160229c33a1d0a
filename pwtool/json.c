/*
 * json - the little JSON pwtool prints (RFC 8259), and the one document
 * that a --json run prints for its outcome: the command's own document
 * when it succeeds, else {"error": MSG, "code": N, ...}.
 *
 * A command writes its document to pw->out.  With --json that is a
 * buffer (json_doc_open), printed by main() only if the command
 * succeeded, so a failure half-way through a listing never leaves a
 * partial document in front of the error object.  The buffer is a
 * struct buf, which wipes what it lets go of: an export holds verifiers.
 *
 * Untrusted input: the strings printed (names as typed, messages that
 * quote them, paths).  Control characters are escaped and bytes that are
 * not UTF-8 become U+FFFD, so the output is valid UTF-8 JSON whatever the
 * input was.
 */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "pwtool.h"
#include "secret.h"
#include "utf8.h"

/* The error object's parts, noted as the run goes (one run, one
 * outcome: static is the honest scope). */
#define JSON_DETAILS_MAX	20	/* as many as import prints */

static struct {
	int code;
	char msg[PWTOOL_ERROR_MAX];
	char key[USERDB_KEY_MAX + 1];
	struct {
		unsigned long line;
		char msg[PWTOOL_MSG_MAX];
	} details[JSON_DETAILS_MAX];
	size_t n_details;
} outcome;

/* utf8_seq_len - the length of the well-formed UTF-8 sequence at s (lead
 * byte >= 0x80), or 0 if there is none.  s is NUL-terminated, and NUL is
 * never a continuation byte, so the look-ahead stays inside. */
static size_t
utf8_seq_len(const unsigned char *s)
{
	size_t n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;
	size_t i;

	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n != 0 && utf8_valid(s, n) ? n : 0;
}

void
json_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	fputc('"', f);
	while (*p != '\0') {
		if (*p == '"' || *p == '\\') {
			fprintf(f, "\\%c", *p++);
		} else if (*p == '\n' || *p == '\t' || *p == '\r') {
			fputc('\\', f);
			fputc(*p == '\n' ? 'n' : *p == '\t' ? 't' : 'r', f);
			p++;
		} else if (*p < 0x20 || *p == 0x7f) {
			fprintf(f, "\\u%04x", *p++);
		} else if (*p < 0x80) {
			fputc(*p++, f);
		} else if ((n = utf8_seq_len(p)) != 0) {
			fwrite(p, 1, n, f);
			p += n;
		} else {
			/* Not UTF-8 (or cut by a truncation): one
			 * replacement character per bad byte. */
			fputs("\\ufffd", f);
			p++;
		}
	}
	fputc('"', f);
}

void
json_note_error(int code, const char *msg)
{
	outcome.code = code;
	snprintf(outcome.msg, sizeof(outcome.msg), "%s", msg);
}

void
json_note_key(const char *key)
{
	snprintf(outcome.key, sizeof(outcome.key), "%s", key);
}

void
json_note_detail(unsigned long line, const char *msg)
{
	if (outcome.n_details == JSON_DETAILS_MAX)
		return;
	outcome.details[outcome.n_details].line = line;
	snprintf(outcome.details[outcome.n_details].msg, PWTOOL_MSG_MAX, "%s",
		 msg);
	outcome.n_details++;
}

void
json_error_print(FILE *f, const char *command, int code)
{
	size_t i;

	fputs("{\"error\":", f);
	/* Every failing path prints its reason through pwtool_error(); a
	 * path that did not is a bug, but the document stays whole. */
	json_string(f, outcome.msg[0] != '\0' ? outcome.msg : "failed");
	fprintf(f, ",\"code\":%d", code);
	if (command != NULL) {
		fputs(",\"command\":", f);
		json_string(f, command);
	}
	if (outcome.key[0] != '\0') {
		fputs(",\"key\":", f);
		json_string(f, outcome.key);
	}
	if (outcome.n_details > 0) {
		fputs(",\"errors\":[", f);
		for (i = 0; i < outcome.n_details; i++) {
			/* Line 0: a detail of no line (import-sasldb's
			 * per-user errors). */
			fputs(i ? ",{" : "{", f);
			if (outcome.details[i].line != 0)
				fprintf(f, "\"line\":%lu,",
					outcome.details[i].line);
			fputs("\"error\":", f);
			json_string(f, outcome.details[i].msg);
			fputc('}', f);
		}
		fputc(']', f);
	}
	fputs("}\n", f);
}

/* The document buffer: a stdio stream whose bytes land in a struct buf,
 * through a stdio buffer of our own that json_doc_close() wipes (stdio's
 * would keep copies of the bytes, export's verifiers, that nothing wipes). */
static char doc_iobuf[BUFSIZ];

static ssize_t
doc_write(void *cookie, const char *data, size_t n)
{
	return buf_append(cookie, data, n) ? (ssize_t)n : -1;
}

FILE *
json_doc_open(struct buf *b)
{
	static const cookie_io_functions_t io = { .write = doc_write };
	FILE *f;

	buf_init(b);
	if ((f = fopencookie(b, "w", io)) == NULL)
		return NULL;
	(void)setvbuf(f, doc_iobuf, _IOFBF, sizeof(doc_iobuf));
	return f;
}

bool
json_doc_close(FILE *f, struct buf *b, FILE *to)
{
	bool ok = fclose(f) == 0 && buf_ok(b);

	secret_wipe(doc_iobuf, sizeof(doc_iobuf));

	if (ok && to != NULL && b->len > 0)
		ok = fwrite(b->data, 1, b->len, to) == b->len;
	buf_free(b);
	return ok;
}

void
json_string_array(FILE *f, const char *const *v, size_t n)
{
	size_t i;

	fputc('[', f);
	for (i = 0; i < n; i++) {
		fputs(i ? "," : "", f);
		json_string(f, v[i]);
	}
	fputc(']', f);
}
