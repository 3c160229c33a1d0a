/*
 * util - small helpers shared by the library's modules: error messages
 * into a handle's fixed buffer, a monotonic clock, checked string copies,
 * random nonces, and the socket calls with deadlines.  Nothing here
 * exits or prints.
 */
#ifndef LIBAUTHD_UTIL_H
#define LIBAUTHD_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UTIL_ERR_MAX	256

/* util_errf - format a message into err (UTIL_ERR_MAX bytes), truncated
 * if need be; returns code, so that "return util_errf(...)" reads well. */
int util_errf(char *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* util_strerror - strerror() without its static buffer (thread-safe). */
const char *util_strerror(int errnum);

/* util_now_ms - CLOCK_MONOTONIC in milliseconds. */
int64_t util_now_ms(void);
/* util_deadline - now + timeout_ms, the default for timeout_ms <= 0. */
int64_t util_deadline(int timeout_ms);

/* util_strdup - a copy of s, or NULL when out of memory. */
char *util_strdup(const char *s);
/* util_free_str - wipe a string (NULL is fine) and free it. */
void util_free_str(char *s);

/* util_random_nonce - 18 bytes from RAND_bytes() in base64 (24
 * characters and a NUL) into out[25]; false if no randomness. */
bool util_random_nonce(char out[25]);

/* util_connect_unix - a close-on-exec stream socket connected to path,
 * then put in non-blocking mode.  Waits (only while the server's listen
 * queue is full) until the deadline at most; a deadline already passed
 * means one attempt without waiting.  -1 and a message in err (the
 * AUTHD_ERR_* code in *code_r) on failure. */
int util_connect_unix(const char *path, int64_t deadline, char *err,
		      int *code_r);
/* util_wait - poll fd for events until the deadline: 1 ready, 0 timed
 * out, -1 error (errno). */
int util_wait(int fd, short events, int64_t deadline);

#endif
