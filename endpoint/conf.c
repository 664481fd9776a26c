/*
 * arbor-agent configuration keys.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arbor/error.h"
#include "arbor/io.h"
#include "arbor/log.h"
#include "arbor/tls.h"
#include "agent.h"

#define C(v)	((struct agent_conf *)(v))

/* The upstream keys' handlers take the struct as its first member. */
_Static_assert(offsetof(struct agent_conf, up) == 0,
    "struct agent_conf must begin with its struct arb_upstream");

ARB_CONF_STRKEY(k_data_dir, struct agent_conf, data_dir)

ARB_CONF_STRKEY(k_pubkey, struct agent_conf, pubkey)

ARB_CONF_STRKEY(k_trust_root, struct agent_conf, trust_root)

ARB_CONF_STRKEY(k_node_id, struct agent_conf, node_id)

static int
k_map_size(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_size(v, 1 << 20, 1ULL << 40, &C(c)->map_size, e, n);
}

ARB_CONF_STRKEY(k_facts_root, struct agent_conf, facts_root)

ARB_CONF_STRKEY(k_token, struct agent_conf, token)

/* enroll_via = URL [TLS_NAME] */
static int
k_enroll_via(void *c, const char *v, char *e, size_t n)
{
	char	*copy, *url, *name, *save = NULL;
	int	 rv = 0;

	if ((copy = strdup(v)) == NULL)
		return -ENOMEM;
	url = strtok_r(copy, " \t", &save);
	name = url ? strtok_r(NULL, " \t", &save) : NULL;
	if (url == NULL || strtok_r(NULL, " \t", &save) != NULL ||
	    !arb_tls_on(url)) {
		snprintf(e, n, "expected a TLS address and the name its "
		    "certificate carries: URL [TLS_NAME]");
		rv = ARB_ECONFIG;
	} else if (name != NULL && arb_tls_expect(url, name) != 0)
		rv = -ENOMEM;
	else {
		free(((struct agent_conf *)c)->enroll_via);
		if ((((struct agent_conf *)c)->enroll_via = strdup(url)) ==
		    NULL)
			rv = -ENOMEM;
	}
	free(copy);
	return rv;
}
ARB_CONF_STRKEY(k_token_file, struct agent_conf, token_file)
ARB_CONF_STRKEY(k_time_zone, struct agent_conf, time_zone)

ARB_CONF_STRKEY(k_eval, struct agent_conf, eval)

static int
k_group(void *c, const char *v, char *e, size_t n)
{
	struct agent_conf	*ac = C(c);
	char			**ng;

	if (v[0] == '\0' || strlen(v) > 128) {
		snprintf(e, n, "a group is 1..128 characters");
		return ARB_ECONFIG;
	}
	if ((ng = realloc(ac->groups, (ac->ngroups + 2) * sizeof(*ng))) ==
	    NULL || (ng[ac->ngroups] = strdup(v)) == NULL) {
		if (ng)
			ac->groups = ng;
		snprintf(e, n, "out of memory");
		return ARB_ECONFIG;
	}
	ac->groups = ng;
	ac->groups[++ac->ngroups] = NULL;
	return 0;
}

static int
k_prop(void *c, const char *v, char *e, size_t n)
{
	struct agent_conf	*ac = C(c);
	const char		*eq = strchr(v, '=');
	char			**nk, **nv;

	if (eq == NULL || eq == v) {
		snprintf(e, n, "expected KEY=VALUE");
		return ARB_ECONFIG;
	}
	nk = realloc(ac->prop_keys, (ac->nprops + 1) * sizeof(*nk));
	if (nk != NULL)
		ac->prop_keys = nk;
	nv = realloc(ac->prop_vals, (ac->nprops + 1) * sizeof(*nv));
	if (nv != NULL)
		ac->prop_vals = nv;
	if (nk == NULL || nv == NULL ||
	    (nk[ac->nprops] = strndup(v, (size_t)(eq - v))) == NULL ||
	    (nv[ac->nprops] = strdup(eq + 1)) == NULL) {
		snprintf(e, n, "out of memory");
		return ARB_ECONFIG;
	}
	ac->nprops++;
	return 0;
}

static int
k_report_ms(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_duration_ms(v, 0, 600000, &C(c)->report_ms, e, n);
}

static int
k_inventory_ms(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_duration_ms(v, 1000, 7 * 86400000LL,
	    &C(c)->inventory_ms, e, n);
}

static int
k_receipt_ms(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_duration_ms(v, 1000, 86400000, &C(c)->receipt_ms, e,
	    n);
}

static int
k_swarm(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_int(v, 0, 1000000, &C(c)->swarm, e, n);
}

ARB_CONF_STRKEY(k_swarm_fixed, struct agent_conf, swarm_fixed)

static int
k_swarm_need(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_int(v, 0, 100, &C(c)->swarm_need, e, n);
}

static int
k_swarm_run(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_bool(v, &C(c)->swarm_run, e, n);
}

ARB_CONF_STRKEY(k_swarm_events, struct agent_conf, swarm_events)

ARB_CONF_STRKEY(k_metrics_file, struct agent_conf, metrics_file)

static int
k_metrics_ms(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_duration_ms(v, 100, 86400000, &C(c)->metrics_ms, e,
	    n);
}

/* defer_critical, defer_high...: the most a policy may be deferred. */
#define DEFER_KEY(name, field)						\
static int								\
name(void *c, const char *v, char *e, size_t n)				\
{									\
	return arb_conf_duration_ms(v, 0, 366 * 86400000LL,		\
	    &C(c)->field, e, n);					\
}
DEFER_KEY(k_defer_critical, defer_ms[0])
DEFER_KEY(k_defer_high, defer_ms[1])
DEFER_KEY(k_defer_medium, defer_ms[2])
DEFER_KEY(k_defer_low, defer_ms[3])

static int
k_control_group(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_str_set(&C(c)->control_group, v, e, n);
}

static int
k_reboot_command(void *c, const char *v, char *e, size_t n)
{
	if (v[0] == '\0') {
		snprintf(e, n, "must not be empty");
		return ARB_ECONFIG;
	}
	return arb_conf_str_set(&C(c)->reboot_command, v, e, n);
}

static int
k_action_cgroup(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_bool(v, &C(c)->action_cgroup, e, n);
}

const struct arb_conf_key agent_conf_keys[] = {
	ARB_TLS_CONF_KEYS,
	ARB_UPSTREAM_CONF_KEYS("relay", "5m", "1m", "10s", "2"),
	{ "data_dir", k_data_dir, "directory for the store and downloads" },
	{ "pubkey", k_pubkey, "the publisher's public key (PEM) to pin" },
	{ "trust_root", k_trust_root, "the trust root's public key (PEM) "
	    "to pin instead: publisher keys from its statements" },
	{ "map_size", k_map_size, "LMDB map size (default 64M)" },
	{ "node_id", k_node_id, "name in logs and targets (default: host "
	    "name)" },
	{ "facts_root", k_facts_root, "file-system root facts are read from "
	    "(default /)" },
	{ "time_zone", k_time_zone, "the zone schedules are read in, e.g. "
	    "Europe/Paris (default: the system's)" },
	{ "group", k_group, "a group this endpoint is in; repeat" },
	{ "property", k_prop, "KEY=VALUE property of this endpoint; repeat" },
	{ "enroll_token", k_token, "token presented at enrolment" },
	{ "enroll_via", k_enroll_via, "a relay's enrolment address (URL "
	    "[TLS_NAME]): enrol there for a TLS certificate at tls_cert, "
	    "made for the key at tls_key" },
	{ "enroll_token_file", k_token_file, "a file holding the token "
	    "instead (arborctl token create --out FILE)" },
	{ "report_delay", k_report_ms, "gather reports this long before "
	    "sending (default 1s)" },
	{ "action_cgroup", k_action_cgroup, "run each action in a cgroup v2 "
	    "of its own where one can be made (default true)" },
	{ "inventory_interval", k_inventory_ms, "report the inventory this "
	    "often, jittered by a tenth (default 6h; also at start and after "
	    "every action)" },
	{ "receipt_timeout", k_receipt_ms, "send reports again (through "
	    "the next relay) when the root's receipt for them has not come "
	    "this long after the relay took them (default 2m)" },
	{ "swarm", k_swarm, "run N simulated endpoints in this process "
	    "(data_dir holds one directory each)" },
	{ "swarm_fixed_root", k_swarm_fixed, "swarm: the facts tree of an "
	    "endpoint once its action ran (default: facts_root)" },
	{ "swarm_need", k_swarm_need, "swarm: percent of endpoints whose "
	    "facts are facts_root; the others start in swarm_fixed_root "
	    "(default 100)" },
	{ "swarm_run_actions", k_swarm_run, "swarm: run actions for real "
	    "(default: simulate them)" },
	{ "swarm_events", k_swarm_events, "swarm: append \"ms event policy "
	    "index\" lines here (enrolled, verified, fixed)" },
	{ "metrics_file", k_metrics_file, "write Prometheus metrics to this "
	    "file (name it *.prom in node_exporter's textfile directory; "
	    "default: none)" },
	{ "metrics_interval", k_metrics_ms, "write metrics_file this often "
	    "(default 15s)" },
	{ "defer_critical", k_defer_critical, "how long in all arbor-agent "
	    "defer may hold back a critical policy (default 0: not at all)" },
	{ "defer_high", k_defer_high, "... a high one (default 1d)" },
	{ "defer_medium", k_defer_medium, "... a medium one (default 1w)" },
	{ "defer_low", k_defer_low, "... a low one (default 4w)" },
	{ "control_group", k_control_group, "a group that may use the "
	    "agent's control socket besides its owner (default: none; the "
	    "socket is mode 0600)" },
	{ "reboot_command", k_reboot_command, "the command (run by /bin/sh "
	    "-c) that reboots the endpoint when policies need it (default "
	    "systemctl reboot)" },
	{ "eval", k_eval, "evaluate an applicability expression against "
	    "this endpoint's facts, print its value and exit" },
	{ NULL, NULL, NULL }
};

void
agent_conf_init(struct agent_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->map_size = 64ULL << 20;
	c->up.poll_ms = 300000;
	c->up.jitter_ms = 60000;
	c->up.timeout_ms = 10000;
	c->up.probe_ms = ARB_LINK_PROBE_MS;
	c->up.failover_ms = ARB_LINK_FAILOVER_MS;
	c->up.fetch_depth = 2;
	c->report_ms = 1000;
	c->receipt_ms = 120000;
	c->inventory_ms = 6 * 3600 * 1000LL;
	c->up.notify_jitter_ms = 10000;
	c->swarm_need = 100;
	c->action_cgroup = 1;
	c->metrics_ms = 15000;
	c->defer_ms[0] = 0;
	c->defer_ms[1] = 86400000LL;
	c->defer_ms[2] = 7 * 86400000LL;
	c->defer_ms[3] = 28 * 86400000LL;
	c->reboot_command = strdup("systemctl reboot");
}

/* The token from enroll_token_file: its first line, without blanks. */
static int
token_file_read(struct agent_conf *c)
{
	uint8_t	*buf;
	size_t	 len;
	int	 rv;

	if (c->token != NULL) {
		log_warnx("configuration: enroll_token_file: not with "
		    "enroll_token");
		return ARB_ECONFIG;
	}
	if ((rv = arb_io_read_file(c->token_file, 4096, &buf, &len)) != 0) {
		log_warnx("configuration: enroll_token_file: %s: %s",
		    c->token_file, arb_strerror(rv));
		return ARB_ECONFIG;
	}
	len = strcspn((char *)buf, "\r\n");
	while (len > 0 && (buf[len - 1] == ' ' || buf[len - 1] == '\t'))
		len--;
	buf[len] = '\0';
	if (len == 0) {
		log_warnx("configuration: enroll_token_file: %s: empty",
		    c->token_file);
		free(buf);
		return ARB_ECONFIG;
	}
	c->token = (char *)buf;
	return 0;
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
	if ((c->pubkey == NULL) == (c->trust_root == NULL)) {
		log_warnx("configuration: pubkey or trust_root: exactly one "
		    "required");
		rv = ARB_ECONFIG;
	}
	if (arb_upstream_check(&c->up, "relay") != 0)
		rv = ARB_ECONFIG;
	if (c->up.nparents == 0) {
		log_warnx("configuration: relay: at least one required");
		rv = ARB_ECONFIG;
	}
	if (c->enroll_via != NULL && (arb_tls_get()->cert == NULL ||
	    arb_tls_get()->key == NULL || arb_tls_get()->ca == NULL)) {
		log_warnx("configuration: enroll_via: needs tls_ca, and "
		    "tls_cert and tls_key (where the certificate and its "
		    "key are kept)");
		rv = ARB_ECONFIG;
	}
	if (c->token_file != NULL && token_file_read(c) != 0)
		rv = ARB_ECONFIG;
	/* Schedules are local time: the C library's, in this zone. */
	if (c->time_zone != NULL) {
		setenv("TZ", c->time_zone, 1);
		tzset();
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
	free(c->trust_root);
	arb_upstream_clear(&c->up);
	free(c->node_id);
	free(c->facts_root);
	free(c->time_zone);
	free(c->token);
	free(c->enroll_via);
	free(c->token_file);
	free(c->eval);
	free(c->swarm_fixed);
	free(c->swarm_events);
	free(c->metrics_file);
	free(c->control_group);
	free(c->reboot_command);
	for (i = 0; i < c->ngroups; i++)
		free(c->groups[i]);
	free(c->groups);
	for (i = 0; i < c->nprops; i++) {
		free(c->prop_keys[i]);
		free(c->prop_vals[i]);
	}
	free(c->prop_keys);
	free(c->prop_vals);
	memset(c, 0, sizeof(*c));
}
