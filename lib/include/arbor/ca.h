/*
 * Arbor's own small certificate authority for TLS on the links (OpenSSL):
 * ECDSA P-256 keys throughout, as Debian's nng (mbedTLS 2.28) can use
 * them.  The CA is a key and a self-signed certificate in a directory
 * (ca.key 0600, ca.crt); it issues server certificates for the root and
 * the relays, naming the DNS name their children check, and client
 * certificates for relays and endpoints.  An endpoint's comes from the
 * certificate request it sends at enrolment, signed by the root.
 */
#ifndef ARBOR_CA_H
#define ARBOR_CA_H

#include <stddef.h>
#include <stdint.h>

#define ARB_CA_NAME_MAX		253	/* a DNS name */
#define ARB_CA_PEM_MAX		(16 * 1024)	/* a request or certificate */

enum arb_cert_kind {
	ARB_CERT_SERVER,	/* a parent's: server and client auth */
	ARB_CERT_CLIENT,	/* a child's only */
};

/*
 * Make the CA in dir (made 0700 with its parents): ca.key and ca.crt,
 * valid for ten years.  Refuses to overwrite either.
 */
int	arb_ca_init(const char *dir);

/*
 * Make an enrolment CA in dir, signed by the CA in parent (which may then
 * go offline): ca.key and ca.crt, valid for five years, issuing leaves
 * only.  The root holds it (enroll_ca) to sign endpoints' requests; what
 * it signs carries its certificate after the leaf.
 */
int	arb_ca_init_sub(const char *dir, const char *parent);

/* Make a P-256 private key at path (0600, PEM); refuses to overwrite. */
int	arb_ca_keygen(const char *path);

/*
 * A certificate request (PEM, *pemp malloc'd) for the key at keypath,
 * naming name.
 */
int	arb_ca_csr(const char *keypath, const char *name, char **pemp);

/*
 * The CA in cadir signs the key of the request csr (len bytes of PEM, its
 * own signature verified; its names are not used) into a certificate of
 * kind for name, valid from now - backdate_s for valid_s seconds (PEM,
 * *pemp malloc'd).  ARB_EINVAL for a request that does not parse or
 * verify, or a name that is not a DNS name.
 */
int	arb_ca_sign(const char *cadir, const uint8_t *csr, size_t len,
	    const char *name, enum arb_cert_kind kind, int64_t backdate_s,
	    int64_t valid_s, char **pemp);

/*
 * Issue a certificate and its new key: out.key (0600) and out.crt, signed
 * by the CA in cadir as arb_ca_sign does.
 */
int	arb_ca_issue(const char *cadir, const char *name,
	    enum arb_cert_kind kind, int64_t backdate_s, int64_t valid_s,
	    const char *out);

/*
 * Whether pem (len bytes: a certificate, then the CAs it needs) is for
 * the private key at keypath and chains to the CA certificate in cafile,
 * valid now: 0 with *untilp its end, or ARB_EINVAL, said why.
 */
int	arb_cert_check(const char *pem, size_t len, const char *keypath,
	    const char *cafile, int64_t *untilp);

/* The validity of the certificate at path, as Unix times. */
int	arb_cert_validity(const char *path, int64_t *fromp, int64_t *untilp);

/* Write len bytes to path (mode) through a temporary file and a rename. */
int	arb_ca_write(const char *path, const void *data, size_t len,
	    int mode);

#endif
