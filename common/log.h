/*
 * log - one place for diagnostics.
 *
 * Daemons log to syslog (and to stderr in the foreground); command-line
 * tools print "prog: message" on stderr.  Nothing here ever formats a
 * secret: callers pass user names and reasons, never passwords.
 */
#ifndef AUTHD_LOG_H
#define AUTHD_LOG_H

#include <stdbool.h>
#include <stdnoreturn.h>

/* log_init - set the program name; use_syslog with the given facility
 * (LOG_AUTH by default), to_stderr to also (or only) print on stderr. */
void log_init(const char *progname, bool use_syslog, int facility,
	      bool to_stderr);
/* log_set_stderr - start or stop copying messages to stderr. */
void log_set_stderr(bool on);
/* log_set_debug - enable or disable log_debug() output. */
void log_set_debug(bool on);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_warn - warning with ": strerror(errno)" appended; log_warnx without. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* fatal - log with strerror(errno) and exit(status); for start-up and
 * privilege changes only.  fatalx without errno. */
noreturn void fatal(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
noreturn void fatalx(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
