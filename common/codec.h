/*
 * codec - base64 (RFC 4648, standard alphabet, padded) and hex.
 *
 * Decoders take untrusted input as (pointer, length) and are strict: a
 * character outside the alphabet, '=' anywhere but at the end, or a length
 * that is not a multiple of four is an error, never a silent repair.
 */
#ifndef AUTHD_CODEC_H
#define AUTHD_CODEC_H

#include <stdbool.h>
#include <stddef.h>

/* codec_b64_encoded_len - bytes needed to encode n bytes, without NUL. */
size_t codec_b64_encoded_len(size_t n);
/* codec_b64_encode - write base64 of (in, n) and a NUL to out, which has
 * room for codec_b64_encoded_len(n) + 1 bytes.  Returns the length. */
size_t codec_b64_encode(const unsigned char *in, size_t n, char *out);
/* codec_b64_decode - decode into out (room for len / 4 * 3 bytes).
 * Returns the decoded length, or -1 if the input is not valid base64. */
long codec_b64_decode(const char *in, size_t len, unsigned char *out);

/* codec_hex_encode - lowercase hex of (in, n) plus NUL into out (2n+1). */
void codec_hex_encode(const unsigned char *in, size_t n, char *out);
/* codec_hex_decode - exactly 2n hex digits (either case) into n bytes. */
bool codec_hex_decode(const char *in, size_t len, unsigned char *out,
		      size_t n);

#endif
