/*
 * Fuzz target for the trust root's key statements: the bytes as a
 * KeyStatement body (arb_wire_decode_keystmt: what decodes must encode and
 * decode again to the same keys), and as a Signed statement handed to a
 * keychain that pins a fixed trust root (arb_keychain_take: refused, never
 * taken, whatever the bytes, since only the trust root signs).
 */
#include <stdint.h>
#include <stdlib.h>

#include "arbor/keychain.h"
#include "arbor/wire.h"

static struct arb_keychain *
fuzz_keychain(void)
{
	static struct arb_keychain	*kc;
	struct arb_key			*k;
	uint8_t				 seed[32] = { 7 };

	if (kc == NULL && (arb_key_from_raw_private(seed, &k) != 0 ||
	    arb_keychain_new(NULL, k, NULL, &kc) != 0))
		abort();
	return kc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Arbor__KeyStatement	*k, *k2;
	Arbor__Signed		*s;
	uint8_t			*buf;
	size_t			 len;
	int			 taken = 0;

	if (arb_wire_decode_keystmt(data, size, &k) == 0) {
		if (arb_wire_encode_keystmt(k, &buf, &len) != 0 ||
		    arb_wire_decode_keystmt(buf, len, &k2) != 0 ||
		    k2->version != k->version || k2->n_keys != k->n_keys ||
		    k2->n_revoked != k->n_revoked)
			abort();
		arb_wire_free_keystmt(k2);
		free(buf);
		arb_wire_free_keystmt(k);
	}
	if (arb_wire_decode_signed(data, size, &s) == 0) {
		if (arb_keychain_take(fuzz_keychain(), s, &taken) == 0 ||
		    taken)
			abort();
		arb_wire_free_signed(s);
	}
	return 0;
}
