/*
 * Signing and verifying the catalog.  A signed object is verified as the
 * exact bytes received, and only then decoded.
 */
#include <stdlib.h>
#include <errno.h>
#include <string.h>

#include "arbor/catalog.h"
#include "arbor/error.h"
#include "arbor/keychain.h"

static uint8_t *
dup_bytes(const void *p, size_t n)
{
	uint8_t *q;

	if ((q = malloc(n ? n : 1)) != NULL && n)
		memcpy(q, p, n);
	return q;
}

int
arb_signed_make(const struct arb_key *k, const uint8_t *body, size_t len,
    Arbor__Signed *s)
{
	uint8_t	 sig[ARB_SIG_LEN], id[ARB_KEYID_LEN];
	int	 rv;

	if ((rv = arb_sign(k, body, len, sig)) != 0 ||
	    (rv = arb_key_id(k, id)) != 0)
		return rv;
	arbor__signed__init(s);
	s->body.data = dup_bytes(body, len);
	s->sig.data = dup_bytes(sig, sizeof(sig));
	s->key_id.data = dup_bytes(id, sizeof(id));
	if (!s->body.data || !s->sig.data || !s->key_id.data) {
		arb_signed_clear(s);
		return -ENOMEM;
	}
	s->body.len = len;
	s->sig.len = sizeof(sig);
	s->key_id.len = sizeof(id);
	return 0;
}

void
arb_signed_clear(Arbor__Signed *s)
{
	free(s->body.data);
	free(s->sig.data);
	free(s->key_id.data);
	arbor__signed__init(s);
}

int
arb_signed_verify(const struct arb_key *pin, const Arbor__Signed *s)
{
	uint8_t	id[ARB_KEYID_LEN];
	int	rv;

	if ((rv = arb_key_id(pin, id)) != 0)
		return rv;
	if (s->key_id.len != ARB_KEYID_LEN ||
	    memcmp(s->key_id.data, id, ARB_KEYID_LEN) != 0)
		return ARB_EUNKNOWNKEY;
	return arb_verify(pin, s->body.data, s->body.len, s->sig.data,
	    s->sig.len);
}

int
arb_head_verify(const struct arb_keychain *kc, const Arbor__Signed *s,
    uint64_t held_seq, int64_t now, Arbor__Head **headp)
{
	Arbor__Head	*h;
	size_t		 i, j;
	int		 rv;

	if ((rv = arb_keychain_verify(kc, s, now)) != 0)
		return rv;
	if ((rv = arb_wire_decode_head(s->body.data, s->body.len, &h)) != 0)
		return rv;
	if (h->seq == 0 || h->expires_at <= h->issued_at) {
		rv = ARB_EPROTO;
		goto fail;
	}
	for (i = 0; i < h->n_policies; i++)
		for (j = i + 1; j < h->n_policies; j++)
			if (strcmp(h->policies[i]->id,
			    h->policies[j]->id) == 0) {
				rv = ARB_EPROTO;
				goto fail;
			}
	/*
	 * Signed under a statement this node has not taken: its key may be
	 * revoked there.  The caller fetches the chain and asks again.
	 */
	if (arb_keychain_rotates(kc) &&
	    h->key_version > arb_keychain_version(kc)) {
		rv = ARB_EUNKNOWNKEY;
		goto fail;
	}
	if (h->seq < held_seq) {
		rv = ARB_EROLLBACK;
		goto fail;
	}
	if (now >= h->expires_at) {
		rv = ARB_EEXPIRED;
		goto fail;
	}
	*headp = h;
	return 0;
fail:
	arb_wire_free_head(h);
	return rv;
}

int
arb_catalog_load_head(struct arb_store *st, uint8_t **bytesp, size_t *lenp,
    Arbor__Signed **sgp, Arbor__Head **headp)
{
	Arbor__Signed	*sg = NULL;
	Arbor__Head	*h = NULL;
	void		*v;
	size_t		 n;
	int		 rv;

	if ((rv = arb_store_get(st, ARB_DB_META, ARB_CATALOG_HEAD_KEY,
	    ARB_CATALOG_HEAD_KEYLEN, &v, &n)) != 0)
		return rv;
	if ((rv = arb_wire_decode_signed(v, n, &sg)) != 0)
		goto fail;
	if (headp != NULL && (rv = arb_wire_decode_head(sg->body.data,
	    sg->body.len, &h)) != 0)
		goto fail;
	if (headp != NULL)
		*headp = h;
	if (sgp != NULL)
		*sgp = sg;
	else
		arb_wire_free_signed(sg);
	if (bytesp != NULL) {
		*bytesp = v;
		*lenp = n;
	} else
		free(v);
	return 0;
fail:
	if (sg != NULL)
		arb_wire_free_signed(sg);
	free(v);
	return rv;
}

const Arbor__PolicyRef *
arb_head_find(const Arbor__Head *head, const char *id)
{
	size_t i;

	for (i = 0; i < head->n_policies; i++)
		if (strcmp(head->policies[i]->id, id) == 0)
			return head->policies[i];
	return NULL;
}

static int
lock_holds(const Arbor__Lock *l, int64_t now_ms)
{
	return l->until_ms == 0 || l->until_ms > now_ms;
}

const Arbor__Lock *
arb_head_locked(const Arbor__Head *head, const char *id,
    char *const *groups, size_t ngroups, int64_t now_ms)
{
	size_t	i, g;

	for (i = 0; i < head->n_locks; i++)
		if (head->locks[i]->endpoint_id[0] != '\0' &&
		    strcmp(head->locks[i]->endpoint_id, id) == 0 &&
		    lock_holds(head->locks[i], now_ms))
			return head->locks[i];
	for (g = 0; g < ngroups; g++)
		for (i = 0; i < head->n_locks; i++)
			if (head->locks[i]->group[0] != '\0' &&
			    strcmp(head->locks[i]->group, groups[g]) == 0 &&
			    lock_holds(head->locks[i], now_ms))
				return head->locks[i];
	return NULL;
}

int
arb_policy_verify(const struct arb_key *pin, const Arbor__Head *head,
    const Arbor__Signed *s, Arbor__Policy **polp,
    const Arbor__PolicyRef **refp)
{
	const Arbor__PolicyRef	*ref = NULL;
	Arbor__Policy		*p;
	uint8_t			 sha[ARB_SHA256_LEN];
	size_t			 i;
	int			 rv;

	if ((rv = arb_sha256(s->body.data, s->body.len, sha)) != 0)
		return rv;
	for (i = 0; i < head->n_policies; i++)
		if (head->policies[i]->sha256.len == ARB_SHA256_LEN &&
		    memcmp(head->policies[i]->sha256.data, sha,
		    ARB_SHA256_LEN) == 0) {
			ref = head->policies[i];
			break;
		}
	if (ref == NULL)
		return ARB_EMIXMATCH;
	/* Authenticated by the head's signature over its hash. */
	(void)pin;
	if ((rv = arb_wire_decode_policy(s->body.data, s->body.len, &p)) != 0)
		return rv;
	if (strcmp(p->id, ref->id) != 0 || p->version != ref->version) {
		arb_wire_free_policy(p);
		return ARB_EMIXMATCH;
	}
	*polp = p;
	*refp = ref;
	return 0;
}

/* -------------------------------------------------------------- stored */

int
arb_catalog_put_head(struct arb_txn *t, const uint8_t *bytes, size_t len)
{
	return arb_txn_put(t, ARB_DB_META, ARB_CATALOG_HEAD_KEY,
	    ARB_CATALOG_HEAD_KEYLEN, bytes, len);
}

int
arb_catalog_policy(struct arb_store *st, const uint8_t sha[ARB_SHA256_LEN],
    Arbor__Policy **pp)
{
	Arbor__Signed	*sg;
	void		*v;
	size_t		 n;
	int		 rv;

	if ((rv = arb_store_get(st, ARB_DB_POLICIES, sha, ARB_SHA256_LEN, &v,
	    &n)) != 0)
		return rv;
	rv = arb_wire_decode_signed(v, n, &sg);
	free(v);
	if (rv != 0)
		return rv;
	rv = arb_wire_decode_policy(sg->body.data, sg->body.len, pp);
	arb_wire_free_signed(sg);
	return rv;
}
