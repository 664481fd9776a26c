/*
 * The relay core: what every node with children does, written once and
 * linked by arbor-relay and arbor-root.  It serves heads, policies and
 * blob chunks on svc from the node's store and blob directory, publishes
 * notifications on pub, prefetches the blobs of urgent policies before it
 * rebroadcasts, fetches a missing blob from upstream once however many
 * children ask (through the fetch pipeline's single flight), checks each
 * chunk it serves against the chunk hashes it recorded when the blob was
 * verified (so a blob damaged on disk is never served, and is fetched
 * again), and keeps its blob cache under a byte limit.
 */
#ifndef ARBOR_RELAY_CORE_H
#define ARBOR_RELAY_CORE_H

#include <stdint.h>
#include <uv.h>

#include "arbor/blob.h"
#include "arbor/group.h"
#include "arbor/keychain.h"
#include "arbor/net.h"
#include "arbor/store.h"
#include "arbor/fetch.h"
#include "arbor/link.h"
#include "arbor/sig.h"
#include "arbor/wire.h"

struct relay_core;

struct relay_core_conf {
	uv_loop_t		*loop;
	struct arb_net		*net;
	struct arb_store	*store;
	struct arb_blobdir	*blobs;
	const char		*svc;		/* REP address for children */
	const char		*pub;		/* PUB address for children */
	const char		*enroll_svc;	/* enrolment only; or NULL */
	int			 nctx;		/* requests in flight */
	uint64_t		 cache_limit;	/* bytes of blobs; 0: none */
	uint64_t		 chunk_cache;	/* bytes of verified chunks in RAM */
	const char		*name;		/* "relay" or "root" */
	struct arb_link		*link;		/* upstream; NULL at the root */
	struct arb_fetcher	*fetch;		/* likewise */
	const char		*node_id;	/* this node, in report paths */
	int64_t			 report_ms;	/* send reports up this often */
	uint64_t		 report_max;	/* ... or when the spool has this many */
	uint64_t		 spool_max;	/* reports spooled at most; 0: none */
	uint64_t		 spool_size;	/* bytes of spool at most; 0: none */
	uint32_t		 children_max;	/* children remembered at most */
	uint64_t		 serve_rate;	/* bytes/s of chunks to children */
	uint64_t		 child_rate;	/* ... to one child; 0: no cap */
	/* publisher keys: receipts; statements served from store */
	const struct arb_keychain *keys;
	/*
	 * At the root, reports and enrolments end here: the hooks take them
	 * (and answer req).  At a relay they are NULL: the core spools
	 * reports and forwards both upward.
	 */
	void	(*on_enroll)(void *arg, struct arb_req *req, Arbor__Enroll *e);
	void	(*on_batch)(void *arg, struct arb_req *req,
		    Arbor__ReportBatch *b);
	void	 *hook_arg;
	/*
	 * At the root, what it holds of endpoint id (enum relay_ep), for
	 * the polls of endpoints not managed; NULL at a relay, which asks
	 * the receipts it holds.
	 */
	int	(*endpoint_state)(void *arg, const char *id);
	int64_t			 unmanaged_grace;	/* s; 0: 600 */
};

/* What a node knows of an endpoint id a child gives. */
enum relay_ep {
	RELAY_EP_UNSEEN,	/* no word of it yet */
	RELAY_EP_MANAGED,	/* enrolled, not revoked */
	RELAY_EP_UNKNOWN,	/* the root has no such endpoint */
	RELAY_EP_REVOKED,	/* the operator revoked it */
};

/*
 * Listen on svc and pub.  Serves nothing until relay_core_head.  The core
 * uses, and does not own, everything c points to; at a relay (c->link
 * set) it spools reports and sends them up.  *cp is freed with
 * relay_core_free.
 */
int	relay_core_new(const struct relay_core_conf *c, struct relay_core **cp);

/*
 * The node committed a new verified head (its encoded Signed form is
 * signed/len).  The core learns the blobs current policies name, prefetches
 * those of urgent policies, then notifies its children.
 */
void	relay_core_head(struct relay_core *c, const Arbor__Head *head,
	    const uint8_t *signed_bytes, size_t len);

/*
 * Record chunk hashes for a complete, verified blob so that it can be
 * served (called by the core itself after a fetch, and by the root after
 * an upload).  chunks, if not NULL, holds the nchunks hashes the fetch
 * computed as it wrote the blob; otherwise the blob is read and hashed.
 * The record is committed to the store before it returns.  Returns 0 or
 * an error (the blob is then not served).
 */
int	relay_core_index_blob(struct relay_core *c,
	    const uint8_t sha[ARB_SHA256_LEN], const uint8_t *chunks,
	    size_t nchunks);

/*
 * The group commit of the node's store (see arbor/group.h), for requests
 * that must be durable before they are acknowledged: the spool's report
 * batches here, the root's reports and enrolments through its hooks.  It
 * belongs to the core and lives as long as it.
 */
struct arb_group *relay_core_commit_group(struct relay_core *c);

/* The kinds of request children send, counted apart. */
enum relay_req_kind {
	RELAY_REQ_HELLO,
	RELAY_REQ_HEAD,
	RELAY_REQ_POLICY,
	RELAY_REQ_KEYS,
	RELAY_REQ_CHUNK,
	RELAY_REQ_ENROL,
	RELAY_REQ_REPORTS,
	RELAY_REQ_OTHER,	/* unexpected, or not decoded */
	RELAY_REQ_KINDS
};

/* Counters, for logs, tests and metrics. */
struct relay_core_stats {
	uint64_t	requests;
	uint64_t	by_kind[RELAY_REQ_KINDS];
	uint64_t	errors;		/* error replies sent */
	uint64_t	chunks;		/* chunks served */
	uint64_t	chunk_bytes;
	uint64_t	upstream_fetches;
	uint64_t	fetched_bytes;	/* of blobs fetched upstream, verified */
	uint64_t	cache_hits;	/* chunk asked of a blob held */
	uint64_t	cache_misses;	/* ... of one being fetched for it */
	uint64_t	evictions;	/* blobs evicted from the cache */
	uint64_t	corrupt;	/* damaged blobs found on disk */
	uint64_t	batches_in;	/* report batches from children */
	uint64_t	batch_bytes_in;
	uint64_t	reports_in;
	uint64_t	batches_up;	/* batches sent and acknowledged */
	uint64_t	reports_up;
	uint64_t	shaped;		/* chunk requests paced (serve_rate) */
	uint64_t	shaped_urgent;	/* urgent chunks sent ahead of others */
};
void	relay_core_stats(const struct relay_core *c,
	    struct relay_core_stats *st);

struct arb_metrics;
/*
 * Add what the core counts to m (see the README's "Metrics"): requests by
 * kind, bytes served and fetched, the cache, children, the spool and the
 * reports sent up, the head.  0 or an error.
 */
int	relay_core_metrics(struct relay_core *c, struct arb_metrics *m);

struct arb_http;
/*
 * Serve GET /metrics on h (before arb_http_start): arbor_build_info, the
 * core's metrics, then what fill(arg, m) adds (NULL: nothing), rendered
 * fresh at every scrape on the loop.  h must be freed before the core.
 */
int	relay_core_serve_metrics(struct relay_core *c, struct arb_http *h,
	    int (*fill)(void *arg, struct arb_metrics *m), void *arg);

/*
 * Unmanaged addresses (see the top of relay/unmanaged.c), for the root's
 * hooks: note the address of req's connection with reason and the
 * endpoint id it claimed (may be NULL); forget it (it is managed now);
 * take what a child's batch says; and list them, the most recently seen
 * first, at most max: *vp (one allocation, free() it) points into the
 * core's table and is valid until the core next runs.  0 or -ENOMEM.
 */
void	relay_core_unmanaged_note(struct relay_core *c, struct arb_req *req,
	    const char *reason, const char *claimed);
void	relay_core_unmanaged_managed(struct relay_core *c,
	    struct arb_req *req);
void	relay_core_unmanaged_take(struct relay_core *c,
	    const Arbor__ReportBatch *b);
int	relay_core_unmanaged(struct relay_core *c, size_t max,
	    Arbor__Unmanaged ***vp, size_t *np, uint64_t *evictedp);

/*
 * Commit what the group holds (its replies go out), stop serving and
 * close the sockets.  Fetches still in flight end with the sync: the core
 * is freed when the last of them does, so free the sync after the core.
 */
void	relay_core_free(struct relay_core *c);

#endif
