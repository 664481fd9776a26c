/*
 * The HTTP API's readers of untrusted bytes: a request's query string and
 * its Authorization header.  Apart from the routes so that a fuzz target
 * (tests/fuzz/fuzz_apiparse) drives them without a root.
 */
#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "arbor/error.h"
#include "arbor/sig.h"
#include "root.h"

int
root_api_query(const char *q, const char *key, char *out, size_t size)
{
	size_t		 klen = strlen(key), n;
	const char	*p = q, *end;
	char		 hex[3] = "";
	uint8_t		 c;

	while (p != NULL && *p != '\0') {
		end = strchr(p, '&');
		if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
			p += klen + 1;
			for (n = 0; *p != '\0' && *p != '&'; p++) {
				if (n + 1 >= size)
					return ARB_ETOOBIG;
				if (*p == '%') {
					hex[0] = p[1];
					hex[1] = hex[0] != '\0' ? p[2] : '\0';
					if (arb_unhex(hex, &c, 1) != 0)
						return ARB_EINVAL;
					out[n++] = (char)c;
					p += 2;
				} else
					out[n++] = *p == '+' ? ' ' : *p;
			}
			out[n] = '\0';
			if (strlen(out) != n)	/* %00 */
				return ARB_EINVAL;
			return 1;
		}
		p = end != NULL ? end + 1 : NULL;
	}
	return 0;
}

int
root_api_bearer(const char *h, uint8_t sha[ARB_SHA256_LEN])
{
	const char	*tok;
	size_t		 i, n;

	if (h == NULL || strncasecmp(h, "Bearer", 6) != 0 || h[6] != ' ')
		return ARB_EINVAL;
	for (tok = h + 7; *tok == ' '; tok++)
		;
	for (n = strlen(tok); n > 0 && tok[n - 1] == ' '; n--)
		;
	if (n != ROOT_APITOKEN_LEN || strncmp(tok, ROOT_APITOKEN_PREFIX,
	    sizeof(ROOT_APITOKEN_PREFIX) - 1) != 0)
		return ARB_EINVAL;
	for (i = sizeof(ROOT_APITOKEN_PREFIX) - 1; i < n; i++)
		if (!isdigit((unsigned char)tok[i]) &&
		    (tok[i] < 'a' || tok[i] > 'f'))
			return ARB_EINVAL;
	return arb_sha256(tok, n, sha);
}
