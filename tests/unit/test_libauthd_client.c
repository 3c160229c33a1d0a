/*
 * test_libauthd_client - the client side of the mechanisms in libauthd
 * (struct authd_client) against the RFC vectors of
 * ../shared/reference/mechanisms.md: PLAIN (RFC 4616), LOGIN, CRAM-MD5
 * (RFC 2195), DIGEST-MD5 (RFC 2831 §4, both examples, and the hex inner
 * hash refused), SCRAM-SHA-1 (RFC 5802) and SCRAM-SHA-256 (RFC 7677);
 * then malformed challenges and servers that fail to prove themselves.
 * Uses only the public API (authd.h), plus common/codec for base64.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "authd.h"
#include "codec.h"
#include "test.h"

/* The response of the last call, as a C string (NULs shown as '|'). */
static char shown[2048];

static const char *
show(const unsigned char *p, size_t n)
{
	size_t i;

	if (p == NULL)
		return "(none)";
	for (i = 0; i < n && i < sizeof(shown) - 1; i++)
		shown[i] = p[i] == '\0' ? '|' : (char)p[i];
	shown[i] = '\0';
	return shown;
}

static const char *
b64(const unsigned char *p, size_t n)
{
	static char out[2048];

	if (p == NULL || codec_b64_encoded_len(n) >= sizeof(out))
		return "(none)";
	codec_b64_encode(p, n, out);
	return out;
}

static struct authd_client *
client(const char *mech, const char *user, const char *pass,
       const char *authzid)
{
	struct authd_client *cl = NULL;

	if (authd_client_new(mech, &cl) != AUTHD_OK)
		return NULL;
	if (authd_client_set_credentials(cl, user, pass, authzid) != AUTHD_OK) {
		authd_client_free(cl);
		return NULL;
	}
	return cl;
}

/* step - authd_client_step on a C-string challenge. */
static int
step(struct authd_client *cl, const char *challenge,
     const unsigned char **resp, size_t *len)
{
	return authd_client_step(cl, (const unsigned char *)challenge,
				 strlen(challenge), resp, len);
}

static void
test_plain(void)
{
	static const struct {
		const char *authzid, *authcid, *pass, *want_b64;
	} v[] = {
		{ NULL, "tim", "tanstaaftanstaaf", "AHRpbQB0YW5zdGFhZnRhbnN0YWFm" },
		{ "Ursel", "Kurt", "xipj3plmq", "VXJzZWwAS3VydAB4aXBqM3BsbXE=" },
		{ "test", "test", "1234", "dGVzdAB0ZXN0ADEyMzQ=" },
		{ "", "tim", "tanstaaftanstaaf", "AHRpbQB0YW5zdGFhZnRhbnN0YWFm" },
	};
	const unsigned char *r;
	size_t n, i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct authd_client *cl = client("plain", v[i].authcid,
						 v[i].pass, v[i].authzid);

		CHECK(cl != NULL && authd_client_start(cl, true, &r, &n) ==
		      AUTHD_OK, "PLAIN %s: start", v[i].authcid);
		CHECK_STR(b64(r, n), v[i].want_b64, "PLAIN vector %zu: initial "
			  "response %s", i, v[i].want_b64);
		CHECK(authd_client_finish(cl, NULL, 0) == AUTHD_OK,
		      "PLAIN %zu: finish", i);
		authd_client_free(cl);
	}
	{
		struct authd_client *cl = client("PLAIN", "tim",
						 "tanstaaftanstaaf", NULL);

		CHECK(authd_client_start(cl, false, &r, &n) == AUTHD_OK &&
		      r == NULL, "PLAIN without initial response: none given");
		CHECK(step(cl, "", &r, &n) == AUTHD_CONTINUE &&
		      n == 21 && memcmp(r, "\0tim\0tanstaaftanstaaf", 21) == 0,
		      "PLAIN answers the empty challenge with the message");
		CHECK(step(cl, "", &r, &n) == AUTHD_ERR_CHALLENGE,
		      "PLAIN refuses a second challenge");
		authd_client_free(cl);
	}
}

static void
test_login(void)
{
	struct authd_client *cl = client("LOGIN", "tim", "tanstaaftanstaaf",
					 NULL);
	const unsigned char *r;
	size_t n;

	CHECK(authd_client_start(cl, false, &r, &n) == AUTHD_OK && r == NULL,
	      "LOGIN: no initial response when not asked for");
	CHECK(step(cl, "Username:", &r, &n) == AUTHD_CONTINUE,
	      "LOGIN: first prompt");
	CHECK_STR(show(r, n), "tim", "LOGIN: the user name first");
	CHECK(step(cl, "Password:", &r, &n) == AUTHD_CONTINUE,
	      "LOGIN: second prompt");
	CHECK_STR(show(r, n), "tanstaaftanstaaf", "LOGIN: then the password");
	CHECK(step(cl, "Password:", &r, &n) == AUTHD_ERR_CHALLENGE,
	      "LOGIN: a third prompt is refused");
	authd_client_free(cl);

	cl = client("login", "tim", "tanstaaftanstaaf", NULL);
	CHECK(authd_client_start(cl, true, &r, &n) == AUTHD_OK,
	      "LOGIN with an initial response");
	CHECK_STR(show(r, n), "tim", "LOGIN: the initial response is the user");
	CHECK(step(cl, "Password:", &r, &n) == AUTHD_CONTINUE,
	      "LOGIN: the first prompt is then Password:");
	CHECK_STR(show(r, n), "tanstaaftanstaaf", "LOGIN: the password");
	CHECK(authd_client_finish(cl, NULL, 0) == AUTHD_OK, "LOGIN: finish");
	authd_client_free(cl);
}

static void
test_cram_md5(void)
{
	struct authd_client *cl = client("CRAM-MD5", "tim", "tanstaaftanstaaf",
					 NULL);
	unsigned char chal[128];
	const unsigned char *r;
	size_t n;
	long cl_len;

	CHECK(authd_client_start(cl, true, &r, &n) == AUTHD_OK && r == NULL,
	      "CRAM-MD5 has no initial response");
	cl_len = codec_b64_decode("PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9u"
				  "Lm1jaS5uZXQ+", 56, chal);
	CHECK(cl_len == 42, "RFC 2195 challenge decodes");
	CHECK(authd_client_step(cl, chal, (size_t)cl_len, &r, &n) ==
	      AUTHD_CONTINUE, "CRAM-MD5 step");
	CHECK_STR(show(r, n), "tim b913a602c7eda7a495b4e6e7334d3890",
		  "CRAM-MD5 RFC 2195 digest");
	CHECK_STR(b64(r, n), "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw",
		  "CRAM-MD5 RFC 2195 client line in base64");
	CHECK(step(cl, "<x@y>", &r, &n) == AUTHD_ERR_CHALLENGE,
	      "CRAM-MD5 refuses a second challenge");
	authd_client_free(cl);

	cl = client("CRAM-MD5", "tim", "x", NULL);
	authd_client_start(cl, true, &r, &n);
	CHECK(step(cl, "", &r, &n) == AUTHD_ERR_CHALLENGE,
	      "CRAM-MD5 refuses an empty challenge");
	authd_client_free(cl);
}

/* DIGEST-MD5 ---------------------------------------------------------- */

#define RFC2831_CHALLENGE "realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQGm2hh\"," \
	"qop=\"auth\",algorithm=md5-sess,charset=utf-8"

static struct authd_client *
digest_client(const char *service, const char *cnonce)
{
	struct authd_client *cl = client("DIGEST-MD5", "chris", "secret", NULL);

	authd_client_set_service(cl, service, "elwood.innosoft.com");
	authd_client_set_nonce(cl, cnonce);
	return cl;
}

static void
md5_hex(const char *in, size_t n, char out[33])
{
	unsigned char d[16];

	EVP_Digest(in, n, d, NULL, EVP_md5(), NULL);
	codec_hex_encode(d, 16, out);
}

/* hex_inner - the HTTP-Digest habit RFC 2831 does not follow: the inner
 * H(user:realm:pw) hexed.  a2 is "AUTHENTICATE:uri" or ":uri". */
static void
hex_inner(const char *a2, char out[33])
{
	char inner[33], ha1[33], ha2[33], buf[256];

	md5_hex("chris:elwood.innosoft.com:secret", 32, inner);
	snprintf(buf, sizeof(buf), "%s:OA6MG9tEQGm2hh:OA6MHXh6VqTrRk", inner);
	md5_hex(buf, strlen(buf), ha1);
	md5_hex(a2, strlen(a2), ha2);
	snprintf(buf, sizeof(buf), "%s:OA6MG9tEQGm2hh:00000001:OA6MHXh6VqTrRk:"
		 "auth:%s", ha1, ha2);
	md5_hex(buf, strlen(buf), out);
}

static void
test_digest_md5(void)
{
	struct authd_client *cl;
	const unsigned char *r;
	size_t n;
	char wrong[33], line[128];

	/* RFC 2831 §4, IMAP. */
	cl = digest_client("imap", "OA6MHXh6VqTrRk");
	CHECK(authd_client_start(cl, true, &r, &n) == AUTHD_OK && r == NULL,
	      "DIGEST-MD5 has no initial response");
	CHECK(step(cl, RFC2831_CHALLENGE, &r, &n) == AUTHD_CONTINUE,
	      "DIGEST-MD5 answers the RFC 2831 challenge");
	CHECK_STR(show(r, n), "charset=utf-8,username=\"chris\","
		  "realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQGm2hh\","
		  "nc=00000001,cnonce=\"OA6MHXh6VqTrRk\","
		  "digest-uri=\"imap/elwood.innosoft.com\","
		  "response=d388dad90d4bbd760a152321f2143af7,qop=auth",
		  "DIGEST-MD5 RFC 2831 §4 response d388dad9...");
	hex_inner("AUTHENTICATE:imap/elwood.innosoft.com", wrong);
	CHECK_STR(wrong, "26ef1190b643a36e879673066098379c",
		  "the test computes the hex-inner-hash negative vector");
	CHECK(strstr(shown, wrong) == NULL, "the response is not the "
	      "hex-inner-hash value 26ef1190...");
	CHECK(step(cl, "rspauth=ea40f60335c427b5527b84dbabcdfffd", &r, &n) ==
	      AUTHD_CONTINUE && n == 0, "rspauth ea40f603... verified, "
	      "answered with an empty response");
	CHECK(authd_client_finish(cl, NULL, 0) == AUTHD_OK,
	      "DIGEST-MD5 finish after rspauth");
	authd_client_free(cl);

	/* The server's proof computed the HTTP-Digest way is refused. */
	cl = digest_client("imap", "OA6MHXh6VqTrRk");
	authd_client_start(cl, true, &r, &n);
	step(cl, RFC2831_CHALLENGE, &r, &n);
	hex_inner(":imap/elwood.innosoft.com", wrong);
	snprintf(line, sizeof(line), "rspauth=%s", wrong);
	CHECK(step(cl, line, &r, &n) == AUTHD_ERR_VERIFY, "an rspauth from the "
	      "hex inner hash is refused (%s)", authd_client_error(cl));
	CHECK(authd_client_finish(cl, NULL, 0) == AUTHD_ERR_INVALID,
	      "no finish after a failed verification");
	authd_client_free(cl);

	cl = digest_client("imap", "OA6MHXh6VqTrRk");
	authd_client_start(cl, true, &r, &n);
	step(cl, RFC2831_CHALLENGE, &r, &n);
	CHECK(step(cl, "rspauth=26ef1190b643a36e879673066098379c", &r, &n) ==
	      AUTHD_ERR_VERIFY, "rspauth=26ef1190... (the negative vector) is "
	      "refused");
	authd_client_free(cl);

	/* RFC 2831 §4, ACAP: the second example. */
	cl = digest_client("acap", "OA9BSuZWMSpW8m");
	authd_client_start(cl, true, &r, &n);
	CHECK(step(cl, "realm=\"elwood.innosoft.com\",nonce=\"OA9BSXrbuRhWay\","
		   "qop=\"auth\",algorithm=md5-sess,charset=utf-8", &r, &n) ==
	      AUTHD_CONTINUE, "DIGEST-MD5 ACAP example");
	CHECK(strstr(show(r, n), "response=6084c6db3fede7352c551284490fd0fc") !=
	      NULL, "ACAP response 6084c6db...");
	CHECK(strstr(shown, "digest-uri=\"acap/elwood.innosoft.com\"") != NULL,
	      "ACAP digest-uri");
	/* final-resp-ok: the proof comes with the success. */
	CHECK(authd_client_finish(cl, (const unsigned char *)
				  "rspauth=2f0b3d7c3c2e486600ef710726aa2eae",
				  40) == AUTHD_OK,
	      "ACAP rspauth 2f0b3d7c... verified as final data");
	authd_client_free(cl);

	cl = digest_client("imap", "OA6MHXh6VqTrRk");
	authd_client_start(cl, true, &r, &n);
	step(cl, RFC2831_CHALLENGE, &r, &n);
	CHECK(authd_client_finish(cl, NULL, 0) == AUTHD_ERR_VERIFY,
	      "success without rspauth is refused (%s)", authd_client_error(cl));
	authd_client_free(cl);

	cl = digest_client("imap", "OA6MHXh6VqTrRk");
	authd_client_start(cl, true, &r, &n);
	step(cl, RFC2831_CHALLENGE, &r, &n);
	CHECK(authd_client_finish(cl, (const unsigned char *)
				  "rspauth=ea40f60335c427b5527b84dbabcdfffe",
				  40) == AUTHD_ERR_VERIFY,
	      "a wrong rspauth as final data is refused");
	authd_client_free(cl);
}

static void
test_digest_md5_parsing(void)
{
	static const struct {
		const char *challenge;
		int want;
		const char *want_part;	/* in the response, if CONTINUE */
		const char *desc;
	} v[] = {
		{ "nonce=\"abc\",algorithm=md5-sess", AUTHD_CONTINUE,
		  "username=\"chris\",nonce=\"abc\",nc=00000001",
		  "no realm, no qop, no charset: no realm directive" },
		{ " , realm=\"a\" ,realm=\"b\",nonce=abc,qop=\"auth-int, auth\","
		  "algorithm=md5-sess,stale=true,maxbuf=65536,x-unknown=\"q\"",
		  AUTHD_CONTINUE, ",realm=\"a\",", "first of several realms; "
		  "LWS, empty elements, unknown directives" },
		{ "nonce=\"a\\\"b\\\\c\",algorithm=md5-sess,charset=utf-8",
		  AUTHD_CONTINUE, "nonce=\"a\\\"b\\\\c\"",
		  "escapes in a quoted nonce are undone and redone" },
		{ "realm=\"x\",qop=\"auth\",algorithm=md5-sess",
		  AUTHD_ERR_CHALLENGE, NULL, "no nonce" },
		{ "nonce=\"a\",nonce=\"b\",algorithm=md5-sess",
		  AUTHD_ERR_CHALLENGE, NULL, "two nonces" },
		{ "nonce=\"a\",qop=\"auth\"", AUTHD_ERR_CHALLENGE, NULL,
		  "no algorithm" },
		{ "nonce=\"a\",algorithm=md5", AUTHD_ERR_CHALLENGE, NULL,
		  "algorithm other than md5-sess" },
		{ "nonce=\"a\",algorithm=md5-sess,qop=\"auth-int,auth-conf\"",
		  AUTHD_ERR_CHALLENGE, NULL, "qop without auth" },
		{ "nonce=\"a,algorithm=md5-sess", AUTHD_ERR_CHALLENGE, NULL,
		  "unterminated quoted string" },
		{ "nonce=\"a\\", AUTHD_ERR_CHALLENGE, NULL,
		  "backslash at the end" },
		{ "nonce=\"a\",algorithm=md5-sess,charset=latin1",
		  AUTHD_ERR_CHALLENGE, NULL, "charset other than utf-8" },
		{ "nonce", AUTHD_ERR_CHALLENGE, NULL, "a name without a value" },
		{ "nonce=a b,algorithm=md5-sess", AUTHD_ERR_CHALLENGE, NULL,
		  "two tokens in a value" },
	};
	const unsigned char *r;
	size_t i, n;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct authd_client *cl = digest_client("imap", "CN");
		int rc;

		authd_client_start(cl, true, &r, &n);
		rc = step(cl, v[i].challenge, &r, &n);
		CHECK(rc == v[i].want && (v[i].want_part == NULL ||
					  strstr(show(r, n), v[i].want_part)),
		      "DIGEST-MD5 challenge: %s (got %d, %s)", v[i].desc, rc,
		      rc == AUTHD_CONTINUE ? shown : authd_client_error(cl));
		authd_client_free(cl);
	}
	{
		char big[5000];
		struct authd_client *cl = digest_client("imap", "CN");

		memset(big, 'a', sizeof(big));
		memcpy(big, "nonce=", 6);
		big[sizeof(big) - 1] = '\0';
		authd_client_start(cl, true, &r, &n);
		CHECK(step(cl, big, &r, &n) == AUTHD_ERR_CHALLENGE,
		      "DIGEST-MD5: a 5000-byte challenge is refused");
		authd_client_free(cl);
	}
	{
		/* authzid goes into A1 and into the response. */
		struct authd_client *cl = client("DIGEST-MD5", "chris", "secret",
						 "admin");

		authd_client_set_service(cl, "imap", NULL);
		authd_client_set_nonce(cl, "CN");
		authd_client_start(cl, true, &r, &n);
		CHECK(step(cl, RFC2831_CHALLENGE, &r, &n) == AUTHD_CONTINUE &&
		      strstr(show(r, n), ",qop=auth,authzid=\"admin\"") != NULL &&
		      strstr(shown, "digest-uri=\"imap/localhost\"") != NULL,
		      "DIGEST-MD5 with authzid and the default host: %s", shown);
		authd_client_free(cl);
	}
	{
		/* An explicit realm wins over the challenge's. */
		struct authd_client *cl = digest_client("imap", "CN");

		authd_client_set_realm(cl, "example.org");
		authd_client_start(cl, true, &r, &n);
		CHECK(step(cl, RFC2831_CHALLENGE, &r, &n) == AUTHD_CONTINUE &&
		      strstr(show(r, n), "realm=\"example.org\"") != NULL,
		      "DIGEST-MD5 with authd_client_set_realm");
		authd_client_free(cl);
	}
	{
		/* Without charset=utf-8 the strings must fit ISO-8859-1. */
		struct authd_client *cl = client("DIGEST-MD5", "\xe4\xb8\xad",
						 "secret", NULL);

		authd_client_set_service(cl, "imap", NULL);
		authd_client_start(cl, true, &r, &n);
		CHECK(step(cl, "nonce=\"a\",algorithm=md5-sess", &r, &n) ==
		      AUTHD_ERR_PASSWORD, "DIGEST-MD5: a CJK user name without "
		      "charset=utf-8 is refused");
		authd_client_free(cl);
	}
	{
		/* RFC 2831 §2.1.2.1: a UTF-8 password that fits ISO-8859-1 is
		 * hashed as ISO-8859-1: "s\xc3\xa9" like "s\xe9". */
		struct authd_client *a = client("DIGEST-MD5", "u", "s\xc3\xa9", NULL);
		struct authd_client *b = client("DIGEST-MD5", "u", "s\xe9", NULL);
		char ra[512];

		authd_client_set_service(a, "imap", NULL);
		authd_client_set_service(b, "imap", NULL);
		authd_client_set_nonce(a, "CN");
		authd_client_set_nonce(b, "CN");
		authd_client_start(a, true, &r, &n);
		authd_client_start(b, true, &r, &n);
		step(a, RFC2831_CHALLENGE, &r, &n);
		snprintf(ra, sizeof(ra), "%s", show(r, n));
		step(b, RFC2831_CHALLENGE, &r, &n);
		CHECK(strcmp(ra, show(r, n)) == 0, "DIGEST-MD5 hashes a password "
		      "that fits ISO-8859-1 in ISO-8859-1");
		authd_client_free(a);
		authd_client_free(b);
	}
	{
		struct authd_client *cl = client("DIGEST-MD5", "u", "p", NULL);

		CHECK(authd_client_start(cl, true, &r, &n) == AUTHD_ERR_INVALID,
		      "DIGEST-MD5 without a service cannot start");
		authd_client_free(cl);
	}
}

/* SCRAM ---------------------------------------------------------------- */

static const struct scram_vector {
	const char *mech, *cnonce, *client_first, *server_first, *client_final,
		   *server_final;
} scram_vectors[] = {
	{ "SCRAM-SHA-256", "rOprNGfwEbeRWgbNEkqO",
	  "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
	  "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
	  "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
	  "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
	  "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
	  "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=" },
	{ "SCRAM-SHA-1", "fyko+d2lbbFgONRv9qkxdawL",
	  "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
	  "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,"
	  "i=4096",
	  "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
	  "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
	  "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=" },
};

/* scram_to_final - a client of vector v, stepped to client-final. */
static struct authd_client *
scram_to_final(const struct scram_vector *v, const char *pass)
{
	struct authd_client *cl = client(v->mech, "user", pass, NULL);
	const unsigned char *r;
	size_t n;

	authd_client_set_nonce(cl, v->cnonce);
	if (authd_client_start(cl, true, &r, &n) != AUTHD_OK ||
	    step(cl, v->server_first, &r, &n) != AUTHD_CONTINUE) {
		authd_client_free(cl);
		return NULL;
	}
	return cl;
}

static void
test_scram_vectors(void)
{
	const unsigned char *r;
	size_t i, n;

	for (i = 0; i < sizeof(scram_vectors) / sizeof(scram_vectors[0]); i++) {
		const struct scram_vector *v = &scram_vectors[i];
		struct authd_client *cl = client(v->mech, "user", "pencil", NULL);
		char wrong[128];

		CHECK(authd_client_set_nonce(cl, v->cnonce) == AUTHD_OK,
		      "%s: fixed client nonce", v->mech);
		CHECK(authd_client_start(cl, true, &r, &n) == AUTHD_OK,
		      "%s: start", v->mech);
		CHECK_STR(show(r, n), v->client_first, "%s: client-first",
			  v->mech);
		CHECK(step(cl, v->server_first, &r, &n) == AUTHD_CONTINUE,
		      "%s: server-first accepted", v->mech);
		CHECK_STR(show(r, n), v->client_final, "%s: client-final with "
			  "the RFC proof", v->mech);
		CHECK(step(cl, v->server_final, &r, &n) == AUTHD_CONTINUE &&
		      r != NULL && n == 0, "%s: the RFC v= is accepted, "
		      "answered with an empty response", v->mech);
		CHECK(authd_client_finish(cl, NULL, 0) == AUTHD_OK,
		      "%s: finish after v=", v->mech);
		authd_client_free(cl);

		/* The same through final data (final-resp-ok). */
		cl = scram_to_final(v, "pencil");
		CHECK(cl != NULL && authd_client_finish(cl, (const unsigned char *)
			v->server_final, strlen(v->server_final)) == AUTHD_OK,
		      "%s: the RFC v= accepted as final data", v->mech);
		authd_client_free(cl);

		/* A wrong v=: one bit off. */
		snprintf(wrong, sizeof(wrong), "%s", v->server_final);
		wrong[3] = wrong[3] == 'A' ? 'B' : 'A';
		cl = scram_to_final(v, "pencil");
		CHECK(cl != NULL && step(cl, wrong, &r, &n) == AUTHD_ERR_VERIFY,
		      "%s: a wrong v= is refused", v->mech);
		authd_client_free(cl);
		cl = scram_to_final(v, "pencil");
		CHECK(cl != NULL && authd_client_finish(cl, (const unsigned char *)
			wrong, strlen(wrong)) == AUTHD_ERR_VERIFY,
		      "%s: a wrong v= as final data is refused", v->mech);
		authd_client_free(cl);

		/* Another password: another proof, and the RFC's v= fails. */
		cl = scram_to_final(v, "pencil2");
		CHECK(cl != NULL && step(cl, v->server_final, &r, &n) ==
		      AUTHD_ERR_VERIFY, "%s: v= for another password is refused",
		      v->mech);
		authd_client_free(cl);

		cl = scram_to_final(v, "pencil");
		CHECK(cl != NULL && authd_client_finish(cl, NULL, 0) ==
		      AUTHD_ERR_VERIFY, "%s: success without v= is refused",
		      v->mech);
		authd_client_free(cl);

		cl = scram_to_final(v, "pencil");
		CHECK(cl != NULL && step(cl, "e=invalid-proof", &r, &n) ==
		      AUTHD_FAIL, "%s: e= in server-final is a refusal (%s)",
		      v->mech, cl != NULL ? authd_client_error(cl) : "");
		authd_client_free(cl);
	}
}

static void
test_scram_more(void)
{
	static const struct {
		const char *server_first;
		int want;
		const char *desc;
	} bad[] = {
		{ "r=NONCEsrv,s=QSXCR+Q6sek8bf92,i=4096", AUTHD_CONTINUE,
		  "a valid server-first (control)" },
		{ "r=NONCEsrv,s=QSXCR+Q6sek8bf92,i=4096,x=ext", AUTHD_CONTINUE,
		  "extensions after i= are ignored" },
		{ "r=OTHERsrv,s=QSXCR+Q6sek8bf92,i=4096", AUTHD_ERR_CHALLENGE,
		  "a nonce that does not start with ours" },
		{ "r=NONCE,s=QSXCR+Q6sek8bf92,i=4096", AUTHD_ERR_CHALLENGE,
		  "a nonce with no server part" },
		{ "r=NONCEsrv,s=QSXCR+Q6sek8bf9,i=4096", AUTHD_ERR_CHALLENGE,
		  "a salt that is not base64" },
		{ "r=NONCEsrv,s=,i=4096", AUTHD_ERR_CHALLENGE, "an empty salt" },
		{ "r=NONCEsrv,s=QSXCR+Q6sek8bf92,i=0", AUTHD_ERR_CHALLENGE,
		  "i=0" },
		{ "r=NONCEsrv,s=QSXCR+Q6sek8bf92,i=99999999999",
		  AUTHD_ERR_CHALLENGE, "i= above the cap" },
		{ "r=NONCEsrv,s=QSXCR+Q6sek8bf92,i=4x", AUTHD_ERR_CHALLENGE,
		  "i= not a number" },
		{ "r=NONCEsrv,s=QSXCR+Q6sek8bf92", AUTHD_ERR_CHALLENGE,
		  "no i=" },
		{ "s=QSXCR+Q6sek8bf92,r=NONCEsrv,i=4096", AUTHD_ERR_CHALLENGE,
		  "attributes out of order" },
		{ "m=ext,r=NONCEsrv,s=QSXCR+Q6sek8bf92,i=4096",
		  AUTHD_ERR_CHALLENGE, "a mandatory extension" },
		{ "e=unknown-user", AUTHD_FAIL, "e= in server-first" },
		{ "", AUTHD_ERR_CHALLENGE, "an empty server-first" },
		{ "r=NONCEs\x01v,s=QSXCR+Q6sek8bf92,i=4096", AUTHD_ERR_CHALLENGE,
		  "a control character in the nonce" },
	};
	const unsigned char *r;
	size_t i, n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct authd_client *cl = client("SCRAM-SHA-1", "user", "pencil",
						 NULL);
		int rc;

		authd_client_set_nonce(cl, "NONCE");
		authd_client_start(cl, true, &r, &n);
		rc = step(cl, bad[i].server_first, &r, &n);
		CHECK(rc == bad[i].want, "SCRAM server-first: %s (got %d: %s)",
		      bad[i].desc, rc, authd_client_error(cl));
		authd_client_free(cl);
	}
	{
		struct authd_client *cl = client("SCRAM-SHA-256", "us,er=x",
						 "pencil", "ad=min,1");

		authd_client_set_nonce(cl, "NONCE");
		authd_client_start(cl, true, &r, &n);
		CHECK_STR(show(r, n), "n,a=ad=3Dmin=2C1,n=us=2Cer=3Dx,r=NONCE",
			  "SCRAM saslname escaping and authzid in the GS2 header");
		step(cl, "r=NONCEs,s=QSXCR+Q6sek8bf92,i=1", &r, &n);
		/* base64("n,a=ad=3Dmin=2C1,") */
		CHECK(strncmp(show(r, n), "c=bixhPWFkPTNEbWluPTJDMSw=,r=NONCEs,p=",
			      38) == 0, "SCRAM c= carries the GS2 header: %s",
		      shown);
		authd_client_free(cl);
	}
	{
		struct authd_client *cl = client("SCRAM-SHA-256", "user",
						 "pencil", NULL);

		authd_client_set_nonce(cl, "rOprNGfwEbeRWgbNEkqO");
		CHECK(authd_client_start(cl, false, &r, &n) == AUTHD_OK &&
		      r == NULL, "SCRAM without an initial response");
		CHECK(step(cl, "", &r, &n) == AUTHD_CONTINUE,
		      "SCRAM: the empty first challenge");
		CHECK_STR(show(r, n), scram_vectors[0].client_first,
			  "SCRAM: client-first answers it");
		CHECK(step(cl, scram_vectors[0].server_first, &r, &n) ==
		      AUTHD_CONTINUE && strcmp(show(r, n),
					       scram_vectors[0].client_final) == 0,
		      "SCRAM: then the RFC client-final");
		authd_client_free(cl);
	}
	{
		/* SASLprep: U+00AD (soft hyphen) maps to nothing, U+00A0 to a
		 * space; the proofs equal those of the mapped password. */
		struct authd_client *a = client("SCRAM-SHA-1", "user",
						"pen\xc2\xad" "cil\xc2\xa0x", NULL);
		struct authd_client *b = client("SCRAM-SHA-1", "user",
						"pencil x", NULL);
		char ra[256];

		authd_client_set_nonce(a, "NONCE");
		authd_client_set_nonce(b, "NONCE");
		CHECK(authd_client_start(a, true, &r, &n) == AUTHD_OK,
		      "SASLprep accepts a non-ASCII password");
		authd_client_start(b, true, &r, &n);
		step(a, "r=NONCEs,s=QSXCR+Q6sek8bf92,i=1", &r, &n);
		snprintf(ra, sizeof(ra), "%s", show(r, n));
		step(b, "r=NONCEs,s=QSXCR+Q6sek8bf92,i=1", &r, &n);
		CHECK(strcmp(ra, show(r, n)) == 0, "SCRAM hashes SASLprep(password)");
		authd_client_free(a);
		authd_client_free(b);
	}
	{
		static const char *const refused[] = {
			"pass\x07word",		/* control character */
			"pass\xef\xbf\xbf",	/* U+FFFF, a non-character */
			"\xc8\xa1x",		/* U+0221, unassigned in 3.2 */
			"\xff\xfe",		/* not UTF-8 */
			"\330\247a",		/* RandALCat then LCat */
		};

		for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
			struct authd_client *cl = client("SCRAM-SHA-256", "user",
							 refused[i], NULL);

			CHECK(authd_client_start(cl, true, &r, &n) ==
			      AUTHD_ERR_PASSWORD, "SASLprep refuses password %zu",
			      i);
			authd_client_free(cl);
		}
	}
	{
		/* Random nonces: 24 base64 characters, different each time. */
		struct authd_client *a = client("SCRAM-SHA-256", "u", "p", NULL);
		struct authd_client *b = client("SCRAM-SHA-256", "u", "p", NULL);
		char ra[128];

		authd_client_start(a, true, &r, &n);
		snprintf(ra, sizeof(ra), "%s", show(r, n));
		authd_client_start(b, true, &r, &n);
		CHECK(strlen(ra) == strlen("n,,n=u,r=") + 24 &&
		      strcmp(ra, show(r, n)) != 0,
		      "SCRAM random client nonces: %s / %s", ra, shown);
		authd_client_free(a);
		authd_client_free(b);
	}
}

static void
test_api(void)
{
	struct authd_client *cl = NULL;
	const unsigned char *r;
	size_t n;
	int code;

	CHECK(authd_client_new("GSSAPI", &cl) == AUTHD_ERR_UNSUPPORTED &&
	      cl == NULL, "an unknown mechanism is refused");
	CHECK(authd_client_new("scram-sha-256", &cl) == AUTHD_OK &&
	      strcmp(authd_client_mech(cl), "SCRAM-SHA-256") == 0,
	      "mechanism names are case-insensitive, canonical on output");
	CHECK(authd_client_start(cl, true, &r, &n) == AUTHD_ERR_INVALID,
	      "no start without credentials");
	CHECK(authd_client_set_credentials(cl, "", "p", NULL) ==
	      AUTHD_ERR_INVALID, "an empty user is refused");
	CHECK(authd_client_set_credentials(cl, "u", "", NULL) ==
	      AUTHD_ERR_INVALID, "an empty password is refused");
	CHECK(authd_client_set_nonce(cl, "a,b") == AUTHD_ERR_INVALID &&
	      authd_client_set_nonce(cl, "") == AUTHD_ERR_INVALID &&
	      authd_client_set_nonce(cl, "a\"b") == AUTHD_ERR_INVALID,
	      "nonces with ',' or '\"', or empty, are refused");
	authd_client_set_credentials(cl, "u", "p", NULL);
	CHECK(authd_client_step(cl, (const unsigned char *)"", 0, &r, &n) ==
	      AUTHD_ERR_INVALID, "no step before the start");
	authd_client_start(cl, true, &r, &n);
	CHECK(authd_client_start(cl, true, &r, &n) == AUTHD_ERR_INVALID,
	      "no second start");
	CHECK(authd_client_set_credentials(cl, "v", "q", NULL) ==
	      AUTHD_ERR_INVALID, "no new credentials after the start");
	authd_client_free(cl);
	authd_client_free(NULL);

	for (code = -12; code <= 4; code++)
		if (strcmp(authd_strerror(code), "unknown error code") == 0)
			break;
	CHECK(code == 5, "authd_strerror names every code from -12 to 4");
	CHECK(strcmp(authd_strerror(-99), "unknown error code") == 0,
	      "authd_strerror of an unknown code");
}

int
main(void)
{
	test_plain();
	test_login();
	test_cram_md5();
	test_digest_md5();
	test_digest_md5_parsing();
	test_scram_vectors();
	test_scram_more();
	test_api();
	return test_done();
}
