/*
 * Fuzz target for the configuration parser, arb_conf_parse, with a key
 * table that reaches every value helper: integers, sizes, durations,
 * booleans, strings, a repeatable list (arb_strlist) and parent address
 * pairs (arb_parent_parse).  The input's first line is also applied as a
 * command-line override with arb_conf_set.  Everything a handler kept is
 * freed after each input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "arbor/conf.h"
#include "arbor/error.h"
#include "arbor/log.h"
#include "arbor/sync.h"

#define FZ_PARENTS_MAX	8

struct fz_conf {
	int64_t			 i;
	uint64_t		 size;
	int64_t			 ms;
	int			 b;
	char			*s;
	struct arb_strlist	 list;
	struct arb_parent	 parents[FZ_PARENTS_MAX];
	size_t			 nparents;
};

static int
fz_int(void *conf, const char *value, char *err, size_t errlen)
{
	struct fz_conf	*c = conf;

	return arb_conf_int(value, -1000, INT64_MAX, &c->i, err, errlen);
}

static int
fz_size(void *conf, const char *value, char *err, size_t errlen)
{
	struct fz_conf	*c = conf;

	return arb_conf_size(value, 1, UINT64_MAX, &c->size, err, errlen);
}

static int
fz_duration(void *conf, const char *value, char *err, size_t errlen)
{
	struct fz_conf	*c = conf;

	return arb_conf_duration_ms(value, INT64_MIN, INT64_MAX, &c->ms,
	    err, errlen);
}

static int
fz_bool(void *conf, const char *value, char *err, size_t errlen)
{
	struct fz_conf	*c = conf;

	return arb_conf_bool(value, &c->b, err, errlen);
}

static int
fz_str(void *conf, const char *value, char *err, size_t errlen)
{
	struct fz_conf	*c = conf;
	char		*s;
	int		 rv;

	if ((rv = arb_conf_str(value, &s, err, errlen)) != 0)
		return rv;
	free(c->s);
	c->s = s;
	return 0;
}

static int
fz_list(void *conf, const char *value, char *err, size_t errlen)
{
	struct fz_conf	*c = conf;

	(void)err;
	(void)errlen;
	return arb_strlist_add(&c->list, value);
}

static int
fz_parent(void *conf, const char *value, char *err, size_t errlen)
{
	struct fz_conf		*c = conf;
	struct arb_parent	 p;
	int			 rv;

	if (c->nparents == FZ_PARENTS_MAX) {
		snprintf(err, errlen, "at most %d parents", FZ_PARENTS_MAX);
		return ARB_ECONFIG;
	}
	memset(&p, 0, sizeof(p));
	if ((rv = arb_parent_parse(value, &p, err, errlen)) != 0)
		return rv;
	c->parents[c->nparents++] = p;
	return 0;
}

static const struct arb_conf_key fz_keys[] = {
	{ "int", fz_int, "an integer" },
	{ "size", fz_size, "a size" },
	{ "duration", fz_duration, "a duration" },
	{ "bool", fz_bool, "a boolean" },
	{ "str", fz_str, "a string" },
	{ "list", fz_list, "a list item" },
	{ "parent", fz_parent, "a parent" },
	{ NULL, NULL, NULL }
};

static void
fz_conf_free(struct fz_conf *c)
{
	size_t	i;

	free(c->s);
	arb_strlist_free(&c->list);
	for (i = 0; i < c->nparents; i++)
		arb_parent_clear(&c->parents[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int	 quiet;
	struct fz_conf	 c;
	const char	*nl;
	char		*line;
	size_t		 n;

	/* Every bad line is logged; millions of them are not news here. */
	if (!quiet++)
		log_init(0, LOG_USER);
	memset(&c, 0, sizeof(c));
	(void)arb_conf_parse("fuzz.conf", (const char *)data, size, fz_keys,
	    &c);

	/* The first line as --key=value. */
	nl = size > 0 ? memchr(data, '\n', size) : NULL;
	n = nl != NULL ? (size_t)(nl - (const char *)data) : size;
	if ((line = malloc(n + 1)) != NULL) {
		memcpy(line, data, n);
		line[n] = '\0';
		(void)arb_conf_set(line, NULL, fz_keys, &c);
		free(line);
	}
	fz_conf_free(&c);
	return 0;
}
