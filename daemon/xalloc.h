/*
 * xalloc - allocation that never returns NULL.
 *
 * For the daemon and the tools only: running out of memory there is not a
 * condition any caller can handle better than by exiting.  The client
 * library never uses these.
 */
#ifndef AUTHD_XALLOC_H
#define AUTHD_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
/* xreallocarray - xrealloc of nmemb * size, exiting on overflow. */
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* xasprintf - allocate and format; exits on error. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
