/*
 * maildir - delivery of one message into one or more Maildirs
 * (https://cr.yp.to/proto/maildir.html), the alternative to the next
 * hop for local domains.
 *
 * authd-smtpd keeps no queue, so the disk must have the message before
 * the client hears 250: the bytes go into tmp/ of the first Maildir as
 * they come; at the end the file is fsync()ed, given to every other
 * Maildir (a hard link into its tmp/, or a copy when the link cannot be
 * made: another file system), linked into each new/ with new/ fsync()ed,
 * and only then does the caller hear "ok".  Every failure is a 4xx and
 * leaves nothing in any new/ and no file of ours in any tmp/: the
 * delivery is all or nothing, because the session answers once after
 * DATA.  A later Maildir failing undoes the new/ entries already made;
 * when a reader has moved one away meanwhile the undo cannot take it
 * back, and the client's retry duplicates that copy: a duplicate, never
 * a loss.  A crash (kill -9, power) before the answer leaves at most a
 * file in tmp/, which readers remove after 36 hours (the spec's rule).
 *
 * One copy shared by hard links (as Dovecot's LDA does) writes the
 * message once however many recipients it has; it is safe because every
 * file is created by the one unprivileged user the gate runs as (the
 * Maildirs are virtual mailboxes of that user, mode 0600), and a Maildir
 * file is never changed in place (flags live in its name).  Hence also
 * no per-recipient header: there is no Delivered-To (the gate expands no
 * aliases or .forward files, so no mail loop can pass through it); a
 * Return-Path line is the caller's to write first through maildir_body.
 *
 * Line ends: Maildir files are Unix text, as every MDA writes them
 * (qmail, Postfix local and virtual, Dovecot); CRLF becomes LF, a lone
 * CR is kept.
 *
 * The file work (open, write, fsync, link) blocks, and the loop never
 * may: it runs as jobs on a worker pool (worker.h), one job at a time
 * per message, the results coming back on the loop thread.  The loop
 * thread only copies bytes into a bounded buffer.
 *
 * Untrusted input: the message bytes (the client's; written, never
 * interpreted beyond CRLF), and the Maildir trees, which their users may
 * change under us: subdirectories are opened relative to the Maildir
 * without following a symbolic link, and files are created O_EXCL,
 * O_NOFOLLOW, mode 0600.  The Maildir paths come from the configuration
 * (maildir_map.h makes them from addresses and refuses traversal).
 */
#ifndef AUTHD_SMTPD_MAILDIR_H
#define AUTHD_SMTPD_MAILDIR_H

#include <stdbool.h>
#include <stddef.h>

#include "loop.h"
#include "worker.h"

/* More than this many message bytes not yet on disk make maildir_body
 * say "stop" (the caller holds its client until drained). */
#define MAILDIR_BACKLOG		(256 * 1024)
/* Maildirs of one message at most (Postfix's smtpd_recipient_limit). */
#define MAILDIR_TARGETS_MAX	1000

struct maildir_msg;

/* maildir_done_fn - the outcome, once: ok with "250 2.0.0 Ok: delivered
 * to N maildir(s)", or not with a 4xx reply for the client
 * ("450 4.2.0 ..." a Maildir missing or broken, "452 4.3.1 ..." the disk
 * or a quota full, "451 4.3.0 ..." any other failure).  The reply names
 * no path; the detail (path, errno) is logged here.  The reply is valid
 * during the call only; the message is freed after the call returns. */
typedef void maildir_done_fn(void *arg, bool ok, const char *reply);
/* maildir_drained_fn - the backlog fell below half the limit after
 * maildir_body returned false. */
typedef void maildir_drained_fn(void *arg);

/* maildir_begin - start delivering one message to the n Maildirs dirs
 * (absolute paths; an exact duplicate gets one copy); create allows
 * making a missing Maildir (and its parents, mode 0700) and its tmp/,
 * new/ and cur/.  The tmp/ file is opened on pool at once.  drained may
 * be NULL.  The strings are copied.  NULL and *errmsg_r (allocated)
 * when the list is unusable (empty, too long, a relative path): a
 * configuration mistake, for the caller to answer with a 451. */
struct maildir_msg *maildir_begin(struct loop *l, struct worker_pool *pool,
				  const char *const *dirs, size_t n,
				  bool create, maildir_drained_fn *drained,
				  void *arg, char **errmsg_r);
/* maildir_body - message bytes as they come (after unstuffing: CRLF
 * lines).  After a failure they are dropped (maildir_end reports it).
 * False once more than MAILDIR_BACKLOG bytes wait for the disk: hold the
 * client until drained.  The bytes are always taken. */
bool maildir_body(struct maildir_msg *m, const char *p, size_t n);
/* maildir_end - the message is complete: commit it.  done is called
 * once, never from inside this call, then the message is freed. */
void maildir_end(struct maildir_msg *m, maildir_done_fn *done, void *arg);
/* maildir_abort - the caller is gone or refused the message: done and
 * drained are never called again and m must not be used.  Before
 * maildir_end nothing reaches new/ and the tmp/ file is removed (on the
 * pool).  After maildir_end a commit in progress runs to its end (the
 * client hears nothing and will send again: a duplicate, not a loss).
 * Messages must be ended or aborted, and their jobs completed, before
 * the pool is freed; worker_pool_free completes them (failed). */
void maildir_abort(struct maildir_msg *m);

/* maildir_host_safe - the host name part of unique names (the spec:
 * '/' as "\057", ':' as "\072"; here also any byte outside printable
 * ASCII and '\\' in octal, so a name is one printable path component).
 * False when it does not fit in outlen. */
bool maildir_host_safe(const char *host, char *out, size_t outlen);

#endif
