/*
 * arbor-root: the authority and a relay core for its children, plus the
 * control socket for arborctl, on one libuv loop.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arbor/error.h"
#include "arbor/http.h"
#include "arbor/io.h"
#include "arbor/log.h"
#include "arbor/notify.h"
#include "root.h"

#define ROOT_RESIGN_CHECK_MS	1000

static void
root_stop(uv_signal_t *s, int signum)
{
	struct root *r = s->data;

	log_info("root: signal %d: stopping", signum);
	arb_net_exiting(r->net);
	uv_close((uv_handle_t *)&r->sigterm, NULL);
	uv_close((uv_handle_t *)&r->sigint, NULL);
	uv_timer_stop(&r->resign);
	uv_close((uv_handle_t *)&r->resign, NULL);
	root_rollout_stop(r);
	arb_http_free(r->http);		/* it reads the core */
	r->http = NULL;
	arb_http_free(r->api);
	r->api = NULL;
	if (r->ctl) {
		arb_srv_close(r->ctl);
		r->ctl = NULL;
	}
	relay_core_free(r->core);
	r->core = NULL;
	arb_net_free(r->net);
	r->net = NULL;
}

struct root *
root_new(const struct root_conf *conf)
{
	struct root		*r;
	struct relay_core_conf	 cc;
	char			 path[PATH_MAX];
	int			 rv;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->conf = conf;
	uv_loop_init(&r->loop);
	if (arb_io_mkdirs(conf->data_dir, 0700) != 0) {
		log_warn("root: %s", conf->data_dir);
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/db", conf->data_dir);
	if ((rv = arb_store_open(path, conf->map_size, &r->store)) != 0)
		goto fail;
	if ((rv = root_keys_open(r)) != 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/blobs", conf->data_dir);
	if ((rv = arb_blobdir_open(path, &r->blobs)) != 0)
		goto fail;
	if ((rv = arb_net_new(&r->loop, &r->net)) != 0)
		goto fail;
	memset(&cc, 0, sizeof(cc));
	cc.loop = &r->loop;
	cc.net = r->net;
	cc.store = r->store;
	cc.blobs = r->blobs;
	cc.svc = conf->svc;
	cc.pub = conf->pub;
	cc.enroll_svc = conf->enroll_svc;
	cc.nctx = (int)conf->nctx;
	cc.name = "root";
	cc.chunk_cache = 64ULL << 20;
	cc.node_id = "root";
	cc.unmanaged_grace = conf->unmanaged_grace_ms / 1000;
	cc.on_enroll = root_enroll;
	cc.on_batch = root_batch;
	cc.endpoint_state = root_endpoint_state;
	cc.hook_arg = r;
	cc.keys = r->keys;
	if ((rv = relay_core_new(&cc, &r->core)) != 0) {
		log_warnx("root: cannot serve on %s / %s: %s", conf->svc,
		    conf->pub, arb_strerror(rv));
		goto fail;
	}
	if ((rv = root_status_load(r)) != 0) {
		log_warnx("root: stored status: %s", arb_strerror(rv));
		goto fail;
	}
	if ((rv = arb_strmap_new(&r->fails)) != 0)
		goto fail;
	if ((rv = root_catalog_load(r)) != 0) {
		log_warnx("root: stored catalog: %s", arb_strerror(rv));
		goto fail;
	}
	if ((rv = arb_srv_listen(r->net, conf->control, 4, root_control_serve, r,
	    &r->ctl)) != 0) {
		log_warnx("root: control %s: %s", conf->control,
		    arb_strerror(rv));
		goto fail;
	}
	if (conf->metrics_listen != NULL &&
	    ((rv = arb_http_new(&r->loop, conf->metrics_listen,
	    &r->http)) != 0 ||
	    (rv = relay_core_serve_metrics(r->core, r->http, root_metrics,
	    r)) != 0))
		goto fail;
	/* The API on the metrics' server when at the same address. */
	if (conf->api_listen != NULL && (conf->metrics_listen == NULL ||
	    strcmp(conf->api_listen, conf->metrics_listen) != 0) &&
	    (rv = arb_http_new(&r->loop, conf->api_listen, &r->api)) != 0)
		goto fail;
	if (conf->api_listen != NULL && (rv = root_api_serve(r,
	    r->api != NULL ? r->api : r->http)) != 0)
		goto fail;
	if ((r->http != NULL && (rv = arb_http_start(r->http)) != 0) ||
	    (r->api != NULL && (rv = arb_http_start(r->api)) != 0))
		goto fail;
	uv_timer_init(&r->loop, &r->resign);
	r->resign.data = r;
	uv_timer_start(&r->resign, root_resign_cb, ROOT_RESIGN_CHECK_MS,
	    ROOT_RESIGN_CHECK_MS);
	root_rollout_start(r);
	r->delta_hook = root_rollout_note;
	uv_signal_init(&r->loop, &r->sigterm);
	uv_signal_init(&r->loop, &r->sigint);
	r->sigterm.data = r->sigint.data = r;
	uv_signal_start(&r->sigterm, root_stop, SIGTERM);
	uv_signal_start(&r->sigint, root_stop, SIGINT);
	log_info("root: serving %s and %s; control %s; head seq %llu",
	    conf->svc, conf->pub, conf->control,
	    (unsigned long long)(r->head ? r->head->seq : 0));
	return r;
fail:
	root_free(r);
	return NULL;
}

/*
 * Serve until stopped.  Everything listens by now: tell the service
 * manager (READY=1, then the watchdog from this loop); the handle is
 * closed by the loop run of root_free.
 */
void
root_run(struct root *r)
{
	struct arb_notify	*n;

	(void)arb_notify_start(&r->loop, &n);
	uv_run(&r->loop, UV_RUN_DEFAULT);
	arb_notify_free(n);
}

void
root_free(struct root *r)
{
	arb_http_free(r->http);
	r->http = NULL;
	arb_http_free(r->api);
	r->api = NULL;
	if (r->ctl)
		arb_srv_close(r->ctl);
	root_uploads_free(r);
	if (r->core)
		relay_core_free(r->core);
	if (r->net)
		arb_net_free(r->net);
	uv_run(&r->loop, UV_RUN_DEFAULT);
	(void)uv_loop_close(&r->loop);
	if (r->head)
		arb_wire_free_head(r->head);
	root_status_free(r);
	if (r->fails)
		arb_strmap_free(r->fails, free);
	if (r->blobs)
		arb_blobdir_close(r->blobs);
	if (r->store)
		arb_store_close(r->store);
	if (r->key)
		arb_key_free(r->key);
	arb_keychain_free(r->keys);
	free(r);
}
