/*
 * dnsbl - DNS blocklist look-ups on the event loop, for Postfix's
 * reject_rbl_client ZONE[=FILTER] and reject_rhsbl_sender ZONE[=FILTER].
 *
 * Its own minimal stub resolver: UDP to ONE configured recursive
 * resolver ("127.0.0.1", "127.0.0.1:5353", "[::1]:53", or the first
 * nameserver of /etc/resolv.conf), A then TXT queries, no search list,
 * no TCP.  Each look-up has its own socket bound to a random port
 * (connected to the resolver, so the kernel drops datagrams from any
 * other address) and a random 16-bit id per query; a reply counts only
 * when it comes from the resolver's address, carries the id and repeats
 * the question.  Anything else is ignored, so a forger can at worst
 * make a look-up time out.  One retry at half the time left, and one
 * overall timeout per look-up that covers the A query, the TXT query
 * and any wait for a free slot.  At most DNSBL_INFLIGHT_MAX look-ups
 * have a socket at once; up to DNSBL_WAITING_MAX more wait in line;
 * beyond that a look-up fails at once (DNSBL_ERROR).
 *
 * Untrusted input: every reply (parsed by dns_msg.h, bounds-checked; the
 * TXT text comes back as printable ASCII, never more than 255 bytes),
 * the sender's domain (the client chose it: a name that is not a host
 * name is not looked up), and the configuration (zone, filter and
 * resolver are checked: dnsbl_zone_check, dnsbl_want_check, dnsbl_new).
 */
#ifndef AUTHD_SMTPD_DNSBL_H
#define AUTHD_SMTPD_DNSBL_H

#include <stdbool.h>

#include "loop.h"
#include "net.h"

#define DNSBL_INFLIGHT_MAX	64	/* look-ups with a socket */
#define DNSBL_WAITING_MAX	1024	/* look-ups waiting for one */

struct dnsbl;
struct dnsbl_query;

enum dnsbl_result {
	DNSBL_MISS,		/* not listed (NXDOMAIN, no matching A) */
	DNSBL_HIT,		/* listed: addr, and txt if the list has one */
	DNSBL_TIMEOUT,		/* no usable answer in time */
	DNSBL_ERROR,		/* the resolver failed (SERVFAIL, REFUSED,
				 * port unreachable) or we did (no socket,
				 * too many look-ups) */
};

struct dnsbl_answer {
	enum dnsbl_result result;
	char addr[16];		/* HIT: the A record that matched */
	char txt[256];		/* HIT: its TXT record, printable ASCII;
				 * "" if none came in time */
	const char *why;	/* TIMEOUT, ERROR: a static reason for the
				 * log ("SERVFAIL", "no reply"); else "" */
};

/* dnsbl_cb - the result of one look-up: called exactly once, from the
 * loop (never inside dnsbl_client or dnsbl_domain), unless the look-up
 * was cancelled or the dnsbl freed first.  The answer is valid during
 * the call only; the query handle is gone once cb returns (it may not be
 * cancelled from inside cb).  cb may start new look-ups, cancel others,
 * or free the dnsbl. */
typedef void dnsbl_cb(void *arg, const struct dnsbl_answer *a);

/* dnsbl_new - a resolver context on loop l (one per worker process).
 * resolver is a numeric "addr", "addr:port", "[addr]" or "[addr]:port"
 * (an IPv6 address with no brackets has no port), or NULL or "" for
 * the first nameserver in /etc/resolv.conf (port 53).  timeout_ms is
 * each look-up's overall limit (> 0).  NULL and *errmsg_r (allocated)
 * when the address is not one; reads a file, so call it at start-up. */
struct dnsbl *dnsbl_new(struct loop *l, const char *resolver,
			unsigned int timeout_ms, char **errmsg_r);
/* dnsbl_free - close every socket; pending callbacks never run.  The
 * look-ups' memory goes on the loop's next deferred run (loop_run or
 * loop_run_deferred).  NULL is fine. */
void dnsbl_free(struct dnsbl *d);

/* dnsbl_client - is client listed under zone?  The name looked up is
 * the address reversed (IPv4 octets, "2.0.0.127.zone"; IPv6 nibbles,
 * RFC 5782 §2.4).  want is Postfix's filter: NULL for any 127.0.0.0/8
 * address except 127.255.255.0/24 (which lists such as Spamhaus use for
 * "you may not query us", not a listing); else "d.d.d.d" where each d
 * is a number or a bracketed list of numbers and ranges,
 * "127.0.0.[2..4;10]".  A zone or filter that dnsbl_zone_check or
 * dnsbl_want_check refuses makes the look-up DNSBL_ERROR.  The strings
 * are copied.  Never NULL: even an immediate result comes through cb. */
struct dnsbl_query *dnsbl_client(struct dnsbl *d, const struct net_addr *client,
				 const char *zone, const char *want,
				 dnsbl_cb *cb, void *arg);
/* dnsbl_domain - is domain (the sender's, for reject_rhsbl_sender)
 * listed under zone: "domain.zone"?  A domain that is not a host name
 * (empty, an address literal, bytes outside letters, digits, '-', '_',
 * too long with the zone) is a DNSBL_MISS without a query: no list can
 * hold it.  Otherwise as dnsbl_client. */
struct dnsbl_query *dnsbl_domain(struct dnsbl *d, const char *domain,
				 const char *zone, const char *want,
				 dnsbl_cb *cb, void *arg);
/* dnsbl_cancel - forget a look-up whose cb has not run (the session went
 * away): cb never runs.  NULL is fine. */
void dnsbl_cancel(struct dnsbl_query *q);

/* dnsbl_zone_check - NULL if zone can hold any client's name (a host
 * name short enough for 32 IPv6 nibbles in front), else a static reason
 * for a configuration error. */
const char *dnsbl_zone_check(const char *zone);
/* dnsbl_want_check - NULL if want is a filter dnsbl_client accepts
 * (NULL included), else a static reason. */
const char *dnsbl_want_check(const char *want);

#endif
