/*
 * The root's part of /metrics, after the relay core's (relay/metrics.c):
 * reports received, accepted and refused by reason, endpoints enrolled,
 * and endpoints by state per policy, read from the counts fan-in keeps
 * (the same that arborctl status shows).
 */
#include <stdint.h>
#include <string.h>

#include "arbor/error.h"
#include "arbor/metrics.h"
#include "arbor/report.h"
#include "root.h"

/* The refusals' reasons (root/tokens.c's), as label values. */
static const char *const reject_names[ROOT_REJ_COUNT] = {
	[ROOT_REJ_REVOKED] = "revoked",
	[ROOT_REJ_UNKNOWN] = "not_enrolled",
	[ROOT_REJ_BADSIG] = "bad_signature",
	[ROOT_REJ_REPLAYED] = "stale",
	[ROOT_REJ_MALFORMED] = "malformed",
	[ROOT_REJ_UNVERIFIED] = "unverified",
};

static const char *const enrol_names[ROOT_ENR_COUNT] = {
	[ROOT_ENR_TOKEN_UNKNOWN] = "token_unknown",
	[ROOT_ENR_TOKEN_EXPIRED] = "token_expired",
	[ROOT_ENR_TOKEN_USED] = "token_used_up",
	[ROOT_ENR_TOKEN_REVOKED] = "token_revoked",
	[ROOT_ENR_REVOKED] = "endpoint_revoked",
	[ROOT_ENR_INVALID] = "invalid",
};

struct by_state_arg {
	struct arb_metrics	*m;
	const Arbor__Head	*head;
	int			 rv;
};

/*
 * One policy's counts by state.  A policy whose newer version nobody has
 * reported yet counts nothing, as in arborctl status.
 */
static void
by_state_cb(const char *key, void *val, void *arg)
{
	struct by_state_arg	*ba = arg;
	struct root_pcounts	*pc = val;
	size_t			 i;
	unsigned		 st;
	int			 stale = 0;

	for (i = 0; ba->head != NULL && i < ba->head->n_policies; i++)
		if (strcmp(ba->head->policies[i]->id, key) == 0 &&
		    ba->head->policies[i]->version > pc->version)
			stale = 1;
	for (st = 0; st < ARB_ST_COUNT && ba->rv == 0; st++)
		ba->rv = arb_metrics_set2(ba->m, "arbor_policy_endpoints", key,
		    arb_state_name(st), stale ? 0 : (double)pc->v[st]);
}

int
root_metrics(void *arg, struct arb_metrics *m)
{
	struct root		*r = arg;
	struct by_state_arg	 ba;
	struct arb_txn		*t;
	uint64_t		 n = 0;
	int			 rv, i;

	if ((rv = arb_metrics_one(m, "arbor_report_batches_total",
	    ARB_METRIC_COUNTER, "Report batches taken (kept in the store)",
	    (double)r->ctr.batches)) != 0 ||
	    (rv = arb_metrics_one(m, "arbor_reports_received_total",
	    ARB_METRIC_COUNTER, "Reports received (kept in the store)",
	    (double)r->ctr.reports)) != 0 ||
	    (rv = arb_metrics_one(m, "arbor_reports_accepted_total",
	    ARB_METRIC_COUNTER, "Reports accepted (kept in the store; "
	    "arborctl status shows the same)", (double)r->ctr.accepted)) != 0 ||
	    (rv = arb_metrics_family(m, "arbor_reports_rejected_total",
	    ARB_METRIC_COUNTER, "reason", "Reports refused, by reason (kept "
	    "in the store)")) != 0)
		return rv;
	for (i = 0; i < ROOT_REJ_COUNT; i++)
		if ((rv = arb_metrics_set(m, "arbor_reports_rejected_total",
		    reject_names[i], (double)r->refusals.reports[i])) != 0)
			return rv;
	if ((rv = arb_metrics_family(m, "arbor_enrolments_refused_total",
	    ARB_METRIC_COUNTER, "reason", "Enrolments refused, by reason "
	    "(kept in the store)")) != 0)
		return rv;
	for (i = 0; i < ROOT_ENR_COUNT; i++)
		if ((rv = arb_metrics_set(m, "arbor_enrolments_refused_total",
		    enrol_names[i], (double)r->refusals.enrol[i])) != 0)
			return rv;
	if ((rv = arb_metrics_one(m, "arbor_last_report_timestamp_seconds",
	    ARB_METRIC_GAUGE, "When a report was last accepted (0: never)",
	    (double)r->ctr.last_report_ms / 1000.0)) != 0)
		return rv;
	if (arb_txn_begin(r->store, 0, &t) == 0) {
		(void)arb_txn_count(t, ARB_DB_ENDPOINTS, &n);
		arb_txn_abort(t);
	}
	if ((rv = arb_metrics_one(m, "arbor_endpoints", ARB_METRIC_GAUGE,
	    "Endpoints enrolled", (double)n)) != 0 ||
	    (rv = arb_metrics_one(m, "arbor_policies", ARB_METRIC_GAUGE,
	    "Policies in the head", r->head ? (double)r->head->n_policies :
	    0)) != 0 ||
	    (rv = arb_metrics_family(m, "arbor_policy_endpoints",
	    ARB_METRIC_GAUGE, "policy,state", "Endpoints by the state they "
	    "last reported for the policy's newest version")) != 0)
		return rv;
	ba.m = m;
	ba.head = r->head;
	ba.rv = 0;
	arb_strmap_each(r->counts, by_state_cb, &ba);
	return ba.rv;
}
