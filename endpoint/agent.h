/*
 * arbor-agent: private declarations.
 */
#ifndef ARBOR_AGENT_H
#define ARBOR_AGENT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "arbor/action.h"
#include "arbor/blob.h"
#include "arbor/conf.h"
#include "arbor/expr.h"
#include "arbor/facts.h"
#include "arbor/net.h"
#include "arbor/report.h"
#include "arbor/sig.h"
#include "arbor/queue.h"
#include "arbor/store.h"
#include "arbor/fetch.h"
#include "arbor/link.h"
#include "arbor/strmap.h"
#include "arbor/sync.h"

#define AGENT_MAX_FLIGHT	64
#define AGENT_MAX_PROPS		64	/* properties reported */
#define AGENT_MAX_ATTEMPTS	3	/* runs of one action, restarts included */
#define AGENT_DL_REPORT		2	/* failed fetches before download-failed */

/* A blob whose download failed: not asked for again before next_ms. */
struct agent_dlfail {
	uint8_t		sha[ARB_SHA256_LEN];
	uint32_t	fails;		/* in a row */
	uint64_t	next_ms;	/* loop time */
	int		rv;		/* the last failure */
};

struct agent_conf {
	struct arb_upstream	 up;		/* first: ARB_UPSTREAM_CONF_KEYS */
	char			*data_dir;
	char			*pubkey;
	char			*trust_root;
	uint64_t		 map_size;
	char			*node_id;
	char			*facts_root;
	char			*token;		/* enrolment token */
	char			*enroll_via;	/* first contact: URL, for a cert */
	char			*token_file;	/* or the file holding it */
	char			*time_zone;	/* TZ for schedules */
	char			**groups;
	size_t			 ngroups;
	char			**prop_keys;
	char			**prop_vals;
	size_t			 nprops;
	int64_t			 report_ms;	/* batch reports this long */
	int64_t			 receipt_ms;	/* no receipt: send again */
	int64_t			 inventory_ms;	/* inventory this often */
	char			*eval;		/* --eval: print and exit */
	int64_t			 swarm;		/* --swarm N: simulated endpoints */
	char			*swarm_fixed;	/* facts tree once patched */
	int64_t			 swarm_need;	/* percent that need the patch */
	int			 swarm_run;	/* really run actions */
	char			*swarm_events;	/* file of "verified" events */
	int			 action_cgroup;	/* contain actions in a cgroup */
	char			*metrics_file;	/* textfile collector's, or NULL */
	int64_t			 metrics_ms;	/* written this often */
	int64_t			 defer_ms[4];	/* by severity: critical..low */
	char			*control_group;	/* may use control.sock */
	char			*reboot_command; /* run by /bin/sh -c */
};

/*
 * What the endpoints of a swarm share: one loop, one messaging bridge, the
 * two facts trees an endpoint can be in (needing the patch, and patched),
 * and the file where each endpoint's moments are written for benchmarks.
 */
struct agent_env {
	uv_loop_t		*loop;
	struct arb_net		*net;
	struct arb_facts	*facts[2];	/* [0] as configured, [1] fixed */
	const char		*roots[2];
	int			 simulate;	/* actions: switch to facts[1] */
	int			 need_pct;	/* start in facts[0]: this many % */
	void			(*event)(void *arg, const char *what,
				    const char *policy, int index);
	void			*event_arg;
	uint64_t		*reports_made;	/* counted for benchmarks */
};

/*
 * The action that runs (ARB_DB_META "action"), host byte order: kept from
 * its start to its end, so that an agent restarted meanwhile knows it.
 */
struct agent_running {
	struct arb_action_ident	id;
	char			policy[ARB_MAX_ID + 1];
	uint32_t		version;
};

/* What the agent keeps per policy id (ARB_DB_STATE), host byte order. */
struct agent_pstate {
	uint8_t		sha[ARB_SHA256_LEN];	/* of the signed policy */
	uint32_t	version;
	uint32_t	state;			/* enum arb_state */
	uint32_t	attempts;
	int32_t		exit_code;
	uint64_t	rollback_done;		/* rollback_seq handled */
	/* Added with schedules: a record without them reads as zeros. */
	int64_t		deferred_until;		/* arbor-agent defer */
	uint32_t	wait;			/* enum arb_wait reported */
	uint32_t	pad;
	int64_t		wait_next;		/* and its next try */
	/* Added with rollout retries and deferral limits: older records
	 * read as zeros. */
	uint64_t	retry_done;		/* RolloutState.retry_seq */
	int64_t		deferred_from;		/* the first deferral */
	/* Added with retries and reapply: older records read as zeros. */
	uint32_t	retries;		/* retries of this version made */
	uint32_t	reapplies;		/* applied again after fixed */
	int64_t		retry_at;		/* next retry, epoch s; 0 none */
	/* Added with reboots: older records read as zeros. */
	char		boot_id[40];		/* its action's boot */
	int64_t		reboot_ready;		/* action ended, epoch s */
	int64_t		reboot_at;		/* reboot by then; 0 none */
	uint32_t	reboot_mode;		/* ARB_REBOOT_* */
	uint32_t	pad2;
};
#define AGENT_PSTATE_V1	offsetof(struct agent_pstate, deferred_until)
#define AGENT_PSTATE_V2	offsetof(struct agent_pstate, retry_done)
#define AGENT_PSTATE_V3	offsetof(struct agent_pstate, retries)
#define AGENT_PSTATE_V4	offsetof(struct agent_pstate, boot_id)

/*
 * The reboot asked for in one boot (ARB_DB_META "reboot"), host byte
 * order: a record of another boot reads as none.
 */
struct agent_reboot {
	char		boot_id[40];
	int64_t		asked_at;	/* reboot_command ran, epoch s */
	int64_t		again_at;	/* not run again before then */
	int64_t		user_at;	/* arbor-agent reboot: when */
};

/* The policies that wait for a reboot, gathered by one agent_apply pass. */
struct agent_rbplan {
	int		npending;
	int		hold;		/* actions running or about to */
	int64_t		ready;		/* the last action ended */
	int64_t		at;		/* earliest reboot time; 0 none */
	uv_timer_t	timer;		/* the reboot's time, or retry */
	uv_timer_t	limit;		/* reboot_command's limit */
	uv_process_t	proc;
	int		running;	/* reboot_command runs */
	int64_t		said_at;	/* the time last logged */
};

/* An enrolment being sent: the envelope and what it points to. */
struct agent_enrol {
	Arbor__Envelope		 env;
	Arbor__Enroll		 en;
	Arbor__Signed		 sg;
	uint8_t			*body;
};

struct agent {
	const struct agent_conf	*conf;
	const struct agent_env	*env;		/* a swarm's, or NULL */
	int			 index;		/* in the swarm */
	char			*data_dir;
	char			*node_id;
	int			 variant;	/* which env->facts */
	uv_loop_t		 own_loop;	/* when not in a swarm */
	uv_loop_t		*loop;
	uv_signal_t		 sigterm;
	uv_signal_t		 sigint;
	uv_timer_t		 retry;
	uv_timer_t		 sched;		/* the next scheduled try */
	int64_t			 sched_next;	/* its time, epoch s; 0 none */
	uv_timer_t		 flush;
	struct arb_net		*net;
	struct arb_store	*store;
	struct arb_queue	 outbox;	/* reports, ARB_DB_OUTBOX */
	struct arb_blobdir	*blobs;
	struct arb_keychain	*keys;		/* publisher keys believed */
	struct arb_key		*key;		/* this endpoint's own */
	char			 id[ARB_EPID_HEX];
	struct arb_facts	*facts;
	struct arb_link		*link;
	struct arb_sync		*sync;
	struct arb_fetcher	*fetch;
	struct arb_strmap	*sunk;		/* swarm: blobs verified, hex */
	uint8_t			 flight[AGENT_MAX_FLIGHT][ARB_SHA256_LEN];
	uint64_t		 flight_size[AGENT_MAX_FLIGHT];
	int			 nflight;
	struct agent_dlfail	 dlfail[AGENT_MAX_FLIGHT];
	int			 ndlfail;
	struct arb_action	*action;	/* running, or NULL */
	char			 action_id[ARB_MAX_ID + 1];
	int			 enrolled;
	int			 enrolling;
	int			 cert_wait;	/* no certificate: no link yet */
	struct arb_cli		*cert_cli;	/* ... but to enroll_via */
	uv_timer_t		 cert_timer;	/* retry, or renewal check */
	int			 revoked;	/* a receipt said so (logged) */
	int			 sending;	/* a batch in flight */
	struct arb_strmap	*awaiting;	/* outbox key -> struct await */
	uint64_t		 resent_ms;	/* last resend for no receipt */
	int			 inventory_next; /* the next report carries it */
	int			 stopping;
	int			 draining;	/* stops once the action ends */
	struct arb_notify	*notify;	/* the service manager's */
	uint64_t		 stale_logged;	/* head seq said expired */
	char			*staging;
	char			*cgroup;	/* actions' parent, or NULL */
	uv_timer_t		 prev;		/* polls a previous run */
	struct agent_running	 prev_run;
	int			 prev_wait;	/* it is alive: act on nothing */
	int			 prev_killed;	/* past its deadline: killed */
	uv_timer_t		 inv;		/* the next inventory */
	uint64_t		 inv_sent_seq;	/* the latest inventory report */
	uv_timer_t		 gc;		/* a blob collection pass */
	unsigned		 gc_next;	/* next blob directory, 0..256 */
	uint64_t		 gc_seq;	/* head seq last swept for */
	uint64_t		 gc_sweep;	/* head seq of this sweep */
	uv_timer_t		 metrics;	/* metrics_file written */
	uint64_t		 m_download_bytes;	/* blobs verified */
	uint64_t		 m_action_failures;
	uint64_t		 m_reports_sent;	/* taken by a relay */
	int64_t			 m_last_report;		/* s; 0: none yet */
	char			 boot_id[40];	/* now; "" unknown */
	struct agent_rbplan	 rb;
	uv_pipe_t		 ctl;		/* DATA_DIR/control.sock */
	int			 ctl_open;
};

/* conf.c */
extern const struct arb_conf_key agent_conf_keys[];
void	agent_conf_init(struct agent_conf *);
int	agent_conf_check(struct agent_conf *);
void	agent_conf_clear(struct agent_conf *);

/* agent.c */
struct agent	*agent_new(const struct agent_conf *);
struct agent	*agent_new_in(const struct agent_conf *,
		    const struct agent_env *, int index, const char *data_dir,
		    const char *node_id);
void		 agent_stop_in(struct agent *);
void		 agent_drained(struct agent *);
void		 agent_run(struct agent *);
void		 agent_free(struct agent *);
int		 agent_eval(const struct agent_conf *);

/* report.c */
int	agent_identity(struct agent *);
void	agent_enroll(struct agent *);
void	agent_enroll_renew(struct agent *);
int	agent_enrol_make(struct agent *, struct agent_enrol *);
void	agent_enrol_clear(struct agent_enrol *);
int	agent_enroll_reply(struct agent *, int rv, Arbor__Envelope *);
/* The groups an enrolment token gave, from the store, into the facts. */
void	agent_groups_load(struct agent *);
/* retry_seq: the rollout retry the policy's state has handled. */
int	agent_report(struct agent *, const char *policy, uint32_t version,
	    uint64_t retry_seq, unsigned state, int exit_code,
	    const char *detail);
int	agent_report_inventory(struct agent *);
void	agent_inventory_later(struct agent *);
void	agent_relay_changed(void *);
void	agent_flush(struct agent *);
void	agent_flush_later(struct agent *);

/* cert.c */
int	agent_cert_start(struct agent *);
void	agent_cert_stop(struct agent *);
int	agent_cert_request(struct agent *, char **csrp);
int	agent_cert_take(struct agent *, const char *pem);

/* swarm.c */
int	agent_swarm(const struct agent_conf *);
int	agent_sink_init(struct agent *, struct arb_fetch_sink *);
void	agent_sink_free(struct agent *);

/* metrics.c */
/* Write metrics_file now and every metrics_interval (if it is set). */
void	agent_metrics_start(struct agent *);

/* running.c */
void	agent_running_start(struct agent *);
void	agent_running_save(struct agent *, const char *policy,
	    uint32_t version);
void	agent_running_clear(struct agent *);

/* collect.c */
void	agent_collect(struct agent *);

/* control.c */
int	agent_control_start(struct agent *);
void	agent_control_stop(struct agent *);
/* arbor-agent defer|deferrals ...: ask the running agent; exit status. */
int	agent_control_client(const struct agent_conf *, int argc,
	    char *argv[]);

/* reboot.c */
/* The boot id from the facts tree into a->boot_id ("" if unreadable). */
void	agent_boot_read(struct agent *);
/* A successful action needs a reboot: mode and deadline from p; commit
 * REBOOT_PENDING and report it with output. */
void	agent_reboot_note(struct agent *, const Arbor__Policy *,
	    struct agent_pstate *, const char *output);
/* One policy waits for the reboot in this boot: count it in a->rb. */
void	agent_reboot_pending(struct agent *, const struct agent_pstate *);
/* After a pass: reboot now (once for all), or arm the timer for it. */
void	agent_reboot_check(struct agent *);
void	agent_reboot_init(struct agent *);
void	agent_reboot_stop(struct agent *);
/* This boot's record (a record of another boot reads as none). */
void	agent_reboot_load(struct agent *, struct agent_reboot *);
int	agent_reboot_save(struct agent *, const struct agent_reboot *);
/* The reboot's time as the plan stands (0: none), with user_at. */
int64_t	agent_reboot_when(struct agent *, const struct agent_reboot *);

/* apply.c */
void	agent_apply(struct agent *);
int	agent_pstate_load(struct agent *, const char *id,
	    struct agent_pstate *);
int	agent_pstate_save(struct agent *, const char *id,
	    const struct agent_pstate *);
int	agent_facts_new(const struct agent_conf *, struct arb_facts **);
/* Local time t (epoch s) as 2026-12-07T14:05:00+0100, or "unknown". */
void	agent_when_str(int64_t t, char *buf, size_t len);
/* Commit the new state, then report it with detail. */
void	agent_pstate_set(struct agent *, const char *id,
	    struct agent_pstate *, unsigned state, int exit_code,
	    const char *detail);

#endif
