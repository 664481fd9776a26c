/*
 * An endpoint's inventory: what it is (packages, kernel, hardware, disks,
 * addresses), collected from its facts and the machine, and carried up the
 * tree as changes against the inventory the root holds.
 *
 * An inventory is an Arbor__InventoryDelta with full set: every installed
 * package, sorted by (name, arch), unique.  Its digest is SHA-256 over
 * that list alone ("name\0arch\0version\n" per package); the other fields
 * are small and travel whole in every report.  A delta names the digest
 * it applies to (base), the packages added or changed (set), those removed
 * (removed) and the digest after it.  The root applies a delta only to the
 * inventory whose digest is its base, and keeps the result only when the
 * digest comes out as named: otherwise it asks for a full inventory, so a
 * lost, reordered or forged delta never leaves the root out of step
 * unnoticed.
 *
 * Bounds: at most ARB_INV_MAX_PKGS packages (more are left out and the
 * inventory says truncated), ARB_INV_MAX_ADDRS addresses and
 * ARB_INV_MAX_MOUNTS mounts; names, versions and paths bounded below.
 */
#ifndef ARBOR_INVENTORY_H
#define ARBOR_INVENTORY_H

#include <stddef.h>
#include <stdint.h>

#include "arbor/sig.h"
#include "arbor/wire.h"

#define ARB_INV_MAX_PKGS	8000
#define ARB_INV_MAX_ADDRS	64
#define ARB_INV_MAX_MOUNTS	64
#define ARB_INV_NAME_MAX	128	/* package name, mount path */
#define ARB_INV_VERSION_MAX	128
#define ARB_INV_ARCH_MAX	32
#define ARB_INV_TEXT_MAX	256	/* kernel, cpu model, fstype, address */

struct arb_facts;

/*
 * Collect the inventory: packages from f (its dpkg status), kernel, CPU,
 * memory, mounts, boot time, uptime and addresses from the machine this
 * runs on.  Returns 0 and *ip (free with arb_inv_free), or an error from
 * the facts (the dpkg status exists but cannot be read), or -ENOMEM.
 */
int	arb_inv_collect(struct arb_facts *f, Arbor__InventoryDelta **ip);

/* Free an inventory from arb_inv_collect.  NULL is a no-op. */
void	arb_inv_free(Arbor__InventoryDelta *inv);

/* The digest of a sorted package list (see above). */
int	arb_inv_digest(Arbor__Package *const *pkgs, size_t n,
	    uint8_t out[ARB_SHA256_LEN]);

/* A delta made here: its message, and what it allocated. */
struct arb_inv_delta {
	Arbor__InventoryDelta	  m;
	Arbor__Package		**own_set;
	Arbor__Package		**own_rm;
	Arbor__Package		 *own_rmv;
};

/*
 * The delta from base (a full inventory, or NULL: then the delta is the
 * whole of cur) to cur (full), into *d.  d->m borrows the strings of
 * base and cur: it is valid while they are, and arb_inv_delta_clear
 * frees only what it allocated.  Returns 0 or -ENOMEM.
 */
int	arb_inv_diff(const Arbor__InventoryDelta *base,
	    const Arbor__InventoryDelta *cur, struct arb_inv_delta *d);

/*
 * Apply delta d to held (the full inventory the root keeps, or NULL) into
 * *out, whose message is a full inventory borrowing the strings of held
 * and d (clear it with arb_inv_delta_clear).  Returns 0; ARB_ESTALE when d is not full and its base is
 * not held's digest (or nothing is held); ARB_EBADHASH when the result's
 * digest is not the one d names; ARB_EPROTO when a package it removes is
 * not held; or -ENOMEM.  *out is set only on 0.
 */
int	arb_inv_apply(const Arbor__InventoryDelta *held,
	    const Arbor__InventoryDelta *d, struct arb_inv_delta *out);

/* Free what arb_inv_diff or arb_inv_apply allocated in d. */
void	arb_inv_delta_clear(struct arb_inv_delta *d);

/*
 * Check an inventory or delta from the wire: digests of the right length,
 * package lists sorted and unique, every count and length within the
 * bounds above.  0 or ARB_EPROTO (or ARB_ETOOBIG for a count).
 */
int	arb_inv_check(const Arbor__InventoryDelta *d);

/*
 * The lowest installed version of package name ("name" or "name:arch") in
 * a full inventory, as arb_facts_pkg says it: *vp borrows inv's string,
 * or NULL when not installed.
 */
void	arb_inv_pkg(const Arbor__InventoryDelta *inv, const char *name,
	    const char **vp);

#endif
