/*
 * name - the one rule that turns what a client or an admin typed into a
 * store key.  Every path that receives a user (pwtool arguments, the mux
 * login and realm fields, SASL authcid/authzid, DIGEST-MD5 realm) calls
 * userdb_name_parse(), so the rule cannot drift between them.
 *
 * The rule (documented in pwtool(8) and authd.conf(5)):
 *  - "user@realm" is split at the LAST '@', as libsasl2 does; a realm given
 *    separately (pwtool -u, the mux realm field) is used when the login has
 *    no '@', and a login with '@' plus a separate realm is refused (it can
 *    name no user).  No realm at all means default_realm; if that is unset
 *    the name is refused: never the short host name.
 *  - realm: 1..253 bytes of ASCII letters, digits, '-', '_' and '.', no
 *    empty label; lower-cased.
 *  - user: 1..255 bytes of valid UTF-8; no control characters, no '@',
 *    no ':', no leading or trailing space.  ASCII letters are lower-cased
 *    when username_fold_case is on (the default); other bytes are kept.
 *  - key: user "@" realm.
 * Input is untrusted: (pointer, length), never assumed NUL-terminated.
 */
#ifndef AUTHD_USERDB_NAME_H
#define AUTHD_USERDB_NAME_H

#include <stdbool.h>
#include <stddef.h>

#define USERDB_USER_MAX		255
#define USERDB_REALM_MAX	253
#define USERDB_KEY_MAX		(USERDB_USER_MAX + 1 + USERDB_REALM_MAX)

struct userdb_name {
	char user[USERDB_USER_MAX + 1];
	char realm[USERDB_REALM_MAX + 1];
	char key[USERDB_KEY_MAX + 1];
	size_t user_len, realm_len, key_len;
};

struct userdb_name_rules {
	const char *default_realm;	/* "" or NULL: none */
	bool fold_case;
};

/* userdb_name_parse - normalise login (and realm, used only when login has
 * no '@'; may be NULL/0).  Returns NULL on success or a static reason. */
const char *userdb_name_parse(const char *login, size_t login_len,
			      const char *realm, size_t realm_len,
			      const struct userdb_name_rules *rules,
			      struct userdb_name *name_r);

/* userdb_name_check_realm - validate and lower-case a realm into out
 * (room for USERDB_REALM_MAX + 1).  Returns NULL or a static reason. */
const char *userdb_name_check_realm(const char *realm, size_t len, char *out);

/* userdb_name_check_new_realm - the stricter rule for realms pwtool puts
 * into the store (add, import): a host name, LDH labels of 1 to 63
 * characters that neither start nor end with '-', no '_'.  Lookups stay
 * with userdb_name_check_realm, so realms stored before keep working.
 * realm is already checked and lower-cased.  NULL or a static reason. */
const char *userdb_name_check_new_realm(const char *realm, size_t len);


#endif
