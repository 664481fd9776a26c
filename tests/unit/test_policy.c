/*
 * Unit tests for lib/policy.c: a valid policy file with blobs in a
 * temporary directory, then one test per refusal, each checking that the
 * message names the field.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "arbor/error.h"
#include "arbor/policy.h"
#include "arbor/sig.h"
#include "arbor/wire.h"

#define BASE_FIELDS							\
	"\"id\": \"demo-1\", \"version\": 1, \"title\": \"T\", "	\
	"\"severity\": \"high\", \"applicability\": \"true\""
#define BASE	BASE_FIELDS ", \"action\": \"true\""
#define RBASE	BASE ", \"blobs\": []"

struct fixture {
	char	dir[64];
	char	json[128];
	char	err[1024];
};

static void
write_file(const char *dir, const char *name, const char *text)
{
	char	 path[256];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static int
setup(void **state)
{
	struct fixture	*fx;

	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	strcpy(fx->dir, "/tmp/arbor-test-policy-XXXXXX");
	if (mkdtemp(fx->dir) == NULL) {
		free(fx);
		return -1;
	}
	snprintf(fx->json, sizeof(fx->json), "%s/demo.json", fx->dir);
	write_file(fx->dir, "payload.bin", "abc");
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*fx = *state;
	char		 cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	if (system(cmd) != 0)
		return -1;
	free(fx);
	return 0;
}

/* Write body as demo.json, load it, return the code; err in fx->err. */
static int
load(struct fixture *fx, const char *body, struct arb_policy_file **pfp)
{
	write_file(fx->dir, "demo.json", body);
	fx->err[0] = '\0';
	return arb_policy_load(fx->json, pfp, fx->err, sizeof(fx->err));
}

/* Expect body to be refused with a message containing want. */
static void
refused(struct fixture *fx, const char *body, const char *want)
{
	struct arb_policy_file	*pf = NULL;

	assert_int_equal(load(fx, body, &pf), ARB_EINVAL);
	assert_null(pf);
	if (strstr(fx->err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", fx->err, want);
	/* Every message starts with the file's name. */
	assert_int_equal(strncmp(fx->err, fx->json, strlen(fx->json)), 0);
}

static void
test_valid(void **state)
{
	static const uint8_t	 abc[ARB_SHA256_LEN] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
		0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
		0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
		0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
	};
	struct fixture		*fx = *state;
	struct arb_policy_file	*pf = NULL;
	char			 sub[128], abs[128], body[1024], want[256];

	snprintf(sub, sizeof(sub), "%s/sub", fx->dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	write_file(sub, "one.bin", "x");
	write_file(fx->dir, "fix.sh", "#!/bin/sh\necho fixed\n");
	snprintf(abs, sizeof(abs), "%s/payload.bin", fx->dir);
	snprintf(body, sizeof(body),
	    "{\"id\": \"demo-1\", \"version\": 4294967295,\n"
	    " \"title\": \"Fix it\", \"severity\": \"critical\",\n"
	    " \"applicability\": \"os.id == \\\"debian\\\"\",\n"
	    " \"action_file\": \"fix.sh\", \"rollback\": \"undo\",\n"
	    " \"blobs\": [{\"path\": \"payload.bin\"},\n"
	    "   {\"path\": \"sub/one.bin\"},\n"
	    "   {\"path\": \"%s\", \"name\": \"copy.bin\"}]}\n", abs);
	if (load(fx, body, &pf) != 0)
		fail_msg("%s", fx->err);
	assert_non_null(pf);
	assert_string_equal(pf->pol.id, "demo-1");
	assert_int_equal(pf->pol.version, 4294967295u);
	assert_string_equal(pf->pol.title, "Fix it");
	assert_string_equal(pf->pol.severity, "critical");
	assert_string_equal(pf->pol.applicability, "os.id == \"debian\"");
	assert_string_equal(pf->pol.action, "#!/bin/sh\necho fixed\n");
	assert_string_equal(pf->pol.rollback, "undo");
	assert_int_equal(pf->pol.published_at, 0);
	assert_int_equal(pf->pol.n_blobs, 3);
	assert_int_equal(pf->nblobs, 3);

	assert_string_equal(pf->pol.blobs[0]->name, "payload.bin");
	assert_int_equal(pf->pol.blobs[0]->size, 3);
	assert_int_equal(pf->pol.blobs[0]->sha256.len, ARB_SHA256_LEN);
	assert_memory_equal(pf->pol.blobs[0]->sha256.data, abc,
	    ARB_SHA256_LEN);
	assert_string_equal(pf->blob_paths[0], abs);

	assert_string_equal(pf->pol.blobs[1]->name, "one.bin");
	assert_int_equal(pf->pol.blobs[1]->size, 1);
	snprintf(want, sizeof(want), "%s/sub/one.bin", fx->dir);
	assert_string_equal(pf->blob_paths[1], want);

	assert_string_equal(pf->pol.blobs[2]->name, "copy.bin");
	assert_int_equal(pf->pol.blobs[2]->size, 3);
	assert_memory_equal(pf->pol.blobs[2]->sha256.data, abc,
	    ARB_SHA256_LEN);
	arb_policy_file_free(pf);
}

/* An empty file is no blob: the wire names none. */
static void
test_empty_blob(void **state)
{
	struct fixture		*fx = *state;
	struct arb_policy_file	*pf = NULL;

	write_file(fx->dir, "nothing.bin", "");
	assert_int_equal(load(fx, "{" BASE ", \"blobs\": [{\"path\": "
	    "\"nothing.bin\"}]}", &pf), ARB_EINVAL);
	assert_null(pf);
	assert_non_null(strstr(fx->err, "field \"blobs[0].path\""));
	assert_non_null(strstr(fx->err, "empty file"));
}

static void
test_minimal(void **state)
{
	struct fixture		*fx = *state;
	struct arb_policy_file	*pf = NULL;

	/* "blobs" is required, even when empty: an action without them. */
	assert_int_equal(load(fx, "{" BASE "}", &pf), ARB_EINVAL);
	assert_null(pf);
	assert_non_null(strstr(fx->err, "missing field \"blobs\""));
	assert_int_equal(load(fx, "{" BASE ", \"blobs\": []}", &pf), 0);
	assert_string_equal(pf->pol.action, "true");
	assert_string_equal(pf->pol.rollback, "");
	assert_int_equal(pf->pol.n_blobs, 0);
	assert_int_equal(pf->nblobs, 0);
	arb_policy_file_free(pf);
	arb_policy_file_free(NULL);
}

static void
test_severity(void **state)
{
	refused(*state, "{\"id\": \"a\", \"version\": 1, \"title\": \"T\", "
	    "\"severity\": \"urgent\", \"applicability\": \"true\", "
	    "\"action\": \"true\"}",
	    ": field \"severity\": must be one of critical, high, medium, "
	    "low");
}

static void
test_blob_missing(void **state)
{
	struct fixture	*fx = *state;
	char		 want[256];

	snprintf(want, sizeof(want), "field \"blobs[1].path\": %s/nope.bin: "
	    "No such file or directory", fx->dir);
	refused(fx, "{" BASE ", \"blobs\": [{\"path\": \"payload.bin\"}, "
	    "{\"path\": \"nope.bin\"}]}", want);
}

static void
test_blob_not_regular(void **state)
{
	refused(*state, "{" BASE ", \"blobs\": [{\"path\": \"/tmp\"}]}",
	    "field \"blobs[0].path\": /tmp: not a regular file");
}

static void
test_version(void **state)
{
	static const char *const bad[] = {
		"0", "-1", "4294967296", "1.5", "\"1\"", "null", "true",
	};
	const char	*want = "field \"version\": must be an integer "
			    "1..4294967295";
	char		 body[512];
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(body, sizeof(body), "{\"id\": \"a\", \"version\": %s, "
		    "\"title\": \"T\", \"severity\": \"low\", "
		    "\"applicability\": \"x\", \"action\": \"y\"}", bad[i]);
		refused(*state, body, want);
	}
}

/* Load body, expect it taken with this reboot mode and delay. */
static void
reboot_is(struct fixture *fx, const char *body, uint32_t mode,
    uint32_t after)
{
	struct arb_policy_file	*pf = NULL;

	if (load(fx, body, &pf) != 0)
		fail_msg("refused: %s", fx->err);
	assert_int_equal(pf->pol.reboot_mode, mode);
	assert_int_equal(pf->pol.reboot_after_s, after);
	arb_policy_file_free(pf);
}

static void
test_reboot(void **state)
{
	struct fixture *fx = *state;

	reboot_is(fx, "{" RBASE "}", ARB_REBOOT_NONE, 0);
	reboot_is(fx, "{" RBASE ", \"reboot\": \"none\"}", ARB_REBOOT_NONE, 0);
	reboot_is(fx, "{" RBASE ", \"reboot\": {\"mode\": \"none\"}}",
	    ARB_REBOOT_NONE, 0);
	reboot_is(fx, "{" RBASE ", \"reboot\": {\"mode\": \"user\", "
	    "\"deadline\": \"4h\"}}", ARB_REBOOT_USER, 4 * 3600);
	reboot_is(fx, "{" RBASE ", \"reboot\": {\"mode\": \"forced\", "
	    "\"after\": \"15m\"}}", ARB_REBOOT_FORCED, 900);
	reboot_is(fx, "{" RBASE ", \"reboot\": {\"mode\": \"forced\", "
	    "\"after\": \"2s\"}}", ARB_REBOOT_FORCED, 2);
	reboot_is(fx, "{" RBASE ", \"reboot\": {\"mode\": \"forced\"}}",
	    ARB_REBOOT_FORCED, 0);
	reboot_is(fx, "{" RBASE ", \"reboot\": {\"mode\": \"forced\", "
	    "\"after\": \"0\"}}", ARB_REBOOT_FORCED, 0);
	reboot_is(fx, "{" RBASE ", \"reboot\": {\"mode\": \"user\", "
	    "\"deadline\": \"30d\"}}", ARB_REBOOT_USER, 30 * 86400);

	refused(fx, "{" RBASE ", \"reboot\": \"always\"}",
	    ": field \"reboot\": must be \"none\" or an object");
	refused(fx, "{" RBASE ", \"reboot\": 1}", ": field \"reboot\": ");
	refused(fx, "{" RBASE ", \"reboot\": {\"mode\": \"soon\"}}",
	    ": field \"reboot.mode\": \"soon\": must be");
	refused(fx, "{" RBASE ", \"reboot\": {\"after\": \"1m\"}}",
	    ": field \"reboot.mode\": missing");
	refused(fx, "{" RBASE ", \"reboot\": {\"mode\": 2}}",
	    ": field \"reboot.mode\": not a string");
	refused(fx, "{" RBASE ", \"reboot\": {\"mode\": \"user\"}}",
	    ": field \"reboot.deadline\": missing");
	refused(fx, "{" RBASE ", \"reboot\": {\"mode\": \"user\", "
	    "\"deadline\": 0}}", ": field \"reboot.deadline\": must be at "
	    "least 1 s");
	refused(fx, "{" RBASE ", \"reboot\": {\"mode\": \"user\", "
	    "\"deadline\": \"31d\"}}", ": field \"reboot.deadline\": must "
	    "be at most 30 days");
	refused(fx, "{" RBASE ", \"reboot\": {\"mode\": \"forced\", "
	    "\"after\": \"soon\"}}", ": field \"reboot.after\": must be a "
	    "duration");
	refused(fx, "{" RBASE ", \"reboot\": {\"mode\": \"forced\", "
	    "\"after\": -5}}", ": field \"reboot.after\": ");
	refused(fx, "{" RBASE ", \"reboot\": {\"mode\": \"forced\", "
	    "\"deadline\": \"1h\"}}", ": field \"reboot.deadline\": is for "
	    "mode \"user\"");
	refused(fx, "{" RBASE ", \"reboot\": {\"mode\": \"user\", "
	    "\"deadline\": \"1h\", \"after\": \"1m\"}}",
	    ": field \"reboot.after\": is for mode \"forced\"");
	refused(fx, "{" RBASE ", \"reboot\": {\"mode\": \"none\", "
	    "\"after\": \"1m\"}}", ": field \"reboot\": mode \"none\"");
	refused(fx, "{" RBASE ", \"reboot\": {\"mode\": \"forced\", "
	    "\"when\": 1}}", ": unknown field \"reboot.when\"");
}

static void
test_unknown_field(void **state)
{
	refused(*state, "{" BASE ", \"foo\": 1}", ": unknown field \"foo\"");
	refused(*state, "{" BASE ", \"blobs\": [{\"path\": \"payload.bin\", "
	    "\"mode\": 1}]}", ": unknown field \"blobs[0].mode\"");
}

static void
test_missing_field(void **state)
{
	refused(*state, "{\"version\": 1, \"title\": \"T\", "
	    "\"severity\": \"low\", \"applicability\": \"x\", "
	    "\"action\": \"y\"}", ": missing field \"id\"");
	refused(*state, "{\"id\": \"a\", \"title\": \"T\", "
	    "\"severity\": \"low\", \"applicability\": \"x\", "
	    "\"action\": \"y\"}", ": missing field \"version\"");
	refused(*state, "{" BASE_FIELDS "}", ": missing field \"action\"");
	refused(*state, "{" BASE ", \"blobs\": [{\"name\": \"x\"}]}",
	    ": missing field \"blobs[0].path\"");
}

static void
test_syntax(void **state)
{
	struct fixture	*fx = *state;
	char		 want[256];

	/* The stray comma is at line 2, column 13. */
	snprintf(want, sizeof(want), "%s:2:", fx->json);
	refused(fx, "{\"id\": \"a\",\n \"version\": ,\n}", want);
	refused(fx, "[1, 2]", ": must be a JSON object");
	refused(fx, "{" BASE ", \"id\": \"b\"}", "duplicate");
}

static void
test_blob_name(void **state)
{
	static const char *const bad[] = { "a/b", ".", "..", "" };
	char		 body[512];
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(body, sizeof(body), "{" BASE ", \"blobs\": "
		    "[{\"path\": \"payload.bin\", \"name\": \"%s\"}]}", bad[i]);
		refused(*state, body, "field \"blobs[0].name\"");
	}
	assert_int_equal(arb_policy_blob_name_valid("ok.tar.gz"), 1);
	assert_int_equal(arb_policy_blob_name_valid("..."), 1);
}

static void
test_blob_duplicate(void **state)
{
	refused(*state, "{" BASE ", \"blobs\": [{\"path\": \"payload.bin\"}, "
	    "{\"path\": \"payload.bin\"}]}",
	    "field \"blobs[1].name\": \"payload.bin\" is also the name of "
	    "blobs[0]");
	refused(*state, "{" BASE ", \"blobs\": [{\"path\": \"payload.bin\", "
	    "\"name\": \"x\"}, {\"path\": \"payload.bin\", \"name\": \"x\"}]}",
	    "field \"blobs[1].name\"");
}

static void
test_id(void **state)
{
	char	body[512], id[130];

	refused(*state, "{\"id\": \"a b\", \"version\": 1, \"title\": \"T\", "
	    "\"severity\": \"low\", \"applicability\": \"x\", "
	    "\"action\": \"y\"}", "field \"id\": must be 1..128 of");
	refused(*state, "{\"id\": \"\", \"version\": 1, \"title\": \"T\", "
	    "\"severity\": \"low\", \"applicability\": \"x\", "
	    "\"action\": \"y\"}", "field \"id\"");
	refused(*state, "{\"id\": \"../x\", \"version\": 1, \"title\": \"T\", "
	    "\"severity\": \"low\", \"applicability\": \"x\", "
	    "\"action\": \"y\"}", "field \"id\"");
	memset(id, 'a', 129);
	id[129] = '\0';
	snprintf(body, sizeof(body), "{\"id\": \"%s\", \"version\": 1, "
	    "\"title\": \"T\", \"severity\": \"low\", "
	    "\"applicability\": \"x\", \"action\": \"y\"}", id);
	refused(*state, body, "field \"id\"");
	id[128] = '\0';
	assert_int_equal(arb_policy_id_valid(id), 1);
	assert_int_equal(arb_policy_id_valid("A-z_0.9"), 1);
}

static void
test_action(void **state)
{
	refused(*state, "{" BASE ", \"action_file\": \"fix.sh\"}",
	    "field \"action_file\": cannot be given with \"action\"");
	refused(*state, "{" BASE_FIELDS ", \"action_file\": \"none.sh\"}",
	    "none.sh: No such file or directory");
	refused(*state, "{" BASE ", \"rollback\": \"a\", "
	    "\"rollback_file\": \"b\"}", "field \"rollback_file\"");
	refused(*state, "{" BASE_FIELDS ", \"action\": \"\"}",
	    "field \"action\": must not be empty");
	refused(*state, "{" BASE_FIELDS ", \"action\": 3}",
	    "field \"action\": must be a string");
}

static void
test_blobs_shape(void **state)
{
	refused(*state, "{" BASE ", \"blobs\": {}}",
	    "field \"blobs\": must be an array");
	refused(*state, "{" BASE ", \"blobs\": [\"payload.bin\"]}",
	    "field \"blobs[0]\": must be an object");
}

static void
test_no_file(void **state)
{
	struct fixture		*fx = *state;
	struct arb_policy_file	*pf = NULL;
	char			 path[128];

	snprintf(path, sizeof(path), "%s/absent.json", fx->dir);
	assert_int_equal(arb_policy_load(path, &pf, fx->err,
	    sizeof(fx->err)), ARB_EINVAL);
	assert_null(pf);
	assert_non_null(strstr(fx->err, "absent.json: No such file"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_valid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_blob, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_minimal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_severity, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_blob_missing, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_blob_not_regular, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_field, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_missing_field, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_syntax, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blob_name, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_blob_duplicate, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_action, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blobs_shape, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_no_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reboot, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
