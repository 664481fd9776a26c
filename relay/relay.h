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
	int64_t			 report_max;
	int64_t			 spool_max;
	uint64_t		 spool_size;	/* 0: half of map_size */
	int64_t			 children_max;
};

/* conf.c */
extern const struct arb_conf_key relay_conf_keys[];
void	relay_conf_init(struct relay_conf *);
int	relay_conf_check(struct relay_conf *);
void	relay_conf_clear(struct relay_conf *);

/* relay.c */
struct relay;
struct relay	*relay_new(const struct relay_conf *);
void		 relay_run(struct relay *);
void		 relay_free(struct relay *);

#endif
