/*
 * test_check - the check pipeline (authd/check.h) end to end in one
 * process: a real event loop, one hash worker, the throttle, the cache
 * and a temporary store, with auth_failure_delay = 200ms.  Each request
 * starts from a loop callback, as a socket's would, and the loop runs
 * until done() is called or a time limit passes (a hang fails the check
 * instead of blocking the suite).
 *
 * Covered: the right password gives done(AUTH_OK, the normalised name);
 * a wrong password, an unknown user and a locked account give AUTH_FAIL
 * at the failure delay counted from the request's start (also when the
 * request waited for a busy worker), and a second failure doubles it; a
 * malformed name or password fails without a worker (answered inside
 * check_start when no delay is asked for) and a locked account does not
 * (it fails like a wrong password); auth_realm_mechanisms refuses a
 * mechanism in a realm, for check_start and check_report alike; a check
 * stuck behind the worker past auth_reply_max is answered AUTH_TEMPFAIL
 * then; with the cache, a repeated login is answered without a worker, a
 * wrong password does not drop the entry, and a re-committed record (new
 * password, locked) misses; check_cancel, while a worker has the check
 * or while its failure is held back, means done() is never called and
 * the check is freed; check_report passes AUTH_OK, AUTH_FAIL (delayed
 * and counted by the throttle) and AUTH_TEMPFAIL (at once, not counted).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "authd_fixture.h"
#include "cache.h"
#include "check.h"
#include "log.h"
#include "loop.h"
#include "mech.h"
#include "server.h"
#include "test.h"
#include "throttle.h"
#include "worker.h"

#define DELAY		200	/* auth_failure_delay, ms */
#define REPLY_MAX	1000	/* auth_reply_max, ms */
#define SLACK		150	/* how late a delayed answer may come, ms */
#define LIMIT		3000	/* a run that takes longer has hung */

static struct fixture_store store;

/* ------------------------------------------------------------------ */
/* The harness: one request per loop run.                              */

enum pre { PRE_NONE, PRE_NEW_PASSWORD, PRE_LOCK };

struct req {
	const char *login, *password;
	const char *mech;		/* NULL: a mux request */
	bool no_delay;
	/* check_report instead of check_start: */
	bool report;
	enum auth_result reported;
	bool report_unnamed;		/* report with name NULL */
	unsigned int busy_ms;		/* the worker is busy this long first */
	int cancel_ms;			/* check_cancel then (-1: never) */
};

struct want {
	int calls;			/* 0: done() never called */
	enum auth_result result;
	const char *key;		/* the name given to done(), or NULL */
	int sync;			/* 1: inside check_start, 0: later,
					 * -1: either */
	int min_ms, max_ms;		/* when done() came (-1: any) */
};

static struct {
	int calls;
	enum auth_result result;
	bool named;
	char key[USERDB_KEY_MAX + 1];
	bool sync;
	double ms;
	bool hung;
	unsigned int pending_before_cancel, pending_after_cancel;
} got;

static const struct req *cur;
static struct check *handle;
static bool starting;
static double t0;
static struct loop_timer start_timer, limit_timer, cancel_timer;

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void
done_cb(void *ctx, enum auth_result result, const struct userdb_name *name)
{
	(void)ctx;
	got.calls++;
	got.result = result;
	got.named = name != NULL;
	snprintf(got.key, sizeof(got.key), "%s", name ? name->key : "");
	got.sync = starting;
	got.ms = now_ms() - t0;
	handle = NULL;
	loop_stop(authd.loop);
}

/* The busy worker: a job that holds the only hash worker. */
static unsigned int busy_ms;
static bool busy_done;

static void
busy_run(struct job *job)
{
	(void)job;
	usleep(busy_ms * 1000);
}

static void
busy_complete(struct job *job)
{
	(void)job;
	busy_done = true;
}

static struct job busy_job = { .run = busy_run, .complete = busy_complete };

static void
start_cb(struct loop_timer *t)
{
	const struct req *r = cur;
	struct auth_request ar;
	struct userdb_name name;

	(void)t;
	memset(&ar, 0, sizeof(ar));
	ar.via = "mux";
	ar.login = r->login;
	ar.login_len = strlen(r->login);
	ar.service = "smtp";
	ar.service_len = 4;
	ar.password = r->password;
	ar.password_len = strlen(r->password);
	ar.no_delay = r->no_delay;
	ar.mech = r->mech;
	ar.done = done_cb;
	if (r->busy_ms > 0) {
		busy_ms = r->busy_ms;
		busy_done = false;
		worker_submit(authd.hash_pool, &busy_job);
	}
	starting = true;
	t0 = now_ms();
	if (r->report) {
		bool named = !r->report_unnamed &&
			userdb_name_parse(r->login, strlen(r->login), NULL, 0,
					  &authd.set->rules, &name) == NULL;

		handle = check_report(&ar, named ? &name : NULL, r->reported,
				      "decided by the mechanism");
	} else {
		handle = check_start(&ar);
	}
	starting = false;
	if (r->cancel_ms == 0 && handle != NULL) {
		got.pending_before_cancel = check_pending();
		check_cancel(handle);
		handle = NULL;
		got.pending_after_cancel = check_pending();
	} else if (r->cancel_ms > 0) {
		loop_timer_set(authd.loop, &cancel_timer, (uint64_t)r->cancel_ms);
	}
}

static void
cancel_cb(struct loop_timer *t)
{
	(void)t;
	got.pending_before_cancel = check_pending();
	if (handle != NULL)
		check_cancel(handle);
	handle = NULL;
	got.pending_after_cancel = check_pending();
}

static void
limit_cb(struct loop_timer *t)
{
	(void)t;
	got.hung = true;
	loop_stop(authd.loop);
}

/* settle - run the loop until no check and no busy job is left, so the
 * next request starts clean (a cancelled check still ends in the
 * background). */
static void
settle_cb(struct loop_timer *t)
{
	if (check_pending() == 0 && (busy_ms == 0 || busy_done))
		loop_stop(authd.loop);
	else
		loop_timer_set(authd.loop, t, 5);
}

static bool
settle(void)
{
	struct loop_timer poll;
	bool hung = got.hung;

	loop_timer_init(&poll, settle_cb);
	loop_timer_set(authd.loop, &poll, 0);
	loop_timer_set(authd.loop, &limit_timer, LIMIT);
	got.hung = false;
	loop_run(authd.loop);
	loop_timer_cancel(authd.loop, &poll);
	loop_timer_cancel(authd.loop, &limit_timer);
	busy_ms = 0;
	if (got.hung)
		printf("# the loop did not settle: %u checks pending\n",
		       check_pending());
	hung = hung || got.hung;
	got.hung = hung;
	return !hung;
}

/* run - the request r; the loop runs until done() or, when r cancels,
 * for 50ms more, then until the check has ended in the background (a
 * done() that comes then is still counted). */
static void
run(const struct req *r)
{
	memset(&got, 0, sizeof(got));
	cur = r;
	handle = NULL;
	loop_timer_set(authd.loop, &start_timer, 0);
	if (r->cancel_ms < 0)
		loop_timer_set(authd.loop, &limit_timer, LIMIT);
	else
		loop_timer_set(authd.loop, &limit_timer,
			       (uint64_t)r->cancel_ms + 50);
	loop_run(authd.loop);
	loop_timer_cancel(authd.loop, &start_timer);
	loop_timer_cancel(authd.loop, &limit_timer);
	loop_timer_cancel(authd.loop, &cancel_timer);
	if (r->cancel_ms >= 0)
		got.hung = false;	/* the limit was the end of the wait */
	(void)settle();
}

static void
reset_throttle(void)
{
	throttle_free(authd.throttle);
	authd.throttle = throttle_new(1024, 60000);
}

/* expect - one CHECK of got against w. */
static void
expect(const char *desc, const struct want *w)
{
	bool ok = !got.hung && got.calls == w->calls;

	if (w->calls > 0)
		ok = ok && got.result == w->result &&
		     got.named == (w->key != NULL) &&
		     (w->key == NULL || strcmp(got.key, w->key) == 0) &&
		     (w->sync < 0 || got.sync == (w->sync == 1)) &&
		     (w->min_ms < 0 || got.ms >= w->min_ms) &&
		     (w->max_ms < 0 || got.ms <= w->max_ms);
	CHECK(ok, "%s (%s%d call%s, result %d, name %s, %s, %.0fms)", desc,
	      got.hung ? "HUNG, " : "", got.calls, got.calls == 1 ? "" : "s",
	      got.result, got.named ? got.key : "none",
	      got.sync ? "inside check_start" : "from the loop", got.ms);
}

/* ------------------------------------------------------------------ */

#define OK_WORKER(key)	{ 1, AUTH_OK, key, 0, -1, -1 }
#define OK_AT_ONCE(key)	{ 1, AUTH_OK, key, 1, -1, -1 }
#define FAIL_DELAYED(key, n) \
	{ 1, AUTH_FAIL, key, 0, (n) * DELAY - 2, (n) * DELAY + SLACK }
#define FAIL_AT_ONCE(key) { 1, AUTH_FAIL, key, 1, -1, -1 }
#define FAIL_WORKER(key) { 1, AUTH_FAIL, key, 0, -1, -1 }

#define ALICE	"alice@example.org"

static void
test_requests(void)
{
	static const struct {
		struct req r;
		struct want w;
		const char *desc;
	} v[] = {
		{ { "alice", "alice-pw", NULL, false, false, 0, false, 0, -1 },
		  OK_WORKER(ALICE), "right password: AUTH_OK, from the worker" },
		{ { "Alice@Example.ORG", "alice-pw", NULL, false, false, 0, false,
		    0, -1 }, OK_WORKER(ALICE),
		  "right password, name in other case: the normalised name" },
		{ { "alice", "alice-wrong", NULL, false, false, 0, false, 0, -1 },
		  FAIL_DELAYED(ALICE, 1),
		  "wrong password: AUTH_FAIL at the failure delay" },
		{ { "nobody", "alice-pw", NULL, false, false, 0, false, 0, -1 },
		  FAIL_DELAYED("nobody@example.org", 1),
		  "unknown user: AUTH_FAIL at the same delay" },
		{ { "lock", "lock-pw", NULL, false, false, 0, false, 0, -1 },
		  FAIL_DELAYED("lock@example.org", 1),
		  "locked account, right password: AUTH_FAIL at the same delay" },
		{ { "lock", "lock-pw", NULL, true, false, 0, false, 0, -1 },
		  FAIL_WORKER("lock@example.org"),
		  "locked account without delay: still checked by the worker, "
		  "like a wrong password" },
		{ { "alice", "alice-wrong", NULL, true, false, 0, false, 0, -1 },
		  FAIL_WORKER(ALICE), "wrong password without delay: the worker" },
		{ { "bad:name", "pw", NULL, true, false, 0, false, 0, -1 },
		  FAIL_AT_ONCE(NULL),
		  "malformed name without delay: answered inside check_start, "
		  "no worker, no name" },
		{ { "alice@", "pw", NULL, true, false, 0, false, 0, -1 },
		  FAIL_AT_ONCE(NULL), "empty realm: the same" },
		{ { "bad:name", "pw", NULL, false, false, 0, false, 0, -1 },
		  FAIL_DELAYED(NULL, 1),
		  "malformed name: the failure delay still applies" },
		{ { "alice", "", NULL, true, false, 0, false, 0, -1 },
		  FAIL_AT_ONCE(ALICE), "empty password: no worker" },
		{ { "carol", "carol-pw", NULL, false, false, 0, false, 0, -1 },
		  OK_AT_ONCE("carol@example.org"),
		  "cleartext record, right password: answered on the loop, no "
		  "worker (only failures go to one, to be padded)" },
		{ { "carol", "carol-wrong", NULL, false, false, 0, false, 0, -1 },
		  FAIL_DELAYED("carol@example.org", 1),
		  "cleartext record, wrong password: failed on a worker" },
		{ { "alice", "alice-wrong", NULL, false, false, 0, false, 150,
		    -1 }, { 1, AUTH_FAIL, ALICE, 0, DELAY - 2, DELAY + 100 },
		  "wrong password after 150ms waiting for the worker: still "
		  "answered at 200ms, not 350 (the delay runs from the start)" },
		{ { "alice", "alice-pw", NULL, false, false, 0, false,
		    REPLY_MAX + 100, -1 },
		  { 1, AUTH_TEMPFAIL, ALICE, 0, REPLY_MAX - 2, REPLY_MAX + SLACK },
		  "a check stuck behind the worker: AUTH_TEMPFAIL at "
		  "auth_reply_max" },
		/* auth_realm_mechanisms = strict.example:SCRAM-SHA-256 */
		{ { "sam@strict.example", "sam-pw", "PLAIN", true, false, 0, false,
		    0, -1 }, FAIL_AT_ONCE("sam@strict.example"),
		  "PLAIN in a realm held to SCRAM-SHA-256: AUTH_FAIL, no worker" },
		{ { "sam@strict.example", "sam-pw", "LOGIN", true, false, 0,
		    false, 0, -1 }, FAIL_AT_ONCE("sam@strict.example"),
		  "LOGIN there: the same" },
		{ { "sam@strict.example", "sam-pw", NULL, false, false, 0, false,
		    0, -1 }, OK_WORKER("sam@strict.example"),
		  "a mux request (no mechanism) there: AUTH_OK" },
		{ { "alice", "alice-pw", "PLAIN", false, false, 0, false, 0, -1 },
		  OK_WORKER(ALICE), "PLAIN in a realm not listed: AUTH_OK" },
		/* check_report */
		{ { "alice", "", "CRAM-MD5", false, true, AUTH_OK, false, 0, -1 },
		  OK_AT_ONCE(ALICE), "report AUTH_OK: done(AUTH_OK, name) at once" },
		{ { "alice", "", "CRAM-MD5", false, true, AUTH_FAIL, false, 0, -1 },
		  FAIL_DELAYED(ALICE, 1),
		  "report AUTH_FAIL: at the failure delay, like a password" },
		{ { "nobody:x", "", "CRAM-MD5", true, true, AUTH_FAIL, true, 0,
		    -1 }, FAIL_AT_ONCE(NULL),
		  "report AUTH_FAIL without a name: done() without a name" },
		{ { "alice", "", "CRAM-MD5", false, true, AUTH_TEMPFAIL, false, 0,
		    -1 }, { 1, AUTH_TEMPFAIL, ALICE, 1, -1, -1 },
		  "report AUTH_TEMPFAIL: at once, never delayed" },
		{ { "sam@strict.example", "", "SCRAM-SHA-256", false, true,
		    AUTH_OK, false, 0, -1 }, OK_AT_ONCE("sam@strict.example"),
		  "report AUTH_OK for the realm's own mechanism: AUTH_OK" },
		{ { "sam@strict.example", "", "CRAM-MD5", true, true, AUTH_OK,
		    false, 0, -1 }, FAIL_AT_ONCE("sam@strict.example"),
		  "report AUTH_OK for a mechanism the realm refuses: AUTH_FAIL" },
		{ { "sam@strict.example", "", "CRAM-MD5", false, true,
		    AUTH_TEMPFAIL, false, 0, -1 },
		  { 1, AUTH_TEMPFAIL, "sam@strict.example", 1, -1, -1 },
		  "report AUTH_TEMPFAIL there: stays a temporary failure" },
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		reset_throttle();
		run(&v[i].r);
		expect(v[i].desc, &v[i].w);
	}
}

/* test_throttle - the pipeline feeds the throttle: failures add up per
 * user, reported ones too, a success clears them, and a temporary
 * failure is not counted. */
static void
test_throttle(void)
{
	static const struct req wrong = { "alice", "alice-wrong", NULL, false,
					  false, 0, false, 0, -1 };
	static const struct req right = { "alice", "alice-pw", NULL, false,
					  false, 0, false, 0, -1 };
	static const struct req rep_fail = { "bob", "", "SCRAM-SHA-1", false,
					     true, AUTH_FAIL, false, 0, -1 };
	static const struct req rep_temp = { "bob", "", "SCRAM-SHA-1", false,
					     true, AUTH_TEMPFAIL, false, 0, -1 };
	static const struct want fail1 = FAIL_DELAYED(ALICE, 1),
				 fail2 = FAIL_DELAYED(ALICE, 2);
	uint64_t now;

	reset_throttle();
	run(&wrong);
	expect("throttle: first wrong password at 200ms", &fail1);
	run(&wrong);
	expect("throttle: second wrong password at 400ms", &fail2);
	run(&right);
	run(&wrong);
	expect("throttle: after a success, 200ms again", &fail1);

	reset_throttle();
	run(&rep_temp);
	run(&rep_fail);
	now = loop_now(authd.loop);
	CHECK(throttle_failure(authd.throttle, "bob@example.org", NULL, now) == 2,
	      "throttle: a reported AUTH_FAIL was counted, a reported "
	      "AUTH_TEMPFAIL was not (bob's next failure is his second)");
}

/* test_cache - auth_cache = yes, in order. */
static void
test_cache(void)
{
	static const struct {
		enum pre pre;
		struct req r;
		struct want w;
		const char *desc;
	} v[] = {
		{ PRE_NONE, { "alice", "alice-pw", NULL, true, false, 0, false, 0,
			      -1 }, OK_WORKER(ALICE),
		  "cache: the first login needs the worker" },
		{ PRE_NONE, { "alice", "alice-pw", NULL, true, false, 0, false, 0,
			      -1 }, OK_AT_ONCE(ALICE),
		  "cache: the second is answered at once, no worker" },
		{ PRE_NONE, { "ALICE", "alice-pw", NULL, true, false, 0, false, 0,
			      -1 }, OK_AT_ONCE(ALICE),
		  "cache: so is another spelling of the name" },
		{ PRE_NONE, { "alice", "alice-wrong", NULL, true, false, 0, false,
			      0, -1 }, FAIL_WORKER(ALICE),
		  "cache: a wrong password misses and fails on the worker" },
		{ PRE_NONE, { "alice", "alice-pw", NULL, true, false, 0, false, 0,
			      -1 }, OK_AT_ONCE(ALICE),
		  "cache: ... and did not drop the entry" },
		{ PRE_NEW_PASSWORD, { "alice", "alice-pw", NULL, true, false, 0,
				      false, 0, -1 }, FAIL_WORKER(ALICE),
		  "cache: after a new password is committed the old one misses "
		  "and fails" },
		{ PRE_NONE, { "alice", "alice-new", NULL, true, false, 0, false, 0,
			      -1 }, OK_WORKER(ALICE),
		  "cache: the new password needs the worker once" },
		{ PRE_NONE, { "alice", "alice-new", NULL, true, false, 0, false, 0,
			      -1 }, OK_AT_ONCE(ALICE),
		  "cache: then hits" },
		{ PRE_LOCK, { "alice", "alice-new", NULL, true, false, 0, false, 0,
			      -1 }, FAIL_WORKER(ALICE),
		  "cache: a locked account is not served from the cache" },
	};
	size_t i;

	authd.cache = cache_new(64, 60000);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		if (v[i].pre == PRE_NEW_PASSWORD)
			CHECK(fixture_store_user(&store, authd.set, "alice",
						 "alice-new", USERDB_V_CRYPT,
						 false), "commit a new password");
		else if (v[i].pre == PRE_LOCK)
			CHECK(fixture_store_user(&store, authd.set, "alice",
						 "alice-new", USERDB_V_CRYPT,
						 true), "commit alice locked");
		run(&v[i].r);
		expect(v[i].desc, &v[i].w);
	}
	cache_free(authd.cache);
	authd.cache = NULL;
	CHECK(fixture_store_user(&store, authd.set, "alice", "alice-pw",
				 USERDB_V_CRYPT, false), "alice restored");
}

static void
test_cancel(void)
{
	static const struct req working = { "alice", "alice-pw", NULL, false,
					    false, 0, false, 0, 0 };
	static const struct req delaying = { "alice", "alice-wrong", NULL,
					     false, false, 0, false, 0, 100 };
	static const struct want never = { 0, AUTH_OK, NULL, -1, -1, -1 };

	reset_throttle();
	run(&working);
	expect("cancel while the worker has the check: done() never called",
	       &never);
	CHECK(got.pending_before_cancel == 1 && check_pending() == 0,
	      "... and the check was freed once the worker finished "
	      "(pending %u, then %u)", got.pending_before_cancel,
	      check_pending());
	run(&delaying);
	expect("cancel while a failure is held back: done() never called",
	       &never);
	CHECK(got.pending_before_cancel == 1 && got.pending_after_cancel == 0,
	      "... and the check was freed at once (pending %u, then %u)",
	      got.pending_before_cancel, got.pending_after_cancel);
}

int
main(void)
{
	char delay[16], reply_max[16];
	const char *why;

	log_init("test_check", false, 0, true);
	if (!fixture_store_init(&store))
		return 1;
	snprintf(delay, sizeof(delay), "%dms", DELAY);
	snprintf(reply_max, sizeof(reply_max), "%dms", REPLY_MAX);
	{
		const char *const kv[] = {
			"default_realm", "example.org",
			"store_path", store.path,
			"password_scheme", "sha512-crypt",
			"password_cost", "1000",
			"auth_failure_delay", delay,
			"auth_failure_delay_max", "800ms",
			"auth_reply_max", reply_max,
			NULL,
		};

		authd.set = fixture_settings(kv);
	}
	CHECK(authd.set != NULL, "settings load");
	if (authd.set == NULL)
		return test_done();
	CHECK(fixture_store_user(&store, authd.set, "alice", "alice-pw",
				 USERDB_V_CRYPT, false) &&
	      fixture_store_user(&store, authd.set, "lock", "lock-pw",
				 USERDB_V_CRYPT, true) &&
	      fixture_store_user(&store, authd.set, "carol", "carol-pw",
				 USERDB_V_CLEARTEXT, false) &&
	      fixture_store_user(&store, authd.set, "sam@strict.example",
				 "sam-pw", USERDB_V_CRYPT, false),
	      "store with alice, lock (locked), carol (cleartext) and sam");
	why = mech_enable("plain login cram-md5 digest-md5 scram-sha-1 "
			  "scram-sha-256", "strict.example:SCRAM-SHA-256");
	CHECK(why == NULL, "auth_realm_mechanisms = "
	      "strict.example:SCRAM-SHA-256 (%s)", why ? why : "ok");

	userdb_verify_dummy_init(&authd.set->hash);
	authd.loop = loop_new();
	authd.db = userdb_new(store.path);
	authd.hash_pool = worker_pool_new(authd.loop, 1, "hash");
	loop_timer_init(&start_timer, start_cb);
	loop_timer_init(&limit_timer, limit_cb);
	loop_timer_init(&cancel_timer, cancel_cb);

	test_requests();
	test_throttle();
	test_cache();
	test_cancel();
	CHECK(check_pending() == 0, "no check left pending");

	worker_pool_free(authd.hash_pool);
	throttle_free(authd.throttle);
	userdb_free(authd.db);
	loop_free(authd.loop);
	(void)mech_enable("plain", "");
	authd_settings_free(authd.set);
	fixture_store_remove(&store);
	return test_done();
}
