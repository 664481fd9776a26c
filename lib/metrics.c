/*
 * The Prometheus text exposition format, rendered from a registry of
 * families that a daemon fills when it is scraped (see arbor/metrics.h).
 * Families and their samples stay in the order given, so that two scrapes
 * of the same node line up; lookups are linear, as a node has a few dozen
 * families and each at most a few hundred samples (labels of low
 * cardinality only).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbor/error.h"
#include "arbor/io.h"
#include "arbor/log.h"
#include "arbor/metrics.h"

#ifndef ARBOR_BUILD_VERSION
#define ARBOR_BUILD_VERSION	"unknown"
#endif

#define MET_LABELS	2	/* labels a family has at most */

struct sample {
	char	*lv[MET_LABELS];	/* label values, NULL past the last */
	double	 v;
};

struct family {
	char			*name;
	char			*label[MET_LABELS];	/* NULL past the last */
	size_t			 nlabels;
	char			*help;
	enum arb_metric_type	 type;
	struct sample		*s;
	size_t			 n, cap;
};

struct arb_metrics {
	struct family	*f;
	size_t		 n, cap;
};

/* A growing output buffer; a failed append marks it failed. */
struct out {
	char	*b;
	size_t	 len, cap;
	int	 failed;
};

static void	family_clear(struct family *);

int
arb_metrics_new(struct arb_metrics **mp)
{
	struct arb_metrics *m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return -ENOMEM;
	*mp = m;
	return 0;
}

void
arb_metrics_free(struct arb_metrics *m)
{
	size_t	i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++)
		family_clear(&m->f[i]);
	free(m->f);
	free(m);
}

/* A metric or label name: [a-zA-Z_:][a-zA-Z0-9_:]* (no colon in labels). */
static int
name_ok(const char *s, int colon)
{
	size_t	i;
	int	c;

	if (s == NULL || s[0] == '\0' || strlen(s) > 200)
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		c = (unsigned char)s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    c == '_' || (colon && c == ':') ||
		    (i > 0 && c >= '0' && c <= '9'))
			continue;
		return 0;
	}
	return 1;
}

static void
family_clear(struct family *f)
{
	size_t	i, k;

	for (i = 0; i < f->n; i++)
		for (k = 0; k < MET_LABELS; k++)
			free(f->s[i].lv[k]);
	free(f->s);
	free(f->name);
	for (k = 0; k < MET_LABELS; k++)
		free(f->label[k]);
	free(f->help);
}

/* The comma-separated label names in labels, into f. */
static int
family_labels(struct family *f, const char *labels)
{
	const char	*p = labels, *comma;
	size_t		 n;

	while (p != NULL) {
		comma = strchr(p, ',');
		n = comma ? (size_t)(comma - p) : strlen(p);
		if (f->nlabels == MET_LABELS)
			return ARB_EINVAL;
		if ((f->label[f->nlabels] = strndup(p, n)) == NULL)
			return -ENOMEM;
		if (!name_ok(f->label[f->nlabels], 0) ||
		    strncmp(f->label[f->nlabels], "__", 2) == 0) {
			f->nlabels++;
			return ARB_EINVAL;
		}
		f->nlabels++;
		p = comma ? comma + 1 : NULL;
	}
	return 0;
}

static struct family *
family_find(const struct arb_metrics *m, const char *name)
{
	size_t	i;

	for (i = 0; i < m->n; i++)
		if (strcmp(m->f[i].name, name) == 0)
			return &m->f[i];
	return NULL;
}

int
arb_metrics_family(struct arb_metrics *m, const char *name,
    enum arb_metric_type type, const char *label, const char *help)
{
	struct family	*f, *nv;
	size_t		 len;
	int		 rv;

	if (!name_ok(name, 1) || family_find(m, name) != NULL)
		return ARB_EINVAL;
	len = strlen(name);
	if (type == ARB_METRIC_COUNTER &&
	    (len < 6 || strcmp(name + len - 6, "_total") != 0))
		return ARB_EINVAL;
	if (m->n == m->cap) {
		if ((nv = realloc(m->f, (m->cap ? 2 * m->cap : 16) *
		    sizeof(*nv))) == NULL)
			return -ENOMEM;
		m->f = nv;
		m->cap = m->cap ? 2 * m->cap : 16;
	}
	f = &m->f[m->n];
	memset(f, 0, sizeof(*f));
	f->type = type;
	rv = -ENOMEM;
	if ((f->name = strdup(name)) == NULL ||
	    (f->help = strdup(help ? help : "")) == NULL ||
	    (label != NULL && (rv = family_labels(f, label)) != 0)) {
		family_clear(f);
		return rv;
	}
	m->n++;
	return 0;
}

/* Whether sample s has the nlv label values lv. */
static int
sample_is(const struct sample *s, const char *const *lv, size_t nlv)
{
	size_t	k;

	for (k = 0; k < nlv; k++)
		if (strcmp(s->lv[k], lv[k]) != 0)
			return 0;
	return 1;
}

static int
metrics_set(struct arb_metrics *m, const char *name, const char *const *lv,
    size_t nlv, double v)
{
	struct family	*f;
	struct sample	*nv, *s;
	size_t		 i, k;

	if ((f = family_find(m, name)) == NULL)
		return ARB_ENOTFOUND;
	if (nlv != f->nlabels)
		return ARB_EINVAL;
	for (i = 0; i < f->n; i++)
		if (sample_is(&f->s[i], lv, nlv)) {
			f->s[i].v = v;
			return 0;
		}
	if (f->n == f->cap) {
		if ((nv = realloc(f->s, (f->cap ? 2 * f->cap : 4) *
		    sizeof(*nv))) == NULL)
			return -ENOMEM;
		f->s = nv;
		f->cap = f->cap ? 2 * f->cap : 4;
	}
	s = &f->s[f->n];
	memset(s, 0, sizeof(*s));
	for (k = 0; k < nlv; k++)
		if ((s->lv[k] = strdup(lv[k])) == NULL) {
			while (k-- > 0)
				free(s->lv[k]);
			return -ENOMEM;
		}
	s->v = v;
	f->n++;
	return 0;
}

int
arb_metrics_set(struct arb_metrics *m, const char *name, const char *lv,
    double v)
{
	return metrics_set(m, name, &lv, lv != NULL, v);
}

int
arb_metrics_set2(struct arb_metrics *m, const char *name, const char *lv1,
    const char *lv2, double v)
{
	const char	*lv[2] = { lv1, lv2 };

	if (lv1 == NULL || lv2 == NULL)
		return ARB_EINVAL;
	return metrics_set(m, name, lv, 2, v);
}

int
arb_metrics_one(struct arb_metrics *m, const char *name,
    enum arb_metric_type type, const char *help, double v)
{
	int	rv;

	if ((rv = arb_metrics_family(m, name, type, NULL, help)) != 0)
		return rv;
	return arb_metrics_set(m, name, NULL, v);
}

int
arb_metrics_build_info(struct arb_metrics *m)
{
	int	rv;

	if ((rv = arb_metrics_family(m, "arbor_build_info", ARB_METRIC_GAUGE,
	    "version", "The version of Arbor this node runs (always 1)")) != 0)
		return rv;
	return arb_metrics_set(m, "arbor_build_info", ARBOR_BUILD_VERSION, 1);
}

static void
out_put(struct out *o, const char *s, size_t n)
{
	char	*nb;
	size_t	 cap;

	if (o->failed)
		return;
	if (o->len + n + 1 > o->cap) {
		cap = o->cap ? o->cap : 1024;
		while (cap < o->len + n + 1)
			cap *= 2;
		if ((nb = realloc(o->b, cap)) == NULL) {
			o->failed = 1;
			return;
		}
		o->b = nb;
		o->cap = cap;
	}
	memcpy(o->b + o->len, s, n);
	o->len += n;
	o->b[o->len] = '\0';
}

static void
out_str(struct out *o, const char *s)
{
	out_put(o, s, strlen(s));
}

/*
 * s escaped: a backslash and a newline always (HELP text), a double
 * quote too in a label value.
 */
static void
out_escaped(struct out *o, const char *s, int quote)
{
	const char	*p;

	for (p = s; *p != '\0'; p++) {
		if (*p == '\\')
			out_str(o, "\\\\");
		else if (*p == '\n')
			out_str(o, "\\n");
		else if (quote && *p == '"')
			out_str(o, "\\\"");
		else
			out_put(o, p, 1);
	}
}

static void
out_value(struct out *o, double v)
{
	char	num[64];

	if (isnan(v))
		out_str(o, "NaN");
	else if (isinf(v))
		out_str(o, v > 0 ? "+Inf" : "-Inf");
	else {
		snprintf(num, sizeof(num), "%.17g", v);
		out_str(o, num);
	}
}

int
arb_metrics_render(const struct arb_metrics *m, char **bufp, size_t *lenp)
{
	const struct family	*f;
	struct out		 o;
	size_t			 i, j, k;

	memset(&o, 0, sizeof(o));
	out_put(&o, "", 0);
	for (i = 0; i < m->n; i++) {
		f = &m->f[i];
		if (f->n == 0)
			continue;
		out_str(&o, "# HELP ");
		out_str(&o, f->name);
		out_str(&o, " ");
		out_escaped(&o, f->help, 0);
		out_str(&o, "\n# TYPE ");
		out_str(&o, f->name);
		out_str(&o, f->type == ARB_METRIC_COUNTER ? " counter\n" :
		    " gauge\n");
		for (j = 0; j < f->n; j++) {
			out_str(&o, f->name);
			for (k = 0; k < f->nlabels; k++) {
				out_str(&o, k == 0 ? "{" : ",");
				out_str(&o, f->label[k]);
				out_str(&o, "=\"");
				out_escaped(&o, f->s[j].lv[k], 1);
				out_str(&o, "\"");
			}
			if (f->nlabels > 0)
				out_str(&o, "}");
			out_str(&o, " ");
			out_value(&o, f->s[j].v);
			out_str(&o, "\n");
		}
	}
	if (o.failed) {
		free(o.b);
		return -ENOMEM;
	}
	*bufp = o.b;
	*lenp = o.len;
	return 0;
}

int
arb_metrics_write(const struct arb_metrics *m, const char *path)
{
	char	*buf;
	size_t	 len;
	int	 rv;

	if ((rv = arb_metrics_render(m, &buf, &len)) != 0)
		return rv;
	if ((rv = arb_io_write_file(path, buf, len, 0644)) != 0)
		log_warnx("metrics: %s: %s", path, arb_strerror(rv));
	free(buf);
	return rv;
}
