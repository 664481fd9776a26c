/*
 * arbor-root: private declarations.
 */
#ifndef ARBOR_ROOT_H
#define ARBOR_ROOT_H

#include <stdint.h>
#include <uv.h>

#include "arbor/blob.h"
#include "arbor/conf.h"
#include "arbor/net.h"
#include "arbor/sig.h"
#include "arbor/store.h"
#include "arbor/wire.h"
#include "core.h"

struct root_conf {
	char		*data_dir;
	char		*key;		/* publisher private key (PEM, 0600) */
	char		*svc;
	char		*pub;
	char		*control;	/* default ipc://DATA_DIR/control.sock */
	int		 control_tcp;	/* allow tcp:// on loopback */
	uint64_t	 map_size;
	int64_t		 head_ttl_ms;
	int64_t		 nctx;
	char		**tokens;	/* enrolment tokens accepted */
	size_t		 ntokens;
};

/* Counters of what the root received, kept in its store. */
struct root_counters {
	uint64_t	batches;	/* report messages */
	uint64_t	reports;
	uint64_t	accepted;
	uint64_t	rejected;
	int64_t		last_report_ms;
};

struct root_upload;

struct root {
	const struct root_conf	*conf;
	uv_loop_t		 loop;
	uv_signal_t		 sigterm;
	uv_signal_t		 sigint;
	uv_timer_t		 resign;
	struct arb_net		*net;
	struct arb_store	*store;
	struct arb_blobdir	*blobs;
	struct arb_key		*key;
	struct relay_core	*core;
	struct arb_srv		*ctl;
	Arbor__Head		*head;		/* current, or NULL */
	struct root_upload	*uploads;
	struct arb_strmap	*counts;	/* policy id -> counts by state */
	struct root_counters	 ctr;
};

/* conf.c */
extern const struct arb_conf_key root_conf_keys[];
void	root_conf_init(struct root_conf *);
int	root_conf_check(struct root_conf *);
void	root_conf_clear(struct root_conf *);

/* root.c */
struct root	*root_new(const struct root_conf *);
void		 root_run(struct root *);
void		 root_free(struct root *);

/* authority.c */
int	root_catalog_load(struct root *);
int	root_sign_head(struct root *, Arbor__PolicyRef **refs, size_t n,
	    const char *why);
void	root_resign_cb(uv_timer_t *);

/* status.c */
int	root_status_load(struct root *);
void	root_status_free(struct root *);
void	root_enroll(void *, struct arb_req *, Arbor__Enroll *);
void	root_batch(void *, struct arb_req *, Arbor__ReportBatch *);
void	root_get_status(struct root *, struct arb_req *, const char *);
void	root_get_endpoints(struct root *, struct arb_req *, const char *,
	    int);
void	root_get_tree(struct root *, struct arb_req *);

/* control.c */
void	root_control(struct arb_req *, const uint8_t *, size_t, void *);
void	root_uploads_free(struct root *);

#endif
