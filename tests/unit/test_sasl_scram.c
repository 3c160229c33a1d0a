/*
 * test_sasl_scram - proto/sasl/scram against the RFC 5802 §5 (SCRAM-SHA-1)
 * and RFC 7677 §3 (SCRAM-SHA-256) exchanges in
 * shared/reference/mechanisms.md, played by both sides through the one
 * module, then SASLprep, the saslname escape and the parsers' edge cases.
 */
#include <openssl/evp.h>

#include "codec.h"
#include "scram.h"
#include "secret.h"
#include "test.h"

static const char *
b64(const unsigned char *p, size_t n)
{
	static char out[128];

	codec_b64_encode(p, n, out);
	return out;
}

struct exchange {
	enum scram_hash h;
	const char *name, *client_first, *server_first, *final_no_proof,
		   *proof, *verifier, *stored, *server, *nonce;
};

static const struct exchange exchanges[] = {
	{ SCRAM_SHA1, "SCRAM-SHA-1",
	  "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
	  "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,"
	  "i=4096",
	  "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j",
	  "v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=", "rmF9pqV8S7suAoZWja4dJRkFsKQ=",
	  "6dlGYMOdZcOPutkcNY8U2g7vK9Y=", "D+CSWLOshSulAsxiupA+qs2/fTE=",
	  "fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j" },
	{ SCRAM_SHA256, "SCRAM-SHA-256",
	  "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
	  "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
	  "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
	  "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
	  "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
	  "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
	  "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=",
	  "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
	  "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0" },
};

/* client_side - what the client computes from server-first: the proof
 * (p=) and the ServerSignature it expects (v=). */
static void
client_side(const struct exchange *x, const char *bare, unsigned char *proof,
	    unsigned char *server_sig)
{
	unsigned char salt[64], salted[SCRAM_KEY_MAX];
	struct buf am = BUF_INIT;
	const char *v, *sf = x->server_first;
	const char *salt_b64 = NULL, *iter = NULL;
	size_t pos = 0, vlen, salt_b64_len = 0, iter_len = 0;
	unsigned int iterations = 0;
	char name, *prepped = NULL;
	long sl = -1;

	while (scram_attr(sf, strlen(sf), &pos, &name, &v, &vlen)) {
		if (name == 'r')
			CHECK(scram_nonce_ok(v, vlen) &&
			      vlen == strlen(x->nonce) &&
			      memcmp(v, x->nonce, vlen) == 0,
			      "%s server-first: r= is the combined nonce",
			      x->name);
		if (name == 's') {
			salt_b64 = v;
			salt_b64_len = vlen;
		}
		if (name == 'i') {
			iter = v;
			iter_len = vlen;
		}
	}
	CHECK(salt_b64 != NULL &&
	      (sl = codec_b64_decode(salt_b64, salt_b64_len, salt)) > 0,
	      "%s server-first: s= decodes", x->name);
	CHECK(iter != NULL && scram_parse_iterations(iter, iter_len,
						     &iterations) &&
	      iterations == 4096, "%s server-first: i=4096", x->name);
	CHECK(scram_saslprep("pencil", 6, &prepped) == SCRAM_OK,
	      "%s SASLprep(pencil)", x->name);
	CHECK(scram_salted_password(x->h, prepped, strlen(prepped), salt,
				    (size_t)sl, iterations, salted),
	      "%s SaltedPassword", x->name);
	scram_saslprep_free(prepped);
	CHECK(scram_auth_message(&am, bare, strlen(bare), sf, strlen(sf),
				 x->final_no_proof, strlen(x->final_no_proof)),
	      "%s client AuthMessage", x->name);
	CHECK(scram_client_proof(x->h, salted, am.data, am.len, proof,
				 server_sig), "%s ClientProof computed",
	      x->name);
	buf_free(&am);
	secret_wipe(salted, sizeof(salted));
}

static void
test_exchange(const struct exchange *x)
{
	size_t kl = scram_key_len(x->h);
	unsigned char proof[SCRAM_KEY_MAX], expect[SCRAM_KEY_MAX],
		      salted[SCRAM_KEY_MAX], stored[SCRAM_KEY_MAX],
		      server[SCRAM_KEY_MAX], salt[64], sig[SCRAM_KEY_MAX];
	struct scram_client_first cf;
	struct scram_client_final fin;
	struct buf cfinal = BUF_INIT, am = BUF_INIT;
	const char *why = NULL;
	long sl;

	CHECK_STR(scram_name(x->h), x->name, "scram_name");
	CHECK(scram_md(x->h) != NULL && (size_t)EVP_MD_get_size(scram_md(x->h))
	      == kl, "%s digest length %zu", x->name, kl);

	/* The server reads client-first. */
	CHECK(scram_parse_client_first(x->client_first, strlen(x->client_first),
				       &cf, &why) == SCRAM_OK,
	      "%s client-first parses", x->name);
	CHECK(cf.cbind == 'n' && strcmp(cf.gs2_header, "n,,") == 0 &&
	      cf.authzid == NULL && strcmp(cf.user, "user") == 0 &&
	      strcmp(cf.bare, x->client_first + 3) == 0 &&
	      strncmp(x->nonce, cf.nonce, strlen(cf.nonce)) == 0,
	      "%s client-first: GS2 header, user, bare, nonce", x->name);

	/* The client answers server-first: RFC p= and v= byte for byte. */
	client_side(x, cf.bare, proof, expect);
	CHECK_STR(b64(proof, kl), x->proof, "%s ClientProof p=", x->name);
	CHECK_STR(b64(expect, kl), x->verifier, "%s expected ServerSignature",
		  x->name);

	/* The store's verifier from the same password. */
	sl = codec_b64_decode(x->server_first + strlen(x->nonce) + 5,
			      strcspn(x->server_first + strlen(x->nonce) + 5,
				      ","), salt);
	CHECK(sl > 0 && scram_salted_password(x->h, "pencil", 6, salt,
					      (size_t)sl, 4096, salted) &&
	      scram_keys(x->h, salted, stored, server),
	      "%s verifier keys", x->name);
	CHECK_STR(b64(stored, kl), x->stored, "%s StoredKey", x->name);
	CHECK_STR(b64(server, kl), x->server, "%s ServerKey", x->name);

	/* The server reads client-final and checks it from StoredKey. */
	buf_printf(&cfinal, "%s,p=%s", x->final_no_proof, x->proof);
	CHECK(scram_parse_client_final(cfinal.data, cfinal.len, kl, &fin,
				       &why) == SCRAM_OK,
	      "%s client-final parses", x->name);
	CHECK(fin.cbind_len == 3 && memcmp(fin.cbind, "n,,", 3) == 0 &&
	      strcmp(fin.nonce, x->nonce) == 0 &&
	      fin.without_proof_len == strlen(x->final_no_proof) &&
	      memcmp(fin.proof, proof, kl) == 0,
	      "%s client-final: c=, r=, proof", x->name);
	CHECK(scram_auth_message(&am, cf.bare, strlen(cf.bare), x->server_first,
				 strlen(x->server_first), cfinal.data,
				 fin.without_proof_len),
	      "%s server AuthMessage", x->name);
	CHECK(scram_proof_check(x->h, stored, am.data, am.len, fin.proof) == 1,
	      "%s the server accepts the RFC proof", x->name);
	CHECK(scram_signature(x->h, server, am.data, am.len, sig),
	      "%s ServerSignature computed", x->name);
	CHECK_STR(b64(sig, kl), x->verifier, "%s ServerSignature v=", x->name);
	fin.proof[kl - 1] ^= 1;
	CHECK(scram_proof_check(x->h, stored, am.data, am.len, fin.proof) == 0,
	      "%s a proof with one bit changed is refused", x->name);
	fin.proof[kl - 1] ^= 1;
	CHECK(scram_proof_check(x->h, stored, am.data, am.len - 1,
				fin.proof) == 0,
	      "%s a proof over another AuthMessage is refused", x->name);
	buf_free(&am);
	buf_free(&cfinal);
	scram_client_first_free(&cf);
	scram_client_final_free(&fin);
	secret_wipe(salted, sizeof(salted));
}

static void
test_hashes(void)
{
	CHECK(scram_key_len(SCRAM_SHA1) == 20 && scram_key_len(SCRAM_SHA256) ==
	      32, "key lengths 20 and 32");
}

static void
test_saslprep(void)
{
	static const struct {
		const char *in;
		size_t len;
		const char *want;	/* NULL: refused */
		const char *what;
	} cases[] = {
		{ "pencil", 6, "pencil", "printable ASCII is unchanged" },
		{ "a b~", 4, "a b~", "space and '~' stay on the ASCII path" },
		{ "I\xc2\xadX", 4, "IX",
		  "SOFT HYPHEN maps to nothing (RFC 4013 §3)" },
		{ "\xc2\xaa", 2, "a", "FEMININE ORDINAL maps to 'a' (NFKC)" },
		{ "a\xc2\xa0" "b", 4, "a b",
		  "NO-BREAK SPACE maps to SPACE (RFC 4013 §2.1)" },
		{ "\xe2\x85\xa8", 3, "IX", "ROMAN NUMERAL NINE maps to \"IX\"" },
		{ "", 0, NULL, "the empty password is refused" },
		{ "\xc2\xad", 2, NULL, "a password that maps to nothing" },
		{ "\x07", 1, NULL, "a control character (RFC 4013 §2.3)" },
		{ "a\x7f", 2, NULL, "DEL" },
		{ "pen\0cil", 7, NULL, "a NUL inside" },
		{ "\xff\xfe", 2, NULL, "invalid UTF-8" },
		{ "\xd8\xa7\x31", 3, NULL, "mixed RTL and LTR (RFC 3454 §6)" },
		{ "\xc8\xa1", 2, NULL,
		  "a code point unassigned in Unicode 3.2 (stored string)" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = (char *)"unset";
		enum scram_result r = scram_saslprep(cases[i].in, cases[i].len,
						     &out);

		if (cases[i].want != NULL)
			CHECK(r == SCRAM_OK && out != NULL &&
			      strcmp(out, cases[i].want) == 0,
			      "SASLprep: %s", cases[i].what);
		else
			CHECK(r == SCRAM_REFUSED && out == NULL,
			      "SASLprep refuses %s", cases[i].what);
		scram_saslprep_free(r == SCRAM_OK ? out : NULL);
	}
}

static void
test_names(void)
{
	static const struct {
		const char *name, *escaped;
	} trips[] = {
		{ "user", "user" },
		{ "us,er=x", "us=2Cer=3Dx" },
		{ ",=", "=2C=3D" },
		{ "=2C", "=3D2C" },
		{ "j\xc3\xb6rg@example.org", "j\xc3\xb6rg@example.org" },
	};
	static const char *const refused[] = {
		"", "a,b", "=", "=2", "=2c", "=3d", "=41", "ab=", "=3D=",
	};
	size_t i;

	for (i = 0; i < sizeof(trips) / sizeof(trips[0]); i++) {
		struct buf b = BUF_INIT;
		char *back = NULL;

		CHECK(scram_escape_name(&b, trips[i].name,
					strlen(trips[i].name)) &&
		      strcmp(b.data, trips[i].escaped) == 0,
		      "saslname of \"%s\" is \"%s\"", trips[i].name,
		      trips[i].escaped);
		CHECK(scram_unescape_name(b.data, b.len, &back) == SCRAM_OK &&
		      strcmp(back, trips[i].name) == 0,
		      "saslname \"%s\" unescapes back", trips[i].escaped);
		free(back);
		buf_free(&b);
	}
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		char *out = (char *)"unset";

		CHECK(scram_unescape_name(refused[i], strlen(refused[i]),
					  &out) == SCRAM_REFUSED &&
		      out == NULL, "saslname \"%s\" refused", refused[i]);
	}
	{
		char *out = NULL;

		CHECK(scram_unescape_name("a\0b", 3, &out) == SCRAM_REFUSED,
		      "saslname with a NUL refused");
	}
}

static void
test_attributes(void)
{
	static const char msg[] = "r=abc,s=,1=x,i=4096";
	const char *v;
	size_t pos = 0, vlen;
	unsigned int n = 0;
	char name;

	CHECK(scram_attr(msg, strlen(msg), &pos, &name, &v, &vlen) &&
	      name == 'r' && vlen == 3 && memcmp(v, "abc", 3) == 0,
	      "attribute r=abc");
	CHECK(scram_attr(msg, strlen(msg), &pos, &name, &v, &vlen) &&
	      name == 's' && vlen == 0, "attribute with an empty value");
	CHECK(!scram_attr(msg, strlen(msg), &pos, &name, &v, &vlen),
	      "a field whose name is not a letter is no attribute");
	CHECK(scram_attr(msg, strlen(msg), &pos, &name, &v, &vlen) &&
	      name == 'i' && vlen == 4, "the last attribute");
	CHECK(!scram_attr(msg, strlen(msg), &pos, &name, &v, &vlen),
	      "no attribute past the end");
	CHECK(scram_nonce_ok("!~", 2) && !scram_nonce_ok("", 0) &&
	      !scram_nonce_ok("a b", 3) && !scram_nonce_ok("a,b", 3) &&
	      !scram_nonce_ok("a\x7f", 2) && !scram_nonce_ok("\xc3\xa9", 2),
	      "nonces: printable but ',' only");
	CHECK(scram_parse_iterations("1", 1, &n) && n == 1 &&
	      scram_parse_iterations("10000000", 8, &n) && n == SCRAM_ITER_MAX,
	      "iteration counts 1 and SCRAM_ITER_MAX");
	CHECK(!scram_parse_iterations("0", 1, &n) &&
	      !scram_parse_iterations("04096", 5, &n) &&
	      !scram_parse_iterations("10000001", 8, &n) &&
	      !scram_parse_iterations("999999999", 9, &n) &&
	      !scram_parse_iterations("4096x", 5, &n) &&
	      !scram_parse_iterations("", 0, &n),
	      "iteration counts: 0, leading zero, too large, junk refused");
}

static void
test_client_first(void)
{
	static const struct {
		const char *in;
		const char *what;
	} refused[] = {
		{ "n=user,r=abc", "no GS2 header" },
		{ "n", "a GS2 header without its commas" },
		{ "n,", "a GS2 header with one comma" },
		{ "x,,n=user,r=abc", "an unknown channel binding flag" },
		{ "p,,n=user,r=abc", "'p' without a binding name" },
		{ "n,,m=ext,n=user,r=abc",
		  "a mandatory extension (m=) before the user" },
		{ "n,,n=user", "no nonce" },
		{ "n,,r=abc,n=user", "the nonce before the user" },
		{ "n,,n=,r=abc", "an empty user" },
		{ "n,,n=us=2cer,r=abc", "a bad escape in the user" },
		{ "n,,n=user,r=", "an empty nonce" },
		{ "n,,n=user,r=ab c", "a space in the nonce" },
		{ "n,,n=user,r=ab\x01", "a control character in the nonce" },
		{ "n,,n=user,r=\xc3\xa9", "a non-ASCII nonce" },
		{ "n,b=x,n=user,r=abc", "a GS2 field that is not a=" },
		{ "n,a=,n=user,r=abc", "an empty authzid" },
		{ "n,a=x=,n=user,r=abc", "a bad escape in the authzid" },
		/* RFC 5802 §7: only "," extensions may follow the nonce */
		{ "n,,n=user,r=abc,", "a ',' after the nonce and nothing more" },
		{ "n,,n=user,r=abc,,", "an empty field after the nonce" },
		{ "n,,n=user,r=abc,junk", "junk (not attr=value) after the nonce" },
		{ "n,,n=user,r=abc,e=", "an extension with an empty value" },
		{ "n,,n=user,r=abc,1=x", "an extension whose name is not a letter" },
		{ "n,,n=user,r=abc,=x", "an extension without a name" },
		{ "n,,n=user,r=abc,ex=1", "an extension with a two-letter name" },
		{ "n,,n=user,r=abc,e=\xff", "an extension value that is not UTF-8" },
		{ "n,,n=user,r=abc,e=1,", "a ',' after a valid extension" },
		{ "n,,n=user,r=abc,e=1,junk", "junk after a valid extension" },
	};
	struct scram_client_first cf;
	const char *why;
	char big[SCRAM_MSG_MAX + 2];
	size_t i;

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		why = NULL;
		CHECK(scram_parse_client_first(refused[i].in,
					       strlen(refused[i].in), &cf,
					       &why) == SCRAM_REFUSED &&
		      why != NULL && cf.user == NULL && cf.gs2_header == NULL,
		      "client-first refused: %s (%s)", refused[i].what,
		      why != NULL ? why : "no reason");
	}
	CHECK(scram_parse_client_first("n,,n=u\0,r=abc", 13, &cf, &why) ==
	      SCRAM_REFUSED, "client-first with a NUL refused");
	memset(big, 'a', sizeof(big));
	memcpy(big, "n,,n=user,r=", 12);
	CHECK(scram_parse_client_first(big, SCRAM_MSG_MAX + 1, &cf, &why) ==
	      SCRAM_REFUSED, "client-first longer than SCRAM_MSG_MAX refused");
	CHECK(scram_parse_client_first(big, SCRAM_MSG_MAX, &cf, &why) ==
	      SCRAM_OK && strlen(cf.nonce) == SCRAM_MSG_MAX - 12,
	      "client-first of SCRAM_MSG_MAX bytes accepted");
	scram_client_first_free(&cf);

	CHECK(scram_parse_client_first("y,a=ad=2Cmin,n=us=3Der,r=x,e=1", 30,
				       &cf, &why) == SCRAM_OK &&
	      cf.cbind == 'y' && strcmp(cf.gs2_header, "y,a=ad=2Cmin,") == 0 &&
	      strcmp(cf.authzid, "ad,min") == 0 &&
	      strcmp(cf.user, "us=er") == 0 && strcmp(cf.nonce, "x") == 0 &&
	      strcmp(cf.bare, "n=us=3Der,r=x,e=1") == 0,
	      "client-first with 'y', an escaped authzid and user, and an "
	      "extension after the nonce");
	scram_client_first_free(&cf);
	CHECK(scram_parse_client_first("p=tls-unique,,n=user,r=x", 24, &cf,
				       &why) == SCRAM_OK && cf.cbind == 'p',
	      "client-first asking for channel binding parses ('p')");
	scram_client_first_free(&cf);
	CHECK(scram_parse_client_first("n,,n=user,r=x,e=1,f=a=b,g=\xc3\xa9",
				       28, &cf, &why) == SCRAM_OK &&
	      strcmp(cf.nonce, "x") == 0 &&
	      strcmp(cf.bare, "n=user,r=x,e=1,f=a=b,g=\xc3\xa9") == 0,
	      "client-first with three extensions after the nonce ('=' and "
	      "UTF-8 in values) parses");
	scram_client_first_free(&cf);
}

static void
test_client_final(void)
{
	static const char proof32[] =
		"dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
	static const struct {
		const char *in;
		size_t key_len;
		const char *what;
	} refused[] = {
		{ "c=biws,r=abc", 32, "no proof" },
		{ "c=biws,r=abc,p=", 32, "an empty proof" },
		{ "c=biws,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=,r=abc",
		  32, "the proof not last" },
		{ "c=biws,r=abc,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		  20, "a SHA-256 proof for SHA-1 (bad proof length)" },
		{ "c=biws,r=abc,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=", 32,
		  "a SHA-1 proof for SHA-256 (bad proof length)" },
		{ "c=biws,r=abc,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ",
		  32, "a proof that is not base64" },
		{ "r=abc,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", 32,
		  "no c=" },
		{ "c=bi,r=abc,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		  32, "c= not base64" },
		{ "c=biws,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", 32,
		  "no nonce" },
		{ "c=biws,r=a b,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		  32, "a non-printable nonce" },
		{ "c=biws,r=,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		  32, "an empty nonce" },
		{ "c=biws,r=abc,x=,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7Ad",
		  32, "a truncated proof" },
		{ "c=biws,r=abc,junk,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		  32, "junk between the nonce and the proof" },
		{ "c=biws,r=abc,,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		  32, "an empty field between the nonce and the proof" },
		{ "c=biws,r=abc,x=,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		  32, "an extension with an empty value before the proof" },
	};
	struct scram_client_final fin;
	struct buf b = BUF_INIT;
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		why = NULL;
		CHECK(scram_parse_client_final(refused[i].in,
					       strlen(refused[i].in),
					       refused[i].key_len, &fin,
					       &why) == SCRAM_REFUSED &&
		      why != NULL && fin.nonce == NULL,
		      "client-final refused: %s (%s)", refused[i].what,
		      why != NULL ? why : "no reason");
	}
	buf_printf(&b, "c=biws,r=abc,x=ext,p=%s", proof32);
	CHECK(scram_parse_client_final(b.data, b.len, 32, &fin, &why) ==
	      SCRAM_OK && strcmp(fin.nonce, "abc") == 0 &&
	      fin.without_proof_len == 18,
	      "client-final with an extension before the proof");
	scram_client_final_free(&fin);
	CHECK(scram_parse_client_final("c=biws,r=a\0c,p=x", 17, 32, &fin,
				       &why) == SCRAM_REFUSED,
	      "client-final with a NUL refused");
	buf_free(&b);
}

int
main(void)
{
	size_t i;

	test_hashes();
	for (i = 0; i < sizeof(exchanges) / sizeof(exchanges[0]); i++)
		test_exchange(&exchanges[i]);
	test_saslprep();
	test_names();
	test_attributes();
	test_client_first();
	test_client_final();
	return test_done();
}
