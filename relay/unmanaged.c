/*
 * Unmanaged addresses: machines that reach this node but are not managed.
 *
 * A node notes the remote address (no port) of a child whose enrolment
 * the root refused, whose report was refused or came from an endpoint
 * the root does not know or revoked, and of one that polls under an
 * endpoint id that no receipt names for longer than a grace time.  Each
 * address is one entry: how often, first and last seen, the latest
 * reason and the endpoint id it claimed.  An address that enrols, or
 * whose report verifies against the key the root enrolled, is dropped.
 *
 * Entries travel up with the report batches: a node sends those it holds
 * (its own and those its children told it of, the most recently seen
 * first, at most ARB_UNMANAGED_BATCH_MAX) whenever they changed or are
 * not empty, and a parent replaces what that child said before.  What a
 * child stopped saying for UNM_CARRIED_KEEP is forgotten.  The table
 * holds at most UNM_MAX entries; when full, the one seen longest ago
 * makes room, and the evictions are counted (and sent up).  Everything
 * here is memory only: a node that restarts learns again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arbor/log.h"
#include "core_int.h"

#define UNM_MAX			4096
#define UNM_CARRIED_KEEP	RELAY_CHILD_WINDOW	/* s */
#define UNM_REASON_MAX		31

struct unm {
	char		 addr[ARB_UNMANAGED_ADDR_MAX + 1];
	char		 relay[ARB_MAX_ID + 1];
	char		 reason[UNM_REASON_MAX + 1];
	char		 claimed[ARB_MAX_ID + 1];
	char		 carrier[ARB_MAX_ID + 1];	/* "": seen here */
	uint64_t	 count;
	int64_t		 first, last;	/* s */
	int64_t		 heard;		/* carried: when last said */
	int		 pending;	/* a poll: listed after the grace */
};

struct relay_unm {
	struct arb_strmap	*map;		/* "relay addr" -> struct unm */
	struct arb_strmap	*ids;		/* claimed id -> addr, seen here */
	uint64_t		 evicted;	/* here */
	uint64_t		 evicted_below;	/* as children last said */
	int			 changed;	/* since last sent up */
	int64_t			 grace;		/* s */
};

static void
unm_key(const char *relay, const char *addr, char *key, size_t len)
{
	snprintf(key, len, "%s %s", relay, addr);
}

int
relay_unm_init(struct relay_core *c, int64_t grace)
{
	struct relay_unm	*u;

	if ((u = calloc(1, sizeof(*u))) == NULL)
		return -ENOMEM;
	if (arb_strmap_new(&u->map) != 0 || arb_strmap_new(&u->ids) != 0) {
		arb_strmap_free(u->map, NULL);
		free(u);
		return -ENOMEM;
	}
	u->grace = grace;
	c->unm = u;
	return 0;
}

void
relay_unm_fini(struct relay_core *c)
{
	if (c->unm == NULL)
		return;
	arb_strmap_free(c->unm->map, free);
	arb_strmap_free(c->unm->ids, free);
	free(c->unm);
	c->unm = NULL;
}

/* Listed (not a poll still within its grace) at now. */
static int
unm_listed(const struct relay_unm *u, const struct unm *e, int64_t now)
{
	return !e->pending || now - e->first >= u->grace;
}

struct oldest_arg {
	const char	*key;
	int64_t		 last;
};

static void
oldest_cb(const char *key, void *val, void *arg)
{
	struct unm		*e = val;
	struct oldest_arg	*oa = arg;

	if (oa->key == NULL || e->last < oa->last) {
		oa->key = key;
		oa->last = e->last;
	}
}

static void
unm_drop(struct relay_unm *u, const char *key)
{
	struct unm	*e;
	char		*a;

	if ((e = arb_strmap_del(u->map, key)) == NULL)
		return;
	if (e->carrier[0] == '\0' && e->claimed[0] != '\0' &&
	    (a = arb_strmap_get(u->ids, e->claimed)) != NULL &&
	    strcmp(a, e->addr) == 0)
		free(arb_strmap_del(u->ids, e->claimed));
	if (unm_listed(u, e, (int64_t)time(NULL)))
		u->changed = 1;
	free(e);
}

/* The entry for key, made (evicting the oldest when full), or NULL. */
static struct unm *
unm_get(struct relay_unm *u, const char *key)
{
	struct oldest_arg	 oa = { NULL, 0 };
	struct unm		*e;
	char			 old[ARB_MAX_ID + ARB_UNMANAGED_ADDR_MAX + 2];

	if ((e = arb_strmap_get(u->map, key)) != NULL)
		return e;
	if (arb_strmap_count(u->map) >= UNM_MAX) {
		arb_strmap_each(u->map, oldest_cb, &oa);
		if (oa.key == NULL)
			return NULL;
		snprintf(old, sizeof(old), "%s", oa.key);
		unm_drop(u, old);
		u->evicted++;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	if (arb_strmap_put(u->map, key, e, NULL) != 0) {
		free(e);
		return NULL;
	}
	return e;
}

void
relay_unm_note(struct relay_core *c, const char *addr, const char *reason,
    const char *claimed, int pending)
{
	struct relay_unm	*u = c->unm;
	struct unm		*e;
	char			 key[ARB_MAX_ID + ARB_UNMANAGED_ADDR_MAX + 2];
	char			*a;
	int64_t			 now = (int64_t)time(NULL);
	int			 was;

	if (u == NULL || addr == NULL || addr[0] == '\0')
		return;
	unm_key(c->c.node_id, addr, key, sizeof(key));
	if ((e = unm_get(u, key)) == NULL)
		return;
	was = e->count > 0 && unm_listed(u, e, now);
	if (e->count == 0) {
		snprintf(e->addr, sizeof(e->addr), "%s", addr);
		snprintf(e->relay, sizeof(e->relay), "%s", c->c.node_id);
		e->first = now;
		e->pending = pending;
		log_info("%s: %s is not managed: %s%s%s", c->c.name, addr,
		    reason, claimed && claimed[0] ? ", claims " : "",
		    claimed ? claimed : "");
	} else if (!pending)
		e->pending = 0;		/* a refusal lists it at once */
	/* A poll within its grace does not hide a refusal's reason. */
	if (!pending || e->pending)
		snprintf(e->reason, sizeof(e->reason), "%s", reason);
	if (claimed != NULL && claimed[0] != '\0') {
		snprintf(e->claimed, sizeof(e->claimed), "%s", claimed);
		if ((a = strdup(addr)) != NULL &&
		    arb_strmap_put(u->ids, claimed, a, (void **)&a) == 0)
			free(a);	/* the one it replaced */
		else
			free(a);
	}
	e->count++;
	e->last = now;
	if (!was && unm_listed(u, e, now))
		u->changed = 1;
}

void
relay_unm_note_req(struct relay_core *c, struct arb_req *req,
    const char *reason, const char *claimed, int pending)
{
	char	addr[ARB_NET_ADDR_LEN];

	if (c->unm != NULL && arb_req_addr(req, addr, sizeof(addr)) == 0)
		relay_unm_note(c, addr, reason, claimed, pending);
}

void
relay_unm_managed(struct relay_core *c, const char *addr)
{
	char	key[ARB_MAX_ID + ARB_UNMANAGED_ADDR_MAX + 2];

	if (c->unm == NULL || addr == NULL || addr[0] == '\0')
		return;
	unm_key(c->c.node_id, addr, key, sizeof(key));
	if (arb_strmap_get(c->unm->map, key) != NULL) {
		log_info("%s: %s is managed now", c->c.name, addr);
		unm_drop(c->unm, key);
	}
}

void
relay_unm_managed_req(struct relay_core *c, struct arb_req *req)
{
	char	addr[ARB_NET_ADDR_LEN];

	if (c->unm != NULL && c->unm->map != NULL &&
	    arb_strmap_count(c->unm->map) > 0 &&
	    arb_req_addr(req, addr, sizeof(addr)) == 0)
		relay_unm_managed(c, addr);
}

void
relay_unm_id(struct relay_core *c, const char *id, enum relay_ep state)
{
	struct relay_unm	*u = c->unm;
	struct unm		*e;
	const char		*addr;
	char			 key[ARB_MAX_ID + ARB_UNMANAGED_ADDR_MAX + 2];

	if (u == NULL || (addr = arb_strmap_get(u->ids, id)) == NULL)
		return;
	unm_key(c->c.node_id, addr, key, sizeof(key));
	if ((e = arb_strmap_get(u->map, key)) == NULL ||
	    strcmp(e->claimed, id) != 0)
		return;
	if (state == RELAY_EP_MANAGED) {
		log_info("%s: %s (%s) is managed now", c->c.name, addr, id);
		unm_drop(u, key);
	} else if (state == RELAY_EP_UNKNOWN || state == RELAY_EP_REVOKED) {
		if (e->pending)
			u->changed = 1;
		e->pending = 0;
		snprintf(e->reason, sizeof(e->reason), "%s",
		    state == RELAY_EP_REVOKED ? "revoked" : "unknown-endpoint");
	}
}

/* ------------------------------------------------------- up the tree */

struct carrier_arg {
	const char	 *carrier;
	char		**keys;
	size_t		  n, cap;
	int64_t		  before;	/* or forgotten when said before */
};

static void
carrier_cb(const char *key, void *val, void *arg)
{
	struct unm		*e = val;
	struct carrier_arg	*ca = arg;

	if (e->carrier[0] == '\0' || ca->n >= ca->cap)
		return;
	if ((ca->carrier != NULL && strcmp(e->carrier, ca->carrier) == 0) ||
	    (ca->carrier == NULL && e->heard < ca->before))
		if ((ca->keys[ca->n] = strdup(key)) != NULL)
			ca->n++;
}

/* Drop the carried entries carrier said, or (NULL) those said too long ago. */
static void
unm_drop_carried(struct relay_unm *u, const char *carrier, int64_t before)
{
	struct carrier_arg	ca;
	size_t			i;

	ca.carrier = carrier;
	ca.before = before;
	ca.n = 0;
	ca.cap = arb_strmap_count(u->map);
	if ((ca.keys = calloc(ca.cap + 1, sizeof(*ca.keys))) == NULL)
		return;
	arb_strmap_each(u->map, carrier_cb, &ca);
	for (i = 0; i < ca.n; i++) {
		unm_drop(u, ca.keys[i]);
		free(ca.keys[i]);
	}
	free(ca.keys);
}

void
relay_unm_take(struct relay_core *c, const Arbor__ReportBatch *b)
{
	struct relay_unm	*u = c->unm;
	struct unm		*e;
	const char		*carrier;
	char			 key[ARB_MAX_ID + ARB_UNMANAGED_ADDR_MAX + 2];
	int64_t			 now = (int64_t)time(NULL);
	size_t			 i;

	if (u == NULL || !b->unmanaged_all || b->n_relays == 0 ||
	    b->relays[0]->node_id[0] == '\0')
		return;
	carrier = b->relays[0]->node_id;
	unm_drop_carried(u, carrier, 0);
	u->evicted_below = b->unmanaged_evicted;
	for (i = 0; i < b->n_unmanaged && i < ARB_UNMANAGED_BATCH_MAX; i++) {
		const Arbor__Unmanaged *in = b->unmanaged[i];

		/* A child speaks for those below it, not for this node. */
		if (in->addr[0] == '\0' || in->relay[0] == '\0' ||
		    strcmp(in->relay, c->c.node_id) == 0 ||
		    strlen(in->reason) > UNM_REASON_MAX)
			continue;
		unm_key(in->relay, in->addr, key, sizeof(key));
		if ((e = arb_strmap_get(u->map, key)) != NULL &&
		    strcmp(e->carrier, carrier) != 0)
			continue;	/* another child's word stands */
		if ((e = unm_get(u, key)) == NULL)
			break;
		snprintf(e->addr, sizeof(e->addr), "%s", in->addr);
		snprintf(e->relay, sizeof(e->relay), "%s", in->relay);
		snprintf(e->reason, sizeof(e->reason), "%s", in->reason);
		snprintf(e->claimed, sizeof(e->claimed), "%s", in->claimed);
		snprintf(e->carrier, sizeof(e->carrier), "%s", carrier);
		e->count = in->count;
		e->first = in->first_seen;
		e->last = in->last_seen;
		e->heard = now;
		e->pending = 0;
	}
	u->changed = 1;
}

struct list_arg {
	const struct relay_unm	 *u;
	const struct unm	**v;
	size_t			  n;
	int64_t			  now;
};

static void
list_cb(const char *key, void *val, void *arg)
{
	struct list_arg	*la = arg;
	struct unm	*e = val;

	(void)key;
	if (unm_listed(la->u, e, la->now))
		la->v[la->n++] = e;
}

static int
list_cmp(const void *a, const void *b)
{
	const struct unm *const *x = a, *const *y = b;

	if ((*x)->last != (*y)->last)
		return (*x)->last < (*y)->last ? 1 : -1;
	return strcmp((*x)->addr, (*y)->addr);
}

int
relay_unm_list(struct relay_core *c, size_t max, Arbor__Unmanaged ***vp,
    size_t *np, uint64_t *evictedp)
{
	struct relay_unm	*u = c->unm;
	struct list_arg		 la;
	Arbor__Unmanaged	**v, *o;
	size_t			 i, n;

	*np = 0;
	*vp = NULL;
	*evictedp = u ? u->evicted + u->evicted_below : 0;
	if (u == NULL)
		return 0;
	/* Carried entries not heard again are forgotten here. */
	unm_drop_carried(u, NULL, (int64_t)time(NULL) - UNM_CARRIED_KEEP);
	la.u = u;
	la.n = 0;
	la.now = (int64_t)time(NULL);
	if ((la.v = calloc(arb_strmap_count(u->map) + 1,
	    sizeof(*la.v))) == NULL)
		return -ENOMEM;
	arb_strmap_each(u->map, list_cb, &la);
	qsort(la.v, la.n, sizeof(*la.v), list_cmp);
	n = la.n < max ? la.n : max;
	/* One allocation: the pointers, then the messages they point at. */
	if ((v = calloc(1, (n + 1) * (sizeof(*v) + sizeof(*o)))) == NULL) {
		free(la.v);
		return -ENOMEM;
	}
	o = (Arbor__Unmanaged *)(void *)(v + n + 1);
	for (i = 0; i < n; i++) {
		arbor__unmanaged__init(&o[i]);
		o[i].addr = (char *)la.v[i]->addr;
		o[i].relay = (char *)la.v[i]->relay;
		o[i].reason = (char *)la.v[i]->reason;
		o[i].claimed = (char *)la.v[i]->claimed;
		o[i].count = la.v[i]->count;
		o[i].first_seen = la.v[i]->first;
		o[i].last_seen = la.v[i]->last;
		v[i] = &o[i];
	}
	free(la.v);
	*vp = v;
	*np = n;
	return 0;
}

int
relay_unm_fill(struct relay_core *c, Arbor__ReportBatch *b)
{
	struct relay_unm	*u = c->unm;
	uint64_t		 ev;
	int			 rv;

	if (u == NULL)
		return 0;
	if ((rv = relay_unm_list(c, ARB_UNMANAGED_BATCH_MAX, &b->unmanaged,
	    &b->n_unmanaged, &ev)) != 0)
		return rv;
	b->unmanaged_evicted = ev;
	b->unmanaged_all = u->changed || b->n_unmanaged > 0;
	return 0;
}

int
relay_unm_changed(const struct relay_core *c)
{
	return c->unm != NULL && c->unm->changed;
}

void
relay_unm_sent(struct relay_core *c, int ok)
{
	if (c->unm != NULL) {
		if (ok)
			c->unm->changed = 0;
		else
			c->unm->changed = 1;
	}
}

uint64_t
relay_unm_count(struct relay_core *c)
{
	struct list_arg	la;

	if (c->unm == NULL)
		return 0;
	la.u = c->unm;
	la.n = 0;
	la.now = (int64_t)time(NULL);
	if ((la.v = calloc(arb_strmap_count(c->unm->map) + 1,
	    sizeof(*la.v))) == NULL)
		return 0;
	arb_strmap_each(c->unm->map, list_cb, &la);
	free(la.v);
	return la.n;
}
