/*
 * The keychain: which publisher keys a node believes sign heads and
 * receipts.  Either one pinned publisher key (the simple case: nothing
 * rotates), or a pinned trust-root key and the chain of key statements it
 * signed: version 1, 2, 3, ... each naming the one before it by the
 * SHA-256 of its body, the current publisher keys, a validity period and
 * every key id ever revoked.  A node takes statements strictly one version
 * after the other, so one that slept through several rotations walks the
 * chain from the version it holds; an older statement, a skipped version,
 * the same version with other content, a broken link and a revoked key
 * named again are refused.  Statements taken are kept in the node's store
 * (ARB_DB_META, "keys/" and the version) before they count, so a restart
 * holds the same chain.  Everything runs on the loop thread.
 */
#ifndef ARBOR_KEYCHAIN_H
#define ARBOR_KEYCHAIN_H

#include <stdint.h>

#include "arbor/sig.h"
#include "arbor/store.h"
#include "arbor/wire.h"

struct arb_keychain;

/*
 * A keychain on one pinned publisher key (pub) or on a trust root
 * (trust): exactly one is given, and the keychain owns it from then on
 * (also on error).  With a store, the statements it holds are loaded (and
 * checked again) and those taken later are written there.
 */
int	arb_keychain_new(struct arb_key *pub, struct arb_key *trust,
	    struct arb_store *st, struct arb_keychain **kcp);
void	arb_keychain_free(struct arb_keychain *kc);

/*
 * A daemon's keychain from its configuration: on the trust-root public
 * key at trust_root when it is given, else on the publisher key at
 * pubkey; with the statements st holds.  Each failure is logged with who
 * and the path.
 */
int	arb_keychain_open(const char *who, const char *pubkey,
	    const char *trust_root, struct arb_store *st,
	    struct arb_keychain **kcp);

/* 1 when statements rotate the keys (a trust root is pinned). */
int	arb_keychain_rotates(const struct arb_keychain *kc);
/* The version of the newest statement held; 0 for none. */
uint64_t arb_keychain_version(const struct arb_keychain *kc);

/*
 * Take one signed statement.  Returns 0 when it is the next version (it
 * is stored and counts from now on; *takenp set to 1) or the very
 * statement already held at its version (*takenp 0); otherwise, and
 * nothing changes: ARB_EINVAL (no trust root pinned), ARB_EUNKNOWNKEY or
 * ARB_EBADSIG (not the trust root's), the decoder's ARB_EPROTO,
 * ARB_EKEYOLD (a version below the one held, even the same bytes: a
 * parent sends only newer ones), ARB_EKEYFORK (the held version with
 * other content, or a link that is not the held statement's hash),
 * ARB_EKEYGAP (more than one version ahead), ARB_EREVOKED (a revoked key
 * named, or a revocation dropped), or the store's error.  takenp may be
 * NULL.
 */
int	arb_keychain_take(struct arb_keychain *kc, const Arbor__Signed *s,
	    int *takenp);

/*
 * Verify a signed object against the keys in force at now (seconds):
 * 0, ARB_EREVOKED (a revoked key), ARB_EUNKNOWNKEY (no current key has
 * its id; with a trust root, also before any statement is held),
 * ARB_EEXPIRED (now outside the newest statement's validity), or
 * ARB_EBADSIG.
 */
int	arb_keychain_verify(const struct arb_keychain *kc,
	    const Arbor__Signed *s, int64_t now);

/*
 * 0 when k (its public half) is a current key of kc, else as
 * arb_keychain_verify would refuse what it signs.
 */
int	arb_keychain_current(const struct arb_keychain *kc,
	    const struct arb_key *k);

/*
 * The statements st holds after version have, oldest first, at most max:
 * *outp is a malloc'd array of *np decoded Signed records (each freed
 * with arb_wire_free_signed, then the array with free).  *np may be 0.
 */
int	arb_keychain_stored(struct arb_store *st, uint64_t have, size_t max,
	    Arbor__Signed ***outp, size_t *np);

/*
 * The answer to GetKeys{have}: a KeysReply envelope with the statements
 * st holds after have (at most ARB_KEYS_REPLY_MAX), encoded into *bufp
 * (malloc'd, *lenp bytes).  The same at a relay's svc and the root's
 * control socket.
 */
int	arb_keychain_reply(struct arb_store *st, uint64_t have,
	    uint8_t **bufp, size_t *lenp);

/*
 * The statement that follows the newest kc holds (version 1 on an empty
 * chain), signed with the trust root's private key trust into *s (clear
 * with arb_signed_clear): it names the nkeys publisher keys keys, is
 * valid from not_before to not_after, and revokes every key id the
 * newest statement revoked plus the nrevoke of revoke.  Returns 0,
 * ARB_EINVAL (no key, a revoked key named, or trust is not the key kc
 * pins) or an error.  The caller still hands it to arb_keychain_take.
 */
int	arb_keychain_next(const struct arb_keychain *kc,
	    const struct arb_key *trust, const struct arb_key *const *keys,
	    size_t nkeys, const uint8_t (*revoke)[ARB_KEYID_LEN],
	    size_t nrevoke, int64_t not_before, int64_t not_after,
	    Arbor__Signed *s);

/*
 * The same with every field given, for tests that craft statements a
 * node must refuse (a version that skips one, a wrong link): version,
 * prev (ARB_SHA256_LEN bytes, or NULL for none) and the revoked ids as
 * they are.
 */
int	arb_keychain_sign(const struct arb_key *trust, uint64_t version,
	    const uint8_t *prev, const struct arb_key *const *keys,
	    size_t nkeys, const uint8_t (*revoked)[ARB_KEYID_LEN],
	    size_t nrevoked, int64_t not_before, int64_t not_after,
	    Arbor__Signed *s);

/* The SHA-256 of the newest statement's body (for its successor). */
int	arb_keychain_last_hash(const struct arb_keychain *kc,
	    uint8_t out[ARB_SHA256_LEN]);

#endif
