/*
 * Unit tests for lib/group.c, group commit: writes of one loop turn share
 * one transaction, committed at the end of the turn or, when a caller
 * needs to write durably on its own (the root signing a head), at once.
 * The store is a real LMDB environment under mkdtemp(); durability is
 * checked by closing it and opening it again.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arbor/error.h"
#include "arbor/group.h"
#include "arbor/store.h"

struct fx {
	char			 dir[64];
	char			 path[128];
	uv_loop_t		 loop;
	struct arb_store	*store;
	struct arb_group	*group;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->dir, "/tmp/arbor-test-group-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/db", f->dir);
	assert_int_equal(arb_store_open(f->path, 16 << 20, &f->store), 0);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	assert_int_equal(arb_group_new(&f->loop, f->store, "test",
	    &f->group), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*f = *state;
	char		 cmd[128];

	if (f->group)
		arb_group_free(f->group);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	if (f->store)
		arb_store_close(f->store);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void
put(struct fx *f, const char *key, const char *val)
{
	struct arb_txn *t;

	assert_int_equal(arb_txn_begin(f->store, 1, &t), 0);
	assert_int_equal(arb_txn_put(t, ARB_DB_META, key, strlen(key), val,
	    strlen(val)), 0);
	assert_int_equal(arb_txn_commit(t), 0);
}

/* Close the store and open it again: what is there now was durable. */
static int
held(struct fx *f, const char *key)
{
	void	*v;
	size_t	 n;

	if (arb_store_get(f->store, ARB_DB_META, key, strlen(key), &v,
	    &n) != 0)
		return 0;
	free(v);
	return 1;
}

static void
reopen(struct fx *f)
{
	arb_group_free(f->group);
	f->group = NULL;
	arb_store_close(f->store);
	assert_int_equal(arb_store_open(f->path, 16 << 20, &f->store), 0);
	assert_int_equal(arb_group_new(&f->loop, f->store, "test",
	    &f->group), 0);
}

/*
 * A write staged in the group, then one that must be durable on its own:
 * committing the group now lets the second be a transaction of its own,
 * and both are durable before the loop turn ends.
 */
static void
test_commit_now(void **state)
{
	struct fx *f = *state;

	assert_int_equal(arb_group_join(f->group), 0);
	assert_true(arb_store_group_active(f->store));
	put(f, "staged", "a report");
	assert_int_equal(arb_group_commit(f->group), 0);
	assert_false(arb_store_group_active(f->store));
	put(f, "head", "seq 7");
	/* No loop turn ran: nothing waited for the group's check. */
	reopen(f);
	assert_true(held(f, "staged"));
	assert_true(held(f, "head"));
}

/* Nothing staged: committing now is a no-op that succeeds. */
static void
test_commit_nothing(void **state)
{
	struct fx *f = *state;

	assert_false(arb_store_group_active(f->store));
	assert_int_equal(arb_group_commit(f->group), 0);
	assert_int_equal(arb_group_errors(f->group), 0);
}

/* Without a commit now, the group's write is durable at the turn's end. */
static void
test_commit_at_turn_end(void **state)
{
	struct fx *f = *state;

	assert_int_equal(arb_group_join(f->group), 0);
	put(f, "later", "x");
	uv_run(&f->loop, UV_RUN_NOWAIT);
	assert_false(arb_store_group_active(f->store));
	reopen(f);
	assert_true(held(f, "later"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commit_now, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_commit_nothing, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_commit_at_turn_end, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
