/*
 * Unit tests for the relay core (relay/, the static library arbor-relay
 * and arbor-root link): serving a head, a policy and chunks from a real
 * store and blob directory under mkdtemp(), a chunk damaged on disk, the
 * cache's LRU trim under a byte limit, single flight of a miss, and the
 * report spool (newer replaces older, older never displaces newer, an
 * acknowledgement deletes only records unchanged since they were sent).
 *
 * The parent is a small REP server in this process, on ipc://, that
 * serves one signed catalog, counts the chunk requests it sees, and holds
 * report batches until the test acknowledges them.  Children are an nng
 * REQ client in this process too, so no other process runs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "arbor/blob.h"
#include "arbor/catalog.h"
#include "arbor/error.h"
#include "arbor/keychain.h"
#include "arbor/net.h"
#include "arbor/report.h"
#include "arbor/store.h"
#include "arbor/fetch.h"
#include "arbor/link.h"
#include "arbor/sync.h"
#include "core_int.h"

#define BLOB_SIZE	(2 * ARB_CHUNK_SIZE + ARB_CHUNK_SIZE / 2)
#define MAX_REPLIES	16
#define MAX_HELD	8


/* A keychain pinning k's public half (the simple case). */
static int
test_keychain(const struct arb_key *k, struct arb_keychain **kcp)
{
	struct arb_key	*pub;
	uint8_t		 raw[ARB_PUBKEY_LEN];
	int		 rv;

	if ((rv = arb_key_raw_public(k, raw)) != 0 ||
	    (rv = arb_key_from_raw_public(raw, &pub)) != 0)
		return rv;
	return arb_keychain_new(pub, NULL, NULL, kcp);
}

struct fx {
	char			 dir[64];
	char			 svc[128], pub[128];
	uv_loop_t		 loop;
	uv_timer_t		 deadline, tick;
	struct arb_net		*net;
	struct arb_srv		*psrv;		/* the parent */
	struct arb_store	*store;
	struct arb_blobdir	*blobs;
	struct arb_key		*key;
	struct arb_keychain		*kc;	/* pins key */
	struct arb_link		*link;
	struct arb_sync		*sync;
	struct arb_fetcher	*fetch;
	struct arb_upstream	 up;
	struct arb_parent	 parent;
	struct relay_core	*core;
	struct arb_cli		*cli;		/* a child */
	uint8_t			*blob;
	uint8_t			 blobsha[ARB_SHA256_LEN];
	Arbor__Signed		 head, pol;
	uint8_t			 polsha[ARB_SHA256_LEN];
	int			 heads_seen;
	int			 chunk_reqs;
	struct arb_req		*held[MAX_HELD];	/* report batches */
	size_t			 held_n[MAX_HELD];	/* their entries */
	int			 batches;
	Arbor__Envelope		*replies[MAX_REPLIES];
	int			 nreplies;
	int			 (*until)(struct fx *);
	int			 timed_out;
};

/* ------------------------------------------------------------ the parent */

static void
reply_env(struct arb_req *req, Arbor__Envelope *env)
{
	uint8_t	*buf;
	size_t	 len;

	assert_int_equal(arb_wire_encode(env, &buf, &len), 0);
	assert_int_equal(arb_req_reply(req, buf, len), 0);
	free(buf);
}

static void
parent_cb(struct arb_req *req, const uint8_t *data, size_t len, void *arg)
{
	struct fx		*f = arg;
	Arbor__Envelope		*in, out = ARBOR__ENVELOPE__INIT;
	Arbor__HeadReply	 hr = ARBOR__HEAD_REPLY__INIT;
	Arbor__PolicyReply	 pr = ARBOR__POLICY_REPLY__INIT;
	Arbor__Chunk		 ch = ARBOR__CHUNK__INIT;

	assert_int_equal(arb_wire_decode(data, len, &in), 0);
	switch (in->body_case) {
	case ARBOR__ENVELOPE__BODY_GET_HEAD:
		hr.head = &f->head;
		out.body_case = ARBOR__ENVELOPE__BODY_HEAD_REPLY;
		out.head_reply = &hr;
		break;
	case ARBOR__ENVELOPE__BODY_GET_POLICY:
		pr.policy = &f->pol;
		out.body_case = ARBOR__ENVELOPE__BODY_POLICY_REPLY;
		out.policy_reply = &pr;
		break;
	case ARBOR__ENVELOPE__BODY_GET_CHUNK:
		f->chunk_reqs++;
		ch.sha256 = in->get_chunk->sha256;
		ch.offset = in->get_chunk->offset;
		ch.total = BLOB_SIZE;
		ch.data.data = f->blob + in->get_chunk->offset;
		ch.data.len = in->get_chunk->len;
		out.body_case = ARBOR__ENVELOPE__BODY_CHUNK;
		out.chunk = &ch;
		break;
	case ARBOR__ENVELOPE__BODY_REPORT_BATCH:
		/* Held: the test acknowledges it when it chooses. */
		assert_true(f->batches < MAX_HELD);
		f->held_n[f->batches] = in->report_batch->n_entries;
		f->held[f->batches++] = req;
		arb_wire_free(in);
		return;
	default:
		fail_msg("unexpected request %d", (int)in->body_case);
	}
	reply_env(req, &out);
	arb_wire_free(in);
}

static void
parent_ack(struct fx *f, int i)
{
	Arbor__Envelope		out = ARBOR__ENVELOPE__INIT;
	Arbor__ReportAck	ack = ARBOR__REPORT_ACK__INIT;

	ack.accepted = (uint32_t)f->held_n[i];
	out.body_case = ARBOR__ENVELOPE__BODY_REPORT_ACK;
	out.report_ack = &ack;
	reply_env(f->held[i], &out);
	f->held[i] = NULL;
}

/* -------------------------------------------------------------- the loop */

static void
deadline_cb(uv_timer_t *t)
{
	struct fx *f = t->data;

	f->timed_out = 1;
	uv_stop(&f->loop);
}

static void
tick_cb(uv_timer_t *t)
{
	struct fx *f = t->data;

	if (f->until(f))
		uv_stop(&f->loop);
}

/* Run the loop until pred holds (checked every 2 ms) or 10 s pass. */
static void
run_until(struct fx *f, int (*pred)(struct fx *))
{
	f->until = pred;
	uv_timer_start(&f->deadline, deadline_cb, 10000, 0);
	uv_timer_start(&f->tick, tick_cb, 2, 2);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	uv_timer_stop(&f->tick);
	uv_timer_stop(&f->deadline);
	assert_false(f->timed_out);
}

static int
head_seen(struct fx *f)
{
	return f->heads_seen > 0;
}

static void
on_head(void *arg, const Arbor__Head *head)
{
	struct fx	*f = arg;
	const uint8_t	*sb;
	size_t		 len;

	assert_non_null(sb = arb_sync_head_signed(f->sync, &len));
	relay_core_head(f->core, head, sb, len);
	f->heads_seen++;
}

/* ------------------------------------------------------------- a child */

static void
reply_cb(int rv, const uint8_t *data, size_t len, void *arg)
{
	struct fx *f = arg;

	assert_int_equal(rv, 0);
	assert_true(f->nreplies < MAX_REPLIES);
	assert_int_equal(arb_wire_decode(data, len,
	    &f->replies[f->nreplies]), 0);
	f->nreplies++;
}

static void
send_env(struct fx *f, const Arbor__Envelope *env)
{
	uint8_t	*buf;
	size_t	 len;

	assert_int_equal(arb_wire_encode(env, &buf, &len), 0);
	assert_int_equal(arb_cli_request(f->cli, buf, len, 5000, reply_cb, f),
	    0);
	free(buf);
}

static void
replies_clear(struct fx *f)
{
	int i;

	for (i = 0; i < f->nreplies; i++)
		arb_wire_free(f->replies[i]);
	f->nreplies = 0;
}

static int
one_reply(struct fx *f)
{
	return f->nreplies >= 1;
}

/* Send one request and wait for its reply (f->replies[0]). */
static Arbor__Envelope *
call(struct fx *f, const Arbor__Envelope *env)
{
	replies_clear(f);
	send_env(f, env);
	run_until(f, one_reply);
	return f->replies[0];
}

static Arbor__Envelope *
get_chunk(struct fx *f, const uint8_t *sha, uint64_t off, uint32_t len)
{
	Arbor__Envelope	env = ARBOR__ENVELOPE__INIT;
	Arbor__GetChunk	gc = ARBOR__GET_CHUNK__INIT;

	gc.sha256.data = (uint8_t *)sha;
	gc.sha256.len = ARB_SHA256_LEN;
	gc.offset = off;
	gc.len = len;
	env.body_case = ARBOR__ENVELOPE__BODY_GET_CHUNK;
	env.get_chunk = &gc;
	return call(f, &env);
}

/* ------------------------------------------------------------- fixture */

static void
build_catalog(struct fx *f)
{
	Arbor__Policy		 p = ARBOR__POLICY__INIT;
	Arbor__BlobRef		 b = ARBOR__BLOB_REF__INIT, *bs[1] = { &b };
	Arbor__Head		 h = ARBOR__HEAD__INIT;
	Arbor__PolicyRef	 r = ARBOR__POLICY_REF__INIT, *rs[1] = { &r };
	uint8_t			*buf;
	size_t			 len, i;

	f->blob = malloc(BLOB_SIZE);
	assert_non_null(f->blob);
	for (i = 0; i < BLOB_SIZE; i++)
		f->blob[i] = (uint8_t)(i * 7 + (i >> 12));
	assert_int_equal(arb_sha256(f->blob, BLOB_SIZE, f->blobsha), 0);
	b.name = (char *)"payload.bin";
	b.sha256.data = f->blobsha;
	b.sha256.len = ARB_SHA256_LEN;
	b.size = BLOB_SIZE;
	p.id = (char *)"p1";
	p.version = 1;
	p.severity = (char *)"low";
	p.blobs = bs;
	p.n_blobs = 1;
	assert_int_equal(arb_wire_encode_policy(&p, &buf, &len), 0);
	assert_int_equal(arb_signed_make(f->key, buf, len, &f->pol), 0);
	assert_int_equal(arb_sha256(buf, len, f->polsha), 0);
	free(buf);
	r.id = (char *)"p1";
	r.version = 1;
	r.sha256.data = f->polsha;
	r.sha256.len = ARB_SHA256_LEN;
	h.seq = 3;
	h.issued_at = time(NULL) - 5;
	h.expires_at = time(NULL) + 3600;
	h.policies = rs;
	h.n_policies = 1;
	assert_int_equal(arb_wire_encode_head(&h, &buf, &len), 0);
	assert_int_equal(arb_signed_make(f->key, buf, len, &f->head), 0);
	free(buf);
}

static int
setup(void **state)
{
	struct fx		*f = calloc(1, sizeof(*f));
	struct arb_link_conf	 lc;
	struct arb_sync_conf	 sc;
	struct arb_fetch_conf	 fc;
	char			 path[128], url[128];

	assert_non_null(f);
	strcpy(f->dir, "/tmp/arbor-test-rcore-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	uv_loop_init(&f->loop);
	uv_timer_init(&f->loop, &f->deadline);
	uv_timer_init(&f->loop, &f->tick);
	f->deadline.data = f->tick.data = f;
	assert_int_equal(arb_key_generate(&f->key), 0);
	assert_int_equal(test_keychain(f->key, &f->kc), 0);
	build_catalog(f);
	snprintf(path, sizeof(path), "%s/db", f->dir);
	assert_int_equal(arb_store_open(path, 64 << 20, &f->store), 0);
	snprintf(path, sizeof(path), "%s/blobs", f->dir);
	assert_int_equal(arb_blobdir_open(path, &f->blobs), 0);
	assert_int_equal(arb_net_new(&f->loop, &f->net), 0);
	snprintf(url, sizeof(url), "ipc://%s/parent-svc", f->dir);
	assert_int_equal(arb_srv_listen(f->net, url, 16, parent_cb, f,
	    &f->psrv), 0);
	f->parent.svc = strdup(url);
	snprintf(url, sizeof(url), "ipc://%s/parent-pub", f->dir);
	f->parent.pub = strdup(url);
	snprintf(f->svc, sizeof(f->svc), "ipc://%s/svc", f->dir);
	snprintf(f->pub, sizeof(f->pub), "ipc://%s/pub", f->dir);

	f->up.parents = &f->parent;
	f->up.nparents = 1;
	f->up.poll_ms = 600000;
	f->up.timeout_ms = 5000;
	f->up.fetch_depth = 2;
	memset(&lc, 0, sizeof(lc));
	lc.loop = &f->loop;
	lc.net = f->net;
	lc.up = &f->up;
	lc.kind = "relay";
	assert_int_equal(arb_link_new(&lc, &f->link), 0);
	memset(&sc, 0, sizeof(sc));
	sc.loop = &f->loop;
	sc.link = f->link;
	sc.store = f->store;
	sc.keys = f->kc;
	sc.up = &f->up;
	sc.node_id = "r-test";
	sc.kind = "relay";
	sc.on_head = on_head;
	sc.arg = f;
	assert_int_equal(arb_sync_new(&sc, &f->sync), 0);
	memset(&fc, 0, sizeof(fc));
	fc.loop = &f->loop;
	fc.link = f->link;
	fc.blobs = f->blobs;
	fc.up = &f->up;
	fc.chunk_hashes = 1;
	fc.kind = "relay";
	assert_int_equal(arb_fetch_new(&fc, &f->fetch), 0);
	*state = f;
	return 0;
}

/*
 * Start the core (cache_limit bytes of blobs, 0: none; report_max reports
 * before a batch goes up), a child connected to it, and sync the head.
 */
static void
start(struct fx *f, uint64_t cache_limit, uint64_t report_max)
{
	struct relay_core_conf cc;

	memset(&cc, 0, sizeof(cc));
	cc.loop = &f->loop;
	cc.net = f->net;
	cc.store = f->store;
	cc.blobs = f->blobs;
	cc.svc = f->svc;
	cc.pub = f->pub;
	cc.nctx = 16;
	cc.cache_limit = cache_limit;
	cc.chunk_cache = 4 * ARB_CHUNK_SIZE;
	cc.name = "relay";
	cc.link = f->link;
	cc.fetch = f->fetch;
	cc.node_id = "r-test";
	cc.report_ms = 600000;		/* batches go up by report_max */
	cc.report_max = report_max;
	cc.keys = f->kc;
	assert_int_equal(relay_core_new(&cc, &f->core), 0);
	assert_int_equal(arb_cli_dial(f->net, f->svc, 1, &f->cli), 0);
	assert_int_equal(arb_link_start(f->link), 0);
	assert_int_equal(arb_sync_start(f->sync), 0);
	run_until(f, head_seen);
}

static int
teardown(void **state)
{
	struct fx	*f = *state;
	char		 cmd[128];

	replies_clear(f);
	if (f->core)
		relay_core_free(f->core);
	arb_sync_free(f->sync);
	arb_fetch_free(f->fetch);
	arb_link_free(f->link);
	arb_net_free(f->net);
	uv_close((uv_handle_t *)&f->deadline, NULL);
	uv_close((uv_handle_t *)&f->tick, NULL);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	arb_blobdir_close(f->blobs);
	arb_store_close(f->store);
	arb_signed_clear(&f->head);
	arb_signed_clear(&f->pol);
	arb_keychain_free(f->kc);
	arb_key_free(f->key);
	free(f->blob);
	free(f->parent.svc);
	free(f->parent.pub);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* --------------------------------------------------------------- serving */

static void
test_serve_head_policy(void **state)
{
	struct fx		*f = *state;
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT, *r;
	Arbor__GetHead		 gh = ARBOR__GET_HEAD__INIT;
	Arbor__GetPolicy	 gp = ARBOR__GET_POLICY__INIT;
	Arbor__Hello		 he = ARBOR__HELLO__INIT;
	uint8_t			 other[ARB_SHA256_LEN];

	start(f, 0, 1000);
	/* A child without the head gets the policies inline... */
	gh.node_id = (char *)"child-1";
	gh.kind = (char *)"agent";
	env.body_case = ARBOR__ENVELOPE__BODY_GET_HEAD;
	env.get_head = &gh;
	r = call(f, &env);
	assert_int_equal(r->body_case, ARBOR__ENVELOPE__BODY_HEAD_REPLY);
	assert_int_equal(r->head_reply->head->body.len, f->head.body.len);
	assert_memory_equal(r->head_reply->head->body.data, f->head.body.data,
	    f->head.body.len);
	assert_int_equal(r->head_reply->n_policies, 1);
	assert_memory_equal(r->head_reply->policies[0]->body.data,
	    f->pol.body.data, f->pol.body.len);
	/* ... one that holds it, the bare head. */
	gh.have_seq = 3;
	r = call(f, &env);
	assert_int_equal(r->body_case, ARBOR__ENVELOPE__BODY_HEAD_REPLY);
	assert_int_equal(r->head_reply->n_policies, 0);
	assert_int_equal(relay_children(f->core, 0), 1);

	gp.sha256.data = f->polsha;
	gp.sha256.len = ARB_SHA256_LEN;
	env.body_case = ARBOR__ENVELOPE__BODY_GET_POLICY;
	env.get_policy = &gp;
	r = call(f, &env);
	assert_int_equal(r->body_case, ARBOR__ENVELOPE__BODY_POLICY_REPLY);
	assert_int_equal(r->policy_reply->policy->body.len, f->pol.body.len);
	assert_memory_equal(r->policy_reply->policy->body.data,
	    f->pol.body.data, f->pol.body.len);
	memset(other, 0x5a, sizeof(other));
	gp.sha256.data = other;
	r = call(f, &env);
	assert_int_equal(r->body_case, ARBOR__ENVELOPE__BODY_ERROR);
	assert_int_equal(r->error->code, ARB_ENOTFOUND);

	he.node_id = (char *)"child-1";
	he.kind = (char *)"agent";
	env.body_case = ARBOR__ENVELOPE__BODY_HELLO;
	env.hello = &he;
	r = call(f, &env);
	assert_int_equal(r->body_case, ARBOR__ENVELOPE__BODY_HELLO_REPLY);
	assert_int_equal(r->hello_reply->head_seq, 3);
}

/* Write a blob of size bytes (byte i is i * 13 + seed) into the cache. */
static void
put_blob(struct fx *f, size_t size, int seed, uint8_t sha[ARB_SHA256_LEN],
    uint8_t **datap)
{
	struct arb_blob_writer	*w;
	uint8_t			*d;
	size_t			 i;

	assert_non_null(d = malloc(size));
	for (i = 0; i < size; i++)
		d[i] = (uint8_t)(i * 13 + (size_t)seed);
	assert_int_equal(arb_sha256(d, size, sha), 0);
	assert_int_equal(arb_blob_writer_open(f->blobs, sha, size, &w), 0);
	assert_int_equal(arb_blob_writer_write(w, d, size), 0);
	assert_int_equal(arb_blob_writer_finish(w), 0);
	assert_int_equal(relay_core_index_blob(f->core, sha, NULL, 0), 0);
	*datap = d;
}

static void
test_serve_chunk(void **state)
{
	struct fx		*f = *state;
	struct relay_core_stats	 st;
	Arbor__Envelope		*r;
	uint8_t			 sha[ARB_SHA256_LEN], *data;
	char			 path[PATH_MAX];
	FILE			*fp;
	uint64_t		 size;
	int			 i;

	start(f, 0, 1000);
	put_blob(f, 2 * ARB_CHUNK_SIZE + 100, 1, sha, &data);
	/* Twice: the second time from the chunks kept in memory. */
	for (i = 0; i < 2; i++) {
		r = get_chunk(f, sha, 0, ARB_CHUNK_SIZE);
		assert_int_equal(r->body_case, ARBOR__ENVELOPE__BODY_CHUNK);
		assert_int_equal(r->chunk->total, 2 * ARB_CHUNK_SIZE + 100);
		assert_int_equal(r->chunk->data.len, ARB_CHUNK_SIZE);
		assert_memory_equal(r->chunk->data.data, data, ARB_CHUNK_SIZE);
	}
	r = get_chunk(f, sha, ARB_CHUNK_SIZE, ARB_CHUNK_SIZE);
	assert_int_equal(r->body_case, ARBOR__ENVELOPE__BODY_CHUNK);
	assert_memory_equal(r->chunk->data.data, data + ARB_CHUNK_SIZE,
	    ARB_CHUNK_SIZE);
	/* Off a chunk boundary, or the wrong length: refused. */
	r = get_chunk(f, sha, 5, ARB_CHUNK_SIZE);
	assert_int_equal(r->body_case, ARBOR__ENVELOPE__BODY_ERROR);
	assert_int_equal(r->error->code, ARB_EINVAL);
	r = get_chunk(f, sha, 2 * ARB_CHUNK_SIZE, 99);
	assert_int_equal(r->body_case, ARBOR__ENVELOPE__BODY_ERROR);
	/* A blob no policy names and the cache lacks: not found. */
	r = get_chunk(f, f->polsha, 0, ARB_CHUNK_SIZE);
	assert_int_equal(r->body_case, ARBOR__ENVELOPE__BODY_ERROR);
	assert_int_equal(r->error->code, ARB_ENOTFOUND);

	/* The last chunk damaged on disk: never served, the blob dropped. */
	arb_blob_path(f->blobs, sha, path, sizeof(path));
	assert_non_null(fp = fopen(path, "r+b"));
	assert_int_equal(fseek(fp, 2 * ARB_CHUNK_SIZE + 10, SEEK_SET), 0);
	assert_int_equal(fputc(data[2 * ARB_CHUNK_SIZE + 10] ^ 0x40, fp),
	    data[2 * ARB_CHUNK_SIZE + 10] ^ 0x40);
	assert_int_equal(fclose(fp), 0);
	r = get_chunk(f, sha, 2 * ARB_CHUNK_SIZE, 100);
	assert_int_equal(r->body_case, ARBOR__ENVELOPE__BODY_ERROR);
	assert_int_equal(arb_blob_stat(f->blobs, sha, &size), ARB_ENOTFOUND);
	relay_core_stats(f->core, &st);
	assert_int_equal(st.chunks, 3);
	assert_int_equal(st.chunk_bytes, 3 * ARB_CHUNK_SIZE);
	assert_int_equal(st.corrupt, 1);
	assert_int_equal(st.upstream_fetches, 0);
	free(data);
}

/* ------------------------------------------------------------- the cache */

static void
put_rec(struct fx *f, uint8_t fill, uint64_t size, int64_t last_used)
{
	struct blobrec_hdr	h;
	uint8_t			sha[ARB_SHA256_LEN];

	memset(sha, fill, sizeof(sha));
	memset(&h, 0, sizeof(h));
	h.size = size;
	h.last_used = last_used;
	assert_int_equal(arb_store_put(f->store, ARB_DB_BLOBS, sha,
	    sizeof(sha), &h, sizeof(h)), 0);
}

static int
has_rec(struct fx *f, const uint8_t *sha)
{
	void	*v;
	size_t	 n;

	if (arb_store_get(f->store, ARB_DB_BLOBS, sha, ARB_SHA256_LEN, &v,
	    &n) != 0)
		return 0;
	free(v);
	return 1;
}

static void
test_trim_lru(void **state)
{
	struct fx	*f = *state;
	struct blobrec_hdr h;
	uint8_t		 a[ARB_SHA256_LEN], b[ARB_SHA256_LEN];
	uint8_t		 c[ARB_SHA256_LEN];

	memset(a, 0xa1, sizeof(a));
	memset(b, 0xb2, sizeof(b));
	memset(c, 0xc3, sizeof(c));
	put_rec(f, 0xc3, 1000, 300);
	put_rec(f, 0xa1, 1000, 100);		/* least recently used */
	put_rec(f, 0xb2, 1000, 200);
	/* The blob the current policy names: oldest, but never evicted. */
	memset(&h, 0, sizeof(h));
	h.size = BLOB_SIZE;
	assert_int_equal(arb_store_put(f->store, ARB_DB_BLOBS, f->blobsha,
	    ARB_SHA256_LEN, &h, sizeof(h)), 0);
	/* The head trims: 1500 bytes besides the named blob may stay. */
	start(f, BLOB_SIZE + 1500, 1000);
	assert_false(has_rec(f, a));
	assert_false(has_rec(f, b));
	assert_true(has_rec(f, c));
	assert_true(has_rec(f, f->blobsha));
}

static int
four_replies(struct fx *f)
{
	return f->nreplies >= 4;
}

static void
test_single_flight(void **state)
{
	struct fx		*f = *state;
	struct relay_core_stats	 st;
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT;
	Arbor__GetChunk		 gc = ARBOR__GET_CHUNK__INIT;
	uint64_t		 offs[4] = { 0, ARB_CHUNK_SIZE,
				    2 * ARB_CHUNK_SIZE, 0 };
	const Arbor__Chunk	*ch;
	int			 i;

	start(f, 0, 1000);
	/* Four children ask at once for a named blob the cache lacks. */
	gc.sha256.data = f->blobsha;
	gc.sha256.len = ARB_SHA256_LEN;
	env.body_case = ARBOR__ENVELOPE__BODY_GET_CHUNK;
	env.get_chunk = &gc;
	replies_clear(f);
	for (i = 0; i < 4; i++) {
		gc.offset = offs[i];
		gc.len = offs[i] == 2 * ARB_CHUNK_SIZE ? ARB_CHUNK_SIZE / 2 :
		    ARB_CHUNK_SIZE;
		send_env(f, &env);
	}
	run_until(f, four_replies);
	for (i = 0; i < 4; i++) {
		assert_int_equal(f->replies[i]->body_case,
		    ARBOR__ENVELOPE__BODY_CHUNK);
		ch = f->replies[i]->chunk;
		assert_memory_equal(ch->data.data, f->blob + ch->offset,
		    ch->data.len);
	}
	/* One upstream fetch: the blob's three chunks, once. */
	assert_int_equal(f->chunk_reqs, 3);
	relay_core_stats(f->core, &st);
	assert_int_equal(st.upstream_fetches, 1);
	assert_int_equal(st.chunks, 4);
	assert_true(has_rec(f, f->blobsha));
}

/* ------------------------------------------------------------- the spool */

static void
send_report(struct fx *f, const char *ep, const char *pol, uint64_t seq)
{
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT, *r;
	Arbor__ReportBatch	 b = ARBOR__REPORT_BATCH__INIT;
	Arbor__ReportEntry	 e = ARBOR__REPORT_ENTRY__INIT, *es[1] = { &e };
	Arbor__Report		 rep = ARBOR__REPORT__INIT;
	Arbor__Signed		 sg = ARBOR__SIGNED__INIT;
	uint8_t			*body;
	size_t			 len;

	rep.endpoint_id = (char *)ep;
	rep.policy_id = (char *)pol;
	rep.seq = seq;
	rep.detail = (char *)"";
	assert_int_equal(arb_wire_encode_report(&rep, &body, &len), 0);
	assert_int_equal(arb_signed_make(f->key, body, len, &sg), 0);
	free(body);
	e.report = &sg;
	b.entries = es;
	b.n_entries = 1;
	env.body_case = ARBOR__ENVELOPE__BODY_REPORT_BATCH;
	env.report_batch = &b;
	r = call(f, &env);
	arb_signed_clear(&sg);
	assert_int_equal(r->body_case, ARBOR__ENVELOPE__BODY_REPORT_ACK);
	assert_int_equal(r->report_ack->accepted, 1);
}

/*
 * The relay learns ep's key as from the root: a receipt naming it, here
 * with f->key as both publisher and endpoint key.
 */
static void
know_key(struct fx *f, const char *ep)
{
	Arbor__Receipt	 rc = ARBOR__RECEIPT__INIT;
	Arbor__Signed	 sg = ARBOR__SIGNED__INIT;
	uint8_t		 pub[ARB_PUBKEY_LEN], *body;
	size_t		 len;

	assert_int_equal(arb_key_raw_public(f->key, pub), 0);
	rc.endpoint_id = (char *)ep;
	rc.pubkey.data = pub;
	rc.pubkey.len = sizeof(pub);
	assert_int_equal(arb_wire_encode_receipt(&rc, &body, &len), 0);
	assert_int_equal(arb_signed_make(f->key, body, len, &sg), 0);
	free(body);
	assert_int_equal(arb_wire_encode_signed(&sg, &body, &len), 0);
	assert_int_equal(arb_store_put(f->store, ARB_DB_RECEIPTS, ep,
	    strlen(ep), body, len), 0);
	free(body);
	arb_signed_clear(&sg);
}

/* The seq spooled for (ep, pol), or 0. */
static uint64_t
spooled(struct fx *f, const char *ep, const char *pol)
{
	uint8_t		 key[ARB_REPORT_KEY_MAX];
	void		*v;
	size_t		 klen, n;
	uint64_t	 seq;

	klen = arb_report_key(ep, pol, key);
	if (arb_store_get(f->store, ARB_DB_SPOOL, key, klen, &v, &n) != 0)
		return 0;
	assert_true(n >= 8);
	seq = arb_be64_get(v);
	free(v);
	return seq;
}

static int
one_batch(struct fx *f)
{
	return f->batches >= 1;
}

static int
two_batches(struct fx *f)
{
	return f->batches >= 2;
}

static int
spool_empty(struct fx *f)
{
	struct arb_txn	*t;
	uint64_t	 n = 1;

	if (arb_txn_begin(f->store, 0, &t) == 0) {
		(void)arb_txn_count(t, ARB_DB_SPOOL, &n);
		arb_txn_abort(t);
	}
	return n == 0;
}

static void
test_spool(void **state)
{
	struct fx		*f = *state;
	struct relay_core_stats	 st;

	/* Every report sends a batch up at once, one batch in flight. */
	start(f, 0, 1);
	know_key(f, "ep1");
	know_key(f, "ep2");
	send_report(f, "ep1", "p1", 5);
	run_until(f, one_batch);		/* batch 1: ep1 at 5, held */
	assert_int_equal(f->held_n[0], 1);
	assert_int_equal(spooled(f, "ep1", "p1"), 5);
	/* A newer report replaces the older one... */
	send_report(f, "ep1", "p1", 7);
	assert_int_equal(spooled(f, "ep1", "p1"), 7);
	/* ... an older one (a late resend) does not displace the newer. */
	send_report(f, "ep1", "p1", 6);
	assert_int_equal(spooled(f, "ep1", "p1"), 7);
	send_report(f, "ep2", "p1", 1);
	assert_int_equal(f->batches, 1);

	/*
	 * The parent acknowledges batch 1 (ep1 at 5): ep1 changed since it
	 * went, so it stays, and goes with ep2 in the next batch.
	 */
	parent_ack(f, 0);
	run_until(f, two_batches);
	assert_int_equal(spooled(f, "ep1", "p1"), 7);
	assert_int_equal(spooled(f, "ep2", "p1"), 1);
	assert_int_equal(f->held_n[1], 2);
	/* Batch 2 acknowledged: both unchanged, both deleted. */
	parent_ack(f, 1);
	run_until(f, spool_empty);
	relay_core_stats(f->core, &st);
	assert_int_equal(st.batches_in, 4);
	assert_int_equal(st.reports_in, 4);
	assert_int_equal(st.batches_up, 2);
	assert_int_equal(st.reports_up, 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_serve_head_policy, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_serve_chunk, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_trim_lru, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_single_flight, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_spool, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
