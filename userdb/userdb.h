/*
 * userdb - the credential store: a GDBM file of user@realm -> record.
 *
 * How readers and the writer stay consistent and crash-safe
 * ----------------------------------------------------------
 * GDBM lets one writer or many readers hold a file, never both: a reader
 * that keeps the file open (authd does, for speed) would lock pwtool out,
 * and GDBM itself is not crash-safe (a kill -9 mid-update can leave a
 * corrupt file).  So the live file is never modified in place:
 *
 *  - A writer (pwtool) takes an exclusive flock() on PATH.lock, so writers
 *    queue behind each other; readers never touch that lock.
 *  - It copies PATH to PATH.new, applies every change of the batch to the
 *    copy, fsyncs it, renames it over PATH and fsyncs the directory.
 *    rename(2) is atomic: at every instant PATH is either the old complete
 *    file or the new complete file.  A kill -9 anywhere leaves PATH intact
 *    and at most a stale PATH.new, which the next writer removes.  A batch
 *    (import) is one copy, so it lands whole or not at all.
 *  - Readers open PATH without GDBM locks (the file they hold is never
 *    written again) and, before each lookup, stat() PATH: a new inode means
 *    a commit happened, and they reopen.  A change is therefore visible to
 *    the next lookup, no reader ever sees a torn record, and no reader ever
 *    blocks a writer.
 *
 * Besides the users, the file holds one record that is nobody's: the
 * store's secret (USERDB_SECRET_KEY, a key without '@', which no name
 * ever normalises to), 32 random bytes that the first commit adds.  authd
 * keys its made-up SCRAM salts for unknown users with it, so that they
 * stay the same across restarts, like real users' salts.  Listings and
 * exports do not show it.  A second such record, USERDB_ITERS_KEY, counts
 * the users per SCRAM iteration count (scram_iters.h); every commit
 * rewrites it.
 *
 * The price is that one change copies the whole file (about a second per
 * few hundred MB); batches amortise it, and the scale-out path for very
 * large user bases is a database server back-end.
 */
#ifndef AUTHD_USERDB_H
#define AUTHD_USERDB_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "record.h"

struct userdb;
struct userdb_txn;

/* userdb_new - a reader for the store at path; opens lazily. */
struct userdb *userdb_new(const char *path);
void userdb_free(struct userdb *db);

/* userdb_lookup - fetch and decode key.  Returns 1 (found; rec filled),
 * 0 (no such key), or -1 (store unreadable or record damaged: a temporary
 * failure, never "wrong password"), with *error_r set. */
int userdb_lookup(struct userdb *db, const char *key, size_t key_len,
		  struct userdb_record *rec, const char **error_r);

/* userdb_pin - while on, lookups keep using the file already open instead
 * of following commits, so that a listing or an export is one snapshot. */
void userdb_pin(struct userdb *db, bool on);
/* userdb_recheck - while pinned, let the next lookup (one) follow a
 * commit.  authd pins its reader and calls this once per wake-up of its
 * event loop: the requests of one batch share one stat() of the file, and
 * a commit that ended before a client sent its request is still seen by
 * that request (it is stat()ed after the wake-up that delivered it). */
void userdb_recheck(struct userdb *db);

#define USERDB_SECRET_KEY	"#secret"
#define USERDB_SECRET_LEN	32

/* userdb_secret - the store's secret into out; false if the store has
 * none yet (no commit since it was introduced) or cannot be read. */
bool userdb_secret(struct userdb *db, unsigned char out[USERDB_SECRET_LEN]);

struct scram_iters;
/* userdb_scram_iters - the store's SCRAM iteration histogram
 * (scram_iters.h) into out, decoded once per file: empty when the store
 * has none yet; false if the store cannot be read. */
bool userdb_scram_iters(struct userdb *db, struct scram_iters *out);

/* userdb_keys - every user key of the current file, sorted (bytewise).  Returns
 * false with *error_r on failure.  Free with userdb_keys_free(). */
bool userdb_keys(struct userdb *db, char ***keys_r, size_t *n_r,
		 const char **error_r);
void userdb_keys_free(char **keys, size_t n);

struct userdb_file_params {
	const char *path;
	mode_t mode;		/* for the new file, when mode_set */
	bool mode_set;
	uid_t uid;		/* (uid_t)-1: keep the old file's, or ours */
	gid_t gid;		/* (gid_t)-1: likewise */
	unsigned int lock_timeout;	/* seconds to wait for another writer */
};

/* userdb_txn_begin - lock the store and start a batch.  NULL with
 * *error_r on failure (lock timeout, I/O error...).  A one-shot writer:
 * the same as userdb_writer_begin() on a writer used once. */
struct userdb_txn *userdb_txn_begin(const struct userdb_file_params *p,
				    const char **error_r);

struct userdb_writer;
/* userdb_writer_new - a writer for p (copied; p->path must outlive it)
 * that keeps what it learnt of the store between its transactions, so that
 * a long-lived writer (pwtool batch) pays O(change) per transaction.  It
 * holds no lock between transactions.  Errors come from begin. */
struct userdb_writer *userdb_writer_new(const struct userdb_file_params *p);
void userdb_writer_free(struct userdb_writer *w);
/* userdb_writer_begin - lock the store and start a batch on w; at most
 * one transaction of a writer is open at a time. */
struct userdb_txn *userdb_writer_begin(struct userdb_writer *w,
				       const char **error_r);
/* userdb_txn_get - like userdb_lookup, inside the batch. */
int userdb_txn_get(struct userdb_txn *txn, const char *key,
		   struct userdb_record *rec, const char **error_r);
/* userdb_txn_exists - whether key is in the batch. */
int userdb_txn_exists(struct userdb_txn *txn, const char *key);
/* userdb_txn_put - insert or replace key. */
bool userdb_txn_put(struct userdb_txn *txn, const char *key,
		    const struct userdb_record *rec, const char **error_r);
/* userdb_txn_put_raw - store an already encoded record (import). */
bool userdb_txn_put_raw(struct userdb_txn *txn, const char *key,
			const char *value, size_t len, const char **error_r);
/* userdb_txn_delete - 1 deleted, 0 no such key, -1 error. */
int userdb_txn_delete(struct userdb_txn *txn, const char *key,
		      const char **error_r);
/* userdb_txn_commit - make the batch the live store, durably, and end the
 * transaction (the handle is freed either way). */
bool userdb_txn_commit(struct userdb_txn *txn, const char **error_r);
/* userdb_txn_abort - drop the batch; the live store is untouched. */
void userdb_txn_abort(struct userdb_txn *txn);

#endif
