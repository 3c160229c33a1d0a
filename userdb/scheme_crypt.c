/*
 * scheme_crypt - crypt(3) verifiers through libxcrypt.
 *
 * The hash strings come from the store or from import files: both are
 * checked with crypt_checksalt() before use, so a malformed string fails
 * cleanly instead of reaching the hash code.
 */
#include <crypt.h>
#include <string.h>

#include "scheme.h"
#include "secret.h"
#include "xalloc.h"

static const char *
crypt_prefix(const char *scheme)
{
	if (strcmp(scheme, "yescrypt") == 0)
		return "$y$";
	if (strcmp(scheme, "sha512-crypt") == 0)
		return "$6$";
	if (strcmp(scheme, "bcrypt") == 0)
		return "$2b$";
	return NULL;
}

bool
scheme_crypt_cost_ok(const char *scheme, unsigned long cost)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	const char *prefix = crypt_prefix(scheme);

	/* sha512-crypt clamps small round counts to 1000: refuse them rather
	 * than store something other than what was configured. */
	if (prefix == NULL ||
	    (strcmp(scheme, "sha512-crypt") == 0 && cost != 0 && cost < 1000))
		return false;
	return crypt_gensalt_rn(prefix, cost, NULL, 0, setting,
				sizeof(setting)) != NULL;
}

char *
scheme_crypt_make(const char *scheme, unsigned long cost, const char *pw,
		  size_t pw_len, const char **error_r)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	const char *prefix = crypt_prefix(scheme);
	char *pwz, *out = NULL;
	const char *h;

	if (prefix == NULL) {
		*error_r = "unknown password scheme";
		return NULL;
	}
	if (crypt_gensalt_rn(prefix, cost, NULL, 0, setting,
			     sizeof(setting)) == NULL) {
		*error_r = "password_cost is out of range for this scheme";
		return NULL;
	}
	cd = xcalloc(1, sizeof(*cd));
	pwz = xstrndup(pw, pw_len);
	h = crypt_rn(pwz, setting, cd, sizeof(*cd));
	if (h == NULL || h[0] == '*')
		*error_r = "crypt(3) failed";
	else
		out = xstrdup(h);
	secret_free_str(pwz);
	secret_free(cd, sizeof(*cd));
	return out;
}

bool
scheme_crypt_verify(const char *hash, const char *pw, size_t pw_len)
{
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	char *pwz = xstrndup(pw, pw_len);
	const char *h = crypt_rn(pwz, hash, cd, sizeof(*cd));
	size_t n = strlen(hash);
	/* The output has the length of the stored hash when the setting is
	 * valid; lengths are public, so only the bytes are compared in
	 * constant time. */
	bool ok = h != NULL && h[0] != '*' && strlen(h) == n &&
		  secret_equal(h, hash, n);

	secret_free_str(pwz);
	secret_free(cd, sizeof(*cd));
	return ok;
}

/* hash_len_ok - the checksum after the last '$' has the length its method
 * produces, so a truncated hash is refused at import instead of becoming
 * an account nobody can log in to.  Unknown methods are left to libcrypt. */
static bool
hash_len_ok(const char *s, size_t len)
{
	static const struct { const char *prefix; size_t n; } m[] = {
		{ "$y$", 43 }, { "$gy$", 43 }, { "$7$", 43 }, { "$6$", 86 },
		{ "$5$", 43 }, { "$1$", 22 },
	};
	const char *last = s + len;
	size_t i;

	if (len == 60 && s[1] == '2' && s[3] == '$')	/* bcrypt: fixed size */
		return true;
	if (len > 2 && s[1] == '2')
		return false;
	while (last > s && last[-1] != '$')
		last--;
	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (strncmp(s, m[i].prefix, strlen(m[i].prefix)) == 0)
			return (size_t)(s + len - last) == m[i].n;
	return true;
}

const char *
scheme_crypt_check(const char *s, size_t len, bool *legacy_r)
{
	char tmp[CRYPT_OUTPUT_SIZE];
	size_t i;

	*legacy_r = false;
	if (len == 0 || len >= sizeof(tmp))
		return "crypt string empty or too long";
	/* Only modular-crypt strings: 13-character DES hashes would make
	 * almost any word "valid". */
	if (s[0] != '$')
		return "not a $id$ crypt string";
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f ||
		    s[i] == ':')
			return "invalid character in crypt string";
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	switch (crypt_checksalt(tmp)) {
	case CRYPT_SALT_OK:
		return hash_len_ok(tmp, len) ? NULL : "crypt hash has the wrong length";
	case CRYPT_SALT_METHOD_LEGACY:
		*legacy_r = true;
		return hash_len_ok(tmp, len) ? NULL : "crypt hash has the wrong length";
	case CRYPT_SALT_METHOD_DISABLED:
		return "crypt method disabled in this libcrypt";
	default:
		return "not a valid crypt string";
	}
}
