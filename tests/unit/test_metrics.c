/*
 * Unit tests for lib/metrics.c: the exact text rendered (HELP and TYPE
 * lines, escaping, order), the names refused, and the atomic file write.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "arbor/error.h"
#include "arbor/io.h"
#include "arbor/metrics.h"

static char *
render(struct arb_metrics *m)
{
	char	*buf;
	size_t	 len;

	assert_int_equal(arb_metrics_render(m, &buf, &len), 0);
	assert_int_equal(strlen(buf), len);
	return buf;
}

static void
test_render(void **state)
{
	struct arb_metrics	*m;
	char			*buf;

	(void)state;
	assert_int_equal(arb_metrics_new(&m), 0);
	assert_int_equal(arb_metrics_family(m, "arbor_requests_total",
	    ARB_METRIC_COUNTER, "kind", "Requests served, by kind"), 0);
	assert_int_equal(arb_metrics_family(m, "arbor_empty",
	    ARB_METRIC_GAUGE, NULL, "Never set: left out"), 0);
	assert_int_equal(arb_metrics_one(m, "arbor_head_seq",
	    ARB_METRIC_GAUGE, "Head\\seq\nsecond line", 42), 0);
	/* Samples interleaved across families come out grouped, in order. */
	assert_int_equal(arb_metrics_set(m, "arbor_requests_total", "head",
	    3), 0);
	assert_int_equal(arb_metrics_set(m, "arbor_requests_total",
	    "a\"b\\c\nd", 1), 0);
	assert_int_equal(arb_metrics_set(m, "arbor_requests_total", "head",
	    5), 0);
	assert_int_equal(arb_metrics_set(m, "arbor_head_seq", NULL, 0.5), 0);
	buf = render(m);
	assert_string_equal(buf,
	    "# HELP arbor_requests_total Requests served, by kind\n"
	    "# TYPE arbor_requests_total counter\n"
	    "arbor_requests_total{kind=\"head\"} 5\n"
	    "arbor_requests_total{kind=\"a\\\"b\\\\c\\nd\"} 1\n"
	    "# HELP arbor_head_seq Head\\\\seq\\nsecond line\n"
	    "# TYPE arbor_head_seq gauge\n"
	    "arbor_head_seq 0.5\n");
	free(buf);
	arb_metrics_free(m);
}

static void
test_values(void **state)
{
	struct arb_metrics	*m;
	char			*buf;

	(void)state;
	assert_int_equal(arb_metrics_new(&m), 0);
	assert_int_equal(arb_metrics_family(m, "g", ARB_METRIC_GAUGE, "x",
	    "h"), 0);
	assert_int_equal(arb_metrics_set(m, "g", "big", 9007199254740992.0),
	    0);
	assert_int_equal(arb_metrics_set(m, "g", "neg", -3), 0);
	assert_int_equal(arb_metrics_set(m, "g", "inf", 1.0 / 0.0), 0);
	assert_int_equal(arb_metrics_set(m, "g", "nan", 0.0 / 0.0), 0);
	assert_int_equal(arb_metrics_set(m, "g", "", 0), 0);
	buf = render(m);
	assert_string_equal(buf, "# HELP g h\n# TYPE g gauge\n"
	    "g{x=\"big\"} 9007199254740992\n"
	    "g{x=\"neg\"} -3\n"
	    "g{x=\"inf\"} +Inf\n"
	    "g{x=\"nan\"} NaN\n"
	    "g{x=\"\"} 0\n");
	free(buf);
	arb_metrics_free(m);
}

static void
test_two_labels(void **state)
{
	struct arb_metrics	*m;
	char			*buf;

	(void)state;
	assert_int_equal(arb_metrics_new(&m), 0);
	assert_int_equal(arb_metrics_family(m, "arbor_policy_endpoints",
	    ARB_METRIC_GAUGE, "policy,state", "Endpoints by state"), 0);
	assert_int_equal(arb_metrics_set2(m, "arbor_policy_endpoints", "p1",
	    "fixed", 2), 0);
	assert_int_equal(arb_metrics_set2(m, "arbor_policy_endpoints", "p1",
	    "failed", 1), 0);
	assert_int_equal(arb_metrics_set2(m, "arbor_policy_endpoints", "p1",
	    "fixed", 3), 0);
	assert_int_equal(arb_metrics_set(m, "arbor_policy_endpoints", "p1",
	    1), ARB_EINVAL);
	assert_int_equal(arb_metrics_set2(m, "arbor_policy_endpoints", "p1",
	    NULL, 1), ARB_EINVAL);
	buf = render(m);
	assert_string_equal(buf,
	    "# HELP arbor_policy_endpoints Endpoints by state\n"
	    "# TYPE arbor_policy_endpoints gauge\n"
	    "arbor_policy_endpoints{policy=\"p1\",state=\"fixed\"} 3\n"
	    "arbor_policy_endpoints{policy=\"p1\",state=\"failed\"} 1\n");
	free(buf);
	/* At most two labels, each a valid name. */
	assert_int_equal(arb_metrics_family(m, "x", ARB_METRIC_GAUGE,
	    "a,b,c", "h"), ARB_EINVAL);
	assert_int_equal(arb_metrics_family(m, "x", ARB_METRIC_GAUGE,
	    "a,", "h"), ARB_EINVAL);
	assert_int_equal(arb_metrics_family(m, "x", ARB_METRIC_GAUGE,
	    "a,b-c", "h"), ARB_EINVAL);
	arb_metrics_free(m);
}

static void
test_refused(void **state)
{
	struct arb_metrics	*m;
	char			*buf;

	(void)state;
	assert_int_equal(arb_metrics_new(&m), 0);
	/* A counter's name ends in _total. */
	assert_int_equal(arb_metrics_family(m, "arbor_bytes",
	    ARB_METRIC_COUNTER, NULL, "h"), ARB_EINVAL);
	assert_int_equal(arb_metrics_family(m, "_total",
	    ARB_METRIC_COUNTER, NULL, "h"), 0);
	assert_int_equal(arb_metrics_family(m, "9lives", ARB_METRIC_GAUGE,
	    NULL, "h"), ARB_EINVAL);
	assert_int_equal(arb_metrics_family(m, "a-b", ARB_METRIC_GAUGE,
	    NULL, "h"), ARB_EINVAL);
	assert_int_equal(arb_metrics_family(m, "", ARB_METRIC_GAUGE,
	    NULL, "h"), ARB_EINVAL);
	assert_int_equal(arb_metrics_family(m, "ok:sub", ARB_METRIC_GAUGE,
	    "a:b", "h"), ARB_EINVAL);
	assert_int_equal(arb_metrics_family(m, "ok:sub", ARB_METRIC_GAUGE,
	    "__name", "h"), ARB_EINVAL);
	assert_int_equal(arb_metrics_family(m, "ok:sub", ARB_METRIC_GAUGE,
	    "policy", "h"), 0);
	assert_int_equal(arb_metrics_family(m, "ok:sub", ARB_METRIC_GAUGE,
	    NULL, "h"), ARB_EINVAL);	/* declared before */
	/* The label given exactly when the family has one. */
	assert_int_equal(arb_metrics_set(m, "ok:sub", NULL, 1), ARB_EINVAL);
	assert_int_equal(arb_metrics_set(m, "_total", "x", 1), ARB_EINVAL);
	assert_int_equal(arb_metrics_set(m, "nope", NULL, 1), ARB_ENOTFOUND);
	buf = render(m);
	assert_string_equal(buf, "");
	free(buf);
	arb_metrics_free(m);
}

static void
test_write(void **state)
{
	struct arb_metrics	*m;
	char			 dir[] = "/tmp/arbor-metrics-XXXXXX", path[64];
	char			 tmp[80];
	uint8_t			*buf;
	size_t			 len;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/arbor.prom", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(arb_metrics_new(&m), 0);
	assert_int_equal(arb_metrics_build_info(m), 0);
	assert_int_equal(arb_metrics_write(m, path), 0);
	assert_int_equal(arb_io_read_file(path, 4096, &buf, &len), 0);
	assert_non_null(strstr((char *)buf, "# TYPE arbor_build_info gauge\n"
	    "arbor_build_info{version=\""));
	assert_int_equal(access(tmp, F_OK), -1);	/* renamed away */
	free(buf);
	/* A directory that is not there: an error. */
	assert_int_equal(arb_metrics_write(m, "/nonexistent/x.prom"),
	    -ENOENT);
	arb_metrics_free(m);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_two_labels),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
