/*
 * scram_iters - the store's histogram of SCRAM iteration counts.  See
 * scram_iters.h.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "scram_iters.h"

void
scram_iters_init(struct scram_iters *it)
{
	memset(it, 0, sizeof(*it));
}

static void
add(struct scram_iters *it, int k, unsigned int iterations, uint64_t users)
{
	size_t i;

	for (i = 0; i < it->n[k]; i++)
		if (it->bin[k][i].iterations == iterations) {
			it->bin[k][i].users += users;
			return;
		}
	if (it->n[k] == SCRAM_ITERS_BINS) {
		it->dropped += users;
		return;
	}
	it->bin[k][it->n[k]].iterations = iterations;
	it->bin[k][it->n[k]++].users = users;
}

/* sub - one user less at iterations; false if there was none. */
static bool
sub(struct scram_iters *it, int k, unsigned int iterations)
{
	size_t i;

	for (i = 0; i < it->n[k]; i++)
		if (it->bin[k][i].iterations == iterations) {
			if (--it->bin[k][i].users == 0)
				it->bin[k][i] = it->bin[k][--it->n[k]];
			return true;
		}
	return false;
}

void
scram_iters_count(struct scram_iters *it, const struct userdb_record *rec)
{
	if (rec->have & USERDB_V_SCRAM_SHA256)
		add(it, 0, rec->scram256.iterations, 1);
	if (rec->have & USERDB_V_SCRAM_SHA1)
		add(it, 1, rec->scram1.iterations, 1);
}

bool
scram_iters_uncount(struct scram_iters *it, const struct userdb_record *rec)
{
	bool ok = true;

	if (rec->have & USERDB_V_SCRAM_SHA256)
		ok = sub(it, 0, rec->scram256.iterations);
	if (rec->have & USERDB_V_SCRAM_SHA1)
		ok = sub(it, 1, rec->scram1.iterations) && ok;
	return ok && it->dropped == 0;
}

void
scram_iters_encode(const struct scram_iters *it, struct buf *out)
{
	static const char *const name[2] = { "sha256", "sha1" };
	size_t i;
	int k;

	for (k = 0; k < 2; k++) {
		buf_append_str(out, name[k]);
		for (i = 0; i < it->n[k]; i++)
			buf_printf(out, " %u=%llu", it->bin[k][i].iterations,
				   (unsigned long long)it->bin[k][i].users);
		buf_append_str(out, "\n");
	}
}

/* number - a decimal in 1..max at *p (advanced past it), or false. */
static bool
number(const char **p, const char *end, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	const char *s = *p;

	if (s == end || *s < '1' || *s > '9')
		return false;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*p = s;
	*out = v;
	return true;
}

const char *
scram_iters_decode(const char *s, size_t len, struct scram_iters *it)
{
	const char *p = s, *end = s + len;
	int k;

	scram_iters_init(it);
	for (k = 0; k < 2; k++) {
		const char *want = k == 0 ? "sha256" : "sha1";
		size_t wl = strlen(want);

		if ((size_t)(end - p) < wl || memcmp(p, want, wl) != 0)
			goto bad;
		p += wl;
		while (p < end && *p == ' ') {
			uint64_t iter, users;

			p++;
			if (!number(&p, end, SCRAM_ITER_MAX, &iter) ||
			    p == end || *p++ != '=' ||
			    !number(&p, end, UINT64_MAX / 2, &users))
				goto bad;
			add(it, k, (unsigned int)iter, users);
		}
		if (p == end || *p++ != '\n')
			goto bad;
	}
	if (p != end)
		goto bad;
	return NULL;
bad:
	scram_iters_init(it);
	return "damaged SCRAM iteration histogram";
}

/* mix - splitmix64's finaliser: a per-count uniform from the seed. */
static uint64_t
mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

unsigned int
scram_iters_pick(const struct scram_iters *it, enum scram_hash h,
		 const unsigned char seed[8], unsigned int fallback)
{
	int k = h == SCRAM_SHA1 ? 1 : 0;
	uint64_t s = 0;
	unsigned int best = fallback;
	double best_score = INFINITY;
	size_t i;

	for (i = 0; i < 8; i++)
		s = s << 8 | seed[i];
	for (i = 0; i < it->n[k]; i++) {
		/* u in (0, 1]: 53 random bits, never 0. */
		double u = (double)((mix(s ^ mix(it->bin[k][i].iterations)) >>
				     11) + 1) * 0x1.0p-53;
		double score = -log(u) / (double)it->bin[k][i].users;

		if (score < best_score) {
			best_score = score;
			best = it->bin[k][i].iterations;
		}
	}
	return best;
}
