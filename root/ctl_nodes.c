/*
 * arborctl's views of the nodes below the root: endpoints (a row per
 * policy each reported on: last contact, state, path up) and the relay
 * tree (drawn by name, indented by depth: children, lag).
 */
#include <sys/types.h>

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "arbor/error.h"
#include "arbor/policy.h"
#include "arbor/report.h"
#include "arbor/wire.h"
#include "arborctl.h"

#define CTL_DETAIL_MAX		60	/* characters of detail shown */
#define CTL_HISTORY_LINES	10	/* history lines endpoint show prints */

void
ctl_age(int64_t t, char *out, size_t outlen)
{
	int64_t	d = (int64_t)time(NULL) - t;

	if (t <= 0)
		snprintf(out, outlen, "never");
	else if (d < 0)
		snprintf(out, outlen, "just now");
	else {
		ctl_span(d, out, outlen);
		ctl_cat(out, outlen, " ago");
	}
}


/* "unknown, not-applicable, ..." for messages. */
static void
ctl_state_list(char *buf, size_t size)
{
	unsigned	i;

	buf[0] = '\0';
	for (i = 0; i < ARB_ST_COUNT; i++)
		ctl_cat(buf, size, "%s%s", i ? ", " : "", arb_state_name(i));
}

/* ---- endpoints */

enum {
	EPC_ID, EPC_HOST, EPC_POLICY, EPC_CONTACT, EPC_STATE, EPC_RELAY,
	EPC_VIA, EPC_DETAIL, EPC_COUNT
};

struct ctl_eprow {
	char	*col[EPC_COUNT];
};

/* "r1 < r2 < r3", nearest the endpoint first; "direct" for none. */
static char *
ctl_via(const Arbor__EndpointInfo *e)
{
	char	*s, one[ARB_MAX_ID + 8];
	size_t	 i, size;

	size = 8 + e->n_via * (sizeof(one) + 3);
	if ((s = malloc(size)) == NULL)
		return NULL;
	s[0] = '\0';
	if (e->n_via == 0)
		ctl_cat(s, size, "direct");
	for (i = 0; i < e->n_via; i++) {
		ctl_clean(e->via[i], ARB_MAX_ID, one, sizeof(one));
		ctl_cat(s, size, "%s%s", i ? " < " : "", one);
	}
	return s;
}

static int
ctl_ep_row(const Arbor__EndpointInfo *e, struct ctl_eprow *row)
{
	char		buf[4 * ARB_MAX_ID + 64], id[16];
	const char	*name;
	int		i;

	memset(row, 0, sizeof(*row));
	ctl_clean(e->endpoint_id, 0, buf, sizeof(buf));
	snprintf(id, sizeof(id), "%.12s", buf);
	row->col[EPC_ID] = strdup(id);
	ctl_clean(e->hostname, 64, buf, sizeof(buf));
	row->col[EPC_HOST] = strdup(buf[0] != '\0' ? buf : "-");
	if (e->policy_id[0] == '\0')
		snprintf(buf, sizeof(buf), "-");
	else {
		ctl_clean(e->policy_id, ARB_MAX_ID, buf, sizeof(buf));
		ctl_cat(buf, sizeof(buf), " v%" PRIu32, e->version);
	}
	row->col[EPC_POLICY] = strdup(buf);
	ctl_age(e->last_contact, buf, sizeof(buf));
	row->col[EPC_CONTACT] = strdup(buf);
	if (e->policy_id[0] == '\0')
		snprintf(buf, sizeof(buf), "-");
	else if ((name = arb_state_name(e->state)) == NULL)
		snprintf(buf, sizeof(buf), "state %" PRIu32, e->state);
	else if (e->state == ARB_ST_FAILED)
		snprintf(buf, sizeof(buf), "%s (exit %" PRId32 ")", name,
		    e->exit_code);
	else
		snprintf(buf, sizeof(buf), "%s", name);
	/* Revoked: what it last reported no longer matters.  Locked: the
	 * root's word now, before the endpoint's report of it arrives. */
	if (e->locked && !e->revoked && e->state != ARB_ST_FIXED &&
	    e->state != ARB_ST_NOT_APPLICABLE && e->state != ARB_ST_LOCKED)
		snprintf(buf, sizeof(buf), "LOCKED");
	row->col[EPC_STATE] = strdup(e->revoked ? "REVOKED" : buf);
	ctl_clean(e->relay, ARB_MAX_URL, buf, sizeof(buf));
	row->col[EPC_RELAY] = strdup(buf[0] != '\0' ? buf : "-");
	row->col[EPC_VIA] = ctl_via(e);
	ctl_clean(e->detail, CTL_DETAIL_MAX, buf, sizeof(buf));
	row->col[EPC_DETAIL] = strdup(buf);
	for (i = 0; i < EPC_COUNT; i++)
		if (row->col[i] == NULL)
			return -ENOMEM;
	return 0;
}

static void
ctl_ep_row_free(struct ctl_eprow *row)
{
	int	i;

	for (i = 0; i < EPC_COUNT; i++)
		free(row->col[i]);
}

static int
ctl_ep_table(const struct ctl *c, Arbor__EndpointInfo **v, size_t n,
    int show_policy)
{
	static const char	*head[EPC_COUNT] = { "ENDPOINT", "HOSTNAME",
				    "POLICY", "LAST CONTACT", "STATE", "RELAY",
				    "VIA", "DETAIL" };
	struct ctl_eprow	*rows;
	size_t			 w[EPC_COUNT], i, len;
	int			 j, ret = 1;

	if (n == 0) {
		printf("no endpoints\n");
		return 0;
	}
	if ((rows = calloc(n, sizeof(*rows))) == NULL) {
		ctl_warnx(c, "%s", strerror(ENOMEM));
		return 1;
	}
	for (j = 0; j < EPC_COUNT; j++)
		w[j] = strlen(head[j]);
	for (i = 0; i < n; i++) {
		if (ctl_ep_row(v[i], &rows[i]) != 0) {
			ctl_warnx(c, "%s", strerror(ENOMEM));
			n = i + 1;
			goto done;
		}
		for (j = 0; j < EPC_COUNT; j++)
			if ((len = ctl_width(rows[i].col[j])) > w[j])
				w[j] = len;
	}
	for (j = 0; j < EPC_COUNT; j++) {
		if (j == EPC_POLICY && !show_policy)
			continue;
		if (j == EPC_DETAIL)
			printf("%s\n", head[j]);
		else
			printf("%-*s  ", (int)w[j], head[j]);
	}
	for (i = 0; i < n; i++)
		for (j = 0; j < EPC_COUNT; j++) {
			if (j == EPC_POLICY && !show_policy)
				continue;
			if (j == EPC_DETAIL)
				printf("%s\n", rows[i].col[j]);
			else
				printf("%s%*s  ", rows[i].col[j],
				    (int)(w[j] - ctl_width(rows[i].col[j])),
				    "");
		}
	ret = 0;
done:
	for (i = 0; i < n; i++)
		ctl_ep_row_free(&rows[i]);
	free(rows);
	return ret;
}

int
cmd_endpoints(struct ctl *c, int argc, char *argv[])
{
	Arbor__Envelope		 req = ARBOR__ENVELOPE__INIT;
	Arbor__GetEndpoints	 ge = ARBOR__GET_ENDPOINTS__INIT;
	Arbor__Envelope		*rep, *grep = NULL;
	Arbor__EndpointsReply	*er;
	Arbor__EndpointInfo	**v;
	const char		*policy = NULL, *state = NULL, *group = NULL;
	char			 names[256];
	unsigned		 st;
	size_t			 n;
	int			 i, r, as_json = 0, rv;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			as_json = 1;
			continue;
		}
		if ((r = ctl_opt(argc, argv, &i, "--policy", &policy)) == 0 &&
		    (r = ctl_opt(argc, argv, &i, "--state", &state)) == 0)
			r = ctl_opt(argc, argv, &i, "--group", &group);
		if (r <= 0 || (group != NULL && (group[0] == '\0' ||
		    strlen(group) > ARB_MAX_ID))) {
			ctl_usage(stderr);
			return 1;
		}
	}
	ge.state = -1;
	if (policy != NULL) {
		if (!arb_policy_id_valid(policy)) {
			ctl_warnx(c, "\"%s\": not a policy id", policy);
			return 1;
		}
		ge.policy_id = (char *)policy;
	}
	if (state != NULL) {
		if (arb_state_parse(state, &st) != 0) {
			ctl_state_list(names, sizeof(names));
			ctl_warnx(c, "\"%s\": not a state (one of %s)", state,
			    names);
			return 1;
		}
		ge.state = (int32_t)st;
	}
	req.body_case = ARBOR__ENVELOPE__BODY_GET_ENDPOINTS;
	req.get_endpoints = &ge;
	if (ctl_call(c, &req, ARBOR__ENVELOPE__BODY_ENDPOINTS_REPLY,
	    &rep) != 0)
		return 1;
	er = rep->endpoints_reply;
	n = er->n_endpoints;
	/* The rows kept point into rep, which frees them. */
	if ((v = calloc(n + 1, sizeof(*v))) == NULL) {
		arb_wire_free(rep);
		ctl_warnx(c, "out of memory");
		return 1;
	}
	if (n > 0)
		memcpy(v, er->endpoints, n * sizeof(*v));
	/* A group is what the endpoints' inventories say: ask the query. */
	if (group != NULL) {
		if (ctl_query_one(c, group, NULL, &grep) != 0) {
			free(v);
			arb_wire_free(rep);
			return 1;
		}
		n = view_endpoints_keep(v, n, grep->query_reply);
	}
	view_endpoints_sort(v, n);
	if (as_json)
		rv = ctl_json_print(c, view_endpoints(v, n));
	else
		rv = ctl_ep_table(c, v, n, policy == NULL);
	free(v);
	arb_wire_free(grep);
	arb_wire_free(rep);
	return rv;
}

/* Bytes as a person reads them: 512 B, 3.4 MiB, 1.2 GiB. */
static void	tree_bytes(uint64_t n, char *buf, size_t len);

/* endpoint show's text: its states, last history lines and inventory. */
static void
ctl_endpoint_text(json_t *doc)
{
	json_t		*o, *inv, *h;
	char		 a[64], b[64], c2[32];
	size_t		 i, first;

	ctl_clean(json_string_value(json_object_get(doc, "hostname")), 40, a,
	    sizeof(a));
	ctl_age(json_integer_value(json_object_get(doc, "last_contact")), b,
	    sizeof(b));
	printf("endpoint %s (%s), last contact %s\n",
	    json_string_value(json_object_get(doc, "endpoint_id")), a, b);
	ctl_clean(json_string_value(json_object_get(doc, "relay")), 40, a,
	    sizeof(a));
	printf("  relay %s%s\n", a[0] ? a : "(direct)",
	    json_is_true(json_object_get(doc, "revoked")) ? ", REVOKED" : "");
	if ((inv = json_object_get(doc, "inventory")) != NULL &&
	    !json_is_null(inv)) {
		ctl_clean(json_string_value(json_object_get(inv, "os")), 40, a,
		    sizeof(a));
		ctl_clean(json_string_value(json_object_get(inv, "kernel")),
		    40, b, sizeof(b));
		printf("  os %s, kernel %s, %lld packages\n", a, b[0] ? b : "?",
		    (long long)json_integer_value(json_object_get(inv,
		    "packages")));
		tree_bytes((uint64_t)json_integer_value(json_object_get(inv,
		    "mem_bytes")), c2, sizeof(c2));
		ctl_clean(json_string_value(json_object_get(inv, "cpu_model")),
		    40, a, sizeof(a));
		printf("  %lld cpus (%s), memory %s\n",
		    (long long)json_integer_value(json_object_get(inv, "cpus")),
		    a[0] ? a : "?", c2);
		json_array_foreach(json_object_get(inv, "mounts"), i, o) {
			ctl_clean(json_string_value(json_object_get(o, "path")),
			    40, a, sizeof(a));
			tree_bytes((uint64_t)json_integer_value(
			    json_object_get(o, "avail")), b, sizeof(b));
			tree_bytes((uint64_t)json_integer_value(
			    json_object_get(o, "size")), c2, sizeof(c2));
			printf("  disk %s: %s free of %s\n", a, b, c2);
		}
	} else
		printf("  no inventory yet\n");
	json_array_foreach(json_object_get(doc, "policies"), i, o) {
		ctl_clean(json_string_value(json_object_get(o, "detail")), 60,
		    a, sizeof(a));
		printf("  %-32s v%-4lld %-16s %s\n",
		    json_string_value(json_object_get(o, "policy_id")),
		    (long long)json_integer_value(json_object_get(o,
		    "version")), json_string_value(json_object_get(o,
		    "state")), a);
	}
	h = json_object_get(doc, "history");
	first = json_array_size(h) > CTL_HISTORY_LINES ?
	    json_array_size(h) - CTL_HISTORY_LINES : 0;
	if (json_array_size(h) > 0)
		printf("  history (last %zu):\n", json_array_size(h) - first);
	for (i = first; i < json_array_size(h); i++) {
		o = json_array_get(h, i);
		view_utc(json_integer_value(json_object_get(o, "at")) * 1000,
		    b, sizeof(b));
		printf("  %s %-32s v%-4lld %-16s exit %d\n", b,
		    json_string_value(json_object_get(o, "policy_id")),
		    (long long)json_integer_value(json_object_get(o,
		    "version")), json_string_value(json_object_get(o,
		    "state")), (int)json_integer_value(json_object_get(o,
		    "exit_code")));
	}
}

int
cmd_endpoint_show(struct ctl *c, int argc, char *argv[])
{
	Arbor__Envelope		 req = ARBOR__ENVELOPE__INIT;
	Arbor__GetEndpoint	 ge = ARBOR__GET_ENDPOINT__INIT;
	Arbor__Envelope		*rep;
	json_t			*doc;
	const char		*id = NULL;
	int			 k, as_json = 0;

	for (k = 2; k < argc; k++) {
		if (strcmp(argv[k], "--json") == 0)
			as_json = 1;
		else if (strcmp(argv[k], "--packages") == 0)
			ge.packages = 1;
		else if (id == NULL)
			id = argv[k];
		else
			id = "";
	}
	if (id == NULL || id[0] == '\0' || strlen(id) > ARB_MAX_ID) {
		ctl_warnx(c, "usage: endpoint show ID [--packages] [--json]");
		return 2;
	}
	ge.endpoint_id = (char *)id;
	req.body_case = ARBOR__ENVELOPE__BODY_GET_ENDPOINT;
	req.get_endpoint = &ge;
	if (ctl_call(c, &req, ARBOR__ENVELOPE__BODY_ENDPOINT_DETAIL,
	    &rep) != 0)
		return 1;
	doc = view_endpoint(rep->endpoint_detail);
	arb_wire_free(rep);
	if (as_json || doc == NULL)
		return ctl_json_print(c, doc);
	ctl_endpoint_text(doc);
	json_decref(doc);
	return 0;
}

/* ---- tree */

enum { TRC_NODE, TRC_CHILDREN, TRC_CONTACT, TRC_LAG, TRC_SERVED, TRC_PARENT,
    TRC_COUNT };

/* Bytes as a person reads them: 512 B, 3.4 MiB, 1.2 GiB. */
static void
tree_bytes(uint64_t n, char *buf, size_t len)
{
	static const char	*unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double			 v = (double)n;
	size_t			 u = 0;

	while (v >= 1024 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%" PRIu64 " B", n);
	else
		snprintf(buf, len, "%.1f %s", v, unit[u]);
}

#define CTL_TREE_DEPTH		16	/* levels drawn; deeper is flattened */

/*
 * The tree's shape: each relay's parent, by the node id its parent set
 * when it took the relay's own entry (empty for the root's children).  A
 * relay whose parent is not in the reply hangs under the root, marked.
 * Relays are sorted by node id, so siblings come in order.
 */
struct ctl_tree {
	const Arbor__TreeReply	*tr;
	ssize_t			*parent;	/* index, -1: the root */
	int			*depth;
	size_t			*order;		/* drawing order */
	size_t			 n;
};

static ssize_t
ctl_tree_find(const Arbor__TreeReply *tr, const char *id)
{
	size_t	i;

	for (i = 0; i < tr->n_relays; i++)
		if (strcmp(tr->relays[i]->node_id, id) == 0)
			return (ssize_t)i;
	return -1;
}

/* Put the children of p (-1: the root) in order below depth d. */
static void
ctl_tree_walk(struct ctl_tree *t, ssize_t p, int d)
{
	size_t	i;

	for (i = 0; i < t->tr->n_relays; i++) {
		if (t->parent[i] != p || t->depth[i] >= 0)
			continue;
		t->depth[i] = d < CTL_TREE_DEPTH ? d : CTL_TREE_DEPTH;
		t->order[t->n++] = i;
		ctl_tree_walk(t, (ssize_t)i, d + 1);
	}
}

static int
ctl_tree_shape(struct ctl_tree *t, const Arbor__TreeReply *tr)
{
	const char	*pid;
	size_t		 i;

	memset(t, 0, sizeof(*t));
	t->tr = tr;
	t->parent = calloc(tr->n_relays + 1, sizeof(*t->parent));
	t->depth = calloc(tr->n_relays + 1, sizeof(*t->depth));
	t->order = calloc(tr->n_relays + 1, sizeof(*t->order));
	if (t->parent == NULL || t->depth == NULL || t->order == NULL)
		return -ENOMEM;
	for (i = 0; i < tr->n_relays; i++) {
		pid = tr->relays[i]->parent_id;
		t->parent[i] = pid[0] == '\0' ? -1 : ctl_tree_find(tr, pid);
		if (t->parent[i] == (ssize_t)i)
			t->parent[i] = -1;
		t->depth[i] = -1;
	}
	ctl_tree_walk(t, -1, 0);
	/* A cycle (names are not checked) is drawn under the root. */
	for (i = 0; i < tr->n_relays; i++)
		if (t->depth[i] < 0) {
			t->parent[i] = -1;
			ctl_tree_walk(t, -1, 0);
		}
	return 0;
}

static void
ctl_tree_free(struct ctl_tree *t)
{
	free(t->parent);
	free(t->depth);
	free(t->order);
}

/*
 * The tree drawn as one: the root, then each relay indented under its
 * parent, by name, with its children heard from, last contact and lag;
 * the parent address it uses last.
 */
static int
ctl_tree_print(const struct ctl *c, const Arbor__TreeReply *tr)
{
	static const char	*head[TRC_COUNT] = { "RELAY", "CHILDREN",
				    "LAST CONTACT", "LAG", "SERVED (NOW)",
				    "PARENT ADDRESS" };
	char			 total[32], rate[32];
	char			 cell[TRC_COUNT][4 * ARB_MAX_ID + 48];
	char			 name[ARB_MAX_ID + 8];
	struct ctl_tree		 t;
	size_t			 w[TRC_COUNT], k, len;
	int			 pass, j;

	printf("root (head seq %" PRIu64 ")\n", tr->head_seq);
	if (tr->n_relays == 0) {
		printf("no relays have reported\n");
		return 0;
	}
	if (ctl_tree_shape(&t, tr) != 0) {
		ctl_tree_free(&t);
		ctl_warnx(c, "%s", strerror(ENOMEM));
		return 1;
	}
	for (j = 0; j < TRC_COUNT; j++)
		w[j] = strlen(head[j]);
	/* Pass 0 measures, pass 1 prints. */
	for (pass = 0; pass < 2; pass++) {
		for (j = 0; pass == 1 && j < TRC_COUNT; j++) {
			if (j == TRC_COUNT - 1)
				printf("%s\n", head[j]);
			else
				printf("%-*s  ", (int)w[j], head[j]);
		}
		for (k = 0; k < t.n; k++) {
			size_t i = t.order[k];
			const Arbor__RelayInfo *ri = tr->relays[i];

			ctl_clean(ri->node_id, ARB_MAX_ID, name, sizeof(name));
			snprintf(cell[TRC_NODE], sizeof(cell[0]), "%*s%s%s",
			    2 * (t.depth[i] + 1), "", name,
			    t.parent[i] < 0 && ri->parent_id[0] != '\0' ?
			    " (parent not heard from)" : "");
			ctl_clean(ri->parent, ARB_MAX_ID, cell[TRC_PARENT],
			    sizeof(cell[0]));
			snprintf(cell[TRC_CHILDREN], sizeof(cell[0]),
			    "%" PRIu32, ri->children);
			ctl_age(ri->at, cell[TRC_CONTACT], sizeof(cell[0]));
			if (ri->head_seq == tr->head_seq)
				snprintf(cell[TRC_LAG], sizeof(cell[0]),
				    "up to date");
			else if (ri->head_seq > tr->head_seq)
				snprintf(cell[TRC_LAG], sizeof(cell[0]),
				    "ahead by %" PRIu64 " (seq %" PRIu64 ")",
				    ri->head_seq - tr->head_seq, ri->head_seq);
			else
				snprintf(cell[TRC_LAG], sizeof(cell[0]),
				    "%" PRIu64 " behind (seq %" PRIu64 ")",
				    tr->head_seq - ri->head_seq, ri->head_seq);
			tree_bytes(ri->served_bytes, total, sizeof(total));
			tree_bytes(ri->served_rate, rate, sizeof(rate));
			snprintf(cell[TRC_SERVED], sizeof(cell[0]), "%s (%s/s)",
			    total, rate);
			for (j = 0; j < TRC_COUNT; j++) {
				len = ctl_width(cell[j]);
				if (pass == 0) {
					if (len > w[j])
						w[j] = len;
				} else if (j == TRC_COUNT - 1)
					printf("%s\n", cell[j]);
				else
					printf("%s%*s  ", cell[j],
					    (int)(w[j] - len), "");
			}
		}
	}
	ctl_tree_free(&t);
	return 0;
}

int
cmd_tree(struct ctl *c, int argc, char *argv[])
{
	Arbor__Envelope		 req = ARBOR__ENVELOPE__INIT;
	Arbor__GetTree		 gt = ARBOR__GET_TREE__INIT;
	Arbor__Envelope		*rep;
	Arbor__TreeReply	*tr;
	int			 as_json = 0, rv = 0;

	if (ctl_json_arg(argc, argv, &as_json) != 0)
		return 1;
	req.body_case = ARBOR__ENVELOPE__BODY_GET_TREE;
	req.get_tree = &gt;
	if (ctl_call(c, &req, ARBOR__ENVELOPE__BODY_TREE_REPLY, &rep) != 0)
		return 1;
	tr = rep->tree_reply;
	view_tree_sort(tr);
	if (as_json)
		rv = ctl_json_print(c, view_tree(tr));
	else
		rv = ctl_tree_print(c, tr);
	arb_wire_free(rep);
	return rv;
}

/* arborctl unmanaged [--json]: addresses that reached the tree, not managed. */
int
cmd_unmanaged(struct ctl *c, int argc, char *argv[])
{
	Arbor__Envelope		 req = ARBOR__ENVELOPE__INIT, *rep;
	Arbor__GetUnmanaged	 g = ARBOR__GET_UNMANAGED__INIT;
	Arbor__UnmanagedReply	*ur;
	json_t			*doc;
	char			 f[32], l[32];
	size_t			 i;
	int			 as_json, rv = 0;

	if (ctl_json_arg(argc, argv, &as_json) != 0)
		return 2;
	req.body_case = ARBOR__ENVELOPE__BODY_GET_UNMANAGED;
	req.get_unmanaged = &g;
	if (ctl_call(c, &req, ARBOR__ENVELOPE__BODY_UNMANAGED_REPLY, &rep) != 0)
		return 1;
	ur = rep->unmanaged_reply;
	if (as_json) {
		doc = view_unmanaged(ur);
		rv = ctl_json_print(c, doc);
	} else {
		printf("%-39s %-16s %-16s %6s %-20s %-20s %s\n", "ADDRESS",
		    "RELAY", "REASON", "COUNT", "FIRST", "LAST", "CLAIMED");
		for (i = 0; i < ur->n_unmanaged; i++) {
			ctl_utc(ur->unmanaged[i]->first_seen * 1000, f,
			    sizeof(f));
			ctl_utc(ur->unmanaged[i]->last_seen * 1000, l,
			    sizeof(l));
			printf("%-39s %-16s %-16s %6" PRIu64 " %-20s %-20s "
			    "%s\n", ur->unmanaged[i]->addr,
			    ur->unmanaged[i]->relay, ur->unmanaged[i]->reason,
			    ur->unmanaged[i]->count, f, l,
			    ur->unmanaged[i]->claimed);
		}
		if (ur->evicted > 0)
			printf("(%" PRIu64 " forgotten for room)\n",
			    ur->evicted);
	}
	arb_wire_free(rep);
	return rv;
}
