/*
 * map - access maps in the shape of Postfix's access(5) tables, read
 * from a text file ("key  value" per line, '#' comments):
 *
 *   user@example.org   REJECT no mail from this one
 *   example.org        OK
 *   192.0.2.0/24       DEFER try later
 *
 * Keys match case-insensitively.  Address look-ups try the whole address,
 * the domain, each parent domain, then "user@"; domain look-ups the
 * domain and its parents; client look-ups the address as written, then
 * the CIDR keys in file order.  The value is the action (restrict.h) or,
 * for the sender-login map, the owners of an address.
 *
 * Untrusted input: the map file (an admin's typo is "FILE:LINE: reason",
 * never a crash).
 */
#ifndef AUTHD_SMTPD_MAP_H
#define AUTHD_SMTPD_MAP_H

#include <stdbool.h>
#include <stddef.h>

#include "net.h"
#include "smtp.h"

#define MAP_FILE_MAX	(64u << 20)	/* 64 MiB */
#define MAP_LINE_MAX	4096

struct map;

/* map_parse - a map from (text, len) read from name.  NULL and *errmsg_r
 * (allocated) on a bad line. */
struct map *map_parse(const char *text, size_t len, const char *name,
		      char **errmsg_r);
/* map_load - map_parse of a file. */
struct map *map_load(const char *path, char **errmsg_r);
void map_free(struct map *m);
/* map_size - the entries, for the log. */
size_t map_size(const struct map *m);

/* map_find - the value of key (n bytes, any case), or NULL. */
const char *map_find(const struct map *m, const char *key, size_t n);
/* map_lookup_addr - user@domain, domain, parent domains, user@. */
const char *map_lookup_addr(const struct map *m, const struct smtp_addr *a);
/* map_lookup_domain - domain, then parent domains. */
const char *map_lookup_domain(const struct map *m, const char *domain,
			      size_t n);
/* map_lookup_client - the address as text, then the CIDR keys. */
const char *map_lookup_client(const struct map *m, const char *text,
			      const struct net_addr *a);

#endif
