/*
 * arbor-agent: the endpoint.
 */
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <unistd.h>

#include "arbor/cmdline.h"
#include "arbor/log.h"
#include "agent.h"

int
main(int argc, char *argv[])
{
	struct agent_conf	 conf;
	struct arb_cmdline	 cl;
	struct agent		*agent;
	int			 rv;

	log_init(1, LOG_DAEMON);
	agent_conf_init(&conf);
	if ((rv = arb_cmdline_parse(&cl, argc, argv,
	    "arbor-agent [-dnv] [-c file] [--key value ...]",
	    agent_conf_keys)) != 0)
		exit(rv == 1 ? 0 : 1);
	log_setverbose(cl.verbose);
	if (arb_cmdline_load(&cl, agent_conf_keys, &conf) != 0)
		exit(1);
	if (conf.eval != NULL)		/* the operator's query tool */
		exit(agent_eval(&conf));
	if (agent_conf_check(&conf) != 0)
		exit(1);
	if (cl.check_only) {
		fprintf(stderr, "configuration OK\n");
		exit(0);
	}
	/* stderr until here; now stderr in the foreground, else syslog. */
	log_init(log_want_stderr(cl.foreground, STDERR_FILENO), LOG_DAEMON);
	log_setverbose(cl.verbose);
	if (conf.swarm > 0)		/* simulated endpoints */
		exit(agent_swarm(&conf));
	if ((agent = agent_new(&conf)) == NULL)
		fatalx("agent: cannot start");
	agent_run(agent);
	agent_free(agent);
	agent_conf_clear(&conf);
	arb_cmdline_free(&cl);
	return 0;
}
