/*
 * Fuzz target for what the root's HTTP API reads from a request before
 * anything else (root/apiparse.c): the input, up to its first NUL byte,
 * as an Authorization header (root_api_bearer) and as a query string
 * (root_api_query, for a few keys and output sizes).
 *
 * A header taken must be exactly "Bearer", spaces, a token of the fixed
 * length, spaces; a value taken must fit its buffer, hold no NUL, and be
 * no longer than the query it came from.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arbor/error.h"
#include "root.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = { "policy", "state", "page", "",
	    "per_page" };
	static const size_t sizes[] = { 1, 2, 16, 129, 4096 };
	uint8_t		 sha[ARB_SHA256_LEN];
	char		*s, *out;
	size_t		 i, k;
	int		 rv;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (root_api_bearer(s, sha) == 0 &&
	    (strlen(s) < 7 + ROOT_APITOKEN_LEN || strstr(s, "arb_") == NULL))
		abort();
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		if ((out = malloc(sizes[k])) == NULL)
			break;
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			rv = root_api_query(s, keys[i], out, sizes[k]);
			if (rv == 1 && (strlen(out) >= sizes[k] ||
			    strlen(out) > strlen(s)))
				abort();
			if (rv != 1 && rv != 0 && rv != ARB_ETOOBIG &&
			    rv != ARB_EINVAL)
				abort();
		}
		free(out);
	}
	(void)root_api_bearer(NULL, sha);
	free(s);
	return 0;
}
