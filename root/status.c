/*
 * Fan-in at the root: enrolments, report batches, and the operator's view
 * of them.
 *
 * The root is the only node that knows the endpoint keys, so it is where a
 * report is judged: its signature must verify with the key the endpoint
 * enrolled, and its sequence number must be newer than the last one taken
 * for the same (endpoint, policy).  A relay that forges, alters or replays
 * a report is caught here.  One LMDB transaction per batch; the per-policy
 * counts by state are kept in memory, rebuilt from the status database at
 * start and changed only after the batch commits.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "arbor/error.h"
#include "arbor/log.h"
#include "arbor/report.h"
#include "arbor/strmap.h"
#include "root.h"

struct pcounts {
	uint32_t	v[ARB_ST_COUNT];
	uint32_t	version;	/* latest version reported */
};

struct delta {			/* a count change, applied after commit */
	char		policy[ARB_MAX_ID + 1];
	int		from;		/* -1: none */
	int		to;
	uint32_t	version;
};

static int64_t
now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static struct pcounts *
counts_for(struct root *r, const char *policy)
{
	struct pcounts *pc;

	if ((pc = arb_strmap_get(r->counts, policy)) != NULL)
		return pc;
	if ((pc = calloc(1, sizeof(*pc))) == NULL)
		return NULL;
	if (arb_strmap_put(r->counts, policy, pc, NULL) != 0) {
		free(pc);
		return NULL;
	}
	return pc;
}

static void
counts_apply(struct root *r, const struct delta *d)
{
	struct pcounts *pc = counts_for(r, d->policy);

	/* Both states come from decoded reports; bound them all the same. */
	if (pc == NULL || d->to < 0 || d->to >= ARB_ST_COUNT ||
	    d->from >= ARB_ST_COUNT)
		return;
	if (d->from >= 0 && pc->v[d->from] > 0)
		pc->v[d->from]--;
	pc->v[d->to]++;
	if (d->version > pc->version)
		pc->version = d->version;
}

static int
load_cb(const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
	struct root	*r = arg;
	Arbor__Report	*rep;
	struct delta	 d;

	(void)key;
	(void)klen;
	if (arb_wire_decode_report(val, vlen, &rep) != 0)
		return 0;
	if (rep->policy_id[0] != '\0' && rep->state < ARB_ST_COUNT) {
		snprintf(d.policy, sizeof(d.policy), "%s", rep->policy_id);
		d.from = -1;
		d.to = (int)rep->state;
		d.version = rep->version;
		counts_apply(r, &d);
	}
	arb_wire_free_report(rep);
	return 0;
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
	if ((rv = arb_txn_begin(r->store, 0, &t)) != 0)
		return rv;
	rv = arb_txn_foreach(t, ARB_DB_STATUS, load_cb, r);
	arb_txn_abort(t);
	return rv;
}

void
root_status_free(struct root *r)
{
	arb_strmap_free(r->counts, free);
	r->counts = NULL;
}

static void
reply(struct arb_req *req, Arbor__Envelope *env)
{
	uint8_t	*buf;
	size_t	 len;

	if (arb_wire_encode(env, &buf, &len) != 0) {
		arb_req_drop(req);
		return;
	}
	(void)arb_req_reply(req, buf, len);
	free(buf);
}

static void
reply_error(struct arb_req *req, int code, const char *msg)
{
	uint8_t	*buf;
	size_t	 len;

	if (arb_wire_error(code, &buf, &len, "%s: %s", msg,
	    arb_strerror(code)) != 0) {
		arb_req_drop(req);
		return;
	}
	(void)arb_req_reply(req, buf, len);
	free(buf);
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

void
root_enroll(void *arg, struct arb_req *req, Arbor__Enroll *en)
{
	struct root		*r = arg;
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT;
	Arbor__EnrollReply	 er = ARBOR__ENROLL_REPLY__INIT;
	Arbor__EndpointRecord	 rec = ARBOR__ENDPOINT_RECORD__INIT, *old;
	Arbor__EnrollBody	*b = NULL;
	struct arb_key		*k = NULL;
	uint8_t			 kid[ARB_KEYID_LEN], *buf = NULL;
	char			 id[ARB_EPID_HEX];
	void			*v;
	size_t			 n, len;
	int			 rv;

	if ((rv = arb_wire_decode_enroll(en->enroll->body.data,
	    en->enroll->body.len, &b)) != 0) {
		reply_error(req, rv, "enrol");
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
	if (!token_ok(r, b->token)) {
		log_warnx("root: enrolment of %s (%s) refused: wrong token",
		    id, b->hostname);
		reply_error(req, ARB_EPERM, "enrol: enrolment token");
		goto out;
	}
	rec.enrolled_at = (int64_t)time(NULL);
	if (arb_store_get(r->store, ARB_DB_ENDPOINTS, id, strlen(id), &v,
	    &n) == 0) {
		if (arb_wire_decode_eprec(v, n, &old) == 0) {
			rec.enrolled_at = old->enrolled_at;
			arb_wire_free_eprec(old);
		}
		free(v);
	}
	rec.pubkey = b->pubkey;
	rec.hostname = b->hostname;
	rec.last_contact = (int64_t)time(NULL);
	rec.via = en->via;
	rec.n_via = en->n_via;
	if ((rv = arb_wire_encode_eprec(&rec, &buf, &len)) != 0 ||
	    (rv = arb_store_put(r->store, ARB_DB_ENDPOINTS, id, strlen(id),
	    buf, len)) != 0)
		goto fail;
	log_info("root: endpoint %s (%s) enrolled via %zu relays", id,
	    b->hostname, en->n_via);
	er.endpoint_id = id;
	env.body_case = ARBOR__ENVELOPE__BODY_ENROLL_REPLY;
	env.enroll_reply = &er;
	arb_group_defer(relay_core_commit_group(r->core), req, &env, NULL,
	    NULL);
	goto out;
fail:
	log_warnx("root: enrolment refused: %s", arb_strerror(rv));
	reply_error(req, rv, "enrol");
out:
	free(buf);
	if (k)
		arb_key_free(k);
	arb_wire_free_enroll(b);
}

/* -------------------------------------------------------------- reports */

/*
 * Judge one report and, if it is good, stage it in t.  Returns 0 (taken,
 * *dp filled), or the reason it is refused.
 */
static int
take_report(struct root *r, struct arb_txn *t, const Arbor__ReportEntry *e,
    struct delta *dp, int *hasdelta)
{
	const Arbor__Signed	*sg = e->report;
	Arbor__Report		*rep = NULL, *prev = NULL;
	Arbor__EndpointRecord	*rec = NULL;
	Arbor__Inventory	*old_inv;
	char			**old_via;
	size_t			 old_nvia;
	struct arb_key		*k = NULL;
	uint8_t			 kid[ARB_KEYID_LEN], key[ARB_REPORT_KEY_MAX];
	uint8_t			*buf = NULL;
	void			*v;
	size_t			 n, klen, len, a, b;
	int			 rv;

	(void)r;
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
	if ((rv = arb_key_from_raw_public(rec->pubkey.data, &k)) != 0 ||
	    (rv = arb_key_id(k, kid)) != 0)
		goto out;
	if (sg->key_id.len != ARB_KEYID_LEN ||
	    memcmp(kid, sg->key_id.data, ARB_KEYID_LEN) != 0) {
		rv = ARB_EUNKNOWNKEY;
		goto out;
	}
	if ((rv = arb_verify(k, sg->body.data, sg->body.len, sg->sig.data,
	    sg->sig.len)) != 0)
		goto out;

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
		if (rv == 0 && prev->seq >= rep->seq) {
			rv = ARB_ESTALE;	/* replayed */
			goto out;
		}
		if (rv == 0)
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
	rec->last_contact = (int64_t)time(NULL);
	rec->via = e->via;
	rec->n_via = e->n_via;
	if (rep->inventory != NULL)	/* alone, or with an action's result */
		rec->inventory = rep->inventory;
	rv = arb_wire_encode_eprec(rec, &buf, &len);
	rec->via = old_via;
	rec->n_via = old_nvia;
	rec->inventory = old_inv;
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
		    rv == ARB_ESTALE ? "replayed (sequence already seen)" :
		    rv == ARB_ENOTFOUND ? "unknown endpoint" :
		    arb_strerror(rv));
	free(buf);
	if (k)
		arb_key_free(k);
	arb_wire_free_eprec(rec);
	arb_wire_free_report(prev);
	arb_wire_free_report(rep);
	return rv;
}

static void
store_relays(struct root *r, struct arb_txn *t, Arbor__RelayInfo **ri,
    size_t n)
{
	Arbor__RelayInfo	*old;
	uint8_t			*buf;
	void			*v;
	size_t			 i, len, vlen;

	for (i = 0; i < n; i++) {
		const char *id = ri[i]->node_id;

		if (id[0] == '\0')
			continue;
		if (arb_txn_get(t, ARB_DB_RELAYS, id, strlen(id), &v,
		    &vlen) == 0) {
			int newer = 1;

			if (arb_wire_decode_relayinfo(v, vlen, &old) == 0) {
				newer = ri[i]->at >= old->at;
				arb_wire_free_relayinfo(old);
			}
			free(v);
			if (!newer)
				continue;
		}
		if (arb_wire_encode_relayinfo(ri[i], &buf, &len) != 0)
			continue;
		(void)arb_txn_put(t, ARB_DB_RELAYS, id, strlen(id), buf, len);
		free(buf);
	}
	(void)r;
}

struct batch_done {		/* what a batch changes once committed */
	struct root	*r;
	struct delta	*d;
	size_t		 nd;
};

static void
batch_after(void *arg, int committed)
{
	struct batch_done	*bd = arg;
	size_t			 i;

	for (i = 0; committed && i < bd->nd; i++)
		counts_apply(bd->r, &bd->d[i]);
	free(bd->d);
	free(bd);
}

void
root_batch(void *arg, struct arb_req *req, Arbor__ReportBatch *b)
{
	struct root		*r = arg;
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT;
	Arbor__ReportAck	 ack = ARBOR__REPORT_ACK__INIT;
	struct batch_done	*bd;
	struct arb_txn		*t;
	size_t			 i;
	int			 rv = 0, has;

	if ((bd = calloc(1, sizeof(*bd))) == NULL ||
	    (bd->d = calloc(b->n_entries + 1, sizeof(*bd->d))) == NULL) {
		free(bd);
		reply_error(req, -ENOMEM, "reports");
		return;
	}
	bd->r = r;
	/* One commit for every batch of this turn of the loop. */
	if ((rv = arb_group_join(relay_core_commit_group(r->core))) != 0 ||
	    (rv = arb_txn_begin(r->store, 1, &t)) != 0) {
		batch_after(bd, 0);
		reply_error(req, rv, "reports");
		return;
	}
	for (i = 0; i < b->n_entries; i++) {
		rv = take_report(r, t, b->entries[i], &bd->d[bd->nd], &has);
		if (rv == 0) {
			ack.accepted++;
			bd->nd += (size_t)has;
		} else if (rv == ARB_ESTORE || rv == -ENOMEM)
			break;
		else
			ack.rejected++;
	}
	if (rv == ARB_ESTORE || rv == -ENOMEM) {
		arb_txn_abort(t);
		batch_after(bd, 0);
		reply_error(req, rv, "reports");
		return;
	}
	store_relays(r, t, b->relays, b->n_relays);
	r->ctr.batches++;
	r->ctr.reports += b->n_entries;
	r->ctr.accepted += ack.accepted;
	r->ctr.rejected += ack.rejected;
	if (ack.accepted > 0)
		r->ctr.last_report_ms = now_ms();
	(void)arb_txn_put(t, ARB_DB_META, "counters", 8, &r->ctr,
	    sizeof(r->ctr));
	if ((rv = arb_txn_commit(t)) != 0) {
		batch_after(bd, 0);
		reply_error(req, rv, "reports");
		return;
	}
	/* Acknowledged, and counted, once the group is durable. */
	env.body_case = ARBOR__ENVELOPE__BODY_REPORT_ACK;
	env.report_ack = &ack;
	arb_group_defer(relay_core_commit_group(r->core), req, &env,
	    batch_after, bd);
}

/* --------------------------------------------------------- operator view */

struct status_arg {
	Arbor__PolicyCounts	**v;
	Arbor__PolicyCounts	 *store;
	size_t			  n, cap;
	const char		 *only;
};

static void
status_cb(const char *key, void *val, void *arg)
{
	struct status_arg	*sa = arg;
	struct pcounts		*pc = val;
	Arbor__PolicyCounts	*o;

	if (sa->n == sa->cap || (sa->only[0] && strcmp(sa->only, key) != 0))
		return;
	o = &sa->store[sa->n];
	arbor__policy_counts__init(o);
	o->policy_id = (char *)key;
	o->version = pc->version;
	o->counts = pc->v;
	o->n_counts = ARB_ST_COUNT;
	sa->v[sa->n++] = o;
}

void
root_get_status(struct root *r, struct arb_req *req, const char *policy)
{
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT;
	Arbor__StatusReply	 sr = ARBOR__STATUS_REPLY__INIT;
	struct status_arg	 sa;
	struct relay_core_stats	 st;
	struct arb_txn		*t;
	uint64_t		 n = 0;

	memset(&sa, 0, sizeof(sa));
	sa.cap = arb_strmap_count(r->counts) + 1;
	sa.only = policy;
	sa.v = calloc(sa.cap, sizeof(*sa.v));
	sa.store = calloc(sa.cap, sizeof(*sa.store));
	if (sa.v == NULL || sa.store == NULL) {
		free(sa.v);
		free(sa.store);
		reply_error(req, -ENOMEM, "status");
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
	env.body_case = ARBOR__ENVELOPE__BODY_STATUS_REPLY;
	env.status_reply = &sr;
	reply(req, &env);
	free(sa.v);
	free(sa.store);
}

struct ep_arg {
	struct arb_txn		 *t;
	const char		 *policy;
	int			  state;
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
			o->hostname = strdup(rec->hostname);
			o->last_contact = rec->last_contact;
			o->via = calloc(rec->n_via + 1, sizeof(char *));
			for (i = 0; o->via && i < rec->n_via; i++)
				o->via[o->n_via++] = strdup(rec->via[i]);
			arb_wire_free_eprec(rec);
		}
		free(v);
	}
	if (o->hostname == NULL)
		o->hostname = strdup("");
	ea->bytes += 128 + strlen(o->detail);
	ea->v[ea->n++] = o;
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
	char id[ARB_MAX_ID + 1];

	(void)val;
	(void)vlen;
	if (klen > ARB_MAX_ID)
		return 0;
	memcpy(id, key, klen);
	id[klen] = '\0';
	return ep_add(arg, id, NULL);
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
	if ((rv = arb_txn_begin(r->store, 0, &ea.t)) != 0) {
		reply_error(req, rv, "endpoints");
		return;
	}
	/* With neither filter: every endpoint once; else per policy state. */
	if (policy[0] == '\0' && state < 0)
		rv = arb_txn_foreach(ea.t, ARB_DB_ENDPOINTS, ep_all_cb, &ea);
	else
		rv = arb_txn_foreach(ea.t, ARB_DB_STATUS, ep_status_cb, &ea);
	arb_txn_abort(ea.t);
	if (rv < 0)
		reply_error(req, rv, "endpoints");
	else {
		er.endpoints = ea.v;
		er.n_endpoints = ea.n;
		env.body_case = ARBOR__ENVELOPE__BODY_ENDPOINTS_REPLY;
		env.endpoints_reply = &er;
		reply(req, &env);
	}
	for (i = 0; i < ea.n; i++)
		ep_info_free(ea.v[i]);
	free(ea.v);
}

struct tree_arg {
	Arbor__RelayInfo	**v;
	size_t			  n, cap;
};

static int
tree_cb(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg)
{
	struct tree_arg		*ta = arg;
	Arbor__RelayInfo	*ri, **nv;

	(void)key;
	(void)klen;
	if (ta->n == ta->cap) {
		ta->cap = ta->cap ? 2 * ta->cap : 32;
		if ((nv = realloc(ta->v, ta->cap * sizeof(*nv))) == NULL)
			return -ENOMEM;
		ta->v = nv;
	}
	if (arb_wire_decode_relayinfo(val, vlen, &ri) == 0)
		ta->v[ta->n++] = ri;
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
		reply_error(req, rv, "tree");
		return;
	}
	rv = arb_txn_foreach(t, ARB_DB_RELAYS, tree_cb, &ta);
	arb_txn_abort(t);
	if (rv < 0)
		reply_error(req, rv, "tree");
	else {
		tr.relays = ta.v;
		tr.n_relays = ta.n;
		tr.head_seq = r->head ? r->head->seq : 0;
		env.body_case = ARBOR__ENVELOPE__BODY_TREE_REPLY;
		env.tree_reply = &tr;
		reply(req, &env);
	}
	for (i = 0; i < ta.n; i++)
		arb_wire_free_relayinfo(ta.v[i]);
	free(ta.v);
}
