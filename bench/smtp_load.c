/*
 * smtp-load - SMTP load generator with AUTH PLAIN, for bench/smtpd.sh.
 *
 * usage: smtp-load [options] HOST:PORT SESSIONS SECONDS USERFILE
 *        smtp-load --idle N [--hold S] HOST:PORT
 *
 * SESSIONS concurrent SMTP sessions, each one after the other doing
 *
 *   connect, 220 greeting, EHLO (250), AUTH PLAIN with an initial
 *   response (235), MAIL FROM (250), RCPT TO (250), DATA (354), the
 *   message and its dot (250), QUIT (221), close
 *
 * and then starting over with a new connection: one message per session,
 * as a submission client sends it.  Lock-step, no pipelining (as
 * smtp-source), every reply checked against the one code it must have.
 * The message is SIZE bytes (default 2048) of headers and 78-byte body
 * lines, then ".".  Sessions take the users of USERFILE in turn (one
 * "user password" per line, separated by a TAB or the first space).
 *
 * One thread, epoll, non-blocking sockets.  A warm-up (default 1 s), then
 * SECONDS measured: a message counts when the 250 after its dot arrives
 * inside the window, and its latency is from the connect() of its session
 * to that 250 (greeting, EHLO, AUTH and the transaction: what a client
 * waits for before its message is accepted).  After the window, no new
 * session starts and the open ones are finished (up to 10 s), so the
 * server never sees an aborted transaction; their messages count in
 * msgs_all, not in the rate.
 *
 * Options:
 *   --warmup S    seconds before the measured window (default 1)
 *   --size N      message size in bytes, headers included (default 2048)
 *   --helo NAME   EHLO argument (default client.example.net)
 *   --from ADDR   MAIL FROM address (default sender@example.org)
 *   --to ADDR     RCPT TO address (default rcpt@example.net)
 *   --auth-code N the reply AUTH must get (default 235; smtp-sink, which
 *                 takes any AUTH without looking, answers 250)
 *
 * Prints one human line and one JSON line (prefixed "JSON ") on stdout:
 * messages/s, OK, FAIL (a reply with another code than expected: the
 * session is dropped and a new one starts), errors (connect, reset, EOF,
 * 30 s without a reply), latency mean/p50/p90/p99/p99.9/max in
 * microseconds, msgs_all (every message accepted, warm-up and drain
 * included: what the server side must have passed on), this process's
 * CPU time, and "abandoned": sessions still open when the drain gave up.
 * Exit 0 if every session went right and at least one message counted,
 * 1 otherwise, 2 on usage or set-up errors.
 *
 * --idle N: open N sessions (at most 64 connecting at a time), read each
 * greeting, send EHLO, read its 250, and then hold them without a word.
 * Prints "READY N" (flushed) once all N are idle, then waits for SIGTERM,
 * SIGINT or --hold S seconds (default 600), and prints a JSON line: held
 * (sessions still open and silent), closed (the server closed or spoke),
 * errors.  Exit 0 if every session was still held.
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
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include "stats.h"

#define MAX_SESSIONS	1024
#define MAX_IDLE	100000
#define IN_SIZE		8192
#define REPLY_TIMEOUT_NS	(30ULL * 1000000000ULL)
#define DRAIN_NS	(10ULL * 1000000000ULL)
#define IDLE_CONNECTING	64

enum stage {
	S_CONNECT, S_GREET, S_EHLO, S_AUTH, S_MAIL, S_RCPT, S_DATA, S_DOT,
	S_QUIT, S_IDLE,
};
static const char *const stage_name[] = {
	"connect", "greeting", "EHLO", "AUTH", "MAIL", "RCPT", "DATA", "dot",
	"QUIT", "idle",
};
/* The one reply code each stage must get. */
static const int stage_code[] = {
	0, 220, 250, 235, 250, 250, 354, 250, 221, 0,
};

struct sess {
	int fd;				/* -1: not connected */
	enum stage st;
	bool want_out;			/* EPOLLOUT registered */
	char in[IN_SIZE];
	size_t inlen;
	char cmd[1024];			/* the command being written */
	const char *out;		/* what is left to write */
	size_t outlen;
	uint64_t t0;			/* connect() of this session */
	uint64_t t_stage;		/* when the current reply was awaited */
};

static int ep;
static struct sockaddr_in dst;
static struct sess *sess;
static unsigned int nsess;
static const char *helo = "client.example.net";
static const char *mail_from = "sender@example.org";
static const char *rcpt_to = "rcpt@example.net";
static char *message;			/* dot-stuffed, with the final dot */
static size_t message_len;
static char **auth_b64;			/* base64("\0user\0password") per user */
static size_t nusers, next_user;
static bool idle_mode;
static int auth_code = 235;		/* what AUTH must get */
static bool running = true;		/* new sessions may start */
static uint64_t win_start, win_end;
static uint64_t *lat;
static size_t nlat, lat_cap;
static unsigned long long n_ok, n_ok_all, n_fail, n_fail_all, n_err, n_err_all;
static unsigned long long idle_ready, idle_closed;
static char first_fail[256], first_err[256];
static volatile sig_atomic_t stop_signal;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("smtp-load: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void *
xmalloc(size_t n)
{
	void *p = malloc(n);

	if (p == NULL)
		die("out of memory");
	return p;
}

static double
num(const char *s, const char *what, double lo, double hi)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		die("%s: \"%s\" is not a number in %g..%g", what, s, lo, hi);
	return v;
}

/* ------------------------------------------------------------ set-up */

static char *
b64(const unsigned char *p, size_t n)
{
	static const char a[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = xmalloc((n + 2) / 3 * 4 + 1), *o = out;
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		*o++ = a[p[i] >> 2];
		*o++ = a[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		*o++ = a[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)];
		*o++ = a[p[i + 2] & 63];
	}
	if (i + 1 == n) {
		*o++ = a[p[i] >> 2];
		*o++ = a[(p[i] & 3) << 4];
		*o++ = '=';
		*o++ = '=';
	} else if (i + 2 == n) {
		*o++ = a[p[i] >> 2];
		*o++ = a[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		*o++ = a[(p[i + 1] & 15) << 2];
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

static void
load_users(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	size_t cap = 0;

	if (f == NULL)
		die("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t n = strcspn(line, "\r\n"), ul;
		char *sep;
		unsigned char plain[1024];

		line[n] = '\0';
		if (n == 0)
			continue;
		if ((sep = strchr(line, '\t')) == NULL &&
		    (sep = strchr(line, ' ')) == NULL)
			die("%s: a line without a password", path);
		ul = (size_t)(sep - line);
		/* authzid empty, authcid, password */
		plain[0] = '\0';
		memcpy(plain + 1, line, ul);
		plain[1 + ul] = '\0';
		memcpy(plain + 2 + ul, sep + 1, n - ul - 1);
		if (nusers == cap) {
			cap = cap ? 2 * cap : 1024;
			auth_b64 = realloc(auth_b64, cap * sizeof(*auth_b64));
			if (auth_b64 == NULL)
				die("out of memory");
		}
		auth_b64[nusers++] = b64(plain, n + 1);
	}
	fclose(f);
	if (nusers == 0)
		die("%s: no users", path);
}

/* build_message - SIZE bytes of message (header, blank line, 78-byte
 * lines, the last one shorter), then the dot.  No line starts with a
 * dot, so no stuffing is needed. */
static void
build_message(size_t size)
{
	char head[512];
	size_t hl, left;
	char *p;

	hl = (size_t)snprintf(head, sizeof(head),
			      "From: <%s>\r\nTo: <%s>\r\nSubject: smtp-load\r\n"
			      "Message-ID: <smtp-load@%s>\r\n\r\n",
			      mail_from, rcpt_to, helo);
	if (hl >= sizeof(head) || size < hl + 3)
		die("--size %zu is too small for the header", size);
	message = xmalloc(size + 4);
	memcpy(message, head, hl);
	p = message + hl;
	left = size - hl;
	while (left > 0) {
		/* 78-byte lines; the last one shorter (an empty line, CRLF,
		 * at the least: a remainder of 1 moves a byte from the line
		 * before). */
		size_t ll = left >= 78 ? 78 : left;

		if (left - ll == 1)
			ll = 77;
		if (ll < 2)
			die("--size: cannot lay out %zu bytes", size);
		memset(p, 'x', ll - 2);
		p[ll - 2] = '\r';
		p[ll - 1] = '\n';
		p += ll;
		left -= ll;
	}
	memcpy(p, ".\r\n", 3);
	message_len = size + 3;
}

static void
parse_addr(const char *s)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	size_t n;

	if (colon == NULL || (n = (size_t)(colon - s)) == 0 || n >= sizeof(host))
		die("%s: expected IPv4:PORT", s);
	memcpy(host, s, n);
	host[n] = '\0';
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)num(colon + 1, "PORT", 1, 65535));
	if (inet_pton(AF_INET, host, &dst.sin_addr) != 1)
		die("%s: expected a numeric IPv4 address", host);
}

/* ------------------------------------------------------------ sessions */

static void
watch(struct sess *s, bool out)
{
	struct epoll_event ev;

	if (s->want_out == out)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | (out ? EPOLLOUT : 0);
	ev.data.ptr = s;
	if (epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev) < 0)
		die("epoll_ctl: %s", strerror(errno));
	s->want_out = out;
}

static void
sess_close(struct sess *s)
{
	if (s->fd >= 0) {
		epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
		close(s->fd);
	}
	s->fd = -1;
	s->inlen = 0;
	s->outlen = 0;
}

static void
sess_open(struct sess *s)
{
	struct epoll_event ev;
	int one = 1;

	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		die("socket: %s", strerror(errno));
	(void)setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->t0 = s->t_stage = now_ns();
	s->st = S_CONNECT;
	s->inlen = 0;
	s->outlen = 0;
	if (connect(s->fd, (struct sockaddr *)&dst, sizeof(dst)) < 0 &&
	    errno != EINPROGRESS)
		die("connect: %s", strerror(errno));
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLOUT;
	ev.data.ptr = s;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev) < 0)
		die("epoll_ctl: %s", strerror(errno));
	s->want_out = true;
}

static bool
in_window(uint64_t t)
{
	return !idle_mode && t >= win_start && t < win_end;
}

/* sess_error - the connection broke (or timed out): count, close, and
 * start over unless the run is over. */
static void
sess_error(struct sess *s, const char *what)
{
	uint64_t now = now_ns();

	n_err_all++;
	if (in_window(now))
		n_err++;
	if (first_err[0] == '\0')
		snprintf(first_err, sizeof(first_err), "%s (at %s)", what,
			 stage_name[s->st]);
	if (idle_mode && s->st == S_IDLE)
		idle_closed++;
	sess_close(s);
	if (running && !idle_mode)
		sess_open(s);
}

/* send_out - write what is pending; false if the connection broke. */
static bool
send_out(struct sess *s)
{
	while (s->outlen > 0) {
		ssize_t w = send(s->fd, s->out, s->outlen, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				watch(s, true);
				return true;
			}
			if (errno == EINTR)
				continue;
			sess_error(s, strerror(errno));
			return false;
		}
		s->out += w;
		s->outlen -= (size_t)w;
	}
	watch(s, false);
	return true;
}

static bool
send_cmd(struct sess *s, enum stage next, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool
send_cmd(struct sess *s, enum stage next, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(s->cmd, sizeof(s->cmd), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(s->cmd))
		die("command too long");
	s->out = s->cmd;
	s->outlen = (size_t)n;
	s->st = next;
	s->t_stage = now_ns();
	return send_out(s);
}

static void
record(uint64_t t0, uint64_t now)
{
	n_ok_all++;
	if (!in_window(now))
		return;
	n_ok++;
	if (nlat == lat_cap) {
		lat_cap = lat_cap ? 2 * lat_cap : 65536;
		lat = realloc(lat, lat_cap * sizeof(*lat));
		if (lat == NULL)
			die("out of memory");
	}
	lat[nlat++] = now - t0;
}

/* on_reply - a complete reply (code, the whole text) for the stage. */
static void
on_reply(struct sess *s, int code, const char *text, size_t len)
{
	uint64_t now = now_ns();

	if (code != (s->st == S_AUTH ? auth_code : stage_code[s->st])) {
		while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
			len--;
		n_fail_all++;
		if (in_window(now))
			n_fail++;
		if (first_fail[0] == '\0')
			snprintf(first_fail, sizeof(first_fail),
				 "after %s: %.*s", stage_name[s->st],
				 (int)(len > 200 ? 200 : len), text);
		sess_close(s);
		if (running && !idle_mode)
			sess_open(s);
		return;
	}
	switch (s->st) {
	case S_GREET:
		(void)send_cmd(s, S_EHLO, "EHLO %s\r\n", helo);
		break;
	case S_EHLO:
		if (idle_mode) {
			s->st = S_IDLE;
			idle_ready++;
		} else {
			(void)send_cmd(s, S_AUTH, "AUTH PLAIN %s\r\n",
				       auth_b64[next_user]);
			next_user = (next_user + 1) % nusers;
		}
		break;
	case S_AUTH:
		(void)send_cmd(s, S_MAIL, "MAIL FROM:<%s>\r\n", mail_from);
		break;
	case S_MAIL:
		(void)send_cmd(s, S_RCPT, "RCPT TO:<%s>\r\n", rcpt_to);
		break;
	case S_RCPT:
		(void)send_cmd(s, S_DATA, "DATA\r\n");
		break;
	case S_DATA:
		s->out = message;
		s->outlen = message_len;
		s->st = S_DOT;
		s->t_stage = now;
		(void)send_out(s);
		break;
	case S_DOT:
		record(s->t0, now);
		(void)send_cmd(s, S_QUIT, "QUIT\r\n");
		break;
	case S_QUIT:
		sess_close(s);
		if (running)
			sess_open(s);
		break;
	default:
		break;
	}
}

/* parse - one complete reply at the start of s->in: its length, or 0
 * if it is not complete.  *code: the last line's code (-1: malformed). */
static size_t
parse(struct sess *s, int *code)
{
	size_t off = 0;

	for (;;) {
		char *nl = memchr(s->in + off, '\n', s->inlen - off);
		size_t ll;

		if (nl == NULL)
			return 0;
		ll = (size_t)(nl - (s->in + off)) + 1;
		if (ll < 5 || s->in[off + 0] < '2' || s->in[off + 0] > '5' ||
		    s->in[off + 1] < '0' || s->in[off + 1] > '9' ||
		    s->in[off + 2] < '0' || s->in[off + 2] > '9' ||
		    (s->in[off + 3] != ' ' && s->in[off + 3] != '-' &&
		     s->in[off + 3] != '\r')) {
			*code = -1;
			return off + ll;
		}
		if (s->in[off + 3] != '-') {
			*code = (s->in[off] - '0') * 100 +
				(s->in[off + 1] - '0') * 10 + (s->in[off + 2] - '0');
			return off + ll;
		}
		off += ll;
	}
}

static void
on_input(struct sess *s)
{
	for (;;) {
		ssize_t r;
		size_t used;
		int code;

		if (s->inlen == sizeof(s->in)) {
			sess_error(s, "reply too long");
			return;
		}
		r = recv(s->fd, s->in + s->inlen, sizeof(s->in) - s->inlen, 0);
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR)
				continue;
			sess_error(s, strerror(errno));
			return;
		}
		if (r == 0) {
			sess_error(s, "connection closed by the server");
			return;
		}
		if (s->st == S_IDLE) {
			char what[160];

			snprintf(what, sizeof(what), "idle session got: %.*s",
				 (int)(r > 100 ? 100 : r), s->in + s->inlen);
			sess_error(s, what);
			return;
		}
		s->inlen += (size_t)r;
		if ((used = parse(s, &code)) == 0)
			continue;
		if (code < 0) {
			sess_error(s, "malformed reply");
			return;
		}
		if (used != s->inlen || s->outlen > 0 || s->st == S_CONNECT) {
			/* Lock-step: a reply before our command was out,
			 * or more than one reply. */
			sess_error(s, "unexpected reply");
			return;
		}
		s->inlen = 0;
		on_reply(s, code, s->in, used);
		return;
	}
}

static void
on_event(struct sess *s, uint32_t ev)
{
	if (s->fd < 0)
		return;
	if (s->st == S_CONNECT && (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		int err = 0;
		socklen_t el = sizeof(err);

		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
			err = errno;
		if (err != 0) {
			sess_error(s, strerror(err));
			return;
		}
		s->st = S_GREET;
		s->t_stage = now_ns();
		watch(s, false);
	}
	if ((ev & EPOLLOUT) && s->outlen > 0 && !send_out(s))
		return;
	if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP))
		on_input(s);
}

static void
serve_events(int timeout_ms)
{
	struct epoll_event evs[256];
	int n, i;

	n = epoll_wait(ep, evs, 256, timeout_ms);
	if (n < 0) {
		if (errno == EINTR)
			return;
		die("epoll_wait: %s", strerror(errno));
	}
	for (i = 0; i < n; i++)
		on_event(evs[i].data.ptr, evs[i].events);
}

/* check_timeouts - a session that waits 30 s for a reply is an error. */
static void
check_timeouts(void)
{
	uint64_t now = now_ns();
	unsigned int i;

	for (i = 0; i < nsess; i++) {
		struct sess *s = &sess[i];

		if (s->fd >= 0 && s->st != S_IDLE &&
		    now - s->t_stage > REPLY_TIMEOUT_NS)
			sess_error(s, "no reply within 30 s");
	}
}

static unsigned int
open_count(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < nsess; i++)
		if (sess[i].fd >= 0)
			n++;
	return n;
}

static double
cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void
on_signal(int sig)
{
	stop_signal = sig;
}

static void
raise_nofile(rlim_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur >= want)
		return;
	rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < want)
		die("RLIMIT_NOFILE: %llu file descriptors allowed, %llu needed "
		    "(ulimit -n)", (unsigned long long)rl.rlim_cur,
		    (unsigned long long)want);
}

/* ------------------------------------------------------------ --idle */

static int
run_idle(double hold)
{
	struct sigaction sa;
	uint64_t deadline;
	unsigned int i, started = 0;
	bool ready = false;
	unsigned long long held = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	deadline = now_ns() + (uint64_t)(hold * 1e9);
	while (!stop_signal && now_ns() < deadline) {
		unsigned int connecting = 0;

		for (i = 0; i < started; i++)
			if (sess[i].fd >= 0 && sess[i].st != S_IDLE)
				connecting++;
		while (started < nsess && connecting < IDLE_CONNECTING) {
			sess_open(&sess[started++]);
			connecting++;
		}
		if (!ready && idle_ready == nsess) {
			printf("READY %u\n", nsess);
			fflush(stdout);
			ready = true;
		}
		if (!ready && started == nsess && connecting == 0) {
			/* some failed while connecting: nothing to wait for */
			printf("FAILED %llu of %u\n", idle_ready, nsess);
			fflush(stdout);
			ready = true;
		}
		serve_events(100);
		check_timeouts();
	}
	for (i = 0; i < nsess; i++)
		if (sess[i].fd >= 0 && sess[i].st == S_IDLE)
			held++;
	printf("idle %u: held %llu, closed %llu, errors %llu%s%s\n", nsess, held,
	       idle_closed, n_err_all + n_fail_all,
	       first_err[0] ? "  first error: " : "", first_err);
	printf("JSON {\"bench\":\"smtp-load\",\"idle\":%u,\"held\":%llu,"
	       "\"closed\":%llu,\"errors\":%llu,\"client_cpu_s\":%.3f}\n", nsess,
	       held, idle_closed, n_err_all + n_fail_all, cpu_seconds());
	fflush(stdout);
	for (i = 0; i < nsess; i++)
		sess_close(&sess[i]);
	return held == nsess ? 0 : 1;
}

/* ------------------------------------------------------------ main */

static void
usage(void)
{
	fputs("usage: smtp-load [--warmup S] [--size N] [--helo NAME] "
	      "[--from ADDR] [--to ADDR]\n"
	      "                 [--auth-code N] HOST:PORT SESSIONS SECONDS USERFILE\n"
	      "       smtp-load --idle N [--hold S] HOST:PORT\n", stderr);
	exit(2);
}

int
main(int argc, char **argv)
{
	double seconds = 0, warmup = 1.0, hold = 600, window_s, mean = 0, mps;
	double cpu_s, wall_s;
	uint64_t total = 0, t_start, t_end, t_done;
	size_t size = 2048, k;
	const char *args[4];
	int nargs = 0, a;
	unsigned int i, abandoned;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--warmup") == 0 && a + 1 < argc)
			warmup = num(argv[++a], "--warmup", 0, 3600);
		else if (strcmp(argv[a], "--size") == 0 && a + 1 < argc)
			size = (size_t)num(argv[++a], "--size", 64, 1e8);
		else if (strcmp(argv[a], "--helo") == 0 && a + 1 < argc)
			helo = argv[++a];
		else if (strcmp(argv[a], "--from") == 0 && a + 1 < argc)
			mail_from = argv[++a];
		else if (strcmp(argv[a], "--to") == 0 && a + 1 < argc)
			rcpt_to = argv[++a];
		else if (strcmp(argv[a], "--auth-code") == 0 && a + 1 < argc)
			auth_code = (int)num(argv[++a], "--auth-code", 200, 599);
		else if (strcmp(argv[a], "--idle") == 0 && a + 1 < argc) {
			idle_mode = true;
			nsess = (unsigned int)num(argv[++a], "--idle", 1, MAX_IDLE);
		} else if (strcmp(argv[a], "--hold") == 0 && a + 1 < argc)
			hold = num(argv[++a], "--hold", 0.001, 86400);
		else if (argv[a][0] == '-' && argv[a][1] == '-')
			usage();
		else if (nargs < 4)
			args[nargs++] = argv[a];
		else
			usage();
	}
	if (nargs != (idle_mode ? 1 : 4))
		usage();
	parse_addr(args[0]);
	signal(SIGPIPE, SIG_IGN);
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll_create1: %s", strerror(errno));
	if (idle_mode) {
		raise_nofile((rlim_t)nsess + 64);
		sess = calloc(nsess, sizeof(*sess));
		if (sess == NULL)
			die("out of memory");
		for (i = 0; i < nsess; i++)
			sess[i].fd = -1;
		return run_idle(hold);
	}
	nsess = (unsigned int)num(args[1], "SESSIONS", 1, MAX_SESSIONS);
	seconds = num(args[2], "SECONDS", 0.001, 86400);
	load_users(args[3]);
	build_message(size);
	raise_nofile((rlim_t)nsess + 64);
	sess = calloc(nsess, sizeof(*sess));
	if (sess == NULL)
		die("out of memory");

	t_start = now_ns();
	win_start = t_start + (uint64_t)(warmup * 1e9);
	win_end = win_start + (uint64_t)(seconds * 1e9);
	for (i = 0; i < nsess; i++)
		sess_open(&sess[i]);
	for (;;) {
		uint64_t now = now_ns();

		if (now >= win_end)
			break;
		serve_events((int)((win_end - now) / 1000000 > 100 ? 100 :
				   (win_end - now) / 1000000 + 1));
		check_timeouts();
	}
	t_end = now_ns();
	/* The drain: finish the open sessions, start no new one. */
	running = false;
	while (open_count() > 0 && now_ns() - t_end < DRAIN_NS) {
		serve_events(100);
		check_timeouts();
	}
	abandoned = open_count();
	for (i = 0; i < nsess; i++)
		sess_close(&sess[i]);
	t_done = now_ns();
	cpu_s = cpu_seconds();
	wall_s = (double)(t_done - t_start) / 1e9;
	window_s = (double)(win_end - win_start) / 1e9;

	qsort(lat, nlat, sizeof(*lat), cmp_u64);
	for (k = 0; k < nlat; k++)
		total += lat[k];
	if (nlat > 0)
		mean = (double)total / (double)nlat / 1000.0;
	mps = (double)n_ok / window_s;

	printf("%u sessions, %.1f s: %.1f msg/s (ok %llu, fail %llu, errors "
	       "%llu)  latency mean=%.0fus p50=%.0fus p90=%.0fus p99=%.0fus "
	       "p99.9=%.0fus max=%.0fus  client cpu %.2f s (%.0f%% of a core, "
	       "%.1f us/msg)%s%s%s%s\n",
	       nsess, window_s, mps, n_ok, n_fail, n_err, mean,
	       pct(lat, nlat, 50), pct(lat, nlat, 90), pct(lat, nlat, 99),
	       pct(lat, nlat, 99.9),
	       nlat ? (double)lat[nlat - 1] / 1000.0 : 0.0, cpu_s,
	       100.0 * cpu_s / wall_s,
	       n_ok_all ? cpu_s * 1e6 / (double)n_ok_all : 0.0,
	       first_fail[0] ? "  first FAIL: " : "", first_fail,
	       first_err[0] ? "  first error: " : "", first_err);
	printf("JSON {\"bench\":\"smtp-load\",\"sessions\":%u,\"size\":%zu,"
	       "\"users\":%zu,\"seconds\":%.3f,\"msgs\":%zu,\"ok\":%llu,"
	       "\"fail\":%llu,\"errors\":%llu,\"mps\":%.1f,\"mean_us\":%.2f,"
	       "\"p50_us\":%.2f,\"p90_us\":%.2f,\"p99_us\":%.2f,"
	       "\"p999_us\":%.2f,\"max_us\":%.2f,\"msgs_all\":%llu,"
	       "\"fail_all\":%llu,\"errors_all\":%llu,\"wall_s\":%.3f,"
	       "\"client_cpu_s\":%.3f,\"client_us_per_msg\":%.2f,"
	       "\"abandoned\":%u}\n",
	       nsess, size, nusers, window_s, nlat, n_ok, n_fail, n_err, mps,
	       mean, pct(lat, nlat, 50), pct(lat, nlat, 90), pct(lat, nlat, 99),
	       pct(lat, nlat, 99.9),
	       nlat ? (double)lat[nlat - 1] / 1000.0 : 0.0, n_ok_all,
	       n_fail_all, n_err_all, wall_s, cpu_s,
	       n_ok_all ? cpu_s * 1e6 / (double)n_ok_all : 0.0, abandoned);
	return (n_fail_all == 0 && n_err_all == 0 && n_ok > 0 && abandoned == 0)
	       ? 0 : 1;
}
