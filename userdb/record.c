/*
 * record - the versioned text encoding of a user's entry.  See record.h.
 * Untrusted input: every byte passed to the decoders.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "codec.h"
#include "digest.h"
#include "record.h"
#include "secret.h"
#include "xalloc.h"

#define SCHEME_NAME_MAX	32

void
userdb_record_init(struct userdb_record *rec)
{
	memset(rec, 0, sizeof(*rec));
}

void
userdb_record_clear(struct userdb_record *rec)
{
	secret_free_str(rec->crypt);
	if (rec->plain != NULL)
		secret_free(rec->plain, rec->plain_len + 1);
	secret_wipe(rec, sizeof(*rec));
	userdb_record_init(rec);
}

/* parse_u64 - decimal digits only, no sign, no overflow. */
static bool
parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 20)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (v > (max - (uint64_t)(s[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

/* b64_field - decode base64 (s, len) into out, expecting between min and
 * max decoded bytes. */
static bool
b64_field(const char *s, size_t len, unsigned char *out, size_t min,
	  size_t max, size_t *n_r)
{
	unsigned char tmp[((USERDB_RECORD_MAX + 3) / 4) * 3];
	long n;

	if (len > USERDB_RECORD_MAX || len / 4 * 3 > sizeof(tmp))
		return false;
	n = codec_b64_decode(s, len, tmp);
	if (n < 0 || (size_t)n < min || (size_t)n > max) {
		secret_wipe(tmp, sizeof(tmp));
		return false;
	}
	memcpy(out, tmp, (size_t)n);
	secret_wipe(tmp, (size_t)n);
	*n_r = (size_t)n;
	return true;
}

/* parse_scram - "I,SALT,SK,SVK" (Dovecot) or, with rfc5803, the RFC 5803
 * "I:SALT$SK:SVK" body. */
static const char *
parse_scram(enum scram_hash h, const char *s, size_t len, bool rfc5803,
	    struct scram_verifier *v)
{
	const char *f[4];
	size_t flen[4], i, k = 0, start = 0, klen = scram_key_len(h);
	uint64_t iter;
	char seps[3] = { ',', ',', ',' };

	if (rfc5803) {
		seps[0] = ':';
		seps[1] = '$';
		seps[2] = ':';
	}
	for (i = 0; i <= len && k < 4; i++) {
		if (i == len || (k < 3 && s[i] == seps[k])) {
			f[k] = s + start;
			flen[k] = i - start;
			k++;
			start = i + 1;
		}
	}
	if (k != 4 || start != len + 1)
		return "SCRAM verifier needs iterations, salt, StoredKey, ServerKey";
	memset(v, 0, sizeof(*v));
	if (!parse_u64(f[0], flen[0], SCRAM_ITER_MAX, &iter) ||
	    iter < SCRAM_ITER_MIN)
		return "SCRAM iteration count must be 4096..10000000";
	v->iterations = (unsigned int)iter;
	if (!b64_field(f[1], flen[1], v->salt, 1, SCHEME_SCRAM_SALT_MAX,
		       &v->salt_len))
		return "SCRAM salt is not base64 of 1..64 bytes";
	if (!b64_field(f[2], flen[2], v->stored_key, klen, klen, &i) ||
	    !b64_field(f[3], flen[3], v->server_key, klen, klen, &i))
		return "SCRAM keys are not base64 of the hash length";
	return NULL;
}

static const char *
set_crypt(struct userdb_record *rec, const char *s, size_t len,
	  const char *want_prefix)
{
	const char *why;

	if (want_prefix != NULL &&
	    (len < strlen(want_prefix) ||
	     memcmp(s, want_prefix, strlen(want_prefix)) != 0))
		return "crypt string does not match its scheme name";
	if ((why = scheme_crypt_check(s, len, &rec->crypt_legacy)) != NULL)
		return why;
	rec->crypt = xstrndup(s, len);
	rec->have |= USERDB_V_CRYPT;
	return NULL;
}

static const char *
set_plain(struct userdb_record *rec, const char *s, size_t len, bool b64)
{
	unsigned char *tmp;
	size_t n = len;

	if (b64) {
		tmp = xmalloc(len / 4 * 3 + 1);
		if (!b64_field(s, len, tmp, 1, USERDB_PASSWORD_MAX, &n)) {
			secret_free(tmp, len / 4 * 3 + 1);
			return "cleartext is not base64 of 1..511 bytes";
		}
	} else {
		if (len == 0 || len > USERDB_PASSWORD_MAX)
			return "cleartext must be 1..511 bytes";
		tmp = xmalloc(len + 1);
		memcpy(tmp, s, len);
	}
	if (memchr(tmp, '\0', n) != NULL) {
		secret_free(tmp, n + 1);
		return "cleartext contains a NUL byte";
	}
	tmp[n] = '\0';
	rec->plain = (char *)tmp;
	rec->plain_len = n;
	rec->have |= USERDB_V_CLEARTEXT;
	return NULL;
}

/* verifier_kind - the USERDB_V_* bit a scheme name stands for, and whether
 * it is a canonical (store) spelling. */
struct scheme_name {
	const char *name;
	unsigned int kind;
	bool canonical;
	const char *crypt_prefix;
};

static const struct scheme_name scheme_names[] = {
	{ "CRYPT", USERDB_V_CRYPT, true, NULL },
	{ "SHA512-CRYPT", USERDB_V_CRYPT, false, "$6$" },
	{ "SHA256-CRYPT", USERDB_V_CRYPT, false, "$5$" },
	{ "BLF-CRYPT", USERDB_V_CRYPT, false, "$2" },
	{ "MD5-CRYPT", USERDB_V_CRYPT, false, "$1$" },
	{ "SCRAM-SHA-256", USERDB_V_SCRAM_SHA256, true, NULL },
	{ "SCRAM-SHA-1", USERDB_V_SCRAM_SHA1, true, NULL },
	{ "CRAM-MD5", USERDB_V_CRAM_MD5, true, NULL },
	{ "DIGEST-MD5", USERDB_V_DIGEST_MD5, true, NULL },
	{ "DIGEST-MD5-ADDR", USERDB_V_DIGEST_MD5_ADDR, true, NULL },
	{ "PLAIN.B64", USERDB_V_CLEARTEXT, true, NULL },
	{ "PLAIN", USERDB_V_CLEARTEXT, false, NULL },
	{ "CLEARTEXT", USERDB_V_CLEARTEXT, false, NULL },
	{ NULL, 0, false, NULL },
};

static const char *
parse_verifier(struct userdb_record *rec, const char *s, size_t len,
	       bool import)
{
	const struct scheme_name *sn;
	const char *close, *data;
	size_t nlen, dlen;
	enum scram_hash h;

	if (import && len > 0 && s[0] == '$') {
		if (rec->have & USERDB_V_CRYPT)
			return "more than one verifier of the same kind";
		return set_crypt(rec, s, len, NULL);
	}
	if (import && len > 12 && strncasecmp(s, "SCRAM-SHA-", 10) == 0) {
		const char *dollar = memchr(s, '$', len);

		if (dollar == NULL)
			return "RFC 5803 SCRAM verifier without '$'";
		nlen = (size_t)(dollar - s);
		if (nlen == 11 && strncasecmp(s, "SCRAM-SHA-1", 11) == 0)
			h = SCRAM_SHA1;
		else if (nlen == 13 && strncasecmp(s, "SCRAM-SHA-256", 13) == 0)
			h = SCRAM_SHA256;
		else
			return "unknown RFC 5803 SCRAM hash";
		sn = &scheme_names[h == SCRAM_SHA1 ? 6 : 5];
		data = dollar + 1;
		dlen = len - nlen - 1;
		if (rec->have & sn->kind)
			return "more than one verifier of the same kind";
		rec->have |= sn->kind;
		return parse_scram(h, data, dlen, true,
				   h == SCRAM_SHA1 ? &rec->scram1 : &rec->scram256);
	}
	if (len < 3 || s[0] != '{' ||
	    (close = memchr(s, '}', len < SCHEME_NAME_MAX ? len : SCHEME_NAME_MAX)) == NULL)
		return "verifier must look like {SCHEME}data";
	nlen = (size_t)(close - s - 1);
	data = close + 1;
	dlen = len - nlen - 2;
	for (sn = scheme_names; sn->name != NULL; sn++)
		if (strlen(sn->name) == nlen &&
		    strncasecmp(sn->name, s + 1, nlen) == 0)
			break;
	if (sn->name == NULL || (!import && !sn->canonical))
		return "unknown password scheme";
	if (rec->have & sn->kind)
		return "more than one verifier of the same kind";
	switch (sn->kind) {
	case USERDB_V_CRYPT:
		return set_crypt(rec, data, dlen, sn->crypt_prefix);
	case USERDB_V_SCRAM_SHA256:
	case USERDB_V_SCRAM_SHA1:
		h = sn->kind == USERDB_V_SCRAM_SHA1 ? SCRAM_SHA1 : SCRAM_SHA256;
		rec->have |= sn->kind;
		return parse_scram(h, data, dlen, false,
				   h == SCRAM_SHA1 ? &rec->scram1 : &rec->scram256);
	case USERDB_V_CRAM_MD5:
		if (!codec_hex_decode(data, dlen, rec->cram_md5,
				      sizeof(rec->cram_md5)))
			return "CRAM-MD5 context must be 64 hex digits";
		rec->have |= sn->kind;
		return NULL;
	case USERDB_V_DIGEST_MD5:
	case USERDB_V_DIGEST_MD5_ADDR:
		if (!codec_hex_decode(data, dlen, sn->kind == USERDB_V_DIGEST_MD5 ?
				      rec->digest_md5 : rec->digest_md5_addr, 16))
			return "DIGEST-MD5 hash must be 32 hex digits";
		rec->have |= sn->kind;
		return NULL;
	default:
		return set_plain(rec, data, dlen, strcasecmp(sn->name,
							     "PLAIN.B64") == 0);
	}
}

static const char *
parse_flags(struct userdb_record *rec, const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		const char *item = s + i, *comma = memchr(item, ',', len - i);
		size_t n = comma != NULL ? (size_t)(comma - item) : len - i;

		if (n == 8 && memcmp(item, "disabled", 8) == 0)
			rec->flags |= USERDB_FLAG_DISABLED;
		else if (n > 8 && memcmp(item, "created=", 8) == 0) {
			if (!parse_u64(item + 8, n - 8, INT64_MAX, &rec->created))
				return "bad created= time";
		} else if (n > 8 && memcmp(item, "changed=", 8) == 0) {
			if (!parse_u64(item + 8, n - 8, INT64_MAX, &rec->changed))
				return "bad changed= time";
		} else
			return "unknown flag (known: disabled, created=, changed=)";
		i += n + 1;
		if (comma != NULL && i == len)
			return "empty flag after ','";
	}
	return NULL;
}

/* parse_body - "FLAGS:VERIFIERS". */
static const char *
parse_body(const char *s, size_t len, bool import, struct userdb_record *rec)
{
	const char *colon = memchr(s, ':', len), *why;
	size_t i;

	if (colon == NULL)
		return "missing ':' between flags and verifiers";
	if ((why = parse_flags(rec, s, (size_t)(colon - s))) != NULL)
		return why;
	i = (size_t)(colon - s) + 1;
	while (i < len) {
		size_t start;

		while (i < len && (s[i] == ' ' || (import && s[i] == '\t')))
			i++;
		start = i;
		while (i < len && s[i] != ' ' && !(import && s[i] == '\t'))
			i++;
		if (i > start &&
		    (why = parse_verifier(rec, s + start, i - start, import)) != NULL)
			return why;
	}
	if (rec->have == 0)
		return "no verifier";
	return NULL;
}

const char *
userdb_record_decode(const char *data, size_t len, struct userdb_record *rec)
{
	const char *why;

	userdb_record_init(rec);
	if (len > USERDB_RECORD_MAX)
		why = "record too long";
	else if (len < 2 || data[0] != '1' || data[1] != ':')
		why = "unknown record version";
	else if (memchr(data, '\0', len) != NULL || memchr(data, '\n', len))
		why = "NUL or newline in record";
	else
		why = parse_body(data + 2, len - 2, false, rec);
	if (why != NULL)
		userdb_record_clear(rec);
	return why;
}

static void
b64_append(struct buf *out, const unsigned char *p, size_t n)
{
	char tmp[((SCHEME_SCRAM_SALT_MAX + 2) / 3) * 4 + 1];

	codec_b64_encode(p, n, tmp);
	buf_append_str(out, tmp);
}

static void
encode_scram(struct buf *out, enum scram_hash h,
	     const struct scram_verifier *v)
{
	size_t k = scram_key_len(h);

	buf_printf(out, " {%s}%u,", scram_name(h), v->iterations);
	b64_append(out, v->salt, v->salt_len);
	buf_append_c(out, ',');
	b64_append(out, v->stored_key, k);
	buf_append_c(out, ',');
	b64_append(out, v->server_key, k);
}

/* encode_body - "FLAGS:VERIFIERS" in canonical order. */
static void
encode_body(const struct userdb_record *rec, struct buf *out)
{
	char hex[2 * CRAM_MD5_CONTEXT_LEN + 1];
	const char *sep = "";
	size_t start;

	if (rec->flags & USERDB_FLAG_DISABLED) {
		buf_append_str(out, "disabled");
		sep = ",";
	}
	if (rec->created != 0) {
		buf_printf(out, "%screated=%llu", sep,
			   (unsigned long long)rec->created);
		sep = ",";
	}
	if (rec->changed != 0)
		buf_printf(out, "%schanged=%llu", sep,
			   (unsigned long long)rec->changed);
	buf_append_c(out, ':');
	start = out->len;
	if (rec->have & USERDB_V_CRYPT)
		buf_printf(out, " {CRYPT}%s", rec->crypt);
	if (rec->have & USERDB_V_SCRAM_SHA256)
		encode_scram(out, SCRAM_SHA256, &rec->scram256);
	if (rec->have & USERDB_V_SCRAM_SHA1)
		encode_scram(out, SCRAM_SHA1, &rec->scram1);
	if (rec->have & USERDB_V_CRAM_MD5) {
		codec_hex_encode(rec->cram_md5, sizeof(rec->cram_md5), hex);
		buf_printf(out, " {CRAM-MD5}%s", hex);
	}
	if (rec->have & USERDB_V_DIGEST_MD5) {
		codec_hex_encode(rec->digest_md5, sizeof(rec->digest_md5), hex);
		buf_printf(out, " {DIGEST-MD5}%s", hex);
	}
	if (rec->have & USERDB_V_DIGEST_MD5_ADDR) {
		codec_hex_encode(rec->digest_md5_addr, 16, hex);
		buf_printf(out, " {DIGEST-MD5-ADDR}%s", hex);
	}
	if (rec->have & USERDB_V_CLEARTEXT) {
		size_t n = codec_b64_encoded_len(rec->plain_len);
		char *b = xmalloc(n + 1);

		codec_b64_encode((const unsigned char *)rec->plain,
				 rec->plain_len, b);
		buf_printf(out, " {PLAIN.B64}%s", b);
		secret_free(b, n + 1);
	}
	secret_wipe(hex, sizeof(hex));
	/* Drop the space before the first verifier. */
	if (out->len > start) {
		memmove(out->data + start, out->data + start + 1,
			out->len - start);
		out->len--;
	}
}

void
userdb_record_encode(const struct userdb_record *rec, struct buf *out)
{
	buf_printf(out, "%d:", USERDB_RECORD_VERSION);
	encode_body(rec, out);
}

/* name_went_past_colon - whether "a:b@realm:..." is a name with a ':' in
 * it rather than a name without realm and a bad flag: no flag holds '@',
 * so a first field without one and a flags field with one mean that the
 * name went on past the ':'.  Says more than "no realm" or "bad flag". */
static bool
name_went_past_colon(const char *line, const char *colon, const char *end)
{
	const char *rest = colon + 1;
	const char *colon2 = memchr(rest, ':', (size_t)(end - rest));

	return colon2 != NULL && memchr(line, '@', (size_t)(colon - line)) == NULL &&
	       memchr(rest, '@', (size_t)(colon2 - rest)) != NULL;
}

const char *
userdb_line_parse(const char *line, size_t len,
		  const struct userdb_name_rules *rules,
		  struct userdb_name *name_r, struct userdb_record *rec)
{
	const char *colon = memchr(line, ':', len), *why;

	userdb_record_init(rec);
	if (memchr(line, '\0', len) != NULL)
		return "NUL byte in line";
	if (colon == NULL)
		return "expected USER@REALM:FLAGS:VERIFIERS";
	if (name_went_past_colon(line, colon, line + len))
		return "':' in the user name (a name ends at the first ':' and "
		       "cannot contain one)";
	if ((why = userdb_name_parse(line, (size_t)(colon - line), NULL, 0,
				     rules, name_r)) != NULL)
		return why;
	why = parse_body(colon + 1, len - (size_t)(colon - line) - 1, true, rec);
	if (why != NULL)
		userdb_record_clear(rec);
	return why;
}

const char *
userdb_column_parse(const char *key, const char *col, size_t len,
		    bool disabled, const struct userdb_name_rules *rules,
		    struct userdb_record *rec)
{
	static const char *const cleartext[] = { "{PLAIN}", "{CLEARTEXT}" };
	struct userdb_name name;
	struct buf line;
	const char *why;
	size_t i;

	userdb_record_init(rec);
	if (memchr(col, '\0', len) != NULL || memchr(col, '\n', len) != NULL)
		return "NUL or newline in the password column";
	buf_init(&line);
	buf_printf(&line, "%s:%s:", key, disabled ? "disabled" : "");
	for (i = 0; i < 2; i++) {
		size_t n = strlen(cleartext[i]);

		if (len > n && strncasecmp(col, cleartext[i], n) == 0)
			break;
	}
	if (i < 2) {
		/* Cleartext may hold spaces, which separate verifiers in a
		 * line: it goes in as {PLAIN.B64}. */
		size_t skip = strlen(cleartext[i]);
		size_t n = codec_b64_encoded_len(len - skip);
		char *b = xmalloc(n + 1);

		codec_b64_encode((const unsigned char *)col + skip, len - skip,
				 b);
		buf_printf(&line, "{PLAIN.B64}%s", b);
		secret_free(b, n + 1);
	} else {
		buf_append(&line, col, len);
	}
	why = userdb_line_parse(line.data, line.len, rules, &name, rec);
	if (why == NULL && !digest_sha256_buf(line.data, line.len,
					      rec->fingerprint)) {
		userdb_record_clear(rec);
		why = "SHA-256 is not available";
	}
	secret_wipe(line.data, line.len);
	buf_free(&line);
	return why;
}

void
userdb_line_encode(const char *key, const struct userdb_record *rec,
		   struct buf *out)
{
	buf_append_str(out, key);
	buf_append_c(out, ':');
	encode_body(rec, out);
}

static const struct {
	const char *word;
	unsigned int bits;
} mech_words[] = {
	{ "plain", USERDB_V_CRYPT },
	{ "scram", USERDB_V_SCRAM_SHA256 | USERDB_V_SCRAM_SHA1 },
	{ "scram-sha-256", USERDB_V_SCRAM_SHA256 },
	{ "scram-sha-1", USERDB_V_SCRAM_SHA1 },
	{ "cram-md5", USERDB_V_CRAM_MD5 },
	{ "digest-md5", USERDB_V_DIGEST_MD5 | USERDB_V_DIGEST_MD5_ADDR },
	{ "cleartext", USERDB_V_CLEARTEXT },
	{ "all", USERDB_V_CRYPT | USERDB_V_SCRAM_SHA256 | USERDB_V_SCRAM_SHA1 |
		 USERDB_V_CRAM_MD5 | USERDB_V_DIGEST_MD5 | USERDB_V_DIGEST_MD5_ADDR },
};

const char *
userdb_mechs_parse(const char *s, unsigned int *mechs_r)
{
	unsigned int bits = 0;
	size_t i, k;

	for (i = 0; s[i] != '\0';) {
		size_t n;

		if (s[i] == ' ' || s[i] == ',' || s[i] == '\t') {
			i++;
			continue;
		}
		n = strcspn(s + i, " ,\t");
		for (k = 0; k < sizeof(mech_words) / sizeof(mech_words[0]); k++)
			if (strlen(mech_words[k].word) == n &&
			    strncasecmp(mech_words[k].word, s + i, n) == 0)
				break;
		if (k == sizeof(mech_words) / sizeof(mech_words[0]))
			return "unknown mechanism (known: plain, scram, "
			       "scram-sha-256, scram-sha-1, cram-md5, "
			       "digest-md5, cleartext, all)";
		bits |= mech_words[k].bits;
		i += n;
	}
	if (bits == 0)
		return "empty mechanism list";
	*mechs_r = bits;
	return NULL;
}

void
userdb_mechs_format(unsigned int mechs, struct buf *out)
{
	static const char *names[] = { "plain", "scram-sha-256", "scram-sha-1",
				       "cram-md5", "digest-md5", "cleartext" };
	const char *sep = "";
	size_t i;

	for (i = 0; i < 6; i++) {
		if (mechs & (1u << i)) {
			buf_printf(out, "%s%s", sep, names[i]);
			sep = " ";
		}
	}
}

const char *
userdb_record_decode_fp(const char *data, size_t len,
			struct userdb_record *rec)
{
	const char *why = userdb_record_decode(data, len, rec);

	if (why == NULL && !digest_sha256_buf(data, len, rec->fingerprint))
		why = "SHA-256 is not available";
	return why;
}
