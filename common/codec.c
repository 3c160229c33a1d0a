/*
 * codec - strict base64 on top of OpenSSL's block codec, and hex.
 *
 * EVP_DecodeBlock() accepts whitespace and does not report padding, so the
 * input is validated here first and the padding is subtracted afterwards.
 */
#include <string.h>

#include <openssl/evp.h>

#include "codec.h"

size_t
codec_b64_encoded_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

size_t
codec_b64_encode(const unsigned char *in, size_t n, char *out)
{
	if (n == 0) {
		out[0] = '\0';
		return 0;
	}
	return (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

static bool
b64_is_alpha(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '/';
}

long
codec_b64_decode(const char *in, size_t len, unsigned char *out)
{
	size_t pad = 0, i;
	int n;

	if (len == 0)
		return 0;
	if (len % 4 != 0 || len > 0x7fffffff)
		return -1;
	if (in[len - 1] == '=')
		pad = in[len - 2] == '=' ? 2 : 1;
	for (i = 0; i < len - pad; i++)
		if (!b64_is_alpha((unsigned char)in[i]))
			return -1;
	n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
	if (n < 0 || (size_t)n < pad)
		return -1;
	return (long)((size_t)n - pad);
}

void
codec_hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool
codec_hex_decode(const char *in, size_t len, unsigned char *out, size_t n)
{
	size_t i;

	if (len != 2 * n)
		return false;
	for (i = 0; i < n; i++) {
		int hi = hex_value(in[2 * i]), lo = hex_value(in[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}
