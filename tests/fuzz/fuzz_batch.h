/*
 * The endpoint fuzz_batch enrolls: its private key's raw seed, shared with
 * mkcorpus.c, which signs the reports of the batch corpus with it so that
 * they pass the signature check and reach the rest of the judging.
 */
#ifndef ARBOR_FUZZ_BATCH_H
#define ARBOR_FUZZ_BATCH_H

#include <stdint.h>

static const uint8_t fuzz_batch_seed[32] = {
	0x61, 0x72, 0x62, 0x6f, 0x72, 0x2d, 0x66, 0x75,
	0x7a, 0x7a, 0x2d, 0x62, 0x61, 0x74, 0x63, 0x68,
	0x2d, 0x65, 0x6e, 0x64, 0x70, 0x6f, 0x69, 0x6e,
	0x74, 0x2d, 0x6b, 0x65, 0x79, 0x2d, 0x30, 0x31
};

/* The policy of the report the endpoint already holds, at seq 5. */
#define FUZZ_BATCH_POLICY	"openssl"
#define FUZZ_BATCH_HELD_SEQ	5

#endif
