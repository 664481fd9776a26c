/*
 * TLS on every link: the one place that knows where a node's certificate,
 * key and pinned CA are, and that turns them into nng TLS configurations
 * for the dialers and listeners lib/net.c makes and the https:// server
 * of lib/http.c.
 *
 * The settings are the process's: a daemon's configuration table carries
 * ARB_TLS_CONF_KEYS, whose handlers fill them in (one node, one identity).
 * Files are read again at every dial and listen, so a certificate renewed
 * on disk is used from the next connection on.
 *
 * A child verifies its parent against the pinned CA (tls_ca) and the
 * name it expects (tls_name, or the parent line's own); the root and the
 * relays require a client certificate of every child, except on an
 * enrolment listener, which serves nothing but enrolment.  A plain tcp://
 * address is refused unless it is on loopback or allow_plain is set.
 */
#ifndef ARBOR_TLS_H
#define ARBOR_TLS_H

#include <stddef.h>

#include <nng/nng.h>

struct arb_tls_conf {
	char	*ca;		/* PEM: the CA every certificate comes from */
	char	*cert;		/* PEM: this node's certificate */
	char	*key;		/* PEM: its private key (0600) */
	char	*name;		/* the name a parent's certificate must carry */
	int	 allow_plain;	/* tcp:// off loopback */
	int	 mbedtls;	/* tls_engine mbedtls: nng's own */
};

/* How a listener treats a child's certificate. */
enum arb_tls_auth {
	ARB_TLS_REQUIRE,	/* a valid client certificate or no link */
	ARB_TLS_ENROL,		/* none asked: the enrolment listener */
};

/* The process's settings (read-only outside tls.c). */
const struct arb_tls_conf *arb_tls_get(void);
/* Use cert and key (copied) as this node's own from now on. */
int	arb_tls_set_own(const char *cert, const char *key);
/* Free the settings. */
void	arb_tls_clear(void);

int	arb_tls_k_ca(void *, const char *, char *, size_t);
int	arb_tls_k_cert(void *, const char *, char *, size_t);
int	arb_tls_k_key(void *, const char *, char *, size_t);
int	arb_tls_k_name(void *, const char *, char *, size_t);
int	arb_tls_k_plain(void *, const char *, char *, size_t);
int	arb_tls_k_engine(void *, const char *, char *, size_t);

#define ARB_TLS_CONF_KEYS						\
	{ "tls_ca", arb_tls_k_ca, "PEM file of the Arbor CA that "	\
	    "signs every node's certificate (arborctl ca init)" },	\
	{ "tls_cert", arb_tls_k_cert, "PEM file of this node's "	\
	    "certificate (arborctl cert issue)" },			\
	{ "tls_key", arb_tls_k_key, "PEM file of its private key" },	\
	{ "tls_name", arb_tls_k_name, "the name the parent's "	\
	    "certificate must carry (a parent line may name its own)" },\
	{ "allow_plain", arb_tls_k_plain, "allow tcp:// on an address "	\
	    "that is not loopback (default no)" },			\
	{ "tls_engine", arb_tls_k_engine, "openssl (default) or "	\
	    "mbedtls: the library under nng's TLS" }

/*
 * Put OpenSSL under nng's TLS (lib/tls_engine.c) for the whole process;
 * done once, before the first TLS configuration.  0 or an error, logged.
 */
int	arb_tls_engine_openssl(void);

/*
 * Handshakes this process served that failed: a child without a valid
 * certificate, a scanner, plain bytes on a TLS port.  nng gives no peer
 * address to a TLS engine, so only their count is known (and only under
 * the OpenSSL engine).
 */
unsigned long long	arb_tls_refused(void);

/* Whether url runs over TLS (tls+tcp://, wss://, https://). */
int	arb_tls_on(const char *url);

/*
 * Whether url may be used: a tls+tcp://, wss:// or https:// one always, a
 * tcp://, ws:// or http:// one on loopback or with allow_plain; ipc://
 * always.  0, or ARB_ECONFIG with the reason in err.
 */
int	arb_tls_url_ok(const char *url, char *err, size_t errlen);
/* The host of SCHEME://HOST[:PORT][/PATH] is loopback or localhost. */
int	arb_url_loopback(const char *url);

/*
 * The same for each of the addresses in urls (separated by blanks: a
 * listening key may name several), logged as "configuration: key: reason".
 */
int	arb_tls_conf_url(const char *key, const char *url);

/*
 * An address to serve HTTP on (lib/http.c): http:// or https://, then
 * host:port and nothing else; http:// as arb_tls_url_ok says, https://
 * with tls_cert and tls_key.  0, or ARB_ECONFIG logged as
 * "configuration: key: reason".
 */
int	arb_tls_conf_http(const char *key, const char *url);

/*
 * Expect the certificate of the parent at url to carry name (copied);
 * a later call for the same url replaces it.  Without one, tls_name.
 */
int	arb_tls_expect(const char *url, const char *name);

/*
 * Give the dialer of url its TLS configuration (nothing for another
 * scheme, after the plain-address check).  0, or an error logged.
 */
int	arb_tls_dialer(nng_dialer d, const char *url);
/* The same for a listener, with auth saying what it asks of a child. */
int	arb_tls_listener(nng_listener l, const char *url,
	    enum arb_tls_auth auth);

/*
 * A server configuration for an https:// listener at url (lib/http.c):
 * this node's tls_cert and tls_key, no client certificate asked.  *cfgp
 * is the caller's (nng_tls_config_free).  0, or an error logged.
 */
struct nng_tls_config;
int	arb_tls_https(const char *url, struct nng_tls_config **cfgp);

#endif
