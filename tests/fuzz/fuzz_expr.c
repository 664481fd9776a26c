/*
 * Fuzz target for the applicability language: arb_expr_parse on the input
 * as text (up to its first NUL byte), and, when it parses, arb_expr_eval
 * and arb_expr_eval_bool against the facts of a fixture tree
 * (tests/fixtures/debian12-old-openssl, with two groups and a property),
 * printing the value with arb_value_format.  The two halves of the input
 * split at its first NUL byte also go to arb_version_cmp, which must be a
 * total order: antisymmetric and reflexive, whatever the strings.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arbor/expr.h"
#include "arbor/facts.h"
#include "arbor/version.h"

#ifndef ARBOR_FIXTURES
#error "ARBOR_FIXTURES must name tests/fixtures"
#endif

static struct arb_facts *
fuzz_facts(void)
{
	static char *const	 groups[] = { "web", "prod" };
	static char *const	 keys[] = { "role" };
	static char *const	 vals[] = { "db" };
	static struct arb_facts	*facts;
	struct arb_facts_conf	 c;

	if (facts != NULL)
		return facts;
	memset(&c, 0, sizeof(c));
	c.root = ARBOR_FIXTURES "/debian12-old-openssl";
	c.groups = groups;
	c.ngroups = 2;
	c.prop_keys = keys;
	c.prop_vals = vals;
	c.nprops = 1;
	/* Kept for the life of the process, like libFuzzer's own state. */
	if (arb_facts_new(&c, &facts) != 0)
		abort();
	return facts;
}

static int
fuzz_sign(int c)
{
	return (c > 0) - (c < 0);
}

static void
fuzz_versions(const char *a, const char *b)
{
	if (fuzz_sign(arb_version_cmp(a, b)) !=
	    -fuzz_sign(arb_version_cmp(b, a)) ||
	    arb_version_cmp(a, a) != 0 || arb_version_cmp(b, b) != 0)
		abort();
	(void)arb_version_valid(a);
	(void)arb_version_valid(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arb_expr		*e;
	struct arb_value	 v;
	char			*text, err[256], out[512];
	const char		*rest;
	size_t			 n;
	int			 b;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	n = strlen(text);
	rest = n < size ? text + n + 1 : "";

	fuzz_versions(text, rest);

	if (arb_expr_parse(text, &e, err, sizeof(err)) == 0) {
		memset(&v, 0, sizeof(v));
		if (arb_expr_eval(e, fuzz_facts(), &v, err,
		    sizeof(err)) == 0) {
			arb_value_format(&v, out, sizeof(out));
			arb_value_format(&v, out, 8);
			(void)arb_vtype_name(v.t);
		}
		arb_value_clear(&v);
		(void)arb_expr_eval_bool(e, fuzz_facts(), &b, err,
		    sizeof(err));
		arb_expr_free(e);
	}
	free(text);
	return 0;
}
