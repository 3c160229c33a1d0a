/*
 * authdctl - the admin's front-end to authd's control socket: sends one
 * command (proto/control-protocol.txt), prints the reply's data lines on
 * stdout, an ERR reply on stderr.  See authdctl(8).
 *
 * The socket: -s PATH, or socket_dir/control_socket of the configuration
 * (-c FILE, default the one authd reads), so authdctl finds the socket
 * that authd made from the same file.
 *
 * Untrusted input: the command line (bounded here, parsed by authd) and
 * the daemon's reply (each line bounded; nothing but "OK"/"ERR" opens it
 * and only "." ends it).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "build_config.h"
#include "conf_keys.h"
#include "config.h"
#include "control.h"

/* Exit codes (authdctl(8), EXIT STATUS). */
#define EXIT_OK		0	/* the command succeeded */
#define EXIT_ERR	1	/* authd answered ERR */
#define EXIT_USAGE	2	/* bad command line or configuration */
#define EXIT_CONNECT	3	/* no answer: socket, I/O or reply broken */

/* A reply line longer than this is no reply of authd's. */
#define REPLY_LINE_MAX	4096
#define REPLY_TIMEOUT_S	30

static void
usage(FILE *f)
{
	fputs("usage: authdctl [-c config] [-s socket] command [argument]\n"
	      "  -c, --config FILE  find the socket through FILE (default "
	      AUTHD_CONFIG_PATH ")\n"
	      "  -s, --socket PATH  the control socket itself\n"
	      "  -V, --version      print the version\n"
	      "  -h, --help         print this help\n"
	      "commands:\n"
	      "  status                      one line: version, pid, uptime, ...\n"
	      "  stats                       counters, \"name value\" lines\n"
	      "  metrics | stats prometheus  the counters for Prometheus\n"
	      "  penalty list                the throttle's failure counts\n"
	      "  penalty flush ADDR|USER|all forget failure counts\n"
	      "  cache flush USER|all        forget cached logins\n", f);
}

/* socket_path - from the configuration; NULL after a message. */
static char *
socket_path(const char *config_path, int given)
{
	struct config *cfg = conf_keys_new();
	char *error = NULL, *path = NULL;
	const char *dir, *name;

	if (!config_load(cfg, config_path, !given, &error)) {
		fprintf(stderr, "authdctl: %s\n", error);
		free(error);
		goto done;
	}
	dir = config_str(cfg, "socket_dir");
	name = config_str(cfg, "control_socket");
	if (strcmp(name, "none") == 0) {
		fprintf(stderr, "authdctl: %s: control_socket = none: this "
			"authd has no control socket\n", config_path);
		goto done;
	}
	if (asprintf(&path, "%s/%s", dir, name) < 0)
		path = NULL;
done:
	config_free(cfg);
	return path;
}

static int
connect_to(const char *path)
{
	struct sockaddr_un sun;
	struct timeval tv = { REPLY_TIMEOUT_S, 0 };
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "authdctl: %s: path too long\n", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "authdctl: %s: %s%s\n", path, strerror(errno),
			errno == EACCES ? " (root or control_group only)" :
			errno == ENOENT || errno == ECONNREFUSED ?
			" (is authd running?)" : "");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/* exchange - send line, print the reply; an exit code. */
static int
exchange(int fd, const char *line, size_t len)
{
	FILE *in;
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = EXIT_CONNECT, first = 1;

	while (len > 0) {
		ssize_t w = write(fd, line, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			fprintf(stderr, "authdctl: write: %s\n", strerror(errno));
			close(fd);
			return EXIT_CONNECT;
		}
		line += w;
		len -= (size_t)w;
	}
	if ((in = fdopen(fd, "r")) == NULL) {
		close(fd);
		return EXIT_CONNECT;
	}
	while ((n = getline(&buf, &cap, in)) > 0) {
		if (n > REPLY_LINE_MAX || buf[n - 1] != '\n')
			break;
		buf[--n] = '\0';
		if (first) {
			first = 0;
			if (strcmp(buf, "OK") == 0) {
				rc = EXIT_OK;
			} else if (strncmp(buf, "ERR ", 4) == 0) {
				fprintf(stderr, "authdctl: %s\n", buf + 4);
				rc = EXIT_ERR;
			} else {
				break;
			}
			continue;
		}
		if (strcmp(buf, CONTROL_END) == 0) {
			fclose(in);
			free(buf);
			return rc;
		}
		/* A data line that begins with "." came with one more. */
		puts(buf[0] == '.' ? buf + 1 : buf);
	}
	fprintf(stderr, "authdctl: no complete reply from authd%s\n",
		ferror(in) ? " (timeout or read error)" : "");
	fclose(in);
	free(buf);
	return EXIT_CONNECT;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = AUTHD_CONFIG_PATH, *sock = NULL;
	char line[CONTROL_LINE_MAX + 1], *path;
	size_t len = 0;
	int c, i, fd, rc, given = 0;
	struct control_request req;
	const char *why;

	while ((c = getopt_long(argc, argv, "+c:s:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': config_path = optarg; given = 1; break;
		case 's': sock = optarg; break;
		case 'V': puts("authdctl " AUTHD_VERSION); return EXIT_OK;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind == argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (i = optind; i < argc; i++) {
		size_t n = strlen(argv[i]);

		if (len + n + 2 > sizeof(line)) {
			fprintf(stderr, "authdctl: command longer than %d "
				"bytes\n", CONTROL_LINE_MAX - 1);
			return EXIT_USAGE;
		}
		if (i > optind)
			line[len++] = ' ';
		memcpy(line + len, argv[i], n);
		len += n;
	}
	/* The daemon's parser, here first: a typo is a usage error that
	 * needs no daemon (and no socket permission) to report. */
	if ((why = control_parse(line, len, &req)) != NULL) {
		fprintf(stderr, "authdctl: %s\n", why);
		usage(stderr);
		return EXIT_USAGE;
	}
	line[len++] = '\n';
	if (sock != NULL)
		path = strdup(sock);
	else if ((path = socket_path(config_path, given)) == NULL)
		return EXIT_USAGE;
	if (path == NULL)
		return EXIT_USAGE;
	/* A daemon that refuses the peer closes at once: a write into that
	 * is EPIPE and exit 3, not death by SIGPIPE. */
	(void)signal(SIGPIPE, SIG_IGN);
	fd = connect_to(path);
	free(path);
	if (fd < 0)
		return EXIT_CONNECT;
	rc = exchange(fd, line, len);
	return rc;
}
