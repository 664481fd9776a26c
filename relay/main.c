/*
 * arbor-relay: caches the catalog and content of its parent and serves its
 * children.
 */
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <unistd.h>

#include <string.h>

#include "arbor/cmdline.h"
#include "arbor/log.h"
#include "arbor/mem.h"
#include "relay.h"

/*
 * The air-gap words, --import DIR and --export-reports FILE (or =VALUE),
 * taken out of argv before the configuration overrides are parsed.
 */
static int
relay_take_opt(int *argcp, char *argv[], const char *name, const char **valp)
{
	size_t	n = strlen(name);
	int	i, j, w;

	for (i = 1; i < *argcp; i++) {
		if (strncmp(argv[i], name, n) != 0 ||
		    (argv[i][n] != '\0' && argv[i][n] != '='))
			continue;
		if (argv[i][n] == '=') {
			*valp = argv[i] + n + 1;
			w = 1;
		} else if (i + 1 < *argcp) {
			*valp = argv[i + 1];
			w = 2;
		} else {
			fprintf(stderr, "arbor-relay: %s: value missing\n",
			    name);
			return -1;
		}
		for (j = i; j + w <= *argcp; j++)
			argv[j] = argv[j + w];
		*argcp -= w;
		return 1;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	struct relay_conf	 conf;
	struct arb_cmdline	 cl;
	struct relay		*relay;
	const char		*export_file = NULL;
	int			 rv;

	arb_mem_tune();
	log_init(1, LOG_DAEMON);
	relay_conf_init(&conf);
	if (relay_take_opt(&argc, argv, "--import", &conf.import_dir) < 0 ||
	    relay_take_opt(&argc, argv, "--export-reports",
	    &export_file) < 0)
		exit(1);
	if ((rv = arb_cmdline_parse(&cl, argc, argv,
	    "arbor-relay [-dnv] [-c file] [--import DIR] "
	    "[--export-reports FILE] [--key value ...]",
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
	if (export_file != NULL)	/* one-shot; the daemon may be running */
		exit(relay_export_reports(&conf, export_file) == 0 ? 0 : 1);
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
