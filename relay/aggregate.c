/*
 * Fan-in at a relay: reports from children are committed to the LMDB spool
 * before they are acknowledged, coalesced to the latest report per
 * (endpoint, policy), and sent upward in one batch per interval (or sooner
 * when the spool grows past report_max).  A spooled report is deleted only
 * after the parent acknowledged the batch that carried it, and only if no
 * newer report for the same key arrived meanwhile.  Enrolments pass
 * straight through to the parent.
 *
 * The spool is an arbor/queue.h queue over ARB_DB_SPOOL, and its batches
 * are acknowledged to children through the core's group commit.
 *
 * A report coalesces only once its signature verifies with the key the
 * root enrolled for its endpoint, which the relay learns from the root's
 * signed receipts (with the enrolment reply as it passes down, and with
 * the acknowledgements of its batches).  A report whose endpoint key the
 * relay does not know yet is spooled beside, under its own key, where it
 * displaces nothing and goes up for the root to judge; one that fails
 * the check is refused.  So a child cannot make the relay drop a genuine
 * report by sending a forged one with a higher sequence number.
 *
 * Receipts are kept (ARB_DB_RECEIPTS, the newest per endpoint) and handed
 * to the children that ask for them in their batches, and asked for in
 * turn from the parent, so that they travel down the tree.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arbor/catalog.h"
#include "arbor/error.h"
#include "arbor/log.h"
#include "arbor/report.h"
#include "arbor/link.h"
#include "core_int.h"

#define AGG_BATCH_MAX		4096		/* entries per batch */
#define AGG_BATCH_BYTES		(768 * 1024)	/* well under the wire max */
/*
 * Relay info goes up with every batch of reports, at once (within the
 * report interval) when it changed, and otherwise only this often: often
 * enough that a parent, which forgets a relay after AGG_RELAY_KEEP, never
 * forgets a live one even when a heartbeat is lost.
 */
#define AGG_IDLE_MS		5000		/* receipts asked for, at most */
#define AGG_HEARTBEAT_MS	(240 * 1000)
#define AGG_CHILD_WINDOW	RELAY_CHILD_WINDOW	/* s: a child counts */
/*
 * Relays below that are remembered (and so sent up in every batch, with
 * this relay's own entry): few enough that a batch always fits the wire.
 * One not heard of for AGG_RELAY_KEEP is forgotten.
 */
#define AGG_RELAYS_MAX		(ARB_RELAYS_BATCH_MAX - 1)
#define AGG_RELAY_KEEP		AGG_CHILD_WINDOW	/* s */
#define AGG_WANT_MAX		4096		/* receipts asked for at once */
#define AGG_BESIDE		0x01		/* spool key: not verified */
#define AGG_BESIDE_MAX		65536		/* spool records, then refuse */
/* Most bytes one unmanaged address takes in a batch. */
#define AGG_UNMANAGED_BYTES	(ARB_UNMANAGED_ADDR_MAX + 3 * ARB_MAX_ID + 64)

struct relay_info {		/* a relay below, as last heard */
	char		*parent;
	char		*parent_id;	/* its parent's node id, if known */
	char		*carrier;	/* the child whose batches carry it */
	uint32_t	 children;
	uint64_t	 head_seq;
	uint64_t	 served, fetched, rate;	/* bytes; bytes a second */
	int64_t		 at;
};

struct pending {		/* a batch upward, outliving the agg */
	struct relay_agg	*agg;
	struct pending		*next;
};

struct relay_agg {
	struct relay_core	*c;
	uv_timer_t		*timer;
	struct arb_strmap	*relays;	/* node id -> relay_info */
	struct arb_queue	 spool;		/* ARB_DB_SPOOL */
	struct arb_queue_sent	 sent;		/* the batch in flight */
	int			 inflight;
	int			 tick_missed;	/* a flush came while inflight */
	uint64_t		 spooled;	/* records added since a flush */
	uint64_t		 last_up_ms;
	uint64_t		 last_ack_ms;	/* a batch taken; loop clock */
	/* What the relay info last sent said, to send it when it changes. */
	int			 info_changed;	/* a relay below changed */
	uint32_t		 sent_children;
	uint64_t		 sent_head_seq;
	uint64_t		 sent_served;	/* bytes */
	uint64_t		 sent_rate;	/* bytes a second */
	uint64_t		 sent_info_ms;	/* loop clock */
	char			*sent_parent;
	struct pending		*pending;
	int			 relays_full;	/* logged that the map is */
	int			 spool_full;	/* logged that the spool is */
	struct arb_strmap	*want;		/* receipts children asked for */
};

static void	agg_flush(struct relay_agg *);

static void
timer_free_cb(uv_handle_t *h)
{
	free(h);
}

static void
info_free(void *v)
{
	struct relay_info *ri = v;

	free(ri->parent);
	free(ri->parent_id);
	free(ri->carrier);
	free(ri);
}

static struct pending *
pending_new(struct relay_agg *g)
{
	struct pending *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->agg = g;
	p->next = g->pending;
	g->pending = p;
	return p;
}

/* Unlink p; returns its agg, or NULL if the agg is gone. */
static struct relay_agg *
pending_end(struct pending *p)
{
	struct relay_agg	*g = p->agg;
	struct pending		**pp;

	if (g != NULL)
		for (pp = &g->pending; *pp; pp = &(*pp)->next)
			if (*pp == p) {
				*pp = p->next;
				break;
			}
	free(p);
	return g;
}

/* ------------------------------------------------------------- receipts */

/* The receipt held for endpoint id, as stored and decoded; t reads. */
static int
receipt_get(struct arb_txn *t, const char *id, Arbor__Signed **sgp,
    Arbor__Receipt **rcp)
{
	Arbor__Signed	*sg;
	void		*v;
	size_t		 n;
	int		 rv;

	if ((rv = arb_txn_get(t, ARB_DB_RECEIPTS, id, strlen(id), &v,
	    &n)) != 0)
		return rv;
	rv = arb_wire_decode_signed(v, n, &sg);
	free(v);
	if (rv != 0)
		return rv;
	if ((rv = arb_wire_decode_receipt(sg->body.data, sg->body.len,
	    rcp)) != 0) {
		arb_wire_free_signed(sg);
		return rv;
	}
	*sgp = sg;
	return 0;
}

/* Keep sg if the root signed it and it is newer than the one held. */
static int
receipt_keep(struct relay_core *c, struct arb_txn *t, const Arbor__Signed *sg)
{
	Arbor__Receipt	*rc, *old;
	Arbor__Signed	*osg;
	uint8_t		*buf;
	size_t		 len;
	int		 rv = 0, newer = 1;

	if (c->c.keys == NULL)
		return 0;
	if ((rv = arb_receipt_open(c->c.keys, sg, &rc)) != 0)
		return rv;
	relay_unm_id(c, rc->endpoint_id, rc->unknown ? RELAY_EP_UNKNOWN :
	    rc->revoked ? RELAY_EP_REVOKED : RELAY_EP_MANAGED);
	if (receipt_get(t, rc->endpoint_id, &osg, &old) == 0) {
		newer = rc->at_ms > old->at_ms;
		arb_wire_free_receipt(old);
		arb_wire_free_signed(osg);
	}
	if (newer && (rv = arb_wire_encode_signed(sg, &buf, &len)) == 0) {
		rv = arb_txn_put(t, ARB_DB_RECEIPTS, rc->endpoint_id,
		    strlen(rc->endpoint_id), buf, len);
		free(buf);
	}
	arb_wire_free_receipt(rc);
	return rv;
}

/* Keep the n receipts of v in one transaction; the first error. */
int
relay_agg_receipts_keep(struct relay_core *c, Arbor__Signed **v, size_t n)
{
	struct arb_txn	*t;
	size_t		 i;
	int		 rv, first = 0;

	if (n == 0)
		return 0;
	if ((rv = arb_txn_begin(c->c.store, 1, &t)) != 0)
		return rv;
	for (i = 0; i < n; i++)
		if ((rv = receipt_keep(c, t, v[i])) != 0 && first == 0)
			first = rv;
	if ((rv = arb_txn_commit(t)) != 0)
		return rv;
	return first;
}

/*
 * Check a report against the key the root enrolled for its endpoint: 0
 * if it verifies, ARB_ENOTFOUND if the relay does not know the key yet,
 * or why it does not verify.
 */
static int
report_check(struct arb_txn *t, const Arbor__Signed *sg,
    const Arbor__Report *r, enum relay_ep *statep)
{
	Arbor__Signed	*rs;
	Arbor__Receipt	*rc;
	struct arb_key	*k;
	int		 rv;

	*statep = RELAY_EP_UNSEEN;
	if ((rv = receipt_get(t, r->endpoint_id, &rs, &rc)) != 0)
		return ARB_ENOTFOUND;
	*statep = rc->unknown ? RELAY_EP_UNKNOWN : rc->revoked ?
	    RELAY_EP_REVOKED : RELAY_EP_MANAGED;
	if (rc->unknown)
		rv = ARB_ENOTFOUND;
	else if ((rv = arb_key_from_raw_public(rc->pubkey.data, &k)) == 0) {
		rv = arb_signed_verify(k, sg);
		arb_key_free(k);
	}
	arb_wire_free_receipt(rc);
	arb_wire_free_signed(rs);
	return rv;
}

enum relay_ep
relay_agg_endpoint(struct relay_core *c, const char *id)
{
	Arbor__Signed	*rs;
	Arbor__Receipt	*rc;
	struct arb_txn	*t;
	enum relay_ep	 st = RELAY_EP_UNSEEN;

	if (arb_txn_begin(c->c.store, 0, &t) != 0)
		return st;
	if (receipt_get(t, id, &rs, &rc) == 0) {
		st = rc->unknown ? RELAY_EP_UNKNOWN : rc->revoked ?
		    RELAY_EP_REVOKED : RELAY_EP_MANAGED;
		arb_wire_free_receipt(rc);
		arb_wire_free_signed(rs);
	}
	arb_txn_abort(t);
	return st;
}

/* ---------------------------------------------------------------- spool */

/*
 * Spool key: arb_report_key (endpoint, policy) for a report that verified;
 * AGG_BESIDE and the SHA-256 of its signature for one whose key is not
 * known yet, so that it replaces nothing and nothing but itself replaces
 * it.  Value: the report's seq and the entry, with this relay added to
 * its path (arbor/queue.h).  r is the decoded body of in's report.
 */
static int
spool_put(struct relay_core *c, struct arb_txn *t, const Arbor__ReportEntry *in,
    const Arbor__Report *r, int *addedp, enum relay_ep *statep)
{
	Arbor__ReportEntry	 out = ARBOR__REPORT_ENTRY__INIT;
	uint8_t			 key[ARB_REPORT_KEY_MAX], *buf = NULL;
	char			*via[16];
	uint64_t		 held = 0;
	size_t			 klen, blen, i, n = 0;
	int			 rv;

	*addedp = 0;
	if ((rv = report_check(t, in->report, r, statep)) == ARB_ENOTFOUND) {
		/* Bounded: unverified entries cannot fill the disk. */
		(void)arb_txn_count(t, ARB_DB_SPOOL, &held);
		if (held >= AGG_BESIDE_MAX)
			return ARB_EAGAIN;
		key[0] = AGG_BESIDE;
		if ((rv = arb_sha256(in->report->sig.data,
		    in->report->sig.len, key + 1)) != 0)
			return rv;
		klen = 1 + ARB_SHA256_LEN;
	} else if (rv != 0)
		return rv;
	else if ((klen = arb_report_key(r->endpoint_id, r->policy_id,
	    key)) == 0)
		return ARB_EPROTO;
	for (i = 0; i < in->n_via && n < 15; i++)
		via[n++] = in->via[i];
	via[n++] = (char *)c->c.node_id;
	out.report = in->report;
	out.via = via;
	out.n_via = n;
	if ((rv = arb_wire_encode_entry(&out, &buf, &blen)) != 0)
		goto out;
	/* Not if we hold this one or a newer one. */
	rv = arb_queue_put(&c->agg->spool, t, key, klen, r->seq, buf, blen,
	    addedp);
out:
	free(buf);
	return rv;
}

/* ---------------------------------------------------------- relays below */

/*
 * Take the RelayInfo entries of a batch from a direct child, by the rule
 * of arb_relayinfo_take: the first is the child's own, the others those
 * of relays below it, taken only from the child that carries them.  The
 * map holds at most AGG_RELAYS_MAX; when it is full a relay not yet in it
 * waits until another is forgotten.
 */
static void
agg_take_relays(struct relay_agg *g, const Arbor__ReportBatch *b)
{
	struct relay_core	*c = g->c;
	Arbor__RelayInfo	 prev = ARBOR__RELAY_INFO__INIT;
	struct relay_info	*ri, *old;
	const char		*carrier, *parent_id;
	int64_t			 now = (int64_t)time(NULL), at;
	size_t			 i;

	if (b->n_relays == 0 || b->relays[0]->node_id[0] == '\0')
		return;
	carrier = b->relays[0]->node_id;
	for (i = 0; i < b->n_relays; i++) {
		const Arbor__RelayInfo *in = b->relays[i];

		if (in->node_id[0] == '\0' ||
		    strcmp(in->node_id, c->c.node_id) == 0)
			continue;
		old = arb_strmap_get(g->relays, in->node_id);
		if (old != NULL) {
			prev.at = old->at;
			prev.carrier = old->carrier;
		}
		if (!arb_relayinfo_take(old ? &prev : NULL, in, carrier,
		    i == 0, now, &at))
			continue;
		if (old == NULL &&
		    arb_strmap_count(g->relays) >= AGG_RELAYS_MAX) {
			if (!g->relays_full)
				log_warnx("relay: %d relays below are known; "
				    "%s (from %s) is not recorded until one "
				    "is forgotten", AGG_RELAYS_MAX,
				    in->node_id, carrier);
			g->relays_full = 1;
			continue;
		}
		/* A child's own entry: we are the parent it names. */
		parent_id = i == 0 ? c->c.node_id : in->parent_id;
		if ((ri = calloc(1, sizeof(*ri))) == NULL ||
		    (ri->parent = strdup(in->parent)) == NULL ||
		    (ri->parent_id = strdup(parent_id)) == NULL ||
		    (ri->carrier = strdup(carrier)) == NULL) {
			if (ri != NULL)
				info_free(ri);
			continue;
		}
		if (old == NULL || old->children != in->children ||
		    old->head_seq != in->head_seq ||
		    old->served != in->served_bytes ||
		    old->rate != in->served_rate ||
		    strcmp(old->parent, in->parent) != 0 ||
		    strcmp(old->parent_id, parent_id) != 0)
			g->info_changed = 1;
		ri->children = in->children;
		ri->head_seq = in->head_seq;
		ri->served = in->served_bytes;
		ri->fetched = in->fetched_bytes;
		ri->rate = in->served_rate;
		ri->at = at;
		old = NULL;
		if (arb_strmap_put(g->relays, in->node_id, ri,
		    (void **)&old) != 0)
			info_free(ri);
		else if (old)
			info_free(old);
	}
}

struct stale_arg {
	int64_t		  before;
	char		**ids;
	size_t		  n;
};

static void
stale_cb(const char *key, void *val, void *arg)
{
	struct relay_info	*ri = val;
	struct stale_arg	*sa = arg;

	if (ri->at < sa->before && (sa->ids[sa->n] = strdup(key)) != NULL)
		sa->n++;
}

/* Forget the relays below not heard of for AGG_RELAY_KEEP. */
static void
agg_prune_relays(struct relay_agg *g)
{
	struct stale_arg	 sa;
	size_t			 i;

	sa.before = (int64_t)time(NULL) - AGG_RELAY_KEEP;
	sa.n = 0;
	if ((sa.ids = calloc(arb_strmap_count(g->relays) + 1,
	    sizeof(*sa.ids))) == NULL)
		return;
	arb_strmap_each(g->relays, stale_cb, &sa);
	for (i = 0; i < sa.n; i++) {
		info_free(arb_strmap_del(g->relays, sa.ids[i]));
		free(sa.ids[i]);
	}
	if (sa.n > 0) {
		log_info("relay: forgot %zu relays below not heard of for "
		    "%d s", sa.n, AGG_RELAY_KEEP);
		g->relays_full = 0;
	}
	free(sa.ids);
}

/*
 * Whether the spool may take more: fewer than spool_max reports, and
 * fewer than spool_size bytes in the store's spool database.  A batch is
 * refused whole when it may not (the child keeps it and sends it again
 * later); nothing already acknowledged is ever dropped.
 */
static int
agg_spool_room(struct relay_agg *g)
{
	struct relay_core	*c = g->c;
	struct arb_txn		*t;
	uint64_t		 n = 0, bytes = 0;
	int			 rv;

	if ((rv = arb_txn_begin(c->c.store, 0, &t)) != 0)
		return rv;
	rv = arb_txn_size(t, ARB_DB_SPOOL, &n, &bytes);
	arb_txn_abort(t);
	if (rv != 0)
		return rv;
	if ((c->c.spool_max > 0 && n >= c->c.spool_max) ||
	    (c->c.spool_size > 0 && bytes >= c->c.spool_size)) {
		if (!g->spool_full)
			log_warnx("relay: reports: spool full (%llu reports, "
			    "%llu bytes): refusing new batches until the "
			    "parent takes some", (unsigned long long)n,
			    (unsigned long long)bytes);
		g->spool_full = 1;
		return ARB_EAGAIN;
	}
	if (g->spool_full)
		log_info("relay: reports: spool has room again");
	g->spool_full = 0;
	return 0;
}

/* Note a refused entry in the ack, and say why once per entry. */
static void
batch_refuse(Arbor__ReportAck *ack, Arbor__Refusal *rf, size_t i,
    const Arbor__Report *r, int rv)
{
	arbor__refusal__init(&rf[ack->n_refused]);
	rf[ack->n_refused].index = (uint32_t)i;
	rf[ack->n_refused].code = rv;
	ack->refused[ack->n_refused] = &rf[ack->n_refused];
	ack->n_refused++;
	ack->rejected++;
	if (r != NULL)
		log_warnx("relay: report from %s seq %llu refused: %s",
		    r->endpoint_id, (unsigned long long)r->seq,
		    rv == ARB_EBADSIG || rv == ARB_EUNKNOWNKEY ?
		    "not signed by the key the root enrolled" :
		    arb_strerror(rv));
}

struct receipt_each {		/* receipts being put in an ack */
	struct arb_txn		*t;
	Arbor__ReportAck	*ack;
};

static void
receipt_each_cb(const char *id, void *val, void *arg)
{
	struct receipt_each	*re = arg;
	Arbor__Signed		*sg;
	Arbor__Receipt		*rc;

	(void)val;
	if (receipt_get(re->t, id, &sg, &rc) != 0)
		return;
	arb_wire_free_receipt(rc);
	re->ack->receipts[re->ack->n_receipts++] = sg;
}

/*
 * The receipts held for every endpoint of the batch (ids) and every one
 * it asks for, into the ack (at most AGG_WANT_MAX more); those asked for
 * are asked of the parent at the next flush.  The caller frees the
 * receipts (arb_wire_free_signed each, then the array).
 */
static void
batch_receipts(struct relay_agg *g, struct arb_txn *t,
    const Arbor__ReportBatch *b, struct arb_strmap *ids, Arbor__ReportAck *ack)
{
	struct receipt_each	re;
	size_t			i;

	for (i = 0; i < b->n_want_receipts && i < AGG_WANT_MAX; i++) {
		const char *id = b->want_receipts[i];

		if (id[0] == '\0')
			continue;
		(void)arb_strmap_put(ids, id, (void *)1, NULL);
		if (arb_strmap_count(g->want) < AGG_WANT_MAX)
			(void)arb_strmap_put(g->want, id, (void *)1, NULL);
	}
	if ((ack->receipts = calloc(arb_strmap_count(ids) + 1,
	    sizeof(*ack->receipts))) == NULL)
		return;
	re.t = t;
	re.ack = ack;
	arb_strmap_each(ids, receipt_each_cb, &re);
}

/*
 * What an agent's own report says of its address: managed once a report
 * verifies with the key the root enrolled; unmanaged when the root does
 * not know or revoked the endpoint, or the signature is not its key's;
 * noted (listed after the grace) while the relay has no word of it.
 */
static void
batch_note(struct relay_core *c, struct arb_req *req, const Arbor__Report *r,
    int rv, enum relay_ep st, char *addr, size_t len)
{
	const char	*why = NULL;
	int		 pending = 0;

	if (addr[0] == '\0' && arb_req_addr(req, addr, len) != 0)
		return;
	if (rv == ARB_EBADSIG || rv == ARB_EUNKNOWNKEY)
		why = "report-refused";
	else if (st == RELAY_EP_UNKNOWN)
		why = "unknown-endpoint";
	else if (st == RELAY_EP_REVOKED)
		why = "revoked";
	else if (rv == 0 && st == RELAY_EP_MANAGED) {
		relay_unm_managed(c, addr);
		return;
	} else if (rv == 0) {
		why = "never-enrolled";
		pending = 1;
	}
	if (why != NULL)
		relay_unm_note(c, addr, why, r->endpoint_id, pending);
}

void
relay_agg_batch(struct relay_core *c, struct arb_req *req,
    Arbor__ReportBatch *b)
{
	struct relay_agg	*g = c->agg;
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT;
	Arbor__ReportAck	 ack = ARBOR__REPORT_ACK__INIT;
	struct arb_txn		*t = NULL;
	struct arb_strmap	*ids = NULL;
	Arbor__Refusal		*rf = NULL;
	Arbor__Report		*r;
	enum relay_ep		 st;
	char			 addr[ARB_NET_ADDR_LEN] = "";
	size_t			 i;
	int			 rv, added;

	c->st.batches_in++;
	c->st.reports_in += b->n_entries;
	if (b->n_entries > 0 && (rv = agg_spool_room(g)) != 0) {
		relay_error(c, req, rv, "reports: spool full, send later");
		return;
	}
	if ((rv = arb_strmap_new(&ids)) != 0 ||
	    (rf = calloc(b->n_entries + 1, sizeof(*rf))) == NULL ||
	    (ack.refused = calloc(b->n_entries + 1,
	    sizeof(*ack.refused))) == NULL) {
		rv = -ENOMEM;
		goto fail;
	}
	/* One commit for every batch of this turn of the loop. */
	if ((rv = arb_group_join(c->group)) != 0 ||
	    (rv = arb_txn_begin(c->c.store, 1, &t)) != 0)
		goto fail;
	for (i = 0; i < b->n_entries; i++) {
		r = NULL;
		if ((rv = arb_wire_decode_report(
		    b->entries[i]->report->body.data,
		    b->entries[i]->report->body.len, &r)) == 0) {
			if (arb_strmap_count(ids) < AGG_WANT_MAX)
				(void)arb_strmap_put(ids, r->endpoint_id,
				    (void *)1, NULL);
			rv = spool_put(c, t, b->entries[i], r, &added, &st);
			/* The child's own report: its address tells. */
			if (b->entries[i]->n_via == 0)
				batch_note(c, req, r, rv, st, addr,
				    sizeof(addr));
		}
		/* Malformed, or not what its endpoint signed: refused. */
		if (rv == ARB_EPROTO || rv == ARB_EBADSIG ||
		    rv == ARB_EUNKNOWNKEY || rv == ARB_EAGAIN) {
			batch_refuse(&ack, rf, i, r, rv);
			arb_wire_free_report(r);
			continue;
		}
		arb_wire_free_report(r);
		if (rv != 0)
			break;
		ack.accepted++;
		g->spooled += (uint64_t)added;
	}
	if (rv != 0 && rv != ARB_EPROTO && rv != ARB_EBADSIG &&
	    rv != ARB_EUNKNOWNKEY && rv != ARB_EAGAIN) {
		arb_txn_abort(t);
		t = NULL;
		goto fail;
	}
	batch_receipts(g, t, b, ids, &ack);
	if ((rv = arb_txn_commit(t)) != 0) {
		t = NULL;
		goto fail;
	}
	agg_take_relays(g, b);
	relay_unm_take(c, b);
	/* Acknowledged only once the group is committed. */
	env.body_case = ARBOR__ENVELOPE__BODY_REPORT_ACK;
	env.report_ack = &ack;
	arb_group_defer(c->group, req, &env, NULL, NULL);
	if (g->spooled >= c->c.report_max)
		agg_flush(g);
	goto out;
fail:
	if (t != NULL)
		arb_txn_abort(t);
	relay_error(c, req, rv, "reports: spool");
out:
	for (i = 0; i < ack.n_receipts; i++)
		arb_wire_free_signed(ack.receipts[i]);
	free(ack.receipts);
	free(ack.refused);
	free(rf);
	arb_strmap_free(ids, NULL);
}

/* ---------------------------------------------------------------- flush */

struct batch_arg {	/* the entries of the batch being made */
	Arbor__ReportEntry	**entries;
	size_t			  n;
};

static int
spool_take_cb(const void *key, size_t klen, uint64_t seq,
    const uint8_t *data, size_t len, void *arg)
{
	struct batch_arg *co = arg;

	(void)key;
	(void)klen;
	(void)seq;
	if (arb_wire_decode_entry(data, len, &co->entries[co->n]) != 0)
		return 1;		/* unreadable: leave it */
	co->n++;
	return 0;
}

struct info_arg {
	Arbor__RelayInfo	**v;
	Arbor__RelayInfo	 *store;
	size_t			  n;
};

static void
info_cb(const char *key, void *val, void *arg)
{
	struct relay_info	*ri = val;
	struct info_arg		*ia = arg;
	Arbor__RelayInfo	*o = &ia->store[ia->n];

	arbor__relay_info__init(o);
	o->node_id = (char *)key;
	o->parent = ri->parent;
	o->parent_id = ri->parent_id;
	o->children = ri->children;
	o->head_seq = ri->head_seq;
	o->served_bytes = ri->served;
	o->fetched_bytes = ri->fetched;
	o->served_rate = ri->rate;
	o->at = ri->at;
	ia->v[ia->n++] = o;
}

static void
agg_ack_cb(int rv, Arbor__Envelope *env, void *arg)
{
	struct pending		*p = arg;
	struct relay_agg	*g = pending_end(p);
	struct relay_core	*c;
	size_t			 deleted = 0;

	if (g == NULL)
		return;
	c = g->c;
	g->inflight = 0;
	if (rv != 0) {
		log_warnx("relay: reports: parent did not take the batch: %s",
		    arb_strerror(rv));
		g->info_changed = 1;	/* say it again */
		relay_unm_sent(c, 0);
		(void)arb_queue_failed(&g->spool, uv_now(c->c.loop));
		goto out;
	}
	if (env->report_ack->rejected > 0)
		log_warnx("relay: reports: parent refused %u of %zu",
		    env->report_ack->rejected, g->sent.n);
	/* Receipts for the children, and endpoint keys for the checks. */
	if ((rv = relay_agg_receipts_keep(c, env->report_ack->receipts,
	    env->report_ack->n_receipts)) != 0)
		log_warnx("relay: reports: a receipt from the parent: %s",
		    arb_strerror(rv));
	/* Delete what was sent, unless a newer report replaced it. */
	if ((rv = arb_queue_ack(&g->spool, &g->sent, &deleted, NULL)) != 0)
		goto out;
	c->st.batches_up++;
	c->st.reports_up += g->sent.n;
	g->last_ack_ms = uv_now(c->c.loop);
	log_debug("relay: reports: %zu sent up, %zu cleared", g->sent.n,
	    deleted);
out:
	arb_queue_sent_clear(&g->sent);
	/*
	 * The tick that came while this batch was in flight is sent now, as
	 * is a spool that filled meanwhile; anything else waits for the next
	 * tick, so the parent hears at most once per interval.
	 */
	if (rv == 0 && g->spooled > 0 &&
	    (g->tick_missed || g->spooled >= c->c.report_max))
		agg_flush(g);
}

struct want_arg {		/* the receipts a batch asks for */
	char	**v;
	size_t	 *n;
};

static void
want_cb(const char *key, void *val, void *arg)
{
	struct want_arg *wa = arg;

	(void)val;
	wa->v[(*wa->n)++] = (char *)key;
}

/* 1 when the relay info to send says something the last one did not. */
static int
agg_info_changed(const struct relay_agg *g, const Arbor__RelayInfo *self)
{
	return g->info_changed || self->children != g->sent_children ||
	    self->head_seq != g->sent_head_seq || g->sent_parent == NULL ||
	    self->served_bytes != g->sent_served || g->sent_rate != 0 ||
	    strcmp(self->parent, g->sent_parent) != 0;
}

/* Bytes served a second since the entry sent before. */
static uint64_t
agg_rate(const struct relay_agg *g, uint64_t served, uint64_t now)
{
	if (g->sent_info_ms == 0 || now <= g->sent_info_ms ||
	    served < g->sent_served)
		return 0;
	return (served - g->sent_served) * 1000 / (now - g->sent_info_ms);
}

/* Remember what the relay info sent said. */
static void
agg_info_sent(struct relay_agg *g, const Arbor__RelayInfo *self)
{
	free(g->sent_parent);
	g->sent_parent = strdup(self->parent);	/* NULL: sent again */
	g->sent_children = self->children;
	g->sent_head_seq = self->head_seq;
	g->sent_served = self->served_bytes;
	g->sent_rate = self->served_rate;
	g->info_changed = 0;
}

static void
agg_flush(struct relay_agg *g)
{
	struct relay_core	*c = g->c;
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT;
	Arbor__ReportBatch	 b = ARBOR__REPORT_BATCH__INIT;
	Arbor__RelayInfo	 self = ARBOR__RELAY_INFO__INIT;
	struct batch_arg	 co;
	struct arb_queue_sent	 sent;
	struct info_arg		 ia;
	struct want_arg		 wa;
	struct pending		*p;
	uint64_t		 now = uv_now(c->c.loop);
	char			**want = NULL;
	size_t			 i, nrel, nwant = 0;
	int			 rv;

	/* One batch in flight; none while a failure's back-off runs. */
	if (g->inflight) {
		g->tick_missed = 1;
		return;
	}
	if (!arb_queue_ready(&g->spool, now) || g->want == NULL)
		return;
	g->tick_missed = 0;
	memset(&co, 0, sizeof(co));
	memset(&sent, 0, sizeof(sent));
	memset(&ia, 0, sizeof(ia));
	agg_prune_relays(g);
	nrel = arb_strmap_count(g->relays) + 1;
	co.entries = calloc(AGG_BATCH_MAX, sizeof(*co.entries));
	ia.v = calloc(nrel, sizeof(*ia.v));
	ia.store = calloc(nrel, sizeof(*ia.store));
	if (!co.entries || !ia.v || !ia.store)
		goto out;
	/* The unmanaged addresses ride along, within the same bytes. */
	if (relay_unm_fill(c, &b) != 0)
		goto out;
	if (arb_queue_collect(&g->spool, AGG_BATCH_MAX, AGG_BATCH_BYTES -
	    b.n_unmanaged * AGG_UNMANAGED_BYTES, 0, spool_take_cb, &co,
	    &sent) != 0)
		goto out;
	/*
	 * Receipts asked for ride with reports, or with an idle batch at most
	 * every AGG_IDLE_MS; news of this relay (a child that appeared) goes
	 * at the next tick.
	 */
	if (co.n == 0 && !g->info_changed && !relay_unm_changed(c) &&
	    c->st.chunk_bytes == g->sent_served && g->sent_rate == 0 &&
	    now - g->last_up_ms < AGG_IDLE_MS)
		goto out;
	if ((want = calloc(arb_strmap_count(g->want) + 1,
	    sizeof(*want))) == NULL)
		goto out;
	wa.v = want;
	wa.n = &nwant;
	arb_strmap_each(g->want, want_cb, &wa);

	self.node_id = (char *)c->c.node_id;
	self.parent = (char *)arb_link_parent(c->c.link);
	self.children = relay_children(c, (int64_t)time(NULL) -
	    AGG_CHILD_WINDOW);
	self.head_seq = c->head_seq;
	self.served_bytes = c->st.chunk_bytes;
	self.fetched_bytes = c->st.fetched_bytes;
	self.served_rate = agg_rate(g, self.served_bytes, now);
	self.at = (int64_t)time(NULL);
	/* Nothing to report, ask or say: a heartbeat at most. */
	if (co.n == 0 && nwant == 0 && !agg_info_changed(g, &self) &&
	    !relay_unm_changed(c) && g->last_up_ms != 0 && now - g->last_up_ms < AGG_HEARTBEAT_MS)
		goto out;
	ia.v[ia.n++] = &self;
	arb_strmap_each(g->relays, info_cb, &ia);

	b.entries = co.entries;
	b.n_entries = co.n;
	b.relays = ia.v;
	b.n_relays = ia.n;
	b.want_receipts = want;
	b.n_want_receipts = nwant;
	env.body_case = ARBOR__ENVELOPE__BODY_REPORT_BATCH;
	env.report_batch = &b;
	if ((p = pending_new(g)) == NULL)
		goto out;
	if ((rv = arb_link_request(c->c.link, &env,
	    ARBOR__ENVELOPE__BODY_REPORT_ACK, agg_ack_cb, p)) != 0) {
		pending_end(p);
		log_debug("relay: reports: %s", arb_strerror(rv));
		(void)arb_queue_failed(&g->spool, now);
		goto out;
	}
	g->inflight = 1;
	g->last_up_ms = now;
	relay_unm_sent(c, 1);
	g->spooled = 0;
	agg_info_sent(g, &self);
	g->sent_info_ms = now;
	g->sent = sent;
	memset(&sent, 0, sizeof(sent));
	/* Asked: the children ask again if the answer does not come. */
	arb_strmap_free(g->want, NULL);
	g->want = NULL;
	(void)arb_strmap_new(&g->want);
out:
	free(b.unmanaged);
	free(want);
	for (i = 0; i < co.n; i++)
		arb_wire_free_entry(co.entries[i]);
	arb_queue_sent_clear(&sent);
	free(co.entries);
	free(ia.v);
	free(ia.store);
}

static void
agg_timer_cb(uv_timer_t *t)
{
	agg_flush(t->data);
}

/* ---------------------------------------------------------------- life */

int
relay_agg_new(struct relay_core *c)
{
	struct relay_agg	*g;
	int			 rv;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return -ENOMEM;
	g->c = c;
	arb_queue_init(&g->spool, c->c.store, ARB_DB_SPOOL);
	if ((rv = arb_strmap_new(&g->relays)) != 0 ||
	    (rv = arb_strmap_new(&g->want)) != 0 ||
	    (g->timer = calloc(1, sizeof(*g->timer))) == NULL) {
		arb_strmap_free(g->want, NULL);
		arb_strmap_free(g->relays, NULL);
		free(g);
		return rv ? rv : -ENOMEM;
	}
	uv_timer_init(c->c.loop, g->timer);
	g->timer->data = g;
	uv_timer_start(g->timer, agg_timer_cb, (uint64_t)c->c.report_ms,
	    (uint64_t)c->c.report_ms);
	c->agg = g;
	return 0;
}

void
relay_agg_free(struct relay_core *c)
{
	struct relay_agg	*g = c->agg;
	struct pending		*p, *pn;

	/* Requests in flight upward end later: cut them loose. */
	for (p = g->pending; p; p = pn) {
		pn = p->next;
		p->agg = NULL;
	}
	uv_timer_stop(g->timer);
	uv_close((uv_handle_t *)g->timer, timer_free_cb);
	arb_strmap_free(g->relays, info_free);
	arb_strmap_free(g->want, NULL);
	arb_queue_sent_clear(&g->sent);
	free(g->sent_parent);
	free(g);
	c->agg = NULL;
}

void
relay_agg_spool(struct relay_core *c, uint64_t *depthp, uint64_t *agep)
{
	struct relay_agg	*g = c->agg;
	struct arb_txn		*t;
	uint64_t		 n = 0;

	if (g != NULL && arb_txn_begin(c->c.store, 0, &t) == 0) {
		(void)arb_txn_count(t, ARB_DB_SPOOL, &n);
		arb_txn_abort(t);
	}
	*depthp = n;
	*agep = g != NULL && g->last_ack_ms != 0 ?
	    uv_now(c->c.loop) - g->last_ack_ms : 0;
}
