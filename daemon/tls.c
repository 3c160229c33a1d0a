/*
 * tls - OpenSSL on a conn.  See tls.h.
 *
 * Untrusted input: every TLS record (OpenSSL parses them); this file
 * maps OpenSSL's results to conn's and never lets a failure pass as
 * data.
 */
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "tls.h"
#include "xalloc.h"

struct tls_state {
	SSL *ssl;
	void (*on_ready)(struct conn *c);
	bool ready;
	bool server;
	char peer[80];
	char info[160];
};

static void
ctx_defaults(SSL_CTX *ctx)
{
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
			    SSL_OP_NO_COMPRESSION |
			    SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
			 SSL_MODE_RELEASE_BUFFERS);
}

static char *
ssl_errmsg(const char *what, const char *file)
{
	char err[256];
	unsigned long e = ERR_get_error();

	ERR_error_string_n(e, err, sizeof(err));
	ERR_clear_error();
	return xasprintf("%s%s%s: %s", what, file ? " " : "", file ? file : "",
			 e != 0 ? err : "unknown error");
}

SSL_CTX *
tls_server_ctx(const char *cert_file, const char *key_file, char **errmsg_r)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	static const unsigned char sid[] = "authd-smtpd";

	if (ctx == NULL) {
		*errmsg_r = ssl_errmsg("cannot make a TLS context", NULL);
		return NULL;
	}
	ctx_defaults(ctx);
	(void)SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		*errmsg_r = ssl_errmsg("cannot load the certificate", cert_file);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
		*errmsg_r = ssl_errmsg("cannot load the key", key_file);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		*errmsg_r = ssl_errmsg("the key does not match the certificate",
				       key_file);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

SSL_CTX *
tls_client_ctx(bool verify, const char *cafile, const char *capath,
	       char **errmsg_r)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL) {
		*errmsg_r = ssl_errmsg("cannot make a TLS context", NULL);
		return NULL;
	}
	ctx_defaults(ctx);
	if (!verify) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
		return ctx;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (cafile != NULL && cafile[0] == '\0')
		cafile = NULL;
	if (capath != NULL && capath[0] == '\0')
		capath = NULL;
	if ((cafile != NULL || capath != NULL) ?
	    SSL_CTX_load_verify_locations(ctx, cafile, capath) != 1 :
	    SSL_CTX_set_default_verify_paths(ctx) != 1) {
		*errmsg_r = ssl_errmsg("cannot load the CA certificates",
				       cafile != NULL ? cafile : capath);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static void
check_ready(struct conn *c, struct tls_state *st)
{
	const SSL_CIPHER *ciph;
	int alg = 0, bits;

	if (st->ready || !SSL_is_init_finished(st->ssl))
		return;
	st->ready = true;
	ciph = SSL_get_current_cipher(st->ssl);
	bits = SSL_CIPHER_get_bits(ciph, &alg);
	snprintf(st->info, sizeof(st->info), "%s with cipher %s (%d/%d bits)",
		 SSL_get_version(st->ssl), SSL_CIPHER_get_name(ciph), bits, alg);
	if (st->on_ready != NULL)
		st->on_ready(c);
}

/* result - what an SSL_read/SSL_write that returned r <= 0 means. */
static long
result(struct conn *c, struct tls_state *st, int r)
{
	int e = SSL_get_error(st->ssl, r);
	char err[256];

	switch (e) {
	case SSL_ERROR_WANT_READ:
		return CONN_IO_WANT_IN;
	case SSL_ERROR_WANT_WRITE:
		return CONN_IO_WANT_OUT;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	default:
		if (!st->ready) {
			unsigned long ev = ERR_peek_last_error();

			ERR_error_string_n(ev, err, sizeof(err));
			long vr = SSL_get_verify_result(st->ssl);

			log_info("TLS handshake with %s failed: %s%s%s", st->peer,
				 ev != 0 ? err : e == SSL_ERROR_SYSCALL ?
				 "connection closed" : "protocol error",
				 vr != X509_V_OK ? ": " : "",
				 vr != X509_V_OK ?
				 X509_verify_cert_error_string(vr) : "");
		}
		ERR_clear_error();
		(void)c;
		return CONN_IO_ERROR;
	}
}

static long
tls_read(struct conn *c, void *p, size_t n)
{
	struct tls_state *st = c->xio_ctx;
	int r;

	ERR_clear_error();
	r = SSL_read(st->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
	check_ready(c, st);
	if (c->closed)
		return CONN_IO_ERROR;
	return r > 0 ? r : result(c, st, r);
}

static long
tls_write(struct conn *c, const void *p, size_t n)
{
	struct tls_state *st = c->xio_ctx;
	int r;

	ERR_clear_error();
	r = SSL_write(st->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
	check_ready(c, st);
	if (c->closed)
		return CONN_IO_ERROR;
	return r > 0 ? r : result(c, st, r);
}

static bool
tls_pending(struct conn *c)
{
	struct tls_state *st = c->xio_ctx;

	return SSL_pending(st->ssl) > 0;
}

static void
tls_end(struct conn *c)
{
	struct tls_state *st = c->xio_ctx;

	/* One close_notify if the socket takes it; never wait for the
	 * peer's. */
	if (st->ready)
		(void)SSL_shutdown(st->ssl);
	ERR_clear_error();
	SSL_free(st->ssl);
	free(st);
	c->xio = NULL;
	c->xio_ctx = NULL;
}

static const struct conn_xio tls_xio = {
	tls_read, tls_write, tls_pending, tls_end,
};

/* is_hostname - SNI takes names, not address literals. */
static bool
is_hostname(const char *s)
{
	unsigned char a[16];

	return s[0] != '\0' && s[0] != '/' && inet_pton(AF_INET, s, a) != 1 &&
	       inet_pton(AF_INET6, s, a) != 1 && strchr(s, '[') == NULL;
}

bool
tls_start(struct conn *c, SSL_CTX *ctx, bool server, const char *peer,
	  void (*on_ready)(struct conn *c))
{
	struct tls_state *st;
	SSL *ssl = SSL_new(ctx);

	if (ssl == NULL || SSL_set_fd(ssl, c->io.fd) != 1) {
		SSL_free(ssl);
		ERR_clear_error();
		return false;
	}
	st = xcalloc(1, sizeof(*st));
	st->ssl = ssl;
	st->server = server;
	st->on_ready = on_ready;
	snprintf(st->peer, sizeof(st->peer), "%s", peer);
	if (server) {
		SSL_set_accept_state(ssl);
	} else {
		SSL_set_connect_state(ssl);
		if (is_hostname(peer))
			(void)SSL_set_tlsext_host_name(ssl, peer);
		/* "verify": the certificate must name the host (or the
		 * address) we meant to reach, not just chain to a CA. */
		if (SSL_CTX_get_verify_mode(ctx) & SSL_VERIFY_PEER) {
			if (is_hostname(peer))
				(void)SSL_set1_host(ssl, peer);
			else
				(void)X509_VERIFY_PARAM_set1_ip_asc(
					SSL_get0_param(ssl), peer);
		}
	}
	conn_set_xio(c, &tls_xio, st);
	if (!server)
		conn_read(c);	/* SSL_read sends the ClientHello */
	return true;
}

bool
tls_active(const struct conn *c)
{
	return c->xio == &tls_xio;
}

const char *
tls_info(const struct conn *c)
{
	const struct tls_state *st = c->xio_ctx;

	return tls_active(c) && st->ready ? st->info : "";
}

const char *
tls_version(const struct conn *c)
{
	const struct tls_state *st = c->xio_ctx;

	return tls_active(c) && st->ready ? SSL_get_version(st->ssl) : "";
}
