/*
 * arbor-agent: the endpoint.  Keeps its catalog in step with its relay
 * (arb_sync verifies every head and policy) and downloads, verified, the
 * blobs of every policy in the head.  Applicability, targeting and actions
 * build on this.
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
#include "arbor/log.h"
#include "arbor/net.h"
#include "arbor/sig.h"
#include "arbor/store.h"
#include "arbor/sync.h"
#include "agent.h"

#define AGENT_RETRY_MS	2000
#define AGENT_MAX_FLIGHT 64

struct agent {
	const struct agent_conf	*conf;
	uv_loop_t		 loop;
	uv_signal_t		 sigterm;
	uv_signal_t		 sigint;
	uv_timer_t		 retry;
	struct arb_net		*net;
	struct arb_store	*store;
	struct arb_blobdir	*blobs;
	struct arb_key		*pin;
	struct arb_sync		*sync;
	uint8_t			 flight[AGENT_MAX_FLIGHT][ARB_SHA256_LEN];
	int			 nflight;
	int			 stopping;
};

static void	agent_ensure(struct agent *);

static int
agent_in_flight(struct agent *a, const uint8_t *sha)
{
	int i;

	for (i = 0; i < a->nflight; i++)
		if (memcmp(a->flight[i], sha, ARB_SHA256_LEN) == 0)
			return i;
	return -1;
}

static void
agent_retry_cb(uv_timer_t *t)
{
	agent_ensure(t->data);
}

static void
agent_fetch_cb(int rv, const uint8_t *sha, void *arg)
{
	struct agent	*a = arg;
	int		 i;

	if ((i = agent_in_flight(a, sha)) >= 0) {
		memmove(a->flight[i], a->flight[i + 1],
		    (size_t)(a->nflight - i - 1) * ARB_SHA256_LEN);
		a->nflight--;
	}
	if (a->stopping)
		return;
	if (rv == 0)
		agent_ensure(a);
	else if (!uv_is_active((uv_handle_t *)&a->retry))
		uv_timer_start(&a->retry, agent_retry_cb, AGENT_RETRY_MS, 0);
}

/* Record that every blob of a policy is here, verified. */
static void
agent_mark(struct agent *a, const Arbor__PolicyRef *ref, size_t nblobs)
{
	void	*v;
	size_t	 n;
	int	 same;

	if (arb_store_get(a->store, ARB_DB_STATE, ref->id, strlen(ref->id),
	    &v, &n) == 0) {
		same = n == ARB_SHA256_LEN &&
		    memcmp(v, ref->sha256.data, ARB_SHA256_LEN) == 0;
		free(v);
		if (same)
			return;
	}
	if (arb_store_put(a->store, ARB_DB_STATE, ref->id, strlen(ref->id),
	    ref->sha256.data, ARB_SHA256_LEN) != 0)
		return;
	log_info("agent: policy %s v%u: downloaded, %zu blobs verified",
	    ref->id, ref->version, nblobs);
}

/* Fetch whatever the current policies name that is not here yet. */
static void
agent_ensure(struct agent *a)
{
	const Arbor__Head	*head;
	Arbor__Policy		*p;
	uint64_t		 size;
	size_t			 i, j, missing;
	int			 rv;

	if (a->stopping || (head = arb_sync_head(a->sync)) == NULL)
		return;
	for (i = 0; i < head->n_policies; i++) {
		const Arbor__PolicyRef *ref = head->policies[i];

		if (arb_store_policy(a->store, ref->sha256.data, &p) != 0)
			continue;
		missing = 0;
		for (j = 0; j < p->n_blobs; j++) {
			const Arbor__BlobRef *b = p->blobs[j];

			if (arb_blob_stat(a->blobs, b->sha256.data,
			    &size) == 0 && size == b->size)
				continue;
			missing++;
			if (agent_in_flight(a, b->sha256.data) >= 0 ||
			    a->nflight == AGENT_MAX_FLIGHT)
				continue;
			if ((rv = arb_sync_fetch(a->sync, b->sha256.data,
			    b->size, agent_fetch_cb, a)) != 0) {
				log_warnx("agent: policy %s: blob %s: %s",
				    p->id, b->name, arb_strerror(rv));
				continue;
			}
			memcpy(a->flight[a->nflight++], b->sha256.data,
			    ARB_SHA256_LEN);
		}
		if (missing == 0)
			agent_mark(a, ref, p->n_blobs);
		arb_wire_free_policy(p);
	}
}

static void
agent_on_head(void *arg, const Arbor__Head *head)
{
	(void)head;
	agent_ensure(arg);
}

static void
agent_on_poll(void *arg, int rv)
{
	(void)rv;
	agent_ensure(arg);
}

static void
agent_stop(uv_signal_t *s, int signum)
{
	struct agent *a = s->data;

	log_info("agent: signal %d: stopping", signum);
	a->stopping = 1;
	uv_close((uv_handle_t *)&a->sigterm, NULL);
	uv_close((uv_handle_t *)&a->sigint, NULL);
	uv_timer_stop(&a->retry);
	uv_close((uv_handle_t *)&a->retry, NULL);
	arb_sync_free(a->sync);
	a->sync = NULL;
	arb_net_free(a->net);
	a->net = NULL;
}

struct agent *
agent_new(const struct agent_conf *conf)
{
	struct agent		*a;
	struct arb_sync_conf	 sc;
	char			 path[PATH_MAX];
	int			 rv;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->conf = conf;
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	uv_loop_init(&a->loop);
	if (mkdir(conf->data_dir, 0700) != 0 && errno != EEXIST) {
		log_warn("agent: %s", conf->data_dir);
		goto fail;
	}
	if ((rv = arb_key_load_public(conf->pubkey, &a->pin)) != 0) {
		log_warnx("agent: pubkey %s: %s", conf->pubkey,
		    arb_strerror(rv));
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/db", conf->data_dir);
	if ((rv = arb_store_open(path, conf->map_size, &a->store)) != 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/blobs", conf->data_dir);
	if ((rv = arb_blobdir_open(path, &a->blobs)) != 0)
		goto fail;
	if ((rv = arb_net_new(&a->loop, &a->net)) != 0)
		goto fail;
	uv_timer_init(&a->loop, &a->retry);
	a->retry.data = a;

	memset(&sc, 0, sizeof(sc));
	sc.loop = &a->loop;
	sc.net = a->net;
	sc.store = a->store;
	sc.blobs = a->blobs;
	sc.pin = a->pin;
	sc.parents = conf->relays;
	sc.nparents = conf->nrelays;
	sc.poll_ms = conf->poll_ms;
	sc.jitter_ms = conf->jitter_ms;
	sc.timeout_ms = conf->timeout_ms;
	sc.fetch_depth = (int)conf->fetch_depth;
	sc.fetch_rate = conf->fetch_rate;
	sc.node_id = conf->node_id;
	sc.kind = "agent";
	sc.on_head = agent_on_head;
	sc.on_poll = agent_on_poll;
	sc.arg = a;
	if ((rv = arb_sync_new(&sc, &a->sync)) != 0)
		goto fail;
	if ((rv = arb_sync_start(a->sync)) != 0)
		goto fail;
	uv_signal_init(&a->loop, &a->sigterm);
	uv_signal_init(&a->loop, &a->sigint);
	a->sigterm.data = a->sigint.data = a;
	uv_signal_start(&a->sigterm, agent_stop, SIGTERM);
	uv_signal_start(&a->sigint, agent_stop, SIGINT);
	log_info("agent: %s started", conf->node_id);
	return a;
fail:
	agent_free(a);
	return NULL;
}

void
agent_run(struct agent *a)
{
	uv_run(&a->loop, UV_RUN_DEFAULT);
}

void
agent_free(struct agent *a)
{
	a->stopping = 1;
	if (a->sync)
		arb_sync_free(a->sync);
	if (a->net)
		arb_net_free(a->net);
	if (a->retry.loop != NULL && !uv_is_closing((uv_handle_t *)&a->retry))
		uv_close((uv_handle_t *)&a->retry, NULL);
	uv_run(&a->loop, UV_RUN_DEFAULT);
	(void)uv_loop_close(&a->loop);
	if (a->blobs)
		arb_blobdir_close(a->blobs);
	if (a->store)
		arb_store_close(a->store);
	if (a->pin)
		arb_key_free(a->pin);
	free(a);
}
