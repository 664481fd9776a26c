/*
 * Unit tests for lib/offline.c: a manifest built and parsed back; every
 * way a manifest is refused (another version, a path that leaves the
 * directory, a path twice, cut short, changed after its end line was
 * written); a reports file built and parsed back, and refused whole when
 * it is cut or changed anywhere, before any batch is handed on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arbor/error.h"
#include "arbor/offline.h"
#include "arbor/wire.h"

static const uint8_t sha_x[ARB_SHA256_LEN] = { 1, 2, 3 };

static void
build(struct arb_manifest *m, uint8_t **bufp, size_t *lenp)
{
	memset(m, 0, sizeof(*m));
	assert_int_equal(arb_manifest_add(m, "head.signed", sha_x, 10), 0);
	assert_int_equal(arb_manifest_add(m, "blobs/sha256/01/0102", sha_x,
	    1ULL << 40), 0);
	assert_int_equal(arb_manifest_text(m, bufp, lenp), 0);
}

static void
test_manifest_round_trip(void **state)
{
	struct arb_manifest		 m, *p;
	const struct arb_manifest_file	*f;
	uint8_t				*buf;
	size_t				 len;
	char				 err[128];

	(void)state;
	build(&m, &buf, &len);
	assert_int_equal(arb_manifest_parse(buf, len, &p, err, sizeof(err)),
	    0);
	assert_int_equal(p->nfiles, 2);
	assert_non_null(f = arb_manifest_find(p, "blobs/sha256/01/0102"));
	assert_int_equal(f->size, 1ULL << 40);
	assert_memory_equal(f->sha, sha_x, ARB_SHA256_LEN);
	assert_null(arb_manifest_find(p, "nope"));
	arb_manifest_free(p);
	free(buf);
	free(m.files);
}

static void
test_manifest_refused(void **state)
{
	struct arb_manifest	 m, *p;
	uint8_t			*buf;
	size_t			 len;
	char			 err[128];

	(void)state;
	memset(&m, 0, sizeof(m));
	assert_int_equal(arb_manifest_add(&m, "../etc/passwd", sha_x, 1),
	    ARB_EINVAL);
	assert_int_equal(arb_manifest_add(&m, "/etc/passwd", sha_x, 1),
	    ARB_EINVAL);
	assert_int_equal(arb_manifest_add(&m, "a//b", sha_x, 1), ARB_EINVAL);
	assert_int_equal(arb_manifest_add(&m, "a/./b", sha_x, 1), ARB_EINVAL);
	assert_int_equal(arb_manifest_add(&m, "a b", sha_x, 1), ARB_EINVAL);

	build(&m, &buf, &len);
	/* Cut anywhere: no end line, or a wrong one. */
	assert_int_equal(arb_manifest_parse(buf, len - 1, &p, err,
	    sizeof(err)), ARB_EPROTO);
	assert_int_equal(arb_manifest_parse(buf, len / 2, &p, err,
	    sizeof(err)), ARB_EPROTO);
	assert_non_null(strstr(err, "cut short"));
	/* Changed after the end line was written. */
	buf[20] ^= 1;
	assert_int_not_equal(arb_manifest_parse(buf, len, &p, err,
	    sizeof(err)), 0);
	buf[20] ^= 1;
	buf[len - 10] = buf[len - 10] == '0' ? '1' : '0';
	assert_int_equal(arb_manifest_parse(buf, len, &p, err, sizeof(err)),
	    ARB_EBADHASH);
	free(buf);
	/* Another version. */
	assert_int_equal(arb_manifest_parse((const uint8_t *)"arbor-export 2\n",
	    15, &p, err, sizeof(err)), ARB_EPROTO);
	free(m.files);
}

static int
count_cb(const Arbor__Envelope *env, size_t idx, void *arg)
{
	size_t *n = arg;

	assert_int_equal(env->body_case, ARBOR__ENVELOPE__BODY_REPORT_BATCH);
	assert_int_equal(idx, *n);
	(*n)++;
	return 0;
}

static void
test_repfile(void **state)
{
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT;
	Arbor__ReportBatch	 b = ARBOR__REPORT_BATCH__INIT;
	struct arb_repfile	 f;
	uint8_t			*buf;
	size_t			 len, i, n;
	char			 err[128];

	(void)state;
	env.version = 1;
	env.body_case = ARBOR__ENVELOPE__BODY_REPORT_BATCH;
	env.report_batch = &b;
	assert_int_equal(arb_wire_encode(&env, &buf, &len), 0);
	memset(&f, 0, sizeof(f));
	for (i = 0; i < 3; i++)
		assert_int_equal(arb_repfile_add(&f, buf, len), 0);
	free(buf);
	assert_int_equal(arb_repfile_end(&f), 0);
	n = 0;
	assert_int_equal(arb_repfile_parse(f.buf, f.len, count_cb, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 3);
	/* Cut or changed at any byte: refused, and no batch handed on. */
	for (i = 0; i < f.len; i++) {
		n = 0;
		assert_int_not_equal(arb_repfile_parse(f.buf, i, count_cb, &n,
		    err, sizeof(err)), 0);
		assert_int_equal(n, 0);
		f.buf[i] ^= 0x10;
		assert_int_not_equal(arb_repfile_parse(f.buf, f.len, count_cb,
		    &n, err, sizeof(err)), 0);
		assert_int_equal(n, 0);
		f.buf[i] ^= 0x10;
	}
	arb_repfile_clear(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_manifest_round_trip),
		cmocka_unit_test(test_manifest_refused),
		cmocka_unit_test(test_repfile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
