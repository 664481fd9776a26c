/*
 * Fuzz target for arb_wire_decode, the decoder of every message a node
 * receives.  A message that decodes must re-encode, and the re-encoding
 * must decode again (the bounds hold for what we send as for what we
 * accept).  Signed objects inside are decoded too, as a node does once the
 * signature holds: the head and policy decoders see bytes a peer chose.
 * The baselines and exemptions of a compliance request are stored as the
 * root stores them and read back.  The root's control socket names each
 * action it receives for the audit trail (root_audit_what): a word and a
 * target of at most an id's length, whatever the request holds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arbor/wire.h"
#include "root.h"

static void
fuzz_signed_body(const Arbor__Signed *s, int head)
{
	Arbor__Signed	*s2;
	Arbor__Head	*h;
	Arbor__Policy	*p;
	uint8_t		*buf;
	size_t		 len;

	if (s == NULL)
		return;
	if (head) {
		if (arb_wire_decode_head(s->body.data, s->body.len, &h) == 0)
			arb_wire_free_head(h);
	} else {
		if (arb_wire_decode_policy(s->body.data, s->body.len,
		    &p) == 0)
			arb_wire_free_policy(p);
	}
	/* As a node stores it, and reads it back. */
	if (arb_wire_encode_signed(s, &buf, &len) != 0)
		abort();
	if (arb_wire_decode_signed(buf, len, &s2) != 0)
		abort();
	arb_wire_free_signed(s2);
	free(buf);
}

static void
fuzz_stored(const Arbor__ComplianceCtl *c)
{
	Arbor__Baseline		*b;
	Arbor__Exemption	*x;
	uint8_t			*buf;
	size_t			 len;

	if (c->baseline != NULL &&
	    arb_wire_encode_baseline(c->baseline, &buf, &len) == 0) {
		if (arb_wire_decode_baseline(buf, len, &b) != 0)
			abort();
		arb_wire_free_baseline(b);
		free(buf);
	}
	if (c->exemption != NULL &&
	    arb_wire_encode_exemption(c->exemption, &buf, &len) == 0) {
		if (arb_wire_decode_exemption(buf, len, &x) != 0)
			abort();
		arb_wire_free_exemption(x);
		free(buf);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Arbor__Envelope		*env, *env2;
	struct root_audit_what	 w;
	uint8_t			*buf;
	size_t			 len, i;

	if (arb_wire_decode(data, size, &env) != 0)
		return 0;
	if (root_audit_what(env, &w) && (w.action[0] == '\0' ||
	    strlen(w.target) > ARB_MAX_ID || strlen(w.note) >= sizeof(w.note)))
		abort();
	if (arb_wire_encode(env, &buf, &len) != 0)
		abort();
	if (arb_wire_decode(buf, len, &env2) != 0)
		abort();
	if (env2->body_case != env->body_case)
		abort();
	arb_wire_free(env2);
	free(buf);

	switch (env->body_case) {
	case ARBOR__ENVELOPE__BODY_HEAD_REPLY:
		fuzz_signed_body(env->head_reply->head, 1);
		break;
	case ARBOR__ENVELOPE__BODY_POLICY_REPLY:
		fuzz_signed_body(env->policy_reply->policy, 0);
		break;
	case ARBOR__ENVELOPE__BODY_CATALOG_REPLY:
		fuzz_signed_body(env->catalog_reply->head, 1);
		for (i = 0; i < env->catalog_reply->n_policies; i++)
			fuzz_signed_body(env->catalog_reply->policies[i], 0);
		break;
	case ARBOR__ENVELOPE__BODY_PUBLISH:
		/* As the root does: the policy it will sign. */
		if (arb_wire_encode_policy(env->publish->policy, &buf,
		    &len) == 0) {
			Arbor__Policy	*p;

			if (arb_wire_decode_policy(buf, len, &p) != 0)
				abort();
			arb_wire_free_policy(p);
			free(buf);
		}
		break;
	case ARBOR__ENVELOPE__BODY_COMPLIANCE_CTL:
		/* As the root stores them, and reads them back. */
		fuzz_stored(env->compliance_ctl);
		break;
	default:
		break;
	}
	arb_wire_free(env);
	return 0;
}
