/*
 * delegate_codec - the policy delegation protocol's two directions, with
 * no I/O: the request a query becomes, the framing of a reply, and what
 * an action means.  See delegate.h.
 *
 * Untrusted input: the reply bytes and the action value (the policy
 * server's), and the query's values (the client's).  Every parse here is
 * from (pointer, length) with explicit bounds; nothing allocates except
 * through struct buf, nothing logs, nothing exits.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "delegate.h"
#include "utf8.h"

/* --- the request --- */

/* value_ok - whether a value can go on an attribute line without
 * starting another: no C0 control (LF, CR, NUL...) or DEL, and none of
 * the Unicode line breaks a server that decodes UTF-8 and splits lines
 * (Python's str.splitlines) would honour: U+0085, U+2028, U+2029. */
static bool
value_ok(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i, n = strlen(s);

	if (n > DELEGATE_VALUE_MAX)
		return false;
	for (i = 0; i < n; i++) {
		if (u[i] < 0x20 || u[i] == 0x7f)
			return false;
		if (u[i] == 0xc2 && i + 1 < n && u[i + 1] == 0x85)
			return false;
		if (u[i] == 0xe2 && i + 2 < n && u[i + 1] == 0x80 &&
		    (u[i + 2] == 0xa8 || u[i + 2] == 0xa9))
			return false;
	}
	return true;
}

/* xtext - RFC 3461 §4 xtext of s into out, as Postfix's xtext_quote(..,
 * "") encodes a certificate's CN: "+" and bytes outside 33..126 as +XX.
 * False when it does not fit. */
static bool
xtext(const char *s, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c > 32 && c < 127 && c != '+') {
			if (o + 1 >= outlen)
				return false;
			out[o++] = (char)c;
		} else {
			if (o + 3 >= outlen)
				return false;
			out[o++] = '+';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return true;
}

struct attr {
	const char *name;
	const char *value;
};

#define S(x)	((x) != NULL ? (x) : "")
#define NAME(x)	((x) != NULL ? (x) : "unknown")

const char *
delegate_request_format(const struct delegate_query *q,
			const char *policy_context, struct buf *out)
{
	char subject[DELEGATE_VALUE_MAX + 1], issuer[DELEGATE_VALUE_MAX + 1];
	char count[16], size[24], keysize[16];
	/* Postfix 3.7's smtpd_check.c check_policy_service(), in its
	 * order (3.8 added compatibility_level and mail_version). */
	const struct attr attrs[] = {
		{ "request", "smtpd_access_policy" },
		{ "protocol_state", S(q->protocol_state) },
		{ "protocol_name", S(q->protocol_name) },
		{ "client_address", S(q->client_address) },
		{ "client_name", NAME(q->client_name) },
		{ "client_port", S(q->client_port) },
		{ "reverse_client_name", NAME(q->reverse_client_name) },
		{ "server_address", S(q->server_address) },
		{ "server_port", S(q->server_port) },
		{ "helo_name", S(q->helo_name) },
		{ "sender", S(q->sender) },
		{ "recipient", S(q->recipient) },
		{ "recipient_count", count },
		{ "queue_id", S(q->queue_id) },
		{ "instance", S(q->instance) },
		{ "size", size },
		{ "etrn_domain", S(q->etrn_domain) },
		{ "stress", S(q->stress) },
		{ "sasl_method", S(q->sasl_method) },
		{ "sasl_username", S(q->sasl_username) },
		{ "sasl_sender", S(q->sasl_sender) },
		{ "ccert_subject", subject },
		{ "ccert_issuer", issuer },
		{ "ccert_fingerprint", S(q->ccert_fingerprint) },
		{ "ccert_pubkey_fingerprint", S(q->ccert_pubkey_fingerprint) },
		{ "encryption_protocol", S(q->encryption_protocol) },
		{ "encryption_cipher", S(q->encryption_cipher) },
		{ "encryption_keysize", keysize },
		{ "policy_context", S(policy_context) },
	};
	size_t i;

	if (!xtext(S(q->ccert_subject), subject, sizeof(subject)))
		return "ccert_subject";
	if (!xtext(S(q->ccert_issuer), issuer, sizeof(issuer)))
		return "ccert_issuer";
	(void)snprintf(count, sizeof(count), "%u", q->recipient_count);
	(void)snprintf(size, sizeof(size), "%llu", q->size);
	(void)snprintf(keysize, sizeof(keysize), "%u", q->encryption_keysize);
	/* All checked before anything is written: a refused request leaves
	 * no half in the buffer. */
	for (i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
		if (!value_ok(attrs[i].value))
			return attrs[i].name;
	for (i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
		(void)buf_printf(out, "%s=%s\n", attrs[i].name, attrs[i].value);
	(void)buf_append_c(out, '\n');
	if (!buf_ok(out))
		return "out of memory";
	return NULL;
}

void
delegate_instance(char *out, size_t outlen)
{
	static unsigned long count;

	(void)snprintf(out, outlen, "%lx.%lx.%llx", (unsigned long)getpid(),
		       ++count, (unsigned long long)time(NULL));
}

/* --- the reply's framing --- */

enum delegate_reply_status
delegate_reply_parse(const char *p, size_t n, size_t *used_r,
		     const char **action_r, size_t *action_len_r)
{
	const char *action = NULL;
	size_t off = 0, lines = 0, action_len = 0;

	for (;;) {
		const char *lf = memchr(p + off, '\n', n - off);
		size_t len, end;

		if (lf == NULL)
			return n - off >= DELEGATE_LINE_MAX ?
			       DELEGATE_REPLY_BAD : DELEGATE_REPLY_MORE;
		len = (size_t)(lf - (p + off));
		if (len + 1 > DELEGATE_LINE_MAX)
			return DELEGATE_REPLY_BAD;
		end = len;
		if (end > 0 && p[off + end - 1] == '\r')
			end--;
		if (end == 0) {
			*used_r = off + len + 1;
			*action_r = action;
			*action_len_r = action_len;
			return DELEGATE_REPLY_DONE;
		}
		if (++lines > DELEGATE_LINES_MAX)
			return DELEGATE_REPLY_BAD;
		/* attr_scan_plain: the first wanted attribute is taken,
		 * the others (and a repeated action) are skipped. */
		if (action == NULL && end >= 7 &&
		    memcmp(p + off, "action=", 7) == 0) {
			action = p + off + 7;
			action_len = end - 7;
		}
		off += len + 1;
	}
}

/* --- the action --- */

/* copy_text - (s, n) into dst, cut to fit at a character boundary. */
static void
copy_text(char *dst, size_t dstlen, const char *s, size_t n)
{
	if (n >= dstlen) {
		n = dstlen - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* dsn_prefix - the length of an RFC 3463 status at the start of (s, n)
 * (class 2, 4 or 5; subject and detail of 1 to 3 digits; then the end
 * or a space), else 0: Postfix's dsn_valid. */
static size_t
dsn_prefix(const char *s, size_t n)
{
	size_t i = 2, d;

	if (n < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') ||
	    s[1] != '.')
		return 0;
	for (d = 0; i < n && d < 4 && is_digit(s[i]); i++, d++)
		;
	if (d == 0 || d > 3 || i >= n || s[i] != '.')
		return 0;
	for (i++, d = 0; i < n && d < 4 && is_digit(s[i]); i++, d++)
		;
	if (d == 0 || d > 3 || (i < n && !is_space(s[i])))
		return 0;
	return i;
}

/* refuse - a refusal with code; the text may begin with a status (its
 * class is made the code's, as Postfix's smtpd_check_reject fixes a
 * mismatch); no text means the generic one. */
static void
refuse(struct delegate_action *a, enum delegate_verdict v, unsigned int code,
       const char *def_dsn, const char *t, size_t tn, const char *generic)
{
	size_t dl = dsn_prefix(t, tn);

	a->verdict = v;
	a->code = code;
	if (dl > 0) {
		copy_text(a->dsn, sizeof(a->dsn), t, dl);
		for (t += dl, tn -= dl; tn > 0 && is_space(*t); t++, tn--)
			;
	} else {
		copy_text(a->dsn, sizeof(a->dsn), def_dsn, strlen(def_dsn));
	}
	a->dsn[0] = (char)('0' + code / 100);
	if (tn == 0)
		copy_text(a->text, sizeof(a->text), generic, strlen(generic));
	else
		copy_text(a->text, sizeof(a->text), t, tn);
	/* access(5): 421 and 521 hang up after the reply. */
	a->disconnect = code == 421 || code == 521;
}

/* is_header - "Name: value" (RFC 5322 §2.2 field name: printable ASCII
 * but ':'; Postfix's is_header also allows blanks before the colon). */
static bool
is_header(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && s[i] > ' ' && s[i] < 0x7f && s[i] != ':')
		i++;
	if (i == 0)
		return false;
	while (i < n && is_space(s[i]))
		i++;
	return i < n && s[i] == ':';
}

static bool
word_is(const char *w, size_t wn, const char *name)
{
	return strlen(name) == wn && strncasecmp(w, name, wn) == 0;
}

static void
server_error(struct delegate_action *a)
{
	static const char text[] = "Server configuration error";

	refuse(a, DELEGATE_REJECT, 451, "4.3.5", text, sizeof(text) - 1,
	       text);
}

enum delegate_action_status
delegate_action_parse(const char *s, size_t n, struct delegate_action *a,
		      const char **reason_r)
{
	static const char *const need_queue[] = {
		"HOLD", "DISCARD", "FILTER", "REDIRECT", "BCC",
	};
	const char *t;
	size_t i, wn, tn;
	bool digits = true;

	memset(a, 0, sizeof(*a));
	*reason_r = NULL;
	/* Trailing blanks are noise (policyd-spf ends its prepend with
	 * one); leading ones would make the word empty. */
	while (n > 0 && is_space(s[n - 1]))
		n--;
	if (n == 0) {
		*reason_r = "empty action";
		return DELEGATE_ACTION_BAD;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			*reason_r = "control character in action";
			return DELEGATE_ACTION_BAD;
		}
		digits = digits && is_digit(s[i]);
	}
	/* Postfix with smtputf8_enable (its default) refuses it too. */
	if (!utf8_valid((const unsigned char *)s, n)) {
		*reason_r = "malformed UTF-8 in action";
		return DELEGATE_ACTION_BAD;
	}
	for (wn = 0; wn < n && !is_space(s[wn]); wn++)
		;
	for (t = s + wn, tn = n - wn; tn > 0 && is_space(*t); t++, tn--)
		;

	if (word_is(s, wn, "DUNNO")) {
		a->verdict = DELEGATE_DUNNO;
	} else if (word_is(s, wn, "REJECT")) {
		refuse(a, DELEGATE_REJECT, DELEGATE_REJECT_CODE, "5.7.1", t, tn,
		       "Access denied");
	} else if (word_is(s, wn, "DEFER")) {
		refuse(a, DELEGATE_REJECT, DELEGATE_DEFER_CODE, "4.7.1", t, tn,
		       "Access denied");
	} else if (word_is(s, wn, "DEFER_IF_PERMIT")) {
		refuse(a, DELEGATE_DEFER_IF_PERMIT, DELEGATE_DEFER_CODE,
		       "4.7.1", t, tn, "Service unavailable");
	} else if (word_is(s, wn, "DEFER_IF_REJECT")) {
		refuse(a, DELEGATE_DEFER_IF_REJECT, DELEGATE_DEFER_CODE,
		       "4.7.1", t, tn, "Service unavailable");
	} else if (word_is(s, wn, "WARN") || word_is(s, wn, "INFO")) {
		a->verdict = word_is(s, wn, "WARN") ? DELEGATE_WARN :
			     DELEGATE_INFO;
		copy_text(a->text, sizeof(a->text), t, tn);
	} else if (word_is(s, wn, "PREPEND")) {
		if (!is_header(t, tn)) {
			*reason_r = "PREPEND needs \"header: text\"";
			return DELEGATE_ACTION_WARN;
		}
		if (tn >= sizeof(a->prepend)) {
			*reason_r = "PREPEND header too long";
			return DELEGATE_ACTION_WARN;
		}
		a->verdict = DELEGATE_PREPEND;
		copy_text(a->prepend, sizeof(a->prepend), t, tn);
	} else if (digits) {
		/* access(5): an all-numerical result means OK. */
		a->verdict = DELEGATE_OK;
	} else if (wn == 3 && tn > 0 && (s[0] == '4' || s[0] == '5') &&
		   is_digit(s[1]) && is_digit(s[2])) {
		unsigned int code = (unsigned int)((s[0] - '0') * 100 +
						   (s[1] - '0') * 10 +
						   (s[2] - '0'));
		char def[] = "x.7.1";

		def[0] = s[0];
		refuse(a, DELEGATE_REJECT, code, def, t, tn, "Access denied");
	} else if (word_is(s, wn, "OK") || word_is(s, wn, "RELAY")) {
		a->verdict = DELEGATE_OK;
	} else {
		for (i = 0; i < sizeof(need_queue) / sizeof(need_queue[0]); i++)
			if (word_is(s, wn, need_queue[i])) {
				/* As Postfix with smtpd_proxy_filter. */
				*reason_r = "action needs a queue, which this "
					    "server has not: ignored";
				return DELEGATE_ACTION_WARN;
			}
		server_error(a);
		*reason_r = "unsupported action (restriction names are not "
			    "evaluated)";
		return DELEGATE_ACTION_WARN;
	}
	return DELEGATE_ACTION_OK;
}

void
delegate_reply_text(const struct delegate_action *a, const char *name,
		    const char *class, char *out, size_t outlen)
{
	int n;

	if (outlen == 0)
		return;
	n = snprintf(out, outlen, "%s <%s>: %s rejected: %s", a->dsn, name,
		     class, a->text);
	if (n < 0) {
		out[0] = '\0';
	} else if ((size_t)n >= outlen) {
		size_t k = outlen - 1;

		/* Cut at a character boundary. */
		while (k > 0 && ((unsigned char)out[k] & 0xc0) == 0x80)
			k--;
		out[k] = '\0';
	}
}
