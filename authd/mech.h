/*
 * mech - the server side of a SASL mechanism, one file each:
 * mech_plain.c, mech_login.c, mech_cram_md5.c, mech_digest_md5.c,
 * mech_scram.c (SHA-1 and SHA-256).
 *
 * A mechanism is a state machine fed the client's decoded responses; it
 * never touches the connection.  Each step ends in one of:
 *   MECH_CONTINUE  send out->challenge and wait for the next response;
 *   MECH_PASSWORD  the client gave a user and password (PLAIN, LOGIN): the
 *                  daemon checks them through auth.h like a mux request;
 *   MECH_DONE      the mechanism decided (out->result) itself, from the
 *                  stored verifier; out->final holds server data to send
 *                  before OK (DIGEST-MD5 rspauth, SCRAM v=), if any;
 *   MECH_MALFORMED the response breaks the mechanism's syntax;
 *   MECH_LOOKUP    the store is read off the loop (storepool.h) and the
 *                  step needs the record of ctx->pre->name: the caller
 *                  fetches it into ctx->pre and runs the same step again
 *                  with the same input.  A step therefore asks the store
 *                  (mech_lookup) before it changes its state.
 * Untrusted input: every response byte.
 */
#ifndef AUTHD_MECH_H
#define AUTHD_MECH_H

#include <stdbool.h>
#include <stddef.h>

#include "check.h"
#include "buf.h"
#include "digest.h"
#include "name.h"
#include "record.h"
#include "userdb.h"

enum mech_status {
	MECH_CONTINUE, MECH_PASSWORD, MECH_DONE, MECH_MALFORMED, MECH_LOOKUP
};

/* A record fetched off the loop for a step run again (MECH_LOOKUP). */
struct mech_prefetch {
	bool ready;
	struct userdb_name name;	/* the name the step asked for */
	int found;			/* ready: 1, 0 or -1 */
	struct userdb_record rec;	/* ready and found: the record */
	char server[128];		/* ready: who answered, for the log */
};

struct mech_ctx {
	const char *service;		/* the request's service= */
	struct mech_prefetch *pre;	/* NULL: the store is read on the loop */
};

struct mech_out {
	struct buf challenge;		/* MECH_CONTINUE: raw bytes */
	/* MECH_PASSWORD */
	char *login, *password;		/* password: wiped by the caller */
	size_t login_len, password_len;
	/* MECH_PASSWORD and MECH_DONE: requested authorisation identity */
	char *authzid;
	size_t authzid_len;
	/* MECH_DONE */
	enum auth_result result;
	const char *reason;		/* for the log */
	struct userdb_name name;	/* valid when name_ok */
	bool name_ok;
	struct buf final;		/* server data before OK, if has_final */
	bool has_final;
};

struct mech {
	const char *name;
	const char *flags;		/* the MECH line's flags */
	unsigned int verifiers;		/* USERDB_V_* bits that can serve it */
	void *(*state_new)(const struct mech_ctx *ctx);
	void (*state_free)(void *state);
	/* first: the initial response or, without one, in == NULL */
	enum mech_status (*step)(void *state, const struct mech_ctx *ctx,
				 const unsigned char *in, size_t len,
				 bool first, struct mech_out *out);
};

extern const struct mech mech_plain, mech_login, mech_cram_md5,
	mech_digest_md5, mech_scram_sha1, mech_scram_sha256;

/* mech_find - an enabled mechanism by name (case-insensitive), or NULL. */
const struct mech *mech_find(const char *name);
/* mech_list - the enabled mechanisms in advertising order. */
const struct mech *const *mech_list(size_t *n_r);
/* mech_enable - set the enabled list from auth_mechanisms and the
 * per-realm restrictions from auth_realm_mechanisms, both or neither;
 * NULL or a static reason that names the key. */
const char *mech_enable(const char *list, const char *realm_list);
/* mech_lookup - normalise (login, len) and fetch its record through the
 * loop's store reader, or take the one fetched off the loop.  Returns 1
 * found, 0 unknown, -1 store error, -2 a malformed name (no such user can
 * exist), MECH_LOOKUP_PENDING when the step must return MECH_LOOKUP. */
#define MECH_LOOKUP_PENDING	(-3)
int mech_lookup(const struct mech_ctx *ctx, const char *login, size_t len,
		struct userdb_name *name, struct userdb_record *rec,
		const char **why_r);
/* mech_out_init / mech_out_clear - manage a step's output. */
void mech_out_init(struct mech_out *out);
void mech_out_clear(struct mech_out *out);
/* mech_fail - MECH_DONE with AUTH_FAIL and a log reason. */
enum mech_status mech_fail(struct mech_out *out, const char *reason);
/* mech_tempfail - MECH_DONE with AUTH_TEMPFAIL (the request could not be
 * decided: out of memory, a library failed) and a log reason. */
enum mech_status mech_tempfail(struct mech_out *out, const char *reason);
/* mech_salt_key - the key of made-up SCRAM salts: the store's secret
 * (userdb_secret), or a per-process random one while the store has
 * none.  Owned by mech.c. */
struct digest_hmac *mech_salt_key(void);
/* mech_random_hex - n random bytes as 2n hex characters plus NUL. */
void mech_random_hex(char *out, size_t n);

#endif
