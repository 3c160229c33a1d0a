/*
 * password - verifier generation and plaintext verification.
 */
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "digest.h"
#include "digest_md5.h"
#include "log.h"
#include "password.h"
#include "scheme.h"
#include "secret.h"
#include "xalloc.h"

/* digest_md5_hash - the store's DIGEST-MD5 verifier H(user:realm:pw)
 * (proto/sasl/digest_md5.h: names that ISO-8859-1 cannot carry are hashed
 * as UTF-8); NULL or a static reason. */
static const char *
digest_md5_hash(const char *user, const char *realm, const char *pw,
		size_t len, unsigned char out[16])
{
	if (digest_md5_urp(user, strlen(user), realm, strlen(realm), pw, len,
			   false, out) != DIGEST_MD5_OK)
		return "DIGEST-MD5 hash failed (out of memory, or no MD5)";
	return NULL;
}

const char *
userdb_hash_params_check(const struct userdb_hash_params *p)
{
	if (!scheme_crypt_cost_ok(p->scheme, p->cost))
		return "out of range for password_scheme (yescrypt 1..11, "
		       "sha512-crypt 1000..999999999, bcrypt 4..31; 0: default)";
	return NULL;
}

const char *
userdb_password_check(const char *pw, size_t len)
{
	if (len == 0)
		return "empty password";
	if (len > USERDB_PASSWORD_MAX)
		return "password longer than 511 bytes";
	if (memchr(pw, '\0', len) != NULL)
		return "NUL byte in password";
	return NULL;
}

const char *
userdb_record_set_password(struct userdb_record *rec,
			   const struct userdb_name *name, const char *pw,
			   size_t len, unsigned int mechs,
			   const struct userdb_hash_params *p)
{
	struct userdb_record fresh;
	const char *why = userdb_password_check(pw, len);

	if (why != NULL)
		return why;
	if (mechs == 0)
		return "no mechanism selected";
	userdb_record_init(&fresh);
	if ((mechs & USERDB_V_CRYPT) &&
	    (fresh.crypt = scheme_crypt_make(p->scheme, p->cost, pw, len,
					     &why)) == NULL)
		goto fail;
	if ((mechs & USERDB_V_SCRAM_SHA256) &&
	    !scheme_scram_make(SCRAM_SHA256, pw, len, p->scram_iterations,
			       &fresh.scram256, &why))
		goto fail;
	if ((mechs & USERDB_V_SCRAM_SHA1) &&
	    !scheme_scram_make(SCRAM_SHA1, pw, len, p->scram_iterations,
			       &fresh.scram1, &why))
		goto fail;
	if (mechs & USERDB_V_CRAM_MD5)
		scheme_cram_md5_context(pw, len, fresh.cram_md5);
	if ((mechs & USERDB_V_DIGEST_MD5) &&
	    (why = digest_md5_hash(name->user, name->realm, pw, len,
				   fresh.digest_md5)) != NULL)
		goto fail;
	/* Clients configured with the whole address (curl, swaks, gsasl)
	 * send it as the DIGEST-MD5 user name: a second hash serves them. */
	if ((mechs & USERDB_V_DIGEST_MD5_ADDR) &&
	    (why = digest_md5_hash(name->key, name->realm, pw, len,
				   fresh.digest_md5_addr)) != NULL)
		goto fail;
	if (mechs & USERDB_V_CLEARTEXT) {
		fresh.plain = xstrndup(pw, len);
		fresh.plain_len = len;
	}
	fresh.have = mechs;
	fresh.flags = rec->flags;
	fresh.created = rec->created;
	fresh.changed = (uint64_t)time(NULL);
	userdb_record_clear(rec);
	*rec = fresh;
	return NULL;
fail:
	userdb_record_clear(&fresh);
	return why;
}

bool
userdb_verify(const struct userdb_record *rec, const struct userdb_name *name,
	      const char *pw, size_t len)
{
	unsigned char d[CRAM_MD5_CONTEXT_LEN];
	bool ok;

	if (userdb_password_check(pw, len) != NULL)
		return false;
	/* Strongest first; exactly one verifier is checked. */
	if (rec->have & USERDB_V_CRYPT)
		return scheme_crypt_verify(rec->crypt, pw, len);
	if (rec->have & USERDB_V_SCRAM_SHA256)
		return scheme_scram_verify(SCRAM_SHA256, &rec->scram256, pw, len);
	if (rec->have & USERDB_V_SCRAM_SHA1)
		return scheme_scram_verify(SCRAM_SHA1, &rec->scram1, pw, len);
	if (rec->have & USERDB_V_CLEARTEXT) {
		/* Hash both sides so the comparison has a fixed length. */
		unsigned char a[32], b[32];

		ok = digest_sha256_buf(pw, len, a) &&
		     digest_sha256_buf(rec->plain, rec->plain_len, b) &&
		     secret_equal(a, b, sizeof(a));
		secret_wipe(a, sizeof(a));
		secret_wipe(b, sizeof(b));
		return ok;
	}
	if (rec->have & USERDB_V_CRAM_MD5) {
		scheme_cram_md5_context(pw, len, d);
		ok = secret_equal(d, rec->cram_md5, CRAM_MD5_CONTEXT_LEN);
		secret_wipe(d, sizeof(d));
		return ok;
	}
	if (rec->have & USERDB_V_DIGEST_MD5) {
		ok = digest_md5_hash(name->user, name->realm, pw, len, d) ==
		     NULL && secret_equal(d, rec->digest_md5, 16);
		secret_wipe(d, sizeof(d));
		return ok;
	}
	if (rec->have & USERDB_V_DIGEST_MD5_ADDR) {
		ok = digest_md5_hash(name->key, name->realm, pw, len, d) ==
		     NULL && secret_equal(d, rec->digest_md5_addr, 16);
		secret_wipe(d, sizeof(d));
		return ok;
	}
	return false;
}

static char *dummy_hash;

void
userdb_verify_dummy_init(const struct userdb_hash_params *p)
{
	unsigned char rnd[24];
	char pw[sizeof(rnd) * 2 + 1];
	const char *why = NULL;
	size_t i;

	if (dummy_hash != NULL)
		return;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		memset(rnd, 'x', sizeof(rnd));
	for (i = 0; i < sizeof(rnd); i++)
		pw[2 * i] = (char)('a' + (rnd[i] & 0x0f)),
		pw[2 * i + 1] = (char)('a' + (rnd[i] >> 4));
	pw[sizeof(pw) - 1] = '\0';
	dummy_hash = scheme_crypt_make(p->scheme, p->cost, pw, strlen(pw), &why);
	if (dummy_hash == NULL) {
		log_warnx("cannot make the dummy verifier: %s", why);
		dummy_hash = xstrdup("$6$authd.dummy.salt$");
	}
	secret_wipe(pw, sizeof(pw));
	secret_wipe(rnd, sizeof(rnd));
}

bool
userdb_verify_dummy(const struct userdb_hash_params *p, const char *pw,
		    size_t len)
{
	userdb_verify_dummy_init(p);
	(void)scheme_crypt_verify(dummy_hash, pw, len);
	return false;
}
