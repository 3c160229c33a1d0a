/*
 * restrict - Postfix-shaped restriction lists: the words of
 * smtpd_client_restrictions, smtpd_helo_restrictions,
 * smtpd_sender_restrictions, smtpd_relay_restrictions and
 * smtpd_recipient_restrictions, evaluated left to right, the first
 * PERMIT, REJECT or DEFER winning, DUNNO (the end of the list) meaning
 * "no objection".  One check/decide module (OpenSMTPD's smtp_check_*
 * idea): the SMTP session asks, this answers with the reply to send.
 *
 * Restrictions: permit_mynetworks, permit_sasl_authenticated,
 * reject_unauth_destination, reject_sender_login_mismatch,
 * check_client_access MAP, check_helo_access MAP, check_sender_access
 * MAP, check_recipient_access MAP, permit, reject, defer, and three that
 * need an answer from elsewhere: reject_rbl_client ZONE[=A],
 * reject_rhsbl_sender ZONE[=A] (DNS) and check_policy_service
 * unix:PATH|inet:HOST:PORT (Postfix's policy delegation).  restr_eval_from
 * stops at those (RESTR_PENDING): the session asks, then hands the
 * answer to restr_rbl_reply / restr_policy_reply and evaluates on from
 * the next restriction.
 *
 * Untrusted input: the configuration (a clear error), and everything the
 * client said (already parsed by proto/smtp.h).
 */
#ifndef AUTHD_SMTPD_RESTRICT_H
#define AUTHD_SMTPD_RESTRICT_H

#include <stdbool.h>
#include <stddef.h>

#include "map.h"
#include "net.h"
#include "smtp.h"

enum restr_kind {
	RESTR_PERMIT_MYNETWORKS, RESTR_PERMIT_SASL_AUTHENTICATED,
	RESTR_REJECT_UNAUTH_DESTINATION, RESTR_REJECT_SENDER_LOGIN_MISMATCH,
	RESTR_CHECK_CLIENT_ACCESS, RESTR_CHECK_HELO_ACCESS,
	RESTR_CHECK_SENDER_ACCESS, RESTR_CHECK_RECIPIENT_ACCESS,
	RESTR_PERMIT, RESTR_REJECT, RESTR_DEFER,
	RESTR_REJECT_RBL_CLIENT, RESTR_REJECT_RHSBL_SENDER,
	RESTR_CHECK_POLICY_SERVICE,
};

struct restr {
	enum restr_kind kind;
	struct map *map;		/* check_*_access */
	char *arg;			/* the zone, or the policy service */
	char *want;			/* "=A" of a zone, NULL for any */
};

struct restr_list {
	struct restr *v;
	size_t n;
};

/* restr_list_parse - the words of a list value (maps are loaded now:
 * they are read as root, before privileges drop).  NULL and *errmsg_r
 * (allocated, naming key) on an unknown word or an unreadable map. */
bool restr_list_parse(const char *key, const char *text, struct restr_list *l,
		      char **errmsg_r);
void restr_list_free(struct restr_list *l);

/* restr_relay_safe - Postfix's open-relay guard: the relay and recipient
 * lists, taken in the order they run, must reach
 * reject_unauth_destination (or an unconditional reject or defer) before
 * any unconditional permit; otherwise the reason, naming the key at
 * fault.  NULL when safe. */
const char *restr_relay_safe(const struct restr_list *relay,
			     const struct restr_list *rcpt, char **errmsg_r);

/* What the lists look at, fixed by the configuration. */
struct restr_env {
	const struct net_list *mynetworks;
	const struct net_list *own_addrs;	/* our IP literals */
	char *const *domains;			/* relay and local domains */
	size_t n_domains;
	bool subdomains;			/* a domain covers its subdomains */
	const struct map *sender_login;		/* address -> owners */
};

/* What they look at in this session and transaction. */
struct restr_state {
	const char *client_text;		/* the address, as text */
	struct net_addr client;
	const char *helo;			/* NULL before EHLO/HELO */
	const char *sasl_user;			/* NULL unless authenticated */
	const struct smtp_addr *sender;		/* NULL before MAIL */
	const struct smtp_addr *rcpt;		/* NULL before RCPT */
};

enum restr_verdict { RESTR_DUNNO, RESTR_OK, RESTR_REFUSE, RESTR_PENDING };

struct restr_reply {
	enum restr_verdict verdict;
	unsigned int code;		/* 4xx or 5xx when refused */
	char text[400];			/* "5.7.1 <...>: Relay access denied" */
};

/* restr_eval - run the list; reply tells the verdict and, when refused,
 * the reply to send.  Restrictions that need an answer from elsewhere
 * count as DUNNO here (for callers that cannot wait). */
void restr_eval(const struct restr_list *l, const struct restr_env *env,
		const struct restr_state *st, struct restr_reply *reply);
/* restr_eval_from - run the list from restriction from on; at one that
 * needs an answer from elsewhere, stop with RESTR_PENDING and its index
 * in *at_r. */
void restr_eval_from(const struct restr_list *l, size_t from,
		     const struct restr_env *env, const struct restr_state *st,
		     struct restr_reply *reply, size_t *at_r);
/* restr_rbl_reply - a DNS list's hit for restriction x (an
 * reject_rbl_client or reject_rhsbl_sender), as Postfix words it: "554
 * 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using ZONE;
 * TXT" (what: the address or domain looked up; txt may be ""). */
void restr_rbl_reply(const struct restr *x, const char *what, const char *txt,
		     struct restr_reply *reply);
/* restr_policy_reply - a policy server's action= text (access(5)
 * actions: OK, DUNNO, REJECT/DEFER [text], 4NN/5NN text) as a verdict
 * for the recipient what; an action it cannot read is a 451 4.3.5. */
void restr_policy_reply(const char *action, const char *what,
			struct restr_reply *reply);

/* restr_domain_ours - whether domain is one of env's domains (or a
 * subdomain of one, when env->subdomains). */
bool restr_domain_ours(const struct restr_env *env, const char *domain);

#endif
