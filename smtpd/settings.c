/*
 * settings - smtpd.conf.  See settings.h; keep man/authd-smtpd.8 in step
 * with the table.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "authd.h"
#include "buf.h"
#include "build_config.h"
#include "proc.h"
#include "settings.h"
#include "tls.h"
#include "xalloc.h"

#define RELAY_DEFAULT "permit_mynetworks, permit_sasl_authenticated, " \
		      "reject_unauth_destination"

const struct config_key smtpd_keys[] = {
	/* Process. */
	{ "myhostname", CONFIG_STR, "", 0, 0, NULL },
	{ "user", CONFIG_STR, "authd-smtpd", 0, 0, NULL },
	{ "group", CONFIG_STR, "", 0, 0, NULL },
	{ "chroot", CONFIG_STR, "", 0, 0, NULL },
	{ "pid_file", CONFIG_STR, "/run/authd-smtpd.pid", 0, 0, NULL },
	{ "log_facility", CONFIG_ENUM, "mail", 0, 0, PROC_FACILITIES },
	{ "syslog_name", CONFIG_STR, "authd-smtpd", 0, 0, NULL },
	{ "worker_processes", CONFIG_UINT, "1", 1, 64, NULL },
	/* Listeners: "addr:port" words, [v6]:port. */
	{ "smtp_listen", CONFIG_STR, "", 0, 0, NULL },
	{ "submission_listen", CONFIG_STR, "", 0, 0, NULL },
	{ "smtps_listen", CONFIG_STR, "", 0, 0, NULL },
	/* AUTH through authd. */
	{ "auth_socket", CONFIG_STR, "/run/authd/auth", 0, 0, NULL },
	{ "auth_timeout", CONFIG_TIME, "30s", 1000, 600000, NULL },
	{ "smtpd_sasl_auth_enable", CONFIG_BOOL, "yes", 0, 0, NULL },
	{ "smtpd_sasl_security_options", CONFIG_STR,
	  "noanonymous, noplaintext", 0, 0, NULL },
	{ "smtpd_sasl_tls_security_options", CONFIG_STR, "noanonymous", 0, 0,
	  NULL },
	{ "smtpd_tls_auth_only", CONFIG_BOOL, "no", 0, 0, NULL },
	{ "broken_sasl_auth_clients", CONFIG_BOOL, "no", 0, 0, NULL },
	{ "smtpd_sasl_authenticated_header", CONFIG_BOOL, "no", 0, 0, NULL },
	/* TLS. */
	{ "smtpd_tls_cert_file", CONFIG_STR, "", 0, 0, NULL },
	{ "smtpd_tls_key_file", CONFIG_STR, "", 0, 0, NULL },
	/* Relay policy. */
	{ "mynetworks", CONFIG_STR, "127.0.0.0/8 [::1]/128", 0, 0, NULL },
	{ "mydestination", CONFIG_STR, "", 0, 0, NULL },
	{ "relay_domains", CONFIG_STR, "", 0, 0, NULL },
	{ "relay_domains_include_subdomains", CONFIG_BOOL, "no", 0, 0, NULL },
	/* Local delivery to Maildirs (Postfix: virtual_mailbox_*). */
	{ "local_domains", CONFIG_STR, "", 0, 0, NULL },
	{ "maildir_map", CONFIG_STR, "", 0, 0, NULL },
	{ "maildir_template", CONFIG_STR, "", 0, 0, NULL },
	{ "maildir_create", CONFIG_BOOL, "yes", 0, 0, NULL },
	{ "maildir_workers", CONFIG_UINT, "2", 1, 64, NULL },
	{ "smtpd_client_restrictions", CONFIG_STR, "", 0, 0, NULL },
	{ "smtpd_helo_restrictions", CONFIG_STR, "", 0, 0, NULL },
	{ "smtpd_sender_restrictions", CONFIG_STR, "", 0, 0, NULL },
	{ "smtpd_relay_restrictions", CONFIG_STR, RELAY_DEFAULT, 0, 0, NULL },
	{ "smtpd_recipient_restrictions", CONFIG_STR, "", 0, 0, NULL },
	{ "smtpd_sender_login_maps", CONFIG_STR, "", 0, 0, NULL },
	/* reject_rbl_client, reject_rhsbl_sender, check_policy_service. */
	{ "dns_resolver", CONFIG_STR, "", 0, 0, NULL },
	{ "rbl_lookup_timeout", CONFIG_TIME, "10s", 100, 60000, NULL },
	{ "rbl_lookup_failure", CONFIG_ENUM, "skip", 0, 0, "skip|defer" },
	{ "smtpd_policy_service_timeout", CONFIG_TIME, "100s", 100, 3600000,
	  NULL },
	{ "smtpd_policy_service_default_action", CONFIG_STR,
	  "451 4.3.5 Server configuration problem", 0, 0, NULL },
	/* The next hop. */
	{ "next_hop", CONFIG_STR, "", 0, 0, NULL },
	{ "next_hop_protocol", CONFIG_ENUM, "smtp", 0, 0, "smtp|lmtp" },
	{ "next_hop_tls_security_level", CONFIG_ENUM, "may", 0, 0,
	  "none|may|encrypt|verify" },
	{ "smtp_tls_CAfile", CONFIG_STR, "", 0, 0, NULL },
	{ "smtp_tls_CApath", CONFIG_STR, "", 0, 0, NULL },
	/* AUTH to the next hop: Postfix's smtp_sasl_* keys. */
	{ "smtp_sasl_auth_enable", CONFIG_BOOL, "no", 0, 0, NULL },
	{ "smtp_sasl_password_maps", CONFIG_STR, "", 0, 0, NULL },
	{ "smtp_sasl_mechanism_filter", CONFIG_STR,
	  "scram-sha-256 scram-sha-1 digest-md5 cram-md5 plain login", 0, 0,
	  NULL },
	{ "smtp_sasl_security_options", CONFIG_STR, "noanonymous, noplaintext",
	  0, 0, NULL },
	{ "smtp_sasl_tls_security_options", CONFIG_STR, "noanonymous", 0, 0,
	  NULL },
	{ "next_hop_connect_timeout", CONFIG_TIME, "30s", 100, 600000, NULL },
	{ "next_hop_timeout", CONFIG_TIME, "300s", 100, 3600000, NULL },
	{ "next_hop_data_done_timeout", CONFIG_TIME, "600s", 100, 3600000,
	  NULL },
	/* Limits. */
	{ "line_length_limit", CONFIG_UINT, "2048", 512, 65536, NULL },
	{ "text_line_limit", CONFIG_UINT, "0", 0, 1048576, NULL },
	{ "smtpd_sasl_response_limit", CONFIG_UINT, "12288", 12288, 1048576,
	  NULL },
	{ "smtpd_recipient_limit", CONFIG_UINT, "1000", 1, 100000, NULL },
	{ "message_size_limit", CONFIG_UINT, "10240000", 65536, 2147483647,
	  NULL },
	{ "smtpd_timeout", CONFIG_TIME, "300s", 100, 3600000, NULL },
	{ "smtpd_session_timeout", CONFIG_TIME, "3600s", 1000, 86400000,
	  NULL },
	{ "smtpd_greet_pause", CONFIG_TIME, "0", 0, 60000, NULL },
	{ "max_connections", CONFIG_UINT, "1000", 1, 1000000, NULL },
	{ "smtpd_client_connection_count_limit", CONFIG_UINT, "20", 1,
	  1000000, NULL },
	{ "smtpd_hard_error_limit", CONFIG_UINT, "20", 1, 1000, NULL },
	{ "smtpd_forbid_bare_newline", CONFIG_ENUM, "normalize", 0, 0,
	  "normalize|reject" },
	{ NULL, CONFIG_STR, NULL, 0, 0, NULL },
};

/* at - "FILE:LINE: key: reason" for a message about key's value. */
static char *at(const struct config *cfg, const char *path, const char *key,
		const char *fmt, const char *arg)
	__attribute__((format(printf, 4, 0)));

static char *
at(const struct config *cfg, const char *path, const char *key,
   const char *fmt, const char *arg)
{
	unsigned int line = config_line(cfg, key);
	char *why, *msg;

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	why = xasprintf(fmt, arg);
#pragma GCC diagnostic pop

	if (line != 0)
		msg = xasprintf("%s:%u: %s: %s", path, line, key, why);
	else
		msg = xasprintf("%s: %s (default): %s", path, key, why);
	free(why);
	return msg;
}

/* split_hostport - "addr:port", "[v6]:port"; false if malformed. */
static bool
split_hostport(const char *w, char *host, size_t hostlen, unsigned int *port)
{
	const char *colon;
	char *end;
	size_t n;
	unsigned long p;

	if (w[0] == '[') {
		const char *rb = strchr(w, ']');

		if (rb == NULL || rb[1] != ':')
			return false;
		n = (size_t)(rb - w - 1);
		w++;
		colon = rb + 1;
	} else {
		if ((colon = strrchr(w, ':')) == NULL)
			return false;
		n = (size_t)(colon - w);
		if (memchr(w, ':', n) != NULL)
			return false;	/* IPv6 needs brackets */
	}
	if (n == 0 || n >= hostlen)
		return false;
	memcpy(host, w, n);
	host[n] = '\0';
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || colon[1] == '\0' || p > 65535)
		return false;
	*port = (unsigned int)p;
	return true;
}

static bool
load_listen(struct smtpd_settings *s, const char *path, const char *key,
	    enum port_kind kind, char **errmsg_r)
{
	size_t n, i;
	char **w = config_split(config_str(s->cfg, key), &n);
	struct net_addr a;

	for (i = 0; i < n; i++) {
		struct listen_addr la = { kind, "", 0 };

		if (!split_hostport(w[i], la.addr, sizeof(la.addr), &la.port) ||
		    !net_addr_parse(la.addr, strlen(la.addr), &a)) {
			*errmsg_r = at(s->cfg, path, key, "\"%s\" is not a "
				       "numeric address:port ([v6]:port for "
				       "IPv6)", w[i]);
			config_split_free(w, n);
			return false;
		}
		s->listen = xreallocarray(s->listen, s->n_listen + 1,
					  sizeof(*s->listen));
		s->listen[s->n_listen++] = la;
	}
	config_split_free(w, n);
	return true;
}

/* sasl_flags - smtpd_sasl_security_options words as the AUTHD_MECH_*
 * flags a mechanism must not have.  noanonymous is always in force. */
static bool
sasl_flags(const struct config *cfg, const char *path, const char *key,
	   unsigned int *flags_r, char **errmsg_r)
{
	static const struct { const char *w; unsigned int f; } opts[] = {
		{ "noanonymous", AUTHD_MECH_ANONYMOUS },
		{ "noplaintext", AUTHD_MECH_PLAINTEXT },
		{ "nodictionary", AUTHD_MECH_DICTIONARY },
		{ "noactive", AUTHD_MECH_ACTIVE },
	};
	size_t n, i, k;
	char **w = config_split(config_str(cfg, key), &n);

	*flags_r = AUTHD_MECH_ANONYMOUS | AUTHD_MECH_PRIVATE;
	for (i = 0; i < n; i++) {
		for (k = 0; k < sizeof(opts) / sizeof(opts[0]); k++)
			if (strcasecmp(w[i], opts[k].w) == 0)
				break;
		if (k == sizeof(opts) / sizeof(opts[0])) {
			*errmsg_r = at(cfg, path, key, "unknown option \"%s\" "
				       "(noanonymous, noplaintext, nodictionary, "
				       "noactive)", w[i]);
			config_split_free(w, n);
			return false;
		}
		*flags_r |= opts[k].f;
	}
	config_split_free(w, n);
	return true;
}

/* load_next_hop_auth - smtp_sasl_*: the credentials for the next hop
 * from the password map, read now (as root) from a file that only its
 * owner may read.  Postfix's look-up: the next hop exactly as written in
 * next_hop ("[mail.isp.example]:587"), then its host alone, with and
 * without brackets.  The value is "user:password", split at the first
 * ':' (a password may hold ':' and spaces, not leading or trailing
 * blanks). */
static bool
load_next_hop_auth(struct smtpd_settings *s, const char *path,
		   const char *hop, char **errmsg_r)
{
	struct relay_conf *r = &s->relay;
	const char *file = config_str(s->cfg, "smtp_sasl_password_maps");
	const char *v = NULL, *colon;
	char host[300], *why = NULL;
	unsigned int flags;
	struct stat st;
	size_t n, i;
	char **w;

	if (!config_bool(s->cfg, "smtp_sasl_auth_enable"))
		return true;
	if (file[0] == '\0') {
		*errmsg_r = at(s->cfg, path, "smtp_sasl_password_maps", "%s",
			       "smtp_sasl_auth_enable needs a password map");
		return false;
	}
	if (stat(file, &st) < 0 || (st.st_mode & 077) != 0) {
		*errmsg_r = at(s->cfg, path, "smtp_sasl_password_maps",
			       "%s: must exist and be readable by its owner "
			       "only (chmod 600): it holds passwords", file);
		return false;
	}
	if ((s->passwords = map_load(file, &why)) == NULL) {
		*errmsg_r = at(s->cfg, path, "smtp_sasl_password_maps", "%s",
			       why);
		free(why);
		return false;
	}
	v = map_find(s->passwords, hop, strlen(hop));
	if (v == NULL && r->unix_path == NULL) {
		const char *b = hop[0] == '[' ? hop + 1 : hop;
		const char *e = hop[0] == '[' ? strchr(b, ']') : strrchr(b, ':');
		size_t hn = e != NULL ? (size_t)(e - b) : strlen(b);

		if (hn + 3 <= sizeof(host)) {
			snprintf(host, sizeof(host), "[%.*s]", (int)hn, b);
			if ((v = map_find(s->passwords, host,
					  strlen(host))) == NULL)
				v = map_find(s->passwords, host + 1, hn);
		}
	}
	if (v == NULL || (colon = strchr(v, ':')) == NULL || colon == v) {
		char *msg = xasprintf("%s: no \"user:password\" for %s", file,
				      hop);

		*errmsg_r = at(s->cfg, path, "smtp_sasl_password_maps", "%s",
			       msg);
		free(msg);
		return false;
	}
	s->sasl_user = xstrndup(v, (size_t)(colon - v));
	r->sasl_user = s->sasl_user;
	r->sasl_pass = colon + 1;
	/* The mechanism filter, in preference order, upper case. */
	w = config_split(config_str(s->cfg, "smtp_sasl_mechanism_filter"), &n);
	{
		struct buf b = BUF_INIT;

		for (i = 0; i < n; i++) {
			char *m = w[i];

			for (; *m != '\0'; m++)
				if (*m >= 'a' && *m <= 'z')
					*m = (char)(*m - 32);
			buf_printf(&b, "%s%s", i ? " " : "", w[i]);
		}
		s->sasl_mechs = xstrndup(b.data != NULL ? b.data : "", b.len);
		buf_free(&b);
	}
	config_split_free(w, n);
	r->sasl_mechs = s->sasl_mechs;
	if (!sasl_flags(s->cfg, path, "smtp_sasl_security_options", &flags,
			errmsg_r))
		return false;
	r->sasl_plaintext_clear = (flags & AUTHD_MECH_PLAINTEXT) == 0;
	if (!sasl_flags(s->cfg, path, "smtp_sasl_tls_security_options", &flags,
			errmsg_r))
		return false;
	r->sasl_plaintext_tls = (flags & AUTHD_MECH_PLAINTEXT) == 0;
	return true;
}

static bool
load_next_hop(struct smtpd_settings *s, const char *path, char **errmsg_r)
{
	const char *hop = config_str(s->cfg, "next_hop");
	const char *lvl = config_str(s->cfg, "next_hop_tls_security_level");
	struct relay_conf *r = &s->relay;
	char host[256];
	unsigned int port;

	memset(r, 0, sizeof(*r));
	r->lmtp = strcmp(config_str(s->cfg, "next_hop_protocol"), "lmtp") == 0;
	r->helo_name = s->hostname;
	r->connect_timeout_ms = config_time(s->cfg, "next_hop_connect_timeout");
	r->cmd_timeout_ms = config_time(s->cfg, "next_hop_timeout");
	r->data_timeout_ms = config_time(s->cfg, "next_hop_data_done_timeout");
	r->tls = strcmp(lvl, "none") == 0 ? RELAY_TLS_NONE :
		 strcmp(lvl, "may") == 0 ? RELAY_TLS_MAY :
		 strcmp(lvl, "encrypt") == 0 ? RELAY_TLS_ENCRYPT :
		 RELAY_TLS_VERIFY;
	if (hop[0] == '\0') {
		*errmsg_r = at(s->cfg, path, "next_hop", "%s",
			       "no next hop: authd-smtpd passes every message "
			       "on at once (host:port, [host]:port or a UNIX "
			       "socket path)");
		return false;
	}
	if (hop[0] == '/') {
		if (strlen(hop) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			*errmsg_r = at(s->cfg, path, "next_hop", "%s",
				       "socket path too long");
			return false;
		}
		r->unix_path = hop;
		r->name = hop;
		r->tls = RELAY_TLS_NONE;	/* a local socket */
	} else {
		struct addrinfo hints, *res = NULL;
		char portstr[12];
		int e;

		if (!split_hostport(hop, host, sizeof(host), &port) || port == 0) {
			*errmsg_r = at(s->cfg, path, "next_hop", "\"%s\": "
				       "expected host:port, [host]:port or "
				       "/path", hop);
			return false;
		}
		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		snprintf(portstr, sizeof(portstr), "%u", port);
		/* Resolved once, now: the event loop must never wait for
		 * DNS.  A restart picks up a changed address. */
		if ((e = getaddrinfo(host, portstr, &hints, &res)) != 0) {
			*errmsg_r = at(s->cfg, path, "next_hop", "%s",
				       gai_strerror(e));
			return false;
		}
		memcpy(&r->addr, res->ai_addr, res->ai_addrlen);
		r->addr_len = res->ai_addrlen;
		freeaddrinfo(res);
		r->name = hop;
		r->tls_peer = xstrdup(host);
	}
	if (r->tls != RELAY_TLS_NONE &&
	    (s->tls_client = tls_client_ctx(r->tls == RELAY_TLS_VERIFY,
			config_str(s->cfg, "smtp_tls_CAfile"),
			config_str(s->cfg, "smtp_tls_CApath"), errmsg_r)) == NULL)
		return false;
	r->tls_ctx = s->tls_client;
	return load_next_hop_auth(s, path, hop, errmsg_r);
}

/* at_line - "FILE:LINE: why" for a message that names its key itself. */
static char *
at_line(const struct config *cfg, const char *path, const char *key,
	const char *why)
{
	unsigned int line = config_line(cfg, key);

	return line != 0 ? xasprintf("%s:%u: %s", path, line, why) :
			   xasprintf("%s: %s", path, why);
}

static bool
load_restrictions(struct smtpd_settings *s, const char *path, char **errmsg_r)
{
	static const char *const keys[5] = {
		"smtpd_client_restrictions", "smtpd_helo_restrictions",
		"smtpd_sender_restrictions", "smtpd_relay_restrictions",
		"smtpd_recipient_restrictions",
	};
	struct restr_list *lists[5] = { &s->client_r, &s->helo_r, &s->sender_r,
					&s->relay_r, &s->rcpt_r };
	size_t i;
	char *why = NULL;

	for (i = 0; i < 5; i++)
		if (!restr_list_parse(keys[i], config_str(s->cfg, keys[i]),
				      lists[i], &why)) {
			*errmsg_r = at_line(s->cfg, path, keys[i], why);
			free(why);
			return false;
		}
	/* Postfix's guard: no configuration that relays for anyone. */
	if (restr_relay_safe(&s->relay_r, &s->rcpt_r, &why) != NULL) {
		const char *key = config_line(s->cfg, keys[4]) >
				  config_line(s->cfg, keys[3]) ? keys[4] : keys[3];

		*errmsg_r = at_line(s->cfg, path, key, why);
		free(why);
		return false;
	}
	return true;
}

struct smtpd_settings *
smtpd_settings_load(struct config *cfg, const char *path, char **errmsg_r)
{
	struct smtpd_settings *s = xcalloc(1, sizeof(*s));
	const char *bad, *mapfile;
	size_t badlen, n, i;
	char **w;

	s->cfg = cfg;
	if (config_str(cfg, "myhostname")[0] != '\0')
		snprintf(s->hostname, sizeof(s->hostname), "%s",
			 config_str(cfg, "myhostname"));
	else if (gethostname(s->hostname, sizeof(s->hostname) - 1) < 0 ||
		 s->hostname[0] == '\0')
		snprintf(s->hostname, sizeof(s->hostname), "localhost");
	if (!smtp_domain_ok(s->hostname, strlen(s->hostname))) {
		*errmsg_r = at(cfg, path, "myhostname", "\"%s\" is not a "
			       "domain name", s->hostname);
		goto fail;
	}
	if (!load_listen(s, path, "smtp_listen", PORT_SMTP, errmsg_r) ||
	    !load_listen(s, path, "submission_listen", PORT_SUBMISSION,
			 errmsg_r) ||
	    !load_listen(s, path, "smtps_listen", PORT_SMTPS, errmsg_r))
		goto fail;
	if (s->n_listen == 0) {
		*errmsg_r = xasprintf("%s: no listener: set smtp_listen, "
				      "submission_listen or smtps_listen", path);
		goto fail;
	}
	for (i = 0; i < s->n_listen; i++) {
		struct net nt;

		/* Our own addresses, for [IP] literals in recipients; a
		 * wildcard listener names none. */
		if (net_parse(s->listen[i].addr, strlen(s->listen[i].addr),
			      &nt) == NULL &&
		    strcmp(s->listen[i].addr, "0.0.0.0") != 0 &&
		    strcmp(s->listen[i].addr, "::") != 0) {
			s->own_addrs.v = xreallocarray(s->own_addrs.v,
						       s->own_addrs.n + 1,
						       sizeof(nt));
			s->own_addrs.v[s->own_addrs.n++] = nt;
		}
	}

	s->auth_socket = config_str(cfg, "auth_socket");
	s->auth_timeout_ms = config_time(cfg, "auth_timeout");
	s->sasl_enable = config_bool(cfg, "smtpd_sasl_auth_enable");
	if (!sasl_flags(cfg, path, "smtpd_sasl_security_options",
			&s->sasl_refuse_flags, errmsg_r) ||
	    !sasl_flags(cfg, path, "smtpd_sasl_tls_security_options",
			&s->sasl_tls_refuse_flags, errmsg_r))
		goto fail;
	s->tls_auth_only = config_bool(cfg, "smtpd_tls_auth_only");
	s->broken_sasl_clients = config_bool(cfg, "broken_sasl_auth_clients");
	s->authenticated_header = config_bool(cfg,
					      "smtpd_sasl_authenticated_header");

	if ((config_str(cfg, "smtpd_tls_cert_file")[0] != '\0') !=
	    (config_str(cfg, "smtpd_tls_key_file")[0] != '\0')) {
		*errmsg_r = at(cfg, path, "smtpd_tls_cert_file", "%s",
			       "set both smtpd_tls_cert_file and "
			       "smtpd_tls_key_file, or neither");
		goto fail;
	}
	if (config_str(cfg, "smtpd_tls_cert_file")[0] != '\0') {
		char *why = NULL;

		s->tls_server = tls_server_ctx(config_str(cfg,
						"smtpd_tls_cert_file"),
					       config_str(cfg,
						"smtpd_tls_key_file"), &why);
		if (s->tls_server == NULL) {
			*errmsg_r = at(cfg, path, "smtpd_tls_cert_file", "%s",
				       why);
			free(why);
			goto fail;
		}
	} else if (config_str(cfg, "smtps_listen")[0] != '\0') {
		*errmsg_r = at(cfg, path, "smtps_listen", "%s", "implicit TLS "
			       "needs smtpd_tls_cert_file and "
			       "smtpd_tls_key_file");
		goto fail;
	}

	{
		const char *why = net_list_parse(config_str(cfg, "mynetworks"),
						 &s->mynetworks, &bad, &badlen);

		if (why != NULL) {
			char *word = xasprintf("\"%.*s\": %s", (int)badlen,
					       bad, why);

			*errmsg_r = at(cfg, path, "mynetworks", "%s", word);
			free(word);
			goto fail;
		}
	}
	w = config_split(config_str(cfg, "mydestination"), &n);
	for (i = 0; i < n; i++) {
		s->domains = xreallocarray(s->domains, s->n_domains + 1,
					   sizeof(char *));
		s->domains[s->n_domains++] = xstrdup(w[i]);
	}
	config_split_free(w, n);
	if (config_str(cfg, "local_domains")[0] != '\0') {
		const char *map = config_str(cfg, "maildir_map");
		const char *tpl = config_str(cfg, "maildir_template");
		char *why = NULL;

		if (map[0] == '\0' && tpl[0] == '\0') {
			*errmsg_r = at(cfg, path, "local_domains", "%s",
				       "needs maildir_map or maildir_template");
			goto fail;
		}
		s->maildirs = maildir_map_new(config_str(cfg, "local_domains"),
					      map[0] ? map : NULL,
					      tpl[0] ? tpl : NULL, &why);
		if (s->maildirs == NULL) {
			*errmsg_r = at(cfg, path, map[0] ? "maildir_map" :
				       "maildir_template", "%s", why);
			free(why);
			goto fail;
		}
		s->maildir_create = config_bool(cfg, "maildir_create");
		s->maildir_workers = (unsigned int)config_uint(cfg,
							"maildir_workers");
		/* Local domains are destinations: reject_unauth_destination
		 * lets anyone send to them. */
		w = config_split(config_str(cfg, "local_domains"), &n);
		for (i = 0; i < n; i++) {
			s->domains = xreallocarray(s->domains, s->n_domains + 1,
						   sizeof(char *));
			s->domains[s->n_domains++] = xstrdup(w[i]);
		}
		config_split_free(w, n);
	}
	w = config_split(config_str(cfg, "relay_domains"), &n);
	for (i = 0; i < n; i++) {
		s->domains = xreallocarray(s->domains, s->n_domains + 1,
					   sizeof(char *));
		s->domains[s->n_domains++] = xstrdup(w[i]);
	}
	config_split_free(w, n);
	for (i = 0; i < s->n_domains; i++) {
		char *d = s->domains[i];
		size_t k, dn = strlen(d);

		if (dn > 0 && d[dn - 1] == '.')
			d[--dn] = '\0';
		for (k = 0; k < dn; k++)
			d[k] = (char)((d[k] >= 'A' && d[k] <= 'Z') ?
				      d[k] + 32 : d[k]);
		if (!smtp_domain_ok(d, dn) || d[0] == '[') {
			*errmsg_r = at(cfg, path, config_line(cfg,
				       "relay_domains") != 0 ? "relay_domains" :
				       "mydestination", "\"%s\" is not a domain",
				       d);
			goto fail;
		}
	}
	if ((mapfile = config_str(cfg, "smtpd_sender_login_maps"))[0] != '\0') {
		char *why = NULL;

		if ((s->sender_login = map_load(mapfile, &why)) == NULL) {
			*errmsg_r = at(cfg, path, "smtpd_sender_login_maps",
				       "%s", why);
			free(why);
			goto fail;
		}
	}
	s->env.mynetworks = &s->mynetworks;
	s->env.own_addrs = &s->own_addrs;
	s->env.domains = s->domains;
	s->env.n_domains = s->n_domains;
	s->env.subdomains = config_bool(cfg, "relay_domains_include_subdomains");
	s->env.sender_login = s->sender_login;
	if (!load_restrictions(s, path, errmsg_r))
		goto fail;
	if (!load_next_hop(s, path, errmsg_r))
		goto fail;

	s->resolver = config_str(cfg, "dns_resolver")[0] != '\0' ?
		      config_str(cfg, "dns_resolver") : NULL;
	s->rbl_timeout_ms = (unsigned int)config_time(cfg, "rbl_lookup_timeout");
	s->rbl_fail_defer = strcmp(config_str(cfg, "rbl_lookup_failure"),
				   "defer") == 0;
	s->policy_timeout_ms = (unsigned int)config_time(cfg,
					"smtpd_policy_service_timeout");
	s->policy_default_action = config_str(cfg,
					"smtpd_policy_service_default_action");
	s->line_limit = (unsigned int)config_uint(cfg, "line_length_limit");
	s->text_line_limit = (unsigned int)config_uint(cfg, "text_line_limit");
	if (s->text_line_limit != 0 && s->text_line_limit < 998) {
		*errmsg_r = at(cfg, path, "text_line_limit", "%s", "0 (no "
			       "limit) or at least 998, RFC 5321's text line");
		goto fail;
	}
	s->auth_line_limit = (unsigned int)config_uint(cfg,
					"smtpd_sasl_response_limit");
	s->rcpt_limit = (unsigned int)config_uint(cfg, "smtpd_recipient_limit");
	s->size_limit = config_uint(cfg, "message_size_limit");
	s->idle_timeout_ms = (unsigned int)config_time(cfg, "smtpd_timeout");
	s->session_timeout_ms = (unsigned int)config_time(cfg,
						"smtpd_session_timeout");
	s->greet_pause_ms = (unsigned int)config_time(cfg, "smtpd_greet_pause");
	s->max_connections = (unsigned int)config_uint(cfg, "max_connections");
	s->max_per_client = (unsigned int)config_uint(cfg,
				"smtpd_client_connection_count_limit");
	s->error_limit = (unsigned int)config_uint(cfg, "smtpd_hard_error_limit");
	s->bare = strcmp(config_str(cfg, "smtpd_forbid_bare_newline"),
			 "reject") == 0 ? BARE_REJECT : BARE_NORMALIZE;
	return s;
fail:
	smtpd_settings_free(s);
	return NULL;
}

void
smtpd_settings_free(struct smtpd_settings *s)
{
	size_t i;

	if (s == NULL)
		return;
	free(s->listen);
	SSL_CTX_free(s->tls_server);
	SSL_CTX_free(s->tls_client);
	net_list_free(&s->mynetworks);
	free(s->own_addrs.v);
	for (i = 0; i < s->n_domains; i++)
		free(s->domains[i]);
	free(s->domains);
	map_free(s->sender_login);
	restr_list_free(&s->client_r);
	restr_list_free(&s->helo_r);
	restr_list_free(&s->sender_r);
	restr_list_free(&s->relay_r);
	restr_list_free(&s->rcpt_r);
	free((char *)s->relay.tls_peer);
	map_free(s->passwords);		/* wipes the values */
	maildir_map_free(s->maildirs);
	free(s->sasl_user);
	free(s->sasl_mechs);
	config_free(s->cfg);
	free(s);
}
