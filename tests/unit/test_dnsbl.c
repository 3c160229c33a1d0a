/*
 * test_dnsbl - smtpd/dnsbl.c on a real loop against tests/unit/
 * dns_stub.py, a DNS server that answers from a table and misbehaves on
 * request: hit, miss, filters, IPv6 nibbles, CNAME, TXT sanitising,
 * rhsbl names, a retry, timeouts, SERVFAIL and TC, forged replies (wrong
 * id, port, address or question) and broken ones (garbage, cut short,
 * compression loops), cancel, free, and the in-flight limit.
 *
 * Usage: test_dnsbl PYTHON DNS_STUB_SCRIPT
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dnsbl.h"
#include "loop.h"
#include "test.h"
#include "xalloc.h"

/* Three contexts: look-ups that should be answered get a timeout that
 * a loaded machine cannot miss; those that should time out, a short
 * one; the retry, one in between (it comes at half the time left). */
#define ANSWER_MS	3000
#define SHORT_MS	300
#define RETRY_MS	1000

static struct loop *L;
static struct dnsbl *D;		/* the one client() and domain() use */
static struct dnsbl *Dlong, *Dshort, *Dretry;
static pid_t stub_pid = -1;
static char resolver[64];

/* What the callbacks saw. */
struct res {
	bool called;
	unsigned int calls;
	struct dnsbl_answer a;
};
static bool in_call, cb_inside_call, timed_out;
static size_t ndone, want_done;
static struct loop_timer guard;

static void
result_cb(void *arg, const struct dnsbl_answer *a)
{
	struct res *r = arg;

	if (in_call)
		cb_inside_call = true;
	r->called = true;
	r->calls++;
	r->a = *a;
	if (++ndone >= want_done)
		loop_stop(L);
}

static void
guard_cb(struct loop_timer *t)
{
	(void)t;
	timed_out = true;
	loop_stop(L);
}

/* run - the loop until n more results came or ms passed. */
static bool
run(size_t n, unsigned int ms)
{
	want_done = ndone + n;
	timed_out = false;
	loop_timer_set(L, &guard, ms);
	loop_run(L);
	loop_timer_cancel(L, &guard);
	return !timed_out;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct net_addr
addr(const char *s)
{
	struct net_addr a;

	if (!net_addr_parse(s, strlen(s), &a))
		abort();
	return a;
}

/* client - one dnsbl_client look-up, run to its end. */
static struct dnsbl_answer
client(const char *ip, const char *zone, const char *want, uint64_t *ms_r)
{
	struct res r = { 0 };
	struct net_addr a = addr(ip);
	uint64_t t0 = now_ms();

	in_call = true;
	(void)dnsbl_client(D, &a, zone, want, result_cb, &r);
	in_call = false;
	if (!run(1, 2 * ANSWER_MS) || !r.called)
		r.a.result = (enum dnsbl_result)-1;
	if (ms_r != NULL)
		*ms_r = now_ms() - t0;
	return r.a;
}

static struct dnsbl_answer
domain(const char *dom, const char *zone, const char *want)
{
	struct res r = { 0 };

	in_call = true;
	(void)dnsbl_domain(D, dom, zone, want, result_cb, &r);
	in_call = false;
	if (!run(1, 2 * ANSWER_MS) || !r.called)
		r.a.result = (enum dnsbl_result)-1;
	return r.a;
}

static const char *
result_name(enum dnsbl_result r)
{
	switch (r) {
	case DNSBL_MISS: return "MISS";
	case DNSBL_HIT: return "HIT";
	case DNSBL_TIMEOUT: return "TIMEOUT";
	case DNSBL_ERROR: return "ERROR";
	}
	return "none";
}

#define CHECK_RESULT(ans, want, ...) do {				\
	CHECK((ans).result == (want), __VA_ARGS__);			\
	if ((ans).result != (want))					\
		printf("#   got %s (%s), want %s\n",			\
		       result_name((ans).result),			\
		       (ans).result <= DNSBL_ERROR && (ans).why ?	\
		       (ans).why : "", result_name(want));		\
} while (0)

/* --- the stub --- */

/* A long TXT: 300 bytes in three strings, control and 8-bit bytes. */
#define LONG_TXT "TXT:" \
	"Listed%0d%0aInjected: yes%00%ff%e9|" \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	"|" \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

static const char *const table[] = {
	"2.0.0.127.bl.test=A:127.0.0.2,"
		"TXT:Listed%3b see http://bl.test/?127.0.0.2",
	"2.2.0.192.bl.test=A:127.0.0.4",
	"3.2.0.192.bl.test=A:10.0.0.1",
	"4.2.0.192.bl.test=A:127.255.255.254",
	"5.2.0.192.bl.test=A:127.0.0.10,A:127.0.0.2,TXT:two",
	"6.2.0.192.bl.test=silent",
	"8.2.0.192.bl.test=A:127.0.0.2,servfail",
	"9.2.0.192.bl.test=A:127.0.0.2,tc",
	"10.2.0.192.bl.test=A:127.0.0.2,dropfirst,TXT:again",
	"11.2.0.192.bl.test=A:127.0.0.2,txtsilent",
	"12.2.0.192.bl.test=A:127.0.0.2," LONG_TXT,
	"13.2.0.192.bl.test=CNAME:target.bl.test",
	"target.bl.test=A:127.0.0.3,TXT:via cname",
	"14.2.0.192.bl.test=A:127.0.0.2,wrongowner",
	"15.2.0.192.bl.test=A:127.0.0.2,upper,TXT:upper",
	"16.2.0.192.bl.test=bad:loop,silent",
	"17.2.0.192.bl.test=A:127.0.0.2,TXT:real,bad:wrongid,bad:wrongport,"
		"bad:wrongaddr",
	"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2."
		"bl.test=A:127.0.0.2,TXT:six",
	"spammer.example.rhs.test=A:127.0.0.2,TXT:bad sender",
	/* forged first, then the true answer: NXDOMAIN */
	"30.2.0.192.bl.test=nx,bad:wrongid",
	"31.2.0.192.bl.test=nx,bad:wrongport",
	"32.2.0.192.bl.test=nx,bad:wrongaddr",
	"33.2.0.192.bl.test=nx,bad:garbage",
	"34.2.0.192.bl.test=nx,bad:cut",
	"35.2.0.192.bl.test=nx,bad:loop",
	"36.2.0.192.bl.test=nx,bad:loop2",
	"37.2.0.192.bl.test=nx,bad:fwdptr",
	"38.2.0.192.bl.test=nx,bad:mismatch",
	"39.2.0.192.bl.test=nx,bad:longname",
};

static bool
start_stub(const char *python, const char *script)
{
	size_t n = sizeof(table) / sizeof(table[0]), i;
	char **argv = xcalloc(n + 3, sizeof(*argv));
	int fds[2];
	char line[32];
	size_t len = 0;
	ssize_t got;

	argv[0] = (char *)python;
	argv[1] = (char *)script;
	for (i = 0; i < n; i++)
		argv[2 + i] = (char *)table[i];
	if (pipe(fds) < 0)
		return false;
	if ((stub_pid = fork()) == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	free(argv);
	close(fds[1]);
	/* The port, and its line end: closing the pipe before the stub
	 * wrote all of it would kill the stub with EPIPE. */
	while (len < sizeof(line) - 1 &&
	       (got = read(fds[0], line + len, sizeof(line) - 1 - len)) > 0) {
		len += (size_t)got;
		if (memchr(line, '\n', len) != NULL)
			break;
	}
	close(fds[0]);
	line[len] = '\0';
	if (stub_pid < 0)
		return false;
	snprintf(resolver, sizeof(resolver), "127.0.0.1:%d", atoi(line));
	return atoi(line) > 0;
}

static void
stop_stub(void)
{
	if (stub_pid > 0) {
		kill(stub_pid, SIGTERM);
		waitpid(stub_pid, NULL, 0);
		stub_pid = -1;
	}
}

/* --- the checks --- */

static void
test_config(void)
{
	static const struct { const char *s; bool ok; } res[] = {
		{ "127.0.0.1", true }, { "127.0.0.1:5353", true },
		{ "[::1]:53", true }, { "::1", true }, { "[::1]", true },
		{ "localhost", false }, { "127.0.0.1:0", false },
		{ "127.0.0.1:65536", false }, { "127.0.0.1:x", false },
		{ "[::1", false }, { "[::1]x", false }, { "1.2.3", false },
		{ "127.0.0.1:", false },
	};
	static const struct { const char *s; bool ok; } wants[] = {
		{ NULL, true }, { "127.0.0.2", true },
		{ "127.0.0.[2..4]", true }, { "127.0.[0;1].[2;4..6;10]", true },
		{ "127.0.0", false }, { "127.0.0.256", false },
		{ "127.0.0.2.", false }, { "127.0.0.[4..2]", false },
		{ "127.0.0.[2", false }, { "127.0.0.[2;]", false },
		{ "127.0.0.0002", false }, { "", false },
	};
	static const struct { const char *s; bool ok; } zones[] = {
		{ "zen.spamhaus.org", true }, { "bl.test.", true },
		{ "", false }, { "bad zone", false }, { "a..b", false },
		{ NULL, false },
	};
	char *err = NULL, zone[200];
	struct dnsbl *d;
	size_t i;

	for (i = 0; i < sizeof(res) / sizeof(res[0]); i++) {
		d = dnsbl_new(L, res[i].s, 100, &err);
		CHECK((d != NULL) == res[i].ok && (d != NULL) == (err == NULL),
		      "resolver \"%s\" %s", res[i].s,
		      res[i].ok ? "accepted" : "refused");
		dnsbl_free(d);
		free(err);
	}
	d = dnsbl_new(L, "127.0.0.1", 0, &err);
	CHECK(d == NULL && err != NULL, "timeout 0 refused");
	free(err);
	/* The host's resolv.conf: either a resolver or a reason. */
	d = dnsbl_new(L, NULL, 100, &err);
	CHECK((d != NULL) != (err != NULL), "resolv.conf: %s",
	      err != NULL ? err : "a nameserver");
	dnsbl_free(d);
	free(err);
	for (i = 0; i < sizeof(wants) / sizeof(wants[0]); i++)
		CHECK((dnsbl_want_check(wants[i].s) == NULL) == wants[i].ok,
		      "filter \"%s\" %s", wants[i].s ? wants[i].s : "(any)",
		      wants[i].ok ? "accepted" : "refused");
	for (i = 0; i < sizeof(zones) / sizeof(zones[0]); i++)
		CHECK((dnsbl_zone_check(zones[i].s) == NULL) == zones[i].ok,
		      "zone \"%s\" %s", zones[i].s ? zones[i].s : "(null)",
		      zones[i].ok ? "accepted" : "refused");
	memset(zone, 'a', sizeof(zone) - 1);
	zone[sizeof(zone) - 1] = '\0';
	CHECK(dnsbl_zone_check(zone) != NULL, "a 199-byte zone is refused");
}

static void
test_lookups(void)
{
	struct dnsbl_answer a;
	uint64_t ms;

	a = client("127.0.0.2", "bl.test", NULL, NULL);
	CHECK_RESULT(a, DNSBL_HIT, "127.0.0.2 is listed (RFC 5782 test)");
	CHECK_STR(a.addr, "127.0.0.2", "its A record");
	CHECK_STR(a.txt, "Listed; see http://bl.test/?127.0.0.2", "its TXT");
	CHECK(!cb_inside_call, "cb never runs inside dnsbl_client");
	a = client("192.0.2.1", "bl.test", NULL, NULL);
	CHECK_RESULT(a, DNSBL_MISS, "NXDOMAIN is a miss");
	CHECK(a.addr[0] == '\0' && a.txt[0] == '\0', "a miss has no text");
	a = client("127.0.0.2", "BL.Test.", "127.0.0.2", NULL);
	CHECK_RESULT(a, DNSBL_HIT, "zone in upper case with a dot, filter");

	/* Filters. */
	a = client("192.0.2.2", "bl.test", "127.0.0.2", NULL);
	CHECK_RESULT(a, DNSBL_MISS, "127.0.0.4 does not pass =127.0.0.2");
	a = client("192.0.2.2", "bl.test", "127.0.0.[2..4]", NULL);
	CHECK_RESULT(a, DNSBL_HIT, "127.0.0.4 passes =127.0.0.[2..4]");
	CHECK_STR(a.addr, "127.0.0.4", "the A that matched");
	CHECK_STR(a.txt, "", "no TXT record: empty text");
	a = client("192.0.2.2", "bl.test", "127.0.0.[2;5..9]", NULL);
	CHECK_RESULT(a, DNSBL_MISS, "127.0.0.4 does not pass [2;5..9]");
	a = client("192.0.2.2", "bl.test", "127.0.0.[1;4]", NULL);
	CHECK_RESULT(a, DNSBL_HIT, "127.0.0.4 passes [1;4]");
	a = client("192.0.2.3", "bl.test", NULL, NULL);
	CHECK_RESULT(a, DNSBL_MISS, "10.0.0.1 (a hijacking resolver) is "
		     "no listing");
	a = client("192.0.2.4", "bl.test", NULL, NULL);
	CHECK_RESULT(a, DNSBL_MISS, "127.255.255.254 (list refuses us) is "
		     "no listing");
	a = client("192.0.2.4", "bl.test", "127.255.255.254", NULL);
	CHECK_RESULT(a, DNSBL_HIT, "... unless the filter asks for it");
	a = client("192.0.2.5", "bl.test", "127.0.0.2", NULL);
	CHECK_RESULT(a, DNSBL_HIT, "the second of two A records matches");
	CHECK_STR(a.addr, "127.0.0.2", "and is the one reported");
	CHECK_STR(a.txt, "two", "with the TXT");

	/* Names. */
	a = client("2001:db8::1", "bl.test", NULL, NULL);
	CHECK_RESULT(a, DNSBL_HIT, "IPv6 client: 32 reversed nibbles");
	CHECK_STR(a.txt, "six", "its TXT");
	a = client("::ffff:127.0.0.2", "bl.test", NULL, NULL);
	CHECK_RESULT(a, DNSBL_HIT, "IPv4-mapped client looked up as IPv4");
	a = client("192.0.2.13", "bl.test", NULL, NULL);
	CHECK_RESULT(a, DNSBL_HIT, "A through a CNAME");
	CHECK(strcmp(a.addr, "127.0.0.3") == 0 &&
	      strcmp(a.txt, "via cname") == 0, "CNAME target's A and TXT");
	a = client("192.0.2.14", "bl.test", NULL, NULL);
	CHECK_RESULT(a, DNSBL_MISS, "an A record of another name is ignored");
	a = client("192.0.2.15", "bl.test", NULL, NULL);
	CHECK_RESULT(a, DNSBL_HIT, "question echoed in upper case matches");
	CHECK_STR(a.txt, "upper", "and its TXT");

	/* TXT sanitising. */
	a = client("192.0.2.12", "bl.test", NULL, NULL);
	CHECK_RESULT(a, DNSBL_HIT, "long TXT");
	CHECK(strlen(a.txt) == 255, "TXT cut at 255 bytes (%zu)",
	      strlen(a.txt));
	CHECK(strncmp(a.txt, "Listed??Injected: yes???xxx", 27) == 0,
	      "CR, LF, NUL and 8-bit bytes are '?', strings joined: %.30s",
	      a.txt);

	/* rhsbl. */
	a = domain("spammer.example", "rhs.test", NULL);
	CHECK_RESULT(a, DNSBL_HIT, "rhsbl: sender domain listed");
	CHECK_STR(a.txt, "bad sender", "rhsbl TXT");
	a = domain("Spammer.Example.", "rhs.test", "127.0.0.2");
	CHECK_RESULT(a, DNSBL_HIT, "rhsbl: case and trailing dot");
	a = domain("good.example", "rhs.test", NULL);
	CHECK_RESULT(a, DNSBL_MISS, "rhsbl: unlisted domain");
	a = domain("[192.0.2.1]", "rhs.test", NULL);
	CHECK_RESULT(a, DNSBL_MISS, "rhsbl: address literal is not looked up");
	a = domain("", "rhs.test", NULL);
	CHECK_RESULT(a, DNSBL_MISS, "rhsbl: empty domain");
	a = domain("evil\r\nexample", "rhs.test", NULL);
	CHECK_RESULT(a, DNSBL_MISS, "rhsbl: control bytes are not looked up");
	a = domain("a..example", "rhs.test", NULL);
	CHECK_RESULT(a, DNSBL_MISS, "rhsbl: empty label");
	a = domain("x", "bad zone", NULL);
	CHECK_RESULT(a, DNSBL_ERROR, "a bad zone is an error");
	a = client("127.0.0.2", "bl.test", "127.0.0", NULL);
	CHECK_RESULT(a, DNSBL_ERROR, "a bad filter is an error");
	CHECK(!cb_inside_call, "cb never ran inside the starting call");

	/* Resolver trouble. */
	a = client("192.0.2.8", "bl.test", NULL, NULL);
	CHECK_RESULT(a, DNSBL_ERROR, "SERVFAIL is an error");
	CHECK_STR(a.why, "SERVFAIL", "named in why");
	a = client("192.0.2.9", "bl.test", NULL, NULL);
	CHECK_RESULT(a, DNSBL_ERROR, "TC without an answer is an error");
	D = Dretry;
	a = client("192.0.2.10", "bl.test", NULL, &ms);
	CHECK_RESULT(a, DNSBL_HIT, "answered after a retry");
	CHECK_STR(a.txt, "again", "TXT also after its retry");
	CHECK(ms < RETRY_MS, "within the timeout (%llu ms)",
	      (unsigned long long)ms);
	D = Dshort;
	a = client("192.0.2.6", "bl.test", NULL, &ms);
	CHECK_RESULT(a, DNSBL_TIMEOUT, "a silent resolver times out");
	CHECK(ms >= SHORT_MS - 10 && ms < SHORT_MS + 1000,
	      "after the timeout (%llu ms)", (unsigned long long)ms);
	a = client("192.0.2.11", "bl.test", NULL, &ms);
	CHECK_RESULT(a, DNSBL_HIT, "no TXT in time: still a hit");
	CHECK(a.txt[0] == '\0' && ms >= SHORT_MS - 10 &&
	      ms < SHORT_MS + 1000,
	      "without text, at the overall timeout (%llu ms)",
	      (unsigned long long)ms);
	D = Dlong;
}

static void
test_hostile(void)
{
	static const char *const forged[] = {
		"wrong id", "wrong port", "wrong address", "garbage",
		"cut short", "compression loop", "label-pointer loop",
		"forward pointer", "another question", "name > 255 bytes",
	};
	struct dnsbl_answer a;
	char ip[32];
	size_t i;

	/* Each sends a reply claiming a listing first: believing it would
	 * be a HIT; the true answer that follows is NXDOMAIN. */
	for (i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
		snprintf(ip, sizeof(ip), "192.0.2.%zu", 30 + i);
		a = client(ip, "bl.test", NULL, NULL);
		CHECK_RESULT(a, DNSBL_MISS, "%s: ignored", forged[i]);
	}
	a = client("192.0.2.17", "bl.test", NULL, NULL);
	CHECK_RESULT(a, DNSBL_HIT, "forged replies, then the true hit");
	CHECK_STR(a.txt, "real", "the true TXT, not the forged one");
	D = Dshort;
	a = client("192.0.2.16", "bl.test", NULL, NULL);
	CHECK_RESULT(a, DNSBL_TIMEOUT, "only a compression loop: timeout");
	D = Dlong;
}

static void
test_cancel_free(void)
{
	struct res r1 = { 0 }, r2 = { 0 }, r3 = { 0 }, r4 = { 0 };
	struct net_addr silent = addr("192.0.2.6"), hit = addr("127.0.0.2");
	struct dnsbl_query *q;
	char *err = NULL;
	struct dnsbl *d2;

	q = dnsbl_client(Dshort, &silent, "bl.test", NULL, result_cb, &r1);
	(void)dnsbl_client(Dlong, &hit, "bl.test", NULL, result_cb, &r2);
	dnsbl_cancel(q);
	q = dnsbl_domain(Dlong, "", "rhs.test", NULL, result_cb, &r3);
	dnsbl_cancel(q);	/* its result was already on its way */
	dnsbl_cancel(NULL);
	CHECK(run(1, 2 * ANSWER_MS) && r2.called &&
	      r2.a.result == DNSBL_HIT,
	      "the other look-up goes on");
	(void)run(1, SHORT_MS + 300);
	CHECK(!r1.called && !r3.called, "cancelled look-ups never call back");

	/* Free with look-ups running, waiting for TXT, and answered. */
	d2 = dnsbl_new(L, resolver, SHORT_MS, &err);
	(void)dnsbl_client(d2, &silent, "bl.test", NULL, result_cb, &r1);
	(void)dnsbl_client(d2, &hit, "bl.test", NULL, result_cb, &r4);
	(void)dnsbl_domain(d2, "", "rhs.test", NULL, result_cb, &r3);
	dnsbl_free(d2);
	(void)run(1, SHORT_MS + 300);
	CHECK(!r1.called && !r3.called && !r4.called,
	      "dnsbl_free: no callback afterwards");
}

/* A callback that cancels a sibling and frees the context. */
static struct dnsbl_query *sibling;
static struct dnsbl *victim;
static void
rude_cb(void *arg, const struct dnsbl_answer *a)
{
	result_cb(arg, a);
	dnsbl_cancel(sibling);
	dnsbl_free(victim);
	victim = NULL;
}

static void
test_reentry(void)
{
	struct res r1 = { 0 }, r2 = { 0 };
	struct net_addr hit = addr("127.0.0.2"), silent = addr("192.0.2.6");
	char *err = NULL;

	victim = dnsbl_new(L, resolver, SHORT_MS, &err);
	(void)dnsbl_domain(victim, "", "rhs.test", NULL, rude_cb, &r1);
	sibling = dnsbl_client(victim, &hit, "bl.test", NULL, result_cb, &r2);
	(void)dnsbl_client(victim, &silent, "bl.test", NULL, result_cb, &r2);
	CHECK(run(1, 2 * ANSWER_MS) && r1.called,
	      "a callback may cancel and free");
	(void)run(1, SHORT_MS + 300);
	CHECK(!r2.called, "nothing of the freed context calls back");
}

static void
test_limits(void)
{
	enum { N = DNSBL_INFLIGHT_MAX * 3 };
	enum { M = DNSBL_INFLIGHT_MAX + DNSBL_WAITING_MAX + 10 };
	static struct res r[M];
	struct net_addr hit = addr("127.0.0.2"), silent = addr("192.0.2.6");
	unsigned int hits = 0, timeouts = 0, errors = 0, i;
	struct dnsbl_answer a;
	unsigned int q = 0, ids = 0, ports = 0;

	memset(r, 0, sizeof(r));
	for (i = 0; i < N; i++)
		(void)dnsbl_client(Dlong, &hit, "bl.test", NULL, result_cb,
				   &r[i]);
	CHECK(run(N, 2 * ANSWER_MS), "%d look-ups at once all end", N);
	for (i = 0; i < N; i++)
		hits += r[i].a.result == DNSBL_HIT && r[i].calls == 1;
	CHECK(hits == N, "each a hit, called once (%u): the waiting ones "
	      "got their turn", hits);

	memset(r, 0, sizeof(r));
	for (i = 0; i < M; i++)
		(void)dnsbl_client(Dshort, &silent, "bl.test", NULL,
				   result_cb, &r[i]);
	CHECK(run(M, 2 * ANSWER_MS), "%d silent look-ups all end", M);
	for (i = 0; i < M; i++) {
		timeouts += r[i].a.result == DNSBL_TIMEOUT;
		errors += r[i].a.result == DNSBL_ERROR;
	}
	CHECK(timeouts == DNSBL_INFLIGHT_MAX + DNSBL_WAITING_MAX &&
	      errors == 10, "beyond the line, an error at once "
	      "(%u timeouts, %u errors)", timeouts, errors);

	/* Every look-up used its own port, every query a fresh id (a
	 * retry resends the same one: hence not all ids are distinct). */
	a = domain("stats", "rhs.test", NULL);
	CHECK_RESULT(a, DNSBL_HIT, "stub statistics");
	if (sscanf(a.txt, "queries=%u ids=%u ports=%u", &q, &ids,
		   &ports) != 3)
		q = 0;
	CHECK(q > 200 && ids > q * 3 / 4 && ports > q / 3,
	      "random ids and ports (%s)", a.txt);
}

static void
test_resolver_down(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	char res[64], *err = NULL;
	struct dnsbl *d;
	struct dnsbl_answer a;
	struct dnsbl *saved = D;
	uint64_t ms;

	/* A port that was just free: nobody listens there. */
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0)
		abort();
	close(fd);
	snprintf(res, sizeof(res), "127.0.0.1:%d", ntohs(sin.sin_port));
	d = dnsbl_new(L, res, ANSWER_MS, &err);
	D = d;
	a = client("127.0.0.2", "bl.test", NULL, &ms);
	D = saved;
	CHECK_RESULT(a, DNSBL_ERROR, "resolver down: an error");
	CHECK(ms < ANSWER_MS / 2, "at once, not at the timeout (%llu ms)",
	      (unsigned long long)ms);
	dnsbl_free(d);
}

int
main(int argc, char **argv)
{
	char *err = NULL;

	if (argc < 3) {
		fprintf(stderr, "usage: test_dnsbl PYTHON DNS_STUB\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	L = loop_new();
	loop_timer_init(&guard, guard_cb);
	test_config();
	if (!start_stub(argv[1], argv[2])) {
		CHECK(false, "the DNS stub starts");
		stop_stub();
		return test_done();
	}
	D = Dlong = dnsbl_new(L, resolver, ANSWER_MS, &err);
	CHECK(D != NULL, "dnsbl_new(%s): %s", resolver, err ? err : "ok");
	Dshort = dnsbl_new(L, resolver, SHORT_MS, &err);
	Dretry = dnsbl_new(L, resolver, RETRY_MS, &err);
	if (Dlong != NULL && Dshort != NULL && Dretry != NULL) {
		test_lookups();
		test_hostile();
		test_cancel_free();
		test_reentry();
		test_limits();
		test_resolver_down();
	}
	dnsbl_free(Dlong);
	dnsbl_free(Dshort);
	dnsbl_free(Dretry);
	loop_run_deferred(L);
	loop_free(L);
	free(err);
	stop_stub();
	return test_done();
}
