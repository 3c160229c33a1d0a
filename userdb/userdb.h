/*
 * userdb - the credential store: user@realm -> record, in GDBM files.
 *
 * How a change costs O(record) and readers stay consistent
 * --------------------------------------------------------
 * GDBM lets one writer or many readers hold a file, never both, and it is
 * not crash-safe (a kill -9 mid-update can leave a corrupt file).  So no
 * GDBM file is ever modified once readers can see it.  The store at PATH
 * (store_path) is four kinds of file:
 *
 *  PATH		the manifest, a few bytes of text naming the current
 *			generation G (storelog.h).  It is only ever replaced
 *			by rename(2), the store's one commit point.
 *  PATH.G.gdbm		the base: every record as of generation G began.
 *  PATH.G.log		the change log of generation G: a header, then one
 *			checksummed frame per transaction (a command, a
 *			batch group, an import), appended in order.
 *  PATH.lock		the writers' flock (PATH.compact: the compactor's).
 *
 * A writer (pwtool) takes the lock, brings its view up to date, appends
 * its transaction as one frame with one pwrite(), fdatasync()s the log,
 * and only then answers: about one page written per change, whatever the
 * size of the store.  A kill -9 mid-append leaves a frame that is not
 * whole (or fails its CRC-32C); readers never apply it and the next
 * writer, holding the lock, cuts it off.  A batch is one frame, so it
 * lands whole or not at all.  A batch bigger than the log may grow (an
 * import) is committed instead by writing a new generation (base copied
 * with the log and the batch applied, empty log), as before the log.
 *
 * Readers (authd, pwtool show/list/export) open the manifest's base and
 * log, apply the log's whole frames to an in-memory overlay (a keyed hash
 * table: log entries shadow the base), and before each lookup stat() PATH
 * and fstat() the log: new bytes are read and applied, so a change is
 * visible to the next request, incrementally; a new manifest inode means
 * a new generation, and they reopen.  Readers take no lock and never
 * block a writer or each other.
 *
 * Compaction folds the log into a new base when the log passes
 * store_log_max (by default 1/64 of the base, at least 256 KiB, so that
 * rewriting the base costs about 64 bytes per byte of change: amortised
 * O(1) per change).  pwtool starts it after a commit in a detached child.
 * It copies base G to PATH.compact.tmp and applies the log's prefix
 * without the writer lock (seconds on a million users; readers and
 * writers carry on with generation G), then takes the writer lock just
 * long enough to copy the frames appended meanwhile into PATH.(G+1).log,
 * rename the new base and manifest in, and fsync; then removes
 * PATH.G.*.  Free space needed: one more base and log.  A kill -9 at any
 * point leaves the manifest naming a whole generation and at most files
 * nobody names, which the next compaction replaces.
 *
 * Formats: a store made before the log (format 1) is a plain GDBM file at
 * PATH.  It is read as it is, and the first write (or pwtool compact)
 * upgrades it in place without copying: PATH.1.gdbm becomes a second name
 * of the same file, PATH.1.log starts empty, and the manifest is renamed
 * over PATH.  An older authd or pwtool then fails to open PATH
 * ("Unexpected end of file": the manifest is shorter than a GDBM header)
 * instead of reading a base without its log; a manifest of
 * a later format is refused with a message that says so.
 *
 * Besides the users, the store holds one record that is nobody's: the
 * store's secret (USERDB_SECRET_KEY, a key without '@', which no name
 * ever normalises to), 32 random bytes that the first commit adds.  authd
 * keys its made-up SCRAM salts for unknown users with it, so that they
 * stay the same across restarts, like real users' salts.  Listings and
 * exports do not show it.  A second such record, USERDB_ITERS_KEY, counts
 * the users per SCRAM iteration count (scram_iters.h); every commit
 * rewrites it.
 */
/*
 * A second store: PostgreSQL (store = postgresql).  The same API and the
 * same records in a database that many hosts share (store_pg.h,
 * sql/schema.sql); a reader or writer whose userdb_file_params carry a
 * connection string (pg_conninfo) goes there, and everything said above
 * of files does not apply to it.
 */
#ifndef AUTHD_USERDB_H
#define AUTHD_USERDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
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
	uint64_t log_max;		/* store_log_max: 0 automatic */
	/* store = postgresql: the libpq connection string or URI; the
	 * store is then that database (store_pg.h), path only names it in
	 * messages, and the file fields above do not apply.  NULL: the
	 * GDBM files at path. */
	const char *pg_conninfo;
};

/* userdb_reader_new - a reader for the store p names (GDBM or
 * PostgreSQL); userdb_new(p->path) for a GDBM store. */
struct userdb *userdb_reader_new(const struct userdb_file_params *p);

/* userdb_store_missing - 1 when the store has had no commit yet (no file
 * at path; a PostgreSQL schema whose store has no secret yet), 0 when it
 * has, -1 when that cannot be told (no server, no schema: the next call
 * reports why). */
int userdb_store_missing(const struct userdb_file_params *p);

/* userdb_reader_missing - userdb_store_missing(p) asked through db, a
 * reader of that store: on PostgreSQL over its connection, not a new one
 * (pwtool batch asks before every add and passwd). */
int userdb_reader_missing(struct userdb *db,
			  const struct userdb_file_params *p);

/* userdb_schema_init - pwtool init: create (or upgrade) a PostgreSQL
 * store's tables from sql, the text of sql/schema.sql, in one
 * transaction; *from_r is the version found (0: none).  False for a GDBM
 * store, which needs no schema. */
bool userdb_schema_init(const struct userdb_file_params *p, const char *sql,
			int *from_r, const char **error_r);

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

/* userdb_compact - fold the log into a new base now (pwtool compact, and
 * the background child a commit starts).  With wait false, return at once
 * (true) when another compaction holds the store; with wait true, wait
 * for it up to lock_timeout.  An old-format store is upgraded first. */
bool userdb_compact(const struct userdb_file_params *p, bool wait,
		    const char **error_r);
/* userdb_compact_if_due - when the log is past store_log_max and no
 * compaction runs, start one in a detached grandchild and return at once.
 * Call it after answering, with no password in memory: the child is a
 * copy of the caller for as long as the compaction lasts. */
void userdb_compact_if_due(const struct userdb_file_params *p);

#endif
