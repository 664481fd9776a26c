/*
 * Unit tests for lib/io.c: reads that stop at the end of the file, full
 * transfers at an offset, offsets that do not fit in off_t, and a read
 * that a signal interrupts (the handler itself supplies the data, so the
 * read can only succeed by being restarted).
 */
#include <sys/time.h>

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "arbor/io.h"

static int	io_pipe[2];
static volatile sig_atomic_t	io_signals;

static void
test_read_full_eof(void **state)
{
	char	buf[16];
	size_t	n = 99;

	(void)state;
	assert_int_equal(pipe(io_pipe), 0);
	assert_int_equal(arb_io_write_full(io_pipe[1], "hello", 5), 0);
	close(io_pipe[1]);
	assert_int_equal(arb_io_read_full(io_pipe[0], buf, sizeof(buf), &n),
	    0);
	assert_int_equal(n, 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(arb_io_read(io_pipe[0], buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 0);
	close(io_pipe[0]);
	/* A failure leaves the count alone and errno set. */
	n = 99;
	assert_int_equal(arb_io_read(io_pipe[0], buf, sizeof(buf), &n),
	    -EBADF);
	assert_int_equal(errno, EBADF);
	assert_int_equal(n, 99);
}

static void
test_positioned(void **state)
{
	char	path[] = "/tmp/test_io.XXXXXX", buf[8];
	size_t	n;
	int	fd;

	(void)state;
	assert_true((fd = mkstemp(path)) >= 0);
	unlink(path);
	assert_int_equal(arb_io_pwrite_full(fd, "abcdef", 6, 10), 0);
	assert_int_equal(arb_io_pread_full(fd, buf, 4, 12, &n), 0);
	assert_int_equal(n, 4);
	assert_memory_equal(buf, "cdef", 4);
	assert_int_equal(arb_io_pread_full(fd, buf, sizeof(buf), 14, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(arb_io_pread_full(fd, buf, 0, UINT64_MAX, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(arb_io_pread_full(fd, buf, 1, INT64_MAX, &n),
	    -EINVAL);
	assert_int_equal(arb_io_pwrite_full(fd, "x", 1, (uint64_t)INT64_MAX),
	    -EINVAL);
	/* The file offset was never used. */
	assert_int_equal(arb_io_read(fd, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, sizeof(buf));
	close(fd);
}

static void
io_alarm(int sig)
{
	int	e = errno;

	(void)sig;
	io_signals++;
	if (write(io_pipe[1], "z", 1) != 1)
		io_signals += 100;	/* fails the test */
	errno = e;
}

static void
test_interrupted(void **state)
{
	struct sigaction	sa, old;
	struct itimerval	it;
	char			c = 0;
	size_t			n = 0;

	(void)state;
	assert_int_equal(pipe(io_pipe), 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = io_alarm;	/* no SA_RESTART: read gets EINTR */
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
	memset(&it, 0, sizeof(it));
	it.it_value.tv_usec = 20000;
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	assert_int_equal(arb_io_read_full(io_pipe[0], &c, 1, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(c, 'z');
	assert_int_equal(io_signals, 1);
	assert_int_equal(sigaction(SIGALRM, &old, NULL), 0);
	close(io_pipe[0]);
	close(io_pipe[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_full_eof),
		cmocka_unit_test(test_positioned),
		cmocka_unit_test(test_interrupted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
