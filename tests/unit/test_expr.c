/*
 * Unit tests for lib/expr.c: every operator and function, parse errors with
 * their exact positions and messages, the limits, short-circuiting (counted
 * in file reads) and evaluation errors.  File functions run against a
 * small tree under mkdtemp().  dpkg's version ordering itself is tested in
 * test_version.c.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "arbor/error.h"
#include "arbor/expr.h"
#include "arbor/facts.h"
#include "arbor/log.h"
#include "arbor/sig.h"

struct fixture {
	char			 dir[64];
	struct arb_facts	*facts;
};

static void
write_file(const char *dir, const char *rel, const char *data, size_t len)
{
	char	path[PATH_MAX];
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

/* A sparse file of size bytes (zeros), with text written at off. */
static void
sparse_file(const char *dir, const char *rel, off_t size, const char *text,
    off_t off)
{
	char	path[PATH_MAX];
	int	fd;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) >=
	    0);
	assert_int_equal(ftruncate(fd, size), 0);
	if (text != NULL)
		assert_int_equal(pwrite(fd, text, strlen(text), off),
		    (ssize_t)strlen(text));
	assert_int_equal(close(fd), 0);
}

static int
setup(void **state)
{
	static char		*groups[] = { "web", "pilot" };
	static char		*keys[] = { "role", "ver", "bad", "dotdot",
				    "num" };
	static char		*vals[] = { "frontend", "1.2-3", "x y",
				    "/etc/../etc/passwd", "12" };
	struct arb_facts_conf	 conf;
	struct fixture		*f;
	char			 path[PATH_MAX];

	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	strcpy(f->dir, "/tmp/arbor-test-expr.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(path, sizeof(path), "%s/etc", f->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	write_file(f->dir, "etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n",
	    26);
	write_file(f->dir, "hello.txt", "hello, world\n", 13);
	memset(&conf, 0, sizeof(conf));
	conf.root = f->dir;
	conf.groups = groups;
	conf.ngroups = 2;
	conf.prop_keys = keys;
	conf.prop_vals = vals;
	conf.nprops = 5;
	assert_int_equal(arb_facts_new(&conf, &f->facts), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;
	char		 cmd[128];

	arb_facts_free(f->facts);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Parse and evaluate text; compare the printed value with want. */
static void
check_value(struct arb_facts *facts, const char *text, const char *want)
{
	struct arb_expr		*e = NULL;
	struct arb_value	 v;
	char			 err[256], got[512];
	int			 rv;

	rv = arb_expr_parse(text, &e, err, sizeof(err));
	if (rv != 0)
		fail_msg("parse %s: %s", text, err);
	rv = arb_expr_eval(e, facts, &v, err, sizeof(err));
	if (rv != 0)
		fail_msg("eval %s: %s", text, err);
	arb_value_format(&v, got, sizeof(got));
	if (strcmp(got, want) != 0)
		fail_msg("%s: got %s, want %s", text, got, want);
	arb_value_clear(&v);
	arb_expr_free(e);
}

/* Parse text (which must parse) and expect evaluation to fail with msg. */
static void
check_eval_error(struct arb_facts *facts, const char *text, const char *msg)
{
	struct arb_expr		*e = NULL;
	struct arb_value	 v;
	char			 err[256];
	int			 rv;

	rv = arb_expr_parse(text, &e, err, sizeof(err));
	if (rv != 0)
		fail_msg("parse %s: %s", text, err);
	rv = arb_expr_eval(e, facts, &v, err, sizeof(err));
	if (rv != ARB_EINVAL)
		fail_msg("%s: evaluated (%d), want error %s", text, rv, msg);
	if (strcmp(err, msg) != 0)
		fail_msg("%s: error \"%s\", want \"%s\"", text, err, msg);
	assert_int_equal(v.t, ARB_V_NONE);
	arb_expr_free(e);
}

static void
check_parse_error(const char *text, const char *msg)
{
	struct arb_expr	*e = NULL;
	char		 err[256];
	int		 rv;

	rv = arb_expr_parse(text, &e, err, sizeof(err));
	if (rv != ARB_EINVAL)
		fail_msg("%s: parsed (%d), want error %s", text, rv, msg);
	if (strcmp(err, msg) != 0)
		fail_msg("%s: error \"%s\", want \"%s\"", text, err, msg);
	assert_null(e);
}

static void
test_parse_errors(void **state)
{
	static const struct {
		const char	*text, *msg;
	} cases[] = {
		{ "", "at 1: expected an expression" },
		{ "os.id == ", "at 10: expected an expression" },
		{ "os.foo == \"x\"", "at 1: unknown fact \"os.foo\"" },
		{ "pkgs(\"openssl\")", "at 1: unknown function \"pkgs\"" },
		{ "pkg(\"openssl\" == none",
		    "at 22: expected ')' after arguments" },
		{ "pkg(\"openssl\"", "at 14: expected ')' after arguments" },
		{ "os.id == \"debian", "at 10: unterminated string" },
		{ "os.id == \"deb\\", "at 10: unterminated string" },
		{ "os.id == \"a\\qb\"",
		    "at 12: unknown escape \"\\q\" (use \\\", \\\\, \\n or "
		    "\\t)" },
		{ "true && )", "at 9: expected an expression, found \")\"" },
		{ "(os.id == \"x\"", "at 14: expected ')'" },
		{ "os.id = \"debian\"", "at 7: expected '==', not '='" },
		{ "true & false", "at 6: expected '&&', not '&'" },
		{ "true | false", "at 6: expected '||', not '|'" },
		{ "os.id == \"x\" ; true", "at 14: unexpected character ';'" },
		{ "os.id == \"x\" os.arch",
		    "at 14: expected an operator or the end, found "
		    "\"os.arch\"" },
		{ "1 < 2 < 3",
		    "at 7: comparisons do not chain; use parentheses and "
		    "'&&'" },
		{ "pkg(\"a\", \"b\")", "at 1: pkg() takes 1 argument, not 2" },
		{ "file.contains(\"/etc/x\")",
		    "at 1: file.contains() takes 2 arguments, not 1" },
		{ "version()", "at 1: version() takes 1 argument, not 0" },
		{ "pkg(\"openssl\") < version(\"1:\")",
		    "at 26: invalid version \"1:\"" },
		{ "pkg(\"OpenSSL\") == none",
		    "at 5: invalid package name \"OpenSSL\"" },
		{ "file.exists(\"etc/passwd\")",
		    "at 13: path must be absolute" },
		{ "file.exists(\"/etc/../root\")",
		    "at 13: path must not contain \".\" or \"..\"" },
		{ "file.sha256(\"/a//b\") == none",
		    "at 13: path must not contain \"//\"" },
		{ "agent.prop == \"x\"",
		    "at 1: agent.prop is a function: expected '(' after it" },
		{ "99999999999999999999 > 1", "at 1: integer out of range" },
		{ "12ab == 1", "at 1: invalid number" },
		{ "!pkg(\"openssl\")",
		    "at 2: '!' needs a boolean, not a version or none" },
		{ "!os.id == \"debian\"",
		    "at 2: '!' needs a boolean, not a string or none" },
		{ "1 && true", "at 1: '&&' needs a boolean, not an integer" },
		{ "true || \"x\"", "at 9: '||' needs a boolean, not a string" },
		{ "true && agent.prop(\"role\")",
		    "at 9: '&&' needs a boolean, not a string or none" },
		{ "false || agent.groups",
		    "at 10: '||' needs a boolean, not a list" },
		{ "true < false",
		    "at 6: '<' cannot compare a boolean with a boolean: "
		    "booleans have no order" },
		{ "1 == \"1\"",
		    "at 3: '==' cannot compare an integer with a string" },
		{ "agent.groups == \"web\"",
		    "at 14: '==' cannot compare a list with a string: a list "
		    "cannot be compared; use 'in'" },
		{ "1 in agent.groups",
		    "at 3: 'in' cannot compare an integer with a list: 'in' "
		    "needs a string on its left and a list or a string on its "
		    "right" },
		{ "version(true)",
		    "at 9: version() needs a string or a version, not a "
		    "boolean" },
		{ "pkg(1) == none", "at 5: pkg() needs a string, not an "
		    "integer" },
		{ "file.exists(\"/x\", 2)",
		    "at 1: file.exists() takes 1 argument, not 2" },
		/* Positions count characters, not bytes. */
		{ "\"\xc3\xa9t\xc3\xa9\" == os.id &&", "at 18: expected an "
		    "expression" },
		{ "os.id == \"x\" \x01", "at 14: unexpected byte 0x01" },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_parse_error(cases[i].text, cases[i].msg);
}

static void
test_limits(void **state)
{
	struct fixture	*f = *state;
	struct arb_expr	*e;
	char		*text, err[256];
	size_t		 i, n;

	text = malloc(ARB_EXPR_MAX_LEN + 2);
	assert_non_null(text);

	/* Exactly the longest text parses; one byte more does not. */
	memset(text, ' ', ARB_EXPR_MAX_LEN);
	memcpy(text, "true", 4);
	text[ARB_EXPR_MAX_LEN] = '\0';
	assert_int_equal(arb_expr_parse(text, &e, err, sizeof(err)), 0);
	arb_expr_free(e);
	text[ARB_EXPR_MAX_LEN] = ' ';
	text[ARB_EXPR_MAX_LEN + 1] = '\0';
	check_parse_error(text, "at 4097: expression longer than 4096 bytes");

	/* 64 nested parentheses parse, 65 do not. */
	for (n = 64; n <= 65; n++) {
		for (i = 0; i < n; i++)
			text[i] = '(';
		memcpy(text + n, "true", 4);
		for (i = 0; i < n; i++)
			text[n + 4 + i] = ')';
		text[2 * n + 4] = '\0';
		if (n == 64) {
			assert_int_equal(arb_expr_parse(text, &e, err,
			    sizeof(err)), 0);
			check_value(f->facts, text, "true");
			arb_expr_free(e);
		} else
			check_parse_error(text, "at 65: expression nested "
			    "deeper than 64 levels");
	}
	/* Nesting through '!' and calls counts too. */
	for (i = 0; i < 65; i++)
		text[i] = '!';
	memcpy(text + 65, "true", 5);
	check_parse_error(text, "at 65: expression nested deeper than 64 "
	    "levels");
	check_value(f->facts, text + 1, "true");	/* 64 of them */
	text[0] = '\0';
	for (i = 0; i < 65; i++)
		strcat(text, "version(");
	strcat(text, "\"1\"");
	for (i = 0; i < 65; i++)
		strcat(text, ")");
	check_parse_error(text, "at 520: expression nested deeper than 64 "
	    "levels");
	text[strlen(text) - 1] = '\0';		/* 64 of them */
	check_value(f->facts, text + 8, "version(\"1\")");

	/* 1024 nodes parse, 1025 do not: "1<2" is 3 nodes, "&&" one. */
	text[0] = '\0';
	for (i = 0; i < 341; i++)
		strcat(text, i == 0 ? "1<2" : "&&1<2");
	assert_int_equal(strlen(text), 341 * 5 - 2);
	assert_int_equal(arb_expr_parse(text, &e, err, sizeof(err)), 0);
	arb_expr_free(e);
	strcat(text, "&&true");
	check_parse_error(text, "at 1706: expression has more than 1024 "
	    "nodes");
	free(text);
}

static void
test_operators(void **state)
{
	static const struct {
		const char	*text, *want;
	} cases[] = {
		/* Literals. */
		{ "true", "true" },
		{ "false", "false" },
		{ "none", "none" },
		{ "42", "42" },
		{ "9223372036854775807", "9223372036854775807" },
		{ "\"a \\\"q\\\" \\\\ \\n\\t\"",
		    "\"a \\\"q\\\" \\\\ \\n\\t\"" },
		{ "version(\"1:2.3-4\")", "version(\"1:2.3-4\")" },
		{ " ( 7 ) ", "7" },
		/* Integers. */
		{ "1 == 1", "true" }, { "1 != 1", "false" },
		{ "1 < 2", "true" }, { "2 < 1", "false" },
		{ "2 <= 2", "true" }, { "3 <= 2", "false" },
		{ "3 > 2", "true" }, { "2 > 2", "false" },
		{ "2 >= 2", "true" }, { "1 >= 2", "false" },
		{ "10 > 9", "true" },
		/* Strings, bytewise. */
		{ "\"abc\" == \"abc\"", "true" },
		{ "\"abc\" != \"abd\"", "true" },
		{ "\"abc\" < \"abd\"", "true" },
		{ "\"10\" < \"9\"", "true" },
		{ "\"B\" < \"a\"", "true" },
		{ "\"\xc3\xa9\" > \"z\"", "true" },
		{ "\"abc\" >= \"abc\"", "true" },
		{ "\"ab\" <= \"a\"", "false" },
		/* Booleans. */
		{ "true == true", "true" }, { "true != false", "true" },
		{ "false == true", "false" },
		/* Versions, and strings converted to versions. */
		{ "version(\"1.0~rc1\") < version(\"1.0\")", "true" },
		{ "version(\"1:1.0\") > version(\"2.0\")", "true" },
		{ "version(\"1.01\") == version(\"1.1\")", "true" },
		{ "version(\"1.0\") == \"1.0-0\"", "true" },
		{ "\"3.0.11-1~deb12u2\" < version(\"3.0.22-1~deb12u2\")",
		    "true" },
		{ "version(\"2.0\") >= \"10.0\"", "false" },
		{ "version(\"2.0\") <= \"2.0\"", "true" },
		{ "version(\"2.0\") != \"2.0\"", "false" },
		{ "version(version(\"1.0\")) == \"1.0\"", "true" },
		/* none. */
		{ "none == none", "true" }, { "none != none", "false" },
		{ "none == 1", "false" }, { "1 != none", "true" },
		{ "none == \"\"", "false" }, { "none == false", "false" },
		{ "none < version(\"1\")", "false" },
		{ "none >= version(\"1\")", "false" },
		{ "version(\"1\") > none", "false" },
		{ "none <= none", "false" },
		{ "pkg(\"absent\") < version(\"1\")", "false" },
		{ "pkg(\"absent\") == none", "true" },
		{ "version(agent.prop(\"nope\"))", "none" },
		/* in. */
		{ "\"web\" in agent.groups", "true" },
		{ "\"db\" in agent.groups", "false" },
		{ "\"we\" in agent.groups", "false" },
		{ "\"ell\" in \"hello\"", "true" },
		{ "\"\" in \"hello\"", "true" },
		{ "\"hello!\" in \"hello\"", "false" },
		{ "\"front\" in agent.prop(\"role\")", "true" },
		{ "\"x\" in agent.prop(\"nope\")", "false" },
		{ "agent.prop(\"nope\") in agent.groups", "false" },
		/* && || ! and precedence. */
		{ "true && true", "true" }, { "true && false", "false" },
		{ "false && true", "false" }, { "false || false", "false" },
		{ "false || true", "true" }, { "true || false", "true" },
		{ "!true", "false" }, { "!false", "true" },
		{ "!!true", "true" },
		{ "true || false && false", "true" },
		{ "(true || false) && false", "false" },
		{ "!(1 == 2)", "true" },
		{ "!true == false", "true" },
		{ "1 < 2 && 2 < 3 && 3 < 4 && !(4 < 3)", "true" },
		{ "false || false || false || true", "true" },
		/* Facts and agent configuration. */
		{ "os.id", "\"debian\"" },
		{ "os.version_id", "\"12\"" },
		{ "os.id == \"debian\" && os.version_id == \"12\"", "true" },
		{ "agent.groups", "[\"web\", \"pilot\"]" },
		{ "agent.prop(\"role\")", "\"frontend\"" },
		{ "agent.prop(\"nope\")", "none" },
		{ "version(agent.prop(\"ver\")) == version(\"1.2-3\")",
		    "true" },
		{ "version(os.version_id) >= version(\"11\")", "true" },
		/* Files (under the fixture root). */
		{ "file.exists(\"/hello.txt\")", "true" },
		{ "file.exists(\"/etc\")", "true" },
		{ "file.exists(\"/nope\")", "false" },
		{ "file.exists(\"/hello.txt/x\")", "false" },
		{ "file.sha256(\"/hello.txt\")", "\"853ff93762a06ddbf722c4eb"
		    "e9ddd66d8f63ddaea97f521c3ecc20da7c976020\"" },
		{ "file.sha256(\"/nope\")", "none" },
		{ "file.contains(\"/hello.txt\", \"o, w\")", "true" },
		{ "file.contains(\"/hello.txt\", \"o,  w\")", "false" },
		{ "file.contains(\"/hello.txt\", \"\")", "true" },
		{ "file.contains(\"/nope\", \"\")", "false" },
		{ "file.contains(\"/hello.txt\", agent.prop(\"role\"))",
		    "false" },
	};
	struct fixture	*f = *state;
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_value(f->facts, cases[i].text, cases[i].want);
}

static void
test_format(void **state)
{
	struct arb_value	v;
	char			buf[64], *list[] = { "a", "b\"" };

	(void)state;
	memset(&v, 0, sizeof(v));
	arb_value_format(&v, buf, sizeof(buf));
	assert_string_equal(buf, "none");
	v.t = ARB_V_INT;
	v.i = -5;
	arb_value_format(&v, buf, sizeof(buf));
	assert_string_equal(buf, "-5");
	v.t = ARB_V_LIST;
	v.list = list;
	v.nlist = 2;
	arb_value_format(&v, buf, sizeof(buf));
	assert_string_equal(buf, "[\"a\", \"b\\\"\"]");
	v.nlist = 0;
	arb_value_format(&v, buf, sizeof(buf));
	assert_string_equal(buf, "[]");
	v.t = ARB_V_VERSION;
	v.s = "1:2.3-4";
	arb_value_format(&v, buf, sizeof(buf));
	assert_string_equal(buf, "version(\"1:2.3-4\")");
	/* Truncated, never overrun. */
	arb_value_format(&v, buf, 6);
	assert_string_equal(buf, "versi");
	arb_value_format(&v, buf, 1);
	assert_string_equal(buf, "");
	assert_string_equal(arb_vtype_name(ARB_V_STR), "a string");
}

/* Operands after the outcome is known are not evaluated: count reads. */
static void
test_short_circuit(void **state)
{
	static const struct {
		const char	*text, *want;
		uint64_t	 reads;
	} cases[] = {
		{ "false && file.exists(\"/hello.txt\")", "false", 0 },
		{ "true || file.sha256(\"/hello.txt\") == \"x\"", "true", 0 },
		{ "1 == 2 && file.contains(\"/hello.txt\", \"h\")", "false",
		    0 },
		{ "true && file.exists(\"/hello.txt\")", "true", 1 },
		{ "false || file.exists(\"/hello.txt\")", "true", 1 },
		{ "file.exists(\"/nope\") && file.sha256(\"/nope\") == \"x\"",
		    "false", 1 },
		{ "file.exists(\"/hello.txt\") && "
		    "file.sha256(\"/hello.txt\") != \"ab12\"", "true", 2 },
		/* An evaluation error on the right is never reached. */
		{ "false && agent.prop(\"role\") < 3", "false", 0 },
		{ "true || version(agent.prop(\"bad\")) == \"1\"", "true", 0 },
	};
	struct fixture		*f = *state;
	struct arb_facts_stats	 before, after;
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		arb_facts_stats(f->facts, &before);
		check_value(f->facts, cases[i].text, cases[i].want);
		arb_facts_stats(f->facts, &after);
		if (after.reads - before.reads != cases[i].reads)
			fail_msg("%s: %llu reads, want %llu", cases[i].text,
			    (unsigned long long)(after.reads - before.reads),
			    (unsigned long long)cases[i].reads);
	}
}

static void
test_eval_errors(void **state)
{
	static const struct {
		const char	*text, *msg;
	} cases[] = {
		{ "agent.prop(\"num\") < 3",
		    "at 19: cannot compare a string with an integer" },
		{ "3 == agent.prop(\"num\")",
		    "at 3: cannot compare an integer with a string" },
		{ "version(agent.prop(\"bad\"))",
		    "at 1: invalid version \"x y\"" },
		{ "agent.prop(\"bad\") > version(\"1\")",
		    "at 19: \"x y\" is not a valid version" },
		{ "pkg(agent.prop(\"nope\"))",
		    "at 1: pkg() needs a string, not none" },
		{ "file.exists(agent.prop(\"dotdot\"))",
		    "at 1: file.exists: path must not contain \".\" or "
		    "\"..\"" },
		{ "file.sha256(agent.prop(\"role\"))",
		    "at 1: file.sha256: path must be absolute" },
		{ "file.sha256(\"/etc\")",
		    "at 1: file.sha256: \"/etc\" is not a regular file" },
		{ "file.contains(\"/etc\", \"x\")",
		    "at 1: file.contains: \"/etc\" is not a regular file" },
	};
	struct fixture	*f = *state;
	struct arb_expr	*e;
	char		 err[256];
	size_t		 i;
	int		 res = -1;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_eval_error(f->facts, cases[i].text, cases[i].msg);

	/* A condition must be a boolean. */
	assert_int_equal(arb_expr_parse("os.id", &e, err, sizeof(err)), 0);
	assert_int_equal(arb_expr_eval_bool(e, f->facts, &res, err,
	    sizeof(err)), ARB_EINVAL);
	assert_string_equal(err, "expression is a string, not a boolean");
	assert_int_equal(res, -1);
	arb_expr_free(e);
	assert_int_equal(arb_expr_parse("pkg(\"x\")", &e, err, sizeof(err)),
	    0);
	assert_int_equal(arb_expr_eval_bool(e, f->facts, &res, err,
	    sizeof(err)), ARB_EINVAL);
	assert_string_equal(err, "expression is none, not a boolean");
	arb_expr_free(e);
	assert_int_equal(arb_expr_parse("os.id == \"debian\"", &e, err,
	    sizeof(err)), 0);
	assert_int_equal(arb_expr_eval_bool(e, f->facts, &res, err,
	    sizeof(err)), 0);
	assert_int_equal(res, 1);
	arb_expr_free(e);
	/* err may be NULL. */
	assert_int_equal(arb_expr_parse("(", &e, NULL, 0), ARB_EINVAL);
}

/* More than 64 file functions in one evaluation is refused. */
static void
test_read_budget(void **state)
{
	struct fixture	*f = *state;
	char		*text;
	size_t		 i;

	text = malloc(ARB_EXPR_MAX_LEN);
	assert_non_null(text);
	text[0] = '\0';
	for (i = 0; i < 64; i++)
		strcat(text, i == 0 ? "file.exists(\"/x\")" :
		    "||file.exists(\"/x\")");
	check_value(f->facts, text, "false");
	/* The budget is per evaluation: again is fine. */
	check_value(f->facts, text, "false");
	strcat(text, "||file.exists(\"/hello.txt\")");
	check_eval_error(f->facts, text, "at 1217: file.exists: more than 64 "
	    "file reads in one evaluation");
	free(text);
}

/* Bytes: 64 MiB per evaluation; file.contains reads 16 MiB of a file. */
static void
test_byte_budget(void **state)
{
	struct fixture		*f = *state;
	struct arb_facts_stats	 before, after;

	sparse_file(f->dir, "big", (off_t)40 << 20, "needle", 1000);
	sparse_file(f->dir, "huge", ((off_t)64 << 20) + 1, NULL, 0);
	sparse_file(f->dir, "tail", ((off_t)17 << 20), "needle",
	    ((off_t)17 << 20) - 10);
	sparse_file(f->dir, "exact", ((off_t)16 << 20), "needle",
	    ((off_t)16 << 20) - 6);
	/* A 64 KiB chunk boundary falls inside the needle. */
	sparse_file(f->dir, "edge", 200000, "needle", 65536 - 3);

	check_value(f->facts, "file.contains(\"/edge\", \"needle\")", "true");
	check_value(f->facts, "file.contains(\"/edge\", \"needlf\")",
	    "false");
	check_value(f->facts, "file.contains(\"/big\", \"needle\")", "true");
	check_value(f->facts, "file.contains(\"/exact\", \"needle\")",
	    "true");
	check_value(f->facts, "file.contains(\"/exact\", \"other\")",
	    "false");
	check_eval_error(f->facts, "file.contains(\"/tail\", \"needle\")",
	    "at 1: file.contains: \"/tail\" is longer than 16 MiB and the "
	    "text is not in its first 16 MiB");
	/* Found early: the rest of the file is not read. */
	arb_facts_stats(f->facts, &before);
	check_value(f->facts, "file.contains(\"/big\", \"needle\")", "true");
	arb_facts_stats(f->facts, &after);
	assert_true(after.bytes - before.bytes <= 64 * 1024);

	check_value(f->facts, "file.sha256(\"/big\") != \"x\"", "true");
	check_eval_error(f->facts, "file.sha256(\"/huge\")",
	    "at 1: file.sha256: more than 64 MiB of files read in one "
	    "evaluation");
	check_eval_error(f->facts, "file.sha256(\"/big\") != \"x\" && "
	    "file.sha256(\"/big\") != \"y\"", "at 31: file.sha256: more than "
	    "64 MiB of files read in one evaluation");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_format),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_operators, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_short_circuit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_eval_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_read_budget, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_byte_budget, setup,
		    teardown),
	};

	log_init(1, LOG_USER);
	log_procinit("test_expr");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
