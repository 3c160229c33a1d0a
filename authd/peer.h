/*
 * peer - the peer-credential check of a new client of either socket.
 * Untrusted input: none (the kernel reports the credentials).
 */
#ifndef AUTHD_PEER_H
#define AUTHD_PEER_H

#include <stdbool.h>

/* peer_allowed - whether the client on fd passes socket_peer_users /
 * socket_peer_groups (root always does; empty lists let anyone who can
 * reach the socket in).  A refusal is logged. */
bool peer_allowed(int fd);

/* peer_no_penalty_ok - whether the client on fd may switch the failure
 * delay off (the auth socket's no-penalty): its uid is in
 * auth_no_penalty_users, or its effective or a supplementary group in
 * auth_no_penalty_groups.  Root is not implied; empty lists: nobody. */
bool peer_no_penalty_ok(int fd);

#endif
