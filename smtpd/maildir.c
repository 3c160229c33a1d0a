/*
 * maildir - delivery into Maildirs on a worker pool.  See maildir.h.
 *
 * Untrusted input: the message bytes (only copied, CRLF made LF); the
 * Maildir trees are maildir_disk.c's.
 *
 * Shape: the loop thread owns the message and a buffer of converted
 * bytes (pending); at most one job per message is on the pool at a time
 * (OPEN, WRITE of what was pending, COMMIT, CLEANUP), and while it is
 * there the job's fields (the descriptors, inflight, the failure) are
 * the worker's alone.  Each completion calls md_kick, the one place
 * that decides what comes next.  A job that fails cleans up its own
 * files before it returns, so "failed" always means "nothing of ours
 * left on disk" once no job is in flight, except after a failure on the
 * loop side (out of memory) which CLEANUP then handles.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "maildir.h"
#include "maildir_disk.h"
#include "xalloc.h"

/* The host part of unique names: room for the time, pid and counter
 * within NAME_MAX (255). */
#define MD_HOST_MAX	160

enum md_op { MD_OPEN, MD_WRITE, MD_COMMIT, MD_CLEANUP };

struct maildir_msg {
	struct job job;
	struct loop *loop;
	struct worker_pool *pool;

	/* Loop side. */
	struct buf pending;		/* LF text not yet given to a job */
	bool cr;			/* the input so far ended in a CR */
	size_t inflight_len;
	bool busy;			/* a job is on the pool */
	bool held;			/* maildir_body said stop */
	bool ended, aborted, deferred, failed, committed;
	maildir_drained_fn *drained;
	void *arg;
	maildir_done_fn *done;
	void *done_arg;
	bool logged;			/* the failure was logged */

	/* Job side: the worker's while busy, the loop's otherwise. */
	enum md_op op;
	bool ran;
	struct buf inflight;
	struct maildir_disk d;		/* the files */
};

static const char *const md_reply[] = {
	[MAILDIR_OK] = "250 2.0.0 Ok: delivered to maildir",
	[MAILDIR_MAILBOX] = "450 4.2.0 Error: mailbox unavailable",
	[MAILDIR_SPACE] = "452 4.3.1 Error: insufficient system storage",
	[MAILDIR_IO] = "451 4.3.0 Error: local delivery failed",
};


/* md_run - on a worker thread: one step.  A step that fails cleans up
 * its files before it returns. */
static void
md_run(struct job *job)
{
	struct maildir_msg *m = (struct maildir_msg *)job;

	m->ran = true;
	switch (m->op) {
	case MD_OPEN:
		maildir_disk_open(&m->d);
		break;
	case MD_WRITE:
		(void)maildir_disk_write(&m->d, m->inflight.data,
					 m->inflight.len);
		break;
	case MD_COMMIT:
		maildir_disk_commit(&m->d);
		break;
	case MD_CLEANUP:
		break;
	}
	if (m->d.fail != MAILDIR_OK || m->op == MD_CLEANUP)
		maildir_disk_cleanup(&m->d);
}

/* --- on the loop --------------------------------------------------- */

static void
md_free(struct maildir_msg *m)
{
	size_t i;

	for (i = 0; i < m->d.n; i++)
		free(m->d.t[i].dir);
	free(m->d.t);
	buf_free(&m->pending);
	buf_free(&m->inflight);
	free(m);
}

static void
md_submit(struct maildir_msg *m, enum md_op op)
{
	m->op = op;
	m->ran = false;
	m->busy = true;
	worker_submit(m->pool, &m->job);
}

/* md_log - the failure, once, where it is handled. */
static void
md_log(struct maildir_msg *m)
{
	if (m->d.fail != MAILDIR_OK && !m->logged)
		log_warnx("maildir %s: %s: %s", m->d.t[m->d.fail_idx].dir,
			  m->d.fail_what, m->d.fail_errno != 0 ?
			  strerror(m->d.fail_errno) : "failed");
	if (m->d.fail != MAILDIR_OK)
		m->logged = true;
	if (m->d.not_withdrawn > 0)
		log_warnx("maildir %s: %zu new/ entries already read could not "
			  "be withdrawn; the sender's retry duplicates them",
			  m->d.t[0].dir, m->d.not_withdrawn);
	m->d.not_withdrawn = 0;
}

static void
md_finish(struct maildir_msg *m)
{
	enum maildir_fail f = m->d.fail;

	if (!m->committed && f == MAILDIR_OK)
		f = MAILDIR_IO;	/* failed on the loop side */
	m->done(m->done_arg, m->committed, md_reply[f]);
	md_free(m);
}

/* md_kick - with no job on the pool: do what comes next. */
static void
md_kick(struct maildir_msg *m)
{
	if (m->busy || m->deferred)
		return;
	if (m->d.fd >= 0 && (m->failed || m->aborted)) {
		md_submit(m, MD_CLEANUP);
	} else if (m->aborted) {
		md_free(m);
	} else if (m->failed || m->committed) {
		if (m->ended)
			md_finish(m);
	} else if (m->pending.len > 0) {
		struct buf t = m->inflight;

		m->inflight = m->pending;
		m->pending = t;
		buf_reset(&m->pending);
		m->inflight_len = m->inflight.len;
		md_submit(m, MD_WRITE);
	} else if (m->ended) {
		md_submit(m, MD_COMMIT);
	}
}

/* md_complete - a job is back.  One that never ran (the pool is being
 * freed, at shutdown) fails, and its files go here, on the loop: the
 * one place blocking is allowed, as nothing is served any more. */
static void
md_complete(struct job *job)
{
	struct maildir_msg *m = (struct maildir_msg *)job;
	maildir_drained_fn *drained = m->drained;
	void *arg = m->arg;
	bool wake;

	m->busy = false;
	if (!m->ran) {
		maildir_disk_fail(&m->d, 0, "pool stopped", 0, false);
		maildir_disk_cleanup(&m->d);
	}
	md_log(m);
	if (m->d.fail != MAILDIR_OK)
		m->failed = true;
	else if (m->op == MD_COMMIT)
		m->committed = true;
	buf_reset(&m->inflight);
	m->inflight_len = 0;
	wake = m->held && !m->ended && !m->aborted && drained != NULL &&
	       (m->failed || m->pending.len <= MAILDIR_BACKLOG / 2);
	if (wake)
		m->held = false;
	md_kick(m);		/* m is freed if ended or aborted */
	if (wake)
		drained(arg);
}

static void
md_deferred(void *p)
{
	struct maildir_msg *m = p;

	m->deferred = false;
	md_kick(m);
}

/* --- API ----------------------------------------------------------- */

bool
maildir_host_safe(const char *host, char *out, size_t outlen)
{
	size_t o = 0;

	if (outlen == 0)
		return false;
	for (; *host != '\0'; host++) {
		unsigned char c = (unsigned char)*host;
		char esc[5];
		size_t k = 1;

		esc[0] = (char)c;
		if (c == '/' || c == ':' || c == '\\' || c < 0x21 || c > 0x7e)
			k = (size_t)snprintf(esc, sizeof(esc), "\\%03o", c);
		if (o + k >= outlen) {
			out[o] = '\0';
			return false;
		}
		memcpy(out + o, esc, k);
		o += k;
	}
	out[o] = '\0';
	return true;
}

/* md_unique - the spec's unique names: time.MusecPpidQn.host, n counting
 * the deliveries of this process (one per Maildir, so two spellings of
 * one Maildir still get two names). */
static void
md_unique(struct maildir_msg *m)
{
	static char host[MD_HOST_MAX];
	static unsigned long counter;
	struct timeval tv;
	size_t i;

	if (host[0] == '\0') {
		char raw[256];

		if (gethostname(raw, sizeof(raw)) < 0)
			raw[0] = '\0';
		raw[sizeof(raw) - 1] = '\0';
		if (raw[0] == '\0')
			(void)snprintf(raw, sizeof(raw), "localhost");
		(void)maildir_host_safe(raw, host, sizeof(host));
	}
	gettimeofday(&tv, NULL);
	for (i = 0; i < m->d.n; i++) {
		unsigned long q = __atomic_add_fetch(&counter, 1,
						     __ATOMIC_RELAXED);
		int k = snprintf(m->d.t[i].name, sizeof(m->d.t[i].name),
				 "%lld.M%ldP%ldQ%lu.%s", (long long)tv.tv_sec,
				 (long)tv.tv_usec, (long)getpid(), q, host);

		if (k < 0 || (size_t)k >= sizeof(m->d.t[i].name))
			panic("maildir: unique name does not fit");
	}
}

static int
md_dir_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* md_check_dir - a usable Maildir path: absolute, no control byte, room
 * for "/tmp/" and a name. */
static const char *
md_check_dir(const char *d)
{
	size_t i;

	if (d == NULL || d[0] != '/')
		return "not an absolute path";
	for (i = 0; d[i] != '\0'; i++)
		if ((unsigned char)d[i] < 0x20 || d[i] == 0x7f)
			return "control character";
	if (i + 5 + NAME_MAX >= PATH_MAX)
		return "too long";
	return NULL;
}

struct maildir_msg *
maildir_begin(struct loop *l, struct worker_pool *pool,
	      const char *const *dirs, size_t n, bool create,
	      maildir_drained_fn *drained, void *arg, char **errmsg_r)
{
	struct maildir_msg *m;
	const char **sorted;
	size_t i, k;

	if (n == 0 || n > MAILDIR_TARGETS_MAX) {
		*errmsg_r = xasprintf("maildir: %zu maildirs (1 to %u)", n,
				      MAILDIR_TARGETS_MAX);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		const char *why = md_check_dir(dirs[i]);

		if (why != NULL) {
			*errmsg_r = xasprintf("maildir %zu: %s", i + 1, why);
			return NULL;
		}
	}
	/* Exact duplicates (two addresses, one Maildir) get one copy. */
	sorted = xcalloc(n, sizeof(*sorted));
	memcpy(sorted, dirs, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), md_dir_cmp);
	m = xcalloc(1, sizeof(*m));
	m->d.t = xcalloc(n, sizeof(*m->d.t));
	for (i = k = 0; i < n; i++)
		if (k == 0 || strcmp(sorted[i], m->d.t[k - 1].dir) != 0)
			m->d.t[k++].dir = xstrdup(sorted[i]);
	free(sorted);
	m->d.n = k;
	m->loop = l;
	m->pool = pool;
	m->d.create = create;
	m->drained = drained;
	m->arg = arg;
	m->d.fd = m->d.tmpdir = -1;
	m->job.run = md_run;
	m->job.complete = md_complete;
	buf_init(&m->pending);
	md_unique(m);
	md_submit(m, MD_OPEN);
	return m;
}

/* md_to_lf - append (p, n) to pending with CRLF made LF; a CR at the
 * end waits for the next call. */
static void
md_to_lf(struct maildir_msg *m, const char *p, size_t n)
{
	while (n > 0) {
		const char *cr;
		size_t k;

		if (m->cr) {
			m->cr = false;
			if (*p == '\n') {
				buf_append_c(&m->pending, '\n');
				p++;
				n--;
				continue;
			}
			buf_append_c(&m->pending, '\r');
		}
		cr = memchr(p, '\r', n);
		k = cr != NULL ? (size_t)(cr - p) : n;
		buf_append(&m->pending, p, k);
		p += k;
		n -= k;
		if (cr != NULL) {
			m->cr = true;
			p++;
			n--;
		}
	}
}

bool
maildir_body(struct maildir_msg *m, const char *p, size_t n)
{
	if (m->failed || m->ended || m->aborted)
		return true;
	md_to_lf(m, p, n);
	if (!buf_ok(&m->pending)) {
		/* Not maildir_disk_fail: a job may own those fields now. */
		log_warnx("maildir %s: out of memory for the message",
			  m->d.t[0].dir);
		m->failed = true;
		buf_reset(&m->pending);
	}
	md_kick(m);
	if (m->failed || m->pending.len + m->inflight_len <= MAILDIR_BACKLOG)
		return true;
	m->held = true;
	return false;
}

void
maildir_end(struct maildir_msg *m, maildir_done_fn *done, void *arg)
{
	m->done = done;
	m->done_arg = arg;
	m->ended = true;
	if (m->cr && !m->failed)
		buf_append_c(&m->pending, '\r');
	m->cr = false;
	/* done must not run inside this call: only an outcome known now
	 * (an earlier failure, no job in flight) could make it. */
	if (!m->busy && m->failed && m->d.fd < 0) {
		m->deferred = true;
		loop_defer(m->loop, md_deferred, m);
		return;
	}
	md_kick(m);
}

void
maildir_abort(struct maildir_msg *m)
{
	if (m == NULL)
		return;
	m->aborted = true;
	m->done = NULL;
	m->drained = NULL;
	md_kick(m);
}
