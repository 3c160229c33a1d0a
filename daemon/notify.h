/*
 * notify - tell systemd how start-up and reloads go (Type=notify): the
 * datagram protocol of sd_notify(3), spoken directly, so that the daemon
 * needs no libsystemd for three short messages.
 *
 * The socket is opened and connected while the daemon is still root and
 * outside its chroot (the path, /run/systemd/notify, lies outside it);
 * sending needs only send(2) on that descriptor, which the sandbox
 * allows.  Nothing here exits; sending is best effort.
 *
 * Untrusted input: $NOTIFY_SOCKET (the environment of whoever started us).
 */
#ifndef AUTHD_NOTIFY_H
#define AUTHD_NOTIFY_H

#include <stdbool.h>

/* notify_open - connect to $NOTIFY_SOCKET ("/path" or "@abstract") when
 * it is set, and unset it, so that no program a PAM module runs sends in
 * our name.  Returns false with *errmsg_r (allocated) when it is set but
 * cannot be used; true otherwise (also when it is not set: then every
 * notify_send does nothing). */
bool notify_open(char **errmsg_r);
/* notify_send - one message, e.g. "READY=1\nSTATUS=serving"; ignored
 * when not under systemd.  MAINPID is added to READY=1 and
 * MONOTONIC_USEC to RELOADING=1 by the caller's choice of words. */
void notify_send(const char *state);
/* notify_ready, notify_reloading, notify_stopping - the three moments:
 * serving (with status, a line for systemctl status), re-reading the
 * configuration, shutting down. */
void notify_ready(const char *status);
void notify_reloading(void);
void notify_stopping(void);

#endif
