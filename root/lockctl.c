/*
 * The root's side of arborctl endpoint lock|unlock|locks: a lock changed
 * is a head signed (locks.c says why the head carries them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbor/error.h"
#include "arbor/log.h"
#include "root.h"

static void
lock_reply(struct root *r, struct arb_req *req)
{
	Arbor__Envelope	env = ARBOR__ENVELOPE__INIT;
	Arbor__LockReply lr = ARBOR__LOCK_REPLY__INIT;

	if (r->head != NULL) {
		lr.locks = r->head->locks;
		lr.n_locks = r->head->n_locks;
		lr.head_seq = r->head->seq;
	}
	lr.now_ms = root_rollout_now_ms();
	env.body_case = ARBOR__ENVELOPE__BODY_LOCK_REPLY;
	env.lock_reply = &lr;
	root_reply(req, &env);
}

void
root_lock_ctl(struct root *r, struct arb_req *req, const Arbor__LockCtl *lc)
{
	Arbor__Lock	 l, **locks;
	size_t		 n;
	int64_t		 now = root_rollout_now_ms();
	char		 why[ARB_MAX_ID + 16];
	int		 rv;

	if (strcmp(lc->op, "list") == 0) {
		lock_reply(r, req);
		return;
	}
	if (lc->lock == NULL || (strcmp(lc->op, "lock") != 0 &&
	    strcmp(lc->op, "unlock") != 0)) {
		root_reply_error(req, ARB_EINVAL, "lock: the operations are "
		    "lock, unlock, list");
		return;
	}
	if (r->head == NULL) {
		root_reply_error(req, ARB_ENOTFOUND, "lock: nothing published "
		    "yet, no head to carry it");
		return;
	}
	l = *lc->lock;
	l.created_ms = now;
	snprintf(why, sizeof(why), "%s %s%s", lc->op, l.group[0] ? "group " :
	    "", l.group[0] ? l.group : l.endpoint_id);
	if ((rv = root_locks_edit(r->head->locks, r->head->n_locks, lc->op,
	    &l, now, &locks, &n)) != 0) {
		root_reply_error(req, rv, rv == ARB_ENOTFOUND ? "unlock: no "
		    "such lock" : rv == ARB_EEXPIRED ? "lock: --until has "
		    "passed" : rv == ARB_ETOOBIG ? "lock: too many locks" :
		    "lock");
		return;
	}
	rv = root_sign_head_locks(r, r->head->policies, r->head->n_policies,
	    locks, n, why, NULL, 0);
	free(locks);
	if (rv != 0) {
		root_reply_error(req, rv, "lock");
		return;
	}
	log_info("root: %s", why);
	lock_reply(r, req);
}

void
root_locks_check(struct root *r)
{
	int	rv;

	if (!root_locks_expired(r->head, root_rollout_now_ms()))
		return;
	if ((rv = root_sign_head(r, r->head->policies, r->head->n_policies,
	    "a lock expired", NULL, 0)) != 0)
		log_warnx("root: lock expiry: %s", arb_strerror(rv));
}
