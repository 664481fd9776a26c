/*
 * The parent link: one connection up, to the first parent of an ordered
 * list that answers, and the one request call every caller uses.
 *
 * A request carries the link's generation when it was sent; the
 * generation bumps at every change of parent, so that a request that
 * failed at a parent already left behind does not move the link again.
 * Failures that mean "this parent is gone" (timed out, unreachable, the
 * messaging layer failed, also when the parent reports them itself in an
 * Error reply) move the link to the next parent; every other error is the
 * caller's to judge.
 *
 * With several parents the link also times a Hello to each over a client
 * of its own (one per parent, dialled once and kept), and moves to the
 * nearest that answers: see arb_link.h.  The parent in use is probed more
 * often, so that one that falls silent is left within the failover time
 * even when the daemon itself has nothing to ask it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbor/conf.h"
#include "arbor/error.h"
#include "arbor/link.h"
#include "arbor/log.h"
#include "arbor/tls.h"
#include "arbor/wire.h"

/* Routine lines: info, or debug for a swarm of simulated endpoints. */
#define link_note(l, ...) do {						\
	if ((l)->c.quiet)						\
		log_debug(__VA_ARGS__);					\
	else								\
		log_info(__VA_ARGS__);					\
} while (0)

struct link_peer {		/* what the link knows of one parent */
	struct arb_link		*l;
	struct arb_cli		*cli;		/* its probe client, kept */
	int64_t			 srtt_us;	/* smoothed; -1: none yet */
	int64_t			 rtt[ARB_LINK_RTT_KEEP]; /* the last ones */
	unsigned		 nrtt;		/* samples taken since reset */
	int			 health;	/* -1 unknown, 0 silent, 1 answers */
	int			 busy;		/* a probe in flight */
	uint64_t		 due;		/* next probe, loop ms */
	uint64_t		 sent_ns;	/* the probe in flight's start */
	uint64_t		 held;		/* skipped: not chosen before */
};

struct arb_link {
	struct arb_link_conf	 c;
	struct link_peer	*peers;		/* nparents, when probing */
	uv_timer_t		*probe_timer;
	int64_t			 wait_ms;	/* a probe's time to answer */
	int64_t			 check_ms;	/* probe of the one in use */
	struct arb_link_listener ls;
	struct arb_cli		*cli;
	struct arb_sub		*sub;
	size_t			 cur;		/* parent in use */
	uint64_t		 gen;		/* bumps at each parent switch */
	int			 connected;	/* cli has had a connection */
	int			 sub_ups;	/* connections of sub so far */
	int			 asked;		/* a request sent on this parent */
	uv_timer_t		*conn_timer;	/* no connection in time: next */
	int			 ncalls;	/* requests in flight */
	int			 closing;
};

static void
timer_free_cb(uv_handle_t *h)
{
	free(h);
}

struct link_call {		/* one request in flight */
	struct arb_link			*l;
	uint64_t			 gen;
	Arbor__Envelope__BodyCase	 want;
	arb_link_cb			 cb;
	arb_link_framed_cb		 fcb;	/* or this, for a chunk */
	void				*arg;
};

/* ------------------------------------------------------------- replies */

/* What a decoded reply says: its body is want, an Error's code, or not. */
static int
reply_judge(Arbor__Envelope *env, Arbor__Envelope__BodyCase want,
    Arbor__Envelope **envp)
{
	if (env->body_case == ARBOR__ENVELOPE__BODY_ERROR) {
		*envp = env;
		return env->error->code < 0 ? env->error->code : ARB_EPROTO;
	}
	if (env->body_case != want) {
		arb_wire_free(env);
		return ARB_EPROTO;
	}
	*envp = env;
	return 0;
}

int
arb_reply_decode(const uint8_t *data, size_t len,
    Arbor__Envelope__BodyCase want, Arbor__Envelope **envp)
{
	Arbor__Envelope	*env;
	int		 rv;

	*envp = NULL;
	if ((rv = arb_wire_decode(data, len, &env)) != 0)
		return rv;
	return reply_judge(env, want, envp);
}

int
arb_reply_decode_framed(const uint8_t *data, size_t len,
    Arbor__Envelope **envp, const uint8_t **rawp, size_t *rawlenp)
{
	Arbor__Envelope	*env;
	int		 rv;

	*envp = NULL;
	if ((rv = arb_wire_decode_framed(data, len, &env, rawp, rawlenp)) != 0)
		return rv;
	return reply_judge(env, ARBOR__ENVELOPE__BODY_CHUNK, envp);
}

int
arb_call(const char *url, const Arbor__Envelope *env,
    Arbor__Envelope__BodyCase want, int timeout_ms, Arbor__Envelope **replyp)
{
	uint8_t	*buf, *reply;
	size_t	 len, rlen;
	int	 rv;

	*replyp = NULL;
	if ((rv = arb_wire_encode(env, &buf, &len)) != 0)
		return rv;
	rv = arb_net_call(url, buf, len, timeout_ms, &reply, &rlen);
	free(buf);
	if (rv != 0)
		return rv;
	rv = arb_reply_decode(reply, rlen, want, replyp);
	free(reply);
	return rv;
}

/* ---------------------------------------------------------- connection */

static void
link_sub_cb(const uint8_t *data, size_t len, void *arg)
{
	struct arb_link		*l = arg;
	Arbor__Envelope		*env;

	if (arb_wire_decode(data, len, &env) != 0) {
		log_warnx("%s: malformed notification from %s", l->c.kind,
		    l->c.up->parents[l->cur].pub);
		return;
	}
	if (env->body_case == ARBOR__ENVELOPE__BODY_NOTIFY) {
		log_debug("%s: notify seq %llu%s", l->c.kind,
		    (unsigned long long)env->notify->seq,
		    env->notify->urgent ? " urgent" : "");
		if (l->ls.on_notify)
			l->ls.on_notify(l->ls.arg, env->notify->seq,
			    env->notify->urgent);
	}
	arb_wire_free(env);
}

static void
link_disconnect(struct arb_link *l)
{
	if (l->cli) {
		arb_cli_close(l->cli);
		l->cli = NULL;
	}
	if (l->sub) {
		arb_sub_close(l->sub);
		l->sub = NULL;
	}
}

static void	link_next(struct arb_link *, const char *, int);
static void	link_destroy(struct arb_link *);

/* The REQ socket has a connection to the parent. */
static void
link_cli_up(void *arg)
{
	struct arb_link *l = arg;

	l->connected = 1;
	uv_timer_stop(l->conn_timer);
}

/*
 * The SUB socket has a connection.  Notifications sent before it was up
 * are lost, so unless nothing has been asked of this parent yet (the
 * poll the start makes comes after), the listener asks again, after a
 * random delay, so that thousands of children whose parent came back do
 * not all ask in the same millisecond.  That covers a connection that
 * came back, the first one after a change of parent, and the first one
 * at start when it came up only after the start's poll was sent: the
 * answer may predate a push whose notification this connection missed
 * (a parent that was not listening yet, a redial after a refusal).
 */
static void
link_sub_up(void *arg)
{
	struct arb_link *l = arg;

	if ((++l->sub_ups > 1 || l->gen > 1 || l->asked) && l->ls.on_connect)
		l->ls.on_connect(l->ls.arg);
}

/*
 * What the parent is called in logs: an agent's is its relay, as its
 * setting is; a relay's is its parent (a relay or the root).
 */
static const char *
link_word(const struct arb_link *l)
{
	return l->c.kind != NULL && strcmp(l->c.kind, "agent") == 0 ?
	    "relay" : "parent";
}

/* No connection to the parent within timeout: try the next one. */
static void
link_conn_timeout(uv_timer_t *t)
{
	struct arb_link *l = t->data;

	if (l->closing || l->connected)
		return;
	if (l->c.up->nparents > 1)
		link_next(l, "no connection", 1);
	else
		log_warnx("%s: %s %s: no connection in %lld s (not running, "
		    "or not reachable?); still trying, every %d s at most",
		    l->c.kind, link_word(l), l->c.up->parents[l->cur].svc,
		    (long long)(l->c.up->timeout_ms / 1000),
		    ARB_NET_RECONN_MAX_MS / 1000);
}

/*
 * Connect to parent `from`.  Dialling never blocks: a parent that refuses
 * or black-holes the connection is left for the next one after timeout,
 * as a request that gets no answer is.
 */
static int
link_connect(struct arb_link *l, size_t from)
{
	const struct arb_upstream	*up = l->c.up;
	int				 rv;

	link_disconnect(l);
	l->gen++;
	l->connected = 0;
	l->sub_ups = 0;
	l->asked = 0;
	l->cur = from % up->nparents;
	if ((rv = arb_cli_dial(l->c.net, up->parents[l->cur].svc, 0,
	    &l->cli)) != 0)
		return rv;
	arb_cli_on_connect(l->cli, link_cli_up, l);
	if ((rv = arb_sub_dial(l->c.net, up->parents[l->cur].pub,
	    link_sub_cb, l, &l->sub)) != 0)
		return rv;
	arb_sub_on_connect(l->sub, link_sub_up, l);
	uv_timer_start(l->conn_timer, link_conn_timeout,
	    (uint64_t)up->timeout_ms, 0);
	link_note(l, "%s: %s %s", l->c.kind, link_word(l),
	    up->parents[l->cur].svc);
	return 0;
}

/*
 * A parent's distance: the least of its last ARB_LINK_RTT_KEEP round
 * trips, -1 when none is known.  Load on either end (a busy loop, a
 * scheduler) only ever adds to a round trip, so the least is the path's
 * own; the smoothed figure follows the spikes.
 */
static int64_t
peer_dist(const struct link_peer *p)
{
	unsigned	i, n;
	int64_t		d;

	if (p->srtt_us < 0 || p->nrtt == 0)
		return -1;
	n = p->nrtt < ARB_LINK_RTT_KEEP ? p->nrtt : ARB_LINK_RTT_KEEP;
	d = p->rtt[0];
	for (i = 1; i < n; i++)
		if (p->rtt[i] < d)
			d = p->rtt[i];
	return d;
}

static void
peer_sample(struct link_peer *p, int64_t us)
{
	p->srtt_us = p->srtt_us < 0 ? us : p->srtt_us + (us - p->srtt_us) / 4;
	p->rtt[p->nrtt++ % ARB_LINK_RTT_KEEP] = us;
	if (p->nrtt == 2 * ARB_LINK_RTT_KEEP)
		p->nrtt = ARB_LINK_RTT_KEEP;	/* same slots, no wrap */
}

/*
 * The nearest parent other than skip that answers its probes, or
 * nparents when none does (nor when the link does not probe).
 */
static size_t
link_nearest(const struct arb_link *l, size_t skip)
{
	uint64_t	now = uv_now(l->c.loop);
	size_t		i, best = l->c.up->nparents;

	if (l->peers == NULL)
		return best;
	for (i = 0; i < l->c.up->nparents; i++) {
		if (i == skip || l->peers[i].health != 1 ||
		    peer_dist(&l->peers[i]) < 0 || l->peers[i].held > now)
			continue;
		if (best == l->c.up->nparents ||
		    peer_dist(&l->peers[i]) < peer_dist(&l->peers[best]))
			best = i;
	}
	return best;
}

/*
 * Move to parent to, and tell the listener and the owner.  The one left
 * is probed on the interval of the others from now on; the one taken has
 * just been heard from, or is about to be (when none answers): its next
 * check is a check interval away.
 */
static void
link_go(struct arb_link *l, size_t to)
{
	uint64_t	now = uv_now(l->c.loop), due;

	if (l->peers != NULL) {
		due = now + (uint64_t)l->c.up->probe_ms;
		if (l->peers[l->cur].due > due)
			l->peers[l->cur].due = due;
		l->peers[to].due = now + (uint64_t)l->check_ms;
	}
	if (link_connect(l, to) != 0)
		return;
	if (l->ls.on_switch)
		l->ls.on_switch(l->ls.arg);	/* ask the new parent at once */
	if (l->c.on_parent)
		l->c.on_parent(l->c.arg);
}

/*
 * Leave the parent in use for the nearest other that answers, or, when
 * none is known to, the next in order; and tell the listener.  One left
 * because it fell silent counts as not answering until a probe says it
 * does again (and is measured again: an answer that waited out the
 * silence says nothing of its distance).  One left because its answers
 * do not hold is not chosen again for ARB_LINK_HOLD_MS, near as it is.
 */
static void
link_next(struct arb_link *l, const char *why, int silent)
{
	size_t	to;

	if (silent && l->peers != NULL)
		l->peers[l->cur].health = 0;
	else if (l->peers != NULL)
		l->peers[l->cur].held = uv_now(l->c.loop) + ARB_LINK_HOLD_MS;
	to = link_nearest(l, l->cur);

	if (to == l->c.up->nparents)
		to = (l->cur + 1) % l->c.up->nparents;
	log_warnx("%s: %s %s: %s; trying %s", l->c.kind, link_word(l),
	    l->c.up->parents[l->cur].svc, why, l->c.up->parents[to].svc);
	link_go(l, to);
}

/* ------------------------------------------------------------- probes */

/*
 * After each probe: leave a parent in use that did not answer for the
 * nearest that does; leave one that answers for another only when that
 * is clearly nearer (hysteresis: 20 % and ARB_LINK_HYST_MS), so that the
 * link does not flap between parents at about the same distance.
 */
static void
link_choose(struct arb_link *l)
{
	const struct link_peer	*cur = &l->peers[l->cur];
	size_t			 best;
	int64_t			 margin, here, there;
	char			 why[96];

	if (l->closing || (best = link_nearest(l, l->cur)) ==
	    l->c.up->nparents)
		return;
	if (cur->health == 0) {
		snprintf(why, sizeof(why), "no answer to a probe in %lld ms",
		    (long long)l->wait_ms);
		link_next(l, why, 1);
		return;
	}
	if (cur->health != 1 || (here = peer_dist(cur)) < 0 ||
	    cur->nrtt < ARB_LINK_RTT_MIN ||
	    l->peers[best].nrtt < ARB_LINK_RTT_MIN)
		return;		/* not measured enough yet: wait for it */
	there = peer_dist(&l->peers[best]);
	margin = here / 5;
	if (margin < ARB_LINK_HYST_MS * 1000)
		margin = ARB_LINK_HYST_MS * 1000;
	if (there + margin >= here)
		return;
	link_note(l, "%s: %s %s is nearer (%.1f ms against %.1f ms for %s)",
	    l->c.kind, link_word(l), l->c.up->parents[best].svc,
	    (double)there / 1000.0, (double)here / 1000.0,
	    l->c.up->parents[l->cur].svc);
	link_go(l, best);
}

static void
link_probe_cb(int rv, const uint8_t *data, size_t len, void *arg)
{
	struct link_peer	*p = arg;
	struct arb_link		*l = p->l;
	Arbor__Envelope		*env = NULL;
	int64_t			 us;
	int			 was, answered = 0;

	p->busy = 0;
	/* An answer, even an Error, shows the parent is there. */
	if (rv == 0) {
		answered = 1;
		if (arb_reply_decode(data, len,
		    ARBOR__ENVELOPE__BODY_HELLO_REPLY, &env) != 0 &&
		    env == NULL)
			answered = 0;	/* bytes that do not decode */
		arb_wire_free(env);
	}
	if (!l->closing) {
		was = p->health;
		us = (int64_t)((uv_hrtime() - p->sent_ns) / 1000);
		if (answered) {
			p->health = 1;
			if (was == 0) {
				/*
				 * The first answer after silence may have
				 * waited out the silence (a stopped process):
				 * measure again at once, from scratch.
				 */
				link_note(l, "%s: %s %s answers again",
				    l->c.kind, link_word(l),
				    l->c.up->parents[p - l->peers].svc);
				p->srtt_us = -1;
				p->nrtt = 0;
				p->due = 0;
			} else if (was == -1)
				/*
				 * The first answer waited for the dial (and a
				 * TLS handshake): not a distance.  Measure at
				 * once on the connection now made.
				 */
				p->due = 0;
			else
				peer_sample(p, us);
		} else {
			p->health = 0;
			if (was != 0)
				log_debug("%s: probe of %s: %s", l->c.kind,
				    l->c.up->parents[p - l->peers].svc,
				    arb_strerror(rv));
		}
		link_choose(l);
	}
	if (--l->ncalls == 0 && l->closing)
		link_destroy(l);
}

/* Send a Hello to p, timed. */
static void
link_probe(struct arb_link *l, struct link_peer *p)
{
	Arbor__Envelope	env = ARBOR__ENVELOPE__INIT;
	Arbor__Hello	h = ARBOR__HELLO__INIT;
	uint8_t		*buf;
	size_t		 len;

	h.node_id = (char *)"";
	h.kind = (char *)l->c.kind;
	env.body_case = ARBOR__ENVELOPE__BODY_HELLO;
	env.hello = &h;
	if (arb_wire_encode(&env, &buf, &len) != 0)
		return;
	p->sent_ns = uv_hrtime();
	if (arb_cli_request(p->cli, buf, len, (int)l->wait_ms, link_probe_cb,
	    p) == 0) {
		p->busy = 1;
		l->ncalls++;
	}
	free(buf);
}

/* Every tick: probe each parent whose time has come. */
static void
link_probe_tick(uv_timer_t *t)
{
	struct arb_link	*l = t->data;
	struct link_peer *p;
	uint64_t	 now = uv_now(l->c.loop);
	int64_t		 iv;
	size_t		 i;

	if (l->closing)
		return;
	for (i = 0; i < l->c.up->nparents; i++) {
		p = &l->peers[i];
		if (p->busy || now < p->due)
			continue;
		iv = i == l->cur ? l->check_ms : l->c.up->probe_ms;
		if (p->nrtt < ARB_LINK_RTT_MIN && iv > ARB_LINK_WARM_MS)
			iv = ARB_LINK_WARM_MS;	/* not measured enough yet */
		p->due = now + (uint64_t)iv;
		link_probe(l, p);
	}
}

/* One probe client per parent, dialled once; all probed at once. */
static int
link_probe_start(struct arb_link *l)
{
	const struct arb_upstream	*up = l->c.up;
	size_t				 i;
	int				 rv;

	if (up->nparents < 2 || up->probe_ms <= 0)
		return 0;
	if ((l->peers = calloc(up->nparents, sizeof(*l->peers))) == NULL ||
	    (l->probe_timer = calloc(1, sizeof(*l->probe_timer))) == NULL)
		return -ENOMEM;
	for (i = 0; i < up->nparents; i++) {
		l->peers[i].l = l;
		l->peers[i].srtt_us = -1;
		l->peers[i].health = -1;
		if ((rv = arb_cli_dial(l->c.net, up->parents[i].svc, 0,
		    &l->peers[i].cli)) != 0)
			return rv;
	}
	uv_timer_init(l->c.loop, l->probe_timer);
	l->probe_timer->data = l;
	/* A tick a tenth of the shortest interval: the check's due time. */
	uv_timer_start(l->probe_timer, link_probe_tick, 0,
	    (uint64_t)(l->check_ms / 10 > 0 ? l->check_ms / 10 : 1));
	return 0;
}

/*
 * A request to the parent failed the way an unreachable parent fails: use
 * the next one.  Requests of an older generation were sent to a parent we
 * have already left and do not count.
 */
static void
link_failed(struct arb_link *l, uint64_t gen, int rv)
{
	if (l->closing || gen != l->gen)
		return;
	if (rv != ARB_ETIMEDOUT && rv != ARB_EUNREACH && rv != ARB_ENET)
		return;
	if (l->c.up->nparents > 1)
		link_next(l, arb_strerror(rv), 1);
	else
		log_warnx("%s: %s %s: not answering (%s); asking again "
		    "at the next request", l->c.kind, link_word(l),
		    l->c.up->parents[l->cur].svc, arb_strerror(rv));
}

/* ------------------------------------------------------------ requests */

static void
link_call_cb(int rv, const uint8_t *data, size_t len, void *arg)
{
	struct link_call	*lc = arg;
	struct arb_link		*l = lc->l;
	Arbor__Envelope		*env = NULL;
	const uint8_t		*raw = NULL;
	size_t			 rawlen = 0;

	if (rv == 0 && (rv = lc->fcb != NULL ?
	    arb_reply_decode_framed(data, len, &env, &raw, &rawlen) :
	    arb_reply_decode(data, len, lc->want, &env)) != 0) {
		if (env != NULL)
			log_debug("%s: parent says: %s", l->c.kind,
			    env->error->message);
		else if (rv != ARB_ETOOLONG)
			log_warnx("%s: malformed or unexpected reply from "
			    "%s: %s", l->c.kind, l->c.up->parents[l->cur].svc,
			    arb_strerror(rv));
	}
	if (rv != 0)
		link_failed(l, lc->gen, rv);
	if (lc->fcb != NULL)
		lc->fcb(rv, env, rv == 0 ? raw : NULL, rv == 0 ? rawlen : 0,
		    lc->arg);
	else
		lc->cb(rv, env, lc->arg);
	if (env)
		arb_wire_free(env);
	free(lc);
	if (--l->ncalls == 0 && l->closing)
		link_destroy(l);
}

static int
link_request(struct arb_link *l, const Arbor__Envelope *env,
    Arbor__Envelope__BodyCase want, arb_link_cb cb, arb_link_framed_cb fcb,
    void *arg)
{
	struct link_call	*lc;
	uint8_t			*buf;
	size_t			 len;
	int			 rv;

	if (l->closing || l->cli == NULL)
		return ARB_ECLOSED;
	if ((rv = arb_wire_encode(env, &buf, &len)) != 0)
		return rv;
	if ((lc = malloc(sizeof(*lc))) == NULL) {
		free(buf);
		return -ENOMEM;
	}
	lc->l = l;
	lc->gen = l->gen;
	lc->want = want;
	lc->cb = cb;
	lc->fcb = fcb;
	lc->arg = arg;
	rv = arb_cli_request(l->cli, buf, len, (int)l->c.up->timeout_ms,
	    link_call_cb, lc);
	free(buf);
	if (rv != 0) {
		free(lc);
		return rv;
	}
	l->ncalls++;
	l->asked = 1;
	return 0;
}

int
arb_link_request(struct arb_link *l, const Arbor__Envelope *env,
    Arbor__Envelope__BodyCase want, arb_link_cb cb, void *arg)
{
	return link_request(l, env, want, cb, NULL, arg);
}

int
arb_link_request_framed(struct arb_link *l, const Arbor__Envelope *env,
    arb_link_framed_cb cb, void *arg)
{
	return link_request(l, env, ARBOR__ENVELOPE__BODY_CHUNK, NULL, cb,
	    arg);
}

/* ---------------------------------------------------------------- life */

int
arb_link_new(const struct arb_link_conf *c, struct arb_link **lp)
{
	struct arb_link *l;

	if (c->up == NULL || c->up->timeout_ms <= 0)
		return ARB_EINVAL;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return -ENOMEM;
	if ((l->conn_timer = calloc(1, sizeof(*l->conn_timer))) == NULL) {
		free(l);
		return -ENOMEM;
	}
	l->c = *c;
	if (l->c.kind == NULL)
		l->c.kind = "node";
	/*
	 * A probe may take W = min(timeout, 2/3 failover); the parent in use
	 * is probed every 0.9 (F - W), on a tick of a tenth of that, so that
	 * one that falls silent is left within F: 0.99 (F - W) + W.
	 */
	{
		int64_t f = c->up->failover_ms > 0 ? c->up->failover_ms :
		    ARB_LINK_FAILOVER_MS;

		l->wait_ms = c->up->timeout_ms < f * 2 / 3 ?
		    c->up->timeout_ms : f * 2 / 3;
		if (l->wait_ms < 50)
			l->wait_ms = 50;
		l->check_ms = (f - l->wait_ms) * 9 / 10;
		if (l->check_ms < 100)
			l->check_ms = 100;
	}
	uv_timer_init(c->loop, l->conn_timer);
	l->conn_timer->data = l;
	*lp = l;
	return 0;
}

int
arb_link_start(struct arb_link *l)
{
	/* No parent (an air-gapped site): every request fails, closed. */
	int	rv;

	if (l->c.up->nparents == 0)
		return 0;
	if ((rv = link_connect(l, 0)) != 0)
		return rv;
	return link_probe_start(l);
}

void
arb_link_listen(struct arb_link *l, const struct arb_link_listener *ls)
{
	if (ls != NULL)
		l->ls = *ls;
	else
		memset(&l->ls, 0, sizeof(l->ls));
}

void
arb_link_skip(struct arb_link *l, const char *why)
{
	if (l->closing || l->c.up->nparents < 2)
		return;
	link_next(l, why, 0);
}

int
arb_link_rtt(const struct arb_link *l, size_t i, int64_t *usp)
{
	if (l->peers == NULL || i >= l->c.up->nparents ||
	    l->peers[i].health != 1 || l->peers[i].srtt_us < 0)
		return ARB_ENOTFOUND;
	*usp = l->peers[i].srtt_us;
	return 0;
}

const char *
arb_link_parent(const struct arb_link *l)
{
	if (l->c.up->nparents == 0)
		return "(no parent)";
	return l->c.up->parents[l->cur].svc;
}

static void
link_destroy(struct arb_link *l)
{
	free(l->peers);
	free(l);
}

void
arb_link_free(struct arb_link *l)
{
	size_t	i;

	if (l == NULL)
		return;
	l->closing = 1;
	memset(&l->ls, 0, sizeof(l->ls));
	uv_close((uv_handle_t *)l->conn_timer, timer_free_cb);
	l->conn_timer = NULL;
	if (l->probe_timer != NULL) {
		if (l->probe_timer->loop != NULL)
			uv_close((uv_handle_t *)l->probe_timer, timer_free_cb);
		else
			free(l->probe_timer);
		l->probe_timer = NULL;
	}
	/* Requests in flight complete with ARB_ECLOSED through the loop. */
	link_disconnect(l);
	if (l->peers != NULL)
		for (i = 0; i < l->c.up->nparents; i++)
			arb_cli_close(l->peers[i].cli);
	if (l->ncalls == 0)
		link_destroy(l);
}

/* ------------------------------------------------------------- parents */

static int
url_ok(const char *u)
{
	static const char *const schemes[] = {
		"tcp://", "tls+tcp://", "ws://", "wss://", "ipc://", "inproc://",
	};
	size_t	i;

	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strncmp(u, schemes[i], strlen(schemes[i])) == 0)
			return 1;
	return 0;
}

int
arb_parent_parse(const char *value, struct arb_parent *p, char *err,
    size_t errlen)
{
	char	*copy, *a, *b, *name, *save = NULL;

	if ((copy = strdup(value)) == NULL)
		return -ENOMEM;
	a = strtok_r(copy, " \t,", &save);
	b = a ? strtok_r(NULL, " \t,", &save) : NULL;
	name = b ? strtok_r(NULL, " \t,", &save) : NULL;
	if (a == NULL || b == NULL || (name != NULL &&
	    (strstr(name, "://") != NULL ||
	    strtok_r(NULL, " \t,", &save) != NULL))) {
		snprintf(err, errlen, "expected two addresses and a name: "
		    "SVC_URL PUB_URL [TLS_NAME]");
		goto fail;
	}
	if (!url_ok(a) || !url_ok(b)) {
		snprintf(err, errlen, "%s: not a tls+tcp://, wss://, tcp://, "
		    "ws:// or ipc:// address", url_ok(a) ? b : a);
		goto fail;
	}
	/* The name the parent's certificate carries, for both links. */
	if (name != NULL && (arb_tls_expect(a, name) != 0 ||
	    arb_tls_expect(b, name) != 0)) {
		free(copy);
		return -ENOMEM;
	}
	p->svc = strdup(a);
	p->pub = strdup(b);
	free(copy);
	if (p->svc == NULL || p->pub == NULL) {
		arb_parent_clear(p);
		return -ENOMEM;
	}
	return 0;
fail:
	free(copy);
	return ARB_ECONFIG;
}

void
arb_parent_clear(struct arb_parent *p)
{
	free(p->svc);
	free(p->pub);
	p->svc = p->pub = NULL;
}

int
arb_parent_add(struct arb_parent **vp, size_t *np, const char *value,
    char *err, size_t errlen)
{
	struct arb_parent	 p, *nv;
	int			 rv;

	if ((rv = arb_parent_parse(value, &p, err, errlen)) != 0)
		return rv;
	if ((nv = realloc(*vp, (*np + 1) * sizeof(*nv))) == NULL) {
		arb_parent_clear(&p);
		snprintf(err, errlen, "out of memory");
		return ARB_ECONFIG;
	}
	nv[(*np)++] = p;
	*vp = nv;
	return 0;
}

/* ------------------------------------------------------ configuration */

#define UP(v)	((struct arb_upstream *)(v))

int
arb_upstream_check(const struct arb_upstream *u, const char *key)
{
	size_t	i;
	int	rv = 0;

	for (i = 0; i < u->nparents; i++)
		if (arb_tls_conf_url(key, u->parents[i].svc) != 0 ||
		    arb_tls_conf_url(key, u->parents[i].pub) != 0)
			rv = ARB_ECONFIG;
	return rv;
}

int
arb_upstream_k_parent(void *c, const char *v, char *e, size_t n)
{
	return arb_parent_add(&UP(c)->parents, &UP(c)->nparents, v, e, n);
}

int
arb_upstream_k_poll(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_duration_ms(v, 100, 86400000, &UP(c)->poll_ms, e, n);
}

int
arb_upstream_k_jitter(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_duration_ms(v, 0, 86400000, &UP(c)->jitter_ms, e, n);
}

int
arb_upstream_k_notify_jitter(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_duration_ms(v, 0, 86400000, &UP(c)->notify_jitter_ms,
	    e, n);
}

int
arb_upstream_k_timeout(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_duration_ms(v, 100, 600000, &UP(c)->timeout_ms, e,
	    n);
}

int
arb_upstream_k_depth(void *c, const char *v, char *e, size_t n)
{
	int64_t	d;
	int	rv;

	if ((rv = arb_conf_int(v, 1, 64, &d, e, n)) == 0)
		UP(c)->fetch_depth = (int)d;
	return rv;
}

int
arb_upstream_k_probe(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_duration_ms(v, 0, 86400000, &UP(c)->probe_ms, e, n);
}

int
arb_upstream_k_failover(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_duration_ms(v, 200, 3600000, &UP(c)->failover_ms, e,
	    n);
}

int
arb_upstream_k_rate(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_size(v, 0, 1ULL << 40, &UP(c)->fetch_rate, e, n);
}

void
arb_upstream_clear(struct arb_upstream *c)
{
	size_t i;

	for (i = 0; i < c->nparents; i++)
		arb_parent_clear(&c->parents[i]);
	free(c->parents);
	c->parents = NULL;
	c->nparents = 0;
}
