/*
 * The root's compliance rules (root/compliance.c): which reported states
 * satisfy a baseline's policy, and how an endpoint is classified:
 * exempt before not reporting before below before compliant.  And the
 * stored baselines and exemptions: what their decoders refuse.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arbor/error.h"
#include "arbor/report.h"
#include "root.h"

static void
test_satisfied(void **state)
{
	unsigned	st;

	(void)state;
	for (st = 0; st < ARB_ST_COUNT; st++) {
		int want = st == ARB_ST_FIXED || st == ARB_ST_NOT_APPLICABLE;

		assert_int_equal(root_comp_satisfied((int)st, 2, 2), want);
		assert_int_equal(root_comp_satisfied((int)st, 3, 2), want);
		/* About an older version: not the latest, never enough. */
		assert_int_equal(root_comp_satisfied((int)st, 1, 2), 0);
		/* A policy no longer in the catalog: any version counts. */
		assert_int_equal(root_comp_satisfied((int)st, 1, 0), want);
	}
	assert_int_equal(root_comp_satisfied(-1, 0, 0), 0);	/* no report */
}

static void
test_classify(void **state)
{
	Arbor__CompliancePolicy	 a = ARBOR__COMPLIANCE_POLICY__INIT;
	Arbor__CompliancePolicy	 b = ARBOR__COMPLIANCE_POLICY__INIT;
	Arbor__CompliancePolicy	*v[2] = { &a, &b };
	const int64_t		 now = 1000000000000LL, day = 86400000;
	const int64_t		 fresh = now / 1000 - 60;	/* a minute ago */
	const int64_t		 stale = now / 1000 - 4 * 86400;

	(void)state;
	a.ok = b.ok = 1;
	assert_int_equal(root_comp_classify(0, fresh, now, 3 * day, v, 2),
	    ROOT_COMP_COMPLIANT);
	b.ok = 0;
	assert_int_equal(root_comp_classify(0, fresh, now, 3 * day, v, 2),
	    ROOT_COMP_BELOW);
	/* Silent too long: not reporting, whatever it last said. */
	assert_int_equal(root_comp_classify(0, stale, now, 3 * day, v, 2),
	    ROOT_COMP_SILENT);
	a.ok = b.ok = 1;
	assert_int_equal(root_comp_classify(0, stale, now, 3 * day, v, 2),
	    ROOT_COMP_SILENT);
	/* Exactly the limit is still heard; a second more is not. */
	assert_int_equal(root_comp_classify(0, now / 1000 - 3 * 86400, now,
	    3 * day, v, 2), ROOT_COMP_COMPLIANT);
	assert_int_equal(root_comp_classify(0, now / 1000 - 3 * 86400 - 1,
	    now, 3 * day, v, 2), ROOT_COMP_SILENT);
	/* Exempt wins over everything: the operator said so. */
	b.ok = 0;
	assert_int_equal(root_comp_classify(1, stale, now, 3 * day, v, 2),
	    ROOT_COMP_EXEMPT);
	assert_int_equal(root_comp_classify(1, fresh, now, 3 * day, v, 2),
	    ROOT_COMP_EXEMPT);
	/* A baseline of no policies is met by any endpoint heard from. */
	assert_int_equal(root_comp_classify(0, fresh, now, 3 * day, v, 0),
	    ROOT_COMP_COMPLIANT);
	assert_string_equal(root_comp_name(ROOT_COMP_SILENT), "not-reporting");
	assert_string_equal(root_comp_name(ROOT_COMP_COUNT), "?");
}

static void
test_stored_records(void **state)
{
	Arbor__Baseline		 b = ARBOR__BASELINE__INIT, *bo;
	Arbor__Exemption	 x = ARBOR__EXEMPTION__INIT, *xo;
	char			*pols[] = { "p1", "p2" }, *bad[] = { "p/1" };
	uint8_t			*buf;
	size_t			 len;

	(void)state;
	b.name = "servers";
	b.policies = pols;
	b.n_policies = 2;
	assert_int_equal(arb_wire_encode_baseline(&b, &buf, &len), 0);
	assert_int_equal(arb_wire_decode_baseline(buf, len, &bo), 0);
	assert_string_equal(bo->policies[1], "p2");
	arb_wire_free_baseline(bo);
	free(buf);
	b.policies = bad;		/* not a policy id */
	b.n_policies = 1;
	assert_int_equal(arb_wire_encode_baseline(&b, &buf, &len), 0);
	assert_int_equal(arb_wire_decode_baseline(buf, len, &bo),
	    ARB_EPROTO);
	free(buf);

	x.endpoint_id = "abc";
	x.reason = "freeze";
	assert_int_equal(arb_wire_encode_exemption(&x, &buf, &len), 0);
	assert_int_equal(arb_wire_decode_exemption(buf, len, &xo), 0);
	assert_string_equal(xo->reason, "freeze");
	arb_wire_free_exemption(xo);
	free(buf);
	x.group = "lab";		/* both an endpoint and a group */
	assert_int_equal(arb_wire_encode_exemption(&x, &buf, &len), 0);
	assert_int_equal(arb_wire_decode_exemption(buf, len, &xo),
	    ARB_EPROTO);
	free(buf);
	assert_int_equal(arb_wire_decode_exemption((const uint8_t *)"\xff",
	    1, &xo), ARB_EPROTO);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_satisfied),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_stored_records),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
