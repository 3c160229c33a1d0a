/*
 * cache - keyed credential cache.  See cache.h.
 */
#include <string.h>

#include "cache.h"
#include "digest.h"
#include "log.h"
#include "secret.h"
#include "xalloc.h"

#define CACHE_WAYS	4

struct cache_entry {
	unsigned char id_mac[32];
	unsigned char pw_mac[32];
	unsigned char fp[CACHE_FP_LEN];
	uint64_t expires;	/* 0: empty */
};

struct cache {
	struct digest_hmac *key;
	size_t nsets;
	uint64_t ttl;
	struct cache_entry *e;
};

struct cache *
cache_new(size_t size, uint64_t ttl_ms)
{
	struct cache *c = xcalloc(1, sizeof(*c));

	c->nsets = 1;
	while (c->nsets * CACHE_WAYS < size)
		c->nsets *= 2;
	c->ttl = ttl_ms;
	c->e = xcalloc(c->nsets * CACHE_WAYS, sizeof(*c->e));
	if ((c->key = digest_hmac_new()) == NULL)
		fatalx(1, "cache: no random bytes or no HMAC-SHA-256");
	return c;
}

void
cache_free(struct cache *c)
{
	if (c == NULL)
		return;
	secret_free(c->e, c->nsets * CACHE_WAYS * sizeof(*c->e));
	digest_hmac_free(c->key);
	free(c);
}

/* macs - HMAC(secret, "i" id) and HMAC(secret, "p" id NUL password): the
 * password MAC is bound to the id, so equal passwords of two users give
 * different entries. */
static void
macs(const struct cache *c, const char *id, const char *pw, size_t pw_len,
     unsigned char id_mac[32], unsigned char pw_mac[32])
{
	size_t n = strlen(id);

	/* n + 1: the id's NUL separates it from pw */
	if (!digest_hmac(c->key, 'i', id, n, NULL, 0, id_mac) ||
	    (pw != NULL && !digest_hmac(c->key, 'p', id, n + 1, pw, pw_len,
					pw_mac)))
		panic("cache: HMAC-SHA-256 failed on a prepared key");
}

static struct cache_entry *
set_of(const struct cache *c, const unsigned char id_mac[32])
{
	uint64_t h;

	memcpy(&h, id_mac, sizeof(h));
	return &c->e[(h & (c->nsets - 1)) * CACHE_WAYS];
}

/* lookup - cache_lookup; any_fp: the fingerprint is not compared. */
static bool
lookup(struct cache *c, const char *id, const char *pw, size_t pw_len,
       const unsigned char *fp, bool any_fp, uint64_t now)
{
	static const unsigned char nofp[CACHE_FP_LEN];
	unsigned char id_mac[32], pw_mac[32];
	struct cache_entry *set;
	bool hit = false;
	int i;

	macs(c, id, pw, pw_len, id_mac, pw_mac);
	set = set_of(c, id_mac);
	for (i = 0; i < CACHE_WAYS; i++) {
		struct cache_entry *e = &set[i];

		if (e->expires <= now || memcmp(e->id_mac, id_mac, 32) != 0)
			continue;
		/* A changed record makes the entry stale; a wrong password
		 * does not: dropping the entry then would let anyone who
		 * knows a user name make that user's next login pay for the
		 * strong hash again, as often as they like. */
		if (!any_fp &&
		    !secret_equal(e->fp, fp != NULL ? fp : nofp, CACHE_FP_LEN))
			secret_wipe(e, sizeof(*e));
		else
			hit = secret_equal(e->pw_mac, pw_mac, 32);
		break;
	}
	secret_wipe(pw_mac, sizeof(pw_mac));
	return hit;
}

bool
cache_lookup(struct cache *c, const char *id, const char *pw, size_t pw_len,
	     const unsigned char *fp, uint64_t now)
{
	return lookup(c, id, pw, pw_len, fp, false, now);
}

bool
cache_lookup_current(struct cache *c, const char *id, const char *pw,
		     size_t pw_len, uint64_t now)
{
	return lookup(c, id, pw, pw_len, NULL, true, now);
}

void
cache_insert(struct cache *c, const char *id, const char *pw, size_t pw_len,
	     const unsigned char *fp, uint64_t now)
{
	unsigned char id_mac[32];
	struct cache_entry *set, *victim;
	int i;

	macs(c, id, NULL, 0, id_mac, NULL);
	set = set_of(c, id_mac);
	victim = &set[0];
	for (i = 0; i < CACHE_WAYS; i++) {
		if (memcmp(set[i].id_mac, id_mac, 32) == 0 || set[i].expires <= now) {
			victim = &set[i];
			break;
		}
		if (set[i].expires < victim->expires)
			victim = &set[i];
	}
	macs(c, id, pw, pw_len, victim->id_mac, victim->pw_mac);
	if (fp != NULL)
		memcpy(victim->fp, fp, CACHE_FP_LEN);
	else
		memset(victim->fp, 0, CACHE_FP_LEN);
	victim->expires = now + c->ttl;
}


size_t
cache_entries(const struct cache *c, uint64_t now)
{
	size_t i, n = 0;

	for (i = 0; i < c->nsets * CACHE_WAYS; i++)
		n += c->e[i].expires > now;
	return n;
}

size_t
cache_flush(struct cache *c, const char *id, uint64_t now)
{
	unsigned char id_mac[32];
	struct cache_entry *set;
	size_t i, n = 0;

	if (id == NULL) {
		n = cache_entries(c, now);
		secret_wipe(c->e, c->nsets * CACHE_WAYS * sizeof(*c->e));
		return n;
	}
	macs(c, id, NULL, 0, id_mac, NULL);
	set = set_of(c, id_mac);
	for (i = 0; i < CACHE_WAYS; i++)
		if (memcmp(set[i].id_mac, id_mac, 32) == 0) {
			n += set[i].expires > now;
			secret_wipe(&set[i], sizeof(set[i]));
		}
	return n;
}
