/*
 * Enrolments, forwarded upward.
 *
 * Only the root can enrol an endpoint, and it may be two loaded tiers
 * away.  When thousands enrol at once (a site installed in one go, agents
 * started together after a restore), an enrolment that waits longer than
 * the agent's timeout is sent again, and a relay that forwarded each one
 * would multiply the root's work until nothing gets through.  So a relay
 *
 *  - checks the enrolment's signature itself: the id derives from the key
 *    and the key signed the request, or the child is told so at once (a
 *    forgery costs the root nothing and cannot take an honest endpoint's
 *    place below);
 *  - sends one enrolment per endpoint: one that comes while the same
 *    endpoint's waits or is in flight takes its place (the newer request
 *    is sent if the older has not gone yet; the older, which its agent
 *    has given up, is told so at once), and gets the one answer;
 *  - keeps at most ENROL_UP in flight to its parent and queues the rest,
 *    oldest first; past ENROL_QUEUE waiting, a child is told to come back
 *    later (its agent backs off).  One that times out upward goes again
 *    (ENROL_TRIES in all) before its children are told it failed;
 *  - keeps the root's answer for ENROL_KEEP_MS, and answers from it an
 *    agent that asks again (its own request had timed out before the
 *    answer came): the root would say the same, as the key is enrolled
 *    already.  Not an enrolment that asks for a certificate, which only
 *    the root can issue, nor one whose endpoint a receipt since says the
 *    root revoked.  (A revocation in those minutes that no receipt has
 *    brought yet is not known here: such an endpoint is told it is
 *    enrolled, and the root refuses its first report and says so.)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arbor/catalog.h"
#include "arbor/error.h"
#include "arbor/link.h"
#include "arbor/log.h"
#include "arbor/report.h"
#include "arbor/sig.h"
#include "arbor/wire.h"
#include "core_int.h"

/* In flight to the parent: well within what a parent takes in flight on
 * one connection (core.c), beside the batches and polls that share it. */
#define ENROL_UP	32
#define ENROL_QUEUE	16384	/* waiting for a place */
#define ENROL_TRIES	3	/* sent upward at most, when it times out */
#define ENROL_KEEP_MS	(5 * 60 * 1000)	/* answers kept */
#define ENROL_KEEP_MAX	65536	/* answers kept at most */

enum enrol_state { ENROL_QUEUED, ENROL_SENT, ENROL_KEPT };

struct enrol {			/* one endpoint's enrolment */
	struct relay_enrol	*st;		/* NULL once the relay stops */
	struct enrol		*next;		/* queued or kept: the one after */
	enum enrol_state	 state;
	/*
	 * The child's request the answer goes to (NULL once kept).  An agent
	 * has one enrolment in flight: when it asks again, its older request
	 * is given up, and holding it would keep one of the relay's contexts
	 * from every other child.
	 */
	struct arb_req		*req;
	char			 addr[ARB_NET_ADDR_LEN];	/* its child's */
	uint8_t			*msg;		/* the Enroll to send, packed */
	size_t			 len;
	int			 csr;		/* it asks for a certificate */
	unsigned		 tries;
	uint8_t			*answer;	/* kept: the reply, encoded */
	size_t			 alen;
	uint64_t		 at_ms;		/* kept: when (loop clock) */
	char			 id[ARB_EPID_HEX];
};

struct fifo {
	struct enrol	*head, *tail;
	size_t		 n;
};

struct relay_enrol {
	struct relay_core	*c;
	struct arb_strmap	*by_id;		/* endpoint id -> struct enrol */
	struct fifo		 queue;		/* waiting, oldest first */
	struct fifo		 kept;		/* answered, oldest first */
	size_t			 inflight;
	uint64_t		 joined, answered, busy;	/* counted */
};

static void	enrol_pump(struct relay_enrol *);

/* The endpoint proves it holds the key its id derives from. */
static int
enrol_check(const Arbor__Enroll *e, char id[ARB_EPID_HEX], int *csrp)
{
	Arbor__EnrollBody	*b;
	struct arb_key		*k = NULL;
	int			 rv;

	if (e->enroll == NULL)
		return ARB_EPROTO;
	if ((rv = arb_wire_decode_enroll(e->enroll->body.data,
	    e->enroll->body.len, &b)) != 0)
		return rv;
	*csrp = b->csr != NULL && b->csr[0] != '\0';
	if ((rv = arb_endpoint_id_raw(b->pubkey.data, id)) == 0 &&
	    strcmp(id, b->endpoint_id) != 0)
		rv = ARB_EUNKNOWNKEY;
	if (rv == 0 && (rv = arb_key_from_raw_public(b->pubkey.data,
	    &k)) == 0)
		rv = arb_signed_verify(k, e->enroll);
	if (k != NULL)
		arb_key_free(k);
	arb_wire_free_enroll(b);
	return rv;
}

/* The child's Enroll with this relay added to its path, packed. */
static int
enrol_pack(struct relay_core *c, const Arbor__Enroll *e, uint8_t **bufp,
    size_t *lenp)
{
	Arbor__Enroll	 fwd = ARBOR__ENROLL__INIT;
	char		*via[16];
	size_t		 i, n = 0;

	for (i = 0; i < e->n_via && n < 15; i++)
		via[n++] = e->via[i];
	via[n++] = (char *)c->c.node_id;
	fwd.enroll = e->enroll;
	fwd.via = via;
	fwd.n_via = n;
	*lenp = arbor__enroll__get_packed_size(&fwd);
	if ((*bufp = malloc(*lenp ? *lenp : 1)) == NULL)
		return -ENOMEM;
	arbor__enroll__pack(&fwd, *bufp);
	return 0;
}

static void
enrol_free(struct enrol *en)
{
	free(en->msg);
	free(en->answer);
	free(en);
}

static void
fifo_push(struct fifo *f, struct enrol *en)
{
	en->next = NULL;
	if (f->tail != NULL)
		f->tail->next = en;
	else
		f->head = en;
	f->tail = en;
	f->n++;
}

static struct enrol *
fifo_pop(struct fifo *f)
{
	struct enrol *en;

	if ((en = f->head) != NULL) {
		if ((f->head = en->next) == NULL)
			f->tail = NULL;
		en->next = NULL;
		f->n--;
	}
	return en;
}

/* Take en out of f, wherever it is in it. */
static void
fifo_remove(struct fifo *f, struct enrol *en)
{
	struct enrol **pp, *prev = NULL;

	for (pp = &f->head; *pp != NULL; prev = *pp, pp = &(*pp)->next)
		if (*pp == en) {
			*pp = en->next;
			if (f->tail == en)
				f->tail = prev;
			en->next = NULL;
			f->n--;
			return;
		}
}

/* Take en out of the map and free it (it is in no list). */
static void
enrol_done(struct relay_enrol *st, struct enrol *en)
{
	if (st != NULL && arb_strmap_get(st->by_id, en->id) == en)
		(void)arb_strmap_del(st->by_id, en->id);
	enrol_free(en);
}

/* Forget answers kept too long, or past ENROL_KEEP_MAX; they are old first. */
static void
enrol_expire(struct relay_enrol *st, uint64_t now)
{
	struct enrol *en;

	while ((en = st->kept.head) != NULL && (st->kept.n > ENROL_KEEP_MAX ||
	    now - en->at_ms >= ENROL_KEEP_MS))
		enrol_done(st, fifo_pop(&st->kept));
}

/* The root took it: kept for a child that asks again, unless it asked
 * for a certificate. */
static void
enrol_keep(struct relay_enrol *st, struct enrol *en, Arbor__Envelope *reply)
{
	uint64_t now = uv_now(st->c->c.loop);

	free(en->msg);
	en->msg = NULL;
	if (en->csr || arb_wire_encode(reply, &en->answer, &en->alen) != 0) {
		enrol_done(st, en);
		return;
	}
	en->state = ENROL_KEPT;
	en->req = NULL;
	en->at_ms = now;
	fifo_push(&st->kept, en);
	enrol_expire(st, now);
}

static void
enrol_cb(int rv, Arbor__Envelope *reply, void *arg)
{
	struct enrol		*en = arg;
	struct relay_enrol	*st = en->st;
	struct relay_core	*c;

	if (st == NULL) {		/* the relay stopped meanwhile */
		enrol_free(en);
		return;
	}
	c = st->c;
	st->inflight--;
	if (rv == 0) {
		/* The endpoint's key, in the root's word: its reports
		 * verify here from now on. */
		if ((rv = relay_agg_receipts_keep(c,
		    &reply->enroll_reply->receipt,
		    reply->enroll_reply->receipt ? 1 : 0)) != 0)
			log_warnx("relay: enrolment of %s: the reply's receipt: "
			    "%s", en->id, arb_strerror(rv));
		relay_unm_managed(c, en->addr);
		relay_send(c, en->req, reply);
		enrol_keep(st, en, reply);
	} else if (reply != NULL &&
	    reply->body_case == ARBOR__ENVELOPE__BODY_ERROR) {
		/* The root's refusal says why (a token used up): pass it on. */
		relay_unm_note(c, en->addr, "enrol-refused", en->id, 0);
		relay_send(c, en->req, reply);
		enrol_done(st, en);
	} else if (rv == ARB_ETIMEDOUT && ++en->tries < ENROL_TRIES) {
		/* Lost or late upward: again, first in line. */
		en->state = ENROL_QUEUED;
		en->next = st->queue.head;
		st->queue.head = en;
		if (st->queue.tail == NULL)
			st->queue.tail = en;
		st->queue.n++;
	} else {
		relay_error(c, en->req, rv == ARB_ECLOSED ? ARB_EAGAIN : rv,
		    "enrol: parent");
		enrol_done(st, en);
	}
	enrol_pump(st);
}

/* Send what is queued while there is room in flight. */
static void
enrol_pump(struct relay_enrol *st)
{
	Arbor__Envelope	 env = ARBOR__ENVELOPE__INIT;
	struct enrol	*en;
	int		 rv;

	while (st->inflight < ENROL_UP &&
	    (en = fifo_pop(&st->queue)) != NULL) {
		env.body_case = ARBOR__ENVELOPE__BODY_ENROLL;
		if ((env.enroll = arbor__enroll__unpack(NULL, en->len,
		    en->msg)) == NULL)
			rv = -ENOMEM;
		else {
			rv = arb_link_request(st->c->c.link, &env,
			    ARBOR__ENVELOPE__BODY_ENROLL_REPLY, enrol_cb, en);
			arbor__enroll__free_unpacked(env.enroll, NULL);
		}
		if (rv == 0) {
			en->state = ENROL_SENT;
			st->inflight++;
			continue;
		}
		relay_error(st->c, en->req, rv, "enrol: parent");
		enrol_done(st, en);
	}
}

/* req is the one en's answer goes to: an older one is told it is given up. */
static void
enrol_join(struct relay_enrol *st, struct enrol *en, struct arb_req *req)
{
	if (en->req != NULL)
		relay_error(st->c, en->req, ARB_EAGAIN, "enrol: asked again");
	en->req = req;
	if (arb_req_addr(req, en->addr, sizeof(en->addr)) != 0)
		en->addr[0] = '\0';
}

void
relay_enrol_request(struct relay_core *c, struct arb_req *req,
    Arbor__Enroll *e)
{
	struct relay_enrol	*st = c->enrol;
	struct enrol		*en;
	char			 id[ARB_EPID_HEX];
	uint8_t			*msg;
	size_t			 len;
	int			 rv, csr = 0;

	if ((rv = enrol_check(e, id, &csr)) != 0) {
		relay_unm_note_req(c, req, "enrol-refused", NULL, 0);
		log_warnx("relay: enrolment refused: %s", arb_strerror(rv));
		relay_error(c, req, rv, "enrol");
		return;
	}
	enrol_expire(st, uv_now(c->c.loop));
	if ((en = arb_strmap_get(st->by_id, id)) != NULL &&
	    en->state == ENROL_KEPT) {
		/* Asked again: the root's answer, unless a receipt since
		 * says the root revoked it (or forgot it). */
		if (!csr && relay_agg_endpoint(c, id) == RELAY_EP_MANAGED) {
			st->answered++;
			relay_unm_managed_req(c, req);
			if ((rv = arb_req_reply(req, en->answer,
			    en->alen)) != 0) {
				log_warnx("relay: enrolment of %s: reply: %s",
				    id, arb_strerror(rv));
				arb_req_drop(req);
			}
			return;
		}
		/* A certificate only the root can issue, or a receipt
		 * that changes the answer: ask it. */
		fifo_remove(&st->kept, en);
		enrol_done(st, en);
		en = NULL;
	}
	if ((rv = enrol_pack(c, e, &msg, &len)) != 0) {
		relay_error(c, req, rv, "enrol");
		return;
	}
	if (en != NULL) {
		st->joined++;
		if (en->state == ENROL_QUEUED) {	/* the newer goes */
			free(en->msg);
			en->msg = msg;
			en->len = len;
			en->csr = csr;
		} else
			free(msg);
		enrol_join(st, en, req);
		return;
	}
	if (st->queue.n >= ENROL_QUEUE) {
		free(msg);
		st->busy++;
		relay_error(c, req, ARB_EAGAIN, "enrol: too many waiting");
		return;
	}
	if ((en = calloc(1, sizeof(*en))) == NULL ||
	    arb_strmap_put(st->by_id, id, en, NULL) != 0) {
		free(en);
		free(msg);
		relay_error(c, req, -ENOMEM, "enrol");
		return;
	}
	en->st = st;
	en->state = ENROL_QUEUED;
	en->msg = msg;
	en->len = len;
	en->csr = csr;
	memcpy(en->id, id, sizeof(en->id));
	enrol_join(st, en, req);
	fifo_push(&st->queue, en);
	enrol_pump(st);
}

void
relay_enrol_counts(const struct relay_core *c, struct relay_enrol_counts *n)
{
	const struct relay_enrol *st = c->enrol;

	memset(n, 0, sizeof(*n));
	if (st == NULL)
		return;
	n->waiting = st->queue.n;
	n->inflight = st->inflight;
	n->joined = st->joined;
	n->answered = st->answered;
	n->busy = st->busy;
}

int
relay_enrol_new(struct relay_core *c)
{
	struct relay_enrol	*st;
	int			 rv;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return -ENOMEM;
	if ((rv = arb_strmap_new(&st->by_id)) != 0) {
		free(st);
		return rv;
	}
	st->c = c;
	c->enrol = st;
	return 0;
}

/* In flight: cut loose (their callbacks free them); queued: dropped. */
static void
enrol_cut(const char *id, void *val, void *arg)
{
	struct enrol	*en = val;

	(void)id;
	(void)arg;
	en->st = NULL;
	if (en->state == ENROL_SENT)
		return;
	if (en->req != NULL)
		arb_req_drop(en->req);
	enrol_free(en);
}

void
relay_enrol_free(struct relay_core *c)
{
	struct relay_enrol *st = c->enrol;

	if (st == NULL)
		return;
	arb_strmap_each(st->by_id, enrol_cut, NULL);
	arb_strmap_free(st->by_id, NULL);
	free(st);
	c->enrol = NULL;
}
