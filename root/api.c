/*
 * The root's HTTP JSON API under /api/v1/ (api_listen): each route builds
 * the control requests arborctl sends for the same question, runs them
 * through root_control (root/control.c) as local requests, and answers
 * the JSON document arborctl ... --json prints (root/view.c), so that the
 * two never differ.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "arbor/error.h"
#include "arbor/http.h"
#include "arbor/log.h"
#include "arbor/policy.h"
#include "arbor/report.h"
#include "arbor/sig.h"
#include "arbor/tls.h"
#include "root.h"
#include "view.h"

#define API_PREFIX	"/api/v1"
#define API_URI_MAX	2048		/* longer request lines: 414 */
#define API_PER_PAGE	1000		/* endpoints rows per page, at most */
#define API_CALLS_MAX	3
#define API_BODY_MAX	4096		/* an action's body: ignored, bounded */
#define API_CHALLENGE	"Bearer realm=\"arbor\""

enum api_route {
	API_STATUS,
	API_POLICIES,
	API_ENDPOINTS,
	API_TREE,
	API_ROLLOUTS,
	API_AUDIT,
	API_ENDPOINT,		/* one: endpoints/ID */
	API_QUERY,
	API_COMPLIANCE,
	API_EXPOSURE,
	API_UNMANAGED,
	API_DONE,		/* push, retire, rollback: a Done */
	API_ROLLOUT_CTL,	/* pause, resume, advance, retry-failed */
};

struct api_call {
	struct root		*r;
	enum api_route		 route;
	struct arb_http_res	*res;		/* while in the handler */
	struct arb_http_later	*later;		/* after it */
	int			 answered;
	struct root_api_who	 who;
	const char		*action;	/* an operator action, or NULL */
	Arbor__Envelope		 req[API_CALLS_MAX];
	Arbor__Envelope__BodyCase want[API_CALLS_MAX];
	Arbor__Envelope		*rep[API_CALLS_MAX];
	size_t			 nreq, nrep;
	/* The requests' bodies. */
	Arbor__GetStatus	 gs;
	Arbor__GetCatalog	 gc;
	Arbor__GetEndpoints	 ge;
	Arbor__GetEndpoint	 gep;
	Arbor__GetTree		 gt;
	Arbor__RolloutCtl	 rc;
	Arbor__Push		 push;
	Arbor__Retire		 retire;
	Arbor__Rollback		 rollback;
	Arbor__GetAudit		 ga;
	Arbor__Query		 qy;
	Arbor__GetCompliance	 gcp;
	Arbor__GetUnmanaged	 gu;
	char			*target[1];	/* qy's group or endpoint */
	char			 group[ARB_MAX_ID + 1];
	char			 cve[64];
	char			 baseline[ARB_MAX_ID + 1];
	char			 expr[API_URI_MAX + 1];
	char			 policy[129];
	char			 relay[256];
	char			 id[129];	/* in the path */
	size_t			 page, per_page;
};

/* ------------------------------------------------------------ answers */

/* An operator action's audit record: what the answer doc says. */
static void
api_audit(struct api_call *a, int status, json_t *doc)
{
	const char	*detail;

	if ((detail = json_string_value(json_object_get(doc, "error"))) ==
	    NULL && (detail = json_string_value(json_object_get(doc,
	    "detail"))) == NULL && (!json_is_array(doc) ||
	    (detail = json_string_value(json_object_get(json_array_get(doc,
	    0), "state"))) == NULL))
		detail = "";
	root_audit_add(a->r, a->who.name, root_role_name(a->who.role),
	    a->action, a->id, (unsigned)status, detail);
}

static void
api_answer(struct api_call *a, int status, json_t *doc)
{
	char	*body;
	size_t	 i;

	if (doc == NULL) {
		status = 500;
		doc = json_pack("{s:s}", "error", "out of memory");
	}
	if (a->action != NULL)
		api_audit(a, status, doc);
	body = doc != NULL ? json_dumps(doc, JSON_INDENT(2)) : NULL;
	json_decref(doc);
	if (a->later != NULL)
		arb_http_answer(a->later, status, "application/json", body,
		    body != NULL ? strlen(body) : 0);
	else if (a->res != NULL) {
		a->res->status = status;
		a->res->type = "application/json";
		a->res->body = body;
		a->res->len = body != NULL ? strlen(body) : 0;
	} else
		free(body);
	for (i = 0; i < a->nrep; i++)
		arb_wire_free(a->rep[i]);
	a->nrep = 0;
	a->answered = 1;
	if (a->res == NULL)	/* the handler returned: nobody else frees */
		free(a);
}

static json_t *
api_error_doc(const char *msg)
{
	return json_pack("{s:s}", "error", msg);
}

static void
api_error(struct api_call *a, int status, const char *msg)
{
	api_answer(a, status, api_error_doc(msg));
}

/* --------------------------------------------------------- documents */

static json_t *
api_endpoints_doc(struct api_call *a, Arbor__EndpointsReply *er)
{
	Arbor__EndpointInfo	**v;
	size_t			 i, n = 0, first;
	json_t			*doc;

	if ((v = calloc(er->n_endpoints + 1, sizeof(*v))) == NULL)
		return NULL;
	for (i = 0; i < er->n_endpoints; i++)
		if (a->relay[0] == '\0' || strcmp(er->endpoints[i]->relay,
		    a->relay) == 0)
			v[n++] = er->endpoints[i];
	if (a->group[0] != '\0')
		n = view_endpoints_keep(v, n, a->rep[1]->query_reply);
	view_endpoints_sort(v, n);
	first = (a->page - 1) * a->per_page;
	if (first > n)
		first = n;
	if (n - first > a->per_page)
		n = first + a->per_page;
	doc = view_endpoints(v + first, n - first);
	free(v);
	return doc;
}

static json_t *
api_doc(struct api_call *a)
{
	struct view_current	*cur = NULL;
	size_t			 ncur = 0;
	json_t			*doc;

	switch (a->route) {
	case API_STATUS:
		if (view_current(a->rep[1]->catalog_reply, &cur, &ncur) != 0)
			return NULL;
		view_status_sort(a->rep[0]->status_reply);
		doc = view_status(a->rep[0]->status_reply, cur, ncur,
		    a->rep[2]->rollout_reply);
		view_current_free(cur, ncur);
		return doc;
	case API_POLICIES:
		return view_catalog(a->rep[0]->catalog_reply);
	case API_ENDPOINTS:
		return api_endpoints_doc(a, a->rep[0]->endpoints_reply);
	case API_TREE:
		view_tree_sort(a->rep[0]->tree_reply);
		return view_tree(a->rep[0]->tree_reply);
	case API_ROLLOUTS:
	case API_ROLLOUT_CTL:
		return view_rollout(a->rep[0]->rollout_reply);
	case API_AUDIT:
		return view_audit(a->rep[0]->audit_reply);
	case API_ENDPOINT:
		return view_endpoint(a->rep[0]->endpoint_detail);
	case API_QUERY:
		return view_query(a->rep[0]->query_reply, 1);
	case API_COMPLIANCE:
		return view_compliance(a->rep[0]->compliance_reply);
	case API_EXPOSURE:
		return view_exposure(a->rep[0]->catalog_reply,
		    a->rep[1]->endpoints_reply, a->cve[0] != '\0' ? a->cve :
		    NULL);
	case API_UNMANAGED:
		return view_unmanaged(a->rep[0]->unmanaged_reply);
	case API_DONE:
		return json_pack("{s:b, s:s, s:s, s:I, s:s}", "ok", 1,
		    "action", a->action, "policy", a->id, "seq",
		    (json_int_t)a->rep[0]->done->seq, "detail",
		    a->rep[0]->done->detail);
	}
	return NULL;
}

/* --------------------------------------------------- control requests */

static void	api_next(struct api_call *a);

/* A control reply, at once or later (a publish waits for its commit). */
static void
api_reply_cb(const uint8_t *data, size_t len, void *arg)
{
	struct api_call	*a = arg;
	Arbor__Envelope	*rep;

	if (data == NULL || arb_wire_decode(data, len, &rep) != 0) {
		api_error(a, 500, "no answer from the root's control");
		return;
	}
	if (rep->body_case == ARBOR__ENVELOPE__BODY_ERROR) {
		api_answer(a, root_error_status(rep->error->code),
		    api_error_doc(rep->error->message));
		arb_wire_free(rep);
		return;
	}
	if (rep->body_case != a->want[a->nrep]) {
		arb_wire_free(rep);
		api_error(a, 500, "unexpected reply from the root's control");
		return;
	}
	a->rep[a->nrep++] = rep;
	api_next(a);
}

static void
api_next(struct api_call *a)
{
	struct arb_req	*q;
	uint8_t		*buf;
	size_t		 len;

	json_t		*doc;

	if (a->nrep == a->nreq) {
		if ((doc = api_doc(a)) != NULL && json_is_null(doc)) {
			json_decref(doc);
			api_error(a, 404, "no such endpoint");
		} else
			api_answer(a, 200, doc);
		return;
	}
	if (arb_wire_encode(&a->req[a->nrep], &buf, &len) != 0 ||
	    (q = arb_req_local(api_reply_cb, a)) == NULL) {
		if (buf != NULL)
			free(buf);
		api_error(a, 500, "out of memory");
		return;
	}
	root_control(q, buf, len, a->r);
	free(buf);
}

static void
api_add(struct api_call *a, Arbor__Envelope__BodyCase body, void *msg,
    Arbor__Envelope__BodyCase want)
{
	Arbor__Envelope	*e = &a->req[a->nreq];

	arbor__envelope__init(e);
	e->body_case = body;
	switch (body) {
	case ARBOR__ENVELOPE__BODY_GET_STATUS:
		e->get_status = msg;
		break;
	case ARBOR__ENVELOPE__BODY_GET_CATALOG:
		e->get_catalog = msg;
		break;
	case ARBOR__ENVELOPE__BODY_GET_ENDPOINTS:
		e->get_endpoints = msg;
		break;
	case ARBOR__ENVELOPE__BODY_GET_TREE:
		e->get_tree = msg;
		break;
	case ARBOR__ENVELOPE__BODY_GET_ENDPOINT:
		e->get_endpoint = msg;
		break;
	case ARBOR__ENVELOPE__BODY_PUSH:
		e->push = msg;
		break;
	case ARBOR__ENVELOPE__BODY_RETIRE:
		e->retire = msg;
		break;
	case ARBOR__ENVELOPE__BODY_ROLLBACK:
		e->rollback = msg;
		break;
	case ARBOR__ENVELOPE__BODY_GET_AUDIT:
		e->get_audit = msg;
		break;
	case ARBOR__ENVELOPE__BODY_QUERY:
		e->query = msg;
		break;
	case ARBOR__ENVELOPE__BODY_GET_COMPLIANCE:
		e->get_compliance = msg;
		break;
	case ARBOR__ENVELOPE__BODY_GET_UNMANAGED:
		e->get_unmanaged = msg;
		break;
	default:
		e->rollout_ctl = msg;
		break;
	}
	a->want[a->nreq++] = want;
}

/* A query "true" over group's endpoints, or over endpoint id's. */
static void
api_query_target(struct api_call *a, char *group, char *id)
{
	a->qy.expr = "true";
	a->target[0] = group != NULL ? group : id;
	if (group != NULL) {
		a->qy.target_groups = a->target;
		a->qy.n_target_groups = 1;
	} else {
		a->qy.target_endpoints = a->target;
		a->qy.n_target_endpoints = 1;
	}
	api_add(a, ARBOR__ENVELOPE__BODY_QUERY, &a->qy,
	    ARBOR__ENVELOPE__BODY_QUERY_REPLY);
}

/* A number parameter in [1, max]; 1 when absent.  0, or an error. */
static int
api_query_num(const char *q, const char *key, size_t max, size_t *np)
{
	char		 v[16], *end;
	unsigned long	 n;
	int		 rv;

	*np = 1;
	if ((rv = root_api_query(q, key, v, sizeof(v))) <= 0)
		return rv;
	n = strtoul(v, &end, 10);
	if (v[0] < '0' || v[0] > '9' || *end != '\0' || n < 1 || n > max)
		return ARB_EINVAL;
	*np = n;
	return 0;
}

/* -------------------------------------------------------------- routes */

/* The query parameters of a route; 0, or 1 after an answer. */
static int
api_endpoints_args(struct api_call *a, const char *q)
{
	char		 state[32];
	unsigned	 st;
	int		 rv;

	a->ge.state = -1;
	if ((rv = root_api_query(q, "state", state, sizeof(state))) < 0)
		goto bad;
	if (rv == 1) {
		if (arb_state_parse(state, &st) != 0) {
			api_error(a, 400, "state: not a state");
			return 1;
		}
		a->ge.state = (int32_t)st;
	}
	if ((rv = root_api_query(q, "group", a->group,
	    sizeof(a->group))) < 0 || (rv == 1 && a->group[0] == '\0'))
		goto bad;
	if (root_api_query(q, "relay", a->relay, sizeof(a->relay)) < 0 ||
	    api_query_num(q, "page", SIZE_MAX / API_PER_PAGE, &a->page) != 0)
		goto bad;
	if ((rv = api_query_num(q, "per_page", API_PER_PAGE,
	    &a->per_page)) != 0)
		goto bad;
	if (root_api_query(q, "per_page", state, sizeof(state)) == 0)
		a->per_page = API_PER_PAGE;
	return 0;
bad:
	api_error(a, 400, "bad query: state, relay, group, page (from 1) or "
	    "per_page (1 to 1000)");
	return 1;
}

/*
 * The id in p up to the next '/' (or the end) into a->id, *restp after
 * that '/' (NULL at the end).  0, or 1 after a 404 naming what.
 */
static int
api_path_id(struct api_call *a, const char *p, const char **restp,
    const char *what)
{
	const char	*slash = strchr(p, '/');
	size_t		 n = slash != NULL ? (size_t)(slash - p) : strlen(p);

	if (n == 0 || n >= sizeof(a->id))
		goto bad;
	memcpy(a->id, p, n);
	a->id[n] = '\0';
	if (!arb_policy_id_valid(a->id))
		goto bad;
	*restp = slash != NULL ? slash + 1 : NULL;
	return 0;
bad:
	a->id[0] = '\0';
	api_error(a, 404, what);
	return 1;
}

/* POST path: an operator action's request; 0, or 1 after an answer. */
static int
api_action(struct api_call *a, const char *path)
{
	static const char *const rollout_ops[] = { "pause", "resume",
	    "advance", "retry-failed" };
	const char	*op;
	size_t		 i;

	if (strncmp(path, "/policies/", 10) == 0) {
		if (api_path_id(a, path + 10, &op, "no such policy") != 0)
			return 1;
		a->route = API_DONE;
		if (op != NULL && strcmp(op, "push") == 0) {
			a->action = "push";
			a->push.id = a->id;
			api_add(a, ARBOR__ENVELOPE__BODY_PUSH, &a->push,
			    ARBOR__ENVELOPE__BODY_DONE);
		} else if (op != NULL && strcmp(op, "retire") == 0) {
			a->action = "retire";
			a->retire.id = a->id;
			api_add(a, ARBOR__ENVELOPE__BODY_RETIRE, &a->retire,
			    ARBOR__ENVELOPE__BODY_DONE);
		} else if (op != NULL && strcmp(op, "rollback") == 0) {
			a->action = "rollback";
			a->rollback.id = a->id;
			api_add(a, ARBOR__ENVELOPE__BODY_ROLLBACK, &a->rollback,
			    ARBOR__ENVELOPE__BODY_DONE);
		} else
			goto none;
		return 0;
	}
	if (strncmp(path, "/rollouts/", 10) == 0) {
		if (api_path_id(a, path + 10, &op, "no such rollout") != 0)
			return 1;
		for (i = 0; op != NULL && i < sizeof(rollout_ops) /
		    sizeof(rollout_ops[0]); i++)
			if (strcmp(op, rollout_ops[i]) == 0)
				break;
		if (op == NULL || i == sizeof(rollout_ops) /
		    sizeof(rollout_ops[0]))
			goto none;
		a->route = API_ROLLOUT_CTL;
		a->action = rollout_ops[i];
		a->rc.op = (char *)rollout_ops[i];
		a->rc.id = a->id;
		api_add(a, ARBOR__ENVELOPE__BODY_ROLLOUT_CTL, &a->rc,
		    ARBOR__ENVELOPE__BODY_ROLLOUT_REPLY);
		return 0;
	}
none:
	a->action = NULL;
	api_error(a, 404, "no such action: POST policies/ID/push|retire|"
	    "rollback or rollouts/ID/pause|resume|advance|retry-failed");
	return 1;
}

/* GET path (after /api/v1) and query to a route's requests; 0, or 1. */
static int
api_route(struct api_call *a, const char *path, const char *q)
{
	int	rv;

	if ((rv = root_api_query(q, "policy", a->policy,
	    sizeof(a->policy))) < 0 || (rv == 1 &&
	    !arb_policy_id_valid(a->policy))) {
		api_error(a, 400, "policy: not a policy id");
		return 1;
	}
	if (strcmp(path, "/status") == 0) {
		a->route = API_STATUS;
		if (a->policy[0] != '\0')
			a->gs.policy_id = a->policy;
		api_add(a, ARBOR__ENVELOPE__BODY_GET_STATUS, &a->gs,
		    ARBOR__ENVELOPE__BODY_STATUS_REPLY);
		api_add(a, ARBOR__ENVELOPE__BODY_GET_CATALOG, &a->gc,
		    ARBOR__ENVELOPE__BODY_CATALOG_REPLY);
		a->rc.op = "status";
		a->rc.id = "";
		api_add(a, ARBOR__ENVELOPE__BODY_ROLLOUT_CTL, &a->rc,
		    ARBOR__ENVELOPE__BODY_ROLLOUT_REPLY);
	} else if (strcmp(path, "/policies") == 0) {
		a->route = API_POLICIES;
		api_add(a, ARBOR__ENVELOPE__BODY_GET_CATALOG, &a->gc,
		    ARBOR__ENVELOPE__BODY_CATALOG_REPLY);
	} else if (strcmp(path, "/endpoints") == 0) {
		a->route = API_ENDPOINTS;
		if (api_endpoints_args(a, q) != 0)
			return 1;
		if (a->policy[0] != '\0')
			a->ge.policy_id = a->policy;
		api_add(a, ARBOR__ENVELOPE__BODY_GET_ENDPOINTS, &a->ge,
		    ARBOR__ENVELOPE__BODY_ENDPOINTS_REPLY);
		/* A group is what the inventories say (arborctl's way too). */
		if (a->group[0] != '\0')
			api_query_target(a, a->group, NULL);
	} else if (strncmp(path, "/endpoints/", 11) == 0) {
		if (strlen(path + 11) > ARB_MAX_ID ||
		    !arb_policy_id_valid(path + 11)) {
			api_error(a, 404, "no such endpoint");
			return 1;
		}
		strcpy(a->id, path + 11);
		a->route = API_ENDPOINT;
		a->gep.endpoint_id = a->id;
		if ((rv = root_api_query(q, "packages", a->expr,
		    sizeof(a->expr))) < 0 || (rv == 1 &&
		    strcmp(a->expr, "0") != 0 && strcmp(a->expr, "1") != 0)) {
			api_error(a, 400, "packages: 0 or 1");
			return 1;
		}
		a->gep.packages = rv == 1 && strcmp(a->expr, "1") == 0;
		api_add(a, ARBOR__ENVELOPE__BODY_GET_ENDPOINT, &a->gep,
		    ARBOR__ENVELOPE__BODY_ENDPOINT_DETAIL);
	} else if (strcmp(path, "/query") == 0) {
		a->route = API_QUERY;
		if (root_api_query(q, "expr", a->expr, sizeof(a->expr)) != 1 ||
		    a->expr[0] == '\0') {
			api_error(a, 400, "expr: an expression is needed "
			    "(?expr=...)");
			return 1;
		}
		a->qy.expr = a->expr;
		api_add(a, ARBOR__ENVELOPE__BODY_QUERY, &a->qy,
		    ARBOR__ENVELOPE__BODY_QUERY_REPLY);
	} else if (strcmp(path, "/compliance") == 0) {
		a->route = API_COMPLIANCE;
		if ((rv = root_api_query(q, "baseline", a->baseline,
		    sizeof(a->baseline))) < 0 || (rv == 1 &&
		    !arb_policy_id_valid(a->baseline))) {
			api_error(a, 400, "baseline: not a baseline's name");
			return 1;
		}
		a->gcp.baseline = a->baseline;
		api_add(a, ARBOR__ENVELOPE__BODY_GET_COMPLIANCE, &a->gcp,
		    ARBOR__ENVELOPE__BODY_COMPLIANCE_REPLY);
	} else if (strcmp(path, "/exposure") == 0) {
		a->route = API_EXPOSURE;
		if ((rv = root_api_query(q, "cve", a->cve,
		    sizeof(a->cve))) < 0 || (rv == 1 && a->cve[0] == '\0')) {
			api_error(a, 400, "cve: at most 63 characters");
			return 1;
		}
		api_add(a, ARBOR__ENVELOPE__BODY_GET_CATALOG, &a->gc,
		    ARBOR__ENVELOPE__BODY_CATALOG_REPLY);
		a->ge.state = -1;
		api_add(a, ARBOR__ENVELOPE__BODY_GET_ENDPOINTS, &a->ge,
		    ARBOR__ENVELOPE__BODY_ENDPOINTS_REPLY);
	} else if (strcmp(path, "/unmanaged") == 0) {
		a->route = API_UNMANAGED;
		api_add(a, ARBOR__ENVELOPE__BODY_GET_UNMANAGED, &a->gu,
		    ARBOR__ENVELOPE__BODY_UNMANAGED_REPLY);
	} else if (strcmp(path, "/tree") == 0) {
		a->route = API_TREE;
		api_add(a, ARBOR__ENVELOPE__BODY_GET_TREE, &a->gt,
		    ARBOR__ENVELOPE__BODY_TREE_REPLY);
	} else if (strcmp(path, "/audit") == 0) {
		a->route = API_AUDIT;
		api_add(a, ARBOR__ENVELOPE__BODY_GET_AUDIT, &a->ga,
		    ARBOR__ENVELOPE__BODY_AUDIT_REPLY);
	} else if (strcmp(path, "/rollouts") == 0 ||
	    strncmp(path, "/rollouts/", 10) == 0) {
		a->route = API_ROLLOUTS;
		a->rc.op = "status";
		a->rc.id = "";
		if (path[9] == '/') {
			if (strlen(path + 10) >= sizeof(a->id) ||
			    !arb_policy_id_valid(path + 10)) {
				api_error(a, 404, "no such rollout");
				return 1;
			}
			strcpy(a->id, path + 10);
			a->rc.id = a->id;
		}
		api_add(a, ARBOR__ENVELOPE__BODY_ROLLOUT_CTL, &a->rc,
		    ARBOR__ENVELOPE__BODY_ROLLOUT_REPLY);
	} else {
		api_error(a, 404, "no such path");
		return 1;
	}
	return 0;
}

/*
 * Who asks, and may they: 0 with a->who set, or 1 after an answer (401,
 * 403, 500).  post: an operator action; audit: the audit trail.
 */
static int
api_judge(struct api_call *a, const struct arb_http_req *req, int op)
{
	int	rv;

	rv = root_api_auth(a->r, req->auth, &a->who);
	if (rv == ARB_ENOTFOUND) {
		/* No token exists: loopback GETs only (README, HTTP API). */
		snprintf(a->who.name, sizeof(a->who.name), "-");
		if (!arb_url_loopback(a->r->conf->api_listen))
			a->who.why = "no API token exists yet: make one with "
			    "arborctl api-token create";
		else if (op)
			a->who.why = "this needs an operator's token: make one "
			    "with arborctl api-token create --role operator";
		else
			return 0;
		rv = ARB_EPERM;
	}
	if (rv == ARB_EPERM) {
		if (a->res != NULL)
			a->res->challenge = API_CHALLENGE;
		api_error(a, 401, a->who.why);
		return 1;
	}
	if (rv != 0) {
		api_error(a, 500, "cannot read the API tokens");
		return 1;
	}
	if (op && a->who.role != ROOT_ROLE_OPERATOR) {
		api_error(a, 403, "this needs an operator's token; this one is "
		    "a viewer's");
		return 1;
	}
	return 0;
}

/* The loop: every request under /api/v1. */
static void
api_serve(void *arg, const struct arb_http_req *req, struct arb_http_res *res)
{
	struct api_call	*a;
	char		 path[API_URI_MAX + 1];
	const char	*q, *p;
	size_t		 n;
	int		 post, op;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		res->status = 503;
		return;
	}
	a->r = arg;
	a->res = res;
	arbor__get_status__init(&a->gs);
	arbor__get_catalog__init(&a->gc);
	arbor__get_endpoints__init(&a->ge);
	arbor__get_endpoint__init(&a->gep);
	arbor__get_tree__init(&a->gt);
	arbor__rollout_ctl__init(&a->rc);
	arbor__push__init(&a->push);
	arbor__retire__init(&a->retire);
	arbor__rollback__init(&a->rollback);
	arbor__get_audit__init(&a->ga);
	arbor__query__init(&a->qy);
	arbor__get_compliance__init(&a->gcp);
	arbor__get_unmanaged__init(&a->gu);
	if ((n = strlen(req->uri)) > API_URI_MAX) {
		api_error(a, 414, "request line too long");
		goto done;
	}
	q = strchr(req->uri, '?');
	n = q != NULL ? (size_t)(q - req->uri) : n;
	memcpy(path, req->uri, n);
	path[n] = '\0';
	q = q != NULL ? q + 1 : "";
	if (strncmp(path, API_PREFIX, sizeof(API_PREFIX) - 1) != 0) {
		api_error(a, 404, "no such path");
		goto done;
	}
	p = path + sizeof(API_PREFIX) - 1;
	post = strcmp(req->method, "POST") == 0;
	if (!post && strcmp(req->method, "GET") != 0) {
		api_error(a, 405, "method not allowed here");
		goto done;
	}
	op = post || strcmp(p, "/audit") == 0;
	if (api_judge(a, req, op) != 0)
		goto done;
	if (post && req->body_len > API_BODY_MAX) {
		api_error(a, 413, "body too large (an action takes none)");
		goto done;
	}
	if ((post ? api_action(a, p) : api_route(a, p, q)) != 0)
		goto done;
	api_next(a);
	/* The control requests held so far keep their strings in a. */
	if (!a->answered) {
		a->later = arb_http_defer(req);
		a->res = NULL;
		return;
	}
done:
	free(a);
}

int
root_api_serve(struct root *r, struct arb_http *h)
{
	int	rv;

	if ((rv = root_console_serve(h)) != 0)	/* root/console.c */
		return rv;
	return arb_http_handle_tree(h, API_PREFIX, api_serve, r);
}
