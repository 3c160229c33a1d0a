/*
 * log - diagnostics to syslog and/or stderr.  See log.h.
 *
 * A line is written once, wherever it goes: under systemd, syslog's lines
 * reach the journal already, so a copy on stderr (the journal's stream)
 * would show every line twice.  A line is never dropped without a word:
 * glibc's syslog(3) discards lines silently when nothing listens on
 * /dev/log, so log_daemon() looks first and falls back to stderr.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

/* A copy: openlog(3) keeps the pointer, and the name may come from a
 * configuration that a reload frees. */
static char log_prog_buf[64] = "authd";
static const char *log_prog = log_prog_buf;
static bool log_syslog;
static bool log_stderr = true;
static bool log_debug_on;
/* Lines for stderr only up to this priority (LOG_WARNING: warnings and
 * worse); LOG_DEBUG: every line. */
static int log_stderr_max = LOG_DEBUG;
/* stderr is the target, not a start-up copy (log_ready keeps it). */
static bool log_stderr_target;
/* stderr is systemd's journal stream: "<N>" prefixes, no name. */
static bool log_journal;
static int log_relay_fd = -1;

void
log_init(const char *progname, bool use_syslog, int facility, bool to_stderr)
{
	snprintf(log_prog_buf, sizeof(log_prog_buf), "%s", progname);
	log_syslog = use_syslog;
	log_stderr = to_stderr;
	log_stderr_max = LOG_DEBUG;
	if (use_syslog)
		openlog(log_prog_buf, LOG_PID | LOG_NDELAY, facility);
}

void
log_set_stderr(bool on)
{
	log_stderr = on;
}

enum log_target
log_target_parse(const char *word)
{
	if (strcmp(word, "syslog") == 0)
		return LOG_TARGET_SYSLOG;
	if (strcmp(word, "stderr") == 0)
		return LOG_TARGET_STDERR;
	return LOG_TARGET_AUTO;
}

/* stderr_is_journal - systemd sets $JOURNAL_STREAM to "DEV:INODE" of the
 * stream it connected; stderr is still that stream only if it matches
 * (a shell's redirection in between makes it something else). */
static bool
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

bool
log_under_systemd(void)
{
	return getenv("INVOCATION_ID") != NULL ||
	       getenv("JOURNAL_STREAM") != NULL;
}

/* syslog_missing - 0 when a syslog daemon takes datagrams on /dev/log (as
 * glibc's syslog(3) sends them; a stream socket is taken too), else the
 * errno of the connect. */
static int
syslog_missing(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, e = 0;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", _PATH_LOG);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		e = errno;
		close(fd);
		if (e == EPROTOTYPE &&
		    (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0) {
			e = connect(fd, (struct sockaddr *)&sun,
				    sizeof(sun)) < 0 ? errno : 0;
			close(fd);
		}
		return e;
	}
	close(fd);
	return 0;
}

void
log_daemon(const char *progname, enum log_target target, int facility,
	   enum log_mode mode)
{
	bool systemd = log_under_systemd();
	int missing = 0;

	snprintf(log_prog_buf, sizeof(log_prog_buf), "%s", progname);
	log_journal = stderr_is_journal();
	log_syslog = false;
	log_stderr = true;
	log_stderr_max = LOG_DEBUG;
	log_stderr_target = true;
	if (mode == LOG_MODE_DEBUG || target == LOG_TARGET_STDERR ||
	    (target == LOG_TARGET_AUTO && mode == LOG_MODE_FOREGROUND &&
	     log_journal))
		return;
	if ((missing = syslog_missing()) != 0) {
		log_warnx("warning: no syslog daemon on %s (%s): logging to "
			  "standard error instead", _PATH_LOG,
			  strerror(missing));
		return;
	}
	log_syslog = true;
	openlog(log_prog_buf, LOG_PID | LOG_NDELAY, facility);
	log_stderr_target = false;
	log_stderr = !systemd;
	log_stderr_max = mode == LOG_MODE_FOREGROUND ? LOG_DEBUG : LOG_WARNING;
}

bool
log_to_stderr(void)
{
	return log_stderr_target;
}

void
log_relay(int fd)
{
	log_relay_fd = fd;
	/* The child's stderr is /dev/null from now on: the relay is its
	 * start-up copy. */
	if (fd >= 0 && !log_stderr_target)
		log_stderr = false;
}

void
log_ready(void)
{
	log_relay_fd = -1;
	if (!log_stderr_target)
		log_stderr = false;
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
	if (log_stderr && prio <= log_stderr_max) {
		/* sd-daemon(3): the journal reads the priority from "<N>"
		 * and the name from the process (or SyslogIdentifier=). */
		if (log_journal)
			fprintf(stderr, "<%d>%s\n", prio, msg);
		else
			fprintf(stderr, "%s: %s\n", log_prog, msg);
	}
	if (log_relay_fd >= 0 && prio <= LOG_WARNING && !log_stderr_target)
		(void)!dprintf(log_relay_fd, "%s: %s\n", log_prog, msg);
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
