/*
 * conn_control - the control socket (socket_dir/control, control_socket):
 * what an admin asks a running authd with authdctl(8): a status line,
 * the counters (also in the Prometheus text format), the throttle's
 * current penalties and the credential cache, with flushes of both.
 * The protocol is proto/control-protocol.txt.
 *
 * Who may connect (authd(8), CONTROL): the socket file is root's, mode
 * 0600, or 0660 with control_group as its group; so the kernel admits
 * root and, with the group, its members.  Then the peer's credentials
 * (SO_PEERCRED, SO_PEERGROUPS) are checked again, so that a socket file
 * whose mode someone widened still lets in nobody else: uid 0, authd's
 * own uid, or a member (primary or supplementary) of control_group.
 * At most CONTROL_CONNS_MAX connections at once; an idle one is closed
 * after CONTROL_IDLE_MS.
 *
 * Untrusted input: the command lines (parsed by proto/control.h).
 */
#ifndef AUTHD_CONN_CONTROL_H
#define AUTHD_CONN_CONTROL_H

#include <stdbool.h>
#include <sys/types.h>

#define CONTROL_CONNS_MAX	16
#define CONTROL_IDLE_MS		60000

/* conn_control_accept - a new client of the control socket: checked as
 * above, then served; the descriptor is closed on refusal.  group is
 * control_group's gid when have_group. */
void conn_control_accept(int fd, bool have_group, gid_t group);
/* conn_control_close_all - at shutdown. */
void conn_control_close_all(void);

#endif
