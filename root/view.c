/*
 * The JSON documents of the operator's views (root/view.h), built from
 * the root's control replies, for arborctl's --json and the HTTP API.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "arbor/error.h"
#include "arbor/policy.h"
#include "arbor/report.h"
#include "arbor/sig.h"
#include "arbor/wire.h"
#include "view.h"

/* ---------------------------------------------------------- catalog */

int
view_current(const Arbor__CatalogReply *cr, struct view_current **vp,
    size_t *np)
{
	struct view_current	*v;
	Arbor__Policy		*p;
	size_t			 i, n = 0;
	int			 rv;

	if ((v = calloc(cr->n_policies + 1, sizeof(*v))) == NULL)
		return -ENOMEM;
	for (i = 0; i < cr->n_policies; i++) {
		if ((rv = arb_wire_decode_policy(cr->policies[i]->body.data,
		    cr->policies[i]->body.len, &p)) != 0)
			goto fail;
		v[n].targeted = p->n_target_endpoints > 0 ||
		    p->n_target_groups > 0 || p->n_target_props > 0;
		v[n].version = p->version;
		v[n].id = strdup(p->id);
		arb_wire_free_policy(p);
		if (v[n++].id == NULL) {
			rv = -ENOMEM;
			goto fail;
		}
	}
	*vp = v;
	*np = n;
	return 0;
fail:
	view_current_free(v, n);
	return rv;
}

const struct view_current *
view_current_find(const struct view_current *v, size_t n, const char *id)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].id, id) == 0)
			return &v[i];
	return NULL;
}

void
view_current_free(struct view_current *v, size_t n)
{
	size_t	i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i].id);
	free(v);
}

const Arbor__PolicyRef *
view_find_ref(const Arbor__Head *h, const Arbor__Signed *s)
{
	uint8_t	sha[ARB_SHA256_LEN];
	size_t	i;

	if (h == NULL || arb_sha256(s->body.data, s->body.len, sha) != 0)
		return NULL;
	for (i = 0; i < h->n_policies; i++)
		if (h->policies[i]->sha256.len == ARB_SHA256_LEN &&
		    memcmp(h->policies[i]->sha256.data, sha,
		    ARB_SHA256_LEN) == 0)
			return h->policies[i];
	return NULL;
}

static json_t *
view_policy(const Arbor__Policy *p, int urgent)
{
	json_t	*blobs, *b;
	char	 hex[ARB_SHA256_HEX];
	size_t	 i;

	if ((blobs = json_array()) == NULL)
		return NULL;
	for (i = 0; i < p->n_blobs; i++) {
		hex[0] = '\0';
		if (p->blobs[i]->sha256.len == ARB_SHA256_LEN)
			arb_hex(p->blobs[i]->sha256.data, ARB_SHA256_LEN, hex);
		b = json_pack("{s:s, s:s, s:I}", "name", p->blobs[i]->name,
		    "sha256", hex, "size", (json_int_t)p->blobs[i]->size);
		if (b == NULL || json_array_append_new(blobs, b) != 0) {
			json_decref(blobs);
			return NULL;
		}
	}
	return json_pack("{s:s, s:I, s:s, s:s, s:b, s:I, s:o}", "id", p->id,
	    "version", (json_int_t)p->version, "title", p->title,
	    "severity", p->severity, "urgent", urgent, "published_at",
	    (json_int_t)p->published_at, "blobs", blobs);
}

json_t *
view_catalog(const Arbor__CatalogReply *cr)
{
	Arbor__Head		*h = NULL;
	Arbor__Policy		*p;
	const Arbor__PolicyRef	*ref;
	json_t			*doc = NULL, *pols, *o;
	size_t			 i;

	if (cr->head != NULL && arb_wire_decode_head(cr->head->body.data,
	    cr->head->body.len, &h) != 0)
		return NULL;
	doc = h == NULL ? json_pack("{s:n}", "head") :
	    json_pack("{s:{s:I, s:I, s:I}}", "head", "seq", (json_int_t)h->seq,
	    "issued_at", (json_int_t)h->issued_at, "expires_at",
	    (json_int_t)h->expires_at);
	if (doc == NULL || (pols = json_array()) == NULL ||
	    json_object_set_new(doc, "policies", pols) != 0)
		goto fail;
	for (i = 0; i < cr->n_policies; i++) {
		if (arb_wire_decode_policy(cr->policies[i]->body.data,
		    cr->policies[i]->body.len, &p) != 0)
			goto fail;
		ref = view_find_ref(h, cr->policies[i]);
		o = view_policy(p, ref != NULL && ref->urgent);
		arb_wire_free_policy(p);
		if (o == NULL || json_array_append_new(pols, o) != 0)
			goto fail;
	}
	if (h != NULL)
		arb_wire_free_head(h);
	return doc;
fail:
	json_decref(doc);
	if (h != NULL)
		arb_wire_free_head(h);
	return NULL;
}

/* ----------------------------------------------------------- status */

static int
view_cmp_counts(const void *a, const void *b)
{
	const Arbor__PolicyCounts *const *x = a, *const *y = b;

	return strcmp((*x)->policy_id, (*y)->policy_id);
}

void
view_status_sort(Arbor__StatusReply *sr)
{
	if (sr->n_policies > 1)
		qsort(sr->policies, sr->n_policies, sizeof(*sr->policies),
		    view_cmp_counts);
}

/* {"revoked": 2, ...} */
static json_t *
view_reasons(Arbor__ReasonCount **v, size_t n)
{
	json_t	*o = json_object();
	size_t	 i;

	for (i = 0; o != NULL && i < n; i++)
		if (json_object_set_new(o, v[i]->reason,
		    json_integer((json_int_t)v[i]->count)) != 0) {
			json_decref(o);
			o = NULL;
		}
	return o;
}

json_t *
view_status(const Arbor__StatusReply *sr, const struct view_current *cur,
    size_t ncur, const Arbor__RolloutReply *ro)
{
	const Arbor__PolicyCounts	*pc;
	json_t		*doc, *pols, *counts, *o;
	size_t		 i;
	unsigned	 st;

	doc = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	    "head_seq", (json_int_t)sr->head_seq,
	    "endpoints", (json_int_t)sr->endpoints,
	    "batches", (json_int_t)sr->batches,
	    "reports", (json_int_t)sr->reports,
	    "accepted", (json_int_t)sr->accepted,
	    "rejected", (json_int_t)sr->rejected,
	    "last_report_at_ms", (json_int_t)sr->last_report_at_ms,
	    "bytes_served", (json_int_t)sr->bytes_served,
	    "report_bytes", (json_int_t)sr->report_bytes,
	    "requests", (json_int_t)sr->requests);
	if (doc == NULL || json_object_set_new(doc, "rejected_by",
	    view_reasons(sr->rejected_by, sr->n_rejected_by)) != 0 ||
	    json_object_set_new(doc, "enrol_refused",
	    view_reasons(sr->enrol_refused, sr->n_enrol_refused)) != 0 ||
	    (pols = json_array()) == NULL ||
	    json_object_set_new(doc, "policies", pols) != 0)
		goto nomem;
	for (i = 0; i < sr->n_policies; i++) {
		pc = sr->policies[i];
		if ((counts = json_object()) == NULL)
			goto nomem;
		for (st = 0; st < ARB_ST_COUNT; st++)
			if (json_object_set_new(counts, arb_state_name(st),
			    json_integer(st < pc->n_counts ? pc->counts[st] :
			    0)) != 0) {
				json_decref(counts);
				goto nomem;
			}
		/* A staged rollout's wave and state; null for none. */
		o = json_pack("{s:s, s:I, s:b, s:o, s:o*}", "id", pc->policy_id,
		    "version", (json_int_t)pc->version, "retired",
		    view_current_find(cur, ncur, pc->policy_id) == NULL,
		    "counts", counts, "rollout", view_rollout_find(ro,
		    pc->policy_id));
		if (o == NULL || json_array_append_new(pols, o) != 0)
			goto nomem;
	}
	return doc;
nomem:
	json_decref(doc);
	return NULL;
}

/* -------------------------------------------------------- endpoints */

static int
view_cmp_ep(const void *a, const void *b)
{
	const Arbor__EndpointInfo *const *x = a, *const *y = b;
	int	d;

	if ((d = strcmp((*x)->hostname, (*y)->hostname)) != 0)
		return d;
	if ((d = strcmp((*x)->endpoint_id, (*y)->endpoint_id)) != 0)
		return d;
	return strcmp((*x)->policy_id, (*y)->policy_id);
}

void
view_endpoints_sort(Arbor__EndpointInfo **v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), view_cmp_ep);
}

json_t *
view_endpoints(Arbor__EndpointInfo *const *v, size_t n)
{
	json_t		*doc, *via, *o;
	size_t		 i, k;

	if ((doc = json_array()) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if ((via = json_array()) == NULL)
			goto nomem;
		for (k = 0; k < v[i]->n_via; k++)
			if (json_array_append_new(via,
			    json_string(v[i]->via[k])) != 0) {
				json_decref(via);
				goto nomem;
			}
		o = json_pack("{s:s, s:s, s:I, s:o, s:s, s:s?, s:I, s:i, "
		    "s:s, s:I, s:b, s:s, s:s, s:b, s:s}", "endpoint_id",
		    v[i]->endpoint_id,
		    "hostname", v[i]->hostname,
		    "last_contact", (json_int_t)v[i]->last_contact,
		    "via", via, "policy_id", v[i]->policy_id,
		    "state", arb_state_name(v[i]->state),
		    "state_code", (json_int_t)v[i]->state,
		    "exit_code", (int)v[i]->exit_code,
		    "detail", v[i]->detail,
		    "version", (json_int_t)v[i]->version,
		    "revoked", (int)v[i]->revoked,
		    "revoked_reason", v[i]->revoked_reason,
		    "relay", v[i]->relay, "locked", (int)v[i]->locked,
		    "locked_reason", v[i]->locked_reason);
		if (o == NULL || json_array_append_new(doc, o) != 0)
			goto nomem;
	}
	return doc;
nomem:
	json_decref(doc);
	return NULL;
}

/* ------------------------------------------------------------- tree */

static int
view_cmp_relay(const void *a, const void *b)
{
	const Arbor__RelayInfo *const *x = a, *const *y = b;

	return strcmp((*x)->node_id, (*y)->node_id);
}

void
view_tree_sort(Arbor__TreeReply *tr)
{
	if (tr->n_relays > 1)
		qsort(tr->relays, tr->n_relays, sizeof(*tr->relays),
		    view_cmp_relay);
}

json_t *
view_tree(const Arbor__TreeReply *tr)
{
	json_t		*doc, *relays, *o;
	size_t		 i;

	if ((doc = json_pack("{s:I}", "head_seq",
	    (json_int_t)tr->head_seq)) == NULL ||
	    (relays = json_array()) == NULL ||
	    json_object_set_new(doc, "relays", relays) != 0)
		goto nomem;
	for (i = 0; i < tr->n_relays; i++) {
		o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, "
		    "s:I}",
		    "node_id", tr->relays[i]->node_id,
		    "parent", tr->relays[i]->parent,
		    "parent_id", tr->relays[i]->parent_id[0] != '\0' ?
		    tr->relays[i]->parent_id : "root",
		    "children", (json_int_t)tr->relays[i]->children,
		    "head_seq", (json_int_t)tr->relays[i]->head_seq,
		    "lag", (json_int_t)(tr->head_seq -
		    tr->relays[i]->head_seq),
		    "last_contact", (json_int_t)tr->relays[i]->at,
		    "served_bytes", (json_int_t)tr->relays[i]->served_bytes,
		    "fetched_bytes", (json_int_t)tr->relays[i]->fetched_bytes,
		    "served_bytes_per_s",
		    (json_int_t)tr->relays[i]->served_rate);
		if (o == NULL || json_array_append_new(relays, o) != 0)
			goto nomem;
	}
	return doc;
nomem:
	json_decref(doc);
	return NULL;
}

/* ---------------------------------------------------------- rollout */

json_t *
view_rollout_line(const char *line)
{
	json_t		*o = json_object();
	const char	*p = line, *eq, *sp;
	char		 key[64];
	char		*end, *v;
	long long	 n;

	while (o != NULL && *p != '\0') {
		if ((eq = strchr(p, '=')) == NULL ||
		    (size_t)(eq - p) >= sizeof(key))
			break;
		memcpy(key, p, (size_t)(eq - p));
		key[eq - p] = '\0';
		eq++;
		sp = strcmp(key, "why") == 0 ? eq + strlen(eq) :
		    strchr(eq, ' ');
		if (sp == NULL)
			sp = eq + strlen(eq);
		if ((v = strndup(eq, (size_t)(sp - eq))) == NULL)
			break;
		n = strtoll(v, &end, 10);
		if (*v != '\0' && *end == '\0')
			json_object_set_new(o, key, json_integer(n));
		else
			json_object_set_new(o, key, json_string(v));
		free(v);
		p = *sp ? sp + 1 : sp;
	}
	return o;
}

json_t *
view_rollout(const Arbor__RolloutReply *rr)
{
	json_t	*arr = json_array();
	size_t	 k;

	for (k = 0; arr != NULL && k < rr->n_lines; k++)
		json_array_append_new(arr, view_rollout_line(rr->lines[k]));
	return arr;
}

json_t *
view_rollout_find(const Arbor__RolloutReply *rr, const char *id)
{
	size_t	k, n = strlen(id);

	for (k = 0; rr != NULL && k < rr->n_lines; k++)
		if (strncmp(rr->lines[k], "policy=", 7) == 0 &&
		    strncmp(rr->lines[k] + 7, id, n) == 0 &&
		    rr->lines[k][7 + n] == ' ')
			return view_rollout_line(rr->lines[k]);
	return NULL;
}

void
view_utc_ms(int64_t ms, char *out, size_t size)
{
	struct tm	tm;
	time_t		t = (time_t)(ms / 1000);
	char		buf[32];

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		snprintf(out, size, "%lld", (long long)ms);
	else
		snprintf(out, size, "%s.%03dZ", buf, (int)(ms % 1000));
}

json_t *
view_audit(const Arbor__AuditReply *ar)
{
	json_t	*arr = json_array(), *o;
	char	 when[32];
	size_t	 i;

	for (i = 0; arr != NULL && i < ar->n_records; i++) {
		const Arbor__AuditRecord *a = ar->records[i];

		view_utc_ms(a->time_ms, when, sizeof(when));
		o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:i, s:s}",
		    "time_ms", (json_int_t)a->time_ms, "time", when, "token",
		    a->token, "role", a->role, "action", a->action, "target",
		    a->target, "status", (int)a->status, "detail", a->detail);
		if (o == NULL || json_array_append_new(arr, o) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* ----------------------------------------------------- inventories */

void
view_utc(int64_t ms, char *out, size_t size)
{
	time_t		t = (time_t)(ms / 1000);
	struct tm	tm;

	out[0] = '\0';
	if (ms > 0 && gmtime_r(&t, &tm) != NULL)
		strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *
view_hits(Arbor__QueryHit *const *v, size_t n)
{
	json_t	*a = json_array(), *g;
	size_t	 i, j;

	for (i = 0; a != NULL && i < n; i++) {
		g = json_array();
		for (j = 0; g != NULL && j < v[i]->n_groups; j++)
			json_array_append_new(g, json_string(v[i]->groups[j]));
		json_array_append_new(a, view_hit(v[i], g));
	}
	return a;
}

json_t *
view_hit(const Arbor__QueryHit *h, json_t *groups)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:I, s:s}", "endpoint",
	    h->endpoint_id, "hostname", h->hostname, "relay", h->relay, "os",
	    h->os, "groups", groups ? groups : json_array(), "last_contact",
	    (json_int_t)h->last_contact, "why", h->why);
}

json_t *
view_query(const Arbor__QueryReply *qr, int hits)
{
	json_t	*doc;

	doc = json_pack("{s:I, s:I, s:I, s:I, s:I, s:s, s:f}",
	    "matched", (json_int_t)qr->matched, "endpoints",
	    (json_int_t)qr->endpoints, "unknown", (json_int_t)qr->unknowns,
	    "no_inventory", (json_int_t)qr->no_inventory, "errors",
	    (json_int_t)qr->errors, "first_error", qr->first_error, "ms",
	    (double)qr->elapsed_us / 1000);
	if (doc != NULL && hits) {
		json_object_set_new(doc, "matches", view_hits(qr->matches,
		    qr->n_matches));
		json_object_set_new(doc, "unknown_endpoints",
		    view_hits(qr->unknown, qr->n_unknown));
	}
	return doc;
}

json_t *
view_unmanaged(const Arbor__UnmanagedReply *ur)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; a != NULL && i < ur->n_unmanaged; i++)
		json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,"
		    "s:s}", "addr", ur->unmanaged[i]->addr, "relay",
		    ur->unmanaged[i]->relay, "reason", ur->unmanaged[i]->reason,
		    "count", (json_int_t)ur->unmanaged[i]->count, "first_seen",
		    (json_int_t)ur->unmanaged[i]->first_seen, "last_seen",
		    (json_int_t)ur->unmanaged[i]->last_seen, "claimed",
		    ur->unmanaged[i]->claimed));
	return a ? json_pack("{s:o,s:I}", "unmanaged", a, "evicted",
	    (json_int_t)ur->evicted) : NULL;
}

static json_t *
view_strings(char *const *v, size_t n)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* The history, oldest first. */
static json_t *
view_history(const Arbor__EndpointRecord *rec)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; a != NULL && i < rec->n_history; i++) {
		const Arbor__HistoryEntry *h = rec->history[i];

		json_array_append_new(a, json_pack("{s:s, s:I, s:s, s:I, "
		    "s:i, s:I}", "policy_id", h->policy_id, "version",
		    (json_int_t)h->version, "state", arb_state_name(h->state),
		    "state_code", (json_int_t)h->state, "exit_code",
		    (int)h->exit_code, "at", (json_int_t)h->at));
	}
	return a;
}

/* Its inventory: the summary of the record and the full one's fields. */
static json_t *
view_inventory(const Arbor__EndpointDetail *d)
{
	const Arbor__Inventory		*s = d->record->inventory;
	const Arbor__InventoryDelta	*f = d->inventory;
	json_t				*o, *m, *p, *x;
	char				 os[2 * ARB_MAX_ID + 2];
	size_t				 i;

	if (s == NULL && f == NULL)
		return json_null();
	snprintf(os, sizeof(os), "%s %s", s ? s->os_id : "",
	    s ? s->os_version_id : "");
	o = json_pack("{s:s, s:s, s:o, s:o}", "os", os, "arch",
	    s ? s->arch : "", "groups", view_strings(s ? s->groups : NULL,
	    s ? s->n_groups : 0), "props", view_strings(s ? s->props : NULL,
	    s ? s->n_props : 0));
	if (o == NULL || f == NULL)
		return o;
	if ((m = json_array()) == NULL)
		goto nomem;
	for (i = 0; i < f->n_mounts; i++)
		json_array_append_new(m, json_pack("{s:s, s:s, s:I, s:I}",
		    "path", f->mounts[i]->path, "fstype", f->mounts[i]->fstype,
		    "size", (json_int_t)f->mounts[i]->size, "avail",
		    (json_int_t)f->mounts[i]->avail));
	/* The full inventory's fields, merged in (update takes no reference). */
	if ((x = json_pack("{s:s, s:s, s:I, s:I, s:o, s:I, "
	    "s:I, s:o, s:I, s:b, s:I}", "kernel", f->kernel, "cpu_model",
	    f->cpu_model, "cpus", (json_int_t)f->cpus, "mem_bytes",
	    (json_int_t)f->mem_bytes, "mounts", m, "boot_time",
	    (json_int_t)f->boot_time, "uptime_s", (json_int_t)f->uptime_s,
	    "addresses", view_strings(f->addresses, f->n_addresses),
	    "packages", (json_int_t)f->packages, "truncated",
	    (int)f->truncated, "collected_at", (json_int_t)f->at)) == NULL ||
	    json_object_update(o, x) != 0) {
		json_decref(x);
		goto nomem;
	}
	json_decref(x);
	if (f->n_set > 0 || d->packages_truncated) {
		if ((p = json_array()) == NULL)
			goto nomem;
		for (i = 0; i < f->n_set; i++)
			json_array_append_new(p, json_pack("{s:s, s:s, s:s}",
			    "name", f->set[i]->name, "arch", f->set[i]->arch,
			    "version", f->set[i]->version));
		json_object_set_new(o, "package_list", p);
		json_object_set_new(o, "package_list_truncated",
		    json_boolean(d->packages_truncated));
	}
	return o;
nomem:
	json_decref(o);
	return NULL;
}

json_t *
view_endpoint(Arbor__EndpointDetail *d)
{
	const Arbor__EndpointRecord	*rec = d->record;
	Arbor__EndpointInfo		**v;
	json_t				*rows, *inv, *hist;
	size_t				 i;
	int				 locked = 0;

	if ((v = calloc(d->n_rows + 1, sizeof(*v))) == NULL)
		return NULL;
	for (i = 0; i < d->n_rows; i++) {
		v[i] = d->rows[i];
		locked |= v[i]->locked;
	}
	view_endpoints_sort(v, d->n_rows);
	rows = view_endpoints(v, d->n_rows);
	free(v);
	inv = view_inventory(d);
	hist = view_history(rec);
	/* The host name its facts say, once it sent them (as rows have). */
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:o, s:s, s:o, s:b, "
	    "s:s, s:b, s:o?, s:o?, s:o?}", "endpoint_id", d->endpoint_id,
	    "hostname", rec->inventory != NULL &&
	    rec->inventory->hostname[0] != '\0' ? rec->inventory->hostname :
	    rec->hostname, "enrolled_hostname", rec->hostname,
	    "enrolled_at", (json_int_t)rec->enrolled_at,
	    "last_contact", (json_int_t)rec->last_contact, "relay", rec->relay,
	    "via", view_strings(rec->via, rec->n_via),
	    "token_id", rec->token_id,
	    "token_groups", view_strings(rec->groups, rec->n_groups),
	    "revoked", (int)rec->revoked, "revoked_reason",
	    rec->revoked_reason, "locked", locked, "policies", rows,
	    "history", hist, "inventory", inv);
}

/* -------------------------------------------------------- exposure */

struct view_cve {
	char		 id[40];
	double		 cvss;
	char		 policies[256];
	json_t		*eps;		/* "endpoint hostname policy state" */
};

static int
view_exposed_state(unsigned st)
{
	return st != ARB_ST_UNKNOWN && st != ARB_ST_NOT_APPLICABLE &&
	    st != ARB_ST_FIXED && st != ARB_ST_ERROR;
}

static struct view_cve *
view_cve_get(struct view_cve **vp, size_t *np, const char *id)
{
	struct view_cve	*v;
	size_t		 i;

	for (i = 0; i < *np; i++)
		if (strcmp((*vp)[i].id, id) == 0)
			return &(*vp)[i];
	if ((v = realloc(*vp, (*np + 1) * sizeof(*v))) == NULL)
		return NULL;
	*vp = v;
	memset(&v[*np], 0, sizeof(v[*np]));
	snprintf(v[*np].id, sizeof(v[*np].id), "%s", id);
	if ((v[*np].eps = json_array()) == NULL)
		return NULL;
	return &v[(*np)++];
}

static int
view_cve_cmp(const void *a, const void *b)
{
	const struct view_cve *x = a, *y = b;

	if (x->cvss != y->cvss)
		return x->cvss < y->cvss ? 1 : -1;
	if (json_array_size(x->eps) != json_array_size(y->eps))
		return json_array_size(x->eps) < json_array_size(y->eps) ?
		    1 : -1;
	return strcmp(x->id, y->id);
}

/* Add the exposed endpoints of policy p to every CVE it names. */
static int
view_exp_policy(const Arbor__Policy *p, const Arbor__EndpointsReply *er,
    const char *only, struct view_cve **vp, size_t *np)
{
	struct view_cve	*e;
	char		 line[512];
	size_t		 i, k, n;

	for (k = 0; k < p->n_cves; k++) {
		if (only != NULL && strcmp(only, p->cves[k]) != 0)
			continue;
		if ((e = view_cve_get(vp, np, p->cves[k])) == NULL)
			return -ENOMEM;
		if (p->cvss > e->cvss)
			e->cvss = p->cvss;
		n = strlen(e->policies);
		snprintf(e->policies + n, sizeof(e->policies) - n, "%s%s",
		    n ? "," : "", p->id);
		for (i = 0; i < er->n_endpoints; i++) {
			const Arbor__EndpointInfo *x = er->endpoints[i];

			if (strcmp(x->policy_id, p->id) != 0 ||
			    x->version != p->version ||
			    !view_exposed_state(x->state))
				continue;
			snprintf(line, sizeof(line), "%s %s %s %s",
			    x->endpoint_id, x->hostname, p->id,
			    arb_state_name(x->state));
			if (json_array_append_new(e->eps,
			    json_string(line)) != 0)
				return -ENOMEM;
		}
	}
	return 0;
}

json_t *
view_exposure(const Arbor__CatalogReply *cr, const Arbor__EndpointsReply *er,
    const char *only)
{
	struct view_cve	*v = NULL;
	Arbor__Policy	*p;
	json_t		*a, *doc = NULL;
	size_t		 n = 0, i;
	int		 rv = 0;

	for (i = 0; i < cr->n_policies && rv == 0; i++) {
		if (arb_wire_decode_policy(cr->policies[i]->body.data,
		    cr->policies[i]->body.len, &p) != 0)
			continue;
		if (p->n_cves > 0)
			rv = view_exp_policy(p, er, only, &v, &n);
		arb_wire_free_policy(p);
	}
	if (rv == 0 && n > 1)
		qsort(v, n, sizeof(*v), view_cve_cmp);
	if (rv == 0 && (a = json_array()) != NULL) {
		for (i = 0; i < n; i++) {
			json_array_append_new(a, json_pack("{s:s, s:f, s:s, "
			    "s:I, s:O}", "cve", v[i].id, "cvss", v[i].cvss,
			    "policies", v[i].policies, "exposed",
			    (json_int_t)json_array_size(v[i].eps), "endpoints",
			    v[i].eps));
		}
		doc = json_pack("{s:o}", "cves", a);
	}
	for (i = 0; i < n; i++)
		json_decref(v[i].eps);
	free(v);
	return doc;
}

/* ------------------------------------------------------ compliance */

/* Append to the string in buf (size bytes), truncating. */
static void
view_cat(char *buf, size_t size, const char *fmt, ...)
{
	va_list	ap;
	size_t	n = strlen(buf);

	if (n + 1 >= size)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(buf + n, size - n, fmt, ap);
	va_end(ap);
}

/* The order of the root's enum root_comp. */
static const char *const view_comp_status[] = {
	"compliant", "below", "exempt", "not-reporting"
};

const char *
view_comp_status_name(uint32_t s)
{
	return s < VIEW_COMP_NSTATUS ? view_comp_status[s] : "?";
}

/* A baseline's target as the operator writes it: "all" for none. */
void
view_target_text(const Arbor__Baseline *b, char *out, size_t size)
{
	size_t	i;

	out[0] = '\0';
	for (i = 0; i < b->n_target_groups; i++)
		view_cat(out, size, "%sgroup:%s", out[0] ? "," : "",
		    b->target_groups[i]);
	for (i = 0; i < b->n_target_endpoints; i++)
		view_cat(out, size, "%sendpoint:%s", out[0] ? "," : "",
		    b->target_endpoints[i]);
	for (i = 0; i < b->n_target_props; i++)
		view_cat(out, size, "%sprop:%s", out[0] ? "," : "",
		    b->target_props[i]);
	if (out[0] == '\0')
		snprintf(out, size, "all");
}

json_t *
view_baseline(const Arbor__Baseline *b)
{
	char	tg[1024];

	view_target_text(b, tg, sizeof(tg));
	return json_pack("{s:s, s:s, s:o, s:I}", "name", b->name, "target", tg,
	    "policies", view_strings(b->policies, b->n_policies),
	    "created_ms", (json_int_t)b->created_ms);
}

const char *
view_comp_state_name(int st)
{
	const char	*n;

	if (st < 0)
		return "no-report";
	return (n = arb_state_name((unsigned)st)) != NULL ? n : "?";
}

static json_t *
view_comp_item(const Arbor__ComplianceItem *it)
{
	const Arbor__CompliancePolicy	*p;
	json_t				*pols, *miss;
	char				 until[32];
	size_t				 i;

	pols = json_array();
	miss = json_array();
	for (i = 0; pols != NULL && miss != NULL && i < it->n_policies; i++) {
		p = it->policies[i];
		json_array_append_new(pols, json_pack("{s:s, s:s, s:I, s:I, "
		    "s:b}", "policy", p->policy_id, "state",
		    view_comp_state_name(p->state), "version",
		    (json_int_t)p->version, "want_version",
		    (json_int_t)p->want_version, "ok", p->ok));
		if (!p->ok)
			json_array_append_new(miss, json_string(p->policy_id));
	}
	view_utc(it->until_ms, until, sizeof(until));
	return json_pack("{s:s, s:s, s:s, s:o, s:o, s:s?, s:s?, s:I}",
	    "endpoint", it->endpoint_id, "hostname", it->hostname, "status",
	    view_comp_status_name(it->status), "missing", miss ? miss :
	    json_array(), "policies", pols ? pols : json_array(), "reason",
	    it->status == 2 ? it->reason : NULL, "until", it->status == 2 &&
	    until[0] ? until : NULL, "last_contact",
	    (json_int_t)it->last_contact);
}

json_t *
view_compliance(const Arbor__ComplianceReply *cr)
{
	json_t	*doc, *a, *b, *eps, *counts;
	size_t	 i, k, s;

	a = json_array();
	for (k = 0; a != NULL && k < cr->n_baselines; k++) {
		b = view_baseline(cr->baselines[k]);
		counts = json_object();
		eps = json_array();
		if (b == NULL || counts == NULL || eps == NULL) {
			json_decref(b);
			json_decref(counts);
			json_decref(eps);
			json_decref(a);
			return NULL;
		}
		for (s = 0; s < VIEW_COMP_NSTATUS; s++)
			json_object_set_new(counts, view_comp_status[s],
			    json_integer((json_int_t)(k * VIEW_COMP_NSTATUS + s <
			    cr->n_totals ? cr->totals[k * VIEW_COMP_NSTATUS + s] :
			    0)));
		for (i = 0; i < cr->n_items; i++)
			if (strcmp(cr->items[i]->baseline,
			    cr->baselines[k]->name) == 0)
				json_array_append_new(eps,
				    view_comp_item(cr->items[i]));
		json_object_set_new(b, "counts", counts);
		json_object_set_new(b, "endpoints", eps);
		json_array_append_new(a, b);
	}
	doc = json_pack("{s:o, s:I, s:I}", "baselines", a ? a : json_array(),
	    "silent_after_s", (json_int_t)(cr->silent_after_ms / 1000),
	    "unlisted", (json_int_t)cr->unlisted);
	return doc;
}


size_t
view_endpoints_keep(Arbor__EndpointInfo **v, size_t n,
    const Arbor__QueryReply *qr)
{
	size_t	i, k, m = 0;

	for (i = 0; i < n; i++) {
		for (k = 0; k < qr->n_matches; k++)
			if (strcmp(qr->matches[k]->endpoint_id,
			    v[i]->endpoint_id) == 0)
				break;
		if (k < qr->n_matches)
			v[m++] = v[i];
	}
	return m;
}
