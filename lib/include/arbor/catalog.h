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

/*
 * Verify and decode a signed head.  held_seq is the seq of the head the
 * node holds (0 for none), now the time in seconds.  Returns ARB_EROLLBACK
 * for a seq below held_seq, ARB_EEXPIRED for one at or past expires_at,
 * ARB_EPROTO for one that breaks the schema (expires before issued,
 * duplicate policy ids).  On success *headp is freed with
 * arb_wire_free_head.
 */
int	arb_head_verify(const struct arb_key *pin, const Arbor__Signed *s,
	    uint64_t held_seq, int64_t now, Arbor__Head **headp);

/*
 * Verify a signed policy against a verified head: its body must hash to
 * the sha256 of one of the head's refs, with the same id and version
 * (else ARB_EMIXMATCH), and its signature must hold.  On success *polp
 * (free with arb_wire_free_policy) and *refp (points into head).
 */
int	arb_policy_verify(const struct arb_key *pin, const Arbor__Head *head,
	    const Arbor__Signed *s, Arbor__Policy **polp,
	    const Arbor__PolicyRef **refp);

/* The ref for policy id in head, or NULL. */
const Arbor__PolicyRef *arb_head_find(const Arbor__Head *head,
	    const char *id);

/*
 * The catalog a node holds, in its store: the current head (its encoded
 * Signed form, under "head" in ARB_DB_META) and the signed policies it
 * names (ARB_DB_POLICIES, by the sha256 of the signed body).  What is
 * stored was verified when it was taken, so loading decodes without
 * verifying again.
 *
 * arb_catalog_put_head writes the head in t.  arb_catalog_load_head gives
 * the stored bytes (*bytesp malloc'd) and, with headp set, the decoded
 * head (free with arb_wire_free_head); ARB_ENOTFOUND when none is held.
 * arb_catalog_policy decodes a stored policy by its sha256.
 */
int	arb_catalog_put_head(struct arb_txn *t, const uint8_t *bytes,
	    size_t len);
int	arb_catalog_load_head(struct arb_store *st, uint8_t **bytesp,
	    size_t *lenp, Arbor__Head **headp);
int	arb_catalog_policy(struct arb_store *st,
	    const uint8_t sha[ARB_SHA256_LEN], Arbor__Policy **pp);

#endif
