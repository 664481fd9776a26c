/*
 * The relay core itself: its life, and what it does when the node
 * commits a new head.
 *
 * The core is what every node with children runs (arbor-relay and
 * arbor-root link it): serve.c answers children, cache.c keeps blobs,
 * aggregate.c spools reports upward.  A new head is decoded once for the
 * replies to GetHead, tells the cache which blobs current policies name
 * (those it may not evict, those it may fetch for children), and is
 * announced on pub; a pushed policy's blobs are fetched first, so that
 * the wave of children that follows is served from the cache.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbor/catalog.h"
#include "arbor/error.h"
#include "arbor/log.h"
#include "core_int.h"

/* Requests in flight one connection may always have. */
#define CORE_CONN_MIN	8
#define CORE_ENROL_CTX	64	/* enrolments in flight on enroll_svc */

/* ------------------------------------------------------------ notifying */

/* Tell children of the head, once its pushed blobs are held. */
void
relay_notify(struct relay_core *c)
{
	Arbor__Envelope	 env = ARBOR__ENVELOPE__INIT;
	Arbor__Notify	 nt = ARBOR__NOTIFY__INIT;
	uint8_t		*buf;
	size_t		 len;

	if (c->notify_seq == 0)
		return;
	nt.seq = c->notify_seq;
	nt.urgent = c->notify_id != NULL;
	nt.policy_id = c->notify_id ? c->notify_id : (char *)"";
	env.body_case = ARBOR__ENVELOPE__BODY_NOTIFY;
	env.notify = &nt;
	if (arb_wire_encode(&env, &buf, &len) == 0) {
		(void)arb_pub_send(c->pubs, buf, len);
		free(buf);
		log_info("%s: notified children: seq %llu%s%s", c->c.name,
		    (unsigned long long)nt.seq, nt.urgent ? " urgent " : "",
		    nt.urgent ? nt.policy_id : "");
	}
	c->notify_seq = 0;
	free(c->notify_id);
	c->notify_id = NULL;
}

/* ---------------------------------------------------------------- heads */

static int
core_was_urgent(const struct relay_core *c, const char *id)
{
	size_t i;

	for (i = 0; i < c->nurgent; i++)
		if (strcmp(c->urgent_ids[i], id) == 0)
			return 1;
	return 0;
}

void
relay_core_head(struct relay_core *c, const Arbor__Head *head,
    const uint8_t *signed_bytes, size_t len)
{
	struct named_blob	*named = NULL, *nn;
	size_t			 nnamed = 0, i, j, nurg = 0;
	char			**urg = NULL;
	Arbor__Policy		*p;
	Arbor__Signed		*sg;
	const char		*pushed = NULL;

	if (arb_wire_decode_signed(signed_bytes, len, &sg) != 0) {
		log_warnx("%s: cannot decode own head", c->c.name);
		return;
	}
	if (c->head_signed)
		arb_wire_free_signed(c->head_signed);
	c->head_signed = sg;
	c->head_seq = head->seq;
	c->head_issued_at = head->issued_at;
	relay_head_replies(c, head);

	/* Which blobs do the current policies name? */
	urg = calloc(2 * head->n_policies + 1, sizeof(*urg));
	for (i = 0; i < head->n_policies; i++) {
		const Arbor__PolicyRef *ref = head->policies[i];

		if (ref->urgent && urg) {
			char key[ARB_MAX_ID + 24];

			snprintf(key, sizeof(key), "%s@%llu", ref->id,
			    (unsigned long long)ref->pushed_seq);
			if ((urg[nurg] = strdup(key)) != NULL)
				nurg++;
			if (!core_was_urgent(c, key))
				pushed = ref->id;
		}
		/* A rollback is as urgent as a push: tell children so. */
		if (ref->rollback_seq != 0 && urg) {
			char key[ARB_MAX_ID + 24];

			snprintf(key, sizeof(key), "%s@rb%llu", ref->id,
			    (unsigned long long)ref->rollback_seq);
			if ((urg[nurg] = strdup(key)) != NULL)
				nurg++;
			if (!core_was_urgent(c, key))
				pushed = ref->id;
		}
		if (arb_catalog_policy(c->c.store, ref->sha256.data, &p) != 0)
			continue;
		nn = realloc(named, (nnamed + p->n_blobs + 1) *
		    sizeof(*named));
		if (nn != NULL) {
			named = nn;
			for (j = 0; j < p->n_blobs; j++) {
				memcpy(named[nnamed].sha,
				    p->blobs[j]->sha256.data, ARB_SHA256_LEN);
				named[nnamed].size = p->blobs[j]->size;
				named[nnamed].urgent = ref->urgent;
				nnamed++;
			}
		}
		arb_wire_free_policy(p);
	}
	free(c->named);
	c->named = named;
	c->nnamed = nnamed;
	for (i = 0; i < c->nurgent; i++)
		free(c->urgent_ids[i]);
	free(c->urgent_ids);
	c->urgent_ids = urg;
	c->nurgent = nurg;

	c->notify_seq = head->seq;
	free(c->notify_id);
	c->notify_id = pushed ? strdup(pushed) : NULL;

	/* Urgent: hold the notification until the cache has the blobs. */
	for (i = 0; c->c.fetch && i < c->nnamed; i++) {
		uint64_t sz;

		if (!c->named[i].urgent ||
		    arb_blob_stat(c->c.blobs, c->named[i].sha, &sz) == 0)
			continue;
		(void)relay_cache_fetch(c, &c->named[i], 1);
	}
	if (c->prefetching == 0)
		relay_notify(c);
	else
		log_info("%s: prefetching %d blobs before notifying",
		    c->c.name, c->prefetching);
	relay_cache_trim(c);
}

/* ----------------------------------------------------------------- life */

/*
 * One connection may hold a quarter of the contexts: a child that sends
 * many requests and reads no replies cannot starve the others.  The rest
 * are told to try again (a fetch does, shortly).
 */
static int
core_conn_limit(struct relay_core *c)
{
	uint8_t	*buf;
	size_t	 len;
	int	 rv, per;

	per = c->c.nctx / 4 > CORE_CONN_MIN ? c->c.nctx / 4 : CORE_CONN_MIN;
	if ((rv = arb_wire_error(ARB_EAGAIN, &buf, &len, "%d requests in "
	    "flight on this connection: %s", per,
	    arb_strerror(ARB_EAGAIN))) != 0)
		return rv;
	rv = arb_srv_limit(c->srv, per, buf, len);
	free(buf);
	return rv;
}

int
relay_core_new(const struct relay_core_conf *cf, struct relay_core **cp)
{
	struct relay_core	*c;
	int			 rv;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -ENOMEM;
	c->c = *cf;
	if ((c->chunkbuf = malloc(ARB_CHUNK_SIZE)) == NULL) {
		free(c);
		return -ENOMEM;
	}
	if ((rv = arb_strmap_new(&c->children)) != 0 ||
	    (rv = relay_cache_init(c)) != 0 ||
	    (rv = arb_group_new(cf->loop, cf->store, cf->name,
	    &c->group)) != 0 || (rv = relay_shape_init(c)) != 0 ||
	    (rv = relay_unm_init(c, cf->unmanaged_grace > 0 ?
	    cf->unmanaged_grace : 600)) != 0)
		goto fail;
	if ((rv = arb_pub_listen(cf->net, cf->pub, &c->pubs)) != 0)
		goto fail;
	if (cf->link != NULL && ((rv = relay_agg_new(c)) != 0 ||
	    (rv = relay_enrol_new(c)) != 0))
		goto fail;
	if ((rv = arb_srv_listen(cf->net, cf->svc, cf->nctx, relay_request, c,
	    &c->srv)) != 0 || (rv = core_conn_limit(c)) != 0)
		goto fail;
	if (cf->enroll_svc != NULL && (rv = arb_srv_listen_enrol(cf->net,
	    cf->enroll_svc, CORE_ENROL_CTX, relay_enroll_request, c,
	    &c->esrv)) != 0)
		goto fail;
	*cp = c;
	return 0;
fail:
	if (c->esrv)
		arb_srv_close(c->esrv);
	if (c->srv)
		arb_srv_close(c->srv);
	if (c->pubs)
		arb_pub_close(c->pubs);
	if (c->agg)
		relay_agg_free(c);
	relay_enrol_free(c);
	arb_group_free(c->group);
	relay_shape_fini(c);
	relay_unm_fini(c);
	relay_cache_fini(c);
	arb_strmap_free(c->children, free);
	free(c->chunkbuf);
	free(c);
	return rv;
}

void
relay_core_unmanaged_note(struct relay_core *c, struct arb_req *req,
    const char *reason, const char *claimed)
{
	relay_unm_note_req(c, req, reason, claimed, 0);
}

void
relay_core_unmanaged_managed(struct relay_core *c, struct arb_req *req)
{
	relay_unm_managed_req(c, req);
}

void
relay_core_unmanaged_take(struct relay_core *c, const Arbor__ReportBatch *b)
{
	relay_unm_take(c, b);
}

int
relay_core_unmanaged(struct relay_core *c, size_t max,
    Arbor__Unmanaged ***vp, size_t *np, uint64_t *evictedp)
{
	return relay_unm_list(c, max, vp, np, evictedp);
}

struct arb_group *
relay_core_commit_group(struct relay_core *c)
{
	return c->group;
}

void
relay_core_stats(const struct relay_core *c, struct relay_core_stats *st)
{
	*st = c->st;
	st->errors += arb_group_errors(c->group);
}

void
relay_core_free(struct relay_core *c)
{
	size_t i;

	/* What is staged becomes durable; its replies go out first. */
	arb_group_free(c->group);
	c->group = NULL;
	if (c->agg)
		relay_agg_free(c);
	relay_enrol_free(c);
	relay_shape_fini(c);
	if (c->esrv)
		arb_srv_close(c->esrv);
	arb_srv_close(c->srv);
	arb_pub_close(c->pubs);
	arb_strmap_free(c->children, free);
	c->children = NULL;
	relay_unm_fini(c);
	/* The fetches themselves end with the pipeline; detach from them. */
	relay_cache_fini(c);
	if (c->head_signed)
		arb_wire_free_signed(c->head_signed);
	free(c->head_bare);
	free(c->head_full);
	free(c->named);
	for (i = 0; i < c->nurgent; i++)
		free(c->urgent_ids[i]);
	free(c->urgent_ids);
	free(c->notify_id);
	free(c->chunkbuf);
	c->closing = 1;
	if (c->misses == NULL)
		free(c);
}
