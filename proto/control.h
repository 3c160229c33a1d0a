/*
 * control - the control socket's line protocol (control-protocol.txt):
 * one command a line, a reply of "OK" or "ERR text", data lines, and a
 * terminator line ".".  The parser is a pure function of the bytes, so
 * the daemon, authdctl and the fuzz target share it.
 *
 * Untrusted input: the command line (from root or the control group, but
 * still parsed as if from anyone: a mistyped command must not hurt).
 */
#ifndef AUTHD_CONTROL_H
#define AUTHD_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

/* A command line's longest length, its LF included. */
#define CONTROL_LINE_MAX	512
/* An argument's longest length: a store key (64 + "@" + 253). */
#define CONTROL_ARG_MAX		318
/* The terminator line of every reply. */
#define CONTROL_END		"."

enum control_cmd {
	CONTROL_STATUS,		/* status */
	CONTROL_STATS,		/* stats */
	CONTROL_METRICS,	/* metrics, stats prometheus */
	CONTROL_PENALTY_LIST,	/* penalty list */
	CONTROL_PENALTY_FLUSH,	/* penalty flush ADDR|USER|all */
	CONTROL_CACHE_FLUSH,	/* cache flush USER|all */
	CONTROL_HELP,		/* help */
};

struct control_request {
	enum control_cmd cmd;
	bool all;			/* the argument was "all" */
	char arg[CONTROL_ARG_MAX + 1];	/* NUL-terminated, "" if none */
};

/* control_line_end - the length of the first line in (p, n) with its LF,
 * 0 if no LF is there yet.  A caller holding CONTROL_LINE_MAX bytes or
 * more without an LF has a line that is too long. */
size_t control_line_end(const char *p, size_t n);

/* control_parse - one line (without its LF; a CR before it is allowed)
 * into *req_r.  Words are separated by spaces or tabs; command words are
 * case-insensitive.  Returns NULL, or a static reason for an ERR reply
 * (never one that quotes the input). */
const char *control_parse(const char *line, size_t len,
			  struct control_request *req_r);

#endif
