/*
 * The root's publisher key under a trust root.  With trust_root
 * configured, the root holds the chain of key statements (taken with the
 * same rules as every node, kept in its store and served to children on
 * svc and to arborctl on the control socket), signs heads with a key the
 * newest statement names, and says in each head which statement is in
 * force.  A rotation (KeyRotate from `arborctl key rotate`) hands it the
 * next statement, signed offline with the trust-root key, and the path of
 * the new private key: the root loads the key, checks that the statement
 * names it, takes the statement, remembers the path (so a restart signs
 * with the same key) and signs a new head at once, so that children move
 * on their next poll.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arbor/error.h"
#include "arbor/keychain.h"
#include "arbor/log.h"
#include "root.h"

/* The path of the key a rotation moved to, in ARB_DB_META. */
#define ROOT_KEYPATH	"publisher_key_path"
#define ROOT_KEYPATHLEN	(sizeof(ROOT_KEYPATH) - 1)

int
root_keys_open(struct root *r)
{
	char	*path = NULL;
	void	*v;
	size_t	 n;
	int	 rv;

	if (r->conf->trust_root != NULL) {
		if ((rv = arb_keychain_open("root", NULL, r->conf->trust_root,
		    r->store, &r->keys)) != 0)
			return rv;
		if (arb_store_get(r->store, ARB_DB_META, ROOT_KEYPATH,
		    ROOT_KEYPATHLEN, &v, &n) == 0) {
			if ((path = strndup(v, n)) == NULL) {
				free(v);
				return -ENOMEM;
			}
			free(v);
		}
	}
	rv = arb_key_load_private(path ? path : r->conf->key, &r->key);
	if (rv != 0) {
		log_warnx("root: key %s: %s", path ? path : r->conf->key,
		    arb_strerror(rv));
		free(path);
		return rv;
	}
	if (path != NULL)
		log_info("root: signing with %s (rotated)", path);
	free(path);
	if (r->keys != NULL && arb_keychain_version(r->keys) > 0 &&
	    (rv = arb_keychain_current(r->keys, r->key)) != 0) {
		log_warnx("root: the publisher key is not one key statement "
		    "%llu names: %s", (unsigned long long)
		    arb_keychain_version(r->keys), arb_strerror(rv));
		return rv;
	}
	return 0;
}

uint64_t
root_key_version(const struct root *r)
{
	return r->keys ? arb_keychain_version(r->keys) : 0;
}

void
root_get_keys(struct root *r, struct arb_req *req, const Arbor__GetKeys *gk)
{
	uint8_t	*buf;
	size_t	 len;
	int	 rv;

	if (r->keys == NULL) {
		root_reply_error(req, ARB_EINVAL, "no trust_root configured");
		return;
	}
	if ((rv = arb_keychain_reply(r->store, gk->have_version, &buf,
	    &len)) != 0) {
		root_reply_error(req, rv, "keys");
		return;
	}
	(void)arb_req_reply(req, buf, len);
	free(buf);
}

/*
 * What a rotation must carry beyond what every node checks: a statement
 * (not yet verified) that names k's public half and is in force now, so
 * that the root never signs a head no node would take.  0, ARB_EINVAL
 * (the key not named), ARB_EEXPIRED, or the decoder's error.
 */
static int
root_check_stmt(const Arbor__Signed *s, const struct arb_key *k)
{
	Arbor__KeyStatement	*ks;
	uint8_t			 raw[ARB_PUBKEY_LEN];
	int64_t			 now = time(NULL);
	size_t			 i;
	int			 rv;

	if ((rv = arb_key_raw_public(k, raw)) != 0 ||
	    (rv = arb_wire_decode_keystmt(s->body.data, s->body.len,
	    &ks)) != 0)
		return rv;
	rv = ARB_EINVAL;
	for (i = 0; i < ks->n_keys; i++)
		if (memcmp(ks->keys[i].data, raw, sizeof(raw)) == 0)
			rv = 0;
	if (rv == 0 && (now < ks->not_before || now >= ks->not_after))
		rv = ARB_EEXPIRED;
	arb_wire_free_keystmt(ks);
	return rv;
}

void
root_key_rotate(struct root *r, struct arb_req *req,
    const Arbor__KeyRotate *kr)
{
	Arbor__Envelope	 env = ARBOR__ENVELOPE__INIT;
	Arbor__Done	 d = ARBOR__DONE__INIT;
	struct arb_key	*k;
	char		 detail[128];
	int		 rv, taken;

	if (r->keys == NULL) {
		root_reply_error(req, ARB_EINVAL, "no trust_root configured");
		return;
	}
	if ((rv = arb_key_load_private(kr->key_path, &k)) != 0) {
		root_reply_error(req, rv, "new publisher key");
		return;
	}
	if ((rv = root_check_stmt(kr->statement, k)) != 0) {
		arb_key_free(k);
		root_reply_error(req, rv, rv == ARB_EINVAL ? "the statement "
		    "does not name the new key" : rv == ARB_EEXPIRED ?
		    "the statement is not valid now" : "key statement");
		return;
	}
	if ((rv = arb_keychain_take(r->keys, kr->statement, &taken)) != 0) {
		log_warnx("root: key statement refused: %s", arb_strerror(rv));
		arb_key_free(k);
		root_reply_error(req, rv, "key statement");
		return;
	}
	if ((rv = arb_store_put(r->store, ARB_DB_META, ROOT_KEYPATH,
	    ROOT_KEYPATHLEN, kr->key_path, strlen(kr->key_path))) != 0) {
		/* Taken but not remembered: a restart must not sign with a
		 * key the chain no longer names; it says so then. */
		log_warnx("root: %s not recorded: %s", kr->key_path,
		    arb_strerror(rv));
	}
	arb_key_free(r->key);
	r->key = k;
	log_info("root: key statement %llu: signing with %s",
	    (unsigned long long)arb_keychain_version(r->keys), kr->key_path);
	if (r->head != NULL && (rv = root_sign_head(r, r->head->policies,
	    r->head->n_policies, "key rotated", NULL, 0)) != 0)
		log_warnx("root: head after rotation: %s", arb_strerror(rv));
	snprintf(detail, sizeof(detail), "key statement %llu",
	    (unsigned long long)arb_keychain_version(r->keys));
	d.seq = r->head ? r->head->seq : 0;
	d.detail = detail;
	env.body_case = ARBOR__ENVELOPE__BODY_DONE;
	env.done = &d;
	root_reply(req, &env);
}
