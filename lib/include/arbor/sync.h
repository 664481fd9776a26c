/*
 * Keeping a node's copy of the catalog in step with its parent: the part a
 * relay and an agent share.  A sync holds a connection to one parent at a
 * time (REQ to its svc, SUB to its pub), falls over to the next parent in
 * its list when requests fail, polls on an interval with random jitter,
 * polls at once on a notification, verifies every head and policy before
 * it commits them to the store, and fetches blobs in chunks, resumably,
 * with one upstream fetch per blob however many callers ask (single
 * flight).  Everything runs on the loop thread.
 */
#ifndef ARBOR_SYNC_H
#define ARBOR_SYNC_H

#include <stdint.h>
#include <uv.h>

#include "arbor/blob.h"
#include "arbor/net.h"
#include "arbor/sig.h"
#include "arbor/store.h"
#include "arbor/wire.h"

struct arb_sync;

/* A parent: its svc (REQ/REP) and pub (PUB/SUB) addresses. */
struct arb_parent {
	char	*svc;
	char	*pub;
};

struct arb_sync_conf {
	uv_loop_t		*loop;
	struct arb_net		*net;
	struct arb_store	*store;
	struct arb_blobdir	*blobs;
	const struct arb_key	*pin;		/* the publisher's key */
	struct arb_parent	*parents;	/* in order of preference */
	size_t			 nparents;
	int64_t			 poll_ms;	/* poll interval */
	int64_t			 jitter_ms;	/* plus uniform [0, jitter) */
	int64_t			 notify_jitter_ms; /* non-urgent notify: delay */
	int64_t			 timeout_ms;	/* per request */
	int			 fetch_depth;	/* chunks in flight per blob */
	uint64_t		 fetch_rate;	/* bytes/s from upstream; 0: no cap */
	int			 blob_sink;	/* verify blobs, keep only that */
	int			 quiet;		/* routine lines at debug level */
	const char		*node_id;	/* sent in Hello */
	const char		*kind;		/* "relay" or "agent" */
	/*
	 * Called when a new head and every policy it names are verified and
	 * committed.  head stays valid until the next call or arb_sync_free.
	 */
	void	(*on_head)(void *arg, const Arbor__Head *head);
	/* Called after every poll that ended (changed or not, rv its end). */
	void	(*on_poll)(void *arg, int rv);
	void	 *arg;
};

/* Open: loads the head held in the store.  Nothing is sent until start. */
int	arb_sync_new(const struct arb_sync_conf *c, struct arb_sync **sp);
/* Dial the first reachable parent, subscribe, and poll. */
int	arb_sync_start(struct arb_sync *s);
/* Poll now (coalesced with a poll in progress). */
void	arb_sync_poll_now(struct arb_sync *s);
/* The verified head held, or NULL. */
const Arbor__Head *arb_sync_head(const struct arb_sync *s);
/* The encoded Signed head held (for serving), or NULL. */
const uint8_t *arb_sync_head_signed(const struct arb_sync *s, size_t *lenp);
/* The svc address of the parent in use. */
const char *arb_sync_parent(const struct arb_sync *s);

/*
 * Fetch blob sha of the given size into the blob directory, verified.  cb
 * is called once on the loop thread with 0 (the blob is complete under its
 * real name) or an error (ARB_ETOOLONG, ARB_EBADHASH, ARB_ETIMEDOUT...).
 * A blob already present completes at once (still through the loop).
 */
typedef void (*arb_fetch_cb)(int rv, const uint8_t *sha, void *arg);
int	arb_sync_fetch(struct arb_sync *s, const uint8_t sha[ARB_SHA256_LEN],
	    uint64_t size, arb_fetch_cb cb, void *arg);

/*
 * Is the blob here, verified?  In blob_sink mode (simulated endpoints that
 * verify what they download but do not keep it) "here" means verified
 * once by this sync.
 */
int	arb_sync_have_blob(const struct arb_sync *s,
	    const uint8_t sha[ARB_SHA256_LEN], uint64_t size);

/*
 * Send any request to the parent in use (reports, enrolments).  cb is
 * called once on the loop thread as for arb_cli_request; a request that
 * times out counts against the parent as a poll does.
 */
int	arb_sync_request(struct arb_sync *s, const Arbor__Envelope *env,
	    arb_cli_cb cb, void *arg);

/* Stop: outstanding fetch callbacks get ARB_ECLOSED.  Frees s. */
void	arb_sync_free(struct arb_sync *s);

/* Decode a stored policy by the sha256 of its signed body. */
int	arb_store_policy(struct arb_store *st,
	    const uint8_t sha[ARB_SHA256_LEN], Arbor__Policy **pp);


/*
 * The upstream settings as configuration keys.  A daemon's configuration
 * struct begins with a struct arb_sync_conf (its first member, so that
 * these handlers can take the struct as one); ARB_SYNC_CONF_KEYS expands to
 * the table entries, naming the parent key and the defaults for the help.
 * arb_sync_conf_clear frees the parent list.
 */
int	arb_sync_k_parent(void *, const char *, char *, size_t);
int	arb_sync_k_poll(void *, const char *, char *, size_t);
int	arb_sync_k_jitter(void *, const char *, char *, size_t);
int	arb_sync_k_notify_jitter(void *, const char *, char *, size_t);
int	arb_sync_k_timeout(void *, const char *, char *, size_t);
int	arb_sync_k_depth(void *, const char *, char *, size_t);
int	arb_sync_k_rate(void *, const char *, char *, size_t);
void	arb_sync_conf_clear(struct arb_sync_conf *c);

#define ARB_SYNC_CONF_KEYS(parent, poll, jitter, notify, depth)	\
	{ parent, arb_sync_k_parent, "SVC_URL PUB_URL of a " parent	\
	    "; repeat, in order of preference" },			\
	{ "poll_interval", arb_sync_k_poll, "how often to ask the "	\
	    parent " for its head (default " poll ")" },		\
	{ "poll_jitter", arb_sync_k_jitter, "random extra delay per "	\
	    "poll (default " jitter ")" },				\
	{ "notify_jitter", arb_sync_k_notify_jitter, "after a "		\
	    "notification that is not urgent, poll within a random "	\
	    "delay up to this (default " notify ")" },			\
	{ "timeout", arb_sync_k_timeout, "per request to the " parent	\
	    "; one that does not answer is left for the next "		\
	    "(default 10s)" },						\
	{ "fetch_depth", arb_sync_k_depth, "chunk requests in flight "	\
	    "per blob (default " depth ")" },				\
	{ "fetch_rate", arb_sync_k_rate, "cap on bytes a second "	\
	    "fetched from the " parent ", e.g. 20M (default 0: none)" }

/*
 * Parse a parent (or relay) address pair "SVC_URL PUB_URL" (space or comma
 * between).  0, or ARB_ECONFIG with a reason in err.  Free with
 * arb_parent_clear.
 */
int	arb_parent_parse(const char *value, struct arb_parent *p, char *err,
	    size_t errlen);
void	arb_parent_clear(struct arb_parent *p);
/* Parse value and append it to the list *vp of *np parents. */
int	arb_parent_add(struct arb_parent **vp, size_t *np, const char *value,
	    char *err, size_t errlen);

#endif
