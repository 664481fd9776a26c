/*
 * arborctl baseline, exempt and compliance: the baselines and exemptions
 * the root keeps, and where every endpoint stands against its baselines
 * (root/compliance.c makes the view; this file asks and prints).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arbor/conf.h"
#include "arbor/report.h"
#include "arborctl.h"

#define CTL_TARGETS_MAX		ARB_BASELINE_TARGETS_MAX
#define CTL_POLICIES_MAX	ARB_BASELINE_POLICIES_MAX

static int
comp_call(const struct ctl *c, Arbor__ComplianceCtl *cc,
    Arbor__Envelope **repp)
{
	Arbor__Envelope	req = ARBOR__ENVELOPE__INIT;

	req.body_case = ARBOR__ENVELOPE__BODY_COMPLIANCE_CTL;
	req.compliance_ctl = cc;
	return ctl_call(c, &req, ARBOR__ENVELOPE__BODY_COMPLIANCE_CTL_REPLY,
	    repp);
}

/* ------------------------------------------------------------ baseline */

static int
baselines_print(const struct ctl *c, const Arbor__ComplianceCtlReply *cr,
    int as_json)
{
	json_t	*a;
	char	 tg[1024], pol[1024];
	size_t	 i, j;

	if (as_json) {
		a = json_array();
		for (i = 0; a != NULL && i < cr->n_baselines; i++)
			json_array_append_new(a,
			    view_baseline(cr->baselines[i]));
		return ctl_json_print(c, a);
	}
	if (cr->n_baselines == 0)
		printf("no baselines\n");
	else
		printf("%-24s %-32s %s\n", "BASELINE", "TARGET", "POLICIES");
	for (i = 0; i < cr->n_baselines; i++) {
		view_target_text(cr->baselines[i], tg, sizeof(tg));
		pol[0] = '\0';
		for (j = 0; j < cr->baselines[i]->n_policies; j++)
			ctl_cat(pol, sizeof(pol), "%s%s", j ? "," : "",
			    cr->baselines[i]->policies[j]);
		printf("%-24s %-32s %s\n", cr->baselines[i]->name, tg, pol);
	}
	return 0;
}

/* Append s to the list *vp of *np (at most max), or 1 after a message. */
static int
list_add(const struct ctl *c, char ***vp, size_t *np, size_t max,
    const char *s)
{
	char	**nv;

	if (*np >= max) {
		ctl_warnx(c, "too many targets or policies (at most %zu)",
		    max);
		return 1;
	}
	if ((nv = realloc(*vp, (*np + 1) * sizeof(*nv))) == NULL) {
		ctl_warnx(c, "out of memory");
		return 1;
	}
	nv[(*np)++] = (char *)s;
	*vp = nv;
	return 0;
}

/* "all", "group:G", "endpoint:ID", "prop:KEY=VALUE" into b. */
static int
target_add(const struct ctl *c, Arbor__Baseline *b, const char *t)
{
	if (strcmp(t, "all") == 0)
		return 0;
	if (strncmp(t, "group:", 6) == 0 && t[6] != '\0')
		return list_add(c, &b->target_groups, &b->n_target_groups,
		    CTL_TARGETS_MAX, t + 6);
	if (strncmp(t, "endpoint:", 9) == 0 && t[9] != '\0')
		return list_add(c, &b->target_endpoints,
		    &b->n_target_endpoints, CTL_TARGETS_MAX, t + 9);
	if (strncmp(t, "prop:", 5) == 0 && strchr(t + 5, '=') != NULL &&
	    t[5] != '=')
		return list_add(c, &b->target_props, &b->n_target_props,
		    CTL_TARGETS_MAX, t + 5);
	ctl_warnx(c, "--target %s: must be all, group:G, endpoint:ID or "
	    "prop:KEY=VALUE", t);
	return 1;
}

int
cmd_baseline(struct ctl *c, int argc, char *argv[])
{
	Arbor__ComplianceCtl	 cc = ARBOR__COMPLIANCE_CTL__INIT;
	Arbor__Baseline		 b = ARBOR__BASELINE__INIT;
	Arbor__Envelope		*rep;
	const char		*op, *v;
	int			 i, o, as_json = 0, targets = 0, rv = 1;

	if (argc < 2)
		goto usage;
	op = argv[1];
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			as_json = 1;
		else if ((o = ctl_opt(argc, argv, &i, "--target", &v)) != 0) {
			if (o < 0 || target_add(c, &b, v) != 0)
				goto out;
			targets++;
		} else if ((o = ctl_opt(argc, argv, &i, "--policy", &v)) !=
		    0) {
			if (o < 0 || list_add(c, &b.policies, &b.n_policies,
			    CTL_POLICIES_MAX, v) != 0)
				goto out;
		} else if (b.name[0] == '\0' && argv[i][0] != '-')
			b.name = argv[i];
		else
			goto usage;
	}
	if (strcmp(op, "set") == 0) {
		if (b.name[0] == '\0' || targets == 0 || b.n_policies == 0) {
			ctl_warnx(c, "baseline set NAME: needs --target and "
			    "at least one --policy");
			goto out;
		}
		cc.op = "baseline-set";
	} else if (strcmp(op, "rm") == 0 && b.name[0] != '\0' &&
	    targets == 0 && b.n_policies == 0)
		cc.op = "baseline-rm";
	else if (strcmp(op, "list") == 0 && b.name[0] == '\0' &&
	    targets == 0 && b.n_policies == 0)
		cc.op = "list";
	else
		goto usage;
	if (strcmp(cc.op, "list") != 0)
		cc.baseline = &b;
	if ((rv = comp_call(c, &cc, &rep)) != 0)
		goto out;
	if (strcmp(cc.op, "list") == 0)
		rv = baselines_print(c, rep->compliance_ctl_reply, as_json);
	else
		printf("baseline %s: %s\n", b.name, strcmp(op, "set") == 0 ?
		    "set" : "removed");
	arb_wire_free(rep);
	goto out;
usage:
	ctl_warnx(c, "usage: baseline set NAME --target T [--target T...] "
	    "--policy ID [--policy ID...] | baseline list [--json] | "
	    "baseline rm NAME");
	rv = 2;
out:
	free(b.target_groups);
	free(b.target_endpoints);
	free(b.target_props);
	free(b.policies);
	return rv;
}

/* -------------------------------------------------------------- exempt */

static int
exemptions_print(const struct ctl *c, const Arbor__ComplianceCtlReply *cr,
    int as_json)
{
	const Arbor__Exemption	*x;
	json_t			*a;
	char			 until[32], who[160], why[80];
	size_t			 i;
	int			 expired;

	a = as_json ? json_array() : NULL;
	if (!as_json)
		printf("%-40s %-22s %-8s %s\n", "EXEMPT", "UNTIL", "", "REASON");
	for (i = 0; i < cr->n_exemptions; i++) {
		x = cr->exemptions[i];
		expired = x->until_ms != 0 && x->until_ms <= cr->now_ms;
		ctl_utc(x->until_ms, until, sizeof(until));
		if (as_json) {
			if (a != NULL)
				json_array_append_new(a, json_pack("{s:s?, "
				    "s:s?, s:s, s:s?, s:b}", "endpoint",
				    x->endpoint_id[0] ? x->endpoint_id : NULL,
				    "group", x->group[0] ? x->group : NULL,
				    "reason", x->reason, "until", until[0] ?
				    until : NULL, "expired", expired));
			continue;
		}
		snprintf(who, sizeof(who), "%s%s", x->group[0] ? "group:" :
		    "", x->group[0] ? x->group : x->endpoint_id);
		ctl_clean(x->reason, 60, why, sizeof(why));
		printf("%-40s %-22s %-8s %s\n", who, until[0] ? until :
		    "no expiry", expired ? "expired" : "", why);
	}
	if (!as_json && cr->unlisted)
		printf("(%" PRIu64 " more not listed: the reply is full)\n",
		    cr->unlisted);
	return as_json ? ctl_json_print(c, a) : 0;
}

int
cmd_exempt(struct ctl *c, int argc, char *argv[])
{
	Arbor__ComplianceCtl	 cc = ARBOR__COMPLIANCE_CTL__INIT;
	Arbor__Exemption	 x = ARBOR__EXEMPTION__INIT;
	Arbor__Envelope		*rep;
	const char		*v, *until = NULL;
	int			 i = 1, o, as_json = 0, rm = 0, list = 0, rv;

	if (argc > 1 && strcmp(argv[1], "rm") == 0)
		rm = i++;
	else if (argc > 1 && strcmp(argv[1], "list") == 0)
		list = i++;
	for (; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			as_json = 1;
		else if ((o = ctl_opt(argc, argv, &i, "--group", &v)) != 0) {
			if (o < 0)
				goto usage;
			x.group = (char *)v;
		} else if ((o = ctl_opt(argc, argv, &i, "--reason", &v)) !=
		    0) {
			if (o < 0)
				goto usage;
			x.reason = (char *)v;
		} else if ((o = ctl_opt(argc, argv, &i, "--until", &v)) !=
		    0) {
			if (o < 0)
				goto usage;
			until = v;
		} else if (x.endpoint_id[0] == '\0' && argv[i][0] != '-')
			x.endpoint_id = argv[i];
		else
			goto usage;
	}
	if (list) {
		if (x.endpoint_id[0] || x.group[0] || x.reason[0] || until)
			goto usage;
		cc.op = "list";
	} else {
		if ((x.endpoint_id[0] == '\0') == (x.group[0] == '\0'))
			goto usage;
		if (rm && (x.reason[0] || until))
			goto usage;
		if (!rm && x.reason[0] == '\0') {
			ctl_warnx(c, "--reason TEXT is required");
			return 2;
		}
		if (until != NULL && ctl_until(c, until, &x.until_ms) != 0)
			return 2;
		cc.op = rm ? "exempt-rm" : "exempt-set";
		cc.exemption = &x;
	}
	if ((rv = comp_call(c, &cc, &rep)) != 0)
		return rv;
	if (list)
		rv = exemptions_print(c, rep->compliance_ctl_reply, as_json);
	else
		printf("exempt %s%s: %s\n", x.group[0] ? "group:" : "",
		    x.group[0] ? x.group : x.endpoint_id, rm ? "removed" :
		    "set");
	arb_wire_free(rep);
	return rv;
usage:
	ctl_warnx(c, "usage: exempt ID|--group G --reason TEXT [--until T] | "
	    "exempt rm ID|--group G | exempt list [--json]");
	return 2;
}

/* ---------------------------------------------------------- compliance */

/* "a (failed), b (no-report)": the policies not satisfied. */
static void
missing_text(const Arbor__ComplianceItem *it, char *out, size_t size)
{
	const Arbor__CompliancePolicy	*p;
	size_t				 i;

	out[0] = '\0';
	for (i = 0; i < it->n_policies; i++) {
		p = it->policies[i];
		if (p->ok)
			continue;
		if (p->state >= 0 && p->version < p->want_version)
			ctl_cat(out, size, "%s%s (%s on v%" PRIu32 ", wants "
			    "v%" PRIu32 ")", out[0] ? ", " : "", p->policy_id,
			    view_comp_state_name(p->state), p->version,
			    p->want_version);
		else
			ctl_cat(out, size, "%s%s (%s)", out[0] ? ", " : "",
			    p->policy_id, view_comp_state_name(p->state));
	}
}

/* One CSV field: quoted when it holds a comma, a quote or a line end. */
static void
csv_field(const char *s, int last)
{
	const char	*p;

	if (strpbrk(s, ",\"\r\n") == NULL)
		fputs(s, stdout);
	else {
		putchar('"');
		for (p = s; *p != '\0'; p++) {
			if (*p == '"')
				putchar('"');
			putchar(*p);
		}
		putchar('"');
	}
	putchar(last ? '\n' : ',');
}

static void
comp_csv(const Arbor__ComplianceReply *cr)
{
	const Arbor__ComplianceItem	*it;
	const Arbor__CompliancePolicy	*p;
	char				 until[32], last[32], n[3][16];
	size_t				 i, j;

	printf("baseline,endpoint,hostname,status,policy,state,version,"
	    "want_version,ok,reason,until,last_contact\n");
	for (i = 0; i < cr->n_items; i++) {
		it = cr->items[i];
		ctl_utc(it->until_ms, until, sizeof(until));
		ctl_utc(it->last_contact * 1000, last, sizeof(last));
		for (j = 0; j < it->n_policies; j++) {
			p = it->policies[j];
			snprintf(n[0], sizeof(n[0]), "%" PRIu32, p->version);
			snprintf(n[1], sizeof(n[1]), "%" PRIu32,
			    p->want_version);
			csv_field(it->baseline, 0);
			csv_field(it->endpoint_id, 0);
			csv_field(it->hostname, 0);
			csv_field(view_comp_status_name(it->status), 0);
			csv_field(p->policy_id, 0);
			csv_field(view_comp_state_name(p->state), 0);
			csv_field(n[0], 0);
			csv_field(n[1], 0);
			csv_field(p->ok ? "yes" : "no", 0);
			csv_field(it->status == 2 ? it->reason : "", 0);
			csv_field(it->status == 2 ? until : "", 0);
			csv_field(last, 1);
		}
	}
}

static void
comp_text(const Arbor__ComplianceReply *cr)
{
	const Arbor__ComplianceItem	*it;
	char				 tg[1024], host[32], detail[512];
	char				 until[32], age[32], why[80];
	const uint64_t			*t;
	size_t				 i, k;

	for (k = 0; k < cr->n_baselines; k++) {
		view_target_text(cr->baselines[k], tg, sizeof(tg));
		printf("%sbaseline %s (%s; %zu policies)\n", k ? "\n" : "",
		    cr->baselines[k]->name, tg,
		    cr->baselines[k]->n_policies);
		printf("%-32s %-20s %-14s %s\n", "ENDPOINT", "HOSTNAME",
		    "STATUS", "DETAIL");
		for (i = 0; i < cr->n_items; i++) {
			it = cr->items[i];
			if (strcmp(it->baseline, cr->baselines[k]->name) != 0)
				continue;
			detail[0] = '\0';
			if (it->status == 1)
				missing_text(it, detail, sizeof(detail));
			else if (it->status == 2) {
				ctl_utc(it->until_ms, until, sizeof(until));
				ctl_clean(it->reason, 60, why, sizeof(why));
				snprintf(detail, sizeof(detail), "%s (%s%s)",
				    why, until[0] ? "until " : "no expiry",
				    until);
			} else if (it->status == 3) {
				ctl_age(it->last_contact, age, sizeof(age));
				snprintf(detail, sizeof(detail), "last "
				    "contact %s", age);
			}
			ctl_clean(it->hostname, 20, host, sizeof(host));
			printf("%-32s %-20s %-14s %s\n", it->endpoint_id,
			    host, view_comp_status_name(it->status), detail);
		}
		t = k * VIEW_COMP_NSTATUS + 3 < cr->n_totals ?
		    cr->totals + k * VIEW_COMP_NSTATUS : NULL;
		if (t != NULL)
			printf("%s: %" PRIu64 " endpoints: %" PRIu64
			    " compliant, %" PRIu64 " below, %" PRIu64
			    " exempt, %" PRIu64 " not reporting\n",
			    cr->baselines[k]->name, t[0] + t[1] + t[2] + t[3],
			    t[0], t[1], t[2], t[3]);
	}
	if (cr->n_baselines == 0)
		printf("no baselines (arborctl baseline set)\n");
	if (cr->unlisted)
		printf("(%" PRIu64 " endpoints not listed: the reply is full; "
		    "the counts are whole)\n", cr->unlisted);
}

int
cmd_compliance(struct ctl *c, int argc, char *argv[])
{
	Arbor__Envelope		 req = ARBOR__ENVELOPE__INIT, *rep;
	Arbor__GetCompliance	 g = ARBOR__GET_COMPLIANCE__INIT;
	const char		*v;
	char			 err[128];
	int			 i, o, as_json = 0, as_csv = 0, rv = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			as_json = 1;
		else if (strcmp(argv[i], "--csv") == 0)
			as_csv = 1;
		else if ((o = ctl_opt(argc, argv, &i, "--silent-after",
		    &v)) != 0) {
			if (o < 0 || arb_conf_duration_ms(v, 1000,
			    3650LL * 86400000, &g.silent_after_ms, err,
			    sizeof(err)) != 0) {
				ctl_warnx(c, "--silent-after: %s", o < 0 ?
				    "needs a duration" : err);
				return 2;
			}
		} else if (g.baseline[0] == '\0' && argv[i][0] != '-')
			g.baseline = argv[i];
		else {
			ctl_warnx(c, "usage: compliance [BASELINE] "
			    "[--json|--csv] [--silent-after D]");
			return 2;
		}
	}
	if (as_json && as_csv) {
		ctl_warnx(c, "--json or --csv, not both");
		return 2;
	}
	req.body_case = ARBOR__ENVELOPE__BODY_GET_COMPLIANCE;
	req.get_compliance = &g;
	if (ctl_call(c, &req, ARBOR__ENVELOPE__BODY_COMPLIANCE_REPLY,
	    &rep) != 0)
		return 1;
	if (as_json)
		rv = ctl_json_print(c, view_compliance(rep->compliance_reply));
	else if (as_csv)
		comp_csv(rep->compliance_reply);
	else
		comp_text(rep->compliance_reply);
	arb_wire_free(rep);
	return rv;
}
