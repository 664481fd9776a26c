/*
 * arborctl export and import-reports: the root's side of an air-gapped
 * site.  export writes the catalog the root serves (its signed head, the
 * signed policies the head names, every blob they name) into a directory
 * with its manifest written last (arbor/offline.h); import-reports hands
 * the batches of a relay's reports file to the root exactly as a relay
 * below it would send them, so the root judges and counts each report by
 * the same rules (endpoint signature, sequence number: a report already
 * held changes nothing).
 */
#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arbor/blob.h"
#include "arbor/error.h"
#include "arbor/io.h"
#include "arbor/offline.h"
#include "arbor/sig.h"
#include "arbor/wire.h"
#include "arborctl.h"

#define AIR_ROOT_DIR	"/var/lib/arbor/root"
#define AIR_COPY_BUF	(256 * 1024)

/* Write one signed object to out/rel and name it in the manifest. */
static int
air_put_signed(const struct ctl *c, const char *out, const char *rel,
    const Arbor__Signed *sg, struct arb_manifest *m)
{
	char	 path[PATH_MAX];
	uint8_t	*buf = NULL, sha[ARB_SHA256_LEN];
	size_t	 len = 0;
	int	 rv;

	snprintf(path, sizeof(path), "%s/%s", out, rel);
	if ((rv = arb_wire_encode_signed(sg, &buf, &len)) == 0 &&
	    (rv = arb_sha256(buf, len, sha)) == 0 &&
	    (rv = arb_io_write_file(path, buf, len, 0644)) == 0)
		rv = arb_manifest_add(m, rel, sha, len);
	if (rv != 0)
		ctl_warnx(c, "%s: %s", path, arb_strerror(rv));
	free(buf);
	return rv;
}

/*
 * Copy a blob of the root's blob directory to dst, hashing it on the way:
 * a blob damaged on the root's disk is not exported.
 */
static int
air_copy_blob(const char *src, const char *dst, const uint8_t *want,
    uint64_t *sizep)
{
	struct arb_sha256	*h = NULL;
	uint8_t			*buf = NULL, sha[ARB_SHA256_LEN];
	uint64_t		 total = 0;
	size_t			 n;
	int			 in = -1, out = -1, rv;

	if ((buf = malloc(AIR_COPY_BUF)) == NULL)
		return -ENOMEM;
	if ((rv = arb_sha256_new(&h)) != 0)
		goto out;
	if ((in = open(src, O_RDONLY | O_CLOEXEC)) == -1 ||
	    (out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1) {
		rv = -errno;
		goto out;
	}
	for (;;) {
		if ((rv = arb_io_read_full(in, buf, AIR_COPY_BUF, &n)) != 0)
			goto out;
		if (n == 0)
			break;
		if ((rv = arb_sha256_update(h, buf, n)) != 0 ||
		    (rv = arb_io_write_full(out, buf, n)) != 0)
			goto out;
		total += n;
	}
	if ((rv = arb_sha256_final(h, sha)) != 0)
		goto out;
	if (memcmp(sha, want, ARB_SHA256_LEN) != 0) {
		rv = ARB_ECORRUPT;
		goto out;
	}
	if (fsync(out) == -1)
		rv = -errno;
	*sizep = total;
out:
	if (in != -1)
		close(in);
	if (out != -1 && close(out) == -1 && rv == 0)
		rv = -errno;
	if (rv != 0 && out != -1)
		unlink(dst);
	arb_sha256_free(h);
	free(buf);
	return rv;
}

static int
air_put_blobs(const struct ctl *c, struct arb_blobdir *bd, const char *out,
    const Arbor__Signed *sg, struct arb_manifest *m)
{
	Arbor__Policy	*pol;
	char		 hex[ARB_SHA256_HEX], rel[96], src[PATH_MAX];
	char		 dst[PATH_MAX];
	uint64_t	 size = 0;
	size_t		 j;
	int		 rv;

	if ((rv = arb_wire_decode_policy(sg->body.data, sg->body.len,
	    &pol)) != 0) {
		ctl_warnx(c, "a policy of the root: %s", arb_strerror(rv));
		return rv;
	}
	for (j = 0, rv = 0; rv == 0 && j < pol->n_blobs; j++) {
		const Arbor__BlobRef *b = pol->blobs[j];

		if (b->sha256.len != ARB_SHA256_LEN) {
			rv = ARB_EPROTO;
			break;
		}
		arb_hex(b->sha256.data, ARB_SHA256_LEN, hex);
		snprintf(rel, sizeof(rel), "blobs/sha256/%.2s/%s", hex, hex);
		if (arb_manifest_find(m, rel) != NULL)
			continue;	/* named by two policies */
		snprintf(dst, sizeof(dst), "%s/blobs/sha256/%.2s", out, hex);
		if ((rv = arb_io_mkdirs(dst, 0755)) != 0) {
			ctl_warnx(c, "%s: %s", dst, strerror(-rv));
			break;
		}
		snprintf(dst, sizeof(dst), "%s/%s", out, rel);
		arb_blob_path(bd, b->sha256.data, src, sizeof(src));
		if ((rv = air_copy_blob(src, dst, b->sha256.data,
		    &size)) != 0) {
			ctl_warnx(c, "%s (blob %s of policy %s): %s", src,
			    b->name, pol->id, arb_strerror(rv));
			break;
		}
		rv = arb_manifest_add(m, rel, b->sha256.data, size);
	}
	arb_wire_free_policy(pol);
	return rv;
}

/*
 * DIR must be new or empty (the root of a mounted stick is fine): an
 * export never mixes with what was there.
 */
static int
air_out_dir(const struct ctl *c, const char *out)
{
	struct dirent	*de;
	DIR		*d;
	char		 path[PATH_MAX];
	int		 rv, n = 0;

	if ((rv = arb_io_mkdirs(out, 0755)) != 0) {
		ctl_warnx(c, "%s: %s", out, strerror(-rv));
		return 1;
	}
	if ((d = opendir(out)) == NULL) {
		ctl_warnx(c, "%s: %s", out, strerror(errno));
		return 1;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0 &&
		    strcmp(de->d_name, "lost+found") != 0)
			n++;
	closedir(d);
	if (n > 0) {
		ctl_warnx(c, "%s: not empty (an export goes to a new or "
		    "empty directory)", out);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/policies", out);
	if (mkdir(path, 0755) != 0) {
		ctl_warnx(c, "%s: %s", path, strerror(errno));
		return 1;
	}
	return 0;
}

int
cmd_export(struct ctl *c, int argc, char *argv[])
{
	Arbor__Envelope		*rep;
	Arbor__CatalogReply	*cr;
	Arbor__Head		*head = NULL;
	struct arb_blobdir	*bd = NULL;
	struct arb_manifest	 m;
	const char		*out, *rdir = c->dir ? c->dir : AIR_ROOT_DIR;
	char			 path[PATH_MAX], rel[96], hex[ARB_SHA256_HEX];
	uint8_t			*buf = NULL, sha[ARB_SHA256_LEN];
	size_t			 i, len;
	int			 rv, ret = 1;

	if (argc != 2) {
		ctl_usage(stderr);
		return 1;
	}
	out = argv[1];
	memset(&m, 0, sizeof(m));
	if (ctl_get_catalog(c, &rep) != 0)
		return 1;
	cr = rep->catalog_reply;
	if (cr->head == NULL) {
		ctl_warnx(c, "the root holds no catalog yet");
		goto out;
	}
	if ((rv = arb_wire_decode_head(cr->head->body.data, cr->head->body.len,
	    &head)) != 0) {
		ctl_warnx(c, "the root's head: %s", arb_strerror(rv));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/blobs", rdir);
	if ((rv = arb_blobdir_open(path, &bd)) != 0) {
		ctl_warnx(c, "%s: %s", path, arb_strerror(rv));
		goto out;
	}
	if (air_out_dir(c, out) != 0 ||
	    air_put_signed(c, out, "head.signed", cr->head, &m) != 0)
		goto out;
	for (i = 0; i < cr->n_policies; i++) {
		const Arbor__Signed *sg = cr->policies[i];

		if (arb_sha256(sg->body.data, sg->body.len, sha) != 0)
			goto out;
		arb_hex(sha, ARB_SHA256_LEN, hex);
		snprintf(rel, sizeof(rel), "policies/%s.signed", hex);
		if (air_put_signed(c, out, rel, sg, &m) != 0 ||
		    air_put_blobs(c, bd, out, sg, &m) != 0)
			goto out;
	}
	if (cr->n_policies != head->n_policies) {
		ctl_warnx(c, "the root lacks %zu of its head's policies",
		    head->n_policies - cr->n_policies);
		goto out;
	}
	/* Last: a directory without it is an export cut short. */
	snprintf(path, sizeof(path), "%s/%s", out, ARB_MANIFEST_NAME);
	if ((rv = arb_manifest_text(&m, &buf, &len)) != 0 ||
	    (rv = arb_io_write_file(path, buf, len, 0644)) != 0) {
		ctl_warnx(c, "%s: %s", path, arb_strerror(rv));
		goto out;
	}
	printf("exported head seq %llu: %zu policies, %zu files to %s\n",
	    (unsigned long long)head->seq, head->n_policies, m.nfiles, out);
	ret = 0;
out:
	free(buf);
	free(m.files);
	if (bd)
		arb_blobdir_close(bd);
	if (head)
		arb_wire_free_head(head);
	arb_wire_free(rep);
	return ret;
}

struct air_import {
	const struct ctl	*c;
	uint64_t		 entries;
	uint64_t		 accepted;
	uint64_t		 rejected;
};

static int
air_batch_cb(const Arbor__Envelope *env, size_t idx, void *arg)
{
	struct air_import	*ai = arg;
	Arbor__Envelope		*rep;

	(void)idx;
	if (ctl_call(ai->c, env, ARBOR__ENVELOPE__BODY_REPORT_ACK, &rep) != 0)
		return 1;
	ai->entries += env->report_batch->n_entries;
	ai->accepted += rep->report_ack->accepted;
	ai->rejected += rep->report_ack->rejected;
	arb_wire_free(rep);
	return 0;
}

int
cmd_import_reports(struct ctl *c, int argc, char *argv[])
{
	struct air_import	 ai;
	uint8_t			*buf;
	size_t			 len;
	char			 err[256];
	int			 rv;

	if (argc != 2) {
		ctl_usage(stderr);
		return 1;
	}
	if ((rv = arb_io_read_file(argv[1], (size_t)ARB_REPFILE_MAX, &buf,
	    &len)) != 0) {
		ctl_warnx(c, "%s: %s", argv[1], arb_strerror(rv));
		return 1;
	}
	memset(&ai, 0, sizeof(ai));
	ai.c = c;
	err[0] = '\0';
	rv = arb_repfile_parse(buf, len, air_batch_cb, &ai, err, sizeof(err));
	free(buf);
	if (rv < 0) {
		ctl_warnx(c, "%s: %s: nothing imported", argv[1],
		    err[0] ? err : arb_strerror(rv));
		return 1;
	}
	printf("%s: %llu reports: %llu taken or already held, %llu "
	    "refused%s\n", argv[1], (unsigned long long)ai.entries,
	    (unsigned long long)ai.accepted, (unsigned long long)ai.rejected,
	    rv > 0 ? " (stopped at an error)" : "");
	return rv == 0 ? 0 : 1;
}
