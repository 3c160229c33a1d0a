/*
 * session - one SMTP client of authd-smtpd, from the greeting to QUIT:
 * the command state machine of RFC 5321 with PIPELINING (RFC 2920),
 * SIZE, 8BITMIME, ENHANCEDSTATUSCODES, STARTTLS (RFC 3207) and AUTH (RFC
 * 4954), the relay policy (restrict.h) and the hand-over of every
 * transaction to the next hop (relay.h) while the client waits.
 *
 * A session never waits: a command that needs authd or the next hop
 * holds the connection's input (conn_hold) until the answer comes, then
 * goes on with what the client pipelined meanwhile.
 *
 * Untrusted input: every byte of the client, and the next hop's replies
 * (passed on only as parsed by proto/smtp.c).
 */
#ifndef AUTHD_SMTPD_SESSION_H
#define AUTHD_SMTPD_SESSION_H

#include <stdbool.h>

#include "loop.h"
#include "worker.h"
#include "settings.h"

struct smtpd_server {
	struct loop *loop;
	struct worker_pool *pool;	/* Maildir file work, per worker */
	struct dnsbl *dnsbl;		/* DNS lists, made at first use */
	struct smtpd_settings *set;
	unsigned int n_sessions;
	unsigned long long next_id;
};

extern struct smtpd_server smtpd;

/* session_accept - a new client on a listener of kind la (fd is
 * non-blocking); applies the connection limits. */
void session_accept(int fd, const struct listen_addr *la);
/* session_worker_init - per worker, before serving: the policy servers. */
void session_worker_init(void);
/* session_close_all - at shutdown: 421 to every client, then close. */
void session_close_all(void);
/* session_sasl_result - sasl.c's callback. */
void session_sasl_result(void *owner, struct authd_session *as);

#endif
