/*
 * userdb - the GDBM credential store.  The consistency design is explained
 * in userdb.h.  Untrusted input: the store file itself (records are decoded
 * by record.c, which checks every byte).
 */
#include <errno.h>
#include <fcntl.h>
#include <gdbm.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "digest.h"
#include "scram_iters.h"
#include "secret.h"
#include "userdb.h"
#include "xalloc.h"

struct userdb {
	char *path;
	GDBM_FILE dbf;
	dev_t dev;
	ino_t ino;
	bool pinned;
	bool recheck;		/* pinned, but look once more (userdb_recheck) */
	char err[512];
	/* USERDB_ITERS_KEY of the file open, decoded once per file */
	struct scram_iters iters;
	dev_t iters_dev;
	ino_t iters_ino;
	bool iters_ok;
};

struct userdb_txn {
	char *path, *new_path, *lock_path;
	int lock_fd;
	bool locked;
	GDBM_FILE dbf;
	bool existed;
	struct stat old_st;
	struct userdb_file_params p;
	char err[512];
	/* USERDB_ITERS_KEY, kept up to date by put and delete; when it was
	 * missing or disagreed, commit counts the whole batch instead */
	struct scram_iters iters;
	bool iters_known;
};

/* Error messages live in one thread-local buffer, not in the handle, so
 * a caller may free the handle (abort a transaction) and still print the
 * message.  It stays valid until the next error on the same thread. */
static _Thread_local char userdb_msg[512];

static const char *
set_err(char *err, size_t n, const char *what, const char *detail)
{
	(void)err;
	(void)n;
	(void)snprintf(userdb_msg, sizeof(userdb_msg), "%s: %s", what, detail);
	return userdb_msg;
}

#define DB_ERR(db, what, detail) set_err((db)->err, sizeof((db)->err), what, detail)

struct userdb *
userdb_new(const char *path)
{
	struct userdb *db = xcalloc(1, sizeof(*db));

	db->path = xstrdup(path);
	return db;
}

void
userdb_free(struct userdb *db)
{
	if (db == NULL)
		return;
	if (db->dbf != NULL)
		gdbm_close(db->dbf);
	free(db->path);
	free(db);
}

/* reader_refresh - (re)open the file if PATH now names another inode. */
static bool
reader_refresh(struct userdb *db, const char **error_r)
{
	struct stat st;
	GDBM_FILE f;

	if (db->dbf != NULL && db->pinned && !db->recheck)
		return true;
	db->recheck = false;
	if (stat(db->path, &st) < 0) {
		*error_r = DB_ERR(db, db->path, strerror(errno));
		return false;
	}
	if (db->dbf != NULL && st.st_ino == db->ino && st.st_dev == db->dev)
		return true;
	/* No GDBM lock: the file is never written after it is renamed in. */
	f = gdbm_open(db->path, 0, GDBM_READER | GDBM_NOLOCK, 0, NULL);
	if (f == NULL) {
		*error_r = DB_ERR(db, db->path, gdbm_strerror(gdbm_errno));
		return false;
	}
	/* Remember the inode actually opened, not the one stat() saw: a
	 * commit may have happened in between. */
	if (fstat(gdbm_fdesc(f), &st) < 0) {
		gdbm_close(f);
		*error_r = DB_ERR(db, db->path, strerror(errno));
		return false;
	}
	if (db->dbf != NULL)
		gdbm_close(db->dbf);
	db->dbf = f;
	db->dev = st.st_dev;
	db->ino = st.st_ino;
	return true;
}

/* fetch_decode - shared by readers and the writer's batch. */
static int
fetch_decode(GDBM_FILE dbf, const char *key, size_t key_len,
	     struct userdb_record *rec, char *err, size_t errlen,
	     const char **error_r)
{
	datum k = { (char *)key, (int)key_len }, v;
	const char *why;

	userdb_record_init(rec);
	v = gdbm_fetch(dbf, k);
	if (v.dptr == NULL) {
		if (gdbm_errno == GDBM_ITEM_NOT_FOUND)
			return 0;
		*error_r = set_err(err, errlen, "store read",
				   gdbm_strerror(gdbm_errno));
		return -1;
	}
	why = userdb_record_decode(v.dptr, (size_t)v.dsize, rec);
	if (why == NULL &&
	    !digest_sha256_buf(v.dptr, (size_t)v.dsize, rec->fingerprint))
		why = "SHA-256 is not available";
	secret_free(v.dptr, (size_t)v.dsize);
	if (why != NULL) {
		*error_r = set_err(err, errlen, "damaged record", why);
		return -1;
	}
	return 1;
}

void
userdb_pin(struct userdb *db, bool on)
{
	db->pinned = on;
}

void
userdb_recheck(struct userdb *db)
{
	db->recheck = true;
}

int
userdb_txn_exists(struct userdb_txn *txn, const char *key)
{
	datum k = { (char *)key, (int)strlen(key) };

	return gdbm_exists(txn->dbf, k);
}

int
userdb_lookup(struct userdb *db, const char *key, size_t key_len,
	      struct userdb_record *rec, const char **error_r)
{
	userdb_record_init(rec);
	if (!reader_refresh(db, error_r))
		return -1;
	return fetch_decode(db->dbf, key, key_len, rec, db->err,
			    sizeof(db->err), error_r);
}

static int
key_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

bool
userdb_keys(struct userdb *db, char ***keys_r, size_t *n_r,
	    const char **error_r)
{
	size_t n = 0, cap = 1024;
	char **keys;
	datum k;

	if (!reader_refresh(db, error_r))
		return false;
	keys = xmalloc(cap * sizeof(char *));
	for (k = gdbm_firstkey(db->dbf); k.dptr != NULL;) {
		datum next = gdbm_nextkey(db->dbf, k);

		if (n == cap)
			keys = xrealloc(keys, (cap *= 2) * sizeof(char *));
		/* Users only: every user key has an '@'. */
		if (memchr(k.dptr, '@', (size_t)k.dsize) != NULL)
			keys[n++] = xstrndup(k.dptr, (size_t)k.dsize);
		free(k.dptr);
		k = next;
	}
	if (gdbm_errno != GDBM_ITEM_NOT_FOUND && gdbm_errno != GDBM_NO_ERROR) {
		userdb_keys_free(keys, n);
		*error_r = DB_ERR(db, "store iteration", gdbm_strerror(gdbm_errno));
		return false;
	}
	qsort(keys, n, sizeof(char *), key_cmp);
	*keys_r = keys;
	*n_r = n;
	return true;
}

bool
userdb_secret(struct userdb *db, unsigned char out[USERDB_SECRET_LEN])
{
	datum k = { (char *)USERDB_SECRET_KEY, sizeof(USERDB_SECRET_KEY) - 1 }, v;
	const char *why;
	bool ok;

	if (!reader_refresh(db, &why))
		return false;
	v = gdbm_fetch(db->dbf, k);
	if (v.dptr == NULL)
		return false;
	ok = v.dsize == USERDB_SECRET_LEN;
	if (ok)
		memcpy(out, v.dptr, USERDB_SECRET_LEN);
	secret_free(v.dptr, (size_t)v.dsize);
	return ok;
}

bool
userdb_scram_iters(struct userdb *db, struct scram_iters *out)
{
	datum k = { (char *)USERDB_ITERS_KEY, sizeof(USERDB_ITERS_KEY) - 1 }, v;
	const char *why;

	if (!reader_refresh(db, &why))
		return false;
	if (!db->iters_ok || db->iters_dev != db->dev ||
	    db->iters_ino != db->ino) {
		/* A store without the record (older than it) decodes as
		 * empty: every made-up count is then scram_iterations, as
		 * before, until the next commit writes it. */
		scram_iters_init(&db->iters);
		v = gdbm_fetch(db->dbf, k);
		if (v.dptr != NULL) {
			(void)scram_iters_decode(v.dptr, (size_t)v.dsize,
						 &db->iters);
			free(v.dptr);
		}
		db->iters_dev = db->dev;
		db->iters_ino = db->ino;
		db->iters_ok = true;
	}
	*out = db->iters;
	return true;
}

void
userdb_keys_free(char **keys, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
}

/* copy_fd - copy all of src into dst, in the kernel when it can. */
static bool
copy_fd(int src, int dst)
{
	char buf[65536];
	ssize_t n;

	for (;;) {
		n = copy_file_range(src, NULL, dst, NULL, 1 << 30, 0);
		if (n == 0)
			return true;
		if (n < 0)
			break;
	}
	if (errno != EXDEV && errno != ENOSYS && errno != EINVAL &&
	    errno != EOPNOTSUPP)
		return false;
	while ((n = read(src, buf, sizeof(buf))) > 0) {
		char *p = buf;

		while (n > 0) {
			ssize_t w = write(dst, p, (size_t)n);

			if (w < 0)
				return false;
			p += w;
			n -= w;
		}
	}
	return n == 0;
}

static void
txn_free(struct userdb_txn *txn)
{
	if (txn->dbf != NULL)
		gdbm_close(txn->dbf);
	if (txn->lock_fd >= 0)
		close(txn->lock_fd);	/* releases the flock */
	free(txn->path);
	free(txn->new_path);
	free(txn->lock_path);
	free(txn);
}

/* txn_lock - wait up to lock_timeout seconds for the writer lock. */
static bool
txn_lock(struct userdb_txn *txn, const char **error_r)
{
	struct timespec pause = { 0, 20 * 1000 * 1000 }, now;
	uint64_t deadline;

	clock_gettime(CLOCK_MONOTONIC, &now);
	deadline = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000 +
		   (uint64_t)txn->p.lock_timeout * 1000;

	txn->lock_fd = open(txn->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (txn->lock_fd < 0) {
		*error_r = set_err(txn->err, sizeof(txn->err), txn->lock_path,
				   strerror(errno));
		return false;
	}
	while (flock(txn->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			*error_r = set_err(txn->err, sizeof(txn->err),
					   txn->lock_path, strerror(errno));
			return false;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000 >=
		    deadline) {
			*error_r = set_err(txn->err, sizeof(txn->err),
					   txn->lock_path,
					   "locked by another writer (timed out)");
			return false;
		}
		nanosleep(&pause, NULL);
	}
	txn->locked = true;
	return true;
}

/* txn_read_iters - the histogram the batch starts from: a new store's is
 * empty; an existing store without one (older than it) or with a damaged
 * one is counted in full at commit. */
static void
txn_read_iters(struct userdb_txn *txn)
{
	datum k = { (char *)USERDB_ITERS_KEY, sizeof(USERDB_ITERS_KEY) - 1 }, v;

	scram_iters_init(&txn->iters);
	txn->iters_known = !txn->existed;
	if (!txn->existed)
		return;
	v = gdbm_fetch(txn->dbf, k);
	if (v.dptr == NULL)
		return;
	txn->iters_known = scram_iters_decode(v.dptr, (size_t)v.dsize,
					      &txn->iters) == NULL;
	free(v.dptr);
}

/* txn_iters_adjust - key's stored record leaves the histogram (a replace
 * or a delete is coming), and value (if not NULL) enters it.  Records that
 * do not decode count nowhere, as in a full count. */
static void
txn_iters_adjust(struct userdb_txn *txn, const char *key, const char *value,
		 size_t len)
{
	datum k = { (char *)key, (int)strlen(key) }, old;
	struct userdb_record rec;

	if (!txn->iters_known || strchr(key, '@') == NULL)
		return;
	old = gdbm_fetch(txn->dbf, k);
	if (old.dptr != NULL) {
		userdb_record_init(&rec);
		if (userdb_record_decode(old.dptr, (size_t)old.dsize, &rec) ==
		    NULL && !scram_iters_uncount(&txn->iters, &rec))
			txn->iters_known = false;
		userdb_record_clear(&rec);
		secret_free(old.dptr, (size_t)old.dsize);
	}
	if (value != NULL) {
		userdb_record_init(&rec);
		if (userdb_record_decode(value, len, &rec) == NULL)
			scram_iters_count(&txn->iters, &rec);
		userdb_record_clear(&rec);
	}
}

struct userdb_txn *
userdb_txn_begin(const struct userdb_file_params *p, const char **error_r)
{
	struct userdb_txn *txn = xcalloc(1, sizeof(*txn));
	int src = -1, dst = -1;

	txn->lock_fd = -1;
	txn->p = *p;
	txn->path = xstrdup(p->path);
	txn->new_path = xasprintf("%s.new", p->path);
	txn->lock_path = xasprintf("%s.lock", p->path);
	if (!txn_lock(txn, error_r))
		goto fail;
	/* Holding the lock, any PATH.new is left over from a crash. */
	if (unlink(txn->new_path) < 0 && errno != ENOENT)
		goto syserr_new;
	src = open(txn->path, O_RDONLY | O_CLOEXEC);
	if (src < 0 && errno != ENOENT) {
		*error_r = set_err(txn->err, sizeof(txn->err), txn->path,
				   strerror(errno));
		goto fail;
	}
	if (src >= 0) {
		txn->existed = true;
		if (fstat(src, &txn->old_st) < 0)
			goto syserr_new;
		dst = open(txn->new_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			   0600);
		if (dst < 0 || !copy_fd(src, dst))
			goto syserr_new;
		close(dst);
		dst = -1;
		close(src);
		src = -1;
		txn->dbf = gdbm_open(txn->new_path, 0, GDBM_WRITER | GDBM_NOLOCK,
				     0600, NULL);
	} else {
		txn->dbf = gdbm_open(txn->new_path, 0, GDBM_NEWDB | GDBM_NOLOCK,
				     0600, NULL);
	}
	if (txn->dbf == NULL) {
		*error_r = set_err(txn->err, sizeof(txn->err), txn->path,
				   gdbm_strerror(gdbm_errno));
		goto fail;
	}
	txn_read_iters(txn);
	return txn;
syserr_new:
	*error_r = set_err(txn->err, sizeof(txn->err), txn->new_path,
			   strerror(errno));
fail:
	if (src >= 0)
		close(src);
	if (dst >= 0)
		close(dst);
	/* Copy the message out before the handle goes. */
	{
		static _Thread_local char msg[512];

		(void)snprintf(msg, sizeof(msg), "%s", *error_r);
		*error_r = msg;
	}
	if (txn->locked)	/* never another writer's file */
		(void)unlink(txn->new_path);
	txn_free(txn);
	return NULL;
}

int
userdb_txn_get(struct userdb_txn *txn, const char *key,
	       struct userdb_record *rec, const char **error_r)
{
	return fetch_decode(txn->dbf, key, strlen(key), rec, txn->err,
			    sizeof(txn->err), error_r);
}

bool
userdb_txn_put_raw(struct userdb_txn *txn, const char *key, const char *value,
		   size_t len, const char **error_r)
{
	datum k = { (char *)key, (int)strlen(key) };
	datum v = { (char *)value, (int)len };

	txn_iters_adjust(txn, key, value, len);
	if (gdbm_store(txn->dbf, k, v, GDBM_REPLACE) != 0) {
		*error_r = set_err(txn->err, sizeof(txn->err), "store write",
				   gdbm_strerror(gdbm_errno));
		return false;
	}
	return true;
}

bool
userdb_txn_put(struct userdb_txn *txn, const char *key,
	       const struct userdb_record *rec, const char **error_r)
{
	struct buf b;
	bool ok;

	buf_init(&b);
	userdb_record_encode(rec, &b);
	ok = userdb_txn_put_raw(txn, key, b.data, b.len, error_r);
	buf_free(&b);
	return ok;
}

int
userdb_txn_delete(struct userdb_txn *txn, const char *key,
		  const char **error_r)
{
	datum k = { (char *)key, (int)strlen(key) };

	txn_iters_adjust(txn, key, NULL, 0);
	if (gdbm_delete(txn->dbf, k) == 0)
		return 1;
	if (gdbm_errno == GDBM_ITEM_NOT_FOUND)
		return 0;
	*error_r = set_err(txn->err, sizeof(txn->err), "store delete",
			   gdbm_strerror(gdbm_errno));
	return -1;
}

/* fsync_dir - make the rename itself durable. */
static bool
fsync_dir(const char *path)
{
	char *copy = xstrdup(path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool ok = fd >= 0 && fsync(fd) == 0;

	if (fd >= 0)
		close(fd);
	free(copy);
	return ok;
}

/* txn_ensure_secret - every committed store has its secret (userdb.h).
 * gdbm_exists() says 0 for a read error too (with gdbm_errno set): only a
 * true "not found" makes a new one, and GDBM_INSERT never replaces one. */
static bool
txn_ensure_secret(GDBM_FILE dbf, const char *what, char *msg, size_t size)
{
	datum k = { (char *)USERDB_SECRET_KEY, sizeof(USERDB_SECRET_KEY) - 1 }, v;
	unsigned char secret[USERDB_SECRET_LEN];
	int rc;

	if (gdbm_exists(dbf, k))
		return true;
	if (gdbm_errno != GDBM_NO_ERROR && gdbm_errno != GDBM_ITEM_NOT_FOUND) {
		(void)snprintf(msg, size, "%s: %s", what,
			       gdbm_strerror(gdbm_errno));
		return false;
	}
	if (RAND_bytes(secret, sizeof(secret)) != 1) {
		(void)snprintf(msg, size, "no random bytes for the store's secret");
		return false;
	}
	v.dptr = (char *)secret;
	v.dsize = sizeof(secret);
	rc = gdbm_store(dbf, k, v, GDBM_INSERT);
	secret_wipe(secret, sizeof(secret));
	if (rc != 0) {
		(void)snprintf(msg, size, "%s: %s", what,
			       gdbm_strerror(gdbm_errno));
		return false;
	}
	return true;
}

/* txn_write_iters - the batch's SCRAM iteration counts into
 * USERDB_ITERS_KEY (scram_iters.h): the histogram kept up to date by put
 * and delete, or, when the store had none (or it disagreed), a full count
 * of the records (several seconds on a 1M store: once per store). */
static bool
txn_write_iters(struct userdb_txn *txn, const char *what, char *msg,
		size_t size)
{
	datum k = { (char *)USERDB_ITERS_KEY, sizeof(USERDB_ITERS_KEY) - 1 }, v;
	GDBM_FILE dbf = txn->dbf;
	struct scram_iters it = txn->iters;
	struct userdb_record rec;
	struct buf b;
	datum key;
	int rc;

	if (!txn->iters_known)
		scram_iters_init(&it);
	for (key = txn->iters_known ? (datum){ NULL, 0 } : gdbm_firstkey(dbf);
	     key.dptr != NULL;) {
		datum next = gdbm_nextkey(dbf, key);

		if (memchr(key.dptr, '@', (size_t)key.dsize) != NULL) {
			datum val = gdbm_fetch(dbf, key);

			userdb_record_init(&rec);
			if (val.dptr != NULL &&
			    userdb_record_decode(val.dptr, (size_t)val.dsize,
						 &rec) == NULL)
				scram_iters_count(&it, &rec);
			userdb_record_clear(&rec);
			if (val.dptr != NULL)
				secret_free(val.dptr, (size_t)val.dsize);
		}
		free(key.dptr);
		key = next;
	}
	buf_init(&b);
	scram_iters_encode(&it, &b);
	v.dptr = b.data;
	v.dsize = (int)b.len;
	rc = gdbm_store(dbf, k, v, GDBM_REPLACE);
	buf_free(&b);
	if (rc != 0) {
		(void)snprintf(msg, size, "%s: %s", what,
			       gdbm_strerror(gdbm_errno));
		return false;
	}
	return true;
}

bool
userdb_txn_commit(struct userdb_txn *txn, const char **error_r)
{
	static _Thread_local char msg[512];
	mode_t mode = txn->p.mode_set ? txn->p.mode :
		      txn->existed ? (txn->old_st.st_mode & 07777) : 0640;
	uid_t uid = txn->p.uid;
	gid_t gid = txn->p.gid;
	const char *what = txn->new_path;
	int fd = -1;

	if (txn->existed) {
		if (uid == (uid_t)-1)
			uid = txn->old_st.st_uid;
		if (gid == (gid_t)-1)
			gid = txn->old_st.st_gid;
	}
	if (!txn_ensure_secret(txn->dbf, what, msg, sizeof(msg)) ||
	    !txn_write_iters(txn, what, msg, sizeof(msg)))
		goto fail;
	if (gdbm_sync(txn->dbf) != 0) {
		(void)snprintf(msg, sizeof(msg), "%s: %s", what,
			       gdbm_strerror(gdbm_errno));
		goto fail;
	}
	gdbm_close(txn->dbf);
	txn->dbf = NULL;
	fd = open(txn->new_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto syserr;
	/* Ownership only matters when we may change it (root); a non-root
	 * writer keeps its own ids. */
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) && fchown(fd, uid, gid) < 0 &&
	    geteuid() == 0)
		goto syserr;
	if (fchmod(fd, mode) < 0 || fsync(fd) < 0)
		goto syserr;
	close(fd);
	fd = -1;
	what = txn->path;
	if (rename(txn->new_path, txn->path) < 0 || !fsync_dir(txn->path))
		goto syserr;
	txn_free(txn);
	return true;
syserr:
	(void)snprintf(msg, sizeof(msg), "%s: %s", what, strerror(errno));
fail:
	if (fd >= 0)
		close(fd);
	*error_r = msg;
	userdb_txn_abort(txn);
	return false;
}

struct userdb_writer {
	struct userdb_file_params p;
};

struct userdb_writer *
userdb_writer_new(const struct userdb_file_params *p)
{
	struct userdb_writer *w = xcalloc(1, sizeof(*w));

	w->p = *p;
	return w;
}

void
userdb_writer_free(struct userdb_writer *w)
{
	free(w);
}

struct userdb_txn *
userdb_writer_begin(struct userdb_writer *w, const char **error_r)
{
	return userdb_txn_begin(&w->p, error_r);
}

void
userdb_txn_abort(struct userdb_txn *txn)
{
	if (txn->dbf != NULL) {
		gdbm_close(txn->dbf);
		txn->dbf = NULL;
	}
	(void)unlink(txn->new_path);
	txn_free(txn);
}
