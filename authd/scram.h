/*
 * scram - parsers of the client's SCRAM messages (RFC 5802 §7).
 * Untrusted input, (pointer, length); fuzzed by tests/fuzz/fuzz_scram.c.
 */
#ifndef AUTHD_SCRAM_H
#define AUTHD_SCRAM_H

#include <stddef.h>

#include "scheme.h"

struct scram_client_first {
	char cbind;		/* 'n', 'y' or 'p' */
	char *gs2_header;	/* "n,," etc., with both commas */
	char *authzid;		/* unescaped, or NULL */
	char *user;		/* unescaped saslname */
	char *nonce;
	char *bare;		/* client-first-message-bare */
};

struct scram_client_final {
	unsigned char cbind[256];	/* decoded c= */
	size_t cbind_len;
	char *nonce;
	unsigned char proof[SCRAM_KEY_MAX];
	size_t without_proof_len;	/* bytes before ",p=" */
};

/* NULL or a static reason; on success the strings are allocated. */
const char *scram_parse_client_first(const char *in, size_t len,
				     struct scram_client_first *cf);
void scram_client_first_free(struct scram_client_first *cf);
/* key_len: the proof's length for the hash (20 or 32). */
const char *scram_parse_client_final(const char *in, size_t len,
				     size_t key_len,
				     struct scram_client_final *cf);
void scram_client_final_free(struct scram_client_final *cf);
/* scram_unescape_name - "=2C" -> ',' and "=3D" -> '='; NULL if another
 * '=' sequence or a ',' appears (RFC 5802 §5.1). */
char *scram_unescape_name(const char *s, size_t n);

#endif
