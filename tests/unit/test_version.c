/*
 * Unit tests for lib/version.c: dpkg's version ordering, checked both ways
 * round against the answers of dpkg --compare-versions, and which strings
 * are valid versions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "arbor/version.h"

static int
sign(int x)
{
	return x < 0 ? -1 : x > 0;
}

/* Expected results produced by dpkg --compare-versions (dpkg 1.21.22). */
static const struct {
	const char	*a, *b;
	int		 cmp;
} versions[] = {
	{ "1.0", "1.0", 0 },
	{ "1.0", "1.1", -1 },
	{ "1.1", "1.0", 1 },
	{ "1:1.0", "2.0", 1 },
	{ "2:1.0", "1:9.9", 1 },
	{ "0:1.0", "1.0", 0 },
	{ "1.0~rc1", "1.0", -1 },
	{ "1.0~~", "1.0~", -1 },
	{ "1.0~", "1.0", -1 },
	{ "1.0~~a", "1.0~~", 1 },
	{ "1.0-1", "1.0-2", -1 },
	{ "1.0", "1.0-0", 0 },
	{ "1.0-0", "1.0-0.0", -1 },
	{ "1.0a", "1.0+", -1 },
	{ "1.0a", "1.0", 1 },
	{ "1.0+", "1.0", 1 },
	{ "1.01", "1.1", 0 },
	{ "1.001", "1.1", 0 },
	{ "1.0", "1.00", 0 },
	{ "3.0.11-1~deb12u2", "3.0.22-1~deb12u2", -1 },
	{ "3.0.22-1~deb12u2", "3.0.22-1", -1 },
	{ "3.0.22-1~deb12u2", "3.0.22-1~deb12u1", 1 },
	{ "3.0.22-1~deb12u2", "3.0.22-1~deb11u2", 1 },
	{ "1.2.3", "1.2.10", -1 },
	{ "1.2.10", "1.2.9", 1 },
	{ "1.0-1ubuntu1", "1.0-1", 1 },
	{ "1.0-1", "1.0-1+b1", -1 },
	{ "1.0-1+b1", "1.0-1.1", -1 },
	{ "1.0.0", "1.0", 1 },
	{ "1.0", "1.0.", -1 },
	{ "1.0a", "1.0b", -1 },
	{ "1.0A", "1.0a", -1 },
	{ "1.0z", "1.0.", -1 },
	{ "2.30-1", "2.3-1", 1 },
	{ "10", "9", 1 },
	{ "1.0-10", "1.0-9", 1 },
	{ "1:0.1", "0:9.9", 1 },
	{ "7.88.1-10+deb12u5", "7.88.1-10+deb12u12", -1 },
	{ "2.36-9+deb12u4", "2.36-9+deb12u10", -1 },
	{ "1.0~beta1", "1.0~alpha1", 1 },
	{ "1.0~rc1", "1.0~beta2", 1 },
	{ "1.2.3-4", "1.2.3-4", 0 },
	{ "0.9.8", "0.9.8a", -1 },
	{ "1.0-a", "1.0-b", -1 },
	{ "1.0-1~bpo1", "1.0-1", -1 },
	{ "9.9", "10.0", -1 },
	{ "5.10.0-28", "5.10.0-28+b1", -1 },
	{ "1.0+dfsg-1", "1.0-1", 1 },
	{ "1.0+dfsg-1", "1.0.1-1", -1 },
	{ "1:2.3", "1:2.3-0", 0 },
	{ "1.0", "a", -1 },
	{ "00001", "1", 0 },
	{ "1.0-1-1", "1.0-1", 1 },
};

static void
test_version_cmp(void **state)
{
	size_t	i;
	int	c;

	(void)state;
	assert_true(sizeof(versions) / sizeof(versions[0]) >= 40);
	for (i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		c = sign(arb_version_cmp(versions[i].a, versions[i].b));
		if (c != versions[i].cmp)
			fail_msg("%s vs %s: got %d, want %d", versions[i].a,
			    versions[i].b, c, versions[i].cmp);
		/* And the other way round. */
		c = sign(arb_version_cmp(versions[i].b, versions[i].a));
		if (c != -versions[i].cmp)
			fail_msg("%s vs %s: got %d, want %d", versions[i].b,
			    versions[i].a, c, -versions[i].cmp);
	}
}

static void
test_version_valid(void **state)
{
	static const char *good[] = {
		"1", "1.0", "1:1.0", "0:1.0-1", "3.0.22-1~deb12u2",
		"1.0+dfsg-1", "2:1.0~rc1", "1:2.3:4-5", "1:2:", "1.0-1-1",
		"7.88.1-10+deb12u12", "1.0-1ubuntu0.1", "20240101",
	};
	static const char *bad[] = {
		"", "a1.0", ":1.0", "1:", "1.0-", "-1", "x:1.0", "1.0 1",
		"1.0_1", "1.0-1_1", "1.0-1:2", "1234567890:1",
		"1.0-a:b", "~1",
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!arb_version_valid(good[i]))
			fail_msg("%s should be valid", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (arb_version_valid(bad[i]))
			fail_msg("\"%s\" should be invalid", bad[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_cmp),
		cmocka_unit_test(test_version_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
