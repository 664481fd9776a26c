/*
 * The files that carry Arbor across an air gap: the manifest of a catalog
 * export (what `arborctl export` writes and `arbor-relay --import` reads)
 * and a reports file (what `arbor-relay --export-reports` writes and
 * `arborctl import-reports` reads).  Both are untrusted when read: they
 * come off removable media.  The parsers here only check that a file is
 * whole and well formed; what is in it is judged by the same code that
 * judges a parent's replies (catalog sync) and a relay's batches (the
 * root's fan-in).
 */
#ifndef ARBOR_OFFLINE_H
#define ARBOR_OFFLINE_H

#include <stddef.h>
#include <stdint.h>

#include "arbor/sig.h"
#include "arbor/wire.h"

/*
 * A catalog export is a directory: head.signed, policies/HEX.signed,
 * blobs/sha256/ab/HEX and, written last, MANIFEST:
 *
 *	arbor-export 1
 *	file HEX SIZE PATH	(one per file, HEX its SHA-256)
 *	end HEX			(SHA-256 of every byte before this line)
 *
 * A directory without a whole MANIFEST is an export cut short.
 */
#define ARB_MANIFEST_NAME	"MANIFEST"
#define ARB_MANIFEST_MAX	(4 * 1024 * 1024)	/* bytes */
#define ARB_MANIFEST_FILES	(ARB_MAX_POLICIES * 4 + 1)
#define ARB_MANIFEST_PATH	128

struct arb_manifest_file {
	char		path[ARB_MANIFEST_PATH];	/* relative, checked */
	uint8_t		sha[ARB_SHA256_LEN];
	uint64_t	size;
};

struct arb_manifest {
	struct arb_manifest_file	*files;
	size_t				 nfiles;
};

/*
 * Parse a manifest of len bytes.  Returns 0 and *mp (free with
 * arb_manifest_free), or ARB_EPROTO with the line and the reason in err
 * (an unknown version, a bad line, a path that leaves the directory, a
 * path named twice), ARB_ETOOBIG, or ARB_EBADHASH (the end line's hash is
 * wrong: the manifest was cut or changed).
 */
int	arb_manifest_parse(const uint8_t *buf, size_t len,
	    struct arb_manifest **mp, char *err, size_t errlen);
void	arb_manifest_free(struct arb_manifest *m);
/* The entry for path, or NULL. */
const struct arb_manifest_file *arb_manifest_find(const struct arb_manifest *m,
	    const char *path);

/*
 * Build a manifest's text: arb_manifest_add for each file, then
 * arb_manifest_text gives the whole text with its end line (*bufp, free
 * it).  The builder is an arb_manifest the caller frees.
 */
int	arb_manifest_add(struct arb_manifest *m, const char *path,
	    const uint8_t sha[ARB_SHA256_LEN], uint64_t size);
int	arb_manifest_text(const struct arb_manifest *m, uint8_t **bufp,
	    size_t *lenp);

/*
 * A reports file: the 8 bytes "ARBRPT1\n", then records of a 4-byte
 * big-endian length and an encoded Envelope holding a ReportBatch (as a
 * relay sends it up), then "END\n" and the SHA-256 of every byte before
 * it.  A file cut anywhere, or changed, is refused whole.
 */
#define ARB_REPFILE_MAGIC	"ARBRPT1\n"
#define ARB_REPFILE_MAX		(1024LL * 1024 * 1024)	/* bytes */

/*
 * Check the whole file (magic, record lengths, end mark, hash) and call
 * cb with each decoded batch (owned by the parser, valid during the
 * call; cb returns nonzero to stop).  Returns 0, ARB_EPROTO (with the
 * reason in err), ARB_ETOOBIG, ARB_EBADHASH, or what cb returned.
 */
int	arb_repfile_parse(const uint8_t *buf, size_t len,
	    int (*cb)(const Arbor__Envelope *env, size_t idx, void *arg),
	    void *arg, char *err, size_t errlen);
/* Append one encoded Envelope record, or the end mark, to a growing buffer. */
struct arb_repfile {
	uint8_t		*buf;
	size_t		 len;
	size_t		 cap;
};
int	arb_repfile_add(struct arb_repfile *f, const uint8_t *env, size_t len);
int	arb_repfile_end(struct arb_repfile *f);
void	arb_repfile_clear(struct arb_repfile *f);

#endif
