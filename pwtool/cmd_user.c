/*
 * cmd_user - the one-user commands: add, passwd, delete, lock, unlock,
 * show, check.
 *
 * Writers run as one store transaction each (userdb.h); readers use the
 * live file.  The password is read only after the name has been checked,
 * so a typo in the name never costs the admin a password prompt.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pwtool.h"
#include "secret.h"

/* A status that the command line prints on stderr and the batch answers
 * on stdout: one message, one place. */
int
pwtool_status_set(struct pwtool_status *st, int code, const char *fmt, ...)
{
	va_list ap;

	st->code = code;
	va_start(ap, fmt);
	(void)vsnprintf(st->msg, sizeof(st->msg), fmt, ap);
	va_end(ap);
	return code;
}

int
pwtool_status_print(const struct pwtool_status *st)
{
	return st->code == PWTOOL_OK ? PWTOOL_OK :
	       pwtool_error(st->code, "%s", st->msg);
}

static int
store_fail(struct pwtool_status *st, const char *why)
{
	return pwtool_status_set(st, PWTOOL_STORE, "%s", why);
}

/* mechs_for - -m if given, else the configured default. */
static int
mechs_for(struct pwtool *pw, unsigned int *mechs_r, struct pwtool_status *st)
{
	const char *s = pw->mechs_arg != NULL ? pw->mechs_arg :
			config_str(pw->cfg, "pwtool_default_mechs");
	const char *why = userdb_mechs_parse(s, mechs_r);

	if (why != NULL)
		return pwtool_status_set(st, PWTOOL_USAGE, "--mechs: %s", why);
	return PWTOOL_OK;
}

void
pwtool_change_init(struct pwtool_change *c, enum pwtool_change_op op)
{
	memset(c, 0, sizeof(*c));
	c->op = op;
	userdb_record_init(&c->rec);
}

void
pwtool_change_clear(struct pwtool_change *c)
{
	userdb_record_clear(&c->rec);
	if (c->pass != NULL)
		secret_free(c->pass, c->len + 1);
	c->pass = NULL;
	c->hashed = false;
}

/* pwtool_change_name - the user (pw->args[0] with -u) and, for add and
 * passwd, the mechanism set; both are checked before any password is
 * asked for. */
int
pwtool_change_name(struct pwtool *pw, struct pwtool_change *c,
		   struct pwtool_status *st)
{
	int code = pwtool_name_parse(pw, pw->args[0], strlen(pw->args[0]),
				     &c->name, st);

	if (code != PWTOOL_OK)
		return code;
	if (c->op == PWTOOL_CHANGE_ADD) {
		/* New names only: users of realms stored before stay
		 * reachable for passwd, lock and delete. */
		const char *why = userdb_name_check_new_realm(c->name.realm,
							      c->name.realm_len);

		if (why != NULL)
			return pwtool_status_set(st, PWTOOL_INPUT, "%s: %s",
						 pw->args[0], why);
		return mechs_for(pw, &c->mechs, st);
	}
	if (c->op == PWTOOL_CHANGE_PASSWD && pw->mechs_arg != NULL) {
		c->mechs_given = true;
		return mechs_for(pw, &c->mechs, st);
	}
	return PWTOOL_OK;
}

/* pwtool_change_precheck - look at the live store before asking for a
 * password and before hashing: add refuses a user that exists, passwd one
 * that does not, and learns the user's mechanism set (kept unless -m says
 * otherwise), so that the hash is computed before the store is locked.
 * strict false (inside a batch group, where an earlier command of the
 * group may create or delete the user): only learn, never refuse; the
 * transaction decides. */
int
pwtool_change_precheck(struct pwtool *pw, struct pwtool_change *c,
		       bool strict, struct pwtool_status *st)
{
	struct userdb_record rec;
	const char *why;
	int r;

	if (c->op != PWTOOL_CHANGE_ADD && c->op != PWTOOL_CHANGE_PASSWD)
		return PWTOOL_OK;
	r = pwtool_lookup(pw, &c->name, &rec, &why);
	if (r == 1 && c->op == PWTOOL_CHANGE_PASSWD && !c->mechs_given)
		c->mechs = rec.have;
	userdb_record_clear(&rec);
	if (!strict)
		return PWTOOL_OK;
	if (r == 1 && c->op == PWTOOL_CHANGE_ADD)
		return pwtool_status_set(st, PWTOOL_EXISTS, "%s: user exists "
					 "(use passwd to change it)",
					 c->name.key);
	if (r <= 0 && c->op == PWTOOL_CHANGE_PASSWD)
		return r == 0 ? pwtool_status_set(st, PWTOOL_NOT_FOUND,
						  "%s: no such user", c->name.key) :
		       store_fail(st, why);
	return PWTOOL_OK;
}

/* pwtool_change_hash - compute the verifiers now, without the lock.  Takes
 * pass (allocated, len + 1 bytes); add wipes it at once, passwd keeps it
 * until pwtool_change_clear() in case the user's mechanism set changed
 * before the lock was taken (then apply hashes again).  With an unknown
 * set (passwd of a user not yet seen) nothing is hashed here. */
int
pwtool_change_hash(struct pwtool *pw, struct pwtool_change *c, char *pass,
		   size_t len, struct pwtool_status *st)
{
	const char *why;

	c->pass = pass;
	c->len = len;
	if (c->op == PWTOOL_CHANGE_ADD) {
		c->rec.created = (uint64_t)time(NULL);
		if (pw->disabled)
			c->rec.flags |= USERDB_FLAG_DISABLED;
	}
	if (c->mechs == 0 && c->op == PWTOOL_CHANGE_PASSWD)
		return PWTOOL_OK;
	why = userdb_record_set_password(&c->rec, &c->name, pass, len,
					 c->mechs, &pw->hash);
	if (c->op == PWTOOL_CHANGE_ADD) {
		secret_free(c->pass, c->len + 1);
		c->pass = NULL;
	}
	if (why != NULL)
		return pwtool_status_set(st, PWTOOL_INPUT, "%s: %s",
					 c->name.key, why);
	c->hashed = true;
	return PWTOOL_OK;
}

/* apply_passwd - the fresh verifiers onto the stored record: hashed
 * before the lock when the set still matches, else hashed again here
 * (the user's set changed meanwhile, or the user was new to the group). */
static int
apply_passwd(struct pwtool *pw, struct pwtool_change *c,
	     struct userdb_record *rec, struct pwtool_status *st)
{
	struct userdb_record fresh = c->rec;
	const char *why;

	if (c->hashed && (c->mechs_given || rec->have == c->mechs)) {
		fresh.flags = rec->flags;
		fresh.created = rec->created;
		userdb_record_clear(rec);
		*rec = fresh;
		/* rec owns the verifiers now. */
		userdb_record_init(&c->rec);
		c->hashed = false;
		return PWTOOL_OK;
	}
	why = userdb_record_set_password(rec, &c->name, c->pass, c->len,
					 c->mechs_given ? c->mechs : rec->have,
					 &pw->hash);
	if (why != NULL)
		return pwtool_status_set(st, PWTOOL_INPUT, "%s: %s",
					 c->name.key, why);
	return PWTOOL_OK;
}

/* pwtool_change_apply - the change inside txn (the store is locked).
 * Returns an exit code; on failure the caller aborts txn. */
int
pwtool_change_apply(struct pwtool *pw, struct userdb_txn *txn,
		    struct pwtool_change *c, struct pwtool_status *st)
{
	struct userdb_record rec;
	const char *why, *key = c->name.key;
	int r, code = PWTOOL_OK;

	if (c->op == PWTOOL_CHANGE_ADD) {
		if (userdb_txn_exists(txn, key))
			return pwtool_status_set(st, PWTOOL_EXISTS,
						 "%s: user exists", key);
		if (!c->hashed)
			return pwtool_status_set(st, PWTOOL_INPUT,
						 "%s: no password", key);
		if (!userdb_txn_put(txn, key, &c->rec, &why))
			return store_fail(st, why);
		pwtool_record_summary(&c->rec, c->summary, sizeof(c->summary));
		return PWTOOL_OK;
	}
	if (c->op == PWTOOL_CHANGE_DELETE) {
		r = userdb_txn_delete(txn, key, &why);
		if (r <= 0)
			return r == 0 ? pwtool_status_set(st, PWTOOL_NOT_FOUND,
							  "%s: no such user", key) :
			       store_fail(st, why);
		return PWTOOL_OK;
	}
	r = userdb_txn_get(txn, key, &rec, &why);
	if (r <= 0)
		return r == 0 ? pwtool_status_set(st, PWTOOL_NOT_FOUND,
						  "%s: no such user", key) :
		       store_fail(st, why);
	if (c->op == PWTOOL_CHANGE_PASSWD) {
		code = apply_passwd(pw, c, &rec, st);
	} else {
		if (c->op == PWTOOL_CHANGE_LOCK)
			rec.flags |= USERDB_FLAG_DISABLED;
		else
			rec.flags &= ~USERDB_FLAG_DISABLED;
		rec.changed = (uint64_t)time(NULL);
	}
	if (code == PWTOOL_OK && !userdb_txn_put(txn, key, &rec, &why))
		code = store_fail(st, why);
	if (code == PWTOOL_OK)
		pwtool_record_summary(&rec, c->summary, sizeof(c->summary));
	userdb_record_clear(&rec);
	return code;
}

/* change_command - the command's canonical name (not an alias typed). */
static const char *
change_command(enum pwtool_change_op op)
{
	static const char *const name[] = {
		[PWTOOL_CHANGE_ADD] = "add",
		[PWTOOL_CHANGE_PASSWD] = "passwd",
		[PWTOOL_CHANGE_DELETE] = "delete",
		[PWTOOL_CHANGE_LOCK] = "lock",
		[PWTOOL_CHANGE_UNLOCK] = "unlock",
	};

	return name[op];
}

/* run_change - one change as its own transaction (the command line);
 * with --json, a success object once the change is committed. */
static int
run_change(struct pwtool *pw, struct pwtool_change *c)
{
	struct pwtool_status st = { 0, "" };
	struct userdb_txn *txn;
	const char *why;

	if ((txn = userdb_txn_begin(&pw->file, &why)) == NULL) {
		store_fail(&st, why);
	} else if (pwtool_change_apply(pw, txn, c, &st) != PWTOOL_OK) {
		userdb_txn_abort(txn);
	} else if (!userdb_txn_commit(txn, &why)) {
		store_fail(&st, why);
	}
	if (st.code == PWTOOL_OK && pw->json) {
		fprintf(pw->out, "{\"ok\":true,\"command\":\"%s\",\"key\":",
			change_command(c->op));
		json_string(pw->out, c->name.key);
		fprintf(pw->out, "%s%s}\n", c->summary[0] != '\0' ? "," : "",
			c->summary);
	}
	pwtool_change_clear(c);
	return pwtool_status_print(&st);
}

/* set_password - add and passwd: name, precheck, password, hash (all
 * before the lock), then the transaction. */
static int
set_password(struct pwtool *pw, enum pwtool_change_op op)
{
	struct pwtool_status st = { 0, "" };
	struct pwtool_change c;
	char *pass;
	size_t len;
	int code;

	pwtool_change_init(&c, op);
	if (pwtool_change_name(pw, &c, &st) != PWTOOL_OK ||
	    pwtool_change_precheck(pw, &c, true, &st) != PWTOOL_OK)
		return pwtool_status_print(&st);
	if ((pass = password_read(pw, c.name.key, true, &len, &code)) == NULL)
		return code;
	if (pwtool_change_hash(pw, &c, pass, len, &st) != PWTOOL_OK) {
		pwtool_change_clear(&c);
		return pwtool_status_print(&st);
	}
	return run_change(pw, &c);
}

int
cmd_add(struct pwtool *pw)
{
	return set_password(pw, PWTOOL_CHANGE_ADD);
}

int
cmd_passwd(struct pwtool *pw)
{
	return set_password(pw, PWTOOL_CHANGE_PASSWD);
}

static int
simple_change(struct pwtool *pw, enum pwtool_change_op op)
{
	struct pwtool_status st = { 0, "" };
	struct pwtool_change c;

	pwtool_change_init(&c, op);
	if (pwtool_change_name(pw, &c, &st) != PWTOOL_OK)
		return pwtool_status_print(&st);
	return run_change(pw, &c);
}

int
cmd_lock(struct pwtool *pw)
{
	return simple_change(pw, PWTOOL_CHANGE_LOCK);
}

int
cmd_unlock(struct pwtool *pw)
{
	return simple_change(pw, PWTOOL_CHANGE_UNLOCK);
}

int
cmd_delete(struct pwtool *pw)
{
	return simple_change(pw, PWTOOL_CHANGE_DELETE);
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

/* time_word - "2026-12-04T19:30:00Z", or "-" for none. */
static void
time_word(uint64_t t, char when[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	when[0] = '-';
	when[1] = '\0';
	if (t != 0 && gmtime_r(&tt, &tm) != NULL)
		strftime(when, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
pwtool_show_line(FILE *f, const struct userdb_record *rec)
{
	const char *v[8], *m[8];
	char i256[32], i1[32], created[32], changed[32];
	size_t nv, nm, i;

	verifier_names(rec, v, &nv, i256, i1);
	served_mechs(rec, m, &nm);
	time_word(rec->created, created);
	time_word(rec->changed, changed);
	fprintf(f, "status=%s created=%s changed=%s verifiers=",
		rec->flags & USERDB_FLAG_DISABLED ? "locked" : "active",
		created, changed);
	for (i = 0; i < nv; i++)
		fprintf(f, "%s%s", i ? "," : "", v[i]);
	fputs(" mechanisms=", f);
	for (i = 0; i < nm; i++)
		fprintf(f, "%s%s", i ? "," : "", m[i]);
}

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
			"\"verifiers\":", rec->flags & USERDB_FLAG_DISABLED ?
			"true" : "false", (unsigned long long)rec->created,
			(unsigned long long)rec->changed);
		json_string_array(f, v, nv);
		fputs(",\"mechanisms\":", f);
		json_string_array(f, m, nm);
		fprintf(f, ",\"password_equivalent\":%s}",
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

void
pwtool_record_summary(const struct userdb_record *rec, char *out,
		      size_t size)
{
	const char *v[8], *m[8];
	char i256[32], i1[32];
	size_t nv, nm;
	FILE *f;

	out[0] = '\0';
	if ((f = fmemopen(out, size, "w")) == NULL)
		return;
	verifier_names(rec, v, &nv, i256, i1);
	served_mechs(rec, m, &nm);
	fprintf(f, "\"disabled\":%s,\"verifiers\":",
		rec->flags & USERDB_FLAG_DISABLED ? "true" : "false");
	json_string_array(f, v, nv);
	fputs(",\"mechanisms\":", f);
	json_string_array(f, m, nm);
	/* Too long for out (it is not: at most 7 + 6 short names) would be
	 * a cut, invalid member list: then none at all. */
	if (ferror(f) || ftell(f) >= (long)size - 1)
		out[0] = '\0';
	fclose(f);
}

/* pwtool_user_get - the live record of name: 0 (rec filled), or
 * PWTOOL_NOT_FOUND / PWTOOL_STORE with st set. */
int
pwtool_user_get(struct pwtool *pw, const struct userdb_name *name,
		struct userdb_record *rec, struct pwtool_status *st)
{
	const char *why;
	int r = pwtool_lookup(pw, name, rec, &why);

	if (r <= 0) {
		userdb_record_clear(rec);
		return r == 0 ? pwtool_status_set(st, PWTOOL_NOT_FOUND,
						  "%s: no such user", name->key) :
		       store_fail(st, why);
	}
	return PWTOOL_OK;
}

int
cmd_show(struct pwtool *pw)
{
	struct pwtool_status st = { 0, "" };
	struct userdb_name name;
	struct userdb_record rec;

	if (pwtool_name_parse(pw, pw->args[0], strlen(pw->args[0]), &name,
			      &st) != PWTOOL_OK ||
	    pwtool_user_get(pw, &name, &rec, &st) != PWTOOL_OK)
		return pwtool_status_print(&st);
	pwtool_show_record(pw->out, &name, &rec, pw->json);
	if (pw->json)
		fputc('\n', pw->out);
	userdb_record_clear(&rec);
	return PWTOOL_OK;
}

/* pwtool_check_password - verify (pass, len) for name against the live
 * store: 0, or 1 (wrong), 3, 5, 7 (locked) with st set. */
int
pwtool_check_password(struct pwtool *pw, const struct userdb_name *name,
		      const char *pass, size_t len, struct pwtool_status *st)
{
	struct userdb_record rec;
	bool ok;
	int code;

	if ((code = pwtool_user_get(pw, name, &rec, st)) != PWTOOL_OK)
		return code;
	ok = userdb_verify(&rec, name, pass, len);
	code = rec.flags & USERDB_FLAG_DISABLED ? PWTOOL_DISABLED :
	       ok ? PWTOOL_OK : PWTOOL_VERIFY_FAILED;
	userdb_record_clear(&rec);
	if (code == PWTOOL_DISABLED)
		return pwtool_status_set(st, code, "%s: account is locked",
					 name->key);
	if (code == PWTOOL_VERIFY_FAILED)
		return pwtool_status_set(st, code, "%s: wrong password",
					 name->key);
	return PWTOOL_OK;
}

int
cmd_check(struct pwtool *pw)
{
	struct pwtool_status st = { 0, "" };
	struct userdb_name name;
	char *pass;
	size_t len;
	int code;

	if (pwtool_name_parse(pw, pw->args[0], strlen(pw->args[0]), &name,
			      &st) != PWTOOL_OK)
		return pwtool_status_print(&st);
	if ((pass = password_read(pw, name.key, false, &len, &code)) == NULL)
		return code;
	code = pwtool_check_password(pw, &name, pass, len, &st);
	secret_free(pass, len + 1);
	if (code != PWTOOL_OK)
		return pwtool_status_print(&st);
	if (pw->json) {
		fputs("{\"key\":", pw->out);
		json_string(pw->out, name.key);
		fputs(",\"result\":\"ok\"}\n", pw->out);
	}
	return PWTOOL_OK;
}
