/*
 * userdb - the credential store: a GDBM base plus an append-only change
 * log, behind a manifest.  The design and its promises are in userdb.h;
 * the byte formats in storelog.h.  Untrusted input: every file of the
 * store (records are decoded by record.c, log frames and the manifest by
 * storelog.c, which check every byte).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gdbm.h>
#include <libgen.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "digest.h"
#include "scram_iters.h"
#include "secret.h"
#include "store_pg.h"
#include "storelog.h"
#include "userdb.h"
#include "xalloc.h"

/* What one process knows of the store: the generation it opened, its
 * base, and the log applied up to log_end into ov. */
struct view {
	bool open;
	bool legacy;		/* PATH itself is a GDBM file (format 1) */
	uint64_t gen;
	dev_t dev;		/* of PATH (manifest or legacy file) */
	ino_t ino;
	struct stat mst;	/* PATH's stat when opened */
	GDBM_FILE base;
	off_t base_size;
	int log_fd;		/* -1 when legacy */
	/* PATH's manifest, held open so that its inode number cannot be
	 * freed and given to a later manifest: (dev, ino) then names one
	 * generation for as long as the view lives.  -1 when legacy (the
	 * base holds PATH open then). */
	int man_fd;
	uint64_t log_end;	/* end of the last whole frame applied */
	struct ovmap ov;
	uint64_t changes;	/* frames applied since opened */
};

struct userdb {
	char *path;
	struct store_pg *pg;	/* store = postgresql: all calls go there */
	struct view v;
	bool pinned;
	uint64_t opens;		/* views opened so far */
	/* USERDB_ITERS_KEY of what the view shows, decoded once per state */
	struct scram_iters iters;
	uint64_t iters_opens, iters_changes;
	bool iters_ok;
};

struct userdb_writer {
	struct userdb_file_params p;
	struct store_pg *pg;	/* store = postgresql */
	char *lock_path, *compact_path, *manifest_tmp;
	int lock_fd;
	bool locked;
	struct view v;
	bool missing;		/* no store yet (at the last begin) */
	bool in_txn;
};

struct userdb_txn {
	struct userdb_writer *w;
	struct store_pg *pg;	/* the writer's, when store = postgresql */
	bool own_writer;	/* userdb_txn_begin: freed with the txn */
	struct ovmap pending;	/* the batch: key -> new value or deleted */
	/* USERDB_ITERS_KEY, kept up to date by put and delete; when it was
	 * missing or disagreed, commit counts the whole store instead */
	struct scram_iters iters;
	bool iters_known;
	/* A batch past the log's bound (an import) spills into the next
	 * generation's base as it goes, so that its memory stays that of
	 * one bound, not of the whole batch; pending then only holds what
	 * came since, and spill everything before. */
	uint64_t pending_bytes;
	GDBM_FILE spill;
	char *spill_path;
};

/* Error messages live in one thread-local buffer, not in a handle, so a
 * caller may free the handle (abort a transaction) and still print the
 * message.  It stays valid until the next error on the same thread. */
static _Thread_local char userdb_msg[512];

static const char *
set_err(const char *what, const char *detail)
{
	char tmp[sizeof(userdb_msg)];

	/* what or detail may point into userdb_msg itself */
	(void)snprintf(tmp, sizeof(tmp), "%s: %s", what, detail);
	memcpy(userdb_msg, tmp, sizeof(tmp));
	return userdb_msg;
}

static const char *
sys_err(const char *what)
{
	return set_err(what, strerror(errno));
}

static char *
gen_path(const char *path, uint64_t gen, const char *ext)
{
	return xasprintf("%s.%llu.%s", path, (unsigned long long)gen, ext);
}

/* --- files --------------------------------------------------------------- */

/* write_all - pwrite the whole of p at off (a short write is ENOSPC). */
static bool
write_all(int fd, const void *p, size_t n, off_t off)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = pwrite(fd, c, n, off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		if (w == 0) {
			errno = ENOSPC;
			return false;
		}
		c += w;
		n -= (size_t)w;
		off += w;
	}
	return true;
}

/* copy_fd - copy all of src (from its start, whatever its offset) into
 * dst, in the kernel when it can (a reflink on filesystems that have
 * them). */
static bool
copy_fd(int src, int dst)
{
	char buf[65536];
	loff_t in = 0, out = 0;
	ssize_t n;

	for (;;) {
		n = copy_file_range(src, &in, dst, &out, 1 << 30, 0);
		if (n == 0)
			return true;
		if (n < 0)
			break;
	}
	if (errno != EXDEV && errno != ENOSYS && errno != EINVAL &&
	    errno != EOPNOTSUPP)
		return false;
	while ((n = pread(src, buf, sizeof(buf), in)) > 0) {
		if (!write_all(dst, buf, (size_t)n, out))
			return false;
		in += n;
		out += n;
	}
	return n == 0;
}

/* fsync_dir - make a rename or an unlink in path's directory durable. */
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

/* --- views ----------------------------------------------------------------- */

static void
view_init(struct view *v)
{
	memset(v, 0, sizeof(*v));
	v->log_fd = -1;
	v->man_fd = -1;
}

static void
view_close(struct view *v)
{
	if (!v->open)
		return;
	if (v->base != NULL)
		gdbm_close(v->base);
	if (v->log_fd >= 0)
		close(v->log_fd);
	if (v->man_fd >= 0)
		close(v->man_fd);
	ovmap_free(&v->ov);
	view_init(v);
}

/* all_zero - power loss may leave zeroed blocks at a file's end. */
static bool
all_zero(const unsigned char *p, size_t n)
{
	while (n > 0 && *p == 0) {
		p++;
		n--;
	}
	return n == 0;
}

/* frame_damaged - p (n bytes) starts with a frame that is whole in length
 * but wrong.  If it is the last thing in the file it is a torn append
 * (its length field made it to disk, not all of the rest; or power loss
 * left zeroed blocks); if more follows it, the log is damaged. */
static bool
frame_damaged(const unsigned char *p, size_t n)
{
	size_t claimed;

	if (n <= STORELOG_FRAME_HEAD ||
	    all_zero(p + STORELOG_FRAME_HEAD, n - STORELOG_FRAME_HEAD))
		return false;
	claimed = (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 |
		  (size_t)p[3] << 24;
	return claimed + STORELOG_FRAME_HEAD < n;
}

/* view_follow - apply the whole frames appended since log_end.  A reader
 * stops at a frame that is not whole (being written, or torn by a crash)
 * and looks again next time.  A writer holds the lock, so nobody is
 * appending: whatever follows the last whole frame was left by a writer
 * that died mid-append (it never answered), and is cut off, unless it is
 * followed by more data, which only damage explains. */
static bool
view_follow(struct view *v, const char *path, bool writer)
{
	unsigned char *buf = NULL;
	void *mapped = NULL;
	size_t map_len = 0;
	struct stat st;
	size_t n, pos = 0, got = 0;
	const char *why = NULL;
	bool bad = false, ok = true, adopted;

	if (v->legacy)
		return true;
	if (fstat(v->log_fd, &st) < 0) {
		char *lp = gen_path(path, v->gen, "log");

		(void)sys_err(lp);
		free(lp);
		return false;
	}
	if ((uint64_t)st.st_size == v->log_end)
		return true;
	if ((uint64_t)st.st_size < v->log_end) {
		char *lp = gen_path(path, v->gen, "log");

		(void)set_err(lp, "the log shrank under its readers");
		free(lp);
		return false;
	}
	n = (size_t)((uint64_t)st.st_size - v->log_end);
	if (!writer && n >= STORELOG_FRAME_HEAD) {
		/* A big frame still being written: do not read it again at
		 * every lookup until it is whole. */
		unsigned char h[4];

		if (pread(v->log_fd, h, sizeof(h), (off_t)v->log_end) ==
		    (ssize_t)sizeof(h) &&
		    ((size_t)h[0] | (size_t)h[1] << 8 | (size_t)h[2] << 16 |
		     (size_t)h[3] << 24) > n - STORELOG_FRAME_HEAD)
			return true;
	}
	if (writer && n >= (256u << 10)) {
		/* A writer indexes the whole log at every begin: map it
		 * rather than copy it (no allocation, no zeroing).  Only a
		 * writer may: it holds the lock, so nobody cuts the file
		 * under the mapping (a reader could fault on a torn tail
		 * that a writer truncates). */
		long pg = sysconf(_SC_PAGESIZE);
		off_t start = (off_t)(v->log_end & ~(uint64_t)(pg - 1));
		size_t lead = (size_t)(v->log_end - (uint64_t)start);
		void *map = mmap(NULL, n + lead, PROT_READ,
				 MAP_SHARED | MAP_POPULATE, v->log_fd, start);

		if (map != MAP_FAILED) {
			ovmap_reserve(&v->ov, n / 128);
			mapped = map;
			map_len = n + lead;
			buf = (unsigned char *)map + lead;
			got = n;
		}
	}
	if (mapped == NULL)
		buf = xmalloc(n);
	while (got < n) {
		ssize_t r = pread(v->log_fd, buf + got, n - got,
				  (off_t)(v->log_end + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	while (pos < got) {
		size_t fl = 0;
		int r = storelog_frame_check(buf + pos, got - pos, &fl, &why);

		if (r == 0)
			break;
		if (r < 0) {
			bad = true;
			break;
		}
		ovmap_apply_frame(&v->ov, buf + pos, fl);
		v->changes++;
		pos += fl;
	}
	v->log_end += pos;
	/* A wrong frame with more after it is damage, not an append in
	 * progress or a torn one a writer will cut: everyone stops there
	 * with an error (readers: a temporary failure) rather than answer
	 * from an older state, until an admin repairs the log. */
	if (bad && frame_damaged(buf + pos, got - pos)) {
		char *lp = gen_path(path, v->gen, "log");
		char detail[160];

		(void)snprintf(detail, sizeof(detail),
			       "damaged at offset %llu (%s)",
			       (unsigned long long)v->log_end, why);
		(void)set_err(lp, detail);
		free(lp);
		ok = false;
	}
	/* The overlay points into what was read: it owns it from now on
	 * (buf stays readable until the view is closed). */
	if (mapped != NULL)
		ovmap_adopt_map(&v->ov, mapped, map_len);
	else if (pos > 0)
		ovmap_adopt(&v->ov, buf, n);
	adopted = mapped != NULL || pos > 0;
	if (ok && writer && pos < got &&
	    ftruncate(v->log_fd, (off_t)v->log_end) < 0) {
		char *lp = gen_path(path, v->gen, "log");

		(void)sys_err(lp);
		free(lp);
		ok = false;
	}
	if (!adopted)
		secret_free(buf, n);
	return ok;
}

/* view_open - open what PATH names: 1 opened, 0 no store, -1 error.
 * A compaction may retire the generation just read from the manifest
 * before its files are opened; then the manifest is read again. */
static int
view_open(struct view *v, const char *path, bool writer)
{
	char head[256];
	int tries;

	view_init(v);
	for (tries = 0; tries < 32; tries++) {
		unsigned char lh[STORELOG_HEADER_LEN];
		char *bp, *lp;
		unsigned int format;
		const char *why;
		struct stat st, bst;
		ssize_t n;
		int fd = open(path, O_RDONLY | O_CLOEXEC), bfd;

		if (fd < 0) {
			if (errno == ENOENT)
				return 0;
			(void)sys_err(path);
			return -1;
		}
		if (fstat(fd, &st) < 0 ||
		    (n = pread(fd, head, sizeof(head), 0)) < 0) {
			(void)sys_err(path);
			close(fd);
			return -1;
		}
		if ((size_t)n < sizeof(STORELOG_MANIFEST_MAGIC) - 1 ||
		    memcmp(head, STORELOG_MANIFEST_MAGIC,
			   sizeof(STORELOG_MANIFEST_MAGIC) - 1) != 0) {
			/* Format 1: PATH is the GDBM file itself. */
			v->base = gdbm_fd_open(fd, path, 0,
					       GDBM_READER | GDBM_NOLOCK |
					       GDBM_CLOERROR, NULL);
			if (v->base == NULL) {
				(void)set_err(path, gdbm_strerror(gdbm_errno));
				return -1;
			}
			v->open = v->legacy = true;
			v->dev = st.st_dev;
			v->ino = st.st_ino;
			v->mst = st;
			v->base_size = st.st_size;
			ovmap_init(&v->ov);
			return 1;
		}
		why = storelog_manifest_parse(head, (size_t)n, &v->gen, &format);
		if (why != NULL) {
			close(fd);
			if (format > STORELOG_FORMAT) {
				char detail[200];

				(void)snprintf(detail, sizeof(detail),
					       "store format %u is newer than "
					       "this program reads (%u): it was "
					       "written by a later authd",
					       format, STORELOG_FORMAT);
				(void)set_err(path, detail);
			} else {
				(void)set_err(path, why);
			}
			return -1;
		}
		bp = gen_path(path, v->gen, "gdbm");
		lp = gen_path(path, v->gen, "log");
		bfd = open(bp, O_RDONLY | O_CLOEXEC);
		if (bfd >= 0 && fstat(bfd, &bst) < 0) {
			close(bfd);
			bfd = -1;
		}
		if (bfd >= 0)
			v->log_fd = open(lp, (writer ? O_RDWR : O_RDONLY) |
					 O_CLOEXEC);
		if (bfd < 0 || v->log_fd < 0) {
			int e = errno;

			if (bfd >= 0)
				close(bfd);
			if (e == ENOENT && stat(path, &bst) == 0 &&
			    (bst.st_ino != st.st_ino ||
			     bst.st_dev != st.st_dev)) {
				/* retired meanwhile: read the new manifest */
				free(bp);
				free(lp);
				close(fd);
				v->log_fd = -1;
				continue;
			}
			errno = e;
			(void)sys_err(bfd < 0 ? bp : lp);
			free(bp);
			free(lp);
			close(fd);
			v->log_fd = -1;
			return -1;
		}
		v->base = gdbm_fd_open(bfd, bp, 0, GDBM_READER | GDBM_NOLOCK |
				       GDBM_CLOERROR, NULL);
		if (v->base == NULL) {
			(void)set_err(bp, gdbm_strerror(gdbm_errno));
			goto fail;
		}
		n = pread(v->log_fd, lh, sizeof(lh), 0);
		if (n < 0) {
			(void)sys_err(lp);
			goto fail;
		}
		if ((why = storelog_header_check(lh, (size_t)n, v->gen)) != NULL) {
			(void)set_err(lp, why);
			goto fail;
		}
		v->open = true;
		v->man_fd = fd;
		v->dev = st.st_dev;
		v->ino = st.st_ino;
		v->mst = st;
		v->base_size = bst.st_size;
		v->log_end = STORELOG_HEADER_LEN;
		ovmap_init(&v->ov);
		if (!view_follow(v, path, writer)) {
			free(bp);
			free(lp);
			view_close(v);
			return -1;
		}
		free(bp);
		free(lp);
		return 1;
fail:
		free(bp);
		free(lp);
		close(fd);
		if (v->base != NULL)
			gdbm_close(v->base);
		if (v->log_fd >= 0)
			close(v->log_fd);
		view_init(v);
		return -1;
	}
	(void)set_err(path, "the store kept changing while it was opened");
	return -1;
}

/* gdbm_get - key's value in dbf: 1 (*val_r malloc'd: *owned_r), 0 absent,
 * -1 error. */
static int
gdbm_get(GDBM_FILE dbf, const char *key, size_t key_len, const char **val_r,
	 size_t *len_r, bool *owned_r)
{
	datum k = { (char *)key, (int)key_len }, d = gdbm_fetch(dbf, k);

	if (d.dptr == NULL) {
		if (gdbm_errno == GDBM_ITEM_NOT_FOUND)
			return 0;
		(void)set_err("store read", gdbm_strerror(gdbm_errno));
		return -1;
	}
	*val_r = d.dptr;
	*len_r = (size_t)d.dsize;
	*owned_r = true;
	return 1;
}

/* view_fetch - the raw value of key: 1 (*val_r: to be released with
 * fetch_release when *owned_r), 0 absent, -1 error. */
static int
view_fetch(const struct view *v, const char *key, size_t key_len,
	   const char **val_r, size_t *len_r, bool *owned_r)
{
	const struct ovmap_entry *e = ovmap_get(&v->ov, key, key_len);

	*owned_r = false;
	if (e != NULL) {
		if (e->value == NULL)
			return 0;
		*val_r = e->value;
		*len_r = e->value_len;
		return 1;
	}
	return gdbm_get(v->base, key, key_len, val_r, len_r, owned_r);
}

static void
fetch_release(const char *val, size_t len, bool owned)
{
	if (owned)
		secret_free((char *)val, len);
}

/* decode - a raw value into rec, with its fingerprint. */
static int
decode(const char *val, size_t len, struct userdb_record *rec,
       const char **error_r)
{
	const char *why = userdb_record_decode_fp(val, len, rec);

	if (why != NULL) {
		*error_r = set_err("damaged record", why);
		return -1;
	}
	return 1;
}

/* merged_each - every record the view (plus pending, if not NULL) holds:
 * the base's keys that the log does not override, then the log's and the
 * batch's live values.  fn gets key and value; stops at its false. */
typedef bool merged_fn(void *ctx, const char *key, size_t key_len,
		       const char *val, size_t len);

struct merged_ctx {
	const struct ovmap *shadow;	/* entries already visited */
	const struct ovmap *shadow2;
	merged_fn *fn;
	void *ctx;
};

static bool
merged_entry(void *c, const struct ovmap_entry *e)
{
	struct merged_ctx *m = c;

	if (e->value == NULL ||
	    (m->shadow != NULL && ovmap_get(m->shadow, e->key, e->key_len)))
		return true;
	return m->fn(m->ctx, e->key, e->key_len, e->value, e->value_len);
}

static bool
merged_each(const struct view *v, const struct ovmap *pending, bool values,
	    merged_fn *fn, void *ctx)
{
	struct merged_ctx m = { NULL, NULL, fn, ctx };
	datum k;

	if (v->open) {
		for (k = gdbm_firstkey(v->base); k.dptr != NULL;) {
			datum next = gdbm_nextkey(v->base, k);
			size_t kl = (size_t)k.dsize;
			bool go = true;

			if (ovmap_get(&v->ov, k.dptr, kl) == NULL &&
			    (pending == NULL ||
			     ovmap_get(pending, k.dptr, kl) == NULL)) {
				datum d = { NULL, 0 };

				if (values)
					d = gdbm_fetch(v->base, k);
				if (!values || d.dptr != NULL)
					go = fn(ctx, k.dptr, kl, d.dptr,
						(size_t)d.dsize);
				if (d.dptr != NULL)
					secret_free(d.dptr, (size_t)d.dsize);
			}
			free(k.dptr);
			if (!go) {
				free(next.dptr);
				return true;
			}
			k = next;
		}
		if (gdbm_errno != GDBM_ITEM_NOT_FOUND &&
		    gdbm_errno != GDBM_NO_ERROR) {
			(void)set_err("store iteration",
				      gdbm_strerror(gdbm_errno));
			return false;
		}
		m.shadow = pending;
		if (!ovmap_each(&v->ov, merged_entry, &m))
			return true;
	}
	if (pending != NULL) {
		m.shadow = NULL;
		(void)ovmap_each(pending, merged_entry, &m);
	}
	return true;
}

/* --- readers --------------------------------------------------------------- */

struct userdb *
userdb_new(const char *path)
{
	struct userdb *db = xcalloc(1, sizeof(*db));

	db->path = xstrdup(path);
	view_init(&db->v);
	return db;
}

struct userdb *
userdb_reader_new(const struct userdb_file_params *p)
{
	struct userdb *db = userdb_new(p->path);

	if (p->pg_conninfo != NULL)
		db->pg = store_pg_new(p->pg_conninfo);
	return db;
}

int
userdb_store_missing(const struct userdb_file_params *p)
{
	struct store_pg *pg;
	struct stat st;
	int r;

	if (p->pg_conninfo == NULL)
		return stat(p->path, &st) < 0 && errno == ENOENT;
	pg = store_pg_new(p->pg_conninfo);
	r = store_pg_missing(pg);
	store_pg_free(pg);
	return r;
}

int
userdb_reader_missing(struct userdb *db, const struct userdb_file_params *p)
{
	if (db->pg == NULL)
		return userdb_store_missing(p);
	return store_pg_missing(db->pg);
}

bool
userdb_schema_init(const struct userdb_file_params *p, const char *sql,
		   int *from_r, const char **error_r)
{
	struct store_pg *pg;
	bool ok;

	if (p->pg_conninfo == NULL) {
		*error_r = set_err(p->path, "a GDBM store has no schema (its "
				   "first add or import creates it)");
		return false;
	}
	pg = store_pg_new(p->pg_conninfo);
	ok = store_pg_init(pg, sql, from_r, error_r);
	store_pg_free(pg);
	return ok;
}

void
userdb_free(struct userdb *db)
{
	if (db == NULL)
		return;
	store_pg_free(db->pg);
	view_close(&db->v);
	free(db->path);
	free(db);
}

/* reader_refresh - follow the log, or reopen if PATH names another file
 * (a compaction, an upgrade, or a store replaced by hand). */
static bool
reader_refresh(struct userdb *db, const char **error_r)
{
	struct view nv;
	struct stat st;
	int r;

	if (db->v.open && db->pinned)
		return true;
	if (stat(db->path, &st) < 0) {
		*error_r = sys_err(db->path);
		return false;
	}
	if (db->v.open && st.st_ino == db->v.ino && st.st_dev == db->v.dev) {
		if (!view_follow(&db->v, db->path, false)) {
			*error_r = userdb_msg;
			return false;
		}
		return true;
	}
	r = view_open(&nv, db->path, false);
	if (r <= 0) {
		if (r == 0) {
			errno = ENOENT;
			(void)sys_err(db->path);
		}
		*error_r = userdb_msg;
		return false;
	}
	view_close(&db->v);
	db->v = nv;
	db->opens++;
	return true;
}

void
userdb_pin(struct userdb *db, bool on)
{
	if (db->pg != NULL)
		store_pg_pin(db->pg, on);
	db->pinned = on;
}

int
userdb_lookup(struct userdb *db, const char *key, size_t key_len,
	      struct userdb_record *rec, const char **error_r)
{
	const char *val;
	size_t len;
	bool owned;
	int r;

	if (db->pg != NULL)
		return store_pg_lookup(db->pg, key, key_len, rec, error_r);
	userdb_record_init(rec);
	if (!reader_refresh(db, error_r))
		return -1;
	r = view_fetch(&db->v, key, key_len, &val, &len, &owned);
	if (r < 0)
		*error_r = userdb_msg;
	if (r <= 0)
		return r;
	r = decode(val, len, rec, error_r);
	fetch_release(val, len, owned);
	return r;
}

static int
key_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct keys_ctx {
	char **keys;
	size_t n, cap;
};

static bool
keys_add(void *c, const char *key, size_t key_len, const char *val,
	 size_t len)
{
	struct keys_ctx *k = c;

	(void)val;
	(void)len;
	/* Users only: every user key has an '@'. */
	if (memchr(key, '@', key_len) == NULL)
		return true;
	if (k->n == k->cap)
		k->keys = xreallocarray(k->keys, k->cap *= 2, sizeof(char *));
	k->keys[k->n++] = xstrndup(key, key_len);
	return true;
}

bool
userdb_keys(struct userdb *db, char ***keys_r, size_t *n_r,
	    const char **error_r)
{
	struct keys_ctx k = { NULL, 0, 1024 };

	if (db->pg != NULL)
		return store_pg_keys(db->pg, keys_r, n_r, error_r);
	if (!reader_refresh(db, error_r))
		return false;
	k.keys = xmalloc(k.cap * sizeof(char *));
	if (!merged_each(&db->v, NULL, false, keys_add, &k)) {
		userdb_keys_free(k.keys, k.n);
		*error_r = userdb_msg;
		return false;
	}
	qsort(k.keys, k.n, sizeof(char *), key_cmp);
	*keys_r = k.keys;
	*n_r = k.n;
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

bool
userdb_secret(struct userdb *db, unsigned char out[USERDB_SECRET_LEN])
{
	const char *val, *why;
	size_t len;
	bool owned, ok;

	if (db->pg != NULL)
		return store_pg_secret(db->pg, out);
	if (!reader_refresh(db, &why))
		return false;
	if (view_fetch(&db->v, USERDB_SECRET_KEY,
		       sizeof(USERDB_SECRET_KEY) - 1, &val, &len, &owned) <= 0)
		return false;
	ok = len == USERDB_SECRET_LEN;
	if (ok)
		memcpy(out, val, USERDB_SECRET_LEN);
	fetch_release(val, len, owned);
	return ok;
}

bool
userdb_scram_iters(struct userdb *db, struct scram_iters *out)
{
	const char *val, *why;
	size_t len;
	bool owned;

	if (db->pg != NULL)
		return store_pg_scram_iters(db->pg, out);
	if (!reader_refresh(db, &why))
		return false;
	if (!db->iters_ok || db->iters_opens != db->opens ||
	    db->iters_changes != db->v.changes) {
		/* A store without the record (older than it) decodes as
		 * empty: every made-up count is then scram_iterations, as
		 * before, until the next commit writes it. */
		scram_iters_init(&db->iters);
		if (view_fetch(&db->v, USERDB_ITERS_KEY,
			       sizeof(USERDB_ITERS_KEY) - 1, &val, &len,
			       &owned) > 0) {
			(void)scram_iters_decode(val, len, &db->iters);
			fetch_release(val, len, owned);
		}
		db->iters_opens = db->opens;
		db->iters_changes = db->v.changes;
		db->iters_ok = true;
	}
	*out = db->iters;
	return true;
}

/* --- writers --------------------------------------------------------------- */

struct userdb_writer *
userdb_writer_new(const struct userdb_file_params *p)
{
	struct userdb_writer *w = xcalloc(1, sizeof(*w));

	w->p = *p;
	if (p->pg_conninfo != NULL)
		w->pg = store_pg_new(p->pg_conninfo);
	w->lock_path = xasprintf("%s.lock", p->path);
	w->compact_path = xasprintf("%s.compact", p->path);
	w->manifest_tmp = xasprintf("%s.new", p->path);
	w->lock_fd = -1;
	view_init(&w->v);
	return w;
}

void
userdb_writer_free(struct userdb_writer *w)
{
	if (w == NULL)
		return;
	store_pg_free(w->pg);
	view_close(&w->v);
	if (w->lock_fd >= 0)
		close(w->lock_fd);	/* releases the flock */
	free(w->lock_path);
	free(w->compact_path);
	free(w->manifest_tmp);
	free(w);
}

static uint64_t
now_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
}

/* flock_wait - an exclusive flock on fd within timeout seconds; with
 * timeout 0 a single try. */
static bool
flock_wait(int fd, unsigned int timeout, const char *path,
	   const char **error_r)
{
	struct timespec pause = { 0, 5 * 1000 * 1000 };
	uint64_t deadline = now_ms() + (uint64_t)timeout * 1000;

	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			*error_r = sys_err(path);
			return false;
		}
		if (now_ms() >= deadline) {
			*error_r = set_err(path, "locked by another writer "
					   "(timed out)");
			return false;
		}
		nanosleep(&pause, NULL);
	}
	return true;
}

static void lock_attrs(const struct userdb_file_params *p, int fd);

static bool
writer_lock(struct userdb_writer *w, const char **error_r)
{
	if (w->lock_fd < 0) {
		w->lock_fd = open(w->lock_path, O_RDWR | O_CREAT | O_CLOEXEC,
				  0600);
		if (w->lock_fd < 0 && errno == ENOENT) {
			/* Name the real culprit, not the lock file. */
			char *copy = xstrdup(w->p.path);

			(void)set_err(dirname(copy), "the store's directory "
				      "does not exist");
			free(copy);
			*error_r = userdb_msg;
			return false;
		}
		if (w->lock_fd < 0) {
			*error_r = sys_err(w->lock_path);
			return false;
		}
		lock_attrs(&w->p, w->lock_fd);
	}
	if (!flock_wait(w->lock_fd, w->p.lock_timeout, w->lock_path, error_r))
		return false;
	w->locked = true;
	return true;
}

static void
writer_unlock(struct userdb_writer *w)
{
	if (w->locked)
		(void)flock(w->lock_fd, LOCK_UN);
	w->locked = false;
}

/* writer_sync - under the lock, bring the view to what PATH is now. */
static bool
writer_sync(struct userdb_writer *w, const char **error_r)
{
	struct stat st;
	int r;

	/* Holding the lock, any PATH.new is left over from a crash. */
	if (unlink(w->manifest_tmp) < 0 && errno != ENOENT) {
		*error_r = sys_err(w->manifest_tmp);
		return false;
	}
	if (stat(w->p.path, &st) < 0) {
		if (errno != ENOENT) {
			*error_r = sys_err(w->p.path);
			return false;
		}
		view_close(&w->v);
		w->missing = true;
		return true;
	}
	w->missing = false;
	if (w->v.open && st.st_dev == w->v.dev && st.st_ino == w->v.ino) {
		if (!view_follow(&w->v, w->p.path, true)) {
			*error_r = userdb_msg;
			return false;
		}
		return true;
	}
	view_close(&w->v);
	r = view_open(&w->v, w->p.path, true);
	if (r < 0) {
		*error_r = userdb_msg;
		return false;
	}
	w->missing = r == 0;
	return true;
}

/* file_attrs - the mode and owner the store's files get: store_mode and
 * store_owner/group when configured, else those PATH has, else 0640 and
 * the writer's own. */
static void
view_attrs(const struct userdb_file_params *p, const struct view *v,
	   mode_t *mode, uid_t *uid, gid_t *gid)
{
	const struct stat *st = v->open ? &v->mst : NULL;

	*mode = p->mode_set ? p->mode :
		st != NULL ? (st->st_mode & 07777) : 0640;
	*uid = p->uid;
	*gid = p->gid;
	if (st != NULL) {
		if (*uid == (uid_t)-1)
			*uid = st->st_uid;
		if (*gid == (gid_t)-1)
			*gid = st->st_gid;
	}
}

static void
file_attrs(const struct userdb_writer *w, mode_t *mode, uid_t *uid, gid_t *gid)
{
	view_attrs(&w->p, &w->v, mode, uid, gid);
}

/* set_attrs - give fd the store's mode and owner.  Ownership only
 * matters when we may change it (root); a non-root writer keeps its own
 * ids. */
static bool
set_attrs(int fd, mode_t mode, uid_t uid, gid_t gid)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return false;
	if ((uid != (uid_t)-1 && uid != st.st_uid) ||
	    (gid != (gid_t)-1 && gid != st.st_gid)) {
		if (fchown(fd, uid, gid) < 0 && geteuid() == 0)
			return false;
	}
	if ((st.st_mode & 07777) != mode && fchmod(fd, mode) < 0)
		return false;
	return true;
}

/* attrs_path - set_attrs on a file by name. */
static bool
attrs_path(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool ok = fd >= 0 && set_attrs(fd, mode, uid, gid);

	if (fd >= 0)
		close(fd);
	return ok;
}

/* lock_attrs - a lock file (PATH.lock, PATH.compact) belongs to the
 * store's owner and group, mode 0660, so that an admin group the store
 * is shared with (store_mode 0660) can still lock it after root created
 * it.  Best effort: a writer that may not change it keeps what it found
 * (the lock still works for whoever can open it). */
static void
lock_attrs(const struct userdb_file_params *p, int fd)
{
	uid_t uid = p->uid;
	gid_t gid = p->gid;
	struct stat st;

	if ((uid == (uid_t)-1 || gid == (gid_t)-1) && stat(p->path, &st) == 0) {
		if (uid == (uid_t)-1)
			uid = st.st_uid;
		if (gid == (gid_t)-1)
			gid = st.st_gid;
	}
	(void)set_attrs(fd, 0660, uid, gid);
}

/* manifest_switch - make generation gen the store: write PATH.new,
 * durably, and rename it over PATH (the commit point of an upgrade, a
 * rewrite and a compaction). */
static bool
manifest_switch(struct userdb_writer *w, uint64_t gen, mode_t mode, uid_t uid,
		gid_t gid, const char **error_r)
{
	struct buf b;
	int fd;
	bool ok;

	buf_init(&b);
	storelog_manifest_format(gen, &b);
	fd = open(w->manifest_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		  0600);
	ok = fd >= 0 && buf_ok(&b) && write_all(fd, b.data, b.len, 0) &&
	     set_attrs(fd, mode, uid, gid) && fsync(fd) == 0;
	buf_free(&b);
	if (fd >= 0)
		close(fd);
	if (!ok) {
		*error_r = sys_err(w->manifest_tmp);
		(void)unlink(w->manifest_tmp);
		return false;
	}
	if (rename(w->manifest_tmp, w->p.path) < 0 || !fsync_dir(w->p.path)) {
		*error_r = sys_err(w->p.path);
		(void)unlink(w->manifest_tmp);
		return false;
	}
	return true;
}

/* new_log - create generation gen's log: header, then tail (may be
 * empty), durably. */
static bool
new_log(const char *lp, uint64_t gen, const unsigned char *tail, size_t n,
	mode_t mode, uid_t uid, gid_t gid, const char **error_r)
{
	unsigned char h[STORELOG_HEADER_LEN];
	int fd;
	bool ok;

	(void)unlink(lp);
	fd = open(lp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	storelog_header(gen, h);
	ok = fd >= 0 && write_all(fd, h, sizeof(h), 0) &&
	     (n == 0 || write_all(fd, tail, n, (off_t)sizeof(h))) &&
	     set_attrs(fd, mode, uid, gid) && fsync(fd) == 0;
	if (!ok) {
		*error_r = sys_err(lp);
		(void)unlink(lp);
	}
	if (fd >= 0)
		close(fd);
	return ok;
}

/* retire - remove generation gen's files (no longer named by PATH). */
static void
retire(const char *path, uint64_t gen)
{
	char *bp = gen_path(path, gen, "gdbm"), *lp = gen_path(path, gen, "log");

	(void)unlink(bp);
	(void)unlink(lp);
	free(bp);
	free(lp);
}

/* writer_upgrade - turn a format-1 store (PATH a GDBM file) into
 * generation 1 without copying it: the base is a second name of the very
 * same file (it is never written in place, so sharing it is safe), the
 * log starts empty, and the manifest's rename is the one atomic step. */
static bool
writer_upgrade(struct userdb_writer *w, const char **error_r)
{
	char *bp = gen_path(w->p.path, 1, "gdbm"), *lp = gen_path(w->p.path, 1, "log");
	mode_t mode;
	uid_t uid;
	gid_t gid;
	bool ok = false;

	file_attrs(w, &mode, &uid, &gid);
	/* Under the lock, with PATH a GDBM file, generation 1's files can
	 * only be left over from an upgrade that did not finish. */
	(void)unlink(bp);
	if (link(w->p.path, bp) < 0) {
		*error_r = sys_err(bp);
		goto out;
	}
	if (!new_log(lp, 1, NULL, 0, mode, uid, gid, error_r) ||
	    !manifest_switch(w, 1, mode, uid, gid, error_r)) {
		(void)unlink(bp);
		goto out;
	}
	ok = true;
out:
	free(bp);
	free(lp);
	return ok;
}

/* sweep - remove the files of generations older than gen that a
 * compaction killed before it retired them left behind, so that the
 * store never needs room for more than two generations for long. */
static void
sweep(const char *path, uint64_t gen)
{
	char *copy = xstrdup(path), *copy2 = xstrdup(path);
	const char *dir = dirname(copy), *name = basename(copy2);
	size_t nlen = strlen(name);
	struct dirent *de;
	DIR *d = opendir(dir);

	while (d != NULL && (de = readdir(d)) != NULL) {
		const char *rest = de->d_name + nlen;
		unsigned long long g;
		char *end;

		if (strncmp(de->d_name, name, nlen) != 0 || rest[0] != '.' ||
		    rest[1] < '0' || rest[1] > '9')
			continue;
		errno = 0;
		g = strtoull(rest + 1, &end, 10);
		if (errno != 0 || g >= gen ||
		    (strcmp(end, ".gdbm") != 0 && strcmp(end, ".log") != 0))
			continue;
		retire(path, g);
	}
	if (d != NULL)
		closedir(d);
	free(copy);
	free(copy2);
}

static bool
size_op(void *c, const struct ovmap_entry *e)
{
	*(uint64_t *)c += 7 + e->key_len + e->value_len;
	return true;
}

struct build_ctx {
	GDBM_FILE dbf;
	bool ok;
};

static bool
build_apply(void *c, const struct ovmap_entry *e)
{
	struct build_ctx *b = c;
	datum k = { (char *)e->key, (int)e->key_len };
	datum v = { (char *)e->value, (int)e->value_len };

	if (e->value != NULL ? gdbm_store(b->dbf, k, v, GDBM_REPLACE) != 0 :
	    (gdbm_delete(b->dbf, k) != 0 && gdbm_errno != GDBM_ITEM_NOT_FOUND)) {
		b->ok = false;
		return false;
	}
	return true;
}

/* build_open - start bp: a copy of src_fd (or a new database when src_fd
 * is -1) with the entries of a and then b (either may be NULL) applied;
 * the database stays open for more (a spilled batch) until build_finish. */
static GDBM_FILE
build_open(const char *bp, int src_fd, const struct ovmap *a,
	   const struct ovmap *b, const char **error_r)
{
	struct build_ctx ctx = { NULL, true };
	int fd;

	(void)unlink(bp);
	fd = open(bp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || (src_fd >= 0 && !copy_fd(src_fd, fd))) {
		*error_r = sys_err(bp);
		if (fd >= 0)
			close(fd);
		(void)unlink(bp);
		return NULL;
	}
	ctx.dbf = gdbm_fd_open(fd, bp, 0, (src_fd >= 0 ? GDBM_WRITER :
					   GDBM_NEWDB) | GDBM_NOLOCK, NULL);
	if (ctx.dbf == NULL) {
		*error_r = set_err(bp, gdbm_strerror(gdbm_errno));
		close(fd);
		(void)unlink(bp);
		return NULL;
	}
	if (a != NULL)
		(void)ovmap_each(a, build_apply, &ctx);
	if (ctx.ok && b != NULL)
		(void)ovmap_each(b, build_apply, &ctx);
	if (!ctx.ok) {
		/* with the system's reason (a full disk) when there is one */
		*error_r = set_err(bp, gdbm_db_strerror(ctx.dbf));
		gdbm_close(ctx.dbf);
		(void)unlink(bp);
		return NULL;
	}
	return ctx.dbf;
}

/* build_finish - apply b (may be NULL), sync and close bp; on failure
 * it is removed. */
static bool
build_finish(const char *bp, GDBM_FILE dbf, const struct ovmap *b,
	     mode_t mode, uid_t uid, gid_t gid, const char **error_r)
{
	struct build_ctx ctx = { dbf, true };

	if (b != NULL)
		(void)ovmap_each(b, build_apply, &ctx);
	if (!ctx.ok || gdbm_sync(dbf) != 0) {
		*error_r = set_err(bp, gdbm_db_strerror(dbf));
		goto fail;
	}
	if (!set_attrs(gdbm_fdesc(dbf), mode, uid, gid) ||
	    fsync(gdbm_fdesc(dbf)) < 0) {
		*error_r = sys_err(bp);
		goto fail;
	}
	gdbm_close(dbf);
	return true;
fail:
	gdbm_close(dbf);
	(void)unlink(bp);
	return false;
}

/* build_base - build_open and build_finish in one. */
static bool
build_base(const char *bp, int src_fd, const struct ovmap *a,
	   const struct ovmap *b, mode_t mode, uid_t uid, gid_t gid,
	   const char **error_r)
{
	GDBM_FILE dbf = build_open(bp, src_fd, a, b, error_r);

	return dbf != NULL &&
	       build_finish(bp, dbf, NULL, mode, uid, gid, error_r);
}

/* log_limit - the log length past which it is folded into a new base:
 * store_log_max, or 1/64 of the base (at least 256 KiB).  Rewriting the
 * base then costs about 64 bytes written per byte of change whatever the
 * size (16 KiB for a 250-byte change), and a writer, which indexes the
 * whole log at each begin, reads at most 1/64 of what a copy-on-write
 * commit used to copy.  The floor keeps small stores' logs short (their
 * rewrite is cheap anyway): a 1 MiB floor made one-shot writers on a
 * 1,000-user store 7% slower than the file copy they replace. */
static uint64_t
limit_of(const struct userdb_file_params *p, uint64_t base_size)
{
	uint64_t auto_max = base_size / 64;

	if (p->log_max != 0)
		return p->log_max;
	return auto_max < (256u << 10) ? (256u << 10) : auto_max;
}

static uint64_t
log_limit(const struct userdb_writer *w)
{
	return limit_of(&w->p, (uint64_t)w->v.base_size);
}

struct userdb_txn *
userdb_writer_begin(struct userdb_writer *w, const char **error_r)
{
	struct userdb_txn *txn;

	if (w->in_txn) {
		*error_r = set_err(w->p.path, "a transaction is already open");
		return NULL;
	}
	if (w->pg != NULL) {
		if (!store_pg_begin(w->pg, w->p.lock_timeout, error_r))
			return NULL;
		txn = xcalloc(1, sizeof(*txn));
		txn->w = w;
		txn->pg = w->pg;
		ovmap_init(&txn->pending);
		w->in_txn = true;
		return txn;
	}
	if (!writer_lock(w, error_r))
		return NULL;
	if (!writer_sync(w, error_r)) {
		writer_unlock(w);
		return NULL;
	}
	txn = xcalloc(1, sizeof(*txn));
	txn->w = w;
	ovmap_init(&txn->pending);
	w->in_txn = true;
	/* The histogram the batch starts from: a new store's is empty; an
	 * existing store without one (older than it) or with a damaged one
	 * is counted in full at commit. */
	scram_iters_init(&txn->iters);
	txn->iters_known = !w->v.open;
	if (w->v.open) {
		const char *val;
		size_t len;
		bool owned;

		if (view_fetch(&w->v, USERDB_ITERS_KEY,
			       sizeof(USERDB_ITERS_KEY) - 1, &val, &len,
			       &owned) > 0) {
			txn->iters_known = scram_iters_decode(val, len,
							      &txn->iters) == NULL;
			fetch_release(val, len, owned);
		}
	}
	return txn;
}

struct userdb_txn *
userdb_txn_begin(const struct userdb_file_params *p, const char **error_r)
{
	struct userdb_writer *w = userdb_writer_new(p);
	struct userdb_txn *txn = userdb_writer_begin(w, error_r);

	if (txn == NULL) {
		userdb_writer_free(w);
		return NULL;
	}
	txn->own_writer = true;
	return txn;
}

static void
txn_end(struct userdb_txn *txn)
{
	struct userdb_writer *w = txn->w;

	ovmap_free(&txn->pending);
	if (txn->spill != NULL) {	/* not committed: nobody names it */
		gdbm_close(txn->spill);
		(void)unlink(txn->spill_path);
	}
	free(txn->spill_path);
	w->in_txn = false;
	writer_unlock(w);
	if (txn->own_writer)
		userdb_writer_free(w);
	free(txn);
}

/* txn_fetch - key's value as the batch sees it. */
static int
txn_fetch(struct userdb_txn *txn, const char *key, size_t key_len,
	  const char **val_r, size_t *len_r, bool *owned_r)
{
	const struct ovmap_entry *e = ovmap_get(&txn->pending, key, key_len);

	*owned_r = false;
	if (e != NULL) {
		if (e->value == NULL)
			return 0;
		*val_r = e->value;
		*len_r = e->value_len;
		return 1;
	}
	if (txn->spill != NULL)
		return gdbm_get(txn->spill, key, key_len, val_r, len_r, owned_r);
	if (!txn->w->v.open)
		return 0;
	return view_fetch(&txn->w->v, key, key_len, val_r, len_r, owned_r);
}

/* txn_spill - the batch has passed the log's bound: write what the store
 * and the batch hold so far into the next generation's base, and go on
 * there.  false with *error_r when that fails (a full disk). */
static bool
txn_spill(struct userdb_txn *txn, const char **error_r)
{
	struct userdb_writer *w = txn->w;
	uint64_t gen = (w->v.open ? w->v.gen : 0) + 1;

	txn->spill_path = gen_path(w->p.path, gen, "gdbm");
	txn->spill = build_open(txn->spill_path,
				w->v.open ? gdbm_fdesc(w->v.base) : -1,
				w->v.open ? &w->v.ov : NULL, &txn->pending,
				error_r);
	if (txn->spill == NULL) {
		free(txn->spill_path);
		txn->spill_path = NULL;
		return false;
	}
	ovmap_free(&txn->pending);
	ovmap_init(&txn->pending);
	txn->pending_bytes = 0;
	return true;
}

/* txn_added - account for an op just put in pending; spill past the
 * bound. */
static bool
txn_added(struct userdb_txn *txn, size_t key_len, size_t len,
	  const char **error_r)
{
	txn->pending_bytes += 7 + key_len + len;
	if (txn->pending_bytes <= log_limit(txn->w))
		return true;
	if (txn->spill != NULL) {
		/* Already spilling: move pending into the new base. */
		struct build_ctx ctx = { txn->spill, true };

		(void)ovmap_each(&txn->pending, build_apply, &ctx);
		if (!ctx.ok) {
			*error_r = set_err(txn->spill_path,
					   gdbm_db_strerror(txn->spill));
			return false;
		}
		ovmap_free(&txn->pending);
		ovmap_init(&txn->pending);
		txn->pending_bytes = 0;
		return true;
	}
	return txn_spill(txn, error_r);
}

int
userdb_txn_get(struct userdb_txn *txn, const char *key,
	       struct userdb_record *rec, const char **error_r)
{
	const char *val;
	size_t len;
	bool owned;
	int r;

	if (txn->pg != NULL)
		return store_pg_txn_get(txn->pg, key, rec, error_r);
	userdb_record_init(rec);
	r = txn_fetch(txn, key, strlen(key), &val, &len, &owned);
	if (r < 0)
		*error_r = userdb_msg;
	if (r <= 0)
		return r;
	r = decode(val, len, rec, error_r);
	fetch_release(val, len, owned);
	return r;
}

int
userdb_txn_exists(struct userdb_txn *txn, const char *key)
{
	const char *val;
	size_t len;
	bool owned;
	int r;

	if (txn->pg != NULL)
		return store_pg_txn_exists(txn->pg, key);
	r = txn_fetch(txn, key, strlen(key), &val, &len, &owned);
	if (r > 0)
		fetch_release(val, len, owned);
	return r > 0;
}

/* txn_iters_adjust - key's stored record leaves the histogram (a replace
 * or a delete is coming), and value (if not NULL) enters it.  Records that
 * do not decode count nowhere, as in a full count. */
static void
txn_iters_adjust(struct userdb_txn *txn, const char *key, const char *value,
		 size_t len)
{
	struct userdb_record rec;
	const char *old;
	size_t old_len;
	bool owned;

	if (!txn->iters_known || strchr(key, '@') == NULL)
		return;
	if (txn_fetch(txn, key, strlen(key), &old, &old_len, &owned) > 0) {
		userdb_record_init(&rec);
		if (userdb_record_decode(old, old_len, &rec) == NULL &&
		    !scram_iters_uncount(&txn->iters, &rec))
			txn->iters_known = false;
		userdb_record_clear(&rec);
		fetch_release(old, old_len, owned);
	}
	if (value != NULL) {
		userdb_record_init(&rec);
		if (userdb_record_decode(value, len, &rec) == NULL)
			scram_iters_count(&txn->iters, &rec);
		userdb_record_clear(&rec);
	}
}

bool
userdb_txn_put_raw(struct userdb_txn *txn, const char *key, const char *value,
		   size_t len, const char **error_r)
{
	size_t key_len = strlen(key);

	if (txn->pg != NULL)
		return store_pg_txn_put_raw(txn->pg, key, value, len, error_r);
	if (key_len == 0 || key_len > STORELOG_KEY_MAX ||
	    len > STORELOG_VALUE_MAX) {
		*error_r = set_err("store write", "key or record too long");
		return false;
	}
	txn_iters_adjust(txn, key, value, len);
	ovmap_set(&txn->pending, key, key_len, value, len);
	return txn_added(txn, key_len, len, error_r);
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
	const char *val;
	size_t len;
	bool owned;
	int r;

	if (txn->pg != NULL)
		return store_pg_txn_delete(txn->pg, key, error_r);
	r = txn_fetch(txn, key, strlen(key), &val, &len, &owned);
	if (r < 0)
		*error_r = userdb_msg;
	if (r <= 0)
		return r;
	fetch_release(val, len, owned);
	txn_iters_adjust(txn, key, NULL, 0);
	ovmap_set(&txn->pending, key, strlen(key), NULL, 0);
	return txn_added(txn, strlen(key), 0, error_r) ? 1 : -1;
}

/* txn_ensure_secret - every committed store has its secret (userdb.h). */
static bool
txn_ensure_secret(struct userdb_txn *txn, const char **error_r)
{
	unsigned char secret[USERDB_SECRET_LEN];
	const char *val;
	size_t len;
	bool owned;
	int r = txn_fetch(txn, USERDB_SECRET_KEY, sizeof(USERDB_SECRET_KEY) - 1,
			  &val, &len, &owned);

	if (r > 0) {
		fetch_release(val, len, owned);
		return true;
	}
	if (r < 0) {
		*error_r = userdb_msg;
		return false;
	}
	if (RAND_bytes(secret, sizeof(secret)) != 1) {
		*error_r = set_err("store secret", "no random bytes");
		return false;
	}
	ovmap_set(&txn->pending, USERDB_SECRET_KEY,
		  sizeof(USERDB_SECRET_KEY) - 1, (char *)secret,
		  sizeof(secret));
	secret_wipe(secret, sizeof(secret));
	return true;
}

static bool
iters_add(void *c, const char *key, size_t key_len, const char *val,
	  size_t len)
{
	struct userdb_record rec;

	if (memchr(key, '@', key_len) == NULL)
		return true;
	userdb_record_init(&rec);
	if (userdb_record_decode(val, len, &rec) == NULL)
		scram_iters_count(c, &rec);
	userdb_record_clear(&rec);
	return true;
}

/* txn_write_iters - the batch's SCRAM iteration counts into
 * USERDB_ITERS_KEY (scram_iters.h): the histogram kept up to date by put
 * and delete, or, when the store had none (or it disagreed), a full count
 * of the records (several seconds on a 1M store: once per store). */
static bool
txn_write_iters(struct userdb_txn *txn, const char **error_r)
{
	struct scram_iters it = txn->iters;
	struct buf b;

	if (!txn->iters_known) {
		struct view sv;
		const struct view *base = &txn->w->v;

		if (txn->spill != NULL) {
			/* everything before pending is in the spill */
			view_init(&sv);
			sv.open = true;
			sv.base = txn->spill;
			base = &sv;
		}
		scram_iters_init(&it);
		if (!merged_each(base, &txn->pending, true, iters_add, &it)) {
			*error_r = userdb_msg;
			return false;
		}
	}
	buf_init(&b);
	scram_iters_encode(&it, &b);
	ovmap_set(&txn->pending, USERDB_ITERS_KEY, sizeof(USERDB_ITERS_KEY) - 1,
		  b.data, b.len);
	buf_free(&b);
	return true;
}

static bool
frame_op(void *c, const struct ovmap_entry *e)
{
	storelog_frame_add(c, e->value != NULL ? STORELOG_PUT : STORELOG_DELETE,
			   e->key, e->key_len, e->value, e->value_len);
	return true;
}

/* commit_spill - finish the spilled batch's base and make it the next
 * generation, with an empty log. */
static bool
commit_spill(struct userdb_txn *txn, const char **error_r)
{
	struct userdb_writer *w = txn->w;
	uint64_t old = w->v.open ? w->v.gen : 0, gen = old + 1;
	char *lp = gen_path(w->p.path, gen, "log");
	GDBM_FILE dbf = txn->spill;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	bool ok;

	file_attrs(w, &mode, &uid, &gid);
	txn->spill = NULL;	/* build_finish closes (and on failure removes) it */
	ok = build_finish(txn->spill_path, dbf, &txn->pending, mode, uid, gid,
			  error_r) &&
	     new_log(lp, gen, NULL, 0, mode, uid, gid, error_r) &&
	     manifest_switch(w, gen, mode, uid, gid, error_r);
	if (!ok) {
		(void)unlink(txn->spill_path);
		(void)unlink(lp);
	} else if (old != 0) {
		retire(w->p.path, old);
	}
	free(lp);
	view_close(&w->v);
	return ok;
}

/* commit_rewrite - the batch as a new generation: the whole base copied
 * with the log and the batch applied, an empty log.  For a new store, and
 * for batches bigger than the log may grow, which would cost a rewrite at
 * the next compaction anyway: the same as a batch that spilled. */
static bool
commit_rewrite(struct userdb_txn *txn, const char **error_r)
{
	return txn_spill(txn, error_r) && commit_spill(txn, error_r);
}

/* commit_append - the batch as one frame at the log's end, synced before
 * the caller answers.  A failed or short write is cut off again, so the
 * log never keeps a frame nobody was told about. */
static bool
commit_append(struct userdb_txn *txn, struct buf *frame,
	      const char **error_r)
{
	struct userdb_writer *w = txn->w;
	off_t off = (off_t)w->v.log_end;
	mode_t mode;
	uid_t uid;
	gid_t gid;

	if (!write_all(w->v.log_fd, frame->data, frame->len, off) ||
	    fdatasync(w->v.log_fd) < 0) {
		char *lp = gen_path(w->p.path, w->v.gen, "log");
		int e = errno;

		if (ftruncate(w->v.log_fd, off) < 0)
			(void)0;	/* the next writer cuts it */
		errno = e;
		*error_r = sys_err(lp);
		free(lp);
		return false;
	}
	/* The overlay takes the frame over, as it does a log read. */
	ovmap_apply_frame(&w->v.ov, (const unsigned char *)frame->data,
			  frame->len);
	ovmap_adopt(&w->v.ov, frame->data, frame->cap);
	frame->data = NULL;
	frame->len = frame->cap = 0;
	w->v.log_end += frame->len;
	w->v.changes++;
	/* store_mode/owner changed since the files were made: follow it,
	 * as a rewrite would. */
	file_attrs(w, &mode, &uid, &gid);
	if ((w->v.mst.st_mode & 07777) != mode ||
	    (uid != (uid_t)-1 && uid != w->v.mst.st_uid) ||
	    (gid != (gid_t)-1 && gid != w->v.mst.st_gid)) {
		char *bp = gen_path(w->p.path, w->v.gen, "gdbm");

		/* Best effort: the change itself has landed. */
		(void)attrs_path(w->p.path, mode, uid, gid);
		(void)attrs_path(bp, mode, uid, gid);
		(void)set_attrs(w->v.log_fd, mode, uid, gid);
		free(bp);
		(void)stat(w->p.path, &w->v.mst);
	}
	return true;
}

/* compact_wanted - whether a log of log_end bytes is past its bound, no
 * compaction runs, and the last one did not fail at about this size (a
 * full disk: retry only after the log grew by another quarter of the
 * bound). */
static bool
compact_wanted(const struct userdb_file_params *p, uint64_t base_size,
	       uint64_t log_end)
{
	uint64_t limit = limit_of(p, base_size), failed_at;
	char buf[64], *cp;
	ssize_t n;
	int fd;
	bool free_now;

	if (log_end <= STORELOG_HEADER_LEN ||
	    log_end - STORELOG_HEADER_LEN <= limit)
		return false;
	cp = xasprintf("%s.compact", p->path);
	fd = open(cp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(cp);
	if (fd < 0)
		return false;
	free_now = flock(fd, LOCK_EX | LOCK_NB) == 0;
	n = free_now ? pread(fd, buf, sizeof(buf) - 1, 0) : -1;
	close(fd);
	if (!free_now)
		return false;
	if (n > 0) {
		buf[n] = '\0';
		if (sscanf(buf, "failed %llu", (unsigned long long *)&failed_at) == 1 &&
		    log_end < failed_at + limit / 4)
			return false;
	}
	return true;
}

/* compact_spawn - fold the log in a detached grandchild, so that the
 * writer's answer and exit wait for nothing.  The grandchild holds none
 * of the caller's descriptors (a pipe the caller's caller reads to EOF
 * must close when pwtool exits) and reports failures to syslog. */
static void
compact_spawn(const struct userdb_file_params *p)
{
	pid_t pid = fork();

	if (pid < 0)
		return;
	if (pid == 0) {
		const char *why;
		int fd;

		(void)setsid();
		if (fork() != 0)
			_exit(0);
		(void)close_range(0, ~0U, 0);
		fd = open("/dev/null", O_RDWR);
		if (fd == 0) {
			(void)dup2(0, 1);
			(void)dup2(0, 2);
		}
		if (!userdb_compact(p, false, &why)) {
			openlog("pwtool", LOG_PID, LOG_AUTHPRIV);
			syslog(LOG_ERR, "store compaction failed: %s", why);
		}
		_exit(0);
	}
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

bool
userdb_txn_commit(struct userdb_txn *txn, const char **error_r)
{
	struct userdb_writer *w = txn->w;
	struct buf frame;
	bool ok = false;

	if (txn->pg != NULL) {
		ok = store_pg_commit(txn->pg, error_r);
		goto out;
	}
	if (!txn_ensure_secret(txn, error_r) || !txn_write_iters(txn, error_r))
		goto out;
	if (txn->spill != NULL) {
		/* A new generation anyway (an old-format store included:
		 * the manifest replaces its file). */
		ok = commit_spill(txn, error_r);
		goto out;
	}
	if (w->v.open && w->v.legacy) {
		if (!writer_upgrade(w, error_r))
			goto out;
		view_close(&w->v);
		if (view_open(&w->v, w->p.path, true) <= 0) {
			*error_r = userdb_msg;
			goto out;
		}
	}
	/* A batch past the log's bound (an import) goes straight into a new
	 * base: its frame is never built, so its size is bounded only by
	 * the disk (a 1M-line import is ~400 MB of frame). */
	{
		uint64_t size = STORELOG_FRAME_HEAD + 4;

		(void)ovmap_each(&txn->pending, size_op, &size);
		if (!w->v.open || size > log_limit(w)) {
			ok = commit_rewrite(txn, error_r);
			goto out;
		}
	}
	buf_init(&frame);
	storelog_frame_begin(&frame);
	(void)ovmap_each(&txn->pending, frame_op, &frame);
	if (!storelog_frame_finish(&frame)) {
		buf_free(&frame);
		*error_r = set_err("store write", "batch too large for memory");
		goto out;
	}
	ok = commit_append(txn, &frame, error_r);
	buf_free(&frame);
out:
	txn_end(txn);
	return ok;
}

void
userdb_compact_if_due(const struct userdb_file_params *p)
{
	char head[256];
	uint64_t gen;
	unsigned int format;
	struct stat bst, lst;
	char *bp, *lp;
	ssize_t n;
	bool due;
	int fd;

	if (p->pg_conninfo != NULL)
		return;		/* no log to fold */
	fd = open(p->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, head, sizeof(head));
	close(fd);
	if (n <= 0 || storelog_manifest_parse(head, (size_t)n, &gen,
					      &format) != NULL)
		return;		/* no store, or one no compaction can fold */
	bp = gen_path(p->path, gen, "gdbm");
	lp = gen_path(p->path, gen, "log");
	due = stat(bp, &bst) == 0 && stat(lp, &lst) == 0 &&
	      compact_wanted(p, (uint64_t)bst.st_size, (uint64_t)lst.st_size);
	free(bp);
	free(lp);
	if (due)
		compact_spawn(p);
}

void
userdb_txn_abort(struct userdb_txn *txn)
{
	if (txn->pg != NULL)
		store_pg_abort(txn->pg);
	txn_end(txn);
}

/* --- compaction ------------------------------------------------------------ */

/* compact_mark - record the outcome in PATH.compact (see compact_wanted). */
static void
compact_mark(int fd, bool failed, uint64_t log_end)
{
	char buf[64];
	int n = failed ? snprintf(buf, sizeof(buf), "failed %llu\n",
				  (unsigned long long)log_end) : 0;

	if (ftruncate(fd, 0) == 0 && n > 0)
		(void)write_all(fd, buf, (size_t)n, 0);
}

/* tail_end - the end of the whole frames of p (n bytes). */
static size_t
tail_end(const unsigned char *p, size_t n)
{
	size_t pos = 0, fl;
	const char *why;

	while (pos < n && storelog_frame_check(p + pos, n - pos, &fl, &why) == 1)
		pos += fl;
	return pos;
}

bool
userdb_compact(const struct userdb_file_params *p, bool wait,
	       const char **error_r)
{
	struct userdb_writer *w = userdb_writer_new(p);
	char *tmp = xasprintf("%s.compact.tmp", p->path);
	char *bp = NULL, *lp = NULL;
	unsigned char *tail = NULL;
	uint64_t gen, snap_end;
	struct view v;
	struct stat st;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	size_t n = 0, got = 0;
	int cfd, r;
	bool ok = false;

	if (w->pg != NULL) {
		ok = store_pg_vacuum(w->pg, error_r);
		free(tmp);
		userdb_writer_free(w);
		return ok;
	}
	view_init(&v);
	cfd = open(w->compact_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (cfd < 0) {
		*error_r = sys_err(w->compact_path);
		goto out;
	}
	lock_attrs(p, cfd);
	if (flock(cfd, LOCK_EX | LOCK_NB) < 0) {
		if (!wait) {
			ok = true;	/* another compaction is on it */
			goto out;
		}
		if (!flock_wait(cfd, p->lock_timeout, w->compact_path, error_r))
			goto out;
	}
	/* An old-format store is upgraded (no copy), then folded like any. */
	r = view_open(&v, p->path, false);
	if (r <= 0) {
		ok = r == 0;	/* no store: nothing to fold */
		if (r < 0)
			*error_r = userdb_msg;
		goto out;
	}
	if (v.legacy) {
		view_close(&v);
		if (!writer_lock(w, error_r))
			goto out;
		ok = writer_sync(w, error_r) &&
		     (!w->v.open || !w->v.legacy || writer_upgrade(w, error_r));
		writer_unlock(w);
		view_close(&w->v);
		if (!ok || view_open(&v, p->path, false) <= 0) {
			if (ok)
				*error_r = userdb_msg;
			ok = false;
			goto out;
		}
		ok = false;
	}
	gen = v.gen;
	snap_end = v.log_end;
	if (snap_end == STORELOG_HEADER_LEN) {
		/* Nothing to fold; but a compaction killed between its switch
		 * and its retire may have left older files, and with no change
		 * since, no later fold would sweep them (the kill -9 proof saw
		 * them).  Under the compaction lock no other generation is in
		 * the making. */
		sweep(p->path, gen);
		ok = true;
		goto out;
	}
	/* The long part, without the writer lock: readers and writers go on
	 * with generation gen meanwhile. */
	view_attrs(p, &v, &mode, &uid, &gid);
	if (!build_base(tmp, gdbm_fdesc(v.base), &v.ov, NULL, mode, uid, gid,
			error_r)) {
		compact_mark(cfd, true, v.log_end);
		goto out;
	}
	/* The short part, under the writer lock: what was appended since
	 * the snapshot moves to the new generation's log. */
	if (!writer_lock(w, error_r))
		goto out_tmp;
	if (stat(p->path, &st) < 0 || st.st_ino != v.ino || st.st_dev != v.dev) {
		ok = true;	/* rewritten meanwhile: this fold is moot */
		writer_unlock(w);
		goto out_tmp;
	}
	if (fstat(v.log_fd, &st) < 0) {
		*error_r = sys_err(w->p.path);
		writer_unlock(w);
		goto out_tmp;
	}
	if ((uint64_t)st.st_size > snap_end) {
		n = (size_t)((uint64_t)st.st_size - snap_end);
		tail = xmalloc(n);
		while (got < n) {
			ssize_t rd = pread(v.log_fd, tail + got, n - got,
					   (off_t)(snap_end + got));

			if (rd < 0 && errno == EINTR)
				continue;
			if (rd <= 0)
				break;
			got += (size_t)rd;
		}
		got = tail_end(tail, got);
	}
	bp = gen_path(p->path, gen + 1, "gdbm");
	lp = gen_path(p->path, gen + 1, "log");
	if (!new_log(lp, gen + 1, tail, got, mode, uid, gid, error_r) ||
	    (rename(tmp, bp) < 0 && (*error_r = sys_err(bp), true)) ||
	    !manifest_switch(w, gen + 1, mode, uid, gid, error_r)) {
		(void)unlink(lp);
		(void)unlink(bp);
		writer_unlock(w);
		compact_mark(cfd, true, v.log_end);
		goto out_tmp;
	}
	writer_unlock(w);
	retire(p->path, gen);
	sweep(p->path, gen + 1);
	compact_mark(cfd, false, 0);
	ok = true;
out_tmp:
	(void)unlink(tmp);
out:
	if (tail != NULL)
		secret_free(tail, n);
	view_close(&v);
	if (cfd >= 0)
		close(cfd);	/* releases the compaction lock */
	free(bp);
	free(lp);
	free(tmp);
	userdb_writer_free(w);
	return ok;
}
