/*
 * throttle - failure counting.  See throttle.h.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "digest.h"
#include "log.h"
#include "throttle.h"
#include "xalloc.h"

#define PROBE	16

struct throttle_entry {
	unsigned char id[16];
	unsigned int count;
	uint64_t last;		/* 0: empty */
};

/* What `penalty list` shows of an entry, beside the table so that the
 * probes of every check touch no more memory than before (32-byte
 * entries); written only when an entry is made, and calloc'd pages cost
 * nothing until then.  The name is cut: the keyed id is what matches. */
struct throttle_label {
	char kind;		/* 'u' user, 'a' address */
	char name[THROTTLE_NAME_MAX + 1];
};

struct throttle {
	struct digest_hmac *key;
	size_t mask;
	uint64_t window;
	struct throttle_entry *e;
	struct throttle_label *label;	/* label[i] names e[i] */
	uint64_t created;	/* entries made, for the counters */
};

struct throttle *
throttle_new(size_t size, uint64_t window_ms)
{
	struct throttle *t = xcalloc(1, sizeof(*t));
	size_t n = 64;

	while (n < size)
		n *= 2;
	t->mask = n - 1;
	t->window = window_ms;
	t->e = xcalloc(n, sizeof(*t->e));
	t->label = xcalloc(n, sizeof(*t->label));
	if ((t->key = digest_hmac_new()) == NULL)
		fatalx(1, "throttle: no random bytes or no HMAC-SHA-256");
	return t;
}

void
throttle_free(struct throttle *t)
{
	if (t == NULL)
		return;
	digest_hmac_free(t->key);
	free(t->e);
	free(t->label);
	free(t);
}

/* slot - the entry for kind+name; create it (evicting the stalest in the
 * probe window) when create is set.  Keyed hashing stops an attacker from
 * choosing names that collide. */
static struct throttle_entry *
slot(struct throttle *t, char kind, const char *name, uint64_t now,
     int create)
{
	unsigned char mac[32];
	struct throttle_entry *victim = NULL;
	size_t i, start;

	if (!digest_hmac(t->key, (unsigned char)kind, name, strlen(name),
			 NULL, 0, mac))
		panic("throttle: HMAC-SHA-256 failed on a prepared key");
	memcpy(&start, mac + 16, sizeof(start));
	for (i = 0; i < PROBE; i++) {
		struct throttle_entry *e = &t->e[(start + i) & t->mask];
		bool live = e->last != 0 && now - e->last < t->window;

		if (live && memcmp(e->id, mac, 16) == 0)
			return e;
		if (!live) {
			if (victim == NULL || victim->last != 0)
				victim = e;
		} else if (victim == NULL ||
			   (victim->last != 0 && e->last < victim->last)) {
			victim = e;
		}
	}
	if (!create)
		return NULL;
	memcpy(victim->id, mac, 16);
	victim->count = 0;
	victim->last = now;
	t->label[victim - t->e].kind = kind;
	snprintf(t->label[victim - t->e].name, sizeof(t->label[0].name), "%s",
		 name);
	t->created++;
	return victim;
}

unsigned int
throttle_failure(struct throttle *t, const char *user, const char *addr,
		 uint64_t now)
{
	struct throttle_entry *e = slot(t, 'u', user, now, 1);
	unsigned int n;

	e->count++;
	e->last = now;
	n = e->count;
	if (addr != NULL && addr[0] != '\0') {
		e = slot(t, 'a', addr, now, 1);
		e->count++;
		e->last = now;
		if (e->count > n)
			n = e->count;
	}
	return n;
}

void
throttle_success(struct throttle *t, const char *user, uint64_t now)
{
	struct throttle_entry *e = slot(t, 'u', user, now, 0);

	if (e != NULL)
		memset(e, 0, sizeof(*e));
}

uint64_t
throttle_delay(unsigned int n, uint64_t base, uint64_t max)
{
	uint64_t d;

	if (n == 0 || base == 0)
		return 0;
	d = n > 16 ? max : base << (n - 1);
	return d > max ? max : d;
}

/* live - whether e holds a count that still matters at now. */
static bool
live(const struct throttle *t, const struct throttle_entry *e, uint64_t now)
{
	return e->last != 0 && e->count > 0 && now - e->last < t->window;
}

size_t
throttle_list(const struct throttle *t, uint64_t now,
	      void (*fn)(void *arg, const struct throttle_penalty *p),
	      void *arg)
{
	struct throttle_penalty p;
	size_t i, n = 0;

	for (i = 0; i <= t->mask; i++) {
		const struct throttle_entry *e = &t->e[i];

		if (!live(t, e, now))
			continue;
		n++;
		if (fn == NULL)
			continue;
		p.kind = t->label[i].kind;
		p.name = t->label[i].name;
		p.count = e->count;
		p.remaining_ms = t->window - (now - e->last);
		fn(arg, &p);
	}
	return n;
}

void
throttle_counts(const struct throttle *t, uint64_t now, size_t *users_r,
		size_t *addrs_r, uint64_t *created_r)
{
	size_t i;

	*users_r = *addrs_r = 0;
	for (i = 0; i <= t->mask; i++)
		if (live(t, &t->e[i], now)) {
			if (t->label[i].kind == 'a')
				(*addrs_r)++;
			else
				(*users_r)++;
		}
	*created_r = t->created;
}

size_t
throttle_flush(struct throttle *t, const char *name, uint64_t now)
{
	static const char kinds[] = { 'a', 'u' };
	size_t i, n = 0;

	if (name == NULL) {
		for (i = 0; i <= t->mask; i++) {
			n += live(t, &t->e[i], now);
			memset(&t->e[i], 0, sizeof(t->e[i]));
		}
		return n;
	}
	for (i = 0; i < sizeof(kinds); i++) {
		struct throttle_entry *e = slot(t, kinds[i], name, now, 0);

		if (e != NULL) {
			n += live(t, e, now);
			memset(e, 0, sizeof(*e));
		}
	}
	return n;
}
