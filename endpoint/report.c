/*
 * The agent's identity and its outbox.
 *
 * At its first start the agent makes its own Ed25519 key; its id is derived
 * from the public key.  It enrols through its relay with the token from its
 * configuration; the root records the key.  Every state change becomes a
 * Report signed with that key and a per-endpoint sequence number, committed
 * to the LMDB outbox in the same transaction as the new sequence number,
 * and sent to the relay in batches.  A report leaves the outbox only when
 * the root's signed receipt says the root took it (the relay's
 * acknowledgement only says the relay committed it), or when the root
 * says it already holds it or a newer one.
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
#include "arbor/inventory.h"
#include "arbor/log.h"
#include "agent.h"

#define OUTBOX_BATCH	512	/* reports per message */
#define AGENT_TRANSIENT_WAIT 5	/* x report_delay for passing states */
#define AGENT_RECEIPT_POLL_MS 2000 /* ask for a receipt this often */

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

/*
 * The groups the enrolment token gave this endpoint, as the root's signed
 * receipts say: added to the configured ones (agent.groups, targets) and
 * kept in the store, NUL-separated, for the next start.  A simulated
 * endpoint shares its facts with the swarm: it keeps its configured ones.
 */
#define AGENT_GROUPS_KEY	"token_groups"
#define AGENT_GROUPS_MAX	(ARB_TOKEN_GROUPS_MAX * (ARB_MAX_ID + 1))

static int
groups_apply(struct agent *a, const char *buf, size_t len)
{
	char	*g[ARB_TOKEN_GROUPS_MAX];
	size_t	 n = 0, off = 0;

	while (off < len && n < ARB_TOKEN_GROUPS_MAX) {
		g[n++] = (char *)buf + off;
		off += strnlen(buf + off, len - off) + 1;
	}
	return arb_facts_extra_groups(a->facts, g, n);
}

void
agent_groups_load(struct agent *a)
{
	void	*v;
	size_t	 n;

	if (a->env != NULL || arb_store_get(a->store, ARB_DB_META,
	    AGENT_GROUPS_KEY, strlen(AGENT_GROUPS_KEY), &v, &n) != 0)
		return;
	/* Our own store: the last byte is a NUL, as written. */
	if (n > 0 && n <= AGENT_GROUPS_MAX && ((char *)v)[n - 1] == '\0')
		(void)groups_apply(a, v, n);
	free(v);
}

static void
token_groups(struct agent *a, const Arbor__Receipt *rc)
{
	char	 buf[AGENT_GROUPS_MAX];
	void	*v;
	size_t	 i, len = 0, n;
	int	 same = 0;

	if (a->env != NULL)
		return;
	for (i = 0; i < rc->n_groups && i < ARB_TOKEN_GROUPS_MAX; i++) {
		n = strlen(rc->groups[i]) + 1;	/* decoder bounded it */
		memcpy(buf + len, rc->groups[i], n);
		len += n;
	}
	if (arb_store_get(a->store, ARB_DB_META, AGENT_GROUPS_KEY,
	    strlen(AGENT_GROUPS_KEY), &v, &n) == 0) {
		same = n == len && memcmp(v, buf, len) == 0;
		free(v);
	} else
		same = len == 0;
	if (same || groups_apply(a, buf, len) != 0)
		return;
	if (len == 0)
		(void)arb_store_del(a->store, ARB_DB_META, AGENT_GROUPS_KEY,
		    strlen(AGENT_GROUPS_KEY));
	else
		(void)arb_store_put(a->store, ARB_DB_META, AGENT_GROUPS_KEY,
		    strlen(AGENT_GROUPS_KEY), buf, len);
	log_info("agent: groups from the enrolment token: %zu", rc->n_groups);
	/* The root's view of our groups comes with the inventory. */
	(void)agent_report_inventory(a);
}

/*
 * The enrolment reply must carry the root's receipt for this endpoint:
 * signed with the pinned publisher key, naming this id and this key.  A
 * relay can answer an enrolment itself, but not sign that.
 */
static int
enroll_check(struct agent *a, const Arbor__EnrollReply *er)
{
	Arbor__Receipt	*rc;
	uint8_t		 pub[ARB_PUBKEY_LEN];
	int		 rv;

	if (er->receipt == NULL) {
		log_warnx("agent: enrolment reply carries no receipt from the "
		    "root: not enrolled");
		return ARB_EPROTO;
	}
	if ((rv = arb_receipt_open(a->keys, er->receipt, &rc)) != 0) {
		log_warnx("agent: enrolment reply not signed by the root "
		    "(%s): not enrolled", arb_strerror(rv));
		return rv;
	}
	if ((rv = arb_key_raw_public(a->key, pub)) == 0 && (rc->unknown ||
	    strcmp(rc->endpoint_id, a->id) != 0 ||
	    strcmp(er->endpoint_id, a->id) != 0 ||
	    memcmp(rc->pubkey.data, pub, ARB_PUBKEY_LEN) != 0)) {
		log_warnx("agent: enrolment reply's receipt names another "
		    "endpoint or key: not enrolled");
		rv = ARB_EPROTO;
	}
	if (rv == 0)
		token_groups(a, rc);
	arb_wire_free_receipt(rc);
	return rv;
}

/*
 * The reply to an enrolment (or a certificate renewal), on any link: 0
 * once it is checked and this endpoint counts itself enrolled, with the
 * certificate it carries taken; else an error, said.
 */
int
agent_enroll_reply(struct agent *a, int rv, Arbor__Envelope *env)
{
	if (rv != 0 && env != NULL) {
		log_warnx("agent: enrolment refused: %s", env->error->message);
		rv = ARB_EPERM;
	} else if (rv == 0 && (rv = enroll_check(a,
	    env->enroll_reply)) != 0)
		rv = ARB_EPERM;		/* said why */
	if (rv != 0) {
		if (rv != ARB_EPERM)
			log_warnx("agent: enrolment: %s", arb_strerror(rv));
		return rv;
	}
	if (env->enroll_reply->cert != NULL &&
	    env->enroll_reply->cert[0] != '\0' &&
	    (rv = agent_cert_take(a, env->enroll_reply->cert)) != 0)
		return rv;
	if (a->enrolled)
		return 0;
	if ((rv = arb_store_put(a->store, ARB_DB_META, "enrolled", 8, a->id,
	    strlen(a->id))) != 0)
		return rv;
	a->enrolled = 1;
	arb_queue_ok(&a->outbox);
	if (a->env && a->env->event)
		a->env->event(a->env->event_arg, "enrolled", "", a->index);
	else
		log_info("agent: enrolled as %s", a->id);
	return 0;
}

static void
enroll_cb(int rv, Arbor__Envelope *env, void *arg)
{
	struct agent	*a = arg;
	int		 was = a->enrolled;

	a->enrolling = 0;
	if (a->stopping)
		return;
	if ((rv = agent_enroll_reply(a, rv, env)) != 0) {
		agent_retry_later(a);
		return;
	}
	if (was)
		return;		/* a renewal */
	agent_flush(a);
}

/*
 * The signed enrolment of this endpoint, asking for a TLS certificate
 * when it takes one from enrolment.  Clear with agent_enrol_clear.
 */
int
agent_enrol_make(struct agent *a, struct agent_enrol *e)
{
	Arbor__EnrollBody	 b = ARBOR__ENROLL_BODY__INIT;
	uint8_t			 pub[ARB_PUBKEY_LEN];
	char			*csr = NULL;
	size_t			 len;
	int			 rv;

	memset(e, 0, sizeof(*e));
	arbor__envelope__init(&e->env);
	arbor__enroll__init(&e->en);
	arbor__signed__init(&e->sg);
	if (a->conf->token == NULL && !a->enrolled) {
		log_warnx("agent: no enroll_token configured: cannot enrol");
		return ARB_ECONFIG;
	}
	if ((rv = arb_key_raw_public(a->key, pub)) != 0 ||
	    (rv = agent_cert_request(a, &csr)) != 0)
		return rv;
	b.pubkey.data = pub;
	b.pubkey.len = sizeof(pub);
	b.endpoint_id = a->id;
	b.token = a->conf->token ? a->conf->token : "";
	b.hostname = a->node_id;
	b.at = (int64_t)time(NULL);
	b.csr = csr ? csr : "";
	if ((rv = arb_wire_encode_enroll(&b, &e->body, &len)) == 0)
		rv = arb_signed_make(a->key, e->body, len, &e->sg);
	free(csr);
	if (rv != 0) {
		agent_enrol_clear(e);
		return rv;
	}
	e->en.enroll = &e->sg;
	e->env.body_case = ARBOR__ENVELOPE__BODY_ENROLL;
	e->env.enroll = &e->en;
	return 0;
}

void
agent_enrol_clear(struct agent_enrol *e)
{
	arb_signed_clear(&e->sg);
	free(e->body);
	e->body = NULL;
}

/*
 * Enrol through the link (renew: again, for a new certificate, while
 * enrolled).
 */
static void
enroll_send(struct agent *a, int renew)
{
	struct agent_enrol	 e;
	int			 rv;

	if ((a->enrolled && !renew) || a->enrolling || a->stopping ||
	    a->cert_wait)
		return;
	if ((rv = agent_enrol_make(a, &e)) != 0) {
		if (rv != ARB_ECONFIG)
			log_warnx("agent: enrolment: %s", arb_strerror(rv));
		return;
	}
	if ((rv = arb_link_request(a->link, &e.env,
	    ARBOR__ENVELOPE__BODY_ENROLL_REPLY, enroll_cb, a)) == 0)
		a->enrolling = 1;
	else
		log_warnx("agent: enrolment: %s", arb_strerror(rv));
	agent_enrol_clear(&e);
}

void
agent_enroll(struct agent *a)
{
	enroll_send(a, 0);
}

void
agent_enroll_renew(struct agent *a)
{
	enroll_send(a, 1);
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

/*
 * A newer report of a policy replaces one not sent yet; when that one
 * carried the inventory's changes (inventory_report), the newer carries
 * them on: *oldp is the report replaced, whose parts r borrows until the
 * caller frees it, and "inv.sent" is moved to r's seq in t (*movedp).
 */
static int
outbox_carry(struct arb_txn *t, const char *key, size_t klen,
    Arbor__Report *r, Arbor__Report **oldp, int *movedp)
{
	Arbor__Report	*old;
	uint8_t		*v;
	void		*sv;
	size_t		 n, sn;
	int		 rv;

	*oldp = NULL;
	*movedp = 0;
	if (r->inventory_delta != NULL ||
	    arb_txn_get(t, ARB_DB_OUTBOX, key, klen, &sv, &sn) != 0)
		return 0;
	rv = sn > 8 ? arb_wire_decode_report((uint8_t *)sv + 8, sn - 8,
	    &old) : ARB_EPROTO;
	free(sv);
	if (rv != 0 || old->inventory_delta == NULL) {
		if (rv == 0)
			arb_wire_free_report(old);
		return 0;
	}
	if (arb_txn_get(t, ARB_DB_META, "inv.sent", 8, (void **)&v, &n) == 0) {
		if (n > 8 && arb_be64_get(v) == old->seq) {
			arb_be64_put(v, r->seq);
			rv = arb_txn_put(t, ARB_DB_META, "inv.sent", 8, v, n);
			*movedp = rv == 0;
		}
		free(v);
		if (rv != 0) {
			arb_wire_free_report(old);
			return rv;
		}
	}
	r->inventory_delta = old->inventory_delta;
	if (r->inventory == NULL)
		r->inventory = old->inventory;
	*oldp = old;
	return 0;
}

static int
outbox_add(struct agent *a, Arbor__Report *r)
{
	Arbor__Report	*old = NULL;
	struct arb_txn	*t;
	int		 moved = 0;
	uint8_t		*body = NULL, seqb[8];
	char		 key[ARB_MAX_ID + 4];
	uint64_t	 seq = 0;
	void		*v;
	size_t		 n, blen, klen;
	int		 rv;

	if ((klen = outbox_key(r->policy_id, key, sizeof(key))) == 0)
		return ARB_EINVAL;
	/* The relay in use: the root shows it (arborctl endpoints). */
	r->relay = (char *)arb_link_parent(a->link);
	if ((rv = arb_txn_begin(a->store, 1, &t)) != 0)
		return rv;
	if (arb_txn_get(t, ARB_DB_META, "seq", 3, &v, &n) == 0) {
		if (n == 8)
			seq = arb_be64_get(v);
		free(v);
	}
	r->seq = ++seq;
	arb_be64_put(seqb, seq);
	if ((rv = outbox_carry(t, key, klen, r, &old, &moved)) != 0 ||
	    (rv = arb_wire_encode_report(r, &body, &blen)) != 0) {
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
	if (old != NULL) {
		if (rv == 0 && moved)
			a->inv_sent_seq = seq;
		r->inventory = NULL;
		r->inventory_delta = NULL;
		arb_wire_free_report(old);
	}
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

/* The policy whose report carries the inventory sent (see inventory_report). */
#define INV_BY		"inv.by"

static void
inventory_by(struct agent *a, char by[ARB_MAX_ID + 1])
{
	void	*v;
	size_t	 n;

	by[0] = '\0';
	if (arb_store_get(a->store, ARB_DB_META, INV_BY, strlen(INV_BY), &v,
	    &n) != 0)
		return;
	if (n <= ARB_MAX_ID) {
		memcpy(by, v, n);
		by[n] = '\0';
	}
	free(v);
}

static int	inventory_report(struct agent *, Arbor__Report *);

/* What the endpoint is, in short: read from its facts. */
static void
inventory_fill(struct agent *a, Arbor__Inventory *inv, char **props)
{
	const struct agent_conf	*c = a->conf;
	const char		*v;
	char *const		*groups;
	size_t			 ngroups, i, n = 0;

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
	for (i = 0; props != NULL && i < c->nprops && i < AGENT_MAX_PROPS;
	    i++)
		if (asprintf(&props[n], "%s=%s", c->prop_keys[i],
		    c->prop_vals[i]) >= 0)
			n++;
	inv->props = props;
	inv->n_props = n;
}

static void
props_free(char **props, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(props[i]);
}

int
agent_report(struct agent *a, const char *policy, uint32_t version,
    uint64_t retry_seq, unsigned state, int exit_code, const char *detail)
{
	Arbor__Report		r = ARBOR__REPORT__INIT;
	char			clean[ARB_ACTION_OUTPUT_MAX];
	int			rv;

	r.endpoint_id = a->id;
	r.policy_id = (char *)policy;
	r.version = version;
	r.state = state;
	r.exit_code = exit_code;
	r.retry_seq = retry_seq;
	snprintf(clean, sizeof(clean), "%s", detail ? detail : "");
	r.detail = clean;
	r.at = (int64_t)time(NULL);
	/*
	 * After an action the endpoint changed: what it is now, and the
	 * changes of its inventory, go with the result, under its one
	 * signature.  Should that fail, the result goes alone.
	 */
	rv = -1;
	if (a->inventory_next) {
		a->inventory_next = 0;
		if ((rv = inventory_report(a, &r)) != 0)
			log_warnx("agent: policy %s v%u: inventory not sent "
			    "with the result: %s", policy, version,
			    arb_strerror(rv));
	}
	if (rv != 0) {
		r.inventory = NULL;
		r.inventory_delta = NULL;
		rv = outbox_add(a, &r);
	}
	if (rv != 0)
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

/*
 * The inventory report: the full inventory the first time, then the
 * changes against the one the root's receipts say it holds
 * (ARB_DB_META "inv.base"), with the digest of the new one.  The inventory
 * a report carries waits in "inv.sent" (its seq, then the encoded
 * inventory) until a receipt covers that seq.  A report that grows past
 * what a signed report may hold leaves packages out (truncated) rather
 * than fail.
 */
int
agent_report_inventory(struct agent *a)
{
	Arbor__Report	r = ARBOR__REPORT__INIT;

	r.endpoint_id = a->id;
	r.policy_id = (char *)"";
	r.detail = (char *)"";
	r.at = (int64_t)time(NULL);
	return inventory_report(a, &r);
}

/*
 * Queue r (an inventory report, or a policy's result) with the inventory
 * and its changes.  Which report carried them ("inv.by", its policy id;
 * "" or absent for an inventory report) says whose receipt covers them.
 */
static int
inventory_report(struct agent *a, Arbor__Report *r)
{
	Arbor__Inventory	 inv = ARBOR__INVENTORY__INIT;
	Arbor__InventoryDelta	*cur = NULL, *base = NULL;
	struct arb_inv_delta	 d;
	char			*props[AGENT_MAX_PROPS];
	uint8_t			*buf = NULL;
	void			*v;
	size_t			 n, len;
	int			 rv;

	memset(&d, 0, sizeof(d));
	if ((rv = arb_inv_collect(a->facts, &cur)) != 0) {
		log_warnx("agent: cannot collect the inventory: %s",
		    arb_strerror(rv));
		return rv;
	}
	if (arb_store_get(a->store, ARB_DB_META, "inv.base", 8, &v, &n) == 0) {
		if (arb_wire_decode_inv(v, n, &base) != 0)
			base = NULL;	/* then the full one */
		free(v);
	}
	for (;;) {
		if ((rv = arb_inv_diff(base, cur, &d)) != 0)
			goto out;
		inventory_fill(a, &inv, props);
		inv.packages = cur->packages;
		r->inventory = &inv;
		r->inventory_delta = &d.m;
		rv = outbox_add(a, r);
		r->inventory = NULL;
		r->inventory_delta = NULL;
		props_free(inv.props, inv.n_props);
		if (rv != ARB_ETOOBIG || cur->n_set == 0)
			break;
		/* Too big to sign: leave the last half of the packages out. */
		arb_inv_delta_clear(&d);
		cur->n_set /= 2;
		cur->truncated = 1;
		if ((rv = arb_inv_digest(cur->set, cur->n_set,
		    cur->digest.data)) != 0)
			goto out;
		log_warnx("agent: inventory too large to report: %zu "
		    "packages of %u", cur->n_set, cur->packages);
	}
	if (rv != 0)
		goto out;
	/* What the report carries, kept until the root says it took it. */
	a->inv_sent_seq = r->seq;
	if ((rv = arb_wire_encode_inv(cur, &buf, &len)) == 0 &&
	    (v = malloc(len + 8)) != NULL) {
		arb_be64_put(v, r->seq);
		memcpy((uint8_t *)v + 8, buf, len);
		rv = arb_store_put(a->store, ARB_DB_META, "inv.sent", 8, v,
		    len + 8);
		free(v);
		if (rv == 0)
			rv = arb_store_put(a->store, ARB_DB_META, INV_BY,
			    strlen(INV_BY), r->policy_id,
			    strlen(r->policy_id));
	}
out:
	free(buf);
	arb_inv_delta_clear(&d);
	arb_wire_free_inv(base);
	arb_inv_free(cur);
	agent_inventory_later(a);
	return rv;
}

static void
inv_timer_cb(uv_timer_t *t)
{
	(void)agent_report_inventory(t->data);
}

/*
 * The link moved to another relay: an inventory report soon (from the
 * loop, not from inside the link), so that the root learns, signed, which
 * relay the endpoint uses now.
 */
void
agent_relay_changed(void *arg)
{
	struct agent	*a = arg;

	if (a->stopping || a->inv.loop == NULL)
		return;
	uv_timer_start(&a->inv, inv_timer_cb, 0, 0);
}

/* The next inventory on the interval, jittered by a tenth of it. */
void
agent_inventory_later(struct agent *a)
{
	uint64_t	ms = (uint64_t)a->conf->inventory_ms, j = ms / 10;

	if (a->stopping || a->inv.loop == NULL)
		return;
	if (j > 0)
		ms = ms - j + (uint64_t)random() % (2 * j + 1);
	uv_timer_start(&a->inv, inv_timer_cb, ms, 0);
}

/*
 * A receipt says what the root holds of the inventory: the one sent, once
 * its seq is covered, becomes the base of the next delta; a receipt that
 * asks for a full inventory, once it covers the latest report (so that it
 * is not answered twice), clears the base and sends one.
 */
static void
inventory_receipt(struct agent *a, const Arbor__Receipt *rc)
{
	uint64_t	 taken;
	char		 by[ARB_MAX_ID + 1];
	void		*v;
	size_t		 n;

	inventory_by(a, by);
	taken = arb_receipt_seq(rc, by);
	if (rc->want_inventory) {
		if (taken < a->inv_sent_seq)
			return;		/* the latest has not reached it yet */
		log_info("agent: the root asks for the full inventory");
		(void)arb_store_del(a->store, ARB_DB_META, "inv.base", 8);
		(void)arb_store_del(a->store, ARB_DB_META, "inv.sent", 8);
		(void)agent_report_inventory(a);
		return;
	}
	if (arb_store_get(a->store, ARB_DB_META, "inv.sent", 8, &v, &n) != 0)
		return;
	if (n > 8 && taken >= arb_be64_get(v) &&
	    arb_store_put(a->store, ARB_DB_META, "inv.base", 8,
	    (uint8_t *)v + 8, n - 8) == 0)
		(void)arb_store_del(a->store, ARB_DB_META, "inv.sent", 8);
	free(v);
}

/* ---------------------------------------------------------------- flush */

/*
 * A report leaves the outbox when the root's signed receipt says the root
 * took it (or a newer one of its policy), not when the relay took it: a
 * relay can acknowledge a batch and drop it.  Until then it waits in
 * a->awaiting; if no receipt covers it within receipt_timeout it is sent
 * again, through the next relay.
 */
struct await {
	uint64_t	seq;
	uint64_t	sent_ms;
};

struct flush_arg {		/* the batch in flight */
	struct agent		*a;
	struct arb_queue_sent	 sent;
};

/* Forget that a report awaits its receipt, one way or the other. */
static void
await_drop(struct agent *a, const uint8_t *key, size_t klen)
{
	char	k[ARB_MAX_ID + 4];

	if (klen >= sizeof(k))
		return;
	memcpy(k, key, klen);
	k[klen] = '\0';
	free(arb_strmap_del(a->awaiting, k));
}

static void
await_note(struct agent *a, const struct arb_queue_item *it)
{
	struct await	*w;
	char		 k[ARB_MAX_ID + 4];

	if (it->klen >= sizeof(k) || (w = malloc(sizeof(*w))) == NULL)
		return;
	memcpy(k, it->key, it->klen);
	k[it->klen] = '\0';
	w->seq = it->seq;
	w->sent_ms = uv_now(a->loop);
	free(arb_strmap_del(a->awaiting, k));
	if (arb_strmap_put(a->awaiting, k, w, NULL) != 0)
		free(w);
}

/* The root no longer knows this endpoint: enrol again. */
static void
agent_unenrolled(struct agent *a, const char *why)
{
	if (!a->enrolled)
		return;
	log_warnx("agent: the root does not know this endpoint (%s): "
	    "enrolling again", why);
	a->enrolled = 0;
	(void)arb_store_del(a->store, ARB_DB_META, "enrolled", 8);
}

static int
covered_cb(const void *key, size_t klen, uint64_t seq, const uint8_t *data,
    size_t len, void *arg)
{
	const Arbor__Receipt	*rc = arg;
	char			 policy[ARB_MAX_ID + 1];

	(void)data;
	(void)len;
	if (klen < 2 || klen - 2 > ARB_MAX_ID)
		return 1;
	memcpy(policy, (const char *)key + 2, klen - 2);
	policy[klen - 2] = '\0';
	/* Revoked: the root takes none of them, now or later. */
	return rc->revoked || arb_receipt_seq(rc, policy) >= seq ? 0 : 1;
}

/*
 * A receipt came: check it is the root's and ours, then let go of every
 * report it covers.
 */
static void
agent_receipt(struct agent *a, const Arbor__Signed *sg)
{
	Arbor__Receipt		*rc;
	struct arb_queue_sent	 done;
	size_t			 i, n = 0;

	if (arb_receipt_open(a->keys, sg, &rc) != 0)
		return;		/* not the root's: ignored */
	if (strcmp(rc->endpoint_id, a->id) != 0) {
		arb_wire_free_receipt(rc);
		return;
	}
	if (rc->unknown) {
		agent_unenrolled(a, "its signed receipt says so");
		arb_wire_free_receipt(rc);
		return;
	}
	if (rc->revoked && !a->revoked) {
		log_warnx("agent: the root revoked this endpoint: it refuses "
		    "its reports (enrol again with a new key)");
		a->revoked = 1;
	}
	inventory_receipt(a, rc);
	token_groups(a, rc);
	if (arb_queue_collect(&a->outbox, OUTBOX_BATCH, SIZE_MAX, 0,
	    covered_cb, rc, &done) == 0) {
		if (arb_queue_ack(&a->outbox, &done, &n, NULL) == 0)
			for (i = 0; i < done.n; i++)
				await_drop(a, done.v[i].key, done.v[i].klen);
		arb_queue_sent_clear(&done);
	}
	if (n > 0)
		log_debug("agent: receipt: the root holds %zu more reports",
		    n);
	arb_wire_free_receipt(rc);
}

/*
 * The parent refused entry it of the batch: a report the root already
 * holds (or holds newer) is done; one from an endpoint the root does not
 * know makes the agent enrol again; any other stays in the outbox, said
 * in the log, and goes again with a later flush.
 */
static int
agent_refused(struct agent *a, const struct arb_queue_item *it, int code)
{
	log_warnx("agent: report seq %llu (%.*s) refused by %s: %s",
	    (unsigned long long)it->seq, (int)it->klen - 2,
	    (const char *)it->key + 2, arb_link_parent(a->link),
	    code == ARB_ESTALE ? "the root holds it or a newer one" :
	    arb_strerror(code));
	if (code == ARB_ENOTFOUND)
		agent_unenrolled(a, "it refused a report as unknown");
	/* Revoked: the root takes none of ours again; keep none. */
	return code == ARB_ESTALE || code == ARB_EREVOKED;
}

static void
flush_cb(int rv, Arbor__Envelope *env, void *arg)
{
	struct flush_arg	*fa = arg;
	struct agent		*a = fa->a;
	Arbor__ReportAck	*ack;
	struct arb_queue_sent	 done;
	uint8_t			*refused = NULL;
	size_t			 i;

	a->sending = 0;
	if (rv != 0) {
		if (!a->stopping)
			log_warnx("agent: reports not taken by the relay: %s",
			    arb_strerror(rv));
		arb_queue_sent_clear(&fa->sent);
		free(fa);
		agent_retry_later(a);	/* they stay; sent again later */
		return;
	}
	ack = env->report_ack;
	a->m_reports_sent += fa->sent.n;
	a->m_last_report = (int64_t)time(NULL);
	memset(&done, 0, sizeof(done));
	if (fa->sent.n > 0 && ((refused = calloc(fa->sent.n, 1)) == NULL ||
	    (done.v = calloc(fa->sent.n, sizeof(*done.v))) == NULL))
		goto out;
	for (i = 0; i < ack->n_refused; i++) {
		uint32_t x = ack->refused[i]->index;

		if (x >= fa->sent.n || refused[x])
			continue;
		refused[x] = 1;
		if (agent_refused(a, &fa->sent.v[x], ack->refused[i]->code))
			done.v[done.n++] = fa->sent.v[x];
	}
	if (ack->rejected > ack->n_refused)
		log_warnx("agent: %s refused %u reports without saying which: "
		    "all are kept", arb_link_parent(a->link), ack->rejected);
	/*
	 * The relay committed them; they wait in the outbox for the root's
	 * receipt.  Refused ones the root already holds are done.
	 */
	for (i = 0; i < fa->sent.n; i++)
		if (!refused[i] || ack->rejected > ack->n_refused)
			await_note(a, &fa->sent.v[i]);
	if (done.n > 0)
		(void)arb_queue_ack(&a->outbox, &done, NULL, NULL);
	for (i = 0; i < done.n; i++)
		await_drop(a, done.v[i].key, done.v[i].klen);
	free(done.v);		/* its keys are fa->sent's */
	done.v = NULL;
	arb_queue_ok(&a->outbox);
	for (i = 0; i < ack->n_receipts; i++)
		agent_receipt(a, ack->receipts[i]);
out:
	free(refused);
	free(done.v);
	arb_queue_sent_clear(&fa->sent);
	free(fa);
	if (a->stopping)
		return;
	if (!a->enrolled)
		agent_enroll(a);
	else
		agent_flush_later(a);
}

struct sign_arg {
	struct agent		 *a;
	Arbor__ReportEntry	**entries;
	Arbor__ReportEntry	 *store;
	Arbor__Signed		 *sigs;
	size_t			  n;
	uint64_t		  now;
	size_t			  late;		/* receipt overdue */
};

/*
 * Sign each waiting report as it goes out: those not sent yet, and those
 * whose receipt is overdue.
 */
static int
outbox_take_cb(const void *key, size_t klen, uint64_t seq,
    const uint8_t *data, size_t len, void *arg)
{
	struct sign_arg	*sa = arg;
	struct await	*w;
	char		 k[ARB_MAX_ID + 4];

	if (klen < sizeof(k)) {
		memcpy(k, key, klen);
		k[klen] = '\0';
		if ((w = arb_strmap_get(sa->a->awaiting, k)) != NULL &&
		    w->seq == seq) {
			if (sa->now - w->sent_ms <
			    (uint64_t)sa->a->conf->receipt_ms)
				return 1;
			sa->late++;
		}
	}
	if (arb_signed_make(sa->a->key, data, len, &sa->sigs[sa->n]) != 0)
		return 1;
	arbor__report_entry__init(&sa->store[sa->n]);
	sa->store[sa->n].report = &sa->sigs[sa->n];
	sa->entries[sa->n] = &sa->store[sa->n];
	sa->n++;
	return 0;
}

/* Flush again soon: to ask for the receipt that reports still wait for. */
void
agent_flush_later(struct agent *a)
{
	uint64_t due = AGENT_RECEIPT_POLL_MS;

	if (a->stopping || arb_strmap_count(a->awaiting) == 0)
		return;
	if (!uv_is_active((uv_handle_t *)&a->flush) ||
	    due < uv_timer_get_due_in(&a->flush))
		uv_timer_start(&a->flush, flush_timer_cb, due, 0);
}

void
agent_flush(struct agent *a)
{
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT;
	Arbor__ReportBatch	 b = ARBOR__REPORT_BATCH__INIT;
	struct sign_arg		 sa;
	struct flush_arg	*fa = NULL;
	char			*want = a->id;
	size_t			 i;

	if (a->stopping || a->sending || a->cert_wait)
		return;
	if (!a->enrolled) {
		agent_enroll(a);
		return;
	}
	memset(&sa, 0, sizeof(sa));
	sa.a = a;
	sa.now = uv_now(a->loop);
	sa.entries = calloc(OUTBOX_BATCH, sizeof(*sa.entries));
	sa.store = calloc(OUTBOX_BATCH, sizeof(*sa.store));
	sa.sigs = calloc(OUTBOX_BATCH, sizeof(*sa.sigs));
	if (!sa.entries || !sa.store || !sa.sigs ||
	    (fa = calloc(1, sizeof(*fa))) == NULL)
		goto out;
	/* A signed entry costs its signature and framing beyond the body. */
	if (arb_queue_collect(&a->outbox, OUTBOX_BATCH, OUTBOX_BYTES,
	    ARB_SIG_LEN + 16, outbox_take_cb, &sa, &fa->sent) != 0 ||
	    (sa.n == 0 && arb_strmap_count(a->awaiting) == 0))
		goto out;
	if (sa.late > 0) {
		log_warnx("agent: no receipt from the root for %zu reports "
		    "%llds after %s took them: sending them again", sa.late,
		    (long long)(a->conf->receipt_ms / 1000),
		    arb_link_parent(a->link));
		if (a->conf->up.nparents > 1 && sa.now - a->resent_ms >
		    (uint64_t)a->conf->receipt_ms / 2) {
			/* This relay's word does not hold: another's may. */
			a->resent_ms = sa.now;
			arb_link_skip(a->link, "reports it took never reached "
			    "the root");
		}
	}
	fa->a = a;
	b.entries = sa.entries;
	b.n_entries = sa.n;
	if (arb_strmap_count(a->awaiting) > 0) {
		b.want_receipts = &want;
		b.n_want_receipts = 1;
	}
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
