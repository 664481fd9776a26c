/*
 * A node's durable state: one LMDB environment with named databases.  The
 * only user of lmdb.h.  Values returned are copies owned by the caller.
 */
#ifndef ARBOR_STORE_H
#define ARBOR_STORE_H

#include <stddef.h>
#include <stdint.h>

enum arb_db {
	ARB_DB_META,		/* small named values: current head, seq... */
	ARB_DB_HEADS,		/* seq (8 bytes big-endian) -> Signed head */
	ARB_DB_POLICIES,	/* sha256 of body -> Signed policy */
	ARB_DB_BLOBS,		/* sha256 -> blob index record */
	ARB_DB_STATUS,		/* per-endpoint state (root) */
	ARB_DB_SPOOL,		/* reports waiting to go upward (relay) */
	ARB_DB_OUTBOX,		/* reports waiting to go upward (agent) */
	ARB_DB_STATE,		/* per-policy state (agent) */
	ARB_DB_ENDPOINTS,	/* enrolled endpoints (root) */
	ARB_DB_RELAYS,		/* relays below (root) */
	ARB_DB_RECEIPTS,	/* endpoint id -> root-signed receipt (relay) */
	ARB_DB_INVENTORY,	/* endpoint id -> full inventory (root) */
	ARB_DB_PKGINDEX,	/* name NUL id NUL arch -> version (root) */
	ARB_DB_TOKENS,		/* token id -> TokenRecord (root) */
	ARB_DB_BASELINES,	/* name -> Baseline (root) */
	ARB_DB_EXEMPTIONS,	/* "id:ID" or "group:G" -> Exemption (root) */
	ARB_DB_APITOKENS,	/* name -> ApiToken (root) */
	ARB_DB_AUDIT,		/* ms (8 bytes big-endian), n (4) -> AuditRecord */
	ARB_DB_COUNT
};

struct arb_store;
struct arb_txn;

/*
 * Open or create the environment in directory path (created mode 0700)
 * with the given map size in bytes.
 */
int	arb_store_open(const char *path, uint64_t mapsize,
	    struct arb_store **sp);
void	arb_store_close(struct arb_store *s);

/*
 * ARB_STORE_LIGHT: for simulated endpoints, thousands in one process: no
 * fsync at commit (a process crash still loses nothing committed; a power
 * loss may) and no lock file (one process, one thread uses it), so that
 * each environment costs one file descriptor.
 */
#define ARB_STORE_LIGHT	0x1
int	arb_store_open_flags(const char *path, uint64_t mapsize, int flags,
	    struct arb_store **sp);

/*
 * Group commit: one write transaction that many requests of one loop turn
 * share, committed (one fsync) before any of them is acknowledged.  While
 * a group is open, arb_txn_begin gives a write a child transaction of the
 * group (its commit merges into the group) and a read a view through the
 * group's transaction.  arb_store_group_commit makes it all durable.
 */
int	arb_store_group_begin(struct arb_store *s);
int	arb_store_group_active(const struct arb_store *s);
int	arb_store_group_commit(struct arb_store *s);

/* Transactions.  Every txn must end in commit or abort. */
int	arb_txn_begin(struct arb_store *s, int write, struct arb_txn **tp);
int	arb_txn_commit(struct arb_txn *t);	/* frees t, also on error */
void	arb_txn_abort(struct arb_txn *t);	/* frees t */

/*
 * Get: *valp is a malloc'd copy (caller frees), *lenp its length.
 * ARB_ENOTFOUND if absent.
 */
int	arb_txn_get(struct arb_txn *t, enum arb_db db, const void *key,
	    size_t klen, void **valp, size_t *lenp);
int	arb_txn_put(struct arb_txn *t, enum arb_db db, const void *key,
	    size_t klen, const void *val, size_t vlen);
/* ARB_ENOTFOUND if absent. */
int	arb_txn_del(struct arb_txn *t, enum arb_db db, const void *key,
	    size_t klen);

/*
 * Call fn for each record in key order; key/val point into the map and are
 * valid only during the call.  fn returns 0 to go on, 1 to stop, <0 to stop
 * with that error.  Returns 0 or the error.
 */
typedef int (*arb_store_iter_fn)(const void *key, size_t klen,
    const void *val, size_t vlen, void *arg);
int	arb_txn_foreach(struct arb_txn *t, enum arb_db db,
	    arb_store_iter_fn fn, void *arg);
/* Like arb_txn_foreach, for the records whose key begins with prefix. */
int	arb_txn_foreach_prefix(struct arb_txn *t, enum arb_db db,
	    const void *prefix, size_t plen, arb_store_iter_fn fn, void *arg);
/* Number of records. */
int	arb_txn_count(struct arb_txn *t, enum arb_db db, uint64_t *np);
/*
 * Number of records (*np) and bytes of the pages that hold them and their
 * tree (*bytesp); either may be NULL.
 */
int	arb_txn_size(struct arb_txn *t, enum arb_db db, uint64_t *np,
	    uint64_t *bytesp);

/* One-shot conveniences (their own transaction). */
int	arb_store_get(struct arb_store *s, enum arb_db db, const void *key,
	    size_t klen, void **valp, size_t *lenp);
int	arb_store_put(struct arb_store *s, enum arb_db db, const void *key,
	    size_t klen, const void *val, size_t vlen);
int	arb_store_del(struct arb_store *s, enum arb_db db, const void *key,
	    size_t klen);

/* Big-endian u64 keys, so that LMDB's byte order is numeric order. */
void	arb_be64_put(uint8_t out[8], uint64_t v);
uint64_t arb_be64_get(const uint8_t in[8]);

#endif
