/*
 * net - client addresses and network lists (mynetworks, CIDR keys of
 * access maps): "192.0.2.0/24", "[2001:db8::]/32", "::1", "127.0.0.1".
 *
 * Untrusted input: the configuration text and map files (parse errors
 * are reported, never a crash); client addresses come from the kernel.
 * IPv4-mapped IPv6 clients (::ffff:192.0.2.1) match IPv4 networks.
 */
#ifndef AUTHD_SMTPD_NET_H
#define AUTHD_SMTPD_NET_H

#include <stdbool.h>
#include <stddef.h>

struct net_addr {
	int family;			/* AF_INET or AF_INET6 */
	unsigned char a[16];		/* 4 or 16 bytes used */
};

struct net {
	struct net_addr addr;
	unsigned int prefix;		/* bits */
};

/* net_addr_parse - a numeric address, optionally in [brackets]; IPv4-
 * mapped IPv6 becomes IPv4.  False if it is none. */
bool net_addr_parse(const char *s, size_t n, struct net_addr *a);
/* net_parse - "addr" or "addr/prefix" (a bare address is a host).  NULL
 * or a static reason (bad address, prefix too long, host bits set). */
const char *net_parse(const char *s, size_t n, struct net *net);
/* net_match - whether a lies inside net. */
bool net_match(const struct net *net, const struct net_addr *a);

/* A list of networks (mynetworks). */
struct net_list {
	struct net *v;
	size_t n;
};

/* net_list_parse - space/comma separated networks.  NULL, or a static
 * reason with *bad_r / *bad_len_r pointing at the word at fault. */
const char *net_list_parse(const char *text, struct net_list *l,
			   const char **bad_r, size_t *bad_len_r);
bool net_list_match(const struct net_list *l, const struct net_addr *a);
void net_list_free(struct net_list *l);

#endif
