/*
 * Unit tests for the root's fan-in (root/fanin.c): a report from an
 * enrolled endpoint is taken and counted; a replayed sequence, a report
 * signed by another key and one from an endpoint that never enrolled are
 * refused, and so is one from an endpoint the operator revoked; a
 * stored predecessor with a state that does not exist (as a
 * database written before that check might hold) leaves the counts
 * whole; and the counts rebuilt from the status database at start equal
 * the counts kept live.  Every store lives under its own mkdtemp()
 * directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "support/tmptree.h"

#include "arbor/catalog.h"
#include "arbor/error.h"
#include "arbor/report.h"
#include "arbor/store.h"
#include "arbor/strmap.h"
#include "root.h"

#define MAPSIZE		(8ULL * 1024 * 1024)

struct ep {
	struct arb_key	*k;
	char		 id[ARB_EPID_HEX];
};

struct fixture {
	char			 dir[64];
	char			 path[96];
	struct arb_store	*s;
	struct arb_strmap	*live;		/* counts kept as they come */
	struct ep		 a, b;		/* a enrolled, b not */
};

static void
ep_make(struct ep *e)
{
	assert_int_equal(arb_key_generate(&e->k), 0);
	assert_int_equal(arb_endpoint_id(e->k, e->id), 0);
}

/* Enrol e as root_enroll records it. */
static void
enroll(struct fixture *f, const struct ep *e)
{
	Arbor__EndpointRecord	 rec = ARBOR__ENDPOINT_RECORD__INIT;
	uint8_t			 pub[ARB_PUBKEY_LEN], *buf;
	size_t			 len;

	assert_int_equal(arb_key_raw_public(e->k, pub), 0);
	rec.pubkey.data = pub;
	rec.pubkey.len = sizeof(pub);
	rec.hostname = "host";
	rec.enrolled_at = 1700000000;
	assert_int_equal(arb_wire_encode_eprec(&rec, &buf, &len), 0);
	assert_int_equal(arb_store_put(f->s, ARB_DB_ENDPOINTS, e->id,
	    strlen(e->id), buf, len), 0);
	free(buf);
}

static int
setup(void **state)
{
	struct fixture	*f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/arbor-fanin-XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/db", f->dir);
	if (arb_store_open(f->path, MAPSIZE, &f->s) != 0 ||
	    arb_strmap_new(&f->live) != 0) {
		test_rmtree(f->dir);
		free(f);
		return -1;
	}
	ep_make(&f->a);
	ep_make(&f->b);
	enroll(f, &f->a);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	arb_strmap_free(f->live, free);
	if (f->s)
		arb_store_close(f->s);
	arb_key_free(f->a.k);
	arb_key_free(f->b.k);
	test_rmtree(f->dir);
	free(f);
	return 0;
}

/*
 * A report entry from endpoint id, signed with k, via one relay: free
 * with entry_free.
 */
static const char	*entry_relay = "";	/* the relay reports name */

static Arbor__ReportEntry *
entry_new(const struct arb_key *k, const char *id, uint64_t seq,
    const char *policy, unsigned st, uint32_t version)
{
	static char		*via[] = { "relay-1" };
	Arbor__Report		 r = ARBOR__REPORT__INIT;
	Arbor__ReportEntry	*e;
	Arbor__Signed		*sg;
	uint8_t			*body;
	size_t			 len;

	r.endpoint_id = (char *)id;
	r.seq = seq;
	r.policy_id = (char *)policy;
	r.version = version;
	r.state = st;
	r.detail = "";
	r.relay = (char *)entry_relay;
	r.at = 1700000100;
	assert_int_equal(arb_wire_encode_report(&r, &body, &len), 0);
	assert_non_null(e = calloc(1, sizeof(*e)));
	assert_non_null(sg = calloc(1, sizeof(*sg)));
	arbor__report_entry__init(e);
	assert_int_equal(arb_signed_make(k, body, len, sg), 0);
	free(body);
	e->report = sg;
	e->via = via;
	e->n_via = 1;
	return e;
}

static void
entry_free(Arbor__ReportEntry *e)
{
	arb_signed_clear(e->report);
	free(e->report);
	free(e);
}

/*
 * Judge one entry in its own transaction, commit, and count it as
 * root_batch does once the commit holds.  Returns the verdict.
 */
static int
take(struct fixture *f, Arbor__ReportEntry *e)
{
	struct root_delta	 d;
	struct arb_txn		*t;
	int			 rv, has;

	assert_int_equal(arb_txn_begin(f->s, 1, &t), 0);
	rv = root_fanin_take(t, e, &d, &has);
	assert_int_equal(arb_txn_commit(t), 0);
	if (rv == 0 && has)
		root_counts_apply(f->live, &d);
	entry_free(e);
	return rv;
}

static uint32_t
count(struct arb_strmap *m, const char *policy, unsigned st)
{
	struct root_pcounts *pc = arb_strmap_get(m, policy);

	return pc == NULL ? 0 : pc->v[st];
}

static uint32_t
total(struct arb_strmap *m, const char *policy)
{
	uint32_t	n = 0;
	unsigned	st;

	for (st = 0; st < ARB_ST_COUNT; st++)
		n += count(m, policy, st);
	return n;
}

struct cmp_arg {
	struct arb_strmap	*other;
	int			 differ;
};

static void
cmp_cb(const char *key, void *val, void *arg)
{
	struct cmp_arg		*ca = arg;
	struct root_pcounts	*pc = val, *o;
	static const struct root_pcounts zero;

	if ((o = arb_strmap_get(ca->other, key)) == NULL)
		o = (struct root_pcounts *)&zero;
	if (memcmp(pc->v, o->v, sizeof(pc->v)) != 0 ||
	    pc->version != o->version)
		ca->differ = 1;
}

/* The counts of a and b are the same, policy by policy. */
static void
assert_counts_equal(struct arb_strmap *a, struct arb_strmap *b)
{
	struct cmp_arg	ca;

	ca.differ = 0;
	ca.other = b;
	arb_strmap_each(a, cmp_cb, &ca);
	ca.other = a;
	arb_strmap_each(b, cmp_cb, &ca);
	assert_int_equal(ca.differ, 0);
}

/* The counts the root would rebuild from f's status database. */
static struct arb_strmap *
rebuilt(struct fixture *f)
{
	struct arb_strmap	*m;
	struct arb_txn		*t;

	assert_int_equal(arb_strmap_new(&m), 0);
	assert_int_equal(arb_txn_begin(f->s, 0, &t), 0);
	assert_int_equal(root_counts_load(m, t), 0);
	arb_txn_abort(t);
	return m;
}

static void
test_good_report_counted(void **state)
{
	struct fixture	*f = *state;
	Arbor__Report	*rep;
	uint8_t		 key[ARB_REPORT_KEY_MAX];
	void		*v;
	size_t		 klen, n;

	assert_int_equal(take(f, entry_new(f->a.k, f->a.id, 1, "openssl",
	    ARB_ST_APPLICABLE, 2)), 0);
	assert_int_equal(count(f->live, "openssl", ARB_ST_APPLICABLE), 1);
	/* The next one moves the endpoint from one state to another. */
	assert_int_equal(take(f, entry_new(f->a.k, f->a.id, 2, "openssl",
	    ARB_ST_FIXED, 2)), 0);
	assert_int_equal(count(f->live, "openssl", ARB_ST_APPLICABLE), 0);
	assert_int_equal(count(f->live, "openssl", ARB_ST_FIXED), 1);
	assert_int_equal(((struct root_pcounts *)arb_strmap_get(f->live,
	    "openssl"))->version, 2);

	/* Stored under (endpoint, policy), as it was signed. */
	klen = arb_report_key(f->a.id, "openssl", key);
	assert_int_equal(arb_store_get(f->s, ARB_DB_STATUS, key, klen, &v,
	    &n), 0);
	assert_int_equal(arb_wire_decode_report(v, n, &rep), 0);
	assert_int_equal(rep->seq, 2);
	assert_int_equal(rep->state, ARB_ST_FIXED);
	arb_wire_free_report(rep);
	free(v);
}

static void
test_replay_refused(void **state)
{
	struct fixture		*f = *state;
	Arbor__ReportEntry	*e;

	assert_int_equal(take(f, entry_new(f->a.k, f->a.id, 5, "openssl",
	    ARB_ST_FAILED, 1)), 0);
	/* The same report again (its ack was lost): taken, counted once. */
	assert_int_equal(take(f, entry_new(f->a.k, f->a.id, 5, "openssl",
	    ARB_ST_FAILED, 1)), 0);
	assert_int_equal(count(f->live, "openssl", ARB_ST_FAILED), 1);
	/* Those bytes are held, verified when taken: not verified again. */
	e = entry_new(f->a.k, f->a.id, 5, "openssl", ARB_ST_FAILED, 1);
	e->report->sig.data[0] ^= 1;
	assert_int_equal(take(f, e), 0);
	assert_int_equal(count(f->live, "openssl", ARB_ST_FAILED), 1);
	/* Other bytes under a bad signature are refused for it. */
	e = entry_new(f->a.k, f->a.id, 6, "openssl", ARB_ST_FIXED, 1);
	e->report->sig.data[0] ^= 1;
	assert_int_equal(take(f, e), ARB_EBADSIG);
	/* Another report under a sequence already seen: a replay. */
	assert_int_equal(take(f, entry_new(f->a.k, f->a.id, 5, "openssl",
	    ARB_ST_FIXED, 1)), ARB_ESTALE);
	assert_int_equal(take(f, entry_new(f->a.k, f->a.id, 4, "openssl",
	    ARB_ST_FIXED, 1)), ARB_ESTALE);
	assert_int_equal(count(f->live, "openssl", ARB_ST_FAILED), 1);
	assert_int_equal(total(f->live, "openssl"), 1);
}

static void
test_other_key_refused(void **state)
{
	struct fixture		*f = *state;
	Arbor__ReportEntry	*e;
	uint8_t			 kid[ARB_KEYID_LEN];

	/* a's id, b's key: the key id is not the one a enrolled. */
	assert_int_equal(take(f, entry_new(f->b.k, f->a.id, 1, "openssl",
	    ARB_ST_FIXED, 1)), ARB_EUNKNOWNKEY);
	/* ... and with a's key id written over it, the signature fails. */
	e = entry_new(f->b.k, f->a.id, 2, "openssl", ARB_ST_FIXED, 1);
	assert_int_equal(arb_key_id(f->a.k, kid), 0);
	memcpy(e->report->key_id.data, kid, sizeof(kid));
	assert_int_equal(take(f, e), ARB_EBADSIG);
	/* a's own report, altered after it was signed. */
	e = entry_new(f->a.k, f->a.id, 3, "openssl", ARB_ST_FIXED, 1);
	e->report->sig.data[0] ^= 1;
	assert_int_equal(take(f, e), ARB_EBADSIG);
	assert_int_equal(total(f->live, "openssl"), 0);
	/* Nothing was stored: a's first real report is still new. */
	assert_int_equal(take(f, entry_new(f->a.k, f->a.id, 1, "openssl",
	    ARB_ST_FIXED, 1)), 0);
}

static void
test_unknown_endpoint_refused(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(take(f, entry_new(f->b.k, f->b.id, 1, "openssl",
	    ARB_ST_FIXED, 1)), ARB_ENOTFOUND);
	assert_int_equal(total(f->live, "openssl"), 0);
}

static void
test_revoked_endpoint_refused(void **state)
{
	struct fixture		*f = *state;
	Arbor__EndpointRecord	*rec;
	uint8_t			*buf;
	void			*v;
	size_t			 n, len;

	assert_int_equal(take(f, entry_new(f->a.k, f->a.id, 1, "openssl",
	    ARB_ST_FIXED, 1)), 0);
	/* arborctl endpoint revoke marks the record. */
	assert_int_equal(arb_store_get(f->s, ARB_DB_ENDPOINTS, f->a.id,
	    strlen(f->a.id), &v, &n), 0);
	assert_int_equal(arb_wire_decode_eprec(v, n, &rec), 0);
	free(v);
	rec->revoked = 1;
	assert_int_equal(arb_wire_encode_eprec(rec, &buf, &len), 0);
	arb_wire_free_eprec(rec);
	assert_int_equal(arb_store_put(f->s, ARB_DB_ENDPOINTS, f->a.id,
	    strlen(f->a.id), buf, len), 0);
	free(buf);
	/* Its own, newer, well signed: refused all the same, not counted. */
	assert_int_equal(take(f, entry_new(f->a.k, f->a.id, 2, "openssl",
	    ARB_ST_FAILED, 1)), ARB_EREVOKED);
	assert_int_equal(total(f->live, "openssl"), 1);
	/* One signed by another key is still refused for its signature. */
	assert_int_equal(take(f, entry_new(f->b.k, f->a.id, 3, "openssl",
	    ARB_ST_FAILED, 1)), ARB_EUNKNOWNKEY);
}

static void
test_bad_stored_state(void **state)
{
	struct fixture		*f = *state;
	Arbor__Report		 r = ARBOR__REPORT__INIT;
	struct arb_strmap	*m;
	uint8_t			 key[ARB_REPORT_KEY_MAX], *buf;
	size_t			 klen, len;
	unsigned		 st;

	/* Written straight into the status database, not through fan-in. */
	r.endpoint_id = f->a.id;
	r.seq = 1;
	r.policy_id = "openssl";
	r.version = 1;
	r.state = ARB_ST_COUNT + 90;
	r.detail = "";
	assert_int_equal(arb_wire_encode_report(&r, &buf, &len), 0);
	klen = arb_report_key(f->a.id, "openssl", key);
	assert_int_equal(arb_store_put(f->s, ARB_DB_STATUS, key, klen, buf,
	    len), 0);
	free(buf);
	/* At start it counts for nothing. */
	m = rebuilt(f);
	assert_int_equal(total(m, "openssl"), 0);
	arb_strmap_free(m, free);

	assert_int_equal(take(f, entry_new(f->a.k, f->a.id, 2, "openssl",
	    ARB_ST_FIXED, 1)), 0);
	assert_int_equal(take(f, entry_new(f->a.k, f->a.id, 3, "openssl",
	    ARB_ST_FAILED, 1)), 0);
	for (st = 0; st < ARB_ST_COUNT; st++)
		assert_int_equal(count(f->live, "openssl", st),
		    st == ARB_ST_FAILED ? 1 : 0);
	m = rebuilt(f);
	assert_counts_equal(f->live, m);
	arb_strmap_free(m, free);
}

static void
test_rebuilt_equals_live(void **state)
{
	struct fixture		*f = *state;
	Arbor__ReportBatch	 b = ARBOR__REPORT_BATCH__INIT;
	Arbor__ReportEntry	*e[8];
	struct root_delta	 d[8];
	struct arb_strmap	*m;
	struct arb_txn		*t;
	struct ep		 c;
	size_t			 i, nd;
	uint32_t		 acc, rej;

	ep_make(&c);
	enroll(f, &c);
	e[0] = entry_new(f->a.k, f->a.id, 1, "openssl", ARB_ST_RUNNING, 1);
	e[1] = entry_new(f->a.k, f->a.id, 2, "openssl", ARB_ST_FIXED, 1);
	e[2] = entry_new(c.k, c.id, 1, "openssl", ARB_ST_FAILED, 1);
	e[3] = entry_new(c.k, c.id, 1, "openssl", ARB_ST_FIXED, 1);
	e[4] = entry_new(c.k, c.id, 2, "curl", ARB_ST_NOT_APPLICABLE, 3);
	e[5] = entry_new(f->b.k, f->b.id, 1, "curl", ARB_ST_FIXED, 3);
	e[6] = entry_new(f->a.k, f->a.id, 3, "", ARB_ST_UNKNOWN, 0);
	e[7] = entry_new(f->a.k, f->a.id, 4, "curl", ARB_ST_ERROR, 3);
	b.entries = e;
	b.n_entries = 8;
	assert_int_equal(arb_txn_begin(f->s, 1, &t), 0);
	assert_int_equal(root_fanin_batch(t, &b, d, &nd, &acc, &rej, NULL), 0);
	assert_int_equal(arb_txn_commit(t), 0);
	for (i = 0; i < nd; i++)
		root_counts_apply(f->live, &d[i]);
	/* e[3] replays e[2]'s sequence; e[5] never enrolled. */
	assert_int_equal(acc, 6);
	assert_int_equal(rej, 2);
	assert_int_equal(nd, 5);	/* an inventory counts nothing */
	assert_int_equal(count(f->live, "openssl", ARB_ST_FIXED), 1);
	assert_int_equal(count(f->live, "openssl", ARB_ST_FAILED), 1);
	assert_int_equal(total(f->live, "openssl"), 2);
	assert_int_equal(total(f->live, "curl"), 2);
	for (i = 0; i < 8; i++)
		entry_free(e[i]);

	/* The root starts again: the counts come back the same. */
	arb_store_close(f->s);
	assert_int_equal(arb_store_open(f->path, MAPSIZE, &f->s), 0);
	m = rebuilt(f);
	assert_counts_equal(f->live, m);
	arb_strmap_free(m, free);
	arb_key_free(c.k);
}

/* The relay info the root holds for id, decoded; NULL if none. */
static Arbor__RelayInfo *
relay_get(struct fixture *f, const char *id)
{
	Arbor__RelayInfo	*ri = NULL;
	void			*v;
	size_t			 n;

	if (arb_store_get(f->s, ARB_DB_RELAYS, id, strlen(id), &v, &n) != 0)
		return NULL;
	assert_int_equal(arb_wire_decode_relayinfo(v, n, &ri), 0);
	free(v);
	return ri;
}

static void
relays_batch(struct fixture *f, Arbor__RelayInfo **ri, size_t n)
{
	Arbor__ReportBatch	 b = ARBOR__REPORT_BATCH__INIT;
	struct root_delta	 d[1];
	struct arb_txn		*t;
	uint32_t		 acc, rej;
	size_t			 nd;

	b.relays = ri;
	b.n_relays = n;
	assert_int_equal(arb_txn_begin(f->s, 1, &t), 0);
	assert_int_equal(root_fanin_batch(t, &b, d, &nd, &acc, &rej, NULL), 0);
	assert_int_equal(arb_txn_commit(t), 0);
}

/*
 * A relay's entry is dated by the root's clock when the relay sends it
 * itself, carried only by the child that carries it while it does, and
 * never dated far ahead: another child can neither pin nor take it.
 */
static void
test_relay_info_rule(void **state)
{
	struct fixture		*f = *state;
	Arbor__RelayInfo	 a = ARBOR__RELAY_INFO__INIT;
	Arbor__RelayInfo	 x = ARBOR__RELAY_INFO__INIT;
	Arbor__RelayInfo	 y = ARBOR__RELAY_INFO__INIT;
	Arbor__RelayInfo	*v[2], *got;
	int64_t			 now = (int64_t)time(NULL);

	a.node_id = "a";
	a.parent = "tcp://root:1";
	a.at = INT64_MAX;		/* its own: the root's clock wins */
	x.node_id = "x";
	x.parent = "tcp://a:1";
	x.at = INT64_MAX;		/* below a: at most the skew ahead */
	v[0] = &a;
	v[1] = &x;
	relays_batch(f, v, 2);
	got = relay_get(f, "a");
	assert_true(got->at >= now && got->at <= now + 5);
	assert_string_equal(got->carrier, "a");
	arb_wire_free_relayinfo(got);
	got = relay_get(f, "x");
	assert_true(got->at <= now + 5 + ARB_RELAYINFO_SKEW);
	assert_string_equal(got->carrier, "a");
	arb_wire_free_relayinfo(got);

	/* Another child says x is its own below it: refused. */
	y.node_id = "evil";
	y.parent = "tcp://root:1";
	x.parent = "tcp://evil:1";
	x.at = now;
	v[0] = &y;
	relays_batch(f, v, 2);
	got = relay_get(f, "x");
	assert_string_equal(got->parent, "tcp://a:1");
	arb_wire_free_relayinfo(got);

	/* x's own word, as a direct child now, is taken. */
	x.parent = "tcp://root:1";
	v[0] = &x;
	relays_batch(f, v, 1);
	got = relay_get(f, "x");
	assert_string_equal(got->parent, "tcp://root:1");
	assert_string_equal(got->carrier, "x");
	arb_wire_free_relayinfo(got);
}

/* The relay an endpoint's record says it uses, "" for none. */
static char *
relay_in_use(struct fixture *f, const char *id)
{
	Arbor__EndpointRecord	*rec;
	void			*v;
	size_t			 n;
	char			*s;

	assert_int_equal(arb_store_get(f->s, ARB_DB_ENDPOINTS, id,
	    strlen(id), &v, &n), 0);
	assert_int_equal(arb_wire_decode_eprec(v, n, &rec), 0);
	free(v);
	assert_non_null(s = strdup(rec->relay));
	arb_wire_free_eprec(rec);
	return s;
}

static void
assert_relay(struct fixture *f, const char *want)
{
	char	*got = relay_in_use(f, f->a.id);

	assert_string_equal(got, want);
	free(got);
}

/*
 * The relay in use is the newest report's word: an older report of
 * another policy arriving later does not bring back the relay it names,
 * one that names none keeps it, and one too long is refused whole.
 */
static void
test_relay_in_use(void **state)
{
	static char	 big[ARB_MAX_URL + 2];
	static const struct {
		const char	*relay;
		uint64_t	 seq;
		const char	*policy;
		uint32_t	 version;
		int		 rv;
		const char	*after;
	} steps[] = {
		{ "tcp://near:7201", 2, "openssl", 1, 0, "tcp://near:7201" },
		{ "tcp://far:7201", 1, "zlib", 1, 0, "tcp://near:7201" },
		{ "tcp://far:7201", 3, "zlib", 2, 0, "tcp://far:7201" },
		{ "", 4, "openssl", 2, 0, "tcp://far:7201" },
		{ big, 5, "openssl", 2, ARB_EPROTO, "tcp://far:7201" },
	};
	struct fixture	*f = *state;
	size_t		 i;

	memset(big, 'x', sizeof(big) - 1);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		entry_relay = steps[i].relay;
		assert_int_equal(take(f, entry_new(f->a.k, f->a.id,
		    steps[i].seq, steps[i].policy, ARB_ST_FIXED,
		    steps[i].version)), steps[i].rv);
		assert_relay(f, steps[i].after);
	}
	entry_relay = "";
}

/* Past 32 bad signatures the rest of a batch is refused unverified. */
static void
test_bad_signatures_capped(void **state)
{
	struct fixture		 *f = *state;
	Arbor__ReportBatch	  b = ARBOR__REPORT_BATCH__INIT;
	Arbor__ReportEntry	**e;
	struct root_delta	 *d;
	struct arb_txn		 *t;
	uint32_t		  acc, rej;
	size_t			  i, nd, n = 100;

	e = calloc(n, sizeof(*e));
	d = calloc(n, sizeof(*d));
	assert_non_null(e);
	assert_non_null(d);
	for (i = 0; i < n; i++) {
		e[i] = entry_new(f->a.k, f->a.id, i + 1, "openssl",
		    ARB_ST_FIXED, 1);
		/* The last one is good, but comes after the cap. */
		if (i < n - 1)
			e[i]->report->sig.data[0] ^= 1;
	}
	b.entries = e;
	b.n_entries = n;
	assert_int_equal(arb_txn_begin(f->s, 1, &t), 0);
	assert_int_equal(root_fanin_batch(t, &b, d, &nd, &acc, &rej, NULL), 0);
	arb_txn_abort(t);
	assert_int_equal(acc, 0);
	assert_int_equal(rej, n);
	for (i = 0; i < n; i++)
		entry_free(e[i]);
	free(e);
	free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_good_report_counted,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_key_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_endpoint_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_revoked_endpoint_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_stored_state,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_rebuilt_equals_live,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_relay_info_rule,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_relay_in_use, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_signatures_capped,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
