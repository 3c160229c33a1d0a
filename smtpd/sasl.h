/*
 * sasl - authd-smtpd's one connection to authd's auth socket (libauthd's
 * non-blocking API), shared by every SMTP session of the process: many
 * AUTH exchanges in flight on one socket, as Postfix does with Dovecot.
 *
 * The connection is made at start-up and again, lazily, whenever it is
 * needed after authd went away: an AUTH while authd is unreachable gets
 * 454 (the session asks sasl_begin and gets NULL, or its exchange ends
 * with an error), and the first AUTH after authd is back works.  The
 * mechanism list announced in EHLO is the last one authd sent (PLAIN and
 * LOGIN until authd was first reached).
 *
 * Untrusted input: none here (libauthd parses authd's lines).
 */
#ifndef AUTHD_SMTPD_SASL_H
#define AUTHD_SMTPD_SASL_H

#include <stdbool.h>
#include <stddef.h>

#include "authd.h"
#include "loop.h"

/* sasl_init - connect (in the background) to socket_path; result is
 * called for every session whose status changes, with the pointer the
 * session was begun with. */
void sasl_init(struct loop *l, const char *socket_path, unsigned int timeout_ms,
	       void (*result)(void *owner, struct authd_session *as));
void sasl_shutdown(void);
/* sasl_poke - reconnect in the background if the connection is down
 * (called at EHLO, so the mechanism list is fresh by AUTH). */
void sasl_poke(void);
/* sasl_mechs - the mechanisms without any of refuse_flags, space
 * separated, into buf; false if there are none. */
bool sasl_mechs(unsigned int refuse_flags, char *buf, size_t len);
/* sasl_mech_ok - whether mech (any case) is announced and has none of
 * refuse_flags; its canonical name in *name_r. */
bool sasl_mech_ok(const char *mech, size_t len, unsigned int refuse_flags,
		  const char **name_r);
/* sasl_begin - a new authd session for owner, or NULL when authd cannot
 * be reached now.  Free it with authd_session_free(). */
struct authd_session *sasl_begin(const char *mech, void *owner);
/* sasl_kick - after authd_session_send_start/_step: watch for the output
 * libauthd could not write at once, and for the new deadline. */
void sasl_kick(void);

#endif
