/*
 * Fuzz target for inventories from the wire: arb_wire_decode_inv (the
 * decoder of what a report's inventory_delta carries and of what the root
 * stores), then arb_inv_apply of what decoded to a small held inventory
 * and to nothing, as the root does.  What decodes must re-encode and
 * decode again; what applies must be a full inventory that passes
 * arb_inv_check.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arbor/inventory.h"
#include "arbor/wire.h"

static void
held_make(Arbor__InventoryDelta *m, Arbor__Package *pk, Arbor__Package **pkp,
    uint8_t *dg)
{
	static const char *const names[] = { "libc6", "openssl", "zlib1g" };
	size_t	i;

	arbor__inventory_delta__init(m);
	for (i = 0; i < 3; i++) {
		arbor__package__init(&pk[i]);
		pk[i].name = (char *)names[i];
		pk[i].arch = (char *)"amd64";
		pk[i].version = (char *)"1.0-1";
		pkp[i] = &pk[i];
	}
	m->full = 1;
	m->set = pkp;
	m->n_set = 3;
	(void)arb_inv_digest(pkp, 3, dg);
	m->digest.data = dg;
	m->digest.len = ARB_SHA256_LEN;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Arbor__InventoryDelta	 held, *d, *d2;
	Arbor__Package		 pk[3], *pkp[3];
	struct arb_inv_delta	 res;
	uint8_t			 dg[ARB_SHA256_LEN], *buf;
	size_t			 len;

	if (arb_wire_decode_inv(data, size, &d) != 0)
		return 0;
	if (arb_wire_encode_inv(d, &buf, &len) != 0 ||
	    arb_wire_decode_inv(buf, len, &d2) != 0)
		abort();
	free(buf);
	arb_wire_free_inv(d2);
	held_make(&held, pk, pkp, dg);
	/* A delta's base is the held digest half the time. */
	if (!d->full && d->base_digest.len == ARB_SHA256_LEN && size % 2)
		memcpy(d->base_digest.data, dg, ARB_SHA256_LEN);
	if (arb_inv_apply(&held, d, &res) == 0) {
		if (!res.m.full || arb_inv_check(&res.m) != 0)
			abort();
		arb_inv_delta_clear(&res);
	}
	if (arb_inv_apply(NULL, d, &res) == 0) {
		if (!d->full || arb_inv_check(&res.m) != 0)
			abort();
		arb_inv_delta_clear(&res);
	}
	arb_wire_free_inv(d);
	return 0;
}
