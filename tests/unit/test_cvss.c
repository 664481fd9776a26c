/*
 * Unit tests for lib/cvss.c: CVSS 3.x base scores against the scores
 * FIRST's calculator gives, refused vectors, and CVE id syntax.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "arbor/cvss.h"
#include "arbor/error.h"

static void
test_scores(void **state)
{
	static const struct {
		const char	*v;
		double		 score;
	} cases[] = {
		{ "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8 },
		{ "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9 },
		{ "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N", 5.5 },
		{ "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N", 3.1 },
		{ "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:L/I:L/A:N", 7.2 },
		{ "CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N", 0.0 },
		/* Temporal metrics are ignored. */
		{ "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P", 9.8 },
	};
	const char	*why;
	double		 s;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(arb_cvss_score(cases[i].v, &s, &why), 0);
		assert_true(s > cases[i].score - 0.001 &&
		    s < cases[i].score + 0.001);
	}
	assert_int_equal(arb_cvss_score("AV:N/AC:L", &s, &why), ARB_EINVAL);
	assert_int_equal(arb_cvss_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/"
	    "C:H/I:H", &s, &why), ARB_EINVAL);		/* A missing */
	assert_int_equal(arb_cvss_score("CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/"
	    "C:H/I:H/A:H", &s, &why), ARB_EINVAL);
	assert_int_equal(arb_cvss_score("CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/"
	    "S:U/C:H/I:H/A:H", &s, &why), ARB_EINVAL);	/* twice */
}

static void
test_cve(void **state)
{
	(void)state;
	assert_true(arb_cve_valid("CVE-2026-1234"));
	assert_true(arb_cve_valid("CVE-2024-123456"));
	assert_false(arb_cve_valid("CVE-2026-123"));
	assert_false(arb_cve_valid("cve-2026-1234"));
	assert_false(arb_cve_valid("CVE-26-1234"));
	assert_false(arb_cve_valid("CVE-2026-12a4"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scores),
		cmocka_unit_test(test_cve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
