/*
 * Unit tests for the way up: lib/link.c (requests, replies), lib/sync.c
 * (catalog sync) and lib/fetch.c (chunking, single flight, resume, chunk
 * hashes, refusal of endless or wrong data).  The parent is a small in-process
 * REP server on 127.0.0.1 that serves one signed catalog and counts the
 * chunk requests it sees.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "arbor/blob.h"
#include "arbor/catalog.h"
#include "arbor/error.h"
#include "arbor/keychain.h"
#include "arbor/fetch.h"
#include "arbor/link.h"
#include "arbor/net.h"
#include "arbor/store.h"
#include "arbor/sync.h"
#include "arbor/tls.h"

#define BLOB_SIZE	(2 * ARB_CHUNK_SIZE + ARB_CHUNK_SIZE / 2)

enum mode { SERVE_GOOD, SERVE_LONG, SERVE_FLIP };
enum inl { INLINE_NONE, INLINE_GOOD, INLINE_FORGED };


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
	uv_loop_t		 loop;
	uv_timer_t		 deadline;
	struct arb_net		*net;
	struct arb_srv		*srv;
	struct arb_store	*store;
	struct arb_blobdir	*blobs;
	struct arb_key		*key;
	struct arb_keychain		*kc;	/* pins key */
	struct arb_link		*link;
	struct arb_sync		*sync;
	struct arb_fetcher	*fetch;
	struct arb_upstream	 up;
	struct arb_parent	 parent;
	uint8_t			 chunks[8][ARB_SHA256_LEN];
	size_t			 nchunks;
	uint8_t			*blob;
	uint8_t			 blobsha[ARB_SHA256_LEN];
	Arbor__Signed		 head, pol;
	uint8_t			 polsha[ARB_SHA256_LEN];
	enum mode		 mode;
	enum inl		 inl;
	Arbor__Signed		 forged;	/* same id, other content */
	int			 policy_reqs;
	int			 chunk_reqs;
	uint64_t		 chunk_offs[16];
	uint32_t		 chunk_lens[16];
	int			 heads_seen;
	int			 done, want;
	int			 rvs[16];
	int			 timed_out;
};

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
	Arbor__Signed		*inl[1];
	uint8_t			*tmp = NULL;

	assert_int_equal(arb_wire_decode(data, len, &in), 0);
	switch (in->body_case) {
	case ARBOR__ENVELOPE__BODY_GET_HEAD:
		hr.head = &f->head;
		if (f->inl != INLINE_NONE) {
			inl[0] = f->inl == INLINE_GOOD ? &f->pol : &f->forged;
			hr.policies = inl;
			hr.n_policies = 1;
		}
		out.body_case = ARBOR__ENVELOPE__BODY_HEAD_REPLY;
		out.head_reply = &hr;
		break;
	case ARBOR__ENVELOPE__BODY_GET_POLICY:
		f->policy_reqs++;
		pr.policy = &f->pol;
		out.body_case = ARBOR__ENVELOPE__BODY_POLICY_REPLY;
		out.policy_reply = &pr;
		break;
	case ARBOR__ENVELOPE__BODY_GET_CHUNK: {
		uint64_t off = in->get_chunk->offset;
		uint32_t n = in->get_chunk->len;

		if (f->chunk_reqs < 16) {
			f->chunk_offs[f->chunk_reqs] = off;
			f->chunk_lens[f->chunk_reqs] = n;
		}
		f->chunk_reqs++;
		ch.sha256 = in->get_chunk->sha256;
		ch.offset = off;
		ch.total = BLOB_SIZE;
		ch.data.data = f->blob + off;
		ch.data.len = n;
		if (f->mode == SERVE_LONG && off == 2 * ARB_CHUNK_SIZE) {
			/* Endless data: more than asked for, at the end. */
			tmp = calloc(1, (size_t)n + 4096);
			memcpy(tmp, f->blob + off, n);
			ch.data.data = tmp;
			ch.data.len = (size_t)n + 4096;
		} else if (f->mode == SERVE_FLIP) {
			tmp = malloc(n);
			memcpy(tmp, f->blob + off, n);
			tmp[n / 2] ^= 0x40;
			ch.data.data = tmp;
		}
		out.body_case = ARBOR__ENVELOPE__BODY_CHUNK;
		out.chunk = &ch;
		break;
	}
	default:
		fail_msg("unexpected request %d", (int)in->body_case);
	}
	reply_env(req, &out);
	free(tmp);
	arb_wire_free(in);
}

static void
on_head(void *arg, const Arbor__Head *head)
{
	struct fx *f = arg;

	assert_int_equal(head->seq, 3);
	f->heads_seen++;
	uv_stop(&f->loop);
}

static void
deadline_cb(uv_timer_t *t)
{
	struct fx *f = t->data;

	f->timed_out = 1;
	uv_stop(&f->loop);
}

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
	p.title = (char *)"not the one the head names";
	assert_int_equal(arb_wire_encode_policy(&p, &buf, &len), 0);
	assert_int_equal(arb_signed_make(f->key, buf, len, &f->forged), 0);
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
	char			 path[128], url[64];
	int			 port = 21000 + (int)(getpid() % 20000);

	assert_non_null(f);
	strcpy(f->dir, "/tmp/arbor-test-sync-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	uv_loop_init(&f->loop);
	uv_timer_init(&f->loop, &f->deadline);
	f->deadline.data = f;
	assert_int_equal(arb_key_generate(&f->key), 0);
	assert_int_equal(test_keychain(f->key, &f->kc), 0);
	build_catalog(f);
	snprintf(path, sizeof(path), "%s/db", f->dir);
	assert_int_equal(arb_store_open(path, 64 << 20, &f->store), 0);
	snprintf(path, sizeof(path), "%s/blobs", f->dir);
	assert_int_equal(arb_blobdir_open(path, &f->blobs), 0);
	assert_int_equal(arb_net_new(&f->loop, &f->net), 0);
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", port);
	assert_int_equal(arb_srv_listen(f->net, url, 16, parent_cb, f,
	    &f->srv), 0);
	f->parent.svc = strdup(url);
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", port + 1);
	f->parent.pub = strdup(url);

	f->up.parents = &f->parent;
	f->up.nparents = 1;
	f->up.poll_ms = 600000;
	f->up.timeout_ms = 5000;
	f->up.fetch_depth = 2;
	memset(&lc, 0, sizeof(lc));
	lc.loop = &f->loop;
	lc.net = f->net;
	lc.up = &f->up;
	lc.kind = "test";
	assert_int_equal(arb_link_new(&lc, &f->link), 0);
	memset(&sc, 0, sizeof(sc));
	sc.loop = &f->loop;
	sc.link = f->link;
	sc.store = f->store;
	sc.keys = f->kc;
	sc.up = &f->up;
	sc.kind = "test";
	sc.on_head = on_head;
	sc.arg = f;
	assert_int_equal(arb_sync_new(&sc, &f->sync), 0);
	memset(&fc, 0, sizeof(fc));
	fc.loop = &f->loop;
	fc.link = f->link;
	fc.blobs = f->blobs;
	fc.up = &f->up;
	fc.chunk_hashes = 1;
	fc.kind = "test";
	assert_int_equal(arb_fetch_new(&fc, &f->fetch), 0);
	assert_int_equal(arb_link_start(f->link), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*f = *state;
	char		 cmd[128];

	arb_sync_free(f->sync);
	arb_fetch_free(f->fetch);
	arb_link_free(f->link);
	arb_net_free(f->net);
	uv_close((uv_handle_t *)&f->deadline, NULL);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	arb_blobdir_close(f->blobs);
	arb_store_close(f->store);
	arb_signed_clear(&f->head);
	arb_signed_clear(&f->pol);
	arb_signed_clear(&f->forged);
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

/* Run the loop until stopped or 10 s pass. */
static void
run_loop(struct fx *f)
{
	uv_timer_start(&f->deadline, deadline_cb, 10000, 0);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	uv_timer_stop(&f->deadline);
	assert_false(f->timed_out);
}

static void
fetch_cb(int rv, const uint8_t *sha, const uint8_t *chunks, size_t nchunks,
    void *arg)
{
	struct fx *f = arg;

	assert_memory_equal(sha, f->blobsha, ARB_SHA256_LEN);
	if (chunks != NULL && nchunks <= 8) {
		memcpy(f->chunks, chunks, nchunks * ARB_SHA256_LEN);
		f->nchunks = nchunks;
	}
	f->rvs[f->done++] = rv;
	if (f->done == f->want)
		uv_stop(&f->loop);
}

static void
sync_head(struct fx *f)
{
	assert_int_equal(arb_sync_start(f->sync), 0);
	run_loop(f);
	assert_int_equal(f->heads_seen, 1);
}

static void
test_catalog_synced(void **state)
{
	struct fx	*f = *state;
	Arbor__Policy	*p;

	sync_head(f);
	assert_non_null(arb_sync_head(f->sync));
	assert_int_equal(arb_sync_head(f->sync)->seq, 3);
	assert_int_equal(arb_catalog_policy(f->store, f->polsha, &p), 0);
	assert_string_equal(p->id, "p1");
	arb_wire_free_policy(p);
}

static void
test_single_flight_chunks(void **state)
{
	struct fx	*f = *state;
	uint64_t	 size;
	int		 i;

	sync_head(f);
	f->want = 8;
	for (i = 0; i < f->want; i++)
		assert_int_equal(arb_fetch_blob(f->fetch, f->blobsha,
		    BLOB_SIZE, fetch_cb, f), 0);
	run_loop(f);
	for (i = 0; i < f->want; i++)
		assert_int_equal(f->rvs[i], 0);
	/* One upstream fetch: three chunks, 1 MiB, 1 MiB, the rest. */
	assert_int_equal(f->chunk_reqs, 3);
	for (i = 0; i < 3; i++) {
		assert_int_equal(f->chunk_offs[i] % ARB_CHUNK_SIZE, 0);
		assert_int_equal(f->chunk_lens[i], f->chunk_offs[i] ==
		    2 * ARB_CHUNK_SIZE ? ARB_CHUNK_SIZE / 2 : ARB_CHUNK_SIZE);
	}
	assert_int_equal(arb_blob_stat(f->blobs, f->blobsha, &size), 0);
	assert_int_equal(size, BLOB_SIZE);
	assert_int_equal(arb_blob_check(f->blobs, f->blobsha), 0);
	/* Each chunk's hash, computed as it was written. */
	assert_int_equal(f->nchunks, 3);
	for (i = 0; i < 3; i++) {
		uint8_t want[ARB_SHA256_LEN];
		size_t off = (size_t)i * ARB_CHUNK_SIZE;

		assert_int_equal(arb_sha256(f->blob + off, BLOB_SIZE - off <
		    ARB_CHUNK_SIZE ? BLOB_SIZE - off : ARB_CHUNK_SIZE, want),
		    0);
		assert_memory_equal(f->chunks[i], want, ARB_SHA256_LEN);
	}
	/* Present now: completes without asking the parent. */
	f->done = 0;
	f->want = 1;
	assert_int_equal(arb_fetch_blob(f->fetch, f->blobsha, BLOB_SIZE,
	    fetch_cb, f), 0);
	run_loop(f);
	assert_int_equal(f->rvs[0], 0);
	assert_int_equal(f->chunk_reqs, 3);
}

static void
test_resume(void **state)
{
	struct fx		*f = *state;
	struct arb_blob_writer	*w;

	sync_head(f);
	/* A transfer cut after its first chunk. */
	assert_int_equal(arb_blob_writer_open(f->blobs, f->blobsha, BLOB_SIZE,
	    &w), 0);
	assert_int_equal(arb_blob_writer_write(w, f->blob, ARB_CHUNK_SIZE), 0);
	arb_blob_writer_close(w);
	f->want = 1;
	assert_int_equal(arb_fetch_blob(f->fetch, f->blobsha, BLOB_SIZE,
	    fetch_cb, f), 0);
	run_loop(f);
	assert_int_equal(f->rvs[0], 0);
	assert_int_equal(f->chunk_reqs, 2);
	assert_int_equal(f->chunk_offs[0] + f->chunk_offs[1],
	    3 * ARB_CHUNK_SIZE);
	assert_int_equal(arb_blob_check(f->blobs, f->blobsha), 0);
	/* This fetch saw only part of it: no chunk hashes to hand back. */
	assert_int_equal(f->nchunks, 0);
}

static void
expect_refused(struct fx *f, enum mode m, int want)
{
	uint64_t	size;
	char		path[256], hex[ARB_SHA256_HEX];

	sync_head(f);
	f->mode = m;
	f->want = 1;
	assert_int_equal(arb_fetch_blob(f->fetch, f->blobsha, BLOB_SIZE,
	    fetch_cb, f), 0);
	run_loop(f);
	assert_int_equal(f->rvs[0], want);
	assert_int_equal(arb_blob_stat(f->blobs, f->blobsha, &size),
	    ARB_ENOTFOUND);
	arb_hex(f->blobsha, ARB_SHA256_LEN, hex);
	snprintf(path, sizeof(path), "%s/blobs/tmp/%s.part", f->dir, hex);
	assert_int_not_equal(access(path, F_OK), 0);
}

static void
test_endless_data(void **state)
{
	expect_refused(*state, SERVE_LONG, ARB_ETOOLONG);
}

static void
test_bad_hash(void **state)
{
	expect_refused(*state, SERVE_FLIP, ARB_EBADHASH);
}

/* Policies sent with the head spare the GetPolicy round trip... */
static void
test_inline_policy(void **state)
{
	struct fx	*f = *state;
	Arbor__Policy	*p;

	f->inl = INLINE_GOOD;
	sync_head(f);
	assert_int_equal(f->policy_reqs, 0);
	assert_int_equal(arb_catalog_policy(f->store, f->polsha, &p), 0);
	arb_wire_free_policy(p);
}

/* ...but one the head does not name is refused, and asked for again. */
static void
test_inline_policy_forged(void **state)
{
	struct fx	*f = *state;
	Arbor__Policy	*p;

	f->inl = INLINE_FORGED;
	sync_head(f);
	assert_int_equal(f->policy_reqs, 1);
	assert_int_equal(arb_catalog_policy(f->store, f->polsha, &p), 0);
	assert_string_equal(p->title, "");
	arb_wire_free_policy(p);
}

static void
test_parent_parse(void **state)
{
	struct arb_parent	p;
	char			err[128];

	(void)state;
	assert_int_equal(arb_parent_parse("tcp://a:1 tcp://a:2", &p, err,
	    sizeof(err)), 0);
	assert_string_equal(p.svc, "tcp://a:1");
	assert_string_equal(p.pub, "tcp://a:2");
	arb_parent_clear(&p);
	assert_int_equal(arb_parent_parse("tcp://a:1,ipc:///x", &p, err,
	    sizeof(err)), 0);
	arb_parent_clear(&p);
	assert_int_equal(arb_parent_parse("tcp://a:1", &p, err, sizeof(err)),
	    ARB_ECONFIG);
	assert_int_equal(arb_parent_parse("http://a tcp://b:2", &p, err,
	    sizeof(err)), ARB_ECONFIG);
	assert_non_null(strstr(err, "http://a"));
	assert_int_equal(arb_parent_parse("tcp://a:1 tcp://a:2 tcp://a:3", &p,
	    err, sizeof(err)), ARB_ECONFIG);
	/* A third word is the name the parent's certificate carries. */
	assert_int_equal(arb_parent_parse("tls+tcp://a:1 tls+tcp://a:2 "
	    "relay.example", &p, err, sizeof(err)), 0);
	arb_parent_clear(&p);
	assert_int_equal(arb_parent_parse("tls+tcp://a:1 tls+tcp://a:2 n m",
	    &p, err, sizeof(err)), ARB_ECONFIG);
	/* WebSocket links for roaming endpoints, with their paths. */
	assert_int_equal(arb_parent_parse("wss://dmz:443/svc wss://dmz:443/pub "
	    "dmz.example", &p, err, sizeof(err)), 0);
	assert_string_equal(p.pub, "wss://dmz:443/pub");
	arb_parent_clear(&p);
}

/* Which addresses may be used without allow_plain. */
static void
test_plain_urls(void **state)
{
	char	err[256];

	(void)state;
	assert_int_equal(arb_tls_url_ok("tls+tcp://10.0.0.1:1", err,
	    sizeof(err)), 0);
	assert_int_equal(arb_tls_url_ok("wss://10.0.0.1:1/svc", err,
	    sizeof(err)), 0);
	assert_int_equal(arb_tls_url_ok("tcp://127.0.0.1:1", err,
	    sizeof(err)), 0);
	assert_int_equal(arb_tls_url_ok("ws://127.0.0.1:1/svc", err,
	    sizeof(err)), 0);
	assert_int_equal(arb_tls_url_ok("ws://localhost/svc", err,
	    sizeof(err)), 0);
	assert_int_equal(arb_tls_url_ok("ws://[::1]:80/p", err,
	    sizeof(err)), 0);
	assert_int_equal(arb_tls_url_ok("ipc:///tmp/x", err, sizeof(err)), 0);
	assert_int_equal(arb_tls_url_ok("tcp://10.0.0.1:1", err,
	    sizeof(err)), ARB_ECONFIG);
	assert_non_null(strstr(err, "plain tcp:// off loopback"));
	assert_int_equal(arb_tls_url_ok("ws://10.0.0.1:1/127.0.0.1", err,
	    sizeof(err)), ARB_ECONFIG);
	assert_non_null(strstr(err, "plain ws:// off loopback"));
	assert_int_equal(arb_tls_url_ok("ws://localhost.evil/x", err,
	    sizeof(err)), ARB_ECONFIG);
	assert_true(arb_tls_on("wss://a/b"));
	assert_false(arb_tls_on("ws://a/b"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_urls),
		cmocka_unit_test_setup_teardown(test_catalog_synced, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_single_flight_chunks,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_endless_data, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_hash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inline_policy, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_inline_policy_forged,
		    setup, teardown),
		cmocka_unit_test(test_parent_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
