/*
 * test_libauthd_conn - libauthd's protocol clients against a scripted
 * fake server (a child process on UNIX sockets in a temporary
 * directory): the auth-client protocol (handshake, mechanism list,
 * request encoding, challenges, OK/FAIL parameters, per-request errors
 * that leave the connection usable, timeouts and CANCEL, several requests
 * in flight answered out of order, the non-blocking API, a server that
 * hangs up) and the mux check (replies, five fields, timeout).
 *
 * The fake server logs every line it receives to a file, so the tests
 * can check what the library sent.  The mechanism name of an AUTH line
 * selects the server's behaviour (see serve_auth()).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "authd.h"
#include "codec.h"
#include "test.h"

enum kind { K_AUTH, K_BADVER, K_MUTE, K_MUX, K_NKINDS };
static const char *const sock_names[K_NKINDS] = { "auth", "badver", "mute",
						   "mux" };

static char dir[64], paths[K_NKINDS][128], log_path[128];
static pid_t server_pid;

/* --- the fake server (child) ------------------------------------------ */

struct client {
	int fd;
	enum kind kind;
	char in[32768];
	size_t len;
	char mech[16][16];	/* mechanism per id % 16 */
	long delayed;		/* a DELAY request to answer later, or 0 */
};

/* put - write, ignoring failures (the client may have gone). */
static void
put(int fd, const void *p, size_t n)
{
	ssize_t w = write(fd, p, n);

	(void)w;
}

static void say(int fd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
say(int fd, const char *fmt, ...)
{
	char buf[20000];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		put(fd, buf, (size_t)n < sizeof(buf) ? (size_t)n :
		    sizeof(buf) - 1);
}

static void
log_line(const char *line)
{
	FILE *f = fopen(log_path, "a");

	if (f != NULL) {
		fprintf(f, "%s\n", line);
		fclose(f);
	}
}

static const char *
field_after(char **f, int n, const char *name)
{
	size_t k = strlen(name);
	int i;

	for (i = 3; i < n; i++)
		if (strncmp(f[i], name, k) == 0 && f[i][k] == '=')
			return f[i] + k + 1;
	return NULL;
}

static void
answer_plain(struct client *c, const char *id, const unsigned char *m,
	     long len)
{
	if (len == 9 && memcmp(m, "\0tim\0good", 9) == 0)
		say(c->fd, "OK\t%s\tuser=tim@example.org\toriginal_user=tim\n",
		    id);
	else if (len == 9 && memcmp(m, "\0tim\0temp", 9) == 0)
		say(c->fd, "FAIL\t%s\tcode=temp_fail\treason=back-end down\n",
		    id);
	else
		say(c->fd, "FAIL\t%s\n", id);
}

/* serve_auth - one line of an auth connection.  AUTH mechanisms:
 * PLAIN (checks "tim"/"good", "temp" gives temp_fail), ECHO (challenges
 * echo the responses; "final" ends with OK and resp=), SILENT (never
 * answers), BADB64, NOUSER, BADESC, ESCAPE (malformed or escaped
 * replies), DELAY (answered after the next answered request), CLOSE
 * (hangs up), LONG (an endless line), CONTFAIL (a challenge, then FAIL). */
static void
serve_auth(struct client *c, char *line)
{
	char *f[64], *save = NULL, *t, copy[20000];
	unsigned char dec[16384];
	const char *resp;
	long id, dn;
	int n = 0;

	log_line(line);
	snprintf(copy, sizeof(copy), "%s", line);
	for (t = strtok_r(copy, "\t", &save); t != NULL && n < 64;
	     t = strtok_r(NULL, "\t", &save))
		f[n++] = t;
	/* An empty last field (an empty CONT) has no token. */
	if (n < 2)
		return;
	id = atol(f[1]);
	if (strcmp(f[0], "AUTH") == 0 && n >= 3) {
		snprintf(c->mech[id % 16], sizeof(c->mech[0]), "%s", f[2]);
		resp = field_after(f, n, "resp");
		if (strcmp(f[2], "PLAIN") == 0) {
			if (resp == NULL) {
				say(c->fd, "CONT\t%ld\t\n", id);
				return;
			}
			dn = codec_b64_decode(resp, strlen(resp), dec);
			answer_plain(c, f[1], dec, dn);
		} else if (strcmp(f[2], "ECHO") == 0) {
			say(c->fd, "CONT\t%ld\tY2hhbGxlbmdlLTE=\n", id);
		} else if (strcmp(f[2], "BADB64") == 0) {
			say(c->fd, "CONT\t%ld\t***\n", id);
		} else if (strcmp(f[2], "NOUSER") == 0) {
			say(c->fd, "OK\t%ld\n", id);
		} else if (strcmp(f[2], "BADESC") == 0) {
			say(c->fd, "OK\t%ld\tuser=a\001zb\n", id);
		} else if (strcmp(f[2], "ESCAPE") == 0) {
			say(c->fd, "OK\t%ld\tuser=a\001tb\001nc\001\061\tx-flag\t"
			    "x-empty=\n", id);
		} else if (strcmp(f[2], "DELAY") == 0) {
			c->delayed = id;
			return;
		} else if (strcmp(f[2], "CLOSE") == 0) {
			close(c->fd);
			c->fd = -1;
			return;
		} else if (strcmp(f[2], "LONG") == 0) {
			char big[17000];

			memset(big, 'x', sizeof(big) - 1);
			big[sizeof(big) - 1] = '\0';
			say(c->fd, "%s", big);
			return;
		} else if (strcmp(f[2], "CONTFAIL") == 0) {
			say(c->fd, "CONT\t%ld\t\nFAIL\t%ld\treason=timeout\n", id,
			    id);
		} else if (strcmp(f[2], "SILENT") != 0) {
			say(c->fd, "FAIL\t%ld\treason=Unsupported mechanism\n",
			    id);
		}
	} else if (strcmp(f[0], "CONT") == 0) {
		const char *data = n >= 3 ? f[2] : "";

		dn = codec_b64_decode(data, strlen(data), dec);
		if (strcmp(c->mech[id % 16], "PLAIN") == 0) {
			answer_plain(c, f[1], dec, dn);
		} else if (dn == 5 && memcmp(dec, "final", 5) == 0) {
			say(c->fd, "OK\t%ld\tuser=echo\tresp=dj14eXo=\n", id);
		} else {
			say(c->fd, "CONT\t%ld\t%s\n", id, data);
		}
	} else {
		return;		/* VERSION, CPID, CANCEL: logged only */
	}
	if (c->delayed != 0) {
		say(c->fd, "OK\t%ld\tuser=late\n", c->delayed);
		c->delayed = 0;
	}
}

/* serve_mux - a complete mux request in c->in?  Then the reply. */
static void
serve_mux(struct client *c)
{
	const unsigned char *p = (const unsigned char *)c->in;
	char fields[5][300], line[1600];
	size_t pos = 0, k;
	int i;

	/* Like authd, hang up on a field too long (an auth client's
	 * "VERSION..." reads as a length of 22085). */
	if (c->len >= 2 && ((size_t)p[0] << 8 | p[1]) > 1024) {
		close(c->fd);
		c->fd = -1;
		return;
	}
	for (i = 0; i < 5; i++) {
		if (c->len - pos < 2)
			break;
		k = (size_t)p[pos] << 8 | p[pos + 1];
		if (c->len - pos - 2 < k || k >= sizeof(fields[0]))
			break;
		memcpy(fields[i], p + pos + 2, k);
		fields[i][k] = '\0';
		pos += 2 + k;
	}
	if (i < 4 || (i == 4 && strcmp(fields[0], "five") == 0))
		return;
	snprintf(line, sizeof(line), "MUX %d %s %s %s %s%s%s", i, fields[0],
		 fields[1], fields[2], fields[3], i == 5 ? " " : "",
		 i == 5 ? fields[4] : "");
	log_line(line);
	c->len = 0;
	if (strcmp(fields[0], "mute") == 0)
		return;
	if (strcmp(fields[0], "nul") == 0)
		put(c->fd, "\0\004NO\0x", 6);
	else if (strcmp(fields[0], "busy") == 0)
		put(c->fd, "\0\0", 2);	/* authd's temporary failure */
	else if (strcmp(fields[1], "good") == 0)
		put(c->fd, "\0\002OK", 4);
	else
		put(c->fd, "\0\017NO bad password", 17);
}

static void
server_loop(int listeners[K_NKINDS])
{
	static struct client clients[32];
	struct pollfd pfd[K_NKINDS + 32];
	int i, k;

	alarm(120);	/* never outlive a crashed parent for long */
	for (i = 0; i < 32; i++)
		clients[i].fd = -1;
	for (;;) {
		int n = 0;

		for (k = 0; k < K_NKINDS; k++)
			pfd[n++] = (struct pollfd){ listeners[k], POLLIN, 0 };
		for (i = 0; i < 32; i++)
			pfd[n++] = (struct pollfd){ clients[i].kind == K_MUTE ?
						    -1 : clients[i].fd, POLLIN,
						    0 };
		if (poll(pfd, (nfds_t)n, -1) < 0)
			continue;
		for (k = 0; k < K_NKINDS; k++) {
			int fd;

			if (!(pfd[k].revents & POLLIN) ||
			    (fd = accept(listeners[k], NULL, NULL)) < 0)
				continue;
			for (i = 0; i < 32 && clients[i].fd >= 0; i++)
				;
			if (i == 32) {
				close(fd);
				continue;
			}
			memset(&clients[i], 0, sizeof(clients[i]));
			clients[i].fd = fd;
			clients[i].kind = (enum kind)k;
			if (k == K_AUTH)
				say(fd, "VERSION\t1\t2\nMECH\tPLAIN\tplaintext\n"
				    "MECH\tSCRAM-SHA-256\tmutual-auth\n"
				    "MECH\tDIGEST-MD5\tdictionary\tactive\t"
				    "mutual-auth\tx-unknown-flag\n"
				    "SPID\t1\nCUID\t1\nCOOKIE\t0123\nDONE\n");
			else if (k == K_BADVER)
				say(fd, "VERSION\t2\t0\nMECH\tPLAIN\nDONE\n");
		}
		for (i = 0; i < 32; i++) {
			struct client *c = &clients[i];
			ssize_t r;
			char *nl;

			if (!(pfd[K_NKINDS + i].revents & (POLLIN | POLLHUP)) ||
			    c->fd < 0)
				continue;
			r = read(c->fd, c->in + c->len, sizeof(c->in) - c->len - 1);
			if (r <= 0) {
				close(c->fd);
				c->fd = -1;
				continue;
			}
			c->len += (size_t)r;
			if (c->kind == K_MUX) {
				serve_mux(c);
				continue;
			}
			if (c->kind != K_AUTH)
				continue;
			while (c->fd >= 0 &&
			       (nl = memchr(c->in, '\n', c->len)) != NULL) {
				*nl = '\0';
				serve_auth(c, c->in);
				c->len -= (size_t)(nl + 1 - c->in);
				memmove(c->in, nl + 1, c->len);
			}
		}
	}
}

static void
start_server(void)
{
	int listeners[K_NKINDS], k;

	snprintf(dir, sizeof(dir), "/tmp/libauthd-test.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		exit(1);
	}
	snprintf(log_path, sizeof(log_path), "%s/log", dir);
	for (k = 0; k < K_NKINDS; k++) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };

		snprintf(paths[k], sizeof(paths[k]), "%s/%s", dir, sock_names[k]);
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", paths[k]);
		listeners[k] = socket(AF_UNIX, SOCK_STREAM, 0);
		if (listeners[k] < 0 ||
		    bind(listeners[k], (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
		    listen(listeners[k], 16) < 0) {
			printf("Bail out! %s: %s\n", paths[k], strerror(errno));
			exit(1);
		}
	}
	fflush(stdout);
	if ((server_pid = fork()) < 0) {
		printf("Bail out! fork: %s\n", strerror(errno));
		exit(1);
	}
	if (server_pid == 0) {
		server_loop(listeners);
		_exit(0);
	}
	for (k = 0; k < K_NKINDS; k++)
		close(listeners[k]);
}

static void
stop_server(void)
{
	int k;

	kill(server_pid, SIGTERM);
	waitpid(server_pid, NULL, 0);
	for (k = 0; k < K_NKINDS; k++)
		unlink(paths[k]);
	unlink(log_path);
	rmdir(dir);
}

/* logged - whether the server received a line containing s. */
static bool
logged(const char *s)
{
	char line[20000];
	FILE *f = fopen(log_path, "r");
	bool found = false;

	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, s) != NULL;
	fclose(f);
	return found;
}

/* --- the tests (parent) ----------------------------------------------- */

static struct authd_conn *
connected(void)
{
	struct authd_conn *c = authd_conn_new();

	if (c == NULL || authd_conn_connect(c, paths[K_AUTH], 2000) != AUTHD_OK) {
		printf("Bail out! connect: %s\n", c != NULL ?
		       authd_conn_error(c) : "no memory");
		stop_server();
		exit(1);
	}
	return c;
}

/* plain - a blocking PLAIN exchange with initial response. */
static int
plain(struct authd_conn *c, const char *pass, struct authd_session **s_r)
{
	char msg[64];
	size_t n = (size_t)snprintf(msg, sizeof(msg), "%ctim%c%s", 0, 0, pass);

	*s_r = authd_session_new(c, "PLAIN", "smtp");
	return authd_session_start(*s_r, msg, n, 2000);
}

static void
test_handshake(void)
{
	struct authd_conn *c = connected();
	unsigned int flags = 0;
	const char *name;

	CHECK(authd_conn_ready(c) && authd_conn_fd(c) >= 0,
	      "connected; handshake complete");
	CHECK(authd_conn_mech_count(c) == 3, "three mechanisms announced");
	name = authd_conn_mech(c, 2, &flags);
	CHECK(name != NULL && strcmp(name, "DIGEST-MD5") == 0 &&
	      flags == (AUTHD_MECH_DICTIONARY | AUTHD_MECH_ACTIVE |
			AUTHD_MECH_MUTUAL_AUTH),
	      "the third is DIGEST-MD5 with its flags (unknown flag ignored)");
	CHECK(authd_conn_mech(c, 3, NULL) == NULL, "no fourth mechanism");
	CHECK(authd_conn_has_mech(c, "scram-sha-256", &flags) &&
	      flags == AUTHD_MECH_MUTUAL_AUTH,
	      "has_mech is case-insensitive and gives the flags");
	CHECK(!authd_conn_has_mech(c, "LOGIN", NULL), "LOGIN not announced");
	CHECK(authd_conn_connect(c, paths[K_AUTH], 100) == AUTHD_ERR_INVALID,
	      "a handle connects once");
	authd_conn_free(c);

	c = authd_conn_new();
	CHECK(authd_conn_connect(c, paths[K_BADVER], 1000) == AUTHD_ERR_PROTOCOL,
	      "a server speaking version 2 is refused (%s)",
	      authd_conn_error(c));
	CHECK(authd_conn_fd(c) == -1 && !authd_conn_ready(c),
	      "... and the connection is closed");
	authd_conn_free(c);

	c = authd_conn_new();
	CHECK(authd_conn_connect(c, paths[K_MUTE], 200) == AUTHD_ERR_TIMEOUT,
	      "a server that never sends its handshake: timeout (%s)",
	      authd_conn_error(c));
	authd_conn_free(c);

	c = authd_conn_new();
	CHECK(authd_conn_connect(c, paths[K_MUX], 1000) == AUTHD_ERR_CLOSED,
	      "the mux socket is not an auth socket (%s)", authd_conn_error(c));
	authd_conn_free(c);

	c = authd_conn_new();
	CHECK(authd_conn_connect(c, "/nonexistent/auth", 1000) ==
	      AUTHD_ERR_SYSTEM && strstr(authd_conn_error(c),
					 "No such file") != NULL,
	      "a missing socket: system error with the reason (%s)",
	      authd_conn_error(c));
	authd_conn_free(c);
	authd_conn_free(NULL);
}

static void
test_blocking(void)
{
	struct authd_conn *c = connected();
	struct authd_session *s;
	const unsigned char *ch;
	size_t n;
	char exp[256];

	CHECK(plain(c, "good", &s) == AUTHD_OK, "PLAIN good: OK");
	CHECK(strcmp(authd_session_user(s), "tim@example.org") == 0 &&
	      strcmp(authd_session_param(s, "original_user"), "tim") == 0,
	      "user= and original_user=");
	CHECK(authd_session_id(s) == 1 && authd_session_fail_code(s) == NULL,
	      "the first request has id 1; no fail code on OK");
	CHECK(logged("AUTH\t1\tPLAIN\tservice=smtp\tresp=AHRpbQBnb29k"),
	      "AUTH line: id, mechanism, service=, resp= last");
	CHECK(logged("VERSION\t1\t0") && logged("CPID\t"),
	      "the client sent VERSION 1 0 and CPID before");
	authd_session_free(s);

	CHECK(plain(c, "temp", &s) == AUTHD_TEMPFAIL, "code=temp_fail: TEMPFAIL");
	CHECK(strcmp(authd_session_fail_code(s), "temp_fail") == 0 &&
	      strcmp(authd_session_fail_reason(s), "back-end down") == 0,
	      "fail code and reason");
	authd_session_free(s);
	CHECK(plain(c, "bad", &s) == AUTHD_FAIL &&
	      authd_session_fail_code(s) == NULL &&
	      authd_session_fail_reason(s) == NULL &&
	      authd_session_user(s) == NULL,
	      "a wrong password: FAIL without code or reason");
	authd_session_free(s);

	/* No initial response vs an empty one. */
	s = authd_session_new(c, "PLAIN", "smtp");
	CHECK(authd_session_start(s, NULL, 0, 2000) == AUTHD_CONTINUE,
	      "PLAIN without initial response: a challenge");
	ch = authd_session_challenge(s, &n);
	CHECK(ch != NULL && n == 0, "... an empty one");
	snprintf(exp, sizeof(exp), "AUTH\t%lu\tPLAIN\tservice=smtp",
		 authd_session_id(s));
	CHECK(logged(exp) && !logged("resp=\n"), "no resp= sent for none");
	CHECK(authd_session_step(s, "\0tim\0good", 9, 2000) == AUTHD_OK,
	      "the step answers it: OK");
	CHECK(authd_session_challenge(s, &n) == NULL, "no challenge when done");
	authd_session_free(s);
	s = authd_session_new(c, "PLAIN", "smtp");
	CHECK(authd_session_start(s, "", 0, 2000) == AUTHD_FAIL,
	      "an empty initial response");
	snprintf(exp, sizeof(exp), "AUTH\t%lu\tPLAIN\tservice=smtp\tresp==\n",
		 authd_session_id(s));
	CHECK(logged(exp), "... is sent as resp== (a bare resp= means none "
	      "to a protocol 1.0 server)");
	authd_session_free(s);

	/* Parameters, flags and escaping. */
	s = authd_session_new(c, "PLAIN", "sm\ttp\001");
	authd_session_set_addr(s, "192.0.2.1", 25, "2001:db8::7", 40000);
	authd_session_set_flags(s, AUTHD_SESSION_SECURED |
				AUTHD_SESSION_VALID_CLIENT_CERT |
				AUTHD_SESSION_NO_PENALTY |
				AUTHD_SESSION_FINAL_RESP_OK);
	CHECK(authd_session_start(s, "\0tim\0good", 9, 2000) == AUTHD_OK,
	      "a request with every parameter");
	snprintf(exp, sizeof(exp), "AUTH\t%lu\tPLAIN\tservice=sm\001ttp\0011\t"
		 "lip=192.0.2.1\trip=2001:db8::7\tlport=25\trport=40000\tsecured\t"
		 "valid-client-cert\tno-penalty\tfinal-resp-ok\tresp=",
		 authd_session_id(s));
	CHECK(logged(exp), "service escaped, addresses, ports and flags sent");
	CHECK(authd_session_set_flags(s, 0) == AUTHD_ERR_INVALID &&
	      authd_session_set_addr(s, NULL, 0, NULL, 0) == AUTHD_ERR_INVALID,
	      "no parameters after the start");
	CHECK(authd_session_start(s, NULL, 0, 100) == AUTHD_ERR_INVALID,
	      "no second start");
	authd_session_free(s);
	CHECK(authd_session_new(c, "PL AIN", "smtp") == NULL &&
	      authd_session_new(c, "PLAIN", "") == NULL &&
	      authd_session_new(c, "ABCDEFGHIJKLMNOPQRSTU", "smtp") == NULL,
	      "invalid mechanism names and an empty service are refused");

	/* A multi-step exchange with final data in the OK. */
	s = authd_session_new(c, "ECHO", "imap");
	CHECK(authd_session_start(s, "x", 1, 2000) == AUTHD_CONTINUE,
	      "ECHO: first challenge");
	ch = authd_session_challenge(s, &n);
	CHECK(ch != NULL && n == 11 && memcmp(ch, "challenge-1", 11) == 0 &&
	      ch[n] == '\0', "challenge decoded, NUL-terminated");
	CHECK(authd_session_step(s, "abc", 3, 2000) == AUTHD_CONTINUE &&
	      (ch = authd_session_challenge(s, &n)) != NULL && n == 3 &&
	      memcmp(ch, "abc", 3) == 0, "second challenge");
	CHECK(authd_session_step(s, "", 0, 2000) == AUTHD_CONTINUE &&
	      authd_session_challenge(s, &n) != NULL && n == 0,
	      "an empty response and an empty challenge");
	CHECK(authd_session_step(s, "final", 5, 2000) == AUTHD_OK,
	      "ECHO: OK");
	ch = authd_session_final_data(s, &n);
	CHECK(ch != NULL && n == 5 && memcmp(ch, "v=xyz", 5) == 0,
	      "final data from resp= decoded");
	CHECK(authd_session_step(s, "x", 1, 100) == AUTHD_ERR_INVALID,
	      "no step after the end");
	authd_session_free(s);

	s = authd_session_new(c, "ESCAPE", "imap");
	CHECK(authd_session_start(s, NULL, 0, 2000) == AUTHD_OK &&
	      strcmp(authd_session_user(s), "a\tb\nc\001") == 0,
	      "values are unescaped");
	CHECK(authd_session_param(s, "x-flag") != NULL &&
	      authd_session_param(s, "x-flag")[0] == '\0' &&
	      authd_session_param(s, "x-empty") != NULL &&
	      authd_session_param(s, "x") == NULL &&
	      authd_session_param(s, "x-none") == NULL,
	      "bare words, empty values, absent names");
	authd_session_free(s);

	authd_conn_free(c);
}

static void
test_request_errors(void)
{
	struct authd_conn *c = connected();
	struct authd_session *s, *t;
	char exp[64];
	int64_t i;

	s = authd_session_new(c, "BADB64", "imap");
	CHECK(authd_session_start(s, NULL, 0, 2000) == AUTHD_ERR_PROTOCOL,
	      "a challenge that is not base64: protocol error (%s)",
	      authd_session_error(s));
	snprintf(exp, sizeof(exp), "CANCEL\t%lu", authd_session_id(s));
	authd_session_free(s);
	CHECK(plain(c, "good", &t) == AUTHD_OK, "... the connection still works");
	authd_session_free(t);
	CHECK(logged(exp), "... and the bad request was cancelled");

	s = authd_session_new(c, "NOUSER", "imap");
	CHECK(authd_session_start(s, NULL, 0, 2000) == AUTHD_ERR_PROTOCOL,
	      "an OK without user= is refused (%s)", authd_session_error(s));
	authd_session_free(s);
	s = authd_session_new(c, "BADESC", "imap");
	CHECK(authd_session_start(s, NULL, 0, 2000) == AUTHD_ERR_PROTOCOL,
	      "a bad escape in a value is refused");
	CHECK(strlen(authd_conn_error(c)) > 0,
	      "the message is on the connection too: %s", authd_conn_error(c));
	authd_session_free(s);

	s = authd_session_new(c, "SILENT", "imap");
	CHECK(authd_session_start(s, NULL, 0, 150) == AUTHD_ERR_TIMEOUT,
	      "no answer: timeout (%s)", authd_session_error(s));
	snprintf(exp, sizeof(exp), "CANCEL\t%lu", authd_session_id(s));
	CHECK(plain(c, "good", &t) == AUTHD_OK, "the connection still works");
	authd_session_free(t);
	CHECK(logged(exp), "the expired request was cancelled at the server");
	authd_session_free(s);

	/* A FAIL while a challenge waits (the server's own timeout). */
	s = authd_session_new(c, "CONTFAIL", "imap");
	authd_session_start(s, NULL, 0, 2000);
	for (i = 0; i < 100 && authd_session_status(s) != AUTHD_FAIL; i++) {
		struct pollfd p = { authd_conn_fd(c), POLLIN, 0 };

		poll(&p, 1, 10);
		authd_conn_process(c);
	}
	CHECK(authd_session_status(s) == AUTHD_FAIL &&
	      strcmp(authd_session_fail_reason(s), "timeout") == 0,
	      "a FAIL after a challenge ends the session");
	authd_session_free(s);

	/* Cancel and free while in progress. */
	s = authd_session_new(c, "ECHO", "imap");
	authd_session_start(s, NULL, 0, 2000);
	CHECK(authd_session_cancel(s) == AUTHD_OK &&
	      authd_session_status(s) == AUTHD_ERR_CANCELLED,
	      "cancel a session waiting for a step");
	CHECK(authd_session_cancel(s) == AUTHD_ERR_INVALID,
	      "no second cancel");
	CHECK(authd_session_step(s, "x", 1, 100) == AUTHD_ERR_INVALID,
	      "no step after cancel");
	snprintf(exp, sizeof(exp), "CANCEL\t%lu", authd_session_id(s));
	authd_session_free(s);
	s = authd_session_new(c, "ECHO", "imap");
	authd_session_start(s, NULL, 0, 2000);
	snprintf(exp + 32, sizeof(exp) - 32, "CANCEL\t%lu", authd_session_id(s));
	authd_session_free(s);
	CHECK(plain(c, "good", &t) == AUTHD_OK, "the connection still works");
	authd_session_free(t);
	CHECK(logged(exp) && logged(exp + 32),
	      "cancel and free both sent CANCEL");
	CHECK(authd_conn_next_result(c) == NULL,
	      "blocking results and cancels are not queued");
	authd_conn_free(c);

	/* An endless line breaks the connection. */
	c = connected();
	s = authd_session_new(c, "SILENT", "imap");
	authd_session_send_start(s, NULL, 0);
	t = authd_session_new(c, "LONG", "imap");
	CHECK(authd_session_start(t, NULL, 0, 2000) == AUTHD_ERR_PROTOCOL,
	      "a line over 16384 bytes: protocol error (%s)",
	      authd_conn_error(c));
	CHECK(authd_session_status(s) == AUTHD_ERR_PROTOCOL &&
	      authd_conn_next_result(c) == s,
	      "... which ends the other session too, reported once");
	CHECK(authd_conn_next_result(c) == NULL && authd_conn_fd(c) == -1,
	      "the connection is closed");
	CHECK(authd_conn_process(c) == AUTHD_ERR_PROTOCOL,
	      "process reports the error that broke it");
	authd_session_free(t);
	t = authd_session_new(c, "PLAIN", "imap");
	CHECK(authd_session_start(t, "\0tim\0good", 9, 100) ==
	      AUTHD_ERR_PROTOCOL, "a new session on it fails at once");
	authd_session_free(t);
	authd_conn_free(c);
	CHECK(authd_session_status(s) == AUTHD_ERR_PROTOCOL,
	      "a session outlives its connection");
	authd_session_free(s);

	/* The server hangs up. */
	c = connected();
	s = authd_session_new(c, "SILENT", "imap");
	authd_session_send_start(s, NULL, 0);
	t = authd_session_new(c, "CLOSE", "imap");
	CHECK(authd_session_start(t, NULL, 0, 2000) == AUTHD_ERR_CLOSED,
	      "the server closes: AUTHD_ERR_CLOSED (%s)", authd_conn_error(c));
	CHECK(authd_session_status(s) == AUTHD_ERR_CLOSED, "for every session");
	authd_session_free(t);
	authd_conn_free(c);
	authd_session_free(s);

	/* The connection freed under live sessions. */
	c = connected();
	s = authd_session_new(c, "ECHO", "imap");
	authd_session_start(s, NULL, 0, 2000);
	t = authd_session_new(c, "PLAIN", "imap");
	authd_conn_free(c);
	CHECK(authd_session_status(s) == AUTHD_ERR_CLOSED &&
	      authd_session_status(t) == AUTHD_ERR_CLOSED,
	      "freeing the connection ends its sessions");
	CHECK(authd_session_start(t, NULL, 0, 100) == AUTHD_ERR_INVALID,
	      "a detached session cannot start");
	authd_session_free(s);
	authd_session_free(t);
	authd_session_free(NULL);
}

/* drive - the event loop: until n results came or 3 s passed. */
static int
drive(struct authd_conn *c, struct authd_session **got, int n)
{
	int k = 0, rounds;

	for (rounds = 0; rounds < 300 && k < n; rounds++) {
		struct pollfd p = { authd_conn_fd(c), POLLIN, 0 };
		struct authd_session *s;
		int to = authd_conn_next_timeout(c);

		if (authd_conn_want_write(c))
			p.events |= POLLOUT;
		poll(&p, 1, to < 0 || to > 10 ? 10 : to);
		if (authd_conn_process(c) < 0)
			break;
		while (k < n && (s = authd_conn_next_result(c)) != NULL)
			got[k++] = s;
	}
	return k;
}

static void
test_nonblocking(void)
{
	struct authd_conn *c = authd_conn_new();
	struct authd_session *late, *good, *echo, *silent, *got[4];
	const unsigned char *ch;
	size_t n;
	int k;

	CHECK(authd_conn_process(c) == AUTHD_ERR_INVALID,
	      "process before connecting is refused");
	CHECK(authd_conn_connect_start(c, paths[K_AUTH]) == AUTHD_PENDING &&
	      !authd_conn_ready(c) && authd_conn_fd(c) >= 0,
	      "non-blocking connect: pending");
	CHECK(authd_conn_next_timeout(c) > 0, "the handshake has a deadline");
	/* Requests may be queued before the handshake is read. */
	late = authd_session_new(c, "DELAY", "smtp");
	good = authd_session_new(c, "PLAIN", "smtp");
	echo = authd_session_new(c, "ECHO", "smtp");
	CHECK(authd_session_send_start(late, NULL, 0) == AUTHD_PENDING &&
	      authd_session_send_start(good, "\0tim\0good", 9) == AUTHD_PENDING &&
	      authd_session_send_start(echo, NULL, 0) == AUTHD_PENDING,
	      "three requests in flight");
	CHECK(authd_session_status(late) == AUTHD_PENDING &&
	      authd_session_id(late) != authd_session_id(good) &&
	      authd_session_id(good) != authd_session_id(echo),
	      "pending, with distinct ids");
	k = drive(c, got, 3);
	CHECK(k == 3 && authd_conn_ready(c), "three results, handshake done");
	CHECK(k == 3 && got[0] == good && got[1] == late && got[2] == echo,
	      "in the server's order: the delayed one after the next answer");
	CHECK(authd_session_status(good) == AUTHD_OK &&
	      authd_session_status(late) == AUTHD_OK &&
	      strcmp(authd_session_user(late), "late") == 0 &&
	      authd_session_status(echo) == AUTHD_CONTINUE,
	      "each with its own result");
	CHECK(authd_conn_next_result(c) == NULL, "each reported once");
	CHECK(authd_session_send_step(echo, "final", 5) == AUTHD_PENDING &&
	      authd_session_status(echo) == AUTHD_PENDING,
	      "a non-blocking step");
	k = drive(c, got, 1);
	CHECK(k == 1 && got[0] == echo && authd_session_status(echo) == AUTHD_OK &&
	      (ch = authd_session_final_data(echo, &n)) != NULL && n == 5,
	      "the step's result");
	CHECK(!authd_conn_want_write(c), "nothing left to write");
	CHECK(authd_conn_next_timeout(c) == -1, "no deadline left");

	authd_conn_set_timeout(c, 100);
	silent = authd_session_new(c, "SILENT", "smtp");
	authd_session_set_data(silent, &k);
	authd_session_send_start(silent, NULL, 0);
	k = authd_conn_next_timeout(c);
	CHECK(k > 0 && k <= 100, "the request's deadline: %d ms", k);
	k = drive(c, got, 1);
	CHECK(k == 1 && got[0] == silent &&
	      authd_session_status(silent) == AUTHD_ERR_TIMEOUT &&
	      authd_session_data(silent) == &k,
	      "a non-blocking request expires, reported with its data");
	authd_session_free(late);
	authd_session_free(good);
	authd_session_free(echo);
	authd_session_free(silent);
	authd_conn_free(c);

	c = authd_conn_new();
	authd_conn_set_timeout(c, 100);
	authd_conn_connect_start(c, paths[K_MUTE]);
	k = drive(c, got, 1);
	CHECK(authd_conn_process(c) == AUTHD_ERR_TIMEOUT,
	      "a handshake that never comes: timeout in process()");
	authd_conn_free(c);
}

static void
test_mux(void)
{
	char reason[64];

	CHECK(authd_mux_check(paths[K_MUX], "tim", "good", "smtp", "example.org",
			      1000, reason, sizeof(reason)) == AUTHD_OK &&
	      strcmp(reason, "OK") == 0, "mux: OK");
	CHECK(logged("MUX 4 tim good smtp example.org"),
	      "mux: four fields sent");
	CHECK(authd_mux_check(paths[K_MUX], "tim", "bad", NULL, NULL, 1000,
			      reason, sizeof(reason)) == AUTHD_FAIL &&
	      strcmp(reason, "NO bad password") == 0,
	      "mux: NO with its reason");
	CHECK(logged("MUX 4 tim bad  "), "mux: NULL service and realm empty");
	CHECK(authd_mux_check(paths[K_MUX], "tim", "bad", NULL, NULL, 1000,
			      reason, 6) == AUTHD_FAIL &&
	      strcmp(reason, "NO ba") == 0, "mux: the reason is truncated");
	CHECK(authd_mux_check(paths[K_MUX], "tim", "good", "smtp", "", 1000,
			      NULL, 0) == AUTHD_OK, "mux: no reason buffer");
	CHECK(authd_mux_check_addr(paths[K_MUX], "five", "good", "smtp", "r",
				   "192.0.2.7;4242", 1000, reason,
				   sizeof(reason)) == AUTHD_OK &&
	      logged("MUX 5 five good smtp r 192.0.2.7;4242"),
	      "mux: five fields with the client address");
	CHECK(authd_mux_check(paths[K_MUX], "nul", "x", "", "", 1000, reason,
			      sizeof(reason)) == AUTHD_FAIL &&
	      strcmp(reason, "NO?x") == 0, "mux: a NUL in the reply shows as ?");
	CHECK(authd_mux_check(paths[K_MUX], "busy", "good", "", "", 1000,
			      reason, sizeof(reason)) == AUTHD_TEMPFAIL &&
	      strstr(reason, "temporary failure") != NULL,
	      "mux: an empty reply is a temporary failure (%s)", reason);
	CHECK(authd_mux_check(paths[K_MUX], "mute", "x", "", "", 200, reason,
			      sizeof(reason)) == AUTHD_ERR_TIMEOUT,
	      "mux: no reply: timeout (%s)", reason);
	CHECK(authd_mux_check(paths[K_AUTH], "tim", "good", "", "", 1000,
			      reason, sizeof(reason)) == AUTHD_ERR_PROTOCOL,
	      "mux against the auth socket: malformed reply (%s)", reason);
	CHECK(authd_mux_check("/nonexistent/mux", "tim", "good", "", "", 1000,
			      reason, sizeof(reason)) == AUTHD_ERR_SYSTEM &&
	      strstr(reason, "No such file") != NULL,
	      "mux: a missing socket (%s)", reason);
	CHECK(authd_mux_check(NULL, "tim", "good", "", "", 1000, reason,
			      sizeof(reason)) == AUTHD_ERR_INVALID,
	      "mux: no socket path");
}

int
main(void)
{
	/* The library must not need SIGPIPE ignored: leave it fatal. */
	signal(SIGPIPE, SIG_DFL);
	start_server();
	test_handshake();
	test_blocking();
	test_request_errors();
	test_nonblocking();
	test_mux();
	stop_server();
	return test_done();
}
