/*
 * What inventories cost, printed (never asserted):
 *
 * 1. An endpoint with P packages (default 2,000) in a generated fixture
 *    tree: CPU time to collect, diff, encode and sign one inventory report,
 *    and its size, full and as a delta after 10 packages changed.
 * 2. The root with N endpoints (default 100,000) of P packages each:
 *    ingest through root_inv_take (the path reports take) for the first
 *    few hundred, the rest written straight into the same tables with the
 *    same keys (ARB_DB_ENDPOINTS records and ARB_DB_PKGINDEX, in key order,
 *    so that generating 200 million index entries takes minutes, not
 *    hours), then the time and memory of root_inv_query over all of them.
 *
 *	inventory [-n ENDPOINTS] [-p PACKAGES] [-d DIR] [-k]
 *
 * -d puts the store in DIR (default a directory under /tmp, removed at
 * the end unless -k).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arbor/catalog.h"
#include "arbor/error.h"
#include "arbor/expr.h"
#include "arbor/facts.h"
#include "arbor/inventory.h"
#include "arbor/policy.h"
#include "arbor/sig.h"
#include "arbor/store.h"
#include "arbor/wire.h"
#include "root.h"

#define REAL_INGEST	200	/* endpoints through root_inv_take */

static double
cpu_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
wall_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long
maxrss_mib(void)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss / 1024;
}

/* Package j's name: openssl first, so that the query has one to compare. */
static void
pkg_name(unsigned j, char *buf, size_t len)
{
	if (j == 0)
		snprintf(buf, len, "openssl");
	else
		snprintf(buf, len, "pkg-%05u", j);
}

static const char *
pkg_version(unsigned j, unsigned ep, unsigned bump)
{
	static char	buf[64];

	if (j == 0)
		return ep % 3 == 0 ? "3.0.11-1~deb12u2" : "3.0.22-1~deb12u2";
	snprintf(buf, sizeof(buf), "1.%u-%u", j % 97, 1 + bump);
	return buf;
}

static _Noreturn void
die(const char *what, int rv)
{
	fprintf(stderr, "inventory: %s: %s\n", what, arb_strerror(rv));
	exit(1);
}

/* A fixture tree with p packages; bump changes the first ten. */
static void
write_tree(const char *dir, unsigned p, unsigned bump)
{
	char	 path[4096], name[64];
	FILE	*f;
	unsigned j;

	snprintf(path, sizeof(path), "%s/etc", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/var", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/var/lib", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/var/lib/dpkg", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/etc/os-release", dir);
	if ((f = fopen(path, "w")) == NULL)
		die("os-release", -errno);
	fprintf(f, "ID=debian\nVERSION_ID=\"12\"\n");
	fclose(f);
	snprintf(path, sizeof(path), "%s/var/lib/dpkg/status", dir);
	if ((f = fopen(path, "w")) == NULL)
		die("status", -errno);
	for (j = 0; j < p; j++) {
		pkg_name(j, name, sizeof(name));
		fprintf(f, "Package: %s\nStatus: install ok installed\n"
		    "Priority: optional\nSection: libs\nInstalled-Size: 1234\n"
		    "Maintainer: Debian <debian@example.org>\n"
		    "Architecture: amd64\nVersion: %s\n"
		    "Description: package %u\n two lines of it\n\n", name,
		    pkg_version(j, 0, j >= 1 && j <= 10 ? bump : 0), j);
	}
	fclose(f);
}

/* The size of one signed inventory report carrying d. */
static size_t
report_bytes(struct arb_key *key, Arbor__InventoryDelta *d)
{
	Arbor__Report	r = ARBOR__REPORT__INIT;
	Arbor__Signed	sg = ARBOR__SIGNED__INIT;
	uint8_t		*body;
	size_t		 len, n;
	int		 rv;

	r.endpoint_id = (char *)"0123456789abcdef0123456789abcdef";
	r.seq = 1;
	r.policy_id = (char *)"";
	r.detail = (char *)"";
	r.inventory_delta = d;
	if ((rv = arb_wire_encode_report(&r, &body, &len)) != 0)
		die("encode report", rv);
	if ((rv = arb_signed_make(key, body, len, &sg)) != 0)
		die("sign", rv);
	n = sg.body.len + sg.sig.len + sg.key_id.len + 8;
	arb_signed_clear(&sg);
	free(body);
	return n;
}

static void
bench_report(unsigned p)
{
	struct arb_facts_conf	 fc = { 0 };
	struct arb_facts	*facts;
	Arbor__InventoryDelta	*base, *cur;
	struct arb_inv_delta	 d;
	struct arb_key		*key;
	char			 dir[] = "/tmp/arbor-inv-bench-XXXXXX", cmd[256];
	size_t			 full_b, delta_b;
	double			 c0, c_full, c_delta;
	int			 i, rounds = 50, rv;

	if (mkdtemp(dir) == NULL)
		die("mkdtemp", -errno);
	write_tree(dir, p, 0);
	fc.root = dir;
	if ((rv = arb_facts_new(&fc, &facts)) != 0 ||
	    (rv = arb_key_generate(&key)) != 0)
		die("facts", rv);
	/* Full: read the status, collect, encode, sign. */
	c0 = cpu_s();
	for (i = 0; i < rounds; i++) {
		arb_facts_reload(facts);
		if ((rv = arb_inv_collect(facts, &cur)) != 0)
			die("collect", rv);
		if ((rv = arb_inv_diff(NULL, cur, &d)) != 0)
			die("diff", rv);
		full_b = report_bytes(key, &d.m);
		arb_inv_delta_clear(&d);
		arb_inv_free(cur);
	}
	c_full = (cpu_s() - c0) / rounds;
	arb_facts_reload(facts);
	if ((rv = arb_inv_collect(facts, &base)) != 0)
		die("collect", rv);
	write_tree(dir, p, 1);		/* ten packages upgraded */
	c0 = cpu_s();
	for (i = 0; i < rounds; i++) {
		arb_facts_reload(facts);
		if ((rv = arb_inv_collect(facts, &cur)) != 0)
			die("collect", rv);
		if ((rv = arb_inv_diff(base, cur, &d)) != 0)
			die("diff", rv);
		delta_b = report_bytes(key, &d.m);
		arb_inv_delta_clear(&d);
		arb_inv_free(cur);
	}
	c_delta = (cpu_s() - c0) / rounds;
	printf("report: %u packages: full %zu bytes, %.2f ms CPU; "
	    "delta (10 changed) %zu bytes, %.2f ms CPU (collect, diff, "
	    "encode, sign; mean of %d)\n", p, full_b, c_full * 1000, delta_b,
	    c_delta * 1000, rounds);
	arb_inv_free(base);
	arb_key_free(key);
	arb_facts_free(facts);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "inventory: could not remove %s\n", dir);
}

static void
ep_id(unsigned i, char *buf)
{
	/* Sorted like the index wants them; the tail looks like a hash. */
	snprintf(buf, ARB_MAX_ID, "%08x%024" PRIx64, i,
	    (uint64_t)((uint64_t)i * 0x9e3779b97f4a7c15ULL &
	    0xffffffffffffULL));
}

static void
put_record(struct arb_txn *t, unsigned i, const char *eid, int has)
{
	Arbor__EndpointRecord	rec = ARBOR__ENDPOINT_RECORD__INIT;
	Arbor__Inventory	inv = ARBOR__INVENTORY__INIT;
	uint8_t			pub[32] = { 1 }, *buf;
	char			host[32], relay[32], *via[1], *groups[1];
	size_t			len;
	int			rv;

	snprintf(host, sizeof(host), "host-%u", i);
	snprintf(relay, sizeof(relay), "relay-%02u", i % 20);
	via[0] = relay;
	groups[0] = (char *)(i % 2 ? "servers" : "desktops");
	inv.hostname = host;
	inv.os_id = (char *)"debian";
	inv.os_version_id = (char *)"12";
	inv.arch = (char *)"amd64";
	inv.groups = groups;
	inv.n_groups = 1;
	rec.pubkey.data = pub;
	rec.pubkey.len = 32;
	rec.hostname = host;
	rec.via = via;
	rec.n_via = 1;
	rec.inventory = &inv;
	rec.has_inventory = has;
	rec.last_contact = (int64_t)time(NULL);
	if ((rv = arb_wire_encode_eprec(&rec, &buf, &len)) != 0 ||
	    (rv = arb_txn_put(t, ARB_DB_ENDPOINTS, eid, strlen(eid), buf,
	    len)) != 0)
		die("record", rv);
	free(buf);
}

/* Endpoints real..n-1 straight into the tables, in key order. */
static void
load_direct(struct arb_store *s, unsigned real, unsigned n, unsigned p)
{
	struct arb_txn	*t;
	uint8_t		 key[256];
	char		 eid[ARB_MAX_ID], name[64];
	const char	*v;
	size_t		 a, b, puts = 0;
	unsigned	 i, j;
	int		 rv;

	if ((rv = arb_txn_begin(s, 1, &t)) != 0)
		die("txn", rv);
	for (i = real; i < n; i++) {
		ep_id(i, eid);
		put_record(t, i, eid, 1);
	}
	for (j = 0; j < p; j++) {
		pkg_name(j, name, sizeof(name));
		a = strlen(name);
		for (i = real; i < n; i++) {
			ep_id(i, eid);
			b = strlen(eid);
			memcpy(key, name, a + 1);
			memcpy(key + a + 1, eid, b + 1);
			memcpy(key + a + b + 2, "amd64", 5);
			v = pkg_version(j, i, 0);
			if ((rv = arb_txn_put(t, ARB_DB_PKGINDEX, key,
			    a + b + 7, v, strlen(v))) != 0)
				die("index put", rv);
			if (++puts % 2000000 == 0) {
				if ((rv = arb_txn_commit(t)) != 0 ||
				    (rv = arb_txn_begin(s, 1, &t)) != 0)
					die("commit", rv);
			}
		}
		if (j % 200 == 0)
			fprintf(stderr, "inventory: loaded package %u of %u\n",
			    j, p);
	}
	if ((rv = arb_txn_commit(t)) != 0)
		die("commit", rv);
}

/* Endpoints 0..real-1 the way reports bring them: root_inv_take. */
static void
load_real(struct arb_store *s, unsigned real, unsigned p)
{
	Arbor__EndpointRecord	 rec = ARBOR__ENDPOINT_RECORD__INIT;
	Arbor__InventoryDelta	 full;
	Arbor__Package		*pk, **pkp;
	struct arb_txn		*t;
	uint8_t			 dg[ARB_SHA256_LEN];
	char			 eid[ARB_MAX_ID], (*names)[16];
	double			 w0, w;
	unsigned		 i, j;
	int			 rv;

	pk = calloc(p, sizeof(*pk));
	pkp = calloc(p, sizeof(*pkp));
	names = calloc(p, sizeof(*names));
	if (pk == NULL || pkp == NULL || names == NULL)
		die("memory", -ENOMEM);
	w0 = wall_s();
	for (i = 0; i < real; i++) {
		arbor__inventory_delta__init(&full);
		for (j = 0; j < p; j++) {
			arbor__package__init(&pk[j]);
			pkg_name(j, names[j], sizeof(names[j]));
			pk[j].name = names[j];
			pk[j].arch = (char *)"amd64";
			pk[j].version = strdup(pkg_version(j, i, 0));
			pkp[j] = &pk[j];
		}
		/* Sorted by name already: "openssl" < "pkg-00001" < ... */
		full.full = 1;
		full.set = pkp;
		full.n_set = p;
		arb_inv_digest(pkp, p, dg);
		full.digest.data = dg;
		full.digest.len = ARB_SHA256_LEN;
		ep_id(i, eid);
		if ((rv = arb_txn_begin(s, 1, &t)) != 0)
			die("txn", rv);
		put_record(t, i, eid, 0);
		if ((rv = root_inv_take(t, &rec, eid, &full)) != 0)
			die("take", rv);
		if (!rec.has_inventory)
			die("take: not applied", ARB_EPROTO);
		put_record(t, i, eid, 1);
		if ((rv = arb_txn_commit(t)) != 0)
			die("commit", rv);
		for (j = 0; j < p; j++)
			free(pk[j].version);
	}
	w = wall_s() - w0;
	printf("root: %u full inventories of %u packages through "
	    "root_inv_take: %.2f ms each (one commit each)\n", real, p,
	    w * 1000 / (real ? real : 1));
	free(pk);
	free(pkp);
	free(names);
}

static void
run_query(struct arb_store *s, const char *text, unsigned n)
{
	const struct arb_target	 tg = { 0 };
	Arbor__QueryReply	 qr;
	struct arb_expr		*e;
	struct arb_txn		*t;
	char			 err[256];
	double			 w0, w;
	int			 k, rv;

	if ((rv = arb_expr_parse(text, &e, err, sizeof(err))) != 0) {
		fprintf(stderr, "inventory: %s\n", err);
		exit(1);
	}
	for (k = 0; k < 3; k++) {
		if ((rv = arb_txn_begin(s, 0, &t)) != 0)
			die("txn", rv);
		w0 = wall_s();
		if ((rv = root_inv_query(t, e, &tg, &qr)) != 0)
			die("query", rv);
		w = wall_s() - w0;
		arb_txn_abort(t);
		printf("query: %s: %" PRIu64 " of %u endpoints match, "
		    "%.0f ms (run %d), max RSS %ld MiB\n", text, qr.matched, n,
		    w * 1000, k + 1, maxrss_mib());
		root_inv_query_clear(&qr);
	}
	arb_expr_free(e);
}

int
main(int argc, char *argv[])
{
	struct arb_store	*s;
	struct arb_txn		*t;
	char			 tmp[] = "/tmp/arbor-inv-store-XXXXXX", cmd[512];
	const char		*dir = NULL;
	unsigned		 n = 100000, p = 2000, real;
	uint64_t		 recs, bytes, ib;
	double			 w0;
	int			 c, keep = 0, rv;

	while ((c = getopt(argc, argv, "n:p:d:k")) != -1) {
		switch (c) {
		case 'n':
			n = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'p':
			p = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'd':
			dir = optarg;
			break;
		case 'k':
			keep = 1;
			break;
		default:
			fprintf(stderr, "usage: inventory [-n ENDPOINTS] "
			    "[-p PACKAGES] [-d DIR] [-k]\n");
			return 2;
		}
	}
	if (p < 2 || p > ARB_INV_MAX_PKGS || n < 1) {
		fprintf(stderr, "inventory: -p 2..%d, -n 1..\n",
		    ARB_INV_MAX_PKGS);
		return 2;
	}
	bench_report(p);
	if (dir == NULL) {
		if (mkdtemp(tmp) == NULL)
			die("mkdtemp", -errno);
		dir = tmp;
	}
	if ((rv = arb_store_open(dir, 256ULL << 30, &s)) != 0)
		die("store", rv);
	real = n < REAL_INGEST ? n : REAL_INGEST;
	load_real(s, real, p);
	w0 = wall_s();
	load_direct(s, real, n, p);
	if ((rv = arb_txn_begin(s, 0, &t)) != 0 ||
	    (rv = arb_txn_size(t, ARB_DB_PKGINDEX, &recs, &ib)) != 0 ||
	    (rv = arb_txn_size(t, ARB_DB_ENDPOINTS, NULL, &bytes)) != 0)
		die("size", rv);
	arb_txn_abort(t);
	printf("root: %u endpoints x %u packages: %" PRIu64 " index entries, "
	    "%.1f GiB index, %.1f MiB endpoint records; generated in "
	    "%.0f s\n", n, p, recs, (double)ib / (1 << 30),
	    (double)bytes / (1 << 20), wall_s() - w0);
	run_query(s, "pkg(\"openssl\") < version(\"3.0.22-1~deb12u2\")", n);
	run_query(s, "os.id == \"debian\" && \"servers\" in agent.groups && "
	    "pkg(\"pkg-00042\") >= version(\"1.42-1\")", n);
	arb_store_close(s);
	if (!keep) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "inventory: could not remove %s\n",
			    dir);
	}
	return 0;
}
