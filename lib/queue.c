/*
 * The durable keyed queue: the latest record per key behind its sequence
 * number, collected in batches, deleted on acknowledgement only if
 * unchanged.  Every access goes through lib/store.c.
 *
 * The value layout (8 bytes of big-endian sequence number, then the
 * caller's bytes) is what the agent's outbox and the relay's spool have
 * always stored, so existing databases are read as they are.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arbor/error.h"
#include "arbor/queue.h"

#define QUEUE_SEQ_LEN	8

void
arb_queue_init(struct arb_queue *q, struct arb_store *store, enum arb_db db)
{
	memset(q, 0, sizeof(*q));
	q->store = store;
	q->db = db;
}

int
arb_queue_put(struct arb_queue *q, struct arb_txn *t, const void *key,
    size_t klen, uint64_t seq, const void *data, size_t len, int *addedp)
{
	uint8_t	*val;
	void	*old;
	size_t	 olen;
	uint64_t held;
	int	 rv;

	if (addedp)
		*addedp = 0;
	if (arb_txn_get(t, q->db, key, klen, &old, &olen) == 0) {
		held = olen >= QUEUE_SEQ_LEN ? arb_be64_get(old) : 0;
		free(old);
		if (held >= seq)
			return 0;	/* this one or a newer one is held */
	}
	if ((val = malloc(len + QUEUE_SEQ_LEN)) == NULL)
		return -ENOMEM;
	arb_be64_put(val, seq);
	if (len > 0)
		memcpy(val + QUEUE_SEQ_LEN, data, len);
	rv = arb_txn_put(t, q->db, key, klen, val, len + QUEUE_SEQ_LEN);
	free(val);
	if (rv == 0 && addedp)
		*addedp = 1;
	return rv;
}

struct collect {
	arb_queue_take_fn	 take;
	void			*arg;
	size_t			 max, max_bytes, overhead, bytes;
	struct arb_queue_sent	*s;
};

static int
collect_cb(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg)
{
	struct collect		*co = arg;
	struct arb_queue_item	*it;
	int			 rv;

	if (co->s->n >= co->max || co->bytes + vlen > co->max_bytes)
		return 1;
	if (vlen < QUEUE_SEQ_LEN)
		return 0;
	it = &co->s->v[co->s->n];
	if ((it->key = malloc(klen)) == NULL)
		return -ENOMEM;
	if ((rv = co->take(key, klen, arb_be64_get(val),
	    (const uint8_t *)val + QUEUE_SEQ_LEN, vlen - QUEUE_SEQ_LEN,
	    co->arg)) != 0) {
		free(it->key);
		it->key = NULL;
		return rv < 0 ? rv : 0;
	}
	memcpy(it->key, key, klen);
	it->klen = klen;
	it->seq = arb_be64_get(val);
	co->s->n++;
	co->bytes += vlen + co->overhead;
	return 0;
}

int
arb_queue_collect(struct arb_queue *q, size_t max, size_t max_bytes,
    size_t overhead, arb_queue_take_fn take, void *arg,
    struct arb_queue_sent *s)
{
	struct collect	 co;
	struct arb_txn	*t;
	int		 rv;

	memset(s, 0, sizeof(*s));
	if (max == 0)
		return 0;
	if ((s->v = calloc(max, sizeof(*s->v))) == NULL)
		return -ENOMEM;
	memset(&co, 0, sizeof(co));
	co.take = take;
	co.arg = arg;
	co.max = max;
	co.max_bytes = max_bytes;
	co.overhead = overhead;
	co.s = s;
	if ((rv = arb_txn_begin(q->store, 0, &t)) != 0)
		goto fail;
	rv = arb_txn_foreach(t, q->db, collect_cb, &co);
	arb_txn_abort(t);
	if (rv != 0)
		goto fail;
	return 0;
fail:
	arb_queue_sent_clear(s);
	return rv;
}

void
arb_queue_sent_clear(struct arb_queue_sent *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i].key);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

int
arb_queue_ack(struct arb_queue *q, const struct arb_queue_sent *s,
    size_t *deletedp, uint64_t *leftp)
{
	struct arb_txn	*t;
	uint64_t	 left = 0;
	void		*v;
	size_t		 i, vlen, deleted = 0;
	int		 rv;

	arb_queue_ok(q);
	if ((rv = arb_txn_begin(q->store, 1, &t)) != 0)
		return rv;
	for (i = 0; i < s->n; i++) {
		if (arb_txn_get(t, q->db, s->v[i].key, s->v[i].klen, &v,
		    &vlen) != 0)
			continue;
		if (vlen >= QUEUE_SEQ_LEN && arb_be64_get(v) == s->v[i].seq &&
		    arb_txn_del(t, q->db, s->v[i].key, s->v[i].klen) == 0)
			deleted++;
		free(v);
	}
	(void)arb_txn_count(t, q->db, &left);
	if ((rv = arb_txn_commit(t)) != 0)
		return rv;
	if (deletedp)
		*deletedp = deleted;
	if (leftp)
		*leftp = left;
	return 0;
}

int
arb_queue_count(struct arb_queue *q, uint64_t *np)
{
	struct arb_txn	*t;
	int		 rv;

	if ((rv = arb_txn_begin(q->store, 0, &t)) != 0)
		return rv;
	rv = arb_txn_count(t, q->db, np);
	arb_txn_abort(t);
	return rv;
}

uint64_t
arb_queue_failed(struct arb_queue *q, uint64_t now_ms)
{
	uint64_t delay = ARB_QUEUE_RETRY_MIN_MS;
	unsigned i;

	if (q->failures < 64)
		q->failures++;
	for (i = 1; i < q->failures && delay < ARB_QUEUE_RETRY_MAX_MS; i++)
		delay *= 2;
	if (delay > ARB_QUEUE_RETRY_MAX_MS)
		delay = ARB_QUEUE_RETRY_MAX_MS;
	delay += (uint64_t)random() % ARB_QUEUE_RETRY_JITTER_MS;
	q->not_before = now_ms + delay;
	return delay;
}

int
arb_queue_ready(const struct arb_queue *q, uint64_t now_ms)
{
	return now_ms >= q->not_before;
}

void
arb_queue_ok(struct arb_queue *q)
{
	q->failures = 0;
	q->not_before = 0;
}
