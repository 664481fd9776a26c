/*
 * arborctl ca init, arborctl cert issue: Arbor's certificate authority
 * for TLS on the links, kept on the operator's machine (arbor/ca.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbor/ca.h"
#include "arbor/conf.h"
#include "arbor/error.h"
#include "arborctl.h"

int
cmd_ca(struct ctl *c, int argc, char *argv[])
{
	int	rv;

	if (argc == 5 && strcmp(argv[1], "init") == 0 &&
	    strcmp(argv[2], "--enrol") == 0) {
		/* ca init --enrol PARENT DIR */
		if ((rv = arb_ca_init_sub(argv[4], argv[3])) != 0) {
			ctl_warnx(c, "%s: %s", argv[4], arb_strerror(rv));
			return 1;
		}
		printf("enrolment CA key:         %s/ca.key (the root's "
		    "enroll_ca)\n", argv[4]);
		printf("enrolment CA certificate: %s/ca.crt (signed by %s)\n",
		    argv[4], argv[3]);
		return 0;
	}
	if (argc != 3 || strcmp(argv[1], "init") != 0) {
		ctl_usage(stderr);
		return 1;
	}
	if ((rv = arb_ca_init(argv[2])) != 0) {
		ctl_warnx(c, "%s: %s", argv[2], arb_strerror(rv));
		return 1;
	}
	printf("CA key:         %s/ca.key (keep it off the network)\n",
	    argv[2]);
	printf("CA certificate: %s/ca.crt (every node's tls_ca)\n", argv[2]);
	return 0;
}

int
cmd_cert(struct ctl *c, int argc, char *argv[])
{
	const char		*ca = NULL, *name = NULL, *out = NULL, *v;
	enum arb_cert_kind	 kind = ARB_CERT_SERVER;
	int64_t			 valid = 365LL * 86400000, back = 0;
	char			 err[256];
	int			 i, rv;

	if (argc < 2 || strcmp(argv[1], "issue") != 0) {
		ctl_usage(stderr);
		return 1;
	}
	for (i = 2; i < argc; i++) {
		if ((rv = ctl_opt(argc, argv, &i, "--ca", &ca)) == 0 &&
		    (rv = ctl_opt(argc, argv, &i, "--name", &name)) == 0 &&
		    (rv = ctl_opt(argc, argv, &i, "--out", &out)) == 0) {
			if ((rv = ctl_opt(argc, argv, &i, "--valid", &v)) == 1) {
				if (arb_conf_duration_ms(v, 1000,
				    100LL * 365 * 86400000, &valid, err,
				    sizeof(err)) != 0) {
					ctl_warnx(c, "--valid: %s", err);
					return 1;
				}
				continue;
			}
			if (rv == 0 && (rv = ctl_opt(argc, argv, &i,
			    "--backdate", &v)) == 1) {
				if (arb_conf_duration_ms(v, 0,
				    100LL * 365 * 86400000, &back, err,
				    sizeof(err)) != 0) {
					ctl_warnx(c, "--backdate: %s", err);
					return 1;
				}
				continue;
			}
			if (rv == 0 && strcmp(argv[i], "--client") == 0) {
				kind = ARB_CERT_CLIENT;
				continue;
			}
		}
		if (rv != 1) {
			ctl_usage(stderr);
			return 1;
		}
	}
	if (ca == NULL || name == NULL || out == NULL) {
		ctl_warnx(c, "--ca DIR, --name NAME and --out PREFIX are "
		    "required");
		return 1;
	}
	if ((rv = arb_ca_issue(ca, name, kind, back / 1000, valid / 1000,
	    out)) != 0) {
		ctl_warnx(c, "%s: %s", name, arb_strerror(rv));
		return 1;
	}
	printf("certificate: %s.crt (%s, %s)\n", out, name,
	    kind == ARB_CERT_SERVER ? "server and client" : "client");
	printf("key:         %s.key\n", out);
	return 0;
}
