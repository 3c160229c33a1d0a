/*
 * name - normalisation of user names and realms into store keys.
 * See name.h for the rule.  Untrusted input: everything passed in.
 */
#include <string.h>

#include "name.h"
#include "utf8.h"

const char *
userdb_name_check_realm(const char *realm, size_t len, char *out)
{
	size_t i;

	if (len == 0)
		return "empty realm";
	if (len > USERDB_REALM_MAX)
		return "realm too long";
	for (i = 0; i < len; i++) {
		char c = realm[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if ((unsigned char)c >= 0x80)
			return "non-ASCII realm: give its IDN (xn--) form, "
			       "as idn2(1) prints it";
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return "invalid character in realm";
		if (c == '.' && (i == 0 || i == len - 1 || realm[i - 1] == '.'))
			return "empty label in realm";
		out[i] = c;
	}
	out[len] = '\0';
	return NULL;
}

const char *
userdb_name_check_new_realm(const char *realm, size_t len)
{
	size_t i, start = 0;

	for (i = 0; i <= len; i++) {
		if (i < len && realm[i] != '.') {
			if (realm[i] == '_')
				return "'_' in realm: a realm is a host name "
				       "(letters, digits, '-')";
			continue;
		}
		if (i - start > 63)
			return "realm label longer than 63 characters";
		if (i > start && (realm[start] == '-' || realm[i - 1] == '-'))
			return "realm label starts or ends with '-'";
		start = i + 1;
	}
	return NULL;
}

static const char *
check_user(const char *user, size_t len, bool fold, char *out)
{
	size_t i;

	if (len == 0)
		return "empty user name";
	if (len > USERDB_USER_MAX)
		return "user name too long";
	if (user[0] == ' ' || user[len - 1] == ' ')
		return "leading or trailing space in user name";
	if (!utf8_valid((const unsigned char *)user, len))
		return "user name is not valid UTF-8";
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)user[i];

		if (c < 0x20 || c == 0x7f)
			return "control character in user name";
		if (c == '@' || c == ':')
			return "'@' or ':' in user name";
		if (fold && c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		out[i] = (char)c;
	}
	out[len] = '\0';
	return NULL;
}

const char *
userdb_name_parse(const char *login, size_t login_len, const char *realm,
		  size_t realm_len, const struct userdb_name_rules *rules,
		  struct userdb_name *name_r)
{
	const char *at = NULL, *why;
	size_t user_len = login_len, i;

	/* Split at the last '@' (libsasl2 does the same). */
	for (i = login_len; i > 0; i--) {
		if (login[i - 1] == '@') {
			at = login + i - 1;
			break;
		}
	}
	if (at != NULL) {
		/* User names cannot hold '@', so a login with one plus a realm
		 * given apart names nobody (saslauthd answers NO there too);
		 * taking either realm would authenticate a name other than the
		 * one the client asked for (libsasl2 reports user@a@b). */
		if (realm != NULL && realm_len > 0)
			return "realm both in the login and given separately";
		user_len = (size_t)(at - login);
		realm = at + 1;
		realm_len = login_len - user_len - 1;
		if (realm_len == 0)
			return "empty realm after '@'";
	} else if (realm == NULL || realm_len == 0) {
		realm = rules->default_realm;
		realm_len = realm != NULL ? strlen(realm) : 0;
		if (realm_len == 0)
			return "no realm given and no default_realm set";
	}
	if ((why = check_user(login, user_len, rules->fold_case,
			      name_r->user)) != NULL)
		return why;
	if ((why = userdb_name_check_realm(realm, realm_len,
					   name_r->realm)) != NULL)
		return why;
	name_r->user_len = user_len;
	name_r->realm_len = realm_len;
	memcpy(name_r->key, name_r->user, user_len);
	name_r->key[user_len] = '@';
	memcpy(name_r->key + user_len + 1, name_r->realm, realm_len + 1);
	name_r->key_len = user_len + 1 + realm_len;
	return NULL;
}
