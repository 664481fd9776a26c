/*
 * arbor-agent configuration keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arbor/error.h"
#include "arbor/log.h"
#include "agent.h"

#define C(v)	((struct agent_conf *)(v))

static int
k_data_dir(void *c, const char *v, char *e, size_t n)
{
	free(C(c)->data_dir);
	C(c)->data_dir = NULL;
	return arb_conf_str(v, &C(c)->data_dir, e, n);
}

static int
k_pubkey(void *c, const char *v, char *e, size_t n)
{
	free(C(c)->pubkey);
	C(c)->pubkey = NULL;
	return arb_conf_str(v, &C(c)->pubkey, e, n);
}

static int
k_node_id(void *c, const char *v, char *e, size_t n)
{
	free(C(c)->node_id);
	C(c)->node_id = NULL;
	return arb_conf_str(v, &C(c)->node_id, e, n);
}

static int
k_relay(void *c, const char *v, char *e, size_t n)
{
	struct agent_conf	*ac = C(c);
	struct arb_parent	 p, *np;
	int			 rv;

	if ((rv = arb_parent_parse(v, &p, e, n)) != 0)
		return rv;
	if ((np = realloc(ac->relays, (ac->nrelays + 1) *
	    sizeof(*np))) == NULL) {
		arb_parent_clear(&p);
		snprintf(e, n, "out of memory");
		return ARB_ECONFIG;
	}
	ac->relays = np;
	ac->relays[ac->nrelays++] = p;
	return 0;
}

static int
k_map_size(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_size(v, 1 << 20, 1ULL << 40, &C(c)->map_size, e, n);
}

static int
k_poll(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_duration_ms(v, 100, 86400000, &C(c)->poll_ms, e, n);
}

static int
k_jitter(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_duration_ms(v, 0, 86400000, &C(c)->jitter_ms, e, n);
}

static int
k_timeout(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_duration_ms(v, 100, 600000, &C(c)->timeout_ms, e, n);
}

static int
k_rate(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_size(v, 0, 1ULL << 40, &C(c)->fetch_rate, e, n);
}

static int
k_depth(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_int(v, 1, 64, &C(c)->fetch_depth, e, n);
}

const struct arb_conf_key agent_conf_keys[] = {
	{ "data_dir", k_data_dir, "directory for the store and downloads" },
	{ "pubkey", k_pubkey, "the publisher's public key (PEM) to pin" },
	{ "relay", k_relay, "SVC_URL PUB_URL of a relay; repeat, in order "
	    "of preference" },
	{ "map_size", k_map_size, "LMDB map size (default 64M)" },
	{ "poll_interval", k_poll, "how often to poll the relay "
	    "(default 5m)" },
	{ "poll_jitter", k_jitter, "random extra delay per poll "
	    "(default 1m)" },
	{ "timeout", k_timeout, "per request to the relay (default 10s)" },
	{ "fetch_depth", k_depth, "chunk requests in flight per blob "
	    "(default 2)" },
	{ "fetch_rate", k_rate, "cap on bytes a second fetched from "
	    "upstream, e.g. 20M (default 0: no cap)" },
	{ "node_id", k_node_id, "name in logs (default: host name)" },
	{ NULL, NULL, NULL }
};

void
agent_conf_init(struct agent_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->map_size = 64ULL << 20;
	c->poll_ms = 300000;
	c->jitter_ms = 60000;
	c->timeout_ms = 10000;
	c->fetch_depth = 2;
}

int
agent_conf_check(struct agent_conf *c)
{
	char	host[256];
	int	rv = 0;

	if (c->data_dir == NULL) {
		log_warnx("configuration: data_dir: required");
		rv = ARB_ECONFIG;
	}
	if (c->pubkey == NULL) {
		log_warnx("configuration: pubkey: required");
		rv = ARB_ECONFIG;
	}
	if (c->nrelays == 0) {
		log_warnx("configuration: relay: at least one required");
		rv = ARB_ECONFIG;
	}
	if (c->node_id == NULL) {
		if (gethostname(host, sizeof(host)) != 0)
			strcpy(host, "agent");
		host[sizeof(host) - 1] = '\0';
		c->node_id = strdup(host);
	}
	return rv;
}

void
agent_conf_clear(struct agent_conf *c)
{
	size_t i;

	free(c->data_dir);
	free(c->pubkey);
	for (i = 0; i < c->nrelays; i++)
		arb_parent_clear(&c->relays[i]);
	free(c->relays);
	free(c->node_id);
	memset(c, 0, sizeof(*c));
}
