/*
 * The operator's views of the root: counts by state per policy (status),
 * the endpoints and what they last reported, and the relay tree.  They
 * only read: the counts fan-in keeps (fanin.c) and the store.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbor/catalog.h"
#include "arbor/error.h"
#include "arbor/report.h"
#include "arbor/strmap.h"
#include "root.h"

/* --------------------------------------------------------------- status */

struct status_arg {
	Arbor__PolicyCounts	**v;
	Arbor__PolicyCounts	 *store;
	size_t			  n, cap;
	const char		 *only;
	const Arbor__Head	 *head;
};

/* The counts are of the newest version: none yet for one just published. */
static const uint32_t	status_none[ARB_ST_COUNT];

static void
status_cb(const char *key, void *val, void *arg)
{
	struct status_arg	*sa = arg;
	struct root_pcounts	*pc = val;
	Arbor__PolicyCounts	*o;
	size_t			 i;

	if (sa->n == sa->cap || (sa->only[0] && strcmp(sa->only, key) != 0))
		return;
	o = &sa->store[sa->n];
	arbor__policy_counts__init(o);
	o->policy_id = (char *)key;
	o->version = pc->version;
	o->counts = pc->v;
	o->n_counts = ARB_ST_COUNT;
	for (i = 0; sa->head != NULL && i < sa->head->n_policies; i++)
		if (strcmp(sa->head->policies[i]->id, key) == 0 &&
		    sa->head->policies[i]->version > pc->version) {
			o->version = sa->head->policies[i]->version;
			o->counts = (uint32_t *)status_none;
		}
	sa->v[sa->n++] = o;
}

static Arbor__ReasonCount *
reason(Arbor__ReasonCount *rc, const char *why, uint64_t n)
{
	arbor__reason_count__init(rc);
	rc->reason = (char *)why;
	rc->count = n;
	return rc;
}

void
root_get_status(struct root *r, struct arb_req *req, const char *policy)
{
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT;
	Arbor__StatusReply	 sr = ARBOR__STATUS_REPLY__INIT;
	struct status_arg	 sa;
	struct relay_core_stats	 st;
	struct arb_txn		*t;
	Arbor__ReasonCount	 rc[ROOT_REJ_COUNT + ROOT_ENR_COUNT];
	Arbor__ReasonCount	*rej[ROOT_REJ_COUNT], *enr[ROOT_ENR_COUNT];
	uint64_t		 n = 0;
	unsigned		 i, nrc = 0;

	memset(&sa, 0, sizeof(sa));
	sa.cap = arb_strmap_count(r->counts) + 1;
	sa.only = policy;
	sa.head = r->head;
	sa.v = calloc(sa.cap, sizeof(*sa.v));
	sa.store = calloc(sa.cap, sizeof(*sa.store));
	if (sa.v == NULL || sa.store == NULL) {
		free(sa.v);
		free(sa.store);
		root_reply_error(req, -ENOMEM, "status");
		return;
	}
	arb_strmap_each(r->counts, status_cb, &sa);
	if (arb_txn_begin(r->store, 0, &t) == 0) {
		(void)arb_txn_count(t, ARB_DB_ENDPOINTS, &n);
		arb_txn_abort(t);
	}
	sr.policies = sa.v;
	sr.n_policies = sa.n;
	sr.endpoints = n;
	sr.batches = r->ctr.batches;
	sr.reports = r->ctr.reports;
	sr.accepted = r->ctr.accepted;
	sr.rejected = r->ctr.rejected;
	sr.last_report_at_ms = r->ctr.last_report_ms;
	sr.head_seq = r->head ? r->head->seq : 0;
	relay_core_stats(r->core, &st);
	sr.bytes_served = st.chunk_bytes;
	sr.report_bytes = st.batch_bytes_in;
	sr.requests = st.requests;
	for (i = 0; i < ROOT_REJ_COUNT; i++)
		if (r->refusals.reports[i] > 0)
			rej[sr.n_rejected_by++] = reason(&rc[nrc++],
			    root_reject_why_name(i), r->refusals.reports[i]);
	for (i = 0; i < ROOT_ENR_COUNT; i++)
		if (r->refusals.enrol[i] > 0)
			enr[sr.n_enrol_refused++] = reason(&rc[nrc++],
			    root_enrol_why_name(i), r->refusals.enrol[i]);
	sr.rejected_by = rej;
	sr.enrol_refused = enr;
	env.body_case = ARBOR__ENVELOPE__BODY_STATUS_REPLY;
	env.status_reply = &sr;
	root_reply(req, &env);
	free(sa.v);
	free(sa.store);
}

struct ep_arg {
	struct arb_txn		 *t;
	struct arb_strmap	 *seen;		/* ids listed, or NULL */
	const char		 *policy;
	int			  state;
	const Arbor__Head	 *head;		/* its locks, or NULL */
	Arbor__EndpointInfo	**v;
	size_t			  n, cap;
	size_t			  bytes;
};

static void
ep_info_free(Arbor__EndpointInfo *o)
{
	size_t i;

	free(o->endpoint_id);
	free(o->hostname);
	free(o->policy_id);
	free(o->detail);
	free(o->relay);
	if (o->revoked_reason != protobuf_c_empty_string)
		free(o->revoked_reason);
	if (o->locked_reason != protobuf_c_empty_string)
		free(o->locked_reason);
	for (i = 0; i < o->n_via; i++)
		free(o->via[i]);
	free(o->via);
	free(o);
}

static int
ep_add(struct ep_arg *ea, const char *id, const Arbor__Report *rep)
{
	Arbor__EndpointRecord	*rec = NULL;
	Arbor__EndpointInfo	*o, **nv;
	const Arbor__Lock	*lk;
	void			*v;
	size_t			 n, i;

	if (ea->bytes > 900 * 1024)
		return 1;		/* the reply would not fit: stop */
	if (ea->n == ea->cap) {
		ea->cap = ea->cap ? 2 * ea->cap : 64;
		if ((nv = realloc(ea->v, ea->cap * sizeof(*nv))) == NULL)
			return -ENOMEM;
		ea->v = nv;
	}
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return -ENOMEM;
	arbor__endpoint_info__init(o);
	o->endpoint_id = strdup(id);
	o->policy_id = strdup(rep ? rep->policy_id : "");
	o->detail = strdup(rep ? rep->detail : "");
	if (rep) {
		o->state = rep->state;
		o->exit_code = rep->exit_code;
		o->version = rep->version;
	}
	if (arb_txn_get(ea->t, ARB_DB_ENDPOINTS, id, strlen(id), &v,
	    &n) == 0) {
		if (arb_wire_decode_eprec(v, n, &rec) == 0) {
			/*
			 * The host name its facts say, once it sent its
			 * inventory; until then the name it enrolled with.
			 */
			o->hostname = strdup(rec->inventory != NULL &&
			    rec->inventory->hostname[0] != '\0' ?
			    rec->inventory->hostname : rec->hostname);
			o->last_contact = rec->last_contact;
			o->relay = strdup(rec->relay);
			o->revoked = rec->revoked;
			if (rec->revoked)
				o->revoked_reason = strdup(rec->revoked_reason);
			if (ea->head != NULL && (lk = arb_head_locked(ea->head,
			    id, rec->inventory ? rec->inventory->groups : NULL,
			    rec->inventory ? rec->inventory->n_groups : 0,
			    root_rollout_now_ms())) != NULL) {
				o->locked = 1;
				o->locked_reason = strdup(lk->reason);
			}
			o->via = calloc(rec->n_via + 1, sizeof(char *));
			for (i = 0; o->via && i < rec->n_via; i++)
				o->via[o->n_via++] = strdup(rec->via[i]);
			arb_wire_free_eprec(rec);
		}
		free(v);
	}
	/* Its own copies, also with no record (ep_info_free frees them). */
	if (o->hostname == NULL || o->hostname == protobuf_c_empty_string)
		o->hostname = strdup("");
	if (o->relay == NULL || o->relay == protobuf_c_empty_string)
		o->relay = strdup("");
	ea->bytes += 128 + strlen(o->detail);
	ea->v[ea->n++] = o;
	if (ea->seen != NULL && arb_strmap_get(ea->seen, id) == NULL &&
	    arb_strmap_put(ea->seen, id, ea, NULL) != 0)
		return -ENOMEM;
	return 0;
}

static int
ep_status_cb(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg)
{
	struct ep_arg	*ea = arg;
	Arbor__Report	*rep;
	const char	*k = key, *pol;
	char		 id[ARB_MAX_ID + 1];
	size_t		 idlen;
	int		 rv = 0;

	idlen = strnlen(k, klen);
	if (idlen >= klen || idlen > ARB_MAX_ID)
		return 0;
	pol = k + idlen + 1;
	if (klen - idlen - 1 == 0)
		return 0;		/* inventory */
	if (ea->policy[0] && (strlen(ea->policy) != klen - idlen - 1 ||
	    memcmp(pol, ea->policy, klen - idlen - 1) != 0))
		return 0;
	if (arb_wire_decode_report(val, vlen, &rep) != 0)
		return 0;
	if (ea->state < 0 || (unsigned)ea->state == rep->state) {
		memcpy(id, k, idlen);
		id[idlen] = '\0';
		rv = ep_add(ea, id, rep);
	}
	arb_wire_free_report(rep);
	return rv;
}

static int
ep_all_cb(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg)
{
	struct ep_arg	*ea = arg;
	char		 id[ARB_MAX_ID + 1];

	(void)val;
	(void)vlen;
	if (klen > ARB_MAX_ID)
		return 0;
	memcpy(id, key, klen);
	id[klen] = '\0';
	if (ea->seen != NULL && arb_strmap_get(ea->seen, id) != NULL)
		return 0;		/* listed with its policies */
	return ep_add(ea, id, NULL);
}

void
root_get_endpoints(struct root *r, struct arb_req *req, const char *policy,
    int state)
{
	Arbor__Envelope		env = ARBOR__ENVELOPE__INIT;
	Arbor__EndpointsReply	er = ARBOR__ENDPOINTS_REPLY__INIT;
	struct ep_arg		ea;
	size_t			i;
	int			rv;

	memset(&ea, 0, sizeof(ea));
	ea.policy = policy;
	ea.state = state;
	ea.head = r->head;
	if (policy[0] == '\0' && state < 0 &&
	    (rv = arb_strmap_new(&ea.seen)) != 0) {
		root_reply_error(req, rv, "endpoints");
		return;
	}
	if ((rv = arb_txn_begin(r->store, 0, &ea.t)) != 0) {
		arb_strmap_free(ea.seen, NULL);
		root_reply_error(req, rv, "endpoints");
		return;
	}
	/*
	 * A row per endpoint and policy it reported on; with neither filter
	 * also a row for each endpoint that reported on none.
	 */
	rv = arb_txn_foreach(ea.t, ARB_DB_STATUS, ep_status_cb, &ea);
	if (rv == 0 && policy[0] == '\0' && state < 0 && ea.seen != NULL)
		rv = arb_txn_foreach(ea.t, ARB_DB_ENDPOINTS, ep_all_cb, &ea);
	arb_txn_abort(ea.t);
	arb_strmap_free(ea.seen, NULL);
	if (rv < 0)
		root_reply_error(req, rv, "endpoints");
	else {
		er.endpoints = ea.v;
		er.n_endpoints = ea.n;
		env.body_case = ARBOR__ENVELOPE__BODY_ENDPOINTS_REPLY;
		env.endpoints_reply = &er;
		root_reply(req, &env);
	}
	for (i = 0; i < ea.n; i++)
		ep_info_free(ea.v[i]);
	free(ea.v);
}

/* The tree reply stops short of the wire limit, whatever is stored. */
#define STATUS_TREE_BYTES	(900 * 1024)

struct tree_arg {
	Arbor__RelayInfo	**v;
	size_t			  n, cap;
	size_t			  bytes;
};

static int
tree_cb(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg)
{
	struct tree_arg		*ta = arg;
	Arbor__RelayInfo	*ri, **nv;

	(void)key;
	(void)klen;
	if ((ta->bytes += vlen + 16) > STATUS_TREE_BYTES)
		return 1;		/* the reply would not fit: stop */
	if (ta->n == ta->cap) {
		ta->cap = ta->cap ? 2 * ta->cap : 32;
		if ((nv = realloc(ta->v, ta->cap * sizeof(*nv))) == NULL)
			return -ENOMEM;
		ta->v = nv;
	}
	if (arb_wire_decode_relayinfo(val, vlen, &ri) == 0) {
		/* The carrier is the root's bookkeeping, not news. */
		if (ri->carrier[0] != '\0')
			ri->carrier[0] = '\0';
		ta->v[ta->n++] = ri;
	}
	return 0;
}

void
root_get_tree(struct root *r, struct arb_req *req)
{
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT;
	Arbor__TreeReply	 tr = ARBOR__TREE_REPLY__INIT;
	struct tree_arg		 ta;
	struct arb_txn		*t;
	size_t			 i;
	int			 rv;

	memset(&ta, 0, sizeof(ta));
	if ((rv = arb_txn_begin(r->store, 0, &t)) != 0) {
		root_reply_error(req, rv, "tree");
		return;
	}
	rv = arb_txn_foreach(t, ARB_DB_RELAYS, tree_cb, &ta);
	arb_txn_abort(t);
	if (rv < 0)
		root_reply_error(req, rv, "tree");
	else {
		tr.relays = ta.v;
		tr.n_relays = ta.n;
		tr.head_seq = r->head ? r->head->seq : 0;
		env.body_case = ARBOR__ENVELOPE__BODY_TREE_REPLY;
		env.tree_reply = &tr;
		root_reply(req, &env);
	}
	for (i = 0; i < ta.n; i++)
		arb_wire_free_relayinfo(ta.v[i]);
	free(ta.v);
}

/* ------------------------------------------------------------ endpoint */

/*
 * One endpoint's reply stays within the wire limit: its rows (each
 * policy's detail is at most ARB_MAX_TEXT) stop as the endpoints reply's
 * do, from a budget that leaves room for the record and the inventory's
 * small fields, and the package list takes only what is left of
 * STATUS_DETAIL_BYTES.
 */
#define STATUS_DETAIL_BYTES	(1000 * 1024)
#define STATUS_DETAIL_RESERVE	(200 * 1024)

static int
detail_rows_cb(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg)
{
	struct ep_arg	*ea = arg;
	Arbor__Report	*rep;
	int		 rv;

	if (klen == strlen(ea->policy) + 1)
		return 0;		/* "id\0": an inventory report */
	(void)key;
	if (arb_wire_decode_report(val, vlen, &rep) != 0)
		return 0;
	rv = ep_add(ea, ea->policy, rep);
	arb_wire_free_report(rep);
	return rv;
}

void
root_get_endpoint(struct root *r, struct arb_req *req,
    const Arbor__GetEndpoint *ge)
{
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT;
	Arbor__EndpointDetail	 d = ARBOR__ENDPOINT_DETAIL__INIT;
	Arbor__EndpointRecord	*rec = NULL;
	Arbor__InventoryDelta	*inv = NULL;
	Arbor__ReceiptEntry	**taken;
	struct ep_arg		 ea;
	const char		*id = ge->endpoint_id;
	uint8_t			 prefix[ARB_MAX_ID + 1];
	size_t			 n, i, ntaken, npk, bytes;
	void			*v;
	int			 rv;

	memset(&ea, 0, sizeof(ea));
	ea.policy = id;			/* the id, for detail_rows_cb */
	ea.state = -1;
	ea.head = r->head;
	ea.bytes = STATUS_DETAIL_RESERVE;
	if ((rv = arb_txn_begin(r->store, 0, &ea.t)) != 0) {
		root_reply_error(req, rv, "endpoint");
		return;
	}
	if (arb_txn_get(ea.t, ARB_DB_ENDPOINTS, id, strlen(id), &v, &n) != 0) {
		arb_txn_abort(ea.t);
		root_reply_refuse(req, ARB_ENOTFOUND, "%s: no such endpoint",
		    id);
		return;
	}
	rv = arb_wire_decode_eprec(v, n, &rec);
	free(v);
	if (rv == 0 && arb_txn_get(ea.t, ARB_DB_INVENTORY, id, strlen(id),
	    &v, &n) == 0) {
		if (arb_wire_decode_inv(v, n, &inv) != 0)
			inv = NULL;	/* damaged: fanin asks for another */
		free(v);
	}
	n = strlen(id);
	memcpy(prefix, id, n);
	prefix[n] = '\0';
	if (rv == 0)
		rv = arb_txn_foreach_prefix(ea.t, ARB_DB_STATUS, prefix, n + 1,
		    detail_rows_cb, &ea);
	arb_txn_abort(ea.t);
	if (rv < 0) {
		root_reply_error(req, rv, "endpoint");
		goto out;
	}
	/* Its receipt's entries are the agent's business, not the view's. */
	taken = rec->taken;
	ntaken = rec->n_taken;
	rec->taken = NULL;
	rec->n_taken = 0;
	npk = 0;
	if (inv != NULL) {
		bytes = ea.bytes;
		for (i = 0; ge->packages && i < inv->n_set; i++, npk++) {
			bytes += strlen(inv->set[i]->name) +
			    strlen(inv->set[i]->arch) +
			    strlen(inv->set[i]->version) + 12;
			if (bytes > STATUS_DETAIL_BYTES)
				break;
		}
		d.packages_truncated = npk < inv->n_set && ge->packages;
	}
	n = inv != NULL ? inv->n_set : 0;
	if (inv != NULL)
		inv->n_set = npk;
	d.endpoint_id = (char *)id;
	d.record = rec;
	d.rows = ea.v;
	d.n_rows = ea.n;
	d.inventory = inv;
	env.body_case = ARBOR__ENVELOPE__BODY_ENDPOINT_DETAIL;
	env.endpoint_detail = &d;
	root_reply(req, &env);
	if (inv != NULL)
		inv->n_set = n;
	rec->taken = taken;
	rec->n_taken = ntaken;
out:
	for (i = 0; i < ea.n; i++)
		ep_info_free(ea.v[i]);
	free(ea.v);
	arb_wire_free_inv(inv);
	arb_wire_free_eprec(rec);
}
