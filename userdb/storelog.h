/*
 * storelog - the pieces of the store's on-disk format that are not GDBM:
 * the manifest, the change log's frames, and the in-memory overlay that
 * readers and writers keep of the log.  userdb.h explains how they fit
 * together; this file only knows bytes.
 *
 * Untrusted input: everything parsed here comes from files that may be
 * damaged (a crash, a full disk, a careless admin): every length is
 * checked before it is used, and a parse never reads past its buffer.
 *
 * Manifest (the file at store_path):
 *	"authd-store 2\n" "generation G\n"	G decimal, 1 .. 2^63
 * Log file PATH.G.log:
 *	header	"AUTHDLG2" + generation (u64 LE)		16 bytes
 *	frame	length (u32 LE) + CRC-32C of the payload (u32 LE) + payload
 *	payload	count (u32) then count ops:
 *		put:	1 (u8), key length (u16), key, value length (u32), value
 *		delete:	2 (u8), key length (u16), key
 * All integers little-endian.  A frame is one transaction: a reader
 * applies it whole or not at all.
 */
#ifndef AUTHD_STORELOG_H
#define AUTHD_STORELOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define STORELOG_FORMAT		2
#define STORELOG_MANIFEST_MAGIC	"authd-store "
#define STORELOG_HEADER_LEN	16
#define STORELOG_FRAME_HEAD	8
#define STORELOG_KEY_MAX	4096
#define STORELOG_VALUE_MAX	(1u << 20)
/* No transaction is bigger: larger batches are committed by a rewrite of
 * the base instead (userdb.c), so a length above this is damage. */
#define STORELOG_FRAME_MAX	(256u << 20)

enum storelog_op { STORELOG_PUT = 1, STORELOG_DELETE = 2 };

/* crc32c - CRC-32C (Castagnoli) of p, continuing from crc (0 to start). */
uint32_t storelog_crc32c(uint32_t crc, const void *p, size_t n);

/* storelog_manifest_parse - the manifest's generation.  NULL on success;
 * otherwise a static reason.  *format_r is the format number read, when
 * there is one (a later format than STORELOG_FORMAT: a newer authd wrote
 * the store). */
const char *storelog_manifest_parse(const char *s, size_t len, uint64_t *gen_r,
				    unsigned int *format_r);
/* storelog_manifest_format - the manifest text of generation gen. */
void storelog_manifest_format(uint64_t gen, struct buf *out);

/* storelog_header - the 16 header bytes of generation gen's log. */
void storelog_header(uint64_t gen, unsigned char out[STORELOG_HEADER_LEN]);
/* storelog_header_check - NULL if p (len bytes) starts with the header of
 * generation gen, else a static reason. */
const char *storelog_header_check(const unsigned char *p, size_t len,
				  uint64_t gen);

/* storelog_frame_check - the frame at p (len bytes available): 1 and
 * *frame_len_r (header included) when it is whole and its checksum and
 * ops are right; 0 when it is not whole yet (more bytes may come); -1
 * when it is whole but wrong (*why_r: a static reason). */
int storelog_frame_check(const unsigned char *p, size_t len,
			 size_t *frame_len_r, const char **why_r);

/* storelog_ops_each - call fn for every op of a checked frame's payload
 * (the frame from its header on).  Stops at fn's first false. */
typedef bool storelog_op_fn(void *ctx, enum storelog_op op, const char *key,
			    size_t key_len, const char *value,
			    size_t value_len);
bool storelog_ops_each(const unsigned char *frame, size_t frame_len,
		       storelog_op_fn *fn, void *ctx);

/* Building a frame: begin, add ops, finish (which fills in the count,
 * length and checksum).  The buffer then holds one whole frame. */
void storelog_frame_begin(struct buf *b);
void storelog_frame_add(struct buf *b, enum storelog_op op, const char *key,
			size_t key_len, const char *value, size_t value_len);
bool storelog_frame_finish(struct buf *b);

/*
 * ovmap - key -> value or tombstone, the state the log (or a pending
 * transaction) gives keys.  Keyed SipHash with a random key per map, so
 * that names chosen by users cannot make lookups slow.  Entries live in
 * one flat table and point into memory the map owns: chunks it copied
 * into (ovmap_set) or adopted whole (a log read, ovmap_adopt), so that
 * indexing tens of thousands of log entries costs no allocation each.
 * Values are credentials: every chunk is wiped when the map is freed.
 */
struct ovmap_entry {
	const char *key;	/* NULL: free slot */
	const char *value;	/* NULL: deleted (a tombstone) */
	uint32_t key_len, value_len;
	uint64_t hash;
};

struct ovmap_chunk {
	char *p;
	size_t size, used;
	bool mapped;		/* an mmap of the log: unmapped, not wiped */
};

struct ovmap {
	struct ovmap_entry *slots;
	size_t cap, n;		/* cap: a power of two, or 0 */
	unsigned char sipkey[16];
	struct ovmap_chunk *chunks;
	size_t nchunks, chunks_cap;
};

void ovmap_init(struct ovmap *m);
void ovmap_free(struct ovmap *m);
/* ovmap_get - the entry of key, or NULL when the map says nothing of it.
 * The pointer is valid until the next change of the map; key and value
 * bytes until ovmap_free.  Neither is NUL-terminated. */
const struct ovmap_entry *ovmap_get(const struct ovmap *m, const char *key,
				    size_t key_len);
/* ovmap_set - key now has value (NULL: deleted); both are copied. */
void ovmap_set(struct ovmap *m, const char *key, size_t key_len,
	       const char *value, size_t value_len);
/* ovmap_adopt - the map now owns p (size bytes, from malloc): it wipes
 * and frees it in ovmap_free.  For memory ovmap_apply_frame points into. */
void ovmap_adopt(struct ovmap *m, void *p, size_t size);
/* ovmap_adopt_map - the same for a read-only mmap of a log, which
 * ovmap_free unmaps (the bytes are the file's: nothing to wipe). */
void ovmap_adopt_map(struct ovmap *m, void *p, size_t size);
/* ovmap_reserve - room for n entries without growing. */
void ovmap_reserve(struct ovmap *m, size_t n);
/* ovmap_each - every entry, in no order; stops at fn's first false. */
bool ovmap_each(const struct ovmap *m,
		bool (*fn)(void *ctx, const struct ovmap_entry *e), void *ctx);
/* ovmap_apply_frame - the ops of a checked frame into the map, pointing
 * into the frame: the frame must stay until ovmap_free (adopt it). */
void ovmap_apply_frame(struct ovmap *m, const unsigned char *frame,
		       size_t frame_len);

#endif
