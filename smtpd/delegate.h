/*
 * delegate - the client of Postfix's SMTPD policy delegation protocol
 * (SMTPD_POLICY_README): `check_policy_service unix:/path` and
 * `check_policy_service inet:host:port`.
 *
 * One struct delegate is one policy server, per worker: one connection,
 * made without blocking and reused across requests.  The protocol is
 * strictly request/response on that connection, so requests queue in
 * the order they were asked and one is in flight at a time.  A request
 * is `name=value` lines and an empty line (the attribute set Postfix 3.7
 * sends, in its order: delegate_request_format); the reply is
 * `action=...` and an empty line.
 *
 * A request gets the configured default action (Postfix's
 * smtpd_policy_service_default_action, "451 4.3.5 Server configuration
 * problem") when the server cannot be reached, closes or stalls, its
 * reply is malformed or lacks an action, or its deadline passes: every
 * request has `timeout_ms` from delegate_ask to its answer, connecting
 * and waiting in the queue included, so a hung server delays each
 * session by at most that.  A request that finds a reused connection
 * closed under it (the server's idle timeout racing our write) is sent
 * once more on a new connection, as Postfix's attr_clnt does.
 *
 * Actions (access(5), as Postfix's check_table_result reads them, case
 * insensitive):
 *   DUNNO                  DELEGATE_DUNNO: no opinion, go on
 *   OK, RELAY, all digits  DELEGATE_OK: permit (ends this list)
 *   REJECT [text]          DELEGATE_REJECT, 554 5.7.1 (access_map_reject_code)
 *   DEFER [text]           DELEGATE_REJECT, 450 4.7.1 (access_map_defer_code)
 *   4NN text, 5NN text     DELEGATE_REJECT with that code; 421 and 521
 *                          also set disconnect (Postfix hangs up after)
 *   DEFER_IF_PERMIT [text] DELEGATE_DEFER_IF_PERMIT, 450 4.7.1
 *   DEFER_IF_REJECT [text] DELEGATE_DEFER_IF_REJECT, 450 4.7.1
 *   PREPEND header: value  DELEGATE_PREPEND (header in prepend; go on)
 *   WARN [text], INFO [text]  DELEGATE_WARN / DELEGATE_INFO: log, go on
 *   HOLD, DISCARD, FILTER, REDIRECT, BCC  need a queue, which the gate
 *                          has not: logged and taken as DUNNO, exactly
 *                          what Postfix does with smtpd_proxy_filter
 *   anything else (a restriction name, a map)  451 4.3.5 Server
 *                          configuration error, logged (Postfix
 *                          evaluates restriction names; we do not)
 * Reply text may start with an RFC 3463 status ("REJECT 5.7.0 no"); its
 * class is forced to the reply code's.  Without text the generic one is
 * used ("Access denied"; "Service unavailable" for DEFER_IF_*).
 *
 * Untrusted input: every byte from the policy server (framing bounded:
 * DELEGATE_LINE_MAX per line, DELEGATE_LINES_MAX lines, one reply at
 * most DELEGATE_REPLY_MAX; the action text may not hold control bytes
 * or bad UTF-8 and is cut to fit), and the request's attribute values,
 * which come from the client (HELO name, addresses, SASL name): a value
 * with a line break of any kind or another control byte is refused,
 * never sent, so no client can add an attribute to the request.
 * Nothing here logs a request's values.
 */
#ifndef AUTHD_SMTPD_DELEGATE_H
#define AUTHD_SMTPD_DELEGATE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "loop.h"

#define DELEGATE_LINE_MAX	4096	/* one reply line, with its LF */
#define DELEGATE_LINES_MAX	32	/* lines in one reply */
#define DELEGATE_REPLY_MAX	(16 * 1024)	/* one reply */
#define DELEGATE_VALUE_MAX	2048	/* one request attribute value */
#define DELEGATE_QUEUE_MAX	4096	/* requests waiting per server */
#define DELEGATE_TEXT_MAX	400	/* reply text, with its NUL */
#define DELEGATE_HEADER_MAX	1000	/* a PREPEND header: 998 + NUL */
/* Postfix's access_map_reject_code and access_map_defer_code. */
#define DELEGATE_REJECT_CODE	554
#define DELEGATE_DEFER_CODE	450
#define DELEGATE_DEFAULT_ACTION	"451 4.3.5 Server configuration problem"

enum delegate_verdict {
	DELEGATE_DUNNO,
	DELEGATE_OK,
	DELEGATE_REJECT,		/* code, dsn, text: refuse */
	DELEGATE_DEFER_IF_PERMIT,	/* code, dsn, text: refuse if the
					 * lists would end in a permit */
	DELEGATE_DEFER_IF_REJECT,	/* code, dsn, text: a later reject
					 * becomes this */
	DELEGATE_PREPEND,		/* prepend: add this header line */
	DELEGATE_WARN,			/* text: log it, go on */
	DELEGATE_INFO,			/* text: log it, go on */
};

struct delegate_action {
	enum delegate_verdict verdict;
	unsigned int code;		/* 4xx/5xx for REJECT, DEFER_IF_* */
	char dsn[12];			/* "5.7.1", class matching code */
	char text[DELEGATE_TEXT_MAX];	/* the text without the status, or
					 * the generic one; printable, UTF-8 */
	char prepend[DELEGATE_HEADER_MAX];	/* "Name: value" */
	bool disconnect;		/* 421 or 521: hang up after the
					 * reply */
	bool defaulted;			/* not the server's answer: the
					 * default action */
};

/* What a request says.  NULL strings are sent empty, except client_name
 * and reverse_client_name, which are sent as "unknown" (Postfix's word
 * for a client without a verified name).  The caller fills them as
 * Postfix's smtpd does: protocol_state is the command being checked
 * ("CONNECT", "EHLO", "HELO", "MAIL", "RCPT", "DATA", "END-OF-MESSAGE",
 * "VRFY", "ETRN"); recipient_count is non-zero only in DATA and
 * END-OF-MESSAGE; instance is one id per mail transaction
 * (delegate_instance); size is MAIL's SIZE= or, at END-OF-MESSAGE, the
 * real size; ccert_subject and ccert_issuer are the certificate's CNs as
 * they are (they are xtext-encoded here, as Postfix does); stress is ""
 * or "yes". */
struct delegate_query {
	const char *protocol_state;
	const char *protocol_name;	/* "SMTP" or "ESMTP" */
	const char *client_address;
	const char *client_name;
	const char *client_port;
	const char *reverse_client_name;
	const char *server_address;
	const char *server_port;
	const char *helo_name;
	const char *sender;		/* without <>; "" for the null one */
	const char *recipient;
	unsigned int recipient_count;
	const char *queue_id;
	const char *instance;
	unsigned long long size;
	const char *etrn_domain;
	const char *stress;
	const char *sasl_method;
	const char *sasl_username;
	const char *sasl_sender;
	const char *ccert_subject;
	const char *ccert_issuer;
	const char *ccert_fingerprint;
	const char *ccert_pubkey_fingerprint;
	const char *encryption_protocol;
	const char *encryption_cipher;
	unsigned int encryption_keysize;
};

/* One policy server's settings (Postfix's smtpd_policy_service_*). */
struct delegate_conf {
	unsigned int timeout_ms;	/* _timeout: ask to answer (100 s) */
	unsigned int max_idle_ms;	/* _max_idle: close an idle
					 * connection after (300 s) */
	unsigned int max_ttl_ms;	/* _max_ttl: no new request on a
					 * connection older than (1000 s) */
	const char *default_action;	/* _default_action */
	const char *policy_context;	/* _policy_context (may be NULL) */
};

struct delegate;
struct delegate_req;

/* delegate_cb - the answer to one delegate_ask: called exactly once per
 * request that was not cancelled, never from inside delegate_ask; the
 * requests that were sent are answered in the order asked.  The action
 * is valid during the call only; the request handle is gone once the
 * call starts. */
typedef void delegate_cb(void *arg, const struct delegate_action *a);

/* delegate_conf_defaults - Postfix's defaults into *conf. */
void delegate_conf_defaults(struct delegate_conf *conf);

/* delegate_new - a policy server on loop l, not connected yet.  spec is
 * "unix:/absolute/path" or "inet:host:port" (host a name or address,
 * [brackets] allowed; resolved now, at start-up: a blocking look-up).
 * The strings of conf are copied.  NULL and *errmsg_r (allocated) for a
 * bad spec or default action. */
struct delegate *delegate_new(struct loop *l, const char *spec,
			      const struct delegate_conf *conf,
			      char **errmsg_r);
/* delegate_free - close the connection; requests still pending are
 * dropped, their callbacks never called and their handles invalid (a
 * session that may still cancel must do so first).  Callable from a
 * callback.  NULL is fine. */
void delegate_free(struct delegate *d);
/* delegate_name - the spec, for logs. */
const char *delegate_name(const struct delegate *d);

/* delegate_ask - send q (copied now) when the connection is free; cb
 * gets the answer.  Returns a handle for delegate_cancel, valid until cb
 * is called.  A query with a value delegate_request_format refuses is
 * not sent: it is answered with the default action (and logged). */
struct delegate_req *delegate_ask(struct delegate *d,
				  const struct delegate_query *q,
				  delegate_cb *cb, void *arg);
/* delegate_cancel - cb will not be called (the session went away).  A
 * request already sent still has its reply read, and dropped. */
void delegate_cancel(struct delegate_req *r);

/* delegate_instance - a new transaction id for delegate_query.instance,
 * unique in this host for the life of the process ("pid.count.time"
 * in hex, like Postfix's). */
void delegate_instance(char *out, size_t outlen);

/* delegate_reply_text - for REJECT and DEFER_IF_*: the reply text after
 * the code, as Postfix words it: "5.7.1 <name>: Class rejected: text"
 * (name e.g. the recipient, or "unknown[192.0.2.1]"; class e.g.
 * "Recipient address", "Client host").  Cut to outlen. */
void delegate_reply_text(const struct delegate_action *a, const char *name,
			 const char *class, char *out, size_t outlen);

/* --- the codecs, for the tests and the fuzz target --- */

/* delegate_request_format - q as a request (attribute lines and the
 * empty line) appended to out.  NULL, or the name of the refused
 * attribute (static; a value with a control byte, a line break -
 * U+0085, U+2028 and U+2029 included - or more than DELEGATE_VALUE_MAX
 * bytes), or "out of memory"; out is then as it was, or failed.
 * policy_context may be NULL. */
const char *delegate_request_format(const struct delegate_query *q,
				    const char *policy_context,
				    struct buf *out);

enum delegate_reply_status {
	DELEGATE_REPLY_MORE,		/* incomplete: read more */
	DELEGATE_REPLY_DONE,		/* one reply, *used_r bytes */
	DELEGATE_REPLY_BAD,		/* broken framing: close */
};

/* delegate_reply_parse - one reply from (p, n): lines up to an empty
 * line (LF ends a line; one CR before it is dropped).  DONE with the
 * value of the first "action" attribute in (*action_r, *action_len_r),
 * or *action_r NULL when there was none; other attributes are skipped,
 * as Postfix does.  BAD for a line longer than DELEGATE_LINE_MAX or more
 * than DELEGATE_LINES_MAX lines (also before they are complete). */
enum delegate_reply_status delegate_reply_parse(const char *p, size_t n,
						size_t *used_r,
						const char **action_r,
						size_t *action_len_r);

enum delegate_action_status {
	DELEGATE_ACTION_OK,		/* *a is the action */
	DELEGATE_ACTION_WARN,		/* *a is what to do (DUNNO, or 451
					 * 4.3.5), *reason_r why: log it */
	DELEGATE_ACTION_BAD,		/* unusable (empty, control byte,
					 * bad UTF-8): *reason_r; use the
					 * default action */
};

/* delegate_action_parse - an action value (s, n) into *a (defaulted
 * false); *reason_r is a static string for WARN and BAD. */
enum delegate_action_status delegate_action_parse(const char *s, size_t n,
						  struct delegate_action *a,
						  const char **reason_r);

#endif
