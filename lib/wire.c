/*
 * The wire: encoding and decoding of Arbor's protobuf messages.  This is the
 * only module that calls protobuf-c's pack and unpack.  Everything that
 * comes off the network, or out of a signed body, passes through a decoder
 * here, so each decoder bounds the input length before unpacking and then
 * checks every length, count and string that the schema leaves unbounded.
 * A message that decodes here can be used by callers without further size
 * checks; semantic checks (seq order, expiry, signatures) are theirs.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbor/cvss.h"
#include "arbor/error.h"
#include "arbor/expr.h"
#include "arbor/inventory.h"
#include "arbor/report.h"
#include "arbor/sig.h"
#include "arbor/wire.h"

/* Reports: entries per batch, relays per path, relays in a tree. */
#define WIRE_BATCH_MAX		16384
#define WIRE_VIA_MAX		16
#define WIRE_RELAYS_MAX		4096
#define WIRE_STATES_MAX		32
/*
 * RelayInfo: a relay's own entry and those of the relays below it travel
 * in every batch, so their count and size bound every upward batch.  A
 * parent is an svc address.
 */
#define WIRE_BATCH_RELAYS_MAX	ARB_RELAYS_BATCH_MAX
#define WIRE_PARENT_MAX		ARB_MAX_URL

/*
 * What protobuf-c may allocate while it unpacks len bytes: a few times the
 * input, as real messages need (bytes and strings are copied, each
 * element of a repeated field is a struct and a pointer), plus room for a
 * small message.  protobuf-c also allocates its record of every field it
 * scans (some 40 bytes each) before it builds the message, so a message
 * of many small elements (an ack naming thousands of refusals, 16 bytes
 * each on the wire) needs some five times its size.  Empty elements of a
 * repeated field cost two bytes on the wire and a hundred in memory; the
 * budget refuses such a message before it is built, instead of after.
 */
#define WIRE_ALLOC_FACTOR	8
#define WIRE_ALLOC_SLACK	(64 * 1024)

/* Largest chunk of blob data carried or asked for in one message. */
#define WIRE_CHUNK_MAX		(1024 * 1024)
/* Largest blob a policy may name or an upload may declare. */
#define WIRE_BLOB_MAX		(16ULL * 1024 * 1024 * 1024)
/* Longest blob name (a file name on the endpoint). */
#define WIRE_NAME_MAX		255
/* Longest text of an Error built by arb_wire_error. */
#define WIRE_ERRTEXT_MAX	512
/* A stored Signed record: its body plus signature, key id and tags. */
#define WIRE_SIGNED_REC_MAX	(ARB_SIGNED_MAX + 256)

static const char *const wire_severities[] = {
	"critical", "high", "medium", "low"
};

/*
 * Length of s if it is at most max bytes, or (size_t)-1.  Never reads more
 * than max + 1 bytes.  protobuf-c gives "" for an absent string, but a NULL
 * is treated the same way.
 */
static size_t
wire_strlen(const char *s, size_t max)
{
	size_t	n;

	if (s == NULL)
		return 0;
	n = strnlen(s, max + 1);
	return n > max ? (size_t)-1 : n;
}

/* A free-form string of at most max bytes (empty allowed). */
static int
wire_check_text(const char *s, size_t max)
{
	return wire_strlen(s, max) == (size_t)-1 ? ARB_EPROTO : 0;
}

/*
 * A policy id, used as a key and in file names: 1..ARB_MAX_ID characters
 * of [A-Za-z0-9._-].
 */
static int
wire_check_id(const char *s)
{
	size_t	i, n;

	n = wire_strlen(s, ARB_MAX_ID);
	if (n == 0 || n == (size_t)-1)
		return ARB_EPROTO;
	for (i = 0; i < n; i++) {
		char	c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == '-'))
			return ARB_EPROTO;
	}
	return 0;
}

/* An optional policy id: empty, or a valid id. */
static int
wire_check_optid(const char *s)
{
	if (s == NULL || s[0] == '\0')
		return 0;
	return wire_check_id(s);
}

static int
wire_check_sha(const ProtobufCBinaryData *b)
{
	return b->len == ARB_SHA256_LEN ? 0 : ARB_EPROTO;
}

/*
 * A blob name becomes a file name in the endpoint's work directory: it must
 * be one path component that is not "." or "..", with no control
 * characters.  (wire_scan has already refused a NUL inside any string.)
 */
static int
wire_check_blobname(const char *s)
{
	size_t	i, n;

	n = wire_strlen(s, WIRE_NAME_MAX);
	if (n == 0 || n == (size_t)-1)
		return ARB_EPROTO;
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return ARB_EPROTO;
	for (i = 0; i < n; i++) {
		unsigned char	c = (unsigned char)s[i];

		if (c == '/' || c < 0x20 || c == 0x7f)
			return ARB_EPROTO;
	}
	return 0;
}

static int
wire_check_signed(const Arbor__Signed *s)
{
	if (s == NULL)
		return ARB_EPROTO;
	if (s->body.len > ARB_SIGNED_MAX || s->sig.len != ARB_SIG_LEN ||
	    s->key_id.len != ARB_KEYID_LEN)
		return ARB_EPROTO;
	return 0;
}

/* The relays a report passed: a short list of node ids. */
static int
wire_check_via(char **via, size_t n)
{
	size_t	i;

	if (n > WIRE_VIA_MAX)
		return ARB_EPROTO;
	for (i = 0; i < n; i++)
		if (wire_check_text(via[i], ARB_MAX_ID) != 0)
			return ARB_EPROTO;
	return 0;
}

/* Groups an enrolment token gives: 1..ARB_MAX_ID bytes each, a few. */
static int
wire_check_groups(char **g, size_t n)
{
	size_t	i, len;

	if (n > ARB_TOKEN_GROUPS_MAX)
		return ARB_EPROTO;
	for (i = 0; i < n; i++)
		if ((len = wire_strlen(g[i], ARB_MAX_ID)) == 0 ||
		    len == (size_t)-1)
			return ARB_EPROTO;
	return 0;
}

/* A token's bounds, in a reply and in the store alike. */
static int
wire_check_token(const Arbor__TokenRecord *t)
{
	if (wire_check_text(t->id, ARB_MAX_ID) != 0 ||
	    (t->sha256.len != 0 && t->sha256.len != ARB_SHA256_LEN))
		return ARB_EPROTO;
	return wire_check_groups(t->groups, t->n_groups);
}

/* An HTTP API token's bounds, in a reply and in the store alike. */
static int
wire_check_apitoken(const Arbor__ApiToken *t)
{
	if (wire_check_text(t->name, ARB_MAX_ID) != 0 ||
	    wire_check_text(t->role, ARB_MAX_ID) != 0 ||
	    (t->sha256.len != 0 && t->sha256.len != ARB_SHA256_LEN))
		return ARB_EPROTO;
	return 0;
}

static int
wire_check_audit(const Arbor__AuditRecord *a)
{
	if (wire_check_text(a->token, ARB_MAX_ID) != 0 ||
	    wire_check_text(a->role, ARB_MAX_ID) != 0 ||
	    wire_check_text(a->action, ARB_MAX_ID) != 0 ||
	    wire_check_text(a->target, ARB_MAX_ID) != 0 ||
	    wire_check_text(a->detail, ARB_MAX_ID * 8) != 0)
		return ARB_EPROTO;
	return 0;
}

static int
wire_check_reasons(Arbor__ReasonCount **v, size_t n)
{
	size_t	i;

	if (n > WIRE_STATES_MAX)
		return ARB_EPROTO;
	for (i = 0; i < n; i++)
		if (wire_check_text(v[i]->reason, ARB_MAX_ID) != 0)
			return ARB_EPROTO;
	return 0;
}

static int
wire_check_relays(Arbor__RelayInfo **r, size_t n)
{
	size_t	i;

	if (n > WIRE_RELAYS_MAX)
		return ARB_EPROTO;
	for (i = 0; i < n; i++)
		if (wire_check_text(r[i]->node_id, ARB_MAX_ID) != 0 ||
		    wire_check_text(r[i]->parent, WIRE_PARENT_MAX) != 0 ||
		    wire_check_text(r[i]->carrier, ARB_MAX_ID) != 0 ||
		    wire_check_text(r[i]->parent_id, ARB_MAX_ID) != 0)
			return ARB_EPROTO;
	return 0;
}

/* A lock: exactly one of an endpoint id and a group, a short reason. */
static int
wire_check_lock(const Arbor__Lock *l)
{
	if (l == NULL || wire_check_text(l->endpoint_id, ARB_MAX_ID) != 0 ||
	    wire_check_text(l->group, ARB_MAX_ID) != 0 ||
	    (l->endpoint_id[0] == '\0') == (l->group[0] == '\0') ||
	    wire_check_text(l->reason, ARB_LOCK_REASON_MAX) != 0)
		return ARB_EPROTO;
	return 0;
}

static int
wire_check_unmanaged(Arbor__Unmanaged **u, size_t n, size_t max)
{
	size_t	i;

	if (n > max)
		return ARB_EPROTO;
	for (i = 0; i < n; i++)
		if (wire_check_text(u[i]->addr, ARB_UNMANAGED_ADDR_MAX) != 0 ||
		    wire_check_text(u[i]->relay, ARB_MAX_ID) != 0 ||
		    wire_check_text(u[i]->reason, ARB_MAX_ID) != 0 ||
		    wire_check_text(u[i]->claimed, ARB_MAX_ID) != 0)
			return ARB_EPROTO;
	return 0;
}

static int
wire_check_head(const Arbor__Head *h)
{
	size_t	i;

	if (h->n_policies > ARB_MAX_POLICIES || h->n_locks > ARB_LOCKS_MAX)
		return ARB_EPROTO;
	for (i = 0; i < h->n_locks; i++)
		if (wire_check_lock(h->locks[i]) != 0)
			return ARB_EPROTO;
	for (i = 0; i < h->n_policies; i++) {
		const Arbor__PolicyRef	*r = h->policies[i];

		if (r == NULL || wire_check_id(r->id) != 0 ||
		    wire_check_sha(&r->sha256) != 0)
			return ARB_EPROTO;
	}
	return 0;
}

/* Every key 32 bytes, every revoked id 8, the link a hash or nothing. */
static int
wire_check_keystmt(const Arbor__KeyStatement *k)
{
	size_t	i;

	if (k->version == 0 || k->n_keys == 0 ||
	    k->n_keys > ARB_KEYSTMT_KEYS_MAX ||
	    k->n_revoked > ARB_KEYSTMT_REVOKED_MAX ||
	    k->not_after <= k->not_before)
		return ARB_EPROTO;
	for (i = 0; i < k->n_keys; i++)
		if (k->keys[i].len != ARB_PUBKEY_LEN)
			return ARB_EPROTO;
	for (i = 0; i < k->n_revoked; i++)
		if (k->revoked[i].len != ARB_KEYID_LEN)
			return ARB_EPROTO;
	if (k->version == 1 ? k->prev_sha256.len != 0 :
	    k->prev_sha256.len != ARB_SHA256_LEN)
		return ARB_EPROTO;
	return 0;
}

/* A schedule and waves the endpoints can evaluate (lib/schedule.c). */
static int
wire_check_schedule(const Arbor__Policy *p)
{
	const Arbor__Schedule	*s = p->schedule;
	size_t			 i;
	uint32_t		 share = 0;

	if (s != NULL) {
		if (s->n_windows > ARB_SCHED_MAX_WINDOWS ||
		    wire_check_text(s->run_when, ARB_MAX_TEXT) != 0)
			return ARB_EPROTO;
		for (i = 0; i < s->n_windows; i++)
			if (s->windows[i] == NULL || s->windows[i]->days > 0x7f ||
			    s->windows[i]->start_min >= 1440 ||
			    s->windows[i]->end_min > 1440)
				return ARB_EPROTO;
	}
	if (p->n_waves > ARB_SCHED_MAX_WAVES)
		return ARB_EPROTO;
	for (i = 0; i < p->n_waves; i++) {
		const Arbor__Wave *w = p->waves[i];

		if (w == NULL || wire_check_text(w->name, ARB_MAX_ID) != 0 ||
		    w->share_pct < share || w->share_pct == 0 ||
		    w->share_pct > 100 || w->success_pct > 100 ||
		    w->halt_pct > 100)
			return ARB_EPROTO;
		share = w->share_pct;
	}
	if (p->retry_count > ARB_POLICY_MAX_RETRIES ||
	    (p->retry_count > 0 && p->retry_interval_s == 0))
		return ARB_EPROTO;
	if (p->reboot_mode > ARB_REBOOT_FORCED ||
	    p->reboot_after_s > ARB_REBOOT_MAX_S ||
	    (p->reboot_mode == ARB_REBOOT_USER && p->reboot_after_s == 0))
		return ARB_EPROTO;
	return 0;
}

static int
wire_check_policy(const Arbor__Policy *p)
{
	size_t	i, j;
	int	sev = 0;

	if (p == NULL || wire_check_id(p->id) != 0)
		return ARB_EPROTO;
	if (wire_check_text(p->title, ARB_MAX_TEXT) != 0 ||
	    wire_check_text(p->applicability, ARB_MAX_TEXT) != 0 ||
	    wire_check_text(p->action, ARB_MAX_TEXT) != 0 ||
	    wire_check_text(p->rollback, ARB_MAX_TEXT) != 0)
		return ARB_EPROTO;
	for (i = 0; p->severity != NULL &&
	    i < sizeof(wire_severities) / sizeof(wire_severities[0]); i++)
		if (strcmp(p->severity, wire_severities[i]) == 0)
			sev = 1;
	if (!sev)
		return ARB_EPROTO;
	if (p->n_blobs > ARB_MAX_BLOBS || p->n_cves > ARB_CVE_MAX ||
	    !(p->cvss >= 0 && p->cvss <= 10) ||
	    wire_check_text(p->cvss_vector, ARB_CVSS_VECTOR_MAX) != 0 ||
	    wire_check_schedule(p) != 0)
		return ARB_EPROTO;
	for (i = 0; i < p->n_cves; i++)
		if (!arb_cve_valid(p->cves[i]))
			return ARB_EPROTO;
	for (i = 0; i < p->n_blobs; i++) {
		const Arbor__BlobRef	*b = p->blobs[i];

		if (b == NULL || wire_check_blobname(b->name) != 0 ||
		    wire_check_sha(&b->sha256) != 0 || b->size == 0 ||
		    b->size > WIRE_BLOB_MAX)
			return ARB_EPROTO;
		/* Two blobs of one name would land on one file. */
		for (j = 0; j < i; j++)
			if (strcmp(p->blobs[j]->name, b->name) == 0)
				return ARB_EPROTO;
	}
	return 0;
}

/*
 * Length of the valid UTF-8 sequence at p (of n bytes), or 0 if none is
 * there: no overlong forms, no surrogates, nothing above U+10FFFF, no NUL.
 */
static size_t
wire_utf8_seq(const uint8_t *p, size_t n)
{
	size_t		i, k;
	uint32_t	cp, min;

	if (n == 0 || p[0] == 0)
		return 0;
	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0) {
		k = 2;
		cp = p[0] & 0x1f;
		min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		k = 3;
		cp = p[0] & 0x0f;
		min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		k = 4;
		cp = p[0] & 0x07;
		min = 0x10000;
	} else
		return 0;
	if (n < k)
		return 0;
	for (i = 1; i < k; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return k;
}

static int
wire_check_utf8(const uint8_t *p, size_t n)
{
	size_t	k;

	while (n > 0) {
		if ((k = wire_utf8_seq(p, n)) == 0)
			return ARB_EPROTO;
		p += k;
		n -= k;
	}
	return 0;
}

static int
wire_varint(const uint8_t **pp, const uint8_t *end, uint64_t *vp)
{
	uint64_t	v = 0;
	unsigned	shift;
	uint8_t		c;

	for (shift = 0; shift < 64; shift += 7) {
		if (*pp >= end)
			return ARB_EPROTO;
		c = *(*pp)++;
		v |= (uint64_t)(c & 0x7f) << shift;
		if ((c & 0x80) == 0) {
			*vp = v;
			return 0;
		}
	}
	return ARB_EPROTO;
}

/*
 * protobuf-c 1.4 checks neither that strings are UTF-8 (as proto3 asks)
 * nor that they hold no NUL, and it hands back C strings, so a name "a\0b"
 * would silently read as "a".  Walk the encoding with the message's
 * descriptor and check every tag, and every string field at every level,
 * in place.  Unknown fields are skipped, and counted in *unknown (NULL:
 * not counted): protobuf-c keeps each, and its cost is not in proportion
 * to its bytes.  The schema is not recursive; depth is capped all the
 * same.
 */
static int
wire_scan(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t len,
    int depth, size_t *unknown)
{
	const ProtobufCFieldDescriptor	*f;
	const uint8_t			*end = p + len;
	uint64_t			 tag, n;

	if (depth > 8)
		return ARB_EPROTO;
	while (p < end) {
		/*
		 * Field 0 and numbers above 2^29 - 1 do not exist; protobuf-c
		 * lets an overlong tag 0 through, then packs it so that it
		 * no longer unpacks.
		 */
		if (wire_varint(&p, end, &tag) != 0 || (tag >> 3) == 0 ||
		    (tag >> 3) > 0x1fffffff)
			return ARB_EPROTO;
		f = protobuf_c_message_descriptor_get_field(d,
		    (unsigned)(tag >> 3));
		if (f == NULL && unknown != NULL)
			(*unknown)++;
		switch (tag & 7) {
		case 0:
			if (wire_varint(&p, end, &n) != 0)
				return ARB_EPROTO;
			break;
		case 1:
			if (end - p < 8)
				return ARB_EPROTO;
			p += 8;
			break;
		case 5:
			if (end - p < 4)
				return ARB_EPROTO;
			p += 4;
			break;
		case 2:
			if (wire_varint(&p, end, &n) != 0 ||
			    n > (uint64_t)(end - p))
				return ARB_EPROTO;
			if (f != NULL && f->type == PROTOBUF_C_TYPE_STRING &&
			    wire_check_utf8(p, (size_t)n) != 0)
				return ARB_EPROTO;
			if (f != NULL && f->type == PROTOBUF_C_TYPE_MESSAGE &&
			    wire_scan(f->descriptor, p, (size_t)n,
			    depth + 1, unknown) != 0)
				return ARB_EPROTO;
			p += n;
			break;
		default:
			/* Groups: not in proto3. */
			return ARB_EPROTO;
		}
	}
	return 0;
}

/*
 * The per-body bounds.  A reply that names a signed object must carry it:
 * a node that has nothing to give answers with an Error instead.  It is
 * long on purpose: one short case per body, all in one place, so that a
 * new body without its bounds stands out in review.
 */
/* Every string of v (n of them, at most max) within ARB_MAX_ID bytes. */
static int
wire_check_names(char **v, size_t n, size_t max)
{
	size_t	i;

	if (n > max)
		return ARB_EPROTO;
	for (i = 0; i < n; i++)
		if (wire_strlen(v[i], ARB_MAX_ID) == 0 ||
		    wire_strlen(v[i], ARB_MAX_ID) == (size_t)-1)
			return ARB_EPROTO;
	return 0;
}

/* A baseline: a name, targets and policy ids within their bounds. */
static int
wire_check_baseline(const Arbor__Baseline *b)
{
	size_t	i;

	if (b == NULL || wire_check_id(b->name) != 0 ||
	    wire_check_names(b->target_endpoints, b->n_target_endpoints,
	    ARB_BASELINE_TARGETS_MAX) != 0 ||
	    wire_check_names(b->target_groups, b->n_target_groups,
	    ARB_BASELINE_TARGETS_MAX) != 0 ||
	    wire_check_names(b->target_props, b->n_target_props,
	    ARB_BASELINE_TARGETS_MAX) != 0 ||
	    b->n_policies > ARB_BASELINE_POLICIES_MAX)
		return ARB_EPROTO;
	for (i = 0; i < b->n_policies; i++)
		if (wire_check_id(b->policies[i]) != 0)
			return ARB_EPROTO;
	return 0;
}

/* An exemption: exactly one of an endpoint id and a group, a reason. */
static int
wire_check_exemption(const Arbor__Exemption *x)
{
	if (x == NULL || wire_check_text(x->endpoint_id, ARB_MAX_ID) != 0 ||
	    wire_check_text(x->group, ARB_MAX_ID) != 0 ||
	    (x->endpoint_id[0] == '\0') == (x->group[0] == '\0') ||
	    wire_check_text(x->reason, ARB_EXEMPT_REASON_MAX) != 0)
		return ARB_EPROTO;
	return 0;
}

/* Endpoint rows (EndpointsReply, EndpointDetail). */
static int
wire_check_epinfos(Arbor__EndpointInfo *const *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (wire_check_text(v[i]->endpoint_id, ARB_MAX_ID) ||
		    wire_check_text(v[i]->hostname, ARB_MAX_ID) ||
		    wire_check_optid(v[i]->policy_id) ||
		    wire_check_text(v[i]->detail, ARB_MAX_TEXT) ||
		    wire_check_text(v[i]->revoked_reason, ARB_MAX_ID * 4) ||
		    wire_check_via(v[i]->via, v[i]->n_via))
			return ARB_EPROTO;
	return 0;
}

/* An endpoint record's history: at most ARB_HISTORY_MAX, policy ids. */
static int
wire_check_history(Arbor__HistoryEntry *const *v, size_t n)
{
	size_t	i;

	if (n > ARB_HISTORY_MAX)
		return ARB_EPROTO;
	for (i = 0; i < n; i++)
		if (wire_check_optid(v[i]->policy_id) != 0)
			return ARB_EPROTO;
	return 0;
}

/* One endpoint's detail: its record, rows and inventory. */
static int
wire_check_detail(const Arbor__EndpointDetail *d)
{
	const Arbor__EndpointRecord	*rec = d->record;

	if (wire_check_id(d->endpoint_id) != 0 || rec == NULL ||
	    wire_check_text(rec->hostname, ARB_MAX_ID) != 0 ||
	    wire_check_via(rec->via, rec->n_via) != 0 ||
	    wire_check_groups(rec->groups, rec->n_groups) != 0 ||
	    wire_check_history(rec->history, rec->n_history) != 0 ||
	    wire_check_epinfos(d->rows, d->n_rows) != 0 ||
	    (d->inventory != NULL && arb_inv_check(d->inventory) != 0))
		return ARB_EPROTO;
	return 0;
}

static int
wire_check_envelope(const Arbor__Envelope *e)
{
	size_t	i;

	if (e->version != 1)
		return ARB_EPROTO;
	switch (e->body_case) {
	case ARBOR__ENVELOPE__BODY_HELLO:
		if (wire_check_text(e->hello->node_id, ARB_MAX_ID) != 0 ||
		    wire_check_text(e->hello->kind, ARB_MAX_ID) != 0)
			return ARB_EPROTO;
		return 0;
	case ARBOR__ENVELOPE__BODY_HELLO_REPLY:
		return wire_check_text(e->hello_reply->node_id, ARB_MAX_ID);
	case ARBOR__ENVELOPE__BODY_GET_HEAD:
		if (wire_check_text(e->get_head->node_id, ARB_MAX_ID) != 0 ||
		    wire_check_text(e->get_head->kind, ARB_MAX_ID) != 0 ||
		    wire_check_text(e->get_head->endpoint_id, ARB_MAX_ID) != 0)
			return ARB_EPROTO;
		return 0;
	case ARBOR__ENVELOPE__BODY_PUT_CHUNK_REPLY:
	case ARBOR__ENVELOPE__BODY_GET_CATALOG:
	case ARBOR__ENVELOPE__BODY_GET_TREE:
		return 0;
	case ARBOR__ENVELOPE__BODY_REPORT_ACK:
		if (e->report_ack->n_receipts > WIRE_BATCH_MAX ||
		    e->report_ack->n_refused > WIRE_BATCH_MAX)
			return ARB_EPROTO;
		for (i = 0; i < e->report_ack->n_receipts; i++)
			if (wire_check_signed(e->report_ack->receipts[i]) != 0)
				return ARB_EPROTO;
		return 0;
	case ARBOR__ENVELOPE__BODY_ROLLBACK:
		return wire_check_id(e->rollback->id);
	case ARBOR__ENVELOPE__BODY_GET_STATUS:
		return wire_check_optid(e->get_status->policy_id);
	case ARBOR__ENVELOPE__BODY_GET_ENDPOINTS:
		return wire_check_optid(e->get_endpoints->policy_id);
	case ARBOR__ENVELOPE__BODY_STATUS_REPLY:
		if (wire_check_reasons(e->status_reply->rejected_by,
		    e->status_reply->n_rejected_by) != 0 ||
		    wire_check_reasons(e->status_reply->enrol_refused,
		    e->status_reply->n_enrol_refused) != 0)
			return ARB_EPROTO;
		for (i = 0; i < e->status_reply->n_policies; i++)
			if (wire_check_id(
			    e->status_reply->policies[i]->policy_id) != 0 ||
			    e->status_reply->policies[i]->n_counts >
			    WIRE_STATES_MAX)
				return ARB_EPROTO;
		return 0;
	case ARBOR__ENVELOPE__BODY_ENDPOINTS_REPLY:
		return wire_check_epinfos(e->endpoints_reply->endpoints,
		    e->endpoints_reply->n_endpoints);
	case ARBOR__ENVELOPE__BODY_GET_ENDPOINT:
		return wire_check_id(e->get_endpoint->endpoint_id);
	case ARBOR__ENVELOPE__BODY_ENDPOINT_DETAIL:
		return wire_check_detail(e->endpoint_detail);
	case ARBOR__ENVELOPE__BODY_ROLLOUT_CTL:
		if (wire_check_text(e->rollout_ctl->id, ARB_MAX_ID) != 0 ||
		    wire_check_text(e->rollout_ctl->op, ARB_MAX_ID) != 0)
			return ARB_EPROTO;
		return 0;
	case ARBOR__ENVELOPE__BODY_ROLLOUT_REPLY:
		if (e->rollout_reply->n_lines > ARB_MAX_POLICIES)
			return ARB_EPROTO;
		for (i = 0; i < e->rollout_reply->n_lines; i++)
			if (wire_check_text(e->rollout_reply->lines[i],
			    ARB_MAX_TEXT) != 0)
				return ARB_EPROTO;
		return 0;
	case ARBOR__ENVELOPE__BODY_TOKEN_CTL:
		if (wire_check_text(e->token_ctl->op, ARB_MAX_ID) != 0 ||
		    wire_check_text(e->token_ctl->id, ARB_MAX_ID) != 0 ||
		    (e->token_ctl->sha256.len != 0 &&
		    wire_check_sha(&e->token_ctl->sha256) != 0) ||
		    wire_check_groups(e->token_ctl->groups,
		    e->token_ctl->n_groups) != 0)
			return ARB_EPROTO;
		return 0;
	case ARBOR__ENVELOPE__BODY_TOKEN_REPLY:
		if (e->token_reply->n_tokens > ARB_TOKENS_MAX)
			return ARB_EPROTO;
		for (i = 0; i < e->token_reply->n_tokens; i++)
			if (wire_check_token(e->token_reply->tokens[i]) != 0)
				return ARB_EPROTO;
		return 0;
	case ARBOR__ENVELOPE__BODY_API_TOKEN_CTL:
		if (wire_check_text(e->api_token_ctl->op, ARB_MAX_ID) != 0 ||
		    wire_check_text(e->api_token_ctl->name, ARB_MAX_ID) != 0 ||
		    wire_check_text(e->api_token_ctl->role, ARB_MAX_ID) != 0 ||
		    (e->api_token_ctl->sha256.len != 0 &&
		    wire_check_sha(&e->api_token_ctl->sha256) != 0))
			return ARB_EPROTO;
		return 0;
	case ARBOR__ENVELOPE__BODY_API_TOKEN_REPLY:
		if (e->api_token_reply->n_tokens > ARB_APITOKENS_MAX)
			return ARB_EPROTO;
		for (i = 0; i < e->api_token_reply->n_tokens; i++)
			if (wire_check_apitoken(
			    e->api_token_reply->tokens[i]) != 0)
				return ARB_EPROTO;
		return 0;
	case ARBOR__ENVELOPE__BODY_GET_AUDIT:
		return 0;
	case ARBOR__ENVELOPE__BODY_AUDIT_REPLY:
		if (e->audit_reply->n_records > ARB_AUDIT_REPLY_MAX)
			return ARB_EPROTO;
		for (i = 0; i < e->audit_reply->n_records; i++)
			if (wire_check_audit(e->audit_reply->records[i]) != 0)
				return ARB_EPROTO;
		return 0;
	case ARBOR__ENVELOPE__BODY_ENDPOINT_REVOKE:
		if (wire_check_text(e->endpoint_revoke->endpoint_id,
		    ARB_MAX_ID) != 0 || wire_check_text(
		    e->endpoint_revoke->reason, ARB_MAX_ID * 4) != 0)
			return ARB_EPROTO;
		return 0;
	case ARBOR__ENVELOPE__BODY_TREE_REPLY:
		return wire_check_relays(e->tree_reply->relays,
		    e->tree_reply->n_relays);
	case ARBOR__ENVELOPE__BODY_QUERY:
		if (wire_check_text(e->query->expr, ARB_EXPR_MAX_LEN) != 0 ||
		    e->query->n_target_endpoints > WIRE_BATCH_MAX ||
		    e->query->n_target_groups > WIRE_BATCH_MAX ||
		    e->query->n_target_props > WIRE_BATCH_MAX)
			return ARB_EPROTO;
		return 0;
	case ARBOR__ENVELOPE__BODY_QUERY_REPLY:
		return 0;	/* from the root, to arborctl: texts only */
	case ARBOR__ENVELOPE__BODY_ENROLL:
		if (wire_check_signed(e->enroll->enroll) != 0 ||
		    wire_check_via(e->enroll->via, e->enroll->n_via) != 0)
			return ARB_EPROTO;
		return 0;
	case ARBOR__ENVELOPE__BODY_ENROLL_REPLY:
		if (e->enroll_reply->receipt != NULL &&
		    wire_check_signed(e->enroll_reply->receipt) != 0)
			return ARB_EPROTO;
		if (wire_check_text(e->enroll_reply->cert, ARB_CERT_MAX) != 0)
			return ARB_EPROTO;
		return wire_check_text(e->enroll_reply->endpoint_id,
		    ARB_MAX_ID);
	case ARBOR__ENVELOPE__BODY_REPORT_BATCH:
		if (e->report_batch->n_entries > WIRE_BATCH_MAX)
			return ARB_EPROTO;
		for (i = 0; i < e->report_batch->n_entries; i++) {
			const Arbor__ReportEntry *x =
			    e->report_batch->entries[i];

			if (wire_check_signed(x->report) != 0 ||
			    wire_check_via(x->via, x->n_via) != 0)
				return ARB_EPROTO;
		}
		if (e->report_batch->n_relays > WIRE_BATCH_RELAYS_MAX)
			return ARB_EPROTO;
		if (e->report_batch->n_want_receipts > WIRE_BATCH_MAX)
			return ARB_EPROTO;
		for (i = 0; i < e->report_batch->n_want_receipts; i++)
			if (wire_check_text(e->report_batch->want_receipts[i],
			    ARB_MAX_ID) != 0)
				return ARB_EPROTO;
		if (wire_check_unmanaged(e->report_batch->unmanaged,
		    e->report_batch->n_unmanaged, ARB_UNMANAGED_BATCH_MAX) != 0)
			return ARB_EPROTO;
		return wire_check_relays(e->report_batch->relays,
		    e->report_batch->n_relays);
	case ARBOR__ENVELOPE__BODY_GET_UNMANAGED:
		return 0;
	case ARBOR__ENVELOPE__BODY_UNMANAGED_REPLY:
		return wire_check_unmanaged(e->unmanaged_reply->unmanaged,
		    e->unmanaged_reply->n_unmanaged, ARB_UNMANAGED_REPLY_MAX);
	case ARBOR__ENVELOPE__BODY_HEAD_REPLY:
		if (e->head_reply->n_policies > ARB_MAX_POLICIES)
			return ARB_EPROTO;
		for (i = 0; i < e->head_reply->n_policies; i++)
			if (wire_check_signed(e->head_reply->policies[i]) != 0)
				return ARB_EPROTO;
		return wire_check_signed(e->head_reply->head);
	case ARBOR__ENVELOPE__BODY_GET_POLICY:
		return wire_check_sha(&e->get_policy->sha256);
	case ARBOR__ENVELOPE__BODY_POLICY_REPLY:
		return wire_check_signed(e->policy_reply->policy);
	case ARBOR__ENVELOPE__BODY_GET_CHUNK:
		if (wire_check_sha(&e->get_chunk->sha256) != 0 ||
		    e->get_chunk->len > WIRE_CHUNK_MAX)
			return ARB_EPROTO;
		return 0;
	case ARBOR__ENVELOPE__BODY_CHUNK:
		if (wire_check_sha(&e->chunk->sha256) != 0)
			return ARB_EPROTO;
		/* More data than any chunk may hold: endless data. */
		if (e->chunk->data.len > WIRE_CHUNK_MAX ||
		    e->chunk->framed_len > WIRE_CHUNK_MAX)
			return ARB_ETOOLONG;
		return 0;
	case ARBOR__ENVELOPE__BODY_NOTIFY:
		return wire_check_optid(e->notify->policy_id);
	case ARBOR__ENVELOPE__BODY_ERROR:
		return wire_check_text(e->error->message, ARB_MAX_TEXT);
	case ARBOR__ENVELOPE__BODY_PUT_CHUNK:
		if (wire_check_sha(&e->put_chunk->sha256) != 0 ||
		    e->put_chunk->data.len > WIRE_CHUNK_MAX ||
		    e->put_chunk->size > WIRE_BLOB_MAX)
			return ARB_EPROTO;
		return 0;
	case ARBOR__ENVELOPE__BODY_PUBLISH:
		return wire_check_policy(e->publish->policy);
	case ARBOR__ENVELOPE__BODY_RETIRE:
		return wire_check_id(e->retire->id);
	case ARBOR__ENVELOPE__BODY_PUSH:
		return wire_check_id(e->push->id);
	case ARBOR__ENVELOPE__BODY_DONE:
		return wire_check_text(e->done->detail, ARB_MAX_TEXT);
	case ARBOR__ENVELOPE__BODY_CATALOG_REPLY:
		/* A root that has published nothing holds no head. */
		if ((e->catalog_reply->head == NULL ?
		    e->catalog_reply->n_policies != 0 :
		    wire_check_signed(e->catalog_reply->head) != 0) ||
		    e->catalog_reply->n_policies > ARB_MAX_POLICIES)
			return ARB_EPROTO;
		for (i = 0; i < e->catalog_reply->n_policies; i++)
			if (wire_check_signed(
			    e->catalog_reply->policies[i]) != 0)
				return ARB_EPROTO;
		return 0;
	case ARBOR__ENVELOPE__BODY_GET_KEYS:
		return 0;
	case ARBOR__ENVELOPE__BODY_KEYS_REPLY:
		if (e->keys_reply->n_statements > ARB_KEYS_REPLY_MAX)
			return ARB_EPROTO;
		for (i = 0; i < e->keys_reply->n_statements; i++)
			if (wire_check_signed(
			    e->keys_reply->statements[i]) != 0)
				return ARB_EPROTO;
		return 0;
	case ARBOR__ENVELOPE__BODY_KEY_ROTATE:
		if (wire_check_signed(e->key_rotate->statement) != 0 ||
		    wire_check_text(e->key_rotate->key_path, ARB_MAX_URL * 16)
		    != 0)
			return ARB_EPROTO;
		return 0;
	case ARBOR__ENVELOPE__BODY_COMPLIANCE_CTL: {
		const Arbor__ComplianceCtl *c = e->compliance_ctl;

		if (wire_check_text(c->op, ARB_MAX_ID) != 0 ||
		    (c->baseline != NULL &&
		    wire_check_baseline(c->baseline) != 0) ||
		    (c->exemption != NULL &&
		    wire_check_exemption(c->exemption) != 0))
			return ARB_EPROTO;
		return 0;
	}
	case ARBOR__ENVELOPE__BODY_GET_COMPLIANCE:
		return wire_check_optid(e->get_compliance->baseline);
	case ARBOR__ENVELOPE__BODY_LOCK_CTL:
		if (wire_check_text(e->lock_ctl->op, ARB_MAX_ID) != 0 ||
		    (e->lock_ctl->lock != NULL &&
		    wire_check_lock(e->lock_ctl->lock) != 0))
			return ARB_EPROTO;
		return 0;
	case ARBOR__ENVELOPE__BODY_COMPLIANCE_CTL_REPLY:
	case ARBOR__ENVELOPE__BODY_COMPLIANCE_REPLY:
	case ARBOR__ENVELOPE__BODY_LOCK_REPLY:
		return 0;	/* from the root, to arborctl: texts only */
	case ARBOR__ENVELOPE__BODY__NOT_SET:
	default:
		return ARB_EPROTO;
	}
}

/*
 * Pack any message into a malloc'd buffer of at most max bytes.  An object
 * that its receiver would refuse (too large, a string that is not UTF-8)
 * is refused here, so that nothing is signed or sent that every peer would
 * reject.
 */
static int
wire_pack(const ProtobufCMessage *m, size_t max, uint8_t **bufp,
    size_t *lenp)
{
	uint8_t	*buf;
	size_t	 n;

	n = protobuf_c_message_get_packed_size(m);
	if (n > max)
		return ARB_ETOOBIG;
	/* An all-default message packs to nothing; malloc(0) may be NULL. */
	if ((buf = malloc(n > 0 ? n : 1)) == NULL)
		return -ENOMEM;
	if (protobuf_c_message_pack(m, buf) != n ||
	    wire_scan(m->descriptor, buf, n, 0, NULL) != 0) {
		free(buf);
		return ARB_EPROTO;
	}
	*bufp = buf;
	*lenp = n;
	return 0;
}

/* An allocator for protobuf-c that refuses to go past a budget. */
struct wire_budget {
	size_t	left;
	int	refused;
};

static void *
wire_alloc(void *arg, size_t size)
{
	struct wire_budget	*b = arg;

	if (size > b->left) {
		b->refused = 1;
		return NULL;
	}
	b->left -= size;
	return malloc(size);
}

/*
 * Memory is handed back with plain free(), so that what was unpacked is
 * freed with the default allocator, as every caller does.
 */
static void
wire_free(void *arg, void *p)
{
	(void)arg;
	free(p);
}

/*
 * Bound, scan and unpack len bytes as a message of type d.  The caller
 * checks the fields and frees with protobuf_c_message_free_unpacked.  An
 * empty input is refused: it would decode as an all-default message, which
 * no sender ever means.  The scan, which allocates nothing, comes first;
 * protobuf-c then unpacks within a budget of WIRE_ALLOC_FACTOR times the
 * input (ARB_ETOOBIG past it).
 */
static int
wire_unpack(const ProtobufCMessageDescriptor *d, const uint8_t *buf,
    size_t len, size_t max, ProtobufCMessage **mp)
{
	struct wire_budget	 b;
	ProtobufCAllocator	 a;
	ProtobufCMessage	*m;
	size_t			 unknown = 0;

	if (len > max)
		return ARB_ETOOBIG;
	if (buf == NULL || len == 0)
		return ARB_EPROTO;
	if (wire_scan(d, buf, len, 0, &unknown) != 0)
		return ARB_EPROTO;
	/*
	 * A field this node does not know (a newer peer's) costs protobuf-c
	 * an entry and a copy: budgeted apart, so that a message that decodes
	 * also decodes once packed again without its repeated scalars.
	 */
	b.left = WIRE_ALLOC_FACTOR * len + WIRE_ALLOC_SLACK +
	    unknown * (sizeof(ProtobufCMessageUnknownField) + 16);
	b.refused = 0;
	a.alloc = wire_alloc;
	a.free = wire_free;
	a.allocator_data = &b;
	if ((m = protobuf_c_message_unpack(d, &a, len, buf)) == NULL)
		return b.refused ? ARB_ETOOBIG : ARB_EPROTO;
	*mp = m;
	return 0;
}

int
arb_wire_encode(const Arbor__Envelope *env, uint8_t **bufp, size_t *lenp)
{
	Arbor__Envelope	e;

	if (env == NULL || bufp == NULL || lenp == NULL)
		return ARB_EINVAL;
	e = *env;
	e.version = 1;
	return wire_pack(&e.base, ARB_WIRE_MAX, bufp, lenp);
}

size_t
arb_wire_size(const Arbor__Envelope *env)
{
	Arbor__Envelope	e = *env;

	e.version = 1;
	return protobuf_c_message_get_packed_size(&e.base);
}

int
arb_wire_pack(const Arbor__Envelope *env, uint8_t *buf, size_t len)
{
	Arbor__Envelope	e = *env;

	e.version = 1;
	if (len > ARB_WIRE_MAX ||
	    protobuf_c_message_get_packed_size(&e.base) != len)
		return ARB_ETOOBIG;
	if (protobuf_c_message_pack(&e.base, buf) != len ||
	    wire_scan(e.base.descriptor, buf, len, 0, NULL) != 0)
		return ARB_EPROTO;
	return 0;
}

int
arb_wire_decode(const uint8_t *buf, size_t len, Arbor__Envelope **envp)
{
	ProtobufCMessage	*m;
	int			 rv;

	if ((rv = wire_unpack(&arbor__envelope__descriptor, buf, len,
	    ARB_WIRE_MAX, &m)) != 0)
		return rv;
	if ((rv = wire_check_envelope((Arbor__Envelope *)m)) != 0) {
		protobuf_c_message_free_unpacked(m, NULL);
		return rv;
	}
	*envp = (Arbor__Envelope *)m;
	return 0;
}

/* The framed envelope: no more than a chunk's few fields take. */
#define WIRE_FRAMED_HDR_MAX	256

static size_t
wire_varint_len(size_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

size_t
arb_wire_framed_size(Arbor__Envelope *env, size_t n)
{
	size_t h;

	env->chunk->framed_len = (uint32_t)n;
	h = arb_wire_size(env);
	return 1 + wire_varint_len(h) + h + n;
}

int
arb_wire_pack_framed(const Arbor__Envelope *env, const uint8_t *data,
    size_t n, uint8_t *buf, size_t len)
{
	size_t	h, v, off;
	int	rv;

	if (env->body_case != ARBOR__ENVELOPE__BODY_CHUNK ||
	    env->chunk->data.len != 0 || env->chunk->framed_len != n ||
	    n > WIRE_CHUNK_MAX)
		return ARB_EINVAL;
	h = arb_wire_size(env);
	if (h > WIRE_FRAMED_HDR_MAX || len != 1 + wire_varint_len(h) + h + n)
		return ARB_ETOOBIG;
	buf[0] = ARB_WIRE_FRAMED;
	for (off = 1, v = h; v >= 0x80; v >>= 7)
		buf[off++] = (uint8_t)(v | 0x80);
	buf[off++] = (uint8_t)v;
	if ((rv = arb_wire_pack(env, buf + off, h)) != 0)
		return rv;
	if (n > 0)
		memcpy(buf + off + h, data, n);
	return 0;
}

int
arb_wire_decode_framed(const uint8_t *buf, size_t len,
    Arbor__Envelope **envp, const uint8_t **rawp, size_t *rawlenp)
{
	Arbor__Envelope	*env;
	size_t		 h = 0, off = 1;
	unsigned	 shift = 0;
	int		 rv;

	*rawp = NULL;
	*rawlenp = 0;
	if (len == 0 || buf[0] != ARB_WIRE_FRAMED)
		return arb_wire_decode(buf, len, envp);
	*envp = NULL;
	if (len > ARB_WIRE_MAX)
		return ARB_ETOOBIG;
	/* The length: two bytes hold any envelope short enough. */
	for (;;) {
		if (off >= len || shift > 7)
			return ARB_EPROTO;
		h |= (size_t)(buf[off] & 0x7f) << shift;
		if ((buf[off++] & 0x80) == 0)
			break;
		shift += 7;
	}
	if (h == 0 || h > WIRE_FRAMED_HDR_MAX || h > len - off)
		return ARB_EPROTO;
	if ((rv = arb_wire_decode(buf + off, h, &env)) != 0)
		return rv;
	off += h;
	if (env->body_case != ARBOR__ENVELOPE__BODY_CHUNK ||
	    env->chunk->data.len != 0 || env->chunk->framed_len != len - off) {
		arb_wire_free(env);
		return ARB_EPROTO;
	}
	*envp = env;
	*rawp = buf + off;
	*rawlenp = len - off;
	return 0;
}

void
arb_wire_free(Arbor__Envelope *env)
{
	if (env != NULL)
		arbor__envelope__free_unpacked(env, NULL);
}

int
arb_wire_decode_head(const uint8_t *buf, size_t len, Arbor__Head **headp)
{
	ProtobufCMessage	*m;
	int			 rv;

	if ((rv = wire_unpack(&arbor__head__descriptor, buf, len,
	    ARB_SIGNED_MAX, &m)) != 0)
		return rv;
	if ((rv = wire_check_head((Arbor__Head *)m)) != 0) {
		protobuf_c_message_free_unpacked(m, NULL);
		return rv;
	}
	*headp = (Arbor__Head *)m;
	return 0;
}

void
arb_wire_free_head(Arbor__Head *h)
{
	if (h != NULL)
		arbor__head__free_unpacked(h, NULL);
}

int
arb_wire_decode_policy(const uint8_t *buf, size_t len, Arbor__Policy **polp)
{
	ProtobufCMessage	*m;
	int			 rv;

	if ((rv = wire_unpack(&arbor__policy__descriptor, buf, len,
	    ARB_SIGNED_MAX, &m)) != 0)
		return rv;
	if ((rv = wire_check_policy((Arbor__Policy *)m)) != 0) {
		protobuf_c_message_free_unpacked(m, NULL);
		return rv;
	}
	*polp = (Arbor__Policy *)m;
	return 0;
}

void
arb_wire_free_policy(Arbor__Policy *p)
{
	if (p != NULL)
		arbor__policy__free_unpacked(p, NULL);
}

int
arb_wire_decode_signed(const uint8_t *buf, size_t len, Arbor__Signed **sp)
{
	ProtobufCMessage	*m;
	int			 rv;

	if ((rv = wire_unpack(&arbor__signed__descriptor, buf, len,
	    WIRE_SIGNED_REC_MAX, &m)) != 0)
		return rv;
	if ((rv = wire_check_signed((Arbor__Signed *)m)) != 0) {
		protobuf_c_message_free_unpacked(m, NULL);
		return rv;
	}
	*sp = (Arbor__Signed *)m;
	return 0;
}

void
arb_wire_free_signed(Arbor__Signed *s)
{
	if (s != NULL)
		arbor__signed__free_unpacked(s, NULL);
}

int
arb_wire_encode_head(const Arbor__Head *h, uint8_t **bufp, size_t *lenp)
{
	if (h == NULL || bufp == NULL || lenp == NULL)
		return ARB_EINVAL;
	return wire_pack(&h->base, ARB_SIGNED_MAX, bufp, lenp);
}

int
arb_wire_encode_policy(const Arbor__Policy *p, uint8_t **bufp, size_t *lenp)
{
	if (p == NULL || bufp == NULL || lenp == NULL)
		return ARB_EINVAL;
	return wire_pack(&p->base, ARB_SIGNED_MAX, bufp, lenp);
}

int
arb_wire_encode_signed(const Arbor__Signed *s, uint8_t **bufp, size_t *lenp)
{
	if (s == NULL || bufp == NULL || lenp == NULL)
		return ARB_EINVAL;
	return wire_pack(&s->base, WIRE_SIGNED_REC_MAX, bufp, lenp);
}

int
arb_wire_error(int code, uint8_t **bufp, size_t *lenp, const char *fmt, ...)
{
	Arbor__Envelope	 env = ARBOR__ENVELOPE__INIT;
	Arbor__Error	 err = ARBOR__ERROR__INIT;
	char		 text[WIRE_ERRTEXT_MAX];
	size_t		 i, k, n;
	va_list		 ap;

	va_start(ap, fmt);
	/* Truncation is fine: the text is for a human reading a log. */
	if (vsnprintf(text, sizeof(text), fmt, ap) < 0)
		text[0] = '\0';
	va_end(ap);
	/*
	 * The text may quote bytes a peer sent, or be cut inside a character:
	 * make it UTF-8 so that the receiver does not refuse the error.
	 */
	n = strlen(text);
	for (i = 0; i < n; i += k)
		if ((k = wire_utf8_seq((uint8_t *)text + i, n - i)) == 0) {
			text[i] = '?';
			k = 1;
		}
	err.code = code;
	err.message = text;
	env.body_case = ARBOR__ENVELOPE__BODY_ERROR;
	env.error = &err;
	return arb_wire_encode(&env, bufp, lenp);
}

int
arb_wire_decode_report(const uint8_t *buf, size_t len, Arbor__Report **rp)
{
	ProtobufCMessage	*m;
	Arbor__Report		*r;
	int			 rv;

	if ((rv = wire_unpack(&arbor__report__descriptor, buf, len,
	    ARB_SIGNED_MAX, &m)) != 0)
		return rv;
	r = (Arbor__Report *)m;
	if (wire_check_text(r->endpoint_id, ARB_MAX_ID) != 0 ||
	    r->endpoint_id[0] == '\0' || wire_check_optid(r->policy_id) != 0 ||
	    wire_check_text(r->detail, ARB_MAX_TEXT) != 0 ||
	    wire_check_text(r->relay, ARB_MAX_URL) != 0 ||
	    r->state >= ARB_ST_COUNT || r->seq == 0) {
		protobuf_c_message_free_unpacked(m, NULL);
		return ARB_EPROTO;
	}
	if (r->inventory_delta != NULL &&
	    (rv = arb_inv_check(r->inventory_delta)) != 0) {
		protobuf_c_message_free_unpacked(m, NULL);
		return rv;
	}
	*rp = r;
	return 0;
}

void
arb_wire_free_report(Arbor__Report *r)
{
	if (r != NULL)
		arbor__report__free_unpacked(r, NULL);
}

int
arb_wire_encode_report(const Arbor__Report *r, uint8_t **bufp, size_t *lenp)
{
	return wire_pack(&r->base, ARB_SIGNED_MAX, bufp, lenp);
}

int
arb_wire_decode_enroll(const uint8_t *buf, size_t len, Arbor__EnrollBody **ep)
{
	ProtobufCMessage	*m;
	Arbor__EnrollBody	*e;
	int			 rv;

	if ((rv = wire_unpack(&arbor__enroll_body__descriptor, buf, len,
	    ARB_SIGNED_MAX, &m)) != 0)
		return rv;
	e = (Arbor__EnrollBody *)m;
	if (e->pubkey.len != ARB_PUBKEY_LEN ||
	    wire_check_text(e->endpoint_id, ARB_MAX_ID) != 0 ||
	    wire_check_text(e->token, ARB_MAX_TEXT) != 0 ||
	    wire_check_text(e->hostname, ARB_MAX_ID) != 0 ||
	    wire_check_text(e->csr, ARB_CSR_MAX) != 0) {
		protobuf_c_message_free_unpacked(m, NULL);
		return ARB_EPROTO;
	}
	*ep = e;
	return 0;
}

void
arb_wire_free_enroll(Arbor__EnrollBody *e)
{
	if (e != NULL)
		arbor__enroll_body__free_unpacked(e, NULL);
}

int
arb_wire_encode_enroll(const Arbor__EnrollBody *e, uint8_t **bufp,
    size_t *lenp)
{
	return wire_pack(&e->base, ARB_SIGNED_MAX, bufp, lenp);
}

int
arb_wire_encode_entry(const Arbor__ReportEntry *e, uint8_t **bufp,
    size_t *lenp)
{
	return wire_pack(&e->base, ARB_SIGNED_MAX + 4096, bufp, lenp);
}

int
arb_wire_decode_entry(const uint8_t *buf, size_t len, Arbor__ReportEntry **ep)
{
	ProtobufCMessage	*m;
	Arbor__ReportEntry	*e;
	int			 rv;

	if ((rv = wire_unpack(&arbor__report_entry__descriptor, buf, len,
	    ARB_SIGNED_MAX + 4096, &m)) != 0)
		return rv;
	e = (Arbor__ReportEntry *)m;
	if (wire_check_signed(e->report) != 0 ||
	    wire_check_via(e->via, e->n_via) != 0) {
		protobuf_c_message_free_unpacked(m, NULL);
		return ARB_EPROTO;
	}
	*ep = e;
	return 0;
}

void
arb_wire_free_entry(Arbor__ReportEntry *e)
{
	if (e != NULL)
		arbor__report_entry__free_unpacked(e, NULL);
}

int
arb_wire_encode_eprec(const Arbor__EndpointRecord *e, uint8_t **bufp,
    size_t *lenp)
{
	return wire_pack(&e->base, ARB_SIGNED_MAX, bufp, lenp);
}

int
arb_wire_decode_eprec(const uint8_t *buf, size_t len,
    Arbor__EndpointRecord **ep)
{
	ProtobufCMessage	*m;
	Arbor__EndpointRecord	*e;
	int			 rv;

	if ((rv = wire_unpack(&arbor__endpoint_record__descriptor, buf, len,
	    ARB_SIGNED_MAX, &m)) != 0)
		return rv;
	e = (Arbor__EndpointRecord *)m;
	if (e->pubkey.len != ARB_PUBKEY_LEN ||
	    wire_check_via(e->via, e->n_via) != 0 ||
	    wire_check_groups(e->groups, e->n_groups) != 0 ||
	    wire_check_history(e->history, e->n_history) != 0) {
		protobuf_c_message_free_unpacked(m, NULL);
		return ARB_EPROTO;
	}
	*ep = e;
	return 0;
}

int
arb_wire_encode_token(const Arbor__TokenRecord *t, uint8_t **bufp,
    size_t *lenp)
{
	return wire_pack(&t->base, ARB_SIGNED_MAX, bufp, lenp);
}

int
arb_wire_decode_token(const uint8_t *buf, size_t len,
    Arbor__TokenRecord **tp)
{
	ProtobufCMessage	*m;
	int			 rv;

	if ((rv = wire_unpack(&arbor__token_record__descriptor, buf, len,
	    ARB_SIGNED_MAX, &m)) != 0)
		return rv;
	if (wire_check_token((Arbor__TokenRecord *)m) != 0) {
		protobuf_c_message_free_unpacked(m, NULL);
		return ARB_EPROTO;
	}
	*tp = (Arbor__TokenRecord *)m;
	return 0;
}

void
arb_wire_free_token(Arbor__TokenRecord *t)
{
	if (t != NULL)
		arbor__token_record__free_unpacked(t, NULL);
}

int
arb_wire_encode_apitoken(const Arbor__ApiToken *t, uint8_t **bufp,
    size_t *lenp)
{
	return wire_pack(&t->base, ARB_SIGNED_MAX, bufp, lenp);
}

int
arb_wire_decode_apitoken(const uint8_t *buf, size_t len, Arbor__ApiToken **tp)
{
	ProtobufCMessage	*m;
	int			 rv;

	if ((rv = wire_unpack(&arbor__api_token__descriptor, buf, len,
	    ARB_SIGNED_MAX, &m)) != 0)
		return rv;
	if (wire_check_apitoken((Arbor__ApiToken *)m) != 0) {
		protobuf_c_message_free_unpacked(m, NULL);
		return ARB_EPROTO;
	}
	*tp = (Arbor__ApiToken *)m;
	return 0;
}

void
arb_wire_free_apitoken(Arbor__ApiToken *t)
{
	if (t != NULL)
		arbor__api_token__free_unpacked(t, NULL);
}

int
arb_wire_encode_audit(const Arbor__AuditRecord *a, uint8_t **bufp,
    size_t *lenp)
{
	return wire_pack(&a->base, ARB_SIGNED_MAX, bufp, lenp);
}

int
arb_wire_decode_audit(const uint8_t *buf, size_t len, Arbor__AuditRecord **ap)
{
	ProtobufCMessage	*m;
	int			 rv;

	if ((rv = wire_unpack(&arbor__audit_record__descriptor, buf, len,
	    ARB_SIGNED_MAX, &m)) != 0)
		return rv;
	if (wire_check_audit((Arbor__AuditRecord *)m) != 0) {
		protobuf_c_message_free_unpacked(m, NULL);
		return ARB_EPROTO;
	}
	*ap = (Arbor__AuditRecord *)m;
	return 0;
}

void
arb_wire_free_audit(Arbor__AuditRecord *a)
{
	if (a != NULL)
		arbor__audit_record__free_unpacked(a, NULL);
}

void
arb_wire_free_eprec(Arbor__EndpointRecord *e)
{
	if (e != NULL)
		arbor__endpoint_record__free_unpacked(e, NULL);
}

int
arb_wire_encode_relayinfo(const Arbor__RelayInfo *r, uint8_t **bufp,
    size_t *lenp)
{
	return wire_pack(&r->base, ARB_SIGNED_MAX, bufp, lenp);
}

int
arb_wire_decode_relayinfo(const uint8_t *buf, size_t len,
    Arbor__RelayInfo **rp)
{
	ProtobufCMessage	*m;
	int			 rv;

	if ((rv = wire_unpack(&arbor__relay_info__descriptor, buf, len,
	    ARB_SIGNED_MAX, &m)) != 0)
		return rv;
	if (wire_check_relays((Arbor__RelayInfo **)&m, 1) != 0) {
		protobuf_c_message_free_unpacked(m, NULL);
		return ARB_EPROTO;
	}
	*rp = (Arbor__RelayInfo *)m;
	return 0;
}

void
arb_wire_free_relayinfo(Arbor__RelayInfo *r)
{
	if (r != NULL)
		arbor__relay_info__free_unpacked(r, NULL);
}

int
arb_wire_encode_baseline(const Arbor__Baseline *b, uint8_t **bufp,
    size_t *lenp)
{
	return wire_pack(&b->base, ARB_SIGNED_MAX, bufp, lenp);
}

int
arb_wire_decode_baseline(const uint8_t *buf, size_t len,
    Arbor__Baseline **bp)
{
	ProtobufCMessage	*m;
	int			 rv;

	if ((rv = wire_unpack(&arbor__baseline__descriptor, buf, len,
	    ARB_SIGNED_MAX, &m)) != 0)
		return rv;
	if (wire_check_baseline((Arbor__Baseline *)m) != 0) {
		protobuf_c_message_free_unpacked(m, NULL);
		return ARB_EPROTO;
	}
	*bp = (Arbor__Baseline *)m;
	return 0;
}

void
arb_wire_free_baseline(Arbor__Baseline *b)
{
	if (b != NULL)
		arbor__baseline__free_unpacked(b, NULL);
}

int
arb_wire_encode_exemption(const Arbor__Exemption *x, uint8_t **bufp,
    size_t *lenp)
{
	return wire_pack(&x->base, ARB_SIGNED_MAX, bufp, lenp);
}

int
arb_wire_decode_exemption(const uint8_t *buf, size_t len,
    Arbor__Exemption **xp)
{
	ProtobufCMessage	*m;
	int			 rv;

	if ((rv = wire_unpack(&arbor__exemption__descriptor, buf, len,
	    ARB_SIGNED_MAX, &m)) != 0)
		return rv;
	if (wire_check_exemption((Arbor__Exemption *)m) != 0) {
		protobuf_c_message_free_unpacked(m, NULL);
		return ARB_EPROTO;
	}
	*xp = (Arbor__Exemption *)m;
	return 0;
}

void
arb_wire_free_exemption(Arbor__Exemption *x)
{
	if (x != NULL)
		arbor__exemption__free_unpacked(x, NULL);
}

int
arb_wire_encode_receipt(const Arbor__Receipt *r, uint8_t **bufp,
    size_t *lenp)
{
	return wire_pack(&r->base, ARB_SIGNED_MAX, bufp, lenp);
}

int
arb_wire_decode_receipt(const uint8_t *buf, size_t len, Arbor__Receipt **rp)
{
	ProtobufCMessage	*m;
	Arbor__Receipt		*r;
	size_t			 i;
	int			 rv;

	if ((rv = wire_unpack(&arbor__receipt__descriptor, buf, len,
	    ARB_SIGNED_MAX, &m)) != 0)
		return rv;
	r = (Arbor__Receipt *)m;
	rv = wire_check_text(r->endpoint_id, ARB_MAX_ID) != 0 ||
	    r->endpoint_id[0] == '\0' || r->n_taken > ARB_MAX_POLICIES + 1 ||
	    (r->unknown ? r->pubkey.len != 0 :
	    r->pubkey.len != ARB_PUBKEY_LEN) ? ARB_EPROTO : 0;
	for (i = 0; rv == 0 && i < r->n_taken; i++)
		if (wire_check_optid(r->taken[i]->policy_id) != 0)
			rv = ARB_EPROTO;
	if (rv == 0 && wire_check_groups(r->groups, r->n_groups) != 0)
		rv = ARB_EPROTO;
	if (rv != 0) {
		protobuf_c_message_free_unpacked(m, NULL);
		return rv;
	}
	*rp = r;
	return 0;
}

void
arb_wire_free_receipt(Arbor__Receipt *r)
{
	if (r != NULL)
		arbor__receipt__free_unpacked(r, NULL);
}

int
arb_wire_decode_keystmt(const uint8_t *buf, size_t len,
    Arbor__KeyStatement **kp)
{
	ProtobufCMessage	*m;
	int			 rv;

	if ((rv = wire_unpack(&arbor__key_statement__descriptor, buf, len,
	    ARB_KEYSTMT_MAX, &m)) != 0)
		return rv;
	if ((rv = wire_check_keystmt((Arbor__KeyStatement *)m)) != 0) {
		protobuf_c_message_free_unpacked(m, NULL);
		return rv;
	}
	*kp = (Arbor__KeyStatement *)m;
	return 0;
}

void
arb_wire_free_keystmt(Arbor__KeyStatement *k)
{
	if (k != NULL)
		arbor__key_statement__free_unpacked(k, NULL);
}

int
arb_wire_encode_keystmt(const Arbor__KeyStatement *k, uint8_t **bufp,
    size_t *lenp)
{
	if (k == NULL || bufp == NULL || lenp == NULL)
		return ARB_EINVAL;
	return wire_pack(&k->base, ARB_KEYSTMT_MAX, bufp, lenp);
}

int
arb_wire_encode_inv(const Arbor__InventoryDelta *d, uint8_t **bufp,
    size_t *lenp)
{
	return wire_pack(&d->base, ARB_INV_STORED_MAX, bufp, lenp);
}

int
arb_wire_decode_inv(const uint8_t *buf, size_t len,
    Arbor__InventoryDelta **dp)
{
	ProtobufCMessage	*m;
	int			 rv;

	if ((rv = wire_unpack(&arbor__inventory_delta__descriptor, buf, len,
	    ARB_INV_STORED_MAX, &m)) != 0)
		return rv;
	if ((rv = arb_inv_check((Arbor__InventoryDelta *)m)) != 0) {
		protobuf_c_message_free_unpacked(m, NULL);
		return rv;
	}
	*dp = (Arbor__InventoryDelta *)m;
	return 0;
}

void
arb_wire_free_inv(Arbor__InventoryDelta *d)
{
	if (d != NULL)
		arbor__inventory_delta__free_unpacked(d, NULL);
}
