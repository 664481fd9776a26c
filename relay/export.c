/*
 * arbor-relay --export-reports FILE: the reports a relay has spooled and
 * its parent has not acknowledged, written as a reports file
 * (arbor/offline.h) to carry across an air gap to `arborctl
 * import-reports`.  The batches are those the relay would send up: the
 * endpoints' signed reports as they are spooled, at most as many per
 * batch as the relay sends.  Nothing leaves the spool here: a report goes
 * only when a parent acknowledges it, so a file lost on the way loses
 * nothing, and the root counts a report it already has once (it judges
 * each by endpoint and sequence number).
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbor/error.h"
#include "arbor/io.h"
#include "arbor/log.h"
#include "arbor/offline.h"
#include "arbor/queue.h"
#include "arbor/store.h"
#include "arbor/wire.h"
#include "relay.h"

#define EXPORT_BATCH_MAX	4096		/* entries, as the relay sends */
#define EXPORT_BATCH_BYTES	(768 * 1024)

struct export {
	Arbor__ReportEntry	**entries;
	size_t			  n;
};

static int
export_take_cb(const void *key, size_t klen, uint64_t seq,
    const uint8_t *data, size_t len, void *arg)
{
	struct export *ex = arg;

	(void)key;
	(void)klen;
	(void)seq;
	if (arb_wire_decode_entry(data, len, &ex->entries[ex->n]) != 0)
		return 1;		/* unreadable: left out, as upward */
	ex->n++;
	return 0;
}

static int
export_batch(struct arb_repfile *f, Arbor__ReportEntry **v, size_t n)
{
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT;
	Arbor__ReportBatch	 b = ARBOR__REPORT_BATCH__INIT;
	uint8_t			*buf;
	size_t			 len;
	int			 rv;

	b.entries = v;
	b.n_entries = n;
	env.body_case = ARBOR__ENVELOPE__BODY_REPORT_BATCH;
	env.report_batch = &b;
	if ((rv = arb_wire_encode(&env, &buf, &len)) != 0)
		return rv;
	rv = arb_repfile_add(f, buf, len);
	free(buf);
	return rv;
}

int
relay_export_reports(const struct relay_conf *conf, const char *file)
{
	struct arb_store	*st;
	struct arb_queue	 q;
	struct arb_queue_sent	 sent;
	struct arb_repfile	 f;
	struct export		 ex;
	char			 path[PATH_MAX];
	uint64_t		 count;
	size_t			 i, start, bytes, sz;
	int			 rv;

	memset(&ex, 0, sizeof(ex));
	memset(&f, 0, sizeof(f));
	memset(&sent, 0, sizeof(sent));
	snprintf(path, sizeof(path), "%s/db", conf->data_dir);
	if ((rv = arb_store_open(path, conf->map_size, &st)) != 0) {
		log_warnx("relay: export: %s: %s", path, arb_strerror(rv));
		return rv;
	}
	arb_queue_init(&q, st, ARB_DB_SPOOL);
	if ((rv = arb_queue_count(&q, &count)) != 0)
		goto out;
	if ((ex.entries = calloc(count + 1, sizeof(*ex.entries))) == NULL) {
		rv = -ENOMEM;
		goto out;
	}
	if ((rv = arb_queue_collect(&q, count + 1, SIZE_MAX, 0,
	    export_take_cb, &ex, &sent)) != 0)
		goto out;
	/* Batches no larger than the relay sends up. */
	for (start = 0, i = 0, bytes = 0; i < ex.n; i++) {
		sz = arbor__report_entry__get_packed_size(ex.entries[i]) + 8;
		if (i > start && (i - start == EXPORT_BATCH_MAX ||
		    bytes + sz > EXPORT_BATCH_BYTES)) {
			if ((rv = export_batch(&f, ex.entries + start,
			    i - start)) != 0)
				goto out;
			start = i;
			bytes = 0;
		}
		bytes += sz;
	}
	if (i > start && (rv = export_batch(&f, ex.entries + start,
	    i - start)) != 0)
		goto out;
	if ((rv = arb_repfile_end(&f)) != 0 ||
	    (rv = arb_io_write_file(file, f.buf, f.len, 0600)) != 0)
		goto out;
	fprintf(stderr, "%s: %zu reports from %s (they stay spooled until a "
	    "parent acknowledges them)\n", file, ex.n, conf->node_id);
out:
	if (rv != 0)
		log_warnx("relay: export: %s: %s", file, arb_strerror(rv));
	for (i = 0; i < ex.n; i++)
		arb_wire_free_entry(ex.entries[i]);
	free(ex.entries);
	arb_queue_sent_clear(&sent);
	arb_repfile_clear(&f);
	arb_store_close(st);
	return rv;
}
