/*
 * test_scheme - every verifier against the RFC vectors in
 * shared/reference/mechanisms.md (DIGEST-MD5's, which proto/ computes,
 * in test_sasl_digest_md5.c).
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "codec.h"
#include "scheme.h"
#include "secret.h"
#include "test.h"

static const char *
hex(const unsigned char *p, size_t n)
{
	static char out[2 * 64 + 1];

	codec_hex_encode(p, n, out);
	return out;
}

static const char *
b64(const unsigned char *p, size_t n)
{
	static char out[128];

	codec_b64_encode(p, n, out);
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

struct scram_vec {
	enum scram_hash h;
	const char *salt, *stored, *server, *cfirst_bare, *sfirst, *cfinal_wo,
		   *proof, *verifier;
};

static const struct scram_vec scram_vecs[] = {
	{ SCRAM_SHA256, "W22ZaJ0SNY7soEsUEjb6gQ==",
	  "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=",
	  "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
	  "n=user,r=rOprNGfwEbeRWgbNEkqO",
	  "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
	  "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
	  "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
	  "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
	  "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=" },
	{ SCRAM_SHA1, "QSXCR+Q6sek8bf92", "6dlGYMOdZcOPutkcNY8U2g7vK9Y=",
	  "D+CSWLOshSulAsxiupA+qs2/fTE=",
	  "n=user,r=fyko+d2lbbFgONRv9qkxdawL",
	  "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
	  "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j",
	  "v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=", "rmF9pqV8S7suAoZWja4dJRkFsKQ=" },
};

static void
test_scram(void)
{
	size_t i, k;

	for (i = 0; i < sizeof(scram_vecs) / sizeof(scram_vecs[0]); i++) {
		const struct scram_vec *v = &scram_vecs[i];
		const char *name = scheme_scram_name(v->h);
		const EVP_MD *md = v->h == SCRAM_SHA1 ? EVP_sha1() : EVP_sha256();
		size_t kl = scheme_scram_key_len(v->h);
		unsigned char salt[64], salted[32], stored[32], server[32],
			      sig[32], ckey[32], proof[32];
		struct scram_verifier ver;
		char auth[512];
		unsigned int n;
		long sl = codec_b64_decode(v->salt, strlen(v->salt), salt);

		CHECK(sl > 0, "%s salt decodes", name);
		CHECK(scheme_scram_salted(v->h, "pencil", 6, salt, (size_t)sl,
					  4096, salted), "%s SaltedPassword", name);
		scheme_scram_keys(v->h, salted, stored, server);
		CHECK_STR(b64(stored, kl), v->stored, "%s StoredKey", name);
		CHECK_STR(b64(server, kl), v->server, "%s ServerKey", name);
		/* ClientProof and ServerSignature from the stored keys only. */
		snprintf(auth, sizeof(auth), "%s,%s,%s", v->cfirst_bare,
			 v->sfirst, v->cfinal_wo);
		HMAC(md, stored, (int)kl, (unsigned char *)auth, strlen(auth),
		     sig, &n);
		HMAC(md, salted, (int)kl, (const unsigned char *)"Client Key",
		     10, ckey, &n);
		for (k = 0; k < kl; k++)
			proof[k] = ckey[k] ^ sig[k];
		CHECK_STR(b64(proof, kl), v->proof, "%s ClientProof", name);
		HMAC(md, server, (int)kl, (unsigned char *)auth, strlen(auth),
		     sig, &n);
		CHECK_STR(b64(sig, kl), v->verifier, "%s ServerSignature", name);

		memset(&ver, 0, sizeof(ver));
		ver.iterations = 4096;
		ver.salt_len = (size_t)sl;
		memcpy(ver.salt, salt, (size_t)sl);
		memcpy(ver.stored_key, stored, kl);
		memcpy(ver.server_key, server, kl);
		CHECK(scheme_scram_verify(v->h, &ver, "pencil", 6),
		      "%s verifies the right password", name);
		CHECK(!scheme_scram_verify(v->h, &ver, "pencil2", 7),
		      "%s refuses a wrong password", name);
	}
}

static void
test_saslprep(void)
{
	char *s;

	s = scheme_saslprep("I\xc2\xadX", 4);
	CHECK_STR(s, "IX", "SASLprep maps SOFT HYPHEN to nothing (RFC 4013 §3)");
	secret_free_str(s);
	s = scheme_saslprep("\xc2\xaa", 2);
	CHECK_STR(s, "a", "SASLprep: FEMININE ORDINAL to 'a' (NFKC)");
	secret_free_str(s);
	s = scheme_saslprep("user", 4);
	CHECK_STR(s, "user", "SASLprep: ASCII unchanged");
	secret_free_str(s);
	s = scheme_saslprep("\x07", 1);
	CHECK(s == NULL, "SASLprep refuses a control character");
	s = scheme_saslprep("\xff\xfe", 2);
	CHECK(s == NULL, "SASLprep refuses invalid UTF-8");
	s = scheme_saslprep("\xd8\xa7\x31", 3);
	CHECK(s == NULL, "SASLprep refuses mixed RTL/LTR (RFC 3454 §6)");
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
	test_saslprep();
	test_crypt();
	return test_done();
}
