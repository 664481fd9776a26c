/*
 * Schedules in the endpoint's local time, spread, and rollout buckets.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arbor/schedule.h"
#include "arbor/sig.h"

static const char *const wait_names[ARB_WAIT_COUNT] = {
	"none", "not before", "spread", "window", "constraint", "deferred",
	"wave", "halted",
};

const char *
arb_wait_name(unsigned w)
{
	return w < ARB_WAIT_COUNT ? wait_names[w] : NULL;
}

int64_t
arb_clock_now(void)
{
	const char	*s;
	char		*end;
	long long	 v;

	if ((s = getenv("ARBOR_CLOCK")) != NULL && *s != '\0') {
		v = strtoll(s, &end, 10);
		if (*end == '\0')
			return v;
	}
	v = 0;
	if ((s = getenv("ARBOR_CLOCK_OFFSET")) != NULL && *s != '\0') {
		v = strtoll(s, &end, 10);
		if (*end != '\0')
			v = 0;
	}
	return (int64_t)time(NULL) + v;
}

int
arb_window_open(const Arbor__Window *w, time_t t)
{
	struct tm	tm;
	unsigned	m, d, prev, days;

	if (localtime_r(&t, &tm) == NULL)
		return 0;
	m = (unsigned)(tm.tm_hour * 60 + tm.tm_min);
	d = (unsigned)tm.tm_wday;
	prev = (d + 6) % 7;
	days = w->days ? w->days : 0x7f;
	if (w->start_min == w->end_min || (w->start_min == 0 &&
	    w->end_min == 1440))
		return (days >> d) & 1;
	if (w->start_min < w->end_min)
		return ((days >> d) & 1) && m >= w->start_min &&
		    m < w->end_min;
	/* Across midnight: the evening of d, or the morning after prev. */
	return (((days >> d) & 1) && m >= w->start_min) ||
	    (((days >> prev) & 1) && m < w->end_min);
}

static int
windows_open(const Arbor__Schedule *s, time_t t)
{
	size_t i;

	if (s == NULL || s->n_windows == 0)
		return 1;
	for (i = 0; i < s->n_windows; i++)
		if (arb_window_open(s->windows[i], t))
			return 1;
	return 0;
}

int64_t
arb_windows_next(const Arbor__Schedule *s, time_t t)
{
	time_t	u, end;

	if (windows_open(s, t))
		return (int64_t)t;
	/*
	 * Minute by minute, in local time as the C library knows it: a
	 * daylight-saving change moves the answer as it moves the clocks.
	 */
	u = t - t % 60 + 60;
	for (end = t + 8 * 86400; u <= end; u += 60)
		if (windows_open(s, u))
			return (int64_t)u;
	return 0;
}

static uint32_t
hash32(const char *a, const char *b)
{
	uint8_t	buf[2 * 129 + 2], h[ARB_SHA256_LEN];
	size_t	la = strnlen(a, 128), lb = strnlen(b, 128);

	memcpy(buf, a, la);
	buf[la] = 0;
	memcpy(buf + la + 1, b, lb);
	if (arb_sha256(buf, la + 1 + lb, h) != 0)
		return 0;
	return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 |
	    (uint32_t)h[2] << 8 | h[3];
}

uint32_t
arb_spread_offset(const char *endpoint_id, const char *policy_id,
    uint32_t span)
{
	/* Not the rollout's hash: its own order, salted differently. */
	return span == 0 ? 0 : hash32(endpoint_id, policy_id) % span;
}

uint32_t
arb_rollout_bucket(const char *endpoint_id, const char *policy_id)
{
	return hash32(policy_id, endpoint_id) >> 16;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

uint32_t
arb_rollout_limit(uint32_t *b, size_t n, uint32_t share_pct)
{
	size_t k;

	if (share_pct >= 100)
		return ARB_ROLLOUT_BUCKETS;
	k = (n * share_pct + 99) / 100;
	if (k == 0)
		return 0;
	qsort(b, n, sizeof(*b), cmp_u32);
	return b[k - 1] + 1;
}

int64_t
arb_sched_not_before(const Arbor__Schedule *s, int64_t published_at)
{
	int64_t t = 0;

	if (s == NULL)
		return 0;
	if (s->not_before_rel > 0)
		t = published_at + s->not_before_rel;
	if (s->not_before > t)
		t = s->not_before;
	return t;
}

int64_t
arb_sched_deadline(const Arbor__Schedule *s, int64_t published_at)
{
	int64_t t = 0;

	if (s == NULL)
		return 0;
	if (s->deadline_rel > 0)
		t = published_at + s->deadline_rel;
	if (s->deadline > 0 && (t == 0 || s->deadline < t))
		t = s->deadline;
	return t;
}

void
arb_sched_eval(const Arbor__Policy *p, const char *endpoint_id, int64_t now,
    int64_t deferred_until, struct arb_sched_verdict *v)
{
	const Arbor__Schedule	*s = p->schedule;
	int64_t			 nb, dl, start, next;

	memset(v, 0, sizeof(*v));
	nb = arb_sched_not_before(s, p->published_at);
	dl = arb_sched_deadline(s, p->published_at);
	if (nb > now) {
		v->wait = ARB_WAIT_NOT_BEFORE;
		v->next = nb;
		return;
	}
	if (dl > 0 && now >= dl) {
		v->past_deadline = 1;
		return;
	}
	if (s != NULL && s->spread_s > 0) {
		start = (nb > 0 ? nb : p->published_at) +
		    arb_spread_offset(endpoint_id, p->id, s->spread_s);
		if (start > now) {
			v->wait = ARB_WAIT_SPREAD;
			v->next = dl > 0 && dl < start ? dl : start;
			return;
		}
	}
	if (deferred_until > now) {
		v->wait = ARB_WAIT_DEFERRED;
		v->next = dl > 0 && dl < deferred_until ? dl : deferred_until;
		return;
	}
	if (!windows_open(s, (time_t)now)) {
		v->wait = ARB_WAIT_WINDOW;
		next = arb_windows_next(s, (time_t)now);
		v->next = dl > 0 && (next == 0 || dl < next) ? dl : next;
	}
}
