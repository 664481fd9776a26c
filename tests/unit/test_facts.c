/*
 * Unit tests for lib/facts.c, through the language (parse and evaluate):
 * fixture trees built under mkdtemp() with os-release quoted and not,
 * hostname, dpkg arch and status (installed, held, removed, multi-arch,
 * epochs), files, absent sources, paths that try to leave the root, the
 * status cache and reload, the facts of the present state (sessions from
 * logind and utmp, idle time, battery), and the trees shipped in
 * tests/fixtures/.
 */
#include <sys/stat.h>
#include <sys/utsname.h>

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
#include <utmp.h>

#include <cmocka.h>

#include "arbor/error.h"
#include "arbor/expr.h"
#include "arbor/facts.h"
#include "arbor/log.h"
#include "arbor/schedule.h"
#include "arbor/sig.h"

#define STATUS \
	"Package: openssl\n" \
	"Status: install ok installed\n" \
	"Priority: optional\n" \
	"Architecture: amd64\n" \
	"Version: 3.0.11-1~deb12u2\n" \
	"Conffiles:\n" \
	" /etc/ssl/openssl.cnf 6b4a72a4ce84bab35d884e536295e14f\n" \
	"Description: Secure Sockets Layer toolkit\n" \
	" Package: fake-continuation-line\n" \
	" Version: 99\n" \
	"\n" \
	"Package: apache2\n" \
	"Status: deinstall ok config-files\n" \
	"Architecture: amd64\n" \
	"Version: 2.4.57-2\n" \
	"\n" \
	"Package: half\n" \
	"Status: install reinstreq half-installed\n" \
	"Version: 1.0\n" \
	"\n" \
	"Package: ntp\n" \
	"Status: hold ok installed\n" \
	"Version: 1:4.2.8p15+dfsg-2~1.2.2+dfsg1-1+deb12u1\n" \
	"\n" \
	"\n" \
	"Package: libfoo1\n" \
	"Status: install ok installed\n" \
	"Architecture: i386\n" \
	"Multi-Arch: same\n" \
	"Version: 2.0-1\n" \
	"\n" \
	"Package: libfoo1\n" \
	"Architecture: amd64\n" \
	"Version: 2.1-1\n" \
	"Status: install ok installed\n" \
	"\n" \
	"Package: libfoo1-dev\n" \
	"Status: install ok installed\n" \
	"Version: 2.1-1\n" \
	"\n" \
	"Package: zlib1g\n" \
	"Status: install ok installed\n" \
	"Version: 1:1.2.13.dfsg-1"	/* no final newline */

struct fixture {
	char			 dir[64];
	char			 root[128];
	struct arb_facts	*facts;
};

static void
mkdirs(const char *dir, const char *rel)
{
	char	 path[PATH_MAX], *p;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	for (p = path + strlen(dir) + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
		*p = '/';
	}
	assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
}

static void
put(const char *dir, const char *rel, const char *data)
{
	char	path[PATH_MAX];
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fwrite(data, 1, strlen(data), fp), strlen(data));
	assert_int_equal(fclose(fp), 0);
}

static void
rm(const char *dir, const char *rel)
{
	char	path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	assert_int_equal(unlink(path), 0);
}

static struct arb_facts *
facts_at(const char *root)
{
	static char		*groups[] = { "web", "pilot" };
	static char		*keys[] = { "role", "escape" };
	static char		*vals[] = { "frontend", "/../../etc/passwd" };
	struct arb_facts_conf	 conf;
	struct arb_facts	*facts;

	memset(&conf, 0, sizeof(conf));
	conf.root = root;
	conf.groups = groups;
	conf.ngroups = 2;
	conf.prop_keys = keys;
	conf.prop_vals = vals;
	conf.nprops = 2;
	assert_int_equal(arb_facts_new(&conf, &facts), 0);
	return facts;
}

/* DIR/outside.txt lies outside the root DIR/root. */
static int
setup(void **state)
{
	struct fixture	*f;

	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	strcpy(f->dir, "/tmp/arbor-test-facts.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->root, sizeof(f->root), "%s/root", f->dir);
	mkdirs(f->dir, "root/etc");
	mkdirs(f->dir, "root/var/lib/dpkg");
	mkdirs(f->dir, "root/opt/app/bin");
	put(f->dir, "outside.txt", "secret\n");
	put(f->root, "etc/os-release",
	    "# comment\n"
	    "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
	    "NAME=\"Debian GNU/Linux\"\n"
	    "VERSION_ID=\"12\"\n"
	    "VERSION='12 (bookworm)'\n"
	    "ID=debian\n"
	    "HOME_URL=\"https://www.debian.org/\"\n");
	put(f->root, "etc/hostname", "  web-01 \nignored\n");
	put(f->root, "var/lib/dpkg/arch", "amd64\ni386\n");
	put(f->root, "var/lib/dpkg/status", STATUS);
	put(f->root, "opt/app/bin/app", "#!/bin/sh\necho app 1.0\n");
	f->facts = facts_at(f->root);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;
	char		 cmd[160];

	arb_facts_free(f->facts);
	snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s'; rm -rf '%s'",
	    f->dir, f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void
check_value(struct arb_facts *facts, const char *text, const char *want)
{
	struct arb_expr		*e = NULL;
	struct arb_value	 v;
	char			 err[256], got[512];

	if (arb_expr_parse(text, &e, err, sizeof(err)) != 0)
		fail_msg("parse %s: %s", text, err);
	if (arb_expr_eval(e, facts, &v, err, sizeof(err)) != 0)
		fail_msg("eval %s: %s", text, err);
	arb_value_format(&v, got, sizeof(got));
	if (strcmp(got, want) != 0)
		fail_msg("%s: got %s, want %s", text, got, want);
	arb_value_clear(&v);
	arb_expr_free(e);
}

static void
check_eval_error(struct arb_facts *facts, const char *text, const char *msg)
{
	struct arb_expr		*e = NULL;
	struct arb_value	 v;
	char			 err[256];

	if (arb_expr_parse(text, &e, err, sizeof(err)) != 0)
		fail_msg("parse %s: %s", text, err);
	if (arb_expr_eval(e, facts, &v, err, sizeof(err)) != ARB_EINVAL)
		fail_msg("%s: evaluated, want error %s", text, msg);
	if (strcmp(err, msg) != 0)
		fail_msg("%s: error \"%s\", want \"%s\"", text, err, msg);
	arb_expr_free(e);
}

static void
test_os_release(void **state)
{
	struct fixture	*f = *state;

	check_value(f->facts, "os.id", "\"debian\"");
	check_value(f->facts, "os.version_id", "\"12\"");
	check_value(f->facts, "os.id == \"debian\" && os.version_id == \"12\"",
	    "true");

	/* The getter matches keys regardless of case. */
	{
		const char	*v;

		assert_int_equal(arb_facts_os(f->facts, "id", &v), 0);
		assert_non_null(v);
		assert_string_equal(v, "debian");
		assert_int_equal(arb_facts_os(f->facts, "NAME", &v), 0);
		assert_string_equal(v, "Debian GNU/Linux");
		assert_int_equal(arb_facts_os(f->facts, "NOPE", &v), 0);
		assert_null(v);
	}

	/* Quoted and unquoted, escapes; the last assignment wins. */
	put(f->root, "etc/os-release",
	    "ID=\"ubu\\\"ntu\"\nVERSION_ID=22.04  \nID='ubuntu'\n");
	arb_facts_reload(f->facts);
	check_value(f->facts, "os.id", "\"ubuntu\"");
	check_value(f->facts, "os.version_id", "\"22.04\"");
	put(f->root, "etc/os-release", "ID=\"ubu\\\"ntu\"\r\n");
	arb_facts_reload(f->facts);
	check_value(f->facts, "os.id", "\"ubu\\\"ntu\"");
	check_value(f->facts, "os.version_id", "none");

	/* Falls back to usr/lib/os-release. */
	rm(f->root, "etc/os-release");
	mkdirs(f->root, "usr/lib");
	put(f->root, "usr/lib/os-release", "ID=alpine\nVERSION_ID=3.19.1\n");
	arb_facts_reload(f->facts);
	check_value(f->facts, "os.id", "\"alpine\"");
	check_value(f->facts, "os.version_id", "\"3.19.1\"");

	/* Neither: absent, so none, and comparisons are false. */
	rm(f->root, "usr/lib/os-release");
	arb_facts_reload(f->facts);
	check_value(f->facts, "os.id", "none");
	check_value(f->facts, "os.id == \"debian\"", "false");
	check_value(f->facts, "os.id != \"debian\"", "true");
	check_value(f->facts, "os.version_id < \"12\"", "false");
}

static void
test_host_arch(void **state)
{
	struct fixture	*f = *state;
	struct utsname	 u;
	char		 name[256], want[300];
	const char	*deb;

	check_value(f->facts, "host.name", "\"web-01\"");
	check_value(f->facts, "os.arch", "\"amd64\"");

	/* Without the files: gethostname() and uname(2). */
	rm(f->root, "etc/hostname");
	rm(f->root, "var/lib/dpkg/arch");
	arb_facts_reload(f->facts);
	assert_int_equal(gethostname(name, sizeof(name)), 0);
	snprintf(want, sizeof(want), "\"%s\"", name);
	check_value(f->facts, "host.name", want);
	assert_int_equal(uname(&u), 0);
	deb = strcmp(u.machine, "x86_64") == 0 ? "amd64" :
	    strcmp(u.machine, "aarch64") == 0 ? "arm64" :
	    strcmp(u.machine, "i686") == 0 ? "i386" : u.machine;
	snprintf(want, sizeof(want), "\"%s\"", deb);
	check_value(f->facts, "os.arch", want);

	/* An empty hostname file is an absent name. */
	put(f->root, "etc/hostname", "\n");
	arb_facts_reload(f->facts);
	check_value(f->facts, "host.name", "none");
}

static void
test_pkg(void **state)
{
	static const struct {
		const char	*text, *want;
	} cases[] = {
		{ "pkg(\"openssl\")", "version(\"3.0.11-1~deb12u2\")" },
		{ "pkg(\"openssl\") < version(\"3.0.22-1~deb12u2\")", "true" },
		{ "pkg(\"openssl\") >= version(\"3.0.11-1~deb12u2\")", "true" },
		{ "pkg(\"openssl\") == \"3.0.11-1~deb12u2\"", "true" },
		/* Removed (configuration left) or broken: not installed. */
		{ "pkg(\"apache2\")", "none" },
		{ "pkg(\"apache2\") < version(\"2.4.58\")", "false" },
		{ "pkg(\"half\")", "none" },
		/* Held is installed; epochs compare. */
		{ "pkg(\"ntp\")",
		    "version(\"1:4.2.8p15+dfsg-2~1.2.2+dfsg1-1+deb12u1\")" },
		{ "pkg(\"ntp\") > version(\"4.2.8p16\")", "true" },
		{ "pkg(\"ntp\") < version(\"2:0\")", "true" },
		{ "pkg(\"zlib1g\")", "version(\"1:1.2.13.dfsg-1\")" },
		{ "pkg(\"zlib1g\") > version(\"1.3\")", "true" },
		/* Multi-arch: the lowest, or the one asked for. */
		{ "pkg(\"libfoo1\")", "version(\"2.0-1\")" },
		{ "pkg(\"libfoo1:amd64\")", "version(\"2.1-1\")" },
		{ "pkg(\"libfoo1:i386\")", "version(\"2.0-1\")" },
		{ "pkg(\"libfoo1:arm64\")", "none" },
		{ "pkg(\"libfoo1-dev\")", "version(\"2.1-1\")" },
		{ "pkg(\"libfoo\")", "none" },
		{ "pkg(\"fake-continuation-line\")", "none" },
		{ "pkg(\"nginx\")", "none" },
		{ "pkg(\"nginx\") == none", "true" },
		{ "pkg(\"a\")", "none" },
		{ "pkg(\"zzz\")", "none" },
	};
	struct fixture		*f = *state;
	struct arb_facts_stats	 st;
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_value(f->facts, cases[i].text, cases[i].want);
	/* Parsed once for all those. */
	arb_facts_stats(f->facts, &st);
	assert_int_equal(st.status_loads, 1);

	/* After an action: reload sees the new database. */
	put(f->root, "var/lib/dpkg/status",
	    "Package: openssl\nStatus: install ok installed\n"
	    "Version: 3.0.22-1~deb12u2\n");
	check_value(f->facts, "pkg(\"openssl\")",
	    "version(\"3.0.11-1~deb12u2\")");
	arb_facts_reload(f->facts);
	check_value(f->facts, "pkg(\"openssl\") < "
	    "version(\"3.0.22-1~deb12u2\")", "false");
	check_value(f->facts, "pkg(\"ntp\")", "none");
	arb_facts_stats(f->facts, &st);
	assert_int_equal(st.status_loads, 2);

	/* No database at all: nothing installed. */
	rm(f->root, "var/lib/dpkg/status");
	arb_facts_reload(f->facts);
	check_value(f->facts, "pkg(\"openssl\")", "none");
	put(f->root, "var/lib/dpkg/status", "");
	arb_facts_reload(f->facts);
	check_value(f->facts, "pkg(\"openssl\")", "none");
}

/* A status file of many packages: parsed once, looked up fast. */
static void
test_pkg_large(void **state)
{
	struct fixture	*f = *state;
	char		 path[PATH_MAX], text[64], want[64];
	FILE		*fp;
	int		 i;

	snprintf(path, sizeof(path), "%s/var/lib/dpkg/status", f->root);
	assert_non_null(fp = fopen(path, "w"));
	for (i = 0; i < 20000; i++)
		fprintf(fp, "Package: pkg%05d\nStatus: install ok %s\n"
		    "Architecture: amd64\nVersion: 1.%d-1\n"
		    "Description: package %d\n line two\n\n", i,
		    i % 7 == 0 ? "config-files" : "installed", i, i);
	assert_int_equal(fclose(fp), 0);
	arb_facts_reload(f->facts);
	for (i = 0; i < 20000; i += 997) {
		snprintf(text, sizeof(text), "pkg(\"pkg%05d\")", i);
		if (i % 7 == 0)
			snprintf(want, sizeof(want), "none");
		else
			snprintf(want, sizeof(want), "version(\"1.%d-1\")", i);
		check_value(f->facts, text, want);
	}
}

static void
test_agent(void **state)
{
	struct fixture	*f = *state;

	check_value(f->facts, "agent.groups", "[\"web\", \"pilot\"]");
	check_value(f->facts, "\"pilot\" in agent.groups", "true");
	check_value(f->facts, "\"db\" in agent.groups", "false");
	check_value(f->facts, "agent.prop(\"role\")", "\"frontend\"");
	check_value(f->facts, "agent.prop(\"rack\")", "none");
	check_value(f->facts, "agent.prop(\"role\") == \"frontend\"", "true");
}

/* An enrolment token's groups join the configured ones, and replace
 * those it gave before. */
static void
test_extra_groups(void **state)
{
	struct fixture	*f = *state;
	char		*lab[] = { (char *)"lab", (char *)"pilot",
			    (char *)"lab" };
	char		*db[] = { (char *)"db" };

	assert_int_equal(arb_facts_extra_groups(f->facts, lab, 3), 0);
	check_value(f->facts, "agent.groups",
	    "[\"web\", \"pilot\", \"lab\"]");
	assert_int_equal(arb_facts_extra_groups(f->facts, db, 1), 0);
	check_value(f->facts, "agent.groups",
	    "[\"web\", \"pilot\", \"db\"]");
	assert_int_equal(arb_facts_extra_groups(f->facts, NULL, 0), 0);
	check_value(f->facts, "agent.groups", "[\"web\", \"pilot\"]");
}

static void
test_files(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 md[ARB_SHA256_LEN];
	char		 hex[ARB_SHA256_HEX], text[256], path[PATH_MAX];
	const char	*content = "#!/bin/sh\necho app 1.0\n";

	assert_int_equal(arb_sha256(content, strlen(content), md), 0);
	arb_hex(md, sizeof(md), hex);
	check_value(f->facts, "file.exists(\"/opt/app/bin/app\")", "true");
	check_value(f->facts, "file.exists(\"/opt/app/bin\")", "true");
	check_value(f->facts, "file.exists(\"/opt/app/bin/\")", "true");
	check_value(f->facts, "file.exists(\"/\")", "true");
	check_value(f->facts, "file.exists(\"/opt/app/bin/other\")", "false");
	snprintf(text, sizeof(text), "file.sha256(\"/opt/app/bin/app\") == "
	    "\"%s\"", hex);
	check_value(f->facts, text, "true");
	/* The example from the design. */
	check_value(f->facts, "file.exists(\"/opt/app/bin/app\") && "
	    "file.sha256(\"/opt/app/bin/app\") != \"ab12\"", "true");
	check_value(f->facts, "file.contains(\"/opt/app/bin/app\", "
	    "\"app 1.0\")", "true");
	check_value(f->facts, "file.contains(\"/opt/app/bin/app\", "
	    "\"app 1.1\")", "false");
	check_value(f->facts, "file.contains(\"/etc/os-release\", "
	    "\"bookworm\")", "true");
	/* An empty file. */
	put(f->root, "opt/empty", "");
	check_value(f->facts, "file.sha256(\"/opt/empty\")", "\"e3b0c44298fc"
	    "1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"");
	check_value(f->facts, "file.contains(\"/opt/empty\", \"x\")",
	    "false");

	/* Not a regular file: an error, and a FIFO does not block. */
	snprintf(path, sizeof(path), "%s/opt/fifo", f->root);
	assert_int_equal(mkfifo(path, 0644), 0);
	check_eval_error(f->facts, "file.contains(\"/opt/fifo\", \"x\")",
	    "at 1: file.contains: \"/opt/fifo\" is not a regular file");
	check_value(f->facts, "file.exists(\"/opt/fifo\")", "true");
	rm(f->root, "etc/os-release");
	mkdirs(f->root, "etc/os-release");
	arb_facts_reload(f->facts);
	check_eval_error(f->facts, "true && os.version_id == \"12\"",
	    "at 9: os.version_id: cannot read: Is a directory");
	snprintf(path, sizeof(path), "%s/etc/os-release", f->root);
	assert_int_equal(rmdir(path), 0);
	put(f->root, "etc/os-release", "ID=debian\n");
	arb_facts_reload(f->facts);

	/* Unreadable: an evaluation error, not false (root reads all). */
	if (geteuid() != 0) {
		snprintf(path, sizeof(path), "%s/opt/app/bin/app", f->root);
		assert_int_equal(chmod(path, 0), 0);
		check_eval_error(f->facts, "file.sha256(\"/opt/app/bin/app\")",
		    "at 1: file.sha256: \"/opt/app/bin/app\": Permission "
		    "denied");
		assert_int_equal(chmod(path, 0644), 0);
		snprintf(path, sizeof(path), "%s/etc/os-release", f->root);
		assert_int_equal(chmod(path, 0), 0);
		check_eval_error(f->facts, "os.id == \"debian\"",
		    "at 1: os.id: cannot read: Permission denied");
		assert_int_equal(chmod(path, 0644), 0);
	}
}

/* Nothing outside the root, whatever the path or the tree's links. */
static void
test_escape(void **state)
{
	struct fixture	*f = *state;
	char		 target[PATH_MAX], link[PATH_MAX], cmd[PATH_MAX + 64];
	struct arb_expr	*e;
	char		 err[256];

	/* ".." is refused when published and when evaluated. */
	assert_int_equal(arb_expr_parse("file.exists(\"/../outside.txt\")",
	    &e, err, sizeof(err)), ARB_EINVAL);
	assert_string_equal(err, "at 13: path must not contain \".\" or "
	    "\"..\"");
	assert_int_equal(arb_expr_parse("file.contains(\"/opt/./x\", \"s\")",
	    &e, err, sizeof(err)), ARB_EINVAL);
	assert_string_equal(err, "at 15: path must not contain \".\" or "
	    "\"..\"");
	check_eval_error(f->facts, "file.exists(agent.prop(\"escape\"))",
	    "at 1: file.exists: path must not contain \".\" or \"..\"");

	/* Links, relative or absolute, resolve inside the root. */
	snprintf(target, sizeof(target), "%s/outside.txt", f->dir);
	snprintf(link, sizeof(link), "%s/opt/abs", f->root);
	assert_int_equal(symlink(target, link), 0);
	snprintf(link, sizeof(link), "%s/opt/rel", f->root);
	assert_int_equal(symlink("../../outside.txt", link), 0);
	check_value(f->facts, "file.exists(\"/opt/abs\")", "false");
	check_value(f->facts, "file.exists(\"/opt/rel\")", "false");
	check_value(f->facts, "file.contains(\"/opt/abs\", \"secret\")",
	    "false");
	check_value(f->facts, "file.sha256(\"/opt/rel\")", "none");

	/* A link that stays inside works, even an absolute one. */
	snprintf(link, sizeof(link), "%s/opt/app/current", f->root);
	assert_int_equal(symlink("/opt/app/bin", link), 0);
	check_value(f->facts, "file.contains(\"/opt/app/current/app\", "
	    "\"app 1.0\")", "true");

	/* The same through os-release: /etc/os-release -> outside. */
	rm(f->root, "etc/os-release");
	snprintf(link, sizeof(link), "%s/etc/os-release", f->root);
	put(f->dir, "outside.txt", "ID=evil\n");
	assert_int_equal(symlink(target, link), 0);
	arb_facts_reload(f->facts);
	check_value(f->facts, "os.id", "none");
	snprintf(cmd, sizeof(cmd), "ln -sf ../usr/lib/os-release '%s'", link);
	assert_int_equal(system(cmd), 0);
	mkdirs(f->root, "usr/lib");
	put(f->root, "usr/lib/os-release", "ID=debian\n");
	arb_facts_reload(f->facts);
	check_value(f->facts, "os.id", "\"debian\"");
}

/* An empty root: every fact is absent. */
static void
test_absent(void **state)
{
	struct fixture		*f = *state;
	struct arb_facts	*facts;
	char			 empty[PATH_MAX];

	snprintf(empty, sizeof(empty), "%s/empty", f->dir);
	assert_int_equal(mkdir(empty, 0755), 0);
	facts = facts_at(empty);
	check_value(facts, "os.id", "none");
	check_value(facts, "os.version_id", "none");
	check_value(facts, "pkg(\"openssl\")", "none");
	check_value(facts, "os.id == \"debian\" && pkg(\"openssl\") < "
	    "version(\"3.0.22-1~deb12u2\")", "false");
	check_value(facts, "file.exists(\"/etc/passwd\")", "false");
	check_value(facts, "file.sha256(\"/etc/passwd\")", "none");
	check_value(facts, "file.contains(\"/etc/passwd\", \"root\")",
	    "false");
	arb_facts_free(facts);

	/* A root that is not there. */
	{
		struct arb_facts_conf	conf;

		memset(&conf, 0, sizeof(conf));
		conf.root = "/nonexistent/arbor-root";
		assert_int_equal(arb_facts_new(&conf, &facts), -ENOENT);
	}
}

/* The trees in tests/fixtures/, next to this file's directory. */
/* Sessions: absent, from utmp, then from logind (which wins). */
static void
test_sessions(void **state)
{
	struct fixture	*f = *state;
	struct utmp	 ut[4];
	char		 path[PATH_MAX];
	FILE		*fp;

	check_value(f->facts, "session.users", "none");
	check_value(f->facts, "session.users == none || session.users == 0",
	    "true");
	mkdirs(f->root, "run");
	memset(ut, 0, sizeof(ut));
	ut[0].ut_type = USER_PROCESS;
	strcpy(ut[0].ut_user, "alice");
	ut[1].ut_type = DEAD_PROCESS;
	strcpy(ut[1].ut_user, "bob");
	ut[2].ut_type = USER_PROCESS;
	strcpy(ut[2].ut_user, "alice");
	ut[3].ut_type = USER_PROCESS;
	memset(ut[3].ut_user, 'c', sizeof(ut[3].ut_user));	/* no NUL */
	snprintf(path, sizeof(path), "%s/run/utmp", f->root);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fwrite(ut, sizeof(ut[0]), 4, fp), 4);
	assert_int_equal(fwrite("part", 1, 4, fp), 4);	/* torn record */
	assert_int_equal(fclose(fp), 0);
	arb_facts_begin(f->facts);
	check_value(f->facts, "session.users", "2");

	/* logind's files, when its directory exists; read afresh. */
	mkdirs(f->root, "run/systemd/sessions");
	check_value(f->facts, "session.users", "0");
	put(f->root, "run/systemd/sessions/3",
	    "# This is private data. Do not parse.\nUID=1000\nUSER=alice\n"
	    "STATE=active\nCLASS=user\n");
	put(f->root, "run/systemd/sessions/4",
	    "UID=1002\nSTATE=online\nCLASS=user-early\n");	/* no USER */
	put(f->root, "run/systemd/sessions/5",
	    "USER=bob\nSTATE=closing\nCLASS=user\n");
	put(f->root, "run/systemd/sessions/6", "USER=gdm\nCLASS=greeter\n");
	put(f->root, "run/systemd/sessions/7", "USER=alice\nCLASS=user\n");
	put(f->root, "run/systemd/sessions/7.ref", "");
	put(f->root, "run/systemd/sessions/8", "garbage\n\n=\n");
	check_value(f->facts, "session.users", "2");
	check_value(f->facts, "session.users > 0 && session.users < 3",
	    "true");
}

static void
set_atime(const char *root, const char *rel, time_t t)
{
	struct timespec	ts[2];
	char		path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	ts[0].tv_sec = t;
	ts[0].tv_nsec = 0;
	ts[1].tv_sec = t;
	ts[1].tv_nsec = 0;
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/* Idle: the newest access time among input devices and terminals. */
static void
test_idle(void **state)
{
	struct fixture	*f = *state;
	time_t		 now = (time_t)arb_clock_now();

	check_value(f->facts, "session.idle", "none");
	mkdirs(f->root, "dev/input");
	mkdirs(f->root, "dev/pts");
	put(f->root, "dev/input/event3", "");
	put(f->root, "dev/input/mice", "");	/* not an event device */
	put(f->root, "dev/pts/0", "");
	put(f->root, "dev/pts/ptmx", "");
	put(f->root, "dev/tty2", "");
	put(f->root, "dev/ttyS0", "");		/* a serial line */
	set_atime(f->root, "dev/input/event3", now - 3600);
	set_atime(f->root, "dev/input/mice", now - 10);
	set_atime(f->root, "dev/pts/0", now - 7200);
	set_atime(f->root, "dev/pts/ptmx", now - 5);
	set_atime(f->root, "dev/tty2", now - 1800);
	set_atime(f->root, "dev/ttyS0", now - 1);
	check_value(f->facts, "session.idle >= 1800 && session.idle < 1900",
	    "true");
	set_atime(f->root, "dev/pts/0", now + 600);	/* ahead: not idle */
	check_value(f->facts, "session.idle", "0");
	check_value(f->facts, "session.idle > 900 || session.users == none",
	    "true");
}

/* Battery: the combinations of supplies a machine shows. */
static void
test_power(void **state)
{
	struct fixture	*f = *state;

	check_value(f->facts, "power.battery", "false");	/* none */
	mkdirs(f->root, "sys/class/power_supply/AC");
	mkdirs(f->root, "sys/class/power_supply/BAT0");
	put(f->root, "sys/class/power_supply/AC/type", "Mains\n");
	put(f->root, "sys/class/power_supply/AC/online", "1\n");
	put(f->root, "sys/class/power_supply/BAT0/type", "Battery\n");
	put(f->root, "sys/class/power_supply/BAT0/status", "Charging\n");
	check_value(f->facts, "power.battery", "false");
	put(f->root, "sys/class/power_supply/AC/online", "0\n");
	put(f->root, "sys/class/power_supply/BAT0/status", "Unknown\n");
	check_value(f->facts, "power.battery", "true");
	/* No mains supply known: the battery's status decides. */
	rm(f->root, "sys/class/power_supply/AC/type");
	check_value(f->facts, "power.battery", "false");
	put(f->root, "sys/class/power_supply/BAT0/status", "Discharging\n");
	check_value(f->facts, "!power.battery", "false");
	/* A peripheral's battery is not the machine's. */
	put(f->root, "sys/class/power_supply/BAT0/scope", "Device\n");
	check_value(f->facts, "power.battery", "false");
	/* A USB-C supply online powers the machine. */
	put(f->root, "sys/class/power_supply/BAT0/scope", "System\n");
	mkdirs(f->root, "sys/class/power_supply/ucsi-source-psy-1");
	put(f->root, "sys/class/power_supply/ucsi-source-psy-1/type",
	    "USB\n");
	put(f->root, "sys/class/power_supply/ucsi-source-psy-1/online",
	    "1\n");
	check_value(f->facts, "power.battery", "false");
}

/* The parsers on their own, with what fuzzing would feed them. */
static void
test_session_parsers(void **state)
{
	char		 text[128];
	const char	*user;
	size_t		 n;

	(void)state;
	strcpy(text, "USER=\nUID=1000\nCLASS=user\n");
	assert_int_equal(arb_facts_logind_session(text, &user), 1);
	assert_string_equal(user, "1000");
	strcpy(text, "CLASS=user\n");
	assert_int_equal(arb_facts_logind_session(text, &user), 0);
	strcpy(text, "");
	assert_int_equal(arb_facts_logind_session(text, &user), 0);
	assert_int_equal(arb_facts_utmp_users("", 0, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(arb_facts_utmp_users("abc", 3, &n), 0);
	assert_int_equal(n, 0);
}

static void
test_shipped_fixtures(void **state)
{
	static const struct {
		const char	*tree, *text, *want;
	} cases[] = {
		{ "debian12-old-openssl", "os.id == \"debian\" && "
		    "pkg(\"openssl\") < version(\"3.0.22-1~deb12u2\")",
		    "true" },
		{ "debian12-old-openssl", "pkg(\"libssl3\")",
		    "version(\"3.0.11-1~deb12u2\")" },
		{ "debian12-old-openssl", "pkg(\"apache2\")", "none" },
		{ "debian12-old-openssl", "host.name", "\"web-01\"" },
		{ "debian12-old-openssl", "file.sha256(\"/opt/app/bin/app\")",
		    "\"ccbcc0a1ec5969256f4adb0952d8b6650d83a13014b4770e5f3d3c"
		    "f389f7fc51\"" },
		{ "debian12-patched", "os.id == \"debian\" && "
		    "pkg(\"openssl\") < version(\"3.0.22-1~deb12u2\")",
		    "false" },
		{ "debian12-patched", "file.contains(\"/opt/app/bin/app\", "
		    "\"app 1.1\")", "true" },
		{ "debian12-patched", "os.version_id", "\"12\"" },
		{ "ubuntu-2204", "os.id == \"debian\" && "
		    "pkg(\"openssl\") < version(\"3.0.22-1~deb12u2\")",
		    "false" },
		{ "ubuntu-2204", "os.id == \"ubuntu\" && "
		    "version(os.version_id) >= version(\"22.04\") && "
		    "pkg(\"openssl\") < version(\"3.0.2-0ubuntu1.16\")",
		    "true" },
		{ "ubuntu-2204", "os.arch", "\"arm64\"" },
		{ "laptop-on-battery", "session.users", "1" },
		{ "laptop-on-battery", "power.battery", "true" },
		{ "debian12-patched", "power.battery || session.users != none",
		    "false" },
	};
	struct arb_facts	*facts;
	char			 root[PATH_MAX], *slash;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* __FILE__ is .../tests/unit/test_facts.c */
		snprintf(root, sizeof(root), "%s", __FILE__);
		if ((slash = strrchr(root, '/')) == NULL ||
		    root[0] != '/')
			skip();
		*slash = '\0';
		if ((slash = strrchr(root, '/')) == NULL)
			skip();
		snprintf(slash, sizeof(root) - (size_t)(slash - root),
		    "/fixtures/%s", cases[i].tree);
		if (access(root, F_OK) != 0)
			skip();
		facts = facts_at(root);
		check_value(facts, cases[i].text, cases[i].want);
		arb_facts_free(facts);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_os_release, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_host_arch, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pkg, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pkg_large, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_agent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_extra_groups, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_escape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_absent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_idle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_power, setup, teardown),
		cmocka_unit_test(test_session_parsers),
		cmocka_unit_test(test_shipped_fixtures),
	};

	log_init(1, LOG_USER);
	log_procinit("test_facts");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
