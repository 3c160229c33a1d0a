/*
 * storelog - manifest, log frames and overlay map (storelog.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/mman.h>

#include <openssl/rand.h>

#include "secret.h"
#include "storelog.h"
#include "xalloc.h"

/* --- CRC-32C ------------------------------------------------------------ */

static uint32_t crc_table[256];
static bool crc_ready;

static void
crc_init(void)
{
	uint32_t i, j, c;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc_table[i] = c;
	}
	crc_ready = true;
}

static uint32_t
crc_soft(uint32_t crc, const unsigned char *p, size_t n)
{
	if (!crc_ready)
		crc_init();
	while (n-- > 0)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/* The instruction computes the same polynomial 8 bytes a cycle: a writer
 * checks a whole log (up to tens of MB) before each batch of changes. */
__attribute__((target("sse4.2"))) static uint32_t
crc_hw(uint32_t crc, const unsigned char *p, size_t n)
{
	uint64_t c = crc, w;

	while (n >= 8) {
		memcpy(&w, p, 8);
		c = __builtin_ia32_crc32di(c, w);
		p += 8;
		n -= 8;
	}
	crc = (uint32_t)c;
	while (n-- > 0)
		crc = __builtin_ia32_crc32qi(crc, *p++);
	return crc;
}

static bool
crc_have_hw(void)
{
	static int have = -1;

	if (have < 0) {
		__builtin_cpu_init();
		have = __builtin_cpu_supports("sse4.2") ? 1 : 0;
	}
	return have == 1;
}
#endif

uint32_t
storelog_crc32c(uint32_t crc, const void *p, size_t n)
{
	crc = ~crc;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
	if (crc_have_hw())
		return ~crc_hw(crc, p, n);
#endif
	return ~crc_soft(crc, p, n);
}

/* --- little-endian helpers ----------------------------------------------- */

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t
get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* --- manifest ------------------------------------------------------------ */

/* parse_u64 - decimal digits up to '\n' at *pos; no sign, no leading zero. */
static bool
parse_u64(const char *s, size_t len, size_t *pos, uint64_t max, uint64_t *v_r)
{
	size_t i = *pos;
	uint64_t v = 0;

	if (i >= len || s[i] < '0' || s[i] > '9' ||
	    (s[i] == '0' && i + 1 < len && s[i + 1] != '\n'))
		return false;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		if (v > (max - (uint64_t)(s[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (i >= len || s[i] != '\n')
		return false;
	*pos = i + 1;
	*v_r = v;
	return true;
}

const char *
storelog_manifest_parse(const char *s, size_t len, uint64_t *gen_r,
			unsigned int *format_r)
{
	static const char gen_word[] = "generation ";
	size_t pos = sizeof(STORELOG_MANIFEST_MAGIC) - 1;
	uint64_t format, gen;

	*format_r = 0;
	if (len < pos || memcmp(s, STORELOG_MANIFEST_MAGIC, pos) != 0)
		return "not an authd store manifest";
	if (!parse_u64(s, len, &pos, 1000000, &format))
		return "bad format line";
	*format_r = (unsigned int)format;
	if (format != STORELOG_FORMAT)
		return format > STORELOG_FORMAT ?
		       "store format is newer than this program reads "
		       "(written by a later authd: upgrade authd)" :
		       "unknown store format";
	if (len - pos < sizeof(gen_word) - 1 ||
	    memcmp(s + pos, gen_word, sizeof(gen_word) - 1) != 0)
		return "no generation line";
	pos += sizeof(gen_word) - 1;
	if (!parse_u64(s, len, &pos, (uint64_t)1 << 63, &gen) || gen == 0)
		return "bad generation";
	if (pos != len)
		return "trailing data";
	*gen_r = gen;
	return NULL;
}

void
storelog_manifest_format(uint64_t gen, struct buf *out)
{
	(void)buf_printf(out, STORELOG_MANIFEST_MAGIC "%u\ngeneration %llu\n",
			 STORELOG_FORMAT, (unsigned long long)gen);
}

/* --- log header and frames ----------------------------------------------- */

void
storelog_header(uint64_t gen, unsigned char out[STORELOG_HEADER_LEN])
{
	memcpy(out, "AUTHDLG2", 8);
	put32(out + 8, (uint32_t)gen);
	put32(out + 12, (uint32_t)(gen >> 32));
}

const char *
storelog_header_check(const unsigned char *p, size_t len, uint64_t gen)
{
	if (len < STORELOG_HEADER_LEN)
		return "log header missing";
	if (memcmp(p, "AUTHDLG2", 8) != 0)
		return "not an authd store log";
	if (get64(p + 8) != gen)
		return "log of another generation";
	return NULL;
}

/* ops_walk - check (fn NULL) or visit the ops of a payload. */
static bool
ops_walk(const unsigned char *p, size_t len, storelog_op_fn *fn, void *ctx,
	 const char **why_r)
{
	uint32_t count, i;
	size_t pos = 4;

	if (len < 4) {
		*why_r = "payload too short";
		return false;
	}
	count = get32(p);
	for (i = 0; i < count; i++) {
		unsigned int op, klen;
		uint32_t vlen = 0;
		const unsigned char *key, *value = NULL;

		if (len - pos < 3) {
			*why_r = "op truncated";
			return false;
		}
		op = p[pos];
		klen = (unsigned int)p[pos + 1] | (unsigned int)p[pos + 2] << 8;
		pos += 3;
		if ((op != STORELOG_PUT && op != STORELOG_DELETE) || klen == 0 ||
		    klen > STORELOG_KEY_MAX || len - pos < klen) {
			*why_r = "bad op";
			return false;
		}
		key = p + pos;
		pos += klen;
		if (op == STORELOG_PUT) {
			if (len - pos < 4) {
				*why_r = "value length truncated";
				return false;
			}
			vlen = get32(p + pos);
			pos += 4;
			if (vlen > STORELOG_VALUE_MAX || len - pos < vlen) {
				*why_r = "bad value length";
				return false;
			}
			value = p + pos;
			pos += vlen;
		}
		if (fn != NULL &&
		    !fn(ctx, (enum storelog_op)op, (const char *)key, klen,
			(const char *)value, vlen))
			return true;
	}
	if (pos != len) {
		*why_r = "trailing bytes in frame";
		return false;
	}
	return true;
}

int
storelog_frame_check(const unsigned char *p, size_t len, size_t *frame_len_r,
		     const char **why_r)
{
	uint32_t plen;

	if (len < STORELOG_FRAME_HEAD)
		return 0;
	plen = get32(p);
	if (plen > STORELOG_FRAME_MAX) {
		*why_r = "frame length out of range";
		return -1;
	}
	if (len - STORELOG_FRAME_HEAD < plen)
		return 0;
	if (storelog_crc32c(0, p + STORELOG_FRAME_HEAD, plen) != get32(p + 4)) {
		*why_r = "frame checksum mismatch";
		return -1;
	}
	if (!ops_walk(p + STORELOG_FRAME_HEAD, plen, NULL, NULL, why_r))
		return -1;
	*frame_len_r = STORELOG_FRAME_HEAD + (size_t)plen;
	return 1;
}

bool
storelog_ops_each(const unsigned char *frame, size_t frame_len,
		  storelog_op_fn *fn, void *ctx)
{
	const char *why;

	return ops_walk(frame + STORELOG_FRAME_HEAD,
			frame_len - STORELOG_FRAME_HEAD, fn, ctx, &why);
}

void
storelog_frame_begin(struct buf *b)
{
	static const unsigned char zero[STORELOG_FRAME_HEAD + 4];

	buf_reset(b);
	(void)buf_append(b, zero, sizeof(zero));
}

void
storelog_frame_add(struct buf *b, enum storelog_op op, const char *key,
		   size_t key_len, const char *value, size_t value_len)
{
	unsigned char h[4];

	h[0] = (unsigned char)op;
	h[1] = (unsigned char)key_len;
	h[2] = (unsigned char)(key_len >> 8);
	(void)buf_append(b, h, 3);
	(void)buf_append(b, key, key_len);
	if (op == STORELOG_PUT) {
		put32(h, (uint32_t)value_len);
		(void)buf_append(b, h, 4);
		(void)buf_append(b, value, value_len);
	}
	if (buf_ok(b)) {
		unsigned char *count = (unsigned char *)b->data +
				       STORELOG_FRAME_HEAD;

		put32(count, get32(count) + 1);
	}
}

bool
storelog_frame_finish(struct buf *b)
{
	unsigned char *p;
	size_t plen;

	if (!buf_ok(b) || b->len - STORELOG_FRAME_HEAD > STORELOG_FRAME_MAX)
		return false;
	p = (unsigned char *)b->data;
	plen = b->len - STORELOG_FRAME_HEAD;
	put32(p, (uint32_t)plen);
	put32(p + 4, storelog_crc32c(0, p + STORELOG_FRAME_HEAD, plen));
	return true;
}

/* --- overlay map --------------------------------------------------------- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND							\
	do {								\
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;			\
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;			\
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
	} while (0)

/* siphash - SipHash-2-4 of in under the 16-byte key k. */
static uint64_t
siphash(const unsigned char *in, size_t n, const unsigned char k[16])
{
	uint64_t k0 = get64(k), k1 = get64(k + 8), m;
	uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
	uint64_t b = (uint64_t)n << 56;
	size_t i, tail = n & 7;

	for (i = 0; i + 8 <= n; i += 8) {
		m = get64(in + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (; tail > 0; tail--)
		b |= (uint64_t)in[i + tail - 1] << (8 * (tail - 1));
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

void
ovmap_init(struct ovmap *m)
{
	memset(m, 0, sizeof(*m));
	if (RAND_bytes(m->sipkey, sizeof(m->sipkey)) != 1) {
		/* Still correct, only open to chosen collisions. */
		unsigned long seed = (unsigned long)(uintptr_t)m;

		memcpy(m->sipkey, &seed, sizeof(seed));
	}
}

void
ovmap_free(struct ovmap *m)
{
	size_t i;

	for (i = 0; i < m->nchunks; i++) {
		if (m->chunks[i].mapped)
			(void)munmap(m->chunks[i].p, m->chunks[i].size);
		else
			secret_free(m->chunks[i].p, m->chunks[i].size);
	}
	free(m->chunks);
	free(m->slots);
	m->chunks = NULL;
	m->slots = NULL;
	m->cap = m->n = m->nchunks = m->chunks_cap = 0;
}

static void
chunk_add(struct ovmap *m, char *p, size_t size, size_t used)
{
	if (m->nchunks == m->chunks_cap) {
		m->chunks_cap = m->chunks_cap == 0 ? 8 : m->chunks_cap * 2;
		m->chunks = xreallocarray(m->chunks, m->chunks_cap,
					  sizeof(*m->chunks));
	}
	m->chunks[m->nchunks].p = p;
	m->chunks[m->nchunks].size = size;
	m->chunks[m->nchunks].used = used;
	m->chunks[m->nchunks].mapped = false;
	m->nchunks++;
}

void
ovmap_adopt(struct ovmap *m, void *p, size_t size)
{
	/* Put it before the last chunk, so that the copy arena (always the
	 * last chunk) stays last. */
	chunk_add(m, p, size, size);
	if (m->nchunks >= 2) {
		struct ovmap_chunk t = m->chunks[m->nchunks - 1];

		m->chunks[m->nchunks - 1] = m->chunks[m->nchunks - 2];
		m->chunks[m->nchunks - 2] = t;
	}
}

void
ovmap_adopt_map(struct ovmap *m, void *p, size_t size)
{
	ovmap_adopt(m, p, size);
	m->chunks[m->nchunks >= 2 ? m->nchunks - 2 : 0].mapped = true;
}

/* copy_in - n bytes of p into the map's arena: the last chunk, or a new
 * one of 64 KiB (or n, if bigger). */
static const char *
copy_in(struct ovmap *m, const char *p, size_t n)
{
	struct ovmap_chunk *c = m->nchunks > 0 ? &m->chunks[m->nchunks - 1] :
				NULL;
	char *dst;

	if (c == NULL || c->size - c->used < n + 1) {
		size_t size = n + 1 > 65536 ? n + 1 : 65536;

		chunk_add(m, xmalloc(size), size, 0);
		c = &m->chunks[m->nchunks - 1];
	}
	dst = c->p + c->used;
	memcpy(dst, p, n);
	dst[n] = '\0';
	c->used += n + 1;
	return dst;
}

static size_t
find_slot(const struct ovmap *m, const char *key, size_t key_len,
	  uint64_t h)
{
	size_t i = (size_t)h & (m->cap - 1);

	for (;;) {
		const struct ovmap_entry *e = &m->slots[i];

		if (e->key == NULL || (e->hash == h && e->key_len == key_len &&
				       memcmp(e->key, key, key_len) == 0))
			return i;
		i = (i + 1) & (m->cap - 1);
	}
}

const struct ovmap_entry *
ovmap_get(const struct ovmap *m, const char *key, size_t key_len)
{
	const struct ovmap_entry *e;

	if (m->n == 0)
		return NULL;
	e = &m->slots[find_slot(m, key, key_len,
				siphash((const unsigned char *)key, key_len,
					m->sipkey))];
	return e->key != NULL ? e : NULL;
}

static void
resize(struct ovmap *m, size_t cap)
{
	size_t old_cap = m->cap, i;
	struct ovmap_entry *old = m->slots;

	m->cap = cap;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
	for (i = 0; i < old_cap; i++)
		if (old[i].key != NULL)
			m->slots[find_slot(m, old[i].key, old[i].key_len,
					   old[i].hash)] = old[i];
	free(old);
}

void
ovmap_reserve(struct ovmap *m, size_t n)
{
	size_t cap = m->cap == 0 ? 64 : m->cap;

	while ((m->n + n) * 2 > cap)
		cap *= 2;
	if (cap != m->cap)
		resize(m, cap);
}

/* set_ref - key and value (NULL: deleted) point at memory the map owns. */
static void
set_ref(struct ovmap *m, const char *key, size_t key_len, const char *value,
	size_t value_len)
{
	uint64_t h = siphash((const unsigned char *)key, key_len, m->sipkey);
	struct ovmap_entry *e;

	if ((m->n + 1) * 2 > m->cap)
		resize(m, m->cap == 0 ? 64 : m->cap * 2);
	e = &m->slots[find_slot(m, key, key_len, h)];
	if (e->key == NULL) {
		e->key = key;
		e->key_len = (uint32_t)key_len;
		e->hash = h;
		m->n++;
	}
	e->value = value;
	e->value_len = value != NULL ? (uint32_t)value_len : 0;
}

void
ovmap_set(struct ovmap *m, const char *key, size_t key_len, const char *value,
	  size_t value_len)
{
	const struct ovmap_entry *e = ovmap_get(m, key, key_len);
	const char *k = e != NULL ? e->key : copy_in(m, key, key_len);

	set_ref(m, k, key_len, value != NULL ? copy_in(m, value, value_len) :
		NULL, value_len);
}

bool
ovmap_each(const struct ovmap *m,
	   bool (*fn)(void *ctx, const struct ovmap_entry *e), void *ctx)
{
	size_t i;

	for (i = 0; i < m->cap; i++)
		if (m->slots[i].key != NULL && !fn(ctx, &m->slots[i]))
			return false;
	return true;
}

static bool
apply_op(void *ctx, enum storelog_op op, const char *key, size_t key_len,
	 const char *value, size_t value_len)
{
	set_ref(ctx, key, key_len, op == STORELOG_PUT ? value : NULL,
		value_len);
	return true;
}

void
ovmap_apply_frame(struct ovmap *m, const unsigned char *frame,
		  size_t frame_len)
{
	(void)storelog_ops_each(frame, frame_len, apply_op, m);
}
