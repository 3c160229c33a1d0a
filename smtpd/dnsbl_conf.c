/*
 * dnsbl_conf - the configuration words of the blocklist client: the
 * resolver's address, a list's zone and its reply filter.  See dnsbl.h.
 *
 * Untrusted input: the configuration (an admin's typo is a message,
 * never a crash) and /etc/resolv.conf.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_msg.h"
#include "dnsbl_conf.h"
#include "xalloc.h"

#define RESOLV_CONF	"/etc/resolv.conf"

/* --- filters --- */

static bool
want_number(const char **s, unsigned int *v)
{
	unsigned int n = 0, digits = 0;

	while (**s >= '0' && **s <= '9' && digits < 4) {
		n = n * 10 + (unsigned int)(**s - '0');
		(*s)++;
		digits++;
	}
	*v = n;
	return digits > 0 && digits < 4 && n <= 255;
}

const char *
dnsbl_conf_want(const char *s, struct dnsbl_want *w)
{
	unsigned int oct, lo, hi;

	memset(w, 0, sizeof(*w));
	if (s == NULL) {
		w->any = true;
		return NULL;
	}
	for (oct = 0; oct < 4; oct++) {
		if (oct > 0 && *s++ != '.')
			return "filter is not d.d.d.d";
		if (*s != '[') {
			if (!want_number(&s, &lo))
				return "filter octet is not 0..255";
			w->bits[oct][lo / 8] |= (unsigned char)(1u << lo % 8);
			continue;
		}
		s++;
		for (;;) {
			if (!want_number(&s, &lo))
				return "filter octet is not 0..255";
			hi = lo;
			if (s[0] == '.' && s[1] == '.') {
				s += 2;
				if (!want_number(&s, &hi) || hi < lo)
					return "filter range is not n..m";
			}
			for (; lo <= hi; lo++)
				w->bits[oct][lo / 8] |=
					(unsigned char)(1u << lo % 8);
			if (*s == ']')
				break;
			if (*s++ != ';')
				return "filter list is not [n;n..m]";
		}
		s++;
	}
	return *s == '\0' ? NULL : "filter is not d.d.d.d";
}

bool
dnsbl_conf_want_match(const struct dnsbl_want *w, const unsigned char a[4])
{
	unsigned int i;

	if (w->any)
		return a[0] == 127 && !(a[1] == 255 && a[2] == 255);
	for (i = 0; i < 4; i++)
		if ((w->bits[i][a[i] / 8] & (1u << a[i] % 8)) == 0)
			return false;
	return true;
}

const char *
dnsbl_conf_zone(const char *zone)
{
	unsigned char wire[DNS_NAME_MAX];
	size_t len;

	if (zone == NULL || *zone == '\0')
		return "empty zone";
	if (strlen(zone) > DNSBL_ZONE_MAX)
		return "zone name too long";
	if (!dns_msg_name(zone, strlen(zone), wire, &len))
		return "zone is not a host name";
	return NULL;
}

/* --- the resolver's address --- */

/* resolver_parse - "addr", "addr:port", "[addr]", "[addr]:port", or an
 * IPv6 address with no port.  Numeric only: no DNS to find the DNS. */
static bool
resolver_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len_r)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_DGRAM,
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *res;
	char host[128];
	const char *port = "53", *colon = strchr(s, ':');
	size_t hlen;
	unsigned long pnum;
	char *end;
	struct in_addr a4;
	struct in6_addr a6;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || (close[1] != '\0' && close[1] != ':'))
			return false;
		hlen = (size_t)(close - s - 1);
		s++;
		if (close[1] == ':')
			port = close + 2;
	} else if (colon != NULL && strchr(colon + 1, ':') == NULL) {
		hlen = (size_t)(colon - s);
		port = colon + 1;
	} else
		hlen = strlen(s);
	if (hlen == 0 || hlen >= sizeof(host))
		return false;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	errno = 0;
	pnum = strtoul(port, &end, 10);
	if (*port < '0' || *port > '9' || *end != '\0' || errno != 0 ||
	    pnum == 0 || pnum > 65535)
		return false;
	/* inet_pton, not getaddrinfo alone: that takes "127.1" too. */
	if (inet_pton(AF_INET, host, &a4) != 1 &&
	    inet_pton(AF_INET6, host, &a6) != 1 &&
	    (strchr(host, '%') == NULL || strchr(host, ':') == NULL))
		return false;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return false;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len_r = res->ai_addrlen;
	freeaddrinfo(res);
	return true;
}

/* resolv_conf_server - the first "nameserver ADDR" line's address. */
static bool
resolv_conf_server(char *out, size_t outlen)
{
	FILE *f = fopen(RESOLV_CONF, "re");
	char line[512];
	bool found = false;

	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		char *save, *key = strtok_r(line, " \t\r\n", &save);
		char *val = strtok_r(NULL, " \t\r\n", &save);

		if (key != NULL && val != NULL &&
		    strcmp(key, "nameserver") == 0 &&
		    (size_t)snprintf(out, outlen, "%s", val) < outlen)
			found = true;
	}
	fclose(f);
	return found;
}

bool
dnsbl_conf_resolver(const char *resolver, struct sockaddr_storage *ss,
		    socklen_t *len_r, char **errmsg_r)
{
	char conf[128];

	*errmsg_r = NULL;
	if (resolver == NULL || *resolver == '\0') {
		if (!resolv_conf_server(conf, sizeof(conf))) {
			*errmsg_r = xasprintf("no nameserver in %s",
					      RESOLV_CONF);
			return false;
		}
		resolver = conf;
	}
	if (!resolver_parse(resolver, ss, len_r)) {
		*errmsg_r = xasprintf("resolver \"%s\" is not a numeric "
				      "address[:port]", resolver);
		return false;
	}
	return true;
}
