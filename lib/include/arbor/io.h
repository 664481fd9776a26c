/*
 * Reading and writing file descriptors without writing the retry loop
 * again at every caller: each call restarts a system call that a signal
 * interrupted (EINTR), and the _full calls go on until all of len bytes
 * are transferred (or, reading, the end of the file).
 *
 * Every call returns 0 or -errno, and leaves errno as the failing system
 * call set it, so that a caller may log_warn() straight after.  Counts
 * are written only on success.
 */
#ifndef ARBOR_IO_H
#define ARBOR_IO_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

/*
 * One read(2) of at most len bytes from fd: *np gets the count, 0 at the
 * end of the file.
 */
int	arb_io_read(int fd, void *buf, size_t len, size_t *np);

/*
 * Read from fd until len bytes or the end of the file: *np gets the
 * count, less than len only at the end of the file.
 */
int	arb_io_read_full(int fd, void *buf, size_t len, size_t *np);

/*
 * arb_io_read_full at offset off (pread(2)); the file offset is unused.
 * -EINVAL when off + len does not fit in off_t.
 */
int	arb_io_pread_full(int fd, void *buf, size_t len, uint64_t off,
	    size_t *np);

/*
 * One write(2) of at most len bytes to fd: *np gets the count, which may
 * be short (a pipe, a full disk).
 */
int	arb_io_write(int fd, const void *buf, size_t len, size_t *np);

/* Write all of len bytes to fd; a write that makes no progress is -EIO. */
int	arb_io_write_full(int fd, const void *buf, size_t len);

/*
 * arb_io_write_full at offset off (pwrite(2)); the file offset is unused.
 * -EINVAL when off + len does not fit in off_t.
 */
int	arb_io_pwrite_full(int fd, const void *buf, size_t len, uint64_t off);

/*
 * mkdir -p: make path with mode, and the directories above it that are
 * missing with 0755 (both less the umask).  0 when it is made or was
 * there; -errno (errno set too, for log_warn) for the first that fails.
 */
int	arb_io_mkdirs(const char *path, mode_t mode);

/*
 * Read the whole file at path, at most max bytes: 0 with *bufp (malloc'd,
 * one NUL byte past the end; free it) and *lenp, ARB_ETOOBIG for a
 * larger file, or -errno.
 */
int	arb_io_read_file(const char *path, size_t max, uint8_t **bufp,
	    size_t *lenp);
/*
 * Write len bytes to path atomically: to path.tmp, fsynced, renamed over
 * path.  0 or -errno.
 */
int	arb_io_write_file(const char *path, const void *buf, size_t len,
	    mode_t mode);

#endif
