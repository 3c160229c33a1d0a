/*
 * net - addresses and networks.  See net.h.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"
#include "xalloc.h"

bool
net_addr_parse(const char *s, size_t n, struct net_addr *a)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
						  0xff, 0xff };
	char tmp[64];

	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(tmp) || memchr(s, '\0', n) != NULL)
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, tmp, a->a) == 1) {
		a->family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, tmp, a->a) != 1)
		return false;
	a->family = AF_INET6;
	if (memcmp(a->a, mapped, 12) == 0) {
		memmove(a->a, a->a + 12, 4);
		memset(a->a + 4, 0, 12);
		a->family = AF_INET;
	}
	return true;
}

static unsigned int
bits_of(const struct net_addr *a)
{
	return a->family == AF_INET ? 32 : 128;
}

const char *
net_parse(const char *s, size_t n, struct net *net)
{
	const char *slash = memchr(s, '/', n);
	size_t alen = slash != NULL ? (size_t)(slash - s) : n, i;
	unsigned long prefix;

	memset(net, 0, sizeof(*net));
	if (!net_addr_parse(s, alen, &net->addr))
		return "not an IPv4 or IPv6 address";
	net->prefix = bits_of(&net->addr);
	if (slash == NULL)
		return NULL;
	if (alen + 1 == n || n - alen - 1 > 3)
		return "bad prefix length";
	prefix = 0;
	for (i = alen + 1; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return "bad prefix length";
		prefix = prefix * 10 + (unsigned long)(s[i] - '0');
	}
	/* An IPv4-mapped network written in IPv6 counts 96 bits less. */
	if (net->addr.family == AF_INET && memchr(s, ':', alen) != NULL) {
		if (prefix < 96)
			return "prefix shorter than the IPv4-mapped range";
		prefix -= 96;
	}
	if (prefix > bits_of(&net->addr))
		return "prefix longer than the address";
	net->prefix = (unsigned int)prefix;
	/* Host bits set ("192.0.2.1/24") are a typo more often than not:
	 * Postfix refuses them too. */
	for (i = prefix; i < bits_of(&net->addr); i++)
		if (net->addr.a[i / 8] & (0x80 >> (i % 8)))
			return "host bits set after the prefix";
	return NULL;
}

bool
net_match(const struct net *net, const struct net_addr *a)
{
	unsigned int full = net->prefix / 8, rest = net->prefix % 8;

	if (net->addr.family != a->family)
		return false;
	if (memcmp(net->addr.a, a->a, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((net->addr.a[full] ^ a->a[full]) & (0xff00 >> rest) & 0xff) == 0;
}

const char *
net_list_parse(const char *text, struct net_list *l, const char **bad_r,
	       size_t *bad_len_r)
{
	const char *p = text, *why;

	l->v = NULL;
	l->n = 0;
	while (*p != '\0') {
		size_t n;

		p += strspn(p, " ,\t");
		if (*p == '\0')
			break;
		n = strcspn(p, " ,\t");
		l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
		if ((why = net_parse(p, n, &l->v[l->n])) != NULL) {
			*bad_r = p;
			*bad_len_r = n;
			net_list_free(l);
			return why;
		}
		l->n++;
		p += n;
	}
	return NULL;
}

bool
net_list_match(const struct net_list *l, const struct net_addr *a)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (net_match(&l->v[i], a))
			return true;
	return false;
}

void
net_list_free(struct net_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
