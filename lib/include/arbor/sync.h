/*
 * Catalog sync: keeping a node's copy of the catalog in step with its
 * parent, the part a relay and an agent share.  It polls the parent
 * through the parent link on an interval with random jitter, at once on
 * an urgent notification or a change of parent, verifies every head and
 * policy before it commits them to the store, and tells its owner.
 * Blobs are the fetch pipeline's (arbor/fetch.h).  Everything runs on the
 * loop thread.
 */
#ifndef ARBOR_SYNC_H
#define ARBOR_SYNC_H

#include <stdint.h>
#include <uv.h>

#include "arbor/keychain.h"
#include "arbor/link.h"
#include "arbor/sig.h"
#include "arbor/store.h"
#include "arbor/wire.h"

struct arb_sync;

struct arb_sync_conf {
	uv_loop_t			*loop;
	struct arb_link			*link;	/* the way up; listened to */
	struct arb_store		*store;
	/*
	 * The publisher keys believed; with a trust root, sync takes the
	 * statements its parent holds into it when a head needs them.
	 */
	struct arb_keychain		*keys;
	const struct arb_upstream	*up;	/* poll and jitter; kept */
	const char			*node_id; /* sent in GetHead */
	const char			*endpoint_id; /* an agent's, or NULL */
	const char			*kind;	/* "relay" or "agent" */
	int				 quiet;	/* routine lines at debug */
	/*
	 * Called when a new head and every policy it names are verified and
	 * committed.  head stays valid until the next call or arb_sync_free.
	 */
	void	(*on_head)(void *arg, const Arbor__Head *head);
	/* Called after every poll that ended (changed or not, rv its end). */
	void	(*on_poll)(void *arg, int rv);
	void	 *arg;
};

/*
 * Open: loads the head held in the store and listens to the link's
 * notifications.  Nothing is sent until arb_sync_start.
 */
int	arb_sync_new(const struct arb_sync_conf *c, struct arb_sync **sp);
/* Poll now and on the interval (the link must be started). */
int	arb_sync_start(struct arb_sync *s);
/* Poll now (coalesced with a poll in progress). */
void	arb_sync_poll_now(struct arb_sync *s);
/*
 * Where an offered catalog comes from (see arb_sync_offer).  get gives
 * the signed policy ref names (*sp, which the sync frees) or an error;
 * prepare is called with the verified head and its policies (pols[i] the
 * one for the head's ref i, verified, or NULL for one already held)
 * before anything is written, and refuses the whole offer with a nonzero
 * return.  Both are called during arb_sync_offer only.
 */
struct arb_sync_source {
	int	(*get)(void *arg, const Arbor__PolicyRef *ref,
		    Arbor__Signed **sp);
	int	(*prepare)(void *arg, const Arbor__Head *head,
		    const Arbor__Signed *const *pols);
	void	 *arg;
};

/*
 * Take a head that came another way than the link (a catalog export
 * carried across an air gap), judged exactly as one from the parent:
 * arb_head_verify (signature, pinned key, rollback, freeze), then every
 * policy it names that the store lacks asked of src and checked against
 * the head, as a GetPolicy reply is, then src->prepare, then the commit
 * a poll makes (on_head is called).  Returns 0; ARB_EEXIST for the head
 * already held (nothing written); the head's error (*badp SIZE_MAX) or a
 * policy's (get's error, or ARB_EMIXMATCH for one the head does not
 * name; *badp its index in the head); prepare's error; ARB_EAGAIN while
 * a poll is in progress.  Nothing is written unless it returns 0.  head
 * stays the caller's.
 */
int	arb_sync_offer(struct arb_sync *s, const Arbor__Signed *head,
	    const struct arb_sync_source *src, size_t *badp);

/*
 * The sequence number of the newest head a parent offered that verified
 * (taken or not yet: its policies still coming, say), at least the held
 * one's; 0 before any.
 */
uint64_t arb_sync_seen_seq(const struct arb_sync *s);

/* The verified head held, or NULL. */
const Arbor__Head *arb_sync_head(const struct arb_sync *s);
/* The encoded Signed head held (for serving), or NULL. */
const uint8_t *arb_sync_head_signed(const struct arb_sync *s, size_t *lenp);

/*
 * Stop listening and polling; a poll in flight ends when its reply comes
 * or the link closes, and s is freed after it.
 */
void	arb_sync_free(struct arb_sync *s);

#endif
