/*
 * test_mechs - the server side of every SASL mechanism (struct mech,
 * authd/mech.h) in memory, against the client side of libauthd
 * (authd_client_*, client-lib/authd.h) and against the test's own
 * computations from the RFC formulas, checked first on the RFC vectors
 * of mechanisms.md.  The mechanisms are reached only through mech_find()
 * and struct mech, so the test does not depend on where their math lives.
 *
 * The store holds: tim, with every verifier made from his password by
 * userdb_record_set_password (as pwtool makes them); alice and user,
 * whose verifiers are the published vectors (CRAM-MD5 context and
 * DIGEST-MD5 hash of "secret"; the RFC 7677 and RFC 5802 SCRAM
 * verifiers of "pencil") imported as pwtool import reads them; carol,
 * cleartext only, and olga, the same in a realm the DIGEST-MD5 challenge
 * does not offer; erin, every verifier of a non-ASCII password; dave,
 * locked.
 *
 * Covered: the right password gives MECH_PASSWORD with the client's
 * login, password and authzid (PLAIN, LOGIN) or MECH_DONE with AUTH_OK
 * and final data the client accepts (DIGEST-MD5 rspauth, SCRAM v=); a
 * wrong password, a locked account and an unknown user give AUTH_FAIL
 * after a full exchange (SCRAM: an unknown user's server-first message
 * has the shape of a real user's, and a stable salt); responses that
 * break a mechanism's syntax give MECH_MALFORMED; well-formed responses
 * that do not match the challenge (nonce, nc, digest-uri, realm, channel
 * binding) give AUTH_FAIL; the RFC 2195 CRAM-MD5 vector from a stored
 * context.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "authd.h"
#include "authd_fixture.h"
#include "codec.h"
#include "log.h"
#include "mech.h"
#include "scheme.h"
#include "server.h"
#include "test.h"

#define SERVICE		"smtp"
#define TIM_PW		"tanstaaftanstaaf"
#define ERIN_PW		"gr\xc3\xbc\xc3\x9f" "e-s\xc3\xa9"	/* "grüße-sé" */
#define CAROL_PW	"carol's cleartext"
#define DAVE_PW		"dave-pw"

#define V_ALL	(USERDB_V_CRYPT | USERDB_V_SCRAM_SHA256 | USERDB_V_SCRAM_SHA1 | \
		 USERDB_V_CRAM_MD5 | USERDB_V_DIGEST_MD5 | \
		 USERDB_V_DIGEST_MD5_ADDR)

static const struct mech_ctx ctx = { SERVICE, NULL };

/* ------------------------------------------------------------------ */
/* One exchange between a libauthd client and a server mechanism.      */

struct result {
	enum mech_status st;		/* the server's last status */
	enum auth_result result;	/* with MECH_DONE */
	const char *reason;
	bool name_ok;
	char key[USERDB_KEY_MAX + 1];
	char login[512], password[512], authzid[512];
	bool has_authzid, has_final;
	int client_rc;		/* the client's last step (AUTHD_CONTINUE) */
	int finish;		/* authd_client_finish on the final data */
	unsigned int server_steps;
	char challenge[1024];	/* the server's first non-empty challenge */
};

static void
copy_out(char *dst, size_t size, const char *p, size_t n)
{
	if (n >= size)
		n = size - 1;
	memcpy(dst, p, n);
	dst[n] = '\0';
}

/* exchange - user/pw/authzid through mech, with the initial response when
 * initial; nonce (may be NULL) fixes the client nonce. */
static void
exchange(const char *mech, const char *user, const char *pw,
	 const char *authzid, bool initial, const char *nonce,
	 struct result *res)
{
	const struct mech *m = mech_find(mech);
	struct authd_client *cl = NULL;
	const unsigned char *in = NULL;
	size_t len = 0;
	bool first = true;
	void *state;

	memset(res, 0, sizeof(*res));
	res->st = MECH_MALFORMED;
	res->client_rc = AUTHD_CONTINUE;
	res->finish = 1;
	if (m == NULL || authd_client_new(mech, &cl) != AUTHD_OK ||
	    authd_client_set_credentials(cl, user, pw, authzid) != AUTHD_OK ||
	    authd_client_set_service(cl, SERVICE, "mail.example.org") !=
	    AUTHD_OK ||
	    (nonce != NULL && authd_client_set_nonce(cl, nonce) != AUTHD_OK) ||
	    authd_client_start(cl, initial, &in, &len) != AUTHD_OK) {
		printf("# %s: no client or no mechanism\n", mech);
		res->client_rc = AUTHD_ERROR;
		authd_client_free(cl);
		return;
	}
	state = m->state_new(&ctx);
	while (res->server_steps < 6) {
		struct mech_out out;

		mech_out_init(&out);
		res->st = m->step(state, &ctx, in, len, first, &out);
		res->server_steps++;
		first = false;
		if (res->st == MECH_CONTINUE) {
			const char *ch = out.challenge.data != NULL ?
					 out.challenge.data : "";

			if (res->challenge[0] == '\0')
				copy_out(res->challenge, sizeof(res->challenge),
					 ch, out.challenge.len);
			res->client_rc = authd_client_step(cl,
				(const unsigned char *)ch, out.challenge.len,
				&in, &len);
			mech_out_clear(&out);
			if (res->client_rc != AUTHD_CONTINUE)
				break;
			continue;
		}
		if (res->st == MECH_PASSWORD) {
			copy_out(res->login, sizeof(res->login), out.login,
				 out.login_len);
			copy_out(res->password, sizeof(res->password),
				 out.password, out.password_len);
		}
		if (out.authzid != NULL) {
			res->has_authzid = true;
			copy_out(res->authzid, sizeof(res->authzid), out.authzid,
				 out.authzid_len);
		}
		if (res->st == MECH_DONE) {
			res->result = out.result;
			res->reason = out.reason;
			res->name_ok = out.name_ok;
			if (out.name_ok)
				snprintf(res->key, sizeof(res->key), "%s",
					 out.name.key);
			res->has_final = out.has_final;
			if (out.result == AUTH_OK)
				res->finish = authd_client_finish(cl,
					(const unsigned char *)out.final.data,
					out.has_final ? out.final.len : 0);
		}
		mech_out_clear(&out);
		break;
	}
	m->state_free(state);
	authd_client_free(cl);
}

/* ------------------------------------------------------------------ */
/* The right password, through every mechanism.                        */

static void
test_success(void)
{
	static const struct {
		const char *mech, *user, *pw, *authzid;
		bool initial;
		const char *key;	/* MECH_DONE: the name; PASSWORD: login */
		bool final;		/* final data expected */
		const char *desc;
	} v[] = {
		{ "PLAIN", "tim", TIM_PW, NULL, true, "tim", false,
		  "initial response" },
		{ "PLAIN", "tim", TIM_PW, NULL, false, "tim", false,
		  "empty challenge first" },
		{ "PLAIN", "Tim@Example.org", TIM_PW, "bob", true,
		  "Tim@Example.org", false, "authzid, login as typed" },
		{ "LOGIN", "tim", TIM_PW, NULL, true, "tim", false,
		  "user name as initial response" },
		{ "LOGIN", "tim", TIM_PW, NULL, false, "tim", false,
		  "Username: and Password: prompts" },
		{ "CRAM-MD5", "tim", TIM_PW, NULL, true, "tim@example.org", false,
		  "stored context" },
		{ "CRAM-MD5", "TIM", TIM_PW, NULL, true, "tim@example.org", false,
		  "name normalised" },
		{ "CRAM-MD5", "carol", CAROL_PW, NULL, true, "carol@example.org",
		  false, "cleartext record" },
		{ "CRAM-MD5", "erin", ERIN_PW, NULL, true, "erin@example.org",
		  false, "non-ASCII password" },
		{ "DIGEST-MD5", "tim", TIM_PW, NULL, true, "tim@example.org", true,
		  "stored H(user:realm:pw)" },
		{ "DIGEST-MD5", "tim@example.org", TIM_PW, NULL, true,
		  "tim@example.org", true,
		  "whole address as user name (DIGEST-MD5-ADDR)" },
		{ "DIGEST-MD5", "carol", CAROL_PW, NULL, true, "carol@example.org",
		  true, "cleartext record" },
		{ "DIGEST-MD5", "erin", ERIN_PW, NULL, true, "erin@example.org",
		  true, "password fitting ISO-8859-1 (RFC 2831 §2.1.2.1)" },
		{ "DIGEST-MD5", "tim", TIM_PW, "bob", true, "tim@example.org",
		  true, "with an authzid" },
		{ "SCRAM-SHA-1", "tim", TIM_PW, NULL, true, "tim@example.org",
		  true, "initial client-first" },
		{ "SCRAM-SHA-1", "tim", TIM_PW, NULL, false, "tim@example.org",
		  true, "empty challenge first" },
		{ "SCRAM-SHA-1", "user", "pencil", NULL, true, "user@example.org",
		  true, "RFC 5802 stored verifier" },
		{ "SCRAM-SHA-256", "tim", TIM_PW, NULL, true, "tim@example.org",
		  true, "initial client-first" },
		{ "SCRAM-SHA-256", "Tim", TIM_PW, NULL, true, "tim@example.org",
		  true, "name normalised" },
		{ "SCRAM-SHA-256", "user", "pencil", NULL, true,
		  "user@example.org", true, "RFC 7677 stored verifier" },
		{ "SCRAM-SHA-256", "erin", ERIN_PW, NULL, true, "erin@example.org",
		  true, "non-ASCII password (SASLprep)" },
		{ "SCRAM-SHA-256", "tim", TIM_PW, "bob", true, "tim@example.org",
		  true, "with an authzid" },
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct result r;
		bool plain = strcmp(v[i].mech, "PLAIN") == 0 ||
			     strcmp(v[i].mech, "LOGIN") == 0;

		exchange(v[i].mech, v[i].user, v[i].pw, v[i].authzid,
			 v[i].initial, NULL, &r);
		if (plain)
			CHECK(r.st == MECH_PASSWORD &&
			      strcmp(r.login, v[i].key) == 0 &&
			      strcmp(r.password, v[i].pw) == 0 &&
			      r.has_authzid == (v[i].authzid != NULL) &&
			      (v[i].authzid == NULL ||
			       strcmp(r.authzid, v[i].authzid) == 0),
			      "%s %s (%s): MECH_PASSWORD with login \"%s\", the "
			      "password%s (status %d, login \"%s\")", v[i].mech,
			      v[i].user, v[i].desc, v[i].key,
			      v[i].authzid ? " and the authzid" : "", r.st,
			      r.login);
		else
			CHECK(r.st == MECH_DONE && r.result == AUTH_OK &&
			      r.name_ok && strcmp(r.key, v[i].key) == 0 &&
			      r.has_final == v[i].final && r.finish == AUTHD_OK &&
			      r.has_authzid == (v[i].authzid != NULL) &&
			      (v[i].authzid == NULL ||
			       strcmp(r.authzid, v[i].authzid) == 0),
			      "%s %s (%s): AUTH_OK as %s%s%s (status %d, result "
			      "%d: %s, client %d, finish %d)", v[i].mech,
			      v[i].user, v[i].desc, v[i].key,
			      v[i].final ? ", the client verifies the final data" :
			      "", v[i].authzid ? ", authzid passed on" : "",
			      r.st, r.result, r.reason ? r.reason : "-",
			      r.client_rc, r.finish);
	}
}

/* ------------------------------------------------------------------ */
/* Wrong passwords, locked accounts, unknown users.                    */

static void
test_failure(void)
{
	static const struct {
		const char *mech, *user, *pw;
		unsigned int steps;	/* server steps of a full exchange */
		const char *desc;
	} v[] = {
		{ "CRAM-MD5", "tim", "tanstaaf", 2, "wrong password" },
		{ "CRAM-MD5", "carol", "carol", 2, "wrong password, cleartext" },
		{ "CRAM-MD5", "dave", DAVE_PW, 2, "locked, right password" },
		{ "CRAM-MD5", "nobody", TIM_PW, 2, "unknown user" },
		{ "CRAM-MD5", "user", "pencil", 2,
		  "a user with no CRAM-MD5 verifier" },
		{ "DIGEST-MD5", "tim", "tanstaaf", 2, "wrong password" },
		{ "DIGEST-MD5", "tim@example.org", "tanstaaf", 2,
		  "wrong password, whole address" },
		{ "DIGEST-MD5", "dave", DAVE_PW, 2, "locked, right password" },
		{ "DIGEST-MD5", "nobody", TIM_PW, 2, "unknown user" },
		{ "DIGEST-MD5", "user", "pencil", 2,
		  "a user with no DIGEST-MD5 verifier" },
		{ "SCRAM-SHA-1", "tim", "tanstaaf", 2, "wrong password" },
		{ "SCRAM-SHA-1", "dave", DAVE_PW, 2, "locked, right password" },
		{ "SCRAM-SHA-1", "nobody", TIM_PW, 2, "unknown user" },
		{ "SCRAM-SHA-256", "tim", "tanstaaf", 2, "wrong password" },
		{ "SCRAM-SHA-256", "user", "pencil2", 2,
		  "wrong password, RFC 7677 verifier" },
		{ "SCRAM-SHA-256", "dave", DAVE_PW, 2, "locked, right password" },
		{ "SCRAM-SHA-256", "nobody", TIM_PW, 2, "unknown user" },
		{ "SCRAM-SHA-256", "carol", CAROL_PW, 2,
		  "a cleartext record does not serve SCRAM" },
		{ "SCRAM-SHA-256", "alice", "secret", 2,
		  "a user with no SCRAM verifier" },
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct result r;

		exchange(v[i].mech, v[i].user, v[i].pw, NULL, true, NULL, &r);
		CHECK(r.st == MECH_DONE && r.result == AUTH_FAIL &&
		      r.server_steps == v[i].steps &&
		      r.client_rc == AUTHD_CONTINUE && !r.has_final,
		      "%s %s: %s: AUTH_FAIL after a full exchange, no final "
		      "data (status %d, result %d, %u steps, client %d)",
		      v[i].mech, v[i].user, v[i].desc, r.st, r.result,
		      r.server_steps, r.client_rc);
	}
	/* PLAIN and LOGIN do not decide: the pipeline checks what they pass
	 * on, wrong password included. */
	{
		struct result r;

		exchange("PLAIN", "nobody", "wrong", NULL, true, NULL, &r);
		CHECK(r.st == MECH_PASSWORD && strcmp(r.login, "nobody") == 0 &&
		      strcmp(r.password, "wrong") == 0,
		      "PLAIN passes an unknown user's wrong password on as typed");
		exchange("LOGIN", "nobody", "wrong", NULL, false, NULL, &r);
		CHECK(r.st == MECH_PASSWORD && strcmp(r.login, "nobody") == 0 &&
		      strcmp(r.password, "wrong") == 0,
		      "LOGIN passes an unknown user's wrong password on as typed");
	}
}

/* ------------------------------------------------------------------ */
/* SCRAM: an unknown user's server-first looks like a real user's.     */

struct server_first {
	size_t r_len, s_len;
	char s[128];
	unsigned long i;
	bool ok;
};

static struct server_first
parse_server_first(const char *msg, const char *cnonce)
{
	struct server_first f;
	const char *r = msg, *s, *i;

	memset(&f, 0, sizeof(f));
	if (strncmp(r, "r=", 2) != 0 || (s = strstr(r, ",s=")) == NULL ||
	    (i = strstr(s + 3, ",i=")) == NULL)
		return f;
	f.r_len = (size_t)(s - r - 2);
	f.s_len = (size_t)(i - s - 3);
	copy_out(f.s, sizeof(f.s), s + 3, f.s_len);
	f.i = strtoul(i + 3, NULL, 10);
	f.ok = strncmp(r + 2, cnonce, strlen(cnonce)) == 0 &&
	       f.r_len > strlen(cnonce);
	return f;
}

static void
test_scram_unknown(void)
{
	static const char *const mechs[] = { "SCRAM-SHA-1", "SCRAM-SHA-256" };
	size_t k;

	for (k = 0; k < 2; k++) {
		struct result r;
		struct server_first real, fake, again, folded, other;

		exchange(mechs[k], "tim", TIM_PW, NULL, true, "cnonce", &r);
		real = parse_server_first(r.challenge, "cnonce");
		exchange(mechs[k], "nobody", TIM_PW, NULL, true, "cnonce", &r);
		fake = parse_server_first(r.challenge, "cnonce");
		CHECK(real.ok && fake.ok && real.r_len == fake.r_len &&
		      real.s_len == fake.s_len && real.i == fake.i &&
		      real.i == 4096,
		      "%s: an unknown user's server-first has a real user's "
		      "shape: nonce of %zu, salt of %zu, i=%lu (real: %zu, %zu, "
		      "%lu)", mechs[k], fake.r_len, fake.s_len, fake.i,
		      real.r_len, real.s_len, real.i);
		exchange(mechs[k], "nobody", "other", NULL, true, "cnonce", &r);
		again = parse_server_first(r.challenge, "cnonce");
		exchange(mechs[k], "NoBody@Example.ORG", TIM_PW, NULL, true,
			 "cnonce", &r);
		folded = parse_server_first(r.challenge, "cnonce");
		exchange(mechs[k], "nobody2", TIM_PW, NULL, true, "cnonce", &r);
		other = parse_server_first(r.challenge, "cnonce");
		CHECK(again.ok && strcmp(fake.s, again.s) == 0,
		      "%s: asking twice gives the unknown user the same salt, as "
		      "a real user has one", mechs[k]);
		CHECK(folded.ok && strcmp(fake.s, folded.s) == 0,
		      "%s: every spelling of the name gets that salt", mechs[k]);
		CHECK(other.ok && strcmp(fake.s, other.s) != 0,
		      "%s: another unknown user gets another salt", mechs[k]);
	}
	{
		struct result r1, r256;
		struct server_first f1, f256;

		exchange("SCRAM-SHA-1", "nobody", "x", NULL, true, "cn", &r1);
		exchange("SCRAM-SHA-256", "nobody", "x", NULL, true, "cn", &r256);
		f1 = parse_server_first(r1.challenge, "cn");
		f256 = parse_server_first(r256.challenge, "cn");
		CHECK(f1.ok && f256.ok && strcmp(f1.s, f256.s) != 0,
		      "an unknown user's SHA-1 and SHA-256 salts differ, as a "
		      "real user's do");
	}
	{
		/* RFC 7677 and RFC 5802: the stored salt and count, after
		 * the client nonce. */
		struct result r;

		exchange("SCRAM-SHA-256", "user", "pencil", NULL, true,
			 "rOprNGfwEbeRWgbNEkqO", &r);
		CHECK(strncmp(r.challenge, "r=rOprNGfwEbeRWgbNEkqO", 22) == 0 &&
		      strstr(r.challenge, ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096") !=
		      NULL && r.result == AUTH_OK && r.finish == AUTHD_OK,
		      "SCRAM-SHA-256 RFC 7677: server-first %s carries the "
		      "stored salt and count; the exchange succeeds", r.challenge);
		exchange("SCRAM-SHA-1", "user", "pencil", NULL, true,
			 "fyko+d2lbbFgONRv9qkxdawL", &r);
		CHECK(strncmp(r.challenge, "r=fyko+d2lbbFgONRv9qkxdawL", 26) == 0 &&
		      strstr(r.challenge, ",s=QSXCR+Q6sek8bf92,i=4096") != NULL &&
		      r.result == AUTH_OK && r.finish == AUTHD_OK,
		      "SCRAM-SHA-1 RFC 5802: server-first %s carries the stored "
		      "salt and count; the exchange succeeds", r.challenge);
	}
}

/* ------------------------------------------------------------------ */
/* The test's own computations, from the RFC formulas.                 */

static void
hexs(const unsigned char *p, size_t n, char *out)
{
	codec_hex_encode(p, n, out);
}

/* cram_digest - hex HMAC-MD5(pw, challenge) (RFC 2195), from OpenSSL. */
static void
cram_digest(const char *pw, const char *challenge, char out[33])
{
	unsigned char d[16];
	unsigned int n;

	HMAC(EVP_md5(), pw, (int)strlen(pw), (const unsigned char *)challenge,
	     strlen(challenge), d, &n);
	hexs(d, 16, out);
}

static void
md5_hex(const void *p, size_t n, char out[33])
{
	unsigned char d[16];

	EVP_Digest(p, n, d, NULL, EVP_md5(), NULL);
	hexs(d, 16, out);
}

/* digest_kd_key - RFC 2831 §2.1.2.1: the response (a2 "AUTHENTICATE")
 * or the rspauth (a2 "") with (key, key_len) at the start of A1: the raw
 * H(user:realm:pw) by the RFC, its hex form for the HTTP Digest habit
 * the RFC does not follow. */
static void
digest_kd_key(const void *key, size_t key_len, const char *nonce,
	      const char *cnonce, const char *authzid, const char *nc,
	      const char *qop, const char *a2, const char *uri, char out[33])
{
	char buf[1024], ha1[33], ha2[33];
	int n;

	memcpy(buf, key, key_len);
	n = snprintf(buf + key_len, sizeof(buf) - key_len, ":%s:%s%s%s", nonce,
		     cnonce, authzid ? ":" : "", authzid ? authzid : "");
	md5_hex(buf, key_len + (size_t)n, ha1);
	n = snprintf(buf, sizeof(buf), "%s:%s", a2, uri);
	md5_hex(buf, (size_t)n, ha2);
	n = snprintf(buf, sizeof(buf), "%s:%s:%s:%s:%s:%s", ha1, nonce, nc,
		     cnonce, qop != NULL ? qop : "auth", ha2);
	md5_hex(buf, (size_t)n, out);
}

static void
digest_kd(const unsigned char urp[16], const char *nonce, const char *cnonce,
	  const char *authzid, const char *nc, const char *a2,
	  const char *uri, char out[33])
{
	digest_kd_key(urp, 16, nonce, cnonce, authzid, nc, "auth", a2, uri,
		      out);
}

static void
digest_urp(const char *user, const char *realm, const char *pw,
	   unsigned char urp[16])
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "%s:%s:%s", user, realm, pw);

	EVP_Digest(buf, (size_t)n, urp, NULL, EVP_md5(), NULL);
}

/* The test's computations against the published vectors first: the
 * checks below trust them only because these pass. */
static void
test_reference(void)
{
	unsigned char urp[16];
	char out[33];

	cram_digest("tanstaaftanstaaf", "<1896.697170952@postoffice.reston."
		    "mci.net>", out);
	CHECK_STR(out, "b913a602c7eda7a495b4e6e7334d3890",
		  "reference: RFC 2195 CRAM-MD5 digest from HMAC-MD5");
	digest_urp("alice", "example.org", "secret", urp);
	hexs(urp, 16, out);
	CHECK_STR(out, "543e1aec5d3614f03141652d6ada51b2",
		  "reference: {DIGEST-MD5} H(alice:example.org:secret)");
	digest_urp("chris", "elwood.innosoft.com", "secret", urp);
	digest_kd(urp, "OA6MG9tEQGm2hh", "OA6MHXh6VqTrRk", NULL, "00000001",
		  "AUTHENTICATE", "imap/elwood.innosoft.com", out);
	CHECK_STR(out, "d388dad90d4bbd760a152321f2143af7",
		  "reference: RFC 2831 §4 response");
	digest_kd(urp, "OA6MG9tEQGm2hh", "OA6MHXh6VqTrRk", NULL, "00000001",
		  "", "imap/elwood.innosoft.com", out);
	CHECK_STR(out, "ea40f60335c427b5527b84dbabcdfffd",
		  "reference: RFC 2831 §4 rspauth");
	digest_kd(urp, "OA9BSXrbuRhWay", "OA9BSuZWMSpW8m", NULL, "00000001",
		  "AUTHENTICATE", "acap/elwood.innosoft.com", out);
	CHECK_STR(out, "6084c6db3fede7352c551284490fd0fc",
		  "reference: RFC 2831 §4 ACAP response");
}

/* ------------------------------------------------------------------ */
/* Raw exchanges: the server against the test's own messages.          */

struct msg {
	const char *p;		/* NULL: no initial response */
	size_t n;
};

#define M(s)	{ s, sizeof(s) - 1 }
#define NONE	{ NULL, 0 }
#define END	{ "", (size_t)-1 }

/* raw - feed msgs to mech until one is not answered with a challenge;
 * the last status, and the result with MECH_DONE.  The first challenge
 * goes to chal (may be NULL). */
static enum mech_status
raw(const char *mech, const struct msg *msgs, enum auth_result *result_r,
    char *chal, size_t chal_size)
{
	const struct mech *m = mech_find(mech);
	enum mech_status st = MECH_MALFORMED;
	void *state;
	size_t i;

	*result_r = AUTH_TEMPFAIL;
	if (m == NULL)
		return st;
	state = m->state_new(&ctx);
	for (i = 0; msgs[i].n != (size_t)-1; i++) {
		struct mech_out out;

		mech_out_init(&out);
		st = m->step(state, &ctx, (const unsigned char *)msgs[i].p,
			     msgs[i].n, i == 0, &out);
		if (st == MECH_CONTINUE && i == 0 && chal != NULL)
			copy_out(chal, chal_size, out.challenge.data ?
				 out.challenge.data : "", out.challenge.len);
		if (st == MECH_DONE)
			*result_r = out.result;
		mech_out_clear(&out);
		if (st != MECH_CONTINUE)
			break;
	}
	m->state_free(state);
	return st;
}

static void
test_malformed(void)
{
	static const struct {
		const char *mech;
		struct msg msgs[4];
		enum mech_status want;
		enum auth_result result;	/* with MECH_DONE */
		const char *desc;
	} v[] = {
		{ "PLAIN", { M("tim"), END }, MECH_MALFORMED, 0, "no NUL" },
		{ "PLAIN", { M("\0tim"), END }, MECH_MALFORMED, 0, "one NUL" },
		{ "PLAIN", { M("\0\0pw"), END }, MECH_MALFORMED, 0,
		  "empty authcid" },
		{ "PLAIN", { M("\0tim\0"), END }, MECH_MALFORMED, 0,
		  "empty password" },
		{ "PLAIN", { M("\0tim\0pw\0x"), END }, MECH_MALFORMED, 0,
		  "a third NUL" },
		{ "PLAIN", { NONE, M("tim"), END }, MECH_MALFORMED, 0,
		  "no NUL after the empty challenge" },
		{ "PLAIN", { M(""), END }, MECH_MALFORMED, 0,
		  "an empty initial response" },
		{ "LOGIN", { NONE, M(""), END }, MECH_MALFORMED, 0,
		  "empty user name" },
		{ "LOGIN", { NONE, M("t\0im"), END }, MECH_MALFORMED, 0,
		  "NUL in the user name" },
		{ "LOGIN", { M("tim"), M(""), END }, MECH_MALFORMED, 0,
		  "empty password" },
		{ "LOGIN", { M("tim"), M("p\0w"), END }, MECH_MALFORMED, 0,
		  "NUL in the password" },
		{ "CRAM-MD5", { M("tim"), END }, MECH_MALFORMED, 0,
		  "an initial response (the server speaks first)" },
		{ "CRAM-MD5", { NONE, M("timb913a602c7eda7a495b4e6e7334d3890"),
				END }, MECH_MALFORMED, 0, "no space" },
		{ "CRAM-MD5", { NONE, M("tim b913a602c7eda7a495b4e6e7334d389"),
				END }, MECH_MALFORMED, 0, "31 hex digits" },
		{ "CRAM-MD5", { NONE, M("tim b913a602c7eda7a495b4e6e7334d38900"),
				END }, MECH_MALFORMED, 0, "33 hex digits" },
		{ "CRAM-MD5", { NONE, M("tim g913a602c7eda7a495b4e6e7334d3890"),
				END }, MECH_MALFORMED, 0, "a non-hex digit" },
		{ "CRAM-MD5", { NONE, M(""), END }, MECH_MALFORMED, 0,
		  "an empty response" },
		{ "CRAM-MD5", { M(""), M(" b913a602c7eda7a495b4e6e7334d3890"),
				END }, MECH_DONE, AUTH_FAIL,
		  "empty initial response taken as none; empty user name fails" },
		{ "DIGEST-MD5", { M("username=\"tim\""), END }, MECH_MALFORMED, 0,
		  "an initial response (the server speaks first)" },
		{ "DIGEST-MD5", { NONE, M("garbage"), END }, MECH_MALFORMED, 0,
		  "not a directive list" },
		{ "DIGEST-MD5", { NONE, M("username=\"tim\",nonce=\"x\""), END },
		  MECH_MALFORMED, 0, "required directives missing" },
		{ "DIGEST-MD5", { NONE, M("username=\"tim\",realm=\"example.org\","
			"nonce=\"n\",cnonce=\"c\",nc=00000001,qop=auth,"
			"digest-uri=\"smtp/x\",response=0123"), END },
		  MECH_MALFORMED, 0, "a short response value" },
		{ "DIGEST-MD5", { NONE, M("username=\"tim\",realm=\"example.org\","
			"nonce=\"n\",cnonce=\"c\",nc=00000001,qop=auth,"
			"digest-uri=\"smtp/x\",response=0123456789abcdef0123456"
			"789abcdef,username=\"bob\""), END },
		  MECH_MALFORMED, 0, "a directive given twice" },
		{ "DIGEST-MD5", { NONE, M("username=\"tim,nonce=\"n\""), END },
		  MECH_MALFORMED, 0, "an unterminated quoted string" },
		{ "SCRAM-SHA-256", { M("garbage"), END }, MECH_MALFORMED, 0,
		  "client-first without a GS2 header" },
		{ "SCRAM-SHA-256", { M("n,,r=abc"), END }, MECH_MALFORMED, 0,
		  "client-first without n=" },
		{ "SCRAM-SHA-256", { M("x,,n=tim,r=abc"), END }, MECH_MALFORMED,
		  0, "a bad channel-binding flag" },
		{ "SCRAM-SHA-256", { M("n,,n=tim,r=a\0bc"), END }, MECH_MALFORMED,
		  0, "NUL in client-first" },
		{ "SCRAM-SHA-256", { M("n,,n=t=2Xim,r=abc"), END },
		  MECH_MALFORMED, 0, "a bad '=' escape in the name" },
		{ "SCRAM-SHA-256", { M("p=tls-unique,,n=tim,r=abc"), END },
		  MECH_DONE, AUTH_FAIL, "channel binding asked for, not offered" },
		{ "SCRAM-SHA-256", { M("n,,n=tim,r=abc"), M("garbage"), END },
		  MECH_MALFORMED, 0, "client-final garbage" },
		{ "SCRAM-SHA-256", { M("n,,n=tim,r=abc"), M("c=biws,r=abc"), END },
		  MECH_MALFORMED, 0, "client-final without proof" },
		{ "SCRAM-SHA-256", { M("n,,n=tim,r=abc"),
			M("c=biws,r=abc,p=AAAAAAAAAAAAAAAAAAAAAAAAAAA="), END },
		  MECH_MALFORMED, 0, "a SHA-1-sized proof for SHA-256" },
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		enum auth_result res;
		enum mech_status st = raw(v[i].mech, v[i].msgs, &res, NULL, 0);

		if (v[i].want == MECH_DONE)
			CHECK(st == MECH_DONE && res == v[i].result,
			      "%s: %s: AUTH_FAIL (status %d, result %d)",
			      v[i].mech, v[i].desc, st, res);
		else
			CHECK(st == v[i].want, "%s: %s: MECH_MALFORMED (got %d)",
			      v[i].mech, v[i].desc, st);
	}
}

/* ------------------------------------------------------------------ */
/* CRAM-MD5 and DIGEST-MD5 against the test's own computations.        */

static void
test_cram_reference(void)
{
	static const struct {
		const char *user, *pw;
		enum auth_result want;
		const char *desc;
	} v[] = {
		{ "alice", "secret", AUTH_OK,
		  "stored context cd3ba7de... (mechanisms.md) against HMAC-MD5" },
		{ "alice", "Secret", AUTH_FAIL, "HMAC-MD5 of another password" },
		{ "tim", TIM_PW, AUTH_OK, "context made by pwtool's functions" },
		{ "carol", CAROL_PW, AUTH_OK, "cleartext record" },
	};
	struct userdb_record rec;
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char chal[256], line[512], d[33];
		enum auth_result res;
		size_t n;
		enum mech_status st;
		const struct mech *m = mech_find("CRAM-MD5");
		struct mech_out out;
		void *state = m->state_new(&ctx);

		/* The challenge first, then the answer computed from it. */
		mech_out_init(&out);
		st = m->step(state, &ctx, NULL, 0, true, &out);
		copy_out(chal, sizeof(chal), out.challenge.data ?
			 out.challenge.data : "", out.challenge.len);
		mech_out_clear(&out);
		cram_digest(v[i].pw, chal, d);
		n = (size_t)snprintf(line, sizeof(line), "%s %s", v[i].user, d);
		mech_out_init(&out);
		st = m->step(state, &ctx, (const unsigned char *)line, n, false,
			     &out);
		res = out.result;
		mech_out_clear(&out);
		m->state_free(state);
		CHECK(st == MECH_DONE && res == v[i].want && chal[0] == '<' &&
		      chal[strlen(chal) - 1] == '>',
		      "CRAM-MD5 %s: %s: %s (challenge %s)", v[i].user, v[i].desc,
		      v[i].want == AUTH_OK ? "AUTH_OK" : "AUTH_FAIL", chal);
	}
	{
		/* Two exchanges never share a challenge. */
		enum auth_result res;
		char c1[256], c2[256];
		struct msg none[] = { NONE, END };

		raw("CRAM-MD5", none, &res, c1, sizeof(c1));
		raw("CRAM-MD5", none, &res, c2, sizeof(c2));
		CHECK(strcmp(c1, c2) != 0, "CRAM-MD5: each exchange has its own "
		      "challenge (%s, %s)", c1, c2);
	}
	/* RFC 2195 from the context stored for tim, as the server reads it. */
	if (userdb_lookup(authd.db, "tim@example.org", 15, &rec, &why) == 1) {
		static const char chal[] =
			"<1896.697170952@postoffice.reston.mci.net>";
		unsigned char d[16];
		char hex[33];

		scheme_cram_md5_hmac(rec.cram_md5, (const unsigned char *)chal,
				     sizeof(chal) - 1, d);
		hexs(d, 16, hex);
		CHECK_STR(hex, "b913a602c7eda7a495b4e6e7334d3890",
			  "CRAM-MD5 RFC 2195 vector from tim's stored context");
		userdb_record_clear(&rec);
	} else {
		CHECK(0, "tim's record for the RFC 2195 vector");
	}
}

/* nonce_of - the nonce="..." of a DIGEST-MD5 challenge. */
static bool
nonce_of(const char *chal, char *out, size_t size)
{
	const char *p = strstr(chal, "nonce=\""), *e;

	if (p == NULL || (e = strchr(p + 7, '"')) == NULL ||
	    (size_t)(e - p - 7) >= size)
		return false;
	copy_out(out, size, p + 7, (size_t)(e - p - 7));
	return true;
}

static void
test_digest_reference(void)
{
	static const struct {
		const char *user, *realm, *pw, *authzid, *nc, *uri_service,
			   *qop;
		bool bad_nonce, hex_inner;
		enum auth_result want;
		const char *desc;
	} v[] = {
		{ "alice", "example.org", "secret", NULL, "00000001", SERVICE,
		  "auth", false, false, AUTH_OK,
		  "stored 543e1aec... (mechanisms.md) against RFC 2831" },
		{ "alice", "example.org", "secret", "bob", "00000001", SERVICE,
		  "auth", false, false, AUTH_OK, "with an authzid in A1" },
		{ "alice", "example.org", "secret", NULL, "00000001", SERVICE,
		  NULL, false, false, AUTH_OK, "qop left out (auth)" },
		{ "alice", "example.org", "Secret", NULL, "00000001", SERVICE,
		  "auth", false, false, AUTH_FAIL, "another password" },
		{ "alice", "example.org", "secret", NULL, "00000001", SERVICE,
		  "auth", false, true, AUTH_FAIL,
		  "the hex inner hash (HTTP Digest habit)" },
		{ "alice", "example.org", "secret", NULL, "00000002", SERVICE,
		  "auth", false, false, AUTH_FAIL, "nc=00000002 (no reuse)" },
		{ "alice", "example.org", "secret", NULL, "00000001", "imap",
		  "auth", false, false, AUTH_FAIL,
		  "digest-uri of another service" },
		{ "olga", "other.example", "olga-pw", NULL, "00000001", SERVICE,
		  "auth", false, false, AUTH_FAIL,
		  "a realm not offered (olga@other.example exists, cleartext)" },
		{ "alice", "example.org", "secret", NULL, "00000001", SERVICE,
		  "auth-int", false, false, AUTH_FAIL, "qop=auth-int" },
		{ "alice", "example.org", "secret", NULL, "00000001", SERVICE,
		  "auth", true, false, AUTH_FAIL,
		  "a response to another nonce" },
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		const struct mech *m = mech_find("DIGEST-MD5");
		void *state = m->state_new(&ctx);
		struct mech_out out;
		char chal[512], nonce[128], uri[128], resp[1024], want[33],
		     rspauth[48], final[128] = "";
		unsigned char urp[16];
		enum mech_status st;
		enum auth_result res;
		int n;

		mech_out_init(&out);
		(void)m->step(state, &ctx, NULL, 0, true, &out);
		copy_out(chal, sizeof(chal), out.challenge.data ?
			 out.challenge.data : "", out.challenge.len);
		mech_out_clear(&out);
		if (!nonce_of(chal, nonce, sizeof(nonce))) {
			CHECK(0, "DIGEST-MD5 challenge with a nonce: %s", chal);
			m->state_free(state);
			continue;
		}
		if (v[i].bad_nonce)
			nonce[0] = nonce[0] == 'a' ? 'b' : 'a';
		snprintf(uri, sizeof(uri), "%s/mail.example.org",
			 v[i].uri_service);
		/* Every response is computed right for what it says, so only
		 * the check its row names can refuse it. */
		digest_urp(v[i].user, v[i].realm, v[i].pw, urp);
		if (v[i].hex_inner) {
			char h[33];

			hexs(urp, 16, h);
			digest_kd_key(h, 32, nonce, "c1", v[i].authzid, v[i].nc,
				      v[i].qop, "AUTHENTICATE", uri, want);
		} else {
			digest_kd_key(urp, 16, nonce, "c1", v[i].authzid, v[i].nc,
				      v[i].qop, "AUTHENTICATE", uri, want);
		}
		n = snprintf(resp, sizeof(resp), "username=\"%s\",realm=\"%s\","
			     "nonce=\"%s\",cnonce=\"c1\",nc=%s,%s%s%s"
			     "digest-uri=\"%s\",response=%s%s%s%s", v[i].user,
			     v[i].realm, nonce, v[i].nc, v[i].qop ? "qop=" : "",
			     v[i].qop ? v[i].qop : "", v[i].qop ? "," : "", uri,
			     want, v[i].authzid ? ",authzid=\"" : "",
			     v[i].authzid ? v[i].authzid : "",
			     v[i].authzid ? "\"" : "");
		mech_out_init(&out);
		st = m->step(state, &ctx, (const unsigned char *)resp, (size_t)n,
			     false, &out);
		res = out.result;
		if (out.has_final)
			copy_out(final, sizeof(final), out.final.data,
				 out.final.len);
		mech_out_clear(&out);
		m->state_free(state);
		CHECK(st == MECH_DONE && res == v[i].want,
		      "DIGEST-MD5 %s: %s: %s (status %d, result %d)", v[i].user,
		      v[i].desc, v[i].want == AUTH_OK ? "AUTH_OK" : "AUTH_FAIL",
		      st, res);
		if (v[i].want == AUTH_OK) {
			digest_kd_key(urp, 16, nonce, "c1", v[i].authzid,
				      v[i].nc, v[i].qop, "", uri, want);
			snprintf(rspauth, sizeof(rspauth), "rspauth=%s", want);
			CHECK_STR(final, rspauth, "DIGEST-MD5 %s: %s: rspauth as "
				  "RFC 2831 computes it", v[i].user, v[i].desc);
		}
	}
}

/* scram_proof - RFC 5802 §3 from the password: the base64 ClientProof
 * and ServerSignature of auth_message. */
static bool
scram_proof(const EVP_MD *md, const char *pw, const unsigned char *salt,
	    size_t salt_len, unsigned int iter, const char *auth_message,
	    char *proof_b64, char *sig_b64)
{
	unsigned char salted[32], ckey[32], skey[32], stored[32], csig[32],
		      proof[32], ssig[32];
	size_t kl = (size_t)EVP_MD_get_size(md), i;
	unsigned int n;

	if (PKCS5_PBKDF2_HMAC(pw, (int)strlen(pw), salt, (int)salt_len,
			      (int)iter, md, (int)kl, salted) != 1)
		return false;
	HMAC(md, salted, (int)kl, (const unsigned char *)"Client Key", 10,
	     ckey, &n);
	HMAC(md, salted, (int)kl, (const unsigned char *)"Server Key", 10,
	     skey, &n);
	EVP_Digest(ckey, kl, stored, NULL, md, NULL);
	HMAC(md, stored, (int)kl, (const unsigned char *)auth_message,
	     strlen(auth_message), csig, &n);
	HMAC(md, skey, (int)kl, (const unsigned char *)auth_message,
	     strlen(auth_message), ssig, &n);
	for (i = 0; i < kl; i++)
		proof[i] = ckey[i] ^ csig[i];
	codec_b64_encode(proof, kl, proof_b64);
	codec_b64_encode(ssig, kl, sig_b64);
	return true;
}

static void
test_scram_vectors(void)
{
	static const struct {
		const char *hash, *bare, *server_first, *without_proof, *p, *v;
	} v[] = {
		{ "SHA-256", "n=user,r=rOprNGfwEbeRWgbNEkqO",
		  "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
		  "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
		  "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
		  "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		  "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=" },
		{ "SHA-1", "n=user,r=fyko+d2lbbFgONRv9qkxdawL",
		  "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
		  "s=QSXCR+Q6sek8bf92,i=4096",
		  "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j",
		  "v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=", "rmF9pqV8S7suAoZWja4dJRkFsKQ=" },
	};
	size_t i;

	for (i = 0; i < 2; i++) {
		const EVP_MD *md = i == 0 ? EVP_sha256() : EVP_sha1();
		unsigned char salt[64];
		const char *s64 = strstr(v[i].server_first, ",s=") + 3;
		long sl = codec_b64_decode(s64, (size_t)(strchr(s64, ',') - s64),
					   salt);
		char am[512], proof[64] = "", sig[64] = "";

		snprintf(am, sizeof(am), "%s,%s,%s", v[i].bare,
			 v[i].server_first, v[i].without_proof);
		CHECK(sl > 0 && scram_proof(md, "pencil", salt, (size_t)sl, 4096,
					    am, proof, sig) &&
		      strcmp(proof, v[i].p) == 0 && strcmp(sig, v[i].v) == 0,
		      "reference: SCRAM-%s RFC vector p=%s v=%s", v[i].hash,
		      proof, sig);
	}
}

/* test_scram_reference - client-final messages computed right for what
 * they say (the proof signs them), so only the check a row names can
 * refuse them: the nonce, the channel-binding data. */
static void
test_scram_reference(void)
{
	static const struct {
		const char *mech, *gs2, *user, *pw;
		const char *cbind;	/* c= header, NULL: the gs2 header */
		bool bad_nonce;
		enum auth_result want;
		const char *authzid;	/* passed on with AUTH_OK */
		const char *desc;
	} v[] = {
		{ "SCRAM-SHA-256", "n,,", "user", "pencil", NULL, false, AUTH_OK,
		  NULL, "RFC 7677 verifier, computed proof" },
		{ "SCRAM-SHA-1", "n,,", "user", "pencil", NULL, false, AUTH_OK,
		  NULL, "RFC 5802 verifier, computed proof" },
		{ "SCRAM-SHA-256", "y,,", "user", "pencil", NULL, false, AUTH_OK,
		  NULL, "y: the client could bind, we offer no -PLUS" },
		{ "SCRAM-SHA-256", "n,a=bob,", "user", "pencil", NULL, false,
		  AUTH_OK, "bob", "with an authzid" },
		{ "SCRAM-SHA-256", "n,,", "user", "pencil2", NULL, false,
		  AUTH_FAIL, NULL, "the proof of another password" },
		{ "SCRAM-SHA-256", "n,,", "user", "pencil", NULL, true, AUTH_FAIL,
		  NULL, "another server nonce, signed by the proof" },
		{ "SCRAM-SHA-256", "n,,", "user", "pencil", "y,,", false,
		  AUTH_FAIL, NULL, "c= another GS2 header, signed by the proof" },
		{ "SCRAM-SHA-1", "n,a=bob,", "user", "pencil", "n,,", false,
		  AUTH_FAIL, NULL, "c= without the authzid the header had" },
		{ "SCRAM-SHA-1", "n,,", "user", "pencil", "n,", false,
		  AUTH_FAIL, NULL, "c= a truncated GS2 header" },
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		const struct mech *m = mech_find(v[i].mech);
		const EVP_MD *md = strcmp(v[i].mech, "SCRAM-SHA-1") == 0 ?
				   EVP_sha1() : EVP_sha256();
		void *state = m->state_new(&ctx);
		struct mech_out out;
		char cf[256], sf[512], cb64[64], wp[512], am[1400], fin[640],
		     proof[64], sig[64], want_v[80], got_v[128] = "",
		     authzid[64] = "";
		unsigned char salt[64];
		struct server_first f;
		const char *cb = v[i].cbind ? v[i].cbind : v[i].gs2, *nonce;
		enum mech_status st;
		enum auth_result res;
		long sl;
		int n;

		n = snprintf(cf, sizeof(cf), "%sn=%s,r=c-nonce", v[i].gs2,
			     v[i].user);
		mech_out_init(&out);
		st = m->step(state, &ctx, (const unsigned char *)cf, (size_t)n,
			     true, &out);
		copy_out(sf, sizeof(sf), out.challenge.data ?
			 out.challenge.data : "", out.challenge.len);
		mech_out_clear(&out);
		f = parse_server_first(sf, "c-nonce");
		sl = f.ok ? codec_b64_decode(f.s, f.s_len, salt) : -1;
		if (st != MECH_CONTINUE || sl <= 0) {
			CHECK(0, "%s: server-first for %s (%s)", v[i].mech,
			      v[i].desc, sf);
			m->state_free(state);
			continue;
		}
		nonce = sf + 2;
		codec_b64_encode((const unsigned char *)cb, strlen(cb), cb64);
		n = snprintf(wp, sizeof(wp), "c=%s,r=%.*s%s", cb64, (int)f.r_len,
			     nonce, v[i].bad_nonce ? "x" : "");
		snprintf(am, sizeof(am), "%s,%s,%s", cf + strlen(v[i].gs2), sf,
			 wp);
		scram_proof(md, v[i].pw, salt, (size_t)sl, (unsigned int)f.i, am,
			    proof, sig);
		n = snprintf(fin, sizeof(fin), "%s,p=%s", wp, proof);
		mech_out_init(&out);
		st = m->step(state, &ctx, (const unsigned char *)fin, (size_t)n,
			     false, &out);
		res = out.result;
		if (out.has_final)
			copy_out(got_v, sizeof(got_v), out.final.data,
				 out.final.len);
		if (out.authzid != NULL)
			copy_out(authzid, sizeof(authzid), out.authzid,
				 out.authzid_len);
		mech_out_clear(&out);
		m->state_free(state);
		snprintf(want_v, sizeof(want_v), "v=%s", sig);
		if (v[i].want == AUTH_OK)
			CHECK(st == MECH_DONE && res == AUTH_OK &&
			      strcmp(got_v, want_v) == 0 &&
			      strcmp(authzid, v[i].authzid ? v[i].authzid : "") ==
			      0, "%s %s: AUTH_OK, %s as RFC 5802 computes it%s "
			      "(status %d, result %d, got %s)", v[i].mech,
			      v[i].desc, want_v, v[i].authzid ?
			      ", authzid passed on" : "", st, res, got_v);
		else
			CHECK(st == MECH_DONE && res == AUTH_FAIL && got_v[0] == 0,
			      "%s %s: AUTH_FAIL, no v= (status %d, result %d)",
			      v[i].mech, v[i].desc, st, res);
	}
}

/* test_digest_realm_spelling - the realms the challenge offers are the
 * ones the stored hashes bind: realms are lower-cased by the name rule
 * (userdb/name.h), so a default_realm or a digest_md5_realms entry
 * written in capitals must not offer a spelling no stored hash uses; a
 * word that is no realm at all is refused when the settings load. */
static void
test_digest_realm_spelling(const char *store_path)
{
	static const struct {
		const char *key, *value;
	} v[] = {
		{ "default_realm", "Example.ORG" },
		{ "digest_md5_realms", "EXAMPLE.org" },
	};
	struct authd_settings *saved = authd.set;
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		const char *const kv[] = {
			"default_realm", "example.org",
			"store_path", store_path,
			v[i].key, v[i].value,
			NULL,
		};
		const char *const *p = i == 0 ? kv + 2 : kv;
		struct result r;

		if ((authd.set = fixture_settings(p)) == NULL) {
			CHECK(0, "settings with %s = %s", v[i].key, v[i].value);
			authd.set = saved;
			continue;
		}
		exchange("DIGEST-MD5", "tim", TIM_PW, NULL, true, NULL, &r);
		CHECK(strstr(r.challenge, "realm=\"example.org\"") != NULL &&
		      r.st == MECH_DONE && r.result == AUTH_OK &&
		      r.finish == AUTHD_OK,
		      "%s = %s: the challenge offers realm=\"example.org\" and "
		      "tim's stored hash serves (challenge %.60s..., result %d)",
		      v[i].key, v[i].value, r.challenge, r.result);
		authd_settings_free(authd.set);
		authd.set = saved;
	}
	{
		static const char *const bad[] = {
			"exa\"mple.org", "example..org", "postmaster@example.org",
			"example.org x!y",
		};

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			struct config *cfg = conf_keys_new();
			struct authd_settings *s = NULL;
			char *err = NULL;

			if (config_set(cfg, "digest_md5_realms", bad[i], &err))
				s = authd_settings_load(cfg, &err);
			CHECK(s == NULL && err != NULL &&
			      strncmp(err, "digest_md5_realms: ", 19) == 0,
			      "digest_md5_realms = %s: refused at load (%s)", bad[i],
			      err != NULL ? err : "loaded");
			if (s != NULL)
				authd_settings_free(s);
			else
				config_free(cfg);
			free(err);
		}
	}
}

/* ------------------------------------------------------------------ */

static bool
make_store(const struct fixture_store *st, const struct authd_settings *s)
{
	return fixture_store_user(st, s, "tim", TIM_PW, V_ALL, false) &&
	       fixture_store_user(st, s, "erin", ERIN_PW, V_ALL, false) &&
	       fixture_store_user(st, s, "carol", CAROL_PW, USERDB_V_CLEARTEXT,
				  false) &&
	       fixture_store_user(st, s, "dave", DAVE_PW, V_ALL, true) &&
	       fixture_store_user(st, s, "olga@other.example", "olga-pw",
				  USERDB_V_CLEARTEXT, false) &&
	       fixture_store_line(st, s, "alice@example.org::"
		   "{CRAM-MD5}cd3ba7deaad6e5ca23448ba42e379747a9e0f7f1fbc00c8a"
		   "81bbaac395731b56 "
		   "{DIGEST-MD5}543e1aec5d3614f03141652d6ada51b2") &&
	       fixture_store_line(st, s, "user@example.org::"
		   "{SCRAM-SHA-256}4096,W22ZaJ0SNY7soEsUEjb6gQ==,"
		   "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,"
		   "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU= "
		   "{SCRAM-SHA-1}4096,QSXCR+Q6sek8bf92,"
		   "6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE=");
}

int
main(void)
{
	struct fixture_store st;
	const char *why;

	log_init("test_mechs", false, 0, true);
	if (!fixture_store_init(&st))
		return 1;
	{
		const char *const kv[] = {
			"default_realm", "example.org",
			"store_path", st.path,
			"password_scheme", "sha512-crypt",
			"password_cost", "1000",
			"auth_mechanisms", "plain login cram-md5 digest-md5 "
					   "scram-sha-1 scram-sha-256",
			NULL,
		};

		authd.set = fixture_settings(kv);
	}
	CHECK(authd.set != NULL, "settings load");
	if (authd.set == NULL)
		return test_done();
	CHECK(make_store(&st, authd.set), "store with tim, erin, carol, dave, "
	      "olga, alice and user");
	authd.db = userdb_new(st.path);
	why = mech_enable(config_str(authd.set->cfg, "auth_mechanisms"), "");
	{
		size_t n = 0;

		(void)mech_list(&n);
		CHECK(why == NULL && n == 6, "all six mechanisms enabled (%s, %zu)",
		      why ? why : "ok", n);
	}

	test_reference();
	test_success();
	test_failure();
	test_scram_unknown();
	test_malformed();
	test_cram_reference();
	test_digest_reference();
	test_scram_vectors();
	test_scram_reference();
	test_digest_realm_spelling(st.path);

	userdb_free(authd.db);
	authd_settings_free(authd.set);
	fixture_store_remove(&st);
	return test_done();
}
