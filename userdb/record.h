/*
 * record - a user's entry in the store, and its text encoding.
 *
 * One encoding serves three places, so they cannot disagree: the GDBM
 * value, the lines of `pwtool export`, and the lines `pwtool import` reads.
 *
 *   GDBM value   1:FLAGS:VERIFIERS          ("1" is the record version)
 *   export line  USER@REALM:FLAGS:VERIFIERS
 *
 * FLAGS is a comma-separated list, possibly empty: "disabled",
 * "created=EPOCH", "changed=EPOCH".  VERIFIERS is a space-separated list of
 * "{SCHEME}data", each scheme at most once:
 *
 *   {CRYPT}$y$...                 crypt(3) string (yescrypt, sha512-crypt, bcrypt...)
 *   {SCRAM-SHA-256}I,SALT,SK,SVK  Dovecot's layout: iterations, base64 salt,
 *   {SCRAM-SHA-1}I,SALT,SK,SVK    base64 StoredKey, base64 ServerKey
 *   {CRAM-MD5}64 hex              HMAC-MD5 context (password-equivalent)
 *   {DIGEST-MD5}32 hex            H(user:realm:pw) (password-equivalent)
 *   {DIGEST-MD5-ADDR}32 hex       H(user@realm:realm:pw), for clients that
 *                                 send the whole address as the user name
 *   {PLAIN.B64}base64             cleartext, only on explicit request
 *
 * Import also accepts foreign spellings and converts them: {SHA512-CRYPT},
 * {SHA256-CRYPT}, {BLF-CRYPT}, {MD5-CRYPT}, bare "$..." crypt strings,
 * {PLAIN}/{CLEARTEXT} text, RFC 5803 "SCRAM-SHA-1$I:SALT$SK:SVK", and
 * scheme names in any case.
 *
 * Everything decoded here is untrusted (a store file may be damaged or
 * hand-made, import files come from anywhere): parsers take (pointer,
 * length), check every bound, and return a static reason on failure.
 */
#ifndef AUTHD_USERDB_RECORD_H
#define AUTHD_USERDB_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "name.h"
#include "scheme.h"

#define USERDB_RECORD_VERSION	1
#define USERDB_RECORD_MAX	8192	/* bytes of one encoded record */

/* Verifier kinds, also used as the "mechs" bit set of pwtool --mechs. */
enum {
	USERDB_V_CRYPT = 1 << 0,	/* "plain": strong hash for PLAIN/LOGIN */
	USERDB_V_SCRAM_SHA256 = 1 << 1,
	USERDB_V_SCRAM_SHA1 = 1 << 2,
	USERDB_V_CRAM_MD5 = 1 << 3,
	USERDB_V_DIGEST_MD5 = 1 << 4,
	USERDB_V_CLEARTEXT = 1 << 5,
	USERDB_V_DIGEST_MD5_ADDR = 1 << 6,
};

#define USERDB_FLAG_DISABLED	1u

struct userdb_record {
	unsigned int flags;
	uint64_t created, changed;
	unsigned int have;		/* USERDB_V_* bits present */
	bool crypt_legacy;		/* crypt method is a weak, old one */
	char *crypt;
	struct scram_verifier scram256, scram1;
	unsigned char cram_md5[CRAM_MD5_CONTEXT_LEN];
	unsigned char digest_md5[16];
	unsigned char digest_md5_addr[16];
	char *plain;			/* cleartext, plain_len bytes + NUL */
	size_t plain_len;
	/* SHA-256 of the stored bytes, set by userdb lookups: any change to
	 * the record (password, lock, re-creation) changes it. */
	unsigned char fingerprint[32];
};

/* userdb_record_init - an empty record (no verifiers, no flags). */
void userdb_record_init(struct userdb_record *rec);
/* userdb_record_clear - wipe and free everything the record holds. */
void userdb_record_clear(struct userdb_record *rec);

/* userdb_record_decode - parse a GDBM value.  NULL or a static reason; on
 * failure the record is cleared. */
const char *userdb_record_decode(const char *data, size_t len,
				 struct userdb_record *rec);
/* userdb_record_decode_fp - userdb_record_decode, then the fingerprint of
 * the bytes (rec->fingerprint), as both stores read a record. */
const char *userdb_record_decode_fp(const char *data, size_t len,
				    struct userdb_record *rec);
/* userdb_record_encode - append the canonical GDBM value to out. */
void userdb_record_encode(const struct userdb_record *rec, struct buf *out);

/* userdb_line_parse - parse an import line (no trailing newline) into a
 * name and record; import spellings allowed.  NULL or a static reason. */
const char *userdb_line_parse(const char *line, size_t len,
			      const struct userdb_name_rules *rules,
			      struct userdb_name *name_r,
			      struct userdb_record *rec);
/* userdb_column_parse - a password column of a site's own table
 * (store_pg_password_query) as the record of key (a store key): one
 * {SCHEME} verifier as import reads them, several separated by spaces, or
 * a bare crypt string; {PLAIN} and {CLEARTEXT} take the rest of the
 * column, spaces included.  disabled sets the flag.  The fingerprint is
 * that of what was parsed, so a cache sees any change.  NULL or a static
 * reason.  Untrusted input: the column. */
const char *userdb_column_parse(const char *key, const char *col, size_t len,
				bool disabled,
				const struct userdb_name_rules *rules,
				struct userdb_record *rec);
/* userdb_line_encode - append "KEY:FLAGS:VERIFIERS" (no newline). */
void userdb_line_encode(const char *key, const struct userdb_record *rec,
			struct buf *out);

/* userdb_mechs_parse - parse "plain scram cram-md5 ..." (spaces or commas)
 * into USERDB_V_* bits.  Words: plain, scram (both SCRAM), scram-sha-256,
 * scram-sha-1, cram-md5, digest-md5, cleartext, all.  NULL or a reason. */
const char *userdb_mechs_parse(const char *s, unsigned int *mechs_r);
/* userdb_mechs_format - the words for a bit set, space-separated. */
void userdb_mechs_format(unsigned int mechs, struct buf *out);

#endif
