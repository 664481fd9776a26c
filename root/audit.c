/*
 * The root's audit trail: every operator action, taken through the HTTP
 * API or with arborctl on the control socket, durably, with its time,
 * who took it (the API token's name and role; the uid arborctl ran as),
 * what was done to what, and how it ended.
 *
 * Records are keyed by the time in ms (8 bytes big-endian) and a counter
 * (4 bytes), so that key order is time order.  At most ROOT_AUDIT_MAX are
 * kept: each record past it drops the oldest, so that the trail's size is
 * bounded whatever an operator's script does.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arbor/error.h"
#include "arbor/log.h"
#include "root.h"

#define AUDIT_KEY_LEN		12
#define AUDIT_LIST_DEFAULT	1000

static int64_t
audit_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The oldest record's key, to drop it. */
static int
oldest_cb(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg)
{
	(void)val;
	(void)vlen;
	if (klen == AUDIT_KEY_LEN)
		memcpy(arg, key, AUDIT_KEY_LEN);
	return 1;
}

static void
audit_clip(char *s, size_t max)
{
	size_t	n = strlen(s);

	if (n <= max)
		return;
	/* Cut on a character's first byte: the record stays UTF-8. */
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	s[n] = '\0';
}

void
root_audit_add(struct root *r, const char *token, const char *role,
    const char *action, const char *target, unsigned status,
    const char *detail)
{
	static uint32_t		 seq;
	Arbor__AuditRecord	 a = ARBOR__AUDIT_RECORD__INIT;
	struct arb_txn		*t;
	uint8_t			 key[AUDIT_KEY_LEN], old[AUDIT_KEY_LEN];
	uint8_t			*buf = NULL;
	char			 tgt[ARB_MAX_ID + 1], det[ARB_MAX_ID * 8 + 1];
	uint64_t		 n;
	size_t			 len;
	int			 rv;

	snprintf(tgt, sizeof(tgt), "%s", target);
	snprintf(det, sizeof(det), "%s", detail);
	audit_clip(tgt, ARB_MAX_ID);
	audit_clip(det, ARB_MAX_ID * 8);
	a.time_ms = audit_now_ms();
	a.token = (char *)token;
	a.role = (char *)role;
	a.action = (char *)action;
	a.target = tgt;
	a.status = status;
	a.detail = det;
	log_info("root: audit: %s (%s): %s %s: %u %s", token, role, action,
	    tgt, status, det);
	arb_be64_put(key, (uint64_t)a.time_ms);
	seq++;
	key[8] = (uint8_t)(seq >> 24);
	key[9] = (uint8_t)(seq >> 16);
	key[10] = (uint8_t)(seq >> 8);
	key[11] = (uint8_t)seq;
	if ((rv = arb_wire_encode_audit(&a, &buf, &len)) != 0)
		goto fail;
	if ((rv = root_write_begin(r, &t)) != 0)
		goto fail;
	if ((rv = arb_txn_count(t, ARB_DB_AUDIT, &n)) != 0 ||
	    (n >= ROOT_AUDIT_MAX && ((rv = arb_txn_foreach(t, ARB_DB_AUDIT,
	    oldest_cb, old)) != 0 || (rv = arb_txn_del(t, ARB_DB_AUDIT, old,
	    sizeof(old))) != 0)) ||
	    (rv = arb_txn_put(t, ARB_DB_AUDIT, key, sizeof(key), buf,
	    len)) != 0) {
		arb_txn_abort(t);
		goto fail;
	}
	if ((rv = arb_txn_commit(t)) != 0)
		goto fail;
	free(buf);
	return;
fail:
	log_warnx("root: audit: %s %s: not recorded: %s", action, tgt,
	    arb_strerror(rv));
	free(buf);
}

unsigned
root_error_status(int code)
{
	return code == ARB_ENOTFOUND ? 404 : 400;
}

/* op as an action's word when it looks like one ([a-z-]), else "?". */
static const char *
audit_word(const char *op)
{
	size_t	i, n = strlen(op);

	if (n == 0 || n > 24)
		return "?";
	for (i = 0; i < n; i++)
		if ((op[i] < 'a' || op[i] > 'z') && op[i] != '-')
			return "?";
	return op;
}

static int
audit_set(struct root_audit_what *w, const char *what, const char *op,
    const char *target)
{
	snprintf(w->action, sizeof(w->action), "%s%s%s", what,
	    op != NULL ? " " : "", op != NULL ? audit_word(op) : "");
	snprintf(w->target, sizeof(w->target), "%s", target);
	audit_clip(w->target, ARB_MAX_ID);
	return 1;
}

/* An endpoint's id, or "group:G": what a lock or an exemption names. */
static void
audit_who_of(const char *endpoint_id, const char *group, char *out,
    size_t len)
{
	if (endpoint_id[0] != '\0' || group[0] == '\0')
		snprintf(out, len, "%s", endpoint_id);
	else
		snprintf(out, len, "group:%s", group);
}

/* A new enrolment token's groups: "groups a, b". */
static void
audit_groups(const Arbor__TokenCtl *tc, char *out, size_t len)
{
	size_t	i, n;

	out[0] = '\0';
	for (i = 0; i < tc->n_groups; i++) {
		n = strlen(out);
		snprintf(out + n, len - n, "%s%s", i == 0 ? "groups " : ", ",
		    tc->groups[i]);
	}
	audit_clip(out, len - 1);
}

static int
audit_compliance(const Arbor__ComplianceCtl *c, struct root_audit_what *w)
{
	static const char *const ops[][2] = {
		{ "baseline-set", "baseline set" },
		{ "baseline-rm", "baseline rm" },
		{ "exempt-set", "exempt" },
		{ "exempt-rm", "exempt rm" },
	};
	char	tgt[2 * ARB_MAX_ID + 8] = "";
	size_t	i;

	if (strcmp(c->op, "list") == 0)
		return 0;
	if (c->baseline != NULL)
		snprintf(tgt, sizeof(tgt), "%s", c->baseline->name);
	else if (c->exemption != NULL)
		audit_who_of(c->exemption->endpoint_id, c->exemption->group,
		    tgt, sizeof(tgt));
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(c->op, ops[i][0]) == 0)
			return audit_set(w, ops[i][1], NULL, tgt);
	return audit_set(w, "compliance", c->op, tgt);
}

int
root_audit_what(const Arbor__Envelope *env, struct root_audit_what *w)
{
	char	tgt[2 * ARB_MAX_ID + 8] = "";

	memset(w, 0, sizeof(*w));
	switch (env->body_case) {
	case ARBOR__ENVELOPE__BODY_PUBLISH:
		if (env->publish->policy == NULL)
			return audit_set(w, "publish", NULL, "");
		snprintf(w->note, sizeof(w->note), "v%u",
		    env->publish->policy->version);
		return audit_set(w, "publish", NULL, env->publish->policy->id);
	case ARBOR__ENVELOPE__BODY_RETIRE:
		return audit_set(w, "retire", NULL, env->retire->id);
	case ARBOR__ENVELOPE__BODY_PUSH:
		return audit_set(w, "push", NULL, env->push->id);
	case ARBOR__ENVELOPE__BODY_ROLLBACK:
		return audit_set(w, "rollback", NULL, env->rollback->id);
	case ARBOR__ENVELOPE__BODY_KEY_ROTATE:
		return audit_set(w, "key rotate", NULL,
		    env->key_rotate->key_path);
	case ARBOR__ENVELOPE__BODY_ROLLOUT_CTL:
		if (strcmp(env->rollout_ctl->op, "status") == 0)
			return 0;
		return audit_set(w, "rollout", env->rollout_ctl->op,
		    env->rollout_ctl->id);
	case ARBOR__ENVELOPE__BODY_TOKEN_CTL:
		if (strcmp(env->token_ctl->op, "list") == 0)
			return 0;
		/* Named by its id, never by what it is made of. */
		if (strcmp(env->token_ctl->op, "create") == 0) {
			if (env->token_ctl->sha256.len == ARB_SHA256_LEN)
				root_token_id(env->token_ctl->sha256.data, tgt);
			audit_groups(env->token_ctl, w->note,
			    sizeof(w->note));
		} else
			snprintf(tgt, sizeof(tgt), "%s", env->token_ctl->id);
		return audit_set(w, "token", env->token_ctl->op, tgt);
	case ARBOR__ENVELOPE__BODY_ENDPOINT_REVOKE:
		snprintf(w->note, sizeof(w->note), "%s",
		    env->endpoint_revoke->reason);
		return audit_set(w, "endpoint revoke", NULL,
		    env->endpoint_revoke->endpoint_id);
	case ARBOR__ENVELOPE__BODY_COMPLIANCE_CTL:
		return audit_compliance(env->compliance_ctl, w);
	case ARBOR__ENVELOPE__BODY_LOCK_CTL:
		if (strcmp(env->lock_ctl->op, "list") == 0)
			return 0;
		if (env->lock_ctl->lock != NULL) {
			audit_who_of(env->lock_ctl->lock->endpoint_id,
			    env->lock_ctl->lock->group, tgt, sizeof(tgt));
			snprintf(w->note, sizeof(w->note), "%s",
			    env->lock_ctl->lock->reason);
		}
		return audit_set(w, "endpoint", env->lock_ctl->op, tgt);
	case ARBOR__ENVELOPE__BODY_API_TOKEN_CTL:
		if (strcmp(env->api_token_ctl->op, "list") == 0)
			return 0;
		if (strcmp(env->api_token_ctl->op, "create") == 0)
			snprintf(w->note, sizeof(w->note), "role %s",
			    audit_word(env->api_token_ctl->role));
		return audit_set(w, "api-token", env->api_token_ctl->op,
		    env->api_token_ctl->name);
	case ARBOR__ENVELOPE__BODY_REPORT_BATCH:
		snprintf(w->note, sizeof(w->note), "%zu reports",
		    env->report_batch->n_entries);
		return audit_set(w, "import-reports", NULL, "");
	default:
		return 0;	/* a read, a blob's chunk, or no request */
	}
}

struct audit_list {
	Arbor__AuditRecord	**ring;
	size_t			  max, n, next;
};

static int
list_cb(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg)
{
	struct audit_list	*al = arg;
	Arbor__AuditRecord	*a;

	(void)key;
	(void)klen;
	if (arb_wire_decode_audit(val, vlen, &a) != 0)
		return 0;
	/* Keep the newest max: a ring over the records in time order. */
	arb_wire_free_audit(al->ring[al->next]);
	al->ring[al->next] = a;
	al->next = (al->next + 1) % al->max;
	if (al->n < al->max)
		al->n++;
	return 0;
}

void
root_get_audit(struct root *r, struct arb_req *req, const Arbor__GetAudit *ga)
{
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT;
	Arbor__AuditReply	 ar = ARBOR__AUDIT_REPLY__INIT;
	Arbor__AuditRecord	**v = NULL;
	struct audit_list	 al;
	struct arb_txn		*t;
	size_t			 i;
	int			 rv;

	memset(&al, 0, sizeof(al));
	al.max = ga->limit == 0 ? AUDIT_LIST_DEFAULT : ga->limit;
	if (al.max > ARB_AUDIT_REPLY_MAX)
		al.max = ARB_AUDIT_REPLY_MAX;
	if ((al.ring = calloc(al.max, sizeof(*al.ring))) == NULL ||
	    (v = calloc(al.max, sizeof(*v))) == NULL) {
		root_reply_error(req, -ENOMEM, "audit");
		goto out;
	}
	if ((rv = arb_txn_begin(r->store, 0, &t)) == 0) {
		rv = arb_txn_foreach(t, ARB_DB_AUDIT, list_cb, &al);
		arb_txn_abort(t);
	}
	if (rv != 0) {
		root_reply_error(req, rv, "audit");
		goto out;
	}
	/* Newest first. */
	for (i = 0; i < al.n; i++)
		v[i] = al.ring[(al.next + al.max - 1 - i) % al.max];
	ar.records = v;
	ar.n_records = al.n;
	env.body_case = ARBOR__ENVELOPE__BODY_AUDIT_REPLY;
	env.audit_reply = &ar;
	root_reply(req, &env);
out:
	for (i = 0; al.ring != NULL && i < al.max; i++)
		arb_wire_free_audit(al.ring[i]);
	free(al.ring);
	free(v);
}
