/*
 * conn_mux - one connection on the mux (saslauthd) socket.
 *
 * Untrusted input: every byte the client sends.  The request is decided
 * from the bytes received (proto/mux.h): four complete fields start the
 * check at once, so a 4-field client (Debian's libsasl2, which neither
 * half-closes nor sends more) never waits, and a fifth field already
 * present is used as the client address.  Bytes arriving later are read
 * and dropped.  A client that sends nothing, too little or too slowly is
 * closed after mux_timeout; no number of them can hold a worker, because
 * workers only ever see complete requests.
 */
#ifndef AUTHD_CONN_MUX_H
#define AUTHD_CONN_MUX_H

/* conn_mux_accept - take over an accepted, non-blocking descriptor and
 * the slot conn_limit_admit counted for it (released when it closes). */
struct conn_slot;
void conn_mux_accept(int fd, const struct conn_slot *slot);
/* conn_mux_close_all - at shutdown: drop every connection. */
void conn_mux_close_all(void);

#endif
