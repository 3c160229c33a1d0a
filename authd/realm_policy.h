/*
 * realm_policy - the auth_realm_mechanisms value: "realm:name[,name...]"
 * words, a realm's words adding up.  Kept apart from mech.c (which holds
 * the mechanisms and applies the result) so the parser can be fuzzed:
 * configuration text is untrusted input (tests/fuzz/fuzz_realm_policy.c).
 */
#ifndef AUTHD_REALM_POLICY_H
#define AUTHD_REALM_POLICY_H

#include <stddef.h>

#include "name.h"

struct realm_policy {
	char realm[USERDB_REALM_MAX + 1];	/* lower-cased */
	unsigned int mask;			/* bits: indexes into names */
};

/* realm_policy_index - the index of (name, len) in names (any case), or
 * n when it is none of them. */
size_t realm_policy_index(const char *const *names, size_t n,
			  const char *name, size_t len);
/* realm_policy_parse - parse list against names (at most 32); each name
 * a word uses must have its bit in allowed.  NULL with *out (allocated,
 * possibly NULL when empty) and *n_out, or a static reason naming the
 * key. */
const char *realm_policy_parse(const char *list, const char *const *names,
			       size_t n_names, unsigned int allowed,
			       struct realm_policy **out, size_t *n_out);

#endif
