/*
 * Unit tests for lib/queue.c, the durable keyed queue behind the agent's
 * outbox and the relay's spool: put-if-newer, batches in key order within
 * their limits, acknowledgement that deletes only unchanged records, the
 * on-disk value layout, and the retry back-off.  The store is a real LMDB
 * environment under mkdtemp().
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arbor/error.h"
#include "arbor/queue.h"
#include "arbor/store.h"

struct fx {
	char			 dir[64];
	struct arb_store	*store;
	struct arb_queue	 q;
};

static int
setup(void **state)
{
	struct fx	*f = calloc(1, sizeof(*f));
	char		 path[128];

	assert_non_null(f);
	strcpy(f->dir, "/tmp/arbor-test-queue-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(path, sizeof(path), "%s/db", f->dir);
	assert_int_equal(arb_store_open(path, 16 << 20, &f->store), 0);
	arb_queue_init(&f->q, f->store, ARB_DB_SPOOL);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*f = *state;
	char		 cmd[128];

	arb_store_close(f->store);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Put one record in its own transaction; returns whether it was put. */
static int
put(struct fx *f, const char *key, uint64_t seq, const char *data)
{
	struct arb_txn	*t;
	int		 added = -1;

	assert_int_equal(arb_txn_begin(f->store, 1, &t), 0);
	assert_int_equal(arb_queue_put(&f->q, t, key, strlen(key), seq, data,
	    strlen(data), &added), 0);
	assert_int_equal(arb_txn_commit(t), 0);
	return added;
}

/* The record held for key: its seq, and its data into buf. */
static uint64_t
held(struct fx *f, const char *key, char *buf, size_t max)
{
	void	*v;
	size_t	 n;
	uint64_t seq;

	if (arb_store_get(f->store, ARB_DB_SPOOL, key, strlen(key), &v,
	    &n) != 0)
		return 0;
	assert_true(n >= 8);
	seq = arb_be64_get(v);
	if (buf) {
		assert_true(n - 8 < max);
		memcpy(buf, (uint8_t *)v + 8, n - 8);
		buf[n - 8] = '\0';
	}
	free(v);
	return seq;
}

static void
test_put_if_newer(void **state)
{
	struct fx	*f = *state;
	char		 buf[64];

	assert_int_equal(put(f, "k", 5, "five"), 1);
	assert_int_equal(held(f, "k", buf, sizeof(buf)), 5);
	assert_string_equal(buf, "five");
	/* Newer replaces. */
	assert_int_equal(put(f, "k", 7, "seven"), 1);
	assert_int_equal(held(f, "k", buf, sizeof(buf)), 7);
	assert_string_equal(buf, "seven");
	/* Older, or the same again, does not displace it. */
	assert_int_equal(put(f, "k", 6, "six"), 0);
	assert_int_equal(put(f, "k", 7, "seven again"), 0);
	assert_int_equal(held(f, "k", buf, sizeof(buf)), 7);
	assert_string_equal(buf, "seven");
}

static void
test_value_layout(void **state)
{
	struct fx	*f = *state;
	uint8_t		 raw[8 + 3];
	void		*v;
	size_t		 n;

	/* A record written the way the outbox and spool always wrote it. */
	arb_be64_put(raw, 42);
	memcpy(raw + 8, "old", 3);
	assert_int_equal(arb_store_put(f->store, ARB_DB_SPOOL, "a", 1, raw,
	    sizeof(raw)), 0);
	assert_int_equal(put(f, "a", 41, "x"), 0);
	assert_int_equal(put(f, "b", 1, "new"), 1);
	assert_int_equal(arb_store_get(f->store, ARB_DB_SPOOL, "b", 1, &v,
	    &n), 0);
	assert_int_equal(n, 8 + 3);
	assert_int_equal(arb_be64_get(v), 1);
	assert_memory_equal((uint8_t *)v + 8, "new", 3);
	free(v);
}

struct take {
	char		keys[16][8];
	uint64_t	seqs[16];
	int		n;
	const char	*skip;		/* leave this key out */
	int		fail_at;	/* return an error at this call */
	int		calls;
};

static int
take_cb(const void *key, size_t klen, uint64_t seq, const uint8_t *data,
    size_t len, void *arg)
{
	struct take *tk = arg;

	(void)data;
	(void)len;
	if (++tk->calls == tk->fail_at)
		return -ENOMEM;
	if (tk->skip && klen == strlen(tk->skip) &&
	    memcmp(key, tk->skip, klen) == 0)
		return 1;
	assert_true(klen < 8);
	memcpy(tk->keys[tk->n], key, klen);
	tk->keys[tk->n][klen] = '\0';
	tk->seqs[tk->n++] = seq;
	return 0;
}

static void
test_collect(void **state)
{
	struct fx		*f = *state;
	struct arb_queue_sent	 s;
	struct take		 tk;
	uint64_t		 n;

	put(f, "c", 3, "0123456789");
	put(f, "a", 1, "0123456789");
	put(f, "b", 2, "0123456789");
	put(f, "d", 4, "0123456789");
	assert_int_equal(arb_queue_count(&f->q, &n), 0);
	assert_int_equal(n, 4);

	/* Key order, up to max records. */
	memset(&tk, 0, sizeof(tk));
	assert_int_equal(arb_queue_collect(&f->q, 3, 1 << 20, 0, take_cb, &tk,
	    &s), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(tk.n, 3);
	assert_string_equal(tk.keys[0], "a");
	assert_string_equal(tk.keys[1], "b");
	assert_string_equal(tk.keys[2], "c");
	assert_int_equal(s.v[2].seq, 3);
	assert_int_equal(s.v[2].klen, 1);
	assert_memory_equal(s.v[2].key, "c", 1);
	arb_queue_sent_clear(&s);
	assert_int_equal(s.n, 0);

	/*
	 * Bytes: each value is 18 bytes; with an overhead of 2 a record
	 * counts 20, and the next goes only if its 18 still fit.
	 */
	memset(&tk, 0, sizeof(tk));
	assert_int_equal(arb_queue_collect(&f->q, 16, 58, 2, take_cb, &tk,
	    &s), 0);
	assert_int_equal(s.n, 3);		/* 20 + 20 + 18 <= 58 */
	arb_queue_sent_clear(&s);
	memset(&tk, 0, sizeof(tk));
	assert_int_equal(arb_queue_collect(&f->q, 16, 57, 2, take_cb, &tk,
	    &s), 0);
	assert_int_equal(s.n, 2);
	arb_queue_sent_clear(&s);

	/* A record left out stays, and is not in the sent set. */
	memset(&tk, 0, sizeof(tk));
	tk.skip = "b";
	assert_int_equal(arb_queue_collect(&f->q, 16, 1 << 20, 0, take_cb,
	    &tk, &s), 0);
	assert_int_equal(s.n, 3);
	assert_memory_equal(s.v[1].key, "c", 1);
	arb_queue_sent_clear(&s);

	/* An error stops the batch and leaves it empty. */
	memset(&tk, 0, sizeof(tk));
	tk.fail_at = 2;
	assert_int_equal(arb_queue_collect(&f->q, 16, 1 << 20, 0, take_cb,
	    &tk, &s), -ENOMEM);
	assert_int_equal(s.n, 0);
	assert_null(s.v);
	assert_int_equal(arb_queue_count(&f->q, &n), 0);
	assert_int_equal(n, 4);
}

static void
test_ack_only_unchanged(void **state)
{
	struct fx		*f = *state;
	struct arb_queue_sent	 s;
	struct take		 tk;
	size_t			 deleted = 99;
	uint64_t		 left = 99;

	put(f, "a", 1, "a1");
	put(f, "b", 2, "b2");
	put(f, "c", 3, "c3");
	memset(&tk, 0, sizeof(tk));
	assert_int_equal(arb_queue_collect(&f->q, 16, 1 << 20, 0, take_cb, &tk,
	    &s), 0);
	assert_int_equal(s.n, 3);
	/* While the batch is in flight, b changes and c is gone. */
	assert_int_equal(put(f, "b", 5, "b5"), 1);
	assert_int_equal(arb_store_del(f->store, ARB_DB_SPOOL, "c", 1), 0);
	put(f, "d", 6, "d6");
	assert_int_equal(arb_queue_ack(&f->q, &s, &deleted, &left), 0);
	arb_queue_sent_clear(&s);
	assert_int_equal(deleted, 1);		/* a only */
	assert_int_equal(left, 2);		/* b (newer) and d */
	assert_int_equal(held(f, "a", NULL, 0), 0);
	assert_int_equal(held(f, "b", NULL, 0), 5);
	assert_int_equal(held(f, "d", NULL, 0), 6);
	/* An empty batch acknowledged deletes nothing. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(arb_queue_ack(&f->q, &s, &deleted, &left), 0);
	assert_int_equal(deleted, 0);
	assert_int_equal(left, 2);
}

static void
test_retry_backoff(void **state)
{
	struct fx	*f = *state;
	struct arb_queue_sent s;
	uint64_t	 d, base = ARB_QUEUE_RETRY_MIN_MS, now = 1000000;
	int		 i;

	assert_true(arb_queue_ready(&f->q, now));
	for (i = 0; i < 12; i++) {
		d = arb_queue_failed(&f->q, now);
		assert_true(d >= base);
		assert_true(d < base + ARB_QUEUE_RETRY_JITTER_MS);
		assert_false(arb_queue_ready(&f->q, now + d - 1));
		assert_true(arb_queue_ready(&f->q, now + d));
		base *= 2;
		if (base > ARB_QUEUE_RETRY_MAX_MS)
			base = ARB_QUEUE_RETRY_MAX_MS;
	}
	/* An acknowledgement resets it: the next failure waits 1-5 s. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(arb_queue_ack(&f->q, &s, NULL, NULL), 0);
	assert_true(arb_queue_ready(&f->q, now));
	d = arb_queue_failed(&f->q, now);
	assert_true(d >= ARB_QUEUE_RETRY_MIN_MS && d < ARB_QUEUE_RETRY_MIN_MS +
	    ARB_QUEUE_RETRY_JITTER_MS);
	arb_queue_ok(&f->q);
	assert_true(arb_queue_ready(&f->q, now));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_if_newer, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_value_layout, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_collect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ack_only_unchanged, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_retry_backoff, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
