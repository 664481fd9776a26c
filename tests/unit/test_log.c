/*
 * Unit tests for lib/log.c: the stderr line format, verbosity, errno text,
 * truncation of long lines, fatal's exit status, and the choice between
 * stderr and syslog (-d, a terminal, the systemd journal).
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <regex.h>
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

#include "arbor/log.h"

static int	saved_stderr = -1;
static char	cap_path[64];
static char	cap_buf[65536];

static void
capture_start(void)
{
	int	fd;

	strcpy(cap_path, "/tmp/arbor-test-log.XXXXXX");
	fd = mkstemp(cap_path);
	assert_true(fd >= 0);
	saved_stderr = dup(STDERR_FILENO);
	assert_true(saved_stderr >= 0);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	close(fd);
}

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
	return cap_buf;
}

static void
assert_matches(const char *s, const char *re)
{
	regex_t	r;

	assert_int_equal(regcomp(&r, re, REG_EXTENDED | REG_NEWLINE), 0);
	if (regexec(&r, s, 0, NULL, 0) != 0)
		fail_msg("\"%s\" does not match /%s/", s, re);
	regfree(&r);
}

#define TS \
	"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "

static void
test_format(void **state)
{
	const char	*out;

	(void)state;
	log_init(1, LOG_USER);
	log_procinit("relay");
	capture_start();
	log_info("policy %s v%u: %s", "p1", 3u, "cached");
	log_warnx("plain");
	errno = ENOENT;
	log_warn("%s", "/etc/arbor.conf");
	log_debug("hidden");
	log_setverbose(1);
	log_debug("shown %d", 7);
	log_setverbose(0);
	log_procinit(NULL);
	log_info("no prefix");
	out = capture_end();

	assert_matches(out, TS "relay: policy p1 v3: cached$");
	assert_matches(out, TS "relay: plain$");
	assert_matches(out,
	    TS "relay: /etc/arbor.conf: No such file or directory$");
	assert_matches(out, TS "relay: shown 7$");
	assert_matches(out, TS "no prefix$");
	assert_null(strstr(out, "hidden"));

	/* debug > 1 turns on debug lines. */
	log_init(2, LOG_USER);
	capture_start();
	log_debug("now shown");
	out = capture_end();
	assert_matches(out, TS "now shown$");
	log_init(1, LOG_USER);
}

static void
test_errno_kept(void **state)
{
	(void)state;
	capture_start();
	errno = EACCES;
	log_info("x");
	assert_int_equal(errno, EACCES);
	log_warn("y");
	assert_int_equal(errno, EACCES);
	capture_end();
}

static void
test_long_line(void **state)
{
	char		*big;
	const char	*out;
	size_t		 len;

	(void)state;
	big = malloc(20000);
	assert_non_null(big);
	memset(big, 'x', 19999);
	big[19999] = '\0';
	capture_start();
	log_warnx("%s", big);
	log_warnx("after");
	out = capture_end();
	free(big);
	/* Cut short, but still one line, and the next line is whole. */
	len = strcspn(out, "\n");
	assert_true(len > 1000 && len < 19999);
	assert_matches(out + len + 1, TS "after\n$");
}

static void
test_fatal(void **state)
{
	pid_t	pid;
	int	status;

	(void)state;
	if ((pid = fork()) == 0) {
		close(STDERR_FILENO);
		open("/dev/null", O_WRONLY);
		errno = EIO;
		fatal("cannot start");
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);

	if ((pid = fork()) == 0) {
		close(STDERR_FILENO);
		open("/dev/null", O_WRONLY);
		fatalx("cannot start");
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
}

static void
test_syslog(void **state)
{
	(void)state;
	/* Nothing to check but that it does not crash without a daemon. */
	log_init(0, LOG_DAEMON);
	log_procinit("test_log");
	log_debug("not sent");
	log_info("unit test line to syslog");
	log_init(1, LOG_USER);
}

/* JOURNAL_STREAM naming fd's device and inode, plus a delta on the inode. */
static void
set_journal(int fd, long long delta)
{
	struct stat	st;
	char		v[64];

	assert_int_equal(fstat(fd, &st), 0);
	snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino + (unsigned long long)delta);
	assert_int_equal(setenv("JOURNAL_STREAM", v, 1), 0);
}

static void
test_want_stderr(void **state)
{
	static const char *bad[] = {
		"", "1", ":", "1:", ":1", "a:1", "1:b", "1:2x", "-1:2",
		"1:2:3", " 1:2", "99999999999999999999999:1",
	};
	char	path[] = "/tmp/arbor-test-want.XXXXXX";
	size_t	i;
	int	fd, nul, p[2], pty;

	(void)state;
	unsetenv("JOURNAL_STREAM");
	assert_true((fd = mkstemp(path)) >= 0);
	unlink(path);
	assert_true((nul = open("/dev/null", O_WRONLY)) >= 0);
	assert_int_equal(pipe(p), 0);

	/* -d wins whatever stderr is. */
	assert_int_equal(log_want_stderr(1, fd), 1);
	assert_int_equal(log_want_stderr(1, -1), 1);
	/* A file, /dev/null, a pipe, a closed descriptor: syslog. */
	assert_int_equal(log_want_stderr(0, fd), 0);
	assert_int_equal(log_want_stderr(0, nul), 0);
	assert_int_equal(log_want_stderr(0, p[1]), 0);
	errno = EACCES;
	assert_int_equal(log_want_stderr(0, -1), 0);
	assert_int_equal(errno, EACCES);

	/* The journal: only the stream JOURNAL_STREAM names. */
	set_journal(fd, 0);
	assert_int_equal(log_want_stderr(0, fd), 1);
	assert_int_equal(log_want_stderr(0, p[1]), 0);
	assert_int_equal(log_want_stderr(0, -1), 0);
	set_journal(fd, 1);
	assert_int_equal(log_want_stderr(0, fd), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(setenv("JOURNAL_STREAM", bad[i], 1), 0);
		if (log_want_stderr(0, fd) != 0)
			fail_msg("JOURNAL_STREAM=\"%s\" taken", bad[i]);
	}
	unsetenv("JOURNAL_STREAM");

	/* A terminal, where the system has pseudo-terminals. */
	if ((pty = posix_openpt(O_RDWR | O_NOCTTY)) >= 0) {
		assert_int_equal(log_want_stderr(0, pty), 1);
		close(pty);
	}
	close(fd);
	close(nul);
	close(p[0]);
	close(p[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_errno_kept),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_fatal),
		cmocka_unit_test(test_syslog),
		cmocka_unit_test(test_want_stderr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
