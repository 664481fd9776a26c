/*
 * Who may join the tree and who may no longer speak in it: the root's
 * enrolment tokens and its revoked endpoints.
 *
 * A token is random text that arborctl makes and writes to a file; the
 * root holds only its SHA-256, under an id made of the hash's first eight
 * bytes (in hex), so that an enrolment finds its token with one lookup and
 * the store never holds anything an agent could present.  A token may
 * name groups (given to every endpoint it enrols), expire, and allow a
 * number of uses; each enrolment takes one in the transaction that
 * enrols, except an enrolment again of an endpoint that already holds
 * that token (an agent that retries after a lost reply).
 *
 * A revoked endpoint keeps its record, marked: its reports are refused
 * (fanin.c) and so is an enrolment with its key, since its id derives
 * from the key.
 *
 * The judging (root_token_judge, root_token_take) needs only a store
 * transaction, so that tests drive it without a running root.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arbor/error.h"
#include "arbor/log.h"
#include "arbor/sig.h"
#include "root.h"

static const char *const root_enrol_names[ROOT_ENR_COUNT] = {
	[ROOT_ENR_TOKEN_UNKNOWN] = "unknown token",
	[ROOT_ENR_TOKEN_EXPIRED] = "token expired",
	[ROOT_ENR_TOKEN_USED] = "token used up",
	[ROOT_ENR_TOKEN_REVOKED] = "token revoked",
	[ROOT_ENR_REVOKED] = "endpoint revoked",
	[ROOT_ENR_INVALID] = "invalid",
};

static const char *const root_reject_names[ROOT_REJ_COUNT] = {
	[ROOT_REJ_REVOKED] = "revoked",
	[ROOT_REJ_UNKNOWN] = "unknown endpoint",
	[ROOT_REJ_BADSIG] = "bad signature",
	[ROOT_REJ_REPLAYED] = "replayed",
	[ROOT_REJ_MALFORMED] = "malformed",
	[ROOT_REJ_UNVERIFIED] = "unverified",
};

const char *
root_enrol_why_name(enum root_enrol_why w)
{
	return (unsigned)w < ROOT_ENR_COUNT ? root_enrol_names[w] : "invalid";
}

const char *
root_reject_why_name(enum root_reject_why w)
{
	return (unsigned)w < ROOT_REJ_COUNT ? root_reject_names[w] :
	    "malformed";
}

enum root_reject_why
root_reject_why(int code)
{
	switch (code) {
	case ARB_EREVOKED:
		return ROOT_REJ_REVOKED;
	case ARB_ENOTFOUND:
		return ROOT_REJ_UNKNOWN;
	case ARB_EBADSIG:
	case ARB_EUNKNOWNKEY:
		return ROOT_REJ_BADSIG;
	case ARB_ESTALE:
		return ROOT_REJ_REPLAYED;
	default:
		return ROOT_REJ_MALFORMED;
	}
}

void
root_token_id(const uint8_t sha[ARB_SHA256_LEN], char id[ROOT_TOKEN_ID_HEX])
{
	arb_hex(sha, ROOT_TOKEN_ID_LEN, id);
}

int
root_token_judge(const Arbor__TokenRecord *tk, int64_t now, int again,
    enum root_enrol_why *whyp)
{
	enum root_enrol_why why;

	if (tk->revoked)
		why = ROOT_ENR_TOKEN_REVOKED;
	else if (tk->expires != 0 && now >= tk->expires)
		why = ROOT_ENR_TOKEN_EXPIRED;
	else if (!again && tk->max_uses != 0 && tk->uses >= tk->max_uses)
		why = ROOT_ENR_TOKEN_USED;
	else
		return 0;
	*whyp = why;
	return ARB_EPERM;
}

static int
token_get(struct arb_txn *t, const char *id, Arbor__TokenRecord **tkp)
{
	void	*v;
	size_t	 n;
	int	 rv;

	if ((rv = arb_txn_get(t, ARB_DB_TOKENS, id, strlen(id), &v, &n)) != 0)
		return rv;
	rv = arb_wire_decode_token(v, n, tkp);
	free(v);
	return rv == 0 ? 0 : ARB_ECORRUPT;
}

static int
token_put(struct arb_txn *t, const Arbor__TokenRecord *tk)
{
	uint8_t	*buf;
	size_t	 len;
	int	 rv;

	if ((rv = arb_wire_encode_token(tk, &buf, &len)) != 0)
		return rv;
	rv = arb_txn_put(t, ARB_DB_TOKENS, tk->id, strlen(tk->id), buf, len);
	free(buf);
	return rv;
}

int
root_token_take(struct arb_txn *t, const char *token,
    const Arbor__EndpointRecord *old, int64_t now,
    Arbor__TokenRecord **tkp, enum root_enrol_why *whyp)
{
	Arbor__TokenRecord	*tk;
	uint8_t			 sha[ARB_SHA256_LEN];
	char			 id[ROOT_TOKEN_ID_HEX];
	int			 rv, again;

	if ((rv = arb_sha256(token, strlen(token), sha)) != 0)
		return rv;
	root_token_id(sha, id);
	if ((rv = token_get(t, id, &tk)) != 0) {
		if (rv != ARB_ENOTFOUND)
			return rv;
		*whyp = ROOT_ENR_TOKEN_UNKNOWN;
		return ARB_EPERM;
	}
	/* The id is the hash's prefix: the rest must match too. */
	if (tk->sha256.len != ARB_SHA256_LEN ||
	    memcmp(tk->sha256.data, sha, ARB_SHA256_LEN) != 0) {
		arb_wire_free_token(tk);
		*whyp = ROOT_ENR_TOKEN_UNKNOWN;
		return ARB_EPERM;
	}
	again = old != NULL && strcmp(old->token_id, tk->id) == 0;
	if ((rv = root_token_judge(tk, now, again, whyp)) != 0) {
		arb_wire_free_token(tk);
		return rv;
	}
	if (!again) {
		tk->uses++;
		if ((rv = token_put(t, tk)) != 0) {
			arb_wire_free_token(tk);
			return rv;
		}
	}
	*tkp = tk;
	return 0;
}

/* -------------------------------------------------------------- control */

/*
 * The record of id in t, or of the one whose id begins with id (at least
 * ROOT_PREFIX_MIN characters, as the views print them): 0 with *keyp
 * (the full id, malloc'd), ARB_ENOTFOUND, or ARB_EEXIST when the prefix
 * names several.
 */
#define ROOT_PREFIX_MIN	8

struct prefix_arg {
	char	*key;
	int	 n;
};

static int
prefix_cb(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg)
{
	struct prefix_arg *pa = arg;

	(void)val;
	(void)vlen;
	if (++pa->n > 1)
		return 1;
	if ((pa->key = strndup(key, klen)) == NULL)
		return -ENOMEM;
	return 0;
}

static int
find_key(struct arb_txn *t, enum arb_db db, const char *id, char **keyp)
{
	struct prefix_arg	 pa = { NULL, 0 };
	void			*v;
	size_t			 n;
	int			 rv;

	if (arb_txn_get(t, db, id, strlen(id), &v, &n) == 0) {
		free(v);
		return (*keyp = strdup(id)) == NULL ? -ENOMEM : 0;
	}
	if (strlen(id) < ROOT_PREFIX_MIN)
		return ARB_ENOTFOUND;
	if ((rv = arb_txn_foreach_prefix(t, db, id, strlen(id), prefix_cb,
	    &pa)) != 0) {
		free(pa.key);
		return rv;
	}
	if (pa.n != 1) {
		free(pa.key);
		return pa.n == 0 ? ARB_ENOTFOUND : ARB_EEXIST;
	}
	*keyp = pa.key;
	return 0;
}

/* Answer a find_key that failed: what was asked, and of which noun. */
static void
find_refuse(struct arb_req *req, int rv, const char *what, const char *noun)
{
	char	msg[128];

	if (rv == ARB_ENOTFOUND)
		snprintf(msg, sizeof(msg), "%s: no %s with that id", what,
		    noun);
	else if (rv == ARB_EEXIST)
		snprintf(msg, sizeof(msg), "%s: the id names several %ss; "
		    "give more of it", what, noun);
	else
		snprintf(msg, sizeof(msg), "%s", what);
	root_reply_error(req, rv == ARB_EEXIST ? ARB_EINVAL : rv, msg);
}

struct list_arg {
	Arbor__TokenRecord	**v;
	size_t			  n;
};

static int
list_cb(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg)
{
	struct list_arg	*la = arg;

	(void)key;
	(void)klen;
	if (la->n == ARB_TOKENS_MAX)
		return 1;
	if (arb_wire_decode_token(val, vlen, &la->v[la->n]) == 0) {
		/* Not a secret, but nothing arborctl needs either. */
		la->v[la->n]->sha256.len = 0;
		la->n++;
	}
	return 0;
}

static int
token_cmp(const void *a, const void *b)
{
	const Arbor__TokenRecord *x = *(Arbor__TokenRecord *const *)a;
	const Arbor__TokenRecord *y = *(Arbor__TokenRecord *const *)b;

	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return strcmp(x->id, y->id);
}

static void
token_reply(struct arb_req *req, Arbor__TokenRecord **v, size_t n,
    int64_t now)
{
	Arbor__Envelope		env = ARBOR__ENVELOPE__INIT;
	Arbor__TokenReply	tr = ARBOR__TOKEN_REPLY__INIT;
	size_t			i;

	for (i = 0; i < n; i++)
		v[i]->sha256.len = 0;
	tr.tokens = v;
	tr.n_tokens = n;
	tr.now = now;
	env.body_case = ARBOR__ENVELOPE__BODY_TOKEN_REPLY;
	env.token_reply = &tr;
	root_reply(req, &env);
}

/* Commit what the loop turn staged, then write in a transaction of ours. */
static int
ctl_begin(struct root *r, struct arb_txn **tp)
{
	(void)arb_group_commit(relay_core_commit_group(r->core));
	return arb_txn_begin(r->store, 1, tp);
}

static void
token_create(struct root *r, struct arb_req *req, const Arbor__TokenCtl *tc)
{
	Arbor__TokenRecord	 tk = ARBOR__TOKEN_RECORD__INIT, *v[1];
	struct arb_txn		*t;
	char			 id[ROOT_TOKEN_ID_HEX];
	void			*old;
	size_t			 n;
	int64_t			 now = (int64_t)time(NULL);
	int			 rv;

	if (tc->sha256.len != ARB_SHA256_LEN) {
		root_reply_error(req, ARB_EINVAL, "token create: no hash");
		return;
	}
	if (tc->expires_s < 0 || tc->expires_s > 100LL * 365 * 86400) {
		root_reply_error(req, ARB_EINVAL, "token create: expires "
		    "out of range");
		return;
	}
	root_token_id(tc->sha256.data, id);
	tk.id = id;
	tk.sha256 = tc->sha256;
	tk.groups = tc->groups;
	tk.n_groups = tc->n_groups;
	tk.created = now;
	tk.expires = tc->expires_s > 0 ? now + tc->expires_s : 0;
	tk.max_uses = tc->max_uses;
	if ((rv = ctl_begin(r, &t)) != 0) {
		root_reply_error(req, rv, "token create");
		return;
	}
	if (arb_txn_get(t, ARB_DB_TOKENS, id, strlen(id), &old, &n) == 0) {
		free(old);
		arb_txn_abort(t);
		root_reply_error(req, ARB_EEXIST, "token create: a token "
		    "with that id exists");
		return;
	}
	if ((rv = token_put(t, &tk)) != 0) {
		arb_txn_abort(t);
		root_reply_error(req, rv, "token create");
		return;
	}
	if ((rv = arb_txn_commit(t)) != 0) {
		root_reply_error(req, rv, "token create");
		return;
	}
	log_info("root: token %s created (%zu groups, %u uses, expires %lld)",
	    id, tk.n_groups, tk.max_uses, (long long)tk.expires);
	v[0] = &tk;
	token_reply(req, v, 1, now);
}

static void
token_list(struct root *r, struct arb_req *req)
{
	struct list_arg	 la = { NULL, 0 };
	struct arb_txn	*t;
	size_t		 i;
	int		 rv;

	if ((la.v = calloc(ARB_TOKENS_MAX + 1, sizeof(*la.v))) == NULL) {
		root_reply_error(req, -ENOMEM, "token list");
		return;
	}
	if ((rv = arb_txn_begin(r->store, 0, &t)) == 0) {
		rv = arb_txn_foreach(t, ARB_DB_TOKENS, list_cb, &la);
		arb_txn_abort(t);
	}
	if (rv != 0)
		root_reply_error(req, rv, "token list");
	else {
		qsort(la.v, la.n, sizeof(*la.v), token_cmp);
		token_reply(req, la.v, la.n, (int64_t)time(NULL));
	}
	for (i = 0; i < la.n; i++)
		arb_wire_free_token(la.v[i]);
	free(la.v);
}

static void
token_revoke(struct root *r, struct arb_req *req, const char *id)
{
	Arbor__TokenRecord	*tk = NULL;
	struct arb_txn		*t;
	char			*key = NULL;
	int64_t			 now = (int64_t)time(NULL);
	int			 rv;

	if ((rv = ctl_begin(r, &t)) != 0) {
		root_reply_error(req, rv, "token revoke");
		return;
	}
	if ((rv = find_key(t, ARB_DB_TOKENS, id, &key)) != 0) {
		arb_txn_abort(t);
		find_refuse(req, rv, "token revoke", "token");
		return;
	}
	if ((rv = token_get(t, key, &tk)) != 0)
		goto fail;
	if (!tk->revoked) {
		tk->revoked = 1;
		tk->revoked_at = now;
		if ((rv = token_put(t, tk)) != 0)
			goto fail;
	}
	if ((rv = arb_txn_commit(t)) != 0) {
		t = NULL;
		goto fail;
	}
	log_info("root: token %s revoked", key);
	token_reply(req, &tk, 1, now);
	arb_wire_free_token(tk);
	free(key);
	return;
fail:
	if (t != NULL)
		arb_txn_abort(t);
	root_reply_error(req, rv, "token revoke");
	arb_wire_free_token(tk);
	free(key);
}

void
root_token_ctl(struct root *r, struct arb_req *req, const Arbor__TokenCtl *tc)
{
	if (strcmp(tc->op, "create") == 0)
		token_create(r, req, tc);
	else if (strcmp(tc->op, "list") == 0)
		token_list(r, req);
	else if (strcmp(tc->op, "revoke") == 0 && tc->id[0] != '\0')
		token_revoke(r, req, tc->id);
	else
		root_reply_error(req, ARB_EINVAL, "token: op must be create, "
		    "list or revoke ID");
}

void
root_endpoint_revoke(struct root *r, struct arb_req *req,
    const Arbor__EndpointRevoke *er)
{
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT;
	Arbor__Done		 d = ARBOR__DONE__INIT;
	Arbor__EndpointRecord	*rec = NULL;
	struct arb_txn		*t;
	uint8_t			*buf = NULL;
	char			*key = NULL, detail[ARB_MAX_ID + 32];
	void			*v;
	size_t			 n, len;
	int			 rv, already = 0;

	if ((rv = ctl_begin(r, &t)) != 0) {
		root_reply_error(req, rv, "endpoint revoke");
		return;
	}
	if ((rv = find_key(t, ARB_DB_ENDPOINTS, er->endpoint_id,
	    &key)) != 0) {
		arb_txn_abort(t);
		find_refuse(req, rv, "endpoint revoke", "endpoint");
		return;
	}
	if ((rv = arb_txn_get(t, ARB_DB_ENDPOINTS, key, strlen(key), &v,
	    &n)) != 0)
		goto fail;
	rv = arb_wire_decode_eprec(v, n, &rec);
	free(v);
	if (rv != 0)
		goto fail;
	if (rec->revoked)
		already = 1;
	else {
		rec->revoked = 1;
		rec->revoked_at = (int64_t)time(NULL);
		/* free_unpacked frees it, unless it is protobuf-c's "". */
		if (rec->revoked_reason != protobuf_c_empty_string)
			free(rec->revoked_reason);
		if ((rec->revoked_reason = strdup(er->reason)) == NULL) {
			rv = -ENOMEM;
			goto fail;
		}
		if ((rv = arb_wire_encode_eprec(rec, &buf, &len)) != 0 ||
		    (rv = arb_txn_put(t, ARB_DB_ENDPOINTS, key, strlen(key),
		    buf, len)) != 0)
			goto fail;
	}
	if ((rv = arb_txn_commit(t)) != 0) {
		t = NULL;
		goto fail;
	}
	if (!already)
		log_info("root: endpoint %s (%s) revoked%s%s", key,
		    rec->hostname, er->reason[0] ? ": " : "", er->reason);
	snprintf(detail, sizeof(detail), "%s %s", key, already ?
	    "was already revoked" : "revoked");
	d.seq = r->head ? r->head->seq : 0;
	d.detail = detail;
	env.body_case = ARBOR__ENVELOPE__BODY_DONE;
	env.done = &d;
	root_reply(req, &env);
	goto out;
fail:
	if (t != NULL)
		arb_txn_abort(t);
	root_reply_error(req, rv, "endpoint revoke");
out:
	arb_wire_free_eprec(rec);
	free(buf);
	free(key);
}
