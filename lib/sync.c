/*
 * Sync: a node's copy of the catalog, kept in step with its parent.
 *
 * A poll asks the parent for its head, verifies it (signature, pinned key,
 * rollback, freeze), fetches every policy the head names that the store
 * does not hold, verifies each against the head (mix-and-match, signature),
 * and only when all of them passed commits head and policies in one
 * transaction.  Nothing that failed a check is ever written.
 *
 * Blobs are fetched in ARB_CHUNK_SIZE chunks, fetch_depth requests in
 * flight, written in order (replies that arrive early wait in memory) into
 * a resumable .part file, and renamed into place only when they hash to the
 * sha256 a verified policy named.  A reply longer than asked for, or a
 * blob that would grow past its declared size, is endless data and fails
 * the fetch.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arbor/catalog.h"
#include "arbor/conf.h"
#include "arbor/error.h"
#include "arbor/log.h"
#include "arbor/strmap.h"
#include "arbor/sync.h"

/* Routine lines: info, or debug for a swarm of simulated endpoints. */
#define sync_note(s, ...) do {						\
	if ((s)->c.quiet)						\
		log_debug(__VA_ARGS__);					\
	else								\
		log_info(__VA_ARGS__);					\
} while (0)

#define SYNC_MAX_RETRY	50	/* EAGAIN replies per chunk */
#define SYNC_RETRY_MS	200

struct sync_fetch;

struct sync_waiter {
	arb_fetch_cb		 cb;
	void			*arg;
	struct sync_waiter	*next;
};

struct sync_slot {		/* one chunk request in flight */
	struct sync_fetch	*f;
	uint64_t		 off;
	uint32_t		 len;
	int			 done;	/* reply arrived early, data held */
	int			 retries;
	uint8_t			*data;
	uv_timer_t		*retry;
};

struct sync_fetch {
	struct arb_sync		*s;
	uint8_t			 sha[ARB_SHA256_LEN];
	char			 hex[ARB_SHA256_HEX];
	uint64_t		 size;
	uint64_t		 next_off;	/* next chunk to request */
	struct arb_blob_writer	*w;		/* to the blob directory, or */
	struct arb_sha256	*sink;		/* blob_sink: hash, keep nothing */
	uint64_t		 sink_off;
	struct sync_slot	*slots;		/* fetch_depth of them */
	int			 inflight;
	int			 failed;	/* first error, or 0 */
	struct sync_waiter	*waiters;
	struct sync_fetch	*next;
};

struct sync_poll {		/* one poll: head, then missing policies */
	struct arb_sync		*s;
	uint64_t		 gen;
	Arbor__Signed		*head_signed;	/* owned */
	uint8_t			*head_bytes;	/* encoded Signed */
	size_t			 head_len;
	Arbor__Head		*head;
	Arbor__Signed		**pols;		/* fetched, verified */
	size_t			 npending;
	int			 rv;
};

struct arb_sync {
	struct arb_sync_conf	 c;
	struct arb_cli		*cli;
	struct arb_sub		*sub;
	size_t			 cur;		/* parent in use */
	uint64_t		 gen;		/* bumps at each parent switch */
	uv_timer_t		*timer;
	struct sync_poll	*poll;		/* in progress, or NULL */
	int			 again;		/* poll again when done */
	Arbor__Head		*head;
	uint8_t			*head_bytes;
	size_t			 head_len;
	struct sync_fetch	*fetches;
	uint64_t		 rate_next_ms;	/* fetch_rate: next send */
	int			 closing;
	int			 infree;	/* inside arb_sync_free */
	int			 ncalls;	/* arb_sync_request in flight */
	struct arb_strmap	*sunk;		/* blob_sink: hex -> verified */
};

static void	sync_poll_start(struct arb_sync *);
static void	sync_timer_cb_fwd(uv_timer_t *);
static void	sync_maybe_free(struct arb_sync *);
static void	sync_fetch_pump(struct sync_fetch *, int);

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

/* ------------------------------------------------------------ upstream */

/*
 * A notification: urgent ones ("pull now") poll at once; others poll after
 * a random delay up to notify_jitter, so that thousands of children do not
 * all ask in the same instant.  Never later than the poll already due.
 */
static void
sync_notified(struct arb_sync *s, int urgent)
{
	uint64_t delay, due;

	if (urgent || s->c.notify_jitter_ms <= 0) {
		arb_sync_poll_now(s);
		return;
	}
	if (s->poll) {
		s->again = 1;
		return;
	}
	delay = (uint64_t)random() % (uint64_t)s->c.notify_jitter_ms;
	due = uv_timer_get_due_in(s->timer);
	if (!uv_is_active((uv_handle_t *)s->timer) || delay < due)
		uv_timer_start(s->timer, sync_timer_cb_fwd, delay, 0);
}

static void
sync_sub_cb(const uint8_t *data, size_t len, void *arg)
{
	struct arb_sync		*s = arg;
	Arbor__Envelope		*env;

	if (arb_wire_decode(data, len, &env) != 0) {
		log_warnx("%s: malformed notification from %s", s->c.kind,
		    s->c.parents[s->cur].pub);
		return;
	}
	if (env->body_case == ARBOR__ENVELOPE__BODY_NOTIFY) {
		uint64_t held = s->head ? s->head->seq : 0;

		log_debug("%s: notify seq %llu%s", s->c.kind,
		    (unsigned long long)env->notify->seq,
		    env->notify->urgent ? " urgent" : "");
		if (env->notify->seq > held)
			sync_notified(s, env->notify->urgent);
	}
	arb_wire_free(env);
}

static void
sync_disconnect(struct arb_sync *s)
{
	if (s->cli) {
		arb_cli_close(s->cli);
		s->cli = NULL;
	}
	if (s->sub) {
		arb_sub_close(s->sub);
		s->sub = NULL;
	}
}

/*
 * Connect to the first parent, starting at index from, that accepts a
 * connection now; if none does, dial parent `from` in the background.
 */
static int
sync_connect(struct arb_sync *s, size_t from)
{
	size_t	i, p;
	int	rv;

	sync_disconnect(s);
	s->gen++;
	for (i = 0; i < s->c.nparents; i++) {
		p = (from + i) % s->c.nparents;
		if (arb_cli_dial(s->c.net, s->c.parents[p].svc, 1,
		    &s->cli) == 0) {
			s->cur = p;
			goto sub;
		}
	}
	s->cur = from % s->c.nparents;
	if ((rv = arb_cli_dial(s->c.net, s->c.parents[s->cur].svc, 0,
	    &s->cli)) != 0)
		return rv;
sub:
	if ((rv = arb_sub_dial(s->c.net, s->c.parents[s->cur].pub,
	    sync_sub_cb, s, &s->sub)) != 0)
		return rv;
	sync_note(s, "%s: parent %s", s->c.kind, s->c.parents[s->cur].svc);
	return 0;
}

/*
 * A request to the parent failed the way an unreachable parent fails: use
 * the next one.  Requests of an older generation were sent to a parent we
 * have already left and do not count.
 */
static void
sync_upstream_failed(struct arb_sync *s, uint64_t gen, int rv)
{
	if (s->closing || gen != s->gen)
		return;
	if (rv != ARB_ETIMEDOUT && rv != ARB_EUNREACH && rv != ARB_ENET)
		return;
	log_warnx("%s: parent %s: %s", s->c.kind, s->c.parents[s->cur].svc,
	    arb_strerror(rv));
	if (s->c.nparents > 1 && sync_connect(s, s->cur + 1) == 0)
		arb_sync_poll_now(s);	/* ask the new parent at once */
}

static int
sync_request(struct arb_sync *s, const Arbor__Envelope *env, arb_cli_cb cb,
    void *arg)
{
	uint8_t	*buf;
	size_t	 len;
	int	 rv;

	if (s->cli == NULL)
		return ARB_ECLOSED;
	if ((rv = arb_wire_encode(env, &buf, &len)) != 0)
		return rv;
	rv = arb_cli_request(s->cli, buf, len, (int)s->c.timeout_ms, cb, arg);
	free(buf);
	return rv;
}

/* Decode a reply; an Error body becomes its code (logged at debug). */
static int
sync_reply(struct arb_sync *s, int rv, const uint8_t *data, size_t len,
    Arbor__Envelope__BodyCase want, Arbor__Envelope **envp)
{
	Arbor__Envelope *env;

	if (rv != 0)
		return rv;
	if ((rv = arb_wire_decode(data, len, &env)) != 0) {
		if (rv != ARB_ETOOLONG)
			log_warnx("%s: malformed reply from %s: %s",
			    s->c.kind, s->c.parents[s->cur].svc,
			    arb_strerror(rv));
		return rv;
	}
	if (env->body_case == ARBOR__ENVELOPE__BODY_ERROR) {
		rv = env->error->code < 0 ? env->error->code : ARB_EPROTO;
		log_debug("%s: parent says: %s", s->c.kind,
		    env->error->message);
		arb_wire_free(env);
		return rv;
	}
	if (env->body_case != want) {
		arb_wire_free(env);
		return ARB_EPROTO;
	}
	*envp = env;
	return 0;
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

	if (s->c.jitter_ms > 0)
		j = (int64_t)((uint64_t)random() % (uint64_t)s->c.jitter_ms);
	return s->c.poll_ms + j;
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
	if ((rv = arb_txn_put(t, ARB_DB_META, "head", 4, p->head_bytes,
	    p->head_len)) != 0)
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

static void
sync_policy_cb(int rv, const uint8_t *data, size_t len, void *arg)
{
	struct pol_req		*pr = arg;
	struct sync_poll	*p = pr->p;
	struct arb_sync		*s = p->s;
	size_t			 idx = pr->idx;
	const Arbor__PolicyRef	*ref = p->head->policies[idx], *got;
	Arbor__Envelope		*env = NULL;
	Arbor__Policy		*pol;

	free(pr);
	rv = sync_reply(s, rv, data, len, ARBOR__ENVELOPE__BODY_POLICY_REPLY,
	    &env);
	if (rv == 0 && env->policy_reply->policy == NULL)
		rv = ARB_EPROTO;
	if (rv == 0) {
		rv = arb_policy_verify(s->c.pin, p->head,
		    env->policy_reply->policy, &pol, &got);
		if (rv == 0 && got != ref) {
			arb_wire_free_policy(pol);
			rv = ARB_EMIXMATCH;
		}
		if (rv == 0) {
			arb_wire_free_policy(pol);
			p->pols[idx] = env->policy_reply->policy;
			env->policy_reply->policy = NULL;
		} else
			log_warnx("%s: rejected policy %s v%u from %s: %s",
			    s->c.kind, ref->id, ref->version,
			    s->c.parents[s->cur].svc, arb_strerror(rv));
	} else
		sync_upstream_failed(s, p->gen, rv);
	if (env)
		arb_wire_free(env);
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
		rv = arb_policy_verify(s->c.pin, p->head, hr->policies[j], &pol,
		    &got);
		if (rv != 0) {
			log_warnx("%s: rejected policy sent with head from %s: "
			    "%s", s->c.kind, s->c.parents[s->cur].svc,
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

static void
sync_head_cb(int rv, const uint8_t *data, size_t len, void *arg)
{
	struct sync_poll	*p = arg;
	struct arb_sync		*s = p->s;
	Arbor__Envelope		*env = NULL;
	Arbor__Envelope		 req = ARBOR__ENVELOPE__INIT;
	Arbor__GetPolicy	 gp = ARBOR__GET_POLICY__INIT;
	uint64_t		 held = s->head ? s->head->seq : 0;
	struct pol_req		*pr;
	size_t			 i;

	rv = sync_reply(s, rv, data, len, ARBOR__ENVELOPE__BODY_HEAD_REPLY,
	    &env);
	if (rv != 0) {
		if (rv != ARB_ECLOSED)
			log_debug("%s: get head: %s", s->c.kind,
			    arb_strerror(rv));
		sync_upstream_failed(s, p->gen, rv);
		goto end;
	}
	if (env->head_reply->head == NULL) {
		rv = ARB_ENOTFOUND;	/* the parent holds no head yet */
		goto end;
	}
	if (s->closing) {
		rv = ARB_ECLOSED;
		goto end;
	}
	rv = arb_head_verify(s->c.pin, env->head_reply->head, held,
	    now_sec(), &p->head);
	if (rv != 0) {
		log_warnx("%s: rejected head from %s: %s", s->c.kind,
		    s->c.parents[s->cur].svc, arb_strerror(rv));
		goto end;
	}
	if (p->head->seq == held)
		goto end;		/* nothing new */
	p->head_signed = env->head_reply->head;
	env->head_reply->head = NULL;
	if ((rv = arb_wire_encode_signed(p->head_signed, &p->head_bytes,
	    &p->head_len)) != 0)
		goto end;
	if ((p->pols = calloc(p->head->n_policies + 1,
	    sizeof(*p->pols))) == NULL) {
		rv = -ENOMEM;
		goto end;
	}
	sync_inline_policies(p, env->head_reply);
	arb_wire_free(env);
	env = NULL;

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
		if ((rv = sync_request(s, &req, sync_policy_cb, pr)) != 0) {
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
	if (env)
		arb_wire_free(env);
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
	p->gen = s->gen;
	s->poll = p;
	gh.have_seq = s->head ? s->head->seq : 0;
	gh.node_id = (char *)(s->c.node_id ? s->c.node_id : "");
	gh.kind = (char *)(s->c.kind ? s->c.kind : "");
	env.body_case = ARBOR__ENVELOPE__BODY_GET_HEAD;
	env.get_head = &gh;
	if ((rv = sync_request(s, &env, sync_head_cb, p)) != 0)
		sync_poll_end(p, rv);
}

void
arb_sync_poll_now(struct arb_sync *s)
{
	if (s->poll)
		s->again = 1;
	else
		sync_arm(s, 0);
}

/* --------------------------------------------------------------- fetch */

static uint64_t
fetch_offset(const struct sync_fetch *f)
{
	return f->w ? arb_blob_writer_offset(f->w) : f->sink_off;
}

static int
fetch_write(struct sync_fetch *f, const uint8_t *data, size_t len)
{
	if (f->w)
		return arb_blob_writer_write(f->w, data, len);
	if (f->sink_off + len > f->size)
		return ARB_ETOOLONG;
	f->sink_off += len;
	return arb_sha256_update(f->sink, data, len);
}

/* blob_sink: the whole blob went by; does it hash right? */
static int
fetch_sink_finish(struct sync_fetch *f)
{
	uint8_t	got[ARB_SHA256_LEN];
	int	rv;

	if (f->sink_off != f->size)
		return ARB_EAGAIN;
	if ((rv = arb_sha256_final(f->sink, got)) != 0)
		return rv;
	if (memcmp(got, f->sha, ARB_SHA256_LEN) != 0)
		return ARB_EBADHASH;
	return arb_strmap_put(f->s->sunk, f->hex, (void *)1, NULL);
}

static void
sync_fetch_done(struct sync_fetch *f, int rv)
{
	struct arb_sync		*s = f->s;
	struct sync_fetch	**fp;
	struct sync_waiter	*w, *wn;
	int			 i;

	for (fp = &s->fetches; *fp; fp = &(*fp)->next)
		if (*fp == f) {
			*fp = f->next;
			break;
		}
	if (f->w) {
		if (rv == 0)
			rv = arb_blob_writer_finish(f->w);
		else if (rv == ARB_ECLOSED || rv == ARB_ETIMEDOUT ||
		    rv == ARB_EUNREACH || rv == ARB_ENET)
			arb_blob_writer_close(f->w);	/* resume later */
		else
			arb_blob_writer_abort(f->w);
		f->w = NULL;
	}
	if (f->sink) {
		if (rv == 0)
			rv = fetch_sink_finish(f);
		arb_sha256_free(f->sink);
		f->sink = NULL;
	}
	if (rv == 0)
		sync_note(s, "%s: blob %.12s: %llu bytes verified", s->c.kind,
		    f->hex, (unsigned long long)f->size);
	else if (rv == ARB_ETOOLONG || rv == ARB_EBADHASH)
		log_warnx("%s: rejected blob %.12s from %s: %s", s->c.kind,
		    f->hex, s->c.parents[s->cur].svc, arb_strerror(rv));
	else if (rv != ARB_ECLOSED)
		log_warnx("%s: blob %.12s: fetch failed: %s", s->c.kind,
		    f->hex, arb_strerror(rv));
	for (i = 0; i < s->c.fetch_depth; i++) {
		free(f->slots[i].data);
		if (f->slots[i].retry)
			uv_close((uv_handle_t *)f->slots[i].retry,
			    timer_free_cb);
	}
	free(f->slots);
	for (w = f->waiters; w; w = wn) {
		wn = w->next;
		w->cb(rv, f->sha, w->arg);
		free(w);
	}
	free(f);
	if (s->closing)
		sync_maybe_free(s);
}

/* Write every chunk that is next in order. */
static int
sync_fetch_flush(struct sync_fetch *f)
{
	int	i, progress = 1, rv;

	while (progress) {
		progress = 0;
		for (i = 0; i < f->s->c.fetch_depth; i++) {
			struct sync_slot *sl = &f->slots[i];

			if (!sl->done ||
			    sl->off != fetch_offset(f))
				continue;
			if ((rv = fetch_write(f, sl->data,
			    sl->len)) != 0)
				return rv;
			free(sl->data);
			sl->data = NULL;
			sl->done = 0;
			sl->f = NULL;
			progress = 1;
		}
	}
	return 0;
}

static void	sync_slot_send(struct sync_slot *);

static void
sync_slot_retry_cb(uv_timer_t *t)
{
	struct sync_slot *sl = t->data;

	sync_slot_send(sl);
}

/* Send the slot's request after ms (inflight already counts it). */
static int
sync_slot_later(struct sync_slot *sl, uint64_t ms)
{
	struct arb_sync *s = sl->f->s;

	if (sl->retry == NULL) {
		if ((sl->retry = calloc(1, sizeof(*sl->retry))) == NULL)
			return -ENOMEM;
		uv_timer_init(s->c.loop, sl->retry);
		sl->retry->data = sl;
	}
	uv_timer_start(sl->retry, sync_slot_retry_cb, ms, 0);
	return 0;
}

/*
 * With fetch_rate set, the delay before the next chunk may be sent so that
 * requests average no more than fetch_rate bytes a second.
 */
static uint64_t
sync_rate_delay(struct arb_sync *s, uint32_t len)
{
	uint64_t now, at;

	if (s->c.fetch_rate == 0)
		return 0;
	now = uv_now(s->c.loop);
	at = s->rate_next_ms > now ? s->rate_next_ms : now;
	s->rate_next_ms = at + (uint64_t)len * 1000 / s->c.fetch_rate;
	return at - now;
}

static void
sync_chunk_cb(int rv, const uint8_t *data, size_t len, void *arg)
{
	struct sync_slot	*sl = arg;
	struct sync_fetch	*f = sl->f;
	struct arb_sync		*s = f->s;
	Arbor__Envelope		*env = NULL;
	Arbor__Chunk		*c;

	f->inflight--;
	rv = sync_reply(s, rv, data, len, ARBOR__ENVELOPE__BODY_CHUNK, &env);
	if (rv == ARB_EAGAIN && !s->closing && !f->failed &&
	    ++sl->retries < SYNC_MAX_RETRY) {
		/* The parent is fetching it itself: ask again shortly. */
		f->inflight++;
		if (sync_slot_later(sl, SYNC_RETRY_MS) == 0)
			return;
		f->inflight--;
	}
	if (rv != 0) {
		sync_upstream_failed(s, s->gen, rv);
		goto fail;
	}
	c = env->chunk;
	if (c->sha256.len != ARB_SHA256_LEN ||
	    memcmp(c->sha256.data, f->sha, ARB_SHA256_LEN) != 0 ||
	    c->offset != sl->off) {
		rv = ARB_EPROTO;
		goto fail;
	}
	if (c->data.len > sl->len || c->total > f->size) {
		rv = ARB_ETOOLONG;	/* more than asked for: endless data */
		goto fail;
	}
	if (c->data.len < sl->len) {
		rv = ARB_EPROTO;
		goto fail;
	}
	sl->data = c->data.data;	/* take the bytes from the envelope */
	c->data.data = NULL;
	c->data.len = 0;
	sl->done = 1;
	arb_wire_free(env);
	env = NULL;
	if (f->failed) {
		rv = f->failed;
		goto fail;
	}
	if ((rv = sync_fetch_flush(f)) != 0)
		goto fail;
	sync_fetch_pump(f, 0);
	return;
fail:
	if (env)
		arb_wire_free(env);
	if (!f->failed)
		f->failed = rv;
	if (sl->data) {
		free(sl->data);
		sl->data = NULL;
	}
	sl->done = 0;
	sl->f = NULL;
	if (f->inflight == 0)
		sync_fetch_done(f, f->failed);
}

static void
sync_slot_send(struct sync_slot *sl)
{
	struct sync_fetch	*f = sl->f;
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT;
	Arbor__GetChunk		 gc = ARBOR__GET_CHUNK__INIT;
	int			 rv;

	gc.sha256.data = f->sha;
	gc.sha256.len = ARB_SHA256_LEN;
	gc.offset = sl->off;
	gc.len = sl->len;
	env.body_case = ARBOR__ENVELOPE__BODY_GET_CHUNK;
	env.get_chunk = &gc;
	/* inflight already counts this slot. */
	if ((rv = sync_request(f->s, &env, sync_chunk_cb, sl)) != 0) {
		f->inflight--;
		if (!f->failed)
			f->failed = rv;
		sl->f = NULL;
		if (f->inflight == 0)
			sync_fetch_done(f, f->failed);
	}
}

/*
 * Keep fetch_depth chunk requests in flight; finish when all is written.
 * With defer, every request is sent from the loop (a timer), so that
 * nothing completes inside arb_sync_fetch's caller.
 */
static void
sync_fetch_pump(struct sync_fetch *f, int defer)
{
	struct sync_slot	*sl;
	uint64_t		 delay;
	int			 i;

	if (f->failed) {
		if (f->inflight == 0)
			sync_fetch_done(f, f->failed);
		return;
	}
	for (i = 0; i < f->s->c.fetch_depth && f->next_off < f->size; i++) {
		sl = &f->slots[i];
		if (sl->f != NULL)
			continue;
		sl->f = f;
		sl->off = f->next_off;
		sl->len = (uint32_t)(f->size - f->next_off < ARB_CHUNK_SIZE ?
		    f->size - f->next_off : ARB_CHUNK_SIZE);
		sl->retries = 0;
		f->next_off += sl->len;
		f->inflight++;
		delay = sync_rate_delay(f->s, sl->len);
		if ((delay > 0 || defer) && sync_slot_later(sl, delay) == 0)
			continue;
		sync_slot_send(sl);
		if (f->failed)
			return;
	}
	if (f->inflight == 0 && fetch_offset(f) == f->size)
		sync_fetch_done(f, 0);
}

struct fetch_now {
	uv_idle_t		 idle;
	arb_fetch_cb		 cb;
	void			*arg;
	int			 rv;
	uint8_t			 sha[ARB_SHA256_LEN];
};

static void
fetch_now_close(uv_handle_t *h)
{
	free(h->data);
}

static void
fetch_now_cb(uv_idle_t *i)
{
	struct fetch_now *fn = i->data;

	uv_idle_stop(i);
	fn->cb(fn->rv, fn->sha, fn->arg);
	uv_close((uv_handle_t *)i, fetch_now_close);
}

/* Complete a fetch through the loop, never from inside the caller. */
static int
sync_fetch_later(struct arb_sync *s, const uint8_t *sha, int rv,
    arb_fetch_cb cb, void *arg)
{
	struct fetch_now *fn;

	if ((fn = calloc(1, sizeof(*fn))) == NULL)
		return -ENOMEM;
	fn->cb = cb;
	fn->arg = arg;
	fn->rv = rv;
	memcpy(fn->sha, sha, ARB_SHA256_LEN);
	uv_idle_init(s->c.loop, &fn->idle);
	fn->idle.data = fn;
	uv_idle_start(&fn->idle, fetch_now_cb);
	return 0;
}

int
arb_sync_have_blob(const struct arb_sync *s,
    const uint8_t sha[ARB_SHA256_LEN], uint64_t size)
{
	char		hex[ARB_SHA256_HEX];
	uint64_t	have;

	if (s->c.blob_sink) {
		arb_hex(sha, ARB_SHA256_LEN, hex);
		return arb_strmap_get(s->sunk, hex) != NULL;
	}
	return arb_blob_stat(s->c.blobs, sha, &have) == 0 && have == size;
}

int
arb_sync_fetch(struct arb_sync *s, const uint8_t sha[ARB_SHA256_LEN],
    uint64_t size, arb_fetch_cb cb, void *arg)
{
	struct sync_fetch	*f;
	struct sync_waiter	*w;
	uint64_t		 have;
	int			 rv;

	if (s->closing)
		return ARB_ECLOSED;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return -ENOMEM;
	w->cb = cb;
	w->arg = arg;
	for (f = s->fetches; f; f = f->next)
		if (memcmp(f->sha, sha, ARB_SHA256_LEN) == 0) {
			w->next = f->waiters;	/* single flight */
			f->waiters = w;
			return 0;
		}
	if (arb_sync_have_blob(s, sha, size)) {
		free(w);
		return sync_fetch_later(s, sha, 0, cb, arg);
	}
	if (!s->c.blob_sink && arb_blob_stat(s->c.blobs, sha, &have) == 0) {
		free(w);
		return sync_fetch_later(s, sha, ARB_ECORRUPT, cb, arg);
	}
	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    (f->slots = calloc((size_t)s->c.fetch_depth,
	    sizeof(*f->slots))) == NULL) {
		free(f);
		free(w);
		return -ENOMEM;
	}
	f->s = s;
	memcpy(f->sha, sha, ARB_SHA256_LEN);
	arb_hex(sha, ARB_SHA256_LEN, f->hex);
	f->size = size;
	if (s->c.blob_sink) {
		if ((rv = arb_sha256_new(&f->sink)) != 0) {
			free(f->slots);
			free(f);
			free(w);
			return rv;
		}
		goto start;
	}
	if ((rv = arb_blob_writer_open(s->c.blobs, sha, size, &f->w)) != 0) {
		free(f->slots);
		free(f);
		free(w);
		if (rv == ARB_EEXIST)
			return sync_fetch_later(s, sha, 0, cb, arg);
		return rv;
	}
	f->next_off = arb_blob_writer_offset(f->w);
	if (f->next_off % ARB_CHUNK_SIZE != 0) {
		/*
		 * Chunks are served on chunk boundaries only; a kill during a
		 * write can leave part of one: resume at the last whole one.
		 */
		if ((rv = arb_blob_writer_truncate(f->w, f->next_off -
		    f->next_off % ARB_CHUNK_SIZE)) != 0) {
			arb_blob_writer_abort(f->w);
			free(f->slots);
			free(f);
			free(w);
			return rv;
		}
		f->next_off = arb_blob_writer_offset(f->w);
	}
	if (f->next_off == size) {
		/* Complete (a crash came before the rename, or size 0). */
		rv = arb_blob_writer_finish(f->w);
		if (rv == 0)
			log_info("%s: blob %.12s: %llu bytes verified",
			    s->c.kind, f->hex, (unsigned long long)size);
		else
			log_warnx("%s: blob %.12s: %s", s->c.kind, f->hex,
			    arb_strerror(rv));
		free(f->slots);
		free(f);
		free(w);
		return sync_fetch_later(s, sha, rv, cb, arg);
	}
	if (f->next_off > 0)
		log_info("%s: blob %.12s: resuming at %llu of %llu",
		    s->c.kind, f->hex, (unsigned long long)f->next_off,
		    (unsigned long long)size);
start:
	f->waiters = w;
	f->next = s->fetches;
	s->fetches = f;
	sync_fetch_pump(f, 1);	/* cb never runs inside the caller */
	return 0;
}

/* ------------------------------------------------------------- requests */

struct sync_call {
	struct arb_sync	*s;
	uint64_t	 gen;
	arb_cli_cb	 cb;
	void		*arg;
};

static void
sync_call_cb(int rv, const uint8_t *data, size_t len, void *arg)
{
	struct sync_call	*c = arg;
	struct arb_sync		*s = c->s;

	if (rv != 0 && !s->closing)
		sync_upstream_failed(s, c->gen, rv);
	c->cb(rv, data, len, c->arg);
	free(c);
	s->ncalls--;
	if (s->closing)
		sync_maybe_free(s);
}

int
arb_sync_request(struct arb_sync *s, const Arbor__Envelope *env,
    arb_cli_cb cb, void *arg)
{
	struct sync_call	*c;
	int			 rv;

	if (s->closing)
		return ARB_ECLOSED;
	if ((c = malloc(sizeof(*c))) == NULL)
		return -ENOMEM;
	c->s = s;
	c->gen = s->gen;
	c->cb = cb;
	c->arg = arg;
	if ((rv = sync_request(s, env, sync_call_cb, c)) != 0)
		free(c);
	else
		s->ncalls++;
	return rv;
}

/* ---------------------------------------------------------------- life */

int
arb_store_policy(struct arb_store *st, const uint8_t sha[ARB_SHA256_LEN],
    Arbor__Policy **pp)
{
	Arbor__Signed	*sg;
	void		*v;
	size_t		 n;
	int		 rv;

	if ((rv = arb_store_get(st, ARB_DB_POLICIES, sha, ARB_SHA256_LEN, &v,
	    &n)) != 0)
		return rv;
	rv = arb_wire_decode_signed(v, n, &sg);
	free(v);
	if (rv != 0)
		return rv;
	rv = arb_wire_decode_policy(sg->body.data, sg->body.len, pp);
	arb_wire_free_signed(sg);
	return rv;
}

int
arb_sync_new(const struct arb_sync_conf *c, struct arb_sync **sp)
{
	struct arb_sync	*s;
	Arbor__Signed	*sg;
	void		*v;
	size_t		 n;
	int		 rv;

	if (c->nparents == 0 || c->fetch_depth < 1)
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
	if (c->blob_sink && arb_strmap_new(&s->sunk) != 0) {
		uv_close((uv_handle_t *)s->timer, timer_free_cb);
		free(s);
		return -ENOMEM;
	}

	/* The head we hold was verified when we took it; decode it again. */
	if (arb_store_get(c->store, ARB_DB_META, "head", 4, &v, &n) == 0) {
		rv = arb_wire_decode_signed(v, n, &sg);
		if (rv == 0) {
			rv = arb_wire_decode_head(sg->body.data, sg->body.len,
			    &s->head);
			arb_wire_free_signed(sg);
		}
		if (rv == 0) {
			s->head_bytes = v;
			s->head_len = n;
		} else {
			log_warnx("%s: stored head unreadable (%s); "
			    "starting empty", c->kind, arb_strerror(rv));
			free(v);
		}
	}
	*sp = s;
	return 0;
}

int
arb_sync_start(struct arb_sync *s)
{
	int rv;

	if ((rv = sync_connect(s, 0)) != 0)
		return rv;
	sync_arm(s, 0);
	return 0;
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

const char *
arb_sync_parent(const struct arb_sync *s)
{
	return s->c.parents[s->cur].svc;
}

static void
sync_maybe_free(struct arb_sync *s)
{
	if (s->infree || s->poll != NULL || s->fetches != NULL ||
	    s->ncalls > 0)
		return;
	if (s->head)
		arb_wire_free_head(s->head);
	free(s->head_bytes);
	arb_strmap_free(s->sunk, NULL);
	free(s);
}

void
arb_sync_free(struct arb_sync *s)
{
	struct sync_fetch	*f, *fn;
	int			 i;

	s->closing = 1;
	uv_timer_stop(s->timer);
	uv_close((uv_handle_t *)s->timer, timer_free_cb);
	/* Chunks waiting to be asked again will not be. */
	for (f = s->fetches; f; f = fn) {
		fn = f->next;
		if (!f->failed)
			f->failed = ARB_ECLOSED;
		for (i = 0; i < s->c.fetch_depth; i++)
			if (f->slots[i].retry &&
			    uv_is_active((uv_handle_t *)f->slots[i].retry)) {
				uv_timer_stop(f->slots[i].retry);
				f->slots[i].f = NULL;
				f->inflight--;
			}
	}
	/*
	 * Closing the client completes every request in flight with
	 * ARB_ECLOSED, through the loop; the last completion frees s.  The
	 * caller keeps the loop (and the net) running until then.
	 */
	s->infree = 1;
	sync_disconnect(s);
	for (f = s->fetches; f; f = fn) {
		fn = f->next;
		if (f->inflight == 0)
			sync_fetch_done(f, f->failed);
	}
	s->infree = 0;
	sync_maybe_free(s);
}

static int
url_ok(const char *u)
{
	return strncmp(u, "tcp://", 6) == 0 || strncmp(u, "ipc://", 6) == 0 ||
	    strncmp(u, "tls+tcp://", 10) == 0 || strncmp(u, "inproc://", 9) == 0;
}

int
arb_parent_parse(const char *value, struct arb_parent *p, char *err,
    size_t errlen)
{
	char	*copy, *a, *b, *save = NULL;

	if ((copy = strdup(value)) == NULL)
		return -ENOMEM;
	a = strtok_r(copy, " \t,", &save);
	b = a ? strtok_r(NULL, " \t,", &save) : NULL;
	if (a == NULL || b == NULL || strtok_r(NULL, " \t,", &save) != NULL) {
		snprintf(err, errlen, "expected two addresses: SVC_URL PUB_URL");
		goto fail;
	}
	if (!url_ok(a) || !url_ok(b)) {
		snprintf(err, errlen, "%s: not a tcp://, tls+tcp:// or ipc:// "
		    "address", url_ok(a) ? b : a);
		goto fail;
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

#define SC(v)	((struct arb_sync_conf *)(v))

int
arb_sync_k_parent(void *c, const char *v, char *e, size_t n)
{
	return arb_parent_add(&SC(c)->parents, &SC(c)->nparents, v, e, n);
}

int
arb_sync_k_poll(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_duration_ms(v, 100, 86400000, &SC(c)->poll_ms, e, n);
}

int
arb_sync_k_jitter(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_duration_ms(v, 0, 86400000, &SC(c)->jitter_ms, e, n);
}

int
arb_sync_k_notify_jitter(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_duration_ms(v, 0, 86400000, &SC(c)->notify_jitter_ms,
	    e, n);
}

int
arb_sync_k_timeout(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_duration_ms(v, 100, 600000, &SC(c)->timeout_ms, e,
	    n);
}

int
arb_sync_k_depth(void *c, const char *v, char *e, size_t n)
{
	int64_t	d;
	int	rv;

	if ((rv = arb_conf_int(v, 1, 64, &d, e, n)) == 0)
		SC(c)->fetch_depth = (int)d;
	return rv;
}

int
arb_sync_k_rate(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_size(v, 0, 1ULL << 40, &SC(c)->fetch_rate, e, n);
}

void
arb_sync_conf_clear(struct arb_sync_conf *c)
{
	size_t i;

	for (i = 0; i < c->nparents; i++)
		arb_parent_clear(&c->parents[i]);
	free(c->parents);
	c->parents = NULL;
	c->nparents = 0;
}
