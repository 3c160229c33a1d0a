/*
 * restrict - restriction lists.  See restrict.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "restrict.h"
#include "xalloc.h"

enum restr_argtype { ARG_NONE, ARG_MAP, ARG_ZONE, ARG_SERVICE };

static const struct {
	const char *name;
	enum restr_kind kind;
	enum restr_argtype arg;
} words[] = {
	{ "permit_mynetworks", RESTR_PERMIT_MYNETWORKS, ARG_NONE },
	{ "permit_sasl_authenticated", RESTR_PERMIT_SASL_AUTHENTICATED, ARG_NONE },
	{ "reject_unauth_destination", RESTR_REJECT_UNAUTH_DESTINATION, ARG_NONE },
	{ "reject_sender_login_mismatch", RESTR_REJECT_SENDER_LOGIN_MISMATCH,
	  ARG_NONE },
	{ "check_client_access", RESTR_CHECK_CLIENT_ACCESS, ARG_MAP },
	{ "check_helo_access", RESTR_CHECK_HELO_ACCESS, ARG_MAP },
	{ "check_sender_access", RESTR_CHECK_SENDER_ACCESS, ARG_MAP },
	{ "check_recipient_access", RESTR_CHECK_RECIPIENT_ACCESS, ARG_MAP },
	{ "permit", RESTR_PERMIT, ARG_NONE },
	{ "reject", RESTR_REJECT, ARG_NONE },
	{ "defer", RESTR_DEFER, ARG_NONE },
	{ "reject_rbl_client", RESTR_REJECT_RBL_CLIENT, ARG_ZONE },
	{ "reject_rhsbl_sender", RESTR_REJECT_RHSBL_SENDER, ARG_ZONE },
	{ "check_policy_service", RESTR_CHECK_POLICY_SERVICE, ARG_SERVICE },
};

/* zone_arg - "zone" or "zone=127.0.0.N": an LDH domain, and an IPv4
 * address (or Postfix's "127.0.0.[2..11]" range, kept as text). */
static const char *
zone_arg(const char *w, struct restr *r)
{
	const char *eq = strchr(w, '=');
	size_t zn = eq != NULL ? (size_t)(eq - w) : strlen(w);

	if (zn == 0 || !smtp_domain_ok(w, zn) || w[0] == '[')
		return "is not a DNS zone";
	if (eq != NULL) {
		const char *a = eq + 1;
		size_t i;

		if (*a == '\0')
			return "has \"=\" without an address";
		for (i = 0; a[i] != '\0'; i++)
			if (!((a[i] >= '0' && a[i] <= '9') || a[i] == '.' ||
			      a[i] == '[' || a[i] == ']'))
				return "wants an address like 127.0.0.2 or "
				       "127.0.0.[2..11]";
		r->want = xstrdup(a);
	}
	r->arg = xstrndup(w, zn);
	return NULL;
}

/* service_arg - "unix:/path" or "inet:host:port". */
static const char *
service_arg(const char *w, struct restr *r)
{
	if (strncmp(w, "unix:/", 6) != 0 &&
	    !(strncmp(w, "inet:", 5) == 0 && strchr(w + 5, ':') != NULL))
		return "wants unix:/path or inet:host:port";
	r->arg = xstrdup(w);
	return NULL;
}

void
restr_list_free(struct restr_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		map_free(l->v[i].map);
		free(l->v[i].arg);
		free(l->v[i].want);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

bool
restr_list_parse(const char *key, const char *text, struct restr_list *l,
		 char **errmsg_r)
{
	size_t n_words, i, k;
	char **w = config_split(text, &n_words);

	l->v = NULL;
	l->n = 0;
	for (i = 0; i < n_words; i++) {
		struct restr r = { RESTR_PERMIT, NULL, NULL, NULL };

		for (k = 0; k < sizeof(words) / sizeof(words[0]); k++)
			if (strcasecmp(w[i], words[k].name) == 0)
				break;
		if (k == sizeof(words) / sizeof(words[0])) {
			*errmsg_r = xasprintf("%s: unknown restriction \"%s\"",
					      key, w[i]);
			goto fail;
		}
		r.kind = words[k].kind;
		if (words[k].arg != ARG_NONE && i + 1 == n_words) {
			*errmsg_r = xasprintf("%s: %s needs %s", key,
					      words[k].name,
					      words[k].arg == ARG_MAP ?
					      "a map file" :
					      words[k].arg == ARG_ZONE ?
					      "a DNS zone" : "a service");
			goto fail;
		}
		if (words[k].arg == ARG_MAP) {
			char *why = NULL;

			if ((r.map = map_load(w[++i], &why)) == NULL) {
				*errmsg_r = xasprintf("%s: %s", key, why);
				free(why);
				goto fail;
			}
		} else if (words[k].arg != ARG_NONE) {
			const char *why = words[k].arg == ARG_ZONE ?
					  zone_arg(w[++i], &r) :
					  service_arg(w[++i], &r);

			if (why != NULL) {
				*errmsg_r = xasprintf("%s: %s \"%s\" %s", key,
						      words[k].name, w[i], why);
				goto fail;
			}
		}
		l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
		l->v[l->n++] = r;
	}
	config_split_free(w, n_words);
	return true;
fail:
	config_split_free(w, n_words);
	restr_list_free(l);
	return false;
}

/* guard - a restriction that stops a stranger's relaying by itself. */
static bool
guard(enum restr_kind k)
{
	return k == RESTR_REJECT_UNAUTH_DESTINATION || k == RESTR_REJECT ||
	       k == RESTR_DEFER;
}

const char *
restr_relay_safe(const struct restr_list *relay, const struct restr_list *rcpt,
		 char **errmsg_r)
{
	const struct restr_list *lists[2] = { relay, rcpt };
	static const char *const keys[2] = { "smtpd_relay_restrictions",
					     "smtpd_recipient_restrictions" };
	size_t i, k;

	for (k = 0; k < 2; k++)
		for (i = 0; i < lists[k]->n; i++) {
			if (guard(lists[k]->v[i].kind))
				return NULL;
			if (lists[k]->v[i].kind == RESTR_PERMIT) {
				*errmsg_r = xasprintf("%s: \"permit\" (word %zu) comes "
						      "before reject_unauth_destination: "
						      "this would relay mail for anyone",
						      keys[k], i + 1);
				return *errmsg_r;
			}
		}
	*errmsg_r = xasprintf("neither smtpd_relay_restrictions nor "
			      "smtpd_recipient_restrictions contains "
			      "reject_unauth_destination (or reject/defer): this "
			      "would relay mail for anyone");
	return *errmsg_r;
}

bool
restr_domain_ours(const struct restr_env *env, const char *domain)
{
	size_t i, n = strlen(domain);

	for (i = 0; i < env->n_domains; i++) {
		const char *d = env->domains[i];
		size_t dn = strlen(d);

		if (strcasecmp(domain, d) == 0)
			return true;
		/* sub.example.org under example.org, never badexample.org. */
		if (env->subdomains && n > dn && domain[n - dn - 1] == '.' &&
		    strcasecmp(domain + n - dn, d) == 0)
			return true;
	}
	return false;
}

static void
refuse(struct restr_reply *r, unsigned int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
refuse(struct restr_reply *r, unsigned int code, const char *fmt, ...)
{
	va_list ap;

	r->verdict = RESTR_REFUSE;
	r->code = code;
	va_start(ap, fmt);
	(void)vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
}

/* addr_text - "<local@domain>" for replies (parsed addresses hold no
 * control characters). */
static void
addr_text(const struct smtp_addr *a, char *out, size_t n)
{
	if (a->null)
		snprintf(out, n, "<>");
	else if (a->quoted)
		/* Quoted again, or "<a@b@c>" would hide which @ is real. */
		snprintf(out, n, "<\"%s\"@%s>", a->local, a->domain);
	else if (a->domain_len == 0)
		snprintf(out, n, "<%s>", a->local);
	else
		snprintf(out, n, "<%s@%s>", a->local, a->domain);
}

/* action - a map value as Postfix's access(5) reads it. */
static void
action(const char *v, const char *what, struct restr_reply *r)
{
	size_t n = strcspn(v, " \t");
	const char *text = v + n + strspn(v + n, " \t");

	if ((n == 2 && strncasecmp(v, "OK", 2) == 0) ||
	    (n == 6 && strncasecmp(v, "PERMIT", 6) == 0)) {
		r->verdict = RESTR_OK;
	} else if (n == 5 && strncasecmp(v, "DUNNO", 5) == 0) {
		r->verdict = RESTR_DUNNO;
	} else if (n == 6 && strncasecmp(v, "REJECT", 6) == 0) {
		refuse(r, 554, "5.7.1 %s: %s", what,
		       *text != '\0' ? text : "Access denied");
	} else if (n == 5 && strncasecmp(v, "DEFER", 5) == 0) {
		refuse(r, 450, "4.7.1 %s: %s", what,
		       *text != '\0' ? text : "Try again later");
	} else if (n == 3 && (v[0] == '4' || v[0] == '5') &&
		   v[1] >= '0' && v[1] <= '9' && v[2] >= '0' && v[2] <= '9') {
		refuse(r, (unsigned int)(v[0] - '0') * 100 +
		       (unsigned int)(v[1] - '0') * 10 + (unsigned int)(v[2] - '0'),
		       "%c.7.1 %s: %s", v[0], what,
		       *text != '\0' ? text : "Access denied");
	} else {
		/* A typo in a map must not let mail through, nor bounce it. */
		refuse(r, 451, "4.3.5 %s: Server configuration error", what);
	}
}

/* owns - whether user is among the owners (space/comma list). */
static bool
owns(const char *owners, const char *user)
{
	size_t un = strlen(user);

	while (*owners != '\0') {
		size_t n;

		owners += strspn(owners, " ,\t");
		n = strcspn(owners, " ,\t");
		if (n == un && n > 0 && strncasecmp(owners, user, n) == 0)
			return true;
		owners += n;
	}
	return false;
}

/* one - a single restriction. */
static void
one(const struct restr *x, const struct restr_env *env,
    const struct restr_state *st, struct restr_reply *r)
{
	char what[SMTP_LOCAL_MAX + SMTP_DOMAIN_MAX + 8];
	const char *v;

	r->verdict = RESTR_DUNNO;
	switch (x->kind) {
	case RESTR_PERMIT_MYNETWORKS:
		if (net_list_match(env->mynetworks, &st->client))
			r->verdict = RESTR_OK;
		break;
	case RESTR_PERMIT_SASL_AUTHENTICATED:
		if (st->sasl_user != NULL)
			r->verdict = RESTR_OK;
		break;
	case RESTR_REJECT_UNAUTH_DESTINATION: {
		const struct smtp_addr *a = st->rcpt;
		bool ours;
		struct net_addr lit;

		if (a == NULL)
			break;
		/* <postmaster> without a domain is always ours (RFC 5321
		 * §4.5.1); an IP literal only when it is one of our
		 * addresses. */
		if (a->domain_len == 0)
			ours = true;
		else if (!a->ip_literal)
			ours = restr_domain_ours(env, a->domain);
		else if (strncmp(a->domain, "[ipv6:", 6) == 0)
			ours = net_addr_parse(a->domain + 6, a->domain_len - 7,
					      &lit) &&
			       net_list_match(env->own_addrs, &lit);
		else
			ours = net_addr_parse(a->domain, a->domain_len, &lit) &&
			       net_list_match(env->own_addrs, &lit);
		if (!ours || smtp_addr_routed(a)) {
			addr_text(a, what, sizeof(what));
			refuse(r, 554, "5.7.1 %s: Relay access denied", what);
		}
		break;
	}
	case RESTR_REJECT_SENDER_LOGIN_MISMATCH:
		if (st->sender == NULL || st->sender->null)
			break;
		v = map_lookup_addr(env->sender_login, st->sender);
		addr_text(st->sender, what, sizeof(what));
		if (st->sasl_user == NULL && v != NULL)
			refuse(r, 553, "5.7.1 %s: Sender address rejected: not "
			       "logged in", what);
		else if (st->sasl_user != NULL &&
			 (v == NULL || !owns(v, st->sasl_user)))
			refuse(r, 553, "5.7.1 %s: Sender address rejected: not "
			       "owned by user %s", what, st->sasl_user);
		break;
	case RESTR_CHECK_CLIENT_ACCESS:
		if ((v = map_lookup_client(x->map, st->client_text,
					   &st->client)) != NULL) {
			snprintf(what, sizeof(what), "%s", st->client_text);
			action(v, what, r);
		}
		break;
	case RESTR_CHECK_HELO_ACCESS:
		if (st->helo != NULL &&
		    (v = map_lookup_domain(x->map, st->helo,
					   strlen(st->helo))) != NULL) {
			snprintf(what, sizeof(what), "<%s>", st->helo);
			action(v, what, r);
		}
		break;
	case RESTR_CHECK_SENDER_ACCESS:
	case RESTR_CHECK_RECIPIENT_ACCESS: {
		const struct smtp_addr *a = x->kind == RESTR_CHECK_SENDER_ACCESS ?
					    st->sender : st->rcpt;

		if (a != NULL && (v = map_lookup_addr(x->map, a)) != NULL) {
			addr_text(a, what, sizeof(what));
			action(v, what, r);
		}
		break;
	}
	case RESTR_PERMIT:
		r->verdict = RESTR_OK;
		break;
	case RESTR_REJECT:
		refuse(r, 554, "5.7.1 Access denied");
		break;
	case RESTR_DEFER:
		refuse(r, 450, "4.7.1 Try again later");
		break;
	case RESTR_REJECT_RBL_CLIENT:
	case RESTR_REJECT_RHSBL_SENDER:
	case RESTR_CHECK_POLICY_SERVICE:
		break;		/* asked elsewhere: restr_eval_from */
	}
}

static bool
is_async(enum restr_kind k)
{
	return k == RESTR_REJECT_RBL_CLIENT || k == RESTR_REJECT_RHSBL_SENDER ||
	       k == RESTR_CHECK_POLICY_SERVICE;
}

void
restr_eval_from(const struct restr_list *l, size_t from,
		const struct restr_env *env, const struct restr_state *st,
		struct restr_reply *reply, size_t *at_r)
{
	size_t i;

	memset(reply, 0, sizeof(*reply));
	for (i = from; i < l->n; i++) {
		if (is_async(l->v[i].kind)) {
			if (at_r == NULL)
				continue;
			reply->verdict = RESTR_PENDING;
			*at_r = i;
			return;
		}
		one(&l->v[i], env, st, reply);
		if (reply->verdict != RESTR_DUNNO)
			return;
	}
}

void
restr_eval(const struct restr_list *l, const struct restr_env *env,
	   const struct restr_state *st, struct restr_reply *reply)
{
	restr_eval_from(l, 0, env, st, reply, NULL);
}

void
restr_rbl_reply(const struct restr *x, const char *what, const char *txt,
		struct restr_reply *reply)
{
	memset(reply, 0, sizeof(*reply));
	if (x->kind == RESTR_REJECT_RBL_CLIENT)
		refuse(reply, 554, "5.7.1 Service unavailable; Client host "
		       "[%s] blocked using %s%s%s", what, x->arg,
		       *txt != '\0' ? "; " : "", txt);
	else
		refuse(reply, 554, "5.7.1 Service unavailable; Sender address "
		       "[%s] blocked using %s%s%s", what, x->arg,
		       *txt != '\0' ? "; " : "", txt);
}

void
restr_policy_reply(const char *act, const char *what, struct restr_reply *reply)
{
	memset(reply, 0, sizeof(*reply));
	action(act, what, reply);
}
