/*
 * test_record - the record codec: round trips, canonical form, import
 * spellings, and refusals.
 */
#include "buf.h"
#include "password.h"
#include "record.h"
#include "test.h"

#define S256 "{SCRAM-SHA-256}4096,W22ZaJ0SNY7soEsUEjb6gQ==," \
	"WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=," \
	"wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="
#define S1 "{SCRAM-SHA-1}4096,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=," \
	"D+CSWLOshSulAsxiupA+qs2/fTE="
#define CRAM "{CRAM-MD5}cd3ba7deaad6e5ca23448ba42e379747a9e0f7f1fbc00c8a81bbaac395731b56"
#define DIG "{DIGEST-MD5}543e1aec5d3614f03141652d6ada51b2"
#define SHA512 "$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/"

static const struct userdb_name_rules rules = { "example.org", true };

/* roundtrip - decode a value, re-encode it, and compare. */
static void
roundtrip(const char *value, const char *desc)
{
	struct userdb_record rec;
	const char *why = userdb_record_decode(value, strlen(value), &rec);
	struct buf b;

	CHECK(why == NULL, "decode %s%s%s", desc, why ? ": " : "", why ? why : "");
	if (why != NULL)
		return;
	buf_init(&b);
	userdb_record_encode(&rec, &b);
	CHECK_STR(b.data, value, "canonical round trip: %s", desc);
	buf_free(&b);
	userdb_record_clear(&rec);
}

static const struct {
	const char *line, *want;	/* want: canonical export, or NULL */
	const char *verify_pw;		/* a password that must verify */
} import_cases[] = {
	{ "alice@example.org::" CRAM, "alice@example.org::" CRAM, "secret" },
	{ "alice@example.org::" DIG, "alice@example.org::" DIG, "secret" },
	{ "alice::{plain}secret", "alice@example.org::{PLAIN.B64}c2VjcmV0",
	  "secret" },
	{ "alice@example.org::{CLEARTEXT}se:cret",
	  "alice@example.org::{PLAIN.B64}c2U6Y3JldA==", "se:cret" },
	{ "alice@example.org::{SHA512-CRYPT}" SHA512,
	  "alice@example.org::{CRYPT}" SHA512, "password" },
	{ "alice@example.org::" SHA512, "alice@example.org::{CRYPT}" SHA512,
	  "password" },
	{ "user@example.org::SCRAM-SHA-1$4096:QSXCR+Q6sek8bf92$"
	  "6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=",
	  "user@example.org::" S1, "pencil" },
	{ "user@example.org::" S256, "user@example.org::" S256, "pencil" },
	{ "user@example.org:disabled,created=5,changed=7:" S1 "\t " S256,
	  "user@example.org:disabled,created=5,changed=7:" S256 " " S1,
	  "pencil" },
	{ "alice@example.org::{cram-md5}CD3BA7DEAAD6E5CA23448BA42E379747A9E0F7F1FBC00C8A81BBAAC395731B56",
	  "alice@example.org::" CRAM, "secret" },
	/* refusals */
	{ "no colon here", NULL, NULL },
	{ "alice@example.org:" CRAM, NULL, NULL },
	{ "alice@example.org::", NULL, NULL },
	{ "alice@example.org::{MD4}abc", NULL, NULL },
	{ "alice@example.org::{CRAM-MD5}cd3b", NULL, NULL },
	{ "alice@example.org::{DIGEST-MD5}zz3e1aec5d3614f03141652d6ada51b2", NULL, NULL },
	{ "alice@example.org::" CRAM " " CRAM, NULL, NULL },
	{ "alice@example.org:bogus:" CRAM, NULL, NULL },
	{ "alice@example.org:created=x:" CRAM, NULL, NULL },
	{ "alice@example.org:disabled,:" CRAM, NULL, NULL },
	{ "alice@example.org::{SCRAM-SHA-1}100,QSXCR+Q6sek8bf92,"
	  "6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE=", NULL, NULL },
	{ "alice@example.org::{SCRAM-SHA-1}4096,QSXCR+Q6sek8bf92,"
	  "6dlGYMOdZcOPutkcNY8U2g7vK9Y=", NULL, NULL },
	{ "alice@example.org::{SCRAM-SHA-256}4096,QSXCR+Q6sek8bf92,"
	  "6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE=", NULL, NULL },
	{ "alice@example.org::{SHA512-CRYPT}$y$j9T$abc$def", NULL, NULL },
	{ "alice@example.org::{PLAIN.B64}AA==", NULL, NULL },
	{ "alice@example.org::{PLAIN.B64}!!!!", NULL, NULL },
	{ "al:ice@example.org::" CRAM, NULL, NULL },
	{ "::" CRAM, NULL, NULL },
	{ "alice@example.org::{CRAM-MD5", NULL, NULL },
	{ "alice@example.org::SCRAM-SHA-3$4096:a$b:c", NULL, NULL },
};

/* columns - a site's password column (userdb_column_parse). */
static void
columns(void)
{
	struct userdb_record a, b;
	const char *col;

	col = "{PLAIN}two words";
	CHECK(userdb_column_parse("u@example.org", col, strlen(col), false,
				  &rules, &a) == NULL &&
	      (a.have & USERDB_V_CLEARTEXT) && a.plain_len == 9 &&
	      memcmp(a.plain, "two words", 9) == 0 &&
	      !(a.flags & USERDB_FLAG_DISABLED),
	      "{PLAIN} keeps its spaces");
	col = "{PLAIN}two  words";
	CHECK(userdb_column_parse("u@example.org", col, strlen(col), true,
				  &rules, &b) == NULL &&
	      (b.flags & USERDB_FLAG_DISABLED) &&
	      memcmp(a.fingerprint, b.fingerprint, 32) != 0,
	      "disabled sets the flag; another column, another fingerprint");
	userdb_record_clear(&a);
	userdb_record_clear(&b);
	col = SHA512;
	CHECK(userdb_column_parse("u@example.org", col, strlen(col), false,
				  &rules, &a) == NULL && (a.have & USERDB_V_CRYPT) &&
	      strcmp(a.crypt, col) == 0, "a bare crypt string");
	userdb_record_clear(&a);
	col = "{SHA512-CRYPT}" SHA512;
	CHECK(userdb_column_parse("u@example.org", col, strlen(col), false,
				  &rules, &a) == NULL && (a.have & USERDB_V_CRYPT),
	      "a {SCHEME} verifier");
	userdb_record_clear(&a);
	CHECK(userdb_column_parse("u@example.org", "x\0y", 3, false, &rules,
				  &a) != NULL, "NUL refused");
	CHECK(userdb_column_parse("u@example.org", "plaintext", 9, false,
				  &rules, &a) != NULL && a.have == 0,
	      "a column without a scheme is refused, not taken as cleartext");
	CHECK(userdb_column_parse("u@example.org", "", 0, false, &rules,
				  &a) != NULL, "an empty column is refused");
}

int
main(void)
{
	struct userdb_record rec;
	struct userdb_name name;
	const char *why;
	size_t i;

	roundtrip("1::" CRAM, "CRAM-MD5 only");
	roundtrip("1::{DIGEST-MD5}543e1aec5d3614f03141652d6ada51b2 "
		  "{DIGEST-MD5-ADDR}00112233445566778899aabbccddeeff",
		  "both DIGEST-MD5 spellings");
	roundtrip("1:disabled,created=1,changed=2:{CRYPT}" SHA512 " " S256 " "
		  S1 " " CRAM " " DIG " {PLAIN.B64}c2VjcmV0", "every verifier");
	CHECK(userdb_record_decode("2::" CRAM, 3 + strlen(CRAM), &rec) != NULL,
	      "unknown record version refused");
	CHECK(userdb_record_decode("1::{PLAIN}x", 11, &rec) != NULL,
	      "import-only spelling refused inside the store");
	CHECK(userdb_record_decode("1::" SHA512, 3 + strlen(SHA512), &rec) != NULL,
	      "bare crypt string refused inside the store");
	CHECK(userdb_record_decode("1::" CRAM "\n", 4 + strlen(CRAM), &rec) != NULL,
	      "newline inside a record refused");
	CHECK(userdb_record_decode("", 0, &rec) != NULL, "empty record refused");

	for (i = 0; i < sizeof(import_cases) / sizeof(import_cases[0]); i++) {
		const char *line = import_cases[i].line;

		why = userdb_line_parse(line, strlen(line), &rules, &name, &rec);
		if (import_cases[i].want == NULL) {
			CHECK(why != NULL, "import line %zu refused", i);
			continue;
		}
		CHECK(why == NULL, "import line %zu parses%s%s", i,
		      why ? ": " : "", why ? why : "");
		if (why != NULL)
			continue;
		{
			struct buf b;

			buf_init(&b);
			userdb_line_encode(name.key, &rec, &b);
			CHECK_STR(b.data, import_cases[i].want,
				  "import line %zu exports canonically", i);
			buf_free(&b);
		}
		CHECK(userdb_verify(&rec, &name, import_cases[i].verify_pw,
				    strlen(import_cases[i].verify_pw)),
		      "import line %zu: right password verifies", i);
		CHECK(!userdb_verify(&rec, &name, "wrong", 5),
		      "import line %zu: wrong password refused", i);
		userdb_record_clear(&rec);
	}

	{
		unsigned int m = 0;
		struct buf b;

		CHECK(userdb_mechs_parse("plain, SCRAM cram-md5", &m) == NULL &&
		      m == (USERDB_V_CRYPT | USERDB_V_SCRAM_SHA256 |
			    USERDB_V_SCRAM_SHA1 | USERDB_V_CRAM_MD5),
		      "mechs list parses");
		CHECK(userdb_mechs_parse("plain ntlm", &m) != NULL,
		      "unknown mech refused");
		CHECK(userdb_mechs_parse(" , ", &m) != NULL, "empty mech list refused");
		buf_init(&b);
		userdb_mechs_format(USERDB_V_CRYPT | USERDB_V_DIGEST_MD5, &b);
		CHECK_STR(b.data, "plain digest-md5", "mechs format");
		buf_free(&b);
	}
	columns();
	return test_done();
}
