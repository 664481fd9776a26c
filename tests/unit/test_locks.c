/*
 * Endpoint locks (root/locks.c, arb_head_locked in lib/catalog.c): a lock
 * set replaces one of the same endpoint or group, unlock drops it, expired
 * ones go; an endpoint is held by its own lock or a group's, not past
 * until_ms.  And the root's severity deadlines as its configuration takes
 * them (root_conf_deadline).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arbor/catalog.h"
#include "arbor/error.h"
#include "root.h"

static void
lock_init(Arbor__Lock *l, const char *id, const char *group, int64_t until)
{
	arbor__lock__init(l);
	l->endpoint_id = (char *)id;
	l->group = (char *)group;
	l->until_ms = until;
}

static void
test_edit(void **state)
{
	Arbor__Lock	 a, b, c, d, *old[3] = { &a, &b, &c }, **v;
	size_t		 n;

	(void)state;
	lock_init(&a, "e1", "", 0);
	lock_init(&b, "", "trading", 5000);	/* expired at 6000 */
	lock_init(&c, "", "payroll", 9000);
	/* "expire" only drops what has passed. */
	assert_int_equal(root_locks_edit(old, 3, "expire", NULL, 6000, &v,
	    &n), 0);
	assert_int_equal(n, 2);
	assert_ptr_equal(v[0], &a);
	assert_ptr_equal(v[1], &c);
	free(v);
	/* A lock of the same group replaces the one held. */
	lock_init(&d, "", "payroll", 0);
	assert_int_equal(root_locks_edit(old, 3, "lock", &d, 1000, &v, &n), 0);
	assert_int_equal(n, 3);
	assert_ptr_equal(v[2], &d);
	assert_ptr_equal(v[0], &a);
	assert_ptr_equal(v[1], &b);
	free(v);
	/* Unlock drops it; unlock of none is not found. */
	lock_init(&d, "e1", "", 0);
	assert_int_equal(root_locks_edit(old, 3, "unlock", &d, 1000, &v, &n),
	    0);
	assert_int_equal(n, 2);
	free(v);
	lock_init(&d, "e2", "", 0);
	assert_int_equal(root_locks_edit(old, 3, "unlock", &d, 1000, &v, &n),
	    ARB_ENOTFOUND);
	/* An endpoint id is not a group of the same name. */
	lock_init(&d, "trading", "", 0);
	assert_int_equal(root_locks_edit(old, 3, "unlock", &d, 1000, &v, &n),
	    ARB_ENOTFOUND);
	/* A lock already past its time, an unknown op. */
	lock_init(&d, "e3", "", 500);
	assert_int_equal(root_locks_edit(old, 3, "lock", &d, 1000, &v, &n),
	    ARB_EEXPIRED);
	assert_int_equal(root_locks_edit(old, 3, "steal", &d, 1000, &v, &n),
	    ARB_EINVAL);
	assert_int_equal(root_locks_edit(old, 3, "lock", NULL, 1000, &v, &n),
	    ARB_EINVAL);
}

static void
test_edit_full(void **state)
{
	Arbor__Lock	*old[ARB_LOCKS_MAX], l[ARB_LOCKS_MAX], x, **v;
	char		 ids[ARB_LOCKS_MAX][8];
	size_t		 i, n;

	(void)state;
	for (i = 0; i < ARB_LOCKS_MAX; i++) {
		snprintf(ids[i], sizeof(ids[i]), "e%zu", i);
		lock_init(&l[i], ids[i], "", 0);
		old[i] = &l[i];
	}
	lock_init(&x, "one-more", "", 0);
	assert_int_equal(root_locks_edit(old, ARB_LOCKS_MAX, "lock", &x, 1,
	    &v, &n), ARB_ETOOBIG);
	/* Replacing one is not one more. */
	lock_init(&x, "e7", "", 0);
	assert_int_equal(root_locks_edit(old, ARB_LOCKS_MAX, "lock", &x, 1,
	    &v, &n), 0);
	assert_int_equal(n, ARB_LOCKS_MAX);
	free(v);
}

static void
test_head_locked(void **state)
{
	Arbor__Head	 h = ARBOR__HEAD__INIT;
	Arbor__Lock	 a, b, c, *locks[3] = { &a, &b, &c };
	char		*g1[] = { "web", "trading" }, *g2[] = { "web" };
	char		*g3[] = { "payroll" };

	(void)state;
	lock_init(&a, "", "trading", 5000);
	lock_init(&b, "e1", "", 0);
	lock_init(&c, "", "payroll", 0);
	h.locks = locks;
	h.n_locks = 3;
	assert_ptr_equal(arb_head_locked(&h, "e1", g1, 2, 1000), &b);
	assert_ptr_equal(arb_head_locked(&h, "e2", g1, 2, 1000), &a);
	assert_null(arb_head_locked(&h, "e2", g1, 2, 5000));	/* ran out */
	assert_null(arb_head_locked(&h, "e2", g2, 1, 1000));
	assert_ptr_equal(arb_head_locked(&h, "e2", g3, 1, 99999), &c);
	assert_null(arb_head_locked(&h, "trading", NULL, 0, 1000));
	h.n_locks = 0;
	assert_null(arb_head_locked(&h, "e1", g1, 2, 1000));
}

static void
test_conf_deadline(void **state)
{
	char	err[128];
	int64_t	s = -1;

	(void)state;
	assert_int_equal(root_conf_deadline("24h", &s, err, sizeof(err)), 0);
	assert_int_equal(s, 86400);
	assert_int_equal(root_conf_deadline("1w", &s, err, sizeof(err)), 0);
	assert_int_equal(s, 7 * 86400);
	assert_int_equal(root_conf_deadline("30d", &s, err, sizeof(err)), 0);
	assert_int_equal(s, 30 * 86400);
	assert_int_equal(root_conf_deadline("90", &s, err, sizeof(err)), 0);
	assert_int_equal(s, 90);
	assert_int_equal(root_conf_deadline("none", &s, err, sizeof(err)), 0);
	assert_int_equal(s, 0);
	s = 5;
	assert_int_equal(root_conf_deadline("0w", &s, err, sizeof(err)),
	    ARB_ECONFIG);
	assert_int_equal(root_conf_deadline("xw", &s, err, sizeof(err)),
	    ARB_ECONFIG);
	assert_int_equal(root_conf_deadline("600w", &s, err, sizeof(err)),
	    ARB_ECONFIG);
	assert_int_equal(root_conf_deadline("soon", &s, err, sizeof(err)),
	    ARB_ECONFIG);
	assert_non_null(strstr(err, "duration"));
	assert_int_equal(root_conf_deadline("0", &s, err, sizeof(err)),
	    ARB_ECONFIG);
	assert_int_equal(root_conf_deadline("", &s, err, sizeof(err)),
	    ARB_ECONFIG);
	assert_int_equal(s, 5);		/* untouched on error */
}

/* The defaults: critical a day, high a week, medium 30 days, low none. */
static void
test_conf_defaults(void **state)
{
	struct root_conf	c;

	(void)state;
	root_conf_init(&c);
	assert_int_equal(c.deadline_s[0], 86400);
	assert_int_equal(c.deadline_s[1], 7 * 86400);
	assert_int_equal(c.deadline_s[2], 30 * 86400);
	assert_int_equal(c.deadline_s[3], 0);
	root_conf_clear(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edit),
		cmocka_unit_test(test_edit_full),
		cmocka_unit_test(test_head_locked),
		cmocka_unit_test(test_conf_deadline),
		cmocka_unit_test(test_conf_defaults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
