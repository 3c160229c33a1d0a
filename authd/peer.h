/*
 * peer - the peer-credential check of a new client of either socket.
 * Untrusted input: none (the kernel reports the credentials).
 */
#ifndef AUTHD_PEER_H
#define AUTHD_PEER_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>

/* peer_allowed - whether the client on fd passes socket_peer_users /
 * socket_peer_groups (root always does; empty lists let anyone who can
 * reach the socket in).  A refusal is logged. */
bool peer_allowed(int fd);

/* peer_no_penalty_ok - whether the client on fd may switch the failure
 * delay off (the auth socket's no-penalty): its uid is in
 * auth_no_penalty_users, or its effective or a supplementary group in
 * auth_no_penalty_groups.  Root is not implied; empty lists: nobody. */
bool peer_no_penalty_ok(int fd);

/* peer_control_allowed - whether the client on fd may use the control
 * socket (conn_control.h): uid 0, authd's own uid, or, when have_group,
 * a member of group (primary or supplementary).  *cred_r is the peer's;
 * a refusal is logged. */
bool peer_control_allowed(int fd, bool have_group, gid_t group,
			  struct ucred *cred_r);

#endif
