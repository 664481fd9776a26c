/*
 * The JSON documents of the operator's views (root/view.h), built from
 * the root's control replies, for arborctl's --json and the HTTP API.
 */
#include <errno.h>
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
		o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I}",
		    "node_id", tr->relays[i]->node_id,
		    "parent", tr->relays[i]->parent,
		    "parent_id", tr->relays[i]->parent_id[0] != '\0' ?
		    tr->relays[i]->parent_id : "root",
		    "children", (json_int_t)tr->relays[i]->children,
		    "head_seq", (json_int_t)tr->relays[i]->head_seq,
		    "lag", (json_int_t)(tr->head_seq -
		    tr->relays[i]->head_seq),
		    "last_contact", (json_int_t)tr->relays[i]->at);
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
