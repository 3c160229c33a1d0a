/*
 * maildir_disk - the blocking half of Maildir delivery: the file system
 * calls (mkdir, open, write, fsync, link, unlink) for one message, in
 * the order that makes it durable before it is visible.  maildir.c runs
 * each step on a worker thread, never on the loop; the steps of one
 * message never run at the same time.
 *
 * Durability, in the order a crash could interrupt it: the file's data
 * and inode (fsync of the file), then its name in each new/ (link, then
 * fsync of new/), and only then the answer.  A Maildir made on the way
 * has each new directory entry fsynced in its parent first.
 *
 * Untrusted input: the Maildir trees, which their users may change
 * under us: below a Maildir nothing follows a symbolic link and files
 * are created O_EXCL, O_NOFOLLOW, mode 0600.  The message bytes are
 * written as given.
 */
#ifndef AUTHD_SMTPD_MAILDIR_DISK_H
#define AUTHD_SMTPD_MAILDIR_DISK_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

/* Failures, by what the client should hear (maildir.h). */
enum maildir_fail {
	MAILDIR_OK,
	MAILDIR_MAILBOX,		/* a Maildir missing or unusable */
	MAILDIR_SPACE,			/* ENOSPC, EDQUOT */
	MAILDIR_IO,			/* anything else */
};

struct maildir_target {
	char *dir;			/* the Maildir, absolute */
	char name[NAME_MAX + 1];	/* our unique name in it */
	bool in_tmp;			/* our file is in its tmp/ */
	bool in_new;			/* and in its new/ */
};

/* One message's files.  The caller fills t, n and create, sets tmpdir
 * and fd to -1, and reads the failure fields after each step. */
struct maildir_disk {
	struct maildir_target *t;
	size_t n;
	bool create;			/* make missing Maildirs */
	int tmpdir;			/* t[0]'s tmp/, or -1 */
	int fd;				/* t[0]'s file (read-write), or -1 */
	enum maildir_fail fail;		/* the first failure */
	int fail_errno;
	size_t fail_idx;		/* in t */
	const char *fail_what;		/* a static "what failed" */
	size_t not_withdrawn;		/* new/ entries an undo could not
					 * remove (a reader took them) */
};

/* maildir_disk_fail - record the first failure; dir says errno came
 * from finding a Maildir (then ENOENT and the like mean "mailbox
 * unavailable"). */
void maildir_disk_fail(struct maildir_disk *d, size_t i, const char *what,
		       int err, bool dir);
/* maildir_disk_open - find (or make) every Maildir, then create the
 * tmp/ file in the first.  On failure fail is set. */
void maildir_disk_open(struct maildir_disk *d);
/* maildir_disk_write - append to the tmp/ file; false with fail set. */
bool maildir_disk_write(struct maildir_disk *d, const char *p, size_t n);
/* maildir_disk_commit - fsync the file, give it to every other
 * Maildir's tmp/ (hard link, or a fsynced copy across file systems),
 * link it into each new/ and fsync that new/, then remove the tmp/
 * names and close.  All or nothing: on failure (fail set) what reached
 * a new/ is withdrawn; the tmp/ files are the caller's to clean up. */
void maildir_disk_commit(struct maildir_disk *d);
/* maildir_disk_cleanup - remove our tmp/ files and close what is open
 * (a failure leaves a stray tmp/ file, which readers remove after 36
 * hours, the spec's rule). */
void maildir_disk_cleanup(struct maildir_disk *d);

#endif
