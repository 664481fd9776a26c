/*
 * arbor-relay: private declarations.
 */
#ifndef ARBOR_RELAY_H
#define ARBOR_RELAY_H

#include <stdint.h>

#include "arbor/conf.h"
#include "arbor/link.h"

struct relay_conf {
	struct arb_upstream	 up;		/* first: ARB_UPSTREAM_CONF_KEYS */
	char			*data_dir;
	char			*pubkey;	/* the pinned publisher key */
	char			*trust_root;	/* or the pinned trust root */
	char			*svc;
	char			*pub;
	uint64_t		 cache_size;
	uint64_t		 chunk_cache;
	uint64_t		 map_size;
	int64_t			 nctx;
	char			*node_id;
	int64_t			 report_ms;
	int64_t			 unmanaged_grace_ms;
	int64_t			 report_max;
	int64_t			 spool_max;
	uint64_t		 spool_size;	/* 0: half of map_size */
	int64_t			 children_max;
	char			*enroll_svc;
	uint64_t		 serve_rate;	/* bytes/s to all children */
	uint64_t		 child_rate;	/* bytes/s to one child */
	char			*metrics_listen;	/* http(s)://, or NULL */
	const char		*import_dir;	/* --import DIR, or NULL */
};

/* conf.c */
extern const struct arb_conf_key relay_conf_keys[];
void	relay_conf_init(struct relay_conf *);
int	relay_conf_check(struct relay_conf *);
void	relay_conf_clear(struct relay_conf *);

/* import.c */
struct arb_sync;
struct arb_blobdir;
struct relay_core;
/*
 * Take the catalog export in dir as if the parent had sent it (see the
 * top of import.c).  0 (taken, or nothing newer than held) or the error,
 * logged with the file it concerns; on error nothing was committed.
 */
int	relay_import(const char *dir, struct arb_sync *sync,
	    struct relay_core *core, struct arb_blobdir *blobs);

/* export.c */
/*
 * Write the reports spooled in the store of conf (not yet acknowledged by
 * a parent) to file as a reports file (arbor/offline.h).  They stay
 * spooled.  0 or an error, logged.
 */
int	relay_export_reports(const struct relay_conf *conf, const char *file);

/* relay.c */
struct relay;
struct relay	*relay_new(const struct relay_conf *);
void		 relay_run(struct relay *);
void		 relay_free(struct relay *);

#endif
