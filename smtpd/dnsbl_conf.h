/*
 * dnsbl_conf - the configuration words of the blocklist client, for
 * dnsbl.c (callers use dnsbl.h's dnsbl_new, dnsbl_zone_check and
 * dnsbl_want_check).
 *
 * Untrusted input: configuration text and /etc/resolv.conf.
 */
#ifndef AUTHD_SMTPD_DNSBL_CONF_H
#define AUTHD_SMTPD_DNSBL_CONF_H

#include <stdbool.h>
#include <sys/socket.h>

/* A zone leaves room for 32 IPv6 nibbles and their dots in a 253-byte
 * name (RFC 5782 §2.4). */
#define DNSBL_ZONE_MAX	(253 - 64)

/* A Postfix filter "d.d.d.d": the values each octet may take. */
struct dnsbl_want {
	bool any;		/* no filter: 127/8 but not 127.255.255/24 */
	unsigned char bits[4][32];
};

/* dnsbl_conf_want - parse a filter (NULL: any); NULL or a static
 * reason. */
const char *dnsbl_conf_want(const char *s, struct dnsbl_want *w);
/* dnsbl_conf_want_match - whether the A record a passes w. */
bool dnsbl_conf_want_match(const struct dnsbl_want *w,
			   const unsigned char a[4]);
/* dnsbl_conf_zone - NULL, or a static reason why zone cannot be one. */
const char *dnsbl_conf_zone(const char *zone);
/* dnsbl_conf_resolver - the resolver's address from "addr[:port]" (see
 * dnsbl_new), NULL or "" for resolv.conf's first nameserver.  False and
 * *errmsg_r (allocated) when there is none. */
bool dnsbl_conf_resolver(const char *resolver, struct sockaddr_storage *ss,
			 socklen_t *len_r, char **errmsg_r);

#endif
