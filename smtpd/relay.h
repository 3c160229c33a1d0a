/*
 * relay - the client side to the next hop, for one client session.
 *
 * authd-smtpd keeps no queue: it accepts a message only while handing it,
 * in real time, to the configured next hop (SMTP or LMTP, over TCP or a
 * UNIX socket), and answers its client only with what the next hop
 * answered.  A relay is that next-hop connection: it connects on the
 * first MAIL (greeting, EHLO/LHLO, STARTTLS per policy, EHLO again),
 * forwards MAIL, RCPT, DATA, the body and RSET, and reports one reply per
 * request, in order.  A failure on our side of the wire (refused,
 * unreachable, timed out, closed, malformed reply, TLS required but
 * missing) becomes a synthesized 451 so the client retries later: the
 * gate must never accept what it could not pass on.
 *
 * Untrusted input: every byte from the next hop (its replies, parsed
 * with smtp_reply_parse; a bare line end or a malformed reply ends the
 * connection), and the sender and recipient strings, which come from
 * the client (a CR, LF or NUL in them is refused, never sent).
 */
#ifndef AUTHD_SMTPD_RELAY_H
#define AUTHD_SMTPD_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <openssl/ssl.h>

#include "loop.h"
#include "smtp.h"

/* More than this many body bytes waiting to be written make relay_body
 * say "stop" (the caller holds its client until relay_drained_fn). */
#define RELAY_BODY_BACKLOG	(256 * 1024)

/* Postfix's smtp_tls_security_level: none, may (opportunistic),
 * encrypt (mandatory, unauthenticated), verify (mandatory, and the
 * certificate must chain to a trusted CA and name the next hop: the
 * context comes from tls_client_ctx(true, ...)). */
enum relay_tls { RELAY_TLS_NONE, RELAY_TLS_MAY, RELAY_TLS_ENCRYPT,
		 RELAY_TLS_VERIFY };

/* The caller owns the strings and the context and keeps them for the
 * relay's life; the struct itself is copied. */
struct relay_conf {
	bool lmtp;			/* LHLO, one reply per recipient
					 * after the dot */
	const char *unix_path;		/* a UNIX socket, or NULL for TCP */
	struct sockaddr_storage addr;	/* TCP: numeric, resolved at start-up */
	socklen_t addr_len;
	const char *name;		/* "[192.0.2.1]:25" or the path */
	const char *tls_peer;		/* SNI host name, may be NULL */
	enum relay_tls tls;
	SSL_CTX *tls_ctx;		/* tls_client_ctx() when tls != NONE */
	const char *helo_name;		/* our name for EHLO/LHLO */
	unsigned int connect_timeout_ms;	/* connect + greeting + EHLO
						 * + STARTTLS */
	unsigned int cmd_timeout_ms;	/* each reply to MAIL/RCPT/DATA/RSET */
	unsigned int data_timeout_ms;	/* the reply after the final dot, and
					 * each stall writing the body */
	/* AUTH to the next hop (Postfix's smtp_sasl_*): sasl_user NULL
	 * means none.  The mechanism is the first of sasl_mechs (upper
	 * case, space separated, in preference order) that the next hop
	 * announces; PLAIN and LOGIN only where sasl_plaintext_clear
	 * (without TLS) or sasl_plaintext_tls (with it) allows.  A next
	 * hop that refuses the credentials, or fails to prove that it
	 * knows them (DIGEST-MD5 rspauth, SCRAM v=), gets nothing: every
	 * request is answered 451 4.7.0. */
	const char *sasl_user, *sasl_pass;
	const char *sasl_mechs;
	bool sasl_plaintext_clear, sasl_plaintext_tls;
};

struct relay;

/* relay_done_fn - the reply to one request (mail, rcpt, data, body_end,
 * rset): called exactly once per request, in order, never from inside
 * the call that made the request, and never after relay_free.  reply is
 * the next hop's, or a synthesized one for a local failure (451 4.4.1
 * cannot connect, 451 4.4.2 connection lost, 451 4.7.5 TLS required or
 * failed, 501 5.1.7 / 5.1.3 an address with a control byte); its text
 * is in smtp_reply_parse's form.
 * A 421 from the next hop is passed up as it is (the connection is then
 * closed, and the next relay_mail reconnects).  The reply is valid only
 * during the call. */
typedef void relay_done_fn(void *arg, const struct smtp_reply *reply);
/* relay_drained_fn - the body backlog is written (below half the limit)
 * after relay_body returned false. */
typedef void relay_drained_fn(void *arg);

/* relay_new - an unconnected relay on loop l (drained may be NULL). */
struct relay *relay_new(struct loop *l, const struct relay_conf *conf,
			relay_done_fn *done, relay_drained_fn *drained,
			void *arg);
/* relay_free - end the relay: when not inside DATA, send QUIT without
 * waiting for its reply; inside DATA just close (the dot was not sent,
 * nothing is delivered).  Requests still pending are dropped: done is
 * never called again.  NULL is fine. */
void relay_free(struct relay *r);

/* relay_mail - MAIL FROM:<sender> (without <>, "" for the null sender),
 * connecting first if needed.  SIZE=size only when the next hop
 * announced SIZE and size > 0; BODY=8BITMIME only when body_8bit and
 * announced. */
void relay_mail(struct relay *r, const char *sender, unsigned long long size,
		bool body_8bit);
/* relay_rcpt - RCPT TO:<rcpt>. */
void relay_rcpt(struct relay *r, const char *rcpt);
/* relay_data - DATA; a 354 reply means relay_body may follow. */
void relay_data(struct relay *r);
/* relay_body - message bytes as the client sent them after unstuffing
 * (CRLF lines; a bare CR or LF is sent as CRLF), dot-stuffed for the
 * wire.  Bytes with no DATA in progress (the connection was lost) are
 * dropped: relay_body_end reports the failure.  False once more than
 * RELAY_BODY_BACKLOG bytes wait to be written: hold the client until
 * drained. */
bool relay_body(struct relay *r, const char *p, size_t n);
/* relay_body_end - the final dot; done gets the final reply.  LMTP: one
 * reply per recipient that RCPT accepted, combined into 250 when all
 * succeeded, the first reply when all failed alike (all 4xx or all
 * 5xx), and else 451 4.3.0 (partial delivery: the client sends again,
 * as duplicates are preferred to loss).  Each is logged. */
void relay_body_end(struct relay *r);
/* relay_rset - RSET between transactions (250 at once when there is no
 * connection to reset). */
void relay_rset(struct relay *r);
/* relay_connected - a greeted connection is open. */
bool relay_connected(const struct relay *r);
/* relay_ext_8bitmime - the connected next hop announced 8BITMIME (a
 * client's 8-bit message may go to it as it is). */
bool relay_ext_8bitmime(const struct relay *r);

#endif
