/*
 * smtp - SMTP command lines, paths and mailboxes.  See smtp.h.
 */
#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "smtp.h"

bool
smtp_line_next(const char *data, size_t len, size_t *line_len_r,
	       size_t *used_r, bool *bare_r)
{
	const char *lf = memchr(data, '\n', len);
	size_t n;

	if (lf == NULL)
		return false;
	n = (size_t)(lf - data);
	*used_r = n + 1;
	*bare_r = true;
	if (n > 0 && data[n - 1] == '\r') {
		n--;
		*bare_r = false;
	}
	/* A CR anywhere else is bare: it never ends a line, but it marks
	 * the line as one that a lax peer might split. */
	if (memchr(data, '\r', n) != NULL)
		*bare_r = true;
	*line_len_r = n;
	return true;
}

static const struct {
	const char *name;
	enum smtp_verb verb;
} verbs[] = {
	{ "HELO", SMTP_HELO }, { "EHLO", SMTP_EHLO }, { "MAIL", SMTP_MAIL },
	{ "RCPT", SMTP_RCPT }, { "DATA", SMTP_DATA }, { "RSET", SMTP_RSET },
	{ "NOOP", SMTP_NOOP }, { "QUIT", SMTP_QUIT }, { "VRFY", SMTP_VRFY },
	{ "EXPN", SMTP_EXPN }, { "HELP", SMTP_HELP },
	{ "STARTTLS", SMTP_STARTTLS }, { "AUTH", SMTP_AUTH },
	{ "BDAT", SMTP_BDAT },
};

const char *
smtp_verb_name(enum smtp_verb v)
{
	size_t i;

	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (verbs[i].verb == v)
			return verbs[i].name;
	return "unknown";
}

const char *
smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *cmd)
{
	size_t i, vlen;

	memset(cmd, 0, sizeof(*cmd));
	if (len == 0)
		return "empty command";
	/* No SMTPUTF8: commands are printable ASCII and TAB. */
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if ((c < 0x20 && c != '\t') || c >= 0x7f)
			return "control or non-ASCII byte in a command";
	}
	for (vlen = 0; vlen < len && line[vlen] != ' '; vlen++)
		;
	cmd->verb = SMTP_UNKNOWN;
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strlen(verbs[i].name) == vlen &&
		    strncasecmp(verbs[i].name, line, vlen) == 0)
			cmd->verb = verbs[i].verb;
	/* RFC 5321 §4.1.1: one SP; several are tolerated, as trailing
	 * white space is (clients send both). */
	for (i = vlen; i < len && line[i] == ' '; i++)
		;
	while (len > i && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	cmd->arg = line + i;
	cmd->arg_len = len - i;
	return NULL;
}

/* --- mailboxes --- */

static bool
is_atext(unsigned char c)
{
	/* RFC 5322 atext */
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') ||
	       (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static bool
is_ldh(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-';
}

/* ldh_domain - LDH labels of 1..63, no '-' at either end, single dots;
 * a final dot allowed (reported in *dot_r). */
static bool
ldh_domain(const char *s, size_t n, bool *dot_r)
{
	size_t i, label = 0;

	*dot_r = n > 1 && s[n - 1] == '.';
	if (*dot_r)
		n--;
	if (n == 0)
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!is_ldh((unsigned char)s[i]) || (label == 0 && s[i] == '-') ||
		    ++label > 63)
			return false;
	}
	return label > 0 && s[n - 1] != '-';
}

/* address_literal - "[" IPv4 "]" or "[IPv6:" IPv6 "]" (RFC 5321
 * §4.1.3); general literals are not accepted. */
static bool
address_literal(const char *s, size_t n)
{
	char tmp[64];
	unsigned char addr[16];

	/* inet_pton stops at a NUL: "[192.0.2.1<NUL>junk]" must not pass. */
	if (n < 3 || s[0] != '[' || s[n - 1] != ']' || n - 2 >= sizeof(tmp) ||
	    memchr(s, '\0', n) != NULL)
		return false;
	memcpy(tmp, s + 1, n - 2);
	tmp[n - 2] = '\0';
	if (strncasecmp(tmp, "IPv6:", 5) == 0)
		return inet_pton(AF_INET6, tmp + 5, addr) == 1;
	return inet_pton(AF_INET, tmp, addr) == 1;
}

bool
smtp_domain_ok(const char *s, size_t n)
{
	bool dot;

	if (n == 0 || n > SMTP_DOMAIN_MAX)
		return false;
	if (s[0] == '[')
		return address_literal(s, n);
	return ldh_domain(s, n, &dot);
}

/* quoted_local - a quoted-string (RFC 5321 §4.1.2) at s[0] == '"',
 * unquoted into a->local; returns the length consumed, 0 if malformed. */
static size_t
quoted_local(const char *s, size_t n, struct smtp_addr *a)
{
	size_t i;

	for (i = 1; i < n && s[i] != '"'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\') {
			if (++i == n)
				return 0;
			c = (unsigned char)s[i];
		}
		if (c < 32 || c > 126 || a->local_len == SMTP_LOCAL_MAX)
			return 0;
		a->local[a->local_len++] = (char)c;
	}
	if (i == n)
		return 0;
	a->local[a->local_len] = '\0';
	a->quoted = true;
	return i + 1;
}

/* dot_local - a Dot-string of (s, n), with '@' tolerated inside as
 * Postfix does (user@a@b is split at the last '@' and flagged routed,
 * never silently relayed for a stranger). */
static bool
dot_local(const char *s, size_t n, struct smtp_addr *a)
{
	size_t i;

	if (n == 0 || n > SMTP_LOCAL_MAX || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] == '.' && s[i - 1] == '.')
			return false;
		if (s[i] != '.' && s[i] != '@' && !is_atext((unsigned char)s[i]))
			return false;
	}
	memcpy(a->local, s, n);
	a->local[n] = '\0';
	a->local_len = n;
	return true;
}

const char *
smtp_addr_parse(const char *s, size_t n, struct smtp_addr *a)
{
	const char *at = NULL, *end = s + n, *dom;
	size_t i, used, dlen;

	memset(a, 0, sizeof(*a));
	if (n == 0)
		return "empty address";
	if (n > SMTP_PATH_MAX)
		return "address too long";
	if (s[0] == '"') {
		if ((used = quoted_local(s, n, a)) == 0)
			return "malformed quoted local part";
		if (used == n || s[used] != '@')
			return "no domain";
		at = s + used;
	} else {
		for (i = n; i > 0; i--)
			if (s[i - 1] == '@') {
				at = s + i - 1;
				break;
			}
		if (at == NULL)
			return "no domain";
		if (!dot_local(s, (size_t)(at - s), a))
			return "malformed local part";
	}
	dom = at + 1;
	dlen = (size_t)(end - dom);
	if (dlen == 0 || dlen > SMTP_DOMAIN_MAX)
		return "empty or over-long domain";
	if (dom[0] == '[') {
		if (!address_literal(dom, dlen))
			return "malformed address literal";
		a->ip_literal = true;
	} else if (!ldh_domain(dom, dlen, &a->trailing_dot)) {
		return "malformed domain";
	}
	if (a->trailing_dot)
		dlen--;
	for (i = 0; i < dlen; i++)
		a->domain[i] = (char)((dom[i] >= 'A' && dom[i] <= 'Z') ?
				      dom[i] - 'A' + 'a' : dom[i]);
	a->domain[dlen] = '\0';
	a->domain_len = dlen;
	return NULL;
}

bool
smtp_addr_routed(const struct smtp_addr *a)
{
	return a->source_route || a->trailing_dot ||
	       memchr(a->local, '@', a->local_len) != NULL ||
	       memchr(a->local, '%', a->local_len) != NULL ||
	       memchr(a->local, '!', a->local_len) != NULL;
}

/* --- paths and parameters --- */

/* source_route - skip an A-d-l ("@a,@b:") at the start of (s, n):
 * returns the bytes to skip, 0 for none, -1 if malformed. */
static long
source_route(const char *s, size_t n)
{
	const char *colon;
	size_t i, start;

	if (n == 0 || s[0] != '@')
		return 0;
	if ((colon = memchr(s, ':', n)) == NULL)
		return -1;
	/* "@" Domain *( "," "@" Domain ) ":" */
	for (i = 0; s + i < colon;) {
		if (s[i] != '@')
			return -1;
		start = ++i;
		while (s + i < colon && s[i] != ',')
			i++;
		if (!smtp_domain_ok(s + start, i - start))
			return -1;
		if (s + i < colon)
			i++;	/* the comma */
	}
	return (long)(colon + 1 - s);
}

/* xtext_decode - RFC 3461 §4: "+" two uppercase hex digits, or a
 * character 33..126 other than '+' and '='. */
static bool
xtext_decode(const char *s, size_t n, char *out, size_t outmax)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (o == outmax)
			return false;
		if (c == '+') {
			const char *hi, *lo;

			if (n - i < 3 || (hi = strchr(hex, s[i + 1])) == NULL ||
			    (lo = strchr(hex, s[i + 2])) == NULL ||
			    s[i + 1] == '\0' || s[i + 2] == '\0')
				return false;
			out[o++] = (char)((hi - hex) << 4 | (lo - hex));
			i += 2;
		} else if (c >= 33 && c <= 126 && c != '=') {
			out[o++] = (char)c;
		} else {
			return false;
		}
	}
	out[o] = '\0';
	return true;
}

/* mail_param - one ESMTP parameter of MAIL; false if unknown, repeated
 * or malformed. */
static bool
mail_param(struct smtp_path *p, const char *kw, size_t kwlen, const char *v,
	   size_t vlen, bool has_value)
{
	size_t i;

	if (kwlen == 4 && strncasecmp(kw, "SIZE", 4) == 0) {
		/* RFC 1870: 1*20DIGIT */
		if (p->has_size || !has_value || vlen == 0 || vlen > 20)
			return false;
		for (i = 0; i < vlen; i++) {
			if (v[i] < '0' || v[i] > '9' ||
			    p->size > (~0ULL - 9) / 10)
				return false;
			p->size = p->size * 10 + (unsigned)(v[i] - '0');
		}
		p->has_size = true;
		return true;
	}
	if (kwlen == 4 && strncasecmp(kw, "BODY", 4) == 0) {
		if (p->body != SMTP_BODY_NONE || !has_value)
			return false;
		if (vlen == 4 && strncasecmp(v, "7BIT", 4) == 0)
			p->body = SMTP_BODY_7BIT;
		else if (vlen == 8 && strncasecmp(v, "8BITMIME", 8) == 0)
			p->body = SMTP_BODY_8BITMIME;
		else
			return false;
		return true;
	}
	if (kwlen == 4 && strncasecmp(kw, "AUTH", 4) == 0) {
		/* RFC 4954 §5: AUTH=<> or AUTH=xtext */
		if (p->has_auth || !has_value || vlen == 0)
			return false;
		p->has_auth = true;
		if (vlen == 2 && v[0] == '<' && v[1] == '>')
			return true;
		return xtext_decode(v, vlen, p->auth, SMTP_AUTH_PARAM_MAX);
	}
	return false;
}

/* params - " KEYWORD[=VALUE]" ... (RFC 5321 §4.1.2 Mail-parameters). */
static bool
params(const char *s, size_t n, bool rcpt, struct smtp_path *p)
{
	size_t i = 0;

	while (i < n) {
		size_t kw, kwlen, v = 0, vlen = 0;
		bool has_value = false;

		if (s[i] != ' ')
			return false;
		while (i < n && s[i] == ' ')
			i++;
		if (i == n)
			break;
		kw = i;
		while (i < n && (is_ldh((unsigned char)s[i])))
			i++;
		kwlen = i - kw;
		if (kwlen == 0 || s[kw] == '-')
			return false;
		if (i < n && s[i] == '=') {
			has_value = true;
			v = ++i;
			while (i < n && s[i] > ' ' && s[i] < 127 && s[i] != '=')
				i++;
			vlen = i - v;
		}
		if (rcpt || !mail_param(p, s + kw, kwlen, s + v, vlen, has_value))
			return false;
	}
	return true;
}

const char *
smtp_path_parse(const char *arg, size_t len, bool rcpt, struct smtp_path *p,
		bool *param_r)
{
	const char *word = rcpt ? "TO:" : "FROM:";
	size_t wlen = strlen(word), i, close;
	bool quoted = false;
	long skip;
	const char *why;

	memset(p, 0, sizeof(*p));
	*param_r = false;
	if (len < wlen || strncasecmp(arg, word, wlen) != 0)
		return rcpt ? "expected TO:<address>" : "expected FROM:<address>";
	i = wlen;
	while (i < len && arg[i] == ' ')	/* "FROM: <a>", as clients send */
		i++;
	if (i == len || arg[i] != '<')
		return "expected <address>";
	/* The closing '>' is the first one outside a quoted string. */
	for (close = i + 1; close < len; close++) {
		if (quoted && arg[close] == '\\' && close + 1 < len)
			close++;
		else if (arg[close] == '"')
			quoted = !quoted;
		else if (!quoted && arg[close] == '>')
			break;
	}
	if (close == len)
		return "unterminated <address>";
	if (close - i - 1 > SMTP_PATH_MAX)
		return "path too long";
	if (close == i + 1) {
		if (rcpt)
			return "null recipient";
		p->addr.null = true;
	} else if (rcpt && close - i - 1 == 10 &&
		   strncasecmp(arg + i + 1, "postmaster", 10) == 0) {
		/* RFC 5321 §4.5.1: <Postmaster> without a domain. */
		memcpy(p->addr.local, "postmaster", 11);
		p->addr.local_len = 10;
	} else {
		skip = source_route(arg + i + 1, close - i - 1);
		if (skip < 0)
			return "malformed source route";
		if ((why = smtp_addr_parse(arg + i + 1 + skip,
					   close - i - 1 - (size_t)skip,
					   &p->addr)) != NULL)
			return why;
		p->addr.source_route = skip > 0;
	}
	if (!params(arg + close + 1, len - close - 1, rcpt, p)) {
		*param_r = true;
		return rcpt ? "RCPT takes no parameters here" :
			      "unknown, repeated or malformed parameter";
	}
	return NULL;
}

/* --- replies --- */

enum smtp_reply_status
smtp_reply_parse(const char *data, size_t len, struct smtp_reply *r,
		 size_t *used_r)
{
	size_t off = 0, line_len, used;
	bool bare;

	memset(r, 0, sizeof(*r));
	for (;;) {
		const char *s = data + off;
		unsigned int code;
		size_t keep;

		if (!smtp_line_next(s, len - off, &line_len, &used, &bare))
			return len - off > 2 * SMTP_CMD_LINE_MAX ?
			       SMTP_REPLY_BAD : SMTP_REPLY_MORE;
		/* A next hop's bare line ends are refused too: read as
		 * line ends they would let it desynchronise the client. */
		if (bare || line_len < 3 || line_len > 2 * SMTP_CMD_LINE_MAX ||
		    s[0] < '2' || s[0] > '5' || s[1] < '0' || s[1] > '9' ||
		    s[2] < '0' || s[2] > '9' ||
		    (line_len > 3 && s[3] != ' ' && s[3] != '-') ||
		    ++r->lines > SMTP_REPLY_LINES_MAX ||
		    memchr(s, '\0', line_len) != NULL)
			return SMTP_REPLY_BAD;
		code = (unsigned int)((s[0] - '0') * 100 + (s[1] - '0') * 10 +
				      (s[2] - '0'));
		if (r->lines > 1 && code != r->code)
			return SMTP_REPLY_BAD;
		r->code = code;
		if (r->lines > 1 && r->text_len < SMTP_REPLY_TEXT_MAX - 1)
			r->text[r->text_len++] = '\n';
		keep = line_len > 4 ? line_len - 4 : 0;
		if (keep > SMTP_REPLY_TEXT_MAX - 1 - r->text_len)
			keep = SMTP_REPLY_TEXT_MAX - 1 - r->text_len;
		memcpy(r->text + r->text_len, s + 4, keep);
		r->text_len += keep;
		r->text[r->text_len] = '\0';
		off += used;
		if (line_len == 3 || s[3] == ' ') {
			*used_r = off;
			return SMTP_REPLY_DONE;
		}
	}
}

bool
smtp_reply_ext(const struct smtp_reply *r, const char *keyword,
	       const char **params_r, size_t *params_len_r)
{
	const char *p = memchr(r->text, '\n', r->text_len);
	const char *end = r->text + r->text_len;
	size_t kn = strlen(keyword);

	/* The first line is the greeting text, not an extension. */
	while (p != NULL && p < end) {
		const char *line = p + 1, *nl = memchr(line, '\n',
						       (size_t)(end - line));
		size_t n = nl != NULL ? (size_t)(nl - line) : (size_t)(end - line);

		if (n >= kn && strncasecmp(line, keyword, kn) == 0 &&
		    (n == kn || line[kn] == ' ')) {
			if (params_r != NULL) {
				*params_r = n > kn ? line + kn + 1 : line + n;
				*params_len_r = n > kn ? n - kn - 1 : 0;
			}
			return true;
		}
		p = nl;
	}
	return false;
}
