/*
 * test_sasl_digest_md5 - proto/sasl/digest_md5: the RFC 2831 §4 example
 * and the {DIGEST-MD5} vector of shared/reference/mechanisms.md, the
 * ISO-8859-1 rule of H(user:realm:password), the directive tokenizer and
 * the server's digest-response parser.
 */
#include <openssl/evp.h>

#include "codec.h"
#include "digest_md5.h"
#include "secret.h"
#include "test.h"

static const char *
hex(const unsigned char *p, size_t n)
{
	static char out[2 * 16 + 1];

	codec_hex_encode(p, n, out);
	return out;
}

/* md5_of - hex MD5 of a C string, the expectation for H(). */
static const char *
md5_of(const char *s)
{
	unsigned char d[16];

	EVP_Digest(s, strlen(s), d, NULL, EVP_md5(), NULL);
	return hex(d, 16);
}

static enum digest_md5_status
urp(const char *user, const char *realm, const char *pw, bool latin1_only,
    unsigned char out[16])
{
	return digest_md5_urp(user, strlen(user), realm, strlen(realm), pw,
			      strlen(pw), latin1_only, out);
}

static void
test_vectors(void)
{
	unsigned char h[16], ha1[16], a1[16 + 30];
	char v[33];

	CHECK(urp("alice", "example.org", "secret", false, h) == DIGEST_MD5_OK,
	      "H(alice:example.org:secret) computed");
	CHECK_STR(hex(h, 16), "543e1aec5d3614f03141652d6ada51b2",
		  "{DIGEST-MD5} of alice:example.org:secret");

	/* RFC 2831 §4, the IMAP example. */
	CHECK(urp("chris", "elwood.innosoft.com", "secret", true, h) ==
	      DIGEST_MD5_OK, "H(chris:elwood.innosoft.com:secret) computed");
	memcpy(a1, h, 16);
	memcpy(a1 + 16, ":OA6MG9tEQGm2hh:OA6MHXh6VqTrRk", 30);
	EVP_Digest(a1, sizeof(a1), ha1, NULL, EVP_md5(), NULL);
	CHECK_STR(hex(ha1, 16), "a2549853149b0536f01f0b850c643c57",
		  "RFC 2831 §4 HEX(H(A1)) from the raw inner hash");
	CHECK(digest_md5_response_value(h, "OA6MG9tEQGm2hh", "OA6MHXh6VqTrRk",
					NULL, "imap/elwood.innosoft.com",
					"00000001", "auth", false, v),
	      "RFC 2831 §4 response computed");
	CHECK_STR(v, "d388dad90d4bbd760a152321f2143af7",
		  "RFC 2831 §4 response-value");
	CHECK(strcmp(v, "26ef1190b643a36e879673066098379c") != 0,
	      "not the hex-inner-hash result (HTTP Digest's habit)");
	CHECK(digest_md5_response_value(h, "OA6MG9tEQGm2hh", "OA6MHXh6VqTrRk",
					NULL, "imap/elwood.innosoft.com",
					"00000001", "auth", true, v),
	      "RFC 2831 §4 rspauth computed");
	CHECK_STR(v, "ea40f60335c427b5527b84dbabcdfffd", "RFC 2831 §4 rspauth");
	/* RFC 2831 §4, the ACAP example. */
	digest_md5_response_value(h, "OA9BSXrbuRhWay", "OA9BSuZWMSpW8m", NULL,
				  "acap/elwood.innosoft.com", "00000001",
				  "auth", false, v);
	CHECK_STR(v, "6084c6db3fede7352c551284490fd0fc",
		  "RFC 2831 §4 ACAP response-value");
	digest_md5_response_value(h, "OA9BSXrbuRhWay", "OA9BSuZWMSpW8m", NULL,
				  "acap/elwood.innosoft.com", "00000001",
				  "auth", true, v);
	CHECK_STR(v, "2f0b3d7c3c2e486600ef710726aa2eae",
		  "RFC 2831 §4 ACAP rspauth");
	/* An authzid goes into A1; nc and qop into the response. */
	digest_md5_response_value(h, "OA6MG9tEQGm2hh", "OA6MHXh6VqTrRk",
				  "admin", "imap/elwood.innosoft.com",
				  "00000001", "auth", false, v);
	CHECK(strcmp(v, "d388dad90d4bbd760a152321f2143af7") != 0,
	      "an authzid changes the response-value");
	digest_md5_response_value(h, "OA6MG9tEQGm2hh", "OA6MHXh6VqTrRk", NULL,
				  "imap/elwood.innosoft.com", "00000002",
				  "auth", false, v);
	CHECK(strcmp(v, "d388dad90d4bbd760a152321f2143af7") != 0,
	      "nc enters the response-value");
}

static void
test_latin1(void)
{
	unsigned char h[16];
	enum digest_md5_status st;
	char *s;

	/* RFC 2831 §2.1.2.1: a name or password that fits ISO-8859-1 is
	 * hashed in ISO-8859-1, whatever the caller's mode. */
	CHECK(urp("ren\xc3\xa9", "example.org", "secret", false, h) ==
	      DIGEST_MD5_OK, "user with U+00E9 hashed (store)");
	CHECK_STR(hex(h, 16), md5_of("ren\xe9:example.org:secret"),
		  "user with U+00E9 hashed as ISO-8859-1 (store)");
	CHECK(urp("ren\xc3\xa9", "example.org", "secret", true, h) ==
	      DIGEST_MD5_OK, "user with U+00E9 hashed (client, no charset)");
	CHECK_STR(hex(h, 16), md5_of("ren\xe9:example.org:secret"),
		  "user with U+00E9 hashed as ISO-8859-1 (client, no charset)");
	urp("u", "r", "s\xc3\xa9", false, h);
	CHECK_STR(hex(h, 16), md5_of("u:r:s\xe9"),
		  "password with U+00E9 hashed as ISO-8859-1");
	/* The realm is hashed as given. */
	urp("u", "r\xc3\xa9", "p", false, h);
	CHECK_STR(hex(h, 16), md5_of("u:r\xc3\xa9:p"), "realm hashed as given");

	/* Above U+00FF: as UTF-8 (store; client with charset=utf-8), or
	 * refused (client without charset=utf-8). */
	CHECK(urp("\xe4\xb8\xad", "example.org", "secret", false, h) ==
	      DIGEST_MD5_OK, "user with U+4E2D hashed");
	CHECK_STR(hex(h, 16), md5_of("\xe4\xb8\xad:example.org:secret"),
		  "user with U+4E2D hashed as UTF-8");
	CHECK(urp("\xe4\xb8\xad", "example.org", "secret", true, h) ==
	      DIGEST_MD5_NOT_LATIN1, "user with U+4E2D refused when "
	      "ISO-8859-1 is required");
	CHECK(urp("u", "r", "\xe2\x82\xac", true, h) == DIGEST_MD5_NOT_LATIN1,
	      "password with U+20AC refused when ISO-8859-1 is required");
	urp("ren\xc3\xa9\xe4\xb8\xad", "r", "p", false, h);
	CHECK_STR(hex(h, 16), md5_of("ren\xc3\xa9\xe4\xb8\xad:r:p"),
		  "a name partly above U+00FF is hashed whole as UTF-8");
	/* Not UTF-8: as it is, or refused. */
	urp("u", "r", "s\xe9", false, h);
	CHECK_STR(hex(h, 16), md5_of("u:r:s\xe9"),
		  "a password that is not UTF-8 is hashed as it is");
	CHECK(urp("u", "r", "s\xe9", true, h) == DIGEST_MD5_NOT_LATIN1,
	      "a password that is not UTF-8 is refused when ISO-8859-1 is "
	      "required");

	s = digest_md5_latin1("ren\xc3\xa9", 6, &st);
	CHECK(s != NULL && st == DIGEST_MD5_OK && strcmp(s, "ren\xe9") == 0,
	      "digest_md5_latin1 of U+00E9");
	secret_free_str(s);
	s = digest_md5_latin1("\xe4\xb8\xad", 3, &st);
	CHECK(s == NULL && st == DIGEST_MD5_NOT_LATIN1,
	      "digest_md5_latin1 refuses U+4E2D");
}

/* tokens - every directive of in as "name=value|", or "error: why". */
static const char *
tokens(const char *in, size_t len)
{
	static char out[8192];
	static struct digest_md5_directive d;
	const char *why;
	size_t pos = 0, o = 0;
	int r;

	out[0] = '\0';
	while ((r = digest_md5_next(in, len, &pos, &d, &why)) == 1)
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%.*s=%s|",
				      (int)d.name_len, d.name, d.value);
	if (r < 0)
		snprintf(out, sizeof(out), "error: %s", why);
	return out;
}

static void
test_tokenizer(void)
{
	static const struct {
		const char *in;
		const char *want;
	} v[] = {
		{ "", "" },
		{ "a=b", "a=b|" },
		{ "a=\"x\\\"y\\\\z\\q\"", "a=x\"y\\zq|" },
		{ "a=\"\"", "a=|" },
		{ "a=\"b,c=d\"", "a=b,c=d|" },
		{ ",, a=b ,, ,c=d,", "a=b|c=d|" },
		{ " \t\r\na \t= \r\n\"b\" \t,\nc=d\r\n", "a=b|c=d|" },
		{ "Realm=x,realm=y", "Realm=x|realm=y|" },
		{ "a=b c", "error: expected ',' after a value" },
		{ "a=\"b\"c", "error: expected ',' after a value" },
		{ "a", "error: expected name=value" },
		{ "a b=c", "error: expected name=value" },
		{ "=b", "error: expected name=value" },
		{ "a=b,c", "error: expected name=value" },
		{ "a=\"b", "error: unterminated quoted string" },
		{ "a=\"b\\", "error: backslash at the end" },
	};
	char big[DIGEST_MD5_IN_MAX + 2];
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		CHECK_STR(tokens(v[i].in, strlen(v[i].in)), v[i].want,
			  "tokenizer case %zu -> %s", i, v[i].want);
	CHECK_STR(tokens("a=\"b\0c\"", 7), "error: NUL in a value",
		  "tokenizer: NUL in a quoted value");
	CHECK_STR(tokens("a=\"b\\\0\"", 7), "error: NUL in a value",
		  "tokenizer: escaped NUL in a quoted value");
	CHECK_STR(tokens("a=b\0", 4), "error: expected ',' after a value",
		  "tokenizer: NUL after a token");
	CHECK_STR(tokens("a=b,\0", 5), "error: expected name=value",
		  "tokenizer: NUL in place of a name");
	CHECK_STR(tokens("a=bc", 3), "a=b|",
		  "tokenizer: bounded by len, not by the NUL");
	CHECK_STR(tokens("a=", 2), "a=|", "tokenizer: an empty token");

	/* Values: DIGEST_MD5_VALUE_MAX bytes, token or quoted; one more is
	 * refused. */
	memset(big, 'x', sizeof(big));
	memcpy(big, "a=", 2);
	CHECK(strlen(tokens(big, 2 + DIGEST_MD5_VALUE_MAX)) ==
	      DIGEST_MD5_VALUE_MAX + 3, "tokenizer: a token of 1024 bytes");
	CHECK_STR(tokens(big, 2 + DIGEST_MD5_VALUE_MAX + 1),
		  "error: value too long", "tokenizer: a token of 1025 bytes");
	big[2] = '"';
	big[3 + DIGEST_MD5_VALUE_MAX] = '"';
	CHECK(strlen(tokens(big, 4 + DIGEST_MD5_VALUE_MAX)) ==
	      DIGEST_MD5_VALUE_MAX + 3, "tokenizer: a quoted value of 1024 "
	      "bytes");
	big[3 + DIGEST_MD5_VALUE_MAX] = 'x';
	big[4 + DIGEST_MD5_VALUE_MAX] = '"';
	CHECK_STR(tokens(big, 5 + DIGEST_MD5_VALUE_MAX),
		  "error: value too long", "tokenizer: a quoted value of 1025 "
		  "bytes");
	/* Input: DIGEST_MD5_IN_MAX bytes at the most. */
	memset(big, ',', sizeof(big));
	memcpy(big, "a=b", 3);
	CHECK_STR(tokens(big, DIGEST_MD5_IN_MAX), "a=b|",
		  "tokenizer: 4096 bytes of input");
	CHECK_STR(tokens(big, DIGEST_MD5_IN_MAX + 1), "error: input too long",
		  "tokenizer: 4097 bytes of input");
}

#define RFC2831_RESPONSE \
	"charset=utf-8,username=\"chris\",realm=\"elwood.innosoft.com\"," \
	"nonce=\"OA6MG9tEQGm2hh\",nc=00000001,cnonce=\"OA6MHXh6VqTrRk\"," \
	"digest-uri=\"imap/elwood.innosoft.com\"," \
	"response=d388dad90d4bbd760a152321f2143af7,qop=auth"

static const char *
parse(const char *in, struct digest_md5_response *r)
{
	return digest_md5_response_parse(in, strlen(in), r);
}

static void
test_response(void)
{
	static const struct {
		const char *in;
		const char *want;	/* NULL: accepted */
	} v[] = {
		{ RFC2831_RESPONSE ",x-unknown=\"y\"", NULL },
		{ RFC2831_RESPONSE ",nonce=\"OA6MG9tEQGm2hh\"",
		  "directive repeated" },
		{ RFC2831_RESPONSE ",REALM=\"elwood.innosoft.com\"",
		  "directive repeated" },
		{ "username=\"chris\",nonce=n,cnonce=c,nc=00000001,"
		  "response=d388dad90d4bbd760a152321f2143af7",
		  "a required directive is missing" },
		{ "username=\"chris\",nonce=n,cnonce=c,digest-uri=\"a/b\","
		  "response=d388dad90d4bbd760a152321f2143af7",
		  "a required directive is missing" },
		{ "nonce=n,cnonce=c,nc=1,digest-uri=\"a/b\","
		  "response=d388dad90d4bbd760a152321f2143af7",
		  "a required directive is missing" },
		{ "username=u,nonce=n,cnonce=c,nc=1,digest-uri=\"a/b\"",
		  "a required directive is missing" },
		{ "username=u,nonce=n,cnonce=c,nc=1,digest-uri=\"a/b\","
		  "response=D388DAD90D4BBD760A152321F2143AF7",
		  "response is not 32 lowercase hex digits" },
		{ "username=u,nonce=n,cnonce=c,nc=1,digest-uri=\"a/b\","
		  "response=d388dad90d4bbd760a152321f2143af",
		  "response is not 32 lowercase hex digits" },
		{ RFC2831_RESPONSE ",charset=utf-8", "directive repeated" },
		{ "charset=iso-8859-1,username=u,nonce=n,cnonce=c,nc=1,"
		  "digest-uri=\"a/b\",response=d388dad90d4bbd760a152321f2143af7",
		  "charset other than utf-8" },
		{ "charset=UTF-8,username=\"\xe9\",nonce=n,cnonce=c,nc=1,"
		  "digest-uri=\"a/b\",response=d388dad90d4bbd760a152321f2143af7",
		  "user name is not UTF-8" },
		{ "charset=utf-8,username=u,authzid=\"\xff\",nonce=n,cnonce=c,"
		  "nc=1,digest-uri=\"a/b\","
		  "response=d388dad90d4bbd760a152321f2143af7",
		  "user name is not UTF-8" },
		{ RFC2831_RESPONSE ",x=\"unterminated",
		  "unterminated quoted string" },
	};
	struct digest_md5_response r;
	char big[DIGEST_MD5_IN_MAX + 1];
	size_t i;
	const char *why;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		why = parse(v[i].in, &r);
		CHECK(v[i].want == NULL ? why == NULL :
		      why != NULL && strcmp(why, v[i].want) == 0,
		      "digest-response %zu: %s (got %s)", i,
		      v[i].want != NULL ? v[i].want : "accepted",
		      why != NULL ? why : "accepted");
		CHECK(why == NULL || (r.username == NULL && r.nonce == NULL &&
				      r.response == NULL),
		      "digest-response %zu: nothing left on failure", i);
		digest_md5_response_free(&r);
	}

	CHECK(parse(RFC2831_RESPONSE, &r) == NULL &&
	      strcmp(r.username, "chris") == 0 &&
	      strcmp(r.realm, "elwood.innosoft.com") == 0 &&
	      strcmp(r.nonce, "OA6MG9tEQGm2hh") == 0 &&
	      strcmp(r.cnonce, "OA6MHXh6VqTrRk") == 0 &&
	      strcmp(r.nc, "00000001") == 0 && strcmp(r.qop, "auth") == 0 &&
	      strcmp(r.digest_uri, "imap/elwood.innosoft.com") == 0 &&
	      strcmp(r.response, "d388dad90d4bbd760a152321f2143af7") == 0 &&
	      strcmp(r.charset, "utf-8") == 0 && r.authzid == NULL &&
	      r.authzid_a1 == NULL, "RFC 2831 §4 digest-response parsed");
	digest_md5_response_free(&r);

	/* Without charset=utf-8 the names are ISO-8859-1; A1 keeps the
	 * authzid as sent. */
	CHECK(parse("username=\"ren\xe9\",authzid=\"z\xe9\",nonce=n,cnonce=c,"
		    "nc=00000001,digest-uri=\"smtp/h\","
		    "response=d388dad90d4bbd760a152321f2143af7", &r) == NULL &&
	      strcmp(r.username, "ren\xc3\xa9") == 0 &&
	      strcmp(r.authzid, "z\xc3\xa9") == 0 &&
	      strcmp(r.authzid_a1, "z\xe9") == 0 && r.charset == NULL &&
	      r.qop == NULL && r.realm == NULL,
	      "ISO-8859-1 names as UTF-8, authzid for A1 as sent");
	digest_md5_response_free(&r);
	CHECK(parse("charset=utf-8,username=\"ren\xc3\xa9\",authzid=\"a\","
		    "nonce=n,cnonce=c,nc=00000001,digest-uri=\"smtp/h\","
		    "response=d388dad90d4bbd760a152321f2143af7", &r) == NULL &&
	      strcmp(r.username, "ren\xc3\xa9") == 0 &&
	      strcmp(r.authzid_a1, "a") == 0,
	      "UTF-8 names kept with charset=utf-8");
	digest_md5_response_free(&r);

	CHECK(digest_md5_response_parse(RFC2831_RESPONSE "\0",
					 sizeof(RFC2831_RESPONSE), &r) != NULL,
	      "a NUL after the response is refused");
	memset(big, ' ', sizeof(big));
	memcpy(big, RFC2831_RESPONSE, strlen(RFC2831_RESPONSE));
	CHECK(digest_md5_response_parse(big, DIGEST_MD5_IN_MAX, &r) == NULL,
	      "a response of 4096 bytes");
	digest_md5_response_free(&r);
	why = digest_md5_response_parse(big, sizeof(big), &r);
	CHECK_STR(why, "response too long", "a response of 4097 bytes");
}

int
main(void)
{
	test_vectors();
	test_latin1();
	test_tokenizer();
	test_response();
	return test_done();
}
