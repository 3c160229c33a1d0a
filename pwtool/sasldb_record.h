/*
 * sasldb_record - one record of a Cyrus SASL sasldb2 file, split into
 * what pwtool import-sasldb needs.
 *
 * Cyrus (lib/sasldb/allockey.c, _sasldb_alloc_key) keys each property of
 * a user as "USER\0REALM\0PROPERTY", without a final NUL, and stores the
 * property's bytes as the value, also without a NUL.  saslpasswd2 writes
 * the property "userPassword" with the cleartext password; the OTP plugin
 * adds "cmusaslsecretOTP", and other auxprop writers may add more.  Only
 * userPassword is a password; the others are reported as such and left
 * alone.
 *
 * Untrusted input: the key and the value, as (pointer, length), any bytes
 * (a sasldb file comes from another system and may be damaged or made up).
 * Everything here is pure: no allocation, no output, no exit.
 */
#ifndef AUTHD_PWTOOL_SASLDB_RECORD_H
#define AUTHD_PWTOOL_SASLDB_RECORD_H

#include <stdbool.h>
#include <stddef.h>

#define SASLDB_PASSWORD_PROP	"userPassword"

struct sasldb_record {
	const char *user, *realm, *prop, *value;	/* into key / value */
	size_t user_len, realm_len, prop_len, value_len;
	bool is_password;	/* prop is userPassword: value is cleartext */
};

/* sasldb_record_parse - split (key, key_len) and (value, value_len) into
 * rec, whose pointers point into them.  Returns NULL, or a static reason
 * when the key is not a sasldb key: fewer than two NUL bytes, a NUL in
 * the property name, an empty user or property name.  The realm may be
 * empty (Cyrus allows it).  What the fields hold is not checked here: the
 * user name, realm and password rules (name.h, password.h) do that. */
const char *sasldb_record_parse(const void *key, size_t key_len,
				const void *value, size_t value_len,
				struct sasldb_record *rec);

/* sasldb_display - (s, n) made safe to print on a terminal or inside a
 * JSON string, into out (size out_size > 0, always NUL-terminated): valid
 * UTF-8 without control characters is copied, anything else is written
 * \xHH, and a backslash as \\.  Cut (at a character boundary) with "..."
 * when out is too small.  Returns out. */
char *sasldb_display(const char *s, size_t n, char *out, size_t out_size);

#endif
