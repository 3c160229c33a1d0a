/*
 * test_name - the user@realm normalisation rule, table-driven.
 */
#include "name.h"
#include "test.h"

struct name_case {
	const char *login, *realm, *def;
	int fold;
	const char *want;	/* key, or NULL when refused */
};

static const struct name_case cases[] = {
	{ "alice@example.org", NULL, NULL, 1, "alice@example.org" },
	{ "Alice@Example.ORG", NULL, NULL, 1, "alice@example.org" },
	{ "Alice@Example.ORG", NULL, NULL, 0, "Alice@example.org" },
	{ "alice", "example.org", NULL, 1, "alice@example.org" },
	{ "alice", NULL, "default.test", 1, "alice@default.test" },
	{ "alice", "", "default.test", 1, "alice@default.test" },
	{ "alice@x.org", "other.org", NULL, 1, NULL },
	{ "alice@x.org", "", NULL, 1, "alice@x.org" },
	{ "alice", NULL, NULL, 1, NULL },
	{ "alice", NULL, "", 1, NULL },
	{ "a@b@example.org", NULL, NULL, 1, NULL },	/* '@' in user */
	{ "alice@", NULL, "d.test", 1, NULL },
	{ "@example.org", NULL, NULL, 1, NULL },
	{ "al ice@example.org", NULL, NULL, 1, "al ice@example.org" },
	{ " alice@example.org", NULL, NULL, 1, NULL },
	{ "alice @example.org", NULL, NULL, 1, NULL },
	{ "al:ice@example.org", NULL, NULL, 1, NULL },
	{ "al\tice@example.org", NULL, NULL, 1, NULL },
	{ "al\x7f" "ice@example.org", NULL, NULL, 1, NULL },
	{ "j\xc3\xb6rg@example.org", NULL, NULL, 1, "j\xc3\xb6rg@example.org" },
	{ "J\xc3\x96RG@example.org", NULL, NULL, 1, "j\xc3\x96rg@example.org" },
	{ "\xff@example.org", NULL, NULL, 1, NULL },
	{ "\xc0\xaf@example.org", NULL, NULL, 1, NULL },	/* overlong */
	{ "\xed\xa0\x80@example.org", NULL, NULL, 1, NULL },	/* surrogate */
	{ "alice@exa mple.org", NULL, NULL, 1, NULL },
	{ "alice@example..org", NULL, NULL, 1, NULL },
	{ "alice@.example.org", NULL, NULL, 1, NULL },
	{ "alice@example.org.", NULL, NULL, 1, NULL },
	{ "alice@mail_1-x.example", NULL, NULL, 1, "alice@mail_1-x.example" },
};

int
main(void)
{
	struct userdb_name n;
	char longuser[300], login[600];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct name_case *c = &cases[i];
		struct userdb_name_rules r = { c->def, c->fold != 0 };
		const char *why = userdb_name_parse(c->login, strlen(c->login),
						    c->realm,
						    c->realm ? strlen(c->realm) : 0,
						    &r, &n);

		if (c->want == NULL)
			CHECK(why != NULL, "refused: case %zu", i);
		else if (why != NULL)
			CHECK(0, "case %zu refused: %s", i, why);
		else
			CHECK_STR(n.key, c->want, "case %zu key", i);
	}

	/* New realms (pwtool add, import) are host names; lookups keep the
	 * older rule, so the '_' realm of the cases above stays reachable. */
	CHECK(userdb_name_check_new_realm("mail-1.example", 14) == NULL,
	      "new realm: LDH is fine");
	CHECK(userdb_name_check_new_realm("mail_1-x.example", 16) != NULL,
	      "new realm: '_' is refused");
	CHECK(userdb_name_check_new_realm("-a.example", 10) != NULL &&
	      userdb_name_check_new_realm("a-.example", 10) != NULL &&
	      userdb_name_check_new_realm("a.example-", 10) != NULL,
	      "new realm: a label starting or ending with '-' is refused");
	CHECK(userdb_name_check_new_realm(
		      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.org",
		      68) != NULL, "new realm: a 64-character label is refused");
	CHECK(userdb_name_check_new_realm("xn--bcher-kva.de", 16) == NULL,
	      "new realm: an IDN A-label is fine");

	/* Limits: 255-byte user and 253-byte realm are the maxima. */
	{
		struct userdb_name_rules r = { NULL, true };
		char realm[300];

		memset(longuser, 'u', 255);
		memset(realm, 'r', 253);
		snprintf(login, sizeof(login), "%.255s@%.253s", longuser, realm);
		CHECK(userdb_name_parse(login, strlen(login), NULL, 0, &r, &n) == NULL &&
		      n.key_len == USERDB_KEY_MAX, "255-byte user @ 253-byte realm");
		snprintf(login, sizeof(login), "%.255su@%.20s", longuser, realm);
		CHECK(userdb_name_parse(login, strlen(login), NULL, 0, &r, &n) != NULL,
		      "256-byte user refused");
		snprintf(login, sizeof(login), "u@%.253sr", realm);
		CHECK(userdb_name_parse(login, strlen(login), NULL, 0, &r, &n) != NULL,
		      "254-byte realm refused");
	}
	/* Input is (pointer, length): bytes past len are never read. */
	{
		struct userdb_name_rules r = { NULL, true };

		CHECK(userdb_name_parse("bob@example.orgXXX", 15, NULL, 0, &r,
					&n) == NULL &&
		      strcmp(n.key, "bob@example.org") == 0,
		      "length bounds the input");
		CHECK(userdb_name_parse("bob\0x@example.org", 17, NULL, 0, &r,
					&n) != NULL, "embedded NUL refused");
	}
	return test_done();
}
