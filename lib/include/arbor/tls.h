/*
 * TLS on every link: the one place that knows where a node's certificate,
 * key and pinned CA are, and that turns them into nng TLS configurations
 * for the dialers and listeners lib/net.c makes.
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

#define ARB_TLS_CONF_KEYS						\
	{ "tls_ca", arb_tls_k_ca, "PEM file of the Arbor CA that "	\
	    "signs every node's certificate (arborctl ca init)" },	\
	{ "tls_cert", arb_tls_k_cert, "PEM file of this node's "	\
	    "certificate (arborctl cert issue)" },			\
	{ "tls_key", arb_tls_k_key, "PEM file of its private key" },	\
	{ "tls_name", arb_tls_k_name, "the name the parent's "	\
	    "certificate must carry (a parent line may name its own)" },\
	{ "allow_plain", arb_tls_k_plain, "allow tcp:// on an address "	\
	    "that is not loopback (default no)" }

/* Whether url runs over TLS (tls+tcp://, wss://). */
int	arb_tls_on(const char *url);

/*
 * Whether url may be used: a tls+tcp:// or wss:// one always, a tcp:// or
 * ws:// one on loopback or with allow_plain; ipc:// always.  0, or
 * ARB_ECONFIG with the reason in err.
 */
int	arb_tls_url_ok(const char *url, char *err, size_t errlen);

/*
 * The same for each of the addresses in urls (separated by blanks: a
 * listening key may name several), logged as "configuration: key: reason".
 */
int	arb_tls_conf_url(const char *key, const char *url);

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

#endif
