/*
 * authp - the Dovecot auth-client protocol (version 1.x) as authd speaks
 * it: line framing, TAB escaping, and the parsing of AUTH/CONT/CANCEL
 * requests and of the server's replies.  The daemon and libauthd both use
 * this codec, so the two sides cannot disagree.  Normative description:
 * proto/auth-protocol.txt.
 *
 * Untrusted input on either side: every line.  Lines are parsed in place
 * from (pointer, length); a line longer than AUTHP_LINE_MAX is a framing
 * error, everything else a per-request error.
 */
#ifndef AUTHD_PROTO_AUTHP_H
#define AUTHD_PROTO_AUTHP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define AUTHP_LINE_MAX		16384
#define AUTHP_MAX_FIELDS	64
#define AUTHP_VERSION_MAJOR	1
#define AUTHP_VERSION_MINOR	2

/* authp_escape - append s (n bytes) to out with 0x01, TAB, CR, LF and NUL
 * escaped as 0x01 followed by '1', 't', 'r', 'n', '0'. */
void authp_escape(struct buf *out, const char *s, size_t n);
/* authp_unescape - undo authp_escape in place; returns the new length, or
 * -1 for a 0x01 not followed by one of 0 1 t r n. */
long authp_unescape(char *s, size_t n);

/* authp_split - split a line (without LF) at TABs, in place: fields are
 * NUL-terminated (the TABs are overwritten).  One CR just before the LF
 * is not part of the line (a CRLF client works, as with Dovecot, whose
 * line reader drops it; a CR inside a value travels escaped).  Returns
 * the count, or -1 if there are more than max (the first max fields are
 * set even then, so the caller can still answer the request id). */
int authp_split(char *line, size_t len, char **fields, size_t *lens, int max);

/* An AUTH request from a client. */
struct authp_auth {
	uint32_t id;
	const char *mech;
	const char *service;	/* service= or protocol= */
	const char *lip, *rip, *lport, *rport;
	const char *session;
	bool secured, valid_client_cert, no_penalty, final_resp_ok;
	bool has_resp;		/* resp= present (may be empty) */
	const char *resp;	/* base64, possibly "" */
	size_t resp_len;
};

/* authp_parse_id - a non-zero 32-bit id in canonical decimal: digits
 * only, no sign, no leading zero, at most 4294967295.  False for anything
 * else (0, "007", "+1", "-1", "", 4294967296): such a request cannot be
 * answered, since the answer must carry the id as the client wrote it. */
bool authp_parse_id(const char *s, uint32_t *id_r);
/* authp_parse_auth - fields[0] is "AUTH".  NULL or a static reason.  When
 * the id parsed but something else is wrong, *id_ok_r is set, so the
 * server can FAIL that id instead of ignoring the line.  Values are
 * unescaped in place. */
const char *authp_parse_auth(char **fields, size_t *lens, int n,
			     struct authp_auth *a, bool *id_ok_r);

/* Server lines, appended to out with the LF.  Like every buf append they
 * never exit: an allocation failure leaves out failed (buf_ok). */
void authp_put_cont(struct buf *out, uint32_t id, const char *b64);
/* authp_put_ok - original_user only when it differs from user; b64_final
 * (resp=, the server's final data) may be NULL. */
void authp_put_ok(struct buf *out, uint32_t id, const char *user,
		  const char *original_user, const char *b64_final);
/* authp_put_fail - code may be NULL ("temp_fail", "authz_fail", ...). */
void authp_put_fail(struct buf *out, uint32_t id, const char *user,
		    const char *code, const char *reason);

#endif
