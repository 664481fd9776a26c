/*
 * arbor-agent --swarm N: N simulated endpoints in one process, for
 * measuring a tree at tens of thousands of endpoints on one machine.
 *
 * Each endpoint is a full agent (agent_new_in): the same state machine and
 * the same wire, its own key and enrolment, its own REQ and SUB sockets to
 * its relay, its own LMDB store and outbox.  What they share is the loop,
 * the messaging bridge, and two read-only facts trees: the one they start
 * in (facts_root: needing the patch) and the patched one
 * (swarm_fixed_root).  swarm_need percent of them start needing the patch.
 * A simulated action moves the endpoint to the patched tree and remembers
 * that in its store; with swarm_run_actions the script really runs.
 * Downloads are verified byte for byte but not kept: the fetch pipeline
 * hands them to a sink that hashes them and remembers which blobs passed.
 *
 * A process holds at most RLIMIT_NOFILE descriptors; each endpoint uses
 * three (two sockets and its store), so the swarm refuses, loudly, to start
 * more than fit.  Benchmarks spread a large swarm over several processes.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "arbor/error.h"
#include "arbor/io.h"
#include "arbor/fetch.h"
#include "arbor/log.h"
#include "agent.h"

#define SWARM_FDS_EACH	3
#define SWARM_TICK_MS	100
#define SWARM_QUICK_EXIT 200	/* more endpoints than this: just exit */

struct swarm {
	const struct agent_conf	*conf;
	uv_loop_t		 loop;
	uv_signal_t		 sigterm;
	uv_signal_t		 sigint;
	uv_timer_t		 tick;
	struct agent_env	 env;
	struct agent		**agents;
	int			 n;
	FILE			*events;
	int			 enrolled;
	int			 started;
	uint64_t		 made;		/* reports made by all */
	uint64_t		 made_logged;
};

static int64_t
wall_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* An endpoint reached a moment a benchmark wants: one line in the file. */
static void
swarm_event(void *arg, const char *what, const char *policy, int index)
{
	struct swarm *sw = arg;

	if (strcmp(what, "enrolled") == 0 && ++sw->enrolled == sw->n)
		log_info("swarm: all %d endpoints enrolled", sw->n);
	if (sw->events)
		fprintf(sw->events, "%lld %s %s %d\n", (long long)wall_ms(),
		    what, policy[0] ? policy : "-", index);
}

static void
swarm_tick(uv_timer_t *t)
{
	struct swarm *sw = t->data;

	if (sw->events && sw->made != sw->made_logged) {
		fprintf(sw->events, "%lld made - %llu\n", (long long)wall_ms(),
		    (unsigned long long)sw->made);
		sw->made_logged = sw->made;
	}
	if (sw->events)
		fflush(sw->events);
}

static void
swarm_stop(uv_signal_t *s, int signum)
{
	struct swarm	*sw = s->data;
	int		 i;

	log_info("swarm: signal %d: stopping %d endpoints", signum,
	    sw->started);
	arb_net_exiting(sw->env.net);
	/*
	 * Everything an endpoint has is committed to its store as it
	 * happens, so a large swarm may simply go: closing thousands of nng
	 * sockets one by one takes longer than the benchmark that ran them.
	 */
	if (sw->started > SWARM_QUICK_EXIT) {
		if (sw->events)
			fflush(sw->events);
		_exit(0);
	}
	uv_close((uv_handle_t *)&sw->sigterm, NULL);
	uv_close((uv_handle_t *)&sw->sigint, NULL);
	uv_timer_stop(&sw->tick);
	uv_close((uv_handle_t *)&sw->tick, NULL);
	for (i = 0; i < sw->started; i++)
		agent_stop_in(sw->agents[i]);
	arb_net_free(sw->env.net);
	sw->env.net = NULL;
}

static int
swarm_facts(const struct agent_conf *c, const char *root,
    struct arb_facts **fp)
{
	struct arb_facts_conf fc;

	memset(&fc, 0, sizeof(fc));
	fc.root = root;
	fc.groups = c->groups;
	fc.ngroups = c->ngroups;
	fc.prop_keys = c->prop_keys;
	fc.prop_vals = c->prop_vals;
	fc.nprops = c->nprops;
	return arb_facts_new(&fc, fp);
}

int
agent_swarm(const struct agent_conf *conf)
{
	struct swarm	 sw;
	char		 dir[PATH_MAX], name[256];
	int		 i, rv, status = 1;

	memset(&sw, 0, sizeof(sw));
	sw.conf = conf;
	sw.n = (int)conf->swarm;
	/* Refuse loudly rather than let dials fail silently later. */
	if (arb_net_check_fds((uint64_t)sw.n * SWARM_FDS_EACH + 64) != 0) {
		log_warnx("swarm: %d endpoints need %d descriptors each; "
		    "split the swarm over several processes", sw.n,
		    SWARM_FDS_EACH);
		return 1;
	}
	if (arb_io_mkdirs(conf->data_dir, 0700) != 0) {
		log_warn("swarm: %s", conf->data_dir);
		return 1;
	}
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	uv_loop_init(&sw.loop);
	sw.env.loop = &sw.loop;
	sw.env.roots[0] = conf->facts_root ? conf->facts_root : "/";
	sw.env.roots[1] = conf->swarm_fixed ? conf->swarm_fixed :
	    sw.env.roots[0];
	sw.env.simulate = !conf->swarm_run;
	sw.env.need_pct = (int)conf->swarm_need;
	sw.env.event = swarm_event;
	sw.env.event_arg = &sw;
	sw.env.reports_made = &sw.made;
	if ((rv = swarm_facts(conf, sw.env.roots[0], &sw.env.facts[0])) != 0 ||
	    (rv = swarm_facts(conf, sw.env.roots[1], &sw.env.facts[1])) != 0) {
		log_warnx("swarm: facts: %s", arb_strerror(rv));
		goto out;
	}
	if (conf->swarm_events && (sw.events = fopen(conf->swarm_events,
	    "a")) == NULL) {
		log_warn("swarm: %s", conf->swarm_events);
		goto out;
	}
	if ((rv = arb_net_new(&sw.loop, &sw.env.net)) != 0)
		goto out;
	if ((sw.agents = calloc((size_t)sw.n, sizeof(*sw.agents))) == NULL)
		goto out;
	for (i = 0; i < sw.n; i++) {
		snprintf(dir, sizeof(dir), "%s/ep-%05d", conf->data_dir, i);
		snprintf(name, sizeof(name), "%s-%d", conf->node_id, i);
		if ((sw.agents[i] = agent_new_in(conf, &sw.env, i, dir,
		    name)) == NULL) {
			log_warnx("swarm: endpoint %d did not start", i);
			break;
		}
		sw.started++;
	}
	log_info("swarm: %d endpoints started (%d%% needing the patch)",
	    sw.started, sw.env.need_pct);
	uv_timer_init(&sw.loop, &sw.tick);
	sw.tick.data = &sw;
	uv_timer_start(&sw.tick, swarm_tick, SWARM_TICK_MS, SWARM_TICK_MS);
	uv_signal_init(&sw.loop, &sw.sigterm);
	uv_signal_init(&sw.loop, &sw.sigint);
	sw.sigterm.data = sw.sigint.data = &sw;
	uv_signal_start(&sw.sigterm, swarm_stop, SIGTERM);
	uv_signal_start(&sw.sigint, swarm_stop, SIGINT);
	if (sw.started == sw.n) {
		status = 0;
		uv_run(&sw.loop, UV_RUN_DEFAULT);
	} else
		swarm_stop(&sw.sigterm, 0);
	uv_run(&sw.loop, UV_RUN_DEFAULT);
out:
	if (sw.env.net) {
		for (i = 0; i < sw.started; i++)
			agent_stop_in(sw.agents[i]);
		arb_net_free(sw.env.net);
		uv_run(&sw.loop, UV_RUN_DEFAULT);
	}
	for (i = 0; i < sw.started; i++)
		agent_free(sw.agents[i]);
	free(sw.agents);
	(void)uv_loop_close(&sw.loop);
	if (sw.events)
		fclose(sw.events);
	if (sw.env.facts[0])
		arb_facts_free(sw.env.facts[0]);
	if (sw.env.facts[1])
		arb_facts_free(sw.env.facts[1]);
	return status;
}

/* ---------------------------------------------------------------- sink */

struct sink_blob {		/* one blob going by */
	struct agent		*a;
	struct arb_sha256	*h;
	uint8_t			 sha[ARB_SHA256_LEN];
};

static int
sink_have(void *arg, const uint8_t sha[ARB_SHA256_LEN], uint64_t size)
{
	struct agent	*a = arg;
	char		 hex[ARB_SHA256_HEX];

	(void)size;
	arb_hex(sha, ARB_SHA256_LEN, hex);
	return arb_strmap_get(a->sunk, hex) != NULL;
}

static int
sink_open(void *arg, const uint8_t sha[ARB_SHA256_LEN], uint64_t size,
    void **hp)
{
	struct sink_blob	*sb;
	int			 rv;

	(void)size;		/* the pipeline holds the blob to it */
	if ((sb = calloc(1, sizeof(*sb))) == NULL)
		return -ENOMEM;
	if ((rv = arb_sha256_new(&sb->h)) != 0) {
		free(sb);
		return rv;
	}
	sb->a = arg;
	memcpy(sb->sha, sha, ARB_SHA256_LEN);
	*hp = sb;
	return 0;
}

static int
sink_write(void *h, const uint8_t *data, size_t len)
{
	struct sink_blob *sb = h;

	return arb_sha256_update(sb->h, data, len);
}

static void
sink_abort(void *h)
{
	struct sink_blob *sb = h;

	arb_sha256_free(sb->h);
	free(sb);
}

static int
sink_finish(void *h)
{
	struct sink_blob	*sb = h;
	uint8_t			 got[ARB_SHA256_LEN];
	char			 hex[ARB_SHA256_HEX];
	int			 rv;

	if ((rv = arb_sha256_final(sb->h, got)) == 0 &&
	    memcmp(got, sb->sha, ARB_SHA256_LEN) != 0)
		rv = ARB_EBADHASH;
	if (rv == 0) {
		arb_hex(sb->sha, ARB_SHA256_LEN, hex);
		rv = arb_strmap_put(sb->a->sunk, hex, (void *)1, NULL);
	}
	sink_abort(sb);
	return rv;
}

/* The sink a simulated endpoint's fetches go to. */
int
agent_sink_init(struct agent *a, struct arb_fetch_sink *sink)
{
	int rv;

	if (a->sunk == NULL && (rv = arb_strmap_new(&a->sunk)) != 0)
		return rv;
	memset(sink, 0, sizeof(*sink));
	sink->have = sink_have;
	sink->open = sink_open;
	sink->write = sink_write;
	sink->finish = sink_finish;
	sink->abort = sink_abort;
	sink->arg = a;
	return 0;
}

void
agent_sink_free(struct agent *a)
{
	arb_strmap_free(a->sunk, NULL);
	a->sunk = NULL;
}
