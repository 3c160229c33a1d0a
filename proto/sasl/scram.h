/*
 * scram - the RFC part of SCRAM-SHA-1 (RFC 5802) and SCRAM-SHA-256 (RFC
 * 7677), once, for authd's server mechanism (authd/mech_scram.c), the
 * store's verifiers (userdb/scheme_scram.c) and libauthd's client
 * mechanism (client-lib/client_scram.c): the two hashes, SASLprep, the key
 * derivation with its proofs and signatures, the saslname escape, the
 * attribute tokenizer and the server's parsers of the client's messages.
 *
 * libauthd links this, so nothing here exits, aborts or logs: every
 * failure, OpenSSL's included, is returned, and running out of memory is
 * told apart from a refusal.  Buffers of this module that held a
 * password or a key are wiped on every path; callers wipe what they own.
 *
 * Untrusted input, always (pointer, length) with explicit bounds: the
 * client-first and client-final messages a server receives
 * (scram_parse_client_*, fuzzed by tests/fuzz/fuzz_scram.c), the
 * server-first and server-final messages a client receives (read through
 * scram_attr, scram_nonce_ok and scram_parse_iterations; fuzzed through
 * libauthd by tests/fuzz/fuzz_client.c), and passwords (scram_saslprep).
 */
#ifndef AUTHD_PROTO_SCRAM_H
#define AUTHD_PROTO_SCRAM_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/types.h>

#include "buf.h"

enum scram_hash { SCRAM_SHA1, SCRAM_SHA256 };

#define SCRAM_KEY_MAX		32	/* SHA-256's output; SHA-1's is 20 */
/* RFC 7677 §4: at least 4096 iterations.  The ceiling bounds the work a
 * stored verifier or a hostile server can ask for. */
#define SCRAM_ITER_MIN		4096
#define SCRAM_ITER_MAX		10000000
/* The longest SCRAM message either side reads or writes. */
#define SCRAM_MSG_MAX		4096

/* What a function that judges untrusted input returns when it can also run
 * out of memory: the caller refuses the input on REFUSED and fails
 * temporarily on NOMEM. */
enum scram_result {
	SCRAM_OK,
	SCRAM_REFUSED,
	SCRAM_NOMEM,
};

/* --- the hash --- */

/* scram_md - the hash's EVP_MD (OpenSSL's built-in SHA-1 or SHA-256),
 * or NULL if this OpenSSL has none. */
const EVP_MD *scram_md(enum scram_hash h);
/* scram_key_len - the hash's length, that of every key, signature and
 * proof: 20 for SHA-1, 32 for SHA-256. */
size_t scram_key_len(enum scram_hash h);
/* scram_name - the mechanism's name: "SCRAM-SHA-1" or "SCRAM-SHA-256". */
const char *scram_name(enum scram_hash h);

/* --- Normalize (RFC 5802 §2.2) --- */

/* scram_saslprep - SASLprep (RFC 4013) of the password (pw, len) as a
 * "stored string", so unassigned code points are refused; printable ASCII
 * is its own SASLprep form and skips libidn.  SCRAM_OK with an allocated
 * string in *out_r (release it with scram_saslprep_free); SCRAM_REFUSED
 * if pw is empty, holds a NUL, is not UTF-8, holds a prohibited or
 * unassigned character, or maps to nothing; SCRAM_NOMEM.  *out_r is NULL
 * unless SCRAM_OK. */
enum scram_result scram_saslprep(const char *pw, size_t len, char **out_r);
/* scram_saslprep_free - wipe and free a result of scram_saslprep; NULL
 * is fine. */
void scram_saslprep_free(char *prepped);

/* --- keys, proofs and signatures (RFC 5802 §3) ---
 * Every key, signature and proof is scram_key_len(h) bytes.  Each of
 * these returns false if OpenSSL failed; the outputs are then wiped. */

/* scram_salted_password - SaltedPassword := Hi(Normalize(password),
 * salt, i), PBKDF2 with HMAC-H, from a password already through
 * scram_saslprep.  The caller wipes out. */
bool scram_salted_password(enum scram_hash h, const char *prepped,
			   size_t prepped_len, const unsigned char *salt,
			   size_t salt_len, unsigned int iterations,
			   unsigned char *out);
/* scram_keys - StoredKey := H(ClientKey) and ServerKey := HMAC(
 * SaltedPassword, "Server Key"), with ClientKey := HMAC(SaltedPassword,
 * "Client Key"): what a verifier keeps. */
bool scram_keys(enum scram_hash h, const unsigned char *salted,
		unsigned char *stored_key, unsigned char *server_key);
/* scram_auth_message - append AuthMessage := client-first-message-bare
 * "," server-first-message "," client-final-message-without-proof to
 * out; false if out is failed (out of memory). */
bool scram_auth_message(struct buf *out, const char *client_first_bare,
			size_t client_first_bare_len, const char *server_first,
			size_t server_first_len, const char *final_no_proof,
			size_t final_no_proof_len);
/* scram_signature - HMAC(key, AuthMessage): ClientSignature with the
 * StoredKey, ServerSignature with the ServerKey. */
bool scram_signature(enum scram_hash h, const unsigned char *key,
		     const char *auth_msg, size_t auth_msg_len,
		     unsigned char *out);
/* scram_client_proof - the client's side from SaltedPassword: ClientProof
 * := ClientKey XOR ClientSignature into proof, and the ServerSignature
 * the server must send back into server_sig.  The caller wipes both. */
bool scram_client_proof(enum scram_hash h, const unsigned char *salted,
			const char *auth_msg, size_t auth_msg_len,
			unsigned char *proof, unsigned char *server_sig);
/* scram_proof_check - the server's side: ClientKey := ClientProof XOR
 * ClientSignature, and the proof is right when H(ClientKey) equals the
 * StoredKey (compared in constant time).  1 right, 0 wrong, -1 OpenSSL
 * failed. */
int scram_proof_check(enum scram_hash h, const unsigned char *stored_key,
		      const char *auth_msg, size_t auth_msg_len,
		      const unsigned char *proof);

/* --- attributes (RFC 5802 §5.1, §7) --- */

/* scram_escape_name - append the saslname of (name, len) to out: ',' as
 * "=2C" and '=' as "=3D".  False if out is failed (out of memory). */
bool scram_escape_name(struct buf *out, const char *name, size_t len);
/* scram_unescape_name - the name a saslname (s, n) stands for, allocated
 * in *out_r (free()).  SCRAM_REFUSED for a ',', a NUL, an '=' not
 * followed by "2C" or "3D", or an empty result; SCRAM_NOMEM. */
enum scram_result scram_unescape_name(const char *s, size_t n, char **out_r);
/* scram_attr - the next attribute "x=value" (x an ASCII letter) of
 * (in, len) from *pos, which moves past the following ',': the letter in
 * *name_r, the value and its length.  False at the end of the input or
 * for a field that is not an attribute. */
bool scram_attr(const char *in, size_t len, size_t *pos, char *name_r,
		const char **value_r, size_t *value_len_r);
/* scram_nonce_ok - whether (s, n) is a nonce: one or more printable
 * characters other than ',' (RFC 5802 §7 "printable"). */
bool scram_nonce_ok(const char *s, size_t n);
/* scram_parse_iterations - an i= value: decimal, no leading zero, in
 * 1..SCRAM_ITER_MAX (a server may ask for fewer than SCRAM_ITER_MIN;
 * only a store insists).  False otherwise. */
bool scram_parse_iterations(const char *v, size_t n, unsigned int *out);

/* --- the server's parsers of the client's messages (RFC 5802 §7) --- */

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

/* scram_parse_client_first - gs2-header client-first-message-bare; a
 * mandatory extension ("m=") is refused, extensions after the nonce are
 * ignored if well-formed (ALPHA "=" UTF-8 value, comma-separated) and
 * refused otherwise.  SCRAM_OK with allocated strings in cf (release with
 * scram_client_first_free); SCRAM_REFUSED with a static reason in
 * *error_r; SCRAM_NOMEM ("out of memory").  cf holds nothing to free
 * unless SCRAM_OK. */
enum scram_result scram_parse_client_first(const char *in, size_t len,
					   struct scram_client_first *cf,
					   const char **error_r);
void scram_client_first_free(struct scram_client_first *cf);
/* scram_parse_client_final - c=, r=, any well-formed extensions (as in
 * scram_parse_client_first), and p= last, whose
 * proof must decode to key_len bytes (scram_key_len of the hash).  As
 * scram_parse_client_first for results and ownership (release with
 * scram_client_final_free). */
enum scram_result scram_parse_client_final(const char *in, size_t len,
					   size_t key_len,
					   struct scram_client_final *cf,
					   const char **error_r);
void scram_client_final_free(struct scram_client_final *cf);

#endif
