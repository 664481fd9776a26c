/*
 * CVSS 3.x base scores (FIRST's specification, section 7.1 and the
 * Roundup of appendix A) and CVE id syntax.
 */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "arbor/cvss.h"
#include "arbor/error.h"

/* Round up to one decimal without floating-point surprises (3.1). */
static double
cvss_roundup(double x)
{
	int64_t	i = (int64_t)llround(x * 100000);

	if (i % 10000 == 0)
		return (double)i / 100000.0;
	return (double)(i / 10000 + 1) / 10.0;
}

struct metric {
	const char	*name;
	const char	*values;	/* one letter each */
	double		 w[4];
};

static const struct metric metrics[] = {
	{ "AV", "NALP", { 0.85, 0.62, 0.55, 0.2 } },
	{ "AC", "LH", { 0.77, 0.44 } },
	{ "PR", "NLH", { 0.85, 0.62, 0.27 } },
	{ "UI", "NR", { 0.85, 0.62 } },
	{ "S", "UC", { 0, 1 } },
	{ "C", "HLN", { 0.56, 0.22, 0 } },
	{ "I", "HLN", { 0.56, 0.22, 0 } },
	{ "A", "HLN", { 0.56, 0.22, 0 } },
};
#define NMETRICS (sizeof(metrics) / sizeof(metrics[0]))

int
arb_cvss_score(const char *vector, double *scorep, const char **whyp)
{
	char		 buf[ARB_CVSS_VECTOR_MAX + 1], *p, *tok, *colon;
	int		 idx[NMETRICS];
	double		 v[NMETRICS], iss, imp, expl, pr;
	size_t		 m;
	const char	*at;
	int		 changed;

	if (strlen(vector) > ARB_CVSS_VECTOR_MAX) {
		*whyp = "longer than 160 characters";
		return ARB_EINVAL;
	}
	if (strncmp(vector, "CVSS:3.1/", 9) != 0 &&
	    strncmp(vector, "CVSS:3.0/", 9) != 0) {
		*whyp = "must begin with CVSS:3.1/ or CVSS:3.0/";
		return ARB_EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s", vector + 9);
	for (m = 0; m < NMETRICS; m++)
		idx[m] = -1;
	for (p = buf; (tok = strsep(&p, "/")) != NULL;) {
		if ((colon = strchr(tok, ':')) == NULL || colon[1] == '\0' ||
		    colon[2] != '\0') {
			*whyp = "each metric is NAME:LETTER, separated by /";
			return ARB_EINVAL;
		}
		*colon = '\0';
		for (m = 0; m < NMETRICS; m++)
			if (strcmp(tok, metrics[m].name) == 0)
				break;
		if (m == NMETRICS)
			continue;	/* temporal, environmental */
		if (idx[m] != -1) {
			*whyp = "a base metric appears twice";
			return ARB_EINVAL;
		}
		if ((at = strchr(metrics[m].values, colon[1])) == NULL) {
			*whyp = "a base metric has a value it does not take";
			return ARB_EINVAL;
		}
		idx[m] = (int)(at - metrics[m].values);
		v[m] = metrics[m].w[idx[m]];
	}
	for (m = 0; m < NMETRICS; m++)
		if (idx[m] == -1) {
			*whyp = "a base metric is missing (AV, AC, PR, UI, S, "
			    "C, I, A)";
			return ARB_EINVAL;
		}
	changed = idx[4] == 1;
	pr = v[2];
	if (changed && idx[2] == 1)
		pr = 0.68;
	else if (changed && idx[2] == 2)
		pr = 0.5;
	iss = 1 - (1 - v[5]) * (1 - v[6]) * (1 - v[7]);
	imp = changed ? 7.52 * (iss - 0.029) - 3.25 * pow(iss - 0.02, 15) :
	    6.42 * iss;
	expl = 8.22 * v[0] * v[1] * pr * v[3];
	if (imp <= 0)
		*scorep = 0;
	else if (changed)
		*scorep = cvss_roundup(fmin(1.08 * (imp + expl), 10));
	else
		*scorep = cvss_roundup(fmin(imp + expl, 10));
	return 0;
}

int
arb_cve_valid(const char *id)
{
	size_t	i, n = strlen(id), digits = 0;

	if (n > ARB_CVE_LEN_MAX || n < 13 || strncmp(id, "CVE-", 4) != 0)
		return 0;
	for (i = 4; i < 8; i++)
		if (!isdigit((unsigned char)id[i]))
			return 0;
	if (id[8] != '-')
		return 0;
	for (i = 9; i < n; i++, digits++)
		if (!isdigit((unsigned char)id[i]))
			return 0;
	return digits >= 4;
}
