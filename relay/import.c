/*
 * arbor-relay --import DIR: a catalog export carried across an air gap
 * (arborctl export), taken as if the parent had sent it.
 *
 * The manifest, written last by the exporter, must be whole and every file
 * it names present with its size and SHA-256: an export cut short or
 * changed is refused before anything is judged.  Then the head goes to
 * catalog sync's arb_sync_offer, which checks it exactly as it checks a
 * parent's HeadReply (publisher signature, pinned key, rollback, freeze),
 * asks the export for each policy it lacks (import_get, where a poll asks
 * the parent), judges each as a parent's reply, and commits the way a
 * poll does.  Before that commit every blob the new policies name is
 * copied into the blob directory by arb_blob_import, which takes it only
 * if it hashes to what the verified policy names, and indexed for serving.
 * Any refusal writes no head and no policy: what the relay held stays.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbor/blob.h"
#include "arbor/catalog.h"
#include "arbor/error.h"
#include "arbor/io.h"
#include "arbor/log.h"
#include "arbor/offline.h"
#include "arbor/sync.h"
#include "core.h"
#include "relay.h"

struct import {
	const char		*dir;
	struct arb_manifest	*m;
	struct relay_core	*core;
	struct arb_blobdir	*blobs;
	Arbor__Signed		*head;		/* head.signed */
	int			 said;		/* import_get logged why */
	uint64_t		 nblobs;
};

static void
import_path(const struct import *im, const char *rel, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", im->dir, rel);
}

/* Every file the manifest names is there, whole, as it names it. */
static int
import_check_files(struct import *im)
{
	const struct arb_manifest_file	*f;
	uint8_t				 sha[ARB_SHA256_LEN];
	uint64_t			 size;
	char				 path[PATH_MAX];
	size_t				 i;
	int				 rv;

	for (i = 0; i < im->m->nfiles; i++) {
		f = &im->m->files[i];
		import_path(im, f->path, path, sizeof(path));
		if ((rv = arb_sha256_file(path, sha, &size)) != 0) {
			log_warnx("relay: import: %s: %s (named in %s)", path,
			    arb_strerror(rv), ARB_MANIFEST_NAME);
			return rv;
		}
		if (size != f->size) {
			log_warnx("relay: import: %s: %llu bytes, the manifest "
			    "says %llu (cut short or changed)", path,
			    (unsigned long long)size,
			    (unsigned long long)f->size);
			return ARB_EBADHASH;
		}
		if (memcmp(sha, f->sha, ARB_SHA256_LEN) != 0) {
			log_warnx("relay: import: %s: does not hash to what "
			    "the manifest says (changed)", path);
			return ARB_EBADHASH;
		}
	}
	return 0;
}

static int
import_read_signed(struct import *im, const char *rel, Arbor__Signed **sp)
{
	char	 path[PATH_MAX];
	uint8_t	*buf;
	size_t	 len;
	int	 rv;

	import_path(im, rel, path, sizeof(path));
	if ((rv = arb_io_read_file(path, ARB_SIGNED_MAX + 1024, &buf,
	    &len)) != 0 || (rv = arb_wire_decode_signed(buf, len, sp)) != 0) {
		log_warnx("relay: import: %s: %s", path, arb_strerror(rv));
		if (rv == 0)
			free(buf);
		return rv;
	}
	free(buf);
	return 0;
}

/* The policy file for ref: read and decoded, for the sync to judge. */
static int
import_get(void *arg, const Arbor__PolicyRef *ref, Arbor__Signed **sp)
{
	struct import	*im = arg;
	char		 hex[ARB_SHA256_HEX], rel[96];

	if (ref->sha256.len != ARB_SHA256_LEN)
		return ARB_EPROTO;
	arb_hex(ref->sha256.data, ARB_SHA256_LEN, hex);
	snprintf(rel, sizeof(rel), "policies/%s.signed", hex);
	im->said = 1;
	if (arb_manifest_find(im->m, rel) == NULL) {
		log_warnx("relay: import: %s/%s: policy %s v%u missing: "
		    "refused", im->dir, rel, ref->id, ref->version);
		return ARB_ENOTFOUND;
	}
	if (import_read_signed(im, rel, sp) != 0)
		return ARB_EPROTO;
	im->said = 0;		/* read; the sync judges it */
	return 0;
}

/* One blob a verified policy names: into the blob directory, indexed. */
static int
import_blob(struct import *im, const Arbor__BlobRef *b)
{
	const struct arb_manifest_file	*f;
	char				 hex[ARB_SHA256_HEX], rel[96];
	char				 path[PATH_MAX];
	uint64_t			 size;
	int				 rv;

	if (b->sha256.len != ARB_SHA256_LEN)
		return ARB_EPROTO;
	if (arb_blob_stat(im->blobs, b->sha256.data, &size) == 0 &&
	    size == b->size)
		return relay_core_index_blob(im->core, b->sha256.data, NULL, 0);
	arb_hex(b->sha256.data, ARB_SHA256_LEN, hex);
	snprintf(rel, sizeof(rel), "blobs/sha256/%.2s/%s", hex, hex);
	import_path(im, rel, path, sizeof(path));
	if ((f = arb_manifest_find(im->m, rel)) == NULL) {
		log_warnx("relay: import: %s: missing (blob %s of the "
		    "catalog)", path, b->name);
		return ARB_ENOTFOUND;
	}
	if (f->size != b->size) {
		log_warnx("relay: import: %s: %llu bytes, the policy names "
		    "%llu", path, (unsigned long long)f->size,
		    (unsigned long long)b->size);
		return f->size > b->size ? ARB_ETOOLONG : ARB_EBADHASH;
	}
	if ((rv = arb_blob_import(im->blobs, path, b->sha256.data)) != 0) {
		log_warnx("relay: import: %s: %s", path, arb_strerror(rv));
		return rv;
	}
	if ((rv = relay_core_index_blob(im->core, b->sha256.data, NULL,
	    0)) != 0) {
		log_warnx("relay: import: %s: cannot index: %s", path,
		    arb_strerror(rv));
		return rv;
	}
	im->nblobs++;
	return 0;
}

/*
 * The head and the policies it lacked are verified: every blob those
 * policies name, before anything is committed.
 */
static int
import_prepare(void *arg, const Arbor__Head *head,
    const Arbor__Signed *const *pols)
{
	struct import	*im = arg;
	Arbor__Policy	*pol;
	size_t		 i, j;
	int		 rv;

	for (i = 0; i < head->n_policies; i++) {
		if (pols[i] == NULL)
			continue;	/* held: its blobs were taken with it */
		if ((rv = arb_wire_decode_policy(pols[i]->body.data,
		    pols[i]->body.len, &pol)) != 0)
			return rv;
		for (j = 0, rv = 0; rv == 0 && j < pol->n_blobs; j++)
			rv = import_blob(im, pol->blobs[j]);
		arb_wire_free_policy(pol);
		if (rv != 0)
			return rv;
	}
	return 0;
}

/*
 * The policy at index bad of the head (which the offer verified) is
 * missing from the export or is not what the head names: say its file.
 */
static void
import_say_policy(struct import *im, size_t bad, int rv)
{
	Arbor__Head	*h;
	char		 hex[ARB_SHA256_HEX];

	if (arb_wire_decode_head(im->head->body.data, im->head->body.len,
	    &h) != 0 || bad >= h->n_policies) {
		log_warnx("relay: import: %s: refused: %s", im->dir,
		    arb_strerror(rv));
		return;
	}
	arb_hex(h->policies[bad]->sha256.data, ARB_SHA256_LEN, hex);
	log_warnx("relay: import: %s/policies/%s.signed: policy %s v%u: %s: "
	    "refused", im->dir, hex, h->policies[bad]->id,
	    h->policies[bad]->version, arb_strerror(rv));
	arb_wire_free_head(h);
}

static void
import_clear(struct import *im)
{
	if (im->head)
		arb_wire_free_signed(im->head);
	arb_manifest_free(im->m);
}

int
relay_import(const char *dir, struct arb_sync *sync, struct relay_core *core,
    struct arb_blobdir *blobs)
{
	struct import		 im;
	struct arb_sync_source	 src;
	const Arbor__Head	*held = arb_sync_head(sync);
	const Arbor__Head	*now;
	char			 path[PATH_MAX], err[256];
	uint8_t			*buf;
	size_t			 len, bad;
	int			 rv;

	memset(&im, 0, sizeof(im));
	im.dir = dir;
	im.core = core;
	im.blobs = blobs;
	import_path(&im, ARB_MANIFEST_NAME, path, sizeof(path));
	if ((rv = arb_io_read_file(path, ARB_MANIFEST_MAX, &buf, &len)) != 0) {
		log_warnx("relay: import: %s: %s%s", path, arb_strerror(rv),
		    rv == -ENOENT ? " (not an export, or one cut short: "
		    "the manifest is written last)" : "");
		return rv;
	}
	rv = arb_manifest_parse(buf, len, &im.m, err, sizeof(err));
	free(buf);
	if (rv != 0) {
		log_warnx("relay: import: %s: %s", path, err);
		return rv;
	}
	if ((rv = import_check_files(&im)) != 0)
		goto out;
	if (arb_manifest_find(im.m, "head.signed") == NULL) {
		log_warnx("relay: import: %s: names no head.signed", path);
		rv = ARB_ENOTFOUND;
		goto out;
	}
	if ((rv = import_read_signed(&im, "head.signed", &im.head)) != 0)
		goto out;
	src.get = import_get;
	src.prepare = import_prepare;
	src.arg = &im;
	rv = arb_sync_offer(sync, im.head, &src, &bad);
	if (rv == ARB_EEXIST) {
		log_info("relay: import: %s: head seq %llu is the one held; "
		    "nothing new", dir,
		    (unsigned long long)(held ? held->seq : 0));
		rv = 0;
		goto out;
	}
	if (rv == ARB_EROLLBACK)
		log_warnx("relay: import: %s/head.signed: older than the head "
		    "held (seq %llu): refused", dir,
		    (unsigned long long)(held ? held->seq : 0));
	else if (rv != 0 && bad != SIZE_MAX) {
		if (!im.said)
			import_say_policy(&im, bad, rv);
	}
	else if (rv != 0 && (rv == ARB_EBADSIG || rv == ARB_EUNKNOWNKEY ||
	    rv == ARB_EEXPIRED || rv == ARB_EPROTO))
		log_warnx("relay: import: %s/head.signed: %s: refused", dir,
		    arb_strerror(rv));
	else if (rv != 0)
		log_warnx("relay: import: %s: refused: %s", dir,
		    arb_strerror(rv));
	if (rv == 0 && (now = arb_sync_head(sync)) != NULL)
		log_info("relay: import: %s: head seq %llu, %zu policies, "
		    "%llu blobs taken", dir, (unsigned long long)now->seq,
		    now->n_policies, (unsigned long long)im.nblobs);
out:
	import_clear(&im);
	return rv;
}
