/*
 * mux-echo - the ceiling for the mux benchmark: the cheapest possible
 * server of the saslauthd protocol on this machine.
 *
 * usage: mux-echo SOCKET
 *
 * One thread, one epoll set, non-blocking sockets.  It accepts, reads
 * until it holds the four fields (login, password, service, realm: each a
 * 2-byte big-endian length and the bytes), answers "OK" (00 02 'O' 'K')
 * without looking at them, and closes: the same connect / request / reply
 * / close pattern as authd's mux socket, with no work in between.  A
 * request over 4 KiB gets "NO" (never happens in the benchmark).
 *
 * Runs until SIGTERM or SIGINT, then removes SOCKET and prints the number
 * of requests answered on stderr.  Exit 0, or 1 if it could not start.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define REQ_MAX		4096

struct conn {
	int fd;
	size_t len;
	unsigned char buf[REQ_MAX];
};

static struct conn **conns;		/* indexed by fd */
static size_t nconns;
static unsigned long long served;

static void
fail(const char *what)
{
	fprintf(stderr, "mux-echo: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* complete - whether buf holds four whole fields; -1 if it cannot fit. */
static int
complete(const unsigned char *buf, size_t len)
{
	size_t off = 0;
	int f;

	for (f = 0; f < 4; f++) {
		size_t n;

		if (len - off < 2)
			return 0;
		n = (size_t)buf[off] << 8 | buf[off + 1];
		if (off + 2 + n > REQ_MAX)
			return -1;
		off += 2 + n;
		if (off > len)
			return 0;
	}
	return 1;
}

static void
conn_close(int ep, struct conn *c)
{
	(void)epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	conns[c->fd] = NULL;
	free(c);
}

static void
conn_read(int ep, struct conn *c)
{
	static const unsigned char ok[4] = { 0, 2, 'O', 'K' };
	static const unsigned char no[4] = { 0, 2, 'N', 'O' };

	for (;;) {
		ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		int r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {		/* EOF or error before a whole request */
			conn_close(ep, c);
			return;
		}
		c->len += (size_t)n;
		r = complete(c->buf, c->len);
		if (r == 0 && c->len < sizeof(c->buf))
			continue;
		/* Four bytes on a fresh socket: one write always does. */
		(void)!write(c->fd, r == 1 ? ok : no, 4);
		served++;
		conn_close(ep, c);
		return;
	}
}

static void
accept_all(int ep, int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = { .events = EPOLLIN };
		struct conn *c;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;		/* EAGAIN, or EMFILE: retried later */
		}
		if ((size_t)fd >= nconns) {
			size_t n = (size_t)fd * 2 + 64;
			struct conn **p = realloc(conns, n * sizeof(*p));

			if (p == NULL) {
				close(fd);
				continue;
			}
			memset(p + nconns, 0, (n - nconns) * sizeof(*p));
			conns = p;
			nconns = n;
		}
		if ((c = malloc(sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->len = 0;
		conns[fd] = c;
		ev.data.fd = fd;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			conns[fd] = NULL;
			free(c);
			close(fd);
			continue;
		}
	}
}

int
main(int argc, char **argv)
{
	struct sockaddr_un sun;
	struct epoll_event ev, evs[256];
	sigset_t set;
	int lfd, ep, sfd, i, n;
	const char *path;

	if (argc != 2) {
		fputs("usage: mux-echo SOCKET\n", stderr);
		return 2;
	}
	path = argv[1];
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fputs("mux-echo: socket path too long\n", stderr);
		return 2;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		fail("signalfd");

	(void)unlink(path);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		fail("socket");
	if (bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		fail(path);
	if (listen(lfd, 1024) < 0)
		fail("listen");
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		fail("epoll_create1");
	ev.events = EPOLLIN;
	ev.data.fd = lfd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
		fail("epoll_ctl");
	ev.data.fd = sfd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev) < 0)
		fail("epoll_ctl");

	for (;;) {
		n = epoll_wait(ep, evs, 256, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fail("epoll_wait");
		}
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == lfd)
				accept_all(ep, lfd);
			else if (fd == sfd)
				goto out;
			else if ((size_t)fd < nconns && conns[fd] != NULL)
				conn_read(ep, conns[fd]);
		}
	}
out:
	(void)unlink(path);
	fprintf(stderr, "mux-echo: %llu requests answered\n", served);
	return 0;
}
