/*
 * test_scheme - every verifier against the RFC vectors in
 * shared/reference/mechanisms.md (DIGEST-MD5's, which proto/ computes,
 * in test_sasl_digest_md5.c).
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "codec.h"
#include "scheme.h"
#include "test.h"

static const char *
hex(const unsigned char *p, size_t n)
{
	static char out[2 * 64 + 1];

	codec_hex_encode(p, n, out);
	return out;
}

static void
test_cram_md5(void)
{
	unsigned char ctx[CRAM_MD5_CONTEXT_LEN], d[16];
	const char *ch = "<1896.697170952@postoffice.reston.mci.net>";
	unsigned char longkey_ref[16];
	char longpw[100];
	unsigned int n;

	scheme_cram_md5_context("secret", 6, ctx);
	CHECK_STR(hex(ctx, sizeof(ctx)),
		  "cd3ba7deaad6e5ca23448ba42e379747a9e0f7f1fbc00c8a81bbaac395731b56",
		  "CRAM-MD5 context of 'secret' is Dovecot's {CRAM-MD5}");
	scheme_cram_md5_context("tanstaaftanstaaf", 16, ctx);
	scheme_cram_md5_hmac(ctx, (const unsigned char *)ch, strlen(ch), d);
	CHECK_STR(hex(d, 16), "b913a602c7eda7a495b4e6e7334d3890",
		  "RFC 2195 digest from the stored context");
	/* Keys longer than a block are hashed first (RFC 2104 §2). */
	memset(longpw, 'k', sizeof(longpw));
	scheme_cram_md5_context(longpw, sizeof(longpw), ctx);
	scheme_cram_md5_hmac(ctx, (const unsigned char *)ch, strlen(ch), d);
	HMAC(EVP_md5(), longpw, sizeof(longpw), (const unsigned char *)ch,
	     strlen(ch), longkey_ref, &n);
	CHECK(memcmp(d, longkey_ref, 16) == 0,
	      "context of a 100-byte password equals OpenSSL HMAC-MD5");
}

/* The store's side of SCRAM: its verifiers check a plaintext password
 * (PLAIN, LOGIN, pwtool check).  The derivation itself, SASLprep and the
 * exchanges' ClientProof and ServerSignature are proto/sasl/scram's, with
 * the RFC vectors in test_sasl_scram.c. */
struct scram_vec {
	enum scram_hash h;
	const char *salt, *stored, *server;
};

static const struct scram_vec scram_vecs[] = {
	{ SCRAM_SHA256, "W22ZaJ0SNY7soEsUEjb6gQ==",
	  "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=",
	  "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=" },
	{ SCRAM_SHA1, "QSXCR+Q6sek8bf92", "6dlGYMOdZcOPutkcNY8U2g7vK9Y=",
	  "D+CSWLOshSulAsxiupA+qs2/fTE=" },
};

static void
test_scram(void)
{
	struct scram_verifier ver;
	const char *why = NULL;
	size_t i;

	for (i = 0; i < sizeof(scram_vecs) / sizeof(scram_vecs[0]); i++) {
		const struct scram_vec *v = &scram_vecs[i];
		const char *name = scram_name(v->h);
		long kl = (long)scram_key_len(v->h), sl;

		memset(&ver, 0, sizeof(ver));
		ver.iterations = 4096;
		sl = codec_b64_decode(v->salt, strlen(v->salt), ver.salt);
		ver.salt_len = sl > 0 ? (size_t)sl : 0;
		CHECK(sl > 0 && codec_b64_decode(v->stored, strlen(v->stored),
						 ver.stored_key) == kl &&
		      codec_b64_decode(v->server, strlen(v->server),
				       ver.server_key) == kl,
		      "%s RFC verifier decodes", name);
		CHECK(scheme_scram_verify(v->h, &ver, "pencil", 6),
		      "%s verifies the right password", name);
		CHECK(!scheme_scram_verify(v->h, &ver, "pencil2", 7),
		      "%s refuses a wrong password", name);
		CHECK(scheme_scram_make(v->h, "pencil", 6, 4096, &ver, &why) &&
		      ver.salt_len == 16 && ver.iterations == 4096 &&
		      scheme_scram_verify(v->h, &ver, "pencil", 6) &&
		      !scheme_scram_verify(v->h, &ver, "Pencil", 6),
		      "%s a fresh verifier checks its password only", name);
	}
	CHECK(scheme_scram_make(SCRAM_SHA256, "IX", 2, 4096, &ver, &why) &&
	      scheme_scram_verify(SCRAM_SHA256, &ver, "I\xc2\xadX", 4) &&
	      scheme_scram_verify(SCRAM_SHA256, &ver, "\xe2\x85\xa8", 3),
	      "SCRAM verifiers compare SASLprep forms (RFC 5802 §2.2)");
	why = NULL;
	CHECK(!scheme_scram_make(SCRAM_SHA256, "\x07", 1, 4096, &ver, &why) &&
	      why != NULL && strstr(why, "SASLprep") != NULL,
	      "a password SASLprep refuses makes no SCRAM verifier");
	CHECK(!scheme_scram_verify(SCRAM_SHA256, &ver, "\x07", 1),
	      "a password SASLprep refuses never verifies");
}

static void
test_crypt(void)
{
	static const char *schemes[] = { "yescrypt", "sha512-crypt", "bcrypt" };
	static const unsigned long costs[] = { 3, 1000, 4 };
	static const char *prefixes[] = { "$y$", "$6$", "$2b$" };
	const char *why = NULL;
	bool legacy;
	size_t i;

	for (i = 0; i < 3; i++) {
		char *h = scheme_crypt_make(schemes[i], costs[i], "s3cret", 6, &why);

		CHECK(h != NULL && strncmp(h, prefixes[i], strlen(prefixes[i])) == 0,
		      "%s makes a %s hash", schemes[i], prefixes[i]);
		if (h == NULL)
			continue;
		CHECK(scheme_crypt_verify(h, "s3cret", 6), "%s verifies", schemes[i]);
		CHECK(!scheme_crypt_verify(h, "s3creT", 6), "%s refuses wrong",
		      schemes[i]);
		CHECK(scheme_crypt_check(h, strlen(h), &legacy) == NULL && !legacy,
		      "%s hash passes crypt_checksalt", schemes[i]);
		free(h);
	}
	CHECK(scheme_crypt_make("md5", 0, "x", 1, &why) == NULL,
	      "unknown scheme refused");
	CHECK(scheme_crypt_make("bcrypt", 99, "x", 1, &why) == NULL,
	      "out-of-range cost refused");
	CHECK(scheme_crypt_check("$1$saltsalt$qjXMvbEw8oaL.CzflDugX/", 34,
				 &legacy) == NULL && legacy,
	      "md5-crypt string accepted and flagged legacy");
	CHECK(scheme_crypt_check("garbage", 7, &legacy) != NULL,
	      "non-crypt string refused");
	CHECK(scheme_crypt_check("$6$a b$c", 8, &legacy) != NULL,
	      "space in crypt string refused");
	CHECK(scheme_crypt_check("$6$saltsalt$qFmFH.bQmm", 22, &legacy) != NULL,
	      "truncated sha512-crypt refused");
	CHECK(scheme_crypt_check("$2b$05$abc", 10, &legacy) != NULL,
	      "truncated bcrypt refused");
	CHECK(!scheme_crypt_verify("*0", "x", 1), "failure token never verifies");
}

int
main(void)
{
	test_cram_md5();
	test_scram();
	test_crypt();
	return test_done();
}
