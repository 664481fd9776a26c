/*
 * Bandwidth to children: a relay's total rate (serve_rate) and a rate per
 * child (child_rate), in bytes a second of chunk data, shared fairly among
 * the children downloading at the time, urgent blobs first.
 *
 * With a rate set, a chunk request is queued under the connection it came
 * on, in one of two classes: chunks of a blob an urgent (pushed) policy
 * names, and the rest.  Each time the rates allow a chunk to go, the
 * urgent class is looked at first, then the rest; within a class the
 * connections take turns (the one served goes to the back), so a child
 * with many requests in flight gets no more than one with a few.  A rate
 * is a pacing clock: sending len bytes moves it on by len / rate, and
 * nothing goes before the clock says.  A connection's state is kept while
 * it has requests queued or its clock is ahead, so a child that asks for
 * one chunk at a time is held to its rate too.
 *
 * What is queued is bounded by the server's contexts (every queued
 * request holds one) and by the per-connection limit in front of them.
 * Only chunks are shaped: heads, policies and reports are small, and an
 * operator's push must not wait behind a download.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "arbor/error.h"
#include "arbor/log.h"
#include "arbor/sig.h"
#include "core_int.h"

#define SHAPE_SLACK_US	1000	/* a clock this close to now is now */

enum {
	SHAPE_URGENT,
	SHAPE_REST,
	SHAPE_NCLASS
};

struct shape_req {
	TAILQ_ENTRY(shape_req)	 entry;
	struct arb_req		*req;
	uint8_t			 sha[ARB_SHA256_LEN];
	uint64_t		 off;
	uint32_t		 len;
	int			 framed;	/* GetChunk.framed */
	uint32_t		 cost;	/* len, at most a chunk */
};
TAILQ_HEAD(shape_reqs, shape_req);

struct shape_conn {
	TAILQ_ENTRY(shape_conn)	 entry;	/* turn order */
	char			 key[12];	/* the connection id, for byid */
	struct shape_reqs	 q[SHAPE_NCLASS];
	uint64_t		 clock_us;	/* child_rate: next send */
};

struct relay_shape {
	struct relay_core	*c;
	uv_timer_t		*timer;
	TAILQ_HEAD(, shape_conn) conns;
	struct arb_strmap	*byid;
	uint64_t		 clock_us;	/* serve_rate: next send */
	size_t			 queued;
	size_t			 nq[SHAPE_NCLASS];
	uint8_t			 ahead[ARB_SHA256_LEN];	/* last logged */
};

static uint64_t
shape_now_us(void)
{
	return uv_hrtime() / 1000;
}

/* Move a pacing clock on by len bytes at rate; 0: no rate. */
static void
shape_tick(uint64_t *clock, uint64_t now, uint64_t rate, uint32_t len)
{
	if (rate == 0)
		return;
	if (*clock < now)
		*clock = now;
	*clock += (uint64_t)len * 1000000 / rate;
}

static void
shape_conn_free(struct relay_shape *s, struct shape_conn *sc)
{
	TAILQ_REMOVE(&s->conns, sc, entry);
	(void)arb_strmap_del(s->byid, sc->key);
	free(sc);
}

static int
shape_conn_idle(const struct shape_conn *sc, uint64_t now)
{
	return TAILQ_EMPTY(&sc->q[SHAPE_URGENT]) &&
	    TAILQ_EMPTY(&sc->q[SHAPE_REST]) &&
	    sc->clock_us <= now + SHAPE_SLACK_US;
}

static void	shape_run(struct relay_shape *);

static void
shape_timer_cb(uv_timer_t *t)
{
	shape_run(t->data);
}

static void
shape_arm(struct relay_shape *s, uint64_t wait_us)
{
	(void)uv_timer_start(s->timer, shape_timer_cb,
	    (wait_us + 999) / 1000, 0);
}

/*
 * The connection whose turn it is: the first in turn order with a request
 * of the class and its own clock due.  Idle connections met on the way
 * are forgotten.  *waitp: the soonest a blocked one is due, if any.
 */
static struct shape_conn *
shape_pick(struct relay_shape *s, int cls, uint64_t now, uint64_t *waitp)
{
	struct shape_conn	*sc, *next;

	for (sc = TAILQ_FIRST(&s->conns); sc != NULL; sc = next) {
		next = TAILQ_NEXT(sc, entry);
		if (shape_conn_idle(sc, now)) {
			shape_conn_free(s, sc);
			continue;
		}
		if (TAILQ_EMPTY(&sc->q[cls]))
			continue;
		if (sc->clock_us <= now + SHAPE_SLACK_US)
			return sc;
		if (*waitp == 0 || sc->clock_us - now < *waitp)
			*waitp = sc->clock_us - now;
	}
	return NULL;
}

/* An urgent chunk goes before others that wait: say so once per blob. */
static void
shape_ahead(struct relay_shape *s, const uint8_t *sha)
{
	char	hex[ARB_SHA256_HEX];

	if (s->nq[SHAPE_REST] == 0)
		return;
	s->c->st.shaped_urgent++;
	if (memcmp(s->ahead, sha, ARB_SHA256_LEN) == 0)
		return;
	memcpy(s->ahead, sha, ARB_SHA256_LEN);
	arb_hex(sha, ARB_SHA256_LEN, hex);
	log_info("%s: blob %.12s (urgent) sent ahead of %zu queued chunks",
	    s->c->c.name, hex, s->nq[SHAPE_REST]);
}

/* Send what the clocks allow now; arm the timer for the rest. */
static void
shape_run(struct relay_shape *s)
{
	struct relay_core	*c = s->c;
	struct shape_conn	*sc;
	struct shape_req	*r;
	uint64_t		 now, wait;
	int			 cls;

	while (s->queued > 0) {
		now = shape_now_us();
		if (s->clock_us > now + SHAPE_SLACK_US) {
			shape_arm(s, s->clock_us - now);
			return;
		}
		wait = 0;
		sc = NULL;
		for (cls = 0; cls < SHAPE_NCLASS && sc == NULL; cls++)
			sc = shape_pick(s, cls, now, &wait);
		if (sc == NULL) {
			shape_arm(s, wait > 0 ? wait : SHAPE_SLACK_US);
			return;
		}
		cls--;
		r = TAILQ_FIRST(&sc->q[cls]);
		TAILQ_REMOVE(&sc->q[cls], r, entry);
		s->queued--;
		s->nq[cls]--;
		if (cls == SHAPE_URGENT)
			shape_ahead(s, r->sha);
		/* Its turn is over: to the back. */
		TAILQ_REMOVE(&s->conns, sc, entry);
		TAILQ_INSERT_TAIL(&s->conns, sc, entry);
		shape_tick(&s->clock_us, now, c->c.serve_rate, r->cost);
		shape_tick(&sc->clock_us, now, c->c.child_rate, r->cost);
		relay_serve_chunk(c, r->req, r->sha, r->off, r->len,
		    r->framed);
		free(r);
	}
}

int
relay_shape_init(struct relay_core *c)
{
	struct relay_shape	*s;

	if (c->c.serve_rate == 0 && c->c.child_rate == 0)
		return 0;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -ENOMEM;
	if ((s->timer = malloc(sizeof(*s->timer))) == NULL ||
	    arb_strmap_new(&s->byid) != 0) {
		free(s->timer);
		free(s);
		return -ENOMEM;
	}
	uv_timer_init(c->c.loop, s->timer);
	s->timer->data = s;
	s->c = c;
	TAILQ_INIT(&s->conns);
	c->shape = s;
	return 0;
}

static void
shape_timer_free(uv_handle_t *h)
{
	free(h);
}

/* Requests still queued are dropped (their children will ask again). */
void
relay_shape_fini(struct relay_core *c)
{
	struct relay_shape	*s = c->shape;
	struct shape_conn	*sc;
	struct shape_req	*r;
	int			 cls;

	if (s == NULL)
		return;
	while ((sc = TAILQ_FIRST(&s->conns)) != NULL) {
		for (cls = 0; cls < SHAPE_NCLASS; cls++)
			while ((r = TAILQ_FIRST(&sc->q[cls])) != NULL) {
				TAILQ_REMOVE(&sc->q[cls], r, entry);
				arb_req_drop(r->req);
				free(r);
			}
		shape_conn_free(s, sc);
	}
	uv_close((uv_handle_t *)s->timer, shape_timer_free);
	arb_strmap_free(s->byid, NULL);
	free(s);
	c->shape = NULL;
}

void
relay_shape_chunk(struct relay_core *c, struct arb_req *req,
    const uint8_t *sha, uint64_t off, uint32_t len, int framed)
{
	struct relay_shape	*s = c->shape;
	const struct named_blob	*nb;
	struct shape_conn	*sc;
	struct shape_req	*r;
	char			 key[12];
	int			 cls;

	if (s == NULL) {
		relay_serve_chunk(c, req, sha, off, len, framed);
		return;
	}
	snprintf(key, sizeof(key), "%u", arb_req_conn(req));
	if ((sc = arb_strmap_get(s->byid, key)) == NULL) {
		if ((sc = calloc(1, sizeof(*sc))) == NULL) {
			relay_error(c, req, -ENOMEM, "chunk");
			return;
		}
		memcpy(sc->key, key, sizeof(key));
		TAILQ_INIT(&sc->q[SHAPE_URGENT]);
		TAILQ_INIT(&sc->q[SHAPE_REST]);
		if (arb_strmap_put(s->byid, sc->key, sc, NULL) != 0) {
			free(sc);
			relay_error(c, req, -ENOMEM, "chunk");
			return;
		}
		TAILQ_INSERT_TAIL(&s->conns, sc, entry);
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		relay_error(c, req, -ENOMEM, "chunk");
		return;
	}
	r->req = req;
	memcpy(r->sha, sha, ARB_SHA256_LEN);
	r->off = off;
	r->len = len;
	r->framed = framed;
	/* A length no chunk has is refused when served; it costs no more. */
	r->cost = len < ARB_CHUNK_SIZE ? len : ARB_CHUNK_SIZE;
	nb = relay_cache_named(c, sha);
	cls = nb != NULL && nb->urgent ? SHAPE_URGENT : SHAPE_REST;
	TAILQ_INSERT_TAIL(&sc->q[cls], r, entry);
	s->nq[cls]++;
	s->queued++;
	c->st.shaped++;
	shape_run(s);
}
