/*
 * Baselines and compliance at the root.  A baseline names the policies
 * that the endpoints a target takes (the agents' own target rules: ids or
 * names, groups, properties) must have settled: the latest report of each
 * endpoint on each policy must be fixed or not applicable, about the
 * policy's latest version.  Exemptions are the operator's exclusions of an
 * endpoint or a group, with a reason and an optional expiry.
 *
 * Baselines (ARB_DB_BASELINES) and exemptions (ARB_DB_EXEMPTIONS) are
 * kept in the root's store; the compliance view is made on demand from
 * them, the endpoint records and the latest reports (ARB_DB_STATUS), in
 * one read transaction.  Nothing else is stored for it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arbor/catalog.h"
#include "arbor/error.h"
#include "arbor/log.h"
#include "arbor/policy.h"
#include "root.h"

#define COMP_BASELINES_MAX	64
#define COMP_BASELINE_BYTES	8192	/* one baseline, encoded */
#define COMP_EXEMPTIONS_MAX	100000
/* The reply stops listing short of the wire limit; totals stay whole. */
#define COMP_REPLY_BYTES	(900 * 1024)

static const char *const comp_names[ROOT_COMP_COUNT] = {
	[ROOT_COMP_COMPLIANT] = "compliant",
	[ROOT_COMP_BELOW] = "below",
	[ROOT_COMP_EXEMPT] = "exempt",
	[ROOT_COMP_SILENT] = "not-reporting",
};

const char *
root_comp_name(unsigned c)
{
	return c < ROOT_COMP_COUNT ? comp_names[c] : "?";
}

int
root_comp_satisfied(int st, uint32_t have, uint32_t want)
{
	if (st != ARB_ST_FIXED && st != ARB_ST_NOT_APPLICABLE)
		return 0;
	return have >= want;
}

enum root_comp
root_comp_classify(int exempt, int64_t last_contact, int64_t now_ms,
    int64_t silent_ms, Arbor__CompliancePolicy *const *v, size_t n)
{
	size_t	i;

	if (exempt)
		return ROOT_COMP_EXEMPT;
	if (now_ms - last_contact * 1000 > silent_ms)
		return ROOT_COMP_SILENT;
	for (i = 0; i < n; i++)
		if (!v[i]->ok)
			return ROOT_COMP_BELOW;
	return ROOT_COMP_COMPLIANT;
}

static int64_t
comp_now_ms(void)
{
	return (int64_t)time(NULL) * 1000;
}

/* ----------------------------------------------------------- the stored */

struct comp_set {
	Arbor__Baseline		**b;
	size_t			  nb;
	Arbor__Exemption	**x;
	size_t			  nx;
	size_t			  bytes;	/* stored bytes of those held */
	uint64_t		  xleft;	/* exemptions not held: full */
};

static void
comp_set_clear(struct comp_set *s)
{
	size_t	i;

	for (i = 0; i < s->nb; i++)
		arb_wire_free_baseline(s->b[i]);
	for (i = 0; i < s->nx; i++)
		arb_wire_free_exemption(s->x[i]);
	free(s->b);
	free(s->x);
	memset(s, 0, sizeof(*s));
}

static int
comp_push(void ***vp, size_t *np, void *e)
{
	void	**nv;

	if ((nv = realloc(*vp, (*np + 1) * sizeof(*nv))) == NULL)
		return -ENOMEM;
	nv[(*np)++] = e;
	*vp = nv;
	return 0;
}

static int
comp_load_cb(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg)
{
	struct comp_set		*s = arg;
	Arbor__Baseline		*b;
	int			 rv;

	(void)key;
	(void)klen;
	s->bytes += vlen;
	if (arb_wire_decode_baseline(val, vlen, &b) != 0) {
		log_warnx("root: a stored baseline is damaged: left out");
		return 0;
	}
	if ((rv = comp_push((void ***)&s->b, &s->nb, b)) != 0)
		arb_wire_free_baseline(b);
	return rv;
}

static int
comp_load_x_cb(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg)
{
	struct comp_set		*s = arg;
	Arbor__Exemption	*x;
	int			 rv;

	(void)key;
	(void)klen;
	if (s->bytes + vlen > COMP_REPLY_BYTES) {
		s->xleft++;		/* the reply would not hold it */
		return 0;
	}
	s->bytes += vlen;
	if (arb_wire_decode_exemption(val, vlen, &x) != 0) {
		log_warnx("root: a stored exemption is damaged: left out");
		return 0;
	}
	if ((rv = comp_push((void ***)&s->x, &s->nx, x)) != 0)
		arb_wire_free_exemption(x);
	return rv;
}

/* Every baseline (and exemption, with x) in t, into s (clear it). */
static int
comp_load(struct arb_txn *t, struct comp_set *s, int x)
{
	int	rv;

	memset(s, 0, sizeof(*s));
	if ((rv = arb_txn_foreach(t, ARB_DB_BASELINES, comp_load_cb, s)) ==
	    0 && x)
		rv = arb_txn_foreach(t, ARB_DB_EXEMPTIONS, comp_load_x_cb, s);
	if (rv != 0)
		comp_set_clear(s);
	return rv;
}

static void
exempt_key(const Arbor__Exemption *x, char *key, size_t size)
{
	if (x->endpoint_id[0] != '\0')
		snprintf(key, size, "id:%s", x->endpoint_id);
	else
		snprintf(key, size, "group:%s", x->group);
}

/* ------------------------------------------------------------- changes */

/* The version a baseline wants of policy id: the current one, else the
 * latest any endpoint reported (a retired policy), else any (0). */
static uint32_t
comp_want(const struct root *r, const char *id)
{
	const Arbor__PolicyRef		*ref;
	const struct root_pcounts	*pc;

	if (r->head != NULL && (ref = arb_head_find(r->head, id)) != NULL)
		return ref->version;
	if ((pc = arb_strmap_get(r->counts, id)) != NULL)
		return pc->version;
	return 0;
}

static int
baseline_set(struct root *r, struct arb_req *req, struct arb_txn *t,
    Arbor__Baseline *b)
{
	uint64_t	 n = 0;
	uint8_t		*buf;
	size_t		 len, i, j;
	void		*v;
	int		 rv;

	if (b->n_policies == 0) {
		root_reply_refuse(req, ARB_EINVAL, "baseline %s: names no "
		    "policy", b->name);
		return ARB_EINVAL;
	}
	for (i = 0; i < b->n_policies; i++) {
		if (comp_want(r, b->policies[i]) == 0) {
			root_reply_refuse(req, ARB_ENOTFOUND, "baseline %s: "
			    "policy %s is not in the catalog", b->name,
			    b->policies[i]);
			return ARB_ENOTFOUND;
		}
		for (j = 0; j < i; j++)
			if (strcmp(b->policies[i], b->policies[j]) == 0) {
				root_reply_refuse(req, ARB_EINVAL, "baseline "
				    "%s: policy %s named twice", b->name,
				    b->policies[i]);
				return ARB_EINVAL;
			}
	}
	if (arb_txn_get(t, ARB_DB_BASELINES, b->name, strlen(b->name), &v,
	    &len) == 0)
		free(v);
	else if ((rv = arb_txn_count(t, ARB_DB_BASELINES, &n)) != 0 ||
	    n >= COMP_BASELINES_MAX) {
		root_reply_refuse(req, rv ? rv : ARB_ETOOBIG, "baseline %s: "
		    "%s", b->name, rv ? arb_strerror(rv) :
		    "too many baselines (64)");
		return rv ? rv : ARB_ETOOBIG;
	}
	b->created_ms = comp_now_ms();
	if ((rv = arb_wire_encode_baseline(b, &buf, &len)) != 0) {
		root_reply_refuse(req, rv, "baseline %s: %s", b->name,
		    arb_strerror(rv));
		return rv;
	}
	if (len > COMP_BASELINE_BYTES) {
		free(buf);
		root_reply_refuse(req, ARB_ETOOBIG, "baseline %s: %zu bytes of "
		    "targets and policies, at most %d", b->name, len,
		    COMP_BASELINE_BYTES);
		return ARB_ETOOBIG;
	}
	rv = arb_txn_put(t, ARB_DB_BASELINES, b->name, strlen(b->name), buf,
	    len);
	free(buf);
	if (rv != 0)
		root_reply_refuse(req, rv, "baseline %s: %s", b->name,
		    arb_strerror(rv));
	return rv;
}

static int
exempt_set(struct arb_req *req, struct arb_txn *t, Arbor__Exemption *x)
{
	char		 key[ARB_MAX_ID + 8];
	const char	*what = x->endpoint_id[0] ? x->endpoint_id : x->group;
	uint64_t	 n = 0;
	uint8_t		*buf;
	size_t		 len;
	void		*v;
	int		 rv;

	if (x->reason[0] == '\0') {
		root_reply_refuse(req, ARB_EINVAL, "exempt %s: a reason is "
		    "required", what);
		return ARB_EINVAL;
	}
	if (x->until_ms != 0 && x->until_ms <= comp_now_ms()) {
		root_reply_refuse(req, ARB_EINVAL, "exempt %s: the expiry is "
		    "in the past", what);
		return ARB_EINVAL;
	}
	if (x->endpoint_id[0] != '\0') {
		if (arb_txn_get(t, ARB_DB_ENDPOINTS, x->endpoint_id,
		    strlen(x->endpoint_id), &v, &len) != 0) {
			root_reply_refuse(req, ARB_ENOTFOUND, "exempt %s: no "
			    "such endpoint enrolled", what);
			return ARB_ENOTFOUND;
		}
		free(v);
	}
	exempt_key(x, key, sizeof(key));
	if (arb_txn_get(t, ARB_DB_EXEMPTIONS, key, strlen(key), &v,
	    &len) == 0)
		free(v);
	else if ((rv = arb_txn_count(t, ARB_DB_EXEMPTIONS, &n)) != 0 ||
	    n >= COMP_EXEMPTIONS_MAX) {
		root_reply_refuse(req, rv ? rv : ARB_ETOOBIG, "exempt %s: %s",
		    what, rv ? arb_strerror(rv) : "too many exemptions");
		return rv ? rv : ARB_ETOOBIG;
	}
	x->created_ms = comp_now_ms();
	if ((rv = arb_wire_encode_exemption(x, &buf, &len)) == 0) {
		rv = arb_txn_put(t, ARB_DB_EXEMPTIONS, key, strlen(key), buf,
		    len);
		free(buf);
	}
	if (rv != 0)
		root_reply_refuse(req, rv, "exempt %s: %s", what,
		    arb_strerror(rv));
	return rv;
}

/* Remove key from db, or refuse naming what. */
static int
comp_rm(struct arb_req *req, struct arb_txn *t, enum arb_db db,
    const char *key, const char *what)
{
	int	rv;

	if ((rv = arb_txn_del(t, db, key, strlen(key))) != 0)
		root_reply_refuse(req, rv, "%s: %s", what,
		    rv == ARB_ENOTFOUND ? "there is none" : arb_strerror(rv));
	return rv;
}

void
root_compliance_ctl(struct root *r, struct arb_req *req,
    const Arbor__ComplianceCtl *c)
{
	Arbor__Envelope			 env = ARBOR__ENVELOPE__INIT;
	Arbor__ComplianceCtlReply	 cr = ARBOR__COMPLIANCE_CTL_REPLY__INIT;
	struct comp_set			 s;
	struct arb_txn			*t;
	char				 key[ARB_MAX_ID + 8], what[160];
	const char			*op = c->op;
	int				 rv, write;

	write = strcmp(op, "list") != 0;
	if (write && strcmp(op, "baseline-set") != 0 &&
	    strcmp(op, "baseline-rm") != 0 && strcmp(op, "exempt-set") != 0 &&
	    strcmp(op, "exempt-rm") != 0) {
		root_reply_refuse(req, ARB_EINVAL, "compliance: unknown "
		    "operation %.64s", op);
		return;
	}
	if ((strncmp(op, "baseline", 8) == 0 && c->baseline == NULL) ||
	    (strncmp(op, "exempt", 6) == 0 && c->exemption == NULL)) {
		root_reply_refuse(req, ARB_EINVAL, "%s: nothing named", op);
		return;
	}
	if ((rv = arb_txn_begin(r->store, write, &t)) != 0) {
		root_reply_error(req, rv, op);
		return;
	}
	rv = 0;
	key[0] = '\0';
	if (c->exemption != NULL)
		exempt_key(c->exemption, key, sizeof(key));
	if (strcmp(op, "baseline-set") == 0)
		rv = baseline_set(r, req, t, c->baseline);
	else if (strcmp(op, "baseline-rm") == 0) {
		snprintf(what, sizeof(what), "baseline rm %s",
		    c->baseline->name);
		rv = comp_rm(req, t, ARB_DB_BASELINES, c->baseline->name,
		    what);
	} else if (strcmp(op, "exempt-set") == 0)
		rv = exempt_set(req, t, c->exemption);
	else if (strcmp(op, "exempt-rm") == 0) {
		snprintf(what, sizeof(what), "exempt rm %s", key);
		rv = comp_rm(req, t, ARB_DB_EXEMPTIONS, key, what);
	}
	if (rv != 0) {
		arb_txn_abort(t);
		return;			/* refused, saying why */
	}
	if ((rv = comp_load(t, &s, 1)) != 0) {
		arb_txn_abort(t);
		root_reply_error(req, rv, op);
		return;
	}
	if (write && (rv = arb_txn_commit(t)) != 0) {
		comp_set_clear(&s);
		root_reply_error(req, rv, op);
		return;
	}
	if (!write)
		arb_txn_abort(t);
	if (write)
		log_info("root: compliance: %s %s", op, c->baseline ?
		    c->baseline->name : key);
	cr.baselines = s.b;
	cr.n_baselines = s.nb;
	cr.exemptions = s.x;
	cr.n_exemptions = s.nx;
	cr.now_ms = comp_now_ms();
	cr.unlisted = s.xleft;
	cr.detail = (char *)op;
	env.body_case = ARBOR__ENVELOPE__BODY_COMPLIANCE_CTL_REPLY;
	env.compliance_ctl_reply = &cr;
	root_reply(req, &env);
	comp_set_clear(&s);
}

/* ---------------------------------------------------------------- view */

struct comp_run {
	struct root		 *r;
	struct arb_txn		 *t;
	struct comp_set		  s;
	int64_t			  now_ms, silent_ms;
	Arbor__ComplianceReply	  out;
	uint64_t		 *totals;	/* 4 per baseline */
	size_t			  cap, bytes;
};

static const Arbor__Inventory comp_empty_inv = ARBOR__INVENTORY__INIT;

/* The stored exemption under key, if it has not expired, into *xp. */
static int
comp_exempt_get(const struct comp_run *cr, const char *key,
    Arbor__Exemption **xp)
{
	Arbor__Exemption	*x;
	void			*v;
	size_t			 n;
	int			 rv;

	if (arb_txn_get(cr->t, ARB_DB_EXEMPTIONS, key, strlen(key), &v,
	    &n) != 0)
		return 0;
	rv = arb_wire_decode_exemption(v, n, &x);
	free(v);
	if (rv != 0)
		return 0;
	if (x->until_ms != 0 && x->until_ms <= cr->now_ms) {
		arb_wire_free_exemption(x);
		return 0;
	}
	*xp = x;
	return 1;
}

/*
 * The exemption that applies to endpoint eid now: its own, else that of
 * the first of its groups that has one; expired ones no longer apply.
 * One look-up per group, whatever the number of exemptions.  NULL if
 * none; free with arb_wire_free_exemption.
 */
static Arbor__Exemption *
comp_exempt(const struct comp_run *cr, const char *eid,
    const Arbor__Inventory *inv)
{
	Arbor__Exemption	*x = NULL;
	char			 key[ARB_MAX_ID + 8];
	size_t			 i;

	snprintf(key, sizeof(key), "id:%s", eid);
	if (comp_exempt_get(cr, key, &x))
		return x;
	for (i = 0; i < inv->n_groups; i++) {
		snprintf(key, sizeof(key), "group:%s", inv->groups[i]);
		if (comp_exempt_get(cr, key, &x))
			return x;
	}
	return NULL;
}

/*
 * An endpoint the head locks (by its id or a group of its inventory) is
 * exempt, with the lock's reason: the operator keeps it from every action.
 */
static int
comp_locked(const struct comp_run *cr, const char *eid,
    const Arbor__Inventory *inv, const char **whyp)
{
	const Arbor__Lock	*l;

	*whyp = NULL;
	if (cr->r->head == NULL || (l = arb_head_locked(cr->r->head, eid,
	    inv->groups, inv->n_groups, cr->now_ms)) == NULL)
		return 0;
	*whyp = l->reason[0] ? l->reason : "locked";
	return 1;
}

static void
comp_item_free(Arbor__ComplianceItem *it)
{
	size_t	i;

	if (it == NULL)
		return;
	for (i = 0; i < it->n_policies; i++)
		free(it->policies[i]);
	free(it->policies);
	free(it->endpoint_id);
	free(it->hostname);
	free(it->reason);
	free(it);
}

/* The latest report of eid on policy pid: its state (-1: none). */
static int
comp_state(struct arb_txn *t, const char *eid, const char *pid,
    uint32_t *versionp)
{
	char		 key[ARB_REPORT_KEY_MAX];
	size_t		 a = strlen(eid), b = strlen(pid), n;
	Arbor__Report	*rep;
	void		*v;
	int		 st = -1;

	*versionp = 0;
	if (a + b + 1 > sizeof(key))
		return -1;
	memcpy(key, eid, a);
	key[a] = '\0';
	memcpy(key + a + 1, pid, b);
	if (arb_txn_get(t, ARB_DB_STATUS, key, a + b + 1, &v, &n) != 0)
		return -1;
	if (arb_wire_decode_report(v, n, &rep) == 0) {
		st = (int)rep->state;
		*versionp = rep->version;
		arb_wire_free_report(rep);
	}
	free(v);
	return st;
}

/*
 * Endpoint eid (record rec, inventory inv) against baseline k, counted
 * and listed; x is the exemption that applies to it, or NULL.
 */
static int
comp_one(struct comp_run *cr, size_t k, const char *eid,
    const Arbor__EndpointRecord *rec, const Arbor__Inventory *inv,
    const Arbor__Exemption *x)
{
	const Arbor__Baseline	*b = cr->s.b[k];
	Arbor__ComplianceItem	*it, **nv;
	Arbor__CompliancePolicy	*p;
	const char		*lockwhy;
	size_t			 i;
	int			 locked;

	if ((it = calloc(1, sizeof(*it))) == NULL)
		return -ENOMEM;
	arbor__compliance_item__init(it);
	it->baseline = b->name;
	it->endpoint_id = strdup(eid);
	it->hostname = strdup(inv->hostname[0] ? inv->hostname :
	    rec->hostname);
	it->last_contact = rec->last_contact;
	it->policies = calloc(b->n_policies + 1, sizeof(*it->policies));
	if (it->endpoint_id == NULL || it->hostname == NULL ||
	    it->policies == NULL)
		goto nomem;
	for (i = 0; i < b->n_policies; i++) {
		if ((p = calloc(1, sizeof(*p))) == NULL)
			goto nomem;
		arbor__compliance_policy__init(p);
		it->policies[it->n_policies++] = p;
		p->policy_id = b->policies[i];
		p->want_version = comp_want(cr->r, p->policy_id);
		p->state = comp_state(cr->t, eid, p->policy_id, &p->version);
		p->ok = root_comp_satisfied(p->state, p->version,
		    p->want_version);
	}
	locked = x == NULL && comp_locked(cr, eid, inv, &lockwhy);
	it->status = root_comp_classify(x != NULL || locked,
	    rec->last_contact, cr->now_ms, cr->silent_ms, it->policies,
	    it->n_policies);
	if (x != NULL) {
		it->reason = strdup(x->reason);
		it->until_ms = x->until_ms;
	} else
		it->reason = strdup(locked && lockwhy ? lockwhy : "");
	if (it->reason == NULL)
		goto nomem;
	cr->totals[k * ROOT_COMP_COUNT + it->status]++;
	cr->bytes += 160 + 48 * it->n_policies + strlen(it->reason);
	if (cr->s.bytes + cr->bytes > COMP_REPLY_BYTES) {
		cr->out.unlisted++;
		comp_item_free(it);
		return 0;
	}
	if (cr->out.n_items == cr->cap) {
		cr->cap = cr->cap ? 2 * cr->cap : 64;
		if ((nv = realloc(cr->out.items, cr->cap * sizeof(*nv))) ==
		    NULL)
			goto nomem;
		cr->out.items = nv;
	}
	cr->out.items[cr->out.n_items++] = it;
	return 0;
nomem:
	comp_item_free(it);
	return -ENOMEM;
}

static int
comp_ep_cb(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg)
{
	struct comp_run		*cr = arg;
	Arbor__EndpointRecord	*rec;
	const Arbor__Inventory	*inv;
	Arbor__Exemption	*x;
	char			 eid[ARB_MAX_ID + 1];
	size_t			 k;
	int			 rv = 0;

	if (klen > ARB_MAX_ID)
		return 0;
	memcpy(eid, key, klen);
	eid[klen] = '\0';
	if (arb_wire_decode_eprec(val, vlen, &rec) != 0)
		return 0;
	inv = rec->inventory != NULL ? rec->inventory : &comp_empty_inv;
	x = comp_exempt(cr, eid, inv);
	for (k = 0; rv == 0 && k < cr->s.nb; k++) {
		const Arbor__Baseline	*b = cr->s.b[k];
		const struct arb_target	 tg = {
			b->target_endpoints, b->n_target_endpoints,
			b->target_groups, b->n_target_groups,
			b->target_props, b->n_target_props,
		};

		if (root_inv_targeted(&tg, eid, rec))
			rv = comp_one(cr, k, eid, rec, inv, x);
	}
	arb_wire_free_exemption(x);
	arb_wire_free_eprec(rec);
	return rv;
}

void
root_get_compliance(struct root *r, struct arb_req *req,
    const Arbor__GetCompliance *g)
{
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT;
	struct comp_run		 cr;
	size_t			 i, k;
	int			 rv;

	memset(&cr, 0, sizeof(cr));
	arbor__compliance_reply__init(&cr.out);
	cr.r = r;
	cr.now_ms = comp_now_ms();
	cr.silent_ms = g->silent_after_ms > 0 ? g->silent_after_ms :
	    r->conf->silent_after_ms;
	if ((rv = arb_txn_begin(r->store, 0, &cr.t)) != 0) {
		root_reply_error(req, rv, "compliance");
		return;
	}
	if ((rv = comp_load(cr.t, &cr.s, 0)) != 0) {
		arb_txn_abort(cr.t);
		root_reply_error(req, rv, "compliance");
		return;
	}
	if (g->baseline[0] != '\0') {	/* only the one asked for */
		for (i = k = 0; i < cr.s.nb; i++) {
			if (strcmp(cr.s.b[i]->name, g->baseline) == 0)
				cr.s.b[k++] = cr.s.b[i];
			else
				arb_wire_free_baseline(cr.s.b[i]);
		}
		cr.s.nb = k;
		if (k == 0) {
			arb_txn_abort(cr.t);
			comp_set_clear(&cr.s);
			root_reply_refuse(req, ARB_ENOTFOUND, "compliance: no "
			    "baseline %s", g->baseline);
			return;
		}
	}
	if ((cr.totals = calloc(cr.s.nb * ROOT_COMP_COUNT + 1,
	    sizeof(*cr.totals))) == NULL)
		rv = -ENOMEM;
	else
		rv = arb_txn_foreach(cr.t, ARB_DB_ENDPOINTS, comp_ep_cb, &cr);
	arb_txn_abort(cr.t);
	if (rv < 0)
		root_reply_error(req, rv, "compliance");
	else {
		cr.out.baselines = cr.s.b;
		cr.out.n_baselines = cr.s.nb;
		cr.out.totals = cr.totals;
		cr.out.n_totals = cr.s.nb * ROOT_COMP_COUNT;
		cr.out.silent_after_ms = cr.silent_ms;
		cr.out.now_ms = cr.now_ms;
		env.body_case = ARBOR__ENVELOPE__BODY_COMPLIANCE_REPLY;
		env.compliance_reply = &cr.out;
		root_reply(req, &env);
	}
	for (i = 0; i < cr.out.n_items; i++)
		comp_item_free(cr.out.items[i]);
	free(cr.out.items);
	free(cr.totals);
	comp_set_clear(&cr.s);
}
