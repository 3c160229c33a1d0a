/*
 * scram_iters - how many users of the store have each SCRAM iteration
 * count, and the count a made-up SCRAM challenge shows for a name that
 * has no verifier.
 *
 * A real user's server-first message carries the count stored with the
 * verifier: an imported i=20000, or the old default for every user made
 * before scram_iterations was raised.  A made-up one that always carried
 * scram_iterations would tell the two apart.  So pwtool keeps, in the
 * store's record USERDB_ITERS_KEY (a key without '@', like the secret),
 * the number of SCRAM-SHA-256 and SCRAM-SHA-1 verifiers per count (kept
 * up to date by every put and delete of a batch, recounted in full only
 * when a store has none or it disagrees), and
 * authd picks a made-up name's count from it: deterministically from a
 * keyed hash of the name (the same count at every attempt, as for a real
 * user), with the store's frequencies (weighted rendezvous hashing: each
 * count c gets the score -ln(u_c) / n_c for a per-name uniform u_c, the
 * lowest wins, which gives c with probability n_c / N), and stably (a
 * commit that adds users with count c moves a made-up name only to c,
 * never between two other counts).
 *
 * What it cannot promise: a count held by one user (an imported i=20000
 * among a million at 4096) is shown for a made-up name with probability
 * 1/N, so a name that shows it is most likely that user.  Such a count is
 * only as secret as the rest of the store's distribution: re-hash rare
 * counts (pwtool passwd) where it matters.
 *
 * Untrusted input: the encoded histogram (a store file may be damaged or
 * hand-made): decoding checks every number and caps the bins.
 */
#ifndef AUTHD_USERDB_SCRAM_ITERS_H
#define AUTHD_USERDB_SCRAM_ITERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "record.h"
#include "scram.h"

#define USERDB_ITERS_KEY	"#scram-iterations"
#define SCRAM_ITERS_BINS	64	/* distinct counts kept per hash */

struct scram_iters_bin {
	unsigned int iterations;
	uint64_t users;
};

struct scram_iters {
	/* [0]: SCRAM-SHA-256, [1]: SCRAM-SHA-1 */
	struct scram_iters_bin bin[2][SCRAM_ITERS_BINS];
	size_t n[2];
	uint64_t dropped;	/* verifiers whose count found no free bin */
};

/* scram_iters_init - empty. */
void scram_iters_init(struct scram_iters *it);
/* scram_iters_count - add the record's SCRAM verifiers. */
void scram_iters_count(struct scram_iters *it, const struct userdb_record *rec);
/* scram_iters_uncount - take them away again (a replaced or deleted
 * record); false if the histogram did not hold them (it disagrees with
 * the store, or bins were full: recount). */
bool scram_iters_uncount(struct scram_iters *it,
			 const struct userdb_record *rec);
/* scram_iters_encode - the value of USERDB_ITERS_KEY:
 * "sha256 4096=120 20000=1\nsha1 4096=119\n". */
void scram_iters_encode(const struct scram_iters *it, struct buf *out);
/* scram_iters_decode - parse it back; NULL or a static reason (then it
 * is empty). */
const char *scram_iters_decode(const char *s, size_t len,
			       struct scram_iters *it);
/* scram_iters_pick - the count for a name without a verifier of hash h:
 * seed is 8 bytes of a keyed hash of the name (the same for every
 * attempt); fallback (scram_iterations) when the store has no verifier
 * of that hash.  Costs the same whoever asks. */
unsigned int scram_iters_pick(const struct scram_iters *it, enum scram_hash h,
			      const unsigned char seed[8],
			      unsigned int fallback);

#endif
