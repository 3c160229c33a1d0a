/*
 * smtp - the SMTP command side of RFC 5321 as authd-smtpd reads it: line
 * framing, commands, MAIL/RCPT paths with their ESMTP parameters, and
 * mailboxes.  The DATA phase is smtp_data.h.
 *
 * Untrusted input: every byte, from any client on the Internet.  All
 * parsers work on (pointer, length), never read past it, never allocate
 * and never exit (libauthd-safe like the rest of proto/).  A parser says
 * whether the syntax is acceptable; what an address *means* for relaying
 * (sender-specified routing, IP literals, trailing dots) is reported in
 * flags for the relay policy to judge, so a client that authenticated
 * can still send to an address that an anonymous client may not.
 */
#ifndef AUTHD_PROTO_SMTP_H
#define AUTHD_PROTO_SMTP_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 5321 §4.5.3.1: command line 512 octets with its CRLF; the path
 * 256, local part 64, domain 255. */
#define SMTP_CMD_LINE_MAX	512
#define SMTP_PATH_MAX		256
#define SMTP_LOCAL_MAX		64
#define SMTP_DOMAIN_MAX		255
/* RFC 3461 xtext of AUTH= (RFC 4954 §5), decoded. */
#define SMTP_AUTH_PARAM_MAX	500

/* smtp_line_next - the next line of (data, len).  A line ends at CRLF,
 * or at a bare LF, which sets *bare_r (so does a bare CR inside the line,
 * which never ends one: CVE-2023-51764).  Returns false while no line end
 * is there yet; else *line_len_r (without the line end) and *used_r (with
 * it). */
bool smtp_line_next(const char *data, size_t len, size_t *line_len_r,
		    size_t *used_r, bool *bare_r);

enum smtp_verb {
	SMTP_UNKNOWN, SMTP_HELO, SMTP_EHLO, SMTP_MAIL, SMTP_RCPT, SMTP_DATA,
	SMTP_RSET, SMTP_NOOP, SMTP_QUIT, SMTP_VRFY, SMTP_EXPN, SMTP_HELP,
	SMTP_STARTTLS, SMTP_AUTH, SMTP_BDAT,
};

struct smtp_cmd {
	enum smtp_verb verb;
	const char *arg;	/* after the verb and one or more spaces */
	size_t arg_len;		/* 0: no argument */
};

/* smtp_cmd_parse - split a command line (without its line end).  NULL,
 * or a static reason (NUL or other control bytes, non-ASCII, empty).
 * An unknown verb is not an error: verb is SMTP_UNKNOWN. */
const char *smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *cmd);
/* smtp_verb_name - "MAIL", ... for logs; "unknown" for SMTP_UNKNOWN. */
const char *smtp_verb_name(enum smtp_verb v);

/* A mailbox, or the null path <>. */
struct smtp_addr {
	char local[SMTP_LOCAL_MAX + 1];	/* unquoted; may hold @ % ! */
	char domain[SMTP_DOMAIN_MAX + 1];	/* lower-cased, no final dot;
						 * "[...]" for an address literal */
	size_t local_len, domain_len;
	bool null;		/* <> */
	bool quoted;		/* the local part was a quoted-string */
	bool source_route;	/* "@a,@b:" before the mailbox (RFC 5321
				 * §4.1.2: accepted, then ignored) */
	bool trailing_dot;	/* "domain." */
	bool ip_literal;	/* [192.0.2.1] or [IPv6:...] */
};

/* smtp_addr_routed - the address carries sender-specified routing that
 * a relay must never honour for a stranger (Postfix's
 * reject_unauth_destination): a source route, '%', '!' or '@' in the
 * local part, a trailing dot. */
bool smtp_addr_routed(const struct smtp_addr *a);
/* smtp_addr_parse - a Mailbox (RFC 5321 §4.1.2) from (s, n), without
 * angle brackets: Local-part "@" (Domain / address-literal).  NULL or a
 * static reason. */
const char *smtp_addr_parse(const char *s, size_t n, struct smtp_addr *a);

enum smtp_body { SMTP_BODY_NONE, SMTP_BODY_7BIT, SMTP_BODY_8BITMIME };

/* MAIL FROM or RCPT TO with its parameters. */
struct smtp_path {
	struct smtp_addr addr;
	unsigned long long size;	/* SIZE=, 0 when absent */
	bool has_size;
	enum smtp_body body;		/* BODY= */
	bool has_auth;			/* AUTH= (RFC 4954 §5) */
	char auth[SMTP_AUTH_PARAM_MAX + 1];	/* xtext-decoded; "" for <> */
};

/* smtp_path_parse - the argument of MAIL ("FROM:<...> params") or RCPT
 * ("TO:<...> params"), from (arg, len); rcpt selects which.  Parameters
 * MAIL knows: SIZE=, BODY=7BIT|8BITMIME, AUTH=; RCPT knows none.  NULL,
 * or a static reason; *param_r is set when the path was fine and a
 * parameter was not (RFC 5321 §4.1.1.11: 555 rather than 501). */
const char *smtp_path_parse(const char *arg, size_t len, bool rcpt,
			    struct smtp_path *p, bool *param_r);

/* smtp_domain_ok - whether (s, n) is a syntactically valid Domain (RFC
 * 5321 §4.1.2, LDH labels, optional final dot) or address literal; for
 * EHLO/HELO arguments. */
bool smtp_domain_ok(const char *s, size_t n);

/* --- the client side: replies of a next hop --- */

#define SMTP_REPLY_LINES_MAX	64	/* EHLO replies run to ~20 lines */
#define SMTP_REPLY_TEXT_MAX	4096	/* the text kept, lines joined */

struct smtp_reply {
	unsigned int code;		/* 200..599 */
	size_t lines;
	char text[SMTP_REPLY_TEXT_MAX];	/* each line's text, '\n'-joined */
	size_t text_len;
};

enum smtp_reply_status { SMTP_REPLY_MORE, SMTP_REPLY_DONE, SMTP_REPLY_BAD };

/* smtp_reply_parse - one whole reply (RFC 5321 §4.2.1: "250-..." lines
 * and a last "250 ..." line, one code throughout) from the start of
 * (data, len).  DONE with *used_r when it is complete, MORE while a line
 * is missing, BAD for a malformed line, a bare CR or LF, a line longer
 * than SMTP_CMD_LINE_MAX * 2, changing codes, or too many lines.  Text
 * beyond SMTP_REPLY_TEXT_MAX is cut, not an error. */
enum smtp_reply_status smtp_reply_parse(const char *data, size_t len,
					struct smtp_reply *r, size_t *used_r);
/* smtp_reply_ext - for an EHLO reply: whether a line after the first
 * starts with keyword (any case) followed by the end or a space, and its
 * parameters in *params_r (may be NULL). */
bool smtp_reply_ext(const struct smtp_reply *r, const char *keyword,
		    const char **params_r, size_t *params_len_r);

#endif
