/*
 * The record of the action that runs, kept across a restart of the agent.
 *
 * An action outlives an agent killed with SIGKILL: its processes run on.
 * So the identity of each run (arb_action_ident: its cgroup, or its
 * shell's pid and start time) is committed to ARB_DB_META "action" as the
 * run starts and deleted when it ends.  A restarted agent that finds the
 * record and the run still alive acts on nothing -- it would start the
 * same action a second time beside the first -- and polls until the run
 * is over (killing it once its timeout has passed), then removes the
 * staging directories left behind and evaluates as after any interrupted
 * action.
 */
#include <string.h>
#include <stdlib.h>
#include <time.h>

#include "arbor/error.h"
#include "arbor/log.h"
#include "agent.h"

#define RUNNING_KEY		"action"
#define RUNNING_POLL_MS		500
/* After the deadline, how long a run has before it is killed. */
#define RUNNING_GRACE_S		5

void
agent_running_save(struct agent *a, const char *policy, uint32_t version)
{
	struct agent_running	r;
	int			rv;

	memset(&r, 0, sizeof(r));
	arb_action_ident(a->action, &r.id);
	snprintf(r.policy, sizeof(r.policy), "%s", policy);
	r.version = version;
	if ((rv = arb_store_put(a->store, ARB_DB_META, RUNNING_KEY,
	    strlen(RUNNING_KEY), &r, sizeof(r))) != 0)
		log_warnx("agent: policy %s v%u: cannot record the running "
		    "action: %s", policy, version, arb_strerror(rv));
}

void
agent_running_clear(struct agent *a)
{
	(void)arb_store_del(a->store, ARB_DB_META, RUNNING_KEY,
	    strlen(RUNNING_KEY));
}

/* The previous run is over: forget it, clear what it left, act. */
static void
running_over(struct agent *a)
{
	agent_running_clear(a);
	(void)arb_action_cleanup_all(a->staging);
	if (a->prev_wait) {
		log_info("agent: previous action (policy %s v%u) has ended",
		    a->prev_run.policy, a->prev_run.version);
		a->prev_wait = 0;
		uv_timer_stop(&a->prev);
		agent_apply(a);
	}
}

static void
running_poll_cb(uv_timer_t *t)
{
	struct agent	*a = t->data;

	if (a->stopping)
		return;
	if (!arb_action_ident_alive(&a->prev_run.id)) {
		running_over(a);
		return;
	}
	if (!a->prev_killed && (int64_t)time(NULL) >
	    a->prev_run.id.deadline + RUNNING_GRACE_S) {
		log_warnx("agent: previous action (policy %s v%u) is past its "
		    "timeout: killing it", a->prev_run.policy,
		    a->prev_run.version);
		arb_action_ident_kill(&a->prev_run.id);
		a->prev_killed = 1;
	}
}

void
agent_running_start(struct agent *a)
{
	void	*v;
	size_t	 n;

	if (a->env != NULL && a->env->simulate)
		return;
	if (arb_store_get(a->store, ARB_DB_META, RUNNING_KEY,
	    strlen(RUNNING_KEY), &v, &n) != 0) {
		running_over(a);
		return;
	}
	if (n == sizeof(a->prev_run))
		memcpy(&a->prev_run, v, n);
	free(v);
	a->prev_run.policy[sizeof(a->prev_run.policy) - 1] = '\0';
	a->prev_run.id.cgroup[sizeof(a->prev_run.id.cgroup) - 1] = '\0';
	if (n != sizeof(a->prev_run) ||
	    !arb_action_ident_alive(&a->prev_run.id)) {
		running_over(a);
		return;
	}
	log_warnx("agent: previous action (policy %s v%u, pid %d) is still "
	    "running: waiting for it before acting", a->prev_run.policy,
	    a->prev_run.version, (int)a->prev_run.id.pid);
	a->prev_wait = 1;
	uv_timer_start(&a->prev, running_poll_cb, RUNNING_POLL_MS,
	    RUNNING_POLL_MS);
}
