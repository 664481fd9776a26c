/*
 * Unit tests for lib/inventory.c: collecting a fixture tree's packages, the
 * digest, deltas made and applied (and refused when made against another
 * inventory or when the digest does not come out), and the checks on
 * inventories from the wire.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arbor/error.h"
#include "arbor/facts.h"
#include "arbor/inventory.h"

/* A full inventory of n packages "pkg-%04u" amd64, version "1.<ver[i]>". */
struct fake {
	Arbor__InventoryDelta	 m;
	Arbor__Package		 pk[64];
	Arbor__Package		*pkp[64];
	char			 names[64][16];
	char			 vers[64][16];
	uint8_t			 dg[ARB_SHA256_LEN];
};

static void
fake_make(struct fake *f, const unsigned *ids, const unsigned *ver, size_t n)
{
	size_t	i;

	memset(f, 0, sizeof(*f));
	arbor__inventory_delta__init(&f->m);
	for (i = 0; i < n; i++) {
		arbor__package__init(&f->pk[i]);
		snprintf(f->names[i], sizeof(f->names[i]), "pkg-%04u", ids[i]);
		snprintf(f->vers[i], sizeof(f->vers[i]), "1.%u", ver[i]);
		f->pk[i].name = f->names[i];
		f->pk[i].arch = (char *)"amd64";
		f->pk[i].version = f->vers[i];
		f->pkp[i] = &f->pk[i];
	}
	f->m.full = 1;
	f->m.set = f->pkp;
	f->m.n_set = n;
	assert_int_equal(arb_inv_digest(f->pkp, n, f->dg), 0);
	f->m.digest.data = f->dg;
	f->m.digest.len = ARB_SHA256_LEN;
	f->m.packages = (uint32_t)n;
}

static void
same_list(const Arbor__InventoryDelta *a, const Arbor__InventoryDelta *b)
{
	size_t	i;

	assert_int_equal(a->n_set, b->n_set);
	for (i = 0; i < a->n_set; i++) {
		assert_string_equal(a->set[i]->name, b->set[i]->name);
		assert_string_equal(a->set[i]->arch, b->set[i]->arch);
		assert_string_equal(a->set[i]->version, b->set[i]->version);
	}
}

/* base -> cur as a delta, applied to base, gives cur; re-encoded too. */
static void
test_diff_apply(void **state)
{
	static const unsigned ids0[] = { 1, 2, 3, 5, 8 }, v0[] = { 0, 0, 0, 0, 0 };
	static const unsigned ids1[] = { 1, 3, 4, 5, 8, 9 },
	    v1[] = { 0, 1, 0, 0, 0, 0 };
	struct fake		 base, cur;
	struct arb_inv_delta	 d, res;
	Arbor__InventoryDelta	*dec;
	uint8_t			*buf;
	size_t			 len;

	(void)state;
	fake_make(&base, ids0, v0, 5);
	fake_make(&cur, ids1, v1, 6);
	assert_int_equal(arb_inv_diff(&base.m, &cur.m, &d), 0);
	assert_false(d.m.full);
	assert_int_equal(d.m.n_set, 3);		/* 3 changed, 4 and 9 new */
	assert_int_equal(d.m.n_removed, 1);	/* 2 gone */
	assert_string_equal(d.m.removed[0]->name, "pkg-0002");
	assert_int_equal(arb_inv_check(&d.m), 0);
	/* Over the wire and back, as the root receives it. */
	assert_int_equal(arb_wire_encode_inv(&d.m, &buf, &len), 0);
	assert_int_equal(arb_wire_decode_inv(buf, len, &dec), 0);
	free(buf);
	assert_int_equal(arb_inv_apply(&base.m, dec, &res), 0);
	assert_true(res.m.full);
	same_list(&res.m, &cur.m);
	arb_inv_delta_clear(&res);
	/* Made against another inventory: refused, nothing guessed. */
	assert_int_equal(arb_inv_apply(&cur.m, dec, &res), ARB_ESTALE);
	assert_int_equal(arb_inv_apply(NULL, dec, &res), ARB_ESTALE);
	/* A digest that does not come out. */
	dec->digest.data[0] ^= 1;
	assert_int_equal(arb_inv_apply(&base.m, dec, &res), ARB_EBADHASH);
	arb_wire_free_inv(dec);
	arb_inv_delta_clear(&d);

	/* No base: the delta is the whole inventory. */
	assert_int_equal(arb_inv_diff(NULL, &cur.m, &d), 0);
	assert_true(d.m.full);
	assert_int_equal(arb_inv_apply(&base.m, &d.m, &res), 0);
	same_list(&res.m, &cur.m);
	arb_inv_delta_clear(&res);
	arb_inv_delta_clear(&d);

	/* Nothing changed: an empty delta that still applies. */
	assert_int_equal(arb_inv_diff(&cur.m, &cur.m, &d), 0);
	assert_int_equal(d.m.n_set + d.m.n_removed, 0);
	assert_int_equal(arb_inv_apply(&cur.m, &d.m, &res), 0);
	same_list(&res.m, &cur.m);
	arb_inv_delta_clear(&res);
	arb_inv_delta_clear(&d);
}

/* A delta that removes what the root does not hold is refused. */
static void
test_remove_unheld(void **state)
{
	static const unsigned ids0[] = { 1, 2 }, v0[] = { 0, 0 };
	static const unsigned ids1[] = { 1 }, v1[] = { 0 };
	struct fake		 base, cur, other;
	struct arb_inv_delta	 d, res;
	static const unsigned ids2[] = { 1, 3 };

	(void)state;
	fake_make(&base, ids0, v0, 2);
	fake_make(&cur, ids1, v1, 1);
	fake_make(&other, ids2, v0, 2);
	assert_int_equal(arb_inv_diff(&base.m, &cur.m, &d), 0);
	/* Pretend other has base's digest: the removal finds no pkg-0002. */
	memcpy(other.dg, base.dg, ARB_SHA256_LEN);
	assert_int_equal(arb_inv_apply(&other.m, &d.m, &res), ARB_EPROTO);
	arb_inv_delta_clear(&d);
}

static void
test_check(void **state)
{
	static const unsigned ids[] = { 1, 2 }, v[] = { 0, 0 };
	struct fake	f;
	char		big[ARB_INV_NAME_MAX + 2];

	(void)state;
	fake_make(&f, ids, v, 2);
	assert_int_equal(arb_inv_check(&f.m), 0);
	f.pkp[0] = &f.pk[1];		/* twice */
	assert_int_equal(arb_inv_check(&f.m), ARB_EPROTO);
	f.pkp[0] = &f.pk[1];
	f.pkp[1] = &f.pk[0];		/* unsorted */
	assert_int_equal(arb_inv_check(&f.m), ARB_EPROTO);
	fake_make(&f, ids, v, 2);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	f.pk[1].name = big;		/* too long */
	assert_int_equal(arb_inv_check(&f.m), ARB_EPROTO);
	fake_make(&f, ids, v, 2);
	f.m.digest.len = 5;
	assert_int_equal(arb_inv_check(&f.m), ARB_EPROTO);
	fake_make(&f, ids, v, 2);
	f.m.full = 0;			/* a delta needs its base */
	assert_int_equal(arb_inv_check(&f.m), ARB_EPROTO);
	fake_make(&f, ids, v, 2);
	f.pk[0].version = (char *)"";	/* installed without a version */
	assert_int_equal(arb_inv_check(&f.m), ARB_EPROTO);
}

/* The fixture tree's packages, sorted, with the machine's own facts. */
static void
test_collect(void **state)
{
	struct arb_facts_conf	 fc = { 0 };
	struct arb_facts	*facts;
	Arbor__InventoryDelta	*inv, *inv2;
	const char		*v;

	(void)state;
	fc.root = ARBOR_FIXTURES "/debian12-old-openssl";
	assert_int_equal(arb_facts_new(&fc, &facts), 0);
	assert_int_equal(arb_inv_collect(facts, &inv), 0);
	assert_true(inv->n_set >= 3);
	assert_int_equal(inv->n_set, inv->packages);
	assert_false(inv->truncated);
	assert_int_equal(arb_inv_check(inv), 0);
	arb_inv_pkg(inv, "openssl", &v);
	assert_non_null(v);
	assert_string_equal(v, "3.0.11-1~deb12u2");
	arb_inv_pkg(inv, "openssl:amd64", &v);
	assert_string_equal(v, "3.0.11-1~deb12u2");
	arb_inv_pkg(inv, "openssl:arm64", &v);
	assert_null(v);
	arb_inv_pkg(inv, "nosuch", &v);
	assert_null(v);
	assert_true(inv->cpus >= 1);
	assert_true(inv->mem_bytes > 0);
	assert_true(inv->kernel[0] != '\0');
	/* Collected twice, the same digest. */
	assert_int_equal(arb_inv_collect(facts, &inv2), 0);
	assert_memory_equal(inv->digest.data, inv2->digest.data,
	    ARB_SHA256_LEN);
	arb_inv_free(inv2);
	arb_inv_free(inv);
	arb_facts_free(facts);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_diff_apply),
		cmocka_unit_test(test_remove_unheld),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_collect),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
