/*
 * The root's inventories: each endpoint's full inventory (ARB_DB_INVENTORY)
 * kept by applying the deltas its reports carry, a package index
 * (ARB_DB_PKGINDEX: name NUL endpoint NUL arch -> version) kept in step
 * in the same transaction, and the applicability language evaluated over
 * them for `arborctl query` and `arborctl publish --dry-run`.
 *
 * A query evaluates the expression once per targeted endpoint with facts
 * that come from the stored record (os, arch, host name, groups and
 * properties, from the summary the endpoint record holds) and from the
 * package index (pkg(), one LMDB range look-up), never from the full
 * inventory, so that a package comparison over 100,000 endpoints reads a
 * few hundred bytes per endpoint.  File functions are unknown here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "arbor/error.h"
#include "arbor/expr.h"
#include "arbor/facts.h"
#include "arbor/inventory.h"
#include "arbor/log.h"
#include "arbor/policy.h"
#include "arbor/version.h"
#include "root.h"

#define ROOT_QUERY_LIST_MAX	5000	/* endpoints listed per reply */

/* ---------------------------------------------------------------- index */

static size_t
idx_key(const char *name, const char *eid, const char *arch, uint8_t *key,
    size_t max)
{
	size_t	a = strlen(name), b = strlen(eid), c = strlen(arch);

	if (a + b + c + 2 > max)
		return 0;
	memcpy(key, name, a);
	key[a] = '\0';
	memcpy(key + a + 1, eid, b);
	key[a + 1 + b] = '\0';
	memcpy(key + a + b + 2, arch, c);
	return a + b + c + 2;
}

/* Make the index of eid say new instead of old (either may be NULL). */
static int
idx_update(struct arb_txn *t, const char *eid,
    const Arbor__InventoryDelta *old, const Arbor__InventoryDelta *new)
{
	uint8_t		 key[ARB_INV_NAME_MAX + ARB_MAX_ID +
			    ARB_INV_ARCH_MAX + 3];
	size_t		 i = 0, j = 0, no = old ? old->n_set : 0,
			 nn = new ? new->n_set : 0, klen;
	const Arbor__Package *p;
	int		 c, rv = 0;

	while (rv == 0 && (i < no || j < nn)) {
		if (i == no)
			c = 1;
		else if (j == nn)
			c = -1;
		else if ((c = strcmp(old->set[i]->name,
		    new->set[j]->name)) == 0)
			c = strcmp(old->set[i]->arch, new->set[j]->arch);
		if (c == 0 && strcmp(old->set[i]->version,
		    new->set[j]->version) == 0) {
			i++;
			j++;
			continue;
		}
		p = c < 0 ? old->set[i] : new->set[j];
		if ((klen = idx_key(p->name, eid, p->arch, key,
		    sizeof(key))) == 0)
			return ARB_EPROTO;
		if (c < 0) {
			rv = arb_txn_del(t, ARB_DB_PKGINDEX, key, klen);
			if (rv == ARB_ENOTFOUND)
				rv = 0;
			i++;
		} else {
			rv = arb_txn_put(t, ARB_DB_PKGINDEX, key, klen,
			    p->version, strlen(p->version));
			if (c == 0)
				i++;
			j++;
		}
	}
	return rv;
}

int
root_inv_take(struct arb_txn *t, Arbor__EndpointRecord *rec,
    const char *eid, const Arbor__InventoryDelta *d)
{
	Arbor__InventoryDelta	*held = NULL;
	struct arb_inv_delta	 res;
	uint8_t			*buf = NULL;
	void			*v;
	size_t			 n, len;
	int			 rv;

	if (arb_txn_get(t, ARB_DB_INVENTORY, eid, strlen(eid), &v, &n) == 0) {
		rv = arb_wire_decode_inv(v, n, &held);
		free(v);
		if (rv != 0) {
			log_warnx("root: %s: stored inventory damaged (%s): "
			    "asking for a full one", eid, arb_strerror(rv));
			held = NULL;
		}
	}
	if ((rv = arb_inv_apply(held, d, &res)) != 0) {
		arb_wire_free_inv(held);
		if (rv == -ENOMEM)
			return rv;
		log_info("root: %s: inventory changes not applied (%s): "
		    "asking for a full one", eid, rv == ARB_ESTALE ?
		    "made against another inventory" : arb_strerror(rv));
		rec->want_inventory = 1;
		return 0;
	}
	if ((rv = idx_update(t, eid, held, &res.m)) == 0 &&
	    (rv = arb_wire_encode_inv(&res.m, &buf, &len)) == 0)
		rv = arb_txn_put(t, ARB_DB_INVENTORY, eid, strlen(eid), buf,
		    len);
	free(buf);
	arb_inv_delta_clear(&res);
	arb_wire_free_inv(held);
	if (rv == 0) {
		rec->want_inventory = 0;
		rec->has_inventory = 1;
	}
	return rv;
}

/* ---------------------------------------------------------------- query */

struct qview {
	struct arb_txn			*t;
	const char			*eid;
	const Arbor__EndpointRecord	*rec;
	char				*pkgv;	/* the last pkg() answer */
	const char			*arch;	/* pkg("name:arch"), or NULL */
};

static const Arbor__Inventory empty_inv = ARBOR__INVENTORY__INIT;

static const Arbor__Inventory *
qv_inv(const struct qview *q)
{
	return q->rec->inventory != NULL ? q->rec->inventory : &empty_inv;
}

static const char *
nz(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

static int
qv_os(void *arg, const char *key, const char **vp)
{
	const Arbor__Inventory	*inv = qv_inv(arg);

	*vp = NULL;
	if (strcasecmp(key, "ID") == 0)
		*vp = nz(inv->os_id);
	else if (strcasecmp(key, "VERSION_ID") == 0)
		*vp = nz(inv->os_version_id);
	return 0;
}

static int
qv_arch(void *arg, const char **vp)
{
	*vp = nz(qv_inv(arg)->arch);
	return 0;
}

static int
qv_hostname(void *arg, const char **vp)
{
	const struct qview *q = arg;

	*vp = nz(qv_inv(q)->hostname) ? qv_inv(q)->hostname :
	    nz(q->rec->hostname);
	return 0;
}

/* The value of property key (klen bytes) in inventory arg, or NULL. */
static const char *
inv_prop_of(void *arg, const char *key, size_t klen)
{
	const Arbor__Inventory	*inv = arg;
	size_t			 i;

	for (i = 0; i < inv->n_props; i++)
		if (strncmp(inv->props[i], key, klen) == 0 &&
		    inv->props[i][klen] == '=')
			return inv->props[i] + klen + 1;
	return NULL;
}

static const char *
qv_prop_of(void *arg, const char *key, size_t klen)
{
	return inv_prop_of((void *)qv_inv(arg), key, klen);
}

static int
qv_prop(void *arg, const char *key, const char **vp)
{
	*vp = qv_prop_of(arg, key, strlen(key));
	return 0;
}

static void
qv_groups(void *arg, char *const **gp, size_t *np)
{
	const Arbor__Inventory *inv = qv_inv(arg);

	*gp = inv->groups;
	*np = inv->n_groups;
}

/* One index entry of the package asked for: keep the lowest version. */
static int
qv_pkg_cb(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg)
{
	struct qview	*q = arg;
	const char	*arch;
	char		*v;
	size_t		 plen = strlen(key) + 1 + strlen(q->eid) + 1;

	arch = (const char *)key + plen;
	if (q->arch != NULL && (klen - plen != strlen(q->arch) ||
	    memcmp(arch, q->arch, klen - plen) != 0))
		return 0;
	if ((v = strndup(val, vlen)) == NULL)
		return -ENOMEM;
	if (q->pkgv == NULL || arb_version_cmp(v, q->pkgv) < 0) {
		free(q->pkgv);
		q->pkgv = v;
	} else
		free(v);
	return 0;
}

static int
qv_pkg(void *arg, const char *name, const char **vp)
{
	struct qview	*q = arg;
	uint8_t		 key[ARB_INV_NAME_MAX + ARB_MAX_ID + 3];
	const char	*colon;
	size_t		 nlen, elen = strlen(q->eid);
	int		 rv;

	free(q->pkgv);
	q->pkgv = NULL;
	*vp = NULL;
	q->arch = NULL;
	nlen = strlen(name);
	if ((colon = strchr(name, ':')) != NULL) {
		nlen = (size_t)(colon - name);
		q->arch = colon + 1;
	}
	if (nlen > ARB_INV_NAME_MAX)
		return 0;
	memcpy(key, name, nlen);
	key[nlen] = '\0';
	memcpy(key + nlen + 1, q->eid, elen);
	key[nlen + 1 + elen] = '\0';
	if ((rv = arb_txn_foreach_prefix(q->t, ARB_DB_PKGINDEX, key,
	    nlen + elen + 2, qv_pkg_cb, q)) != 0)
		return rv;
	*vp = q->pkgv;
	return 0;
}

static const struct arb_facts_view root_view = {
	qv_os, qv_arch, qv_hostname, qv_prop, qv_pkg, qv_groups,
};

struct qrun {
	const struct arb_expr	*e;
	const struct arb_target	*tg;
	struct arb_facts	*facts;
	struct qview		 q;
	Arbor__QueryReply	*out;
	size_t			 cap[2];
};

static int
qhit_add(struct qrun *r, int unknown, const Arbor__EndpointRecord *rec,
    const char *eid, const char *why)
{
	Arbor__QueryReply	*o = r->out;
	Arbor__QueryHit		***vp = unknown ? &o->unknown : &o->matches;
	size_t			*np = unknown ? &o->n_unknown : &o->n_matches;
	size_t			*capp = &r->cap[unknown];
	const Arbor__Inventory	*inv = rec->inventory;
	Arbor__QueryHit		*h, **nv;
	char			 os[ARB_INV_TEXT_MAX];
	size_t			 i;

	if (*np >= ROOT_QUERY_LIST_MAX)
		return 0;
	if (*np == *capp) {
		*capp = *capp ? *capp * 2 : 64;
		if ((nv = realloc(*vp, *capp * sizeof(*nv))) == NULL)
			return -ENOMEM;
		*vp = nv;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return -ENOMEM;
	arbor__query_hit__init(h);
	(*vp)[(*np)++] = h;
	snprintf(os, sizeof(os), "%s %s", inv ? inv->os_id : "",
	    inv ? inv->os_version_id : "");
	h->endpoint_id = strdup(eid);
	h->hostname = strdup(inv && inv->hostname[0] ? inv->hostname :
	    rec->hostname);
	h->relay = strdup(rec->n_via ? rec->via[0] : "");
	h->os = strdup(os);
	h->why = strdup(why ? why : "");
	h->last_contact = rec->last_contact;
	if (h->endpoint_id == NULL || h->hostname == NULL ||
	    h->relay == NULL || h->os == NULL || h->why == NULL)
		return -ENOMEM;
	if (inv != NULL && inv->n_groups > 0) {
		if ((h->groups = calloc(inv->n_groups, sizeof(char *))) ==
		    NULL)
			return -ENOMEM;
		for (i = 0; i < inv->n_groups; i++) {
			if ((h->groups[i] = strdup(inv->groups[i])) == NULL)
				return -ENOMEM;
			h->n_groups = i + 1;
		}
	}
	return 0;
}

int
root_inv_targeted(const struct arb_target *tg, const char *eid,
    const Arbor__EndpointRecord *rec)
{
	const Arbor__Inventory	*inv = rec->inventory != NULL ?
				    rec->inventory : &empty_inv;

	return arb_target_match(tg, eid, nz(inv->hostname) ? inv->hostname :
	    rec->hostname, inv->groups, inv->n_groups, inv_prop_of,
	    (void *)inv) || arb_target_match(tg, eid, rec->hostname,
	    inv->groups, inv->n_groups, inv_prop_of, (void *)inv);
}

static int
query_cb(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg)
{
	struct qrun		*r = arg;
	Arbor__EndpointRecord	*rec;
	char			 eid[ARB_MAX_ID + 1], err[512];
	int			 rv, yes = 0;

	if (klen > ARB_MAX_ID)
		return 0;
	memcpy(eid, key, klen);
	eid[klen] = '\0';
	if (arb_wire_decode_eprec(val, vlen, &rec) != 0)
		return 0;
	if (!root_inv_targeted(r->tg, eid, rec)) {
		arb_wire_free_eprec(rec);
		return 0;
	}
	r->out->endpoints++;
	if (!rec->has_inventory) {
		r->out->no_inventory++;
		arb_wire_free_eprec(rec);
		return 0;
	}
	r->q.eid = eid;
	r->q.rec = rec;
	rv = arb_expr_eval_bool(r->e, r->facts, &yes, err, sizeof(err));
	if (rv == 0 && yes) {
		r->out->matched++;
		rv = qhit_add(r, 0, rec, eid, NULL);
	} else if (rv == ARB_EUNKNOWN) {
		r->out->unknowns++;
		rv = qhit_add(r, 1, rec, eid, err);
	} else if (rv != 0 && rv != -ENOMEM) {
		if (r->out->errors++ == 0)
			r->out->first_error = strdup(err);
		rv = 0;
	}
	free(r->q.pkgv);
	r->q.pkgv = NULL;
	r->q.rec = NULL;
	arb_wire_free_eprec(rec);
	return rv;
}

int
root_inv_query(struct arb_txn *t, const struct arb_expr *e,
    const struct arb_target *tg, Arbor__QueryReply *out)
{
	struct qrun	r;
	struct timeval	a, b;
	int		rv;

	memset(&r, 0, sizeof(r));
	arbor__query_reply__init(out);
	out->first_error = NULL;	/* ours, set once: not the static "" */
	r.e = e;
	r.tg = tg;
	r.out = out;
	r.q.t = t;
	if ((rv = arb_facts_new_view(&root_view, &r.q, &r.facts)) != 0)
		return rv;
	gettimeofday(&a, NULL);
	rv = arb_txn_foreach(t, ARB_DB_ENDPOINTS, query_cb, &r);
	gettimeofday(&b, NULL);
	out->elapsed_us = (uint64_t)((b.tv_sec - a.tv_sec) * 1000000 +
	    (b.tv_usec - a.tv_usec));
	if (out->first_error == NULL)
		out->first_error = strdup("");
	arb_facts_free(r.facts);
	if (rv != 0 || out->first_error == NULL) {
		root_inv_query_clear(out);
		return rv != 0 ? rv : -ENOMEM;
	}
	return 0;
}

void
root_inv_query_clear(Arbor__QueryReply *out)
{
	size_t	i, j;

	for (i = 0; i < out->n_matches + out->n_unknown; i++) {
		Arbor__QueryHit *h = i < out->n_matches ? out->matches[i] :
		    out->unknown[i - out->n_matches];

		free(h->endpoint_id);
		free(h->hostname);
		free(h->relay);
		free(h->os);
		free(h->why);
		for (j = 0; j < h->n_groups; j++)
			free(h->groups[j]);
		free(h->groups);
		free(h);
	}
	free(out->matches);
	free(out->unknown);
	free(out->first_error);
	arbor__query_reply__init(out);
	out->first_error = NULL;
}

/* The operator's query (and dry run): answer req. */
void
root_query(struct root *r, struct arb_req *req, const Arbor__Query *qm)
{
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT;
	Arbor__QueryReply	 qr;
	const struct arb_target	 tg = {
		qm->target_endpoints, qm->n_target_endpoints,
		qm->target_groups, qm->n_target_groups,
		qm->target_props, qm->n_target_props,
	};
	struct arb_expr		*e;
	struct arb_txn		*t;
	char			 err[512];
	int			 rv;

	if ((rv = arb_expr_parse(qm->expr, &e, err, sizeof(err))) != 0) {
		root_reply_error(req, rv, err);
		return;
	}
	if ((rv = arb_txn_begin(r->store, 0, &t)) != 0) {
		arb_expr_free(e);
		root_reply_error(req, rv, "query");
		return;
	}
	rv = root_inv_query(t, e, &tg, &qr);
	arb_txn_abort(t);
	arb_expr_free(e);
	if (rv != 0) {
		root_reply_error(req, rv, "query");
		return;
	}
	env.body_case = ARBOR__ENVELOPE__BODY_QUERY_REPLY;
	env.query_reply = &qr;
	root_reply(req, &env);
	root_inv_query_clear(&qr);
}
