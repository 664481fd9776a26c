/*
 * Unit tests for lib/blob.c: writing, resuming, rejecting endless and
 * wrong content, reading in chunks, checking, importing and usage, each in
 * a blob directory under mkdtemp().
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

#include "arbor/blob.h"
#include "arbor/error.h"
#include "arbor/log.h"
#include "arbor/sig.h"

struct fixture {
	char			 dir[64];
	char			 blobs[128];
	struct arb_blobdir	*d;
	uint8_t			*data;
	size_t			 len;
	uint8_t			 sha[ARB_SHA256_LEN];
};

/* Content that is not periodic, so that misplaced bytes show. */
static void
fill(uint8_t *p, size_t len, uint32_t seed)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

static int
setup(void **state)
{
	struct fixture	*f;

	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	strcpy(f->dir, "/tmp/arbor-test-blob.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	/* A path with components to create. */
	snprintf(f->blobs, sizeof(f->blobs), "%s/var/blobs", f->dir);
	assert_int_equal(arb_blobdir_open(f->blobs, &f->d), 0);
	/* A bit over two chunks, so that writes and reads cross chunks. */
	f->len = 2 * ARB_CHUNK_SIZE + 12345;
	f->data = malloc(f->len);
	assert_non_null(f->data);
	fill(f->data, f->len, 1);
	assert_int_equal(arb_sha256(f->data, f->len, f->sha), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;
	char		 cmd[PATH_MAX + 16];

	arb_blobdir_close(f->d);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f->data);
	free(f);
	return 0;
}

static void
part_path(const struct fixture *f, const uint8_t *sha, char *out,
    size_t outlen)
{
	char	hex[ARB_SHA256_HEX];

	arb_hex(sha, ARB_SHA256_LEN, hex);
	snprintf(out, outlen, "%s/tmp/%s.part", f->blobs, hex);
}

static int
exists(const char *path)
{
	struct stat	st;

	return stat(path, &st) == 0;
}

/* Write all of f->data through a writer, in pieces of step bytes. */
static void
write_all(struct fixture *f, size_t step)
{
	struct arb_blob_writer	*w;
	size_t			 off, n;

	assert_int_equal(arb_blob_writer_open(f->d, f->sha, f->len, &w), 0);
	assert_int_equal(arb_blob_writer_offset(w), 0);
	for (off = 0; off < f->len; off += n) {
		n = f->len - off < step ? f->len - off : step;
		assert_int_equal(arb_blob_writer_write(w, f->data + off, n),
		    0);
	}
	assert_int_equal(arb_blob_writer_offset(w), f->len);
	assert_int_equal(arb_blob_writer_finish(w), 0);
}

static void
test_write_read(void **state)
{
	struct fixture		*f = *state;
	struct arb_blob_writer	*w;
	struct stat		 st;
	char			 path[PATH_MAX], hex[ARB_SHA256_HEX];
	char			 want[PATH_MAX];
	uint8_t			*buf;
	uint64_t		 size = 0, off;
	size_t			 n;

	assert_int_equal(arb_blob_stat(f->d, f->sha, &size), ARB_ENOTFOUND);
	assert_int_equal(arb_blob_read(f->d, f->sha, 0, f->data, 1, &n),
	    ARB_ENOTFOUND);
	assert_int_equal(arb_blob_check(f->d, f->sha), ARB_ENOTFOUND);

	write_all(f, 100000);

	/* DIR/sha256/ab/<hex>, and no .part left behind. */
	arb_hex(f->sha, sizeof(f->sha), hex);
	snprintf(want, sizeof(want), "%s/sha256/%.2s/%s", f->blobs, hex, hex);
	arb_blob_path(f->d, f->sha, path, sizeof(path));
	assert_string_equal(path, want);
	assert_int_equal(stat(path, &st), 0);
	part_path(f, f->sha, path, sizeof(path));
	assert_false(exists(path));

	assert_int_equal(arb_blob_stat(f->d, f->sha, &size), 0);
	assert_true(size == f->len);
	assert_int_equal(arb_blob_stat(f->d, f->sha, NULL), 0);
	assert_int_equal(arb_blob_check(f->d, f->sha), 0);

	/* Read back in chunks; the last one is short, then 0 at the end. */
	buf = malloc(ARB_CHUNK_SIZE);
	assert_non_null(buf);
	for (off = 0;; off += n) {
		assert_int_equal(arb_blob_read(f->d, f->sha, off, buf,
		    ARB_CHUNK_SIZE, &n), 0);
		if (n == 0)
			break;
		assert_true(off + n <= f->len);
		if (off + ARB_CHUNK_SIZE <= f->len)
			assert_int_equal(n, ARB_CHUNK_SIZE);
		else
			assert_int_equal(n, f->len - off);
		assert_memory_equal(buf, f->data + off, n);
	}
	assert_true(off == f->len);

	/* A read that straddles the end, and reads past it. */
	assert_int_equal(arb_blob_read(f->d, f->sha, f->len - 10, buf, 100,
	    &n), 0);
	assert_int_equal(n, 10);
	assert_memory_equal(buf, f->data + f->len - 10, 10);
	n = 99;
	assert_int_equal(arb_blob_read(f->d, f->sha, f->len + 1, buf, 100,
	    &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(arb_blob_read(f->d, f->sha, UINT64_MAX, buf, 100,
	    &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(arb_blob_read(f->d, f->sha, 5, buf, 0, &n), 0);
	assert_int_equal(n, 0);
	free(buf);

	/* Already complete. */
	w = NULL;
	assert_int_equal(arb_blob_writer_open(f->d, f->sha, f->len, &w),
	    ARB_EEXIST);
	assert_null(w);

	/* Removed: gone, and a second remove finds nothing. */
	assert_int_equal(arb_blob_remove(f->d, f->sha), 0);
	assert_int_equal(arb_blob_stat(f->d, f->sha, &size), ARB_ENOTFOUND);
	assert_int_equal(arb_blob_remove(f->d, f->sha), ARB_ENOTFOUND);
}

static void
test_empty_blob(void **state)
{
	struct fixture		*f = *state;
	struct arb_blob_writer	*w;
	uint8_t			 sha[ARB_SHA256_LEN], buf[4];
	uint64_t		 size = 99;
	size_t			 n = 99;

	assert_int_equal(arb_sha256("", 0, sha), 0);
	assert_int_equal(arb_blob_writer_open(f->d, sha, 0, &w), 0);
	assert_int_equal(arb_blob_writer_write(w, "", 0), 0);
	assert_int_equal(arb_blob_writer_finish(w), 0);
	assert_int_equal(arb_blob_stat(f->d, sha, &size), 0);
	assert_true(size == 0);
	assert_int_equal(arb_blob_read(f->d, sha, 0, buf, sizeof(buf), &n),
	    0);
	assert_int_equal(n, 0);
	assert_int_equal(arb_blob_check(f->d, sha), 0);
}

static void
test_resume(void **state)
{
	struct fixture		*f = *state;
	struct arb_blob_writer	*w, *w2;
	size_t			 half = f->len / 2 + 7;

	assert_int_equal(arb_blob_writer_open(f->d, f->sha, f->len, &w), 0);
	assert_int_equal(arb_blob_writer_write(w, f->data, 1000), 0);
	assert_int_equal(arb_blob_writer_write(w, f->data + 1000,
	    half - 1000), 0);

	/* A second writer of the same blob is told to come back later. */
	w2 = NULL;
	assert_int_equal(arb_blob_writer_open(f->d, f->sha, f->len, &w2),
	    ARB_EAGAIN);
	assert_null(w2);

	arb_blob_writer_close(w);

	/* Reopened: the .part is re-hashed and writing goes on at its end. */
	assert_int_equal(arb_blob_writer_open(f->d, f->sha, f->len, &w), 0);
	assert_int_equal(arb_blob_writer_offset(w), half);
	assert_int_equal(arb_blob_writer_write(w, f->data + half,
	    f->len - half), 0);
	assert_int_equal(arb_blob_writer_finish(w), 0);
	assert_int_equal(arb_blob_check(f->d, f->sha), 0);
}

static void
test_short_finish(void **state)
{
	struct fixture		*f = *state;
	struct arb_blob_writer	*w;
	char			 part[PATH_MAX];

	part_path(f, f->sha, part, sizeof(part));
	assert_int_equal(arb_blob_writer_open(f->d, f->sha, f->len, &w), 0);
	assert_int_equal(arb_blob_writer_write(w, f->data, 4096), 0);
	assert_int_equal(arb_blob_writer_finish(w), ARB_EAGAIN);
	assert_true(exists(part));
	assert_int_equal(arb_blob_stat(f->d, f->sha, NULL), ARB_ENOTFOUND);

	/* The kept .part resumes; finishing it completes the blob. */
	assert_int_equal(arb_blob_writer_open(f->d, f->sha, f->len, &w), 0);
	assert_int_equal(arb_blob_writer_offset(w), 4096);
	assert_int_equal(arb_blob_writer_write(w, f->data + 4096,
	    f->len - 4096), 0);
	assert_int_equal(arb_blob_writer_finish(w), 0);
	assert_false(exists(part));

	/* abort removes the .part. */
	f->data[0] ^= 1;
	assert_int_equal(arb_sha256(f->data, f->len, f->sha), 0);
	part_path(f, f->sha, part, sizeof(part));
	assert_int_equal(arb_blob_writer_open(f->d, f->sha, f->len, &w), 0);
	assert_int_equal(arb_blob_writer_write(w, f->data, 10), 0);
	arb_blob_writer_abort(w);
	assert_false(exists(part));
}

static void
test_too_long(void **state)
{
	struct fixture		*f = *state;
	struct arb_blob_writer	*w;
	char			 part[PATH_MAX];
	uint8_t			 sha[ARB_SHA256_LEN];

	part_path(f, f->sha, part, sizeof(part));
	/* Declared 1000 bytes: 999 go, then 2 more are one too many. */
	assert_int_equal(arb_blob_writer_open(f->d, f->sha, 1000, &w), 0);
	assert_int_equal(arb_blob_writer_write(w, f->data, 999), 0);
	assert_true(exists(part));
	assert_int_equal(arb_blob_writer_write(w, f->data + 999, 2),
	    ARB_ETOOLONG);
	assert_false(exists(part));
	assert_int_equal(arb_blob_writer_write(w, f->data, 0), ARB_ETOOLONG);
	assert_int_equal(arb_blob_writer_finish(w), ARB_ETOOLONG);
	assert_int_equal(arb_blob_stat(f->d, f->sha, NULL), ARB_ENOTFOUND);

	/* One write bigger than the whole declared size. */
	assert_int_equal(arb_blob_writer_open(f->d, f->sha, 10, &w), 0);
	assert_int_equal(arb_blob_writer_write(w, f->data, 11), ARB_ETOOLONG);
	arb_blob_writer_abort(w);
	assert_false(exists(part));

	/* A .part longer than the declared size is discarded on open. */
	assert_int_equal(arb_blob_writer_open(f->d, f->sha, 100, &w), 0);
	assert_int_equal(arb_blob_writer_write(w, f->data, 100), 0);
	arb_blob_writer_close(w);
	assert_int_equal(arb_blob_writer_open(f->d, f->sha, 50, &w), 0);
	assert_int_equal(arb_blob_writer_offset(w), 0);
	arb_blob_writer_close(w);
	assert_int_equal(arb_blob_writer_open(f->d, f->sha, 100, &w), 0);
	assert_int_equal(arb_blob_writer_offset(w), 0);
	arb_blob_writer_abort(w);

	/* The right content of the right size still goes through after. */
	assert_int_equal(arb_sha256(f->data, 1000, sha), 0);
	assert_int_equal(arb_blob_writer_open(f->d, sha, 1000, &w), 0);
	assert_int_equal(arb_blob_writer_write(w, f->data, 1000), 0);
	assert_int_equal(arb_blob_writer_finish(w), 0);
}

static void
test_bad_hash(void **state)
{
	struct fixture		*f = *state;
	struct arb_blob_writer	*w;
	char			 part[PATH_MAX];

	part_path(f, f->sha, part, sizeof(part));
	f->data[f->len / 3] ^= 0x20;	/* not what sha names */
	assert_int_equal(arb_blob_writer_open(f->d, f->sha, f->len, &w), 0);
	assert_int_equal(arb_blob_writer_write(w, f->data, f->len), 0);
	assert_int_equal(arb_blob_writer_finish(w), ARB_EBADHASH);
	assert_false(exists(part));
	assert_int_equal(arb_blob_stat(f->d, f->sha, NULL), ARB_ENOTFOUND);
	f->data[f->len / 3] ^= 0x20;

	/* A corrupt .part left over is caught at the end, then replaced. */
	assert_int_equal(arb_blob_writer_open(f->d, f->sha, f->len, &w), 0);
	assert_int_equal(arb_blob_writer_write(w, f->data, 100), 0);
	arb_blob_writer_close(w);
	{
		int	fd = open(part, O_WRONLY);

		assert_true(fd >= 0);
		assert_int_equal(pwrite(fd, "X", 1, 50), 1);
		close(fd);
	}
	assert_int_equal(arb_blob_writer_open(f->d, f->sha, f->len, &w), 0);
	assert_int_equal(arb_blob_writer_offset(w), 100);
	assert_int_equal(arb_blob_writer_write(w, f->data + 100,
	    f->len - 100), 0);
	assert_int_equal(arb_blob_writer_finish(w), ARB_EBADHASH);
	write_all(f, f->len);
	assert_int_equal(arb_blob_check(f->d, f->sha), 0);
}

static void
test_check_corrupt(void **state)
{
	struct fixture	*f = *state;
	char		 path[PATH_MAX];
	uint8_t		 c;
	int		 fd;

	write_all(f, ARB_CHUNK_SIZE);
	assert_int_equal(arb_blob_check(f->d, f->sha), 0);

	/* Flip one bit in the middle of the stored blob. */
	arb_blob_path(f->d, f->sha, path, sizeof(path));
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, (off_t)(f->len / 2)), 1);
	c ^= 0x01;
	assert_int_equal(pwrite(fd, &c, 1, (off_t)(f->len / 2)), 1);
	close(fd);
	assert_int_equal(arb_blob_check(f->d, f->sha), ARB_ECORRUPT);

	/* Truncated is corrupt too. */
	assert_int_equal(truncate(path, 100), 0);
	assert_int_equal(arb_blob_check(f->d, f->sha), ARB_ECORRUPT);
}

static void
test_import(void **state)
{
	struct fixture	*f = *state;
	struct arb_blob_writer *w;
	char		 src[PATH_MAX], part[PATH_MAX];
	uint8_t		 other[ARB_SHA256_LEN], buf[64];
	uint64_t	 size = 0;
	size_t		 n;
	int		 fd;

	snprintf(src, sizeof(src), "%s/payload.bin", f->dir);
	fd = open(src, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, f->data, f->len), (ssize_t)f->len);
	close(fd);

	/* The wrong name: refused, nothing left behind. */
	memcpy(other, f->sha, sizeof(other));
	other[0] ^= 0xff;
	part_path(f, other, part, sizeof(part));
	assert_int_equal(arb_blob_import(f->d, src, other), ARB_EBADHASH);
	assert_int_equal(arb_blob_stat(f->d, other, NULL), ARB_ENOTFOUND);
	assert_false(exists(part));

	/* A stale .part of garbage does not get in the way. */
	assert_int_equal(arb_blob_writer_open(f->d, f->sha, f->len, &w), 0);
	assert_int_equal(arb_blob_writer_write(w, "garbage", 7), 0);
	arb_blob_writer_close(w);

	assert_int_equal(arb_blob_import(f->d, src, f->sha), 0);
	assert_int_equal(arb_blob_stat(f->d, f->sha, &size), 0);
	assert_true(size == f->len);
	assert_int_equal(arb_blob_check(f->d, f->sha), 0);
	assert_int_equal(arb_blob_read(f->d, f->sha, 1000, buf, sizeof(buf),
	    &n), 0);
	assert_int_equal(n, sizeof(buf));
	assert_memory_equal(buf, f->data + 1000, sizeof(buf));
	assert_int_equal(arb_blob_import(f->d, src, f->sha), ARB_EEXIST);

	snprintf(src, sizeof(src), "%s/missing.bin", f->dir);
	assert_int_equal(arb_blob_import(f->d, src, other), -ENOENT);
}

static void
test_usage(void **state)
{
	struct fixture		*f = *state;
	struct arb_blob_writer	*w;
	struct arb_blobdir	*d2;
	uint8_t			 sha[ARB_SHA256_LEN];
	uint64_t		 bytes = 99, want = 0;
	size_t			 i, len;

	assert_int_equal(arb_blobdir_usage(f->d, &bytes), 0);
	assert_true(bytes == 0);

	for (i = 0; i < 20; i++) {
		len = 1000 + i * 333;
		fill(f->data, len, (uint32_t)i + 100);
		assert_int_equal(arb_sha256(f->data, len, sha), 0);
		assert_int_equal(arb_blob_writer_open(f->d, sha, len, &w), 0);
		assert_int_equal(arb_blob_writer_write(w, f->data, len), 0);
		assert_int_equal(arb_blob_writer_finish(w), 0);
		want += len;
	}
	/* A .part does not count. */
	assert_int_equal(arb_blob_writer_open(f->d, f->sha, f->len, &w), 0);
	assert_int_equal(arb_blob_writer_write(w, f->data, 5000), 0);
	arb_blob_writer_close(w);

	assert_int_equal(arb_blobdir_usage(f->d, &bytes), 0);
	assert_true(bytes == want);

	/* Reopening the directory finds the same. */
	assert_int_equal(arb_blobdir_open(f->blobs, &d2), 0);
	assert_int_equal(arb_blobdir_usage(d2, &bytes), 0);
	assert_true(bytes == want);
	assert_int_equal(arb_blob_remove(d2, sha), 0);
	assert_int_equal(arb_blobdir_usage(d2, &bytes), 0);
	assert_true(bytes == want - len);
	arb_blobdir_close(d2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_read, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_empty_blob, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_finish, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_too_long, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_hash, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_check_corrupt, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_import, setup, teardown),
		cmocka_unit_test_setup_teardown(test_usage, setup, teardown),
	};

	log_init(1, LOG_USER);
	log_procinit("test_blob");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
