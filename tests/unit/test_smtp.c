/*
 * test_smtp - proto/smtp.h and proto/smtp_data.h: line framing (bare CR
 * and LF never end a line), commands, MAIL/RCPT paths and parameters,
 * mailboxes with the address tricks an open-relay test tries (flagged
 * as routed, or refused as syntax), and the DATA state machine against
 * the SMTP smuggling sequences of CVE-2023-51764.
 */
#include <string.h>

#include "smtp.h"
#include "smtp_data.h"
#include "test.h"

static void
test_lines(void)
{
	static const struct {
		const char *in;
		bool found;
		size_t line_len, used;
		bool bare;
	} t[] = {
		{ "EHLO x\r\n", true, 6, 8, false },
		{ "EHLO x\n", true, 6, 7, true },
		{ "EHLO x\r", false, 0, 0, false },
		{ "EHLO\rx\r\n", true, 6, 8, true },
		{ "NOOP", false, 0, 0, false },
		{ "\r\n", true, 0, 2, false },
		{ "a\r\nb\r\n", true, 1, 3, false },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t ll = 99, used = 99;
		bool bare = false;
		bool f = smtp_line_next(t[i].in, strlen(t[i].in), &ll, &used,
					&bare);

		CHECK(f == t[i].found && (!f || (ll == t[i].line_len &&
		      used == t[i].used && bare == t[i].bare)),
		      "line %zu: found %d len %zu used %zu bare %d", i, f, ll,
		      used, bare);
	}
}

static void
test_commands(void)
{
	static const struct {
		const char *in;
		enum smtp_verb verb;
		const char *arg;	/* NULL: refused */
	} t[] = {
		{ "EHLO client.example", SMTP_EHLO, "client.example" },
		{ "ehlo   client.example  ", SMTP_EHLO, "client.example" },
		{ "MAIL FROM:<a@b.example>", SMTP_MAIL, "FROM:<a@b.example>" },
		{ "QUIT", SMTP_QUIT, "" },
		{ "StartTLS", SMTP_STARTTLS, "" },
		{ "AUTH PLAIN AGFsaWNlAHNlY3JldA==", SMTP_AUTH,
		  "PLAIN AGFsaWNlAHNlY3JldA==" },
		{ "XYZZY foo", SMTP_UNKNOWN, "foo" },
		{ "MAILX FROM:<>", SMTP_UNKNOWN, "FROM:<>" },
		{ "", SMTP_UNKNOWN, NULL },
		{ "NOOP \x01", SMTP_UNKNOWN, NULL },
		{ "HELO caf\xc3\xa9", SMTP_UNKNOWN, NULL },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct smtp_cmd c;
		const char *why = smtp_cmd_parse(t[i].in, strlen(t[i].in), &c);

		if (t[i].arg == NULL) {
			CHECK(why != NULL, "command %zu refused", i);
			continue;
		}
		CHECK(why == NULL && c.verb == t[i].verb &&
		      c.arg_len == strlen(t[i].arg) &&
		      memcmp(c.arg, t[i].arg, c.arg_len) == 0,
		      "command %zu: %s, arg \"%.*s\"", i,
		      smtp_verb_name(c.verb), (int)c.arg_len, c.arg);
	}
	CHECK_STR(smtp_verb_name(SMTP_RCPT), "RCPT", "verb names");
}

/* The open-relay battery's address tricks: each parses and is flagged
 * routed, or is not valid syntax at all.  Either way a stranger cannot
 * relay through it; a client allowed to relay still can send to the
 * ones that parse. */
static void
test_addresses(void)
{
	static const struct {
		const char *in;
		int ok;			/* 1 parses, 0 refused */
		bool routed;
		const char *local, *domain;
	} t[] = {
		{ "alice@example.org", 1, false, "alice", "example.org" },
		{ "Alice.B@Example.ORG", 1, false, "Alice.B", "example.org" },
		{ "alice@example.org.", 1, true, "alice", "example.org" },
		{ "user%remote.example@example.org", 1, true,
		  "user%remote.example", "example.org" },
		{ "remote.example!user@example.org", 1, true,
		  "remote.example!user", "example.org" },
		{ "user@remote.example@example.org", 1, true,
		  "user@remote.example", "example.org" },
		{ "\"user@remote.example\"@example.org", 1, true,
		  "user@remote.example", "example.org" },
		{ "\"user%remote\"@example.org", 1, true, "user%remote",
		  "example.org" },
		{ "\"a b\"@example.org", 1, false, "a b", "example.org" },
		{ "u@[192.0.2.1]", 1, false, "u", "[192.0.2.1]" },
		{ "u@[IPv6:2001:db8::1]", 1, false, "u", "[ipv6:2001:db8::1]" },
		{ "u@[300.0.0.1]", 0, false, NULL, NULL },
		{ "u@[example.org]", 0, false, NULL, NULL },
		{ "u@", 0, false, NULL, NULL },
		{ "@example.org", 0, false, NULL, NULL },
		{ "user", 0, false, NULL, NULL },
		{ ".u@example.org", 0, false, NULL, NULL },
		{ "u..v@example.org", 0, false, NULL, NULL },
		{ "u@-example.org", 0, false, NULL, NULL },
		{ "u@exa mple.org", 0, false, NULL, NULL },
		{ "u@example..org", 0, false, NULL, NULL },
		{ "u@ex\xc3\xa4mple.org", 0, false, NULL, NULL },
		{ "\"unterminated@example.org", 0, false, NULL, NULL },
		{ "u@example.org..", 0, false, NULL, NULL },
	};
	size_t i;

	struct smtp_addr nul;

	/* Found by fuzz_smtp_addr: inet_pton stops at a NUL. */
	CHECK(smtp_addr_parse("u@[192.0.2.1\0x]", 15, &nul) != NULL,
	      "a NUL inside an address literal is refused");
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct smtp_addr a;
		const char *why = smtp_addr_parse(t[i].in, strlen(t[i].in), &a);

		if (!t[i].ok) {
			CHECK(why != NULL, "%s refused (%s)", t[i].in,
			      why != NULL ? why : "accepted");
			continue;
		}
		CHECK(why == NULL && strcmp(a.local, t[i].local) == 0 &&
		      strcmp(a.domain, t[i].domain) == 0 &&
		      smtp_addr_routed(&a) == t[i].routed,
		      "%s: local \"%s\" domain \"%s\" routed %d (%s)", t[i].in,
		      a.local, a.domain, smtp_addr_routed(&a),
		      why != NULL ? why : "ok");
	}
}

static void
test_paths(void)
{
	struct smtp_path p;
	bool param;
	const char *s;

	s = "FROM:<alice@example.org> SIZE=1000 BODY=8BITMIME AUTH=alice+2Bx@example.org";
	CHECK(smtp_path_parse(s, strlen(s), false, &p, &param) == NULL &&
	      p.has_size && p.size == 1000 && p.body == SMTP_BODY_8BITMIME &&
	      p.has_auth && strcmp(p.auth, "alice+x@example.org") == 0,
	      "MAIL with SIZE, BODY and an xtext AUTH=");
	s = "FROM:<> AUTH=<>";
	CHECK(smtp_path_parse(s, strlen(s), false, &p, &param) == NULL &&
	      p.addr.null && p.has_auth && p.auth[0] == '\0',
	      "null sender with AUTH=<>");
	s = "from: <a@b.example>";
	CHECK(smtp_path_parse(s, strlen(s), false, &p, &param) == NULL,
	      "lower case and a space after the colon");
	s = "TO:<@relay.example,@other.example:user@example.org>";
	CHECK(smtp_path_parse(s, strlen(s), true, &p, &param) == NULL &&
	      p.addr.source_route && smtp_addr_routed(&p.addr) &&
	      strcmp(p.addr.domain, "example.org") == 0,
	      "a source route is accepted, ignored and flagged");
	s = "TO:<Postmaster>";
	CHECK(smtp_path_parse(s, strlen(s), true, &p, &param) == NULL &&
	      strcmp(p.addr.local, "postmaster") == 0 && p.addr.domain_len == 0,
	      "RCPT TO:<Postmaster> without a domain");
	s = "TO:<>";
	CHECK(smtp_path_parse(s, strlen(s), true, &p, &param) != NULL,
	      "null recipient refused");
	s = "TO:<\"a>b\"@example.org>";
	CHECK(smtp_path_parse(s, strlen(s), true, &p, &param) == NULL &&
	      strcmp(p.addr.local, "a>b") == 0, "'>' inside a quoted local part");
	s = "FROM:<a@b.example> SIZE=x";
	CHECK(smtp_path_parse(s, strlen(s), false, &p, &param) != NULL && param,
	      "bad SIZE is a parameter error (555)");
	s = "FROM:<a@b.example> SIZE=1 SIZE=2";
	CHECK(smtp_path_parse(s, strlen(s), false, &p, &param) != NULL && param,
	      "repeated parameter");
	s = "FROM:<a@b.example> SIZE=999999999999999999999";
	CHECK(smtp_path_parse(s, strlen(s), false, &p, &param) != NULL && param,
	      "SIZE overflow refused");
	s = "FROM:<a@b.example> AUTH=a+zz";
	CHECK(smtp_path_parse(s, strlen(s), false, &p, &param) != NULL && param,
	      "bad xtext refused");
	s = "TO:<a@b.example> NOTIFY=NEVER";
	CHECK(smtp_path_parse(s, strlen(s), true, &p, &param) != NULL && param,
	      "RCPT parameters refused");
	s = "FROM:a@b.example";
	CHECK(smtp_path_parse(s, strlen(s), false, &p, &param) != NULL && !param,
	      "a path without angle brackets is refused");
	s = "FROM:<a@b.example";
	CHECK(smtp_path_parse(s, strlen(s), false, &p, &param) != NULL,
	      "unterminated path");
	s = "TO:<a@b.example>";
	CHECK(smtp_path_parse(s, strlen(s), false, &p, &param) != NULL,
	      "MAIL needs FROM:");
	CHECK(smtp_domain_ok("mail.example.org", 16) &&
	      smtp_domain_ok("[192.0.2.7]", 11) && !smtp_domain_ok("a_b", 3) &&
	      !smtp_domain_ok("", 0), "EHLO domains");
}

/* run_data - feed in (in chunks of step bytes); the message, used and
 * the flags. */
static void
run_data(const char *in, size_t len, size_t step, bool normalise,
	 struct smtp_data *d, struct buf *out, size_t *used_r)
{
	size_t off = 0;

	buf_reset(out);
	smtp_data_init(d, 1 << 20, normalise);
	*used_r = 0;
	while (off < len && !d->done) {
		size_t n = len - off < step ? len - off : step;

		off += smtp_data_feed(d, in + off, n, out);
	}
	*used_r = off;
}

static void
test_data(void)
{
	static const struct {
		const char *in;
		bool done;		/* the message ended */
		const char *msg;	/* what it holds (reject mode) */
		bool bare;
	} t[] = {
		{ "Subject: x\r\n\r\nbody\r\n.\r\n", true,
		  "Subject: x\r\n\r\nbody\r\n", false },
		{ "..leading dot\r\n.\r\n", true, ".leading dot\r\n", false },
		{ ".\r\n", true, "", false },
		/* CVE-2023-51764 and siblings: none of these ends. */
		{ "a\n.\nMAIL FROM:<x@y>\r\n", false, "a.MAIL FROM:<x@y>\r\n", true },
		{ "a\n.\r\nRCPT TO:<x@y>\r\n", false, "a.\r\nRCPT TO:<x@y>\r\n", true },
		{ "a\r.\rDATA\r\n", false, "a.DATA\r\n", true },
		{ "a\r\n.\nx\r\n", false, "a\r\nx\r\n", true },
		{ "a\r\n.\rx\r\n", false, "a\r\nx\r\n", true },
		{ "8bit \xe4\xf6\xfc\r\n.\r\n", true, "8bit \xe4\xf6\xfc\r\n", false },
	};
	struct buf out = BUF_INIT;
	struct smtp_data d;
	size_t i, used, step;
	const char *next = "x\r\n.\r\nQUIT\r\n";

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		for (step = 1; step <= 7; step += 6) {
			run_data(t[i].in, strlen(t[i].in), step, false, &d, &out,
				 &used);
			CHECK(d.done == t[i].done && d.bare == t[i].bare &&
			      out.len == strlen(t[i].msg) &&
			      memcmp(out.data, t[i].msg, out.len) == 0 &&
			      d.size == out.len,
			      "data %zu in steps of %zu: done %d bare %d (%zu bytes)",
			      i, step, d.done, d.bare, out.len);
		}
	run_data("a\nb\r\n.\r\n", 8, 3, true, &d, &out, &used);
	CHECK(d.done && d.bare && out.len == 6 &&
	      memcmp(out.data, "a\r\nb\r\n", 6) == 0,
	      "normalise: a bare LF becomes CRLF, and still ends nothing");
	run_data("a\n.\nb\r\n.\r\n", 10, 1, true, &d, &out, &used);
	CHECK(d.done && out.len == 9 && memcmp(out.data, "a\r\n.\r\nb\r\n", 9) == 0,
	      "normalise: <LF>.<LF> stays content (a lone dot the next hop "
	      "will stuff)");
	{
		/* A client with LF-only line ends still dot-stuffs: the
		 * stuffing dot goes after a bare LF too (and "." alone
		 * there stays text: only CRLF.CRLF ends). */
		static const char lf[] = "l1\n..dotted\r\n..crlf\n.\r\nl3\n.x\r\n.\r\n";
		static const char want[] = "l1\r\n.dotted\r\n.crlf\r\n.\r\nl3\r\nx\r\n";

		for (step = 1; step <= 4; step++) {
			run_data(lf, sizeof(lf) - 1, step, true, &d, &out, &used);
			CHECK(d.done && used == sizeof(lf) - 1 &&
			      out.len == sizeof(want) - 1 &&
			      memcmp(out.data, want, out.len) == 0,
			      "normalise, steps of %zu: dots after a bare LF are "
			      "unstuffed, \"<LF>.<CR><LF>\" is text (%zu bytes)",
			      step, out.len);
		}
	}
	{
		/* text_line_limit: a line over line_max is flagged, one at
		 * it is not, whatever the chunking. */
		char ln[1100];

		memset(ln, 'y', sizeof(ln));
		memcpy(ln + 1000, "\r\n.\r\n", 5);
		smtp_data_init(&d, 1 << 20, false);
		d.line_max = 1000;
		buf_reset(&out);
		(void)smtp_data_feed(&d, ln, 1005, &out);
		CHECK(d.done && !d.over_line_max, "a 1000-byte line is within "
		      "line_max 1000");
		ln[1000] = 'y';
		memcpy(ln + 1001, "\r\n.\r\n", 5);
		smtp_data_init(&d, 1 << 20, false);
		d.line_max = 1000;
		buf_reset(&out);
		(void)smtp_data_feed(&d, ln, 600, &out);
		(void)smtp_data_feed(&d, ln + 600, 406, &out);
		CHECK(d.done && d.over_line_max, "a 1001-byte line passes "
		      "line_max 1000");
	}
	run_data(next, strlen(next), 4, false, &d, &out, &used);
	CHECK(d.done && used == 6, "the end is found and the next command "
	      "left unread (used %zu)", used);
	{
		char big[3000];

		memset(big, 'x', sizeof(big));
		big[sizeof(big) - 2] = '\r';
		big[sizeof(big) - 1] = '\n';
		smtp_data_init(&d, 100, false);
		buf_reset(&out);
		smtp_data_feed(&d, big, sizeof(big), &out);
		smtp_data_feed(&d, ".\r\n", 3, &out);
		CHECK(d.done && d.too_big && d.long_line && d.size == 3000 &&
		      out.len <= 100,
		      "size counted past max_size, not kept (%zu kept)", out.len);
	}
	buf_free(&out);
}

static void
test_replies(void)
{
	struct smtp_reply r;
	size_t used = 0;
	const char *ehlo = "250-mx.example Hello\r\n250-PIPELINING\r\n"
			   "250-SIZE 10240000\r\n250-AUTH PLAIN SCRAM-SHA-256\r\n"
			   "250 8BITMIME\r\n220 next";
	const char *params;
	size_t plen;

	CHECK(smtp_reply_parse(ehlo, strlen(ehlo), &r, &used) == SMTP_REPLY_DONE &&
	      r.code == 250 && r.lines == 5 && used == strlen(ehlo) - 8,
	      "a multi-line EHLO reply, the next reply left (used %zu)", used);
	CHECK(smtp_reply_ext(&r, "auth", &params, &plen) && plen == 19 &&
	      memcmp(params, "PLAIN SCRAM-SHA-256", 19) == 0 &&
	      smtp_reply_ext(&r, "PIPELINING", NULL, NULL) &&
	      !smtp_reply_ext(&r, "STARTTLS", NULL, NULL) &&
	      !smtp_reply_ext(&r, "mx.example", NULL, NULL) &&
	      !smtp_reply_ext(&r, "SIZ", NULL, NULL),
	      "extension look-up (params \"%.*s\")", (int)plen, params);
	CHECK(smtp_reply_parse("250-a\r\n250", 11, &r, &used) == SMTP_REPLY_MORE,
	      "an incomplete reply needs more");
	CHECK(smtp_reply_parse("250-a\r\n550 b\r\n", 15, &r, &used) == SMTP_REPLY_BAD,
	      "codes that change are refused");
	CHECK(smtp_reply_parse("250 ok\n", 7, &r, &used) == SMTP_REPLY_BAD,
	      "a bare LF from a next hop is refused");
	CHECK(smtp_reply_parse("2x0 ok\r\n", 8, &r, &used) == SMTP_REPLY_BAD &&
	      smtp_reply_parse("250ok\r\n", 7, &r, &used) == SMTP_REPLY_BAD &&
	      smtp_reply_parse("650 ok\r\n", 8, &r, &used) == SMTP_REPLY_BAD,
	      "malformed reply lines");
	CHECK(smtp_reply_parse("354\r\n", 5, &r, &used) == SMTP_REPLY_DONE &&
	      r.code == 354 && r.text_len == 0, "a code without text");
}

static void
test_encode(void)
{
	static const struct {
		const char *msg, *wire;
	} t[] = {
		{ "a\r\n.b\r\n", "a\r\n..b\r\n.\r\n" },
		{ ".\r\n", "..\r\n.\r\n" },
		{ "no end", "no end\r\n.\r\n" },
		{ "a\n.\nb", "a\r\n..\r\nb\r\n.\r\n" },
		{ "a\r.\rb\r", "a\r\n..\r\nb\r\n.\r\n" },
		{ "", ".\r\n" },
	};
	struct buf out = BUF_INIT, back = BUF_INIT;
	struct smtp_data d;
	size_t i, used;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		bool bol = true, cr = false;
		size_t k;

		buf_reset(&out);
		/* Byte by byte: the state must carry across calls. */
		for (k = 0; t[i].msg[k] != '\0'; k++)
			smtp_data_encode(t[i].msg + k, 1, &bol, &cr, &out);
		smtp_data_encode_end(bol, cr, &out);
		CHECK(out.len == strlen(t[i].wire) &&
		      memcmp(out.data, t[i].wire, out.len) == 0,
		      "encode %zu (%zu bytes)", i, out.len);
		run_data(out.data, out.len, 5, false, &d, &back, &used);
		CHECK(d.done && !d.bare && used == out.len,
		      "encode %zu: our own wire form ends exactly and holds no "
		      "bare line end", i);
	}
	buf_free(&out);
	buf_free(&back);
}

int
main(void)
{
	test_replies();
	test_encode();
	test_lines();
	test_commands();
	test_addresses();
	test_paths();
	test_data();
	return test_done();
}
