/*
 * test_delegate - smtpd/delegate.c, the policy delegation client: its
 * codecs alone (the request's attribute set and refusals, the reply's
 * framing and bounds, every action), then on a real loop against
 * tests/unit/policy_fake.py (scripted replies, reuse, queueing without
 * pipelining, timeouts, a server that is down, garbage, closes, cancel)
 * and against Debian's real policyd-spf (postfix-policyd-spf-python),
 * run behind the fake's socket adapter with a private configuration,
 * for verdicts that need no DNS.
 *
 * Usage: test_delegate PYTHON POLICY_FAKE POLICYD_SPF ("" when absent:
 * those checks are skipped).
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "delegate.h"
#include "log.h"
#include "loop.h"
#include "test.h"

static struct loop *L;
static const char *python, *fake, *spf;
static char dir[64];
static pid_t pids[16];
static size_t npids;

/* What the callbacks saw. */
static struct delegate_action got[64];
static int got_tag[64];
static size_t ngot, want_got;
static bool in_call, cb_inside_call, timed_out;
static struct loop_timer guard, nap;

static void
answer_cb(void *arg, const struct delegate_action *a)
{
	if (in_call)
		cb_inside_call = true;
	got_tag[ngot % 64] = (int)(long)arg;
	got[ngot++ % 64] = *a;
	if (ngot >= want_got)
		loop_stop(L);
}

static void
guard_cb(struct loop_timer *t)
{
	(void)t;
	timed_out = true;
	loop_stop(L);
}

static void
nap_cb(struct loop_timer *t)
{
	(void)t;
	loop_stop(L);
}

/* run - the loop until n more answers came, or 8 s passed. */
static bool
run(size_t n)
{
	want_got = ngot + n;
	if (ngot >= want_got)
		return true;
	timed_out = false;
	loop_timer_set(L, &guard, 8000);
	loop_run(L);
	loop_timer_cancel(L, &guard);
	return !timed_out;
}

/* sleep_loop - run the loop for ms (the delegate's timers work). */
static void
sleep_loop(unsigned int ms)
{
	want_got = (size_t)-1;
	loop_timer_set(L, &nap, ms);
	loop_run(L);
	loop_timer_cancel(L, &nap);
}

static const struct delegate_action *
last(void)
{
	return &got[(ngot - 1) % 64];
}

static void
query_init(struct delegate_query *q, const char *rcpt)
{
	memset(q, 0, sizeof(*q));
	q->protocol_state = "RCPT";
	q->protocol_name = "ESMTP";
	q->client_address = "192.0.2.7";
	q->helo_name = "client.example";
	q->sender = "someone@example.com";
	q->recipient = rcpt;
	q->instance = "1.2.3";
}

/* ask - one query for rcpt, checking that the answer is not given
 * inside the call. */
static struct delegate_req *
ask(struct delegate *d, const char *rcpt, int tag)
{
	struct delegate_query q;
	struct delegate_req *r;

	query_init(&q, rcpt);
	in_call = true;
	r = delegate_ask(d, &q, answer_cb, (void *)(long)tag);
	in_call = false;
	return r;
}

/* ask1 - ask and wait for the answer: NULL when none came. */
static const struct delegate_action *
ask1(struct delegate *d, const char *rcpt)
{
	ask(d, rcpt, 0);
	return run(1) ? last() : NULL;
}

static bool
is_prepend(const struct delegate_action *a, const char *want)
{
	bool ok = a != NULL && a->verdict == DELEGATE_PREPEND &&
		  strcmp(a->prepend, want) == 0 && !a->defaulted;

	if (!ok && a != NULL)
		printf("#   got verdict %d code %u prepend \"%s\" "
		       "text \"%s\"%s\n", a->verdict, a->code, a->prepend,
		       a->text, a->defaulted ? " (default)" : "");
	return ok;
}

static bool
is_default(const struct delegate_action *a)
{
	bool ok = a != NULL && a->defaulted && a->verdict == DELEGATE_REJECT &&
		  a->code == 451 && strcmp(a->dsn, "4.3.5") == 0 &&
		  strcmp(a->text, "Server configuration problem") == 0;

	if (!ok && a != NULL)
		printf("#   got verdict %d code %u text \"%s\"%s\n", a->verdict,
		       a->code, a->text, a->defaulted ? " (default)" : "");
	return ok;
}

/* conn_id - the connection number of an "X-Conn: N M" prepend. */
static int
conn_id(const struct delegate_action *a, int *req_r)
{
	int c = -1, r = -1;

	if (a == NULL || sscanf(a->prepend, "X-Conn: %d %d", &c, &r) != 2)
		return -1;
	if (req_r != NULL)
		*req_r = r;
	return c;
}

static int
count_of(struct delegate *d)
{
	const struct delegate_action *a = ask1(d, "count@x");
	int n = -1;

	if (a == NULL || sscanf(a->prepend, "X-Count: %d", &n) != 1)
		return -1;
	return n;
}

/* --- child processes --- */

static pid_t
spawn(char *const argv[], char *line, size_t linelen)
{
	int fds[2];
	pid_t pid;
	size_t got_n = 0;
	ssize_t n;

	if (pipe(fds) < 0)
		return -1;
	if ((pid = fork()) == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		return -1;
	}
	pids[npids++] = pid;
	while (got_n < linelen - 1 &&
	       (n = read(fds[0], line + got_n, linelen - 1 - got_n)) > 0) {
		got_n += (size_t)n;
		if (memchr(line, '\n', got_n) != NULL)
			break;
	}
	line[got_n] = '\0';
	close(fds[0]);
	return got_n > 0 ? pid : -1;
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

/* start_fake - the fake on a UNIX socket (path) or TCP (path NULL:
 * returns the port); the spec for delegate_new in spec. */
static bool
start_fake(const char *path, char *spec, size_t speclen, const char *cmd)
{
	char line[64];
	char *argv[8];
	int n = 0;

	argv[n++] = (char *)python;
	argv[n++] = (char *)fake;
	argv[n++] = (char *)(cmd != NULL ? "exec" : "script");
	argv[n++] = (char *)(path != NULL ? path : "tcp");
	if (cmd != NULL) {
		argv[n++] = (char *)cmd;
		argv[n++] = (char *)"/dev/null";	/* replaced below */
	}
	argv[n] = NULL;
	if (cmd != NULL) {
		static char conf[128];

		snprintf(conf, sizeof(conf), "%s/spf.conf", dir);
		argv[5] = conf;
	}
	if (spawn(argv, line, sizeof(line)) < 0)
		return false;
	if (path != NULL)
		snprintf(spec, speclen, "unix:%s", path);
	else
		snprintf(spec, speclen, "inet:127.0.0.1:%d", atoi(line));
	return true;
}

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

/* --- the codecs --- */

static const char *const names_37[] = {
	"request", "protocol_state", "protocol_name", "client_address",
	"client_name", "client_port", "reverse_client_name", "server_address",
	"server_port", "helo_name", "sender", "recipient", "recipient_count",
	"queue_id", "instance", "size", "etrn_domain", "stress", "sasl_method",
	"sasl_username", "sasl_sender", "ccert_subject", "ccert_issuer",
	"ccert_fingerprint", "ccert_pubkey_fingerprint", "encryption_protocol",
	"encryption_cipher", "encryption_keysize", "policy_context",
};

static void
test_request_format(void)
{
	struct delegate_query q;
	struct buf b = BUF_INIT;
	const char *why, *p;
	size_t i;
	bool order = true;

	query_init(&q, "rcpt@example.org");
	q.recipient_count = 0;
	q.size = 12345;
	q.sasl_method = "PLAIN";
	q.sasl_username = "user@example.com";
	q.ccert_subject = "a b+c=d";
	q.encryption_keysize = 256;
	why = delegate_request_format(&q, "submission", &b);
	CHECK(why == NULL, "request: a query formats");
	p = b.data;
	for (i = 0; i < sizeof(names_37) / sizeof(names_37[0]) && p != NULL;
	     i++) {
		size_t n = strlen(names_37[i]);

		if (strncmp(p, names_37[i], n) != 0 || p[n] != '=')
			order = false;
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	CHECK(order && p != NULL && strcmp(p, "\n") == 0,
	      "request: Postfix 3.7's 29 attributes in its order, then an "
	      "empty line");
	CHECK(strstr(b.data, "\nrequest=") == NULL &&
	      strncmp(b.data, "request=smtpd_access_policy\n", 28) == 0,
	      "request: request=smtpd_access_policy first");
	CHECK(strstr(b.data, "\nclient_name=unknown\n") != NULL &&
	      strstr(b.data, "\nreverse_client_name=unknown\n") != NULL,
	      "request: no client name is \"unknown\"");
	CHECK(strstr(b.data, "\nsize=12345\n") != NULL &&
	      strstr(b.data, "\nrecipient_count=0\n") != NULL &&
	      strstr(b.data, "\nencryption_keysize=256\n") != NULL &&
	      strstr(b.data, "\nqueue_id=\n") != NULL,
	      "request: numbers, and empty values for what is unknown");
	CHECK(strstr(b.data, "\nccert_subject=a+20b+2Bc=d\n") != NULL,
	      "request: the certificate CN is xtext, as Postfix sends it");
	CHECK(strstr(b.data, "\npolicy_context=submission\n") != NULL,
	      "request: policy_context");

	/* A client-controlled value cannot add a line. */
	{
		static const struct {
			const char *helo;
			const char *desc;
		} bad[] = {
			{ "x\nclient_address=127.0.0.1", "LF" },
			{ "x\rclient_address=127.0.0.1", "CR" },
			{ "x\001y", "a C0 control" },
			{ "x\177y", "DEL" },
			{ "x\302\205y", "U+0085 (NEL)" },
			{ "x\342\200\250y", "U+2028" },
			{ "x\342\200\251y", "U+2029" },
		};
		size_t before;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			query_init(&q, "rcpt@example.org");
			q.helo_name = bad[i].helo;
			before = b.len;
			why = delegate_request_format(&q, NULL, &b);
			CHECK(why != NULL && strcmp(why, "helo_name") == 0 &&
			      b.len == before, "request: a HELO name with %s "
			      "is refused, nothing written", bad[i].desc);
		}
		query_init(&q, "x\n@example.org");
		CHECK(delegate_request_format(&q, NULL, &b) != NULL,
		      "request: so is a recipient with LF");
		query_init(&q, "rcpt@example.org");
		q.sasl_username = "u\n";
		CHECK(delegate_request_format(&q, NULL, &b) != NULL,
		      "request: and a SASL name with LF");
	}
	{
		char big[DELEGATE_VALUE_MAX + 2];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		query_init(&q, "rcpt@example.org");
		q.helo_name = big;
		CHECK(delegate_request_format(&q, NULL, &b) != NULL,
		      "request: a value over DELEGATE_VALUE_MAX is refused");
		big[DELEGATE_VALUE_MAX] = '\0';
		CHECK(delegate_request_format(&q, NULL, &b) == NULL,
		      "request: one of DELEGATE_VALUE_MAX is sent");
		query_init(&q, "rcpt@example.org");
		q.helo_name = "caf\303\251.example";
		CHECK(delegate_request_format(&q, NULL, &b) == NULL,
		      "request: UTF-8 other than line breaks is sent");
	}
	buf_free(&b);
}

/* rp - delegate_reply_parse of a string, into used, act and alen. */
static const char *act;
static size_t used, alen;

static enum delegate_reply_status
rp(const char *s, size_t n)
{
	return delegate_reply_parse(s, n, &used, &act, &alen);
}

static void
test_reply_parse(void)
{
	char big[DELEGATE_LINE_MAX + 16];
	struct buf b = BUF_INIT;
	int i;

	CHECK(rp("action=DUNNO\n", 13) == DELEGATE_REPLY_MORE,
	      "reply: incomplete without the empty line");
	CHECK(rp("action=DUNNO\n\nxx", 16) == DELEGATE_REPLY_DONE &&
	      used == 14 && alen == 5 && memcmp(act, "DUNNO", 5) == 0,
	      "reply: one reply, the rest left");
	CHECK(rp("action=OK\r\n\r\n", 13) == DELEGATE_REPLY_DONE &&
	      used == 13 && alen == 2, "reply: CRLF lines are taken");
	CHECK(rp("foo=bar\naction=REJECT a\naction=OK\n\n", 35) ==
	      DELEGATE_REPLY_DONE && alen == 8 &&
	      memcmp(act, "REJECT a", 8) == 0,
	      "reply: other attributes skipped, the first action wins");
	CHECK(rp("hello\n\n", 7) == DELEGATE_REPLY_DONE && act == NULL,
	      "reply: garbage without an action: done, no action");
	CHECK(rp("Action=OK\n\n", 11) == DELEGATE_REPLY_DONE && act == NULL,
	      "reply: attribute names are case-sensitive, as Postfix's");
	memset(big, 'a', sizeof(big));
	CHECK(rp(big, DELEGATE_LINE_MAX) == DELEGATE_REPLY_BAD,
	      "reply: a line that cannot end in bounds is bad before it ends");
	CHECK(rp(big, DELEGATE_LINE_MAX - 1) == DELEGATE_REPLY_MORE,
	      "reply: one byte shorter may still end");
	big[DELEGATE_LINE_MAX] = '\n';
	CHECK(rp(big, DELEGATE_LINE_MAX + 1) == DELEGATE_REPLY_BAD,
	      "reply: a line over DELEGATE_LINE_MAX is bad");
	for (i = 0; i <= DELEGATE_LINES_MAX; i++)
		buf_append_str(&b, "x=y\n");
	CHECK(rp(b.data, b.len) == DELEGATE_REPLY_BAD, "reply: more than "
	      "DELEGATE_LINES_MAX lines is bad, before the end");
	buf_reset(&b);
	for (i = 0; i < DELEGATE_LINES_MAX; i++)
		buf_append_str(&b, "x=y\n");
	buf_append_str(&b, "\n");
	CHECK(rp(b.data, b.len) == DELEGATE_REPLY_DONE,
	      "reply: DELEGATE_LINES_MAX lines are fine");
	buf_free(&b);
}

static void
test_action_parse(void)
{
	static const struct {
		const char *in;
		enum delegate_action_status st;
		enum delegate_verdict v;
		unsigned int code;
		const char *dsn, *text;
		bool disconnect;
	} t[] = {
		{ "DUNNO", DELEGATE_ACTION_OK, DELEGATE_DUNNO, 0, "", "", 0 },
		{ "dunno ignored text", DELEGATE_ACTION_OK, DELEGATE_DUNNO, 0,
		  "", "", 0 },
		{ "OK", DELEGATE_ACTION_OK, DELEGATE_OK, 0, "", "", 0 },
		{ "relay", DELEGATE_ACTION_OK, DELEGATE_OK, 0, "", "", 0 },
		{ "1234567", DELEGATE_ACTION_OK, DELEGATE_OK, 0, "", "", 0 },
		{ "REJECT", DELEGATE_ACTION_OK, DELEGATE_REJECT, 554, "5.7.1",
		  "Access denied", 0 },
		{ "REJECT go away", DELEGATE_ACTION_OK, DELEGATE_REJECT, 554,
		  "5.7.1", "go away", 0 },
		{ "reject 5.7.0 spf fail", DELEGATE_ACTION_OK, DELEGATE_REJECT,
		  554, "5.7.0", "spf fail", 0 },
		{ "REJECT 4.7.0 class fixed", DELEGATE_ACTION_OK,
		  DELEGATE_REJECT, 554, "5.7.0", "class fixed", 0 },
		{ "REJECT 5.7.1000 not a status", DELEGATE_ACTION_OK,
		  DELEGATE_REJECT, 554, "5.7.1", "5.7.1000 not a status", 0 },
		{ "DEFER", DELEGATE_ACTION_OK, DELEGATE_REJECT, 450, "4.7.1",
		  "Access denied", 0 },
		{ "DEFER greylisted, come back", DELEGATE_ACTION_OK,
		  DELEGATE_REJECT, 450, "4.7.1", "greylisted, come back", 0 },
		{ "defer_if_permit Service busy", DELEGATE_ACTION_OK,
		  DELEGATE_DEFER_IF_PERMIT, 450, "4.7.1", "Service busy", 0 },
		{ "DEFER_IF_REJECT", DELEGATE_ACTION_OK,
		  DELEGATE_DEFER_IF_REJECT, 450, "4.7.1",
		  "Service unavailable", 0 },
		{ "450 4.2.0 Greylisted", DELEGATE_ACTION_OK, DELEGATE_REJECT,
		  450, "4.2.0", "Greylisted", 0 },
		{ "550 no", DELEGATE_ACTION_OK, DELEGATE_REJECT, 550, "5.7.1",
		  "no", 0 },
		{ "451 5.7.1 mismatch", DELEGATE_ACTION_OK, DELEGATE_REJECT,
		  451, "4.7.1", "mismatch", 0 },
		{ "421 4.7.0 go", DELEGATE_ACTION_OK, DELEGATE_REJECT, 421,
		  "4.7.0", "go", 1 },
		{ "521 bye", DELEGATE_ACTION_OK, DELEGATE_REJECT, 521, "5.7.1",
		  "bye", 1 },
		{ "WARN look at this", DELEGATE_ACTION_OK, DELEGATE_WARN, 0, "",
		  "look at this", 0 },
		{ "INFO", DELEGATE_ACTION_OK, DELEGATE_INFO, 0, "", "", 0 },
		{ "PREPEND X-Spam: yes   ", DELEGATE_ACTION_OK,
		  DELEGATE_PREPEND, 0, "", "", 0 },
		{ "PREPEND not a header", DELEGATE_ACTION_WARN, DELEGATE_DUNNO,
		  0, "", "", 0 },
		{ "HOLD", DELEGATE_ACTION_WARN, DELEGATE_DUNNO, 0, "", "", 0 },
		{ "DISCARD spam", DELEGATE_ACTION_WARN, DELEGATE_DUNNO, 0, "",
		  "", 0 },
		{ "FILTER smtp:[127.0.0.1]:10025", DELEGATE_ACTION_WARN,
		  DELEGATE_DUNNO, 0, "", "", 0 },
		{ "REDIRECT a@b", DELEGATE_ACTION_WARN, DELEGATE_DUNNO, 0, "",
		  "", 0 },
		{ "BCC a@b", DELEGATE_ACTION_WARN, DELEGATE_DUNNO, 0, "", "",
		  0 },
		{ "permit_mynetworks", DELEGATE_ACTION_WARN, DELEGATE_REJECT,
		  451, "4.3.5", "Server configuration error", 0 },
		{ "hash:/etc/x", DELEGATE_ACTION_WARN, DELEGATE_REJECT, 451,
		  "4.3.5", "Server configuration error", 0 },
		{ "450", DELEGATE_ACTION_OK, DELEGATE_OK, 0, "", "", 0 },
		{ "", DELEGATE_ACTION_BAD, DELEGATE_DUNNO, 0, "", "", 0 },
		{ "   ", DELEGATE_ACTION_BAD, DELEGATE_DUNNO, 0, "", "", 0 },
		{ "REJECT a\rb", DELEGATE_ACTION_BAD, DELEGATE_DUNNO, 0, "",
		  "", 0 },
		{ "REJECT \377", DELEGATE_ACTION_BAD, DELEGATE_DUNNO, 0, "",
		  "", 0 },
		{ "REJECT caf\303\251", DELEGATE_ACTION_OK, DELEGATE_REJECT,
		  554, "5.7.1", "caf\303\251", 0 },
	};
	struct delegate_action a;
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		enum delegate_action_status st;
		bool ok;

		st = delegate_action_parse(t[i].in, strlen(t[i].in), &a, &why);
		ok = st == t[i].st;

		if (st != DELEGATE_ACTION_BAD) {
			ok = ok && a.verdict == t[i].v && a.code == t[i].code &&
			     strcmp(a.dsn, t[i].dsn) == 0 &&
			     strcmp(a.text, t[i].text) == 0 &&
			     a.disconnect == t[i].disconnect && !a.defaulted;
		}
		ok = ok && (st == DELEGATE_ACTION_OK) == (why == NULL);
		CHECK(ok, "action \"%s\"", t[i].in);
		if (!ok)
			printf("#   status %d verdict %d code %u dsn \"%s\" "
			       "text \"%s\" why %s\n", st, a.verdict, a.code,
			       a.dsn, a.text, why ? why : "-");
	}
	delegate_action_parse("PREPEND X-Spam: yes   ", 22, &a, &why);
	CHECK_STR(a.prepend, "X-Spam: yes", "action: PREPEND keeps the header, "
		  "trailing blanks dropped");
	{
		char longtext[1200];

		memcpy(longtext, "REJECT ", 7);
		memset(longtext + 7, 'x', sizeof(longtext) - 8);
		/* "é" on the limit: its first byte would fit, not its
		 * second. */
		memcpy(longtext + 7 + DELEGATE_TEXT_MAX - 2, "\303\251", 2);
		longtext[sizeof(longtext) - 1] = '\0';
		CHECK(delegate_action_parse(longtext, strlen(longtext), &a,
					    &why) == DELEGATE_ACTION_OK &&
		      strlen(a.text) == DELEGATE_TEXT_MAX - 2,
		      "action: a long text is cut, not inside a character");
		memcpy(longtext, "PREPEND X-Long: ", 16);
		CHECK(delegate_action_parse(longtext, strlen(longtext), &a,
					    &why) == DELEGATE_ACTION_WARN &&
		      a.verdict == DELEGATE_DUNNO,
		      "action: a header longer than 998 is not prepended");
	}
	{
		char out[400];

		delegate_action_parse("REJECT 5.7.0 no thanks", 22, &a, &why);
		delegate_reply_text(&a, "rcpt@example.org", "Recipient address",
				    out, sizeof(out));
		CHECK_STR(out, "5.7.0 <rcpt@example.org>: Recipient address "
			  "rejected: no thanks",
			  "reply text: worded as Postfix's");
		delegate_reply_text(&a, "rcpt@example.org", "Recipient address",
				    out, 12);
		CHECK_STR(out, "5.7.0 <rcpt", "reply text: cut to fit");
	}
	{
		char a1[64], a2[64];

		delegate_instance(a1, sizeof(a1));
		delegate_instance(a2, sizeof(a2));
		CHECK(strcmp(a1, a2) != 0 && strchr(a1, '.') != NULL,
		      "instance: a new id each time");
	}
}

/* --- on the loop --- */

static struct delegate *
new_delegate(const char *spec, unsigned int timeout_ms, const char *def)
{
	struct delegate_conf conf;
	struct delegate *d;
	char *err = NULL;

	delegate_conf_defaults(&conf);
	conf.timeout_ms = timeout_ms;
	if (def != NULL)
		conf.default_action = def;
	d = delegate_new(L, spec, &conf, &err);
	if (d == NULL) {
		printf("# delegate_new(%s): %s\n", spec, err);
		free(err);
	}
	return d;
}

static void
test_config(void)
{
	static const char *const bad[] = {
		"unix:relative/path", "tcp:127.0.0.1:1", "inet:127.0.0.1",
		"inet::10023", "inet:127.0.0.1:", "inet:no.such.host.invalid:1",
	};
	struct delegate_conf conf;
	struct delegate *d;
	char *err = NULL;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d = delegate_new(L, bad[i], NULL, &err);
		CHECK(d == NULL && err != NULL, "config: \"%s\" refused: %s",
		      bad[i], err ? err : "-");
		free(err);
		err = NULL;
	}
	delegate_conf_defaults(&conf);
	CHECK(conf.timeout_ms == 100000 && conf.max_idle_ms == 300000 &&
	      conf.max_ttl_ms == 1000000 &&
	      strcmp(conf.default_action, DELEGATE_DEFAULT_ACTION) == 0,
	      "config: Postfix's defaults");
	conf.default_action = "HOLD";
	d = delegate_new(L, "inet:[::1]:10023", &conf, &err);
	CHECK(d == NULL && err != NULL, "config: a default action that needs a "
	      "queue is refused: %s", err ? err : "-");
	free(err);
	err = NULL;
	conf.default_action = "DEFER_IF_PERMIT Policy server down";
	d = delegate_new(L, "inet:[::1]:10023", &conf, &err);
	CHECK(d != NULL, "config: inet:[::1]:port and a DEFER_IF_PERMIT "
	      "default");
	delegate_free(d);
}

static void
test_fake(const char *spec, bool full)
{
	struct delegate *d = new_delegate(spec, 3000, NULL);
	const struct delegate_action *a;
	struct delegate_req *r;
	int c1, c2, n1, n2, req, i;
	bool inorder = true, samec = true;

	if (d == NULL) {
		CHECK(0, "%s: delegate_new", spec);
		return;
	}
	a = ask1(d, "plain@x");
	CHECK(a != NULL && a->verdict == DELEGATE_DUNNO && !a->defaulted,
	      "%s: DUNNO", spec);
	c1 = conn_id(ask1(d, "conn@x"), &req);
	CHECK(c1 > 0 && req == 2, "%s: the same connection serves the second "
	      "request", spec);
	c2 = conn_id(ask1(d, "conn@x"), &req);
	CHECK(c2 == c1 && req == 3, "%s: and the third", spec);
	CHECK(!cb_inside_call, "%s: no answer inside delegate_ask", spec);

	/* Many at once: queued, one in flight (the fake refuses a request
	 * that came before its reply was written), answered in order. */
	for (i = 0; i < 20; i++)
		ask(d, i % 2 ? "conn@x" : "slow20@x", 100 + i);
	CHECK(run(20), "%s: 20 queued requests answered", spec);
	for (i = 0; i < 20; i++) {
		const struct delegate_action *x = &got[(ngot - 20 + i) % 64];

		if (got_tag[(ngot - 20 + i) % 64] != 100 + i ||
		    x->verdict == DELEGATE_REJECT)
			inorder = false;
		if (i % 2 && conn_id(x, NULL) != c1)
			samec = false;
	}
	CHECK(inorder, "%s: in order, none sent before the last reply", spec);
	CHECK(samec, "%s: all on the one connection", spec);

	if (!full) {
		delegate_free(d);
		return;
	}
	a = ask1(d, "attrs@x");
	{
		char want[1000] = "X-Attrs: ";
		size_t k, off = strlen(want);

		for (k = 0; k < sizeof(names_37) / sizeof(names_37[0]); k++)
			off += (size_t)snprintf(want + off, sizeof(want) - off,
						"%s%s", k > 0 ? "," : "",
						names_37[k]);
		CHECK(is_prepend(a, want), "%s: the server gets the 29 "
		      "attributes, in order", spec);
	}

	/* An injected newline never reaches the server. */
	n1 = count_of(d);
	{
		struct delegate_query q;

		query_init(&q, "echo-client_address@x");
		q.helo_name = "evil\nclient_address=127.0.0.1";
		in_call = true;
		delegate_ask(d, &q, answer_cb, NULL);
		in_call = false;
		CHECK(run(1) && is_default(last()), "%s: a HELO name with LF: "
		      "default action, deferred", spec);
		q.helo_name = "evil";
		q.sender = "a\r\nrecipient=x";
		delegate_ask(d, &q, answer_cb, NULL);
		CHECK(run(1) && is_default(last()),
		      "%s: a sender with CRLF: default action", spec);
	}
	n2 = count_of(d);
	CHECK(n1 > 0 && n2 == n1 + 1, "%s: neither was sent (%d, %d)", spec,
	      n1, n2);
	a = ask1(d, "echo-helo_name@x");
	CHECK(is_prepend(a, "X-Echo: client.example"), "%s: values arrive as "
	      "they are", spec);

	/* Scripted replies. */
	a = ask1(d, "reply-616374696f6e3d52454a45435420352e372e30206e6f0a0a@x");
	CHECK(a != NULL && a->verdict == DELEGATE_REJECT && a->code == 554 &&
	      strcmp(a->text, "no") == 0, "%s: REJECT 5.7.0 no", spec);
	/* "action=DEFER_IF_PERMIT later\r\n\r\n" */
	a = ask1(d, "reply-616374696f6e3d44454645525f49465f5045524d4954"
		 "206c617465720d0a0d0a@x");
	CHECK(a != NULL && a->verdict == DELEGATE_DEFER_IF_PERMIT &&
	      a->code == 450 && strcmp(a->text, "later") == 0,
	      "%s: DEFER_IF_PERMIT over CRLF", spec);
	/* "hello\n\n": no action */
	c1 = conn_id(ask1(d, "conn@x"), NULL);
	a = ask1(d, "reply-68656c6c6f0a0a@x");
	CHECK(is_default(a), "%s: a reply without an action: default", spec);
	c2 = conn_id(ask1(d, "conn@x"), NULL);
	CHECK(c2 == c1, "%s: the framing was fine: connection kept", spec);
	/* "action=REJECT a\x01b\n\n": a control byte */
	a = ask1(d, "reply-616374696f6e3d52454a454354206101620a0a@x");
	CHECK(is_default(a), "%s: a control byte in the action: default",
	      spec);
	/* Two replies to one request: the second would answer the next
	 * request, so the connection goes. */
	c1 = conn_id(ask1(d, "conn@x"), NULL);
	a = ask1(d, "reply-616374696f6e3d4f4b0a0a616374696f6e3d52454a4543540a0a"
		 "@x");
	CHECK(a != NULL && a->verdict == DELEGATE_OK,
	      "%s: the first of two replies answers", spec);
	a = ask1(d, "conn@x");
	c2 = conn_id(a, NULL);
	CHECK(c2 > c1, "%s: the second is not taken for the next request's "
	      "(%d, %d)", spec, c1, c2);
	/* "action=HOLD\n\n": logged, DUNNO */
	a = ask1(d, "reply-616374696f6e3d484f4c440a0a@x");
	CHECK(a != NULL && a->verdict == DELEGATE_DUNNO && !a->defaulted,
	      "%s: HOLD is DUNNO", spec);

	/* A value too long to send is refused here. */
	{
		char rcpt[DELEGATE_VALUE_MAX + 16];

		memset(rcpt, 'a', sizeof(rcpt) - 3);
		memcpy(rcpt + sizeof(rcpt) - 3, "@x", 3);
		a = ask1(d, rcpt);
		CHECK(is_default(a), "%s: an over-long value is refused", spec);
	}
	/* A reply line that cannot end in bounds: the connection goes. */
	c1 = conn_id(ask1(d, "conn@x"), NULL);
	a = ask1(d, "longline@x");
	CHECK(is_default(a), "%s: a reply line over the limit: default", spec);
	c2 = conn_id(ask1(d, "conn@x"), NULL);
	CHECK(c2 > c1, "%s: and a new connection after it", spec);
	c1 = conn_id(ask1(d, "conn@x"), NULL);
	{
		/* 40 lines of "x=aaaaaaaaaa". */
		struct buf hex = BUF_INIT;
		int line, k;

		buf_append_str(&hex, "reply-");
		for (line = 0; line < 40; line++) {
			buf_append_str(&hex, "783d");
			for (k = 0; k < 10; k++)
				buf_append_str(&hex, "61");
			buf_append_str(&hex, "0a");
		}
		buf_append_str(&hex, "0a@x");
		a = ask1(d, hex.data);
		buf_free(&hex);
	}
	CHECK(is_default(a), "%s: too many reply lines: default", spec);
	c2 = conn_id(ask1(d, "conn@x"), NULL);
	CHECK(c2 > c1, "%s: and a new connection after it", spec);

	/* The server closes without a reply on a reused connection: sent
	 * once more, then the default. */
	n1 = count_of(d);
	a = ask1(d, "close@x");
	CHECK(is_default(a), "%s: closed without a reply: default", spec);
	n2 = count_of(d);
	CHECK(n2 == n1 + 3, "%s: it was sent twice (reused connection, then a "
	      "new one), not more (%d, %d)", spec, n1, n2);
	/* The server answers, then closes: the next request goes on. */
	a = ask1(d, "closeafter@x");
	CHECK(a != NULL && a->verdict == DELEGATE_DUNNO && !a->defaulted,
	      "%s: answer then close", spec);
	a = ask1(d, "plain@x");
	CHECK(a != NULL && a->verdict == DELEGATE_DUNNO && !a->defaulted,
	      "%s: the next request finds a new connection", spec);

	/* Cancel: a queued request is dropped; one in flight has its reply
	 * read and dropped, and the protocol stays in step. */
	ask(d, "slow100@x", 1);
	r = ask(d, "plain@x", 2);
	delegate_cancel(r);
	CHECK(run(1) && got_tag[(ngot - 1) % 64] == 1, "%s: a cancelled queued "
	      "request has no answer", spec);
	r = ask(d, "slow100@x", 3);
	sleep_loop(20);
	delegate_cancel(r);
	c1 = ngot;
	a = ask1(d, "conn@x");
	CHECK((size_t)c1 + 1 == ngot && got_tag[(ngot - 1) % 64] == 0 &&
	      conn_id(a, NULL) > 0, "%s: after a cancelled request in flight "
	      "the next gets its own reply", spec);
	delegate_free(d);

	/* Timeout: the slow request gets the default in time; the next
	 * one a new connection. */
	d = new_delegate(spec, 300, NULL);
	c1 = conn_id(ask1(d, "conn@x"), NULL);
	a = ask1(d, "slow1500@x");
	CHECK(is_default(a), "%s: a server slower than the timeout: default",
	      spec);
	c2 = conn_id(ask1(d, "conn@x"), NULL);
	CHECK(c1 > 0 && c2 > c1, "%s: then a new connection (%d, %d)", spec,
	      c1, c2);
	/* A request waiting behind a stalled one shares its fate when its
	 * own deadline passes. */
	ask(d, "slow1500@x", 1);
	ask(d, "plain@x", 2);
	CHECK(run(2) && is_default(&got[(ngot - 2) % 64]) &&
	      is_default(&got[(ngot - 1) % 64]),
	      "%s: queued behind a stalled request: default at its deadline",
	      spec);
	delegate_free(d);

	/* Idle and TTL limits. */
	{
		struct delegate_conf conf;
		char *err = NULL;

		delegate_conf_defaults(&conf);
		conf.max_idle_ms = 100;
		d = delegate_new(L, spec, &conf, &err);
		c1 = conn_id(ask1(d, "conn@x"), NULL);
		sleep_loop(300);
		c2 = conn_id(ask1(d, "conn@x"), NULL);
		CHECK(c1 > 0 && c2 > c1, "%s: an idle connection is closed "
		      "after max_idle", spec);
		delegate_free(d);
		conf.max_idle_ms = 300000;
		conf.max_ttl_ms = 0;
		d = delegate_new(L, spec, &conf, &err);
		c1 = conn_id(ask1(d, "conn@x"), NULL);
		c2 = conn_id(ask1(d, "conn@x"), NULL);
		CHECK(c1 > 0 && c2 > c1, "%s: max_ttl replaces an old "
		      "connection between requests", spec);
		delegate_free(d);
	}

	/* Freed with requests pending: no callback, no leak. */
	d = new_delegate(spec, 3000, NULL);
	c1 = ngot;
	ask(d, "slow100@x", 1);
	ask(d, "plain@x", 2);
	delegate_free(d);
	sleep_loop(150);
	CHECK((size_t)c1 == ngot, "%s: freed with requests pending: no "
	      "callback", spec);
}

static void
test_down(void)
{
	char spec[128];
	struct delegate *d;
	const struct delegate_action *a;

	snprintf(spec, sizeof(spec), "unix:%s/nobody-listens", dir);
	d = new_delegate(spec, 3000, NULL);
	a = ask1(d, "plain@x");
	CHECK(is_default(a), "down: no UNIX socket: 451 4.3.5 Server "
	      "configuration problem");
	CHECK(!cb_inside_call, "down: answered from the loop, not inside ask");
	ask(d, "a@x", 1);
	ask(d, "b@x", 2);
	CHECK(run(2) && is_default(last()), "down: every queued request too");
	delegate_free(d);
	snprintf(spec, sizeof(spec), "inet:127.0.0.1:%d", free_port());
	d = new_delegate(spec, 3000, "DUNNO");
	a = ask1(d, "plain@x");
	CHECK(a != NULL && a->defaulted && a->verdict == DELEGATE_DUNNO,
	      "down: TCP refused: the configured default action (DUNNO)");
	delegate_free(d);
	/* A TCP connect that hangs (a non-routable address): the timeout
	 * still answers. */
	d = new_delegate("inet:192.0.2.1:10023", 300, NULL);
	a = ask1(d, "plain@x");
	CHECK(is_default(a), "down: a connect that hangs: default at the "
	      "timeout");
	delegate_free(d);
}

static void
test_spf(void)
{
	char path[128], spec[160], conf[128];
	struct delegate *d;
	struct delegate_query q;
	const struct delegate_action *a;
	FILE *f;

	snprintf(conf, sizeof(conf), "%s/spf.conf", dir);
	f = fopen(conf, "w");
	if (f == NULL) {
		CHECK(0, "spf: write a configuration");
		return;
	}
	/* Debian's defaults, with the test-only mode: verdicts, not
	 * rejections, for the checks that would need DNS. */
	fputs("debugLevel = 0\nTestOnly = 1\nHELO_reject = Fail\n"
	      "Mail_From_reject = Fail\nPermError_reject = False\n"
	      "TempError_Defer = False\n"
	      "skip_addresses = 127.0.0.0/8,::ffff:127.0.0.0/104,::1\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/spf.sock", dir);
	if (!start_fake(path, spec, sizeof(spec), spf)) {
		CHECK(0, "spf: start policyd-spf behind the adapter");
		return;
	}
	d = new_delegate(spec, 5000, NULL);
	query_init(&q, "rcpt@example.org");
	q.client_address = "127.0.0.1";
	q.sender = "a@example.com";
	delegate_ask(d, &q, answer_cb, NULL);
	a = run(1) ? last() : NULL;
	CHECK(is_prepend(a, "X-Comment: SPF check N/A for local connections - "
			 "client-ip=127.0.0.1; helo=client.example; "
			 "envelope-from=a@example.com; receiver=example.org"),
	      "spf: a local client is skipped: PREPEND X-Comment");
	/* A HELO literal and the null sender: "None" without DNS. */
	query_init(&q, "rcpt@example.org");
	q.client_address = "192.0.2.7";
	q.helo_name = "[192.0.2.7]";
	q.sender = "";
	q.instance = "1.2.4";
	delegate_ask(d, &q, answer_cb, NULL);
	a = run(1) ? last() : NULL;
	CHECK(is_prepend(a, "Received-SPF: None (no SPF record) identity=helo; "
			 "client-ip=192.0.2.7; helo=[192.0.2.7]; "
			 "envelope-from=<>; receiver=example.org"),
	      "spf: the same connection, a second verdict: Received-SPF: None");
	/* policyd-spf checks once per transaction (instance): the next
	 * recipient of the same one is DUNNO. */
	q.recipient = "other@example.org";
	delegate_ask(d, &q, answer_cb, NULL);
	a = run(1) ? last() : NULL;
	CHECK(a != NULL && a->verdict == DELEGATE_DUNNO && !a->defaulted,
	      "spf: the next recipient of the same instance: DUNNO");
	delegate_free(d);
}

int
main(int argc, char **argv)
{
	char spec[160], path[128];

	if (argc < 4) {
		fprintf(stderr, "usage: test_delegate PYTHON POLICY_FAKE "
			"POLICYD_SPF\n");
		return 2;
	}
	python = argv[1];
	fake = argv[2];
	spf = argv[3];
	signal(SIGPIPE, SIG_IGN);
	log_init("test_delegate", false, 0, getenv("TEST_LOG") != NULL);
	snprintf(dir, sizeof(dir), "/tmp/test_delegate.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	L = loop_new();
	loop_timer_init(&guard, guard_cb);
	loop_timer_init(&nap, nap_cb);

	test_request_format();
	test_reply_parse();
	test_action_parse();
	test_config();
	test_down();

	snprintf(path, sizeof(path), "%s/policy.sock", dir);
	if (start_fake(path, spec, sizeof(spec), NULL))
		test_fake(spec, true);
	else
		CHECK(0, "start the fake on a UNIX socket");
	if (start_fake(NULL, spec, sizeof(spec), NULL))
		test_fake(spec, false);
	else
		CHECK(0, "start the fake on TCP");

	if (spf[0] != '\0')
		test_spf();
	else
		printf("# policyd-spf not installed: its checks skipped\n");

	reap_all();
	loop_run_deferred(L);	/* the last connection's memory */
	loop_free(L);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", dir);
	}
	return test_done();
}
