/*
 * test_smtpd_policy - authd-smtpd's relay decisions without a socket:
 * networks (smtpd/net.c), access maps (smtpd/map.c) and restriction
 * lists (smtpd/restrict.c), with the open-relay battery: every classic
 * address trick refused for an unauthenticated stranger, the same
 * recipients accepted after AUTH and from mynetworks, and the start-up
 * guard that refuses a configuration relaying for anyone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "map.h"
#include "net.h"
#include "restrict.h"
#include "smtp.h"
#include "test.h"

static void
test_net(void)
{
	static const struct {
		const char *net, *addr;
		int match;		/* -1: the network is refused */
	} t[] = {
		{ "192.0.2.0/24", "192.0.2.77", 1 },
		{ "192.0.2.0/24", "192.0.3.1", 0 },
		{ "192.0.2.0/25", "192.0.2.200", 0 },
		{ "10.0.0.0/8", "::ffff:10.1.2.3", 1 },
		{ "[2001:db8::]/32", "2001:db8:ffff::1", 1 },
		{ "2001:db8::/32", "2001:db9::1", 0 },
		{ "127.0.0.1", "127.0.0.1", 1 },
		{ "127.0.0.1", "127.0.0.2", 0 },
		{ "0.0.0.0/0", "198.51.100.1", 1 },
		{ "0.0.0.0/0", "2001:db8::1", 0 },
		{ "192.0.2.1/24", "192.0.2.1", -1 },
		{ "192.0.2.0/33", "192.0.2.1", -1 },
		{ "example.org", "192.0.2.1", -1 },
		{ "192.0.2.0/", "192.0.2.1", -1 },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct net n;
		struct net_addr a;
		const char *why = net_parse(t[i].net, strlen(t[i].net), &n);

		if (t[i].match < 0) {
			CHECK(why != NULL, "network %s refused", t[i].net);
			continue;
		}
		CHECK(why == NULL && net_addr_parse(t[i].addr, strlen(t[i].addr),
						    &a) &&
		      net_match(&n, &a) == (t[i].match == 1),
		      "%s %s %s", t[i].addr, t[i].match ? "in" : "not in",
		      t[i].net);
	}
}

static struct map *
map_of(const char *text)
{
	char *err = NULL;
	struct map *m = map_parse(text, strlen(text), "test", &err);

	if (m == NULL)
		printf("# map: %s\n", err);
	free(err);
	return m;
}

static void
test_map(void)
{
	struct map *m = map_of("# comment\n"
			       "Alice@Example.ORG   REJECT go away\n"
			       "example.net         OK\n"
			       "postmaster@         DUNNO\n"
			       "192.0.2.0/24        DEFER slow down\n"
			       "198.51.100.7        550 no\n"
			       "  \n");
	struct smtp_addr a;
	struct net_addr c;
	char *err = NULL;

	CHECK(m != NULL && map_size(m) == 5, "a map with comments and blanks");
	if (m == NULL)
		return;
	smtp_addr_parse("alice@example.org", 17, &a);
	CHECK_STR(map_lookup_addr(m, &a), "REJECT go away", "whole address, any case");
	smtp_addr_parse("bob@mail.example.net", 20, &a);
	CHECK_STR(map_lookup_addr(m, &a), "OK", "parent domain");
	smtp_addr_parse("bob@badexample.net", 18, &a);
	CHECK(map_lookup_addr(m, &a) == NULL, "badexample.net is not under example.net");
	smtp_addr_parse("postmaster@other.example", 24, &a);
	CHECK_STR(map_lookup_addr(m, &a), "DUNNO", "user@ entry");
	net_addr_parse("192.0.2.9", 9, &c);
	CHECK_STR(map_lookup_client(m, "192.0.2.9", &c), "DEFER slow down", "CIDR key");
	net_addr_parse("198.51.100.7", 12, &c);
	CHECK_STR(map_lookup_client(m, "198.51.100.7", &c), "550 no", "exact address key");
	map_free(m);
	m = map_of("# only comments\n\n");
	CHECK(m != NULL && map_size(m) == 0 && map_find(m, "a", 1) == NULL,
	      "an empty map answers nothing");
	map_free(m);
	CHECK(map_parse("a OK\nb\n", 7, "f", &err) == NULL && err != NULL &&
	      strstr(err, "f:2:") != NULL, "a key without a value: %s",
	      err != NULL ? err : "");
	free(err);
	err = NULL;
	CHECK(map_parse("a OK\nA REJECT\n", 14, "f", &err) == NULL,
	      "a key twice (any case) is refused");
	free(err);
	err = NULL;
	CHECK(map_parse("192.0.2.1/24 OK\n", 16, "f", &err) == NULL,
	      "a CIDR key with host bits is refused");
	free(err);
}

struct fixture {
	struct net_list mynetworks, own;
	char *domains[2];
	struct map *logins;
	struct restr_env env;
	struct restr_list relay, rcpt, sender;
};

static void
fixture_init(struct fixture *f)
{
	const char *bad;
	size_t badlen;
	char *err = NULL;

	memset(f, 0, sizeof(*f));
	net_list_parse("127.0.0.0/8 [::1]/128 192.0.2.0/24", &f->mynetworks,
		       &bad, &badlen);
	net_list_parse("198.51.100.25", &f->own, &bad, &badlen);
	f->domains[0] = (char *)"example.org";
	f->domains[1] = (char *)"relay.example";
	f->logins = map_of("alice@example.org alice@example.org\n"
			   "sales@example.org alice@example.org, bob@example.org\n");
	f->env.mynetworks = &f->mynetworks;
	f->env.own_addrs = &f->own;
	f->env.domains = f->domains;
	f->env.n_domains = 2;
	f->env.subdomains = true;
	f->env.sender_login = f->logins;
	if (!restr_list_parse("smtpd_relay_restrictions",
			      "permit_mynetworks, permit_sasl_authenticated, "
			      "reject_unauth_destination", &f->relay, &err) ||
	    !restr_list_parse("smtpd_sender_restrictions",
			      "reject_sender_login_mismatch", &f->sender, &err))
		printf("# %s\n", err);
	free(err);
}

static void
fixture_free(struct fixture *f)
{
	net_list_free(&f->mynetworks);
	net_list_free(&f->own);
	map_free(f->logins);
	restr_list_free(&f->relay);
	restr_list_free(&f->rcpt);
	restr_list_free(&f->sender);
}

/* rcpt_verdict - the relay list on one recipient. */
static enum restr_verdict
rcpt_verdict(struct fixture *f, const char *client, const char *user,
	     const char *rcpt, struct restr_reply *r)
{
	struct restr_state st;
	struct smtp_path p;
	bool param;
	char arg[512];

	memset(&st, 0, sizeof(st));
	st.client_text = client;
	net_addr_parse(client, strlen(client), &st.client);
	st.sasl_user = user;
	snprintf(arg, sizeof(arg), "TO:<%s>", rcpt);
	if (smtp_path_parse(arg, strlen(arg), true, &p, &param) != NULL) {
		r->verdict = RESTR_REFUSE;	/* 501: refused as syntax */
		snprintf(r->text, sizeof(r->text), "syntax");
		return RESTR_REFUSE;
	}
	st.rcpt = &p.addr;
	restr_eval(&f->relay, &f->env, &st, r);
	return r->verdict;
}

static void
test_open_relay(void)
{
	/* The classic battery (Postfix's, and the open-relay testers'):
	 * remote destinations, sender-routed local addresses and literal
	 * tricks, from an unauthenticated client outside mynetworks. */
	static const char *const tricks[] = {
		"victim@remote.example",
		"victim%remote.example@example.org",
		"victim%remote.example@[198.51.100.25]",
		"remote.example!victim@example.org",
		"victim@remote.example@example.org",
		"\"victim@remote.example\"@example.org",
		"\"victim%remote.example\"@example.org",
		"@example.org:victim@remote.example",
		"@example.org,@relay.example:victim@remote.example",
		"victim@example.org.",
		"victim@remote.example.",
		"victim@[192.0.2.99]",
		"victim@[IPv6:2001:db8::25]",
		"victim@example.org.remote.example",
		"victim@badexample.org",
		"victim@EXAMPLE.ORG.remote.example",
		"victim@xn--exmple-cua.org",
		"victim@remote.example%example.org",
		"victim!remote.example@relay.example",
		"victim%remote.example%relay.example@example.org",
		"\"victim!remote.example\"@example.org",
		"victim@[127.0.0.1]",
	};
	struct fixture f;
	struct restr_reply r;
	size_t i;

	fixture_init(&f);
	for (i = 0; i < sizeof(tricks) / sizeof(tricks[0]); i++) {
		enum restr_verdict v = rcpt_verdict(&f, "203.0.113.9", NULL,
						    tricks[i], &r);

		CHECK(v == RESTR_REFUSE && (strcmp(r.text, "syntax") == 0 ||
		      (r.code == 554 && strstr(r.text, "Relay access denied"))),
		      "stranger, <%s>: refused (%u %s)", tricks[i], r.code, r.text);
		if (strcmp(r.text, "syntax") == 0)
			continue;
		CHECK(rcpt_verdict(&f, "203.0.113.9", "alice@example.org",
				   tricks[i], &r) == RESTR_OK,
		      "after AUTH, <%s>: relayed", tricks[i]);
		CHECK(rcpt_verdict(&f, "192.0.2.10", NULL, tricks[i], &r) ==
		      RESTR_OK, "from mynetworks, <%s>: relayed", tricks[i]);
	}
	CHECK(rcpt_verdict(&f, "203.0.113.9", NULL, "bob@example.org", &r) ==
	      RESTR_DUNNO, "a stranger may send to our own domain");
	CHECK(rcpt_verdict(&f, "203.0.113.9", NULL, "bob@sub.relay.example", &r) ==
	      RESTR_DUNNO, "and to a subdomain of a relay domain");
	CHECK(rcpt_verdict(&f, "203.0.113.9", NULL, "postmaster", &r) ==
	      RESTR_DUNNO, "and to <postmaster>");
	CHECK(rcpt_verdict(&f, "203.0.113.9", NULL, "bob@[198.51.100.25]", &r) ==
	      RESTR_DUNNO, "and to our own IP literal");
	CHECK(rcpt_verdict(&f, "::ffff:192.0.2.5", NULL, "x@remote.example", &r) ==
	      RESTR_OK, "an IPv4-mapped client in mynetworks relays");
	fixture_free(&f);
}

static void
test_sender_login(void)
{
	struct fixture f;
	struct restr_state st;
	struct restr_reply r;
	struct smtp_addr s;

	fixture_init(&f);
	memset(&st, 0, sizeof(st));
	st.client_text = "203.0.113.9";
	net_addr_parse("203.0.113.9", 11, &st.client);
	st.sender = &s;
	st.sasl_user = "alice@example.org";
	smtp_addr_parse("sales@example.org", 17, &s);
	restr_eval(&f.sender, &f.env, &st, &r);
	CHECK(r.verdict == RESTR_DUNNO, "alice may use an address she co-owns");
	st.sasl_user = "carol@example.org";
	restr_eval(&f.sender, &f.env, &st, &r);
	CHECK(r.verdict == RESTR_REFUSE && r.code == 553 &&
	      strstr(r.text, "not owned by user carol@example.org") != NULL,
	      "carol may not: %u %s", r.code, r.text);
	smtp_addr_parse("carol@elsewhere.example", 23, &s);
	restr_eval(&f.sender, &f.env, &st, &r);
	CHECK(r.verdict == RESTR_REFUSE && r.code == 553,
	      "an address nobody owns is refused to an authenticated user");
	st.sasl_user = NULL;
	smtp_addr_parse("alice@example.org", 17, &s);
	restr_eval(&f.sender, &f.env, &st, &r);
	CHECK(r.verdict == RESTR_REFUSE && strstr(r.text, "not logged in") != NULL,
	      "an owned address without AUTH: %s", r.text);
	fixture_free(&f);
}

static void
test_lists(void)
{
	struct restr_list relay, rcpt;
	char *err = NULL, path[] = "/tmp/authd-test-map.XXXXXX";
	struct restr_env env;
	struct restr_state st;
	struct restr_reply r;
	struct net_list none = { NULL, 0 };
	int fd;

	memset(&env, 0, sizeof(env));
	env.mynetworks = env.own_addrs = &none;
	CHECK(!restr_list_parse("k", "permit_mynetworks, permit_everyone", &relay,
				&err) && strstr(err, "permit_everyone") != NULL,
	      "an unknown word is named: %s", err);
	free(err);
	err = NULL;
	CHECK(!restr_list_parse("k", "check_client_access", &relay, &err),
	      "a map word without a map");
	free(err);
	err = NULL;

	restr_list_parse("smtpd_relay_restrictions", "permit_mynetworks, permit",
			 &relay, &err);
	restr_list_parse("smtpd_recipient_restrictions", "reject_unauth_destination",
			 &rcpt, &err);
	CHECK(restr_relay_safe(&relay, &rcpt, &err) != NULL &&
	      strstr(err, "smtpd_relay_restrictions") != NULL,
	      "permit before the guard is refused: %s", err);
	free(err);
	err = NULL;
	restr_list_free(&relay);
	restr_list_free(&rcpt);
	restr_list_parse("smtpd_relay_restrictions",
			 "permit_sasl_authenticated", &relay, &err);
	restr_list_parse("smtpd_recipient_restrictions", "", &rcpt, &err);
	CHECK(restr_relay_safe(&relay, &rcpt, &err) != NULL,
	      "no guard at all is refused");
	free(err);
	err = NULL;
	restr_list_free(&relay);
	restr_list_free(&rcpt);
	restr_list_parse("smtpd_relay_restrictions",
			 "permit_mynetworks, permit_sasl_authenticated, defer",
			 &relay, &err);
	restr_list_parse("smtpd_recipient_restrictions", "", &rcpt, &err);
	CHECK(restr_relay_safe(&relay, &rcpt, &err) == NULL,
	      "an unconditional defer is a guard");
	restr_list_free(&relay);
	restr_list_free(&rcpt);

	/* A map through the file system, and its actions. */
	fd = mkstemp(path);
	if (fd >= 0) {
		const char *text = "203.0.113.0/24 REJECT no thanks\n"
				   "198.51.100.1 DEFER\n"
				   "198.51.100.2 BOGUS\n";

		if (write(fd, text, strlen(text)) < 0)
			return;
		close(fd);
	}
	{
		char list[128];

		snprintf(list, sizeof(list), "check_client_access %s, permit",
			 path);
		CHECK(restr_list_parse("smtpd_client_restrictions", list, &relay,
				       &err), "a list with a map file");
	}
	memset(&st, 0, sizeof(st));
	st.client_text = "203.0.113.4";
	net_addr_parse(st.client_text, strlen(st.client_text), &st.client);
	restr_eval(&relay, &env, &st, &r);
	CHECK(r.verdict == RESTR_REFUSE && r.code == 554 &&
	      strcmp(r.text, "5.7.1 203.0.113.4: no thanks") == 0,
	      "REJECT text: %u %s", r.code, r.text);
	st.client_text = "198.51.100.1";
	net_addr_parse(st.client_text, strlen(st.client_text), &st.client);
	restr_eval(&relay, &env, &st, &r);
	CHECK(r.verdict == RESTR_REFUSE && r.code == 450, "DEFER: %u %s",
	      r.code, r.text);
	st.client_text = "198.51.100.2";
	net_addr_parse(st.client_text, strlen(st.client_text), &st.client);
	restr_eval(&relay, &env, &st, &r);
	CHECK(r.verdict == RESTR_REFUSE && r.code == 451,
	      "a bad action is a temporary configuration error: %u %s",
	      r.code, r.text);
	st.client_text = "198.51.100.3";
	net_addr_parse(st.client_text, strlen(st.client_text), &st.client);
	restr_eval(&relay, &env, &st, &r);
	CHECK(r.verdict == RESTR_OK, "no entry: the list goes on to permit");
	restr_list_free(&relay);
	unlink(path);
}

int
main(void)
{
	test_net();
	test_map();
	test_open_relay();
	test_sender_login();
	test_lists();
	return test_done();
}
