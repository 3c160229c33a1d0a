/*
 * mech - the registry of mechanisms and helpers they share.
 */
#include <string.h>
#include <strings.h>

#include <openssl/rand.h>

#include "authd.h"
#include "codec.h"
#include "log.h"
#include "mech.h"
#include "secret.h"
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

const char *
mech_enable(const char *list)
{
	const struct mech *tmp[N_MECHS];
	size_t i, n = 0;
	char *copy = xstrdup(list), *tok, *save = NULL;

	for (tok = strtok_r(copy, " ,\t", &save); tok != NULL;
	     tok = strtok_r(NULL, " ,\t", &save)) {
		for (i = 0; i < N_MECHS; i++)
			if (strcasecmp(tok, all_mechs[i]->name) == 0)
				break;
		if (i == N_MECHS) {
			free(copy);
			return "unknown mechanism (known: plain login cram-md5 "
			       "digest-md5 scram-sha-1 scram-sha-256)";
		}
		tmp[n++] = all_mechs[i];
		if (n == N_MECHS)
			break;
	}
	free(copy);
	if (n == 0)
		return "no mechanism enabled";
	/* Keep advertising order, drop repeats. */
	n_enabled = 0;
	for (i = 0; i < N_MECHS; i++) {
		size_t k;

		for (k = 0; k < n; k++)
			if (tmp[k] == all_mechs[i]) {
				enabled[n_enabled++] = all_mechs[i];
				break;
			}
	}
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
mech_lookup(const char *login, size_t len, struct userdb_name *name,
	    struct userdb_record *rec, const char **why_r)
{
	userdb_record_init(rec);
	if ((*why_r = userdb_name_parse(login, len, NULL, 0, &authd.set->rules,
					name)) != NULL)
		return -2;
	return userdb_lookup(authd.db, name->key, name->key_len, rec, why_r);
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
	buf_free_secret(&out->challenge);
	buf_free_secret(&out->final);
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

void
mech_random_hex(char *out, size_t n)
{
	unsigned char raw[64];

	if (n > sizeof(raw) || RAND_bytes(raw, (int)n) != 1)
		fatalx(1, "no random bytes");
	codec_hex_encode(raw, n, out);
}
