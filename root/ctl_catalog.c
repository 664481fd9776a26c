/*
 * arborctl's commands that change or show the catalog: publish (the
 * policy's blobs uploaded in chunks, then the policy), retire, push,
 * rollback, and catalog, with what status needs of it (the current
 * policies).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "arbor/blob.h"
#include "arbor/error.h"
#include "arbor/io.h"
#include "arbor/policy.h"
#include "arbor/sig.h"
#include "arbor/wire.h"
#include "arborctl.h"

/* Replies in a row that do not move an upload forward before giving up. */
#define CTL_MAX_STALLS		3

/* ---- publish */

/*
 * Upload one blob from path in chunks of ARB_CHUNK_SIZE.  The root answers
 * every chunk with how much of the blob it holds; the upload goes on from
 * there, so an interrupted publish resumes and a blob the root already has
 * costs one chunk.
 */
static int
ctl_upload(const struct ctl *c, const char *path, const Arbor__BlobRef *br)
{
	Arbor__Envelope		 req = ARBOR__ENVELOPE__INIT;
	Arbor__PutChunk		 pc = ARBOR__PUT_CHUNK__INIT;
	Arbor__Envelope		*rep;
	Arbor__PutChunkReply	*pr;
	struct stat		 st;
	uint8_t			*buf;
	uint64_t		 off, have;
	ssize_t			 n;
	size_t			 want, got;
	int			 fd, stalls = 0, rv = 1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		ctl_warnx(c, "%s: %s", path, strerror(errno));
		return 1;
	}
	if (fstat(fd, &st) == -1 || (uint64_t)st.st_size != br->size) {
		ctl_warnx(c, "%s: changed since it was hashed", path);
		close(fd);
		return 1;
	}
	if ((buf = malloc(ARB_CHUNK_SIZE)) == NULL) {
		ctl_warnx(c, "%s", strerror(ENOMEM));
		close(fd);
		return 1;
	}
	pc.sha256 = br->sha256;
	pc.size = br->size;
	req.body_case = ARBOR__ENVELOPE__BODY_PUT_CHUNK;
	req.put_chunk = &pc;
	off = 0;
	for (;;) {
		want = br->size - off < ARB_CHUNK_SIZE ?
		    (size_t)(br->size - off) : ARB_CHUNK_SIZE;
		n = arb_io_pread_full(fd, buf, want, off, &got) == 0 ?
		    (ssize_t)got : -1;
		if (n == -1 || (size_t)n != want) {
			ctl_warnx(c, "%s: %s", path, n == -1 ?
			    strerror(errno) : "changed since it was hashed");
			goto done;
		}
		pc.offset = off;
		pc.data.data = buf;
		pc.data.len = want;
		if (ctl_call(c, &req, ARBOR__ENVELOPE__BODY_PUT_CHUNK_REPLY,
		    &rep) != 0)
			goto done;
		pr = rep->put_chunk_reply;
		have = pr->have;
		if (pr->complete) {
			arb_wire_free(rep);
			break;
		}
		arb_wire_free(rep);
		if (have > br->size) {
			ctl_warnx(c, "blob %s: the root claims %" PRIu64
			    " of %" PRIu64 " bytes", br->name, have, br->size);
			goto done;
		}
		if (have == br->size) {
			ctl_warnx(c, "blob %s: the root holds all %" PRIu64
			    " bytes but did not accept it", br->name, have);
			goto done;
		}
		/* Resume wherever the root is; refuse to go round forever. */
		if (have <= off && ++stalls > CTL_MAX_STALLS) {
			ctl_warnx(c, "blob %s: the root makes no progress at "
			    "byte %" PRIu64, br->name, have);
			goto done;
		}
		if (have > off)
			stalls = 0;
		off = have;
	}
	printf("blob %s: %" PRIu64 " bytes on the root\n", br->name,
	    br->size);
	rv = 0;
done:
	free(buf);
	close(fd);
	return rv;
}

int
cmd_publish(struct ctl *c, int argc, char *argv[])
{
	Arbor__Envelope		 req = ARBOR__ENVELOPE__INIT;
	Arbor__Publish		 pub = ARBOR__PUBLISH__INIT;
	Arbor__Envelope		*rep;
	struct arb_policy_file	*pf;
	char			 err[1024];
	const char		*path = NULL;
	size_t			 i;
	int			 rv, dry = 0, as_json = 0, k;

	for (k = 1; k < argc; k++) {
		if (strcmp(argv[k], "--dry-run") == 0)
			dry = 1;
		else if (strcmp(argv[k], "--json") == 0)
			as_json = 1;
		else if (path == NULL && argv[k][0] != '-')
			path = argv[k];
		else {
			ctl_usage(stderr);
			return 1;
		}
	}
	if (path == NULL || (as_json && !dry)) {
		ctl_usage(stderr);
		return 1;
	}
	if (arb_policy_load(path, &pf, err, sizeof(err)) != 0) {
		ctl_warnx(c, "%s", err);
		return 1;
	}
	if (dry) {
		rv = ctl_dry_run(c, pf, as_json);
		goto done;
	}
	for (i = 0; i < pf->nblobs; i++)
		if ((rv = ctl_upload(c, pf->blob_paths[i],
		    pf->pol.blobs[i])) != 0)
			goto done;
	pub.policy = &pf->pol;
	req.body_case = ARBOR__ENVELOPE__BODY_PUBLISH;
	req.publish = &pub;
	if ((rv = ctl_call(c, &req, ARBOR__ENVELOPE__BODY_DONE, &rep)) != 0)
		goto done;
	printf("published %s v%" PRIu32 ": head seq %" PRIu64 "%s%s%s\n",
	    pf->pol.id, pf->pol.version, rep->done->seq,
	    rep->done->detail[0] != '\0' ? " (" : "", rep->done->detail,
	    rep->done->detail[0] != '\0' ? ")" : "");
	arb_wire_free(rep);
done:
	arb_policy_file_free(pf);
	return rv;
}

/* ---- retire, push, rollback */

/*
 * The commands that name one current policy and get Done back: bc is the
 * request (ARBOR__ENVELOPE__BODY_RETIRE, _PUSH or _ROLLBACK).
 */
static int
ctl_one_policy(struct ctl *c, int argc, char *argv[],
    Arbor__Envelope__BodyCase bc)
{
	Arbor__Envelope	 req = ARBOR__ENVELOPE__INIT;
	Arbor__Retire	 ret = ARBOR__RETIRE__INIT;
	Arbor__Push	 psh = ARBOR__PUSH__INIT;
	Arbor__Rollback	 rb = ARBOR__ROLLBACK__INIT;
	Arbor__Envelope	*rep;

	if (argc != 2) {
		ctl_usage(stderr);
		return 1;
	}
	if (!arb_policy_id_valid(argv[1])) {
		ctl_warnx(c, "\"%s\": not a policy id", argv[1]);
		return 1;
	}
	req.body_case = bc;
	switch (bc) {
	case ARBOR__ENVELOPE__BODY_PUSH:
		psh.id = argv[1];
		req.push = &psh;
		break;
	case ARBOR__ENVELOPE__BODY_RETIRE:
		ret.id = argv[1];
		req.retire = &ret;
		break;
	default:
		rb.id = argv[1];
		req.rollback = &rb;
		break;
	}
	if (ctl_call(c, &req, ARBOR__ENVELOPE__BODY_DONE, &rep) != 0)
		return 1;
	if (bc == ARBOR__ENVELOPE__BODY_ROLLBACK)
		printf("rollback of %s asked: head seq %" PRIu64 "\n",
		    argv[1], rep->done->seq);
	else
		printf("%s %s: head seq %" PRIu64 "\n",
		    bc == ARBOR__ENVELOPE__BODY_PUSH ? "pushed" : "retired",
		    argv[1], rep->done->seq);
	arb_wire_free(rep);
	return 0;
}

int
cmd_retire(struct ctl *c, int argc, char *argv[])
{
	return ctl_one_policy(c, argc, argv, ARBOR__ENVELOPE__BODY_RETIRE);
}

int
cmd_push(struct ctl *c, int argc, char *argv[])
{
	return ctl_one_policy(c, argc, argv, ARBOR__ENVELOPE__BODY_PUSH);
}

int
cmd_rollback(struct ctl *c, int argc, char *argv[])
{
	return ctl_one_policy(c, argc, argv, ARBOR__ENVELOPE__BODY_ROLLBACK);
}

/* ---- catalog */

/* UTC time as ISO 8601 into out (at least 32 bytes). */
static void
ctl_time(int64_t t, char *out, size_t outlen)
{
	struct tm	tm;
	time_t		tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, outlen, "%" PRId64, t);
}

static void
ctl_print_policy(const Arbor__Policy *p, int urgent)
{
	char	hex[ARB_SHA256_HEX];
	size_t	i;

	printf("%s v%" PRIu32 " [%s]%s %s\n", p->id, p->version, p->severity,
	    urgent ? " URGENT" : "", p->title);
	for (i = 0; i < p->n_blobs; i++) {
		if (p->blobs[i]->sha256.len == ARB_SHA256_LEN)
			arb_hex(p->blobs[i]->sha256.data, ARB_SHA256_LEN, hex);
		else
			strcpy(hex, "?");
		printf("    %s  %" PRIu64 " bytes  sha256:%s\n",
		    p->blobs[i]->name, p->blobs[i]->size, hex);
	}
}

/* Decode and show the catalog; 0, or 1 after a message. */
static int
ctl_show_catalog(const struct ctl *c, const Arbor__CatalogReply *cr,
    int as_json)
{
	Arbor__Head		*h = NULL;
	Arbor__Policy		*p;
	const Arbor__PolicyRef	*ref;
	char			 t1[32], t2[32];
	size_t			 i;
	int			 rv, ret = 1;

	if (as_json)
		return ctl_json_print(c, view_catalog(cr));
	if (cr->head != NULL && (rv = arb_wire_decode_head(cr->head->body.data,
	    cr->head->body.len, &h)) != 0) {
		ctl_warnx(c, "bad head from the root: %s", arb_strerror(rv));
		return 1;
	}
	if (h == NULL) {
		printf("no head yet\n");
	} else {
		ctl_time(h->issued_at, t1, sizeof(t1));
		ctl_time(h->expires_at, t2, sizeof(t2));
		printf("head seq %" PRIu64 "  issued %s  expires %s\n",
		    h->seq, t1, t2);
		if (cr->n_policies == 0)
			printf("no policies\n");
	}
	for (i = 0; i < cr->n_policies; i++) {
		if ((rv = arb_wire_decode_policy(cr->policies[i]->body.data,
		    cr->policies[i]->body.len, &p)) != 0) {
			ctl_warnx(c, "bad policy from the root: %s",
			    arb_strerror(rv));
			goto done;
		}
		ref = view_find_ref(h, cr->policies[i]);
		ctl_print_policy(p, ref != NULL && ref->urgent);
		arb_wire_free_policy(p);
	}
	ret = 0;
done:
	if (h != NULL)
		arb_wire_free_head(h);
	return ret;
}

int
ctl_get_catalog(const struct ctl *c, Arbor__Envelope **repp)
{
	Arbor__Envelope		 req = ARBOR__ENVELOPE__INIT;
	Arbor__GetCatalog	 gc = ARBOR__GET_CATALOG__INIT;

	req.body_case = ARBOR__ENVELOPE__BODY_GET_CATALOG;
	req.get_catalog = &gc;
	return ctl_call(c, &req, ARBOR__ENVELOPE__BODY_CATALOG_REPLY, repp);
}

int
ctl_get_current(const struct ctl *c, struct view_current **vp, size_t *np)
{
	Arbor__Envelope	*rep;
	int		 rv;

	if (ctl_get_catalog(c, &rep) != 0)
		return 1;
	if ((rv = view_current(rep->catalog_reply, vp, np)) != 0)
		ctl_warnx(c, "bad policy from the root: %s", arb_strerror(rv));
	arb_wire_free(rep);
	return rv != 0;
}

int
cmd_catalog(struct ctl *c, int argc, char *argv[])
{
	Arbor__Envelope		*rep;
	int			 as_json = 0, rv;

	if (ctl_json_arg(argc, argv, &as_json) != 0)
		return 1;
	if (ctl_get_catalog(c, &rep) != 0)
		return 1;
	rv = ctl_show_catalog(c, rep->catalog_reply, as_json);
	arb_wire_free(rep);
	return rv;
}
