/*
 * test_policy - login policy (authd/policy.h).  auth_realm_mechanisms:
 * policy_realm_parse reads "realm:mech[,mech...]" words (realms
 * lower-cased, a realm's words adding up, mechanisms in any case) and
 * refuses bad input with a reason naming the key; once set, a listed
 * realm may use only its mechanisms and an unlisted realm every one.
 * Authorization identities: policy_authz lets a user act as itself (no
 * authzid, an empty one, or one naming the same user after
 * normalisation), refuses anyone else, and lets the users of
 * auth_proxy_users act as any valid name; those users are normalised at
 * load like any login (any case, a bare name in default_realm) and a name
 * no user can have is refused there.  authd.set comes from
 * authd_settings_load with default_realm and auth_proxy_users set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authd_fixture.h"
#include "log.h"
#include "policy.h"
#include "server.h"
#include "test.h"

static const char *const names[] = {
	"PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256",
};
#define N_NAMES		(sizeof(names) / sizeof(names[0]))
#define ALL		0xfu
#define B_PLAIN		1u
#define B_LOGIN		2u
#define B_CRAM		4u
#define B_SCRAM		8u

static void
test_parse(void)
{
	static const struct {
		const char *list;
		unsigned int allowed;
		const char *why;	/* a word of the reason, or NULL: parses */
		size_t n;
		const char *realm0, *realm1;
		unsigned int mask0, mask1;
		const char *desc;
	} v[] = {
		{ "", ALL, NULL, 0, NULL, NULL, 0, 0, "empty: no policy" },
		{ "  \t ", ALL, NULL, 0, NULL, NULL, 0, 0, "blanks: no policy" },
		{ "example.org:PLAIN", ALL, NULL, 1, "example.org", NULL,
		  B_PLAIN, 0, "one realm, one mechanism" },
		{ "Example.ORG:plain,Scram-Sha-256", ALL, NULL, 1, "example.org",
		  NULL, B_PLAIN | B_SCRAM, 0,
		  "realm lower-cased, mechanisms in any case" },
		{ "example.org:PLAIN example.org:LOGIN EXAMPLE.org:CRAM-MD5", ALL,
		  NULL, 1, "example.org", NULL, B_PLAIN | B_LOGIN | B_CRAM, 0,
		  "three words of one realm add up to one entry" },
		{ "a.example:PLAIN\tb.example:SCRAM-SHA-256,LOGIN", ALL, NULL, 2,
		  "a.example", "b.example", B_PLAIN, B_SCRAM | B_LOGIN,
		  "two realms, separated by a TAB" },
		{ "example.org:PLAIN", B_PLAIN, NULL, 1, "example.org", NULL,
		  B_PLAIN, 0, "a mechanism that is enabled" },
		{ "example.org", ALL, "realm:mechanism", 0, NULL, NULL, 0, 0,
		  "a word without ':'" },
		{ "example.org:", ALL, "realm:mechanism", 0, NULL, NULL, 0, 0,
		  "a realm without mechanisms" },
		{ ":PLAIN", ALL, "invalid realm", 0, NULL, NULL, 0, 0,
		  "an empty realm" },
		{ "exa!mple.org:PLAIN", ALL, "invalid realm", 0, NULL, NULL, 0, 0,
		  "a realm with '!'" },
		{ "example..org:PLAIN", ALL, "invalid realm", 0, NULL, NULL, 0, 0,
		  "a realm with an empty label" },
		{ "example.org:PLAIN,GSSAPI", ALL, "unknown mechanism", 0, NULL,
		  NULL, 0, 0, "an unknown mechanism" },
		{ "example.org:PLAIN,,LOGIN", ALL, "unknown mechanism", 0, NULL,
		  NULL, 0, 0, "an empty mechanism between commas" },
		{ "example.org:,PLAIN", ALL, "unknown mechanism", 0, NULL, NULL,
		  0, 0, "a leading comma" },
		{ "example.org:PLAI", ALL, "unknown mechanism", 0, NULL, NULL, 0,
		  0, "a prefix of a mechanism's name" },
		{ "example.org:PLAINX", ALL, "unknown mechanism", 0, NULL, NULL,
		  0, 0, "a mechanism's name and more" },
		{ "example.org:CRAM-MD5", B_PLAIN | B_LOGIN, "does not enable", 0,
		  NULL, NULL, 0, 0, "a mechanism auth_mechanisms does not enable" },
		{ "ok.example:PLAIN bad:GSSAPI", ALL, "unknown mechanism", 0, NULL,
		  NULL, 0, 0, "a good word, then a bad one: refused whole" },
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct realm_policy *p = (struct realm_policy *)&p;
		size_t n = 99;
		const char *why = policy_realm_parse(v[i].list, names, N_NAMES,
						     v[i].allowed, &p, &n);

		if (v[i].why != NULL) {
			CHECK(why != NULL && strstr(why, v[i].why) != NULL &&
			      strncmp(why, "auth_realm_mechanisms", 21) == 0,
			      "parse \"%s\" refused (%s): %s", v[i].list,
			      v[i].desc, why != NULL ? why : "(accepted)");
			continue;
		}
		CHECK(why == NULL && n == v[i].n &&
		      (n < 1 || (strcmp(p[0].realm, v[i].realm0) == 0 &&
				 p[0].mask == v[i].mask0)) &&
		      (n < 2 || (strcmp(p[1].realm, v[i].realm1) == 0 &&
				 p[1].mask == v[i].mask1)),
		      "parse \"%s\": %s (%s, %zu entries)", v[i].list, v[i].desc,
		      why != NULL ? why : "ok", why == NULL ? n : 0);
		if (why == NULL)
			free(p);
	}
}

static void
test_allowed(void)
{
	static const struct {
		const char *mech, *realm;
		bool allowed;
		const char *desc;
	} v[] = {
		{ "PLAIN", "example.org", true, "listed for the realm" },
		{ "plain", "example.org", true, "any case of the name" },
		{ "LOGIN", "example.org", true, "from the realm's second word" },
		{ "CRAM-MD5", "example.org", false, "not listed for the realm" },
		{ "SCRAM-SHA-256", "example.org", false, "not listed either" },
		{ "SCRAM-SHA-256", "strict.example", true, "the other realm's own" },
		{ "PLAIN", "strict.example", false,
		  "PLAIN, listed for example.org only" },
		{ "GSSAPI", "example.org", false, "a name the policy does not know" },
		{ "CRAM-MD5", "free.example", true, "an unlisted realm: anything" },
		{ "SCRAM-SHA-256", "free.example", true, "... anything enabled" },
		{ "PLAIN", "sub.example.org", true,
		  "a subdomain is another realm, unlisted" },
	};
	struct realm_policy *p;
	size_t i, n;
	const char *why;

	why = policy_realm_parse("example.org:PLAIN strict.example:SCRAM-SHA-256 "
				 "example.org:LOGIN", names, N_NAMES, ALL, &p, &n);
	CHECK(why == NULL && n == 2, "the policy of this test parses");
	if (why != NULL)
		return;
	policy_realm_set(names, N_NAMES, p, n);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		CHECK(policy_mech_allowed(v[i].mech, v[i].realm) == v[i].allowed,
		      "%s in %s %s: %s", v[i].mech, v[i].realm,
		      v[i].allowed ? "allowed" : "refused", v[i].desc);

	/* An empty policy replaces it: nothing is restricted any more. */
	why = policy_realm_parse("", names, N_NAMES, ALL, &p, &n);
	policy_realm_set(names, N_NAMES, p, n);
	CHECK(why == NULL && policy_mech_allowed("CRAM-MD5", "example.org") &&
	      policy_mech_allowed("PLAIN", "strict.example"),
	      "after an empty policy every mechanism is allowed everywhere");
}

/* name - the normalised name of login under authd.set's rules. */
static struct userdb_name
name(const char *login)
{
	struct userdb_name n;

	if (userdb_name_parse(login, strlen(login), NULL, 0, &authd.set->rules,
			      &n) != NULL)
		memset(&n, 0, sizeof(n));
	return n;
}

static void
test_authz(void)
{
	static const char *const kv[] = {
		"default_realm", "example.org",
		"auth_proxy_users", "master@example.org relay@other.example",
		NULL,
	};
	static const struct {
		const char *authn, *authzid;
		bool ok;
		const char *as;		/* the identity acted as, when ok */
		const char *desc;
	} v[] = {
		{ "alice", NULL, true, "alice@example.org", "no authzid" },
		{ "alice", "", true, "alice@example.org", "an empty authzid" },
		{ "alice", "alice", true, "alice@example.org",
		  "authzid = authcid (NeoMutt)" },
		{ "alice", "alice@example.org", true, "alice@example.org",
		  "authzid with the default realm spelt out" },
		{ "alice", "ALICE@Example.ORG", true, "alice@example.org",
		  "authzid in other case (username_fold_case)" },
		{ "alice", "bob", false, NULL, "another user" },
		{ "alice", "bob@example.org", false, NULL, "another user, full" },
		{ "alice", "alice@other.example", false, NULL,
		  "the same user name in another realm" },
		{ "alice", "master", false, NULL, "a proxy user's name" },
		{ "alice", "al ice@", false, NULL, "an invalid authzid" },
		{ "master", NULL, true, "master@example.org",
		  "a proxy user as itself" },
		{ "master", "bob", true, "bob@example.org",
		  "a proxy user acts as bob" },
		{ "master", "Bob@EXAMPLE.org", true, "bob@example.org",
		  "... named in any case: normalised" },
		{ "master", "carol@other.example", true, "carol@other.example",
		  "... in another realm" },
		{ "master", "bob@", false, NULL,
		  "a proxy user cannot act as an invalid name" },
		{ "master", "bo:b", false, NULL, "... nor a name with ':'" },
		{ "relay@other.example", "alice", true, "alice@example.org",
		  "the second proxy user of the list" },
		{ "master@other.example", "alice", false, NULL,
		  "master of another realm is not in the list" },
	};
	char out[USERDB_KEY_MAX + 1];
	size_t i;

	if ((authd.set = fixture_settings(kv)) == NULL) {
		CHECK(0, "settings for policy_authz");
		return;
	}
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct userdb_name authn = name(v[i].authn);
		bool ok;

		snprintf(out, sizeof(out), "(untouched)");
		ok = policy_authz(&authn, v[i].authzid, out);
		if (v[i].ok)
			CHECK(ok && strcmp(out, v[i].as) == 0, "%s as \"%s\": "
			      "allowed as %s: %s (got %s)", v[i].authn,
			      v[i].authzid ? v[i].authzid : "(null)", v[i].as,
			      v[i].desc, ok ? out : "refused");
		else
			CHECK(!ok, "%s as \"%s\": refused: %s", v[i].authn,
			      v[i].authzid ? v[i].authzid : "(null)", v[i].desc);
	}
	authd_settings_free(authd.set);
	authd.set = NULL;
}

/* test_authz_spelling - auth_proxy_users as an admin may write it: the
 * names go through the one name rule (userdb/name.h), like every other
 * name authd receives, so a capital or a default realm left out does not
 * silently make an entry that matches nobody. */
static void
test_authz_spelling(void)
{
	static const char *const kv[] = {
		"default_realm", "example.org",
		"auth_proxy_users", "Master@Example.ORG,relay",
		NULL,
	};
	char out[USERDB_KEY_MAX + 1];
	struct userdb_name authn;

	if ((authd.set = fixture_settings(kv)) == NULL) {
		CHECK(0, "settings with auth_proxy_users in other spellings");
		return;
	}
	authn = name("master");
	CHECK(policy_authz(&authn, "bob", out) &&
	      strcmp(out, "bob@example.org") == 0,
	      "auth_proxy_users \"Master@Example.ORG\" lets master@example.org "
	      "act as bob");
	authn = name("relay");
	CHECK(policy_authz(&authn, "bob", out) &&
	      strcmp(out, "bob@example.org") == 0,
	      "auth_proxy_users \"relay\" (default realm) lets "
	      "relay@example.org act as bob");
	authn = name("alice");
	CHECK(!policy_authz(&authn, "bob", out), "alice, not listed, still may "
	      "not");
	authd_settings_free(authd.set);
	authd.set = NULL;
}

/* test_authz_refused - a proxy user no login can be is refused at load,
 * with the key and the word in the message. */
static void
test_authz_refused(void)
{
	static const struct {
		const char *realm, *list;
		const char *desc;
	} v[] = {
		{ "", "master", "a bare name without default_realm" },
		{ "example.org", "master@", "an empty realm" },
		{ "example.org", "ok@example.org bad:name", "a ':' in the second" },
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct config *cfg = conf_keys_new();
		struct authd_settings *s = NULL;
		char *err = NULL;

		if (config_set(cfg, "default_realm", v[i].realm, &err) &&
		    config_set(cfg, "auth_proxy_users", v[i].list, &err))
			s = authd_settings_load(cfg, &err);
		CHECK(s == NULL && err != NULL &&
		      strncmp(err, "auth_proxy_users: ", 18) == 0,
		      "auth_proxy_users \"%s\" refused: %s (%s)", v[i].list,
		      v[i].desc, err != NULL ? err : "loaded");
		if (s != NULL)
			authd_settings_free(s);
		else
			config_free(cfg);
		free(err);
	}
}

int
main(void)
{
	log_init("test_policy", false, 0, true);
	test_parse();
	test_allowed();
	test_authz();
	test_authz_spelling();
	test_authz_refused();
	return test_done();
}
