/*
 * Endpoint states and identities, and the receipts the root signs for
 * them.
 */
#include <string.h>
#include <time.h>

#include "arbor/catalog.h"
#include "arbor/error.h"
#include "arbor/keychain.h"
#include "arbor/report.h"

static const char *const state_names[ARB_ST_COUNT] = {
	[ARB_ST_UNKNOWN] = "unknown",
	[ARB_ST_NOT_APPLICABLE] = "not-applicable",
	[ARB_ST_APPLICABLE] = "applicable",
	[ARB_ST_DOWNLOADING] = "downloading",
	[ARB_ST_WAITING] = "waiting",
	[ARB_ST_RUNNING] = "running",
	[ARB_ST_FIXED] = "fixed",
	[ARB_ST_FAILED] = "failed",
	[ARB_ST_REBOOT_PENDING] = "reboot-pending",
	[ARB_ST_ROLLED_BACK] = "rolled-back",
	[ARB_ST_ERROR] = "error",
	[ARB_ST_DOWNLOAD_FAILED] = "download-failed",
	[ARB_ST_LOCKED] = "locked",
};

const char *
arb_state_name(unsigned st)
{
	return st < ARB_ST_COUNT ? state_names[st] : NULL;
}

int
arb_state_parse(const char *name, unsigned *stp)
{
	unsigned	i;
	size_t		j, n = strlen(name);

	for (i = 0; i < ARB_ST_COUNT; i++) {
		if (strlen(state_names[i]) != n)
			continue;
		for (j = 0; j < n; j++) {
			char a = name[j] == '_' || name[j] == ' ' ? '-' :
			    name[j];

			if (a != state_names[i][j])
				break;
		}
		if (j == n) {
			*stp = i;
			return 0;
		}
	}
	return ARB_EINVAL;
}

int
arb_endpoint_id_raw(const uint8_t pub[ARB_PUBKEY_LEN], char out[ARB_EPID_HEX])
{
	uint8_t	sha[ARB_SHA256_LEN];
	int	rv;

	if ((rv = arb_sha256(pub, ARB_PUBKEY_LEN, sha)) != 0)
		return rv;
	arb_hex(sha, ARB_EPID_LEN, out);
	return 0;
}

int
arb_endpoint_id(const struct arb_key *k, char out[ARB_EPID_HEX])
{
	uint8_t	pub[ARB_PUBKEY_LEN];
	int	rv;

	if ((rv = arb_key_raw_public(k, pub)) != 0)
		return rv;
	return arb_endpoint_id_raw(pub, out);
}

size_t
arb_report_key(const char *endpoint_id, const char *policy_id,
    uint8_t key[ARB_REPORT_KEY_MAX])
{
	size_t a = strlen(endpoint_id), b = strlen(policy_id);

	if (a + 1 + b > ARB_REPORT_KEY_MAX)
		return 0;
	memcpy(key, endpoint_id, a);
	key[a] = '\0';
	memcpy(key + a + 1, policy_id, b);
	return a + 1 + b;
}

int
arb_relayinfo_take(const Arbor__RelayInfo *old, const Arbor__RelayInfo *in,
    const char *carrier, int self, int64_t now, int64_t *atp)
{
	int64_t	at;

	if (self) {
		/* Heard from it just now, by our own clock. */
		*atp = now;
		return 1;
	}
	at = in->at > now + ARB_RELAYINFO_SKEW ? now + ARB_RELAYINFO_SKEW :
	    in->at;
	if (old == NULL) {
		*atp = at;
		return 1;
	}
	/* Another child's relay, while that child still reports it. */
	if (strcmp(old->carrier, carrier) != 0 &&
	    old->at >= now - ARB_RELAYINFO_HOLD)
		return 0;
	if (strcmp(old->carrier, carrier) == 0 && old->at > at)
		return 0;
	*atp = at;
	return 1;
}

int
arb_receipt_open(const struct arb_keychain *kc, const Arbor__Signed *sg,
    Arbor__Receipt **rp)
{
	int rv;

	if (sg == NULL)
		return ARB_EPROTO;
	if ((rv = arb_keychain_verify(kc, sg, (int64_t)time(NULL))) != 0)
		return rv;
	return arb_wire_decode_receipt(sg->body.data, sg->body.len, rp);
}

uint64_t
arb_receipt_seq(const Arbor__Receipt *r, const char *policy)
{
	size_t i;

	for (i = 0; i < r->n_taken; i++)
		if (strcmp(r->taken[i]->policy_id, policy) == 0)
			return r->taken[i]->seq;
	return 0;
}
