/*
 * The relay core: serving children, rebroadcasting, caching.
 *
 * Requests arrive on the loop thread (arb_srv).  A request for a blob the
 * cache lacks is parked until the one upstream fetch for that blob ends;
 * arb_sync does the single flight.  Every chunk served is hashed and
 * compared with the chunk hash recorded when the whole blob was verified:
 * a chunk that no longer matches means the file was damaged on disk, so
 * the blob is dropped, fetched again, and the child is told to retry.
 */
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arbor/catalog.h"
#include "arbor/error.h"
#include "arbor/log.h"
#include "arbor/sig.h"
#include "core_int.h"

static void	core_reply_chunk(struct relay_core *, struct arb_req *,
		    const uint8_t *, uint64_t, uint32_t);

/* -------------------------------------------------------------- replies */

static void
handle_free_cb(uv_handle_t *h)
{
	free(h);
}

struct deferred {
	struct arb_req	*req;
	uint8_t		*buf;
	size_t		 len;
	void		(*after)(void *, int);
	void		*arg;
	struct deferred	*next;
};

static void
core_commit_cb(uv_check_t *h)
{
	struct relay_core	*c = h->data;
	struct deferred		*d, *dn;
	int			 rv;

	uv_check_stop(h);
	rv = arb_store_group_commit(c->c.store);
	if (rv != 0)
		log_warnx("%s: group commit: %s", c->c.name, arb_strerror(rv));
	d = c->dq;
	c->dq = NULL;
	c->dqt = &c->dq;
	for (; d; d = dn) {
		dn = d->next;
		if (rv == 0)
			(void)arb_req_reply(d->req, d->buf, d->len);
		else
			core_error(c, d->req, rv, "commit");
		if (d->after)
			d->after(d->arg, rv == 0);
		free(d->buf);
		free(d);
	}
}

int
relay_core_group(struct relay_core *c)
{
	int rv;

	if (arb_store_group_active(c->c.store))
		return 0;
	if ((rv = arb_store_group_begin(c->c.store)) != 0)
		return rv;
	uv_check_start(c->check, core_commit_cb);
	return 0;
}

void
relay_core_defer(struct relay_core *c, struct arb_req *req,
    Arbor__Envelope *reply, void (*after)(void *, int), void *arg)
{
	struct deferred *d;

	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    arb_wire_encode(reply, &d->buf, &d->len) != 0) {
		free(d);
		core_error(c, req, -ENOMEM, "reply");
		if (after)
			after(arg, 0);
		return;
	}
	d->req = req;
	d->after = after;
	d->arg = arg;
	*c->dqt = d;
	c->dqt = &d->next;
}

static int
core_pack(uint8_t *buf, size_t len, void *arg)
{
	return arb_wire_pack(arg, buf, len);
}

/* Encode straight into the reply message: a 1 MiB chunk is not copied. */
void
core_send(struct relay_core *c, struct arb_req *req, Arbor__Envelope *env)
{
	int rv;

	if ((rv = arb_req_reply_fill(req, arb_wire_size(env), core_pack,
	    env)) != 0) {
		log_warnx("%s: reply: %s", c->c.name, arb_strerror(rv));
		if (rv != ARB_EINVAL)
			arb_req_drop(req);
	}
}

void
core_error(struct relay_core *c, struct arb_req *req, int code,
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

/* ----------------------------------------------------------- blob index */

static const struct named_blob *
core_named(const struct relay_core *c, const uint8_t *sha)
{
	size_t i;

	for (i = 0; i < c->nnamed; i++)
		if (memcmp(c->named[i].sha, sha, ARB_SHA256_LEN) == 0)
			return &c->named[i];
	return NULL;
}

int
relay_core_index_blob(struct relay_core *c, const uint8_t sha[ARB_SHA256_LEN],
    const uint8_t *chunks, size_t nchunks)
{
	struct blobrec_hdr	 h;
	uint8_t			*rec = NULL, *dst;
	uint64_t		 size, off;
	size_t			 n, reclen;
	uint32_t		 i;
	int			 rv;

	if ((rv = arb_blob_stat(c->c.blobs, sha, &size)) != 0)
		return rv;
	memset(&h, 0, sizeof(h));
	h.size = size;
	h.last_used = (int64_t)time(NULL);
	h.nchunks = (uint32_t)((size + ARB_CHUNK_SIZE - 1) / ARB_CHUNK_SIZE);
	reclen = sizeof(h) + (size_t)h.nchunks * ARB_SHA256_LEN;
	if ((rec = malloc(reclen)) == NULL)
		return -ENOMEM;
	memcpy(rec, &h, sizeof(h));
	dst = rec + sizeof(h);
	if (chunks != NULL && nchunks == h.nchunks) {
		/* Hashed by the fetch as it wrote them: no second read. */
		memcpy(dst, chunks, nchunks * ARB_SHA256_LEN);
		goto put;
	}
	for (i = 0, off = 0; i < h.nchunks; i++, off += ARB_CHUNK_SIZE) {
		if ((rv = arb_blob_read(c->c.blobs, sha, off, c->chunkbuf,
		    ARB_CHUNK_SIZE, &n)) != 0 ||
		    (rv = arb_sha256(c->chunkbuf, n, dst +
		    (size_t)i * ARB_SHA256_LEN)) != 0)
			goto fail;
	}
put:
	rv = arb_store_put(c->c.store, ARB_DB_BLOBS, sha, ARB_SHA256_LEN, rec,
	    reclen);
fail:
	free(rec);
	return rv;
}

static int
core_blobrec(struct relay_core *c, const uint8_t *sha, uint8_t **recp,
    struct blobrec_hdr *hp)
{
	void	*v;
	size_t	 n;
	int	 rv;

	if ((rv = arb_store_get(c->c.store, ARB_DB_BLOBS, sha, ARB_SHA256_LEN,
	    &v, &n)) != 0)
		return rv;
	if (n < sizeof(*hp)) {
		free(v);
		return ARB_ECORRUPT;
	}
	memcpy(hp, v, sizeof(*hp));
	if (n != sizeof(*hp) + (size_t)hp->nchunks * ARB_SHA256_LEN) {
		free(v);
		return ARB_ECORRUPT;
	}
	*recp = v;
	return 0;
}

static void	cchunk_forget(struct relay_core *, const uint8_t *);

static void
core_forget_blob(struct relay_core *c, const uint8_t *sha)
{
	cchunk_forget(c, sha);
	(void)arb_store_del(c->c.store, ARB_DB_BLOBS, sha, ARB_SHA256_LEN);
	(void)arb_blob_remove(c->c.blobs, sha);
}

struct trim_ent {
	uint8_t		sha[ARB_SHA256_LEN];
	uint64_t	size;
	int64_t		last_used;
};

struct trim_arg {
	struct relay_core	*c;
	struct trim_ent		*v;
	size_t			 n, cap;
	uint64_t		 total;
};

static int
trim_cb(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg)
{
	struct trim_arg		*ta = arg;
	struct blobrec_hdr	 h;
	struct trim_ent		*nv;

	if (klen != ARB_SHA256_LEN || vlen < sizeof(h))
		return 0;
	memcpy(&h, val, sizeof(h));
	ta->total += h.size;
	if (core_named(ta->c, key))
		return 0;		/* a current policy needs it */
	if (ta->n == ta->cap) {
		ta->cap = ta->cap ? 2 * ta->cap : 64;
		if ((nv = realloc(ta->v, ta->cap * sizeof(*nv))) == NULL)
			return -ENOMEM;
		ta->v = nv;
	}
	memcpy(ta->v[ta->n].sha, key, ARB_SHA256_LEN);
	ta->v[ta->n].size = h.size;
	ta->v[ta->n].last_used = h.last_used;
	ta->n++;
	return 0;
}

static int
trim_cmp(const void *a, const void *b)
{
	const struct trim_ent *x = a, *y = b;

	return (x->last_used > y->last_used) - (x->last_used < y->last_used);
}

/*
 * Keep the cache under its limit: evict least recently used blobs that no
 * current policy names.
 */
static void
core_trim(struct relay_core *c)
{
	struct trim_arg	 ta;
	struct arb_txn	*t;
	size_t		 i;
	char		 hex[ARB_SHA256_HEX];

	if (c->c.cache_limit == 0)
		return;
	memset(&ta, 0, sizeof(ta));
	ta.c = c;
	if (arb_txn_begin(c->c.store, 0, &t) != 0)
		return;
	if (arb_txn_foreach(t, ARB_DB_BLOBS, trim_cb, &ta) != 0) {
		arb_txn_abort(t);
		free(ta.v);
		return;
	}
	arb_txn_abort(t);
	if (ta.n > 1)
		qsort(ta.v, ta.n, sizeof(*ta.v), trim_cmp);
	for (i = 0; i < ta.n && ta.total > c->c.cache_limit; i++) {
		arb_hex(ta.v[i].sha, ARB_SHA256_LEN, hex);
		log_info("%s: cache: evicting blob %.12s (%llu bytes)",
		    c->c.name, hex, (unsigned long long)ta.v[i].size);
		core_forget_blob(c, ta.v[i].sha);
		ta.total -= ta.v[i].size;
	}
	free(ta.v);
}

/* --------------------------------------------------------------- misses */

static void	core_notify_children(struct relay_core *);

static void
core_miss_done(int rv, const uint8_t *sha, const uint8_t *chunks,
    size_t nchunks, void *arg)
{
	struct miss		*m = arg, **mp;
	struct relay_core	*c = m->c;
	struct parked		*p, *pn;
	char			 hex[ARB_SHA256_HEX];

	for (mp = &c->misses; *mp; mp = &(*mp)->next)
		if (*mp == m) {
			*mp = m->next;
			break;
		}
	if (c->closing) {
		free(m);
		if (c->misses == NULL)
			free(c);
		return;
	}
	if (rv == 0 && (rv = relay_core_index_blob(c, sha, chunks,
	    nchunks)) != 0) {
		arb_hex(sha, ARB_SHA256_LEN, hex);
		log_warnx("%s: blob %.12s: cannot index: %s", c->c.name, hex,
		    arb_strerror(rv));
	}
	for (p = m->parked; p; p = pn) {
		pn = p->next;
		if (rv == 0)
			core_reply_chunk(c, p->req, sha, p->off, p->len);
		else
			core_error(c, p->req, rv == ARB_ECLOSED ? ARB_EAGAIN :
			    rv, "blob fetch");
		free(p);
	}
	if (m->prefetch && --c->prefetching == 0)
		core_notify_children(c);
	free(m);
	if (rv == 0)
		core_trim(c);
}

/* Start (or join) the upstream fetch of a named blob. */
static struct miss *
core_fetch(struct relay_core *c, const struct named_blob *nb, int prefetch)
{
	struct miss	*m;
	int		 rv;

	for (m = c->misses; m; m = m->next)
		if (memcmp(m->sha, nb->sha, ARB_SHA256_LEN) == 0) {
			/* A push joins a fetch children started: wait for it. */
			if (prefetch && !m->prefetch) {
				m->prefetch = 1;
				c->prefetching++;
			}
			return m;
		}
	if (c->c.fetch == NULL || (m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->c = c;
	memcpy(m->sha, nb->sha, ARB_SHA256_LEN);
	m->prefetch = prefetch;
	if ((rv = arb_fetch_blob(c->c.fetch, nb->sha, nb->size,
	    core_miss_done, m)) != 0) {
		log_warnx("%s: fetch: %s", c->c.name, arb_strerror(rv));
		free(m);
		return NULL;
	}
	c->st.upstream_fetches++;
	m->next = c->misses;
	c->misses = m;
	if (prefetch)
		c->prefetching++;
	return m;
}

/* ---------------------------------------------------------- chunk cache */

/*
 * Chunks served recently, kept in memory as they were when they matched
 * their recorded hash: a wave of children asking for the same blob costs
 * one read and one hash per chunk, not one per child.  An entry is
 * dropped when the blob file's inode, size or modification time is no
 * longer what it was, so a file changed on disk is read, and checked,
 * again.  Memory never holds bytes that did not match.
 */
struct cchunk {
	char		 key[ARB_SHA256_HEX + 12];
	uint8_t		*data;
	uint32_t	 len;
	struct stat	 st;		/* the file when the chunk was read */
	struct cchunk	*prev, *next;	/* most recently used first */
};

static int
core_file_stat(struct relay_core *c, const uint8_t *sha, struct stat *st)
{
	char path[PATH_MAX];

	arb_blob_path(c->c.blobs, sha, path, sizeof(path));
	return stat(path, st);
}

static void
cchunk_unlink(struct relay_core *c, struct cchunk *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c->cc_head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->cc_tail = e->prev;
	e->prev = e->next = NULL;
}

static void
cchunk_drop(struct relay_core *c, struct cchunk *e)
{
	cchunk_unlink(c, e);
	(void)arb_strmap_del(c->cc_map, e->key);
	c->cc_bytes -= e->len;
	free(e->data);
	free(e);
}

static const uint8_t *
core_chunk_cached(struct relay_core *c, const uint8_t *sha, uint32_t idx,
    uint32_t len)
{
	struct cchunk	*e;
	struct stat	 st;
	char		 key[ARB_SHA256_HEX + 12];

	if (c->cc_map == NULL)
		return NULL;
	arb_hex(sha, ARB_SHA256_LEN, key);
	snprintf(key + 2 * ARB_SHA256_LEN, 12, ":%u", idx);
	if ((e = arb_strmap_get(c->cc_map, key)) == NULL)
		return NULL;
	if (core_file_stat(c, sha, &st) != 0 || st.st_ino != e->st.st_ino ||
	    st.st_size != e->st.st_size ||
	    st.st_mtim.tv_sec != e->st.st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != e->st.st_mtim.tv_nsec || e->len != len) {
		cchunk_drop(c, e);
		return NULL;
	}
	cchunk_unlink(c, e);
	e->next = c->cc_head;
	if (c->cc_head)
		c->cc_head->prev = e;
	c->cc_head = e;
	if (c->cc_tail == NULL)
		c->cc_tail = e;
	return e->data;
}

/* Keep a chunk that just matched its hash; returns the bytes to serve. */
static const uint8_t *
core_chunk_keep(struct relay_core *c, const uint8_t *sha, uint32_t idx,
    const uint8_t *data, uint32_t len)
{
	struct cchunk	*e;
	struct stat	 st;

	if (c->cc_map == NULL || c->c.chunk_cache < len ||
	    core_file_stat(c, sha, &st) != 0 ||
	    (e = calloc(1, sizeof(*e))) == NULL)
		return data;
	if ((e->data = malloc(len)) == NULL) {
		free(e);
		return data;
	}
	arb_hex(sha, ARB_SHA256_LEN, e->key);
	snprintf(e->key + 2 * ARB_SHA256_LEN, 12, ":%u", idx);
	memcpy(e->data, data, len);
	e->len = len;
	e->st = st;
	while (c->cc_tail && c->cc_bytes + len > c->c.chunk_cache)
		cchunk_drop(c, c->cc_tail);
	if (arb_strmap_put(c->cc_map, e->key, e, NULL) != 0) {
		free(e->data);
		free(e);
		return data;
	}
	e->next = c->cc_head;
	if (c->cc_head)
		c->cc_head->prev = e;
	c->cc_head = e;
	if (c->cc_tail == NULL)
		c->cc_tail = e;
	c->cc_bytes += len;
	return e->data;
}

/* Drop every cached chunk of a blob. */
static void
cchunk_forget(struct relay_core *c, const uint8_t *sha)
{
	struct cchunk	*e, *en;
	char		 hex[ARB_SHA256_HEX];

	if (c->cc_map == NULL)
		return;
	arb_hex(sha, ARB_SHA256_LEN, hex);
	for (e = c->cc_head; e; e = en) {
		en = e->next;
		if (strncmp(e->key, hex, 2 * ARB_SHA256_LEN) == 0)
			cchunk_drop(c, e);
	}
}

/* ------------------------------------------------------------- handlers */

static void
core_reply_chunk(struct relay_core *c, struct arb_req *req,
    const uint8_t *sha, uint64_t off, uint32_t len)
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

	if ((rv = core_blobrec(c, sha, &rec, &h)) != 0) {
		if (rv != ARB_ENOTFOUND || (nb = core_named(c, sha)) == NULL) {
			core_error(c, req, ARB_ENOTFOUND, "blob");
			return;
		}
		/* A miss: wait for the one upstream fetch. */
		struct miss	*m = core_fetch(c, nb, 0);
		struct parked	*p;

		if (m == NULL || (p = calloc(1, sizeof(*p))) == NULL) {
			core_error(c, req, ARB_EAGAIN, "blob");
			return;
		}
		p->req = req;
		p->off = off;
		p->len = len;
		p->next = m->parked;
		m->parked = p;
		return;
	}
	if (off % ARB_CHUNK_SIZE != 0 || off >= h.size || len == 0 ||
	    len != (h.size - off < ARB_CHUNK_SIZE ? h.size - off :
	    ARB_CHUNK_SIZE)) {
		free(rec);
		core_error(c, req, ARB_EINVAL, "chunk not on a chunk boundary");
		return;
	}
	idx = (uint32_t)(off / ARB_CHUNK_SIZE);
	if ((data = core_chunk_cached(c, sha, idx, len)) != NULL) {
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
		core_forget_blob(c, sha);
		if ((nb = core_named(c, sha)) != NULL)
			(void)core_fetch(c, nb, 0);
		core_error(c, req, c->c.fetch ? ARB_EAGAIN : ARB_ECORRUPT,
		    "blob");
		return;
	}
	data = core_chunk_keep(c, sha, idx, c->chunkbuf, n);
serve:
	/* Last use, for eviction: to the minute is enough, and cheaper. */
	if (off == 0 && (int64_t)time(NULL) - h.last_used > 60) {
		h.last_used = (int64_t)time(NULL);
		memcpy(rec, &h, sizeof(h));
		(void)arb_store_put(c->c.store, ARB_DB_BLOBS, sha,
		    ARB_SHA256_LEN, rec, sizeof(h) +
		    (size_t)h.nchunks * ARB_SHA256_LEN);
	}
	free(rec);
	ch.sha256.data = (uint8_t *)sha;
	ch.sha256.len = ARB_SHA256_LEN;
	ch.offset = off;
	ch.data.data = (uint8_t *)data;
	ch.data.len = n;
	ch.total = h.size;
	env.body_case = ARBOR__ENVELOPE__BODY_CHUNK;
	env.chunk = &ch;
	c->st.chunks++;
	c->st.chunk_bytes += n;
	core_send(c, req, &env);
}

/* Remember who polls us, for the tree view. */
static void
core_seen(struct relay_core *c, const char *node_id, const char *kind)
{
	struct child	*ch;

	if (node_id == NULL || node_id[0] == '\0')
		return;
	if ((ch = arb_strmap_get(c->children, node_id)) == NULL) {
		if ((ch = calloc(1, sizeof(*ch))) == NULL)
			return;
		if (arb_strmap_put(c->children, node_id, ch, NULL) != 0) {
			free(ch);
			return;
		}
	}
	ch->last_seen = (int64_t)time(NULL);
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

uint32_t
core_children(struct relay_core *c, int64_t since)
{
	struct count_arg ca = { since, 0 };

	arb_strmap_each(c->children, count_cb, &ca);
	return ca.n;
}

/*
 * The replies to GetHead are made once per head: bare for a child that
 * holds this head, and with the signed policies inline for one that does
 * not (when they fit in CORE_INLINE_MAX), which saves it a round trip per
 * policy.
 */
#define CORE_INLINE_MAX	(256 * 1024)

static void
core_head_replies(struct relay_core *c, const Arbor__Head *head)
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
	for (i = 0; i < head->n_policies && bytes <= CORE_INLINE_MAX; i++) {
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
	if (bytes <= CORE_INLINE_MAX && np > 0) {
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

static void
core_get_head(struct relay_core *c, struct arb_req *req,
    const Arbor__GetHead *gh)
{
	core_seen(c, gh->node_id, gh->kind);
	if (c->head_signed == NULL || c->head_bare == NULL) {
		core_error(c, req, ARB_ENOTFOUND, "head");
		return;
	}
	if (gh->have_seq < c->head_seq && c->head_full != NULL)
		(void)arb_req_reply(req, c->head_full, c->head_full_len);
	else
		(void)arb_req_reply(req, c->head_bare, c->head_bare_len);
}

static void
core_get_policy(struct relay_core *c, struct arb_req *req,
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
		core_error(c, req, rv, "policy");
		return;
	}
	rv = arb_wire_decode_signed(v, n, &sg);
	free(v);
	if (rv != 0) {
		core_error(c, req, ARB_ECORRUPT, "policy");
		return;
	}
	pr.policy = sg;
	env.body_case = ARBOR__ENVELOPE__BODY_POLICY_REPLY;
	env.policy_reply = &pr;
	core_send(c, req, &env);
	arb_wire_free_signed(sg);
}

static void
core_hello(struct relay_core *c, struct arb_req *req, const Arbor__Hello *h)
{
	Arbor__Envelope		env = ARBOR__ENVELOPE__INIT;
	Arbor__HelloReply	hr = ARBOR__HELLO_REPLY__INIT;

	log_debug("%s: hello from %s %s", c->c.name, h->kind, h->node_id);
	hr.node_id = (char *)c->c.name;
	hr.head_seq = c->head_seq;
	env.body_case = ARBOR__ENVELOPE__BODY_HELLO_REPLY;
	env.hello_reply = &hr;
	core_send(c, req, &env);
}

static void
core_request(struct arb_req *req, const uint8_t *data, size_t len, void *arg)
{
	struct relay_core	*c = arg;
	Arbor__Envelope		*env;
	int			 rv;

	c->st.requests++;
	if ((rv = arb_wire_decode(data, len, &env)) != 0) {
		log_warnx("%s: malformed request (%zu bytes): %s", c->c.name,
		    len, arb_strerror(rv));
		core_error(c, req, rv, "request");
		return;
	}
	switch (env->body_case) {
	case ARBOR__ENVELOPE__BODY_HELLO:
		core_hello(c, req, env->hello);
		break;
	case ARBOR__ENVELOPE__BODY_GET_HEAD:
		core_get_head(c, req, env->get_head);
		break;
	case ARBOR__ENVELOPE__BODY_ENROLL:
		if (c->c.on_enroll)
			c->c.on_enroll(c->c.hook_arg, req, env->enroll);
		else if (c->agg)
			relay_agg_enroll(c, req, env->enroll);
		else
			core_error(c, req, ARB_EINVAL, "enrol");
		break;
	case ARBOR__ENVELOPE__BODY_REPORT_BATCH:
		c->st.batch_bytes_in += len;
		if (c->c.on_batch)
			c->c.on_batch(c->c.hook_arg, req, env->report_batch);
		else if (c->agg)
			relay_agg_batch(c, req, env->report_batch);
		else
			core_error(c, req, ARB_EINVAL, "reports");
		break;
	case ARBOR__ENVELOPE__BODY_GET_POLICY:
		core_get_policy(c, req, env->get_policy);
		break;
	case ARBOR__ENVELOPE__BODY_GET_CHUNK:
		core_reply_chunk(c, req, env->get_chunk->sha256.data,
		    env->get_chunk->offset, env->get_chunk->len);
		break;
	default:
		log_warnx("%s: unexpected request (body %d)", c->c.name,
		    (int)env->body_case);
		core_error(c, req, ARB_EINVAL, "unexpected request");
		break;
	}
	arb_wire_free(env);
}

/* ---------------------------------------------------------------- heads */

static void
core_notify_children(struct relay_core *c)
{
	Arbor__Envelope	 env = ARBOR__ENVELOPE__INIT;
	Arbor__Notify	 nt = ARBOR__NOTIFY__INIT;
	uint8_t		*buf;
	size_t		 len;

	if (c->notify_seq == 0)
		return;
	nt.seq = c->notify_seq;
	nt.urgent = c->notify_id != NULL;
	nt.policy_id = c->notify_id ? c->notify_id : (char *)"";
	env.body_case = ARBOR__ENVELOPE__BODY_NOTIFY;
	env.notify = &nt;
	if (arb_wire_encode(&env, &buf, &len) == 0) {
		(void)arb_pub_send(c->pubs, buf, len);
		free(buf);
		log_info("%s: notified children: seq %llu%s%s", c->c.name,
		    (unsigned long long)nt.seq, nt.urgent ? " urgent " : "",
		    nt.urgent ? nt.policy_id : "");
	}
	c->notify_seq = 0;
	free(c->notify_id);
	c->notify_id = NULL;
}

static int
core_was_urgent(const struct relay_core *c, const char *id)
{
	size_t i;

	for (i = 0; i < c->nurgent; i++)
		if (strcmp(c->urgent_ids[i], id) == 0)
			return 1;
	return 0;
}

void
relay_core_head(struct relay_core *c, const Arbor__Head *head,
    const uint8_t *signed_bytes, size_t len)
{
	struct named_blob	*named = NULL;
	size_t			 nnamed = 0, i, j, nurg = 0;
	char			**urg = NULL;
	Arbor__Policy		*p;
	Arbor__Signed		*sg;
	const char		*pushed = NULL;

	if (arb_wire_decode_signed(signed_bytes, len, &sg) != 0) {
		log_warnx("%s: cannot decode own head", c->c.name);
		return;
	}
	if (c->head_signed)
		arb_wire_free_signed(c->head_signed);
	c->head_signed = sg;
	c->head_seq = head->seq;
	core_head_replies(c, head);

	/* Which blobs do the current policies name? */
	urg = calloc(head->n_policies + 1, sizeof(*urg));
	for (i = 0; i < head->n_policies; i++) {
		const Arbor__PolicyRef *ref = head->policies[i];

		if (ref->urgent && urg) {
			char key[ARB_MAX_ID + 24];

			snprintf(key, sizeof(key), "%s@%llu", ref->id,
			    (unsigned long long)ref->pushed_seq);
			if ((urg[nurg] = strdup(key)) != NULL)
				nurg++;
			if (!core_was_urgent(c, key))
				pushed = ref->id;
		}
		if (arb_catalog_policy(c->c.store, ref->sha256.data, &p) != 0)
			continue;
		struct named_blob *nn = realloc(named,
		    (nnamed + p->n_blobs + 1) * sizeof(*named));
		if (nn != NULL) {
			named = nn;
			for (j = 0; j < p->n_blobs; j++) {
				memcpy(named[nnamed].sha,
				    p->blobs[j]->sha256.data, ARB_SHA256_LEN);
				named[nnamed].size = p->blobs[j]->size;
				named[nnamed].urgent = ref->urgent;
				nnamed++;
			}
		}
		arb_wire_free_policy(p);
	}
	free(c->named);
	c->named = named;
	c->nnamed = nnamed;
	for (i = 0; i < c->nurgent; i++)
		free(c->urgent_ids[i]);
	free(c->urgent_ids);
	c->urgent_ids = urg;
	c->nurgent = nurg;

	c->notify_seq = head->seq;
	free(c->notify_id);
	c->notify_id = pushed ? strdup(pushed) : NULL;

	/* Urgent: hold the notification until the cache has the blobs. */
	for (i = 0; c->c.fetch && i < c->nnamed; i++) {
		uint64_t sz;

		if (!c->named[i].urgent ||
		    arb_blob_stat(c->c.blobs, c->named[i].sha, &sz) == 0)
			continue;
		(void)core_fetch(c, &c->named[i], 1);
	}
	if (c->prefetching == 0)
		core_notify_children(c);
	else
		log_info("%s: prefetching %d blobs before notifying",
		    c->c.name, c->prefetching);
	core_trim(c);
}

/* ----------------------------------------------------------------- life */

int
relay_core_new(const struct relay_core_conf *cf, struct relay_core **cp)
{
	struct relay_core	*c;
	int			 rv;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -ENOMEM;
	c->c = *cf;
	if ((c->chunkbuf = malloc(ARB_CHUNK_SIZE)) == NULL) {
		free(c);
		return -ENOMEM;
	}
	if ((rv = arb_strmap_new(&c->children)) != 0 ||
	    (rv = arb_strmap_new(&c->cc_map)) != 0)
		goto fail;
	if ((c->check = calloc(1, sizeof(*c->check))) == NULL) {
		rv = -ENOMEM;
		goto fail;
	}
	uv_check_init(cf->loop, c->check);
	c->check->data = c;
	c->dqt = &c->dq;
	if ((rv = arb_pub_listen(cf->net, cf->pub, &c->pubs)) != 0)
		goto fail;
	if (cf->link != NULL && (rv = relay_agg_new(c)) != 0)
		goto fail;
	if ((rv = arb_srv_listen(cf->net, cf->svc, cf->nctx, core_request, c,
	    &c->srv)) != 0)
		goto fail;
	*cp = c;
	return 0;
fail:
	if (c->srv)
		arb_srv_close(c->srv);
	if (c->pubs)
		arb_pub_close(c->pubs);
	if (c->agg)
		relay_agg_free(c);
	if (c->check)
		uv_close((uv_handle_t *)c->check, handle_free_cb);
	arb_strmap_free(c->cc_map, NULL);
	arb_strmap_free(c->children, free);
	free(c->chunkbuf);
	free(c);
	return rv;
}

void
relay_core_stats(const struct relay_core *c, struct relay_core_stats *st)
{
	*st = c->st;
}

void
relay_core_free(struct relay_core *c)
{
	struct miss	*m, *mn;
	struct parked	*p, *pn;
	size_t		 i;

	/* What is staged becomes durable; its replies go nowhere now. */
	if (arb_store_group_active(c->c.store))
		core_commit_cb(c->check);
	uv_close((uv_handle_t *)c->check, handle_free_cb);
	if (c->agg)
		relay_agg_free(c);
	arb_srv_close(c->srv);
	arb_pub_close(c->pubs);
	arb_strmap_free(c->children, free);
	c->children = NULL;
	while (c->cc_head)
		cchunk_drop(c, c->cc_head);
	arb_strmap_free(c->cc_map, NULL);
	c->cc_map = NULL;
	/* The fetches themselves end with the sync; detach from them. */
	for (m = c->misses; m; m = mn) {
		mn = m->next;
		for (p = m->parked; p; p = pn) {
			pn = p->next;
			free(p);
		}
		m->parked = NULL;
		m->prefetch = 0;
	}
	if (c->head_signed)
		arb_wire_free_signed(c->head_signed);
	free(c->head_bare);
	free(c->head_full);
	free(c->named);
	for (i = 0; i < c->nurgent; i++)
		free(c->urgent_ids[i]);
	free(c->urgent_ids);
	free(c->notify_id);
	free(c->chunkbuf);
	c->closing = 1;
	if (c->misses == NULL)
		free(c);
}
