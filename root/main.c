/*
 * arbor-root: the authority.  Signs and stores the catalog, answers the
 * operator, and serves its children as a relay does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <unistd.h>

#include "arbor/cmdline.h"
#include "arbor/log.h"
#include "arbor/mem.h"
#include "root.h"

int
main(int argc, char *argv[])
{
	struct root_conf	 conf;
	struct arb_cmdline	 cl;
	struct root		*root;
	int			 rv;

	arb_mem_tune();
	log_init(1, LOG_DAEMON);
	root_conf_init(&conf);
	if ((rv = arb_cmdline_parse(&cl, argc, argv,
	    "arbor-root [-dnv] [-c file] [--key value ...]",
	    root_conf_keys)) != 0)
		exit(rv == 1 ? 0 : 1);
	log_setverbose(cl.verbose);
	if (arb_cmdline_load(&cl, root_conf_keys, &conf) != 0 ||
	    root_conf_check(&conf) != 0)
		exit(1);
	if (cl.check_only) {
		fprintf(stderr, "configuration OK\n");
		exit(0);
	}
	/* stderr until here; now stderr in the foreground, else syslog. */
	log_init(log_want_stderr(cl.foreground, STDERR_FILENO), LOG_DAEMON);
	log_setverbose(cl.verbose);
	if ((root = root_new(&conf)) == NULL)
		fatalx("root: cannot start");
	root_run(root);
	root_free(root);
	root_conf_clear(&conf);
	arb_cmdline_free(&cl);
	return 0;
}
