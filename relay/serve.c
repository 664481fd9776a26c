/*
 * Answering children on svc: hello, heads, policies, chunks, and handing
 * reports and enrolments on (to the root's hooks, or to the spool).
 *
 * Requests arrive on the loop thread (arb_srv).  A request for a chunk of
 * a blob the cache lacks is parked in the cache until the one upstream
 * fetch of that blob ends.  Every chunk served is hashed and compared
 * with the chunk hash recorded when the whole blob was verified: a chunk
 * that no longer matches means the file was damaged on disk, so the blob
 * is dropped, fetched again, and the child is told to retry.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arbor/error.h"
#include "arbor/log.h"
#include "arbor/sig.h"
#include "core_int.h"

struct child {
	int64_t		last_seen;	/* seconds */
	int		relay;		/* 1: a relay, 0: an agent */
};

/* -------------------------------------------------------------- replies */

static int
serve_pack(uint8_t *buf, size_t len, void *arg)
{
	return arb_wire_pack(arg, buf, len);
}

/* A reply of len bytes that fill writes straight into the message. */
static void
serve_fill(struct relay_core *c, struct arb_req *req, size_t len,
    int (*fill)(uint8_t *, size_t, void *), void *arg)
{
	int rv;

	if ((rv = arb_req_reply_fill(req, len, fill, arg)) != 0) {
		log_warnx("%s: reply: %s", c->c.name, arb_strerror(rv));
		if (rv != ARB_EINVAL)
			arb_req_drop(req);
	}
}

/* Encode straight into the reply message: a 1 MiB chunk is not copied. */
void
relay_send(struct relay_core *c, struct arb_req *req, Arbor__Envelope *env)
{
	serve_fill(c, req, arb_wire_size(env), serve_pack, env);
}

void
relay_error(struct relay_core *c, struct arb_req *req, int code,
    const char *what)
{
	uint8_t	*buf;
	size_t	 len;

	c->st.errors++;
	if (arb_wire_error(code, &buf, &len, "%s: %s", what,
	    arb_strerror(code)) != 0) {
		arb_req_drop(req);
		return;
	}
	if (arb_req_reply(req, buf, len) != 0)
		log_debug("%s: reply failed", c->c.name);
	free(buf);
}

/* --------------------------------------------------------------- chunks */

struct framed {
	const Arbor__Envelope	*env;
	const uint8_t		*data;
	size_t			 n;
};

static int
serve_pack_framed(uint8_t *buf, size_t len, void *arg)
{
	struct framed *fr = arg;

	return arb_wire_pack_framed(fr->env, fr->data, fr->n, buf, len);
}

/* The chunk's bytes copied once, from the cache into the reply message. */
static void
serve_framed(struct relay_core *c, struct arb_req *req, Arbor__Envelope *env,
    const uint8_t *data, size_t n)
{
	struct framed	fr;

	fr.env = env;
	fr.data = data;
	fr.n = n;
	serve_fill(c, req, arb_wire_framed_size(env, n), serve_pack_framed,
	    &fr);
}

void
relay_serve_chunk(struct relay_core *c, struct arb_req *req,
    const uint8_t *sha, uint64_t off, uint32_t len, int framed)
{
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT;
	Arbor__Chunk		 ch = ARBOR__CHUNK__INIT;
	struct blobrec_hdr	 h;
	const struct named_blob	*nb;
	const uint8_t		*data;
	uint8_t			*rec, got[ARB_SHA256_LEN];
	uint32_t		 idx;
	size_t			 n;
	char			 hex[ARB_SHA256_HEX];
	int			 rv;

	if ((rv = relay_cache_blobrec(c, sha, &rec, &h)) != 0) {
		if (rv != ARB_ENOTFOUND ||
		    (nb = relay_cache_named(c, sha)) == NULL) {
			relay_error(c, req, ARB_ENOTFOUND, "blob");
			return;
		}
		/* A miss: wait for the one upstream fetch. */
		c->st.cache_misses++;
		if ((rv = relay_cache_park(c, nb, req, off, len, framed)) != 0)
			relay_error(c, req, rv, "blob fetch");
		return;
	}
	c->st.cache_hits++;
	if (off % ARB_CHUNK_SIZE != 0 || off >= h.size || len == 0 ||
	    len != (h.size - off < ARB_CHUNK_SIZE ? h.size - off :
	    ARB_CHUNK_SIZE)) {
		free(rec);
		relay_error(c, req, ARB_EINVAL,
		    "chunk not on a chunk boundary");
		return;
	}
	idx = (uint32_t)(off / ARB_CHUNK_SIZE);
	if ((data = relay_cache_chunk(c, sha, idx, len)) != NULL) {
		n = len;
		goto serve;
	}
	if ((rv = arb_blob_read(c->c.blobs, sha, off, c->chunkbuf, len,
	    &n)) != 0 || n != len || arb_sha256(c->chunkbuf, n, got) != 0 ||
	    memcmp(got, rec + sizeof(h) + (size_t)idx * ARB_SHA256_LEN,
	    ARB_SHA256_LEN) != 0) {
		free(rec);
		arb_hex(sha, ARB_SHA256_LEN, hex);
		log_warnx("%s: blob %.12s: chunk %u damaged on disk; "
		    "dropping it%s", c->c.name, hex, idx,
		    c->c.fetch ? " and fetching it again" : "");
		c->st.corrupt++;
		relay_cache_forget(c, sha);
		if ((nb = relay_cache_named(c, sha)) != NULL)
			(void)relay_cache_fetch(c, nb, 0);
		relay_error(c, req, c->c.fetch ? ARB_EAGAIN : ARB_ECORRUPT,
		    "blob");
		return;
	}
	data = relay_cache_keep(c, sha, idx, c->chunkbuf, n);
serve:
	if (off == 0)
		relay_cache_touch(c, sha, rec, &h);
	free(rec);
	ch.sha256.data = (uint8_t *)sha;
	ch.sha256.len = ARB_SHA256_LEN;
	ch.offset = off;
	ch.total = h.size;
	env.body_case = ARBOR__ENVELOPE__BODY_CHUNK;
	env.chunk = &ch;
	c->st.chunks++;
	c->st.chunk_bytes += n;
	if (framed) {
		serve_framed(c, req, &env, data, n);
		return;
	}
	ch.data.data = (uint8_t *)data;
	ch.data.len = n;
	relay_send(c, req, &env);
}

/* ------------------------------------------------------------- children */

/*
 * Children are remembered for the tree view by the node id they give,
 * which nobody checks: so at most children_max of them, and one not heard
 * from for SERVE_CHILD_KEEP is forgotten (looked for at most once a
 * SERVE_PRUNE_S, or when the map is full).
 */
#define SERVE_CHILDREN_MAX	65536
#define SERVE_CHILD_KEEP	600	/* s: as long as a child counts */
#define SERVE_PRUNE_S		60

struct prune_arg {
	int64_t		  before;
	char		**ids;
	size_t		  n, cap;
};

static void
prune_cb(const char *key, void *val, void *arg)
{
	struct child		*ch = val;
	struct prune_arg	*pa = arg;

	if (ch->last_seen < pa->before && pa->n < pa->cap &&
	    (pa->ids[pa->n] = strdup(key)) != NULL)
		pa->n++;
}

static void
serve_prune(struct relay_core *c, int64_t now)
{
	struct prune_arg	 pa;
	size_t			 i;

	c->children_pruned = now;
	pa.before = now - SERVE_CHILD_KEEP;
	pa.n = 0;
	pa.cap = arb_strmap_count(c->children);
	if ((pa.ids = calloc(pa.cap + 1, sizeof(*pa.ids))) == NULL)
		return;
	arb_strmap_each(c->children, prune_cb, &pa);
	for (i = 0; i < pa.n; i++) {
		free(arb_strmap_del(c->children, pa.ids[i]));
		free(pa.ids[i]);
	}
	free(pa.ids);
}

/* Remember who polls us, for the tree view. */
static void
serve_seen(struct relay_core *c, const char *node_id, const char *kind)
{
	struct child	*ch;
	int64_t		 now = (int64_t)time(NULL);
	size_t		 max;

	if (node_id == NULL || node_id[0] == '\0')
		return;
	max = c->c.children_max ? c->c.children_max : SERVE_CHILDREN_MAX;
	if (now - c->children_pruned >= SERVE_PRUNE_S)
		serve_prune(c, now);
	if ((ch = arb_strmap_get(c->children, node_id)) == NULL) {
		if (arb_strmap_count(c->children) >= max) {
			if (now - c->children_pruned >= 1)
				serve_prune(c, now);
			if (arb_strmap_count(c->children) >= max) {
				if (!c->children_full)
					log_warnx("%s: %zu children heard "
					    "from; %s is not counted until "
					    "one is forgotten", c->c.name,
					    max, node_id);
				c->children_full = 1;
				return;
			}
		}
		c->children_full = 0;
		if ((ch = calloc(1, sizeof(*ch))) == NULL)
			return;
		if (arb_strmap_put(c->children, node_id, ch, NULL) != 0) {
			free(ch);
			return;
		}
	}
	ch->last_seen = now;
	ch->relay = kind && strcmp(kind, "relay") == 0;
}

struct count_arg {
	int64_t		since;
	uint32_t	n;
};

static void
count_cb(const char *key, void *val, void *arg)
{
	struct child		*ch = val;
	struct count_arg	*ca = arg;

	(void)key;
	if (ch->last_seen >= ca->since)
		ca->n++;
}

/* Children heard from since (seconds). */
uint32_t
relay_children(struct relay_core *c, int64_t since)
{
	struct count_arg ca = { since, 0 };

	arb_strmap_each(c->children, count_cb, &ca);
	return ca.n;
}

/* ------------------------------------------------------- key statements */

/*
 * The trust root's statements after the version the child holds, as this
 * node took them (verified, in order): a child that slept through several
 * rotations walks the chain from here, ARB_KEYS_REPLY_MAX at a time.
 */
static void
serve_get_keys(struct relay_core *c, struct arb_req *req,
    const Arbor__GetKeys *gk)
{
	uint8_t	*buf;
	size_t	 len;
	int	 rv;

	if ((rv = arb_keychain_reply(c->c.store, gk->have_version, &buf,
	    &len)) != 0) {
		relay_error(c, req, rv, "keys");
		return;
	}
	(void)arb_req_reply(req, buf, len);
	free(buf);
}

/* ---------------------------------------------------- heads and policies */

/*
 * The replies to GetHead are made once per head: bare for a child that
 * holds this head, and with the signed policies inline for one that does
 * not (when they fit in SERVE_INLINE_MAX), which saves it a round trip per
 * policy.
 */
#define SERVE_INLINE_MAX	(256 * 1024)

void
relay_head_replies(struct relay_core *c, const Arbor__Head *head)
{
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT;
	Arbor__HeadReply	 hr = ARBOR__HEAD_REPLY__INIT;
	Arbor__Signed		**pols;
	void			*v;
	size_t			 i, n, np = 0, bytes = 0;

	free(c->head_bare);
	free(c->head_full);
	c->head_bare = c->head_full = NULL;
	hr.head = c->head_signed;
	env.body_case = ARBOR__ENVELOPE__BODY_HEAD_REPLY;
	env.head_reply = &hr;
	if (arb_wire_encode(&env, &c->head_bare, &c->head_bare_len) != 0)
		c->head_bare = NULL;
	if ((pols = calloc(head->n_policies + 1, sizeof(*pols))) == NULL)
		return;
	for (i = 0; i < head->n_policies && bytes <= SERVE_INLINE_MAX; i++) {
		if (arb_store_get(c->c.store, ARB_DB_POLICIES,
		    head->policies[i]->sha256.data, ARB_SHA256_LEN, &v,
		    &n) != 0)
			continue;
		if (arb_wire_decode_signed(v, n, &pols[np]) == 0) {
			bytes += n;
			np++;
		}
		free(v);
	}
	if (bytes <= SERVE_INLINE_MAX && np > 0) {
		hr.policies = pols;
		hr.n_policies = np;
		if (arb_wire_encode(&env, &c->head_full,
		    &c->head_full_len) != 0)
			c->head_full = NULL;
	}
	for (i = 0; i < np; i++)
		arb_wire_free_signed(pols[i]);
	free(pols);
}

/*
 * What this node knows of endpoint id: the root asks its records, a relay
 * the receipt it holds (the root's word, passed down).
 */
enum relay_ep
relay_endpoint_state(struct relay_core *c, const char *id)
{
	if (c->c.endpoint_state != NULL)
		return c->c.endpoint_state(c->c.hook_arg, id);
	if (c->agg != NULL)
		return relay_agg_endpoint(c, id);
	return RELAY_EP_UNSEEN;
}

/*
 * An agent's poll under an id no receipt names is noted, and listed as
 * unmanaged once it has polled so for the grace time (an endpoint that
 * enrolled through another relay has reported by then); one the root
 * does not know, or revoked, at once.
 */
static void
serve_poll_check(struct relay_core *c, struct arb_req *req,
    const Arbor__GetHead *gh)
{
	const char	*id = gh->endpoint_id;

	/* A relay, or a client that does not say which endpoint it is. */
	if (id == NULL || id[0] == '\0' ||
	    (gh->kind != NULL && strcmp(gh->kind, "relay") == 0))
		return;
	switch (relay_endpoint_state(c, id)) {
	case RELAY_EP_MANAGED:
		break;
	case RELAY_EP_UNKNOWN:
		relay_unm_note_req(c, req, "unknown-endpoint", id, 0);
		break;
	case RELAY_EP_REVOKED:
		relay_unm_note_req(c, req, "revoked", id, 0);
		break;
	default:
		relay_unm_note_req(c, req, "never-enrolled", id, 1);
		break;
	}
}

static void
serve_get_head(struct relay_core *c, struct arb_req *req,
    const Arbor__GetHead *gh)
{
	serve_seen(c, gh->node_id, gh->kind);
	serve_poll_check(c, req, gh);
	if (c->head_signed == NULL || c->head_bare == NULL) {
		relay_error(c, req, ARB_ENOTFOUND, "head");
		return;
	}
	if (gh->have_seq < c->head_seq && c->head_full != NULL)
		(void)arb_req_reply(req, c->head_full, c->head_full_len);
	else
		(void)arb_req_reply(req, c->head_bare, c->head_bare_len);
}

static void
serve_get_policy(struct relay_core *c, struct arb_req *req,
    const Arbor__GetPolicy *gp)
{
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT;
	Arbor__PolicyReply	 pr = ARBOR__POLICY_REPLY__INIT;
	Arbor__Signed		*sg;
	void			*v;
	size_t			 n;
	int			 rv;

	if ((rv = arb_store_get(c->c.store, ARB_DB_POLICIES, gp->sha256.data,
	    ARB_SHA256_LEN, &v, &n)) != 0) {
		relay_error(c, req, rv, "policy");
		return;
	}
	rv = arb_wire_decode_signed(v, n, &sg);
	free(v);
	if (rv != 0) {
		relay_error(c, req, ARB_ECORRUPT, "policy");
		return;
	}
	pr.policy = sg;
	env.body_case = ARBOR__ENVELOPE__BODY_POLICY_REPLY;
	env.policy_reply = &pr;
	relay_send(c, req, &env);
	arb_wire_free_signed(sg);
}

static void
serve_hello(struct relay_core *c, struct arb_req *req, const Arbor__Hello *h)
{
	Arbor__Envelope		env = ARBOR__ENVELOPE__INIT;
	Arbor__HelloReply	hr = ARBOR__HELLO_REPLY__INIT;

	log_debug("%s: hello from %s %s", c->c.name, h->kind, h->node_id);
	hr.node_id = (char *)c->c.name;
	hr.head_seq = c->head_seq;
	env.body_case = ARBOR__ENVELOPE__BODY_HELLO_REPLY;
	env.hello_reply = &hr;
	relay_send(c, req, &env);
}

/* --------------------------------------------------------------- requests */

static void
serve_enroll(struct relay_core *c, struct arb_req *req, Arbor__Enroll *e)
{
	if (c->c.on_enroll)
		c->c.on_enroll(c->c.hook_arg, req, e);
	else if (c->enrol)
		relay_enrol_request(c, req, e);
	else
		relay_error(c, req, ARB_EINVAL, "enrol");
}

/*
 * The enrolment listener's callback: a child that shows no client
 * certificate may enrol here (asking the root for one), and do nothing
 * else.
 */
void
relay_enroll_request(struct arb_req *req, const uint8_t *data, size_t len,
    void *arg)
{
	struct relay_core	*c = arg;
	Arbor__Envelope		*env;
	int			 rv;

	c->st.requests++;
	if ((rv = arb_wire_decode(data, len, &env)) != 0) {
		log_warnx("%s: malformed request on the enrolment address "
		    "(%zu bytes): %s", c->c.name, len, arb_strerror(rv));
		relay_error(c, req, rv, "request");
		return;
	}
	if (env->body_case == ARBOR__ENVELOPE__BODY_ENROLL)
		serve_enroll(c, req, env->enroll);
	else
		relay_error(c, req, ARB_EPERM, "this address serves only "
		    "enrolment");
	c->st.by_kind[env->body_case == ARBOR__ENVELOPE__BODY_ENROLL ?
	    RELAY_REQ_ENROL : RELAY_REQ_OTHER]++;
	arb_wire_free(env);
}

static enum relay_req_kind
req_kind(Arbor__Envelope__BodyCase bc)
{
	switch (bc) {
	case ARBOR__ENVELOPE__BODY_HELLO:
		return RELAY_REQ_HELLO;
	case ARBOR__ENVELOPE__BODY_GET_HEAD:
		return RELAY_REQ_HEAD;
	case ARBOR__ENVELOPE__BODY_GET_POLICY:
		return RELAY_REQ_POLICY;
	case ARBOR__ENVELOPE__BODY_GET_KEYS:
		return RELAY_REQ_KEYS;
	case ARBOR__ENVELOPE__BODY_GET_CHUNK:
		return RELAY_REQ_CHUNK;
	case ARBOR__ENVELOPE__BODY_ENROLL:
		return RELAY_REQ_ENROL;
	case ARBOR__ENVELOPE__BODY_REPORT_BATCH:
		return RELAY_REQ_REPORTS;
	default:
		return RELAY_REQ_OTHER;
	}
}

/* The svc server's callback: one request from a child. */
void
relay_request(struct arb_req *req, const uint8_t *data, size_t len, void *arg)
{
	struct relay_core	*c = arg;
	Arbor__Envelope		*env;
	int			 rv;

	c->st.requests++;
	if ((rv = arb_wire_decode(data, len, &env)) != 0) {
		c->st.by_kind[RELAY_REQ_OTHER]++;
		log_warnx("%s: malformed request (%zu bytes): %s", c->c.name,
		    len, arb_strerror(rv));
		relay_error(c, req, rv, "request");
		return;
	}
	c->st.by_kind[req_kind(env->body_case)]++;
	switch (env->body_case) {
	case ARBOR__ENVELOPE__BODY_HELLO:
		serve_hello(c, req, env->hello);
		break;
	case ARBOR__ENVELOPE__BODY_GET_HEAD:
		serve_get_head(c, req, env->get_head);
		break;
	case ARBOR__ENVELOPE__BODY_ENROLL:
		serve_enroll(c, req, env->enroll);
		break;
	case ARBOR__ENVELOPE__BODY_REPORT_BATCH:
		c->st.batch_bytes_in += len;
		if (c->c.on_batch)
			c->c.on_batch(c->c.hook_arg, req, env->report_batch);
		else if (c->agg)
			relay_agg_batch(c, req, env->report_batch);
		else
			relay_error(c, req, ARB_EINVAL, "reports");
		break;
	case ARBOR__ENVELOPE__BODY_GET_POLICY:
		serve_get_policy(c, req, env->get_policy);
		break;
	case ARBOR__ENVELOPE__BODY_GET_KEYS:
		serve_get_keys(c, req, env->get_keys);
		break;
	case ARBOR__ENVELOPE__BODY_GET_CHUNK:
		relay_shape_chunk(c, req, env->get_chunk->sha256.data,
		    env->get_chunk->offset, env->get_chunk->len,
		    env->get_chunk->framed);
		break;
	default:
		log_warnx("%s: unexpected request (body %d)", c->c.name,
		    (int)env->body_case);
		relay_error(c, req, ARB_EINVAL, "unexpected request");
		break;
	}
	arb_wire_free(env);
}
