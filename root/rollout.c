/*
 * Staged rollouts, at the root.
 *
 * A policy with waves goes out wave by wave: the head's PolicyRef carries
 * a RolloutState whose bucket range lets in the endpoints whose
 * arb_rollout_bucket is below it (a wave names a range, never a list of
 * ids).  The root judges each wave from the reports it keeps: an endpoint
 * of the wave that is fixed (or not applicable) succeeded; failed,
 * download-failed and error failed, and so does one silent (no final
 * state) past the policy's silent time.  Too many failures and the root
 * signs, at once, a head that halts the rollout: nothing more starts
 * anywhere.  A wave all final, successful enough and soaked advances to
 * the next by a head that widens the range.  The operator may pause,
 * resume, advance, and retry the failed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "arbor/catalog.h"
#include "arbor/error.h"
#include "arbor/log.h"
#include "arbor/schedule.h"
#include "root.h"

#define ROLLOUT_CHECK_MS	500	/* soak and silence: looked at this often */

int64_t
root_rollout_now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

struct ep_walk {
	uint32_t	*b;
	size_t		 n, cap;
	const char	*policy;
};

static int
bucket_cb(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg)
{
	struct ep_walk	*w = arg;
	char		 id[ARB_EPID_HEX];
	uint32_t	*nb;

	(void)val;
	(void)vlen;
	if (klen == 0 || klen >= sizeof(id))
		return 0;
	memcpy(id, key, klen);
	id[klen] = '\0';
	if (w->n == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 64;
		if ((nb = realloc(w->b, w->cap * sizeof(*nb))) == NULL)
			return -ENOMEM;
		w->b = nb;
	}
	w->b[w->n++] = arb_rollout_bucket(id, w->policy);
	return 0;
}

/* The bucket range of share % of the endpoints enrolled now. */
static int
wave_limit(struct root *r, const char *policy, uint32_t share,
    uint32_t *limitp, size_t *enrolledp)
{
	struct ep_walk	 w = { NULL, 0, 0, policy };
	struct arb_txn	*t;
	int		 rv;

	if ((rv = arb_txn_begin(r->store, 0, &t)) != 0)
		return rv;
	rv = arb_txn_foreach(t, ARB_DB_ENDPOINTS, bucket_cb, &w);
	arb_txn_abort(t);
	if (rv == 0) {
		*limitp = arb_rollout_limit(w.b, w.n, share);
		if (enrolledp)
			*enrolledp = w.n;
	}
	free(w.b);
	return rv;
}

int
root_rollout_begin(struct root *r, const Arbor__Policy *p,
    Arbor__RolloutState *rs)
{
	size_t	n;
	int	rv;

	if (p->n_waves == 0)
		return 0;
	arbor__rollout_state__init(rs);
	rs->wave = 1;
	rs->wave_started_ms = root_rollout_now_ms();
	if ((rv = wave_limit(r, p->id, p->waves[0]->share_pct, &rs->buckets,
	    &n)) != 0)
		return rv;
	log_info("root: rollout %s: wave 1 (%s, %u %% of %zu endpoints)",
	    p->id, p->waves[0]->name ? p->waves[0]->name : "1",
	    p->waves[0]->share_pct, n);
	return 0;
}

/* What one wave's endpoints have done, from the reports kept. */
struct wave_count {
	const char	*policy;
	uint32_t	 version;
	uint32_t	 buckets;
	uint64_t	 retry_seq;	/* failures older than it: pending */
	int64_t		 silent_after;	/* epoch s: pending since: silent */
	uint32_t	 in, ok, failed, silent, pending, ran, locked;
	uint32_t	 outside_ran;	/* outside the range, yet it ran */
	struct arb_txn	*t;
};

static int
count_cb(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg)
{
	struct wave_count	*c = arg;
	Arbor__Report		*rep = NULL;
	char			 id[ARB_EPID_HEX];
	uint8_t			 k[ARB_REPORT_KEY_MAX];
	size_t			 kl, n;
	void			*v;
	unsigned		 st = ARB_ST_UNKNOWN;
	int			 in;

	(void)val;
	(void)vlen;
	if (klen == 0 || klen >= sizeof(id))
		return 0;
	memcpy(id, key, klen);
	id[klen] = '\0';
	in = arb_rollout_bucket(id, c->policy) < c->buckets;
	if ((kl = arb_report_key(id, c->policy, k)) != 0 &&
	    arb_txn_get(c->t, ARB_DB_STATUS, k, kl, &v, &n) == 0) {
		if (arb_wire_decode_report(v, n, &rep) == 0) {
			if (rep->version == c->version)
				st = rep->state;
			/* Failed before the retry asked: it runs again. */
			if (rep->retry_seq < c->retry_seq &&
			    (st == ARB_ST_FAILED || st == ARB_ST_ERROR ||
			    st == ARB_ST_DOWNLOAD_FAILED))
				st = ARB_ST_APPLICABLE;
			arb_wire_free_report(rep);
		}
		free(v);
	}
	if (in && st == ARB_ST_LOCKED) {
		c->locked++;	/* held by the operator: not judged */
		return 0;
	}
	if (!in) {
		if (st == ARB_ST_RUNNING || st == ARB_ST_FIXED ||
		    st == ARB_ST_FAILED || st == ARB_ST_REBOOT_PENDING)
			c->outside_ran++;
		return 0;
	}
	c->in++;
	if (st == ARB_ST_RUNNING || st == ARB_ST_FIXED ||
	    st == ARB_ST_FAILED || st == ARB_ST_REBOOT_PENDING)
		c->ran++;
	switch (st) {
	case ARB_ST_FIXED:
	case ARB_ST_NOT_APPLICABLE:
		c->ok++;
		break;
	case ARB_ST_FAILED:
	case ARB_ST_DOWNLOAD_FAILED:
	case ARB_ST_ERROR:
		c->failed++;
		break;
	default:
		if (c->silent_after > 0 && (int64_t)time(NULL) >=
		    c->silent_after)
			c->silent++;
		else
			c->pending++;
		break;
	}
	return 0;
}

static int
wave_count(struct root *r, const Arbor__PolicyRef *ref,
    const Arbor__Policy *p, struct wave_count *c)
{
	const Arbor__RolloutState	*rs = ref->rollout;
	int				 rv;

	memset(c, 0, sizeof(*c));
	c->policy = p->id;
	c->version = p->version;
	c->buckets = rs->buckets;
	c->retry_seq = rs->retry_seq;
	if (p->silent_s > 0)
		c->silent_after = rs->wave_started_ms / 1000 + p->silent_s;
	if ((rv = arb_txn_begin(r->store, 0, &c->t)) != 0)
		return rv;
	rv = arb_txn_foreach(c->t, ARB_DB_ENDPOINTS, count_cb, c);
	arb_txn_abort(c->t);
	c->t = NULL;
	return rv;
}

/* Does the wave's count trip its halt?  why gets the reason. */
int
root_rollout_trips(const Arbor__Wave *w, uint32_t in, uint32_t failed,
    char *why, size_t whylen)
{
	if (failed == 0 || in == 0)
		return 0;
	if (w->halt_count > 0 && failed >= w->halt_count) {
		snprintf(why, whylen, "%u failed >= %u", failed,
		    w->halt_count);
		return 1;
	}
	if (w->halt_pct < 100 && (uint64_t)failed * 100 >
	    (uint64_t)w->halt_pct * in) {
		snprintf(why, whylen, "%u failed > %u %%", failed,
		    w->halt_pct);
		return 1;
	}
	return 0;
}

/* Sign a head with the ref of id replaced by one with rollout state ns. */
static int
sign_state(struct root *r, const Arbor__PolicyRef *cur,
    Arbor__RolloutState *ns, const char *why)
{
	Arbor__PolicyRef	**refs, nr;
	size_t			  i, n = 0;
	int			  rv;

	if ((refs = calloc(r->head->n_policies + 1, sizeof(*refs))) == NULL)
		return -ENOMEM;
	nr = *cur;
	nr.rollout = ns;
	for (i = 0; i < r->head->n_policies; i++)
		refs[n++] = r->head->policies[i] == cur ? &nr :
		    r->head->policies[i];
	rv = root_sign_head(r, refs, n, why, NULL, 0);
	free(refs);
	return rv;
}

/* Look at one rollout: halt it, advance it, or leave it. */
static void
rollout_check(struct root *r, const Arbor__PolicyRef *ref)
{
	const Arbor__RolloutState	*rs = ref->rollout;
	Arbor__RolloutState		 ns;
	Arbor__Policy			*p;
	struct wave_count		 c;
	const Arbor__Wave		*w;
	char				 why[96], reason[400];
	int64_t				 now = root_rollout_now_ms();
	int64_t				*tripped;

	if (rs == NULL || rs->halted || rs->paused ||
	    arb_catalog_policy(r->store, ref->sha256.data, &p) != 0)
		return;
	if (rs->wave == 0 || rs->wave > p->n_waves ||
	    wave_count(r, ref, p, &c) != 0)
		goto out;
	w = p->waves[rs->wave - 1];
	ns = *rs;
	if (root_rollout_trips(w, c.in, c.failed + c.silent, why,
	    sizeof(why))) {
		ns.halted = 1;
		ns.halted_ms = now;
		tripped = arb_strmap_get(r->fails, p->id);
		ns.tripped_ms = tripped ? *tripped : now;
		snprintf(reason, sizeof(reason), "wave %u (%s): %u endpoints, "
		    "%s%s", rs->wave, w->name ? w->name : "", c.in, why,
		    c.silent ? " (silent ones included)" : "");
		ns.why = reason;
		if (sign_state(r, ref, &ns, "rollout halt") == 0)
			log_warnx("root: rollout %s halted: %s", p->id,
			    reason);
		goto out;
	}
	if (c.pending > 0 || rs->wave == p->n_waves ||
	    (uint64_t)c.ok * 100 < (uint64_t)w->success_pct * c.in ||
	    now - rs->wave_started_ms < (int64_t)w->soak_s * 1000)
		goto out;
	ns.wave = rs->wave + 1;
	ns.wave_started_ms = now;
	if (wave_limit(r, p->id, p->waves[rs->wave]->share_pct, &ns.buckets,
	    NULL) != 0)
		goto out;
	if (ns.buckets < rs->buckets)
		ns.buckets = rs->buckets;
	snprintf(reason, sizeof(reason), "wave %u: %u of %u fixed", rs->wave,
	    c.ok, c.in);
	ns.why = reason;
	/* The signing frees the old head, rs and ref with it. */
	if (sign_state(r, ref, &ns, "rollout advance") == 0)
		log_info("root: rollout %s: wave %u (%u %%) after %s", p->id,
		    ns.wave, p->waves[ns.wave - 1]->share_pct, reason);
out:
	arb_wire_free_policy(p);
}

void
root_rollout_check(struct root *r)
{
	char	ids[ARB_SCHED_MAX_WAVES * 4][ARB_MAX_ID + 1];
	size_t	i, n = 0;
	const Arbor__PolicyRef *ref;

	if (r->head == NULL)
		return;
	/* Each check may sign a new head: go by id, not by pointer. */
	for (i = 0; i < r->head->n_policies && n < sizeof(ids) /
	    sizeof(ids[0]); i++)
		if (r->head->policies[i]->rollout != NULL)
			snprintf(ids[n++], sizeof(ids[0]), "%s",
			    r->head->policies[i]->id);
	for (i = 0; i < n; i++)
		if ((ref = arb_head_find(r->head, ids[i])) != NULL)
			rollout_check(r, ref);
}

static void
check_cb(uv_timer_t *t)
{
	root_rollout_check(t->data);
	root_locks_check(t->data);
}

void
root_rollout_start(struct root *r)
{
	uv_timer_init(&r->loop, &r->rollout);
	r->rollout.data = r;
	uv_timer_start(&r->rollout, check_cb, ROLLOUT_CHECK_MS,
	    ROLLOUT_CHECK_MS);
}

void
root_rollout_stop(struct root *r)
{
	uv_timer_stop(&r->rollout);
	uv_close((uv_handle_t *)&r->rollout, NULL);
}

/*
 * A report was taken and committed: a failure of a rollout's policy is
 * noted with the time it arrived, and the rollouts are judged now, not at
 * the next tick.
 */
void
root_rollout_note(struct root *r, const struct root_delta *d)
{
	const Arbor__PolicyRef	*ref;
	int64_t			*t;

	if (r->head == NULL || (ref = arb_head_find(r->head,
	    d->policy)) == NULL || ref->rollout == NULL)
		return;
	if (d->to == ARB_ST_FAILED || d->to == ARB_ST_DOWNLOAD_FAILED ||
	    d->to == ARB_ST_ERROR) {
		if ((t = arb_strmap_get(r->fails, d->policy)) == NULL &&
		    (t = malloc(sizeof(*t))) != NULL &&
		    arb_strmap_put(r->fails, d->policy, t, NULL) != 0) {
			free(t);
			t = NULL;
		}
		if (t != NULL)
			*t = root_rollout_now_ms();
	}
	/* Judged on the next turn of the loop, once for all taken now. */
	uv_timer_start(&r->rollout, check_cb, 0, ROLLOUT_CHECK_MS);
}

/* --------------------------------------------------------------- control */

static void
ctl_reply(struct arb_req *req, char **lines, size_t n, uint64_t seq)
{
	Arbor__Envelope		env = ARBOR__ENVELOPE__INIT;
	Arbor__RolloutReply	rr = ARBOR__ROLLOUT_REPLY__INIT;

	rr.lines = lines;
	rr.n_lines = n;
	rr.head_seq = seq;
	env.body_case = ARBOR__ENVELOPE__BODY_ROLLOUT_REPLY;
	env.rollout_reply = &rr;
	root_reply(req, &env);
}

/*
 * One rollout as a line of "key=value" words, the same for the views and
 * the demo: policy, wave, waves, state, in, ok, failed, silent, pending,
 * outside_ran, halt_after_ms, why.
 */
static char *
status_line(struct root *r, const Arbor__PolicyRef *ref)
{
	const Arbor__RolloutState	*rs = ref->rollout;
	Arbor__Policy			*p;
	struct wave_count		 c;
	char				*s;
	const char			*state;

	if (arb_catalog_policy(r->store, ref->sha256.data, &p) != 0)
		return NULL;
	if (wave_count(r, ref, p, &c) != 0) {
		arb_wire_free_policy(p);
		return NULL;
	}
	state = rs->halted ? "halted" : rs->paused ? "paused" :
	    rs->wave == p->n_waves && c.pending == 0 && c.silent == 0 ?
	    "complete" : "running";
	if (asprintf(&s, "policy=%s wave=%u waves=%zu name=%s share=%u "
	    "state=%s in=%u ok=%u failed=%u silent=%u pending=%u ran=%u "
	    "outside_ran=%u halt_after_ms=%lld why=%s", p->id, rs->wave,
	    p->n_waves, rs->wave && rs->wave <= p->n_waves &&
	    p->waves[rs->wave - 1]->name ? p->waves[rs->wave - 1]->name : "-",
	    rs->wave && rs->wave <= p->n_waves ?
	    p->waves[rs->wave - 1]->share_pct : 0, state, c.in, c.ok,
	    c.failed, c.silent, c.pending, c.ran, c.outside_ran,
	    rs->halted ? (long long)(rs->halted_ms - rs->tripped_ms) : -1LL,
	    rs->why && rs->why[0] ? rs->why : "-") < 0)
		s = NULL;
	arb_wire_free_policy(p);
	return s;
}

void
root_rollout_ctl(struct root *r, struct arb_req *req,
    const Arbor__RolloutCtl *rc)
{
	const Arbor__PolicyRef	*ref;
	Arbor__RolloutState	 ns;
	Arbor__Policy		*p;
	char			*lines[ARB_MAX_POLICIES], why[200];
	size_t			 i, n = 0;
	int			 rv = 0;

	if (strcmp(rc->op, "status") == 0) {
		for (i = 0; r->head && i < r->head->n_policies; i++) {
			ref = r->head->policies[i];
			if (ref->rollout == NULL || (rc->id[0] != '\0' &&
			    strcmp(rc->id, ref->id) != 0))
				continue;
			if ((lines[n] = status_line(r, ref)) != NULL)
				n++;
		}
		if (n == 0 && rc->id[0] != '\0') {
			root_reply_error(req, ARB_ENOTFOUND, "rollout: no "
			    "staged rollout of that policy");
			return;
		}
		ctl_reply(req, lines, n, r->head ? r->head->seq : 0);
		for (i = 0; i < n; i++)
			free(lines[i]);
		return;
	}
	if (r->head == NULL || (ref = arb_head_find(r->head, rc->id)) ==
	    NULL || ref->rollout == NULL) {
		root_reply_error(req, ARB_ENOTFOUND, "rollout: no staged "
		    "rollout of that policy");
		return;
	}
	ns = *ref->rollout;
	snprintf(why, sizeof(why), "%s by the operator", rc->op);
	ns.why = why;
	if (strcmp(rc->op, "pause") == 0)
		ns.paused = 1;
	else if (strcmp(rc->op, "resume") == 0) {
		ns.paused = 0;
		ns.halted = 0;
		ns.halted_ms = ns.tripped_ms = 0;
		ns.wave_started_ms = root_rollout_now_ms();
	} else if (strcmp(rc->op, "advance") == 0) {
		if ((rv = arb_catalog_policy(r->store, ref->sha256.data,
		    &p)) != 0) {
			root_reply_error(req, rv, "rollout");
			return;
		}
		if (ns.wave < p->n_waves) {
			rv = wave_limit(r, p->id, p->waves[ns.wave]->share_pct,
			    &ns.buckets, NULL);
			ns.wave++;
			ns.wave_started_ms = root_rollout_now_ms();
			ns.halted = ns.paused = 0;
		} else
			rv = ARB_EINVAL;
		arb_wire_free_policy(p);
		if (rv != 0) {
			root_reply_error(req, rv, "rollout advance: already "
			    "at the last wave, or");
			return;
		}
	} else if (strcmp(rc->op, "retry-failed") == 0) {
		/*
		 * The wave's failed endpoints run it again: the head says
		 * from which seq, and a halt is lifted so that they may.
		 */
		ns.retry_seq = r->head->seq + 1;
		ns.halted = 0;
		ns.halted_ms = ns.tripped_ms = 0;
		ns.wave_started_ms = root_rollout_now_ms();
	} else {
		root_reply_error(req, ARB_EINVAL, "rollout: the operations "
		    "are status, pause, resume, advance, retry-failed");
		return;
	}
	if ((rv = sign_state(r, ref, &ns, "rollout")) != 0) {
		root_reply_error(req, rv, "rollout");
		return;
	}
	log_info("root: rollout %s: %s", rc->id, why);
	ctl_reply(req, NULL, 0, r->head->seq);
}
