/*
 * Policy files: the JSON an operator writes to describe a policy, turned
 * into the Arbor__Policy that arborctl publishes plus the local paths of
 * its blobs.  The only user of jansson's parser in libarbor.
 *
 * Everything is checked here, before a byte goes to the root, and every
 * refusal names the file and the field, so that an operator can fix the
 * file without reading code: unknown fields are errors (a typo must not
 * silently drop a rollback script), and the bounds are those the wire
 * enforces, so that a file accepted here is never refused by the root for
 * its shape.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "arbor/cvss.h"
#include "arbor/error.h"
#include "arbor/policy.h"
#include "arbor/sig.h"
#include "arbor/expr.h"
#include "arbor/io.h"
#include "arbor/wire.h"

/* A policy file larger than this is not a policy file. */
#define POLICY_FILE_MAX		(4 * 1024 * 1024)
#define POLICY_BLOB_NAME_MAX	255

const char *const arb_policy_severities[] = {
	"critical", "high", "medium", "low", NULL
};

static const char *const policy_keys[] = {
	"id", "version", "title", "severity", "applicability", "action",
	"action_file", "rollback", "rollback_file", "blobs", "target",
	"timeout", "cves", "cvss", "schedule", "rollout", "retry", "reapply",
	"reboot", NULL
};

static const char *const policy_retry_keys[] = {
	"count", "interval", NULL
};

static const char *const policy_reboot_keys[] = {
	"mode", "deadline", "after", NULL
};

static const char *const policy_schedule_keys[] = {
	"not_before", "deadline", "windows", "spread", "run_when", NULL
};

static const char *const policy_window_keys[] = {
	"days", "from", "to", NULL
};

static const char *const policy_rollout_keys[] = {
	"waves", "silent", NULL
};

static const char *const policy_wave_keys[] = {
	"name", "share", "soak", "success", "halt", "halt_count", NULL
};

static const char *const policy_days[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat"
};

static const char *const policy_target_keys[] = {
	"endpoints", "groups", "properties", NULL
};

#define POLICY_TARGET_MAX	4096

static const char *const policy_blob_keys[] = { "path", "name", NULL };

/* What every step needs to report an error and resolve a path. */
struct policy_ctx {
	const char	*name;	/* the file, for messages */
	const char	*dir;	/* relative paths resolve here; NULL: cwd */
	char		*err;
	size_t		 errlen;
};

static int	policy_fail(struct policy_ctx *, const char *, const char *,
		    ...) __attribute__((format(printf, 3, 4)));

/*
 * Write "name: field \"field\": reason" (or "name: reason" without a field)
 * into the caller's buffer.  Always returns ARB_EINVAL, so that callers can
 * return policy_fail(...).
 */
static int
policy_fail(struct policy_ctx *c, const char *field, const char *fmt, ...)
{
	char	reason[1024];
	va_list	ap;

	if (c->err == NULL || c->errlen == 0)
		return ARB_EINVAL;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (field != NULL)
		snprintf(c->err, c->errlen, "%s: field \"%s\": %s", c->name,
		    field, reason);
	else
		snprintf(c->err, c->errlen, "%s: %s", c->name, reason);
	return ARB_EINVAL;
}

static int
policy_nomem(struct policy_ctx *c)
{
	policy_fail(c, NULL, "%s", strerror(ENOMEM));
	return -ENOMEM;
}

int
arb_policy_id_valid(const char *id)
{
	size_t	i;

	for (i = 0; id[i] != '\0'; i++) {
		if (i >= ARB_MAX_ID)
			return 0;
		if (!((id[i] >= 'A' && id[i] <= 'Z') ||
		    (id[i] >= 'a' && id[i] <= 'z') ||
		    (id[i] >= '0' && id[i] <= '9') ||
		    id[i] == '.' || id[i] == '_' || id[i] == '-'))
			return 0;
	}
	return i > 0;
}

int
arb_policy_blob_name_valid(const char *name)
{
	size_t	i, len;

	len = strlen(name);
	if (len == 0 || len > POLICY_BLOB_NAME_MAX)
		return 0;
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 0;
	/* The wire refuses control characters too (wire_check_blobname). */
	for (i = 0; i < len; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return 0;
	return strchr(name, '/') == NULL;
}

/* Refuse any key of obj that is not in keys; prefix names nested fields. */
static int
policy_check_keys(struct policy_ctx *c, json_t *obj,
    const char *const *keys, const char *prefix)
{
	const char	*key;
	json_t		*v;
	size_t		 i;

	json_object_foreach(obj, key, v) {
		for (i = 0; keys[i] != NULL; i++)
			if (strcmp(keys[i], key) == 0)
				break;
		if (keys[i] != NULL)
			continue;
		if (prefix != NULL)
			return policy_fail(c, NULL,
			    "unknown field \"%s.%s\"", prefix, key);
		return policy_fail(c, NULL, "unknown field \"%s\"", key);
	}
	return 0;
}

/*
 * Copy the string member key of obj into *outp.  A missing member is an
 * error when required, else *outp is NULL.  Empty strings are refused.
 */
static int
policy_get_string(struct policy_ctx *c, json_t *obj, const char *key,
    const char *field, int required, size_t maxlen, char **outp)
{
	json_t	*v;
	char	*s;

	*outp = NULL;
	if ((v = json_object_get(obj, key)) == NULL) {
		if (required)
			return policy_fail(c, NULL, "missing field \"%s\"",
			    field);
		return 0;
	}
	if (!json_is_string(v))
		return policy_fail(c, field, "must be a string");
	if (json_string_length(v) == 0)
		return policy_fail(c, field, "must not be empty");
	if (json_string_length(v) > maxlen)
		return policy_fail(c, field, "longer than %zu bytes", maxlen);
	if ((s = strdup(json_string_value(v))) == NULL)
		return policy_nomem(c);
	*outp = s;
	return 0;
}

/* Resolve path against the policy file's directory (malloc'd). */
static int
policy_resolve(struct policy_ctx *c, const char *path, char **outp)
{
	size_t	 dlen;
	char	*s;
	int	 n;

	if (path[0] == '/' || c->dir == NULL || c->dir[0] == '\0') {
		s = strdup(path);
	} else {
		dlen = strlen(c->dir);
		n = asprintf(&s, "%s%s%s", c->dir,
		    c->dir[dlen - 1] == '/' ? "" : "/", path);
		if (n < 0)
			s = NULL;
	}
	if (s == NULL)
		return policy_nomem(c);
	*outp = s;
	return 0;
}

/* A file error: "field \"f\": path: reason", or "reason" for the policy file. */
static int
policy_fail_file(struct policy_ctx *c, const char *field, const char *path,
    const char *reason)
{
	if (field == NULL)
		return policy_fail(c, NULL, "%s", reason);
	return policy_fail(c, field, "%s: %s", path, reason);
}

/*
 * Read a whole regular file of at most maxlen bytes as NUL-free text into
 * a malloc'd, NUL-terminated *outp.  field NULL means path is the policy
 * file itself (already named by every message).
 */
static int
policy_read_text(struct policy_ctx *c, const char *field, const char *path,
    size_t maxlen, char **outp)
{
	struct stat	 st;
	char		 reason[64];
	char		*buf;
	size_t		 off, size;
	int		 fd, rv;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return policy_fail_file(c, field, path, strerror(errno));
	if (fstat(fd, &st) == -1) {
		rv = policy_fail_file(c, field, path, strerror(errno));
		close(fd);
		return rv;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return policy_fail_file(c, field, path,
		    "not a regular file");
	}
	if ((uint64_t)st.st_size > maxlen) {
		close(fd);
		snprintf(reason, sizeof(reason), "larger than %zu bytes",
		    maxlen);
		return policy_fail_file(c, field, path, reason);
	}
	size = (size_t)st.st_size;
	if ((buf = malloc(size + 1)) == NULL) {
		close(fd);
		return policy_nomem(c);
	}
	/* Read to the size seen; a file that grows meanwhile is cut there. */
	if (arb_io_read_full(fd, buf, size, &off) != 0) {
		rv = policy_fail_file(c, field, path, strerror(errno));
		goto fail;
	}
	close(fd);
	buf[off] = '\0';
	if (memchr(buf, '\0', off) != NULL) {
		free(buf);
		return policy_fail_file(c, field, path,
		    "contains a NUL byte");
	}
	*outp = buf;
	return 0;
fail:
	free(buf);
	close(fd);
	return rv;
}

/*
 * A script given either inline (key) or as a file (filekey), never both.
 * An optional script that is absent becomes "".
 */
static int
policy_get_script(struct policy_ctx *c, json_t *obj, const char *key,
    const char *filekey, int required, char **outp)
{
	json_t	*js;
	char	*file, *path, *text;
	int	 has_text, has_file, rv;

	has_text = json_object_get(obj, key) != NULL;
	has_file = json_object_get(obj, filekey) != NULL;
	if (has_text && has_file)
		return policy_fail(c, filekey, "cannot be given with \"%s\"",
		    key);
	if (has_text)
		return policy_get_string(c, obj, key, key, 1, ARB_MAX_TEXT,
		    outp);
	if (!has_file) {
		if (required)
			return policy_fail(c, NULL,
			    "missing field \"%s\" (or \"%s\")", key, filekey);
		if ((*outp = strdup("")) == NULL)
			return policy_nomem(c);
		return 0;
	}
	if ((rv = policy_get_string(c, obj, filekey, filekey, 1, PATH_MAX,
	    &file)) != 0)
		return rv;
	rv = policy_resolve(c, file, &path);
	free(file);
	if (rv != 0)
		return rv;
	rv = policy_read_text(c, filekey, path, ARB_MAX_TEXT, &text);
	if (rv == 0 && text[0] == '\0') {
		rv = policy_fail(c, filekey, "%s: file is empty", path);
		free(text);
	} else if (rv == 0) {
		/* The wire carries only UTF-8: jansson checks it alike. */
		if ((js = json_string(text)) == NULL) {
			rv = policy_fail(c, filekey, "%s: not UTF-8 text",
			    path);
			free(text);
		} else
			json_decref(js);
	}
	free(path);
	if (rv != 0)
		return rv;
	*outp = text;
	return 0;
}

static int
policy_get_version(struct policy_ctx *c, json_t *obj, uint32_t *vp)
{
	json_t		*v;
	json_int_t	 n;

	if ((v = json_object_get(obj, "version")) == NULL)
		return policy_fail(c, NULL, "missing field \"version\"");
	if (!json_is_integer(v) || (n = json_integer_value(v)) < 1 ||
	    n > (json_int_t)UINT32_MAX)
		return policy_fail(c, "version",
		    "must be an integer 1..4294967295");
	*vp = (uint32_t)n;
	return 0;
}

static int
policy_get_severity(struct policy_ctx *c, json_t *obj, char **outp)
{
	size_t	 i;
	char	*s;
	int	 rv;

	if ((rv = policy_get_string(c, obj, "severity", "severity", 1,
	    ARB_MAX_ID, &s)) != 0) {
		if (rv == ARB_EINVAL && json_is_string(json_object_get(obj,
		    "severity")))
			goto bad;
		return rv;
	}
	for (i = 0; arb_policy_severities[i] != NULL; i++)
		if (strcmp(s, arb_policy_severities[i]) == 0) {
			*outp = s;
			return 0;
		}
	free(s);
bad:
	return policy_fail(c, "severity",
	    "must be one of critical, high, medium, low");
}

static void
policy_blobref_free(Arbor__BlobRef *br)
{
	if (br == NULL)
		return;
	free(br->name);
	free(br->sha256.data);
	free(br);
}

/*
 * Parse blobs[i], stat and hash its file, and append it to pf.  On failure
 * nothing is appended.
 */
static int
policy_parse_blob(struct policy_ctx *c, json_t *e, size_t i,
    struct arb_policy_file *pf)
{
	Arbor__BlobRef	 init = ARBOR__BLOB_REF__INIT;
	Arbor__BlobRef	*br = NULL;
	struct stat	 st;
	char		 f[32], fpath[48], fname[48];
	char		*path = NULL, *rpath = NULL, *name = NULL;
	const char	*base;
	uint8_t		*sha = NULL;
	uint64_t	 size;
	size_t		 j;
	int		 rv;

	snprintf(f, sizeof(f), "blobs[%zu]", i);
	snprintf(fpath, sizeof(fpath), "%s.path", f);
	snprintf(fname, sizeof(fname), "%s.name", f);
	if (!json_is_object(e))
		return policy_fail(c, f, "must be an object");
	if ((rv = policy_check_keys(c, e, policy_blob_keys, f)) != 0)
		return rv;
	if ((rv = policy_get_string(c, e, "path", fpath, 1, PATH_MAX,
	    &path)) != 0)
		return rv;
	if ((rv = policy_resolve(c, path, &rpath)) != 0)
		goto fail;
	if (stat(rpath, &st) == -1) {
		rv = policy_fail(c, fpath, "%s: %s", rpath, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		rv = policy_fail(c, fpath, "%s: not a regular file", rpath);
		goto fail;
	}

	if (json_object_get(e, "name") != NULL) {
		if ((rv = policy_get_string(c, e, "name", fname, 1,
		    POLICY_BLOB_NAME_MAX, &name)) != 0)
			goto fail;
	} else {
		base = strrchr(path, '/');
		if ((name = strdup(base != NULL ? base + 1 : path)) == NULL) {
			rv = policy_nomem(c);
			goto fail;
		}
	}
	if (!arb_policy_blob_name_valid(name)) {
		rv = policy_fail(c, fname, "\"%s\": must be 1..%d bytes, "
		    "without '/' or control characters, and not \".\" or "
		    "\"..\"", name,
		    POLICY_BLOB_NAME_MAX);
		goto fail;
	}
	for (j = 0; j < pf->pol.n_blobs; j++)
		if (strcmp(pf->pol.blobs[j]->name, name) == 0) {
			rv = policy_fail(c, fname,
			    "\"%s\" is also the name of blobs[%zu]", name, j);
			goto fail;
		}

	if ((sha = malloc(ARB_SHA256_LEN)) == NULL) {
		rv = policy_nomem(c);
		goto fail;
	}
	if ((rv = arb_sha256_file(rpath, sha, &size)) != 0) {
		rv = policy_fail(c, fpath, "%s: %s", rpath, arb_strerror(rv));
		goto fail;
	}
	/* The wire names no empty blob: there is nothing to fetch. */
	if (size == 0) {
		rv = policy_fail(c, fpath, "%s: empty file", rpath);
		goto fail;
	}
	if ((br = malloc(sizeof(*br))) == NULL) {
		rv = policy_nomem(c);
		goto fail;
	}
	*br = init;
	br->name = name;
	br->sha256.data = sha;
	br->sha256.len = ARB_SHA256_LEN;
	br->size = size;
	pf->pol.blobs[pf->pol.n_blobs++] = br;
	pf->blob_paths[pf->nblobs++] = rpath;
	free(path);
	return 0;
fail:
	free(sha);
	free(name);
	free(rpath);
	free(path);
	return rv;
}

static int
policy_parse_blobs(struct policy_ctx *c, json_t *obj,
    struct arb_policy_file *pf)
{
	json_t	*v;
	size_t	 i, n;
	int	 rv;

	/*
	 * Required, even when empty: an action finds only the declared
	 * blobs in its directory, and one that forgot them would fail on
	 * every endpoint ("cp: cannot stat") instead of here.
	 */
	if ((v = json_object_get(obj, "blobs")) == NULL)
		return policy_fail(c, NULL, "missing field \"blobs\" (give "
		    "\"blobs\": [] for a policy without content)");
	if (!json_is_array(v))
		return policy_fail(c, "blobs", "must be an array");
	if ((n = json_array_size(v)) == 0)
		return 0;
	if (n > ARB_MAX_BLOBS)
		return policy_fail(c, "blobs", "at most %d blobs",
		    ARB_MAX_BLOBS);
	if ((pf->pol.blobs = calloc(n, sizeof(*pf->pol.blobs))) == NULL ||
	    (pf->blob_paths = calloc(n, sizeof(*pf->blob_paths))) == NULL)
		return policy_nomem(c);
	for (i = 0; i < n; i++)
		if ((rv = policy_parse_blob(c, json_array_get(v, i), i,
		    pf)) != 0)
			return rv;
	return 0;
}

/* A list of short strings at target.<field>. */
static int
policy_get_list(struct policy_ctx *c, json_t *obj, const char *field,
    char ***vp, size_t *np)
{
	json_t	*v, *x;
	size_t	 i;
	char	 name[64];

	if ((v = json_object_get(obj, field)) == NULL)
		return 0;
	snprintf(name, sizeof(name), "target.%s", field);
	if (!json_is_array(v))
		return policy_fail(c, name, "must be an array of strings");
	if (json_array_size(v) > POLICY_TARGET_MAX)
		return policy_fail(c, name, "at most %d entries",
		    POLICY_TARGET_MAX);
	if ((*vp = calloc(json_array_size(v) + 1, sizeof(char *))) == NULL)
		return policy_nomem(c);
	json_array_foreach(v, i, x) {
		if (!json_is_string(x) || json_string_length(x) == 0 ||
		    json_string_length(x) > ARB_MAX_ID ||
		    strlen(json_string_value(x)) != json_string_length(x))
			return policy_fail(c, name, "entry %zu: must be a "
			    "string of 1..%d characters", i, ARB_MAX_ID);
		if (((*vp)[i] = strdup(json_string_value(x))) == NULL)
			return policy_nomem(c);
		(*np)++;
	}
	return 0;
}

static int
policy_parse_target(struct policy_ctx *c, json_t *root,
    struct arb_policy_file *pf)
{
	Arbor__Policy	*p = &pf->pol;
	json_t		*t, *v, *props;
	const char	*k;
	size_t		 n;
	int		 rv;

	if ((t = json_object_get(root, "target")) == NULL)
		return 0;
	if (json_is_string(t) && strcmp(json_string_value(t), "all") == 0)
		return 0;
	if (!json_is_object(t))
		return policy_fail(c, "target", "must be \"all\" or an object "
		    "with endpoints, groups, properties");
	if ((rv = policy_check_keys(c, t, policy_target_keys,
	    "target")) != 0 ||
	    (rv = policy_get_list(c, t, "endpoints", &p->target_endpoints,
	    &p->n_target_endpoints)) != 0 ||
	    (rv = policy_get_list(c, t, "groups", &p->target_groups,
	    &p->n_target_groups)) != 0)
		return rv;
	if ((props = json_object_get(t, "properties")) == NULL)
		return 0;
	if (!json_is_object(props))
		return policy_fail(c, "target.properties", "must be an object "
		    "of strings");
	n = json_object_size(props);
	if ((p->target_props = calloc(n + 1, sizeof(char *))) == NULL)
		return policy_nomem(c);
	json_object_foreach(props, k, v) {
		size_t len;

		if (!json_is_string(v) || strchr(k, '=') != NULL ||
		    k[0] == '\0' || strlen(k) + json_string_length(v) + 1 >
		    ARB_MAX_ID)
			return policy_fail(c, "target.properties", "\"%s\": "
			    "must be a short string, the key without '='", k);
		len = strlen(k) + json_string_length(v) + 2;
		if ((p->target_props[p->n_target_props] = malloc(len)) ==
		    NULL)
			return policy_nomem(c);
		snprintf(p->target_props[p->n_target_props++], len, "%s=%s",
		    k, json_string_value(v));
	}
	return 0;
}

/*
 * "cves": ["CVE-2026-1234", ...] and "cvss": a base score 0..10 or a
 * CVSS 3.x vector, whose score is computed here.
 */
static int
policy_parse_vuln(struct policy_ctx *c, json_t *root, Arbor__Policy *p)
{
	const char	*why;
	json_t		*v, *x;
	size_t		 i;

	if ((v = json_object_get(root, "cves")) != NULL) {
		if (!json_is_array(v) || json_array_size(v) > ARB_CVE_MAX)
			return policy_fail(c, "cves", "must be a list of at "
			    "most %d CVE ids", ARB_CVE_MAX);
		if ((p->cves = calloc(json_array_size(v) + 1,
		    sizeof(char *))) == NULL)
			return policy_nomem(c);
		json_array_foreach(v, i, x) {
			if (!json_is_string(x) ||
			    !arb_cve_valid(json_string_value(x)))
				return policy_fail(c, "cves", "entry %zu: must "
				    "be a CVE id such as CVE-2026-1234", i);
			if ((p->cves[i] = strdup(json_string_value(x))) ==
			    NULL)
				return policy_nomem(c);
			p->n_cves++;
		}
	}
	if ((v = json_object_get(root, "cvss")) == NULL)
		return 0;
	if (json_is_number(v)) {
		p->cvss = json_number_value(v);
		if (!(p->cvss >= 0 && p->cvss <= 10))
			return policy_fail(c, "cvss", "a base score is 0.0 to "
			    "10.0");
		return 0;
	}
	if (!json_is_string(v))
		return policy_fail(c, "cvss", "must be a base score or a "
		    "CVSS 3.x vector");
	if (arb_cvss_score(json_string_value(v), &p->cvss, &why) != 0)
		return policy_fail(c, "cvss", "%s", why);
	if ((p->cvss_vector = strdup(json_string_value(v))) == NULL)
		return policy_nomem(c);
	return 0;
}

static int
policy_get_timeout(struct policy_ctx *c, json_t *root, uint32_t *out)
{
	json_t *v;

	if ((v = json_object_get(root, "timeout")) == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > 86400)
		return policy_fail(c, "timeout", "must be seconds, 1..86400");
	*out = (uint32_t)json_integer_value(v);
	return 0;
}

/*
 * A duration: whole seconds, or a string of a number and a unit s, m, h,
 * d, w ("90m").  1 s .. 400 days.
 */
static int
policy_duration(struct policy_ctx *c, const char *field, json_t *v,
    int64_t *out)
{
	const char	*str, *u;
	char		*end;
	long long	 n, mul = 1;

	if (json_is_integer(v))
		n = json_integer_value(v);
	else if (json_is_string(v)) {
		str = json_string_value(v);
		n = strtoll(str, &end, 10);
		u = end;
		if (end == str)
			goto bad;
		if (*u == 's')
			mul = 1;
		else if (*u == 'm')
			mul = 60;
		else if (*u == 'h')
			mul = 3600;
		else if (*u == 'd')
			mul = 86400;
		else if (*u == 'w')
			mul = 7 * 86400;
		else if (*u != '\0')
			goto bad;
		if (*u != '\0' && u[1] != '\0')
			goto bad;
	} else
		goto bad;
	if (n < 1 || n > 400LL * 86400 / mul)
		goto bad;
	*out = n * mul;
	return 0;
bad:
	return policy_fail(c, field, "must be a duration: seconds, or a "
	    "number and s, m, h, d or w (\"90m\"), up to 400 days");
}

/*
 * A time: "+DURATION" after the publish (into *relp), or an absolute UTC
 * time "YYYY-MM-DDTHH:MM:SSZ" or seconds since the epoch (into *absp).
 */
static int
policy_when(struct policy_ctx *c, json_t *obj, const char *key,
    const char *field, int64_t *absp, int64_t *relp)
{
	json_t		*v, *d;
	struct tm	 tm;
	const char	*str, *end;
	int		 rv;

	if ((v = json_object_get(obj, key)) == NULL)
		return 0;
	if (json_is_integer(v) && json_integer_value(v) > 0) {
		*absp = json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		goto bad;
	str = json_string_value(v);
	if (str[0] == '+') {
		if ((d = json_string(str + 1)) == NULL)
			return policy_nomem(c);
		rv = policy_duration(c, field, d, relp);
		json_decref(d);
		return rv;
	}
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(str, "%Y-%m-%dT%H:%M:%SZ", &tm)) == NULL ||
	    *end != '\0')
		goto bad;
	*absp = (int64_t)timegm(&tm);
	if (*absp <= 0)
		goto bad;
	return 0;
bad:
	return policy_fail(c, field, "must be \"+DURATION\" after the "
	    "publish, \"YYYY-MM-DDTHH:MM:SSZ\", or seconds since the epoch");
}

/* "HH:MM" into minutes; "24:00" only as an end. */
static int
policy_hhmm(struct policy_ctx *c, const char *field, json_t *v, int end,
    uint32_t *out)
{
	unsigned	h, m;
	char		x;

	if (!json_is_string(v) || sscanf(json_string_value(v), "%2u:%2u%c",
	    &h, &m, &x) != 2 || m > 59 || h > 24 || (h == 24 && (m != 0 ||
	    !end)))
		return policy_fail(c, field, "must be \"HH:MM\" (local time)");
	*out = h * 60 + m;
	return 0;
}

/* "mon-fri", "sat,sun", "daily", or an array of such names. */
static int
policy_days_of(struct policy_ctx *c, const char *field, const char *str,
    uint32_t *mask)
{
	char	buf[128], *tok, *save, *dash;
	int	a, b, i;

	if (strcmp(str, "daily") == 0 || strcmp(str, "*") == 0) {
		*mask = 0x7f;
		return 0;
	}
	snprintf(buf, sizeof(buf), "%s", str);
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if ((dash = strchr(tok, '-')) != NULL)
			*dash++ = '\0';
		for (a = 0; a < 7 && strcmp(policy_days[a], tok) != 0; a++)
			;
		b = a;
		if (dash != NULL)
			for (b = 0; b < 7 && strcmp(policy_days[b], dash) != 0;
			    b++)
				;
		if (a == 7 || b == 7)
			return policy_fail(c, field, "\"%s\": days are sun, "
			    "mon, tue, wed, thu, fri, sat, ranges \"mon-fri\" "
			    "and \"daily\"", str);
		for (i = a;; i = (i + 1) % 7) {
			*mask |= 1u << i;
			if (i == b)
				break;
		}
	}
	return 0;
}

static int
policy_parse_window(struct policy_ctx *c, json_t *w, size_t i,
    Arbor__Window **outp)
{
	Arbor__Window	*win;
	json_t		*d;
	char		 field[64];
	int		 rv;

	snprintf(field, sizeof(field), "schedule.windows[%zu]", i);
	if (!json_is_object(w))
		return policy_fail(c, field, "must be an object with days, "
		    "from, to");
	if ((rv = policy_check_keys(c, w, policy_window_keys, field)) != 0)
		return rv;
	if ((win = calloc(1, sizeof(*win))) == NULL)
		return policy_nomem(c);
	arbor__window__init(win);
	*outp = win;
	if ((rv = policy_hhmm(c, field, json_object_get(w, "from"), 0,
	    &win->start_min)) != 0 ||
	    (rv = policy_hhmm(c, field, json_object_get(w, "to"), 1,
	    &win->end_min)) != 0)
		return rv;
	if ((d = json_object_get(w, "days")) == NULL)
		return 0;
	if (json_is_string(d))
		return policy_days_of(c, field, json_string_value(d),
		    &win->days);
	if (json_is_array(d)) {
		json_t	*x;
		size_t	 k;

		json_array_foreach(d, k, x) {
			if (!json_is_string(x))
				return policy_fail(c, field, "days: names");
			if ((rv = policy_days_of(c, field,
			    json_string_value(x), &win->days)) != 0)
				return rv;
		}
		return 0;
	}
	return policy_fail(c, field, "days: \"mon-fri\" or a list of names");
}

static int
policy_parse_schedule(struct policy_ctx *c, json_t *root, Arbor__Policy *p)
{
	Arbor__Schedule	*s;
	json_t		*o, *v, *w;
	struct arb_expr	*ex;
	char		 perr[256];
	int64_t		 span;
	size_t		 i;
	int		 rv;

	if ((o = json_object_get(root, "schedule")) == NULL)
		return 0;
	if (!json_is_object(o))
		return policy_fail(c, "schedule", "must be an object");
	if ((rv = policy_check_keys(c, o, policy_schedule_keys,
	    "schedule")) != 0)
		return rv;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return policy_nomem(c);
	arbor__schedule__init(s);
	s->run_when = NULL;
	p->schedule = s;
	if ((rv = policy_when(c, o, "not_before", "schedule.not_before",
	    &s->not_before, &s->not_before_rel)) != 0 ||
	    (rv = policy_when(c, o, "deadline", "schedule.deadline",
	    &s->deadline, &s->deadline_rel)) != 0)
		return rv;
	if ((v = json_object_get(o, "spread")) != NULL) {
		if ((rv = policy_duration(c, "schedule.spread", v,
		    &span)) != 0)
			return rv;
		s->spread_s = (uint32_t)span;
	}
	if ((rv = policy_get_string(c, o, "run_when", "schedule.run_when", 0,
	    ARB_MAX_TEXT, &s->run_when)) != 0)
		return rv;
	if (s->run_when != NULL) {
		if ((rv = arb_expr_parse(s->run_when, &ex, perr,
		    sizeof(perr))) != 0)
			return policy_fail(c, "schedule.run_when", "%s", perr);
		arb_expr_free(ex);
	}
	if ((v = json_object_get(o, "windows")) == NULL)
		return 0;
	if (!json_is_array(v) || json_array_size(v) == 0 ||
	    json_array_size(v) > ARB_SCHED_MAX_WINDOWS)
		return policy_fail(c, "schedule.windows", "must be an array "
		    "of 1..%d windows", ARB_SCHED_MAX_WINDOWS);
	if ((s->windows = calloc(json_array_size(v) + 1,
	    sizeof(*s->windows))) == NULL)
		return policy_nomem(c);
	json_array_foreach(v, i, w) {
		rv = policy_parse_window(c, w, i, &s->windows[i]);
		if (s->windows[i] != NULL)
			s->n_windows++;
		if (rv != 0)
			return rv;
	}
	return 0;
}

static int
policy_pct(struct policy_ctx *c, json_t *w, const char *key,
    const char *field, uint32_t min, uint32_t *out)
{
	json_t *v;

	if ((v = json_object_get(w, key)) == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > 100)
		return policy_fail(c, field, "%s: must be a percentage, "
		    "%u..100", key, min);
	*out = (uint32_t)json_integer_value(v);
	return 0;
}

static int
policy_parse_wave(struct policy_ctx *c, json_t *w, size_t i,
    uint32_t prev_share, Arbor__Wave **outp)
{
	Arbor__Wave	*wv;
	json_t		*v;
	char		 field[64];
	int64_t		 d;
	int		 rv;

	snprintf(field, sizeof(field), "rollout.waves[%zu]", i);
	if (!json_is_object(w))
		return policy_fail(c, field, "must be an object");
	if ((rv = policy_check_keys(c, w, policy_wave_keys, field)) != 0)
		return rv;
	if ((wv = calloc(1, sizeof(*wv))) == NULL)
		return policy_nomem(c);
	arbor__wave__init(wv);
	wv->name = NULL;
	*outp = wv;
	wv->success_pct = 100;
	wv->halt_pct = 100;	/* no halt by percentage unless asked */
	if ((rv = policy_get_string(c, w, "name", field, 0, ARB_MAX_ID,
	    &wv->name)) != 0 ||
	    (rv = policy_pct(c, w, "share", field, 1, &wv->share_pct)) != 0 ||
	    (rv = policy_pct(c, w, "success", field, 0,
	    &wv->success_pct)) != 0 ||
	    (rv = policy_pct(c, w, "halt", field, 0, &wv->halt_pct)) != 0)
		return rv;
	if (wv->share_pct == 0)
		return policy_fail(c, field, "share: missing (the cumulative "
		    "percentage of endpoints this wave reaches)");
	if (wv->share_pct < prev_share)
		return policy_fail(c, field, "share: %u is less than the "
		    "wave before (%u): shares are cumulative", wv->share_pct,
		    prev_share);
	if ((v = json_object_get(w, "soak")) != NULL) {
		if ((rv = policy_duration(c, field, v, &d)) != 0)
			return rv;
		wv->soak_s = (uint32_t)d;
	}
	if ((v = json_object_get(w, "halt_count")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 1000000)
			return policy_fail(c, field, "halt_count: must be "
			    "1..1000000");
		wv->halt_count = (uint32_t)json_integer_value(v);
	}
	return 0;
}

/*
 * "retry": {"count": N, "interval": D}: a failed action is tried again N
 * times (1..ARB_POLICY_MAX_RETRIES), D apart (default 1 h); "reapply":
 * true applies a fixed policy again when it applies again.
 */
static int
policy_parse_retry(struct policy_ctx *c, json_t *root, Arbor__Policy *p)
{
	json_t	*o, *v;
	int64_t	 d;
	int	 rv;

	if ((v = json_object_get(root, "reapply")) != NULL) {
		if (!json_is_boolean(v))
			return policy_fail(c, "reapply", "must be true or "
			    "false");
		p->reapply = json_is_true(v);
	}
	if ((o = json_object_get(root, "retry")) == NULL)
		return 0;
	if (!json_is_object(o))
		return policy_fail(c, "retry", "must be an object with count "
		    "and interval");
	if ((rv = policy_check_keys(c, o, policy_retry_keys, "retry")) != 0)
		return rv;
	v = json_object_get(o, "count");
	if (v == NULL || !json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > ARB_POLICY_MAX_RETRIES)
		return policy_fail(c, "retry.count", "must be 1..%d",
		    ARB_POLICY_MAX_RETRIES);
	p->retry_count = (uint32_t)json_integer_value(v);
	p->retry_interval_s = 3600;
	if ((v = json_object_get(o, "interval")) != NULL) {
		if ((rv = policy_duration(c, "retry.interval", v, &d)) != 0)
			return rv;
		p->retry_interval_s = (uint32_t)d;
	}
	return 0;
}

/* A reboot delay: 0 ("0", "0s", 0) or a duration, at most 30 days. */
static int
policy_reboot_span(struct policy_ctx *c, const char *field, json_t *v,
    uint32_t *out)
{
	int64_t	d;
	int	rv;

	if ((json_is_integer(v) && json_integer_value(v) == 0) ||
	    (json_is_string(v) && (strcmp(json_string_value(v), "0") == 0 ||
	    strcmp(json_string_value(v), "0s") == 0))) {
		*out = 0;
		return 0;
	}
	if ((rv = policy_duration(c, field, v, &d)) != 0)
		return rv;
	if (d > ARB_REBOOT_MAX_S)
		return policy_fail(c, field, "must be at most 30 days");
	*out = (uint32_t)d;
	return 0;
}

/*
 * "reboot": "none" (the default), {"mode": "user", "deadline": D} (the
 * user may postpone the reboot, D after the last action at the latest) or
 * {"mode": "forced", "after": D} (D after the last action; default 0).
 */
static int
policy_parse_reboot(struct policy_ctx *c, json_t *root, Arbor__Policy *p)
{
	json_t		*o, *m, *v;
	const char	*mode;
	int		 rv;

	if ((o = json_object_get(root, "reboot")) == NULL)
		return 0;
	if (json_is_string(o) && strcmp(json_string_value(o), "none") == 0)
		return 0;
	if (!json_is_object(o))
		return policy_fail(c, "reboot", "must be \"none\" or an "
		    "object with mode \"user\" (and deadline) or \"forced\" "
		    "(and after)");
	if ((rv = policy_check_keys(c, o, policy_reboot_keys, "reboot")) != 0)
		return rv;
	m = json_object_get(o, "mode");
	mode = json_is_string(m) ? json_string_value(m) : "";
	if (strcmp(mode, "none") == 0) {
		if (json_object_size(o) != 1)
			return policy_fail(c, "reboot", "mode \"none\" takes "
			    "neither deadline nor after");
		return 0;
	}
	if (strcmp(mode, "user") == 0) {
		if (json_object_get(o, "after") != NULL)
			return policy_fail(c, "reboot.after", "is for mode "
			    "\"forced\"; mode \"user\" takes a deadline");
		if ((v = json_object_get(o, "deadline")) == NULL)
			return policy_fail(c, "reboot.deadline", "missing: "
			    "how long the user may postpone the reboot");
		p->reboot_mode = ARB_REBOOT_USER;
		if ((rv = policy_reboot_span(c, "reboot.deadline", v,
		    &p->reboot_after_s)) != 0)
			return rv;
		if (p->reboot_after_s == 0)
			return policy_fail(c, "reboot.deadline", "must be at "
			    "least 1 s (mode \"forced\" reboots at once)");
		return 0;
	}
	if (strcmp(mode, "forced") == 0) {
		if (json_object_get(o, "deadline") != NULL)
			return policy_fail(c, "reboot.deadline", "is for mode "
			    "\"user\"; mode \"forced\" takes after");
		p->reboot_mode = ARB_REBOOT_FORCED;
		if ((v = json_object_get(o, "after")) == NULL)
			return 0;
		return policy_reboot_span(c, "reboot.after", v,
		    &p->reboot_after_s);
	}
	if (m != NULL && json_is_string(m))
		return policy_fail(c, "reboot.mode", "\"%.40s\": must be "
		    "\"none\", \"user\" or \"forced\"", mode);
	return policy_fail(c, "reboot.mode", "%s: must be \"none\", "
	    "\"user\" or \"forced\"", m == NULL ? "missing" : "not a string");
}

static int
policy_parse_rollout(struct policy_ctx *c, json_t *root, Arbor__Policy *p)
{
	json_t	*o, *v, *w;
	int64_t	 d;
	size_t	 i;
	int	 rv;

	if ((o = json_object_get(root, "rollout")) == NULL)
		return 0;
	if (!json_is_object(o))
		return policy_fail(c, "rollout", "must be an object with "
		    "waves");
	if ((rv = policy_check_keys(c, o, policy_rollout_keys,
	    "rollout")) != 0)
		return rv;
	if ((v = json_object_get(o, "silent")) != NULL) {
		if ((rv = policy_duration(c, "rollout.silent", v, &d)) != 0)
			return rv;
		p->silent_s = (uint32_t)d;
	}
	if ((v = json_object_get(o, "waves")) == NULL || !json_is_array(v) ||
	    json_array_size(v) == 0 ||
	    json_array_size(v) > ARB_SCHED_MAX_WAVES)
		return policy_fail(c, "rollout.waves", "must be an array of "
		    "1..%d waves", ARB_SCHED_MAX_WAVES);
	if ((p->waves = calloc(json_array_size(v) + 1,
	    sizeof(*p->waves))) == NULL)
		return policy_nomem(c);
	json_array_foreach(v, i, w) {
		rv = policy_parse_wave(c, w, i, i ? p->waves[i - 1]->share_pct :
		    0, &p->waves[i]);
		if (p->waves[i] != NULL)
			p->n_waves++;
		if (rv != 0)
			return rv;
	}
	if (p->waves[p->n_waves - 1]->share_pct != 100)
		return policy_fail(c, "rollout.waves", "the last wave must "
		    "reach 100 %% of the endpoints (share 100)");
	return 0;
}

/* Check the whole document and fill pf; pf is freed by the caller. */
static int
policy_parse_doc(struct policy_ctx *c, json_t *root,
    struct arb_policy_file *pf)
{
	struct arb_expr	*ex;
	char		*id, perr[256];
	int		 rv;

	if (!json_is_object(root))
		return policy_fail(c, NULL, "must be a JSON object");
	if ((rv = policy_check_keys(c, root, policy_keys, NULL)) != 0)
		return rv;

	if ((rv = policy_get_string(c, root, "id", "id", 1, ARB_MAX_ID,
	    &id)) != 0) {
		if (rv == ARB_EINVAL && json_is_string(json_object_get(root,
		    "id")))
			goto badid;
		return rv;
	}
	pf->pol.id = id;
	if (!arb_policy_id_valid(id))
		goto badid;
	if ((rv = policy_get_version(c, root, &pf->pol.version)) != 0 ||
	    (rv = policy_get_string(c, root, "title", "title", 1,
	    ARB_MAX_TEXT, &pf->pol.title)) != 0 ||
	    (rv = policy_get_severity(c, root, &pf->pol.severity)) != 0 ||
	    (rv = policy_get_string(c, root, "applicability",
	    "applicability", 1, ARB_MAX_TEXT, &pf->pol.applicability)) != 0 ||
	    (rv = policy_get_script(c, root, "action", "action_file", 1,
	    &pf->pol.action)) != 0 ||
	    (rv = policy_get_script(c, root, "rollback", "rollback_file", 0,
	    &pf->pol.rollback)) != 0 ||
	    (rv = policy_parse_blobs(c, root, pf)) != 0 ||
	    (rv = policy_parse_target(c, root, pf)) != 0 ||
	    (rv = policy_parse_vuln(c, root, &pf->pol)) != 0 ||
	    (rv = policy_get_timeout(c, root, &pf->pol.timeout_s)) != 0 ||
	    (rv = policy_parse_schedule(c, root, &pf->pol)) != 0 ||
	    (rv = policy_parse_rollout(c, root, &pf->pol)) != 0 ||
	    (rv = policy_parse_retry(c, root, &pf->pol)) != 0 ||
	    (rv = policy_parse_reboot(c, root, &pf->pol)) != 0)
		return rv;
	/* Refuse an expression the endpoints could not parse. */
	if ((rv = arb_expr_parse(pf->pol.applicability, &ex, perr,
	    sizeof(perr))) != 0)
		return policy_fail(c, "applicability", "%s", perr);
	arb_expr_free(ex);
	return 0;
badid:
	return policy_fail(c, "id", "must be 1..%d of A-Z a-z 0-9 . _ -",
	    ARB_MAX_ID);
}

int
arb_policy_parse(const char *name, const char *buf, size_t len,
    const char *dir, struct arb_policy_file **pfp, char *err, size_t errlen)
{
	Arbor__Policy		 init = ARBOR__POLICY__INIT;
	struct policy_ctx	 c = { name, dir, err, errlen };
	struct arb_policy_file	*pf;
	json_error_t		 jerr;
	json_t			*root;
	int			 rv;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if ((root = json_loadb(buf, len, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s:%d:%d: %s", name, jerr.line,
			    jerr.column, jerr.text);
		return ARB_EINVAL;
	}
	if ((pf = calloc(1, sizeof(*pf))) == NULL) {
		json_decref(root);
		return policy_nomem(&c);
	}
	/* Strings start NULL, not protobuf-c's shared "", so all are ours. */
	pf->pol = init;
	pf->pol.id = pf->pol.title = pf->pol.severity = NULL;
	pf->pol.applicability = pf->pol.action = pf->pol.rollback = NULL;
	rv = policy_parse_doc(&c, root, pf);
	json_decref(root);
	if (rv != 0) {
		arb_policy_file_free(pf);
		return rv;
	}
	*pfp = pf;
	return 0;
}

int
arb_policy_load(const char *path, struct arb_policy_file **pfp, char *err,
    size_t errlen)
{
	struct policy_ctx	 c = { path, NULL, err, errlen };
	const char		*slash;
	char			*buf, *dir = NULL;
	int			 rv;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if ((rv = policy_read_text(&c, NULL, path, POLICY_FILE_MAX,
	    &buf)) != 0)
		return rv;
	if ((slash = strrchr(path, '/')) != NULL) {
		dir = slash == path ? strdup("/") :
		    strndup(path, (size_t)(slash - path));
		if (dir == NULL) {
			free(buf);
			return policy_nomem(&c);
		}
	}
	rv = arb_policy_parse(path, buf, strlen(buf), dir, pfp, err, errlen);
	free(dir);
	free(buf);
	return rv;
}

void
arb_policy_file_free(struct arb_policy_file *pf)
{
	size_t	i;

	if (pf == NULL)
		return;
	for (i = 0; i < pf->pol.n_blobs; i++)
		policy_blobref_free(pf->pol.blobs[i]);
	free(pf->pol.blobs);
	for (i = 0; i < pf->nblobs; i++)
		free(pf->blob_paths[i]);
	free(pf->blob_paths);
	free(pf->pol.id);
	free(pf->pol.title);
	free(pf->pol.severity);
	free(pf->pol.applicability);
	free(pf->pol.action);
	free(pf->pol.rollback);
	for (i = 0; i < pf->pol.n_target_endpoints; i++)
		free(pf->pol.target_endpoints[i]);
	free(pf->pol.target_endpoints);
	for (i = 0; i < pf->pol.n_target_groups; i++)
		free(pf->pol.target_groups[i]);
	free(pf->pol.target_groups);
	for (i = 0; i < pf->pol.n_target_props; i++)
		free(pf->pol.target_props[i]);
	free(pf->pol.target_props);
	for (i = 0; i < pf->pol.n_cves; i++)
		free(pf->pol.cves[i]);
	free(pf->pol.cves);
	if (pf->pol.cvss_vector != protobuf_c_empty_string)
		free(pf->pol.cvss_vector);
	if (pf->pol.schedule != NULL) {
		for (i = 0; i < pf->pol.schedule->n_windows; i++)
			free(pf->pol.schedule->windows[i]);
		free(pf->pol.schedule->windows);
		free(pf->pol.schedule->run_when);
		free(pf->pol.schedule);
	}
	for (i = 0; i < pf->pol.n_waves; i++) {
		free(pf->pol.waves[i]->name);
		free(pf->pol.waves[i]);
	}
	free(pf->pol.waves);
	free(pf);
}

static int
target_in(char *const *v, size_t n, const char *s)
{
	size_t	i;

	for (i = 0; s != NULL && i < n; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

int
arb_target_match(const struct arb_target *tg, const char *id,
    const char *name, char *const *groups, size_t ngroups,
    const char *(*prop)(void *arg, const char *key, size_t klen), void *arg)
{
	const char	*eq, *v;
	size_t		 i;

	if (tg->nendpoints == 0 && tg->ngroups == 0 && tg->nprops == 0)
		return 1;
	if (target_in(tg->endpoints, tg->nendpoints, id) ||
	    target_in(tg->endpoints, tg->nendpoints, name))
		return 1;
	for (i = 0; i < ngroups; i++)
		if (target_in(tg->groups, tg->ngroups, groups[i]))
			return 1;
	if (tg->nprops == 0)
		return 0;
	for (i = 0; i < tg->nprops; i++) {
		if ((eq = strchr(tg->props[i], '=')) == NULL ||
		    (v = prop(arg, tg->props[i],
		    (size_t)(eq - tg->props[i]))) == NULL ||
		    strcmp(v, eq + 1) != 0)
			return 0;
	}
	return 1;
}
