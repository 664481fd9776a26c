/*
 * Unit tests for lib/schedule.c and the schedule and rollout fields of
 * lib/policy.c: windows across midnight, across a daylight-saving change
 * and in several zones; not before, deadlines, spread; rollout buckets
 * (stable, shares that add up) and the halt thresholds (root/rollout.c's
 * rule is tested in the integration tests, against real reports).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "arbor/error.h"
#include "arbor/policy.h"
#include "arbor/schedule.h"

static void
zone(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

/* Local time in the zone set, as seconds since the epoch. */
static time_t
at(int y, int mo, int d, int h, int mi)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_isdst = -1;
	return mktime(&tm);
}

#define MON	(1u << 1)
#define FRI	(1u << 5)
#define SAT	(1u << 6)

static void
test_window_midnight(void **state)
{
	Arbor__Window w = ARBOR__WINDOW__INIT;

	(void)state;
	zone("UTC");
	w.days = FRI;
	w.start_min = 22 * 60;
	w.end_min = 4 * 60;
	/* 2026-12-04 is a Friday. */
	assert_false(arb_window_open(&w, at(2026, 12, 4, 21, 59)));
	assert_true(arb_window_open(&w, at(2026, 12, 4, 22, 0)));
	assert_true(arb_window_open(&w, at(2026, 12, 4, 23, 59)));
	assert_true(arb_window_open(&w, at(2026, 12, 5, 3, 59)));	/* Sat */
	assert_false(arb_window_open(&w, at(2026, 12, 5, 4, 0)));
	assert_false(arb_window_open(&w, at(2026, 12, 5, 22, 30)));	/* Sat eve */
	assert_false(arb_window_open(&w, at(2026, 12, 4, 2, 0)));	/* Fri morning */
	w.days = 0;	/* every day */
	assert_true(arb_window_open(&w, at(2026, 12, 1, 1, 0)));
	assert_false(arb_window_open(&w, at(2026, 12, 1, 12, 0)));
}

static void
test_window_zones(void **state)
{
	Arbor__Window	 w = ARBOR__WINDOW__INIT;
	Arbor__Window	*wp = &w;
	Arbor__Schedule	 s = ARBOR__SCHEDULE__INIT;
	time_t		 t = 1796601600;	/* 2026-12-07 00:00 UTC, Mon */

	(void)state;
	w.days = MON;
	w.start_min = 9 * 60;
	w.end_min = 17 * 60;
	s.windows = &wp;
	s.n_windows = 1;
	zone("UTC");
	assert_int_equal(arb_windows_next(&s, t), t + 9 * 3600);
	zone("Asia/Tokyo");	/* UTC+9: 09:00 already */
	assert_true(arb_window_open(&w, t));
	assert_int_equal(arb_windows_next(&s, t), t);
	zone("America/New_York");	/* UTC-5: Sunday 19:00 */
	assert_false(arb_window_open(&w, t));
	assert_int_equal(arb_windows_next(&s, t), t + (5 + 9) * 3600);
	zone("UTC");
}

static void
test_window_dst(void **state)
{
	Arbor__Window	 w = ARBOR__WINDOW__INIT;
	Arbor__Window	*wp = &w;
	Arbor__Schedule	 s = ARBOR__SCHEDULE__INIT;
	time_t		 sat, next;
	struct tm	 tm;

	(void)state;
	/* Europe/Paris goes from +2 to +1 on Sunday 2026-10-25 at 03:00. */
	zone("Europe/Paris");
	w.days = 1u << 0;	/* Sunday */
	w.start_min = 2 * 60 + 30;
	w.end_min = 5 * 60;
	s.windows = &wp;
	s.n_windows = 1;
	sat = at(2026, 10, 24, 12, 0);
	next = (time_t)arb_windows_next(&s, sat);
	assert_true(next > sat);
	localtime_r(&next, &tm);
	assert_int_equal(tm.tm_mday, 25);
	assert_int_equal(tm.tm_hour, 2);
	assert_int_equal(tm.tm_min, 30);
	/* Window 02:30-05:00 local lasts 3.5 h of real time that night. */
	assert_true(arb_window_open(&w, next + 3 * 3600));
	assert_false(arb_window_open(&w, next + 3 * 3600 + 31 * 60));
	zone("UTC");
}

static void
test_not_before_deadline(void **state)
{
	Arbor__Policy		p = ARBOR__POLICY__INIT;
	Arbor__Schedule		s = ARBOR__SCHEDULE__INIT;
	Arbor__Window		w = ARBOR__WINDOW__INIT, *wp = &w;
	struct arb_sched_verdict v;
	int64_t			pub = 1796601600;	/* Mon 00:00 UTC */

	(void)state;
	zone("UTC");
	p.id = "p";
	p.published_at = pub;
	p.schedule = &s;
	s.not_before_rel = 3600;
	s.deadline_rel = 86400;
	w.start_min = 22 * 60;
	w.end_min = 23 * 60;
	s.windows = &wp;
	s.n_windows = 1;
	arb_sched_eval(&p, "e1", pub + 10, 0, &v);
	assert_int_equal(v.wait, ARB_WAIT_NOT_BEFORE);
	assert_int_equal(v.next, pub + 3600);
	arb_sched_eval(&p, "e1", pub + 7200, 0, &v);
	assert_int_equal(v.wait, ARB_WAIT_WINDOW);
	assert_int_equal(v.next, pub + 22 * 3600);
	/* A deferral holds past the window, never past the deadline. */
	arb_sched_eval(&p, "e1", pub + 22 * 3600, pub + 30 * 3600, &v);
	assert_int_equal(v.wait, ARB_WAIT_DEFERRED);
	assert_int_equal(v.next, pub + 86400);
	arb_sched_eval(&p, "e1", pub + 86400, pub + 30 * 3600, &v);
	assert_int_equal(v.wait, ARB_WAIT_NONE);
	assert_true(v.past_deadline);
	/* The earlier of an absolute and a relative deadline. */
	s.deadline = pub + 600;
	assert_int_equal(arb_sched_deadline(&s, pub), pub + 600);
}

static void
test_spread(void **state)
{
	Arbor__Policy		 p = ARBOR__POLICY__INIT;
	Arbor__Schedule		 s = ARBOR__SCHEDULE__INIT;
	struct arb_sched_verdict v;
	char			 id[32];
	uint32_t		 o, hist[10] = { 0 };
	int			 i;

	(void)state;
	p.id = "p";
	p.published_at = 1000;
	p.schedule = &s;
	s.spread_s = 3600;
	/* Stable: the same endpoint, the same offset. */
	assert_int_equal(arb_spread_offset("abc", "p", 3600),
	    arb_spread_offset("abc", "p", 3600));
	for (i = 0; i < 10000; i++) {
		snprintf(id, sizeof(id), "ep%d", i);
		o = arb_spread_offset(id, "p", 3600);
		assert_true(o < 3600);
		hist[o / 360]++;
	}
	for (i = 0; i < 10; i++)	/* about 1000 each */
		assert_true(hist[i] > 800 && hist[i] < 1200);
	o = arb_spread_offset("abc", "p", 3600);
	arb_sched_eval(&p, "abc", 1000 + o - 1, 0, &v);
	assert_int_equal(v.wait, ARB_WAIT_SPREAD);
	assert_int_equal(v.next, 1000 + o);
	arb_sched_eval(&p, "abc", 1000 + o, 0, &v);
	assert_int_equal(v.wait, ARB_WAIT_NONE);
}

static void
test_buckets(void **state)
{
	uint32_t	b[1000], c[1000], lim25, lim60;
	char		id[48];
	size_t		i, in25 = 0, in60 = 0;

	(void)state;
	for (i = 0; i < 1000; i++) {
		snprintf(id, sizeof(id), "%032zx", i * 7919);
		b[i] = arb_rollout_bucket(id, "pol");
		assert_true(b[i] < ARB_ROLLOUT_BUCKETS);
		assert_int_equal(b[i], arb_rollout_bucket(id, "pol"));
	}
	memcpy(c, b, sizeof(b));
	lim25 = arb_rollout_limit(c, 1000, 25);
	memcpy(c, b, sizeof(b));
	lim60 = arb_rollout_limit(c, 1000, 60);
	for (i = 0; i < 1000; i++) {
		in25 += b[i] < lim25;
		in60 += b[i] < lim60;
	}
	/* Exactly the share asked, and each wave contains the one before. */
	assert_int_equal(in25, 250);
	assert_int_equal(in60, 600);
	assert_true(lim60 >= lim25);
	assert_int_equal(arb_rollout_limit(c, 1000, 100), ARB_ROLLOUT_BUCKETS);
	assert_int_equal(arb_rollout_limit(c, 0, 30), 0);
	/* 4 of 12 for a third. */
	assert_int_equal((12 * 33 + 99) / 100, 4);
}

static void
test_clock(void **state)
{
	(void)state;
	setenv("ARBOR_CLOCK", "12345", 1);
	assert_int_equal(arb_clock_now(), 12345);
	unsetenv("ARBOR_CLOCK");
	setenv("ARBOR_CLOCK_OFFSET", "86400", 1);
	assert_true(arb_clock_now() >= (int64_t)time(NULL) + 86399);
	unsetenv("ARBOR_CLOCK_OFFSET");
}

#define PBASE "{\"id\": \"p\", \"version\": 1, \"title\": \"T\", "	\
	"\"severity\": \"high\", \"applicability\": \"true\", "		\
	"\"action\": \"true\", \"blobs\": [], "

static int
parse(const char *json, struct arb_policy_file **pf, char *err, size_t n)
{
	return arb_policy_parse("t.json", json, strlen(json), NULL, pf, err,
	    n);
}

static void
test_policy_fields(void **state)
{
	struct arb_policy_file	*pf;
	char			 err[256];

	(void)state;
	assert_int_equal(parse(PBASE "\"schedule\": {\"not_before\": "
	    "\"+2h\", \"deadline\": \"2026-12-31T00:00:00Z\", \"spread\": "
	    "\"30m\", \"run_when\": \"true\", \"windows\": [{\"days\": "
	    "\"mon-fri\", \"from\": \"22:00\", \"to\": \"04:00\"}, {\"days\": "
	    "[\"sat\", \"sun\"], \"from\": \"00:00\", \"to\": \"24:00\"}]}, "
	    "\"rollout\": {\"silent\": \"10m\", \"waves\": [{\"name\": "
	    "\"pilot\", \"share\": 33, \"halt\": 25, \"soak\": \"1h\"}, "
	    "{\"share\": 100}]}}", &pf, err, sizeof(err)), 0);
	assert_int_equal(pf->pol.schedule->not_before_rel, 7200);
	assert_int_equal(pf->pol.schedule->deadline, 1798675200);
	assert_int_equal(pf->pol.schedule->spread_s, 1800);
	assert_int_equal(pf->pol.schedule->n_windows, 2);
	assert_int_equal(pf->pol.schedule->windows[0]->days, 0x3e);
	assert_int_equal(pf->pol.schedule->windows[0]->start_min, 1320);
	assert_int_equal(pf->pol.schedule->windows[0]->end_min, 240);
	assert_int_equal(pf->pol.schedule->windows[1]->days, 0x41);
	assert_int_equal(pf->pol.silent_s, 600);
	assert_int_equal(pf->pol.n_waves, 2);
	assert_int_equal(pf->pol.waves[0]->share_pct, 33);
	assert_int_equal(pf->pol.waves[0]->halt_pct, 25);
	assert_int_equal(pf->pol.waves[0]->soak_s, 3600);
	assert_int_equal(pf->pol.waves[1]->halt_pct, 100);
	arb_policy_file_free(pf);

	assert_int_equal(parse(PBASE "\"schedule\": {\"windows\": [{\"days\": "
	    "\"mon-fry\", \"from\": \"22:00\", \"to\": \"04:00\"}]}}", &pf,
	    err, sizeof(err)), ARB_EINVAL);
	assert_non_null(strstr(err, "schedule.windows[0]"));
	assert_int_equal(parse(PBASE "\"schedule\": {\"windows\": [{"
	    "\"from\": \"25:00\", \"to\": \"04:00\"}]}}", &pf, err,
	    sizeof(err)), ARB_EINVAL);
	assert_non_null(strstr(err, "HH:MM"));
	assert_int_equal(parse(PBASE "\"schedule\": {\"spread\": \"5y\"}}",
	    &pf, err, sizeof(err)), ARB_EINVAL);
	assert_non_null(strstr(err, "schedule.spread"));
	assert_int_equal(parse(PBASE "\"schedule\": {\"run_when\": \"(\"}}",
	    &pf, err, sizeof(err)), ARB_EINVAL);
	assert_non_null(strstr(err, "schedule.run_when"));
	assert_int_equal(parse(PBASE "\"rollout\": {\"waves\": [{\"share\": "
	    "50}, {\"share\": 40}]}}", &pf, err, sizeof(err)), ARB_EINVAL);
	assert_non_null(strstr(err, "cumulative"));
	assert_int_equal(parse(PBASE "\"rollout\": {\"waves\": [{\"share\": "
	    "50}]}}", &pf, err, sizeof(err)), ARB_EINVAL);
	assert_non_null(strstr(err, "100"));
	assert_int_equal(parse(PBASE "\"rollout\": {\"waves\": [{\"share\": "
	    "50, \"speed\": 1}, {\"share\": 100}]}}", &pf, err, sizeof(err)),
	    ARB_EINVAL);
	assert_non_null(strstr(err, "speed"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_midnight),
		cmocka_unit_test(test_window_zones),
		cmocka_unit_test(test_window_dst),
		cmocka_unit_test(test_not_before_deadline),
		cmocka_unit_test(test_spread),
		cmocka_unit_test(test_buckets),
		cmocka_unit_test(test_clock),
		cmocka_unit_test(test_policy_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
