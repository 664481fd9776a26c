/*
 * Ed25519 keys and signatures, and SHA-256, over OpenSSL 3's EVP
 * interface.  This is the only file in Arbor that includes an OpenSSL
 * header, so it is the one seam a test or a port to another library
 * replaces.  OpenSSL's errors are translated here, once: the library's
 * text is logged and the caller gets ARB_ECRYPTO.  A signature that does
 * not verify is not an error of the library and is not logged here; the
 * caller knows what it was verifying and logs that.
 *
 * Private keys live only inside EVP_PKEY objects, which cleanse their
 * private material when freed; raw private bytes that pass through this
 * file are cleansed before their memory is released.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/pem.h>

#include "arbor/error.h"
#include "arbor/io.h"
#include "arbor/log.h"
#include "arbor/sig.h"
#include "sig_int.h"

/* Streaming buffer for arb_sha256_fd. */
#define SHA_FILE_BUF	(256 * 1024)

struct arb_sha256 {
	EVP_MD_CTX	*ctx;
};

struct arb_key {
	EVP_PKEY	*pkey;
	int		 private;	/* holds the private half */
};

void
arb__crypto_log(const char *what)
{
	const char	*data = NULL;
	char		 buf[256];
	unsigned long	 e;
	int		 flags = 0;

	if ((e = ERR_peek_last_error_data(&data, &flags)) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		/* Add the detail OpenSSL attached (what it could not read). */
		if (data != NULL && *data != '\0' && (flags & ERR_TXT_STRING))
			log_warnx("%s: %s (%s)", what, buf, data);
		else
			log_warnx("%s: %s", what, buf);
	} else
		log_warnx("%s: crypto library failure", what);
	ERR_clear_error();
}

/*
 * sig_crypto_log, then ARB_ECRYPTO.  Small enough to be inlined, so that
 * the compiler sees every failure path return non-zero (and does not
 * take an out-parameter that only success writes for uninitialised).
 */
static inline int
sig_crypto_err(const char *what)
{
	arb__crypto_log(what);
	return ARB_ECRYPTO;
}

/* ---- SHA-256 */

int
arb_sha256_new(struct arb_sha256 **hp)
{
	struct arb_sha256	*h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return -ENOMEM;
	if ((h->ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(h->ctx);
		free(h);
		return sig_crypto_err("sha256");
	}
	*hp = h;
	return 0;
}

int
arb_sha256_update(struct arb_sha256 *h, const void *data, size_t len)
{
	if (h == NULL || (data == NULL && len > 0))
		return ARB_EINVAL;
	if (len == 0)
		return 0;
	if (EVP_DigestUpdate(h->ctx, data, len) != 1)
		return sig_crypto_err("sha256");
	return 0;
}

int
arb_sha256_final(struct arb_sha256 *h, uint8_t out[ARB_SHA256_LEN])
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen = 0;

	if (h == NULL)
		return ARB_EINVAL;
	if (EVP_DigestFinal_ex(h->ctx, md, &mdlen) != 1 ||
	    mdlen != ARB_SHA256_LEN)
		return sig_crypto_err("sha256");
	memcpy(out, md, ARB_SHA256_LEN);
	return 0;
}

int
arb_sha256_reset(struct arb_sha256 *h)
{
	if (h == NULL)
		return ARB_EINVAL;
	if (EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1)
		return sig_crypto_err("sha256");
	return 0;
}

void
arb_sha256_free(struct arb_sha256 *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

int
arb_random(void *buf, size_t len)
{
	if (len > INT_MAX || RAND_bytes(buf, (int)len) != 1)
		return sig_crypto_err("random");
	return 0;
}

int
arb_sha256(const void *data, size_t len, uint8_t out[ARB_SHA256_LEN])
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen = 0;

	if (data == NULL && len > 0)
		return ARB_EINVAL;
	if (EVP_Digest(len > 0 ? data : "", len, md, &mdlen, EVP_sha256(),
	    NULL) != 1 || mdlen != ARB_SHA256_LEN)
		return sig_crypto_err("sha256");
	memcpy(out, md, ARB_SHA256_LEN);
	return 0;
}

int
arb_sha256_fd(struct arb_sha256 *h, int fd, const char *path, uint64_t *np)
{
	uint8_t		*buf;
	uint64_t	 total = 0;
	size_t		 n;
	int		 rv;

	if ((buf = malloc(SHA_FILE_BUF)) == NULL) {
		rv = -errno;
		log_warn("%s", path);
		return rv;
	}
	for (;;) {
		if ((rv = arb_io_read(fd, buf, SHA_FILE_BUF, &n)) != 0) {
			log_warn("%s", path);
			break;
		}
		if (n == 0)
			break;
		if ((rv = arb_sha256_update(h, buf, n)) != 0)
			break;
		total += (uint64_t)n;
	}
	free(buf);
	if (rv == 0)
		*np = total;
	return rv;
}

int
arb_sha256_file(const char *path, uint8_t out[ARB_SHA256_LEN],
    uint64_t *sizep)
{
	struct arb_sha256	*h = NULL;
	uint8_t			 md[ARB_SHA256_LEN];
	uint64_t		 size;
	int			 fd, rv;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		rv = -errno;
		log_warn("%s", path);
		return rv;
	}
	if ((rv = arb_sha256_new(&h)) != 0 ||
	    (rv = arb_sha256_fd(h, fd, path, &size)) != 0 ||
	    (rv = arb_sha256_final(h, md)) != 0)
		goto fail;
	memcpy(out, md, sizeof(md));
	if (sizep != NULL)
		*sizep = size;
fail:
	arb_sha256_free(h);
	close(fd);
	return rv;
}

void
arb_hex(const uint8_t *in, size_t len, char *out)
{
	static const char	digits[] = "0123456789abcdef";
	size_t			i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

int
arb_ct_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

static int
sig_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
arb_unhex(const char *in, uint8_t *out, size_t len)
{
	size_t	i;

	if (in == NULL)
		return ARB_EINVAL;
	/* Check everything first, so that out is written only on success. */
	for (i = 0; i < 2 * len; i++)
		if (sig_hexval(in[i]) < 0)
			return ARB_EINVAL;
	if (in[2 * len] != '\0')
		return ARB_EINVAL;
	for (i = 0; i < len; i++)
		out[i] = (uint8_t)(sig_hexval(in[2 * i]) << 4 |
		    sig_hexval(in[2 * i + 1]));
	return 0;
}

/* ---- Ed25519 keys */

static int
sig_key_wrap(EVP_PKEY *pkey, int private, struct arb_key **kp)
{
	struct arb_key	*k;

	if ((k = calloc(1, sizeof(*k))) == NULL) {
		EVP_PKEY_free(pkey);
		return -ENOMEM;
	}
	k->pkey = pkey;
	k->private = private;
	*kp = k;
	return 0;
}

int
arb_key_generate(struct arb_key **kp)
{
	EVP_PKEY_CTX	*ctx;
	EVP_PKEY	*pkey = NULL;

	if ((ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL)) == NULL ||
	    EVP_PKEY_keygen_init(ctx) != 1 ||
	    EVP_PKEY_keygen(ctx, &pkey) != 1) {
		EVP_PKEY_CTX_free(ctx);
		return sig_crypto_err("ed25519 key generation");
	}
	EVP_PKEY_CTX_free(ctx);
	return sig_key_wrap(pkey, 1, kp);
}

/*
 * Create or truncate path with exactly the given mode (whatever the umask
 * and whatever mode an existing file had, before anything is written to
 * it), write pkey to it as PEM (PKCS#8 when private, else
 * SubjectPublicKeyInfo), and fsync it.
 */
static int
sig_write_pem(const char *path, mode_t mode, EVP_PKEY *pkey, int private)
{
	BIO	*bio = NULL;
	int	 fd, rv, ok;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    mode);
	if (fd == -1) {
		rv = -errno;
		log_warn("%s", path);
		return rv;
	}
	if (fchmod(fd, mode) == -1) {
		rv = -errno;
		log_warn("%s", path);
		goto fail;
	}
	if ((bio = BIO_new_fd(fd, BIO_NOCLOSE)) == NULL) {
		rv = sig_crypto_err(path);
		goto fail;
	}
	if (private)
		ok = PEM_write_bio_PKCS8PrivateKey(bio, pkey, NULL, NULL, 0,
		    NULL, NULL);
	else
		ok = PEM_write_bio_PUBKEY(bio, pkey);
	if (ok != 1 || BIO_flush(bio) != 1) {
		rv = sig_crypto_err(path);
		goto fail;
	}
	if (fsync(fd) == -1) {
		rv = -errno;
		log_warn("%s", path);
		goto fail;
	}
	rv = 0;
fail:
	BIO_free(bio);
	if (close(fd) == -1 && rv == 0) {
		rv = -errno;
		log_warn("%s", path);
	}
	return rv;
}

int
arb_key_save(const struct arb_key *k, const char *dir, const char *name)
{
	char	path[PATH_MAX];
	int	rv;

	if (k == NULL || dir == NULL || name == NULL)
		return ARB_EINVAL;
	if (!k->private) {
		log_warnx("%s/%s: cannot save a public key as a key pair",
		    dir, name);
		return ARB_EINVAL;
	}
	if (snprintf(path, sizeof(path), "%s/%s.key", dir, name) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	if ((rv = sig_write_pem(path, 0600, k->pkey, 1)) != 0)
		return rv;
	if (snprintf(path, sizeof(path), "%s/%s.pub", dir, name) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	return sig_write_pem(path, 0644, k->pkey, 0);
}

/* Never prompt on a terminal for a passphrase: keys are not encrypted. */
static int
sig_nopass(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static int
sig_load(const char *path, int private, struct arb_key **kp)
{
	struct stat	 st;
	BIO		*bio = NULL;
	EVP_PKEY	*pkey = NULL;
	int		 fd, rv;

	if (path == NULL || kp == NULL)
		return ARB_EINVAL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		rv = -errno;
		log_warn("%s", path);
		return rv;
	}
	if (fstat(fd, &st) == -1) {
		rv = -errno;
		log_warn("%s", path);
		goto fail;
	}
	if (private && (st.st_mode & 077) != 0) {
		log_warnx("%s: private key is readable by group or others "
		    "(mode %04o); chmod 600 it", path,
		    (unsigned int)(st.st_mode & 07777));
		rv = ARB_EPERM;
		goto fail;
	}
	if ((bio = BIO_new_fd(fd, BIO_NOCLOSE)) == NULL) {
		rv = sig_crypto_err(path);
		goto fail;
	}
	if (private)
		pkey = PEM_read_bio_PrivateKey(bio, NULL, sig_nopass, NULL);
	else
		pkey = PEM_read_bio_PUBKEY(bio, NULL, sig_nopass, NULL);
	if (pkey == NULL) {
		rv = sig_crypto_err(path);
		goto fail;
	}
	if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
		log_warnx("%s: not an Ed25519 key", path);
		rv = ARB_EINVAL;
		goto fail;
	}
	rv = sig_key_wrap(pkey, private, kp);
	pkey = NULL;
fail:
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	close(fd);
	return rv;
}

int
arb_key_load_private(const char *path, struct arb_key **kp)
{
	return sig_load(path, 1, kp);
}

int
arb_key_load_public(const char *path, struct arb_key **kp)
{
	return sig_load(path, 0, kp);
}

int
arb_key_from_raw_public(const uint8_t raw[ARB_PUBKEY_LEN],
    struct arb_key **kp)
{
	EVP_PKEY	*pkey;

	if (raw == NULL || kp == NULL)
		return ARB_EINVAL;
	pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw,
	    ARB_PUBKEY_LEN);
	if (pkey == NULL)
		return sig_crypto_err("ed25519 public key");
	return sig_key_wrap(pkey, 0, kp);
}

int
arb_key_from_raw_private(const uint8_t raw[32], struct arb_key **kp)
{
	EVP_PKEY	*pkey;

	if (raw == NULL || kp == NULL)
		return ARB_EINVAL;
	/* OpenSSL copies raw into memory it cleanses; raw is the caller's. */
	pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, raw, 32);
	if (pkey == NULL)
		return sig_crypto_err("ed25519 private key");
	return sig_key_wrap(pkey, 1, kp);
}

int
arb_key_raw_public(const struct arb_key *k, uint8_t raw[ARB_PUBKEY_LEN])
{
	uint8_t	buf[ARB_PUBKEY_LEN];
	size_t	len = sizeof(buf);

	if (k == NULL || raw == NULL)
		return ARB_EINVAL;
	if (EVP_PKEY_get_raw_public_key(k->pkey, buf, &len) != 1 ||
	    len != ARB_PUBKEY_LEN)
		return sig_crypto_err("ed25519 public key");
	memcpy(raw, buf, sizeof(buf));
	return 0;
}

int
arb_key_id(const struct arb_key *k, uint8_t id[ARB_KEYID_LEN])
{
	uint8_t	raw[ARB_PUBKEY_LEN], md[ARB_SHA256_LEN];
	int	rv;

	if ((rv = arb_key_raw_public(k, raw)) != 0 ||
	    (rv = arb_sha256(raw, sizeof(raw), md)) != 0)
		return rv;
	memcpy(id, md, ARB_KEYID_LEN);
	return 0;
}

void
arb_key_free(struct arb_key *k)
{
	if (k == NULL)
		return;
	/* EVP_PKEY_free cleanses the private half of an Ed25519 key. */
	EVP_PKEY_free(k->pkey);
	OPENSSL_cleanse(k, sizeof(*k));
	free(k);
}

/* ---- signatures */

int
arb_sign(const struct arb_key *k, const void *data, size_t len,
    uint8_t sig[ARB_SIG_LEN])
{
	EVP_MD_CTX	*ctx;
	uint8_t		 buf[ARB_SIG_LEN];
	size_t		 siglen = sizeof(buf);
	int		 rv = 0;

	if (k == NULL || sig == NULL || (data == NULL && len > 0))
		return ARB_EINVAL;
	if (!k->private) {
		log_warnx("ed25519 sign: key has no private half");
		return ARB_EINVAL;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) != 1 ||
	    EVP_DigestSign(ctx, buf, &siglen, len > 0 ? data : buf, len) != 1 ||
	    siglen != ARB_SIG_LEN)
		rv = sig_crypto_err("ed25519 sign");
	else
		memcpy(sig, buf, sizeof(buf));
	EVP_MD_CTX_free(ctx);
	return rv;
}

int
arb_verify(const struct arb_key *k, const void *data, size_t len,
    const uint8_t *sig, size_t siglen)
{
	EVP_MD_CTX	*ctx;
	uint8_t		 empty = 0;
	int		 r, rv;

	if (k == NULL || (data == NULL && len > 0))
		return ARB_EINVAL;
	if (sig == NULL || siglen != ARB_SIG_LEN)
		return ARB_EBADSIG;
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->pkey) != 1) {
		EVP_MD_CTX_free(ctx);
		return sig_crypto_err("ed25519 verify");
	}
	r = EVP_DigestVerify(ctx, sig, siglen, len > 0 ? data : &empty, len);
	if (r == 1)
		rv = 0;
	else if (r == 0) {
		/* A bad signature, not a failure of the library. */
		ERR_clear_error();
		rv = ARB_EBADSIG;
	} else
		rv = sig_crypto_err("ed25519 verify");
	EVP_MD_CTX_free(ctx);
	return rv;
}
