/*
 * conn_auth - one connection on the auth socket: the Dovecot auth-client
 * protocol (proto/auth.h) for Postfix (smtpd_sasl_type = dovecot), Exim
 * and libauthd.
 *
 * The server handshake goes out in full at connect (VERSION, MECH lines
 * before SPID, CUID, COOKIE, DONE), so clients that wait for DONE and
 * clients that speak first both work.  Many requests may be in flight on
 * one connection and are answered in any order; a bad request (bad
 * base64, malformed mechanism data, unknown or duplicate id) fails alone,
 * and only broken framing (an over-long line, a bad VERSION) closes the
 * connection.  A request whose client goes quiet expires after
 * auth_request_timeout (Postfix abandons cancelled requests silently).
 * Untrusted input: every line.
 */
#ifndef AUTHD_CONN_AUTH_H
#define AUTHD_CONN_AUTH_H

/* conn_auth_accept - take over an accepted, non-blocking descriptor and
 * the slot conn_limit_admit counted for it (released when it closes). */
struct conn_slot;
void conn_auth_accept(int fd, const struct conn_slot *slot);
/* conn_auth_close_all - at shutdown: drop every connection. */
void conn_auth_close_all(void);

#endif
