/*
 * settings - smtpd.conf, authd-smtpd's configuration: the key table and
 * the typed settings built from it once at start-up.  Keys that have a
 * Postfix equivalent carry Postfix's name (mynetworks,
 * smtpd_recipient_restrictions, message_size_limit...), so an admin can
 * move a main.cf over; man/authd-smtpd.8 lists them all.
 *
 * Untrusted input: the file and the maps it names (clear errors with
 * "FILE:LINE:", never a crash).
 */
#ifndef AUTHD_SMTPD_SETTINGS_H
#define AUTHD_SMTPD_SETTINGS_H

#include <stdbool.h>
#include <sys/socket.h>
#include <openssl/ssl.h>

#include "config.h"
#include "maildir_map.h"
#include "relay.h"
#include "restrict.h"

extern const struct config_key smtpd_keys[];

/* The three kinds of port. */
enum port_kind {
	PORT_SMTP,		/* 25: AUTH optional, mynetworks relay */
	PORT_SUBMISSION,	/* 587: AUTH before MAIL (530) */
	PORT_SMTPS,		/* 465: implicit TLS, AUTH before MAIL */
};

struct listen_addr {
	enum port_kind kind;
	char addr[64];		/* numeric */
	unsigned int port;
};

enum bare_newline { BARE_NORMALIZE, BARE_REJECT };

struct smtpd_settings {
	struct config *cfg;
	/* Process. */
	char hostname[256];
	struct listen_addr *listen;
	size_t n_listen;
	/* AUTH. */
	const char *auth_socket;
	unsigned int auth_timeout_ms;
	bool sasl_enable;
	unsigned int sasl_refuse_flags;		/* without TLS */
	unsigned int sasl_tls_refuse_flags;	/* with TLS */
	bool tls_auth_only;
	bool broken_sasl_clients;
	bool authenticated_header;
	/* TLS. */
	SSL_CTX *tls_server;		/* NULL: no STARTTLS, no 465 */
	SSL_CTX *tls_client;		/* to the next hop */
	/* Relay policy. */
	struct net_list mynetworks;
	struct net_list own_addrs;
	char **domains;
	size_t n_domains;
	struct map *sender_login;
	struct restr_env env;
	struct restr_list client_r, helo_r, sender_r, relay_r, rcpt_r;
	/* Next hop. */
	struct relay_conf relay;
	struct map *passwords;		/* smtp_sasl_password_maps */
	/* DNS lists and policy servers. */
	const char *resolver;		/* NULL: resolv.conf's first */
	unsigned int rbl_timeout_ms;
	bool rbl_fail_defer;		/* a failed look-up: 451, not skip */
	unsigned int policy_timeout_ms;
	const char *policy_default_action;
	/* Local delivery (NULL: none). */
	struct maildir_map *maildirs;
	bool maildir_create;
	unsigned int maildir_workers;
	char *sasl_user, *sasl_mechs;	/* what relay points at */
	/* Limits. */
	unsigned int line_limit;	/* command line, without CRLF */
	unsigned int text_line_limit;	/* message line, 0: none */
	unsigned int auth_line_limit;
	unsigned int rcpt_limit;
	unsigned long long size_limit;
	unsigned int idle_timeout_ms;
	unsigned int session_timeout_ms;
	unsigned int greet_pause_ms;
	unsigned int max_connections;
	unsigned int max_per_client;
	unsigned int error_limit;
	enum bare_newline bare;
};

/* smtpd_settings_load - typed settings from a parsed configuration (maps
 * and TLS files are read now, as root; the next hop is resolved now).
 * NULL and *errmsg_r (allocated, "FILE:LINE: key: reason" where a line
 * is at fault). */
struct smtpd_settings *smtpd_settings_load(struct config *cfg,
					   const char *path, char **errmsg_r);
void smtpd_settings_free(struct smtpd_settings *s);

#endif
