/*
 * Unit tests for lib/store.c: records in every named database, transactions
 * that commit or abort, ordered iteration over big-endian keys, persistence
 * across a reopen, and a map that fills up without damaging what was there.
 * Every environment lives under its own mkdtemp() directory.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "support/tmptree.h"

#include "arbor/error.h"
#include "arbor/store.h"

#define MAPSIZE		(8ULL * 1024 * 1024)

struct fixture {
	char			 dir[64];
	char			 path[96];
	struct arb_store	*s;
};

static int
setup(void **state)
{
	struct fixture	*f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	strcpy(f->dir, "/tmp/arbor-store-XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	/* A directory that does not exist yet: open must create it. */
	snprintf(f->path, sizeof(f->path), "%s/db", f->dir);
	if (arb_store_open(f->path, MAPSIZE, &f->s) != 0) {
		test_rmtree(f->dir);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	arb_store_close(f->s);
	test_rmtree(f->dir);
	free(f);
	return 0;
}

static void
test_open_mode(void **state)
{
	struct fixture	*f = *state;
	struct stat	 st;

	assert_int_equal(stat(f->path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
}

static void
test_open_bad(void **state)
{
	struct fixture		*f = *state;
	struct arb_store	*s = NULL;
	char			 p[128];
	FILE			*fp;

	assert_int_equal(arb_store_open(f->path, 0, &s), ARB_EINVAL);
	/* A parent that does not exist: mkdir's errno comes back. */
	snprintf(p, sizeof(p), "%s/no/such", f->dir);
	assert_int_equal(arb_store_open(p, MAPSIZE, &s), -ENOENT);
	/* A plain file where the directory should be. */
	snprintf(p, sizeof(p), "%s/file", f->dir);
	assert_non_null(fp = fopen(p, "w"));
	fclose(fp);
	assert_int_equal(arb_store_open(p, MAPSIZE, &s), ARB_ESTORE);
	assert_null(s);
}

static void
test_every_db(void **state)
{
	struct fixture	*f = *state;
	char		 val[32];
	void		*v;
	size_t		 vlen;
	int		 db;

	/* One key in every database, each with its own value. */
	for (db = 0; db < ARB_DB_COUNT; db++) {
		snprintf(val, sizeof(val), "value-%d", db);
		assert_int_equal(arb_store_put(f->s, db, "k", 1, val,
		    strlen(val)), 0);
	}
	for (db = 0; db < ARB_DB_COUNT; db++) {
		snprintf(val, sizeof(val), "value-%d", db);
		assert_int_equal(arb_store_get(f->s, db, "k", 1, &v, &vlen),
		    0);
		assert_int_equal(vlen, strlen(val));
		assert_memory_equal(v, val, vlen);
		free(v);
	}
	for (db = 0; db < ARB_DB_COUNT; db++) {
		assert_int_equal(arb_store_del(f->s, db, "k", 1), 0);
		assert_int_equal(arb_store_get(f->s, db, "k", 1, &v, &vlen),
		    ARB_ENOTFOUND);
		assert_int_equal(arb_store_del(f->s, db, "k", 1),
		    ARB_ENOTFOUND);
	}
}

static void
test_overwrite_empty(void **state)
{
	struct fixture	*f = *state;
	void		*v = NULL;
	size_t		 vlen = 99;

	assert_int_equal(arb_store_put(f->s, ARB_DB_META, "a", 1, "one", 3),
	    0);
	assert_int_equal(arb_store_put(f->s, ARB_DB_META, "a", 1, "twotwo",
	    6), 0);
	assert_int_equal(arb_store_get(f->s, ARB_DB_META, "a", 1, &v, &vlen),
	    0);
	assert_int_equal(vlen, 6);
	assert_memory_equal(v, "twotwo", 6);
	free(v);
	/* An empty value is a value, not an absence. */
	assert_int_equal(arb_store_put(f->s, ARB_DB_META, "e", 1, NULL, 0),
	    0);
	v = NULL;
	assert_int_equal(arb_store_get(f->s, ARB_DB_META, "e", 1, &v, &vlen),
	    0);
	assert_non_null(v);
	assert_int_equal(vlen, 0);
	free(v);
}

static void
test_bad_args(void **state)
{
	struct fixture	*f = *state;
	char		 big[2048];
	void		*v = (void *)1;
	size_t		 vlen = 7;

	memset(big, 'x', sizeof(big));
	assert_int_equal(arb_store_put(f->s, ARB_DB_META, "k", 0, "v", 1),
	    ARB_EINVAL);
	assert_int_equal(arb_store_put(f->s, ARB_DB_META, big, sizeof(big),
	    "v", 1), ARB_EINVAL);
	assert_int_equal(arb_store_put(f->s, ARB_DB_COUNT, "k", 1, "v", 1),
	    ARB_EINVAL);
	assert_int_equal(arb_store_get(f->s, ARB_DB_META, big, sizeof(big),
	    &v, &vlen), ARB_EINVAL);
	/* Out-parameters untouched on failure. */
	assert_ptr_equal(v, (void *)1);
	assert_int_equal(vlen, 7);
	assert_int_equal(arb_store_get(f->s, ARB_DB_META, "nope", 4, &v,
	    &vlen), ARB_ENOTFOUND);
	assert_ptr_equal(v, (void *)1);
	assert_int_equal(vlen, 7);
}

static void
test_abort_discards(void **state)
{
	struct fixture	*f = *state;
	struct arb_txn	*t;
	void		*v;
	size_t		 vlen;

	assert_int_equal(arb_txn_begin(f->s, 1, &t), 0);
	assert_int_equal(arb_txn_put(t, ARB_DB_SPOOL, "r1", 2, "x", 1), 0);
	/* The transaction sees its own write. */
	assert_int_equal(arb_txn_get(t, ARB_DB_SPOOL, "r1", 2, &v, &vlen), 0);
	free(v);
	arb_txn_abort(t);
	assert_int_equal(arb_store_get(f->s, ARB_DB_SPOOL, "r1", 2, &v,
	    &vlen), ARB_ENOTFOUND);

	/* Commit of several records is all or nothing, and visible. */
	assert_int_equal(arb_txn_begin(f->s, 1, &t), 0);
	assert_int_equal(arb_txn_put(t, ARB_DB_SPOOL, "r1", 2, "x", 1), 0);
	assert_int_equal(arb_txn_put(t, ARB_DB_OUTBOX, "r2", 2, "y", 1), 0);
	assert_int_equal(arb_txn_commit(t), 0);
	assert_int_equal(arb_store_get(f->s, ARB_DB_SPOOL, "r1", 2, &v,
	    &vlen), 0);
	free(v);
	assert_int_equal(arb_store_get(f->s, ARB_DB_OUTBOX, "r2", 2, &v,
	    &vlen), 0);
	free(v);
}

static void
test_read_txn_refuses_write(void **state)
{
	struct fixture	*f = *state;
	struct arb_txn	*t;

	assert_int_equal(arb_txn_begin(f->s, 0, &t), 0);
	assert_int_equal(arb_txn_put(t, ARB_DB_META, "k", 1, "v", 1),
	    ARB_ESTORE);
	arb_txn_abort(t);
}

static void
test_two_readers_one_thread(void **state)
{
	struct fixture	*f = *state;
	struct arb_txn	*a, *b;
	void		*v;
	size_t		 vlen;

	/* Without MDB_NOTLS the second would fail with MDB_BAD_RSLOT. */
	assert_int_equal(arb_store_put(f->s, ARB_DB_META, "k", 1, "1", 1), 0);
	assert_int_equal(arb_txn_begin(f->s, 0, &a), 0);
	assert_int_equal(arb_txn_begin(f->s, 0, &b), 0);
	/* A snapshot: a write after the read began is not seen. */
	assert_int_equal(arb_store_put(f->s, ARB_DB_META, "k", 1, "2", 1), 0);
	assert_int_equal(arb_txn_get(a, ARB_DB_META, "k", 1, &v, &vlen), 0);
	assert_memory_equal(v, "1", 1);
	free(v);
	arb_txn_abort(a);
	arb_txn_abort(b);
	assert_int_equal(arb_store_get(f->s, ARB_DB_META, "k", 1, &v, &vlen),
	    0);
	assert_memory_equal(v, "2", 1);
	free(v);
}

struct walk {
	uint64_t	seen[16];
	int		n;
	int		stop_at;	/* if > 0, stop after this many */
	int		fail_at;	/* if > 0, fail after this many */
};

static int
walk_fn(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg)
{
	struct walk	*w = arg;
	uint64_t	 v;

	assert_int_equal(klen, 8);
	assert_int_equal(vlen, 8);
	v = arb_be64_get(key);
	/* Each value is a copy of its key. */
	assert_int_equal(arb_be64_get(val), v);
	w->seen[w->n++] = v;
	if (w->stop_at > 0 && w->n == w->stop_at)
		return 1;
	if (w->fail_at > 0 && w->n == w->fail_at)
		return ARB_ECORRUPT;
	return 0;
}

static void
test_foreach_order(void **state)
{
	static const uint64_t	 ins[] = {
		1000, 1, 0x10000000000ULL, 256, 65536, 255, UINT64_MAX, 0
	};
	static const uint64_t	 want[] = {
		0, 1, 255, 256, 1000, 65536, 0x10000000000ULL, UINT64_MAX
	};
	struct fixture		*f = *state;
	struct arb_txn		*t;
	struct walk		 w;
	uint8_t			 k[8];
	uint64_t		 n;
	size_t			 i;

	for (i = 0; i < sizeof(ins) / sizeof(ins[0]); i++) {
		arb_be64_put(k, ins[i]);
		assert_int_equal(arb_be64_get(k), ins[i]);
		assert_int_equal(arb_store_put(f->s, ARB_DB_HEADS, k, 8, k, 8),
		    0);
	}
	arb_be64_put(k, 0x0102030405060708ULL);
	assert_int_equal(k[0], 1);
	assert_int_equal(k[7], 8);

	assert_int_equal(arb_txn_begin(f->s, 0, &t), 0);
	assert_int_equal(arb_txn_count(t, ARB_DB_HEADS, &n), 0);
	assert_int_equal(n, 8);
	assert_int_equal(arb_txn_count(t, ARB_DB_POLICIES, &n), 0);
	assert_int_equal(n, 0);

	memset(&w, 0, sizeof(w));
	assert_int_equal(arb_txn_foreach(t, ARB_DB_HEADS, walk_fn, &w), 0);
	assert_int_equal(w.n, 8);
	for (i = 0; i < 8; i++)
		assert_int_equal(w.seen[i], want[i]);

	memset(&w, 0, sizeof(w));
	w.stop_at = 3;
	assert_int_equal(arb_txn_foreach(t, ARB_DB_HEADS, walk_fn, &w), 0);
	assert_int_equal(w.n, 3);
	assert_int_equal(w.seen[2], 255);

	memset(&w, 0, sizeof(w));
	w.fail_at = 2;
	assert_int_equal(arb_txn_foreach(t, ARB_DB_HEADS, walk_fn, &w),
	    ARB_ECORRUPT);
	assert_int_equal(w.n, 2);

	/* An empty database calls nothing. */
	memset(&w, 0, sizeof(w));
	assert_int_equal(arb_txn_foreach(t, ARB_DB_STATE, walk_fn, &w), 0);
	assert_int_equal(w.n, 0);
	arb_txn_abort(t);
}

static void
test_reopen_persists(void **state)
{
	struct fixture	*f = *state;
	struct arb_txn	*t;
	uint64_t	 n;
	void		*v;
	size_t		 vlen;

	assert_int_equal(arb_store_put(f->s, ARB_DB_POLICIES, "p", 1, "pol",
	    3), 0);
	assert_int_equal(arb_store_put(f->s, ARB_DB_STATUS, "s", 1, "st", 2),
	    0);
	arb_store_close(f->s);
	f->s = NULL;
	assert_int_equal(arb_store_open(f->path, MAPSIZE, &f->s), 0);
	assert_int_equal(arb_store_get(f->s, ARB_DB_POLICIES, "p", 1, &v,
	    &vlen), 0);
	assert_int_equal(vlen, 3);
	assert_memory_equal(v, "pol", 3);
	free(v);
	assert_int_equal(arb_txn_begin(f->s, 0, &t), 0);
	assert_int_equal(arb_txn_count(t, ARB_DB_STATUS, &n), 0);
	assert_int_equal(n, 1);
	arb_txn_abort(t);
}

static void
test_map_full(void **state)
{
	struct fixture		*f = *state;
	struct arb_store	*s;
	struct arb_txn		*t;
	char			 p[128];
	uint8_t			 k[8], val[1024];
	void			*v;
	size_t			 vlen;
	uint64_t		 i, ok, n;
	int			 rv = 0;

	snprintf(p, sizeof(p), "%s/small", f->dir);
	assert_int_equal(arb_store_open(p, 256 * 1024, &s), 0);
	memset(val, 0xab, sizeof(val));
	/* One-shot puts until the map is full. */
	for (i = 0; i < 10000; i++) {
		arb_be64_put(k, i);
		if ((rv = arb_store_put(s, ARB_DB_BLOBS, k, 8, val,
		    sizeof(val))) != 0)
			break;
	}
	assert_int_equal(rv, ARB_ESTORE);
	ok = i;
	assert_true(ok > 10);

	/* A big transaction that cannot fit is refused as a whole. */
	assert_int_equal(arb_txn_begin(s, 1, &t), 0);
	arb_be64_put(k, 1000000);
	assert_int_equal(arb_txn_put(t, ARB_DB_BLOBS, k, 8, "x", 1), 0);
	for (i = 1000001; i < 1000400; i++) {
		arb_be64_put(k, i);
		if ((rv = arb_txn_put(t, ARB_DB_BLOBS, k, 8, val,
		    sizeof(val))) != 0)
			break;
	}
	if (rv == 0)
		rv = arb_txn_commit(t);
	else
		arb_txn_abort(t);
	assert_int_equal(rv, ARB_ESTORE);
	arb_be64_put(k, 1000000);
	assert_int_equal(arb_store_get(s, ARB_DB_BLOBS, k, 8, &v, &vlen),
	    ARB_ENOTFOUND);

	/* Everything committed before is intact, also after a reopen. */
	arb_store_close(s);
	assert_int_equal(arb_store_open(p, 256 * 1024, &s), 0);
	assert_int_equal(arb_txn_begin(s, 0, &t), 0);
	assert_int_equal(arb_txn_count(t, ARB_DB_BLOBS, &n), 0);
	assert_int_equal(n, ok);
	for (i = 0; i < ok; i++) {
		arb_be64_put(k, i);
		assert_int_equal(arb_txn_get(t, ARB_DB_BLOBS, k, 8, &v, &vlen),
		    0);
		assert_int_equal(vlen, sizeof(val));
		assert_memory_equal(v, val, vlen);
		free(v);
	}
	arb_txn_abort(t);

	arb_store_close(s);

	/* A larger map on reopen lets it grow. */
	assert_int_equal(arb_store_open(p, 4 * 1024 * 1024, &s), 0);
	arb_be64_put(k, ok + 100);
	assert_int_equal(arb_store_put(s, ARB_DB_BLOBS, k, 8, val,
	    sizeof(val)), 0);
	arb_store_close(s);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test_setup_teardown(test_open_mode, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_open_bad, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_every_db, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_overwrite_empty, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_args, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_abort_discards, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_read_txn_refuses_write,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_readers_one_thread,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreach_order, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reopen_persists, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_map_full, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
