/*
 * The keychain: the publisher keys a node believes, from one pinned key
 * or from the chain of statements a pinned trust root signed.  The chain
 * rules (one version after the other, each linked to the one before by
 * hash, revocations never dropped) are all here; the statements' bytes
 * are the wire's and their signatures the catalog's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arbor/catalog.h"
#include "arbor/error.h"
#include "arbor/keychain.h"
#include "arbor/log.h"

#define KC_PREFIX	"keys/"
#define KC_PREFIXLEN	(sizeof(KC_PREFIX) - 1)
#define KC_KEYLEN	(KC_PREFIXLEN + 8)

struct arb_keychain {
	struct arb_key		*pinned;	/* the simple case, or NULL */
	struct arb_key		*trust;		/* the trust root, or NULL */
	struct arb_store	*store;		/* statements kept; or NULL */
	uint64_t		 version;	/* newest held; 0: none */
	uint8_t			(*hashes)[ARB_SHA256_LEN]; /* bodies 1..version */
	size_t			 cap;
	Arbor__KeyStatement	*cur;		/* newest, decoded */
	struct arb_key		*keys[ARB_KEYSTMT_KEYS_MAX]; /* cur's keys */
	uint8_t			 ids[ARB_KEYSTMT_KEYS_MAX][ARB_KEYID_LEN];
	size_t			 nkeys;
};

static void
kc_dbkey(uint64_t version, uint8_t out[KC_KEYLEN])
{
	memcpy(out, KC_PREFIX, KC_PREFIXLEN);
	arb_be64_put(out + KC_PREFIXLEN, version);
}

static int
kc_revoked(const Arbor__KeyStatement *k, const uint8_t id[ARB_KEYID_LEN])
{
	size_t i;

	for (i = 0; k != NULL && i < k->n_revoked; i++)
		if (memcmp(k->revoked[i].data, id, ARB_KEYID_LEN) == 0)
			return 1;
	return 0;
}

/* Make cur's keys the current ones (cur already replaced). */
static int
kc_load_keys(const Arbor__KeyStatement *k,
    struct arb_key **keys, uint8_t (*ids)[ARB_KEYID_LEN], size_t *np)
{
	size_t	i;
	int	rv;

	for (i = 0; i < k->n_keys; i++) {
		if ((rv = arb_key_from_raw_public(k->keys[i].data,
		    &keys[i])) != 0 || (rv = arb_key_id(keys[i], ids[i])) != 0)
			goto fail;
		/* A statement that names a key it revokes is a broken one. */
		if (kc_revoked(k, ids[i])) {
			arb_key_free(keys[i]);
			rv = ARB_EREVOKED;
			goto fail;
		}
	}
	*np = k->n_keys;
	return 0;
fail:
	while (i-- > 0)
		arb_key_free(keys[i]);
	return rv;
}

/*
 * The judgement of arb_keychain_take, without storing: on 0 with
 * *nextp, *kp is the decoded next statement and *sha its body's hash.
 */
static int
kc_judge(const struct arb_keychain *kc, const Arbor__Signed *s,
    Arbor__KeyStatement **kp, uint8_t sha[ARB_SHA256_LEN], int *nextp)
{
	Arbor__KeyStatement	*k;
	size_t			 i;
	int			 rv;

	if (kc->trust == NULL)
		return ARB_EINVAL;
	if ((rv = arb_signed_verify(kc->trust, s)) != 0)
		return rv;
	if ((rv = arb_sha256(s->body.data, s->body.len, sha)) != 0)
		return rv;
	if ((rv = arb_wire_decode_keystmt(s->body.data, s->body.len,
	    &k)) != 0)
		return rv;
	if (k->version <= kc->version) {
		if (memcmp(kc->hashes[k->version - 1], sha,
		    ARB_SHA256_LEN) != 0)
			rv = ARB_EKEYFORK;
		else if (k->version < kc->version)
			rv = ARB_EKEYOLD;
		else
			*nextp = 0;	/* the one we hold */
		goto out;
	}
	if (k->version > kc->version + 1) {
		rv = ARB_EKEYGAP;
		goto out;
	}
	if (kc->version > 0 && memcmp(k->prev_sha256.data,
	    kc->hashes[kc->version - 1], ARB_SHA256_LEN) != 0) {
		rv = ARB_EKEYFORK;
		goto out;
	}
	/* Revocations are for good: each one held must be there again. */
	for (i = 0; kc->cur != NULL && i < kc->cur->n_revoked; i++)
		if (!kc_revoked(k, kc->cur->revoked[i].data)) {
			rv = ARB_EREVOKED;
			goto out;
		}
	*nextp = 1;
	*kp = k;
	return 0;
out:
	arb_wire_free_keystmt(k);
	return rv;
}

/*
 * Everything that can fail in counting k (judged the next) as the newest
 * statement, done before it is stored: room for its hash, and its keys
 * (refused, ARB_EREVOKED, when it names one it revokes).
 */
static int
kc_prepare(struct arb_keychain *kc, const Arbor__KeyStatement *k,
    struct arb_key **keys, uint8_t (*ids)[ARB_KEYID_LEN], size_t *np)
{
	if (kc->version + 1 > kc->cap) {
		size_t	 cap = kc->cap ? kc->cap * 2 : 8;
		void	*p = realloc(kc->hashes, cap * ARB_SHA256_LEN);

		if (p == NULL)
			return -ENOMEM;
		kc->hashes = p;
		kc->cap = cap;
	}
	return kc_load_keys(k, keys, ids, np);
}

/* Count k as the newest statement, with the keys kc_prepare made. */
static void
kc_advance(struct arb_keychain *kc, Arbor__KeyStatement *k,
    const uint8_t sha[ARB_SHA256_LEN], struct arb_key **keys,
    const uint8_t (*ids)[ARB_KEYID_LEN], size_t n)
{
	size_t	i;

	for (i = 0; i < kc->nkeys; i++)
		arb_key_free(kc->keys[i]);
	memcpy(kc->keys, keys, n * sizeof(keys[0]));
	memcpy(kc->ids, ids, n * ARB_KEYID_LEN);
	kc->nkeys = n;
	memcpy(kc->hashes[kc->version], sha, ARB_SHA256_LEN);
	kc->version = k->version;
	arb_wire_free_keystmt(kc->cur);
	kc->cur = k;
}

int
arb_keychain_take(struct arb_keychain *kc, const Arbor__Signed *s,
    int *takenp)
{
	Arbor__KeyStatement	*k = NULL;
	struct arb_key		*keys[ARB_KEYSTMT_KEYS_MAX];
	uint8_t			 ids[ARB_KEYSTMT_KEYS_MAX][ARB_KEYID_LEN];
	uint8_t			 sha[ARB_SHA256_LEN], key[KC_KEYLEN], *buf;
	size_t			 len, i, n = 0;
	int			 next = 0, rv;

	if ((rv = kc_judge(kc, s, &k, sha, &next)) != 0)
		return rv;
	if (next) {
		/* Stored only once nothing else can refuse it. */
		if ((rv = kc_prepare(kc, k, keys, ids, &n)) != 0)
			goto fail;
		if (kc->store != NULL) {
			if ((rv = arb_wire_encode_signed(s, &buf, &len)) != 0)
				goto fail;
			kc_dbkey(k->version, key);
			rv = arb_store_put(kc->store, ARB_DB_META, key,
			    sizeof(key), buf, len);
			free(buf);
			if (rv != 0)
				goto fail;
		}
		kc_advance(kc, k, sha, keys, (const uint8_t (*)[ARB_KEYID_LEN])
		    ids, n);
	}
	if (takenp != NULL)
		*takenp = next;
	return 0;
fail:
	for (i = 0; i < n; i++)
		arb_key_free(keys[i]);
	arb_wire_free_keystmt(k);
	return rv;
}

int
arb_keychain_stored(struct arb_store *st, uint64_t have, size_t max,
    Arbor__Signed ***outp, size_t *np)
{
	Arbor__Signed	**out;
	uint8_t		  key[KC_KEYLEN];
	void		 *v;
	size_t		  n = 0, len;
	int		  rv;

	if ((out = calloc(max + 1, sizeof(*out))) == NULL)
		return -ENOMEM;
	while (n < max) {
		kc_dbkey(have + 1 + n, key);
		rv = arb_store_get(st, ARB_DB_META, key, sizeof(key), &v,
		    &len);
		if (rv == ARB_ENOTFOUND)
			break;
		if (rv == 0) {
			rv = arb_wire_decode_signed(v, len, &out[n]);
			free(v);
		}
		if (rv != 0) {
			while (n-- > 0)
				arb_wire_free_signed(out[n]);
			free(out);
			return rv;
		}
		n++;
	}
	*outp = out;
	*np = n;
	return 0;
}

/* Load the chain st holds, judging each statement again. */
static int
kc_load(struct arb_keychain *kc, struct arb_store *st)
{
	Arbor__KeyStatement	 *k;
	Arbor__Signed		**got;
	struct arb_key		 *keys[ARB_KEYSTMT_KEYS_MAX];
	uint8_t			  ids[ARB_KEYSTMT_KEYS_MAX][ARB_KEYID_LEN];
	uint8_t			  sha[ARB_SHA256_LEN];
	size_t			  i, n, nk;
	int			  next, rv = 0;

	do {
		if ((rv = arb_keychain_stored(st, kc->version,
		    ARB_KEYS_REPLY_MAX, &got, &n)) != 0)
			return rv;
		for (i = 0; i < n && rv == 0; i++) {
			k = NULL;
			if ((rv = kc_judge(kc, got[i], &k, sha, &next)) != 0 ||
			    !next)
				continue;
			if ((rv = kc_prepare(kc, k, keys, ids, &nk)) != 0)
				arb_wire_free_keystmt(k);
			else
				kc_advance(kc, k, sha, keys,
				    (const uint8_t (*)[ARB_KEYID_LEN])ids, nk);
		}
		for (i = 0; i < n; i++)
			arb_wire_free_signed(got[i]);
		free(got);
	} while (rv == 0 && n == ARB_KEYS_REPLY_MAX);
	return rv;
}

int
arb_keychain_new(struct arb_key *pub, struct arb_key *trust,
    struct arb_store *st, struct arb_keychain **kcp)
{
	struct arb_keychain	*kc;
	int			 rv;

	if ((pub == NULL) == (trust == NULL)) {
		arb_key_free(pub);
		arb_key_free(trust);
		return ARB_EINVAL;
	}
	if ((kc = calloc(1, sizeof(*kc))) == NULL) {
		arb_key_free(pub);
		arb_key_free(trust);
		return -ENOMEM;
	}
	kc->pinned = pub;
	kc->trust = trust;
	if (trust != NULL && st != NULL) {
		if ((rv = kc_load(kc, st)) != 0) {
			log_warnx("keychain: stored key statement %llu: %s",
			    (unsigned long long)kc->version + 1,
			    arb_strerror(rv));
			arb_keychain_free(kc);
			return rv;
		}
		kc->store = st;
	}
	*kcp = kc;
	return 0;
}

void
arb_keychain_free(struct arb_keychain *kc)
{
	size_t i;

	if (kc == NULL)
		return;
	for (i = 0; i < kc->nkeys; i++)
		arb_key_free(kc->keys[i]);
	arb_wire_free_keystmt(kc->cur);
	free(kc->hashes);
	arb_key_free(kc->pinned);
	arb_key_free(kc->trust);
	free(kc);
}

int
arb_keychain_rotates(const struct arb_keychain *kc)
{
	return kc->trust != NULL;
}

uint64_t
arb_keychain_version(const struct arb_keychain *kc)
{
	return kc->version;
}

/* The current key with this id, or why there is none. */
static int
kc_find(const struct arb_keychain *kc, const uint8_t *id, size_t len,
    int64_t now, const struct arb_key **kp)
{
	size_t i;

	if (len != ARB_KEYID_LEN)
		return ARB_EUNKNOWNKEY;
	if (kc_revoked(kc->cur, id))
		return ARB_EREVOKED;
	for (i = 0; i < kc->nkeys; i++)
		if (memcmp(kc->ids[i], id, ARB_KEYID_LEN) == 0)
			break;
	if (i == kc->nkeys)
		return ARB_EUNKNOWNKEY;
	if (now < kc->cur->not_before || now >= kc->cur->not_after)
		return ARB_EEXPIRED;
	*kp = kc->keys[i];
	return 0;
}

int
arb_keychain_verify(const struct arb_keychain *kc, const Arbor__Signed *s,
    int64_t now)
{
	const struct arb_key	*k;
	int			 rv;

	if (kc->pinned != NULL)
		return arb_signed_verify(kc->pinned, s);
	if ((rv = kc_find(kc, s->key_id.data, s->key_id.len, now, &k)) != 0)
		return rv;
	return arb_signed_verify(k, s);
}

int
arb_keychain_current(const struct arb_keychain *kc, const struct arb_key *k)
{
	const struct arb_key	*found;
	uint8_t			 id[ARB_KEYID_LEN], pid[ARB_KEYID_LEN];
	int			 rv;

	if ((rv = arb_key_id(k, id)) != 0)
		return rv;
	if (kc->pinned != NULL) {
		if ((rv = arb_key_id(kc->pinned, pid)) != 0)
			return rv;
		return memcmp(id, pid, sizeof(id)) == 0 ? 0 : ARB_EUNKNOWNKEY;
	}
	if (kc->cur == NULL)
		return ARB_EUNKNOWNKEY;
	/* Whatever the time: a key about to be valid is still the one. */
	return kc_find(kc, id, sizeof(id), kc->cur->not_before, &found);
}

int
arb_keychain_last_hash(const struct arb_keychain *kc,
    uint8_t out[ARB_SHA256_LEN])
{
	if (kc->version == 0)
		return ARB_ENOTFOUND;
	memcpy(out, kc->hashes[kc->version - 1], ARB_SHA256_LEN);
	return 0;
}

int
arb_keychain_sign(const struct arb_key *trust, uint64_t version,
    const uint8_t *prev, const struct arb_key *const *keys, size_t nkeys,
    const uint8_t (*revoked)[ARB_KEYID_LEN], size_t nrevoked,
    int64_t not_before, int64_t not_after, Arbor__Signed *s)
{
	Arbor__KeyStatement	 k = ARBOR__KEY_STATEMENT__INIT;
	ProtobufCBinaryData	 kb[ARB_KEYSTMT_KEYS_MAX];
	ProtobufCBinaryData	*rb = NULL;
	uint8_t			 raw[ARB_KEYSTMT_KEYS_MAX][ARB_PUBKEY_LEN];
	uint8_t			*buf = NULL;
	size_t			 i, len;
	int			 rv;

	if (nkeys == 0 || nkeys > ARB_KEYSTMT_KEYS_MAX ||
	    nrevoked > ARB_KEYSTMT_REVOKED_MAX)
		return ARB_EINVAL;
	if (nrevoked && (rb = calloc(nrevoked, sizeof(*rb))) == NULL)
		return -ENOMEM;
	for (i = 0; i < nkeys; i++) {
		if ((rv = arb_key_raw_public(keys[i], raw[i])) != 0)
			goto out;
		kb[i].data = raw[i];
		kb[i].len = ARB_PUBKEY_LEN;
	}
	for (i = 0; i < nrevoked; i++) {
		rb[i].data = (uint8_t *)revoked[i];
		rb[i].len = ARB_KEYID_LEN;
	}
	k.version = version;
	k.n_keys = nkeys;
	k.keys = kb;
	k.n_revoked = nrevoked;
	k.revoked = rb;
	k.not_before = not_before;
	k.not_after = not_after;
	k.issued_at = not_before;
	if (prev != NULL) {
		k.prev_sha256.data = (uint8_t *)prev;
		k.prev_sha256.len = ARB_SHA256_LEN;
	}
	if ((rv = arb_wire_encode_keystmt(&k, &buf, &len)) != 0)
		goto out;
	rv = arb_signed_make(trust, buf, len, s);
out:
	free(buf);
	free(rb);
	return rv;
}

int
arb_keychain_next(const struct arb_keychain *kc, const struct arb_key *trust,
    const struct arb_key *const *keys, size_t nkeys,
    const uint8_t (*revoke)[ARB_KEYID_LEN], size_t nrevoke,
    int64_t not_before, int64_t not_after, Arbor__Signed *s)
{
	uint8_t		(*all)[ARB_KEYID_LEN];
	uint8_t		 id[ARB_KEYID_LEN];
	uint8_t		 tid[ARB_KEYID_LEN], pid[ARB_KEYID_LEN];
	size_t		 i, n = 0, held;
	int		 rv;

	if (kc->trust == NULL || (rv = arb_key_id(trust, tid)) != 0 ||
	    (rv = arb_key_id(kc->trust, pid)) != 0)
		return ARB_EINVAL;
	if (memcmp(tid, pid, sizeof(tid)) != 0)
		return ARB_EINVAL;
	held = kc->cur ? kc->cur->n_revoked : 0;
	if ((all = calloc(held + nrevoke + 1, sizeof(*all))) == NULL)
		return -ENOMEM;
	for (i = 0; i < held; i++)
		memcpy(all[n++], kc->cur->revoked[i].data, ARB_KEYID_LEN);
	for (i = 0; i < nrevoke; i++)
		if (!kc_revoked(kc->cur, revoke[i]))
			memcpy(all[n++], revoke[i], ARB_KEYID_LEN);
	rv = 0;
	for (i = 0; i < nkeys && rv == 0; i++) {
		size_t j;

		if ((rv = arb_key_id(keys[i], id)) != 0)
			break;
		for (j = 0; j < n; j++)
			if (memcmp(all[j], id, ARB_KEYID_LEN) == 0)
				rv = ARB_EINVAL;
	}
	if (rv == 0)
		rv = arb_keychain_sign(trust, kc->version + 1,
		    kc->version ? kc->hashes[kc->version - 1] : NULL, keys,
		    nkeys, (const uint8_t (*)[ARB_KEYID_LEN])all, n,
		    not_before, not_after, s);
	free(all);
	return rv;
}

int
arb_keychain_open(const char *who, const char *pubkey, const char *trust_root,
    struct arb_store *st, struct arb_keychain **kcp)
{
	struct arb_key	*k;
	const char	*path = trust_root ? trust_root : pubkey;
	int		 rv;

	if (path == NULL)
		return ARB_ECONFIG;
	if ((rv = arb_key_load_public(path, &k)) != 0) {
		log_warnx("%s: %s %s: %s", who,
		    trust_root ? "trust_root" : "pubkey", path,
		    arb_strerror(rv));
		return rv;
	}
	if ((rv = (trust_root ? arb_keychain_new(NULL, k, st, kcp) :
	    arb_keychain_new(k, NULL, st, kcp))) != 0)
		log_warnx("%s: key chain: %s", who, arb_strerror(rv));
	return rv;
}

int
arb_keychain_reply(struct arb_store *st, uint64_t have, uint8_t **bufp,
    size_t *lenp)
{
	Arbor__Envelope	  env = ARBOR__ENVELOPE__INIT;
	Arbor__KeysReply  kr = ARBOR__KEYS_REPLY__INIT;
	Arbor__Signed	**got;
	size_t		  i, n;
	int		  rv;

	if ((rv = arb_keychain_stored(st, have, ARB_KEYS_REPLY_MAX, &got,
	    &n)) != 0)
		return rv;
	kr.statements = got;
	kr.n_statements = n;
	env.body_case = ARBOR__ENVELOPE__BODY_KEYS_REPLY;
	env.keys_reply = &kr;
	rv = arb_wire_encode(&env, bufp, lenp);
	for (i = 0; i < n; i++)
		arb_wire_free_signed(got[i]);
	free(got);
	return rv;
}
