/*
 * CVSS v3.0 and v3.1 base scores from a vector, and the checks on the
 * vulnerability metadata a policy may carry (the CVE ids it fixes, its
 * score).
 */
#ifndef ARBOR_CVSS_H
#define ARBOR_CVSS_H

#define ARB_CVE_MAX		64	/* CVE ids per policy */
#define ARB_CVE_LEN_MAX		32	/* "CVE-2026-123456789" and then some */
#define ARB_CVSS_VECTOR_MAX	160

/*
 * The base score of a CVSS 3.x vector, e.g.
 * "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" (9.8), rounded up to one
 * decimal as the specification says.  Every base metric must appear once;
 * temporal and environmental metrics are allowed and ignored.  Returns 0
 * and *scorep, or ARB_EINVAL with the reason in *whyp (a static string).
 */
int	arb_cvss_score(const char *vector, double *scorep, const char **whyp);

/* 1 if id looks like a CVE id: "CVE-YYYY-NNNN" (four or more digits). */
int	arb_cve_valid(const char *id);

#endif
