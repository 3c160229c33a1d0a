/*
 * mux_check - authd_mux_check(): one request on the saslauthd ("mux")
 * socket, encoded and parsed by the daemon's own codec (proto/mux.h).
 *
 * Untrusted input: the reply bytes (bounded by MUX_REPLY_MAX + 2).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "authd.h"
#include "mux.h"
#include "util.h"

/* send_all - write the whole request before the deadline, without
 * SIGPIPE if the server has closed. */
static int
send_all(int fd, const char *p, size_t n, int64_t deadline, char *err)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			int r = util_wait(fd, POLLOUT, deadline);

			if (r == 0)
				return util_errf(err, AUTHD_ERR_TIMEOUT,
						 "request not sent in time");
			if (r < 0)
				return util_errf(err, AUTHD_ERR_SYSTEM,
						 "poll: %s", util_strerror(errno));
			continue;
		}
		if (w < 0) {
			if (errno == EPIPE || errno == ECONNRESET)
				return util_errf(err, AUTHD_ERR_CLOSED,
						 "connection closed without "
						 "a reply");
			return util_errf(err, AUTHD_ERR_SYSTEM, "write: %s",
					 util_strerror(errno));
		}
		p += w;
		n -= (size_t)w;
	}
	return AUTHD_OK;
}

/* read_reply - the whole reply into reply[], its text in *text_r. */
static int
read_reply(int fd, unsigned char *reply, size_t cap, int64_t deadline,
	   const unsigned char **text_r, size_t *text_len_r, char *err)
{
	size_t got = 0;

	for (;;) {
		ssize_t n;
		int r;

		r = util_wait(fd, POLLIN, deadline);
		if (r == 0)
			return util_errf(err, AUTHD_ERR_TIMEOUT, "no reply within "
					 "the time limit");
		if (r < 0)
			return util_errf(err, AUTHD_ERR_SYSTEM, "poll: %s",
					 util_strerror(errno));
		n = read(fd, reply + got, cap - got);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0 && errno != ECONNRESET)
			return util_errf(err, AUTHD_ERR_SYSTEM, "read: %s",
					 util_strerror(errno));
		if (n <= 0)
			return util_errf(err, AUTHD_ERR_CLOSED, "connection "
					 "closed without a reply");
		got += (size_t)n;
		/* authd's temporary failure: a reply of length 0, which
		 * libsasl2 too takes for a server error (authd(8)). */
		if (got >= 2 && reply[0] == 0 && reply[1] == 0)
			return util_errf(err, AUTHD_TEMPFAIL, "temporary "
					 "failure (an empty reply)");
		r = mux_reply_parse(reply, got, text_r, text_len_r);
		if (r < 0)
			return util_errf(err, AUTHD_ERR_PROTOCOL,
					 "malformed reply (is this the mux "
					 "socket?)");
		if (r > 0)
			return AUTHD_OK;
		if (got == cap)	/* cannot happen: cap holds the largest */
			return util_errf(err, AUTHD_ERR_PROTOCOL,
					 "reply too long");
	}
}

int
authd_mux_check_addr(const char *socket_path, const char *user,
		     const char *password, const char *service,
		     const char *realm, const char *client_addr,
		     int timeout_ms, char *reason, size_t reason_len)
{
	const char *fields[5] = { user, password, service, realm, client_addr };
	size_t lens[5];
	unsigned char reply[MUX_REPLY_MAX + 2];
	const unsigned char *text = NULL;
	size_t text_len = 0, i;
	char err[UTIL_ERR_MAX] = "";
	int64_t deadline = util_deadline(timeout_ms);
	struct buf req = BUF_INIT;
	int fd = -1, rc, nfields = client_addr != NULL ? 5 : 4;

	if (socket_path == NULL || user == NULL || password == NULL) {
		rc = util_errf(err, AUTHD_ERR_INVALID, "socket path, user and "
			       "password are required");
		goto out;
	}
	for (i = 0; i < (size_t)nfields; i++)
		if (fields[i] != NULL && strlen(fields[i]) > 0xffff) {
			rc = util_errf(err, AUTHD_ERR_INVALID, "a field is "
				       "longer than 65535 bytes");
			goto out;
		}
	for (i = 0; i < (size_t)nfields; i++) {
		if (fields[i] == NULL)
			fields[i] = "";
		lens[i] = strlen(fields[i]);
	}
	mux_request_encode(&req, fields, lens, nfields);
	if (!buf_ok(&req)) {
		rc = util_errf(err, AUTHD_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((fd = util_connect_unix(socket_path, deadline, err, &rc)) < 0)
		goto out;
	/* One request per connection: the whole request in one write, then
	 * the reply (the server shuts its side down after it). */
	if ((rc = send_all(fd, req.data, req.len, deadline, err)) != AUTHD_OK)
		goto out;
	buf_free(&req);
	rc = read_reply(fd, reply, sizeof(reply), deadline, &text, &text_len,
			err);
	if (rc != AUTHD_OK)
		goto out;
	/* Clients take any reply starting with "OK" as success. */
	rc = text_len >= 2 && memcmp(text, "OK", 2) == 0 ? AUTHD_OK : AUTHD_FAIL;
out:
	buf_free(&req);
	if (fd >= 0)
		close(fd);
	if (reason != NULL && reason_len > 0) {
		if (rc == AUTHD_OK || rc == AUTHD_FAIL) {
			size_t n = text_len < reason_len - 1 ? text_len :
				   reason_len - 1;

			for (i = 0; i < n; i++)
				reason[i] = text[i] != '\0' ? (char)text[i] : '?';
			reason[n] = '\0';
		} else {
			snprintf(reason, reason_len, "%s", err);
		}
	}
	return rc;
}

int
authd_mux_check(const char *socket_path, const char *user,
		const char *password, const char *service, const char *realm,
		int timeout_ms, char *reason, size_t reason_len)
{
	return authd_mux_check_addr(socket_path, user, password, service,
				    realm, NULL, timeout_ms, reason,
				    reason_len);
}
