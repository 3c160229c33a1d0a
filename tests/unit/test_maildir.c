/*
 * test_maildir - smtpd/maildir.c on a real loop and worker pool, against
 * real directories: the exact bytes in new/ after success, nothing in
 * new/ or tmp/ after an abort or an injected failure (a tmp/ that is a
 * file, a new/ replaced between the body and the commit, a full tmpfs
 * when mount works), two recipients sharing one inode, unique names
 * under a burst, back-pressure, and a child killed with SIGKILL in the
 * middle of the body.  And smtpd/maildir_map.c: local domains, the map,
 * the template and its refusals of path traversal.
 */
#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "maildir.h"
#include "maildir_map.h"
#include "test.h"
#include "worker.h"

/* fsync, interposed: each call's target is recorded (the order is the
 * durability argument), and the one numbered fs_fail_at fails with EIO.
 * The module's fsync calls bind to this definition in the program. */
static pthread_mutex_t fs_mu = PTHREAD_MUTEX_INITIALIZER;
static char fs_log[16][PATH_MAX];
static int fs_n, fs_fail_at = -1, fs_n_at_done;

int
fsync(int fd)
{
	char link[64], p[PATH_MAX];
	ssize_t k;
	int n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	k = readlink(link, p, sizeof(p) - 1);
	p[k > 0 ? k : 0] = '\0';
	pthread_mutex_lock(&fs_mu);
	n = fs_n++;
	if (n < 16)
		memcpy(fs_log[n], p, sizeof(p));
	pthread_mutex_unlock(&fs_mu);
	if (n == fs_fail_at) {
		errno = EIO;
		return -1;
	}
	return (int)syscall(SYS_fsync, fd);
}

static void
fs_reset(int fail_at)
{
	pthread_mutex_lock(&fs_mu);
	fs_n = 0;
	fs_fail_at = fail_at;
	pthread_mutex_unlock(&fs_mu);
}

static struct loop *L;
static struct worker_pool *P;
static char top[64];

static unsigned int ndone, want_done, ndrained;
static bool last_ok, in_call, done_inside_call;
static char last_reply[128];
static struct loop_timer guard;
static bool timed_out;

static void
done_cb(void *arg, bool ok, const char *reply)
{
	(void)arg;
	if (in_call)
		done_inside_call = true;
	ndone++;
	last_ok = ok;
	pthread_mutex_lock(&fs_mu);
	fs_n_at_done = fs_n;
	pthread_mutex_unlock(&fs_mu);
	snprintf(last_reply, sizeof(last_reply), "%s", reply);
	if (ndone >= want_done)
		loop_stop(L);
}

static void
drained_cb(void *arg)
{
	(void)arg;
	ndrained++;
}

static void
guard_cb(struct loop_timer *t)
{
	(void)t;
	timed_out = true;
	loop_stop(L);
}

/* run_done - the loop until n more done calls, or 8 s. */
static bool
run_done(unsigned int n)
{
	want_done = ndone + n;
	timed_out = false;
	loop_timer_set(L, &guard, 8000);
	while (ndone < want_done && !timed_out)
		loop_run(L);
	loop_timer_cancel(L, &guard);
	return ndone >= want_done;
}

/* run_for - the loop for ms milliseconds (jobs complete meanwhile). */
static void
run_for(unsigned int ms)
{
	timed_out = false;
	loop_timer_set(L, &guard, ms);
	while (!timed_out)
		loop_run(L);
}

/* path - top/a then rest, kept until the end of the test (dirs[]
 * arrays hold them across many calls). */
static char *
path(const char *rest, const char *a)
{
	static char *kept[512];
	static size_t nkept;
	char p[PATH_MAX];

	if (rest == NULL) {
		while (nkept > 0)
			free(kept[--nkept]);
		return NULL;
	}
	snprintf(p, sizeof(p), "%s/%s%s", top, a, rest);
	if (nkept == sizeof(kept) / sizeof(kept[0]))
		abort();
	return kept[nkept++] = strdup(p);
}

/* nfiles - entries of dir other than . and .. (-1: no such dir);
 * first_r gets the first name. */
static int
nfiles(const char *dir, char *first_r, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (n++ == 0 && first_r != NULL)
			snprintf(first_r, len, "%s", e->d_name);
	}
	closedir(d);
	return n;
}

/* slurp - the one file in dir, NUL-terminated; NULL if not exactly
 * one.  *st_r its stat. */
static char *
slurp(const char *dir, size_t *len_r, struct stat *st_r)
{
	char name[300], p[PATH_MAX + 300];
	char *b;
	FILE *f;
	long n;

	if (nfiles(dir, name, sizeof(name)) != 1)
		return NULL;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if ((f = fopen(p, "rb")) == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	b = malloc((size_t)n + 1);
	*len_r = fread(b, 1, (size_t)n, f);
	b[*len_r] = '\0';
	fclose(f);
	if (st_r != NULL)
		stat(p, st_r);
	return b;
}

static void
mkmaildir(const char *root)
{
	char p[PATH_MAX];

	mkdir(root, 0700);
	snprintf(p, sizeof(p), "%s/tmp", root);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/new", root);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/cur", root);
	mkdir(p, 0700);
}

/* deliver - one message in chunks of step bytes; the done result. */
static bool
deliver(const char *const *dirs, size_t n, bool create, const char *msg,
	size_t len, size_t step)
{
	char *err = NULL;
	struct maildir_msg *m = maildir_begin(L, P, dirs, n, create,
					      drained_cb, NULL, &err);
	size_t off;

	if (m == NULL) {
		printf("# begin: %s\n", err);
		free(err);
		return false;
	}
	for (off = 0; off < len; off += step)
		(void)maildir_body(m, msg + off, len - off < step ?
				   len - off : step);
	in_call = true;
	maildir_end(m, done_cb, NULL);
	in_call = false;
	if (!run_done(1))
		return false;
	return last_ok;
}

static void
test_single(void)
{
	static const char msg[] =
		"Received: from x\r\nSubject: t\r\n\r\nline 1\r\n"
		"a lone CR\r here\r\n.dot line\r\n\r\nlast\r\n";
	static const char want[] =
		"Received: from x\nSubject: t\n\nline 1\n"
		"a lone CR\r here\n.dot line\n\nlast\n";
	const char *dirs[] = { path("/Maildir", "made/deep") };
	static const size_t steps[] = { 1, 2, 7, sizeof(msg) };
	size_t len, i;
	struct stat st;
	char *got;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		bool ok = deliver(dirs, 1, true, msg, sizeof(msg) - 1,
				  steps[i]);

		CHECK(ok, "delivered in chunks of %zu (%s)", steps[i],
		      last_reply);
		CHECK(!done_inside_call, "done not called inside maildir_end");
		got = slurp(path("/Maildir/new", "made/deep"), &len, &st);
		CHECK(got != NULL && len == sizeof(want) - 1 &&
		      memcmp(got, want, len) == 0,
		      "new/ holds the exact bytes, CRLF made LF (step %zu)",
		      steps[i]);
		CHECK(got != NULL && (st.st_mode & 07777) == 0600,
		      "mode 0600");
		free(got);
		CHECK(nfiles(path("/Maildir/tmp", "made/deep"), NULL, 0) == 0,
		      "tmp/ empty after success");
		CHECK(nfiles(path("/Maildir/cur", "made/deep"), NULL, 0) == 0,
		      "cur/ made, empty");
		/* Next round: an empty new/ again. */
		{
			char cmd[PATH_MAX + 32];

			snprintf(cmd, sizeof(cmd), "rm -f %s/*",
				 path("/Maildir/new", "made/deep"));
			(void)!system(cmd);
		}
	}
	CHECK_STR(last_reply, "250 2.0.0 Ok: delivered to maildir", "reply");

	/* A CR as the very last byte stays a CR. */
	CHECK(deliver(dirs, 1, false, "a\r\nb\r", 5, 5), "a final CR");
	got = slurp(path("/Maildir/new", "made/deep"), &len, NULL);
	CHECK(got != NULL && len == 4 && memcmp(got, "a\nb\r", 4) == 0,
	      "a final lone CR is kept");
	free(got);
	/* An empty message is a file of 0 bytes. */
	{
		char cmd[PATH_MAX + 32];

		snprintf(cmd, sizeof(cmd), "rm -f %s/*",
			 path("/Maildir/new", "made/deep"));
		(void)!system(cmd);
	}
	CHECK(deliver(dirs, 1, false, "", 0, 1), "an empty message");
	got = slurp(path("/Maildir/new", "made/deep"), &len, NULL);
	CHECK(got != NULL && len == 0, "an empty file");
	free(got);
}

static void
test_unavailable(void)
{
	const char *missing[] = { path("/Maildir", "missing") };
	const char *filetmp[] = { path("", "filetmp") };
	char p[PATH_MAX];
	int fd;

	CHECK(!deliver(missing, 1, false, "x\r\n", 3, 3),
	      "a missing Maildir without create fails");
	CHECK(strncmp(last_reply, "450 4.2.0 ", 10) == 0,
	      "with 450 4.2.0 (%s)", last_reply);
	CHECK(nfiles(path("", "missing"), NULL, 0) == -1,
	      "and nothing was made");

	/* tmp/ a regular file: root cannot make it unwritable. */
	mkmaildir(filetmp[0]);
	snprintf(p, sizeof(p), "%s/tmp", filetmp[0]);
	rmdir(p);
	fd = open(p, O_CREAT | O_WRONLY, 0600);
	close(fd);
	CHECK(!deliver(filetmp, 1, true, "x\r\n", 3, 3),
	      "tmp/ a regular file fails, even with create");
	CHECK(last_reply[0] == '4', "with a 4xx (%s)", last_reply);
	CHECK(nfiles(path("/new", "filetmp"), NULL, 0) == 0,
	      "nothing in new/");
}

static void
test_two(void)
{
	const char *two[] = { path("", "two-b"), path("", "two-a") };
	const char *dup[] = { path("", "dup"), path("", "dup") };
	const char *half[] = { path("", "half-a"), path("", "filetmp") };
	char *a, *b;
	size_t la, lb;
	struct stat sa, sb;
	char na[300], nb[300];

	mkmaildir(two[0]);
	mkmaildir(two[1]);
	CHECK(deliver(two, 2, false, "Subject: two\r\n\r\nhi\r\n", 20, 4),
	      "two recipients");
	a = slurp(path("/new", "two-a"), &la, &sa);
	b = slurp(path("/new", "two-b"), &lb, &sb);
	CHECK(a != NULL && b != NULL && la == 17 && lb == la &&
	      memcmp(a, "Subject: two\n\nhi\n", 17) == 0 &&
	      memcmp(a, b, la) == 0, "both hold the exact bytes");
	CHECK(a != NULL && b != NULL && sa.st_ino == sb.st_ino &&
	      sa.st_nlink == 2, "one inode, two links (written once)");
	nfiles(path("/new", "two-a"), na, sizeof(na));
	nfiles(path("/new", "two-b"), nb, sizeof(nb));
	CHECK(strcmp(na, nb) != 0, "each Maildir has its own unique name");
	CHECK(nfiles(path("/tmp", "two-a"), NULL, 0) == 0 &&
	      nfiles(path("/tmp", "two-b"), NULL, 0) == 0, "both tmp/ empty");
	free(a);
	free(b);

	CHECK(deliver(dup, 2, true, "x\r\n", 3, 3), "one Maildir twice");
	CHECK(nfiles(path("/new", "dup"), NULL, 0) == 1, "gets one copy");

	/* half-a sorts first, so the failure comes after it was fine. */
	mkmaildir(half[0]);
	CHECK(!deliver(half, 2, true, "x\r\n", 3, 3),
	      "one good, one broken Maildir: the message fails");
	CHECK(last_reply[0] == '4', "with a 4xx (%s)", last_reply);
	CHECK(nfiles(path("/new", "half-a"), NULL, 0) == 0 &&
	      nfiles(path("/tmp", "half-a"), NULL, 0) == 0,
	      "the good one has nothing in new/ or tmp/");
}

static bool
ends_with(const char *s, const char *tail)
{
	size_t a = strlen(s), b = strlen(tail);

	return a >= b && strcmp(s + a - b, tail) == 0;
}

/* test_durable - the order of the fsyncs, and each one failing. */
static void
test_durable(void)
{
	const char *one[] = { path("", "dur") };
	const char *two[] = { path("", "dur-a"), path("", "dur-b") };
	char name[300], want[PATH_MAX + 300];
	int i;

	mkmaildir(one[0]);
	mkmaildir(two[0]);
	mkmaildir(two[1]);
	fs_reset(-1);
	CHECK(deliver(one, 1, false, "x\r\n", 3, 3), "delivered");
	nfiles(path("/new", "dur"), name, sizeof(name));
	snprintf(want, sizeof(want), "%s/tmp/%s", one[0], name);
	CHECK(fs_n == 2 && strcmp(fs_log[0], want) == 0,
	      "first the file is fsynced, in tmp/ (%s)", fs_log[0]);
	snprintf(want, sizeof(want), "%s/new", one[0]);
	CHECK(fs_n == 2 && strcmp(fs_log[1], want) == 0,
	      "then new/ (%s)", fs_log[1]);
	CHECK(fs_n_at_done == 2, "and only then the answer");

	for (i = 0; i < 2; i++) {
		fs_reset(i);
		CHECK(!deliver(one, 1, false, "x\r\n", 3, 3) &&
		      strncmp(last_reply, "451 4.3.0 ", 10) == 0,
		      "fsync %d failing: 451 (%s)", i, last_reply);
		CHECK(nfiles(path("/new", "dur"), NULL, 0) == 1 &&
		      nfiles(path("/tmp", "dur"), NULL, 0) == 0,
		      "fsync %d failing: nothing new in new/, tmp/ empty", i);
	}
	fs_reset(-1);
	CHECK(deliver(two, 2, false, "x\r\n", 3, 3) && fs_n == 3 &&
	      ends_with(fs_log[1], "dur-a/new") &&
	      ends_with(fs_log[2], "dur-b/new"),
	      "two Maildirs: the file, then each new/");
	fs_reset(2);
	CHECK(!deliver(two, 2, false, "x\r\n", 3, 3),
	      "the second new/ fsync failing fails the message");
	CHECK(nfiles(path("/new", "dur-a"), NULL, 0) == 1 &&
	      nfiles(path("/new", "dur-b"), NULL, 0) == 1 &&
	      nfiles(path("/tmp", "dur-a"), NULL, 0) == 0 &&
	      nfiles(path("/tmp", "dur-b"), NULL, 0) == 0,
	      "both new/ entries withdrawn, tmp/ empty");
	fs_reset(-1);
}

/* test_undo - new/ of the second Maildir turns into a file after the
 * body was written: the first one's new/ entry, made already, is
 * withdrawn. */
static void
test_undo(void)
{
	const char *dirs[] = { path("", "undo-a"), path("", "undo-b") };
	char *err = NULL;
	struct maildir_msg *m;
	char p[PATH_MAX], q[PATH_MAX];
	int fd;

	mkmaildir(dirs[0]);
	mkmaildir(dirs[1]);
	m = maildir_begin(L, P, dirs, 2, false, NULL, NULL, &err);
	CHECK(m != NULL, "begin");
	if (m == NULL)
		return;
	maildir_body(m, "Subject: undo\r\n\r\nx\r\n", 20);
	run_for(200);
	CHECK(nfiles(path("/tmp", "undo-a"), NULL, 0) == 1,
	      "the body is in the first tmp/");
	snprintf(p, sizeof(p), "%s/new", dirs[1]);
	snprintf(q, sizeof(q), "%s/new.gone", dirs[1]);
	rename(p, q);
	fd = open(p, O_CREAT | O_WRONLY, 0600);
	close(fd);
	maildir_end(m, done_cb, NULL);
	CHECK(run_done(1) && !last_ok && last_reply[0] == '4',
	      "the commit fails with a 4xx (%s)", last_reply);
	CHECK(nfiles(path("/new", "undo-a"), NULL, 0) == 0,
	      "the first new/ entry was withdrawn");
	CHECK(nfiles(path("/tmp", "undo-a"), NULL, 0) == 0 &&
	      nfiles(path("/tmp", "undo-b"), NULL, 0) == 0,
	      "both tmp/ empty");
}

static void
test_abort(void)
{
	const char *dirs[] = { path("", "abort") };
	unsigned int before = ndone;
	struct maildir_msg *m;
	char *err = NULL;

	mkmaildir(dirs[0]);
	/* Aborted while the body is being written. */
	m = maildir_begin(L, P, dirs, 1, false, NULL, NULL, &err);
	maildir_body(m, "Subject: abort\r\n\r\nx\r\n", 21);
	run_for(100);
	CHECK(nfiles(path("/tmp", "abort"), NULL, 0) == 1,
	      "the body was in tmp/");
	maildir_abort(m);
	run_for(200);
	CHECK(nfiles(path("/tmp", "abort"), NULL, 0) == 0 &&
	      nfiles(path("/new", "abort"), NULL, 0) == 0,
	      "abort: tmp/ and new/ empty");
	/* Aborted at once, with the open still on the pool. */
	m = maildir_begin(L, P, dirs, 1, false, NULL, NULL, &err);
	maildir_body(m, "x\r\n", 3);
	maildir_abort(m);
	run_for(200);
	CHECK(nfiles(path("/tmp", "abort"), NULL, 0) == 0 &&
	      nfiles(path("/new", "abort"), NULL, 0) == 0,
	      "abort before the open completed: tmp/ and new/ empty");
	/* Aborted after end: done never comes (the commit may finish). */
	m = maildir_begin(L, P, dirs, 1, false, NULL, NULL, &err);
	maildir_body(m, "x\r\n", 3);
	maildir_end(m, done_cb, NULL);
	maildir_abort(m);
	run_for(200);
	CHECK(nfiles(path("/tmp", "abort"), NULL, 0) == 0,
	      "abort after end: tmp/ empty");
	/* Failed, then aborted after end (the deferred done pending). */
	{
		const char *gone[] = { path("", "nowhere") };

		m = maildir_begin(L, P, gone, 1, false, NULL, NULL, &err);
		run_for(100);
		maildir_end(m, done_cb, NULL);
		maildir_abort(m);
		run_for(50);
	}
	CHECK(ndone == before, "done never called after an abort");
}

/* test_full - a 64 KiB tmpfs: the disk fills during the body. */
static void
test_full(void)
{
	const char *dirs[] = { path("/Maildir", "full") };
	static char big[256 * 1024];
	size_t i;

	mkdir(path("", "full"), 0700);
	if (mount("tmpfs", path("", "full"), "tmpfs", 0, "size=64k") < 0) {
		printf("ok %d - # SKIP no tmpfs mount (%s)\n", ++test_n,
		       strerror(errno));
		return;
	}
	for (i = 0; i < sizeof(big); i++)
		big[i] = i % 64 == 63 ? '\n' : 'x';
	CHECK(!deliver(dirs, 1, true, big, sizeof(big), 16384),
	      "a full disk fails the message");
	CHECK(strncmp(last_reply, "452 4.3.1 ", 10) == 0,
	      "with 452 4.3.1 (%s)", last_reply);
	CHECK(nfiles(path("/Maildir/tmp", "full"), NULL, 0) == 0 &&
	      nfiles(path("/Maildir/new", "full"), NULL, 0) == 0,
	      "tmp/ and new/ empty");
	CHECK(deliver(dirs, 1, false, "small\r\n", 7, 7),
	      "a small message fits afterwards");
	{
		const char *xdev[] = { dirs[0], path("", "xdev") };
		char *a;
		size_t la;
		struct stat sa;

		CHECK(deliver(xdev, 2, true, "cross\r\n", 7, 7),
		      "two Maildirs on two file systems");
		CHECK(nfiles(path("/Maildir/new", "full"), NULL, 0) == 2 &&
		      nfiles(path("/Maildir/tmp", "full"), NULL, 0) == 0 &&
		      nfiles(path("/tmp", "xdev"), NULL, 0) == 0,
		      "one more in the tmpfs new/, both tmp/ empty");
		a = slurp(path("/new", "xdev"), &la, &sa);
		CHECK(a != NULL && la == 6 && memcmp(a, "cross\n", 6) == 0 &&
		      sa.st_nlink == 1, "a copy where no link can be made");
		free(a);
	}
	umount(path("", "full"));
}

static bool
name_ok(const char *s)
{
	char host[200], *end;

	strtoul(s, &end, 10);
	if (end == s || strncmp(end, ".M", 2) != 0)
		return false;
	s = end + 2;
	strtoul(s, &end, 10);
	if (end == s || *end != 'P')
		return false;
	s = end + 1;
	if (strtoul(s, &end, 10) != (unsigned long)getpid() || *end != 'Q')
		return false;
	s = end + 1;
	strtoul(s, &end, 10);
	if (end == s || *end != '.')
		return false;
	gethostname(host, sizeof(host));
	return strchr(end + 1, '/') == NULL && strchr(end + 1, ':') == NULL &&
	       end[1] != '\0';
}

static void
test_burst(void)
{
	const char *dirs[] = { path("", "burst") };
	struct maildir_msg *m[200];
	unsigned int before = ndone, good = 0, i;
	char *err = NULL, name[300];
	DIR *d;
	struct dirent *e;
	bool all_ok = true;

	for (i = 0; i < 200; i++) {
		m[i] = maildir_begin(L, P, dirs, 1, true, NULL, NULL, &err);
		maildir_body(m[i], "x\r\n", 3);
	}
	for (i = 0; i < 200; i++)
		maildir_end(m[i], done_cb, NULL);
	CHECK(run_done(200), "200 messages at once complete");
	(void)before;
	CHECK(nfiles(path("/new", "burst"), name, sizeof(name)) == 200,
	      "200 files in new/ (no name collided)");
	d = opendir(path("/new", "burst"));
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (name_ok(e->d_name))
			good++;
		else if (all_ok) {
			all_ok = false;
			printf("# bad name %s\n", e->d_name);
		}
	}
	if (d != NULL)
		closedir(d);
	CHECK(good == 200, "every name is time.MusecPpidQn.host (%s)", name);
}

static void
test_backpressure(void)
{
	const char *dirs[] = { path("", "bp") };
	static char big[300 * 1024];
	struct maildir_msg *m;
	char *err = NULL;
	size_t len;
	char *got;
	bool more;

	memset(big, 'y', sizeof(big));
	ndrained = 0;
	m = maildir_begin(L, P, dirs, 1, true, drained_cb, NULL, &err);
	more = maildir_body(m, big, sizeof(big));
	CHECK(!more, "over MAILDIR_BACKLOG: maildir_body says stop");
	run_for(300);
	CHECK(ndrained == 1, "drained called once");
	CHECK(maildir_body(m, "\r\n", 2), "more bytes taken after drained");
	maildir_end(m, done_cb, NULL);
	CHECK(run_done(1) && last_ok, "delivered");
	got = slurp(path("/new", "bp"), &len, NULL);
	CHECK(got != NULL && len == sizeof(big) + 1, "all %zu bytes", len);
	free(got);
}

static void
test_begin_errors(void)
{
	const char *rel[] = { "relative/Maildir" };
	const char *ctl[] = { "/tmp/a\nb" };
	char *err = NULL;

	CHECK(maildir_begin(L, P, rel, 0, true, NULL, NULL, &err) == NULL &&
	      err != NULL, "no Maildir refused");
	free(err);
	err = NULL;
	CHECK(maildir_begin(L, P, rel, 1, true, NULL, NULL, &err) == NULL &&
	      err != NULL, "a relative path refused (%s)", err ? err : "");
	free(err);
	err = NULL;
	CHECK(maildir_begin(L, P, ctl, 1, true, NULL, NULL, &err) == NULL &&
	      err != NULL, "a control byte refused");
	free(err);
}

static void
test_host(void)
{
	char out[64];

	CHECK(maildir_host_safe("mx/1:2.example", out, sizeof(out)) &&
	      strcmp(out, "mx\\0571\\0722.example") == 0,
	      "host name: / as \\057, : as \\072 (%s)", out);
	CHECK(maildir_host_safe("a b\\c", out, sizeof(out)) &&
	      strcmp(out, "a\\040b\\134c") == 0, "space and backslash too");
	CHECK(!maildir_host_safe("abc/def", out, 6) && strcmp(out, "abc") == 0,
	      "truncated whole, never inside an escape");
}

/* test_crash - a child delivering a message is killed in the middle of
 * its body: nothing reaches new/. */
static void
test_crash(void)
{
	const char *dirs[] = { path("", "crash") };
	char name[300], p[PATH_MAX + 300];
	struct stat st;
	pid_t pid;
	int i, status;
	bool seen = false;

	pid = fork();
	if (pid == 0) {
		struct loop *l = loop_new();
		struct worker_pool *pool = worker_pool_new(l, 1, "crash");
		char *err = NULL;
		struct maildir_msg *m;
		static char chunk[4096];

		memset(chunk, 'z', sizeof(chunk));
		m = maildir_begin(l, pool, dirs, 1, true, NULL, NULL, &err);
		L = l;
		for (;;) {
			maildir_body(m, chunk, sizeof(chunk));
			run_for(5);
		}
	}
	for (i = 0; i < 500 && !seen; i++) {
		usleep(10000);
		if (nfiles(path("/tmp", "crash"), name, sizeof(name)) == 1) {
			snprintf(p, sizeof(p), "%s/%s",
				 path("/tmp", "crash"), name);
			seen = stat(p, &st) == 0 && st.st_size > 64 * 1024;
		}
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	CHECK(seen, "the child was writing the body into tmp/");
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	      "the child was killed");
	CHECK(nfiles(path("/new", "crash"), NULL, 0) == 0,
	      "nothing in new/ after SIGKILL in the body");
}

/* --- maildir_map --------------------------------------------------- */

static enum maildir_lookup
look(const struct maildir_map *mm, const char *addr, char *out)
{
	struct smtp_addr a;

	out[0] = '\0';
	if (smtp_addr_parse(addr, strlen(addr), &a) != NULL) {
		printf("# unparsable test address %s\n", addr);
		return (enum maildir_lookup)-1;
	}
	return maildir_map_lookup(mm, &a, out, PATH_MAX);
}

static void
test_map(void)
{
	static const struct {
		const char *addr;
		enum maildir_lookup want;
		const char *path;
	} t[] = {
		{ "alice@example.org", MAILDIR_FOUND, "/srv/alice/Maildir" },
		{ "ALICE@Example.ORG", MAILDIR_FOUND, "/srv/alice/Maildir" },
		{ "Bob@example.org", MAILDIR_FOUND,
		  "/var/mail/example.org/bob/Maildir" },
		{ "anyone@example.net", MAILDIR_FOUND, "/srv/catchall" },
		{ "x@remote.example", MAILDIR_REMOTE, NULL },
		{ "x@sub.example.org", MAILDIR_REMOTE, NULL },
		{ "broken@example.org", MAILDIR_TEMPFAIL, NULL },
		/* Traversal through the template. */
		{ "a/b@example.org", MAILDIR_REFUSED, NULL },
		{ "\"..\"@example.org", MAILDIR_REFUSED, NULL },
		{ "\"../../etc\"@example.org", MAILDIR_REFUSED, NULL },
		{ "\"x/../../etc\"@example.org", MAILDIR_REFUSED, NULL },
		{ "\".hidden\"@example.org", MAILDIR_REFUSED, NULL },
		{ "\"a..b\"@example.org", MAILDIR_REFUSED, NULL },
		{ "a.b@example.org", MAILDIR_FOUND,
		  "/var/mail/example.org/a.b/Maildir" },
		{ "\"a b\"@example.org", MAILDIR_FOUND,
		  "/var/mail/example.org/a b/Maildir" },
	};
	char mapfile[PATH_MAX], out[PATH_MAX], *err = NULL;
	struct maildir_map *mm, *nt;
	struct smtp_addr a;
	FILE *f;
	size_t i;

	snprintf(mapfile, sizeof(mapfile), "%s/maildir_map", top);
	f = fopen(mapfile, "w");
	fprintf(f, "# test\nalice@example.org  /srv/alice/Maildir\n"
		"@example.net /srv/catchall\n"
		"broken@example.org  relative/Maildir\n");
	fclose(f);
	mm = maildir_map_new("example.org, Example.NET.\texample.com",
			     mapfile, "/var/mail/%d/%u/Maildir", &err);
	CHECK(mm != NULL, "map loads (%s)", err ? err : "");
	if (mm == NULL)
		return;
	CHECK(maildir_map_is_local(mm, "EXAMPLE.org.", 12) &&
	      maildir_map_is_local(mm, "example.net", 11) &&
	      !maildir_map_is_local(mm, "example", 7) &&
	      !maildir_map_is_local(mm, "ample.org", 9), "local domains");
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		enum maildir_lookup r = look(mm, t[i].addr, out);

		CHECK(r == t[i].want, "%s: lookup %d, want %d", t[i].addr, r,
		      t[i].want);
		if (t[i].path != NULL)
			CHECK_STR(out, t[i].path, "%s: its Maildir",
				  t[i].addr);
	}
	/* Bytes the parser never gives, built by hand. */
	memset(&a, 0, sizeof(a));
	memcpy(a.local, "a\0b", 3);
	a.local_len = 3;
	memcpy(a.domain, "example.org", 12);
	a.domain_len = 11;
	CHECK(maildir_map_lookup(mm, &a, out, sizeof(out)) == MAILDIR_REFUSED,
	      "a NUL in the local part refused");
	memcpy(a.local, "a\tb", 3);
	CHECK(maildir_map_lookup(mm, &a, out, sizeof(out)) == MAILDIR_REFUSED,
	      "a control byte refused");
	memcpy(a.local, "caf\xc3\xa9", 5);
	a.local_len = 5;
	CHECK(maildir_map_lookup(mm, &a, out, sizeof(out)) == MAILDIR_REFUSED,
	      "a non-ASCII byte refused");
	memcpy(a.local, "bob", 3);
	a.local_len = 3;
	CHECK(maildir_map_lookup(mm, &a, out, 20) == MAILDIR_TEMPFAIL,
	      "a path that does not fit is a temporary failure");
	maildir_map_free(mm);

	nt = maildir_map_new("example.org", NULL, NULL, &err);
	CHECK(nt != NULL && look(nt, "bob@example.org", out) ==
	      MAILDIR_UNKNOWN, "no map entry and no template: unknown");
	maildir_map_free(nt);
	CHECK(maildir_map_new("x", NULL, "var/%u", &err) == NULL,
	      "a relative template refused (%s)", err);
	free(err);
	CHECK(maildir_map_new("x", NULL, "/var/%x/%u", &err) == NULL,
	      "an unknown %% escape refused (%s)", err);
	free(err);
	CHECK(maildir_map_new("x", NULL, "/var/%u%", &err) == NULL,
	      "a final %% refused");
	free(err);
	CHECK(maildir_map_new("x", "/nonexistent/map", NULL, &err) == NULL,
	      "a missing map file refused (%s)", err);
	free(err);
	CHECK(!maildir_path_part_ok("", 0) && !maildir_path_part_ok(".", 1) &&
	      !maildir_path_part_ok("a\x7f", 2) &&
	      maildir_path_part_ok("a.b-c+d", 7), "path parts");
}

int
main(void)
{
	char cmd[128];

	log_init("test_maildir", false, 0, getenv("TEST_MAILDIR_LOG") != NULL);
	snprintf(top, sizeof(top), "/tmp/test_maildir.XXXXXX");
	if (mkdtemp(top) == NULL)
		return 99;
	signal(SIGPIPE, SIG_IGN);
	L = loop_new();
	loop_timer_init(&guard, guard_cb);
	test_crash();		/* first: fork before the pool's threads */
	P = worker_pool_new(L, 2, "maildir");
	test_single();
	test_unavailable();
	test_two();
	test_undo();
	test_durable();
	test_abort();
	test_full();
	test_burst();
	test_backpressure();
	test_begin_errors();
	test_host();
	test_map();
	worker_pool_free(P);
	loop_free(L);
	path(NULL, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	(void)!system(cmd);
	return test_done();
}
