/*
 * nng's TLS on OpenSSL: an engine for nng's pluggable TLS layer
 * (nng/supplemental/tls/engine.h), registered in place of the mbedTLS one
 * Debian builds nng with.
 *
 * Why: mbedTLS 2.28 negotiates ChaCha20-Poly1305 in portable C, which
 * made a relay's TLS links cost several times their plain ones; OpenSSL
 * uses the CPU's AES-GCM instructions, and TLS 1.3.  nng still frames,
 * buffers and drives the connection; this file only turns records into
 * bytes and back, through a BIO whose reads and writes are nng's
 * nng_tls_engine_recv and nng_tls_engine_send (both non-blocking: "again"
 * becomes OpenSSL's retry, and OpenSSL's "want" becomes NNG_EAGAIN).
 *
 * Everything the mbedTLS engine checks is checked here: the peer's chain
 * against the configured CA, its validity period, the expected name (DNS
 * subjectAltName, or CN) for a client, a client certificate when the
 * server requires one.  No session tickets, no renegotiation, TLS 1.2 at
 * least.  A failed handshake is logged with OpenSSL's reason, at most
 * once a second (a scanner must not fill the log).
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/supplemental/tls/engine.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "arbor/log.h"
#include "arbor/tls.h"

struct nng_tls_engine_config {
	SSL_CTX		*ctx;
	nng_tls_mode	 mode;
	char		*server_name;
};

struct nng_tls_engine_conn {
	void		*tls;		/* nng's side, for its send and recv */
	SSL		*ssl;
	bool		 logged;	/* this connection's failure */
	bool		 server;
	bool		 refused;	/* counted in eng_refused */
};

static BIO_METHOD	*eng_bio;
static atomic_llong	 eng_logged_at;
static atomic_ullong	 eng_refused;	/* server handshakes that failed */

/* ------------------------------------------------------------- the BIO */

static int
bio_write(BIO *b, const char *buf, int len)
{
	size_t	sz = (size_t)len;
	int	rv;

	BIO_clear_retry_flags(b);
	if (len <= 0)
		return 0;
	rv = nng_tls_engine_send(BIO_get_data(b), (const uint8_t *)buf, &sz);
	if (rv == 0)
		return (int)sz;
	if (rv == NNG_EAGAIN)
		BIO_set_retry_write(b);
	return -1;
}

static int
bio_read(BIO *b, char *buf, int len)
{
	size_t	sz = (size_t)len;
	int	rv;

	BIO_clear_retry_flags(b);
	if (len <= 0)
		return 0;
	rv = nng_tls_engine_recv(BIO_get_data(b), (uint8_t *)buf, &sz);
	if (rv == 0)
		return (int)sz;
	if (rv == NNG_EAGAIN)
		BIO_set_retry_read(b);
	return -1;
}

static long
bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int
bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

/* ------------------------------------------------------- a connection */

/* OpenSSL's reason for the last failure, logged at most once a second. */
static void
conn_log(nng_tls_engine_conn *ec, const char *what)
{
	char		 buf[256];
	long		 v;
	long long	 now = (long long)time(NULL), last;
	unsigned long	 e;

	if (ec->logged)
		return;
	ec->logged = true;
	last = atomic_load(&eng_logged_at);
	if (last == now || !atomic_compare_exchange_strong(&eng_logged_at,
	    &last, now))
		return;
	if ((v = SSL_get_verify_result(ec->ssl)) != X509_V_OK)
		log_warnx("tls: %s: peer certificate: %s", what,
		    X509_verify_cert_error_string(v));
	else if ((e = ERR_peek_last_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		log_warnx("tls: %s: %s", what, buf);
	}
}

/* An OpenSSL result as nng's: NNG_EAGAIN while it waits for I/O. */
static int
conn_err(nng_tls_engine_conn *ec, int r, const char *what)
{
	int	rv;

	switch (SSL_get_error(ec->ssl, r)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		rv = NNG_EAGAIN;
		break;
	case SSL_ERROR_ZERO_RETURN:
		rv = NNG_ECLOSED;
		break;
	case SSL_ERROR_SYSCALL:
		rv = NNG_ECONNSHUT;
		break;
	default:
		conn_log(ec, what);
		rv = SSL_get_verify_result(ec->ssl) != X509_V_OK ?
		    NNG_EPEERAUTH : NNG_ECRYPTO;
		break;
	}
	ERR_clear_error();
	return rv;
}

static int
conn_init(nng_tls_engine_conn *ec, void *tls, nng_tls_engine_config *cfg)
{
	BIO	*b;

	ec->tls = tls;
	if ((ec->ssl = SSL_new(cfg->ctx)) == NULL ||
	    (b = BIO_new(eng_bio)) == NULL) {
		SSL_free(ec->ssl);
		ec->ssl = NULL;
		ERR_clear_error();
		return NNG_ENOMEM;
	}
	BIO_set_data(b, tls);
	SSL_set_bio(ec->ssl, b, b);
	if (cfg->mode == NNG_TLS_MODE_SERVER) {
		ec->server = true;
		SSL_set_accept_state(ec->ssl);
		return 0;
	}
	SSL_set_connect_state(ec->ssl);
	if (cfg->server_name != NULL &&
	    (SSL_set_tlsext_host_name(ec->ssl, cfg->server_name) != 1 ||
	    SSL_set1_host(ec->ssl, cfg->server_name) != 1)) {
		ERR_clear_error();
		return NNG_ENOMEM;
	}
	return 0;
}

static void
conn_fini(nng_tls_engine_conn *ec)
{
	SSL_free(ec->ssl);
	ec->ssl = NULL;
}

static void
conn_close(nng_tls_engine_conn *ec)
{
	/* A close-notify if it can go; nothing depends on it. */
	(void)SSL_shutdown(ec->ssl);
	ERR_clear_error();
}

static int
conn_handshake(nng_tls_engine_conn *ec)
{
	int	r;

	int	rv;

	if ((r = SSL_do_handshake(ec->ssl)) == 1)
		return 0;
	rv = conn_err(ec, r, "handshake");
	if (rv != NNG_EAGAIN && ec->server && !ec->refused) {
		ec->refused = true;
		atomic_fetch_add(&eng_refused, 1);
	}
	return rv;
}

unsigned long long
arb_tls_refused(void)
{
	return atomic_load(&eng_refused);
}

static int
conn_recv(nng_tls_engine_conn *ec, uint8_t *buf, size_t *szp)
{
	int	r, len = *szp > INT_MAX ? INT_MAX : (int)*szp;

	if ((r = SSL_read(ec->ssl, buf, len)) > 0) {
		*szp = (size_t)r;
		return 0;
	}
	return conn_err(ec, r, "receive");
}

static int
conn_send(nng_tls_engine_conn *ec, const uint8_t *buf, size_t *szp)
{
	int	r, len = *szp > INT_MAX ? INT_MAX : (int)*szp;

	if ((r = SSL_write(ec->ssl, buf, len)) > 0) {
		*szp = (size_t)r;
		return 0;
	}
	return conn_err(ec, r, "send");
}

static bool
conn_verified(nng_tls_engine_conn *ec)
{
	return SSL_get0_peer_certificate(ec->ssl) != NULL &&
	    SSL_get_verify_result(ec->ssl) == X509_V_OK;
}

/* ------------------------------------------------------ a configuration */

static int
config_init(nng_tls_engine_config *cfg, nng_tls_mode mode)
{
	SSL_CTX	*ctx;

	cfg->mode = mode;
	ctx = SSL_CTX_new(mode == NNG_TLS_MODE_SERVER ? TLS_server_method() :
	    TLS_client_method());
	if (ctx == NULL) {
		ERR_clear_error();
		return NNG_ENOMEM;
	}
	(void)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION);
	(void)SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	/* nng's defaults: a client verifies its server, a server asks nothing. */
	SSL_CTX_set_verify(ctx, mode == NNG_TLS_MODE_SERVER ? SSL_VERIFY_NONE :
	    SSL_VERIFY_PEER, NULL);
	cfg->ctx = ctx;
	return 0;
}

static void
config_fini(nng_tls_engine_config *cfg)
{
	SSL_CTX_free(cfg->ctx);
	free(cfg->server_name);
	cfg->ctx = NULL;
	cfg->server_name = NULL;
}

static int
config_server(nng_tls_engine_config *cfg, const char *name)
{
	char	*dup;

	if ((dup = strdup(name)) == NULL)
		return NNG_ENOMEM;
	free(cfg->server_name);
	cfg->server_name = dup;
	return 0;
}

/* OPTIONAL: verified when a certificate is shown, the link kept if not. */
static int
verify_optional(int ok, X509_STORE_CTX *x)
{
	(void)ok;
	(void)x;
	return 1;
}

static int
config_auth(nng_tls_engine_config *cfg, nng_tls_auth_mode mode)
{
	switch (mode) {
	case NNG_TLS_AUTH_MODE_NONE:
		SSL_CTX_set_verify(cfg->ctx, SSL_VERIFY_NONE, NULL);
		return 0;
	case NNG_TLS_AUTH_MODE_OPTIONAL:
		SSL_CTX_set_verify(cfg->ctx, SSL_VERIFY_PEER, verify_optional);
		return 0;
	case NNG_TLS_AUTH_MODE_REQUIRED:
		SSL_CTX_set_verify(cfg->ctx, SSL_VERIFY_PEER |
		    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
		return 0;
	}
	return NNG_EINVAL;
}

static int
config_ca_chain(nng_tls_engine_config *cfg, const char *certs,
    const char *crl)
{
	X509_STORE	*st = SSL_CTX_get_cert_store(cfg->ctx);
	X509_CRL	*cr;
	X509		*x;
	BIO		*b;
	int		 n = 0, rv = 0;

	if ((b = BIO_new_mem_buf(certs, -1)) == NULL)
		return NNG_ENOMEM;
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if (X509_STORE_add_cert(st, x) != 1 ||
		    (cfg->mode == NNG_TLS_MODE_SERVER &&
		    SSL_CTX_add_client_CA(cfg->ctx, x) != 1))
			rv = NNG_ECRYPTO;
		X509_free(x);
		n++;
	}
	BIO_free(b);
	if (n == 0)
		rv = NNG_EINVAL;
	if (rv == 0 && crl != NULL && crl[0] != '\0') {
		if ((b = BIO_new_mem_buf(crl, -1)) == NULL)
			return NNG_ENOMEM;
		while ((cr = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL)) !=
		    NULL) {
			if (X509_STORE_add_crl(st, cr) != 1)
				rv = NNG_ECRYPTO;
			X509_CRL_free(cr);
		}
		BIO_free(b);
		(void)X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK);
	}
	ERR_clear_error();
	return rv;
}

static int
config_own_cert(nng_tls_engine_config *cfg, const char *cert,
    const char *key, const char *pass)
{
	EVP_PKEY	*pk = NULL;
	X509		*x;
	BIO		*b;
	int		 rv = NNG_EINVAL;

	if ((b = BIO_new_mem_buf(cert, -1)) == NULL)
		return NNG_ENOMEM;
	if ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL)
		goto done;
	if (SSL_CTX_use_certificate(cfg->ctx, x) != 1) {
		X509_free(x);
		goto done;
	}
	X509_free(x);
	/* The rest of the file: the chain up to the CA. */
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
		if (SSL_CTX_add0_chain_cert(cfg->ctx, x) != 1) {
			X509_free(x);
			goto done;
		}
	BIO_free(b);
	if ((b = BIO_new_mem_buf(key, -1)) == NULL) {
		rv = NNG_ENOMEM;
		goto out;
	}
	if ((pk = PEM_read_bio_PrivateKey(b, NULL, NULL, (void *)pass)) ==
	    NULL || SSL_CTX_use_PrivateKey(cfg->ctx, pk) != 1 ||
	    SSL_CTX_check_private_key(cfg->ctx) != 1)
		goto done;
	rv = 0;
done:
	BIO_free(b);
out:
	EVP_PKEY_free(pk);
	ERR_clear_error();
	return rv;
}

static int
tls_version(nng_tls_version v)
{
	switch (v) {
	case NNG_TLS_1_0:
		return TLS1_VERSION;
	case NNG_TLS_1_1:
		return TLS1_1_VERSION;
	case NNG_TLS_1_2:
		return TLS1_2_VERSION;
	case NNG_TLS_1_3:
		return TLS1_3_VERSION;
	}
	return -1;
}

static int
config_version(nng_tls_engine_config *cfg, nng_tls_version min,
    nng_tls_version max)
{
	int	lo = tls_version(min), hi = tls_version(max);

	if (lo < 0 || hi < 0 || lo > hi)
		return NNG_ENOTSUP;
	/* Never below TLS 1.2, whatever is asked. */
	if (lo < TLS1_2_VERSION)
		lo = TLS1_2_VERSION;
	if (hi < lo ||
	    SSL_CTX_set_min_proto_version(cfg->ctx, lo) != 1 ||
	    SSL_CTX_set_max_proto_version(cfg->ctx, hi) != 1) {
		ERR_clear_error();
		return NNG_ENOTSUP;
	}
	return 0;
}

/* ------------------------------------------------------------ register */

static nng_tls_engine_config_ops eng_config_ops = {
	.size		= sizeof(nng_tls_engine_config),
	.init		= config_init,
	.fini		= config_fini,
	.server		= config_server,
	.auth		= config_auth,
	.ca_chain	= config_ca_chain,
	.own_cert	= config_own_cert,
	.version	= config_version,
};

static nng_tls_engine_conn_ops eng_conn_ops = {
	.size		= sizeof(nng_tls_engine_conn),
	.init		= conn_init,
	.fini		= conn_fini,
	.close		= conn_close,
	.handshake	= conn_handshake,
	.recv		= conn_recv,
	.send		= conn_send,
	.verified	= conn_verified,
};

static const nng_tls_engine eng = {
	.version	= NNG_TLS_ENGINE_VERSION,
	.config_ops	= &eng_config_ops,
	.conn_ops	= &eng_conn_ops,
	.name		= "openssl",
	.description	= "Arbor's nng TLS engine on OpenSSL",
	.fips_mode	= false,
};

/*
 * No clean-up of OpenSSL at exit: a daemon leaves its dialled sockets
 * open for the exit to close (lib/net.c), and nng's threads may be in a
 * handshake on one of them while atexit handlers run.  This must be the
 * process's first initialisation of OpenSSL, so it runs before main.
 */
__attribute__((constructor)) static void
eng_no_atexit(void)
{
	(void)OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
}

static pthread_once_t	eng_once = PTHREAD_ONCE_INIT;
static int		eng_rv;

static void
eng_register(void)
{
	BIO_METHOD	*m;
	int		 rv;

	if ((m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
	    "nng")) == NULL || BIO_meth_set_write(m, bio_write) != 1 ||
	    BIO_meth_set_read(m, bio_read) != 1 ||
	    BIO_meth_set_ctrl(m, bio_ctrl) != 1 ||
	    BIO_meth_set_create(m, bio_create) != 1) {
		BIO_meth_free(m);
		eng_rv = -ENOMEM;
		return;
	}
	eng_bio = m;	/* for the life of the process, as nng keeps eng */
	if ((rv = nng_tls_engine_register(&eng)) != 0) {
		log_warnx("tls: cannot use OpenSSL for TLS: %s",
		    nng_strerror(rv));
		eng_rv = -EINVAL;
	}
}

int
arb_tls_engine_openssl(void)
{
	(void)pthread_once(&eng_once, eng_register);
	return eng_rv;
}
