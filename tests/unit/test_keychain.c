/*
 * Unit tests for the chain rules in lib/keychain.c: rotation one version
 * at a time, catching up through several, revocation, and every statement
 * a node must refuse; the chain kept in the store across a restart.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "arbor/catalog.h"
#include "arbor/error.h"
#include "arbor/keychain.h"

#define NOW	1800000000LL
#define DAY	86400LL

struct fx {
	struct arb_key		*trust;		/* private: signs statements */
	struct arb_key		*k1, *k2, *k3;	/* publisher keys */
	struct arb_keychain	*kc;		/* a node's, pins trust */
	char			 dir[64];
	struct arb_store	*st;
};

static struct arb_key *
public_of(const struct arb_key *k)
{
	struct arb_key	*pub;
	uint8_t		 raw[ARB_PUBKEY_LEN];

	assert_int_equal(arb_key_raw_public(k, raw), 0);
	assert_int_equal(arb_key_from_raw_public(raw, &pub), 0);
	return pub;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(arb_key_generate(&f->trust), 0);
	assert_int_equal(arb_key_generate(&f->k1), 0);
	assert_int_equal(arb_key_generate(&f->k2), 0);
	assert_int_equal(arb_key_generate(&f->k3), 0);
	snprintf(f->dir, sizeof(f->dir), "/tmp/arbor-kc-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(arb_store_open(f->dir, 16 << 20, &f->st), 0);
	assert_int_equal(arb_keychain_new(NULL, public_of(f->trust), f->st,
	    &f->kc), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*f = *state;
	char		 cmd[128];

	arb_keychain_free(f->kc);
	arb_store_close(f->st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	arb_key_free(f->trust);
	arb_key_free(f->k1);
	arb_key_free(f->k2);
	arb_key_free(f->k3);
	free(f);
	return 0;
}

/* The next statement of kc, naming k, revoking rev (may be NULL). */
static void
next(struct fx *f, const struct arb_keychain *kc, const struct arb_key *k,
    const struct arb_key *rev, Arbor__Signed *s)
{
	const struct arb_key	*keys[1] = { k };
	uint8_t			 id[1][ARB_KEYID_LEN];

	if (rev)
		assert_int_equal(arb_key_id(rev, id[0]), 0);
	assert_int_equal(arb_keychain_next(kc, f->trust, keys, 1,
	    rev ? (const uint8_t (*)[ARB_KEYID_LEN])id : NULL, rev ? 1 : 0,
	    NOW - DAY, NOW + DAY, s), 0);
}

static void
sign_with(const struct arb_key *k, Arbor__Signed *s)
{
	static const uint8_t body[] = "a head";

	assert_int_equal(arb_signed_make(k, body, sizeof(body), s), 0);
}

/* Before any statement, nothing verifies; v1 names k1, then k1 signs. */
static void
test_first_statement(void **state)
{
	struct fx	*f = *state;
	Arbor__Signed	 s, h;
	int		 taken;

	sign_with(f->k1, &h);
	assert_int_equal(arb_keychain_verify(f->kc, &h, NOW),
	    ARB_EUNKNOWNKEY);
	next(f, f->kc, f->k1, NULL, &s);
	assert_int_equal(arb_keychain_take(f->kc, &s, &taken), 0);
	assert_int_equal(taken, 1);
	assert_int_equal(arb_keychain_version(f->kc), 1);
	assert_int_equal(arb_keychain_verify(f->kc, &h, NOW), 0);
	/* The same statement again changes nothing. */
	assert_int_equal(arb_keychain_take(f->kc, &s, &taken), 0);
	assert_int_equal(taken, 0);
	/* Outside its validity, the key signs nothing. */
	assert_int_equal(arb_keychain_verify(f->kc, &h, NOW + 2 * DAY),
	    ARB_EEXPIRED);
	assert_int_equal(arb_keychain_current(f->kc, f->k1), 0);
	arb_signed_clear(&s);
	arb_signed_clear(&h);
}

/* A node two rotations behind walks v2 then v3; k3 alone signs. */
static void
test_catch_up(void **state)
{
	struct fx		*f = *state;
	struct arb_keychain	*root;
	Arbor__Signed		 s1, s2, s3, h;
	int			 taken;

	/* The root's own chain makes the statements. */
	assert_int_equal(arb_keychain_new(NULL, public_of(f->trust), NULL,
	    &root), 0);
	next(f, root, f->k1, NULL, &s1);
	assert_int_equal(arb_keychain_take(root, &s1, NULL), 0);
	next(f, root, f->k2, NULL, &s2);
	assert_int_equal(arb_keychain_take(root, &s2, NULL), 0);
	next(f, root, f->k3, NULL, &s3);
	assert_int_equal(arb_keychain_take(root, &s3, NULL), 0);

	assert_int_equal(arb_keychain_take(f->kc, &s1, NULL), 0);
	/* v3 before v2: skips a version. */
	assert_int_equal(arb_keychain_take(f->kc, &s3, &taken), ARB_EKEYGAP);
	assert_int_equal(arb_keychain_version(f->kc), 1);
	assert_int_equal(arb_keychain_take(f->kc, &s2, NULL), 0);
	assert_int_equal(arb_keychain_take(f->kc, &s3, NULL), 0);
	assert_int_equal(arb_keychain_version(f->kc), 3);
	sign_with(f->k1, &h);
	assert_int_equal(arb_keychain_verify(f->kc, &h, NOW),
	    ARB_EUNKNOWNKEY);
	arb_signed_clear(&h);
	sign_with(f->k3, &h);
	assert_int_equal(arb_keychain_verify(f->kc, &h, NOW), 0);
	arb_signed_clear(&h);
	/* An older statement is refused, even its exact bytes. */
	assert_int_equal(arb_keychain_take(f->kc, &s2, NULL), ARB_EKEYOLD);

	/* A restart holds the same chain, from the store. */
	arb_keychain_free(f->kc);
	assert_int_equal(arb_keychain_new(NULL, public_of(f->trust), f->st,
	    &f->kc), 0);
	assert_int_equal(arb_keychain_version(f->kc), 3);
	assert_int_equal(arb_keychain_current(f->kc, f->k3), 0);

	arb_keychain_free(root);
	arb_signed_clear(&s1);
	arb_signed_clear(&s2);
	arb_signed_clear(&s3);
}

/* Same version, other content; or a link that is not the held hash. */
static void
test_fork(void **state)
{
	struct fx	*f = *state;
	Arbor__Signed	 s1, s1b, s2;
	uint8_t		 wrong[ARB_SHA256_LEN];
	const struct arb_key *keys[1] = { f->k2 };

	next(f, f->kc, f->k1, NULL, &s1);
	next(f, f->kc, f->k2, NULL, &s1b);	/* another v1 */
	assert_int_equal(arb_keychain_take(f->kc, &s1, NULL), 0);
	assert_int_equal(arb_keychain_take(f->kc, &s1b, NULL), ARB_EKEYFORK);
	memset(wrong, 0x5a, sizeof(wrong));
	assert_int_equal(arb_keychain_sign(f->trust, 2, wrong, keys, 1, NULL,
	    0, NOW - DAY, NOW + DAY, &s2), 0);
	assert_int_equal(arb_keychain_take(f->kc, &s2, NULL), ARB_EKEYFORK);
	assert_int_equal(arb_keychain_version(f->kc), 1);
	assert_int_equal(arb_keychain_current(f->kc, f->k1), 0);
	arb_signed_clear(&s1);
	arb_signed_clear(&s1b);
	arb_signed_clear(&s2);
}

/* A revoked key signs nothing and never comes back. */
static void
test_revoke(void **state)
{
	struct fx	*f = *state;
	Arbor__Signed	 s1, s2, s3, h;
	uint8_t		 h2[ARB_SHA256_LEN], rid[1][ARB_KEYID_LEN];
	Arbor__Signed	**held;
	size_t		 nheld;
	const struct arb_key *back[1] = { f->k1 };
	const struct arb_key *k3[1] = { f->k3 };

	next(f, f->kc, f->k1, NULL, &s1);
	assert_int_equal(arb_keychain_take(f->kc, &s1, NULL), 0);
	next(f, f->kc, f->k2, f->k1, &s2);
	assert_int_equal(arb_keychain_take(f->kc, &s2, NULL), 0);
	sign_with(f->k1, &h);
	assert_int_equal(arb_keychain_verify(f->kc, &h, NOW), ARB_EREVOKED);
	arb_signed_clear(&h);
	/* The builder will not name a revoked key again ... */
	assert_int_equal(arb_keychain_next(f->kc, f->trust, back, 1, NULL, 0,
	    NOW - DAY, NOW + DAY, &s3), ARB_EINVAL);
	/* ... and a statement that drops the revocation is refused. */
	assert_int_equal(arb_keychain_last_hash(f->kc, h2), 0);
	assert_int_equal(arb_keychain_sign(f->trust, 3, h2, k3, 1, NULL, 0,
	    NOW - DAY, NOW + DAY, &s3), 0);
	assert_int_equal(arb_keychain_take(f->kc, &s3, NULL), ARB_EREVOKED);
	arb_signed_clear(&s3);
	/* Nor one that names the revoked key. */
	assert_int_equal(arb_keychain_sign(f->trust, 3, h2, back, 1, NULL, 0,
	    NOW - DAY, NOW + DAY, &s3), 0);
	assert_int_equal(arb_keychain_take(f->kc, &s3, NULL), ARB_EREVOKED);
	arb_signed_clear(&s3);
	/* Nor one that names it while it keeps the revocation; and what is
	 * refused is not stored either. */
	assert_int_equal(arb_key_id(f->k1, rid[0]), 0);
	assert_int_equal(arb_keychain_sign(f->trust, 3, h2, back, 1,
	    (const uint8_t (*)[ARB_KEYID_LEN])rid, 1, NOW - DAY, NOW + DAY,
	    &s3), 0);
	assert_int_equal(arb_keychain_take(f->kc, &s3, NULL), ARB_EREVOKED);
	assert_int_equal(arb_keychain_version(f->kc), 2);
	assert_int_equal(arb_keychain_stored(f->st, 2, 4, &held, &nheld), 0);
	assert_int_equal(nheld, 0);
	free(held);
	arb_signed_clear(&s1);
	arb_signed_clear(&s2);
	arb_signed_clear(&s3);
}

/* Only the trust root signs statements. */
static void
test_not_trust_root(void **state)
{
	struct fx		*f = *state;
	struct arb_keychain	*other;
	Arbor__Signed		 s;
	const struct arb_key	*keys[1] = { f->k1 };

	assert_int_equal(arb_keychain_sign(f->k2, 1, NULL, keys, 1, NULL, 0,
	    NOW - DAY, NOW + DAY, &s), 0);
	assert_int_equal(arb_keychain_take(f->kc, &s, NULL), ARB_EUNKNOWNKEY);
	s.sig.data[0] ^= 1;
	assert_int_equal(arb_keychain_take(f->kc, &s, NULL), ARB_EUNKNOWNKEY);
	arb_signed_clear(&s);
	next(f, f->kc, f->k1, NULL, &s);
	s.sig.data[3] ^= 1;
	assert_int_equal(arb_keychain_take(f->kc, &s, NULL), ARB_EBADSIG);
	arb_signed_clear(&s);
	/* A pinned publisher key takes no statements at all. */
	assert_int_equal(arb_keychain_new(public_of(f->k1), NULL, NULL,
	    &other), 0);
	assert_int_equal(arb_keychain_rotates(other), 0);
	next(f, f->kc, f->k1, NULL, &s);
	assert_int_equal(arb_keychain_take(other, &s, NULL), ARB_EINVAL);
	assert_int_equal(arb_keychain_current(other, f->k1), 0);
	assert_int_equal(arb_keychain_current(other, f->k2), ARB_EUNKNOWNKEY);
	arb_keychain_free(other);
	arb_signed_clear(&s);
}

/* The store hands out the chain after a version, oldest first. */
static void
test_stored(void **state)
{
	struct fx	 *f = *state;
	Arbor__Signed	  s;
	Arbor__Signed	**got;
	size_t		  i, n;

	next(f, f->kc, f->k1, NULL, &s);
	assert_int_equal(arb_keychain_take(f->kc, &s, NULL), 0);
	arb_signed_clear(&s);
	next(f, f->kc, f->k2, NULL, &s);
	assert_int_equal(arb_keychain_take(f->kc, &s, NULL), 0);
	arb_signed_clear(&s);
	assert_int_equal(arb_keychain_stored(f->st, 0, 8, &got, &n), 0);
	assert_int_equal(n, 2);
	for (i = 0; i < n; i++)
		arb_wire_free_signed(got[i]);
	free(got);
	assert_int_equal(arb_keychain_stored(f->st, 1, 8, &got, &n), 0);
	assert_int_equal(n, 1);
	arb_wire_free_signed(got[0]);
	free(got);
	assert_int_equal(arb_keychain_stored(f->st, 2, 8, &got, &n), 0);
	assert_int_equal(n, 0);
	free(got);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_first_statement, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_catch_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fork, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revoke, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_trust_root, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_stored, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
