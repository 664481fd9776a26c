/*
 * Unit tests for what the root's HTTP API reads from a request
 * (root/apiparse.c) and the names it takes (root/apitokens.c): a bearer
 * token is taken only as "Bearer", a space, "arb_" and 64 lower-case hex
 * digits (spaces around it allowed, the scheme in any case) and hashed as
 * the text arborctl printed; a query value is percent-decoded, bounded by
 * its buffer and refused with %00 or a bad escape; roles and token names
 * are checked.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "arbor/error.h"
#include "arbor/sig.h"
#include "root.h"

#define TOK	"arb_0123456789abcdef0123456789abcdef" \
		"0123456789abcdef0123456789abcdef"

static void
test_bearer(void **state)
{
	static const char *const bad[] = { "", "Bearer", "Bearer ",
	    "Basic " TOK, "Bearer" TOK, "Bearer\t" TOK,
	    "Bearer arb-0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef",
	    "Bearer " TOK "0", "Bearer " TOK " x",
	    "Bearer arb_0123456789ABCDEF0123456789abcdef"
	    "0123456789abcdef0123456789abcdef",
	    "Bearer arb_0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcde",
	    "Bearer arb_g123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef" };
	uint8_t	sha[ARB_SHA256_LEN], want[ARB_SHA256_LEN];
	size_t	i;

	(void)state;
	assert_int_equal(arb_sha256(TOK, strlen(TOK), want), 0);
	assert_int_equal(root_api_bearer("Bearer " TOK, sha), 0);
	assert_memory_equal(sha, want, sizeof(sha));
	memset(sha, 0, sizeof(sha));
	assert_int_equal(root_api_bearer("bEARER   " TOK "  ", sha), 0);
	assert_memory_equal(sha, want, sizeof(sha));
	assert_int_equal(root_api_bearer(NULL, sha), ARB_EINVAL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(root_api_bearer(bad[i], sha), ARB_EINVAL);
	assert_true(arb_ct_equal(want, want, sizeof(want)));
	sha[0] ^= 1;
	assert_false(arb_ct_equal(sha, want, sizeof(want)));
}

static void
test_query(void **state)
{
	char	out[8];

	(void)state;
	assert_int_equal(root_api_query("a=1&policy=x%2Dy+z&b", "policy", out,
	    sizeof(out)), 1);
	assert_string_equal(out, "x-y z");
	assert_int_equal(root_api_query("xpolicy=1&policy=", "policy", out,
	    sizeof(out)), 1);
	assert_string_equal(out, "");
	assert_int_equal(root_api_query("policy", "policy", out,
	    sizeof(out)), 0);
	assert_int_equal(root_api_query("", "policy", out, sizeof(out)), 0);
	assert_int_equal(root_api_query("p=12345678", "p", out, sizeof(out)),
	    ARB_ETOOBIG);
	assert_int_equal(root_api_query("p=1234567", "p", out, sizeof(out)),
	    1);
	assert_int_equal(root_api_query("p=a%00b", "p", out, sizeof(out)),
	    ARB_EINVAL);
	assert_int_equal(root_api_query("p=%zz", "p", out, sizeof(out)),
	    ARB_EINVAL);
	assert_int_equal(root_api_query("p=%4", "p", out, sizeof(out)),
	    ARB_EINVAL);
	assert_int_equal(root_api_query("p=%", "p", out, sizeof(out)),
	    ARB_EINVAL);
}

static void
test_names(void **state)
{
	enum root_role	role = ROOT_ROLE_NONE;
	char		long_name[ROOT_APITOKEN_NAME_MAX + 2];

	(void)state;
	assert_int_equal(root_role_parse("viewer", &role), 0);
	assert_int_equal(role, ROOT_ROLE_VIEWER);
	assert_int_equal(root_role_parse("operator", &role), 0);
	assert_int_equal(role, ROOT_ROLE_OPERATOR);
	assert_int_equal(root_role_parse("root", &role), ARB_EINVAL);
	assert_int_equal(root_role_parse("", &role), ARB_EINVAL);
	assert_string_equal(root_role_name(ROOT_ROLE_OPERATOR), "operator");
	assert_string_equal(root_role_name((enum root_role)9), "none");
	assert_true(root_apitoken_name_valid("ci-deploy_1.x@site"));
	assert_false(root_apitoken_name_valid(""));
	assert_false(root_apitoken_name_valid("a b"));
	assert_false(root_apitoken_name_valid("a/b"));
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_false(root_apitoken_name_valid(long_name));
	long_name[sizeof(long_name) - 2] = '\0';
	assert_true(root_apitoken_name_valid(long_name));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bearer),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
