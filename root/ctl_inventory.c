/*
 * arborctl's questions about the endpoints' inventories: `query EXPR`
 * and `publish --dry-run POLICY.json`, both answered by the root
 * evaluating the applicability language over what it stores (see
 * root/inventory.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbor/policy.h"
#include "arborctl.h"

/* Ask the root; 0 with *repp (free with arb_wire_free), or 1. */
static int
ctl_query_call(const struct ctl *c, const char *expr,
    const Arbor__Policy *target, Arbor__Envelope **repp)
{
	Arbor__Envelope	req = ARBOR__ENVELOPE__INIT;
	Arbor__Query	q = ARBOR__QUERY__INIT;

	q.expr = (char *)(expr[0] != '\0' ? expr : "true");
	if (target != NULL) {
		q.target_endpoints = target->target_endpoints;
		q.n_target_endpoints = target->n_target_endpoints;
		q.target_groups = target->target_groups;
		q.n_target_groups = target->n_target_groups;
		q.target_props = target->target_props;
		q.n_target_props = target->n_target_props;
	}
	req.body_case = ARBOR__ENVELOPE__BODY_QUERY;
	req.query = &q;
	return ctl_call(c, &req, ARBOR__ENVELOPE__BODY_QUERY_REPLY, repp);
}

int
ctl_query_one(const struct ctl *c, const char *group, const char *id,
    Arbor__Envelope **repp)
{
	Arbor__Policy	 t = ARBOR__POLICY__INIT;
	char		*g[1], *e[1];

	if (group != NULL) {
		g[0] = (char *)group;
		t.target_groups = g;
		t.n_target_groups = 1;
	}
	if (id != NULL) {
		e[0] = (char *)id;
		t.target_endpoints = e;
		t.n_target_endpoints = 1;
	}
	return ctl_query_call(c, "true", &t, repp);
}

/* A count per key (relay, os or group), in order of first sight. */
struct tally {
	char		**keys;
	uint64_t	 *n;
	size_t		  len;
};

static void
tally_add(struct tally *t, const char *key)
{
	size_t	i;
	void	*p;

	for (i = 0; i < t->len; i++)
		if (strcmp(t->keys[i], key) == 0) {
			t->n[i]++;
			return;
		}
	if ((p = realloc(t->keys, (t->len + 1) * sizeof(*t->keys))) == NULL)
		return;
	t->keys = p;
	if ((p = realloc(t->n, (t->len + 1) * sizeof(*t->n))) == NULL)
		return;
	t->n = p;
	if ((t->keys[t->len] = strdup(key)) == NULL)
		return;
	t->n[t->len++] = 1;
}

static void
tally_hits(struct tally *t, const char *by, Arbor__QueryHit **v, size_t n)
{
	size_t	i, j;

	for (i = 0; i < n; i++) {
		if (strcmp(by, "os") == 0)
			tally_add(t, v[i]->os);
		else if (strcmp(by, "group") == 0) {
			for (j = 0; j < v[i]->n_groups; j++)
				tally_add(t, v[i]->groups[j]);
			if (v[i]->n_groups == 0)
				tally_add(t, "(no group)");
		} else
			tally_add(t, v[i]->relay[0] ? v[i]->relay :
			    "(direct)");
	}
}

static void
tally_free(struct tally *t)
{
	size_t	i;

	for (i = 0; i < t->len; i++)
		free(t->keys[i]);
	free(t->keys);
	free(t->n);
}

/* The summary line every view ends with. */
static void
summary_print(const Arbor__QueryReply *qr)
{
	printf("%" PRIu64 " of %" PRIu64 " endpoints match", qr->matched,
	    qr->endpoints);
	if (qr->unknowns)
		printf("; %" PRIu64 " unknown at the root", qr->unknowns);
	if (qr->no_inventory)
		printf("; %" PRIu64 " without an inventory yet",
		    qr->no_inventory);
	if (qr->errors)
		printf("; %" PRIu64 " cannot be evaluated (%s)", qr->errors,
		    qr->first_error);
	printf(" (%.1f ms)\n", (double)qr->elapsed_us / 1000);
	if (qr->matched > qr->n_matches)
		printf("(%zu listed)\n", qr->n_matches);
}

static int
query_print(const struct ctl *c, const Arbor__QueryReply *qr, int as_json,
    int count, const char *by)
{
	struct tally	t;
	json_t		*doc, *o;
	char		 a[64], b[64];
	size_t		 i;

	memset(&t, 0, sizeof(t));
	if (by != NULL)
		tally_hits(&t, by, qr->matches, qr->n_matches);
	if (as_json) {
		doc = view_query(qr, !count);
		if (doc != NULL && by != NULL) {
			o = json_object();
			for (i = 0; o != NULL && i < t.len; i++)
				json_object_set_new(o, t.keys[i],
				    json_integer((json_int_t)t.n[i]));
			json_object_set_new(doc, "by", o);
		}
		tally_free(&t);
		return ctl_json_print(c, doc);
	}
	if (count && by == NULL) {
		printf("%" PRIu64 "\n", qr->matched);
		return 0;
	}
	if (by != NULL) {
		for (i = 0; i < t.len; i++) {
			ctl_clean(t.keys[i], 40, a, sizeof(a));
			printf("%-40s %" PRIu64 "\n", a, t.n[i]);
		}
	} else {
		for (i = 0; i < qr->n_matches; i++) {
			ctl_clean(qr->matches[i]->hostname, 24, a, sizeof(a));
			ctl_clean(qr->matches[i]->relay, 16, b, sizeof(b));
			printf("%-32s %-24s %-16s %s\n",
			    qr->matches[i]->endpoint_id, a, b[0] ? b :
			    "(direct)", qr->matches[i]->os);
		}
	}
	for (i = 0; i < qr->n_unknown; i++) {
		ctl_clean(qr->unknown[i]->why, 60, a, sizeof(a));
		printf("unknown: %s %s\n", qr->unknown[i]->endpoint_id, a);
	}
	tally_free(&t);
	summary_print(qr);
	return 0;
}

int
cmd_query(struct ctl *c, int argc, char *argv[])
{
	Arbor__Envelope	*rep;
	const char	*expr = NULL, *by = NULL;
	int		 i, as_json = 0, count = 0, o, rv;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			as_json = 1;
		else if (strcmp(argv[i], "--count") == 0)
			count = 1;
		else if ((o = ctl_opt(argc, argv, &i, "--by", &by)) != 0) {
			if (o < 0 || (strcmp(by, "relay") != 0 &&
			    strcmp(by, "os") != 0 &&
			    strcmp(by, "group") != 0)) {
				ctl_warnx(c, "--by takes relay, os or group");
				return 1;
			}
		} else if (expr == NULL && argv[i][0] != '-')
			expr = argv[i];
		else {
			ctl_usage(stderr);
			return 1;
		}
	}
	if (expr == NULL) {
		ctl_usage(stderr);
		return 1;
	}
	if (ctl_query_call(c, expr, NULL, &rep) != 0)
		return 1;
	rv = query_print(c, rep->query_reply, as_json, count, by);
	arb_wire_free(rep);
	return rv;
}

int
ctl_dry_run(struct ctl *c, const struct arb_policy_file *pf, int as_json)
{
	Arbor__Envelope		*rep;
	const Arbor__QueryReply	*qr;
	struct tally		 t;
	char			 a[64];
	size_t			 i;
	int			 rv = 0;

	if (ctl_query_call(c, pf->pol.applicability, &pf->pol, &rep) != 0)
		return 1;
	qr = rep->query_reply;
	if (as_json) {
		rv = query_print(c, qr, 1, 0, "relay");
		arb_wire_free(rep);
		return rv;
	}
	printf("dry run: %s v%" PRIu32 " would apply to %" PRIu64
	    " endpoints\n", pf->pol.id, pf->pol.version, qr->matched);
	memset(&t, 0, sizeof(t));
	tally_hits(&t, "relay", qr->matches, qr->n_matches);
	for (i = 0; i < t.len; i++) {
		ctl_clean(t.keys[i], 40, a, sizeof(a));
		printf("  %-40s %" PRIu64 "\n", a, t.n[i]);
	}
	tally_free(&t);
	for (i = 0; i < qr->n_unknown; i++) {
		ctl_clean(qr->unknown[i]->why, 60, a, sizeof(a));
		printf("  unknown: %s %s\n", qr->unknown[i]->endpoint_id, a);
	}
	summary_print(qr);
	arb_wire_free(rep);
	return rv;
}
