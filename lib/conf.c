/*
 * Configuration files and command-line overrides.  A file is a list of
 * "key = value" lines; blank lines and lines whose first non-blank
 * character is '#' are ignored.  An unquoted value runs to the end of the
 * line or to a '#' that follows a blank (a trailing comment), with trailing
 * blanks stripped.  A value in double quotes keeps its blanks and any '#';
 * inside quotes \" and \\ stand for " and \.
 *
 * Each key is looked up in the caller's table and its handler is called;
 * the handler parses the value (usually with the helpers below, which check
 * ranges strictly) and reports a reason on failure.  Every error in a file
 * is logged as "file:line: key: reason", not just the first, so that one
 * run of "-n" shows everything that is wrong.  Nothing here has a side
 * effect other than calling handlers and logging, so the parser can be
 * fuzzed.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "arbor/conf.h"
#include "arbor/error.h"
#include "arbor/io.h"
#include "arbor/log.h"

/* No configuration file is anywhere near this big. */
#define CONF_FILE_MAX	(1024 * 1024)
#define CONF_ERR_MAX	256

static int	conf_err(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* Write a reason into err (when there is room) and return ARB_ECONFIG. */
static int
conf_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ARB_ECONFIG;
}

static const struct arb_conf_key *
conf_find(const struct arb_conf_key *keys, const char *name)
{
	for (; keys != NULL && keys->name != NULL; keys++)
		if (strcmp(keys->name, name) == 0)
			return keys;
	return NULL;
}

/*
 * Edit distance between a and b (insertions, deletions, substitutions and
 * swaps of neighbours), '-' counting as '_'; names longer than 64 are far.
 */
static size_t
conf_distance(const char *a, const char *b)
{
	size_t	d[66][66], la = strlen(a), lb = strlen(b), i, j, v;

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++)
		for (j = 1; j <= lb; j++) {
			v = a[i - 1] == b[j - 1] || (a[i - 1] == '-' &&
			    b[j - 1] == '_') ? 0 : 1;
			v += d[i - 1][j - 1];
			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	return d[la][lb];
}

const char *
arb_conf_nearest(const struct arb_conf_key *keys, const char *name)
{
	const char	*best = NULL;
	size_t		 bestd = SIZE_MAX, dist, len = strlen(name);

	for (; keys != NULL && keys->name != NULL; keys++)
		if ((dist = conf_distance(name, keys->name)) < bestd) {
			bestd = dist;
			best = keys->name;
		}
	/* Close enough to be a slip: two edits, one for short names. */
	return bestd <= (len <= 4 ? 1 : 2) ? best : NULL;
}

/*
 * "file:line: key: unknown key" (name NULL: "command line: ..."), with the
 * nearest known key when there is one.
 */
static void
conf_unknown(const struct arb_conf_key *keys, const char *name,
    size_t lineno, const char *key)
{
	const char	*near = arb_conf_nearest(keys, key);
	char		 hint[128] = "";

	if (near != NULL)
		snprintf(hint, sizeof(hint), "; did you mean %s?", near);
	if (name != NULL)
		log_warnx("%s:%zu: %s: unknown key%s", name, lineno, key, hint);
	else
		log_warnx("command line: %s: unknown key%s", key, hint);
}

/* Run the handler of key, filling reason on failure. */
static int
conf_apply(const struct arb_conf_key *k, void *conf, const char *value,
    char *reason, size_t reasonlen)
{
	int	rv;

	reason[0] = '\0';
	if ((rv = k->fn(conf, value, reason, reasonlen)) == 0)
		return 0;
	if (reason[0] == '\0')
		snprintf(reason, reasonlen, "%s", arb_strerror(rv));
	return ARB_ECONFIG;
}

static char *
conf_skipblank(char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\f' ||
	    *p == '\v')
		p++;
	return p;
}

static int
conf_isblank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/*
 * Parse one NUL-terminated line in place.  Returns 0 or ARB_ECONFIG
 * (logged).
 */
static int
conf_line(const char *name, size_t lineno, char *line,
    const struct arb_conf_key *keys, void *conf)
{
	const struct arb_conf_key	*k;
	char				 reason[CONF_ERR_MAX];
	char				*p, *key, *keyend, *value, *q, *out;

	p = conf_skipblank(line);
	if (*p == '\0' || *p == '#')
		return 0;

	key = p;
	while (*p != '\0' && *p != '=' && !conf_isblank(*p))
		p++;
	keyend = p;
	p = conf_skipblank(p);
	if (keyend == key) {
		log_warnx("%s:%zu: missing key before '='", name, lineno);
		return ARB_ECONFIG;
	}
	if (*p != '=') {
		*keyend = '\0';
		log_warnx("%s:%zu: %s: expected '=' after the key", name,
		    lineno, key);
		return ARB_ECONFIG;
	}
	*keyend = '\0';
	p = conf_skipblank(p + 1);

	if (*p == '"') {
		/* Unescape in place: out never passes q. */
		value = out = q = p + 1;
		for (;;) {
			if (*q == '\0') {
				log_warnx("%s:%zu: %s: unterminated quoted "
				    "value", name, lineno, key);
				return ARB_ECONFIG;
			}
			if (*q == '\\' && (q[1] == '"' || q[1] == '\\')) {
				*out++ = q[1];
				q += 2;
			} else if (*q == '"')
				break;
			else
				*out++ = *q++;
		}
		*out = '\0';
		q = conf_skipblank(q + 1);
		if (*q != '\0' && *q != '#') {
			log_warnx("%s:%zu: %s: unexpected text after the "
			    "quoted value", name, lineno, key);
			return ARB_ECONFIG;
		}
	} else {
		value = p;
		for (q = p; *q != '\0'; q++)
			if (*q == '#' && q > p && conf_isblank(q[-1])) {
				*q = '\0';
				break;
			}
		q = value + strlen(value);
		while (q > value && conf_isblank(q[-1]))
			*--q = '\0';
	}

	if ((k = conf_find(keys, key)) == NULL) {
		conf_unknown(keys, name, lineno, key);
		return ARB_ECONFIG;
	}
	if (conf_apply(k, conf, value, reason, sizeof(reason)) != 0) {
		log_warnx("%s:%zu: %s: %s", name, lineno, key, reason);
		return ARB_ECONFIG;
	}
	return 0;
}

int
arb_conf_parse(const char *name, const char *buf, size_t len,
    const struct arb_conf_key *keys, void *conf)
{
	char	*copy, *line, *end, *nl;
	size_t	 lineno = 0;
	int	 bad = 0;

	if (name == NULL)
		name = "(config)";
	if (buf == NULL && len > 0)
		return ARB_EINVAL;
	if ((copy = malloc(len + 1)) == NULL) {
		log_warn("%s", name);
		return -ENOMEM;
	}
	if (len > 0)
		memcpy(copy, buf, len);
	copy[len] = '\0';
	end = copy + len;

	for (line = copy; line < end; line = nl + 1) {
		lineno++;
		if ((nl = memchr(line, '\n', (size_t)(end - line))) == NULL)
			nl = end;
		*nl = '\0';
		if (strlen(line) != (size_t)(nl - line)) {
			log_warnx("%s:%zu: NUL byte in line", name, lineno);
			bad = 1;
			continue;
		}
		if (conf_line(name, lineno, line, keys, conf) != 0)
			bad = 1;
	}
	free(copy);
	return bad ? ARB_ECONFIG : 0;
}

int
arb_conf_load(const char *path, const struct arb_conf_key *keys,
    void *conf)
{
	struct stat	 st;
	char		*buf = NULL;
	size_t		 len;
	int		 fd, rv;

	if (path == NULL)
		return ARB_EINVAL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		rv = -errno;
		log_warn("%s", path);
		return rv;
	}
	if (fstat(fd, &st) == -1) {
		rv = -errno;
		log_warn("%s", path);
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > CONF_FILE_MAX) {
		log_warnx("%s: not a regular file of at most %d bytes", path,
		    CONF_FILE_MAX);
		rv = ARB_ECONFIG;
		goto fail;
	}
	/* One byte more than allowed tells a file that grew meanwhile. */
	if ((buf = malloc(CONF_FILE_MAX + 1)) == NULL) {
		rv = -errno;
		log_warn("%s", path);
		goto fail;
	}
	if ((rv = arb_io_read_full(fd, buf, CONF_FILE_MAX + 1, &len)) != 0) {
		log_warn("%s", path);
		goto fail;
	}
	if (len > CONF_FILE_MAX) {
		log_warnx("%s: larger than %d bytes", path, CONF_FILE_MAX);
		rv = ARB_ECONFIG;
		goto fail;
	}
	rv = arb_conf_parse(path, buf, len, keys, conf);
fail:
	free(buf);
	close(fd);
	return rv;
}

int
arb_conf_set(const char *key, const char *value,
    const struct arb_conf_key *keys, void *conf)
{
	const struct arb_conf_key	*k;
	char				 reason[CONF_ERR_MAX];
	char				*copy, *eq;
	int				 rv = ARB_ECONFIG;

	if (key == NULL)
		return ARB_EINVAL;
	if (key[0] == '-' && key[1] == '-')
		key += 2;
	if ((copy = strdup(key)) == NULL) {
		log_warn("command line");
		return -ENOMEM;
	}
	if (value == NULL) {
		if ((eq = strchr(copy, '=')) == NULL) {
			log_warnx("command line: %s: missing value", copy);
			goto done;
		}
		*eq = '\0';
		value = eq + 1;
	}
	if ((k = conf_find(keys, copy)) == NULL) {
		conf_unknown(keys, NULL, 0, copy);
		goto done;
	}
	if (conf_apply(k, conf, value, reason, sizeof(reason)) != 0) {
		log_warnx("command line: %s: %s", copy, reason);
		goto done;
	}
	rv = 0;
done:
	free(copy);
	return rv;
}

/* ---- value helpers */

int
arb_conf_int(const char *value, int64_t min, int64_t max, int64_t *out,
    char *err, size_t errlen)
{
	char		*end;
	long long	 v;

	if (value == NULL || *value == '\0')
		return conf_err(err, errlen, "empty value");
	if (!isdigit((unsigned char)value[0]) &&
	    !(value[0] == '-' && isdigit((unsigned char)value[1])))
		return conf_err(err, errlen, "\"%s\" is not an integer",
		    value);
	errno = 0;
	v = strtoll(value, &end, 10);
	if (*end != '\0')
		return conf_err(err, errlen, "\"%s\" is not an integer",
		    value);
	if (errno == ERANGE || v < min || v > max)
		return conf_err(err, errlen,
		    "%s is out of range (%" PRId64 " to %" PRId64 ")",
		    value, min, max);
	*out = v;
	return 0;
}

int
arb_conf_size(const char *value, uint64_t min, uint64_t max,
    uint64_t *out, char *err, size_t errlen)
{
	static const struct {
		const char	*suffix;
		uint64_t	 mult;
	} units[] = {
		{ "", 1 },
		{ "K", 1ULL << 10 }, { "KiB", 1ULL << 10 },
		{ "M", 1ULL << 20 }, { "MiB", 1ULL << 20 },
		{ "G", 1ULL << 30 }, { "GiB", 1ULL << 30 },
	};
	char			*end;
	unsigned long long	 v;
	size_t			 i;

	if (value == NULL || *value == '\0')
		return conf_err(err, errlen, "empty value");
	/* strtoull accepts blanks and a minus sign; a size has neither. */
	if (!isdigit((unsigned char)value[0]))
		return conf_err(err, errlen, "\"%s\" is not a size", value);
	errno = 0;
	v = strtoull(value, &end, 10);
	if (errno == ERANGE)
		return conf_err(err, errlen, "%s is too large", value);
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(end, units[i].suffix) == 0)
			break;
	if (i == sizeof(units) / sizeof(units[0]))
		return conf_err(err, errlen,
		    "\"%s\" is not a size (use a number with K, M or G)",
		    value);
	if (v > UINT64_MAX / units[i].mult)
		return conf_err(err, errlen, "%s is too large", value);
	v *= units[i].mult;
	if (v < min || v > max)
		return conf_err(err, errlen,
		    "%s is out of range (%" PRIu64 " to %" PRIu64 " bytes)",
		    value, min, max);
	*out = v;
	return 0;
}

int
arb_conf_duration_ms(const char *value, int64_t min_ms, int64_t max_ms,
    int64_t *out, char *err, size_t errlen)
{
	static const struct {
		const char	*suffix;
		int64_t		 mult;
	} units[] = {
		{ "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 },
		{ "h", 3600000 }, { "d", 86400000 },
	};
	char		*end;
	long long	 v;
	int64_t		 ms;
	size_t		 i;

	if (value == NULL || *value == '\0')
		return conf_err(err, errlen, "empty value");
	if (!isdigit((unsigned char)value[0]) &&
	    !(value[0] == '-' && isdigit((unsigned char)value[1])))
		return conf_err(err, errlen, "\"%s\" is not a duration",
		    value);
	errno = 0;
	v = strtoll(value, &end, 10);
	if (errno == ERANGE)
		return conf_err(err, errlen, "%s is out of range", value);
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(end, units[i].suffix) == 0)
			break;
	if (i == sizeof(units) / sizeof(units[0]))
		return conf_err(err, errlen, "\"%s\" is not a duration "
		    "(use a number with ms, s, m, h or d)", value);
	if (__builtin_mul_overflow((int64_t)v, units[i].mult, &ms) ||
	    ms < min_ms || ms > max_ms)
		return conf_err(err, errlen,
		    "%s is out of range (%" PRId64 "ms to %" PRId64 "ms)",
		    value, min_ms, max_ms);
	*out = ms;
	return 0;
}

int
arb_conf_bool(const char *value, int *out, char *err, size_t errlen)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	size_t			 i;

	if (value == NULL || *value == '\0')
		return conf_err(err, errlen, "empty value");
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(value, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(value, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return conf_err(err, errlen, "\"%s\" is not yes or no", value);
}

int
arb_conf_str(const char *value, char **out, char *err, size_t errlen)
{
	char	*s;

	if (value == NULL)
		return conf_err(err, errlen, "missing value");
	if ((s = strdup(value)) == NULL)
		return conf_err(err, errlen, "out of memory");
	*out = s;
	return 0;
}

int
arb_conf_str_set(char **field, const char *value, char *err, size_t errlen)
{
	char	*s = NULL;
	int	 rv;

	if ((rv = arb_conf_str(value, &s, err, errlen)) != 0)
		return rv;
	free(*field);
	*field = s;
	return 0;
}

/* ---- string lists */

int
arb_strlist_add(struct arb_strlist *l, const char *s)
{
	char	**v, *copy;

	if (l == NULL || s == NULL)
		return ARB_EINVAL;
	if ((copy = strdup(s)) == NULL)
		return -ENOMEM;
	/* Keep v NULL-terminated, so that it can be walked without n. */
	if ((v = realloc(l->v, (l->n + 2) * sizeof(*v))) == NULL) {
		free(copy);
		return -ENOMEM;
	}
	v[l->n] = copy;
	v[l->n + 1] = NULL;
	l->v = v;
	l->n++;
	return 0;
}

void
arb_strlist_free(struct arb_strlist *l)
{
	size_t	i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
