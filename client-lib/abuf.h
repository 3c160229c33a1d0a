/*
 * abuf - the library's growable byte buffer.  Unlike common/buf.c it
 * never exits: an allocation failure makes the buffer "failed" (sticky),
 * later appends do nothing, and the caller checks abuf_ok() once, after
 * building a message.  Every release and every growth wipes the old bytes,
 * so any buffer may hold a secret.  The data is always NUL-terminated
 * (when not failed), so a text buffer is a C string.
 */
#ifndef LIBAUTHD_ABUF_H
#define LIBAUTHD_ABUF_H

#include <stdbool.h>
#include <stddef.h>

struct abuf {
	char *data;		/* NULL until the first append */
	size_t len;
	size_t cap;
	bool failed;
};

#define ABUF_INIT	{ NULL, 0, 0, false }

/* abuf_ok - false once an allocation failed. */
bool abuf_ok(const struct abuf *b);
/* abuf_reserve - room for n more bytes (and the NUL) without moving. */
bool abuf_reserve(struct abuf *b, size_t n);
/* abuf_append / abuf_append_str / abuf_putc - false when out of memory. */
bool abuf_append(struct abuf *b, const void *p, size_t n);
bool abuf_append_str(struct abuf *b, const char *s);
bool abuf_putc(struct abuf *b, char c);
/* abuf_printf - formatted append; false on failure (memory or format). */
bool abuf_printf(struct abuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* abuf_consume - drop the first n bytes, wiping what moves. */
void abuf_consume(struct abuf *b, size_t n);
/* abuf_reset - wipe and empty; keeps the allocation, clears "failed". */
void abuf_reset(struct abuf *b);
/* abuf_free - wipe the whole allocation and free it. */
void abuf_free(struct abuf *b);

#endif
