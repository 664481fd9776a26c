/*
 * Daemon command lines.  Options that are configuration keys are kept as
 * pairs and applied after the file, so the command line wins.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbor/cmdline.h"
#include "arbor/error.h"

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
	    NULL || (cl->rest = calloc((size_t)argc + 1,
	    sizeof(char *))) == NULL)
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
				fprintf(stderr, "command line: --%s: unknown "
				    "option\n", a);
				return ARB_ECONFIG;
			}
			if (eq)
				val = eq + 1;
			else if (i + 1 < argc)
				val = argv[++i];
			else {
				fprintf(stderr, "command line: --%s: needs a "
				    "value\n", a);
				return ARB_ECONFIG;
			}
			cl->over[cl->nover * 2] = (char *)k->name;
			cl->over[cl->nover * 2 + 1] = (char *)val;
			cl->nover++;
		} else if (a[0] == '-' && a[1] != '\0') {
			fprintf(stderr, "command line: %s: unknown option\n"
			    "usage: %s\n", a, usage);
			return ARB_ECONFIG;
		} else
			cl->rest[cl->nrest++] = argv[i];
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
	free(cl->rest);
	memset(cl, 0, sizeof(*cl));
}
