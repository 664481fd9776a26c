/*
 * The root's audit trail: every operator action taken through the HTTP
 * API (and every API token made or revoked), durably, with its time, the
 * token's name and role, what was done to what, and how it ended.
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
