/*
 * dns_msg - the DNS wire format, as much as a blocklist client needs
 * (RFC 1035 §4): names in wire form, a one-question query, and a reply
 * reduced to what a look-up of A or TXT records wants to know.
 *
 * Untrusted input: every byte of a reply.  It comes over UDP from the
 * configured resolver, but anyone who can guess the port and the id can
 * forge one, and a resolver passes on what a list's servers said: every
 * label length, compression pointer, count and record length is checked
 * against the message, pointers may only go backwards (no loops), and a
 * name never exceeds 255 bytes.  TXT text comes out as printable ASCII.
 */
#ifndef AUTHD_SMTPD_DNS_MSG_H
#define AUTHD_SMTPD_DNS_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_NAME_MAX		255	/* wire form, RFC 1035 §2.3.4 */
#define DNS_LABEL_MAX		63
#define DNS_TYPE_A		1
#define DNS_TYPE_CNAME		5
#define DNS_TYPE_TXT		16
#define DNS_RCODE_NOERROR	0
#define DNS_RCODE_SERVFAIL	2
#define DNS_RCODE_NXDOMAIN	3
#define DNS_HEADER_LEN		12
#define DNS_QUERY_MAX		(DNS_HEADER_LEN + DNS_NAME_MAX + 4)
#define DNS_REPLY_ADDRS_MAX	16	/* A records kept; more are ignored */
#define DNS_REPLY_TXT_MAX	255	/* TXT bytes kept, without the NUL */

/* dns_msg_name - text name to wire form, lower-cased (a trailing dot is
 * allowed).  Only host-name bytes are accepted (letters, digits, '-',
 * '_'); false for anything else, an empty or over-long label, or more
 * than DNS_NAME_MAX bytes in all.  wire has room for DNS_NAME_MAX. */
bool dns_msg_name(const char *text, size_t len, unsigned char *wire,
		  size_t *wire_len_r);

/* dns_msg_query - a standard query with RD set for (qname, qtype,
 * class IN) and the given id into out (DNS_QUERY_MAX bytes); returns
 * its length. */
size_t dns_msg_query(unsigned char *out, uint16_t id,
		     const unsigned char *qname, size_t qname_len,
		     uint16_t qtype);

/* dns_msg_id - the id of a message of n bytes, or -1 if n is too short
 * for a header. */
int dns_msg_id(const unsigned char *p, size_t n);

/* What a reply said about the question. */
struct dns_reply {
	uint16_t id;
	unsigned int rcode;
	bool truncated;			/* TC: the answers may be cut short */
	/* A records of the name (or of its CNAME chain), for qtype A */
	size_t naddrs;
	unsigned char addrs[DNS_REPLY_ADDRS_MAX][4];
	/* the first TXT record of the name, for qtype TXT: its strings
	 * joined, every byte outside printable ASCII as '?' */
	bool has_txt;
	char txt[DNS_REPLY_TXT_MAX + 1];
};

/* dns_msg_parse - parse the reply of n bytes at p to the question
 * (qname in wire form, lower case; qtype; class IN).  NULL on success,
 * else a static reason (not a reply, question mismatch, malformed): the
 * message must then be ignored.  Only the header, the question and the
 * answer section are read. */
const char *dns_msg_parse(const unsigned char *p, size_t n,
			  const unsigned char *qname, size_t qname_len,
			  uint16_t qtype, struct dns_reply *r);

#endif
