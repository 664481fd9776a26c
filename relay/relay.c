/*
 * arbor-relay: a sync from its parent feeding a relay core for its
 * children, on one libuv loop.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arbor/blob.h"
#include "arbor/error.h"
#include "arbor/io.h"
#include "arbor/log.h"
#include "arbor/notify.h"
#include "arbor/metrics.h"
#include "arbor/net.h"
#include "arbor/sig.h"
#include "arbor/store.h"
#include "arbor/fetch.h"
#include "arbor/http.h"
#include "arbor/link.h"
#include "arbor/sync.h"
#include "core.h"
#include "relay.h"

struct relay {
	const struct relay_conf	*conf;
	uv_loop_t		 loop;
	uv_signal_t		 sigterm;
	uv_signal_t		 sigint;
	struct arb_net		*net;
	struct arb_store	*store;
	struct arb_blobdir	*blobs;
	struct arb_keychain	*keys;
	struct arb_link		*link;
	struct arb_sync		*sync;
	struct arb_fetcher	*fetch;
	struct relay_core	*core;
	struct arb_http		*http;		/* metrics, or NULL */
};

static void
relay_on_head(void *arg, const Arbor__Head *head)
{
	struct relay	*r = arg;
	const uint8_t	*sb;
	size_t		 len;

	sb = arb_sync_head_signed(r->sync, &len);
	relay_core_head(r->core, head, sb, len);
}

/* The relay's part of /metrics, after the core's: its parent. */
static int
relay_metrics(void *arg, struct arb_metrics *m)
{
	struct relay		*r = arg;
	const Arbor__Head	*h = arb_sync_head(r->sync);
	uint64_t		 seen = arb_sync_seen_seq(r->sync);
	uint64_t		 held = h ? h->seq : 0;
	int			 rv;

	if ((rv = arb_metrics_one(m, "arbor_parent_head_seq",
	    ARB_METRIC_GAUGE, "Sequence number of the newest verified head "
	    "a parent offered", (double)seen)) != 0)
		return rv;
	return arb_metrics_one(m, "arbor_head_lag_seq", ARB_METRIC_GAUGE,
	    "Heads the parent offered that this relay has not taken yet",
	    (double)(seen - held));
}

/* Serving first, then what it uses; the link last (it completes the rest). */
static void
relay_close_upstream(struct relay *r)
{
	arb_http_free(r->http);		/* it reads the core */
	r->http = NULL;
	if (r->core)
		relay_core_free(r->core);
	r->core = NULL;
	arb_sync_free(r->sync);
	r->sync = NULL;
	arb_fetch_free(r->fetch);
	r->fetch = NULL;
	arb_link_free(r->link);
	r->link = NULL;
}

static void
relay_stop(uv_signal_t *s, int signum)
{
	struct relay *r = s->data;

	log_info("relay: signal %d: stopping", signum);
	arb_net_exiting(r->net);
	uv_signal_stop(&r->sigterm);
	uv_signal_stop(&r->sigint);
	uv_close((uv_handle_t *)&r->sigterm, NULL);
	uv_close((uv_handle_t *)&r->sigint, NULL);
	relay_close_upstream(r);
	arb_net_free(r->net);
	r->net = NULL;
}

/* The way up: the parent link, catalog sync on it, the fetch pipeline. */
static int
relay_upstream_new(struct relay *r)
{
	const struct relay_conf	*conf = r->conf;
	struct arb_link_conf	 lc;
	struct arb_sync_conf	 sc;
	struct arb_fetch_conf	 fc;
	int			 rv;

	memset(&lc, 0, sizeof(lc));
	lc.loop = &r->loop;
	lc.net = r->net;
	lc.up = &conf->up;
	lc.kind = "relay";
	if ((rv = arb_link_new(&lc, &r->link)) != 0)
		return rv;
	memset(&sc, 0, sizeof(sc));
	sc.loop = &r->loop;
	sc.link = r->link;
	sc.store = r->store;
	sc.keys = r->keys;
	sc.up = &conf->up;
	sc.node_id = conf->node_id;
	sc.kind = "relay";
	sc.on_head = relay_on_head;
	sc.arg = r;
	if ((rv = arb_sync_new(&sc, &r->sync)) != 0)
		return rv;
	memset(&fc, 0, sizeof(fc));
	fc.loop = &r->loop;
	fc.link = r->link;
	fc.blobs = r->blobs;
	fc.up = &conf->up;
	fc.chunk_hashes = 1;	/* indexed without reading it again */
	fc.kind = "relay";
	return arb_fetch_new(&fc, &r->fetch);
}

struct relay *
relay_new(const struct relay_conf *conf)
{
	struct relay		*r;
	struct relay_core_conf	 cc;
	char			 path[PATH_MAX];
	int			 rv;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->conf = conf;
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	uv_loop_init(&r->loop);
	if (arb_io_mkdirs(conf->data_dir, 0700) != 0) {
		log_warn("relay: %s", conf->data_dir);
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/db", conf->data_dir);
	if ((rv = arb_store_open(path, conf->map_size, &r->store)) != 0)
		goto fail;
	if ((rv = arb_keychain_open("relay", conf->pubkey, conf->trust_root,
	    r->store, &r->keys)) != 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/blobs", conf->data_dir);
	if ((rv = arb_blobdir_open(path, &r->blobs)) != 0)
		goto fail;
	if ((rv = arb_net_check_fds((uint64_t)conf->nctx / 4 + 64)) != 0)
		goto fail;
	if ((rv = arb_net_new(&r->loop, &r->net)) != 0)
		goto fail;

	if ((rv = relay_upstream_new(r)) != 0)
		goto fail;

	memset(&cc, 0, sizeof(cc));
	cc.loop = &r->loop;
	cc.net = r->net;
	cc.store = r->store;
	cc.blobs = r->blobs;
	cc.svc = conf->svc;
	cc.pub = conf->pub;
	cc.nctx = (int)conf->nctx;
	cc.cache_limit = conf->cache_size;
	cc.chunk_cache = conf->chunk_cache;
	cc.name = "relay";
	cc.link = r->link;
	cc.fetch = r->fetch;
	cc.node_id = conf->node_id;
	cc.report_ms = conf->report_ms;
	cc.unmanaged_grace = conf->unmanaged_grace_ms / 1000;
	cc.report_max = (uint64_t)conf->report_max;
	cc.spool_max = (uint64_t)conf->spool_max;
	cc.spool_size = conf->spool_size ? conf->spool_size :
	    conf->map_size / 2;
	cc.children_max = (uint32_t)conf->children_max;
	cc.enroll_svc = conf->enroll_svc;
	cc.serve_rate = conf->serve_rate;
	cc.child_rate = conf->child_rate;
	cc.keys = r->keys;
	if ((rv = relay_core_new(&cc, &r->core)) != 0) {
		log_warnx("relay: cannot serve on %s / %s: %s", conf->svc,
		    conf->pub, arb_strerror(rv));
		goto fail;
	}
	if (conf->metrics_listen != NULL &&
	    ((rv = arb_http_new(&r->loop, conf->metrics_listen,
	    &r->http)) != 0 ||
	    (rv = relay_core_serve_metrics(r->core, r->http, relay_metrics,
	    r)) != 0 || (rv = arb_http_start(r->http)) != 0))
		goto fail;
	/* Serve the head we already hold while we catch up. */
	if (arb_sync_head(r->sync) != NULL)
		relay_on_head(r, arb_sync_head(r->sync));
	/* An export from across an air gap, judged as a parent's head. */
	if (conf->import_dir != NULL && relay_import(conf->import_dir,
	    r->sync, r->core, r->blobs) != 0)
		goto fail;
	if ((rv = arb_link_start(r->link)) != 0 ||
	    (rv = arb_sync_start(r->sync)) != 0)
		goto fail;

	uv_signal_init(&r->loop, &r->sigterm);
	uv_signal_init(&r->loop, &r->sigint);
	r->sigterm.data = r->sigint.data = r;
	uv_signal_start(&r->sigterm, relay_stop, SIGTERM);
	uv_signal_start(&r->sigint, relay_stop, SIGINT);
	if (conf->up.nparents == 0)
		log_info("relay: no parent: the catalog comes from imports "
		    "(--import DIR)");
	log_info("relay: %s serving %s and %s", conf->node_id, conf->svc,
	    conf->pub);
	if (conf->enroll_svc != NULL)
		log_info("relay: enrolment only, no client certificate asked, "
		    "on %s", conf->enroll_svc);
	return r;
fail:
	relay_free(r);
	return NULL;
}

/*
 * Serve until stopped.  Everything listens by now: tell the service
 * manager (READY=1, then the watchdog from this loop); the handle is
 * closed by the loop run of relay_free.
 */
void
relay_run(struct relay *r)
{
	struct arb_notify	*n;

	(void)arb_notify_start(&r->loop, &n);
	uv_run(&r->loop, UV_RUN_DEFAULT);
	arb_notify_free(n);
}

void
relay_free(struct relay *r)
{
	relay_close_upstream(r);
	if (r->net)
		arb_net_free(r->net);
	uv_run(&r->loop, UV_RUN_DEFAULT);
	(void)uv_loop_close(&r->loop);
	if (r->blobs)
		arb_blobdir_close(r->blobs);
	if (r->store)
		arb_store_close(r->store);
	arb_keychain_free(r->keys);
	free(r);
}
