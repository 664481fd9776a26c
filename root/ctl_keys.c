/*
 * arborctl keygen: the publisher key pair, or with --trust-root the
 * trust-root pair whose private half signs only key statements and is
 * kept offline; made once, on the operator's machine, and never
 * overwritten.  The directory is made if it is missing (mode 0700), with
 * its parents.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "arbor/error.h"
#include "arbor/io.h"
#include "arbor/sig.h"
#include "arborctl.h"

int
cmd_keygen(struct ctl *c, int argc, char *argv[])
{
	struct arb_key	*k;
	struct stat	 st;
	uint8_t		 id[ARB_KEYID_LEN];
	char		 hex[2 * ARB_KEYID_LEN + 1], path[4096];
	const char	*dir, *stem = "publisher";
	int		 rv;

	if (argc == 3 && strcmp(argv[1], "--trust-root") == 0) {
		stem = "trust-root";
		argc--;
		argv++;
	}
	if (argc != 2) {
		ctl_usage(stderr);
		return 1;
	}
	dir = argv[1];
	/* With its parents; it holds the private key: 0700. */
	if (arb_io_mkdirs(dir, 0700) != 0) {
		ctl_warnx(c, "%s: %s", dir, strerror(errno));
		return 1;
	}
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		ctl_warnx(c, "%s: not a directory", dir);
		return 1;
	}
	/* A publisher key is not something to lose by a slip of the hand. */
	snprintf(path, sizeof(path), "%s/%s.key", dir, stem);
	if (access(path, F_OK) == 0) {
		ctl_warnx(c, "%s exists; refusing to overwrite it", path);
		return 1;
	}
	if ((rv = arb_key_generate(&k)) != 0) {
		ctl_warnx(c, "cannot make a key: %s", arb_strerror(rv));
		return 1;
	}
	if ((rv = arb_key_save(k, dir, stem)) != 0 ||
	    (rv = arb_key_id(k, id)) != 0) {
		ctl_warnx(c, "%s: %s", dir, arb_strerror(rv));
		arb_key_free(k);
		return 1;
	}
	arb_key_free(k);
	arb_hex(id, sizeof(id), hex);
	printf("private key: %s/%s.key\n", dir, stem);
	printf("public key:  %s/%s.pub\n", dir, stem);
	printf("key id:      %s\n", hex);
	if (strcmp(stem, "trust-root") == 0)
		printf("every node's trust_root is %s/%s.pub; keep %s.key "
		    "offline: it signs only key statements (arborctl key "
		    "rotate)\n", dir, stem, stem);
	return 0;
}
