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
#include <stddef.h>
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
/* fatal - log with strerror(errno) and exit(status); for a bad
 * configuration at start-up and for privilege changes only, never on a
 * request's path.  fatalx without errno. */
noreturn void fatal(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
noreturn void fatalx(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* panic - log and abort(): an invariant broke (OpenSSL failing on a
 * context it accepted, a state that cannot be).  Not for anything a
 * client or an admin can cause. */
noreturn void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* log_safe - copy untrusted text for a log line: printable ASCII other
 * than '"' and '\\' kept, every other byte as \xNN (so a name can never
 * forge a second field or line); at most 64 input bytes. */
void log_safe(const char *in, size_t len, char *out, size_t outlen);

#endif
