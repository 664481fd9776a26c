/*
 * Unit tests for lib/strmap.c against a plain array as the model.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "arbor/strmap.h"

#define N 5000

static void
count_cb(const char *key, void *val, void *arg)
{
	(void)key;
	(void)val;
	(*(size_t *)arg)++;
}

static void
test_model(void **state)
{
	struct arb_strmap	*m;
	static int		 present[N];
	char			 key[32];
	void			*old;
	size_t			 i, n = 0, seen = 0;
	unsigned		 r = 12345;

	(void)state;
	assert_int_equal(arb_strmap_new(&m), 0);
	for (i = 0; i < 200000; i++) {
		size_t k;

		r = r * 1103515245u + 12345u;
		k = (r >> 8) % N;
		snprintf(key, sizeof(key), "node-%zu", k);
		if ((r >> 4) % 3 == 0) {
			void *v = arb_strmap_del(m, key);

			assert_true(present[k] ? v == (void *)(k + 1) :
			    v == NULL);
			if (present[k])
				n--;
			present[k] = 0;
		} else {
			assert_int_equal(arb_strmap_put(m, key,
			    (void *)(k + 1), &old), 0);
			assert_true(present[k] ? old == (void *)(k + 1) :
			    old == NULL);
			if (!present[k])
				n++;
			present[k] = 1;
		}
		assert_int_equal(arb_strmap_count(m), n);
	}
	for (i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "node-%zu", i);
		assert_ptr_equal(arb_strmap_get(m, key),
		    present[i] ? (void *)(i + 1) : NULL);
	}
	arb_strmap_each(m, count_cb, &seen);
	assert_int_equal(seen, n);
	arb_strmap_free(m, NULL);
}

static void
test_free_values(void **state)
{
	struct arb_strmap *m;

	(void)state;
	assert_int_equal(arb_strmap_new(&m), 0);
	assert_int_equal(arb_strmap_put(m, "a", malloc(10), NULL), 0);
	assert_int_equal(arb_strmap_put(m, "b", malloc(10), NULL), 0);
	assert_null(arb_strmap_get(m, "c"));
	arb_strmap_free(m, free);	/* ASan checks nothing leaks */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model),
		cmocka_unit_test(test_free_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
