/*
 * The agent's identity and its outbox.
 *
 * At its first start the agent makes its own Ed25519 key; its id is derived
 * from the public key.  It enrols through its relay with the token from its
 * configuration; the root records the key.  Every state change becomes a
 * Report signed with that key and a per-endpoint sequence number, committed
 * to the LMDB outbox in the same transaction as the new sequence number,
 * and sent to the relay in batches.  A report leaves the outbox only when
 * the relay has acknowledged it, which it does only after committing it.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arbor/catalog.h"
#include "arbor/error.h"
#include "arbor/log.h"
#include "agent.h"

#define OUTBOX_BATCH	512	/* reports per message */
#define AGENT_TRANSIENT_WAIT 5	/* x report_delay for passing states */

static void	agent_retry_later(struct agent *);
#define OUTBOX_BYTES	(512 * 1024)

/* Load this endpoint's key, making it at the first start. */
int
agent_identity(struct agent *a)
{
	char	path[PATH_MAX];
	int	rv;

	snprintf(path, sizeof(path), "%s/endpoint.key", a->data_dir);
	if (access(path, F_OK) != 0) {
		if ((rv = arb_key_generate(&a->key)) != 0 ||
		    (rv = arb_key_save(a->key, a->data_dir,
		    "endpoint")) != 0)
			return rv;
		log_info("agent: made this endpoint's key: %s", path);
	} else if ((rv = arb_key_load_private(path, &a->key)) != 0)
		return rv;
	return arb_endpoint_id(a->key, a->id);
}

/* ------------------------------------------------------------ enrolment */

static void
enroll_cb(int rv, Arbor__Envelope *env, void *arg)
{
	struct agent	*a = arg;

	a->enrolling = 0;
	if (a->stopping)
		return;
	if (rv != 0 && env != NULL) {
		log_warnx("agent: enrolment refused: %s", env->error->message);
		rv = ARB_EPERM;
	} else if (rv == 0 && strcmp(env->enroll_reply->endpoint_id,
	    a->id) != 0)
		rv = ARB_EPROTO;
	if (rv != 0) {
		if (rv != ARB_EPERM)
			log_warnx("agent: enrolment: %s", arb_strerror(rv));
		agent_retry_later(a);
		return;
	}
	if ((rv = arb_store_put(a->store, ARB_DB_META, "enrolled", 8, a->id,
	    strlen(a->id))) != 0)
		return;
	a->enrolled = 1;
	arb_queue_ok(&a->outbox);
	if (a->env && a->env->event)
		a->env->event(a->env->event_arg, "enrolled", "", a->index);
	else
		log_info("agent: enrolled as %s", a->id);
	agent_flush(a);
}

void
agent_enroll(struct agent *a)
{
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT;
	Arbor__Enroll		 en = ARBOR__ENROLL__INIT;
	Arbor__EnrollBody	 b = ARBOR__ENROLL_BODY__INIT;
	Arbor__Signed		 sg = ARBOR__SIGNED__INIT;
	uint8_t			 pub[ARB_PUBKEY_LEN], *body = NULL;
	size_t			 len;
	int			 rv;

	if (a->enrolled || a->enrolling || a->stopping)
		return;
	if (a->conf->token == NULL) {
		log_warnx("agent: no enroll_token configured: cannot enrol");
		return;
	}
	if ((rv = arb_key_raw_public(a->key, pub)) != 0)
		return;
	b.pubkey.data = pub;
	b.pubkey.len = sizeof(pub);
	b.endpoint_id = a->id;
	b.token = a->conf->token;
	b.hostname = a->node_id;
	b.at = (int64_t)time(NULL);
	if ((rv = arb_wire_encode_enroll(&b, &body, &len)) != 0 ||
	    (rv = arb_signed_make(a->key, body, len, &sg)) != 0)
		goto out;
	en.enroll = &sg;
	env.body_case = ARBOR__ENVELOPE__BODY_ENROLL;
	env.enroll = &en;
	if ((rv = arb_link_request(a->link, &env,
	    ARBOR__ENVELOPE__BODY_ENROLL_REPLY, enroll_cb, a)) == 0)
		a->enrolling = 1;
out:
	if (rv != 0)
		log_warnx("agent: enrolment: %s", arb_strerror(rv));
	arb_signed_clear(&sg);
	free(body);
}

/* --------------------------------------------------------------- outbox */

static void
flush_timer_cb(uv_timer_t *t)
{
	agent_flush(t->data);
}

/*
 * Try the enrolment or the outbox again later, by the outbox's back-off
 * (arbor/queue.h): at a random moment, so that thousands refused together
 * do not come back together, and less often while refusals go on.
 */
static void
agent_retry_later(struct agent *a)
{
	uint64_t	ms;

	if (a->stopping)
		return;
	ms = arb_queue_failed(&a->outbox, uv_now(a->loop));
	if (a->env == NULL || a->env->event == NULL)	/* not a swarm */
		log_info("agent: relay %s: %s again in %.1f s",
		    arb_link_parent(a->link), a->enrolled ?
		    "sending reports" : "enrolling", (double)ms / 1000);
	uv_timer_start(&a->flush, flush_timer_cb, ms, 0);
}

/*
 * Outbox key: "p:" and the policy id ("p:" alone for the inventory).  One
 * record per key: a newer state of a policy replaces one not yet sent, as
 * a relay's spool does one hop later (both are an arbor/queue.h queue).
 * The value is the report's seq (8 bytes, big-endian) and its encoded
 * body; it is signed when sent.
 */
static size_t
outbox_key(const char *policy, char *key, size_t max)
{
	int n = snprintf(key, max, "p:%s", policy);

	return n > 0 && (size_t)n < max ? (size_t)n : 0;
}

static int
outbox_add(struct agent *a, Arbor__Report *r)
{
	struct arb_txn	*t;
	uint8_t		*body = NULL, seqb[8];
	char		 key[ARB_MAX_ID + 4];
	uint64_t	 seq = 0;
	void		*v;
	size_t		 n, blen, klen;
	int		 rv;

	if ((klen = outbox_key(r->policy_id, key, sizeof(key))) == 0)
		return ARB_EINVAL;
	if ((rv = arb_txn_begin(a->store, 1, &t)) != 0)
		return rv;
	if (arb_txn_get(t, ARB_DB_META, "seq", 3, &v, &n) == 0) {
		if (n == 8)
			seq = arb_be64_get(v);
		free(v);
	}
	r->seq = ++seq;
	arb_be64_put(seqb, seq);
	if ((rv = arb_wire_encode_report(r, &body, &blen)) != 0) {
		arb_txn_abort(t);
		goto out;
	}
	/* The seq is new, so it replaces whatever the policy's record was. */
	if ((rv = arb_queue_put(&a->outbox, t, key, klen, seq, body, blen,
	    NULL)) != 0 ||
	    (rv = arb_txn_put(t, ARB_DB_META, "seq", 3, seqb, 8)) != 0) {
		arb_txn_abort(t);
		goto out;
	}
	rv = arb_txn_commit(t);
out:
	free(body);
	if (rv == 0 && a->env && a->env->reports_made)
		(*a->env->reports_made)++;
	/*
	 * Gather the changes of the next moments into one message.  A state
	 * on the way to another (applicable, downloading, waiting, running)
	 * may wait longer than a result: most are replaced before they go.
	 */
	if (rv == 0) {
		uint64_t due = (uint64_t)a->conf->report_ms;

		if (r->policy_id[0] != '\0' && (r->state == ARB_ST_APPLICABLE ||
		    r->state == ARB_ST_DOWNLOADING ||
		    r->state == ARB_ST_WAITING || r->state == ARB_ST_RUNNING))
			due *= AGENT_TRANSIENT_WAIT;
		if (!uv_is_active((uv_handle_t *)&a->flush) ||
		    due < uv_timer_get_due_in(&a->flush))
			uv_timer_start(&a->flush, flush_timer_cb, due, 0);
	}
	return rv;
}

/* What the endpoint is: read from its facts. */
static void
inventory_fill(struct agent *a, Arbor__Inventory *inv)
{
	const char	*v;
	char *const	*groups;
	size_t		 ngroups;

	inv->hostname = (char *)(arb_facts_hostname(a->facts, &v) == 0 &&
	    v ? v : a->node_id);
	inv->os_id = (char *)(arb_facts_os(a->facts, "id", &v) == 0 && v ?
	    v : "");
	inv->os_version_id = (char *)(arb_facts_os(a->facts, "version_id",
	    &v) == 0 && v ? v : "");
	inv->arch = (char *)(arb_facts_arch(a->facts, &v) == 0 && v ? v :
	    "");
	arb_facts_groups(a->facts, &groups, &ngroups);
	inv->groups = (char **)groups;
	inv->n_groups = ngroups;
}

int
agent_report(struct agent *a, const char *policy, uint32_t version,
    unsigned state, int exit_code, const char *detail)
{
	Arbor__Report		r = ARBOR__REPORT__INIT;
	Arbor__Inventory	inv = ARBOR__INVENTORY__INIT;
	char			clean[ARB_ACTION_OUTPUT_MAX];
	int			rv;

	/* After an action the endpoint changed: say what it is now. */
	if (a->inventory_next) {
		inventory_fill(a, &inv);
		r.inventory = &inv;
		a->inventory_next = 0;
	}
	r.endpoint_id = a->id;
	r.policy_id = (char *)policy;
	r.version = version;
	r.state = state;
	r.exit_code = exit_code;
	snprintf(clean, sizeof(clean), "%s", detail ? detail : "");
	r.detail = clean;
	r.at = (int64_t)time(NULL);
	if ((rv = outbox_add(a, &r)) != 0)
		log_warnx("agent: policy %s v%u: cannot queue report: %s",
		    policy, version, arb_strerror(rv));
	else if (a->env != NULL)		/* a swarm: thousands */
		log_debug("agent %s: policy %s v%u: %s", a->node_id, policy,
		    version, arb_state_name(state));
	else
		log_info("agent: policy %s v%u: %s%s%s", policy, version,
		    arb_state_name(state), detail && detail[0] ? ": " : "",
		    detail && detail[0] && strlen(detail) < 200 ? detail :
		    "");
	return rv;
}

int
agent_report_inventory(struct agent *a)
{
	Arbor__Report		 r = ARBOR__REPORT__INIT;
	Arbor__Inventory	 inv = ARBOR__INVENTORY__INIT;

	inventory_fill(a, &inv);
	r.endpoint_id = a->id;
	r.policy_id = (char *)"";
	r.detail = (char *)"";
	r.inventory = &inv;
	r.at = (int64_t)time(NULL);
	return outbox_add(a, &r);
}

/* ---------------------------------------------------------------- flush */

struct flush_arg {		/* the batch in flight */
	struct agent		*a;
	struct arb_queue_sent	 sent;
};

static void
flush_cb(int rv, Arbor__Envelope *env, void *arg)
{
	struct flush_arg	*fa = arg;
	struct agent		*a = fa->a;
	uint64_t		 left = 0;

	a->sending = 0;
	(void)env;		/* its counts are not looked at yet */
	if (rv != 0) {
		if (!a->stopping)
			log_warnx("agent: reports not taken by the relay: %s",
			    arb_strerror(rv));
		arb_queue_sent_clear(&fa->sent);
		free(fa);
		agent_retry_later(a);	/* they stay; sent again later */
		return;
	}
	/*
	 * The relay committed them: only now do they leave the outbox, and
	 * only if no newer report for the same policy came meanwhile.
	 */
	(void)arb_queue_ack(&a->outbox, &fa->sent, NULL, &left);
	arb_queue_sent_clear(&fa->sent);
	free(fa);
	if (left > 0 && !a->stopping)
		agent_flush(a);
}

struct sign_arg {
	struct agent		 *a;
	Arbor__ReportEntry	**entries;
	Arbor__ReportEntry	 *store;
	Arbor__Signed		 *sigs;
	size_t			  n;
};

/* Sign each waiting report as it goes out. */
static int
outbox_take_cb(const void *key, size_t klen, uint64_t seq,
    const uint8_t *data, size_t len, void *arg)
{
	struct sign_arg	*sa = arg;

	(void)key;
	(void)klen;
	(void)seq;
	if (arb_signed_make(sa->a->key, data, len, &sa->sigs[sa->n]) != 0)
		return 1;
	arbor__report_entry__init(&sa->store[sa->n]);
	sa->store[sa->n].report = &sa->sigs[sa->n];
	sa->entries[sa->n] = &sa->store[sa->n];
	sa->n++;
	return 0;
}

void
agent_flush(struct agent *a)
{
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT;
	Arbor__ReportBatch	 b = ARBOR__REPORT_BATCH__INIT;
	struct sign_arg		 sa;
	struct flush_arg	*fa = NULL;
	size_t			 i;

	if (a->stopping || a->sending)
		return;
	if (!a->enrolled) {
		agent_enroll(a);
		return;
	}
	memset(&sa, 0, sizeof(sa));
	sa.a = a;
	sa.entries = calloc(OUTBOX_BATCH, sizeof(*sa.entries));
	sa.store = calloc(OUTBOX_BATCH, sizeof(*sa.store));
	sa.sigs = calloc(OUTBOX_BATCH, sizeof(*sa.sigs));
	if (!sa.entries || !sa.store || !sa.sigs ||
	    (fa = calloc(1, sizeof(*fa))) == NULL)
		goto out;
	/* A signed entry costs its signature and framing beyond the body. */
	if (arb_queue_collect(&a->outbox, OUTBOX_BATCH, OUTBOX_BYTES,
	    ARB_SIG_LEN + 16, outbox_take_cb, &sa, &fa->sent) != 0 ||
	    sa.n == 0)
		goto out;
	fa->a = a;
	b.entries = sa.entries;
	b.n_entries = sa.n;
	env.body_case = ARBOR__ENVELOPE__BODY_REPORT_BATCH;
	env.report_batch = &b;
	if (arb_link_request(a->link, &env, ARBOR__ENVELOPE__BODY_REPORT_ACK,
	    flush_cb, fa) == 0) {
		a->sending = 1;
		fa = NULL;
	}
out:
	if (fa != NULL) {
		arb_queue_sent_clear(&fa->sent);
		free(fa);
	}
	for (i = 0; i < sa.n; i++)
		arb_signed_clear(&sa.sigs[i]);
	free(sa.entries);
	free(sa.store);
	free(sa.sigs);
}
