/*
 * arborctl exposure: per CVE that a current policy names, the endpoints
 * where such a policy applies and is not fixed yet (its latest reported
 * state is applicable, on its way, failed, rolled back or waiting for a
 * reboot), highest CVSS score first.  Made from the root's catalog and
 * its endpoint states; nothing is stored for it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbor/report.h"
#include "arborctl.h"

struct exp_cve {
	char		 id[40];
	double		 cvss;
	char		 policies[256];
	char		**eps;		/* "endpoint policy state" */
	size_t		 neps;
};

static int
exposed_state(unsigned st)
{
	return st != ARB_ST_UNKNOWN && st != ARB_ST_NOT_APPLICABLE &&
	    st != ARB_ST_FIXED && st != ARB_ST_ERROR;
}

static struct exp_cve *
cve_get(struct exp_cve **vp, size_t *np, const char *id)
{
	struct exp_cve	*v;
	size_t		 i;

	for (i = 0; i < *np; i++)
		if (strcmp((*vp)[i].id, id) == 0)
			return &(*vp)[i];
	if ((v = realloc(*vp, (*np + 1) * sizeof(*v))) == NULL)
		return NULL;
	*vp = v;
	memset(&v[*np], 0, sizeof(v[*np]));
	snprintf(v[*np].id, sizeof(v[*np].id), "%s", id);
	return &v[(*np)++];
}

static int
cve_cmp(const void *a, const void *b)
{
	const struct exp_cve *x = a, *y = b;

	if (x->cvss != y->cvss)
		return x->cvss < y->cvss ? 1 : -1;
	if (x->neps != y->neps)
		return x->neps < y->neps ? 1 : -1;
	return strcmp(x->id, y->id);
}

/* Add the exposed endpoints of policy p to every CVE it names. */
static int
exp_policy(const struct ctl *c, const Arbor__Policy *p, const char *only,
    struct exp_cve **vp, size_t *np)
{
	Arbor__Envelope		 req = ARBOR__ENVELOPE__INIT, *rep;
	Arbor__GetEndpoints	 ge = ARBOR__GET_ENDPOINTS__INIT;
	Arbor__EndpointsReply	*er;
	struct exp_cve		*e;
	char			 line[512], **nv;
	size_t			 i, k;

	ge.policy_id = p->id;
	ge.state = -1;
	req.body_case = ARBOR__ENVELOPE__BODY_GET_ENDPOINTS;
	req.get_endpoints = &ge;
	if (ctl_call(c, &req, ARBOR__ENVELOPE__BODY_ENDPOINTS_REPLY,
	    &rep) != 0)
		return 1;
	er = rep->endpoints_reply;
	for (k = 0; k < p->n_cves; k++) {
		if (only != NULL && strcmp(only, p->cves[k]) != 0)
			continue;
		if ((e = cve_get(vp, np, p->cves[k])) == NULL)
			goto nomem;
		if (p->cvss > e->cvss)
			e->cvss = p->cvss;
		ctl_cat(e->policies, sizeof(e->policies), "%s%s",
		    e->policies[0] ? "," : "", p->id);
		for (i = 0; i < er->n_endpoints; i++) {
			const Arbor__EndpointInfo *x = er->endpoints[i];

			if (strcmp(x->policy_id, p->id) != 0 ||
			    x->version != p->version ||
			    !exposed_state(x->state))
				continue;
			snprintf(line, sizeof(line), "%s %s %s %s",
			    x->endpoint_id, x->hostname, p->id,
			    arb_state_name(x->state));
			if ((nv = realloc(e->eps, (e->neps + 1) *
			    sizeof(*nv))) == NULL)
				goto nomem;
			e->eps = nv;
			if ((e->eps[e->neps] = strdup(line)) == NULL)
				goto nomem;
			e->neps++;
		}
	}
	arb_wire_free(rep);
	return 0;
nomem:
	arb_wire_free(rep);
	ctl_warnx(c, "out of memory");
	return 1;
}

int
cmd_exposure(struct ctl *c, int argc, char *argv[])
{
	Arbor__Envelope		*rep;
	Arbor__CatalogReply	*cr;
	Arbor__Policy		*p;
	struct exp_cve		*v = NULL;
	const char		*only = NULL;
	json_t			*doc, *a, *eps;
	size_t			 n = 0, i, j;
	int			 as_json = 0, rv = 0;

	for (i = 1; i < (size_t)argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			as_json = 1;
		else if (only == NULL && argv[i][0] != '-')
			only = argv[i];
		else {
			ctl_usage(stderr);
			return 1;
		}
	}
	if (ctl_get_catalog(c, &rep) != 0)
		return 1;
	cr = rep->catalog_reply;
	for (i = 0; i < cr->n_policies && rv == 0; i++) {
		if (arb_wire_decode_policy(cr->policies[i]->body.data,
		    cr->policies[i]->body.len, &p) != 0)
			continue;
		if (p->n_cves > 0)
			rv = exp_policy(c, p, only, &v, &n);
		arb_wire_free_policy(p);
	}
	arb_wire_free(rep);
	if (rv == 0 && n > 1)
		qsort(v, n, sizeof(*v), cve_cmp);
	if (rv == 0 && as_json) {
		a = json_array();
		for (i = 0; a != NULL && i < n; i++) {
			eps = json_array();
			for (j = 0; eps != NULL && j < v[i].neps; j++)
				json_array_append_new(eps,
				    json_string(v[i].eps[j]));
			json_array_append_new(a, json_pack("{s:s, s:f, s:s, "
			    "s:I, s:o}", "cve", v[i].id, "cvss", v[i].cvss,
			    "policies", v[i].policies, "exposed",
			    (json_int_t)v[i].neps, "endpoints",
			    eps ? eps : json_array()));
		}
		doc = json_pack("{s:o}", "cves", a ? a : json_array());
		rv = ctl_json_print(c, doc);
	} else if (rv == 0) {
		if (only != NULL && n == 0)
			printf("%s: no current policy fixes it\n", only);
		else
			printf("%-20s %5s %9s  %s\n", "CVE", "CVSS", "EXPOSED",
			    "FIXED BY");
		for (i = 0; i < n; i++) {
			printf("%-20s %5.1f %9zu  %s\n", v[i].id, v[i].cvss,
			    v[i].neps, v[i].policies);
			for (j = 0; only != NULL && j < v[i].neps; j++)
				printf("    %s\n", v[i].eps[j]);
		}
	}
	for (i = 0; i < n; i++) {
		for (j = 0; j < v[i].neps; j++)
			free(v[i].eps[j]);
		free(v[i].eps);
	}
	free(v);
	return rv;
}
