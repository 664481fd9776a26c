/*
 * Unit tests for lib/conf.c: the value helpers' edges, the file syntax,
 * error reports (captured from stderr) and command-line overrides.
 */
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

#include "arbor/cmdline.h"
#include "arbor/conf.h"
#include "arbor/error.h"
#include "arbor/log.h"

/* ---- capturing what is logged */

static int	saved_stderr = -1;
static char	cap_path[] = "/tmp/arbor-test-conf.XXXXXX";
static char	cap_buf[8192];

static void
capture_start(void)
{
	int	fd;

	fd = mkstemp(cap_path);
	assert_true(fd >= 0);
	saved_stderr = dup(STDERR_FILENO);
	assert_true(saved_stderr >= 0);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	close(fd);
}

/* Stop capturing; the log lines are in cap_buf. */
static const char *
capture_end(void)
{
	ssize_t	n;
	int	fd;

	assert_true(dup2(saved_stderr, STDERR_FILENO) >= 0);
	close(saved_stderr);
	fd = open(cap_path, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, cap_buf, sizeof(cap_buf) - 1);
	assert_true(n >= 0);
	cap_buf[n] = '\0';
	close(fd);
	unlink(cap_path);
	strcpy(cap_path, "/tmp/arbor-test-conf.XXXXXX");
	/* Echo it, so that a failing test shows what was said. */
	fputs(cap_buf, stderr);
	return cap_buf;
}

static int
count_lines(const char *s)
{
	int	n = 0;

	for (; *s != '\0'; s++)
		if (*s == '\n')
			n++;
	return n;
}

/* ---- value helpers */

static void
test_int(void **state)
{
	char	err[128];
	int64_t	v = 42;

	(void)state;
	assert_int_equal(arb_conf_int("0", 0, 10, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 0);
	assert_int_equal(arb_conf_int("10", 0, 10, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 10);
	assert_int_equal(arb_conf_int("-5", -5, 5, &v, err, sizeof(err)), 0);
	assert_int_equal(v, -5);
	assert_int_equal(arb_conf_int("9223372036854775807", INT64_MIN,
	    INT64_MAX, &v, err, sizeof(err)), 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(arb_conf_int("-9223372036854775808", INT64_MIN,
	    INT64_MAX, &v, err, sizeof(err)), 0);
	assert_true(v == INT64_MIN);

	v = 42;
	assert_int_equal(arb_conf_int("11", 0, 10, &v, err, sizeof(err)),
	    ARB_ECONFIG);
	assert_non_null(strstr(err, "out of range"));
	assert_int_equal(arb_conf_int("-1", 0, 10, &v, err, sizeof(err)),
	    ARB_ECONFIG);
	assert_int_equal(arb_conf_int("9223372036854775808", INT64_MIN,
	    INT64_MAX, &v, err, sizeof(err)), ARB_ECONFIG);
	assert_int_equal(arb_conf_int("-9223372036854775809", INT64_MIN,
	    INT64_MAX, &v, err, sizeof(err)), ARB_ECONFIG);
	assert_int_equal(arb_conf_int("", 0, 10, &v, err, sizeof(err)),
	    ARB_ECONFIG);
	assert_string_equal(err, "empty value");
	assert_int_equal(arb_conf_int(NULL, 0, 10, &v, err, sizeof(err)),
	    ARB_ECONFIG);
	assert_int_equal(arb_conf_int("5x", 0, 10, &v, err, sizeof(err)),
	    ARB_ECONFIG);
	assert_non_null(strstr(err, "not an integer"));
	assert_int_equal(arb_conf_int("5 ", 0, 10, &v, err, sizeof(err)),
	    ARB_ECONFIG);
	assert_int_equal(arb_conf_int(" 5", 0, 10, &v, err, sizeof(err)),
	    ARB_ECONFIG);
	assert_int_equal(arb_conf_int("+5", 0, 10, &v, err, sizeof(err)),
	    ARB_ECONFIG);
	assert_int_equal(arb_conf_int("0x5", 0, 10, &v, err, sizeof(err)),
	    ARB_ECONFIG);
	assert_int_equal(arb_conf_int("-", 0, 10, &v, err, sizeof(err)),
	    ARB_ECONFIG);
	assert_int_equal(arb_conf_int("abc", 0, 10, &v, err, sizeof(err)),
	    ARB_ECONFIG);
	assert_int_equal(arb_conf_int("1.5", 0, 10, &v, err, sizeof(err)),
	    ARB_ECONFIG);
	/* out untouched on failure; err may be absent. */
	assert_int_equal(v, 42);
	assert_int_equal(arb_conf_int("x", 0, 10, &v, NULL, 0), ARB_ECONFIG);
	assert_int_equal(arb_conf_int("x", 0, 10, &v, err, 1), ARB_ECONFIG);
	assert_string_equal(err, "");
}

static void
test_size(void **state)
{
	char		err[128];
	uint64_t	v = 42;

	(void)state;
	assert_int_equal(arb_conf_size("0", 0, UINT64_MAX, &v, err,
	    sizeof(err)), 0);
	assert_true(v == 0);
	assert_int_equal(arb_conf_size("512", 0, UINT64_MAX, &v, err,
	    sizeof(err)), 0);
	assert_true(v == 512);
	assert_int_equal(arb_conf_size("4K", 0, UINT64_MAX, &v, err,
	    sizeof(err)), 0);
	assert_true(v == 4096);
	assert_int_equal(arb_conf_size("4KiB", 0, UINT64_MAX, &v, err,
	    sizeof(err)), 0);
	assert_true(v == 4096);
	assert_int_equal(arb_conf_size("3M", 0, UINT64_MAX, &v, err,
	    sizeof(err)), 0);
	assert_true(v == 3ULL << 20);
	assert_int_equal(arb_conf_size("3MiB", 0, UINT64_MAX, &v, err,
	    sizeof(err)), 0);
	assert_true(v == 3ULL << 20);
	assert_int_equal(arb_conf_size("10G", 0, UINT64_MAX, &v, err,
	    sizeof(err)), 0);
	assert_true(v == 10ULL << 30);
	assert_int_equal(arb_conf_size("10GiB", 0, UINT64_MAX, &v, err,
	    sizeof(err)), 0);
	assert_true(v == 10ULL << 30);
	assert_int_equal(arb_conf_size("18446744073709551615", 0, UINT64_MAX,
	    &v, err, sizeof(err)), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(arb_conf_size("1M", 1 << 20, 1 << 20, &v, err,
	    sizeof(err)), 0);

	v = 42;
	assert_int_equal(arb_conf_size("18446744073709551616", 0, UINT64_MAX,
	    &v, err, sizeof(err)), ARB_ECONFIG);
	assert_int_equal(arb_conf_size("17179869184G", 0, UINT64_MAX, &v,
	    err, sizeof(err)), ARB_ECONFIG);
	assert_non_null(strstr(err, "too large"));
	assert_int_equal(arb_conf_size("-1", 0, UINT64_MAX, &v, err,
	    sizeof(err)), ARB_ECONFIG);
	assert_int_equal(arb_conf_size(" 1", 0, UINT64_MAX, &v, err,
	    sizeof(err)), ARB_ECONFIG);
	assert_int_equal(arb_conf_size("+1", 0, UINT64_MAX, &v, err,
	    sizeof(err)), ARB_ECONFIG);
	assert_int_equal(arb_conf_size("", 0, UINT64_MAX, &v, err,
	    sizeof(err)), ARB_ECONFIG);
	assert_int_equal(arb_conf_size("K", 0, UINT64_MAX, &v, err,
	    sizeof(err)), ARB_ECONFIG);
	assert_int_equal(arb_conf_size("1T", 0, UINT64_MAX, &v, err,
	    sizeof(err)), ARB_ECONFIG);
	assert_int_equal(arb_conf_size("1KB", 0, UINT64_MAX, &v, err,
	    sizeof(err)), ARB_ECONFIG);
	assert_int_equal(arb_conf_size("1 K", 0, UINT64_MAX, &v, err,
	    sizeof(err)), ARB_ECONFIG);
	assert_int_equal(arb_conf_size("1.5M", 0, UINT64_MAX, &v, err,
	    sizeof(err)), ARB_ECONFIG);
	assert_int_equal(arb_conf_size("1023", 1024, 2048, &v, err,
	    sizeof(err)), ARB_ECONFIG);
	assert_non_null(strstr(err, "out of range"));
	assert_int_equal(arb_conf_size("3K", 1024, 2048, &v, err,
	    sizeof(err)), ARB_ECONFIG);
	assert_true(v == 42);
}

static void
test_duration(void **state)
{
	char	err[128];
	int64_t	v = 42;

	(void)state;
	assert_int_equal(arb_conf_duration_ms("30", 0, INT64_MAX, &v, err,
	    sizeof(err)), 0);
	assert_int_equal(v, 30000);
	assert_int_equal(arb_conf_duration_ms("30s", 0, INT64_MAX, &v, err,
	    sizeof(err)), 0);
	assert_int_equal(v, 30000);
	assert_int_equal(arb_conf_duration_ms("250ms", 0, INT64_MAX, &v, err,
	    sizeof(err)), 0);
	assert_int_equal(v, 250);
	assert_int_equal(arb_conf_duration_ms("5m", 0, INT64_MAX, &v, err,
	    sizeof(err)), 0);
	assert_int_equal(v, 300000);
	assert_int_equal(arb_conf_duration_ms("2h", 0, INT64_MAX, &v, err,
	    sizeof(err)), 0);
	assert_int_equal(v, 7200000);
	assert_int_equal(arb_conf_duration_ms("7d", 0, INT64_MAX, &v, err,
	    sizeof(err)), 0);
	assert_int_equal(v, 7 * 86400000LL);
	assert_int_equal(arb_conf_duration_ms("0ms", 0, INT64_MAX, &v, err,
	    sizeof(err)), 0);
	assert_int_equal(v, 0);

	v = 42;
	assert_int_equal(arb_conf_duration_ms("", 0, INT64_MAX, &v, err,
	    sizeof(err)), ARB_ECONFIG);
	assert_int_equal(arb_conf_duration_ms("s", 0, INT64_MAX, &v, err,
	    sizeof(err)), ARB_ECONFIG);
	assert_int_equal(arb_conf_duration_ms("5x", 0, INT64_MAX, &v, err,
	    sizeof(err)), ARB_ECONFIG);
	assert_non_null(strstr(err, "not a duration"));
	assert_int_equal(arb_conf_duration_ms("5 s", 0, INT64_MAX, &v, err,
	    sizeof(err)), ARB_ECONFIG);
	assert_int_equal(arb_conf_duration_ms("5sec", 0, INT64_MAX, &v, err,
	    sizeof(err)), ARB_ECONFIG);
	assert_int_equal(arb_conf_duration_ms("1.5h", 0, INT64_MAX, &v, err,
	    sizeof(err)), ARB_ECONFIG);
	assert_int_equal(arb_conf_duration_ms("-1s", 0, INT64_MAX, &v, err,
	    sizeof(err)), ARB_ECONFIG);
	assert_int_equal(arb_conf_duration_ms("999ms", 1000, 60000, &v, err,
	    sizeof(err)), ARB_ECONFIG);
	assert_non_null(strstr(err, "out of range"));
	assert_int_equal(arb_conf_duration_ms("2m", 1000, 60000, &v, err,
	    sizeof(err)), ARB_ECONFIG);
	/* Overflow in the multiplication, and in strtoll. */
	assert_int_equal(arb_conf_duration_ms("9223372036854775807d", 0,
	    INT64_MAX, &v, err, sizeof(err)), ARB_ECONFIG);
	assert_int_equal(arb_conf_duration_ms("9223372036854775808ms", 0,
	    INT64_MAX, &v, err, sizeof(err)), ARB_ECONFIG);
	assert_int_equal(v, 42);
	assert_int_equal(arb_conf_duration_ms("1m", 60000, 60000, &v, err,
	    sizeof(err)), 0);
	assert_int_equal(v, 60000);
}

static void
test_bool(void **state)
{
	static const char *const yes[] = { "true", "yes", "on", "1", "YES",
	    "True" };
	static const char *const no[] = { "false", "no", "off", "0", "Off" };
	static const char *const bad[] = { "", "2", "y", "n", "truee",
	    " yes", "yes ", "enable" };
	char	err[128];
	int	v;
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		v = 0;
		assert_int_equal(arb_conf_bool(yes[i], &v, err, sizeof(err)),
		    0);
		assert_int_equal(v, 1);
	}
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		v = 1;
		assert_int_equal(arb_conf_bool(no[i], &v, err, sizeof(err)),
		    0);
		assert_int_equal(v, 0);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 7;
		assert_int_equal(arb_conf_bool(bad[i], &v, err, sizeof(err)),
		    ARB_ECONFIG);
		assert_int_equal(v, 7);
	}
	assert_int_equal(arb_conf_bool(NULL, &v, err, sizeof(err)),
	    ARB_ECONFIG);
}

static void
test_str_and_list(void **state)
{
	struct arb_strlist	 l = { NULL, 0 };
	char			 err[128];
	char			*s = NULL;

	(void)state;
	assert_int_equal(arb_conf_str("hello world", &s, err, sizeof(err)),
	    0);
	assert_string_equal(s, "hello world");
	free(s);
	s = NULL;
	assert_int_equal(arb_conf_str("", &s, err, sizeof(err)), 0);
	assert_string_equal(s, "");
	free(s);
	s = NULL;
	assert_int_equal(arb_conf_str(NULL, &s, err, sizeof(err)),
	    ARB_ECONFIG);
	assert_null(s);

	assert_int_equal(arb_strlist_add(&l, "tcp://a:1"), 0);
	assert_int_equal(arb_strlist_add(&l, "tcp://b:2"), 0);
	assert_int_equal(arb_strlist_add(&l, ""), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0], "tcp://a:1");
	assert_string_equal(l.v[1], "tcp://b:2");
	assert_string_equal(l.v[2], "");
	assert_null(l.v[3]);
	assert_int_equal(arb_strlist_add(&l, NULL), ARB_EINVAL);
	arb_strlist_free(&l);
	assert_null(l.v);
	assert_int_equal(l.n, 0);
	arb_strlist_free(&l);
}

/* ---- files */

struct tconf {
	int64_t			 port;
	uint64_t		 cache;
	int64_t			 interval;
	int			 verbose;
	char			*name;
	struct arb_strlist	 parents;
	int			 calls;
};

static int
h_port(void *c, const char *v, char *err, size_t errlen)
{
	struct tconf	*t = c;

	t->calls++;
	return arb_conf_int(v, 1, 65535, &t->port, err, errlen);
}

static int
h_cache(void *c, const char *v, char *err, size_t errlen)
{
	struct tconf	*t = c;

	t->calls++;
	return arb_conf_size(v, 0, UINT64_MAX, &t->cache, err, errlen);
}

static int
h_interval(void *c, const char *v, char *err, size_t errlen)
{
	struct tconf	*t = c;

	t->calls++;
	return arb_conf_duration_ms(v, 1000, 86400000, &t->interval, err,
	    errlen);
}

static int
h_verbose(void *c, const char *v, char *err, size_t errlen)
{
	struct tconf	*t = c;

	t->calls++;
	return arb_conf_bool(v, &t->verbose, err, errlen);
}

static int
h_name(void *c, const char *v, char *err, size_t errlen)
{
	struct tconf	*t = c;

	t->calls++;
	free(t->name);
	t->name = NULL;
	return arb_conf_str(v, &t->name, err, errlen);
}

static int
h_parent(void *c, const char *v, char *err, size_t errlen)
{
	struct tconf	*t = c;

	t->calls++;
	if (arb_strlist_add(&t->parents, v) != 0) {
		snprintf(err, errlen, "out of memory");
		return ARB_ECONFIG;
	}
	return 0;
}

/* A handler that fails without a reason. */
static int
h_silent(void *c, const char *v, char *err, size_t errlen)
{
	(void)c;
	(void)v;
	(void)err;
	(void)errlen;
	return ARB_EINVAL;
}

static const struct arb_conf_key keys[] = {
	{ "port", h_port, "port to listen on" },
	{ "cache", h_cache, "cache size" },
	{ "interval", h_interval, "poll interval" },
	{ "verbose", h_verbose, "log debug lines" },
	{ "name", h_name, "node name" },
	{ "parent", h_parent, "parent address (repeat)" },
	{ "silent", h_silent, "always fails" },
	{ NULL, NULL, NULL },
};

static void
tconf_free(struct tconf *t)
{
	free(t->name);
	arb_strlist_free(&t->parents);
	memset(t, 0, sizeof(*t));
}

static void
test_parse_good(void **state)
{
	const char	 text[] =
	    "# Arbor relay\n"
	    "\n"
	    "   \t\n"
	    "  # indented comment\n"
	    "port = 7400\n"
	    "cache=2G\n"
	    "interval\t=\t5m   \t\r\n"
	    "verbose = yes # trailing comment\n"
	    "name = \"  relay #1 \\\"east\\\" \\\\ \"  # comment after quotes\n"
	    "parent = tcp://10.0.0.1:7400\n"
	    "parent = tcp://10.0.0.2:7400#not-a-comment\n"
	    "parent = \"\"\n"
	    "port = 7401";	/* no final newline; last one wins */
	struct tconf	 t;

	(void)state;
	memset(&t, 0, sizeof(t));
	assert_int_equal(arb_conf_parse("relay.conf", text, strlen(text),
	    keys, &t), 0);
	assert_int_equal(t.calls, 9);
	assert_int_equal(t.port, 7401);
	assert_true(t.cache == 2ULL << 30);
	assert_int_equal(t.interval, 300000);
	assert_int_equal(t.verbose, 1);
	assert_string_equal(t.name, "  relay #1 \"east\" \\ ");
	assert_int_equal(t.parents.n, 3);
	assert_string_equal(t.parents.v[0], "tcp://10.0.0.1:7400");
	assert_string_equal(t.parents.v[1],
	    "tcp://10.0.0.2:7400#not-a-comment");
	assert_string_equal(t.parents.v[2], "");
	tconf_free(&t);

	/* Empty input and comments only. */
	assert_int_equal(arb_conf_parse("e", "", 0, keys, &t), 0);
	assert_int_equal(arb_conf_parse("e", NULL, 0, keys, &t), 0);
	assert_int_equal(arb_conf_parse("e", "#x\n\n", 4, keys, &t), 0);
	assert_int_equal(t.calls, 0);
}

static void
test_parse_errors(void **state)
{
	const char	 text[] =
	    "port = 7400\n"		/* 1 ok */
	    "colour = blue\n"		/* 2 unknown key */
	    "port = 70000\n"		/* 3 out of range */
	    "cache = 12 parsecs\n"	/* 4 bad size */
	    "verbose\n"			/* 5 no '=' */
	    "= 5\n"			/* 6 no key */
	    "name = \"open\n"		/* 7 unterminated */
	    "name = \"a\" b\n"		/* 8 junk after quotes */
	    "silent = x\n"		/* 9 handler gives no reason */
	    "interval = 1h\n";		/* 10 ok, after the errors */
	struct tconf	 t;
	char		 want[128];
	const char	*log;

	(void)state;
	memset(&t, 0, sizeof(t));
	capture_start();
	assert_int_equal(arb_conf_parse("relay.conf", text, strlen(text),
	    keys, &t), ARB_ECONFIG);
	log = capture_end();
	assert_non_null(strstr(log, "relay.conf:2: colour: unknown key\n"));
	assert_non_null(strstr(log, "relay.conf:3: port: 70000 is out of "
	    "range (1 to 65535)\n"));
	assert_non_null(strstr(log, "relay.conf:4: cache: \"12 parsecs\" "
	    "is not a size"));
	assert_non_null(strstr(log, "relay.conf:5: verbose: "));
	assert_non_null(strstr(log, "relay.conf:6: "));
	assert_non_null(strstr(log, "relay.conf:7: name: unterminated"));
	assert_non_null(strstr(log, "relay.conf:8: name: "));
	snprintf(want, sizeof(want), "relay.conf:9: silent: %s\n",
	    arb_strerror(ARB_EINVAL));
	assert_non_null(strstr(log, want));
	assert_null(strstr(log, "relay.conf:1:"));
	assert_null(strstr(log, "relay.conf:10:"));
	assert_int_equal(count_lines(log), 8);
	/* Good lines around the bad ones were still applied. */
	assert_int_equal(t.port, 7400);
	assert_int_equal(t.interval, 3600000);
	tconf_free(&t);

	/* A NUL inside a line. */
	capture_start();
	assert_int_equal(arb_conf_parse("nul.conf", "port = 1\0\nport = 2\n",
	    19, keys, &t), ARB_ECONFIG);
	log = capture_end();
	assert_non_null(strstr(log, "nul.conf:1: "));
	assert_int_equal(t.port, 2);
	tconf_free(&t);
}

static void
test_load(void **state)
{
	const char	 text[] = "port = 7400\nbogus = 1\nparent = x\n";
	struct tconf	 t;
	char		 dir[] = "/tmp/arbor-test-conf-dir.XXXXXX";
	char		 path[PATH_MAX];
	const char	*log;
	int		 fd;

	(void)state;
	memset(&t, 0, sizeof(t));
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/relay.conf", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)),
	    (ssize_t)strlen(text));
	close(fd);

	capture_start();
	assert_int_equal(arb_conf_load(path, keys, &t), ARB_ECONFIG);
	log = capture_end();
	assert_non_null(strstr(log, "/relay.conf:2: bogus: unknown key\n"));
	assert_int_equal(t.port, 7400);
	assert_int_equal(t.parents.n, 1);
	tconf_free(&t);

	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "port = 1\n", 9), 9);
	close(fd);
	assert_int_equal(arb_conf_load(path, keys, &t), 0);
	assert_int_equal(t.port, 1);
	assert_int_equal(unlink(path), 0);

	capture_start();
	assert_int_equal(arb_conf_load(path, keys, &t), -ENOENT);
	log = capture_end();
	assert_non_null(strstr(log, "relay.conf: No such file"));
	/* A directory is not a configuration file. */
	assert_int_equal(arb_conf_load(dir, keys, &t), ARB_ECONFIG);
	assert_int_equal(rmdir(dir), 0);
	tconf_free(&t);
}

static void
test_set(void **state)
{
	struct tconf	 t;
	const char	*log;

	(void)state;
	memset(&t, 0, sizeof(t));
	assert_int_equal(arb_conf_set("port=7400", NULL, keys, &t), 0);
	assert_int_equal(t.port, 7400);
	assert_int_equal(arb_conf_set("--port=7401", NULL, keys, &t), 0);
	assert_int_equal(t.port, 7401);
	assert_int_equal(arb_conf_set("port", "7402", keys, &t), 0);
	assert_int_equal(t.port, 7402);
	assert_int_equal(arb_conf_set("--name", " spaced \"as is\" ", keys,
	    &t), 0);
	assert_string_equal(t.name, " spaced \"as is\" ");
	assert_int_equal(arb_conf_set("name=a=b", NULL, keys, &t), 0);
	assert_string_equal(t.name, "a=b");
	assert_int_equal(arb_conf_set("parent", "p1", keys, &t), 0);
	assert_int_equal(arb_conf_set("parent", "p2", keys, &t), 0);
	assert_int_equal(t.parents.n, 2);

	capture_start();
	assert_int_equal(arb_conf_set("port", "0", keys, &t), ARB_ECONFIG);
	assert_int_equal(arb_conf_set("colour=red", NULL, keys, &t),
	    ARB_ECONFIG);
	assert_int_equal(arb_conf_set("port", NULL, keys, &t), ARB_ECONFIG);
	log = capture_end();
	assert_non_null(strstr(log, "command line: port: 0 is out of range "
	    "(1 to 65535)\n"));
	assert_non_null(strstr(log, "command line: colour: unknown key\n"));
	assert_non_null(strstr(log, "command line: port: missing value\n"));
	assert_int_equal(t.port, 7402);
	tconf_free(&t);
}

/* The daemons' own flags, beside the configuration keys. */
static void
test_cmdline_flags(void **state)
{
	char			*argv[] = { "arbor-x", "-d", "-v", "-v", "-n",
				    "--port=7403", "-c", "x.conf", NULL };
	char			*argv2[] = { "arbor-x", "--foreground", NULL };
	char			*argv3[] = { "arbor-x", "--port", "1", NULL };
	struct arb_cmdline	 cl;

	(void)state;
	assert_int_equal(arb_cmdline_parse(&cl, 8, argv, "usage", keys), 0);
	assert_int_equal(cl.foreground, 1);
	assert_int_equal(cl.verbose, 2);
	assert_int_equal(cl.check_only, 1);
	assert_string_equal(cl.file, "x.conf");
	assert_int_equal(cl.nover, 1);
	assert_string_equal(cl.over[0], "port");
	assert_string_equal(cl.over[1], "7403");
	arb_cmdline_free(&cl);
	assert_int_equal(arb_cmdline_parse(&cl, 2, argv2, "usage", keys), 0);
	assert_int_equal(cl.foreground, 1);
	arb_cmdline_free(&cl);
	/* Without -d a daemon decides by its stderr (log_want_stderr). */
	assert_int_equal(arb_cmdline_parse(&cl, 3, argv3, "usage", keys), 0);
	assert_int_equal(cl.foreground, 0);
	arb_cmdline_free(&cl);
}

/*
 * A word that is not an option is refused (a value split from its option,
 * "--port 5 min"), and an unknown key or option names the nearest one.
 */
static void
test_cmdline_refusals(void **state)
{
	char			*stray[] = { "arbor-x", "--port", "5", "min",
				    "-n", NULL };
	char			*slip[] = { "arbor-x", "--prot=5", NULL };
	char			*far[] = { "arbor-x", "--colour=5", NULL };
	struct arb_cmdline	 cl;
	struct tconf		 t;
	const char		*log;

	(void)state;
	memset(&t, 0, sizeof(t));
	capture_start();
	assert_int_equal(arb_cmdline_parse(&cl, 5, stray, "usage", keys),
	    ARB_ECONFIG);
	arb_cmdline_free(&cl);
	assert_int_equal(arb_cmdline_parse(&cl, 2, slip, "usage", keys),
	    ARB_ECONFIG);
	arb_cmdline_free(&cl);
	assert_int_equal(arb_cmdline_parse(&cl, 2, far, "usage", keys),
	    ARB_ECONFIG);
	arb_cmdline_free(&cl);
	assert_int_equal(arb_conf_set("prot=5", NULL, keys, &t), ARB_ECONFIG);
	assert_int_equal(arb_conf_parse("x.conf", "nmae = a\n", 9, keys, &t),
	    ARB_ECONFIG);
	log = capture_end();
	assert_non_null(strstr(log, "command line: \"min\": not an option"));
	assert_non_null(strstr(log, "command line: --prot: unknown option; "
	    "did you mean --port?\n"));
	assert_non_null(strstr(log, "command line: --colour: unknown "
	    "option\n"));
	assert_non_null(strstr(log, "command line: prot: unknown key; did you "
	    "mean port?\n"));
	assert_non_null(strstr(log, "x.conf:1: nmae: unknown key; did you "
	    "mean name?\n"));
	/* Errors from the command line carry a timestamp, as any line. */
	assert_non_null(strstr(log, "Z test_conf: command line: --prot:"));
	assert_null(strstr(log, "\ncommand line:"));
	tconf_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_int),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_str_and_list),
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_cmdline_flags),
		cmocka_unit_test(test_cmdline_refusals),
	};

	log_init(1, LOG_USER);
	log_procinit("test_conf");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
