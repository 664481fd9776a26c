/*
 * The content-addressed blob directory every node keeps:
 *
 *	DIR/sha256/ab/ab01...ff		complete blobs, named by their SHA-256
 *	DIR/tmp/ab01...ff.part		a blob being written
 *
 * A writer appends to the .part file and hashes every byte as it goes, so
 * the hash is known the moment the last byte arrives.  Only a blob of
 * exactly the declared size whose bytes hash to its name is fsynced and
 * renamed into place (and the directory fsynced), so a crash at any
 * instant leaves either no blob or a whole one under a real name.  A
 * .part is always a prefix of what a writer was given; after a restart it
 * is re-hashed and writing resumes at its end.  A writer holds an
 * exclusive flock(2) on its .part, so two writers never interleave.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arbor/blob.h"
#include "arbor/error.h"
#include "arbor/io.h"
#include "arbor/log.h"
#include "arbor/sig.h"

/* Longest suffix appended to the directory: "/sha256/ab/" + hex. */
#define BLOB_SUFFIX_MAX	(sizeof("/sha256/ab/") + 2 * ARB_SHA256_LEN + 8)

struct arb_blobdir {
	char	*path;
};

struct arb_blob_writer {
	struct arb_blobdir	*d;
	struct arb_sha256	*h;
	uint8_t			 sha[ARB_SHA256_LEN];
	char			 hex[ARB_SHA256_HEX];
	char			 part[PATH_MAX];
	uint64_t		 size;	/* declared */
	uint64_t		 off;	/* bytes in the .part */
	int			 fd;
	int			 dead;	/* .part removed after ETOOLONG */
};

static int
blob_mkdir(const char *path, int *createdp)
{
	int	rv;

	if (createdp != NULL)
		*createdp = 0;
	if (mkdir(path, 0755) == 0) {
		if (createdp != NULL)
			*createdp = 1;
		return 0;
	}
	if (errno == EEXIST)
		return 0;
	rv = -errno;
	log_warn("%s", path);
	return rv;
}

/* mkdir -p path: each component that does not exist yet. */
static int
blob_mkdirs(const char *path)
{
	struct stat	 st;
	char		*copy, *p;
	int		 rv = 0;

	if ((copy = strdup(path)) == NULL)
		return -ENOMEM;
	for (p = copy + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		rv = blob_mkdir(copy, NULL);
		*p = '/';
		if (rv != 0)
			goto done;
	}
	if ((rv = blob_mkdir(copy, NULL)) != 0)
		goto done;
	if (stat(copy, &st) == -1) {
		rv = -errno;
		log_warn("%s", copy);
	} else if (!S_ISDIR(st.st_mode)) {
		rv = -ENOTDIR;
		log_warnx("%s: not a directory", copy);
	}
done:
	free(copy);
	return rv;
}

static int
blob_fsync_dir(const char *path)
{
	int	fd, rv = 0;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		rv = -errno;
		log_warn("%s", path);
		return rv;
	}
	if (fsync(fd) == -1) {
		rv = -errno;
		log_warn("%s", path);
	}
	close(fd);
	return rv;
}

/* unlink(2) that treats an absent file as done. */
static int
blob_unlink(const char *path)
{
	int	rv;

	if (unlink(path) == 0 || errno == ENOENT)
		return 0;
	rv = -errno;
	log_warn("%s", path);
	return rv;
}

int
arb_blobdir_open(const char *path, struct arb_blobdir **dp)
{
	struct arb_blobdir	*d;
	char			 sub[PATH_MAX];
	int			 rv;

	if (path == NULL || *path == '\0' || dp == NULL)
		return ARB_EINVAL;
	if (strlen(path) + BLOB_SUFFIX_MAX >= PATH_MAX) {
		log_warnx("%s: path too long for a blob directory", path);
		return -ENAMETOOLONG;
	}
	if ((rv = blob_mkdirs(path)) != 0)
		return rv;
	snprintf(sub, sizeof(sub), "%s/sha256", path);
	if ((rv = blob_mkdir(sub, NULL)) != 0)
		return rv;
	snprintf(sub, sizeof(sub), "%s/tmp", path);
	if ((rv = blob_mkdir(sub, NULL)) != 0)
		return rv;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return -ENOMEM;
	if ((d->path = strdup(path)) == NULL) {
		free(d);
		return -ENOMEM;
	}
	*dp = d;
	return 0;
}

void
arb_blobdir_close(struct arb_blobdir *d)
{
	if (d == NULL)
		return;
	free(d->path);
	free(d);
}

void
arb_blob_path(const struct arb_blobdir *d,
    const uint8_t sha[ARB_SHA256_LEN], char *out, size_t outlen)
{
	char	hex[ARB_SHA256_HEX];

	arb_hex(sha, ARB_SHA256_LEN, hex);
	snprintf(out, outlen, "%s/sha256/%.2s/%s", d->path, hex, hex);
}

static void
blob_part_path(const struct arb_blobdir *d, const char *hex, char *out,
    size_t outlen)
{
	snprintf(out, outlen, "%s/tmp/%s.part", d->path, hex);
}

/* Open a complete blob for reading: fd, ARB_ENOTFOUND or -errno. */
static int
blob_open_complete(const struct arb_blobdir *d,
    const uint8_t sha[ARB_SHA256_LEN], char *path, size_t pathlen)
{
	int	fd, rv;

	arb_blob_path(d, sha, path, pathlen);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return ARB_ENOTFOUND;
		rv = -errno;
		log_warn("%s", path);
		return rv;
	}
	return fd;
}

int
arb_blob_stat(const struct arb_blobdir *d,
    const uint8_t sha[ARB_SHA256_LEN], uint64_t *sizep)
{
	struct stat	st;
	char		path[PATH_MAX];
	int		rv;

	if (d == NULL || sha == NULL)
		return ARB_EINVAL;
	arb_blob_path(d, sha, path, sizeof(path));
	if (stat(path, &st) == -1) {
		if (errno == ENOENT)
			return ARB_ENOTFOUND;
		rv = -errno;
		log_warn("%s", path);
		return rv;
	}
	if (!S_ISREG(st.st_mode)) {
		log_warnx("%s: not a regular file", path);
		return ARB_ECORRUPT;
	}
	if (sizep != NULL)
		*sizep = (uint64_t)st.st_size;
	return 0;
}

int
arb_blob_read(const struct arb_blobdir *d,
    const uint8_t sha[ARB_SHA256_LEN], uint64_t off, void *buf, size_t len,
    size_t *np)
{
	char	path[PATH_MAX];
	size_t	done = 0;
	int	fd, rv;

	if (d == NULL || sha == NULL || (buf == NULL && len > 0) ||
	    np == NULL)
		return ARB_EINVAL;
	if ((fd = blob_open_complete(d, sha, path, sizeof(path))) < 0)
		return fd;
	/* Keep off + len within off_t; no file is that long anyway. */
	if (off >= (uint64_t)INT64_MAX)
		len = 0;
	else if (len > (uint64_t)INT64_MAX - off)
		len = (size_t)((uint64_t)INT64_MAX - off);
	if ((rv = arb_io_pread_full(fd, buf, len, off, &done)) != 0)
		log_warn("%s", path);
	close(fd);
	if (rv == 0)
		*np = done;
	return rv;
}

int
arb_blob_check(const struct arb_blobdir *d,
    const uint8_t sha[ARB_SHA256_LEN])
{
	struct arb_sha256	*h = NULL;
	char			 path[PATH_MAX], hex[ARB_SHA256_HEX];
	uint8_t			 got[ARB_SHA256_LEN];
	uint64_t		 n;
	int			 fd, rv;

	if (d == NULL || sha == NULL)
		return ARB_EINVAL;
	if ((fd = blob_open_complete(d, sha, path, sizeof(path))) < 0)
		return fd;
	if ((rv = arb_sha256_new(&h)) != 0 ||
	    (rv = arb_sha256_fd(h, fd, path, &n)) != 0 ||
	    (rv = arb_sha256_final(h, got)) != 0)
		goto fail;
	if (memcmp(got, sha, sizeof(got)) != 0) {
		arb_hex(got, sizeof(got), hex);
		log_warnx("%s: stored blob hashes to %s", path, hex);
		rv = ARB_ECORRUPT;
	}
fail:
	arb_sha256_free(h);
	close(fd);
	return rv;
}

int
arb_blob_remove(struct arb_blobdir *d, const uint8_t sha[ARB_SHA256_LEN])
{
	char	path[PATH_MAX], hex[ARB_SHA256_HEX];
	int	found = 0, rv;

	if (d == NULL || sha == NULL)
		return ARB_EINVAL;
	arb_blob_path(d, sha, path, sizeof(path));
	if (unlink(path) == 0)
		found = 1;
	else if (errno != ENOENT) {
		rv = -errno;
		log_warn("%s", path);
		return rv;
	}
	arb_hex(sha, ARB_SHA256_LEN, hex);
	blob_part_path(d, hex, path, sizeof(path));
	if (unlink(path) == 0)
		found = 1;
	else if (errno != ENOENT) {
		rv = -errno;
		log_warn("%s", path);
		return rv;
	}
	return found ? 0 : ARB_ENOTFOUND;
}

/* ---- writers */

static void
blob_writer_free(struct arb_blob_writer *w)
{
	if (w->fd != -1)
		close(w->fd);	/* also drops the flock */
	arb_sha256_free(w->h);
	free(w);
}

int
arb_blob_writer_open(struct arb_blobdir *d,
    const uint8_t sha[ARB_SHA256_LEN], uint64_t size,
    struct arb_blob_writer **wp)
{
	struct arb_blob_writer	*w;
	struct stat		 st;
	uint64_t		 n;
	int			 rv;

	if (d == NULL || sha == NULL || wp == NULL || size > INT64_MAX)
		return ARB_EINVAL;
	if ((rv = arb_blob_stat(d, sha, NULL)) == 0)
		return ARB_EEXIST;
	if (rv != ARB_ENOTFOUND)
		return rv;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return -ENOMEM;
	w->fd = -1;
	w->d = d;
	w->size = size;
	memcpy(w->sha, sha, sizeof(w->sha));
	arb_hex(sha, ARB_SHA256_LEN, w->hex);
	blob_part_path(d, w->hex, w->part, sizeof(w->part));
	if ((rv = arb_sha256_new(&w->h)) != 0)
		goto fail;
	if ((w->fd = open(w->part, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) ==
	    -1) {
		rv = -errno;
		log_warn("%s", w->part);
		goto fail;
	}
	if (flock(w->fd, LOCK_EX | LOCK_NB) == -1) {
		rv = errno == EWOULDBLOCK ? ARB_EAGAIN : -errno;
		if (rv == ARB_EAGAIN)
			log_debug("%s: another writer has it", w->part);
		else
			log_warn("%s", w->part);
		goto fail;
	}
	if (fstat(w->fd, &st) == -1) {
		rv = -errno;
		log_warn("%s", w->part);
		goto fail;
	}
	if ((uint64_t)st.st_size > size) {
		log_info("%s: %jd bytes, longer than the declared %" PRIu64
		    "; starting over", w->part, (intmax_t)st.st_size, size);
		n = 0;
	} else if ((rv = arb_sha256_fd(w->h, w->fd, w->part, &n)) != 0)
		goto fail;
	/* Cut whatever was not hashed, so that the file is the prefix. */
	if ((uint64_t)st.st_size != n && ftruncate(w->fd, (off_t)n) == -1) {
		rv = -errno;
		log_warn("%s", w->part);
		goto fail;
	}
	w->off = n;
	if (n > 0)
		log_debug("%s: resuming at %" PRIu64 " of %" PRIu64, w->part,
		    n, size);
	*wp = w;
	return 0;
fail:
	blob_writer_free(w);
	return rv;
}

uint64_t
arb_blob_writer_offset(const struct arb_blob_writer *w)
{
	return w->off;
}

int
arb_blob_writer_truncate(struct arb_blob_writer *w, uint64_t off)
{
	struct arb_sha256	*h;
	uint64_t		 n;
	int			 rv;

	if (w == NULL || w->dead || off > w->off)
		return ARB_EINVAL;
	if (off == w->off)
		return 0;
	if ((rv = arb_sha256_new(&h)) != 0)
		return rv;
	if (ftruncate(w->fd, (off_t)off) == -1 ||
	    lseek(w->fd, 0, SEEK_SET) == -1) {
		rv = -errno;
		log_warn("%s", w->part);
		arb_sha256_free(h);
		return rv;
	}
	if ((rv = arb_sha256_fd(h, w->fd, w->part, &n)) != 0 || n != off) {
		arb_sha256_free(h);
		return rv != 0 ? rv : ARB_ECORRUPT;
	}
	arb_sha256_free(w->h);
	w->h = h;
	w->off = off;
	return 0;
}

int
arb_blob_writer_write(struct arb_blob_writer *w, const void *data,
    size_t len)
{
	int	rv;

	if (w == NULL || (data == NULL && len > 0))
		return ARB_EINVAL;
	if (w->dead)
		return ARB_ETOOLONG;
	if (len > w->size - w->off) {
		log_warnx("blob %s: more than the declared %" PRIu64
		    " bytes; discarded", w->hex, w->size);
		blob_unlink(w->part);
		w->dead = 1;
		return ARB_ETOOLONG;
	}
	if ((rv = arb_io_pwrite_full(w->fd, data, len, w->off)) != 0) {
		log_warn("%s", w->part);
		goto fail;
	}
	if ((rv = arb_sha256_update(w->h, data, len)) != 0)
		goto fail;
	w->off += len;
	return 0;
fail:
	/* Keep the .part equal to what has been hashed. */
	if (ftruncate(w->fd, (off_t)w->off) == -1)
		log_warn("%s", w->part);
	return rv;
}

int
arb_blob_writer_finish(struct arb_blob_writer *w)
{
	char		path[PATH_MAX], dir[PATH_MAX], hex[ARB_SHA256_HEX];
	uint8_t		got[ARB_SHA256_LEN];
	int		created, rv;

	if (w == NULL)
		return ARB_EINVAL;
	if (w->dead) {
		rv = ARB_ETOOLONG;
		goto done;
	}
	if (w->off < w->size) {
		rv = ARB_EAGAIN;
		goto done;
	}
	if ((rv = arb_sha256_final(w->h, got)) != 0)
		goto done;
	if (memcmp(got, w->sha, sizeof(got)) != 0) {
		arb_hex(got, sizeof(got), hex);
		log_warnx("blob %s: content hashes to %s; discarded", w->hex,
		    hex);
		blob_unlink(w->part);
		rv = ARB_EBADHASH;
		goto done;
	}
	if (fsync(w->fd) == -1) {
		rv = -errno;
		log_warn("%s", w->part);
		goto done;
	}
	snprintf(dir, sizeof(dir), "%s/sha256/%.2s", w->d->path, w->hex);
	if ((rv = blob_mkdir(dir, &created)) != 0)
		goto done;
	arb_blob_path(w->d, w->sha, path, sizeof(path));
	if (rename(w->part, path) == -1) {
		rv = -errno;
		log_warn("rename %s to %s", w->part, path);
		goto done;
	}
	if ((rv = blob_fsync_dir(dir)) != 0)
		goto done;
	if (created) {
		snprintf(dir, sizeof(dir), "%s/sha256", w->d->path);
		rv = blob_fsync_dir(dir);
	}
done:
	blob_writer_free(w);
	return rv;
}

void
arb_blob_writer_close(struct arb_blob_writer *w)
{
	if (w != NULL)
		blob_writer_free(w);
}

void
arb_blob_writer_abort(struct arb_blob_writer *w)
{
	if (w == NULL)
		return;
	if (!w->dead)
		blob_unlink(w->part);
	blob_writer_free(w);
}

int
arb_blob_import(struct arb_blobdir *d, const char *src,
    const uint8_t sha[ARB_SHA256_LEN])
{
	struct arb_blob_writer	*w = NULL;
	struct stat		 st;
	uint8_t			*buf = NULL;
	size_t			 n;
	int			 fd, rv;

	if (d == NULL || src == NULL || sha == NULL)
		return ARB_EINVAL;
	if ((fd = open(src, O_RDONLY | O_CLOEXEC)) == -1) {
		rv = -errno;
		log_warn("%s", src);
		return rv;
	}
	if (fstat(fd, &st) == -1) {
		rv = -errno;
		log_warn("%s", src);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		log_warnx("%s: not a regular file", src);
		rv = ARB_EINVAL;
		goto fail;
	}
	if ((buf = malloc(ARB_CHUNK_SIZE)) == NULL) {
		rv = -ENOMEM;
		goto fail;
	}
	if ((rv = arb_blob_writer_open(d, sha, (uint64_t)st.st_size, &w)) !=
	    0)
		goto fail;
	/*
	 * A leftover .part came from somewhere else; the whole file is at
	 * hand, so start afresh rather than trust it.
	 */
	if (arb_blob_writer_offset(w) != 0) {
		arb_blob_writer_abort(w);
		w = NULL;
		if ((rv = arb_blob_writer_open(d, sha, (uint64_t)st.st_size,
		    &w)) != 0)
			goto fail;
	}
	for (;;) {
		if ((rv = arb_io_read(fd, buf, ARB_CHUNK_SIZE, &n)) != 0) {
			log_warn("%s", src);
			goto fail;
		}
		if (n == 0)
			break;
		if ((rv = arb_blob_writer_write(w, buf, n)) != 0)
			goto fail;
	}
	if (arb_blob_writer_offset(w) != (uint64_t)st.st_size) {
		log_warnx("%s: changed while being imported", src);
		rv = ARB_EAGAIN;
		goto fail;
	}
	rv = arb_blob_writer_finish(w);
	w = NULL;
fail:
	if (w != NULL)
		arb_blob_writer_abort(w);
	free(buf);
	close(fd);
	return rv;
}

/* True if name is exactly n lower-case hex digits. */
static int
blob_ishex(const char *name, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (!((name[i] >= '0' && name[i] <= '9') ||
		    (name[i] >= 'a' && name[i] <= 'f')))
			return 0;
	return name[n] == '\0';
}

/*
 * Call cb(path, name, arg) for every entry of directory path whose name is
 * n hex digits followed by suffix, until cb returns nonzero (returned).
 * A directory that is not there has no entries when missing_ok is set.
 */
static int
blob_each(const char *path, size_t n, const char *suffix, int missing_ok,
    int (*cb)(const char *path, const char *name, void *arg), void *arg)
{
	struct dirent	*de;
	DIR		*dir;
	size_t		 slen = strlen(suffix);
	char		 name[2 * ARB_SHA256_LEN + 1];
	int		 rv = 0;

	if (n >= sizeof(name))
		return ARB_EINVAL;
	if ((dir = opendir(path)) == NULL) {
		if (missing_ok && errno == ENOENT)
			return 0;
		rv = -errno;
		log_warn("%s", path);
		return rv;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(dir)) == NULL) {
			if (errno != 0) {
				rv = -errno;
				log_warn("%s", path);
			}
			break;
		}
		if (strlen(de->d_name) != n + slen ||
		    strcmp(de->d_name + n, suffix) != 0)
			continue;
		memcpy(name, de->d_name, n);
		name[n] = '\0';
		if (!blob_ishex(name, n))
			continue;
		if ((rv = cb(path, name, arg)) != 0)
			break;
	}
	closedir(dir);
	return rv;
}

struct usage_arg {
	uint64_t	sum;
	const char	*sub;		/* the directory's two hex digits */
};

/* A blob in DIR/sha256/ab: add its size. */
static int
usage_file_cb(const char *path, const char *name, void *arg)
{
	struct usage_arg	*ua = arg;
	struct stat		 st;
	char			 file[PATH_MAX + 2 * ARB_SHA256_HEX];
	int			 rv;

	if (strncmp(name, ua->sub, 2) != 0)
		return 0;		/* not where it belongs */
	snprintf(file, sizeof(file), "%s/%s", path, name);
	if (lstat(file, &st) == -1) {
		if (errno == ENOENT)
			return 0;	/* removed meanwhile */
		rv = -errno;
		log_warn("%s", file);
		return rv;
	}
	if (S_ISREG(st.st_mode))
		ua->sum += (uint64_t)st.st_size;
	return 0;
}

/* One DIR/sha256/ab directory. */
static int
usage_dir_cb(const char *path, const char *name, void *arg)
{
	struct usage_arg	*ua = arg;
	char			 sub[PATH_MAX + 8];

	snprintf(sub, sizeof(sub), "%s/%s", path, name);
	ua->sub = name;
	return blob_each(sub, 2 * ARB_SHA256_LEN, "", 1, usage_file_cb, ua);
}

int
arb_blobdir_usage(const struct arb_blobdir *d, uint64_t *bytesp)
{
	struct usage_arg	ua;
	char			path[PATH_MAX];
	int			rv;

	if (d == NULL || bytesp == NULL)
		return ARB_EINVAL;
	memset(&ua, 0, sizeof(ua));
	snprintf(path, sizeof(path), "%s/sha256", d->path);
	if ((rv = blob_each(path, 2, "", 0, usage_dir_cb, &ua)) == 0)
		*bytesp = ua.sum;
	return rv;
}

int
arb_blob_space(const struct arb_blobdir *d, uint64_t *freep)
{
	struct statvfs	sv;

	if (statvfs(d->path, &sv) != 0)
		return -errno;
	*freep = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
	return 0;
}

struct drop_arg {
	int		(*keep)(void *arg, const uint8_t sha[ARB_SHA256_LEN]);
	void		*arg;
	uint64_t	 freed;
};

static int
drop_cb(const char *path, const char *name, void *arg)
{
	struct drop_arg	*da = arg;
	uint8_t		 sha[ARB_SHA256_LEN];
	char		 file[PATH_MAX + 2 * ARB_SHA256_HEX];
	struct stat	 st;

	if (arb_unhex(name, sha, sizeof(sha)) != 0 ||
	    (da->keep != NULL && da->keep(da->arg, sha)))
		return 0;
	snprintf(file, sizeof(file), "%s/%s.part", path, name);
	if (stat(file, &st) == 0 && unlink(file) == 0)
		da->freed += (uint64_t)st.st_size;
	return 0;
}

int
arb_blob_drop_parts(struct arb_blobdir *d,
    int (*keep)(void *arg, const uint8_t sha[ARB_SHA256_LEN]), void *arg,
    uint64_t *freedp)
{
	struct drop_arg	da;
	char		dir[PATH_MAX];
	int		rv;

	da.keep = keep;
	da.arg = arg;
	da.freed = 0;
	snprintf(dir, sizeof(dir), "%s/tmp", d->path);
	rv = blob_each(dir, 2 * ARB_SHA256_LEN, ".part", 0, drop_cb, &da);
	*freedp = da.freed;
	return rv;
}

struct list_arg {
	unsigned	prefix;
	void		(*cb)(const uint8_t sha[ARB_SHA256_LEN], void *arg);
	void		*arg;
};

static int
list_cb(const char *path, const char *name, void *arg)
{
	struct list_arg	*la = arg;
	uint8_t		 sha[ARB_SHA256_LEN];

	(void)path;
	if (arb_unhex(name, sha, ARB_SHA256_LEN) == 0 && sha[0] == la->prefix)
		la->cb(sha, la->arg);
	return 0;
}

int
arb_blob_list(const struct arb_blobdir *d, unsigned prefix,
    void (*cb)(const uint8_t sha[ARB_SHA256_LEN], void *arg), void *arg)
{
	struct list_arg	la;
	char		path[PATH_MAX];

	if (d == NULL || cb == NULL || prefix > 0xff)
		return ARB_EINVAL;
	la.prefix = prefix;
	la.cb = cb;
	la.arg = arg;
	snprintf(path, sizeof(path), "%s/sha256/%02x", d->path, prefix);
	return blob_each(path, 2 * ARB_SHA256_LEN, "", 1, list_cb, &la);
}
