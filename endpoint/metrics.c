/*
 * The agent's metrics, written to a file for node_exporter's textfile
 * collector (an agent serves nothing): when it last handed reports to a
 * relay, its policies by state, bytes downloaded, failed actions, and the
 * build.  The counters are since the agent started.
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "arbor/error.h"
#include "arbor/log.h"
#include "arbor/metrics.h"
#include "arbor/report.h"
#include "agent.h"

static int
state_cb(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg)
{
	uint64_t		*n = arg;
	struct agent_pstate	 st;

	(void)key;
	(void)klen;
	if (vlen < AGENT_PSTATE_V1)
		return 0;
	memset(&st, 0, sizeof(st));
	memcpy(&st, val, vlen < sizeof(st) ? vlen : sizeof(st));
	if (st.state < ARB_ST_COUNT)
		n[st.state]++;
	return 0;
}

static int
agent_metrics_fill(struct agent *a, struct arb_metrics *m)
{
	uint64_t	 n[ARB_ST_COUNT];
	struct arb_txn	*t;
	unsigned	 i;
	int		 rv;

	memset(n, 0, sizeof(n));
	if ((rv = arb_txn_begin(a->store, 0, &t)) != 0)
		return rv;
	rv = arb_txn_foreach(t, ARB_DB_STATE, state_cb, n);
	arb_txn_abort(t);
	if (rv != 0)
		return rv;
	if ((rv = arb_metrics_build_info(m)) != 0 ||
	    (rv = arb_metrics_one(m, "arbor_agent_last_report_timestamp_seconds",
	    ARB_METRIC_GAUGE, "When a relay last took this agent's reports "
	    "(0: not since it started)", (double)a->m_last_report)) != 0 ||
	    (rv = arb_metrics_one(m, "arbor_agent_reports_sent_total",
	    ARB_METRIC_COUNTER, "Reports a relay took",
	    (double)a->m_reports_sent)) != 0 ||
	    (rv = arb_metrics_one(m, "arbor_agent_download_bytes_total",
	    ARB_METRIC_COUNTER, "Bytes of blobs downloaded and verified",
	    (double)a->m_download_bytes)) != 0 ||
	    (rv = arb_metrics_one(m, "arbor_agent_action_failures_total",
	    ARB_METRIC_COUNTER, "Policies that went to failed (an action "
	    "failed, timed out, or left the policy applicable)",
	    (double)a->m_action_failures)) != 0 ||
	    (rv = arb_metrics_family(m, "arbor_agent_policies",
	    ARB_METRIC_GAUGE, "state", "Policies known, by their state "
	    "here")) != 0)
		return rv;
	for (i = 0; i < ARB_ST_COUNT; i++)
		if ((rv = arb_metrics_set(m, "arbor_agent_policies",
		    arb_state_name(i), (double)n[i])) != 0)
			return rv;
	return 0;
}

static void
agent_metrics_write(uv_timer_t *tm)
{
	struct agent		*a = tm->data;
	struct arb_metrics	*m = NULL;
	int			 rv;

	if ((rv = arb_metrics_new(&m)) != 0 ||
	    (rv = agent_metrics_fill(a, m)) != 0)
		log_warnx("agent: metrics: %s", arb_strerror(rv));
	else
		(void)arb_metrics_write(m, a->conf->metrics_file);
	arb_metrics_free(m);
}

void
agent_metrics_start(struct agent *a)
{
	if (a->conf->metrics_file == NULL)
		return;
	agent_metrics_write(&a->metrics);
	uv_timer_start(&a->metrics, agent_metrics_write,
	    (uint64_t)a->conf->metrics_ms, (uint64_t)a->conf->metrics_ms);
	/* Written while the agent runs; never the reason it runs on. */
	uv_unref((uv_handle_t *)&a->metrics);
}
