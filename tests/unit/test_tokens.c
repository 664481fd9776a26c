/*
 * Unit tests for the root's enrolment tokens (root/tokens.c): a token is
 * judged revoked, expired or used up in that order; an endpoint that
 * already holds the token takes no second use, even of a used-up one; an
 * unknown token, and one whose hash shares only the id's prefix, are
 * refused; a use is staged in the caller's transaction, so that an
 * aborted enrolment takes none; the store never holds the token's text.
 * Every store lives under its own mkdtemp() directory.
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

#include "support/tmptree.h"

#include "arbor/error.h"
#include "arbor/io.h"
#include "arbor/sig.h"
#include "arbor/store.h"
#include "root.h"

#define MAPSIZE		(8ULL * 1024 * 1024)
#define TOKEN		"arbor-0123456789abcdef0123456789abcdef"
#define NOW		1700000000

struct fixture {
	char			 dir[64];
	struct arb_store	*s;
};

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof(*f));
	char		 path[96];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/arbor-test-tokens-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(path, sizeof(path), "%s/db", f->dir);
	assert_int_equal(arb_store_open(path, MAPSIZE, &f->s), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	arb_store_close(f->s);
	test_rmtree(f->dir);
	free(f);
	return 0;
}

/* Store the token text's record as token create does; its id in id. */
static void
put_token(struct fixture *f, const char *text, uint32_t max_uses,
    int64_t expires, char id[ROOT_TOKEN_ID_HEX])
{
	Arbor__TokenRecord	 tk = ARBOR__TOKEN_RECORD__INIT;
	char			*groups[] = { (char *)"lab" };
	uint8_t			 sha[ARB_SHA256_LEN], *buf;
	size_t			 len;

	assert_int_equal(arb_sha256(text, strlen(text), sha), 0);
	root_token_id(sha, id);
	tk.id = id;
	tk.sha256.data = sha;
	tk.sha256.len = sizeof(sha);
	tk.groups = groups;
	tk.n_groups = 1;
	tk.created = NOW - 10;
	tk.expires = expires;
	tk.max_uses = max_uses;
	assert_int_equal(arb_wire_encode_token(&tk, &buf, &len), 0);
	assert_int_equal(arb_store_put(f->s, ARB_DB_TOKENS, id, strlen(id),
	    buf, len), 0);
	free(buf);
}

static uint32_t
uses_of(struct fixture *f, const char *id)
{
	Arbor__TokenRecord	*tk;
	void			*v;
	size_t			 n;
	uint32_t		 uses;

	assert_int_equal(arb_store_get(f->s, ARB_DB_TOKENS, id, strlen(id),
	    &v, &n), 0);
	assert_int_equal(arb_wire_decode_token(v, n, &tk), 0);
	free(v);
	uses = tk->uses;
	arb_wire_free_token(tk);
	return uses;
}

/* One enrolment's take, committed (commit 1) or aborted. */
static int
take(struct fixture *f, const char *text, const Arbor__EndpointRecord *old,
    int commit, enum root_enrol_why *why)
{
	Arbor__TokenRecord	*tk = NULL;
	struct arb_txn		*t;
	int			 rv;

	assert_int_equal(arb_txn_begin(f->s, 1, &t), 0);
	rv = root_token_take(t, text, old, NOW, &tk, why);
	if (rv == 0) {
		assert_non_null(tk);
		assert_int_equal(tk->n_groups, 1);
		assert_string_equal(tk->groups[0], "lab");
	}
	arb_wire_free_token(tk);
	if (commit)
		assert_int_equal(arb_txn_commit(t), 0);
	else
		arb_txn_abort(t);
	return rv;
}

static void
test_judge_order(void **state)
{
	Arbor__TokenRecord	tk = ARBOR__TOKEN_RECORD__INIT;
	enum root_enrol_why	why;

	(void)state;
	tk.max_uses = 2;
	tk.uses = 1;
	tk.expires = NOW + 1;
	assert_int_equal(root_token_judge(&tk, NOW, 0, &why), 0);
	tk.uses = 2;
	assert_int_equal(root_token_judge(&tk, NOW, 0, &why), ARB_EPERM);
	assert_int_equal(why, ROOT_ENR_TOKEN_USED);
	/* Already its holder: takes no use, so used up does not matter. */
	assert_int_equal(root_token_judge(&tk, NOW, 1, &why), 0);
	/* Expired at the second it names, also for a holder. */
	assert_int_equal(root_token_judge(&tk, NOW + 1, 1, &why), ARB_EPERM);
	assert_int_equal(why, ROOT_ENR_TOKEN_EXPIRED);
	tk.revoked = 1;
	assert_int_equal(root_token_judge(&tk, NOW + 1, 1, &why), ARB_EPERM);
	assert_int_equal(why, ROOT_ENR_TOKEN_REVOKED);
	/* No limit, no expiry. */
	tk.revoked = 0;
	tk.max_uses = 0;
	tk.expires = 0;
	tk.uses = 1000000;
	assert_int_equal(root_token_judge(&tk, NOW, 0, &why), 0);
}

static void
test_uses_and_again(void **state)
{
	struct fixture		*f = *state;
	Arbor__EndpointRecord	 old = ARBOR__ENDPOINT_RECORD__INIT;
	enum root_enrol_why	 why;
	char			 id[ROOT_TOKEN_ID_HEX];

	put_token(f, TOKEN, 2, 0, id);
	/* An enrolment that fails later (aborted) takes no use. */
	assert_int_equal(take(f, TOKEN, NULL, 0, &why), 0);
	assert_int_equal(uses_of(f, id), 0);
	assert_int_equal(take(f, TOKEN, NULL, 1, &why), 0);
	assert_int_equal(uses_of(f, id), 1);
	/* The same endpoint again (a lost reply): no second use... */
	old.token_id = id;
	assert_int_equal(take(f, TOKEN, &old, 1, &why), 0);
	assert_int_equal(uses_of(f, id), 1);
	/* ...but one enrolled with another token takes one. */
	old.token_id = (char *)"0000000000000000";
	assert_int_equal(take(f, TOKEN, &old, 1, &why), 0);
	assert_int_equal(uses_of(f, id), 2);
	assert_int_equal(take(f, TOKEN, NULL, 1, &why), ARB_EPERM);
	assert_int_equal(why, ROOT_ENR_TOKEN_USED);
	assert_int_equal(uses_of(f, id), 2);
	/* Its holders may still enrol again once it is used up. */
	old.token_id = id;
	assert_int_equal(take(f, TOKEN, &old, 1, &why), 0);
	assert_int_equal(uses_of(f, id), 2);
}

static void
test_unknown_and_prefix(void **state)
{
	struct fixture		*f = *state;
	Arbor__TokenRecord	 tk = ARBOR__TOKEN_RECORD__INIT;
	enum root_enrol_why	 why;
	uint8_t			 sha[ARB_SHA256_LEN], *buf;
	char			 id[ROOT_TOKEN_ID_HEX];
	size_t			 len;

	assert_int_equal(take(f, TOKEN, NULL, 1, &why), ARB_EPERM);
	assert_int_equal(why, ROOT_ENR_TOKEN_UNKNOWN);
	/* A record under the token's id whose hash differs after it. */
	assert_int_equal(arb_sha256(TOKEN, strlen(TOKEN), sha), 0);
	root_token_id(sha, id);
	sha[ARB_SHA256_LEN - 1] ^= 1;
	tk.id = id;
	tk.sha256.data = sha;
	tk.sha256.len = sizeof(sha);
	assert_int_equal(arb_wire_encode_token(&tk, &buf, &len), 0);
	assert_int_equal(arb_store_put(f->s, ARB_DB_TOKENS, id, strlen(id),
	    buf, len), 0);
	free(buf);
	assert_int_equal(take(f, TOKEN, NULL, 1, &why), ARB_EPERM);
	assert_int_equal(why, ROOT_ENR_TOKEN_UNKNOWN);
	assert_int_equal(uses_of(f, id), 0);
}

static void
test_expired_and_no_clear_text(void **state)
{
	struct fixture		*f = *state;
	enum root_enrol_why	 why;
	char			 id[ROOT_TOKEN_ID_HEX], path[128];
	uint8_t			*buf;
	size_t			 len;

	put_token(f, TOKEN, 0, NOW, id);
	assert_int_equal(take(f, TOKEN, NULL, 1, &why), ARB_EPERM);
	assert_int_equal(why, ROOT_ENR_TOKEN_EXPIRED);
	assert_int_equal(uses_of(f, id), 0);
	/* The store's file: the hash's prefix is there, the text is not. */
	snprintf(path, sizeof(path), "%s/db/data.mdb", f->dir);
	assert_int_equal(arb_io_read_file(path, MAPSIZE, &buf, &len), 0);
	assert_null(memmem(buf, len, TOKEN, strlen(TOKEN)));
	assert_non_null(memmem(buf, len, id, strlen(id)));
	free(buf);
}

static void
test_reject_reasons(void **state)
{
	(void)state;
	assert_int_equal(root_reject_why(ARB_EREVOKED), ROOT_REJ_REVOKED);
	assert_string_equal(root_reject_why_name(ROOT_REJ_REVOKED), "revoked");
	assert_int_equal(root_reject_why(ARB_ENOTFOUND), ROOT_REJ_UNKNOWN);
	assert_int_equal(root_reject_why(ARB_EBADSIG), ROOT_REJ_BADSIG);
	assert_int_equal(root_reject_why(ARB_ESTALE), ROOT_REJ_REPLAYED);
	assert_int_equal(root_reject_why(ARB_EPROTO), ROOT_REJ_MALFORMED);
	assert_string_equal(root_enrol_why_name(ROOT_ENR_TOKEN_USED),
	    "token used up");
	assert_string_equal(root_enrol_why_name(ROOT_ENR_COUNT), "invalid");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_judge_order),
		cmocka_unit_test_setup_teardown(test_uses_and_again, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unknown_and_prefix, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_expired_and_no_clear_text, setup, teardown),
		cmocka_unit_test(test_reject_reasons),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
