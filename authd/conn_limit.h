/*
 * conn_limit - who may open one more connection to authd: the total
 * (max_connections), each socket's own limit (mux_max_connections,
 * auth_max_connections: long-lived auth connections cannot take the
 * slots the mux clients need, nor the other way round) and each local
 * user's (max_connections_per_uid, by SO_PEERCRED).  Refusals are logged
 * at once, then at most once per CONN_LIMIT_LOG_MS with how many there
 * were.  When most connections have gone, freed memory goes back to the
 * system (malloc_trim).
 *
 * Untrusted input: none (the kernel reports the peer's uid).
 */
#ifndef AUTHD_CONN_LIMIT_H
#define AUTHD_CONN_LIMIT_H

#include <stdbool.h>
#include <sys/types.h>

enum conn_kind { CONN_KIND_MUX, CONN_KIND_AUTH };

/* What one admitted connection holds; handed back by conn_limit_release. */
struct conn_slot {
	enum conn_kind kind;
	uid_t uid;
	bool per_uid;		/* counted against its uid */
	bool taken;
};

/* conn_limit_admit - whether the client on fd may connect to the kind
 * socket: if so, the slot is counted (and *slot_r says what to give back);
 * if not, the refusal is logged (rate-limited) and false returned. */
bool conn_limit_admit(int fd, enum conn_kind kind, struct conn_slot *slot_r);
/* conn_limit_release - the connection of slot is gone (again: no-op). */
void conn_limit_release(struct conn_slot *slot);
/* conn_limit_count - open connections of one socket. */
unsigned int conn_limit_count(enum conn_kind kind);

#endif
