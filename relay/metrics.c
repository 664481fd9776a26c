/*
 * What the relay core counts, as metrics (arbor/metrics.h): the part of
 * /metrics that the root and every relay share.  Each daemon adds its
 * own families after these.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arbor/error.h"
#include "arbor/http.h"
#include "arbor/log.h"
#include "arbor/metrics.h"
#include "arbor/store.h"
#include "arbor/tls.h"
#include "core_int.h"

static const char *const kind_names[RELAY_REQ_KINDS] = {
	[RELAY_REQ_HELLO] = "hello",
	[RELAY_REQ_HEAD] = "head",
	[RELAY_REQ_POLICY] = "policy",
	[RELAY_REQ_KEYS] = "keys",
	[RELAY_REQ_CHUNK] = "chunk",
	[RELAY_REQ_ENROL] = "enrol",
	[RELAY_REQ_REPORTS] = "reports",
	[RELAY_REQ_OTHER] = "other",
};

struct cache_sum {
	uint64_t	bytes;
	uint64_t	blobs;
};

static int
cache_sum_cb(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg)
{
	struct cache_sum	*cs = arg;
	struct blobrec_hdr	 h;

	(void)key;
	if (klen != ARB_SHA256_LEN || vlen < sizeof(h))
		return 0;
	memcpy(&h, val, sizeof(h));
	cs->bytes += h.size;
	cs->blobs++;
	return 0;
}

/* A counter or gauge without labels; the first error sticks in *rvp. */
static void
one(struct arb_metrics *m, int *rvp, const char *name,
    enum arb_metric_type type, const char *help, double v)
{
	if (*rvp == 0)
		*rvp = arb_metrics_one(m, name, type, help, v);
}

int
relay_core_metrics(struct relay_core *c, struct arb_metrics *m)
{
	struct relay_core_stats		 st;
	struct relay_enrol_counts	 en;
	struct cache_sum		 cs = { 0, 0 };
	struct arb_txn			*t;
	uint64_t			 depth, age;
	int64_t				 now = (int64_t)time(NULL);
	int				 rv = 0, i;

	relay_core_stats(c, &st);
	if ((rv = arb_metrics_family(m, "arbor_requests_total",
	    ARB_METRIC_COUNTER, "kind", "Requests from children, by kind")) != 0)
		return rv;
	for (i = 0; i < RELAY_REQ_KINDS && rv == 0; i++)
		rv = arb_metrics_set(m, "arbor_requests_total", kind_names[i],
		    (double)st.by_kind[i]);
	one(m, &rv, "arbor_request_errors_total", ARB_METRIC_COUNTER,
	    "Error replies sent to children", (double)st.errors);
	one(m, &rv, "arbor_children", ARB_METRIC_GAUGE,
	    "Children (agents and relays) heard from in the last 10 minutes",
	    (double)relay_children(c, now - RELAY_CHILD_WINDOW));
	one(m, &rv, "arbor_served_bytes_total", ARB_METRIC_COUNTER,
	    "Bytes of blob chunks served to children", (double)st.chunk_bytes);
	one(m, &rv, "arbor_served_chunks_total", ARB_METRIC_COUNTER,
	    "Blob chunks served to children", (double)st.chunks);
	if (arb_txn_begin(c->c.store, 0, &t) == 0) {
		(void)arb_txn_foreach(t, ARB_DB_BLOBS, cache_sum_cb, &cs);
		arb_txn_abort(t);
	}
	one(m, &rv, "arbor_cache_bytes", ARB_METRIC_GAUGE,
	    "Bytes of blobs held and indexed", (double)cs.bytes);
	one(m, &rv, "arbor_cache_blobs", ARB_METRIC_GAUGE,
	    "Blobs held and indexed", (double)cs.blobs);
	one(m, &rv, "arbor_cache_limit_bytes", ARB_METRIC_GAUGE,
	    "The cache's byte limit (0: none)", (double)c->c.cache_limit);
	one(m, &rv, "arbor_cache_hits_total", ARB_METRIC_COUNTER,
	    "Chunk requests for a blob held", (double)st.cache_hits);
	one(m, &rv, "arbor_cache_evictions_total", ARB_METRIC_COUNTER,
	    "Blobs evicted from the cache", (double)st.evictions);
	one(m, &rv, "arbor_chunk_cache_bytes", ARB_METRIC_GAUGE,
	    "Bytes of verified chunks kept in memory", (double)c->cc_bytes);
	one(m, &rv, "arbor_corrupt_blobs_total", ARB_METRIC_COUNTER,
	    "Blobs found damaged on disk and dropped", (double)st.corrupt);
	one(m, &rv, "arbor_batch_in_bytes_total", ARB_METRIC_COUNTER,
	    "Bytes of report batches received from children",
	    (double)st.batch_bytes_in);
	one(m, &rv, "arbor_tls_handshakes_refused_total", ARB_METRIC_COUNTER,
	    "TLS handshakes this node served that failed (no valid client "
	    "certificate, not TLS, given up); their addresses are not known",
	    (double)arb_tls_refused());
	one(m, &rv, "arbor_unmanaged_addresses", ARB_METRIC_GAUGE,
	    "Addresses that reached this node or those below it but are not "
	    "managed (arborctl unmanaged)", (double)relay_unm_count(c));
	if (c->agg != NULL) {	/* a relay: what comes from and goes up */
		relay_agg_spool(c, &depth, &age);
		one(m, &rv, "arbor_fetched_bytes_total", ARB_METRIC_COUNTER,
		    "Bytes of blobs fetched from the parent and verified",
		    (double)st.fetched_bytes);
		one(m, &rv, "arbor_upstream_fetches_total",
		    ARB_METRIC_COUNTER, "Blob fetches started from the parent",
		    (double)st.upstream_fetches);
		one(m, &rv, "arbor_cache_misses_total", ARB_METRIC_COUNTER,
		    "Chunk requests that waited for a fetch from the parent",
		    (double)st.cache_misses);
		one(m, &rv, "arbor_batches_in_total", ARB_METRIC_COUNTER,
		    "Report batches received from children",
		    (double)st.batches_in);
		one(m, &rv, "arbor_reports_in_total", ARB_METRIC_COUNTER,
		    "Reports received from children", (double)st.reports_in);
		one(m, &rv, "arbor_batches_up_total", ARB_METRIC_COUNTER,
		    "Report batches the parent acknowledged",
		    (double)st.batches_up);
		one(m, &rv, "arbor_reports_up_total", ARB_METRIC_COUNTER,
		    "Reports sent in batches the parent acknowledged",
		    (double)st.reports_up);
		one(m, &rv, "arbor_spool_reports", ARB_METRIC_GAUGE,
		    "Reports spooled for the parent", (double)depth);
		one(m, &rv, "arbor_spool_age_seconds", ARB_METRIC_GAUGE,
		    "Seconds since the parent last acknowledged a batch "
		    "(0: never)", (double)age / 1000.0);
		relay_enrol_counts(c, &en);
		one(m, &rv, "arbor_enrolments_waiting", ARB_METRIC_GAUGE,
		    "Enrolments queued for the parent", (double)en.waiting);
		one(m, &rv, "arbor_enrolments_inflight", ARB_METRIC_GAUGE,
		    "Enrolments sent to the parent and not answered yet",
		    (double)en.inflight);
		one(m, &rv, "arbor_enrolments_joined_total",
		    ARB_METRIC_COUNTER, "Enrolments that joined the same "
		    "endpoint's on its way up", (double)en.joined);
		one(m, &rv, "arbor_enrolments_answered_total",
		    ARB_METRIC_COUNTER, "Enrolments answered with the root's "
		    "answer kept from a moment ago", (double)en.answered);
		one(m, &rv, "arbor_enrolments_busy_total", ARB_METRIC_COUNTER,
		    "Enrolments told to come back later: too many waiting",
		    (double)en.busy);
	}
	one(m, &rv, "arbor_head_seq", ARB_METRIC_GAUGE,
	    "Sequence number of the head served (0: none)",
	    (double)c->head_seq);
	one(m, &rv, "arbor_head_age_seconds", ARB_METRIC_GAUGE,
	    "Seconds since the head served was signed (the lag behind the "
	    "publisher, as it re-signs; 0: no head)",
	    c->head_issued_at > 0 ? (double)(now - c->head_issued_at) : 0);
	return rv;
}

/* The loop: one scrape. */
static void
metrics_get(void *arg, const struct arb_http_req *req,
    struct arb_http_res *res)
{
	struct relay_core	*c = arg;
	struct arb_metrics	*m = NULL;
	int			 rv;

	(void)req;
	if ((rv = arb_metrics_new(&m)) != 0 ||
	    (rv = arb_metrics_build_info(m)) != 0 ||
	    (rv = relay_core_metrics(c, m)) != 0 ||
	    (c->mfill != NULL && (rv = c->mfill(c->marg, m)) != 0) ||
	    (rv = arb_metrics_render(m, &res->body, &res->len)) != 0) {
		log_warnx("%s: metrics: %s", c->c.name, arb_strerror(rv));
		res->status = 500;
		res->body = NULL;
	} else
		res->type = "text/plain; version=0.0.4; charset=utf-8";
	arb_metrics_free(m);
}

int
relay_core_serve_metrics(struct relay_core *c, struct arb_http *h,
    int (*fill)(void *, struct arb_metrics *), void *arg)
{
	c->mfill = fill;
	c->marg = arg;
	return arb_http_handle(h, "GET", "/metrics", metrics_get, c);
}
