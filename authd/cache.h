/*
 * cache - remembers successful password checks, so that a client that
 * logs in again and again does not pay for the strong hash each time.
 *
 * What saslauthd's cache gets wrong and this one does not:
 *  - Nothing in it is usable outside this process: entries are keyed and
 *    hold the password as HMAC-SHA256 under a random per-process secret,
 *    not a plain MD5.
 *  - A password change, a lock or a deletion takes effect at once: every
 *    hit is confirmed against a fingerprint (SHA-256) of the user's current
 *    store record, which the loop fetches anyway (microseconds).  Any
 *    change to the record changes the fingerprint, and a deleted user has
 *    no record.  Back-ends without a record (PAM) rely on the TTL alone.
 *    A PostgreSQL store that notifies every change skips the read: each
 *    notification empties the cache instead (cache_lookup_current,
 *    storepool.h).
 *  - A wrong password misses without dropping the entry, so guesses
 *    cannot force the user's next login back onto the strong hash.
 *  - Only successes are stored; memory is bounded (a fixed table, 4-way
 *    set-associative, oldest entry of a set replaced); the TTL applies.
 * Used on the loop thread only: no locks.
 */
#ifndef AUTHD_CACHE_H
#define AUTHD_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CACHE_FP_LEN	32

struct cache;

/* cache_new - room for at least size entries, each valid ttl_ms. */
struct cache *cache_new(size_t size, uint64_t ttl_ms);
void cache_free(struct cache *c);
/* cache_lookup - whether (id, password) succeeded within the TTL and the
 * record fingerprint still matches (fp NULL: no record, TTL only). */
bool cache_lookup(struct cache *c, const char *id, const char *pw,
		  size_t pw_len, const unsigned char *fp, uint64_t now);
/* cache_lookup_current - as cache_lookup, without the fingerprint: for
 * a caller that knows no record changed since the entries were made (a
 * PostgreSQL store whose every change empties the cache, storepool.h). */
bool cache_lookup_current(struct cache *c, const char *id, const char *pw,
			  size_t pw_len, uint64_t now);
/* cache_insert - remember a success. */
void cache_insert(struct cache *c, const char *id, const char *pw,
		  size_t pw_len, const unsigned char *fp, uint64_t now);

/* cache_flush - forget the entry of id, or every entry (id NULL), so the
 * next login pays for the check again; returns the live entries that
 * went (the control socket's `cache flush`). */
size_t cache_flush(struct cache *c, const char *id, uint64_t now);

/* cache_entries - live entries: what the unit test measures the bound
 * and the expiry by (the cache itself never needs the count). */
size_t cache_entries(const struct cache *c, uint64_t now);

#endif
