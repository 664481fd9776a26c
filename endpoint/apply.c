/*
 * What an endpoint does with each policy in the verified head.
 *
 * For each policy that targets this endpoint: evaluate its applicability
 * against the facts; where it applies, download and verify its blobs, run
 * its action (one at a time), then evaluate again: false means fixed,
 * still true means failed.  Each state change is recorded in the agent's
 * LMDB before anything depends on it and is reported.  The state RUNNING is
 * committed before the action starts, so an agent restarted in the middle
 * of an action knows it: it evaluates again instead of running the action
 * blindly, and runs it again at most AGENT_MAX_ATTEMPTS times in all.
 *
 * No action (nor rollback) starts from a head past its expiry: a parent
 * that freezes the endpoint's catalog (serves an old head for ever, so
 * that rollbacks and retirements never arrive) gets it to start nothing,
 * and every policy that waits to act reports why ("stale catalog").  The
 * endpoint's own clock decides: one far ahead sees every head as expired
 * and acts on none until it is put right; one far behind takes expired
 * heads for current, but never one older than the head it holds
 * (rollback), so it can be held back, not sent back.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arbor/catalog.h"
#include "arbor/error.h"
#include "arbor/log.h"
#include "arbor/policy.h"
#include "arbor/schedule.h"
#include "arbor/wire.h"
#include "agent.h"

#define DEFAULT_TIMEOUT_S	600

struct run {			/* an action in progress */
	struct agent	*a;
	char		 id[ARB_MAX_ID + 1];
	uint8_t		 sha[ARB_SHA256_LEN];
	uint32_t	 version;
	int		 rollback;
};

int
agent_facts_new(const struct agent_conf *c, struct arb_facts **fp)
{
	struct arb_facts_conf fc;

	memset(&fc, 0, sizeof(fc));
	fc.root = c->facts_root ? c->facts_root : "/";
	fc.groups = c->groups;
	fc.ngroups = c->ngroups;
	fc.prop_keys = c->prop_keys;
	fc.prop_vals = c->prop_vals;
	fc.nprops = c->nprops;
	return arb_facts_new(&fc, fp);
}

static int
pstate_load(struct agent *a, const char *id, struct agent_pstate *st)
{
	void	*v;
	size_t	 n;
	int	 rv;

	if ((rv = arb_store_get(a->store, ARB_DB_STATE, id, strlen(id), &v,
	    &n)) != 0)
		return rv;
	if (n != sizeof(*st) && n != AGENT_PSTATE_V1 &&
	    n != AGENT_PSTATE_V2 && n != AGENT_PSTATE_V3 &&
	    n != AGENT_PSTATE_V4) {
		free(v);
		return ARB_ECORRUPT;
	}
	memset(st, 0, sizeof(*st));
	memcpy(st, v, n);
	free(v);
	return 0;
}

static int
pstate_save(struct agent *a, const char *id, const struct agent_pstate *st)
{
	return arb_store_put(a->store, ARB_DB_STATE, id, strlen(id), st,
	    sizeof(*st));
}

int
agent_pstate_load(struct agent *a, const char *id, struct agent_pstate *st)
{
	return pstate_load(a, id, st);
}

int
agent_pstate_save(struct agent *a, const char *id,
    const struct agent_pstate *st)
{
	return pstate_save(a, id, st);
}

/* Move to a new state: commit it, then report it. */
static void
pstate_set(struct agent *a, const char *id, struct agent_pstate *st,
    unsigned state, int exit_code, const char *detail)
{
	st->state = state;
	st->exit_code = exit_code;
	if (pstate_save(a, id, st) != 0)
		return;
	if (state == ARB_ST_FAILED)
		a->m_action_failures++;
	if (a->env && a->env->event && (state >= ARB_ST_FIXED ||
	    state == ARB_ST_NOT_APPLICABLE))
		a->env->event(a->env->event_arg, arb_state_name(state), id,
		    a->index);
	(void)agent_report(a, id, st->version, st->retry_done, state,
	    exit_code, detail);
}

void
agent_pstate_set(struct agent *a, const char *id, struct agent_pstate *st,
    unsigned state, int exit_code, const char *detail)
{
	pstate_set(a, id, st, state, exit_code, detail);
}

/* The agent's value of property key (klen bytes), or NULL. */
static const char *
agent_prop_of(void *arg, const char *key, size_t klen)
{
	const struct agent_conf	*c = arg;
	size_t			 j;

	for (j = 0; j < c->nprops; j++)
		if (strlen(c->prop_keys[j]) == klen &&
		    strncmp(c->prop_keys[j], key, klen) == 0)
			return c->prop_vals[j];
	return NULL;
}

static int
targeted(const struct agent *a, const Arbor__Policy *p)
{
	const struct arb_target	tg = {
		p->target_endpoints, p->n_target_endpoints,
		p->target_groups, p->n_target_groups,
		p->target_props, p->n_target_props,
	};

	return arb_target_match(&tg, a->id, a->conf->node_id,
	    a->conf->groups, a->conf->ngroups, agent_prop_of,
	    (void *)a->conf);
}

/*
 * Does the policy apply here?  0 with *applies, or an error with the
 * reason in err.  An empty expression applies everywhere.
 */
static int
evaluate(struct agent *a, const Arbor__Policy *p, int *applies, char *err,
    size_t errlen)
{
	struct arb_expr	*e;
	int		 rv;

	if (p->applicability == NULL || p->applicability[0] == '\0') {
		*applies = 1;
		return 0;
	}
	if ((rv = arb_expr_parse(p->applicability, &e, err, errlen)) != 0)
		return rv;
	arb_facts_begin(a->facts);
	rv = arb_expr_eval_bool(e, a->facts, applies, err, errlen);
	arb_expr_free(e);
	return rv;
}

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
retry_cb(uv_timer_t *t)
{
	agent_apply(t->data);
}

/*
 * Downloads that fail are asked for again after 2 s, doubling to 5 min,
 * plus up to a quarter more at random: a blob that cannot arrive (a relay
 * whose disk is full) costs a bounded rate of requests, and thousands of
 * endpoints do not retry in step.  A success forgets the failures.
 */
#define DL_RETRY_MS	2000
#define DL_RETRY_MAX_MS	300000

static struct agent_dlfail *
dlfail_find(struct agent *a, const uint8_t *sha)
{
	int i;

	for (i = 0; i < a->ndlfail; i++)
		if (memcmp(a->dlfail[i].sha, sha, ARB_SHA256_LEN) == 0)
			return &a->dlfail[i];
	return NULL;
}

static void
dlfail_forget(struct agent *a, const uint8_t *sha)
{
	struct agent_dlfail *d;

	if ((d = dlfail_find(a, sha)) == NULL)
		return;
	*d = a->dlfail[--a->ndlfail];
}

/* Arm the retry timer for the earliest blob due, if sooner than armed. */
static void
dlfail_arm(struct agent *a)
{
	uint64_t	now = uv_now(a->loop), due = UINT64_MAX, in;
	int		i;

	for (i = 0; i < a->ndlfail; i++)
		if (a->dlfail[i].next_ms < due)
			due = a->dlfail[i].next_ms;
	if (due == UINT64_MAX)
		return;
	in = due > now ? due - now : 0;
	if (!uv_is_active((uv_handle_t *)&a->retry) ||
	    in < uv_timer_get_due_in(&a->retry))
		uv_timer_start(&a->retry, retry_cb, in, 0);
}

static void
dlfail_note(struct agent *a, const uint8_t *sha, int rv)
{
	struct agent_dlfail	*d;
	uint64_t		 wait;

	if ((d = dlfail_find(a, sha)) == NULL) {
		if (a->ndlfail == AGENT_MAX_FLIGHT)
			return;		/* retried at the next poll */
		d = &a->dlfail[a->ndlfail++];
		memset(d, 0, sizeof(*d));
		memcpy(d->sha, sha, ARB_SHA256_LEN);
	}
	d->rv = rv;
	wait = d->fails < 8 ? (uint64_t)DL_RETRY_MS << d->fails :
	    DL_RETRY_MAX_MS;
	if (wait > DL_RETRY_MAX_MS)
		wait = DL_RETRY_MAX_MS;
	wait += (uint64_t)random() % (wait / 4 + 1);
	d->fails++;
	d->next_ms = uv_now(a->loop) + wait;
}

static void
fetch_cb(int rv, const uint8_t *sha, const uint8_t *chunks, size_t nchunks,
    void *arg)
{
	struct agent	*a = arg;
	int		 i;

	(void)chunks;		/* a relay's concern: agents do not serve */
	(void)nchunks;
	if ((i = agent_in_flight(a, sha)) >= 0) {
		if (rv == 0)
			a->m_download_bytes += a->flight_size[i];
		memmove(a->flight[i], a->flight[i + 1],
		    (size_t)(a->nflight - i - 1) * ARB_SHA256_LEN);
		memmove(&a->flight_size[i], &a->flight_size[i + 1],
		    (size_t)(a->nflight - i - 1) * sizeof(a->flight_size[0]));
		a->nflight--;
	}
	if (a->stopping)
		return;
	if (rv == 0) {
		dlfail_forget(a, sha);
		agent_apply(a);
		return;
	}
	dlfail_note(a, sha, rv);
	agent_apply(a);		/* says download-failed where it is so */
	dlfail_arm(a);
}

/*
 * Count the blobs not here yet, starting their downloads (those that
 * failed, once their wait is over).  *failp: a blob that failed
 * AGENT_DL_REPORT times in a row, or NULL.
 */
static size_t
blobs_missing(struct agent *a, const Arbor__Policy *p,
    const Arbor__BlobRef **failp, const struct agent_dlfail **dfp)
{
	const struct agent_dlfail	*d;
	size_t				 i, missing = 0;
	uint64_t			 now = uv_now(a->loop);
	int				 rv;

	*failp = NULL;
	*dfp = NULL;
	for (i = 0; i < p->n_blobs; i++) {
		const Arbor__BlobRef *b = p->blobs[i];

		if (arb_fetch_have(a->fetch, b->sha256.data, b->size))
			continue;
		missing++;
		if ((d = dlfail_find(a, b->sha256.data)) != NULL &&
		    d->fails >= AGENT_DL_REPORT && *failp == NULL) {
			*failp = b;
			*dfp = d;
		}
		if (agent_in_flight(a, b->sha256.data) >= 0 ||
		    a->nflight == AGENT_MAX_FLIGHT ||
		    (d != NULL && now < d->next_ms))
			continue;
		if ((rv = arb_fetch_blob(a->fetch, b->sha256.data, b->size,
		    fetch_cb, a)) != 0) {
			log_warnx("agent: policy %s: blob %s: %s", p->id,
			    b->name, arb_strerror(rv));
			continue;
		}
		a->flight_size[a->nflight] = b->size;
		memcpy(a->flight[a->nflight++], b->sha256.data,
		    ARB_SHA256_LEN);
	}
	return missing;
}

/* ------------------------------------------------------------- actions */

static void	sched_note(struct agent *, int64_t);

void
agent_when_str(int64_t t, char *buf, size_t len)
{
	time_t		tt = (time_t)t;
	struct tm	tm;

	if (t > 0 && localtime_r(&tt, &tm) != NULL)
		strftime(buf, len, "%Y-%m-%dT%H:%M:%S%z", &tm);
	else
		snprintf(buf, len, "unknown");
}

/*
 * The action failed: FAILED, and when the policy retries and retries are
 * left, the time of the next (the failure is reported as it is: a wave
 * counts it, and a retry that succeeds reports fixed).
 */
static void
action_failed(struct agent *a, const char *id, struct agent_pstate *st,
    int exit_code, const char *detail)
{
	Arbor__Policy	*p;
	char		 when[40], more[ARB_ACTION_OUTPUT_MAX + 256];
	size_t		 n = strlen(detail);

	while (n > 0 && (detail[n - 1] == '\n' || detail[n - 1] == ' '))
		n--;		/* the output's last newline, before "; " */
	if (arb_catalog_policy(a->store, st->sha, &p) != 0 ||
	    st->retries >= p->retry_count) {
		if (p != NULL && p->retry_count > 0)
			snprintf(more, sizeof(more), "%.*s; no retry left (%u "
			    "made)", (int)n, detail, st->retries);
		else
			snprintf(more, sizeof(more), "%s", detail);
		st->retry_at = 0;
		pstate_set(a, id, st, ARB_ST_FAILED, exit_code, more);
		arb_wire_free_policy(p);
		return;
	}
	/* Whole seconds: one more, so that at least the interval passes. */
	st->retry_at = arb_clock_now() + (int64_t)p->retry_interval_s + 1;
	agent_when_str(st->retry_at, when, sizeof(when));
	snprintf(more, sizeof(more), "%.*s; retry %u of %u at %s", (int)n,
	    detail, st->retries + 1, p->retry_count, when);
	log_info("agent: policy %s v%u: failed; retry %u of %u at %s", id,
	    st->version, st->retries + 1, p->retry_count, when);
	pstate_set(a, id, st, ARB_ST_FAILED, exit_code, more);
	arb_wire_free_policy(p);
}

/*
 * A failed policy whose retry is due starts over (1), or waits for it
 * (0, the scheduler told when).  One without a retry stays failed.
 */
static int
apply_retry_due(struct agent *a, const Arbor__Policy *p,
    struct agent_pstate *st)
{
	char detail[96];

	if (st->retry_at == 0)
		return 0;
	if (arb_clock_now() < st->retry_at) {
		sched_note(a, st->retry_at);
		return 0;
	}
	st->retry_at = 0;
	st->retries++;
	st->attempts = 0;
	snprintf(detail, sizeof(detail), "retry %u of %u", st->retries,
	    p->retry_count);
	log_info("agent: policy %s v%u: %s", p->id, p->version, detail);
	pstate_set(a, p->id, st, ARB_ST_APPLICABLE, 0, detail);
	return 1;
}

/*
 * A fixed policy that says reapply and applies again (someone downgraded
 * the package): applicable again, reported so, and applied (1).
 */
static int
apply_again(struct agent *a, const Arbor__Policy *p,
    struct agent_pstate *st)
{
	char	err[256], detail[96];
	int	applies;

	if (!p->reapply || evaluate(a, p, &applies, err, sizeof(err)) != 0 ||
	    !applies)
		return 0;
	st->reapplies++;
	st->retries = 0;
	st->attempts = 0;
	snprintf(detail, sizeof(detail), "applies again after it was fixed: "
	    "reapply %u", st->reapplies);
	log_info("agent: policy %s v%u: %s", p->id, p->version, detail);
	pstate_set(a, p->id, st, ARB_ST_APPLICABLE, 0, detail);
	return 1;
}

static void
action_done(const struct arb_action_result *res, void *arg)
{
	struct run		*run = arg;
	struct agent		*a = run->a;
	struct agent_pstate	 st;
	Arbor__Policy		*p = NULL;
	char			 err[256], detail[ARB_ACTION_OUTPUT_MAX + 128];
	int			 applies = 1, rv;

	a->action = NULL;
	a->action_id[0] = '\0';
	/* The result is taken below or not at all: the run is over. */
	if (a->env == NULL || !a->env->simulate) {
		agent_running_clear(a);
		(void)arb_action_cleanup(a->staging, run->id, run->version);
	}
	if (a->stopping || pstate_load(a, run->id, &st) != 0 ||
	    memcmp(st.sha, run->sha, ARB_SHA256_LEN) != 0) {
		free(run);
		agent_drained(a);
		return;		/* a newer version took its place */
	}
	if (run->rollback) {
		st.rollback_done = st.rollback_done;	/* set at start */
		if (res->success)
			pstate_set(a, run->id, &st, ARB_ST_ROLLED_BACK, 0,
			    res->output);
		else {
			snprintf(detail, sizeof(detail), "rollback failed "
			    "(%s %d): %s", res->timed_out ? "timed out" :
			    "exit", res->exit_status, res->output);
			pstate_set(a, run->id, &st, ARB_ST_FAILED,
			    res->exited ? res->exit_status : -1, detail);
		}
		goto next;
	}
	if (!res->success) {
		if (res->timed_out)
			snprintf(detail, sizeof(detail), "timed out after "
			    "%lld ms: %s", (long long)res->elapsed_ms,
			    res->output);
		else if (res->signaled)
			snprintf(detail, sizeof(detail), "killed by signal "
			    "%d: %s", res->term_signal, res->output);
		else
			snprintf(detail, sizeof(detail), "exit %d: %s",
			    res->exit_status, res->output);
		action_failed(a, run->id, &st, res->exited ?
		    res->exit_status : -1, detail);
		goto next;
	}
	if ((rv = arb_catalog_policy(a->store, st.sha, &p)) != 0)
		snprintf(err, sizeof(err), "policy v%u: %s", run->version,
		    arb_strerror(rv));
	/* What the action changed: facts, and the inventory made of them. */
	if (a->env == NULL)
		arb_facts_reload(a->facts);
	a->inventory_next = 1;	/* the result carries the new inventory */
	/* Fixed or not is decided after the reboot (agent_reboot_*). */
	if (rv == 0 && a->env == NULL && (res->reboot ||
	    p->reboot_mode != ARB_REBOOT_NONE)) {
		agent_reboot_note(a, p, &st, res->output);
		goto next;
	}
	/* Success is what the facts say afterwards, not the exit status. */
	if (rv == 0)
		rv = evaluate(a, p, &applies, err, sizeof(err));
	if (rv != 0)
		action_failed(a, run->id, &st, 0, err);
	else if (applies)
		action_failed(a, run->id, &st, 0,
		    "still applicable after the action");
	else
		pstate_set(a, run->id, &st, ARB_ST_FIXED, 0, "");
next:
	if (p)
		arb_wire_free_policy(p);
	free(run);
	agent_apply(a);
	agent_drained(a);
}

/*
 * A simulated endpoint's action: what a real install would leave behind is
 * written into the endpoint's facts (it moves to the patched tree, and
 * remembers that), then the result is taken as a real one would be, from
 * the loop.
 */
struct sim {
	uv_timer_t	 t;
	struct run	*run;
};

static void
sim_close_cb(uv_handle_t *h)
{
	free(h->data);
}

static void
sim_cb(uv_timer_t *t)
{
	struct sim			*sm = t->data;
	struct arb_action_result	 res;

	memset(&res, 0, sizeof(res));
	res.exited = res.success = 1;
	if (!sm->run->rollback) {
		sm->run->a->variant = 1;
		sm->run->a->facts = sm->run->a->env->facts[1];
	} else {
		sm->run->a->variant = 0;
		sm->run->a->facts = sm->run->a->env->facts[0];
	}
	(void)arb_store_put(sm->run->a->store, ARB_DB_META, "variant", 7,
	    &sm->run->a->variant, sizeof(sm->run->a->variant));
	t->data = sm;
	uv_close((uv_handle_t *)t, sim_close_cb);
	action_done(&res, sm->run);
}

static void
simulate(struct agent *a, struct run *run)
{
	struct sim *sm;

	if ((sm = calloc(1, sizeof(*sm))) == NULL) {
		free(run);
		return;
	}
	sm->run = run;
	uv_timer_init(a->loop, &sm->t);
	sm->t.data = sm;
	uv_timer_start(&sm->t, sim_cb, 0, 0);
	a->action = (struct arb_action *)sm;	/* busy: one at a time */
}

static int
run_action(struct agent *a, const Arbor__Policy *p, struct agent_pstate *st,
    int rollback)
{
	struct arb_action_spec	 spec;
	struct arb_action_blob	*blobs;
	struct run		*run;
	char			(*paths)[PATH_MAX], env_id[64], env_node[200];
	const char		*extra[3];
	size_t			 i;
	int			 rv;

	blobs = calloc(p->n_blobs + 1, sizeof(*blobs));
	paths = calloc(p->n_blobs + 1, sizeof(*paths));
	run = calloc(1, sizeof(*run));
	if (blobs == NULL || paths == NULL || run == NULL) {
		rv = -ENOMEM;
		goto out;
	}
	/* Simulated endpoints keep no blobs: nothing to stage. */
	for (i = 0; a->blobs != NULL && i < p->n_blobs; i++) {
		arb_blob_path(a->blobs, p->blobs[i]->sha256.data, paths[i],
		    sizeof(paths[i]));
		blobs[i].name = p->blobs[i]->name;
		blobs[i].path = paths[i];
	}
	snprintf(env_id, sizeof(env_id), "ARBOR_ENDPOINT_ID=%s", a->id);
	snprintf(env_node, sizeof(env_node), "ARBOR_NODE_ID=%s",
	    a->node_id);
	extra[0] = env_id;
	extra[1] = env_node;
	extra[2] = NULL;
	memset(&spec, 0, sizeof(spec));
	spec.policy_id = p->id;
	spec.version = p->version;
	spec.script = rollback ? p->rollback : p->action;
	spec.blobs = blobs;
	spec.nblobs = p->n_blobs;
	spec.staging_root = a->staging;
	spec.facts_root = a->env ? a->env->roots[a->variant] :
	    a->conf->facts_root;
	spec.extra_env = extra;
	spec.timeout_ms = (int64_t)(p->timeout_s ? p->timeout_s :
	    DEFAULT_TIMEOUT_S) * 1000;
	spec.kind = rollback ? "rollback" : "action";
	spec.gated = 1;
	spec.cgroup = a->cgroup;
	run->a = a;
	snprintf(run->id, sizeof(run->id), "%s", p->id);
	memcpy(run->sha, st->sha, ARB_SHA256_LEN);
	run->version = p->version;
	run->rollback = rollback;

	/* Committed before the process exists: a restart will know. */
	if (!rollback) {
		st->attempts++;
		pstate_set(a, p->id, st, ARB_ST_RUNNING, 0, "");
	} else if ((rv = pstate_save(a, p->id, st)) != 0)
		goto out;
	if (a->env && a->env->simulate) {
		simulate(a, run);
		snprintf(a->action_id, sizeof(a->action_id), "%s", p->id);
		run = NULL;
		goto out;
	}
	if ((rv = arb_action_start(a->loop, &spec, action_done, run,
	    &a->action)) != 0) {
		pstate_set(a, p->id, st, ARB_ST_FAILED, -1,
		    "cannot start the action");
		goto out;
	}
	/* Recorded before its script may start: a restart will know. */
	agent_running_save(a, p->id, p->version);
	arb_action_go(a->action);
	snprintf(a->action_id, sizeof(a->action_id), "%s", p->id);
	run = NULL;
out:
	free(run);
	free(blobs);
	free(paths);
	return rv;
}

/* --------------------------------------------------------------- policy */

static void
sched_cb(uv_timer_t *t)
{
	struct agent *a = t->data;

	a->sched_next = 0;
	agent_apply(a);
}

/* Try again at next (epoch s, the schedule's clock), if sooner. */
static void
sched_note(struct agent *a, int64_t next)
{
	if (next > 0 && (a->sched_next == 0 || next < a->sched_next))
		a->sched_next = next;
}

static void
sched_arm(struct agent *a)
{
	int64_t in;

	if (a->sched_next == 0 || a->sched.loop == NULL)
		return;
	in = a->sched_next - arb_clock_now();
	if (in < 1)
		in = 1;		/* a fixed test clock must not spin */
	if (in > 3600)
		in = 3600;	/* clocks move: look again within the hour */
	uv_timer_start(&a->sched, sched_cb, (uint64_t)in * 1000, 0);
}

/*
 * The policy waits for its schedule or its rollout: say so when the reason
 * or the next try changes, and come back then.  Always 1.
 */
static int
sched_wait(struct agent *a, const Arbor__Policy *p, struct agent_pstate *st,
    enum arb_wait why, int64_t next, const char *more)
{
	char	when[40], detail[300];

	sched_note(a, next);
	if (st->state == ARB_ST_WAITING && st->wait == (uint32_t)why &&
	    st->wait_next == next)
		return 1;
	st->wait = (uint32_t)why;
	st->wait_next = next;
	agent_when_str(next, when, sizeof(when));
	snprintf(detail, sizeof(detail), "%s%s%s; next try %s",
	    arb_wait_name(why), more ? ": " : "", more ? more : "",
	    next > 0 ? when : "when the root decides");
	pstate_set(a, p->id, st, ARB_ST_WAITING, 0, detail);
	return 1;
}

/*
 * A staged rollout: may this endpoint start?  1 if it must wait (its
 * bucket is not let in yet, or the rollout is halted or paused).
 */
static int
rollout_wait(struct agent *a, const Arbor__PolicyRef *ref,
    const Arbor__Policy *p, struct agent_pstate *st)
{
	const Arbor__RolloutState	*rs = ref->rollout;
	char				 more[200];

	if (p->n_waves == 0)
		return 0;
	if (rs != NULL && (rs->halted || rs->paused))
		return sched_wait(a, p, st, ARB_WAIT_HALTED, 0, rs->halted ?
		    "the rollout halted" : "the rollout is paused");
	if (rs == NULL || arb_rollout_bucket(a->id, p->id) >= rs->buckets) {
		snprintf(more, sizeof(more), "wave %u of %zu has not reached "
		    "this endpoint", rs ? rs->wave : 0, p->n_waves);
		return sched_wait(a, p, st, ARB_WAIT_WAVE, 0, more);
	}
	return 0;
}

/*
 * The schedule, in local time: not before, spread, deferral, windows
 * (none of which hold a policy past its deadline but not before), then
 * the run_when constraint.  A push overrides windows and spread.  1 if
 * the policy must wait.
 */
static int
schedule_wait(struct agent *a, const Arbor__PolicyRef *ref,
    const Arbor__Policy *p, struct agent_pstate *st)
{
	struct arb_sched_verdict	 v;
	struct arb_expr			*e;
	char				 err[256];
	int64_t				 now = arb_clock_now();
	int				 ok, rv;

	if (p->schedule == NULL && st->deferred_until == 0)
		return 0;
	arb_sched_eval(p, a->id, now, st->deferred_until, &v);
	if (v.wait != ARB_WAIT_NONE && !(ref->urgent &&
	    (v.wait == ARB_WAIT_WINDOW || v.wait == ARB_WAIT_SPREAD)))
		return sched_wait(a, p, st, v.wait, v.next, NULL);
	if (p->schedule == NULL || p->schedule->run_when == NULL ||
	    p->schedule->run_when[0] == '\0' || v.past_deadline)
		return 0;
	if ((rv = arb_expr_parse(p->schedule->run_when, &e, err,
	    sizeof(err))) == 0) {
		arb_facts_begin(a->facts);
		rv = arb_expr_eval_bool(e, a->facts, &ok, err, sizeof(err));
		arb_expr_free(e);
	}
	if (rv != 0)
		return sched_wait(a, p, st, ARB_WAIT_CONSTRAINT, now + 60, err);
	if (!ok)
		return sched_wait(a, p, st, ARB_WAIT_CONSTRAINT, now + 60,
		    p->schedule->run_when);
	return 0;
}

/*
 * The operator locked this endpoint (the head names it or one of its
 * groups): it runs no action at all, and says so once per lock; it looks
 * again when the lock runs out.  1 if locked.
 */
static int
lock_wait(struct agent *a, const Arbor__Head *head, const Arbor__Policy *p,
    struct agent_pstate *st, int say)
{
	const Arbor__Lock	*l;
	char			 when[40], detail[300];
	time_t			 t;
	struct tm		 tm;

	if ((l = arb_head_locked(head, a->id, a->conf->groups,
	    a->conf->ngroups, arb_clock_now() * 1000)) == NULL)
		return 0;
	if (l->until_ms != 0)
		sched_note(a, (l->until_ms + 999) / 1000);
	if (!say || st->state == ARB_ST_LOCKED)
		return 1;
	t = (time_t)(l->until_ms / 1000);
	if (l->until_ms != 0 && localtime_r(&t, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S%z", &tm);
	else
		snprintf(when, sizeof(when), "unlocked");
	snprintf(detail, sizeof(detail), "locked%s%s: %s; until %s",
	    l->group[0] ? " with group " : "", l->group, l->reason[0] ?
	    l->reason : "by the operator", when);
	pstate_set(a, p->id, st, ARB_ST_LOCKED, 0, detail);
	return 1;
}

/*
 * The head is past its expiry: act on nothing.  The policy waits (and says
 * so once); 1 if it must wait.
 */
static int
stale_wait(struct agent *a, const Arbor__Policy *p, struct agent_pstate *st,
    const Arbor__Head *head)
{
	char	when[32], detail[128];
	time_t	t;

	if (head->expires_at > (int64_t)time(NULL))
		return 0;
	if (st->state != ARB_ST_WAITING) {
		t = (time_t)head->expires_at;
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
		snprintf(detail, sizeof(detail), "stale catalog: head seq "
		    "%llu expired %s", (unsigned long long)head->seq, when);
		pstate_set(a, p->id, st, ARB_ST_WAITING, 0, detail);
	}
	return 1;
}

/*
 * A rollback the head asks for: run it where the policy took effect.  1
 * if the policy has nothing more to do now.
 */
static int
apply_rollback(struct agent *a, const Arbor__Head *head,
    const Arbor__PolicyRef *ref, const Arbor__Policy *p,
    struct agent_pstate *st)
{
	if (ref->rollback_seq <= st->rollback_done)
		return 0;
	if ((st->state == ARB_ST_FIXED || st->state == ARB_ST_REBOOT_PENDING) &&
	    p->rollback != NULL && p->rollback[0] != '\0') {
		if (a->action == NULL && !stale_wait(a, p, st, head)) {
			st->rollback_done = ref->rollback_seq;
			(void)run_action(a, p, st, 1);
		}
		return 1;
	}
	st->rollback_done = ref->rollback_seq;	/* nothing to undo */
	(void)pstate_save(a, p->id, st);
	return 0;
}

/*
 * The operator asked the rollout's failed endpoints to try again (arborctl
 * rollout retry-failed): one of the wave whose policy failed here starts
 * over, once per retry asked.
 */
static void
apply_retry(struct agent *a, const Arbor__PolicyRef *ref,
    const Arbor__Policy *p, struct agent_pstate *st)
{
	const Arbor__RolloutState *rs = ref->rollout;

	if (rs == NULL || rs->retry_seq <= st->retry_done ||
	    arb_rollout_bucket(a->id, p->id) >= rs->buckets)
		return;
	st->retry_done = rs->retry_seq;
	st->retry_at = 0;	/* the operator's retry is the next one */
	if (st->state != ARB_ST_FAILED && st->state != ARB_ST_ERROR &&
	    st->state != ARB_ST_DOWNLOAD_FAILED) {
		(void)pstate_save(a, p->id, st);
		return;
	}
	st->attempts = 0;
	log_info("agent: policy %s v%u: the rollout's failed endpoints try "
	    "again (head seq %llu)", p->id, p->version,
	    (unsigned long long)rs->retry_seq);
	pstate_set(a, p->id, st, ARB_ST_APPLICABLE, 0, "retry asked by the "
	    "operator");
}

/*
 * The policy waits for a reboot: in the boot its action ran in, it counts
 * towards the one reboot (agent_reboot_check); in another, it is
 * evaluated again, fixed if it no longer applies, failed (with its
 * retries) if it still does.  A record older than boot ids takes this
 * boot's and waits for the next.
 */
static void
apply_rebooted(struct agent *a, const Arbor__Policy *p,
    struct agent_pstate *st)
{
	char	err[256];
	int	applies;

	if (st->boot_id[0] == '\0' && a->boot_id[0] != '\0') {
		snprintf(st->boot_id, sizeof(st->boot_id), "%s", a->boot_id);
		(void)pstate_save(a, p->id, st);
	}
	if (a->boot_id[0] == '\0' || strcmp(st->boot_id, a->boot_id) == 0) {
		agent_reboot_pending(a, st);
		return;
	}
	log_info("agent: policy %s v%u: the endpoint rebooted: evaluating "
	    "it again", p->id, p->version);
	if (evaluate(a, p, &applies, err, sizeof(err)) != 0)
		action_failed(a, p->id, st, 0, err);
	else if (applies)
		action_failed(a, p->id, st, 0, "still applicable after reboot");
	else
		pstate_set(a, p->id, st, ARB_ST_FIXED, 0, "fixed after the "
		    "reboot");
}

/*
 * The action was running when the agent stopped: look before acting
 * again.  1 if the policy has nothing more to do now.
 */
static int
apply_interrupted(struct agent *a, const Arbor__Policy *p,
    struct agent_pstate *st)
{
	char	err[256], detail[300];
	int	applies;

	if (a->action != NULL && strcmp(a->action_id, p->id) == 0)
		return 1;	/* it runs now */
	if (evaluate(a, p, &applies, err, sizeof(err)) != 0) {
		pstate_set(a, p->id, st, ARB_ST_FAILED, 0, err);
		return 1;
	}
	if (!applies && p->reboot_mode != ARB_REBOOT_NONE &&
	    a->env == NULL) {
		agent_reboot_note(a, p, st, "the interrupted action took "
		    "effect");
		return 1;
	}
	if (!applies) {
		pstate_set(a, p->id, st, ARB_ST_FIXED, 0,
		    "fixed by the interrupted action");
		return 1;
	}
	if (st->attempts >= AGENT_MAX_ATTEMPTS) {
		snprintf(detail, sizeof(detail), "interrupted %u times; "
		    "giving up", st->attempts);
		pstate_set(a, p->id, st, ARB_ST_FAILED, -1, detail);
		return 1;
	}
	log_info("agent: policy %s v%u: action was interrupted; still "
	    "applicable: running it again (attempt %u)", p->id, p->version,
	    st->attempts + 1);
	return 0;
}

/*
 * The policy applies: its blobs, downloaded and verified.  1 while some
 * are missing (downloading, or download-failed with the reason).
 */
static int
apply_download(struct agent *a, const Arbor__Policy *p,
    struct agent_pstate *st)
{
	const Arbor__BlobRef		*fb;
	const struct agent_dlfail	*df;
	char				 detail[300];

	if (blobs_missing(a, p, &fb, &df) > 0) {
		if (fb != NULL && st->state != ARB_ST_DOWNLOAD_FAILED) {
			snprintf(detail, sizeof(detail), "blob %s: %s (%u "
			    "attempts; tried again later)", fb->name,
			    arb_strerror(df->rv), df->fails);
			pstate_set(a, p->id, st, ARB_ST_DOWNLOAD_FAILED, 0,
			    detail);
		} else if (fb == NULL && st->state != ARB_ST_DOWNLOADING)
			pstate_set(a, p->id, st, ARB_ST_DOWNLOADING, 0, "");
		return 1;
	}
	if (st->state == ARB_ST_DOWNLOADING || st->state == ARB_ST_APPLICABLE ||
	    st->state == ARB_ST_DOWNLOAD_FAILED) {
		if (a->env && a->env->event)
			a->env->event(a->env->event_arg, "verified", p->id,
			    a->index);
		else
			log_info("agent: policy %s v%u: downloaded, %zu blobs "
			    "verified", p->id, p->version, p->n_blobs);
	}
	return 0;
}

/*
 * One policy of the head, one step further: evaluate, download, act, in
 * the order the header of this file tells.
 */
static void
apply_one(struct agent *a, const Arbor__Head *head,
    const Arbor__PolicyRef *ref)
{
	struct agent_pstate	 st;
	Arbor__Policy		*p;
	char			 err[256];
	int			 applies;

	if (arb_catalog_policy(a->store, ref->sha256.data, &p) != 0)
		return;
	if (pstate_load(a, p->id, &st) != 0 ||
	    memcmp(st.sha, ref->sha256.data, ARB_SHA256_LEN) != 0) {
		/* A policy (or version) new to this endpoint. */
		memset(&st, 0, sizeof(st));
		memcpy(st.sha, ref->sha256.data, ARB_SHA256_LEN);
		st.version = p->version;
		st.rollback_done = ref->rollback_seq;
		if (pstate_save(a, p->id, &st) != 0)
			goto out;
	}
	if (!targeted(a, p))
		goto out;		/* not ours: nothing at all */
	if (ref->rollback_seq > st.rollback_done && lock_wait(a, head, p,
	    &st, 0))
		goto out;		/* no rollback either while locked */
	if (apply_rollback(a, head, ref, p, &st))
		goto out;
	apply_retry(a, ref, p, &st);
	switch (st.state) {
	case ARB_ST_FIXED:
		if (apply_again(a, p, &st))
			break;
		goto out;
	case ARB_ST_FAILED:
		if (apply_retry_due(a, p, &st))
			break;
		goto out;
	case ARB_ST_REBOOT_PENDING:
		apply_rebooted(a, p, &st);
		goto out;
	case ARB_ST_ROLLED_BACK:
		goto out;		/* done with this version */
	case ARB_ST_RUNNING:
		if (apply_interrupted(a, p, &st))
			goto out;
		break;
	default:
		break;
	}

	if (evaluate(a, p, &applies, err, sizeof(err)) != 0) {
		if (st.state != ARB_ST_ERROR)
			pstate_set(a, p->id, &st, ARB_ST_ERROR, 0, err);
		goto out;
	}
	if (!applies) {
		if (st.state != ARB_ST_NOT_APPLICABLE)
			pstate_set(a, p->id, &st, ARB_ST_NOT_APPLICABLE, 0,
			    "");
		goto out;
	}
	if (lock_wait(a, head, p, &st, 1))
		goto out;		/* locked: it applies, nothing runs */
	if (st.state == ARB_ST_UNKNOWN || st.state == ARB_ST_NOT_APPLICABLE ||
	    st.state == ARB_ST_ERROR)
		pstate_set(a, p->id, &st, ARB_ST_APPLICABLE, 0, "");
	if (rollout_wait(a, ref, p, &st))
		goto out;		/* not downloaded before its wave */
	if (apply_download(a, p, &st)) {
		if (st.state == ARB_ST_DOWNLOADING)
			a->rb.hold++;	/* a reboot waits for its action */
		goto out;
	}
	if (schedule_wait(a, ref, p, &st))
		goto out;		/* downloaded: ready when it may run */
	if (a->action != NULL) {
		a->rb.hold++;
		if (st.state != ARB_ST_WAITING)
			pstate_set(a, p->id, &st, ARB_ST_WAITING, 0,
			    "another action is running");
		goto out;
	}
	if (stale_wait(a, p, &st, head))
		goto out;
	(void)run_action(a, p, &st, 0);
out:
	arb_wire_free_policy(p);
}

void
agent_apply(struct agent *a)
{
	const Arbor__Head	*head;
	size_t			 i;

	if (a->stopping || a->draining || a->prev_wait ||
	    (head = arb_sync_head(a->sync)) == NULL)
		return;
	if (head->expires_at <= (int64_t)time(NULL) &&
	    a->stale_logged != head->seq) {
		log_warnx("agent: head seq %llu has expired: no action starts "
		    "until a current head arrives", (unsigned long long)
		    head->seq);
		a->stale_logged = head->seq;
	}
	if (a->env == NULL) {	/* a swarm's fixture trees do not change */
		arb_facts_reload(a->facts);
		agent_boot_read(a);
	}
	a->rb.npending = a->rb.hold = 0;
	a->rb.ready = a->rb.at = 0;
	a->sched_next = 0;
	if (a->sched.loop != NULL)
		uv_timer_stop(&a->sched);
	/* Pushed policies first: their downloads start before the rest. */
	for (i = 0; i < head->n_policies; i++)
		if (head->policies[i]->urgent)
			apply_one(a, head, head->policies[i]);
	for (i = 0; i < head->n_policies; i++)
		if (!head->policies[i]->urgent)
			apply_one(a, head, head->policies[i]);
	sched_arm(a);
	agent_reboot_check(a);
	agent_collect(a);
}
