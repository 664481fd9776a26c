/*
 * Endpoint states and signed reports.  Every state change of every policy
 * on an endpoint is one Report, signed by the endpoint's own key with a
 * per-endpoint sequence number; relays carry them up unaltered.
 */
#ifndef ARBOR_REPORT_H
#define ARBOR_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "arbor/sig.h"
#include "arbor/wire.h"

enum arb_state {
	ARB_ST_UNKNOWN = 0,
	ARB_ST_NOT_APPLICABLE,	/* the expression is false: nothing to do */
	ARB_ST_APPLICABLE,	/* needs it */
	ARB_ST_DOWNLOADING,
	ARB_ST_WAITING,		/* for its window, or for a retry */
	ARB_ST_RUNNING,
	ARB_ST_FIXED,		/* after the action, the expression is false */
	ARB_ST_FAILED,		/* action failed, timed out, or still applies */
	ARB_ST_REBOOT_PENDING,	/* fixed once the endpoint reboots */
	ARB_ST_ROLLED_BACK,
	ARB_ST_ERROR,		/* cannot evaluate */
	ARB_ST_DOWNLOAD_FAILED,	/* a blob failed to arrive; retried later */
	ARB_ST_LOCKED,		/* the operator locked the endpoint */
	ARB_ST_COUNT
};

/* "not applicable", "fixed"...; NULL for out of range. */
const char *arb_state_name(unsigned st);
/* Parse a name as printed ("not-applicable" and "not_applicable" too). */
int	arb_state_parse(const char *name, unsigned *stp);

/* An endpoint id: hex of the first 16 bytes of SHA-256(raw public key). */
#define ARB_EPID_LEN	16
#define ARB_EPID_HEX	(2 * ARB_EPID_LEN + 1)
int	arb_endpoint_id(const struct arb_key *k, char out[ARB_EPID_HEX]);
int	arb_endpoint_id_raw(const uint8_t pub[ARB_PUBKEY_LEN],
	    char out[ARB_EPID_HEX]);

/*
 * The key a report is kept under, at relays and the root alike: endpoint
 * id, NUL, policy id ("" for an inventory report).  key holds
 * ARB_REPORT_KEY_MAX bytes; returns the length, or 0 if the ids are too
 * long (the decoder bounds them, so only a caller's bug gets 0).
 */
#define ARB_REPORT_KEY_MAX	(2 * ARB_MAX_ID + 2)
size_t	arb_report_key(const char *endpoint_id, const char *policy_id,
	    uint8_t key[ARB_REPORT_KEY_MAX]);

/*
 * RelayInfo, carried up with report batches.  A batch's first entry is
 * its sender's own, taken at once and dated by the receiver's clock; the
 * others describe relays below the sender (its carrier), dated by their
 * own clocks but never later than ARB_RELAYINFO_SKEW past the receiver's.
 * A relay's entry is taken only from the child that carries it, until
 * that child has not mentioned it for ARB_RELAYINFO_HOLD; then any child
 * may carry it (a relay that moved to another parent).  Older entries do
 * not replace newer ones from the same carrier.
 */
#define ARB_RELAYINFO_SKEW	30		/* s */
#define ARB_RELAYINFO_HOLD	120		/* s */

/*
 * Whether to take in (entry self ? 0 : >0 of a batch whose first entry
 * names carrier) over old, the entry held for the same relay (NULL if
 * none; its carrier field says who carried it).  Returns 1 and sets *atp
 * to the time to record, or 0 to leave old as it is.  now is seconds.
 */
int	arb_relayinfo_take(const Arbor__RelayInfo *old,
	    const Arbor__RelayInfo *in, const char *carrier, int self,
	    int64_t now, int64_t *atp);

/*
 * Receipts: what the root took of one endpoint's reports, signed with the
 * publisher key.  Verify sg's exact bytes with the publisher keys kc holds
 * in force now, then decode: 0 with *rp (free with arb_wire_free_receipt);
 * ARB_EUNKNOWNKEY or ARB_EBADSIG when the root did not sign it; the
 * decoder's error for a body that breaks the schema.
 */
struct arb_keychain;
int	arb_receipt_open(const struct arb_keychain *kc, const Arbor__Signed *sg,
	    Arbor__Receipt **rp);
/* The seq the receipt says the root took for policy (0: none). */
uint64_t arb_receipt_seq(const Arbor__Receipt *r, const char *policy);

#endif
