/*
 * A node's durable state over LMDB: one environment in a directory, with
 * one named database per enum arb_db.  This is the only user of lmdb.h.
 *
 * Commits are synchronous (no MDB_NOSYNC): what a node acknowledges must
 * survive kill -9 at any instant.  MDB_NOTLS lets a read transaction live
 * on whichever thread the loop runs it on, and lets one thread hold several.
 * Each LMDB error is translated here, once, into an ARB_E* code, with
 * LMDB's own text in the log.  Values handed out are copies, since LMDB's
 * pointers die with their transaction.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#include "arbor/error.h"
#include "arbor/log.h"
#include "arbor/store.h"

struct arb_store {
	MDB_env		*env;
	MDB_dbi		 dbi[ARB_DB_COUNT];
	MDB_txn		*group;		/* open group commit, or NULL */
	size_t		 maxkey;
};

struct arb_txn {
	struct arb_store	*store;
	MDB_txn			*txn;
	int			 borrowed;	/* a read on the group's txn */
};

static const char *const store_dbnames[ARB_DB_COUNT] = {
	[ARB_DB_META] = "meta",
	[ARB_DB_HEADS] = "heads",
	[ARB_DB_POLICIES] = "policies",
	[ARB_DB_BLOBS] = "blobs",
	[ARB_DB_STATUS] = "status",
	[ARB_DB_SPOOL] = "spool",
	[ARB_DB_OUTBOX] = "outbox",
	[ARB_DB_STATE] = "state",
	[ARB_DB_ENDPOINTS] = "endpoints",
	[ARB_DB_RELAYS] = "relays",
	[ARB_DB_RECEIPTS] = "receipts",
	[ARB_DB_INVENTORY] = "inventory",
	[ARB_DB_PKGINDEX] = "pkgindex",
	[ARB_DB_TOKENS] = "tokens",
	[ARB_DB_BASELINES] = "baselines",
	[ARB_DB_EXEMPTIONS] = "exemptions",
	[ARB_DB_APITOKENS] = "apitokens",
	[ARB_DB_AUDIT] = "audit",
};

/*
 * Translate an LMDB return code.  MDB_NOTFOUND is an answer, not a fault,
 * so it is not logged.
 */
static int
store_err(const char *what, int rc)
{
	if (rc == MDB_NOTFOUND)
		return ARB_ENOTFOUND;
	if (rc == MDB_MAP_FULL)
		log_warnx("store: %s: map full; raise map_size", what);
	else
		log_warnx("store: %s: %s", what, mdb_strerror(rc));
	return ARB_ESTORE;
}

/* Checks shared by every record operation, before LMDB sees them. */
static int
store_check(const struct arb_txn *t, enum arb_db db, const void *key,
    size_t klen)
{
	if (t == NULL || (unsigned)db >= ARB_DB_COUNT || key == NULL)
		return ARB_EINVAL;
	/* LMDB refuses empty keys and keys above its compiled-in limit. */
	if (klen == 0 || klen > t->store->maxkey)
		return ARB_EINVAL;
	return 0;
}

int
arb_store_open(const char *path, uint64_t mapsize, struct arb_store **sp)
{
	return arb_store_open_flags(path, mapsize, 0, sp);
}

int
arb_store_open_flags(const char *path, uint64_t mapsize, int flags,
    struct arb_store **sp)
{
	struct arb_store	*s;
	MDB_txn			*txn = NULL;
	unsigned int		 envflags;
	int			 dead, i, rc, rv;

	if (path == NULL || sp == NULL || mapsize == 0 || mapsize > SIZE_MAX)
		return ARB_EINVAL;
	if (mkdir(path, 0700) == -1 && errno != EEXIST) {
		rv = -errno;
		log_warn("store: mkdir %s", path);
		return rv;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -ENOMEM;
	if ((rc = mdb_env_create(&s->env)) != 0) {
		rv = store_err("env create", rc);
		free(s);
		return rv;
	}
	if ((rc = mdb_env_set_maxdbs(s->env, ARB_DB_COUNT)) != 0 ||
	    (rc = mdb_env_set_mapsize(s->env, (size_t)mapsize)) != 0) {
		rv = store_err("env set", rc);
		goto fail;
	}
	envflags = MDB_NOTLS;
	if (flags & ARB_STORE_LIGHT)
		envflags |= MDB_NOSYNC | MDB_NOLOCK | MDB_NORDAHEAD;
	if ((rc = mdb_env_open(s->env, path, envflags, 0600)) != 0) {
		log_warnx("store: open %s: %s", path, mdb_strerror(rc));
		rv = ARB_ESTORE;
		goto fail;
	}
	/* Reader slots left behind by a process that was killed. */
	if (!(flags & ARB_STORE_LIGHT) &&
	    (rc = mdb_reader_check(s->env, &dead)) != 0) {
		rv = store_err("reader check", rc);
		goto fail;
	}
	s->maxkey = (size_t)mdb_env_get_maxkeysize(s->env);
	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0) {
		rv = store_err("txn begin", rc);
		goto fail;
	}
	for (i = 0; i < ARB_DB_COUNT; i++) {
		if ((rc = mdb_dbi_open(txn, store_dbnames[i], MDB_CREATE,
		    &s->dbi[i])) != 0) {
			rv = store_err(store_dbnames[i], rc);
			goto fail;
		}
	}
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0) {
		rv = store_err("open commit", rc);
		goto fail;
	}
	*sp = s;
	return 0;

fail:
	if (txn != NULL)
		mdb_txn_abort(txn);
	mdb_env_close(s->env);
	free(s);
	return rv;
}

void
arb_store_close(struct arb_store *s)
{
	if (s == NULL)
		return;
	mdb_env_close(s->env);
	free(s);
}

int
arb_txn_begin(struct arb_store *s, int write, struct arb_txn **tp)
{
	struct arb_txn	*t;
	int		 rc;

	if (s == NULL || tp == NULL)
		return ARB_EINVAL;
	if ((t = malloc(sizeof(*t))) == NULL)
		return -ENOMEM;
	t->store = s;
	t->borrowed = 0;
	/*
	 * Inside a group: a write is a child of the group's transaction (its
	 * commit merges into the group), and a read looks through the group's
	 * transaction, so that it sees what the group has written.
	 */
	if (s->group != NULL && !write) {
		t->txn = s->group;
		t->borrowed = 1;
		*tp = t;
		return 0;
	}
	if ((rc = mdb_txn_begin(s->env, s->group, write ? 0 : MDB_RDONLY,
	    &t->txn)) != 0) {
		free(t);
		return store_err("txn begin", rc);
	}
	*tp = t;
	return 0;
}

int
arb_txn_commit(struct arb_txn *t)
{
	int	rc;

	if (t == NULL)
		return ARB_EINVAL;
	if (t->borrowed) {
		free(t);
		return 0;
	}
	/* mdb_txn_commit frees the transaction whatever it returns. */
	rc = mdb_txn_commit(t->txn);
	free(t);
	return rc != 0 ? store_err("commit", rc) : 0;
}

void
arb_txn_abort(struct arb_txn *t)
{
	if (t == NULL)
		return;
	if (!t->borrowed)
		mdb_txn_abort(t->txn);
	free(t);
}

int
arb_store_group_begin(struct arb_store *s)
{
	int rc;

	if (s->group != NULL)
		return 0;
	if ((rc = mdb_txn_begin(s->env, NULL, 0, &s->group)) != 0) {
		s->group = NULL;
		return store_err("group begin", rc);
	}
	return 0;
}

int
arb_store_group_active(const struct arb_store *s)
{
	return s->group != NULL;
}

int
arb_store_group_commit(struct arb_store *s)
{
	int rc;

	if (s->group == NULL)
		return 0;
	rc = mdb_txn_commit(s->group);
	s->group = NULL;
	return rc != 0 ? store_err("group commit", rc) : 0;
}

int
arb_txn_get(struct arb_txn *t, enum arb_db db, const void *key, size_t klen,
    void **valp, size_t *lenp)
{
	MDB_val	 k, v;
	void	*copy;
	int	 rc, rv;

	if ((rv = store_check(t, db, key, klen)) != 0)
		return rv;
	if (valp == NULL || lenp == NULL)
		return ARB_EINVAL;
	k.mv_size = klen;
	k.mv_data = (void *)key;
	if ((rc = mdb_get(t->txn, t->store->dbi[db], &k, &v)) != 0)
		return store_err("get", rc);
	/* A zero-length value is valid; malloc(0) may return NULL. */
	if ((copy = malloc(v.mv_size > 0 ? v.mv_size : 1)) == NULL)
		return -ENOMEM;
	if (v.mv_size > 0)
		memcpy(copy, v.mv_data, v.mv_size);
	*valp = copy;
	*lenp = v.mv_size;
	return 0;
}

int
arb_txn_put(struct arb_txn *t, enum arb_db db, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	MDB_val	k, v;
	int	rc, rv;

	if ((rv = store_check(t, db, key, klen)) != 0)
		return rv;
	if (val == NULL && vlen > 0)
		return ARB_EINVAL;
	k.mv_size = klen;
	k.mv_data = (void *)key;
	v.mv_size = vlen;
	v.mv_data = (void *)val;
	if ((rc = mdb_put(t->txn, t->store->dbi[db], &k, &v, 0)) != 0)
		return store_err("put", rc);
	return 0;
}

int
arb_txn_del(struct arb_txn *t, enum arb_db db, const void *key, size_t klen)
{
	MDB_val	k;
	int	rc, rv;

	if ((rv = store_check(t, db, key, klen)) != 0)
		return rv;
	k.mv_size = klen;
	k.mv_data = (void *)key;
	if ((rc = mdb_del(t->txn, t->store->dbi[db], &k, NULL)) != 0)
		return store_err("del", rc);
	return 0;
}

int
arb_txn_foreach(struct arb_txn *t, enum arb_db db, arb_store_iter_fn fn,
    void *arg)
{
	MDB_cursor	*c;
	MDB_val		 k, v;
	MDB_cursor_op	 op;
	int		 rc, rv = 0;

	if (t == NULL || (unsigned)db >= ARB_DB_COUNT || fn == NULL)
		return ARB_EINVAL;
	if ((rc = mdb_cursor_open(t->txn, t->store->dbi[db], &c)) != 0)
		return store_err("cursor open", rc);
	for (op = MDB_FIRST;; op = MDB_NEXT) {
		if ((rc = mdb_cursor_get(c, &k, &v, op)) != 0) {
			if (rc != MDB_NOTFOUND)
				rv = store_err("cursor get", rc);
			break;
		}
		if ((rv = fn(k.mv_data, k.mv_size, v.mv_data, v.mv_size,
		    arg)) != 0) {
			/* 1 means "stop here", not an error. */
			if (rv > 0)
				rv = 0;
			break;
		}
	}
	mdb_cursor_close(c);
	return rv;
}

int
arb_txn_foreach_prefix(struct arb_txn *t, enum arb_db db, const void *prefix,
    size_t plen, arb_store_iter_fn fn, void *arg)
{
	MDB_cursor	*c;
	MDB_val		 k, v;
	MDB_cursor_op	 op;
	int		 rc, rv = 0;

	if (t == NULL || (unsigned)db >= ARB_DB_COUNT || fn == NULL ||
	    plen == 0)
		return ARB_EINVAL;
	if ((rc = mdb_cursor_open(t->txn, t->store->dbi[db], &c)) != 0)
		return store_err("cursor open", rc);
	k.mv_data = (void *)prefix;
	k.mv_size = plen;
	for (op = MDB_SET_RANGE;; op = MDB_NEXT) {
		if ((rc = mdb_cursor_get(c, &k, &v, op)) != 0) {
			if (rc != MDB_NOTFOUND)
				rv = store_err("cursor get", rc);
			break;
		}
		if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)
			break;
		if ((rv = fn(k.mv_data, k.mv_size, v.mv_data, v.mv_size,
		    arg)) != 0) {
			if (rv > 0)
				rv = 0;
			break;
		}
	}
	mdb_cursor_close(c);
	return rv;
}

int
arb_txn_count(struct arb_txn *t, enum arb_db db, uint64_t *np)
{
	if (np == NULL)
		return ARB_EINVAL;
	return arb_txn_size(t, db, np, NULL);
}

int
arb_txn_size(struct arb_txn *t, enum arb_db db, uint64_t *np,
    uint64_t *bytesp)
{
	MDB_stat	st;
	int		rc;

	if (t == NULL || (unsigned)db >= ARB_DB_COUNT)
		return ARB_EINVAL;
	if ((rc = mdb_stat(t->txn, t->store->dbi[db], &st)) != 0)
		return store_err("stat", rc);
	if (np != NULL)
		*np = st.ms_entries;
	if (bytesp != NULL)
		*bytesp = (uint64_t)st.ms_psize * (st.ms_branch_pages +
		    st.ms_leaf_pages + st.ms_overflow_pages);
	return 0;
}

int
arb_store_get(struct arb_store *s, enum arb_db db, const void *key,
    size_t klen, void **valp, size_t *lenp)
{
	struct arb_txn	*t;
	int		 rv;

	if ((rv = arb_txn_begin(s, 0, &t)) != 0)
		return rv;
	rv = arb_txn_get(t, db, key, klen, valp, lenp);
	arb_txn_abort(t);
	return rv;
}

int
arb_store_put(struct arb_store *s, enum arb_db db, const void *key,
    size_t klen, const void *val, size_t vlen)
{
	struct arb_txn	*t;
	int		 rv;

	if ((rv = arb_txn_begin(s, 1, &t)) != 0)
		return rv;
	if ((rv = arb_txn_put(t, db, key, klen, val, vlen)) != 0) {
		arb_txn_abort(t);
		return rv;
	}
	return arb_txn_commit(t);
}

int
arb_store_del(struct arb_store *s, enum arb_db db, const void *key,
    size_t klen)
{
	struct arb_txn	*t;
	int		 rv;

	if ((rv = arb_txn_begin(s, 1, &t)) != 0)
		return rv;
	if ((rv = arb_txn_del(t, db, key, klen)) != 0) {
		arb_txn_abort(t);
		return rv;
	}
	return arb_txn_commit(t);
}

void
arb_be64_put(uint8_t out[8], uint64_t v)
{
	int	i;

	for (i = 7; i >= 0; i--) {
		out[i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
}

uint64_t
arb_be64_get(const uint8_t in[8])
{
	uint64_t	v = 0;
	int		i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | in[i];
	return v;
}
