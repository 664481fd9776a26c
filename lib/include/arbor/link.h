/*
 * The parent link: how a node talks to its parent.  A link holds a
 * connection to one parent at a time (REQ to its svc, SUB to its pub),
 * taken from an ordered list, and falls over to the next parent when a
 * request fails the way an unreachable parent fails.  Every request a
 * child sends upward (get head, get policy, get chunk, enrol, report
 * batch) goes through arb_link_request, which encodes, sends, waits,
 * decodes the reply and turns an Error reply into its code, so that no
 * caller decodes a reply by hand.  Everything runs on the loop thread.
 */
#ifndef ARBOR_LINK_H
#define ARBOR_LINK_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "arbor/net.h"
#include "arbor/wire.h"

struct arb_link;

/* A parent: its svc (REQ/REP) and pub (PUB/SUB) addresses. */
struct arb_parent {
	char	*svc;
	char	*pub;
};

/*
 * What a daemon configures about its way up: the parents, how often it
 * asks for the head, how long it waits, how it fetches.  A daemon's
 * configuration struct begins with one (its first member, so that the
 * handlers of ARB_UPSTREAM_CONF_KEYS can take the struct as one); link,
 * catalog sync and fetch pipeline each read their part of it.
 */
struct arb_upstream {
	struct arb_parent	*parents;	/* in order of preference */
	size_t			 nparents;
	int64_t			 poll_ms;	/* poll interval */
	int64_t			 jitter_ms;	/* plus uniform [0, jitter) */
	int64_t			 notify_jitter_ms; /* non-urgent notify: delay */
	int64_t			 timeout_ms;	/* per request */
	int64_t			 probe_ms;	/* RTT probe of each; 0: none */
	int64_t			 failover_ms;	/* leave a silent one within */
	int			 fetch_depth;	/* chunks in flight per blob */
	uint64_t		 fetch_rate;	/* bytes/s from upstream; 0: no cap */
};

/*
 * Check the parents' addresses against the TLS settings (arbor/tls.h),
 * logged under key.  0 or ARB_ECONFIG.
 */
int	arb_upstream_check(const struct arb_upstream *u, const char *key);
/* Free the parent list. */
void	arb_upstream_clear(struct arb_upstream *u);

int	arb_upstream_k_parent(void *, const char *, char *, size_t);
int	arb_upstream_k_poll(void *, const char *, char *, size_t);
int	arb_upstream_k_jitter(void *, const char *, char *, size_t);
int	arb_upstream_k_notify_jitter(void *, const char *, char *, size_t);
int	arb_upstream_k_timeout(void *, const char *, char *, size_t);
int	arb_upstream_k_depth(void *, const char *, char *, size_t);
int	arb_upstream_k_rate(void *, const char *, char *, size_t);
int	arb_upstream_k_probe(void *, const char *, char *, size_t);
int	arb_upstream_k_failover(void *, const char *, char *, size_t);

/* Defaults of probe_interval and failover (see arb_link_new). */
#define ARB_LINK_PROBE_MS	30000
#define ARB_LINK_FAILOVER_MS	15000

/* The table entries, naming the parent key and the defaults for the help. */
#define ARB_UPSTREAM_CONF_KEYS(parent, poll, jitter, notify, depth)	\
	{ parent, arb_upstream_k_parent, "SVC_URL PUB_URL of a " parent	\
	    "; repeat, in order of preference" },			\
	{ "poll_interval", arb_upstream_k_poll, "how often to ask the "	\
	    parent " for its head (default " poll ")" },		\
	{ "poll_jitter", arb_upstream_k_jitter, "random extra delay "	\
	    "per poll (default " jitter ")" },				\
	{ "notify_jitter", arb_upstream_k_notify_jitter, "after a "	\
	    "notification that is not urgent, poll within a random "	\
	    "delay up to this (default " notify ")" },			\
	{ "timeout", arb_upstream_k_timeout, "per request to the "	\
	    parent "; one that does not answer is left for the next "	\
	    "(default 10s)" },						\
	{ "fetch_depth", arb_upstream_k_depth, "chunk requests in "	\
	    "flight per blob (default " depth ")" },			\
	{ "fetch_rate", arb_upstream_k_rate, "cap on bytes a second "	\
	    "fetched from the " parent ", e.g. 20M (default 0: none)" },	\
	{ "probe_interval", arb_upstream_k_probe, "with several "	\
	    parent "s: how often to time a request to each, to use the "	\
	    "nearest that answers (default 30s; 0: in order only)" },	\
	{ "failover", arb_upstream_k_failover, "with several " parent	\
	    "s: the " parent " in use is checked so that one that stops "	\
	    "answering is left for the next within this (default 15s)" }

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

/*
 * Decode a reply: 0 with *envp (free with arb_wire_free) when its body is
 * want; the code an Error reply carries (ARB_EPROTO if it carries none),
 * with *envp the Error itself; ARB_EPROTO for any other body and the
 * decoder's error for bytes that do not decode, with *envp NULL.
 */
int	arb_reply_decode(const uint8_t *data, size_t len,
	    Arbor__Envelope__BodyCase want, Arbor__Envelope **envp);
/* The same for a chunk reply that may be framed (arb_wire_decode_framed). */
int	arb_reply_decode_framed(const uint8_t *data, size_t len,
	    Arbor__Envelope **envp, const uint8_t **rawp, size_t *rawlenp);

/*
 * Blocking request for command-line tools without a loop: encode env,
 * send it to url, wait up to timeout_ms, decode the reply as
 * arb_reply_decode does (*replyp set likewise, also for an Error).
 */
int	arb_call(const char *url, const Arbor__Envelope *env,
	    Arbor__Envelope__BodyCase want, int timeout_ms,
	    Arbor__Envelope **replyp);

struct arb_link_conf {
	uv_loop_t			*loop;
	struct arb_net			*net;
	const struct arb_upstream	*up;	/* parents, timeout; kept */
	const char			*kind;	/* "relay", "agent": in logs */
	int				 quiet;	/* routine lines at debug */
	/* After each change of parent (not the first): for the reports. */
	void				(*on_parent)(void *arg);
	void				*arg;
};

/*
 * What the node above says, and when the link moved to another parent.
 * One listener (catalog sync); see arb_link_listen.
 */
struct arb_link_listener {
	void	(*on_notify)(void *arg, uint64_t seq, int urgent);
	void	(*on_switch)(void *arg);	/* now on another parent */
	void	(*on_connect)(void *arg);	/* subscribed again */
	void	 *arg;
};

/*
 * Nearest parent.  With several parents and probe_ms > 0 the link keeps
 * one long-lived REQ client per parent (never one per probe) and sends a
 * Hello on it: at start, then every probe_ms, and to the parent in use
 * every 0.9 (failover - W), where W = min(timeout, 2/3 failover) is how
 * long a probe may take.  A parent's distance is the least of its last
 * ARB_LINK_RTT_KEEP round trips (load only ever adds to one); the
 * smoothed figure (EWMA, 1/4 of each new sample) is what arb_link_rtt
 * reports.  A parent is healthy while its last probe was answered
 * within W.  The link moves to the nearest healthy parent when the one in
 * use stops answering (so within failover of its last answer), or when
 * another is clearly nearer, both measured ARB_LINK_RTT_MIN times: by
 * 20 % and at least ARB_LINK_HYST_MS, so that two parents at about the
 * same distance do not make it flap.
 */
#define ARB_LINK_HYST_MS	5
/* Round trips a parent's distance is the least of. */
#define ARB_LINK_RTT_KEEP	8
/*
 * Round trips of both before one parent is found nearer than the other,
 * taken ARB_LINK_WARM_MS apart (or the probe interval, if shorter).  The
 * first answer on a new connection waited for its dial and handshake and
 * is not one of them.
 */
#define ARB_LINK_RTT_MIN	3
#define ARB_LINK_WARM_MS	250
/* A parent left by arb_link_skip is not chosen again for this long. */
#define ARB_LINK_HOLD_MS	(10 * 60 * 1000)

/*
 * Make a link; nothing is dialled until arb_link_start.  A link with no
 * parent (an air-gapped relay, which takes its catalog from imports)
 * dials nothing and every request on it fails with ARB_ECLOSED.
 */
int	arb_link_new(const struct arb_link_conf *c, struct arb_link **lp);
/*
 * Dial the first parent and subscribe to its notifications, without
 * blocking; one that gives no connection within timeout is left for the
 * next.
 */
int	arb_link_start(struct arb_link *l);
void	arb_link_listen(struct arb_link *l, const struct arb_link_listener *ls);

/*
 * Reply callback, called exactly once on the loop thread: rv 0 and the
 * decoded reply, whose body is the one asked for; or the code of the
 * parent's Error reply, and that Error (for its message); or another
 * error and NULL.  The link frees reply when cb returns; cb may take parts
 * of it (set the field it takes to NULL).
 */
typedef void (*arb_link_cb)(int rv, Arbor__Envelope *reply, void *arg);

/*
 * Send env to the parent in use and expect a reply whose body is want.  A
 * request that times out or finds the parent unreachable moves the link to
 * the next parent (the listener's on_switch is called).  0, or an error
 * and cb is never called.
 */
int	arb_link_request(struct arb_link *l, const Arbor__Envelope *env,
	    Arbor__Envelope__BodyCase want, arb_link_cb cb, void *arg);

/*
 * The same for a GetChunk that asks for a framed reply: cb gets the
 * reply's envelope and, when the parent framed it, the chunk's bytes in
 * place (raw, rawlen), valid only until cb returns; raw is NULL for an
 * unframed reply (the bytes are then the Chunk's data, as ever).
 */
typedef void (*arb_link_framed_cb)(int rv, Arbor__Envelope *reply,
	    const uint8_t *raw, size_t rawlen, void *arg);
int	arb_link_request_framed(struct arb_link *l, const Arbor__Envelope *env,
	    arb_link_framed_cb cb, void *arg);

/*
 * Leave the parent in use for the next one (logging why, and calling the
 * listener's on_switch): for a parent that answers, but whose answers the
 * caller found do not hold.  Nothing when there is only one parent.  The
 * parent left is not chosen again, nearest as it may be, for
 * ARB_LINK_HOLD_MS (unless every other falls silent).
 */
void	arb_link_skip(struct arb_link *l, const char *why);

/* The svc address of the parent in use. */
const char *arb_link_parent(const struct arb_link *l);

/*
 * Smoothed round-trip time to parent i, in microseconds: 0 and *usp set,
 * or ARB_ENOTFOUND when it has none (not measured, or not answering).
 */
int	arb_link_rtt(const struct arb_link *l, size_t i, int64_t *usp);

/*
 * Close: requests in flight complete with ARB_ECLOSED through the loop;
 * the link is freed after the last.  Whoever issued requests must still
 * exist then (close them first: they wait for their completions).
 */
void	arb_link_free(struct arb_link *l);

#endif
