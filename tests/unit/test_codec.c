/*
 * test_codec - strict base64 and hex.
 */
#include "codec.h"
#include "test.h"

static const struct {
	const char *in;
	long want;		/* decoded length, -1 refused */
	const char *out;
} b64_cases[] = {
	{ "", 0, "" },
	{ "Zg==", 1, "f" },
	{ "Zm8=", 2, "fo" },
	{ "Zm9v", 3, "foo" },
	{ "Zm9vYmFy", 6, "foobar" },
	{ "AHRpbQB0YW5zdGFhZnRhbnN0YWFm", 21, "\0tim\0tanstaaftanstaaf" },
	{ "Zg=", -1, NULL },
	{ "Zg", -1, NULL },
	{ "Z===", -1, NULL },
	{ "Zm9v\n", -1, NULL },
	{ "Zm 9v", -1, NULL },
	{ "Zg==Zg==", -1, NULL },
	{ "Zm=v", -1, NULL },
	{ "Zm9*", -1, NULL },
	{ "====", -1, NULL },
};

int
main(void)
{
	unsigned char out[64], raw[3] = { 0xff, 0x00, 0x7f };
	char enc[64];
	size_t i;

	for (i = 0; i < sizeof(b64_cases) / sizeof(b64_cases[0]); i++) {
		long n = codec_b64_decode(b64_cases[i].in, strlen(b64_cases[i].in),
					  out);

		CHECK(n == b64_cases[i].want &&
		      (n < 0 || memcmp(out, b64_cases[i].out, (size_t)n) == 0),
		      "base64 decode case %zu -> %ld", i, b64_cases[i].want);
	}
	CHECK(codec_b64_encode((const unsigned char *)"foobar", 6, enc) == 8 &&
	      strcmp(enc, "Zm9vYmFy") == 0, "base64 encode");
	CHECK(codec_b64_encode(raw, 0, enc) == 0 && enc[0] == '\0',
	      "base64 encode of nothing");
	CHECK(codec_b64_encoded_len(4) == 8, "encoded length rounds up");
	codec_hex_encode(raw, 3, enc);
	CHECK_STR(enc, "ff007f", "hex encode");
	CHECK(codec_hex_decode("FF007f", 6, out, 3) &&
	      memcmp(out, raw, 3) == 0, "hex decode, both cases");
	CHECK(!codec_hex_decode("ff007", 5, out, 3), "hex odd length refused");
	CHECK(!codec_hex_decode("ff00zz", 6, out, 3), "hex non-digit refused");
	return test_done();
}
