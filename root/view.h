/*
 * The JSON documents of the operator's views, built from the root's
 * control replies: what arborctl ... --json prints and what the root's
 * HTTP API (root/api.c) answers are these same documents, so that the two
 * never differ.  Linked into both arborctl and arbor-root.
 *
 * Every function returns a new reference, or NULL when out of memory or
 * when the reply cannot be decoded.  Functions that sort take the reply
 * non-const and sort it in place, as the text views want it too.
 */
#ifndef ARBOR_VIEW_H
#define ARBOR_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "arbor/wire.h"

/* A policy in the root's current catalog. */
struct view_current {
	char		*id;
	uint32_t	 version;
	int		 targeted;	/* names endpoints, groups or props */
};

/*
 * The current policies named by a catalog reply: 0 with *vp (freed with
 * view_current_free) and *np set, or an error (a policy not decoded).
 */
int	view_current(const Arbor__CatalogReply *cr, struct view_current **vp,
	    size_t *np);
/* The entry for id, or NULL: a policy not in the catalog (retired). */
const struct view_current *view_current_find(const struct view_current *v,
	    size_t n, const char *id);
void	view_current_free(struct view_current *v, size_t n);
/* The entry of head h that names the signed policy s, or NULL. */
const Arbor__PolicyRef *view_find_ref(const Arbor__Head *h,
	    const Arbor__Signed *s);

/* Sort a status reply's policies by id. */
void	view_status_sort(Arbor__StatusReply *sr);
/*
 * arborctl status --json: sr (sorted), the current catalog and the
 * rollouts' status (ro, or NULL for none).
 */
json_t	*view_status(const Arbor__StatusReply *sr,
	    const struct view_current *cur, size_t ncur,
	    const Arbor__RolloutReply *ro);

/* arborctl catalog --json. */
json_t	*view_catalog(const Arbor__CatalogReply *cr);

/* Sort endpoints by hostname, id, policy. */
void	view_endpoints_sort(Arbor__EndpointInfo **v, size_t n);
/* arborctl endpoints --json: the n endpoint rows from v. */
json_t	*view_endpoints(Arbor__EndpointInfo *const *v, size_t n);

/*
 * Keep the rows of v whose endpoint a query reply qr lists as a match
 * (the endpoints of a group), in order; their number.
 */
size_t	view_endpoints_keep(Arbor__EndpointInfo **v, size_t n,
	    const Arbor__QueryReply *qr);

/* Sort a tree reply's relays by node id. */
void	view_tree_sort(Arbor__TreeReply *tr);
/* arborctl tree --json: tr (sorted). */
json_t	*view_tree(const Arbor__TreeReply *tr);

/* arborctl rollout ... --json: one object per line of the reply. */
json_t	*view_rollout(const Arbor__RolloutReply *rr);
/* "key=value key=value ... why=rest of the line" into a JSON object. */
json_t	*view_rollout_line(const char *line);
/* The line of rr for policy id as an object, or NULL for none. */
json_t	*view_rollout_find(const Arbor__RolloutReply *rr, const char *id);

/* arborctl audit --json: the records, newest first. */
json_t	*view_audit(const Arbor__AuditReply *ar);
/* "YYYY-MM-DDTHH:MM:SS.mmmZ" of ms since the epoch into out (32 bytes). */
void	view_utc_ms(int64_t ms, char *out, size_t size);
/* "YYYY-MM-DDTHH:MM:SSZ" of ms since the epoch; "" for 0. */
void	view_utc(int64_t ms, char *out, size_t size);

/* One query hit as an object; groups (taken) is its groups' array. */
json_t	*view_hit(const Arbor__QueryHit *h, json_t *groups);
/* arborctl query EXPR --json: the counts, with hits the endpoints too. */
json_t	*view_query(const Arbor__QueryReply *qr, int hits);
/* arborctl unmanaged --json. */
json_t	*view_unmanaged(const Arbor__UnmanagedReply *ur);
/*
 * arborctl endpoint show ID --json and GET /api/v1/endpoints/ID: the
 * detail d (its rows sorted in place): record, rows, history, inventory.
 */
json_t	*view_endpoint(Arbor__EndpointDetail *d);
/*
 * arborctl exposure [CVE] --json: per CVE a current policy of cr names
 * (only that one, unless NULL), the endpoints of er (every endpoint's
 * rows) where the policy applies and is not fixed, highest score first.
 */
json_t	*view_exposure(const Arbor__CatalogReply *cr,
	    const Arbor__EndpointsReply *er, const char *only);

/* The names of compliance's statuses (root_comp order), and its states. */
#define VIEW_COMP_NSTATUS	4
const char *view_comp_status_name(uint32_t s);
/* A policy's state as compliance shows it: "no-report" for -1. */
const char *view_comp_state_name(int st);
/* A baseline's target as the operator writes it: "all" for none. */
void	view_target_text(const Arbor__Baseline *b, char *out, size_t size);
/* A baseline as an object, as baseline list --json shows it. */
json_t	*view_baseline(const Arbor__Baseline *b);
/* arborctl compliance [BASELINE] --json. */
json_t	*view_compliance(const Arbor__ComplianceReply *cr);

#endif
