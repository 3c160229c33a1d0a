/*
 * log - diagnostics to syslog and/or stderr.  See log.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"

/* A copy: openlog(3) keeps the pointer, and the name may come from a
 * configuration that a reload frees. */
static char log_prog_buf[64] = "authd";
static const char *log_prog = log_prog_buf;
static bool log_syslog;
static bool log_stderr = true;
static bool log_debug_on;

void
log_init(const char *progname, bool use_syslog, int facility, bool to_stderr)
{
	snprintf(log_prog_buf, sizeof(log_prog_buf), "%s", progname);
	log_syslog = use_syslog;
	log_stderr = to_stderr;
	if (use_syslog)
		openlog(log_prog_buf, LOG_PID | LOG_NDELAY, facility);
}

void
log_set_stderr(bool on)
{
	log_stderr = on;
}

void
log_set_debug(bool on)
{
	log_debug_on = on;
}

/* log_vemit - format once, then send to every configured sink. */
static void __attribute__((format(printf, 3, 0)))
log_vemit(int prio, int errnum, const char *fmt, va_list ap)
{
	char msg[2048];
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);

	if (n < 0)
		return;
	if (errnum != 0 && (size_t)n < sizeof(msg))
		(void)snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s",
			       strerror(errnum));
	if (log_syslog)
		syslog(prio, "%s", msg);
	if (log_stderr)
		fprintf(stderr, "%s: %s\n", log_prog, msg);
}

#define LOG_BODY(prio, errnum) do {		\
	va_list ap;				\
	va_start(ap, fmt);			\
	log_vemit((prio), (errnum), fmt, ap);	\
	va_end(ap);				\
} while (0)

void
log_debug(const char *fmt, ...)
{
	if (log_debug_on)
		LOG_BODY(LOG_DEBUG, 0);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_INFO, 0);
}

void
log_notice(const char *fmt, ...)
{
	LOG_BODY(LOG_NOTICE, 0);
}

void
log_warn(const char *fmt, ...)
{
	int e = errno;

	LOG_BODY(LOG_WARNING, e);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_WARNING, 0);
}

void
fatal(int status, const char *fmt, ...)
{
	int e = errno;

	LOG_BODY(LOG_CRIT, e);
	exit(status);
}

void
fatalx(int status, const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, 0);
	exit(status);
}

void
panic(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, 0);
	abort();
}

void
log_safe(const char *in, size_t len, char *out, size_t outlen)
{
	size_t i, o = 0;

	if (len > 64)
		len = 64;
	for (i = 0; i < len && o + 5 < outlen; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c >= 0x21 && c < 0x7f && c != '"' && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
	}
	out[o] = '\0';
}
