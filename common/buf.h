/*
 * buf - a growable byte buffer, always NUL-terminated.
 *
 * Buffers that may hold secrets are released with buf_free_secret(),
 * which wipes the whole allocation, including bytes left over from growth.
 */
#ifndef AUTHD_BUF_H
#define AUTHD_BUF_H

#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

void buf_init(struct buf *b);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_append_str(struct buf *b, const char *s);
void buf_append_c(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b);
void buf_free(struct buf *b);
void buf_free_secret(struct buf *b);

#endif
