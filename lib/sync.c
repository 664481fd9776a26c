/*
 * Catalog sync: a node's copy of the catalog, kept in step with its parent.
 *
 * A poll asks the parent for its head, verifies it (signature, pinned key,
 * rollback, freeze), fetches every policy the head names that the store
 * does not hold, verifies each against the head (mix-and-match, signature),
 * and only when all of them passed commits head and policies in one
 * transaction.  Nothing that failed a check is ever written.  Polls come
 * on an interval with random jitter, at once on an urgent notification or
 * a change of parent, and within notify_jitter on any other notification.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arbor/catalog.h"
#include "arbor/error.h"
#include "arbor/keychain.h"
#include "arbor/log.h"
#include "arbor/sync.h"

/* Routine lines: info, or debug for a swarm of simulated endpoints. */
#define sync_note(s, ...) do {						\
	if ((s)->c.quiet)						\
		log_debug(__VA_ARGS__);					\
	else								\
		log_info(__VA_ARGS__);					\
} while (0)

/* After a (re)connection, poll within a random delay up to this. */
#define SYNC_RECONNECT_MS	1000

struct sync_poll {		/* one poll: head, then missing policies */
	struct arb_sync		*s;
	Arbor__Signed		*head_signed;	/* owned */
	uint8_t			*head_bytes;	/* encoded Signed */
	size_t			 head_len;
	Arbor__Head		*head;
	Arbor__Signed		**pols;		/* fetched, verified */
	size_t			 npending;
	int			 rv;
	int			 keys_asked;	/* GetKeys sent this poll */
};

struct arb_sync {
	struct arb_sync_conf	 c;
	uv_timer_t		*timer;
	struct sync_poll	*poll;		/* in progress, or NULL */
	int			 again;		/* poll again when done */
	Arbor__Head		*head;
	uint8_t			*head_bytes;
	size_t			 head_len;
	uint64_t		 seen_seq;	/* newest verified head offered */
	int			 closing;
};

static void	sync_poll_start(struct arb_sync *);
static void	sync_timer_cb_fwd(uv_timer_t *);
static void	sync_maybe_free(struct arb_sync *);

static void
timer_free_cb(uv_handle_t *h)
{
	free(h);
}

static int64_t
now_sec(void)
{
	return (int64_t)time(NULL);
}

/* ------------------------------------------------------------- notices */

/*
 * A notification of a head newer than ours: urgent ones ("pull now") poll
 * at once; others poll after a random delay up to notify_jitter, so that
 * thousands of children do not all ask in the same instant.  Never later
 * than the poll already due.
 */
static void
sync_notified(void *arg, uint64_t seq, int urgent)
{
	struct arb_sync	*s = arg;
	uint64_t	 delay, due, held = s->head ? s->head->seq : 0;

	if (seq <= held)
		return;
	if (urgent || s->c.up->notify_jitter_ms <= 0) {
		arb_sync_poll_now(s);
		return;
	}
	if (s->poll) {
		s->again = 1;
		return;
	}
	delay = (uint64_t)random() % (uint64_t)s->c.up->notify_jitter_ms;
	due = uv_timer_get_due_in(s->timer);
	if (!uv_is_active((uv_handle_t *)s->timer) || delay < due)
		uv_timer_start(s->timer, sync_timer_cb_fwd, delay, 0);
}

/* The link moved to another parent: ask it at once. */
static void
sync_switched(void *arg)
{
	arb_sync_poll_now(arg);
}

/*
 * Subscribed again: a notification sent while we were not may be lost, so
 * poll within a small random delay (never later than the poll due).
 */
static void
sync_connected(void *arg)
{
	struct arb_sync	*s = arg;
	uint64_t	 delay, span = SYNC_RECONNECT_MS;

	if (s->closing)
		return;
	if (s->poll) {
		s->again = 1;
		return;
	}
	if (s->c.up->notify_jitter_ms >= 0 &&
	    (uint64_t)s->c.up->notify_jitter_ms < span)
		span = (uint64_t)s->c.up->notify_jitter_ms;
	delay = span > 0 ? (uint64_t)random() % span : 0;
	if (!uv_is_active((uv_handle_t *)s->timer) ||
	    delay < uv_timer_get_due_in(s->timer))
		uv_timer_start(s->timer, sync_timer_cb_fwd, delay, 0);
}

/* ---------------------------------------------------------------- poll */

static void
sync_timer_cb(uv_timer_t *t)
{
	sync_poll_start(t->data);
}

static void
sync_timer_cb_fwd(uv_timer_t *t)
{
	sync_timer_cb(t);
}

static void
sync_arm(struct arb_sync *s, int64_t ms)
{
	if (s->closing)
		return;
	uv_timer_start(s->timer, sync_timer_cb, (uint64_t)ms, 0);
}

static int64_t
sync_interval(const struct arb_sync *s)
{
	int64_t j = 0;

	if (s->c.up->jitter_ms > 0)
		j = (int64_t)((uint64_t)random() % (uint64_t)s->c.up->jitter_ms);
	return s->c.up->poll_ms + j;
}

static void
sync_poll_free(struct sync_poll *p)
{
	size_t i;

	/* p->pols is indexed by p->head's refs: free them before the head. */
	if (p->pols) {
		for (i = 0; p->head && i < p->head->n_policies; i++)
			if (p->pols[i])
				arb_wire_free_signed(p->pols[i]);
		free(p->pols);
	}
	if (p->head)
		arb_wire_free_head(p->head);
	if (p->head_signed)
		arb_wire_free_signed(p->head_signed);
	free(p->head_bytes);
	free(p);
}

static void
sync_poll_end(struct sync_poll *p, int rv)
{
	struct arb_sync *s = p->s;

	s->poll = NULL;
	sync_poll_free(p);
	if (s->closing) {
		sync_maybe_free(s);
		return;
	}
	if (s->c.on_poll)
		s->c.on_poll(s->c.arg, rv);
	if (s->again) {
		s->again = 0;
		sync_arm(s, 0);
	} else
		sync_arm(s, sync_interval(s));
}

struct prune_arg {
	const Arbor__Head	*head;
	struct arb_txn		*t;
	uint8_t			(*dead)[ARB_SHA256_LEN];
	size_t			 ndead;
};

static int
prune_cb(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg)
{
	struct prune_arg	*pa = arg;
	size_t			 i;

	(void)val;
	(void)vlen;
	if (klen != ARB_SHA256_LEN)
		return 0;
	for (i = 0; i < pa->head->n_policies; i++)
		if (memcmp(pa->head->policies[i]->sha256.data, key,
		    ARB_SHA256_LEN) == 0)
			return 0;
	if (pa->ndead < ARB_MAX_POLICIES)
		memcpy(pa->dead[pa->ndead++], key, ARB_SHA256_LEN);
	return 0;
}

/*
 * Every policy of the new head is verified: commit head and new policies
 * in one transaction, drop the policies no longer named, and tell the
 * owner.
 */
static int
sync_commit(struct sync_poll *p)
{
	struct arb_sync		*s = p->s;
	struct arb_txn		*t;
	struct prune_arg	 pa;
	uint8_t			*buf;
	size_t			 i, len;
	int			 rv;

	if ((rv = arb_txn_begin(s->c.store, 1, &t)) != 0)
		return rv;
	for (i = 0; i < p->head->n_policies; i++) {
		if (p->pols[i] == NULL)
			continue;
		if ((rv = arb_wire_encode_signed(p->pols[i], &buf, &len)) != 0)
			goto fail;
		rv = arb_txn_put(t, ARB_DB_POLICIES,
		    p->head->policies[i]->sha256.data, ARB_SHA256_LEN, buf,
		    len);
		free(buf);
		if (rv != 0)
			goto fail;
	}
	memset(&pa, 0, sizeof(pa));
	pa.head = p->head;
	pa.t = t;
	if ((pa.dead = calloc(ARB_MAX_POLICIES, ARB_SHA256_LEN)) == NULL) {
		rv = -ENOMEM;
		goto fail;
	}
	rv = arb_txn_foreach(t, ARB_DB_POLICIES, prune_cb, &pa);
	for (i = 0; rv == 0 && i < pa.ndead; i++)
		rv = arb_txn_del(t, ARB_DB_POLICIES, pa.dead[i],
		    ARB_SHA256_LEN);
	free(pa.dead);
	if (rv != 0)
		goto fail;
	if ((rv = arb_catalog_put_head(t, p->head_bytes, p->head_len)) != 0)
		goto fail;
	if ((rv = arb_txn_commit(t)) != 0)
		return rv;

	if (s->head)
		arb_wire_free_head(s->head);
	free(s->head_bytes);
	s->head = p->head;
	s->head_bytes = p->head_bytes;
	s->head_len = p->head_len;
	p->head_bytes = NULL;
	/* p->pols is indexed by p->head's refs: free them before. */
	for (i = 0; i < s->head->n_policies; i++)
		if (p->pols[i]) {
			arb_wire_free_signed(p->pols[i]);
			p->pols[i] = NULL;
		}
	p->head = NULL;
	sync_note(s, "%s: head seq %llu: %zu policies", s->c.kind,
	    (unsigned long long)s->head->seq, s->head->n_policies);
	if (s->c.on_head)
		s->c.on_head(s->c.arg, s->head);
	return 0;
fail:
	arb_txn_abort(t);
	return rv;
}

struct pol_req {
	struct sync_poll	*p;
	size_t			 idx;
};

/*
 * A signed policy came for ref idx of the poll's head: keep it if it is
 * the one the head names (ARB_EMIXMATCH otherwise).  Takes *sgp on 0.
 */
static int
sync_take_policy(struct sync_poll *p, size_t idx, Arbor__Signed **sgp)
{
	const Arbor__PolicyRef	*ref = p->head->policies[idx], *got;
	Arbor__Policy		*pol;
	int			 rv;

	if ((rv = arb_policy_verify(NULL, p->head, *sgp, &pol,
	    &got)) != 0)
		return rv;
	arb_wire_free_policy(pol);
	if (got != ref)
		return ARB_EMIXMATCH;
	p->pols[idx] = *sgp;
	*sgp = NULL;
	return 0;
}

static void
sync_policy_cb(int rv, Arbor__Envelope *env, void *arg)
{
	struct pol_req		*pr = arg;
	struct sync_poll	*p = pr->p;
	struct arb_sync		*s = p->s;
	size_t			 idx = pr->idx;
	const Arbor__PolicyRef	*ref = p->head->policies[idx];

	free(pr);
	if (rv == 0 && env->policy_reply->policy == NULL)
		rv = ARB_EPROTO;
	if (rv == 0 && (rv = sync_take_policy(p, idx,
	    &env->policy_reply->policy)) != 0)
		log_warnx("%s: rejected policy %s v%u from %s: %s",
		    s->c.kind, ref->id, ref->version,
		    arb_link_parent(s->c.link), arb_strerror(rv));
	if (rv != 0 && p->rv == 0)
		p->rv = rv;
	if (--p->npending > 0)
		return;
	if (p->rv == 0 && !s->closing)
		p->rv = sync_commit(p);
	sync_poll_end(p, p->rv);
}

static int
sync_have_policy(struct arb_sync *s, const uint8_t *sha)
{
	void	*v;
	size_t	 n;

	if (arb_store_get(s->c.store, ARB_DB_POLICIES, sha, ARB_SHA256_LEN,
	    &v, &n) != 0)
		return 0;
	free(v);
	return 1;
}

/*
 * The parent sent the head's policies with it: take each one we lack that
 * passes the same checks a GetPolicy reply would.  One that does not is
 * logged and asked for again.
 */
static void
sync_inline_policies(struct sync_poll *p, const Arbor__HeadReply *hr)
{
	struct arb_sync		*s = p->s;
	const Arbor__PolicyRef	*got;
	Arbor__Policy		*pol;
	uint8_t			*buf;
	size_t			 i, j, len;
	int			 rv;

	for (j = 0; j < hr->n_policies; j++) {
		rv = arb_policy_verify(NULL, p->head, hr->policies[j], &pol,
		    &got);
		if (rv != 0) {
			log_warnx("%s: rejected policy sent with head from %s: "
			    "%s", s->c.kind, arb_link_parent(s->c.link),
			    arb_strerror(rv));
			continue;
		}
		arb_wire_free_policy(pol);
		for (i = 0; i < p->head->n_policies; i++)
			if (p->head->policies[i] == got)
				break;
		if (i == p->head->n_policies || p->pols[i] != NULL ||
		    sync_have_policy(s, got->sha256.data))
			continue;
		/* A copy: the reply is freed when we return. */
		if (arb_wire_encode_signed(hr->policies[j], &buf, &len) != 0)
			continue;
		if (arb_wire_decode_signed(buf, len, &p->pols[i]) != 0)
			p->pols[i] = NULL;
		free(buf);
	}
}

static void	sync_head_take(struct sync_poll *, const Arbor__HeadReply *);

/*
 * The statements after the version we hold, taken one after the other:
 * the first that is refused ends the walk (and is logged), then the head
 * is judged again with whatever chain we hold.
 */
static void
sync_keys_cb(int rv, Arbor__Envelope *env, void *arg)
{
	struct sync_poll	*p = arg;
	struct arb_sync		*s = p->s;
	size_t			 i;
	int			 taken;

	if (rv != 0 || s->closing) {
		if (rv != ARB_ECLOSED)
			log_warnx("%s: get keys from %s: %s", s->c.kind,
			    arb_link_parent(s->c.link), arb_strerror(rv));
		sync_poll_end(p, rv ? rv : ARB_ECLOSED);
		return;
	}
	for (i = 0; i < env->keys_reply->n_statements; i++) {
		rv = arb_keychain_take(s->c.keys, env->keys_reply->statements[i],
		    &taken);
		if (rv != 0) {
			log_warnx("%s: rejected key statement from %s: %s",
			    s->c.kind, arb_link_parent(s->c.link),
			    arb_strerror(rv));
			break;
		}
		if (taken)
			log_info("%s: key statement %llu taken", s->c.kind,
			    (unsigned long long)arb_keychain_version(
			    s->c.keys));
	}
	sync_head_take(p, NULL);
}

/* Ask for the chain after the version we hold; 0 or the link's error. */
static int
sync_keys_start(struct sync_poll *p)
{
	Arbor__Envelope	env = ARBOR__ENVELOPE__INIT;
	Arbor__GetKeys	gk = ARBOR__GET_KEYS__INIT;

	p->keys_asked = 1;
	gk.have_version = arb_keychain_version(p->s->c.keys);
	env.body_case = ARBOR__ENVELOPE__BODY_GET_KEYS;
	env.get_keys = &gk;
	return arb_link_request(p->s->c.link, &env,
	    ARBOR__ENVELOPE__BODY_KEYS_REPLY, sync_keys_cb, p);
}

static void
sync_head_cb(int rv, Arbor__Envelope *env, void *arg)
{
	struct sync_poll	*p = arg;
	struct arb_sync		*s = p->s;

	if (rv != 0) {
		if (rv != ARB_ECLOSED)
			log_debug("%s: get head: %s", s->c.kind,
			    arb_strerror(rv));
		sync_poll_end(p, rv);
		return;
	}
	if (env->head_reply->head == NULL) {
		sync_poll_end(p, ARB_ENOTFOUND); /* the parent holds none yet */
		return;
	}
	if (s->closing) {
		sync_poll_end(p, ARB_ECLOSED);
		return;
	}
	p->head_signed = env->head_reply->head;
	env->head_reply->head = NULL;
	sync_head_take(p, env->head_reply);
}

/*
 * Judge the head p holds (with the policies hr carries inline, or none
 * after a walk of the key chain) and fetch the policies it lacks.
 */
static void
sync_head_take(struct sync_poll *p, const Arbor__HeadReply *hr)
{
	struct arb_sync		*s = p->s;
	Arbor__Envelope		 req = ARBOR__ENVELOPE__INIT;
	Arbor__GetPolicy	 gp = ARBOR__GET_POLICY__INIT;
	uint64_t		 held = s->head ? s->head->seq : 0;
	struct pol_req		*pr;
	size_t			 i;
	int			 rv;

	rv = arb_head_verify(s->c.keys, p->head_signed, held, now_sec(),
	    &p->head);
	/* A key we do not know may be one a newer statement names. */
	if (rv == ARB_EUNKNOWNKEY && arb_keychain_rotates(s->c.keys) &&
	    !p->keys_asked) {
		if ((rv = sync_keys_start(p)) == 0)
			return;
	}
	if (rv != 0) {
		log_warnx("%s: rejected head from %s: %s", s->c.kind,
		    arb_link_parent(s->c.link), arb_strerror(rv));
		goto end;
	}
	if (p->head->seq > s->seen_seq)
		s->seen_seq = p->head->seq;
	if (p->head->seq == held)
		goto end;		/* nothing new */
	if ((rv = arb_wire_encode_signed(p->head_signed, &p->head_bytes,
	    &p->head_len)) != 0)
		goto end;
	if ((p->pols = calloc(p->head->n_policies + 1,
	    sizeof(*p->pols))) == NULL) {
		rv = -ENOMEM;
		goto end;
	}
	if (hr != NULL)
		sync_inline_policies(p, hr);

	/* Ask for every policy we lack; one extra count guards the loop. */
	p->npending = 1;
	req.body_case = ARBOR__ENVELOPE__BODY_GET_POLICY;
	req.get_policy = &gp;
	for (i = 0; i < p->head->n_policies; i++) {
		const Arbor__PolicyRef *ref = p->head->policies[i];

		if (p->pols[i] != NULL || sync_have_policy(s, ref->sha256.data))
			continue;
		if ((pr = malloc(sizeof(*pr))) == NULL) {
			p->rv = -ENOMEM;
			break;
		}
		pr->p = p;
		pr->idx = i;
		gp.sha256 = ref->sha256;
		p->npending++;
		if ((rv = arb_link_request(s->c.link, &req,
		    ARBOR__ENVELOPE__BODY_POLICY_REPLY, sync_policy_cb,
		    pr)) != 0) {
			free(pr);
			p->npending--;
			p->rv = rv;
			break;
		}
	}
	if (--p->npending > 0)
		return;
	if (p->rv == 0)
		p->rv = sync_commit(p);
	sync_poll_end(p, p->rv);
	return;
end:
	sync_poll_end(p, rv);
}

static void
sync_poll_start(struct arb_sync *s)
{
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT;
	Arbor__GetHead		 gh = ARBOR__GET_HEAD__INIT;
	struct sync_poll	*p;
	int			 rv;

	if (s->closing)
		return;
	if (s->poll) {
		s->again = 1;
		return;
	}
	uv_timer_stop(s->timer);
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		sync_arm(s, sync_interval(s));
		return;
	}
	p->s = s;
	s->poll = p;
	gh.have_seq = s->head ? s->head->seq : 0;
	gh.node_id = (char *)(s->c.node_id ? s->c.node_id : "");
	if (s->c.endpoint_id != NULL)
		gh.endpoint_id = (char *)s->c.endpoint_id;
	gh.kind = (char *)(s->c.kind ? s->c.kind : "");
	env.body_case = ARBOR__ENVELOPE__BODY_GET_HEAD;
	env.get_head = &gh;
	if ((rv = arb_link_request(s->c.link, &env,
	    ARBOR__ENVELOPE__BODY_HEAD_REPLY, sync_head_cb, p)) != 0)
		sync_poll_end(p, rv);
}

/*
 * A head from elsewhere than the link: the same checks as a HeadReply
 * (arb_head_verify), each policy it lacks asked of get as a poll asks the
 * parent and judged as a reply is (sync_take_policy), then prepare, then
 * the same commit.
 */
int
arb_sync_offer(struct arb_sync *s, const Arbor__Signed *head,
    const struct arb_sync_source *src, size_t *badp)
{
	struct sync_poll	*p;
	Arbor__Signed		*sg;
	uint64_t		 held = s->head ? s->head->seq : 0;
	size_t			 i;
	int			 rv;

	*badp = SIZE_MAX;
	if (s->poll != NULL || s->closing)
		return ARB_EAGAIN;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return -ENOMEM;
	p->s = s;
	if ((rv = arb_head_verify(s->c.keys, head, held, now_sec(),
	    &p->head)) != 0)
		goto out;
	if (p->head->seq == held) {
		rv = ARB_EEXIST;
		goto out;
	}
	if ((rv = arb_wire_encode_signed(head, &p->head_bytes,
	    &p->head_len)) != 0)
		goto out;
	if ((p->pols = calloc(p->head->n_policies + 1,
	    sizeof(*p->pols))) == NULL) {
		rv = -ENOMEM;
		goto out;
	}
	for (i = 0; i < p->head->n_policies; i++) {
		if (sync_have_policy(s, p->head->policies[i]->sha256.data))
			continue;
		sg = NULL;
		if ((rv = src->get(src->arg, p->head->policies[i], &sg)) == 0)
			rv = sync_take_policy(p, i, &sg);
		if (sg != NULL)
			arb_wire_free_signed(sg);
		if (rv != 0) {
			*badp = i;
			goto out;
		}
	}
	if (src->prepare != NULL && (rv = src->prepare(src->arg, p->head,
	    (const Arbor__Signed *const *)p->pols)) != 0)
		goto out;
	rv = sync_commit(p);
out:
	sync_poll_free(p);
	return rv;
}

void
arb_sync_poll_now(struct arb_sync *s)
{
	if (s->poll)
		s->again = 1;
	else
		sync_arm(s, 0);
}

/* ---------------------------------------------------------------- life */

int
arb_sync_new(const struct arb_sync_conf *c, struct arb_sync **sp)
{
	struct arb_link_listener	 ls;
	struct arb_sync			*s;
	int				 rv;

	if (c->link == NULL || c->up == NULL)
		return ARB_EINVAL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -ENOMEM;
	s->c = *c;
	if ((s->timer = calloc(1, sizeof(*s->timer))) == NULL) {
		free(s);
		return -ENOMEM;
	}
	uv_timer_init(c->loop, s->timer);
	s->timer->data = s;

	/* The head we hold was verified when we took it; decode it again. */
	rv = arb_catalog_load_head(c->store, &s->head_bytes, &s->head_len,
	    NULL, &s->head);
	if (rv != 0 && rv != ARB_ENOTFOUND)
		log_warnx("%s: stored head unreadable (%s); starting empty",
		    c->kind, arb_strerror(rv));
	ls.on_notify = sync_notified;
	ls.on_switch = sync_switched;
	ls.on_connect = sync_connected;
	ls.arg = s;
	arb_link_listen(c->link, &ls);
	*sp = s;
	return 0;
}

int
arb_sync_start(struct arb_sync *s)
{
	sync_arm(s, 0);
	return 0;
}

uint64_t
arb_sync_seen_seq(const struct arb_sync *s)
{
	uint64_t held = s->head ? s->head->seq : 0;

	return s->seen_seq > held ? s->seen_seq : held;
}

const Arbor__Head *
arb_sync_head(const struct arb_sync *s)
{
	return s->head;
}

const uint8_t *
arb_sync_head_signed(const struct arb_sync *s, size_t *lenp)
{
	*lenp = s->head_len;
	return s->head_bytes;
}

static void
sync_maybe_free(struct arb_sync *s)
{
	if (s->poll != NULL)
		return;
	if (s->head)
		arb_wire_free_head(s->head);
	free(s->head_bytes);
	free(s);
}

void
arb_sync_free(struct arb_sync *s)
{
	if (s == NULL)
		return;
	s->closing = 1;
	arb_link_listen(s->c.link, NULL);
	uv_timer_stop(s->timer);
	uv_close((uv_handle_t *)s->timer, timer_free_cb);
	sync_maybe_free(s);
}
