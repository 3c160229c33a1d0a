/*
 * session - one SMTP client.  See session.h.
 *
 * Replies follow Postfix's texts where a client or a log filter (fail2ban)
 * may know them, with enhanced status codes (RFC 3463) on every reply
 * that takes one (not the greeting, EHLO/HELO, or 334).
 *
 * Pipelining: a client may send several commands at once only after EHLO
 * announced PIPELINING, and never after a command that ends a group
 * (RFC 2920 §3.1: EHLO, HELO, DATA, VRFY, EXPN, NOOP, QUIT, STARTTLS, and
 * AUTH unless the exchange completes in one line).  Input found after
 * such a command, or before the greeting, is refused as Postfix does:
 * "554 5.5.0 Error: SMTP protocol synchronization", and the connection
 * closes (spam engines that do not wait for replies are told apart from
 * real clients this way).  After STARTTLS, buffered plaintext is
 * discarded instead (CVE-2011-0411), then the handshake starts.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "authd.h"
#include "codec.h"
#include "conn.h"
#include "log.h"
#include "delegate.h"
#include "dnsbl.h"
#include "maildir.h"
#include "maildir_map.h"
#include "relay.h"
#include "sasl.h"
#include "secret.h"
#include "session.h"
#include "smtp.h"
#include "smtp_data.h"
#include "tls.h"
#include "xalloc.h"

struct smtpd_server smtpd;

enum state {
	ST_GREET,		/* before the greeting: nothing may come */
	ST_CMD,			/* commands */
	ST_AUTH,		/* a 334 was sent: the client's response line */
	ST_DATA,		/* message bytes */
	ST_TLS,			/* STARTTLS/465 handshake in progress */
};

/* What the session waits for (input is held meanwhile). */
enum wait {
	W_NONE,
	W_AUTHD,		/* authd's answer to AUTH */
	W_MAIL, W_RCPT, W_DATA, W_DOT,	/* the next hop's reply */
	W_DRAIN,		/* the next hop's buffer to drain (DATA) */
	W_CHECK,		/* a DNS list or a policy server (RCPT) */
};

struct session {
	struct conn conn;		/* first: conn callbacks cast */
	struct session *prev, *next;
	const struct listen_addr *port;
	unsigned long long id;
	char client_ip[64];		/* as text, for logs and authd */
	unsigned int client_port;
	char local_ip[64];
	unsigned int local_port;
	char client[96];		/* "unknown[192.0.2.7]" for logs */
	struct net_addr client_addr;
	struct loop_timer timer;	/* idle, session and greet pause */
	uint64_t session_end;
	enum state state;
	enum wait wait;
	enum smtp_verb last;		/* for "... after CMD" logs */
	unsigned int errors;
	bool skip_line;			/* discarding an over-long line */
	bool starttls;			/* STARTTLS accepted, not begun */
	bool group_end;			/* the last command ends a group */
	bool quitting;
	/* EHLO/HELO. */
	char *helo;
	bool esmtp;
	/* TLS and AUTH. */
	bool tls;
	struct authd_session *auth;
	const char *auth_mech;		/* canonical name, static in sasl.c */
	char *sasl_user;
	const char *sasl_method;
	/* The transaction. */
	bool in_mail;
	char *sender;			/* the address as relayed, "" for <> */
	unsigned int rcpts;		/* accepted by us and the next hop */
	char *first_rcpt;
	struct smtp_addr pending_rcpt;	/* the RCPT at the next hop */
	char msgid[24];
	struct smtp_data data;
	bool data_abort;		/* stop forwarding: the end refuses */
	bool body8;			/* MAIL said BODY=8BITMIME */
	bool seven_bit_hop;		/* ... and the next hop cannot take it */
	bool found8;			/* an 8-bit byte for such a hop */
	struct relay *relay;
	unsigned int relay_ignore;	/* replies to RSETs nobody waits for */
	/* Local delivery: a transaction is all local or all relayed. */
	bool local;			/* its recipients are Maildirs */
	char **mdirs;			/* their paths */
	size_t n_mdirs;
	struct maildir_msg *md;		/* the message being written */
	struct rcpt_check *chk;		/* the RCPT being checked */
	unsigned long long mail_size;	/* MAIL's SIZE= */
	char instance[48];		/* the transaction, for policy servers */
	struct buf prepend;		/* policy PREPEND headers */
	bool quit_after;		/* a policy 421/521: hang up */
};

static void session_input(struct conn *c);
static void session_closed(struct conn *c);
static void session_free(struct conn *c);
static const struct conn_ops session_ops = {
	session_input, session_closed, session_free, NULL,
};

static bool
is_group_end(enum smtp_verb v)
{
	switch (v) {
	case SMTP_EHLO: case SMTP_HELO: case SMTP_DATA: case SMTP_VRFY:
	case SMTP_EXPN: case SMTP_NOOP: case SMTP_QUIT: case SMTP_STARTTLS:
	case SMTP_AUTH: case SMTP_HELP:
		return true;
	default:
		return false;
	}
}

/* --- replies ------------------------------------------------------- */

/* reply - queue one reply line (fmt without CRLF); 4xx/5xx count as
 * errors (smtpd_hard_error_limit). */
static void reply(struct session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
reply(struct session *s, const char *fmt, ...)
{
	va_list ap;

	if (s->conn.closed)
		return;
	va_start(ap, fmt);
	if (fmt[0] == '4' || fmt[0] == '5')
		s->errors++;
	{
		char line[1024];
		int n = vsnprintf(line, sizeof(line), fmt, ap);

		if (n < 0)
			n = 0;
		if ((size_t)n >= sizeof(line))
			n = sizeof(line) - 1;
		buf_append(&s->conn.out, line, (size_t)n);
		buf_append(&s->conn.out, "\r\n", 2);
	}
	va_end(ap);
	conn_flush(&s->conn);
}

/* pass_reply - a next hop's reply to our client as it came (each line
 * with the code; a 421 becomes 451, since it is the next hop that
 * closes, not us). */
static void
pass_reply(struct session *s, const struct smtp_reply *r)
{
	unsigned int code = r->code == 421 ? 451 : r->code;
	const char *p = r->text, *end = r->text + r->text_len;

	if (code >= 400)
		s->errors++;
	do {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		char head[8];

		snprintf(head, sizeof(head), "%u%c", code, nl ? '-' : ' ');
		buf_append_str(&s->conn.out, head);
		buf_append(&s->conn.out, p, n);
		buf_append(&s->conn.out, "\r\n", 2);
		p = nl != NULL ? nl + 1 : end;
	} while (p < end);
	conn_flush(&s->conn);
}

/* finish - reply, then close once the reply is out. */
static void
finish(struct session *s)
{
	s->quitting = true;
	s->conn.close_when_sent = true;
	conn_hold(&s->conn, true);
	conn_write(&s->conn);
}

/* --- timers -------------------------------------------------------- */

static void
arm_timer(struct session *s)
{
	uint64_t now = loop_now(smtpd.loop), ms = smtpd.set->idle_timeout_ms;

	if (s->session_end <= now)
		ms = 0;
	else if (s->session_end - now < ms)
		ms = s->session_end - now;
	loop_timer_set(smtpd.loop, &s->timer, ms);
}

static void send_greeting(struct session *s);
static void sync_error(struct session *s, const char *after);

static void
session_timer(struct loop_timer *t)
{
	struct session *s = (struct session *)((char *)t -
					       offsetof(struct session, timer));

	if (s->conn.closed || s->quitting)
		return;
	if (s->state == ST_GREET) {
		send_greeting(s);
		return;
	}
	if (s->wait != W_NONE) {
		/* authd and the next hop have their own deadlines. */
		arm_timer(s);
		return;
	}
	log_info("timeout after %s from %s", smtp_verb_name(s->last),
		 s->client);
	reply(s, "421 4.4.2 %s Error: timeout exceeded", smtpd.set->hostname);
	finish(s);
}

/* --- the transaction ----------------------------------------------- */

static void
reset_transaction(struct session *s)
{
	s->in_mail = false;
	free(s->sender);
	s->sender = NULL;
	free(s->first_rcpt);
	s->first_rcpt = NULL;
	s->rcpts = 0;
	s->data_abort = false;
	if (s->md != NULL) {
		maildir_abort(s->md);
		s->md = NULL;
	}
	buf_reset(&s->prepend);
	while (s->n_mdirs > 0)
		free(s->mdirs[--s->n_mdirs]);
	free(s->mdirs);
	s->mdirs = NULL;
	s->local = false;
	s->body8 = s->seven_bit_hop = s->found8 = false;
}

/* addr_text - an address as we relay it: local@domain, the local part
 * quoted again when it came quoted. */
static char *
addr_text(const struct smtp_addr *a)
{
	struct buf b = BUF_INIT;
	char *out;
	size_t i;

	if (a->null)
		return xstrdup("");
	if (a->quoted) {
		buf_append_c(&b, '"');
		for (i = 0; i < a->local_len; i++) {
			if (a->local[i] == '"' || a->local[i] == '\\')
				buf_append_c(&b, '\\');
			buf_append_c(&b, a->local[i]);
		}
		buf_append_c(&b, '"');
	} else {
		buf_append(&b, a->local, a->local_len);
	}
	buf_append_c(&b, '@');
	buf_append(&b, a->domain, a->domain_len);
	out = xstrndup(b.data != NULL ? b.data : "", b.len);
	buf_free(&b);
	return out;
}

static void relay_done(void *arg, const struct smtp_reply *r);
static void relay_drained(void *arg);

static struct relay *
get_relay(struct session *s)
{
	if (s->relay == NULL)
		s->relay = relay_new(smtpd.loop, &smtpd.set->relay, relay_done,
				     relay_drained, s);
	return s->relay;
}

static void
wait_for(struct session *s, enum wait w)
{
	s->wait = w;
	conn_hold(&s->conn, true);
}

static void
resume(struct session *s)
{
	s->wait = W_NONE;
	if (s->conn.closed || s->quitting)
		return;
	arm_timer(s);
	conn_hold(&s->conn, false);
}

/* received - our trace header (RFC 5321 §4.4), with the RFC 3848 "with"
 * word: ESMTPA/ESMTPSA after AUTH. */
static void
received(struct session *s, struct buf *out)
{
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	const char *with;

	with = !s->esmtp ? "SMTP" :
	       s->sasl_user != NULL ? (s->tls ? "ESMTPSA" : "ESMTPA") :
	       s->tls ? "ESMTPS" : "ESMTP";
	(void)localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %e %b %Y %H:%M:%S %z (%Z)", &tm);
	buf_printf(out, "Received: from %s (unknown [%s])\r\n",
		   s->helo != NULL ? s->helo : "unknown", s->client_ip);
	if (s->tls)
		buf_printf(out, "\t(using %s)\r\n", tls_info(&s->conn));
	if (s->sasl_user != NULL && smtpd.set->authenticated_header)
		buf_printf(out, "\t(Authenticated sender: %s)\r\n", s->sasl_user);
	buf_printf(out, "\tby %s (authd-smtpd) with %s id %s", smtpd.set->hostname,
		   with, s->msgid);
	if (s->rcpts == 1 && s->first_rcpt != NULL)
		buf_printf(out, "\r\n\tfor <%s>", s->first_rcpt);
	buf_printf(out, "; %s\r\n", date);
}

/* --- commands ------------------------------------------------------ */

static void
cmd_ehlo(struct session *s, const struct smtp_cmd *cmd)
{
	const struct smtpd_settings *set = smtpd.set;
	char mechs[512];
	bool auth;

	if (cmd->arg_len == 0) {
		reply(s, "501 5.5.4 Syntax: %s hostname",
		      cmd->verb == SMTP_EHLO ? "EHLO" : "HELO");
		return;
	}
	free(s->helo);
	/* Kept as sent (it is printable ASCII: smtp_cmd_parse refuses the
	 * rest), at most 255 bytes, for the Received line and the log. */
	s->helo = xstrndup(cmd->arg, cmd->arg_len > 255 ? 255 : cmd->arg_len);
	reset_transaction(s);
	if (cmd->verb == SMTP_HELO) {
		s->esmtp = false;
		reply(s, "250 %s", set->hostname);
		return;
	}
	s->esmtp = true;
	sasl_poke();
	auth = set->sasl_enable && s->sasl_user == NULL &&
	       (s->tls || !set->tls_auth_only) &&
	       sasl_mechs(s->tls ? set->sasl_tls_refuse_flags :
			  set->sasl_refuse_flags, mechs, sizeof(mechs));
	buf_printf(&s->conn.out, "250-%s\r\n250-PIPELINING\r\n250-SIZE %llu\r\n",
		   set->hostname, set->size_limit);
	if (set->tls_server != NULL && !s->tls)
		buf_append_str(&s->conn.out, "250-STARTTLS\r\n");
	if (auth) {
		buf_printf(&s->conn.out, "250-AUTH %s\r\n", mechs);
		if (set->broken_sasl_clients)
			buf_printf(&s->conn.out, "250-AUTH=%s\r\n", mechs);
	}
	buf_append_str(&s->conn.out,
		       "250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n");
	conn_flush(&s->conn);
}

static bool
need_auth(const struct session *s)
{
	return s->port->kind != PORT_SMTP && s->sasl_user == NULL;
}

static void
cmd_mail(struct session *s, const struct smtp_cmd *cmd)
{
	struct smtp_path p;
	bool param = false;
	const char *why;

	if (s->helo == NULL) {
		reply(s, "503 5.5.1 Error: send HELO/EHLO first");
		return;
	}
	if (s->in_mail) {
		reply(s, "503 5.5.1 Error: nested MAIL command");
		return;
	}
	if (need_auth(s)) {
		reply(s, "530 5.7.0 Authentication required");
		return;
	}
	if ((why = smtp_path_parse(cmd->arg, cmd->arg_len, false, &p,
				   &param)) != NULL) {
		if (param)
			reply(s, "555 5.5.4 Unsupported option: %s", why);
		else
			reply(s, "501 5.5.4 Syntax: MAIL FROM:<address>: %s", why);
		return;
	}
	if (!s->esmtp && (p.has_size || p.body != SMTP_BODY_NONE || p.has_auth)) {
		reply(s, "555 5.5.4 Unsupported option: ESMTP parameters "
		      "need EHLO");
		return;
	}
	if (p.has_size && p.size > smtpd.set->size_limit) {
		reply(s, "552 5.3.4 Message size exceeds fixed limit");
		return;
	}
	/* AUTH= (RFC 4954 §5) is accepted from anyone; it is not passed on
	 * and means nothing here: our own Received line says who
	 * authenticated. */
	reset_transaction(s);
	s->sender = addr_text(&p.addr);
	s->body8 = p.body == SMTP_BODY_8BITMIME;
	s->mail_size = p.has_size ? p.size : 0;
	/* One per transaction: a policy server (policyd-spf) checks once
	 * per instance. */
	delegate_instance(s->instance, sizeof(s->instance));
	snprintf(s->msgid, sizeof(s->msgid), "%08llX%04X", ++smtpd.next_id,
		 (unsigned int)(s->id & 0xffff));
	wait_for(s, W_MAIL);
	relay_mail(get_relay(s), s->sender, p.has_size ? p.size : 0,
		   p.body == SMTP_BODY_8BITMIME);
}

static const char *
proto_name(const struct session *s)
{
	return s->esmtp ? "ESMTP" : "SMTP";
}

/* rcpt_local - a recipient in local_domains: answered here (true), from
 * the Maildir map; a remote one is left to the caller (false).  Unknown
 * and unusable local parts get the same 550, so the answer cannot be
 * used to tell them apart. */
static bool
rcpt_local(struct session *s, const struct smtp_addr *a)
{
	char path[4096];
	char *to;

	switch (maildir_map_lookup(smtpd.set->maildirs, a, path, sizeof(path))) {
	case MAILDIR_REMOTE:
		return false;
	case MAILDIR_UNKNOWN:
	case MAILDIR_REFUSED:
		to = addr_text(a);
		log_info("NOQUEUE: reject: RCPT from %s: 550 5.1.1 <%s>: "
			 "Recipient address rejected: User unknown; from=<%s> "
			 "to=<%s> proto=%s helo=<%s>", s->client, to, s->sender,
			 to, proto_name(s), s->helo);
		reply(s, "550 5.1.1 <%s>: Recipient address rejected: User "
		      "unknown in virtual mailbox table", to);
		free(to);
		return true;
	case MAILDIR_TEMPFAIL:
		reply(s, "451 4.3.0 Error: temporary local problem");
		return true;
	case MAILDIR_FOUND:
		break;
	}
	if (!s->local && s->rcpts > 0) {
		reply(s, "452 4.5.3 Error: a local and a remote recipient in one "
		      "message: send to this one separately");
		return true;
	}
	if (!s->local && s->relay != NULL && relay_connected(s->relay)) {
		/* The next hop holds our MAIL: this transaction is local. */
		s->relay_ignore++;
		relay_rset(s->relay);
	}
	s->local = true;
	s->mdirs = xreallocarray(s->mdirs, s->n_mdirs + 1, sizeof(char *));
	s->mdirs[s->n_mdirs++] = xstrdup(path);
	if (s->rcpts++ == 0)
		s->first_rcpt = addr_text(a);
	reply(s, "250 2.1.5 Ok");
	return true;
}

/* --- RCPT: the restriction lists, some of which ask elsewhere ------- */

/* One RCPT being checked: the lists run from (li, ri) on; a DNS list or
 * a policy server makes the session wait (W_CHECK) for its answer. */
struct rcpt_check {
	struct smtp_path p;
	struct smtp_addr sender;
	size_t li, ri;
	struct dnsbl_query *dq;
	struct delegate_req *pq;
	bool dip, dir;			/* DEFER_IF_PERMIT / _IF_REJECT seen */
	struct restr_reply dip_reply, dir_reply;
};

static const struct restr_list *
rcpt_list(size_t i)
{
	const struct smtpd_settings *set = smtpd.set;
	const struct restr_list *lists[5] = { &set->client_r, &set->helo_r,
		&set->sender_r, &set->relay_r, &set->rcpt_r };

	return i < 5 ? lists[i] : NULL;
}

static void
check_free(struct session *s)
{
	struct rcpt_check *k = s->chk;

	if (k == NULL)
		return;
	if (k->dq != NULL)
		dnsbl_cancel(k->dq);
	if (k->pq != NULL)
		delegate_cancel(k->pq);
	free(k);
	s->chk = NULL;
}

static void
rcpt_refuse(struct session *s, const struct restr_reply *rr)
{
	char *to = addr_text(&s->chk->p.addr);

	log_info("NOQUEUE: reject: RCPT from %s: %u %s; from=<%s> to=<%s> "
		 "proto=%s helo=<%s>", s->client, rr->code, rr->text,
		 s->sender, to, proto_name(s), s->helo);
	free(to);
	reply(s, "%u %s", rr->code, rr->text);
	if (s->quit_after)
		finish(s);	/* the policy server said 421 or 521 */
}

/* rcpt_accept - every list let the recipient through: a Maildir, or the
 * next hop's answer. */
static void
rcpt_accept(struct session *s, const struct smtp_addr *a)
{
	char *to;

	if (smtpd.set->maildirs != NULL && rcpt_local(s, a))
		return;
	if (s->local) {
		reply(s, "452 4.5.3 Error: a local and a remote recipient in one "
		      "message: send to this one separately");
		return;
	}
	s->pending_rcpt = *a;
	to = addr_text(a);
	wait_for(s, W_RCPT);
	relay_rcpt(get_relay(s), to);
	free(to);
}

static void rcpt_run(struct session *s);

/* rcpt_async_done - the answer of a DNS list or a policy server, as a
 * verdict; the lists go on from there. */
static void
rcpt_async_done(struct session *s, const struct restr_reply *rr)
{
	struct rcpt_check *k = s->chk;

	if (rr->verdict == RESTR_REFUSE) {
		rcpt_refuse(s, k->dir ? &k->dir_reply : rr);
		check_free(s);
	} else if (rr->verdict == RESTR_OK) {
		k->li++;		/* OK ends this list */
		k->ri = 0;
		rcpt_run(s);
	} else {
		k->ri++;
		rcpt_run(s);
	}
	if (s->wait != W_NONE)
		return;		/* another answer to wait for (RCPT, DNS) */
	resume(s);
}

static void
rbl_cb(void *arg, const struct dnsbl_answer *a)
{
	struct session *s = arg;
	struct rcpt_check *k = s->chk;
	const struct restr *x = &rcpt_list(k->li)->v[k->ri];
	struct restr_reply rr;

	k->dq = NULL;
	s->wait = W_NONE;
	memset(&rr, 0, sizeof(rr));
	if (a->result == DNSBL_HIT) {
		restr_rbl_reply(x, x->kind == RESTR_REJECT_RBL_CLIENT ?
				s->client_ip : k->sender.domain, a->txt, &rr);
	} else if (a->result != DNSBL_MISS) {
		/* Neither a reject nor a hang: skip, or a 4xx if asked. */
		log_info("%s: %s look-up for %s failed: %s", s->msgid, x->arg,
			 s->client, a->why);
		if (smtpd.set->rbl_fail_defer) {
			rr.verdict = RESTR_REFUSE;
			rr.code = 451;
			snprintf(rr.text, sizeof(rr.text), "4.7.1 Service "
				 "unavailable; %s look-up failed, try again "
				 "later", x->arg);
		}
	}
	rcpt_async_done(s, &rr);
}

static void
policy_cb(void *arg, const struct delegate_action *a)
{
	struct session *s = arg;
	struct rcpt_check *k = s->chk;
	struct restr_reply rr;
	char to[SMTP_PATH_MAX + 8];

	k->pq = NULL;
	s->wait = W_NONE;
	memset(&rr, 0, sizeof(rr));
	{
		char *t = addr_text(&k->p.addr);

		snprintf(to, sizeof(to), "%s", t);
		free(t);
	}
	switch (a->verdict) {
	case DELEGATE_OK:
		rr.verdict = RESTR_OK;
		break;
	case DELEGATE_REJECT:
		rr.verdict = RESTR_REFUSE;
		rr.code = a->code;
		delegate_reply_text(a, to, "Recipient address", rr.text,
				    sizeof(rr.text));
		if (a->disconnect)
			s->quit_after = true;
		break;
	case DELEGATE_DEFER_IF_PERMIT:
	case DELEGATE_DEFER_IF_REJECT: {
		struct restr_reply *d = a->verdict == DELEGATE_DEFER_IF_PERMIT ?
					&k->dip_reply : &k->dir_reply;

		d->verdict = RESTR_REFUSE;
		d->code = a->code;
		delegate_reply_text(a, to, "Recipient address", d->text,
				    sizeof(d->text));
		if (a->verdict == DELEGATE_DEFER_IF_PERMIT)
			k->dip = true;
		else
			k->dir = true;
		break;
	}
	case DELEGATE_PREPEND:
		buf_printf(&s->prepend, "%s\r\n", a->prepend);
		break;
	case DELEGATE_WARN:
	case DELEGATE_INFO:
		log_info("%s: policy %s: %s", s->msgid,
			 a->verdict == DELEGATE_WARN ? "warning" : "info",
			 a->text);
		break;
	case DELEGATE_DUNNO:
		break;
	}
	rcpt_async_done(s, &rr);
}

/* policy_server - the one connection of this worker to spec. */
static struct delegate *
policy_server(const char *spec)
{
	static struct { char *spec; struct delegate *d; } *tab;
	static size_t n;
	struct delegate_conf conf;
	char *why = NULL;
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(tab[i].spec, spec) == 0)
			return tab[i].d;
	delegate_conf_defaults(&conf);
	conf.timeout_ms = smtpd.set->policy_timeout_ms;
	conf.default_action = smtpd.set->policy_default_action;
	tab = xreallocarray(tab, n + 1, sizeof(*tab));
	tab[n].spec = xstrdup(spec);
	if ((tab[n].d = delegate_new(smtpd.loop, spec, &conf, &why)) == NULL) {
		log_warnx("warning: check_policy_service %s: %s", spec, why);
		free(why);
	}
	return tab[n++].d;
}

/* rcpt_ask - start the look-up of restriction x; false when there is
 * nothing to ask (no sender domain for an RHSBL). */
static bool
rcpt_ask(struct session *s, const struct restr *x)
{
	struct rcpt_check *k = s->chk;

	if (x->kind == RESTR_REJECT_RBL_CLIENT ||
	    x->kind == RESTR_REJECT_RHSBL_SENDER) {
		if (smtpd.dnsbl == NULL) {
			char *why = NULL;

			smtpd.dnsbl = dnsbl_new(smtpd.loop, smtpd.set->resolver,
						smtpd.set->rbl_timeout_ms, &why);
			if (smtpd.dnsbl == NULL) {
				log_warnx("warning: DNS lists: %s", why);
				free(why);
				return false;
			}
		}
		if (x->kind == RESTR_REJECT_RBL_CLIENT)
			k->dq = dnsbl_client(smtpd.dnsbl, &s->client_addr,
					     x->arg, x->want, rbl_cb, s);
		else if (!k->sender.null && k->sender.domain_len > 0 &&
			 !k->sender.ip_literal)
			k->dq = dnsbl_domain(smtpd.dnsbl, k->sender.domain,
					     x->arg, x->want, rbl_cb, s);
		return k->dq != NULL;
	} else {
		struct delegate *d = policy_server(x->arg);
		struct delegate_query q;
		char cport[8], sport[8], to[SMTP_PATH_MAX + 4];
		char *rcpt = addr_text(&k->p.addr);

		if (d == NULL) {
			free(rcpt);
			return false;
		}
		memset(&q, 0, sizeof(q));
		snprintf(cport, sizeof(cport), "%u", s->client_port);
		snprintf(sport, sizeof(sport), "%u", s->local_port);
		snprintf(to, sizeof(to), "%s", rcpt);
		free(rcpt);
		q.protocol_state = "RCPT";
		q.protocol_name = proto_name(s);
		q.client_address = s->client_ip;
		q.client_name = "unknown";
		q.reverse_client_name = "unknown";
		q.client_port = cport;
		q.server_address = s->local_ip;
		q.server_port = sport;
		q.helo_name = s->helo;
		q.sender = s->sender;
		q.recipient = to;
		q.recipient_count = 0;	/* non-zero only from DATA on */
		q.queue_id = s->msgid;
		q.instance = s->instance;
		q.size = s->mail_size;
		q.sasl_method = s->sasl_user != NULL ? s->sasl_method : "";
		q.sasl_username = s->sasl_user != NULL ? s->sasl_user : "";
		q.sasl_sender = "";
		q.encryption_protocol = s->tls ? tls_version(&s->conn) : "";
		q.encryption_cipher = "";
		k->pq = delegate_ask(d, &q, policy_cb, s);
		return k->pq != NULL;
	}
}

/* rcpt_run - the lists from where the check stands. */
static void
rcpt_run(struct session *s)
{
	struct rcpt_check *k = s->chk;
	struct restr_state st;
	struct restr_reply rr;
	size_t at;

	memset(&st, 0, sizeof(st));
	st.client_text = s->client_ip;
	st.client = s->client_addr;
	st.helo = s->helo;
	st.sasl_user = s->sasl_user;
	st.sender = &k->sender;
	st.rcpt = &k->p.addr;
	while (k->li < 5) {
		const struct restr_list *l = rcpt_list(k->li);

		restr_eval_from(l, k->ri, &smtpd.set->env, &st, &rr, &at);
		if (rr.verdict == RESTR_PENDING) {
			k->ri = at;
			if (rcpt_ask(s, &l->v[at])) {
				wait_for(s, W_CHECK);
				return;
			}
			k->ri = at + 1;		/* nothing to ask */
			continue;
		}
		if (rr.verdict == RESTR_REFUSE) {
			rcpt_refuse(s, k->dir ? &k->dir_reply : &rr);
			check_free(s);
			return;
		}
		/* OK ends one list only: the next list still runs. */
		k->li++;
		k->ri = 0;
	}
	if (k->dip) {
		rcpt_refuse(s, &k->dip_reply);
		check_free(s);
		return;
	}
	{
		struct smtp_addr a = k->p.addr;

		check_free(s);
		rcpt_accept(s, &a);
	}
}

static void
cmd_rcpt(struct session *s, const struct smtp_cmd *cmd)
{
	const struct smtpd_settings *set = smtpd.set;
	struct rcpt_check *k;
	bool param = false;
	const char *why;

	if (!s->in_mail) {
		reply(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	k = xcalloc(1, sizeof(*k));
	if ((why = smtp_path_parse(cmd->arg, cmd->arg_len, true, &k->p,
				   &param)) != NULL) {
		free(k);
		if (param)
			reply(s, "555 5.5.4 Unsupported option: %s", why);
		else
			reply(s, "501 5.5.4 Syntax: RCPT TO:<address>: %s", why);
		return;
	}
	if (k->p.addr.null) {
		free(k);
		reply(s, "501 5.1.3 Bad recipient address syntax");
		return;
	}
	/* Accepted recipients count, as in Postfix; refused ones are
	 * bounded by smtpd_hard_error_limit. */
	if (s->rcpts >= set->rcpt_limit) {
		free(k);
		reply(s, "452 4.5.3 Error: too many recipients");
		return;
	}
	if (s->sender[0] == '\0' ||
	    smtp_addr_parse(s->sender, strlen(s->sender), &k->sender) != NULL)
		k->sender.null = true;
	/* Every list runs here, at RCPT (Postfix's smtpd_delay_reject):
	 * permit_sasl_authenticated can only work once AUTH could have
	 * happened, and the log line then names sender and recipient. */
	s->chk = k;
	rcpt_run(s);
}

static void start_data(struct session *s);
static void body_put(struct session *s, const char *p, size_t n, bool *full);
static void maildir_drained_cb(void *arg);

/* data_local - DATA for Maildirs: our own 354, then the message is
 * written under tmp/ as it comes. */
static void
data_local(struct session *s)
{
	char *why = NULL;
	struct buf rp = BUF_INIT;
	bool full;

	s->md = maildir_begin(smtpd.loop, smtpd.pool,
			      (const char *const *)s->mdirs, s->n_mdirs,
			      smtpd.set->maildir_create, maildir_drained_cb, s,
			      &why);
	if (s->md == NULL) {
		log_warnx("warning: %s: Maildir delivery: %s", s->msgid, why);
		free(why);
		reset_transaction(s);
		reply(s, "451 4.3.0 Error: local delivery failed");
		return;
	}
	reply(s, "354 End data with <CR><LF>.<CR><LF>");
	/* The envelope sender, first, as a delivery agent records it. */
	buf_printf(&rp, "Return-Path: <%s>\r\n", s->sender);
	body_put(s, rp.data, rp.len, &full);
	buf_free(&rp);
	start_data(s);
}

static void
cmd_data(struct session *s, const struct smtp_cmd *cmd)
{
	if (!s->in_mail) {
		reply(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (s->rcpts == 0) {
		reply(s, "554 5.5.1 Error: no valid recipients");
		return;
	}
	if (cmd->arg_len != 0) {
		reply(s, "501 5.5.4 Syntax: DATA");
		return;
	}
	if (s->local) {
		data_local(s);
		return;
	}
	wait_for(s, W_DATA);
	relay_data(get_relay(s));
}

static void
cmd_rset(struct session *s, const struct smtp_cmd *cmd)
{
	if (cmd->arg_len != 0) {
		reply(s, "501 5.5.4 Syntax: RSET");
		return;
	}
	if (s->in_mail && s->relay != NULL && relay_connected(s->relay)) {
		/* Our reply does not wait: the next hop's RSET can only
		 * succeed, and a failure shows at the next MAIL. */
		s->relay_ignore++;
		relay_rset(s->relay);
	}
	reset_transaction(s);
	reply(s, "250 2.0.0 Ok");
}

static void
cmd_starttls(struct session *s, const struct smtp_cmd *cmd)
{
	if (smtpd.set->tls_server == NULL || s->tls) {
		reply(s, "502 5.5.1 Error: command not implemented");
		return;
	}
	if (cmd->arg_len != 0) {
		reply(s, "501 5.5.4 Syntax: STARTTLS");
		return;
	}
	if (s->in_mail) {
		reply(s, "503 5.5.1 Error: MAIL transaction in progress");
		return;
	}
	s->starttls = true;	/* start_tls, once the line is consumed */
}

static void
start_tls(struct session *s)
{
	size_t junk = s->conn.in.len;

	s->starttls = false;
	/* CVE-2011-0411: what the client sent after STARTTLS, before the
	 * handshake, must never be read as if it came through TLS. */
	if (junk > 0) {
		log_info("discarding %zu bytes of plaintext pipelined after "
			 "STARTTLS from %s", junk, s->client);
		buf_reset(&s->conn.in);
	}
	reply(s, "220 2.0.0 Ready to start TLS");
	conn_write(&s->conn);
	if (s->conn.closed)
		return;
	if (s->conn.out.len > 0) {
		/* The client does not read its replies: no TLS for it. */
		conn_close(&s->conn);
		return;
	}
	/* RFC 3207 §4.2: back to the state after the greeting. */
	free(s->helo);
	s->helo = NULL;
	s->esmtp = false;
	reset_transaction(s);
	s->tls = true;
	if (!tls_start(&s->conn, smtpd.set->tls_server, true, s->client, NULL))
		conn_close(&s->conn);
}

/* --- AUTH ---------------------------------------------------------- */

static void
auth_end(struct session *s)
{
	authd_session_free(s->auth);
	s->auth = NULL;
	s->state = ST_CMD;
}

/* auth_decode - a base64 response line (RFC 4954 §4), "=" for empty;
 * false for characters outside the alphabet or bad padding. */
static bool
auth_decode(const char *p, size_t n, struct buf *out)
{
	long got;

	if (n == 1 && p[0] == '=')
		return true;
	if (n == 0 || !buf_reserve(out, n / 4 * 3 + 3))
		return false;
	if ((got = codec_b64_decode(p, n, (unsigned char *)out->data)) < 0)
		return false;
	out->len = (size_t)got;
	return true;
}

static void
auth_send(struct session *s, const struct buf *resp, bool initial,
	  bool has_initial)
{
	int rc;

	if (initial)
		rc = authd_session_send_start(s->auth, has_initial ?
					      (const void *)(resp->data ?
					      resp->data : "") : NULL,
					      resp->len);
	else
		rc = authd_session_send_step(s->auth, resp->data ? resp->data :
					     "", resp->len);
	if (rc < 0) {
		log_warnx("warning: %s: SASL %s: authd: %s", s->client,
			  s->auth_mech, authd_session_error(s->auth));
		auth_end(s);
		reply(s, "454 4.7.0 Temporary authentication failure");
		return;
	}
	sasl_kick();
	wait_for(s, W_AUTHD);
}

static void
cmd_auth(struct session *s, const struct smtp_cmd *cmd)
{
	const struct smtpd_settings *set = smtpd.set;
	const char *sp, *mech;
	size_t mlen;
	struct buf resp = BUF_INIT;
	bool has_initial;
	unsigned int flags;

	if (!set->sasl_enable) {
		reply(s, "503 5.5.1 Error: authentication not enabled");
		return;
	}
	if (!s->esmtp) {
		reply(s, "503 5.5.1 Error: send EHLO first");
		return;
	}
	if (s->sasl_user != NULL) {
		reply(s, "503 5.5.1 Error: already authenticated");
		return;
	}
	if (s->in_mail) {
		reply(s, "503 5.5.1 Error: MAIL transaction in progress");
		return;
	}
	if (set->tls_auth_only && !s->tls) {
		reply(s, "530 5.7.0 Must issue a STARTTLS command first");
		return;
	}
	sp = memchr(cmd->arg, ' ', cmd->arg_len);
	mlen = sp != NULL ? (size_t)(sp - cmd->arg) : cmd->arg_len;
	if (mlen == 0) {
		reply(s, "501 5.5.4 Syntax: AUTH mechanism");
		return;
	}
	if (!sasl_mech_ok(cmd->arg, mlen, s->tls ? set->sasl_tls_refuse_flags :
			  set->sasl_refuse_flags, &mech)) {
		reply(s, "504 5.5.4 Unsupported authentication mechanism");
		return;
	}
	has_initial = sp != NULL;
	if (has_initial) {
		const char *ir = sp + 1;
		size_t irn = cmd->arg_len - mlen - 1;

		if (irn == 1 && ir[0] == '*') {
			reply(s, "501 5.7.0 Authentication aborted");
			return;
		}
		if (!auth_decode(ir, irn, &resp)) {
			buf_free(&resp);
			reply(s, "501 5.5.2 Cannot decode response");
			return;
		}
	}
	s->auth_mech = mech;
	if ((s->auth = sasl_begin(mech, s)) == NULL) {
		buf_free(&resp);
		log_warnx("warning: %s: SASL %s: authd at %s unreachable", s->client,
			  mech, set->auth_socket);
		reply(s, "454 4.7.0 Temporary authentication failure");
		return;
	}
	(void)authd_session_set_addr(s->auth, s->local_ip, s->local_port,
				     s->client_ip, s->client_port);
	flags = s->tls ? AUTHD_SESSION_SECURED : 0;
	(void)authd_session_set_flags(s->auth, flags);
	auth_send(s, &resp, true, has_initial);
	buf_free(&resp);
}

/* auth_line - the client's answer to a 334. */
static void
auth_line(struct session *s, const char *line, size_t n)
{
	struct buf resp = BUF_INIT;

	if (n == 0) {
		/* An empty line is an empty response (RFC 4954 §4), e.g. the
		 * answer to the 334 carrying DIGEST-MD5 rspauth or SCRAM v=. */
		s->state = ST_CMD;
		auth_send(s, &resp, false, true);
		return;
	}
	if (n == 1 && line[0] == '*') {
		authd_session_cancel(s->auth);
		auth_end(s);
		reply(s, "501 5.7.0 Authentication aborted");
		return;
	}
	if (!auth_decode(line, n, &resp)) {
		buf_free(&resp);
		authd_session_cancel(s->auth);
		auth_end(s);
		reply(s, "501 5.5.2 Cannot decode response");
		return;
	}
	s->state = ST_CMD;
	auth_send(s, &resp, false, true);
	buf_free(&resp);
}

void
session_sasl_result(void *owner, struct authd_session *as)
{
	struct session *s = owner;
	int st = authd_session_status(as);
	char user[200];

	if (s == NULL || s->auth != as || s->conn.closed)
		return;
	switch (st) {
	case AUTHD_CONTINUE: {
		size_t len;

		if (s->conn.in.len > 0) {
			/* The client sent on without waiting for this 334
			 * (a pipelined PLAIN that authd answers with a
			 * challenge): what it sent is no answer to it. */
			authd_session_cancel(as);
			auth_end(s);
			sync_error(s, "AUTH");
			return;
		}
		const unsigned char *ch = authd_session_challenge(as, &len);
		size_t need = codec_b64_encoded_len(len);

		buf_append_str(&s->conn.out, "334 ");
		if (buf_reserve(&s->conn.out, need + 3)) {
			s->conn.out.len += codec_b64_encode(ch, len,
				s->conn.out.data + s->conn.out.len);
			buf_append(&s->conn.out, "\r\n", 2);
		}
		conn_flush(&s->conn);
		s->state = ST_AUTH;
		break;
	}
	case AUTHD_OK:
		log_safe(authd_session_user(as) != NULL ? authd_session_user(as) :
			 "", strlen(authd_session_user(as) != NULL ?
				    authd_session_user(as) : ""),
			 user, sizeof(user));
		s->sasl_user = xstrdup(authd_session_user(as) != NULL ?
				       authd_session_user(as) : "");
		s->sasl_method = s->auth_mech;
		log_info("%s: client=%s, sasl_method=%s, sasl_username=%s",
			 s->msgid[0] ? s->msgid : "NOQUEUE", s->client,
			 s->auth_mech, user);
		auth_end(s);
		reply(s, "235 2.7.0 Authentication successful");
		break;
	case AUTHD_FAIL:
		/* One line per failure, in the shape of Postfix's, so that
		 * fail2ban's stock postfix filter (mode = auth) bans the
		 * address unchanged. */
		log_warnx("warning: %s: SASL %s authentication failed: "
			  "authentication failure", s->client, s->auth_mech);
		auth_end(s);
		reply(s, "535 5.7.8 Error: authentication failed: "
		      "authentication failure");
		break;
	default:
		/* TEMPFAIL, or authd went away / timed out. */
		log_warnx("warning: %s: SASL %s authentication aborted: %s",
			  s->client, s->auth_mech, st == AUTHD_TEMPFAIL ?
			  "authd: temporary failure" : authd_session_error(as));
		auth_end(s);
		reply(s, "454 4.7.0 Temporary authentication failure");
		break;
	}
	resume(s);
}

/* --- the next hop's answers ---------------------------------------- */

static void
relay_done(void *arg, const struct smtp_reply *r)
{
	struct session *s = arg;
	enum wait w = s->wait;

	if (s->relay_ignore > 0) {
		s->relay_ignore--;
		return;
	}
	if (s->conn.closed)
		return;
	switch (w) {
	case W_MAIL:
		if (r->code / 100 == 2)
			s->in_mail = true;
		else
			reset_transaction(s);
		pass_reply(s, r);
		break;
	case W_RCPT:
		if (r->code / 100 == 2) {
			if (s->rcpts++ == 0)
				s->first_rcpt = addr_text(&s->pending_rcpt);
		}
		pass_reply(s, r);
		break;
	case W_DATA:
		if (r->code != 354) {
			pass_reply(s, r);
			break;
		}
		/* RFC 6152: an 8-bit message for a next hop without
		 * 8BITMIME must be converted or refused; the gate has no
		 * MIME converter, so it refuses (at the end) a message that
		 * really holds an 8-bit byte. */
		s->seven_bit_hop = s->body8 && !relay_ext_8bitmime(s->relay);
		reply(s, "354 End data with <CR><LF>.<CR><LF>");
		start_data(s);
		break;
	case W_DOT:
		if (r->code / 100 == 2)
			log_info("%s: from=<%s>, nrcpt=%u, size=%llu, %s%s: "
				 "accepted by %s: %u", s->msgid, s->sender,
				 s->rcpts, s->data.size, s->client,
				 s->sasl_user ? " (authenticated)" : "",
				 smtpd.set->relay.name, r->code);
		else
			log_info("%s: from=<%s>, %s: refused by %s: %u %.200s",
				 s->msgid, s->sender, s->client,
				 smtpd.set->relay.name, r->code, r->text);
		reset_transaction(s);
		pass_reply(s, r);
		break;
	default:
		return;		/* nobody waits: a late answer */
	}
	resume(s);
}

static void
relay_drained(void *arg)
{
	struct session *s = arg;

	if (s->wait == W_DRAIN)
		resume(s);
}

static void
maildir_drained_cb(void *arg)
{
	relay_drained(arg);
}

/* body_put - message bytes to the next hop or the Maildirs; *full when
 * the client must wait for them to drain. */
static void
body_put(struct session *s, const char *p, size_t n, bool *full)
{
	*full = s->local ? !maildir_body(s->md, p, n) :
			   !relay_body(s->relay, p, n);
}

/* start_data - after the 354: a fresh DATA state machine, and our
 * Received line first. */
static void
start_data(struct session *s)
{
	struct buf hdr = BUF_INIT;
	bool full;

	smtp_data_init(&s->data, smtpd.set->size_limit,
		       smtpd.set->bare == BARE_NORMALIZE);
	s->data.line_max = smtpd.set->text_line_limit;
	s->state = ST_DATA;
	received(s, &hdr);
	if (s->prepend.len > 0)
		buf_append(&hdr, s->prepend.data, s->prepend.len);
	body_put(s, hdr.data, hdr.len, &full);
	buf_free(&hdr);
}

static void
maildir_done(void *arg, bool ok, const char *text)
{
	struct session *s = arg;

	s->md = NULL;		/* freed by maildir.c after this call */
	if (s->conn.closed)
		return;
	if (ok)
		log_info("%s: from=<%s>, nrcpt=%u, size=%llu, %s%s: delivered "
			 "to maildir", s->msgid, s->sender, s->rcpts,
			 s->data.size, s->client,
			 s->sasl_user ? " (authenticated)" : "");
	reset_transaction(s);
	if (text[0] == '4' || text[0] == '5')
		s->errors++;
	buf_append_str(&s->conn.out, text);
	buf_append(&s->conn.out, "\r\n", 2);
	conn_flush(&s->conn);
	resume(s);
}

/* --- DATA ---------------------------------------------------------- */

/* data_input - message bytes; false when the session must stop reading
 * (the end came, or the next hop needs to drain). */
static bool
data_input(struct session *s)
{
	struct buf chunk = BUF_INIT;
	size_t used;

	used = smtp_data_feed(&s->data, s->conn.in.data, s->conn.in.len, &chunk);
	buf_consume(&s->conn.in, used);
	if (s->data.bare && smtpd.set->bare == BARE_REJECT)
		s->data_abort = true;
	if (s->data.too_big || s->data.over_line_max)
		s->data_abort = true;
	if (s->seven_bit_hop && !s->found8) {
		size_t i;

		for (i = 0; i < chunk.len; i++)
			if ((unsigned char)chunk.data[i] >= 0x80) {
				s->found8 = s->data_abort = true;
				break;
			}
	}
	if (!s->data_abort && chunk.len > 0) {
		bool full;

		body_put(s, chunk.data, chunk.len, &full);
		buf_free(&chunk);
		if (full && !s->data.done) {
			wait_for(s, W_DRAIN);
			return false;
		}
	} else {
		buf_free(&chunk);
	}
	if (!s->data.done)
		return true;
	s->state = ST_CMD;
	s->last = SMTP_DATA;
	if (s->data_abort) {
		/* Dropping the connection inside DATA is the only way to make
		 * the next hop forget a message; a Maildir's tmp/ file is
		 * removed. */
		if (s->local) {
			maildir_abort(s->md);
			s->md = NULL;
		} else {
			relay_free(s->relay);
			s->relay = NULL;
			s->relay_ignore = 0;
		}
		if (s->data.bare && smtpd.set->bare == BARE_REJECT) {
			log_info("%s: reject: bare <CR> or <LF> in message "
				 "from %s", s->msgid, s->client);
			reply(s, "521 5.5.2 %s Error: bare <LF> received",
			      smtpd.set->hostname);
			finish(s);
			return false;
		}
		if (s->data.over_line_max && !s->data.too_big) {
			log_info("%s: reject: a line over text_line_limit (%u) "
				 "in the message from %s", s->msgid,
				 smtpd.set->text_line_limit, s->client);
			reset_transaction(s);
			reply(s, "554 5.6.0 Error: message line longer than %u "
			      "bytes", smtpd.set->text_line_limit);
			return true;
		}
		if (s->found8) {
			log_info("%s: reject: 8-bit message from %s, and %s "
				 "does not announce 8BITMIME", s->msgid,
				 s->client, smtpd.set->relay.name);
			reset_transaction(s);
			reply(s, "554 5.6.3 Error: 8-bit message and the next "
			      "hop takes 7-bit only; conversion not supported");
			return true;
		}
		log_info("%s: reject: message of %llu bytes from %s is over "
			 "message_size_limit", s->msgid, s->data.size, s->client);
		reset_transaction(s);
		reply(s, "552 5.3.4 Error: message file too big");
		return true;
	}
	wait_for(s, W_DOT);
	if (s->local)
		maildir_end(s->md, maildir_done, s);
	else
		relay_body_end(s->relay);
	return false;
}

/* --- input --------------------------------------------------------- */

static void
sync_error(struct session *s, const char *after)
{
	log_info("improper command pipelining after %s from %s", after,
		 s->client);
	reply(s, "554 5.5.0 Error: SMTP protocol synchronization");
	finish(s);
}

static void
command(struct session *s, const char *line, size_t n)
{
	struct smtp_cmd cmd;
	const char *why;

	if ((why = smtp_cmd_parse(line, n, &cmd)) != NULL) {
		s->group_end = false;
		reply(s, "500 5.5.2 Error: bad syntax");
		return;
	}
	s->last = cmd.verb;
	/* AUTH PLAIN with an initial response completes in one round, so
	 * commands may follow it (RFC 4954 §4); they wait for authd's
	 * answer.  Any other AUTH ends the group. */
	s->group_end = is_group_end(cmd.verb) &&
		       !(cmd.verb == SMTP_AUTH && cmd.arg_len > 6 &&
			 strncasecmp(cmd.arg, "PLAIN ", 6) == 0);
	switch (cmd.verb) {
	case SMTP_EHLO:
	case SMTP_HELO:
		cmd_ehlo(s, &cmd);
		break;
	case SMTP_MAIL:
		cmd_mail(s, &cmd);
		break;
	case SMTP_RCPT:
		cmd_rcpt(s, &cmd);
		break;
	case SMTP_DATA:
		cmd_data(s, &cmd);
		break;
	case SMTP_RSET:
		cmd_rset(s, &cmd);
		break;
	case SMTP_NOOP:
		reply(s, "250 2.0.0 Ok");
		break;
	case SMTP_QUIT:
		reply(s, "221 2.0.0 Bye");
		finish(s);
		break;
	case SMTP_VRFY:
		reply(s, "252 2.0.0 Send some mail, I'll try my best");
		break;
	case SMTP_EXPN:
		reply(s, "502 5.5.1 Error: command not implemented");
		break;
	case SMTP_HELP:
		reply(s, "214 2.0.0 See RFC 5321");
		break;
	case SMTP_STARTTLS:
		cmd_starttls(s, &cmd);
		break;
	case SMTP_AUTH:
		cmd_auth(s, &cmd);
		break;
	case SMTP_BDAT:
	case SMTP_UNKNOWN:
		reply(s, "502 5.5.2 Error: command not recognized");
		break;
	}
}

/* one_line - the next complete line, handled; false when there is none
 * (or the session stopped reading). */
static bool
one_line(struct session *s)
{
	size_t len, used, limit;
	bool bare = false, auth_phase = s->state == ST_AUTH;

	limit = auth_phase ? smtpd.set->auth_line_limit : smtpd.set->line_limit;
	if (!smtp_line_next(s->conn.in.data, s->conn.in.len, &len, &used,
			    &bare)) {
		if (s->conn.in.len > limit) {
			/* No end in sight: drop what we have, and the rest
			 * of the line as it comes. */
			buf_reset(&s->conn.in);
			if (!s->skip_line) {
				s->skip_line = true;
				if (auth_phase) {
					authd_session_cancel(s->auth);
					auth_end(s);
				}
				reply(s, "500 5.5.6 Error: line too long");
			}
		}
		return false;
	}
	if (s->skip_line) {
		s->skip_line = false;
		buf_consume(&s->conn.in, used);
		return true;
	}
	if (bare && smtpd.set->bare == BARE_REJECT) {
		log_info("reject: bare <CR> or <LF> in a command from %s",
			 s->client);
		reply(s, "521 5.5.2 %s Error: bare <LF> received",
		      smtpd.set->hostname);
		finish(s);
		return false;
	}
	if (len > limit) {
		buf_consume(&s->conn.in, used);
		if (auth_phase) {
			authd_session_cancel(s->auth);
			auth_end(s);
		}
		reply(s, "500 5.5.6 Error: line too long");
		return true;
	}
	if (auth_phase)
		auth_line(s, s->conn.in.data, len);
	else
		command(s, s->conn.in.data, len);
	if (s->conn.closed || s->quitting)
		return false;
	buf_consume(&s->conn.in, used);
	if (s->starttls) {
		start_tls(s);
		return false;
	}
	/* RFC 2920: nothing may follow a group-ending command (or any
	 * command of a client that did not say EHLO, or a response to a
	 * 334) until its reply has been read. */
	if (s->conn.in.len > 0 && (auth_phase || s->group_end || !s->esmtp)) {
		sync_error(s, auth_phase ? "AUTH" : smtp_verb_name(s->last));
		return false;
	}
	if (s->errors >= smtpd.set->error_limit) {
		log_info("too many errors after %s from %s",
			 smtp_verb_name(s->last), s->client);
		reply(s, "421 4.7.0 %s Error: too many errors",
		      smtpd.set->hostname);
		finish(s);
		return false;
	}
	return s->wait == W_NONE;
}

static void
session_input(struct conn *c)
{
	struct session *s = (struct session *)c;

	if (s->quitting || s->wait != W_NONE)
		return;
	if (s->state == ST_GREET) {
		log_info("PREGREET %zu after the connection from %s", c->in.len,
			 s->client);
		sync_error(s, "CONNECT");
		return;
	}
	arm_timer(s);
	while (!c->closed && !s->quitting && s->wait == W_NONE) {
		if (s->state == ST_DATA) {
			if (c->in.len == 0 || !data_input(s))
				break;
			continue;
		}
		if (c->in.len == 0 || !one_line(s))
			break;
	}
}

/* --- life cycle ---------------------------------------------------- */

static struct session *sessions;

static void
send_greeting(struct session *s)
{
	int pending = 0;

	/* A client that spoke before it could have read the greeting is
	 * not a mail client (Postfix's postscreen calls it PREGREET). */
	if (s->port->kind != PORT_SMTPS &&
	    ioctl(s->conn.io.fd, FIONREAD, &pending) == 0 && pending > 0) {
		s->state = ST_GREET;
		conn_read(&s->conn);
		return;
	}
	s->state = ST_CMD;
	reply(s, "220 %s ESMTP authd-smtpd", smtpd.set->hostname);
	arm_timer(s);
}

static void
tls_ready(struct conn *c)
{
	struct session *s = (struct session *)c;

	if (s->state == ST_TLS) {
		s->state = ST_CMD;
		reply(s, "220 %s ESMTP authd-smtpd", smtpd.set->hostname);
	}
}

static void
session_closed(struct conn *c)
{
	struct session *s = (struct session *)c;

	loop_timer_cancel(smtpd.loop, &s->timer);
	if (!s->quitting && s->state != ST_GREET)
		log_info("disconnect from %s after %s", s->client,
			 smtp_verb_name(s->last));
	if (s->auth != NULL) {
		authd_session_free(s->auth);
		s->auth = NULL;
	}
	relay_free(s->relay);
	s->relay = NULL;
	check_free(s);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	smtpd.n_sessions--;
}

static void
session_free(struct conn *c)
{
	struct session *s = (struct session *)c;

	reset_transaction(s);
	buf_free(&s->prepend);
	free(s->helo);
	if (s->sasl_user != NULL)
		secret_wipe(s->sasl_user, strlen(s->sasl_user));
	free(s->sasl_user);
	free(s);
}

static void
addr_of(const struct sockaddr_storage *ss, char *ip, size_t iplen,
	unsigned int *port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &a->sin_addr, ip, (socklen_t)iplen);
		*port = ntohs(a->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &a->sin6_addr, ip, (socklen_t)iplen);
		/* ::ffff:192.0.2.7 is 192.0.2.7 to logs and maps. */
		if (strncmp(ip, "::ffff:", 7) == 0 && strchr(ip, '.') != NULL)
			memmove(ip, ip + 7, strlen(ip + 7) + 1);
		*port = ntohs(a->sin6_port);
	} else {
		snprintf(ip, iplen, "unknown");
		*port = 0;
	}
}

/* Refusals at accept: one write to a fresh socket, never blocking. */
static const char busy_all[] = "421 4.7.0 Error: too many connections\r\n";
static const char busy_one[] =
	"421 4.7.0 Error: too many connections from your address\r\n";

void
session_accept(int fd, const struct listen_addr *la)
{
	const struct smtpd_settings *set = smtpd.set;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct session *s, *o;
	unsigned int same = 0;

	s = xcalloc(1, sizeof(*s));
	s->port = la;
	s->id = ++smtpd.next_id;
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
		addr_of(&ss, s->client_ip, sizeof(s->client_ip), &s->client_port);
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		addr_of(&ss, s->local_ip, sizeof(s->local_ip), &s->local_port);
	(void)net_addr_parse(s->client_ip, strlen(s->client_ip), &s->client_addr);
	/* No reverse DNS (the loop never waits for DNS): "unknown", as
	 * Postfix names a client without a verified name. */
	snprintf(s->client, sizeof(s->client), "unknown[%s]", s->client_ip);

	if (smtpd.n_sessions >= set->max_connections) {
		static uint64_t last_log;

		if (loop_now(smtpd.loop) - last_log > 10000 || last_log == 0) {
			log_warnx("warning: max_connections (%u) reached; "
				  "refusing %s", set->max_connections, s->client);
			last_log = loop_now(smtpd.loop);
		}
		(void)!write(fd, busy_all, sizeof(busy_all) - 1);
		close(fd);
		free(s);
		return;
	}
	for (o = sessions; o != NULL; o = o->next)
		if (strcmp(o->client_ip, s->client_ip) == 0)
			same++;
	if (same >= set->max_per_client) {
		log_warnx("warning: Connection concurrency limit exceeded: %u "
			  "from %s", same + 1, s->client);
		(void)!write(fd, busy_one, sizeof(busy_one) - 1);
		close(fd);
		free(s);
		return;
	}

	conn_init(&s->conn, smtpd.loop, fd, &session_ops,
		  (size_t)set->auth_line_limit + 2, 256 * 1024);
	loop_timer_init(&s->timer, session_timer);
	s->session_end = loop_now(smtpd.loop) + set->session_timeout_ms;
	s->next = sessions;
	if (sessions != NULL)
		sessions->prev = s;
	sessions = s;
	smtpd.n_sessions++;
	log_info("connect from %s to [%s]:%u", s->client, s->local_ip,
		 s->local_port);
	if (!conn_watch(&s->conn)) {
		conn_close(&s->conn);
		return;
	}
	if (la->kind == PORT_SMTPS) {
		s->tls = true;
		s->state = ST_TLS;
		if (!tls_start(&s->conn, set->tls_server, true, s->client,
			       tls_ready)) {
			conn_close(&s->conn);
			return;
		}
		arm_timer(s);
		return;
	}
	s->state = ST_GREET;
	if (set->greet_pause_ms > 0)
		loop_timer_set(smtpd.loop, &s->timer, set->greet_pause_ms);
	else
		send_greeting(s);
}

void
session_worker_init(void)
{
	size_t i, k;

	/* A policy server's inet host is resolved when it is made: now,
	 * before serving, not on the loop at the first RCPT. */
	for (i = 0; i < 5; i++)
		for (k = 0; k < rcpt_list(i)->n; k++)
			if (rcpt_list(i)->v[k].kind == RESTR_CHECK_POLICY_SERVICE)
				(void)policy_server(rcpt_list(i)->v[k].arg);
}

void
session_close_all(void)
{
	while (sessions != NULL) {
		struct session *s = sessions;

		if (!s->quitting) {
			reply(s, "421 4.3.2 %s Service shutting down",
			      smtpd.set->hostname);
			conn_write(&s->conn);
		}
		conn_close(&s->conn);
	}
}
