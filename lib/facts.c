/*
 * An endpoint's facts for the applicability language (expr.c), read from
 * a configurable file-system root so that tests and simulated endpoints
 * can use fixture trees.
 *
 * Every file is opened below a descriptor on the root with openat2(2) and
 * RESOLVE_IN_ROOT: ".." and symbolic links (even absolute ones) resolve as
 * if the root were "/", so nothing outside it can be reached whatever the
 * tree holds.  Paths from expressions must also be absolute and free of
 * "." and ".." components, which keeps messages honest.  On a kernel
 * without openat2 (before 5.6) the lexical check alone remains.
 *
 * The dpkg status file can be several megabytes: it is read once into one
 * buffer, scanned line by line without copying, the installed packages'
 * fields are terminated in place, and the index is sorted for binary
 * search.  Everything is cached until arb_facts_reload.
 *
 * File functions count against a per-evaluation budget (reads and bytes),
 * so an expression cannot make the agent hash a disk.
 */
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/utsname.h>

#include <dirent.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <utmp.h>

#include <linux/openat2.h>

#include "arbor/error.h"
#include "arbor/facts.h"
#include "arbor/io.h"
#include "arbor/log.h"
#include "arbor/sig.h"
#include "arbor/version.h"

#define FACTS_SMALL_MAX		(64 * 1024)	/* os-release, hostname */
#define FACTS_STATUS_MAX	(256ULL << 20)	/* dpkg status */
#define FACTS_CHUNK		(64 * 1024)
#define FACTS_UTMP_MAX		(4ULL << 20)	/* /run/utmp */
#define FACTS_DIR_MAX		4096	/* entries looked at per directory */

#define FACTS_LIVE_USERS	0x1
#define FACTS_LIVE_INPUT	0x2
#define FACTS_LIVE_POWER	0x4


struct arb_facts {
	const struct arb_facts_view *view;	/* or NULL: from the root */
	void			 *view_arg;
	int			  rootfd;
	char			 *root;
	char			**groups;	/* conf's, then extra ones */
	size_t			  ngroups;
	size_t			  nconf_groups;
	char			**pkeys;
	char			**pvals;
	size_t			  nprops;

	/* Caches, dropped by arb_facts_reload. */
	int			  os_loaded;
	char			**os_keys;
	char			**os_vals;
	size_t			  nos;
	int			  arch_loaded;
	char			 *arch;
	int			  host_loaded;
	char			 *host;
	int			  pkgs_loaded;
	char			 *status;
	struct arb_facts_pkgent	 *pkgs;
	size_t			  npkgs;

	/* Session and power, read once per evaluation (arb_facts_begin). */
	int			  live_loaded;	/* FACTS_LIVE_* bits */
	int64_t			  users;	/* -1: no source */
	int64_t			  newest_input;	/* atime; 0: no device */
	int			  battery;

	/* This evaluation's budget. */
	unsigned		  reads;
	uint64_t		  bytes;

	struct arb_facts_stats	  st;
};

static int	 no_openat2;	/* the kernel said ENOSYS once */

static void
facts_strv_free(char **v, size_t n)
{
	size_t	i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int
facts_strv_dup(char *const *src, size_t n, char ***dstp)
{
	char	**v;
	size_t	  i;

	*dstp = NULL;
	if (n == 0)
		return 0;
	if ((v = calloc(n, sizeof(*v))) == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if ((v[i] = strdup(src[i] != NULL ? src[i] : "")) == NULL) {
			facts_strv_free(v, i);
			return -ENOMEM;
		}
	}
	*dstp = v;
	return 0;
}

int
arb_facts_new(const struct arb_facts_conf *conf, struct arb_facts **fp)
{
	struct arb_facts	*f;
	const char		*root;
	int			 rv;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -ENOMEM;
	f->rootfd = -1;
	root = conf->root != NULL && conf->root[0] != '\0' ? conf->root : "/";
	if ((f->root = strdup(root)) == NULL) {
		rv = -ENOMEM;
		goto fail;
	}
	if ((rv = facts_strv_dup(conf->groups, conf->ngroups,
	    &f->groups)) != 0)
		goto fail;
	f->ngroups = conf->ngroups;
	f->nconf_groups = conf->ngroups;
	if ((rv = facts_strv_dup(conf->prop_keys, conf->nprops,
	    &f->pkeys)) != 0 ||
	    (rv = facts_strv_dup(conf->prop_vals, conf->nprops,
	    &f->pvals)) != 0)
		goto fail;
	f->nprops = conf->nprops;
	f->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->rootfd == -1) {
		rv = -errno;
		log_warn("facts: %s", root);
		goto fail;
	}
	*fp = f;
	return 0;
fail:
	arb_facts_free(f);
	return rv;
}

int
arb_facts_new_view(const struct arb_facts_view *view, void *arg,
    struct arb_facts **fp)
{
	struct arb_facts	*f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -ENOMEM;
	f->rootfd = -1;
	f->view = view;
	f->view_arg = arg;
	*fp = f;
	return 0;
}

void
arb_facts_reload(struct arb_facts *f)
{
	facts_strv_free(f->os_keys, f->nos);
	facts_strv_free(f->os_vals, f->nos);
	f->os_keys = f->os_vals = NULL;
	f->nos = 0;
	f->os_loaded = 0;
	free(f->arch);
	f->arch = NULL;
	f->arch_loaded = 0;
	free(f->host);
	f->host = NULL;
	f->host_loaded = 0;
	free(f->status);
	free(f->pkgs);
	f->status = NULL;
	f->pkgs = NULL;
	f->npkgs = 0;
	f->pkgs_loaded = 0;
	f->live_loaded = 0;
}

void
arb_facts_free(struct arb_facts *f)
{
	if (f == NULL)
		return;
	arb_facts_reload(f);
	if (f->rootfd != -1)
		close(f->rootfd);
	free(f->root);
	facts_strv_free(f->groups, f->ngroups);
	facts_strv_free(f->pkeys, f->nprops);
	facts_strv_free(f->pvals, f->nprops);
	free(f);
}

void
arb_facts_begin(struct arb_facts *f)
{
	f->live_loaded = 0;
	f->reads = 0;
	f->bytes = 0;
}

void
arb_facts_budget(const struct arb_facts *f, unsigned *readsp,
    uint64_t *bytesp)
{
	*readsp = ARB_FACTS_MAX_READS - f->reads;
	*bytesp = ARB_FACTS_MAX_BYTES - f->bytes;
}

void
arb_facts_stats(const struct arb_facts *f, struct arb_facts_stats *st)
{
	*st = f->st;
}

int
arb_facts_path_ok(const char *path, const char **whyp)
{
	const char	*p, *e;
	size_t		 n;

	if (path[0] != '/') {
		*whyp = "path must be absolute";
		return ARB_EINVAL;
	}
	if (strlen(path) >= PATH_MAX) {
		*whyp = "path too long";
		return ARB_EINVAL;
	}
	for (p = path + 1; *p != '\0'; p = e + 1) {
		e = strchr(p, '/');
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		if ((n == 2 && p[0] == '.' && p[1] == '.') ||
		    (n == 1 && p[0] == '.')) {
			*whyp = "path must not contain \".\" or \"..\"";
			return ARB_EINVAL;
		}
		if (n == 0 && e != NULL) {
			*whyp = "path must not contain \"//\"";
			return ARB_EINVAL;
		}
		if (e == NULL)
			break;
	}
	return 0;
}

/*
 * Open path (absolute, already checked) below the root.  -errno on
 * failure, errno as the kernel said it.
 */
static int
facts_open(struct arb_facts *f, const char *path, int flags, int *fdp)
{
	struct open_how	 how;
	const char	*rel;
	long		 fd = -1;

	rel = path;
	while (*rel == '/')
		rel++;
	if (*rel == '\0')
		rel = ".";
	if (!no_openat2) {
		memset(&how, 0, sizeof(how));
		how.flags = (uint64_t)(flags | O_CLOEXEC);
		how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
		do
			fd = syscall(SYS_openat2, f->rootfd, rel, &how,
			    sizeof(how));
		while (fd == -1 && errno == EINTR);
		if (fd == -1 && errno == ENOSYS)
			no_openat2 = 1;
	}
	if (no_openat2) {
		do
			fd = openat(f->rootfd, rel, flags | O_CLOEXEC);
		while (fd == -1 && errno == EINTR);
	}
	if (fd == -1)
		return -errno;
	*fdp = (int)fd;
	return 0;
}

static int
facts_absent(int rv)
{
	return rv == -ENOENT || rv == -ENOTDIR;
}

/*
 * Read all of a source file of at most max bytes into a NUL-terminated
 * buffer.  *bufp = NULL when the file does not exist.
 */
static int
facts_slurp(struct arb_facts *f, const char *path, size_t max, char **bufp,
    size_t *lenp)
{
	struct stat	 st;
	char		*buf = NULL, *nbuf;
	size_t		 len = 0, cap, n;
	int		 fd, rv;

	*bufp = NULL;
	*lenp = 0;
	if ((rv = facts_open(f, path, O_RDONLY | O_NONBLOCK | O_NOCTTY,
	    &fd)) != 0) {
		if (facts_absent(rv))
			return 0;
		log_warnx("facts: %s%s: %s", f->root, path, strerror(-rv));
		return rv;
	}
	if (fstat(fd, &st) == -1) {
		rv = -errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		rv = S_ISDIR(st.st_mode) ? -EISDIR : ARB_EINVAL;
		log_warnx("facts: %s%s: not a regular file", f->root, path);
		goto fail;
	}
	if ((uint64_t)st.st_size > max) {
		rv = ARB_ETOOBIG;
		log_warnx("facts: %s%s: larger than %zu bytes", f->root, path,
		    max);
		goto fail;
	}
	/* The size is a hint: the file may change while it is read. */
	cap = (size_t)st.st_size + 1;
	if (cap < 4096)
		cap = 4096;
	if ((buf = malloc(cap)) == NULL) {
		rv = -ENOMEM;
		goto fail;
	}
	for (;;) {
		if (len + 1 == cap) {
			if (cap > max) {
				rv = ARB_ETOOBIG;
				log_warnx("facts: %s%s: larger than %zu bytes",
				    f->root, path, max);
				goto fail;
			}
			if ((nbuf = realloc(buf, cap * 2)) == NULL) {
				rv = -ENOMEM;
				goto fail;
			}
			buf = nbuf;
			cap *= 2;
		}
		if ((rv = arb_io_read(fd, buf + len, cap - len - 1, &n)) != 0) {
			log_warn("facts: %s%s", f->root, path);
			goto fail;
		}
		if (n == 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	return 0;
fail:
	free(buf);
	close(fd);
	return rv;
}

/* ---- os-release */

/* Parse one value of os-release (shell-like quoting) in place. */
static char *
facts_os_value(char *v)
{
	char	*r, *w, q;

	if (*v != '"' && *v != '\'') {
		w = v + strlen(v);
		while (w > v && (w[-1] == ' ' || w[-1] == '\t' ||
		    w[-1] == '\r'))
			*--w = '\0';
		return v;
	}
	q = *v;
	for (r = w = v + 1; *r != '\0' && *r != q; r++) {
		if (q == '"' && *r == '\\' && r[1] != '\0' &&
		    strchr("\\\"$`", r[1]) != NULL)
			r++;
		*w++ = *r;
	}
	*w = '\0';
	return v + 1;
}

static int
facts_os_load(struct arb_facts *f)
{
	char	*buf, *line, *next, *eq, *k, *v, **nk, **nv;
	size_t	 len;
	int	 rv;

	if (f->os_loaded)
		return 0;
	if ((rv = facts_slurp(f, "/etc/os-release", FACTS_SMALL_MAX, &buf,
	    &len)) != 0)
		return rv;
	if (buf == NULL && (rv = facts_slurp(f, "/usr/lib/os-release",
	    FACTS_SMALL_MAX, &buf, &len)) != 0)
		return rv;
	for (line = buf; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		while (*line == ' ' || *line == '\t')
			line++;
		if (*line == '#' || (eq = strchr(line, '=')) == NULL ||
		    eq == line)
			continue;
		*eq = '\0';
		k = line;
		v = facts_os_value(eq + 1);
		nk = realloc(f->os_keys, (f->nos + 1) * sizeof(*nk));
		if (nk != NULL)
			f->os_keys = nk;
		nv = realloc(f->os_vals, (f->nos + 1) * sizeof(*nv));
		if (nv != NULL)
			f->os_vals = nv;
		if (nk == NULL || nv == NULL)
			goto nomem;
		f->os_keys[f->nos] = strdup(k);
		f->os_vals[f->nos] = strdup(v);
		f->nos++;
		if (f->os_keys[f->nos - 1] == NULL ||
		    f->os_vals[f->nos - 1] == NULL)
			goto nomem;
	}
	free(buf);
	f->os_loaded = 1;
	return 0;
nomem:
	free(buf);
	arb_facts_reload(f);
	return -ENOMEM;
}

int
arb_facts_os(struct arb_facts *f, const char *key, const char **vp)
{
	size_t	i;
	int	rv;

	if (f->view != NULL)
		return f->view->os(f->view_arg, key, vp);
	*vp = NULL;
	if ((rv = facts_os_load(f)) != 0)
		return rv;
	/* The last assignment wins, as in a shell. */
	for (i = f->nos; i > 0; i--) {
		if (strcasecmp(f->os_keys[i - 1], key) == 0) {
			*vp = f->os_vals[i - 1];
			break;
		}
	}
	return 0;
}

/* ---- arch and hostname */

/* The first line of path, trimmed; *sp = NULL if absent or empty. */
static int
facts_first_line(struct arb_facts *f, const char *path, char **sp,
    int *existsp)
{
	char	*buf, *s, *e;
	size_t	 len;
	int	 rv;

	*sp = NULL;
	*existsp = 0;
	if ((rv = facts_slurp(f, path, FACTS_SMALL_MAX, &buf, &len)) != 0)
		return rv;
	if (buf == NULL)
		return 0;
	*existsp = 1;
	s = buf + strspn(buf, " \t\r\n");
	e = s + strcspn(s, "\r\n");
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*e = '\0';
	if (*s != '\0' && (*sp = strdup(s)) == NULL)
		rv = -ENOMEM;
	free(buf);
	return rv;
}

static const char *
facts_debian_arch(const char *machine)
{
	static const struct {
		const char	*uname, *deb;
	} map[] = {
		{ "x86_64", "amd64" },
		{ "aarch64", "arm64" },
		{ "i386", "i386" },
		{ "i486", "i386" },
		{ "i586", "i386" },
		{ "i686", "i386" },
		{ "armv7l", "armhf" },
		{ "ppc64le", "ppc64el" },
	};
	size_t	i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(machine, map[i].uname) == 0)
			return map[i].deb;
	return machine;
}

int
arb_facts_arch(struct arb_facts *f, const char **vp)
{
	struct utsname	u;
	int		rv, exists;

	if (f->view != NULL)
		return f->view->arch(f->view_arg, vp);
	*vp = NULL;
	if (!f->arch_loaded) {
		if ((rv = facts_first_line(f, "/var/lib/dpkg/arch", &f->arch,
		    &exists)) != 0)
			return rv;
		if (!exists && uname(&u) == 0 &&
		    (f->arch = strdup(facts_debian_arch(u.machine))) == NULL)
			return -ENOMEM;
		f->arch_loaded = 1;
	}
	*vp = f->arch;
	return 0;
}

int
arb_facts_hostname(struct arb_facts *f, const char **vp)
{
	char	name[HOST_NAME_MAX + 1];
	int	rv, exists;

	if (f->view != NULL)
		return f->view->hostname(f->view_arg, vp);
	*vp = NULL;
	if (!f->host_loaded) {
		if ((rv = facts_first_line(f, "/etc/hostname", &f->host,
		    &exists)) != 0)
			return rv;
		if (!exists && gethostname(name, sizeof(name)) == 0) {
			name[sizeof(name) - 1] = '\0';
			if (name[0] != '\0' &&
			    (f->host = strdup(name)) == NULL)
				return -ENOMEM;
		}
		f->host_loaded = 1;
	}
	*vp = f->host;
	return 0;
}

/* ---- configuration */

int
arb_facts_prop(struct arb_facts *f, const char *key, const char **vp)
{
	size_t	i;

	if (f->view != NULL)
		return f->view->prop(f->view_arg, key, vp);
	*vp = NULL;
	for (i = 0; i < f->nprops; i++) {
		if (strcmp(f->pkeys[i], key) == 0) {
			*vp = f->pvals[i];
			break;
		}
	}
	return 0;
}

int
arb_facts_extra_groups(struct arb_facts *f, char *const *g, size_t n)
{
	char	**v;
	size_t	  i, k, nv;

	if ((v = calloc(f->nconf_groups + n + 1, sizeof(*v))) == NULL)
		return -ENOMEM;
	for (nv = 0; nv < f->nconf_groups; nv++)
		v[nv] = f->groups[nv];
	for (i = 0; i < n; i++) {
		for (k = 0; k < nv && strcmp(v[k], g[i]) != 0; k++)
			;
		if (k < nv)
			continue;	/* configured already, or twice */
		if ((v[nv] = strdup(g[i])) == NULL) {
			while (nv > f->nconf_groups)
				free(v[--nv]);
			free(v);
			return -ENOMEM;
		}
		nv++;
	}
	for (i = f->nconf_groups; i < f->ngroups; i++)
		free(f->groups[i]);
	free(f->groups);
	f->groups = v;
	f->ngroups = nv;
	return 0;
}

void
arb_facts_groups(const struct arb_facts *f, char *const **gp, size_t *np)
{
	if (f->view != NULL) {
		f->view->groups(f->view_arg, gp, np);
		return;
	}
	*gp = f->groups;
	*np = f->ngroups;
}

/* ---- dpkg status */

/* A field's value within a stanza: where it starts and ends in the buffer. */
struct facts_field {
	char	*s, *e;
};

static int
facts_pkg_cmp(const void *a, const void *b)
{
	const struct arb_facts_pkgent	*pa = a, *pb = b;
	int			 c;

	if ((c = strcmp(pa->name, pb->name)) != 0)
		return c;
	return strcmp(pa->arch, pb->arch);
}

/* Status "want flag status": installed when the third word says so. */
static int
facts_status_installed(const char *s, const char *e)
{
	const char	*w = e;
	size_t		 n;

	while (w > s && w[-1] != ' ' && w[-1] != '\t')
		w--;
	n = (size_t)(e - w);
	return n == 9 && memcmp(w, "installed", 9) == 0 && w > s;
}

/* End of a stanza: record it if installed, terminating fields in place. */
static int
facts_stanza(struct arb_facts *f, struct facts_field *pkg,
    struct facts_field *ver, struct facts_field *arch,
    struct facts_field *status, size_t *capp)
{
	struct arb_facts_pkgent	*np;

	if (pkg->s == NULL || ver->s == NULL || status->s == NULL ||
	    !facts_status_installed(status->s, status->e))
		return 0;
	if (f->npkgs == *capp) {
		*capp = *capp != 0 ? *capp * 2 : 256;
		if ((np = realloc(f->pkgs, *capp * sizeof(*np))) == NULL)
			return -ENOMEM;
		f->pkgs = np;
	}
	*pkg->e = '\0';
	*ver->e = '\0';
	if (arch->s != NULL)
		*arch->e = '\0';
	f->pkgs[f->npkgs].name = pkg->s;
	f->pkgs[f->npkgs].version = ver->s;
	f->pkgs[f->npkgs].arch = arch->s != NULL ? arch->s : "";
	f->npkgs++;
	return 0;
}

/* If line (ending at e) is "Name: value", set *fld to the value. */
static void
facts_field(char *line, char *e, const char *name, struct facts_field *fld)
{
	size_t	n = strlen(name);
	char	*s;

	if ((size_t)(e - line) <= n || strncasecmp(line, name, n) != 0 ||
	    line[n] != ':')
		return;
	s = line + n + 1;
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	fld->s = s;
	fld->e = e;
}

static int
facts_pkgs_load(struct arb_facts *f)
{
	struct facts_field	 pkg, ver, arch, status;
	char			*buf, *line, *e, *end;
	size_t			 len, cap = 0;
	int			 rv;

	if (f->pkgs_loaded)
		return 0;
	if ((rv = facts_slurp(f, "/var/lib/dpkg/status", FACTS_STATUS_MAX,
	    &buf, &len)) != 0)
		return rv;
	f->st.status_loads++;
	f->status = buf;
	memset(&pkg, 0, sizeof(pkg));
	ver = arch = status = pkg;
	end = buf != NULL ? buf + len : NULL;
	for (line = buf; line != NULL && line < end; line = e + 1) {
		if ((e = memchr(line, '\n', (size_t)(end - line))) == NULL)
			e = end;
		if (line == e || (e - line == 1 && *line == '\r')) {
			if ((rv = facts_stanza(f, &pkg, &ver, &arch, &status,
			    &cap)) != 0)
				goto fail;
			memset(&pkg, 0, sizeof(pkg));
			ver = arch = status = pkg;
			continue;
		}
		switch (*line) {
		case ' ':
		case '\t':	/* continuation of a multi-line field */
			break;
		case 'P':
		case 'p':
			facts_field(line, e, "Package", &pkg);
			break;
		case 'V':
		case 'v':
			facts_field(line, e, "Version", &ver);
			break;
		case 'A':
		case 'a':
			facts_field(line, e, "Architecture", &arch);
			break;
		case 'S':
		case 's':
			facts_field(line, e, "Status", &status);
			break;
		}
	}
	if (buf != NULL &&
	    (rv = facts_stanza(f, &pkg, &ver, &arch, &status, &cap)) != 0)
		goto fail;
	if (f->npkgs > 1)
		qsort(f->pkgs, f->npkgs, sizeof(*f->pkgs), facts_pkg_cmp);
	f->pkgs_loaded = 1;
	return 0;
fail:
	arb_facts_reload(f);
	return rv;
}

int
arb_facts_pkg(struct arb_facts *f, const char *name, const char **vp)
{
	const char	*colon, *arch = NULL, *best = NULL;
	size_t		 lo, hi, mid, nlen;
	int		 rv, c;

	if (f->view != NULL)
		return f->view->pkg(f->view_arg, name, vp);
	*vp = NULL;
	if ((rv = facts_pkgs_load(f)) != 0)
		return rv;
	nlen = strlen(name);
	if ((colon = strchr(name, ':')) != NULL) {
		arch = colon + 1;
		nlen = (size_t)(colon - name);
	}
	/* Lower bound of name among the sorted entries. */
	lo = 0;
	hi = f->npkgs;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strncmp(f->pkgs[mid].name, name, nlen);
		if (c == 0 && f->pkgs[mid].name[nlen] != '\0')
			c = 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < f->npkgs; lo++) {
		if (strncmp(f->pkgs[lo].name, name, nlen) != 0 ||
		    f->pkgs[lo].name[nlen] != '\0')
			break;
		if (arch != NULL && strcmp(f->pkgs[lo].arch, arch) != 0)
			continue;
		if (best == NULL ||
		    arb_version_cmp(f->pkgs[lo].version, best) < 0)
			best = f->pkgs[lo].version;
	}
	*vp = best;
	return 0;
}

int
arb_facts_pkg_list(struct arb_facts *f, const struct arb_facts_pkgent **vp,
    size_t *np)
{
	int	rv;

	if (f->view != NULL)
		return ARB_EUNKNOWN;
	if ((rv = facts_pkgs_load(f)) != 0)
		return rv;
	*vp = f->pkgs;
	*np = f->npkgs;
	return 0;
}

/* ---- file functions */

/* Take one read from the budget and open a regular file. */
static int
facts_file_open(struct arb_facts *f, const char *path, int *fdp,
    int *foundp)
{
	struct stat	 st;
	const char	*why;
	int		 fd, rv;

	*foundp = 0;
	if (arb_facts_path_ok(path, &why) != 0)
		return ARB_EINVAL;
	if (f->reads >= ARB_FACTS_MAX_READS)
		return ARB_ETOOBIG;
	f->reads++;
	f->st.reads++;
	if ((rv = facts_open(f, path, O_RDONLY | O_NONBLOCK | O_NOCTTY,
	    &fd)) != 0)
		return facts_absent(rv) ? 0 : rv;
	if (fstat(fd, &st) == -1) {
		rv = -errno;
		close(fd);
		return rv;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return ARB_EINVAL;
	}
	*fdp = fd;
	*foundp = 1;
	return 0;
}

/*
 * Read up to want (> 0) bytes, within the byte budget.  *np = 0 at the end
 * of the file; ARB_ETOOBIG when the budget is spent and the file goes on.
 */
static int
facts_read(struct arb_facts *f, int fd, char *buf, size_t want, size_t *np)
{
	uint64_t	left = ARB_FACTS_MAX_BYTES - f->bytes;
	size_t		n;
	char		c;
	int		rv;

	*np = 0;
	if (left == 0) {
		if ((rv = arb_io_read(fd, &c, 1, &n)) != 0)
			return rv;
		return n > 0 ? ARB_ETOOBIG : 0;
	}
	if (want > left)
		want = (size_t)left;
	if ((rv = arb_io_read(fd, buf, want, &n)) != 0)
		return rv;
	f->bytes += (uint64_t)n;
	f->st.bytes += (uint64_t)n;
	*np = n;
	return 0;
}

int
arb_facts_file_exists(struct arb_facts *f, const char *path, int *existsp)
{
	const char	*why;
	int		 fd, rv;

	if (f->view != NULL)
		return ARB_EUNKNOWN;
	*existsp = 0;
	if (arb_facts_path_ok(path, &why) != 0)
		return ARB_EINVAL;
	if (f->reads >= ARB_FACTS_MAX_READS)
		return ARB_ETOOBIG;
	f->reads++;
	f->st.reads++;
	if ((rv = facts_open(f, path, O_PATH, &fd)) != 0)
		return facts_absent(rv) ? 0 : rv;
	close(fd);
	*existsp = 1;
	return 0;
}

int
arb_facts_file_sha256(struct arb_facts *f, const char *path, char *hex,
    int *foundp)
{
	struct arb_sha256	*h = NULL;
	uint8_t			 md[ARB_SHA256_LEN];
	char			*buf = NULL;
	size_t			 n;
	int			 fd = -1, rv, found;

	if (f->view != NULL)
		return ARB_EUNKNOWN;
	*foundp = 0;
	if ((rv = facts_file_open(f, path, &fd, &found)) != 0 || !found)
		return rv;
	if ((buf = malloc(FACTS_CHUNK)) == NULL) {
		rv = -ENOMEM;
		goto done;
	}
	if ((rv = arb_sha256_new(&h)) != 0)
		goto done;
	for (;;) {
		if ((rv = facts_read(f, fd, buf, FACTS_CHUNK, &n)) != 0)
			goto done;
		if (n == 0)
			break;
		if ((rv = arb_sha256_update(h, buf, n)) != 0)
			goto done;
	}
	if ((rv = arb_sha256_final(h, md)) != 0)
		goto done;
	arb_hex(md, sizeof(md), hex);
	*foundp = 1;
done:
	arb_sha256_free(h);
	free(buf);
	close(fd);
	return rv;
}

int
arb_facts_file_contains(struct arb_facts *f, const char *path,
    const char *needle, size_t len, int *foundp)
{
	char		*buf = NULL;
	size_t		 keep = 0, n, want, have;
	uint64_t	 off = 0;
	int		 fd = -1, rv, found;

	if (f->view != NULL)
		return ARB_EUNKNOWN;
	*foundp = 0;
	if ((rv = facts_file_open(f, path, &fd, &found)) != 0 || !found)
		return rv;
	if (len == 0) {
		*foundp = 1;
		goto done;
	}
	/* Keep len - 1 bytes of the last chunk, for matches across reads. */
	if ((buf = malloc(FACTS_CHUNK + len)) == NULL) {
		rv = -ENOMEM;
		goto done;
	}
	for (;;) {
		want = FACTS_CHUNK;
		if (ARB_FACTS_CONTAINS_MAX - off < want)
			want = (size_t)(ARB_FACTS_CONTAINS_MAX - off);
		if (want == 0) {
			/* The limit: only the end of the file may follow. */
			if ((rv = facts_read(f, fd, buf, 1, &n)) != 0)
				goto done;
			if (n != 0)
				rv = ARB_ETOOBIG;
			goto done;
		}
		if ((rv = facts_read(f, fd, buf + keep, want, &n)) != 0)
			goto done;
		if (n == 0)
			goto done;
		off += n;
		have = keep + n;
		if (memmem(buf, have, needle, len) != NULL) {
			*foundp = 1;
			goto done;
		}
		keep = have < len - 1 ? have : len - 1;
		memmove(buf, buf + have - keep, keep);
	}
done:
	free(buf);
	close(fd);
	return rv;
}

/* ---- sessions, idle time and power */

/*
 * A set of up to FACTS_DIR_MAX distinct user names (a linear search: a
 * machine has a handful of users logged in).
 */
struct facts_users {
	char	**names;
	size_t	  n;
};

static int
facts_users_add(struct facts_users *u, const char *name, size_t len)
{
	char	**nn;
	size_t	  i;

	for (i = 0; i < u->n; i++)
		if (strncmp(u->names[i], name, len) == 0 &&
		    u->names[i][len] == '\0')
			return 0;
	if (u->n == FACTS_DIR_MAX)
		return 0;
	if ((nn = realloc(u->names, (u->n + 1) * sizeof(*nn))) == NULL)
		return -ENOMEM;
	u->names = nn;
	if ((u->names[u->n] = strndup(name, len)) == NULL)
		return -ENOMEM;
	u->n++;
	return 0;
}

int
arb_facts_logind_session(char *text, const char **userp)
{
	char		*line, *next, *eq;
	const char	*user = NULL, *uid = NULL;
	int		 live = 1;

	for (line = text; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (*line == '#' || (eq = strchr(line, '=')) == NULL)
			continue;
		*eq++ = '\0';
		if (strcmp(line, "USER") == 0)
			user = eq;
		else if (strcmp(line, "UID") == 0)
			uid = eq;
		else if (strcmp(line, "CLASS") == 0 &&
		    strncmp(eq, "user", 4) != 0)
			live = 0;	/* greeter, lock-screen, manager... */
		else if (strcmp(line, "STATE") == 0 &&
		    strcmp(eq, "closing") == 0)
			live = 0;
	}
	if (user == NULL || *user == '\0')
		user = uid;
	if (!live || user == NULL || *user == '\0')
		return 0;
	*userp = user;
	return 1;
}

int
arb_facts_utmp_users(const void *buf, size_t len, size_t *np)
{
	struct facts_users	 u = { NULL, 0 };
	struct utmp		 ut;
	const unsigned char	*p = buf;
	size_t			 off;
	int			 rv = 0;

	for (off = 0; off + sizeof(ut) <= len; off += sizeof(ut)) {
		memcpy(&ut, p + off, sizeof(ut));
		if (ut.ut_type != USER_PROCESS || ut.ut_user[0] == '\0')
			continue;
		if ((rv = facts_users_add(&u, ut.ut_user,
		    strnlen(ut.ut_user, sizeof(ut.ut_user)))) != 0)
			break;
	}
	if (rv == 0)
		*np = u.n;
	facts_strv_free(u.names, u.n);
	return rv;
}

/*
 * Open directory path below the root for reading.  *dp = NULL when it
 * does not exist.
 */
static int
facts_opendir(struct arb_facts *f, const char *path, DIR **dp)
{
	int	fd, rv;

	*dp = NULL;
	if ((rv = facts_open(f, path, O_RDONLY | O_DIRECTORY, &fd)) != 0) {
		if (facts_absent(rv))
			return 0;
		log_warnx("facts: %s%s: %s", f->root, path, strerror(-rv));
		return rv;
	}
	if ((*dp = fdopendir(fd)) == NULL) {
		rv = -errno;
		close(fd);
		return rv;
	}
	return 0;
}

/* An entry name that is safe to append to a path: no ".", "..", "/". */
static int
facts_entry_ok(const char *name)
{
	return name[0] != '.' && strchr(name, '/') == NULL &&
	    strlen(name) < 128;
}

static int
facts_users_load(struct arb_facts *f)
{
	struct facts_users	 u = { NULL, 0 };
	struct dirent		*de;
	const char		*user;
	char			 path[320], *buf;
	size_t			 len, seen = 0, n;
	DIR			*d;
	int			 rv;

	if ((rv = facts_opendir(f, "/run/systemd/sessions", &d)) != 0)
		return rv;
	if (d == NULL) {
		/* No logind: the utmp file. */
		if ((rv = facts_slurp(f, "/run/utmp", FACTS_UTMP_MAX, &buf,
		    &len)) != 0)
			return rv;
		f->users = -1;
		if (buf != NULL && (rv = arb_facts_utmp_users(buf, len,
		    &n)) == 0)
			f->users = (int64_t)n;
		free(buf);
		return rv;
	}
	while (rv == 0 && (de = readdir(d)) != NULL && seen++ < FACTS_DIR_MAX) {
		/* Each session is a file; SESSION.ref are FIFOs. */
		if (!facts_entry_ok(de->d_name) || strchr(de->d_name, '.'))
			continue;
		snprintf(path, sizeof(path), "/run/systemd/sessions/%s",
		    de->d_name);
		if ((rv = facts_slurp(f, path, FACTS_SMALL_MAX, &buf,
		    &len)) != 0) {
			if (rv != -ENOMEM)
				rv = 0;	/* gone or odd: not a session */
			continue;
		}
		if (buf != NULL && arb_facts_logind_session(buf, &user))
			rv = facts_users_add(&u, user, strlen(user));
		free(buf);
	}
	closedir(d);
	if (rv == 0)
		f->users = (int64_t)u.n;
	facts_strv_free(u.names, u.n);
	return rv;
}

int
arb_facts_session_users(struct arb_facts *f, int64_t *np, int *knownp)
{
	int	rv;

	if (f->view != NULL)
		return ARB_EUNKNOWN;
	if (!(f->live_loaded & FACTS_LIVE_USERS)) {
		if ((rv = facts_users_load(f)) != 0)
			return rv;
		f->live_loaded |= FACTS_LIVE_USERS;
	}
	*knownp = f->users >= 0;
	*np = f->users >= 0 ? f->users : 0;
	return 0;
}

/*
 * The newest access time of the entries of dir whose name has prefix
 * (followed by a digit when digit is set): character devices, or regular
 * files in fixture trees.
 */
static int
facts_newest_atime(struct arb_facts *f, const char *dir, const char *prefix,
    int digit, int64_t *newestp)
{
	struct dirent	*de;
	struct stat	 st;
	size_t		 seen = 0, plen = strlen(prefix);
	DIR		*d;
	int		 rv;

	if ((rv = facts_opendir(f, dir, &d)) != 0 || d == NULL)
		return rv;
	while ((de = readdir(d)) != NULL && seen++ < FACTS_DIR_MAX) {
		if (!facts_entry_ok(de->d_name) ||
		    strncmp(de->d_name, prefix, plen) != 0 ||
		    (digit && (de->d_name[plen] < '0' ||
		    de->d_name[plen] > '9')) || strcmp(de->d_name, "ptmx") == 0)
			continue;
		/* The entry itself, never what a link names. */
		if (fstatat(dirfd(d), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == -1 ||
		    !(S_ISCHR(st.st_mode) || S_ISREG(st.st_mode)))
			continue;
		if ((int64_t)st.st_atime > *newestp)
			*newestp = (int64_t)st.st_atime;
	}
	closedir(d);
	return 0;
}

int
arb_facts_session_idle(struct arb_facts *f, int64_t now, int64_t *secsp,
    int *knownp)
{
	int64_t	newest = 0;
	int	rv;

	if (f->view != NULL)
		return ARB_EUNKNOWN;
	if (!(f->live_loaded & FACTS_LIVE_INPUT)) {
		if ((rv = facts_newest_atime(f, "/dev/input", "event", 0,
		    &newest)) != 0 ||
		    (rv = facts_newest_atime(f, "/dev/pts", "", 1,
		    &newest)) != 0 ||
		    (rv = facts_newest_atime(f, "/dev", "tty", 1, &newest)) != 0)
			return rv;
		f->newest_input = newest;
		f->live_loaded |= FACTS_LIVE_INPUT;
	}
	*knownp = f->newest_input > 0;
	*secsp = 0;
	if (f->newest_input > 0 && now > f->newest_input)
		*secsp = now - f->newest_input;
	return 0;
}

static int
facts_power_load(struct arb_facts *f)
{
	struct dirent	*de;
	char		 path[320], *type, *online, *status, *scope;
	size_t		 seen = 0;
	int		 mains = 0, mains_online = 0, bat = 0, discharging = 0;
	int		 exists, rv;
	DIR		*d;

	if ((rv = facts_opendir(f, "/sys/class/power_supply", &d)) != 0)
		return rv;
	while (d != NULL && rv == 0 && (de = readdir(d)) != NULL &&
	    seen++ < FACTS_DIR_MAX) {
		if (!facts_entry_ok(de->d_name))
			continue;
		type = online = status = scope = NULL;
		snprintf(path, sizeof(path), "/sys/class/power_supply/%s/type",
		    de->d_name);
		if ((rv = facts_first_line(f, path, &type, &exists)) != 0 ||
		    type == NULL)
			goto next;
		memcpy(path + strlen(path) - 4, "scope", 6);
		if ((rv = facts_first_line(f, path, &scope, &exists)) != 0)
			goto next;
		if (scope != NULL && strcmp(scope, "Device") == 0)
			goto next;	/* a mouse's battery */
		if (strcmp(type, "Battery") == 0) {
			bat = 1;
			memcpy(path + strlen(path) - 5, "status", 7);
			if ((rv = facts_first_line(f, path, &status,
			    &exists)) == 0 && status != NULL &&
			    strcmp(status, "Discharging") == 0)
				discharging = 1;
		} else if (strcmp(type, "Mains") == 0 ||
		    strncmp(type, "USB", 3) == 0 ||
		    strcmp(type, "Wireless") == 0) {
			mains = 1;
			memcpy(path + strlen(path) - 5, "online", 7);
			if ((rv = facts_first_line(f, path, &online,
			    &exists)) == 0 && online != NULL &&
			    strcmp(online, "1") == 0)
				mains_online = 1;
		}
next:
		if (rv != -ENOMEM)
			rv = 0;		/* a supply that cannot be read is none */
		free(type);
		free(scope);
		free(status);
		free(online);
	}
	if (d != NULL)
		closedir(d);
	if (rv != 0)
		return rv;
	f->battery = bat && !mains_online && (mains || discharging);
	return 0;
}

int
arb_facts_power_battery(struct arb_facts *f, int *onp)
{
	int	rv;

	if (f->view != NULL)
		return ARB_EUNKNOWN;
	if (!(f->live_loaded & FACTS_LIVE_POWER)) {
		if ((rv = facts_power_load(f)) != 0)
			return rv;
		f->live_loaded |= FACTS_LIVE_POWER;
	}
	*onp = f->battery;
	return 0;
}
