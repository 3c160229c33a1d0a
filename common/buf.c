/*
 * buf - allocation-checking, wiping byte buffer.  See buf.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "secret.h"

#define BUF_FIRST	64

void
buf_init(struct buf *b)
{
	b->len = b->cap = 0;
	b->failed = false;
	if ((b->data = malloc(BUF_FIRST)) == NULL) {
		b->failed = true;
		return;
	}
	b->cap = BUF_FIRST;
	b->data[0] = '\0';
}

bool
buf_ok(const struct buf *b)
{
	return !b->failed;
}

/* grow - room for n more bytes and the NUL.  A fresh allocation instead
 * of realloc(), so the old bytes can be wiped. */
static bool
grow(struct buf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->failed)
		return false;
	if (b->data != NULL && n < b->cap - b->len)
		return true;
	if (n > (size_t)-1 / 2 - b->len - 1) {
		b->failed = true;
		return false;
	}
	cap = b->cap < BUF_FIRST ? BUF_FIRST : b->cap;
	while (cap - b->len <= n)
		cap *= 2;
	if ((p = malloc(cap)) == NULL) {
		b->failed = true;
		return false;
	}
	if (b->data != NULL) {
		memcpy(p, b->data, b->len);
		secret_free(b->data, b->cap);
	}
	b->data = p;
	b->cap = cap;
	b->data[b->len] = '\0';
	return true;
}

bool
buf_reserve(struct buf *b, size_t n)
{
	return grow(b, n);
}

bool
buf_append(struct buf *b, const void *p, size_t n)
{
	if (!grow(b, n))
		return false;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return true;
}

bool
buf_append_str(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

bool
buf_append_c(struct buf *b, char c)
{
	return buf_append(b, &c, 1);
}

bool
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return false;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !grow(b, (size_t)n)) {
		b->failed = true;
		return false;
	}
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return false;
	}
	b->len += (size_t)n;
	return true;
}

void
buf_consume(struct buf *b, size_t n)
{
	if (b->data == NULL)
		return;
	if (n >= b->len) {
		secret_wipe(b->data, b->len);
		b->len = 0;
	} else {
		memmove(b->data, b->data + n, b->len - n);
		secret_wipe(b->data + b->len - n, n);
		b->len -= n;
	}
	b->data[b->len] = '\0';
}

void
buf_reset(struct buf *b)
{
	if (b->data != NULL) {
		secret_wipe(b->data, b->len);
		b->data[0] = '\0';
	}
	b->len = 0;
	b->failed = false;
}

void
buf_free(struct buf *b)
{
	if (b->data != NULL)
		secret_free(b->data, b->cap);
	b->data = NULL;
	b->len = b->cap = 0;
	b->failed = false;
}
