/*
 * The wire: one protobuf Envelope per message (proto/arbor.proto).  The
 * only user of protobuf-c's pack/unpack; callers build messages with the
 * generated Arbor__* structs and hand them here.
 */
#ifndef ARBOR_WIRE_H
#define ARBOR_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "arbor.pb-c.h"

/* Largest message any node accepts: a 1 MiB chunk plus room. */
#define ARB_WIRE_MAX	(1024 * 1024 + 64 * 1024)
/* Largest signed object (head or policy) body. */
#define ARB_SIGNED_MAX	(512 * 1024)
/* Bounds on counts and strings inside decoded objects. */
#define ARB_MAX_POLICIES	4096
#define ARB_MAX_BLOBS		256
#define ARB_SCHED_MAX_WINDOWS	16	/* maintenance windows of a policy */
#define ARB_SCHED_MAX_WAVES	16	/* waves of a staged rollout */
#define ARB_POLICY_MAX_RETRIES	100	/* retries of a failed action */
/* Policy.reboot_mode, and the longest reboot_after_s (30 days). */
#define ARB_REBOOT_NONE		0
#define ARB_REBOOT_USER		1
#define ARB_REBOOT_FORCED	2
#define ARB_REBOOT_MAX_S	(30 * 86400)
#define ARB_MAX_ID		128
#define ARB_MAX_TEXT		(64 * 1024)
#define ARB_CSR_MAX		(4 * 1024)	/* a P-256 certificate request, PEM */
#define ARB_CERT_MAX		(16 * 1024)	/* a certificate and its CA's */
/* Longest address (a relay's parent in RelayInfo). */
#define ARB_MAX_URL		256
/* Groups one enrolment token gives; tokens one TokenReply lists. */
#define ARB_TOKEN_GROUPS_MAX	16
#define ARB_TOKENS_MAX		4096
/* RelayInfo entries in one ReportBatch: the sender and relays below it. */
#define ARB_RELAYS_BATCH_MAX	512
/*
 * Unmanaged addresses (arborctl unmanaged): entries one ReportBatch
 * carries up, and one UnmanagedReply lists; the longest address text.
 */
#define ARB_UNMANAGED_BATCH_MAX	256
#define ARB_UNMANAGED_REPLY_MAX	2048
#define ARB_UNMANAGED_ADDR_MAX	64
/* HTTP API tokens one ApiTokenReply lists; audit records one AuditReply. */
#define ARB_APITOKENS_MAX	1024
#define ARB_AUDIT_REPLY_MAX	10000
/* State changes an endpoint's record keeps (EndpointRecord.history). */
#define ARB_HISTORY_MAX		32

/*
 * Encode env (version is set to 1) into a malloc'd buffer *bufp of *lenp
 * bytes.  Caller frees.
 */
int	arb_wire_encode(const Arbor__Envelope *env, uint8_t **bufp,
	    size_t *lenp);
/*
 * The same in two steps, for a caller that owns the buffer (a reply built
 * in place in a message): the encoded size, then pack into exactly that
 * many bytes at buf.  Same checks as arb_wire_encode.
 */
size_t	arb_wire_size(const Arbor__Envelope *env);
int	arb_wire_pack(const Arbor__Envelope *env, uint8_t *buf, size_t len);

/*
 * A chunk reply framed (GetChunk.framed): one byte ARB_WIRE_FRAMED (no
 * protobuf message starts with it: field number 0 does not exist), the
 * envelope's length as a varint, the envelope (a Chunk whose data is
 * empty and whose framed_len says how many bytes follow), then those
 * bytes.  The bytes are packed once, where the reply is built, and read
 * in place where it arrives.
 *
 * arb_wire_framed_size is the whole reply's size for env and n bytes
 * (env->chunk->framed_len is set to n); arb_wire_pack_framed packs it
 * into exactly that many bytes at buf.
 */
#define ARB_WIRE_FRAMED		0x00
size_t	arb_wire_framed_size(Arbor__Envelope *env, size_t n);
int	arb_wire_pack_framed(const Arbor__Envelope *env, const uint8_t *data,
	    size_t n, uint8_t *buf, size_t len);
/*
 * Decode a reply that may be framed: an unframed one as arb_wire_decode
 * does (*rawp NULL); a framed one is a Chunk envelope whose framed_len is
 * exactly what follows it and whose data is empty, ARB_EPROTO otherwise,
 * with *rawp and *rawlenp the bytes in buf (valid as long as buf is).
 */
int	arb_wire_decode_framed(const uint8_t *buf, size_t len,
	    Arbor__Envelope **envp, const uint8_t **rawp, size_t *rawlenp);

/*
 * Decode and check len bytes: ARB_ETOOBIG above ARB_WIRE_MAX, ARB_EPROTO if
 * it does not unpack, has no body, or breaks a bound (ids, counts, hash
 * lengths).  On success *envp is freed with arb_wire_free.
 */
int	arb_wire_decode(const uint8_t *buf, size_t len, Arbor__Envelope **envp);
void	arb_wire_free(Arbor__Envelope *env);

/* Decode a verified head / policy body, with the same bounds. */
int	arb_wire_decode_head(const uint8_t *buf, size_t len,
	    Arbor__Head **headp);
void	arb_wire_free_head(Arbor__Head *h);
int	arb_wire_decode_policy(const uint8_t *buf, size_t len,
	    Arbor__Policy **polp);
void	arb_wire_free_policy(Arbor__Policy *p);
/* Decode a stored Signed record. */
int	arb_wire_decode_signed(const uint8_t *buf, size_t len,
	    Arbor__Signed **sp);
void	arb_wire_free_signed(Arbor__Signed *s);

/* Encode a bare Head / Policy / Signed (malloc'd). */
int	arb_wire_encode_head(const Arbor__Head *h, uint8_t **bufp,
	    size_t *lenp);
int	arb_wire_encode_policy(const Arbor__Policy *p, uint8_t **bufp,
	    size_t *lenp);
int	arb_wire_encode_signed(const Arbor__Signed *s, uint8_t **bufp,
	    size_t *lenp);

/* Reports and enrolments: signed by an endpoint, bounded the same way. */
int	arb_wire_decode_report(const uint8_t *buf, size_t len,
	    Arbor__Report **rp);
void	arb_wire_free_report(Arbor__Report *r);
int	arb_wire_encode_report(const Arbor__Report *r, uint8_t **bufp,
	    size_t *lenp);
int	arb_wire_decode_enroll(const uint8_t *buf, size_t len,
	    Arbor__EnrollBody **ep);
void	arb_wire_free_enroll(Arbor__EnrollBody *e);
int	arb_wire_encode_enroll(const Arbor__EnrollBody *e, uint8_t **bufp,
	    size_t *lenp);

/* A report with the relays it passed, as a relay spools it. */
int	arb_wire_encode_entry(const Arbor__ReportEntry *e, uint8_t **bufp,
	    size_t *lenp);
int	arb_wire_decode_entry(const uint8_t *buf, size_t len,
	    Arbor__ReportEntry **ep);
void	arb_wire_free_entry(Arbor__ReportEntry *e);

/* The root's stored records. */
int	arb_wire_encode_eprec(const Arbor__EndpointRecord *e, uint8_t **bufp,
	    size_t *lenp);
int	arb_wire_decode_eprec(const uint8_t *buf, size_t len,
	    Arbor__EndpointRecord **ep);
void	arb_wire_free_eprec(Arbor__EndpointRecord *e);
/* An enrolment token's record (no more than ARB_TOKEN_GROUPS_MAX groups). */
int	arb_wire_encode_token(const Arbor__TokenRecord *t, uint8_t **bufp,
	    size_t *lenp);
int	arb_wire_decode_token(const uint8_t *buf, size_t len,
	    Arbor__TokenRecord **tp);
void	arb_wire_free_token(Arbor__TokenRecord *t);
/* An HTTP API token's record and an audit record (root/audit.c). */
int	arb_wire_encode_apitoken(const Arbor__ApiToken *t, uint8_t **bufp,
	    size_t *lenp);
int	arb_wire_decode_apitoken(const uint8_t *buf, size_t len,
	    Arbor__ApiToken **tp);
void	arb_wire_free_apitoken(Arbor__ApiToken *t);
int	arb_wire_encode_audit(const Arbor__AuditRecord *a, uint8_t **bufp,
	    size_t *lenp);
int	arb_wire_decode_audit(const uint8_t *buf, size_t len,
	    Arbor__AuditRecord **ap);
void	arb_wire_free_audit(Arbor__AuditRecord *a);

/*
 * An inventory or inventory delta (arbor/inventory.h), as the root stores
 * it: decoded within ARB_INV_STORED_MAX bytes and checked with
 * arb_inv_check.  Free with arb_wire_free_inv.
 */
#define ARB_INV_STORED_MAX	(8 * 1024 * 1024)
int	arb_wire_encode_inv(const Arbor__InventoryDelta *d, uint8_t **bufp,
	    size_t *lenp);
int	arb_wire_decode_inv(const uint8_t *buf, size_t len,
	    Arbor__InventoryDelta **dp);
void	arb_wire_free_inv(Arbor__InventoryDelta *d);
int	arb_wire_encode_relayinfo(const Arbor__RelayInfo *r, uint8_t **bufp,
	    size_t *lenp);
int	arb_wire_decode_relayinfo(const uint8_t *buf, size_t len,
	    Arbor__RelayInfo **rp);
void	arb_wire_free_relayinfo(Arbor__RelayInfo *r);

/*
 * The root's baselines and exemptions (arborctl baseline, exempt), as it
 * stores them: checked like the control request that made them.
 */
#define ARB_BASELINE_POLICIES_MAX	64
#define ARB_BASELINE_TARGETS_MAX	64
#define ARB_EXEMPT_REASON_MAX		512
/* Locks in a head, and the length of a lock's reason. */
#define ARB_LOCKS_MAX			1024
#define ARB_LOCK_REASON_MAX		200
int	arb_wire_encode_baseline(const Arbor__Baseline *b, uint8_t **bufp,
	    size_t *lenp);
int	arb_wire_decode_baseline(const uint8_t *buf, size_t len,
	    Arbor__Baseline **bp);
void	arb_wire_free_baseline(Arbor__Baseline *b);
int	arb_wire_encode_exemption(const Arbor__Exemption *x, uint8_t **bufp,
	    size_t *lenp);
int	arb_wire_decode_exemption(const uint8_t *buf, size_t len,
	    Arbor__Exemption **xp);
void	arb_wire_free_exemption(Arbor__Exemption *x);

/* A root-signed receipt's body (Receipt), bounded like a report. */
int	arb_wire_encode_receipt(const Arbor__Receipt *r, uint8_t **bufp,
	    size_t *lenp);
int	arb_wire_decode_receipt(const uint8_t *buf, size_t len,
	    Arbor__Receipt **rp);
void	arb_wire_free_receipt(Arbor__Receipt *r);

/*
 * A trust-root key statement's body (KeyStatement), at most
 * ARB_KEYSTMT_MAX bytes: every key 32 bytes, every revoked id 8, the
 * previous statement's hash present from version 2 on, not_after after
 * not_before; otherwise ARB_EPROTO.  The chain's rules are arbor/keychain.h's.
 */
#define ARB_KEYSTMT_MAX		(64 * 1024)
#define ARB_KEYSTMT_KEYS_MAX	16
#define ARB_KEYSTMT_REVOKED_MAX	1024
/* Statements in one KeysReply. */
#define ARB_KEYS_REPLY_MAX	32
int	arb_wire_decode_keystmt(const uint8_t *buf, size_t len,
	    Arbor__KeyStatement **kp);
void	arb_wire_free_keystmt(Arbor__KeyStatement *k);
int	arb_wire_encode_keystmt(const Arbor__KeyStatement *k, uint8_t **bufp,
	    size_t *lenp);

/*
 * Convenience: encode an Error envelope with code and printf-style text.
 */
int	arb_wire_error(int code, uint8_t **bufp, size_t *lenp,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
