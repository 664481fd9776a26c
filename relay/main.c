/*
 * arbor-relay: caches the catalog and content of its parent and serves its
 * children.
 */
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <unistd.h>

#include "arbor/cmdline.h"
#include "arbor/log.h"
#include "relay.h"

int
main(int argc, char *argv[])
{
	struct relay_conf	 conf;
	struct arb_cmdline	 cl;
	struct relay		*relay;
	int			 rv;

	log_init(1, LOG_DAEMON);
	relay_conf_init(&conf);
	if ((rv = arb_cmdline_parse(&cl, argc, argv,
	    "arbor-relay [-dnv] [-c file] [--key value ...]",
	    relay_conf_keys)) != 0)
		exit(rv == 1 ? 0 : 1);
	log_setverbose(cl.verbose);
	if (arb_cmdline_load(&cl, relay_conf_keys, &conf) != 0 ||
	    relay_conf_check(&conf) != 0)
		exit(1);
	if (cl.check_only) {
		fprintf(stderr, "configuration OK\n");
		exit(0);
	}
	/* stderr until here; now stderr in the foreground, else syslog. */
	log_init(log_want_stderr(cl.foreground, STDERR_FILENO), LOG_DAEMON);
	log_setverbose(cl.verbose);
	if ((relay = relay_new(&conf)) == NULL)
		fatalx("relay: cannot start");
	relay_run(relay);
	relay_free(relay);
	relay_conf_clear(&conf);
	arb_cmdline_free(&cl);
	return 0;
}
