/*
 * Fuzz target for the endpoint's parsers of /etc/os-release and of the
 * dpkg status database (lib/facts.c).  The input, split at its first NUL
 * byte, becomes ROOT/etc/os-release (before) and ROOT/var/lib/dpkg/status
 * (after) of a temporary tree made once per process and rewritten for
 * each input; a facts object on ROOT is then asked for os.id,
 * os.version_id and the installed version of a few packages, among them
 * the one os.id names, so that the fuzzer can pick a name.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arbor/facts.h"

static char	fz_root[PATH_MAX];
static char	fz_osrel[PATH_MAX + 32], fz_status[PATH_MAX + 32];

static const char *const fz_pkgs[] = {
	"openssl", "libssl3", "libssl3:amd64", "libc6:i386", "base-files",
	"tzdata", "a", "", ":", "openssl:",
};

static void
fz_cleanup(void)
{
	char	path[PATH_MAX + 32];

	unlink(fz_osrel);
	unlink(fz_status);
	snprintf(path, sizeof(path), "%s/var/lib/dpkg", fz_root);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/var/lib", fz_root);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/var", fz_root);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/etc", fz_root);
	rmdir(path);
	rmdir(fz_root);
}

static void
fz_mkdir(const char *sub)
{
	char	path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/%s", fz_root, sub);
	if (mkdir(path, 0700) == -1)
		abort();
}

static void
fz_setup(void)
{
	const char	*tmp;

	if ((tmp = getenv("TMPDIR")) == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	snprintf(fz_root, sizeof(fz_root), "%s/fuzz_facts.XXXXXX", tmp);
	if (mkdtemp(fz_root) == NULL)
		abort();
	atexit(fz_cleanup);
	fz_mkdir("etc");
	fz_mkdir("var");
	fz_mkdir("var/lib");
	fz_mkdir("var/lib/dpkg");
	snprintf(fz_osrel, sizeof(fz_osrel), "%s/etc/os-release", fz_root);
	snprintf(fz_status, sizeof(fz_status), "%s/var/lib/dpkg/status",
	    fz_root);
}

static void
fz_write(const char *path, const uint8_t *data, size_t len)
{
	ssize_t	n;
	int	fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		abort();
	while (len > 0) {
		if ((n = write(fd, data, len)) <= 0)
			abort();
		data += n;
		len -= (size_t)n;
	}
	if (close(fd) == -1)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arb_facts_conf	 c;
	struct arb_facts	*f;
	const uint8_t		*nul;
	const char		*v, *id;
	size_t			 n, i;

	if (fz_root[0] == '\0')
		fz_setup();
	nul = size > 0 ? memchr(data, '\0', size) : NULL;
	n = nul != NULL ? (size_t)(nul - data) : size;
	fz_write(fz_osrel, data, n);
	if (nul != NULL)
		fz_write(fz_status, nul + 1, size - n - 1);
	else
		fz_write(fz_status, data, 0);

	memset(&c, 0, sizeof(c));
	c.root = fz_root;
	if (arb_facts_new(&c, &f) != 0)
		abort();
	if (arb_facts_os(f, "ID", &id) != 0 ||
	    arb_facts_os(f, "VERSION_ID", &v) != 0)
		abort();
	for (i = 0; i < sizeof(fz_pkgs) / sizeof(fz_pkgs[0]); i++)
		if (arb_facts_pkg(f, fz_pkgs[i], &v) != 0)
			abort();
	if (id != NULL && arb_facts_pkg(f, id, &v) != 0)
		abort();
	/* Again from the cache, then from a fresh parse. */
	if (arb_facts_pkg(f, "openssl", &v) != 0)
		abort();
	arb_facts_reload(f);
	if (arb_facts_pkg(f, "libssl3", &v) != 0 ||
	    arb_facts_os(f, "ID", &v) != 0)
		abort();
	arb_facts_free(f);
	return 0;
}
