/*
 * Fuzz target for the operator's policy file parser, arb_policy_parse.
 * Relative paths resolve against a temporary directory made once per
 * process, holding an action script, a rollback script, two blobs, an
 * empty file, a file that is not UTF-8 and a subdirectory, so that
 * action_file, rollback_file and blob paths can name something.  A policy
 * that parses must be one the wire accepts: arborctl publishes it as is.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arbor/error.h"
#include "arbor/policy.h"
#include "arbor/wire.h"

static const struct {
	const char	*name;
	const char	*text;
} fz_files[] = {
	{ "action.sh", "#!/bin/sh\napt-get install -y ./openssl.deb\n" },
	{ "rollback.sh", "#!/bin/sh\napt-get install -y openssl=3.0.11\n" },
	{ "openssl.deb", "!<arch>\ndebian-binary   1700000000  0     0     "
	    "100644  4         `\n2.0\n" },
	{ "install.sh", "set -e\n" },
	{ "empty", "" },
	{ "latin1.sh", "echo caf\xe9\n" },
	{ "sub/blob", "blob in a subdirectory\n" },
};

static char	fz_dir[PATH_MAX];

static void
fz_cleanup(void)
{
	char	path[PATH_MAX + 64];
	size_t	i;

	for (i = 0; i < sizeof(fz_files) / sizeof(fz_files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", fz_dir, fz_files[i].name);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/sub", fz_dir);
	rmdir(path);
	rmdir(fz_dir);
}

static void
fz_setup(void)
{
	const char	*tmp;
	char		 path[PATH_MAX + 64];
	size_t		 i, n;
	int		 fd;

	if ((tmp = getenv("TMPDIR")) == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	snprintf(fz_dir, sizeof(fz_dir), "%s/fuzz_policy.XXXXXX", tmp);
	if (mkdtemp(fz_dir) == NULL)
		abort();
	atexit(fz_cleanup);
	snprintf(path, sizeof(path), "%s/sub", fz_dir);
	if (mkdir(path, 0700) == -1)
		abort();
	for (i = 0; i < sizeof(fz_files) / sizeof(fz_files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", fz_dir, fz_files[i].name);
		n = strlen(fz_files[i].text);
		if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC,
		    0600)) == -1 ||
		    write(fd, fz_files[i].text, n) != (ssize_t)n ||
		    close(fd) == -1)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arb_policy_file	*pf;
	Arbor__Policy		*p;
	uint8_t			*buf;
	size_t			 len;
	char			 err[512];
	int			 rv;

	if (fz_dir[0] == '\0')
		fz_setup();
	if (arb_policy_parse("fuzz.json", (const char *)data, size, fz_dir,
	    &pf, err, sizeof(err)) != 0)
		return 0;
	if (pf->nblobs != pf->pol.n_blobs)
		abort();
	/* Too big for one signed body is the root's to say; else it fits. */
	if ((rv = arb_wire_encode_policy(&pf->pol, &buf, &len)) == 0) {
		if (arb_wire_decode_policy(buf, len, &p) != 0)
			abort();
		arb_wire_free_policy(p);
		free(buf);
	} else if (rv != ARB_ETOOBIG)
		abort();
	arb_policy_file_free(pf);
	return 0;
}
