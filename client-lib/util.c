/*
 * util - shared helpers of libauthd.  See util.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "authd.h"
#include "codec.h"
#include "secret.h"
#include "util.h"

int
util_errf(char *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(err, UTIL_ERR_MAX, fmt, ap) < 0)
		snprintf(err, UTIL_ERR_MAX, "%s", authd_strerror(code));
	va_end(ap);
	return code;
}

const char *
util_strerror(int errnum)
{
	const char *s = strerrordesc_np(errnum);

	return s != NULL ? s : "unknown error";
}

int64_t
util_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
util_deadline(int timeout_ms)
{
	return util_now_ms() +
	       (timeout_ms > 0 ? timeout_ms : AUTHD_DEFAULT_TIMEOUT_MS);
}

char *
util_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);

	if (p != NULL)
		memcpy(p, s, n);
	return p;
}

void
util_free_str(char *s)
{
	secret_free_str(s);
}

bool
util_random_nonce(char out[25])
{
	unsigned char raw[18];

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return false;
	codec_b64_encode(raw, sizeof(raw), out);
	secret_wipe(raw, sizeof(raw));
	return true;
}

int
util_wait(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd pfd = { fd, events, 0 };
		int64_t left = deadline - util_now_ms();
		int r;

		if (left < 0)
			left = 0;
		r = poll(&pfd, 1, left > 0x7fffffff ? 0x7fffffff : (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r;
		return 1;
	}
}

int
util_connect_unix(const char *path, int64_t deadline, char *err, int *code_r)
{
	struct sockaddr_un sun;
	size_t n = strlen(path);
	int fd, flags;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (n == 0 || n >= sizeof(sun.sun_path)) {
		*code_r = util_errf(err, AUTHD_ERR_INVALID, "%s: socket path "
				    "empty or longer than %zu bytes", path,
				    sizeof(sun.sun_path) - 1);
		return -1;
	}
	memcpy(sun.sun_path, path, n);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*code_r = util_errf(err, AUTHD_ERR_SYSTEM, "socket: %s",
				    util_strerror(errno));
		return -1;
	}
	/* A UNIX socket connects at once, or waits while the server's listen
	 * queue is full: a blocking connect() bounded by SO_SNDTIMEO (which
	 * Linux applies to it) waits no longer than the deadline. */
	for (;;) {
		int64_t left = deadline - util_now_ms();
		struct timeval tv;

		if (left <= 0) {
			/* No time to wait: try once without blocking. */
			flags = fcntl(fd, F_GETFL);
			if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
				goto sys;
		} else {
			tv.tv_sec = (time_t)(left / 1000);
			tv.tv_usec = (suseconds_t)(left % 1000) * 1000;
			if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv,
				       sizeof(tv)) < 0)
				goto sys;
		}
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			break;
		if (errno == EINTR && left > 0)
			continue;
		if (errno == EAGAIN || errno == EINPROGRESS) {
			*code_r = util_errf(err, AUTHD_ERR_TIMEOUT, "%s: the "
					    "server does not accept connections "
					    "(listen queue full)", path);
			close(fd);
			return -1;
		}
		*code_r = util_errf(err, AUTHD_ERR_SYSTEM, "%s: %s", path,
				    util_strerror(errno));
		close(fd);
		return -1;
	}
	{
		struct timeval zero = { 0, 0 };

		(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &zero,
				 sizeof(zero));
	}
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		goto sys;
	return fd;
sys:
	*code_r = util_errf(err, AUTHD_ERR_SYSTEM, "%s: %s", path,
			    util_strerror(errno));
	close(fd);
	return -1;
}
