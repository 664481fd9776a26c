/*
 * Arbor's certificate authority (arbor/ca.h): P-256 keys, X.509 v3
 * certificates with the name as subject CN and DNS subjectAltName.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "arbor/ca.h"
#include "arbor/error.h"
#include "arbor/io.h"
#include "arbor/log.h"
#include "sig_int.h"

#define CA_DAYS		(10 * 365)

static int
ca_err(const char *what)
{
	arb__crypto_log(what);
	return ARB_ECRYPTO;
}

/* A DNS name: letters, digits, '-', '.', '_'; not empty, bounded. */
static int
ca_name_ok(const char *name)
{
	size_t	i, len = strlen(name);

	if (len == 0 || len > ARB_CA_NAME_MAX || name[0] == '.' ||
	    name[0] == '-')
		return 0;
	for (i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'))
			return 0;
	}
	return 1;
}

int
arb_ca_write(const char *path, const void *data, size_t len, int mode)
{
	char	tmp[PATH_MAX];
	int	fd, rv;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    mode);
	if (fd == -1) {
		rv = -errno;
		log_warn("%s", tmp);
		return rv;
	}
	if (fchmod(fd, (mode_t)mode) == -1 ||
	    (rv = arb_io_write_full(fd, data, len)) != 0 || fsync(fd) == -1) {
		rv = -errno;
		log_warn("%s", tmp);
		close(fd);
		unlink(tmp);
		return rv != 0 ? rv : -EIO;
	}
	close(fd);
	if (rename(tmp, path) == -1) {
		rv = -errno;
		log_warn("%s", path);
		unlink(tmp);
		return rv;
	}
	return 0;
}

static EVP_PKEY *
ca_newkey(void)
{
	EVP_PKEY	*pkey = EVP_EC_gen("P-256");

	if (pkey == NULL)
		arb__crypto_log("P-256 key");
	return pkey;
}

/* Write pkey's private half as PEM to path (0600), not over a file. */
static int
ca_save_key(const char *path, EVP_PKEY *pkey)
{
	BIO	*bio;
	char	*data;
	long	 len;
	int	 rv;

	if (access(path, F_OK) == 0) {
		log_warnx("%s exists; refusing to overwrite it", path);
		return -EEXIST;
	}
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL)) {
		BIO_free(bio);
		return ca_err(path);
	}
	len = BIO_get_mem_data(bio, &data);
	rv = arb_ca_write(path, data, (size_t)len, 0600);
	OPENSSL_cleanse(data, (size_t)len);
	BIO_free(bio);
	return rv;
}

static EVP_PKEY *
ca_load_key(const char *path)
{
	EVP_PKEY	*pkey = NULL;
	BIO		*bio;

	if ((bio = BIO_new_file(path, "r")) != NULL)
		pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (pkey == NULL)
		arb__crypto_log(path);
	return pkey;
}

static X509 *
ca_load_cert(const char *path)
{
	X509	*x = NULL;
	BIO	*bio;

	if ((bio = BIO_new_file(path, "r")) != NULL)
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (x == NULL)
		arb__crypto_log(path);
	return x;
}

/* Certificate x as PEM, malloc'd. */
static int
ca_cert_pem(X509 *x, char **pemp)
{
	BIO	*bio;
	char	*data, *out;
	long	 len;

	if ((bio = BIO_new(BIO_s_mem())) == NULL || !PEM_write_bio_X509(bio, x)) {
		BIO_free(bio);
		return ca_err("certificate");
	}
	len = BIO_get_mem_data(bio, &data);
	if ((out = malloc((size_t)len + 1)) == NULL) {
		BIO_free(bio);
		return -ENOMEM;
	}
	memcpy(out, data, (size_t)len);
	out[len] = '\0';
	BIO_free(bio);
	*pemp = out;
	return 0;
}

static int
ca_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX	 ctx;
	X509_EXTENSION	*ext;
	int		 ok;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return 0;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

/*
 * A certificate for pub, named name, issued by issuer (NULL: itself)
 * with its key ikey, valid from now - backdate_s for valid_s seconds.
 */
static X509 *
ca_make(EVP_PKEY *pub, const char *name, X509 *issuer, EVP_PKEY *ikey,
    int ca, enum arb_cert_kind kind, int64_t backdate_s, int64_t valid_s)
{
	X509		*x;
	X509_NAME	*subj;
	ASN1_INTEGER	*serial;
	unsigned char	 rnd[16];
	char		 san[ARB_CA_NAME_MAX + 8];
	BIGNUM		*bn = NULL;

	if ((x = X509_new()) == NULL)
		return NULL;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1 ||
	    (bn = BN_bin2bn(rnd, sizeof(rnd), NULL)) == NULL ||
	    (serial = X509_get_serialNumber(x)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, serial) == NULL ||
	    !X509_set_version(x, 2) ||
	    X509_gmtime_adj(X509_getm_notBefore(x), (long)-backdate_s) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x),
	    (long)(valid_s - backdate_s)) == NULL ||
	    !X509_set_pubkey(x, pub) ||
	    (subj = X509_get_subject_name(x)) == NULL ||
	    !X509_NAME_add_entry_by_txt(subj, "O", MBSTRING_ASC,
	    (const unsigned char *)"Arbor", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC,
	    (const unsigned char *)name, -1, -1, 0) ||
	    !X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) :
	    subj))
		goto fail;
	BN_free(bn);
	bn = NULL;
	if (ca) {
		/* One under the root CA issues leaves only. */
		if (!ca_ext(x, x, NID_basic_constraints, issuer ?
		    "critical,CA:TRUE,pathlen:0" : "critical,CA:TRUE") ||
		    !ca_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") ||
		    !ca_ext(x, x, NID_subject_key_identifier, "hash") ||
		    (issuer != NULL && !ca_ext(x, issuer,
		    NID_authority_key_identifier, "keyid")))
			goto fail;
	} else {
		snprintf(san, sizeof(san), "DNS:%s", name);
		if (!ca_ext(x, issuer, NID_basic_constraints, "CA:FALSE") ||
		    !ca_ext(x, issuer, NID_key_usage,
		    "critical,digitalSignature") ||
		    !ca_ext(x, issuer, NID_ext_key_usage,
		    kind == ARB_CERT_SERVER ? "serverAuth,clientAuth" :
		    "clientAuth") ||
		    !ca_ext(x, issuer, NID_subject_alt_name, san) ||
		    !ca_ext(x, issuer, NID_authority_key_identifier, "keyid"))
			goto fail;
	}
	if (X509_sign(x, ikey, EVP_sha256()) == 0)
		goto fail;
	return x;
fail:
	BN_free(bn);
	X509_free(x);
	return NULL;
}

/*
 * Make the CA in dir: self-signed for ten years, or (parent set) signed by
 * the CA in parent for five, to issue leaves only.
 */
static int
ca_init(const char *dir, const char *parent)
{
	char		 kpath[PATH_MAX], cpath[PATH_MAX], *pem = NULL;
	EVP_PKEY	*pkey, *ikey = NULL;
	X509		*x = NULL, *issuer = NULL;
	int		 rv;

	if (snprintf(kpath, sizeof(kpath), "%s/ca.key", dir) >=
	    (int)sizeof(kpath) ||
	    snprintf(cpath, sizeof(cpath), "%s/ca.crt", dir) >=
	    (int)sizeof(cpath))
		return -ENAMETOOLONG;
	if (arb_io_mkdirs(dir, 0700) != 0) {
		rv = -errno;
		log_warn("%s", dir);
		return rv;
	}
	if (access(cpath, F_OK) == 0) {
		log_warnx("%s exists; refusing to overwrite it", cpath);
		return -EEXIST;
	}
	if ((pkey = ca_newkey()) == NULL)
		return ARB_ECRYPTO;
	if (parent != NULL) {
		rv = ARB_ECRYPTO;
		snprintf(kpath, sizeof(kpath), "%s/ca.key", parent);
		if ((ikey = ca_load_key(kpath)) == NULL)
			goto done;
		snprintf(kpath, sizeof(kpath), "%s/ca.crt", parent);
		if ((issuer = ca_load_cert(kpath)) == NULL)
			goto done;
		snprintf(kpath, sizeof(kpath), "%s/ca.key", dir);
	}
	if ((x = ca_make(pkey, parent ? "Arbor enrolment CA" : "Arbor CA",
	    issuer, ikey ? ikey : pkey, 1, ARB_CERT_SERVER, 60,
	    (int64_t)(parent ? CA_DAYS / 2 : CA_DAYS) * 86400)) == NULL) {
		rv = ca_err("CA certificate");
		goto done;
	}
	if ((rv = ca_cert_pem(x, &pem)) != 0 ||
	    (rv = ca_save_key(kpath, pkey)) != 0 ||
	    (rv = arb_ca_write(cpath, pem, strlen(pem), 0644)) != 0)
		goto done;
done:
	free(pem);
	X509_free(x);
	X509_free(issuer);
	EVP_PKEY_free(ikey);
	EVP_PKEY_free(pkey);
	return rv;
}

int
arb_ca_init(const char *dir)
{
	return ca_init(dir, NULL);
}

int
arb_ca_init_sub(const char *dir, const char *parent)
{
	return ca_init(dir, parent);
}

int
arb_ca_keygen(const char *path)
{
	EVP_PKEY	*pkey;
	int		 rv;

	if ((pkey = ca_newkey()) == NULL)
		return ARB_ECRYPTO;
	rv = ca_save_key(path, pkey);
	EVP_PKEY_free(pkey);
	return rv;
}

int
arb_ca_csr(const char *keypath, const char *name, char **pemp)
{
	EVP_PKEY	*pkey;
	X509_REQ	*req = NULL;
	X509_NAME	*subj;
	BIO		*bio = NULL;
	char		*data, *out;
	long		 len;
	int		 rv = ARB_ECRYPTO;

	if (!ca_name_ok(name)) {
		log_warnx("%s: not a DNS name", name);
		return ARB_EINVAL;
	}
	if ((pkey = ca_load_key(keypath)) == NULL)
		return ARB_ECRYPTO;
	if ((req = X509_REQ_new()) == NULL ||
	    !X509_REQ_set_pubkey(req, pkey) ||
	    (subj = X509_REQ_get_subject_name(req)) == NULL ||
	    !X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC,
	    (const unsigned char *)name, -1, -1, 0) ||
	    X509_REQ_sign(req, pkey, EVP_sha256()) == 0 ||
	    (bio = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_X509_REQ(bio, req)) {
		rv = ca_err(keypath);
		goto done;
	}
	len = BIO_get_mem_data(bio, &data);
	if ((out = malloc((size_t)len + 1)) == NULL) {
		rv = -ENOMEM;
		goto done;
	}
	memcpy(out, data, (size_t)len);
	out[len] = '\0';
	*pemp = out;
	rv = 0;
done:
	BIO_free(bio);
	X509_REQ_free(req);
	EVP_PKEY_free(pkey);
	return rv;
}

/*
 * x as PEM, and after it its issuer's when that is not the root CA (self
 * issued): a child shows the chain up to the CA its parent pins.
 */
static int
ca_chain_pem(X509 *x, X509 *issuer, char **pemp)
{
	char	*a, *b, *out;
	size_t	 la, lb;
	int	 rv;

	if ((rv = ca_cert_pem(x, &a)) != 0)
		return rv;
	if (X509_check_issued(issuer, issuer) == X509_V_OK) {
		*pemp = a;
		return 0;
	}
	if ((rv = ca_cert_pem(issuer, &b)) != 0) {
		free(a);
		return rv;
	}
	la = strlen(a);
	lb = strlen(b);
	if ((out = realloc(a, la + lb + 1)) == NULL) {
		free(a);
		free(b);
		return -ENOMEM;
	}
	memcpy(out + la, b, lb + 1);
	free(b);
	*pemp = out;
	return 0;
}

/* Sign pub with the CA in cadir. */
static int
ca_sign_key(const char *cadir, EVP_PKEY *pub, const char *name,
    enum arb_cert_kind kind, int64_t backdate_s, int64_t valid_s, char **pemp)
{
	char		 path[PATH_MAX];
	EVP_PKEY	*ikey = NULL;
	X509		*issuer = NULL, *x = NULL;
	int		 rv = ARB_ECRYPTO;

	if (!ca_name_ok(name)) {
		log_warnx("%s: not a DNS name", name);
		return ARB_EINVAL;
	}
	if (valid_s <= 0 || backdate_s < 0) {
		log_warnx("%s: a validity must be positive", name);
		return ARB_EINVAL;
	}
	snprintf(path, sizeof(path), "%s/ca.key", cadir);
	if ((ikey = ca_load_key(path)) == NULL)
		goto done;
	snprintf(path, sizeof(path), "%s/ca.crt", cadir);
	if ((issuer = ca_load_cert(path)) == NULL)
		goto done;
	if ((x = ca_make(pub, name, issuer, ikey, 0, kind, backdate_s,
	    valid_s)) == NULL) {
		rv = ca_err(name);
		goto done;
	}
	rv = ca_chain_pem(x, issuer, pemp);
done:
	X509_free(x);
	X509_free(issuer);
	EVP_PKEY_free(ikey);
	return rv;
}

int
arb_ca_sign(const char *cadir, const uint8_t *csr, size_t len,
    const char *name, enum arb_cert_kind kind, int64_t backdate_s,
    int64_t valid_s, char **pemp)
{
	BIO		*bio;
	X509_REQ	*req = NULL;
	EVP_PKEY	*pub = NULL;
	int		 rv;

	if (len == 0 || len > ARB_CA_PEM_MAX)
		return ARB_EINVAL;
	if ((bio = BIO_new_mem_buf(csr, (int)len)) != NULL)
		req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (req == NULL || (pub = X509_REQ_get_pubkey(req)) == NULL ||
	    X509_REQ_verify(req, pub) != 1) {
		arb__crypto_log("certificate request");
		rv = ARB_EINVAL;
		goto done;
	}
	if (EVP_PKEY_get_base_id(pub) != EVP_PKEY_EC) {
		log_warnx("certificate request: not an EC key");
		rv = ARB_EINVAL;
		goto done;
	}
	rv = ca_sign_key(cadir, pub, name, kind, backdate_s, valid_s, pemp);
done:
	EVP_PKEY_free(pub);
	X509_REQ_free(req);
	return rv;
}

int
arb_ca_issue(const char *cadir, const char *name, enum arb_cert_kind kind,
    int64_t backdate_s, int64_t valid_s, const char *out)
{
	char		 kpath[PATH_MAX], cpath[PATH_MAX], *pem = NULL;
	EVP_PKEY	*pkey;
	int		 rv;

	if (snprintf(kpath, sizeof(kpath), "%s.key", out) >=
	    (int)sizeof(kpath) ||
	    snprintf(cpath, sizeof(cpath), "%s.crt", out) >=
	    (int)sizeof(cpath))
		return -ENAMETOOLONG;
	if ((pkey = ca_newkey()) == NULL)
		return ARB_ECRYPTO;
	if ((rv = ca_sign_key(cadir, pkey, name, kind, backdate_s, valid_s,
	    &pem)) == 0 &&
	    (rv = ca_save_key(kpath, pkey)) == 0)
		rv = arb_ca_write(cpath, pem, strlen(pem), 0644);
	free(pem);
	EVP_PKEY_free(pkey);
	return rv;
}

int
arb_cert_check(const char *pem, size_t len, const char *keypath,
    const char *cafile, int64_t *untilp)
{
	X509_STORE_CTX	*sc = NULL;
	X509_STORE	*st = NULL;
	STACK_OF(X509)	*chain = NULL;
	EVP_PKEY	*pkey = NULL;
	X509		*x = NULL, *y;
	BIO		*bio;
	struct tm	 t;
	int		 rv = ARB_EINVAL;

	if (len == 0 || len > ARB_CA_PEM_MAX ||
	    (bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return ARB_EINVAL;
	if ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL ||
	    (chain = sk_X509_new_null()) == NULL)
		goto done;
	while ((y = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		if (!sk_X509_push(chain, y)) {
			X509_free(y);
			goto done;
		}
	ERR_clear_error();	/* the end of the file */
	if ((pkey = ca_load_key(keypath)) == NULL ||
	    X509_check_private_key(x, pkey) != 1) {
		log_warnx("certificate: not for the key %s", keypath);
		goto done;
	}
	if ((st = X509_STORE_new()) == NULL ||
	    X509_STORE_load_file(st, cafile) != 1 ||
	    (sc = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(sc, st, x, chain) != 1) {
		rv = ca_err(cafile);
		goto done;
	}
	if (X509_verify_cert(sc) != 1) {
		log_warnx("certificate: %s", X509_verify_cert_error_string(
		    X509_STORE_CTX_get_error(sc)));
		goto done;
	}
	if (!ASN1_TIME_to_tm(X509_get0_notAfter(x), &t))
		goto done;
	*untilp = (int64_t)timegm(&t);
	rv = 0;
done:
	ERR_clear_error();
	X509_STORE_CTX_free(sc);
	X509_STORE_free(st);
	sk_X509_pop_free(chain, X509_free);
	EVP_PKEY_free(pkey);
	X509_free(x);
	BIO_free(bio);
	return rv;
}

int
arb_cert_validity(const char *path, int64_t *fromp, int64_t *untilp)
{
	X509		*x;
	struct tm	 a, b;

	if ((x = ca_load_cert(path)) == NULL)
		return ARB_ECRYPTO;
	if (!ASN1_TIME_to_tm(X509_get0_notBefore(x), &a) ||
	    !ASN1_TIME_to_tm(X509_get0_notAfter(x), &b)) {
		X509_free(x);
		return ca_err(path);
	}
	X509_free(x);
	*fromp = (int64_t)timegm(&a);
	*untilp = (int64_t)timegm(&b);
	return 0;
}
