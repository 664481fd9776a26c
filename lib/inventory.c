/*
 * Inventories and their deltas (arbor/inventory.h): collecting one,
 * the digest of its package list, the changes from one to the next, and
 * applying those changes to the one the root holds.
 *
 * Package lists are sorted by (name, arch) and unique, so that a delta and
 * its application are each one merge of two sorted lists, linear in the
 * number of packages, and the digest is the same on both sides.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "arbor/error.h"
#include "arbor/facts.h"
#include "arbor/inventory.h"
#include "arbor/version.h"

static int
inv_cmp(const Arbor__Package *a, const Arbor__Package *b)
{
	int	c;

	if ((c = strcmp(a->name, b->name)) != 0)
		return c;
	return strcmp(a->arch, b->arch);
}

int
arb_inv_digest(Arbor__Package *const *pkgs, size_t n,
    uint8_t out[ARB_SHA256_LEN])
{
	struct arb_sha256	*h;
	size_t			 i;
	int			 rv;

	if ((rv = arb_sha256_new(&h)) != 0)
		return rv;
	for (i = 0; i < n && rv == 0; i++) {
		if ((rv = arb_sha256_update(h, pkgs[i]->name,
		    strlen(pkgs[i]->name) + 1)) == 0 &&
		    (rv = arb_sha256_update(h, pkgs[i]->arch,
		    strlen(pkgs[i]->arch) + 1)) == 0 &&
		    (rv = arb_sha256_update(h, pkgs[i]->version,
		    strlen(pkgs[i]->version))) == 0)
			rv = arb_sha256_update(h, "\n", 1);
	}
	if (rv == 0)
		rv = arb_sha256_final(h, out);
	arb_sha256_free(h);
	return rv;
}

/* ---------------------------------------------------------------- collect */

/* The collected inventory and what it owns, behind its message. */
struct inv_owned {
	Arbor__InventoryDelta	 m;	/* first: the pointer handed out */
	Arbor__Package		*pk;
	Arbor__Package		**pkp;
	Arbor__Mount		*mt;
	Arbor__Mount		**mtp;
	uint8_t			 digest[ARB_SHA256_LEN];
	char			 kernel[ARB_INV_TEXT_MAX];
	char			 cpu[ARB_INV_TEXT_MAX];
};

/* "model name" of the first CPU in /proc/cpuinfo, or "". */
static void
inv_cpu_model(char *buf, size_t len)
{
	char	 line[512], *v;
	FILE	*fp;

	buf[0] = '\0';
	if ((fp = fopen("/proc/cpuinfo", "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strncmp(line, "model name", 10) != 0 ||
		    (v = strchr(line, ':')) == NULL)
			continue;
		v++;
		while (*v == ' ' || *v == '\t')
			v++;
		v[strcspn(v, "\n")] = '\0';
		snprintf(buf, len, "%s", v);
		break;
	}
	fclose(fp);
}

/* Boot time from /proc/stat's btime, or 0. */
static int64_t
inv_boot_time(void)
{
	char		 line[256];
	long long	 bt = 0;
	FILE		*fp;

	if ((fp = fopen("/proc/stat", "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "btime %lld", &bt) == 1)
			break;
	fclose(fp);
	return (int64_t)bt;
}

/* A file system worth reporting: one that holds data, not a pseudo one. */
static int
inv_real_fs(const char *src, const char *type)
{
	static const char *const types[] = { "ext2", "ext3", "ext4", "xfs",
	    "btrfs", "zfs", "vfat", "f2fs", "jfs", "reiserfs", "nfs", "nfs4",
	    "cifs", NULL };
	size_t	i;

	for (i = 0; types[i] != NULL; i++)
		if (strcmp(type, types[i]) == 0)
			return 1;
	return strcmp(type, "overlay") == 0 && strcmp(src, "overlay") == 0;
}

static int
inv_mounts(struct inv_owned *o)
{
	char		 line[1024], src[256], path[512], type[64];
	struct statvfs	 sv;
	FILE		*fp;
	size_t		 n = 0;

	if ((o->mt = calloc(ARB_INV_MAX_MOUNTS, sizeof(*o->mt))) == NULL ||
	    (o->mtp = calloc(ARB_INV_MAX_MOUNTS, sizeof(*o->mtp))) == NULL)
		return -ENOMEM;
	if ((fp = fopen("/proc/self/mounts", "re")) == NULL)
		return 0;
	while (n < ARB_INV_MAX_MOUNTS && fgets(line, sizeof(line), fp)) {
		if (sscanf(line, "%255s %511s %63s", src, path, type) != 3 ||
		    !inv_real_fs(src, type) || strlen(path) >=
		    ARB_INV_NAME_MAX || statvfs(path, &sv) != 0)
			continue;
		arbor__mount__init(&o->mt[n]);
		if ((o->mt[n].path = strdup(path)) == NULL ||
		    (o->mt[n].fstype = strdup(type)) == NULL) {
			free(o->mt[n].path);
			fclose(fp);
			return -ENOMEM;
		}
		o->mt[n].size = (uint64_t)sv.f_blocks * sv.f_frsize;
		o->mt[n].avail = (uint64_t)sv.f_bavail * sv.f_frsize;
		o->mtp[n] = &o->mt[n];
		n++;
	}
	fclose(fp);
	o->m.mounts = o->mtp;
	o->m.n_mounts = n;
	return 0;
}

static int
inv_addresses(struct inv_owned *o)
{
	struct ifaddrs	*ifa, *i;
	char		 buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	const void	*src;
	size_t		 n = 0;

	if ((o->m.addresses = calloc(ARB_INV_MAX_ADDRS, sizeof(char *))) ==
	    NULL)
		return -ENOMEM;
	if (getifaddrs(&ifa) != 0)
		return 0;
	for (i = ifa; i != NULL && n < ARB_INV_MAX_ADDRS; i = i->ifa_next) {
		if (i->ifa_addr == NULL || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		if (i->ifa_addr->sa_family == AF_INET)
			src = &((struct sockaddr_in *)i->ifa_addr)->sin_addr;
		else if (i->ifa_addr->sa_family == AF_INET6)
			src = &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
		else
			continue;
		if (inet_ntop(i->ifa_addr->sa_family, src, buf,
		    sizeof(buf)) == NULL)
			continue;
		if ((o->m.addresses[n] = strdup(buf)) == NULL) {
			freeifaddrs(ifa);
			o->m.n_addresses = n;
			return -ENOMEM;
		}
		n++;
	}
	freeifaddrs(ifa);
	o->m.n_addresses = n;
	return 0;
}

int
arb_inv_collect(struct arb_facts *f, Arbor__InventoryDelta **ip)
{
	const struct arb_facts_pkgent	*pk;
	struct inv_owned		*o;
	struct utsname			 u;
	struct sysinfo			 si;
	size_t				 npk, i, n = 0;
	long				 pages, psz;
	int				 rv;

	if ((rv = arb_facts_pkg_list(f, &pk, &npk)) != 0)
		return rv;
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return -ENOMEM;
	arbor__inventory_delta__init(&o->m);
	o->m.full = 1;
	o->m.packages = (uint32_t)npk;
	if (npk > 0 && ((o->pk = calloc(npk, sizeof(*o->pk))) == NULL ||
	    (o->pkp = calloc(npk, sizeof(*o->pkp))) == NULL)) {
		rv = -ENOMEM;
		goto fail;
	}
	/* Borrowed from f while collecting; copied below. */
	for (i = 0; i < npk; i++) {
		if (strlen(pk[i].name) > ARB_INV_NAME_MAX ||
		    strlen(pk[i].arch) > ARB_INV_ARCH_MAX ||
		    strlen(pk[i].version) > ARB_INV_VERSION_MAX ||
		    pk[i].name[0] == '\0') {
			o->m.truncated = 1;	/* cannot be reported */
			continue;
		}
		if (n > 0 && strcmp(pk[i].name, o->pk[n - 1].name) == 0 &&
		    strcmp(pk[i].arch, o->pk[n - 1].arch) == 0)
			continue;	/* twice in the status: the first */
		if (n == ARB_INV_MAX_PKGS) {
			o->m.truncated = 1;
			break;
		}
		arbor__package__init(&o->pk[n]);
		if ((o->pk[n].name = strdup(pk[i].name)) == NULL ||
		    (o->pk[n].arch = strdup(pk[i].arch)) == NULL ||
		    (o->pk[n].version = strdup(pk[i].version)) == NULL) {
			o->pkp[n] = &o->pk[n];
			o->m.n_set = n + 1;
			rv = -ENOMEM;
			goto fail;
		}
		o->pkp[n] = &o->pk[n];
		n++;
	}
	o->m.set = o->pkp;
	o->m.n_set = n;
	if ((rv = arb_inv_digest(o->pkp, n, o->digest)) != 0)
		goto fail;
	o->m.digest.data = o->digest;
	o->m.digest.len = ARB_SHA256_LEN;

	if (uname(&u) == 0)
		snprintf(o->kernel, sizeof(o->kernel), "%s", u.release);
	o->m.kernel = o->kernel;
	inv_cpu_model(o->cpu, sizeof(o->cpu));
	o->m.cpu_model = o->cpu;
	o->m.cpus = (uint32_t)sysconf(_SC_NPROCESSORS_ONLN);
	pages = sysconf(_SC_PHYS_PAGES);
	psz = sysconf(_SC_PAGESIZE);
	if (pages > 0 && psz > 0)
		o->m.mem_bytes = (uint64_t)pages * (uint64_t)psz;
	if (sysinfo(&si) == 0)
		o->m.uptime_s = si.uptime;
	o->m.boot_time = inv_boot_time();
	o->m.at = (int64_t)time(NULL);
	if ((rv = inv_mounts(o)) != 0 || (rv = inv_addresses(o)) != 0)
		goto fail;
	*ip = &o->m;
	return 0;
fail:
	arb_inv_free(&o->m);
	return rv;
}

void
arb_inv_free(Arbor__InventoryDelta *inv)
{
	struct inv_owned	*o = (struct inv_owned *)inv;
	size_t			 i;

	if (inv == NULL)
		return;
	for (i = 0; i < o->m.n_set; i++) {
		free(o->pk[i].name);
		free(o->pk[i].arch);
		free(o->pk[i].version);
	}
	for (i = 0; i < o->m.n_mounts; i++) {
		free(o->mt[i].path);
		free(o->mt[i].fstype);
	}
	for (i = 0; i < o->m.n_addresses; i++)
		free(o->m.addresses[i]);
	free(o->m.addresses);
	free(o->pk);
	free(o->pkp);
	free(o->mt);
	free(o->mtp);
	free(o);
}

/* ---------------------------------------------------------------- deltas */

/* Copy the small fields of src into dst (borrowed). */
static void
inv_scalars(Arbor__InventoryDelta *dst, const Arbor__InventoryDelta *src)
{
	dst->truncated = src->truncated;
	dst->packages = src->packages;
	dst->kernel = src->kernel;
	dst->cpu_model = src->cpu_model;
	dst->cpus = src->cpus;
	dst->mem_bytes = src->mem_bytes;
	dst->mounts = src->mounts;
	dst->n_mounts = src->n_mounts;
	dst->boot_time = src->boot_time;
	dst->uptime_s = src->uptime_s;
	dst->addresses = src->addresses;
	dst->n_addresses = src->n_addresses;
	dst->at = src->at;
}

/* A removal: its own Package with name and arch, version "". */
static char inv_empty[] = "";

int
arb_inv_diff(const Arbor__InventoryDelta *base,
    const Arbor__InventoryDelta *cur, struct arb_inv_delta *d)
{
	Arbor__InventoryDelta	*out = &d->m;
	Arbor__Package	**set = NULL, **rm = NULL, *rmv = NULL;
	size_t		  i = 0, j = 0, ns = 0, nr = 0, nb;
	int		  c;

	memset(d, 0, sizeof(*d));
	arbor__inventory_delta__init(out);
	inv_scalars(out, cur);
	out->digest = cur->digest;
	if (base == NULL) {
		out->full = 1;
		out->set = cur->set;	/* borrowed whole */
		out->n_set = cur->n_set;
		return 0;
	}
	nb = base->n_set;
	out->base_digest = base->digest;
	if ((cur->n_set > 0 &&
	    (set = calloc(cur->n_set, sizeof(*set))) == NULL) ||
	    (nb > 0 && ((rm = calloc(nb, sizeof(*rm))) == NULL ||
	    (rmv = calloc(nb + 1, sizeof(*rmv))) == NULL))) {
		free(set);
		free(rm);
		free(rmv);
		return -ENOMEM;
	}
	while (i < nb || j < cur->n_set) {
		if (i == nb)
			c = 1;
		else if (j == cur->n_set)
			c = -1;
		else
			c = inv_cmp(base->set[i], cur->set[j]);
		if (c < 0) {		/* gone */
			arbor__package__init(&rmv[nr]);
			rmv[nr].name = base->set[i]->name;
			rmv[nr].arch = base->set[i]->arch;
			rmv[nr].version = inv_empty;
			rm[nr] = &rmv[nr];
			nr++;
			i++;
		} else if (c > 0) {	/* new */
			set[ns++] = cur->set[j++];
		} else {
			if (strcmp(base->set[i]->version,
			    cur->set[j]->version) != 0)
				set[ns++] = cur->set[j];
			i++;
			j++;
		}
	}
	out->set = set;
	out->n_set = ns;
	out->removed = rm;
	out->n_removed = nr;
	d->own_set = set;
	d->own_rm = rm;
	d->own_rmv = rmv;
	return 0;
}

void
arb_inv_delta_clear(struct arb_inv_delta *d)
{
	free(d->own_set);
	free(d->own_rm);
	free(d->own_rmv);
	memset(d, 0, sizeof(*d));
	arbor__inventory_delta__init(&d->m);
}

int
arb_inv_apply(const Arbor__InventoryDelta *held,
    const Arbor__InventoryDelta *d, struct arb_inv_delta *res)
{
	Arbor__InventoryDelta	*out = &res->m;
	Arbor__Package	**v;
	uint8_t		  dg[ARB_SHA256_LEN];
	size_t		  i = 0, j = 0, r = 0, n = 0, nh, cap;
	int		  c, rv;

	if (!d->full && (held == NULL || held->digest.len != d->base_digest.len ||
	    d->base_digest.len != ARB_SHA256_LEN ||
	    memcmp(held->digest.data, d->base_digest.data, ARB_SHA256_LEN) != 0))
		return ARB_ESTALE;
	nh = d->full ? 0 : held->n_set;
	cap = nh + d->n_set;
	if ((v = calloc(cap + 1, sizeof(*v))) == NULL)
		return -ENOMEM;
	while (i < nh || j < d->n_set) {
		/* Skip what d removes from held. */
		if (i < nh && r < d->n_removed) {
			while (r < d->n_removed &&
			    (c = inv_cmp(d->removed[r], held->set[i])) < 0) {
				rv = ARB_EPROTO;	/* removes what is not held */
				goto fail;
			}
			if (r < d->n_removed && c == 0) {
				r++;
				i++;
				continue;
			}
		}
		if (i == nh)
			c = 1;
		else if (j == d->n_set)
			c = -1;
		else
			c = inv_cmp(held->set[i], d->set[j]);
		if (c < 0)
			v[n++] = held->set[i++];
		else if (c > 0)
			v[n++] = d->set[j++];
		else {
			v[n++] = d->set[j++];	/* changed */
			i++;
		}
	}
	if (r < d->n_removed) {
		rv = ARB_EPROTO;
		goto fail;
	}
	if (n > ARB_INV_MAX_PKGS) {
		rv = ARB_ETOOBIG;
		goto fail;
	}
	if ((rv = arb_inv_digest(v, n, dg)) != 0)
		goto fail;
	if (d->digest.len != ARB_SHA256_LEN ||
	    memcmp(dg, d->digest.data, ARB_SHA256_LEN) != 0) {
		rv = ARB_EBADHASH;
		goto fail;
	}
	memset(res, 0, sizeof(*res));
	arbor__inventory_delta__init(out);
	inv_scalars(out, d);
	out->full = 1;
	out->digest = d->digest;
	out->set = v;
	out->n_set = n;
	res->own_set = v;
	return 0;
fail:
	free(v);
	return rv;
}

/* ---------------------------------------------------------------- checks */

static int
inv_text_ok(const char *s, size_t max)
{
	return s != NULL && strnlen(s, max + 1) <= max;
}

static int
inv_list_ok(Arbor__Package *const *v, size_t n, int removal)
{
	size_t	i;

	if (n > ARB_INV_MAX_PKGS)
		return ARB_ETOOBIG;
	for (i = 0; i < n; i++) {
		if (v[i] == NULL || !inv_text_ok(v[i]->name,
		    ARB_INV_NAME_MAX) || v[i]->name[0] == '\0' ||
		    !inv_text_ok(v[i]->arch, ARB_INV_ARCH_MAX) ||
		    !inv_text_ok(v[i]->version, ARB_INV_VERSION_MAX) ||
		    (!removal && v[i]->version[0] == '\0'))
			return ARB_EPROTO;
		if (i > 0 && inv_cmp(v[i - 1], v[i]) >= 0)
			return ARB_EPROTO;	/* unsorted or twice */
	}
	return 0;
}

int
arb_inv_check(const Arbor__InventoryDelta *d)
{
	size_t	i;
	int	rv;

	if (d->digest.len != ARB_SHA256_LEN ||
	    (d->full ? d->base_digest.len != 0 || d->n_removed != 0 :
	    d->base_digest.len != ARB_SHA256_LEN))
		return ARB_EPROTO;
	if ((rv = inv_list_ok(d->set, d->n_set, 0)) != 0 ||
	    (rv = inv_list_ok(d->removed, d->n_removed, 1)) != 0)
		return rv;
	if (d->n_mounts > ARB_INV_MAX_MOUNTS ||
	    d->n_addresses > ARB_INV_MAX_ADDRS)
		return ARB_ETOOBIG;
	if (!inv_text_ok(d->kernel, ARB_INV_TEXT_MAX) ||
	    !inv_text_ok(d->cpu_model, ARB_INV_TEXT_MAX))
		return ARB_EPROTO;
	for (i = 0; i < d->n_mounts; i++)
		if (d->mounts[i] == NULL || !inv_text_ok(d->mounts[i]->path,
		    ARB_INV_NAME_MAX) || !inv_text_ok(d->mounts[i]->fstype,
		    ARB_INV_TEXT_MAX))
			return ARB_EPROTO;
	for (i = 0; i < d->n_addresses; i++)
		if (!inv_text_ok(d->addresses[i], ARB_INV_TEXT_MAX))
			return ARB_EPROTO;
	return 0;
}

void
arb_inv_pkg(const Arbor__InventoryDelta *inv, const char *name,
    const char **vp)
{
	const char	*colon, *arch = NULL, *best = NULL;
	size_t		 lo, hi, mid, nlen;
	int		 c;

	nlen = strlen(name);
	if ((colon = strchr(name, ':')) != NULL) {
		arch = colon + 1;
		nlen = (size_t)(colon - name);
	}
	lo = 0;
	hi = inv->n_set;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strncmp(inv->set[mid]->name, name, nlen);
		if (c == 0 && inv->set[mid]->name[nlen] != '\0')
			c = 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < inv->n_set; lo++) {
		if (strncmp(inv->set[lo]->name, name, nlen) != 0 ||
		    inv->set[lo]->name[nlen] != '\0')
			break;
		if (arch != NULL && strcmp(inv->set[lo]->arch, arch) != 0)
			continue;
		if (best == NULL ||
		    arb_version_cmp(inv->set[lo]->version, best) < 0)
			best = inv->set[lo]->version;
	}
	*vp = best;
}
