/*
 * arborctl key: the chain of key statements the root serves, and the
 * step to the next one.
 *
 * key rotate runs where the trust-root private key is (brought out of
 * its safe for the purpose): it reads the chain the root holds, checks
 * every statement against the trust-root key exactly as a node does,
 * signs the statement that follows it, naming the new publisher key (and
 * revoking what the operator names), and hands it to the root with the
 * path of the new private key.  The root takes it under the same rules
 * as every node, signs a new head with the new key, and the tree follows
 * the chain on its next poll.  The first statement (version 1) is made
 * the same way, naming the key the root signs with today.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arbor/catalog.h"
#include "arbor/conf.h"
#include "arbor/error.h"
#include "arbor/keychain.h"
#include "arbor/sig.h"
#include "arbor/wire.h"
#include "arborctl.h"

#define ROT_VALID_DEFAULT_MS	(365LL * 86400000)
#define ROT_VALID_MAX_MS	(10LL * 365 * 86400000)
/* A statement counts from a little before it is signed: clocks differ. */
#define ROT_SKEW_S		300

/*
 * The chain the root holds, every statement verified and taken into kc
 * (pinned on trust, which it owns): 0, or 1 after a message.
 */
static int
rot_chain(const struct ctl *c, struct arb_key *trust,
    struct arb_keychain **kcp)
{
	Arbor__Envelope	 req = ARBOR__ENVELOPE__INIT, *rep;
	Arbor__GetKeys	 gk = ARBOR__GET_KEYS__INIT;
	struct arb_keychain *kc;
	size_t		 i, n;
	int		 rv;

	if ((rv = arb_keychain_new(NULL, trust, NULL, &kc)) != 0) {
		ctl_warnx(c, "keychain: %s", arb_strerror(rv));
		return 1;
	}
	req.body_case = ARBOR__ENVELOPE__BODY_GET_KEYS;
	req.get_keys = &gk;
	do {
		gk.have_version = arb_keychain_version(kc);
		if (ctl_call(c, &req, ARBOR__ENVELOPE__BODY_KEYS_REPLY,
		    &rep) != 0) {
			arb_keychain_free(kc);
			return 1;
		}
		n = rep->keys_reply->n_statements;
		for (i = 0; i < n; i++) {
			rv = arb_keychain_take(kc,
			    rep->keys_reply->statements[i], NULL);
			if (rv != 0) {
				ctl_warnx(c, "the root's key statement %llu: "
				    "%s", (unsigned long long)
				    arb_keychain_version(kc) + 1,
				    arb_strerror(rv));
				arb_wire_free(rep);
				arb_keychain_free(kc);
				return 1;
			}
		}
		arb_wire_free(rep);
	} while (n == ARB_KEYS_REPLY_MAX);
	*kcp = kc;
	return 0;
}

/* A key id in hex, or a public or private key file: its id into id. */
static int
rot_keyid(const struct ctl *c, const char *arg, uint8_t id[ARB_KEYID_LEN])
{
	struct arb_key	*k;
	int		 rv;

	if (strlen(arg) == 2 * ARB_KEYID_LEN &&
	    arb_unhex(arg, id, ARB_KEYID_LEN) == 0)
		return 0;
	if ((rv = arb_key_load_public(arg, &k)) != 0 &&
	    (rv = arb_key_load_private(arg, &k)) != 0) {
		ctl_warnx(c, "--revoke %s: not a key id (%d hex digits) nor "
		    "a key file: %s", arg, 2 * ARB_KEYID_LEN,
		    arb_strerror(rv));
		return 1;
	}
	rv = arb_key_id(k, id);
	arb_key_free(k);
	return rv != 0;
}

static int
key_rotate(struct ctl *c, int argc, char *argv[])
{
	Arbor__Envelope	 req = ARBOR__ENVELOPE__INIT, *rep;
	Arbor__KeyRotate kr = ARBOR__KEY_ROTATE__INIT;
	Arbor__Signed	 s = ARBOR__SIGNED__INIT;
	struct arb_keychain *kc = NULL;
	struct arb_key	*trust = NULL, *chain_trust = NULL, *next = NULL;
	const struct arb_key *keys[1];
	uint8_t		 revoke[ARB_KEYSTMT_REVOKED_MAX][ARB_KEYID_LEN];
	uint8_t		 id[ARB_KEYID_LEN];
	const char	*trust_path = NULL, *key_path = NULL, *v;
	char		 err[256], hex[2 * ARB_KEYID_LEN + 1];
	char		 abs[PATH_MAX];
	int64_t		 valid = ROT_VALID_DEFAULT_MS, now = time(NULL);
	size_t		 nrevoke = 0;
	int		 i, rv, status = 1;

	for (i = 2; i < argc; i++) {
		if ((rv = ctl_opt(argc, argv, &i, "--trust-key",
		    &trust_path)) == 0 &&
		    (rv = ctl_opt(argc, argv, &i, "--key", &key_path)) == 0) {
			if ((rv = ctl_opt(argc, argv, &i, "--valid",
			    &v)) == 1) {
				if (arb_conf_duration_ms(v, 60000,
				    ROT_VALID_MAX_MS, &valid, err,
				    sizeof(err)) != 0) {
					ctl_warnx(c, "--valid: %s", err);
					return 1;
				}
				continue;
			}
			if (rv == 0 && (rv = ctl_opt(argc, argv, &i,
			    "--revoke", &v)) == 1) {
				if (nrevoke == ARB_KEYSTMT_REVOKED_MAX) {
					ctl_warnx(c, "--revoke: at most %d",
					    ARB_KEYSTMT_REVOKED_MAX);
					return 1;
				}
				if (rot_keyid(c, v, revoke[nrevoke]) != 0)
					return 1;
				nrevoke++;
				continue;
			}
		}
		if (rv != 1) {
			ctl_usage(stderr);
			return 1;
		}
	}
	if (trust_path == NULL || key_path == NULL) {
		ctl_warnx(c, "--trust-key and --key are required");
		return 1;
	}
	/* The root opens the key itself: a path it can find from anywhere. */
	if (realpath(key_path, abs) == NULL) {
		ctl_warnx(c, "--key %s: %s", key_path, strerror(errno));
		return 1;
	}
	if ((rv = arb_key_load_private(trust_path, &trust)) != 0 ||
	    (rv = arb_key_load_private(trust_path, &chain_trust)) != 0) {
		ctl_warnx(c, "--trust-key %s: %s", trust_path,
		    arb_strerror(rv));
		goto out;
	}
	if ((rv = arb_key_load_private(abs, &next)) != 0) {
		ctl_warnx(c, "--key %s: %s", abs, arb_strerror(rv));
		goto out;
	}
	rv = rot_chain(c, chain_trust, &kc);
	chain_trust = NULL;		/* the keychain's, even on error */
	if (rv != 0)
		goto out;
	keys[0] = next;
	rv = arb_keychain_next(kc, trust, keys, 1,
	    (const uint8_t (*)[ARB_KEYID_LEN])revoke, nrevoke,
	    now - ROT_SKEW_S, now + valid / 1000, &s);
	if (rv != 0) {
		ctl_warnx(c, "statement %llu: %s%s", (unsigned long long)
		    arb_keychain_version(kc) + 1, arb_strerror(rv),
		    rv == ARB_EINVAL ? " (the new key revoked, or the trust "
		    "key not the one the chain is signed with)" : "");
		goto out;
	}
	kr.statement = &s;
	kr.key_path = abs;
	req.body_case = ARBOR__ENVELOPE__BODY_KEY_ROTATE;
	req.key_rotate = &kr;
	if (ctl_call(c, &req, ARBOR__ENVELOPE__BODY_DONE, &rep) != 0)
		goto out;
	arb_key_id(next, id);
	arb_hex(id, sizeof(id), hex);
	printf("key statement %llu: signing with %s (key %s), valid "
	    "until %lld; %zu revoked by this statement\n",
	    (unsigned long long)arb_keychain_version(kc) + 1, abs, hex,
	    (long long)(now + valid / 1000), nrevoke);
	arb_wire_free(rep);
	status = 0;
out:
	arb_signed_clear(&s);
	arb_keychain_free(kc);
	arb_key_free(chain_trust);
	arb_key_free(trust);
	arb_key_free(next);
	return status;
}

/* The newest statement the root serves, as JSON or one line each. */
static int
key_status(struct ctl *c, int argc, char *argv[])
{
	Arbor__Envelope	 req = ARBOR__ENVELOPE__INIT, *rep;
	Arbor__GetKeys	 gk = ARBOR__GET_KEYS__INIT;
	Arbor__KeyStatement *ks = NULL, *k;
	json_t		*doc, *keys, *rev;
	char		 hex[2 * ARB_PUBKEY_LEN + 1];
	uint64_t	 have = 0;
	size_t		 i, n;
	int		 as_json = 0, rv;

	if (ctl_json_arg(argc, argv, &as_json) != 0)
		return 1;
	req.body_case = ARBOR__ENVELOPE__BODY_GET_KEYS;
	req.get_keys = &gk;
	/* Unverified here (no trust key at hand): the newest, as served. */
	do {
		gk.have_version = have;
		if (ctl_call(c, &req, ARBOR__ENVELOPE__BODY_KEYS_REPLY,
		    &rep) != 0) {
			arb_wire_free_keystmt(ks);
			return 1;
		}
		n = rep->keys_reply->n_statements;
		for (i = 0; i < n; i++) {
			const Arbor__Signed *sg = rep->keys_reply->statements[i];

			if (sg == NULL || (rv = arb_wire_decode_keystmt(
			    sg->body.data, sg->body.len, &k)) != 0) {
				ctl_warnx(c, "statement after %llu: %s",
				    (unsigned long long)have,
				    arb_strerror(sg ? rv : ARB_EPROTO));
				arb_wire_free(rep);
				arb_wire_free_keystmt(ks);
				return 1;
			}
			arb_wire_free_keystmt(ks);
			ks = k;
			have = k->version;
		}
		arb_wire_free(rep);
	} while (n == ARB_KEYS_REPLY_MAX);
	if (!as_json) {
		if (ks == NULL) {
			printf("no key statement: heads are signed with the "
			    "pinned publisher key\n");
			return 0;
		}
		printf("key statement %llu, valid %lld to %lld, %zu key(s), "
		    "%zu revoked\n", (unsigned long long)ks->version,
		    (long long)ks->not_before, (long long)ks->not_after,
		    ks->n_keys, ks->n_revoked);
		arb_wire_free_keystmt(ks);
		return 0;
	}
	doc = json_object();
	keys = json_array();
	rev = json_array();
	json_object_set_new(doc, "version", json_integer(ks ?
	    (json_int_t)ks->version : 0));
	for (i = 0; ks != NULL && i < ks->n_keys; i++) {
		struct arb_key	*pk;
		uint8_t		 id[ARB_KEYID_LEN];

		if (arb_key_from_raw_public(ks->keys[i].data, &pk) != 0)
			continue;
		if (arb_key_id(pk, id) == 0) {
			arb_hex(id, sizeof(id), hex);
			json_array_append_new(keys, json_string(hex));
		}
		arb_key_free(pk);
	}
	for (i = 0; ks != NULL && i < ks->n_revoked; i++) {
		arb_hex(ks->revoked[i].data, ks->revoked[i].len, hex);
		json_array_append_new(rev, json_string(hex));
	}
	if (ks != NULL) {
		json_object_set_new(doc, "not_before",
		    json_integer(ks->not_before));
		json_object_set_new(doc, "not_after",
		    json_integer(ks->not_after));
	}
	json_object_set_new(doc, "keys", keys);
	json_object_set_new(doc, "revoked", rev);
	arb_wire_free_keystmt(ks);
	return ctl_json_print(c, doc);
}

int
cmd_key(struct ctl *c, int argc, char *argv[])
{
	if (argc >= 2 && strcmp(argv[1], "rotate") == 0)
		return key_rotate(c, argc, argv);
	if (argc >= 2 && strcmp(argv[1], "status") == 0)
		return key_status(c, argc - 1, argv + 1);
	ctl_usage(stderr);
	return 1;
}
