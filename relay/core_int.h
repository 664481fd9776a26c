/*
 * The relay core's state, shared by its files (core.c serves and caches,
 * aggregate.c spools reports and forwards them).
 */
#ifndef ARBOR_RELAY_CORE_INT_H
#define ARBOR_RELAY_CORE_INT_H

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

struct parked {			/* a request waiting for a blob */
	struct arb_req		*req;
	uint64_t		 off;
	uint32_t		 len;
	struct parked		*next;
};

struct miss {			/* one blob being fetched for children */
	struct relay_core	*c;
	uint8_t			 sha[ARB_SHA256_LEN];
	struct parked		*parked;
	int			 prefetch;	/* counts toward a push */
	struct miss		*next;
};

struct relay_core {
	struct relay_core_conf	 c;
	struct arb_srv		*srv;
	struct arb_pub		*pubs;
	Arbor__Signed		*head_signed;	/* decoded, for replies */
	uint64_t		 head_seq;
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
	uv_check_t		*check;		/* commits the group */
	struct arb_strmap	*cc_map;	/* "hex:idx" -> struct cchunk */
	struct cchunk		*cc_head, *cc_tail;
	uint64_t		 cc_bytes;
	uint8_t			*head_bare;	/* encoded HeadReply envelopes */
	size_t			 head_bare_len;
	uint8_t			*head_full;	/* ... with the policies inline */
	size_t			 head_full_len;
	struct deferred		*dq;		/* replies waiting for it */
	struct deferred		**dqt;
	struct arb_strmap	*children;	/* node id -> struct child */
};

struct child {
	int64_t		last_seen;	/* seconds */
	int		relay;		/* 1: a relay, 0: an agent */
};

/* core.c */
void	core_send(struct relay_core *, struct arb_req *, Arbor__Envelope *);
void	core_error(struct relay_core *, struct arb_req *, int, const char *);
uint32_t core_children(struct relay_core *, int64_t since);

/* aggregate.c */
int	relay_agg_new(struct relay_core *);
void	relay_agg_free(struct relay_core *);
void	relay_agg_enroll(struct relay_core *, struct arb_req *,
	    Arbor__Enroll *);
void	relay_agg_batch(struct relay_core *, struct arb_req *,
	    Arbor__ReportBatch *);



#endif
