/*
 * test_authp - the auth-client protocol codec (proto/authp.c): line
 * splitting with and without a CR before the LF, the request id grammar
 * (a non-zero 32-bit number in canonical decimal, as only such an id can
 * be answered), and AUTH parsing on lines that end in CR.
 */
#include "authp.h"
#include "test.h"

static void
test_split(void)
{
	static const struct {
		const char *in;
		int n;
		const char *last;	/* the last field */
	} cases[] = {
		{ "CPID\t42", 2, "42" },
		{ "CPID\t42\r", 2, "42" },
		{ "CPID\t42\r\r", 2, "42\r" },
		{ "CPID\t4\r2", 2, "4\r2" },
		{ "\r", 1, "" },
		{ "", 1, "" },
		{ "CONT\t1\t\r", 3, "" },
		{ "VERSION\t1\t2\r", 3, "2" },
	};
	char line[64], *f[AUTHP_MAX_FIELDS];
	size_t lens[AUTHP_MAX_FIELDS], i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].in);
		int n;

		memcpy(line, cases[i].in, len + 1);
		n = authp_split(line, len, f, lens, AUTHP_MAX_FIELDS);
		CHECK(n == cases[i].n && strcmp(f[n - 1], cases[i].last) == 0 &&
		      lens[n - 1] == strlen(cases[i].last),
		      "split case %zu: %d fields, the last one as expected "
		      "(one CR before the LF is not part of the line)", i, n);
	}
}

static void
test_ids(void)
{
	static const struct {
		const char *in;
		bool ok;
		uint32_t id;
	} cases[] = {
		{ "1", true, 1 },
		{ "42", true, 42 },
		{ "4294967295", true, 4294967295u },
		{ "0", false, 0 },
		{ "00", false, 0 },
		{ "007", false, 0 },
		{ "4294967296", false, 0 },
		{ "18446744073709551616", false, 0 },
		{ "99999999999999999999999", false, 0 },
		{ "+1", false, 0 },
		{ "-1", false, 0 },
		{ "", false, 0 },
		{ " 1", false, 0 },
		{ "1 ", false, 0 },
		{ "1x", false, 0 },
		{ "0x10", false, 0 },
		{ "1\r", false, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t id = 0;
		bool ok = authp_parse_id(cases[i].in, &id);

		CHECK(ok == cases[i].ok && (!ok || id == cases[i].id),
		      "id \"%s\" %s", cases[i].in,
		      cases[i].ok ? "accepted" : "refused");
	}
}

static void
test_auth(void)
{
	char line[] = "AUTH\t7\tPLAIN\tservice=smtp\tresp=AGEAYg==\r";
	char bad[] = "AUTH\t0\tPLAIN\tservice=smtp";
	char *f[AUTHP_MAX_FIELDS];
	size_t lens[AUTHP_MAX_FIELDS];
	struct authp_auth a;
	bool id_ok;
	int n;

	n = authp_split(line, strlen(line), f, lens, AUTHP_MAX_FIELDS);
	CHECK(n == 5 && authp_parse_auth(f, lens, n, &a, &id_ok) == NULL &&
	      id_ok && a.id == 7 && a.has_resp && a.resp_len == 8 &&
	      strcmp(a.resp, "AGEAYg==") == 0,
	      "AUTH ending in CR: resp= without the CR");
	n = authp_split(bad, strlen(bad), f, lens, AUTHP_MAX_FIELDS);
	CHECK(authp_parse_auth(f, lens, n, &a, &id_ok) != NULL && !id_ok,
	      "AUTH with id 0: refused, and the id is not one to answer");
}

int
main(void)
{
	test_split();
	test_ids();
	test_auth();
	return test_done();
}
