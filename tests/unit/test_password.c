/*
 * test_password - verifiers made from a password verify it, each on its
 * own, and nothing else; the dummy check never succeeds.
 */
#include "password.h"
#include "test.h"

static const struct userdb_hash_params params = { "sha512-crypt", 1000, 4096 };

int
main(void)
{
	static const unsigned int kinds[] = {
		USERDB_V_CRYPT, USERDB_V_SCRAM_SHA256, USERDB_V_SCRAM_SHA1,
		USERDB_V_CRAM_MD5, USERDB_V_DIGEST_MD5, USERDB_V_CLEARTEXT,
		USERDB_V_DIGEST_MD5_ADDR,
	};
	static const char *pws[] = { "secret", "p\xc3\xa4ss w\xc3\xb6rd",
				     "a:b:c", "x" };
	struct userdb_name_rules r = { NULL, true };
	struct userdb_name name;
	struct userdb_record rec;
	size_t i, k;

	CHECK(userdb_name_parse("alice@example.org", 17, NULL, 0, &r, &name) == NULL,
	      "name parses");
	for (k = 0; k < sizeof(pws) / sizeof(pws[0]); k++) {
		for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
			const char *pw = pws[k], *why;

			userdb_record_init(&rec);
			why = userdb_record_set_password(&rec, &name, pw, strlen(pw),
							 kinds[i], &params);
			CHECK(why == NULL && rec.have == kinds[i],
			      "make kind %#x for password %zu", kinds[i], k);
			CHECK(userdb_verify(&rec, &name, pw, strlen(pw)),
			      "kind %#x verifies password %zu", kinds[i], k);
			CHECK(!userdb_verify(&rec, &name, "secreT", 6),
			      "kind %#x refuses a wrong password", kinds[i]);
			CHECK(!userdb_verify(&rec, &name, pw, strlen(pw) - 1),
			      "kind %#x refuses a prefix", kinds[i]);
			userdb_record_clear(&rec);
		}
	}
	/* DIGEST-MD5 binds the realm: the same hash fails for another one. */
	userdb_record_init(&rec);
	(void)userdb_record_set_password(&rec, &name, "secret", 6,
					 USERDB_V_DIGEST_MD5, &params);
	{
		struct userdb_name other;

		(void)userdb_name_parse("alice@example.net", 17, NULL, 0, &r, &other);
		CHECK(!userdb_verify(&rec, &other, "secret", 6),
		      "DIGEST-MD5 hash is bound to its realm");
	}
	userdb_record_clear(&rec);

	userdb_record_init(&rec);
	CHECK(userdb_record_set_password(&rec, &name, "", 0, USERDB_V_CRYPT,
					 &params) != NULL, "empty password refused");
	CHECK(userdb_record_set_password(&rec, &name, "a\0b", 3, USERDB_V_CRYPT,
					 &params) != NULL, "NUL in password refused");
	CHECK(userdb_record_set_password(&rec, &name, "\x07", 1,
					 USERDB_V_SCRAM_SHA256, &params) != NULL,
	      "SCRAM refuses a password SASLprep prohibits");
	CHECK(userdb_record_set_password(&rec, &name, "secret", 6, 0,
					 &params) != NULL, "no mechanism refused");
	CHECK(!userdb_verify(&rec, &name, "secret", 6),
	      "a record without verifiers verifies nothing");
	CHECK(!userdb_verify_dummy(&params, "secret", 6), "dummy check fails");
	userdb_record_clear(&rec);

	/* The floor of a failed check: set by the dummy's runs, and the pad
	 * waits it out from the start it is given. */
	{
		uint64_t floor = userdb_verify_floor_us(), t0, t1;

		CHECK(floor > 0, "the dummy's runs set a floor (%llu us)",
		      (unsigned long long)floor);
		t0 = userdb_verify_clock_us();
		userdb_verify_pad(t0);
		t1 = userdb_verify_clock_us();
		CHECK(t1 - t0 >= floor, "a failure started now is padded to "
		      "the floor (%llu us)", (unsigned long long)(t1 - t0));
		t0 = userdb_verify_clock_us();
		userdb_verify_pad(t0 - floor - 1000);
		CHECK(userdb_verify_clock_us() - t0 < floor,
		      "one that already took longer is not padded");
	}
	return test_done();
}
