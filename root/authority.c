/*
 * The authority: the root's signed catalog.  Every change (publish,
 * retire, push) and every re-sign before expiry produces a head with the
 * next seq; heads and policies are signed with the publisher key and
 * committed before children hear of them.
 *
 * A head is committed in a transaction of its own, with whatever the
 * change stores beside it (a published policy and its version), and
 * synchronously: reports staged in the loop turn's group commit are
 * committed first, so that the head is never acknowledged or announced
 * before it is durable, and a failed commit changes nothing (no seq is
 * used that the store does not hold).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arbor/catalog.h"
#include "arbor/error.h"
#include "arbor/group.h"
#include "arbor/log.h"
#include "root.h"

/* Load the current head from the store (it was signed here). */
int
root_catalog_load(struct root *r)
{
	uint8_t	*v;
	size_t	 n;
	int	 rv;

	if ((rv = arb_catalog_load_head(r->store, &v, &n, NULL,
	    &r->head)) != 0)
		return rv == ARB_ENOTFOUND ? 0 : rv;
	relay_core_head(r->core, r->head, v, n);
	free(v);
	return 0;
}

/* Commit the head (sbytes) and the puts in one durable transaction. */
static int
root_commit_head(struct root *r, const uint8_t *sbytes, size_t slen,
    const struct root_put *puts, size_t nputs)
{
	struct arb_txn	*t;
	size_t		 i;
	int		 rv;

	/* Staged reports first: the store allows one writer at a time. */
	(void)arb_group_commit(relay_core_commit_group(r->core));
	if ((rv = arb_txn_begin(r->store, 1, &t)) != 0)
		return rv;
	for (i = 0; i < nputs; i++)
		if ((rv = arb_txn_put(t, puts[i].db, puts[i].key,
		    puts[i].klen, puts[i].val, puts[i].vlen)) != 0) {
			arb_txn_abort(t);
			return rv;
		}
	if ((rv = arb_catalog_put_head(t, sbytes, slen)) != 0) {
		arb_txn_abort(t);
		return rv;
	}
	return arb_txn_commit(t);
}

int
root_sign_head(struct root *r, Arbor__PolicyRef **refs, size_t n,
    const char *why, const struct root_put *puts, size_t nputs)
{
	Arbor__Lock	**locks = NULL;
	size_t		  nlocks = 0;
	int		  rv;

	/* The current head's locks go on, less those past their time. */
	if (r->head != NULL && r->head->n_locks > 0 &&
	    (rv = root_locks_edit(r->head->locks, r->head->n_locks, "expire",
	    NULL, root_rollout_now_ms(), &locks, &nlocks)) != 0)
		return rv;
	rv = root_sign_head_locks(r, refs, n, locks, nlocks, why, puts, nputs);
	free(locks);
	return rv;
}

int
root_sign_head_locks(struct root *r, Arbor__PolicyRef **refs, size_t n,
    Arbor__Lock **locks, size_t nlocks, const char *why,
    const struct root_put *puts, size_t nputs)
{
	Arbor__Head	 h = ARBOR__HEAD__INIT, *nh = NULL;
	Arbor__Signed	 sg = ARBOR__SIGNED__INIT;
	uint8_t		*body = NULL, *sbytes = NULL;
	size_t		 blen, slen;
	int64_t		 now = (int64_t)time(NULL);
	int		 rv;

	h.seq = r->head ? r->head->seq + 1 : 1;
	h.issued_at = now;
	h.expires_at = now + (r->conf->head_ttl_ms + 999) / 1000;
	h.n_policies = n;
	h.policies = refs;
	h.n_locks = nlocks;
	h.locks = locks;
	h.key_version = root_key_version(r);
	if ((rv = arb_wire_encode_head(&h, &body, &blen)) != 0)
		return rv;
	if ((rv = arb_signed_make(r->key, body, blen, &sg)) != 0)
		goto fail;
	if ((rv = arb_wire_encode_signed(&sg, &sbytes, &slen)) != 0)
		goto fail;
	if ((rv = arb_wire_decode_head(body, blen, &nh)) != 0)
		goto fail;
	if ((rv = root_commit_head(r, sbytes, slen, puts, nputs)) != 0) {
		log_warnx("root: head seq %llu (%s) not committed: %s",
		    (unsigned long long)h.seq, why, arb_strerror(rv));
		goto fail;
	}
	if (r->head)
		arb_wire_free_head(r->head);
	r->head = nh;
	nh = NULL;
	log_info("root: head seq %llu: %zu policies, %zu locks (%s)",
	    (unsigned long long)r->head->seq, n, nlocks, why);
	relay_core_head(r->core, r->head, sbytes, slen);
fail:
	if (nh)
		arb_wire_free_head(nh);
	arb_signed_clear(&sg);
	free(body);
	free(sbytes);
	return rv;
}

/* Re-sign before the head expires, even when nothing changed. */
void
root_resign_cb(uv_timer_t *t)
{
	struct root	*r = t->data;
	int64_t		 now = (int64_t)time(NULL), half;
	int		 rv;

	if (r->head == NULL)
		return;
	half = (r->head->expires_at - r->head->issued_at) / 2;
	if (now < r->head->issued_at + half)
		return;
	if ((rv = root_sign_head(r, r->head->policies, r->head->n_policies,
	    "re-signed before expiry", NULL, 0)) != 0)
		log_warnx("root: re-sign: %s", arb_strerror(rv));
}
