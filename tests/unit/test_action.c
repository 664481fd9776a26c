/*
 * Unit tests for lib/action.c: real /bin/sh processes run in staging
 * directories under a mkdtemp() tree.  Every run is bounded by a uv timer
 * deadline that cancels the action and fails the test.  The test process
 * makes itself a child subreaper, so that processes orphaned by a killed
 * script are reparented to it and can be reaped and checked for here.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "support/tmptree.h"

#include "arbor/action.h"
#include "arbor/error.h"
#include "arbor/log.h"

#define DEADLINE_MS	20000

struct fx {
	char			 dir[64];
	char			 root[PATH_MAX];	/* staging root */
	char			 blob1[PATH_MAX];
	char			 blob2[PATH_MAX];
	char			 marker[PATH_MAX];
	uv_loop_t		 loop;
	uv_timer_t		 deadline;
	uv_timer_t		 later;
	struct arb_action	*a;
	struct arb_action_result res;
	int			 called;
	int			 expired;
};

static void
write_file(const char *path, const char *data, size_t len)
{
	FILE	*fp;

	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

/* Read a whole small file into a NUL-terminated heap string. */
static char *
read_file(const char *path)
{
	FILE	*fp;
	char	*buf;
	size_t	 n;

	assert_non_null(fp = fopen(path, "r"));
	assert_non_null(buf = calloc(1, 65536));
	n = fread(buf, 1, 65535, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static void
sleep_ms(long ms)
{
	struct timespec	ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* 1 once pid is gone (reaped here if it was reparented to us), in 2 s. */
static int
pid_gone(pid_t pid)
{
	int	i, status;

	for (i = 0; i < 200; i++) {
		(void)waitpid(pid, &status, WNOHANG);
		if (kill(pid, 0) == -1 && errno == ESRCH)
			return 1;
		sleep_ms(10);
	}
	return 0;
}

static pid_t
read_pid(const char *dir, const char *name)
{
	char	 path[PATH_MAX];
	char	*s;
	long	 pid;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path))
		fail_msg("%s/%s: path too long", dir, name);
	s = read_file(path);
	pid = strtol(s, NULL, 10);
	free(s);
	assert_true(pid > 1);
	return (pid_t)pid;
}

static void
deadline_cb(uv_timer_t *t)
{
	struct fx	*f = t->data;

	f->expired = 1;
	if (!f->called)
		arb_action_cancel(f->a);
}

static void
done_cb(const struct arb_action_result *res, void *arg)
{
	struct fx	*f = arg;

	f->called++;
	memcpy(&f->res, res, sizeof(*res));
	f->a = NULL;
	uv_timer_stop(&f->deadline);
	uv_timer_stop(&f->later);
}

static int
setup(void **state)
{
	struct fx	*f;

	assert_non_null(f = calloc(1, sizeof(*f)));
	strcpy(f->dir, "/tmp/arbor-test-action-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->root, sizeof(f->root), "%s/staging", f->dir);
	snprintf(f->blob1, sizeof(f->blob1), "%s/blob1", f->dir);
	snprintf(f->blob2, sizeof(f->blob2), "%s/blob2", f->dir);
	snprintf(f->marker, sizeof(f->marker), "%s/marker", f->dir);
	write_file(f->blob1, "hello blob\n", 11);
	write_file(f->blob2, "second\n", 7);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	uv_timer_init(&f->loop, &f->deadline);
	uv_timer_init(&f->loop, &f->later);
	f->deadline.data = f->later.data = f;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*f = *state;

	uv_close((uv_handle_t *)&f->deadline, NULL);
	uv_close((uv_handle_t *)&f->later, NULL);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	test_rmtree(f->dir);
	free(f);
	return 0;
}

static void
spec_init(struct fx *f, struct arb_action_spec *s, const char *script)
{
	memset(s, 0, sizeof(*s));
	s->policy_id = "pol1";
	s->version = 3;
	s->script = script;
	s->staging_root = f->root;
	s->facts_root = "/facts";
	s->timeout_ms = 10000;
	s->kind = "action";
}

static void
staging_of(struct fx *f, const struct arb_action_spec *s, char *out,
    size_t len)
{
	int n;

	n = snprintf(out, len, "%s/%s-v%u", f->root, s->policy_id,
	    s->version);
	assert_true(n > 0 && (size_t)n < len);
}

/* Start the action and run the loop until its callback or the deadline. */
static void
run(struct fx *f, const struct arb_action_spec *s)
{
	assert_int_equal(arb_action_start(&f->loop, s, done_cb, f, &f->a), 0);
	uv_timer_start(&f->deadline, deadline_cb, DEADLINE_MS, 0);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_false(f->expired);
	assert_int_equal(f->called, 1);
	assert_int_equal(f->res.output[f->res.output_len], '\0');
	assert_int_equal(strlen(f->res.output), f->res.output_len);
}

static void
assert_has_line(const char *text, const char *line)
{
	size_t		 n = strlen(line);
	const char	*p;

	for (p = text; (p = strstr(p, line)) != NULL; p += n)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return;
	fail_msg("missing line \"%s\"", line);
}

static void
test_success(void **state)
{
	struct fx		*f = *state;
	struct arb_action_spec	 s;
	struct arb_action_blob	 blobs[2];
	const char		*extra[] = { "FOO=bar baz", "LANG=C", NULL };
	char			 staging[PATH_MAX], path[PATH_MAX + 32];
	char			 line[PATH_MAX + 64], *env, *text;
	struct stat		 st, bst;

	spec_init(f, &s,
	    "set -e\n"
	    "cat payload.bin > seen-payload\n"
	    "cat 'name with space.txt' >> seen-payload\n"
	    "env > env.txt\n"
	    "pwd > pwd.txt\n"
	    "echo done\n");
	blobs[0].name = "payload.bin";
	blobs[0].path = f->blob1;
	blobs[1].name = "name with space.txt";
	blobs[1].path = f->blob2;
	s.blobs = blobs;
	s.nblobs = 2;
	s.extra_env = extra;
	staging_of(f, &s, staging, sizeof(staging));

	/* Leftovers of an earlier run of this version are removed. */
	assert_int_equal(mkdir(f->root, 0700), 0);
	assert_int_equal(mkdir(staging, 0755), 0);
	snprintf(path, sizeof(path), "%s/old", staging);
	assert_int_equal(mkdir(path, 0), 0);
	snprintf(path, sizeof(path), "%s/old/junk", staging);
	write_file(path, "x", 1);
	assert_int_equal(setenv("ARBOR_TEST_LEAK", "1", 1), 0);

	run(f, &s);
	assert_true(f->res.exited);
	assert_int_equal(f->res.exit_status, 0);
	assert_false(f->res.signaled);
	assert_false(f->res.timed_out);
	assert_false(f->res.canceled);
	assert_false(f->res.reboot);
	assert_true(f->res.success);
	assert_string_equal(f->res.output, "done\n");
	assert_true(f->res.elapsed_ms >= 0 && f->res.elapsed_ms < 10000);

	snprintf(path, sizeof(path), "%s/old", staging);
	assert_int_equal(lstat(path, &st), -1);
	assert_int_equal(stat(staging, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	/* A copy of the verified blob, never a link to it. */
	snprintf(path, sizeof(path), "%s/payload.bin", staging);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(stat(f->blob1, &bst), 0);
	assert_false(st.st_ino == bst.st_ino && st.st_dev == bst.st_dev);
	assert_int_equal(st.st_size, bst.st_size);

	snprintf(path, sizeof(path), "%s/seen-payload", staging);
	text = read_file(path);
	assert_string_equal(text, "hello blob\nsecond\n");
	free(text);
	snprintf(path, sizeof(path), "%s/pwd.txt", staging);
	text = read_file(path);
	snprintf(line, sizeof(line), "%s\n", staging);
	assert_string_equal(text, line);
	free(text);

	snprintf(path, sizeof(path), "%s/env.txt", staging);
	env = read_file(path);
	assert_has_line(env, "PATH=/usr/sbin:/usr/bin:/sbin:/bin");
	snprintf(line, sizeof(line), "HOME=%s", staging);
	assert_has_line(env, line);
	assert_has_line(env, "ARBOR_POLICY_ID=pol1");
	assert_has_line(env, "ARBOR_POLICY_VERSION=3");
	snprintf(line, sizeof(line), "ARBOR_STAGING=%s", staging);
	assert_has_line(env, line);
	assert_has_line(env, "ARBOR_FACTS_ROOT=/facts");
	assert_has_line(env, "ARBOR_ACTION_KIND=action");
	snprintf(line, sizeof(line), "ARBOR_REBOOT_FILE=%s/.arbor-reboot",
	    staging);
	assert_has_line(env, line);
	assert_has_line(env, "ARBOR_TIMEOUT_MS=10000");
	assert_has_line(env, "FOO=bar baz");
	assert_has_line(env, "LANG=C");
	assert_null(strstr(env, "ARBOR_TEST_LEAK"));
	free(env);
	unsetenv("ARBOR_TEST_LEAK");

	assert_int_equal(arb_action_cleanup(f->root, "pol1", 3), 0);
	assert_int_equal(lstat(staging, &st), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(arb_action_cleanup(f->root, "pol1", 3), 0);
}

/* extra_env replaces a built-in variable of the same name. */
static void
test_env_override(void **state)
{
	struct fx		*f = *state;
	struct arb_action_spec	 s;
	const char		*extra[] = { "PATH=/bin", NULL };

	spec_init(f, &s, "printf '%s|%s' \"$PATH\" \"$ARBOR_ACTION_KIND\"\n");
	s.extra_env = extra;
	s.kind = "rollback";
	run(f, &s);
	assert_true(f->res.success);
	assert_string_equal(f->res.output, "/bin|rollback");
}

static void
test_exit_status(void **state)
{
	struct fx		*f = *state;
	struct arb_action_spec	 s;

	spec_init(f, &s, "echo out; echo failing >&2; exit 3\n");
	run(f, &s);
	assert_true(f->res.exited);
	assert_int_equal(f->res.exit_status, 3);
	assert_false(f->res.signaled);
	assert_false(f->res.success);
	assert_false(f->res.reboot);
	assert_string_equal(f->res.output, "out\nfailing\n");
}

static void
test_output_tail(void **state)
{
	struct fx		*f = *state;
	struct arb_action_spec	 s;
	char			*all;
	size_t			 n = 0, tail = sizeof(f->res.output) - 1;
	int			 i;

	/* 1000 lines of 100 bytes: 100,000 bytes. */
	spec_init(f, &s,
	    "i=0\n"
	    "while [ $i -lt 1000 ]; do printf '%099d\\n' $i; "
	    "i=$((i + 1)); done\n");
	run(f, &s);
	assert_true(f->res.success);
	assert_non_null(all = malloc(100001));
	for (i = 0; i < 1000; i++)
		n += (size_t)snprintf(all + n, 101, "%099d\n", i);
	assert_int_equal(n, 100000);
	assert_int_equal(f->res.output_len, tail);
	assert_memory_equal(f->res.output, all + n - tail, tail);
	free(all);
}

static void
test_timeout_kills_group(void **state)
{
	struct fx		*f = *state;
	struct arb_action_spec	 s;
	char			 staging[PATH_MAX];
	pid_t			 child;

	spec_init(f, &s,
	    "sleep 30 &\n"
	    "echo $! > child.pid\n"
	    "echo waiting\n"
	    "sleep 30\n");
	s.timeout_ms = 500;
	staging_of(f, &s, staging, sizeof(staging));
	run(f, &s);
	assert_true(f->res.timed_out);
	assert_true(f->res.signaled);
	assert_int_equal(f->res.term_signal, SIGKILL);
	assert_false(f->res.exited);
	assert_false(f->res.success);
	assert_false(f->res.canceled);
	assert_string_equal(f->res.output, "waiting\n");
	assert_true(f->res.elapsed_ms >= 450 && f->res.elapsed_ms < 5000);
	child = read_pid(staging, "child.pid");
	assert_true(pid_gone(child));
}

/*
 * A script that exits leaving a process that holds its output open: the
 * result comes after the grace period, and the leftover is not killed.
 */
static void
test_leftover_holds_pipe(void **state)
{
	struct fx		*f = *state;
	struct arb_action_spec	 s;
	char			 staging[PATH_MAX];
	pid_t			 child;

	spec_init(f, &s,
	    "sleep 30 &\n"
	    "echo $! > child.pid\n"
	    "echo bye\n");
	staging_of(f, &s, staging, sizeof(staging));
	run(f, &s);
	assert_true(f->res.success);
	assert_string_equal(f->res.output, "bye\n");
	assert_true(f->res.elapsed_ms < 5000);
	child = read_pid(staging, "child.pid");
	assert_int_equal(kill(child, 0), 0);
	assert_int_equal(kill(child, SIGKILL), 0);
	assert_true(pid_gone(child));
}

/*
 * A script that writes into its staged blob (in place and by appending)
 * changes its own copy only: the verified file is untouched.
 */
static void
test_staged_blob_is_a_copy(void **state)
{
	struct fx		*f = *state;
	struct arb_action_spec	 s;
	struct arb_action_blob	 blob;
	char			*text;

	spec_init(f, &s,
	    "printf XXXXX | dd of=b1.txt conv=notrunc 2>/dev/null\n"
	    "echo more >> b1.txt\n"
	    "chmod 0777 b1.txt\n"
	    "cat b1.txt\n");
	blob.name = "b1.txt";
	blob.path = f->blob1;
	s.blobs = &blob;
	s.nblobs = 1;
	run(f, &s);
	assert_true(f->res.success);
	assert_string_equal(f->res.output, "XXXXX blob\nmore\n");
	text = read_file(f->blob1);
	assert_string_equal(text, "hello blob\n");
	free(text);
}

/*
 * A script that puts a process in a session of its own (out of the
 * process group) still loses it on timeout.
 */
static void
setsid_timeout(struct fx *f, const char *cgroup)
{
	struct arb_action_spec	 s;
	char			 staging[PATH_MAX];
	pid_t			 child, grandchild;
	int			 gone1, gone2;

	spec_init(f, &s,
	    "setsid sleep 30 &\n"
	    "echo $! > child.pid\n"
	    "(setsid sh -c 'echo $$ > grand.pid; sleep 30' &)\n"
	    "while [ ! -s grand.pid ]; do sleep 0.05; done\n"
	    "echo waiting\n"
	    "sleep 30\n");
	s.timeout_ms = 800;
	s.cgroup = cgroup;
	staging_of(f, &s, staging, sizeof(staging));
	run(f, &s);
	assert_true(f->res.timed_out);
	assert_string_equal(f->res.output, "waiting\n");
	child = read_pid(staging, "child.pid");
	grandchild = read_pid(staging, "grand.pid");
	gone1 = pid_gone(child);
	gone2 = pid_gone(grandchild);
	if (!gone1)		/* leave nothing behind, then fail */
		(void)kill(child, SIGKILL);
	if (!gone2)
		(void)kill(grandchild, SIGKILL);
	assert_true(gone1);
	assert_true(gone2);
}

static void
test_timeout_kills_setsid(void **state)
{
	setsid_timeout(*state, NULL);
}

static void
test_timeout_kills_setsid_cgroup(void **state)
{
	char	cg[PATH_MAX];

	if (arb_action_cgroup_probe(cg, sizeof(cg)) != 0) {
		skip();
		return;
	}
	setsid_timeout(*state, cg);
}

static void
test_reboot_file(void **state)
{
	struct fx		*f = *state;
	struct arb_action_spec	 s;

	spec_init(f, &s, "touch \"$ARBOR_REBOOT_FILE\"\nexit 0\n");
	run(f, &s);
	assert_true(f->res.exited);
	assert_int_equal(f->res.exit_status, 0);
	assert_true(f->res.reboot);
	assert_true(f->res.success);
}

static void
test_reboot_exit_194(void **state)
{
	struct fx		*f = *state;
	struct arb_action_spec	 s;

	spec_init(f, &s, "exit 194\n");
	run(f, &s);
	assert_true(f->res.exited);
	assert_int_equal(f->res.exit_status, ARB_ACTION_EXIT_REBOOT);
	assert_true(f->res.reboot);
	assert_true(f->res.success);
}

static void
test_name_ok(void **state)
{
	static const char *const bad[] = { "", ".", "..", "a/b", "../x",
		"/abs", "a\nb", "tab\there", "x\x7f", ".arbor-action.sh",
		".arbor-reboot", "\xff", "caf\xc3", "\xc0\xaf", "\xed\xa0\x80",
	};
	static const char *const good[] = { "payload.bin", "a..b", "..x",
		".hidden", "name with space", "caf\xc3\xa9", "-v3",
	};
	char	long_name[NAME_MAX + 2];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(arb_action_blob_name_ok(bad[i]));
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(arb_action_blob_name_ok(good[i]));
	assert_false(arb_action_blob_name_ok(NULL));
	memset(long_name, 'a', sizeof(long_name));
	long_name[NAME_MAX] = '\0';
	assert_true(arb_action_blob_name_ok(long_name));
	long_name[NAME_MAX] = 'a';
	long_name[NAME_MAX + 1] = '\0';
	assert_false(arb_action_blob_name_ok(long_name));
}

/* Refused before anything is staged or spawned; no callback. */
static void
test_bad_names_refused(void **state)
{
	struct fx		*f = *state;
	struct arb_action_spec	 s;
	struct arb_action_blob	 blobs[2];
	struct arb_action	*a = NULL;
	char			 script[PATH_MAX + 32];
	struct stat		 st;

	snprintf(script, sizeof(script), "touch '%s'\n", f->marker);
	spec_init(f, &s, script);
	blobs[0].name = "ok.bin";
	blobs[0].path = f->blob1;
	blobs[1].name = "../evil";
	blobs[1].path = f->blob2;
	s.blobs = blobs;
	s.nblobs = 2;
	assert_int_equal(arb_action_start(&f->loop, &s, done_cb, f, &a),
	    ARB_EINVAL);
	blobs[1].name = "sub/evil";
	assert_int_equal(arb_action_start(&f->loop, &s, done_cb, f, &a),
	    ARB_EINVAL);
	blobs[1].name = "..";
	assert_int_equal(arb_action_start(&f->loop, &s, done_cb, f, &a),
	    ARB_EINVAL);
	blobs[1].name = "ok.bin";		/* two blobs, one name */
	assert_int_equal(arb_action_start(&f->loop, &s, done_cb, f, &a),
	    ARB_EINVAL);
	blobs[1].name = "fine.bin";
	s.policy_id = "../pol";
	assert_int_equal(arb_action_start(&f->loop, &s, done_cb, f, &a),
	    ARB_EINVAL);
	s.policy_id = "pol1";
	s.timeout_ms = 0;
	assert_int_equal(arb_action_start(&f->loop, &s, done_cb, f, &a),
	    ARB_EINVAL);
	s.timeout_ms = 1000;
	s.extra_env = (const char *const[]){ "NOEQUALS", NULL };
	assert_int_equal(arb_action_start(&f->loop, &s, done_cb, f, &a),
	    ARB_EINVAL);
	assert_null(a);

	uv_run(&f->loop, UV_RUN_NOWAIT);
	assert_int_equal(f->called, 0);
	assert_int_equal(stat(f->marker, &st), -1);
	assert_int_equal(arb_action_cleanup(f->root, "../pol", 1),
	    ARB_EINVAL);
	/* A staging root whose parent is missing: refused, no callback. */
	snprintf(script, sizeof(script), "%s/no/such", f->dir);
	s.extra_env = NULL;
	s.staging_root = script;
	assert_int_equal(arb_action_start(&f->loop, &s, done_cb, f, &a),
	    -ENOENT);
	uv_run(&f->loop, UV_RUN_NOWAIT);
	assert_int_equal(f->called, 0);
}

static void
cancel_cb(uv_timer_t *t)
{
	struct fx	*f = t->data;

	arb_action_cancel(f->a);
	arb_action_cancel(f->a);	/* twice is harmless */
}

static void
test_cancel(void **state)
{
	struct fx		*f = *state;
	struct arb_action_spec	 s;
	char			 staging[PATH_MAX];
	pid_t			 child;

	spec_init(f, &s,
	    "sleep 30 &\n"
	    "echo $! > child.pid\n"
	    "echo started\n"
	    "sleep 30\n");
	staging_of(f, &s, staging, sizeof(staging));
	uv_timer_start(&f->later, cancel_cb, 300, 0);
	run(f, &s);
	assert_true(f->res.canceled);
	assert_true(f->res.signaled);
	assert_int_equal(f->res.term_signal, SIGKILL);
	assert_false(f->res.timed_out);
	assert_false(f->res.success);
	assert_string_equal(f->res.output, "started\n");
	assert_true(f->res.elapsed_ms < 5000);
	child = read_pid(staging, "child.pid");
	assert_true(pid_gone(child));
}

static void
go_cb(uv_timer_t *t)
{
	struct fx	*f = t->data;
	struct stat	 st;

	/* Spawned, waiting at its gate: the script has not run. */
	assert_int_equal(stat(f->marker, &st), -1);
	arb_action_go(f->a);
	arb_action_go(f->a);		/* twice is harmless */
}

/* A gated action runs its script only once it is let go. */
static void
test_gated_runs_after_go(void **state)
{
	struct fx		*f = *state;
	struct arb_action_spec	 s;
	char			 script[PATH_MAX + 32];
	struct stat		 st;

	snprintf(script, sizeof(script), "touch '%s'\n", f->marker);
	spec_init(f, &s, script);
	s.gated = 1;
	uv_timer_start(&f->later, go_cb, 300, 0);
	run(f, &s);
	assert_true(f->res.success);
	assert_int_equal(stat(f->marker, &st), 0);
}

/*
 * One never let go (the process that would have said go is gone: here,
 * its write end closes when the action is canceled and freed) runs
 * nothing: its shell exits at the gate.
 */
static void
test_gated_never_go(void **state)
{
	struct fx		*f = *state;
	struct arb_action_spec	 s;
	char			 script[PATH_MAX + 32];
	struct stat		 st;

	snprintf(script, sizeof(script), "touch '%s'\n", f->marker);
	spec_init(f, &s, script);
	s.gated = 1;
	uv_timer_start(&f->later, cancel_cb, 300, 0);
	run(f, &s);
	assert_true(f->res.canceled);
	assert_int_equal(stat(f->marker, &st), -1);
}

static void
test_invalid_utf8(void **state)
{
	struct fx		*f = *state;
	struct arb_action_spec	 s;
	size_t			 i;

	spec_init(f, &s,
	    "printf 'ok \\377\\376 caf\\303\\251 \\355\\240\\200 end\\n'\n"
	    "printf 'nul:'; head -c 1 /dev/zero\n"
	    "printf ':x \\340\\200\\200 \\342\\202'\n");
	run(f, &s);
	assert_true(f->res.success);
	assert_string_equal(f->res.output,
	    "ok ?? caf\xc3\xa9 ??? end\nnul:?:x ??? ??");

	/*
	 * 3000 two-byte characters: the 4095-byte tail starts in the middle
	 * of one, whose stray half is dropped rather than replaced.
	 */
	spec_init(f, &s,
	    "i=0\n"
	    "while [ $i -lt 300 ]; do "
	    "printf '\\303\\251\\303\\251\\303\\251\\303\\251\\303\\251"
	    "\\303\\251\\303\\251\\303\\251\\303\\251\\303\\251'; "
	    "i=$((i + 1)); done\n");
	f->called = 0;
	run(f, &s);
	assert_true(f->res.success);
	assert_int_equal(f->res.output_len, 4094);
	for (i = 0; i < f->res.output_len; i += 2)
		assert_memory_equal(f->res.output + i, "\xc3\xa9", 2);
}

/* A blob on another file system is copied, not linked. */
static void
test_copy_fallback(void **state)
{
	struct fx		*f = *state;
	struct arb_action_spec	 s;
	struct arb_action_blob	 blob;
	char			 other[] = "/dev/shm/arbor-test-action-XXXXXX";
	char			 path[PATH_MAX + 32], staging[PATH_MAX];
	struct stat		 st, ost;
	int			 fd;

	if ((fd = mkstemp(other)) == -1) {
		skip();
		return;
	}
	assert_int_equal(write(fd, "elsewhere\n", 10), 10);
	close(fd);
	assert_int_equal(stat(other, &ost), 0);
	assert_int_equal(stat(f->dir, &st), 0);
	if (st.st_dev == ost.st_dev) {
		unlink(other);
		skip();
		return;
	}
	spec_init(f, &s, "cat other.bin\n");
	blob.name = "other.bin";
	blob.path = other;
	s.blobs = &blob;
	s.nblobs = 1;
	staging_of(f, &s, staging, sizeof(staging));
	run(f, &s);
	unlink(other);
	assert_true(f->res.success);
	assert_string_equal(f->res.output, "elsewhere\n");
	snprintf(path, sizeof(path), "%s/other.bin", staging);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_dev != ost.st_dev);
	assert_int_equal(st.st_size, 10);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_success, setup, teardown),
		cmocka_unit_test_setup_teardown(test_env_override, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_exit_status, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_output_tail, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_timeout_kills_group,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_leftover_holds_pipe,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_staged_blob_is_a_copy,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_kills_setsid,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_kills_setsid_cgroup,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_reboot_file, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reboot_exit_194, setup,
		    teardown),
		cmocka_unit_test(test_name_ok),
		cmocka_unit_test_setup_teardown(test_bad_names_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gated_runs_after_go, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_gated_never_go, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_invalid_utf8, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_copy_fallback, setup,
		    teardown),
	};

	log_init(1, LOG_USER);
	log_procinit("test_action");
	/* Orphans of a killed script come to us, to be reaped and checked. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		perror("prctl");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
