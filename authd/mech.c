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

/* auth_realm_mechanisms: per realm, a mask of all_mechs indexes.  Realms
 * not listed may use every enabled mechanism. */
struct realm_mechs {
	char realm[USERDB_REALM_MAX + 1];
	unsigned int mask;
};
static struct realm_mechs *realm_policy;
static size_t n_realm_policy;

static size_t
mech_index(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < N_MECHS; i++)
		if (strlen(all_mechs[i]->name) == len &&
		    strncasecmp(name, all_mechs[i]->name, len) == 0)
			break;
	return i;
}

/* parse_realm_policy - "realm:mech[,mech...]" words.  A realm may appear
 * in several words; its masks are merged.  Every mechanism named must be
 * in the enabled mask: a realm rule cannot switch on what auth_mechanisms
 * leaves off, and a typo must not pass silently. */
static const char *
parse_realm_policy(const char *list, unsigned int enabled_mask,
		   struct realm_mechs **out, size_t *n_out)
{
	char *copy = xstrdup(list), *tok, *save = NULL;
	struct realm_mechs *v = NULL;
	size_t n = 0;
	const char *why = NULL;

	for (tok = strtok_r(copy, " \t", &save); tok != NULL && why == NULL;
	     tok = strtok_r(NULL, " \t", &save)) {
		char realm[USERDB_REALM_MAX + 1], *colon = strchr(tok, ':');
		const char *p;
		unsigned int mask = 0;
		size_t k;

		if (colon == NULL || colon[1] == '\0') {
			why = "auth_realm_mechanisms: each word is realm:mechanism[,mechanism...]";
			break;
		}
		if (userdb_name_check_realm(tok, (size_t)(colon - tok),
					    realm) != NULL) {
			why = "auth_realm_mechanisms: invalid realm name";
			break;
		}
		for (p = colon + 1; *p != '\0';) {
			size_t len = strcspn(p, ","), i = mech_index(p, len);

			if (len == 0 || i == N_MECHS) {
				why = "auth_realm_mechanisms: unknown "
				      "mechanism (known: plain login cram-md5 "
				      "digest-md5 scram-sha-1 scram-sha-256)";
				break;
			}
			if (!(enabled_mask & (1u << i))) {
				why = "auth_realm_mechanisms: a mechanism "
				      "that auth_mechanisms does not enable";
				break;
			}
			mask |= 1u << i;
			p += len;
			if (*p == ',')
				p++;
		}
		for (k = 0; k < n && strcmp(v[k].realm, realm) != 0; k++)
			;
		if (k == n) {
			v = xrealloc(v, (n + 1) * sizeof(*v));
			memcpy(v[n].realm, realm, sizeof(realm));
			v[n++].mask = 0;
		}
		v[k].mask |= mask;
	}
	free(copy);
	if (why != NULL) {
		free(v);
		return why;
	}
	*out = v;
	*n_out = n;
	return NULL;
}

const char *
mech_enable(const char *list, const char *realm_list)
{
	const struct mech *tmp[N_MECHS];
	struct realm_mechs *policy;
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
	if ((why = parse_realm_policy(realm_list, mask, &policy,
				      &n_policy)) != NULL)
		return why;
	/* Nothing has failed: replace both at once, so a bad reload keeps
	 * the whole running policy.  Advertising order, no repeats. */
	for (i = 0; i < N_MECHS; i++)
		if (mask & (1u << i))
			tmp[n++] = all_mechs[i];
	memcpy(enabled, tmp, n * sizeof(tmp[0]));
	n_enabled = n;
	free(realm_policy);
	realm_policy = policy;
	n_realm_policy = n_policy;
	return NULL;
}

bool
mech_allowed(const char *mech, const char *realm)
{
	size_t i, k;

	if (n_realm_policy == 0)
		return true;
	k = mech_index(mech, strlen(mech));
	for (i = 0; i < n_realm_policy; i++)
		if (strcmp(realm_policy[i].realm, realm) == 0)
			return k < N_MECHS && (realm_policy[i].mask & (1u << k));
	return true;
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
mech_salt_secret(unsigned char out[USERDB_SECRET_LEN])
{
	static unsigned char fallback[USERDB_SECRET_LEN];
	static bool have_fallback, warned;

	if (authd.db != NULL && userdb_secret(authd.db, out))
		return;
	if (!have_fallback) {
		if (RAND_bytes(fallback, sizeof(fallback)) != 1)
			fatalx(1, "no random bytes");
		have_fallback = true;
	}
	if (!warned) {
		log_notice("no store secret (none yet: the next pwtool change "
			   "adds one; or the store cannot be read): meanwhile "
			   "the made-up SCRAM salts of unknown users change when "
			   "authd restarts");
		warned = true;
	}
	memcpy(out, fallback, sizeof(fallback));
}

void
mech_random_hex(char *out, size_t n)
{
	unsigned char raw[64];

	if (n > sizeof(raw) || RAND_bytes(raw, (int)n) != 1)
		fatalx(1, "no random bytes");
	codec_hex_encode(raw, n, out);
}
