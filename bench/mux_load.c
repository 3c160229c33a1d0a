/*
 * mux-load - load generator for the saslauthd "mux" protocol.
 *
 * usage: mux-load SOCKET CLIENTS SECONDS USER PASS REALM
 *                 [--expect OK|NO] [--service NAME] [--warmup SECONDS]
 *
 * CLIENTS threads each loop, as libsasl2 does for every login: socket(),
 * connect(), one write() of the whole request (login, password, service,
 * realm: each a 2-byte big-endian length and the bytes), read the reply
 * (2-byte length, then the text) completely, close().  One request per
 * connection; a thread has at most one request in flight.
 *
 * USER may be a comma-separated list: request k of thread t then uses
 * entry (t + k) mod n, so the load rotates over a few users.
 *
 * The threads run for a warm-up (default 1 s) and then SECONDS.  Only
 * requests that complete inside the measured window are counted; each is
 * timed from before socket() to after close() with CLOCK_MONOTONIC.  A
 * reply whose text is not the expected one (default "OK"; a text that
 * starts with "OK " also counts as OK), a refused connection, an I/O error
 * or a short reply counts as an error (and as a request, since the server
 * answered or failed it).
 *
 * Prints one human line and one JSON line (prefixed "JSON ") on stdout:
 * requests/s, latency mean/p50/p90/p99/p99.9/max in microseconds, errors,
 * the requests of the whole run including warm-up (to divide a server's
 * CPU time by), and the CPU time this process used.
 * Exit 0 if every counted request got the expected reply, 1 if any
 * failed or none completed, 2 on usage errors.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "stats.h"

#define FIELD_MAX	65535
#define MAX_CLIENTS	1024
#define MAX_USERS	1024

struct request {
	unsigned char *buf;
	size_t len;
};

struct client {
	pthread_t thread;
	unsigned int index;
	uint64_t *lat;			/* ns, counted requests only */
	size_t nlat, caplat;
	uint64_t all;			/* every completed request, warm-up too */
	uint64_t err_connect, err_io, err_reply;
	char first_bad[64];		/* the first unexpected reply text */
};

static struct sockaddr_un sun;
static struct request *reqs;
static size_t nreqs;
static const char *expect = "OK";
static size_t expect_len = 2;
static uint64_t window_start, window_end;
static atomic_bool stop;

static void
die(const char *msg)
{
	fprintf(stderr, "mux-load: %s\n", msg);
	exit(2);
}

/* put_field - append a 2-byte big-endian length and the bytes. */
static void
put_field(unsigned char *out, size_t *off, const char *s)
{
	size_t n = strlen(s);

	if (n > FIELD_MAX)
		die("a field is longer than 65535 bytes");
	out[(*off)++] = (unsigned char)(n >> 8);
	out[(*off)++] = (unsigned char)(n & 0xff);
	memcpy(out + *off, s, n);
	*off += n;
}

static void
make_request(struct request *r, const char *user, const char *pass,
	     const char *service, const char *realm)
{
	size_t cap = 8 + strlen(user) + strlen(pass) + strlen(service) +
		     strlen(realm);

	r->buf = malloc(cap);
	if (r->buf == NULL)
		die("out of memory");
	r->len = 0;
	put_field(r->buf, &r->len, user);
	put_field(r->buf, &r->len, pass);
	put_field(r->buf, &r->len, service);
	put_field(r->buf, &r->len, realm);
}

static bool
write_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* read_full - exactly n bytes; false on EOF or error. */
static bool
read_full(int fd, unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t r = read(fd, p, n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		if (r == 0)
			return false;
		p += r;
		n -= (size_t)r;
	}
	return true;
}

enum outcome { GOOD, BAD_CONNECT, BAD_IO, BAD_REPLY };

/* one_request - connect, write, read the whole reply, close. */
static enum outcome
one_request(struct client *c, const struct request *r)
{
	unsigned char hdr[2], text[1024];
	size_t len;
	int fd;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return BAD_CONNECT;
	if (connect(fd, (const struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return BAD_CONNECT;
	}
	if (!write_all(fd, r->buf, r->len) || !read_full(fd, hdr, 2)) {
		close(fd);
		return BAD_IO;
	}
	len = (size_t)hdr[0] << 8 | hdr[1];
	if (len > sizeof(text) || !read_full(fd, text, len)) {
		close(fd);
		return BAD_IO;
	}
	close(fd);
	if (len >= expect_len && memcmp(text, expect, expect_len) == 0 &&
	    (len == expect_len || text[expect_len] == ' '))
		return GOOD;
	if (c->first_bad[0] == '\0') {
		size_t i, n = len < sizeof(c->first_bad) - 1 ?
			      len : sizeof(c->first_bad) - 1;

		for (i = 0; i < n; i++)
			c->first_bad[i] = (text[i] >= 0x20 && text[i] < 0x7f) ?
					  (char)text[i] : '?';
		c->first_bad[n] = '\0';
		if (n == 0)
			snprintf(c->first_bad, sizeof(c->first_bad), "(empty)");
	}
	return BAD_REPLY;
}

static void *
client_main(void *arg)
{
	struct client *c = arg;
	size_t k = c->index;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		const struct request *r = &reqs[k++ % nreqs];
		uint64_t t0 = now_ns(), t1;
		enum outcome o = one_request(c, r);

		t1 = now_ns();
		c->all++;
		if (o == BAD_CONNECT)
			/* The socket is gone or full: do not spin. */
			usleep(1000);
		if (t1 < window_start || t1 >= window_end)
			continue;
		switch (o) {
		case GOOD: break;
		case BAD_CONNECT: c->err_connect++; break;
		case BAD_IO: c->err_io++; break;
		case BAD_REPLY: c->err_reply++; break;
		}
		if (c->nlat == c->caplat) {
			size_t cap = c->caplat ? c->caplat * 2 : 65536;
			uint64_t *p = realloc(c->lat, cap * sizeof(*p));

			if (p == NULL) {
				atomic_store(&stop, true);
				break;
			}
			c->lat = p;
			c->caplat = cap;
		}
		c->lat[c->nlat++] = t1 - t0;
	}
	return NULL;
}

static double
parse_secs(const char *s, const char *what)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || v < 0 || v > 86400) {
		fprintf(stderr, "mux-load: %s: not a number of seconds: %s\n",
			what, s);
		exit(2);
	}
	return v;
}

static void
sleep_until(uint64_t t)
{
	uint64_t n;

	while ((n = now_ns()) < t) {
		uint64_t d = t - n;
		struct timespec ts = { (time_t)(d / 1000000000ULL),
				       (long)(d % 1000000000ULL) };

		nanosleep(&ts, NULL);
	}
}

static void
usage(void)
{
	fputs("usage: mux-load SOCKET CLIENTS SECONDS USER[,USER...] PASS REALM\n"
	      "                [--expect OK|NO] [--service NAME] "
	      "[--warmup SECONDS]\n", stderr);
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *service = "smtp", *user_list, *pass, *realm;
	double seconds, warmup = 1.0, window_s, mean = 0, rate, cpu_s;
	struct client *cl;
	struct rusage ru;
	unsigned long clients;
	uint64_t *all, total = 0, requests_all = 0;
	uint64_t e_connect = 0, e_io = 0, e_reply = 0, errors;
	size_t n = 0, i;
	const char *bad = "";
	char *users, *tok, *save, *end;
	int a;

	if (argc < 7)
		usage();
	if (strlen(argv[1]) >= sizeof(sun.sun_path))
		die("socket path too long");
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, argv[1], strlen(argv[1]) + 1);
	errno = 0;
	clients = strtoul(argv[2], &end, 10);
	if (errno != 0 || *end != '\0' || clients == 0 || clients > MAX_CLIENTS)
		die("CLIENTS must be 1..1024");
	seconds = parse_secs(argv[3], "SECONDS");
	if (seconds <= 0)
		die("SECONDS must be positive");
	user_list = argv[4];
	pass = argv[5];
	realm = argv[6];
	for (a = 7; a < argc; a++) {
		if (strcmp(argv[a], "--expect") == 0 && a + 1 < argc) {
			expect = argv[++a];
			if (strcmp(expect, "OK") != 0 && strcmp(expect, "NO") != 0)
				die("--expect takes OK or NO");
			expect_len = strlen(expect);
		} else if (strcmp(argv[a], "--service") == 0 && a + 1 < argc) {
			service = argv[++a];
		} else if (strcmp(argv[a], "--warmup") == 0 && a + 1 < argc) {
			warmup = parse_secs(argv[++a], "--warmup");
		} else {
			usage();
		}
	}

	/* Every request is encoded once, before anything is timed. */
	if ((users = strdup(user_list)) == NULL ||
	    (reqs = calloc(MAX_USERS, sizeof(*reqs))) == NULL)
		die("out of memory");
	for (tok = strtok_r(users, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		if (nreqs == MAX_USERS)
			die("at most 1024 users");
		make_request(&reqs[nreqs++], tok, pass, service, realm);
	}
	if (nreqs == 0)
		die("no USER");

	signal(SIGPIPE, SIG_IGN);
	if ((cl = calloc(clients, sizeof(*cl))) == NULL)
		die("out of memory");
	window_start = now_ns() + (uint64_t)(warmup * 1e9);
	window_end = window_start + (uint64_t)(seconds * 1e9);
	for (i = 0; i < clients; i++) {
		cl[i].index = (unsigned int)i;
		if (pthread_create(&cl[i].thread, NULL, client_main, &cl[i]) != 0)
			die("pthread_create failed");
	}
	sleep_until(window_end);
	atomic_store(&stop, true);
	for (i = 0; i < clients; i++)
		pthread_join(cl[i].thread, NULL);
	window_s = (double)(window_end - window_start) / 1e9;

	for (i = 0; i < clients; i++)
		n += cl[i].nlat;
	if ((all = malloc((n ? n : 1) * sizeof(*all))) == NULL)
		die("out of memory");
	n = 0;
	for (i = 0; i < clients; i++) {
		memcpy(all + n, cl[i].lat, cl[i].nlat * sizeof(*all));
		n += cl[i].nlat;
		requests_all += cl[i].all;
		e_connect += cl[i].err_connect;
		e_io += cl[i].err_io;
		e_reply += cl[i].err_reply;
		if (bad[0] == '\0' && cl[i].first_bad[0] != '\0')
			bad = cl[i].first_bad;
	}
	errors = e_connect + e_io + e_reply;
	qsort(all, n, sizeof(*all), cmp_u64);
	for (i = 0; i < n; i++)
		total += all[i];
	if (n > 0)
		mean = (double)total / (double)n / 1000.0;
	rate = (double)n / window_s;
	getrusage(RUSAGE_SELF, &ru);
	cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		(double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;

	printf("clients=%lu seconds=%.1f requests=%zu errors=%llu "
	       "(connect %llu, io %llu, reply %llu%s%s%s)  %.0f req/s  "
	       "mean=%.1fus p50=%.1fus p90=%.1fus p99=%.1fus p99.9=%.1fus "
	       "max=%.1fus  (all requests incl. warm-up: %llu; "
	       "client cpu %.2f s)\n",
	       clients, window_s, n, (unsigned long long)errors,
	       (unsigned long long)e_connect, (unsigned long long)e_io,
	       (unsigned long long)e_reply, bad[0] ? ", first bad reply \"" : "",
	       bad, bad[0] ? "\"" : "", rate, mean, pct(all, n, 50),
	       pct(all, n, 90), pct(all, n, 99), pct(all, n, 99.9),
	       n ? (double)all[n - 1] / 1000.0 : 0.0,
	       (unsigned long long)requests_all, cpu_s);
	printf("JSON {\"bench\":\"mux-load\",\"clients\":%lu,\"seconds\":%.3f,"
	       "\"users\":%zu,\"expect\":\"%s\",\"requests\":%zu,"
	       "\"errors\":%llu,\"err_connect\":%llu,\"err_io\":%llu,"
	       "\"err_reply\":%llu,\"rps\":%.1f,\"mean_us\":%.2f,"
	       "\"p50_us\":%.2f,\"p90_us\":%.2f,\"p99_us\":%.2f,"
	       "\"p999_us\":%.2f,\"max_us\":%.2f,\"requests_all\":%llu,"
	       "\"client_cpu_s\":%.3f}\n",
	       clients, window_s, nreqs, expect, n, (unsigned long long)errors,
	       (unsigned long long)e_connect, (unsigned long long)e_io,
	       (unsigned long long)e_reply, rate, mean, pct(all, n, 50),
	       pct(all, n, 90), pct(all, n, 99), pct(all, n, 99.9),
	       n ? (double)all[n - 1] / 1000.0 : 0.0,
	       (unsigned long long)requests_all, cpu_s);

	for (i = 0; i < clients; i++)
		free(cl[i].lat);
	for (i = 0; i < nreqs; i++)
		free(reqs[i].buf);
	free(reqs);
	free(users);
	free(all);
	free(cl);
	return (errors == 0 && n > 0) ? 0 : 1;
}
