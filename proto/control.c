/*
 * control - the control protocol's parser.  See control.h.
 * Untrusted input: every byte of the line.
 */
#include <string.h>
#include <strings.h>

#include "control.h"

#define MAX_WORDS	4

struct word {
	const char *p;
	size_t len;
};

size_t
control_line_end(const char *p, size_t n)
{
	const char *lf = memchr(p, '\n', n);

	return lf != NULL ? (size_t)(lf - p) + 1 : 0;
}

/* split - the words of the line; -1 for a byte no command may hold (a
 * control character, DEL) or for more than MAX_WORDS words. */
static int
split(const char *line, size_t len, struct word *w)
{
	size_t i = 0;
	int n = 0;

	while (i < len) {
		unsigned char ch = (unsigned char)line[i];

		if (ch == ' ' || ch == '\t') {
			i++;
			continue;
		}
		if (n == MAX_WORDS)
			return -1;
		w[n].p = line + i;
		while (i < len && line[i] != ' ' && line[i] != '\t') {
			ch = (unsigned char)line[i];
			if (ch < 0x20 || ch == 0x7f)
				return -1;
			i++;
		}
		w[n].len = (size_t)(line + i - w[n].p);
		n++;
	}
	return n;
}

static bool
is(const struct word *w, const char *s)
{
	return w->len == strlen(s) && strncasecmp(w->p, s, w->len) == 0;
}

/* take_arg - the flush target: "all" or a name of at most
 * CONTROL_ARG_MAX bytes (case kept: the daemon applies the name rule). */
static const char *
take_arg(const struct word *w, struct control_request *req)
{
	if (w->len > CONTROL_ARG_MAX)
		return "argument too long";
	if (is(w, "all")) {
		req->all = true;
		return NULL;
	}
	memcpy(req->arg, w->p, w->len);
	req->arg[w->len] = '\0';
	return NULL;
}

const char *
control_parse(const char *line, size_t len, struct control_request *req_r)
{
	struct word w[MAX_WORDS];
	int n;

	memset(req_r, 0, sizeof(*req_r));
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len >= CONTROL_LINE_MAX)
		return "line too long";
	if ((n = split(line, len, w)) < 0)
		return "malformed command";
	if (n == 0)
		return "empty command";
	if (n == 1 && is(&w[0], "status")) {
		req_r->cmd = CONTROL_STATUS;
	} else if (n == 1 && is(&w[0], "stats")) {
		req_r->cmd = CONTROL_STATS;
	} else if ((n == 1 && is(&w[0], "metrics")) ||
		   (n == 2 && is(&w[0], "stats") && is(&w[1], "prometheus"))) {
		req_r->cmd = CONTROL_METRICS;
	} else if (n == 1 && is(&w[0], "help")) {
		req_r->cmd = CONTROL_HELP;
	} else if (is(&w[0], "penalty")) {
		if (n == 2 && is(&w[1], "list"))
			req_r->cmd = CONTROL_PENALTY_LIST;
		else if (n == 3 && is(&w[1], "flush")) {
			req_r->cmd = CONTROL_PENALTY_FLUSH;
			return take_arg(&w[2], req_r);
		} else
			return "usage: penalty list | penalty flush ADDR|USER|all";
	} else if (is(&w[0], "cache")) {
		if (n == 3 && is(&w[1], "flush")) {
			req_r->cmd = CONTROL_CACHE_FLUSH;
			return take_arg(&w[2], req_r);
		}
		return "usage: cache flush USER|all";
	} else {
		return "unknown command (help lists them)";
	}
	return NULL;
}
