/*
 * authtest - check a user and password against authd from the command
 * line, like Cyrus testsaslauthd; for admins and for the test suite.
 *
 *   authtest mux -f SOCKET -u USER [-r REALM] [-s SERVICE] [-a ADDR] [-p PASS | -P]
 *
 * Prints the server's reply and exits 0 for OK, 1 for NO, 2 for usage or
 * connection errors.  -p puts the password in argv (visible in ps(1));
 * -P reads it from standard input instead.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "mux.h"
#include "secret.h"

#define TIMEOUT_MS	15000

static void
usage(void)
{
	fputs("usage: authtest mux [-f socket] -u user [-r realm] [-s service] "
	      "[-a client_addr] [-p password | -P]\n", stderr);
	exit(2);
}

static int
mux_check(const char *path, const char *fields[], int nfields)
{
	struct sockaddr_un sun;
	unsigned char reply[MUX_REPLY_MAX + 2];
	size_t lens[MUX_NFIELDS], got = 0;
	const unsigned char *text;
	size_t text_len;
	struct buf req;
	int fd, i, r;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "authtest: socket path too long\n");
		return 2;
	}
	memcpy(sun.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "authtest: %s: %s\n", path, strerror(errno));
		return 2;
	}
	for (i = 0; i < nfields; i++)
		lens[i] = strlen(fields[i]);
	buf_init(&req);
	mux_request_encode(&req, fields, lens, nfields);
	if (write(fd, req.data, req.len) != (ssize_t)req.len) {
		fprintf(stderr, "authtest: write: %s\n", strerror(errno));
		buf_free_secret(&req);
		return 2;
	}
	buf_free_secret(&req);
	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&pfd, 1, TIMEOUT_MS) != 1) {
			fprintf(stderr, "authtest: no reply within %d s\n",
				TIMEOUT_MS / 1000);
			return 2;
		}
		n = read(fd, reply + got, sizeof(reply) - got);
		if (n <= 0) {
			fprintf(stderr, "authtest: connection closed without a "
				"reply\n");
			return 2;
		}
		got += (size_t)n;
		r = mux_reply_parse(reply, got, &text, &text_len);
		if (r < 0) {
			fprintf(stderr, "authtest: malformed reply\n");
			return 2;
		}
		if (r > 0)
			break;
	}
	close(fd);
	printf("%.*s\n", (int)text_len, (const char *)text);
	return text_len >= 2 && memcmp(text, "OK", 2) == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	const char *sock = "/run/authd/mux", *user = NULL, *realm = "",
		   *service = "imap", *addr = NULL;
	char *pass = NULL, line[1100];
	int c, rc;

	if (argc < 2 || strcmp(argv[1], "mux") != 0)
		usage();
	optind = 2;
	while ((c = getopt(argc, argv, "f:u:r:s:a:p:P")) != -1) {
		switch (c) {
		case 'f': sock = optarg; break;
		case 'u': user = optarg; break;
		case 'r': realm = optarg; break;
		case 's': service = optarg; break;
		case 'a': addr = optarg; break;
		case 'p': pass = strdup(optarg); break;
		case 'P':
			if (fgets(line, sizeof(line), stdin) == NULL)
				usage();
			line[strcspn(line, "\r\n")] = '\0';
			pass = strdup(line);
			secret_wipe(line, sizeof(line));
			break;
		default: usage();
		}
	}
	if (user == NULL || pass == NULL || optind != argc)
		usage();
	{
		const char *fields[5] = { user, pass, service, realm, addr };

		rc = mux_check(sock, fields, addr != NULL ? 5 : 4);
	}
	secret_free_str(pass);
	return rc;
}
