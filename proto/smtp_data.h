/*
 * smtp_data - the DATA phase of RFC 5321 (§4.1.1.4, §4.5.2) as a state
 * machine fed whatever bytes arrive: it finds the end of the message,
 * removes the transparency dots and counts the size.
 *
 * Only CRLF "." CRLF ends a message.  A bare LF or a bare CR never acts
 * as a line end (CVE-2023-51764 and its siblings: "<LF>.<LF>",
 * "<LF>.<CR><LF>" and "<CR>.<CR>" let an attacker smuggle a second
 * message through a pair of servers that disagree): the machine reports
 * that it saw one, and either passes the message on with every bare line
 * end turned into CRLF (normalise) or leaves the refusal to the caller
 * (reject), who answers after the end.
 *
 * Untrusted input: every byte.  Memory is bounded by the caller's
 * max_size: beyond it bytes are counted, not kept.  Never allocates
 * except through the output buffer, never exits.
 */
#ifndef AUTHD_PROTO_SMTP_DATA_H
#define AUTHD_PROTO_SMTP_DATA_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* RFC 5321 §4.5.3.1.6: a text line is at most 1000 octets with CRLF. */
#define SMTP_TEXT_LINE_MAX	1000

struct smtp_data {
	int state;			/* private */
	bool normalise;			/* bare CR/LF become CRLF */
	unsigned long long max_size;	/* bytes kept at most */
	unsigned long long size;	/* message size (RFC 1870: after
					 * unstuffing, CRLFs included) */
	size_t line_len;		/* of the line in progress */
	bool bare;			/* a bare CR or LF was seen */
	bool too_big;			/* size passed max_size */
	bool long_line;			/* a line over SMTP_TEXT_LINE_MAX */
	size_t line_max;		/* 0, or a text line limit (without
					 * CRLF) set after smtp_data_init */
	bool over_line_max;		/* a line passed line_max */
	bool done;			/* CRLF.CRLF seen */
};

/* smtp_data_init - a fresh message that keeps at most max_size bytes. */
void smtp_data_init(struct smtp_data *d, unsigned long long max_size,
		    bool normalise);
/* smtp_data_feed - consume (in, len) up to the end of the message,
 * appending the message's bytes to out; returns how many bytes were
 * used (fewer than len only when the end was found: what follows is the
 * next command).  out failing (buf_ok) is the caller's to check. */
size_t smtp_data_feed(struct smtp_data *d, const char *in, size_t len,
		      struct buf *out);

/* smtp_data_encode - the client side: append message bytes to out in
 * the wire's form, a dot added at the start of every line that begins
 * with one (RFC 5321 §4.5.2) and every bare CR or LF sent as CRLF, so
 * that the next hop never sees a bare line end from us.  *bol_r tracks
 * whether the next byte starts a line (true before the first call);
 * *cr_r whether the last byte was a CR (false before the first call). */
void smtp_data_encode(const char *msg, size_t len, bool *bol_r, bool *cr_r,
		      struct buf *out);
/* smtp_data_encode_end - end the message: CRLF if a line is open, then
 * "." CRLF. */
void smtp_data_encode_end(bool bol, bool cr, struct buf *out);

#endif
