/*
 * Content-addressed blob directory: DIR/sha256/ab/abcdef... .  A blob is
 * written to DIR/tmp/<hex>.part, hashed while written, fsynced and renamed
 * into place, so a crash never leaves a half blob under a real name.  A
 * .part file is a contiguous prefix of the blob and is resumed after a
 * restart (its bytes are re-hashed on open).
 */
#ifndef ARBOR_BLOB_H
#define ARBOR_BLOB_H

#include <stddef.h>
#include <stdint.h>

#include "arbor/sig.h"

#define ARB_CHUNK_SIZE	(1024 * 1024)

struct arb_blobdir;
struct arb_blob_writer;

/* Open (creating as needed) the blob directory at path. */
int	arb_blobdir_open(const char *path, struct arb_blobdir **dp);
void	arb_blobdir_close(struct arb_blobdir *d);

/* Path of a complete blob; out must hold PATH_MAX. */
void	arb_blob_path(const struct arb_blobdir *d,
	    const uint8_t sha[ARB_SHA256_LEN], char *out, size_t outlen);
/* 0 and *sizep if the complete blob is present, else ARB_ENOTFOUND. */
int	arb_blob_stat(const struct arb_blobdir *d,
	    const uint8_t sha[ARB_SHA256_LEN], uint64_t *sizep);
/*
 * Read up to len bytes at off of a complete blob into buf; *np gets the
 * count (0 at or past the end).
 */
int	arb_blob_read(const struct arb_blobdir *d,
	    const uint8_t sha[ARB_SHA256_LEN], uint64_t off, void *buf,
	    size_t len, size_t *np);
/* Re-hash a complete blob on disk: 0, ARB_ECORRUPT, or ARB_ENOTFOUND. */
int	arb_blob_check(const struct arb_blobdir *d,
	    const uint8_t sha[ARB_SHA256_LEN]);
/* Remove a complete blob (and any .part). */
int	arb_blob_remove(struct arb_blobdir *d,
	    const uint8_t sha[ARB_SHA256_LEN]);
/* Copy the file at src into the directory, verifying it hashes to sha. */
int	arb_blob_import(struct arb_blobdir *d, const char *src,
	    const uint8_t sha[ARB_SHA256_LEN]);

/*
 * Begin or resume writing the blob sha of exactly size bytes.  If a .part
 * exists it is re-hashed and writing continues at its end
 * (arb_blob_writer_offset).  If the blob is already complete, returns
 * ARB_EEXIST.
 */
int	arb_blob_writer_open(struct arb_blobdir *d,
	    const uint8_t sha[ARB_SHA256_LEN], uint64_t size,
	    struct arb_blob_writer **wp);
uint64_t arb_blob_writer_offset(const struct arb_blob_writer *w);
/* Cut the .part back to off bytes (at most the offset) and re-hash it. */
int	arb_blob_writer_truncate(struct arb_blob_writer *w, uint64_t off);
/*
 * Append len bytes.  More bytes than the declared size fail with
 * ARB_ETOOLONG and the .part is removed.
 */
int	arb_blob_writer_write(struct arb_blob_writer *w, const void *data,
	    size_t len);
/*
 * Finish: size reached and hash matches -> fsync, rename into place, 0.
 * Hash mismatch -> ARB_EBADHASH, .part removed.  Short -> ARB_EAGAIN.
 * Frees w in every case.
 */
int	arb_blob_writer_finish(struct arb_blob_writer *w);
/* Stop writing, keeping the .part for a later resume.  Frees w. */
void	arb_blob_writer_close(struct arb_blob_writer *w);
/* Stop writing and remove the .part.  Frees w. */
void	arb_blob_writer_abort(struct arb_blob_writer *w);

/*
 * Call cb with the name of every complete blob whose first byte is prefix
 * (0..255): one DIR/sha256/ab directory, so that a caller can spread a
 * walk over the whole directory across many short passes.  cb may remove
 * the blob it is given.  0, ARB_EINVAL, or -errno.
 */
int	arb_blob_list(const struct arb_blobdir *d, unsigned prefix,
	    void (*cb)(const uint8_t sha[ARB_SHA256_LEN], void *arg),
	    void *arg);

/* Total bytes of complete blobs (for cache limits). */
int	arb_blobdir_usage(const struct arb_blobdir *d, uint64_t *bytesp);

/*
 * Remove the partial files of blobs being written (resumable leftovers of
 * fetches cut short) except those keep says to keep; *freedp the bytes
 * freed.  For a directory short of space.
 */
int	arb_blob_drop_parts(struct arb_blobdir *d,
	    int (*keep)(void *arg, const uint8_t sha[ARB_SHA256_LEN]),
	    void *arg, uint64_t *freedp);

/* Bytes free for an unprivileged writer where d is, or -errno. */
int	arb_blob_space(const struct arb_blobdir *d, uint64_t *freep);

#endif
