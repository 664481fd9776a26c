/*
 * Fan-in at the root: enrolments and report batches are judged here, and
 * the per-policy counts by state are kept.
 *
 * The root is the only node that knows the endpoint keys, so it is where a
 * report is judged: its signature must verify with the key the endpoint
 * enrolled, and its sequence number must be newer than the last one taken
 * for the same (endpoint, policy).  A relay that forges, alters or replays
 * a report is caught here.  One LMDB transaction per batch; the per-policy
 * counts by state are kept in memory, rebuilt from the status database at
 * start and changed only after the batch commits.
 *
 * The judging itself (root_fanin_take, root_fanin_batch) and the counts
 * (root_counts_load, root_counts_apply) need only a store transaction and
 * a map, not a running root, so that tests and the fuzzer can drive them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "arbor/ca.h"
#include "arbor/catalog.h"
#include "arbor/error.h"
#include "arbor/log.h"
#include "arbor/report.h"
#include "arbor/strmap.h"
#include "root.h"

/* Receipts one ack carries at most, and their bytes: well under the max. */
#define ROOT_ACK_RECEIPTS	4096
#define ROOT_ACK_BYTES		(512 * 1024)

static int64_t
now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* ---------------------------------------------------------------- counts */

static struct root_pcounts *
counts_for(struct arb_strmap *counts, const char *policy)
{
	struct root_pcounts *pc;

	if ((pc = arb_strmap_get(counts, policy)) != NULL)
		return pc;
	if ((pc = calloc(1, sizeof(*pc))) == NULL)
		return NULL;
	if (arb_strmap_put(counts, policy, pc, NULL) != 0) {
		free(pc);
		return NULL;
	}
	return pc;
}

void
root_counts_apply(struct arb_strmap *counts, const struct root_delta *d)
{
	struct root_pcounts *pc = counts_for(counts, d->policy);

	/* Both states come from decoded reports; bound them all the same. */
	if (pc == NULL || d->to < 0 || d->to >= ARB_ST_COUNT ||
	    d->from >= ARB_ST_COUNT)
		return;
	/*
	 * The counts are those of the newest version reported: a report of
	 * an older one never counts for a newer (a relay that withholds the
	 * v2 results must not leave v1's "fixed" standing for v2).
	 */
	if (d->version < pc->version)
		return;
	if (d->version > pc->version) {
		memset(pc->v, 0, sizeof(pc->v));
		pc->version = d->version;
	}
	if (d->from >= 0 && pc->v[d->from] > 0)
		pc->v[d->from]--;
	pc->v[d->to]++;
}

static int
load_cb(const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
	struct arb_strmap	*counts = arg;
	Arbor__Report		*rep;
	struct root_delta	 d;

	(void)key;
	(void)klen;
	if (arb_wire_decode_report(val, vlen, &rep) != 0)
		return 0;
	if (rep->policy_id[0] != '\0' && rep->state < ARB_ST_COUNT) {
		snprintf(d.policy, sizeof(d.policy), "%s", rep->policy_id);
		d.from = -1;
		d.to = (int)rep->state;
		d.version = rep->version;
		root_counts_apply(counts, &d);
	}
	arb_wire_free_report(rep);
	return 0;
}

int
root_counts_load(struct arb_strmap *counts, struct arb_txn *t)
{
	return arb_txn_foreach(t, ARB_DB_STATUS, load_cb, counts);
}

int
root_status_load(struct root *r)
{
	struct arb_txn	*t;
	void		*v;
	size_t		 n;
	int		 rv;

	if ((rv = arb_strmap_new(&r->counts)) != 0)
		return rv;
	if (arb_store_get(r->store, ARB_DB_META, "counters", 8, &v, &n) == 0) {
		if (n == sizeof(r->ctr))
			memcpy(&r->ctr, v, n);
		free(v);
	}
	if (arb_store_get(r->store, ARB_DB_META, "refusals", 8, &v,
	    &n) == 0) {
		if (n == sizeof(r->refusals))
			memcpy(&r->refusals, v, n);
		free(v);
	}
	if ((rv = arb_txn_begin(r->store, 0, &t)) != 0)
		return rv;
	rv = root_counts_load(r->counts, t);
	arb_txn_abort(t);
	return rv;
}

void
root_status_free(struct root *r)
{
	arb_strmap_free(r->counts, free);
	r->counts = NULL;
}

/* ------------------------------------------------------------ enrolment */

static int
token_ok(const struct root *r, const char *token)
{
	size_t i;

	for (i = 0; i < r->conf->ntokens; i++)
		if (strcmp(r->conf->tokens[i], token) == 0)
			return 1;
	return 0;
}

/*
 * The TLS client certificate an enrolling endpoint asked for: its
 * request signed by the enrolment CA, named by its id, for cert_valid
 * from now (and from a minute before, for clocks a little behind).
 */
static int
root_issue_cert(struct root *r, const char *id, const char *csr,
    char **certp)
{
	int	rv;

	if (r->conf->enroll_ca == NULL) {
		log_warnx("root: %s asks for a TLS certificate, and no "
		    "enroll_ca is configured", id);
		return ARB_EPERM;
	}
	if ((rv = arb_ca_sign(r->conf->enroll_ca, (const uint8_t *)csr,
	    strlen(csr), id, ARB_CERT_CLIENT, 60,
	    r->conf->cert_valid_ms / 1000 + 60, certp)) != 0)
		log_warnx("root: certificate for %s: %s", id,
		    arb_strerror(rv));
	return rv;
}

/*
 * What the root holds of endpoint id, for the polls of the endpoints
 * that reach it directly (enum relay_ep): a relay asks its receipts.
 */
int
root_endpoint_state(void *arg, const char *id)
{
	struct root		*r = arg;
	Arbor__EndpointRecord	*rec = NULL;
	struct arb_txn		*t;
	void			*v;
	size_t			 n;
	int			 st = RELAY_EP_UNSEEN;

	if (arb_txn_begin(r->store, 0, &t) != 0)
		return st;
	if (arb_txn_get(t, ARB_DB_ENDPOINTS, id, strlen(id), &v, &n) == 0) {
		if (arb_wire_decode_eprec(v, n, &rec) == 0)
			st = rec->revoked ? RELAY_EP_REVOKED : RELAY_EP_MANAGED;
		free(v);
	}
	arb_txn_abort(t);
	arb_wire_free_eprec(rec);
	return st;
}

/* Count a refused enrolment (kept with the loop turn's group). */
static void
enrol_refused(struct root *r, struct arb_req *req, const Arbor__Enroll *en,
    enum root_enrol_why why, const char *id, const char *host)
{
	/* No relay between: the root lists the machine itself. */
	if (en->n_via == 0)
		relay_core_unmanaged_note(r->core, req, "enrol-refused", id);
	r->refusals.enrol[why]++;
	(void)arb_store_put(r->store, ARB_DB_META, "refusals", 8,
	    &r->refusals, sizeof(r->refusals));
	log_warnx("root: enrolment of %s (%s) refused: %s", id, host,
	    root_enrol_why_name(why));
	root_reply_error(req, ARB_EPERM, root_enrol_why_name(why));
}

void
root_enroll(void *arg, struct arb_req *req, Arbor__Enroll *en)
{
	struct root		*r = arg;
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT;
	Arbor__EnrollReply	 er = ARBOR__ENROLL_REPLY__INIT;
	Arbor__EndpointRecord	 rec = ARBOR__ENDPOINT_RECORD__INIT, *old = NULL;
	Arbor__Signed		 rs = ARBOR__SIGNED__INIT;
	Arbor__EnrollBody	*b = NULL;
	Arbor__TokenRecord	*tk = NULL;
	struct arb_txn		*t = NULL;
	struct arb_key		*k = NULL;
	enum root_enrol_why	 why;
	uint8_t			 kid[ARB_KEYID_LEN], *buf = NULL;
	char			 id[ARB_EPID_HEX], *cert = NULL;
	void			*v;
	size_t			 n, len;
	int64_t			 now = (int64_t)time(NULL);
	int			 rv, same;

	if ((rv = arb_wire_decode_enroll(en->enroll->body.data,
	    en->enroll->body.len, &b)) != 0) {
		root_reply_error(req, rv, "enrol");
		return;
	}
	/* Thousands enrol at once: one commit for all of a loop turn's. */
	if ((rv = arb_group_join(relay_core_commit_group(r->core))) != 0)
		goto fail;
	/* The endpoint proves it holds the key its id derives from. */
	if ((rv = arb_key_from_raw_public(b->pubkey.data, &k)) != 0 ||
	    (rv = arb_key_id(k, kid)) != 0 ||
	    (rv = arb_endpoint_id_raw(b->pubkey.data, id)) != 0)
		goto fail;
	if (memcmp(kid, en->enroll->key_id.data, ARB_KEYID_LEN) != 0 ||
	    strcmp(id, b->endpoint_id) != 0) {
		rv = ARB_EUNKNOWNKEY;
		goto fail;
	}
	if ((rv = arb_verify(k, en->enroll->body.data, en->enroll->body.len,
	    en->enroll->sig.data, en->enroll->sig.len)) != 0)
		goto fail;
	/* The token's use and the record: one transaction, or neither. */
	if ((rv = arb_txn_begin(r->store, 1, &t)) != 0)
		goto fail;
	if (arb_txn_get(t, ARB_DB_ENDPOINTS, id, strlen(id), &v, &n) == 0) {
		if (arb_wire_decode_eprec(v, n, &old) != 0)
			old = NULL;
		free(v);
	}
	if (old != NULL && old->revoked) {
		arb_txn_abort(t);
		enrol_refused(r, req, en, ROOT_ENR_REVOKED, id, b->hostname);
		goto out;
	}
	/*
	 * The key already enrolled (its id derives from it, and it signed
	 * this) needs no token again: a certificate renewal, or an agent
	 * whose reply was lost.  Else the configuration's tokens first (the
	 * bootstrap path), then the stored ones.
	 */
	same = old != NULL && old->pubkey.len == b->pubkey.len &&
	    memcmp(old->pubkey.data, b->pubkey.data, b->pubkey.len) == 0;
	if (!same && !token_ok(r, b->token) && (rv = root_token_take(t,
	    b->token, old, now, &tk, &why)) != 0) {
		arb_txn_abort(t);
		if (rv != ARB_EPERM) {
			t = NULL;
			goto fail;
		}
		enrol_refused(r, req, en, why, id, b->hostname);
		goto out;
	}
	rec.enrolled_at = now;
	if (old != NULL) {
		rec.enrolled_at = old->enrolled_at;
		/* Enrolled again: what it reported still stands. */
		rec.taken = old->taken;
		rec.n_taken = old->n_taken;
	}
	rec.pubkey = b->pubkey;
	rec.hostname = b->hostname;
	rec.last_contact = now;
	rec.via = en->via;
	rec.n_via = en->n_via;
	if (tk != NULL) {
		rec.token_id = tk->id;
		rec.groups = tk->groups;
		rec.n_groups = tk->n_groups;
	} else if (same) {
		rec.token_id = old->token_id;
		rec.groups = old->groups;
		rec.n_groups = old->n_groups;
	}
	if (b->csr != NULL && b->csr[0] != '\0' &&
	    (rv = root_issue_cert(r, id, b->csr, &cert)) != 0) {
		arb_txn_abort(t);
		t = NULL;
		goto fail;
	}
	rv = arb_wire_encode_eprec(&rec, &buf, &len);
	if (rv == 0)
		rv = arb_txn_put(t, ARB_DB_ENDPOINTS, id, strlen(id), buf,
		    len);
	if (rv != 0) {
		arb_txn_abort(t);
		t = NULL;
		goto fail;
	}
	rv = arb_txn_commit(t);
	t = NULL;
	/* The receipt binds id to its key: relays and the agent check it. */
	if (rv != 0 || (rv = root_sign_receipt(r, id, &rec, &rs)) != 0)
		goto fail;
	if (en->n_via == 0)
		relay_core_unmanaged_managed(r->core, req);
	log_info("root: endpoint %s (%s) enrolled via %zu relays%s%s", id,
	    b->hostname, en->n_via, tk ? " with token " : "",
	    tk ? tk->id : "");
	er.endpoint_id = id;
	er.receipt = &rs;
	er.cert = cert;
	env.body_case = ARBOR__ENVELOPE__BODY_ENROLL_REPLY;
	env.enroll_reply = &er;
	arb_group_defer(relay_core_commit_group(r->core), req, &env, NULL,
	    NULL);
	goto out;
fail:
	if (en->n_via == 0 && rv != ARB_ESTORE && rv != -ENOMEM)
		relay_core_unmanaged_note(r->core, req, "enrol-refused",
		    b ? b->endpoint_id : NULL);
	r->refusals.enrol[ROOT_ENR_INVALID]++;
	log_warnx("root: enrolment refused: %s", arb_strerror(rv));
	root_reply_error(req, rv, "enrol");
out:
	free(cert);
	arb_signed_clear(&rs);
	arb_wire_free_token(tk);
	arb_wire_free_eprec(old);
	free(buf);
	if (k)
		arb_key_free(k);
	arb_wire_free_enroll(b);
}

/* -------------------------------------------------------------- reports */

/*
 * Point rec->taken at a list that holds rep as the policy's latest: the
 * entry in place if the policy has one, else a copy of the list in *tvp
 * (freed by the caller) with *te added.  The caller puts rec->taken back.
 */
static int
take_note(Arbor__EndpointRecord *rec, const Arbor__Report *rep,
    Arbor__ReceiptEntry *te, Arbor__ReceiptEntry ***tvp)
{
	size_t i;

	for (i = 0; i < rec->n_taken; i++)
		if (strcmp(rec->taken[i]->policy_id, rep->policy_id) == 0) {
			rec->taken[i]->seq = rep->seq;
			rec->taken[i]->version = rep->version;
			return 0;
		}
	if (rec->n_taken > ARB_MAX_POLICIES)
		return ARB_ETOOBIG;
	if ((*tvp = calloc(rec->n_taken + 1, sizeof(**tvp))) == NULL)
		return -ENOMEM;
	arbor__receipt_entry__init(te);
	te->policy_id = rep->policy_id;
	te->seq = rep->seq;
	te->version = rep->version;
	if (rec->n_taken > 0)
		memcpy(*tvp, rec->taken, rec->n_taken * sizeof(**tvp));
	(*tvp)[rec->n_taken] = te;
	rec->taken = *tvp;
	rec->n_taken++;
	return 0;
}

/*
 * The record's history with rep's state after it, into hv (the caller's
 * ARB_HISTORY_MAX slots, borrowing the record's entries and he): the
 * oldest dropped once it holds ARB_HISTORY_MAX.  Only a change is kept:
 * a report of the state the root already held for that policy and
 * version (from) is not.
 */
static void
history_note(Arbor__EndpointRecord *rec, const Arbor__Report *rep, int from,
    Arbor__HistoryEntry *he, Arbor__HistoryEntry **hv)
{
	size_t	skip = 0;

	if (rep->policy_id[0] == '\0' || rep->state >= ARB_ST_COUNT ||
	    from == (int)rep->state)
		return;
	arbor__history_entry__init(he);
	he->policy_id = rep->policy_id;
	he->version = rep->version;
	he->state = rep->state;
	he->exit_code = rep->exit_code;
	he->at = (int64_t)time(NULL);
	if (rec->n_history >= ARB_HISTORY_MAX)
		skip = rec->n_history - ARB_HISTORY_MAX + 1;
	if (rec->n_history > skip)
		memcpy(hv, rec->history + skip,
		    (rec->n_history - skip) * sizeof(*hv));
	hv[rec->n_history - skip] = he;
	rec->history = hv;
	rec->n_history = rec->n_history - skip + 1;
}

/* The status it holds for rep's endpoint and policy is these bytes. */
static int
held_already(struct arb_txn *t, const Arbor__Report *rep,
    const Arbor__Signed *sg)
{
	uint8_t	 key[ARB_REPORT_KEY_MAX];
	void	*v;
	size_t	 klen, n;
	int	 same;

	if ((klen = arb_report_key(rep->endpoint_id, rep->policy_id,
	    key)) == 0 || arb_txn_get(t, ARB_DB_STATUS, key, klen, &v,
	    &n) != 0)
		return 0;
	same = n == sg->body.len && memcmp(v, sg->body.data, n) == 0;
	free(v);
	return same;
}

int
root_fanin_take(struct arb_txn *t, const Arbor__ReportEntry *e,
    struct root_delta *dp, int *hasdelta)
{
	const Arbor__Signed	*sg = e->report;
	Arbor__Report		*rep = NULL, *prev = NULL;
	Arbor__EndpointRecord	*rec = NULL;
	Arbor__Inventory	*old_inv;
	Arbor__ReceiptEntry	**old_taken, **tv = NULL, te;
	Arbor__HistoryEntry	*hv[ARB_HISTORY_MAX], **old_hist, he;
	char			**old_via, *old_relay;
	size_t			 old_nvia, old_ntaken, old_nhist;
	struct arb_key		*k = NULL;
	uint8_t			 key[ARB_REPORT_KEY_MAX], *buf = NULL;
	void			*v;
	size_t			 n, klen, len, a, b;
	int			 rv;

	*hasdelta = 0;
	if ((rv = arb_wire_decode_report(sg->body.data, sg->body.len,
	    &rep)) != 0) {
		log_warnx("root: report via %s refused: %s (a state that "
		    "does not exist, no sequence number, or a bad id)",
		    e->n_via ? e->via[e->n_via - 1] : "direct",
		    arb_strerror(rv));
		return rv;
	}
	if (arb_txn_get(t, ARB_DB_ENDPOINTS, rep->endpoint_id,
	    strlen(rep->endpoint_id), &v, &n) != 0) {
		rv = ARB_ENOTFOUND;	/* not enrolled */
		goto out;
	}
	rv = arb_wire_decode_eprec(v, n, &rec);
	free(v);
	if (rv != 0)
		goto out;
	/*
	 * The very report it holds, sent again because an ack was lost (a
	 * batch that timed out on a loaded path comes again whole): taken,
	 * and nothing changes.  Those bytes were verified when they were
	 * taken, so a batch sent again costs no verification.
	 */
	if (!rec->revoked && held_already(t, rep, sg)) {
		log_debug("root: report %s seq %llu: held already",
		    rep->endpoint_id, (unsigned long long)rep->seq);
		goto out;
	}
	/* Signed by the key it enrolled, over the exact bytes received. */
	if ((rv = arb_key_from_raw_public(rec->pubkey.data, &k)) != 0 ||
	    (rv = arb_signed_verify(k, sg)) != 0)
		goto out;
	/* Its own, from an endpoint the operator revoked: refused. */
	if (rec->revoked) {
		rv = ARB_EREVOKED;
		goto out;
	}

	a = strlen(rep->endpoint_id);
	b = strlen(rep->policy_id);
	if ((klen = arb_report_key(rep->endpoint_id, rep->policy_id,
	    key)) == 0) {
		rv = ARB_EPROTO;
		goto out;
	}
	dp->from = -1;
	if (arb_txn_get(t, ARB_DB_STATUS, key, klen, &v, &n) == 0) {
		rv = arb_wire_decode_report(v, n, &prev);
		free(v);
		if (rv == 0 && (prev->seq >= rep->seq ||
		    prev->version > rep->version)) {
			rv = ARB_ESTALE;	/* replayed, or an older version */
			goto out;
		}
		/* Counted under its version: another version's is not. */
		if (rv == 0 && prev->version == rep->version)
			dp->from = (int)prev->state;
	}
	if ((rv = arb_txn_put(t, ARB_DB_STATUS, key, klen, sg->body.data,
	    sg->body.len)) != 0)
		goto out;

	/* Last contact, path and inventory go with the endpoint. */
	/* Borrow the new path and inventory; put the record's own back. */
	old_via = rec->via;
	old_nvia = rec->n_via;
	old_inv = rec->inventory;
	old_taken = rec->taken;
	old_ntaken = rec->n_taken;
	rec->last_contact = (int64_t)time(NULL);
	rec->via = e->via;
	rec->n_via = e->n_via;
	/* The relay it uses: its newest report's word (reports of different
	 * policies may arrive out of order). */
	old_relay = rec->relay;
	if (rep->relay[0] != '\0' && rep->seq > rec->relay_seq) {
		rec->relay = rep->relay;
		rec->relay_seq = rep->seq;
	}
	if (rep->inventory != NULL)	/* alone, or with an action's result */
		rec->inventory = rep->inventory;
	if (rep->inventory_delta != NULL && (rv = root_inv_take(t, rec,
	    rep->endpoint_id, rep->inventory_delta)) != 0) {
		rec->via = old_via;
		rec->n_via = old_nvia;
		rec->inventory = old_inv;
		rec->relay = old_relay;
		goto out;
	}
	/* What its next receipt says: this policy's latest, at this seq. */
	old_hist = rec->history;
	old_nhist = rec->n_history;
	history_note(rec, rep, dp->from, &he, hv);
	if ((rv = take_note(rec, rep, &te, &tv)) == 0)
		rv = arb_wire_encode_eprec(rec, &buf, &len);
	rec->history = old_hist;
	rec->n_history = old_nhist;
	rec->via = old_via;
	rec->n_via = old_nvia;
	rec->inventory = old_inv;
	rec->relay = old_relay;
	rec->taken = old_taken;
	rec->n_taken = old_ntaken;
	free(tv);
	if (rv != 0 || (rv = arb_txn_put(t, ARB_DB_ENDPOINTS,
	    rep->endpoint_id, a, buf, len)) != 0)
		goto out;
	if (b > 0 && rep->state < ARB_ST_COUNT) {
		snprintf(dp->policy, sizeof(dp->policy), "%s", rep->policy_id);
		dp->to = (int)rep->state;
		dp->version = rep->version;
		*hasdelta = 1;
	}
	log_debug("root: report %s seq %llu: %s %s", rep->endpoint_id,
	    (unsigned long long)rep->seq, rep->policy_id,
	    arb_state_name(rep->state));
out:
	if (rv != 0)
		log_warnx("root: report from %s seq %llu via %s refused: %s",
		    rep->endpoint_id, (unsigned long long)rep->seq,
		    e->n_via ? e->via[e->n_via - 1] : "direct",
		    rv == ARB_ESTALE ? "replayed (sequence already seen) "
		    "or an older version" :
		    rv == ARB_ENOTFOUND ? "unknown endpoint" :
		    rv == ARB_EREVOKED ? "the endpoint is revoked" :
		    arb_strerror(rv));
	free(buf);
	if (k)
		arb_key_free(k);
	arb_wire_free_eprec(rec);
	arb_wire_free_report(prev);
	arb_wire_free_report(rep);
	return rv;
}

/*
 * The relays the root remembers (for arborctl tree): at most
 * ROOT_RELAYS_MAX, so that the tree always fits one reply; when full, one
 * not heard of for ROOT_RELAY_KEEP makes room.
 */
#define ROOT_RELAYS_MAX		2048
#define ROOT_RELAY_KEEP		(7 * 86400)	/* s */
/* Bad signatures one batch may cost before the rest go unverified. */
#define ROOT_BADSIG_MAX		32

struct relay_prune {
	int64_t		 before;
	char		 ids[16][ARB_MAX_ID + 1];
	size_t		 n;
};

static int
relay_prune_cb(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg)
{
	struct relay_prune	*rp = arg;
	Arbor__RelayInfo	*ri;
	int			 stale = 1;

	if (klen > ARB_MAX_ID)
		return 0;
	if (arb_wire_decode_relayinfo(val, vlen, &ri) == 0) {
		stale = ri->at < rp->before;
		arb_wire_free_relayinfo(ri);
	}
	if (stale) {
		memcpy(rp->ids[rp->n], key, klen);
		rp->ids[rp->n][klen] = '\0';
		if (++rp->n == sizeof(rp->ids) / sizeof(rp->ids[0]))
			return 1;
	}
	return 0;
}

/* Room for one more relay: 0, or ARB_EAGAIN when none is stale. */
static int
relays_room(struct arb_txn *t, int64_t now)
{
	struct relay_prune	rp;
	uint64_t		n;
	size_t			i;

	if (arb_txn_count(t, ARB_DB_RELAYS, &n) != 0)
		return ARB_EAGAIN;
	if (n < ROOT_RELAYS_MAX)
		return 0;
	rp.before = now - ROOT_RELAY_KEEP;
	rp.n = 0;
	(void)arb_txn_foreach(t, ARB_DB_RELAYS, relay_prune_cb, &rp);
	for (i = 0; i < rp.n; i++)
		(void)arb_txn_del(t, ARB_DB_RELAYS, rp.ids[i],
		    strlen(rp.ids[i]));
	return rp.n > 0 ? 0 : ARB_EAGAIN;
}

/*
 * Keep what the batch says of each relay, by the rule of
 * arb_relayinfo_take: the first entry is the sending child's own, the
 * others are taken only from the child that carries them.
 */
static void
store_relays(struct arb_txn *t, Arbor__RelayInfo **ri, size_t n)
{
	Arbor__RelayInfo	*old, rec;
	const char		*carrier;
	uint8_t			*buf;
	void			*v;
	int64_t			 now = (int64_t)time(NULL);
	size_t			 i, len, vlen;
	int			 take;

	if (n == 0 || ri[0]->node_id[0] == '\0')
		return;
	carrier = ri[0]->node_id;
	for (i = 0; i < n; i++) {
		const char *id = ri[i]->node_id;

		if (id[0] == '\0')
			continue;
		rec = *ri[i];
		old = NULL;
		if (arb_txn_get(t, ARB_DB_RELAYS, id, strlen(id), &v,
		    &vlen) == 0) {
			if (arb_wire_decode_relayinfo(v, vlen, &old) != 0)
				old = NULL;
			free(v);
		} else if (relays_room(t, now) != 0) {
			log_warnx("root: %d relays known; %s (from %s) not "
			    "recorded", ROOT_RELAYS_MAX, id, carrier);
			continue;
		}
		take = arb_relayinfo_take(old, ri[i], carrier, i == 0, now,
		    &rec.at);
		arb_wire_free_relayinfo(old);
		if (!take)
			continue;
		rec.carrier = (char *)carrier;
		if (arb_wire_encode_relayinfo(&rec, &buf, &len) != 0)
			continue;
		(void)arb_txn_put(t, ARB_DB_RELAYS, id, strlen(id), buf, len);
		free(buf);
	}
}

int
root_fanin_batch(struct arb_txn *t, const Arbor__ReportBatch *b,
    struct root_delta *d, size_t *ndp, uint32_t *acceptedp,
    uint32_t *rejectedp, int *codes)
{
	size_t		i, nd = 0;
	uint32_t	accepted = 0, rejected = 0, badsig = 0;
	int		rv, has;

	for (i = 0; i < b->n_entries; i++) {
		if (badsig == ROOT_BADSIG_MAX) {
			/* Refused unverified: counted, never resent. */
			log_warnx("root: batch from %s: %u bad signatures; "
			    "the other %zu reports refused unverified",
			    b->n_relays ? b->relays[0]->node_id : "direct",
			    badsig, b->n_entries - i);
			/* Not named one by one: the ack stays small. */
			rejected += (uint32_t)(b->n_entries - i);
			break;
		}
		rv = root_fanin_take(t, b->entries[i], &d[nd], &has);
		if (codes != NULL)
			codes[i] = rv;
		if (rv == 0) {
			accepted++;
			nd += (size_t)has;
		} else if (rv == ARB_ESTORE || rv == -ENOMEM)
			return rv;
		else {
			rejected++;
			badsig += rv == ARB_EBADSIG;
		}
	}
	store_relays(t, b->relays, b->n_relays);
	*ndp = nd;
	*acceptedp = accepted;
	*rejectedp = rejected;
	return 0;
}

struct batch_done {		/* what a batch changes once committed */
	struct root		*r;
	struct root_delta	*d;
	size_t			 nd;
	int			*codes;		/* per entry */
	Arbor__Refusal		*refusals;
	Arbor__Refusal		**refused;
	Arbor__Signed		*rs;		/* receipts */
	Arbor__Signed		**receipts;
	size_t			 nrs;
};

static void
batch_after(void *arg, int committed)
{
	struct batch_done	*bd = arg;
	size_t			 i;

	for (i = 0; committed && i < bd->nd; i++) {
		root_counts_apply(bd->r->counts, &bd->d[i]);
		if (bd->r->delta_hook != NULL)
			bd->r->delta_hook(bd->r, &bd->d[i]);
	}
	for (i = 0; i < bd->nrs; i++)
		arb_signed_clear(&bd->rs[i]);
	free(bd->rs);
	free(bd->receipts);
	free(bd->refusals);
	free(bd->refused);
	free(bd->codes);
	free(bd->d);
	free(bd);
}

/* Sign id's receipt into the ack, once per id, up to the caps. */
static int
batch_receipt(struct root *r, struct arb_txn *t, struct batch_done *bd,
    struct arb_strmap *seen, const char *id, size_t *bytesp)
{
	Arbor__EndpointRecord	*rec = NULL;
	void			*v;
	size_t			 n;
	int			 rv;

	if (bd->nrs >= ROOT_ACK_RECEIPTS || *bytesp >= ROOT_ACK_BYTES ||
	    arb_strmap_get(seen, id) != NULL)
		return 0;
	if ((rv = arb_strmap_put(seen, id, (void *)1, NULL)) != 0)
		return rv;
	if (arb_txn_get(t, ARB_DB_ENDPOINTS, id, strlen(id), &v, &n) == 0) {
		rv = arb_wire_decode_eprec(v, n, &rec);
		free(v);
		if (rv != 0)
			return 0;
	}
	rv = root_sign_receipt(r, id, rec, &bd->rs[bd->nrs]);
	arb_wire_free_eprec(rec);
	if (rv != 0)
		return rv;
	*bytesp += bd->rs[bd->nrs].body.len + ARB_SIG_LEN + 32;
	bd->receipts[bd->nrs] = &bd->rs[bd->nrs];
	bd->nrs++;
	return 0;
}

/*
 * What the ack carries beyond its counts: each refused entry and why, and
 * a signed receipt for every endpoint of the batch and every one the
 * sender asked for, so that endpoints learn what reached the root and
 * relays the keys they check reports with.
 */
static int
batch_extras(struct root *r, struct arb_txn *t, const Arbor__ReportBatch *b,
    struct batch_done *bd, Arbor__ReportAck *ack)
{
	struct arb_strmap	*seen;
	Arbor__Report		*rep;
	size_t			 i, nref = 0, bytes = 0, cap;
	int			 rv = 0;

	cap = b->n_entries + b->n_want_receipts;
	if (cap > ROOT_ACK_RECEIPTS)
		cap = ROOT_ACK_RECEIPTS;
	if ((bd->refusals = calloc(b->n_entries + 1,
	    sizeof(*bd->refusals))) == NULL ||
	    (bd->refused = calloc(b->n_entries + 1,
	    sizeof(*bd->refused))) == NULL ||
	    (bd->rs = calloc(cap + 1, sizeof(*bd->rs))) == NULL ||
	    (bd->receipts = calloc(cap + 1, sizeof(*bd->receipts))) == NULL)
		return -ENOMEM;
	for (i = 0; i < b->n_entries; i++) {
		if (bd->codes[i] == 0)
			continue;
		arbor__refusal__init(&bd->refusals[nref]);
		bd->refusals[nref].index = (uint32_t)i;
		bd->refusals[nref].code = bd->codes[i];
		bd->refused[nref] = &bd->refusals[nref];
		nref++;
	}
	ack->refused = bd->refused;
	ack->n_refused = nref;
	if ((rv = arb_strmap_new(&seen)) != 0)
		return rv;
	for (i = 0; rv == 0 && i < b->n_entries; i++) {
		if (arb_wire_decode_report(b->entries[i]->report->body.data,
		    b->entries[i]->report->body.len, &rep) != 0)
			continue;
		rv = batch_receipt(r, t, bd, seen, rep->endpoint_id, &bytes);
		arb_wire_free_report(rep);
	}
	for (i = 0; rv == 0 && i < b->n_want_receipts; i++)
		if (b->want_receipts[i][0] != '\0')
			rv = batch_receipt(r, t, bd, seen,
			    b->want_receipts[i], &bytes);
	arb_strmap_free(seen, NULL);
	ack->receipts = bd->receipts;
	ack->n_receipts = bd->nrs;
	return rv;
}

/* Count a batch's refusals by reason; those not named went unverified. */
static void
batch_refusals(struct root *r, size_t n, const int *codes, uint32_t rejected)
{
	size_t		i;
	uint32_t	named = 0;

	for (i = 0; i < n; i++)
		if (codes[i] != 0) {
			r->refusals.reports[root_reject_why(codes[i])]++;
			named++;
		}
	if (rejected > named)
		r->refusals.reports[ROOT_REJ_UNVERIFIED] += rejected - named;
}

/*
 * A batch straight from an agent (no relay's info in it): its address is
 * managed once its reports verify, unmanaged when the root does not know
 * or revoked the endpoint or the signature is not its key's.
 */
static void
batch_direct(struct root *r, struct arb_req *req,
    const Arbor__ReportBatch *b, const int *codes)
{
	Arbor__Report	*rep = NULL;
	const char	*why = NULL;
	size_t		 i;

	if (b->n_relays != 0 || b->n_entries == 0)
		return;
	for (i = 0; i < b->n_entries && why == NULL; i++)
		switch (codes[i]) {
		case ARB_EBADSIG:
		case ARB_EUNKNOWNKEY:
			why = "report-refused";
			break;
		case ARB_ENOTFOUND:
			why = "unknown-endpoint";
			break;
		case ARB_EREVOKED:
			why = "revoked";
			break;
		}
	if (why == NULL) {
		if (codes[0] == 0)
			relay_core_unmanaged_managed(r->core, req);
		return;
	}
	i--;
	(void)arb_wire_decode_report(b->entries[i]->report->body.data,
	    b->entries[i]->report->body.len, &rep);
	relay_core_unmanaged_note(r->core, req, why,
	    rep ? rep->endpoint_id : NULL);
	arb_wire_free_report(rep);
}

void
root_batch(void *arg, struct arb_req *req, Arbor__ReportBatch *b)
{
	struct root		*r = arg;
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT;
	Arbor__ReportAck	 ack = ARBOR__REPORT_ACK__INIT;
	struct batch_done	*bd;
	struct arb_txn		*t;
	int			 rv;

	if ((bd = calloc(1, sizeof(*bd))) == NULL ||
	    (bd->d = calloc(b->n_entries + 1, sizeof(*bd->d))) == NULL ||
	    (bd->codes = calloc(b->n_entries + 1,
	    sizeof(*bd->codes))) == NULL) {
		if (bd)
			free(bd->d);
		free(bd);
		root_reply_error(req, -ENOMEM, "reports");
		return;
	}
	bd->r = r;
	/* One commit for every batch of this turn of the loop. */
	if ((rv = arb_group_join(relay_core_commit_group(r->core))) != 0 ||
	    (rv = arb_txn_begin(r->store, 1, &t)) != 0) {
		batch_after(bd, 0);
		root_reply_error(req, rv, "reports");
		return;
	}
	if ((rv = root_fanin_batch(t, b, bd->d, &bd->nd, &ack.accepted,
	    &ack.rejected, bd->codes)) != 0 ||
	    (rv = batch_extras(r, t, b, bd, &ack)) != 0) {
		arb_txn_abort(t);
		batch_after(bd, 0);
		root_reply_error(req, rv, "reports");
		return;
	}
	/* The unmanaged addresses the relay below saw, for the root's list. */
	relay_core_unmanaged_take(r->core, b);
	batch_direct(r, req, b, bd->codes);
	r->ctr.batches++;
	r->ctr.reports += b->n_entries;
	r->ctr.accepted += ack.accepted;
	r->ctr.rejected += ack.rejected;
	if (ack.accepted > 0)
		r->ctr.last_report_ms = now_ms();
	(void)arb_txn_put(t, ARB_DB_META, "counters", 8, &r->ctr,
	    sizeof(r->ctr));
	if (ack.rejected > 0) {
		batch_refusals(r, b->n_entries, bd->codes, ack.rejected);
		(void)arb_txn_put(t, ARB_DB_META, "refusals", 8,
		    &r->refusals, sizeof(r->refusals));
	}
	if ((rv = arb_txn_commit(t)) != 0) {
		batch_after(bd, 0);
		root_reply_error(req, rv, "reports");
		return;
	}
	/* Acknowledged, and counted, once the group is durable. */
	env.body_case = ARBOR__ENVELOPE__BODY_REPORT_ACK;
	env.report_ack = &ack;
	arb_group_defer(relay_core_commit_group(r->core), req, &env,
	    batch_after, bd);
}
