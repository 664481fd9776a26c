/*
 * Fuzz target for the decoders of signed bodies and stored records:
 * arb_wire_decode_head, arb_wire_decode_policy and arb_wire_decode_signed
 * on the same raw bytes.  What decodes must re-encode and decode again.
 */
#include <stdint.h>
#include <stdlib.h>

#include "arbor/wire.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Arbor__Head	*h, *h2;
	Arbor__Policy	*p, *p2;
	Arbor__Signed	*s, *s2;
	uint8_t		*buf;
	size_t		 len;

	if (arb_wire_decode_head(data, size, &h) == 0) {
		if (arb_wire_encode_head(h, &buf, &len) != 0)
			abort();
		/* An all-default head encodes to nothing, refused as empty. */
		if (len > 0) {
			if (arb_wire_decode_head(buf, len, &h2) != 0 ||
			    h2->n_policies != h->n_policies ||
			    h2->n_locks != h->n_locks)
				abort();
			arb_wire_free_head(h2);
		}
		free(buf);
		arb_wire_free_head(h);
	}
	if (arb_wire_decode_policy(data, size, &p) == 0) {
		if (arb_wire_encode_policy(p, &buf, &len) != 0 ||
		    arb_wire_decode_policy(buf, len, &p2) != 0 ||
		    p2->n_blobs != p->n_blobs)
			abort();
		arb_wire_free_policy(p2);
		free(buf);
		arb_wire_free_policy(p);
	}
	if (arb_wire_decode_signed(data, size, &s) == 0) {
		if (arb_wire_encode_signed(s, &buf, &len) != 0 ||
		    arb_wire_decode_signed(buf, len, &s2) != 0)
			abort();
		arb_wire_free_signed(s2);
		free(buf);
		arb_wire_free_signed(s);
	}
	return 0;
}
