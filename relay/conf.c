/*
 * arbor-relay configuration keys.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arbor/error.h"
#include "arbor/log.h"
#include "arbor/tls.h"
#include "relay.h"

#define C(v)	((struct relay_conf *)(v))

/* The upstream keys' handlers take the struct as its first member. */
_Static_assert(offsetof(struct relay_conf, up) == 0,
    "struct relay_conf must begin with its struct arb_upstream");

ARB_CONF_STRKEY(k_data_dir, struct relay_conf, data_dir)

ARB_CONF_STRKEY(k_pubkey, struct relay_conf, pubkey)

ARB_CONF_STRKEY(k_trust_root, struct relay_conf, trust_root)

ARB_CONF_STRKEY(k_svc, struct relay_conf, svc)

ARB_CONF_STRKEY(k_pub, struct relay_conf, pub)

ARB_CONF_STRKEY(k_enroll_svc, struct relay_conf, enroll_svc)

static int
k_cache_size(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_size(v, 0, UINT64_MAX / 2, &C(c)->cache_size, e, n);
}

static int
k_chunk_cache(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_size(v, 0, 1ULL << 40, &C(c)->chunk_cache, e, n);
}

static int
k_map_size(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_size(v, 1 << 20, 1ULL << 40, &C(c)->map_size, e, n);
}

static int
k_nctx(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_int(v, 1, 100000, &C(c)->nctx, e, n);
}

static int
k_report_ms(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_duration_ms(v, 10, 3600000, &C(c)->report_ms, e, n);
}

static int
k_unmanaged_grace(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_duration_ms(v, 1000, 30LL * 86400000,
	    &C(c)->unmanaged_grace_ms, e, n);
}

static int
k_report_max(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_int(v, 1, 1000000, &C(c)->report_max, e, n);
}

static int
k_spool_max(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_int(v, 1, 100000000, &C(c)->spool_max, e, n);
}

static int
k_spool_size(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_size(v, 1 << 16, 1ULL << 40, &C(c)->spool_size, e, n);
}

static int
k_children_max(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_int(v, 1, 10000000, &C(c)->children_max, e, n);
}

static int
k_serve_rate(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_size(v, 0, 1ULL << 40, &C(c)->serve_rate, e, n);
}

static int
k_child_rate(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_size(v, 0, 1ULL << 40, &C(c)->child_rate, e, n);
}

ARB_CONF_STRKEY(k_node_id, struct relay_conf, node_id)

ARB_CONF_STRKEY(k_metrics_listen, struct relay_conf, metrics_listen)

const struct arb_conf_key relay_conf_keys[] = {
	ARB_TLS_CONF_KEYS,
	ARB_UPSTREAM_CONF_KEYS("parent", "60s", "10s", "0", "4"),
	{ "data_dir", k_data_dir, "directory for the store and blob cache" },
	{ "pubkey", k_pubkey, "the publisher's public key (PEM) to pin" },
	{ "trust_root", k_trust_root, "the trust root's public key (PEM) "
	    "to pin instead: publisher keys from its statements" },
	{ "svc", k_svc, "REP address children send requests to" },
	{ "pub", k_pub, "PUB address children subscribe to" },
	{ "enroll_svc", k_enroll_svc, "address that serves nothing but "
	    "enrolment, no client certificate asked: where agents get "
	    "their certificates (default none)" },
	{ "cache_size", k_cache_size, "byte limit of the blob cache "
	    "(default 10G; 0: none)" },
	{ "chunk_cache", k_chunk_cache, "bytes of recently served, verified "
	    "chunks kept in memory (default 64M)" },
	{ "map_size", k_map_size, "LMDB map size (default 1G)" },
	{ "contexts", k_nctx, "requests served in flight (default 256)" },
	{ "report_interval", k_report_ms, "send the coalesced reports up "
	    "this often (default 1s)" },
	{ "report_max", k_report_max, "... or as soon as this many wait "
	    "(default 1000)" },
	{ "spool_max", k_spool_max, "reports the spool holds at most; more "
	    "are refused until the parent takes some (default 1000000)" },
	{ "spool_size", k_spool_size, "bytes the spool may fill at most "
	    "(default: half of map_size)" },
	{ "children_max", k_children_max, "children remembered for the "
	    "tree view (default 65536)" },
	{ "serve_rate", k_serve_rate, "cap on bytes a second of blob data "
	    "to all children together, shared fairly, urgent first "
	    "(default 0: none)" },
	{ "child_rate", k_child_rate, "cap on bytes a second to one child "
	    "(default 0: none)" },
	{ "unmanaged_grace", k_unmanaged_grace, "an endpoint id that polls "
	    "this long with no receipt naming it is listed as unmanaged "
	    "(default 10m)" },
	{ "node_id", k_node_id, "this relay's name in the tree and in "
	    "report paths (default: host name)" },
	{ "metrics_listen", k_metrics_listen, "serve Prometheus metrics at "
	    "http://HOST:PORT/metrics (loopback unless allow_plain) or "
	    "https://HOST:PORT/metrics (default: off)" },
	{ NULL, NULL, NULL }
};

void
relay_conf_init(struct relay_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->cache_size = 10ULL << 30;
	c->chunk_cache = 64ULL << 20;
	c->map_size = 1ULL << 30;
	c->up.poll_ms = 60000;
	c->up.jitter_ms = 10000;
	c->up.timeout_ms = 10000;
	c->up.probe_ms = ARB_LINK_PROBE_MS;
	c->up.failover_ms = ARB_LINK_FAILOVER_MS;
	c->nctx = 256;
	c->up.fetch_depth = 4;
	c->report_ms = 1000;
	c->unmanaged_grace_ms = 600000;
	c->report_max = 1000;
	c->spool_max = 1000000;
	c->children_max = 65536;
}

int
relay_conf_check(struct relay_conf *c)
{
	char	host[256];
	int	rv = 0;

	if (c->data_dir == NULL) {
		log_warnx("configuration: data_dir: required");
		rv = ARB_ECONFIG;
	}
	if ((c->pubkey == NULL) == (c->trust_root == NULL)) {
		log_warnx("configuration: pubkey or trust_root: exactly one "
		    "required");
		rv = ARB_ECONFIG;
	}
	if (arb_upstream_check(&c->up, "parent") != 0)
		rv = ARB_ECONFIG;
	if (c->svc == NULL || c->pub == NULL) {
		log_warnx("configuration: svc and pub: both required");
		rv = ARB_ECONFIG;
	} else if (arb_tls_conf_url("svc", c->svc) != 0 ||
	    arb_tls_conf_url("pub", c->pub) != 0)
		rv = ARB_ECONFIG;
	if (c->enroll_svc != NULL &&
	    arb_tls_conf_url("enroll_svc", c->enroll_svc) != 0)
		rv = ARB_ECONFIG;
	if (c->metrics_listen != NULL &&
	    arb_tls_conf_http("metrics_listen", c->metrics_listen) != 0)
		rv = ARB_ECONFIG;
	if (c->node_id == NULL) {
		if (gethostname(host, sizeof(host)) != 0)
			strcpy(host, "relay");
		host[sizeof(host) - 1] = '\0';
		c->node_id = strdup(host);
	}
	return rv;
}

void
relay_conf_clear(struct relay_conf *c)
{
	free(c->data_dir);
	free(c->pubkey);
	free(c->trust_root);
	free(c->svc);
	free(c->pub);
	free(c->enroll_svc);
	arb_upstream_clear(&c->up);
	free(c->node_id);
	free(c->metrics_listen);
	memset(c, 0, sizeof(*c));
}
