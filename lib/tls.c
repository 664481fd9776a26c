/*
 * TLS settings and the nng TLS configurations made from them (nng's TLS
 * supplement, mbedTLS underneath in Debian's build: ECDSA P-256
 * certificates, no Ed25519).  lib/net.c hands every dialer and listener
 * here before starting it, and lib/http.c asks here for its https://
 * server's; nothing else in Arbor knows about TLS.
 */
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

#include "arbor/conf.h"
#include "arbor/error.h"
#include "arbor/log.h"
#include "arbor/tls.h"

#define TLS_PEM_MAX	(64 * 1024)	/* a certificate or key file */

struct tls_expect {
	char	*url;
	char	*name;
};

static struct arb_tls_conf	 tls;
static struct tls_expect	*expects;
static size_t			 nexpects;

const struct arb_tls_conf *
arb_tls_get(void)
{
	return &tls;
}

int
arb_tls_set_own(const char *cert, const char *key)
{
	char	*c, *k;

	if ((c = strdup(cert)) == NULL || (k = strdup(key)) == NULL) {
		free(c);
		return -ENOMEM;
	}
	free(tls.cert);
	free(tls.key);
	tls.cert = c;
	tls.key = k;
	return 0;
}

void
arb_tls_clear(void)
{
	size_t	i;

	free(tls.ca);
	free(tls.cert);
	free(tls.key);
	free(tls.name);
	memset(&tls, 0, sizeof(tls));
	for (i = 0; i < nexpects; i++) {
		free(expects[i].url);
		free(expects[i].name);
	}
	free(expects);
	expects = NULL;
	nexpects = 0;
}

int
arb_tls_k_ca(void *c, const char *v, char *e, size_t n)
{
	(void)c;
	return arb_conf_str_set(&tls.ca, v, e, n);
}

int
arb_tls_k_cert(void *c, const char *v, char *e, size_t n)
{
	(void)c;
	return arb_conf_str_set(&tls.cert, v, e, n);
}

int
arb_tls_k_key(void *c, const char *v, char *e, size_t n)
{
	(void)c;
	return arb_conf_str_set(&tls.key, v, e, n);
}

int
arb_tls_k_name(void *c, const char *v, char *e, size_t n)
{
	(void)c;
	return arb_conf_str_set(&tls.name, v, e, n);
}

int
arb_tls_k_plain(void *c, const char *v, char *e, size_t n)
{
	(void)c;
	return arb_conf_bool(v, &tls.allow_plain, e, n);
}

int
arb_tls_k_engine(void *c, const char *v, char *e, size_t n)
{
	(void)c;
	if (strcmp(v, "openssl") == 0 || strcmp(v, "mbedtls") == 0) {
		tls.mbedtls = strcmp(v, "mbedtls") == 0;
		return 0;
	}
	snprintf(e, n, "%s: not openssl or mbedtls", v);
	return ARB_ECONFIG;
}

/*
 * TLS_ON for the schemes that run over TLS (tls+tcp://, wss://),
 * TLS_PLAIN for their plain forms (tcp://, ws://), TLS_LOCAL for the rest
 * (ipc://, inproc://: never off the machine).
 */
enum tls_scheme {
	TLS_LOCAL,
	TLS_PLAIN,
	TLS_ON,
};

static enum tls_scheme
tls_scheme(const char *url, const char **hostp)
{
	static const struct {
		const char	*prefix;
		enum tls_scheme	 s;
	} schemes[] = {
		{ "tls+tcp://", TLS_ON }, { "wss://", TLS_ON },
		{ "https://", TLS_ON },
		{ "tcp://", TLS_PLAIN }, { "ws://", TLS_PLAIN },
		{ "http://", TLS_PLAIN },
	};
	size_t	i, len;

	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		len = strlen(schemes[i].prefix);
		if (strncmp(url, schemes[i].prefix, len) == 0) {
			if (hostp != NULL)
				*hostp = url + len;
			return schemes[i].s;
		}
	}
	return TLS_LOCAL;
}

int
arb_tls_on(const char *url)
{
	return tls_scheme(url, NULL) == TLS_ON;
}

/*
 * The host of HOST[:PORT][/PATH] ([V6]:PORT too) is a loopback address or
 * localhost.
 */
static int
tls_loopback(const char *hostport)
{
	char		 host[256];
	const char	*end;
	size_t		 len;
	struct in_addr	 a4;
	struct in6_addr	 a6;

	if (hostport[0] == '[') {
		if ((end = strchr(hostport, ']')) == NULL)
			return 0;
		hostport++;
	} else if ((end = strpbrk(hostport, ":/")) == NULL)
		end = hostport + strlen(hostport);
	if ((len = (size_t)(end - hostport)) >= sizeof(host))
		return 0;
	memcpy(host, hostport, len);
	host[len] = '\0';
	if (strcmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;
}

int
arb_url_loopback(const char *url)
{
	const char *hp = strstr(url, "://");

	return hp != NULL && tls_loopback(hp + 3);
}

int
arb_tls_url_ok(const char *url, char *err, size_t errlen)
{
	const char	*host;
	int		 http;

	if (tls_scheme(url, &host) != TLS_PLAIN || tls.allow_plain ||
	    tls_loopback(host))
		return 0;
	http = strncmp(url, "http://", 7) == 0;
	snprintf(err, errlen, "%s: plain %.*s off loopback; use %s (or set "
	    "allow_plain yes)", url, (int)(host - url), url,
	    http ? "https://" : "tls+tcp:// or wss://");
	return ARB_ECONFIG;
}

int
arb_tls_conf_url(const char *key, const char *urls)
{
	char	 err[512], *copy, *u, *save = NULL;
	int	 rv = 0;

	if ((copy = strdup(urls)) == NULL)
		return -ENOMEM;
	for (u = strtok_r(copy, " \t", &save); u != NULL && rv == 0;
	    u = strtok_r(NULL, " \t", &save))
		if ((rv = arb_tls_url_ok(u, err, sizeof(err))) != 0)
			log_warnx("configuration: %s: %s", key, err);
	free(copy);
	return rv;
}

int
arb_tls_conf_http(const char *key, const char *url)
{
	const char	*hp;

	if (strncmp(url, "http://", 7) == 0)
		hp = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		hp = url + 8;
	else {
		log_warnx("configuration: %s: %s: not http://HOST:PORT or "
		    "https://HOST:PORT", key, url);
		return ARB_ECONFIG;
	}
	if (strchr(hp, '/') != NULL || strchr(hp, ':') == NULL ||
	    hp[strlen(hp) - 1] == ':') {
		log_warnx("configuration: %s: %s: HOST:PORT and no path (the "
		    "metrics are at /metrics)", key, url);
		return ARB_ECONFIG;
	}
	if (hp == url + 8 && (tls.cert == NULL || tls.key == NULL)) {
		log_warnx("configuration: %s: %s: https:// needs tls_cert and "
		    "tls_key", key, url);
		return ARB_ECONFIG;
	}
	return arb_tls_conf_url(key, url);
}

int
arb_tls_expect(const char *url, const char *name)
{
	struct tls_expect	*nv;
	char			*u, *nm;
	size_t			 i;

	if ((nm = strdup(name)) == NULL)
		return -ENOMEM;
	for (i = 0; i < nexpects; i++)
		if (strcmp(expects[i].url, url) == 0) {
			free(expects[i].name);
			expects[i].name = nm;
			return 0;
		}
	if ((u = strdup(url)) == NULL ||
	    (nv = realloc(expects, (nexpects + 1) * sizeof(*nv))) == NULL) {
		free(u);
		free(nm);
		return -ENOMEM;
	}
	expects = nv;
	expects[nexpects].url = u;
	expects[nexpects++].name = nm;
	return 0;
}

static const char *
tls_name_for(const char *url)
{
	size_t	i;

	for (i = 0; i < nexpects; i++)
		if (strcmp(expects[i].url, url) == 0)
			return expects[i].name;
	return tls.name;
}

/* Read a PEM file whole, NUL-terminated. */
static int
tls_read_pem(const char *url, const char *path, char **bufp)
{
	FILE	*fp;
	char	*buf;
	size_t	 n;
	int	 e;

	if ((fp = fopen(path, "re")) == NULL) {
		e = errno;
		log_warnx("%s: %s: %s", url, path, strerror(e));
		return -e;
	}
	if ((buf = malloc(TLS_PEM_MAX + 1)) == NULL) {
		fclose(fp);
		return -ENOMEM;
	}
	n = fread(buf, 1, TLS_PEM_MAX + 1, fp);
	fclose(fp);
	if (n == 0 || n > TLS_PEM_MAX) {
		log_warnx("%s: %s: %s", url, path, n == 0 ? "empty" :
		    "larger than 64 KiB");
		free(buf);
		return ARB_ECONFIG;
	}
	buf[n] = '\0';
	*bufp = buf;
	return 0;
}

/* Our certificate and key into cfg. */
static int
tls_own(nng_tls_config *cfg, const char *url)
{
	char	*cert = NULL, *key = NULL;
	int	 rv;

	if ((rv = tls_read_pem(url, tls.cert, &cert)) != 0 ||
	    (rv = tls_read_pem(url, tls.key, &key)) != 0)
		goto done;
	if ((rv = nng_tls_config_own_cert(cfg, cert, key, NULL)) != 0) {
		log_warnx("%s: %s, %s: %s", url, tls.cert, tls.key,
		    nng_strerror(rv));
		rv = ARB_ECONFIG;
	}
done:
	free(cert);
	if (key != NULL) {
		memset(key, 0, strlen(key));
		free(key);
	}
	return rv;
}

/*
 * A configuration for url in mode: the pinned CA always, our own
 * certificate when we have one (a server must).
 */
static int
tls_config(const char *url, nng_tls_mode mode, nng_tls_config **cfgp)
{
	nng_tls_config	*cfg;
	int		 rv;

	if (tls.ca == NULL) {
		log_warnx("%s: TLS needs tls_ca", url);
		return ARB_ECONFIG;
	}
	if ((tls.cert == NULL) != (tls.key == NULL)) {
		log_warnx("%s: tls_cert and tls_key go together", url);
		return ARB_ECONFIG;
	}
	if (mode == NNG_TLS_MODE_SERVER && tls.cert == NULL) {
		log_warnx("%s: listening with TLS needs tls_cert and "
		    "tls_key", url);
		return ARB_ECONFIG;
	}
	if (!tls.mbedtls && (rv = arb_tls_engine_openssl()) != 0)
		return rv;
	if ((rv = nng_tls_config_alloc(&cfg, mode)) != 0) {
		log_warnx("%s: TLS: %s", url, nng_strerror(rv));
		return rv == NNG_ENOMEM ? -ENOMEM : ARB_ENET;
	}
	if ((rv = nng_tls_config_ca_file(cfg, tls.ca)) != 0) {
		log_warnx("%s: tls_ca %s: %s", url, tls.ca, nng_strerror(rv));
		nng_tls_config_free(cfg);
		return ARB_ECONFIG;
	}
	/*
	 * A child without its certificate yet (it comes from enrolment)
	 * dials without one: only an enrolment listener takes it.
	 */
	if (tls.cert != NULL && !(mode == NNG_TLS_MODE_CLIENT &&
	    access(tls.cert, F_OK) != 0 && errno == ENOENT) &&
	    (rv = tls_own(cfg, url)) != 0) {
		nng_tls_config_free(cfg);
		return rv;
	}
	*cfgp = cfg;
	return 0;
}

static int
tls_plain_check(const char *url)
{
	char	err[512];
	int	rv;

	if ((rv = arb_tls_url_ok(url, err, sizeof(err))) != 0)
		log_warnx("%s", err);
	return rv;
}

int
arb_tls_dialer(nng_dialer d, const char *url)
{
	nng_tls_config	*cfg;
	const char	*name;
	int		 rv;

	if (!arb_tls_on(url))
		return tls_plain_check(url);
	if ((name = tls_name_for(url)) == NULL) {
		log_warnx("%s: TLS needs the name the parent's "
		    "certificate carries (tls_name)", url);
		return ARB_ECONFIG;
	}
	if ((rv = tls_config(url, NNG_TLS_MODE_CLIENT, &cfg)) != 0)
		return rv;
	if ((rv = nng_tls_config_server_name(cfg, name)) != 0 ||
	    (rv = nng_tls_config_auth_mode(cfg,
	    NNG_TLS_AUTH_MODE_REQUIRED)) != 0 ||
	    (rv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg)) != 0) {
		log_warnx("%s: TLS: %s", url, nng_strerror(rv));
		rv = ARB_ENET;
	}
	nng_tls_config_free(cfg);	/* the dialer holds it */
	return rv;
}

int
arb_tls_listener(nng_listener l, const char *url, enum arb_tls_auth auth)
{
	nng_tls_config	*cfg;
	int		 rv;

	if (!arb_tls_on(url))
		return tls_plain_check(url);
	if ((rv = tls_config(url, NNG_TLS_MODE_SERVER, &cfg)) != 0)
		return rv;
	if ((rv = nng_tls_config_auth_mode(cfg, auth == ARB_TLS_REQUIRE ?
	    NNG_TLS_AUTH_MODE_REQUIRED : NNG_TLS_AUTH_MODE_NONE)) != 0 ||
	    (rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, cfg)) != 0) {
		log_warnx("%s: TLS: %s", url, nng_strerror(rv));
		rv = ARB_ENET;
	}
	nng_tls_config_free(cfg);
	return rv;
}

int
arb_tls_https(const char *url, struct nng_tls_config **cfgp)
{
	nng_tls_config	*cfg;
	int		 rv;

	if (tls.cert == NULL || tls.key == NULL) {
		log_warnx("%s: https:// needs tls_cert and tls_key", url);
		return ARB_ECONFIG;
	}
	if (!tls.mbedtls && (rv = arb_tls_engine_openssl()) != 0)
		return rv;
	if ((rv = nng_tls_config_alloc(&cfg, NNG_TLS_MODE_SERVER)) != 0) {
		log_warnx("%s: TLS: %s", url, nng_strerror(rv));
		return rv == NNG_ENOMEM ? -ENOMEM : ARB_ENET;
	}
	/* A scraper shows no certificate: what it reads is not secret. */
	if ((rv = nng_tls_config_auth_mode(cfg,
	    NNG_TLS_AUTH_MODE_NONE)) != 0) {
		log_warnx("%s: TLS: %s", url, nng_strerror(rv));
		nng_tls_config_free(cfg);
		return ARB_ENET;
	}
	if ((rv = tls_own(cfg, url)) != 0) {
		nng_tls_config_free(cfg);
		return rv;
	}
	*cfgp = cfg;
	return 0;
}
