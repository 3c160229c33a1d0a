/*
 * log - one place for diagnostics.
 *
 * Daemons log to syslog or to stderr (log_daemon() decides which, once);
 * command-line tools print "prog: message" on stderr.  Nothing here ever
 * formats a secret: callers pass user names and reasons, never passwords.
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

/* Where a daemon's lines go: log_target in authd.conf. */
enum log_target {
	LOG_TARGET_AUTO,	/* syslog; the journal's stream under -F */
	LOG_TARGET_SYSLOG,
	LOG_TARGET_STDERR,
};
#define LOG_TARGETS "auto|syslog|stderr"
/* log_target_parse - a LOG_TARGETS word; LOG_TARGET_AUTO for another. */
enum log_target log_target_parse(const char *word);

/* How a daemon was started: -d, -F, or going to the background. */
enum log_mode {
	LOG_MODE_DEBUG,
	LOG_MODE_FOREGROUND,
	LOG_MODE_BACKGROUND,
};
/* log_daemon - the one decision of where a daemon's lines go, made once
 * the configuration is read (log.c says why each way):
 *  - -d: stderr only, every line;
 *  - stderr when target says so, or with auto under -F when stderr is
 *    systemd's journal stream ($JOURNAL_STREAM names it): one copy, each
 *    line with its "<N>" priority prefix (sd-daemon(3)) for the journal;
 *  - otherwise syslog, and when no syslog daemon listens on /dev/log
 *    (a container, a chroot) stderr instead, said once in a warning;
 *  - with syslog, a copy on stderr until log_ready(): every line under -F
 *    (start-up errors show where the command was typed), warnings and
 *    errors before the fork in the background (proc_daemonize() passes the
 *    child's to the waiting parent); never under systemd ($INVOCATION_ID
 *    or $JOURNAL_STREAM), whose journal gets syslog's lines already. */
void log_daemon(const char *progname, enum log_target target, int facility,
		enum log_mode mode);
/* log_to_stderr - whether stderr is where lines go for good (it must then
 * stay open in the background). */
bool log_to_stderr(void);
/* log_under_systemd - started by systemd ($INVOCATION_ID or
 * $JOURNAL_STREAM set). */
bool log_under_systemd(void);
/* log_relay - while start-up lasts in a daemonized child: also write
 * warnings and errors, "prog: message\n", to fd (the pipe to the waiting
 * parent, which prints them); -1 stops.  The fd stays the caller's. */
void log_relay(int fd);
/* log_ready - start-up is over: stop the start-up copy on stderr and the
 * relay; lines go to their target only. */
void log_ready(void);
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
