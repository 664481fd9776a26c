/*
 * Receipts: the root's signed word on what it holds of one endpoint (the
 * key it enrolled, the latest report it took per policy), handed down the
 * tree with enrolment replies and report acknowledgements.  Besides the
 * authority (authority.c), this is the only user of the publisher key.
 */
#include <stdlib.h>
#include <sys/time.h>

#include "arbor/catalog.h"
#include "arbor/error.h"
#include "root.h"

int
root_sign_receipt(struct root *r, const char *id,
    const Arbor__EndpointRecord *rec, Arbor__Signed *sg)
{
	Arbor__Receipt	 rc = ARBOR__RECEIPT__INIT;
	struct timeval	 tv;
	uint8_t		*body;
	size_t		 len;
	int		 rv;

	gettimeofday(&tv, NULL);
	rc.endpoint_id = (char *)id;
	rc.at_ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
	if (rec == NULL)
		rc.unknown = 1;
	else {
		rc.pubkey = rec->pubkey;
		rc.taken = rec->taken;
		rc.n_taken = rec->n_taken;
		rc.want_inventory = rec->want_inventory;
		rc.groups = rec->groups;
		rc.n_groups = rec->n_groups;
		rc.revoked = rec->revoked;
	}
	if ((rv = arb_wire_encode_receipt(&rc, &body, &len)) != 0)
		return rv;
	rv = arb_signed_make(r->key, body, len, sg);
	free(body);
	return rv;
}
