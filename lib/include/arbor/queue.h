/*
 * The durable keyed queue: records waiting to go to a parent, kept in one
 * named database of the store, the latest one per key.  The agent's
 * outbox (ARB_DB_OUTBOX, one record per policy) and the relay's spool
 * (ARB_DB_SPOOL, one record per endpoint and policy) are both this.
 *
 * A record's value is its sequence number (8 bytes, big-endian) followed
 * by the caller's bytes.  A record is replaced only by one with a higher
 * sequence number, so a report sent again (or late) never displaces a
 * newer one; a batch is collected in key order; and when the parent
 * acknowledges it, each record sent is deleted only if its stored
 * sequence number is still the one that was sent (a newer report that
 * arrived meanwhile stays, to go in the next batch).  Durability is the
 * store's: a record put in a committed transaction survives a crash, and
 * one is deleted only by an acknowledgement.
 *
 * Retries follow one rule for every queue: after the n-th failure in a
 * row, wait 2^(n-1) s (at most ARB_QUEUE_RETRY_MAX_MS) plus a uniformly
 * random 0-4 s, so that thousands refused together do not come back
 * together; an acknowledgement resets it.  The first retry is thus the
 * 1-5 s the agent's outbox always used, and a link that stays down is
 * asked at most once a minute or so.
 */
#ifndef ARBOR_QUEUE_H
#define ARBOR_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "arbor/store.h"

#define ARB_QUEUE_RETRY_MIN_MS		1000
#define ARB_QUEUE_RETRY_MAX_MS		60000
#define ARB_QUEUE_RETRY_JITTER_MS	4000

/* Embedded by its user; the fields are the queue's own. */
struct arb_queue {
	struct arb_store	*store;
	enum arb_db		 db;
	unsigned		 failures;	/* in a row */
	uint64_t		 not_before;	/* ms, the caller's clock */
};

/* One record of a batch in flight: its key and the sequence sent. */
struct arb_queue_item {
	uint8_t		*key;
	size_t		 klen;
	uint64_t	 seq;
};

/* The records of a batch in flight, made by arb_queue_collect. */
struct arb_queue_sent {
	struct arb_queue_item	*v;
	size_t			 n;
};

/* A queue over database db of store (which it does not own). */
void	arb_queue_init(struct arb_queue *q, struct arb_store *store,
	    enum arb_db db);

/*
 * Put the record for key with sequence number seq and len bytes of data
 * (copied) in t, a write transaction of q's store that the caller ends,
 * unless the record held for key has a sequence number of seq or more.
 * *addedp (may be NULL) says whether it was put.  Returns 0 or an error.
 */
int	arb_queue_put(struct arb_queue *q, struct arb_txn *t,
	    const void *key, size_t klen, uint64_t seq, const void *data,
	    size_t len, int *addedp);

/*
 * Called by arb_queue_collect for each record in key order, with its
 * sequence number and its data (both valid only during the call).
 * Returns 0 to take the record into the batch, 1 to leave it out (it
 * stays in the queue: unreadable, say), or a negative error to stop.
 */
typedef int (*arb_queue_take_fn)(const void *key, size_t klen,
    uint64_t seq, const uint8_t *data, size_t len, void *arg);

/*
 * Collect a batch: offer records to take in key order until max records
 * are taken or the next record's value would take the batch past
 * max_bytes (each record taken counts its value's length plus overhead,
 * what it costs in the message beyond its bytes).  Records shorter than a
 * sequence number are skipped.  On success *s (which the caller frees
 * with arb_queue_sent_clear) holds the records taken, possibly none; on
 * error it is left empty.  Reads only: nothing leaves the queue here.
 */
int	arb_queue_collect(struct arb_queue *q, size_t max, size_t max_bytes,
	    size_t overhead, arb_queue_take_fn take, void *arg,
	    struct arb_queue_sent *s);
void	arb_queue_sent_clear(struct arb_queue_sent *s);

/*
 * The parent acknowledged the batch s: in one committed transaction,
 * delete each record of s whose stored sequence number is still the one
 * sent, and reset the retry back-off.  *deletedp and *leftp (each may be
 * NULL) get the number deleted and the number of records left.  Returns
 * 0 or an error (then nothing was deleted).  s is not freed.
 */
int	arb_queue_ack(struct arb_queue *q, const struct arb_queue_sent *s,
	    size_t *deletedp, uint64_t *leftp);

/* Number of records held. */
int	arb_queue_count(struct arb_queue *q, uint64_t *np);

/*
 * A send failed at now_ms (any monotonic clock in ms): count the failure
 * and return the delay before the next attempt, by the rule above.
 */
uint64_t arb_queue_failed(struct arb_queue *q, uint64_t now_ms);
/* May a batch go at now_ms (no back-off pending)? */
int	arb_queue_ready(const struct arb_queue *q, uint64_t now_ms);
/* A send succeeded other than by an acknowledged batch: reset. */
void	arb_queue_ok(struct arb_queue *q);

#endif
