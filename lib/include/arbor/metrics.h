/*
 * Metrics in the Prometheus text exposition format (version 0.0.4): a
 * small registry of counter and gauge families, each with its HELP and
 * TYPE lines and at most two labels, rendered in the order the families
 * were declared.  A daemon fills a registry from its own counters when it
 * is scraped and renders it; the agent writes one to a file for
 * node_exporter's textfile collector.  Nothing here touches the network.
 *
 * Labels are for values of low cardinality that the operator chooses or
 * that Arbor fixes (a policy id, a state name, a request kind): never an
 * endpoint id.
 */
#ifndef ARBOR_METRICS_H
#define ARBOR_METRICS_H

#include <stddef.h>

enum arb_metric_type {
	ARB_METRIC_COUNTER,	/* only goes up; its name ends in _total */
	ARB_METRIC_GAUGE,
};

struct arb_metrics;

/* An empty registry, or -ENOMEM. */
int	arb_metrics_new(struct arb_metrics **mp);
void	arb_metrics_free(struct arb_metrics *m);

/*
 * Declare the family name ([a-zA-Z_:][a-zA-Z0-9_:]*; a counter's ends in
 * "_total") with its help text (any bytes; escaped when rendered) and the
 * names of its labels, comma-separated ("policy,state"; at most two), or
 * NULL for none.  0, ARB_EINVAL for a bad name
 * or one declared before, or -ENOMEM.  The strings are copied.
 */
int	arb_metrics_family(struct arb_metrics *m, const char *name,
	    enum arb_metric_type type, const char *label, const char *help);

/*
 * Set the sample of family name with label value lv (NULL exactly when
 * the family has no label, given when it has one; any bytes, escaped
 * when rendered) to v,
 * replacing an earlier value of the same sample.  0, ARB_ENOTFOUND for
 * an undeclared family, ARB_EINVAL for a label given or missing wrongly,
 * or -ENOMEM.
 */
int	arb_metrics_set(struct arb_metrics *m, const char *name,
	    const char *lv, double v);

/* The same for a family with two labels. */
int	arb_metrics_set2(struct arb_metrics *m, const char *name,
	    const char *lv1, const char *lv2, double v);

/* Declare and set a family without a label in one call. */
int	arb_metrics_one(struct arb_metrics *m, const char *name,
	    enum arb_metric_type type, const char *help, double v);

/*
 * The gauge arbor_build_info{version="..."} 1: the version this build of
 * Arbor carries.
 */
int	arb_metrics_build_info(struct arb_metrics *m);

/*
 * Render m: for each family in the order declared, "# HELP", "# TYPE" and
 * its samples in the order first set.  A family without samples is left
 * out.  *bufp (NUL-terminated, *lenp bytes without the NUL) is the
 * caller's to free.  0 or -ENOMEM.
 */
int	arb_metrics_render(const struct arb_metrics *m, char **bufp,
	    size_t *lenp);

/*
 * Write m to path atomically: rendered into a temporary file in the same
 * directory, flushed, then renamed over path (node_exporter never reads
 * half a file).  0 or -errno, logged.
 */
int	arb_metrics_write(const struct arb_metrics *m, const char *path);

#endif
