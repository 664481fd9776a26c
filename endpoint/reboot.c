/*
 * Reboots, done once for all the policies that need one.
 *
 * A policy says what its install needs (Policy.reboot_mode): nothing, a
 * reboot the user may postpone until a deadline, or a forced reboot some
 * time after the action.  An action may also ask for one itself (exit
 * 194, or $ARBOR_REBOOT_FILE).  After a successful action that needs a
 * reboot the policy is REBOOT_PENDING, with the boot id it ran under
 * (<facts root>/proc/sys/kernel/random/boot_id) in its state record; it
 * becomes fixed, or failed, only when the agent sees another boot id and
 * evaluates it again (apply.c).
 *
 * Every pass of agent_apply counts the policies that wait for a reboot in
 * this boot, and what holds the reboot back: an action that runs, a
 * download for one, an action queued behind another.  The reboot's time is
 * the earliest of the waiting policies' times (a forced one's delay, a
 * user one's deadline) or the time the user chose (arbor-agent reboot
 * now|defer), never before the last of their actions ended; an action
 * that asked for a reboot under a policy that declares none sets no time:
 * it waits for the user, or for a reboot another policy makes.  When that
 * time has come and nothing holds it back (nor a lock of the operator's:
 * a locked endpoint runs nothing), reboot_command runs, once.
 *
 * Before the command starts the agent records, in ARB_DB_META "reboot",
 * that it asked for a reboot in this boot: an agent killed and restarted
 * in the same boot does not ask again before REBOOT_AGAIN_S have passed
 * (a reboot takes its time), and asks again after that (the reboot did
 * not happen).  A command that fails or outlives REBOOT_LIMIT_MS is
 * reported on every waiting policy and tried again REBOOT_RETRY_S later.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arbor/catalog.h"
#include "arbor/error.h"
#include "arbor/io.h"
#include "arbor/log.h"
#include "arbor/schedule.h"
#include "arbor/wire.h"
#include "agent.h"

#define REBOOT_AGAIN_S	600	/* asked, no new boot: ask again */
#define REBOOT_RETRY_S	300	/* the command failed: try again */
#define REBOOT_LIMIT_MS	120000	/* the command's time limit */
#define REBOOT_BOOT_ID		"/proc/sys/kernel/random/boot_id"

void
agent_boot_read(struct agent *a)
{
	const char	*root = a->conf->facts_root ?
			    a->conf->facts_root : "";
	char		 path[PATH_MAX];
	uint8_t		*buf;
	size_t		 len;

	a->boot_id[0] = '\0';
	if ((size_t)snprintf(path, sizeof(path), "%s%s", root,
	    REBOOT_BOOT_ID) >= sizeof(path) ||
	    arb_io_read_file(path, 256, &buf, &len) != 0)
		return;
	len = strcspn((char *)buf, " \t\r\n");
	if (len < sizeof(a->boot_id)) {
		memcpy(a->boot_id, buf, len);
		a->boot_id[len] = '\0';
	}
	free(buf);
}

void
agent_reboot_load(struct agent *a, struct agent_reboot *r)
{
	void	*v;
	size_t	 n;

	memset(r, 0, sizeof(*r));
	if (arb_store_get(a->store, ARB_DB_META, "reboot", 6, &v, &n) == 0) {
		if (n == sizeof(*r))
			memcpy(r, v, n);
		free(v);
		r->boot_id[sizeof(r->boot_id) - 1] = '\0';
		if (strcmp(r->boot_id, a->boot_id) != 0)
			memset(r, 0, sizeof(*r));	/* another boot's */
	}
	snprintf(r->boot_id, sizeof(r->boot_id), "%s", a->boot_id);
}

int
agent_reboot_save(struct agent *a, const struct agent_reboot *r)
{
	return arb_store_put(a->store, ARB_DB_META, "reboot", 6, r,
	    sizeof(*r));
}

void
agent_reboot_note(struct agent *a, const Arbor__Policy *p,
    struct agent_pstate *st, const char *output)
{
	char	when[40], detail[ARB_ACTION_OUTPUT_MAX + 200];
	int64_t	now = arb_clock_now();
	size_t	n = strlen(output);

	while (n > 0 && (output[n - 1] == '\n' || output[n - 1] == ' '))
		n--;
	snprintf(st->boot_id, sizeof(st->boot_id), "%s", a->boot_id);
	st->reboot_ready = now;
	st->reboot_mode = p->reboot_mode;
	/* Whole seconds: one more, so that at least the delay passes. */
	st->reboot_at = p->reboot_mode == ARB_REBOOT_NONE ? 0 :
	    now + (int64_t)p->reboot_after_s + (p->reboot_after_s > 0);
	agent_when_str(st->reboot_at, when, sizeof(when));
	if (p->reboot_mode == ARB_REBOOT_FORCED)
		snprintf(detail, sizeof(detail), "reboot at %s", when);
	else if (p->reboot_mode == ARB_REBOOT_USER)
		snprintf(detail, sizeof(detail), "user may postpone until %s",
		    when);
	else
		snprintf(detail, sizeof(detail), "the action asked for a "
		    "reboot; the policy makes none: fixed after the next "
		    "reboot");
	if (n > 0)
		snprintf(detail + strlen(detail), sizeof(detail) -
		    strlen(detail), ": %.*s", (int)n, output);
	log_info("agent: policy %s v%u: reboot-pending (%s)", p->id,
	    p->version, p->reboot_mode == ARB_REBOOT_FORCED ? "forced" :
	    p->reboot_mode == ARB_REBOOT_USER ? "user" : "asked by the action");
	agent_pstate_set(a, p->id, st, ARB_ST_REBOOT_PENDING, 0, detail);
}

void
agent_reboot_pending(struct agent *a, const struct agent_pstate *st)
{
	struct agent_rbplan *rb = &a->rb;

	rb->npending++;
	if (st->reboot_ready > rb->ready)
		rb->ready = st->reboot_ready;
	if (st->reboot_at > 0 && (rb->at == 0 || st->reboot_at < rb->at))
		rb->at = st->reboot_at;
}

int64_t
agent_reboot_when(struct agent *a, const struct agent_reboot *r)
{
	int64_t t = a->rb.at;

	if (a->rb.npending == 0)
		return 0;
	if (r->user_at > 0 && (t == 0 || r->user_at < t))
		t = r->user_at;
	if (t > 0 && t < a->rb.ready)
		t = a->rb.ready;
	return t;
}

static void
reboot_timer_cb(uv_timer_t *t)
{
	agent_apply(t->data);
}

static void
reboot_arm(struct agent *a, int64_t at)
{
	int64_t in = at - arb_clock_now();

	if (in < 1)
		in = 1;
	if (in > 3600)
		in = 3600;	/* clocks move: look again within the hour */
	uv_timer_start(&a->rb.timer, reboot_timer_cb, (uint64_t)in * 1000, 0);
}

/* Say on every policy that waits for the reboot what became of it. */
static void
reboot_tell(struct agent *a, const char *what)
{
	const Arbor__Head	*head;
	struct agent_pstate	 st;
	Arbor__Policy		*p;
	size_t			 i;

	if ((head = arb_sync_head(a->sync)) == NULL)
		return;
	for (i = 0; i < head->n_policies; i++) {
		if (arb_catalog_policy(a->store,
		    head->policies[i]->sha256.data, &p) != 0)
			continue;
		if (agent_pstate_load(a, p->id, &st) == 0 &&
		    memcmp(st.sha, head->policies[i]->sha256.data,
		    ARB_SHA256_LEN) == 0 && st.state == ARB_ST_REBOOT_PENDING &&
		    strcmp(st.boot_id, a->boot_id) == 0)
			agent_pstate_set(a, p->id, &st, ARB_ST_REBOOT_PENDING,
			    st.exit_code, what);
		arb_wire_free_policy(p);
	}
}

static void
reboot_closed(uv_handle_t *h)
{
	struct agent *a = h->data;

	a->rb.running = 0;
}

static void
reboot_limit_cb(uv_timer_t *t)
{
	struct agent *a = t->data;

	if (a->rb.running)
		(void)uv_process_kill(&a->rb.proc, SIGKILL);
}

static void
reboot_exit_cb(uv_process_t *proc, int64_t status, int term_signal)
{
	struct agent		*a = proc->data;
	struct agent_reboot	 r;
	char			 when[40], what[200];

	uv_timer_stop(&a->rb.limit);
	uv_close((uv_handle_t *)proc, reboot_closed);
	if (a->stopping)
		return;
	if (status == 0 && term_signal == 0) {
		log_info("agent: reboot_command done: waiting for the new "
		    "boot");
		agent_apply(a);	/* a simulated reboot is here already */
		return;
	}
	agent_reboot_load(a, &r);
	r.again_at = arb_clock_now() + REBOOT_RETRY_S;
	(void)agent_reboot_save(a, &r);
	agent_when_str(r.again_at, when, sizeof(when));
	if (term_signal != 0)
		snprintf(what, sizeof(what), "reboot_command killed by signal "
		    "%d; tried again at %s", term_signal, when);
	else
		snprintf(what, sizeof(what), "reboot_command failed (exit %"
		    PRId64 "); tried again at %s", status, when);
	log_warnx("agent: %s", what);
	reboot_tell(a, what);
	reboot_arm(a, r.again_at);
}

/* Run reboot_command once, recorded first: a restart will know. */
static void
reboot_run(struct agent *a, struct agent_reboot *r)
{
	uv_process_options_t	 opts;
	uv_stdio_container_t	 io[3];
	char			*args[4], when[40], what[200];
	int			 rv;

	r->asked_at = arb_clock_now();
	r->again_at = r->asked_at + REBOOT_AGAIN_S;
	r->user_at = 0;
	if ((rv = agent_reboot_save(a, r)) != 0) {
		log_warnx("agent: reboot: the store failed: %s",
		    arb_strerror(rv));
		reboot_arm(a, r->asked_at + REBOOT_RETRY_S);
		return;
	}
	log_info("agent: rebooting for %d policies: %s", a->rb.npending,
	    a->conf->reboot_command);
	args[0] = "/bin/sh";
	args[1] = "-c";
	args[2] = a->conf->reboot_command;
	args[3] = NULL;
	memset(&opts, 0, sizeof(opts));
	memset(io, 0, sizeof(io));
	io[0].flags = UV_IGNORE;
	io[1].flags = io[2].flags = UV_INHERIT_FD;
	io[1].data.fd = 1;
	io[2].data.fd = 2;
	opts.file = args[0];
	opts.args = args;
	opts.exit_cb = reboot_exit_cb;
	opts.stdio = io;
	opts.stdio_count = 3;
	a->rb.proc.data = a;
	if ((rv = uv_spawn(a->loop, &a->rb.proc, &opts)) != 0) {
		uv_close((uv_handle_t *)&a->rb.proc, NULL);
		r->again_at = r->asked_at + REBOOT_RETRY_S;
		(void)agent_reboot_save(a, r);
		agent_when_str(r->again_at, when, sizeof(when));
		snprintf(what, sizeof(what), "reboot_command cannot start: "
		    "%s; tried again at %s", uv_strerror(rv), when);
		log_warnx("agent: %s", what);
		reboot_tell(a, what);
		reboot_arm(a, r->again_at);
		return;
	}
	a->rb.running = 1;
	uv_timer_start(&a->rb.limit, reboot_limit_cb, REBOOT_LIMIT_MS, 0);
}

void
agent_reboot_check(struct agent *a)
{
	struct agent_rbplan	*rb = &a->rb;
	const Arbor__Head	*head;
	const Arbor__Lock	*l;
	struct agent_reboot	 r;
	char			 when[40];
	int64_t			 now = arb_clock_now(), at;

	if (rb->timer.loop == NULL || a->stopping)
		return;
	uv_timer_stop(&rb->timer);
	if (rb->npending == 0 || rb->running)
		return;
	agent_reboot_load(a, &r);
	if ((at = agent_reboot_when(a, &r)) == 0)
		return;		/* the user decides, or another policy */
	if (r.asked_at > 0 && r.again_at > at)
		at = r.again_at;	/* asked in this boot already */
	if (at > now) {
		if (at != rb->said_at) {
			agent_when_str(at, when, sizeof(when));
			log_info("agent: %d policies wait for a reboot: at "
			    "%s%s", rb->npending, when, r.asked_at > 0 ?
			    " (asked already in this boot)" : "");
			rb->said_at = at;
		}
		reboot_arm(a, at);
		return;
	}
	if (rb->hold > 0 || a->action != NULL)
		return;		/* the end of that action looks again */
	if ((head = arb_sync_head(a->sync)) != NULL && (l = arb_head_locked(
	    head, a->id, a->conf->groups, a->conf->ngroups, now * 1000)) !=
	    NULL) {
		if (rb->said_at != -1)
			log_info("agent: the endpoint is locked: the reboot "
			    "waits for the lock to go");
		rb->said_at = -1;
		if (l->until_ms != 0)
			reboot_arm(a, (l->until_ms + 999) / 1000);
		return;	/* a new head, or the lock's end, looks again */
	}
	reboot_run(a, &r);
}

void
agent_reboot_init(struct agent *a)
{
	uv_timer_init(a->loop, &a->rb.timer);
	a->rb.timer.data = a;
	uv_timer_init(a->loop, &a->rb.limit);
	a->rb.limit.data = a;
}

void
agent_reboot_stop(struct agent *a)
{
	if (a->rb.timer.loop != NULL &&
	    !uv_is_closing((uv_handle_t *)&a->rb.timer))
		uv_close((uv_handle_t *)&a->rb.timer, NULL);
	if (a->rb.limit.loop != NULL &&
	    !uv_is_closing((uv_handle_t *)&a->rb.limit))
		uv_close((uv_handle_t *)&a->rb.limit, NULL);
	if (a->rb.running && !uv_is_closing((uv_handle_t *)&a->rb.proc))
		uv_close((uv_handle_t *)&a->rb.proc, reboot_closed);
}
