/*
 * password - from a password to verifiers, and a candidate password
 * against a record.
 *
 * userdb_verify() is what authd's PLAIN/LOGIN and the mux socket call.
 * It checks the strongest verifier the record has, once, and returns a
 * yes/no that took about as long as the verifier costs.  For a user that
 * does not exist, callers run userdb_verify_dummy() instead, which spends
 * the same time on a verifier made with the configured default scheme, so
 * timing does not reveal whether a user exists; and every failure is
 * then padded to the dummy's cost (userdb_verify_pad), so that a record
 * whose verifier is cheaper than the dummy fails no faster.
 */
#ifndef AUTHD_USERDB_PASSWORD_H
#define AUTHD_USERDB_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "name.h"
#include "record.h"

struct userdb_hash_params {
	const char *scheme;		/* yescrypt | sha512-crypt | bcrypt */
	unsigned long cost;		/* 0: libxcrypt's default */
	unsigned int scram_iterations;
};

/* userdb_hash_params_check - NULL if the scheme accepts the cost (0 is
 * always fine), else a static reason. */
const char *userdb_hash_params_check(const struct userdb_hash_params *p);

/* userdb_password_check - NULL if (pw, len) is acceptable as a password:
 * 1..511 bytes, no NUL.  Else a static reason. */
const char *userdb_password_check(const char *pw, size_t len);

/* userdb_record_set_password - replace the record's verifiers with fresh
 * ones for the mechs (USERDB_V_* bits) and set changed= to now.  The
 * DIGEST-MD5 hash binds name->user and name->realm.  NULL or a reason. */
const char *userdb_record_set_password(struct userdb_record *rec,
				       const struct userdb_name *name,
				       const char *pw, size_t len,
				       unsigned int mechs,
				       const struct userdb_hash_params *p);

/* userdb_verify - whether pw matches the record's strongest verifier.
 * Does not look at the disabled flag: callers decide that, after the
 * check, so a locked account costs the same time as any other. */
bool userdb_verify(const struct userdb_record *rec,
		   const struct userdb_name *name, const char *pw, size_t len);

/* userdb_verify_dummy_init - make the dummy verifier with p and time it
 * (two hashes).  Call at start-up; userdb_verify_dummy() makes it lazily
 * otherwise.  Thread-safe, as are the three below. */
void userdb_verify_dummy_init(const struct userdb_hash_params *p);
/* userdb_verify_dummy - spend the time of a real check with a verifier
 * made with p (remade when p's scheme or cost changed), and record how
 * long it took; always false. */
bool userdb_verify_dummy(const struct userdb_hash_params *p, const char *pw,
			 size_t len);

/* userdb_verify_clock_us - the monotonic clock the two below use. */
uint64_t userdb_verify_clock_us(void);
/* userdb_verify_floor_us - the floor of a failed check: the second
 * longest of the dummy's recent wall times, or of recent failed real
 * verifiers if that is longer, up to 3 times the dummy's median (0 before
 * any dummy). */
uint64_t userdb_verify_floor_us(void);
/* userdb_verify_failed - record how long a real verifier that failed took
 * (start_us taken just before it), for the floor. */
void userdb_verify_failed(uint64_t start_us);
/* userdb_verify_pad - spin until start_us + the floor: called after
 * every failed check (start_us taken just before its verifier or the
 * dummy ran), so that a record whose verifier is cheap (cleartext,
 * CRAM-MD5, SCRAM, a weak imported crypt) fails in the time of an
 * unknown user.  Holds the calling thread and a CPU, like the dummy:
 * workers only. */
void userdb_verify_pad(uint64_t start_us);

#endif
