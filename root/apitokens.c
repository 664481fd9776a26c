/*
 * Who may use the root's HTTP API: its tokens and their roles.
 *
 * arborctl api-token create makes a token ("arb_" and 32 random bytes in
 * hex), prints it once and sends the root only its SHA-256, which the root
 * stores under the token's name with its role (viewer or operator), when
 * it was made and when it was last used.  A request presents the token as
 * "Authorization: Bearer arb_..."; the root hashes what it got and
 * compares the hash with every stored one in constant time, so that
 * neither the lookup nor the comparison tells a guesser how close it came.
 *
 * A revoked token keeps its record, marked, so that the list and the
 * audit records still name it; a new token may take a revoked token's
 * name.  Once any token record exists, every request needs a token.
 *
 * last_used is written at most once a minute per token: a busy console
 * must not cost a commit (an fsync) per request.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arbor/error.h"
#include "arbor/log.h"
#include "arbor/sig.h"
#include "root.h"

#define APITOKEN_USED_EVERY	60	/* seconds between last_used writes */

static const char *const root_role_names[] = {
	[ROOT_ROLE_NONE] = "none",
	[ROOT_ROLE_VIEWER] = "viewer",
	[ROOT_ROLE_OPERATOR] = "operator",
};

const char *
root_role_name(enum root_role role)
{
	return (unsigned)role <= ROOT_ROLE_OPERATOR ? root_role_names[role] :
	    "none";
}

int
root_role_parse(const char *s, enum root_role *rolep)
{
	if (strcmp(s, "viewer") == 0)
		*rolep = ROOT_ROLE_VIEWER;
	else if (strcmp(s, "operator") == 0)
		*rolep = ROOT_ROLE_OPERATOR;
	else
		return ARB_EINVAL;
	return 0;
}

int
root_apitoken_name_valid(const char *s)
{
	size_t	i, n = strlen(s);

	if (n == 0 || n > ROOT_APITOKEN_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_' && s[i] != '.' && s[i] != '@')
			return 0;
	return 1;
}

int
root_write_begin(struct root *r, struct arb_txn **tp)
{
	/* What the loop turn staged goes first: its replies wait on it. */
	(void)arb_group_commit(relay_core_commit_group(r->core));
	return arb_txn_begin(r->store, 1, tp);
}

static int
apitoken_get(struct arb_txn *t, const char *name, Arbor__ApiToken **tkp)
{
	void	*v;
	size_t	 n;
	int	 rv;

	if ((rv = arb_txn_get(t, ARB_DB_APITOKENS, name, strlen(name), &v,
	    &n)) != 0)
		return rv;
	rv = arb_wire_decode_apitoken(v, n, tkp);
	free(v);
	return rv == 0 ? 0 : ARB_ECORRUPT;
}

static int
apitoken_put(struct arb_txn *t, const Arbor__ApiToken *tk)
{
	uint8_t	*buf;
	size_t	 len;
	int	 rv;

	if ((rv = arb_wire_encode_apitoken(tk, &buf, &len)) != 0)
		return rv;
	rv = arb_txn_put(t, ARB_DB_APITOKENS, tk->name, strlen(tk->name), buf,
	    len);
	free(buf);
	return rv;
}

/* ------------------------------------------------------------- judging */

struct auth_arg {
	const uint8_t	*sha;
	Arbor__ApiToken	*found;
	int		 err;
};

static int
auth_cb(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg)
{
	struct auth_arg	*aa = arg;
	Arbor__ApiToken	*tk;

	(void)key;
	(void)klen;
	if (arb_wire_decode_apitoken(val, vlen, &tk) != 0) {
		aa->err = ARB_ECORRUPT;
		return 0;
	}
	/* Every record is compared: the time does not say which matched. */
	if (tk->sha256.len == ARB_SHA256_LEN &&
	    arb_ct_equal(tk->sha256.data, aa->sha, ARB_SHA256_LEN) &&
	    aa->found == NULL)
		aa->found = tk;
	else
		arb_wire_free_apitoken(tk);
	return 0;
}

/* Note that name was used now, at most once a minute. */
static void
apitoken_used(struct root *r, Arbor__ApiToken *tk, int64_t now)
{
	struct arb_txn	*t;
	Arbor__ApiToken	*cur;
	int		 rv;

	if (now - tk->last_used < APITOKEN_USED_EVERY)
		return;
	if ((rv = root_write_begin(r, &t)) != 0)
		goto fail;
	if ((rv = apitoken_get(t, tk->name, &cur)) != 0) {
		arb_txn_abort(t);
		goto fail;
	}
	cur->last_used = now;
	if ((rv = apitoken_put(t, cur)) != 0) {
		arb_wire_free_apitoken(cur);
		arb_txn_abort(t);
		goto fail;
	}
	arb_wire_free_apitoken(cur);
	if ((rv = arb_txn_commit(t)) != 0)
		goto fail;
	return;
fail:
	log_warnx("root: api token %s: last used: %s", tk->name,
	    arb_strerror(rv));
}

int
root_api_auth(struct root *r, const char *header, struct root_api_who *who)
{
	struct auth_arg	 aa;
	struct arb_txn	*t;
	uint8_t		 sha[ARB_SHA256_LEN];
	uint64_t	 n = 0;
	int		 rv, bad;

	memset(&aa, 0, sizeof(aa));
	memset(who, 0, sizeof(*who));
	bad = root_api_bearer(header, sha) != 0;
	aa.sha = sha;
	if ((rv = arb_txn_begin(r->store, 0, &t)) != 0)
		return rv;
	if ((rv = arb_txn_count(t, ARB_DB_APITOKENS, &n)) == 0 && n > 0 &&
	    !bad)
		rv = arb_txn_foreach(t, ARB_DB_APITOKENS, auth_cb, &aa);
	arb_txn_abort(t);
	if (rv != 0) {
		arb_wire_free_apitoken(aa.found);
		return rv;
	}
	if (n == 0) {
		who->why = "no API token exists";
		return ARB_ENOTFOUND;
	}
	if (header == NULL)
		who->why = "this request needs a token (Authorization: Bearer "
		    "arb_...)";
	else if (bad)
		who->why = "malformed Authorization: want Bearer and an arb_ "
		    "token";
	else if (aa.found == NULL)
		who->why = "unknown token";
	else if (aa.found->revoked)
		who->why = "token revoked";
	else if (root_role_parse(aa.found->role, &who->role) != 0)
		who->why = "token of no known role";
	else {
		snprintf(who->name, sizeof(who->name), "%s", aa.found->name);
		apitoken_used(r, aa.found, (int64_t)time(NULL));
		arb_wire_free_apitoken(aa.found);
		return 0;
	}
	who->role = ROOT_ROLE_NONE;
	arb_wire_free_apitoken(aa.found);
	return ARB_EPERM;
}

/* -------------------------------------------------------------- control */

static void
apitoken_reply(struct arb_req *req, Arbor__ApiToken **v, size_t n,
    int64_t now)
{
	Arbor__Envelope		env = ARBOR__ENVELOPE__INIT;
	Arbor__ApiTokenReply	tr = ARBOR__API_TOKEN_REPLY__INIT;
	size_t			i;

	for (i = 0; i < n; i++)
		v[i]->sha256.len = 0;	/* not a secret, but nobody's either */
	tr.tokens = v;
	tr.n_tokens = n;
	tr.now = now;
	env.body_case = ARBOR__ENVELOPE__BODY_API_TOKEN_REPLY;
	env.api_token_reply = &tr;
	root_reply(req, &env);
}

static void
apitoken_create(struct root *r, struct arb_req *req,
    const Arbor__ApiTokenCtl *tc)
{
	Arbor__ApiToken	 tk = ARBOR__API_TOKEN__INIT, *old = NULL, *v[1];
	enum root_role	 role;
	struct arb_txn	*t;
	uint64_t	 n;
	int64_t		 now = (int64_t)time(NULL);
	int		 rv;

	if (tc->sha256.len != ARB_SHA256_LEN) {
		root_reply_error(req, ARB_EINVAL, "api-token create: no hash");
		return;
	}
	if (!root_apitoken_name_valid(tc->name)) {
		root_reply_refuse(req, ARB_EINVAL, "api-token create: name: "
		    "1 to %d of A-Z a-z 0-9 . _ - @", ROOT_APITOKEN_NAME_MAX);
		return;
	}
	if (root_role_parse(tc->role, &role) != 0) {
		root_reply_error(req, ARB_EINVAL, "api-token create: role: "
		    "viewer or operator");
		return;
	}
	tk.name = tc->name;
	tk.role = (char *)root_role_name(role);
	tk.sha256 = tc->sha256;
	tk.created = now;
	if ((rv = root_write_begin(r, &t)) != 0) {
		root_reply_error(req, rv, "api-token create");
		return;
	}
	if ((rv = apitoken_get(t, tc->name, &old)) == 0 && !old->revoked) {
		arb_wire_free_apitoken(old);
		arb_txn_abort(t);
		root_reply_refuse(req, ARB_EEXIST, "api-token create: %s: a "
		    "token of that name exists (revoke it first)", tc->name);
		return;
	}
	arb_wire_free_apitoken(old);
	if ((rv != 0 && rv != ARB_ENOTFOUND) ||
	    (rv = arb_txn_count(t, ARB_DB_APITOKENS, &n)) != 0) {
		arb_txn_abort(t);
		root_reply_error(req, rv, "api-token create");
		return;
	}
	if (n >= ARB_APITOKENS_MAX) {
		arb_txn_abort(t);
		root_reply_refuse(req, ARB_ETOOBIG, "api-token create: %d "
		    "tokens already", ARB_APITOKENS_MAX);
		return;
	}
	if ((rv = apitoken_put(t, &tk)) != 0) {
		arb_txn_abort(t);
		root_reply_error(req, rv, "api-token create");
		return;
	}
	if ((rv = arb_txn_commit(t)) != 0) {
		root_reply_error(req, rv, "api-token create");
		return;
	}
	log_info("root: api token %s created, role %s", tk.name, tk.role);
	v[0] = &tk;
	apitoken_reply(req, v, 1, now);
}

struct list_arg {
	Arbor__ApiToken	**v;
	size_t		  n;
};

static int
list_cb(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg)
{
	struct list_arg	*la = arg;

	(void)key;
	(void)klen;
	if (la->n == ARB_APITOKENS_MAX)
		return 1;
	if (arb_wire_decode_apitoken(val, vlen, &la->v[la->n]) == 0)
		la->n++;
	return 0;
}

static int
apitoken_cmp(const void *a, const void *b)
{
	const Arbor__ApiToken *x = *(Arbor__ApiToken *const *)a;
	const Arbor__ApiToken *y = *(Arbor__ApiToken *const *)b;

	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return strcmp(x->name, y->name);
}

static void
apitoken_list(struct root *r, struct arb_req *req)
{
	struct list_arg	 la = { NULL, 0 };
	struct arb_txn	*t;
	size_t		 i;
	int		 rv;

	if ((la.v = calloc(ARB_APITOKENS_MAX + 1, sizeof(*la.v))) == NULL) {
		root_reply_error(req, -ENOMEM, "api-token list");
		return;
	}
	if ((rv = arb_txn_begin(r->store, 0, &t)) == 0) {
		rv = arb_txn_foreach(t, ARB_DB_APITOKENS, list_cb, &la);
		arb_txn_abort(t);
	}
	if (rv != 0)
		root_reply_error(req, rv, "api-token list");
	else {
		qsort(la.v, la.n, sizeof(*la.v), apitoken_cmp);
		apitoken_reply(req, la.v, la.n, (int64_t)time(NULL));
	}
	for (i = 0; i < la.n; i++)
		arb_wire_free_apitoken(la.v[i]);
	free(la.v);
}

static void
apitoken_revoke(struct root *r, struct arb_req *req, const char *name)
{
	Arbor__ApiToken	*tk = NULL;
	struct arb_txn	*t;
	int64_t		 now = (int64_t)time(NULL);
	int		 rv;

	if ((rv = root_write_begin(r, &t)) != 0) {
		root_reply_error(req, rv, "api-token revoke");
		return;
	}
	if ((rv = apitoken_get(t, name, &tk)) != 0) {
		arb_txn_abort(t);
		if (rv == ARB_ENOTFOUND)
			root_reply_refuse(req, rv, "api-token revoke: %s: no "
			    "token of that name", name);
		else
			root_reply_error(req, rv, "api-token revoke");
		return;
	}
	if (!tk->revoked) {
		tk->revoked = 1;
		tk->revoked_at = now;
		if ((rv = apitoken_put(t, tk)) != 0) {
			arb_txn_abort(t);
			goto fail;
		}
	}
	if ((rv = arb_txn_commit(t)) != 0)
		goto fail;
	log_info("root: api token %s revoked", tk->name);
	apitoken_reply(req, &tk, 1, now);
	arb_wire_free_apitoken(tk);
	return;
fail:
	root_reply_error(req, rv, "api-token revoke");
	arb_wire_free_apitoken(tk);
}

void
root_apitoken_ctl(struct root *r, struct arb_req *req,
    const Arbor__ApiTokenCtl *tc)
{
	if (strcmp(tc->op, "create") == 0)
		apitoken_create(r, req, tc);
	else if (strcmp(tc->op, "list") == 0)
		apitoken_list(r, req);
	else if (strcmp(tc->op, "revoke") == 0 && tc->name[0] != '\0')
		apitoken_revoke(r, req, tc->name);
	else
		root_reply_error(req, ARB_EINVAL, "api-token: op must be "
		    "create, list or revoke NAME");
}
