/*
 * tls - OpenSSL as a conn transport (conn.h): STARTTLS and implicit TLS
 * for authd-smtpd's clients, and TLS to its next hop.
 *
 * Contexts allow TLS 1.2 and 1.3 only, OpenSSL 3's default ciphers at
 * security level 2, no renegotiation and no compression.  Buffers are
 * released while a connection is idle (SSL_MODE_RELEASE_BUFFERS: a
 * thousand idle TLS sessions must not hold 34 KiB each), and writes may
 * be partial and move (conn moves its unsent tail).
 *
 * The client side verifies the peer only when asked (Postfix's
 * smtp_tls_security_level "verify": the chain to a trusted CA, and the
 * name the caller gives to tls_start); otherwise its levels are "may"
 * (opportunistic) and "encrypt" (mandatory encryption against passive
 * eavesdroppers).
 */
#ifndef AUTHD_TLS_H
#define AUTHD_TLS_H

#include <stdbool.h>
#include <openssl/ssl.h>

#include "conn.h"

/* tls_server_ctx - a server context with the certificate chain and key
 * (PEM files, read now, as root).  NULL and *errmsg_r (allocated). */
SSL_CTX *tls_server_ctx(const char *cert_file, const char *key_file,
			char **errmsg_r);
/* tls_client_ctx - a client context; with verify, peers must present a
 * certificate that chains to cafile / capath (both NULL or "": the
 * system's store) and names the host given to tls_start. */
SSL_CTX *tls_client_ctx(bool verify, const char *cafile, const char *capath,
			char **errmsg_r);

/* tls_start - from now on c's bytes pass through TLS, as the server or
 * the client (peer: a name for the log, and the SNI name of a client
 * when it is a host name).  The handshake runs as c reads; on_ready (may
 * be NULL) runs once when it completes.  A failed handshake is logged and
 * closes c.  The client side starts the handshake at once.  False when
 * OpenSSL cannot make the session (out of memory). */
bool tls_start(struct conn *c, SSL_CTX *ctx, bool server, const char *peer,
	       void (*on_ready)(struct conn *c));
/* tls_active - whether c runs over TLS (handshake done or not). */
bool tls_active(const struct conn *c);
/* tls_info - "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256
 * bits)" once the handshake is done, else "". */
const char *tls_info(const struct conn *c);
/* tls_version - "TLSv1.3" (or "") for Received lines. */
const char *tls_version(const struct conn *c);

#endif
