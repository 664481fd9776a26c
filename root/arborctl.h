/*
 * arborctl: private declarations.  arborctl.c holds main, the table of
 * commands and what every command shares (the call to the root, option
 * and text helpers, JSON printing); each group of commands has its file,
 * declared here under its banner.
 */
#ifndef ARBOR_ARBORCTL_H
#define ARBOR_ARBORCTL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "arbor/wire.h"
#include "view.h"

struct ctl {
	const char	*url;	/* the root's control socket */
	const char	*cmd;	/* the command, for messages */
	const char	*dir;	/* -d: the root's data directory */
	char		*url_buf;
};

/* A command: arborctl NAME [args]. */
struct ctl_cmd {
	const char	*name;
	/* argv[0] is the command's name; returns the exit status. */
	int		(*run)(struct ctl *, int argc, char *argv[]);
	const char	*usage;		/* its lines in the usage text */
	int		 root;		/* 1: it talks to the control socket */
};

/* arborctl.c */
/* The usage text, every command's lines in the table's order. */
void	ctl_usage(FILE *f);
/* "arborctl: CMD: message" on stderr. */
void	ctl_warnx(const struct ctl *c, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/*
 * Send req to the root and wait for its reply.  An Error reply, a reply of
 * another kind than want, or no reply at all is reported here and returns
 * 1 (the exit status); on 0 *repp is freed with arb_wire_free.
 */
int	ctl_call(const struct ctl *c, const Arbor__Envelope *req,
	    Arbor__Envelope__BodyCase want, Arbor__Envelope **repp);
/*
 * Print doc as every --json view does (indented by two, then a newline)
 * and drop the reference to it.  NULL stands for a document that could
 * not be built.  Returns 0, or 1 after a message.
 */
int	ctl_json_print(const struct ctl *c, json_t *doc);
/*
 * A command whose one option is --json: 0 with *as_jsonp set to 1 if it
 * was given, or 1 after the usage text.
 */
int	ctl_json_arg(int argc, char *argv[], int *as_jsonp);
/*
 * One option of a command: argv[*ip] is name, with its value after '=' or
 * in the next word.  1 with *valp set (and *ip past the value), 0 if the
 * word is something else, -1 if the value is missing.
 */
int	ctl_opt(int argc, char *argv[], int *ip, const char *name,
	    const char **valp);
/* "YYYY-MM-DDTHH:MM:SSZ" of ms since the epoch; "" for 0. */
void	ctl_utc(int64_t ms, char *out, size_t size);
/*
 * --until's value: "YYYY-MM-DDTHH:MM:SSZ", or a duration from now ("7d",
 * "+12h"), as ms since the epoch into *msp.  0, or 1 after saying why.
 */
int	ctl_until(const struct ctl *c, const char *s, int64_t *msp);
/* Append to the string in buf (size bytes), truncating. */
void	ctl_cat(char *buf, size_t size, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/*
 * Copy text that came over the wire for a terminal: the first line only,
 * control characters as '?', at most max characters (0: as many as fit),
 * marked with "..." when cut.
 */
void	ctl_clean(const char *in, size_t max, char *out, size_t outlen);
/* A span of seconds, rounded down, as "40s", "12m", "5h" or "6d". */
void	ctl_span(int64_t d, char *out, size_t outlen);
/* Characters on screen, counting a UTF-8 sequence as one. */
size_t	ctl_width(const char *s);

/* ctl_air.c */
int	cmd_export(struct ctl *, int, char *[]);
int	cmd_import_reports(struct ctl *, int, char *[]);

/* ctl_inventory.c */
struct arb_policy_file;
int	cmd_query(struct ctl *, int, char *[]);
/*
 * The root's query "true" over the endpoints of group (or NULL) and the
 * endpoint id (or NULL): 0 with *repp (arb_wire_free), or 1.
 */
int	ctl_query_one(const struct ctl *c, const char *group, const char *id,
	    Arbor__Envelope **repp);
/* publish --dry-run: what the policy would apply to, by relay. */
int	ctl_dry_run(struct ctl *, const struct arb_policy_file *, int);
/* ctl_rollout.c */
int	cmd_rollout(struct ctl *, int, char *[]);

/* ctl_api.c */
int	cmd_api_token(struct ctl *, int, char *[]);
int	cmd_audit(struct ctl *, int, char *[]);

/* ctl_tokens.c */
int	cmd_token(struct ctl *, int, char *[]);
int	cmd_endpoint(struct ctl *, int, char *[]);
int	cmd_endpoint_lock(struct ctl *, int, char *[]);
int	cmd_unmanaged(struct ctl *, int, char *[]);

/* ctl_rollout.c */
/* Every staged rollout's status line from the root into *repp. */
int	ctl_rollout_get(const struct ctl *c, Arbor__Envelope **repp);
/* The line of policy id in rep (NULL allowed) as JSON, or NULL. */
json_t	*ctl_rollout_find(const Arbor__Envelope *rep, const char *id);
/* "  rollout: wave 1 of 3 (pilot, 5 %): halted; 4 in, ..." of o. */
void	ctl_rollout_text(json_t *o, char *buf, size_t size);

/* ctl_keys.c */
int	cmd_keygen(struct ctl *, int, char *[]);
/* ctl_rotate.c */
int	cmd_key(struct ctl *, int, char *[]);

/* ctl_ca.c */
int	cmd_ca(struct ctl *, int, char *[]);
int	cmd_cert(struct ctl *, int, char *[]);

/* ctl_catalog.c */
int	cmd_publish(struct ctl *, int, char *[]);
int	cmd_retire(struct ctl *, int, char *[]);
int	cmd_push(struct ctl *, int, char *[]);
int	cmd_catalog(struct ctl *, int, char *[]);
int	cmd_rollback(struct ctl *, int, char *[]);
/*
 * The current policies, from the root's catalog: 0 with *vp (freed with
 * view_current_free) and *np set, or 1 after a message.
 */
int	ctl_get_current(const struct ctl *c, struct view_current **vp,
	    size_t *np);
/* Ask the root for its catalog; 0 with *repp (arb_wire_free), or 1. */
int	ctl_get_catalog(const struct ctl *c, Arbor__Envelope **repp);

/* ctl_compliance.c */
int	cmd_baseline(struct ctl *, int, char *[]);
int	cmd_exempt(struct ctl *, int, char *[]);
int	cmd_compliance(struct ctl *, int, char *[]);

/* ctl_exposure.c */
int	cmd_exposure(struct ctl *, int, char *[]);

/* ctl_status.c */
int	cmd_status(struct ctl *, int, char *[]);

/* ctl_nodes.c */
/* arborctl endpoint show ID [--json]. */
int	cmd_endpoint_show(struct ctl *, int, char *[]);
/* How long ago t (seconds since the epoch) was: "3s ago", "never". */
void	ctl_age(int64_t t, char *out, size_t outlen);
int	cmd_endpoints(struct ctl *, int, char *[]);
int	cmd_tree(struct ctl *, int, char *[]);

#endif
