/*
 * Writes the seed corpora for the wire fuzz targets: valid encodings of
 * every body type, heads, policies and stored Signed records, reports,
 * enrolments and the root's records, plus truncated and damaged copies of
 * some; and for fuzz_batch, report batches signed with the key of the
 * endpoint it enrolls (fuzz_batch.h).  Not part of the build and not a
 * test; run by hand when the schema changes:
 *
 *	cc -std=c11 -D_GNU_SOURCE -I lib/include -I B/proto \
 *	    tests/fuzz/mkcorpus.c lib/wire.c lib/error.c lib/sig.c \
 *	    lib/log.c lib/report.c B/proto/arbor.pb-c.c \
 *	    -lprotobuf-c -lcrypto -o /tmp/mkcorpus
 *	/tmp/mkcorpus tests/fuzz/corpus
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbor/error.h"
#include "arbor/report.h"
#include "arbor/sig.h"
#include "arbor/wire.h"
#include "fuzz_batch.h"

static const char	*outdir;
static uint8_t		 sha[32], sig[64], kid[8], data[512];

static ProtobufCBinaryData
bin(const uint8_t *p, size_t n)
{
	ProtobufCBinaryData	b;

	b.data = (uint8_t *)p;
	b.len = n;
	return b;
}

static void
put(const char *sub, const char *name, const uint8_t *buf, size_t len)
{
	char	 path[1024];
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s/%s", outdir, sub, name);
	if ((fp = fopen(path, "wb")) == NULL ||
	    fwrite(buf, 1, len, fp) != len || fclose(fp) != 0) {
		perror(path);
		exit(1);
	}
}

/* A valid encoding, a truncated copy and a copy with one byte flipped. */
static void env(const char *, Arbor__Envelope *);

/* A head that locks an endpoint and a group; a lock asked for. */
static void
locks(void)
{
	Arbor__Head	 h = ARBOR__HEAD__INIT;
	Arbor__Lock	 l[2], *lp[2] = { &l[0], &l[1] };
	Arbor__LockCtl	 lc = ARBOR__LOCK_CTL__INIT;
	Arbor__Envelope	 e = ARBOR__ENVELOPE__INIT;
	uint8_t		*buf;
	size_t		 len;

	arbor__lock__init(&l[0]);
	l[0].endpoint_id = "0123456789abcdef0123456789abcdef";
	l[0].reason = "old payroll machine";
	arbor__lock__init(&l[1]);
	l[1].group = "trading";
	l[1].reason = "market hours";
	l[1].until_ms = 1700003600000;
	h.seq = 18;
	h.issued_at = 1700000000;
	h.expires_at = 1700086400;
	h.locks = lp;
	h.n_locks = 2;
	if (arb_wire_encode_head(&h, &buf, &len) == 0) {
		put("signed", "head-locks", buf, len);
		free(buf);
	}
	lc.op = "lock";
	lc.lock = &l[1];
	e.version = 1;
	e.body_case = ARBOR__ENVELOPE__BODY_LOCK_CTL;
	e.lock_ctl = &lc;
	env("lock_ctl", &e);
}

static void
put3(const char *sub, const char *name, uint8_t *buf, size_t len)
{
	char	n[256];

	put(sub, name, buf, len);
	if (len < 4)
		return;
	snprintf(n, sizeof(n), "%s.trunc", name);
	put(sub, n, buf, len / 2);
	buf[len / 3] ^= 0x5a;
	snprintf(n, sizeof(n), "%s.flip", name);
	put(sub, n, buf, len);
}

/*
 * For fuzz_report: the first byte picks the decoder (report, enroll,
 * entry, eprec, relayinfo), the rest is the encoding; damaged copies of
 * the first three.
 */
static void
sel(int which, const char *name, const uint8_t *enc, size_t len)
{
	uint8_t	*buf;

	if ((buf = malloc(len + 1)) == NULL) {
		perror("malloc");
		exit(1);
	}
	buf[0] = (uint8_t)which;
	memcpy(buf + 1, enc, len);
	if (which < 3)
		put3("report", name, buf, len + 1);
	else
		put("report", name, buf, len + 1);
	free(buf);
}

/* One endpoint's detail: the request, and a reply with a row each. */
static void
detail(void)
{
	static char		*via[] = { "relay-eu-1" };
	Arbor__Envelope		 e = ARBOR__ENVELOPE__INIT;
	Arbor__GetEndpoint	 ge = ARBOR__GET_ENDPOINT__INIT;
	Arbor__EndpointDetail	 d = ARBOR__ENDPOINT_DETAIL__INIT;
	Arbor__EndpointRecord	 rec = ARBOR__ENDPOINT_RECORD__INIT;
	Arbor__EndpointInfo	 row = ARBOR__ENDPOINT_INFO__INIT, *rowp = &row;
	Arbor__HistoryEntry	 he = ARBOR__HISTORY_ENTRY__INIT, *hep = &he;
	Arbor__InventoryDelta	 inv = ARBOR__INVENTORY_DELTA__INIT;
	Arbor__Mount		 m = ARBOR__MOUNT__INIT, *mp = &m;
	static uint8_t		 digest[32], pub[32];

	e.body_case = ARBOR__ENVELOPE__BODY_GET_ENDPOINT;
	ge.endpoint_id = "0123456789abcdef0123456789abcdef";
	ge.packages = 1;
	e.get_endpoint = &ge;
	env("get_endpoint", &e);

	rec.pubkey = bin(pub, sizeof(pub));
	rec.hostname = "web-01";
	rec.via = via;
	rec.n_via = 1;
	he.policy_id = "demo-openssl";
	he.version = 1;
	he.state = ARB_ST_FIXED;
	he.at = 1700000100;
	rec.history = &hep;
	rec.n_history = 1;
	row.endpoint_id = ge.endpoint_id;
	row.hostname = "web-01";
	row.policy_id = "demo-openssl";
	row.state = ARB_ST_FIXED;
	row.detail = "exit 0";
	inv.full = 1;
	inv.digest = bin(digest, sizeof(digest));
	inv.kernel = "6.1.0-18-amd64";
	inv.cpus = 2;
	inv.mem_bytes = 4294967296ULL;
	m.path = "/";
	m.fstype = "ext4";
	m.size = 1 << 30;
	inv.mounts = &mp;
	inv.n_mounts = 1;
	d.endpoint_id = ge.endpoint_id;
	d.record = &rec;
	d.rows = &rowp;
	d.n_rows = 1;
	d.inventory = &inv;
	e.body_case = ARBOR__ENVELOPE__BODY_ENDPOINT_DETAIL;
	e.endpoint_detail = &d;
	env("endpoint_detail", &e);
}

static void
reports(void)
{
	static char		*groups[] = { "web", "prod" };
	static char		*via[] = { "relay-eu-1", "relay-root" };
	Arbor__Report		 r = ARBOR__REPORT__INIT;
	Arbor__Inventory	 inv = ARBOR__INVENTORY__INIT;
	Arbor__EnrollBody	 en = ARBOR__ENROLL_BODY__INIT;
	Arbor__Signed		 s = ARBOR__SIGNED__INIT;
	Arbor__ReportEntry	 ent = ARBOR__REPORT_ENTRY__INIT;
	Arbor__EndpointRecord	 ep = ARBOR__ENDPOINT_RECORD__INIT;
	Arbor__RelayInfo	 ri = ARBOR__RELAY_INFO__INIT;
	Arbor__HistoryEntry	 he[2], *hep[2];
	uint8_t			*rbuf, *buf;
	size_t			 rlen, len;

	inv.hostname = "web-01";
	inv.os_id = "debian";
	inv.os_version_id = "12";
	inv.arch = "amd64";
	inv.packages = 412;
	inv.groups = groups;
	inv.n_groups = 2;
	r.endpoint_id = "0123456789abcdef0123456789abcdef";
	r.seq = 7;
	r.policy_id = "openssl";
	r.version = 1;
	r.state = 3;
	r.exit_code = 0;
	r.detail = "installed openssl 3.0.13";
	r.at = 1700000100;
	r.inventory = &inv;
	if (arb_wire_encode_report(&r, &rbuf, &rlen) != 0)
		exit(1);
	sel(0, "report", rbuf, rlen);

	en.pubkey = bin(data, 32);
	en.endpoint_id = "0123456789abcdef0123456789abcdef";
	en.token = "enrol-token-1";
	en.hostname = "web-01";
	en.at = 1700000000;
	if (arb_wire_encode_enroll(&en, &buf, &len) != 0)
		exit(1);
	sel(1, "enroll", buf, len);
	free(buf);

	s.body = bin(rbuf, rlen);
	s.sig = bin(sig, 64);
	s.key_id = bin(kid, 8);
	ent.report = &s;
	ent.via = via;
	ent.n_via = 2;
	if (arb_wire_encode_entry(&ent, &buf, &len) != 0)
		exit(1);
	sel(2, "entry", buf, len);
	free(buf);

	ep.pubkey = bin(data, 32);
	ep.hostname = "web-01";
	ep.enrolled_at = 1700000000;
	ep.last_contact = 1700000100;
	ep.via = via;
	ep.n_via = 2;
	ep.inventory = &inv;
	if (arb_wire_encode_eprec(&ep, &buf, &len) != 0)
		exit(1);
	sel(3, "eprec", buf, len);
	free(buf);
	/* With its history: running, then fixed. */
	for (len = 0; len < 2; len++) {
		arbor__history_entry__init(&he[len]);
		he[len].policy_id = "demo-openssl";
		he[len].version = 1;
		he[len].state = len ? ARB_ST_FIXED : ARB_ST_RUNNING;
		he[len].at = 1700000050 + (int64_t)len;
		hep[len] = &he[len];
	}
	ep.history = hep;
	ep.n_history = 2;
	if (arb_wire_encode_eprec(&ep, &buf, &len) != 0)
		exit(1);
	sel(3, "eprec-history", buf, len);
	free(buf);
	ep.history = NULL;
	ep.n_history = 0;

	ri.node_id = "relay-eu-1";
	ri.parent = "tcp://root.example:7400";
	ri.children = 12;
	ri.head_seq = 17;
	ri.at = 1700000100;
	if (arb_wire_encode_relayinfo(&ri, &buf, &len) != 0)
		exit(1);
	sel(4, "relayinfo", buf, len);
	free(buf);
	free(rbuf);
}

/*
 * One report entry of the fuzz_batch endpoint, signed with its key into
 * *sg (body, sig and key_id malloc'd) and *e.
 */
static void
batch_entry(const struct arb_key *k, const char *id, uint64_t seq,
    const char *policy, unsigned st, Arbor__Signed *sg, Arbor__ReportEntry *e)
{
	static char	*via[] = { "relay-eu-1", "relay-root" };
	Arbor__Report	 r = ARBOR__REPORT__INIT;
	uint8_t		*body, *sig, *kid;
	size_t		 len;

	r.endpoint_id = (char *)id;
	r.seq = seq;
	r.policy_id = (char *)policy;
	r.version = 2;
	r.state = st;
	r.detail = st == ARB_ST_FAILED ? "exit 1: dpkg: error" : "";
	r.at = 1700000100 + (int64_t)seq;
	if (arb_wire_encode_report(&r, &body, &len) != 0 ||
	    (sig = malloc(ARB_SIG_LEN)) == NULL ||
	    (kid = malloc(ARB_KEYID_LEN)) == NULL ||
	    arb_sign(k, body, len, sig) != 0 || arb_key_id(k, kid) != 0)
		exit(1);
	arbor__signed__init(sg);
	sg->body = bin(body, len);
	sg->sig = bin(sig, ARB_SIG_LEN);
	sg->key_id = bin(kid, ARB_KEYID_LEN);
	arbor__report_entry__init(e);
	e->report = sg;
	e->via = via;
	e->n_via = 2;
}

/*
 * A ReportBatch alone, as fuzz_batch takes it: the Envelope's encoding
 * without its version, the field tag and the length in front.
 */
static void
batch(const char *name, Arbor__ReportEntry **ents, size_t n,
    Arbor__RelayInfo **relays, size_t nrelays)
{
	Arbor__Envelope		e = ARBOR__ENVELOPE__INIT;
	Arbor__ReportBatch	b = ARBOR__REPORT_BATCH__INIT;
	uint8_t			*buf;
	size_t			 len, off = 4;

	b.entries = ents;
	b.n_entries = n;
	b.relays = relays;
	b.n_relays = nrelays;
	e.body_case = ARBOR__ENVELOPE__BODY_REPORT_BATCH;
	e.report_batch = &b;
	/* version = 1 (08 01), then field 52, length-delimited (a2 03). */
	if (arb_wire_encode(&e, &buf, &len) != 0 || len < 5 ||
	    memcmp(buf, "\x08\x01\xa2\x03", 4) != 0)
		exit(1);
	while (off < len && (buf[off] & 0x80))
		off++;
	put("batch", name, buf + off + 1, len - off - 1);
	free(buf);
}

static void
batches(void)
{
	static const unsigned	 st[6] = { ARB_ST_DOWNLOADING,
				    ARB_ST_RUNNING, ARB_ST_FIXED,
				    ARB_ST_FAILED, ARB_ST_FIXED,
				    ARB_ST_UNKNOWN };
	Arbor__Signed		 sg[10];
	Arbor__ReportEntry	 ent[10], *entp[10];
	Arbor__RelayInfo	 ri = ARBOR__RELAY_INFO__INIT, *rip = &ri;
	struct arb_key		*k, *other;
	char			 id[ARB_EPID_HEX], oid[ARB_EPID_HEX];
	size_t			 i;

	if (arb_key_from_raw_private(fuzz_batch_seed, &k) != 0 ||
	    arb_endpoint_id(k, id) != 0 || arb_key_generate(&other) != 0 ||
	    arb_endpoint_id(other, oid) != 0)
		exit(1);
	ri.node_id = "relay-eu-1";
	ri.parent = "tcp://root.example:7400";
	ri.children = 12;
	ri.head_seq = 17;
	ri.at = 1700000100;
	/* Newer than the report the store holds: taken, and counted. */
	batch_entry(k, id, FUZZ_BATCH_HELD_SEQ + 1, FUZZ_BATCH_POLICY,
	    ARB_ST_FIXED, &sg[0], &ent[0]);
	/* Moving from state to state, another policy, an inventory. */
	for (i = 1; i <= 6; i++)
		batch_entry(k, id, FUZZ_BATCH_HELD_SEQ + i, i <= 4 ?
		    FUZZ_BATCH_POLICY : i == 5 ? "curl" : "", st[i - 1],
		    &sg[i], &ent[i]);
	/*
	 * The held sequence again; an endpoint that never enrolled; the
	 * enrolled endpoint's id under another key.
	 */
	batch_entry(k, id, FUZZ_BATCH_HELD_SEQ, FUZZ_BATCH_POLICY,
	    ARB_ST_FAILED, &sg[7], &ent[7]);
	batch_entry(other, oid, 9, FUZZ_BATCH_POLICY, ARB_ST_FIXED, &sg[8],
	    &ent[8]);
	batch_entry(other, id, 9, FUZZ_BATCH_POLICY, ARB_ST_FIXED, &sg[9],
	    &ent[9]);
	for (i = 0; i < 10; i++)
		entp[i] = &ent[i];
	batch("one", entp, 1, &rip, 1);
	batch("moves", entp + 1, 6, &rip, 1);
	entp[6] = &ent[7];
	entp[7] = &ent[0];
	batch("replay", entp + 6, 2, NULL, 0);	/* held seq, then newer */
	batch("unknown", entp + 8, 1, NULL, 0);
	batch("otherkey", entp + 9, 1, NULL, 0);
	batch("mixed", entp + 6, 4, &rip, 1);
	batch("empty", NULL, 0, &rip, 1);
	/* A good signature with one bit of it flipped. */
	sg[0].sig.data[7] ^= 0x10;
	batch("badsig", entp, 1, NULL, 0);
	for (i = 0; i < 10; i++) {
		free(sg[i].body.data);
		free(sg[i].sig.data);
		free(sg[i].key_id.data);
	}
	arb_key_free(other);
	arb_key_free(k);
}

static void
env(const char *name, Arbor__Envelope *e)
{
	uint8_t	*buf;
	size_t	 len;

	if (arb_wire_encode(e, &buf, &len) != 0) {
		fprintf(stderr, "%s: encode failed\n", name);
		exit(1);
	}
	put3("envelope", name, buf, len);
	free(buf);
}

/* arborctl's other actions, as the root names them for its audit trail. */
static void
actions(void)
{
	Arbor__Envelope		e = ARBOR__ENVELOPE__INIT;
	Arbor__RolloutCtl	rc = ARBOR__ROLLOUT_CTL__INIT;
	Arbor__ApiTokenCtl	ac = ARBOR__API_TOKEN_CTL__INIT;
	Arbor__Push		push = ARBOR__PUSH__INIT;
	Arbor__Rollback		rb = ARBOR__ROLLBACK__INIT;
	Arbor__KeyRotate	kr = ARBOR__KEY_ROTATE__INIT;

	e.version = 1;
	e.body_case = ARBOR__ENVELOPE__BODY_ROLLOUT_CTL;
	rc.id = "openssl-3.0.13";
	rc.op = "retry-failed";
	e.rollout_ctl = &rc;
	env("rollout_ctl", &e);
	e.body_case = ARBOR__ENVELOPE__BODY_API_TOKEN_CTL;
	ac.op = "create";
	ac.name = "ci-deploy";
	ac.role = "operator";
	ac.sha256 = bin(sha, 32);
	e.api_token_ctl = &ac;
	env("api_token_ctl", &e);
	e.body_case = ARBOR__ENVELOPE__BODY_PUSH;
	push.id = "openssl-3.0.13";
	e.push = &push;
	env("push", &e);
	e.body_case = ARBOR__ENVELOPE__BODY_ROLLBACK;
	rb.id = "openssl-3.0.13";
	e.rollback = &rb;
	env("rollback", &e);
	e.body_case = ARBOR__ENVELOPE__BODY_KEY_ROTATE;
	kr.key_path = "/etc/arbor/publisher-2.key";
	e.key_rotate = &kr;
	env("key_rotate", &e);
}

/* The compliance control requests (arborctl baseline, exempt, compliance). */
static void
compliance(void)
{
	Arbor__Envelope		e = ARBOR__ENVELOPE__INIT;
	Arbor__ComplianceCtl	cc = ARBOR__COMPLIANCE_CTL__INIT;
	Arbor__Baseline		b = ARBOR__BASELINE__INIT;
	Arbor__Exemption	x = ARBOR__EXEMPTION__INIT;
	Arbor__GetCompliance	g = ARBOR__GET_COMPLIANCE__INIT;
	char			*groups[] = { "servers" };
	char			*pols[] = { "openssl-3.0.15", "kernel-6.1" };

	b.name = "servers-2026-12";
	b.target_groups = groups;
	b.n_target_groups = 1;
	b.policies = pols;
	b.n_policies = 2;
	cc.op = "baseline-set";
	cc.baseline = &b;
	e.body_case = ARBOR__ENVELOPE__BODY_COMPLIANCE_CTL;
	e.compliance_ctl = &cc;
	env("compliance_baseline", &e);
	x.group = "lab";
	x.reason = "change freeze";
	x.until_ms = 1798761600000LL;
	cc.op = "exempt-set";
	cc.baseline = NULL;
	cc.exemption = &x;
	env("compliance_exempt", &e);
	g.baseline = "servers-2026-12";
	g.silent_after_ms = 8000;
	e.body_case = ARBOR__ENVELOPE__BODY_GET_COMPLIANCE;
	e.get_compliance = &g;
	env("get_compliance", &e);
}

int
main(int argc, char *argv[])
{
	static const uint8_t	garbage[] = { 0xff, 0xff, 0xff, 0x0f };
	Arbor__Envelope		e = ARBOR__ENVELOPE__INIT;
	Arbor__Hello		hello = ARBOR__HELLO__INIT;
	Arbor__GetHead		gh = ARBOR__GET_HEAD__INIT;
	Arbor__HeadReply	hr = ARBOR__HEAD_REPLY__INIT;
	Arbor__GetPolicy	gp = ARBOR__GET_POLICY__INIT;
	Arbor__PolicyReply	pr = ARBOR__POLICY_REPLY__INIT;
	Arbor__GetChunk		gc = ARBOR__GET_CHUNK__INIT;
	Arbor__Chunk		ch = ARBOR__CHUNK__INIT;
	Arbor__Notify		no = ARBOR__NOTIFY__INIT;
	Arbor__PutChunk		pc = ARBOR__PUT_CHUNK__INIT;
	Arbor__Publish		pub = ARBOR__PUBLISH__INIT;
	Arbor__Retire		re = ARBOR__RETIRE__INIT;
	Arbor__Done		dn = ARBOR__DONE__INIT;
	Arbor__GetCatalog	gcat = ARBOR__GET_CATALOG__INIT;
	Arbor__CatalogReply	cr = ARBOR__CATALOG_REPLY__INIT;
	Arbor__TokenCtl		tc = ARBOR__TOKEN_CTL__INIT;
	Arbor__TokenReply	tr = ARBOR__TOKEN_REPLY__INIT;
	Arbor__TokenRecord	tk = ARBOR__TOKEN_RECORD__INIT, *tkp[1];
	Arbor__EndpointRevoke	erv = ARBOR__ENDPOINT_REVOKE__INIT;
	static char		*groups[] = { "lab", "servers" };
	Arbor__Head		h = ARBOR__HEAD__INIT;
	Arbor__PolicyRef	ref[3], *refp[3];
	Arbor__Policy		pol = ARBOR__POLICY__INIT;
	Arbor__BlobRef		blob[2], *blobp[2];
	Arbor__Signed		sh = ARBOR__SIGNED__INIT;
	Arbor__Signed		sp = ARBOR__SIGNED__INIT, *spp[1];
	uint8_t			*hbuf, *pbuf, *buf;
	size_t			 hlen, plen, len, i;

	if (argc != 2) {
		fprintf(stderr, "usage: mkcorpus corpusdir\n");
		return 2;
	}
	outdir = argv[1];
	for (i = 0; i < sizeof(sha); i++)
		sha[i] = (uint8_t)(i * 7);
	memset(sig, 0x53, sizeof(sig));
	memset(kid, 0x4b, sizeof(kid));
	memset(data, 0x44, sizeof(data));

	/* Signed bodies first: a head naming three policies, a policy. */
	for (i = 0; i < 3; i++) {
		arbor__policy_ref__init(&ref[i]);
		ref[i].id = i == 0 ? "openssl" : i == 1 ? "kernel-6.1" :
		    "tzdata_2024a";
		ref[i].version = (uint32_t)i + 1;
		ref[i].sha256 = bin(sha, 32);
		ref[i].urgent = i == 2;
		refp[i] = &ref[i];
	}
	h.seq = 17;
	h.issued_at = 1700000000;
	h.expires_at = 1700086400;
	h.policies = refp;
	h.n_policies = 3;
	for (i = 0; i < 2; i++) {
		arbor__blob_ref__init(&blob[i]);
		blob[i].name = i == 0 ? "openssl_3.0.13.deb" : "install.sh";
		blob[i].sha256 = bin(sha, 32);
		blob[i].size = i == 0 ? 1500000 : 300;
		blobp[i] = &blob[i];
	}
	pol.id = "openssl";
	pol.version = 1;
	pol.title = "OpenSSL 3.0.13";
	pol.severity = "critical";
	pol.applicability = "package openssl < 3.0.13";
	pol.action = "sh install.sh";
	pol.rollback = "apt-get install openssl=3.0.11";
	pol.blobs = blobp;
	pol.n_blobs = 2;
	pol.published_at = 1700000000;
	if (arb_wire_encode_head(&h, &hbuf, &hlen) != 0 ||
	    arb_wire_encode_policy(&pol, &pbuf, &plen) != 0)
		return 1;
	sh.body = bin(hbuf, hlen);
	sh.sig = bin(sig, 64);
	sh.key_id = bin(kid, 8);
	sp.body = bin(pbuf, plen);
	sp.sig = bin(sig, 64);
	sp.key_id = bin(kid, 8);

	put("signed", "head", hbuf, hlen);
	put("signed", "policy", pbuf, plen);
	if (arb_wire_encode_signed(&sh, &buf, &len) != 0)
		return 1;
	put3("signed", "signed-head", buf, len);
	free(buf);
	if (arb_wire_encode_signed(&sp, &buf, &len) != 0)
		return 1;
	put3("signed", "signed-policy", buf, len);
	free(buf);
	put("signed", "garbage", garbage, sizeof(garbage));

	e.body_case = ARBOR__ENVELOPE__BODY_HELLO;
	hello.node_id = "relay-eu-1";
	hello.kind = "relay";
	hello.head_seq = 16;
	e.hello = &hello;
	env("hello", &e);

	e.body_case = ARBOR__ENVELOPE__BODY_GET_HEAD;
	gh.have_seq = 16;
	e.get_head = &gh;
	env("get_head", &e);

	e.body_case = ARBOR__ENVELOPE__BODY_HEAD_REPLY;
	hr.head = &sh;
	e.head_reply = &hr;
	env("head_reply", &e);

	e.body_case = ARBOR__ENVELOPE__BODY_GET_POLICY;
	gp.sha256 = bin(sha, 32);
	e.get_policy = &gp;
	env("get_policy", &e);

	e.body_case = ARBOR__ENVELOPE__BODY_POLICY_REPLY;
	pr.policy = &sp;
	e.policy_reply = &pr;
	env("policy_reply", &e);

	e.body_case = ARBOR__ENVELOPE__BODY_GET_CHUNK;
	gc.sha256 = bin(sha, 32);
	gc.offset = 1048576;
	gc.len = 1048576;
	e.get_chunk = &gc;
	env("get_chunk", &e);

	e.body_case = ARBOR__ENVELOPE__BODY_CHUNK;
	ch.sha256 = bin(sha, 32);
	ch.offset = 1048576;
	ch.data = bin(data, sizeof(data));
	ch.total = 1500000;
	e.chunk = &ch;
	env("chunk", &e);

	e.body_case = ARBOR__ENVELOPE__BODY_NOTIFY;
	no.seq = 17;
	no.urgent = 1;
	no.policy_id = "openssl";
	e.notify = &no;
	env("notify", &e);

	e.body_case = ARBOR__ENVELOPE__BODY_PUT_CHUNK;
	pc.sha256 = bin(sha, 32);
	pc.size = 300;
	pc.offset = 0;
	pc.data = bin(data, 300);
	e.put_chunk = &pc;
	env("put_chunk", &e);

	e.body_case = ARBOR__ENVELOPE__BODY_PUBLISH;
	pub.policy = &pol;
	e.publish = &pub;
	env("publish", &e);

	e.body_case = ARBOR__ENVELOPE__BODY_RETIRE;
	re.id = "kernel-6.1";
	e.retire = &re;
	env("retire", &e);

	e.body_case = ARBOR__ENVELOPE__BODY_DONE;
	dn.seq = 18;
	dn.detail = "retired kernel-6.1";
	e.done = &dn;
	env("done", &e);

	e.body_case = ARBOR__ENVELOPE__BODY_GET_CATALOG;
	e.get_catalog = &gcat;
	env("get_catalog", &e);

	e.body_case = ARBOR__ENVELOPE__BODY_CATALOG_REPLY;
	cr.head = &sh;
	spp[0] = &sp;
	cr.policies = spp;
	cr.n_policies = 1;
	e.catalog_reply = &cr;
	env("catalog_reply", &e);

	e.body_case = ARBOR__ENVELOPE__BODY_TOKEN_CTL;
	tc.op = "create";
	tc.sha256 = bin(sha, 32);
	tc.groups = groups;
	tc.n_groups = 2;
	tc.expires_s = 7 * 86400;
	tc.max_uses = 2;
	e.token_ctl = &tc;
	env("token_ctl", &e);

	e.body_case = ARBOR__ENVELOPE__BODY_TOKEN_REPLY;
	tk.id = "00070e151c232a31";
	tk.groups = groups;
	tk.n_groups = 1;
	tk.created = 1700000000;
	tk.expires = 1700604800;
	tk.max_uses = 2;
	tk.uses = 1;
	tkp[0] = &tk;
	tr.tokens = tkp;
	tr.n_tokens = 1;
	tr.now = 1700000100;
	e.token_reply = &tr;
	env("token_reply", &e);

	e.body_case = ARBOR__ENVELOPE__BODY_ENDPOINT_REVOKE;
	erv.endpoint_id = "0123456789abcdef0123456789abcdef";
	erv.reason = "laptop stolen";
	e.endpoint_revoke = &erv;
	env("endpoint_revoke", &e);

	detail();

	locks();

	if (arb_wire_error(ARB_ENOTFOUND, &buf, &len, "policy %s: %s",
	    "openssl", arb_strerror(ARB_ENOTFOUND)) != 0)
		return 1;
	put3("envelope", "error", buf, len);
	free(buf);
	put("envelope", "garbage", garbage, sizeof(garbage));

	reports();
	batches();
	compliance();
	actions();

	free(hbuf);
	free(pbuf);
	return 0;
}
