/*
 * arbor-agent: the endpoint.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "arbor/cmdline.h"
#include "arbor/log.h"
#include "agent.h"

/*
 * The command word of "arbor-agent [options] defer ID DURATION" (or
 * "deferrals", or "reboot [now | defer DURATION]"): its index, or 0.  A
 * word right after an option that takes a value is that value.
 */
static int
command_word(int argc, char *argv[])
{
	const char	*prev;
	int		 i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "defer") != 0 &&
		    strcmp(argv[i], "deferrals") != 0 &&
		    strcmp(argv[i], "reboot") != 0)
			continue;
		prev = argv[i - 1];
		if (i == 1 || prev[0] != '-' || strcmp(prev, "-d") == 0 ||
		    strcmp(prev, "-v") == 0 || strcmp(prev, "-n") == 0 ||
		    strcmp(prev, "--foreground") == 0 || strchr(prev, '=') != NULL)
			return i;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	struct agent_conf	 conf;
	struct arb_cmdline	 cl;
	struct agent		*agent;
	char			*cmdv[3];
	int			 rv, cmd, ncmd = 0, i;

	log_init(1, LOG_DAEMON);
	agent_conf_init(&conf);
	/* arbor-agent defer ...: the command and its operands aside. */
	if ((cmd = command_word(argc, argv)) > 0) {
		ncmd = strcmp(argv[cmd], "deferrals") == 0 ? 1 : 3;
		/* Operands are words: options after them are options. */
		for (i = 1; i < ncmd; i++)
			if (cmd + i >= argc || argv[cmd + i][0] == '-')
				break;
		ncmd = i;
		for (i = 0; i < ncmd; i++)
			cmdv[i] = argv[cmd + i];
		memmove(argv + cmd, argv + cmd + ncmd,
		    (size_t)(argc - cmd - ncmd + 1) * sizeof(*argv));
		argv[argc - ncmd] = NULL;
		argc -= ncmd;
	}
	if ((rv = arb_cmdline_parse(&cl, argc, argv,
	    "arbor-agent [-dnv] [-c file] [--key value ...] "
	    "[defer ID DURATION | deferrals | reboot [now | defer DURATION]]",
	    agent_conf_keys)) != 0)
		exit(rv == 1 ? 0 : 1);
	log_setverbose(cl.verbose);
	if (arb_cmdline_load(&cl, agent_conf_keys, &conf) != 0)
		exit(1);
	if (ncmd > 0)			/* a request to the running agent */
		exit(agent_control_client(&conf, ncmd, cmdv));
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
