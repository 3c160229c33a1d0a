/*
 * buf - growable byte buffer.  Growth copies through xrealloc only after
 * wiping is no longer a concern: secret-holding buffers grow by allocating
 * a new block, copying and wiping the old one.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "secret.h"
#include "xalloc.h"

void
buf_init(struct buf *b)
{
	b->cap = 64;
	b->data = xmalloc(b->cap);
	b->data[0] = '\0';
	b->len = 0;
}

/* buf_reserve - make room for n more bytes plus the NUL.  The old block is
 * wiped before it is freed, so any buffer may safely hold secrets. */
static void
buf_reserve(struct buf *b, size_t n)
{
	size_t cap = b->cap;
	char *p;

	if (b->len + n + 1 <= cap)
		return;
	while (b->len + n + 1 > cap)
		cap *= 2;
	p = xmalloc(cap);
	memcpy(p, b->data, b->len + 1);
	secret_free(b->data, b->cap);
	b->data = p;
	b->cap = cap;
}

void
buf_append(struct buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
buf_append_str(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

void
buf_append_c(struct buf *b, char c)
{
	buf_append(b, &c, 1);
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	(void)vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
buf_reset(struct buf *b)
{
	secret_wipe(b->data, b->len);
	b->len = 0;
	b->data[0] = '\0';
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void
buf_free_secret(struct buf *b)
{
	secret_free(b->data, b->cap);
	b->data = NULL;
	b->len = b->cap = 0;
}
