/*
 * The relay's blob cache: what it holds, under what limit, and what it is
 * fetching.
 *
 * Each blob held has an index record (ARB_DB_BLOBS): its size, its last
 * use, and the SHA-256 of each chunk, recorded when the whole blob was
 * verified, so that every chunk served can be checked against it.  The
 * cache is kept under a byte limit by evicting the least recently used
 * blobs that no current policy names.  Chunks served recently are kept
 * in memory, within their own byte limit.  A blob that children ask for
 * and the cache lacks is fetched from upstream once, however many ask
 * (the fetch pipeline does the single flight); their requests are parked until the
 * fetch ends, then served.
 */
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arbor/error.h"
#include "arbor/fetch.h"
#include "arbor/log.h"
#include "arbor/sig.h"
#include "core_int.h"

struct parked {			/* a request waiting for a blob */
	struct arb_req		*req;
	uint64_t		 off;
	uint32_t		 len;
	int			 framed;
	struct parked		*next;
};

struct miss {			/* one blob being fetched for children */
	struct relay_core	*c;
	uint8_t			 sha[ARB_SHA256_LEN];
	struct parked		*parked;
	int			 prefetch;	/* counts toward a push */
	uint64_t		 size;		/* the blob's, named */
	struct miss		*next;
};

static void	cchunk_forget(struct relay_core *, const uint8_t *);
static void	cchunk_drop(struct relay_core *, struct cchunk *);

/* ----------------------------------------------------------- blob index */

const struct named_blob *
relay_cache_named(const struct relay_core *c, const uint8_t *sha)
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

/* The index record of a blob held: *recp (caller frees) and its header. */
int
relay_cache_blobrec(struct relay_core *c, const uint8_t *sha, uint8_t **recp,
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

/* Last use, for eviction: to the minute is enough, and cheaper. */
void
relay_cache_touch(struct relay_core *c, const uint8_t *sha, uint8_t *rec,
    struct blobrec_hdr *h)
{
	if ((int64_t)time(NULL) - h->last_used <= 60)
		return;
	h->last_used = (int64_t)time(NULL);
	memcpy(rec, h, sizeof(*h));
	(void)arb_store_put(c->c.store, ARB_DB_BLOBS, sha, ARB_SHA256_LEN, rec,
	    sizeof(*h) + (size_t)h->nchunks * ARB_SHA256_LEN);
}

/* Drop a blob: its chunks in memory, its index record, its file. */
void
relay_cache_forget(struct relay_core *c, const uint8_t *sha)
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
	if (relay_cache_named(ta->c, key))
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
 * Evict least recently used blobs that no current policy names until the
 * cache holds no more than limit bytes.
 */
static void
cache_trim_to(struct relay_core *c, uint64_t limit)
{
	struct trim_arg	 ta;
	struct arb_txn	*t;
	size_t		 i;
	char		 hex[ARB_SHA256_HEX];

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
	for (i = 0; i < ta.n && ta.total > limit; i++) {
		c->st.evictions++;
		arb_hex(ta.v[i].sha, ARB_SHA256_LEN, hex);
		log_info("%s: cache: evicting blob %.12s (%llu bytes)",
		    c->c.name, hex, (unsigned long long)ta.v[i].size);
		relay_cache_forget(c, ta.v[i].sha);
		ta.total -= ta.v[i].size;
	}
	free(ta.v);
}

/* Keep the cache under its limit. */
void
relay_cache_trim(struct relay_core *c)
{
	if (c->c.cache_limit != 0)
		cache_trim_to(c, c->c.cache_limit);
}

/* ------------------------------------------------------------- failures */

/* Back-off after a failed upstream fetch: 2 s doubling to 2 min. */
#define FAIL_WAIT_MS		2000
#define FAIL_WAIT_MAX_MS	120000

static struct fetch_fail *
cache_fail_find(struct relay_core *c, const uint8_t *sha)
{
	int i;

	for (i = 0; i < c->nfails; i++)
		if (memcmp(c->fails[i].sha, sha, ARB_SHA256_LEN) == 0)
			return &c->fails[i];
	return NULL;
}

static void
cache_fail_forget(struct relay_core *c, const uint8_t *sha)
{
	struct fetch_fail *f;

	if ((f = cache_fail_find(c, sha)) != NULL)
		*f = c->fails[--c->nfails];
}

/* A partial file to keep: its blob is being fetched now. */
static int
cache_part_busy(void *arg, const uint8_t sha[ARB_SHA256_LEN])
{
	struct relay_core	*c = arg;
	struct miss		*m;

	for (m = c->misses; m; m = m->next)
		if (memcmp(m->sha, sha, ARB_SHA256_LEN) == 0)
			return 1;
	return 0;
}

/*
 * An upstream fetch failed.  Out of space: evict every blob no current
 * policy names (whatever the cache limit) and the partial files of
 * fetches not going on, so that the next try, and the blobs of other
 * policies, have room.  Either way children get this error for a while
 * instead of a new fetch each.
 */
static void
cache_fail_note(struct relay_core *c, const uint8_t *sha, int rv)
{
	struct fetch_fail	*f;
	uint64_t		 wait;
	char			 hex[ARB_SHA256_HEX];

	uint64_t		 freed = 0;

	if (rv == -ENOSPC || rv == -EDQUOT) {
		log_warnx("%s: cache: out of space; evicting the blobs no "
		    "current policy names", c->c.name);
		cache_trim_to(c, 0);
		(void)arb_blob_drop_parts(c->c.blobs, cache_part_busy, c,
		    &freed);
		if (freed > 0)
			log_info("%s: cache: %llu bytes of partial blobs "
			    "removed", c->c.name, (unsigned long long)freed);
	}
	if ((f = cache_fail_find(c, sha)) == NULL) {
		if (c->nfails == RELAY_FAILS_MAX)
			return;
		f = &c->fails[c->nfails++];
		memset(f, 0, sizeof(*f));
		memcpy(f->sha, sha, ARB_SHA256_LEN);
	}
	wait = f->fails < 7 ? (uint64_t)FAIL_WAIT_MS << f->fails :
	    FAIL_WAIT_MAX_MS;
	if (wait > FAIL_WAIT_MAX_MS)
		wait = FAIL_WAIT_MAX_MS;
	f->fails++;
	f->rv = rv;
	f->until_ms = uv_now(c->c.loop) + wait;
	arb_hex(sha, ARB_SHA256_LEN, hex);
	log_warnx("%s: blob %.12s: fetch failed (%u in a row): %s; children "
	    "get this for %llu s", c->c.name, hex, f->fails, arb_strerror(rv),
	    (unsigned long long)(wait / 1000));
}

/* --------------------------------------------------------------- misses */

static void
cache_miss_done(int rv, const uint8_t *sha, const uint8_t *chunks,
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
	if (rv == 0) {
		cache_fail_forget(c, sha);
		c->st.fetched_bytes += m->size;
	}
	else if (rv != ARB_ECLOSED)
		cache_fail_note(c, sha, rv);
	if (rv == 0 && (rv = relay_core_index_blob(c, sha, chunks,
	    nchunks)) != 0) {
		arb_hex(sha, ARB_SHA256_LEN, hex);
		log_warnx("%s: blob %.12s: cannot index: %s", c->c.name, hex,
		    arb_strerror(rv));
	}
	for (p = m->parked; p; p = pn) {
		pn = p->next;
		if (rv == 0)
			relay_serve_chunk(c, p->req, sha, p->off, p->len,
			    p->framed);
		else
			relay_error(c, p->req, rv == ARB_ECLOSED ? ARB_EAGAIN :
			    rv, "blob fetch");
		free(p);
	}
	if (m->prefetch && --c->prefetching == 0)
		relay_notify(c);
	free(m);
	if (rv == 0)
		relay_cache_trim(c);
}

/*
 * Start (or join) the upstream fetch of a named blob.  NULL when it cannot
 * start, *rvp saying why (the last failure's error while its back-off
 * lasts).
 */
static struct miss *
cache_fetch(struct relay_core *c, const struct named_blob *nb, int prefetch,
    int *rvp)
{
	struct fetch_fail	*f;
	struct miss		*m;
	char			 hex[ARB_SHA256_HEX];
	int			 rv;

	*rvp = ARB_EAGAIN;

	for (m = c->misses; m; m = m->next)
		if (memcmp(m->sha, nb->sha, ARB_SHA256_LEN) == 0) {
			/* A push joins a fetch children started: wait for it. */
			if (prefetch && !m->prefetch) {
				m->prefetch = 1;
				c->prefetching++;
			}
			return m;
		}
	if ((f = cache_fail_find(c, nb->sha)) != NULL &&
	    uv_now(c->c.loop) < f->until_ms) {
		*rvp = f->rv;
		return NULL;
	}
	if (c->c.fetch == NULL || (m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->c = c;
	memcpy(m->sha, nb->sha, ARB_SHA256_LEN);
	m->prefetch = prefetch;
	m->size = nb->size;
	if ((rv = arb_fetch_blob(c->c.fetch, nb->sha, nb->size,
	    cache_miss_done, m)) != 0) {
		arb_hex(nb->sha, ARB_SHA256_LEN, hex);
		log_warnx("%s: blob %.12s: fetch: %s", c->c.name, hex,
		    arb_strerror(rv));
		free(m);
		cache_fail_note(c, nb->sha, rv);
		*rvp = rv;
		return NULL;
	}
	c->st.upstream_fetches++;
	m->next = c->misses;
	c->misses = m;
	if (prefetch)
		c->prefetching++;
	return m;
}

/*
 * Fetch a named blob from upstream (prefetch: a push waits for it before
 * its notification goes out).  ARB_EAGAIN if no fetch could start.
 */
int
relay_cache_fetch(struct relay_core *c, const struct named_blob *nb,
    int prefetch)
{
	int rv;

	return cache_fetch(c, nb, prefetch, &rv) != NULL ? 0 : rv;
}

/*
 * A child asked for a chunk of a named blob the cache lacks: park req
 * until the one upstream fetch of that blob ends, then serve it (or send
 * the error).  An error if it cannot wait (ARB_EAGAIN, or the error of a
 * fetch that failed a moment ago); req is then the caller's.
 */
int
relay_cache_park(struct relay_core *c, const struct named_blob *nb,
    struct arb_req *req, uint64_t off, uint32_t len, int framed)
{
	struct miss	*m;
	struct parked	*p;
	int		 rv;

	if ((m = cache_fetch(c, nb, 0, &rv)) == NULL)
		return rv;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return ARB_EAGAIN;
	p->req = req;
	p->off = off;
	p->len = len;
	p->framed = framed;
	p->next = m->parked;
	m->parked = p;
	return 0;
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
cache_file_stat(struct relay_core *c, const uint8_t *sha, struct stat *st)
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
cchunk_push(struct relay_core *c, struct cchunk *e)
{
	e->next = c->cc_head;
	if (c->cc_head)
		c->cc_head->prev = e;
	c->cc_head = e;
	if (c->cc_tail == NULL)
		c->cc_tail = e;
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

/* Chunk idx of a blob, if memory holds it as it was verified; or NULL. */
const uint8_t *
relay_cache_chunk(struct relay_core *c, const uint8_t *sha, uint32_t idx,
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
	if (cache_file_stat(c, sha, &st) != 0 || st.st_ino != e->st.st_ino ||
	    st.st_size != e->st.st_size ||
	    st.st_mtim.tv_sec != e->st.st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != e->st.st_mtim.tv_nsec || e->len != len) {
		cchunk_drop(c, e);
		return NULL;
	}
	cchunk_unlink(c, e);
	cchunk_push(c, e);
	return e->data;
}

/* Keep a chunk that just matched its hash; returns the bytes to serve. */
const uint8_t *
relay_cache_keep(struct relay_core *c, const uint8_t *sha, uint32_t idx,
    const uint8_t *data, uint32_t len)
{
	struct cchunk	*e;
	struct stat	 st;

	if (c->cc_map == NULL || c->c.chunk_cache < len ||
	    cache_file_stat(c, sha, &st) != 0 ||
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
	cchunk_push(c, e);
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

/* ----------------------------------------------------------------- life */

int
relay_cache_init(struct relay_core *c)
{
	return arb_strmap_new(&c->cc_map);
}

/*
 * Drop the chunks in memory and detach from the fetches in flight: they
 * end with the fetch pipeline, and the last one to end frees the core
 * (closing).
 */
void
relay_cache_fini(struct relay_core *c)
{
	struct miss	*m;
	struct parked	*p, *pn;

	while (c->cc_head)
		cchunk_drop(c, c->cc_head);
	arb_strmap_free(c->cc_map, NULL);
	c->cc_map = NULL;
	for (m = c->misses; m; m = m->next) {
		for (p = m->parked; p; p = pn) {
			pn = p->next;
			free(p);
		}
		m->parked = NULL;
		m->prefetch = 0;
	}
}
