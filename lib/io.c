/*
 * The small system-call loops every program needs, written once: reads
 * and writes restarted after signals (an offset of -1 below means "the
 * file offset": read and write versus pread and pwrite, so that one loop
 * serves both), and mkdir -p.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include "arbor/error.h"

#include "arbor/io.h"

/* One transfer, restarted while interrupted; off < 0: the file offset. */
static ssize_t
io_read1(int fd, void *buf, size_t len, off_t off)
{
	ssize_t	n;

	do
		n = off < 0 ? read(fd, buf, len) : pread(fd, buf, len, off);
	while (n == -1 && errno == EINTR);
	return n;
}

static ssize_t
io_write1(int fd, const void *buf, size_t len, off_t off)
{
	ssize_t	n;

	do
		n = off < 0 ? write(fd, buf, len) : pwrite(fd, buf, len, off);
	while (n == -1 && errno == EINTR);
	return n;
}

static int
io_read_full(int fd, void *buf, size_t len, off_t off, size_t *np)
{
	size_t	done = 0;
	ssize_t	n;

	while (done < len) {
		n = io_read1(fd, (uint8_t *)buf + done, len - done,
		    off < 0 ? -1 : off + (off_t)done);
		if (n == -1)
			return -errno;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	*np = done;
	return 0;
}

static int
io_write_full(int fd, const void *buf, size_t len, off_t off)
{
	size_t	done = 0;
	ssize_t	n;

	while (done < len) {
		n = io_write1(fd, (const uint8_t *)buf + done, len - done,
		    off < 0 ? -1 : off + (off_t)done);
		if (n == -1)
			return -errno;
		if (n == 0) {
			errno = EIO;
			return -EIO;
		}
		done += (size_t)n;
	}
	return 0;
}

/* True if off + len fits in off_t (len 0 always does). */
static int
io_range_ok(size_t len, uint64_t off)
{
	return len == 0 || (off <= (uint64_t)INT64_MAX &&
	    len <= (uint64_t)INT64_MAX - off);
}

int
arb_io_read(int fd, void *buf, size_t len, size_t *np)
{
	ssize_t	n;

	if ((n = io_read1(fd, buf, len, -1)) == -1)
		return -errno;
	*np = (size_t)n;
	return 0;
}

int
arb_io_read_full(int fd, void *buf, size_t len, size_t *np)
{
	return io_read_full(fd, buf, len, -1, np);
}

int
arb_io_pread_full(int fd, void *buf, size_t len, uint64_t off, size_t *np)
{
	if (!io_range_ok(len, off)) {
		errno = EINVAL;
		return -EINVAL;
	}
	return io_read_full(fd, buf, len, (off_t)off, np);
}

int
arb_io_write(int fd, const void *buf, size_t len, size_t *np)
{
	ssize_t	n;

	if ((n = io_write1(fd, buf, len, -1)) == -1)
		return -errno;
	*np = (size_t)n;
	return 0;
}

int
arb_io_write_full(int fd, const void *buf, size_t len)
{
	return io_write_full(fd, buf, len, -1);
}

int
arb_io_pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	if (!io_range_ok(len, off)) {
		errno = EINVAL;
		return -EINVAL;
	}
	return io_write_full(fd, buf, len, (off_t)off);
}

int
arb_io_mkdirs(const char *path, mode_t mode)
{
	char	buf[PATH_MAX], *p;
	int	e;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -ENAMETOOLONG;
	}
	for (p = buf + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(buf, 0755) == -1 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) == -1 && errno != EEXIST) {
		e = errno;
		return -e;
	}
	return 0;
}

int
arb_io_read_file(const char *path, size_t max, uint8_t **bufp, size_t *lenp)
{
	struct stat	 st;
	uint8_t		*buf;
	size_t		 n;
	int		 fd, rv;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -errno;
	if (fstat(fd, &st) == -1) {
		rv = -errno;
		close(fd);
		return rv;
	}
	if (st.st_size < 0 || (uint64_t)st.st_size > max) {
		close(fd);
		return ARB_ETOOBIG;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return -ENOMEM;
	}
	rv = arb_io_read_full(fd, buf, (size_t)st.st_size, &n);
	close(fd);
	if (rv != 0) {
		free(buf);
		return rv;
	}
	buf[n] = '\0';
	*bufp = buf;
	*lenp = n;
	return 0;
}

int
arb_io_write_file(const char *path, const void *buf, size_t len, mode_t mode)
{
	char	tmp[PATH_MAX];
	int	fd, rv;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    mode)) == -1)
		return -errno;
	if ((rv = arb_io_write_full(fd, buf, len)) != 0 ||
	    (fsync(fd) == -1 && (rv = -errno) != 0)) {
		close(fd);
		unlink(tmp);
		return rv;
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		rv = -errno;
		unlink(tmp);
		return rv;
	}
	return 0;
}
