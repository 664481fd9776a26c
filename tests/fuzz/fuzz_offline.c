/*
 * Fuzz target for the files that cross an air gap (arbor/offline.h): a
 * catalog export's manifest (arb_manifest_parse) and a reports file
 * (arb_repfile_parse), on the same raw bytes.  What parses must build
 * again and parse to the same thing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arbor/offline.h"
#include "arbor/wire.h"

static int
count_cb(const Arbor__Envelope *env, size_t idx, void *arg)
{
	struct arb_repfile	*f = arg;
	uint8_t			*buf;
	size_t			 len;

	(void)idx;
	if (arb_wire_encode(env, &buf, &len) != 0)
		abort();
	if (arb_repfile_add(f, buf, len) != 0)
		abort();
	free(buf);
	return 0;
}

static int
none_cb(const Arbor__Envelope *env, size_t idx, void *arg)
{
	(void)env;
	(void)idx;
	(*(size_t *)arg)++;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arb_manifest	*m, *m2;
	struct arb_repfile	 f;
	uint8_t			*buf;
	size_t			 len, n = 0;
	char			 err[256];

	if (arb_manifest_parse(data, size, &m, err, sizeof(err)) == 0) {
		if (arb_manifest_text(m, &buf, &len) != 0 ||
		    arb_manifest_parse(buf, len, &m2, err, sizeof(err)) != 0 ||
		    m2->nfiles != m->nfiles)
			abort();
		arb_manifest_free(m2);
		free(buf);
		arb_manifest_free(m);
	}
	memset(&f, 0, sizeof(f));
	if (arb_repfile_parse(data, size, count_cb, &f, err,
	    sizeof(err)) == 0) {
		if (arb_repfile_end(&f) != 0 ||
		    arb_repfile_parse(f.buf, f.len, none_cb, &n, err,
		    sizeof(err)) != 0)
			abort();
	}
	arb_repfile_clear(&f);
	return 0;
}
