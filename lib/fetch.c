/*
 * The fetch pipeline: blobs from the parent, chunk by chunk.
 *
 * A fetch keeps fetch_depth chunk requests in flight (slots).  Replies may
 * arrive out of order; one that is not next waits in its slot, and every
 * chunk is written in order into a resumable .part file (or handed to the
 * sink), renamed into place only when the whole blob hashes to the sha256
 * a verified policy named.  A reply longer than asked for, or a blob that
 * would grow past its declared size, is endless data and fails the fetch.
 * Because chunks are written in order, the SHA-256 of each chunk is
 * computed as it is written, when asked for: a relay indexes a blob it
 * just fetched without reading it again.
 *
 * Callers that ask for a blob being fetched wait for the same fetch
 * (single flight).  A parent that is still fetching a blob itself answers
 * ARB_EAGAIN: the chunk is asked for again shortly, a bounded number of
 * times.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbor/error.h"
#include "arbor/fetch.h"
#include "arbor/log.h"

/* Routine lines: info, or debug for a swarm of simulated endpoints. */
#define fetch_note(fp, ...) do {					\
	if ((fp)->c.quiet)						\
		log_debug(__VA_ARGS__);					\
	else								\
		log_info(__VA_ARGS__);					\
} while (0)

#define FETCH_MAX_RETRY	50	/* EAGAIN replies per chunk */
#define FETCH_RETRY_MS	200
/* Room left beside a blob for the store and the rest. */
#define FETCH_SPACE_MARGIN	(1ULL << 20)

struct fetch;

struct fetch_waiter {
	arb_fetch_cb		 cb;
	void			*arg;
	struct fetch_waiter	*next;
};

struct fetch_slot {		/* one chunk request in flight */
	struct fetch		*f;
	uint64_t		 off;
	uint32_t		 len;
	int			 done;	/* reply arrived early, data held */
	int			 retries;
	uint8_t			*data;
	uv_timer_t		*retry;
};

struct fetch {
	struct arb_fetcher	*fp;
	uint8_t			 sha[ARB_SHA256_LEN];
	char			 hex[ARB_SHA256_HEX];
	uint64_t		 size;
	uint64_t		 next_off;	/* next chunk to request */
	uint64_t		 written;	/* bytes written, in order */
	struct arb_blob_writer	*w;		/* to the blob directory, or */
	void			*sink;		/* the sink's handle */
	uint8_t			*chunks;	/* chunk hashes, or NULL */
	size_t			 nchunks;
	struct fetch_slot	*slots;		/* fetch_depth of them */
	int			 inflight;
	int			 failed;	/* first error, or 0 */
	struct fetch_waiter	*waiters;
	struct fetch		*next;
};

struct arb_fetcher {
	struct arb_fetch_conf	 c;
	struct arb_fetch_sink	 sink;
	int			 has_sink;
	struct fetch		*fetches;
	uint64_t		 rate_next_ms;	/* fetch_rate: next send */
	int			 closing;
	int			 infree;	/* inside arb_fetch_free */
};

static void	fetch_pump(struct fetch *, int);
static void	slot_send(struct fetch_slot *);

static void
timer_free_cb(uv_handle_t *h)
{
	free(h);
}

static int
fetch_depth(const struct arb_fetcher *fp)
{
	return fp->c.up->fetch_depth;
}

static void
fetcher_maybe_free(struct arb_fetcher *fp)
{
	if (fp->closing && !fp->infree && fp->fetches == NULL)
		free(fp);
}

/* -------------------------------------------------------------- writing */

static int
fetch_write(struct fetch *f, const uint8_t *data, size_t len)
{
	struct arb_fetcher	*fp = f->fp;
	size_t			 i;
	int			 rv;

	if (f->written + len > f->size)
		return ARB_ETOOLONG;
	if (f->w)
		rv = arb_blob_writer_write(f->w, data, len);
	else
		rv = fp->sink.write(f->sink, data, len);
	if (rv != 0)
		return rv;
	/* Slots hold whole chunks at chunk offsets: one hash each. */
	if (f->chunks != NULL) {
		i = (size_t)(f->written / ARB_CHUNK_SIZE);
		if (i >= f->nchunks || f->written % ARB_CHUNK_SIZE != 0 ||
		    (rv = arb_sha256(data, len, f->chunks +
		    i * ARB_SHA256_LEN)) != 0) {
			free(f->chunks);	/* cannot happen; be safe */
			f->chunks = NULL;
		}
	}
	f->written += len;
	return 0;
}

/* Write every chunk that is next in order. */
static int
fetch_flush(struct fetch *f)
{
	struct fetch_slot	*sl;
	int			 i, progress = 1, rv;

	while (progress) {
		progress = 0;
		for (i = 0; i < fetch_depth(f->fp); i++) {
			sl = &f->slots[i];
			if (!sl->done || sl->off != f->written)
				continue;
			if ((rv = fetch_write(f, sl->data, sl->len)) != 0)
				return rv;
			free(sl->data);
			sl->data = NULL;
			sl->done = 0;
			sl->f = NULL;
			progress = 1;
		}
	}
	return 0;
}

/* The fetch ends: take or drop what was written, tell every waiter. */
static void
fetch_done(struct fetch *f, int rv)
{
	struct arb_fetcher	*fp = f->fp;
	struct fetch		**pp;
	struct fetch_waiter	*w, *wn;
	int			 i;

	for (pp = &fp->fetches; *pp; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	if (f->w) {
		if (rv == 0)
			rv = arb_blob_writer_finish(f->w);
		else if (rv == ARB_ECLOSED || rv == ARB_ETIMEDOUT ||
		    rv == ARB_EUNREACH || rv == ARB_ENET)
			arb_blob_writer_close(f->w);	/* resume later */
		else
			arb_blob_writer_abort(f->w);
		f->w = NULL;
	}
	if (f->sink) {
		if (rv == 0 && f->written != f->size)
			rv = ARB_EAGAIN;
		if (rv == 0)
			rv = fp->sink.finish(f->sink);
		else
			fp->sink.abort(f->sink);
		f->sink = NULL;
	}
	if (rv == 0)
		fetch_note(fp, "%s: blob %.12s: %llu bytes verified",
		    fp->c.kind, f->hex, (unsigned long long)f->size);
	else if (rv == ARB_ETOOLONG || rv == ARB_EBADHASH)
		log_warnx("%s: rejected blob %.12s from %s: %s", fp->c.kind,
		    f->hex, arb_link_parent(fp->c.link), arb_strerror(rv));
	else if (rv != ARB_ECLOSED)
		log_warnx("%s: blob %.12s: fetch failed: %s", fp->c.kind,
		    f->hex, arb_strerror(rv));
	for (i = 0; i < fetch_depth(fp); i++) {
		free(f->slots[i].data);
		if (f->slots[i].retry)
			uv_close((uv_handle_t *)f->slots[i].retry,
			    timer_free_cb);
	}
	free(f->slots);
	for (w = f->waiters; w; w = wn) {
		wn = w->next;
		w->cb(rv, f->sha, rv == 0 ? f->chunks : NULL,
		    rv == 0 && f->chunks ? f->nchunks : 0, w->arg);
		free(w);
	}
	free(f->chunks);
	free(f);
	fetcher_maybe_free(fp);
}

/* --------------------------------------------------------------- chunks */

static void
slot_retry_cb(uv_timer_t *t)
{
	slot_send(t->data);
}

/* Send the slot's request after ms (inflight already counts it). */
static int
slot_later(struct fetch_slot *sl, uint64_t ms)
{
	if (sl->retry == NULL) {
		if ((sl->retry = calloc(1, sizeof(*sl->retry))) == NULL)
			return -ENOMEM;
		uv_timer_init(sl->f->fp->c.loop, sl->retry);
		sl->retry->data = sl;
	}
	uv_timer_start(sl->retry, slot_retry_cb, ms, 0);
	return 0;
}

/*
 * With fetch_rate set, the delay before the next chunk may be sent so that
 * requests average no more than fetch_rate bytes a second.
 */
static uint64_t
rate_delay(struct arb_fetcher *fp, uint32_t len)
{
	uint64_t now, at, rate = fp->c.up->fetch_rate;

	if (rate == 0)
		return 0;
	now = uv_now(fp->c.loop);
	at = fp->rate_next_ms > now ? fp->rate_next_ms : now;
	fp->rate_next_ms = at + (uint64_t)len * 1000 / rate;
	return at - now;
}

/* The reply is the chunk the slot asked for, no more and no less? */
static int
chunk_check(const struct fetch *f, const struct fetch_slot *sl,
    const Arbor__Chunk *c, size_t n)
{
	if (c->sha256.len != ARB_SHA256_LEN ||
	    memcmp(c->sha256.data, f->sha, ARB_SHA256_LEN) != 0 ||
	    c->offset != sl->off)
		return ARB_EPROTO;
	if (n > sl->len || c->total > f->size)
		return ARB_ETOOLONG;	/* more than asked for: endless data */
	if (n < sl->len)
		return ARB_EPROTO;
	return 0;
}

/*
 * A chunk came.  Framed (raw set), the bytes are in the reply message:
 * the one next in order is written and hashed from there, and only one
 * that came before its turn is copied to wait for it.  Unframed, they
 * are the Chunk's data, taken from the envelope.
 */
static void
chunk_cb(int rv, Arbor__Envelope *env, const uint8_t *raw, size_t rawlen,
    void *arg)
{
	struct fetch_slot	*sl = arg;
	struct fetch		*f = sl->f;
	struct arb_fetcher	*fp = f->fp;

	f->inflight--;
	if (rv == ARB_EAGAIN && !fp->closing && !f->failed &&
	    ++sl->retries < FETCH_MAX_RETRY) {
		/* The parent is fetching it itself: ask again shortly. */
		f->inflight++;
		if (slot_later(sl, FETCH_RETRY_MS) == 0)
			return;
		f->inflight--;
	}
	if (rv != 0 || (rv = chunk_check(f, sl, env->chunk, raw != NULL ?
	    rawlen : env->chunk->data.len)) != 0)
		goto fail;
	if (f->failed) {
		rv = f->failed;
		goto fail;
	}
	if (raw != NULL && sl->off == f->written) {
		sl->f = NULL;		/* the slot is free again */
		if ((rv = fetch_write(f, raw, rawlen)) != 0)
			goto fail;
	} else if (raw != NULL) {
		if ((sl->data = malloc(rawlen > 0 ? rawlen : 1)) == NULL) {
			rv = -ENOMEM;
			goto fail;
		}
		memcpy(sl->data, raw, rawlen);
		sl->done = 1;
	} else {
		sl->data = env->chunk->data.data;	/* take the bytes */
		env->chunk->data.data = NULL;
		env->chunk->data.len = 0;
		sl->done = 1;
	}
	if ((rv = fetch_flush(f)) != 0)
		goto fail;
	fetch_pump(f, 0);
	return;
fail:
	if (!f->failed)
		f->failed = rv;
	free(sl->data);
	sl->data = NULL;
	sl->done = 0;
	sl->f = NULL;
	if (f->inflight == 0)
		fetch_done(f, f->failed);
}

static void
slot_send(struct fetch_slot *sl)
{
	struct fetch		*f = sl->f;
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT;
	Arbor__GetChunk		 gc = ARBOR__GET_CHUNK__INIT;
	int			 rv;

	gc.sha256.data = f->sha;
	gc.sha256.len = ARB_SHA256_LEN;
	gc.offset = sl->off;
	gc.len = sl->len;
	gc.framed = 1;
	env.body_case = ARBOR__ENVELOPE__BODY_GET_CHUNK;
	env.get_chunk = &gc;
	/* inflight already counts this slot. */
	if ((rv = arb_link_request_framed(f->fp->c.link, &env, chunk_cb,
	    sl)) != 0) {
		f->inflight--;
		if (!f->failed)
			f->failed = rv;
		sl->f = NULL;
		if (f->inflight == 0)
			fetch_done(f, f->failed);
	}
}

/*
 * Keep fetch_depth chunk requests in flight; finish when all is written.
 * With defer, every request is sent from the loop (a timer), so that
 * nothing completes inside arb_fetch_blob's caller.
 */
static void
fetch_pump(struct fetch *f, int defer)
{
	struct fetch_slot	*sl;
	uint64_t		 delay;
	int			 i;

	if (f->failed) {
		if (f->inflight == 0)
			fetch_done(f, f->failed);
		return;
	}
	for (i = 0; i < fetch_depth(f->fp) && f->next_off < f->size; i++) {
		sl = &f->slots[i];
		if (sl->f != NULL)
			continue;
		sl->f = f;
		sl->off = f->next_off;
		sl->len = (uint32_t)(f->size - f->next_off < ARB_CHUNK_SIZE ?
		    f->size - f->next_off : ARB_CHUNK_SIZE);
		sl->retries = 0;
		f->next_off += sl->len;
		f->inflight++;
		delay = rate_delay(f->fp, sl->len);
		if ((delay > 0 || defer) && slot_later(sl, delay) == 0)
			continue;
		slot_send(sl);
		if (f->failed)
			return;
	}
	if (f->inflight == 0 && f->written == f->size)
		fetch_done(f, 0);
}

/* ------------------------------------------------------------ starting */

struct fetch_now {
	uv_idle_t		 idle;
	arb_fetch_cb		 cb;
	void			*arg;
	int			 rv;
	uint8_t			 sha[ARB_SHA256_LEN];
};

static void
fetch_now_close(uv_handle_t *h)
{
	free(h->data);
}

static void
fetch_now_cb(uv_idle_t *i)
{
	struct fetch_now *fn = i->data;

	uv_idle_stop(i);
	fn->cb(fn->rv, fn->sha, NULL, 0, fn->arg);
	uv_close((uv_handle_t *)i, fetch_now_close);
}

/* Complete a fetch through the loop, never from inside the caller. */
static int
fetch_later(struct arb_fetcher *fp, const uint8_t *sha, int rv,
    arb_fetch_cb cb, void *arg)
{
	struct fetch_now *fn;

	if ((fn = calloc(1, sizeof(*fn))) == NULL)
		return -ENOMEM;
	fn->cb = cb;
	fn->arg = arg;
	fn->rv = rv;
	memcpy(fn->sha, sha, ARB_SHA256_LEN);
	uv_idle_init(fp->c.loop, &fn->idle);
	fn->idle.data = fn;
	uv_idle_start(&fn->idle, fetch_now_cb);
	return 0;
}

/*
 * Open the blob directory's writer for f, resuming a partial file at its
 * last whole chunk.  0 with f->w set; 0 with f->w NULL and *donep the
 * result when there is nothing to fetch (complete already, or a crash came
 * before the rename); or an error.
 */
static int
fetch_open_blob(struct fetch *f, int *donep)
{
	struct arb_fetcher	*fp = f->fp;
	uint64_t		 off, room;
	int			 rv;

	if ((rv = arb_blob_writer_open(fp->c.blobs, f->sha, f->size,
	    &f->w)) != 0) {
		if (rv != ARB_EEXIST)
			return rv;
		*donep = 0;
		return 0;
	}
	off = arb_blob_writer_offset(f->w);
	if (off % ARB_CHUNK_SIZE != 0) {
		/*
		 * Chunks are served on chunk boundaries only; a kill during a
		 * write can leave part of one: resume at the last whole one.
		 */
		if ((rv = arb_blob_writer_truncate(f->w, off -
		    off % ARB_CHUNK_SIZE)) != 0) {
			arb_blob_writer_abort(f->w);
			f->w = NULL;
			return rv;
		}
		off = arb_blob_writer_offset(f->w);
	}
	f->next_off = f->written = off;
	if (off == f->size) {
		/* Complete (a crash came before the rename, or size 0). */
		rv = arb_blob_writer_finish(f->w);
		f->w = NULL;
		if (rv == 0)
			log_info("%s: blob %.12s: %llu bytes verified",
			    fp->c.kind, f->hex, (unsigned long long)f->size);
		else
			log_warnx("%s: blob %.12s: %s", fp->c.kind, f->hex,
			    arb_strerror(rv));
		*donep = rv;
		return 0;
	}
	/*
	 * A blob that cannot fit is refused before a byte is written, so that
	 * it does not fill the disk others (the store, other blobs) need.
	 */
	if (arb_blob_space(fp->c.blobs, &room) == 0 &&
	    room < f->size - off + FETCH_SPACE_MARGIN) {
		log_warnx("%s: blob %.12s: %llu bytes to come, %llu free",
		    fp->c.kind, f->hex, (unsigned long long)(f->size - off),
		    (unsigned long long)room);
		arb_blob_writer_abort(f->w);
		f->w = NULL;
		return -ENOSPC;
	}
	if (off > 0)
		log_info("%s: blob %.12s: resuming at %llu of %llu",
		    fp->c.kind, f->hex, (unsigned long long)off,
		    (unsigned long long)f->size);
	return 0;
}

static void
fetch_discard(struct fetch *f)
{
	free(f->chunks);
	free(f->slots);
	free(f);
}

int
arb_fetch_have(const struct arb_fetcher *fp,
    const uint8_t sha[ARB_SHA256_LEN], uint64_t size)
{
	uint64_t have;

	if (fp->has_sink)
		return fp->sink.have(fp->sink.arg, sha, size);
	return arb_blob_stat(fp->c.blobs, sha, &have) == 0 && have == size;
}

int
arb_fetch_blob(struct arb_fetcher *fp, const uint8_t sha[ARB_SHA256_LEN],
    uint64_t size, arb_fetch_cb cb, void *arg)
{
	struct fetch		*f;
	struct fetch_waiter	*w;
	uint64_t		 have;
	int			 rv, done = 1;

	if (fp->closing)
		return ARB_ECLOSED;
	for (f = fp->fetches; f; f = f->next)
		if (memcmp(f->sha, sha, ARB_SHA256_LEN) == 0)
			break;
	if (f == NULL && arb_fetch_have(fp, sha, size))
		return fetch_later(fp, sha, 0, cb, arg);
	if (f == NULL && !fp->has_sink &&
	    arb_blob_stat(fp->c.blobs, sha, &have) == 0)
		return fetch_later(fp, sha, ARB_ECORRUPT, cb, arg);
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return -ENOMEM;
	w->cb = cb;
	w->arg = arg;
	if (f != NULL) {
		w->next = f->waiters;	/* single flight */
		f->waiters = w;
		return 0;
	}

	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    (f->slots = calloc((size_t)fetch_depth(fp),
	    sizeof(*f->slots))) == NULL) {
		free(f);
		free(w);
		return -ENOMEM;
	}
	f->fp = fp;
	memcpy(f->sha, sha, ARB_SHA256_LEN);
	arb_hex(sha, ARB_SHA256_LEN, f->hex);
	f->size = size;
	if (fp->has_sink)
		rv = fp->sink.open(fp->sink.arg, sha, size, &f->sink);
	else
		rv = fetch_open_blob(f, &done);
	if (rv != 0 || done != 1) {
		fetch_discard(f);
		free(w);
		if (rv != 0)
			return rv;
		return fetch_later(fp, sha, done, cb, arg);
	}
	/* Hash chunks as they are written only when we see every byte. */
	if (fp->c.chunk_hashes && f->written == 0) {
		f->nchunks = (size_t)((size + ARB_CHUNK_SIZE - 1) /
		    ARB_CHUNK_SIZE);
		if ((f->chunks = calloc(f->nchunks ? f->nchunks : 1,
		    ARB_SHA256_LEN)) == NULL)
			f->nchunks = 0;		/* hashed later, by reading */
	}
	f->waiters = w;
	f->next = fp->fetches;
	fp->fetches = f;
	fetch_pump(f, 1);	/* cb never runs inside the caller */
	return 0;
}

/* ---------------------------------------------------------------- life */

int
arb_fetch_new(const struct arb_fetch_conf *c, struct arb_fetcher **fpp)
{
	struct arb_fetcher *fp;

	if (c->link == NULL || c->up == NULL || c->up->fetch_depth < 1 ||
	    (c->sink == NULL && c->blobs == NULL))
		return ARB_EINVAL;
	if ((fp = calloc(1, sizeof(*fp))) == NULL)
		return -ENOMEM;
	fp->c = *c;
	if (c->sink != NULL) {
		fp->sink = *c->sink;
		fp->has_sink = 1;
	}
	fp->c.sink = NULL;
	if (fp->c.kind == NULL)
		fp->c.kind = "node";
	*fpp = fp;
	return 0;
}

void
arb_fetch_free(struct arb_fetcher *fp)
{
	struct fetch	*f, *fn;
	int		 i;

	if (fp == NULL)
		return;
	fp->closing = 1;
	fp->infree = 1;
	/* Chunks waiting to be asked again will not be. */
	for (f = fp->fetches; f; f = fn) {
		fn = f->next;
		if (!f->failed)
			f->failed = ARB_ECLOSED;
		for (i = 0; i < fetch_depth(fp); i++)
			if (f->slots[i].retry &&
			    uv_is_active((uv_handle_t *)f->slots[i].retry)) {
				uv_timer_stop(f->slots[i].retry);
				f->slots[i].f = NULL;
				f->inflight--;
			}
		/* Those still waiting for a reply end when it comes. */
		if (f->inflight == 0)
			fetch_done(f, f->failed);
	}
	fp->infree = 0;
	fetcher_maybe_free(fp);
}
