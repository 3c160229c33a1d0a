/*
 * cmd_user - the one-user commands: add, passwd, delete, lock, unlock,
 * show, check.
 *
 * Writers run as one store transaction each (userdb.h); readers use the
 * live file.  The password is read only after the name has been checked,
 * so a typo in the name never costs the admin a password prompt.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pwtool.h"
#include "secret.h"

static int
store_fail(const char *why)
{
	return pwtool_error(PWTOOL_STORE, "%s", why);
}

/* mechs_for - -m if given, else the configured default. */
static int
mechs_for(struct pwtool *pw, unsigned int *mechs_r)
{
	const char *s = pw->mechs_arg != NULL ? pw->mechs_arg :
			config_str(pw->cfg, "pwtool_default_mechs");
	const char *why = userdb_mechs_parse(s, mechs_r);

	if (why != NULL)
		return pwtool_error(PWTOOL_USAGE, "--mechs: %s", why);
	return PWTOOL_OK;
}

int
cmd_add(struct pwtool *pw)
{
	struct userdb_name name;
	struct userdb_record rec;
	struct userdb_txn *txn;
	unsigned int mechs;
	const char *why;
	char *pass;
	size_t len;
	int code;

	if ((code = pwtool_name(pw, &name)) != PWTOOL_OK ||
	    (code = mechs_for(pw, &mechs)) != PWTOOL_OK)
		return code;
	/* Refuse early when the user exists, before asking for a password;
	 * the transaction checks again under the lock. */
	{
		int r = pwtool_lookup(pw, &name, &rec, &why);

		userdb_record_clear(&rec);
		if (r == 1)
			return pwtool_error(PWTOOL_EXISTS,
					    "%s: user exists (use passwd to change it)",
					    name.key);
	}
	if ((pass = password_read(pw, name.key, true, &len, &code)) == NULL)
		return code;
	userdb_record_init(&rec);
	rec.created = (uint64_t)time(NULL);
	if (pw->disabled)
		rec.flags |= USERDB_FLAG_DISABLED;
	why = userdb_record_set_password(&rec, &name, pass, len, mechs, &pw->hash);
	secret_free_str(pass);
	if (why != NULL) {
		userdb_record_clear(&rec);
		return pwtool_error(PWTOOL_INPUT, "%s: %s", name.key, why);
	}
	if ((txn = userdb_txn_begin(&pw->file, &why)) == NULL) {
		userdb_record_clear(&rec);
		return store_fail(why);
	}
	if (userdb_txn_exists(txn, name.key)) {
		userdb_record_clear(&rec);
		userdb_txn_abort(txn);
		return pwtool_error(PWTOOL_EXISTS, "%s: user exists", name.key);
	}
	if (!userdb_txn_put(txn, name.key, &rec, &why)) {
		userdb_record_clear(&rec);
		userdb_txn_abort(txn);
		return store_fail(why);
	}
	userdb_record_clear(&rec);
	return userdb_txn_commit(txn, &why) ? PWTOOL_OK : store_fail(why);
}

/* modify - run one read-modify-write on an existing user in a
 * transaction.  apply() returns an exit code; PWTOOL_OK commits. */
static int
modify(struct pwtool *pw, const struct userdb_name *name,
       int (*apply)(struct pwtool *, const struct userdb_name *,
		    struct userdb_record *, void *), void *ctx)
{
	struct userdb_record rec;
	struct userdb_txn *txn;
	const char *why;
	int r, code;

	if ((txn = userdb_txn_begin(&pw->file, &why)) == NULL)
		return store_fail(why);
	r = userdb_txn_get(txn, name->key, &rec, &why);
	if (r <= 0) {
		userdb_txn_abort(txn);
		return r == 0 ? pwtool_error(PWTOOL_NOT_FOUND, "%s: no such user",
					     name->key) : store_fail(why);
	}
	code = apply(pw, name, &rec, ctx);
	if (code == PWTOOL_OK && !userdb_txn_put(txn, name->key, &rec, &why))
		code = store_fail(why);
	userdb_record_clear(&rec);
	if (code != PWTOOL_OK) {
		userdb_txn_abort(txn);
		return code;
	}
	return userdb_txn_commit(txn, &why) ? PWTOOL_OK : store_fail(why);
}

struct new_password {
	char *pass;
	size_t len;
};

static int
apply_password(struct pwtool *pw, const struct userdb_name *name,
	       struct userdb_record *rec, void *ctx)
{
	struct new_password *np = ctx;
	unsigned int mechs = rec->have;
	const char *why;
	int code;

	/* Keep the user's mechanism set unless -m says otherwise. */
	if (pw->mechs_arg != NULL && (code = mechs_for(pw, &mechs)) != PWTOOL_OK)
		return code;
	why = userdb_record_set_password(rec, name, np->pass, np->len, mechs,
					 &pw->hash);
	if (why != NULL)
		return pwtool_error(PWTOOL_INPUT, "%s: %s", name->key, why);
	return PWTOOL_OK;
}

int
cmd_passwd(struct pwtool *pw)
{
	struct userdb_name name;
	struct userdb_record rec;
	struct new_password np;
	const char *why;
	int code, r;

	if ((code = pwtool_name(pw, &name)) != PWTOOL_OK)
		return code;
	if (pw->mechs_arg != NULL) {
		unsigned int m;

		if ((code = mechs_for(pw, &m)) != PWTOOL_OK)
			return code;
	}
	r = pwtool_lookup(pw, &name, &rec, &why);
	userdb_record_clear(&rec);
	if (r <= 0)
		return r == 0 ? pwtool_error(PWTOOL_NOT_FOUND, "%s: no such user",
					     name.key) : store_fail(why);
	if ((np.pass = password_read(pw, name.key, true, &np.len, &code)) == NULL)
		return code;
	code = modify(pw, &name, apply_password, &np);
	secret_free_str(np.pass);
	return code;
}

static int
apply_lock(struct pwtool *pw, const struct userdb_name *name,
	   struct userdb_record *rec, void *ctx)
{
	if (*(bool *)ctx)
		rec->flags |= USERDB_FLAG_DISABLED;
	else
		rec->flags &= ~USERDB_FLAG_DISABLED;
	rec->changed = (uint64_t)time(NULL);
	return PWTOOL_OK;
}

int
cmd_lock(struct pwtool *pw)
{
	struct userdb_name name;
	bool on = true;
	int code = pwtool_name(pw, &name);

	return code != PWTOOL_OK ? code : modify(pw, &name, apply_lock, &on);
}

int
cmd_unlock(struct pwtool *pw)
{
	struct userdb_name name;
	bool on = false;
	int code = pwtool_name(pw, &name);

	return code != PWTOOL_OK ? code : modify(pw, &name, apply_lock, &on);
}

int
cmd_delete(struct pwtool *pw)
{
	struct userdb_name name;
	struct userdb_txn *txn;
	const char *why;
	int code, r;

	if ((code = pwtool_name(pw, &name)) != PWTOOL_OK)
		return code;
	if ((txn = userdb_txn_begin(&pw->file, &why)) == NULL)
		return store_fail(why);
	r = userdb_txn_delete(txn, name.key, &why);
	if (r <= 0) {
		userdb_txn_abort(txn);
		return r == 0 ? pwtool_error(PWTOOL_NOT_FOUND, "%s: no such user",
					     name.key) : store_fail(why);
	}
	return userdb_txn_commit(txn, &why) ? PWTOOL_OK : store_fail(why);
}

/* crypt_method - a readable name for a crypt(3) string's method. */
static const char *
crypt_method(const char *s)
{
	static const struct { const char *prefix, *name; } m[] = {
		{ "$y$", "yescrypt" }, { "$gy$", "gost-yescrypt" },
		{ "$7$", "scrypt" }, { "$2", "bcrypt" },
		{ "$6$", "sha512-crypt" }, { "$5$", "sha256-crypt" },
		{ "$1$", "md5-crypt" },
	};
	size_t i;

	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (strncmp(s, m[i].prefix, strlen(m[i].prefix)) == 0)
			return m[i].name;
	return "crypt";
}

/* What each verifier lets authd serve (record.h, mechanisms table). */
static void
served_mechs(const struct userdb_record *rec, const char **out, size_t *n)
{
	unsigned int h = rec->have;
	bool clear = h & USERDB_V_CLEARTEXT;

	*n = 0;
	if (h != 0) {
		out[(*n)++] = "PLAIN";
		out[(*n)++] = "LOGIN";
	}
	if (clear || (h & USERDB_V_CRAM_MD5))
		out[(*n)++] = "CRAM-MD5";
	if (clear || (h & (USERDB_V_DIGEST_MD5 | USERDB_V_DIGEST_MD5_ADDR)))
		out[(*n)++] = "DIGEST-MD5";
	/* Not from cleartext: authd would have to run the PBKDF2 when asked,
	 * and its timing would single such users out (mech_scram.c). */
	if (h & USERDB_V_SCRAM_SHA256)
		out[(*n)++] = "SCRAM-SHA-256";
	if (h & USERDB_V_SCRAM_SHA1)
		out[(*n)++] = "SCRAM-SHA-1";
}

/* verifier_names - "yescrypt scram-sha-256(4096) ..." for display. */
static void
verifier_names(const struct userdb_record *rec, const char **out, size_t *n,
	       char iter256[32], char iter1[32])
{
	*n = 0;
	if (rec->have & USERDB_V_CRYPT)
		out[(*n)++] = crypt_method(rec->crypt);
	if (rec->have & USERDB_V_SCRAM_SHA256) {
		snprintf(iter256, 32, "scram-sha-256:%u", rec->scram256.iterations);
		out[(*n)++] = iter256;
	}
	if (rec->have & USERDB_V_SCRAM_SHA1) {
		snprintf(iter1, 32, "scram-sha-1:%u", rec->scram1.iterations);
		out[(*n)++] = iter1;
	}
	if (rec->have & USERDB_V_CRAM_MD5)
		out[(*n)++] = "cram-md5";
	if (rec->have & USERDB_V_DIGEST_MD5)
		out[(*n)++] = "digest-md5";
	if (rec->have & USERDB_V_DIGEST_MD5_ADDR)
		out[(*n)++] = "digest-md5-addr";
	if (rec->have & USERDB_V_CLEARTEXT)
		out[(*n)++] = "cleartext";
}

static void
print_time(FILE *f, const char *label, uint64_t t)
{
	char when[32] = "-";
	time_t tt = (time_t)t;
	struct tm tm;

	if (t != 0 && gmtime_r(&tt, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(f, "%-11s%s\n", label, when);
}

/* pwtool_show_record - one user, as text or as a JSON object. */
void pwtool_show_record(FILE *f, const struct userdb_name *name,
			const struct userdb_record *rec, bool json);

void
pwtool_show_record(FILE *f, const struct userdb_name *name,
		   const struct userdb_record *rec, bool json)
{
	const char *v[8], *m[8];
	char i256[32], i1[32];
	size_t nv, nm, i;

	verifier_names(rec, v, &nv, i256, i1);
	served_mechs(rec, m, &nm);
	if (json) {
		fputs("{\"user\":", f);
		json_string(f, name->user);
		fputs(",\"realm\":", f);
		json_string(f, name->realm);
		fputs(",\"key\":", f);
		json_string(f, name->key);
		fprintf(f, ",\"disabled\":%s,\"created\":%llu,\"changed\":%llu,"
			"\"verifiers\":[", rec->flags & USERDB_FLAG_DISABLED ?
			"true" : "false", (unsigned long long)rec->created,
			(unsigned long long)rec->changed);
		for (i = 0; i < nv; i++) {
			fputs(i ? "," : "", f);
			json_string(f, v[i]);
		}
		fputs("],\"mechanisms\":[", f);
		for (i = 0; i < nm; i++) {
			fputs(i ? "," : "", f);
			json_string(f, m[i]);
		}
		fprintf(f, "],\"password_equivalent\":%s}",
			rec->have & (USERDB_V_CRAM_MD5 | USERDB_V_DIGEST_MD5 |
				     USERDB_V_DIGEST_MD5_ADDR | USERDB_V_CLEARTEXT) ? "true" : "false");
		return;
	}
	fprintf(f, "%-11s%s\n%-11s%s\n%-11s%s\n", "user:", name->user,
		"realm:", name->realm, "key:", name->key);
	fprintf(f, "%-11s%s\n", "status:",
		rec->flags & USERDB_FLAG_DISABLED ? "locked" : "active");
	print_time(f, "created:", rec->created);
	print_time(f, "changed:", rec->changed);
	fprintf(f, "%-11s", "verifiers:");
	for (i = 0; i < nv; i++)
		fprintf(f, "%s%s", i ? " " : "", v[i]);
	fprintf(f, "\n%-11s", "serves:");
	for (i = 0; i < nm; i++)
		fprintf(f, "%s%s", i ? " " : "", m[i]);
	fputc('\n', f);
	if (rec->have & (USERDB_V_CRAM_MD5 | USERDB_V_DIGEST_MD5 |
			 USERDB_V_DIGEST_MD5_ADDR | USERDB_V_CLEARTEXT))
		fprintf(f, "%-11s%s\n", "note:", "holds password-equivalent "
			"verifiers: protect the store like cleartext");
	if (rec->crypt_legacy)
		fprintf(f, "%-11s%s\n", "note:", "weak legacy crypt method: "
			"set a new password");
}

int
cmd_show(struct pwtool *pw)
{
	struct userdb_name name;
	struct userdb_record rec;
	const char *why;
	int code, r;

	if ((code = pwtool_name(pw, &name)) != PWTOOL_OK)
		return code;
	r = pwtool_lookup(pw, &name, &rec, &why);
	if (r <= 0)
		return r == 0 ? pwtool_error(PWTOOL_NOT_FOUND, "%s: no such user",
					     name.key) : store_fail(why);
	pwtool_show_record(stdout, &name, &rec, pw->json);
	if (pw->json)
		putchar('\n');
	userdb_record_clear(&rec);
	return PWTOOL_OK;
}

int
cmd_check(struct pwtool *pw)
{
	struct userdb_name name;
	struct userdb_record rec;
	const char *why;
	char *pass;
	size_t len;
	int code, r;
	bool ok;

	if ((code = pwtool_name(pw, &name)) != PWTOOL_OK)
		return code;
	if ((pass = password_read(pw, name.key, false, &len, &code)) == NULL)
		return code;
	r = pwtool_lookup(pw, &name, &rec, &why);
	if (r <= 0) {
		secret_free_str(pass);
		return r == 0 ? pwtool_error(PWTOOL_NOT_FOUND, "%s: no such user",
					     name.key) : store_fail(why);
	}
	ok = userdb_verify(&rec, &name, pass, len);
	secret_free_str(pass);
	code = rec.flags & USERDB_FLAG_DISABLED ? PWTOOL_DISABLED :
	       ok ? PWTOOL_OK : PWTOOL_VERIFY_FAILED;
	userdb_record_clear(&rec);
	if (code == PWTOOL_DISABLED)
		return pwtool_error(code, "%s: account is locked", name.key);
	if (code == PWTOOL_VERIFY_FAILED)
		return pwtool_error(code, "%s: wrong password", name.key);
	if (pw->json) {
		fputs("{\"key\":", stdout);
		json_string(stdout, name.key);
		fputs(",\"result\":\"ok\"}\n", stdout);
	}
	return PWTOOL_OK;
}
