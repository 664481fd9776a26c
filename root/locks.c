/*
 * Endpoint locks: the operator keeps an endpoint, or a group, from every
 * action (an old payroll machine, a trading server during market hours).
 *
 * The locks travel in the signed head, as the policies do: every relay
 * and endpoint already takes each new head, so a lock reaches an endpoint
 * as soon as the head does, and the head, committed in the root's store,
 * is where the root keeps them.  Every head the root signs carries the
 * current head's locks on, less those whose until_ms has passed; a check
 * on the rollout tick signs a head when one has passed, and endpoints
 * judge until_ms on their own clocks besides.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arbor/catalog.h"
#include "arbor/error.h"
#include "arbor/log.h"
#include "root.h"

static int
lock_same(const Arbor__Lock *a, const Arbor__Lock *b)
{
	return strcmp(a->endpoint_id, b->endpoint_id) == 0 &&
	    strcmp(a->group, b->group) == 0;
}

int
root_locks_edit(Arbor__Lock *const *old, size_t n, const char *op,
    Arbor__Lock *l, int64_t now_ms, Arbor__Lock ***outp, size_t *np)
{
	Arbor__Lock	**v;
	size_t		  i, k = 0;
	int		  found = 0, lock;

	lock = strcmp(op, "lock") == 0;
	if (!lock && strcmp(op, "unlock") != 0 && strcmp(op, "expire") != 0)
		return ARB_EINVAL;
	if (l == NULL && strcmp(op, "expire") != 0)
		return ARB_EINVAL;
	if (lock && l->until_ms != 0 && l->until_ms <= now_ms)
		return ARB_EEXPIRED;
	if ((v = calloc(n + 2, sizeof(*v))) == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (old[i]->until_ms != 0 && old[i]->until_ms <= now_ms)
			continue;		/* expired: gone */
		if (l != NULL && lock_same(old[i], l)) {
			found = 1;
			continue;		/* replaced, or lifted */
		}
		v[k++] = old[i];
	}
	if (strcmp(op, "unlock") == 0 && !found) {
		free(v);
		return ARB_ENOTFOUND;
	}
	if (lock) {
		if (k >= ARB_LOCKS_MAX) {
			free(v);
			return ARB_ETOOBIG;
		}
		v[k++] = l;
	}
	*outp = v;
	*np = k;
	return 0;
}

int
root_locks_expired(const Arbor__Head *h, int64_t now_ms)
{
	size_t	i;

	for (i = 0; h != NULL && i < h->n_locks; i++)
		if (h->locks[i]->until_ms != 0 &&
		    h->locks[i]->until_ms <= now_ms)
			return 1;
	return 0;
}
