/*
 * Unit tests for the trust rules in lib/catalog.c: every way a head or a
 * policy can be refused, and the way it is accepted.
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
#include "arbor/keychain.h"

#define NOW	1800000000LL


/* A keychain pinning k's public half (the simple case). */
static int
test_keychain(const struct arb_key *k, struct arb_keychain **kcp)
{
	struct arb_key	*pub;
	uint8_t		 raw[ARB_PUBKEY_LEN];
	int		 rv;

	if ((rv = arb_key_raw_public(k, raw)) != 0 ||
	    (rv = arb_key_from_raw_public(raw, &pub)) != 0)
		return rv;
	return arb_keychain_new(pub, NULL, NULL, kcp);
}

struct fx {
	struct arb_key	*key;
	struct arb_keychain	*kc;	/* pins key */
	struct arb_key	*other;
	Arbor__Signed	 pol;		/* signed policy "p1" v2 */
	uint8_t		 polsha[ARB_SHA256_LEN];
};

static void
make_policy(struct arb_key *k, const char *id, uint32_t ver,
    const char *title, Arbor__Signed *out, uint8_t sha[ARB_SHA256_LEN])
{
	Arbor__Policy	 p = ARBOR__POLICY__INIT;
	uint8_t		*buf;
	size_t		 len;

	p.id = (char *)id;
	p.version = ver;
	p.title = (char *)title;
	p.severity = (char *)"high";
	assert_int_equal(arb_wire_encode_policy(&p, &buf, &len), 0);
	assert_int_equal(arb_signed_make(k, buf, len, out), 0);
	assert_int_equal(arb_sha256(buf, len, sha), 0);
	free(buf);
}

/* Sign a head naming one policy ref. */
static void
make_head(struct arb_key *k, uint64_t seq, int64_t issued, int64_t expires,
    const char *id, uint32_t ver, const uint8_t *sha, int dup,
    Arbor__Signed *out)
{
	Arbor__Head		 h = ARBOR__HEAD__INIT;
	Arbor__PolicyRef	 r = ARBOR__POLICY_REF__INIT, *refs[2];
	uint8_t			*buf;
	size_t			 len;

	r.id = (char *)id;
	r.version = ver;
	r.sha256.data = (uint8_t *)sha;
	r.sha256.len = ARB_SHA256_LEN;
	refs[0] = refs[1] = &r;
	h.seq = seq;
	h.issued_at = issued;
	h.expires_at = expires;
	h.policies = refs;
	h.n_policies = dup ? 2 : 1;
	assert_int_equal(arb_wire_encode_head(&h, &buf, &len), 0);
	assert_int_equal(arb_signed_make(k, buf, len, out), 0);
	free(buf);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(arb_key_generate(&f->key), 0);
	assert_int_equal(test_keychain(f->key, &f->kc), 0);
	assert_int_equal(arb_key_generate(&f->other), 0);
	make_policy(f->key, "p1", 2, "one", &f->pol, f->polsha);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	arb_signed_clear(&f->pol);
	arb_keychain_free(f->kc);
	arb_key_free(f->key);
	arb_key_free(f->other);
	free(f);
	return 0;
}

static void
test_head_accepted(void **state)
{
	struct fx	*f = *state;
	Arbor__Signed	 s;
	Arbor__Head	*h;

	make_head(f->key, 7, NOW - 10, NOW + 3600, "p1", 2, f->polsha, 0, &s);
	assert_int_equal(arb_head_verify(f->kc, &s, 6, NOW, &h), 0);
	assert_int_equal(h->seq, 7);
	assert_int_equal(h->n_policies, 1);
	assert_non_null(arb_head_find(h, "p1"));
	assert_null(arb_head_find(h, "p2"));
	arb_wire_free_head(h);
	/* The same seq again is not a rollback. */
	assert_int_equal(arb_head_verify(f->kc, &s, 7, NOW, &h), 0);
	arb_wire_free_head(h);
	arb_signed_clear(&s);
}

static void
test_head_bad_signature(void **state)
{
	struct fx	*f = *state;
	Arbor__Signed	 s;
	Arbor__Head	*h = NULL;

	make_head(f->key, 7, NOW - 10, NOW + 3600, "p1", 2, f->polsha, 0, &s);
	s.sig.data[5] ^= 0x01;
	assert_int_equal(arb_head_verify(f->kc, &s, 0, NOW, &h),
	    ARB_EBADSIG);
	s.sig.data[5] ^= 0x01;
	s.body.data[s.body.len - 1] ^= 0x01;	/* altered body */
	assert_int_equal(arb_head_verify(f->kc, &s, 0, NOW, &h),
	    ARB_EBADSIG);
	assert_null(h);
	arb_signed_clear(&s);
}

static void
test_head_unpinned_key(void **state)
{
	struct fx	*f = *state;
	Arbor__Signed	 s;
	Arbor__Head	*h = NULL;

	make_head(f->other, 7, NOW - 10, NOW + 3600, "p1", 2, f->polsha, 0,
	    &s);
	assert_int_equal(arb_head_verify(f->kc, &s, 0, NOW, &h),
	    ARB_EUNKNOWNKEY);
	/* Claiming the pinned key's id does not help: the signature fails. */
	assert_int_equal(arb_key_id(f->key, s.key_id.data), 0);
	assert_int_equal(arb_head_verify(f->kc, &s, 0, NOW, &h),
	    ARB_EBADSIG);
	assert_null(h);
	arb_signed_clear(&s);
}

static void
test_head_rollback(void **state)
{
	struct fx	*f = *state;
	Arbor__Signed	 s;
	Arbor__Head	*h = NULL;

	make_head(f->key, 4, NOW - 10, NOW + 3600, "p1", 2, f->polsha, 0, &s);
	assert_int_equal(arb_head_verify(f->kc, &s, 5, NOW, &h),
	    ARB_EROLLBACK);
	assert_null(h);
	arb_signed_clear(&s);
}

static void
test_head_expired(void **state)
{
	struct fx	*f = *state;
	Arbor__Signed	 s;
	Arbor__Head	*h = NULL;

	make_head(f->key, 9, NOW - 7200, NOW - 3600, "p1", 2, f->polsha, 0,
	    &s);
	assert_int_equal(arb_head_verify(f->kc, &s, 0, NOW, &h),
	    ARB_EEXPIRED);
	arb_signed_clear(&s);
	/* Exactly at expires_at is expired too. */
	make_head(f->key, 9, NOW - 7200, NOW, "p1", 2, f->polsha, 0, &s);
	assert_int_equal(arb_head_verify(f->kc, &s, 0, NOW, &h),
	    ARB_EEXPIRED);
	assert_null(h);
	arb_signed_clear(&s);
}

static void
test_head_malformed(void **state)
{
	struct fx	*f = *state;
	Arbor__Signed	 s;
	Arbor__Head	*h = NULL;

	/* Expires before it was issued. */
	make_head(f->key, 9, NOW + 10, NOW + 5, "p1", 2, f->polsha, 0, &s);
	assert_int_equal(arb_head_verify(f->kc, &s, 0, NOW, &h), ARB_EPROTO);
	arb_signed_clear(&s);
	/* The same id twice. */
	make_head(f->key, 9, NOW - 10, NOW + 3600, "p1", 2, f->polsha, 1, &s);
	assert_int_equal(arb_head_verify(f->kc, &s, 0, NOW, &h), ARB_EPROTO);
	arb_signed_clear(&s);
	/* Seq 0. */
	make_head(f->key, 0, NOW - 10, NOW + 3600, "p1", 2, f->polsha, 0, &s);
	assert_int_equal(arb_head_verify(f->kc, &s, 0, NOW, &h), ARB_EPROTO);
	assert_null(h);
	arb_signed_clear(&s);
}

static void
test_policy_accepted(void **state)
{
	struct fx		*f = *state;
	Arbor__Signed		 s;
	Arbor__Head		*h;
	Arbor__Policy		*p;
	const Arbor__PolicyRef	*ref;

	make_head(f->key, 7, NOW - 10, NOW + 3600, "p1", 2, f->polsha, 0, &s);
	assert_int_equal(arb_head_verify(f->kc, &s, 0, NOW, &h), 0);
	assert_int_equal(arb_policy_verify(f->key, h, &f->pol, &p, &ref), 0);
	assert_string_equal(p->id, "p1");
	assert_int_equal(p->version, 2);
	assert_ptr_equal(ref, h->policies[0]);
	arb_wire_free_policy(p);
	arb_wire_free_head(h);
	arb_signed_clear(&s);
}

static void
test_policy_mix_and_match(void **state)
{
	struct fx		*f = *state;
	Arbor__Signed		 s, other, foreign, badsig;
	Arbor__Head		*h;
	Arbor__Policy		*p = NULL;
	const Arbor__PolicyRef	*ref = NULL;
	uint8_t			 sha[ARB_SHA256_LEN];

	make_head(f->key, 7, NOW - 10, NOW + 3600, "p1", 2, f->polsha, 0, &s);
	assert_int_equal(arb_head_verify(f->kc, &s, 0, NOW, &h), 0);
	/* Same id and version, different content: hash not in the head. */
	make_policy(f->key, "p1", 2, "changed", &other, sha);
	assert_int_equal(arb_policy_verify(f->key, h, &other, &p, &ref),
	    ARB_EMIXMATCH);
	/* A policy the head does not name at all. */
	make_policy(f->key, "p9", 1, "x", &foreign, sha);
	assert_int_equal(arb_policy_verify(f->key, h, &foreign, &p, &ref),
	    ARB_EMIXMATCH);
	/*
	 * The right bytes, signed by another key: the head names their hash,
	 * so they are the publisher's whatever signature comes with them.
	 */
	make_policy(f->other, "p1", 2, "one", &badsig, sha);
	assert_memory_equal(sha, f->polsha, ARB_SHA256_LEN);
	assert_int_equal(arb_policy_verify(f->key, h, &badsig, &p, &ref), 0);
	assert_string_equal(p->id, "p1");
	arb_wire_free_policy(p);
	p = NULL;
	ref = NULL;
	arb_signed_clear(&other);
	arb_signed_clear(&foreign);
	arb_signed_clear(&badsig);
	arb_wire_free_head(h);
	arb_signed_clear(&s);
}

static void
test_policy_ref_version_mismatch(void **state)
{
	struct fx		*f = *state;
	Arbor__Signed		 s;
	Arbor__Head		*h;
	Arbor__Policy		*p = NULL;
	const Arbor__PolicyRef	*ref = NULL;

	/* The head names the right hash under another version. */
	make_head(f->key, 7, NOW - 10, NOW + 3600, "p1", 3, f->polsha, 0, &s);
	assert_int_equal(arb_head_verify(f->kc, &s, 0, NOW, &h), 0);
	assert_int_equal(arb_policy_verify(f->key, h, &f->pol, &p, &ref),
	    ARB_EMIXMATCH);
	assert_null(p);
	arb_wire_free_head(h);
	arb_signed_clear(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_head_accepted, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_head_bad_signature, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_head_unpinned_key, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_head_rollback, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_head_expired, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_head_malformed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_policy_accepted, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_policy_mix_and_match,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_policy_ref_version_mismatch, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
