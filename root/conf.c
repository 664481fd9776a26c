/*
 * arbor-root configuration keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbor/error.h"
#include "arbor/log.h"
#include "arbor/tls.h"
#include "root.h"

#define C(v)	((struct root_conf *)(v))

ARB_CONF_STRKEY(k_data_dir, struct root_conf, data_dir)
ARB_CONF_STRKEY(k_key, struct root_conf, key)

ARB_CONF_STRKEY(k_trust_root, struct root_conf, trust_root)
ARB_CONF_STRKEY(k_svc, struct root_conf, svc)
ARB_CONF_STRKEY(k_pub, struct root_conf, pub)
ARB_CONF_STRKEY(k_control, struct root_conf, control)
ARB_CONF_STRKEY(k_enroll_ca, struct root_conf, enroll_ca)
ARB_CONF_STRKEY(k_enroll_svc, struct root_conf, enroll_svc)

static int
k_cert_valid(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_duration_ms(v, 10000, 3650LL * 86400000,
	    &C(c)->cert_valid_ms, e, n);
}

int
root_conf_deadline(const char *v, int64_t *sp, char *err, size_t n)
{
	char	buf[32], *end;
	int64_t	ms;
	long long w;

	if (strcmp(v, "none") == 0) {
		*sp = 0;
		return 0;
	}
	/* Weeks besides the usual units: "1w" is how patch processes say it. */
	if (strlen(v) >= 2 && strlen(v) < sizeof(buf) &&
	    v[strlen(v) - 1] == 'w') {
		memcpy(buf, v, strlen(v) - 1);
		buf[strlen(v) - 1] = '\0';
		w = strtoll(buf, &end, 10);
		if (*end != '\0' || w < 1 || w > 520) {
			snprintf(err, n, "\"%s\": weeks must be 1..520", v);
			return ARB_ECONFIG;
		}
		*sp = (int64_t)w * 7 * 86400;
		return 0;
	}
	if (arb_conf_duration_ms(v, 1000, 3650LL * 86400000, &ms, err, n) != 0)
		return ARB_ECONFIG;
	*sp = ms / 1000;
	return 0;
}

static int
k_deadline_critical(void *c, const char *v, char *e, size_t n)
{
	return root_conf_deadline(v, &C(c)->deadline_s[0], e, n);
}

static int
k_deadline_high(void *c, const char *v, char *e, size_t n)
{
	return root_conf_deadline(v, &C(c)->deadline_s[1], e, n);
}

static int
k_deadline_medium(void *c, const char *v, char *e, size_t n)
{
	return root_conf_deadline(v, &C(c)->deadline_s[2], e, n);
}

static int
k_deadline_low(void *c, const char *v, char *e, size_t n)
{
	return root_conf_deadline(v, &C(c)->deadline_s[3], e, n);
}

static int
k_unmanaged_grace(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_duration_ms(v, 1000, 30LL * 86400000,
	    &C(c)->unmanaged_grace_ms, e, n);
}

ARB_CONF_STRKEY(k_metrics_listen, struct root_conf, metrics_listen)
ARB_CONF_STRKEY(k_api_listen, struct root_conf, api_listen)

static int
k_control_tcp(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_bool(v, &C(c)->control_tcp, e, n);
}

static int
k_map_size(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_size(v, 1 << 20, 1ULL << 40, &C(c)->map_size, e, n);
}

static int
k_head_ttl(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_duration_ms(v, 2000, 90LL * 86400000,
	    &C(c)->head_ttl_ms, e, n);
}

static int
k_nctx(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_int(v, 1, 100000, &C(c)->nctx, e, n);
}

static int
k_silent_after(void *c, const char *v, char *e, size_t n)
{
	return arb_conf_duration_ms(v, 1000, 3650LL * 86400000,
	    &C(c)->silent_after_ms, e, n);
}

static int
k_token(void *c, const char *v, char *e, size_t n)
{
	struct root_conf	*rc = C(c);
	char			**nt;

	if (strlen(v) < 8) {
		snprintf(e, n, "a token needs at least 8 characters");
		return ARB_ECONFIG;
	}
	if ((nt = realloc(rc->tokens, (rc->ntokens + 1) *
	    sizeof(*nt))) == NULL || (nt[rc->ntokens] = strdup(v)) == NULL) {
		if (nt)
			rc->tokens = nt;
		snprintf(e, n, "out of memory");
		return ARB_ECONFIG;
	}
	rc->tokens = nt;
	rc->ntokens++;
	return 0;
}

const struct arb_conf_key root_conf_keys[] = {
	{ "data_dir", k_data_dir, "directory for the store and blobs" },
	{ "key", k_key, "publisher private key (PEM, mode 0600)" },
	{ "trust_root", k_trust_root, "trust-root public key (PEM): heads "
	    "name its key statements; rotate with arborctl key rotate" },
	ARB_TLS_CONF_KEYS,
	{ "svc", k_svc, "REP address children send requests to" },
	{ "pub", k_pub, "PUB address children subscribe to" },
	{ "control", k_control, "arborctl's address (default "
	    "ipc://DATA_DIR/control.sock); ipc:// only, unless "
	    "control_tcp" },
	{ "control_tcp", k_control_tcp, "yes: allow a tcp:// control "
	    "address on loopback (any local user can then publish; "
	    "default no)" },
	{ "map_size", k_map_size, "LMDB map size (default 1G)" },
	{ "head_ttl", k_head_ttl, "how long a signed head is valid; it is "
	    "re-signed at half of it (default 24h)" },
	{ "contexts", k_nctx, "requests served in flight (default 256)" },
	{ "compliance_silent_after", k_silent_after, "an endpoint silent "
	    "this long is not reporting, never compliant (default 3d)" },
	{ "unmanaged_grace", k_unmanaged_grace, "an endpoint id that polls "
	    "the root itself this long without enrolling is listed as "
	    "unmanaged (default 10m)" },
	{ "enroll_token", k_token, "a token endpoints present at enrolment; "
	    "repeat for several" },
	{ "enroll_ca", k_enroll_ca, "directory of the enrolment CA "
	    "(arborctl ca init --enrol) that signs the TLS certificate an "
	    "endpoint asks for at enrolment" },
	{ "cert_valid", k_cert_valid, "how long those certificates are "
	    "valid; agents renew at half (default 7d)" },
	{ "enroll_svc", k_enroll_svc, "address that serves nothing but "
	    "enrolment, no client certificate asked (default none)" },
	{ "metrics_listen", k_metrics_listen, "serve Prometheus metrics at "
	    "http://HOST:PORT/metrics (loopback unless allow_plain) or "
	    "https://HOST:PORT/metrics (default: off)" },
	{ "api_listen", k_api_listen, "serve the HTTP JSON API at "
	    "http://HOST:PORT/api/v1/ (loopback only) or "
	    "https://HOST:PORT/api/v1/ (tls_cert, tls_key); may be "
	    "metrics_listen's address "
	    "(default: off)" },
	{ "deadline_critical", k_deadline_critical, "the deadline of a "
	    "critical policy that gives none, after its publish, or none "
	    "(default 24h)" },
	{ "deadline_high", k_deadline_high, "the same for high (default "
	    "1w)" },
	{ "deadline_medium", k_deadline_medium, "the same for medium "
	    "(default 30d)" },
	{ "deadline_low", k_deadline_low, "the same for low (default none)" },
	{ NULL, NULL, NULL }
};

void
root_conf_init(struct root_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->map_size = 1ULL << 30;
	c->head_ttl_ms = 24LL * 3600 * 1000;
	c->nctx = 256;
	c->cert_valid_ms = 7LL * 86400000;
	c->silent_after_ms = 3LL * 86400000;
	c->unmanaged_grace_ms = 600000;
	c->deadline_s[0] = 86400;		/* critical: a day */
	c->deadline_s[1] = 7 * 86400;		/* high: a week */
	c->deadline_s[2] = 30 * 86400;		/* medium: a month */
	c->deadline_s[3] = 0;			/* low: none */
}

/* tcp://127.0.0.1:PORT, tcp://[::1]:PORT or tcp://localhost:PORT */
static int
loopback_tcp(const char *url)
{
	static const char *const hosts[] = {
		"tcp://127.0.0.1:", "tcp://[::1]:", "tcp://localhost:", NULL
	};
	const char	*p;
	size_t		 i;

	for (i = 0; hosts[i] != NULL; i++) {
		if (strncmp(url, hosts[i], strlen(hosts[i])) != 0)
			continue;
		p = url + strlen(hosts[i]);
		if (*p == '\0')
			return 0;
		for (; *p != '\0'; p++)
			if (*p < '0' || *p > '9')
				return 0;
		return 1;
	}
	return 0;
}

/*
 * Whoever reaches the control socket can publish a policy whose action
 * every agent runs as root: it is a file only its owner opens (ipc://,
 * mode 0600), or, when asked for, TCP on loopback.
 */
static int
control_check(const struct root_conf *c)
{
	if (strncmp(c->control, "ipc://", 6) == 0)
		return 0;
	if (!c->control_tcp) {
		log_warnx("configuration: control: %s: only ipc:// addresses "
		    "(anyone who reaches a TCP one can publish what every "
		    "agent runs as root; control_tcp yes allows loopback)",
		    c->control);
		return ARB_ECONFIG;
	}
	if (!loopback_tcp(c->control)) {
		log_warnx("configuration: control: %s: with control_tcp, "
		    "only tcp://127.0.0.1:PORT, tcp://[::1]:PORT or "
		    "tcp://localhost:PORT", c->control);
		return ARB_ECONFIG;
	}
	log_warnx("root: control on %s: any local user can publish",
	    c->control);
	return 0;
}

int
root_conf_check(struct root_conf *c)
{
	size_t	len;
	int	rv = 0;

	if (c->data_dir == NULL) {
		log_warnx("configuration: data_dir: required");
		rv = ARB_ECONFIG;
	}
	if (c->key == NULL) {
		log_warnx("configuration: key: required");
		rv = ARB_ECONFIG;
	}
	if (c->svc == NULL || c->pub == NULL) {
		log_warnx("configuration: svc and pub: both required");
		rv = ARB_ECONFIG;
	} else if (arb_tls_conf_url("svc", c->svc) != 0 ||
	    arb_tls_conf_url("pub", c->pub) != 0)
		rv = ARB_ECONFIG;
	if (c->enroll_svc != NULL &&
	    arb_tls_conf_url("enroll_svc", c->enroll_svc) != 0)
		rv = ARB_ECONFIG;
	if (rv == 0 && c->control == NULL) {
		len = strlen(c->data_dir) + 32;
		if ((c->control = malloc(len)) == NULL)
			return ARB_ECONFIG;
		snprintf(c->control, len, "ipc://%s/control.sock", c->data_dir);
	}
	if (c->metrics_listen != NULL &&
	    arb_tls_conf_http("metrics_listen", c->metrics_listen) != 0)
		rv = ARB_ECONFIG;
	if (c->api_listen != NULL &&
	    arb_tls_conf_http("api_listen", c->api_listen) != 0)
		rv = ARB_ECONFIG;
	/* Its tokens must not cross a network in clear, allow_plain or not. */
	if (c->api_listen != NULL && strncmp(c->api_listen, "http://", 7) ==
	    0 && !arb_url_loopback(c->api_listen)) {
		log_warnx("configuration: api_listen: %s: plain http:// on "
		    "loopback only (the API's tokens would cross the network "
		    "in clear); use https://", c->api_listen);
		rv = ARB_ECONFIG;
	}
	if (rv == 0)
		rv = control_check(c);
	return rv;
}

void
root_conf_clear(struct root_conf *c)
{
	free(c->data_dir);
	free(c->key);
	free(c->trust_root);
	free(c->svc);
	free(c->pub);
	free(c->control);
	free(c->enroll_ca);
	free(c->enroll_svc);
	free(c->metrics_listen);
	free(c->api_listen);
	while (c->ntokens > 0)
		free(c->tokens[--c->ntokens]);
	free(c->tokens);
	memset(c, 0, sizeof(*c));
}
