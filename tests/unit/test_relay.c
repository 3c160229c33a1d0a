/*
 * test_relay - smtpd/relay.c on a real loop against real next hops:
 * Postfix's smtp-sink (SMTP and LMTP, TCP and a UNIX socket; it dumps
 * each message, so the body is compared byte for byte after the wire's
 * dot-stuffing was undone), and tests/unit/relay_fake_hop.py for what
 * smtp-sink cannot do (STARTTLS with injected plaintext, SIZE, LMTP
 * with mixed per-recipient replies, silence, a bare LF).
 *
 * Usage: test_relay PYTHON FAKE_HOP_SCRIPT SMTP_SINK ("" when absent:
 * those checks are skipped).  Needs openssl(1) for a throw-away
 * certificate.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "relay.h"
#include "test.h"
#include "tls.h"

static struct loop *L;
static const char *python, *fake_hop, *sink;
static char dir[64];
static pid_t pids[64];
static size_t npids;

/* What done and drained saw. */
static struct smtp_reply replies[32];
static size_t nreplies, want_replies;
static unsigned int ndrained, want_drained;
static bool in_call, done_inside_call, timed_out;
static struct loop_timer guard;

static void
done_cb(void *arg, const struct smtp_reply *rep)
{
	(void)arg;
	if (in_call)
		done_inside_call = true;
	replies[nreplies++ % 32] = *rep;	/* the latest 32 */
	if (nreplies >= want_replies && ndrained >= want_drained)
		loop_stop(L);
}

static void
drained_cb(void *arg)
{
	(void)arg;
	ndrained++;
	if (nreplies >= want_replies && ndrained >= want_drained)
		loop_stop(L);
}

static void
guard_cb(struct loop_timer *t)
{
	(void)t;
	timed_out = true;
	loop_stop(L);
}

/* run - the loop until n more replies (and d more drained calls) came,
 * or 8 s passed; returns whether they came. */
static bool
run(size_t n, unsigned int d)
{
	want_replies = nreplies + n;
	want_drained = ndrained + d;
	if (nreplies >= want_replies && ndrained >= want_drained)
		return true;
	timed_out = false;
	loop_timer_set(L, &guard, 8000);
	loop_run(L);
	loop_timer_cancel(L, &guard);
	return !timed_out;
}

/* last - the i-th reply counted from the latest (0 = latest). */
static const struct smtp_reply *
last(size_t i)
{
	static struct smtp_reply none;

	if (nreplies <= i || i >= 32)
		return &none;
	return &replies[(nreplies - 1 - i) % 32];
}

static bool
reply_is(const struct smtp_reply *rep, unsigned int code, const char *prefix)
{
	bool ok = rep->code == code &&
		  strncmp(rep->text, prefix, strlen(prefix)) == 0;

	if (!ok)
		printf("#   reply: %u %s\n", rep->code, rep->text);
	return ok;
}

/* --- child processes --- */

/* spawn - start argv; with port_r, read the port it prints first. */
static pid_t
spawn(char *const argv[], int *port_r)
{
	int fds[2] = { -1, -1 };
	pid_t pid;

	if (port_r != NULL && pipe(fds) < 0)
		return -1;
	if ((pid = fork()) == 0) {
		if (port_r != NULL) {
			dup2(fds[1], 1);
			close(fds[0]);
			close(fds[1]);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid > 0 && npids == sizeof(pids) / sizeof(pids[0])) {
		kill(pid, SIGTERM);	/* never leave one running */
		waitpid(pid, NULL, 0);
		return -1;
	}
	if (pid > 0)
		pids[npids++] = pid;
	if (port_r != NULL) {
		char line[32];
		ssize_t n;
		size_t got = 0;

		close(fds[1]);
		while (got < sizeof(line) - 1 &&
		       (n = read(fds[0], line + got, sizeof(line) - 1 - got)) > 0) {
			got += (size_t)n;
			if (memchr(line, '\n', got) != NULL)
				break;
		}
		line[got] = '\0';
		close(fds[0]);
		*port_r = atoi(line);
	}
	return pid;
}

static void
reap_all(void)
{
	size_t i;

	for (i = 0; i < npids; i++) {
		kill(pids[i], SIGTERM);
		waitpid(pids[i], NULL, 0);
	}
	npids = 0;
}

/* free_port - a TCP port nothing listens on (now). */
static int
free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0)
		port = -1;
	else
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/* wait_listen - until something accepts on port (or path), 5 s. */
static bool
wait_listen(int port, const char *path)
{
	int i;

	for (i = 0; i < 100; i++) {
		struct sockaddr_in sin = { .sin_family = AF_INET };
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		int fd = socket(path ? AF_UNIX : AF_INET, SOCK_STREAM, 0), rc;

		if (path != NULL) {
			snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
			rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
		} else {
			sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			sin.sin_port = htons((uint16_t)port);
			rc = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
		}
		close(fd);
		if (rc == 0)
			return true;
		usleep(50000);
	}
	return false;
}

/* start_sink - smtp-sink with extra options on a fresh port; 0 if it
 * did not come up. */
static int
start_sink(const char *opt1, const char *opt2, const char *dump)
{
	char hostport[32];
	char *argv[16];
	int port = free_port(), n = 0;

	snprintf(hostport, sizeof(hostport), "127.0.0.1:%d", port);
	argv[n++] = (char *)sink;
	if (geteuid() == 0) {
		argv[n++] = (char *)"-u";
		argv[n++] = (char *)"nobody";
	}
	if (dump != NULL) {
		argv[n++] = (char *)"-d";
		argv[n++] = (char *)dump;
	}
	if (opt1 != NULL)
		argv[n++] = (char *)opt1;
	if (opt2 != NULL)
		argv[n++] = (char *)opt2;
	argv[n++] = hostport;
	argv[n++] = (char *)"10";
	argv[n] = NULL;
	if (spawn(argv, NULL) < 0 || !wait_listen(port, NULL))
		return 0;
	return port;
}

static int
start_fake(const char *mode)
{
	char cert[128], key[128];
	char *argv[] = { (char *)python, (char *)fake_hop, (char *)mode,
			 cert, key, NULL };
	int port = 0;

	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	if (spawn(argv, &port) < 0)
		return 0;
	return port;
}

/* --- relays --- */

static char names[16][64];
static size_t nnames;

static struct relay_conf
conf_tcp(int port)
{
	struct relay_conf c;
	struct sockaddr_in *sin = (struct sockaddr_in *)&c.addr;
	char *name = names[nnames++ % 16];

	memset(&c, 0, sizeof(c));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin->sin_port = htons((uint16_t)port);
	c.addr_len = sizeof(*sin);
	snprintf(name, 64, "[127.0.0.1]:%d", port);
	c.name = name;
	c.helo_name = "gate.test";
	c.connect_timeout_ms = 3000;
	c.cmd_timeout_ms = 3000;
	c.data_timeout_ms = 3000;
	return c;
}

static struct relay *
relay_of(const struct relay_conf *c)
{
	return relay_new(L, c, done_cb, drained_cb, NULL);
}

/* The call itself must never report: done runs later. */
#define CALL(x) do { in_call = true; x; in_call = false; } while (0)

/* --- smtp-sink's dumps --- */

/* dump_find - the dump file whose X-Mail-Args line is exactly args;
 * its text (allocated), or NULL.  smtp-sink writes as it reads: retry
 * briefly for the file to be complete. */
static char *
dump_find(const char *dumpdir, const char *args)
{
	char want[512];
	int tries;

	snprintf(want, sizeof(want), "\nX-Mail-Args: %s\n", args);
	for (tries = 0; tries < 20; tries++) {
		DIR *d = opendir(dumpdir);
		struct dirent *e;

		while (d != NULL && (e = readdir(d)) != NULL) {
			char path[512], *text;
			FILE *f;
			long n;

			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", dumpdir, e->d_name);
			if ((f = fopen(path, "rb")) == NULL)
				continue;
			fseek(f, 0, SEEK_END);
			n = ftell(f);
			rewind(f);
			text = calloc(1, (size_t)n + 1);
			if (fread(text, 1, (size_t)n, f) != (size_t)n)
				n = 0;
			fclose(f);
			if (strstr(text, want) != NULL) {
				closedir(d);
				return text;
			}
			free(text);
		}
		if (d != NULL)
			closedir(d);
		usleep(50000);
	}
	return NULL;
}

/* dump_body - the message in a dump: after smtp-sink's Received header
 * (its line, "\tby ...", "\t<date>"). */
static const char *
dump_body(const char *text)
{
	const char *p = strstr(text, "\nReceived: ");
	int i;

	for (i = 0; p != NULL && i < 3; i++)
		p = strchr(p + 1, '\n');
	return p != NULL ? p + 1 : "";
}

/* --- the tests --- */

/* The message: dot lines (stuffed on the wire, unstuffed by the sink),
 * a bare LF and a bare CR (sent as CRLF: never a bare line end), 8-bit
 * bytes, and a last line "." without its line end. */
static const char msg[] =
	"Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\n"
	"not the end\r\nbare LF here\nbare CR here\rend\r\n"
	"8bit: \xc3\xa9\xff\x80\r\n.";
/* As smtp-sink dumps it: lines end in LF, one empty line appended. */
static const char msg_dumped[] =
	"Subject: dots\n\n.leading dot\n..two dots\n.\n"
	"not the end\nbare LF here\nbare CR here\nend\n"
	"8bit: \xc3\xa9\xff\x80\n.\n\n";

static void
test_sink_message(void)
{
	char dump[128], tmpl[160];
	struct relay_conf c;
	struct relay *r;
	char *text;
	size_t i;
	int port;

	snprintf(dump, sizeof(dump), "%s/dump", dir);
	mkdir(dump, 0777);
	chmod(dump, 0777);	/* smtp-sink runs as nobody */
	snprintf(tmpl, sizeof(tmpl), "%s/%%M.", dump);
	port = start_sink(NULL, NULL, tmpl);
	CHECK(port > 0, "smtp-sink started");
	c = conf_tcp(port);
	r = relay_of(&c);
	/* Pipelined: smtp-sink announces PIPELINING. */
	CALL(relay_mail(r, "alice@example.org", 1234, true);
	     relay_rcpt(r, "bob@example.net");
	     relay_data(r));
	CHECK(run(3, 0) && reply_is(last(2), 250, "2.1.0") &&
	      reply_is(last(1), 250, "2.1.5") && last(0)->code == 354,
	      "MAIL, RCPT and DATA pipelined to smtp-sink: 250 250 354");
	CHECK(relay_connected(r), "connected");
	/* Byte by byte for the first 40, so every state of the stuffer
	 * crosses a call boundary; the rest at once. */
	for (i = 0; i < 40; i++)
		CALL(relay_body(r, msg + i, 1));
	CALL(relay_body(r, msg + 40, sizeof(msg) - 1 - 40));
	CALL(relay_body_end(r));
	CHECK(run(1, 0) && reply_is(last(0), 250, "2.0.0"),
	      "message accepted after the dot");
	text = dump_find(dump, "<alice@example.org> BODY=8BITMIME");
	CHECK(text != NULL, "dumped with BODY=8BITMIME and no SIZE= "
	      "(smtp-sink announces 8BITMIME, not SIZE)");
	if (text != NULL) {
		CHECK_STR(dump_body(text), msg_dumped,
			  "body arrived as sent: dots, bare CR/LF as CRLF, "
			  "8-bit bytes");
		free(text);
	}
	/* A second transaction on the same connection. */
	CALL(relay_rset(r));
	CHECK(run(1, 0) && last(0)->code == 250, "RSET");
	CALL(relay_mail(r, "", 0, false);
	     relay_rcpt(r, "carol@example.net");
	     relay_data(r));
	CHECK(run(3, 0) && last(0)->code == 354, "second transaction, "
	      "null sender");
	CALL(relay_body(r, "x\r\n", 3); relay_body_end(r));
	CHECK(run(1, 0) && reply_is(last(0), 250, "2.0.0"),
	      "second message accepted");
	text = dump_find(dump, "<>");
	CHECK(text != NULL && strcmp(dump_body(text), "x\n\n") == 0,
	      "null sender as <>, no parameters");
	free(text);
	relay_free(r);
}

static void
test_sink_no_8bitmime(void)
{
	char dump[128], tmpl[160];
	struct relay_conf c;
	struct relay *r;
	char *text;
	int port;

	snprintf(dump, sizeof(dump), "%s/dump8", dir);
	mkdir(dump, 0777);
	chmod(dump, 0777);
	snprintf(tmpl, sizeof(tmpl), "%s/%%M.", dump);
	port = start_sink("-8", NULL, tmpl);
	c = conf_tcp(port);
	r = relay_of(&c);
	CALL(relay_mail(r, "a@b.example", 99, true);
	     relay_rcpt(r, "c@d.example"); relay_data(r));
	CHECK(run(3, 0) && last(0)->code == 354, "smtp-sink -8: 354");
	CALL(relay_body(r, "hi\r\n", 4); relay_body_end(r));
	CHECK(run(1, 0) && last(0)->code == 250, "smtp-sink -8: 250");
	text = dump_find(dump, "<a@b.example>");
	CHECK(text != NULL, "no BODY=8BITMIME when not announced");
	free(text);
	relay_free(r);
}

static void
test_sink_refusals(void)
{
	struct relay_conf c;
	struct relay *r;
	int port;

	/* RCPT refused */
	port = start_sink("-f", "RCPT", NULL);
	c = conf_tcp(port);
	r = relay_of(&c);
	CALL(relay_mail(r, "a@b.example", 0, false);
	     relay_rcpt(r, "c@d.example"));
	CHECK(run(2, 0) && last(1)->code == 250 &&
	      reply_is(last(0), 500, "5.3.0"),
	      "RCPT refused by the next hop: its 5xx passed up");
	CALL(relay_rset(r));
	CHECK(run(1, 0) && last(0)->code == 250 && relay_connected(r),
	      "still connected, RSET fine");
	relay_free(r);

	/* 421 to RCPT: passed up as it is, then closed */
	port = start_sink("-Q", "RCPT", NULL);
	c = conf_tcp(port);
	r = relay_of(&c);
	CALL(relay_mail(r, "a@b.example", 0, false);
	     relay_rcpt(r, "c@d.example"));
	CHECK(run(2, 0) && reply_is(last(0), 421, "4.0.0") &&
	      !relay_connected(r), "421 passed up, connection closed");
	CALL(relay_mail(r, "a@b.example", 0, false));
	CHECK(run(1, 0) && last(0)->code == 250 && relay_connected(r),
	      "the next MAIL reconnects");
	relay_free(r);

	/* closes after the dot without a reply */
	port = start_sink("-q", ".", NULL);
	c = conf_tcp(port);
	r = relay_of(&c);
	CALL(relay_mail(r, "a@b.example", 0, false);
	     relay_rcpt(r, "c@d.example"); relay_data(r));
	CHECK(run(3, 0) && last(0)->code == 354, "354 before the cut");
	CALL(relay_body(r, "hi\r\n", 4); relay_body_end(r));
	CHECK(run(1, 0) && reply_is(last(0), 451, "4.4.2 lost connection "
				   "with next hop [127.0.0.1]:"),
	      "next hop closes in DATA: 451 4.4.2");
	CALL(relay_mail(r, "a@b.example", 0, false));
	CHECK(run(1, 0) && last(0)->code == 250, "MAIL after the failure "
	      "reconnects");
	relay_free(r);
}

static void
test_sink_lmtp_unix(void)
{
	char path[128], arg[160];
	char *argv[8];
	struct relay_conf c;
	struct relay *r;
	int n = 0;

	snprintf(path, sizeof(path), "%s/lmtp.sock", dir);
	snprintf(arg, sizeof(arg), "unix:%s", path);
	argv[n++] = (char *)sink;
	if (geteuid() == 0) {
		argv[n++] = (char *)"-u";
		argv[n++] = (char *)"nobody";
	}
	argv[n++] = (char *)"-L";
	argv[n++] = arg;
	argv[n++] = (char *)"10";
	argv[n] = NULL;
	CHECK(spawn(argv, NULL) > 0 && wait_listen(0, path),
	      "smtp-sink -L on a UNIX socket");
	memset(&c, 0, sizeof(c));
	c.lmtp = true;
	c.unix_path = path;
	c.name = path;
	c.helo_name = "gate.test";
	c.connect_timeout_ms = c.cmd_timeout_ms = c.data_timeout_ms = 3000;
	r = relay_of(&c);
	CALL(relay_mail(r, "a@b.example", 0, false);
	     relay_rcpt(r, "one@d.example"); relay_rcpt(r, "two@d.example");
	     relay_data(r));
	CHECK(run(4, 0) && last(0)->code == 354, "LMTP over a UNIX socket: "
	      "MAIL, 2 RCPT, DATA");
	CALL(relay_body(r, "hi\r\n", 4); relay_body_end(r));
	CHECK(run(1, 0) && reply_is(last(0), 250, "2.0.0 Ok: delivered to 2"),
	      "two LMTP replies become one 250");
	relay_free(r);
}

static void
test_backlog(void)
{
	struct relay_conf c;
	struct relay *r;
	char *big = malloc(600 * 1024);
	bool more;
	size_t i;
	int port;

	for (i = 0; i < 600 * 1024; i++)
		big[i] = (i % 78) == 77 ? '\n' : 'a' + (char)(i % 26);
	port = start_sink(NULL, NULL, NULL);
	c = conf_tcp(port);
	r = relay_of(&c);
	CALL(relay_mail(r, "a@b.example", 0, false);
	     relay_rcpt(r, "c@d.example"); relay_data(r));
	CHECK(run(3, 0) && last(0)->code == 354, "354 for a large message");
	CALL(more = relay_body(r, big, 600 * 1024));
	CHECK(!more, "relay_body says stop above 256 KiB");
	CHECK(run(0, 1), "drained called once written");
	CALL(relay_body_end(r));
	CHECK(run(1, 0) && last(0)->code == 250, "large message accepted");
	relay_free(r);
	free(big);
}

static void
test_refused_and_bad(void)
{
	struct relay_conf c = conf_tcp(free_port());
	struct relay *r = relay_of(&c);
	char want[128];

	done_inside_call = false;
	CALL(relay_mail(r, "a@b.example", 0, false));
	CHECK(!done_inside_call, "done not called inside relay_mail");
	snprintf(want, sizeof(want), "4.4.1 next hop %s unavailable: "
		 "Connection refused", c.name);
	CHECK(run(1, 0) && reply_is(last(0), 451, want),
	      "next hop down: 451 4.4.1 naming it");
	CALL(relay_rcpt(r, "c@d.example"));
	CHECK(run(1, 0) && reply_is(last(0), 451, "4.4.2"),
	      "RCPT without a connection: 451 4.4.2");
	CALL(relay_mail(r, "a\r\nRCPT TO:<x@evil.example>", 0, false);
	     relay_rcpt(r, "x@y.example\n"));
	CHECK(!done_inside_call && run(2, 0) &&
	      reply_is(last(1), 501, "5.1.7") && reply_is(last(0), 501, "5.1.3"),
	      "CR/LF in addresses refused with 501, never sent");
	CHECK(!relay_connected(r), "and no connection made for them");
	relay_free(r);
}

static void
test_fake_starttls(SSL_CTX *ctx)
{
	struct relay_conf c;
	struct relay *r;
	int port;

	port = start_fake("starttls");
	CHECK(port > 0, "fake next hop (STARTTLS, injection) started");
	c = conf_tcp(port);
	c.tls = RELAY_TLS_MAY;
	c.tls_ctx = ctx;
	r = relay_of(&c);
	CALL(relay_mail(r, "a@b.example", 0, false));
	CHECK(run(1, 0) && reply_is(last(0), 250, "2.1.0 sender ok over TLS"),
	      "plaintext injected after STARTTLS's 220 is discarded");
	CALL(relay_rset(r));
	CHECK(run(1, 0) && reply_is(last(0), 250, "2.0.0 ok"),
	      "replies stay in step afterwards");
	relay_free(r);

	/* "encrypt" against smtp-sink, which offers no STARTTLS */
	if (sink[0] != '\0') {
		port = start_sink(NULL, NULL, NULL);
		c = conf_tcp(port);
		c.tls = RELAY_TLS_ENCRYPT;
		c.tls_ctx = ctx;
		r = relay_of(&c);
		CALL(relay_mail(r, "a@b.example", 0, false));
		CHECK(run(1, 0) && reply_is(last(0), 451, "4.7.5") &&
		      strstr(last(0)->text, "TLS is required") != NULL &&
		      !relay_connected(r),
		      "tls=encrypt without STARTTLS: 451 4.7.5, closed");
		relay_free(r);
	}

	/* a handshake that fails: "may" does not fall back to plaintext */
	port = start_fake("starttls-broken");
	c = conf_tcp(port);
	c.tls = RELAY_TLS_MAY;
	c.tls_ctx = ctx;
	r = relay_of(&c);
	CALL(relay_mail(r, "a@b.example", 0, false));
	CHECK(run(1, 0) && reply_is(last(0), 451, "4.7.5"),
	      "failed TLS handshake with tls=may: 451");
	relay_free(r);
}

static void
test_fake_size(void)
{
	struct relay_conf c;
	struct relay *r;
	int port = start_fake("size");

	c = conf_tcp(port);
	r = relay_of(&c);
	CALL(relay_mail(r, "s@example.org", 1234, true));
	CHECK(run(1, 0) && reply_is(last(0), 250,
				    "2.1.0 args:<s@example.org> SIZE=1234 "
				    "BODY=8BITMIME"),
	      "SIZE= and BODY=8BITMIME when announced");
	CALL(relay_rset(r); relay_mail(r, "s@example.org", 0, false));
	CHECK(run(2, 0) && reply_is(last(0), 250, "2.1.0 args:<s@example.org>") &&
	      strchr(last(0)->text, '=') == NULL,
	      "no SIZE= for size 0, no BODY= unless asked");
	relay_free(r);
}

static void
test_fake_lmtp(void)
{
	static const struct {
		const char *rcpts[3];
		unsigned int code;
		const char *prefix;
		const char *what;
	} t[] = {
		{ { "ok1@x.example", "ok2@x.example", NULL }, 250, "2.0.0",
		  "all delivered: 250" },
		{ { "ok1@x.example", "temp1@x.example", "refuse1@x.example" },
		  451, "4.3.0 partial delivery",
		  "one delivered, one 452 (a refused RCPT not counted): "
		  "451 4.3.0" },
		{ { "temp1@x.example", "temp2@x.example", NULL }, 452,
		  "4.2.2 <temp1@x.example> mailbox full",
		  "all 4xx: the first reply" },
		{ { "temp1@x.example", "perm1@x.example", NULL }, 451, "4.3.0",
		  "4xx and 5xx mixed: 451 4.3.0" },
	};
	struct relay_conf c;
	struct relay *r;
	size_t i, n;
	int port = start_fake("lmtp");

	c = conf_tcp(port);
	c.lmtp = true;
	r = relay_of(&c);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		CALL(relay_mail(r, "a@b.example", 0, false));
		for (n = 0; n < 3 && t[i].rcpts[n] != NULL; n++)
			CALL(relay_rcpt(r, t[i].rcpts[n]));
		CALL(relay_data(r));
		CHECK(run(n + 2, 0) && last(0)->code == 354, "LMTP %zu: 354", i);
		CALL(relay_body(r, "hi\r\n", 4); relay_body_end(r));
		CHECK(run(1, 0) && reply_is(last(0), t[i].code, t[i].prefix),
		      "LMTP %s", t[i].what);
		CALL(relay_rset(r));
		CHECK(run(1, 0) && last(0)->code == 250, "RSET");
	}
	relay_free(r);
}

static void
test_fake_slow_and_broken(void)
{
	struct relay_conf c;
	struct relay *r;
	uint64_t t0;

	c = conf_tcp(start_fake("silent-mail"));
	c.cmd_timeout_ms = 300;
	r = relay_of(&c);
	CALL(relay_mail(r, "a@b.example", 0, false));
	t0 = loop_now(L);
	CHECK(run(1, 0) && reply_is(last(0), 451, "4.4.2") &&
	      strstr(last(0)->text, "timed out") != NULL &&
	      loop_now(L) - t0 < 2000,
	      "MAIL never answered: 451 4.4.2 after cmd_timeout");
	relay_free(r);

	c = conf_tcp(start_fake("silent"));
	c.connect_timeout_ms = 300;
	r = relay_of(&c);
	CALL(relay_mail(r, "a@b.example", 0, false));
	CHECK(run(1, 0) && reply_is(last(0), 451, "4.4.1") &&
	      strstr(last(0)->text, "timed out") != NULL,
	      "no greeting: 451 4.4.1 after connect_timeout");
	relay_free(r);

	/* The connect deadline covers EHLO too, after our first write. */
	c = conf_tcp(start_fake("silent-ehlo"));
	c.connect_timeout_ms = 300;
	r = relay_of(&c);
	CALL(relay_mail(r, "a@b.example", 0, false));
	CHECK(run(1, 0) && reply_is(last(0), 451, "4.4.1") &&
	      strstr(last(0)->text, "timed out") != NULL,
	      "EHLO never answered: 451 4.4.1 after connect_timeout");
	relay_free(r);

	c = conf_tcp(start_fake("bare-lf"));
	r = relay_of(&c);
	CALL(relay_mail(r, "a@b.example", 0, false));
	CHECK(run(1, 0) && reply_is(last(0), 451, "4.4.2") &&
	      !relay_connected(r), "a reply ending in a bare LF: 451 4.4.2, "
	      "closed");
	relay_free(r);
}

/* A relay freed with requests in flight never reports again. */
static void
test_free_pending(void)
{
	struct relay_conf c = conf_tcp(start_fake("size"));
	struct relay *r = relay_of(&c);
	size_t before;

	CALL(relay_mail(r, "a@b.example", 0, false));
	CHECK(run(1, 0) && last(0)->code == 250, "connected to free");
	CALL(relay_rcpt(r, "c@d.example"));
	relay_free(r);
	before = nreplies;
	loop_timer_set(L, &guard, 300);
	loop_run(L);
	CHECK(nreplies == before, "no done after relay_free");
}

int
main(int argc, char **argv)
{
	char cmd[512], *err = NULL;
	SSL_CTX *ctx;

	if (argc != 4) {
		fprintf(stderr, "usage: test_relay PYTHON FAKE_HOP SMTP_SINK\n");
		return 2;
	}
	python = argv[1];
	fake_hop = argv[2];
	sink = argv[3];
	signal(SIGPIPE, SIG_IGN);	/* as authd-smtpd does */
	log_init("test_relay", false, 0, getenv("TEST_RELAY_LOG") != NULL);
	snprintf(dir, sizeof(dir), "/tmp/test_relay.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 2;
	chmod(dir, 0755);
	snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey rsa:2048 -nodes "
		 "-subj /CN=localhost -days 2 -keyout %s/key.pem -out "
		 "%s/cert.pem 2>/dev/null", dir, dir);
	CHECK(system(cmd) == 0, "throw-away certificate");
	ctx = tls_client_ctx(false, NULL, NULL, &err);
	CHECK(ctx != NULL, "client TLS context");
	L = loop_new();
	loop_timer_init(&guard, guard_cb);

	test_refused_and_bad();
	if (sink[0] != '\0') {
		test_sink_message();
		test_sink_no_8bitmime();
		test_sink_refusals();
		test_sink_lmtp_unix();
		test_backlog();
	} else {
		printf("# smtp-sink not found: its checks skipped\n");
	}
	test_fake_starttls(ctx);
	test_fake_size();
	test_fake_lmtp();
	test_fake_slow_and_broken();
	test_free_pending();
	CHECK(!done_inside_call, "done never called inside a request");

	reap_all();
	loop_run_deferred(L);
	loop_free(L);
	SSL_CTX_free(ctx);
	free(err);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return test_done();
}
