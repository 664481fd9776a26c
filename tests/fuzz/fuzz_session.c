/*
 * Fuzz target for the parsers of the endpoint's sessions (lib/facts.c):
 * the input as a logind session file (arb_facts_logind_session, on a
 * NUL-terminated copy) and as the records of /run/utmp
 * (arb_facts_utmp_users), whose count can never exceed the records.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utmp.h>

#include "arbor/facts.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*user;
	char		*text;
	size_t		 n;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (arb_facts_logind_session(text, &user) == 1 &&
	    (user < text || user > text + size || *user == '\0'))
		abort();
	free(text);
	if (arb_facts_utmp_users(data, size, &n) == 0 &&
	    n > size / sizeof(struct utmp))
		abort();
	return 0;
}
