/*
 * A daemon's command line: -c FILE, -n (check the configuration and exit),
 * -v (verbose, repeatable), -d or --foreground (log to stderr, not syslog;
 * see log_want_stderr), -h, and --key=value / --key value overrides of any
 * configuration key.  Defaults come first, then the file, then the
 * overrides, then the daemon's own check.
 */
#ifndef ARBOR_CMDLINE_H
#define ARBOR_CMDLINE_H

#include "arbor/conf.h"

struct arb_cmdline {
	const char	 *file;		/* -c, or NULL */
	int		  check_only;	/* -n */
	int		  verbose;	/* -v count */
	int		  foreground;	/* -d, --foreground */
	char		**over;		/* key, value pairs from argv */
	int		  nover;
};

/*
 * Split argv.  Returns 0, 1 when -h was given (usage printed), or
 * ARB_ECONFIG with a message logged: an unknown option, a missing value,
 * or a word that is not an option (no daemon takes one).
 */
int	arb_cmdline_parse(struct arb_cmdline *cl, int argc, char *argv[],
	    const char *usage, const struct arb_conf_key *keys);
/* Load the file (if any) then apply the overrides. */
int	arb_cmdline_load(const struct arb_cmdline *cl,
	    const struct arb_conf_key *keys, void *conf);
void	arb_cmdline_free(struct arb_cmdline *cl);
/* Print the keys and their help (for usage and -h). */
void	arb_conf_usage(const struct arb_conf_key *keys);

#endif
