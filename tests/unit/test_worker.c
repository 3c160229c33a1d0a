/*
 * test_worker - the worker pool's fair, bounded queue (daemon/worker.h):
 * round robin across sources, a new source at the end of the current
 * round, the per-source cap, the global bound that pushes out the
 * heaviest source's oldest job, worker_has_room, cancel, the default
 * source's FIFO, and the jobs left at worker_pool_free.
 *
 * One worker, held by a "gate" job while the test builds the queue, so
 * the order in which the jobs then run is exact.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "loop.h"
#include "test.h"
#include "worker.h"

struct tjob {
	struct job job;
	char label[8];
	bool gate;		/* blocks in run() until opened */
	bool completed, refused;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static bool gate_open, gate_held;
static char order[256];		/* labels in run order, space-separated */
static unsigned int completions, want_completions;
static struct loop *L;

static void
t_run(struct job *job)
{
	struct tjob *t = (struct tjob *)job;

	pthread_mutex_lock(&mu);
	if (t->gate) {
		gate_held = true;
		pthread_cond_broadcast(&cv);
		while (!gate_open)
			pthread_cond_wait(&cv, &mu);
	} else {
		snprintf(order + strlen(order), sizeof(order) - strlen(order),
			 "%s%s", order[0] != '\0' ? " " : "", t->label);
	}
	pthread_mutex_unlock(&mu);
}

static void
t_complete(struct job *job)
{
	struct tjob *t = (struct tjob *)job;

	t->completed = true;
	t->refused = job->refused;
	if (++completions >= want_completions)
		loop_stop(L);
}

static void
t_init(struct tjob *t, const char *label, bool gate)
{
	memset(t, 0, sizeof(*t));
	t->job.run = t_run;
	t->job.complete = t_complete;
	snprintf(t->label, sizeof(t->label), "%s", label);
	t->gate = gate;
}

static void
timeout_cb(struct loop_timer *t)
{
	(void)t;
	loop_stop(L);
}

/* hold - a gate job takes the only worker; returns once it holds it. */
static void
hold(struct worker_pool *p, struct tjob *gate)
{
	t_init(gate, "gate", true);
	pthread_mutex_lock(&mu);
	gate_open = gate_held = false;
	order[0] = '\0';
	pthread_mutex_unlock(&mu);
	worker_submit(p, &gate->job);
	pthread_mutex_lock(&mu);
	while (!gate_held)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
}

static void
release(void)
{
	pthread_mutex_lock(&mu);
	gate_open = true;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

/* run_until - dispatch completions until n more arrived (or 3 s). */
static void
run_until(unsigned int n)
{
	struct loop_timer t;

	completions = 0;
	want_completions = n;
	loop_timer_init(&t, timeout_cb);
	loop_timer_set(L, &t, 3000);
	loop_run(L);
	loop_timer_cancel(L, &t);
}

static void
test_round_robin(struct worker_pool *p)
{
	struct tjob gate, j[8];
	static const char *const lab[8] = { "a1", "a2", "a3", "a4", "a5",
					    "b1", "b2", "c1" };
	static const char *const src[8] = { "A", "A", "A", "A", "A", "B",
					    "B", "C" };
	int i;

	hold(p, &gate);
	for (i = 0; i < 8; i++) {
		t_init(&j[i], lab[i], false);
		worker_submit_from(p, &j[i].job, src[i]);
	}
	{
		unsigned int jobs, sources;

		worker_queue_stats(p, &jobs, &sources);
		CHECK(jobs == 8 && sources == 3, "8 jobs queued in 3 sources "
		      "(%u, %u)", jobs, sources);
	}
	release();
	run_until(9);
	CHECK_STR(order, "a1 b1 c1 a2 b2 a3 a4 a5",
		  "one job of each source in turn, whatever one source queued");
}

/* A source that was idle joins the end of the current round. */
static struct worker_pool *rr_pool;
static struct tjob late;

static void
late_run(struct job *job)
{
	/* a1 runs: now D arrives (from this thread: the pool's lock makes
	 * that as good as the loop's) */
	t_run(job);
	worker_submit_from(rr_pool, &late.job, "D");
}

static void
test_new_source(struct worker_pool *p)
{
	struct tjob gate, j[6];
	static const char *const lab[6] = { "a1", "a2", "a3", "b1", "b2",
					    "b3" };
	int i;

	rr_pool = p;
	hold(p, &gate);
	for (i = 0; i < 6; i++) {
		t_init(&j[i], lab[i], false);
		if (i == 0)
			j[i].job.run = late_run;
		worker_submit_from(p, &j[i].job, i < 3 ? "A" : "B");
	}
	t_init(&late, "d1", false);
	release();
	run_until(8);
	CHECK_STR(order, "a1 b1 a2 d1 b2 a3 b3",
		  "a new source waits for one turn of each busy source, not "
		  "for their queues");
}

static void
test_per_source(struct worker_pool *p)
{
	struct tjob gate, j[5];
	int i;

	worker_pool_limit(p, 0, 2);
	hold(p, &gate);
	for (i = 0; i < 4; i++) {
		char l[4];

		snprintf(l, sizeof(l), "a%d", i + 1);
		t_init(&j[i], l, false);
		worker_submit_from(p, &j[i].job, "A");
	}
	CHECK(!worker_has_room(p, "A") && worker_has_room(p, "B"),
	      "worker_has_room: not for A (2 queued), yes for B");
	t_init(&j[4], "b1", false);
	worker_submit_from(p, &j[4].job, "B");
	/* the refusals complete before the gate opens */
	run_until(2);
	CHECK(j[2].completed && j[2].refused && j[3].completed && j[3].refused,
	      "per source 2: the 3rd and 4th job of A are refused at once");
	CHECK(!j[0].completed && !j[1].completed && !j[4].completed,
	      "... and the others wait");
	release();
	run_until(4);
	CHECK_STR(order, "a1 b1 a2", "... and run; the refused ones never");
	CHECK(!j[0].refused && !j[4].refused, "... not marked refused");
	worker_pool_limit(p, 0, 0);
}

static void
test_push_out(struct worker_pool *p)
{
	struct tjob gate, a[4], b[3];
	int i;

	worker_pool_limit(p, 4, 0);
	hold(p, &gate);
	for (i = 0; i < 4; i++) {
		char l[4];

		snprintf(l, sizeof(l), "a%d", i + 1);
		t_init(&a[i], l, false);
		worker_submit_from(p, &a[i].job, "A");
	}
	CHECK(!worker_has_room(p, "A") && worker_has_room(p, "B"),
	      "worker_has_room, queue full: not for A, yes for the lighter B");
	for (i = 0; i < 3; i++) {
		char l[4];

		snprintf(l, sizeof(l), "b%d", i + 1);
		t_init(&b[i], l, false);
		worker_submit_from(p, &b[i].job, "B");
	}
	run_until(3);
	CHECK(a[0].refused && a[1].refused,
	      "queue full (4): B's first two push out A's two oldest");
	CHECK(b[2].completed && b[2].refused,
	      "... B's third, with A and B at 2 each, is refused");
	release();
	run_until(5);
	CHECK_STR(order, "a3 b1 a4 b2", "... the rest run in turn");
	worker_pool_limit(p, 0, 0);
}

static void
test_cancel(struct worker_pool *p)
{
	struct tjob gate, a1, a2, b1;

	hold(p, &gate);
	t_init(&a1, "a1", false);
	t_init(&a2, "a2", false);
	t_init(&b1, "b1", false);
	worker_submit_from(p, &a1.job, "A");
	worker_submit_from(p, &a2.job, "A");
	worker_submit_from(p, &b1.job, "B");
	CHECK(worker_cancel(p, &a1.job), "a queued job can be cancelled");
	CHECK(!worker_cancel(p, &a1.job), "... once");
	CHECK(!worker_cancel(p, &gate.job), "the running job cannot");
	release();
	run_until(3);
	CHECK_STR(order, "a2 b1", "the cancelled job is not run");
	CHECK(!a1.completed, "... nor completed");
}

static void
test_default_fifo(struct worker_pool *p)
{
	struct tjob gate, j[4];
	int i;

	hold(p, &gate);
	for (i = 0; i < 4; i++) {
		char l[4];

		snprintf(l, sizeof(l), "j%d", i + 1);
		t_init(&j[i], l, false);
		worker_submit(p, &j[i].job);
	}
	release();
	run_until(5);
	CHECK_STR(order, "j1 j2 j3 j4", "worker_submit: one FIFO, as before");
}

static void
test_free_left(void)
{
	struct worker_pool *p = worker_pool_new(L, 1, "left");
	struct tjob gate, j[2];

	hold(p, &gate);
	t_init(&j[0], "x1", false);
	t_init(&j[1], "x2", false);
	worker_submit_from(p, &j[0].job, "X");
	worker_submit_from(p, &j[1].job, "Y");
	release();
	worker_pool_free(p);
	CHECK(j[0].completed && j[1].completed,
	      "worker_pool_free completes what was queued ...");
	CHECK((j[0].refused || strstr(order, "x1") != NULL) &&
	      (j[1].refused || strstr(order, "x2") != NULL),
	      "... run, or marked refused (%s)", order);
}

int
main(void)
{
	struct worker_pool *p;

	L = loop_new();
	p = worker_pool_new(L, 1, "test");
	test_round_robin(p);
	test_new_source(p);
	test_per_source(p);
	test_push_out(p);
	test_cancel(p);
	test_default_fifo(p);
	worker_pool_free(p);
	test_free_left();
	loop_free(L);
	return test_done();
}
