/*
 * Unit tests for how the root's audit trail names a control request
 * (root/audit.c, root_audit_what): each operator action by arborctl's
 * word and its target, reads and blob chunks not at all, an enrolment
 * token by its id and never by its hash, an unknown operation as "?",
 * a long target clipped; and the status an Error's code is recorded with.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "arbor/error.h"
#include "arbor/sig.h"
#include "root.h"

static void
want(const Arbor__Envelope *env, const char *action, const char *target,
    const char *note)
{
	struct root_audit_what	w;

	assert_int_equal(root_audit_what(env, &w), 1);
	assert_string_equal(w.action, action);
	assert_string_equal(w.target, target);
	assert_string_equal(w.note, note);
}

static void
test_policies(void **state)
{
	Arbor__Envelope	env = ARBOR__ENVELOPE__INIT;
	Arbor__Publish	pb = ARBOR__PUBLISH__INIT;
	Arbor__Policy	p = ARBOR__POLICY__INIT;
	Arbor__Push	push = ARBOR__PUSH__INIT;
	Arbor__Retire	ret = ARBOR__RETIRE__INIT;
	Arbor__Rollback	rb = ARBOR__ROLLBACK__INIT;

	(void)state;
	p.id = "openssl-3";
	p.version = 3;
	pb.policy = &p;
	env.body_case = ARBOR__ENVELOPE__BODY_PUBLISH;
	env.publish = &pb;
	want(&env, "publish", "openssl-3", "v3");
	pb.policy = NULL;
	want(&env, "publish", "", "");
	push.id = "openssl-3";
	env.body_case = ARBOR__ENVELOPE__BODY_PUSH;
	env.push = &push;
	want(&env, "push", "openssl-3", "");
	ret.id = "old";
	env.body_case = ARBOR__ENVELOPE__BODY_RETIRE;
	env.retire = &ret;
	want(&env, "retire", "old", "");
	rb.id = "bad";
	env.body_case = ARBOR__ENVELOPE__BODY_ROLLBACK;
	env.rollback = &rb;
	want(&env, "rollback", "bad", "");
}

static void
test_rollout(void **state)
{
	Arbor__Envelope		env = ARBOR__ENVELOPE__INIT;
	Arbor__RolloutCtl	rc = ARBOR__ROLLOUT_CTL__INIT;
	struct root_audit_what	w;

	(void)state;
	env.body_case = ARBOR__ENVELOPE__BODY_ROLLOUT_CTL;
	env.rollout_ctl = &rc;
	rc.id = "staged";
	rc.op = "pause";
	want(&env, "rollout pause", "staged", "");
	rc.op = "retry-failed";
	want(&env, "rollout retry-failed", "staged", "");
	/* Whatever an operation says, the action's word stays a word. */
	rc.op = "PAUSE; rm -rf /";
	want(&env, "rollout ?", "staged", "");
	rc.op = "";
	want(&env, "rollout ?", "staged", "");
	rc.op = "status";
	assert_int_equal(root_audit_what(&env, &w), 0);
}

static void
test_tokens(void **state)
{
	Arbor__Envelope		env = ARBOR__ENVELOPE__INIT;
	Arbor__TokenCtl		tc = ARBOR__TOKEN_CTL__INIT;
	Arbor__ApiTokenCtl	ac = ARBOR__API_TOKEN_CTL__INIT;
	Arbor__EndpointRevoke	er = ARBOR__ENDPOINT_REVOKE__INIT;
	struct root_audit_what	w;
	char			*groups[] = { "lab", "db" };
	uint8_t			sha[ARB_SHA256_LEN];
	char			id[ROOT_TOKEN_ID_HEX], hex[ARB_SHA256_HEX];
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(sha); i++)
		sha[i] = (uint8_t)(0xa0 + i);
	root_token_id(sha, id);
	arb_hex(sha, sizeof(sha), hex);
	env.body_case = ARBOR__ENVELOPE__BODY_TOKEN_CTL;
	env.token_ctl = &tc;
	tc.op = "create";
	tc.sha256.data = sha;
	tc.sha256.len = sizeof(sha);
	want(&env, "token create", id, "");
	tc.groups = groups;
	tc.n_groups = 2;
	want(&env, "token create", id, "groups lab, db");
	/* The id is the hash's prefix; the rest is never recorded. */
	assert_int_equal(root_audit_what(&env, &w), 1);
	assert_null(strstr(w.target, hex + ROOT_TOKEN_ID_HEX - 1));
	assert_null(strstr(w.note, hex + ROOT_TOKEN_ID_HEX - 1));
	tc.sha256.len = 5;
	want(&env, "token create", "", "groups lab, db");
	tc.op = "revoke";
	tc.id = id;
	want(&env, "token revoke", id, "");
	tc.op = "list";
	assert_int_equal(root_audit_what(&env, &w), 0);

	env.body_case = ARBOR__ENVELOPE__BODY_API_TOKEN_CTL;
	env.api_token_ctl = &ac;
	ac.op = "create";
	ac.name = "ci-deploy";
	ac.role = "operator";
	want(&env, "api-token create", "ci-deploy", "role operator");
	ac.op = "revoke";
	want(&env, "api-token revoke", "ci-deploy", "");
	ac.op = "list";
	assert_int_equal(root_audit_what(&env, &w), 0);

	env.body_case = ARBOR__ENVELOPE__BODY_ENDPOINT_REVOKE;
	env.endpoint_revoke = &er;
	er.endpoint_id = "ep0123";
	er.reason = "stolen laptop";
	want(&env, "endpoint revoke", "ep0123", "stolen laptop");
}

static void
test_compliance_locks(void **state)
{
	Arbor__Envelope		env = ARBOR__ENVELOPE__INIT;
	Arbor__ComplianceCtl	cc = ARBOR__COMPLIANCE_CTL__INIT;
	Arbor__Baseline		b = ARBOR__BASELINE__INIT;
	Arbor__Exemption	x = ARBOR__EXEMPTION__INIT;
	Arbor__LockCtl		lc = ARBOR__LOCK_CTL__INIT;
	Arbor__Lock		l = ARBOR__LOCK__INIT;
	struct root_audit_what	w;

	(void)state;
	env.body_case = ARBOR__ENVELOPE__BODY_COMPLIANCE_CTL;
	env.compliance_ctl = &cc;
	b.name = "servers";
	cc.baseline = &b;
	cc.op = "baseline-set";
	want(&env, "baseline set", "servers", "");
	cc.op = "baseline-rm";
	want(&env, "baseline rm", "servers", "");
	cc.op = "list";
	assert_int_equal(root_audit_what(&env, &w), 0);
	cc.baseline = NULL;
	cc.exemption = &x;
	x.group = "lab";
	cc.op = "exempt-set";
	want(&env, "exempt", "group:lab", "");
	x.endpoint_id = "ep1";
	cc.op = "exempt-rm";
	want(&env, "exempt rm", "ep1", "");
	cc.op = "explode";
	want(&env, "compliance explode", "ep1", "");

	env.body_case = ARBOR__ENVELOPE__BODY_LOCK_CTL;
	env.lock_ctl = &lc;
	lc.op = "lock";
	lc.lock = &l;
	l.endpoint_id = "ep2";
	want(&env, "endpoint lock", "ep2", "");
	l.reason = "freeze";
	want(&env, "endpoint lock", "ep2", "freeze");
	l.reason = "";
	l.endpoint_id = "";
	l.group = "db";
	lc.op = "unlock";
	want(&env, "endpoint unlock", "group:db", "");
	lc.lock = NULL;
	want(&env, "endpoint unlock", "", "");
	lc.op = "list";
	assert_int_equal(root_audit_what(&env, &w), 0);
}

static void
test_others(void **state)
{
	Arbor__Envelope		env = ARBOR__ENVELOPE__INIT;
	Arbor__ReportBatch	rb = ARBOR__REPORT_BATCH__INIT;
	Arbor__KeyRotate	kr = ARBOR__KEY_ROTATE__INIT;
	Arbor__Push		push = ARBOR__PUSH__INIT;
	Arbor__GetCatalog	gc = ARBOR__GET_CATALOG__INIT;
	Arbor__PutChunk		pc = ARBOR__PUT_CHUNK__INIT;
	Arbor__ReportEntry	*e[2] = { NULL, NULL };
	struct root_audit_what	w;
	char			 id[400];

	(void)state;
	env.body_case = ARBOR__ENVELOPE__BODY_REPORT_BATCH;
	env.report_batch = &rb;
	rb.entries = e;
	rb.n_entries = 2;
	want(&env, "import-reports", "", "2 reports");
	env.body_case = ARBOR__ENVELOPE__BODY_KEY_ROTATE;
	env.key_rotate = &kr;
	kr.key_path = "/etc/arbor/publisher-2.key";
	want(&env, "key rotate", "/etc/arbor/publisher-2.key", "");
	/* Reads and a blob's chunks are not actions. */
	env.body_case = ARBOR__ENVELOPE__BODY_GET_CATALOG;
	env.get_catalog = &gc;
	assert_int_equal(root_audit_what(&env, &w), 0);
	env.body_case = ARBOR__ENVELOPE__BODY_PUT_CHUNK;
	env.put_chunk = &pc;
	assert_int_equal(root_audit_what(&env, &w), 0);
	env.body_case = ARBOR__ENVELOPE__BODY__NOT_SET;
	assert_int_equal(root_audit_what(&env, &w), 0);
	/* A target longer than an id is clipped. */
	memset(id, 'x', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	push.id = id;
	env.body_case = ARBOR__ENVELOPE__BODY_PUSH;
	env.push = &push;
	assert_int_equal(root_audit_what(&env, &w), 1);
	assert_int_equal(strlen(w.target), ARB_MAX_ID);

	assert_int_equal(root_error_status(ARB_ENOTFOUND), 404);
	assert_int_equal(root_error_status(ARB_EINVAL), 400);
	assert_int_equal(root_error_status(ARB_ESTALE), 400);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policies),
		cmocka_unit_test(test_rollout),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_compliance_locks),
		cmocka_unit_test(test_others),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
