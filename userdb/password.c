/*
 * password - verifier generation and plaintext verification.
 */
#include <crypt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
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

/*
 * The dummy, and the floor under every failed check.
 *
 * A wrong password must cost what an unknown user costs, whatever the
 * record holds: a cleartext, CRAM-MD5 or DIGEST-MD5 record checks in
 * microseconds, a SCRAM one in a PBKDF2 at its stored count, an imported
 * {SHA512-CRYPT} at its own rounds, and older users keep the cost they were
 * hashed with.  Running the dummy after a cheap verifier would cost
 * verifier + dummy, longer than an unknown user by the verifier's time.
 * So every failed check (unknown user, wrong password, locked account) is
 * answered no sooner than FLOOR after its verifier started, where FLOOR is
 * the second longest of the dummy's last DUMMY_SAMPLES wall times: an
 * unknown user takes max(dummy, FLOOR), a cheap record exactly FLOOR, and
 * only the rare dummy (1 in 16 or so) runs past the floor.  The floor
 * follows the dummy's recent runs, so a loaded machine (slower dummies)
 * raises it for both; a quiet one lowers it within DUMMY_SAMPLES unknown
 * users.  The price: a failure takes a little longer than one dummy.
 *
 * A record whose verifier costs a little more than the dummy raises the
 * floor for everybody while it is being probed (FLOOR_CAP below).  What is
 * not covered: one that costs more than FLOOR_CAP dummies (an imported
 * $6$rounds=5000000$) still takes longer than an unknown user.  Raising
 * every unknown-user check to the dearest record in the store would hand
 * attackers that cost for free; authd(8) tells the admin to re-hash such
 * users instead (pwtool passwd).
 */
#define DUMMY_SAMPLES	32

static pthread_mutex_t dummy_lock = PTHREAD_MUTEX_INITIALIZER;
static char *dummy_hash;		/* under dummy_lock */
static char *dummy_scheme;		/* the parameters it was made with */
static unsigned long dummy_cost;
static uint64_t dummy_us[DUMMY_SAMPLES];	/* recent wall times, ring */
static size_t dummy_n, dummy_next;
static uint64_t known_us[DUMMY_SAMPLES];	/* failed real verifiers, ring */
static size_t known_n, known_next;

static uint64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
dummy_sample(uint64_t us)
{
	dummy_us[dummy_next] = us;
	dummy_next = (dummy_next + 1) % DUMMY_SAMPLES;
	if (dummy_n < DUMMY_SAMPLES)
		dummy_n++;
}

/* dummy_make - (re)make the dummy for p; dummy_lock held.  Made from a
 * random password nobody knows, and timed: making a crypt hash costs what
 * verifying one does, which seeds the floor before the first check. */
static void
dummy_make(const struct userdb_hash_params *p)
{
	unsigned char rnd[24];
	char pw[sizeof(rnd) * 2 + 1];
	const char *why = NULL;
	uint64_t t0;
	size_t i;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		memset(rnd, 'x', sizeof(rnd));
	for (i = 0; i < sizeof(rnd); i++)
		pw[2 * i] = (char)('a' + (rnd[i] & 0x0f)),
		pw[2 * i + 1] = (char)('a' + (rnd[i] >> 4));
	pw[sizeof(pw) - 1] = '\0';
	free(dummy_hash);
	free(dummy_scheme);
	dummy_n = dummy_next = 0;
	t0 = mono_us();
	dummy_hash = scheme_crypt_make(p->scheme, p->cost, pw, strlen(pw), &why);
	if (dummy_hash == NULL) {
		log_warnx("cannot make the dummy verifier: %s", why);
		dummy_hash = xstrdup("$6$authd.dummy.salt$");
	} else {
		dummy_sample(mono_us() - t0);
	}
	dummy_scheme = xstrdup(p->scheme);
	dummy_cost = p->cost;
	secret_wipe(pw, sizeof(pw));
	secret_wipe(rnd, sizeof(rnd));
}

/* dummy_current - a copy of the dummy for p into out, remade first when
 * the configured scheme or cost changed (a reload): the dummy must cost
 * what a user added today costs. */
static void
dummy_current(const struct userdb_hash_params *p, char *out, size_t size)
{
	pthread_mutex_lock(&dummy_lock);
	if (dummy_hash == NULL || strcmp(dummy_scheme, p->scheme) != 0 ||
	    dummy_cost != p->cost)
		dummy_make(p);
	(void)snprintf(out, size, "%s", dummy_hash);
	pthread_mutex_unlock(&dummy_lock);
}

void
userdb_verify_dummy_init(const struct userdb_hash_params *p)
{
	char h[CRYPT_OUTPUT_SIZE];

	dummy_current(p, h, sizeof(h));
	/* A second sample, from a verify, before the first client. */
	(void)userdb_verify_dummy(p, "authd-dummy", 11);
}

bool
userdb_verify_dummy(const struct userdb_hash_params *p, const char *pw,
		    size_t len)
{
	char h[CRYPT_OUTPUT_SIZE];
	uint64_t t0;

	dummy_current(p, h, sizeof(h));
	t0 = mono_us();
	(void)scheme_crypt_verify(h, pw, len);
	pthread_mutex_lock(&dummy_lock);
	dummy_sample(mono_us() - t0);
	pthread_mutex_unlock(&dummy_lock);
	return false;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* second_largest - of n samples (sorted in place); 0 for none.  One
 * stall (the thread descheduled) does not hold every failure for 32
 * checks, and when the load rises the floor rises with the first two
 * slower runs. */
static uint64_t
second_largest(uint64_t *v, size_t n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(v[0]), cmp_u64);
	return v[n >= 2 ? n - 2 : 0];
}

/* The floor also rises to the recent failed real verifiers that cost
 * more than the dummy (SCRAM's PBKDF2 against a cheap configured hash, a
 * user hashed before password_cost was lowered), so that these do not
 * stand out either.  That costs an attacker nothing he could not have by
 * probing the dear record itself; but legitimate failures wait too, so
 * only up to FLOOR_CAP times the dummy's median: probing one very dear
 * record (an imported $6$rounds=5000000$) cannot make every failure that
 * slow.  3, because under load (and under ASan) a 4096-iteration PBKDF2
 * against a dummy of similar median cost had a fifth of its runs past
 * twice the dummy's median. */
#define FLOOR_CAP	3

uint64_t
userdb_verify_floor_us(void)
{
	uint64_t d[DUMMY_SAMPLES], k[DUMMY_SAMPLES], fd, fk, cap;
	size_t nd, nk;

	pthread_mutex_lock(&dummy_lock);
	nd = dummy_n;
	memcpy(d, dummy_us, nd * sizeof(d[0]));
	nk = known_n;
	memcpy(k, known_us, nk * sizeof(k[0]));
	pthread_mutex_unlock(&dummy_lock);
	fd = second_largest(d, nd);	/* sorts d */
	fk = second_largest(k, nk);
	cap = nd > 0 ? FLOOR_CAP * d[nd / 2] : 0;
	if (fk > cap)
		fk = cap;
	return fd > fk ? fd : fk;
}

void
userdb_verify_failed(uint64_t start_us)
{
	uint64_t us = mono_us() - start_us;

	pthread_mutex_lock(&dummy_lock);
	known_us[known_next] = us;
	known_next = (known_next + 1) % DUMMY_SAMPLES;
	if (known_n < DUMMY_SAMPLES)
		known_n++;
	pthread_mutex_unlock(&dummy_lock);
}

/* userdb_verify_pad - spins rather than sleeps.  A sleep measured the
 * wrong thing: a thread that wakes from a short sleep right after burning
 * a dummy's worth of CPU waits behind the other runnable tasks, one that
 * burnt nothing is run at once (the scheduler credits sleepers), so on a
 * busy machine an unknown user's failure came back 20-30% later than a
 * cheap record's padded one.  Spinning keeps both CPU-bound to the end,
 * scheduled alike, and makes a cheap record's failure cost the CPU an
 * unknown user's costs anyway (nothing an attacker can multiply). */
void
userdb_verify_pad(uint64_t start_us)
{
	uint64_t until = start_us + userdb_verify_floor_us();

	while (mono_us() < until)
		;
}

uint64_t
userdb_verify_clock_us(void)
{
	return mono_us();
}
