/*
 * arbor-agent: private declarations.
 */
#ifndef ARBOR_AGENT_H
#define ARBOR_AGENT_H

#include <stdint.h>

#include "arbor/conf.h"
#include "arbor/sync.h"

struct agent_conf {
	char			*data_dir;
	char			*pubkey;
	struct arb_parent	*relays;	/* in order of preference */
	size_t			 nrelays;
	uint64_t		 map_size;
	int64_t			 poll_ms;
	int64_t			 jitter_ms;
	int64_t			 timeout_ms;
	int64_t			 fetch_depth;
	uint64_t		 fetch_rate;
	char			*node_id;
};

/* conf.c */
extern const struct arb_conf_key agent_conf_keys[];
void	agent_conf_init(struct agent_conf *);
int	agent_conf_check(struct agent_conf *);
void	agent_conf_clear(struct agent_conf *);

/* agent.c */
struct agent;
struct agent	*agent_new(const struct agent_conf *);
void		 agent_run(struct agent *);
void		 agent_free(struct agent *);

#endif
