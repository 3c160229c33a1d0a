/*
 * fuzz_dns_reply - DNS replies as the blocklist client reads them
 * (smtpd/dns_msg.c; untrusted: anyone who guesses a port and an id can
 * send one), and the filter and zone words of reject_rbl_client
 * (configuration).  The first byte picks the question (A or TXT); the
 * rest is the reply to "2.0.0.127.bl.test".
 * Properties: never crashes, hangs or leaks; what a parse returns is
 * within its bounds and printable; a name that dns_msg_name accepts
 * makes a query that parses as its own question once marked a reply.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns_msg.h"
#include "dnsbl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_reply(const struct dns_reply *r, uint16_t qtype)
{
	size_t i, len = strlen(r->txt);

	if (r->naddrs > DNS_REPLY_ADDRS_MAX || len > DNS_REPLY_TXT_MAX)
		abort();
	if ((qtype != DNS_TYPE_A && r->naddrs != 0) ||
	    (qtype != DNS_TYPE_TXT && r->has_txt))
		abort();
	for (i = 0; i < len; i++)
		if (r->txt[i] < 0x20 || r->txt[i] > 0x7e)
			abort();
}

/* round_trip - text as a name: if accepted, its query parses. */
static void
round_trip(const char *text, size_t n)
{
	unsigned char wire[DNS_NAME_MAX], q[DNS_QUERY_MAX];
	struct dns_reply r;
	size_t len, qlen;

	if (!dns_msg_name(text, n, wire, &len))
		return;
	if (len > DNS_NAME_MAX)
		abort();
	qlen = dns_msg_query(q, 0x1234, wire, len, DNS_TYPE_TXT);
	q[2] |= 0x80;
	if (dns_msg_parse(q, qlen, wire, len, DNS_TYPE_TXT, &r) != NULL ||
	    r.id != 0x1234 || r.has_txt)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char name[] = "2.0.0.127.bl.test";
	unsigned char qname[DNS_NAME_MAX];
	uint16_t qtype;
	struct dns_reply r;
	size_t qlen;
	char word[80];

	if (size < 1)
		return 0;
	if (!dns_msg_name(name, sizeof(name) - 1, qname, &qlen))
		abort();
	qtype = data[0] & 1 ? DNS_TYPE_TXT : DNS_TYPE_A;
	if (dns_msg_parse(data + 1, size - 1, qname, qlen, qtype, &r) == NULL)
		check_reply(&r, qtype);
	round_trip((const char *)data + 1, size - 1);
	if (size - 1 < sizeof(word)) {
		memcpy(word, data + 1, size - 1);
		word[size - 1] = '\0';
		(void)dnsbl_want_check(word);
		(void)dnsbl_zone_check(word);
	}
	return 0;
}
