/*
 * maildir_disk - the file system half of Maildir delivery.  See
 * maildir_disk.h.
 *
 * Untrusted input: the Maildir trees (opened relative to each Maildir,
 * no symbolic link followed below it, files created O_EXCL).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "maildir_disk.h"
#include "xalloc.h"

#define DISK_COPY_CHUNK	(64 * 1024)

/* maildir_disk_fail - see maildir_disk.h. */
void
maildir_disk_fail(struct maildir_disk *d, size_t i, const char *what,
		  int err, bool dir)
{
	if (d->fail != MAILDIR_OK)
		return;
	if (err == ENOSPC || err == EDQUOT)
		d->fail = MAILDIR_SPACE;
	else if (dir && (err == ENOENT || err == ENOTDIR || err == EACCES ||
			 err == EPERM || err == ELOOP))
		d->fail = MAILDIR_MAILBOX;
	else
		d->fail = MAILDIR_IO;
	d->fail_errno = err;
	d->fail_idx = i;
	d->fail_what = what;
}

static bool
disk_fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool ok;

	if (fd < 0)
		return false;
	ok = fsync(fd) == 0;
	close(fd);
	return ok;
}

/* disk_mkdirs - make path and its missing parents (mode 0700), each new
 * entry fsynced in its parent so the Maildir survives a crash with the
 * message in it.  False with errno. */
static bool
disk_mkdirs(const char *path)
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
			if (!disk_fsync_path(slash == p ? "/" : p))
				return false;
			*slash = '/';
		} else if (errno != EEXIST) {
			return false;
		}
		p[i] = path[i];
	}
	return true;
}

/* disk_mksubs - tmp/, new/ and cur/ in the Maildir root, then root's
 * entries made durable. */
static bool
disk_mksubs(int root)
{
	static const char *const sub[] = { "tmp", "new", "cur" };
	size_t i;

	for (i = 0; i < 3; i++)
		if (mkdirat(root, sub[i], 0700) < 0 && errno != EEXIST)
			return false;
	return fsync(root) == 0;
}

/* disk_open_maildir - t[i]'s tmp/ and new/ as directory descriptors
 * (either pointer may be NULL), making what is missing when create.
 * Below the Maildir nothing follows a symbolic link: its user may own
 * the tree.  False with the failure recorded. */
static bool
disk_open_maildir(struct maildir_disk *d, size_t i, bool create,
		  int *tmp_r, int *new_r)
{
	const int dflags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
	const char *dir = d->t[i].dir;
	int root, tmp = -1, new = -1;

	root = open(dir, dflags);
	if (root < 0 && errno == ENOENT && create) {
		if (!disk_mkdirs(dir)) {
			maildir_disk_fail(d, i, "mkdir", errno, true);
			return false;
		}
		root = open(dir, dflags);
	}
	if (root < 0) {
		maildir_disk_fail(d, i, "open", errno, true);
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
		if (!disk_mksubs(root))
			break;
	}
	if ((tmp_r != NULL && tmp < 0) || (new_r != NULL && new < 0)) {
		maildir_disk_fail(d, i, "open tmp/ or new/", errno, true);
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
disk_write_all(int fd, const char *p, size_t n)
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

/* maildir_disk_cleanup - see maildir_disk.h.  Each Maildir but the
 * first is opened again: no descriptor is kept per recipient (a message
 * may have a thousand). */
void
maildir_disk_cleanup(struct maildir_disk *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		int tmp = i == 0 ? d->tmpdir : -1;

		if (!d->t[i].in_tmp)
			continue;
		if (tmp >= 0 || disk_open_maildir(d, i, false, &tmp, NULL)) {
			(void)unlinkat(tmp, d->t[i].name, 0);
			if (i > 0)
				close(tmp);
		}
		d->t[i].in_tmp = false;
	}
	if (d->fd >= 0)
		close(d->fd);
	if (d->tmpdir >= 0)
		close(d->tmpdir);
	d->fd = d->tmpdir = -1;
}

/* maildir_disk_open - every Maildir is looked up (and made) now, so
 * that a missing one fails before the body is written, not after. */
void
maildir_disk_open(struct maildir_disk *d)
{
	const int fflags = O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	size_t i;

	for (i = 0; i < d->n; i++) {
		int tmp, new;

		if (!disk_open_maildir(d, i, d->create, &tmp, &new))
			return;
		close(new);
		if (i == 0)
			d->tmpdir = tmp;
		else
			close(tmp);
	}
	d->fd = openat(d->tmpdir, d->t[0].name, fflags, 0600);
	if (d->fd < 0) {
		maildir_disk_fail(d, 0, "create tmp/ file", errno, false);
		return;
	}
	d->t[0].in_tmp = true;
}

/* disk_copy - t[i]'s tmp/ file as a copy of the first (when no hard link
 * can be made between them), fsynced. */
static bool
disk_copy(struct maildir_disk *d, size_t i, int tmp)
{
	const int fflags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	char *b = xmalloc(DISK_COPY_CHUNK);
	off_t off = 0;
	int fd;
	bool ok = false;

	fd = openat(tmp, d->t[i].name, fflags, 0600);
	if (fd < 0) {
		maildir_disk_fail(d, i, "create tmp/ copy", errno, false);
		goto out;
	}
	d->t[i].in_tmp = true;
	for (;;) {
		ssize_t r = pread(d->fd, b, DISK_COPY_CHUNK, off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			maildir_disk_fail(d, 0, "read back", errno, false);
			goto out;
		}
		if (r == 0)
			break;
		if (!disk_write_all(fd, b, (size_t)r)) {
			maildir_disk_fail(d, i, "write copy", errno, false);
			goto out;
		}
		off += r;
	}
	if (fsync(fd) < 0) {
		maildir_disk_fail(d, i, "fsync copy", errno, false);
		goto out;
	}
	ok = true;
out:
	if (fd >= 0)
		close(fd);
	free(b);
	return ok;
}

/* disk_share - give every other Maildir the message in its tmp/: a hard
 * link to the first file, or a copy across file systems. */
static bool
disk_share(struct maildir_disk *d)
{
	size_t i;

	for (i = 1; i < d->n; i++) {
		int tmp;
		bool ok = true;

		if (!disk_open_maildir(d, i, false, &tmp, NULL))
			return false;
		if (linkat(d->tmpdir, d->t[0].name, tmp, d->t[i].name,
			   0) == 0) {
			d->t[i].in_tmp = true;
		} else if (errno == EXDEV || errno == EMLINK ||
			   errno == EPERM) {
			ok = disk_copy(d, i, tmp);
		} else {
			maildir_disk_fail(d, i, "link into tmp/", errno, false);
			ok = false;
		}
		close(tmp);
		if (!ok)
			return false;
	}
	return true;
}

/* disk_undo - withdraw the new/ entries made so far.  One a reader has
 * moved meanwhile (ENOENT) was seen and cannot be taken back: counted,
 * and logged as a possible duplicate. */
static void
disk_undo(struct maildir_disk *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		int new;

		if (!d->t[i].in_new)
			continue;
		d->t[i].in_new = false;
		if (!disk_open_maildir(d, i, false, NULL, &new)) {
			d->not_withdrawn++;
			continue;
		}
		if (unlinkat(new, d->t[i].name, 0) < 0)
			d->not_withdrawn++;
		(void)fsync(new);
		close(new);
	}
}

/* maildir_disk_commit - see maildir_disk.h. */
void
maildir_disk_commit(struct maildir_disk *d)
{
	size_t i;

	if (fsync(d->fd) < 0) {
		maildir_disk_fail(d, 0, "fsync", errno, false);
		return;
	}
	if (!disk_share(d))
		return;
	for (i = 0; i < d->n; i++) {
		int tmp = d->tmpdir, new;

		if (!disk_open_maildir(d, i, false, i == 0 ? NULL : &tmp, &new))
			break;
		/* The spec links (then unlinks): unlike rename, a link never
		 * replaces an entry that is there already. */
		if (linkat(tmp, d->t[i].name, new, d->t[i].name, 0) < 0) {
			maildir_disk_fail(d, i, "link into new/", errno,
					  false);
		} else {
			d->t[i].in_new = true;
			if (fsync(new) < 0)
				maildir_disk_fail(d, i, "fsync new/", errno,
						  false);
		}
		if (i > 0)
			close(tmp);
		close(new);
		if (d->fail != MAILDIR_OK)
			break;
	}
	if (d->fail != MAILDIR_OK) {
		disk_undo(d);
		return;
	}
	for (i = 0; i < d->n; i++)
		d->t[i].in_new = false;
	maildir_disk_cleanup(d);	/* the tmp/ names; the file is in new/ */
}

/* maildir_disk_write - see maildir_disk.h. */
bool
maildir_disk_write(struct maildir_disk *d, const char *p, size_t n)
{
	if (disk_write_all(d->fd, p, n))
		return true;
	maildir_disk_fail(d, 0, "write", errno, false);
	return false;
}
