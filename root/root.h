/*
 * arbor-root: private declarations.
 */
#ifndef ARBOR_ROOT_H
#define ARBOR_ROOT_H

#include <stdarg.h>
#include <stdint.h>
#include <uv.h>

#include "arbor/blob.h"
#include "arbor/conf.h"
#include "arbor/keychain.h"
#include "arbor/net.h"
#include "arbor/report.h"
#include "arbor/sig.h"
#include "arbor/store.h"
#include "arbor/strmap.h"
#include "arbor/wire.h"
#include "core.h"

#define ROOT_SEVERITIES	4	/* critical, high, medium, low */

struct root_conf {
	char		*data_dir;
	char		*key;		/* publisher private key (PEM, 0600) */
	char		*trust_root;	/* trust-root public key, or NULL */
	char		*svc;
	char		*pub;
	char		*control;	/* default ipc://DATA_DIR/control.sock */
	int		 control_tcp;	/* allow tcp:// on loopback */
	uint64_t	 map_size;
	int64_t		 head_ttl_ms;
	int64_t		 nctx;
	int64_t		 silent_after_ms;	/* compliance: not reporting */
	int64_t		 unmanaged_grace_ms;	/* polls before "never-enrolled" */
	char		**tokens;	/* enrolment tokens accepted */
	size_t		 ntokens;
	char		*enroll_ca;	/* CA dir signing endpoints' requests */
	int64_t		 cert_valid_ms;	/* their certificates' validity */
	char		*enroll_svc;	/* enrolment-only listener, or NULL */
	char		*metrics_listen;	/* http(s)://, or NULL */
	char		*api_listen;	/* http(s)://, or NULL */
	/* Per severity (critical, high, medium, low): the deadline, in
	 * seconds after the publish, of a policy that gives none; 0: none. */
	int64_t		 deadline_s[ROOT_SEVERITIES];
};

/* Counters of what the root received, kept in its store. */
struct root_counters {
	uint64_t	batches;	/* report messages */
	uint64_t	reports;
	uint64_t	accepted;
	uint64_t	rejected;
	int64_t		last_report_ms;
};

/* Why an enrolment is refused, and a report: counted per reason. */
enum root_enrol_why {
	ROOT_ENR_TOKEN_UNKNOWN,
	ROOT_ENR_TOKEN_EXPIRED,
	ROOT_ENR_TOKEN_USED,
	ROOT_ENR_TOKEN_REVOKED,
	ROOT_ENR_REVOKED,	/* the endpoint was revoked */
	ROOT_ENR_INVALID,	/* malformed, or not signed by its key */
	ROOT_ENR_COUNT
};
enum root_reject_why {
	ROOT_REJ_REVOKED,
	ROOT_REJ_UNKNOWN,
	ROOT_REJ_BADSIG,
	ROOT_REJ_REPLAYED,
	ROOT_REJ_MALFORMED,
	ROOT_REJ_UNVERIFIED,	/* after too many bad signatures */
	ROOT_REJ_COUNT
};

/* The refusals by reason, kept in the store beside the counters. */
struct root_refusals {
	uint64_t	reports[ROOT_REJ_COUNT];
	uint64_t	enrol[ROOT_ENR_COUNT];
};

/* The counts by state of one policy, as fan-in keeps them. */
struct root_pcounts {
	uint32_t	v[ARB_ST_COUNT];
	uint32_t	version;	/* latest version reported */
};

/* A change to the counts that one taken report makes, after commit. */
struct root_delta {
	char		policy[ARB_MAX_ID + 1];
	int		from;		/* -1: none (or another version's) */
	int		to;
	uint32_t	version;
};

struct root_upload;

struct root {
	const struct root_conf	*conf;
	uv_loop_t		 loop;
	uv_signal_t		 sigterm;
	uv_signal_t		 sigint;
	uv_timer_t		 resign;
	uv_timer_t		 rollout;	/* staged rollouts judged */
	struct arb_strmap	*fails;		/* policy -> int64 ms, last failure */
	/* Called for each delta once committed (rollout.c's, or NULL). */
	void			(*delta_hook)(struct root *,
				    const struct root_delta *);
	struct arb_net		*net;
	struct arb_store	*store;
	struct arb_blobdir	*blobs;
	struct arb_key		*key;		/* the publisher key signing */
	struct arb_keychain	*keys;		/* with trust_root, or NULL */
	struct relay_core	*core;
	struct arb_srv		*ctl;
	Arbor__Head		*head;		/* current, or NULL */
	struct root_upload	*uploads;
	struct arb_strmap	*counts;	/* policy id -> root_pcounts */
	struct root_counters	 ctr;
	struct arb_http		*http;		/* metrics, or NULL */
	struct arb_http		*api;		/* api_listen's own, or NULL */
	struct root_refusals	 refusals;
};

/* conf.c */
extern const struct arb_conf_key root_conf_keys[];
void	root_conf_init(struct root_conf *);
int	root_conf_check(struct root_conf *);
void	root_conf_clear(struct root_conf *);

/*
 * A severity's default deadline, as the key deadline_SEVERITY takes it:
 * "none" (0) or a duration (a number with s, m, h, d or w) of at most
 * ten years, in seconds into *sp.  0 or ARB_ECONFIG with the reason.
 */
int	root_conf_deadline(const char *v, int64_t *sp, char *err, size_t n);

/* root.c */
struct root	*root_new(const struct root_conf *);
void		 root_run(struct root *);
void		 root_free(struct root *);

/* authority.c */
struct root_put {		/* a write committed with a new head */
	enum arb_db	 db;
	const void	*key;
	size_t		 klen;
	const void	*val;
	size_t		 vlen;
};
int	root_catalog_load(struct root *);
/*
 * Sign and commit head seq+1 naming refs, with puts in the same
 * transaction; make it current, and tell the children.  refs are copied.
 * The current head's locks go on (less the expired).  On failure nothing
 * is stored and the current head stays.
 */
int	root_sign_head(struct root *, Arbor__PolicyRef **refs, size_t n,
	    const char *why, const struct root_put *puts, size_t nputs);
/* The same with the locks given (copied) instead of the current ones. */
int	root_sign_head_locks(struct root *, Arbor__PolicyRef **refs, size_t n,
	    Arbor__Lock **locks, size_t nlocks, const char *why,
	    const struct root_put *puts, size_t nputs);
void	root_resign_cb(uv_timer_t *);

/* rotate.c */
/* The key chain (with trust_root) and the key to sign with; checked. */
int	root_keys_open(struct root *);
/* The version of the statement in force (0: no trust root). */
uint64_t root_key_version(const struct root *);
void	root_get_keys(struct root *, struct arb_req *, const Arbor__GetKeys *);
void	root_key_rotate(struct root *, struct arb_req *,
	    const Arbor__KeyRotate *);

/* receipt.c */
/*
 * Sign the receipt of endpoint id, made from its record rec (the key it
 * enrolled and the latest report taken per policy), or saying that the
 * root does not know it when rec is NULL, into *sg (the caller clears it
 * with arb_signed_clear).  Returns 0 or an error.
 */
int	root_sign_receipt(struct root *, const char *id,
	    const Arbor__EndpointRecord *rec, Arbor__Signed *sg);

/* reply.c */
/* Reply to req with env, or drop req if env cannot be encoded. */
void	root_reply(struct arb_req *req, Arbor__Envelope *env);
/* Reply to req with an Error: code, and "msg: " its arb_strerror. */
void	root_reply_error(struct arb_req *req, int code, const char *msg);
/* Reply to req with an Error: code and the message, logged too. */
void	root_reply_refuse(struct arb_req *req, int code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	root_reply_vrefuse(struct arb_req *req, int code, const char *fmt,
	    va_list ap) __attribute__((format(printf, 3, 0)));

/* fanin.c */
/*
 * Judge one report entry and, if it is good, stage it in t: the report,
 * and the endpoint's last contact, path and inventory.  Returns 0 (taken;
 * when it changes a policy's counts, *hasdelta is 1 and *dp says how), or
 * the reason it is refused: ARB_ENOTFOUND (endpoint not enrolled),
 * ARB_EUNKNOWNKEY or ARB_EBADSIG (not signed by the key it enrolled),
 * ARB_ESTALE (sequence already seen, or a version older than the one
 * held for the policy), a decoder's error; ARB_ESTORE and
 * -ENOMEM mean the transaction cannot go on.
 */
int	root_fanin_take(struct arb_txn *t, const Arbor__ReportEntry *e,
	    struct root_delta *dp, int *hasdelta);
/*
 * Judge every entry of b in t and keep the relays it names.  d has room
 * for b->n_entries deltas; on 0, *ndp of them are filled and *acceptedp,
 * *rejectedp say how many entries were taken and refused, and codes (if
 * not NULL, room for b->n_entries) each entry's result: 0 or why it was
 * refused.  Returns ARB_ESTORE or -ENOMEM when t must be aborted.
 */
int	root_fanin_batch(struct arb_txn *t, const Arbor__ReportBatch *b,
	    struct root_delta *d, size_t *ndp, uint32_t *acceptedp,
	    uint32_t *rejectedp, int *codes);
/* Apply one delta to counts (policy id -> struct root_pcounts). */
void	root_counts_apply(struct arb_strmap *counts,
	    const struct root_delta *d);
/* Add every report of the status database in t to counts. */
int	root_counts_load(struct arb_strmap *counts, struct arb_txn *t);
/* The counters and the counts, from the store at start; and free them. */
int	root_status_load(struct root *);
void	root_status_free(struct root *);
/* relay_core's hooks: an enrolment and a report batch from below. */
void	root_enroll(void *, struct arb_req *, Arbor__Enroll *);
void	root_batch(void *, struct arb_req *, Arbor__ReportBatch *);
int	root_endpoint_state(void *, const char *);

/* tokens.c */
/* A token's id: hex of the first ROOT_TOKEN_ID_LEN bytes of its hash. */
#define ROOT_TOKEN_ID_LEN	8
#define ROOT_TOKEN_ID_HEX	(2 * ROOT_TOKEN_ID_LEN + 1)
void	root_token_id(const uint8_t sha[ARB_SHA256_LEN],
	    char id[ROOT_TOKEN_ID_HEX]);
/*
 * May tk enrol one more endpoint at now?  again: the endpoint already
 * holds tk (it takes no use).  0, or ARB_EPERM with *whyp.
 */
int	root_token_judge(const Arbor__TokenRecord *tk, int64_t now, int again,
	    enum root_enrol_why *whyp);
/*
 * The stored token whose text is token, judged for an endpoint whose
 * record is old (NULL: a new one) and, unless old already holds it, one
 * use of it staged in t.  0 with *tkp (arb_wire_free_token); ARB_EPERM
 * with *whyp; or a store error.
 */
int	root_token_take(struct arb_txn *t, const char *token,
	    const Arbor__EndpointRecord *old, int64_t now,
	    Arbor__TokenRecord **tkp, enum root_enrol_why *whyp);
/* Names of the reasons, as status shows them; and a refusal's reason. */
const char *root_enrol_why_name(enum root_enrol_why);
const char *root_reject_why_name(enum root_reject_why);
enum root_reject_why root_reject_why(int code);
/* arborctl token create|list|revoke, and endpoint revoke. */
void	root_token_ctl(struct root *, struct arb_req *,
	    const Arbor__TokenCtl *);
void	root_endpoint_revoke(struct root *, struct arb_req *,
	    const Arbor__EndpointRevoke *);

/* apitokens.c */
/* What an HTTP API token lets its holder do. */
enum root_role {
	ROOT_ROLE_NONE,		/* no token: GETs, on loopback, while none exist */
	ROOT_ROLE_VIEWER,	/* every GET but the audit */
	ROOT_ROLE_OPERATOR,	/* every GET and the operator actions */
};
#define ROOT_APITOKEN_PREFIX	"arb_"
#define ROOT_APITOKEN_BYTES	32
#define ROOT_APITOKEN_LEN	(sizeof(ROOT_APITOKEN_PREFIX) - 1 + \
				    2 * ROOT_APITOKEN_BYTES)
#define ROOT_APITOKEN_NAME_MAX	64
const char *root_role_name(enum root_role);
/* "viewer" or "operator": 0 with *rolep, or ARB_EINVAL. */
int	root_role_parse(const char *s, enum root_role *rolep);
/* 1 if s may name a token: 1..ROOT_APITOKEN_NAME_MAX of [A-Za-z0-9._@-]. */
int	root_apitoken_name_valid(const char *s);

/* apiparse.c (untrusted bytes: tests/fuzz/fuzz_apiparse) */
/*
 * The value of key in the query string q (after '?'), percent-decoded
 * into out: 1, 0 when absent, or an error (too long for size, a bad
 * escape, a NUL).
 */
int	root_api_query(const char *q, const char *key, char *out,
	    size_t size);
/*
 * The token in an Authorization header's value h ("Bearer", a space, then
 * "arb_" and 64 lower-case hex digits, spaces around it allowed; NULL
 * allowed): 0 with its SHA-256 in sha, or ARB_EINVAL.
 */
int	root_api_bearer(const char *h, uint8_t sha[ARB_SHA256_LEN]);

/* apitokens.c */
/* Who made a request: the token's name and role, or why it is refused. */
struct root_api_who {
	enum root_role	 role;
	char		 name[ROOT_APITOKEN_NAME_MAX + 1];
	const char	*why;		/* static text, on a refusal */
};
/*
 * Judge the Authorization header h (NULL: none) against the stored
 * tokens: 0 with *who; ARB_ENOTFOUND when no token exists at all;
 * ARB_EPERM (who->why says why); or a store error.
 */
int	root_api_auth(struct root *, const char *h, struct root_api_who *who);
/* arborctl api-token create|list|revoke. */
void	root_apitoken_ctl(struct root *, struct arb_req *,
	    const Arbor__ApiTokenCtl *);
/*
 * A write transaction of the control handlers' own, after what the loop
 * turn staged is committed (its replies wait on it).
 */
int	root_write_begin(struct root *, struct arb_txn **tp);

/* audit.c */
/* Records kept at most; each one past it drops the oldest. */
#define ROOT_AUDIT_MAX		20000
/*
 * Record (durably) and log one operator action: who (token name, role),
 * what (action, target), how it ended (the HTTP status, the root's
 * answer).  Failures are logged; the action stands.
 */
void	root_audit_add(struct root *, const char *token, const char *role,
	    const char *action, const char *target, unsigned status,
	    const char *detail);
/* The HTTP status an Error's code is answered and recorded with. */
unsigned root_error_status(int code);
/* What a control request does, as its audit record names it. */
#define ROOT_AUDIT_ACTION_MAX	48
struct root_audit_what {
	char	action[ROOT_AUDIT_ACTION_MAX];	/* "publish", "rollout pause" */
	char	target[ARB_MAX_ID + 1];		/* policy, token id, name... */
	char	note[256];	/* before the answer in the detail: "v3" */
};
/*
 * 1 with *w when the control request env is an operator action to record
 * (as arborctl names it: "push", "token create", "endpoint lock"), 0 for
 * a read, a blob's chunk or an unknown body.  Never a secret: an
 * enrolment token is named by its id, an API token by its name.
 */
int	root_audit_what(const Arbor__Envelope *env, struct root_audit_what *w);
/* arborctl audit: the newest records, newest first. */
void	root_get_audit(struct root *, struct arb_req *, const Arbor__GetAudit *);

/* inventory.c */
struct arb_expr;
struct arb_target;
/*
 * Apply the inventory delta d of endpoint eid in t: the stored inventory
 * and the package index.  When d does not apply (another base, a digest
 * that does not come out) nothing changes and rec->want_inventory is set,
 * so that its receipt asks for a full one.  Returns 0, or ARB_ESTORE or
 * -ENOMEM when t cannot go on.
 */
int	root_inv_take(struct arb_txn *t, Arbor__EndpointRecord *rec,
	    const char *eid, const Arbor__InventoryDelta *d);
/*
 * Evaluate e over every endpoint in t that tg targets, into *out (clear
 * it with root_inv_query_clear).  Returns 0 or a store error.
 */
int	root_inv_query(struct arb_txn *t, const struct arb_expr *e,
	    const struct arb_target *tg, Arbor__QueryReply *out);
void	root_inv_query_clear(Arbor__QueryReply *out);
/*
 * Does tg take endpoint eid (its record rec)?  The agents' rules, with the
 * groups and properties of its stored inventory, by id, the host name its
 * facts say or the name it enrolled with.
 */
int	root_inv_targeted(const struct arb_target *tg, const char *eid,
	    const Arbor__EndpointRecord *rec);
void	root_query(struct root *, struct arb_req *, const Arbor__Query *);

/* compliance.c */
/* Where an endpoint stands against a baseline. */
enum root_comp {
	ROOT_COMP_COMPLIANT,	/* every policy fixed or not applicable */
	ROOT_COMP_BELOW,	/* at least one policy is not */
	ROOT_COMP_EXEMPT,	/* an unexpired exemption (or a lock) */
	ROOT_COMP_SILENT,	/* not reporting: silent too long */
	ROOT_COMP_COUNT
};
/* "compliant", "below", "exempt", "not-reporting"; "?" out of range. */
const char *root_comp_name(unsigned);
/*
 * Does the latest report in state st (-1: none) about version have
 * satisfy a baseline that wants version want (0: any)?  Only fixed and
 * not applicable do, and only about want or a later version.
 */
int	root_comp_satisfied(int st, uint32_t have, uint32_t want);
/*
 * An endpoint's standing: exempt when exempt is set, else not reporting
 * when its last contact (seconds) is more than silent_ms before now_ms,
 * else below when any of the n policies of v is not ok, else compliant.
 */
enum root_comp root_comp_classify(int exempt, int64_t last_contact,
	    int64_t now_ms, int64_t silent_ms,
	    Arbor__CompliancePolicy *const *v, size_t n);
void	root_compliance_ctl(struct root *, struct arb_req *,
	    const Arbor__ComplianceCtl *);
void	root_get_compliance(struct root *, struct arb_req *,
	    const Arbor__GetCompliance *);

/* status.c */
/*
 * The operator's views, each answering req: the counts (of one policy, or
 * all for ""), the endpoints (filtered by policy "" or a state, -1 for
 * any), the relays below.
 */
void	root_get_status(struct root *, struct arb_req *, const char *);
void	root_get_endpoints(struct root *, struct arb_req *, const char *,
	    int);
void	root_get_tree(struct root *, struct arb_req *);
/*
 * One endpoint's detail (arborctl endpoint show): its record, its row per
 * policy and its inventory, from one read transaction; ARB_ENOTFOUND for
 * an id not enrolled.
 */
void	root_get_endpoint(struct root *, struct arb_req *,
	    const Arbor__GetEndpoint *);

/* api.c */
/* Serve the HTTP API under /api/v1 on h (before arb_http_start). */
int	root_api_serve(struct root *r, struct arb_http *h);

/* metrics.c */
struct arb_metrics;
/* The root's own metrics (reports, endpoints by state), after the core's. */
int	root_metrics(void *root, struct arb_metrics *m);

/* locks.c */
/*
 * The locks after op on the n locks of old at now_ms, expired ones
 * dropped: "lock" adds l (replacing a lock of the same endpoint or group;
 * ARB_EEXPIRED if its until_ms has passed, ARB_ETOOBIG past
 * ARB_LOCKS_MAX), "unlock" drops the lock of l's endpoint or group
 * (ARB_ENOTFOUND if none), "expire" only drops (l NULL).  On 0, *outp is
 * a new array (free it; not its elements) of pointers into old and l.
 */
int	root_locks_edit(Arbor__Lock *const *old, size_t n, const char *op,
	    Arbor__Lock *l, int64_t now_ms, Arbor__Lock ***outp, size_t *np);
/* Has a lock of h passed its until_ms at now_ms? */
int	root_locks_expired(const Arbor__Head *h, int64_t now_ms);

/* lockctl.c */
/* arborctl endpoint lock|unlock|locks. */
void	root_lock_ctl(struct root *, struct arb_req *, const Arbor__LockCtl *);
/* A lock has passed its time: sign a head without it. */
void	root_locks_check(struct root *);

/* rollout.c */
int64_t	root_rollout_now_ms(void);
/* A published policy with waves: its first wave's state, into rs. */
int	root_rollout_begin(struct root *, const Arbor__Policy *,
	    Arbor__RolloutState *rs);
/* Does a wave of in endpoints, failed of them failed, trip its halt? */
int	root_rollout_trips(const Arbor__Wave *, uint32_t in, uint32_t failed,
	    char *why, size_t whylen);
void	root_rollout_check(struct root *);
void	root_rollout_note(struct root *, const struct root_delta *);
void	root_rollout_start(struct root *);
void	root_rollout_stop(struct root *);
void	root_rollout_ctl(struct root *, struct arb_req *,
	    const Arbor__RolloutCtl *);

/* console.c */
struct arb_http;
/* One file of root/console, built in (console_files.c, made by cmake). */
struct root_console_file {
	const char		*name;		/* "app.js" */
	const unsigned char	*data;
	size_t			 len;
};
/* The files, ended by one whose name is NULL. */
extern const struct root_console_file root_console_files[];
/*
 * Serve the web console on h: GET / and /console/ (index.html) and
 * /console/NAME for each file.  Before arb_http_start.  0 or an error.
 */
int	root_console_serve(struct arb_http *h);

/* control.c */
/* A control request, unrecorded: the API's, which records its own. */
void	root_control(struct arb_req *, const uint8_t *, size_t, void *);
/*
 * The control socket's server callback: root_control, with each operator
 * action recorded in the audit trail under the sender's uid, role
 * "local" (a request that does not decode is refused and not recorded).
 */
void	root_control_serve(struct arb_req *, const uint8_t *, size_t,
	    void *);
void	root_uploads_free(struct root *);

#endif
