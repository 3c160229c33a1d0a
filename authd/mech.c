/*
 * mech - the registry of mechanisms and helpers they share.
 */
#include <string.h>
#include <strings.h>

#include <openssl/rand.h>

#include "backend.h"
#include "server.h"
#include "codec.h"
#include "log.h"
#include "mech.h"
#include "policy.h"
#include "secret.h"
#include "storepool.h"
#include "userdb.h"
#include "xalloc.h"

/* Advertising order: strongest first, as clients often pick the first
 * one they know. */
static const struct mech *const all_mechs[] = {
	&mech_scram_sha256, &mech_scram_sha1, &mech_digest_md5,
	&mech_cram_md5, &mech_plain, &mech_login,
};
#define N_MECHS (sizeof(all_mechs) / sizeof(all_mechs[0]))

static const struct mech *enabled[N_MECHS];
static size_t n_enabled;

/* The names of all_mechs, for auth_realm_mechanisms (policy.c). */
static const char *mech_names[N_MECHS];

/* mech_index - all_mechs' index of (name, len), or N_MECHS; fills
 * mech_names (the names for policy.c) on first use. */
static size_t
mech_index(const char *name, size_t len)
{
	size_t i;

	if (mech_names[0] == NULL)
		for (i = 0; i < N_MECHS; i++)
			mech_names[i] = all_mechs[i]->name;
	return policy_realm_index(mech_names, N_MECHS, name, len);
}

const char *
mech_enable(const char *list, const char *realm_list)
{
	const struct mech *tmp[N_MECHS];
	struct realm_policy *policy;
	size_t i, n = 0, n_policy;
	unsigned int mask = 0;
	char *copy = xstrdup(list), *tok, *save = NULL;
	const char *why;

	for (tok = strtok_r(copy, " ,\t", &save); tok != NULL;
	     tok = strtok_r(NULL, " ,\t", &save)) {
		if ((i = mech_index(tok, strlen(tok))) == N_MECHS) {
			free(copy);
			return "auth_mechanisms: unknown mechanism (known: "
			       "plain login cram-md5 digest-md5 scram-sha-1 "
			       "scram-sha-256)";
		}
		mask |= 1u << i;
	}
	free(copy);
	if (mask == 0)
		return "auth_mechanisms: no mechanism enabled";
	if ((why = policy_realm_parse(realm_list, mech_names, N_MECHS, mask,
				      &policy, &n_policy)) != NULL)
		return why;
	/* Nothing has failed: replace both at once, so a bad reload keeps
	 * the whole running policy.  Advertising order, no repeats. */
	for (i = 0; i < N_MECHS; i++)
		if (mask & (1u << i))
			tmp[n++] = all_mechs[i];
	memcpy(enabled, tmp, n * sizeof(tmp[0]));
	n_enabled = n;
	policy_realm_set(mech_names, N_MECHS, policy, n_policy);
	return NULL;
}

const struct mech *const *
mech_list(size_t *n_r)
{
	*n_r = n_enabled;
	return enabled;
}

const struct mech *
mech_find(const char *name)
{
	size_t i;

	for (i = 0; i < n_enabled; i++)
		if (strcasecmp(name, enabled[i]->name) == 0)
			return enabled[i];
	return NULL;
}

int
mech_lookup(const struct mech_ctx *ctx, const char *login, size_t len,
	    struct userdb_name *name, struct userdb_record *rec,
	    const char **why_r)
{
	struct mech_prefetch *pre = ctx->pre;

	userdb_record_init(rec);
	if ((*why_r = userdb_name_parse(login, len, NULL, 0, &authd.set->rules,
					name)) != NULL)
		return -2;
	if (pre == NULL)
		/* Stored verifiers live in the store whatever auth_backend
		 * says. */
		return backend_store.lookup_credentials(name, rec, why_r);
	if (pre->ready && pre->name.key_len == name->key_len &&
	    memcmp(pre->name.key, name->key, name->key_len) == 0) {
		/* The step run again: the record fetched for it. */
		*rec = pre->rec;
		userdb_record_init(&pre->rec);
		*why_r = "store error";
		return pre->found;
	}
	pre->name = *name;
	return MECH_LOOKUP_PENDING;
}

void
mech_out_init(struct mech_out *out)
{
	memset(out, 0, sizeof(*out));
	buf_init(&out->challenge);
	buf_init(&out->final);
}

void
mech_out_clear(struct mech_out *out)
{
	buf_free(&out->challenge);
	buf_free(&out->final);
	free(out->login);
	if (out->password != NULL)
		secret_free(out->password, out->password_len + 1);
	free(out->authzid);
	secret_wipe(out, sizeof(*out));
}

enum mech_status
mech_fail(struct mech_out *out, const char *reason)
{
	out->result = AUTH_FAIL;
	out->reason = reason;
	return MECH_DONE;
}

enum mech_status
mech_tempfail(struct mech_out *out, const char *reason)
{
	out->result = AUTH_TEMPFAIL;
	out->reason = reason;
	return MECH_DONE;
}

struct digest_hmac *
mech_salt_key(void)
{
	static struct digest_hmac *key;
	static unsigned char current[USERDB_SECRET_LEN];
	static bool from_store;
	unsigned char secret[USERDB_SECRET_LEN];

	if (storepool_active() ? storepool_secret(secret) :
	    authd.db != NULL && userdb_secret(authd.db, secret)) {
		/* Rebuilt only when the secret is not the one in use. */
		if (!from_store || !secret_equal(secret, current,
						 sizeof(current))) {
			digest_hmac_free(key);
			if ((key = digest_hmac_new_key(secret,
						       sizeof(secret))) == NULL)
				panic("no HMAC-SHA-256 for the salt key");
			memcpy(current, secret, sizeof(current));
			from_store = true;
		}
		secret_wipe(secret, sizeof(secret));
		return key;
	}
	/* A store read error keeps the store's key in use; only a store
	 * that never had a secret falls back to a per-process one. */
	if (key == NULL) {
		log_notice("%s: the made-up SCRAM salts of unknown users "
			   "change when authd restarts",
			   authd.set->store.pg &&
			   authd.set->store.pg_password_query[0] != '\0' ?
			   "a store_pg_password_query store keeps no secret" :
			   "the store has no secret yet (the next pwtool change "
			   "adds one)");
		if ((key = digest_hmac_new()) == NULL)
			panic("no random bytes or HMAC-SHA-256 for the salt key");
	}
	return key;
}

void
mech_random_hex(char *out, size_t n)
{
	unsigned char raw[64];

	if (n > sizeof(raw) || RAND_bytes(raw, (int)n) != 1)
		panic("no random bytes");
	codec_hex_encode(raw, n, out);
}
