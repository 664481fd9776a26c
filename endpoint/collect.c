/*
 * Collecting the blobs an agent no longer needs: those that no policy in
 * the verified head names.
 *
 * A sweep starts when the head has changed since the last one, and only
 * while no action runs (nor waits to be seen ended) and no download is in
 * flight, so a blob is never taken from under a policy that is still
 * using it; a policy still in the head keeps its blobs (a rollback may
 * want them).  The work is bounded: each pass of the loop reads
 * COLLECT_DIRS of the 256 blob directories, and a sweep interrupted by an
 * action or a download goes on from where it stopped.
 */
#include <stdlib.h>
#include <string.h>

#include "arbor/catalog.h"
#include "arbor/error.h"
#include "arbor/log.h"
#include "agent.h"

#define COLLECT_DIRS		16	/* blob directories per pass */
#define COLLECT_NDIRS		256

struct collect {
	struct agent		*a;
	struct arb_strmap	*keep;	/* hex of every blob named */
	unsigned		 removed;
};

static int
collect_busy(const struct agent *a)
{
	return a->stopping || a->action != NULL || a->prev_wait ||
	    a->nflight > 0;
}

/* Every blob named by a policy in head: 0 and *keepp, or an error. */
static int
collect_keep(struct agent *a, const Arbor__Head *head,
    struct arb_strmap **keepp)
{
	struct arb_strmap	*keep;
	Arbor__Policy		*p;
	char			 hex[ARB_SHA256_HEX];
	size_t			 i, j;
	int			 rv;

	if ((rv = arb_strmap_new(&keep)) != 0)
		return rv;
	for (i = 0; i < head->n_policies; i++) {
		if ((rv = arb_catalog_policy(a->store,
		    head->policies[i]->sha256.data, &p)) != 0)
			goto fail;	/* not all known: keep everything */
		for (j = 0; j < p->n_blobs && rv == 0; j++) {
			if (p->blobs[j]->sha256.len != ARB_SHA256_LEN)
				continue;
			arb_hex(p->blobs[j]->sha256.data, ARB_SHA256_LEN, hex);
			rv = arb_strmap_put(keep, hex, keep, NULL);
		}
		arb_wire_free_policy(p);
		if (rv != 0)
			goto fail;
	}
	*keepp = keep;
	return 0;
fail:
	arb_strmap_free(keep, NULL);
	return rv;
}

static void
collect_one(const uint8_t sha[ARB_SHA256_LEN], void *arg)
{
	struct collect	*c = arg;
	char		 hex[ARB_SHA256_HEX];

	arb_hex(sha, ARB_SHA256_LEN, hex);
	if (arb_strmap_get(c->keep, hex) != NULL)
		return;
	if (arb_blob_remove(c->a->blobs, sha) == 0) {
		c->removed++;
		log_info("agent: blob %s: no current policy names it: "
		    "removed", hex);
	}
}

static void
collect_cb(uv_timer_t *t)
{
	struct agent		*a = t->data;
	const Arbor__Head	*head;
	struct collect		 c;
	unsigned		 end;
	int			 rv;

	if (collect_busy(a) || (head = arb_sync_head(a->sync)) == NULL)
		return;		/* the next agent_apply resumes it */
	if (head->seq != a->gc_sweep) {
		a->gc_sweep = head->seq;	/* the head moved: start over */
		a->gc_next = 0;
	}
	memset(&c, 0, sizeof(c));
	c.a = a;
	if ((rv = collect_keep(a, head, &c.keep)) != 0) {
		log_warnx("agent: blob collection: %s", arb_strerror(rv));
		a->gc_seq = head->seq;	/* try again at the next head */
		return;
	}
	end = a->gc_next + COLLECT_DIRS;
	while (a->gc_next < end && a->gc_next < COLLECT_NDIRS)
		(void)arb_blob_list(a->blobs, a->gc_next++, collect_one, &c);
	arb_strmap_free(c.keep, NULL);
	if (a->gc_next < COLLECT_NDIRS) {
		uv_timer_start(&a->gc, collect_cb, 0, 0);
		return;
	}
	a->gc_seq = a->gc_sweep;
	a->gc_next = 0;
}

/*
 * Start (or resume) a sweep if the head has changed since the last one
 * and nothing is in use.
 */
void
agent_collect(struct agent *a)
{
	const Arbor__Head	*head;

	if (a->blobs == NULL || collect_busy(a) ||
	    uv_is_active((uv_handle_t *)&a->gc) ||
	    (head = arb_sync_head(a->sync)) == NULL ||
	    (head->seq == a->gc_seq && a->gc_next == 0))
		return;
	uv_timer_start(&a->gc, collect_cb, 0, 0);
}
