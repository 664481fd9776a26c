/*
 * The relay core's private declarations, shared by its files: core.c (the
 * core's life and its heads), serve.c (answering children), shape.c (the
 * rates to children), cache.c (the
 * blob index and its byte limit, the chunks kept in memory, the blobs
 * being fetched for children), aggregate.c (the report spool, forwarded
 * upward) and enrol.c (enrolments, forwarded upward).  Nothing outside relay/ includes it.
 */
#ifndef ARBOR_RELAY_CORE_INT_H
#define ARBOR_RELAY_CORE_INT_H

#include "arbor/group.h"
#include "arbor/queue.h"
#include "arbor/strmap.h"
#include "core.h"

/* Blob index record: size, last use, then one SHA-256 per chunk. */
struct blobrec_hdr {
	uint64_t	size;
	int64_t		last_used;
	uint32_t	nchunks;
	uint32_t	pad;
};

struct named_blob {		/* a blob that a current policy names */
	uint8_t		 sha[ARB_SHA256_LEN];
	uint64_t	 size;
	int		 urgent;
};

struct miss;			/* cache.c: one blob being fetched */
struct cchunk;			/* cache.c: one chunk kept in memory */
struct relay_shape;		/* shape.c: the rates to children */
struct relay_unm;		/* unmanaged.c: addresses not managed */

/*
 * A blob whose upstream fetch failed: children asking for it get the same
 * error until until_ms (loop time), so that a fetch that cannot succeed
 * (a full disk) is not started again for every child's retry.
 */
#define RELAY_FAILS_MAX	32
struct fetch_fail {
	uint8_t		sha[ARB_SHA256_LEN];
	uint32_t	fails;		/* in a row */
	uint64_t	until_ms;
	int		rv;
};

struct relay_core {
	struct relay_core_conf	 c;
	struct fetch_fail	 fails[RELAY_FAILS_MAX];
	int			 nfails;
	struct arb_srv		*srv;
	struct arb_srv		*esrv;		/* enrolment only, or NULL */
	struct arb_pub		*pubs;
	struct arb_group	*group;		/* commits before acks */
	Arbor__Signed		*head_signed;	/* decoded, for replies */
	uint64_t		 head_seq;
	int64_t			 head_issued_at;	/* s */
	struct named_blob	*named;
	size_t			 nnamed;
	char			**urgent_ids;	/* "id@pushed_seq" of the last head */
	size_t			 nurgent;
	struct miss		*misses;
	int			 prefetching;	/* blobs before a notify */
	uint64_t		 notify_seq;	/* notify when prefetch ends */
	char			*notify_id;
	struct relay_core_stats	 st;
	uint8_t			*chunkbuf;
	int			 closing;	/* freed when misses end */
	struct relay_agg	*agg;		/* NULL at the root */
	struct relay_enrol	*enrol;		/* NULL at the root */
	struct arb_strmap	*cc_map;	/* "hex:idx" -> struct cchunk */
	struct cchunk		*cc_head, *cc_tail;
	uint64_t		 cc_bytes;
	uint8_t			*head_bare;	/* encoded HeadReply envelopes */
	size_t			 head_bare_len;
	uint8_t			*head_full;	/* ... with the policies inline */
	size_t			 head_full_len;
	struct arb_strmap	*children;	/* node id -> struct child */
	int64_t			 children_pruned;	/* s, last looked */
	int			 children_full;	/* logged that it is */
	struct relay_shape	*shape;		/* NULL: no rate to children */
	struct relay_unm	*unm;
	int			(*mfill)(void *, struct arb_metrics *);
	void			*marg;		/* relay_core_serve_metrics */
};

/* core.c */
void	relay_notify(struct relay_core *);

/* serve.c */
void	relay_request(struct arb_req *, const uint8_t *, size_t, void *);
void	relay_enroll_request(struct arb_req *, const uint8_t *, size_t,
	    void *);
void	relay_send(struct relay_core *, struct arb_req *,
	    Arbor__Envelope *);
void	relay_error(struct relay_core *, struct arb_req *, int code,
	    const char *what);
void	relay_serve_chunk(struct relay_core *, struct arb_req *,
	    const uint8_t *sha, uint64_t off, uint32_t len, int framed);
void	relay_head_replies(struct relay_core *, const Arbor__Head *);
uint32_t relay_children(struct relay_core *, int64_t since);
enum relay_ep relay_endpoint_state(struct relay_core *, const char *id);

/* shape.c */
int	relay_shape_init(struct relay_core *);
void	relay_shape_fini(struct relay_core *);
void	relay_shape_chunk(struct relay_core *, struct arb_req *,
	    const uint8_t *sha, uint64_t off, uint32_t len, int framed);

/* cache.c */
int	relay_cache_init(struct relay_core *);
void	relay_cache_fini(struct relay_core *);
const struct named_blob *relay_cache_named(const struct relay_core *,
	    const uint8_t *sha);
int	relay_cache_blobrec(struct relay_core *, const uint8_t *sha,
	    uint8_t **recp, struct blobrec_hdr *);
void	relay_cache_touch(struct relay_core *, const uint8_t *sha,
	    uint8_t *rec, struct blobrec_hdr *);
void	relay_cache_forget(struct relay_core *, const uint8_t *sha);
void	relay_cache_trim(struct relay_core *);
int	relay_cache_fetch(struct relay_core *, const struct named_blob *,
	    int prefetch);
int	relay_cache_park(struct relay_core *, const struct named_blob *,
	    struct arb_req *, uint64_t off, uint32_t len, int framed);
const uint8_t *relay_cache_chunk(struct relay_core *, const uint8_t *sha,
	    uint32_t idx, uint32_t len);
const uint8_t *relay_cache_keep(struct relay_core *, const uint8_t *sha,
	    uint32_t idx, const uint8_t *data, uint32_t len);

/* unmanaged.c */
int	relay_unm_init(struct relay_core *, int64_t grace);
void	relay_unm_fini(struct relay_core *);
/* pending: a poll, listed only once it lasts past the grace. */
void	relay_unm_note(struct relay_core *, const char *addr,
	    const char *reason, const char *claimed, int pending);
void	relay_unm_note_req(struct relay_core *, struct arb_req *,
	    const char *reason, const char *claimed, int pending);
void	relay_unm_managed(struct relay_core *, const char *addr);
void	relay_unm_managed_req(struct relay_core *, struct arb_req *);
/* What the root's receipt says of id: managed drops it, else listed. */
void	relay_unm_id(struct relay_core *, const char *id, enum relay_ep);
void	relay_unm_take(struct relay_core *, const Arbor__ReportBatch *);
int	relay_unm_list(struct relay_core *, size_t max, Arbor__Unmanaged ***,
	    size_t *, uint64_t *evictedp);
/* Into a batch going up (b->unmanaged: free() it after). */
int	relay_unm_fill(struct relay_core *, Arbor__ReportBatch *b);
int	relay_unm_changed(const struct relay_core *);
/* The list went up (ok) or must be said again. */
void	relay_unm_sent(struct relay_core *, int ok);
uint64_t relay_unm_count(struct relay_core *);

/* aggregate.c */
int	relay_agg_new(struct relay_core *);
void	relay_agg_free(struct relay_core *);
/* Keep n receipts of the root's (one transaction); the first error. */
int	relay_agg_receipts_keep(struct relay_core *, Arbor__Signed **,
	    size_t n);
void	relay_agg_batch(struct relay_core *, struct arb_req *,
	    Arbor__ReportBatch *);
/* What the receipt held for id says of it. */
enum relay_ep relay_agg_endpoint(struct relay_core *, const char *id);
/* Reports spooled, and ms since the parent last took a batch (0: never). */
void	relay_agg_spool(struct relay_core *, uint64_t *depthp,
	    uint64_t *agep);
/* enrol.c: enrolments forwarded upward, one per endpoint */
int	relay_enrol_new(struct relay_core *);
void	relay_enrol_free(struct relay_core *);
void	relay_enrol_request(struct relay_core *, struct arb_req *,
	    Arbor__Enroll *);
struct relay_enrol_counts {
	uint64_t	waiting, inflight;	/* now */
	uint64_t	joined;		/* asked again while one was on its way */
	uint64_t	answered;	/* asked again, answered from the kept */
	uint64_t	busy;		/* told to come back: too many waiting */
};
void	relay_enrol_counts(const struct relay_core *,
	    struct relay_enrol_counts *);

/* Children are counted as connected when heard from this recently. */
#define RELAY_CHILD_WINDOW	600		/* s */

#endif
