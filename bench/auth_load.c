/*
 * auth-load - load generator for the Dovecot auth-client protocol (authd's
 * "auth" socket, Dovecot's auth-client socket).
 *
 * usage: auth-load [options] SOCKET CONNS INFLIGHT SECONDS MECH USERFILE
 *        auth-load --cram-md5-contexts [USERFILE]
 *
 * CONNS persistent connections, each doing the client handshake (VERSION,
 * CPID; waits for the server's DONE and checks that MECH is offered), then
 * keeping INFLIGHT requests outstanding: as soon as one is answered the
 * next is sent on the same connection.  Request ids are unique among a
 * connection's open requests (slot s of INFLIGHT, generation g: id =
 * g * INFLIGHT + s + 1).  Requests are shaped like Postfix's:
 *
 *   AUTH<T>id<T>PLAIN<T>service=smtp<T>nologin<T>lip=127.0.0.1<T>
 *       rip=127.0.0.1<T>secured<T>resp=base64("\0user\0password")
 *   AUTH<T>id<T>CRAM-MD5<T>service=smtp<T>nologin<T>lip=...<T>rip=...<T>secured
 *     -> CONT<T>id<T>challenge, answered with
 *   CONT<T>id<T>base64("user " hex(HMAC-MD5(password, challenge)))
 *
 * and count OK (with user=) or FAIL.  MECH is PLAIN or CRAM-MD5.
 *
 * USERFILE: one "user password" per line (separated by a TAB or the first
 * space; the password is the rest of the line).  Requests take the users
 * in turn over the whole generator (request k uses line (OFFSET + k) mod
 * n), so the first n requests use every user once.
 *
 * One thread, epoll, non-blocking sockets; replies are read in batches and
 * the next requests of a batch leave in one write per connection.  The
 * HMAC-MD5 pads of every user are precomputed, so a CRAM-MD5 answer costs
 * two MD5 blocks.
 *
 * Timing: a warm-up (default 1 s), then SECONDS measured.  Only requests
 * that complete inside the measured window are counted; each is timed from
 * the moment its AUTH line is written to the moment its OK/FAIL is read
 * (CLOCK_MONOTONIC), so a CRAM-MD5 login includes both round trips.
 * With --count N there is no warm-up: the run stops after N completions
 * and every one is counted (used to fill a cache).
 *
 * Options:
 *   --warmup S     seconds before the measured window (default 1)
 *   --count N      stop after N completed requests (SECONDS then is a limit)
 *   --rate R       start at most R requests per second over all connections
 *                  (default: no limit; a closed loop)
 *   --offset K     start the user rotation at line K (default 0)
 *   --service S    service= value (default smtp)
 *
 * Prints one human line and one JSON line (prefixed "JSON ") on stdout:
 * auth/s, OK, FAIL, errors, latency mean/p50/p90/p99/p99.9/max in
 * microseconds, the requests of the whole run including warm-up, and this
 * process's own CPU time (seconds, per cent of one core, microseconds per
 * request), and ok_all / fail_all: the answers of the whole run.
 * Exit 0 if every counted request got OK, 1 if any FAIL, an error, or
 * none completed, 2 on usage or set-up errors.
 *
 * After the run (SECONDS, or N completions), the requests still open are
 * waited for, up to 10 s, neither counted nor timed but included in
 * requests_all, ok_all and fail_all; "abandoned" in the JSON line says how
 * many were still open when the connections closed.  Closing on requests
 * in flight would make Dovecot's auth penalise 127.0.0.1 (2 s or more of
 * delay for every later request), which stalls the next run.
 *
 * --cram-md5-contexts reads a USERFILE (or stdin) and prints
 * "user<TAB>{CRAM-MD5}64 hex" per line: the HMAC-MD5 context in Dovecot's
 * layout (outer then inner MD5 state, little-endian words), what
 * `doveadm pw -s CRAM-MD5` prints for the password.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "stats.h"

#define LINE_MAX_LEN	16384
#define MAX_CONNS	1024
#define MAX_INFLIGHT	128

/* ------------------------------------------------------------ MD5 */

struct md5 {
	uint32_t s[4];
	uint64_t len;			/* bytes */
	unsigned char buf[64];
	size_t n;
};

static const uint32_t md5_k[64] = {
	0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a,
	0xa8304613, 0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be,
	0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340,
	0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
	0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8,
	0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
	0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
	0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
	0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92,
	0xffeff47d, 0x85845dd1, 0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1,
	0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};
static const unsigned char md5_r[64] = {
	7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
	5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
	4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
	6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
};

static void
md5_block(uint32_t s[4], const unsigned char *p)
{
	uint32_t m[16], a = s[0], b = s[1], c = s[2], d = s[3];
	int i;

	for (i = 0; i < 16; i++)
		m[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
		       (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
	for (i = 0; i < 64; i++) {
		uint32_t f, t;
		int g;

		if (i < 16) {
			f = (b & c) | (~b & d);
			g = i;
		} else if (i < 32) {
			f = (d & b) | (~d & c);
			g = (5 * i + 1) & 15;
		} else if (i < 48) {
			f = b ^ c ^ d;
			g = (3 * i + 5) & 15;
		} else {
			f = c ^ (b | ~d);
			g = (7 * i) & 15;
		}
		t = d;
		d = c;
		c = b;
		f += a + md5_k[i] + m[g];
		b += (f << md5_r[i]) | (f >> (32 - md5_r[i]));
		a = t;
	}
	s[0] += a;
	s[1] += b;
	s[2] += c;
	s[3] += d;
}

static void
md5_init(struct md5 *c)
{
	c->s[0] = 0x67452301;
	c->s[1] = 0xefcdab89;
	c->s[2] = 0x98badcfe;
	c->s[3] = 0x10325476;
	c->len = 0;
	c->n = 0;
}

static void
md5_update(struct md5 *c, const void *data, size_t len)
{
	const unsigned char *p = data;

	c->len += len;
	while (len > 0) {
		size_t k = 64 - c->n < len ? 64 - c->n : len;

		memcpy(c->buf + c->n, p, k);
		c->n += k;
		p += k;
		len -= k;
		if (c->n == 64) {
			md5_block(c->s, c->buf);
			c->n = 0;
		}
	}
}

static void
md5_final(struct md5 *c, unsigned char out[16])
{
	uint64_t bits = c->len * 8;
	unsigned char pad = 0x80, zero = 0, lenb[8];
	int i;

	md5_update(c, &pad, 1);
	while (c->n != 56)
		md5_update(c, &zero, 1);
	for (i = 0; i < 8; i++)
		lenb[i] = (unsigned char)(bits >> (8 * i));
	md5_update(c, lenb, 8);
	for (i = 0; i < 16; i++)
		out[i] = (unsigned char)(c->s[i / 4] >> (8 * (i % 4)));
}

/* hmac_pads - the MD5 states after the inner and outer key blocks. */
static void
hmac_pads(const char *key, size_t len, uint32_t in[4], uint32_t out[4])
{
	unsigned char k[64], ip[64], op[64];
	struct md5 c;
	int i;

	memset(k, 0, sizeof(k));
	if (len > 64) {
		md5_init(&c);
		md5_update(&c, key, len);
		md5_final(&c, k);
	} else {
		memcpy(k, key, len);
	}
	for (i = 0; i < 64; i++) {
		ip[i] = k[i] ^ 0x36;
		op[i] = k[i] ^ 0x5c;
	}
	md5_init(&c);
	md5_block(c.s, ip);
	memcpy(in, c.s, sizeof(c.s));
	md5_init(&c);
	md5_block(c.s, op);
	memcpy(out, c.s, sizeof(c.s));
}

static void
hmac_md5(const uint32_t in[4], const uint32_t out[4], const void *msg,
	 size_t len, unsigned char digest[16])
{
	unsigned char inner[16];
	struct md5 c;

	md5_init(&c);
	memcpy(c.s, in, sizeof(c.s));
	c.len = 64;
	md5_update(&c, msg, len);
	md5_final(&c, inner);
	md5_init(&c);
	memcpy(c.s, out, sizeof(c.s));
	c.len = 64;
	md5_update(&c, inner, 16);
	md5_final(&c, digest);
}

/* ------------------------------------------------------------ base64 */

static const char b64_chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* b64_encode - out needs 4 * ((len + 2) / 3) + 1 bytes; returns length. */
static size_t
b64_encode(const unsigned char *in, size_t len, char *out)
{
	size_t i, o = 0;

	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
			     in[i + 2];

		out[o++] = b64_chars[v >> 18];
		out[o++] = b64_chars[(v >> 12) & 63];
		out[o++] = b64_chars[(v >> 6) & 63];
		out[o++] = b64_chars[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		out[o++] = b64_chars[v >> 18];
		out[o++] = b64_chars[(v >> 12) & 63];
		out[o++] = i + 1 < len ? b64_chars[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

static int
b64_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* b64_decode - -1 on bad input; out needs len / 4 * 3 bytes. */
static long
b64_decode(const char *in, size_t len, unsigned char *out)
{
	size_t i, o = 0;

	if (len % 4 != 0)
		return -1;
	for (i = 0; i < len; i += 4) {
		int v[4], k, pad = 0;
		uint32_t x = 0;

		for (k = 0; k < 4; k++) {
			if (in[i + k] == '=' && i + 4 == len && k >= 2) {
				v[k] = 0;
				pad++;
			} else if (pad > 0 || (v[k] = b64_val(in[i + k])) < 0) {
				return -1;
			}
			x = x << 6 | (uint32_t)v[k];
		}
		out[o++] = (unsigned char)(x >> 16);
		if (pad < 2)
			out[o++] = (unsigned char)(x >> 8);
		if (pad < 1)
			out[o++] = (unsigned char)x;
	}
	return (long)o;
}

/* ------------------------------------------------------------ state */

enum mech_kind { M_PLAIN, M_CRAM };

struct user {
	char *name;
	size_t name_len;
	char *plain_b64;		/* base64("\0user\0password") */
	uint32_t ipad[4], opad[4];	/* HMAC-MD5 key states */
};

enum slot_state { S_FREE, S_CHAL, S_RESULT };

struct slot {
	uint32_t id;
	uint32_t gen;			/* uses of this slot so far */
	enum slot_state st;
	uint64_t t0;
	size_t user;
};

struct conn {
	int fd;
	unsigned int index;
	bool ready;			/* handshake done */
	bool dead;
	bool want_out;			/* EPOLLOUT registered */
	bool mech_seen;
	char *in;
	size_t in_len;
	char *out;
	size_t out_len, out_off, out_cap;
	struct slot *slots;
	unsigned int busy;		/* slots in use */
};

static enum mech_kind mech;
static const char *mech_name;
static struct user *users;
static size_t nusers, next_user;
static struct conn *conns;
static unsigned int nconns, inflight;
static int ep;
static const char *service = "smtp";

static uint64_t t_start, win_start, win_end;
static bool counting_all;		/* --count: everything counts */
static uint64_t count_limit;		/* 0: none */
static double rate;			/* 0: no limit */
static uint64_t started, completed;
static bool draining;			/* after the run: nothing counts */

static uint64_t *lat;
static size_t nlat, caplat;
static uint64_t n_ok, n_fail, n_err, n_ok_all, n_fail_all;
static char first_fail[160];
static char first_err[160];

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "auth-load: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		die("out of memory");
	return p;
}

static void
note(char *dst, size_t cap, const char *line, size_t len)
{
	size_t i, n;

	if (dst[0] != '\0')
		return;
	n = len < cap - 1 ? len : cap - 1;
	for (i = 0; i < n; i++)
		dst[i] = (line[i] >= 0x20 && line[i] < 0x7f) ? line[i] : ' ';
	dst[n] = '\0';
}

/* ------------------------------------------------------------ users */

static void
load_users(const char *path)
{
	FILE *f = path != NULL && strcmp(path, "-") != 0 ? fopen(path, "r") : stdin;
	char *line = NULL;
	size_t cap = 0, capu = 0;
	ssize_t len;

	if (f == NULL)
		die("cannot open %s", path);
	while ((len = getline(&line, &cap, f)) >= 0) {
		struct user *u;
		char *sep, *pw, *raw;
		size_t ulen, plen;

		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		sep = strchr(line, '\t');
		if (sep == NULL)
			sep = strchr(line, ' ');
		if (sep == NULL)
			die("USERFILE: no password on a line: %s", line);
		ulen = (size_t)(sep - line);
		pw = sep + 1;
		plen = (size_t)len - ulen - 1;
		if (nusers == capu) {
			capu = capu ? capu * 2 : 1024;
			users = realloc(users, capu * sizeof(*users));
			if (users == NULL)
				die("out of memory");
		}
		u = &users[nusers++];
		u->name = xmalloc(ulen + 1);
		memcpy(u->name, line, ulen);
		u->name[ulen] = '\0';
		u->name_len = ulen;
		raw = xmalloc(ulen + plen + 2);
		raw[0] = '\0';
		memcpy(raw + 1, line, ulen);
		raw[1 + ulen] = '\0';
		memcpy(raw + 2 + ulen, pw, plen);
		u->plain_b64 = xmalloc(4 * ((ulen + plen + 2 + 2) / 3) + 1);
		b64_encode((unsigned char *)raw, ulen + plen + 2, u->plain_b64);
		free(raw);
		hmac_pads(pw, plen, u->ipad, u->opad);
	}
	free(line);
	if (f != stdin)
		fclose(f);
	if (nusers == 0)
		die("USERFILE has no users");
}

static int
cram_contexts(const char *path)
{
	size_t i;
	int k;

	load_users(path);
	for (i = 0; i < nusers; i++) {
		printf("%s\t{CRAM-MD5}", users[i].name);
		for (k = 0; k < 4; k++)
			printf("%02x%02x%02x%02x", users[i].opad[k] & 0xff,
			       (users[i].opad[k] >> 8) & 0xff,
			       (users[i].opad[k] >> 16) & 0xff,
			       users[i].opad[k] >> 24);
		for (k = 0; k < 4; k++)
			printf("%02x%02x%02x%02x", users[i].ipad[k] & 0xff,
			       (users[i].ipad[k] >> 8) & 0xff,
			       (users[i].ipad[k] >> 16) & 0xff,
			       users[i].ipad[k] >> 24);
		putchar('\n');
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

/* ------------------------------------------------------------ output */

static void
out_reserve(struct conn *c, size_t n)
{
	if (c->out_len + n <= c->out_cap)
		return;
	while (c->out_len + n > c->out_cap)
		c->out_cap = c->out_cap ? c->out_cap * 2 : 8192;
	c->out = realloc(c->out, c->out_cap);
	if (c->out == NULL)
		die("out of memory");
}

static void
out_str(struct conn *c, const char *s, size_t n)
{
	out_reserve(c, n);
	memcpy(c->out + c->out_len, s, n);
	c->out_len += n;
}

static void
conn_dead(struct conn *c, const char *why)
{
	if (c->dead)
		return;
	c->dead = true;
	n_err += c->busy;
	if (first_err[0] == '\0')
		snprintf(first_err, sizeof(first_err), "connection %u: %s",
			 c->index, why);
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
}

static void
flush(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t w = write(c->fd, c->out + c->out_off,
				  c->out_len - c->out_off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				if (!c->want_out) {
					struct epoll_event ev = {
						.events = EPOLLIN | EPOLLOUT,
						.data.ptr = c,
					};

					epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
					c->want_out = true;
				}
				return;
			}
			conn_dead(c, strerror(errno));
			return;
		}
		c->out_off += (size_t)w;
	}
	c->out_len = c->out_off = 0;
	if (c->want_out) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

		epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
		c->want_out = false;
	}
}

/* ------------------------------------------------------------ requests */

static bool
may_start(uint64_t now)
{
	if (draining || now >= win_end)
		return false;
	if (count_limit != 0 && started >= count_limit)
		return false;
	if (rate > 0 &&
	    (double)started >= rate * (double)(now - t_start) / 1e9 + 1.0)
		return false;
	return true;
}

static void
start_request(struct conn *c, struct slot *s, uint64_t now)
{
	struct user *u = &users[next_user];
	char head[256];
	int n;

	s->user = next_user;
	next_user = (next_user + 1) % nusers;
	/* Slot s always gets ids = s + 1 (mod INFLIGHT): unique among the
	 * open requests, and never reused while the slot is busy. */
	s->id = s->gen++ * inflight + (uint32_t)(s - c->slots) + 1;
	if (s->id == 0)		/* wrapped */
		s->id = (uint32_t)(s - c->slots) + 1;
	s->t0 = now;
	started++;
	c->busy++;
	n = snprintf(head, sizeof(head),
		     "AUTH\t%u\t%s\tservice=%s\tnologin\tlip=127.0.0.1\t"
		     "rip=127.0.0.1\tsecured", s->id, mech_name, service);
	out_str(c, head, (size_t)n);
	if (mech == M_PLAIN) {
		out_str(c, "\tresp=", 6);
		out_str(c, u->plain_b64, strlen(u->plain_b64));
		s->st = S_RESULT;
	} else {
		s->st = S_CHAL;
	}
	out_str(c, "\n", 1);
}

/* fill - start requests in the free slots, as far as allowed. */
static void
fill(struct conn *c, uint64_t now)
{
	unsigned int i;

	if (c->dead || !c->ready)
		return;
	for (i = 0; i < inflight && c->busy < inflight; i++) {
		if (c->slots[i].st != S_FREE)
			continue;
		if (!may_start(now))
			break;
		start_request(c, &c->slots[i], now);
	}
}

static void
record(uint64_t t0, uint64_t t1)
{
	if (draining || (!counting_all && (t1 < win_start || t1 >= win_end)))
		return;
	if (nlat == caplat) {
		caplat = caplat ? caplat * 2 : 1 << 16;
		lat = realloc(lat, caplat * sizeof(*lat));
		if (lat == NULL)
			die("out of memory");
	}
	lat[nlat++] = t1 - t0;
}

static bool
in_window(uint64_t t)
{
	return !draining &&
	       (counting_all || (t >= win_start && t < win_end));
}

static struct slot *
slot_of(struct conn *c, const char *idstr, size_t len)
{
	uint32_t id = 0;
	size_t i;
	struct slot *s;

	if (len == 0 || len > 10)
		return NULL;
	for (i = 0; i < len; i++) {
		if (idstr[i] < '0' || idstr[i] > '9')
			return NULL;
		id = id * 10 + (uint32_t)(idstr[i] - '0');
	}
	if (id == 0)
		return NULL;
	s = &c->slots[(id - 1) % inflight];
	return s->st != S_FREE && s->id == id ? s : NULL;
}

static void
finish(struct conn *c, struct slot *s, bool ok, const char *line, size_t len,
       uint64_t now)
{
	bool counted = in_window(now);

	if (ok) {
		n_ok_all++;
		if (counted)
			n_ok++;
	} else {
		n_fail_all++;
		if (counted)
			n_fail++;
		note(first_fail, sizeof(first_fail), line, len);
	}
	record(s->t0, now);
	s->st = S_FREE;
	c->busy--;
	completed++;
}

static void
answer_challenge(struct conn *c, struct slot *s, const char *b64, size_t len)
{
	unsigned char chal[LINE_MAX_LEN], dig[16];
	char resp[1024], enc[1400];
	const struct user *u = &users[s->user];
	/* A line may be up to 2 * LINE_MAX_LEN bytes here (the input buffer):
	 * never decode more than chal holds. */
	long n = len / 4 * 3 <= sizeof(chal) ? b64_decode(b64, len, chal) : -1;
	size_t r;
	int i;

	if (n < 0 || u->name_len + 34 > sizeof(resp)) {
		n_err++;
		note(first_err, sizeof(first_err), "bad challenge", 13);
		s->st = S_FREE;
		c->busy--;
		completed++;
		return;
	}
	hmac_md5(u->ipad, u->opad, chal, (size_t)n, dig);
	memcpy(resp, u->name, u->name_len);
	r = u->name_len;
	resp[r++] = ' ';
	for (i = 0; i < 16; i++) {
		resp[r++] = "0123456789abcdef"[dig[i] >> 4];
		resp[r++] = "0123456789abcdef"[dig[i] & 15];
	}
	r = b64_encode((unsigned char *)resp, r, enc);
	i = snprintf(resp, sizeof(resp), "CONT\t%u\t", s->id);
	out_str(c, resp, (size_t)i);
	out_str(c, enc, r);
	out_str(c, "\n", 1);
	s->st = S_RESULT;
}

/* field - the n-th TAB-separated field of line (0-based). */
static bool
field(const char *line, size_t len, int n, const char **f, size_t *flen)
{
	const char *p = line, *end = line + len, *t;

	while (n-- > 0) {
		t = memchr(p, '\t', (size_t)(end - p));
		if (t == NULL)
			return false;
		p = t + 1;
	}
	t = memchr(p, '\t', (size_t)(end - p));
	*f = p;
	*flen = (size_t)((t != NULL ? t : end) - p);
	return true;
}

static void
handshake_line(struct conn *c, const char *line, size_t len)
{
	const char *f;
	size_t fl;

	if (len >= 8 && memcmp(line, "VERSION\t", 8) == 0) {
		if (!field(line, len, 1, &f, &fl) || fl != 1 || f[0] != '1')
			die("server speaks another major version");
	} else if (len >= 5 && memcmp(line, "MECH\t", 5) == 0) {
		if (field(line, len, 1, &f, &fl) && fl == strlen(mech_name) &&
		    memcmp(f, mech_name, fl) == 0)
			c->mech_seen = true;
	} else if (len == 4 && memcmp(line, "DONE", 4) == 0) {
		if (!c->mech_seen)
			die("the server does not offer %s", mech_name);
		c->ready = true;
	}
}

static void
handle_line(struct conn *c, const char *line, size_t len, uint64_t now)
{
	const char *f;
	size_t fl;
	struct slot *s;
	bool ok;

	if (!c->ready) {
		handshake_line(c, line, len);
		return;
	}
	if (!field(line, len, 1, &f, &fl) || (s = slot_of(c, f, fl)) == NULL) {
		n_err++;
		note(first_err, sizeof(first_err), line, len);
		return;
	}
	ok = len >= 3 && memcmp(line, "OK\t", 3) == 0;
	if (ok || (len >= 5 && memcmp(line, "FAIL\t", 5) == 0)) {
		/* OK must name the user (Postfix fails it otherwise). */
		if (ok && (len < 5 || memmem(line, len, "\tuser=", 6) == NULL))
			ok = false;
		finish(c, s, ok, line, len, now);
		return;
	}
	if (len >= 5 && memcmp(line, "CONT\t", 5) == 0 && s->st == S_CHAL) {
		if (!field(line, len, 2, &f, &fl))
			fl = 0;
		answer_challenge(c, s, f, fl);
		return;
	}
	n_err++;
	note(first_err, sizeof(first_err), line, len);
	s->st = S_FREE;
	c->busy--;
	completed++;
}

static void
conn_read(struct conn *c)
{
	for (;;) {
		size_t space = LINE_MAX_LEN * 2 - c->in_len;
		ssize_t n = read(c->fd, c->in + c->in_len, space);
		size_t start = 0;
		uint64_t now;
		char *nl;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				conn_dead(c, strerror(errno));
			return;
		}
		if (n == 0) {
			conn_dead(c, "closed by the server");
			return;
		}
		now = now_ns();
		c->in_len += (size_t)n;
		while ((nl = memchr(c->in + start, '\n', c->in_len - start)) != NULL) {
			size_t len = (size_t)(nl - (c->in + start));

			handle_line(c, c->in + start, len, now);
			start += len + 1;
		}
		if (start == 0 && c->in_len == LINE_MAX_LEN * 2) {
			conn_dead(c, "line too long");
			return;
		}
		memmove(c->in, c->in + start, c->in_len - start);
		c->in_len -= start;
		if ((size_t)n < space)	/* drained (epoll is level-triggered) */
			return;
	}
}

static void
conn_open(struct conn *c, const struct sockaddr_un *sun)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	char hello[64];
	int n;

	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		die("socket: %s", strerror(errno));
	if (connect(c->fd, (const struct sockaddr *)sun, sizeof(*sun)) < 0)
		die("connect: %s", strerror(errno));
	n = snprintf(hello, sizeof(hello), "VERSION\t1\t0\nCPID\t%ld\n",
		     (long)getpid());
	out_str(c, hello, (size_t)n);
	flush(c);
	if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) < 0)
		die("fcntl: %s", strerror(errno));
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
		die("epoll_ctl: %s", strerror(errno));
	c->in = xmalloc(LINE_MAX_LEN * 2);
	c->slots = calloc(inflight, sizeof(*c->slots));
	if (c->slots == NULL)
		die("out of memory");
}

/* ------------------------------------------------------------ main */

static double
num(const char *s, const char *what, double lo, double hi)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		die("bad %s", what);
	return v;
}

/* drain - after the run, wait (at most DRAIN_S seconds) for the requests
 * still open to be answered, starting and counting none.  Hanging up on
 * requests in flight is no part of the load, and Dovecot's auth counts it
 * against the client's address: its next requests from 127.0.0.1 then
 * wait out an auth penalty of 2 s or more, which stalls the next run.
 * Returns the requests still open when it gives up. */
#define DRAIN_S	10

/* serve_events - one epoll_wait on ep (timeout ms) and the I/O it reports. */
static void
serve_events(int timeout)
{
	struct epoll_event evs[64];
	int n, j;

	n = epoll_wait(ep, evs, 64, timeout);
	if (n < 0 && errno != EINTR)
		die("epoll_wait: %s", strerror(errno));
	for (j = 0; j < n; j++) {
		struct conn *c = evs[j].data.ptr;

		if (c->dead)
			continue;
		if (evs[j].events & EPOLLOUT)
			flush(c);
		if (!c->dead && (evs[j].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
			conn_read(c);
	}
}

static uint64_t
drain(void)
{
	uint64_t deadline = now_ns() + (uint64_t)DRAIN_S * 1000000000ULL;
	uint64_t open;
	unsigned int i;

	draining = true;
	for (;;) {
		uint64_t now = now_ns();

		open = 0;
		for (i = 0; i < nconns; i++) {
			if (conns[i].dead)
				continue;
			flush(&conns[i]);
			if (!conns[i].dead)
				open += conns[i].busy;
		}
		if (open == 0 || now >= deadline)
			return open;
		serve_events((int)((deadline - now) / 1000000 + 1));
	}
}

static void
usage(void)
{
	fputs("usage: auth-load [--warmup S] [--count N] [--rate R] "
	      "[--offset K] [--service NAME]\n"
	      "                 SOCKET CONNS INFLIGHT SECONDS PLAIN|CRAM-MD5 "
	      "USERFILE\n"
	      "       auth-load --cram-md5-contexts [USERFILE]\n", stderr);
	exit(2);
}

int
main(int argc, char **argv)
{
	struct sockaddr_un sun;
	struct rusage ru;
	double seconds, warmup = 1.0, window_s, mean = 0, rps, cpu_s, wall_s;
	uint64_t total = 0, t_end, t_done, requests_all, abandoned;
	unsigned long offset = 0;
	const char *args[6];
	int nargs = 0, a;
	unsigned int i;
	size_t k;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--cram-md5-contexts") == 0)
			return cram_contexts(a + 1 < argc ? argv[a + 1] : NULL);
		if (strcmp(argv[a], "--warmup") == 0 && a + 1 < argc)
			warmup = num(argv[++a], "--warmup", 0, 3600);
		else if (strcmp(argv[a], "--count") == 0 && a + 1 < argc)
			count_limit = (uint64_t)num(argv[++a], "--count", 1, 1e12);
		else if (strcmp(argv[a], "--rate") == 0 && a + 1 < argc)
			rate = num(argv[++a], "--rate", 0.001, 1e9);
		else if (strcmp(argv[a], "--offset") == 0 && a + 1 < argc)
			offset = (unsigned long)num(argv[++a], "--offset", 0, 1e9);
		else if (strcmp(argv[a], "--service") == 0 && a + 1 < argc)
			service = argv[++a];
		else if (argv[a][0] == '-' && argv[a][1] == '-')
			usage();
		else if (nargs < 6)
			args[nargs++] = argv[a];
		else
			usage();
	}
	if (nargs != 6)
		usage();
	if (strlen(args[0]) >= sizeof(sun.sun_path))
		die("socket path too long");
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, args[0], strlen(args[0]) + 1);
	nconns = (unsigned int)num(args[1], "CONNS", 1, MAX_CONNS);
	inflight = (unsigned int)num(args[2], "INFLIGHT", 1, MAX_INFLIGHT);
	seconds = num(args[3], "SECONDS", 0.001, 86400);
	mech_name = args[4];
	if (strcmp(mech_name, "PLAIN") == 0)
		mech = M_PLAIN;
	else if (strcmp(mech_name, "CRAM-MD5") == 0)
		mech = M_CRAM;
	else
		die("MECH must be PLAIN or CRAM-MD5, not %s", mech_name);
	load_users(args[5]);
	next_user = offset % nusers;
	if (count_limit != 0) {
		counting_all = true;
		warmup = 0;
	}

	signal(SIGPIPE, SIG_IGN);
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll_create1: %s", strerror(errno));
	conns = calloc(nconns, sizeof(*conns));
	if (conns == NULL)
		die("out of memory");
	t_start = now_ns();
	win_start = t_start + (uint64_t)(warmup * 1e9);
	win_end = win_start + (uint64_t)(seconds * 1e9);
	for (i = 0; i < nconns; i++) {
		conns[i].index = i;
		conn_open(&conns[i], &sun);
	}

	for (;;) {
		uint64_t now = now_ns();
		int timeout;
		unsigned int alive = 0;

		if (now >= win_end || (count_limit != 0 && completed >= count_limit))
			break;
		for (i = 0; i < nconns; i++) {
			if (conns[i].dead)
				continue;
			alive++;
			fill(&conns[i], now);
			flush(&conns[i]);
		}
		if (alive == 0)
			break;
		timeout = (int)((win_end - now) / 1000000 + 1);
		if (rate > 0 && timeout > 1)
			timeout = 1;	/* the next start slot */
		serve_events(timeout);
	}
	t_end = now_ns();
	abandoned = drain();
	t_done = now_ns();
	getrusage(RUSAGE_SELF, &ru);
	cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		(double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	wall_s = (double)(t_done - t_start) / 1e9;
	if (counting_all)
		window_s = (double)(t_end - t_start) / 1e9;
	else
		window_s = (double)((t_end < win_end ? t_end : win_end) - win_start) / 1e9;
	for (i = 0; i < nconns; i++)
		if (!conns[i].dead)
			close(conns[i].fd);

	qsort(lat, nlat, sizeof(*lat), cmp_u64);
	for (k = 0; k < nlat; k++)
		total += lat[k];
	if (nlat > 0)
		mean = (double)total / (double)nlat / 1000.0;
	rps = window_s > 0 ? (double)(n_ok + n_fail) / window_s : 0;
	requests_all = n_ok_all + n_fail_all;

	printf("%s %ux%u, %.1f s: %.0f auth/s (ok %llu, fail %llu, errors %llu)  "
	       "latency mean=%.0fus p50=%.0fus p90=%.0fus p99=%.0fus "
	       "p99.9=%.0fus max=%.0fus  client cpu %.2f s (%.0f%% of a core, "
	       "%.1f us/req)%s%s%s%s\n",
	       mech_name, nconns, inflight, window_s, rps,
	       (unsigned long long)n_ok, (unsigned long long)n_fail,
	       (unsigned long long)n_err, mean, pct(lat, nlat, 50),
	       pct(lat, nlat, 90), pct(lat, nlat, 99), pct(lat, nlat, 99.9),
	       nlat ? (double)lat[nlat - 1] / 1000.0 : 0.0, cpu_s,
	       100.0 * cpu_s / wall_s,
	       requests_all ? cpu_s * 1e6 / (double)requests_all : 0.0,
	       first_fail[0] ? "  first FAIL: " : "", first_fail,
	       first_err[0] ? "  first error: " : "", first_err);
	printf("JSON {\"bench\":\"auth-load\",\"mech\":\"%s\",\"conns\":%u,"
	       "\"inflight\":%u,\"rate_limit\":%.1f,\"users\":%zu,"
	       "\"seconds\":%.3f,\"requests\":%zu,\"ok\":%llu,\"fail\":%llu,"
	       "\"errors\":%llu,\"rps\":%.1f,\"mean_us\":%.2f,\"p50_us\":%.2f,"
	       "\"p90_us\":%.2f,\"p99_us\":%.2f,\"p999_us\":%.2f,"
	       "\"max_us\":%.2f,\"requests_all\":%llu,\"wall_s\":%.3f,"
	       "\"client_cpu_s\":%.3f,\"client_cpu_pct\":%.1f,"
	       "\"client_us_per_req\":%.2f,\"ok_all\":%llu,"
	       "\"fail_all\":%llu,\"abandoned\":%llu}\n",
	       mech_name, nconns, inflight, rate, nusers, window_s, nlat,
	       (unsigned long long)n_ok, (unsigned long long)n_fail,
	       (unsigned long long)n_err, rps, mean, pct(lat, nlat, 50),
	       pct(lat, nlat, 90), pct(lat, nlat, 99), pct(lat, nlat, 99.9),
	       nlat ? (double)lat[nlat - 1] / 1000.0 : 0.0,
	       (unsigned long long)requests_all, wall_s, cpu_s,
	       100.0 * cpu_s / wall_s,
	       requests_all ? cpu_s * 1e6 / (double)requests_all : 0.0,
	       (unsigned long long)n_ok_all, (unsigned long long)n_fail_all,
	       (unsigned long long)abandoned);
	return (n_fail == 0 && n_err == 0 && n_ok > 0) ? 0 : 1;
}
