/*
 * Daemon command lines.  Options that are configuration keys are kept as
 * pairs and applied after the file, so the command line wins.  No daemon
 * takes a word that is not an option: one is an error, since it is most
 * often a value split from its option ("--poll_interval 5 min").  Errors
 * are logged as those from a file are, so that both read alike.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbor/cmdline.h"
#include "arbor/error.h"
#include "arbor/log.h"

/* Options may spell a key's '_' as '-' (--facts-root for facts_root). */
static const struct arb_conf_key *
find_key(const struct arb_conf_key *keys, const char *name, size_t len)
{
	size_t i;

	for (; keys->name; keys++) {
		if (strlen(keys->name) != len)
			continue;
		for (i = 0; i < len; i++)
			if (keys->name[i] != name[i] &&
			    !(keys->name[i] == '_' && name[i] == '-'))
				break;
		if (i == len)
			return keys;
	}
	return NULL;
}

/* --NAME[=...]: unknown option, with the nearest key if one is close. */
static void
cmdline_unknown(const struct arb_conf_key *keys, const char *a,
    const char *eq)
{
	const char	*near;
	char		 name[128];

	snprintf(name, sizeof(name), "%.*s", eq ? (int)(eq - a) :
	    (int)strlen(a), a);
	if ((near = arb_conf_nearest(keys, name)) != NULL)
		log_warnx("command line: --%s: unknown option; did you mean "
		    "--%s?", name, near);
	else
		log_warnx("command line: --%s: unknown option", name);
}

void
arb_conf_usage(const struct arb_conf_key *keys)
{
	for (; keys->name; keys++)
		fprintf(stderr, "  --%-18s %s\n", keys->name,
		    keys->help ? keys->help : "");
}

int
arb_cmdline_parse(struct arb_cmdline *cl, int argc, char *argv[],
    const char *usage, const struct arb_conf_key *keys)
{
	const struct arb_conf_key	*k;
	const char			*a, *eq, *val;
	int				 i;

	memset(cl, 0, sizeof(*cl));
	if ((cl->over = calloc((size_t)argc * 2 + 2, sizeof(char *))) ==
	    NULL)
		return ARB_ECONFIG;
	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fprintf(stderr, "usage: %s\noptions (each is also a "
			    "configuration key):\n", usage);
			arb_conf_usage(keys);
			return 1;
		} else if (strcmp(a, "-c") == 0 && i + 1 < argc)
			cl->file = argv[++i];
		else if (strcmp(a, "-n") == 0)
			cl->check_only = 1;
		else if (strcmp(a, "-v") == 0)
			cl->verbose++;
		else if (strcmp(a, "-d") == 0 || strcmp(a, "--foreground") == 0)
			cl->foreground = 1;
		else if (strncmp(a, "--", 2) == 0 && a[2] != '\0') {
			a += 2;
			eq = strchr(a, '=');
			if ((k = find_key(keys, a, eq ? (size_t)(eq - a) :
			    strlen(a))) == NULL) {
				cmdline_unknown(keys, a, eq);
				return ARB_ECONFIG;
			}
			if (eq)
				val = eq + 1;
			else if (i + 1 < argc)
				val = argv[++i];
			else {
				log_warnx("command line: --%s: needs a value",
				    a);
				return ARB_ECONFIG;
			}
			cl->over[cl->nover * 2] = (char *)k->name;
			cl->over[cl->nover * 2 + 1] = (char *)val;
			cl->nover++;
		} else if (a[0] == '-' && a[1] != '\0') {
			log_warnx("command line: %s: unknown option", a);
			fprintf(stderr, "usage: %s\n", usage);
			return ARB_ECONFIG;
		} else {
			log_warnx("command line: \"%s\": not an option (a "
			    "value with blanks needs quotes: --key \"a b\")",
			    a);
			fprintf(stderr, "usage: %s\n", usage);
			return ARB_ECONFIG;
		}
	}
	return 0;
}

int
arb_cmdline_load(const struct arb_cmdline *cl,
    const struct arb_conf_key *keys, void *conf)
{
	int i, rv = 0;

	if (cl->file && (rv = arb_conf_load(cl->file, keys, conf)) != 0)
		return rv;
	for (i = 0; i < cl->nover; i++)
		if (arb_conf_set(cl->over[i * 2], cl->over[i * 2 + 1], keys,
		    conf) != 0)
			rv = ARB_ECONFIG;
	return rv;
}

void
arb_cmdline_free(struct arb_cmdline *cl)
{
	free(cl->over);
	memset(cl, 0, sizeof(*cl));
}
