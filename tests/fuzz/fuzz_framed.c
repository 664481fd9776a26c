/*
 * Fuzz target for arb_wire_decode_framed, the decoder of a chunk reply
 * that a child asked to have framed (the envelope, then the chunk's
 * bytes, read in place).  A reply that decodes framed must pack again to
 * the same bytes; one that decodes unframed is any envelope.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arbor/wire.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Arbor__Envelope	*env, *env2;
	const uint8_t	*raw, *raw2;
	uint8_t		*buf;
	size_t		 n, n2, len;

	if (arb_wire_decode_framed(data, size, &env, &raw, &n) != 0)
		return 0;
	if (raw == NULL) {
		arb_wire_free(env);
		return 0;
	}
	if (env->body_case != ARBOR__ENVELOPE__BODY_CHUNK ||
	    env->chunk->framed_len != n || raw + n != data + size)
		abort();
	len = arb_wire_framed_size(env, n);
	if ((buf = malloc(len)) == NULL)
		abort();
	if (arb_wire_pack_framed(env, raw, n, buf, len) != 0)
		abort();
	if (arb_wire_decode_framed(buf, len, &env2, &raw2, &n2) != 0 ||
	    raw2 == NULL || n2 != n || memcmp(raw2, raw, n) != 0)
		abort();
	arb_wire_free(env2);
	free(buf);
	arb_wire_free(env);
	return 0;
}
