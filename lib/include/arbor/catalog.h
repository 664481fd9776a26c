/*
 * The trust rules: signing and verifying heads and policies.  Everything a
 * relay caches and an agent acts on has passed through here.
 */
#ifndef ARBOR_CATALOG_H
#define ARBOR_CATALOG_H

#include <stdint.h>

#include "arbor/sig.h"
#include "arbor/store.h"
#include "arbor/wire.h"

/*
 * Sign len bytes of body with k into *s: s->body, s->sig and s->key_id are
 * malloc'd copies; free them with arb_signed_clear.
 */
int	arb_signed_make(const struct arb_key *k, const uint8_t *body,
	    size_t len, Arbor__Signed *s);
void	arb_signed_clear(Arbor__Signed *s);

/*
 * Check a signed object against the pinned key: ARB_EUNKNOWNKEY if its
 * key id is not the pinned key's, ARB_EBADSIG if the signature fails.
 */
int	arb_signed_verify(const struct arb_key *pin, const Arbor__Signed *s);

struct arb_keychain;

/*
 * Verify and decode a signed head with the keys kc holds in force at now
 * (seconds; see arbor/keychain.h: ARB_EREVOKED, ARB_EUNKNOWNKEY, also for
 * a head that names a key statement newer than kc's).  held_seq is the
 * seq of the head the node holds (0 for none).  Returns ARB_EROLLBACK
 * for a seq below held_seq, ARB_EEXPIRED for one at or past expires_at,
 * ARB_EPROTO for one that breaks the schema (expires before issued,
 * duplicate policy ids).  On success *headp is freed with
 * arb_wire_free_head.
 */
int	arb_head_verify(const struct arb_keychain *kc, const Arbor__Signed *s,
	    uint64_t held_seq, int64_t now, Arbor__Head **headp);

/*
 * Verify a signed policy against a verified head: its body must hash to
 * the sha256 of one of the head's refs, with the same id and version
 * (else ARB_EMIXMATCH).  The head, whose signature held, names exactly
 * these bytes, so they are the publisher's: the policy's own signature
 * (for a policy handled alone, as the root's store keeps it) is not
 * checked again, which spares every endpoint an Ed25519 verification per
 * policy.  pin is unused and kept for the callers' symmetry with
 * arb_head_verify.  On success *polp (free with arb_wire_free_policy) and
 * *refp (points into head).
 */
int	arb_policy_verify(const struct arb_key *pin, const Arbor__Head *head,
	    const Arbor__Signed *s, Arbor__Policy **polp,
	    const Arbor__PolicyRef **refp);

/*
 * The head a node holds lives in its ARB_DB_META database under this key,
 * as the exact Signed bytes it was taken in: the same place at the root,
 * a relay and an agent.
 */
#define ARB_CATALOG_HEAD_KEY	"head"
#define ARB_CATALOG_HEAD_KEYLEN	(sizeof(ARB_CATALOG_HEAD_KEY) - 1)

/*
 * Load the head st holds.  It was verified when it was taken, so it is
 * only decoded here.  Each out-parameter may be NULL: *bytesp and *lenp
 * get the stored Signed bytes (free them), *sgp the decoded Signed
 * (arb_wire_free_signed), *headp the decoded head (arb_wire_free_head;
 * the body is decoded only when headp is given).  Returns 0,
 * ARB_ENOTFOUND when no head is stored, or the store's or the decoder's
 * error; the out-parameters are written only on 0.
 */
int	arb_catalog_load_head(struct arb_store *st, uint8_t **bytesp,
	    size_t *lenp, Arbor__Signed **sgp, Arbor__Head **headp);

/* The ref for policy id in head, or NULL. */
const Arbor__PolicyRef *arb_head_find(const Arbor__Head *head,
	    const char *id);

/*
 * The lock of head that holds endpoint id (whose groups are groups) at
 * now_ms: its own, else that of the first of its groups locked; a lock
 * whose until_ms has passed holds nothing.  NULL if none.
 */
const Arbor__Lock *arb_head_locked(const Arbor__Head *head, const char *id,
	    char *const *groups, size_t ngroups, int64_t now_ms);

/*
 * Write the head a node takes (its exact Signed bytes) under
 * ARB_CATALOG_HEAD_KEY in t, with the policies it names in the same
 * transaction (ARB_DB_POLICIES, by the sha256 of each signed body).
 */
int	arb_catalog_put_head(struct arb_txn *t, const uint8_t *bytes,
	    size_t len);
/* Decode a stored policy by the sha256 of its signed body. */
int	arb_catalog_policy(struct arb_store *st,
	    const uint8_t sha[ARB_SHA256_LEN], Arbor__Policy **pp);

#endif
