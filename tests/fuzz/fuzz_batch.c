/*
 * Fuzz target for the root's judging of report batches (root/fanin.c).
 * The input is a ReportBatch as a relay sends it up: it is decoded as the
 * relay core decodes it (arb_wire_decode of an Envelope whose report_batch
 * is the input) and judged by root_fanin_batch against a store in which
 * one endpoint (fuzz_batch.h) is enrolled and holds one report.
 *
 * Whatever is taken, every entry is either accepted or rejected, a batch
 * changes the counts at most once per entry taken, and the counts kept
 * live equal the counts rebuilt from the status database the batch left.
 * Each input's transaction is aborted, so every input meets the same
 * store, which lives under mkdtemp() and is removed at exit.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arbor/error.h"
#include "arbor/report.h"
#include "arbor/store.h"
#include "arbor/strmap.h"
#include "fuzz_batch.h"
#include "root.h"

#define FUZZ_MAPSIZE	(64ULL * 1024 * 1024)
/*
 * What goes before the input: the Envelope's version (field 1, 1) and
 * the tag of its report_batch (field 52, length-delimited).
 */
static const uint8_t	fuzz_prefix[4] = { 0x08, 0x01, 0xa2, 0x03 };

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char			 fuzz_dir[64];
static struct arb_store		*fuzz_store;

static void
rmtree(const char *dir)
{
	DIR		*d;
	struct dirent	*de;
	char		 p[512];

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (unlink(p) == -1)
			rmtree(p);
	}
	closedir(d);
	rmdir(dir);
}

static void
fuzz_cleanup(void)
{
	if (fuzz_store != NULL)
		arb_store_close(fuzz_store);
	fuzz_store = NULL;
	rmtree(fuzz_dir);
}

/* The store every input meets: the endpoint, enrolled, and one report. */
static void
fuzz_setup(void)
{
	Arbor__EndpointRecord	 rec = ARBOR__ENDPOINT_RECORD__INIT;
	Arbor__Report		 r = ARBOR__REPORT__INIT;
	struct arb_key		*k;
	uint8_t			 pub[ARB_PUBKEY_LEN], key[ARB_REPORT_KEY_MAX];
	uint8_t			*buf;
	char			 id[ARB_EPID_HEX], path[96];
	size_t			 len, klen;

	snprintf(fuzz_dir, sizeof(fuzz_dir), "/tmp/arbor-fuzz-batch-XXXXXX");
	if (mkdtemp(fuzz_dir) == NULL)
		abort();
	atexit(fuzz_cleanup);
	snprintf(path, sizeof(path), "%s/db", fuzz_dir);
	if (arb_store_open(path, FUZZ_MAPSIZE, &fuzz_store) != 0 ||
	    arb_key_from_raw_private(fuzz_batch_seed, &k) != 0 ||
	    arb_key_raw_public(k, pub) != 0 ||
	    arb_endpoint_id(k, id) != 0)
		abort();
	arb_key_free(k);
	rec.pubkey.data = pub;
	rec.pubkey.len = sizeof(pub);
	rec.hostname = "fuzz-01";
	rec.enrolled_at = 1700000000;
	if (arb_wire_encode_eprec(&rec, &buf, &len) != 0 ||
	    arb_store_put(fuzz_store, ARB_DB_ENDPOINTS, id, strlen(id), buf,
	    len) != 0)
		abort();
	free(buf);
	r.endpoint_id = id;
	r.seq = FUZZ_BATCH_HELD_SEQ;
	r.policy_id = FUZZ_BATCH_POLICY;
	r.version = 1;
	r.state = ARB_ST_APPLICABLE;
	klen = arb_report_key(id, FUZZ_BATCH_POLICY, key);
	if (arb_wire_encode_report(&r, &buf, &len) != 0 || klen == 0 ||
	    arb_store_put(fuzz_store, ARB_DB_STATUS, key, klen, buf,
	    len) != 0)
		abort();
	free(buf);
}

struct cmp_arg {
	struct arb_strmap	*other;
	int			 differ;
};

static void
cmp_cb(const char *key, void *val, void *arg)
{
	static const struct root_pcounts	 zero;
	struct cmp_arg				*ca = arg;
	const struct root_pcounts		*pc = val, *o;

	if ((o = arb_strmap_get(ca->other, key)) == NULL)
		o = &zero;
	if (memcmp(pc->v, o->v, sizeof(pc->v)) != 0)
		ca->differ = 1;
}

/* 1 when a and b hold the same counts by state, policy by policy. */
static int
counts_equal(struct arb_strmap *a, struct arb_strmap *b)
{
	struct cmp_arg	ca;

	ca.differ = 0;
	ca.other = b;
	arb_strmap_each(a, cmp_cb, &ca);
	ca.other = a;
	arb_strmap_each(b, cmp_cb, &ca);
	return !ca.differ;
}

/* Judge b in a transaction that is then aborted; abort() on a broken rule. */
static void
fuzz_judge(const Arbor__ReportBatch *b)
{
	struct arb_strmap	*live = NULL, *again = NULL;
	struct root_delta	*d;
	struct arb_txn		*t;
	size_t			 i, nd = 0;
	uint32_t		 acc = 0, rej = 0;
	int			 rv;

	if ((d = calloc(b->n_entries + 1, sizeof(*d))) == NULL ||
	    arb_strmap_new(&live) != 0 || arb_strmap_new(&again) != 0 ||
	    arb_txn_begin(fuzz_store, 1, &t) != 0)
		abort();
	if (root_counts_load(live, t) != 0)
		abort();
	rv = root_fanin_batch(t, b, d, &nd, &acc, &rej, NULL);
	if (rv == 0) {
		if ((size_t)acc + rej != b->n_entries || nd > acc)
			abort();
		for (i = 0; i < nd; i++)
			root_counts_apply(live, &d[i]);
		if (root_counts_load(again, t) != 0 ||
		    !counts_equal(live, again))
			abort();
	} else if (rv != ARB_ESTORE && rv != -ENOMEM)
		abort();
	arb_txn_abort(t);
	arb_strmap_free(again, free);
	arb_strmap_free(live, free);
	free(d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Arbor__Envelope	*env;
	uint8_t		*buf;
	size_t		 n, v;

	if (fuzz_store == NULL)
		fuzz_setup();
	if (size > ARB_WIRE_MAX)
		return 0;
	if ((buf = malloc(size + 16)) == NULL)
		abort();
	memcpy(buf, fuzz_prefix, sizeof(fuzz_prefix));
	for (n = sizeof(fuzz_prefix), v = size; v >= 0x80; v >>= 7)
		buf[n++] = (uint8_t)(v | 0x80);
	buf[n++] = (uint8_t)v;
	memcpy(buf + n, data, size);
	if (arb_wire_decode(buf, n + size, &env) == 0) {
		if (env->body_case == ARBOR__ENVELOPE__BODY_REPORT_BATCH)
			fuzz_judge(env->report_batch);
		arb_wire_free(env);
	}
	free(buf);
	return 0;
}
