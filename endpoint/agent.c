/*
 * arbor-agent: the endpoint daemon.  Keeps its catalog in step with its
 * relay (arb_sync verifies every head and policy), applies what applies
 * (apply.c), and sends its signed reports up (report.c), all on one libuv
 * loop.
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

#include "arbor/error.h"
#include "arbor/io.h"
#include "arbor/log.h"
#include "arbor/notify.h"
#include "agent.h"

static void
agent_on_head(void *arg, const Arbor__Head *head)
{
	(void)head;
	agent_apply(arg);
}

static void
agent_on_poll(void *arg, int rv)
{
	struct agent *a = arg;

	(void)rv;
	agent_apply(a);
	/*
	 * Retry an enrolment, or an outbox left behind; reports that were
	 * just made wait for their flush timer to gather the next ones.
	 */
	if (!uv_is_active((uv_handle_t *)&a->flush))
		agent_flush(a);
}

/* Stop this endpoint's work; its handles close as the loop runs on. */
void
agent_stop_in(struct agent *a)
{
	a->stopping = 1;
	if (a->retry.loop != NULL && !uv_is_closing((uv_handle_t *)&a->retry))
		uv_close((uv_handle_t *)&a->retry, NULL);
	if (a->sched.loop != NULL && !uv_is_closing((uv_handle_t *)&a->sched))
		uv_close((uv_handle_t *)&a->sched, NULL);
	if (a->flush.loop != NULL && !uv_is_closing((uv_handle_t *)&a->flush))
		uv_close((uv_handle_t *)&a->flush, NULL);
	if (a->prev.loop != NULL && !uv_is_closing((uv_handle_t *)&a->prev))
		uv_close((uv_handle_t *)&a->prev, NULL);
	if (a->gc.loop != NULL && !uv_is_closing((uv_handle_t *)&a->gc))
		uv_close((uv_handle_t *)&a->gc, NULL);
	if (a->inv.loop != NULL && !uv_is_closing((uv_handle_t *)&a->inv))
		uv_close((uv_handle_t *)&a->inv, NULL);
	if (a->metrics.loop != NULL &&
	    !uv_is_closing((uv_handle_t *)&a->metrics))
		uv_close((uv_handle_t *)&a->metrics, NULL);
	if (a->action && !(a->env && a->env->simulate))
		arb_action_cancel(a->action);
	agent_reboot_stop(a);
	agent_cert_stop(a);
	agent_control_stop(a);
	/* The link last: closing it completes what the others wait for. */
	arb_sync_free(a->sync);
	a->sync = NULL;
	arb_fetch_free(a->fetch);
	a->fetch = NULL;
	arb_link_free(a->link);
	a->link = NULL;
}

static void
agent_stop_now(struct agent *a)
{
	arb_net_exiting(a->net);
	uv_close((uv_handle_t *)&a->sigterm, NULL);
	uv_close((uv_handle_t *)&a->sigint, NULL);
	agent_stop_in(a);
	arb_net_free(a->net);
	a->net = NULL;
}

/* How long the stop waits for an action: to its timeout and past it. */
#define AGENT_DRAIN_SLACK_S	30

/*
 * SIGTERM or SIGINT.  With no action running the agent stops.  With one,
 * it neither kills it nor leaves it behind: it starts nothing new, lets
 * the action end (its timeout still holds), takes its result as always
 * (committed, its report in the outbox), and stops then (agent_drained).
 * The service manager is told how long that may take.  A second signal
 * stops at once, killing the action; what it had done is judged at the
 * next start as after any interrupted action.
 */
static void
agent_stop(uv_signal_t *s, int signum)
{
	struct agent		*a = s->data;
	struct arb_action_ident	 id;
	int64_t			 left;
	char			 when[32];

	if (a->draining) {
		log_warnx("agent: signal %d again: stopping now; the action of "
		    "policy %s is killed", signum, a->action_id);
		agent_stop_now(a);
		return;
	}
	if (a->action == NULL || a->env != NULL) {
		log_info("agent: signal %d: stopping", signum);
		arb_notify_stopping(a->notify, 0);
		agent_stop_now(a);
		return;
	}
	a->draining = 1;
	arb_action_ident(a->action, &id);
	left = id.deadline - (int64_t)time(NULL);
	if (left < 0)
		left = 0;
	agent_when_str(id.deadline, when, sizeof(when));
	log_info("agent: signal %d: stopping once the action of policy %s "
	    "ends (its timeout is at %s); signal again to stop at once",
	    signum, a->action_id, when);
	arb_notify_stopping(a->notify,
	    (uint64_t)(left + AGENT_DRAIN_SLACK_S) * 1000000u);
}

/* The action a stop waited for has ended and its result is taken. */
void
agent_drained(struct agent *a)
{
	if (!a->draining || a->stopping || a->action != NULL)
		return;
	log_info("agent: the action has ended: stopping");
	agent_stop_now(a);
}

/* Print the value of conf->eval against this endpoint's facts. */
int
agent_eval(const struct agent_conf *conf)
{
	struct arb_facts	*facts;
	struct arb_expr		*e;
	struct arb_value	 v;
	char			 err[512], out[4096];
	int			 rv;

	if ((rv = arb_expr_parse(conf->eval, &e, err, sizeof(err))) != 0) {
		fprintf(stderr, "parse error: %s\n", err);
		return 2;
	}
	if ((rv = agent_facts_new(conf, &facts)) != 0) {
		fprintf(stderr, "facts: %s\n", arb_strerror(rv));
		arb_expr_free(e);
		return 1;
	}
	memset(&v, 0, sizeof(v));
	rv = arb_expr_eval(e, facts, &v, err, sizeof(err));
	if (rv != 0)
		fprintf(stderr, "evaluation error: %s\n", err);
	else {
		arb_value_format(&v, out, sizeof(out));
		printf("%s\n", out);
	}
	arb_value_clear(&v);
	arb_expr_free(e);
	arb_facts_free(facts);
	return rv == 0 ? 0 : 1;
}

/*
 * The way up: the parent link, catalog sync on it, and the fetch pipeline
 * into the blob directory, or, for a simulated endpoint, into a sink that
 * verifies and keeps nothing.
 */
static int
agent_upstream_new(struct agent *a, const struct agent_conf *conf,
    const struct agent_env *env)
{
	struct arb_link_conf	 lc;
	struct arb_sync_conf	 sc;
	struct arb_fetch_conf	 fc;
	struct arb_fetch_sink	 sink;
	char			 path[PATH_MAX];
	int			 rv;

	memset(&lc, 0, sizeof(lc));
	lc.loop = a->loop;
	lc.net = a->net;
	lc.up = &conf->up;
	lc.kind = "agent";
	lc.quiet = env != NULL;
	lc.on_parent = agent_relay_changed;
	lc.arg = a;
	if ((rv = arb_link_new(&lc, &a->link)) != 0)
		return rv;
	memset(&sc, 0, sizeof(sc));
	sc.loop = a->loop;
	sc.link = a->link;
	sc.store = a->store;
	sc.keys = a->keys;
	sc.up = &conf->up;
	sc.node_id = a->node_id;
	sc.endpoint_id = a->id;
	sc.kind = "agent";
	sc.quiet = env != NULL;
	sc.on_head = agent_on_head;
	sc.on_poll = agent_on_poll;
	sc.arg = a;
	if ((rv = arb_sync_new(&sc, &a->sync)) != 0)
		return rv;
	memset(&fc, 0, sizeof(fc));
	fc.loop = a->loop;
	fc.link = a->link;
	fc.up = &conf->up;
	fc.kind = "agent";
	fc.quiet = env != NULL;
	if (env != NULL && conf->swarm_run) {
		snprintf(path, sizeof(path), "%s/blobs", a->data_dir);
		if ((rv = arb_blobdir_open(path, &a->blobs)) != 0)
			return rv;
	} else if (env != NULL) {
		/* Verified byte for byte, kept nowhere. */
		if ((rv = agent_sink_init(a, &sink)) != 0)
			return rv;
		fc.sink = &sink;
	}
	fc.blobs = a->blobs;
	return arb_fetch_new(&fc, &a->fetch);
}

/*
 * What the endpoint is: a simulated one takes its variant's shared facts
 * (the same at every start); the daemon reads its own facts, opens its
 * blob directory and finds how its actions will be contained.
 */
static int
agent_local_new(struct agent *a, const struct agent_conf *conf,
    const struct agent_env *env)
{
	char	 path[PATH_MAX];
	void	*v;
	size_t	 n;
	int	 rv;

	if (env) {
		/* A fixed spread, the same at every start: index decides. */
		a->variant = ((unsigned)a->index * 7919u) % 100u <
		    (unsigned)env->need_pct ? 0 : 1;
		if (arb_store_get(a->store, ARB_DB_META, "variant", 7, &v,
		    &n) == 0) {
			if (n == sizeof(a->variant))
				memcpy(&a->variant, v, n);
			free(v);
		}
		if (a->variant < 0 || a->variant > 1)
			a->variant = 0;
		a->facts = env->facts[a->variant];
	} else {
		if ((rv = agent_facts_new(conf, &a->facts)) != 0) {
			log_warnx("agent: facts: %s", arb_strerror(rv));
			return rv;
		}
		snprintf(path, sizeof(path), "%s/blobs", a->data_dir);
		if ((rv = arb_blobdir_open(path, &a->blobs)) != 0)
			return rv;
		if (conf->action_cgroup &&
		    (rv = arb_action_cgroup_probe(path, sizeof(path))) == 0 &&
		    (a->cgroup = strdup(path)) == NULL)
			return -ENOMEM;
		if (a->cgroup != NULL)
			log_info("agent: actions are contained by cgroup %s",
			    a->cgroup);
		else
			log_info("agent: actions are contained by descendants "
			    "(parent chain): %s", conf->action_cgroup ?
			    arb_strerror(rv) : "action_cgroup is false");
	}
	return 0;
}

/*
 * Make an endpoint.  With env (a swarm), it shares env's loop, messaging
 * and facts, keeps a light store, verifies blobs without keeping them, and
 * logs quietly; without, it is the daemon and owns all of these.
 */
struct agent *
agent_new_in(const struct agent_conf *conf, const struct agent_env *env,
    int index, const char *data_dir, const char *node_id)
{
	struct agent		*a;
	char			 path[PATH_MAX];
	void			*v;
	size_t			 n;
	int			 rv;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->conf = conf;
	a->env = env;
	a->index = index;
	if ((a->data_dir = strdup(data_dir)) == NULL ||
	    (a->node_id = strdup(node_id)) == NULL)
		goto fail;
	if (env) {
		a->loop = env->loop;
		a->net = env->net;
	} else {
		srandom((unsigned)time(NULL) ^ (unsigned)getpid());
		uv_loop_init(&a->own_loop);
		a->loop = &a->own_loop;
	}
	if (arb_io_mkdirs(a->data_dir, 0700) != 0) {
		log_warn("agent: %s", a->data_dir);
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/staging", a->data_dir);
	if ((a->staging = strdup(path)) == NULL)
		goto fail;
	if (mkdir(a->staging, 0700) != 0 && errno != EEXIST) {
		log_warn("agent: %s", a->staging);
		goto fail;
	}
	if ((rv = agent_identity(a)) != 0) {
		log_warnx("agent: identity: %s", arb_strerror(rv));
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/db", a->data_dir);
	if ((rv = arb_store_open_flags(path, env ? 4ULL << 20 : conf->map_size,
	    env ? ARB_STORE_LIGHT : 0, &a->store)) != 0)
		goto fail;
	if ((rv = arb_keychain_open("agent", conf->pubkey, conf->trust_root,
	    a->store, &a->keys)) != 0)
		goto fail;
	arb_queue_init(&a->outbox, a->store, ARB_DB_OUTBOX);
	if ((rv = agent_local_new(a, conf, env)) != 0)
		goto fail;
	agent_groups_load(a);
	if ((rv = arb_strmap_new(&a->awaiting)) != 0)
		goto fail;
	if (arb_store_get(a->store, ARB_DB_META, "enrolled", 8, &v, &n) == 0) {
		a->enrolled = n == strlen(a->id) && memcmp(v, a->id, n) == 0;
		free(v);
	}
	if (a->net == NULL && (rv = arb_net_new(a->loop, &a->net)) != 0)
		goto fail;
	uv_timer_init(a->loop, &a->retry);
	a->retry.data = a;
	uv_timer_init(a->loop, &a->sched);
	a->sched.data = a;
	uv_timer_init(a->loop, &a->flush);
	a->flush.data = a;
	uv_timer_init(a->loop, &a->prev);
	a->prev.data = a;
	uv_timer_init(a->loop, &a->gc);
	a->gc.data = a;
	uv_timer_init(a->loop, &a->inv);
	a->inv.data = a;
	uv_timer_init(a->loop, &a->metrics);
	a->metrics.data = a;
	if (env == NULL)	/* simulated endpoints do not reboot */
		agent_reboot_init(a);

	if ((rv = agent_upstream_new(a, conf, env)) != 0)
		goto fail;
	if ((rv = agent_cert_start(a)) != 0)
		goto fail;
	(void)agent_report_inventory(a);
	agent_running_start(a);	/* a run that outlived the last agent */
	agent_apply(a);		/* an action cut by a restart, first */
	if (env == NULL) {
		agent_metrics_start(a);
		(void)agent_control_start(a);	/* logged; the rest works */
		log_info("agent: %s (%s) started", a->node_id, a->id);
	}
	return a;
fail:
	agent_stop_in(a);
	if (env != NULL)	/* let its handles close before it goes */
		uv_run(a->loop, UV_RUN_NOWAIT);
	agent_free(a);
	return NULL;
}

struct agent *
agent_new(const struct agent_conf *conf)
{
	struct agent	*a;

	if ((a = agent_new_in(conf, NULL, 0, conf->data_dir,
	    conf->node_id)) == NULL)
		return NULL;
	uv_signal_init(a->loop, &a->sigterm);
	uv_signal_init(a->loop, &a->sigint);
	a->sigterm.data = a->sigint.data = a;
	uv_signal_start(&a->sigterm, agent_stop, SIGTERM);
	uv_signal_start(&a->sigint, agent_stop, SIGINT);
	return a;
}

/*
 * Serve until stopped.  Everything listens by now: tell the service
 * manager (READY=1, then the watchdog from this loop); the handle is
 * closed by the loop run of agent_free.
 */
void
agent_run(struct agent *a)
{
	struct arb_notify	*n;

	(void)arb_notify_start(a->loop, &n);
	a->notify = n;
	uv_run(a->loop, UV_RUN_DEFAULT);
	a->notify = NULL;
	arb_notify_free(n);
}

/*
 * Free an endpoint.  A daemon's own loop is run to the end here; a swarm's
 * endpoints are stopped (agent_stop_in) and their loop run by the swarm
 * before this.
 */
void
agent_free(struct agent *a)
{
	a->stopping = 1;
	if (a->env == NULL) {
		agent_stop_in(a);
		if (a->net)
			arb_net_free(a->net);
		if (a->loop != NULL) {
			uv_run(a->loop, UV_RUN_DEFAULT);
			(void)uv_loop_close(a->loop);
		}
		if (a->facts)
			arb_facts_free(a->facts);
	}
	if (a->blobs)
		arb_blobdir_close(a->blobs);
	agent_sink_free(a);
	if (a->store)
		arb_store_close(a->store);
	if (a->key)
		arb_key_free(a->key);
	arb_keychain_free(a->keys);
	arb_strmap_free(a->awaiting, free);
	free(a->staging);
	free(a->cgroup);
	free(a->data_dir);
	free(a->node_id);
	free(a);
}
