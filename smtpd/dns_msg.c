/*
 * dns_msg - DNS queries and replies on the wire.  See dns_msg.h.
 *
 * Untrusted input: the reply bytes.  Every read goes through a bound
 * check against the message length, and a name is read by one function
 * (name_read) that knows about compression loops.
 */
#include <string.h>

#include "dns_msg.h"

#define NAME_HOPS_MAX	32	/* compression pointers in one name */
#define OWNERS_MAX	9	/* the name and up to 8 CNAME targets */

static unsigned char
lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

static bool
host_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool
dns_msg_name(const char *text, size_t len, unsigned char *wire,
	     size_t *wire_len_r)
{
	size_t i = 0, out = 0;

	if (len > 0 && text[len - 1] == '.')
		len--;
	if (len == 0)
		return false;
	while (i < len) {
		size_t start = i, label;

		while (i < len && text[i] != '.') {
			if (!host_byte((unsigned char)text[i]))
				return false;
			i++;
		}
		label = i - start;
		/* One length byte, the label, and the root byte after. */
		if (label == 0 || label > DNS_LABEL_MAX ||
		    out + 1 + label + 1 > DNS_NAME_MAX)
			return false;
		wire[out++] = (unsigned char)label;
		while (start < i)
			wire[out++] = lower((unsigned char)text[start++]);
		if (i < len)
			i++;		/* the dot */
		if (i == len && text[len - 1] == '.')
			return false;	/* "a..": an empty last label */
	}
	wire[out++] = 0;
	*wire_len_r = out;
	return true;
}

static void
put16(unsigned char *p, unsigned int v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static unsigned int
get16(const unsigned char *p)
{
	return (unsigned int)p[0] << 8 | p[1];
}

size_t
dns_msg_query(unsigned char *out, uint16_t id, const unsigned char *qname,
	      size_t qname_len, uint16_t qtype)
{
	memset(out, 0, DNS_HEADER_LEN);
	put16(out, id);
	out[2] = 0x01;				/* RD: the resolver recurses */
	put16(out + 4, 1);			/* QDCOUNT */
	memcpy(out + DNS_HEADER_LEN, qname, qname_len);
	put16(out + DNS_HEADER_LEN + qname_len, qtype);
	put16(out + DNS_HEADER_LEN + qname_len + 2, 1);	/* class IN */
	return DNS_HEADER_LEN + qname_len + 4;
}

int
dns_msg_id(const unsigned char *p, size_t n)
{
	return n < DNS_HEADER_LEN ? -1 : (int)get16(p);
}

/*
 * name_read - the name at off into out (wire form, lower-cased, up to
 * DNS_NAME_MAX bytes), following compression pointers (RFC 1035
 * §4.1.4).  *end_r is where the name ends in the message: after its
 * root byte, or after its first pointer.
 *
 * A pointer must point below the start of the stretch of labels it ends
 * (the name's start, or the previous pointer's target): a compressor
 * only points at names written earlier, and targets that keep falling
 * cannot loop.  A cap on hops and the name length bound the rest.
 */
static const char *
name_read(const unsigned char *p, size_t n, size_t off, unsigned char *out,
	  size_t *len_r, size_t *end_r)
{
	size_t limit = off, len = 0, end = 0;
	unsigned int hops = 0;

	for (;;) {
		unsigned int c, i;

		if (off >= n)
			return "name runs past the message";
		c = p[off];
		if ((c & 0xc0) == 0xc0) {
			size_t to;

			if (off + 1 >= n)
				return "pointer runs past the message";
			to = (size_t)(c & 0x3f) << 8 | p[off + 1];
			if (to >= limit || ++hops > NAME_HOPS_MAX)
				return "compression pointer loops";
			if (hops == 1)
				end = off + 2;
			limit = off = to;
			continue;
		}
		if ((c & 0xc0) != 0)
			return "unknown label type";	/* RFC 6891 §5 */
		if (len + 1 + c > DNS_NAME_MAX)
			return "name too long";
		if (off + 1 + c > n)
			return "label runs past the message";
		out[len++] = (unsigned char)c;
		for (i = 0; i < c; i++)
			out[len++] = lower(p[off + 1 + i]);
		off += 1 + c;
		if (c == 0)
			break;
	}
	*len_r = len;
	*end_r = hops == 0 ? off : end;
	return NULL;
}

struct owners {
	unsigned char name[OWNERS_MAX][DNS_NAME_MAX];
	size_t len[OWNERS_MAX];
	size_t n;
};

static bool
owners_has(const struct owners *o, const unsigned char *name, size_t len)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		if (o->len[i] == len && memcmp(o->name[i], name, len) == 0)
			return true;
	return false;
}

static void
owners_add(struct owners *o, const unsigned char *name, size_t len)
{
	if (o->n == OWNERS_MAX || owners_has(o, name, len))
		return;
	memcpy(o->name[o->n], name, len);
	o->len[o->n++] = len;
}

/* txt_take - the character-strings of one TXT RDATA (RFC 1035 §3.3.14),
 * joined and made printable. */
static const char *
txt_take(const unsigned char *p, size_t off, size_t end, struct dns_reply *r)
{
	size_t out = 0;

	while (off < end) {
		size_t l = p[off], i;

		if (off + 1 + l > end)
			return "TXT string runs past its record";
		for (i = 0; i < l && out < DNS_REPLY_TXT_MAX; i++) {
			unsigned char c = p[off + 1 + i];

			r->txt[out++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
		}
		off += 1 + l;
	}
	r->txt[out] = '\0';
	r->has_txt = true;
	return NULL;
}

/* answer_take - one answer record at *off; what it says about the
 * question goes to r, a CNAME of a name in o adds its target to o. */
static const char *
answer_take(const unsigned char *p, size_t n, size_t *off, uint16_t qtype,
	    struct owners *o, struct dns_reply *r)
{
	unsigned char owner[DNS_NAME_MAX], target[DNS_NAME_MAX];
	size_t owner_len, target_len, end, rdend;
	unsigned int type, class, rdlen;
	const char *err;
	bool ours;

	if ((err = name_read(p, n, *off, owner, &owner_len, off)) != NULL)
		return err;
	if (*off + 10 > n)
		return "record header runs past the message";
	type = get16(p + *off);
	class = get16(p + *off + 2);
	rdlen = get16(p + *off + 8);
	*off += 10;
	if (*off + rdlen > n)
		return "record data runs past the message";
	rdend = *off + rdlen;
	ours = class == 1 && owners_has(o, owner, owner_len);
	if (ours && type == DNS_TYPE_CNAME) {
		if ((err = name_read(p, n, *off, target, &target_len,
				     &end)) != NULL)
			return err;
		if (end > rdend)
			return "CNAME runs past its record";
		owners_add(o, target, target_len);
	} else if (ours && type == qtype && type == DNS_TYPE_A && rdlen == 4) {
		if (r->naddrs < DNS_REPLY_ADDRS_MAX)
			memcpy(r->addrs[r->naddrs++], p + *off, 4);
	} else if (ours && type == qtype && type == DNS_TYPE_TXT &&
		   !r->has_txt) {
		if ((err = txt_take(p, *off, rdend, r)) != NULL)
			return err;
	}
	*off = rdend;
	return NULL;
}

const char *
dns_msg_parse(const unsigned char *p, size_t n, const unsigned char *qname,
	      size_t qname_len, uint16_t qtype, struct dns_reply *r)
{
	unsigned char name[DNS_NAME_MAX];
	struct owners o;
	size_t off, len, i, ancount;
	const char *err;

	memset(r, 0, sizeof(*r));
	if (n < DNS_HEADER_LEN)
		return "shorter than a header";
	r->id = (uint16_t)get16(p);
	if ((p[2] & 0x80) == 0 || (p[2] & 0x78) != 0)
		return "not a reply to a standard query";
	r->truncated = (p[2] & 0x02) != 0;
	r->rcode = p[3] & 0x0f;
	if (get16(p + 4) != 1)
		return "not one question";
	ancount = get16(p + 6);
	if ((err = name_read(p, n, DNS_HEADER_LEN, name, &len, &off)) != NULL)
		return err;
	if (len != qname_len || memcmp(name, qname, len) != 0)
		return "question mismatch";
	if (off + 4 > n)
		return "question runs past the message";
	if (get16(p + off) != qtype || get16(p + off + 2) != 1)
		return "question mismatch";
	off += 4;
	o.n = 0;
	owners_add(&o, qname, qname_len);
	for (i = 0; i < ancount; i++) {
		/* A truncated reply may end inside an answer: what came
		 * whole before it still counts (RFC 2181 §9). */
		if ((err = answer_take(p, n, &off, qtype, &o, r)) != NULL)
			return r->truncated ? NULL : err;
	}
	return NULL;
}
