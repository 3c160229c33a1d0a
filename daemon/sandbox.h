/*
 * sandbox - the last lock a serving daemon turns: PR_SET_NO_NEW_PRIVS and
 * a seccomp allow-list of the system calls the kit's daemon needs once it
 * serves (event loop, connections, worker threads, syslog, the GDBM store
 * read again after a change, SIGHUP's configuration reload).  Any other
 * call kills the whole process (SECCOMP_RET_KILL_PROCESS): a daemon that
 * was made to call execve(2) or ptrace(2) has been subverted, and nothing
 * in it should run one more instruction.
 *
 * The filter reaches every thread (SECCOMP_FILTER_FLAG_TSYNC), so it may
 * be entered after the worker threads have started.  It cannot be undone:
 * enter it only once start-up, the privilege drop included, is over.
 *
 * Untrusted input: none (the caller's extra names are its own constants).
 */
#ifndef AUTHD_SANDBOX_H
#define AUTHD_SANDBOX_H

#include <stdbool.h>

/* sandbox_enter - no_new_privs, then the allow-list plus extra (a
 * NULL-terminated list of system call names; NULL for none) for every
 * thread of the process.  Returns the number of system calls allowed (a
 * sanitizer runtime's not counted), or
 * -1 and *errmsg_r (allocated) if the kernel or libseccomp refused, in
 * which case no filter was loaded (no_new_privs may be set).  Never logs,
 * never exits: the caller decides whether a daemon without its sandbox
 * may run. */
int sandbox_enter(const char *const *extra, char **errmsg_r);

/* sandbox_sanitizer_build - true when the allow-list carries the calls of
 * a sanitizer runtime (ASan, UBSan, LSan), which a production build lacks. */
bool sandbox_sanitizer_build(void);

#endif
