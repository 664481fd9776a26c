/*
 * Unit tests for lib/wire.c: every body type survives a round trip, and
 * every bound that the decoders promise is enforced: message size, version,
 * missing body, hash lengths, chunk sizes, signed field lengths, ids, blob
 * names, severities and counts, and an enrolment token's groups.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arbor/error.h"
#include "arbor/wire.h"

#define MIB	(1024 * 1024)

static uint8_t	sha[33], sig[65], kid[9];
static uint8_t	bigbuf[ARB_WIRE_MAX + 2];

static int
setup_bufs(void **state)
{
	(void)state;
	memset(sha, 0x5a, sizeof(sha));
	memset(sig, 0x11, sizeof(sig));
	memset(kid, 0x22, sizeof(kid));
	return 0;
}

static ProtobufCBinaryData
bin(const uint8_t *p, size_t n)
{
	ProtobufCBinaryData	b;

	b.data = (uint8_t *)p;
	b.len = n;
	return b;
}

static void
mk_signed(Arbor__Signed *s, size_t bodylen)
{
	arbor__signed__init(s);
	s->body = bin(bigbuf, bodylen);
	s->sig = bin(sig, 64);
	s->key_id = bin(kid, 8);
}

/* Encode e (must succeed) and decode it, returning the decode result. */
static int
cycle(const Arbor__Envelope *e, Arbor__Envelope **outp)
{
	Arbor__Envelope	*out = NULL;
	uint8_t		*buf;
	size_t		 len;
	int		 rv;

	assert_int_equal(arb_wire_encode(e, &buf, &len), 0);
	rv = arb_wire_decode(buf, len, &out);
	free(buf);
	if (outp != NULL)
		*outp = out;
	else
		arb_wire_free(out);
	if (rv != 0)
		assert_null(out);
	return rv;
}

static Arbor__Envelope *
roundtrip(const Arbor__Envelope *e)
{
	Arbor__Envelope	*out;

	assert_int_equal(cycle(e, &out), 0);
	assert_int_equal(out->version, 1);
	assert_int_equal(out->body_case, e->body_case);
	return out;
}

/* A valid policy with two blobs; the caller may spoil it. */
struct pol {
	Arbor__Policy	 p;
	Arbor__BlobRef	 b[2];
	Arbor__BlobRef	*bp[2];
};

static void
mk_policy(struct pol *x)
{
	arbor__policy__init(&x->p);
	x->p.id = "openssl-3.0.13_fix";
	x->p.version = 3;
	x->p.title = "OpenSSL \xc3\xa9 update";
	x->p.severity = "high";
	x->p.applicability = "pkg openssl < 3.0.13";
	x->p.action = "dpkg -i openssl.deb";
	x->p.rollback = "";
	x->p.published_at = 1700000000;
	arbor__blob_ref__init(&x->b[0]);
	arbor__blob_ref__init(&x->b[1]);
	x->b[0].name = "openssl.deb";
	x->b[0].sha256 = bin(sha, 32);
	x->b[0].size = 123456;
	x->b[1].name = "..hidden";
	x->b[1].sha256 = bin(sha, 32);
	x->b[1].size = 1;
	x->bp[0] = &x->b[0];
	x->bp[1] = &x->b[1];
	x->p.blobs = x->bp;
	x->p.n_blobs = 2;
}

static int
policy_cycle(const Arbor__Policy *p)
{
	Arbor__Policy	*out = NULL;
	uint8_t		*buf;
	size_t		 len;
	int		 rv;

	assert_int_equal(arb_wire_encode_policy(p, &buf, &len), 0);
	rv = arb_wire_decode_policy(buf, len, &out);
	free(buf);
	if (rv == 0)
		arb_wire_free_policy(out);
	else
		assert_null(out);
	return rv;
}

static void
test_roundtrip_bodies(void **state)
{
	Arbor__Envelope		 e, *o;
	Arbor__Hello		 hello = ARBOR__HELLO__INIT;
	Arbor__HelloReply	 hrep = ARBOR__HELLO_REPLY__INIT;
	Arbor__GetHead		 gh = ARBOR__GET_HEAD__INIT;
	Arbor__HeadReply	 hr = ARBOR__HEAD_REPLY__INIT;
	Arbor__GetPolicy	 gp = ARBOR__GET_POLICY__INIT;
	Arbor__PolicyReply	 pr = ARBOR__POLICY_REPLY__INIT;
	Arbor__GetChunk		 gc = ARBOR__GET_CHUNK__INIT;
	Arbor__Chunk		 ch = ARBOR__CHUNK__INIT;
	Arbor__Notify		 no = ARBOR__NOTIFY__INIT;
	Arbor__Error		 er = ARBOR__ERROR__INIT;
	Arbor__PutChunk		 pc = ARBOR__PUT_CHUNK__INIT;
	Arbor__PutChunkReply	 pcr = ARBOR__PUT_CHUNK_REPLY__INIT;
	Arbor__Publish		 pub = ARBOR__PUBLISH__INIT;
	Arbor__Retire		 re = ARBOR__RETIRE__INIT;
	Arbor__Push		 pu = ARBOR__PUSH__INIT;
	Arbor__Done		 dn = ARBOR__DONE__INIT;
	Arbor__GetCatalog	 gcat = ARBOR__GET_CATALOG__INIT;
	Arbor__CatalogReply	 cr = ARBOR__CATALOG_REPLY__INIT;
	Arbor__Signed		 s1, s2, s3, *sp[2];
	struct pol		 x;

	(void)state;
	memset(bigbuf, 'b', 100);
	mk_signed(&s1, 100);
	mk_signed(&s2, 10);
	mk_signed(&s3, 0);
	mk_policy(&x);

	arbor__envelope__init(&e);
	e.version = 7;	/* encode sets 1 */
	e.body_case = ARBOR__ENVELOPE__BODY_HELLO;
	hello.node_id = "relay-1";
	hello.kind = "relay";
	hello.head_seq = 42;
	e.hello = &hello;
	o = roundtrip(&e);
	assert_string_equal(o->hello->node_id, "relay-1");
	assert_string_equal(o->hello->kind, "relay");
	assert_int_equal(o->hello->head_seq, 42);
	arb_wire_free(o);

	e.body_case = ARBOR__ENVELOPE__BODY_HELLO_REPLY;
	hrep.node_id = "root";
	hrep.head_seq = 43;
	e.hello_reply = &hrep;
	o = roundtrip(&e);
	assert_string_equal(o->hello_reply->node_id, "root");
	arb_wire_free(o);

	e.body_case = ARBOR__ENVELOPE__BODY_GET_HEAD;
	gh.have_seq = 9;
	e.get_head = &gh;
	o = roundtrip(&e);
	assert_int_equal(o->get_head->have_seq, 9);
	arb_wire_free(o);

	e.body_case = ARBOR__ENVELOPE__BODY_HEAD_REPLY;
	hr.head = &s1;
	e.head_reply = &hr;
	o = roundtrip(&e);
	assert_int_equal(o->head_reply->head->body.len, 100);
	assert_memory_equal(o->head_reply->head->sig.data, sig, 64);
	assert_memory_equal(o->head_reply->head->key_id.data, kid, 8);
	arb_wire_free(o);

	e.body_case = ARBOR__ENVELOPE__BODY_GET_POLICY;
	gp.sha256 = bin(sha, 32);
	e.get_policy = &gp;
	o = roundtrip(&e);
	assert_memory_equal(o->get_policy->sha256.data, sha, 32);
	arb_wire_free(o);

	e.body_case = ARBOR__ENVELOPE__BODY_POLICY_REPLY;
	pr.policy = &s2;
	e.policy_reply = &pr;
	o = roundtrip(&e);
	assert_int_equal(o->policy_reply->policy->body.len, 10);
	arb_wire_free(o);

	e.body_case = ARBOR__ENVELOPE__BODY_GET_CHUNK;
	gc.sha256 = bin(sha, 32);
	gc.offset = 5 * (uint64_t)MIB;
	gc.len = MIB;
	e.get_chunk = &gc;
	o = roundtrip(&e);
	assert_int_equal(o->get_chunk->offset, 5 * (uint64_t)MIB);
	assert_int_equal(o->get_chunk->len, MIB);
	arb_wire_free(o);

	e.body_case = ARBOR__ENVELOPE__BODY_CHUNK;
	memset(bigbuf, 'c', MIB);
	ch.sha256 = bin(sha, 32);
	ch.offset = 0;
	ch.data = bin(bigbuf, MIB);
	ch.total = 3 * MIB;
	e.chunk = &ch;
	o = roundtrip(&e);
	assert_int_equal(o->chunk->data.len, MIB);
	assert_memory_equal(o->chunk->data.data, bigbuf, MIB);
	assert_int_equal(o->chunk->total, 3 * MIB);
	arb_wire_free(o);

	e.body_case = ARBOR__ENVELOPE__BODY_NOTIFY;
	no.seq = 77;
	no.urgent = 1;
	no.policy_id = "p-1";
	e.notify = &no;
	o = roundtrip(&e);
	assert_true(o->notify->urgent);
	assert_string_equal(o->notify->policy_id, "p-1");
	arb_wire_free(o);
	no.policy_id = "";
	arb_wire_free(roundtrip(&e));

	e.body_case = ARBOR__ENVELOPE__BODY_ERROR;
	er.code = ARB_ENOTFOUND;
	er.message = "no such policy";
	e.error = &er;
	o = roundtrip(&e);
	assert_int_equal(o->error->code, ARB_ENOTFOUND);
	assert_string_equal(o->error->message, "no such policy");
	arb_wire_free(o);

	e.body_case = ARBOR__ENVELOPE__BODY_PUT_CHUNK;
	pc.sha256 = bin(sha, 32);
	pc.size = 10 * (uint64_t)MIB;
	pc.offset = MIB;
	pc.data = bin(bigbuf, 4096);
	e.put_chunk = &pc;
	o = roundtrip(&e);
	assert_int_equal(o->put_chunk->data.len, 4096);
	assert_int_equal(o->put_chunk->size, 10 * (uint64_t)MIB);
	arb_wire_free(o);

	e.body_case = ARBOR__ENVELOPE__BODY_PUT_CHUNK_REPLY;
	pcr.have = 99;
	pcr.complete = 1;
	e.put_chunk_reply = &pcr;
	o = roundtrip(&e);
	assert_int_equal(o->put_chunk_reply->have, 99);
	arb_wire_free(o);

	e.body_case = ARBOR__ENVELOPE__BODY_PUBLISH;
	pub.policy = &x.p;
	e.publish = &pub;
	o = roundtrip(&e);
	assert_string_equal(o->publish->policy->id, x.p.id);
	assert_string_equal(o->publish->policy->title, x.p.title);
	assert_int_equal(o->publish->policy->n_blobs, 2);
	assert_string_equal(o->publish->policy->blobs[1]->name, "..hidden");
	arb_wire_free(o);

	e.body_case = ARBOR__ENVELOPE__BODY_RETIRE;
	re.id = "p-1";
	e.retire = &re;
	o = roundtrip(&e);
	assert_string_equal(o->retire->id, "p-1");
	arb_wire_free(o);

	e.body_case = ARBOR__ENVELOPE__BODY_PUSH;
	pu.id = "p.2";
	e.push = &pu;
	o = roundtrip(&e);
	assert_string_equal(o->push->id, "p.2");
	arb_wire_free(o);

	e.body_case = ARBOR__ENVELOPE__BODY_DONE;
	dn.seq = 12;
	dn.detail = "published";
	e.done = &dn;
	o = roundtrip(&e);
	assert_int_equal(o->done->seq, 12);
	arb_wire_free(o);

	e.body_case = ARBOR__ENVELOPE__BODY_GET_CATALOG;
	e.get_catalog = &gcat;
	arb_wire_free(roundtrip(&e));

	e.body_case = ARBOR__ENVELOPE__BODY_CATALOG_REPLY;
	cr.head = &s1;
	sp[0] = &s2;
	sp[1] = &s3;
	cr.policies = sp;
	cr.n_policies = 2;
	e.catalog_reply = &cr;
	o = roundtrip(&e);
	assert_int_equal(o->catalog_reply->n_policies, 2);
	assert_int_equal(o->catalog_reply->policies[0]->body.len, 10);
	arb_wire_free(o);
}

static void
test_reject_framing(void **state)
{
	/* version 2, get_catalog (field 36, empty) */
	static const uint8_t	v2[] = { 0x08, 0x02, 0xa2, 0x02, 0x00 };
	/* no version (0), get_catalog */
	static const uint8_t	v0[] = { 0xa2, 0x02, 0x00 };
	/* version 1, get_catalog: the valid one */
	static const uint8_t	v1[] = { 0x08, 0x01, 0xa2, 0x02, 0x00 };
	/* version 1 and nothing else */
	static const uint8_t	nobody[] = { 0x08, 0x01 };
	/* version 1 and an unknown field only */
	static const uint8_t	unk[] = { 0x08, 0x01, 0xa0, 0x06, 0x05 };
	/* get_catalog with a length running past the end */
	static const uint8_t	trunc[] = { 0x08, 0x01, 0xa2, 0x02, 0x05 };
	/* get_head, then field 0 (overlong tag) as fixed64: found by fuzzing */
	static const uint8_t	tag0[] = {
		0x08, 0x01, 0x62, 0x00, 0x81, 0x00, 1, 2, 3, 4, 5, 6, 7, 8
	};
	Arbor__Envelope		*e = (Arbor__Envelope *)1;
	uint8_t			 garbage[64];

	(void)state;
	memset(bigbuf, 0, sizeof(bigbuf));
	assert_int_equal(arb_wire_decode(bigbuf, ARB_WIRE_MAX + 1, &e),
	    ARB_ETOOBIG);
	assert_int_equal(arb_wire_decode(v1, 0, &e), ARB_EPROTO);
	memset(garbage, 0xff, sizeof(garbage));
	assert_int_equal(arb_wire_decode(garbage, sizeof(garbage), &e),
	    ARB_EPROTO);
	assert_int_equal(arb_wire_decode(v2, sizeof(v2), &e), ARB_EPROTO);
	assert_int_equal(arb_wire_decode(v0, sizeof(v0), &e), ARB_EPROTO);
	assert_int_equal(arb_wire_decode(nobody, sizeof(nobody), &e),
	    ARB_EPROTO);
	assert_int_equal(arb_wire_decode(unk, sizeof(unk), &e), ARB_EPROTO);
	assert_int_equal(arb_wire_decode(trunc, sizeof(trunc), &e),
	    ARB_EPROTO);
	assert_int_equal(arb_wire_decode(tag0, sizeof(tag0), &e), ARB_EPROTO);
	/* Nothing written on failure. */
	assert_ptr_equal(e, (Arbor__Envelope *)1);
	assert_int_equal(arb_wire_decode(v1, sizeof(v1), &e), 0);
	assert_int_equal(e->body_case, ARBOR__ENVELOPE__BODY_GET_CATALOG);
	arb_wire_free(e);
	arb_wire_free(NULL);
}

static void
test_reject_strings(void **state)
{
	/* Retire whose id holds a NUL: "a\0b" */
	static const uint8_t	nul[] = {
		0x08, 0x01, 0x8a, 0x02, 0x05, 0x0a, 0x03, 'a', 0, 'b'
	};
	/* Retire whose id is not UTF-8 */
	static const uint8_t	bad8[] = {
		0x08, 0x01, 0x8a, 0x02, 0x04, 0x0a, 0x02, 0xc0, 0xaf
	};
	/* Error whose message is a lone surrogate (U+D800) */
	static const uint8_t	surr[] = {
		0x08, 0x01, 0x9a, 0x01, 0x05, 0x12, 0x03, 0xed, 0xa0, 0x80
	};
	Arbor__Envelope		 e = ARBOR__ENVELOPE__INIT, *o;
	Arbor__Error		 er = ARBOR__ERROR__INIT;
	uint8_t			*buf;
	size_t			 len;

	(void)state;
	assert_int_equal(arb_wire_decode(nul, sizeof(nul), &o), ARB_EPROTO);
	assert_int_equal(arb_wire_decode(bad8, sizeof(bad8), &o), ARB_EPROTO);
	assert_int_equal(arb_wire_decode(surr, sizeof(surr), &o), ARB_EPROTO);
	/* The encoder refuses what every receiver would. */
	e.body_case = ARBOR__ENVELOPE__BODY_ERROR;
	er.message = "bad \xff byte";
	e.error = &er;
	assert_int_equal(arb_wire_encode(&e, &buf, &len), ARB_EPROTO);
	/* Four-byte UTF-8 is fine. */
	er.message = "ok \xf0\x9f\x8c\xb3";
	arb_wire_free(roundtrip(&e));
}

static void
test_reject_sha(void **state)
{
	static const size_t	 bad[] = { 0, 1, 31, 33 };
	Arbor__Envelope		 e = ARBOR__ENVELOPE__INIT;
	Arbor__GetPolicy	 gp = ARBOR__GET_POLICY__INIT;
	Arbor__GetChunk		 gc = ARBOR__GET_CHUNK__INIT;
	Arbor__Chunk		 ch = ARBOR__CHUNK__INIT;
	Arbor__PutChunk		 pc = ARBOR__PUT_CHUNK__INIT;
	Arbor__Publish		 pub = ARBOR__PUBLISH__INIT;
	struct pol		 x;
	size_t			 i;

	(void)state;
	mk_policy(&x);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e.body_case = ARBOR__ENVELOPE__BODY_GET_POLICY;
		gp.sha256 = bin(sha, bad[i]);
		e.get_policy = &gp;
		assert_int_equal(cycle(&e, NULL), ARB_EPROTO);

		e.body_case = ARBOR__ENVELOPE__BODY_GET_CHUNK;
		gc.sha256 = bin(sha, bad[i]);
		gc.len = 10;
		e.get_chunk = &gc;
		assert_int_equal(cycle(&e, NULL), ARB_EPROTO);

		e.body_case = ARBOR__ENVELOPE__BODY_CHUNK;
		ch.sha256 = bin(sha, bad[i]);
		ch.data = bin(sha, 3);
		e.chunk = &ch;
		assert_int_equal(cycle(&e, NULL), ARB_EPROTO);

		e.body_case = ARBOR__ENVELOPE__BODY_PUT_CHUNK;
		pc.sha256 = bin(sha, bad[i]);
		pc.size = 3;
		pc.data = bin(sha, 3);
		e.put_chunk = &pc;
		assert_int_equal(cycle(&e, NULL), ARB_EPROTO);

		x.b[1].sha256 = bin(sha, bad[i]);
		assert_int_equal(policy_cycle(&x.p), ARB_EPROTO);
		e.body_case = ARBOR__ENVELOPE__BODY_PUBLISH;
		pub.policy = &x.p;
		e.publish = &pub;
		assert_int_equal(cycle(&e, NULL), ARB_EPROTO);
	}
}

static void
test_reject_chunk_size(void **state)
{
	Arbor__Envelope	 e = ARBOR__ENVELOPE__INIT;
	Arbor__GetChunk	 gc = ARBOR__GET_CHUNK__INIT;
	Arbor__Chunk	 ch = ARBOR__CHUNK__INIT;
	Arbor__PutChunk	 pc = ARBOR__PUT_CHUNK__INIT;
	uint8_t		*buf;
	size_t		 len;

	(void)state;
	e.body_case = ARBOR__ENVELOPE__BODY_GET_CHUNK;
	gc.sha256 = bin(sha, 32);
	gc.len = MIB + 1;
	e.get_chunk = &gc;
	assert_int_equal(cycle(&e, NULL), ARB_EPROTO);

	e.body_case = ARBOR__ENVELOPE__BODY_CHUNK;
	ch.sha256 = bin(sha, 32);
	ch.data = bin(bigbuf, MIB + 1);
	e.chunk = &ch;
	/* A chunk larger than any chunk may be is endless data. */
	assert_int_equal(cycle(&e, NULL), ARB_ETOOLONG);

	e.body_case = ARBOR__ENVELOPE__BODY_PUT_CHUNK;
	pc.sha256 = bin(sha, 32);
	pc.size = 4 * MIB;
	pc.data = bin(bigbuf, MIB + 1);
	e.put_chunk = &pc;
	assert_int_equal(cycle(&e, NULL), ARB_EPROTO);
	/* A declared size no policy may name. */
	pc.data = bin(bigbuf, 1);
	pc.size = 17ULL * 1024 * MIB;
	assert_int_equal(cycle(&e, NULL), ARB_EPROTO);

	/* Larger than any peer accepts: refused at encode. */
	e.body_case = ARBOR__ENVELOPE__BODY_CHUNK;
	e.chunk = &ch;
	ch.data = bin(bigbuf, ARB_WIRE_MAX);
	assert_int_equal(arb_wire_encode(&e, &buf, &len), ARB_ETOOBIG);
}

/* A framed chunk reply: packed once, read in place; its lies refused. */
static void
test_framed(void **state)
{
	Arbor__Envelope	 e = ARBOR__ENVELOPE__INIT, *out;
	Arbor__Chunk	 ch = ARBOR__CHUNK__INIT;
	const uint8_t	*raw;
	uint8_t		*buf, sha[32], data[1000];
	size_t		 len, n;

	(void)state;
	memset(sha, 7, sizeof(sha));
	memset(data, 0xa5, sizeof(data));
	ch.sha256 = bin(sha, 32);
	ch.offset = 1048576;
	ch.total = 2000000;
	e.body_case = ARBOR__ENVELOPE__BODY_CHUNK;
	e.chunk = &ch;
	len = arb_wire_framed_size(&e, sizeof(data));
	assert_int_equal(ch.framed_len, sizeof(data));
	assert_non_null(buf = malloc(len + 1));
	assert_int_equal(arb_wire_pack_framed(&e, data, sizeof(data), buf,
	    len), 0);
	assert_int_equal(buf[0], ARB_WIRE_FRAMED);
	assert_int_equal(arb_wire_decode_framed(buf, len, &out, &raw, &n), 0);
	assert_int_equal(out->body_case, ARBOR__ENVELOPE__BODY_CHUNK);
	assert_int_equal(out->chunk->offset, 1048576);
	assert_int_equal(out->chunk->data.len, 0);
	assert_ptr_equal(raw, buf + len - sizeof(data));	/* in place */
	assert_int_equal(n, sizeof(data));
	assert_memory_equal(raw, data, n);
	arb_wire_free(out);

	/* Fewer bytes than it says, or more: refused. */
	assert_int_equal(arb_wire_decode_framed(buf, len - 1, &out, &raw, &n),
	    ARB_EPROTO);
	assert_null(out);
	buf[len] = 0;
	assert_int_equal(arb_wire_decode_framed(buf, len + 1, &out, &raw, &n),
	    ARB_EPROTO);
	/* A length past the end, a length that does not end, none at all. */
	buf[1] = 0x7f;
	assert_int_equal(arb_wire_decode_framed(buf, 40, &out, &raw, &n),
	    ARB_EPROTO);
	memset(buf + 1, 0xff, 8);
	assert_int_equal(arb_wire_decode_framed(buf, len, &out, &raw, &n),
	    ARB_EPROTO);
	assert_int_equal(arb_wire_decode_framed(buf, 1, &out, &raw, &n),
	    ARB_EPROTO);
	free(buf);

	/* Bytes in the envelope as well as after it: refused at pack. */
	ch.data = bin(data, 10);
	len = arb_wire_framed_size(&e, sizeof(data));
	assert_non_null(buf = malloc(len));
	assert_int_equal(arb_wire_pack_framed(&e, data, sizeof(data), buf,
	    len), ARB_EINVAL);
	free(buf);

	/* A framed body that is not a chunk: refused. */
	{
		Arbor__Envelope	h = ARBOR__ENVELOPE__INIT;
		Arbor__Hello	he = ARBOR__HELLO__INIT;
		uint8_t		*enc, fb[300];
		size_t		 el;

		he.node_id = "x";
		he.kind = "agent";
		h.body_case = ARBOR__ENVELOPE__BODY_HELLO;
		h.hello = &he;
		assert_int_equal(arb_wire_encode(&h, &enc, &el), 0);
		assert_true(el < 100);
		fb[0] = ARB_WIRE_FRAMED;
		fb[1] = (uint8_t)el;
		memcpy(fb + 2, enc, el);
		assert_int_equal(arb_wire_decode_framed(fb, el + 2, &out, &raw,
		    &n), ARB_EPROTO);
		/* Unframed, it is any envelope, with no bytes beside. */
		assert_int_equal(arb_wire_decode_framed(enc, el, &out, &raw,
		    &n), 0);
		assert_null(raw);
		arb_wire_free(out);
		free(enc);
	}
}

static void
test_reject_signed(void **state)
{
	Arbor__Envelope		 e = ARBOR__ENVELOPE__INIT;
	Arbor__HeadReply	 hr = ARBOR__HEAD_REPLY__INIT;
	Arbor__PolicyReply	 pr = ARBOR__POLICY_REPLY__INIT;
	Arbor__CatalogReply	 cr = ARBOR__CATALOG_REPLY__INIT;
	Arbor__Signed		 s, ok, **many;
	Arbor__Signed		*sp[2];
	size_t			 i;

	(void)state;
	mk_signed(&ok, 5);
	e.body_case = ARBOR__ENVELOPE__BODY_HEAD_REPLY;
	e.head_reply = &hr;
	assert_int_equal(cycle(&e, NULL), ARB_EPROTO);	/* no head */
	hr.head = &s;

	mk_signed(&s, ARB_SIGNED_MAX);
	assert_int_equal(cycle(&e, NULL), 0);
	mk_signed(&s, ARB_SIGNED_MAX + 1);
	assert_int_equal(cycle(&e, NULL), ARB_EPROTO);
	mk_signed(&s, 5);
	s.sig = bin(sig, 63);
	assert_int_equal(cycle(&e, NULL), ARB_EPROTO);
	s.sig = bin(sig, 65);
	assert_int_equal(cycle(&e, NULL), ARB_EPROTO);
	s.sig = bin(sig, 0);
	assert_int_equal(cycle(&e, NULL), ARB_EPROTO);
	mk_signed(&s, 5);
	s.key_id = bin(kid, 7);
	assert_int_equal(cycle(&e, NULL), ARB_EPROTO);
	s.key_id = bin(kid, 9);
	assert_int_equal(cycle(&e, NULL), ARB_EPROTO);

	e.body_case = ARBOR__ENVELOPE__BODY_POLICY_REPLY;
	e.policy_reply = &pr;
	assert_int_equal(cycle(&e, NULL), ARB_EPROTO);	/* no policy */
	pr.policy = &s;
	assert_int_equal(cycle(&e, NULL), ARB_EPROTO);
	pr.policy = &ok;
	assert_int_equal(cycle(&e, NULL), 0);

	e.body_case = ARBOR__ENVELOPE__BODY_CATALOG_REPLY;
	e.catalog_reply = &cr;
	/* No head (nothing published yet) is a catalog, without policies. */
	assert_int_equal(cycle(&e, NULL), 0);
	sp[0] = &ok;
	cr.policies = sp;
	cr.n_policies = 1;
	assert_int_equal(cycle(&e, NULL), ARB_EPROTO);	/* policies, no head */
	cr.policies = NULL;
	cr.n_policies = 0;
	cr.head = &s;
	assert_int_equal(cycle(&e, NULL), ARB_EPROTO);
	cr.head = &ok;
	sp[0] = &ok;
	sp[1] = &s;
	cr.policies = sp;
	cr.n_policies = 2;
	assert_int_equal(cycle(&e, NULL), ARB_EPROTO);
	cr.n_policies = 1;
	assert_int_equal(cycle(&e, NULL), 0);

	/* One policy too many. */
	assert_non_null(many = calloc(ARB_MAX_POLICIES + 1, sizeof(*many)));
	for (i = 0; i < ARB_MAX_POLICIES + 1; i++)
		many[i] = &ok;
	cr.policies = many;
	cr.n_policies = ARB_MAX_POLICIES;
	assert_int_equal(cycle(&e, NULL), 0);
	cr.n_policies = ARB_MAX_POLICIES + 1;
	assert_int_equal(cycle(&e, NULL), ARB_EPROTO);
	free(many);
}

static void
test_reject_ids(void **state)
{
	Arbor__Envelope	 e = ARBOR__ENVELOPE__INIT;
	Arbor__Retire	 re = ARBOR__RETIRE__INIT;
	Arbor__Push	 pu = ARBOR__PUSH__INIT;
	Arbor__Notify	 no = ARBOR__NOTIFY__INIT;
	Arbor__Hello	 he = ARBOR__HELLO__INIT;
	char		 lng[ARB_MAX_ID + 2];

	(void)state;
	memset(lng, 'a', sizeof(lng));
	lng[ARB_MAX_ID + 1] = '\0';

	e.body_case = ARBOR__ENVELOPE__BODY_RETIRE;
	e.retire = &re;
	assert_int_equal(cycle(&e, NULL), ARB_EPROTO);	/* empty */
	re.id = "a/b";
	assert_int_equal(cycle(&e, NULL), ARB_EPROTO);
	re.id = lng;
	assert_int_equal(cycle(&e, NULL), ARB_EPROTO);
	re.id = lng + 1;	/* exactly ARB_MAX_ID */
	assert_int_equal(cycle(&e, NULL), 0);

	e.body_case = ARBOR__ENVELOPE__BODY_PUSH;
	e.push = &pu;
	assert_int_equal(cycle(&e, NULL), ARB_EPROTO);	/* empty */
	pu.id = "a b";
	assert_int_equal(cycle(&e, NULL), ARB_EPROTO);
	pu.id = "A-z_0.9";
	assert_int_equal(cycle(&e, NULL), 0);

	e.body_case = ARBOR__ENVELOPE__BODY_NOTIFY;
	e.notify = &no;
	no.policy_id = "../etc";
	assert_int_equal(cycle(&e, NULL), ARB_EPROTO);

	e.body_case = ARBOR__ENVELOPE__BODY_HELLO;
	e.hello = &he;
	he.node_id = lng;
	assert_int_equal(cycle(&e, NULL), ARB_EPROTO);
	he.node_id = "n";
	he.kind = lng;
	assert_int_equal(cycle(&e, NULL), ARB_EPROTO);
}

static void
test_policy(void **state)
{
	static const char *const badids[] = {
		"", "a b", "x/y", "../x", "caf\xc3\xa9", "a\tb"
	};
	static const char *const badnames[] = {
		"", ".", "..", "../x", "a/b", "/abs", "x/", "a\nb", "\x7f"
	};
	static const char *const badsev[] = {
		"", "urgent", "High", "critical ", "low\n"
	};
	static const char *const goodsev[] = {
		"critical", "high", "medium", "low"
	};
	Arbor__Envelope	 e = ARBOR__ENVELOPE__INIT;
	Arbor__Publish	 pub = ARBOR__PUBLISH__INIT;
	Arbor__BlobRef	 b[ARB_MAX_BLOBS + 1], *bp[ARB_MAX_BLOBS + 1];
	Arbor__Policy	*out;
	struct pol	 x;
	char		 lng[ARB_MAX_ID + 2], name[257];
	char		*text;
	uint8_t		*buf;
	size_t		 i, len;

	(void)state;
	mk_policy(&x);
	assert_int_equal(arb_wire_encode_policy(&x.p, &buf, &len), 0);
	assert_int_equal(arb_wire_decode_policy(buf, len, &out), 0);
	free(buf);
	assert_string_equal(out->id, x.p.id);
	assert_int_equal(out->version, 3);
	assert_string_equal(out->severity, "high");
	assert_int_equal(out->n_blobs, 2);
	assert_string_equal(out->blobs[0]->name, "openssl.deb");
	assert_int_equal(out->blobs[0]->size, 123456);
	assert_int_equal(out->published_at, 1700000000);
	arb_wire_free_policy(out);
	arb_wire_free_policy(NULL);

	/* Through Publish, and with no policy at all. */
	e.body_case = ARBOR__ENVELOPE__BODY_PUBLISH;
	e.publish = &pub;
	assert_int_equal(cycle(&e, NULL), ARB_EPROTO);
	pub.policy = &x.p;
	assert_int_equal(cycle(&e, NULL), 0);

	for (i = 0; i < sizeof(badids) / sizeof(badids[0]); i++) {
		mk_policy(&x);
		x.p.id = (char *)badids[i];
		assert_int_equal(policy_cycle(&x.p), ARB_EPROTO);
		assert_int_equal(cycle(&e, NULL), ARB_EPROTO);
	}
	mk_policy(&x);
	memset(lng, 'a', sizeof(lng));
	lng[ARB_MAX_ID + 1] = '\0';
	x.p.id = lng;
	assert_int_equal(policy_cycle(&x.p), ARB_EPROTO);
	x.p.id = lng + 1;
	assert_int_equal(policy_cycle(&x.p), 0);

	for (i = 0; i < sizeof(badnames) / sizeof(badnames[0]); i++) {
		mk_policy(&x);
		x.b[1].name = (char *)badnames[i];
		assert_int_equal(policy_cycle(&x.p), ARB_EPROTO);
		assert_int_equal(cycle(&e, NULL), ARB_EPROTO);
	}
	mk_policy(&x);
	memset(name, 'n', sizeof(name));
	name[256] = '\0';
	x.b[0].name = name;
	assert_int_equal(policy_cycle(&x.p), ARB_EPROTO);
	x.b[0].name = name + 1;	/* 255 */
	assert_int_equal(policy_cycle(&x.p), 0);
	/* Two blobs of one name. */
	x.b[0].name = x.b[1].name;
	assert_int_equal(policy_cycle(&x.p), ARB_EPROTO);

	for (i = 0; i < sizeof(badsev) / sizeof(badsev[0]); i++) {
		mk_policy(&x);
		x.p.severity = (char *)badsev[i];
		assert_int_equal(policy_cycle(&x.p), ARB_EPROTO);
	}
	for (i = 0; i < sizeof(goodsev) / sizeof(goodsev[0]); i++) {
		mk_policy(&x);
		x.p.severity = (char *)goodsev[i];
		assert_int_equal(policy_cycle(&x.p), 0);
	}

	mk_policy(&x);
	x.b[0].size = 0;
	assert_int_equal(policy_cycle(&x.p), ARB_EPROTO);
	x.b[0].size = 16ULL * 1024 * MIB;
	assert_int_equal(policy_cycle(&x.p), 0);
	x.b[0].size = 16ULL * 1024 * MIB + 1;
	assert_int_equal(policy_cycle(&x.p), ARB_EPROTO);

	/* Texts up to ARB_MAX_TEXT. */
	mk_policy(&x);
	assert_non_null(text = malloc(ARB_MAX_TEXT + 2));
	memset(text, 't', ARB_MAX_TEXT + 1);
	text[ARB_MAX_TEXT + 1] = '\0';
	x.p.action = text + 1;
	assert_int_equal(policy_cycle(&x.p), 0);
	x.p.action = text;
	assert_int_equal(policy_cycle(&x.p), ARB_EPROTO);
	x.p.action = "a";
	x.p.title = text;
	assert_int_equal(policy_cycle(&x.p), ARB_EPROTO);
	x.p.title = "t";
	x.p.rollback = text;
	assert_int_equal(policy_cycle(&x.p), ARB_EPROTO);
	x.p.rollback = "";
	x.p.applicability = text;
	assert_int_equal(policy_cycle(&x.p), ARB_EPROTO);
	free(text);

	/* Blob count. */
	mk_policy(&x);
	for (i = 0; i < ARB_MAX_BLOBS + 1; i++) {
		arbor__blob_ref__init(&b[i]);
		b[i].name = malloc(16);
		snprintf(b[i].name, 16, "b%zu", i);
		b[i].sha256 = bin(sha, 32);
		b[i].size = i + 1;
		bp[i] = &b[i];
	}
	x.p.blobs = bp;
	x.p.n_blobs = ARB_MAX_BLOBS;
	assert_int_equal(policy_cycle(&x.p), 0);
	x.p.n_blobs = ARB_MAX_BLOBS + 1;
	assert_int_equal(policy_cycle(&x.p), ARB_EPROTO);
	for (i = 0; i < ARB_MAX_BLOBS + 1; i++)
		free(b[i].name);

	/* Empty and oversized input. */
	assert_int_equal(arb_wire_decode_policy(bigbuf, 0, &out), ARB_EPROTO);
	assert_int_equal(arb_wire_decode_policy(bigbuf, ARB_SIGNED_MAX + 1,
	    &out), ARB_ETOOBIG);
}

static void
test_head(void **state)
{
	Arbor__Head		 h = ARBOR__HEAD__INIT, *out;
	Arbor__PolicyRef	*refs, **rp;
	uint8_t			*buf;
	size_t			 i, len, n = ARB_MAX_POLICIES + 1;

	(void)state;
	assert_non_null(refs = calloc(n, sizeof(*refs)));
	assert_non_null(rp = calloc(n, sizeof(*rp)));
	for (i = 0; i < n; i++) {
		arbor__policy_ref__init(&refs[i]);
		refs[i].id = "pol";
		refs[i].version = (uint32_t)i;
		refs[i].sha256 = bin(sha, 32);
		rp[i] = &refs[i];
	}
	h.seq = 1000;
	h.issued_at = 1;
	h.expires_at = 2;
	h.policies = rp;
	h.n_policies = 3;
	refs[2].urgent = 1;
	assert_int_equal(arb_wire_encode_head(&h, &buf, &len), 0);
	assert_int_equal(arb_wire_decode_head(buf, len, &out), 0);
	free(buf);
	assert_int_equal(out->seq, 1000);
	assert_int_equal(out->n_policies, 3);
	assert_true(out->policies[2]->urgent);
	assert_memory_equal(out->policies[1]->sha256.data, sha, 32);
	arb_wire_free_head(out);
	arb_wire_free_head(NULL);

	h.n_policies = ARB_MAX_POLICIES;
	assert_int_equal(arb_wire_encode_head(&h, &buf, &len), 0);
	assert_int_equal(arb_wire_decode_head(buf, len, &out), 0);
	arb_wire_free_head(out);
	free(buf);
	h.n_policies = ARB_MAX_POLICIES + 1;
	assert_int_equal(arb_wire_encode_head(&h, &buf, &len), 0);
	assert_int_equal(arb_wire_decode_head(buf, len, &out), ARB_EPROTO);
	free(buf);

	h.n_policies = 3;
	refs[1].sha256 = bin(sha, 31);
	assert_int_equal(arb_wire_encode_head(&h, &buf, &len), 0);
	assert_int_equal(arb_wire_decode_head(buf, len, &out), ARB_EPROTO);
	free(buf);
	refs[1].sha256 = bin(sha, 32);
	refs[1].id = "";
	assert_int_equal(arb_wire_encode_head(&h, &buf, &len), 0);
	assert_int_equal(arb_wire_decode_head(buf, len, &out), ARB_EPROTO);
	free(buf);
	refs[1].id = "x/y";
	assert_int_equal(arb_wire_encode_head(&h, &buf, &len), 0);
	assert_int_equal(arb_wire_decode_head(buf, len, &out), ARB_EPROTO);
	free(buf);

	assert_int_equal(arb_wire_decode_head(bigbuf, 0, &out), ARB_EPROTO);
	assert_int_equal(arb_wire_decode_head(bigbuf, ARB_SIGNED_MAX + 1,
	    &out), ARB_ETOOBIG);
	free(refs);
	free(rp);
}

static void
test_signed_record(void **state)
{
	Arbor__Signed	 s, *out;
	uint8_t		*buf;
	size_t		 len;

	(void)state;
	memset(bigbuf, 'q', 64);
	mk_signed(&s, 64);
	assert_int_equal(arb_wire_encode_signed(&s, &buf, &len), 0);
	assert_int_equal(arb_wire_decode_signed(buf, len, &out), 0);
	free(buf);
	assert_int_equal(out->body.len, 64);
	assert_memory_equal(out->body.data, bigbuf, 64);
	assert_memory_equal(out->sig.data, sig, 64);
	arb_wire_free_signed(out);
	arb_wire_free_signed(NULL);

	s.sig = bin(sig, 12);
	assert_int_equal(arb_wire_encode_signed(&s, &buf, &len), 0);
	assert_int_equal(arb_wire_decode_signed(buf, len, &out), ARB_EPROTO);
	free(buf);
	assert_int_equal(arb_wire_decode_signed(bigbuf, 0, &out),
	    ARB_EPROTO);
}

static void
test_error(void **state)
{
	Arbor__Envelope	*o;
	uint8_t		*buf;
	size_t		 len;
	char		 lng[2000];

	(void)state;
	assert_int_equal(arb_wire_error(ARB_ENOTFOUND, &buf, &len,
	    "policy %s v%u: %s", "p1", 3u, "gone"), 0);
	assert_int_equal(arb_wire_decode(buf, len, &o), 0);
	free(buf);
	assert_int_equal(o->body_case, ARBOR__ENVELOPE__BODY_ERROR);
	assert_int_equal(o->error->code, ARB_ENOTFOUND);
	assert_string_equal(o->error->message, "policy p1 v3: gone");
	arb_wire_free(o);

	/* Long text is cut; bytes that are not UTF-8 become '?'. */
	memset(lng, 'x', sizeof(lng));
	lng[sizeof(lng) - 1] = '\0';
	lng[0] = (char)0xff;
	lng[510] = (char)0xc3;	/* cut in the middle of a character */
	lng[511] = (char)0xa9;
	assert_int_equal(arb_wire_error(ARB_EPROTO, &buf, &len, "%s", lng),
	    0);
	assert_int_equal(arb_wire_decode(buf, len, &o), 0);
	free(buf);
	assert_int_equal(strlen(o->error->message), 511);
	assert_int_equal(o->error->message[0], '?');
	assert_int_equal(o->error->message[510], '?');
	arb_wire_free(o);
}

/*
 * Empty elements of a repeated field: two bytes each on the wire, a
 * hundred or so once unpacked.  Refused within the unpack's budget; a
 * full batch of real entries, and the most relay info a batch may carry,
 * still decode.
 */
static void
test_alloc_budget(void **state)
{
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT, *out;
	Arbor__ReportBatch	 b = ARBOR__REPORT_BATCH__INIT;
	Arbor__ReportEntry	*e, **ev;
	Arbor__RelayInfo	*ri, **rv;
	Arbor__Signed		 sg = ARBOR__SIGNED__INIT;
	static char		*via[] = { "relay-east-1", "relay-east",
				    "campus-7" };
	static uint8_t		 body[200];
	char			 parent[ARB_MAX_URL + 2];
	size_t			 i, off = 0, n = 2300, inner = MIB;

	(void)state;
	bigbuf[off++] = 0x08;
	bigbuf[off++] = 0x01;
	bigbuf[off++] = 0xa2;		/* report_batch */
	bigbuf[off++] = 0x03;
	bigbuf[off++] = 0x80 | (inner & 0x7f);
	bigbuf[off++] = 0x80 | ((inner >> 7) & 0x7f);
	bigbuf[off++] = (uint8_t)(inner >> 14);
	for (i = 0; i < inner; i += 2) {
		bigbuf[off++] = 0x0a;
		bigbuf[off++] = 0x00;
	}
	assert_int_equal(arb_wire_decode(bigbuf, off, &out), ARB_ETOOBIG);

	memset(body, 'r', sizeof(body));
	sg.body = bin(body, sizeof(body));
	sg.sig = bin(sig, 64);
	sg.key_id = bin(kid, 8);
	assert_non_null(e = calloc(n, sizeof(*e)));
	assert_non_null(ev = calloc(n, sizeof(*ev)));
	assert_non_null(ri = calloc(ARB_RELAYS_BATCH_MAX + 1, sizeof(*ri)));
	assert_non_null(rv = calloc(ARB_RELAYS_BATCH_MAX + 1, sizeof(*rv)));
	for (i = 0; i < n; i++) {
		arbor__report_entry__init(&e[i]);
		e[i].report = &sg;
		e[i].via = via;
		e[i].n_via = 3;
		ev[i] = &e[i];
	}
	memset(parent, 'p', sizeof(parent));
	parent[ARB_MAX_URL] = '\0';
	for (i = 0; i <= ARB_RELAYS_BATCH_MAX; i++) {
		arbor__relay_info__init(&ri[i]);
		ri[i].node_id = "relay-somewhere-far";
		ri[i].parent = parent;
		rv[i] = &ri[i];
	}
	b.entries = ev;
	b.n_entries = n;
	b.relays = rv;
	b.n_relays = ARB_RELAYS_BATCH_MAX;
	env.body_case = ARBOR__ENVELOPE__BODY_REPORT_BATCH;
	env.report_batch = &b;
	arb_wire_free(roundtrip(&env));

	/* One relay more, or a parent one byte longer: refused. */
	b.n_entries = 0;
	b.n_relays = ARB_RELAYS_BATCH_MAX + 1;
	assert_int_equal(cycle(&env, NULL), ARB_EPROTO);
	b.n_relays = 1;
	parent[ARB_MAX_URL] = 'p';
	parent[ARB_MAX_URL + 1] = '\0';
	assert_int_equal(cycle(&env, NULL), ARB_EPROTO);
	free(e);
	free(ev);
	free(ri);
	free(rv);
}

/*
 * An acknowledgement that names thousands of refusals (16 bytes each on
 * the wire, far more while protobuf-c scans them) still decodes within the
 * budget: a parent's answer to a large batch is never too big to read.
 */
static void
test_ack_many_refusals(void **state)
{
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT, *out;
	Arbor__ReportAck	 ack = ARBOR__REPORT_ACK__INIT;
	Arbor__Refusal		*rf, **rv;
	uint8_t			*buf;
	size_t			 i, len, n = 16384;

	(void)state;
	assert_non_null(rf = calloc(n, sizeof(*rf)));
	assert_non_null(rv = calloc(n, sizeof(*rv)));
	for (i = 0; i < n; i++) {
		arbor__refusal__init(&rf[i]);
		rf[i].index = (uint32_t)i;
		rf[i].code = ARB_EBADSIG;
		rv[i] = &rf[i];
	}
	ack.rejected = (uint32_t)n;
	ack.refused = rv;
	ack.n_refused = n;
	env.body_case = ARBOR__ENVELOPE__BODY_REPORT_ACK;
	env.report_ack = &ack;
	assert_int_equal(arb_wire_encode(&env, &buf, &len), 0);
	assert_int_equal(arb_wire_decode(buf, len, &out), 0);
	assert_int_equal(out->report_ack->n_refused, n);
	arb_wire_free(out);
	free(buf);
	free(rv);
	free(rf);
}

/*
 * Enrolment tokens: a token's groups are bounded in number and length on
 * the control socket, in the store and in receipts; a hash is 32 bytes.
 */
static uint8_t *
pack_env(const Arbor__Envelope *e, size_t *lenp)
{
	uint8_t	*buf;

	*lenp = arbor__envelope__get_packed_size(e);
	assert_non_null(buf = malloc(*lenp + 1));
	assert_int_equal(arbor__envelope__pack(e, buf), *lenp);
	return buf;
}

/* What arb_wire_decode says of e's bytes (packed as they are). */
static int
decode_rv(const Arbor__Envelope *e)
{
	Arbor__Envelope	*out;
	uint8_t		*buf;
	size_t		 len;
	int		 rv;

	buf = pack_env(e, &len);
	if ((rv = arb_wire_decode(buf, len, &out)) == 0)
		arb_wire_free(out);
	free(buf);
	return rv;
}

static void
test_token_bounds(void **state)
{
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT, *out;
	Arbor__TokenCtl		 tc = ARBOR__TOKEN_CTL__INIT;
	Arbor__TokenRecord	 tk = ARBOR__TOKEN_RECORD__INIT, *tp;
	Arbor__Receipt		 rc = ARBOR__RECEIPT__INIT, *rp;
	char			*g[ARB_TOKEN_GROUPS_MAX + 1], empty[] = "";
	char			 longg[ARB_MAX_ID + 2];
	uint8_t			*buf;
	size_t			 i, len;

	(void)state;
	for (i = 0; i <= ARB_TOKEN_GROUPS_MAX; i++)
		g[i] = (char *)"lab";
	env.version = 1;
	env.body_case = ARBOR__ENVELOPE__BODY_TOKEN_CTL;
	env.token_ctl = &tc;
	tc.op = (char *)"create";
	tc.sha256.data = sha;
	tc.sha256.len = 32;
	tc.groups = g;
	tc.n_groups = ARB_TOKEN_GROUPS_MAX;
	buf = pack_env(&env, &len);
	assert_int_equal(arb_wire_decode(buf, len, &out), 0);
	assert_int_equal(out->token_ctl->n_groups, ARB_TOKEN_GROUPS_MAX);
	arb_wire_free(out);
	free(buf);
	tc.n_groups = ARB_TOKEN_GROUPS_MAX + 1;		/* one too many */
	assert_int_equal(decode_rv(&env), ARB_EPROTO);
	tc.n_groups = 1;
	g[0] = empty;					/* an empty group */
	assert_int_equal(decode_rv(&env), ARB_EPROTO);
	memset(longg, 'g', sizeof(longg) - 1);
	longg[sizeof(longg) - 1] = '\0';
	g[0] = longg;					/* a group too long */
	assert_int_equal(decode_rv(&env), ARB_EPROTO);
	g[0] = (char *)"lab";
	tc.sha256.len = 31;				/* a short hash */
	assert_int_equal(decode_rv(&env), ARB_EPROTO);
	tc.sha256.len = 32;
	assert_int_equal(decode_rv(&env), 0);

	/* The stored record and a receipt, the same bounds. */
	tk.id = (char *)"0123456789abcdef";
	tk.sha256.data = sha;
	tk.sha256.len = 32;
	tk.groups = g;
	tk.n_groups = 2;
	assert_int_equal(arb_wire_encode_token(&tk, &buf, &len), 0);
	assert_int_equal(arb_wire_decode_token(buf, len, &tp), 0);
	assert_int_equal(tp->n_groups, 2);
	arb_wire_free_token(tp);
	free(buf);
	tk.n_groups = ARB_TOKEN_GROUPS_MAX + 1;
	assert_int_equal(arb_wire_encode_token(&tk, &buf, &len), 0);
	assert_int_equal(arb_wire_decode_token(buf, len, &tp), ARB_EPROTO);
	free(buf);
	rc.endpoint_id = (char *)"0123456789abcdef0123456789abcdef";
	rc.pubkey.data = sha;
	rc.pubkey.len = 32;
	rc.groups = g;
	rc.n_groups = ARB_TOKEN_GROUPS_MAX + 1;
	rc.revoked = 1;
	assert_int_equal(arb_wire_encode_receipt(&rc, &buf, &len), 0);
	assert_int_equal(arb_wire_decode_receipt(buf, len, &rp), ARB_EPROTO);
	free(buf);
	rc.n_groups = 1;
	assert_int_equal(arb_wire_encode_receipt(&rc, &buf, &len), 0);
	assert_int_equal(arb_wire_decode_receipt(buf, len, &rp), 0);
	assert_true(rp->revoked);
	assert_string_equal(rp->groups[0], "lab");
	arb_wire_free_receipt(rp);
	free(buf);
}

/* An endpoint record's history and an endpoint's detail are bounded. */
static void
test_history_bounds(void **state)
{
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT, *out;
	Arbor__EndpointDetail	 d = ARBOR__ENDPOINT_DETAIL__INIT;
	Arbor__EndpointRecord	 rec = ARBOR__ENDPOINT_RECORD__INIT, *rp;
	Arbor__HistoryEntry	 he = ARBOR__HISTORY_ENTRY__INIT;
	Arbor__HistoryEntry	*hv[ARB_HISTORY_MAX + 1];
	uint8_t			 pub[32] = { 0 }, *buf;
	size_t			 i, len;

	(void)state;
	he.policy_id = (char *)"demo-openssl";
	he.state = 5;
	for (i = 0; i <= ARB_HISTORY_MAX; i++)
		hv[i] = &he;
	rec.pubkey.data = pub;
	rec.pubkey.len = sizeof(pub);
	rec.history = hv;
	rec.n_history = ARB_HISTORY_MAX;
	assert_int_equal(arb_wire_encode_eprec(&rec, &buf, &len), 0);
	assert_int_equal(arb_wire_decode_eprec(buf, len, &rp), 0);
	assert_int_equal(rp->n_history, ARB_HISTORY_MAX);
	assert_string_equal(rp->history[0]->policy_id, "demo-openssl");
	arb_wire_free_eprec(rp);
	free(buf);
	rec.n_history = ARB_HISTORY_MAX + 1;		/* one too many */
	assert_int_equal(arb_wire_encode_eprec(&rec, &buf, &len), 0);
	assert_int_equal(arb_wire_decode_eprec(buf, len, &rp), ARB_EPROTO);
	free(buf);

	env.version = 1;
	env.body_case = ARBOR__ENVELOPE__BODY_ENDPOINT_DETAIL;
	env.endpoint_detail = &d;
	d.endpoint_id = (char *)"0123456789abcdef";
	d.record = &rec;
	rec.n_history = ARB_HISTORY_MAX;
	buf = pack_env(&env, &len);
	assert_int_equal(arb_wire_decode(buf, len, &out), 0);
	assert_int_equal(out->endpoint_detail->record->n_history,
	    ARB_HISTORY_MAX);
	arb_wire_free(out);
	free(buf);
	rec.n_history = ARB_HISTORY_MAX + 1;
	assert_int_equal(decode_rv(&env), ARB_EPROTO);
	rec.n_history = 0;
	d.record = NULL;				/* no record */
	assert_int_equal(decode_rv(&env), ARB_EPROTO);
	d.record = &rec;
	d.endpoint_id = (char *)"";			/* no id */
	assert_int_equal(decode_rv(&env), ARB_EPROTO);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_roundtrip_bodies),
		cmocka_unit_test(test_reject_framing),
		cmocka_unit_test(test_reject_strings),
		cmocka_unit_test(test_reject_sha),
		cmocka_unit_test(test_reject_chunk_size),
		cmocka_unit_test(test_reject_signed),
		cmocka_unit_test(test_reject_ids),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_alloc_budget),
		cmocka_unit_test(test_ack_many_refusals),
		cmocka_unit_test(test_token_bounds),
		cmocka_unit_test(test_history_bounds),
		cmocka_unit_test(test_head),
		cmocka_unit_test(test_signed_record),
		cmocka_unit_test(test_error),
		cmocka_unit_test(test_framed),
	};

	return cmocka_run_group_tests(tests, setup_bufs, NULL);
}
