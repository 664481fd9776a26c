/*
 * Group commit: the requests of one turn of the loop that must be durable
 * before they are acknowledged (reports, enrolments) share one LMDB write
 * transaction, committed with one fsync at the end of the turn; only then
 * do their replies go out.  The relay's spool and the root's report
 * judging both acknowledge this way.  Everything runs on the loop thread.
 */
#ifndef ARBOR_GROUP_H
#define ARBOR_GROUP_H

#include <stdint.h>
#include <uv.h>

#include "arbor/net.h"
#include "arbor/store.h"
#include "arbor/wire.h"

struct arb_group;

/*
 * Make a group for store on loop (name prefixes its log lines).  The
 * group does not own the store, which must outlive it.
 */
int	arb_group_new(uv_loop_t *loop, struct arb_store *store,
	    const char *name, struct arb_group **gp);

/*
 * Open (or join) the store's group transaction for this turn of the loop.
 * The caller then writes through ordinary transactions (arb_txn_begin
 * gives it a child of the group) and hands its reply to arb_group_defer.
 * Returns 0 or an error from the store.
 */
int	arb_group_join(struct arb_group *g);

/*
 * Answer req with reply once the group is committed: reply is encoded at
 * once (the caller keeps it); req belongs to the group from now on.  If
 * the commit fails, req gets an Error reply instead.  after (may be NULL)
 * is then called with committed 1 or 0, and owns arg; it is also called,
 * with 0, if the reply cannot be encoded (req then gets an Error reply
 * at once).
 */
void	arb_group_defer(struct arb_group *g, struct arb_req *req,
	    const Arbor__Envelope *reply, void (*after)(void *arg,
	    int committed), void *arg);

/*
 * Commit what is staged now instead of at the end of the turn (its replies
 * go out, or their errors), so that the caller may write durably in a
 * transaction of its own.  0, or the commit's error; 0 when nothing is
 * staged.
 */
int	arb_group_commit(struct arb_group *g);

/* Error replies the group sent (a failed commit, a reply not encoded). */
uint64_t arb_group_errors(const struct arb_group *g);

/*
 * Commit what is staged (it becomes durable; the replies are still sent,
 * so call this before closing the server the requests came from), then
 * free the group.
 */
void	arb_group_free(struct arb_group *g);

#endif
