/*
 * client - the internals of struct authd_client: the generic driver in
 * client.c and one file per mechanism (client_plain.c, client_login.c,
 * client_cram_md5.c, client_digest_md5.c, client_scram.c).  Not
 * installed.
 *
 * A mechanism writes its next message into cl->resp.  Untrusted input:
 * the server's challenges, given to step() as (pointer, length).
 */
#ifndef LIBAUTHD_CLIENT_H
#define LIBAUTHD_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "authd.h"
#include "util.h"

struct authd_client;

struct client_mech {
	const char *name;
	/* start: the initial response into cl->resp when use_initial and
	 * the mechanism has one; *has_resp_r says whether it did. */
	int (*start)(struct authd_client *cl, bool use_initial,
		     bool *has_resp_r);
	/* step: AUTHD_CONTINUE with cl->resp, AUTHD_FAIL, or an error. */
	int (*step)(struct authd_client *cl, const unsigned char *in,
		    size_t len);
	/* finish: AUTHD_OK or an error (see authd_client_finish). */
	int (*finish)(struct authd_client *cl, const unsigned char *in,
		      size_t len);
	/* free_state: wipe and free cl->state (may be NULL). */
	void (*free_state)(struct authd_client *cl);
};

struct authd_client {
	const struct client_mech *mech;
	char *authcid, *password, *authzid;	/* authzid NULL: none */
	char *service, *host, *realm, *nonce;	/* NULL: not set */
	struct buf resp;
	bool started;
	bool dead;			/* a step failed: no more steps */
	int sent;			/* messages given (PLAIN, LOGIN...) */
	void *state;			/* the mechanism's own, if any */
	char err[UTIL_ERR_MAX];
};

extern const struct client_mech client_plain, client_login, client_cram_md5,
	client_digest_md5, client_scram_sha1, client_scram_sha256;

/* client_err - a message on cl; returns code. */
int client_err(struct authd_client *cl, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* client_nomem - AUTHD_ERR_NOMEM with its message. */
int client_nomem(struct authd_client *cl);
/* client_nonce - a copy of the fixed nonce, or a fresh random one, in
 * *nonce_r (free with util_free_str); AUTHD_OK or an error on cl. */
int client_nonce(struct authd_client *cl, char **nonce_r);

#endif
