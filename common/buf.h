/*
 * buf - the one growable byte buffer of the tree, for the daemons, the
 * tools and libauthd alike.
 *
 * It never exits and never logs: an allocation failure makes the buffer
 * "failed" (sticky), later appends do nothing, and the caller checks
 * buf_ok() once, after building a message.  Every growth, consumption,
 * reset and release wipes the bytes it lets go of, so any buffer may hold
 * a password.  The data is NUL-terminated whenever it is not NULL, so a
 * text buffer is a C string.
 */
#ifndef AUTHD_BUF_H
#define AUTHD_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *data;		/* NULL until the first growth, or failed */
	size_t len;
	size_t cap;
	bool failed;
};

#define BUF_INIT	{ NULL, 0, 0, false }

/* buf_init - an empty buffer with a first allocation, so data is a
 * string at once (unless the allocation failed: then it is "failed"). */
void buf_init(struct buf *b);
/* buf_ok - false once an allocation failed (until buf_reset). */
bool buf_ok(const struct buf *b);
/* buf_reserve - room for n more bytes (and the NUL) without moving. */
bool buf_reserve(struct buf *b, size_t n);
/* buf_append / buf_append_str / buf_append_c - false when out of memory. */
bool buf_append(struct buf *b, const void *p, size_t n);
bool buf_append_str(struct buf *b, const char *s);
bool buf_append_c(struct buf *b, char c);
/* buf_printf - formatted append; false on failure (memory or format). */
bool buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* buf_consume - drop the first n bytes, wiping what moves. */
void buf_consume(struct buf *b, size_t n);
/* buf_reset - wipe and empty; keeps the allocation, clears "failed". */
void buf_reset(struct buf *b);
/* buf_free - wipe the whole allocation and free it; the buffer is then
 * as BUF_INIT. */
void buf_free(struct buf *b);

#endif
