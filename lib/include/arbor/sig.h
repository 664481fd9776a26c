/*
 * Ed25519 keys and signatures, and SHA-256, over OpenSSL's EVP.  The only
 * user of OpenSSL in Arbor.
 */
#ifndef ARBOR_SIG_H
#define ARBOR_SIG_H

#include <stddef.h>
#include <stdint.h>

#define ARB_SHA256_LEN	32
#define ARB_SHA256_HEX	(2 * ARB_SHA256_LEN + 1)
#define ARB_PUBKEY_LEN	32
#define ARB_SIG_LEN	64
#define ARB_KEYID_LEN	8

/* ---- SHA-256 */

struct arb_sha256;	/* opaque incremental hasher */

int	arb_sha256_new(struct arb_sha256 **hp);
int	arb_sha256_update(struct arb_sha256 *h, const void *data, size_t len);
/* Writes 32 bytes to out.  The hasher may be reused after arb_sha256_reset. */
int	arb_sha256_final(struct arb_sha256 *h, uint8_t out[ARB_SHA256_LEN]);
int	arb_sha256_reset(struct arb_sha256 *h);
void	arb_sha256_free(struct arb_sha256 *h);
/* len bytes from the system's cryptographic random source: 0 or ARB_ECRYPTO. */
int	arb_random(void *buf, size_t len);
/* One shot. */
int	arb_sha256(const void *data, size_t len, uint8_t out[ARB_SHA256_LEN]);
/*
 * Hash fd from its current position to its end into h; *np gets the byte
 * count.  path names the file in messages.
 */
int	arb_sha256_fd(struct arb_sha256 *h, int fd, const char *path,
	    uint64_t *np);
/* Hash a whole file; *sizep gets its size when sizep is not NULL. */
int	arb_sha256_file(const char *path, uint8_t out[ARB_SHA256_LEN],
	    uint64_t *sizep);

/* Lower-case hex; out has ARB_SHA256_HEX bytes (NUL-terminated). */
void	arb_hex(const uint8_t *in, size_t len, char *out);
/* Parse exactly 2*len hex digits.  0 or ARB_EINVAL. */
int	arb_unhex(const char *in, uint8_t *out, size_t len);
/* 1 if a and b (len bytes each) are equal, in time that depends on len only. */
int	arb_ct_equal(const void *a, const void *b, size_t len);

/* ---- Ed25519 */

struct arb_key;		/* opaque: a public key, or a key pair */

/* Make a new key pair. */
int	arb_key_generate(struct arb_key **kp);
/*
 * Write the pair as PEM: dir/publisher.key (PKCS#8, mode 0600) and
 * dir/publisher.pub (SubjectPublicKeyInfo).  name is the file stem.
 */
int	arb_key_save(const struct arb_key *k, const char *dir,
	    const char *name);
/*
 * Load a private key from PEM.  Refuses (ARB_EPERM, logged) a file that
 * group or others can read.
 */
int	arb_key_load_private(const char *path, struct arb_key **kp);
/* Load a public key from PEM. */
int	arb_key_load_public(const char *path, struct arb_key **kp);
/* From/to raw 32-byte forms. */
int	arb_key_from_raw_public(const uint8_t raw[ARB_PUBKEY_LEN],
	    struct arb_key **kp);
int	arb_key_from_raw_private(const uint8_t raw[32], struct arb_key **kp);
int	arb_key_raw_public(const struct arb_key *k,
	    uint8_t raw[ARB_PUBKEY_LEN]);
/* First 8 bytes of SHA-256 of the raw public key. */
int	arb_key_id(const struct arb_key *k, uint8_t id[ARB_KEYID_LEN]);
/* Frees the key, cleansing private material. */
void	arb_key_free(struct arb_key *k);

int	arb_sign(const struct arb_key *k, const void *data, size_t len,
	    uint8_t sig[ARB_SIG_LEN]);
/* 0 if sig is k's signature over data, else ARB_EBADSIG. */
int	arb_verify(const struct arb_key *k, const void *data, size_t len,
	    const uint8_t *sig, size_t siglen);

#endif
