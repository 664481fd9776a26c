/*
 * When an endpoint may run a policy: its schedule (not before, deadline,
 * maintenance windows, a spread of start times), evaluated in the
 * endpoint's local time (TZ), and the stable hash that places an endpoint
 * in the waves of a staged rollout.
 *
 * Time is testable: arb_clock_now() is the system's time plus
 * ARBOR_CLOCK_OFFSET seconds, or ARBOR_CLOCK (seconds since the epoch)
 * fixed, when those are set in the environment.
 */
#ifndef ARBOR_SCHEDULE_H
#define ARBOR_SCHEDULE_H

#include <stdint.h>
#include <time.h>

#include "arbor.pb-c.h"

/* Seconds since the epoch, as the clock configured says. */
int64_t	arb_clock_now(void);

enum arb_wait {
	ARB_WAIT_NONE = 0,	/* it may run now */
	ARB_WAIT_NOT_BEFORE,
	ARB_WAIT_SPREAD,	/* its own start within the spread */
	ARB_WAIT_WINDOW,
	ARB_WAIT_CONSTRAINT,	/* run_when is false */
	ARB_WAIT_DEFERRED,
	ARB_WAIT_WAVE,		/* a staged rollout has not reached it */
	ARB_WAIT_HALTED,	/* the rollout halted, or is paused */
	ARB_WAIT_COUNT
};

/* "window", "not before"...; NULL out of range. */
const char *arb_wait_name(unsigned w);

/* The verdict: may it run, and if not why and from when to try again. */
struct arb_sched_verdict {
	enum arb_wait	wait;
	int64_t		next;		/* seconds since the epoch; 0: unknown */
	int		past_deadline;
};

/*
 * Is the window open at t, in local time?  A window whose end is before
 * its start crosses midnight: it belongs to the day it starts on.
 */
int	arb_window_open(const Arbor__Window *w, time_t t);

/*
 * The first minute at or after t when some window of s opens (t itself
 * when one is open), looking up to eight days ahead; 0 if none does.
 */
int64_t	arb_windows_next(const Arbor__Schedule *s, time_t t);

/* The endpoint's stable offset in [0, span) for policy_id: a hash. */
uint32_t arb_spread_offset(const char *endpoint_id, const char *policy_id,
	    uint32_t span);

/* The absolute not-before and deadline of s (0: none). */
int64_t	arb_sched_not_before(const Arbor__Schedule *s, int64_t published_at);
int64_t	arb_sched_deadline(const Arbor__Schedule *s, int64_t published_at);

/*
 * Evaluate the schedule of p for endpoint_id at now (run_when and
 * deferral are the caller's: it passes deferred_until, 0 for none).  Past
 * the deadline nothing but not_before holds the policy back.
 */
void	arb_sched_eval(const Arbor__Policy *p, const char *endpoint_id,
	    int64_t now, int64_t deferred_until, struct arb_sched_verdict *v);

/*
 * The rollout bucket of an endpoint for a policy, 0..65535: the first two
 * bytes of SHA-256(policy id, NUL, endpoint id).  Stable, and uniform, so
 * that a wave names a range of buckets, never a list of ids.
 */
#define ARB_ROLLOUT_BUCKETS	65536u
uint32_t arb_rollout_bucket(const char *endpoint_id, const char *policy_id);

/*
 * The bucket range that lets in share_pct % of the n endpoints whose
 * buckets are b (sorted in place): the smallest limit such that
 * ceil(n * share / 100) of them are below it; ARB_ROLLOUT_BUCKETS for 100 %.
 */
uint32_t arb_rollout_limit(uint32_t *b, size_t n, uint32_t share_pct);

#endif
