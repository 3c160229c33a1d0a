/*
 * maildir - delivery into Maildirs on a worker pool.  See maildir.h.
 *
 * Untrusted input: the message bytes (only copied, CRLF made LF) and
 * the Maildir trees (opened relative to each Maildir, no symbolic link
 * followed below it, files created O_EXCL).
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
 *
 * Durability, in the order a crash could interrupt it: the file's data
 * and inode (fsync of the file), then its name in each new/ (link, then
 * fsync of new/), and only then the answer.  A Maildir made on the way
 * has each new directory entry fsynced in its parent first.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "maildir.h"
#include "xalloc.h"

/* The host part of unique names: room for the time, pid and counter
 * within NAME_MAX (255). */
#define MD_HOST_MAX	160
#define MD_COPY_CHUNK	(64 * 1024)

enum md_op { MD_OPEN, MD_WRITE, MD_COMMIT, MD_CLEANUP };
enum md_fail { MD_OK, MD_MAILBOX, MD_SPACE, MD_IO };

struct md_target {
	char *dir;			/* the Maildir, absolute */
	char name[NAME_MAX + 1];	/* our unique name in it */
	bool in_tmp;			/* our file is in its tmp/ */
	bool in_new;			/* and in its new/ */
};

struct maildir_msg {
	struct job job;
	struct loop *loop;
	struct worker_pool *pool;
	struct md_target *t;
	size_t n;
	bool create;

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

	/* Job side: the worker's while busy, the loop's otherwise. */
	enum md_op op;
	bool ran;
	struct buf inflight;
	int tmpdir;			/* t[0]'s tmp/, or -1 */
	int fd;				/* t[0]'s file (read-write), or -1 */
	enum md_fail fail;		/* the first failure */
	int fail_errno;
	size_t fail_idx;
	const char *fail_what;
	size_t not_withdrawn;		/* new/ entries undo could not remove */
	bool logged;			/* the failure was logged */
};

static const char *const md_reply[] = {
	[MD_OK] = "250 2.0.0 Ok: delivered to maildir",
	[MD_MAILBOX] = "450 4.2.0 Error: mailbox unavailable",
	[MD_SPACE] = "452 4.3.1 Error: insufficient system storage",
	[MD_IO] = "451 4.3.0 Error: local delivery failed",
};

static void md_kick(struct maildir_msg *m);

/* --- on the worker ------------------------------------------------- */

/* md_failed - record the first failure; dir says whether errno came
 * from finding the Maildir (then a missing or unusable one is
 * "mailbox unavailable"). */
static void
md_failed(struct maildir_msg *m, size_t i, const char *what, int err,
	  bool dir)
{
	if (m->fail != MD_OK)
		return;
	if (err == ENOSPC || err == EDQUOT)
		m->fail = MD_SPACE;
	else if (dir && (err == ENOENT || err == ENOTDIR || err == EACCES ||
			 err == EPERM || err == ELOOP))
		m->fail = MD_MAILBOX;
	else
		m->fail = MD_IO;
	m->fail_errno = err;
	m->fail_idx = i;
	m->fail_what = what;
}

static bool
md_fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool ok;

	if (fd < 0)
		return false;
	ok = fsync(fd) == 0;
	close(fd);
	return ok;
}

/* md_mkdirs - make path and its missing parents (mode 0700), each new
 * entry fsynced in its parent so the Maildir survives a crash with the
 * message in it.  False with errno. */
static bool
md_mkdirs(const char *path)
{
	char p[PATH_MAX];
	size_t len = strlen(path), i;

	if (len >= sizeof(p)) {
		errno = ENAMETOOLONG;
		return false;
	}
	memcpy(p, path, len + 1);
	for (i = 1; i <= len; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		if (p[i - 1] == '/')
			continue;
		p[i] = '\0';
		if (mkdir(p, 0700) == 0) {
			char *slash = strrchr(p, '/');

			*slash = '\0';
			if (!md_fsync_path(slash == p ? "/" : p))
				return false;
			*slash = '/';
		} else if (errno != EEXIST) {
			return false;
		}
		p[i] = path[i];
	}
	return true;
}

/* md_mksubs - tmp/, new/ and cur/ in the Maildir root, then root's
 * entries made durable. */
static bool
md_mksubs(int root)
{
	static const char *const sub[] = { "tmp", "new", "cur" };
	size_t i;

	for (i = 0; i < 3; i++)
		if (mkdirat(root, sub[i], 0700) < 0 && errno != EEXIST)
			return false;
	return fsync(root) == 0;
}

/* md_open_maildir - t[i]'s tmp/ and new/ as directory descriptors
 * (either pointer may be NULL), making what is missing when create.
 * Below the Maildir nothing follows a symbolic link: its user may own
 * the tree.  False with the failure recorded. */
static bool
md_open_maildir(struct maildir_msg *m, size_t i, bool create, int *tmp_r,
		int *new_r)
{
	const int dflags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
	const char *dir = m->t[i].dir;
	int root, tmp = -1, new = -1;

	root = open(dir, dflags);
	if (root < 0 && errno == ENOENT && create) {
		if (!md_mkdirs(dir)) {
			md_failed(m, i, "mkdir", errno, true);
			return false;
		}
		root = open(dir, dflags);
	}
	if (root < 0) {
		md_failed(m, i, "open", errno, true);
		return false;
	}
	for (int pass = 0; pass < 2; pass++) {
		if (tmp_r != NULL && tmp < 0)
			tmp = openat(root, "tmp", dflags | O_NOFOLLOW);
		if (new_r != NULL && new < 0 && (tmp_r == NULL || tmp >= 0))
			new = openat(root, "new", dflags | O_NOFOLLOW);
		if ((tmp_r == NULL || tmp >= 0) && (new_r == NULL || new >= 0))
			break;
		if (pass == 1 || errno != ENOENT || !create)
			break;
		if (!md_mksubs(root))
			break;
	}
	if ((tmp_r != NULL && tmp < 0) || (new_r != NULL && new < 0)) {
		md_failed(m, i, "open tmp/ or new/", errno, true);
		if (tmp >= 0)
			close(tmp);
		if (new >= 0)
			close(new);
		close(root);
		return false;
	}
	close(root);
	if (tmp_r != NULL)
		*tmp_r = tmp;
	if (new_r != NULL)
		*new_r = new;
	return true;
}

static bool
md_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return false;
		}
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* md_cleanup - remove our tmp/ files and close what is open (a failure
 * here leaves a stray tmp/ file, which readers remove in 36 hours). */
static void
md_cleanup(struct maildir_msg *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		int tmp = i == 0 ? m->tmpdir : -1;

		if (!m->t[i].in_tmp)
			continue;
		if (tmp >= 0 || md_open_maildir(m, i, false, &tmp, NULL)) {
			(void)unlinkat(tmp, m->t[i].name, 0);
			if (i > 0)
				close(tmp);
		}
		m->t[i].in_tmp = false;
	}
	if (m->fd >= 0)
		close(m->fd);
	if (m->tmpdir >= 0)
		close(m->tmpdir);
	m->fd = m->tmpdir = -1;
}

/* md_open - the tmp/ file in the first Maildir; every other Maildir is
 * looked up (and made) now, so that a missing one fails before the body
 * is written rather than after. */
static void
md_open(struct maildir_msg *m)
{
	const int fflags = O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	size_t i;

	for (i = 0; i < m->n; i++) {
		int tmp, new;

		if (!md_open_maildir(m, i, m->create, &tmp, &new))
			return;
		close(new);
		if (i == 0)
			m->tmpdir = tmp;
		else
			close(tmp);
	}
	m->fd = openat(m->tmpdir, m->t[0].name, fflags, 0600);
	if (m->fd < 0) {
		md_failed(m, 0, "create tmp/ file", errno, false);
		return;
	}
	m->t[0].in_tmp = true;
}

/* md_copy - t[i]'s tmp/ file as a copy of the first (when no hard link
 * can be made between them), fsynced. */
static bool
md_copy(struct maildir_msg *m, size_t i, int tmp)
{
	const int fflags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	char *b = xmalloc(MD_COPY_CHUNK);
	off_t off = 0;
	int fd;
	bool ok = false;

	fd = openat(tmp, m->t[i].name, fflags, 0600);
	if (fd < 0) {
		md_failed(m, i, "create tmp/ copy", errno, false);
		goto out;
	}
	m->t[i].in_tmp = true;
	for (;;) {
		ssize_t r = pread(m->fd, b, MD_COPY_CHUNK, off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			md_failed(m, 0, "read back", errno, false);
			goto out;
		}
		if (r == 0)
			break;
		if (!md_write_all(fd, b, (size_t)r)) {
			md_failed(m, i, "write copy", errno, false);
			goto out;
		}
		off += r;
	}
	if (fsync(fd) < 0) {
		md_failed(m, i, "fsync copy", errno, false);
		goto out;
	}
	ok = true;
out:
	if (fd >= 0)
		close(fd);
	free(b);
	return ok;
}

/* md_share - give every other Maildir the message in its tmp/: a hard
 * link to the first file, or a copy across file systems. */
static bool
md_share(struct maildir_msg *m)
{
	size_t i;

	for (i = 1; i < m->n; i++) {
		int tmp;
		bool ok = true;

		if (!md_open_maildir(m, i, false, &tmp, NULL))
			return false;
		if (linkat(m->tmpdir, m->t[0].name, tmp, m->t[i].name, 0) == 0)
			m->t[i].in_tmp = true;
		else if (errno == EXDEV || errno == EMLINK || errno == EPERM)
			ok = md_copy(m, i, tmp);
		else {
			md_failed(m, i, "link into tmp/", errno, false);
			ok = false;
		}
		close(tmp);
		if (!ok)
			return false;
	}
	return true;
}

/* md_undo - withdraw the new/ entries made so far.  One a reader has
 * moved meanwhile (ENOENT) was seen and cannot be taken back: counted,
 * and logged as a possible duplicate. */
static void
md_undo(struct maildir_msg *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		int new;

		if (!m->t[i].in_new)
			continue;
		m->t[i].in_new = false;
		if (!md_open_maildir(m, i, false, NULL, &new)) {
			m->not_withdrawn++;
			continue;
		}
		if (unlinkat(new, m->t[i].name, 0) < 0)
			m->not_withdrawn++;
		(void)fsync(new);
		close(new);
	}
}

/* md_commit - the message is complete: make it durable, give it to
 * each Maildir's new/ (each new/ fsynced), then drop the tmp/ names.
 * All or nothing: any failure withdraws what reached a new/. */
static void
md_commit(struct maildir_msg *m)
{
	size_t i;

	if (fsync(m->fd) < 0) {
		md_failed(m, 0, "fsync", errno, false);
		return;
	}
	if (!md_share(m))
		return;
	for (i = 0; i < m->n; i++) {
		int tmp = m->tmpdir, new;

		if (!md_open_maildir(m, i, false, i == 0 ? NULL : &tmp, &new))
			break;
		/* The spec links (then unlinks): unlike rename, a link never
		 * replaces an entry that is there already. */
		if (linkat(tmp, m->t[i].name, new, m->t[i].name, 0) < 0)
			md_failed(m, i, "link into new/", errno, false);
		else {
			m->t[i].in_new = true;
			if (fsync(new) < 0)
				md_failed(m, i, "fsync new/", errno, false);
		}
		if (i > 0)
			close(tmp);
		close(new);
		if (m->fail != MD_OK)
			break;
	}
	if (m->fail != MD_OK) {
		md_undo(m);
		return;
	}
	for (i = 0; i < m->n; i++)
		m->t[i].in_new = false;
	md_cleanup(m);		/* the tmp/ names; the file lives in new/ */
}

static void
md_run(struct job *job)
{
	struct maildir_msg *m = (struct maildir_msg *)job;

	m->ran = true;
	switch (m->op) {
	case MD_OPEN:
		md_open(m);
		break;
	case MD_WRITE:
		if (!md_write_all(m->fd, m->inflight.data, m->inflight.len))
			md_failed(m, 0, "write", errno, false);
		break;
	case MD_COMMIT:
		md_commit(m);
		break;
	case MD_CLEANUP:
		break;
	}
	if (m->fail != MD_OK || m->op == MD_CLEANUP)
		md_cleanup(m);
}

/* --- on the loop --------------------------------------------------- */

static void
md_free(struct maildir_msg *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		free(m->t[i].dir);
	free(m->t);
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
	if (m->fail != MD_OK && !m->logged)
		log_warnx("maildir %s: %s: %s", m->t[m->fail_idx].dir,
			  m->fail_what, m->fail_errno != 0 ?
			  strerror(m->fail_errno) : "failed");
	if (m->fail != MD_OK)
		m->logged = true;
	if (m->not_withdrawn > 0)
		log_warnx("maildir %s: %zu new/ entries already read could not "
			  "be withdrawn; the sender's retry duplicates them",
			  m->t[0].dir, m->not_withdrawn);
	m->not_withdrawn = 0;
}

static void
md_finish(struct maildir_msg *m)
{
	enum md_fail f = m->fail;

	if (!m->committed && f == MD_OK)
		f = MD_IO;	/* failed on the loop side */
	m->done(m->done_arg, m->committed, md_reply[f]);
	md_free(m);
}

/* md_kick - with no job on the pool: do what comes next. */
static void
md_kick(struct maildir_msg *m)
{
	if (m->busy || m->deferred)
		return;
	if (m->fd >= 0 && (m->failed || m->aborted)) {
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
		md_failed(m, 0, "pool stopped", 0, false);
		md_cleanup(m);
	}
	md_log(m);
	if (m->fail != MD_OK)
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
	for (i = 0; i < m->n; i++) {
		unsigned long q = __atomic_add_fetch(&counter, 1,
						     __ATOMIC_RELAXED);
		int k = snprintf(m->t[i].name, sizeof(m->t[i].name),
				 "%lld.M%ldP%ldQ%lu.%s", (long long)tv.tv_sec,
				 (long)tv.tv_usec, (long)getpid(), q, host);

		if (k < 0 || (size_t)k >= sizeof(m->t[i].name))
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
	m->t = xcalloc(n, sizeof(*m->t));
	for (i = k = 0; i < n; i++)
		if (k == 0 || strcmp(sorted[i], m->t[k - 1].dir) != 0)
			m->t[k++].dir = xstrdup(sorted[i]);
	free(sorted);
	m->n = k;
	m->loop = l;
	m->pool = pool;
	m->create = create;
	m->drained = drained;
	m->arg = arg;
	m->fd = m->tmpdir = -1;
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
		/* Not md_failed: a job may own the failure fields now. */
		log_warnx("maildir %s: out of memory for the message",
			  m->t[0].dir);
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
	if (!m->busy && m->failed && m->fd < 0) {
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
