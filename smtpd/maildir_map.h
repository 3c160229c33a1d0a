/*
 * maildir_map - which recipients are local, and their Maildirs.
 *
 * A recipient whose domain is in local_domains (Postfix:
 * virtual_mailbox_domains) is delivered to a Maildir instead of the
 * next hop.  Its Maildir comes from, in this order:
 *
 *   maildir_map       a file of "user@domain  /path/to/Maildir" lines
 *                     (Postfix: virtual_mailbox_maps), keys matched
 *                     without regard to case; "@domain" is the catch-all
 *                     of a domain
 *   maildir_template  a path with %u (the local part, lower-cased), %d
 *                     (the domain) and %% (a '%'), such as
 *                     /var/mail/%d/%u/Maildir
 *
 * A local recipient that neither gives is unknown (Postfix's "User
 * unknown in virtual mailbox table", 550 5.1.1 at RCPT).
 *
 * Untrusted input: the recipient address (the client's): the parts a
 * template puts into a path must be one harmless path component each,
 * so an address never reaches outside the template's tree: no '/',
 * no "..", no leading '.', no NUL, control, DEL or non-ASCII byte, not
 * empty.  And the map file (the admin's: a bad line or value is
 * "FILE:LINE: reason" at load, or a temporary failure at look-up, never
 * a crash).
 */
#ifndef AUTHD_SMTPD_MAILDIR_MAP_H
#define AUTHD_SMTPD_MAILDIR_MAP_H

#include <stdbool.h>
#include <stddef.h>

#include "smtp.h"

enum maildir_lookup {
	MAILDIR_REMOTE,		/* not a local domain: the next hop's */
	MAILDIR_FOUND,		/* *path_r is the Maildir */
	MAILDIR_UNKNOWN,	/* local domain, no such mailbox (550 5.1.1) */
	MAILDIR_REFUSED,	/* local part unusable in a path (550 5.1.1,
				 * the same answer: no probing) */
	MAILDIR_TEMPFAIL,	/* a map value unusable, or the path too
				 * long (451 4.3.0; logged here) */
};

struct maildir_map;

/* maildir_map_new - from the settings: local_domains (domains separated
 * by commas or white space), the map file's path and the template
 * (either may be NULL; an absolute template with only %u %d %%).  NULL
 * and *errmsg_r (allocated) on a bad setting or map line. */
struct maildir_map *maildir_map_new(const char *local_domains,
				    const char *map_path,
				    const char *template, char **errmsg_r);
void maildir_map_free(struct maildir_map *mm);

/* maildir_map_is_local - domain (n bytes, any case, no final dot) is a
 * local domain. */
bool maildir_map_is_local(const struct maildir_map *mm, const char *domain,
			  size_t n);
/* maildir_map_lookup - the Maildir of a recipient, written to path_r
 * (pathlen bytes, PATH_MAX is enough) when FOUND. */
enum maildir_lookup maildir_map_lookup(const struct maildir_map *mm,
				       const struct smtp_addr *a,
				       char *path_r, size_t pathlen);

/* maildir_path_part_ok - (p, n) may stand in a path as one component. */
bool maildir_path_part_ok(const char *p, size_t n);

#endif
