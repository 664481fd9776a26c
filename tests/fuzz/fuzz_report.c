/*
 * Fuzz target for the decoders of what endpoints and relays send up and
 * of the root's stored records, and of the receipts it sends down:
 * arb_wire_decode_report, _enroll, _entry, _eprec, _relayinfo and
 * _receipt.  The first input byte picks the decoder and the
 * rest is its input.  What decodes must re-encode, and the re-encoding must
 * decode again.  A report entry's signed report is decoded too, as the root
 * does once the signature holds.
 */
#include <stdint.h>
#include <stdlib.h>

#include "arbor/report.h"
#include "arbor/wire.h"

enum {
	FZ_REPORT,
	FZ_ENROLL,
	FZ_ENTRY,
	FZ_EPREC,
	FZ_RELAYINFO,
	FZ_RECEIPT,
	FZ_NDECODERS
};

static void
fuzz_report(const uint8_t *data, size_t size)
{
	Arbor__Report	*r, *r2;
	uint8_t		*buf;
	size_t		 len;

	if (arb_wire_decode_report(data, size, &r) != 0)
		return;
	/* The root indexes its counts by state: only states that exist. */
	if (r->state >= ARB_ST_COUNT)
		abort();
	if (arb_wire_encode_report(r, &buf, &len) != 0 ||
	    arb_wire_decode_report(buf, len, &r2) != 0 ||
	    r2->seq != r->seq || r2->state != r->state ||
	    (r2->inventory == NULL) != (r->inventory == NULL))
		abort();
	arb_wire_free_report(r2);
	free(buf);
	arb_wire_free_report(r);
}

static void
fuzz_enroll(const uint8_t *data, size_t size)
{
	Arbor__EnrollBody	*e, *e2;
	uint8_t			*buf;
	size_t			 len;

	if (arb_wire_decode_enroll(data, size, &e) != 0)
		return;
	if (arb_wire_encode_enroll(e, &buf, &len) != 0 ||
	    arb_wire_decode_enroll(buf, len, &e2) != 0 ||
	    e2->at != e->at)
		abort();
	arb_wire_free_enroll(e2);
	free(buf);
	arb_wire_free_enroll(e);
}

static void
fuzz_entry(const uint8_t *data, size_t size)
{
	Arbor__ReportEntry	*e, *e2;
	uint8_t			*buf;
	size_t			 len;

	if (arb_wire_decode_entry(data, size, &e) != 0)
		return;
	if (arb_wire_encode_entry(e, &buf, &len) != 0 ||
	    arb_wire_decode_entry(buf, len, &e2) != 0 ||
	    e2->n_via != e->n_via)
		abort();
	arb_wire_free_entry(e2);
	free(buf);
	/* The signed report inside, as the root reads it. */
	fuzz_report(e->report->body.data, e->report->body.len);
	arb_wire_free_entry(e);
}

static void
fuzz_eprec(const uint8_t *data, size_t size)
{
	Arbor__EndpointRecord	*e, *e2;
	uint8_t			*buf;
	size_t			 len;

	if (arb_wire_decode_eprec(data, size, &e) != 0)
		return;
	if (arb_wire_encode_eprec(e, &buf, &len) != 0 ||
	    arb_wire_decode_eprec(buf, len, &e2) != 0 ||
	    e2->n_via != e->n_via || e2->last_contact != e->last_contact)
		abort();
	arb_wire_free_eprec(e2);
	free(buf);
	arb_wire_free_eprec(e);
}

static void
fuzz_relayinfo(const uint8_t *data, size_t size)
{
	Arbor__RelayInfo	*r, *r2;
	uint8_t			*buf;
	size_t			 len;

	if (arb_wire_decode_relayinfo(data, size, &r) != 0)
		return;
	if (arb_wire_encode_relayinfo(r, &buf, &len) != 0)
		abort();
	/* An all-default record encodes to nothing, refused as empty. */
	if (len > 0) {
		if (arb_wire_decode_relayinfo(buf, len, &r2) != 0 ||
		    r2->head_seq != r->head_seq ||
		    r2->children != r->children)
			abort();
		arb_wire_free_relayinfo(r2);
	}
	free(buf);
	arb_wire_free_relayinfo(r);
}

/* A receipt: a key unless it says unknown, policy ids that are ids. */
static void
fuzz_receipt(const uint8_t *data, size_t size)
{
	Arbor__Receipt	*r, *r2;
	uint8_t		*buf;
	size_t		 len, i;

	if (arb_wire_decode_receipt(data, size, &r) != 0)
		return;
	if (r->pubkey.len != (r->unknown ? 0 : ARB_PUBKEY_LEN) ||
	    r->endpoint_id[0] == '\0')
		abort();
	for (i = 0; i < r->n_taken; i++)
		(void)arb_receipt_seq(r, r->taken[i]->policy_id);
	if (arb_wire_encode_receipt(r, &buf, &len) != 0 ||
	    arb_wire_decode_receipt(buf, len, &r2) != 0 ||
	    r2->n_taken != r->n_taken || r2->at_ms != r->at_ms)
		abort();
	arb_wire_free_receipt(r2);
	free(buf);
	arb_wire_free_receipt(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % FZ_NDECODERS) {
	case FZ_REPORT:
		fuzz_report(data + 1, size - 1);
		break;
	case FZ_ENROLL:
		fuzz_enroll(data + 1, size - 1);
		break;
	case FZ_ENTRY:
		fuzz_entry(data + 1, size - 1);
		break;
	case FZ_EPREC:
		fuzz_eprec(data + 1, size - 1);
		break;
	case FZ_RELAYINFO:
		fuzz_relayinfo(data + 1, size - 1);
		break;
	case FZ_RECEIPT:
		fuzz_receipt(data + 1, size - 1);
		break;
	}
	return 0;
}
