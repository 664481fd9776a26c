/*
 * Configuration: "key = value" lines, '#' comments, blank lines ignored.
 * A key may repeat where its handler allows (lists).  Every daemon
 * describes its keys with a table; the same table parses command-line
 * overrides of the form --key=value or --key value.  Parsing has no side
 * effects beyond calling the handlers, so it can be fuzzed.
 */
#ifndef ARBOR_CONF_H
#define ARBOR_CONF_H

#include <stddef.h>
#include <stdint.h>

/*
 * A key's handler: parse value into the config object conf.  Returns 0, or
 * writes a reason (no file/line/key, those are added) into err and returns
 * ARB_ECONFIG.
 */
typedef int (*arb_conf_fn)(void *conf, const char *value, char *err,
    size_t errlen);

struct arb_conf_key {
	const char	*name;
	arb_conf_fn	 fn;
	const char	*help;	/* one line for --help and the README */
};

/* Table terminated by {NULL}. */

/*
 * Parse the file at path against keys.  Errors are logged as
 * "file:line: key: reason" and the first makes this return ARB_ECONFIG;
 * -errno if the file cannot be read.
 */
int	arb_conf_load(const char *path, const struct arb_conf_key *keys,
	    void *conf);

/* Same, from a buffer; name is used in messages. */
int	arb_conf_parse(const char *name, const char *buf, size_t len,
	    const struct arb_conf_key *keys, void *conf);

/*
 * Apply one "key=value" or key/value pair from the command line.  Returns 0
 * or ARB_ECONFIG (logged as "command line: key: reason").
 */
int	arb_conf_set(const char *key, const char *value,
	    const struct arb_conf_key *keys, void *conf);

/*
 * The key of keys nearest to name (a slip of one or two characters, '-'
 * for '_'), for "did you mean"; NULL when none is that close.  The string
 * is the table's own.
 */
const char *arb_conf_nearest(const struct arb_conf_key *keys,
	    const char *name);

/* Value helpers for handlers: range-checked, 0 or ARB_ECONFIG + reason. */
int	arb_conf_int(const char *value, int64_t min, int64_t max, int64_t *out,
	    char *err, size_t errlen);
/* Sizes accept suffixes K, M, G (powers of 1024). */
int	arb_conf_size(const char *value, uint64_t min, uint64_t max,
	    uint64_t *out, char *err, size_t errlen);
/* Durations accept suffixes ms, s, m, h, d; plain numbers are seconds. */
int	arb_conf_duration_ms(const char *value, int64_t min_ms, int64_t max_ms,
	    int64_t *out, char *err, size_t errlen);
int	arb_conf_bool(const char *value, int *out, char *err, size_t errlen);
/* Copy a string handler value into a freshly allocated string. */
int	arb_conf_str(const char *value, char **out, char *err, size_t errlen);
/* Replace the string *field (freeing the old one) with a copy of value. */
int	arb_conf_str_set(char **field, const char *value, char *err,
	    size_t errlen);

/* Define a key handler fn that sets string field of a struct type. */
#define ARB_CONF_STRKEY(fn, type, field)				\
static int								\
fn(void *c, const char *v, char *e, size_t n)				\
{									\
	return arb_conf_str_set(&((type *)c)->field, v, e, n);		\
}

/* A growable list of strings (e.g. parent addresses). */
struct arb_strlist {
	char	**v;
	size_t	  n;
};
int	arb_strlist_add(struct arb_strlist *l, const char *s);
void	arb_strlist_free(struct arb_strlist *l);

#endif
