/*
 * The root's control socket: arborctl uploads blobs, publishes, retires
 * and pushes policies here.  The socket is ipc:// in the data directory,
 * mode 0600: whoever can open it is the operator.
 *
 * Every refusal names what is wrong and changes nothing: a policy is
 * checked completely before anything is signed or stored.
 *
 * Every operator action that comes on the socket (not the reads, not the
 * chunks of a blob) goes into the audit trail with the uid of the process
 * that sent it, as the kernel tells it: the handler answers a request
 * made on the loop (arb_req_local), whose answer is recorded, with the
 * error's code and message when it is one, before it is handed on.
 */
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arbor/catalog.h"
#include "arbor/error.h"
#include "arbor/expr.h"
#include "arbor/log.h"
#include "arbor/policy.h"
#include "arbor/sync.h"
#include "root.h"

#define ROOT_MAX_BLOB	(16ULL << 30)
#define ROOT_MAX_UPLOADS	64

struct root_upload {		/* a blob arriving from arborctl */
	uint8_t			 sha[ARB_SHA256_LEN];
	uint64_t		 size;
	struct arb_blob_writer	*w;
	struct root_upload	*next;
};

static void
root_refuse(struct arb_req *req, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
root_refuse(struct arb_req *req, int code, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	root_reply_vrefuse(req, code, fmt, ap);
	va_end(ap);
}

static void
root_done(struct arb_req *req, uint64_t seq, const char *detail)
{
	Arbor__Envelope	env = ARBOR__ENVELOPE__INIT;
	Arbor__Done	d = ARBOR__DONE__INIT;

	d.seq = seq;
	d.detail = (char *)detail;
	env.body_case = ARBOR__ENVELOPE__BODY_DONE;
	env.done = &d;
	root_reply(req, &env);
}

/* ---------------------------------------------------------------- blobs */

static void
upload_drop(struct root *r, struct root_upload *u, int keep)
{
	struct root_upload **up;

	for (up = &r->uploads; *up; up = &(*up)->next)
		if (*up == u) {
			*up = u->next;
			break;
		}
	if (u->w) {
		if (keep)
			arb_blob_writer_close(u->w);
		else
			arb_blob_writer_abort(u->w);
	}
	free(u);
}

void
root_uploads_free(struct root *r)
{
	while (r->uploads)
		upload_drop(r, r->uploads, 1);
}

static void
root_put_chunk(struct root *r, struct arb_req *req, const Arbor__PutChunk *pc)
{
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT;
	Arbor__PutChunkReply	 pr = ARBOR__PUT_CHUNK_REPLY__INIT;
	struct root_upload	*u;
	uint64_t		 have;
	char			 hex[ARB_SHA256_HEX];
	int			 rv, n = 0;

	arb_hex(pc->sha256.data, ARB_SHA256_LEN, hex);
	env.body_case = ARBOR__ENVELOPE__BODY_PUT_CHUNK_REPLY;
	env.put_chunk_reply = &pr;
	if (pc->size == 0 || pc->size > ROOT_MAX_BLOB) {
		root_refuse(req, ARB_ETOOBIG, "blob %.12s: size %llu out of "
		    "range", hex, (unsigned long long)pc->size);
		return;
	}
	if (arb_blob_stat(r->blobs, pc->sha256.data, &have) == 0) {
		pr.have = have;
		pr.complete = have == pc->size;
		root_reply(req, &env);
		return;
	}
	for (u = r->uploads; u; u = u->next, n++)
		if (memcmp(u->sha, pc->sha256.data, ARB_SHA256_LEN) == 0)
			break;
	if (u != NULL && u->size != pc->size) {
		upload_drop(r, u, 0);
		u = NULL;
	}
	if (u == NULL) {
		if (n >= ROOT_MAX_UPLOADS) {
			root_refuse(req, ARB_EAGAIN,
			    "too many uploads at once");
			return;
		}
		if ((u = calloc(1, sizeof(*u))) == NULL) {
			root_refuse(req, -ENOMEM, "out of memory");
			return;
		}
		memcpy(u->sha, pc->sha256.data, ARB_SHA256_LEN);
		u->size = pc->size;
		if ((rv = arb_blob_writer_open(r->blobs, u->sha, u->size,
		    &u->w)) != 0) {
			free(u);
			root_refuse(req, rv, "blob %.12s: %s", hex,
			    arb_strerror(rv));
			return;
		}
		u->next = r->uploads;
		r->uploads = u;
	}
	if (pc->offset == arb_blob_writer_offset(u->w) && pc->data.len > 0) {
		if ((rv = arb_blob_writer_write(u->w, pc->data.data,
		    pc->data.len)) != 0) {
			u->w = NULL;	/* the writer removed its .part */
			upload_drop(r, u, 0);
			root_refuse(req, rv, "blob %.12s: %s", hex,
			    arb_strerror(rv));
			return;
		}
	}
	pr.have = arb_blob_writer_offset(u->w);
	if (pr.have == u->size) {
		rv = arb_blob_writer_finish(u->w);
		u->w = NULL;
		upload_drop(r, u, 0);
		if (rv != 0) {
			root_refuse(req, rv, "blob %.12s: %s", hex,
			    arb_strerror(rv));
			return;
		}
		if ((rv = relay_core_index_blob(r->core, pc->sha256.data,
		    NULL, 0)) != 0) {
			root_refuse(req, rv, "blob %.12s: index: %s", hex,
			    arb_strerror(rv));
			return;
		}
		log_info("root: blob %.12s: %llu bytes stored", hex,
		    (unsigned long long)pc->size);
		pr.complete = 1;
	}
	root_reply(req, &env);
}

/* -------------------------------------------------------------- catalog */

static uint32_t
root_last_version(struct root *r, const char *id)
{
	char		 key[ARB_MAX_ID + 8];
	void		*v;
	size_t		 n;
	uint32_t	 ver = 0;

	snprintf(key, sizeof(key), "ver:%s", id);
	if (arb_store_get(r->store, ARB_DB_META, key, strlen(key), &v,
	    &n) == 0) {
		if (n == sizeof(ver))
			memcpy(&ver, v, sizeof(ver));
		free(v);
	}
	return ver;
}

/* Build the refs of the current head with id removed; caller frees array. */
static Arbor__PolicyRef **
root_refs_without(struct root *r, const char *id, size_t *np, size_t extra)
{
	Arbor__PolicyRef	**refs;
	size_t			  i, n = 0, cur;

	cur = r->head ? r->head->n_policies : 0;
	if ((refs = calloc(cur + extra + 1, sizeof(*refs))) == NULL)
		return NULL;
	for (i = 0; i < cur; i++)
		if (id == NULL || strcmp(r->head->policies[i]->id, id) != 0)
			refs[n++] = r->head->policies[i];
	*np = n;
	return refs;
}

/*
 * A policy that gives no deadline takes its severity's, relative to the
 * publish, so that it is signed into the policy and endpoints enforce it.
 * s is the caller's, used when p has no schedule (it must outlive p's
 * encoding); the caller sets p->schedule back to NULL when it is s.
 */
static void
root_severity_deadline(const struct root *r, Arbor__Policy *p,
    Arbor__Schedule *s)
{
	size_t	i;

	if (p->schedule != NULL && (p->schedule->deadline != 0 ||
	    p->schedule->deadline_rel != 0))
		return;
	for (i = 0; i < ROOT_SEVERITIES && arb_policy_severities[i] != NULL;
	    i++)
		if (p->severity != NULL &&
		    strcmp(p->severity, arb_policy_severities[i]) == 0)
			break;
	if (i == ROOT_SEVERITIES || arb_policy_severities[i] == NULL ||
	    r->conf->deadline_s[i] == 0)
		return;
	if (p->schedule == NULL)
		p->schedule = s;
	p->schedule->deadline_rel = r->conf->deadline_s[i];
}

static void
root_publish(struct root *r, struct arb_req *req, const Arbor__Publish *pb)
{
	Arbor__Policy		 *p = pb->policy;
	Arbor__PolicyRef	  ref = ARBOR__POLICY_REF__INIT, **refs = NULL;
	Arbor__RolloutState	  rs = ARBOR__ROLLOUT_STATE__INIT;
	Arbor__Schedule		  sched = ARBOR__SCHEDULE__INIT;
	Arbor__Signed		  sg = ARBOR__SIGNED__INIT;
	uint8_t			 *body = NULL, *sbytes = NULL;
	uint8_t			  sha[ARB_SHA256_LEN];
	size_t			  blen, slen, n, i;
	uint64_t		  have;
	uint32_t		  last;
	char			  key[ARB_MAX_ID + 8], hex[ARB_SHA256_HEX];
	char			  err[200];
	struct root_put		  puts[2];
	struct arb_expr		 *ex;
	int			  rv;

	if (p == NULL) {
		root_refuse(req, ARB_EPROTO, "publish: no policy");
		return;
	}
	/* Whoever sent it, an expression that does not parse goes nowhere. */
	if ((rv = arb_expr_parse(p->applicability, &ex, err,
	    sizeof(err))) != 0) {
		root_refuse(req, ARB_EINVAL, "policy %s: field "
		    "\"applicability\": %s", p->id, err);
		return;
	}
	arb_expr_free(ex);
	/* The wire decoder already checked id, names, sizes and severity. */
	if (p->version == 0) {
		root_refuse(req, ARB_EINVAL, "policy %s: field \"version\": "
		    "must be 1 or more", p->id);
		return;
	}
	if ((last = root_last_version(r, p->id)) >= p->version) {
		root_refuse(req, ARB_ESTALE, "policy %s: field \"version\": %u "
		    "is not newer than v%u, already published", p->id,
		    p->version, last);
		return;
	}
	for (i = 0; i < p->n_blobs; i++) {
		arb_hex(p->blobs[i]->sha256.data, ARB_SHA256_LEN, hex);
		if (arb_blob_stat(r->blobs, p->blobs[i]->sha256.data,
		    &have) != 0 || have != p->blobs[i]->size) {
			root_refuse(req, ARB_ENOTFOUND, "policy %s: field "
			    "\"blobs[%zu]\": %s (%.12s) has not been uploaded",
			    p->id, i, p->blobs[i]->name, hex);
			return;
		}
	}
	p->published_at = (int64_t)time(NULL);
	root_severity_deadline(r, p, &sched);
	if ((rv = arb_wire_encode_policy(p, &body, &blen)) != 0 ||
	    (rv = arb_signed_make(r->key, body, blen, &sg)) != 0 ||
	    (rv = arb_wire_encode_signed(&sg, &sbytes, &slen)) != 0 ||
	    (rv = arb_sha256(body, blen, sha)) != 0)
		goto fail;
	if ((refs = root_refs_without(r, p->id, &n, 1)) == NULL) {
		rv = -ENOMEM;
		goto fail;
	}
	ref.id = p->id;
	ref.version = p->version;
	ref.sha256.data = sha;
	ref.sha256.len = ARB_SHA256_LEN;
	if (p->n_waves > 0) {
		if ((rv = root_rollout_begin(r, p, &rs)) != 0)
			goto fail;
		ref.rollout = &rs;
	}
	refs[n++] = &ref;
	snprintf(key, sizeof(key), "ver:%s", p->id);
	puts[0].db = ARB_DB_POLICIES;
	puts[0].key = sha;
	puts[0].klen = sizeof(sha);
	puts[0].val = sbytes;
	puts[0].vlen = slen;
	puts[1].db = ARB_DB_META;
	puts[1].key = key;
	puts[1].klen = strlen(key);
	puts[1].val = &p->version;
	puts[1].vlen = sizeof(p->version);
	if ((rv = root_sign_head(r, refs, n, "publish", puts, 2)) != 0)
		goto fail;
	log_info("root: published %s v%u (%zu blobs)", p->id, p->version,
	    p->n_blobs);
	root_done(req, r->head->seq, "published");
	goto out;
fail:
	root_refuse(req, rv, "policy %s: %s", p->id, arb_strerror(rv));
out:
	if (p->schedule == &sched)
		p->schedule = NULL;	/* ours, not the decoder's */
	free(refs);
	arb_signed_clear(&sg);
	free(body);
	free(sbytes);
}

static void
root_retire(struct root *r, struct arb_req *req, const char *id)
{
	Arbor__PolicyRef	**refs;
	size_t			  n;
	int			  rv;

	if (r->head == NULL || arb_head_find(r->head, id) == NULL) {
		root_refuse(req, ARB_ENOTFOUND, "retire: no current policy %s",
		    id);
		return;
	}
	if ((refs = root_refs_without(r, id, &n, 0)) == NULL) {
		root_refuse(req, -ENOMEM, "out of memory");
		return;
	}
	rv = root_sign_head(r, refs, n, "retire", NULL, 0);
	free(refs);
	if (rv != 0) {
		root_refuse(req, rv, "retire %s: %s", id, arb_strerror(rv));
		return;
	}
	log_info("root: retired %s", id);
	root_done(req, r->head->seq, "retired");
}

static void
root_push(struct root *r, struct arb_req *req, const char *id)
{
	Arbor__PolicyRef	**refs, urgent;
	const Arbor__PolicyRef	 *cur;
	size_t			  n;
	int			  rv;

	if (r->head == NULL || (cur = arb_head_find(r->head, id)) == NULL) {
		root_refuse(req, ARB_ENOTFOUND, "push: no current policy %s",
		    id);
		return;
	}
	if ((refs = root_refs_without(r, id, &n, 1)) == NULL) {
		root_refuse(req, -ENOMEM, "out of memory");
		return;
	}
	urgent = *cur;
	urgent.urgent = 1;
	urgent.pushed_seq = r->head->seq + 1;	/* the head this makes */
	refs[n++] = &urgent;
	rv = root_sign_head(r, refs, n, "push", NULL, 0);
	free(refs);
	if (rv != 0) {
		root_refuse(req, rv, "push %s: %s", id, arb_strerror(rv));
		return;
	}
	log_info("root: pushed %s", id);
	root_done(req, r->head->seq, "pushed");
}

/*
 * Ask every endpoint that installed the policy to run its rollback action:
 * the head marks the policy with the seq of the asking head.
 */
static void
root_rollback(struct root *r, struct arb_req *req, const char *id)
{
	Arbor__PolicyRef	**refs, rb;
	const Arbor__PolicyRef	 *cur;
	Arbor__Policy		 *p;
	size_t			  n;
	int			  rv, has;

	if (r->head == NULL || (cur = arb_head_find(r->head, id)) == NULL) {
		root_refuse(req, ARB_ENOTFOUND,
		    "rollback: no current policy %s", id);
		return;
	}
	if ((rv = arb_catalog_policy(r->store, cur->sha256.data, &p)) != 0) {
		root_refuse(req, rv, "rollback %s: %s", id, arb_strerror(rv));
		return;
	}
	has = p->rollback != NULL && p->rollback[0] != '\0';
	arb_wire_free_policy(p);
	if (!has) {
		root_refuse(req, ARB_EINVAL, "rollback: policy %s has no "
		    "rollback action", id);
		return;
	}
	if ((refs = root_refs_without(r, id, &n, 1)) == NULL) {
		root_refuse(req, -ENOMEM, "out of memory");
		return;
	}
	rb = *cur;
	rb.rollback_seq = r->head->seq + 1;
	refs[n++] = &rb;
	rv = root_sign_head(r, refs, n, "rollback", NULL, 0);
	free(refs);
	if (rv != 0) {
		root_refuse(req, rv, "rollback %s: %s", id, arb_strerror(rv));
		return;
	}
	log_info("root: rollback of %s asked", id);
	root_done(req, r->head->seq, "rollback asked");
}

static void
root_catalog(struct root *r, struct arb_req *req)
{
	Arbor__Envelope		  env = ARBOR__ENVELOPE__INIT;
	Arbor__CatalogReply	  cr = ARBOR__CATALOG_REPLY__INIT;
	Arbor__Signed		 *head = NULL, **pols = NULL;
	void			 *v;
	size_t			  n, i, np = 0;

	if (r->head) {
		(void)arb_catalog_load_head(r->store, NULL, NULL, &head, NULL);
		pols = calloc(r->head->n_policies + 1, sizeof(*pols));
		for (i = 0; pols && i < r->head->n_policies; i++) {
			if (arb_store_get(r->store, ARB_DB_POLICIES,
			    r->head->policies[i]->sha256.data, ARB_SHA256_LEN,
			    &v, &n) != 0)
				continue;
			if (arb_wire_decode_signed(v, n, &pols[np]) == 0)
				np++;
			free(v);
		}
	}
	cr.head = head;
	cr.policies = pols;
	cr.n_policies = np;
	env.body_case = ARBOR__ENVELOPE__BODY_CATALOG_REPLY;
	env.catalog_reply = &cr;
	root_reply(req, &env);
	for (i = 0; i < np; i++)
		arb_wire_free_signed(pols[i]);
	free(pols);
	if (head)
		arb_wire_free_signed(head);
}

/* arborctl unmanaged: what the relays and the root saw, newest first. */
static void
root_get_unmanaged(struct root *r, struct arb_req *req)
{
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT;
	Arbor__UnmanagedReply	 ur = ARBOR__UNMANAGED_REPLY__INIT;
	int			 rv;

	if ((rv = relay_core_unmanaged(r->core, ARB_UNMANAGED_REPLY_MAX,
	    &ur.unmanaged, &ur.n_unmanaged, &ur.evicted)) != 0) {
		root_reply_error(req, rv, "unmanaged");
		return;
	}
	env.body_case = ARBOR__ENVELOPE__BODY_UNMANAGED_REPLY;
	env.unmanaged_reply = &ur;
	root_reply(req, &env);
	free(ur.unmanaged);
}

/* The request's envelope: 0 with *envp, or an error once refused. */
static int
control_decode(struct arb_req *req, const uint8_t *data, size_t len,
    Arbor__Envelope **envp)
{
	int	rv;

	if ((rv = arb_wire_decode(data, len, envp)) != 0)
		root_refuse(req, rv, "malformed request: %s", arb_strerror(rv));
	return rv;
}

static void
control_dispatch(struct root *r, struct arb_req *req, Arbor__Envelope *env)
{
	switch (env->body_case) {
	case ARBOR__ENVELOPE__BODY_PUT_CHUNK:
		root_put_chunk(r, req, env->put_chunk);
		break;
	case ARBOR__ENVELOPE__BODY_PUBLISH:
		root_publish(r, req, env->publish);
		break;
	case ARBOR__ENVELOPE__BODY_RETIRE:
		root_retire(r, req, env->retire->id);
		break;
	case ARBOR__ENVELOPE__BODY_PUSH:
		root_push(r, req, env->push->id);
		break;
	case ARBOR__ENVELOPE__BODY_GET_CATALOG:
		root_catalog(r, req);
		break;
	case ARBOR__ENVELOPE__BODY_ROLLBACK:
		root_rollback(r, req, env->rollback->id);
		break;
	case ARBOR__ENVELOPE__BODY_GET_STATUS:
		root_get_status(r, req, env->get_status->policy_id);
		break;
	case ARBOR__ENVELOPE__BODY_GET_ENDPOINTS:
		root_get_endpoints(r, req, env->get_endpoints->policy_id,
		    env->get_endpoints->state);
		break;
	case ARBOR__ENVELOPE__BODY_GET_TREE:
		root_get_tree(r, req);
		break;
	case ARBOR__ENVELOPE__BODY_GET_ENDPOINT:
		root_get_endpoint(r, req, env->get_endpoint);
		break;
	case ARBOR__ENVELOPE__BODY_GET_KEYS:
		root_get_keys(r, req, env->get_keys);
		break;
	case ARBOR__ENVELOPE__BODY_KEY_ROTATE:
		root_key_rotate(r, req, env->key_rotate);
		break;
	case ARBOR__ENVELOPE__BODY_QUERY:
		root_query(r, req, env->query);
		break;
	case ARBOR__ENVELOPE__BODY_ROLLOUT_CTL:
		root_rollout_ctl(r, req, env->rollout_ctl);
		break;
	case ARBOR__ENVELOPE__BODY_TOKEN_CTL:
		root_token_ctl(r, req, env->token_ctl);
		break;
	case ARBOR__ENVELOPE__BODY_ENDPOINT_REVOKE:
		root_endpoint_revoke(r, req, env->endpoint_revoke);
		break;
	case ARBOR__ENVELOPE__BODY_COMPLIANCE_CTL:
		root_compliance_ctl(r, req, env->compliance_ctl);
		break;
	case ARBOR__ENVELOPE__BODY_GET_COMPLIANCE:
		root_get_compliance(r, req, env->get_compliance);
		break;
	case ARBOR__ENVELOPE__BODY_LOCK_CTL:
		root_lock_ctl(r, req, env->lock_ctl);
		break;
	case ARBOR__ENVELOPE__BODY_GET_UNMANAGED:
		root_get_unmanaged(r, req);
		break;
	case ARBOR__ENVELOPE__BODY_API_TOKEN_CTL:
		root_apitoken_ctl(r, req, env->api_token_ctl);
		break;
	case ARBOR__ENVELOPE__BODY_GET_AUDIT:
		root_get_audit(r, req, env->get_audit);
		break;
	case ARBOR__ENVELOPE__BODY_REPORT_BATCH:
		/* arborctl import-reports: judged as a relay's batch is. */
		root_batch(r, req, env->report_batch);
		break;
	default:
		root_refuse(req, ARB_EINVAL, "unexpected request (body %d)",
		    (int)env->body_case);
		break;
	}
}

void
root_control(struct arb_req *req, const uint8_t *data, size_t len, void *arg)
{
	Arbor__Envelope	*env;

	if (control_decode(req, data, len, &env) != 0)
		return;
	control_dispatch(arg, req, env);
	arb_wire_free(env);
}

/* ------------------------------------------------------- audit trail */

struct audited {		/* an operator action until it is recorded */
	struct root		*r;
	struct arb_req		*req;		/* arborctl's: answered last */
	struct root_audit_what	 what;
	char			 who[96];
	int			 in_handler;	/* control_dispatch running */
	int			 answered;
	uint8_t			*buf;		/* the answer; NULL: none */
	size_t			 len;
};

/* Who sent req: "uid 1000 (alice)" over ipc://, else its address. */
static void
audited_who(const struct arb_req *req, char *who, size_t len)
{
	struct passwd	 pw, *pwp = NULL;
	char		 buf[2048], addr[ARB_NET_ADDR_LEN];
	uint64_t	 uid;

	if (arb_req_peer_uid(req, &uid) == 0) {
		if (getpwuid_r((uid_t)uid, &pw, buf, sizeof(buf), &pwp) == 0 &&
		    pwp != NULL)
			snprintf(who, len, "uid %llu (%.32s)",
			    (unsigned long long)uid, pwp->pw_name);
		else
			snprintf(who, len, "uid %llu", (unsigned long long)uid);
	} else if (arb_req_addr(req, addr, sizeof(addr)) == 0)
		snprintf(who, len, "address %s", addr);
	else
		snprintf(who, len, "unknown");
}

/* Record the action and how it ended; then arborctl has the answer. */
static void
audited_finish(struct audited *a)
{
	Arbor__Envelope	*rep = NULL;
	const char	*answer = "";
	char		 acks[64], detail[ARB_MAX_ID * 8 + 1];
	unsigned	 status = 200;

	if (a->buf == NULL) {
		status = 500;
		answer = "no answer from the root's control";
	} else if (arb_wire_decode(a->buf, a->len, &rep) != 0) {
		status = 500;
		answer = "an answer that does not decode";
	} else if (rep->body_case == ARBOR__ENVELOPE__BODY_ERROR) {
		status = root_error_status(rep->error->code);
		answer = rep->error->message;
	} else if (rep->body_case == ARBOR__ENVELOPE__BODY_DONE)
		answer = rep->done->detail;
	else if (rep->body_case == ARBOR__ENVELOPE__BODY_COMPLIANCE_CTL_REPLY)
		answer = rep->compliance_ctl_reply->detail;
	else if (rep->body_case == ARBOR__ENVELOPE__BODY_REPORT_ACK) {
		snprintf(acks, sizeof(acks), "%u accepted, %u rejected",
		    rep->report_ack->accepted, rep->report_ack->rejected);
		answer = acks;
	}
	snprintf(detail, sizeof(detail), "%s%s%s", a->what.note,
	    a->what.note[0] != '\0' && answer[0] != '\0' ? ": " : "", answer);
	root_audit_add(a->r, a->who, "local", a->what.action, a->what.target,
	    status, detail);
	if (rep != NULL)
		arb_wire_free(rep);
	if (a->buf != NULL)
		(void)arb_req_reply(a->req, a->buf, a->len);
	else
		arb_req_drop(a->req);
	free(a->buf);
	free(a);
}

/* The handler's answer (or its dropping: data NULL), now or later. */
static void
audited_answer(const uint8_t *data, size_t len, void *arg)
{
	struct audited	*a = arg;

	a->answered = 1;
	if (data != NULL && (a->buf = malloc(len > 0 ? len : 1)) != NULL) {
		memcpy(a->buf, data, len);
		a->len = len;
	}
	/*
	 * A handler may answer with its write transaction still open (a
	 * refusal): the record, a transaction of its own, waits until the
	 * handler has returned.
	 */
	if (!a->in_handler)
		audited_finish(a);
}

void
root_control_serve(struct arb_req *req, const uint8_t *data, size_t len,
    void *arg)
{
	struct root		*r = arg;
	struct root_audit_what	 w;
	struct audited		*a;
	struct arb_req		*q = NULL;
	Arbor__Envelope		*env;

	if (control_decode(req, data, len, &env) != 0)
		return;			/* refused, not recorded */
	if (!root_audit_what(env, &w)) {
		control_dispatch(r, req, env);	/* a read, a chunk */
		arb_wire_free(env);
		return;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (q = arb_req_local(audited_answer, a)) == NULL) {
		free(a);
		root_refuse(req, -ENOMEM, "out of memory");
		arb_wire_free(env);
		return;
	}
	a->what = w;
	a->r = r;
	a->req = req;
	audited_who(req, a->who, sizeof(a->who));
	a->in_handler = 1;
	control_dispatch(r, q, env);
	a->in_handler = 0;
	arb_wire_free(env);
	if (a->answered)
		audited_finish(a);
}
