/*
 * The file formats that cross an air gap (arbor/offline.h): a catalog
 * export's manifest and a reports file.  Only their shape is checked here;
 * their contents are judged by catalog sync and by the root's fan-in.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbor/error.h"
#include "arbor/offline.h"

#define MANIFEST_HEAD	"arbor-export 1\n"
#define REPFILE_END	"END\n"

/* ------------------------------------------------------------ manifest */

void
arb_manifest_free(struct arb_manifest *m)
{
	if (m == NULL)
		return;
	free(m->files);
	free(m);
}

/* A path inside the export: no "..", no leading '/', a plain alphabet. */
static int
path_ok(const char *p)
{
	const char	*c, *seg = p;

	if (*p == '\0' || *p == '/' || strlen(p) >= ARB_MANIFEST_PATH)
		return 0;
	for (c = p;; c++) {
		if (*c == '/' || *c == '\0') {
			if (c == seg || (c - seg == 1 && seg[0] == '.') ||
			    (c - seg == 2 && seg[0] == '.' && seg[1] == '.'))
				return 0;
			if (*c == '\0')
				return 1;
			seg = c + 1;
			continue;
		}
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		    (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' ||
		    *c == '-'))
			return 0;
	}
}

const struct arb_manifest_file *
arb_manifest_find(const struct arb_manifest *m, const char *path)
{
	size_t i;

	for (i = 0; i < m->nfiles; i++)
		if (strcmp(m->files[i].path, path) == 0)
			return &m->files[i];
	return NULL;
}

int
arb_manifest_add(struct arb_manifest *m, const char *path,
    const uint8_t sha[ARB_SHA256_LEN], uint64_t size)
{
	struct arb_manifest_file *f;

	if (!path_ok(path))
		return ARB_EINVAL;
	if (m->nfiles >= ARB_MANIFEST_FILES)
		return ARB_ETOOBIG;
	if ((f = realloc(m->files, (m->nfiles + 1) * sizeof(*f))) == NULL)
		return -ENOMEM;
	m->files = f;
	f = &m->files[m->nfiles++];
	snprintf(f->path, sizeof(f->path), "%s", path);
	memcpy(f->sha, sha, ARB_SHA256_LEN);
	f->size = size;
	return 0;
}

int
arb_manifest_text(const struct arb_manifest *m, uint8_t **bufp, size_t *lenp)
{
	char	*buf, hex[ARB_SHA256_HEX];
	uint8_t	 sha[ARB_SHA256_LEN];
	size_t	 cap, len, i;
	int	 n, rv;

	cap = sizeof(MANIFEST_HEAD) + (m->nfiles + 1) *
	    (ARB_MANIFEST_PATH + ARB_SHA256_HEX + 32);
	if ((buf = malloc(cap)) == NULL)
		return -ENOMEM;
	len = (size_t)snprintf(buf, cap, "%s", MANIFEST_HEAD);
	for (i = 0; i < m->nfiles; i++) {
		arb_hex(m->files[i].sha, ARB_SHA256_LEN, hex);
		n = snprintf(buf + len, cap - len, "file %s %llu %s\n", hex,
		    (unsigned long long)m->files[i].size, m->files[i].path);
		len += (size_t)n;
	}
	if ((rv = arb_sha256(buf, len, sha)) != 0) {
		free(buf);
		return rv;
	}
	arb_hex(sha, ARB_SHA256_LEN, hex);
	len += (size_t)snprintf(buf + len, cap - len, "end %s\n", hex);
	*bufp = (uint8_t *)buf;
	*lenp = len;
	return 0;
}

static int
parse_line(struct arb_manifest *m, char *line, char *err, size_t errlen)
{
	char			*hex, *size, *path, *end;
	uint8_t			 sha[ARB_SHA256_LEN];
	unsigned long long	 sz;
	int			 rv;

	if (strncmp(line, "file ", 5) != 0) {
		snprintf(err, errlen, "not a file line");
		return ARB_EPROTO;
	}
	hex = line + 5;
	if ((size = strchr(hex, ' ')) == NULL ||
	    (path = strchr(size + 1, ' ')) == NULL) {
		snprintf(err, errlen, "want: file SHA256 SIZE PATH");
		return ARB_EPROTO;
	}
	*size++ = '\0';
	*path++ = '\0';
	if (strlen(hex) != 2 * ARB_SHA256_LEN ||
	    arb_unhex(hex, sha, ARB_SHA256_LEN) != 0) {
		snprintf(err, errlen, "bad SHA-256");
		return ARB_EPROTO;
	}
	errno = 0;
	sz = strtoull(size, &end, 10);
	if (errno != 0 || *end != '\0' || end == size || size[0] == '-') {
		snprintf(err, errlen, "bad size");
		return ARB_EPROTO;
	}
	if (!path_ok(path)) {
		snprintf(err, errlen, "bad path");
		return ARB_EPROTO;
	}
	if (arb_manifest_find(m, path) != NULL) {
		snprintf(err, errlen, "%s named twice", path);
		return ARB_EPROTO;
	}
	if ((rv = arb_manifest_add(m, path, sha, (uint64_t)sz)) != 0) {
		snprintf(err, errlen, "%s", arb_strerror(rv));
		return rv;
	}
	return 0;
}

int
arb_manifest_parse(const uint8_t *buf, size_t len, struct arb_manifest **mp,
    char *err, size_t errlen)
{
	struct arb_manifest	*m;
	uint8_t			 sha[ARB_SHA256_LEN], want[ARB_SHA256_LEN];
	char			*text = NULL, *line, *nl, why[128];
	size_t			 lineno = 1, hl = sizeof(MANIFEST_HEAD) - 1;
	int			 rv = ARB_EPROTO;

	if (len > ARB_MANIFEST_MAX) {
		snprintf(err, errlen, "%zu bytes, more than %d", len,
		    ARB_MANIFEST_MAX);
		return ARB_ETOOBIG;
	}
	if (len < hl || memcmp(buf, MANIFEST_HEAD, hl) != 0) {
		snprintf(err, errlen, "line 1: not \"arbor-export 1\"");
		return ARB_EPROTO;
	}
	if (memchr(buf, '\0', len) != NULL) {
		snprintf(err, errlen, "a NUL byte");
		return ARB_EPROTO;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (text = malloc(len + 1)) == NULL) {
		free(m);
		return -ENOMEM;
	}
	memcpy(text, buf, len);
	text[len] = '\0';
	for (line = text + hl; ; line = nl + 1) {
		lineno++;
		if ((nl = strchr(line, '\n')) == NULL) {
			snprintf(err, errlen, "line %zu: no end line (cut short)",
			    lineno);
			rv = ARB_EPROTO;
			goto fail;
		}
		*nl = '\0';
		if (strncmp(line, "end ", 4) == 0)
			break;
		if ((rv = parse_line(m, line, why, sizeof(why))) != 0) {
			snprintf(err, errlen, "line %zu: %s", lineno, why);
			goto fail;
		}
	}
	rv = ARB_EPROTO;
	if ((size_t)(nl + 1 - text) != len) {
		snprintf(err, errlen, "line %zu: bytes after the end line",
		    lineno);
		goto fail;
	}
	if (strlen(line + 4) != 2 * ARB_SHA256_LEN ||
	    arb_unhex(line + 4, want, ARB_SHA256_LEN) != 0) {
		snprintf(err, errlen, "line %zu: bad end line", lineno);
		goto fail;
	}
	if ((rv = arb_sha256(buf, (size_t)(line - text), sha)) != 0)
		goto fail;
	if (memcmp(sha, want, ARB_SHA256_LEN) != 0) {
		snprintf(err, errlen, "line %zu: the manifest does not hash to "
		    "its end line (changed or cut)", lineno);
		rv = ARB_EBADHASH;
		goto fail;
	}
	free(text);
	*mp = m;
	return 0;
fail:
	free(text);
	arb_manifest_free(m);
	return rv;
}

/* ---------------------------------------------------------- reports file */

static int
repfile_put(struct arb_repfile *f, const void *p, size_t n)
{
	uint8_t	*nb;
	size_t	 cap;

	if (f->len + n > (size_t)ARB_REPFILE_MAX)
		return ARB_ETOOBIG;
	if (f->len + n > f->cap) {
		cap = f->cap ? f->cap : 4096;
		while (cap < f->len + n)
			cap *= 2;
		if ((nb = realloc(f->buf, cap)) == NULL)
			return -ENOMEM;
		f->buf = nb;
		f->cap = cap;
	}
	memcpy(f->buf + f->len, p, n);
	f->len += n;
	return 0;
}

int
arb_repfile_add(struct arb_repfile *f, const uint8_t *env, size_t len)
{
	uint8_t	hdr[4];
	int	rv;

	if (len == 0 || len > ARB_WIRE_MAX)
		return ARB_ETOOBIG;
	if (f->len == 0 && (rv = repfile_put(f, ARB_REPFILE_MAGIC,
	    sizeof(ARB_REPFILE_MAGIC) - 1)) != 0)
		return rv;
	hdr[0] = (uint8_t)(len >> 24);
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
	if ((rv = repfile_put(f, hdr, 4)) != 0)
		return rv;
	return repfile_put(f, env, len);
}

int
arb_repfile_end(struct arb_repfile *f)
{
	uint8_t	sha[ARB_SHA256_LEN];
	int	rv;

	if (f->len == 0 && (rv = repfile_put(f, ARB_REPFILE_MAGIC,
	    sizeof(ARB_REPFILE_MAGIC) - 1)) != 0)
		return rv;
	if ((rv = repfile_put(f, REPFILE_END, 4)) != 0 ||
	    (rv = arb_sha256(f->buf, f->len, sha)) != 0)
		return rv;
	return repfile_put(f, sha, sizeof(sha));
}

void
arb_repfile_clear(struct arb_repfile *f)
{
	free(f->buf);
	memset(f, 0, sizeof(*f));
}

int
arb_repfile_parse(const uint8_t *buf, size_t len,
    int (*cb)(const Arbor__Envelope *, size_t, void *), void *arg,
    char *err, size_t errlen)
{
	Arbor__Envelope	*env;
	uint8_t		 sha[ARB_SHA256_LEN];
	size_t		 off, n, body, ml = sizeof(ARB_REPFILE_MAGIC) - 1;
	size_t		 idx;
	int		 rv;

	if ((uint64_t)len > (uint64_t)ARB_REPFILE_MAX) {
		snprintf(err, errlen, "larger than %lld bytes", ARB_REPFILE_MAX);
		return ARB_ETOOBIG;
	}
	if (len < ml || memcmp(buf, ARB_REPFILE_MAGIC, ml) != 0) {
		snprintf(err, errlen, "not an Arbor reports file");
		return ARB_EPROTO;
	}
	/* First the shape and the hash, so that nothing of a bad file counts. */
	for (off = ml;;) {
		if (len - off >= 4 + ARB_SHA256_LEN &&
		    memcmp(buf + off, REPFILE_END, 4) == 0 &&
		    len - off == 4 + ARB_SHA256_LEN)
			break;
		if (len - off < 4) {
			snprintf(err, errlen, "cut short at byte %zu", off);
			return ARB_EPROTO;
		}
		n = (size_t)buf[off] << 24 | (size_t)buf[off + 1] << 16 |
		    (size_t)buf[off + 2] << 8 | (size_t)buf[off + 3];
		if (n == 0 || n > ARB_WIRE_MAX) {
			snprintf(err, errlen, "record at byte %zu: bad length "
			    "%zu", off, n);
			return ARB_EPROTO;
		}
		if (len - off - 4 < n) {
			snprintf(err, errlen, "record at byte %zu: cut short",
			    off);
			return ARB_EPROTO;
		}
		off += 4 + n;
	}
	if ((rv = arb_sha256(buf, off + 4, sha)) != 0)
		return rv;
	if (memcmp(sha, buf + off + 4, ARB_SHA256_LEN) != 0) {
		snprintf(err, errlen, "does not hash to its end mark (changed "
		    "or cut)");
		return ARB_EBADHASH;
	}
	body = off;
	for (off = ml, idx = 0; off < body; off += 4 + n, idx++) {
		n = (size_t)buf[off] << 24 | (size_t)buf[off + 1] << 16 |
		    (size_t)buf[off + 2] << 8 | (size_t)buf[off + 3];
		if ((rv = arb_wire_decode(buf + off + 4, n, &env)) != 0) {
			snprintf(err, errlen, "record %zu: %s", idx + 1,
			    arb_strerror(rv));
			return rv;
		}
		if (env->body_case != ARBOR__ENVELOPE__BODY_REPORT_BATCH) {
			arb_wire_free(env);
			snprintf(err, errlen, "record %zu: not a report batch",
			    idx + 1);
			return ARB_EPROTO;
		}
		rv = cb(env, idx, arg);
		arb_wire_free(env);
		if (rv != 0)
			return rv;
	}
	return 0;
}
